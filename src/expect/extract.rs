//! JSONPath extraction and expectations (RFC 9535 via `serde_json_path`). Pure:
//! paths are compiled once at load time and applied to parsed bodies.

use std::collections::HashMap;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json_path::JsonPath;

#[derive(Debug, thiserror::Error)]
#[error("invalid JSONPath `{path}`: {reason}")]
pub struct ExtractError {
    pub path: String,
    pub reason: String,
}

/// A compiled JSONPath and whether it can select at most one node.
#[derive(Debug, Clone)]
pub struct Path {
    text: String,
    compiled: JsonPath,
    singular: bool,
    plan: Option<Plan>,
}

impl Path {
    pub fn parse(text: &str) -> Result<Path, ExtractError> {
        let compiled = parse_query(text).map_err(|reason| ExtractError {
            path: text.to_string(),
            reason,
        })?;
        Ok(Path {
            text: text.to_string(),
            plan: Plan::new(text, &compiled),
            compiled,
            singular: is_singular(text),
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the path selects at most one node (then it gives a value, else a list).
    pub fn is_singular(&self) -> bool {
        self.singular
    }

    /// Every node the path selects, in document order.
    pub fn nodes<'v>(&self, value: &'v Value) -> Vec<&'v Value> {
        self.compiled.query(value).all()
    }

    /// Moves the selected nodes out of `value` (leaving nulls), in document order: a
    /// page's items without copying them.
    pub fn take(&self, value: &mut Value) -> Vec<Value> {
        let pointers: Vec<String> = self
            .compiled
            .query_located(value)
            .locations()
            .map(|l| l.to_json_pointer())
            .collect();
        pointers
            .iter()
            .filter_map(|p| value.pointer_mut(p).map(Value::take))
            .collect()
    }

    /// A singular path gives its value (or null); any other path gives a list.
    pub fn extract(&self, value: &Value) -> Value {
        self.shape(self.nodes(value).into_iter().cloned().collect())
    }

    /// What [`Path::extract`] gives for the JSON text `json`, without parsing all of
    /// it into a tree when the path allows (a large response's memory is then the
    /// text and the nodes selected). `None` when `json` is not valid JSON.
    pub fn extract_json(&self, json: &[u8]) -> Option<Value> {
        let nodes = match &self.plan {
            Some(plan) => plan.run(json)?,
            None => {
                let value: Value = serde_json::from_slice(json).ok()?;
                self.nodes(&value).into_iter().cloned().collect()
            }
        };
        Some(self.shape(nodes))
    }

    /// Whether [`Path::extract_json`] evaluates this path in one pass, without a tree.
    pub fn is_one_pass(&self) -> bool {
        self.plan.is_some()
    }

    fn shape(&self, mut nodes: Vec<Value>) -> Value {
        if self.singular {
            if nodes.is_empty() {
                Value::Null
            } else {
                nodes.swap_remove(0)
            }
        } else {
            Value::Array(nodes)
        }
    }
}

/// `JsonPath::parse`, minus its one panic: serde_json_path 0.7.2 parses `\u` escapes
/// with a streaming `nom` parser, and a path that ends inside one (`$["\u`) reaches
/// an `unreachable!`. Only an unclosed string can end there, and no valid path has
/// one, so those are refused first.
fn parse_query(text: &str) -> Result<JsonPath, String> {
    let mut open: Option<(char, usize)> = None;
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match (open, c) {
            (None, '\'' | '"') => open = Some((c, i)),
            (Some(_), '\\') => {
                chars.next();
            }
            (Some((q, _)), c) if c == q => open = None,
            _ => {}
        }
    }
    if let Some((_, at)) = open {
        return Err(format!(
            "the string literal at position {} is not closed",
            at + 1
        ));
    }
    JsonPath::parse(text).map_err(|e| e.to_string())
}

/// How to evaluate a path in one pass over a JSON text without building the whole
/// tree: walk down the leading member names, then build only the node they reach or,
/// for a wildcard or filter over its children, one child at a time. Only paths whose
/// rest never looks at the root (`$`) can be split like that.
#[derive(Debug, Clone)]
struct Plan {
    names: Vec<String>,
    target: Target,
}

#[derive(Debug, Clone)]
enum Target {
    /// The node the names reach, queried with the rest of the path.
    Whole(JsonPath),
    /// Each child of that node, wrapped in a one-element array and queried with the
    /// rest (which starts with a single wildcard or filter selector).
    Children(JsonPath),
    /// Child `n` of that node when it is an array, queried with the rest after `[n]`.
    Index(usize, JsonPath),
}

impl Plan {
    /// Splits `text` (already a valid path) into member names and the rest, or `None`
    /// when it cannot be split safely. The split is checked: the names and the rest
    /// must print back as the whole path does.
    fn new(text: &str, compiled: &JsonPath) -> Option<Plan> {
        let b = text.as_bytes();
        if b.first() != Some(&b'$') || text[1..].contains('$') {
            return None;
        }
        let mut names = Vec::new();
        let mut canon = String::from("$");
        let mut i = 1;
        loop {
            match (b.get(i), b.get(i + 1)) {
                (Some(b'.'), Some(&c)) if c == b'_' || c.is_ascii_alphabetic() || c >= 0x80 => {
                    let start = i + 1;
                    i = start;
                    while i < b.len()
                        && (b[i] == b'_' || b[i].is_ascii_alphanumeric() || b[i] >= 0x80)
                    {
                        i += 1;
                    }
                    let name = &text[start..i];
                    canon.push('.');
                    canon.push_str(name);
                    names.push(name.to_string());
                }
                (Some(b'['), Some(&q @ (b'\'' | b'"'))) => {
                    let start = i + 2;
                    let len = text[start..].find(q as char)?;
                    let name = &text[start..start + len];
                    if name.contains('\\') || b.get(start + len + 1) != Some(&b']') {
                        return None;
                    }
                    canon.push_str(&format!("['{name}']"));
                    names.push(name.to_string());
                    i = start + len + 2;
                }
                _ => break,
            }
        }
        let rest = &text[i..];
        let rooted = |s: &str| parse_query(&format!("${s}")).ok();
        let target = if rest.starts_with(".*") || rest.starts_with("[*]") || rest.starts_with("[?")
        {
            if !single_selector(rest) {
                return None;
            }
            Target::Children(rooted(rest)?)
        } else if let Some(n) = leading_index(rest) {
            let after = &rest[rest.find(']')? + 1..];
            Target::Index(n, rooted(after)?)
        } else {
            Target::Whole(rooted(rest)?)
        };
        let rest_canon = rooted(rest)?.to_string();
        if compiled.to_string() != format!("{canon}{}", &rest_canon[1..]) {
            return None;
        }
        Some(Plan { names, target })
    }

    /// The nodes the path selects in `json`, or `None` when `json` is not valid JSON.
    fn run(&self, json: &[u8]) -> Option<Vec<Value>> {
        let mut de = serde_json::Deserializer::from_slice(json);
        let mut out = Vec::new();
        Walk {
            names: &self.names,
            target: &self.target,
            out: &mut out,
        }
        .deserialize(&mut de)
        .ok()?;
        de.end().ok()?;
        Some(out)
    }
}

/// Whether the first segment of `rest` (`.*` or `[...]`) holds a single selector: a
/// union would list its selectors' nodes selector by selector, not child by child.
fn single_selector(rest: &str) -> bool {
    if rest.starts_with(".*") {
        return true;
    }
    let b = rest.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'[' | b'(' => depth += 1,
            b']' | b')' => {
                depth -= 1;
                if depth == 0 {
                    return true;
                }
            }
            b',' if depth == 1 => return false,
            _ => {}
        }
        i += 1;
    }
    false
}

/// `[n]` with a non-negative `n` at the start of `rest`.
fn leading_index(rest: &str) -> Option<usize> {
    let inner = rest.strip_prefix('[')?;
    let end = inner.find(']')?;
    let digits = &inner[..end];
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The `Visitor` methods of a walk over JSON that finds nothing under a scalar: each
/// accepts it and gives `()`. Used here and by `paginate`'s page walk.
macro_rules! scalars_select_nothing {
    () => {
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
    };
}
pub(crate) use scalars_select_nothing;

/// A deserializer seed that walks `names` down a JSON text and collects what the
/// target selects into `out`.
struct Walk<'p> {
    names: &'p [String],
    target: &'p Target,
    out: &'p mut Vec<Value>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        match (self.names.is_empty(), self.target) {
            (true, Target::Whole(rest)) => {
                let node = Value::deserialize(de)?;
                self.out
                    .extend(rest.query(&node).all().into_iter().cloned());
                Ok(())
            }
            _ => de.deserialize_any(self),
        }
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if let Some((first, deeper)) = self.names.split_first() {
            // A duplicate key: the last one wins, as when parsing into a `Value`.
            let mut found = None;
            while let Some(hit) = map.next_key_seed(KeyIs(first))? {
                if hit {
                    let mut out = Vec::new();
                    map.next_value_seed(Walk {
                        names: deeper,
                        target: self.target,
                        out: &mut out,
                    })?;
                    found = Some(out);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            self.out.extend(found.into_iter().flatten());
            return Ok(());
        }
        match self.target {
            Target::Children(rest) => {
                // Members in order of first appearance, the last value winning.
                let mut slots: Vec<Vec<Value>> = Vec::new();
                let mut seen: HashMap<String, usize> = HashMap::new();
                while let Some(key) = map.next_key::<String>()? {
                    let child = map.next_value::<Value>()?;
                    let nodes = query_child(rest, child);
                    match seen.get(&key) {
                        Some(&at) => slots[at] = nodes,
                        None => {
                            seen.insert(key, slots.len());
                            slots.push(nodes);
                        }
                    }
                }
                self.out.extend(slots.into_iter().flatten());
            }
            _ => while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {},
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        match (self.names.is_empty(), self.target) {
            (true, Target::Children(rest)) => {
                while let Some(child) = seq.next_element::<Value>()? {
                    self.out.extend(query_child(rest, child));
                }
            }
            (true, Target::Index(n, rest)) => {
                let mut i = 0;
                while i < *n {
                    if seq.next_element::<IgnoredAny>()?.is_none() {
                        return Ok(());
                    }
                    i += 1;
                }
                if let Some(child) = seq.next_element::<Value>()? {
                    self.out
                        .extend(rest.query(&child).all().into_iter().cloned());
                }
                while seq.next_element::<IgnoredAny>()?.is_some() {}
            }
            _ => while seq.next_element::<IgnoredAny>()?.is_some() {},
        }
        Ok(())
    }

    // Scalars have no members or children: the path selects nothing under them.
    scalars_select_nothing!();
}

/// The nodes `rest` (a wildcard or filter, then more) selects from one child.
fn query_child(rest: &JsonPath, child: Value) -> Vec<Value> {
    let wrapped = Value::Array(vec![child]);
    rest.query(&wrapped).all().into_iter().cloned().collect()
}

/// A map key seed that answers whether the key equals a name, without allocating
/// when the key has no escapes.
struct KeyIs<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<bool, D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

/// Whether `text` is a singular query (RFC 9535 §2.3.5.1): only name and index
/// selectors, one per segment, no descendants. A conservative lexical check on a
/// path that already parsed: when unsure, it says "not singular".
fn is_singular(text: &str) -> bool {
    let b = text.as_bytes();
    if b.first() != Some(&b'$') {
        return false;
    }
    let mut i = 1;
    while i < b.len() {
        match b[i] {
            b'.' => {
                i += 1;
                if i >= b.len() || b[i] == b'.' || b[i] == b'*' {
                    return false;
                }
                while i < b.len() && b[i] != b'.' && b[i] != b'[' {
                    i += 1;
                }
            }
            b'[' => {
                i += 1;
                while i < b.len() && b[i] == b' ' {
                    i += 1;
                }
                match b.get(i) {
                    Some(q @ (b'\'' | b'"')) => {
                        let q = *q;
                        i += 1;
                        while i < b.len() && b[i] != q {
                            if b[i] == b'\\' {
                                i += 1;
                            }
                            i += 1;
                        }
                        i += 1;
                    }
                    Some(c) if c.is_ascii_digit() || *c == b'-' => {
                        i += 1;
                        while i < b.len() && b[i].is_ascii_digit() {
                            i += 1;
                        }
                    }
                    _ => return false,
                }
                while i < b.len() && b[i] == b' ' {
                    i += 1;
                }
                if b.get(i) != Some(&b']') {
                    return false;
                }
                i += 1;
            }
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn singular_paths_give_values_others_lists() {
        let doc = json!({"items": [{"id": 1, "s": "a"}, {"id": 2, "s": "b"}], "total": 2});
        let cases = [
            ("$.total", json!(2)),
            ("$.items[0].id", json!(1)),
            ("$['items'][-1].id", json!(2)),
            ("$.missing", Value::Null),
            ("$.items[*].id", json!([1, 2])),
            ("$..id", json!([1, 2])),
            ("$.items[?@.s=='b'].id", json!([2])),
            ("$.items[0:1].id", json!([1])),
        ];
        for (path, want) in cases {
            assert_eq!(Path::parse(path).unwrap().extract(&doc), want, "{path}");
        }
    }

    #[test]
    fn take_moves_the_selected_nodes_out() {
        let mut doc = json!({"items": [{"id": 1}, {"id": 2}], "next": "x"});
        let items = Path::parse("$.items").unwrap().take(&mut doc);
        assert_eq!(items, vec![json!([{"id": 1}, {"id": 2}])]);
        assert_eq!(doc, json!({"items": null, "next": "x"}));
        let mut doc = json!({"a": [{"id": 1}, {"id": 2}]});
        assert_eq!(
            Path::parse("$.a[*].id").unwrap().take(&mut doc),
            vec![json!(1), json!(2)]
        );
    }

    #[test]
    fn one_pass_extraction_matches_the_tree() {
        let doc = json!({
            "total": 3,
            "items": [
                {"id": 1, "status": "active", "tags": ["a", "b"]},
                {"id": 2, "status": "retired", "tags": []},
                {"id": 3, "status": "active", "tags": ["c"], "nested": {"id": 9}}
            ],
            "by_key": {"x": {"id": 10}, "y": {"id": 11}},
            "it's": {"n": 1},
            "scalar": 5
        });
        let text = serde_json::to_vec(&doc).unwrap();
        let cases = [
            ("$.items[?@.status=='active'].id", true),
            ("$['items'][?@.status == 'active'].tags[*]", true),
            ("$.items[*].id", true),
            ("$.items.*..id", true),
            ("$.by_key.*.id", true),
            ("$.by_key[?@.id > 10]", true),
            ("$.items[1].status", true),
            ("$.items[7].id", true),
            ("$.items[-1].id", true),
            ("$.items[0:2].id", true),
            ("$.total", true),
            ("$[\"it's\"].n", true),
            ("$.scalar[*]", true),
            ("$.missing[?@.a].b", true),
            ("$..id", true),
            ("$", true),
            // Unions list selector by selector, and `$` inside a filter needs the root.
            ("$.items[?@.id==1, ?@.id==3].id", false),
            ("$.items[?@.id == $.total].status", false),
        ];
        for (path, planned) in cases {
            let p = Path::parse(path).unwrap();
            assert_eq!(p.plan.is_some(), planned, "{path}: {:?}", p.plan);
            assert_eq!(p.extract_json(&text), Some(p.extract(&doc)), "{path}");
        }
        let ids = Path::parse("$.items[?@.status=='active'].id").unwrap();
        assert_eq!(ids.extract_json(&text), Some(json!([1, 3])));
        assert_eq!(ids.extract_json(b"{\"items\": [1,"), None);
        assert_eq!(ids.extract_json(b"{} trailing"), None);
    }

    #[test]
    fn one_pass_extraction_keeps_the_last_of_duplicate_keys() {
        let text =
            br#"{"items": [{"id": 1}], "m": {"a": 1, "b": 2, "a": 3}, "items": [{"id": 2}]}"#;
        let doc: Value = serde_json::from_slice(text).unwrap();
        for path in ["$.items[*].id", "$.m.*", "$.m[?@ > 1]", "$.items[0].id"] {
            let p = Path::parse(path).unwrap();
            assert!(p.plan.is_some(), "{path}");
            assert_eq!(p.extract_json(text), Some(p.extract(&doc)), "{path}");
        }
    }

    #[test]
    fn invalid_paths_are_errors() {
        for bad in [
            "items",
            "$.items[",
            "$[?@.a ==]",
            " $",
            // Found by fuzzing: serde_json_path panics on these.
            "$[\"\\u",
            "$['\\uD83",
            "$[?@.a == 'x\\u",
            "$['a",
        ] {
            assert!(Path::parse(bad).is_err(), "{bad}");
        }
    }
}
