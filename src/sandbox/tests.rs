//! The sandbox over real loopback HTTP, as clients see it.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::clock::Clock;
use super::{Sandbox, SandboxOptions};

struct Harness {
    sandbox: Sandbox,
    http: reqwest::Client,
}

impl Harness {
    async fn start(opts: SandboxOptions) -> Harness {
        Harness::with_clock(opts, Clock::System).await
    }

    async fn with_clock(opts: SandboxOptions, clock: Clock) -> Harness {
        let sandbox = Sandbox::start_with_clock(opts, clock).await.unwrap();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        Harness { sandbox, http }
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
        json!({"password": 1, "refresh_token": 0, "client_credentials": 0})
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
            with(json!({"grant_type": "authorization_code"})),
            "unsupported_grant_type",
            "Invalid grant_type parameter or parameter missing",
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
