//! The `/api/v1` handlers: list and get for every collection, writes and search for
//! assets, report creation and document upload. Authentication and faults are layers
//! around these (see `faults`, `oauth`).

use std::sync::RwLock;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::clock::rfc3339;
use crate::error::ApiError;
use crate::state::collection::{Collection, CollectionSpec, ListQuery};
use crate::state::{AppState, lock, read, write};
use axum::extract::Multipart;
use axum::extract::multipart::MultipartRejection;

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
    if let Err(err) = check_fields(read(&state.assets).spec(), &fields, "name", true) {
        return err.into_response();
    }
    default_field(&mut fields, "status", "active");
    let now = rfc3339(state.clock.now_secs());
    let response = create(&state.assets, fields, &now, &["created_at", "updated_at"]);
    lock(&state.stats).assets_created += 1;
    response
}

/// `POST /api/v1/reports`: `title` is required, `asset_id` must name an existing
/// asset, `status` defaults to "draft"; other fields are kept as sent.
pub(crate) async fn create_report(State(state): State<AppState>, body: Bytes) -> Response {
    let mut fields = match json_object(&body) {
        Ok(fields) => fields,
        Err(err) => return err.into_response(),
    };
    if let Err(err) = check_fields(read(&state.reports).spec(), &fields, "title", true) {
        return err.into_response();
    }
    let asset_exists = match fields.get("asset_id") {
        Some(Value::String(id)) => read(&state.assets).get(id).is_some(),
        _ => false,
    };
    if !asset_exists {
        return ApiError::invalid_request("\"asset_id\" must be the id of an existing asset")
            .into_response();
    }
    default_field(&mut fields, "status", "draft");
    let now = rfc3339(state.clock.now_secs());
    let response = create(&state.reports, fields, &now, &["created_at"]);
    lock(&state.stats).reports_created += 1;
    response
}

/// `POST /api/v1/documents` with a `multipart/form-data` body: the part named `file`
/// becomes a document (its metadata only: the bytes are counted as they stream past,
/// never kept, so any size uploads in little memory). An optional `name` part
/// overrides the file name; the type is the part's own, else guessed from the name.
pub(crate) async fn upload_document(
    State(state): State<AppState>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let fields = match multipart {
        Ok(m) => document_fields(m).await,
        Err(_) => Err(ApiError::invalid_request(format!(
            "Expected a multipart/form-data body, got {:?}",
            headers
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
        ))),
    };
    let fields = match fields {
        Ok(fields) => fields,
        Err(err) => return err.into_response(),
    };
    // Like the seeded documents: no timestamps.
    let response = create(&state.documents, fields, "", &[]);
    lock(&state.stats).documents_uploaded += 1;
    response
}

async fn document_fields(mut multipart: Multipart) -> Result<Map<String, Value>, ApiError> {
    let malformed = |e: axum::extract::multipart::MultipartError| {
        ApiError::invalid_request(format!("Malformed multipart body: {}", e.body_text()))
    };
    // (file name, type, size) of the `file` part, and the `name` part's text.
    let mut file: Option<(Option<String>, Option<String>, u64)> = None;
    let mut name_part: Option<String> = None;
    while let Some(mut field) = multipart.next_field().await.map_err(malformed)? {
        match field.name() {
            Some("file") => {
                let filename = field.file_name().map(str::to_owned);
                let content_type = field.content_type().map(str::to_owned);
                let mut size = 0u64;
                while let Some(chunk) = field.chunk().await.map_err(malformed)? {
                    size += chunk.len() as u64;
                }
                file = Some((filename, content_type, size));
            }
            Some("name") => {
                let text = field.text().await.map_err(malformed)?;
                name_part = Some(text.trim().to_owned());
            }
            _ => while field.chunk().await.map_err(malformed)?.is_some() {},
        }
    }
    let (filename, content_type, size) =
        file.ok_or_else(|| ApiError::invalid_request("The multipart body has no \"file\" part"))?;
    let name = name_part.or(filename).unwrap_or_default();
    if name.is_empty() {
        return Err(ApiError::invalid_request(
            "The document needs a name: a file name on the \"file\" part, or a \"name\" part",
        ));
    }
    let mime_type = content_type.unwrap_or_else(|| mime_from_name(&name).to_owned());
    let mut fields = Map::new();
    fields.insert("name".into(), Value::String(name));
    fields.insert("mime_type".into(), Value::String(mime_type));
    fields.insert("size".into(), Value::from(size));
    Ok(fields)
}

/// The type a file name's extension suggests; `application/octet-stream` if unknown.
fn mime_from_name(name: &str) -> &'static str {
    let extension = name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "pdf" => "application/pdf",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "csv" => "text/csv",
        "txt" => "text/plain",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

/// Stores a new record with a fresh id and the `timestamps` fields set to `now`, the
/// server's fields sent by the client dropped: 201 with the record and its `Location`.
fn create(
    collection: &RwLock<Collection>,
    mut fields: Map<String, Value>,
    now: &str,
    timestamps: &[&str],
) -> Response {
    for field in SERVER_FIELDS {
        fields.remove(field);
    }
    let id = uuid::Uuid::new_v4().to_string();
    fields.insert("id".into(), Value::String(id.clone()));
    for field in timestamps {
        fields.insert((*field).into(), Value::String(now.to_owned()));
    }
    let mut collection = write(collection);
    let path = collection.spec().path;
    let mut response = json_response(StatusCode::CREATED, collection.insert(fields));
    drop(collection);
    if let Ok(location) = HeaderValue::from_str(&format!("{path}/{id}")) {
        response.headers_mut().insert(LOCATION, location);
    }
    response
}

/// Sets `field` to `value` when the client sent nothing (or null) for it.
fn default_field(fields: &mut Map<String, Value>, field: &str, value: &str) {
    if matches!(fields.get(field), None | Some(Value::Null)) {
        fields.insert(field.into(), Value::String(value.into()));
    }
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
    if let Err(err) = check_fields(spec, &patch, "name", false) {
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

/// Validates the fields a write may set: `label` (the record's name or title) a
/// non-empty string, required when creating; enum fields one of their values.
fn check_fields(
    spec: &CollectionSpec,
    fields: &Map<String, Value>,
    label: &str,
    creating: bool,
) -> Result<(), ApiError> {
    match fields.get(label) {
        Some(Value::String(text)) if !text.trim().is_empty() => {}
        None if !creating => {}
        _ => {
            return Err(ApiError::invalid_request(format!(
                "\"{label}\" is required and must be a non-empty string"
            )));
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
