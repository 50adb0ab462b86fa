//! A JSON body: a tree, or the compact text a template was rendered to (a request
//! file's `body.json`, written without building the tree: `project::template`'s
//! `JsonTemplate`). Both are sent as the same bytes.

use bytes::Bytes;
use serde_json::Value;

#[derive(Debug, Clone)]
pub enum JsonBody {
    /// Built as a value: a GraphQL body, a paginated request's (its pages put a
    /// cursor in it), one whose object keys are templates.
    Tree(Value),
    /// Compact JSON text, as `serde_json` writes it.
    Text(Bytes),
}

impl JsonBody {
    /// The bytes sent.
    pub fn bytes(&self) -> Bytes {
        match self {
            JsonBody::Tree(v) => serde_json::to_vec(v).map(Bytes::from).unwrap_or_default(),
            JsonBody::Text(text) => text.clone(),
        }
    }

    /// The body as compact text (`--curl`'s `--data-raw`).
    pub fn compact(&self) -> String {
        match self {
            JsonBody::Tree(v) => v.to_string(),
            JsonBody::Text(text) => String::from_utf8_lossy(text).into_owned(),
        }
    }

    /// The body indented as `serde_json::to_string_pretty` indents it (previews).
    pub fn pretty(&self) -> String {
        match self {
            JsonBody::Tree(v) => serde_json::to_string_pretty(v).unwrap_or_default(),
            JsonBody::Text(text) => indent(text),
        }
    }
}

/// Compact JSON text indented by two spaces a level, as serde_json's pretty writer
/// does: not parsed back into a tree, whose float reading may differ from the text in
/// the last digit (serde_json without `float_roundtrip`).
fn indent(text: &[u8]) -> String {
    let mut out = Vec::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        out.resize(out.len() + 2 * depth, b' ');
    };
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        match b {
            b'"' => {
                // A string, copied through to its closing quote.
                let start = i;
                i += 1;
                while i < text.len() && text[i] != b'"' {
                    i += if text[i] == b'\\' { 2 } else { 1 };
                }
                out.extend_from_slice(&text[start..(i + 1).min(text.len())]);
            }
            b'{' | b'[' => {
                out.push(b);
                if matches!(text.get(i + 1), Some(b'}' | b']')) {
                    out.push(text[i + 1]);
                    i += 1;
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(b);
            }
            b',' => {
                out.push(b);
                newline(&mut out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_indented_as_serde_json_indents_the_tree() {
        let values = [
            serde_json::json!({}),
            serde_json::json!([]),
            serde_json::json!({"a": {}, "b": [], "c": [1, 2.5, -3e-7, null, true]}),
            serde_json::json!({"s": "a \"quoted\" {x}: [y], \\ done", "n": {"m": {"k": [[], [{}]]}}}),
            serde_json::json!([{"é": "ünïcødé ✓"}, "tab\there", 0.30000000000000004]),
            serde_json::json!("just a string"),
            serde_json::json!(12),
        ];
        for v in values {
            let text = JsonBody::Text(Bytes::from(serde_json::to_vec(&v).unwrap()));
            assert_eq!(
                text.pretty(),
                serde_json::to_string_pretty(&v).unwrap(),
                "{v}"
            );
            assert_eq!(text.compact(), v.to_string());
            assert_eq!(text.bytes(), JsonBody::Tree(v).bytes());
        }
    }
}
