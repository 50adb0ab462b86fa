//! The outermost `/api/v1` layer: counts the request by route, then applies the
//! configured faults (latency, rate limit, random 503s) before the request goes on.

use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::state::{AppState, lock};

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

/// True for a `fail_rate` fraction of calls; rates outside 0..=1 (or NaN) are clamped.
fn should_fail(fail_rate: f64) -> bool {
    if fail_rate.is_nan() || fail_rate <= 0.0 {
        return false;
    }
    rand::random::<f64>() < fail_rate
}
