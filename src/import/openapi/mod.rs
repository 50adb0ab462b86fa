//! `runner import openapi`: OpenAPI 3.0 and 3.1 documents to request files and
//! profiles. The document is walked as a `serde_json::Value`, tolerantly: real
//! documents break typed models (see BENCHMARKS.md), and what cannot be imported is
//! reported as skipped, with the reason, rather than refusing the document.
//!
//! The plan here walks the document's paths; `document` reads it and follows its
//! `$ref`s, `operation` makes each request file (its body from `body` and
//! `example`, its `expect:` from `responses`), and `profiles` makes a profile
//! per server with the auth `security` picks.

mod body;
mod document;
mod example;
mod operation;
mod paging;
mod profiles;
mod responses;
mod security;

use std::path::PathBuf;

use serde_json::Value;

use crate::error::Error;
use crate::import::plan::{Plan, yaml_file};
use crate::import::text::{env_prefix, one_line};
pub use document::{Source, parse};
use document::{escape_pointer, located};
pub use example::generate;
use operation::{Context, operation};
use profiles::{profiles, server_userinfo};
use responses::Schemas;

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The outcome of an import, for the summary.
#[derive(Debug, Default)]
pub struct Summary {
    pub operations: usize,
    pub requests: usize,
    pub profiles: usize,
}

/// Builds the plan of files for `doc`.
pub fn plan(doc: &Value, source: &Source) -> Result<(Plan, Summary), Error> {
    plan_with_progress(doc, source, &|_, _| {})
}

/// [`plan`], with `on_path(done, total)` called before each of the document's paths.
pub fn plan_with_progress(
    doc: &Value,
    source: &Source,
    on_path: &dyn Fn(usize, usize),
) -> Result<(Plan, Summary), Error> {
    let mut plan = Plan::default();
    let mut summary = Summary::default();
    let title = doc
        .pointer("/info/title")
        .and_then(Value::as_str)
        .unwrap_or("api");
    let prefix = env_prefix(title);
    let copy = PathBuf::from("openapi").join(&source.file_name);
    plan.add(copy, without_userinfo(&source.text, doc));

    let global_security = doc.get("security");
    let schemas = std::cell::RefCell::new(Schemas::new(doc));
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (done, (path, item)) in paths.iter().enumerate() {
            on_path(done, paths.len());
            let item_ptr = format!("/paths/{}", escape_pointer(path));
            let (item_ptr, item) = match located(doc, item_ptr, item) {
                Some(found) => found,
                None => (String::new(), &Value::Null),
            };
            let Some(item) = item.as_object() else {
                plan.skipped
                    .push(format!("path `{}`: not a path item", one_line(path, 100)));
                continue;
            };
            for method in METHODS {
                let Some(op) = item.get(*method) else {
                    continue;
                };
                summary.operations += 1;
                let op_ptr = format!("{item_ptr}/{}", escape_pointer(method));
                let (op_ptr, op) = match located(doc, op_ptr, op) {
                    Some(found) => found,
                    None => (String::new(), op),
                };
                let ctx = Context {
                    doc,
                    global_security,
                    op_ptr: &op_ptr,
                    document: &source.file_name,
                    schemas: &schemas,
                };
                match operation(&ctx, path, method, item, op) {
                    Ok((rel, text)) => {
                        plan.add(rel, text.into_bytes());
                        summary.requests += 1;
                    }
                    Err(reason) => plan.skipped.push(format!(
                        "{} {}: {reason}",
                        method.to_ascii_uppercase(),
                        one_line(path, 100)
                    )),
                }
            }
        }
    }
    for (name, profile, comments) in profiles(doc, source, &prefix, &mut plan.skipped) {
        let text = yaml_file(&comments, &profile)?;
        plan.add(
            PathBuf::from("profiles").join(format!("{name}.yaml")),
            text.into_bytes(),
        );
        summary.profiles += 1;
    }
    Ok((plan, summary))
}

/// The document's text with the user information of its server URLs left out
/// (`https://user:pw@host` → `https://host`): a copy keeps no credentials.
fn without_userinfo(text: &[u8], doc: &Value) -> Vec<u8> {
    let infos = server_userinfo(doc);
    match std::str::from_utf8(text) {
        Ok(s) if !infos.is_empty() => {
            let mut s = s.to_string();
            for info in infos {
                s = s.replace(&format!("//{info}@"), "//");
            }
            s.into_bytes()
        }
        _ => text.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::Path;

    #[test]
    fn odd_documents_are_imported_or_skipped_never_a_panic() {
        let source = Source {
            text: Vec::new(),
            file_name: "x.json".into(),
            url: None,
        };
        for doc in [
            json!({"openapi": "3.0.0", "paths": 1, "servers": "x", "components": []}),
            json!({"openapi": "3.0.0", "paths": {"/a": {"get": 1, "post": {"parameters": [1, {"in": "query"}], "requestBody": {"$ref": "#/nope"}, "responses": []}}}}),
            json!({"openapi": "3.1.0", "security": [{"missing": []}], "components": {"securitySchemes": {"a": {"type": "oauth2", "flows": 3}, "b": 1}},
                   "servers": [{"url": 5}, {"url": "ftp://x"}, {"url": "{v}", "variables": {"v": {"default": 7}}}],
                   "paths": {"/{": {"$ref": "#/paths/~1%7B"}, "/b/{x}}": {"put": {"operationId": "💥", "tags": [""], "requestBody": {"content": {"multipart/form-data": {"schema": {"properties": {"f": {"format": "binary"}}}}, "application/json": {"schema": {"$ref": "#/components/schemas/S"}}}}}}}}),
        ] {
            let (plan, _) = plan(&doc, &source).unwrap();
            for (_, text) in &plan.files {
                assert!(std::str::from_utf8(text).is_ok());
            }
        }
    }

    #[test]
    fn response_schemas_are_pointed_at_when_json_and_compiling() {
        let source = Source {
            text: Vec::new(),
            file_name: "api.json".into(),
            url: None,
        };
        let doc = json!({"openapi": "3.1.0", "paths": {
            "/a~b/{id}": {"get": {"operationId": "inline", "tags": ["t"], "responses": {"200": {"content": {"application/problem+json": {"schema": {"type": "object"}}}}}}},
            "/ref": {"get": {"operationId": "by_ref", "responses": {"200": {"$ref": "#/components/responses/Ok"}, "404": {"description": "no"}}}},
            "/text": {"get": {"operationId": "text", "responses": {"200": {"content": {"text/plain": {"schema": {"type": "string"}}}}}}},
            "/two": {"get": {"operationId": "two", "responses": {"200": {"content": {"application/json": {"schema": {"type": "object"}}}}, "204": {"description": "empty"}}}},
            "/bad": {"get": {"operationId": "bad", "responses": {"200": {"content": {"application/json": {"schema": {"pattern": "(unclosed"}}}}}}}
        }, "components": {
            "responses": {"Ok": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Page"}}}}},
            "schemas": {"Page": {"type": "object"}}
        }});
        let (plan, _) = plan(&doc, &source).unwrap();
        let file = |rel: &str| {
            let (_, text) = plan
                .files
                .iter()
                .find(|(p, _)| p == Path::new(rel))
                .unwrap_or_else(|| panic!("{rel}: {:?}", plan.files));
            String::from_utf8(text.clone()).unwrap()
        };
        assert!(
            file("requests/t/inline.yaml").contains(
                "../../openapi/api.json#/paths/~1a~0b~1{id}/get/responses/200/content/application~1problem+json/schema\n"
            ),
            "{}",
            file("requests/t/inline.yaml")
        );
        assert!(
            file("requests/ref/by_ref.yaml")
                .contains("openapi: ../../openapi/api.json#/components/schemas/Page\n")
        );
        for no in [
            "requests/text/text.yaml",
            "requests/two/two.yaml",
            "requests/bad/bad.yaml",
        ] {
            assert!(!file(no).contains("\n  schema:"), "{no}: {}", file(no));
        }
        assert!(
            file("requests/bad/bad.yaml")
                .contains("# no expect.schema: the response schema does not compile")
        );
    }
}
