//! DPoP at the sandbox's endpoints: the token endpoint binds the tokens of a request
//! that carries a proof (`token_type: DPoP`), and `/api/v1` asks a bound token for a
//! proof of the same key on every request (RFC 9449 §4.3, §7). With `--dpop-nonce`
//! proofs must carry the server's nonce: a `use_dpop_nonce` answer gives it; with
//! `--dpop-required` a token request without a proof is refused (`invalid_dpop_proof`).

use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::dpop::{Expected, ProofError};
use crate::state::{AppState, lock};

const NONCE_HEADER: &str = "DPoP-Nonce";

/// The `DPoP` header of a request, when it has exactly one.
fn proof_header(headers: &HeaderMap) -> Result<Option<&str>, &'static str> {
    let mut all = headers.get_all("DPoP").iter();
    match (all.next(), all.next()) {
        (None, _) => Ok(None),
        (Some(v), None) => v
            .to_str()
            .map(Some)
            .map_err(|_| "the DPoP header is not text"),
        _ => Err("more than one DPoP header"),
    }
}

/// Adds the server's nonce to `response`, when it asks for one.
pub(crate) fn with_nonce(state: &AppState, mut response: Response) -> Response {
    if let Some(nonce) = &lock(&state.dpop).nonce
        && let Ok(v) = HeaderValue::from_str(nonce)
    {
        response.headers_mut().insert(NONCE_HEADER, v);
    }
    response
}

/// The token endpoint's check: the `jkt` to bind the tokens to (`None` without a
/// proof), or the error to answer.
pub(crate) fn token_proof(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<String>, Box<Response>> {
    let refuse = |error: &'static str, why: &str| {
        let err = ApiError::new(StatusCode::BAD_REQUEST, error, why);
        Box::new(with_nonce(state, err.into_response()))
    };
    let proof = match proof_header(headers) {
        Ok(Some(p)) => p,
        Ok(None) if lock(&state.dpop).required => {
            return Err(refuse(
                "invalid_dpop_proof",
                "The DPoP proof JWT header is missing.",
            ));
        }
        Ok(None) => return Ok(None),
        Err(why) => return Err(refuse("invalid_dpop_proof", why)),
    };
    let url = format!("{}/oauth/v2/token", state.root);
    let want = Expected {
        method: "POST",
        url: &url,
        access_token: None,
        now_secs: state.clock.now_ms() / 1000,
    };
    let checked = lock(&state.dpop).check(proof, &want);
    match checked {
        Ok(jkt) => Ok(Some(jkt)),
        Err(ProofError::Nonce) => Err(refuse(
            "use_dpop_nonce",
            "Authorization server requires nonce in DPoP proof",
        )),
        Err(ProofError::Invalid(why)) => Err(refuse("invalid_dpop_proof", why)),
    }
}

/// The API's check of a request that presents `token` with `scheme`: `Ok` to let it
/// through, else the 401 to answer.
pub(crate) fn resource_check(
    state: &AppState,
    headers: &HeaderMap,
    scheme: &str,
    token: &str,
    method: &str,
    path: &str,
) -> Result<(), Box<Response>> {
    let bound = lock(&state.dpop).bound.get(token).cloned();
    let dpop = scheme.eq_ignore_ascii_case("dpop");
    let Some(jkt) = bound else {
        return if dpop {
            Err(challenge(
                state,
                "invalid_token",
                "This token is not DPoP-bound",
            ))
        } else {
            Ok(())
        };
    };
    if !dpop {
        return Err(challenge(
            state,
            "invalid_token",
            "This token is DPoP-bound: send it with the DPoP scheme and a proof",
        ));
    }
    let Ok(Some(proof)) = proof_header(headers) else {
        return Err(challenge(
            state,
            "invalid_dpop_proof",
            "A DPoP proof is required",
        ));
    };
    let url = format!("{}{path}", state.root);
    let want = Expected {
        method,
        url: &url,
        access_token: Some(token),
        now_secs: state.clock.now_ms() / 1000,
    };
    let checked = lock(&state.dpop).check(proof, &want);
    match checked {
        Ok(k) if k == jkt => Ok(()),
        Ok(_) => Err(challenge(
            state,
            "invalid_dpop_proof",
            "The proof's key is not the token's",
        )),
        Err(ProofError::Nonce) => Err(challenge(
            state,
            "use_dpop_nonce",
            "Resource server requires nonce in DPoP proof",
        )),
        Err(ProofError::Invalid(why)) => Err(challenge(state, "invalid_dpop_proof", why)),
    }
}

/// A 401 with a `DPoP` challenge (RFC 9449 §7.1).
fn challenge(state: &AppState, error: &'static str, description: &str) -> Box<Response> {
    let mut response = ApiError::new(StatusCode::UNAUTHORIZED, error, description).into_response();
    let text =
        format!("DPoP algs=\"ES256\", error=\"{error}\", error_description=\"{description}\"");
    if let Ok(v) = HeaderValue::from_str(&text) {
        response.headers_mut().insert(WWW_AUTHENTICATE, v);
    }
    Box::new(with_nonce(state, response))
}
