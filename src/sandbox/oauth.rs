//! `POST /oauth/v2/token` as FOSOAuthServerBundle answers it, and the bearer check that
//! guards `/api/v1`.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, PRAGMA, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use serde_json::{Value, json};

use super::error::ApiError;
use super::state::{AppState, lock};
use super::tokens::{AccessCheck, Grant, Issued, RefreshRefusal};

/// The one OAuth2 client the sandbox knows.
pub const CLIENT_ID: &str = "sandbox";
/// The secret of [`CLIENT_ID`].
pub const CLIENT_SECRET: &str = "sandbox-secret";
/// The one user the password grant accepts.
pub const USERNAME: &str = "demo";
/// The password of [`USERNAME`].
pub const PASSWORD: &str = "demo";

const GRANTS: [&str; 3] = ["password", "refresh_token", "client_credentials"];

/// The token endpoint. Every answer carries `Cache-Control: no-store`.
pub(crate) async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = content_type(&headers);
    let mut response = match grant(&state, &headers, &content_type, &body) {
        Ok(issued) => (StatusCode::OK, Json(token_body(&issued))).into_response(),
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

fn token_body(issued: &Issued) -> Value {
    let mut body = json!({
        "access_token": issued.access_token,
        "expires_in": issued.expires_in,
        "token_type": "bearer",
        "scope": issued.scope,
    });
    if let (Some(refresh), Some(map)) = (&issued.refresh_token, body.as_object_mut()) {
        map.insert("refresh_token".into(), Value::String(refresh.clone()));
    }
    body
}

/// Checks in the order FOSOAuthServerBundle does: grant type present, client, grant.
fn grant(
    state: &AppState,
    headers: &HeaderMap,
    content_type: &str,
    body: &[u8],
) -> Result<Issued, ApiError> {
    let params = parse_params(content_type, body);
    let grant_type = params
        .as_ref()
        .ok()
        .and_then(|p| p.get("grant_type"))
        .cloned();
    {
        let mut stats = lock(&state.stats);
        *stats
            .token_content_types
            .entry(content_type.to_owned())
            .or_default() += 1;
        if let Some(g) = grant_type.as_deref().filter(|g| GRANTS.contains(g)) {
            *stats.token_requests.entry(g.to_owned()).or_default() += 1;
            stats
                .last_token_content_type
                .insert(g.to_owned(), content_type.to_owned());
        }
    }
    let params = params?;
    let grant_type = grant_type.ok_or_else(|| {
        ApiError::invalid_request("Invalid grant_type parameter or parameter missing")
    })?;
    let method = authenticate_client(headers, &params)?;
    *lock(&state.stats)
        .token_client_auth
        .entry(method.to_owned())
        .or_default() += 1;
    let scope = params.get("scope").cloned();
    let now = state.clock.now_ms();
    match grant_type.as_str() {
        "password" => {
            let (Some(username), Some(password)) = (params.get("username"), params.get("password"))
            else {
                return Err(ApiError::invalid_request(
                    "Missing parameters. \"username\" and \"password\" required",
                ));
            };
            if username != USERNAME || password != PASSWORD {
                return Err(invalid_grant("Invalid username and password combination"));
            }
            let grant = Grant {
                username: Some(username.clone()),
                scope,
            };
            Ok(lock(&state.tokens).issue(now, grant, true))
        }
        "refresh_token" => {
            let refresh = params
                .get("refresh_token")
                .ok_or_else(|| ApiError::invalid_request("No \"refresh_token\" parameter found"))?;
            let mut tokens = lock(&state.tokens);
            let mut grant = match tokens.spend_refresh(refresh, now) {
                Ok(grant) => grant,
                Err(RefreshRefusal::Spent) => {
                    lock(&state.stats).refresh_reuse += 1;
                    return Err(invalid_grant("Invalid refresh token"));
                }
                Err(RefreshRefusal::Unknown) => return Err(invalid_grant("Invalid refresh token")),
                Err(RefreshRefusal::Expired) => {
                    return Err(invalid_grant("Refresh token has expired"));
                }
            };
            if scope.is_some() {
                grant.scope = scope;
            }
            Ok(tokens.issue(now, grant, true))
        }
        "client_credentials" => {
            let grant = Grant {
                username: None,
                scope,
            };
            Ok(lock(&state.tokens).issue(now, grant, false))
        }
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Invalid grant_type parameter or parameter missing",
        )),
    }
}

fn invalid_grant(description: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

/// The media type without parameters, lowercased; `none` when the header is absent.
fn content_type(headers: &HeaderMap) -> String {
    match headers.get(CONTENT_TYPE).map(|v| v.to_str()) {
        None => "none".to_owned(),
        Some(Ok(v)) => v
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase(),
        Some(Err(_)) => "invalid".to_owned(),
    }
}

/// Reads the body as JSON or as a form, by Content-Type (a form when absent). Empty
/// values count as absent, as they do for the PHP server.
fn parse_params(content_type: &str, body: &[u8]) -> Result<HashMap<String, String>, ApiError> {
    let pairs: Vec<(String, String)> = if content_type == "application/json"
        || content_type.ends_with("+json")
    {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::invalid_request(format!("Invalid JSON body: {e}")))?;
        let Value::Object(map) = value else {
            return Err(ApiError::invalid_request(
                "Invalid JSON body: expected an object",
            ));
        };
        let mut pairs = Vec::with_capacity(map.len());
        for (key, value) in map {
            let text = match value {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                Value::Null => continue,
                _ => {
                    return Err(ApiError::invalid_request(format!(
                        "Invalid value for {key:?}: expected a string or a number"
                    )));
                }
            };
            pairs.push((key, text));
        }
        pairs
    } else if content_type == "application/x-www-form-urlencoded" || content_type == "none" {
        url::form_urlencoded::parse(body).into_owned().collect()
    } else {
        return Err(ApiError::invalid_request(format!(
            "Unsupported Content-Type {content_type:?}: send application/x-www-form-urlencoded or application/json"
        )));
    };
    Ok(pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect())
}

/// Client credentials from HTTP Basic (preferred, RFC 6749 §2.3.1) or from the body.
/// Checks the client's credentials; says where they were: `basic` or `body`.
fn authenticate_client(
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Result<&'static str, ApiError> {
    let ((id, secret), method) = match basic_credentials(headers)? {
        Some(pair) => (pair, "basic"),
        None => {
            let id = params
                .get("client_id")
                .ok_or_else(|| invalid_client("Client id was not found in the headers or body"))?;
            (
                (
                    id.clone(),
                    params.get("client_secret").cloned().unwrap_or_default(),
                ),
                "body",
            )
        }
    };
    if id == CLIENT_ID && secret == CLIENT_SECRET {
        Ok(method)
    } else {
        Err(invalid_client("The client credentials are invalid"))
    }
}

fn invalid_client(description: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_client", description)
}

/// `Authorization: Basic base64(urlencode(id):urlencode(secret))`, or `None` when the
/// header is absent or of another scheme.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, ApiError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || invalid_client("Malformed Basic authorization header");
    let value = value.to_str().map_err(|_| malformed())?.trim();
    let (scheme, encoded) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let encoded = encoded.trim();
    let decoded = STANDARD
        .decode(encoded)
        .or_else(|_| STANDARD_NO_PAD.decode(encoded))
        .map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    Ok(Some((form_decode(id), form_decode(secret))))
}

/// application/x-www-form-urlencoded decoding of one component: `+` is a space, `%XX`
/// a byte; a `%` not followed by two hex digits stays as it is.
fn form_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&hi), Some(&lo)) => hex(hi).zip(hex(lo)).map(|(hi, lo)| hi * 16 + lo),
            _ => None,
        };
        match (escaped, bytes[i]) {
            (Some(byte), _) => {
                out.push(byte);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, byte) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Lets a request through only with a live access token (`Authorization: Bearer T`,
/// scheme case-insensitive); otherwise 401 with `WWW-Authenticate: Bearer`.
pub(crate) async fn require_bearer(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let check = match bearer_token(request.headers()) {
        Some(token) => lock(&state.tokens).check_access(token, state.clock.now_ms()),
        None => AccessCheck::Unknown,
    };
    match check {
        AccessCheck::Valid => next.run(request).await,
        AccessCheck::Expired => unauthorized("The access token provided has expired."),
        AccessCheck::Unknown => unauthorized("The access token provided is invalid."),
    }
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decodes_components() {
        let cases = [
            ("sandbox", "sandbox"),
            ("a+b", "a b"),
            ("a%2Bb%3A%25", "a+b:%"),
            ("caf%C3%A9", "café"),
            ("100%", "100%"),
            ("%zz%4", "%zz%4"),
        ];
        for (input, want) in cases {
            assert_eq!(form_decode(input), want, "{input}");
        }
    }

    #[test]
    fn reads_basic_credentials() {
        let mut headers = HeaderMap::new();
        assert_eq!(basic_credentials(&headers), Ok(None));
        let encoded = STANDARD.encode("a%3Ab:s%20c+d");
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("basic {encoded}")).unwrap(),
        );
        assert_eq!(
            basic_credentials(&headers),
            Ok(Some(("a:b".to_owned(), "s c d".to_owned())))
        );
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        assert_eq!(
            basic_credentials(&headers).unwrap_err().error,
            "invalid_client"
        );
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer xyz"));
        assert_eq!(basic_credentials(&headers), Ok(None));
    }

    #[test]
    fn parses_json_and_form_params() {
        let json = parse_params(
            "application/json",
            br#"{"grant_type":"password","n":7,"e":"","z":null}"#,
        )
        .unwrap();
        assert_eq!(json.get("grant_type").map(String::as_str), Some("password"));
        assert_eq!(json.get("n").map(String::as_str), Some("7"));
        assert!(!json.contains_key("e") && !json.contains_key("z"));
        let form = parse_params("application/x-www-form-urlencoded", b"scope=a+b&x=%41").unwrap();
        assert_eq!(form.get("scope").map(String::as_str), Some("a b"));
        assert_eq!(form.get("x").map(String::as_str), Some("A"));
        for (ct, body) in [
            ("application/json", &b"[1]"[..]),
            ("application/json", b"{"),
            ("application/json", br#"{"a":[1]}"#),
            ("text/plain", b"a=b"),
        ] {
            assert_eq!(parse_params(ct, body).unwrap_err().error, "invalid_request");
        }
    }
}
