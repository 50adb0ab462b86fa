//! `GET /.well-known/oauth-authorization-server` (RFC 8414) and
//! `GET /.well-known/openid-configuration`: one document naming every endpoint, with
//! the sandbox's root URL as the issuer.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::CACHE_CONTROL;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::accounts::GRANTS;
use crate::state::AppState;

/// Both well-known paths answer this.
pub(crate) async fn metadata(State(state): State<AppState>) -> Response {
    let root = &state.root;
    let auth_methods = [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    ];
    let document = json!({
        "issuer": root,
        "authorization_endpoint": format!("{root}/oauth/v2/auth"),
        "token_endpoint": format!("{root}/oauth/v2/token"),
        "device_authorization_endpoint": format!("{root}/oauth/v2/device"),
        "revocation_endpoint": format!("{root}/oauth/v2/revoke"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": GRANTS.iter().map(|(g, _)| *g).collect::<Vec<_>>(),
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        // The demo key's (crate::signed): private_key_jwt and the JWT bearer grant.
        "token_endpoint_auth_signing_alg_values_supported": ["ES256"],
        "authorization_response_iss_parameter_supported": true,
        "dpop_signing_alg_values_supported": ["ES256"],
        // OpenID Connect discovery's own keys: ID tokens are unsigned.
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["none"],
        "claims_supported": ["iss", "sub", "aud", "iat", "exp", "nonce", "preferred_username", "email"],
    });
    let mut response = Json(document).into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("max-age=3600"));
    response
}
