//! Token exchange (RFC 8693) at the token endpoint: the subject token is one of the
//! sandbox's own live access tokens; the answer is a new access token for the same
//! user (or client), for the `audience` or `resource` asked for, without a refresh
//! token. `/_sandbox/stats` counts the exchanges per audience.

use std::collections::HashMap;

use crate::accounts::Client;
use crate::error::ApiError;
use crate::state::tokens::{Grant, Issued};
use crate::state::{AppState, lock};

/// The token exchange grant's `grant_type`.
pub(crate) const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The one token type the sandbox takes and gives.
pub(crate) const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// Trades `subject_token` for a new access token, for the client that asked.
pub(crate) fn exchange(
    state: &AppState,
    client: Client,
    params: &HashMap<String, String>,
    scope: Option<String>,
    now_ms: u64,
) -> Result<Issued, ApiError> {
    // RFC 8693 §2.2.2: a request or subject token that will not do is invalid_request.
    let subject = params.get("subject_token").ok_or_else(|| {
        ApiError::invalid_request("Missing parameter. \"subject_token\" required")
    })?;
    match params.get("subject_token_type").map(String::as_str) {
        Some(ACCESS_TOKEN_TYPE) => {}
        Some(other) => {
            return Err(ApiError::invalid_request(format!(
                "subject_token_type {other} is not supported: only {ACCESS_TOKEN_TYPE}"
            )));
        }
        None => {
            return Err(ApiError::invalid_request(
                "Missing parameter. \"subject_token_type\" required",
            ));
        }
    }
    if let Some(t) = params.get("requested_token_type")
        && t != ACCESS_TOKEN_TYPE
    {
        return Err(ApiError::invalid_request(format!(
            "requested_token_type {t} is not supported: only {ACCESS_TOKEN_TYPE}"
        )));
    }
    let target = params
        .get("audience")
        .or_else(|| params.get("resource"))
        .cloned()
        .unwrap_or_else(|| "(none)".to_owned());
    let mut tokens = lock(&state.tokens);
    let Some(subject) = tokens.live_grant(subject, now_ms) else {
        return Err(ApiError::invalid_request(
            "The subject_token is not a live access token of this server",
        ));
    };
    let grant = Grant {
        client_id: client.id().to_owned(),
        username: subject.username,
        scope: scope.or(subject.scope),
    };
    let issued = tokens.issue(now_ms, grant, false);
    drop(tokens);
    *lock(&state.stats)
        .token_exchanges
        .entry(target)
        .or_default() += 1;
    Ok(issued)
}
