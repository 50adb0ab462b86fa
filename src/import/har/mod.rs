//! `runner import har`: a browser's network capture to request files. One file per
//! distinct request (method and path, numbers and UUIDs in the path as variables),
//! a profile per origin, `expect.status` from the recorded response. Static assets
//! and tracking hosts are counted and left out. A HAR holds live cookies and
//! credentials: none is ever written; each becomes an `env()` template in the
//! profile (`Authorization` its auth, cookies and other credential headers its
//! sensitive headers), or in the request file for a body or query value.

mod filter;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, InputError};
use crate::import::credential::{auth_from_authorization, is_secret_name};
use crate::import::mirror::{
    AuthOut, BodyOut, ExpectOut, Literal, LiteralValue, MultipartOut, ProfileOut, RequestOut,
};
use crate::import::plan::{Plan, yaml_file};
use crate::import::text::{env_prefix, env_template, ident, one_line, snake, var_template};

/// The outcome of an import, for the summary.
#[derive(Debug, Default)]
pub struct Summary {
    pub entries: usize,
    pub requests: usize,
    pub profiles: usize,
}

/// A profile with the headers that carry the capture's cookies and credentials.
#[derive(Serialize)]
struct HarProfile {
    #[serde(flatten)]
    profile: ProfileOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    http: Option<HttpOut>,
}

#[derive(Serialize)]
struct HttpOut {
    headers: IndexMap<String, Literal>,
    sensitive_headers: Vec<String>,
}

/// What one origin gathers: its requests' auth and credential headers.
#[derive(Default)]
struct Origin {
    prefix: String,
    requests: usize,
    auth: Option<AuthOut>,
    headers: IndexMap<String, Literal>,
    notes: Vec<String>,
}

/// Parses a capture: a JSON object with `log.entries`.
pub fn parse(text: &[u8], what: &str) -> Result<Value, Error> {
    let doc: Value = serde_json::from_slice(text)
        .map_err(|e| InputError::usage(format!("{what}: not valid JSON: {e}")))?;
    if !doc.pointer("/log/entries").is_some_and(Value::is_array) {
        return Err(InputError::usage(format!("{what}: not a HAR file (no log.entries)")).into());
    }
    Ok(doc)
}

/// Builds the plan of files for a capture.
pub fn plan(doc: &Value) -> Result<(Plan, Summary), Error> {
    let mut plan = Plan::default();
    let mut summary = Summary::default();
    let mut origins: IndexMap<String, Origin> = IndexMap::new();
    let mut seen = HashSet::new();
    let mut skipped: IndexMap<&'static str, usize> = IndexMap::new();
    let mut files = Vec::new();
    for entry in doc
        .pointer("/log/entries")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        summary.entries += 1;
        let request = entry.get("request").unwrap_or(&Value::Null);
        let text = |v: &Value, k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let Ok(url) = url::Url::parse(&text(request, "url")) else {
            *skipped.entry("without a URL runner reads").or_default() += 1;
            continue;
        };
        let mime = entry
            .pointer("/response/content/mimeType")
            .and_then(Value::as_str);
        if let Some(why) = filter::skip_reason(&url, mime.unwrap_or_default()) {
            *skipped.entry(why).or_default() += 1;
            continue;
        }
        let method = text(request, "method").to_ascii_uppercase();
        let (path, vars) = path_template(url.path());
        let origin = url.origin().ascii_serialization();
        if !seen.insert(format!("{method} {origin}{}", path.as_str())) {
            *skipped.entry("repeat").or_default() += 1;
            continue;
        }
        let o = origins.entry(origin.clone()).or_insert_with(|| Origin {
            prefix: env_prefix(url.host_str().unwrap_or("api")),
            ..Origin::default()
        });
        o.requests += 1;
        match o.request(entry, &method, &url, path, vars) {
            Ok((name, text)) => files.push((origin, name, text)),
            Err(why) => plan
                .skipped
                .push(format!("{method} {}: {why}", one_line(url.as_str(), 120))),
        }
    }
    let names = profile_names(&origins);
    for (origin, name, text) in files {
        plan.add(
            PathBuf::from("requests")
                .join(&names[&origin].1)
                .join(format!("{name}.yaml")),
            text,
        );
        summary.requests += 1;
    }
    for (origin, o) in origins {
        let text = o.profile(&origin)?;
        plan.add(
            PathBuf::from(format!("profiles/{}.yaml", names[&origin].0)),
            text.into_bytes(),
        );
        summary.profiles += 1;
    }
    for (why, n) in skipped {
        plan.skipped.push(skip_line(why, n));
    }
    Ok((plan, summary))
}

fn skip_line(why: &str, n: usize) -> String {
    let s = if n == 1 { "" } else { "s" };
    match why {
        "asset" => format!("{n} static asset{s} (scripts, styles, images, fonts, pages)"),
        "tracking" => format!("{n} request{s} to tracking and analytics hosts"),
        "repeat" => format!("{n} repeat{s} of a request already imported (same method and path)"),
        other => format!("{n} entr{} {other}", if n == 1 { "y" } else { "ies" }),
    }
}

/// Each origin's profile name (the one with the most requests is `default`) and
/// folder under `requests/` (its host).
fn profile_names(origins: &IndexMap<String, Origin>) -> HashMap<String, (String, String)> {
    let top = origins
        .iter()
        .max_by_key(|(_, o)| o.requests)
        .map(|(k, _)| k.clone());
    origins
        .keys()
        .map(|k| {
            let host = url::Url::parse(k)
                .ok()
                .and_then(|u| u.host_str().map(snake))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "api".to_string());
            let profile = if Some(k) == top.as_ref() {
                "default".to_string()
            } else {
                host.clone()
            };
            (k.clone(), (profile, host))
        })
        .collect()
}

/// A path with its ids as variables (`/users/42` → `/users/{{ user_id }}`), and the
/// variables with their recorded values.
fn path_template(path: &str) -> (Literal, Vec<(String, String)>) {
    let mut out = Literal::default();
    let mut vars: Vec<(String, String)> = Vec::new();
    let mut prev = "";
    for (i, seg) in path.split('/').enumerate() {
        if i > 0 {
            out.push_text("/");
        }
        if filter::is_id(seg) {
            let base = prev
                .strip_suffix('s')
                .filter(|p| p.len() > 2)
                .unwrap_or(prev);
            let mut var = ident(&format!("{base}_id"));
            if var == "_id" {
                var = "id".to_string();
            }
            while vars.iter().any(|(v, _)| *v == var) {
                var.push_str("_2");
            }
            out.push(&var_template(&var));
            vars.push((var, seg.to_string()));
        } else {
            out.push_text(seg);
        }
        prev = seg;
    }
    (out, vars)
}

impl Origin {
    fn env(&self, name: &str) -> Literal {
        env_template(
            &format!("{}_{}", self.prefix, ident(name).to_ascii_uppercase()),
            None,
        )
    }

    /// One request's file name and text.
    fn request(
        &mut self,
        entry: &Value,
        method: &str,
        url: &url::Url,
        path: Literal,
        vars: Vec<(String, String)>,
    ) -> Result<(String, Vec<u8>), String> {
        if crate::http::header::name_problem(method).is_some() {
            return Err(format!("method `{}` is not a token", one_line(method, 40)));
        }
        let request = &entry["request"];
        let mut comments: Vec<String> = vars
            .iter()
            .map(|(v, value)| format!("set {v} (recorded: {})", one_line(value, 80)))
            .collect();
        let mut req = RequestOut {
            method: method.to_string(),
            url: path,
            ..RequestOut::default()
        };
        for (k, v) in url.query_pairs() {
            let value = if is_secret_name(&k) {
                comments.push(format!(
                    "query {k}: a credential, read from the environment"
                ));
                LiteralValue::from(self.env(&k))
            } else {
                LiteralValue::from(Literal::text(&v))
            };
            match req.query.shift_remove(k.as_ref()) {
                Some(prev) => {
                    let mut items = prev.into_items();
                    items.push(value);
                    req.query.insert(k.into_owned(), LiteralValue::list(items));
                }
                None => {
                    req.query.insert(k.into_owned(), value);
                }
            }
        }
        self.headers(request, &mut req);
        if let Some(post) = request.get("postData") {
            req.body = self.body(post, &mut comments);
        }
        if let Some(status) = entry.pointer("/response/status").and_then(Value::as_u64)
            && (100..600).contains(&status)
        {
            req.expect = Some(ExpectOut {
                status: vec![status as u16],
                ..ExpectOut::default()
            });
        }
        let name = snake(&format!("{method} {}", req.url.as_str()));
        let text = yaml_file(&comments, &req).map_err(|e| e.to_string())?;
        Ok((
            if name.is_empty() {
                "request".into()
            } else {
                name
            },
            text.into_bytes(),
        ))
    }

    /// The request's headers: the browser's left out, credentials to the profile.
    fn headers(&mut self, request: &Value, req: &mut RequestOut) {
        for h in request
            .get("headers")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let name = h.get("name").and_then(Value::as_str).unwrap_or_default();
            let value = h.get("value").and_then(Value::as_str).unwrap_or_default();
            if filter::is_browser_header(name) || crate::http::header::name_problem(name).is_some()
            {
                continue;
            }
            if name.eq_ignore_ascii_case("authorization") {
                if self.auth.is_none() {
                    let prefix = self.prefix.clone();
                    self.auth = auth_from_authorization(value, &prefix, &mut |_| self.env("TOKEN"));
                    if self.auth.is_none() {
                        self.add_header(name);
                    }
                }
            } else if is_secret_name(name) {
                self.add_header(name);
            } else if !req.headers.contains_key(name) {
                req.headers.insert(name.to_string(), Literal::text(value));
            }
        }
    }

    /// A credential header, sent by the profile from an `env()` template.
    fn add_header(&mut self, name: &str) {
        let canonical = name.to_ascii_lowercase();
        if !self
            .headers
            .keys()
            .any(|k| k.eq_ignore_ascii_case(&canonical))
        {
            let env = self.env(name);
            self.notes.push(format!(
                "http.headers.{name}: the capture's value is not copied: set {}",
                env.as_str()
                    .trim_start_matches("{{ env('")
                    .trim_end_matches("') }}")
            ));
            self.headers.insert(name.to_string(), env);
        }
    }

    /// `postData`: the text as recorded, or, when it holds credentials, the JSON or
    /// form with each one an `env()` template.
    fn body(&mut self, post: &Value, comments: &mut Vec<String>) -> Option<BodyOut> {
        let mime = post
            .get("mimeType")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase();
        let text = post.get("text").and_then(Value::as_str).unwrap_or_default();
        let params = post
            .get("params")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if mime.starts_with("multipart/form-data") && !params.is_empty() {
            return Some(self.multipart(params, comments));
        }
        if text.is_empty() {
            return None;
        }
        if mime.contains("json")
            && let Ok(v) = serde_json::from_str::<Value>(text)
            && has_secret(&v)
        {
            comments.push("credentials in the body are read from the environment".to_string());
            let marked = mark_secrets(&v, &self.prefix);
            return Some(BodyOut::Json(LiteralValue::with(&marked, &unmark)));
        }
        if mime.starts_with("application/x-www-form-urlencoded") {
            let pairs: Vec<(String, String)> = url::form_urlencoded::parse(text.as_bytes())
                .into_owned()
                .collect();
            if pairs.iter().any(|(k, _)| is_secret_name(k)) {
                comments.push("credentials in the form are read from the environment".to_string());
                let form = pairs
                    .into_iter()
                    .map(|(k, v)| {
                        let value = if is_secret_name(&k) {
                            self.env(&k)
                        } else {
                            Literal::text(&v)
                        };
                        (k, LiteralValue::from(value))
                    })
                    .collect();
                return Some(BodyOut::Form(form));
            }
        }
        Some(BodyOut::Text(Literal::text(text)))
    }

    fn multipart(&mut self, params: &[Value], comments: &mut Vec<String>) -> BodyOut {
        let mut parts = IndexMap::new();
        for p in params {
            let name = p
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let part = match p.get("fileName").and_then(Value::as_str) {
                Some(file) => {
                    let var = format!("{}_file", ident(&name));
                    comments.push(format!(
                        "set {var}: the browser uploaded {}",
                        one_line(file, 100)
                    ));
                    MultipartOut::File {
                        file: var_template(&var),
                    }
                }
                None if is_secret_name(&name) => MultipartOut::Value(self.env(&name)),
                None => MultipartOut::Value(Literal::text(
                    p.get("value").and_then(Value::as_str).unwrap_or_default(),
                )),
            };
            parts.insert(name, part);
        }
        BodyOut::Multipart(parts)
    }

    /// The origin's profile.
    fn profile(self, origin: &str) -> Result<String, Error> {
        let mut comments = vec![format!(
            "recorded from {origin}; secrets are read from {}_* variables",
            self.prefix
        )];
        comments.extend(self.notes);
        if self.auth.is_some() {
            comments.push(format!("auth: the capture's Authorization header, read from {}_TOKEN (or _USERNAME/_PASSWORD)", self.prefix));
        }
        let http = (!self.headers.is_empty()).then(|| HttpOut {
            sensitive_headers: self.headers.keys().cloned().collect(),
            headers: self.headers,
        });
        let profile = HarProfile {
            profile: ProfileOut {
                description: Some(format!("Recorded from {origin}")),
                base_url: Literal::text(origin),
                vars: IndexMap::new(),
                auth: self.auth,
            },
            http,
        };
        yaml_file(&comments, &profile)
    }
}

/// The marker of a value to read from the environment, in a JSON body being built:
/// unguessable, so that no text of the capture can pass for one.
fn mark() -> &'static str {
    static MARK: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    MARK.get_or_init(|| format!("\u{0}{}:", uuid::Uuid::new_v4()))
}

fn has_secret(v: &Value) -> bool {
    match v {
        Value::Object(m) => m
            .iter()
            .any(|(k, v)| (is_secret_name(k) && v.is_string()) || has_secret(v)),
        Value::Array(a) => a.iter().any(has_secret),
        _ => false,
    }
}

fn mark_secrets(v: &Value, prefix: &str) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = if is_secret_name(k) && v.is_string() {
                        Value::String(format!(
                            "{}{prefix}_{}",
                            mark(),
                            ident(k).to_ascii_uppercase()
                        ))
                    } else {
                        mark_secrets(v, prefix)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|v| mark_secrets(v, prefix)).collect()),
        other => other.clone(),
    }
}

fn unmark(s: &str) -> Literal {
    match s.strip_prefix(mark()) {
        Some(name) => env_template(name, None),
        None => Literal::text(s),
    }
}
