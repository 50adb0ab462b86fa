//! JSONPath extraction and expectations (RFC 9535 via `serde_json_path`). Pure:
//! paths are compiled once at load time and applied to parsed bodies.
//!
//! `one_pass` evaluates a path over a JSON text without parsing all of it, for
//! large bodies.

mod one_pass;

use serde_json::Value;
use serde_json_path::JsonPath;

use self::one_pass::Plan;
pub(crate) use self::one_pass::scalars_select_nothing;

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
    plan: Option<Plan>,
}

impl Path {
    pub fn parse(text: &str) -> Result<Path, ExtractError> {
        let compiled = parse_query(text).map_err(|reason| ExtractError {
            path: text.to_string(),
            reason,
        })?;
        Ok(Path {
            text: text.to_string(),
            plan: Plan::new(text, &compiled),
            compiled,
            singular: is_singular(text),
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the path selects at most one node (then it gives a value, else a list).
    pub fn is_singular(&self) -> bool {
        self.singular
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
        self.shape(self.nodes(value).into_iter().cloned().collect())
    }

    /// What [`Path::extract`] gives for the JSON text `json`, without parsing all of
    /// it into a tree when the path allows (a large response's memory is then the
    /// text and the nodes selected). `None` when `json` is not valid JSON.
    pub fn extract_json(&self, json: &[u8]) -> Option<Value> {
        let nodes = match &self.plan {
            Some(plan) => plan.run(json)?,
            None => {
                let value: Value = serde_json::from_slice(json).ok()?;
                self.nodes(&value).into_iter().cloned().collect()
            }
        };
        Some(self.shape(nodes))
    }

    /// Whether [`Path::extract_json`] evaluates this path in one pass, without a tree.
    pub fn is_one_pass(&self) -> bool {
        self.plan.is_some()
    }

    fn shape(&self, mut nodes: Vec<Value>) -> Value {
        if self.singular {
            if nodes.is_empty() {
                Value::Null
            } else {
                nodes.swap_remove(0)
            }
        } else {
            Value::Array(nodes)
        }
    }
}

/// `JsonPath::parse`, minus its one panic: serde_json_path 0.7.2 parses `\u` escapes
/// with a streaming `nom` parser, and a path that ends inside one (`$["\u`) reaches
/// an `unreachable!`. Only an unclosed string can end there, and no valid path has
/// one, so those are refused first.
pub(super) fn parse_query(text: &str) -> Result<JsonPath, String> {
    let mut open: Option<(char, usize)> = None;
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match (open, c) {
            (None, '\'' | '"') => open = Some((c, i)),
            (Some(_), '\\') => {
                chars.next();
            }
            (Some((q, _)), c) if c == q => open = None,
            _ => {}
        }
    }
    if let Some((_, at)) = open {
        return Err(format!(
            "the string literal at position {} is not closed",
            at + 1
        ));
    }
    JsonPath::parse(text).map_err(|e| e.to_string())
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
    fn one_pass_extraction_matches_the_tree() {
        let doc = json!({
            "total": 3,
            "items": [
                {"id": 1, "status": "active", "tags": ["a", "b"]},
                {"id": 2, "status": "retired", "tags": []},
                {"id": 3, "status": "active", "tags": ["c"], "nested": {"id": 9}}
            ],
            "by_key": {"x": {"id": 10}, "y": {"id": 11}},
            "it's": {"n": 1},
            "scalar": 5
        });
        let text = serde_json::to_vec(&doc).unwrap();
        let cases = [
            ("$.items[?@.status=='active'].id", true),
            ("$['items'][?@.status == 'active'].tags[*]", true),
            ("$.items[*].id", true),
            ("$.items.*..id", true),
            ("$.by_key.*.id", true),
            ("$.by_key[?@.id > 10]", true),
            ("$.items[1].status", true),
            ("$.items[7].id", true),
            ("$.items[-1].id", true),
            ("$.items[0:2].id", true),
            ("$.total", true),
            ("$[\"it's\"].n", true),
            ("$.scalar[*]", true),
            ("$.missing[?@.a].b", true),
            ("$..id", true),
            ("$", true),
            // Unions list selector by selector, and `$` inside a filter needs the root.
            ("$.items[?@.id==1, ?@.id==3].id", false),
            ("$.items[?@.id == $.total].status", false),
        ];
        for (path, planned) in cases {
            let p = Path::parse(path).unwrap();
            assert_eq!(p.plan.is_some(), planned, "{path}: {:?}", p.plan);
            assert_eq!(p.extract_json(&text), Some(p.extract(&doc)), "{path}");
        }
        let ids = Path::parse("$.items[?@.status=='active'].id").unwrap();
        assert_eq!(ids.extract_json(&text), Some(json!([1, 3])));
        assert_eq!(ids.extract_json(b"{\"items\": [1,"), None);
        assert_eq!(ids.extract_json(b"{} trailing"), None);
    }

    #[test]
    fn one_pass_extraction_keeps_the_last_of_duplicate_keys() {
        let text =
            br#"{"items": [{"id": 1}], "m": {"a": 1, "b": 2, "a": 3}, "items": [{"id": 2}]}"#;
        let doc: Value = serde_json::from_slice(text).unwrap();
        for path in ["$.items[*].id", "$.m.*", "$.m[?@ > 1]", "$.items[0].id"] {
            let p = Path::parse(path).unwrap();
            assert!(p.plan.is_some(), "{path}");
            assert_eq!(p.extract_json(text), Some(p.extract(&doc)), "{path}");
        }
    }

    #[test]
    fn invalid_paths_are_errors() {
        for bad in [
            "items",
            "$.items[",
            "$[?@.a ==]",
            " $",
            // Found by fuzzing: serde_json_path panics on these.
            "$[\"\\u",
            "$['\\uD83",
            "$[?@.a == 'x\\u",
            "$['a",
        ] {
            assert!(Path::parse(bad).is_err(), "{bad}");
        }
    }
}
