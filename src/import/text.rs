//! Text from another tool made fit for runner's files: template variable and file
//! names, `env()` and `{{ var }}` templates, literal text that MiniJinja must not read,
//! and one-line comments.

use serde_json::Value;

/// `{{ env('NAME') }}`, or with a default.
pub fn env_template(name: &str, default: Option<&str>) -> String {
    match default {
        None => format!("{{{{ env('{name}') }}}}"),
        Some(d) => format!("{{{{ env('{name}', '{d}') }}}}"),
    }
}

/// `{{ name }}`.
pub fn var_template(name: &str) -> String {
    format!("{{{{ {name} }}}}")
}

/// Text from another tool, made safe to keep as a template: any `{`, `%` or `#`
/// markup would otherwise be read as MiniJinja, so such text is wrapped in a `raw`
/// block (or, when it names `endraw` itself, each `{` becomes `{{ '{' }}`).
pub fn literal(s: &str) -> String {
    if !crate::project::template::has_markup(s) {
        return s.to_string();
    }
    if s.contains("endraw") {
        s.replace('{', "{{ '{' }}")
    } else {
        format!("{{% raw %}}{s}{{% endraw %}}")
    }
}

/// A JSON value from another tool with every string (and key) made [`literal`].
pub fn literal_value(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(literal(s)),
        Value::Array(a) => Value::Array(a.iter().map(literal_value).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (literal(k), literal_value(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "not",
    "in",
    "is",
    "if",
    "else",
    "elif",
    "true",
    "false",
    "none",
    "True",
    "False",
    "None",
    "loop",
    "self",
    "for",
    "endfor",
    "with",
    "recursive",
    "import",
    "from",
    "as",
    "set",
    "block",
    "macro",
    "call",
    "filter",
    "extends",
    "include",
];

/// `s` as a template variable name: ASCII letters, digits and `_`, not starting with
/// a digit, not a keyword, never empty.
pub fn ident(s: &str) -> String {
    let mut out = snake(s);
    if out.is_empty() {
        out.push_str("value");
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if KEYWORDS.contains(&out.as_str()) || out == "base_url" {
        out.push('_');
    }
    out
}

/// `s` in snake_case, ASCII only: `getPetById` → `get_pet_by_id`, `/pets/{id}` →
/// `pets_id`. Possibly empty.
pub fn snake(s: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && prev_lower && !out.ends_with('_') {
                out.push('_');
            }
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            out.push(c.to_ascii_lowercase());
        } else {
            prev_lower = false;
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    // File names stay short enough for every file system.
    if out.len() > 80 {
        out.truncate(80);
        while out.ends_with('_') {
            out.pop();
        }
    }
    out
}

/// `s` as the upper-case prefix of environment variable names (`Pet Store` →
/// `PET_STORE`), `API` when nothing is left.
pub fn env_prefix(s: &str) -> String {
    let mut p = snake(s).to_ascii_uppercase();
    p.truncate(30);
    while p.ends_with('_') {
        p.pop();
    }
    if p.is_empty() || p.starts_with(|c: char| c.is_ascii_digit()) {
        p.insert_str(0, "API");
        if p.len() > 3 {
            p.insert(3, '_');
        }
    }
    p
}

/// One line of free text for a `#` comment or a description: no line breaks, no
/// control characters, at most `max` characters.
pub fn one_line(s: &str, max: usize) -> String {
    let mut out: String = s
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .take(max)
        .collect();
    if s.chars().count() > max {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for (input, want) in [
            ("getPetById", "get_pet_by_id"),
            ("/pets/{petId}", "pets_pet_id"),
            ("list-Users.v2", "list_users_v2"),
            ("", ""),
            ("ÄÖ", ""),
            ("HTTPServer", "httpserver"),
        ] {
            assert_eq!(snake(input), want, "{input}");
        }
        assert_eq!(ident("in"), "in_");
        assert_eq!(ident("2fa"), "_2fa");
        assert_eq!(ident("---"), "value");
        assert_eq!(env_prefix("Swagger Petstore"), "SWAGGER_PETSTORE");
        assert_eq!(env_prefix("1Password"), "API_1_PASSWORD");
        assert_eq!(env_prefix(""), "API");
    }

    #[test]
    fn literal_text_is_not_a_template() {
        assert_eq!(literal("a {b} c"), "a {b} c");
        assert_eq!(literal("{{x}}"), "{% raw %}{{x}}{% endraw %}");
        assert_eq!(literal("{{endraw}}"), "{{ '{' }}{{ '{' }}endraw}}");
    }
}
