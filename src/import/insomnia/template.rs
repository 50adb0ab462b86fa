//! Insomnia's Nunjucks text as runner templates: `{{ _.var }}` (and `{{ var }}`,
//! `{{ _['var'] }}`) becomes `{{ var }}`, the tags that map (`{% uuid %}`,
//! `{% now %}`, `{% timestamp %}`) runner's functions; every other tag
//! (`{% response … %}`, `{% prompt … %}`…) stays text, with a note.

use std::cell::RefCell;

use crate::import::mirror::Literal;
use crate::import::text::{ident, one_line, var_template};
use crate::import::tree::Dialect;

/// The dialect, and the tags it met that have no runner equivalent.
#[derive(Debug, Default)]
pub struct Nunjucks {
    pub unmapped: RefCell<Vec<String>>,
}

/// A variable reference inside `{{ }}`: `_.a.b`, `a`, `_['a-b']`; `None` for
/// anything else (filters, expressions), which is text.
fn variable(inner: &str) -> Option<String> {
    let s = inner.trim();
    let s = s.strip_prefix("_.").unwrap_or(s);
    if let Some(q) = s.strip_prefix("_[") {
        let name = q.strip_suffix(']')?.trim().trim_matches(['\'', '"']);
        return (!name.is_empty() && !name.contains(['\'', '"'])).then(|| ident(name));
    }
    let ok = !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-'));
    ok.then(|| ident(s))
}

/// What a `{% tag args %}` becomes, `None` when runner has no equivalent.
fn tag(inner: &str) -> Option<&'static str> {
    let s = inner.trim();
    let (name, args) = s.split_once(char::is_whitespace).unwrap_or((s, ""));
    let first = args
        .split(',')
        .next()
        .unwrap_or_default()
        .trim()
        .trim_matches(['\'', '"']);
    match (name, first) {
        ("uuid", "" | "v4") => Some("uuid()"),
        ("now", "" | "iso-8601") => Some("now()"),
        ("now", "unix") | ("timestamp", _) => Some("timestamp()"),
        _ => None,
    }
}

impl Dialect for Nunjucks {
    fn template(&self, s: &str, notes: &mut Vec<String>) -> Literal {
        let mut out = Literal::default();
        let mut rest = s;
        loop {
            let next = [rest.find("{{"), rest.find("{%")]
                .into_iter()
                .flatten()
                .min();
            let Some(start) = next else { break };
            let is_tag = rest[start..].starts_with("{%");
            let close = if is_tag { "%}" } else { "}}" };
            let Some(len) = rest[start + 2..].find(close) else {
                break;
            };
            let inner = &rest[start + 2..start + 2 + len];
            let whole = &rest[start..start + 2 + len + 2];
            let made = if is_tag {
                tag(inner).map(var_template)
            } else {
                variable(inner).map(|v| var_template(&v))
            };
            out.push_text(&rest[..start]);
            match made {
                Some(l) => out.push(&l),
                None => {
                    let shown = one_line(whole, 120);
                    notes.push(format!("{shown}: no runner equivalent, sent as written"));
                    let mut u = self.unmapped.borrow_mut();
                    if !u.contains(&shown) {
                        u.push(shown);
                    }
                    out.push_text(whole);
                }
            }
            rest = &rest[start + 2 + len + 2..];
        }
        out.push_text(rest);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_variables() {
        let d = Nunjucks::default();
        let mut notes = Vec::new();
        let mut t = |s: &str| d.template(s, &mut notes).as_str().to_string();
        assert_eq!(
            t("{{ _.base_url }}/a/{{id}}?x={{ _['api-ver'] }}"),
            "{{ base_url_ }}/a/{{ id }}?x={{ api_ver }}"
        );
        assert_eq!(
            t("{% uuid 'v4' %} {% now 'iso-8601', '' %} {% now 'unix' %}"),
            "{{ uuid() }} {{ now() }} {{ timestamp() }}"
        );
        assert_eq!(
            t("{% response 'body', 'req_1', 'b64::JC5pZA==::46b', 'never', 60 %}"),
            "{{ '{' }}% response 'body', 'req_1', 'b64::JC5pZA==::46b', 'never', 60 %}"
        );
        assert_eq!(t("{{ 1 + 2 }}"), "{{ '{' }}{ 1 + 2 }}");
        assert_eq!(t("{{ _.api.url }}"), "{{ api_url }}");
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert_eq!(d.unmapped.borrow().len(), 2);
    }
}
