//! The sandbox over real loopback HTTP, as clients see it.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::clock::Clock;
use super::{Sandbox, SandboxOptions};

struct Harness {
    sandbox: Sandbox,
    http: reqwest::Client,
    /// Follows no redirects: the authorization endpoint's answers are looked at as sent.
    browser: reqwest::Client,
}

impl Harness {
    async fn start(opts: SandboxOptions) -> Harness {
        Harness::with_clock(opts, Clock::System).await
    }

    async fn with_clock(opts: SandboxOptions, clock: Clock) -> Harness {
        let sandbox = Sandbox::start_with_clock(opts, clock).await.unwrap();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let browser = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Harness {
            sandbox,
            http,
            browser,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sandbox.url())
    }

    async fn token_json(&self, body: Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url("/oauth/v2/token"))
            .json(&body)
            .send()
            .await
            .unwrap();
        split(response).await
    }

    /// A password grant that must succeed; returns (access, refresh).
    async fn login(&self) -> (String, String) {
        let (status, body) = self
            .token_json(json!({
                "grant_type": "password", "client_id": "sandbox", "client_secret": "sandbox-secret",
                "username": "demo", "password": "demo"
            }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        (
            str_of(&body["access_token"]),
            str_of(&body["refresh_token"]),
        )
    }

    async fn refresh(&self, refresh: &str) -> (StatusCode, Value) {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", "sandbox"),
            ("client_secret", "sandbox-secret"),
        ];
        let response = self
            .http
            .post(self.url("/oauth/v2/token"))
            .form(&form)
            .send()
            .await
            .unwrap();
        split(response).await
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        split(response).await
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let response = self
            .http
            .request(method, self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        split(response).await
    }

    async fn stats(&self) -> Value {
        let response = self
            .http
            .get(self.url("/_sandbox/stats"))
            .send()
            .await
            .unwrap();
        split(response).await.1
    }
}

async fn split(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let bytes = response.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| panic!("not JSON: {bytes:?}"))
    };
    (status, body)
}

fn str_of(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
        .to_owned()
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| str_of(&i["id"]))
        .collect()
}

fn asset_id(i: u64) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

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
               "authorization_code": 0, "device_code": 0})
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

#[tokio::test]
async fn api_requires_a_bearer_token() {
    let h = Harness::start(SandboxOptions::default()).await;
    let response = h.http.get(h.url("/api/v1/assets")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"Service\", error=\"invalid_grant\", error_description=\"The access token provided is invalid.\""
    );
    assert_eq!(
        h.get("/api/v1/assets/x", "unknown").await.0,
        StatusCode::UNAUTHORIZED
    );
    let (access, _) = h.login().await;
    let response = h
        .http
        .get(h.url("/api/v1/users"))
        .header("Authorization", format!("bEaReR {access}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let stats = h.stats().await;
    assert_eq!(stats["status_401"], 2);
    assert_eq!(
        stats["requests"],
        json!({"GET /api/v1/assets": 1, "GET /api/v1/assets/{id}": 1, "GET /api/v1/users": 1})
    );
}

#[tokio::test]
async fn lists_page_through_the_envelope() {
    let h = Harness::start(SandboxOptions::default()).await;
    let (token, _) = h.login().await;
    let (status, page) = h.get("/api/v1/assets", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total_items"], 250);
    assert_eq!(page["total_pages"], 25);
    assert_eq!(page["items_per_page"], 10);
    assert_eq!(page["current_page"], 1);
    assert_eq!(
        page["next_page"],
        "/api/v1/assets?page=2&limit=10&sort=created_at:asc"
    );
    assert_eq!(page["previous_page"], Value::Null);
    assert_eq!(ids(&page), (1..=10).map(asset_id).collect::<Vec<_>>());
    assert_eq!(
        page["items"][0],
        json!({"id": asset_id(1), "name": "Asset 0001", "status": "active",
               "family_id": "00000000-0000-4000-8100-000000000001", "code": "AST-000001",
               "location": "Plant A / Hall 1", "created_at": "2024-01-01T00:01:00Z",
               "updated_at": "2024-01-01T00:11:00Z"})
    );

    let (_, page) = h
        .get("/api/v1/assets?page=3&limit=7&sort=created_at:desc", &token)
        .await;
    assert_eq!(
        ids(&page),
        (230..=236).rev().map(asset_id).collect::<Vec<_>>()
    );
    assert_eq!(
        page["next_page"],
        "/api/v1/assets?page=4&limit=7&sort=created_at:desc"
    );
    assert_eq!(
        page["previous_page"],
        "/api/v1/assets?page=2&limit=7&sort=created_at:desc"
    );

    let (_, page) = h.get(&str_of(&page["next_page"]), &token).await;
    assert_eq!(page["current_page"], 4);

    let (_, page) = h.get("/api/v1/assets?limit=1000", &token).await;
    assert_eq!(page["items_per_page"], 100);
    assert_eq!(page["items"].as_array().unwrap().len(), 100);
    assert_eq!(page["total_pages"], 3);

    let (_, page) = h.get("/api/v1/assets?page=26", &token).await;
    assert_eq!(page["items"], json!([]));
    assert_eq!(page["next_page"], Value::Null);
    assert_eq!(
        page["previous_page"],
        "/api/v1/assets?page=25&limit=10&sort=created_at:asc"
    );

    let (_, page) = h
        .get(
            "/api/v1/assets?status=archived&limit=100&sort=name:desc",
            &token,
        )
        .await;
    assert_eq!(page["total_items"], 50);
    assert_eq!(page["items"][0]["name"], "Asset 0250");
    assert_eq!(page["items"][49]["name"], "Asset 0005");
    assert_eq!(page["next_page"], Value::Null);

    for bad in [
        "limit=abc",
        "limit=0",
        "page=0",
        "page=-2",
        "sort=colour:asc",
        "sort=name:sideways",
        "status=lost",
    ] {
        let (status, body) = h.get(&format!("/api/v1/assets?{bad}"), &token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(body["error"], "invalid_request", "{bad}");
    }
}

#[tokio::test]
async fn other_collections_list_and_get() {
    let h = Harness::start(SandboxOptions::default()).await;
    let (token, _) = h.login().await;
    for (path, total) in [
        ("/api/v1/users", 10),
        ("/api/v1/reports", 30),
        ("/api/v1/documents", 20),
    ] {
        let (status, page) = h.get(path, &token).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(page["total_items"], total, "{path}");
        let first = &page["items"][0];
        let (status, item) = h
            .get(&format!("{path}/{}", str_of(&first["id"])), &token)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(&item, first);
    }
    let (_, user) = h
        .get("/api/v1/users/00000000-0000-4000-8001-000000000002", &token)
        .await;
    assert_eq!(
        user,
        json!({"id": "00000000-0000-4000-8001-000000000002", "email": "user02@example.com",
               "first_name": "Bruno", "last_name": "Bernard"})
    );
    let (_, page) = h
        .get("/api/v1/documents?sort=size:desc&limit=1", &token)
        .await;
    assert_eq!(page["items"][0]["size"], 1024 * 482);
    let (status, body) = h.get("/api/v1/reports/nope", &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"error": "not_found", "error_description": "No report with id \"nope\""})
    );
}

#[tokio::test]
async fn assets_are_created_read_updated_and_deleted() {
    let h = Harness::start(SandboxOptions::default()).await;
    let (token, _) = h.login().await;
    let response = h
        .http
        .post(h.url("/api/v1/assets"))
        .bearer_auth(&token)
        .json(&json!({"name": "Pump 12", "family_id": "f-1", "serial": 77, "id": "ignored"}))
        .send()
        .await
        .unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let (status, created) = split(response).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = str_of(&created["id"]);
    assert_eq!(id.len(), 36);
    assert_ne!(id, "ignored");
    assert_eq!(location, format!("/api/v1/assets/{id}"));
    assert_eq!(created["name"], "Pump 12");
    assert_eq!(created["status"], "active");
    assert_eq!(created["family_id"], "f-1");
    assert_eq!(created["serial"], 77);
    assert_eq!(created["created_at"], created["updated_at"]);
    assert_eq!(str_of(&created["created_at"]).len(), 20);

    let (status, got) = h.get(&location, &token).await;
    assert_eq!((status, &got), (StatusCode::OK, &created));
    let (_, page) = h.get("/api/v1/assets", &token).await;
    assert_eq!(page["total_items"], 251);
    // Newer than every seeded asset, so last in the default created_at order.
    let (_, page) = h.get("/api/v1/assets?page=26", &token).await;
    assert_eq!(ids(&page), vec![id.clone()]);

    let (status, updated) = h
        .send(
            reqwest::Method::PUT,
            &location,
            &token,
            json!({"name": "Pump 13"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(updated["name"], "Pump 13");
    assert_eq!(updated["serial"], 77);
    let (status, patched) = h
        .send(
            reqwest::Method::PATCH,
            &location,
            &token,
            json!({"status": "archived"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&patched["name"], &patched["status"]),
        (&json!("Pump 13"), &json!("archived"))
    );

    for (method, body) in [
        (reqwest::Method::POST, json!({"status": "active"})),
        (reqwest::Method::POST, json!({"name": 5})),
        (reqwest::Method::POST, json!(["name"])),
        (reqwest::Method::PUT, json!({"status": "melted"})),
    ] {
        let path = if method == reqwest::Method::POST {
            "/api/v1/assets"
        } else {
            location.as_str()
        };
        let (status, answer) = h.send(method, path, &token, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(answer["error"], "invalid_request", "{body}");
    }

    let response = h
        .http
        .delete(h.url(&location))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (status, body) = h.get(&location, &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not_found");
    let response = h
        .http
        .delete(h.url(&location))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let stats = h.stats().await;
    assert_eq!(stats["assets_created"], 1);
    assert_eq!(stats["assets_updated"], 2);
    assert_eq!(stats["assets_deleted"], 1);
    assert_eq!(
        stats["requests"],
        json!({"POST /api/v1/assets": 4, "GET /api/v1/assets/{id}": 2, "GET /api/v1/assets": 2,
               "PUT /api/v1/assets/{id}": 2, "PATCH /api/v1/assets/{id}": 1,
               "DELETE /api/v1/assets/{id}": 2})
    );
}

#[tokio::test]
async fn search_matches_names_and_filters() {
    let h = Harness::start(SandboxOptions::default()).await;
    let (token, _) = h.login().await;
    let (status, page) = h
        .send(
            reqwest::Method::POST,
            "/api/v1/assets/search",
            &token,
            json!({"query": "asset 01", "limit": 5, "page": "2"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    // "Asset 0100" .. "Asset 0199": 100 matches.
    assert_eq!(page["total_items"], 100);
    assert_eq!(ids(&page), (105..=109).map(asset_id).collect::<Vec<_>>());
    assert_eq!(page["next_page"], Value::Null);
    let (_, page) = h
        .send(
            reqwest::Method::POST,
            "/api/v1/assets/search",
            &token,
            json!({"query": "Asset 00", "status": "archived"}),
        )
        .await;
    assert_eq!(page["total_items"], 19);
    let (status, _) = h
        .send(
            reqwest::Method::POST,
            "/api/v1/assets/search",
            &token,
            json!({"query": ["x"]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

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

#[tokio::test]
async fn a_hundred_thousand_assets_page_to_the_end() {
    let opts = SandboxOptions {
        assets: 100_000,
        ..SandboxOptions::default()
    };
    let h = Harness::start(opts).await;
    let (token, _) = h.login().await;
    let (_, last) = h.get("/api/v1/assets?page=1000&limit=100", &token).await;
    assert_eq!(last["total_items"], 100_000);
    assert_eq!(last["total_pages"], 1000);
    assert_eq!(last["next_page"], Value::Null);
    assert_eq!(
        ids(&last),
        (99_901..=100_000).map(asset_id).collect::<Vec<_>>()
    );
    assert_eq!(last["items"][99]["name"], "Asset 100000");
    let (_, past) = h.get("/api/v1/assets?page=1001&limit=100", &token).await;
    assert_eq!(past["items"], json!([]));
    let (_, first) = h
        .get("/api/v1/assets?limit=100&sort=created_at:desc", &token)
        .await;
    assert_eq!(first["items"][0]["id"], asset_id(100_000));
    let (_, by_name) = h.get("/api/v1/assets?limit=2&sort=name:asc", &token).await;
    assert_eq!(ids(&by_name), [asset_id(1), asset_id(2)]);
    // Names sort as text: "Asset 0001" .. "Asset 0999" are ranks 0..=998, then come
    // "Asset 1000", "Asset 10000", "Asset 100000", "Asset 10001".
    let (_, by_name) = h
        .get("/api/v1/assets?limit=2&page=500&sort=name:asc", &token)
        .await;
    assert_eq!(ids(&by_name), [asset_id(999), asset_id(1000)]);
    let (_, by_name) = h
        .get("/api/v1/assets?limit=2&page=501&sort=name:asc", &token)
        .await;
    assert_eq!(ids(&by_name), [asset_id(10_000), asset_id(100_000)]);
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
async fn reports_are_created_about_existing_assets() {
    let h = Harness::start(SandboxOptions::default()).await;
    let (token, _) = h.login().await;
    let response = h
        .http
        .post(h.url("/api/v1/reports"))
        .bearer_auth(&token)
        .json(&json!({"title": "Leak check", "asset_id": asset_id(7), "id": "ignored"}))
        .send()
        .await
        .unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let (status, created) = split(response).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = str_of(&created["id"]);
    assert_eq!(id.len(), 36);
    assert_eq!(location, format!("/api/v1/reports/{id}"));
    assert_eq!(
        created,
        json!({"title": "Leak check", "asset_id": asset_id(7), "status": "draft", "id": id,
               "created_at": created["created_at"]})
    );
    let (status, got) = h.get(&location, &token).await;
    assert_eq!((status, &got), (StatusCode::OK, &created));
    let (_, page) = h
        .get(&format!("/api/v1/reports?asset_id={}", asset_id(7)), &token)
        .await;
    assert_eq!(page["total_items"], 2, "seeded report 7 and the new one");

    for (body, message) in [
        (
            json!({"asset_id": asset_id(1)}),
            "\"title\" is required and must be a non-empty string",
        ),
        (
            json!({"title": " ", "asset_id": asset_id(1)}),
            "\"title\" is required and must be a non-empty string",
        ),
        (
            json!({"title": "T"}),
            "\"asset_id\" must be the id of an existing asset",
        ),
        (
            json!({"title": "T", "asset_id": asset_id(251)}),
            "\"asset_id\" must be the id of an existing asset",
        ),
        (
            json!({"title": "T", "asset_id": asset_id(1), "status": "lost"}),
            "Invalid status \"lost\": expected one of draft, submitted, validated",
        ),
    ] {
        let (status, answer) = h
            .send(
                reqwest::Method::POST,
                "/api/v1/reports",
                &token,
                body.clone(),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            answer,
            json!({"error": "invalid_request", "error_description": message}),
            "{body}"
        );
    }
    let stats = h.stats().await;
    assert_eq!(stats["reports_created"], 1);
    assert_eq!(stats["requests"]["POST /api/v1/reports"], 6);
}

#[tokio::test]
async fn documents_are_uploaded_as_multipart() {
    let h = Harness::start(SandboxOptions::default()).await;
    let (token, _) = h.login().await;
    let upload = |form: reqwest::multipart::Form| {
        h.http
            .post(h.url("/api/v1/documents"))
            .bearer_auth(&token)
            .multipart(form)
            .send()
    };
    let part = |bytes: &'static [u8], name: &'static str| {
        reqwest::multipart::Part::bytes(bytes).file_name(name)
    };

    // The type is guessed from the file name when the part has none.
    let response =
        upload(reqwest::multipart::Form::new().part("file", part(b"a,b\n1,2\n", "Pump 12.CSV")))
            .await
            .unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let (status, created) = split(response).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = str_of(&created["id"]);
    assert_eq!(location, format!("/api/v1/documents/{id}"));
    assert_eq!(
        created,
        json!({"name": "Pump 12.CSV", "mime_type": "text/csv", "size": 8, "id": id})
    );
    let (status, got) = h.get(&location, &token).await;
    assert_eq!((status, &got), (StatusCode::OK, &created));
    let (_, page) = h.get("/api/v1/documents?mime_type=text/csv", &token).await;
    assert_eq!(
        page["total_items"], 6,
        "5 seeded CSV documents and the new one"
    );

    // The part's own type wins; a `name` part renames the document.
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            part(&[0u8, 159, 146, 150], "scan")
                .mime_str("image/png")
                .unwrap(),
        )
        .text("name", "Nameplate");
    let (status, created) = split(upload(form).await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        (&created["name"], &created["mime_type"], &created["size"]),
        (&json!("Nameplate"), &json!("image/png"), &json!(4))
    );
    let form = reqwest::multipart::Form::new().part("file", part(b"", "blob.bin"));
    let (_, created) = split(upload(form).await.unwrap()).await;
    assert_eq!(
        (&created["mime_type"], &created["size"]),
        (&json!("application/octet-stream"), &json!(0))
    );

    let no_file = reqwest::multipart::Form::new().text("name", "x");
    let no_name =
        reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(&b"x"[..]));
    for (form, message) in [
        (no_file, "The multipart body has no \"file\" part"),
        (
            no_name,
            "The document needs a name: a file name on the \"file\" part, or a \"name\" part",
        ),
    ] {
        let (status, answer) = split(upload(form).await.unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(answer["error_description"], message);
    }
    let (status, answer) = h
        .send(
            reqwest::Method::POST,
            "/api/v1/documents",
            &token,
            json!({"name": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer["error_description"],
        "Expected a multipart/form-data body, got \"application/json\""
    );

    let stats = h.stats().await;
    assert_eq!(stats["documents_uploaded"], 3);
    assert_eq!(stats["requests"]["POST /api/v1/documents"], 6);
    let (status, _) = split(
        h.http
            .post(h.url("/api/v1/documents"))
            .multipart(reqwest::multipart::Form::new().text("file", "x"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "uploads need a token too");
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

// The interactive grants: authorization code with PKCE, device code, revocation and
// metadata.

/// RFC 7636 Appendix B: a verifier and its S256 challenge.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// Nothing listens there: the tests read the redirects instead of following them.
const REDIRECT: &str = "http://127.0.0.1:9/callback";

type Pairs<'a> = Vec<(&'a str, &'a str)>;

/// A good authorization request for `client_id`, with `state`.
fn auth_params<'a>(client_id: &'a str, state: &'a str) -> Pairs<'a> {
    vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("state", state),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("scope", "read write"),
    ]
}

/// `pairs` with `name` set to `value`, or removed when `value` is None.
fn with_param<'a>(pairs: &Pairs<'a>, name: &'a str, value: Option<&'a str>) -> Pairs<'a> {
    let mut out: Pairs<'a> = pairs.iter().copied().filter(|(k, _)| *k != name).collect();
    if let Some(value) = value {
        out.push((name, value));
    }
    out
}

/// What the browser sees: status, Location (resolved) and body.
struct Page {
    status: StatusCode,
    location: Option<url::Url>,
    body: String,
}

impl Page {
    async fn read(response: reqwest::Response) -> Page {
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|l| url::Url::parse(l.to_str().unwrap()).unwrap());
        let body = response.text().await.unwrap();
        Page {
            status,
            location,
            body,
        }
    }

    /// The Location's query parameters.
    fn query(&self) -> HashMap<String, String> {
        let location = self
            .location
            .as_ref()
            .unwrap_or_else(|| panic!("no Location: {} {}", self.status, self.body));
        location.query_pairs().into_owned().collect()
    }

    /// The Location without its query.
    fn target(&self) -> String {
        let mut location = self.location.clone().unwrap();
        location.set_query(None);
        location.to_string()
    }
}

/// The `<input type="hidden">` fields of a page, unescaped.
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    let unescape = |s: &str| {
        s.replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    html.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|rest| {
            let (name, rest) = rest.split_once("\" value=\"").unwrap();
            let (value, _) = rest.split_once("\">").unwrap();
            (unescape(name), unescape(value))
        })
        .collect()
}

/// The payload of an ID token, after checking that it is an unsigned JWT.
fn id_token_claims(id_token: &str) -> Value {
    use base64::Engine as _;
    let decode = |part: &str| -> Value {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap_or_else(|e| panic!("{part}: {e}"));
        serde_json::from_slice(&bytes).unwrap()
    };
    let parts: Vec<&str> = id_token.split('.').collect();
    assert_eq!(parts.len(), 3, "{id_token}");
    assert_eq!(parts[2], "", "no signature");
    assert!(!id_token.contains('='), "no padding: {id_token}");
    assert_eq!(decode(parts[0]), json!({"alg": "none", "typ": "JWT"}));
    decode(parts[1])
}

impl Harness {
    fn authorize_url(&self, params: &[(&str, &str)]) -> String {
        let mut url = url::Url::parse(&self.url("/oauth/v2/auth")).unwrap();
        url.query_pairs_mut().extend_pairs(params);
        url.into()
    }

    async fn authorize_get(&self, params: &[(&str, &str)]) -> Page {
        let response = self
            .browser
            .get(self.authorize_url(params))
            .send()
            .await
            .unwrap();
        Page::read(response).await
    }

    async fn authorize_post(&self, form: &[(&str, &str)]) -> Page {
        let response = self
            .browser
            .post(self.url("/oauth/v2/auth"))
            .form(form)
            .send()
            .await
            .unwrap();
        Page::read(response).await
    }

    async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .unwrap();
        split(response).await
    }

    /// A code for `client_id` through the login form (redirect URI [`REDIRECT`]).
    async fn code(&self, client_id: &str) -> String {
        let mut form = auth_params(client_id, "s");
        form.push(("password", "demo"));
        let page = self.authorize_post(&form).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        page.query()["code"].clone()
    }

    /// Exchanges a code of the public client with the right verifier.
    async fn exchange(&self, code: &str) -> (StatusCode, Value) {
        self.post_form(
            "/oauth/v2/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", "sandbox-public"),
            ],
        )
        .await
    }

    async fn device(&self, client: &[(&str, &str)]) -> Value {
        let (status, body) = self.post_form("/oauth/v2/device", client).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    async fn poll(&self, device_code: &str) -> (StatusCode, Value) {
        self.post_form(
            "/oauth/v2/token",
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", device_code),
                ("client_id", "sandbox-public"),
            ],
        )
        .await
    }

    async fn revoke(&self, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(self.url("/oauth/v2/revoke"))
            .form(form)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn authorization_code_with_pkce_through_the_login_form() {
    let h = Harness::start(SandboxOptions::default()).await;
    // A state with characters that HTML and URLs both care about.
    let state = "a b&c\"<d>'é";
    let params = auth_params("sandbox-public", state);
    let page = h.authorize_get(&params).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("<form id=\"login\" method=\"post\" action=\"/oauth/v2/auth\">")
    );
    assert!(
        page.body
            .contains("<strong>sandbox-public</strong> asks to act for you")
    );
    assert!(page.body.contains("type=\"password\" name=\"password\""));
    assert!(page.body.contains("value=\"deny\">Deny</button>"));
    let hidden = hidden_fields(&page.body);
    let sent: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(hidden, sent, "the hidden fields carry the request as sent");

    let mut form: Vec<(&str, &str)> = hidden
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    form.push(("action", "approve"));
    let wrong = [form.clone(), vec![("password", "nope")]].concat();
    let page = h.authorize_post(&wrong).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.location.is_none());
    assert!(
        page.body
            .contains("<p id=\"error\" role=\"alert\">Wrong password for demo.</p>")
    );
    assert_eq!(
        hidden_fields(&page.body),
        hidden,
        "the form again, as it was"
    );

    let right = [form, vec![("password", "demo")]].concat();
    let page = h.authorize_post(&right).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.target(), REDIRECT);
    let query = page.query();
    assert_eq!(query["state"], state);
    assert_eq!(query["iss"], h.sandbox.url());
    let code = &query["code"];
    assert_eq!(code.len(), 43);

    let (status, body) = h.exchange(code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 7200);
    assert_eq!(body["scope"], "read write");
    let access = str_of(&body["access_token"]);
    let claims = id_token_claims(&str_of(&body["id_token"]));
    assert_eq!(claims["aud"], "sandbox-public");
    assert_eq!(h.get("/api/v1/assets", &access).await.0, StatusCode::OK);

    // The public client refreshes with its id alone.
    let (status, refreshed) = h.refresh_public(&str_of(&body["refresh_token"])).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_eq!(refreshed["scope"], "read write");
    assert!(refreshed.get("id_token").is_none());

    let stats = h.stats().await;
    assert_eq!(stats["token_requests"]["authorization_code"], 1);
    assert_eq!(stats["token_requests"]["refresh_token"], 1);
    assert_eq!(stats["authorization_codes_issued"], 1);
    assert_eq!(stats["token_errors"], 0);
}

impl Harness {
    async fn refresh_public(&self, refresh: &str) -> (StatusCode, Value) {
        self.post_form(
            "/oauth/v2/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh),
                ("client_id", "sandbox-public"),
            ],
        )
        .await
    }
}

#[tokio::test]
async fn auto_approve_redirects_at_once_keeping_the_redirect_query() {
    let opts = SandboxOptions {
        auto_approve: true,
        ..SandboxOptions::default()
    };
    let h = Harness::start(opts).await;
    let redirect = "http://localhost:50000/cb?session=7";
    let params = with_param(
        &auth_params("sandbox", "xyz"),
        "redirect_uri",
        Some(redirect),
    );
    let page = h.authorize_get(&params).await;
    assert_eq!(page.status, StatusCode::FOUND, "{}", page.body);
    assert_eq!(page.target(), "http://localhost:50000/cb");
    let query = page.query();
    assert_eq!(query["session"], "7");
    assert_eq!(query["state"], "xyz");
    let code = query["code"].clone();

    // The confidential client must authenticate; a refused client does not spend the code.
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect),
        ("code_verifier", VERIFIER),
    ];
    let without_secret = [exchange.to_vec(), vec![("client_id", "sandbox")]].concat();
    let (status, body) = h.post_form("/oauth/v2/token", &without_secret).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_client");
    let response = h
        .http
        .post(h.url("/oauth/v2/token"))
        .basic_auth("sandbox", Some("sandbox-secret"))
        .form(&exchange)
        .send()
        .await
        .unwrap();
    let (status, body) = split(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        id_token_claims(&str_of(&body["id_token"]))["aud"],
        "sandbox"
    );
}

#[tokio::test]
async fn deny_redirects_with_access_denied_and_the_state() {
    let h = Harness::start(SandboxOptions::default()).await;
    let mut form = auth_params("sandbox-public", "st8");
    form.push(("action", "deny"));
    let page = h.authorize_post(&form).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.target(), REDIRECT);
    let query = page.query();
    assert_eq!(query["error"], "access_denied");
    assert_eq!(query["error_description"], "The user denied the request");
    assert_eq!(query["state"], "st8");
    assert!(!query.contains_key("code"));
    assert_eq!(h.stats().await["authorization_codes_issued"], 0);
}

#[tokio::test]
async fn authorization_requests_without_a_good_client_or_redirect_uri_get_a_page() {
    let h = Harness::start(SandboxOptions {
        auto_approve: true,
        ..SandboxOptions::default()
    })
    .await;
    let good = auth_params("sandbox-public", "s");
    let repeated = [good.clone(), vec![("client_id", "sandbox")]].concat();
    let cases: Vec<(Pairs<'_>, &str)> = vec![
        (with_param(&good, "client_id", None), "client_id is missing"),
        (
            with_param(&good, "client_id", Some("other")),
            "Unknown client_id &quot;other&quot;",
        ),
        (
            with_param(&good, "redirect_uri", None),
            "redirect_uri is missing",
        ),
        (
            with_param(&good, "redirect_uri", Some("https://127.0.0.1:9/cb")),
            "its scheme is not http",
        ),
        (
            with_param(&good, "redirect_uri", Some("http://evil.example:9/cb")),
            "its host is not a loopback address",
        ),
        (
            with_param(&good, "redirect_uri", Some("http://127.0.0.1:9/cb#f")),
            "it has a fragment",
        ),
        (repeated, "client_id is repeated"),
    ];
    for (params, message) in &cases {
        let page = h.authorize_get(params).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{params:?}");
        assert!(page.location.is_none(), "{params:?}");
        assert!(page.body.contains("<p id=\"error\""), "{}", page.body);
        assert!(page.body.contains(message), "{message}: {}", page.body);
        let page = h.authorize_post(params).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{params:?}");
        assert!(page.location.is_none(), "{params:?}");
    }
    assert_eq!(h.stats().await["authorization_codes_issued"], 0);
}

#[tokio::test]
async fn authorization_requests_without_pkce_s256_are_redirected_with_invalid_request() {
    let h = Harness::start(SandboxOptions {
        auto_approve: true,
        ..SandboxOptions::default()
    })
    .await;
    let good = auth_params("sandbox", "keep-me");
    let repeated_state = [good.clone(), vec![("state", "other")]].concat();
    let cases: Vec<(Pairs<'_>, &str, &str)> = vec![
        (
            with_param(&good, "code_challenge", None),
            "invalid_request",
            "code_challenge is missing: this server requires PKCE (RFC 7636)",
        ),
        (
            with_param(&good, "code_challenge_method", None),
            "invalid_request",
            "code_challenge_method is missing: it must be S256 (plain is not accepted)",
        ),
        (
            with_param(&good, "code_challenge_method", Some("plain")),
            "invalid_request",
            "code_challenge_method \"plain\" is not accepted: use S256",
        ),
        (
            with_param(&good, "code_challenge", Some("short")),
            "invalid_request",
            "code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.2)",
        ),
        (
            with_param(&good, "response_type", Some("token")),
            "unsupported_response_type",
            "response_type \"token\" is not supported: use code",
        ),
        (
            with_param(&good, "response_type", None),
            "invalid_request",
            "response_type is missing",
        ),
        (repeated_state, "invalid_request", "state is repeated"),
    ];
    for (params, error, description) in &cases {
        let page = h.authorize_get(params).await;
        assert_eq!(page.status, StatusCode::FOUND, "{params:?}: {}", page.body);
        assert_eq!(page.target(), REDIRECT);
        let query = page.query();
        assert_eq!(query["error"], *error, "{params:?}");
        assert_eq!(query["error_description"], *description, "{params:?}");
        assert_eq!(query["state"], "keep-me", "{params:?}");
        assert!(!query.contains_key("code"), "{params:?}");
    }
    assert_eq!(h.stats().await["authorization_codes_issued"], 0);
}

#[tokio::test]
async fn code_exchanges_are_refused_unless_everything_matches() {
    let h = Harness::start(SandboxOptions::default()).await;
    let wrong_verifier = "x".repeat(43);
    let cases: Vec<(Pairs<'_>, &str, &str)> = vec![
        (
            vec![("code_verifier", wrong_verifier.as_str())],
            "invalid_grant",
            "PKCE verification failed: S256(code_verifier) is not the code_challenge",
        ),
        (
            vec![("code_verifier", "too-short")],
            "invalid_grant",
            "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.1)",
        ),
        (
            vec![("redirect_uri", "http://127.0.0.1:10/callback")],
            "invalid_grant",
            "redirect_uri is not the one of the authorization request",
        ),
        (
            vec![
                ("client_id", "sandbox"),
                ("client_secret", "sandbox-secret"),
            ],
            "invalid_grant",
            "The authorization code was issued to another client",
        ),
    ];
    for (overrides, error, description) in &cases {
        let code = h.code("sandbox-public").await;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", "sandbox-public"),
        ];
        for (name, value) in overrides {
            form = with_param(&form, name, Some(value));
        }
        let (status, body) = h.post_form("/oauth/v2/token", &form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{overrides:?}");
        assert_eq!(
            body,
            json!({"error": error, "error_description": description}),
            "{overrides:?}"
        );
        // One attempt per code: the right verifier comes too late.
        let (status, body) = h.exchange(&code).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body["error_description"],
            "The authorization code was already used"
        );
    }
    let code = h.code("sandbox-public").await;
    for (missing, description) in [
        ("code", "No \"code\" parameter found"),
        ("redirect_uri", "No \"redirect_uri\" parameter found"),
        ("code_verifier", "No \"code_verifier\" parameter found"),
    ] {
        let form = with_param(
            &vec![
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", "sandbox-public"),
            ],
            missing,
            None,
        );
        let (status, body) = h.post_form("/oauth/v2/token", &form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body,
            json!({"error": "invalid_request", "error_description": description})
        );
    }
    // None of these spent the code.
    assert_eq!(h.exchange(&code).await.0, StatusCode::OK);
    let (_, body) = h.exchange("not-a-code").await;
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "Invalid authorization code"})
    );
    let stats = h.stats().await;
    assert_eq!(stats["code_reuse"], 4);
    assert_eq!(stats["token_requests"]["authorization_code"], 13);
}

#[tokio::test]
async fn a_reused_code_revokes_the_tokens_it_bought() {
    let h = Harness::start(SandboxOptions::default()).await;
    let code = h.code("sandbox-public").await;
    let (status, first) = h.exchange(&code).await;
    assert_eq!(status, StatusCode::OK);
    let access = str_of(&first["access_token"]);
    // A refresh keeps the family: its tokens go too.
    let (_, refreshed) = h.refresh_public(&str_of(&first["refresh_token"])).await;
    let refreshed_access = str_of(&refreshed["access_token"]);
    assert_eq!(
        h.get("/api/v1/assets", &refreshed_access).await.0,
        StatusCode::OK
    );

    let (status, body) = h.exchange(&code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "invalid_grant",
               "error_description": "The authorization code was already used: the tokens issued for it are revoked"})
    );
    for token in [&access, &refreshed_access] {
        assert_eq!(
            h.get("/api/v1/assets", token).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let (status, body) = h.refresh_public(&str_of(&refreshed["refresh_token"])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(h.stats().await["code_reuse"], 1);
}

#[tokio::test]
async fn codes_expire_after_sixty_seconds() {
    let clock = Clock::manual(1_700_000_000_000);
    let h = Harness::with_clock(SandboxOptions::default(), clock.clone()).await;
    let code = h.code("sandbox-public").await;
    clock.advance_ms(60_000);
    let (status, body) = h.exchange(&code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "The authorization code has expired"})
    );
    let code = h.code("sandbox-public").await;
    clock.advance_ms(59_999);
    assert_eq!(h.exchange(&code).await.0, StatusCode::OK);
}

#[tokio::test]
async fn the_id_token_names_the_demo_user() {
    let clock = Clock::manual(1_700_000_000_000);
    let opts = SandboxOptions {
        access_ttl: 300,
        ..SandboxOptions::default()
    };
    let h = Harness::with_clock(opts, clock).await;
    let mut form = auth_params("sandbox-public", "s");
    form.push(("nonce", "n-0S6_WzA2Mj"));
    form.push(("password", "demo"));
    let page = h.authorize_post(&form).await;
    let code = page.query()["code"].clone();
    let (_, body) = h.exchange(&code).await;
    let claims = id_token_claims(&str_of(&body["id_token"]));
    assert_eq!(
        claims,
        json!({
            "iss": h.sandbox.url(),
            "sub": "00000000-0000-4000-8001-000000000000",
            "aud": "sandbox-public",
            "iat": 1_700_000_000u64,
            "exp": 1_700_000_300u64,
            "preferred_username": "demo",
            "email": "demo@example.com",
            "nonce": "n-0S6_WzA2Mj",
        })
    );
}

#[tokio::test]
async fn public_clients_may_not_use_the_secret_grants() {
    let h = Harness::start(SandboxOptions::default()).await;
    for grant in ["password", "client_credentials"] {
        let (status, body) = h
            .post_form(
                "/oauth/v2/token",
                &[
                    ("grant_type", grant),
                    ("client_id", "sandbox-public"),
                    ("username", "demo"),
                    ("password", "demo"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{grant}");
        assert_eq!(
            body,
            json!({"error": "unauthorized_client",
                   "error_description": format!("The client sandbox-public is public: it may not use the {grant} grant")})
        );
    }
    // A public client's tokens are its own: the confidential client cannot refresh them.
    let code = h.code("sandbox-public").await;
    let (_, tokens) = h.exchange(&code).await;
    let (status, body) = h.refresh(&str_of(&tokens["refresh_token"])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error_description"],
        "The refresh token was issued to another client"
    );
    assert_eq!(
        h.refresh_public(&str_of(&tokens["refresh_token"])).await.0,
        StatusCode::OK,
        "the refused attempt did not spend it"
    );
}

#[tokio::test]
async fn device_flow_goes_pending_slows_down_and_is_approved_through_the_form() {
    let clock = Clock::manual(1_700_000_000_000);
    let h = Harness::with_clock(SandboxOptions::default(), clock.clone()).await;
    let response = h
        .http
        .post(h.url("/oauth/v2/device"))
        .form(&[("client_id", "sandbox-public"), ("scope", "read")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
    let (status, started) = split(response).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let user_code = str_of(&started["user_code"]);
    let device_code = str_of(&started["device_code"]);
    let verify = format!("{}/oauth/v2/device/verify", h.sandbox.url());
    assert_eq!(
        started,
        json!({
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": verify,
            "verification_uri_complete": format!("{verify}?user_code={user_code}"),
            "expires_in": 600,
            "interval": 1,
        })
    );
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");

    let (status, body) = h.poll(&device_code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "authorization_pending");
    let (_, body) = h.poll(&device_code).await;
    assert_eq!(
        body,
        json!({"error": "slow_down", "error_description": "Polling too fast: wait 6 s between requests"})
    );
    clock.advance_ms(6_000);
    assert_eq!(
        h.poll(&device_code).await.1["error"],
        "authorization_pending"
    );

    let response = h
        .http
        .get(str_of(&started["verification_uri_complete"]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(
        page.contains(&format!("name=\"user_code\" value=\"{user_code}\"")),
        "{page}"
    );
    assert!(page.contains("<strong>sandbox-public</strong> asks to act for you"));

    let submit = |password: &'static str, code: String| {
        h.http
            .post(h.url("/oauth/v2/device/verify"))
            .form(&[
                ("user_code", code),
                ("password", password.to_owned()),
                ("action", "approve".to_owned()),
            ])
            .send()
    };
    let response = submit("nope", user_code.clone()).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.unwrap();
    assert!(page.contains("<p id=\"error\" role=\"alert\">Wrong password for demo.</p>"));
    let response = submit("demo", "BCDF-GHJK".to_owned()).await.unwrap();
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("No device is waiting for this code")
    );
    // People type codes in any case, with any punctuation.
    let typed = user_code.to_lowercase().replace('-', " ");
    let response = submit("demo", typed.clone()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("id=\"outcome\" data-outcome=\"approved\""),
        "{page}"
    );
    let response = submit("demo", typed).await.unwrap();
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("This code was already used.")
    );

    clock.advance_ms(6_000);
    let (status, tokens) = h.poll(&device_code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["scope"], "read");
    let claims = id_token_claims(&str_of(&tokens["id_token"]));
    assert_eq!(claims["preferred_username"], "demo");
    assert_eq!(claims["aud"], "sandbox-public");
    assert_eq!(
        h.get("/api/v1/assets", &str_of(&tokens["access_token"]))
            .await
            .0,
        StatusCode::OK
    );
    clock.advance_ms(6_000);
    let (status, body) = h.poll(&device_code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "The device code was already used"})
    );
    let stats = h.stats().await;
    assert_eq!(stats["device_codes_issued"], 1);
    assert_eq!(stats["token_requests"]["device_code"], 5);
}

#[tokio::test]
async fn device_codes_can_be_denied_and_expire() {
    let clock = Clock::manual(1_700_000_000_000);
    let opts = SandboxOptions {
        device_ttl: 30,
        ..SandboxOptions::default()
    };
    let h = Harness::with_clock(opts, clock.clone()).await;
    let public = [("client_id", "sandbox-public")];
    let denied = h.device(&public).await;
    let approve = |query: String| {
        h.http
            .post(h.url(&format!("/_sandbox/device/approve?{query}")))
            .send()
    };
    let response = approve(format!("user_code={}&deny=1", str_of(&denied["user_code"])))
        .await
        .unwrap();
    assert_eq!(
        split(response).await,
        (
            StatusCode::OK,
            json!({"user_code": denied["user_code"], "decision": "denied"})
        )
    );
    let (status, body) = h.poll(&str_of(&denied["device_code"])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "access_denied", "error_description": "The user denied the request"})
    );

    let late = h.device(&public).await;
    assert_eq!(late["expires_in"], 30);
    clock.advance_ms(30_000);
    let (_, body) = h.poll(&str_of(&late["device_code"])).await;
    assert_eq!(
        body,
        json!({"error": "expired_token", "error_description": "The device code has expired"})
    );
    let response = approve(format!("user_code={}", str_of(&late["user_code"])))
        .await
        .unwrap();
    let (status, body) = split(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error_description"],
        "This code has expired: start again on the device."
    );
    let (status, _) = split(approve("user_code=BCDF-GHJK".into()).await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = split(approve(String::new()).await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (_, body) = h.poll("not-a-device-code").await;
    assert_eq!(body["error_description"], "Invalid device code");
}

#[tokio::test]
async fn auto_approve_lets_a_device_code_pend_once() {
    let clock = Clock::manual(1_700_000_000_000);
    let opts = SandboxOptions {
        auto_approve: true,
        ..SandboxOptions::default()
    };
    let h = Harness::with_clock(opts, clock.clone()).await;
    let started = h.device(&[("client_id", "sandbox-public")]).await;
    let device_code = str_of(&started["device_code"]);
    assert_eq!(
        h.poll(&device_code).await.1["error"],
        "authorization_pending"
    );
    clock.advance_ms(1_000);
    let (status, body) = h.poll(&device_code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["id_token"].is_string());
}

#[tokio::test]
async fn device_authorization_needs_a_known_client() {
    let h = Harness::start(SandboxOptions::default()).await;
    for form in [
        vec![("client_id", "sandbox"), ("client_secret", "wrong")],
        vec![("client_id", "nobody")],
        vec![("scope", "read")],
    ] {
        let response = h
            .http
            .post(h.url("/oauth/v2/device"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["www-authenticate"],
            "Basic realm=\"sandbox\""
        );
        let (status, body) = split(response).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{form:?}");
        assert_eq!(body["error"], "invalid_client", "{form:?}");
    }
    let response = h
        .http
        .post(h.url("/oauth/v2/device"))
        .basic_auth("sandbox", Some("sandbox-secret"))
        .send()
        .await
        .unwrap();
    let (status, started) = split(response).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    // Another client's device code is no use to the public client.
    let (_, body) = h.poll(&str_of(&started["device_code"])).await;
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "The device code was issued to another client"})
    );
}

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
            "urn:ietf:params:oauth:grant-type:device_code"
        ])
    );
    assert_eq!(
        document["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert_eq!(
        document["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "none"])
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

/// A loopback listener standing in for runner's: takes one request, answers 200, and
/// hands over the request target (path and query).
fn one_callback() -> (u16, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead as _, BufReader, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        let mut reader = BufReader::new(stream);
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).is_err() {
            return;
        }
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
            line.clear();
        }
        let mut stream = reader.into_inner();
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 21\r\nConnection: close\r\n\r\nYou may close this.\r\n",
        );
        let target = request_line.split(' ').nth(1).unwrap_or("").to_owned();
        let _ = tx.send(format!(
            "{} {target}",
            request_line.split(' ').next().unwrap_or("")
        ));
    });
    (port, rx)
}

/// Runs `python3 tests/browser/sandbox_login.py [args] URL` (runner's stand-in for a
/// browser, at the repository's root) as runner would run `RUNNER_BROWSER`; returns the
/// exit code, stdout and stderr.
async fn login_script(args: &[&str], url: String, env: &[(&str, &str)]) -> (i32, String, String) {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/browser/sandbox_login.py"
    );
    let mut command = std::process::Command::new("python3");
    command.arg(script).args(args).arg(url);
    command
        .env_remove("SANDBOX_LOGIN_PASSWORD")
        .env_remove("SANDBOX_LOGIN_DENY");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("python3 runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The query of a request target, as pairs.
fn target_query(target: &str) -> HashMap<String, String> {
    let query = target.split_once('?').map_or("", |(_, q)| q);
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

#[tokio::test]
async fn the_browser_script_logs_in_and_delivers_the_code_to_the_loopback_listener() {
    let h = Harness::start(SandboxOptions::default()).await;
    let (port, received) = one_callback();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let params = with_param(
        &auth_params("sandbox-public", "st-4ae1"),
        "redirect_uri",
        Some(&redirect),
    );
    let (code, stdout, stderr) = login_script(&["--verbose"], h.authorize_url(&params), &[]).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "");
    let request = received.recv_timeout(Duration::from_secs(10)).unwrap();
    let (method, target) = request.split_once(' ').unwrap();
    assert_eq!(method, "GET");
    assert!(target.starts_with("/callback?"), "{target}");
    let query = target_query(target);
    assert_eq!(query["state"], "st-4ae1");
    let auth_code = &query["code"];
    assert!(
        !stderr.contains(auth_code.as_str()),
        "the code is never printed: {stderr}"
    );
    assert!(
        stderr.contains(&format!("the redirect reached {redirect} (200)")),
        "{stderr}"
    );

    let (status, body) = h
        .post_form(
            "/oauth/v2/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", auth_code),
                ("redirect_uri", &redirect),
                ("code_verifier", VERIFIER),
                ("client_id", "sandbox-public"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        h.get("/api/v1/assets", &str_of(&body["access_token"]))
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_browser_script_denies_fails_on_a_wrong_password_and_follows_auto_approval() {
    let h = Harness::start(SandboxOptions::default()).await;
    let redirect_for = |port: u16| format!("http://127.0.0.1:{port}/cb");

    let (port, received) = one_callback();
    let redirect = redirect_for(port);
    let params = with_param(
        &auth_params("sandbox", "d1"),
        "redirect_uri",
        Some(&redirect),
    );
    let (code, stdout, stderr) = login_script(
        &[],
        h.authorize_url(&params),
        &[("SANDBOX_LOGIN_DENY", "1")],
    )
    .await;
    assert_eq!((code, stdout.as_str(), stderr.as_str()), (0, "", ""));
    let (_, target) = received
        .recv_timeout(Duration::from_secs(10))
        .unwrap()
        .split_once(' ')
        .map(|(m, t)| (m.to_owned(), t.to_owned()))
        .unwrap();
    let query = target_query(&target);
    assert_eq!(query["error"], "access_denied");
    assert_eq!(query["state"], "d1");

    let (port, received) = one_callback();
    let redirect = redirect_for(port);
    let params = with_param(
        &auth_params("sandbox", "w"),
        "redirect_uri",
        Some(&redirect),
    );
    let (code, _, stderr) = login_script(
        &[],
        h.authorize_url(&params),
        &[("SANDBOX_LOGIN_PASSWORD", "wrong")],
    )
    .await;
    assert_eq!(
        (code, stderr.as_str()),
        (1, "sandbox_login: Wrong password for demo.\n")
    );
    assert!(received.recv_timeout(Duration::from_millis(200)).is_err());

    let params = with_param(
        &auth_params("sandbox", "w"),
        "redirect_uri",
        Some("http://192.0.2.1:80/cb"),
    );
    let (code, _, stderr) = login_script(&[], h.authorize_url(&params), &[]).await;
    assert_eq!(code, 1);
    assert!(stderr.starts_with("sandbox_login: redirect_uri \"http://192.0.2.1:80/cb\" is refused: its host is not a loopback address"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let auto = Harness::start(SandboxOptions {
        auto_approve: true,
        ..SandboxOptions::default()
    })
    .await;
    let (port, received) = one_callback();
    let redirect = redirect_for(port);
    let params = with_param(
        &auth_params("sandbox", "a"),
        "redirect_uri",
        Some(&redirect),
    );
    let (code, _, stderr) = login_script(&[], auto.authorize_url(&params), &[]).await;
    assert_eq!(code, 0, "{stderr}");
    let request = received.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(target_query(&request)["code"].len() == 43, "{request}");
}

#[tokio::test]
async fn the_browser_script_approves_a_device_code() {
    let h = Harness::start(SandboxOptions::default()).await;
    let started = h.device(&[("client_id", "sandbox-public")]).await;
    let complete = str_of(&started["verification_uri_complete"]);
    let (code, stdout, stderr) =
        login_script(&[], complete.clone(), &[("SANDBOX_LOGIN_PASSWORD", "x")]).await;
    assert_eq!(
        (code, stdout.as_str(), stderr.as_str()),
        (1, "", "sandbox_login: Wrong password for demo.\n")
    );
    let (code, stdout, stderr) = login_script(&[], complete, &[]).await;
    assert_eq!((code, stdout.as_str(), stderr.as_str()), (0, "", ""));
    let (status, body) = h.poll(&str_of(&started["device_code"])).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let denied = h.device(&[("client_id", "sandbox-public")]).await;
    let (code, _, stderr) = login_script(
        &[],
        str_of(&denied["verification_uri_complete"]),
        &[("SANDBOX_LOGIN_DENY", "1")],
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    let (_, body) = h.poll(&str_of(&denied["device_code"])).await;
    assert_eq!(body["error"], "access_denied");

    let unknown = format!(
        "{}/oauth/v2/device/verify?user_code=BCDF-GHJK",
        h.sandbox.url()
    );
    let (code, _, stderr) = login_script(&[], unknown, &[]).await;
    assert_eq!(
        (code, stderr.as_str()),
        (
            1,
            "sandbox_login: No device is waiting for this code: check it and try again.\n"
        )
    );
}
