//! Reading a page's items (and its next link) in one pass without parsing the
//! page into a tree, when every path is a chain of member names: what `-o jsonl`
//! streams as the server wrote it.

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use super::{PageItems, Paging, RawItems, next_link, take_items};
use crate::expect::extract;
use crate::project::{PageStyle, PaginatePaths};

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
#[derive(Debug, Clone)]
pub(super) struct RawChains {
    pub(super) items: Vec<String>,
    pub(super) next: Option<Vec<String>>,
}

impl RawChains {
    pub(super) fn of(paging: &Paging<'_>) -> Option<RawChains> {
        if !paging.raw {
            return None;
        }
        // A cursor, or an offset's total, is read from the parsed page.
        let next = match (&paging.paths.style, &paging.paths.next_url) {
            (PageStyle::Body, Some(p)) => Some(member_chain(p)?),
            (PageStyle::Body | PageStyle::LinkHeader { .. }, _)
            | (PageStyle::Offset { total: None, .. }, _) => None,
            _ => return None,
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
    raw_page_text(chains, std::str::from_utf8(bytes).ok()?)
}

/// [`raw_page`] of a page known to be text: the quick scanner's reading, or (when it
/// is not sure) serde_json's.
fn raw_page_text<'b>(chains: &RawChains, text: &'b str) -> Option<(Option<String>, PageItems<'b>)> {
    match super::scan::scan_page(&chains.items, chains.next.as_deref(), text) {
        Some(found) => Some(scanned(text, found)),
        None => serde_page_text(chains, text),
    }
}

/// What the scanner found, as a page's next link and items.
fn scanned<'b>(text: &'b str, found: super::scan::Scanned) -> (Option<String>, PageItems<'b>) {
    let bytes = text.as_bytes();
    let next = found.next.and_then(|r| text.get(r)).map(str::to_string);
    let items = RawItems {
        items: found
            .items
            .into_iter()
            .filter_map(|r| bytes.get(r))
            .collect(),
        one_line: found.one_line,
    };
    (next, PageItems::Raw(items))
}

/// [`raw_page_text`] as serde_json reads it.
fn serde_page_text<'b>(
    chains: &RawChains,
    text: &'b str,
) -> Option<(Option<String>, PageItems<'b>)> {
    let bytes = text.as_bytes();
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
        items: found
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.get().as_bytes())
            .collect(),
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
        style: PageStyle::Body,
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
            .map(|x| serde_json::from_slice(x).unwrap_or(Value::Null))
            .collect(),
    };
    same_as_serde(&chains, bytes);
    let (raw_next, raw_items) = read_body_page(&paths, Some(&chains), bytes);
    let (next_link, parsed_items) = read_body_page(&paths, None, bytes);
    assert_eq!(raw_next, next_link, "next link");
    assert_eq!(values(raw_items), values(parsed_items), "items");
}

/// A page the quick scanner reads must read the same with serde_json: the same next
/// link, the same items to the byte, the same line breaks. Panics when not.
pub(super) fn same_as_serde(chains: &RawChains, bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let Some(found) = super::scan::scan_page(&chains.items, chains.next.as_deref(), text) else {
        return;
    };
    let (next, items) = scanned(text, found);
    let (serde_next, serde_items) = serde_page_text(chains, text)
        .unwrap_or_else(|| panic!("scanned, not read by serde_json: {text:?}"));
    assert_eq!(next, serde_next, "next link of {text:?}");
    match (items, serde_items) {
        (PageItems::Raw(a), PageItems::Raw(b)) => {
            assert_eq!(a.items, b.items, "items of {text:?}");
            assert_eq!(a.one_line, b.one_line, "line breaks of {text:?}");
        }
        _ => panic!("items not raw: {text:?}"),
    }
}

/// A numbered page's items (its links are not followed), as [`read_body_page`] gives
/// them, from what a thread of its own can own: the chains and the items path.
pub(super) fn page_items<'b>(
    chains: &RawChains,
    items: &extract::Path,
    bytes: &'b [u8],
) -> PageItems<'b> {
    let raw = match std::str::from_utf8(bytes) {
        Ok(text) => raw_page_text(chains, text),
        Err(_) => None,
    };
    match raw {
        Some((_, items)) => items,
        None => {
            let body: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
            PageItems::Values(take_items(items, body))
        }
    }
}

/// A page's next link and items.
pub(super) fn read_body_page<'b>(
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn raw_pages_give_what_parsed_pages_give() {
        let paths = PaginatePaths {
            next_url: Some(extract::Path::parse("$.links.next").unwrap()),
            total_pages: None,
            items: extract::Path::parse("$.data.items").unwrap(),
            style: PageStyle::Body,
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
            let (raw_next, raw_items) = read_body_page(&paths, Some(&chains), page.as_bytes());
            let (next, items) = read_body_page(&paths, None, page.as_bytes());
            assert_eq!(raw_next, next, "{page}");
            let as_values = |items: PageItems<'_>| match items {
                PageItems::Values(v) => v,
                PageItems::Raw(r) => r
                    .items
                    .iter()
                    .map(|x| serde_json::from_slice(x).unwrap())
                    .collect(),
            };
            assert_eq!(as_values(raw_items), as_values(items), "{page}");
        }
        let paths = PaginatePaths {
            next_url: Some(extract::Path::parse("$.links").unwrap()),
            total_pages: None,
            items: extract::Path::parse("$.links.items").unwrap(),
            style: PageStyle::Body,
        };
        let chains = RawChains {
            items: vec!["links".into(), "items".into()],
            next: Some(vec!["links".into()]),
        };
        let page = br#"{"links": {"items": [1, 2]}}"#;
        assert!(raw_page(&chains, page).is_none());
        let (_, items) = read_body_page(&paths, Some(&chains), page);
        assert!(matches!(items, PageItems::Values(v) if v == vec![json!(1), json!(2)]));
        assert!(member_chain(&extract::Path::parse("$.items[*]").unwrap()).is_none());
        assert!(member_chain(&extract::Path::parse("$['items']").unwrap()).is_none());
    }
}
