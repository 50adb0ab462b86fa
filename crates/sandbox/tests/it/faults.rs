//! The faults tests can count on: failure rates, the rate limit, latency, the first
//! N failed, and the manual clock.

use std::time::Duration;

use reqwest::StatusCode;
use sandbox::{Clock, Sandbox, SandboxOptions};
use serde_json::json;

use crate::harness::{Harness, split};

#[tokio::test]
async fn fail_rate_one_answers_503_but_spares_the_token_endpoint() {
    let opts = SandboxOptions {
        fail_rate: 1.0,
        ..SandboxOptions::default()
    };
    let h = Harness::start(opts).await;
    let (token, _) = h.login().await;
    for _ in 0..3 {
        let (status, body) = h.get("/api/v1/assets", &token).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"], "service_unavailable");
    }
    let stats = h.stats().await;
    assert_eq!(stats["requests"], json!({"GET /api/v1/assets": 3}));
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    // A still clock keeps all requests in one window.
    let opts = SandboxOptions {
        rate_limit: Some(2),
        ..SandboxOptions::default()
    };
    let clock = Clock::manual(1_700_000_000_000);
    let h = Harness::with_clock(opts, clock.clone()).await;
    let (token, _) = h.login().await;
    assert_eq!(h.get("/api/v1/assets", &token).await.0, StatusCode::OK);
    assert_eq!(h.get("/api/v1/users", &token).await.0, StatusCode::OK);
    let response = h
        .http
        .get(h.url("/api/v1/assets"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["retry-after"], "1");
    let (status, body) = split(response).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"], "rate_limited");
    clock.advance_ms(1000);
    assert_eq!(h.get("/api/v1/assets", &token).await.0, StatusCode::OK);
}

#[tokio::test]
async fn latency_delays_api_responses() {
    let opts = SandboxOptions {
        latency_ms: 200,
        ..SandboxOptions::default()
    };
    let h = Harness::start(opts).await;
    let (token, _) = h.login().await;
    // A lower bound that the server's own sleep guarantees: it cannot fail by chance.
    let started = std::time::Instant::now();
    assert_eq!(h.get("/api/v1/assets", &token).await.0, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn fail_first_fails_exactly_that_many_api_requests() {
    let opts = SandboxOptions {
        fail_first: 2,
        ..SandboxOptions::default()
    };
    let h = Harness::start(opts).await;
    // The token endpoint is spared, and does not use up the failures.
    let (token, _) = h.login().await;
    for _ in 0..2 {
        let (status, body) = h.get("/api/v1/assets", &token).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"], "service_unavailable");
    }
    assert_eq!(h.get("/api/v1/users", &token).await.0, StatusCode::OK);
    assert_eq!(h.get("/api/v1/assets", &token).await.0, StatusCode::OK);

    // Armed again, with 429: a client may retry at once.
    let response = h
        .http
        .post(h.url("/_sandbox/fail?count=1&status=429"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        split(response).await,
        (StatusCode::OK, json!({"count": 1, "status": 429}))
    );
    let response = h
        .http
        .post(h.url("/api/v1/assets"))
        .bearer_auth(&token)
        .json(&json!({"name": "Pump"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["retry-after"], "0");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let (status, _) = h
        .send(
            reqwest::Method::POST,
            "/api/v1/assets",
            &token,
            json!({"name": "Pump"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    for bad in [
        "count=x",
        "status=503",
        "count=1&status=404",
        "count=1000001",
    ] {
        let response = h
            .http
            .post(h.url(&format!("/_sandbox/fail?{bad}")))
            .send()
            .await
            .unwrap();
        let (status, body) = split(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(body["error"], "invalid_request", "{bad}");
    }
    let stats = h.stats().await;
    assert_eq!(stats["assets_created"], 1);
    assert_eq!(
        stats["requests"],
        json!({"GET /api/v1/assets": 3, "GET /api/v1/users": 1, "POST /api/v1/assets": 2})
    );
}

#[tokio::test]
async fn the_manual_clock_moves_only_through_the_control_route() {
    let opts = SandboxOptions {
        manual_clock: true,
        access_ttl: 10,
        ..SandboxOptions::default()
    };
    crate::harness::install_crypto();
    let sandbox = Sandbox::start(opts).await.unwrap();
    let h = Harness {
        sandbox,
        http: reqwest::Client::builder().no_proxy().build().unwrap(),
        browser: reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    };
    let (access, _) = h.login().await;
    let advance = |seconds: &'static str| {
        h.http
            .post(h.url(&format!("/_sandbox/clock?advance={seconds}")))
            .send()
    };
    let (status, first) = split(advance("9.5").await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(h.get("/api/v1/assets", &access).await.0, StatusCode::OK);
    let (_, second) = split(advance("0.5").await.unwrap()).await;
    assert_eq!(
        second["now_ms"].as_u64().unwrap() - first["now_ms"].as_u64().unwrap(),
        500
    );
    assert_eq!(
        h.get("/api/v1/assets", &access).await.0,
        StatusCode::UNAUTHORIZED
    );
    for bad in ["-1", "x", "inf", "1e10"] {
        let (status, body) = split(advance(bad).await.unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(body["error"], "invalid_request", "{bad}");
    }

    // On the system clock, the route says how to get a manual one.
    let h = Harness::start(SandboxOptions::default()).await;
    let response = h
        .http
        .post(h.url("/_sandbox/clock?advance=1"))
        .send()
        .await
        .unwrap();
    let (status, body) = split(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error_description"],
        "The sandbox runs on the system clock; start it with --manual-clock"
    );
}
