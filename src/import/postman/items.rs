//! Folders and requests: the collection's item tree walked into request files (folders
//! as folders), each request's method, URL, query, headers, body and auth, and its
//! scripts kept as comments.

use serde_json::Value;

use super::Summary;
use super::auth::auth;
use super::body::request_body;
use super::template::template;
use crate::import::mirror::{AuthOut, Literal, LiteralValue, RequestOut};
use crate::import::plan::{Plan, yaml_file};
use crate::import::text::{
    env_template, ident, literal, one_line, register_userinfo, snake, split_userinfo, var_template,
};

/// How deep folders may nest.
const MAX_DEPTH: usize = 32;

/// The walk through the item tree, and what it has made so far.
pub(super) struct Walk {
    pub(super) prefix: String,
    /// The variable whose value the profile's `base_url` takes, if requests start
    /// with it.
    pub(super) base_var: Option<String>,
    pub(super) plan: Plan,
    pub(super) summary: Summary,
    pub(super) first_auth: Option<AuthOut>,
}

/// The scripts of an item (or the collection), listed as `where: kind script`.
pub(super) fn scripts(item: &Value, place: &str, out: &mut Vec<String>) -> Vec<String> {
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
    /// Adds a request file for each request in `items` (under `dir`, named `place`
    /// in messages), and walks each folder in turn.
    pub(super) fn items(
        &mut self,
        items: Option<&Value>,
        dir: &std::path::Path,
        place: &str,
        depth: usize,
    ) {
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

    /// One request's file text.
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
            req.body = request_body(body, &mut comments, &mut self.plan.skipped);
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
        &mut self,
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
        let mut path = path.split('#').next().unwrap_or_default().to_string();
        if path.trim().is_empty() {
            return Err("no URL".to_string());
        }
        if let Some((info, without)) = split_userinfo(&path) {
            path = without;
            comments.push(self.userinfo_auth(&info));
        }
        let mut rest = path.as_str();
        if let Some(base) = &self.base_var
            && let Some(r) = rest.strip_prefix(&format!("{{{{{base}}}}}"))
        {
            rest = r;
        }
        // `:name` path variables.
        let mut out = Literal::default();
        for (i, seg) in rest.split('/').enumerate() {
            if i > 0 {
                out.push_text("/");
            }
            match seg.strip_prefix(':') {
                Some(v) if !v.is_empty() => out.push(&var_template(&ident(v))),
                _ => out.push(&template(seg)),
            }
        }
        req.url = if out.is_empty() { literal("/") } else { out };
        match query {
            Some(list) => {
                for q in list {
                    let key = q.get("key").and_then(Value::as_str).unwrap_or_default();
                    let value = q.get("value").and_then(Value::as_str).unwrap_or_default();
                    if q.get("disabled").and_then(Value::as_bool) == Some(true) {
                        comments.push(format!("disabled query parameter: {}", one_line(key, 100)));
                    } else if !key.is_empty() {
                        req.query
                            .insert(key.to_string(), LiteralValue::from(template(value)));
                    }
                }
            }
            None => {
                for pair in raw_query.iter().flat_map(|q| q.split('&')) {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    if !k.is_empty() {
                        req.query
                            .insert(k.to_string(), LiteralValue::from(template(v)));
                    }
                }
            }
        }
        Ok(())
    }

    /// A URL's user and password (never written): the profile's basic auth with
    /// `env()` templates when it has no auth yet. Returns the comment to keep.
    pub(super) fn userinfo_auth(&mut self, info: &str) -> String {
        register_userinfo(info);
        let prefix = &self.prefix;
        if self.first_auth.is_some() {
            return "the URL's user and password were left out: the profile's auth is used"
                .to_string();
        }
        self.first_auth = Some(AuthOut {
            kind: "basic",
            username: Some(env_template(&format!("{prefix}_USERNAME"), None)),
            password: Some(env_template(&format!("{prefix}_PASSWORD"), None)),
            ..AuthOut::default()
        });
        format!(
            "the URL's user and password are the profile's basic auth: set {prefix}_USERNAME and {prefix}_PASSWORD"
        )
    }
}
