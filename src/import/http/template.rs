//! `.http` text as runner templates: `{{var}}` becomes `{{ var }}`, the dynamic
//! variables (`{{$uuid}}`, `{{$timestamp}}`, `{{$randomInt}}`…) runner's functions,
//! the rest literal. What has no equivalent stays text, with a note.

use std::collections::{BTreeSet, HashMap};

use crate::import::mirror::Literal;
use crate::import::text::{ident, one_line, var_template};

/// What converting the text of one request found.
#[derive(Debug, Default)]
pub struct Conv {
    /// File variables to write in place (their values differ between files).
    pub inline: HashMap<String, String>,
    /// Comments for the request file.
    pub notes: Vec<String>,
    /// The template variables the request uses.
    pub used: BTreeSet<String>,
    /// Set while expanding an inline variable, to stop a loop.
    pub(super) depth: usize,
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

impl Conv {
    /// `.http` text as a template.
    pub fn template(&mut self, s: &str) -> Literal {
        let mut out = Literal::default();
        let mut rest = s;
        while let Some(start) = rest.find("{{") {
            let Some(len) = rest[start + 2..].find("}}") else {
                break;
            };
            let inner = rest[start + 2..start + 2 + len].trim();
            match self.expr(inner) {
                Some(l) => {
                    out.push_text(&rest[..start]);
                    out.push(&l);
                    rest = &rest[start + 2 + len + 2..];
                }
                None => {
                    out.push_text(&rest[..start + 1]);
                    rest = &rest[start + 1..];
                }
            }
        }
        out.push_text(rest);
        out
    }

    /// What `{{inner}}` becomes, `None` when it is text (not the dialect's markup).
    fn expr(&mut self, inner: &str) -> Option<Literal> {
        if let Some(dynamic) = inner.strip_prefix('$') {
            return Some(self.dynamic(dynamic, inner));
        }
        let reference = inner.contains(".response.") || inner.contains(".request.");
        if !is_name(inner) && !reference {
            return None;
        }
        if let Some(value) = self.inline.get(inner).cloned()
            && self.depth < 16
        {
            self.depth += 1;
            let l = self.template(&value);
            self.depth -= 1;
            return Some(l);
        }
        if reference {
            let var = ident(inner);
            self.notes.push(format!(
                "{{{{{}}}}}: a value from another request's response: set {var} (--var {var}=…)",
                one_line(inner, 100)
            ));
            self.used.insert(var.clone());
            return Some(var_template(&var));
        }
        let var = ident(inner);
        self.used.insert(var.clone());
        Some(var_template(&var))
    }

    /// A dynamic variable (`$uuid`…): runner's function, a variable for the
    /// environment readers, or the text with a note.
    fn dynamic(&mut self, d: &str, whole: &str) -> Literal {
        let mut words = d.split_whitespace();
        let head = words.next().unwrap_or_default();
        let args: Vec<&str> = words.collect();
        let ints = |a: &[&str]| -> Option<(i64, i64)> {
            match a {
                [x, y] => Some((x.trim().parse().ok()?, y.trim().parse().ok()?)),
                _ => None,
            }
        };
        let call = match head {
            "uuid" | "guid" | "random.uuid" | "randomUUID" => Some("uuid()".to_string()),
            "timestamp" if args.is_empty() => Some("timestamp()".to_string()),
            "isoTimestamp" => Some("now()".to_string()),
            "randomInt" if args.is_empty() => Some("random_int()".to_string()),
            "randomInt" => ints(&args).map(|(a, b)| format!("random_int({a}, {b})")),
            _ => d
                .strip_prefix("random.integer(")
                .and_then(|r| r.strip_suffix(')'))
                .and_then(|r| ints(&r.split(',').collect::<Vec<_>>()))
                .map(|(a, b)| format!("random_int({a}, {b})")),
        };
        if let Some(call) = call {
            return var_template(&call);
        }
        let env_name = match head {
            "processEnv" | "dotenv" => args.first().map(|s| s.trim_start_matches('%')),
            _ => head.strip_prefix("env."),
        };
        if let Some(name) = env_name {
            let var = ident(name);
            self.notes.push(format!(
                "{{{{{}}}}} read the environment variable {}: set {var} (--var {var}=\"${}\")",
                one_line(whole, 100),
                one_line(name, 60),
                one_line(name, 60)
            ));
            self.used.insert(var.clone());
            return var_template(&var);
        }
        self.notes.push(format!(
            "{{{{{}}}}}: no runner equivalent, sent as written",
            one_line(whole, 100)
        ));
        Literal::text(&format!("{{{{{whole}}}}}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_and_dynamic_ones() {
        let mut c = Conv::default();
        c.inline.insert("inl".into(), "a-{{b}}".into());
        let mut t = |s: &str| c.template(s).as_str().to_string();
        assert_eq!(t("{{host}}/a/{{ the-id }}"), "{{ host }}/a/{{ the_id }}");
        assert_eq!(
            t("{{$uuid}} {{$random.uuid}} {{$guid}}"),
            "{{ uuid() }} {{ uuid() }} {{ uuid() }}"
        );
        assert_eq!(
            t("{{$timestamp}}|{{$isoTimestamp}}"),
            "{{ timestamp() }}|{{ now() }}"
        );
        assert_eq!(
            t("{{$randomInt}} {{$randomInt 1 9}}"),
            "{{ random_int() }} {{ random_int(1, 9) }}"
        );
        assert_eq!(t("{{$random.integer(2, 5)}}"), "{{ random_int(2, 5) }}");
        assert_eq!(t("{{$processEnv HOME}}"), "{{ home }}");
        assert_eq!(t("{{ env('HOME') }}"), "{{ '{' }}{ env('HOME') }}");
        assert_eq!(t("{{inl}}"), "a-{{ b }}");
        assert_eq!(t("{{$datetime iso8601}}"), "{{ '{' }}{$datetime iso8601}}");
        assert_eq!(c.notes.len(), 2, "{:?}", c.notes);
    }
}
