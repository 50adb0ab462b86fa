//! `runner import postman`: a Postman collection (v2.0 or v2.1) to request files and
//! a profile. Folders become folders, `{{var}}` a template variable, collection and
//! environment variables the profile's `vars`, auth the profile's auth with `env()`
//! templates. Scripts are never run: each is listed and kept as a comment.

use std::path::PathBuf;

use indexmap::IndexMap;
use serde_json::Value;

use crate::error::{Error, InputError};
use crate::import::mirror::{AuthOut, BodyOut, MultipartOut, ProfileOut, RequestOut};
use crate::import::plan::{Plan, yaml_file};
use crate::import::text::{
    env_prefix, env_template, ident, literal, one_line, snake, var_template,
};

/// How deep folders may nest.
const MAX_DEPTH: usize = 32;

#[derive(Debug, Default)]
pub struct Summary {
    pub requests: usize,
    pub folders: usize,
    pub scripts: Vec<String>,
}

struct Walk {
    prefix: String,
    /// The variable whose value the profile's `base_url` takes, if requests start
    /// with it.
    base_var: Option<String>,
    plan: Plan,
    summary: Summary,
    first_auth: Option<AuthOut>,
}

/// Parses a collection and checks it is v2.0 or v2.1.
pub fn parse(text: &[u8], what: &str) -> Result<Value, Error> {
    let doc: Value = serde_json::from_slice(text)
        .map_err(|e| InputError::usage(format!("{what}: not valid JSON: {e}")))?;
    let schema = doc
        .pointer("/info/schema")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let known = schema.contains("/v2.0.") || schema.contains("/v2.1.");
    if !known || !doc.get("item").is_some_and(Value::is_array) {
        return Err(InputError::usage(format!(
            "{what}: not a Postman collection v2.0 or v2.1 (info.schema is `{}`); export it from Postman as Collection v2.1",
            one_line(schema, 100)
        ))
        .into());
    }
    Ok(doc)
}

/// Builds the plan of files for `doc` (and an environment's values).
pub fn plan(doc: &Value, environment: Option<&Value>) -> Result<(Plan, Summary), Error> {
    let name = doc
        .pointer("/info/name")
        .and_then(Value::as_str)
        .unwrap_or("collection");
    let prefix = env_prefix(name);
    let mut vars: IndexMap<String, Value> = IndexMap::new();
    let mut add_vars = |list: Option<&Value>| {
        for v in list
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let Some(key) = v.get("key").and_then(Value::as_str) else {
                continue;
            };
            if v.get("disabled").and_then(Value::as_bool) == Some(true)
                || v.get("enabled").and_then(Value::as_bool) == Some(false)
            {
                continue;
            }
            let value = v.get("value").cloned().unwrap_or(Value::Null);
            vars.insert(key.to_string(), value);
        }
    };
    add_vars(doc.get("variable"));
    if let Some(env) = environment {
        add_vars(env.get("values"));
    }
    let base_var = ["baseUrl", "base_url", "baseURL", "url", "host"]
        .into_iter()
        .find(|k| {
            vars.get(*k)
                .and_then(Value::as_str)
                .is_some_and(|v| v.contains("://"))
        })
        .map(str::to_string);
    let mut walk = Walk {
        prefix: prefix.clone(),
        base_var,
        plan: Plan::default(),
        summary: Summary::default(),
        first_auth: doc.get("auth").and_then(|a| auth(a, &prefix)),
    };
    let collection_scripts = scripts(doc, name, &mut walk.summary.scripts);
    walk.items(doc.get("item"), &PathBuf::from("requests"), "", 0);

    let mut profile_vars = IndexMap::new();
    let mut comments = collection_scripts;
    for (k, v) in &vars {
        if Some(k) == walk.base_var.as_ref() {
            continue;
        }
        let var = ident(k);
        let secret = {
            let l = k.to_ascii_lowercase();
            ["token", "secret", "password", "key", "auth"]
                .iter()
                .any(|s| l.contains(s))
        };
        let value = if secret {
            comments.push(format!(
                "vars.{var}: a secret, read from {prefix}_{}",
                var.to_ascii_uppercase()
            ));
            Value::String(env_template(
                &format!("{prefix}_{}", var.to_ascii_uppercase()),
                None,
            ))
        } else {
            match v {
                Value::String(s) => Value::String(template(s)),
                other => other.clone(),
            }
        };
        profile_vars.insert(var, value);
    }
    let base_url = match &walk.base_var {
        Some(k) => vars
            .get(k)
            .and_then(Value::as_str)
            .map(|s| template(s.trim_end_matches('/')))
            .unwrap_or_default(),
        None => {
            comments.push(format!(
                "the collection names no base URL variable: set {prefix}_BASE_URL (request URLs are absolute)"
            ));
            env_template(&format!("{prefix}_BASE_URL"), Some("http://localhost"))
        }
    };
    let profile = ProfileOut {
        description: Some(one_line(name, 200)),
        base_url,
        vars: profile_vars,
        auth: walk.first_auth.take(),
    };
    let text = yaml_file(&comments, &profile)?;
    walk.plan
        .add(PathBuf::from("profiles/default.yaml"), text.into_bytes());
    Ok((walk.plan, walk.summary))
}

/// The scripts of an item (or the collection), listed as `where: kind script`.
fn scripts(item: &Value, place: &str, out: &mut Vec<String>) -> Vec<String> {
    let mut comments = Vec::new();
    for e in item
        .get("event")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let listen = e.get("listen").and_then(Value::as_str).unwrap_or("script");
        let lines: Vec<String> = match e.pointer("/script/exec") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            Some(Value::String(s)) => s.lines().map(str::to_string).collect(),
            _ => Vec::new(),
        };
        if lines.iter().all(|l| l.trim().is_empty()) {
            continue;
        }
        out.push(format!(
            "{}: {listen} script ({} line{}), not run",
            one_line(place, 120),
            lines.len(),
            if lines.len() == 1 { "" } else { "s" }
        ));
        comments.push(format!("{listen} script from Postman (not run):"));
        comments.extend(lines.iter().map(|l| format!("  {}", one_line(l, 500))));
    }
    comments
}

impl Walk {
    fn items(&mut self, items: Option<&Value>, dir: &std::path::Path, place: &str, depth: usize) {
        if depth > MAX_DEPTH {
            self.plan
                .skipped
                .push(format!("{place}: folders nested too deep"));
            return;
        }
        for item in items
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let name = item
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("request");
            let here = if place.is_empty() {
                name.to_string()
            } else {
                format!("{place}/{name}")
            };
            let file = {
                let s = snake(name);
                if s.is_empty() {
                    "request".to_string()
                } else {
                    s
                }
            };
            if item.get("item").is_some() {
                self.summary.folders += 1;
                let _ = scripts(item, &here, &mut self.summary.scripts);
                self.items(item.get("item"), &dir.join(&file), &here, depth + 1);
                continue;
            }
            let Some(request) = item.get("request") else {
                self.plan.skipped.push(format!(
                    "{}: neither a folder nor a request",
                    one_line(&here, 120)
                ));
                continue;
            };
            let comments = scripts(item, &here, &mut self.summary.scripts);
            match self.request(request, comments) {
                Ok(text) => {
                    self.plan
                        .add(dir.join(format!("{file}.yaml")), text.into_bytes());
                    self.summary.requests += 1;
                }
                Err(why) => self
                    .plan
                    .skipped
                    .push(format!("{}: {why}", one_line(&here, 120))),
            }
        }
    }

    fn request(&mut self, request: &Value, mut comments: Vec<String>) -> Result<String, String> {
        let mut req = RequestOut::default();
        let (method, url) = match request {
            Value::String(u) => ("GET".to_string(), Value::String(u.clone())),
            Value::Object(m) => (
                m.get("method")
                    .and_then(Value::as_str)
                    .unwrap_or("GET")
                    .to_ascii_uppercase(),
                m.get("url").cloned().unwrap_or(Value::Null),
            ),
            _ => return Err("not a request".to_string()),
        };
        if crate::http::header::name_problem(&method).is_some() {
            return Err(format!("method `{}` is not a token", one_line(&method, 40)));
        }
        req.method = method;
        req.description = request
            .get("description")
            .and_then(|d| {
                d.as_str()
                    .or_else(|| d.get("content").and_then(Value::as_str))
            })
            .map(|d| one_line(d, 200))
            .filter(|d| !d.is_empty());
        self.url(&url, &mut req, &mut comments)?;
        for h in request
            .get("header")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let key = h.get("key").and_then(Value::as_str).unwrap_or_default();
            let value = h.get("value").and_then(Value::as_str).unwrap_or_default();
            if h.get("disabled").and_then(Value::as_bool) == Some(true) {
                comments.push(format!("disabled header: {}", one_line(key, 100)));
            } else if key.eq_ignore_ascii_case("authorization") {
                comments.push("the Authorization header is the profile's auth".to_string());
            } else if crate::http::header::name_problem(key).is_some() {
                comments.push(format!("header `{}`: not a valid name", one_line(key, 100)));
            } else {
                req.headers.insert(key.to_string(), template(value));
            }
        }
        if let Some(body) = request.get("body") {
            req.body = self.body(body, &mut comments);
        }
        match request.get("auth") {
            Some(a) if a.get("type").and_then(Value::as_str) == Some("noauth") => {
                req.auth = Some("none");
            }
            Some(a) => {
                if let Some(out) = auth(a, &self.prefix) {
                    if self.first_auth.is_none() {
                        self.first_auth = Some(out);
                    } else {
                        comments.push(format!(
                            "auth `{}` of its own: the profile's is used",
                            out.kind
                        ));
                    }
                }
            }
            None => {}
        }
        yaml_file(&comments, &req).map_err(|e| e.to_string())
    }

    /// The URL: a leading base-URL variable becomes the profile's `base_url`; path
    /// variables (`:id`) and `{{var}}` become template variables; the query a map.
    fn url(
        &self,
        url: &Value,
        req: &mut RequestOut,
        comments: &mut Vec<String>,
    ) -> Result<(), String> {
        let (raw, query) = match url {
            Value::String(s) => (s.clone(), None),
            Value::Object(m) => (
                m.get("raw")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                m.get("query").and_then(Value::as_array),
            ),
            _ => return Err("no URL".to_string()),
        };
        let (path, raw_query) = match raw.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (raw.clone(), None),
        };
        let path = path.split('#').next().unwrap_or_default().to_string();
        if path.trim().is_empty() {
            return Err("no URL".to_string());
        }
        let mut rest = path.as_str();
        if let Some(base) = &self.base_var
            && let Some(r) = rest.strip_prefix(&format!("{{{{{base}}}}}"))
        {
            rest = r;
        }
        // `:name` path variables.
        let mut out = String::new();
        for (i, seg) in rest.split('/').enumerate() {
            if i > 0 {
                out.push('/');
            }
            match seg.strip_prefix(':') {
                Some(v) if !v.is_empty() => out.push_str(&var_template(&ident(v))),
                _ => out.push_str(&template(seg)),
            }
        }
        req.url = if out.is_empty() { "/".to_string() } else { out };
        match query {
            Some(list) => {
                for q in list {
                    let key = q.get("key").and_then(Value::as_str).unwrap_or_default();
                    let value = q.get("value").and_then(Value::as_str).unwrap_or_default();
                    if q.get("disabled").and_then(Value::as_bool) == Some(true) {
                        comments.push(format!("disabled query parameter: {}", one_line(key, 100)));
                    } else if !key.is_empty() {
                        req.query
                            .insert(template(key), Value::String(template(value)));
                    }
                }
            }
            None => {
                for pair in raw_query.iter().flat_map(|q| q.split('&')) {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    if !k.is_empty() {
                        req.query.insert(template(k), Value::String(template(v)));
                    }
                }
            }
        }
        Ok(())
    }

    fn body(&self, body: &Value, comments: &mut Vec<String>) -> Option<BodyOut> {
        let mode = body.get("mode").and_then(Value::as_str).unwrap_or_default();
        let pairs = |key: &str| -> Vec<&Value> {
            body.get(key)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter(|p| p.get("disabled").and_then(Value::as_bool) != Some(true))
                        .collect()
                })
                .unwrap_or_default()
        };
        let text_of = |p: &Value, k: &str| {
            p.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        match mode {
            "raw" => {
                let raw = body.get("raw").and_then(Value::as_str).unwrap_or_default();
                if raw.is_empty() {
                    return None;
                }
                let lang = body
                    .pointer("/options/raw/language")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                match serde_json::from_str::<Value>(raw) {
                    Ok(v) if lang == "json" || v.is_object() || v.is_array() => {
                        Some(BodyOut::Json(template_value(&v)))
                    }
                    _ => Some(BodyOut::Text(template(raw))),
                }
            }
            "urlencoded" => Some(BodyOut::Form(
                pairs("urlencoded")
                    .into_iter()
                    .map(|p| {
                        (
                            template(&text_of(p, "key")),
                            Value::String(template(&text_of(p, "value"))),
                        )
                    })
                    .collect(),
            )),
            "formdata" => {
                let mut parts = IndexMap::new();
                for p in pairs("formdata") {
                    let key = template(&text_of(p, "key"));
                    let part = if p.get("type").and_then(Value::as_str) == Some("file") {
                        let src = match p.get("src") {
                            Some(Value::String(s)) => s.clone(),
                            Some(Value::Array(a)) => a
                                .first()
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string(),
                            _ => String::new(),
                        };
                        if src.is_empty() {
                            comments.push(format!("form file `{key}`: no file named"));
                            continue;
                        }
                        MultipartOut::File {
                            file: literal(&src),
                        }
                    } else {
                        MultipartOut::Value(template(&text_of(p, "value")))
                    };
                    parts.insert(key, part);
                }
                (!parts.is_empty()).then_some(BodyOut::Multipart(parts))
            }
            "file" => body
                .pointer("/file/src")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(|s| BodyOut::File(literal(s))),
            "graphql" => {
                let query = body
                    .pointer("/graphql/query")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let variables = body
                    .pointer("/graphql/variables")
                    .and_then(Value::as_str)
                    .and_then(|v| serde_json::from_str::<Value>(v).ok())
                    .unwrap_or(Value::Null);
                Some(BodyOut::Json(template_value(
                    &serde_json::json!({"query": query, "variables": variables}),
                )))
            }
            "" => None,
            other => {
                comments.push(format!("body mode `{}` not imported", one_line(other, 40)));
                None
            }
        }
    }
}

/// Postman text as a template: `{{var}}` becomes `{{ var }}`, the rest literal.
pub fn template(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else {
            break;
        };
        let name = &rest[start + 2..start + 2 + len];
        if name.is_empty() || name.contains('{') {
            break;
        }
        out.push_str(&literal(&rest[..start]));
        // Postman's dynamic variables (`{{$guid}}`) have runner equivalents for some.
        let expr = match name.trim() {
            "$guid" | "$randomUUID" => "uuid()".to_string(),
            "$isoTimestamp" => "now()".to_string(),
            n => ident(n),
        };
        out.push_str(&var_template(&expr));
        rest = &rest[start + 2 + len + 2..];
    }
    out.push_str(&literal(rest));
    out
}

fn template_value(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(template(s)),
        Value::Array(a) => Value::Array(a.iter().map(template_value).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (template(k), template_value(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// An attribute of a Postman auth block: v2.1 lists `{key, value}`, v2.0 maps.
fn attr(a: &Value, kind: &str, key: &str) -> Option<String> {
    match a.get(kind)? {
        Value::Array(list) => list
            .iter()
            .find(|e| e.get("key").and_then(Value::as_str) == Some(key))
            .and_then(|e| e.get("value"))
            .and_then(Value::as_str)
            .map(str::to_string),
        Value::Object(m) => m.get(key).and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

/// Our auth for a Postman auth block; secrets as `env()` templates, never values.
fn auth(a: &Value, prefix: &str) -> Option<AuthOut> {
    let env = |s: &str| env_template(&format!("{prefix}_{s}"), None);
    let kind = a.get("type").and_then(Value::as_str)?;
    let mut out = AuthOut::default();
    match kind {
        "bearer" => {
            out.kind = "bearer";
            out.token = Some(env("TOKEN"));
        }
        "basic" => {
            out.kind = "basic";
            out.username = Some(env("USERNAME"));
            out.password = Some(env("PASSWORD"));
        }
        "apikey" => {
            out.kind = "api_key";
            out.key = Some(env("API_KEY"));
            out.name = Some(attr(a, "apikey", "key").unwrap_or_else(|| "X-Api-Key".to_string()));
            out.key_in = Some(if attr(a, "apikey", "in").as_deref() == Some("query") {
                "query"
            } else {
                "header"
            });
        }
        "oauth2" => {
            let grant =
                attr(a, "oauth2", "grant_type").unwrap_or_else(|| "authorization_code".to_string());
            let url = |k: &str| {
                attr(a, "oauth2", k)
                    .filter(|s| !s.is_empty())
                    .map(|s| template(&s))
            };
            out.client_id = Some(env("CLIENT_ID"));
            out.token_url = url("accessTokenUrl").or_else(|| Some(env("TOKEN_URL")));
            out.scopes = attr(a, "oauth2", "scope")
                .map(|s| s.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default();
            match grant.as_str() {
                "client_credentials" => {
                    out.kind = "oauth2_client_credentials";
                    out.client_secret = Some(env("CLIENT_SECRET"));
                }
                "password_credentials" | "password" => {
                    out.kind = "oauth2_password";
                    out.client_secret =
                        Some(env_template(&format!("{prefix}_CLIENT_SECRET"), Some("")));
                    out.username = Some(env("USERNAME"));
                    out.password = Some(env_template(&format!("{prefix}_PASSWORD"), Some("")));
                }
                _ => {
                    out.kind = "oauth2_authorization_code";
                    out.authorization_url =
                        url("authUrl").or_else(|| Some(env("AUTHORIZATION_URL")));
                    out.client_secret =
                        Some(env_template(&format!("{prefix}_CLIENT_SECRET"), Some("")));
                }
            }
        }
        _ => return None,
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_become_templates() {
        assert_eq!(
            template("{{host}}/a/{{the id}}"),
            "{{ host }}/a/{{ the_id }}"
        );
        assert_eq!(template("x-{{$guid}}"), "x-{{ uuid() }}");
        assert_eq!(template("{{unclosed"), "{% raw %}{{unclosed{% endraw %}");
        assert_eq!(template("{{}}"), "{% raw %}{{}}{% endraw %}");
    }
}
