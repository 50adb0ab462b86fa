//! Which request and flow files are tools, and what each tool looks like to an agent:
//! its name from the file's path, its description, and an input schema built from the
//! template variables the file reads and the profile does not set (for a flow, nor
//! its earlier steps: `flow.rs`).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::env::Env;
use crate::project::model::flow::FlowFile;
use crate::project::model::request::{Body, MultipartField, RequestFile};
use crate::project::{self, Document, PreparedRequest, SourceFile};

/// A request or flow file served as a tool.
pub struct ToolFile {
    pub name: String,
    pub path: PathBuf,
    pub description: String,
    /// The arguments it takes, sorted; `required` are those without a default.
    pub arguments: Vec<Argument>,
    pub kind: Kind,
}

pub enum Kind {
    Request(Box<PreparedRequest>),
    /// A flow, and the methods of its requests in the order they run.
    Flow(Box<(FlowFile, SourceFile)>, Vec<String>),
}

pub struct Argument {
    pub name: String,
    pub required: bool,
    /// The JSON Schema type, where the template says (`| int`, `| float`).
    pub kind: &'static str,
}

impl ToolFile {
    /// Whether every request it sends is a GET or a HEAD.
    pub fn read_only(&self) -> bool {
        match &self.kind {
            Kind::Request(req) => is_safe(req.method.as_str()),
            Kind::Flow(_, methods) => methods.iter().all(|m| is_safe(m)),
        }
    }

    /// What the summary says it sends: `GET`, or `flow: GET, POST`.
    pub fn sends(&self) -> String {
        match &self.kind {
            Kind::Request(req) => req.method.to_string(),
            Kind::Flow(_, methods) => format!("flow: {}", methods.join(", ")),
        }
    }

    /// The tool's `inputSchema`.
    pub fn input_schema(&self) -> Map<String, Value> {
        let mut properties = Map::new();
        for a in &self.arguments {
            properties.insert(
                a.name.clone(),
                json!({
                    "type": a.kind,
                    "description": format!(
                        "the template variable `{}` of {}",
                        a.name,
                        crate::project::display_path(&self.path).display()
                    ),
                }),
            );
        }
        let required: Vec<&str> = self
            .arguments
            .iter()
            .filter(|a| a.required)
            .map(|a| a.name.as_str())
            .collect();
        let mut schema = Map::new();
        schema.insert("type".into(), json!("object"));
        schema.insert("properties".into(), Value::Object(properties));
        schema.insert("required".into(), json!(required));
        schema.insert("additionalProperties".into(), json!(false));
        schema
    }
}

/// The tools of a run, and the files left out with the reason for each.
#[derive(Default)]
pub struct Catalog {
    pub tools: Vec<ToolFile>,
    pub left_out: Vec<(PathBuf, String)>,
}

/// The tools under `roots` (files or folders) for `env`'s profile.
pub fn discover(env: &Env, roots: &[PathBuf], allow_writes: bool) -> Catalog {
    let mut catalog = Catalog::default();
    for root in roots {
        let files = if root.is_dir() {
            project::yaml_files_under(root)
        } else {
            vec![root.clone()]
        };
        for path in files {
            let name = tool_name(root, &path);
            // Relative to where runner runs: messages name files as a user wrote them.
            let path = project::display_path(&path);
            match tool(env, &path, name, allow_writes) {
                Ok(t) if catalog.tools.iter().any(|o| o.name == t.name) => {
                    let why = format!("a tool named `{}` exists already", t.name);
                    catalog.left_out.push((path, why));
                }
                Ok(t) => catalog.tools.push(t),
                Err(why) => catalog.left_out.push((path, why)),
            }
        }
    }
    catalog
}

/// The file's path under `root` without its extension, `/` as `_`; any character
/// MCP does not allow in a name as `_` too.
pub fn tool_name(root: &Path, path: &Path) -> String {
    let rel = if root.is_dir() {
        path.strip_prefix(root).unwrap_or(path)
    } else {
        Path::new(path.file_name().unwrap_or(path.as_os_str()))
    };
    let rel = rel.with_extension("");
    let text = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("_");
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(128)
        .collect()
}

pub fn is_safe(method: &str) -> bool {
    matches!(method, "GET" | "HEAD")
}

/// Why a file that does not load is no tool (`what`: the file, or a flow's step).
pub fn not_loaded(what: &str, errors: &[crate::error::InputError]) -> String {
    let first = errors.first().map(|e| e.to_string()).unwrap_or_default();
    format!("{what} does not load ({first}): `runner check` says more")
}

fn tool(env: &Env, path: &Path, name: String, allow_writes: bool) -> Result<ToolFile, String> {
    let doc = project::load_document(path).map_err(|errors| not_loaded("it", &errors))?;
    let req = match doc {
        Document::Request(req) => *req,
        Document::Flow(flow, src) => {
            return super::flow::tool(env, path, name, allow_writes, flow, src);
        }
    };
    let method = req.method.as_str().to_string();
    match req.file.mcp.map(|m| m.expose) {
        Some(false) => return Err("mcp: {expose: false}".into()),
        None if !is_safe(&method) && !allow_writes => {
            return Err(format!(
                "{method} writes: --allow-writes (or mcp: {{expose: true}} in the file) serves it"
            ));
        }
        _ => {}
    }
    outside_origins(env, &req.file)?;
    let description = req
        .file
        .description
        .clone()
        .unwrap_or_else(|| format!("{method} {}", req.file.url.value));
    let arguments = arguments(env, &req.file, &|n| env.vars.contains(n));
    Ok(ToolFile {
        name,
        path: path.to_path_buf(),
        description,
        arguments,
        kind: Kind::Request(Box::new(req)),
    })
}

/// Why the file is no tool when its URL is literal and outside the profile's origins.
pub fn outside_origins(env: &Env, f: &RequestFile) -> Result<(), String> {
    match literal_url(f) {
        Some(url) if !env.client.credentials().trusts(&url) => Err(format!(
            "its URL {} is outside the profile's origins",
            url.origin().ascii_serialization()
        )),
        _ => Ok(()),
    }
}

/// The file's URL when it is absolute and holds no template.
fn literal_url(f: &RequestFile) -> Option<url::Url> {
    let u = &f.url.value;
    let absolute = u.starts_with("http://") || u.starts_with("https://");
    (absolute && !crate::project::template::has_markup(u))
        .then(|| url::Url::parse(u).ok())
        .flatten()
}

/// The variables the file's templates read that are not `known`.
pub fn arguments(env: &Env, f: &RequestFile, known: &dyn Fn(&str) -> bool) -> Vec<Argument> {
    let mut sources: Vec<&str> = vec![&f.url.value];
    f.query
        .values()
        .for_each(|v| strings(&v.value, &mut sources));
    f.headers.values().for_each(|v| sources.push(&v.value));
    if let Some(b) = &f.body {
        body_strings(&b.value, &mut sources);
    }
    arguments_of(env, &sources, known)
}

/// The variables `sources` (template strings) read that are not `known`, each typed
/// and required by the filters applied to it.
pub fn arguments_of(env: &Env, sources: &[&str], known: &dyn Fn(&str) -> bool) -> Vec<Argument> {
    let mut names: Vec<String> = sources
        .iter()
        .flat_map(|s| env.renderer.variables(s))
        .filter(|n| !known(n))
        .collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            let filtered = |filter: &str| sources.iter().any(|s| has_filter(s, &name, filter));
            let kind = if filtered("int") {
                "integer"
            } else if filtered("float") {
                "number"
            } else {
                "string"
            };
            Argument {
                required: !(filtered("default") || filtered("d")),
                kind,
                name,
            }
        })
        .collect()
}

fn body_strings<'a>(b: &'a Body, out: &mut Vec<&'a str>) {
    if let Some(j) = &b.json {
        strings(&j.value, out);
    }
    for v in b.form.iter().flat_map(|m| m.values()) {
        strings(&v.value, out);
    }
    if let Some(t) = &b.text {
        out.push(&t.value);
    }
    if let Some(p) = &b.file {
        out.push(&p.value);
    }
    // The query is sent as written; its variables are templates.
    if let Some(v) = b.graphql.as_ref().and_then(|g| g.value.variables.as_ref()) {
        strings(&v.value, out);
    }
    for field in b.multipart.iter().flat_map(|m| m.values()) {
        match &field.value {
            MultipartField::Value(v) => out.push(v),
            MultipartField::File(file) => out.push(&file.file),
        }
    }
}

/// Every string inside `v`, keys included.
pub fn strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            out.push(k);
            strings(v, out);
        }),
        _ => {}
    }
}

/// Whether `source` applies `filter` to the variable `name` (`name | filter`).
fn has_filter(source: &str, name: &str, filter: &str) -> bool {
    let mut rest = source;
    while let Some(at) = rest.find(name) {
        let before = rest[..at].chars().next_back();
        let after = &rest[at + name.len()..];
        rest = after;
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
            continue;
        }
        let Some(piped) = after.trim_start().strip_prefix('|') else {
            continue;
        };
        let piped = piped.trim_start();
        if let Some(tail) = piped.strip_prefix(filter)
            && !tail.starts_with(|c: char| c.is_alphanumeric() || c == '_')
        {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_path_under_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("assets")).unwrap();
        let cases = [
            ("assets/get_asset.yaml", "assets_get_asset"),
            ("get_users.yml", "get_users"),
            ("assets/très sûr.yaml", "assets_tr_s_s_r"),
        ];
        for (rel, want) in cases {
            assert_eq!(tool_name(root, &root.join(rel)), want, "{rel}");
        }
        // A file given by itself is named by its own name.
        let file = root.join("assets/get_asset.yaml");
        std::fs::write(&file, "url: /x\n").unwrap();
        assert_eq!(tool_name(&file, &file), "get_asset");
    }

    #[test]
    fn filters_say_types_and_defaults() {
        let cases = [
            ("{{ n | int }}", "n", "int", true),
            ("{{ n|int }}", "n", "int", true),
            ("{{ status | default('x') }}", "status", "default", true),
            ("{{ status | default_x }}", "status", "default", false),
            ("{{ my_status | default('x') }}", "status", "default", false),
            ("{{ status }}", "status", "default", false),
            ("{{ a.status | default(1) }}", "status", "default", false),
        ];
        for (source, name, filter, want) in cases {
            assert_eq!(has_filter(source, name, filter), want, "{source}");
        }
    }
}
