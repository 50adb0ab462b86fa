//! `/_sandbox/*`: introspection for tests, never authenticated nor faulted.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::accounts::USERNAME;
use crate::error::ApiError;
use crate::state::devices::DecideRefusal;
use crate::state::{AppState, FAIL_STATUSES, Stats, lock};

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
            "count" => count = value.parse::<u64>().ok().filter(|n| *n <= 1_000_000),
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
        return ApiError::invalid_request("\"count\" is required: a whole number up to 1000000")
            .into_response();
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

/// `POST /_sandbox/device/approve?user_code=…[&deny=1]`: decides on a device code as
/// the person at the verification page would, for tests that need no HTML.
pub(crate) async fn approve_device(
    State(state): State<AppState>,
    uri: Uri,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut user_code = None;
    let mut deny = false;
    for (key, value) in url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "user_code" => user_code = Some(value.into_owned()),
            "deny" => deny = !matches!(value.as_ref(), "" | "0" | "false"),
            _ => {}
        }
    }
    let Some(user_code) = user_code else {
        return ApiError::invalid_request("`user_code` is required").into_response();
    };
    let approval = (!deny).then_some(USERNAME);
    match lock(&state.devices).decide(&user_code, approval, state.clock.now_ms()) {
        Ok(()) => Json(json!({
            "user_code": user_code,
            "decision": if deny { "denied" } else { "approved" },
        }))
        .into_response(),
        Err(DecideRefusal::Unknown) => {
            ApiError::not_found(DecideRefusal::Unknown.text()).into_response()
        }
        Err(refusal) => ApiError::invalid_request(refusal.text()).into_response(),
    }
}

/// `/_sandbox/echo` (any method, any sub-path): what the server received. Besides the
/// parsed parts, `target` is the path and query as they came and `body_base64` the
/// body's bytes, for tests that compare two requests byte for byte.
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
        "target": uri.path_and_query().map_or(uri.path(), |pq| pq.as_str()),
        "query": query,
        "headers": header_map,
        "body": parsed,
        "body_base64": base64::engine::general_purpose::STANDARD.encode(&body),
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

/// `/_sandbox/redirect?to=URL&status=N` (any method): a redirect, for tests of how
/// clients follow them. `status` defaults to 302 and must be a 3xx; without `to` the
/// Location is the request's own path, a loop.
pub(crate) async fn redirect(uri: Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut to = None;
    let mut status = 302u16;
    for (key, value) in url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "to" => to = Some(value.into_owned()),
            "status" => status = value.parse().unwrap_or(0),
            _ => {}
        }
    }
    let status = match axum::http::StatusCode::from_u16(status) {
        Ok(s) if s.is_redirection() => s,
        _ => {
            return crate::error::ApiError::invalid_request("status must be a 3xx code")
                .into_response();
        }
    };
    // Without `to`, the redirect names itself: a loop.
    let to = to.unwrap_or_else(|| uri.to_string());
    (status, [(axum::http::header::LOCATION, to)]).into_response()
}

/// `GET /_sandbox/bytes?n=N`: N bytes (a repeating `0`–`9` pattern, then a newline),
/// generated as they are sent: a download of any size for tests and benchmarks.
pub(crate) async fn bytes(uri: Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    let n = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "n")
        .and_then(|(_, v)| v.parse::<u64>().ok());
    let Some(n) = n else {
        return crate::error::ApiError::invalid_request("`n` (the number of bytes) is required")
            .into_response();
    };
    const CHUNK: usize = 256 * 1024;
    let block = Bytes::from(
        (0..CHUNK)
            .map(|i| {
                if i % 64 == 63 {
                    b'\n'
                } else {
                    b'0' + (i % 10) as u8
                }
            })
            .collect::<Vec<u8>>(),
    );
    let chunks = futures_util::stream::unfold(n, move |left| {
        let block = block.clone();
        async move {
            if left == 0 {
                return None;
            }
            let take = left.min(CHUNK as u64) as usize;
            Some((
                Ok::<_, std::io::Error>(block.slice(..take)),
                left - take as u64,
            ))
        }
    });
    (
        [
            (CONTENT_TYPE, "application/octet-stream".to_string()),
            (axum::http::header::CONTENT_LENGTH, n.to_string()),
        ],
        axum::body::Body::from_stream(chunks),
    )
        .into_response()
}

/// `/_sandbox/sink` (any method): reads the body as it streams and answers how many
/// bytes came, keeping none: an upload of any size.
pub(crate) async fn sink(body: axum::body::Body) -> axum::response::Response {
    use axum::response::IntoResponse;
    use futures_util::StreamExt;
    let mut stream = body.into_data_stream();
    let mut bytes = 0u64;
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            return crate::error::ApiError::invalid_request("the body was cut short")
                .into_response();
        };
        bytes += chunk.len() as u64;
    }
    Json(json!({ "bytes": bytes })).into_response()
}
