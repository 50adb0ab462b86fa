//! `GET /openapi.json`: the sandbox's own OpenAPI 3.1 document. Every route, the
//! OAuth2 password flow, and the schemas of the bodies. A test compares it with the
//! router, so that it stays true.

use axum::Json;
use serde_json::{Map, Value, json};

use crate::state::seed;

pub(crate) async fn document() -> Json<Value> {
    Json(build())
}

fn list_params(sorts: &[&str], filters: &[&str]) -> Value {
    let mut params = vec![
        json!({"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}}),
        json!({"name": "limit", "in": "query", "description": "Items per page (default 10, at most 100)",
               "schema": {"type": "integer", "minimum": 1, "maximum": 100}}),
        json!({"name": "sort", "in": "query", "description": format!("FIELD:asc or FIELD:desc, FIELD one of {}", sorts.join(", ")),
               "schema": {"type": "string"}}),
    ];
    for f in filters {
        params.push(json!({"name": f, "in": "query", "schema": {"type": "string"}}));
    }
    Value::Array(params)
}

fn id_param() -> Value {
    json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}])
}

fn ok(schema: &str) -> Value {
    json!({"description": "OK", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

fn errors() -> Value {
    json!({"description": "An error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn json_body(schema: &str, example: Value) -> Value {
    json!({"required": true, "content": {"application/json": {
        "schema": {"$ref": format!("#/components/schemas/{schema}")}, "example": example}}})
}

/// A collection's list and get operations.
fn collection(
    paths: &mut Map<String, Value>,
    spec: &crate::state::collection::CollectionSpec,
    tag: &str,
    item: &str,
) {
    paths.insert(
        spec.path.to_string(),
        json!({"get": {
            "operationId": format!("list_{tag}"), "tags": [tag],
            "summary": format!("List {tag}, a page at a time"),
            "parameters": list_params(spec.sort_fields, spec.filters),
            "responses": {"200": ok(&format!("{item}Page")), "400": errors(), "401": errors()}
        }}),
    );
    paths.insert(
        format!("{}/{{id}}", spec.path),
        json!({"get": {
            "operationId": format!("get_{}", spec.noun), "tags": [tag],
            "summary": format!("One {}", spec.noun),
            "parameters": id_param(),
            "responses": {"200": ok(item), "401": errors(), "404": errors()}
        }}),
    );
}

fn page_schema(item: &str) -> Value {
    json!({"type": "object",
    "required": ["items", "total_items", "total_pages", "items_per_page", "next_page", "previous_page"],
    "properties": {
        "items": {"type": "array", "items": {"$ref": format!("#/components/schemas/{item}")}},
        "total_items": {"type": "integer"}, "total_pages": {"type": "integer"},
        "items_per_page": {"type": "integer"},
        "next_page": {"type": ["string", "null"]}, "previous_page": {"type": ["string", "null"]}
    }})
}

/// The document.
pub(crate) fn build() -> Value {
    let mut paths = Map::new();
    api_paths(&mut paths);
    oauth_paths(&mut paths);
    sandbox_paths(&mut paths);
    control_paths(&mut paths);
    web_paths(&mut paths);
    paths.insert(
        "/openapi.json".into(),
        json!({"get": open("openapi", "sandbox", "This document")}),
    );
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Sandbox", "version": env!("CARGO_PKG_VERSION"),
                 "description": "runner's built-in Ermeo-compatible sandbox"},
        "servers": [{"url": "/"}],
        "security": [{"sandbox_password": []}],
        "paths": paths,
        "components": components(),
    })
}

/// `/api/v1`: every collection's list and get, and the writes.
fn api_paths(paths: &mut Map<String, Value>) {
    collection(paths, &seed::ASSETS, "assets", "Asset");
    collection(paths, &seed::USERS, "users", "User");
    collection(paths, &seed::REPORTS, "reports", "Report");
    collection(paths, &seed::DOCUMENTS, "documents", "Document");
    asset_writes(paths);
    if let Some(Value::Object(list)) = paths.get_mut(seed::REPORTS.path) {
        list.insert("post".into(), json!({
            "operationId": "create_report", "tags": ["reports"], "summary": "Create a report on an asset",
            "requestBody": json_body("ReportInput", json!({"title": "Imported inspection", "asset_id": seed::asset_id(1)})),
            "responses": {"201": ok("Report"), "400": errors(), "401": errors()}
        }));
    }
    if let Some(Value::Object(list)) = paths.get_mut(seed::DOCUMENTS.path) {
        list.insert("post".into(), json!({
            "operationId": "upload_document", "tags": ["documents"], "summary": "Upload a document",
            "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}, "name": {"type": "string"}}}}}},
            "responses": {"201": ok("Document"), "400": errors(), "401": errors()}
        }));
    }
}

/// Creating, updating, deleting and searching assets.
fn asset_writes(paths: &mut Map<String, Value>) {
    let assets = seed::ASSETS.path;
    if let Some(Value::Object(list)) = paths.get_mut(assets) {
        list.insert("post".into(), json!({
            "operationId": "create_asset", "tags": ["assets"], "summary": "Create an asset",
            "requestBody": json_body("AssetInput", json!({"name": "Pump 12", "status": "active", "family_id": "imported"})),
            "responses": {"201": ok("Asset"), "400": errors(), "401": errors()}
        }));
    }
    if let Some(Value::Object(one)) = paths.get_mut(&format!("{assets}/{{id}}")) {
        let update = |id: &str, summary: &str| {
            json!({
                "operationId": id, "tags": ["assets"], "summary": summary, "parameters": id_param(),
                "requestBody": json_body("AssetInput", json!({"name": "Pump 12b"})),
                "responses": {"200": ok("Asset"), "400": errors(), "401": errors(), "404": errors()}
            })
        };
        one.insert(
            "put".into(),
            update("update_asset", "Update an asset (the fields sent)"),
        );
        one.insert(
            "patch".into(),
            update("patch_asset", "Update an asset (the fields sent)"),
        );
        one.insert(
            "delete".into(),
            json!({
                "operationId": "delete_asset", "tags": ["assets"], "summary": "Delete an asset",
                "parameters": id_param(),
                "responses": {"204": {"description": "Deleted"}, "401": errors(), "404": errors()}
            }),
        );
    }
    paths.insert(format!("{assets}/search"), json!({"post": {
        "operationId": "search_assets", "tags": ["assets"], "summary": "Search assets by name",
        "requestBody": json_body("AssetSearch", json!({"query": "Asset 00", "status": "active", "limit": 5})),
        "responses": {"200": ok("AssetPage"), "400": errors(), "401": errors()}
    }}));
}

/// An operation without authentication that answers a JSON object.
fn open(id: &str, tag: &str, summary: &str) -> Value {
    json!({
        "operationId": id, "tags": [tag], "summary": summary, "security": [],
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}}
    })
}

/// An OAuth2 operation that takes a form.
fn form(id: &str, summary: &str) -> Value {
    json!({
        "operationId": id, "tags": ["oauth"], "summary": summary, "security": [],
        "requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}}},
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
                      "400": errors(), "401": errors()}
    })
}

/// An OAuth2 operation that answers a page for people.
fn html(id: &str, summary: &str) -> Value {
    json!({
        "operationId": id, "tags": ["oauth"], "summary": summary, "security": [],
        "responses": {"200": {"description": "An HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}}
    })
}

/// The OAuth2 endpoints and the metadata.
fn oauth_paths(paths: &mut Map<String, Value>) {
    paths.insert("/oauth/v2/token".into(), json!({"post": form("token", "The token endpoint (password, refresh_token, client_credentials, authorization_code, device_code)")}));
    paths.insert(
        "/oauth/v2/auth".into(),
        json!({
        "get": html("authorize", "The login page of the authorization code flow"),
        "post": form("authorize_submit", "The login form's submission")}),
    );
    paths.insert(
        "/oauth/v2/device".into(),
        json!({"post": form("device_authorization", "RFC 8628 device authorization")}),
    );
    paths.insert(
        super::device::VERIFY_PATH.into(),
        json!({
        "get": html("device_verify", "Where a person enters the device code"),
        "post": form("device_verify_submit", "The device code form's submission")}),
    );
    paths.insert(
        "/oauth/v2/revoke".into(),
        json!({"post": form("revoke", "RFC 7009 revocation")}),
    );
    paths.insert(
        "/.well-known/oauth-authorization-server".into(),
        json!({"get": open("authorization_server_metadata", "oauth", "RFC 8414 metadata")}),
    );
    paths.insert("/.well-known/openid-configuration".into(), json!({"get": open("openid_configuration", "oauth", "OpenID discovery (the same metadata)")}));
}

/// The cookie login of `routes/web.rs`.
fn web_paths(paths: &mut Map<String, Value>) {
    let mut submit = open(
        "web_login_submit",
        "web",
        "Log in with the form and the session's CSRF token",
    );
    submit["requestBody"] = json!({"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {
        "type": "object", "required": ["username", "password", "csrf"],
        "properties": {"username": {"type": "string"}, "password": {"type": "string"}, "csrf": {"type": "string"}}}}}});
    paths.insert(
        "/web/login".into(),
        json!({"get": open("web_login_page", "web", "Start a session (cookie) and get its CSRF token"), "post": submit}),
    );
    paths.insert(
        "/web/me".into(),
        json!({"get": open("web_me", "web", "Who the session cookie belongs to")}),
    );
}

/// The echo routes: every method, answering the request as received.
fn echo(id: &str) -> Value {
    let mut item = Map::new();
    for m in ["get", "post", "put", "patch", "delete"] {
        let mut op = open(&format!("{id}_{m}"), "sandbox", "The request as received");
        op["responses"]["200"]["content"]["application/json"]["schema"] =
            json!({"$ref": "#/components/schemas/Echo"});
        item.insert(m.into(), op);
    }
    Value::Object(item)
}

/// `/_sandbox` routes that look: the counters, the echo and the big document.
fn sandbox_paths(paths: &mut Map<String, Value>) {
    paths.insert(
        "/_sandbox/stats".into(),
        json!({"get": open("stats", "sandbox", "What happened so far, for tests")}),
    );
    paths.insert("/_sandbox/echo".into(), echo("echo"));
    let mut rest = echo("echo_path");
    for op in rest
        .as_object_mut()
        .into_iter()
        .flat_map(|m| m.values_mut())
    {
        op["parameters"] =
            json!([{"name": "rest", "in": "path", "required": true, "schema": {"type": "string"}}]);
    }
    paths.insert("/_sandbox/echo/{rest}".into(), rest);
    paths.insert("/_sandbox/big".into(), json!({"get": {
        "operationId": "big", "tags": ["sandbox"], "summary": "A large JSON document", "security": [],
        "parameters": [{"name": "mb", "in": "query", "required": true, "description": "Megabytes (default 100)", "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}}
    }}));
}

/// `/_sandbox` routes that act: approvals, revocation, faults, the clock, redirects,
/// bytes out and bytes in.
fn control_paths(paths: &mut Map<String, Value>) {
    for (path, id, summary) in [
        (
            "/_sandbox/device/approve",
            "approve_device",
            "Approve a pending device code",
        ),
        (
            "/_sandbox/revoke",
            "revoke_all",
            "Every access token stops working",
        ),
        (
            "/_sandbox/fail",
            "fail_next",
            "The next requests fail with a status",
        ),
        ("/_sandbox/clock", "clock", "Move the manual clock"),
    ] {
        let mut op = open(id, "control", summary);
        op["requestBody"] =
            json!({"content": {"application/json": {"schema": {"type": "object"}}}});
        paths.insert(path.into(), json!({"post": op}));
    }
    let mut redirect = Map::new();
    for m in ["get", "post", "put", "patch", "delete"] {
        let mut op = open(
            &format!("redirect_{m}"),
            "control",
            "A redirect to `to` with `status`",
        );
        op["parameters"] = json!([{"name": "to", "in": "query", "required": true, "schema": {"type": "string"}},
                                  {"name": "status", "in": "query", "schema": {"type": "integer"}}]);
        op["responses"] = json!({"302": {"description": "A redirect"}});
        redirect.insert(m.into(), op);
    }
    paths.insert("/_sandbox/redirect".into(), Value::Object(redirect));
    paths.insert(
        "/_sandbox/bytes".into(),
        json!({"get": {
        "operationId": "bytes", "tags": ["control"], "summary": "Bytes as asked", "security": [],
        "responses": {"200": {"description": "OK"}}}}),
    );
    let mut sink = Map::new();
    for m in ["post", "put"] {
        sink.insert(m.into(), json!({
            "operationId": format!("sink_{m}"), "tags": ["control"], "summary": "Counts and drops the body", "security": [],
            "requestBody": {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
            "responses": {"200": {"description": "OK"}}}));
    }
    paths.insert("/_sandbox/sink".into(), Value::Object(sink));
}

/// The security scheme and the schemas of the bodies: a JSON literal.
fn components() -> Value {
    json!({
        "securitySchemes": {"sandbox_password": {"type": "oauth2", "flows": {"password": {
            "tokenUrl": "/oauth/v2/token", "scopes": {}}}}},
        "schemas": {
            "Asset": {"type": "object", "required": ["id", "name", "status", "created_at", "updated_at"],
                "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                    "status": {"enum": ["active", "archived"]}, "family_id": {"type": ["string", "null"]},
                    "code": {"type": "string"}, "location": {"type": "string"},
                    "created_at": {"type": "string", "format": "date-time"},
                    "updated_at": {"type": "string", "format": "date-time"}}},
            "AssetInput": {"type": "object", "properties": {"name": {"type": "string", "minLength": 1},
                "status": {"enum": ["active", "archived"]}, "family_id": {"type": "string"}}},
            "AssetSearch": {"type": "object", "properties": {"query": {"type": "string"},
                "status": {"enum": ["active", "archived"]}, "page": {"type": "integer"},
                "limit": {"type": "integer"}, "sort": {"type": "string"}}},
            "AssetPage": page_schema("Asset"),
            "User": {"type": "object", "required": ["id", "email"],
                "properties": {"id": {"type": "string"}, "email": {"type": "string"},
                    "first_name": {"type": "string"}, "last_name": {"type": "string"}}},
            "UserPage": page_schema("User"),
            "Report": {"type": "object", "required": ["id", "title", "asset_id", "status"],
                "properties": {"id": {"type": "string"}, "title": {"type": "string"},
                    "asset_id": {"type": "string"}, "status": {"enum": ["draft", "submitted", "validated"]},
                    "created_at": {"type": "string", "format": "date-time"}}},
            "ReportInput": {"type": "object", "required": ["title", "asset_id"],
                "properties": {"title": {"type": "string"}, "asset_id": {"type": "string"},
                    "status": {"enum": ["draft", "submitted", "validated"]}}},
            "ReportPage": page_schema("Report"),
            "Document": {"type": "object", "required": ["id", "name"],
                "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                    "mime_type": {"type": "string"}, "size": {"type": "integer"}}},
            "DocumentPage": page_schema("Document"),
            "Echo": {"type": "object", "required": ["method", "path", "target", "headers"],
                "properties": {"method": {"type": "string"}, "path": {"type": "string"},
                    "target": {"type": "string"}, "query": {"type": "object"},
                    "headers": {"type": "object"}, "body_base64": {"type": "string"}}},
            "Error": {"type": "object", "required": ["error"],
                "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}}}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every path the router serves, as OpenAPI writes it: the literal `.route("…")`
    /// paths of `mod.rs`, the collections and the device verification page.
    fn router_paths() -> Vec<String> {
        let src = include_str!("mod.rs");
        let mut paths: Vec<String> = src
            .split(".route(")
            .skip(1)
            .filter_map(|rest| {
                let rest = rest.trim_start();
                let rest = rest.strip_prefix('"')?;
                Some(rest[..rest.find('"')?].replace("{*rest}", "{rest}"))
            })
            .collect();
        for spec in [
            &seed::ASSETS,
            &seed::USERS,
            &seed::REPORTS,
            &seed::DOCUMENTS,
        ] {
            paths.push(spec.path.to_string());
            paths.push(format!("{}/{{id}}", spec.path));
        }
        paths.push(format!("{}/search", seed::ASSETS.path));
        paths.push(crate::routes::device::VERIFY_PATH.to_string());
        paths
    }

    /// The one route the document leaves out on purpose.
    const PAGING_FIXTURES: &str = "/api/v1/paged/{style}";

    #[test]
    fn the_document_names_every_route_and_no_other() {
        let doc = build();
        let documented: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
        let mut routes = router_paths();
        // The paging-style fixtures (Link headers, cursors, offsets, GraphQL) exist for
        // runner's paging tests; they are not part of the Ermeo-compatible API this
        // document describes, and an import of it must not turn them into requests.
        routes.retain(|r| r != PAGING_FIXTURES);
        for r in &routes {
            assert!(documented.contains(&r), "route {r} is not in /openapi.json");
        }
        for d in &documented {
            assert!(
                routes.contains(d),
                "/openapi.json documents {d}, which no route serves"
            );
        }
    }

    #[test]
    fn every_reference_resolves() {
        let doc = build();
        let text = doc.to_string();
        for part in text.split("\"$ref\":\"").skip(1) {
            let r = &part[..part.find('"').unwrap()];
            let ptr = r.strip_prefix('#').unwrap();
            assert!(doc.pointer(ptr).is_some(), "{r} does not resolve");
        }
    }
}
