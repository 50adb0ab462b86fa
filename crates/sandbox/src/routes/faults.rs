//! The outermost `/api/v1` layer: counts the request by route, then applies the
//! configured faults (latency, the first N failed on purpose, rate limit, random
//! 503s) before the request goes on.

use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::{AppState, lock};

pub(crate) async fn faults(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(route) = request.extensions().get::<MatchedPath>() {
        let key = format!("{} {}", request.method(), route.as_str());
        *lock(&state.stats).requests.entry(key).or_default() += 1;
    }
    let opts = &state.opts;
    if opts.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(opts.latency_ms)).await;
    }
    let planned = lock(&state.fail_first).take();
    if let Some(status) = planned {
        return planned_failure(status);
    }
    if let Some(limit) = opts.rate_limit {
        let now = state.clock.now_secs();
        if !lock(&state.rate).admit(now, limit) {
            let mut response = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("More than {limit} requests per second"),
            )
            .into_response();
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("1"));
            return response;
        }
    }
    if should_fail(opts.fail_rate) {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "Simulated failure (sandbox fail rate)",
        )
        .into_response();
    }
    let response = next.run(request).await;
    if response.status() == StatusCode::UNAUTHORIZED {
        lock(&state.stats).status_401 += 1;
    }
    response
}

/// The answer of a failure planned with `fail_first`: 429 comes with `Retry-After: 0`,
/// so that a client's retry is immediate and a test stays fast.
fn planned_failure(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let (error, description) = match status {
        StatusCode::TOO_MANY_REQUESTS => ("rate_limited", "Planned failure (sandbox fail-first)"),
        _ => (
            "service_unavailable",
            "Planned failure (sandbox fail-first)",
        ),
    };
    let mut response = ApiError::new(status, error, description).into_response();
    if status == StatusCode::TOO_MANY_REQUESTS {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("0"));
    }
    response
}

/// True for a `fail_rate` fraction of calls; rates outside 0..=1 (or NaN) are clamped.
fn should_fail(fail_rate: f64) -> bool {
    if fail_rate.is_nan() || fail_rate <= 0.0 {
        return false;
    }
    rand::random::<f64>() < fail_rate
}
