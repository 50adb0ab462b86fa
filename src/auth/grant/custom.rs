//! Grants the `oauth2` crate does not know, sent the way it sends its own (through
//! the same adapter, so `token_request: json`, the `-vv` traces and the sorting of
//! answers are the same): the JWT bearer grant (RFC 7523 §2.1) and token exchange
//! (RFC 8693). Then the JSON pushed-authorization answer (RFC 9126).

use oauth2::RequestTokenError;
use oauth2::basic::BasicErrorResponse;

use super::adapter::{AdapterError, send};
use super::{Fields, Granted, RunnerTokenResponse, TokenEndpoint, server_refusal};
use crate::auth::AuthError;
use crate::auth::assertion::{JWT_BEARER_GRANT, TOKEN_EXCHANGE_GRANT};
use crate::secret::Secret;

/// What a token exchange asks for (RFC 8693 §2.1).
#[derive(Debug, Clone)]
pub struct ExchangeRequest {
    pub subject_token: Secret,
    pub subject_token_type: String,
    pub audience: Option<String>,
    pub resource: Option<String>,
    pub requested_token_type: Option<String>,
    /// The actor token and its type.
    pub actor: Option<(Secret, String)>,
}

impl TokenEndpoint {
    /// The JWT bearer grant with `assertion`; `scope` is sent unless the assertion
    /// carries the scopes itself (Google's form).
    pub async fn jwt_bearer(&self, assertion: &Secret, scope: bool) -> Result<Granted, AuthError> {
        let mut params = vec![("assertion".to_string(), assertion.expose().to_string())];
        if scope && !self.config.scopes.is_empty() {
            params.push(("scope".to_string(), self.config.scopes.join(" ")));
        }
        self.custom_grant(JWT_BEARER_GRANT, "jwt-bearer", params)
            .await
    }

    /// RFC 8693 token exchange.
    pub async fn token_exchange(&self, r: &ExchangeRequest) -> Result<Granted, AuthError> {
        let mut params = vec![
            (
                "subject_token".to_string(),
                r.subject_token.expose().to_string(),
            ),
            (
                "subject_token_type".to_string(),
                r.subject_token_type.clone(),
            ),
        ];
        let optional = [
            ("audience", &r.audience),
            ("resource", &r.resource),
            ("requested_token_type", &r.requested_token_type),
        ];
        for (k, v) in optional {
            if let Some(v) = v {
                params.push((k.to_string(), v.clone()));
            }
        }
        if let Some((token, kind)) = &r.actor {
            params.push(("actor_token".to_string(), token.expose().to_string()));
            params.push(("actor_token_type".to_string(), kind.clone()));
        }
        if !self.config.scopes.is_empty() {
            params.push(("scope".to_string(), self.config.scopes.join(" ")));
        }
        self.custom_grant(TOKEN_EXCHANGE_GRANT, "token-exchange", params)
            .await
    }

    /// A token request with `grant_type` and `params`, the client authenticated as
    /// configured, its answer read as the crate's grants are.
    async fn custom_grant(
        &self,
        grant_type: &str,
        name: &str,
        mut params: Vec<(String, String)>,
    ) -> Result<Granted, AuthError> {
        let c = &self.config;
        params.insert(0, ("grant_type".to_string(), grant_type.to_string()));
        let mut builder = http::Request::builder()
            .method(http::Method::POST)
            .uri(c.token_url.as_str())
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json");
        if let Some((user, pass)) = c.authenticate_form(&mut params) {
            use base64::Engine as _;
            let value = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
            builder = builder.header(http::header::AUTHORIZATION, format!("Basic {value}"));
        }
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&params)
            .finish();
        let req = builder
            .body(body.into_bytes())
            .map_err(|e| AuthError::Transport(format!("cannot build the token request: {e}")))?;
        let answer = send(&self.http, req, c).await;
        self.finish(name, read_answer(answer))
    }

    /// Pushes an authorization request (RFC 9126 §2.1) to `url` with the client's
    /// authentication; the `request_uri` the server gave.
    pub async fn push_authorization(
        &self,
        url: &url::Url,
        params: Vec<(String, String)>,
    ) -> Result<String, AuthError> {
        let (status, body) = self.form_post(url, params).await?;
        let json: Fields = serde_json::from_slice(&body).map_err(|_| {
            AuthError::BadResponse(format!(
                "the pushed authorization request endpoint {url} answered {status} with something that is not JSON"
            ))
        })?;
        if !status.is_success() {
            return Err(server_refusal(
                "pushed authorization",
                url,
                &json,
                status,
                self.config.client_auth,
            ));
        }
        match json.get("request_uri").and_then(|v| v.as_str()) {
            Some(uri) if !uri.is_empty() => Ok(uri.to_string()),
            _ => Err(AuthError::BadResponse(format!(
                "the pushed authorization request endpoint {url} answered without a `request_uri`"
            ))),
        }
    }
}

/// The adapter's sorted answer as the crate's request would have returned it. The
/// adapter passes on only JSON objects; serde's excerpt of anything else (it may hold
/// tokens) is never kept.
fn read_answer(
    answer: Result<oauth2::HttpResponse, AdapterError>,
) -> Result<RunnerTokenResponse, RequestTokenError<AdapterError, BasicErrorResponse>> {
    let resp = answer.map_err(RequestTokenError::Request)?;
    let body = resp.body();
    let unreadable = || {
        RequestTokenError::Other(format!(
            "an answer that does not parse ({} bytes)",
            body.len()
        ))
    };
    if resp.status().is_success() {
        serde_json::from_slice::<RunnerTokenResponse>(body).map_err(|_| unreadable())
    } else {
        match serde_json::from_slice::<BasicErrorResponse>(body) {
            Ok(e) => Err(RequestTokenError::ServerResponse(e)),
            Err(_) => Err(unreadable()),
        }
    }
}
