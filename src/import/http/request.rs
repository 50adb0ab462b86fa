//! One `.http` request as a request file: the URL (a `Host` header makes a path
//! absolute), headers (`Authorization` becomes the profile's auth, other credentials
//! `env()` templates), the body (text as written, `< file` copied into the project,
//! multipart parts), and the scripts and notes as comments.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::Base;
use super::parse::{HttpFile, HttpRequest};
use super::template::Conv;
use crate::import::credential::{auth_from_authorization, is_secret_name};
use crate::import::input::read_file;
use crate::import::mirror::{AuthOut, BodyOut, Literal, MultipartOut, RequestOut};
use crate::import::plan::{Plan, yaml_file};
use crate::import::text::{env_template, file_field, ident, leaves_project, one_line, snake};

/// The walk through the files, and what it has made so far.
pub(super) struct Builder {
    prefix: String,
    pub(super) plan: Plan,
    pub(super) requests: usize,
    pub(super) scripts: Vec<String>,
    pub(super) skipped: Vec<String>,
    /// The first `Authorization` header's auth: the profiles'.
    pub(super) auth: Option<AuthOut>,
    /// How many URLs start with each variable, and with each origin.
    starts: IndexMap<(bool, String), usize>,
    copied: HashSet<PathBuf>,
}

/// Where one request is read from and written to.
struct Place<'a> {
    src_dir: &'a Path,
    dir: &'a Path,
    /// `file.http:12 name`, for messages.
    shown: String,
}

impl Builder {
    pub(super) fn new(prefix: String) -> Builder {
        Builder {
            prefix,
            plan: Plan::default(),
            requests: 0,
            scripts: Vec::new(),
            skipped: Vec::new(),
            auth: None,
            starts: IndexMap::new(),
            copied: HashSet::new(),
        }
    }

    /// Adds a request file for each request of `f` (read from `path`, found at `rel`).
    pub(super) fn file(
        &mut self,
        path: &Path,
        rel: &Path,
        f: &HttpFile,
        inline: &HashMap<String, String>,
    ) {
        let mut dir = PathBuf::from("requests");
        for c in rel.with_extension("").components() {
            let s = snake(&c.as_os_str().to_string_lossy());
            dir.push(if s.is_empty() { "http".to_string() } else { s });
        }
        let src_dir = path.parent().unwrap_or(Path::new("."));
        for r in &f.requests {
            let place = Place {
                src_dir,
                dir: &dir,
                shown: format!(
                    "{}:{} {}",
                    rel.display(),
                    r.line,
                    one_line(r.name.as_deref().unwrap_or(&r.url), 80)
                ),
            };
            let mut conv = Conv {
                inline: inline.clone(),
                ..Conv::default()
            };
            match self.request(r, &place, &mut conv) {
                Ok((req, comments)) => {
                    let text = match yaml_file(&comments, &req) {
                        Ok(t) => t,
                        Err(e) => {
                            self.skipped.push(format!("{}: {e}", place.shown));
                            continue;
                        }
                    };
                    self.plan.add(
                        dir.join(format!("{}.yaml", file_name(r))),
                        text.into_bytes(),
                    );
                    self.requests += 1;
                }
                Err(why) => self.skipped.push(format!("{}: {why}", place.shown)),
            }
        }
    }

    /// One request file, and its comments.
    fn request(
        &mut self,
        r: &HttpRequest,
        place: &Place,
        conv: &mut Conv,
    ) -> Result<(RequestOut, Vec<String>), String> {
        if crate::http::header::name_problem(&r.method).is_some() {
            return Err(format!(
                "method `{}` is not a token",
                one_line(&r.method, 40)
            ));
        }
        let mut req = RequestOut {
            method: r.method.clone(),
            ..RequestOut::default()
        };
        let mut comments: Vec<String> = r.notes.clone();
        let host = r
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("host"))
            .map(|(_, v)| v.clone());
        let url = match &host {
            Some(h) if r.url.starts_with('/') => format!("http://{h}{}", r.url),
            _ => r.url.clone(),
        };
        self.count_start(&url);
        req.url = self.url(&url, conv, &mut comments);
        let multipart = self.headers(r, &mut req, conv, &mut comments, host.is_some());
        if let Some(lines) = &r.body {
            req.body = self.body(lines, multipart.as_deref(), place, conv, &mut comments);
            if matches!(req.body, Some(BodyOut::Multipart(_))) {
                req.headers
                    .retain(|k, _| !k.eq_ignore_ascii_case("content-type"));
            }
        }
        for (kind, text) in &r.scripts {
            let lines = text.lines().filter(|l| !l.trim().is_empty()).count();
            self.scripts.push(format!(
                "{}: {kind} script ({lines} line{}), not run",
                place.shown,
                if lines == 1 { "" } else { "s" }
            ));
            comments.push(format!("{kind} script (not run):"));
            comments.extend(
                text.lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| format!("  {}", l.trim_end())),
            );
        }
        comments.append(&mut conv.notes);
        Ok((req, comments))
    }

    /// The request's headers; returns the multipart boundary when the body is one.
    fn headers(
        &mut self,
        r: &HttpRequest,
        req: &mut RequestOut,
        conv: &mut Conv,
        comments: &mut Vec<String>,
        host_used: bool,
    ) -> Option<String> {
        let mut boundary = None;
        for (k, v) in &r.headers {
            if k.eq_ignore_ascii_case("host") && host_used {
                continue;
            }
            if crate::http::header::name_problem(k).is_some() {
                comments.push(format!("header `{}`: not a valid name", one_line(k, 100)));
                continue;
            }
            if k.eq_ignore_ascii_case("authorization") {
                comments.push(self.authorization(v, conv));
                continue;
            }
            if k.eq_ignore_ascii_case("content-type") {
                let l = v.to_ascii_lowercase();
                if l.starts_with("multipart/form-data")
                    && let Some(i) = l.find("boundary=")
                {
                    boundary = Some(v[i + 9..].trim_matches(['"', ' ']).to_string());
                }
            }
            let value = if is_secret_name(k) && !v.contains("{{") {
                let env = format!("{}_{}", self.prefix, ident(k).to_ascii_uppercase());
                comments.push(format!("header {k}: a credential, read from {env}"));
                env_template(&env, None)
            } else {
                conv.template(v)
            };
            req.headers.insert(k.clone(), value);
        }
        boundary
    }

    /// An `Authorization` header: the profiles' auth (the first one found). Returns
    /// the comment to keep.
    fn authorization(&mut self, value: &str, conv: &mut Conv) -> String {
        if value.contains("{{$auth.") {
            return "the Authorization header is the profile's auth (Security.Auth)".to_string();
        }
        let auth = auth_from_authorization(value, &self.prefix, &mut |s| conv.template(s));
        match (auth, &self.auth) {
            (Some(a), None) => {
                self.auth = Some(a);
                "the Authorization header is the profile's auth".to_string()
            }
            (Some(_), Some(_)) => {
                "the Authorization header: the profile's auth is used".to_string()
            }
            (None, _) => {
                "an Authorization header of a scheme runner does not send was left out".to_string()
            }
        }
    }

    /// The URL as a template; a query value whose name says it is a credential is
    /// read from the environment, never written.
    fn url(&self, url: &str, conv: &mut Conv, comments: &mut Vec<String>) -> Literal {
        let Some((path, query)) = url.split_once('?') else {
            return conv.template(url);
        };
        let mut out = conv.template(path);
        for (i, pair) in query.split('&').enumerate() {
            out.push_text(if i == 0 { "?" } else { "&" });
            match pair.split_once('=') {
                Some((k, v)) if is_secret_name(k) && !v.contains("{{") => {
                    let env = format!("{}_{}", self.prefix, ident(k).to_ascii_uppercase());
                    comments.push(format!("query {k}: a credential, read from {env}"));
                    out.push(&conv.template(k));
                    out.push_text("=");
                    out.push(&env_template(&env, None));
                }
                _ => out.push(&conv.template(pair)),
            }
        }
        out
    }

    fn count_start(&mut self, url: &str) {
        let key = if let Some(rest) = url.strip_prefix("{{") {
            match rest.split_once("}}") {
                Some((v, _)) if !v.trim().starts_with('$') => (true, ident(v.trim())),
                _ => return,
            }
        } else if let Ok(u) = url::Url::parse(url) {
            (false, u.origin().ascii_serialization())
        } else {
            return;
        };
        *self.starts.entry(key).or_default() += 1;
    }

    /// The base URL the profiles take.
    pub(super) fn base_url(&self) -> Base {
        match self.starts.iter().max_by_key(|(_, n)| **n) {
            Some(((true, v), _)) => Base::Var(v.clone()),
            Some(((false, o), _)) if o != "null" => Base::Origin(o.clone()),
            _ => Base::None,
        }
    }

    fn body(
        &mut self,
        lines: &[String],
        boundary: Option<&str>,
        place: &Place,
        conv: &mut Conv,
        comments: &mut Vec<String>,
    ) -> Option<BodyOut> {
        if let [only] = lines
            && let Some(path) = file_reference(only)
        {
            return Some(BodyOut::File(self.file_ref(path, place, comments)));
        }
        if let Some(b) = boundary
            && let Some(parts) = self.multipart(lines, b, place, conv, comments)
        {
            return Some(BodyOut::Multipart(parts));
        }
        if lines.iter().any(|l| file_reference(l).is_some()) {
            comments.push("a `< file` line inside the body is sent as text".to_string());
        }
        Some(BodyOut::Text(conv.template(&lines.join("\n"))))
    }

    /// A file the source names: copied next to the request file when it is inside
    /// the source's folder, a variable when it leaves it.
    fn file_ref(&mut self, path: &str, place: &Place, comments: &mut Vec<String>) -> Literal {
        if leaves_project(path) {
            return file_field(path, "file_path", comments, &mut self.skipped);
        }
        let clean = path.trim_start_matches("./");
        let dest = place.dir.join(clean);
        let full = place.src_dir.join(clean);
        if !self.copied.contains(&dest) {
            match read_file(&full, &format!("the file {}", full.display())) {
                Ok(bytes) => {
                    self.plan.add(dest.clone(), bytes);
                    self.copied.insert(dest);
                }
                Err(e) => self.skipped.push(format!(
                    "{}: {e}: copy it to {} yourself",
                    place.shown,
                    dest.display()
                )),
            }
        }
        Literal::text(clean)
    }

    /// A multipart body's parts, `None` when the boundary never starts one.
    fn multipart(
        &mut self,
        lines: &[String],
        boundary: &str,
        place: &Place,
        conv: &mut Conv,
        comments: &mut Vec<String>,
    ) -> Option<IndexMap<String, MultipartOut>> {
        let start = format!("--{boundary}");
        let mut parts = IndexMap::new();
        let mut groups: Vec<Vec<&str>> = Vec::new();
        for l in lines {
            let t = l.trim_end();
            if t == start || t == format!("{start}--") {
                groups.push(Vec::new());
            } else if let Some(g) = groups.last_mut() {
                g.push(l);
            }
        }
        for g in groups.iter().filter(|g| !g.is_empty()) {
            let blank = g
                .iter()
                .position(|l| l.trim().is_empty())
                .unwrap_or(g.len());
            let disposition = g[..blank]
                .iter()
                .find(|l| l.to_ascii_lowercase().starts_with("content-disposition"))
                .copied()
                .unwrap_or_default();
            let Some(name) = param(disposition, "name") else {
                comments.push("a multipart part without a name was left out".to_string());
                continue;
            };
            let mut content: Vec<&str> = g.get(blank + 1..).unwrap_or_default().to_vec();
            if content.last().is_some_and(|l| l.trim().is_empty()) {
                content.pop();
            }
            let part = match content.as_slice() {
                [only] if file_reference(only).is_some() => MultipartOut::File {
                    file: self.file_ref(file_reference(only).unwrap_or_default(), place, comments),
                },
                _ => MultipartOut::Value(conv.template(&content.join("\n"))),
            };
            parts.insert(name, part);
        }
        (!parts.is_empty()).then_some(parts)
    }
}

/// `< path` or `<@ path`: the path.
fn file_reference(line: &str) -> Option<&str> {
    let t = line.trim();
    let rest = t.strip_prefix("<@").or_else(|| t.strip_prefix('<'))?;
    let rest = rest.trim();
    (!rest.is_empty() && !rest.starts_with(['{', '>'])).then_some(rest)
}

/// `name="value"` (or unquoted) in a header's parameters.
fn param(header: &str, key: &str) -> Option<String> {
    header.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case(key)).then(|| v.trim().trim_matches('"').to_string())
    })
}

/// The request file's name: `# @name`, the separator's text, else the method and
/// the last path segment.
fn file_name(r: &HttpRequest) -> String {
    if let Some(n) = r.name.as_deref().map(snake).filter(|s| !s.is_empty()) {
        return n;
    }
    let path = r.url.split(['?', '#']).next().unwrap_or_default();
    let last = path
        .rsplit('/')
        .find(|s| !s.is_empty() && !s.contains("{{") && !s.contains(':'))
        .unwrap_or_default();
    let s = snake(&format!("{} {last}", r.method));
    if s.is_empty() {
        "request".to_string()
    } else {
        s
    }
}
