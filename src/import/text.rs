//! Text from another tool made fit for runner's files: template variable and file
//! names, `env()` and `{{ var }}` templates, literal text that MiniJinja must not read,
//! and one-line comments.

use serde::Serialize;
use serde_json::Value;

/// Text for a field runner reads as a template: text from another tool escaped so
/// that it renders to itself, a template the importer wrote (`env()`, `{{ var }}`),
/// or pieces of both. The mirrors of the file formats take this type for every
/// templated field, so imported text cannot be written there unescaped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Literal(String);

impl Serialize for Literal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.written())
    }
}

impl Literal {
    /// Text from another tool, escaped: each `{` that starts `{{`, `{%` or `{#`
    /// becomes `{{ '{' }}`, so MiniJinja prints the text as it is. A trailing line
    /// break, which MiniJinja drops from a template, is doubled.
    pub fn text(s: &str) -> Literal {
        let mut out = Literal::default();
        out.push_text(s);
        out
    }

    /// `{{ expr }}`, written by the importer (`expr` is its own: a variable name, a
    /// function call of its own making).
    fn template(expr: &str) -> Literal {
        Literal(format!("{{{{ {expr} }}}}"))
    }

    /// Appends text from another tool, escaped as [`Literal::text`] does.
    pub fn push_text(&mut self, s: &str) {
        self.guard(s);
        let b = s.as_bytes();
        let mut from = 0;
        for (i, &c) in b.iter().enumerate() {
            if c == b'{' && matches!(b.get(i + 1), Some(b'{' | b'%' | b'#')) {
                self.0.push_str(&s[from..i]);
                self.0.push_str("{{ '{' }}");
                from = i + 1;
            }
        }
        self.0.push_str(&s[from..]);
    }

    /// Appends another literal (a template of the importer's, or escaped text).
    pub fn push(&mut self, other: &Literal) {
        self.guard(&other.0);
        self.0.push_str(&other.0);
    }

    /// Escapes a `{` that ends the text so far when `next` would make it start a
    /// delimiter (`a{` then `{b`). Only text ends with `{`: templates and escapes end
    /// with `}}`.
    fn guard(&mut self, next: &str) {
        if next.starts_with(['{', '%', '#']) && self.0.ends_with('{') {
            self.0.pop();
            self.0.push_str("{{ '{' }}");
        }
    }

    /// The text as written into the file.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The text as it goes into a file: MiniJinja drops one trailing line break of a
    /// template, so a template that ends with one gets a second.
    fn written(&self) -> std::borrow::Cow<'_, str> {
        if self.0.ends_with('\n') && crate::project::template::has_markup(&self.0) {
            format!("{}\n", self.0).into()
        } else {
            self.0.as_str().into()
        }
    }
}

/// A JSON value for a templated field (a JSON body, a form or query value, a
/// profile variable): every string in it, and every key of its objects, a
/// [`Literal`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct LiteralValue(Value);

impl LiteralValue {
    /// A value from another tool, every string and key escaped.
    pub fn of(v: &Value) -> LiteralValue {
        LiteralValue::with(v, &Literal::text)
    }

    /// `v` with `f` made of every string and key (Postman's text is a template of
    /// its own).
    pub fn with(v: &Value, f: &dyn Fn(&str) -> Literal) -> LiteralValue {
        fn walk(v: &Value, f: &dyn Fn(&str) -> Literal) -> Value {
            match v {
                Value::String(s) => Value::String(f(s).written().into_owned()),
                Value::Array(a) => Value::Array(a.iter().map(|v| walk(v, f)).collect()),
                Value::Object(m) => Value::Object(
                    m.iter()
                        .map(|(k, v)| (f(k).written().into_owned(), walk(v, f)))
                        .collect(),
                ),
                other => other.clone(),
            }
        }
        LiteralValue(walk(v, f))
    }

    /// A list of values (a query parameter given more than once).
    pub fn list(items: Vec<LiteralValue>) -> LiteralValue {
        LiteralValue(Value::Array(items.into_iter().map(|i| i.0).collect()))
    }

    /// The value as written into the file.
    pub fn as_value(&self) -> &Value {
        &self.0
    }

    /// The value taken back, to append to (see [`LiteralValue::list`]).
    pub fn into_items(self) -> Vec<LiteralValue> {
        match self.0 {
            Value::Array(a) => a.into_iter().map(LiteralValue).collect(),
            other => vec![LiteralValue(other)],
        }
    }
}

impl From<Literal> for LiteralValue {
    fn from(l: Literal) -> LiteralValue {
        LiteralValue(Value::String(l.written().into_owned()))
    }
}

/// `{{ env('NAME') }}`, or with a default.
pub fn env_template(name: &str, default: Option<&str>) -> Literal {
    match default {
        None => Literal::template(&format!("env('{name}')")),
        Some(d) => Literal::template(&format!("env('{name}', '{d}')")),
    }
}

/// `{{ name }}`.
pub fn var_template(name: &str) -> Literal {
    Literal::template(name)
}

/// Text from another tool as a [`Literal`].
pub fn literal(s: &str) -> Literal {
    Literal::text(s)
}

/// Whether a file path named by another tool leaves the project: absolute (`/x`,
/// `\\x`, `C:x`, `~/x`) or climbing out with `..`.
pub fn leaves_project(path: &str) -> bool {
    let p = path.trim();
    let drive = p.len() >= 2 && p.as_bytes()[1] == b':' && p.as_bytes()[0].is_ascii_alphabetic();
    p.starts_with(['/', '\\', '~']) || drive || p.split(['/', '\\']).any(|seg| seg == "..")
}

/// A file path named by another tool, for a request file's file field: as it is
/// when it stays inside the project; else the template variable `var`, with a
/// comment naming the source and a line for the summary, so that no import reads a
/// file the user did not name.
pub fn file_field(
    path: &str,
    var: &str,
    comments: &mut Vec<String>,
    summary: &mut Vec<String>,
) -> Literal {
    if !leaves_project(path) {
        return literal(path);
    }
    let shown = one_line(path, 200);
    comments.push(format!("set {var}: the source named {shown}"));
    summary.push(format!(
        "file {shown}: outside the project, read from the variable {var} instead (--var {var}=PATH)"
    ));
    var_template(var)
}

/// The user information of an absolute URL's authority (`user:password` of
/// `https://user:password@host/`), and the URL without it. `None` when there is none.
pub fn split_userinfo(url: &str) -> Option<(String, String)> {
    let scheme_end = url.find("://")? + 3;
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let at = rest[..authority_end].rfind('@')?;
    let info = rest[..at].to_string();
    let without = format!("{}{}", &url[..scheme_end], &rest[at + 1..]);
    Some((info, without))
}

/// `url` with any user information shown as `***`, for messages.
pub fn mask_userinfo(url: &str) -> String {
    if !url.contains("://") {
        // `user:pw@proxy:8080`, as curl's `-x` takes it.
        return mask_userinfo(&format!("://{url}"))[3..].to_string();
    }
    match split_userinfo(url) {
        Some((_, without)) => {
            let scheme_end = without.find("://").map_or(0, |i| i + 3);
            format!("{}***@{}", &without[..scheme_end], &without[scheme_end..])
        }
        None => url.to_string(),
    }
}

/// Registers the parts of a URL's user information (`user:password`, each
/// percent-decoded) with the masking point.
pub fn register_userinfo(info: &str) {
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let (user, password) = info.split_once(':').unwrap_or((info, ""));
    crate::secret::register(info);
    crate::secret::register(password);
    crate::secret::register_basic(&decode(user), &decode(password));
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
/// `PET_STORE`), `API` when nothing is left: the title's first words, whole words
/// only, up to a joining word (`Spotify Web API with fixes` → `SPOTIFY_WEB_API`),
/// at most four words and 24 characters.
pub fn env_prefix(s: &str) -> String {
    const JOINING: &[&str] = &[
        "with", "for", "and", "from", "of", "the", "by", "in", "on", "to", "a", "an", "or",
    ];
    let mut p = String::new();
    let words = s
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase);
    for (i, word) in words.enumerate() {
        if i >= 4 || (i > 0 && JOINING.contains(&word.as_str())) || p.len() + 1 + word.len() > 24 {
            break;
        }
        if !p.is_empty() {
            p.push('_');
        }
        p.push_str(&word.to_ascii_uppercase());
    }
    if p.is_empty() || p.starts_with(|c: char| c.is_ascii_digit()) {
        p.insert_str(0, "API");
        if p.len() > 3 {
            p.insert(3, '_');
        }
    }
    p
}

/// Documentation text (HTML or Markdown) as plain text for a description: tags
/// and Markdown emphasis gone, links reduced to their text, the common entities
/// decoded, the first paragraph only, on one line of at most `max` characters.
pub fn plain_text(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if c == '<'
            && let Some(end) = rest.find('>')
            && rest[1..end].chars().all(|c| c != '<' && c != '\n')
            && rest[1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!')
        {
            // A paragraph or line break tag ends the paragraph.
            let tag = rest[1..end].trim_start_matches('/').to_ascii_lowercase();
            if tag.starts_with('p') || tag.starts_with("br") {
                out.push_str("\n\n");
            }
            rest = &rest[end + 1..];
            continue;
        }
        if c == '['
            && let Some(close) = rest.find("](")
            && let Some(end) = rest[close..].find(')')
            && !rest[1..close].contains('\n')
        {
            out.push_str(&rest[1..close]);
            rest = &rest[close + end + 1..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    for (entity, c) in [
        ("&nbsp;", " "),
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", "\""),
        ("&#39;", "'"),
        ("&apos;", "'"),
        ("&amp;", "&"),
    ] {
        out = out.replace(entity, c);
    }
    // Emphasis and code marks go; a list starts a new paragraph.
    let out = out
        .replace(['*', '`'], "")
        .replace("\n- ", "\n\n")
        .replace("\n  - ", "\n\n");
    let first = out
        .split("\n\n")
        .map(|p| p.trim_start_matches(['#', ' ', '\n']).trim())
        .find(|p| !p.is_empty())
        .unwrap_or_default();
    one_line(first, max)
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
        assert_eq!(
            env_prefix("Spotify Web API with fixes and improvements from sonallux"),
            "SPOTIFY_WEB_API"
        );
        assert_eq!(env_prefix("GitHub v3 REST API"), "GITHUB_V3_REST_API");
        assert_eq!(env_prefix("Twilio - Api"), "TWILIO_API");
        assert_eq!(
            env_prefix("Supercalifragilistic Expialidocious API"),
            "SUPERCALIFRAGILISTIC"
        );
        assert_eq!(env_prefix("1Password"), "API_1PASSWORD");
        assert_eq!(env_prefix(""), "API");
    }

    #[test]
    fn descriptions_become_plain_text() {
        assert_eq!(
            plain_text(
                "<p>Retrieves the <a href=\"/x\">customer</a> &amp; more.</p><p>Second.</p>",
                200
            ),
            "Retrieves the customer & more."
        );
        assert_eq!(
            plain_text(
                "Lists [repositories](https://docs.github.com/x) for **you**.\n\nMore text.",
                200
            ),
            "Lists repositories for you."
        );
        assert_eq!(plain_text("a < b and c > d", 200), "a < b and c > d");
        assert_eq!(plain_text("## Title\n\nbody", 200), "Title");
        assert_eq!(plain_text("", 200), "");
        assert_eq!(
            plain_text("Creates a *file*:\n- *Maximum size:* 5 GB\n- `*/*`", 200),
            "Creates a file:"
        );
    }

    #[test]
    fn literal_text_is_not_a_template() {
        assert_eq!(literal("a {b} c").as_str(), "a {b} c");
        assert_eq!(literal("{{x}}").as_str(), "{{ '{' }}{x}}");
        assert_eq!(literal("a{%b{#c").as_str(), "a{{ '{' }}%b{{ '{' }}#c");
        let mut joined = literal("a{");
        joined.push_text("{b");
        joined.push_text("{");
        joined.push(&var_template("v"));
        assert_eq!(joined.as_str(), "a{{ '{' }}{b{{ '{' }}{{ v }}");
    }

    /// Through the real renderer: every string, and every value, renders to itself.
    #[test]
    fn literal_text_renders_to_itself() {
        use crate::project::template::{Origin, Renderer, Vars};
        use std::path::Path;
        let r = Renderer::new();
        let origin = Origin {
            path: Path::new("x.yaml"),
            source: "",
            line: 1,
            column: 1,
        };
        let nasty = [
            "{{ env('HOME') }}",
            "{{ file('/etc/passwd') }}",
            "{% for i in range(3) %}x{% endfor %}",
            "{# note #}",
            "{% raw %}a{% endraw %}",
            "{{-x-}}",
            "{{",
            "{{{",
            "a{{b",
            "}}",
            "%}",
            "#}",
            "{{ '{' }}",
            "{{}}",
            "}}{{",
            " {{ 5 }} ",
            "{{ 5 }}",
            "{{x}}\n",
            "{{x}}\r\n",
            "{{x}}\n\n",
            "line\n{%- if true -%}\n",
            "& < > \" ' \\ % + / = : é",
            "plain\n",
            "",
        ];
        for s in nasty {
            let written = LiteralValue::from(literal(s));
            let got = r
                .render_value(written.as_value(), &Vars::new(), Path::new("."), origin)
                .unwrap_or_else(|e| panic!("{s:?}: {}", e.message));
            assert_eq!(got, Value::String(s.to_string()), "{s:?} as {written:?}");
        }
        let v = serde_json::json!({
            "{{ env('PATH') }}": ["{% if 1 %}x{% endif %}", 1, true, null, {"{#": "#}"}],
            "n": 2.5
        });
        let written = LiteralValue::of(&v);
        let got = r
            .render_value(written.as_value(), &Vars::new(), Path::new("."), origin)
            .unwrap();
        assert_eq!(got, v);
    }

    #[test]
    fn paths_that_leave_the_project() {
        for p in [
            "/etc/passwd",
            "../x",
            "a/../../b",
            "C:\\x",
            "\\\\srv\\x",
            "~/x",
        ] {
            assert!(leaves_project(p), "{p}");
        }
        for p in ["data.json", "files/a..b", "./x"] {
            assert!(!leaves_project(p), "{p}");
        }
    }

    #[test]
    fn userinfo_is_split_and_masked() {
        assert_eq!(
            split_userinfo("https://bob:hunter2@host/a@b"),
            Some(("bob:hunter2".into(), "https://host/a@b".into()))
        );
        assert_eq!(split_userinfo("https://host/a@b"), None);
        assert_eq!(
            mask_userinfo("http://u:p@proxy:8080"),
            "http://***@proxy:8080"
        );
        assert_eq!(mask_userinfo("proxy:8080"), "proxy:8080");
        assert_eq!(mask_userinfo("u:p@proxy"), "***@proxy");
    }
}
