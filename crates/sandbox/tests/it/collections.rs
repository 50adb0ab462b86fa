//! Reading `/api/v1`: the bearer check, the list envelope, paging, sorting, filters
//! and search.

use reqwest::StatusCode;
use sandbox::SandboxOptions;
use serde_json::{Value, json};

use crate::harness::{Harness, asset_id, ids, str_of};

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
