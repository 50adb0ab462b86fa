//! Postman's `{{var}}` text as runner templates: variables become `{{ var }}`
//! (a few dynamic variables their runner equivalents), everything else literal.

use serde_json::Value;

use crate::import::text::{ident, literal, var_template};

/// Postman text as a template: `{{var}}` becomes `{{ var }}`, the rest literal.
pub fn template(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else {
            break;
        };
        let name = &rest[start + 2..start + 2 + len];
        if name.is_empty() || name.contains('{') {
            break;
        }
        out.push_str(&literal(&rest[..start]));
        // Postman's dynamic variables (`{{$guid}}`) have runner equivalents for some.
        let expr = match name.trim() {
            "$guid" | "$randomUUID" => "uuid()".to_string(),
            "$isoTimestamp" => "now()".to_string(),
            n => ident(n),
        };
        out.push_str(&var_template(&expr));
        rest = &rest[start + 2 + len + 2..];
    }
    out.push_str(&literal(rest));
    out
}

/// A JSON value with every string (and key) a [`template`].
pub(super) fn template_value(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(template(s)),
        Value::Array(a) => Value::Array(a.iter().map(template_value).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (template(k), template_value(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_become_templates() {
        assert_eq!(
            template("{{host}}/a/{{the id}}"),
            "{{ host }}/a/{{ the_id }}"
        );
        assert_eq!(template("x-{{$guid}}"), "x-{{ uuid() }}");
        assert_eq!(template("{{unclosed"), "{% raw %}{{unclosed{% endraw %}");
        assert_eq!(template("{{}}"), "{% raw %}{{}}{% endraw %}");
    }
}
