//! JSON Schema checks (`expect.schema`): a schema compiled once, and a body checked
//! against it with each place that does not match said. Loading the schema file is
//! the caller's business.

use std::sync::Arc;

use serde_json::Value;

use super::Checked;
use super::Failure;
use super::predicate::cut;
use crate::project::place::Place;

/// A JSON Schema compiled once, and where the file named it.
#[derive(Clone)]
pub struct Schema {
    pub place: Place,
    /// The schema file (with `#pointer` for one inside an OpenAPI document).
    pub name: String,
    pub validator: Arc<jsonschema::Validator>,
}

impl std::fmt::Debug for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Schema").field("name", &self.name).finish()
    }
}

/// `schema` compiled, as `expect.schema` compiles it.
pub fn validator(schema: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::options()
        .build(schema)
        .map_err(|e| e.to_string())
}

impl Schema {
    /// Compiles `schema` (its `$schema` picks the draft; 2020-12 when absent).
    pub fn compile(place: Place, name: String, schema: &Value) -> Result<Schema, String> {
        let validator =
            validator(schema).map_err(|e| format!("invalid JSON Schema {name}: {e}"))?;
        Ok(Schema {
            place,
            name,
            validator: Arc::new(validator),
        })
    }
}

/// `json` (`None`: the body is not JSON) checked against `schema`.
pub(super) fn check_schema(schema: &Schema, json: Option<&Value>) -> Checked {
    const MAX_SHOWN: usize = 10;
    let name = format!("schema {}", schema.name);
    let place = schema.place.clone();
    let Some(body) = json else {
        return Checked {
            name,
            failures: vec![Failure {
                predicate: "schema".into(),
                expected: "a JSON body".into(),
                actual: "a body that is not JSON".into(),
                message: format!(
                    "{place}: expected a JSON body to check against {}",
                    schema.name
                ),
            }],
            place,
        };
    };
    let mut failures = Vec::new();
    let mut errors = schema.validator.iter_errors(body);
    for e in errors.by_ref().take(MAX_SHOWN) {
        let (at, rule, why) = described(&e);
        let at = if at.is_empty() { "/".to_string() } else { at };
        let why = cut(&why);
        failures.push(Failure {
            predicate: format!("schema {rule}"),
            expected: rule.clone(),
            actual: why.clone(),
            message: format!(
                "{place}: the body does not match {} at {at}: {why} (rule {rule})",
                schema.name
            ),
        });
    }
    let more = errors.count();
    if more > 0 {
        failures.push(Failure {
            predicate: "schema".into(),
            expected: String::new(),
            actual: format!("{more} more errors"),
            message: format!(
                "{place}: … and {more} more places that do not match {}",
                schema.name
            ),
        });
    }
    Checked {
        place,
        name,
        failures,
    }
}

/// Where an error is, the rule it breaks, and why: an error met through a shared
/// document's `$ref` keyword carries the place below the `$ref` and the rule's
/// pointer in the document in its message.
fn described(e: &jsonschema::ValidationError<'_>) -> (String, String, String) {
    use crate::project::shared_document::{REF_KEYWORD, split};
    let at = e.instance_path().to_string();
    match e.kind() {
        jsonschema::error::ValidationErrorKind::Custom { keyword, message }
            if keyword == REF_KEYWORD =>
        {
            let (below, rule, why) = split(message);
            (format!("{at}{below}"), rule.to_string(), why.to_string())
        }
        _ => (at, e.schema_path().to_string(), e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schema_failures_name_the_instance_path_and_rule() {
        let schema =
            json!({"type": "object", "required": ["id"], "properties": {"n": {"type": "integer"}}});
        let s = Schema::compile(Place::new("r.yaml", 3, 9), "s.json".into(), &schema).unwrap();
        let c = check_schema(&s, Some(&json!({"n": "x"})));
        assert_eq!(c.failures.len(), 2, "{c:?}");
        let text: Vec<&str> = c.failures.iter().map(|f| f.message.as_str()).collect();
        assert!(
            text.iter().any(|m| m
                .starts_with("r.yaml:3:9: the body does not match s.json at /n: ")
                && m.contains("rule /properties/n/type")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|m| m.contains("at /: ") && m.contains("\"id\" is a required property")),
            "{text:?}"
        );
        assert!(check_schema(&s, Some(&json!({"id": 1, "n": 2}))).passed());
    }
}
