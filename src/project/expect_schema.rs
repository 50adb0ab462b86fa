//! The JSON Schemas `expect.schema` names: a JSON or YAML file, or a schema inside
//! an OpenAPI document (`openapi: FILE#/components/schemas/NAME`): each document is
//! read once per run and shared as the resolver's resource, each schema compiled
//! once per (document, pointer), when a file that is loaded names it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::source::yaml_message;
use super::{display_path, limits};
use crate::error::Place;
use crate::expect::assert;
use crate::project::SourceFile;
use crate::project::model::request::SchemaRef;
use crate::project::shared_document::SharedDocument;

/// Compiled schemas by file and pointer: each is compiled once per run, however many
/// files, rows and flow steps name it.
type SchemaCache =
    std::sync::Mutex<std::collections::HashMap<(PathBuf, String), Result<assert::Schema, String>>>;

/// Documents that schemas point into, by file: each is read and parsed once per run,
/// however many pointers name it.
type DocumentCache =
    std::sync::Mutex<std::collections::HashMap<PathBuf, Result<Arc<SharedDocument>, String>>>;

/// The schema `r` names, relative to `src`'s folder, compiled (once per run).
pub(super) fn load_schema(
    r: &SchemaRef,
    src: &SourceFile,
    place: Place,
) -> Result<assert::Schema, String> {
    static CACHE: std::sync::OnceLock<SchemaCache> = std::sync::OnceLock::new();
    let (file, pointer) = match r {
        SchemaRef::File(f) => (f.as_str(), None),
        SchemaRef::OpenApi(o) => match o.openapi.split_once('#') {
            Some((f, p)) if p.starts_with('/') => (f, Some(p)),
            _ => {
                return Err(format!(
                    "openapi: `{}`: expected FILE#/components/schemas/NAME",
                    o.openapi
                ));
            }
        },
    };
    let path = src.dir().join(file);
    let key_path = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
    let key = (key_path.clone(), pointer.unwrap_or("").to_string());
    let cache = CACHE.get_or_init(Default::default);
    if let Some(done) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return done.clone().map(|mut s| {
            s.place = place.clone();
            s
        });
    }
    let shown = display_path(&tidy(&path));
    let compiled = match pointer {
        None => read_structured(&path, &shown).and_then(|doc| {
            assert::Schema::compile(place.clone(), shown.display().to_string(), &doc)
        }),
        Some(ptr) => shared_document(&key_path, &path, &shown).and_then(|doc| {
            if !doc.has(ptr) {
                return Err(format!("{} has no schema at #{ptr}", shown.display()));
            }
            let name = format!("{}#{ptr}", shown.display());
            let validator = doc
                .compile(ptr)
                .map_err(|e| format!("invalid JSON Schema {name}: {e}"))?;
            Ok(assert::Schema {
                place: place.clone(),
                name,
                validator,
            })
        }),
    };
    cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, compiled.clone());
    compiled
}

/// The document at `path` (`key`: its canonical path), read, parsed and registered
/// once per run.
fn shared_document(key: &Path, path: &Path, shown: &Path) -> Result<Arc<SharedDocument>, String> {
    static DOCUMENTS: std::sync::OnceLock<DocumentCache> = std::sync::OnceLock::new();
    let cache = DOCUMENTS.get_or_init(Default::default);
    // Held while reading: two threads naming one document read it once.
    let mut docs = cache.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(done) = docs.get(key) {
        return done.clone();
    }
    let read = read_structured(path, shown).and_then(|doc| {
        SharedDocument::new(doc)
            .map(Arc::new)
            .map_err(|e| format!("{}: {e}", shown.display()))
    });
    docs.insert(key.to_path_buf(), read.clone());
    read
}

/// OpenAPI 3.0's `nullable: true` in JSON Schema (2020-12) terms, everywhere in
/// `v`: `null` joins the `type` (and the `enum`, when there is one). A schema with
/// no `type` already takes `null`.
pub(super) fn nullable_to_null_type(v: &mut serde_json::Value, depth: usize) {
    use serde_json::Value;
    if depth > 256 {
        return;
    }
    match v {
        Value::Object(map) => {
            if map.get("nullable").and_then(Value::as_bool) == Some(true) {
                match map.get_mut("type") {
                    Some(Value::String(t)) if t != "null" => {
                        let t = std::mem::take(t);
                        map.insert("type".into(), serde_json::json!([t, "null"]));
                    }
                    Some(Value::Array(ts)) if !ts.iter().any(|t| t == "null") => {
                        ts.push("null".into());
                    }
                    _ => {}
                }
                if let Some(Value::Array(values)) = map.get_mut("enum")
                    && !values.iter().any(Value::is_null)
                {
                    values.push(Value::Null);
                }
            }
            for child in map.values_mut() {
                nullable_to_null_type(child, depth + 1);
            }
        }
        Value::Array(items) => {
            for child in items {
                nullable_to_null_type(child, depth + 1);
            }
        }
        _ => {}
    }
}

/// Makes an OpenAPI document the schema at `ptr` in it: the whole document stays
/// the root, so that its `$ref`s (`#/components/schemas/…`) resolve within it, and
/// a root `$ref` points at `ptr`. What `expect.schema: {openapi: FILE#ptr}` checks
/// with (the importer compiles the same before writing one).
pub fn point_root_at(doc: &mut serde_json::Value, ptr: &str) {
    if let serde_json::Value::Object(map) = doc {
        map.insert("$ref".into(), format!("#{}", uri_fragment(ptr)).into());
    }
}

/// A JSON Pointer as a URI fragment (RFC 6901 §6): what a fragment may not hold
/// (`{`, a space, `%`, non-ASCII…) percent-encoded.
fn uri_fragment(ptr: &str) -> String {
    let mut out = String::with_capacity(ptr.len());
    for b in ptr.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `path` with its `a/../` folded away (lexically), for messages.
fn tidy(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir
                if matches!(
                    out.components().next_back(),
                    Some(std::path::Component::Normal(_))
                ) =>
            {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// A JSON or YAML file as a JSON value.
fn read_structured(path: &Path, shown: &Path) -> Result<serde_json::Value, String> {
    let bytes = limits::read(path, limits::YAML_FILE)
        .map_err(|e| e.describe(&format!("the schema file {}", shown.display())))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("{}: the schema file is not valid UTF-8", shown.display()))?;
    let is_json = path.extension().is_some_and(|e| e == "json");
    if is_json {
        serde_json::from_str(&text).map_err(|e| format!("{}: not valid JSON: {e}", shown.display()))
    } else {
        serde_saphyr::from_str(&text).map_err(|e| {
            format!(
                "{}: not valid YAML: {}",
                shown.display(),
                yaml_message(&e.to_string())
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn openapi_3_0_nullable_becomes_a_null_type() {
        let mut doc = json!({"openapi": "3.0.3", "components": {"schemas": {"A": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "nullable": true},
                "status": {"type": "string", "enum": ["on", "off"], "nullable": true},
                "n": {"type": ["integer", "null"], "nullable": true},
                "plain": {"type": "string"},
                "off": {"type": "string", "nullable": false}
            }
        }}}});
        nullable_to_null_type(&mut doc, 0);
        let p = &doc["components"]["schemas"]["A"]["properties"];
        assert_eq!(p["name"]["type"], json!(["string", "null"]));
        assert_eq!(p["status"]["type"], json!(["string", "null"]));
        assert_eq!(p["status"]["enum"], json!(["on", "off", null]));
        assert_eq!(p["n"]["type"], json!(["integer", "null"]));
        assert_eq!(p["plain"]["type"], "string");
        assert_eq!(p["off"]["type"], "string");
        point_root_at(&mut doc, "/components/schemas/A");
        let v = crate::expect::assert::validator(&doc).unwrap();
        assert!(v.is_valid(&json!({"name": null, "status": null, "n": null})));
        assert!(!v.is_valid(&json!({"plain": null})));
        assert!(!v.is_valid(&json!({"status": "maybe"})));
    }
}
