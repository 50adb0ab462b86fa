//! `POST /oauth/v2/revoke` (RFC 7009): a client takes back one of its tokens. A refresh
//! token takes its whole family with it (the access tokens issued with it and after
//! it); an access token goes alone.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::params::{content_type, parse_params};
use crate::accounts;
use crate::error::ApiError;
use crate::state::tokens::Revoked;
use crate::state::{AppState, lock};

/// `token` and an optional `token_type_hint` in, 200 with an empty body out, also for a
/// token the sandbox does not know (RFC 7009 §2.2); 401 `invalid_client` for bad
/// client credentials.
pub(crate) async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut response = match revoke_token(&state, &headers, &body) {
        Ok(()) => StatusCode::OK.into_response(),
        Err(err) => accounts::unauthorized(err),
    };
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn revoke_token(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
    let params = parse_params(&content_type(headers), body)?;
    let client = accounts::authenticate(headers, &params)?;
    let token = params
        .get("token")
        .ok_or_else(|| ApiError::invalid_request("No \"token\" parameter found"))?;
    let hint = params.get("token_type_hint").map(String::as_str);
    let revoked = lock(&state.tokens).revoke(token, client.id(), hint);
    let mut stats = lock(&state.stats);
    let kind = match revoked {
        Revoked::OtherClient => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                "The token was issued to another client",
            ));
        }
        Revoked::Access => Some("access_token"),
        Revoked::Refresh { .. } => Some("refresh_token"),
        Revoked::Unknown => None,
    };
    stats.revocations += 1;
    if let Some(kind) = kind {
        *stats.revoked_tokens.entry(kind.to_owned()).or_default() += 1;
    }
    Ok(())
}
