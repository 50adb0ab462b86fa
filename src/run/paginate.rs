//! Following pages: `next_url` links one after another, or numbered pages fetched
//! concurrently once the first page tells how many there are. Items go to a sink as
//! pages arrive, so memory grows with the items kept, never with page bodies.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;

use futures_util::StreamExt;
use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::error::Error;
use crate::expect::extract;
use crate::http::{Exchange, HttpError, RenderedBody, RenderedRequest};
use crate::project::PaginatePaths;

/// How to page.
pub struct Paging<'a> {
    pub paths: &'a PaginatePaths,
    pub max_pages: u32,
    /// Pages in flight at once in page-number mode.
    pub concurrency: usize,
    pub page_param: &'a str,
    /// The sink writes items as they are: pages whose paths are plain member names
    /// (`$.items`, `$.next_page`) are then read without building their items' trees.
    pub raw: bool,
}

/// One page's items: parsed, or each item's JSON text as the server sent it.
pub enum PageItems<'a> {
    Values(Vec<Value>),
    Raw(RawItems<'a>),
}

/// Items as the server sent them.
pub struct RawItems<'a> {
    pub items: Vec<&'a RawValue>,
    /// No line break anywhere in the page: every item is one line as it is.
    pub one_line: bool,
}

/// Where each page's items go, in order.
pub type Sink<'s> = dyn FnMut(PageItems<'_>) -> Result<(), Error> + 's;

/// The member names of a path that is only names (`$.a.b`), if that is all it is.
fn member_chain(path: &extract::Path) -> Option<Vec<String>> {
    let rest = path.text().strip_prefix("$.")?;
    let names: Vec<String> = rest.split('.').map(str::to_string).collect();
    let plain = |n: &String| {
        !n.is_empty()
            && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !n.starts_with(|c: char| c.is_ascii_digit())
    };
    names.iter().all(plain).then_some(names)
}

/// The member chains of a page read raw: items, and the next link if paging by links.
struct RawChains {
    items: Vec<String>,
    next: Option<Vec<String>>,
}

impl RawChains {
    fn of(paging: &Paging<'_>) -> Option<RawChains> {
        if !paging.raw {
            return None;
        }
        let next = match &paging.paths.next_url {
            Some(p) => Some(member_chain(p)?),
            None => None,
        };
        Some(RawChains {
            items: member_chain(&paging.paths.items)?,
            next,
        })
    }
}

/// A page's next link and items, read raw in one pass; `None` when the page is not
/// of the shape that allows it (then it is parsed whole, with the same result).
fn raw_page<'b>(chains: &RawChains, bytes: &'b [u8]) -> Option<(Option<String>, PageItems<'b>)> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut found = Found::default();
    let mut de = serde_json::Deserializer::from_str(text);
    Walk {
        items: Some(&chains.items),
        next: chains.next.as_deref(),
        found: &mut found,
    }
    .deserialize(&mut de)
    .ok()?;
    de.end().ok()?;
    if found.odd {
        return None;
    }
    let next = match found.next {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    };
    let items = RawItems {
        items: found.items.unwrap_or_default(),
        one_line: memchr::memchr2(b'\n', b'\r', bytes).is_none(),
    };
    Some((next, PageItems::Raw(items)))
}

/// What one pass over a page found at the items and next-link chains.
#[derive(Default)]
struct Found<'b> {
    items: Option<Vec<&'b RawValue>>,
    next: Option<Value>,
    /// The items were not an array, or the chains meet: parse the page whole.
    odd: bool,
}

/// A seed that follows the items and next-link member chains down a page, skipping
/// every other member unparsed. A chain that has run out names the node to take.
struct Walk<'c, 'f, 'b> {
    items: Option<&'c [String]>,
    next: Option<&'c [String]>,
    found: &'f mut Found<'b>,
}

impl<'de, 'c, 'f> DeserializeSeed<'de> for Walk<'c, 'f, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        match (self.items, self.next) {
            (Some([]), Some([])) => {
                self.found.odd = true;
                IgnoredAny::deserialize(de).map(drop)
            }
            (Some([]), _) => {
                // Not an array (an error here) or null: the page is parsed whole.
                // The last of duplicate keys wins, as in a parsed page.
                match Option::<Vec<&'de RawValue>>::deserialize(de)? {
                    Some(items) => self.found.items = Some(items),
                    None => self.found.odd = true,
                }
                Ok(())
            }
            (None, Some([])) => {
                self.found.next = Some(Value::deserialize(de)?);
                Ok(())
            }
            (Some(_), Some([])) => {
                // The items lie below the next link: only a parsed page says.
                self.found.odd = true;
                IgnoredAny::deserialize(de).map(drop)
            }
            _ => de.deserialize_any(self),
        }
    }
}

impl<'de, 'c, 'f> Visitor<'de> for Walk<'c, 'f, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON page")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let below = |chain: Option<&'c [String]>| match chain {
                Some([first, rest @ ..]) if *first == key => Some(rest),
                _ => None,
            };
            let (items, next) = (below(self.items), below(self.next));
            if items.is_none() && next.is_none() {
                map.next_value::<IgnoredAny>()?;
            } else {
                // A later duplicate key replaces all that was found below the first.
                if items.is_some() {
                    self.found.items = None;
                }
                if next.is_some() {
                    self.found.next = None;
                }
                map.next_value_seed(Walk {
                    items,
                    next,
                    found: &mut *self.found,
                })?;
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        // No member chain goes through an array.
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    extract::scalars_select_nothing!();
}

/// For fuzzing: a page read raw (items at `items`, next link at `next`, member names
/// separated by dots) must give what the parsed page gives. Panics when not.
pub(crate) fn check_raw_page(items: &str, next: &str, bytes: &[u8]) {
    let names = |s: &str| s.split('.').map(str::to_string).collect::<Vec<_>>();
    let paths = PaginatePaths {
        next_url: extract::Path::parse(&format!("$.{next}")).ok(),
        total_pages: None,
        items: match extract::Path::parse(&format!("$.{items}")) {
            Ok(p) => p,
            Err(_) => return,
        },
    };
    let chains = RawChains {
        items: names(items),
        next: Some(names(next)),
    };
    let values = |items: PageItems<'_>| match items {
        PageItems::Values(v) => v,
        PageItems::Raw(r) => r
            .items
            .iter()
            .map(|x| serde_json::from_str(x.get()).unwrap_or(Value::Null))
            .collect(),
    };
    let (raw_next, raw_items) = read_page(&paths, Some(&chains), bytes);
    let (next_link, parsed_items) = read_page(&paths, None, bytes);
    assert_eq!(raw_next, next_link, "next link");
    assert_eq!(values(raw_items), values(parsed_items), "items");
}

/// A page's next link and items.
fn read_page<'b>(
    paths: &PaginatePaths,
    chains: Option<&RawChains>,
    bytes: &'b [u8],
) -> (Option<String>, PageItems<'b>) {
    if let Some(parts) = chains.and_then(|c| raw_page(c, bytes)) {
        return parts;
    }
    let body: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
    let next = next_link(paths, &body);
    (next, PageItems::Values(take_items(&paths.items, body)))
}

/// Sends one page request (with the session's authentication).
pub type SendPage<'a> =
    dyn Fn(RenderedRequest) -> Pin<Box<dyn Future<Output = Result<Exchange, Error>> + 'a>> + 'a;

/// What the pages after the first gave.
pub struct Paged {
    /// The last page's exchange (or the failing one).
    pub last: Exchange,
    pub pages: u32,
    /// A page that failed the status expectation stops paging; this says which.
    pub failure: Option<String>,
}

/// The items of `body` as `path` selects them: the elements of the one array it
/// selects, or the selected nodes.
pub fn take_items(path: &extract::Path, mut body: Value) -> Vec<Value> {
    let mut nodes = path.take(&mut body);
    if nodes.len() == 1 && nodes[0].is_array() {
        match nodes.pop() {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        }
    } else {
        nodes
    }
}

/// The next page's URL from `body`, if it names one.
fn next_link(paths: &PaginatePaths, body: &Value) -> Option<String> {
    match paths.next_url.as_ref()?.extract(body) {
        Value::String(s) if !s.is_empty() => Some(s),
        _ => None,
    }
}

/// `url` with its `param` query parameter set to `n` (replaced, or appended).
pub fn page_url(url: &url::Url, param: &str, n: u32) -> url::Url {
    let mut out = url.clone();
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != param)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    {
        let mut q = out.query_pairs_mut();
        q.clear();
        for (k, v) in &kept {
            q.append_pair(k, v);
        }
        q.append_pair(param, &n.to_string());
    }
    out
}

/// Follows the pages after `first` (whose body is `first_body`), giving every page's
/// items, the first's included, to `sink` in order. `check` names a failed status.
pub async fn follow(
    paging: &Paging<'_>,
    first_req: &RenderedRequest,
    first: Exchange,
    first_body: Value,
    send: &SendPage<'_>,
    check: &dyn Fn(&Exchange) -> Option<String>,
    sink: &mut Sink<'_>,
) -> Result<Paged, Error> {
    let paths = paging.paths;
    let chains = RawChains::of(paging);
    let total = paths
        .total_pages
        .as_ref()
        .and_then(|p| p.extract(&first_body).as_u64());
    let next = next_link(paths, &first_body);
    sink(PageItems::Values(take_items(&paths.items, first_body)))?;
    if let Some(total) = total {
        return numbered(
            paging,
            chains.as_ref(),
            first_req,
            first,
            total,
            send,
            check,
            sink,
        )
        .await;
    }
    let mut current = first.url.clone();
    let mut last = first;
    let mut pages = 1u32;
    let mut seen: HashSet<String> = HashSet::new();
    seen.insert(first_req.url.to_string());
    let mut next = next;
    while let Some(link) = next {
        if pages >= paging.max_pages {
            tracing::info!("stopping after max_pages = {}", paging.max_pages);
            break;
        }
        // A relative link resolves against the page it came from.
        let url = current.join(&link).map_err(|e| HttpError::Protocol {
            url: first_req.url.to_string(),
            detail: format!("the next page URL `{link}` is invalid: {e}"),
        })?;
        if !seen.insert(url.to_string()) {
            return Err(HttpError::Protocol {
                url: url.to_string(),
                detail: "pagination loops: this page was already fetched".to_string(),
            }
            .into());
        }
        let ex = send(page_request(first_req, url, false)).await?;
        // The page that answered, after any redirects, is what its links are relative to.
        current = ex.url.clone();
        pages += 1;
        if let Some(f) = check(&ex) {
            return Ok(Paged {
                last: ex,
                pages,
                failure: Some(f),
            });
        }
        let (link, items) = read_page(paths, chains.as_ref(), &ex.body);
        sink(items)?;
        next = link;
        last = ex;
    }
    Ok(Paged {
        last,
        pages,
        failure: None,
    })
}

/// Pages 2..=total, `concurrency` at a time, delivered in order.
#[allow(clippy::too_many_arguments)]
async fn numbered(
    paging: &Paging<'_>,
    chains: Option<&RawChains>,
    first_req: &RenderedRequest,
    first: Exchange,
    total: u64,
    send: &SendPage<'_>,
    check: &dyn Fn(&Exchange) -> Option<String>,
    sink: &mut Sink<'_>,
) -> Result<Paged, Error> {
    let last_page = total.min(u64::from(paging.max_pages)) as u32;
    let mut results = futures_util::stream::iter(2..=last_page)
        .map(|n| {
            send(page_request(
                first_req,
                page_url(&first_req.url, paging.page_param, n),
                true,
            ))
        })
        .buffered(paging.concurrency.max(1));
    let mut last = first;
    let mut pages = 1;
    while let Some(ex) = results.next().await {
        let ex = ex?;
        pages += 1;
        if let Some(f) = check(&ex) {
            return Ok(Paged {
                last: ex,
                pages,
                failure: Some(f),
            });
        }
        sink(read_page(paging.paths, chains, &ex.body).1)?;
        last = ex;
    }
    Ok(Paged {
        last,
        pages,
        failure: None,
    })
}

/// A link is followed with a GET; a numbered page repeats the first request (a POST
/// search keeps its body) with only the page number changed.
fn page_request(first: &RenderedRequest, url: url::Url, numbered: bool) -> RenderedRequest {
    if numbered {
        return RenderedRequest {
            url,
            ..first.clone()
        };
    }
    RenderedRequest {
        url,
        method: reqwest::Method::GET,
        body: RenderedBody::Empty,
        ..first.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn page_urls_replace_or_append_the_parameter() {
        let u = url::Url::parse("http://h/a?limit=5&page=1&sort=x").unwrap();
        assert_eq!(
            page_url(&u, "page", 3).as_str(),
            "http://h/a?limit=5&sort=x&page=3"
        );
        let u = url::Url::parse("http://h/a").unwrap();
        assert_eq!(page_url(&u, "p", 2).as_str(), "http://h/a?p=2");
    }

    #[test]
    fn raw_pages_give_what_parsed_pages_give() {
        let paths = PaginatePaths {
            next_url: Some(extract::Path::parse("$.links.next").unwrap()),
            total_pages: None,
            items: extract::Path::parse("$.data.items").unwrap(),
        };
        let chains = RawChains {
            items: vec!["data".into(), "items".into()],
            next: Some(vec!["links".into(), "next".into()]),
        };
        let pages = [
            r#"{"data": {"items": [{"id": 1, "t": "a\nb"}, 2, "x"]}, "links": {"next": "/p2"}}"#,
            r#"{"data": {"items": []}, "links": {"next": null}}"#,
            r#"{"data": {}, "links": {"next": ""}}"#,
            r#"{"data": {"items": {"not": "a list"}}}"#,
            r#"[1, 2]"#,
            // Duplicate keys (the last wins), a null or scalar where the chains lead,
            // the items below the next link, and escapes in keys.
            r#"{"data": {"items": [1]}, "data": {"items": [2, 3]}, "links": {"next": "/a", "next": "/b"}}"#,
            r#"{"data": {"items": [1]}, "links": {"next": "/a"}, "data": {}, "links": 1}"#,
            r#"{"data": {"items": null}, "links": {"next": 5}}"#,
            r#"{"data": 7, "links": []}"#,
            r#"{"d\u0061ta": {"items": [4]}, "links": {"n\u0065xt": "/c"}}"#,
        ];
        for page in pages {
            let (raw_next, raw_items) = read_page(&paths, Some(&chains), page.as_bytes());
            let (next, items) = read_page(&paths, None, page.as_bytes());
            assert_eq!(raw_next, next, "{page}");
            let as_values = |items: PageItems<'_>| match items {
                PageItems::Values(v) => v,
                PageItems::Raw(r) => r
                    .items
                    .iter()
                    .map(|x| serde_json::from_str(x.get()).unwrap())
                    .collect(),
            };
            assert_eq!(as_values(raw_items), as_values(items), "{page}");
        }
        let paths = PaginatePaths {
            next_url: Some(extract::Path::parse("$.links").unwrap()),
            total_pages: None,
            items: extract::Path::parse("$.links.items").unwrap(),
        };
        let chains = RawChains {
            items: vec!["links".into(), "items".into()],
            next: Some(vec!["links".into()]),
        };
        let page = br#"{"links": {"items": [1, 2]}}"#;
        assert!(raw_page(&chains, page).is_none());
        let (_, items) = read_page(&paths, Some(&chains), page);
        assert!(matches!(items, PageItems::Values(v) if v == vec![json!(1), json!(2)]));
        assert!(member_chain(&extract::Path::parse("$.items[*]").unwrap()).is_none());
        assert!(member_chain(&extract::Path::parse("$['items']").unwrap()).is_none());
    }

    #[test]
    fn items_are_the_elements_of_one_array_or_the_nodes() {
        let items = extract::Path::parse("$.items").unwrap();
        assert_eq!(
            take_items(&items, json!({"items": [1, 2]})),
            vec![json!(1), json!(2)]
        );
        assert_eq!(take_items(&items, json!({"x": 1})), Vec::<Value>::new());
        let ids = extract::Path::parse("$.items[*].id").unwrap();
        assert_eq!(
            take_items(&ids, json!({"items": [{"id": 1}, {"id": 2}]})),
            vec![json!(1), json!(2)]
        );
    }
}
