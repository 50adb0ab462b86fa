//! A [`Collection`] (Insomnia's or Bruno's) as request files and profiles: folders
//! as folders, every string through the format's [`Dialect`], credentials as the
//! profile's auth with `env()` templates, scripts as comments.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;

use super::tree::{Auth, Body, Collection, Dialect, Env, Item, OAuth2, Part, Req};
use crate::error::Error;
use crate::import::credential::{auth_from_authorization, is_reference, is_secret_name};
use crate::import::mirror::{AuthOut, BodyOut, Literal, LiteralValue, MultipartOut, RequestOut};
use crate::import::plan::{Plan, yaml_file};
use crate::import::text::{
    env_prefix, env_template, file_field, ident, literal, one_line, snake, var_template,
};

/// How deep folders may nest.
const MAX_DEPTH: usize = 32;

/// The outcome of an import, for the summary.
#[derive(Debug, Default)]
pub struct Summary {
    pub requests: usize,
    pub folders: usize,
    pub profiles: usize,
    pub scripts: Vec<String>,
}

/// A request file with its `expect:` block (`jsonpath` included).
#[derive(Serialize)]
struct WithExpect<'a> {
    #[serde(flatten)]
    req: &'a RequestOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    expect: Option<Expect>,
}

#[derive(Serialize)]
struct Expect {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    status: Vec<u16>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    jsonpath: IndexMap<String, Value>,
}

/// The walk through the tree, and what it has made so far.
struct Walk<'a> {
    d: &'a dyn Dialect,
    prefix: String,
    plan: Plan,
    summary: Summary,
    /// The profiles' auth: the collection's, else the first request's.
    auth: Option<(Auth, AuthOut)>,
    /// How many URLs start with each variable (`true`) or origin (`false`).
    starts: IndexMap<(bool, String), usize>,
}

/// The plan of files for `c`.
pub fn plan(c: &Collection, d: &dyn Dialect) -> Result<(Plan, Summary), Error> {
    let prefix = env_prefix(&c.name);
    let mut w = Walk {
        d,
        prefix: prefix.clone(),
        plan: Plan::default(),
        summary: Summary::default(),
        auth: None,
        starts: IndexMap::new(),
    };
    let mut top = Vec::new();
    if let Some(a) = w.profile_auth(&c.auth, &mut top) {
        w.auth = Some((c.auth.clone(), a));
    }
    for (place, kind, code) in &c.scripts {
        top.extend(w.script(place, kind, code));
    }
    w.items(&c.items, Path::new("requests"), "", 0);
    w.plan.skipped.extend(c.skipped.iter().cloned());
    let mut envs: Vec<&Env> = c.envs.iter().collect();
    let default = Env {
        name: "default".to_string(),
        ..Env::default()
    };
    if envs.is_empty() {
        envs.push(&default);
    }
    for e in envs {
        let mut comments = top.clone();
        let profile = w.profile(c, e, &mut comments);
        let name = Some(snake(&e.name))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "env".to_string());
        let text = yaml_file(&comments, &profile)?;
        w.plan.add(
            PathBuf::from(format!("profiles/{name}.yaml")),
            text.into_bytes(),
        );
        w.summary.profiles += 1;
    }
    Ok((w.plan, w.summary))
}

impl Walk<'_> {
    fn items(&mut self, items: &[Item], dir: &Path, place: &str, depth: usize) {
        if depth > MAX_DEPTH {
            self.plan
                .skipped
                .push(format!("{place}: folders nested too deep"));
            return;
        }
        for item in items {
            let name = match item {
                Item::Folder { name, .. } => name,
                Item::Request(r) => &r.name,
            };
            let here = if place.is_empty() {
                one_line(name, 120)
            } else {
                format!("{place}/{}", one_line(name, 120))
            };
            let file = Some(snake(name))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "request".to_string());
            match item {
                Item::Folder { items, .. } => {
                    self.summary.folders += 1;
                    self.items(items, &dir.join(&file), &here, depth + 1);
                }
                Item::Request(r) => match self.request(r, &here) {
                    Ok(text) => {
                        self.plan
                            .add(dir.join(format!("{file}.yaml")), text.into_bytes());
                        self.summary.requests += 1;
                    }
                    Err(why) => self.plan.skipped.push(format!("{here}: {why}")),
                },
            }
        }
    }

    /// A script, never run: a line in the summary and comment lines.
    fn script(&mut self, place: &str, kind: &str, code: &str) -> Vec<String> {
        let lines: Vec<&str> = code.lines().filter(|l| !l.trim().is_empty()).collect();
        if lines.is_empty() {
            return Vec::new();
        }
        self.summary.scripts.push(format!(
            "{place}: {kind} script ({} line{}), not run",
            lines.len(),
            if lines.len() == 1 { "" } else { "s" }
        ));
        let mut out = vec![format!("{kind} script (not run):")];
        out.extend(lines.iter().map(|l| format!("  {}", one_line(l, 500))));
        out
    }

    /// One request file's text.
    fn request(&mut self, r: &Req, place: &str) -> Result<String, String> {
        let method = r.method.to_ascii_uppercase();
        if crate::http::header::name_problem(&method).is_some() {
            return Err(format!("method `{}` is not a token", one_line(&method, 40)));
        }
        let notes = RefCell::new(r.notes.clone());
        let mut req = RequestOut {
            method,
            description: r.description.as_deref().map(|d| one_line(d, 200)),
            ..RequestOut::default()
        };
        req.description.take_if(|d| d.is_empty());
        self.url(r, &mut req, &notes);
        self.headers(r, &mut req, &notes);
        req.body = self.body(&r.body, &mut req, &notes);
        match &r.auth {
            Auth::Inherit => {}
            Auth::None => req.auth = Some("none"),
            a => {
                let mut n = notes.borrow_mut();
                match self.profile_auth(a, &mut n) {
                    Some(out) if self.auth.is_none() => {
                        self.auth = Some((a.clone(), out));
                        n.push("its auth is the profile's".to_string());
                    }
                    Some(out) if self.auth.as_ref().is_some_and(|(k, _)| k != a) => n.push(
                        format!("auth `{}` of its own: the profile's is used", out.kind),
                    ),
                    _ => {}
                }
            }
        }
        let mut comments = Vec::new();
        for (kind, code) in &r.scripts {
            comments.extend(self.script(place, kind, code));
        }
        comments.extend(notes.into_inner());
        let expect = (!r.expect_status.is_empty() || !r.jsonpath.is_empty()).then(|| Expect {
            status: r.expect_status.clone(),
            jsonpath: r.jsonpath.iter().cloned().collect(),
        });
        yaml_file(&comments, &WithExpect { req: &req, expect }).map_err(|e| e.to_string())
    }

    fn text(&self, s: &str, notes: &RefCell<Vec<String>>) -> Literal {
        self.d.template(s, &mut notes.borrow_mut())
    }

    /// The URL (path parameters put in), its query as `query:`.
    fn url(&mut self, r: &Req, req: &mut RequestOut, notes: &RefCell<Vec<String>>) {
        let (path, url_query) = match r.url.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (r.url.as_str(), None),
        };
        let path = path.split('#').next().unwrap_or_default();
        let mut out = Literal::default();
        for (i, seg) in path.split('/').enumerate() {
            if i > 0 {
                out.push_text("/");
            }
            let param = seg
                .strip_prefix(':')
                .and_then(|n| r.path_params.iter().find(|(k, _)| k == n));
            match (param, seg.strip_prefix(':')) {
                (Some((_, v)), _) => out.push(&self.text(v, notes)),
                (None, Some(n)) if !n.is_empty() && i > 2 => out.push(&var_template(&ident(n))),
                _ => out.push(&self.text(seg, notes)),
            }
        }
        self.count_start(&out);
        req.url = out;
        let mut pairs: Vec<(String, String)> = Vec::new();
        if r.query.is_empty() {
            for pair in url_query.iter().flat_map(|q| q.split('&')) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                if !k.is_empty() {
                    pairs.push((k.to_string(), v.to_string()));
                }
            }
        } else {
            pairs.clone_from(&r.query);
        }
        for (k, v) in pairs {
            let value = if is_secret_name(&k) && !v.contains("{{") && !v.is_empty() {
                let env = format!("{}_{}", self.prefix, ident(&k).to_ascii_uppercase());
                notes
                    .borrow_mut()
                    .push(format!("query {k}: a credential, read from {env}"));
                env_template(&env, None)
            } else {
                self.text(&v, notes)
            };
            let value = LiteralValue::from(value);
            match req.query.shift_remove(&k) {
                Some(prev) => {
                    let mut items = prev.into_items();
                    items.push(value);
                    req.query.insert(k, LiteralValue::list(items));
                }
                None => {
                    req.query.insert(k, value);
                }
            }
        }
    }

    fn count_start(&mut self, url: &Literal) {
        let s = url.as_str();
        let key = if let Some(rest) = s.strip_prefix("{{ ") {
            match rest.split_once(" }}") {
                Some((v, _)) if v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                    (true, v.to_string())
                }
                _ => return,
            }
        } else if let Ok(u) = url::Url::parse(s) {
            (false, u.origin().ascii_serialization())
        } else {
            return;
        };
        *self.starts.entry(key).or_default() += 1;
    }

    fn headers(&mut self, r: &Req, req: &mut RequestOut, notes: &RefCell<Vec<String>>) {
        for (k, v) in &r.headers {
            if crate::http::header::name_problem(k).is_some() {
                notes
                    .borrow_mut()
                    .push(format!("header `{}`: not a valid name", one_line(k, 100)));
                continue;
            }
            if k.eq_ignore_ascii_case("authorization") {
                let prefix = self.prefix.clone();
                let a = auth_from_authorization(v, &prefix, &mut |s| self.text(s, notes));
                let note = match (a, &self.auth) {
                    (Some(a), None) => {
                        self.auth = Some((Auth::Other("header".into()), a));
                        "the Authorization header is the profile's auth"
                    }
                    (Some(_), Some(_)) => "the Authorization header: the profile's auth is used",
                    (None, _) => {
                        "an Authorization header of a scheme runner does not send was left out"
                    }
                };
                notes.borrow_mut().push(note.to_string());
                continue;
            }
            let value = if is_secret_name(k) && !v.contains("{{") && !v.is_empty() {
                let env = format!("{}_{}", self.prefix, ident(k).to_ascii_uppercase());
                notes
                    .borrow_mut()
                    .push(format!("header {k}: a credential, read from {env}"));
                env_template(&env, None)
            } else {
                self.text(v, notes)
            };
            req.headers.insert(k.clone(), value);
        }
    }

    fn body(
        &mut self,
        b: &Body,
        req: &mut RequestOut,
        notes: &RefCell<Vec<String>>,
    ) -> Option<BodyOut> {
        let d = self.d;
        let with = |v: &Value| LiteralValue::with(v, &|s| d.template(s, &mut notes.borrow_mut()));
        let content_type = |req: &mut RequestOut, ct: &str| {
            if !req
                .headers
                .keys()
                .any(|k| k.eq_ignore_ascii_case("content-type"))
            {
                req.headers.insert("Content-Type".to_string(), literal(ct));
            }
        };
        Some(match b {
            Body::None => return None,
            Body::Json(t) => match serde_json::from_str::<Value>(t) {
                Ok(v) => BodyOut::Json(with(&v)),
                Err(_) if t.trim().is_empty() => return None,
                Err(_) => {
                    content_type(req, "application/json");
                    BodyOut::Text(self.text(t, notes))
                }
            },
            Body::Text(t, ct) => {
                if let Some(ct) = ct {
                    content_type(req, ct);
                }
                BodyOut::Text(self.text(t, notes))
            }
            Body::Form(pairs) => self.form(pairs, notes),
            Body::Multipart(parts) => {
                req.headers
                    .retain(|k, _| !k.eq_ignore_ascii_case("content-type"));
                self.multipart(parts, notes)
            }
            Body::Graphql { query, variables } => {
                let vars = if variables.trim().is_empty() {
                    Value::Null
                } else {
                    serde_json::from_str::<Value>(variables).unwrap_or_else(|_| {
                        notes
                            .borrow_mut()
                            .push("the GraphQL variables are not JSON: sent as null".to_string());
                        Value::Null
                    })
                };
                BodyOut::Json(with(
                    &serde_json::json!({"query": query, "variables": vars}),
                ))
            }
            Body::File(path) => BodyOut::File(self.file(path, "file_path", notes)),
        })
    }

    /// Form fields; a name given twice is a list.
    fn form(&self, pairs: &[(String, String)], notes: &RefCell<Vec<String>>) -> BodyOut {
        let mut m: IndexMap<String, LiteralValue> = IndexMap::new();
        for (k, v) in pairs {
            let value = LiteralValue::from(self.text(v, notes));
            match m.shift_remove(k) {
                Some(prev) => {
                    let mut items = prev.into_items();
                    items.push(value);
                    m.insert(k.clone(), LiteralValue::list(items));
                }
                None => {
                    m.insert(k.clone(), value);
                }
            }
        }
        BodyOut::Form(m)
    }

    fn multipart(&mut self, parts: &[(String, Part)], notes: &RefCell<Vec<String>>) -> BodyOut {
        let mut m = IndexMap::new();
        for (k, p) in parts {
            let part = match p {
                Part::Text(v) => MultipartOut::Value(self.text(v, notes)),
                Part::File(path) => MultipartOut::File {
                    file: self.file(path, &format!("{}_file", ident(k)), notes),
                },
            };
            m.insert(k.clone(), part);
        }
        BodyOut::Multipart(m)
    }

    /// A file path from the source: as written inside the project, a variable when
    /// it leaves it (never read by the import).
    fn file(&mut self, path: &str, var: &str, notes: &RefCell<Vec<String>>) -> Literal {
        file_field(path, var, &mut notes.borrow_mut(), &mut self.plan.skipped)
    }

    /// The profile's auth for an auth mode; `None` (with a comment) for one runner
    /// does not send.
    fn profile_auth(&mut self, a: &Auth, comments: &mut Vec<String>) -> Option<AuthOut> {
        let p = &self.prefix;
        let d = self.d;
        // A variable the source names, else an `env()` template of our own.
        let var_or_env = |r: &Option<String>, s: &str| match r {
            Some(r) => d.template(r, &mut Vec::new()),
            None => env_template(&format!("{p}_{s}"), None),
        };
        let env = |s: &str| env_template(&format!("{p}_{s}"), None);
        let mut out = AuthOut::default();
        match a {
            Auth::Inherit | Auth::None => return None,
            Auth::Bearer(token) => {
                out.kind = "bearer";
                out.token = Some(var_or_env(token, "TOKEN"));
            }
            Auth::Basic(password) => {
                out.kind = "basic";
                out.username = Some(env("USERNAME"));
                out.password = Some(var_or_env(password, "PASSWORD"));
            }
            Auth::ApiKey { name, query, value } => {
                out.kind = "api_key";
                out.key = Some(var_or_env(value, "API_KEY"));
                out.name = Some(name.clone()).filter(|n| !n.is_empty());
                out.name.get_or_insert_with(|| "X-Api-Key".to_string());
                out.key_in = Some(if *query { "query" } else { "header" });
            }
            Auth::OAuth2(o) => return self.oauth2(o, comments),
            Auth::Other(mode) => {
                comments.push(format!(
                    "auth mode `{}`: runner does not send it (set the profile's auth yourself)",
                    one_line(mode, 40)
                ));
                self.plan.skipped.push(format!(
                    "auth mode `{}`: runner does not send it",
                    one_line(mode, 40)
                ));
                return None;
            }
        }
        Some(out)
    }

    fn oauth2(&mut self, o: &OAuth2, comments: &mut Vec<String>) -> Option<AuthOut> {
        let p = self.prefix.clone();
        let env = |s: &str| env_template(&format!("{p}_{s}"), None);
        let optional = |s: &str| env_template(&format!("{p}_{s}"), Some(""));
        let mut notes = Vec::new();
        let mut url =
            |s: &str| (!s.trim().is_empty()).then(|| self.d.template(s.trim(), &mut notes));
        let mut out = AuthOut {
            client_id: Some(env("CLIENT_ID")),
            token_url: url(&o.token_url),
            scopes: o.scope.split_whitespace().map(str::to_string).collect(),
            ..AuthOut::default()
        };
        match o.grant.as_str() {
            "client_credentials" => {
                out.kind = "oauth2_client_credentials";
                out.client_secret = Some(env("CLIENT_SECRET"));
            }
            "password" | "resource_owner_password_credentials" => {
                out.kind = "oauth2_password";
                out.client_secret = Some(optional("CLIENT_SECRET"));
                out.username = Some(env("USERNAME"));
                out.password = Some(optional("PASSWORD"));
            }
            grant => {
                out.kind = "oauth2_authorization_code";
                out.authorization_url = url(&o.authorization_url);
                out.client_secret = Some(optional("CLIENT_SECRET"));
                if grant == "implicit" {
                    comments.push(
                        "the implicit grant is obsolete (RFC 9700): the code flow is used".into(),
                    );
                }
                if out.authorization_url.is_none() {
                    out.authorization_url = Some(env("AUTHORIZATION_URL"));
                }
            }
        }
        if out.token_url.is_none() {
            out.token_url = Some(env("TOKEN_URL"));
        }
        comments.extend(notes);
        Some(out)
    }

    /// One profile: the collection's vars under the environment's, secrets as
    /// `env()` templates, the base URL, the auth.
    fn profile(
        &self,
        c: &Collection,
        e: &Env,
        comments: &mut Vec<String>,
    ) -> crate::import::mirror::ProfileOut {
        let env_part = snake(&e.name).to_ascii_uppercase();
        let mut vars = IndexMap::new();
        let mut layered: IndexMap<&str, (&Value, bool)> = IndexMap::new();
        for (k, v) in &c.vars {
            layered.insert(k, (v, false));
        }
        for (k, v) in &e.vars {
            layered.insert(k, (v, e.secret.contains(k)));
        }
        for k in &e.secret {
            layered.entry(k).or_insert((&Value::Null, true));
        }
        for (k, (v, secret)) in layered {
            let var = ident(k);
            let looks = is_secret_name(k)
                && v.as_str()
                    .is_some_and(|s| !s.is_empty() && !is_reference(s));
            let value = if secret || looks {
                let name = format!("{}_{env_part}_{}", self.prefix, var.to_ascii_uppercase());
                let why = if secret {
                    "a secret in the source"
                } else {
                    "its name says it is a secret"
                };
                comments.push(format!("vars.{var}: {why}, read from {name}"));
                LiteralValue::from(env_template(&name, None))
            } else {
                match v {
                    Value::String(s) => {
                        let mut notes = Vec::new();
                        let l = self.d.template(s, &mut notes);
                        comments.extend(notes.into_iter().map(|n| format!("vars.{var}: {n}")));
                        LiteralValue::from(l)
                    }
                    other => LiteralValue::of(other),
                }
            };
            vars.insert(var, value);
        }
        let base_url = match self.starts.iter().max_by_key(|(_, n)| **n) {
            Some(((true, v), _)) => var_template(v),
            Some(((false, o), _)) if o != "null" => literal(o),
            _ => {
                comments.push(format!(
                    "the requests name no common base URL: set {}_BASE_URL",
                    self.prefix
                ));
                env_template(
                    &format!("{}_BASE_URL", self.prefix),
                    Some("http://localhost"),
                )
            }
        };
        crate::import::mirror::ProfileOut {
            description: Some(one_line(
                &format!("{}: environment {}", c.name, e.name),
                200,
            )),
            base_url,
            vars,
            auth: self.auth.as_ref().map(|(_, a)| a.clone()),
        }
    }
}
