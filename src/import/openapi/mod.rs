//! `runner import openapi`: OpenAPI 3.0 and 3.1 documents to request files and
//! profiles. The document is walked as a `serde_json::Value`, tolerantly: real
//! documents break typed models (see BENCHMARKS.md), and what cannot be imported is
//! reported as skipped, with the reason, rather than refusing the document.

use std::path::PathBuf;

use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use crate::error::{Error, InputError};
use crate::import::mirror::{
    AuthOut, BodyOut, ExpectOut, MultipartOut, ProfileOut, RequestOut, SchemaOut,
};
use crate::import::plan::{Plan, yaml_file};
use crate::import::text::{
    env_template, ident, literal, literal_value, one_line, snake, var_template,
};

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// How long a chain of `$ref`s is followed.
const MAX_DEPTH: usize = 12;
/// How deep a generated example nests.
const MAX_SCHEMA_DEPTH: usize = 8;
/// How many values one generated example holds at most.
const MAX_GENERATED: usize = 500;

/// The outcome of an import, for the summary.
#[derive(Debug, Default)]
pub struct Summary {
    pub operations: usize,
    pub requests: usize,
    pub profiles: usize,
}

/// A parsed document: its text (copied under `openapi/`), its value, and the name it
/// is copied as.
pub struct Source {
    pub text: Vec<u8>,
    pub file_name: String,
    /// The URL it came from, against which relative server URLs resolve.
    pub url: Option<url::Url>,
}

/// Parses `text` (JSON or YAML) and checks the version: 3.0 and 3.1 only.
pub fn parse(text: &[u8], what: &str) -> Result<Value, Error> {
    let s = std::str::from_utf8(text)
        .map_err(|_| InputError::usage(format!("{what}: not UTF-8 text")))?;
    let trimmed = s.trim_start_matches('\u{feff}').trim_start();
    let doc: Value = if trimmed.starts_with('{') {
        serde_json::from_str(trimmed)
            .map_err(|e| InputError::usage(format!("{what}: not valid JSON: {e}")))?
    } else {
        serde_saphyr::from_str(trimmed)
            .map_err(|e| InputError::usage(format!("{what}: not valid YAML: {e}")))?
    };
    if !doc.is_object() {
        return Err(
            InputError::usage(format!("{what}: not an OpenAPI document (not a map)")).into(),
        );
    }
    if let Some(v) = doc.get("swagger") {
        let v = v
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string());
        return Err(InputError::usage(format!(
            "{what}: Swagger {v} is not supported; only OpenAPI 3.0 and 3.1 are: convert it first (e.g. `npx swagger2openapi {what}`)"
        ))
        .into());
    }
    match doc.get("openapi").and_then(Value::as_str) {
        Some(v) if v.starts_with("3.0") || v.starts_with("3.1") => Ok(doc),
        Some(v) => Err(InputError::usage(format!(
            "{what}: OpenAPI {v} is not supported; only 3.0 and 3.1 are"
        ))
        .into()),
        None => Err(InputError::usage(format!(
            "{what}: not an OpenAPI document (no `openapi` version)"
        ))
        .into()),
    }
}

/// Builds the plan of files for `doc`.
pub fn plan(doc: &Value, source: &Source) -> Result<(Plan, Summary), Error> {
    let mut plan = Plan::default();
    let mut summary = Summary::default();
    let title = doc
        .pointer("/info/title")
        .and_then(Value::as_str)
        .unwrap_or("api");
    let prefix = crate::import::text::env_prefix(title);
    let copy = PathBuf::from("openapi").join(&source.file_name);
    plan.add(copy, source.text.clone());

    let global_security = doc.get("security");
    let schemas = std::cell::RefCell::new(Schemas {
        root: doc.clone(),
        compiled: Default::default(),
    });
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
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

/// A local `$ref` followed (through chains, to `depth`); anything else as is. An
/// unresolvable reference gives `null`.
fn resolve<'a>(doc: &'a Value, v: &'a Value, depth: usize) -> &'a Value {
    let mut v = v;
    for _ in depth..MAX_DEPTH {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => match pointer(doc, r) {
                Some(target) => v = target,
                None => return &Value::Null,
            },
            None => return v,
        }
    }
    &Value::Null
}

/// `#/a/b` in `doc` (JSON Pointer, percent-decoded).
fn pointer<'a>(doc: &'a Value, r: &str) -> Option<&'a Value> {
    let frag = r.strip_prefix('#')?;
    let decoded = percent_decode(frag);
    doc.pointer(&decoded)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

/// `s` as one JSON Pointer token (RFC 6901: `~` is `~0`, `/` is `~1`).
fn escape_pointer(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// `v`, found at `ptr` in `doc`, with its local `$ref`s followed: the value and the
/// JSON Pointer where it really is. `None` for a reference that does not resolve
/// (or a chain that does not end).
fn located<'a>(doc: &'a Value, ptr: String, v: &'a Value) -> Option<(String, &'a Value)> {
    let mut ptr = ptr;
    let mut v = v;
    for _ in 0..MAX_DEPTH {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let frag = percent_decode(r.strip_prefix('#')?);
                v = doc.pointer(&frag)?;
                ptr = frag;
            }
            None => return Some((ptr, v)),
        }
    }
    None
}

/// What one operation is imported with.
struct Context<'a> {
    doc: &'a Value,
    global_security: Option<&'a Value>,
    /// The JSON Pointer to the operation in `doc` (empty when unknown).
    op_ptr: &'a str,
    /// The name of the document's copy under `openapi/`.
    document: &'a str,
    schemas: &'a std::cell::RefCell<Schemas>,
}

/// The response schemas compiled so far, by pointer, against the document (the
/// root that `expect.schema: {openapi: …}` compiles): only one that compiles is
/// written, so that `runner check` passes on the import.
struct Schemas {
    root: Value,
    compiled: std::collections::HashMap<String, Result<(), String>>,
}

impl Schemas {
    fn compiles(&mut self, ptr: &str) -> Result<(), String> {
        if let Some(done) = self.compiled.get(ptr) {
            return done.clone();
        }
        crate::project::point_root_at(&mut self.root, ptr);
        let r = crate::expect::assert::validator(&self.root).map(|_| ());
        self.compiled.insert(ptr.to_string(), r.clone());
        r
    }
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

/// One operation's request file: its path under the output folder and its text.
fn operation(
    ctx: &Context,
    path: &str,
    method: &str,
    item: &Map<String, Value>,
    op: &Value,
) -> Result<(PathBuf, String), String> {
    let doc = ctx.doc;
    let Some(opm) = op.as_object() else {
        return Err("not an operation object".to_string());
    };
    let mut comments = Vec::new();
    let mut req = RequestOut {
        method: method.to_ascii_uppercase(),
        ..RequestOut::default()
    };
    let summary = opm
        .get("summary")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .or_else(|| opm.get("description").and_then(Value::as_str))
        .map(|s| one_line(s, 200))
        .filter(|s| !s.is_empty());
    req.description = summary;
    if opm.get("deprecated").and_then(Value::as_bool) == Some(true) {
        comments.push("deprecated in the OpenAPI document".to_string());
    }

    // Path-level parameters, overridden by the operation's own (same name and `in`).
    let mut params: IndexMap<(String, String), &Value> = IndexMap::new();
    for list in [item.get("parameters"), opm.get("parameters")]
        .into_iter()
        .flatten()
    {
        for p in list.as_array().map(Vec::as_slice).unwrap_or_default() {
            let p = resolve(doc, p, 0);
            let name = p.get("name").and_then(Value::as_str).unwrap_or_default();
            let place = p.get("in").and_then(Value::as_str).unwrap_or_default();
            if !name.is_empty() {
                params.insert((name.to_string(), place.to_string()), p);
            }
        }
    }
    let mut path_vars: IndexMap<String, String> = IndexMap::new();
    for ((name, place), p) in &params {
        let required = p.get("required").and_then(Value::as_bool) == Some(true);
        let kind = schema_type(doc, p.get("schema"));
        let var = ident(name);
        match place.as_str() {
            "path" => {
                path_vars.insert(name.clone(), var);
            }
            "query" if required => {
                req.query
                    .insert(literal(name), Value::String(var_template(&var)));
            }
            "header" if required => {
                if crate::http::header::name_problem(name).is_some() {
                    comments.push(format!(
                        "header parameter `{name}`: not a valid header name"
                    ));
                } else if !is_managed_header(name) {
                    req.headers.insert(name.clone(), var_template(&var));
                }
            }
            "query" | "header" | "cookie" => comments.push(format!(
                "optional {place} parameter: {name}{}{}",
                kind.map(|k| format!(" ({k})")).unwrap_or_default(),
                p.get("description")
                    .and_then(Value::as_str)
                    .map(|d| format!(": {}", one_line(d, 120)))
                    .unwrap_or_default()
            )),
            _ => {}
        }
        if place == "cookie" && required {
            comments.push(format!(
                "required cookie `{name}`: send it in a Cookie header"
            ));
        }
    }
    req.url = url_template(path, &path_vars);

    if let Some(body) = opm.get("requestBody") {
        let body = resolve(doc, body, 0);
        match request_body(doc, body) {
            Ok(Some((b, content_type))) => {
                if let Some(ct) = content_type {
                    req.headers.insert("Content-Type".to_string(), ct);
                }
                req.body = Some(b);
            }
            Ok(None) => {}
            Err(why) => comments.push(format!("request body not imported: {why}")),
        }
    }

    let codes = success_codes(opm.get("responses"));
    let schema = response_schema(doc, ctx.op_ptr, op, &codes);
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
    let expect = ExpectOut {
        status: codes,
        schema: None,
    };
    // `security: []` on the operation (or globally, with none of its own): no
    // credentials.
    let security = opm.get("security").or(ctx.global_security);
    if security
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty)
    {
        req.auth = Some("none");
    }

    let tag = opm
        .get("tags")
        .and_then(Value::as_array)
        .and_then(|t| t.first())
        .and_then(Value::as_str)
        .map(snake)
        .filter(|s| !s.is_empty());
    let name = opm
        .get("operationId")
        .and_then(Value::as_str)
        .map(snake)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| {
            let s = snake(&format!("{method} {path}"));
            if s.is_empty() { method.to_string() } else { s }
        });
    let mut rel = PathBuf::from("requests");
    if let Some(t) = tag {
        rel.push(t);
    }
    rel.push(format!("{name}.yaml"));
    // `requests/<tag>/x.yaml` → `../../openapi/FILE`.
    let up = "../".repeat(rel.components().count() - 1);
    let expect = ExpectOut {
        schema: schema.map(|ptr| SchemaOut {
            openapi: format!("{up}openapi/{}#{ptr}", ctx.document),
        }),
        ..expect
    };
    if !expect.status.is_empty() || expect.schema.is_some() {
        req.expect = Some(expect);
    }
    let text = yaml_file(&comments, &req).map_err(|e| e.to_string())?;
    Ok((rel, text))
}

/// Headers runner sets itself (a body's type) or that the profile's auth owns.
fn is_managed_header(name: &str) -> bool {
    ["content-type", "content-length", "authorization", "accept"]
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name))
}

/// The path with `{name}` as `{{ name }}` and anything else kept literal.
fn url_template(path: &str, vars: &IndexMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let (before, after) = rest.split_at(start);
        out.push_str(&literal(before));
        match after.find('}') {
            Some(end) => {
                let name = &after[1..end];
                let var = vars.get(name).cloned().unwrap_or_else(|| ident(name));
                out.push_str(&var_template(&var));
                rest = &after[end + 1..];
            }
            None => {
                out.push_str("{{ '{' }}");
                rest = &after[1..];
            }
        }
    }
    out.push_str(&literal(rest));
    if out.is_empty() { "/".to_string() } else { out }
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

/// The first `type` of a schema, for comments.
fn schema_type(doc: &Value, schema: Option<&Value>) -> Option<String> {
    let s = resolve(doc, schema?, 0);
    match s.get("type")? {
        Value::String(t) => Some(t.clone()),
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .map(str::to_string),
        _ => None,
    }
}

/// The body from the first media type runner can send: JSON (and `+json`), a form,
/// multipart, or text. The second value is a `Content-Type` to set when runner's
/// own (for JSON, form, multipart) would not say the same.
fn request_body(doc: &Value, body: &Value) -> Result<Option<(BodyOut, Option<String>)>, String> {
    let Some(content) = body.get("content").and_then(Value::as_object) else {
        return Ok(None);
    };
    if content.is_empty() {
        return Ok(None);
    }
    let find = |pred: &dyn Fn(&str) -> bool| {
        content
            .iter()
            .find(|(k, _)| pred(&k.to_ascii_lowercase()))
            .map(|(k, v)| (k.clone(), v))
    };
    let is_json = |k: &str| {
        let base = k.split(';').next().unwrap_or(k).trim();
        base == "application/json" || base.ends_with("+json") || base == "*/*"
    };
    if let Some((ct, media)) = find(&is_json) {
        let value = example(doc, media).unwrap_or_else(|| generate(doc, media.get("schema")));
        if value.is_null() {
            // `json: null` reads as no body at all.
            return Err(format!(
                "{ct}: the document gives no example and no schema to build one from"
            ));
        }
        let base = ct
            .split(';')
            .next()
            .unwrap_or(&ct)
            .trim()
            .to_ascii_lowercase();
        let header = (base != "application/json" && base != "*/*").then_some(ct);
        return Ok(Some((BodyOut::Json(literal_value(&value)), header)));
    }
    if let Some((_, media)) = find(&|k| k.starts_with("application/x-www-form-urlencoded")) {
        let value = example(doc, media).unwrap_or_else(|| generate(doc, media.get("schema")));
        let mut form = IndexMap::new();
        if let Value::Object(m) = value {
            for (k, v) in m {
                form.insert(literal(&k), scalar(&v));
            }
        }
        return Ok(Some((BodyOut::Form(form), None)));
    }
    if let Some((_, media)) = find(&|k| k.starts_with("multipart/")) {
        let schema = media.get("schema").map(|s| resolve(doc, s, 0));
        let value = generate(doc, media.get("schema"));
        let mut parts = IndexMap::new();
        if let Value::Object(m) = value {
            for (k, v) in m {
                let prop = schema
                    .and_then(|s| s.get("properties"))
                    .and_then(|p| p.get(&k))
                    .map(|p| resolve(doc, p, 0));
                let binary = prop.is_some_and(|p| {
                    matches!(
                        p.get("format").and_then(Value::as_str),
                        Some("binary" | "base64")
                    ) || p.get("contentMediaType").is_some()
                });
                let field = if binary {
                    MultipartOut::File {
                        file: var_template(&format!("{}_file", ident(&k))),
                    }
                } else {
                    MultipartOut::Value(match scalar(&v) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    })
                };
                parts.insert(literal(&k), field);
            }
        }
        if parts.is_empty() {
            return Err("a multipart body without properties".to_string());
        }
        return Ok(Some((BodyOut::Multipart(parts), None)));
    }
    if let Some((ct, media)) = find(&|k| k.starts_with("text/") || k.ends_with("xml")) {
        let text = match example(doc, media) {
            Some(Value::String(s)) => s,
            Some(other) => other.to_string(),
            None => String::new(),
        };
        return Ok(Some((BodyOut::Text(literal(&text)), Some(ct))));
    }
    let kinds: Vec<&str> = content.keys().map(String::as_str).take(3).collect();
    Err(format!(
        "media type {} is not JSON, a form, multipart or text",
        kinds.join(", ")
    ))
}

/// A form or multipart value as text (nested values as JSON).
fn scalar(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(literal(s)),
        Value::Null => Value::String(String::new()),
        Value::Bool(_) | Value::Number(_) => v.clone(),
        other => Value::String(literal(&other.to_string())),
    }
}

/// The media type's own example: `example`, else the first of `examples`.
fn example(doc: &Value, media: &Value) -> Option<Value> {
    if let Some(e) = media.get("example") {
        return Some(e.clone());
    }
    let first = media.get("examples")?.as_object()?.values().next()?;
    let first = resolve(doc, first, 0);
    first.get("value").cloned()
}

/// An example value built from a schema: its `example`, `default`, `const` or first
/// `enum` value, else one value of its type; objects with their properties. Bounded
/// in depth, so recursive schemas end.
pub fn generate(doc: &Value, schema: Option<&Value>) -> Value {
    let mut budget = MAX_GENERATED;
    build(doc, schema, 0, &mut budget)
}

/// [`generate`], within `budget` values: wide and deep schemas (a property list
/// at every level) would otherwise grow an example exponentially.
fn build(doc: &Value, schema: Option<&Value>, depth: usize, budget: &mut usize) -> Value {
    let Some(schema) = schema else {
        return Value::Null;
    };
    if depth > MAX_SCHEMA_DEPTH || *budget == 0 {
        return Value::Null;
    }
    *budget -= 1;
    let s = resolve(doc, schema, depth);
    let Some(m) = s.as_object() else {
        return Value::Null;
    };
    for key in ["example", "default", "const"] {
        if let Some(v) = m.get(key) {
            return v.clone();
        }
    }
    if let Some(Value::Array(examples)) = m.get("examples")
        && let Some(v) = examples.first()
    {
        return v.clone();
    }
    if let Some(v) = m
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return v.clone();
    }
    if let Some(all) = m.get("allOf").and_then(Value::as_array) {
        let mut merged = Map::new();
        for part in all {
            match build(doc, Some(part), depth + 1, budget) {
                Value::Object(o) => merged.extend(o),
                other if all.len() == 1 => return other,
                _ => {}
            }
        }
        if !merged.is_empty() || m.get("properties").is_none() {
            if let Value::Object(own) = object(doc, m, depth, budget) {
                merged.extend(own);
            }
            return Value::Object(merged);
        }
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(first) = m.get(key).and_then(Value::as_array).and_then(|a| a.first()) {
            return build(doc, Some(first), depth + 1, budget);
        }
    }
    let kind = match m.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if m.contains_key("properties") => "object",
        _ if m.contains_key("items") => "array",
        _ => "",
    };
    match kind {
        "object" => object(doc, m, depth, budget),
        "array" => match m.get("items") {
            Some(items) => json!([build(doc, Some(items), depth + 1, budget)]),
            None => json!([]),
        },
        "string" => Value::String(
            match m.get("format").and_then(Value::as_str) {
                Some("date-time") => "2024-01-01T00:00:00Z",
                Some("date") => "2024-01-01",
                Some("time") => "00:00:00",
                Some("email") => "user@example.com",
                Some("uuid") => "00000000-0000-0000-0000-000000000000",
                Some("uri" | "url") => "https://example.com",
                Some("ipv4") => "192.0.2.1",
                Some("ipv6") => "2001:db8::1",
                _ => "string",
            }
            .to_string(),
        ),
        "integer" => json!(m.get("minimum").and_then(Value::as_i64).unwrap_or(0)),
        "number" => json!(m.get("minimum").and_then(Value::as_f64).unwrap_or(0.0)),
        "boolean" => Value::Bool(false),
        _ => Value::Null,
    }
}

/// An object's properties (at most 50), each generated; read-only ones left out.
fn object(doc: &Value, m: &Map<String, Value>, depth: usize, budget: &mut usize) -> Value {
    let mut out = Map::new();
    if let Some(props) = m.get("properties").and_then(Value::as_object) {
        for (k, p) in props.iter().take(50) {
            let resolved = resolve(doc, p, depth);
            if resolved.get("readOnly").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            if *budget == 0 {
                break;
            }
            out.insert(k.clone(), build(doc, Some(p), depth + 1, budget));
        }
    }
    Value::Object(out)
}

/// One profile per server (variables at their defaults), with the auth of the
/// document's preferred security scheme.
fn profiles(
    doc: &Value,
    source: &Source,
    prefix: &str,
    skipped: &mut Vec<String>,
) -> Vec<(String, ProfileOut, Vec<String>)> {
    let mut servers: Vec<(String, Option<String>)> = Vec::new();
    for s in doc
        .get("servers")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let Some(url) = s.get("url").and_then(Value::as_str) else {
            continue;
        };
        let mut url = url.to_string();
        if let Some(vars) = s.get("variables").and_then(Value::as_object) {
            for (k, v) in vars {
                let default = match v.get("default") {
                    Some(Value::String(d)) => d.clone(),
                    Some(other) => other.to_string(),
                    None => String::new(),
                };
                url = url.replace(&format!("{{{k}}}"), &default);
            }
        }
        let description = s
            .get("description")
            .and_then(Value::as_str)
            .map(|d| one_line(d, 200));
        servers.push((url, description));
    }
    let (auth, comments) = security(doc, prefix, skipped);
    let mut out = Vec::new();
    let mut names: Vec<String> = Vec::new();
    if servers.is_empty() {
        servers.push((String::new(), None));
    }
    for (raw, description) in servers {
        let (base_url, host) = base_url(&raw, source, prefix);
        let Some(base_url) = base_url else {
            skipped.push(format!(
                "server `{}`: not an http(s) URL",
                one_line(&raw, 100)
            ));
            continue;
        };
        let mut name = if out.is_empty() {
            "default".to_string()
        } else {
            let n = snake(&host);
            if n.is_empty() {
                "server".to_string()
            } else {
                n
            }
        };
        let stem = name.clone();
        let mut n = 2;
        while names.contains(&name) {
            name = format!("{stem}_{n}");
            n += 1;
        }
        names.push(name.clone());
        let mut profile_comments = comments.clone();
        if raw.is_empty() {
            profile_comments.push(format!(
                "the document names no server: set {prefix}_BASE_URL to the API's address"
            ));
        }
        let auth = auth.clone().map(|mut a| {
            if let Some(u) = &a.token_url {
                a.token_url = Some(join_url(&base_url, u));
            }
            if let Some(u) = &a.authorization_url {
                a.authorization_url = Some(join_url(&base_url, u));
            }
            a
        });
        out.push((
            name,
            ProfileOut {
                description: description.or_else(|| {
                    doc.pointer("/info/title")
                        .and_then(Value::as_str)
                        .map(|t| one_line(t, 200))
                }),
                base_url,
                vars: IndexMap::new(),
                auth,
            },
            profile_comments,
        ));
    }
    out
}

/// A server URL as a `base_url`, and a host for the profile's name. Relative URLs
/// resolve against the document's own URL, else against `<PREFIX>_BASE_URL`.
fn base_url(raw: &str, source: &Source, prefix: &str) -> (Option<String>, String) {
    let trimmed = raw.trim().trim_end_matches('/');
    if let Ok(u) = url::Url::parse(trimmed) {
        if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
            return (None, String::new());
        }
        let host = u.host_str().unwrap_or_default().to_string();
        return (Some(literal(trimmed)), host);
    }
    // `//host/path`: scheme-relative.
    if let Some(rest) = trimmed.strip_prefix("//") {
        let u = format!("https://{rest}");
        return match url::Url::parse(&u) {
            Ok(parsed) => (
                Some(literal(&u)),
                parsed.host_str().unwrap_or_default().to_string(),
            ),
            Err(_) => (None, String::new()),
        };
    }
    if let Some(doc_url) = &source.url
        && let Ok(joined) = doc_url.join(if trimmed.is_empty() { "/" } else { trimmed })
    {
        let s = joined.as_str().trim_end_matches('/').to_string();
        return (
            Some(literal(&s)),
            joined.host_str().unwrap_or_default().to_string(),
        );
    }
    let path = if trimmed.is_empty() || trimmed.starts_with('/') {
        trimmed.to_string()
    } else {
        format!("/{trimmed}")
    };
    (
        Some(format!(
            "{}{}",
            env_template(&format!("{prefix}_BASE_URL"), None),
            literal(&path)
        )),
        String::new(),
    )
}

/// `u` resolved against `base` when it is relative.
fn join_url(base: &str, u: &str) -> String {
    if url::Url::parse(u).is_ok() || base.contains("{{") {
        return u.to_string();
    }
    match url::Url::parse(&format!("{base}/")).and_then(|b| b.join(u)) {
        Ok(j) => j.to_string(),
        Err(_) => u.to_string(),
    }
}

/// The auth block for the document's preferred scheme (the first of `security` that
/// runner supports, else the first declared) and comments naming the others.
fn security(
    doc: &Value,
    prefix: &str,
    skipped: &mut Vec<String>,
) -> (Option<AuthOut>, Vec<String>) {
    let Some(schemes) = doc
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object)
    else {
        return (None, Vec::new());
    };
    let mut order: Vec<(String, Vec<String>)> = Vec::new();
    for req in doc
        .get("security")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        for (name, scopes) in req.as_object().into_iter().flatten() {
            let scopes = scopes
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            if !order.iter().any(|(n, _)| n == name) {
                order.push((name.clone(), scopes));
            }
        }
    }
    for name in schemes.keys() {
        if !order.iter().any(|(n, _)| n == name) {
            order.push((name.clone(), Vec::new()));
        }
    }
    let mut chosen = None;
    let mut comments = Vec::new();
    for (name, scopes) in order {
        let Some(scheme) = schemes.get(&name).map(|s| resolve(doc, s, 0)) else {
            skipped.push(format!(
                "security requirement `{}`: not declared in components.securitySchemes",
                one_line(&name, 80)
            ));
            continue;
        };
        match auth_for(scheme, prefix, &scopes) {
            Ok(a) if chosen.is_none() => {
                chosen = Some(a);
                comments.push(format!(
                    "auth from security scheme `{}`",
                    one_line(&name, 80)
                ));
            }
            Ok(a) => comments.push(format!(
                "security scheme `{}` ({}) is also offered",
                one_line(&name, 80),
                a.kind
            )),
            Err(why) => skipped.push(format!("security scheme `{}`: {why}", one_line(&name, 80))),
        }
    }
    (chosen, comments)
}

/// Our auth block for one security scheme, every secret an `env()` template.
fn auth_for(scheme: &Value, prefix: &str, scopes: &[String]) -> Result<AuthOut, String> {
    let env = |suffix: &str| env_template(&format!("{prefix}_{suffix}"), None);
    let kind = scheme
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut a = AuthOut::default();
    match kind {
        "http" => {
            let s = scheme
                .get("scheme")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_ascii_lowercase();
            match s.as_str() {
                "bearer" => {
                    a.kind = "bearer";
                    a.token = Some(env("TOKEN"));
                }
                "basic" => {
                    a.kind = "basic";
                    a.username = Some(env("USERNAME"));
                    a.password = Some(env("PASSWORD"));
                }
                other => {
                    return Err(format!(
                        "HTTP scheme `{}` is not supported",
                        one_line(other, 40)
                    ));
                }
            }
        }
        "apiKey" => {
            let name = scheme
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let place = scheme.get("in").and_then(Value::as_str).unwrap_or_default();
            a.kind = "api_key";
            a.key = Some(env("API_KEY"));
            a.name = Some(name.to_string());
            a.key_in = Some(match place {
                "header" if crate::http::header::name_problem(name).is_none() => "header",
                "header" => return Err(format!("`{}` is not a header name", one_line(name, 60))),
                "query" if !name.is_empty() => "query",
                other => {
                    return Err(format!(
                        "an API key in `{}` is not supported",
                        one_line(other, 40)
                    ));
                }
            });
        }
        "oauth2" => {
            let flows = scheme.get("flows").and_then(Value::as_object);
            let flow = |n: &str| flows.and_then(|f| f.get(n));
            let text = |f: &Value, k: &str| {
                f.get(k)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(literal)
            };
            a.client_id = Some(env("CLIENT_ID"));
            a.scopes = scopes.to_vec();
            if let Some(f) = flow("authorizationCode") {
                a.kind = "oauth2_authorization_code";
                a.authorization_url = text(f, "authorizationUrl");
                a.token_url = text(f, "tokenUrl");
                a.client_secret = Some(env_template(&format!("{prefix}_CLIENT_SECRET"), Some("")));
            } else if let Some(f) = flow("password") {
                a.kind = "oauth2_password";
                a.token_url = text(f, "tokenUrl");
                a.client_secret = Some(env_template(&format!("{prefix}_CLIENT_SECRET"), Some("")));
                a.username = Some(env("USERNAME"));
                a.password = Some(env_template(&format!("{prefix}_PASSWORD"), Some("")));
            } else if let Some(f) = flow("clientCredentials") {
                a.kind = "oauth2_client_credentials";
                a.token_url = text(f, "tokenUrl");
                a.client_secret = Some(env("CLIENT_SECRET"));
            } else if let Some(f) = flow("implicit") {
                // Implicit is obsolete (RFC 9700): the code flow at the same server.
                a.kind = "oauth2_authorization_code";
                a.authorization_url = text(f, "authorizationUrl");
                a.token_url = Some(env("TOKEN_URL"));
            } else {
                return Err("an oauth2 scheme without a flow runner knows".to_string());
            }
            if a.kind == "oauth2_authorization_code" && a.authorization_url.is_none() {
                return Err("the authorization code flow names no authorizationUrl".to_string());
            }
            if a.token_url.is_none() {
                a.token_url = Some(env("TOKEN_URL"));
            }
        }
        "openIdConnect" => {
            let url = scheme
                .get("openIdConnectUrl")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let issuer = url
                .trim_end_matches('/')
                .trim_end_matches("/.well-known/openid-configuration")
                .trim_end_matches('/');
            if url::Url::parse(issuer).is_err() {
                return Err(format!(
                    "openIdConnectUrl `{}` is not a URL",
                    one_line(url, 100)
                ));
            }
            a.kind = "oauth2_authorization_code";
            a.issuer = Some(literal(issuer));
            a.client_id = Some(env("CLIENT_ID"));
            a.scopes = scopes.to_vec();
        }
        "mutualTLS" => return Err("mutual TLS is not supported".to_string()),
        other => return Err(format!("type `{}` is not supported", one_line(other, 40))),
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn paths_become_templates() {
        let mut vars = IndexMap::new();
        vars.insert("petId".to_string(), "pet_id".to_string());
        assert_eq!(url_template("/pets/{petId}", &vars), "/pets/{{ pet_id }}");
        assert_eq!(
            url_template("/a/{x-y}/b", &IndexMap::new()),
            "/a/{{ x_y }}/b"
        );
        assert_eq!(
            url_template("/a/{open", &IndexMap::new()),
            "/a/{{ '{' }}open"
        );
        assert_eq!(url_template("", &IndexMap::new()), "/");
    }

    #[test]
    fn recursive_schemas_end() {
        let doc = json!({"components": {"schemas": {"Node": {
            "type": "object",
            "properties": {"next": {"$ref": "#/components/schemas/Node"}, "n": {"type": "integer"}}
        }}}});
        let v = generate(&doc, Some(&json!({"$ref": "#/components/schemas/Node"})));
        assert_eq!(v["n"], 0);
        let self_ref = json!({"a": {"$ref": "#/a"}});
        assert_eq!(resolve(&self_ref, &self_ref["a"], 0), &Value::Null);
    }

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
            file("requests/by_ref.yaml")
                .contains("openapi: ../openapi/api.json#/components/schemas/Page\n")
        );
        for no in [
            "requests/text.yaml",
            "requests/two.yaml",
            "requests/bad.yaml",
        ] {
            assert!(!file(no).contains("\n  schema:"), "{no}: {}", file(no));
        }
        assert!(
            file("requests/bad.yaml")
                .contains("# no expect.schema: the response schema does not compile")
        );
    }

    #[test]
    fn versions() {
        assert!(parse(br#"{"openapi": "3.1.0"}"#, "x").is_ok());
        assert!(parse(b"openapi: 3.0.3\n", "x").is_ok());
        let e = parse(br#"{"swagger": "2.0"}"#, "x")
            .err()
            .map(|e| e.to_string());
        assert!(
            e.unwrap_or_default()
                .contains("Swagger 2.0 is not supported")
        );
        assert!(parse(b"[1]", "x").is_err());
        assert!(parse(b"\xff", "x").is_err());
    }
}
