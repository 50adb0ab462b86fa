//! Example values for bodies: the media type's own example, else one generated from
//! the schema, bounded in depth and size so that recursive and huge schemas end.

use serde_json::{Map, Value, json};

use super::document::resolve;

/// How deep a generated example nests.
const MAX_SCHEMA_DEPTH: usize = 8;
/// How many values one generated example holds at most.
const MAX_GENERATED: usize = 500;

/// The media type's own example: `example`, else the first of `examples`.
pub(super) fn example(doc: &Value, media: &Value) -> Option<Value> {
    if let Some(e) = media.get("example") {
        return Some(e.clone());
    }
    let first = media.get("examples")?.as_object()?.values().next()?;
    let first = resolve(doc, first, 0);
    first.get("value").cloned()
}

/// An example value built from a schema: its `example`, `default`, `const` or first
/// `enum` value, else one value of its type; objects with their properties. Bounded
/// in depth, so recursive schemas end.
pub fn generate(doc: &Value, schema: Option<&Value>) -> Value {
    let mut budget = MAX_GENERATED;
    build(doc, schema, 0, &mut budget)
}

/// [`generate`], within `budget` values: wide and deep schemas (a property list
/// at every level) would otherwise grow an example exponentially.
fn build(doc: &Value, schema: Option<&Value>, depth: usize, budget: &mut usize) -> Value {
    let Some(schema) = schema else {
        return Value::Null;
    };
    if depth > MAX_SCHEMA_DEPTH || *budget == 0 {
        return Value::Null;
    }
    *budget -= 1;
    let s = resolve(doc, schema, depth);
    let Some(m) = s.as_object() else {
        return Value::Null;
    };
    if let Some(v) = given(m) {
        return v;
    }
    if let Some(all) = m.get("allOf").and_then(Value::as_array)
        && let Some(v) = all_of(doc, m, all, depth, budget)
    {
        return v;
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(first) = m.get(key).and_then(Value::as_array).and_then(|a| a.first()) {
            return build(doc, Some(first), depth + 1, budget);
        }
    }
    of_type(doc, m, depth, budget)
}

/// The value the schema gives itself: its `example`, `default`, `const`, first of
/// `examples` or first `enum` value.
fn given(m: &Map<String, Value>) -> Option<Value> {
    for key in ["example", "default", "const"] {
        if let Some(v) = m.get(key) {
            return Some(v.clone());
        }
    }
    if let Some(Value::Array(examples)) = m.get("examples")
        && let Some(v) = examples.first()
    {
        return Some(v.clone());
    }
    m.get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
        .cloned()
}

/// `allOf`: the parts' objects merged, with the schema's own properties. `None`
/// when nothing merged and the schema has properties of its own (it is then built
/// by its type).
fn all_of(
    doc: &Value,
    m: &Map<String, Value>,
    all: &[Value],
    depth: usize,
    budget: &mut usize,
) -> Option<Value> {
    let mut merged = Map::new();
    for part in all {
        match build(doc, Some(part), depth + 1, budget) {
            Value::Object(o) => merged.extend(o),
            other if all.len() == 1 => return Some(other),
            _ => {}
        }
    }
    if !merged.is_empty() || m.get("properties").is_none() {
        if let Value::Object(own) = object(doc, m, depth, budget) {
            merged.extend(own);
        }
        return Some(Value::Object(merged));
    }
    None
}

/// One value of the schema's type (the first that is not `null`; `object` or
/// `array` when it only has `properties` or `items`).
fn of_type(doc: &Value, m: &Map<String, Value>, depth: usize, budget: &mut usize) -> Value {
    let kind = match m.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if m.contains_key("properties") => "object",
        _ if m.contains_key("items") => "array",
        _ => "",
    };
    match kind {
        "object" => object(doc, m, depth, budget),
        "array" => match m.get("items") {
            Some(items) => json!([build(doc, Some(items), depth + 1, budget)]),
            None => json!([]),
        },
        "string" => {
            Value::String(string_example(m.get("format").and_then(Value::as_str)).to_string())
        }
        "integer" => json!(m.get("minimum").and_then(Value::as_i64).unwrap_or(0)),
        "number" => json!(m.get("minimum").and_then(Value::as_f64).unwrap_or(0.0)),
        "boolean" => Value::Bool(false),
        _ => Value::Null,
    }
}

/// A string of the given `format`.
fn string_example(format: Option<&str>) -> &'static str {
    match format {
        Some("date-time") => "2024-01-01T00:00:00Z",
        Some("date") => "2024-01-01",
        Some("time") => "00:00:00",
        Some("email") => "user@example.com",
        Some("uuid") => "00000000-0000-0000-0000-000000000000",
        Some("uri" | "url") => "https://example.com",
        Some("ipv4") => "192.0.2.1",
        Some("ipv6") => "2001:db8::1",
        _ => "string",
    }
}

/// An object's properties (at most 50), each generated; read-only ones left out.
fn object(doc: &Value, m: &Map<String, Value>, depth: usize, budget: &mut usize) -> Value {
    let mut out = Map::new();
    if let Some(props) = m.get("properties").and_then(Value::as_object) {
        for (k, p) in props.iter().take(50) {
            let resolved = resolve(doc, p, depth);
            if resolved.get("readOnly").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            if *budget == 0 {
                break;
            }
            out.insert(k.clone(), build(doc, Some(p), depth + 1, budget));
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recursive_schemas_end() {
        let doc = json!({"components": {"schemas": {"Node": {
            "type": "object",
            "properties": {"next": {"$ref": "#/components/schemas/Node"}, "n": {"type": "integer"}}
        }}}});
        let v = generate(&doc, Some(&json!({"$ref": "#/components/schemas/Node"})));
        assert_eq!(v["n"], 0);
        let self_ref = json!({"a": {"$ref": "#/a"}});
        assert_eq!(resolve(&self_ref, &self_ref["a"], 0), &Value::Null);
    }
}
