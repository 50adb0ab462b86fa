//! `/_sandbox/*`: introspection for tests, never authenticated nor faulted.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, Method, Uri};
use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::state::{AppState, Stats, lock};

/// `GET /_sandbox/stats`.
pub(crate) async fn stats(State(state): State<AppState>) -> Json<Stats> {
    Json(lock(&state.stats).clone())
}

/// `POST /_sandbox/revoke`: every access token stops working; refresh tokens do not.
pub(crate) async fn revoke(State(state): State<AppState>) -> Json<Value> {
    let revoked = lock(&state.tokens).revoke_access(state.clock.now_ms());
    Json(json!({ "revoked": revoked }))
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
