//! `paginate:` from what an operation's success response documents: a `Link`
//! header (GitHub, GitLab), a cursor in the body (Slack's
//! `response_metadata.next_cursor`, a top-level `next_cursor`), Stripe's `has_more`
//! with a `data` list and a `starting_after` parameter, or a next page's URL in the
//! body (`next`, `next_url`, `next_page_url`, Twilio's `next_page_uri`).

use serde_json::{Map, Value};

use super::document::resolve;
use crate::import::mirror::PaginateOut;

/// Body fields holding the next page's URL (absolute or relative to the page).
const NEXT_URL_FIELDS: &[&str] = &["next", "next_url", "next_page_url", "next_page_uri"];

/// The `paginate:` block for an operation whose first 2xx response documents a way
/// of paging; `params` are its query parameters' names.
pub(super) fn paginate(doc: &Value, op: &Value, params: &[&str]) -> Option<PaginateOut> {
    let responses = op.get("responses")?.as_object()?;
    let response = responses
        .iter()
        .filter(|(k, _)| {
            k.trim()
                .parse::<u16>()
                .is_ok_and(|c| (200..300).contains(&c))
        })
        .map(|(_, r)| resolve(doc, r, 0))
        .next()?;
    let schema = response
        .get("content")
        .and_then(Value::as_object)
        .and_then(|c| c.iter().find(|(ct, _)| ct.contains("json")))
        .and_then(|(_, m)| m.get("schema"))
        .map(|s| resolve(doc, s, 0));
    let has_link = response
        .get("headers")
        .and_then(Value::as_object)
        .is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case("link")));
    let schema = schema?;
    let props = properties(doc, schema);
    // The page's items: the body when it is a list, else its first list field.
    let items = if type_of(schema) == Some("array") {
        Some("$".to_string())
    } else {
        props
            .iter()
            .find(|(_, s)| type_of(s) == Some("array"))
            .map(|(k, _)| path_to(k))
    };
    if has_link {
        return Some(PaginateOut {
            link_header: Some("next".into()),
            items: Some(items?),
            ..PaginateOut::default()
        });
    }
    from_body(
        doc,
        &props,
        items.unwrap_or_else(|| "$".to_string()),
        params,
    )
}

/// `paginate:` from the fields of a page's body (`props`), with its `items`.
fn from_body(
    doc: &Value,
    props: &[(&str, &Value)],
    items: String,
    params: &[&str],
) -> Option<PaginateOut> {
    let items = Some(items);
    let cursor_param = params
        .iter()
        .find(|p| **p == "cursor")
        .map(|p| p.to_string());
    if let Some((_, meta)) = props.iter().find(|(k, _)| *k == "response_metadata")
        && properties(doc, meta)
            .iter()
            .any(|(k, _)| *k == "next_cursor")
    {
        return Some(PaginateOut {
            cursor: Some("$.response_metadata.next_cursor".into()),
            param: Some(cursor_param.unwrap_or_else(|| "cursor".into())),
            items,
            ..PaginateOut::default()
        });
    }
    if props.iter().any(|(k, _)| *k == "next_cursor") {
        return Some(PaginateOut {
            cursor: Some("$.next_cursor".into()),
            param: Some(cursor_param.unwrap_or_else(|| "cursor".into())),
            items,
            ..PaginateOut::default()
        });
    }
    let has = |name: &str| props.iter().any(|(k, _)| *k == name);
    let data_is_list = props
        .iter()
        .any(|(k, s)| *k == "data" && type_of(s) == Some("array"));
    if has("has_more") && data_is_list && params.contains(&"starting_after") {
        return Some(PaginateOut {
            cursor: Some("$.data[-1:].id".into()),
            param: Some("starting_after".into()),
            has_more: Some("$.has_more".into()),
            items: Some("$.data".into()),
            ..PaginateOut::default()
        });
    }
    let next = NEXT_URL_FIELDS.iter().find(|f| {
        props
            .iter()
            .any(|(k, s)| k == *f && matches!(type_of(s), Some("string") | None))
    })?;
    Some(PaginateOut {
        next_url: Some(path_to(next)),
        items,
        ..PaginateOut::default()
    })
}

/// `$.name`, or `$['name']` for a name that is not an identifier.
fn path_to(name: &str) -> String {
    let plain = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        format!("$.{name}")
    } else {
        format!("$['{}']", name.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

/// The schema's first `type` that is not `null` (`object`/`array` when it only has
/// `properties`/`items`).
fn type_of(s: &Value) -> Option<&str> {
    match s.get("type") {
        Some(Value::String(t)) => Some(t),
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).find(|t| *t != "null"),
        _ if s.get("properties").is_some() || s.get("allOf").is_some() => Some("object"),
        _ if s.get("items").is_some() => Some("array"),
        _ => None,
    }
}

/// An object schema's properties, its `allOf` parts' merged in, each resolved.
fn properties<'a>(doc: &'a Value, schema: &'a Value) -> Vec<(&'a str, &'a Value)> {
    let mut out = Vec::new();
    collect(doc, schema, &mut out, 0);
    out
}

fn collect<'a>(doc: &'a Value, s: &'a Value, out: &mut Vec<(&'a str, &'a Value)>, depth: usize) {
    if depth > 8 {
        return;
    }
    let s = resolve(doc, s, 0);
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        push_all(doc, props, out);
    }
    for part in s
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        collect(doc, part, out, depth + 1);
    }
}

fn push_all<'a>(
    doc: &'a Value,
    props: &'a Map<String, Value>,
    out: &mut Vec<(&'a str, &'a Value)>,
) {
    for (k, p) in props {
        out.push((k.as_str(), resolve(doc, p, 0)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op(schema: Value, headers: Value) -> Value {
        json!({"responses": {"200": {"headers": headers, "content": {"application/json": {"schema": schema}}}}})
    }

    #[test]
    fn each_documented_way_of_paging_is_written() {
        let doc = json!({"components": {"schemas": {"Meta": {"type": "object", "properties": {"next_cursor": {"type": "string"}}}}}});
        let link = paginate(
            &doc,
            &op(json!({"type": "array"}), json!({"Link": {}})),
            &[],
        )
        .unwrap();
        assert_eq!(
            (link.link_header.as_deref(), link.items.as_deref()),
            (Some("next"), Some("$"))
        );
        let slack = op(
            json!({"properties": {"ok": {"type": "boolean"}, "channels": {"type": "array"}, "response_metadata": {"$ref": "#/components/schemas/Meta"}}}),
            json!({}),
        );
        let slack = paginate(&doc, &slack, &["cursor", "limit"]).unwrap();
        assert_eq!(
            slack.cursor.as_deref(),
            Some("$.response_metadata.next_cursor")
        );
        assert_eq!(
            (slack.param.as_deref(), slack.items.as_deref()),
            (Some("cursor"), Some("$.channels"))
        );
        let stripe = op(
            json!({"properties": {"data": {"type": "array"}, "has_more": {"type": "boolean"}, "url": {"type": "string"}}}),
            json!({}),
        );
        let s = paginate(&doc, &stripe, &["limit", "starting_after"]).unwrap();
        assert_eq!(s.cursor.as_deref(), Some("$.data[-1:].id"));
        assert_eq!(s.has_more.as_deref(), Some("$.has_more"));
        assert_eq!(s.param.as_deref(), Some("starting_after"));
        assert!(
            paginate(&doc, &stripe, &["limit"]).is_none(),
            "no parameter to send the cursor in"
        );
        let spotify = op(
            json!({"allOf": [{"properties": {"next": {"type": "string", "nullable": true}}}, {"properties": {"items": {"type": "array"}}}]}),
            json!({}),
        );
        let n = paginate(&doc, &spotify, &[]).unwrap();
        assert_eq!(
            (n.next_url.as_deref(), n.items.as_deref()),
            (Some("$.next"), Some("$.items"))
        );
        assert!(paginate(&doc, &op(json!({"properties": {"id": {}}}), json!({})), &[]).is_none());
        assert_eq!(path_to("a-b'"), "$['a-b\\'']");
    }
}
