//! The writable mirrors of runner's file formats (request files, profiles, their
//! `auth:`, `body:` and `expect:` blocks): what every importer builds and serde writes.
//!
//! Every field runner renders as a template is a [`Literal`] or a [`LiteralValue`]:
//! text from another tool reaches it escaped, by construction. Names runner does not
//! render (query, header, form and part names, variable names, `auth.name`, scopes)
//! and free text it never renders (descriptions) stay plain strings.

use indexmap::IndexMap;
use serde::Serialize;

pub use super::text::{Literal, LiteralValue};

/// A request file as the importers write it (the writable mirror of
/// `model::request::RequestFile`).
#[derive(Debug, Default, Serialize)]
pub struct RequestOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub method: String,
    pub url: Literal,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub query: IndexMap<String, LiteralValue>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, Literal>,
    /// `none` for operations that take no credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<BodyOut>,
    /// `brackets`, `repeat` or `json`: how lists and maps in a form are sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form_style: Option<&'static str>,
    /// The same for query values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_style: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paginate: Option<PaginateOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect: Option<ExpectOut>,
}

/// `paginate:` (the mirror of `model::request::Paginate`): JSONPaths and parameter
/// names, none of them templates.
#[derive(Debug, Default, Serialize)]
pub struct PaginateOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_header: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_more: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<String>,
}

/// `body:`: exactly one of the variants.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyOut {
    Json(LiteralValue),
    Form(IndexMap<String, LiteralValue>),
    Text(Literal),
    File(Literal),
    Multipart(IndexMap<String, MultipartOut>),
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum MultipartOut {
    File { file: Literal },
    Value(Literal),
}

#[derive(Debug, Default, Serialize)]
pub struct ExpectOut {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub status: Vec<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<SchemaOut>,
}

/// `expect.schema` in its `{openapi: FILE#/pointer}` form.
#[derive(Debug, Serialize)]
pub struct SchemaOut {
    pub openapi: String,
}

/// A profile as the importers write it (the mirror of `model::profile::Profile`).
#[derive(Debug, Default, Serialize)]
pub struct ProfileOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub base_url: Literal,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub vars: IndexMap<String, LiteralValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthOut>,
}

/// The `auth:` block; which keys are set depends on `type`.
#[derive(Debug, Default, Clone, Serialize)]
pub struct AuthOut {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<Literal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_url: Option<Literal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_authorization_url: Option<Literal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_url: Option<Literal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<Literal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<Literal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<Literal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<Literal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<Literal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<Literal>,
    #[serde(rename = "in", skip_serializing_if = "Option::is_none")]
    pub key_in: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
}
