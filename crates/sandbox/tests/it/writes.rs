//! Writing `/api/v1`: assets created, updated and deleted, reports, document uploads.

use reqwest::StatusCode;
use sandbox::SandboxOptions;
use serde_json::{Value, json};

use crate::harness::{Harness, asset_id, ids, split, str_of};

#[tokio::test]
async fn assets_are_created_read_updated_and_deleted() {
    let h = Harness::start(SandboxOptions::default()).await;
    let (token, _) = h.login().await;
    let (location, created) = create_pump(&h, &token).await;
    let id = str_of(&created["id"]);

    let (status, got) = h.get(&location, &token).await;
    assert_eq!((status, &got), (StatusCode::OK, &created));
    let (_, page) = h.get("/api/v1/assets", &token).await;
    assert_eq!(page["total_items"], 251);
    // Newer than every seeded asset, so last in the default created_at order.
    let (_, page) = h.get("/api/v1/assets?page=26", &token).await;
    assert_eq!(ids(&page), vec![id.clone()]);

    update_then_patch(&h, &token, &location).await;
    bad_writes_are_refused(&h, &token, &location).await;
    delete_twice(&h, &token, &location).await;

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

/// Creates "Pump 12", checks what came back, and returns its Location and body.
async fn create_pump(h: &Harness, token: &str) -> (String, Value) {
    let response = h
        .http
        .post(h.url("/api/v1/assets"))
        .bearer_auth(token)
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
    (location, created)
}

/// PUT renames the asset, PATCH archives it; the fields not sent stay.
async fn update_then_patch(h: &Harness, token: &str, location: &str) {
    let (status, updated) = h
        .send(
            reqwest::Method::PUT,
            location,
            token,
            json!({"name": "Pump 13"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(updated["name"], "Pump 13");
    assert_eq!(updated["serial"], 77);
    let (status, patched) = h
        .send(
            reqwest::Method::PATCH,
            location,
            token,
            json!({"status": "archived"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&patched["name"], &patched["status"]),
        (&json!("Pump 13"), &json!("archived"))
    );
}

/// Writes without a name, with a name that is not text, or a status out of the enum.
async fn bad_writes_are_refused(h: &Harness, token: &str, location: &str) {
    for (method, body) in [
        (reqwest::Method::POST, json!({"status": "active"})),
        (reqwest::Method::POST, json!({"name": 5})),
        (reqwest::Method::POST, json!(["name"])),
        (reqwest::Method::PUT, json!({"status": "melted"})),
    ] {
        let path = if method == reqwest::Method::POST {
            "/api/v1/assets"
        } else {
            location
        };
        let (status, answer) = h.send(method, path, token, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(answer["error"], "invalid_request", "{body}");
    }
}

/// The first DELETE answers 204, then the asset is gone (404 for GET and DELETE).
async fn delete_twice(h: &Harness, token: &str, location: &str) {
    let response = h
        .http
        .delete(h.url(location))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (status, body) = h.get(location, token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not_found");
    let response = h
        .http
        .delete(h.url(location))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
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
    upload_guesses_the_type_from_the_file_name(&h, &token).await;
    upload_keeps_the_part_type_and_name(&h, &token).await;
    uploads_without_a_file_or_a_name_are_refused(&h, &token).await;

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

/// `POST /api/v1/documents` with `form`, authenticated.
async fn upload(h: &Harness, token: &str, form: reqwest::multipart::Form) -> reqwest::Response {
    h.http
        .post(h.url("/api/v1/documents"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

fn part(bytes: &'static [u8], name: &'static str) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(bytes).file_name(name)
}

/// The type is guessed from the file name when the part has none.
async fn upload_guesses_the_type_from_the_file_name(h: &Harness, token: &str) {
    let form = reqwest::multipart::Form::new().part("file", part(b"a,b\n1,2\n", "Pump 12.CSV"));
    let response = upload(h, token, form).await;
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let (status, created) = split(response).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = str_of(&created["id"]);
    assert_eq!(location, format!("/api/v1/documents/{id}"));
    assert_eq!(
        created,
        json!({"name": "Pump 12.CSV", "mime_type": "text/csv", "size": 8, "id": id})
    );
    let (status, got) = h.get(&location, token).await;
    assert_eq!((status, &got), (StatusCode::OK, &created));
    let (_, page) = h.get("/api/v1/documents?mime_type=text/csv", token).await;
    assert_eq!(
        page["total_items"], 6,
        "5 seeded CSV documents and the new one"
    );
}

/// The part's own type wins; a `name` part renames the document.
async fn upload_keeps_the_part_type_and_name(h: &Harness, token: &str) {
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            part(&[0u8, 159, 146, 150], "scan")
                .mime_str("image/png")
                .unwrap(),
        )
        .text("name", "Nameplate");
    let (status, created) = split(upload(h, token, form).await).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        (&created["name"], &created["mime_type"], &created["size"]),
        (&json!("Nameplate"), &json!("image/png"), &json!(4))
    );
    let form = reqwest::multipart::Form::new().part("file", part(b"", "blob.bin"));
    let (_, created) = split(upload(h, token, form).await).await;
    assert_eq!(
        (&created["mime_type"], &created["size"]),
        (&json!("application/octet-stream"), &json!(0))
    );
}

/// No `file` part, no name for the document, or no multipart body at all.
async fn uploads_without_a_file_or_a_name_are_refused(h: &Harness, token: &str) {
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
        let (status, answer) = split(upload(h, token, form).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(answer["error_description"], message);
    }
    let (status, answer) = h
        .send(
            reqwest::Method::POST,
            "/api/v1/documents",
            token,
            json!({"name": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer["error_description"],
        "Expected a multipart/form-data body, got \"application/json\""
    );
}
