//! `GET /_sandbox/big?mb=N`: one large, deterministic JSON document, for benchmarks of
//! big responses (extraction from a 100 MB body). Never authenticated nor faulted.
//! Each size is generated once, on first request, and then served from memory, so the
//! server costs a memory copy per response and is not what a benchmark measures.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::Mutex;

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::seed::asset_id;
use super::state::{AppState, lock};

/// Sizes above this are refused: the document is kept in memory.
pub(crate) const MAX_MB: u64 = 1024;
const DEFAULT_MB: u64 = 100;

/// Documents already generated, by size in MiB.
#[derive(Default)]
pub(crate) struct BigDocuments(Mutex<HashMap<u64, Bytes>>);

impl BigDocuments {
    /// The document of `mb` MiB, generated on first use.
    fn get(&self, mb: u64) -> Bytes {
        lock(&self.0)
            .entry(mb)
            .or_insert_with(|| Bytes::from(document(mb * 1024 * 1024)))
            .clone()
    }
}

/// `GET /_sandbox/big?mb=N` (default 100, at most [`MAX_MB`]).
pub(crate) async fn big(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let mb = match size_from_query(query.as_deref()) {
        Ok(mb) => mb,
        Err(err) => return err.into_response(),
    };
    // Generating 100 MiB takes a fraction of a second: off the async workers.
    let state2 = state.clone();
    let bytes = match tokio::task::spawn_blocking(move || state2.big.get(mb)).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "generation failed",
            )
            .into_response();
        }
    };
    let mut response = Response::new(Body::from(bytes));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn size_from_query(query: Option<&str>) -> Result<u64, ApiError> {
    let raw = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == "mb")
        .map(|(_, v)| v.into_owned());
    match raw {
        None => Ok(DEFAULT_MB),
        Some(text) => match text.trim().parse::<u64>() {
            Ok(n) if (1..=MAX_MB).contains(&n) => Ok(n),
            _ => Err(ApiError::invalid_request(format!(
                "Invalid mb {text:?}: expected an integer from 1 to {MAX_MB}"
            ))),
        },
    }
}

/// `{"items":[...],"total_items":N}` of at least `min_bytes`: asset-shaped records,
/// every 5th archived (as the seeded assets are), each with a padding note so that
/// one record is about 230 bytes (100 MiB: 451,382 records).
pub(crate) fn document(min_bytes: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(min_bytes as usize + 4096);
    out.extend_from_slice(b"{\"items\":[");
    let mut n: u64 = 0;
    while (out.len() as u64) < min_bytes {
        n += 1;
        if n > 1 {
            out.push(b',');
        }
        let status = if n.is_multiple_of(5) {
            "archived"
        } else {
            "active"
        };
        // Writing to a Vec cannot fail.
        let _ = write!(
            out,
            "{{\"id\":\"{id}\",\"name\":\"Asset {n:07}\",\"status\":\"{status}\",\
             \"family_id\":{family},\"code\":\"AST-{n:07}\",\"score\":{score}.{frac:02},\
             \"tags\":[\"pump\",\"line-{line}\"],\
             \"note\":\"Deterministic filler text for benchmark record number {n}.\"}}",
            id = asset_id(n),
            family = n % 12 + 1,
            score = n % 100,
            frac = n % 97,
            line = n % 7,
        );
    }
    let _ = write!(out, "],\"total_items\":{n}}}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_json_of_at_least_the_size_asked() {
        let doc = document(100_000);
        assert!(doc.len() >= 100_000 && doc.len() < 101_000, "{}", doc.len());
        let value: serde_json::Value = serde_json::from_slice(&doc).unwrap();
        let items = value["items"].as_array().unwrap();
        assert_eq!(value["total_items"], items.len());
        assert_eq!(items[4]["status"], "archived");
        assert_eq!(items[0]["status"], "active");
        assert_eq!(document(100_000), doc, "deterministic");
    }

    #[test]
    fn sizes_are_bounded() {
        assert_eq!(size_from_query(None).unwrap(), DEFAULT_MB);
        assert_eq!(size_from_query(Some("mb=3")).unwrap(), 3);
        assert!(size_from_query(Some("mb=0")).is_err());
        assert!(size_from_query(Some("mb=99999")).is_err());
        assert!(size_from_query(Some("mb=x")).is_err());
    }
}
