//! The token endpoint, through the `oauth2` crate and an adapter over our reqwest
//! client. The adapter rewrites the form body as JSON where the profile asks for it.
//! No caching here.

use std::time::Duration;

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AccessToken, AuthType, ClientId, ClientSecret, EndpointNotSet, EndpointSet, RefreshToken,
    RequestTokenError, ResourceOwnerPassword, ResourceOwnerUsername, Scope, StandardRevocableToken,
    TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};

use super::AuthError;
use crate::project::model::profile::{ClientAuth, TokenRequest};
use crate::secret::Secret;

/// The fields of a token endpoint's JSON answer, as sent.
type Fields = serde_json::Map<String, serde_json::Value>;

/// How much of a token endpoint's answer is read: token and error responses are a
/// few hundred bytes; anything past this is not one.
const MAX_RESPONSE: usize = 1024 * 1024;

/// The longest `expires_in` believed: ten years. Past it, a value is a server's way
/// of saying "never", or a bug; either way ten years is a usable answer.
const MAX_LIFETIME: u64 = 10 * 365 * 86_400;

/// A token endpoint's 2xx answer: any JSON object. The oauth2 crate only needs it to
/// deserialize; [`check_token_response`] decides whether it is a usable token.
#[derive(Clone, Serialize, Deserialize)]
#[serde(from = "Fields", into = "Fields")]
pub struct RunnerTokenResponse {
    fields: Fields,
    access_token: AccessToken,
    token_type: BasicTokenType,
    refresh_token: Option<RefreshToken>,
    scopes: Option<Vec<Scope>>,
}

impl From<Fields> for RunnerTokenResponse {
    fn from(fields: Fields) -> Self {
        let text = |k: &str| fields.get(k).and_then(|v| v.as_str()).unwrap_or_default();
        let access_token = AccessToken::new(text("access_token").to_string());
        let token_type = match text("token_type") {
            t if t.eq_ignore_ascii_case("mac") => BasicTokenType::Mac,
            t if t.is_empty() || t.eq_ignore_ascii_case("bearer") => BasicTokenType::Bearer,
            t => BasicTokenType::Extension(t.to_string()),
        };
        let refresh_token = Some(text("refresh_token"))
            .filter(|t| !t.is_empty())
            .map(|t| RefreshToken::new(t.to_string()));
        let scopes = fields.get("scope").and_then(|v| v.as_str()).map(|s| {
            s.split_whitespace()
                .map(|x| Scope::new(x.to_string()))
                .collect()
        });
        RunnerTokenResponse {
            fields,
            access_token,
            token_type,
            refresh_token,
            scopes,
        }
    }
}

impl From<RunnerTokenResponse> for Fields {
    fn from(r: RunnerTokenResponse) -> Fields {
        r.fields
    }
}

// Not derived: the fields hold the tokens.
impl std::fmt::Debug for RunnerTokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RunnerTokenResponse({} fields)", self.fields.len())
    }
}

impl TokenResponse for RunnerTokenResponse {
    type TokenType = BasicTokenType;

    fn access_token(&self) -> &AccessToken {
        &self.access_token
    }
    fn token_type(&self) -> &BasicTokenType {
        &self.token_type
    }
    fn expires_in(&self) -> Option<Duration> {
        lifetime(self.fields.get("expires_in"))
            .0
            .map(Duration::from_secs)
    }
    fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }
    fn scopes(&self) -> Option<&Vec<Scope>> {
        self.scopes.as_ref()
    }
}

/// A token response that can be used, and what runner made of its odd parts.
#[derive(Debug)]
struct Checked {
    granted: Granted,
    /// There was no `token_type`: Bearer was assumed.
    token_type_missing: bool,
    /// How an odd `expires_in` was read, for a warning.
    lifetime_note: Option<String>,
}

/// The tokens in a 2xx answer that has an `access_token` field, or why they cannot
/// be used (completing "answered the … grant with …").
fn check_token_response(fields: &Fields) -> Result<Checked, String> {
    use serde_json::Value;
    let access_token = match fields.get("access_token") {
        None | Some(Value::Null) => return Err("no `access_token` field".into()),
        Some(Value::String(s)) if s.is_empty() => return Err("an empty `access_token`".into()),
        Some(Value::String(s)) if s.chars().any(char::is_control) => {
            return Err("an `access_token` that holds control characters".into());
        }
        Some(Value::String(s)) => s.clone(),
        Some(v) => return Err(format!("an `access_token` that is {}", json_kind(v))),
    };
    let (token_type, token_type_missing) = match fields.get("token_type") {
        None | Some(Value::Null) => ("bearer".to_string(), true),
        Some(Value::String(s)) if s.trim().is_empty() => ("bearer".to_string(), true),
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("bearer") => {
            ("bearer".to_string(), false)
        }
        Some(Value::String(s)) => (server_text(s.trim(), 40), false),
        Some(v) => return Err(format!("a `token_type` that is {}", json_kind(v))),
    };
    let (expires_in, lifetime_note) = lifetime(fields.get("expires_in"));
    let refresh_token = fields
        .get("refresh_token")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(Secret::new);
    let scope = fields
        .get("scope")
        .and_then(Value::as_str)
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "));
    Ok(Checked {
        granted: Granted {
            access_token: Secret::new(access_token),
            token_type,
            expires_in,
            refresh_token,
            scope,
            subject: fields
                .get("id_token")
                .and_then(Value::as_str)
                .and_then(id_token_subject),
        },
        token_type_missing,
        lifetime_note,
    })
}

/// `expires_in` (a number or a string) as whole seconds in `1..=MAX_LIFETIME`, and a
/// note when the value had to be bent. Zero, negative and non-numbers read as
/// "unknown": the token is used until the API refuses it (SPEC §4), rather than
/// refreshed before every request.
fn lifetime(v: Option<&serde_json::Value>) -> (Option<u64>, Option<String>) {
    use serde_json::Value;
    let shown = || {
        format!(
            "`expires_in: {}`",
            server_text(&v.map(|v| v.to_string()).unwrap_or_default(), 40)
        )
    };
    let unknown = |why: &str| {
        (
            None,
            Some(format!(
                "{}{why}: the token is used until the API refuses it",
                shown()
            )),
        )
    };
    let secs = match v {
        None | Some(Value::Null) => return (None, None),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(whole) => whole as f64,
            None => n.as_f64().unwrap_or(f64::NAN),
        },
        Some(Value::String(s)) => s.trim().parse::<f64>().unwrap_or(f64::NAN),
        Some(_) => f64::NAN,
    };
    if secs.is_nan() {
        unknown(", not a number")
    } else if secs <= 0.0 {
        unknown("")
    } else if secs > MAX_LIFETIME as f64 {
        (
            Some(MAX_LIFETIME),
            Some(format!(
                "{}: taken as ten years ({MAX_LIFETIME} s)",
                shown()
            )),
        )
    } else if secs.fract() != 0.0 {
        // In range, so the cast is exact after the floor; a fraction of a second is 1 s.
        let whole = (secs.floor() as u64).max(1);
        (
            Some(whole),
            Some(format!(
                "{}, not whole seconds: taken as {whole} s",
                shown()
            )),
        )
    } else {
        (Some(secs as u64), None)
    }
}

/// What kind of JSON value `v` is, for messages that must not show it.
fn json_kind(v: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean, not a string",
        Value::Number(_) => "a number, not a string",
        Value::String(_) => "a string",
        Value::Array(_) => "an array, not a string",
        Value::Object(_) => "an object, not a string",
    }
}

/// Text a server sent, fit for a terminal: control characters (escape sequences
/// included) replaced, at most `max` characters.
fn server_text(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .take(max)
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    if s.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

type OAuthClient = oauth2::Client<
    BasicErrorResponse,
    RunnerTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// The tokens one grant gave.
#[derive(Debug, Clone)]
pub struct Granted {
    pub access_token: Secret,
    pub token_type: String,
    pub expires_in: Option<u64>,
    pub refresh_token: Option<Secret>,
    pub scope: Option<String>,
    /// Who the server says logged in: the `id_token`'s `preferred_username`, `email`
    /// or `sub`, read without checking its signature (it is shown, never trusted).
    pub subject: Option<String>,
}

/// The account an OpenID Connect `id_token` names, for display only: its payload is
/// decoded, its signature not checked.
fn id_token_subject(id_token: &str) -> Option<String> {
    use base64::Engine;
    let payload = id_token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Fields = serde_json::from_slice(&bytes).ok()?;
    ["preferred_username", "email", "sub"]
        .iter()
        .find_map(|k| claims.get(*k).and_then(|v| v.as_str()))
        .filter(|s| !s.is_empty())
        .map(|s| server_text(s, 80))
}

/// An OAuth2 error answer (`error`, `error_description`) from an endpoint other than
/// the token endpoint's grants, as an [`AuthError`].
fn server_refusal(
    grant: &str,
    url: &url::Url,
    json: &Fields,
    status: http::StatusCode,
) -> AuthError {
    let text = |k: &str| {
        json.get(k)
            .and_then(|v| v.as_str())
            .map(|s| server_text(s, 300))
    };
    match text("error") {
        Some(error) => AuthError::Server {
            grant: grant.to_string(),
            url: url.to_string(),
            error,
            description: text("error_description"),
        },
        None if status.is_server_error() => AuthError::Transport(format!("{url} failed: {status}")),
        None => {
            AuthError::BadResponse(format!("{url} answered {status} without an OAuth2 `error`"))
        }
    }
}

/// An HTTP client for the authorization server: redirects off (credentials go only
/// to the URLs configured or discovered), the profile's TLS settings and timeout.
pub fn plain_client(config: &EndpointConfig) -> Result<reqwest::Client, AuthError> {
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(config.timeout)
        .user_agent(concat!("runner/", env!("CARGO_PKG_VERSION")));
    config
        .tls
        .apply(builder)
        .map_err(AuthError::Transport)?
        .build()
        .map_err(|e| AuthError::Transport(format!("cannot build the HTTP client: {e}")))
}

/// What a device authorization request gave (RFC 8628 §3.2).
pub type DeviceDetails = oauth2::StandardDeviceAuthorizationResponse;

/// The settings of one token endpoint.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    pub token_url: url::Url,
    pub client_id: String,
    pub client_secret: Option<Secret>,
    pub scopes: Vec<String>,
    pub token_request: TokenRequest,
    pub client_auth: ClientAuth,
    pub timeout: Duration,
    pub tls: crate::http::TlsOptions,
    /// `auth.params`: extra parameters of the authorize and code or device requests.
    pub params: Vec<(String, String)>,
}

/// A token endpoint and the HTTP client that talks to it (redirects off).
pub struct TokenEndpoint {
    client: OAuthClient,
    http: reqwest::Client,
    config: EndpointConfig,
}

/// Why the adapter gives the oauth2 crate no response to parse.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// The request did not reach the server.
    #[error("{0}")]
    Unreachable(String),
    /// The request went out and no whole answer came back: the server may have acted
    /// on it (spent a refresh token).
    #[error("{0}")]
    NoAnswer(String),
    /// An answer that is neither a token response nor an OAuth2 error.
    #[error("{status} ({content_type}), which is not a token response ({why})")]
    NotToken {
        status: http::StatusCode,
        content_type: String,
        why: String,
    },
    /// A 5xx: the server failed, whatever the body says.
    #[error("{status} ({content_type}){}", error.as_ref().map(|e| format!(": {e}")).unwrap_or_default())]
    ServerFailure {
        status: http::StatusCode,
        content_type: String,
        /// The OAuth2 `error` and `error_description`, when the body has them.
        error: Option<String>,
    },
}

impl TokenEndpoint {
    pub fn new(config: EndpointConfig) -> Result<TokenEndpoint, AuthError> {
        let token_url = TokenUrl::from_url(config.token_url.clone());
        let mut client = oauth2::Client::new(ClientId::new(config.client_id.clone()))
            .set_token_uri(token_url)
            .set_auth_type(match config.client_auth {
                ClientAuth::Body | ClientAuth::None => AuthType::RequestBody,
                ClientAuth::Basic => AuthType::BasicAuth,
            });
        if let Some(secret) = &config.client_secret
            && config.client_auth != ClientAuth::None
        {
            client = client.set_client_secret(ClientSecret::new(secret.expose().to_string()));
        }
        let http = plain_client(&config)?;
        Ok(TokenEndpoint {
            client,
            http,
            config,
        })
    }

    pub async fn password(&self, username: &str, password: &Secret) -> Result<Granted, AuthError> {
        let user = ResourceOwnerUsername::new(username.to_string());
        let pass = ResourceOwnerPassword::new(password.expose().to_string());
        let adapter = self.adapter();
        let mut req = self.client.exchange_password(&user, &pass);
        for s in &self.config.scopes {
            req = req.add_scope(Scope::new(s.clone()));
        }
        self.finish("password", req.request_async(&adapter).await)
    }

    /// The refresh grant. No `scope` is sent: RFC 6749 §6 then keeps the scope first
    /// granted, where asking again for the configured one can fail (a server that
    /// granted less refuses a refresh asking for more).
    pub async fn refresh(&self, refresh_token: &Secret) -> Result<Granted, AuthError> {
        let rt = RefreshToken::new(refresh_token.expose().to_string());
        let adapter = self.adapter();
        let req = self.client.exchange_refresh_token(&rt);
        self.finish("refresh_token", req.request_async(&adapter).await)
    }

    pub async fn client_credentials(&self) -> Result<Granted, AuthError> {
        let adapter = self.adapter();
        let mut req = self.client.exchange_client_credentials();
        for s in &self.config.scopes {
            req = req.add_scope(Scope::new(s.clone()));
        }
        self.finish("client_credentials", req.request_async(&adapter).await)
    }

    /// The authorization code grant (RFC 6749 §4.1.3) with its PKCE verifier.
    pub async fn authorization_code(
        &self,
        code: &Secret,
        redirect_uri: &str,
        verifier: &Secret,
    ) -> Result<Granted, AuthError> {
        let adapter = self.adapter();
        let redirect = oauth2::RedirectUrl::new(redirect_uri.to_string())
            .map_err(|e| AuthError::Interactive(format!("invalid redirect URI: {e}")))?;
        let mut req = self
            .client
            .exchange_code(oauth2::AuthorizationCode::new(code.expose().to_string()))
            .set_pkce_verifier(oauth2::PkceCodeVerifier::new(verifier.expose().to_string()))
            .set_redirect_uri(std::borrow::Cow::Owned(redirect));
        for (k, v) in &self.config.params {
            req = req.add_extra_param(k.clone(), v.clone());
        }
        self.finish("authorization_code", req.request_async(&adapter).await)
    }

    /// Asks `url` for a device code (RFC 8628 §3.1).
    pub async fn device_authorization(&self, url: &url::Url) -> Result<DeviceDetails, AuthError> {
        let mut params = Vec::new();
        if !self.config.scopes.is_empty() {
            params.push(("scope".to_string(), self.config.scopes.join(" ")));
        }
        params.extend(self.config.params.iter().cloned());
        let (status, body) = self.form_post(url, params).await?;
        let json: Fields = serde_json::from_slice(&body).map_err(|_| {
            AuthError::BadResponse(format!(
                "the device authorization endpoint {url} answered {status} with something that is not JSON"
            ))
        })?;
        if !status.is_success() {
            return Err(server_refusal("device_code", url, &json, status));
        }
        serde_json::from_value(serde_json::Value::Object(json)).map_err(|e| {
            AuthError::BadResponse(format!(
                "the device authorization endpoint {url} answered without what RFC 8628 asks ({e})"
            ))
        })
    }

    /// Polls the token endpoint for the device code of `details` (RFC 8628 §3.4):
    /// at its interval, 5 s more on `slow_down`, on through `authorization_pending`,
    /// until a token, a refusal, or `deadline`.
    pub async fn device_token(
        &self,
        details: &DeviceDetails,
        deadline: Duration,
    ) -> Result<Granted, AuthError> {
        let adapter = self.adapter();
        let result = self
            .client
            .exchange_device_access_token(details)
            .request_async(&adapter, tokio::time::sleep, Some(deadline))
            .await;
        self.finish("device_code", result)
    }

    /// Revokes `token` at `url` (RFC 7009); `hint` is `refresh_token` or `access_token`.
    pub async fn revoke(
        &self,
        url: &url::Url,
        token: &Secret,
        hint: &str,
    ) -> Result<(), AuthError> {
        let params = vec![
            ("token".to_string(), token.expose().to_string()),
            ("token_type_hint".to_string(), hint.to_string()),
        ];
        let (status, body) = self.form_post(url, params).await?;
        if status.is_success() {
            return Ok(());
        }
        let json: Fields = serde_json::from_slice(&body).unwrap_or_default();
        Err(server_refusal("revocation", url, &json, status))
    }

    /// A form POST to `url` with the client's authentication, and the answer (at most
    /// [`MAX_RESPONSE`]).
    async fn form_post(
        &self,
        url: &url::Url,
        mut params: Vec<(String, String)>,
    ) -> Result<(http::StatusCode, Vec<u8>), AuthError> {
        let c = &self.config;
        let secret = c
            .client_secret
            .as_ref()
            .filter(|_| c.client_auth != ClientAuth::None);
        let mut req = self.http.post(url.clone());
        match (c.client_auth, secret) {
            (ClientAuth::Basic, Some(secret)) => {
                // RFC 6749 §2.3.1: each part form-encoded before the base64.
                let enc = |s: &str| {
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                };
                req = req.basic_auth(enc(&c.client_id), Some(enc(secret.expose())));
            }
            (_, secret) => {
                params.push(("client_id".to_string(), c.client_id.clone()));
                if let Some(secret) = secret {
                    params.push(("client_secret".to_string(), secret.expose().to_string()));
                }
            }
        }
        let transport = |e: String| AuthError::Transport(format!("request to {url} failed: {e}"));
        let mut resp = req
            .form(&params)
            .send()
            .await
            .map_err(|e| transport(crate::http::root_cause(&e)))?;
        let status = resp.status();
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| transport(crate::http::error_chain(&e)))?
        {
            if body.len() + chunk.len() > MAX_RESPONSE {
                return Err(AuthError::BadResponse(format!(
                    "{url} answered with more than 1 MiB"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, body))
    }

    fn finish<T: oauth2::ErrorResponseType + AsRef<str> + std::fmt::Display + 'static>(
        &self,
        grant: &str,
        result: Result<
            RunnerTokenResponse,
            RequestTokenError<AdapterError, oauth2::StandardErrorResponse<T>>,
        >,
    ) -> Result<Granted, AuthError> {
        let url = self.config.token_url.to_string();
        match result {
            Ok(r) => {
                let checked = check_token_response(&r.fields).map_err(|why| {
                    AuthError::BadResponse(format!(
                        "the token endpoint {url} answered the {grant} grant with {why}"
                    ))
                })?;
                if checked.token_type_missing {
                    tracing::info!(
                        "the token endpoint {url} sent no `token_type`: taken as Bearer"
                    );
                }
                if let Some(note) = checked.lifetime_note {
                    eprintln!("warning: the token endpoint {url} sent {note}");
                }
                Ok(checked.granted)
            }
            Err(RequestTokenError::ServerResponse(r)) => Err(AuthError::Server {
                grant: grant.to_string(),
                url,
                error: r.error().as_ref().to_string(),
                description: r.error_description().cloned(),
            }),
            Err(RequestTokenError::Request(AdapterError::Unreachable(e))) => {
                let hint = if e.contains("certificate") {
                    " (a private certificate authority? trust it with --cacert FILE or http.ca_cert)"
                } else {
                    ""
                };
                Err(AuthError::Transport(format!(
                    "token request to {url} failed: {e}{hint}"
                )))
            }
            Err(RequestTokenError::Request(AdapterError::NoAnswer(cause))) => {
                if grant == "refresh_token" {
                    Err(AuthError::RefreshUnanswered { url, cause })
                } else {
                    Err(AuthError::Transport(format!(
                        "token request to {url} failed: {cause}"
                    )))
                }
            }
            Err(RequestTokenError::Request(e @ AdapterError::ServerFailure { .. })) => {
                Err(AuthError::Transport(format!(
                    "the token endpoint {url} failed on the {grant} grant: {e}"
                )))
            }
            Err(RequestTokenError::Request(e @ AdapterError::NotToken { status, .. })) => {
                let hint = if status.is_redirection() {
                    "; token requests do not follow redirects: is token_url right?"
                } else {
                    ""
                };
                Err(AuthError::BadResponse(format!(
                    "the token endpoint {url} answered the {grant} grant with {e}{hint}"
                )))
            }
            // The adapter passes on only JSON objects, so these are not expected; neither
            // the body nor serde's excerpt of it is shown: it may hold tokens.
            Err(RequestTokenError::Parse(_, body)) => Err(AuthError::BadResponse(format!(
                "the token endpoint {url} answered the {grant} grant with something that is not a token response ({} bytes)",
                body.len()
            ))),
            Err(RequestTokenError::Other(msg)) => Err(AuthError::BadResponse(format!(
                "the token endpoint {url} answered the {grant} grant unexpectedly: {msg}"
            ))),
        }
    }

    /// The closure the oauth2 crate calls to send a request.
    fn adapter(
        &self,
    ) -> impl Fn(
        oauth2::HttpRequest,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<oauth2::HttpResponse, AdapterError>> + Send>,
    > {
        let http = self.http.clone();
        let json = self.config.token_request == TokenRequest::Json;
        move |req: oauth2::HttpRequest| {
            let http = http.clone();
            Box::pin(async move { send(&http, req, json).await })
        }
    }
}

async fn send(
    http: &reqwest::Client,
    req: oauth2::HttpRequest,
    json: bool,
) -> Result<oauth2::HttpResponse, AdapterError> {
    let (parts, body) = req.into_parts();
    let mut headers = parts.headers;
    let body = if json {
        let mut map = serde_json::Map::new();
        for (k, v) in url::form_urlencoded::parse(&body) {
            map.insert(k.into_owned(), serde_json::Value::String(v.into_owned()));
        }
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        serde_json::to_vec(&map).map_err(|e| AdapterError::Unreachable(e.to_string()))?
    } else {
        body
    };
    if let Some(v) = headers.get_mut(http::header::AUTHORIZATION) {
        v.set_sensitive(true);
    }
    let mut resp = http
        .request(parts.method, parts.uri.to_string())
        .headers(headers)
        .body(body)
        .send()
        .await
        .map_err(|e| {
            if e.is_connect() {
                AdapterError::Unreachable(crate::http::root_cause(&e))
            } else {
                AdapterError::NoAnswer(crate::http::root_cause(&e))
            }
        })?;
    let status = resp.status();
    let content_type = resp
        .headers()
        .get(http::header::CONTENT_TYPE)
        .map(|v| server_text(&String::from_utf8_lossy(v.as_bytes()), 80))
        .unwrap_or_else(|| "no content type".to_string());
    let mut bytes = Vec::new();
    let mut complete = true;
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| AdapterError::NoAnswer(crate::http::error_chain(&e)))?
    {
        if bytes.len() + chunk.len() > MAX_RESPONSE {
            complete = false;
            break;
        }
        bytes.extend_from_slice(&chunk);
    }
    let body = if complete { Some(bytes) } else { None };
    classify(status, content_type, body)
}

/// What the oauth2 crate is given to parse: a token response (any 2xx JSON object
/// with an `access_token` field, as 200) or an OAuth2 error (re-encoded, as 400);
/// anything else is an [`AdapterError`] that names the status and content type and
/// never shows the body. `body` is `None` when it was larger than [`MAX_RESPONSE`].
fn classify(
    status: http::StatusCode,
    content_type: String,
    body: Option<Vec<u8>>,
) -> Result<oauth2::HttpResponse, AdapterError> {
    use serde_json::Value;
    let not_token = |why: &str| AdapterError::NotToken {
        status,
        content_type: content_type.clone(),
        why: why.to_string(),
    };
    let fields: Result<Fields, &str> = match &body {
        None => Err("more than 1 MiB"),
        Some(b) if b.iter().all(u8::is_ascii_whitespace) => Err("an empty body"),
        Some(b) => match serde_json::from_slice::<Value>(b) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err("JSON, but not an object"),
            Err(_) => Err("not JSON"),
        },
    };
    // The OAuth2 error fields, cleaned for a terminal.
    let oauth_error = |m: &Fields| {
        let error = m.get("error").and_then(Value::as_str)?;
        let description = m
            .get("error_description")
            .and_then(Value::as_str)
            .map(|d| server_text(d, 300));
        Some((server_text(error, 80), description))
    };
    if status.is_server_error() {
        let error = fields
            .ok()
            .as_ref()
            .and_then(oauth_error)
            .map(|(e, d)| match d {
                Some(d) => format!("{e}: {d}"),
                None => e,
            });
        return Err(AdapterError::ServerFailure {
            status,
            content_type,
            error,
        });
    }
    let fields = fields.map_err(not_token)?;
    let token = status.is_success() && fields.contains_key("access_token");
    let (status, body) = if token {
        (http::StatusCode::OK, serde_json::to_vec(&fields))
    } else if let Some((error, description)) = oauth_error(&fields) {
        // Also a 2xx without a token: some servers (GitHub's) send errors as 200.
        let mut clean = Fields::new();
        clean.insert("error".into(), Value::String(error));
        if let Some(d) = description {
            clean.insert("error_description".into(), Value::String(d));
        }
        (http::StatusCode::BAD_REQUEST, serde_json::to_vec(&clean))
    } else if status.is_success() {
        return Err(not_token("no `access_token` field"));
    } else {
        return Err(not_token("no `error` field"));
    };
    let body = body.map_err(|e| AdapterError::NoAnswer(e.to_string()))?;
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body)
        .map_err(|e| AdapterError::NoAnswer(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(json: &str) -> Fields {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn token_responses_as_servers_send_them() {
        // (body, token_type stored, Bearer assumed, expires_in, refresh token, scope)
        let cases = [
            (
                r#"{"access_token":"a","token_type":"bearer","expires_in":3600,"scope":null,"refresh_token":"r"}"#,
                "bearer",
                false,
                Some(3600),
                Some("r"),
                None,
            ),
            (
                r#"{"access_token":"a","token_type":"Bearer","expires_in":"3600"}"#,
                "bearer",
                false,
                Some(3600),
                None,
                None,
            ),
            (
                r#"{"access_token":"a","token_type":"BEARER","expires_in":3600.0,"x":1}"#,
                "bearer",
                false,
                Some(3600),
                None,
                None,
            ),
            (
                r#"{"access_token":"a","token_type":"bearer","scope":"read  write"}"#,
                "bearer",
                false,
                None,
                None,
                Some("read write"),
            ),
            (
                r#"{"access_token":"a","expires_in":60,"refresh_token":""}"#,
                "bearer",
                true,
                Some(60),
                None,
                None,
            ),
            (
                r#"{"access_token":"a","token_type":null}"#,
                "bearer",
                true,
                None,
                None,
                None,
            ),
            (
                r#"{"access_token":"a","token_type":" "}"#,
                "bearer",
                true,
                None,
                None,
                None,
            ),
            (
                r#"{"access_token":"a","token_type":"mac"}"#,
                "mac",
                false,
                None,
                None,
                None,
            ),
            (
                r#"{"access_token":"a","token_type":"DPoP"}"#,
                "DPoP",
                false,
                None,
                None,
                None,
            ),
        ];
        for (json, token_type, assumed, expires_in, refresh, scope) in cases {
            let c = check_token_response(&fields(json)).unwrap();
            assert_eq!(c.granted.access_token.expose(), "a", "{json}");
            assert_eq!(c.granted.token_type, token_type, "{json}");
            assert_eq!(c.token_type_missing, assumed, "{json}");
            assert_eq!(c.granted.expires_in, expires_in, "{json}");
            assert_eq!(
                c.granted.refresh_token.as_ref().map(|t| t.expose()),
                refresh,
                "{json}"
            );
            assert_eq!(c.granted.scope.as_deref(), scope, "{json}");
            assert_eq!(c.lifetime_note, None, "{json}");
        }
    }

    #[test]
    fn unusable_token_responses_say_why() {
        let cases = [
            (r#"{"token_type":"bearer"}"#, "no `access_token` field"),
            (r#"{"access_token":null}"#, "no `access_token` field"),
            (r#"{"access_token":""}"#, "an empty `access_token`"),
            (
                r#"{"access_token":42}"#,
                "an `access_token` that is a number, not a string",
            ),
            (
                r#"{"access_token":{"a":"b"}}"#,
                "an `access_token` that is an object, not a string",
            ),
            (
                r#"{"access_token":"a\r\nX-Injected: 1"}"#,
                "an `access_token` that holds control characters",
            ),
            (
                r#"{"access_token":"a","token_type":1}"#,
                "a `token_type` that is a number, not a string",
            ),
        ];
        for (json, why) in cases {
            assert_eq!(
                check_token_response(&fields(json)).unwrap_err(),
                why,
                "{json}"
            );
        }
    }

    #[test]
    fn odd_lifetimes_are_bent_with_a_note() {
        let unknown = ": the token is used until the API refuses it";
        let cases: &[(&str, Option<u64>, Option<String>)] = &[
            ("3600", Some(3600), None),
            ("\"3600\"", Some(3600), None),
            ("\" 60 \"", Some(60), None),
            ("1", Some(1), None),
            ("315360000", Some(MAX_LIFETIME), None),
            ("null", None, None),
            (
                "18446744073709551615",
                Some(MAX_LIFETIME),
                Some("`expires_in: 18446744073709551615`: taken as ten years (315360000 s)".into()),
            ),
            (
                "315360001",
                Some(MAX_LIFETIME),
                Some("`expires_in: 315360001`: taken as ten years (315360000 s)".into()),
            ),
            (
                "1e300",
                Some(MAX_LIFETIME),
                Some("`expires_in: 1e+300`: taken as ten years (315360000 s)".into()),
            ),
            (
                "\"inf\"",
                Some(MAX_LIFETIME),
                Some("`expires_in: \"inf\"`: taken as ten years (315360000 s)".into()),
            ),
            ("0", None, Some(format!("`expires_in: 0`{unknown}"))),
            ("-5", None, Some(format!("`expires_in: -5`{unknown}"))),
            ("-0.5", None, Some(format!("`expires_in: -0.5`{unknown}"))),
            (
                "\"-inf\"",
                None,
                Some(format!("`expires_in: \"-inf\"`{unknown}")),
            ),
            (
                "-18446744073709551615",
                None,
                Some(format!("`expires_in: -1.8446744073709552e+19`{unknown}")),
            ),
            (
                "1.5",
                Some(1),
                Some("`expires_in: 1.5`, not whole seconds: taken as 1 s".into()),
            ),
            (
                "0.25",
                Some(1),
                Some("`expires_in: 0.25`, not whole seconds: taken as 1 s".into()),
            ),
            (
                "\"3599.9\"",
                Some(3599),
                Some("`expires_in: \"3599.9\"`, not whole seconds: taken as 3599 s".into()),
            ),
            (
                "\"nan\"",
                None,
                Some(format!("`expires_in: \"nan\"`, not a number{unknown}")),
            ),
            (
                "\"soon\"",
                None,
                Some(format!("`expires_in: \"soon\"`, not a number{unknown}")),
            ),
            (
                "true",
                None,
                Some(format!("`expires_in: true`, not a number{unknown}")),
            ),
            (
                "[1]",
                None,
                Some(format!("`expires_in: [1]`, not a number{unknown}")),
            ),
        ];
        for (raw, secs, note) in cases {
            let v: serde_json::Value = serde_json::from_str(raw).unwrap();
            assert_eq!(lifetime(Some(&v)), (*secs, note.clone()), "{raw}");
        }
        assert_eq!(lifetime(None), (None, None));
        // A long or hostile string is cut and cleaned before it is shown.
        let v = serde_json::json!(format!("\u{1b}[2J{}", "9".repeat(100)));
        let note = lifetime(Some(&v)).1.unwrap();
        assert!(!note.contains('\u{1b}') && note.contains('…'), "{note}");
    }

    fn classified(status: u16, ct: &str, body: Option<&str>) -> Result<(u16, String), String> {
        classify(
            http::StatusCode::from_u16(status).unwrap(),
            ct.to_string(),
            body.map(|b| b.as_bytes().to_vec()),
        )
        .map(|r| {
            (
                r.status().as_u16(),
                String::from_utf8(r.body().clone()).unwrap(),
            )
        })
        .map_err(|e| e.to_string())
    }

    #[test]
    fn answers_are_sorted_before_oauth2_parses_them() {
        let ok = r#"{"access_token":"SECRET-AT","token_type":"bearer"}"#;
        let html = "<html>SECRET-AT</html>";
        // (status, content type, body, what oauth2 is given: status and body, or the error)
        type Case<'a> = (
            u16,
            &'a str,
            Option<&'a str>,
            Result<(u16, &'a str), &'a str>,
        );
        let cases: &[Case] = &[
            (200, "application/json", Some(ok), Ok((200, ok))),
            // The body decides, not the content type; any 2xx is a success.
            (200, "text/plain", Some(ok), Ok((200, ok))),
            (201, "application/json", Some(ok), Ok((200, ok))),
            // OAuth2 errors, cleaned; a 2xx without a token but with `error` is one too.
            (
                400,
                "application/json",
                Some(
                    r#"{"error":"invalid_grant","error_description":"bad\u001b[31m","x":"SECRET-AT"}"#,
                ),
                Ok((
                    400,
                    "{\"error\":\"invalid_grant\",\"error_description\":\"bad\u{fffd}[31m\"}",
                )),
            ),
            (
                401,
                "application/json",
                Some(r#"{"error":"invalid_client"}"#),
                Ok((400, r#"{"error":"invalid_client"}"#)),
            ),
            (
                200,
                "application/json",
                Some(r#"{"error":"invalid_scope","error_description":"no"}"#),
                Ok((400, r#"{"error":"invalid_scope","error_description":"no"}"#)),
            ),
            (
                200,
                "text/html; charset=utf-8",
                Some(html),
                Err("200 OK (text/html; charset=utf-8), which is not a token response (not JSON)"),
            ),
            (
                200,
                "application/json",
                Some(" \n"),
                Err("200 OK (application/json), which is not a token response (an empty body)"),
            ),
            (
                200,
                "application/json",
                Some(r#"["SECRET-AT"]"#),
                Err(
                    "200 OK (application/json), which is not a token response (JSON, but not an object)",
                ),
            ),
            (
                200,
                "application/json",
                Some(r#"{"token":"SECRET-AT"}"#),
                Err(
                    "200 OK (application/json), which is not a token response (no `access_token` field)",
                ),
            ),
            (
                200,
                "application/json",
                None,
                Err("200 OK (application/json), which is not a token response (more than 1 MiB)"),
            ),
            (
                404,
                "text/html",
                Some(html),
                Err("404 Not Found (text/html), which is not a token response (not JSON)"),
            ),
            (
                400,
                "application/json",
                Some(r#"{"error":{"code":"SECRET-AT"}}"#),
                Err(
                    "400 Bad Request (application/json), which is not a token response (no `error` field)",
                ),
            ),
            (
                302,
                "no content type",
                Some(""),
                Err("302 Found (no content type), which is not a token response (an empty body)"),
            ),
            (
                500,
                "text/html",
                Some(html),
                Err("500 Internal Server Error (text/html)"),
            ),
            (
                502,
                "no content type",
                None,
                Err("502 Bad Gateway (no content type)"),
            ),
            (
                503,
                "application/json",
                Some(r#"{"error":"temporarily_unavailable","error_description":"later"}"#),
                Err("503 Service Unavailable (application/json): temporarily_unavailable: later"),
            ),
            // Even with a token in it, a 5xx is a failure.
            (
                500,
                "application/json",
                Some(ok),
                Err("500 Internal Server Error (application/json)"),
            ),
        ];
        for (status, ct, body, want) in cases {
            let got = classified(*status, ct, *body);
            let want = want
                .map(|(s, b)| (s, b.to_string()))
                .map_err(str::to_string);
            assert_eq!(got, want, "{status} {ct} {body:?}");
        }
    }

    #[test]
    fn the_oauth2_crate_reads_what_the_adapter_passes_on() {
        let r: RunnerTokenResponse = serde_json::from_str(
            r#"{"access_token":"a","token_type":"MAC","scope":"read write","refresh_token":"r","expires_in":"60"}"#,
        )
        .unwrap();
        assert_eq!(r.access_token().secret(), "a");
        assert_eq!(r.token_type(), &BasicTokenType::Mac);
        assert_eq!(r.scopes().map(|s| s.len()), Some(2));
        assert_eq!(r.refresh_token().map(|t| t.secret().as_str()), Some("r"));
        assert_eq!(r.expires_in(), Some(Duration::from_secs(60)));
        // Its Debug (which the crate may print) holds no token.
        assert_eq!(format!("{r:?}"), "RunnerTokenResponse(5 fields)");
        let r: RunnerTokenResponse = serde_json::from_str(r#"{"access_token":"a"}"#).unwrap();
        assert_eq!(r.token_type(), &BasicTokenType::Bearer);
    }
}
