//! The page after this one: what a page says of it (a link in its body or its `Link`
//! header, a cursor, a count of items) and the request that fetches it, with the
//! guard that stops a server sending the same page again and again.

use std::collections::HashSet;

use serde_json::Value;

use crate::error::Error;
use crate::http::{
    Exchange, HttpError, JsonBody, Part, PartValue, RenderedBody, RenderedRequest, form,
};
use crate::project::{CursorInto, PageStyle, PaginatePaths};

/// What a page says of the next one.
#[derive(Debug, PartialEq)]
pub(super) enum Turn {
    End,
    /// A URL, relative to the page's.
    Link(String),
    /// A cursor to send back.
    Cursor(Value),
    /// `has_more` is true and there is no cursor to continue from.
    NoCursor,
    /// An offset page of `count` items, of `total` when the page says.
    Offset {
        count: usize,
        total: Option<u64>,
    },
}

impl Turn {
    /// What `body` (the parsed page) and `ex`'s headers say; `count` is the page's
    /// number of items.
    pub(super) fn of(paths: &PaginatePaths, ex: &Exchange, body: &Value, count: usize) -> Turn {
        match &paths.style {
            PageStyle::Body => match super::next_link(paths, body) {
                Some(link) => Turn::Link(link),
                None => Turn::End,
            },
            PageStyle::LinkHeader { rel } => Turn::of_headers(rel, ex),
            PageStyle::Cursor {
                cursor, has_more, ..
            } => {
                let cursor = cursor_value(cursor.extract(body));
                match has_more.as_ref().map(|p| p.extract(body)) {
                    Some(Value::Bool(true)) | None => match cursor {
                        Some(c) => Turn::Cursor(c),
                        None if has_more.is_some() => Turn::NoCursor,
                        None => Turn::End,
                    },
                    Some(_) => Turn::End,
                }
            }
            PageStyle::Offset { total, .. } => Turn::Offset {
                count,
                total: total.as_ref().and_then(|p| p.extract(body).as_u64()),
            },
        }
    }

    /// The link of relation `rel` in `ex`'s `Link` headers, if any.
    pub(super) fn of_headers(rel: &str, ex: &Exchange) -> Turn {
        ex.headers
            .iter()
            .filter(|(k, _)| k.as_str().eq_ignore_ascii_case("link"))
            .flat_map(|(_, v)| parse_link_header(&crate::http::header::text(v)))
            .find(|link| link.has_rel(rel))
            .map_or(Turn::End, |link| Turn::Link(link.target))
    }
}

/// A cursor as the body holds it: a non-empty string or a number; a list (a path
/// like `$.data[-1:].id` selects a list) gives its last element.
fn cursor_value(v: Value) -> Option<Value> {
    let v = match v {
        Value::Array(mut items) => items.pop()?,
        other => other,
    };
    match v {
        Value::String(s) if s.is_empty() => None,
        v @ (Value::String(_) | Value::Number(_)) => Some(v),
        _ => None,
    }
}

/// One link of a `Link` header (RFC 8288 §3).
#[derive(Debug, PartialEq)]
pub(super) struct Link {
    pub target: String,
    pub params: Vec<(String, String)>,
}

impl Link {
    /// `rel` is one of the link's relation types (a space-separated list, any case).
    fn has_rel(&self, rel: &str) -> bool {
        self.params
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("rel"))
            .flat_map(|(_, v)| v.split_ascii_whitespace())
            .any(|r| r.eq_ignore_ascii_case(rel))
    }
}

/// The links of one `Link` header value: `<uri>; rel="next"; title="…", <uri2>; …`.
/// Quoted values may hold commas and semicolons; what does not parse is skipped.
pub(super) fn parse_link_header(value: &str) -> Vec<Link> {
    let mut links = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_ascii_whitespace());
        let Some(after) = rest.strip_prefix('<') else {
            // Not a link: skip to the next one, if any.
            match rest.find(',') {
                Some(i) => {
                    rest = &rest[i..];
                    continue;
                }
                None => break,
            }
        };
        let Some(end) = after.find('>') else {
            break;
        };
        let target = after[..end].trim().to_string();
        rest = &after[end + 1..];
        let mut params = Vec::new();
        while let Some(after) = rest.trim_start().strip_prefix(';') {
            let after = after.trim_start();
            let name_end = after.find(['=', ';', ',']).unwrap_or(after.len());
            let name = after[..name_end].trim().to_ascii_lowercase();
            rest = &after[name_end..];
            let mut val = String::new();
            if let Some(v) = rest.strip_prefix('=') {
                let v = v.trim_start();
                (val, rest) = match v.strip_prefix('"') {
                    Some(q) => quoted(q),
                    None => {
                        let end = v.find([';', ',']).unwrap_or(v.len());
                        (v[..end].trim().to_string(), &v[end..])
                    }
                };
            }
            params.push((name, val));
        }
        links.push(Link { target, params });
        // Anything up to the next link's comma is not understood: skip it.
        match rest.find(',') {
            Some(i) => rest = &rest[i..],
            None => break,
        }
    }
    links
}

/// A quoted string's text (after its opening quote) and what follows it.
fn quoted(s: &str) -> (String, &str) {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (out, &s[i + 1..]),
            '\\' => {
                if let Some((_, e)) = chars.next() {
                    out.push(e);
                }
            }
            c => out.push(c),
        }
    }
    (out, "")
}

/// The state of a walk from page to page: what was fetched, where the offset is.
pub(super) struct Walk<'a> {
    first: &'a RenderedRequest,
    paths: &'a PaginatePaths,
    seen: HashSet<String>,
    offset: u64,
}

impl<'a> Walk<'a> {
    pub(super) fn new(paths: &'a PaginatePaths, first: &'a RenderedRequest) -> Walk<'a> {
        let offset = match &paths.style {
            PageStyle::Offset { offset_param, .. } => first
                .url
                .query_pairs()
                .filter(|(k, _)| k == offset_param.as_str())
                .last()
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0),
            _ => 0,
        };
        let mut seen = HashSet::new();
        seen.insert(first.url.to_string());
        Walk {
            first,
            paths,
            seen,
            offset,
        }
    }

    /// The request for the page after the one at `current` that said `turn`;
    /// `None` at the end. A link or cursor seen before is a loop (exit 4).
    pub(super) fn next(
        &mut self,
        turn: Turn,
        current: &url::Url,
    ) -> Result<Option<RenderedRequest>, Error> {
        let looped = |what: String| -> Error {
            HttpError::Protocol {
                url: current.to_string(),
                detail: format!("pagination loops: {what}"),
            }
            .into()
        };
        match turn {
            Turn::End => Ok(None),
            Turn::Link(link) => {
                // A relative link resolves against the page it came from.
                let url = current.join(&link).map_err(|e| HttpError::Protocol {
                    url: current.to_string(),
                    detail: format!("the next page URL `{link}` is invalid: {e}"),
                })?;
                if !self.seen.insert(url.to_string()) {
                    return Err(HttpError::Protocol {
                        url: url.to_string(),
                        detail: "pagination loops: this page was already fetched".to_string(),
                    }
                    .into());
                }
                Ok(Some(super::page_request(self.first, url, false)))
            }
            Turn::NoCursor => Err(HttpError::Protocol {
                url: current.to_string(),
                detail: "pagination stops short: has_more is true but the page has no cursor to continue from".to_string(),
            }
            .into()),
            Turn::Cursor(cursor) => {
                let text = super::super::encode::scalar_text(&cursor);
                if !self.seen.insert(format!("cursor {text}")) {
                    return Err(looped(format!("the cursor `{text}` came back again")));
                }
                let PageStyle::Cursor { into, .. } = &self.paths.style else {
                    return Ok(None);
                };
                Ok(Some(with_cursor(self.first, into, cursor)))
            }
            Turn::Offset { count, total } => {
                let PageStyle::Offset {
                    offset_param,
                    limit,
                    ..
                } = &self.paths.style
                else {
                    return Ok(None);
                };
                self.offset += count as u64;
                let short = count == 0 || count < *limit as usize;
                if short || total.is_some_and(|t| self.offset >= t) {
                    return Ok(None);
                }
                let url = form::set_query_param(&self.first.url, offset_param, &self.offset.to_string());
                Ok(Some(RenderedRequest {
                    url,
                    ..self.first.clone()
                }))
            }
        }
    }
}

/// `first` with `cursor` in the place `into` names: a GraphQL variable, or a
/// parameter in the query (GET, HEAD, no body) or the form, JSON or multipart body.
fn with_cursor(first: &RenderedRequest, into: &CursorInto, cursor: Value) -> RenderedRequest {
    let mut req = first.clone();
    let text = super::super::encode::scalar_text(&cursor);
    match (into, &mut req.body) {
        (CursorInto::Variable(name), RenderedBody::Json(JsonBody::Tree(Value::Object(body)))) => {
            let vars = body
                .entry("variables")
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            if !vars.is_object() {
                *vars = Value::Object(serde_json::Map::new());
            }
            if let Value::Object(vars) = vars {
                vars.insert(name.clone(), cursor);
            }
        }
        (CursorInto::Param(name), _)
            if req.method == reqwest::Method::GET || req.method == reqwest::Method::HEAD =>
        {
            req.url = form::set_query_param(&req.url, name, &text);
        }
        (CursorInto::Param(name), RenderedBody::Form(pairs)) => {
            pairs.retain(|(k, _)| k != name);
            pairs.push((name.clone(), text));
        }
        (CursorInto::Param(name), RenderedBody::Json(JsonBody::Tree(Value::Object(body)))) => {
            body.insert(name.clone(), cursor);
        }
        (CursorInto::Param(name), RenderedBody::Multipart(parts)) => {
            parts.retain(|p| &p.name != name);
            parts.push(Part {
                name: name.clone(),
                value: PartValue::Text(text),
            });
        }
        (CursorInto::Param(name) | CursorInto::Variable(name), _) => {
            req.url = form::set_query_param(&req.url, name, &text);
        }
    }
    req
}

/// The first request of an offset walk asks for `limit` items a page.
pub(super) fn first_page_url(paths: &PaginatePaths, url: &mut url::Url) {
    if let PageStyle::Offset {
        limit_param: Some(param),
        limit,
        ..
    } = &paths.style
    {
        *url = form::set_query_param(url, param, &limit.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers_parse_as_rfc_8288_writes_them() {
        let links = parse_link_header(
            r#"<https://api.github.com/r?page=2>; rel="next", <https://api.github.com/r?page=5>; rel="last""#,
        );
        assert_eq!(links.len(), 2);
        assert_eq!(links[0].target, "https://api.github.com/r?page=2");
        assert!(links[0].has_rel("next") && links[1].has_rel("LAST"));
        // Quoted commas and semicolons, several rels, bare values, odd spacing.
        let links = parse_link_header(
            r#"</a,b>;title="x, y; z";rel="prev next" ,<c>; rel=first; x, junk, </d> ; REL = "Next""#,
        );
        let targets: Vec<_> = links.iter().map(|l| l.target.as_str()).collect();
        assert_eq!(targets, ["/a,b", "c", "/d"]);
        assert!(links[0].has_rel("next") && links[0].has_rel("prev"));
        assert_eq!(links[0].params[0], ("title".into(), "x, y; z".into()));
        assert!(links[1].has_rel("first") && !links[1].has_rel("next"));
        assert!(links[2].has_rel("next"));
        assert!(parse_link_header("garbage").is_empty());
        assert!(parse_link_header("<unclosed; rel=next").is_empty());
    }

    #[test]
    fn cursors_are_strings_or_numbers_and_lists_give_their_last() {
        use serde_json::json;
        assert_eq!(cursor_value(json!(["a", "b"])), Some(json!("b")));
        assert_eq!(cursor_value(json!([])), None);
        assert_eq!(cursor_value(json!("")), None);
        assert_eq!(cursor_value(json!(null)), None);
        assert_eq!(cursor_value(json!(7)), Some(json!(7)));
        assert_eq!(cursor_value(json!({"x": 1})), None);
    }
}
