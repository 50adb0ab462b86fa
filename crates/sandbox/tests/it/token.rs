//! The token endpoint with Ermeo's grants (password, refresh token, client
//! credentials): bodies, client authentication, errors, rotation and expiry.

use reqwest::StatusCode;
use sandbox::{Clock, SandboxOptions};
use serde_json::{Value, json};

use crate::harness::{Harness, split, str_of};

#[tokio::test]
async fn password_grant_with_a_json_body() {
    let h = Harness::start(SandboxOptions::default()).await;
    let response = h
        .http
        .post(h.url("/oauth/v2/token"))
        .json(&json!({"grant_type": "password", "client_id": "sandbox", "client_secret": "sandbox-secret",
                      "username": "demo", "password": "demo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
    let (status, body) = split(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["expires_in"], 7200);
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["scope"], Value::Null);
    assert_eq!(str_of(&body["access_token"]).len(), 43);
    assert_eq!(str_of(&body["refresh_token"]).len(), 43);
    assert_ne!(body["access_token"], body["refresh_token"]);
    let stats = h.stats().await;
    assert_eq!(
        stats["token_requests"],
        json!({"password": 1, "refresh_token": 0, "client_credentials": 0,
               "authorization_code": 0, "device_code": 0, "jwt_bearer": 0,
               "token_exchange": 0})
    );
    assert_eq!(stats["token_content_types"], json!({"application/json": 1}));
    assert_eq!(
        stats["last_token_content_type"],
        json!({"password": "application/json"})
    );
    assert_eq!(stats["token_client_auth"], json!({"body": 1}));
    assert_eq!(stats["token_errors"], 0);
    h.sandbox.shutdown().await;
}

#[tokio::test]
async fn password_grant_with_a_form_body_echoes_the_scope() {
    let h = Harness::start(SandboxOptions::default()).await;
    let form = [
        ("grant_type", "password"),
        ("client_id", "sandbox"),
        ("client_secret", "sandbox-secret"),
        ("username", "demo"),
        ("password", "demo"),
        ("scope", "read write"),
    ];
    let response = h
        .http
        .post(h.url("/oauth/v2/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let (status, body) = split(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "read write");
    let stats = h.stats().await;
    assert_eq!(
        stats["token_content_types"],
        json!({"application/x-www-form-urlencoded": 1})
    );
}

#[tokio::test]
async fn json_numbers_are_accepted_as_parameters() {
    let h = Harness::start(SandboxOptions::default()).await;
    let (status, body) = h
        .token_json(
            json!({"grant_type": "client_credentials", "client_id": "sandbox",
                           "client_secret": "sandbox-secret", "scope": 42}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "42");
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert_eq!(h.stats().await["token_requests"]["client_credentials"], 1);
}

#[tokio::test]
async fn client_authenticates_with_http_basic() {
    let h = Harness::start(SandboxOptions::default()).await;
    let form = [
        ("grant_type", "password"),
        ("username", "demo"),
        ("password", "demo"),
    ];
    let response = h
        .http
        .post(h.url("/oauth/v2/token"))
        .basic_auth("sandbox", Some("sandbox-secret"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode("sandbox:sandbox%2Dsecre%74");
    let response = h
        .http
        .post(h.url("/oauth/v2/token"))
        .header("Authorization", format!("Basic {encoded}"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let response = h
        .http
        .post(h.url("/oauth/v2/token"))
        .basic_auth("sandbox", Some("wrong"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let (status, body) = split(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "invalid_client", "error_description": "The client credentials are invalid"})
    );
    // Only the clients that authenticated are counted.
    assert_eq!(h.stats().await["token_client_auth"], json!({"basic": 2}));
}

#[tokio::test]
async fn token_errors_are_400_with_the_fos_messages() {
    let h = Harness::start(SandboxOptions::default()).await;
    let client = json!({"client_id": "sandbox", "client_secret": "sandbox-secret"});
    let with = |extra: Value| {
        let mut body = client.clone();
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let cases = [
        (
            with(json!({"grant_type": "password", "username": "demo", "password": "nope"})),
            "invalid_grant",
            "Invalid username and password combination",
        ),
        (
            with(json!({"grant_type": "password", "username": "demo"})),
            "invalid_request",
            "Missing parameters. \"username\" and \"password\" required",
        ),
        (
            with(json!({"username": "demo"})),
            "invalid_request",
            "Invalid grant_type parameter or parameter missing",
        ),
        (
            with(json!({"grant_type": "implicit"})),
            "unsupported_grant_type",
            "Invalid grant_type parameter or parameter missing",
        ),
        (
            with(json!({"grant_type": "authorization_code"})),
            "invalid_request",
            "No \"code\" parameter found",
        ),
        (
            with(json!({"grant_type": "refresh_token", "refresh_token": "nope"})),
            "invalid_grant",
            "Invalid refresh token",
        ),
        (
            json!({"grant_type": "password", "client_id": "other", "client_secret": "x"}),
            "invalid_client",
            "The client credentials are invalid",
        ),
        (
            json!({"grant_type": "password", "username": "demo", "password": "demo"}),
            "invalid_client",
            "Client id was not found in the headers or body",
        ),
    ];
    for (body, error, description) in &cases {
        let (status, answer) = h.token_json(body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            answer,
            json!({"error": error, "error_description": description}),
            "{body}"
        );
    }
    let response = h
        .http
        .post(h.url("/oauth/v2/token"))
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, answer) = split(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"], "invalid_request");
    let stats = h.stats().await;
    assert_eq!(stats["token_errors"], cases.len() as u64 + 1);
    assert_eq!(stats["token_requests"]["password"], 4);
}

#[tokio::test]
async fn refresh_tokens_rotate_and_are_single_use() {
    let h = Harness::start(SandboxOptions::default()).await;
    let (access, refresh) = h.login().await;
    let (status, body) = h.refresh(&refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let new_refresh = str_of(&body["refresh_token"]);
    assert_ne!(new_refresh, refresh);
    assert_ne!(str_of(&body["access_token"]), access);

    let (status, body) = h.refresh(&refresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "Invalid refresh token"})
    );
    let (status, _) = h.refresh(&new_refresh).await;
    assert_eq!(status, StatusCode::OK);

    let stats = h.stats().await;
    assert_eq!(stats["refresh_reuse"], 1);
    assert_eq!(stats["token_requests"]["refresh_token"], 3);
    assert_eq!(
        stats["last_token_content_type"]["refresh_token"],
        "application/x-www-form-urlencoded"
    );
}

#[tokio::test]
async fn refresh_tokens_expire_after_refresh_ttl() {
    let clock = Clock::manual(1_700_000_000_000);
    let opts = SandboxOptions {
        refresh_ttl: 60,
        ..SandboxOptions::default()
    };
    let h = Harness::with_clock(opts, clock.clone()).await;
    let (_, refresh) = h.login().await;
    clock.advance_ms(60_000);
    let (status, body) = h.refresh(&refresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "Refresh token has expired"})
    );
}

#[tokio::test]
async fn access_tokens_expire_after_access_ttl() {
    let opts = SandboxOptions {
        access_ttl: 60,
        ..SandboxOptions::default()
    };
    let clock = Clock::manual(1_700_000_000_000);
    let h = Harness::with_clock(opts, clock.clone()).await;
    let (access, _) = h.login().await;
    clock.advance_ms(59_999);
    assert_eq!(h.get("/api/v1/assets", &access).await.0, StatusCode::OK);
    clock.advance_ms(1);
    let response = h
        .http
        .get(h.url("/api/v1/assets"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"Service\", error=\"invalid_grant\", error_description=\"The access token provided has expired.\""
    );
    let (status, body) = split(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "The access token provided has expired."})
    );
}

/// Token exchange (RFC 8693): a live access token of the sandbox for a new one (no
/// refresh token, `issued_token_type`), which the API takes; refusals are
/// `invalid_request` (§2.2.2) with what was wrong.
#[tokio::test]
async fn token_exchange_trades_a_live_access_token_for_a_new_one() {
    let h = Harness::start(SandboxOptions::default()).await;
    let (access, _) = h.login().await;
    const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
    const AT: &str = "urn:ietf:params:oauth:token-type:access_token";
    let ask = |extra: Value| {
        let mut body = json!({"grant_type": EXCHANGE, "client_id": "sandbox",
            "client_secret": "sandbox-secret", "subject_token_type": AT,
            "subject_token": access, "audience": "api-b"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let (status, body) = h.token_json(ask(json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["issued_token_type"], AT);
    assert_eq!(body["token_type"], "bearer");
    assert!(body.get("refresh_token").is_none(), "{body}");
    let exchanged = str_of(&body["access_token"]);
    assert_ne!(exchanged, access);
    let (status, _) = h.get("/api/v1/assets?limit=1", &exchanged).await;
    assert_eq!(status, StatusCode::OK);
    for (extra, description) in [
        (
            json!({"subject_token": "n0t a token"}),
            "The subject_token is not a live access token of this server",
        ),
        (
            json!({"subject_token_type": "urn:ietf:params:oauth:token-type:id_token"}),
            "subject_token_type urn:ietf:params:oauth:token-type:id_token is not supported: only urn:ietf:params:oauth:token-type:access_token",
        ),
        (
            json!({"requested_token_type": "urn:ietf:params:oauth:token-type:refresh_token"}),
            "requested_token_type urn:ietf:params:oauth:token-type:refresh_token is not supported: only urn:ietf:params:oauth:token-type:access_token",
        ),
    ] {
        let (status, body) = h.token_json(ask(extra)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"], "invalid_request");
        assert_eq!(body["error_description"], description);
    }
    let stats = h.stats().await;
    assert_eq!(stats["token_exchanges"], json!({"api-b": 1}));
    assert_eq!(stats["token_requests"]["token_exchange"], 4);
}
