//! `runner import insomnia`: an Insomnia export, v4 JSON (`_type: export`, a flat
//! list of resources joined by `parentId`) or v5 YAML (`type:
//! collection.insomnia.rest/5.0`, a `collection:` tree). A v4 export is first made
//! the v5 tree; `read` reads that tree into a [`Collection`]. Request groups become
//! folders, environments (base and sub) profiles, auth the profile's auth; cookie
//! jars are never copied.

mod read;
mod template;

use serde_json::{Map, Value};

use crate::error::{Error, InputError};
use crate::import::plan::Plan;
use crate::import::text::one_line;
use crate::import::tree::Collection;
use crate::import::tree_write::{self, Summary};
pub use template::Nunjucks;

/// Parses an export (JSON or YAML) into the v5 tree: `name`, `collection`,
/// `environments`, `cookieJar`.
pub fn parse(text: &[u8], what: &str) -> Result<Value, Error> {
    let s = std::str::from_utf8(text)
        .map_err(|_| InputError::usage(format!("{what}: not UTF-8 text")))?;
    let s = s.trim_start_matches('\u{feff}').trim_start();
    let doc: Value = if s.starts_with('{') {
        serde_json::from_str(s)
            .map_err(|e| InputError::usage(format!("{what}: not valid JSON: {e}")))?
    } else {
        serde_saphyr::from_str(s)
            .map_err(|e| InputError::usage(format!("{what}: not valid YAML: {e}")))?
    };
    let kind = doc.get("type").and_then(Value::as_str).unwrap_or_default();
    if doc.get("_type").and_then(Value::as_str) == Some("export") {
        let format = doc.get("__export_format").and_then(Value::as_u64);
        if format != Some(4) {
            return Err(InputError::usage(format!(
                "{what}: Insomnia export format {} is not supported; export it again as Insomnia v4 (JSON) or v5 (YAML)",
                format.map_or("(none)".to_string(), |f| f.to_string())
            ))
            .into());
        }
        return Ok(from_v4(&doc));
    }
    if (kind.starts_with("collection.insomnia.rest/5") || kind.starts_with("spec.insomnia.rest/5"))
        && doc.get("collection").is_none_or(Value::is_array)
    {
        return Ok(doc);
    }
    Err(InputError::usage(format!(
        "{what}: not an Insomnia export (neither `_type: export` v4 nor `type: collection.insomnia.rest/5.0`; type is `{}`)",
        one_line(kind, 100)
    ))
    .into())
}

/// The plan of files for an export, and the summary.
pub fn plan(doc: &Value) -> Result<(Plan, Summary), Error> {
    let c: Collection = read::collection(doc);
    let d = Nunjucks::default();
    let (mut plan, summary) = tree_write::plan(&c, &d)?;
    for tag in d.unmapped.borrow().iter() {
        plan.skipped.push(format!(
            "template tag {tag}: no runner equivalent, kept as text (a comment in each file says where)"
        ));
    }
    Ok((plan, summary))
}

/// A v4 export's resources as the v5 tree.
fn from_v4(doc: &Value) -> Value {
    let empty = Vec::new();
    let resources = doc
        .get("resources")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    fn field<'a>(r: &'a Value, k: &str) -> &'a str {
        r.get(k).and_then(Value::as_str).unwrap_or_default()
    }
    let kind = |r: &Value| field(r, "_type").to_string();
    let id = |r: &Value| field(r, "_id").to_string();
    let parent = |r: &Value| field(r, "parentId").to_string();
    let workspace = resources.iter().find(|r| kind(r) == "workspace");
    let ws_id = workspace.map(id).unwrap_or_default();
    let ws_id = ws_id.as_str();
    let name = workspace
        .and_then(|w| w.get("name"))
        .cloned()
        .unwrap_or_else(|| "insomnia".into());
    // The tree under `parent`: folders (with children) and requests, by sort key.
    fn children(all: &[Value], parent: &str, depth: usize) -> Vec<Value> {
        let mut out: Vec<(f64, Value)> = Vec::new();
        for r in all {
            if r.get("parentId").and_then(Value::as_str) != Some(parent) || parent.is_empty() {
                continue;
            }
            let t = r.get("_type").and_then(Value::as_str).unwrap_or_default();
            let key = r.get("metaSortKey").and_then(Value::as_f64).unwrap_or(0.0);
            let mut node = r.clone();
            match t {
                "request_group" if depth < 32 => {
                    let id = r.get("_id").and_then(Value::as_str).unwrap_or_default();
                    node["children"] = Value::Array(children(all, id, depth + 1));
                }
                "request" | "grpc_request" | "websocket_request" => {}
                _ => continue,
            }
            out.push((key, node));
        }
        out.sort_by(|a, b| a.0.total_cmp(&b.0));
        out.into_iter().map(|(_, v)| v).collect()
    }
    let mut tree = Map::new();
    tree.insert("name".into(), name);
    tree.insert(
        "collection".into(),
        Value::Array(children(resources, ws_id, 0)),
    );
    let base = resources
        .iter()
        .find(|r| kind(r) == "environment" && parent(r) == ws_id);
    if let Some(base) = base {
        let mut env = base.clone();
        let subs: Vec<Value> = resources
            .iter()
            .filter(|r| kind(r) == "environment" && parent(r) == id(base) && !id(base).is_empty())
            .cloned()
            .collect();
        env["subEnvironments"] = Value::Array(subs);
        tree.insert("environments".into(), env);
    }
    let jars: Vec<Value> = resources
        .iter()
        .filter(|r| kind(r) == "cookie_jar")
        .cloned()
        .collect();
    if let Some(jar) = jars.into_iter().next() {
        tree.insert("cookieJar".into(), jar);
    }
    Value::Object(tree)
}
