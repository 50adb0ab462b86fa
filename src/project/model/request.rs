//! `requests/*.yaml`: one HTTP request (SPEC §5).

use schemars::JsonSchema;
use serde::Deserialize;

use super::{Map, Number, Spanned};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestFile {
    pub description: Option<String>,
    #[schemars(with = "Option<String>")]
    pub method: Option<Spanned<String>>,
    #[schemars(with = "String")]
    pub url: Spanned<String>,
    #[serde(default)]
    #[schemars(with = "Map<serde_json::Value>")]
    pub query: Map<Spanned<serde_json::Value>>,
    #[serde(default)]
    #[schemars(with = "Map<String>")]
    pub headers: Map<Spanned<String>>,
    #[serde(default)]
    pub auth: RequestAuth,
    #[schemars(with = "Option<Body>")]
    pub body: Option<Spanned<Body>>,
    #[schemars(with = "Option<Paginate>")]
    pub paginate: Option<Spanned<Paginate>>,
    #[serde(default)]
    #[schemars(with = "Map<String>")]
    pub extract: Map<Spanned<String>>,
    pub expect: Option<Expect>,
    /// Seconds.
    #[schemars(with = "Option<f64>")]
    pub timeout: Option<Spanned<Number>>,
    #[schemars(with = "Option<u32>")]
    pub retries: Option<Spanned<Number>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestAuth {
    #[default]
    Profile,
    None,
}

/// The request body: exactly one of the fields is set (checked after parsing).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Body {
    #[schemars(with = "Option<serde_json::Value>")]
    pub json: Option<Spanned<serde_json::Value>>,
    #[schemars(with = "Option<Map<serde_json::Value>>")]
    pub form: Option<Map<Spanned<serde_json::Value>>>,
    #[schemars(with = "Option<String>")]
    pub text: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    pub file: Option<Spanned<String>>,
    #[schemars(with = "Option<Map<MultipartField>>")]
    pub multipart: Option<Map<Spanned<MultipartField>>>,
}

impl Body {
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut k = Vec::new();
        if self.json.is_some() {
            k.push("json");
        }
        if self.form.is_some() {
            k.push("form");
        }
        if self.text.is_some() {
            k.push("text");
        }
        if self.file.is_some() {
            k.push("file");
        }
        if self.multipart.is_some() {
            k.push("multipart");
        }
        k
    }
}

/// A multipart field: a file to upload, or a plain value.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged, expecting = "expected a text value, or {file: PATH}")]
pub enum MultipartField {
    File(MultipartFile),
    Value(String),
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MultipartFile {
    pub file: String,
    pub content_type: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Paginate {
    /// JSONPath to the next page's URL; pages stop on null, "" or absent.
    #[schemars(with = "Option<String>")]
    pub next_url: Option<Spanned<String>>,
    /// JSONPath to the total number of pages, for APIs that number pages.
    #[schemars(with = "Option<String>")]
    pub total_pages: Option<Spanned<String>>,
    /// The query parameter that carries the page number (default `page`).
    pub page_param: Option<String>,
    /// JSONPath to each page's items.
    #[schemars(with = "String")]
    pub items: Spanned<String>,
    #[schemars(with = "Option<u32>")]
    pub max_pages: Option<Spanned<Number>>,
}

/// What a response must be. Every value of `jsonpath`, `headers` and `body` is a
/// map of predicates (all must hold) or a value it must equal.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[schemars(with = "Option<StatusSet>")]
    pub status: Option<Spanned<StatusSet>>,
    /// Milliseconds, at most, from sending to the last byte.
    #[schemars(with = "Option<u64>")]
    pub duration: Option<Spanned<Number>>,
    /// By header name (any case).
    #[serde(default)]
    #[schemars(with = "Map<Predicates>")]
    pub headers: Map<Spanned<serde_json::Value>>,
    /// The body as text.
    #[schemars(with = "Option<Predicates>")]
    pub body: Option<Spanned<serde_json::Value>>,
    /// By JSONPath; a path that can select several nodes is checked as their list.
    #[serde(default)]
    #[schemars(with = "Map<Predicates>")]
    pub jsonpath: Map<Spanned<serde_json::Value>>,
    /// A JSON Schema the body must match.
    #[schemars(with = "Option<SchemaRef>")]
    pub schema: Option<Spanned<SchemaRef>>,
}

/// A JSON or YAML schema file (relative to the request file), or a schema inside an
/// OpenAPI document: `{openapi: FILE#/components/schemas/Name}`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(
    untagged,
    expecting = "expected a schema file, or {openapi: FILE#/components/schemas/NAME}"
)]
pub enum SchemaRef {
    File(String),
    OpenApi(OpenApiSchema),
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenApiSchema {
    pub openapi: String,
}

/// A map of predicates, all of which must hold, or any other value, which the actual
/// one must equal (`{equals: {…}}` compares with a literal map).
#[derive(JsonSchema)]
#[schemars(untagged)]
#[allow(dead_code)]
enum Predicates {
    Map(Box<PredicateMap>),
    Value(serde_json::Value),
}

/// The predicates of `expect` (SPEC §5).
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct PredicateMap {
    equals: Option<serde_json::Value>,
    not_equals: Option<serde_json::Value>,
    /// A number, or an RFC 3339 date.
    gt: Option<serde_json::Value>,
    gte: Option<serde_json::Value>,
    lt: Option<serde_json::Value>,
    lte: Option<serde_json::Value>,
    /// A substring, a list element, or an object key.
    contains: Option<serde_json::Value>,
    not_contains: Option<serde_json::Value>,
    starts_with: Option<String>,
    ends_with: Option<String>,
    /// A regular expression (Rust `regex` syntax).
    matches: Option<String>,
    exists: Option<bool>,
    #[serde(rename = "type")]
    type_: Option<JsonType>,
    length: Option<Box<Predicates>>,
    one_of: Option<Vec<serde_json::Value>>,
    /// Predicates every element of a list must hold.
    each: Option<Box<Predicates>>,
    /// Predicates each of which must fail.
    not: Option<Box<PredicateMap>>,
}

#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
enum JsonType {
    String,
    Number,
    Integer,
    Boolean,
    Array,
    Object,
    Null,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(
    untagged,
    expecting = "expected a status code or a list of status codes"
)]
pub enum StatusSet {
    One(u16),
    Many(Vec<u16>),
}

impl StatusSet {
    pub fn contains(&self, status: u16) -> bool {
        match self {
            StatusSet::One(s) => *s == status,
            StatusSet::Many(list) => list.contains(&status),
        }
    }
}
