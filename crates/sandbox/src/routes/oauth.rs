//! `POST /oauth/v2/token` as FOSOAuthServerBundle answers it, with the authorization
//! code (RFC 6749 §4.1.3, PKCE) and device code (RFC 8628 §3.4) grants besides
//! Ermeo's own, and the bearer check that guards `/api/v1`.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, PRAGMA, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::params::{content_type, parse_params};
use crate::accounts::{
    self, Client, DEVICE_GRANT, GRANTS, PASSWORD, USER_EMAIL, USER_ID, USERNAME,
};
use crate::error::ApiError;
use crate::state::codes::{CodeRefusal, Exchange};
use crate::state::devices::Poll;
use crate::state::tokens::{AccessCheck, Grant, Issued, RefreshRefusal};
use crate::state::{AppState, lock};

/// A successful token request: the tokens, and an ID token for the interactive grants.
struct Answer {
    issued: Issued,
    id_token: Option<String>,
    /// Token exchange: `issued_token_type` goes in the answer (RFC 8693 §2.2.1).
    issued_token_type: Option<&'static str>,
}

impl From<Issued> for Answer {
    fn from(issued: Issued) -> Self {
        Answer {
            issued,
            id_token: None,
            issued_token_type: None,
        }
    }
}

/// The token endpoint. Every answer carries `Cache-Control: no-store`.
pub(crate) async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = content_type(&headers);
    let jkt = match super::dpop::token_proof(&state, &headers) {
        Ok(jkt) => jkt,
        Err(refusal) => return *refusal,
    };
    let mut response = match grant(&state, &headers, &content_type, &body) {
        Ok(answer) => {
            let mut body = token_body(&answer);
            if let Some(jkt) = jkt {
                // RFC 9449 §5: the access token is bound to the proof's key.
                lock(&state.dpop)
                    .bound
                    .insert(answer.issued.access_token.clone(), jkt);
                body["token_type"] = Value::String("DPoP".into());
            }
            super::dpop::with_nonce(&state, (StatusCode::OK, Json(body)).into_response())
        }
        Err(err) => {
            lock(&state.stats).token_errors += 1;
            err.into_response()
        }
    };
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn token_body(answer: &Answer) -> Value {
    let issued = &answer.issued;
    let mut body = json!({
        "access_token": issued.access_token,
        "expires_in": issued.expires_in,
        "token_type": "bearer",
        "scope": issued.scope,
    });
    if let Some(map) = body.as_object_mut() {
        if let Some(refresh) = &issued.refresh_token {
            map.insert("refresh_token".into(), Value::String(refresh.clone()));
        }
        if let Some(id_token) = &answer.id_token {
            map.insert("id_token".into(), Value::String(id_token.clone()));
        }
        if let Some(kind) = answer.issued_token_type {
            map.insert("issued_token_type".into(), Value::String(kind.into()));
        }
    }
    body
}

/// Checks in the order FOSOAuthServerBundle does: grant type present, client, grant.
fn grant(
    state: &AppState,
    headers: &HeaderMap,
    content_type: &str,
    body: &[u8],
) -> Result<Answer, ApiError> {
    let params = parse_params(content_type, body);
    let grant_type = params
        .as_ref()
        .ok()
        .and_then(|p| p.get("grant_type"))
        .cloned();
    count_request(state, content_type, grant_type.as_deref());
    let params = params?;
    let grant_type = grant_type.ok_or_else(|| {
        ApiError::invalid_request("Invalid grant_type parameter or parameter missing")
    })?;
    let scope = params.get("scope").cloned();
    let now = state.clock.now_ms();
    if grant_type == crate::signed::JWT_BEARER_GRANT {
        return jwt_bearer_grant(state, headers, &params, scope, now);
    }
    let client = client_for(state, headers, &params, &grant_type)?;
    if grant_type == super::exchange::TOKEN_EXCHANGE {
        let issued = super::exchange::exchange(state, client, &params, scope, now)?;
        return Ok(Answer {
            issued,
            id_token: None,
            issued_token_type: Some(super::exchange::ACCESS_TOKEN_TYPE),
        });
    }
    match grant_type.as_str() {
        "password" => password_grant(state, client, &params, scope, now),
        "refresh_token" => refresh_grant(state, client, &params, scope, now),
        "client_credentials" => {
            let grant = Grant {
                client_id: client.id().to_owned(),
                username: None,
                scope,
            };
            Ok(lock(&state.tokens).issue(now, grant, false).into())
        }
        "authorization_code" => code_grant(state, client, &params, now),
        DEVICE_GRANT => device_grant(state, client, &params, now),
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Invalid grant_type parameter or parameter missing",
        )),
    }
}

/// Counts a token request by Content-Type and, when known, by grant type.
fn count_request(state: &AppState, content_type: &str, grant_type: Option<&str>) {
    let mut stats = lock(&state.stats);
    *stats
        .token_content_types
        .entry(content_type.to_owned())
        .or_default() += 1;
    let counted = GRANTS.iter().find(|(g, _)| Some(*g) == grant_type);
    if let Some((_, key)) = counted {
        *stats.token_requests.entry((*key).to_owned()).or_default() += 1;
        stats
            .last_token_content_type
            .insert((*key).to_owned(), content_type.to_owned());
    }
}

/// The client that authenticated (counted by where its credentials were), if it may
/// use the grant.
fn client_for(
    state: &AppState,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    grant_type: &str,
) -> Result<Client, ApiError> {
    let client = accounts::authenticate(headers, params)?;
    let method = if accounts::basic_credentials(headers)?.is_some() {
        "basic"
    } else {
        "body"
    };
    *lock(&state.stats)
        .token_client_auth
        .entry(method.to_owned())
        .or_default() += 1;
    if !client.may_use_grant(grant_type) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            format!(
                "The client {} is public: it may not use the {grant_type} grant",
                client.id()
            ),
        ));
    }
    Ok(client)
}

/// The JWT bearer grant (RFC 7523 §2.1): an assertion signed with the demo key,
/// issued by the confidential client (`iss`), for the user (`sub: demo`) or for the
/// client itself (no `sub`). Client authentication is optional (RFC 7523 §3.1).
fn jwt_bearer_grant(
    state: &AppState,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    scope: Option<String>,
    now: u64,
) -> Result<Answer, ApiError> {
    use crate::signed::{claim, verify};
    let names_client = params.contains_key("client_id")
        || params.contains_key("client_assertion")
        || accounts::basic_credentials(headers)?.is_some();
    if names_client {
        client_for(state, headers, params, crate::signed::JWT_BEARER_GRANT)?;
    }
    let assertion = params
        .get("assertion")
        .ok_or_else(|| ApiError::invalid_request("Missing parameter. \"assertion\" required"))?;
    let claims = verify(assertion).map_err(|e| invalid_grant(&e))?;
    if claim(&claims, "iss") != Some(accounts::CLIENT_ID) {
        return Err(invalid_grant(
            "the assertion's iss must be the client the demo key belongs to (sandbox)",
        ));
    }
    let username = match claim(&claims, "sub") {
        None => None,
        Some(USERNAME) => Some(USERNAME.to_owned()),
        Some(_) => return Err(invalid_grant("the assertion's sub is not a user (demo)")),
    };
    let grant = Grant {
        client_id: accounts::CLIENT_ID.to_owned(),
        username,
        scope,
    };
    Ok(lock(&state.tokens).issue(now, grant, false).into())
}

/// `grant_type=password`: the one user's name and password.
fn password_grant(
    state: &AppState,
    client: Client,
    params: &HashMap<String, String>,
    scope: Option<String>,
    now: u64,
) -> Result<Answer, ApiError> {
    let (Some(username), Some(password)) = (params.get("username"), params.get("password")) else {
        return Err(ApiError::invalid_request(
            "Missing parameters. \"username\" and \"password\" required",
        ));
    };
    if username != USERNAME || password != PASSWORD {
        return Err(invalid_grant("Invalid username and password combination"));
    }
    let grant = Grant {
        client_id: client.id().to_owned(),
        username: Some(username.clone()),
        scope,
    };
    Ok(lock(&state.tokens).issue(now, grant, true).into())
}

/// `grant_type=refresh_token`: a live refresh token of this client, spent; a new scope,
/// when sent, replaces the old one.
fn refresh_grant(
    state: &AppState,
    client: Client,
    params: &HashMap<String, String>,
    scope: Option<String>,
    now: u64,
) -> Result<Answer, ApiError> {
    let refresh = params
        .get("refresh_token")
        .ok_or_else(|| ApiError::invalid_request("No \"refresh_token\" parameter found"))?;
    let mut tokens = lock(&state.tokens);
    let (mut grant, family) = match tokens.spend_refresh(refresh, client.id(), now) {
        Ok(spent) => spent,
        Err(RefreshRefusal::Spent) => {
            lock(&state.stats).refresh_reuse += 1;
            return Err(invalid_grant("Invalid refresh token"));
        }
        Err(RefreshRefusal::Unknown) => return Err(invalid_grant("Invalid refresh token")),
        Err(RefreshRefusal::Expired) => {
            return Err(invalid_grant("Refresh token has expired"));
        }
        Err(RefreshRefusal::OtherClient) => {
            return Err(invalid_grant(
                "The refresh token was issued to another client",
            ));
        }
    };
    if scope.is_some() {
        grant.scope = scope;
    }
    Ok(tokens.issue_in(now, grant, family, true).into())
}

/// `grant_type=authorization_code`: `code`, `redirect_uri` and `code_verifier` must
/// match what was approved. A code that comes back revokes what it bought.
fn code_grant(
    state: &AppState,
    client: Client,
    params: &HashMap<String, String>,
    now: u64,
) -> Result<Answer, ApiError> {
    let exchange = Exchange {
        code: required(params, "code")?,
        client_id: client.id(),
        redirect_uri: required(params, "redirect_uri")?,
        code_verifier: required(params, "code_verifier")?,
    };
    // Held until the tokens are recorded, so that a reuse racing the first exchange
    // still finds what to revoke.
    let mut codes = lock(&state.codes);
    let request = match codes.redeem(exchange, now) {
        Ok(request) => request,
        Err(CodeRefusal::Spent(family)) => {
            lock(&state.stats).code_reuse += 1;
            return Err(invalid_grant(match family {
                Some(family) => {
                    lock(&state.tokens).revoke_family(family);
                    "The authorization code was already used: the tokens issued for it are revoked"
                }
                None => "The authorization code was already used",
            }));
        }
        Err(refusal) => return Err(invalid_grant(code_refusal_text(refusal))),
    };
    let grant = Grant {
        client_id: client.id().to_owned(),
        username: Some(request.username.clone()),
        scope: request.scope.clone(),
    };
    let issued = lock(&state.tokens).issue(now, grant, true);
    codes.record_family(exchange.code, issued.family);
    Ok(Answer {
        issued_token_type: None,
        id_token: Some(id_token(
            state,
            client.id(),
            &request.username,
            request.nonce.as_deref(),
            now,
        )),
        issued,
    })
}

fn code_refusal_text(refusal: CodeRefusal) -> &'static str {
    match refusal {
        CodeRefusal::Unknown => "Invalid authorization code",
        CodeRefusal::Spent(_) => "The authorization code was already used",
        CodeRefusal::Expired => "The authorization code has expired",
        CodeRefusal::OtherClient => "The authorization code was issued to another client",
        CodeRefusal::OtherRedirectUri => "redirect_uri is not the one of the authorization request",
        CodeRefusal::MalformedVerifier => {
            "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.1)"
        }
        CodeRefusal::VerifierMismatch => {
            "PKCE verification failed: S256(code_verifier) is not the code_challenge"
        }
    }
}

/// `grant_type=urn:ietf:params:oauth:grant-type:device_code`: a poll (RFC 8628 §3.5).
fn device_grant(
    state: &AppState,
    client: Client,
    params: &HashMap<String, String>,
    now: u64,
) -> Result<Answer, ApiError> {
    let device_code = required(params, "device_code")?;
    let poll = lock(&state.devices).poll(device_code, client.id(), now);
    let refused =
        |error, description: &str| Err(ApiError::new(StatusCode::BAD_REQUEST, error, description));
    match poll {
        Poll::Ready { request, username } => {
            let grant = Grant {
                client_id: request.client_id,
                username: Some(username.clone()),
                scope: request.scope,
            };
            let issued = lock(&state.tokens).issue(now, grant, true);
            Ok(Answer {
                issued_token_type: None,
                id_token: Some(id_token(state, client.id(), &username, None, now)),
                issued,
            })
        }
        Poll::Pending => refused(
            "authorization_pending",
            "The user has not yet approved this device code",
        ),
        Poll::SlowDown { interval } => refused(
            "slow_down",
            &format!("Polling too fast: wait {interval} s between requests"),
        ),
        Poll::Denied => refused("access_denied", "The user denied the request"),
        Poll::Expired => refused("expired_token", "The device code has expired"),
        Poll::Spent => Err(invalid_grant("The device code was already used")),
        Poll::Unknown => Err(invalid_grant("Invalid device code")),
        Poll::OtherClient => Err(invalid_grant(
            "The device code was issued to another client",
        )),
    }
}

/// An unsigned OpenID Connect ID token (`alg: none`): who signed in, for a client to
/// show, never to trust.
fn id_token(
    state: &AppState,
    client_id: &str,
    username: &str,
    nonce: Option<&str>,
    now_ms: u64,
) -> String {
    let issued_at = now_ms / 1000;
    let mut claims = json!({
        "iss": state.root,
        "sub": USER_ID,
        "aud": client_id,
        "iat": issued_at,
        "exp": issued_at.saturating_add(state.opts.access_ttl),
        "preferred_username": username,
        "email": USER_EMAIL,
    });
    if let (Some(nonce), Some(map)) = (nonce, claims.as_object_mut()) {
        map.insert("nonce".into(), Value::String(nonce.to_owned()));
    }
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.")
}

fn required<'a>(params: &'a HashMap<String, String>, name: &str) -> Result<&'a str, ApiError> {
    params
        .get(name)
        .map(String::as_str)
        .ok_or_else(|| ApiError::invalid_request(format!("No \"{name}\" parameter found")))
}

fn invalid_grant(description: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

/// Lets a request through only with a live access token (`Authorization: Bearer T`,
/// scheme case-insensitive; `DPoP T` with a proof for a DPoP-bound one); otherwise 401
/// with `WWW-Authenticate: Bearer` (or `DPoP`).
pub(crate) async fn require_bearer(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let check = match bearer_token(request.headers()) {
        Some((scheme, token)) => {
            let check = lock(&state.tokens).check_access(token, state.clock.now_ms());
            if check == AccessCheck::Valid
                && let Err(refusal) = super::dpop::resource_check(
                    &state,
                    request.headers(),
                    scheme,
                    token,
                    request.method().as_str(),
                    request.uri().path(),
                )
            {
                return *refusal;
            }
            check
        }
        None => AccessCheck::Unknown,
    };
    match check {
        AccessCheck::Valid => next.run(request).await,
        AccessCheck::Expired => unauthorized("The access token provided has expired."),
        AccessCheck::Unknown => unauthorized("The access token provided is invalid."),
    }
}

/// The scheme (`Bearer` or `DPoP`, any case) and the token of `Authorization`.
fn bearer_token(headers: &HeaderMap) -> Option<(&str, &str)> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    let known = scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("dpop");
    (known && !token.is_empty()).then_some((scheme, token))
}

fn unauthorized(description: &'static str) -> Response {
    let challenge = format!(
        "Bearer realm=\"Service\", error=\"invalid_grant\", error_description=\"{description}\""
    );
    let mut response =
        ApiError::new(StatusCode::UNAUTHORIZED, "invalid_grant", description).into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    response
}
