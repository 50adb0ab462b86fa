//! An operation's `requestBody` as a request file's `body:`: JSON, a form, multipart
//! or text, from the first media type runner can send, with an example value.

use indexmap::IndexMap;
use serde_json::Value;

use super::document::resolve;
use super::example::{example, generate};
use crate::import::mirror::LiteralValue;
use crate::import::mirror::{BodyOut, MultipartOut};
use crate::import::text::{ident, literal, var_template};

/// The body from the first media type runner can send: JSON (and `+json`), a form,
/// multipart, or text. The second value is a `Content-Type` to set when runner's
/// own (for JSON, form, multipart) would not say the same.
pub(super) fn request_body(
    doc: &Value,
    body: &Value,
) -> Result<Option<(BodyOut, Option<String>)>, String> {
    let Some(content) = body.get("content").and_then(Value::as_object) else {
        return Ok(None);
    };
    if content.is_empty() {
        return Ok(None);
    }
    let find = |pred: &dyn Fn(&str) -> bool| {
        content
            .iter()
            .find(|(k, _)| pred(&k.to_ascii_lowercase()))
            .map(|(k, v)| (k.clone(), v))
    };
    let is_json = |k: &str| {
        let base = k.split(';').next().unwrap_or(k).trim();
        base == "application/json" || base.ends_with("+json") || base == "*/*"
    };
    if let Some((ct, media)) = find(&is_json) {
        return json_body(doc, ct, media).map(Some);
    }
    if let Some((_, media)) = find(&|k| k.starts_with("application/x-www-form-urlencoded")) {
        return Ok(Some((form_body(doc, media), None)));
    }
    if let Some((_, media)) = find(&|k| k.starts_with("multipart/")) {
        return multipart_body(doc, media).map(|b| Some((b, None)));
    }
    if let Some((ct, media)) = find(&|k| k.starts_with("text/") || k.ends_with("xml")) {
        return Ok(Some((text_body(doc, media), Some(ct))));
    }
    let kinds: Vec<&str> = content.keys().map(String::as_str).take(3).collect();
    Err(format!(
        "media type {} is not JSON, a form, multipart or text",
        kinds.join(", ")
    ))
}

/// A JSON body (of media type `ct`), and the `Content-Type` when it is not plain
/// `application/json`.
fn json_body(doc: &Value, ct: String, media: &Value) -> Result<(BodyOut, Option<String>), String> {
    let value = example(doc, media).unwrap_or_else(|| generate(doc, media.get("schema")));
    if value.is_null() {
        // `json: null` reads as no body at all.
        return Err(format!(
            "{ct}: the document gives no example and no schema to build one from"
        ));
    }
    let base = ct
        .split(';')
        .next()
        .unwrap_or(&ct)
        .trim()
        .to_ascii_lowercase();
    let header = (base != "application/json" && base != "*/*").then_some(ct);
    Ok((BodyOut::Json(LiteralValue::of(&value)), header))
}

/// A form body: the example object's fields as text.
fn form_body(doc: &Value, media: &Value) -> BodyOut {
    let value = example(doc, media).unwrap_or_else(|| generate(doc, media.get("schema")));
    let mut form = IndexMap::new();
    if let Value::Object(m) = value {
        for (k, v) in m {
            form.insert(k, scalar(&v));
        }
    }
    BodyOut::Form(form)
}

/// A multipart body: binary properties as files named by template variables, the
/// others as text.
fn multipart_body(doc: &Value, media: &Value) -> Result<BodyOut, String> {
    let schema = media.get("schema").map(|s| resolve(doc, s, 0));
    let value = generate(doc, media.get("schema"));
    let mut parts = IndexMap::new();
    if let Value::Object(m) = value {
        for (k, v) in m {
            let prop = schema
                .and_then(|s| s.get("properties"))
                .and_then(|p| p.get(&k))
                .map(|p| resolve(doc, p, 0));
            let binary = prop.is_some_and(|p| {
                matches!(
                    p.get("format").and_then(Value::as_str),
                    Some("binary" | "base64")
                ) || p.get("contentMediaType").is_some()
            });
            let field = if binary {
                MultipartOut::File {
                    file: var_template(&format!("{}_file", ident(&k))),
                }
            } else {
                MultipartOut::Value(literal(&match v {
                    Value::String(s) => s,
                    Value::Null => String::new(),
                    other => other.to_string(),
                }))
            };
            parts.insert(k, field);
        }
    }
    if parts.is_empty() {
        return Err("a multipart body without properties".to_string());
    }
    Ok(BodyOut::Multipart(parts))
}

/// A text body: the media type's example, as text.
fn text_body(doc: &Value, media: &Value) -> BodyOut {
    let text = match example(doc, media) {
        Some(Value::String(s)) => s,
        Some(other) => other.to_string(),
        None => String::new(),
    };
    BodyOut::Text(literal(&text))
}

/// A form value as text (nested values as JSON).
fn scalar(v: &Value) -> LiteralValue {
    match v {
        Value::String(s) => LiteralValue::from(literal(s)),
        Value::Null => LiteralValue::from(literal("")),
        Value::Bool(_) | Value::Number(_) => LiteralValue::of(v),
        other => LiteralValue::from(literal(&other.to_string())),
    }
}
