//! `runner import`: request files and profiles from another format. One module per
//! source format; each builds the writable mirrors of the file formats below and lets
//! serde serialise them, never YAML by hand. Comments (what could not be expressed as
//! a key) are whole `#` lines above the document.

pub mod curl;
pub mod openapi;
pub mod postman;

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;

use crate::cli::{GlobalArgs, ImportCommand};
use crate::error::{Error, InputError};
use crate::http::HttpError;

/// A request file as the importers write it (the writable mirror of
/// `model::request::RequestFile`).
#[derive(Debug, Default, Serialize)]
pub struct RequestOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub method: String,
    pub url: String,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub query: IndexMap<String, Value>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, String>,
    /// `none` for operations that take no credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<BodyOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect: Option<ExpectOut>,
}

/// `body:`: exactly one of the variants.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyOut {
    Json(Value),
    Form(IndexMap<String, Value>),
    Text(String),
    File(String),
    Multipart(IndexMap<String, MultipartOut>),
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum MultipartOut {
    File { file: String },
    Value(String),
}

#[derive(Debug, Default, Serialize)]
pub struct ExpectOut {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub status: Vec<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<SchemaOut>,
}

/// `expect.schema` in its `{openapi: FILE#/pointer}` form.
#[derive(Debug, Serialize)]
pub struct SchemaOut {
    pub openapi: String,
}

/// A profile as the importers write it (the mirror of `model::profile::Profile`).
#[derive(Debug, Default, Serialize)]
pub struct ProfileOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub base_url: String,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub vars: IndexMap<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthOut>,
}

/// The `auth:` block; which keys are set depends on `type`.
#[derive(Debug, Default, Clone, Serialize)]
pub struct AuthOut {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_authorization_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(rename = "in", skip_serializing_if = "Option::is_none")]
    pub key_in: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
}

/// `{{ env('NAME') }}`, or with a default.
pub fn env_template(name: &str, default: Option<&str>) -> String {
    match default {
        None => format!("{{{{ env('{name}') }}}}"),
        Some(d) => format!("{{{{ env('{name}', '{d}') }}}}"),
    }
}

/// `{{ name }}`.
pub fn var_template(name: &str) -> String {
    format!("{{{{ {name} }}}}")
}

/// Text from another tool, made safe to keep as a template: any `{`, `%` or `#`
/// markup would otherwise be read as MiniJinja, so such text is wrapped in a `raw`
/// block (or, when it names `endraw` itself, each `{` becomes `{{ '{' }}`).
pub fn literal(s: &str) -> String {
    if !crate::project::template::has_markup(s) {
        return s.to_string();
    }
    if s.contains("endraw") {
        s.replace('{', "{{ '{' }}")
    } else {
        format!("{{% raw %}}{s}{{% endraw %}}")
    }
}

/// A JSON value from another tool with every string (and key) made [`literal`].
pub fn literal_value(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(literal(s)),
        Value::Array(a) => Value::Array(a.iter().map(literal_value).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (literal(k), literal_value(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "not",
    "in",
    "is",
    "if",
    "else",
    "elif",
    "true",
    "false",
    "none",
    "True",
    "False",
    "None",
    "loop",
    "self",
    "for",
    "endfor",
    "with",
    "recursive",
    "import",
    "from",
    "as",
    "set",
    "block",
    "macro",
    "call",
    "filter",
    "extends",
    "include",
];

/// `s` as a template variable name: ASCII letters, digits and `_`, not starting with
/// a digit, not a keyword, never empty.
pub fn ident(s: &str) -> String {
    let mut out = snake(s);
    if out.is_empty() {
        out.push_str("value");
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if KEYWORDS.contains(&out.as_str()) || out == "base_url" {
        out.push('_');
    }
    out
}

/// `s` in snake_case, ASCII only: `getPetById` → `get_pet_by_id`, `/pets/{id}` →
/// `pets_id`. Possibly empty.
pub fn snake(s: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && prev_lower && !out.ends_with('_') {
                out.push('_');
            }
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            out.push(c.to_ascii_lowercase());
        } else {
            prev_lower = false;
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    // File names stay short enough for every file system.
    if out.len() > 80 {
        out.truncate(80);
        while out.ends_with('_') {
            out.pop();
        }
    }
    out
}

/// `s` as the upper-case prefix of environment variable names (`Pet Store` →
/// `PET_STORE`), `API` when nothing is left.
pub fn env_prefix(s: &str) -> String {
    let mut p = snake(s).to_ascii_uppercase();
    p.truncate(30);
    while p.ends_with('_') {
        p.pop();
    }
    if p.is_empty() || p.starts_with(|c: char| c.is_ascii_digit()) {
        p.insert_str(0, "API");
        if p.len() > 3 {
            p.insert(3, '_');
        }
    }
    p
}

/// One line of free text for a `#` comment or a description: no line breaks, no
/// control characters, at most `max` characters.
pub fn one_line(s: &str, max: usize) -> String {
    let mut out: String = s
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .take(max)
        .collect();
    if s.chars().count() > max {
        out.push('…');
    }
    out
}

/// A YAML document: `comments` as `#` lines, then `value` serialised.
pub fn yaml_file<T: Serialize>(comments: &[String], value: &T) -> Result<String, Error> {
    let body = serde_saphyr::to_string(value)
        .map_err(|e| InputError::usage(format!("cannot serialise the imported file: {e}")))?;
    let mut text = String::new();
    for c in comments {
        for line in c.lines() {
            text.push_str("# ");
            text.push_str(&one_line(line, 2000));
            text.push('\n');
        }
    }
    text.push_str(&body);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// What an import will write: paths relative to the output folder, and why things
/// were left out.
#[derive(Debug, Default)]
pub struct Plan {
    pub files: Vec<(PathBuf, Vec<u8>)>,
    pub skipped: Vec<String>,
    taken: std::collections::HashSet<PathBuf>,
}

impl Plan {
    /// Adds a file at `rel`, renaming `name.yaml` to `name_2.yaml`… when the path is
    /// already planned (two operations with one name).
    pub fn add(&mut self, rel: PathBuf, contents: Vec<u8>) -> PathBuf {
        let mut path = rel.clone();
        let mut n = 2;
        while self.taken.contains(&path) {
            let stem = rel.file_stem().and_then(|s| s.to_str()).unwrap_or("file");
            let ext = rel.extension().and_then(|s| s.to_str()).unwrap_or("yaml");
            path = rel.with_file_name(format!("{stem}_{n}.{ext}"));
            n += 1;
        }
        self.taken.insert(path.clone());
        self.files.push((path.clone(), contents));
        path
    }
}

/// Writes `plan` under `out`. Without `force`, nothing is written when any file
/// exists; with `dry_run`, the paths are listed on stdout and nothing is written.
pub fn write_plan(out: &Path, plan: &Plan, force: bool, dry_run: bool) -> Result<(), Error> {
    let existing: Vec<&PathBuf> = plan
        .files
        .iter()
        .map(|(p, _)| p)
        .filter(|p| out.join(p).exists())
        .collect();
    if dry_run {
        let mut o = crate::run::output::Output::new();
        for (p, _) in &plan.files {
            let mark = if existing.contains(&p) {
                if force { " (overwrite)" } else { " (exists)" }
            } else {
                ""
            };
            o.line(&format!("{}{mark}", out.join(p).display()))
                .map_err(|e| Error::io("cannot write to stdout", e))?;
        }
        return Ok(());
    }
    if !force && !existing.is_empty() {
        let list: Vec<String> = existing
            .iter()
            .take(10)
            .map(|p| out.join(p).display().to_string())
            .collect();
        let more = existing.len().saturating_sub(10);
        return Err(InputError::usage(format!(
            "{} file{} already exist{} (nothing written; --force overwrites): {}{}",
            existing.len(),
            if existing.len() == 1 { "" } else { "s" },
            if existing.len() == 1 { "s" } else { "" },
            list.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ))
        .into());
    }
    for (rel, contents) in &plan.files {
        let path = out.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        }
        std::fs::write(&path, contents)
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    }
    std::fs::create_dir_all(out.join("profiles")).map_err(|e| {
        Error::io(
            format!("cannot create {}", out.join("profiles").display()),
            e,
        )
    })?;
    Ok(())
}

/// Where an import writes: `--out`, else the current project's root, else the
/// current folder.
pub fn out_dir(out: Option<&Path>, root: Option<&Path>) -> PathBuf {
    if let Some(o) = out {
        return o.to_path_buf();
    }
    match crate::project::Project::discover(root) {
        Ok(p) => p.root,
        Err(_) => PathBuf::from("."),
    }
}

/// Largest document or collection read (a URL's body included).
const MAX_SOURCE: u64 = 256 * 1024 * 1024;

const SOURCE_LIMIT: crate::project::limits::ReadLimit = crate::project::limits::ReadLimit {
    bytes: MAX_SOURCE,
    kind: "imported documents",
};

/// `runner import …`.
pub async fn run(global: &GlobalArgs, cmd: &ImportCommand) -> Result<u8, Error> {
    match cmd {
        ImportCommand::Openapi(a) => {
            let source = read_source(&a.spec).await?;
            let doc = openapi::parse(&source.text, &a.spec)?;
            let (plan, summary) = openapi::plan(&doc, &source)?;
            let out = out_dir(a.out.as_deref(), global.root.as_deref());
            write_plan(&out, &plan, a.force, a.dry_run)?;
            if !global.quiet {
                eprintln!(
                    "{} {} operation{} into {} request file{}, {} profile{} and the document under {}",
                    if a.dry_run {
                        "would import"
                    } else {
                        "imported"
                    },
                    summary.operations,
                    plural(summary.operations),
                    summary.requests,
                    plural(summary.requests),
                    summary.profiles,
                    plural(summary.profiles),
                    out.join("openapi").display()
                );
                print_skipped(&plan.skipped);
            }
            Ok(0)
        }
        ImportCommand::Curl(a) => import_curl(global, a),
        ImportCommand::Postman(a) => {
            let what = a.collection.display().to_string();
            let text = crate::project::limits::read(&a.collection, SOURCE_LIMIT)
                .map_err(|e| InputError::usage(e.describe(&format!("the collection {what}"))))?;
            let doc = postman::parse(&text, &what)?;
            let environment = match &a.environment {
                Some(path) => {
                    let what = path.display().to_string();
                    let text = crate::project::limits::read(path, SOURCE_LIMIT).map_err(|e| {
                        InputError::usage(e.describe(&format!("the environment {what}")))
                    })?;
                    Some(
                        serde_json::from_slice::<Value>(&text).map_err(|e| {
                            InputError::usage(format!("{what}: not valid JSON: {e}"))
                        })?,
                    )
                }
                None => None,
            };
            let (plan, summary) = postman::plan(&doc, environment.as_ref())?;
            let out = out_dir(a.out.as_deref(), global.root.as_deref());
            write_plan(&out, &plan, a.force, a.dry_run)?;
            if !global.quiet {
                eprintln!(
                    "{} {} request{} from {} folder{} and a profile into {}",
                    if a.dry_run {
                        "would import"
                    } else {
                        "imported"
                    },
                    summary.requests,
                    plural(summary.requests),
                    summary.folders,
                    plural(summary.folders),
                    out.display()
                );
                if !summary.scripts.is_empty() {
                    eprintln!(
                        "scripts are not run ({}; each is kept as a comment in its request file):",
                        summary.scripts.len()
                    );
                    for s in &summary.scripts {
                        eprintln!("  {s}");
                    }
                }
                print_skipped(&plan.skipped);
            }
            Ok(0)
        }
    }
}

fn import_curl(global: &GlobalArgs, a: &crate::cli::ImportCurlArgs) -> Result<u8, Error> {
    let imp = curl::import(&a.command, "API")?;
    let text = yaml_file(&imp.comments, &imp.request)?;
    match &a.out {
        Some(path) => {
            if path.exists() && !a.force {
                return Err(InputError::usage(format!(
                    "{} already exists (nothing written; --force overwrites)",
                    path.display()
                ))
                .into());
            }
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
            }
            std::fs::write(path, &text)
                .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
            if !global.quiet {
                eprintln!("wrote {}", path.display());
            }
        }
        None => crate::run::output::Output::new()
            .bytes(text.as_bytes())
            .map_err(|e| Error::io("cannot write to stdout", e))?,
    }
    if !global.quiet {
        if let Some(profile) = &imp.profile {
            let yaml = yaml_file(&[], profile)?;
            eprintln!(
                "the command sends credentials: a profile for them (set the variables it names):\n{}",
                yaml.trim_end()
            );
        }
        if !imp.ignored.is_empty() {
            eprintln!("not imported (runner does not send these, or decides them itself):");
            for i in &imp.ignored {
                eprintln!("  {i}");
            }
        }
    }
    Ok(0)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The summary's list of what was left out, and why.
pub fn print_skipped(skipped: &[String]) {
    if skipped.is_empty() {
        return;
    }
    eprintln!("skipped {}:", skipped.len());
    for s in skipped {
        eprintln!("  {s}");
    }
}

/// A document from a file or an http(s) URL.
async fn read_source(spec: &str) -> Result<openapi::Source, Error> {
    if spec.starts_with("http://") || spec.starts_with("https://") {
        let url = url::Url::parse(spec)
            .map_err(|e| InputError::usage(format!("invalid URL `{spec}`: {e}")))?;
        let text = fetch(&url).await?;
        let file_name = url
            .path_segments()
            .and_then(|mut s| s.next_back())
            .filter(|s| !s.is_empty())
            .map(sanitize_file_name)
            .unwrap_or_else(|| "openapi.json".to_string());
        return Ok(openapi::Source {
            text,
            file_name,
            url: Some(url),
        });
    }
    let path = Path::new(spec);
    let text = crate::project::limits::read(path, SOURCE_LIMIT)
        .map_err(|e| InputError::usage(e.describe(&format!("the document {spec}"))))?;
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .map(sanitize_file_name)
        .unwrap_or_else(|| "openapi.json".to_string());
    Ok(openapi::Source {
        text,
        file_name,
        url: None,
    })
}

/// A file name safe on every system.
fn sanitize_file_name(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let clean = clean.trim_start_matches('.').to_string();
    if clean.is_empty() {
        "openapi.json".to_string()
    } else {
        clean
    }
}

/// GETs `url` (TLS verified, redirects followed, at most [`MAX_SOURCE`] bytes).
async fn fetch(url: &url::Url) -> Result<Vec<u8>, Error> {
    let transport = |e: reqwest::Error| {
        Error::Http(HttpError::Other {
            url: url.to_string(),
            detail: e.to_string(),
        })
    };
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(transport)?;
    let mut resp = client.get(url.as_str()).send().await.map_err(transport)?;
    if !resp.status().is_success() {
        return Err(Error::Http(HttpError::Protocol {
            url: url.to_string(),
            detail: format!("HTTP {} fetching the document", resp.status()),
        }));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(transport)? {
        body.extend_from_slice(&chunk);
        if body.len() as u64 > MAX_SOURCE {
            return Err(InputError::usage(format!("{url}: larger than {MAX_SOURCE} bytes")).into());
        }
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for (input, want) in [
            ("getPetById", "get_pet_by_id"),
            ("/pets/{petId}", "pets_pet_id"),
            ("list-Users.v2", "list_users_v2"),
            ("", ""),
            ("ÄÖ", ""),
            ("HTTPServer", "httpserver"),
        ] {
            assert_eq!(snake(input), want, "{input}");
        }
        assert_eq!(ident("in"), "in_");
        assert_eq!(ident("2fa"), "_2fa");
        assert_eq!(ident("---"), "value");
        assert_eq!(env_prefix("Swagger Petstore"), "SWAGGER_PETSTORE");
        assert_eq!(env_prefix("1Password"), "API_1_PASSWORD");
        assert_eq!(env_prefix(""), "API");
    }

    #[test]
    fn literal_text_is_not_a_template() {
        assert_eq!(literal("a {b} c"), "a {b} c");
        assert_eq!(literal("{{x}}"), "{% raw %}{{x}}{% endraw %}");
        assert_eq!(literal("{{endraw}}"), "{{ '{' }}{{ '{' }}endraw}}");
    }
}
