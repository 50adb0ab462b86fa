//! `/_sandbox/*`: introspection for tests, never authenticated nor faulted.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::error::ApiError;
use super::state::{AppState, FAIL_STATUSES, Stats, lock};

/// `GET /_sandbox/stats`.
pub(crate) async fn stats(State(state): State<AppState>) -> Json<Stats> {
    Json(lock(&state.stats).clone())
}

/// `POST /_sandbox/revoke`: every access token stops working; refresh tokens do not.
pub(crate) async fn revoke(State(state): State<AppState>) -> Json<Value> {
    let revoked = lock(&state.tokens).revoke_access(state.clock.now_ms());
    Json(json!({ "revoked": revoked }))
}

/// `POST /_sandbox/fail?count=N[&status=S]`: the next N `/api/v1` requests are
/// answered S (default 503; 429, 500, 502, 503 or 504), replacing what was armed.
pub(crate) async fn fail(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let mut count = None;
    let mut status = 503u16;
    for (key, value) in url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "count" => count = value.parse::<u64>().ok(),
            "status" => match value.parse::<u16>() {
                Ok(s) if FAIL_STATUSES.contains(&s) => status = s,
                _ => {
                    return ApiError::invalid_request(format!(
                        "Invalid status {value:?}: expected one of 429, 500, 502, 503, 504"
                    ))
                    .into_response();
                }
            },
            _ => {}
        }
    }
    let Some(count) = count else {
        return ApiError::invalid_request("\"count\" is required: a whole number").into_response();
    };
    let mut armed = lock(&state.fail_first);
    armed.remaining = count;
    armed.status = status;
    Json(json!({ "count": count, "status": status })).into_response()
}

/// `POST /_sandbox/clock?advance=SECONDS`: moves a manual clock (`--manual-clock`)
/// forward; answers the clock's time in Unix milliseconds.
pub(crate) async fn clock(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let advance = url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "advance")
        .and_then(|(_, v)| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0 && *s <= 1e9);
    let Some(seconds) = advance else {
        return ApiError::invalid_request("\"advance\" is required: seconds, from 0 to 1000000000")
            .into_response();
    };
    // Within 0..=1e9 s the product fits a u64 of milliseconds.
    let ms = (seconds * 1000.0).round() as u64;
    match state.clock.advance_ms(ms) {
        Some(now_ms) => Json(json!({ "now_ms": now_ms })).into_response(),
        None => ApiError::invalid_request(
            "The sandbox runs on the system clock; start it with --manual-clock",
        )
        .into_response(),
    }
}

/// `/_sandbox/echo` (any method, any sub-path): what the server received.
pub(crate) async fn echo(method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Json<Value> {
    let mut query = Map::new();
    for (key, value) in
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()).into_owned()
    {
        add_repeated(&mut query, key, Value::String(value));
    }
    let mut header_map: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in &headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        header_map
            .entry(name.as_str().to_owned())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&body).into_owned();
    let parsed = if body.is_empty() {
        Value::Null
    } else if content_type == "application/json" || content_type.ends_with("+json") {
        serde_json::from_slice(&body).unwrap_or(Value::String(text))
    } else {
        Value::String(text)
    };
    let mut echo = json!({
        "method": method.as_str(),
        "path": uri.path(),
        "query": query,
        "headers": header_map,
        "body": parsed,
    });
    if content_type == "application/x-www-form-urlencoded" {
        let mut form = Map::new();
        for (key, value) in url::form_urlencoded::parse(&body).into_owned() {
            add_repeated(&mut form, key, Value::String(value));
        }
        echo["form"] = Value::Object(form);
    }
    Json(echo)
}

/// Inserts a value; a repeated key turns into an array of its values.
fn add_repeated(map: &mut Map<String, Value>, key: String, value: Value) {
    match map.get_mut(&key) {
        None => {
            map.insert(key, value);
        }
        Some(Value::Array(values)) => values.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
    }
}
