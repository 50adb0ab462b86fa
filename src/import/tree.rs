//! The shape Insomnia and Bruno collections share once read: folders of requests,
//! environments, auth modes. Each format reads its files into this ([`Collection`]);
//! `tree_write` turns it into request files and profiles, with the format's own
//! template dialect ([`Dialect`]) for every string.

use serde_json::Value;

use crate::import::mirror::Literal;

/// A collection as read from Insomnia or Bruno.
#[derive(Debug, Default)]
pub struct Collection {
    pub name: String,
    pub items: Vec<Item>,
    /// Environments (profiles); the first is `default`'s values when there is one.
    pub envs: Vec<Env>,
    /// The collection's own variables, under every environment's.
    pub vars: Vec<(String, Value)>,
    /// The collection's auth (what requests that inherit use).
    pub auth: Auth,
    /// Scripts of the collection or its folders: `(where, kind, code)`.
    pub scripts: Vec<(String, String, String)>,
    /// Things left out while reading, for the summary.
    pub skipped: Vec<String>,
}

#[derive(Debug)]
pub enum Item {
    Folder { name: String, items: Vec<Item> },
    Request(Box<Req>),
}

/// One request, its strings in the source's template dialect.
#[derive(Debug, Default)]
pub struct Req {
    pub name: String,
    pub description: Option<String>,
    pub method: String,
    pub url: String,
    /// Path parameters (`:id` in the URL) and their values.
    pub path_params: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Body,
    pub auth: Auth,
    /// `(kind, code)`: never run, kept as comments.
    pub scripts: Vec<(String, String)>,
    /// Comments the reader wrote (disabled entries, what did not map).
    pub notes: Vec<String>,
    pub expect_status: Vec<u16>,
    /// `expect.jsonpath` entries (plain values: `expect` is not a template).
    pub jsonpath: Vec<(String, Value)>,
}

#[derive(Debug, Default)]
pub enum Body {
    #[default]
    None,
    /// JSON text (may hold templates where JSON has no value, `{"id": {{id}}}`).
    Json(String),
    /// Text with the content type the source gives it.
    Text(String, Option<&'static str>),
    Form(Vec<(String, String)>),
    Multipart(Vec<(String, Part)>),
    Graphql {
        query: String,
        variables: String,
    },
    /// A file sent as the whole body.
    File(String),
}

#[derive(Debug)]
pub enum Part {
    Text(String),
    File(String),
}

/// An auth mode. Values are never kept: a profile reads each from `env()`.
#[derive(Debug, Default, Clone, PartialEq)]
pub enum Auth {
    /// The parent's (a folder's or the collection's).
    #[default]
    Inherit,
    None,
    /// The token when the source gives a variable (`{{token}}`), never a value.
    Bearer(Option<String>),
    /// The password when the source gives a variable.
    Basic(Option<String>),
    ApiKey {
        name: String,
        query: bool,
        /// The key when the source gives a variable.
        value: Option<String>,
    },
    OAuth2(OAuth2),
    /// A mode runner does not send (digest, NTLM, AWS…): its name.
    Other(String),
}

/// `s` when it is one variable reference (`{{token}}`, `{{ _.token }}`): what an
/// auth keeps of a credential, since a variable is no secret.
pub fn reference(s: &str) -> Option<String> {
    crate::import::credential::is_reference(s).then(|| s.trim().to_string())
}

/// OAuth 2 settings: URLs (in the source's dialect) and names, never secrets.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct OAuth2 {
    /// `client_credentials`, `password`, `authorization_code`, `implicit`…
    pub grant: String,
    pub token_url: String,
    pub authorization_url: String,
    pub scope: String,
    /// The source sets PKCE.
    pub pkce: bool,
}

/// An environment: its name, values, and the names whose values are secret (never
/// read into a file).
#[derive(Debug, Default)]
pub struct Env {
    pub name: String,
    pub vars: Vec<(String, Value)>,
    pub secret: Vec<String>,
}

/// A template dialect: the source's text as runner's template. Notes say what had
/// no runner equivalent (kept as text).
pub trait Dialect {
    fn template(&self, s: &str, notes: &mut Vec<String>) -> Literal;
}

/// A Bruno assertion operator and operand (`eq 200`, `isDefined`) as an `expect`
/// predicate, `None` when it does not map.
pub fn predicate(op_value: &str) -> Option<Value> {
    let t = op_value.trim();
    let (op, rest) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
    let rest = rest.trim();
    let operand = || -> Option<Value> {
        if rest.is_empty() || rest.contains("{{") {
            return None;
        }
        Some(serde_json::from_str::<Value>(rest).unwrap_or_else(|_| {
            Value::String(
                rest.strip_prefix('\'')
                    .and_then(|r| r.strip_suffix('\''))
                    .unwrap_or(rest)
                    .to_string(),
            )
        }))
    };
    let one = |k: &str, v: Value| Some(serde_json::json!({ k: v }));
    match op {
        "eq" => operand().map(|v| serde_json::json!({ "equals": v })),
        "neq" => one("not_equals", operand()?),
        "gt" => one("gt", operand()?),
        "gte" => one("gte", operand()?),
        "lt" => one("lt", operand()?),
        "lte" => one("lte", operand()?),
        "contains" => one("contains", operand()?),
        "notContains" => one("not_contains", operand()?),
        "startsWith" => one("starts_with", operand()?),
        "endsWith" => one("ends_with", operand()?),
        "isDefined" => one("exists", Value::Bool(true)),
        "isUndefined" => one("exists", Value::Bool(false)),
        "isNull" => one("equals", Value::Null),
        "isString" => one("type", "string".into()),
        "isNumber" => one("type", "number".into()),
        "isBoolean" => one("type", "boolean".into()),
        "isArray" => one("type", "array".into()),
        _ => None,
    }
}

/// A Bruno `res.…` expression as a JSONPath, `None` when it is not a body path.
pub fn body_path(expr: &str) -> Option<String> {
    let rest = expr.trim().strip_prefix("res.body")?;
    let ok = rest
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '[' | ']' | '-'));
    (ok && (rest.is_empty() || rest.starts_with(['.', '[']))).then(|| format!("${rest}"))
}

/// `v[k]` as text, `""` when absent or not a string (Insomnia's and Bruno's YAML).
pub fn text<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or_default()
}

/// `v[k]` as a list, empty when absent or not a list.
pub fn list<'a>(v: &'a Value, k: &str) -> &'a [Value] {
    v.get(k)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// An entry its tool marks `disabled: true`.
pub fn disabled(v: &Value) -> bool {
    v.get("disabled").and_then(Value::as_bool) == Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn assertions_as_predicates() {
        assert_eq!(predicate("eq 200"), Some(json!({"equals": 200})));
        assert_eq!(predicate("eq 'ok'"), Some(json!({"equals": "ok"})));
        assert_eq!(predicate("isDefined"), Some(json!({"exists": true})));
        assert_eq!(predicate("gt 3"), Some(json!({"gt": 3})));
        assert_eq!(predicate("eq {{x}}"), None);
        assert_eq!(predicate("isJson"), None);
        assert_eq!(
            body_path("res.body.items[0].id").as_deref(),
            Some("$.items[0].id")
        );
        assert_eq!(body_path("res.body").as_deref(), Some("$"));
        assert_eq!(body_path("res.headers.x"), None);
        assert_eq!(body_path("res.bodyx"), None);
    }
}
