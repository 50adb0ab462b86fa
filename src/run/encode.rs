//! Lists and maps in a form body or a query string, as `key=value` pairs in the
//! style the request file chooses (`form_style`, `query_style`): brackets
//! (`a[b]=1&a[c][0]=x`), a repeated key (`k=a&k=b`), or the value's JSON text.

use serde_json::Value;

use crate::project::model::request::EncodeStyle;

/// The pairs of `key: value` in `style`, appended to `out`. A `null` inside a list
/// or map is an empty value; empty lists and maps give no pair.
pub fn flatten(key: &str, value: &Value, style: EncodeStyle, out: &mut Vec<(String, String)>) {
    match (style, value) {
        (EncodeStyle::Json, Value::Array(_) | Value::Object(_)) => {
            out.push((key.to_string(), value.to_string()));
        }
        (EncodeStyle::Repeat, Value::Array(items)) if items.iter().all(is_scalar) => {
            for item in items {
                out.push((key.to_string(), scalar_text(item)));
            }
        }
        (_, Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                flatten(&format!("{key}[{i}]"), item, style, out);
            }
        }
        (_, Value::Object(map)) => {
            for (k, item) in map {
                flatten(&format!("{key}[{k}]"), item, style, out);
            }
        }
        (_, scalar) => out.push((key.to_string(), scalar_text(scalar))),
    }
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

/// A JSON scalar as text for a query string or form: strings bare, `null` empty,
/// others as JSON.
pub fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pairs(key: &str, value: Value, style: EncodeStyle) -> String {
        let mut out = Vec::new();
        flatten(key, &value, style, &mut out);
        crate::http::form::encode(&out)
    }

    #[test]
    fn each_style_encodes_lists_and_maps() {
        let nested = json!({"b": 1, "c": ["x", {"d": null}], "e": {}});
        assert_eq!(
            pairs("a", nested.clone(), EncodeStyle::Brackets),
            "a[b]=1&a[c][0]=x&a[c][1][d]="
        );
        assert_eq!(
            pairs("a", nested.clone(), EncodeStyle::Repeat),
            "a[b]=1&a[c][0]=x&a[c][1][d]="
        );
        assert_eq!(
            pairs("a", nested, EncodeStyle::Json),
            "a=%7B%22b%22%3A1%2C%22c%22%3A%5B%22x%22%2C%7B%22d%22%3Anull%7D%5D%2C%22e%22%3A%7B%7D%7D"
        );
        assert_eq!(
            pairs("k", json!(["a", 2, true]), EncodeStyle::Repeat),
            "k=a&k=2&k=true"
        );
        assert_eq!(
            pairs("k", json!(["a", "b"]), EncodeStyle::Brackets),
            "k[0]=a&k[1]=b"
        );
        assert_eq!(pairs("k", json!("v w"), EncodeStyle::Brackets), "k=v+w");
    }
}
