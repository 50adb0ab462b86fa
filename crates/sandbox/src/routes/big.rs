//! `GET /_sandbox/big?mb=N`: one large, deterministic JSON document, for benchmarks of
//! big responses (extraction from a 100 MB body). Never authenticated nor faulted.
//! Each size is generated once, on first request, and then served from memory, so the
//! server costs a memory copy per response and is not what a benchmark measures.

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

/// Sizes above this are refused: the document is kept in memory.
pub(crate) const MAX_MB: u64 = 1024;
const DEFAULT_MB: u64 = 100;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_bounded() {
        assert_eq!(size_from_query(None).unwrap(), DEFAULT_MB);
        assert_eq!(size_from_query(Some("mb=3")).unwrap(), 3);
        assert!(size_from_query(Some("mb=0")).is_err());
        assert!(size_from_query(Some("mb=99999")).is_err());
        assert!(size_from_query(Some("mb=x")).is_err());
    }
}
