//! `/api/v1/paged/*`: the seeded assets, in storage order, paged the ways the big
//! public APIs page, so that a client's paging can be tried against each:
//!
//! - `link`: GitHub's. A JSON array; the next page in a `Link` header
//!   (`</api/v1/paged/link?page=2&per_page=30>; rel="next"`), `page` and `per_page`.
//! - `cursor`: Slack's. `{ok, members, response_metadata: {next_cursor}}`; `cursor`
//!   and `limit` from the query or from a form or JSON body (any method).
//! - `stripe`: Stripe's. `{object: "list", data, has_more}`; `starting_after` (an id)
//!   and `limit`.
//! - `offset`: `{items, total}`; `offset` and `limit`.
//! - `graphql`: a POST of `{query, variables}` asking for `assets(first, after)`:
//!   `{data: {assets: {nodes, pageInfo: {endCursor, hasNextPage}, totalCount}}}`; a
//!   query that does not ask for `assets` gets `{errors: [{message}]}` with a 200.
//!
//! `loop=1` (a query or body parameter; a GraphQL variable `loop: true`) makes each
//! style misbehave the way a broken server does: the same next link or cursor again,
//! or "more" with nothing to continue from.

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{CONTENT_TYPE, LINK};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::state::{AppState, read};

/// The most items one page gives, whatever is asked.
const MAX_PER_PAGE: usize = 100;

/// Parameters from the query string, then the body (form or JSON object): later wins.
struct Params(Map<String, Value>);

impl Params {
    fn read(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Result<Params, ApiError> {
        let mut map = Map::new();
        for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()).into_owned() {
            map.insert(k, Value::String(v));
        }
        let content_type = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if body.is_empty() {
        } else if content_type.starts_with("application/json") {
            match serde_json::from_slice(body) {
                Ok(Value::Object(o)) => map.extend(o),
                _ => return Err(ApiError::invalid_request("The body is not a JSON object")),
            }
        } else {
            for (k, v) in url::form_urlencoded::parse(body).into_owned() {
                map.insert(k, Value::String(v));
            }
        }
        Ok(Params(map))
    }

    fn text(&self, name: &str) -> Option<String> {
        match self.0.get(name)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// A count: absent gives `default`; anything but a whole number is refused.
    fn count(&self, name: &str, default: usize) -> Result<usize, ApiError> {
        match self.text(name) {
            None => Ok(default),
            Some(t) => t.parse().map_err(|_| {
                ApiError::invalid_request(format!("\"{name}\" must be a whole number"))
            }),
        }
    }

    fn looping(&self) -> bool {
        matches!(self.text("loop").as_deref(), Some("1" | "true"))
    }
}

/// Any method on `/api/v1/paged/{style}`.
pub(crate) async fn paged(
    State(state): State<AppState>,
    Path(style): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match Params::read(query.as_deref(), &headers, &body) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let result = match style.as_str() {
        "link" => link(&state, &params),
        "cursor" => cursor(&state, &params),
        "stripe" => stripe(&state, &params),
        "offset" => offset(&state, &params),
        "graphql" => graphql(&state, &params),
        _ => Err(ApiError::not_found(
            "No paging style by this name (link, cursor, stripe, offset, graphql)",
        )),
    };
    match result {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

fn json(value: &Value) -> Response {
    let mut response = Response::new(Body::from(value.to_string()));
    *response.status_mut() = StatusCode::OK;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// `len` assets from `start`, and the total.
fn window(state: &AppState, start: usize, len: usize) -> (Vec<Value>, usize) {
    let assets = read(&state.assets);
    let items = assets
        .window(start, len.min(MAX_PER_PAGE))
        .into_iter()
        .map(|m| Value::Object(m.clone()))
        .collect();
    (items, assets.len())
}

fn link(state: &AppState, p: &Params) -> Result<Response, ApiError> {
    let page = p.count("page", 1)?.max(1);
    let per_page = p.count("per_page", 30)?.clamp(1, MAX_PER_PAGE);
    let (items, total) = window(state, (page - 1).saturating_mul(per_page), per_page);
    let last = total.div_ceil(per_page).max(1);
    let looping = if p.looping() { "&loop=1" } else { "" };
    let url = |n: usize| format!("/api/v1/paged/link?page={n}&per_page={per_page}{looping}");
    let mut rels = Vec::new();
    if p.looping() {
        rels.push(format!("<{}>; rel=\"next\"", url(1)));
    } else if page < last {
        rels.push(format!("<{}>; rel=\"next\"", url(page + 1)));
    }
    if page > 1 {
        rels.push(format!("<{}>; rel=\"prev\"", url(page - 1)));
    }
    rels.push(format!("<{}>; rel=\"first\"", url(1)));
    rels.push(format!("<{}>; rel=\"last\"", url(last)));
    let mut response = json(&Value::Array(items));
    if let Ok(v) = HeaderValue::from_str(&rels.join(", ")) {
        response.headers_mut().insert(LINK, v);
    }
    Ok(response)
}

/// An opaque cursor for a position, as Slack's are.
fn encode_cursor(position: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("asset:{position}"))
}

fn decode_cursor(cursor: &str) -> Result<usize, ApiError> {
    base64::engine::general_purpose::STANDARD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("asset:")?.parse().ok())
        .ok_or_else(|| ApiError::invalid_request("invalid_cursor"))
}

fn cursor(state: &AppState, p: &Params) -> Result<Response, ApiError> {
    let limit = p.count("limit", 20)?.clamp(1, MAX_PER_PAGE);
    let start = match p.text("cursor") {
        Some(c) => decode_cursor(&c)?,
        None => 0,
    };
    let (items, total) = window(state, start, limit);
    let end = start + items.len();
    let next = if p.looping() {
        encode_cursor(limit)
    } else if end < total {
        encode_cursor(end)
    } else {
        String::new()
    };
    Ok(json(&json!({
        "ok": true,
        "members": items,
        "response_metadata": {"next_cursor": next},
    })))
}

fn stripe(state: &AppState, p: &Params) -> Result<Response, ApiError> {
    let limit = p.count("limit", 10)?.clamp(1, MAX_PER_PAGE);
    let start = match p.text("starting_after") {
        Some(id) => {
            let at = read(&state.assets)
                .position(&id)
                .ok_or_else(|| ApiError::invalid_request(format!("No such asset: '{id}'")))?;
            at + 1
        }
        None => 0,
    };
    let (items, total) = window(state, start, limit);
    let has_more = p.looping() || start + items.len() < total;
    Ok(json(&json!({
        "object": "list",
        "url": "/api/v1/paged/stripe",
        "has_more": has_more,
        "data": items,
    })))
}

fn offset(state: &AppState, p: &Params) -> Result<Response, ApiError> {
    let limit = p.count("limit", 20)?.clamp(1, MAX_PER_PAGE);
    let start = p.count("offset", 0)?;
    let (items, total) = window(state, start, limit);
    Ok(json(
        &json!({"items": items, "total": total, "offset": start}),
    ))
}

fn graphql(state: &AppState, p: &Params) -> Result<Response, ApiError> {
    let Some(query) = p.text("query") else {
        return Err(ApiError::invalid_request(
            "A GraphQL request is a JSON body with a \"query\"",
        ));
    };
    if !query.contains("assets") {
        return Ok(json(&json!({
            "data": null,
            "errors": [{
                "message": "Cannot query this field on type \"Query\": the sandbox answers assets(first: Int, after: String)",
                "locations": [{"line": 1, "column": 3}],
            }],
        })));
    }
    let vars = match p.0.get("variables") {
        Some(Value::Object(v)) => Params(v.clone()),
        _ => Params(Map::new()),
    };
    let first = vars.count("first", 10)?.clamp(1, MAX_PER_PAGE);
    let start = match vars.text("after") {
        Some(c) => decode_cursor(&c)?,
        None => 0,
    };
    let (items, total) = window(state, start, first);
    let end = start + items.len();
    let (end_cursor, more) = if vars.looping() {
        (Value::String(encode_cursor(first)), true)
    } else if items.is_empty() {
        (Value::Null, false)
    } else {
        (Value::String(encode_cursor(end)), end < total)
    };
    Ok(json(&json!({
        "data": {"assets": {
            "nodes": items,
            "pageInfo": {"endCursor": end_cursor, "hasNextPage": more},
            "totalCount": total,
        }},
    })))
}
