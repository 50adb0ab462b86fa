//! The `/api/v1` handlers: list and get for every collection, writes and search for
//! assets. Authentication and faults are layers around these (see `faults`, `oauth`).

use std::sync::RwLock;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::clock::rfc3339;
use super::collection::{Collection, CollectionSpec, ListQuery};
use super::error::ApiError;
use super::state::{AppState, lock, read, write};

/// Fields the server owns: ignored in request bodies.
const SERVER_FIELDS: [&str; 3] = ["id", "created_at", "updated_at"];

/// `GET {collection}`: one page of the envelope.
pub(crate) fn list(collection: &RwLock<Collection>, raw_query: Option<&str>) -> Response {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(raw_query.unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let collection = read(collection);
    let result = ListQuery::from_pairs(collection.spec(), &pairs)
        .and_then(|query| collection.page_json(&query, true).map_err(serialize_error));
    drop(collection);
    match result {
        Ok(bytes) => json_bytes(StatusCode::OK, bytes),
        Err(err) => err.into_response(),
    }
}

/// `GET {collection}/{id}`.
pub(crate) fn get_one(collection: &RwLock<Collection>, id: &str) -> Response {
    let collection = read(collection);
    match collection.get(id) {
        Some(record) => json_response(StatusCode::OK, record),
        None => not_found(collection.spec(), id).into_response(),
    }
}

/// `POST /api/v1/assets`: `name` is required; `status` defaults to "active"; other
/// fields are kept as sent.
pub(crate) async fn create_asset(State(state): State<AppState>, body: Bytes) -> Response {
    let mut fields = match json_object(&body) {
        Ok(fields) => fields,
        Err(err) => return err.into_response(),
    };
    let spec = read(&state.assets).spec();
    if let Err(err) = check_fields(spec, &fields, true) {
        return err.into_response();
    }
    for field in SERVER_FIELDS {
        fields.remove(field);
    }
    if matches!(fields.get("status"), None | Some(Value::Null)) {
        fields.insert("status".into(), Value::String("active".into()));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let now = rfc3339(state.clock.now_secs());
    fields.insert("id".into(), Value::String(id.clone()));
    fields.insert("created_at".into(), Value::String(now.clone()));
    fields.insert("updated_at".into(), Value::String(now));
    let mut response = {
        let mut assets = write(&state.assets);
        json_response(StatusCode::CREATED, assets.insert(fields))
    };
    lock(&state.stats).assets_created += 1;
    if let Ok(location) = HeaderValue::from_str(&format!("{}/{id}", spec.path)) {
        response.headers_mut().insert(LOCATION, location);
    }
    response
}

/// `PUT` and `PATCH /api/v1/assets/{id}`: merges the sent fields into the asset.
pub(crate) async fn update_asset(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let mut patch = match json_object(&body) {
        Ok(patch) => patch,
        Err(err) => return err.into_response(),
    };
    let spec = read(&state.assets).spec();
    if let Err(err) = check_fields(spec, &patch, false) {
        return err.into_response();
    }
    for field in SERVER_FIELDS {
        patch.remove(field);
    }
    patch.insert(
        "updated_at".into(),
        Value::String(rfc3339(state.clock.now_secs())),
    );
    let response = match write(&state.assets).update(&id, patch) {
        Some(record) => json_response(StatusCode::OK, record),
        None => return not_found(spec, &id).into_response(),
    };
    lock(&state.stats).assets_updated += 1;
    response
}

/// `DELETE /api/v1/assets/{id}`: 204, or 404 when there is no such asset.
pub(crate) async fn delete_asset(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Response {
    let mut assets = write(&state.assets);
    if !assets.remove(&id) {
        return not_found(assets.spec(), &id).into_response();
    }
    drop(assets);
    lock(&state.stats).assets_deleted += 1;
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /api/v1/assets/search` with `{"query", "status", "page", "limit", "sort"}`:
/// the list envelope, with null `next_page`/`previous_page` (page by number instead).
pub(crate) async fn search_assets(State(state): State<AppState>, body: Bytes) -> Response {
    let params = if body.iter().all(u8::is_ascii_whitespace) {
        Ok(Map::new())
    } else {
        json_object(&body)
    };
    let assets = read(&state.assets);
    let result = params
        .and_then(|params| search_query(assets.spec(), &params))
        .and_then(|query| assets.page_json(&query, false).map_err(serialize_error));
    drop(assets);
    match result {
        Ok(bytes) => json_bytes(StatusCode::OK, bytes),
        Err(err) => err.into_response(),
    }
}

fn search_query(spec: &CollectionSpec, params: &Map<String, Value>) -> Result<ListQuery, ApiError> {
    let mut pairs = Vec::new();
    let mut search = None;
    for (key, value) in params {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Null => continue,
            _ => {
                return Err(ApiError::invalid_request(format!(
                    "Invalid {key:?}: expected a string or a number"
                )));
            }
        };
        if key == "query" {
            search = Some(text);
        } else {
            pairs.push((key.clone(), text));
        }
    }
    let mut query = ListQuery::from_pairs(spec, &pairs)?;
    query.search = search.filter(|s| !s.is_empty());
    Ok(query)
}

/// Validates the fields a write may set: `name` a non-empty string (required when
/// creating), enum fields one of their values.
fn check_fields(
    spec: &CollectionSpec,
    fields: &Map<String, Value>,
    creating: bool,
) -> Result<(), ApiError> {
    match fields.get("name") {
        Some(Value::String(name)) if !name.trim().is_empty() => {}
        None if !creating => {}
        _ => {
            return Err(ApiError::invalid_request(
                "\"name\" is required and must be a non-empty string",
            ));
        }
    }
    for (field, _) in spec.enums {
        match fields.get(*field) {
            None | Some(Value::Null) => {}
            Some(Value::String(value)) => spec.check_enum(field, value)?,
            Some(_) => {
                return Err(ApiError::invalid_request(format!(
                    "\"{field}\" must be a string"
                )));
            }
        }
    }
    Ok(())
}

fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::invalid_request("The body must be a JSON object")),
        Err(e) => Err(ApiError::invalid_request(format!(
            "The body is not valid JSON: {e}"
        ))),
    }
}

fn not_found(spec: &CollectionSpec, id: &str) -> ApiError {
    ApiError::not_found(format!("No {} with id {id:?}", spec.noun))
}

fn serialize_error(e: serde_json::Error) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        e.to_string(),
    )
}

fn json_response(status: StatusCode, record: &Map<String, Value>) -> Response {
    match serde_json::to_vec(record) {
        Ok(bytes) => json_bytes(status, bytes),
        Err(e) => serialize_error(e).into_response(),
    }
}

fn json_bytes(status: StatusCode, bytes: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
