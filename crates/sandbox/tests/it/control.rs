//! `/_sandbox`: revoking every access token, the echo, the big document, and the
//! JSON 404 for unknown routes.

use reqwest::StatusCode;
use sandbox::SandboxOptions;
use serde_json::{Value, json};

use crate::harness::{Harness, split, str_of};

#[tokio::test]
async fn revoke_invalidates_access_tokens_only() {
    let h = Harness::start(SandboxOptions::default()).await;
    let (access, refresh) = h.login().await;
    assert_eq!(h.get("/api/v1/assets", &access).await.0, StatusCode::OK);
    let response = h.http.post(h.url("/_sandbox/revoke")).send().await.unwrap();
    assert_eq!(split(response).await.1, json!({"revoked": 1}));
    let (status, body) = h.get("/api/v1/assets", &access).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body["error_description"],
        "The access token provided is invalid."
    );
    let (status, body) = h.refresh(&refresh).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        h.get("/api/v1/assets", &str_of(&body["access_token"]))
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn echo_reports_what_was_sent() {
    let h = Harness::start(SandboxOptions::default()).await;
    let response = h
        .http
        .post(h.url("/_sandbox/echo/some/path?a=1&b=x&b=y"))
        .header("X-Custom", "yes")
        .json(&json!({"k": [1, 2]}))
        .send()
        .await
        .unwrap();
    let (status, echo) = split(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["path"], "/_sandbox/echo/some/path");
    assert_eq!(echo["target"], "/_sandbox/echo/some/path?a=1&b=x&b=y");
    assert_eq!(echo["query"], json!({"a": "1", "b": ["x", "y"]}));
    assert_eq!(echo["headers"]["x-custom"], "yes");
    assert_eq!(echo["headers"]["content-type"], "application/json");
    assert_eq!(echo["body"], json!({"k": [1, 2]}));
    assert_eq!(echo["body_base64"], "eyJrIjpbMSwyXX0=");

    let response = h
        .http
        .post(h.url("/_sandbox/echo"))
        .form(&[("a", "b c")])
        .send()
        .await
        .unwrap();
    let (_, echo) = split(response).await;
    assert_eq!(echo["body"], "a=b+c");
    assert_eq!(echo["form"], json!({"a": "b c"}));
    let (_, echo) = split(h.http.get(h.url("/_sandbox/echo")).send().await.unwrap()).await;
    assert_eq!(
        (&echo["method"], &echo["body"]),
        (&json!("GET"), &Value::Null)
    );
}

#[tokio::test]
async fn unknown_routes_are_json_404s() {
    let h = Harness::start(SandboxOptions::default()).await;
    let (status, body) = split(h.http.get(h.url("/nowhere")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not_found");
    assert!(h.sandbox.url().starts_with("http://127.0.0.1:"));
    assert_eq!(
        h.sandbox.url(),
        format!("http://127.0.0.1:{}", h.sandbox.addr().port())
    );
}

#[tokio::test]
async fn big_documents_need_no_token_and_are_served_again_from_memory() {
    let h = Harness::start(SandboxOptions::default()).await;
    let mut bodies = Vec::new();
    for _ in 0..2 {
        let response = h
            .http
            .get(h.url("/_sandbox/big?mb=1"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "application/json");
        bodies.push(response.bytes().await.unwrap());
    }
    assert!(bodies[0].len() >= 1024 * 1024);
    assert_eq!(bodies[0], bodies[1]);
    let doc: Value = serde_json::from_slice(&bodies[0]).unwrap();
    assert_eq!(doc["total_items"], doc["items"].as_array().unwrap().len());
    let (status, answer) = split(
        h.http
            .get(h.url("/_sandbox/big?mb=0"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"], "invalid_request");
}
