//! `profiles/NAME.yaml`: where requests go and as whom (SPEC §3).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

pub use super::cookies::Cookies;
use super::cookies::CookiesSchema;
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
    /// RFC 6749 §4.1 with PKCE (S256, always), a browser and a loopback redirect.
    Oauth2AuthorizationCode,
    /// RFC 8628: a code to enter on another device.
    Oauth2DeviceCode,
    /// RFC 7617: `username` and `password` in `Authorization: Basic`.
    Basic,
    /// A fixed key in a header or a query parameter (`key`, `in`, `name`).
    ApiKey,
    /// AWS Signature Version 4 (`region`, `service`, `aws_profile`): every request
    /// signed with credentials from the environment or the AWS shared files.
    AwsSigv4,
    /// RFC 7523 §2.1: a signed assertion is the grant (`issuer`, `subject`,
    /// `audience`, `private_key`, `key_id`), or a Google service-account `key_file`.
    Oauth2JwtBearer,
    /// RFC 8693: another profile's token (`subject_profile`) or a given one
    /// (`subject_token`) exchanged for one for this API.
    Oauth2TokenExchange,
}

/// Where an `api_key` goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyIn {
    #[default]
    Header,
    Query,
}

impl AuthType {
    pub fn name(self) -> &'static str {
        match self {
            AuthType::None => "none",
            AuthType::Bearer => "bearer",
            AuthType::Oauth2Password => "oauth2_password",
            AuthType::Oauth2ClientCredentials => "oauth2_client_credentials",
            AuthType::Oauth2AuthorizationCode => "oauth2_authorization_code",
            AuthType::Oauth2DeviceCode => "oauth2_device_code",
            AuthType::Basic => "basic",
            AuthType::ApiKey => "api_key",
            AuthType::AwsSigv4 => "aws_sigv4",
            AuthType::Oauth2JwtBearer => "oauth2_jwt_bearer",
            AuthType::Oauth2TokenExchange => "oauth2_token_exchange",
        }
    }

    pub fn is_oauth2(self) -> bool {
        !matches!(
            self,
            AuthType::None
                | AuthType::Bearer
                | AuthType::Basic
                | AuthType::ApiKey
                | AuthType::AwsSigv4
        )
    }

    /// Grants that need a person at a browser.
    pub fn is_interactive(self) -> bool {
        matches!(
            self,
            AuthType::Oauth2AuthorizationCode | AuthType::Oauth2DeviceCode
        )
    }
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
    /// A public client: `client_id` in the body, no secret.
    None,
    /// RFC 7523 §2.2: an assertion signed with `private_key` (OIDC Core §9).
    PrivateKeyJwt,
    /// RFC 7523 §2.2: an assertion signed (HS256) with `client_secret`.
    ClientSecretJwt,
    /// RFC 8705 §2.1.1: the client is known by its PKI certificate (`http.client_cert`);
    /// `client_id` in the body, no secret.
    TlsClientAuth,
    /// RFC 8705 §2.2: the client is known by a self-signed certificate it registered;
    /// `client_id` in the body, no secret.
    SelfSignedTlsClientAuth,
}

impl ClientAuth {
    /// Every method, in the order the documentation lists them.
    pub const ALL: [ClientAuth; 7] = [
        ClientAuth::Body,
        ClientAuth::Basic,
        ClientAuth::None,
        ClientAuth::PrivateKeyJwt,
        ClientAuth::ClientSecretJwt,
        ClientAuth::TlsClientAuth,
        ClientAuth::SelfSignedTlsClientAuth,
    ];

    /// The method as a profile writes it.
    pub fn name(self) -> &'static str {
        match self {
            ClientAuth::Body => "body",
            ClientAuth::Basic => "basic",
            ClientAuth::None => "none",
            ClientAuth::PrivateKeyJwt => "private_key_jwt",
            ClientAuth::ClientSecretJwt => "client_secret_jwt",
            ClientAuth::TlsClientAuth => "tls_client_auth",
            ClientAuth::SelfSignedTlsClientAuth => "self_signed_tls_client_auth",
        }
    }

    /// The client proves itself with a signed assertion.
    pub fn is_jwt(self) -> bool {
        matches!(
            self,
            ClientAuth::PrivateKeyJwt | ClientAuth::ClientSecretJwt
        )
    }

    /// Mutual TLS client authentication: the certificate is the credential.
    pub fn is_tls(self) -> bool {
        matches!(
            self,
            ClientAuth::TlsClientAuth | ClientAuth::SelfSignedTlsClientAuth
        )
    }
}

/// `auth.signing_alg`: the JWS algorithm of an assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum SigningAlg {
    RS256,
    PS256,
    ES256,
    EdDSA,
    HS256,
}

impl SigningAlg {
    pub fn name(self) -> &'static str {
        match self {
            SigningAlg::RS256 => "RS256",
            SigningAlg::PS256 => "PS256",
            SigningAlg::ES256 => "ES256",
            SigningAlg::EdDSA => "EdDSA",
            SigningAlg::HS256 => "HS256",
        }
    }
}

/// Keys of the `auth:` block, each with whether the block has it.
pub(super) type Keys = Vec<(&'static str, bool)>;

/// The `auth:` block. One flat struct for every type, so unknown keys and places are
/// reported exactly; which keys each type needs is checked after parsing.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    #[serde(rename = "type")]
    pub kind: AuthType,
    #[schemars(with = "Option<String>")]
    pub token_url: Option<Spanned<String>>,
    /// The authorization server's issuer: discovery fills the endpoints not given.
    #[schemars(with = "Option<String>")]
    pub issuer: Option<Spanned<String>>,
    /// `oauth2_authorization_code`: where the browser logs in.
    #[schemars(with = "Option<String>")]
    pub authorization_url: Option<Spanned<String>>,
    /// `oauth2_device_code`: where the device code is asked for.
    #[schemars(with = "Option<String>")]
    pub device_authorization_url: Option<Spanned<String>>,
    /// RFC 7009: where `runner logout` revokes the tokens.
    #[schemars(with = "Option<String>")]
    pub revocation_url: Option<Spanned<String>>,
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
    /// `api_key`: the key itself (a secret: an `env()` template).
    #[schemars(with = "Option<String>")]
    pub key: Option<Spanned<String>>,
    /// `api_key`: `header` (default) or `query`.
    #[serde(rename = "in")]
    pub key_in: Option<ApiKeyIn>,
    /// `api_key`: the header or query parameter's name.
    pub name: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub token_request: TokenRequest,
    #[serde(default)]
    pub client_auth: ClientAuth,
    pub header: Option<String>,
    pub scheme: Option<String>,
    /// Extra parameters of the authorize and token requests (e.g. Auth0's `audience`).
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// The loopback port of the redirect (default: a free one).
    #[schemars(with = "Option<u16>")]
    pub redirect_port: Option<Spanned<Number>>,
    /// The path of the redirect (default `/callback`).
    pub redirect_path: Option<String>,
    /// Seconds an interactive login may take (default 300).
    #[schemars(with = "Option<u64>")]
    pub login_timeout: Option<Spanned<Number>>,
    /// Origins besides `base_url`'s that may receive the credentials, e.g.
    /// `https://files.example.com`.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub origins: Vec<Spanned<String>>,
    /// `aws_sigv4`: the region the requests are signed for (`eu-west-1`).
    #[schemars(with = "Option<String>")]
    pub region: Option<Spanned<String>>,
    /// `aws_sigv4`: the service signed for (`execute-api`, `s3`, `es`, …).
    #[schemars(with = "Option<String>")]
    pub service: Option<Spanned<String>>,
    /// `aws_sigv4`: the profile of `~/.aws/credentials` and `~/.aws/config` (default
    /// `$AWS_PROFILE`, else `default`) when the environment has no credentials.
    pub aws_profile: Option<String>,
    /// Where an OAuth2 session is kept between runs: `file` (a 0600 file in the
    /// state folder, the default) or `keyring` (the OS keyring). Else the user
    /// configuration's `token_store`.
    pub token_store: Option<TokenStoreKind>,
    /// `private_key_jwt` and `oauth2_jwt_bearer`: the PEM private key (PKCS#8, PKCS#1
    /// or SEC1), e.g. `"{{ file('keys/client.pem') }}"` or an `env()` value.
    #[schemars(with = "Option<String>")]
    pub private_key: Option<Spanned<String>>,
    /// The `kid` of the assertion's header: which of the client's keys signed it.
    #[schemars(with = "Option<String>")]
    pub key_id: Option<Spanned<String>>,
    /// RS256, PS256, ES256, EdDSA (default from the key), HS256 (`client_secret_jwt`).
    #[schemars(with = "Option<SigningAlg>")]
    pub signing_alg: Option<Spanned<SigningAlg>>,
    /// The `aud` of client assertions (default the token URL).
    #[schemars(with = "Option<String>")]
    pub assertion_audience: Option<Spanned<String>>,
    /// `oauth2_jwt_bearer`: the assertion's `sub` (default none, or the issuer).
    #[schemars(with = "Option<String>")]
    pub subject: Option<Spanned<String>>,
    /// `oauth2_jwt_bearer`: the assertion's `aud` (default the token URL);
    /// `oauth2_token_exchange`: the `audience` parameter.
    #[schemars(with = "Option<String>")]
    pub audience: Option<Spanned<String>>,
    /// `oauth2_jwt_bearer`: a Google service-account JSON key file, as downloaded
    /// (relative to the project root): client email, key id, key and token URI.
    #[schemars(with = "Option<String>")]
    pub key_file: Option<Spanned<String>>,
    /// `oauth2_token_exchange`: the profile whose session gives the subject token.
    #[schemars(with = "Option<String>")]
    pub subject_profile: Option<Spanned<String>>,
    /// `oauth2_token_exchange`: the subject token itself (an `env()` template).
    #[schemars(with = "Option<String>")]
    pub subject_token: Option<Spanned<String>>,
    /// Default `urn:ietf:params:oauth:token-type:access_token`.
    #[schemars(with = "Option<String>")]
    pub subject_token_type: Option<Spanned<String>>,
    /// `oauth2_token_exchange`: the `resource` parameter (RFC 8707).
    #[schemars(with = "Option<String>")]
    pub resource: Option<Spanned<String>>,
    /// `oauth2_token_exchange`: the `requested_token_type` parameter.
    #[schemars(with = "Option<String>")]
    pub requested_token_type: Option<Spanned<String>>,
    /// `oauth2_token_exchange`: an actor token (an `env()` template).
    #[schemars(with = "Option<String>")]
    pub actor_token: Option<Spanned<String>>,
    /// Default `urn:ietf:params:oauth:token-type:access_token` with `actor_token`.
    #[schemars(with = "Option<String>")]
    pub actor_token_type: Option<Spanned<String>>,
    /// `oauth2_authorization_code`: push the authorization request first (RFC 9126);
    /// also on when the server's metadata requires it.
    #[serde(default)]
    pub par: bool,
    /// RFC 9449: tokens bound to a key of the session, kept with its tokens (a DPoP
    /// proof with every token request, and with every API request once the server
    /// answers `token_type: DPoP`).
    #[serde(default)]
    pub dpop: bool,
}

/// Where OAuth2 tokens are kept between runs (`auth.token_store`, or `token_store:`
/// in the user configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenStoreKind {
    /// A 0600 JSON file in the state folder.
    File,
    /// The Secret Service (Linux), Keychain (macOS) or Credential Manager (Windows).
    Keyring,
}

impl AuthConfig {
    /// Keys that `kind` requires but the block lacks, and keys it does not use.
    /// With `sandbox`, the token URL is the sandbox's own and need not be given.
    pub fn shape_problems(&self, sandbox: bool) -> Vec<String> {
        let mut problems = Vec::new();
        let (endpoints, needed) = self.needed_keys();
        let name = self.kind.name();
        // A JWT bearer grant's `issuer` is the assertion's, not a server to discover.
        let filled = sandbox || (self.issuer.is_some() && self.kind != AuthType::Oauth2JwtBearer);
        for (key, present) in endpoints {
            if !present && !filled {
                problems.push(format!(
                    "auth type `{name}` needs `{key}` (or `issuer`, whose discovery document names it)"
                ));
            }
        }
        for (key, present) in needed {
            if !present {
                problems.push(format!("auth type `{name}` needs `{key}`"));
            }
        }
        let mut said = Vec::new();
        for (key, present) in self.unused_keys() {
            if present && !said.contains(&key) {
                said.push(key);
                problems.push(format!("auth type `{name}` does not use `{key}`"));
            }
        }
        problems.extend(self.jwt_problems(sandbox));
        problems
    }

    /// What `kind` needs, each key with whether the block has it: the endpoints
    /// (which discovery, from `issuer`, or the sandbox can fill instead), then the rest.
    fn needed_keys(&self) -> (Keys, Keys) {
        let has = |v: &Option<Spanned<String>>| v.is_some();
        match self.kind {
            AuthType::None => (vec![], vec![]),
            AuthType::Basic => (vec![], vec![("username", has(&self.username))]),
            AuthType::ApiKey => (
                vec![],
                vec![("key", has(&self.key)), ("name", self.name.is_some())],
            ),
            AuthType::Bearer => (vec![], vec![("token", has(&self.token))]),
            AuthType::AwsSigv4 => (
                vec![],
                vec![
                    ("region", has(&self.region)),
                    ("service", has(&self.service)),
                ],
            ),
            AuthType::Oauth2Password => (
                vec![("token_url", has(&self.token_url))],
                vec![
                    ("client_id", has(&self.client_id)),
                    ("username", has(&self.username)),
                ],
            ),
            AuthType::Oauth2ClientCredentials => (
                vec![("token_url", has(&self.token_url))],
                vec![("client_id", has(&self.client_id))],
            ),
            AuthType::Oauth2AuthorizationCode => (
                vec![
                    ("authorization_url", has(&self.authorization_url)),
                    ("token_url", has(&self.token_url)),
                ],
                vec![("client_id", has(&self.client_id))],
            ),
            AuthType::Oauth2DeviceCode => (
                vec![
                    (
                        "device_authorization_url",
                        has(&self.device_authorization_url),
                    ),
                    ("token_url", has(&self.token_url)),
                ],
                vec![("client_id", has(&self.client_id))],
            ),
            // A key file names the issuer, the key and the token URL.
            AuthType::Oauth2JwtBearer if self.key_file.is_some() => (vec![], vec![]),
            AuthType::Oauth2JwtBearer => (
                vec![("token_url", has(&self.token_url))],
                vec![
                    ("issuer", has(&self.issuer)),
                    ("private_key", has(&self.private_key)),
                ],
            ),
            AuthType::Oauth2TokenExchange => (
                vec![("token_url", has(&self.token_url))],
                vec![("client_id", has(&self.client_id))],
            ),
        }
    }

    /// The keys `kind` does not use, each with whether the block has it, in the
    /// order they are reported (a key may come twice; it is said once).
    fn unused_keys(&self) -> Keys {
        let has = |v: &Option<Spanned<String>>| v.is_some();
        let token = ("token", has(&self.token));
        let username = ("username", has(&self.username));
        let password = ("password", has(&self.password));
        let mut unused = match self.kind {
            AuthType::None => vec![token, username, password],
            AuthType::Basic => vec![token],
            AuthType::ApiKey => vec![token, username, password, ("header", self.header.is_some())],
            AuthType::Bearer => vec![username],
            AuthType::AwsSigv4 => {
                vec![token, username, password, ("header", self.header.is_some())]
            }
            AuthType::Oauth2Password => vec![token],
            AuthType::Oauth2ClientCredentials => vec![token, username, password],
            AuthType::Oauth2AuthorizationCode => vec![
                token,
                username,
                password,
                (
                    "device_authorization_url",
                    has(&self.device_authorization_url),
                ),
            ],
            AuthType::Oauth2DeviceCode => vec![
                token,
                username,
                password,
                ("authorization_url", has(&self.authorization_url)),
                ("redirect_port", self.redirect_port.is_some()),
                ("redirect_path", self.redirect_path.is_some()),
            ],
            AuthType::Oauth2JwtBearer | AuthType::Oauth2TokenExchange => {
                vec![token, username, password]
            }
        };
        unused.extend(self.jwt_unused_keys());
        if self.kind != AuthType::AwsSigv4 {
            unused.extend([
                ("region", has(&self.region)),
                ("service", has(&self.service)),
                ("aws_profile", self.aws_profile.is_some()),
            ]);
        }
        if self.kind != AuthType::ApiKey {
            unused.extend([
                ("key", has(&self.key)),
                ("in", self.key_in.is_some()),
                ("name", self.name.is_some()),
            ]);
        }
        let interactive = [
            ("authorization_url", has(&self.authorization_url)),
            (
                "device_authorization_url",
                has(&self.device_authorization_url),
            ),
            ("redirect_port", self.redirect_port.is_some()),
            ("redirect_path", self.redirect_path.is_some()),
            ("login_timeout", self.login_timeout.is_some()),
        ];
        let oauth = [
            ("token_url", has(&self.token_url)),
            ("issuer", has(&self.issuer)),
            ("revocation_url", has(&self.revocation_url)),
            ("client_id", has(&self.client_id)),
            ("client_secret", has(&self.client_secret)),
            ("params", !self.params.is_empty()),
            ("token_store", self.token_store.is_some()),
        ];
        if !self.kind.is_oauth2() {
            unused.extend(oauth);
            unused.extend(interactive);
        } else if !self.kind.is_interactive() {
            unused.extend(interactive);
        }
        unused
    }

    pub fn kind_name(&self) -> &'static str {
        self.kind.name()
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
    /// `true`: a cookie jar for the run (a flow's steps and a bulk run's rows share
    /// it); `persist`: one per profile in the state folder, kept between runs until
    /// `runner logout`. Cookies go only to the profile's origins.
    #[serde(default)]
    #[schemars(with = "CookiesSchema")]
    pub cookies: Cookies,
    /// A PEM client certificate (chain) for servers that ask for one (mutual TLS),
    /// relative to the profile's folder; also `--cert FILE`. Needs `client_key`.
    #[schemars(with = "Option<String>")]
    pub client_cert: Option<Spanned<String>>,
    /// The PEM private key of `client_cert`, relative to the profile's folder; also
    /// `--key FILE`.
    #[schemars(with = "Option<String>")]
    pub client_key: Option<Spanned<String>>,
    /// A PKCS#12 file (`.p12`/`.pfx`: the certificate chain and its key), relative to
    /// the profile's folder, instead of `client_cert` and `client_key`.
    #[schemars(with = "Option<String>")]
    pub client_pkcs12: Option<Spanned<String>>,
    /// The password of `client_pkcs12`, e.g. `"{{ env('P12_PASSWORD') }}"` or
    /// `"{{ secret('NAME') }}"`; unset: an empty password.
    #[schemars(with = "Option<String>")]
    pub client_pkcs12_password: Option<Spanned<String>>,
    /// The proxy of every request (API and OAuth2 endpoints), e.g.
    /// `http://user:pass@proxy.corp:3128`; `none` ignores `HTTPS_PROXY`, `HTTP_PROXY`
    /// and `ALL_PROXY`. Unset: those variables, with `NO_PROXY`.
    #[schemars(with = "Option<String>")]
    pub proxy: Option<Spanned<String>>,
}
