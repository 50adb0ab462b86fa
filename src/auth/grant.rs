//! The token endpoint, through the `oauth2` crate and an adapter over our reqwest
//! client. The adapter rewrites the form body as JSON where the profile asks for it.
//! No caching here.

use std::time::Duration;

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AccessToken, AuthType, ClientId, ClientSecret, EndpointNotSet, EndpointSet, ExtraTokenFields,
    RefreshToken, RequestTokenError, ResourceOwnerPassword, ResourceOwnerUsername, Scope,
    StandardRevocableToken, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Deserializer, Serialize};

use super::AuthError;
use crate::model::profile::{ClientAuth, TokenRequest};
use crate::secret::Secret;

/// A token response as servers really send them: `expires_in` as a number or a
/// string, `scope` possibly null, extra fields kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunnerTokenResponse {
    access_token: AccessToken,
    #[serde(deserialize_with = "token_type_any_case")]
    token_type: BasicTokenType,
    #[serde(default, deserialize_with = "number_or_string")]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<RefreshToken>,
    #[serde(default, deserialize_with = "scope_list")]
    scope: Option<Vec<Scope>>,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Extra(serde_json::Map<String, serde_json::Value>);

impl ExtraTokenFields for Extra {}

impl TokenResponse for RunnerTokenResponse {
    type TokenType = BasicTokenType;

    fn access_token(&self) -> &AccessToken {
        &self.access_token
    }
    fn token_type(&self) -> &BasicTokenType {
        &self.token_type
    }
    fn expires_in(&self) -> Option<Duration> {
        self.expires_in.map(Duration::from_secs)
    }
    fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }
    fn scopes(&self) -> Option<&Vec<Scope>> {
        self.scope.as_ref()
    }
}

fn number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Int(u64),
        Float(f64),
        Text(String),
    }
    Ok(match Option::<Raw>::deserialize(d)? {
        None => None,
        Some(Raw::Int(n)) => Some(n),
        Some(Raw::Float(f)) if f >= 0.0 && f.is_finite() => Some(f as u64),
        Some(Raw::Float(_)) => None,
        Some(Raw::Text(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| *f >= 0.0)
            .map(|f| f as u64),
    })
}

fn token_type_any_case<'de, D: Deserializer<'de>>(d: D) -> Result<BasicTokenType, D::Error> {
    let raw = String::deserialize(d)?;
    Ok(match raw.to_ascii_lowercase().as_str() {
        "bearer" => BasicTokenType::Bearer,
        "mac" => BasicTokenType::Mac,
        _ => BasicTokenType::Extension(raw),
    })
}

fn scope_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Scope>>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(|s| {
        s.split_whitespace()
            .map(|x| Scope::new(x.to_string()))
            .collect()
    }))
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
}

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
}

/// A token endpoint and the HTTP client that talks to it (redirects off).
pub struct TokenEndpoint {
    client: OAuthClient,
    http: reqwest::Client,
    config: EndpointConfig,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AdapterError(String);

impl TokenEndpoint {
    pub fn new(config: EndpointConfig) -> Result<TokenEndpoint, AuthError> {
        let token_url = TokenUrl::from_url(config.token_url.clone());
        let mut client = oauth2::Client::new(ClientId::new(config.client_id.clone()))
            .set_token_uri(token_url)
            .set_auth_type(match config.client_auth {
                ClientAuth::Body => AuthType::RequestBody,
                ClientAuth::Basic => AuthType::BasicAuth,
            });
        if let Some(secret) = &config.client_secret {
            client = client.set_client_secret(ClientSecret::new(secret.expose().to_string()));
        }
        let builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .user_agent(concat!("runner/", env!("CARGO_PKG_VERSION")));
        let http = config
            .tls
            .apply(builder)
            .map_err(AuthError::Transport)?
            .build()
            .map_err(|e| AuthError::Transport(format!("cannot build the HTTP client: {e}")))?;
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

    pub async fn refresh(&self, refresh_token: &Secret) -> Result<Granted, AuthError> {
        let rt = RefreshToken::new(refresh_token.expose().to_string());
        let adapter = self.adapter();
        let mut req = self.client.exchange_refresh_token(&rt);
        for s in &self.config.scopes {
            req = req.add_scope(Scope::new(s.clone()));
        }
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

    fn finish(
        &self,
        grant: &str,
        result: Result<RunnerTokenResponse, RequestTokenError<AdapterError, BasicErrorResponse>>,
    ) -> Result<Granted, AuthError> {
        let url = self.config.token_url.to_string();
        match result {
            Ok(r) => {
                let scope = r.scope.as_ref().map(|list| {
                    list.iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                });
                Ok(Granted {
                    access_token: Secret::new(r.access_token.secret().clone()),
                    token_type: r.token_type.as_ref().to_string(),
                    expires_in: r.expires_in,
                    refresh_token: r.refresh_token.map(|t| Secret::new(t.secret().clone())),
                    scope,
                })
            }
            Err(RequestTokenError::ServerResponse(r)) => Err(AuthError::Server {
                grant: grant.to_string(),
                url,
                error: r.error().as_ref().to_string(),
                description: r.error_description().cloned(),
            }),
            Err(RequestTokenError::Request(e)) => {
                let hint = if e.0.contains("certificate") {
                    " (a private certificate authority? trust it with --cacert FILE or http.ca_cert)"
                } else {
                    ""
                };
                Err(AuthError::Transport(format!(
                    "token request to {url} failed: {e}{hint}"
                )))
            }
            // Neither the body nor serde's excerpt of it is shown: it may hold tokens.
            Err(RequestTokenError::Parse(_, body)) => Err(AuthError::BadResponse(format!(
                "the token endpoint {url} answered with something that is not a token response ({} bytes)",
                body.len()
            ))),
            Err(RequestTokenError::Other(msg)) => Err(AuthError::BadResponse(format!(
                "the token endpoint {url} answered unexpectedly: {msg}"
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
        serde_json::to_vec(&map).map_err(|e| AdapterError(e.to_string()))?
    } else {
        body
    };
    if let Some(v) = headers.get_mut(http::header::AUTHORIZATION) {
        v.set_sensitive(true);
    }
    let resp = http
        .request(parts.method, parts.uri.to_string())
        .headers(headers)
        .body(body)
        .send()
        .await
        .map_err(|e| AdapterError(crate::http::root_cause(&e)))?;
    let status = resp.status();
    let resp_headers = resp.headers().clone();
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| AdapterError(crate::http::error_chain(&e)))?;
    let mut out = http::Response::builder().status(status);
    if let Some(h) = out.headers_mut() {
        *h = resp_headers;
    }
    out.body(bytes.to_vec())
        .map_err(|e| AdapterError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_responses_as_servers_send_them() {
        let cases = [
            (
                r#"{"access_token":"a","token_type":"bearer","expires_in":3600,"scope":null,"refresh_token":"r"}"#,
                Some(3600),
            ),
            (
                r#"{"access_token":"a","token_type":"Bearer","expires_in":"3600"}"#,
                Some(3600),
            ),
            (
                r#"{"access_token":"a","token_type":"BEARER","expires_in":3600.0,"x":1}"#,
                Some(3600),
            ),
            (r#"{"access_token":"a","token_type":"bearer"}"#, None),
        ];
        for (json, exp) in cases {
            let r: RunnerTokenResponse = serde_json::from_str(json).unwrap();
            assert_eq!(r.expires_in, exp, "{json}");
            assert_eq!(r.token_type, BasicTokenType::Bearer, "{json}");
        }
        let r: RunnerTokenResponse = serde_json::from_str(
            r#"{"access_token":"a","token_type":"bearer","scope":"read write","ext":"x"}"#,
        )
        .unwrap();
        assert_eq!(r.scopes().map(|s| s.len()), Some(2));
        assert_eq!(r.extra.0.get("ext"), Some(&serde_json::json!("x")));
    }
}
