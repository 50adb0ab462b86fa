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
    /// How a `form` value that is a list or a map is encoded (default `brackets`).
    /// `runner import openapi` writes `brackets` for a `deepObject` encoding and
    /// `repeat` for an exploded list (OpenAPI's default for forms).
    pub form_style: Option<EncodeStyle>,
    /// How a `query` value that is a list or a map is encoded (default `repeat`).
    /// `runner import openapi` writes `brackets` for a `deepObject` parameter.
    pub query_style: Option<EncodeStyle>,
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
    /// `runner mcp`: whether this file is a tool for agents. Without it, GET and HEAD
    /// files are, others only with `--allow-writes`.
    pub mcp: Option<McpOptions>,
}

/// How `runner mcp` serves a request file.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct McpOptions {
    /// `true`: a tool even if it writes; `false`: never a tool.
    pub expose: bool,
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
    /// A GraphQL operation, sent as `POST` JSON `{query, variables, operationName}`.
    #[schemars(with = "Option<GraphQl>")]
    pub graphql: Option<Spanned<GraphQl>>,
}

/// How lists and maps become `key=value` pairs in a form body or a query string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EncodeStyle {
    /// `a[b]=1&a[c][0]=x` (Stripe, Rails, PHP); a map in a list is `a[0][b]=`.
    Brackets,
    /// A list of plain values repeats its key: `k=a&k=b` (Twilio; OpenAPI's
    /// `form`+`explode`); maps and deeper lists in brackets.
    Repeat,
    /// A list or map is sent as its JSON text: `a={"b":1}`.
    Json,
}

/// `body: {graphql: {query: "…" | file: q.graphql, variables: {…}, operation_name: X}}`.
/// The query text is sent as written (GraphQL has its own variables); the
/// variables are templates.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GraphQl {
    pub query: Option<String>,
    /// A file holding the query, relative to the request file.
    pub file: Option<String>,
    #[schemars(with = "Option<Map<serde_json::Value>>")]
    pub variables: Option<Spanned<serde_json::Value>>,
    pub operation_name: Option<String>,
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
        if self.graphql.is_some() {
            k.push("graphql");
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

/// How to page; one way of finding the next page: `next_url`, `total_pages`,
/// `link_header`, `cursor` (with `param` or `variable`) or `offset_param`.
/// `runner import openapi` writes it where a list's response documents a `Link`
/// header, a `next_cursor`, `has_more` with `data` and a `starting_after`
/// parameter, or a `next` URL.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Paginate {
    /// JSONPath to the next page's URL; pages stop on null, "" or absent.
    #[schemars(with = "Option<String>")]
    pub next_url: Option<Spanned<String>>,
    /// The `rel` of the `Link` header (RFC 8288) to follow, e.g. `next` (GitHub,
    /// GitLab); pages stop when the header has no link of that rel.
    #[schemars(with = "Option<String>")]
    pub link_header: Option<Spanned<String>>,
    /// JSONPath to the next page's cursor in the body (Slack:
    /// `$.response_metadata.next_cursor`; Stripe: `$.data[-1:].id`; GraphQL:
    /// `$.data.X.pageInfo.endCursor`); pages stop on null, "" or absent.
    #[schemars(with = "Option<String>")]
    pub cursor: Option<Spanned<String>>,
    /// The parameter that carries the cursor: in the query for GET, else in the
    /// form or JSON body.
    #[schemars(with = "Option<String>")]
    pub param: Option<Spanned<String>>,
    /// The GraphQL variable that carries the cursor (a `graphql` body).
    #[schemars(with = "Option<String>")]
    pub variable: Option<Spanned<String>>,
    /// JSONPath to a boolean saying whether there are more pages (Stripe's
    /// `$.has_more`, GraphQL's `pageInfo.hasNextPage`): false stops; true with no
    /// cursor is an error.
    #[schemars(with = "Option<String>")]
    pub has_more: Option<Spanned<String>>,
    /// The query parameter of the offset: pages go on until one is shorter than
    /// `limit` (or empty, or `total` is reached).
    #[schemars(with = "Option<String>")]
    pub offset_param: Option<Spanned<String>>,
    /// The query parameter of the page size, set to `limit` on every page.
    #[schemars(with = "Option<String>")]
    pub limit_param: Option<Spanned<String>>,
    /// Items per page, with `offset_param`.
    #[schemars(with = "Option<u32>")]
    pub limit: Option<Spanned<Number>>,
    /// JSONPath to the total number of items, with `offset_param`.
    #[schemars(with = "Option<String>")]
    pub total: Option<Spanned<String>>,
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

/// A map of predicates, all of which must hold, or any value but a map, which the
/// actual one must equal (a literal map is written `{equals: {…}}`: a map is always
/// predicates, and an unknown key is an error).
#[derive(JsonSchema)]
#[schemars(untagged)]
#[allow(dead_code)]
enum Predicates {
    Map(Box<PredicateMap>),
    Value(NotAMap),
}

/// Any JSON value but an object, for the editor schema of a bare expected value.
#[allow(dead_code)]
struct NotAMap;

impl JsonSchema for NotAMap {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "NotAMap".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": ["string", "number", "integer", "boolean", "null", "array"]
        })
    }
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
