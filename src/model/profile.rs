//! `profiles/NAME.yaml`: where requests go and as whom (SPEC §3).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use super::{Number, Spanned};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub description: Option<String>,
    #[schemars(with = "Option<String>")]
    pub base_url: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub vars: BTreeMap<String, Spanned<serde_json::Value>>,
    #[schemars(with = "Option<AuthConfig>")]
    pub auth: Option<Spanned<AuthConfig>>,
    #[serde(default)]
    pub http: HttpConfig,
    #[serde(default)]
    pub sandbox: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthType {
    None,
    Bearer,
    Oauth2Password,
    Oauth2ClientCredentials,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenRequest {
    #[default]
    Form,
    Json,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    #[default]
    Body,
    Basic,
}

/// The `auth:` block. One flat struct for every type, so unknown keys and places are
/// reported exactly; which keys each type needs is checked after parsing.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    #[serde(rename = "type")]
    pub kind: AuthType,
    #[schemars(with = "Option<String>")]
    pub token_url: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    pub client_id: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    pub client_secret: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    pub username: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    pub password: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    pub token: Option<Spanned<String>>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub token_request: TokenRequest,
    #[serde(default)]
    pub client_auth: ClientAuth,
    pub header: Option<String>,
    pub scheme: Option<String>,
    /// Origins besides `base_url`'s that may receive the credentials, e.g.
    /// `https://files.example.com`.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub origins: Vec<Spanned<String>>,
}

impl AuthConfig {
    /// Keys that `kind` requires but the block lacks, and keys it does not use.
    /// With `sandbox`, the token URL is the sandbox's own and need not be given.
    pub fn shape_problems(&self, sandbox: bool) -> Vec<String> {
        let mut problems = Vec::new();
        let has = |v: &Option<Spanned<String>>| v.is_some();
        type Keys<'a> = Vec<(&'a str, bool)>;
        let (needed, unused): (Keys, Keys) = match self.kind {
            AuthType::None => (
                vec![],
                vec![
                    ("token_url", has(&self.token_url)),
                    ("client_id", has(&self.client_id)),
                    ("token", has(&self.token)),
                ],
            ),
            AuthType::Bearer => (
                vec![("token", has(&self.token))],
                vec![
                    ("token_url", has(&self.token_url)),
                    ("client_id", has(&self.client_id)),
                    ("username", has(&self.username)),
                ],
            ),
            AuthType::Oauth2Password => (
                vec![
                    ("token_url", has(&self.token_url)),
                    ("client_id", has(&self.client_id)),
                    ("username", has(&self.username)),
                ],
                vec![("token", has(&self.token))],
            ),
            AuthType::Oauth2ClientCredentials => (
                vec![
                    ("token_url", has(&self.token_url)),
                    ("client_id", has(&self.client_id)),
                ],
                vec![
                    ("token", has(&self.token)),
                    ("username", has(&self.username)),
                    ("password", has(&self.password)),
                ],
            ),
        };
        for (key, present) in needed {
            let sandbox_url = sandbox && key == "token_url";
            if !present && !sandbox_url {
                problems.push(format!("auth type `{}` needs `{key}`", self.kind_name()));
            }
        }
        for (key, present) in unused {
            if present {
                problems.push(format!(
                    "auth type `{}` does not use `{key}`",
                    self.kind_name()
                ));
            }
        }
        problems
    }

    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            AuthType::None => "none",
            AuthType::Bearer => "bearer",
            AuthType::Oauth2Password => "oauth2_password",
            AuthType::Oauth2ClientCredentials => "oauth2_client_credentials",
        }
    }
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Seconds per request.
    #[schemars(with = "Option<f64>")]
    pub timeout: Option<Spanned<Number>>,
    #[schemars(with = "Option<u32>")]
    pub retries: Option<Spanned<Number>>,
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub headers: BTreeMap<String, Spanned<String>>,
    /// Largest response body accepted, in bytes (default 256 MB).
    #[schemars(with = "Option<u64>")]
    pub max_body: Option<Spanned<Number>>,
    /// A PEM file of certificate authorities to trust besides the system's, relative
    /// to the project root.
    pub ca_cert: Option<String>,
    /// Skip certificate verification (a warning is printed on every run).
    #[serde(default)]
    pub insecure: bool,
    /// Redirects followed per request (default 10); runner follows them itself.
    #[schemars(with = "Option<u32>")]
    pub max_redirects: Option<Spanned<Number>>,
    /// `false` returns a 3xx as the response (default true).
    pub follow_redirects: Option<bool>,
    /// Allow credentials over plain http to a host that is not loopback (a warning
    /// is printed on every run).
    #[serde(default)]
    pub allow_plain_http: bool,
    /// Headers (from `headers` here or in request files) that carry credentials:
    /// masked in output and sent only to the profile's origins, like the auth header.
    #[serde(default)]
    pub sensitive_headers: Vec<String>,
}
