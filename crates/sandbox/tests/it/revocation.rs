//! Revocation (RFC 7009): refresh tokens take their family with them, access tokens
//! go alone, bad clients are refused and unknown tokens ignored.

use reqwest::StatusCode;
use sandbox::SandboxOptions;
use serde_json::json;

use crate::harness::{Harness, split, str_of};

#[tokio::test]
async fn revoking_a_refresh_token_revokes_its_family() {
    let h = Harness::start(SandboxOptions::default()).await;
    let code = h.code("sandbox-public").await;
    let (_, first) = h.exchange(&code).await;
    let (_, second) = h.refresh_public(&str_of(&first["refresh_token"])).await;
    let (other, _) = h.login().await;
    let refresh = str_of(&second["refresh_token"]);
    let response = h
        .revoke(&[
            ("token", refresh.as_str()),
            ("token_type_hint", "refresh_token"),
            ("client_id", "sandbox-public"),
        ])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.bytes().await.unwrap().len(), 0);
    for token in [&first["access_token"], &second["access_token"]] {
        assert_eq!(
            h.get("/api/v1/assets", &str_of(token)).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let (status, body) = h.refresh_public(&refresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "Invalid refresh token"})
    );
    assert_eq!(
        h.get("/api/v1/assets", &other).await.0,
        StatusCode::OK,
        "another login stays"
    );
    let stats = h.stats().await;
    assert_eq!(stats["revocations"], 1);
    assert_eq!(
        stats["revoked_tokens"],
        json!({"access_token": 0, "refresh_token": 1})
    );
}

#[tokio::test]
async fn revoking_an_access_token_leaves_the_refresh_token() {
    let h = Harness::start(SandboxOptions::default()).await;
    let (access, refresh) = h.login().await;
    // The confidential client authenticates with Basic; no hint is needed.
    let response = h
        .http
        .post(h.url("/oauth/v2/revoke"))
        .basic_auth("sandbox", Some("sandbox-secret"))
        .form(&[("token", access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (status, body) = h.get("/api/v1/assets", &access).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body["error_description"],
        "The access token provided is invalid."
    );
    assert_eq!(h.refresh(&refresh).await.0, StatusCode::OK);
    assert_eq!(
        h.stats().await["revoked_tokens"],
        json!({"access_token": 1, "refresh_token": 0})
    );
}

#[tokio::test]
async fn revocation_refuses_bad_clients_and_ignores_unknown_tokens() {
    let h = Harness::start(SandboxOptions::default()).await;
    let (access, _) = h.login().await;
    // RFC 7009 §2.2: an unknown token is answered 200 as well.
    let response = h
        .revoke(&[("token", "never-issued"), ("client_id", "sandbox-public")])
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    for form in [
        vec![
            ("token", access.as_str()),
            ("client_id", "sandbox"),
            ("client_secret", "wrong"),
        ],
        vec![("token", access.as_str()), ("client_id", "nobody")],
        vec![("token", access.as_str())],
    ] {
        let response = h.revoke(&form).await;
        assert_eq!(
            response.headers()["www-authenticate"],
            "Basic realm=\"sandbox\""
        );
        let (status, body) = split(response).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{form:?}");
        assert_eq!(body["error"], "invalid_client", "{form:?}");
    }
    let (status, body) = split(h.revoke(&[("client_id", "sandbox-public")]).await).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_request", "error_description": "No \"token\" parameter found"})
        )
    );
    let (status, body) = split(
        h.revoke(&[("token", access.as_str()), ("client_id", "sandbox-public")])
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "unauthorized_client", "error_description": "The token was issued to another client"})
    );
    assert_eq!(h.get("/api/v1/assets", &access).await.0, StatusCode::OK);
    let stats = h.stats().await;
    assert_eq!(stats["revocations"], 1);
    assert_eq!(
        stats["revoked_tokens"],
        json!({"access_token": 0, "refresh_token": 0})
    );
}
