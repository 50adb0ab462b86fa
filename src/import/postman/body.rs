//! A request's `body` in each of Postman's modes (raw, urlencoded, formdata, file,
//! graphql) as a request file's `body:`.

use indexmap::IndexMap;
use serde_json::Value;

use super::template::{template, template_value};
use crate::import::mirror::{BodyOut, LiteralValue, MultipartOut};
use crate::import::text::{file_field, ident, one_line};

/// The body, or `None` (with a comment when its mode is not imported). A file
/// outside the project becomes a variable, with a comment and a line in `notes`.
pub(super) fn request_body(
    body: &Value,
    comments: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> Option<BodyOut> {
    let mode = body.get("mode").and_then(Value::as_str).unwrap_or_default();
    match mode {
        "raw" => raw(body),
        "urlencoded" => Some(BodyOut::Form(
            pairs(body, "urlencoded")
                .into_iter()
                .map(|p| {
                    (
                        text_of(p, "key"),
                        LiteralValue::from(template(&text_of(p, "value"))),
                    )
                })
                .collect(),
        )),
        "formdata" => formdata(body, comments, notes),
        "file" => body
            .pointer("/file/src")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(|s| BodyOut::File(file_field(s, "file_path", comments, notes))),
        "graphql" => Some(graphql(body)),
        "" => None,
        other => {
            comments.push(format!("body mode `{}` not imported", one_line(other, 40)));
            None
        }
    }
}

/// The enabled entries of the list at `key`.
fn pairs<'a>(body: &'a Value, key: &str) -> Vec<&'a Value> {
    body.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter(|p| p.get("disabled").and_then(Value::as_bool) != Some(true))
                .collect()
        })
        .unwrap_or_default()
}

/// The text at `k` of an entry, empty when absent.
fn text_of(p: &Value, k: &str) -> String {
    p.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// `raw`: JSON when it parses as JSON (and says so, or is an object or array), else text.
fn raw(body: &Value) -> Option<BodyOut> {
    let raw = body.get("raw").and_then(Value::as_str).unwrap_or_default();
    if raw.is_empty() {
        return None;
    }
    let lang = body
        .pointer("/options/raw/language")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match serde_json::from_str::<Value>(raw) {
        Ok(v) if lang == "json" || v.is_object() || v.is_array() => {
            Some(BodyOut::Json(template_value(&v)))
        }
        _ => Some(BodyOut::Text(template(raw))),
    }
}

/// `formdata`: multipart, files by the path Postman names (a comment when none).
fn formdata(body: &Value, comments: &mut Vec<String>, notes: &mut Vec<String>) -> Option<BodyOut> {
    let mut parts = IndexMap::new();
    for p in pairs(body, "formdata") {
        let key = text_of(p, "key");
        let part = if p.get("type").and_then(Value::as_str) == Some("file") {
            let src = match p.get("src") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(a)) => a
                    .first()
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                _ => String::new(),
            };
            if src.is_empty() {
                comments.push(format!(
                    "form file `{}`: no file named",
                    one_line(&key, 100)
                ));
                continue;
            }
            let var = format!("{}_file", ident(&key));
            MultipartOut::File {
                file: file_field(&src, &var, comments, notes),
            }
        } else {
            MultipartOut::Value(template(&text_of(p, "value")))
        };
        parts.insert(key, part);
    }
    (!parts.is_empty()).then_some(BodyOut::Multipart(parts))
}

/// `graphql`: the query and its variables as a JSON body.
fn graphql(body: &Value) -> BodyOut {
    let query = body
        .pointer("/graphql/query")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let variables = body
        .pointer("/graphql/variables")
        .and_then(Value::as_str)
        .and_then(|v| serde_json::from_str::<Value>(v).ok())
        .unwrap_or(Value::Null);
    BodyOut::Json(template_value(
        &serde_json::json!({"query": query, "variables": variables}),
    ))
}
