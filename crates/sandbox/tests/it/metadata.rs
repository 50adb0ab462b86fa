//! The RFC 8414 metadata, over HTTP and over TLS.

use reqwest::StatusCode;
use sandbox::SandboxOptions;
use serde_json::json;

use crate::harness::{Harness, split};

#[tokio::test]
async fn metadata_names_every_endpoint_under_the_printed_root() {
    let h = Harness::start(SandboxOptions::default()).await;
    let root = h.sandbox.url();
    let mut documents = Vec::new();
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let response = h.http.get(h.url(path)).send().await.unwrap();
        assert_eq!(
            response.headers()["cache-control"],
            "max-age=3600",
            "{path}"
        );
        let (status, document) = split(response).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        documents.push(document);
    }
    assert_eq!(documents[0], documents[1]);
    let document = &documents[0];
    assert_eq!(document["issuer"], root);
    assert!(!root.ends_with('/'));
    for (key, path) in [
        ("authorization_endpoint", "/oauth/v2/auth"),
        ("token_endpoint", "/oauth/v2/token"),
        ("device_authorization_endpoint", "/oauth/v2/device"),
        ("revocation_endpoint", "/oauth/v2/revoke"),
    ] {
        assert_eq!(document[key], format!("{root}{path}"), "{key}");
    }
    assert_eq!(document["response_types_supported"], json!(["code"]));
    assert_eq!(
        document["grant_types_supported"],
        json!([
            "password",
            "refresh_token",
            "client_credentials",
            "authorization_code",
            "urn:ietf:params:oauth:grant-type:device_code",
            "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "urn:ietf:params:oauth:grant-type:token-exchange"
        ])
    );
    assert_eq!(
        document["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert_eq!(
        document["token_endpoint_auth_methods_supported"],
        json!([
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none"
        ])
    );
}

#[tokio::test]
async fn over_tls_the_issuer_is_https() {
    let h = Harness::start(SandboxOptions {
        tls: true,
        ..SandboxOptions::default()
    })
    .await;
    let ca = reqwest::Certificate::from_pem(h.sandbox.ca_pem().unwrap().as_bytes()).unwrap();
    let client = reqwest::Client::builder()
        .no_proxy()
        .tls_certs_only([ca])
        .build()
        .unwrap();
    let root = h.sandbox.url();
    assert!(root.starts_with("https://127.0.0.1:"), "{root}");
    let response = client
        .get(format!("{root}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap();
    let (_, document) = split(response).await;
    assert_eq!(document["issuer"], root);
    assert_eq!(document["token_endpoint"], format!("{root}/oauth/v2/token"));
}
