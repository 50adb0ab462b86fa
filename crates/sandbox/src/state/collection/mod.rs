//! A generic in-memory collection of JSON records with the Ermeo list envelope: paging,
//! sorting, equality filters and a name search. Every sandbox collection is one of these;
//! `query` says what a listing may ask for.

mod query;

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::{Map, Value};

use super::locking::lock;

pub(crate) use self::query::{CollectionSpec, Direction, ListQuery, Sort};

/// Cached sort orders kept per collection before the cache starts over.
const MAX_CACHED_ORDERS: usize = 64;

/// One stored record: its fields, and the insertion sequence that breaks sort ties.
#[derive(Debug)]
struct Record {
    seq: u64,
    fields: Map<String, Value>,
}

/// The `items` envelope of every list response.
#[derive(Serialize)]
struct Envelope<'a> {
    items: Vec<&'a Map<String, Value>>,
    total_items: u64,
    total_pages: u64,
    items_per_page: u64,
    current_page: u64,
    next_page: Option<String>,
    previous_page: Option<String>,
}

/// Which records a listing covers, in ascending sort order.
enum Selection {
    /// Every record, in storage order.
    All,
    /// Positions into the record vector.
    Positions(Arc<Vec<u32>>),
}

type OrderKey = (&'static str, Vec<(&'static str, String)>);

/// Records in insertion order, indexed by id. Listing in an order the records are
/// already stored in (e.g. `created_at` for the seeded assets) slices the vector
/// directly; other orders are computed once and cached until the next write.
pub(crate) struct Collection {
    spec: &'static CollectionSpec,
    records: Vec<Record>,
    positions: HashMap<String, usize>,
    next_seq: u64,
    /// Sort fields by which storage order is already ascending.
    ordered_by: Vec<&'static str>,
    orders: Mutex<HashMap<OrderKey, Arc<Vec<u32>>>>,
}

impl Collection {
    /// Builds a collection from records that each hold a string `id`.
    pub(crate) fn new(spec: &'static CollectionSpec, seed: Vec<Map<String, Value>>) -> Self {
        let mut collection = Collection {
            spec,
            records: Vec::with_capacity(seed.len()),
            positions: HashMap::with_capacity(seed.len()),
            next_seq: 0,
            ordered_by: Vec::new(),
            orders: Mutex::new(HashMap::new()),
        };
        for fields in seed {
            collection.push(fields);
        }
        collection.ordered_by = spec
            .sort_fields
            .iter()
            .copied()
            .filter(|field| {
                collection
                    .records
                    .windows(2)
                    .all(|w| cmp_field(&w[0], &w[1], field) != Ordering::Greater)
            })
            .collect();
        collection
    }

    pub(crate) fn spec(&self) -> &'static CollectionSpec {
        self.spec
    }

    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    /// Up to `len` records from position `start`, in storage order (the paging
    /// styles of `/api/v1/paged/*` walk this order).
    pub(crate) fn window(&self, start: usize, len: usize) -> Vec<&Map<String, Value>> {
        let start = start.min(self.records.len());
        let end = start.saturating_add(len).min(self.records.len());
        self.records[start..end].iter().map(|r| &r.fields).collect()
    }

    /// The storage position of the record `id`.
    pub(crate) fn position(&self, id: &str) -> Option<usize> {
        self.positions.get(id).copied()
    }

    pub(crate) fn get(&self, id: &str) -> Option<&Map<String, Value>> {
        self.positions.get(id).map(|&i| &self.records[i].fields)
    }

    /// Appends a record, which must hold a string `id` not yet used.
    pub(crate) fn insert(&mut self, fields: Map<String, Value>) -> &Map<String, Value> {
        self.orders
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        let index = self.push(fields);
        if index > 0 {
            let (before, after) = self.records.split_at(index);
            let (prev, new) = (&before[index - 1], &after[0]);
            self.ordered_by
                .retain(|field| cmp_field(prev, new, field) != Ordering::Greater);
        }
        &self.records[index].fields
    }

    /// Sets the given fields of a record (the id cannot change); `None` if it is absent.
    pub(crate) fn update(
        &mut self,
        id: &str,
        patch: Map<String, Value>,
    ) -> Option<&Map<String, Value>> {
        let index = *self.positions.get(id)?;
        self.orders
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        for (key, value) in patch {
            if key != "id" {
                self.records[index].fields.insert(key, value);
            }
        }
        // Storage order stays sorted by a field if the record still sits between its
        // neighbours.
        let records = &self.records;
        self.ordered_by.retain(|field| {
            let after_prev = index == 0
                || cmp_field(&records[index - 1], &records[index], field) != Ordering::Greater;
            let before_next = index + 1 == records.len()
                || cmp_field(&records[index], &records[index + 1], field) != Ordering::Greater;
            after_prev && before_next
        });
        Some(&self.records[index].fields)
    }

    /// Deletes a record; false if it was absent.
    pub(crate) fn remove(&mut self, id: &str) -> bool {
        let Some(index) = self.positions.remove(id) else {
            return false;
        };
        self.orders
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.records.remove(index);
        for record in &self.records[index..] {
            if let Some(Value::String(id)) = record.fields.get("id")
                && let Some(position) = self.positions.get_mut(id)
            {
                *position -= 1;
            }
        }
        true
    }

    /// Serializes one page of the listing `query` describes. `links` adds the
    /// `next_page`/`previous_page` URLs; without it they are null.
    pub(crate) fn page_json(&self, query: &ListQuery, links: bool) -> serde_json::Result<Vec<u8>> {
        let selection = self.select(query);
        let total = match &selection {
            Selection::All => self.records.len(),
            Selection::Positions(p) => p.len(),
        } as u64;
        let total_pages = total.div_ceil(query.limit).max(1);
        let start = query
            .page
            .saturating_sub(1)
            .saturating_mul(query.limit)
            .min(total);
        let end = start.saturating_add(query.limit).min(total);
        let positions = (start..end).map(|rank| {
            let rank = match query.sort.direction {
                Direction::Asc => rank,
                Direction::Desc => total - 1 - rank,
            } as usize;
            match &selection {
                Selection::All => rank,
                Selection::Positions(p) => p[rank] as usize,
            }
        });
        let items = positions.map(|i| &self.records[i].fields).collect();
        let link = |page: u64| links.then(|| query.page_url(self.spec.path, page));
        let envelope = Envelope {
            items,
            total_items: total,
            total_pages,
            items_per_page: query.limit,
            current_page: query.page,
            next_page: if query.page < total_pages {
                link(query.page + 1)
            } else {
                None
            },
            previous_page: if query.page > 1 {
                link(query.page - 1)
            } else {
                None
            },
        };
        serde_json::to_vec(&envelope)
    }

    fn select(&self, query: &ListQuery) -> Selection {
        let sorted = self.ordered_by.contains(&query.sort.field);
        let base = if query.filters.is_empty() && sorted {
            Selection::All
        } else {
            Selection::Positions(self.order(query.sort.field, &query.filters, sorted))
        };
        let Some(needle) = query.search.as_deref().map(str::to_lowercase) else {
            return base;
        };
        let field = self.spec.search_field;
        let hit = |i: usize| match self.records[i].fields.get(field) {
            Some(Value::String(s)) => s.to_lowercase().contains(&needle),
            _ => false,
        };
        let found = match base {
            Selection::All => (0..self.records.len())
                .filter(|&i| hit(i))
                .map(|i| i as u32)
                .collect(),
            Selection::Positions(p) => p.iter().copied().filter(|&i| hit(i as usize)).collect(),
        };
        Selection::Positions(Arc::new(found))
    }

    /// Positions of the records matching `filters`, ascending by `field`; cached.
    fn order(
        &self,
        field: &'static str,
        filters: &[(&'static str, String)],
        sorted: bool,
    ) -> Arc<Vec<u32>> {
        let key = (field, filters.to_vec());
        if let Some(order) = lock(&self.orders).get(&key) {
            return Arc::clone(order);
        }
        let matches = |r: &Record| {
            filters
                .iter()
                .all(|(f, v)| field_equals(r.fields.get(*f), v))
        };
        let mut order: Vec<u32> = (0..self.records.len())
            .filter(|&i| matches(&self.records[i]))
            .map(|i| i as u32)
            .collect();
        if !sorted {
            // Stable: equal values keep storage order, which is insertion order.
            order.sort_by(|&a, &b| {
                cmp_field(&self.records[a as usize], &self.records[b as usize], field)
            });
        }
        let order = Arc::new(order);
        let mut cache = lock(&self.orders);
        if cache.len() >= MAX_CACHED_ORDERS {
            cache.clear();
        }
        cache.insert(key, Arc::clone(&order));
        order
    }

    fn push(&mut self, fields: Map<String, Value>) -> usize {
        let index = self.records.len();
        if let Some(Value::String(id)) = fields.get("id") {
            self.positions.insert(id.clone(), index);
        }
        self.records.push(Record {
            seq: self.next_seq,
            fields,
        });
        self.next_seq += 1;
        index
    }
}

fn cmp_field(a: &Record, b: &Record, field: &str) -> Ordering {
    cmp_values(a.fields.get(field), b.fields.get(field)).then(a.seq.cmp(&b.seq))
}

/// Orders values of the same JSON type naturally; different types by type, null first.
fn cmp_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    fn rank(v: Option<&Value>) -> u8 {
        match v {
            None | Some(Value::Null) => 0,
            Some(Value::Bool(_)) => 1,
            Some(Value::Number(_)) => 2,
            Some(Value::String(_)) => 3,
            Some(Value::Array(_)) => 4,
            Some(Value::Object(_)) => 5,
        }
    }
    match (a, b) {
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

fn field_equals(value: Option<&Value>, wanted: &str) -> bool {
    match value {
        Some(Value::String(s)) => s == wanted,
        Some(Value::Number(n)) => n.to_string() == wanted,
        Some(Value::Bool(b)) => b.to_string() == wanted,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::query::MAX_LIMIT;
    use super::*;
    use serde_json::json;

    static SPEC: CollectionSpec = CollectionSpec {
        path: "/things",
        noun: "thing",
        sort_fields: &["id", "name", "n"],
        default_sort: Sort::asc("id"),
        filters: &["kind"],
        enums: &[("kind", &["a", "b"])],
        search_field: "name",
    };

    fn thing(id: &str, name: &str, n: i64, kind: &str) -> Map<String, Value> {
        match json!({"id": id, "name": name, "n": n, "kind": kind}) {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn things() -> Collection {
        Collection::new(
            &SPEC,
            vec![
                thing("1", "Pump", 3, "a"),
                thing("2", "valve", 1, "b"),
                thing("3", "Pump house", 2, "a"),
            ],
        )
    }

    fn ids(c: &Collection, query: &str) -> (Vec<String>, Value) {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let q = ListQuery::from_pairs(&SPEC, &pairs).unwrap();
        let page: Value = serde_json::from_slice(&c.page_json(&q, true).unwrap()).unwrap();
        let ids = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect();
        (ids, page)
    }

    #[test]
    fn sorts_filters_and_pages() {
        let c = things();
        assert_eq!(c.ordered_by, vec!["id"]);
        assert_eq!(ids(&c, "").0, ["1", "2", "3"]);
        assert_eq!(ids(&c, "sort=n:asc").0, ["2", "3", "1"]);
        assert_eq!(ids(&c, "sort=n:desc").0, ["1", "3", "2"]);
        assert_eq!(ids(&c, "sort=id:desc&limit=2").0, ["3", "2"]);
        assert_eq!(ids(&c, "kind=a&sort=name:desc").0, ["3", "1"]);
        let (page2, env) = ids(&c, "limit=2&page=2&kind=a&sort=n");
        assert_eq!(page2, Vec::<String>::new());
        assert_eq!(
            env["previous_page"],
            "/things?page=1&limit=2&sort=n:asc&kind=a"
        );
        assert_eq!(env["next_page"], Value::Null);
        let (_, env) = ids(&c, "limit=1");
        assert_eq!(env["next_page"], "/things?page=2&limit=1&sort=id:asc");
        assert_eq!(env["total_pages"], 3);
    }

    #[test]
    fn rejects_bad_parameters() {
        for query in [
            "page=0",
            "page=x",
            "limit=0",
            "limit=-1",
            "limit=",
            "sort=nope",
            "sort=id:up",
            "kind=c",
        ] {
            let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect();
            let err = ListQuery::from_pairs(&SPEC, &pairs).unwrap_err();
            assert_eq!(err.error, "invalid_request", "{query}");
        }
        let pairs = vec![("limit".to_owned(), "99999999999999999999999".to_owned())];
        assert_eq!(
            ListQuery::from_pairs(&SPEC, &pairs).unwrap().limit,
            MAX_LIMIT
        );
    }

    #[test]
    fn writes_keep_index_and_order_honest() {
        let mut c = things();
        c.insert(thing("0", "Zed", 9, "b"));
        assert!(c.ordered_by.is_empty(), "id 0 after id 3 breaks id order");
        assert_eq!(ids(&c, "").0, ["0", "1", "2", "3"]);
        assert!(c.remove("2"));
        assert!(!c.remove("2"));
        assert_eq!(c.get("3").unwrap()["name"], "Pump house");
        assert_eq!(c.len(), 3);
        let mut patch = Map::new();
        patch.insert("n".into(), json!(0));
        c.update("3", patch).unwrap();
        assert_eq!(ids(&c, "sort=n").0, ["3", "1", "0"]);
        let mut q = ListQuery::from_pairs(&SPEC, &[]).unwrap();
        q.search = Some("PUMP".into());
        let page: Value = serde_json::from_slice(&c.page_json(&q, false).unwrap()).unwrap();
        assert_eq!(page["total_items"], 2);
    }
}
