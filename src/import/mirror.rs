//! The writable mirrors of runner's file formats (request files, profiles, their
//! `auth:`, `body:` and `expect:` blocks): what every importer builds and serde writes.

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;

/// A request file as the importers write it (the writable mirror of
/// `model::request::RequestFile`).
#[derive(Debug, Default, Serialize)]
pub struct RequestOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub method: String,
    pub url: String,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub query: IndexMap<String, Value>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, String>,
    /// `none` for operations that take no credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<BodyOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect: Option<ExpectOut>,
}

/// `body:`: exactly one of the variants.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyOut {
    Json(Value),
    Form(IndexMap<String, Value>),
    Text(String),
    File(String),
    Multipart(IndexMap<String, MultipartOut>),
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum MultipartOut {
    File { file: String },
    Value(String),
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
    pub base_url: String,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub vars: IndexMap<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthOut>,
}

/// The `auth:` block; which keys are set depends on `type`.
#[derive(Debug, Default, Clone, Serialize)]
pub struct AuthOut {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_authorization_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
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
