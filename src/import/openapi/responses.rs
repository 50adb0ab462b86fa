//! What an operation's responses promise, as its `expect:` block: the documented
//! success codes, and `expect.schema` pointing into the document's copy when every
//! success response has the same JSON schema and that schema compiles.

use std::path::Path;

use serde_json::Value;

use super::document::{escape_pointer, located};
use super::operation::Context;
use crate::import::mirror::{ExpectOut, SchemaOut};
use crate::import::text::one_line;

/// The response schemas compiled so far, by pointer, against the document shared as
/// the resolver's resource (as `expect.schema: {openapi: …}` compiles them): only one
/// that compiles is written, so that `runner check` passes on the import.
pub(super) struct Schemas {
    shared: Result<crate::project::SharedDocument, String>,
    compiled: std::collections::HashMap<String, Result<(), String>>,
}

impl Schemas {
    /// None compiled yet, against `doc`.
    pub(super) fn new(doc: &Value) -> Self {
        Schemas {
            shared: crate::project::SharedDocument::new(doc.clone()),
            compiled: Default::default(),
        }
    }

    fn compiles(&mut self, ptr: &str) -> Result<(), String> {
        if let Some(done) = self.compiled.get(ptr) {
            return done.clone();
        }
        let r = match &self.shared {
            Ok(shared) => shared.compile(ptr).map(|_| ()),
            Err(e) => Err(e.clone()),
        };
        self.compiled.insert(ptr.to_string(), r.clone());
        r
    }
}

/// The `expect:` block of the operation `op` written at `rel`: its success codes
/// and, where one applies and compiles, its response schema (a comment says why a
/// schema that does not compile was left out). `None` when there is nothing to expect.
pub(super) fn expect(
    ctx: &Context,
    op: &Value,
    rel: &Path,
    comments: &mut Vec<String>,
) -> Option<ExpectOut> {
    let codes = success_codes(op.get("responses"));
    let schema = response_schema(ctx.doc, ctx.op_ptr, op, &codes);
    // `FILE#pointer`: a `#` in the copy's name would end FILE early.
    let schema = schema.filter(|_| !ctx.document.contains('#'));
    let schema = schema.filter(|ptr| match ctx.schemas.borrow_mut().compiles(ptr) {
        Ok(()) => true,
        Err(why) => {
            comments.push(format!(
                "no expect.schema: the response schema does not compile: {}",
                one_line(&why, 160)
            ));
            false
        }
    });
    // `requests/<tag>/x.yaml` → `../../openapi/FILE`.
    let up = "../".repeat(rel.components().count() - 1);
    let expect = ExpectOut {
        status: codes,
        schema: schema.map(|ptr| SchemaOut {
            openapi: format!("{up}openapi/{}#{ptr}", ctx.document),
        }),
    };
    (!expect.status.is_empty() || expect.schema.is_some()).then_some(expect)
}

/// Whether a media type is JSON (`application/json`, `…+json`).
fn is_json_media(ct: &str) -> bool {
    let essence = ct.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence.to_ascii_lowercase().ends_with("+json")
}

/// The JSON Pointer to the JSON schema every documented success response (`codes`)
/// has, the same for all of them: the component it `$ref`s, or the inline schema's
/// place. `None` when a success response has no JSON schema, or they differ.
fn response_schema(doc: &Value, op_ptr: &str, op: &Value, codes: &[u16]) -> Option<String> {
    if op_ptr.is_empty() || codes.is_empty() {
        return None;
    }
    let responses = op.get("responses")?.as_object()?;
    let mut found: Option<String> = None;
    for (key, response) in responses {
        let Ok(code) = key.trim().parse::<u16>() else {
            continue;
        };
        if !codes.contains(&code) {
            continue;
        }
        let ptr = format!("{op_ptr}/responses/{}", escape_pointer(key));
        let (ptr, response) = located(doc, ptr, response)?;
        let content = response.get("content")?.as_object()?;
        let mut json = content.iter().filter(|(ct, _)| is_json_media(ct));
        let (ct, media) = json.next()?;
        if json.next().is_some() {
            return None;
        }
        let schema = media.get("schema")?;
        let ptr = format!("{ptr}/content/{}/schema", escape_pointer(ct));
        let (ptr, schema) = located(doc, ptr, schema)?;
        if !(schema.is_object() || schema.is_boolean()) {
            return None;
        }
        match &found {
            Some(f) if *f != ptr => return None,
            _ => found = Some(ptr),
        }
    }
    found
}

/// The documented 2xx codes, in order (a `2XX` range leaves runner's default).
fn success_codes(responses: Option<&Value>) -> Vec<u16> {
    let Some(map) = responses.and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut codes: Vec<u16> = map
        .keys()
        .filter_map(|k| k.trim().parse::<u16>().ok())
        .filter(|c| (200..300).contains(c))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    codes
}
