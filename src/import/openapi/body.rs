//! An operation's `requestBody` as a request file's `body:`: JSON, a form, multipart
//! or text, from the first media type runner can send, with an example value.

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::document::resolve;
use super::example::{example, generate};
use crate::import::mirror::LiteralValue;
use crate::import::mirror::{BodyOut, MultipartOut};
use crate::import::text::{ident, literal, var_template};

/// A request body as written: the `body:` block, a `Content-Type` to set when
/// runner's own (for JSON, form, multipart) would not say the same, the
/// `form_style` the document's `encoding` asks for, the required fields that hold a
/// typed placeholder (`name (type)`), and the optional fields, left out of the body
/// and written as commented lines under it.
pub(super) struct BodyParts {
    pub(super) body: BodyOut,
    pub(super) content_type: Option<String>,
    pub(super) form_style: Option<&'static str>,
    pub(super) placeholders: Vec<String>,
    pub(super) optional: Vec<(String, Value)>,
}

impl BodyParts {
    fn of(body: BodyOut) -> BodyParts {
        BodyParts {
            body,
            content_type: None,
            form_style: None,
            placeholders: Vec::new(),
            optional: Vec::new(),
        }
    }
}

/// The body from the first media type runner can send: JSON (and `+json`), a form,
/// multipart, or text.
pub(super) fn request_body(doc: &Value, body: &Value) -> Result<Option<BodyParts>, String> {
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
        return Ok(Some(form_body(doc, media)));
    }
    if let Some((_, media)) = find(&|k| k.starts_with("multipart/")) {
        return multipart_body(doc, media).map(|b| Some(BodyParts::of(b)));
    }
    if let Some((ct, media)) = find(&|k| k.starts_with("text/") || k.ends_with("xml")) {
        let mut parts = BodyParts::of(text_body(doc, media));
        parts.content_type = Some(ct);
        return Ok(Some(parts));
    }
    let kinds: Vec<&str> = content.keys().map(String::as_str).take(3).collect();
    Err(format!(
        "media type {} is not JSON, a form, multipart or text",
        kinds.join(", ")
    ))
}

/// A body's fields, its required fields holding placeholders, its optional fields.
type Fields = (Map<String, Value>, Vec<String>, Vec<(String, Value)>);

/// The body's fields: the media type's example whole, else the schema's required
/// properties (their example or a typed placeholder) with the optional ones apart.
/// `None` when the schema is not an object with properties.
fn fields(doc: &Value, media: &Value) -> Option<Fields> {
    if let Some(Value::Object(m)) = example(doc, media) {
        return Some((m, Vec::new(), Vec::new()));
    }
    let (props, required) = object_properties(doc, media.get("schema")?);
    if props.is_empty() {
        return None;
    }
    let (mut body, mut placeholders, mut optional) = (Map::new(), Vec::new(), Vec::new());
    for (name, prop) in props {
        let resolved = resolve(doc, prop, 0);
        if resolved.get("readOnly").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let value = generate(doc, Some(prop));
        if required.contains(&name) {
            if is_placeholder(doc, prop, &value) {
                let kind = resolved
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("value");
                placeholders.push(format!("`{name}` ({kind})"));
            }
            body.insert(name, value);
        } else if optional.len() < 60 {
            optional.push((name, value));
        }
    }
    Some((body, placeholders, optional))
}

/// Whether `value`, generated for `prop`, is a typed placeholder rather than a value
/// the document gives (an example, a default, a constant, an enum's first).
fn is_placeholder(doc: &Value, prop: &Value, value: &Value) -> bool {
    let s = resolve(doc, prop, 0);
    let given = ["example", "examples", "default", "const", "enum"]
        .iter()
        .any(|k| s.get(*k).is_some());
    !given && !value.is_object() && !value.is_array()
}

/// An object schema's properties (its `allOf` parts' merged in) and required names.
fn object_properties<'a>(
    doc: &'a Value,
    schema: &'a Value,
) -> (Vec<(String, &'a Value)>, Vec<String>) {
    let mut props = Vec::new();
    let mut required = Vec::new();
    let mut todo = vec![(schema, 0)];
    while let Some((s, depth)) = todo.pop() {
        let s = resolve(doc, s, 0);
        if depth > 6 {
            continue;
        }
        for (k, p) in s
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            if !props.iter().any(|(n, _)| n == k) {
                props.push((k.clone(), p));
            }
        }
        for r in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(r) = r.as_str() {
                required.push(r.to_string());
            }
        }
        for part in s
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .rev()
        {
            todo.push((part, depth + 1));
        }
    }
    (props, required)
}

/// A JSON body (of media type `ct`), with its `Content-Type` when it is not plain
/// `application/json`.
fn json_body(doc: &Value, ct: String, media: &Value) -> Result<BodyParts, String> {
    let mut parts = match fields(doc, media) {
        Some((body, placeholders, optional)) => BodyParts {
            placeholders,
            optional,
            ..BodyParts::of(BodyOut::Json(LiteralValue::of(&Value::Object(body))))
        },
        None => {
            let value = example(doc, media).unwrap_or_else(|| generate(doc, media.get("schema")));
            if value.is_null() {
                // `json: null` reads as no body at all.
                return Err(format!(
                    "{ct}: the document gives no example and no schema to build one from"
                ));
            }
            BodyParts::of(BodyOut::Json(LiteralValue::of(&value)))
        }
    };
    let base = ct
        .split(';')
        .next()
        .unwrap_or(&ct)
        .trim()
        .to_ascii_lowercase();
    parts.content_type = (base != "application/json" && base != "*/*").then_some(ct);
    Ok(parts)
}

/// A form body: its fields as values (lists and maps kept, sent in the style the
/// document's `encoding` asks for).
fn form_body(doc: &Value, media: &Value) -> BodyParts {
    let (body, placeholders, optional) = fields(doc, media).unwrap_or_default();
    let mut form = IndexMap::new();
    for (k, v) in &body {
        form.insert(k.clone(), field(v));
    }
    BodyParts {
        form_style: form_style(doc, media),
        placeholders,
        optional,
        ..BodyParts::of(BodyOut::Form(form))
    }
}

/// The `form_style` a form's `encoding` (or its default) asks for: `brackets` when
/// a field is a `deepObject`; `repeat` when a list field is exploded (OpenAPI's
/// default for forms: `k=a&k=b`); else none (runner's default).
fn form_style(doc: &Value, media: &Value) -> Option<&'static str> {
    let encoding = media.get("encoding").and_then(Value::as_object);
    let deep = encoding.is_some_and(|e| {
        e.values()
            .any(|v| v.get("style").and_then(Value::as_str) == Some("deepObject"))
    });
    if deep {
        return Some("brackets");
    }
    let (props, _) = media
        .get("schema")
        .map(|s| object_properties(doc, s))
        .unwrap_or_default();
    let exploded_list = props.iter().any(|(name, p)| {
        let is_list = resolve(doc, p, 0).get("type").and_then(Value::as_str) == Some("array");
        let explode = encoding
            .and_then(|e| e.get(name))
            .and_then(|e| e.get("explode"))
            .and_then(Value::as_bool)
            .unwrap_or(true);
        is_list && explode
    });
    exploded_list.then_some("repeat")
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

/// A form value: scalars as text or as themselves, lists and maps kept.
fn field(v: &Value) -> LiteralValue {
    match v {
        Value::String(s) => LiteralValue::from(literal(s)),
        Value::Null => LiteralValue::from(literal("")),
        other => LiteralValue::of(other),
    }
}
