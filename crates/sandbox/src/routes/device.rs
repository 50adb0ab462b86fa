//! The device authorization grant's HTTP side (RFC 8628): `POST /oauth/v2/device` for
//! the client, and `GET`/`POST /oauth/v2/device/verify`, where a person types the user
//! code and signs in. Polling happens at the token endpoint (see `oauth`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header::{CACHE_CONTROL, PRAGMA};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::page;
use super::params::{content_type, parse_params};
use crate::accounts::{self, PASSWORD, USERNAME};
use crate::state::devices::DeviceRequest;
use crate::state::{AppState, lock};

/// The path people are sent to.
pub(crate) const VERIFY_PATH: &str = "/oauth/v2/device/verify";

/// `POST /oauth/v2/device`: `client_id` (with the secret for the confidential client)
/// and `scope` in, a device code, a user code and where to enter it out.
pub(crate) async fn authorize(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut response = match start(&state, &headers, &body) {
        Ok(response) => response,
        Err(err) => accounts::unauthorized(err),
    };
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn start(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, crate::error::ApiError> {
    let params = parse_params(&content_type(headers), body)?;
    let client = accounts::authenticate(headers, &params)?;
    let started = lock(&state.devices).start(
        state.clock.now_ms(),
        DeviceRequest {
            client_id: client.id().to_owned(),
            scope: params.get("scope").cloned(),
        },
    );
    lock(&state.stats).device_codes_issued += 1;
    let verification_uri = format!("{}{VERIFY_PATH}", state.root);
    let complete = format!("{verification_uri}?user_code={}", started.user_code);
    Ok(Json(json!({
        "device_code": started.device_code,
        "user_code": started.user_code,
        "verification_uri": verification_uri,
        "verification_uri_complete": complete,
        "expires_in": started.expires_in,
        "interval": started.interval,
    }))
    .into_response())
}

/// `GET /oauth/v2/device/verify[?user_code=…]`: the approval form.
pub(crate) async fn show(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let user_code = url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "user_code")
        .map(|(_, v)| v.into_owned());
    let client = user_code
        .as_deref()
        .and_then(|code| lock(&state.devices).client_of(code).map(str::to_owned));
    page::response(
        StatusCode::OK,
        page::device_form(user_code.as_deref(), client.as_deref(), None),
    )
}

/// `POST /oauth/v2/device/verify`: `user_code`, `password` and `action` (`approve` or
/// `deny`). A wrong password or an unknown code shows the form again, with why.
pub(crate) async fn submit(State(state): State<AppState>, body: Bytes) -> Response {
    let mut user_code = None;
    let mut password = None;
    let mut deny = false;
    for (key, value) in url::form_urlencoded::parse(&body) {
        match key.as_ref() {
            "user_code" => user_code = Some(value.into_owned()),
            "password" => password = Some(value.into_owned()),
            "action" => deny = value == "deny",
            _ => {}
        }
    }
    let user_code = user_code.unwrap_or_default();
    let again = |message: &str| {
        page::response(
            StatusCode::BAD_REQUEST,
            page::device_form(Some(&user_code), None, Some(message)),
        )
    };
    if user_code.trim().is_empty() {
        return again("Enter the code your device shows.");
    }
    if !deny && password.as_deref() != Some(PASSWORD) {
        return again(&format!("Wrong password for {USERNAME}."));
    }
    let approval = (!deny).then_some(USERNAME);
    match lock(&state.devices).decide(&user_code, approval, state.clock.now_ms()) {
        Ok(()) if deny => page::response(
            StatusCode::OK,
            page::outcome(
                "Device denied",
                "denied",
                "The device was denied. You may close this window.",
            ),
        ),
        Ok(()) => page::response(
            StatusCode::OK,
            page::outcome(
                "Device connected",
                "approved",
                "The device is approved: return to it. You may close this window.",
            ),
        ),
        Err(refusal) => again(refusal.text()),
    }
}
