//! Bruno's `{{var}}` text as runner templates: variables become `{{ var }}`, the
//! dynamic ones that map (`{{$guid}}`, `{{$timestamp}}`…) runner's functions,
//! `{{process.env.NAME}}` a variable to set (never an `env()` the source names); the rest stays text, with a
//! note.

use std::cell::RefCell;

use crate::import::mirror::Literal;
use crate::import::text::{ident, one_line, var_template};
use crate::import::tree::Dialect;

#[derive(Debug, Default)]
pub struct Mustache {
    pub unmapped: RefCell<Vec<String>>,
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

impl Mustache {
    /// What `{{inner}}` becomes; `None` when it is text.
    fn expr(&self, inner: &str, notes: &mut Vec<String>) -> Option<Literal> {
        let inner = inner.trim();
        if let Some(name) = inner.strip_prefix("process.env.") {
            // Never an `env()` of a name the source chose: a variable the user sets.
            let var = ident(name);
            notes.push(format!(
                "{{{{process.env.{}}}}}: set {var} (--var {var}=\"${}\")",
                one_line(name, 60),
                one_line(name, 60)
            ));
            return Some(var_template(&var));
        }
        if let Some(d) = inner.strip_prefix('$') {
            let call = match d {
                "guid" | "randomUUID" => "uuid()",
                "timestamp" => "timestamp()",
                "isoTimestamp" => "now()",
                "randomInt" => "random_int()",
                _ => {
                    let shown = one_line(&format!("{{{{{inner}}}}}"), 100);
                    notes.push(format!("{shown}: no runner equivalent, sent as written"));
                    let mut u = self.unmapped.borrow_mut();
                    if !u.contains(&shown) {
                        u.push(shown);
                    }
                    return None;
                }
            };
            return Some(var_template(call));
        }
        is_name(inner).then(|| var_template(&ident(inner)))
    }
}

impl Dialect for Mustache {
    fn template(&self, s: &str, notes: &mut Vec<String>) -> Literal {
        let mut out = Literal::default();
        let mut rest = s;
        while let Some(start) = rest.find("{{") {
            let Some(len) = rest[start + 2..].find("}}") else {
                break;
            };
            match self.expr(&rest[start + 2..start + 2 + len], notes) {
                Some(l) => {
                    out.push_text(&rest[..start]);
                    out.push(&l);
                    rest = &rest[start + 2 + len + 2..];
                }
                None => {
                    let end = start + 2 + len + 2;
                    out.push_text(&rest[..end]);
                    rest = &rest[end..];
                }
            }
        }
        out.push_text(rest);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_and_dynamic_ones() {
        let d = Mustache::default();
        let mut notes = Vec::new();
        let mut t = |s: &str| d.template(s, &mut notes).as_str().to_string();
        assert_eq!(
            t("{{baseUrl}}/a/{{user-id}}"),
            "{{ base_url_ }}/a/{{ user_id }}"
        );
        assert_eq!(
            t("{{$guid}} {{$timestamp}} {{$isoTimestamp}} {{$randomInt}}"),
            "{{ uuid() }} {{ timestamp() }} {{ now() }} {{ random_int() }}"
        );
        assert_eq!(t("{{process.env.API_TOKEN}}"), "{{ api_token }}");
        assert_eq!(t("{{$randomFirstName}}"), "{{ '{' }}{$randomFirstName}}");
        assert_eq!(t("{{ env('HOME') }}"), "{{ '{' }}{ env('HOME') }}");
        assert_eq!(notes.len(), 2, "{notes:?}");
    }
}
