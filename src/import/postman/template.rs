//! Postman's `{{var}}` text as runner templates: variables become `{{ var }}`
//! (a few dynamic variables their runner equivalents), everything else literal.

use serde_json::Value;

use crate::import::mirror::{Literal, LiteralValue};
use crate::import::text::{ident, var_template};

/// Whether `name` (between `{{` and `}}`) reads as a Postman variable: letters,
/// digits, `_ - . $` and spaces. Anything else (`env('HOME')`, `1 + 2`) is text
/// Postman would send as it is, and so does runner.
fn is_variable(name: &str) -> bool {
    let name = name.trim();
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '$' | ' '))
}

/// Postman text as a template: `{{var}}` becomes `{{ var }}`, the rest literal.
pub fn template(s: &str) -> Literal {
    let mut out = Literal::default();
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else {
            break;
        };
        let name = &rest[start + 2..start + 2 + len];
        if !is_variable(name) {
            out.push_text(&rest[..start + 1]);
            rest = &rest[start + 1..];
            continue;
        }
        out.push_text(&rest[..start]);
        // Postman's dynamic variables (`{{$guid}}`) have runner equivalents for some.
        let expr = match name.trim() {
            "$guid" | "$randomUUID" => "uuid()".to_string(),
            "$isoTimestamp" => "now()".to_string(),
            n => ident(n),
        };
        out.push(&var_template(&expr));
        rest = &rest[start + 2 + len + 2..];
    }
    out.push_text(rest);
    out
}

/// A JSON value with every string (and key) a [`template`].
pub(super) fn template_value(v: &Value) -> LiteralValue {
    LiteralValue::with(v, &template)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_become_templates() {
        let t = |s: &str| template(s).as_str().to_string();
        assert_eq!(t("{{host}}/a/{{the id}}"), "{{ host }}/a/{{ the_id }}");
        assert_eq!(t("x-{{$guid}}"), "x-{{ uuid() }}");
        assert_eq!(t("{{unclosed"), "{{ '{' }}{unclosed");
        assert_eq!(t("{{}}"), "{{ '{' }}{}}");
        assert_eq!(
            t("{{ env('HOME') }}{{a}}"),
            "{{ '{' }}{ env('HOME') }}{{ a }}"
        );
        assert_eq!(t("{{{a}}"), "{{ '{' }}{{ a }}");
    }
}
