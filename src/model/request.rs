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

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[schemars(with = "Option<StatusSet>")]
    pub status: Option<Spanned<StatusSet>>,
    #[serde(default)]
    #[schemars(with = "Map<serde_json::Value>")]
    pub jsonpath: Map<Spanned<serde_json::Value>>,
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
