//! JSONPath extraction and expectations (RFC 9535 via `serde_json_path`). Pure:
//! paths are compiled once at load time and applied to parsed bodies.

use serde_json::Value;
use serde_json_path::JsonPath;

#[derive(Debug, thiserror::Error)]
#[error("invalid JSONPath `{path}`: {reason}")]
pub struct ExtractError {
    pub path: String,
    pub reason: String,
}

/// A compiled JSONPath and whether it can select at most one node.
#[derive(Debug, Clone)]
pub struct Path {
    text: String,
    compiled: JsonPath,
    singular: bool,
}

impl Path {
    pub fn parse(text: &str) -> Result<Path, ExtractError> {
        let compiled = JsonPath::parse(text).map_err(|e| ExtractError {
            path: text.to_string(),
            reason: e.to_string(),
        })?;
        Ok(Path {
            text: text.to_string(),
            compiled,
            singular: is_singular(text),
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Every node the path selects, in document order.
    pub fn nodes<'v>(&self, value: &'v Value) -> Vec<&'v Value> {
        self.compiled.query(value).all()
    }

    /// Moves the selected nodes out of `value` (leaving nulls), in document order: a
    /// page's items without copying them.
    pub fn take(&self, value: &mut Value) -> Vec<Value> {
        let pointers: Vec<String> = self
            .compiled
            .query_located(value)
            .locations()
            .map(|l| l.to_json_pointer())
            .collect();
        pointers
            .iter()
            .filter_map(|p| value.pointer_mut(p).map(Value::take))
            .collect()
    }

    /// A singular path gives its value (or null); any other path gives a list.
    pub fn extract(&self, value: &Value) -> Value {
        let nodes = self.nodes(value);
        if self.singular {
            nodes.first().map(|v| (*v).clone()).unwrap_or(Value::Null)
        } else {
            Value::Array(nodes.into_iter().cloned().collect())
        }
    }
}

/// Whether `text` is a singular query (RFC 9535 §2.3.5.1): only name and index
/// selectors, one per segment, no descendants. A conservative lexical check on a
/// path that already parsed: when unsure, it says "not singular".
fn is_singular(text: &str) -> bool {
    let b = text.as_bytes();
    if b.first() != Some(&b'$') {
        return false;
    }
    let mut i = 1;
    while i < b.len() {
        match b[i] {
            b'.' => {
                i += 1;
                if i >= b.len() || b[i] == b'.' || b[i] == b'*' {
                    return false;
                }
                while i < b.len() && b[i] != b'.' && b[i] != b'[' {
                    i += 1;
                }
            }
            b'[' => {
                i += 1;
                while i < b.len() && b[i] == b' ' {
                    i += 1;
                }
                match b.get(i) {
                    Some(q @ (b'\'' | b'"')) => {
                        let q = *q;
                        i += 1;
                        while i < b.len() && b[i] != q {
                            if b[i] == b'\\' {
                                i += 1;
                            }
                            i += 1;
                        }
                        i += 1;
                    }
                    Some(c) if c.is_ascii_digit() || *c == b'-' => {
                        i += 1;
                        while i < b.len() && b[i].is_ascii_digit() {
                            i += 1;
                        }
                    }
                    _ => return false,
                }
                while i < b.len() && b[i] == b' ' {
                    i += 1;
                }
                if b.get(i) != Some(&b']') {
                    return false;
                }
                i += 1;
            }
            _ => return false,
        }
    }
    true
}

/// One failed expectation, in words.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure(pub String);

/// Checks `expected` values at `paths` against `body`.
pub fn check_jsonpaths(body: &Value, checks: &[(Path, Value)]) -> Vec<Failure> {
    let mut failures = Vec::new();
    for (path, expected) in checks {
        let actual = path.extract(body);
        if &actual != expected {
            failures.push(Failure(format!(
                "expected {} to be {}, got {}",
                path.text(),
                expected,
                actual
            )));
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn singular_paths_give_values_others_lists() {
        let doc = json!({"items": [{"id": 1, "s": "a"}, {"id": 2, "s": "b"}], "total": 2});
        let cases = [
            ("$.total", json!(2)),
            ("$.items[0].id", json!(1)),
            ("$['items'][-1].id", json!(2)),
            ("$.missing", Value::Null),
            ("$.items[*].id", json!([1, 2])),
            ("$..id", json!([1, 2])),
            ("$.items[?@.s=='b'].id", json!([2])),
            ("$.items[0:1].id", json!([1])),
        ];
        for (path, want) in cases {
            assert_eq!(Path::parse(path).unwrap().extract(&doc), want, "{path}");
        }
    }

    #[test]
    fn take_moves_the_selected_nodes_out() {
        let mut doc = json!({"items": [{"id": 1}, {"id": 2}], "next": "x"});
        let items = Path::parse("$.items").unwrap().take(&mut doc);
        assert_eq!(items, vec![json!([{"id": 1}, {"id": 2}])]);
        assert_eq!(doc, json!({"items": null, "next": "x"}));
        let mut doc = json!({"a": [{"id": 1}, {"id": 2}]});
        assert_eq!(
            Path::parse("$.a[*].id").unwrap().take(&mut doc),
            vec![json!(1), json!(2)]
        );
    }

    #[test]
    fn invalid_paths_are_errors() {
        for bad in ["items", "$.items[", "$[?@.a ==]", " $"] {
            assert!(Path::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn expectations_report_each_mismatch() {
        let doc = json!({"total_items": 250, "ok": true});
        let checks = vec![
            (Path::parse("$.total_items").unwrap(), json!(250)),
            (Path::parse("$.ok").unwrap(), json!(false)),
        ];
        let f = check_jsonpaths(&doc, &checks);
        assert_eq!(
            f,
            vec![Failure("expected $.ok to be false, got true".into())]
        );
    }
}
