//! Finding the project root and loading its files: profiles, request files, flows.
//!
//! Loading parses the YAML (serde-saphyr, unknown keys denied) and validates what can
//! be validated without sending anything: body kinds, methods, JSONPath syntax and
//! template syntax. `runner check` and `runner exec` share this code path.

pub mod check;
pub mod limits;
pub mod model;
pub mod place;
pub mod schema;
pub mod template;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;

use self::limits::Range;
use crate::error::{InputError, Place};
use crate::expect::assert::{self, Assertion, Expectations, Subject};
use crate::expect::extract;
use crate::http::header;
use crate::project::model::flow::FlowFile;
use crate::project::model::profile::{AuthConfig, HttpConfig, Profile};
use crate::project::model::request::{Expect, RequestFile, SchemaRef};
use crate::project::model::{Number, Spanned};
use crate::project::template::{Origin, Renderer};

/// Events that aliases may replay in one file (the library's default is 1,000,000).
const MAX_ALIAS_REPLAY: usize = 20_000;

/// A file's path (as the user should see it) and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

impl SourceFile {
    /// Reads `path` as UTF-8 (at most [`limits::YAML_FILE`]), naming the place of the
    /// first invalid byte.
    pub fn read(path: &Path) -> Result<SourceFile, InputError> {
        let shown = display_path(path);
        let bytes = limits::read(path, limits::YAML_FILE)
            .map_err(|e| InputError::at(Place::file(&shown), e.describe("file")))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let good = String::from_utf8_lossy(good);
            let line = good.matches('\n').count() as u32 + 1;
            let column = good.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
            InputError::at(Place::new(&shown, line, column), "file is not valid UTF-8")
        })?;
        Ok(SourceFile { path: shown, text })
    }

    pub fn place<T>(&self, s: &Spanned<T>) -> Place {
        Place::new(
            &self.path,
            s.referenced.line() as u32,
            s.referenced.column() as u32,
        )
    }

    pub fn origin<T>(&self, s: &Spanned<T>) -> Origin<'_> {
        Origin {
            path: &self.path,
            source: &self.text,
            line: s.referenced.line() as u32,
            column: s.referenced.column() as u32,
        }
    }

    /// The directory relative paths in this file resolve against.
    pub fn dir(&self) -> &Path {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        }
    }
}

/// `path` relative to the current directory when it lies below it.
pub fn display_path(path: &Path) -> PathBuf {
    if path.is_absolute()
        && let Ok(cwd) = std::env::current_dir()
        && let Ok(rel) = path.strip_prefix(&cwd)
    {
        return rel.to_path_buf();
    }
    path.to_path_buf()
}

/// Parses YAML text into `T`, with serde-saphyr's limits on and unknown keys denied.
pub fn parse_yaml<T: DeserializeOwned>(src: &SourceFile) -> Result<T, InputError> {
    // Configuration files never need what aliases can expand to: the library's
    // default replay budget let a fuzzed file take seconds before it was refused.
    let options = serde_saphyr::options! {
        with_snippet: false,
        alias_limits: serde_saphyr::alias_limits! { max_total_replayed_events: MAX_ALIAS_REPLAY },
    };
    serde_saphyr::from_str_with_options(&src.text, options).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line() as u32, l.column() as u32))
            .unwrap_or((0, 0));
        let message = yaml_message(&e.to_string());
        InputError::at(Place::new(&src.path, line, column), message)
    })
}

/// serde-saphyr's message without the location it appends (we print our own).
fn yaml_message(raw: &str) -> String {
    let first = raw.lines().next().unwrap_or(raw).trim();
    let cut = first
        .find(" at line ")
        .map(|i| &first[..i])
        .unwrap_or(first);
    // Hints addressed to programmers using the library, not to our users.
    let cut = cut.split(", set DuplicateKeyPolicy").next().unwrap_or(cut);
    let cut = cut.split("; use ").next().unwrap_or(cut);
    let plain = match cut {
        "expected mapping start" => "expected a mapping (key: value pairs)",
        "expected sequence start" => "expected a list",
        "invalid floating point" => "expected a number",
        "invalid u32" => "expected a whole number from 0 to 4294967295",
        "unexpected end of input" => "unexpected end of input (is the file empty?)",
        "cannot deserialize null into string" => "expected a string, found null",
        "multiple YAML documents detected" => "a file holds one YAML document; found several (---)",
        other if other.starts_with("alias replay limit exceeded") => {
            return format!(
                "the YAML expands too much through aliases (more than {MAX_ALIAS_REPLAY} replayed events)"
            );
        }
        other if other.starts_with("non-finite float") => {
            return other.replace(
                " rejected by the configured policy",
                " is not allowed here: expected a finite number",
            );
        }
        other if other.starts_with("budget breached") => {
            return format!(
                "the YAML is too large or expands too much through aliases ({})",
                other.trim_start_matches("budget breached: ")
            );
        }
        other => other,
    };
    plain.trim_end_matches(':').to_string()
}

/// The project: the nearest folder, from the current directory up, holding `profiles/`.
#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
}

impl Project {
    /// Uses `explicit` (from `--root` or `RUNNER_ROOT`) or searches upwards.
    pub fn discover(explicit: Option<&Path>) -> Result<Project, InputError> {
        if let Some(root) = explicit {
            if !root.join("profiles").is_dir() {
                return Err(InputError::usage(format!(
                    "--root {}: no profiles/ folder there",
                    root.display()
                )));
            }
            return Ok(Project {
                root: root.to_path_buf(),
            });
        }
        let cwd = std::env::current_dir()
            .map_err(|e| InputError::usage(format!("cannot read the current directory: {e}")))?;
        let mut dir: Option<&Path> = Some(&cwd);
        while let Some(d) = dir {
            if d.join("profiles").is_dir() {
                return Ok(Project {
                    root: d.to_path_buf(),
                });
            }
            dir = d.parent();
        }
        Err(InputError::usage(format!(
            "no project found: no profiles/ folder in {} or above (use --root DIR or RUNNER_ROOT)",
            cwd.display()
        )))
    }

    pub fn profiles_dir(&self) -> PathBuf {
        self.root.join("profiles")
    }

    /// The path of profile `name` (`.yaml`, else `.yml`).
    pub fn profile_path(&self, name: &str) -> Result<PathBuf, InputError> {
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(InputError::usage(format!("invalid profile name `{name}`")));
        }
        let dir = self.profiles_dir();
        for ext in ["yaml", "yml"] {
            let p = dir.join(format!("{name}.{ext}"));
            if p.is_file() {
                return Ok(p);
            }
        }
        let known = self.profile_names();
        Err(InputError::usage(format!(
            "no profile `{name}` in {} (known: {})",
            display_path(&dir).display(),
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )))
    }

    /// The names of every profile, sorted.
    pub fn profile_names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.profiles_dir())
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let p = e.path();
                let ext = p.extension()?.to_str()?;
                if ext == "yaml" || ext == "yml" {
                    Some(p.file_stem()?.to_str()?.to_string())
                } else {
                    None
                }
            })
            .collect();
        names.sort();
        names.dedup();
        names
    }

    pub fn load_profile(&self, name: &str) -> Result<LoadedProfile, Vec<InputError>> {
        let path = self.profile_path(name).map_err(|e| vec![e])?;
        load_profile_file(&path)
    }
}

/// A parsed profile with its source.
#[derive(Debug)]
pub struct LoadedProfile {
    pub profile: Profile,
    pub source: SourceFile,
    /// The numbers of `http:`, range-checked.
    pub http: HttpNumbers,
    /// The numbers of `auth:`, range-checked.
    pub auth: AuthNumbers,
}

/// A profile's `auth:` numbers, checked against their ranges (`None`: not set).
#[derive(Debug, Clone, Copy, Default)]
pub struct AuthNumbers {
    pub redirect_port: Option<u16>,
    pub login_timeout: Option<Duration>,
}

impl AuthNumbers {
    fn check(a: &AuthConfig, src: &SourceFile, problems: &mut Vec<InputError>) -> AuthNumbers {
        AuthNumbers {
            redirect_port: number(
                src,
                "auth.redirect_port",
                &a.redirect_port,
                Range::count_as,
                &limits::PORT,
                problems,
            ),
            login_timeout: number(
                src,
                "auth.login_timeout",
                &a.login_timeout,
                Range::duration,
                &limits::LOGIN_TIMEOUT_SECS,
                problems,
            ),
        }
    }
}

/// A profile's `http:` numbers, checked against their ranges (`None`: not set).
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpNumbers {
    pub timeout: Option<Duration>,
    pub retries: Option<u32>,
    pub max_body: Option<u64>,
    pub max_redirects: Option<u32>,
}

impl HttpNumbers {
    fn check(h: &HttpConfig, src: &SourceFile, problems: &mut Vec<InputError>) -> HttpNumbers {
        HttpNumbers {
            timeout: number(
                src,
                "http.timeout",
                &h.timeout,
                Range::duration,
                &limits::TIMEOUT_SECS,
                problems,
            ),
            retries: number(
                src,
                "http.retries",
                &h.retries,
                Range::count_as,
                &limits::RETRIES,
                problems,
            ),
            max_body: number(
                src,
                "http.max_body",
                &h.max_body,
                Range::count,
                &limits::MAX_BODY,
                problems,
            ),
            max_redirects: number(
                src,
                "http.max_redirects",
                &h.max_redirects,
                Range::count_as,
                &limits::MAX_REDIRECTS,
                problems,
            ),
        }
    }
}

/// A request file's numbers, checked against their ranges (`None`: not set).
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestNumbers {
    pub timeout: Option<Duration>,
    pub retries: Option<u32>,
    pub max_pages: Option<u32>,
}

impl RequestNumbers {
    fn check(f: &RequestFile, src: &SourceFile, problems: &mut Vec<InputError>) -> RequestNumbers {
        RequestNumbers {
            timeout: number(
                src,
                "timeout",
                &f.timeout,
                Range::duration,
                &limits::TIMEOUT_SECS,
                problems,
            ),
            retries: number(
                src,
                "retries",
                &f.retries,
                Range::count_as,
                &limits::RETRIES,
                problems,
            ),
            max_pages: f.paginate.as_ref().and_then(|pg| {
                number(
                    src,
                    "paginate.max_pages",
                    &pg.value.max_pages,
                    Range::count_as,
                    &limits::MAX_PAGES,
                    problems,
                )
            }),
        }
    }
}

/// `n` converted by `convert` (which checks its range), or a problem at its place
/// saying what `key` allows.
fn number<T>(
    src: &SourceFile,
    key: &str,
    n: &Option<Spanned<Number>>,
    convert: impl Fn(&Range, f64) -> Result<T, String>,
    range: &Range,
    problems: &mut Vec<InputError>,
) -> Option<T> {
    let n = n.as_ref()?;
    match convert(range, n.value.0) {
        Ok(v) => Some(v),
        Err(why) => {
            problems.push(InputError::at(src.place(n), format!("{key} {why}")));
            None
        }
    }
}

/// A problem for each header whose name is not a token, or whose value has no
/// template and holds a control character (templated values are checked once
/// rendered).
fn header_problems<'a>(
    src: &SourceFile,
    headers: impl IntoIterator<Item = (&'a String, &'a Spanned<String>)>,
    problems: &mut Vec<InputError>,
) {
    for (name, value) in headers {
        let problem = if crate::project::template::has_markup(&value.value) {
            header::name_problem(name)
        } else {
            header::problem(name, &value.value)
        };
        if let Some(p) = problem {
            problems.push(InputError::at(src.place(value), p));
        }
    }
}

/// Loads and validates one profile file.
pub fn load_profile_file(path: &Path) -> Result<LoadedProfile, Vec<InputError>> {
    parse_profile(SourceFile::read(path).map_err(|e| vec![e])?)
}

/// Parses and validates a profile's text.
pub fn parse_profile(source: SourceFile) -> Result<LoadedProfile, Vec<InputError>> {
    let profile: Profile = parse_yaml(&source).map_err(|e| vec![e])?;
    let mut problems = Vec::new();
    let renderer = Renderer::shared();
    let mut check = |s: &Spanned<String>| {
        if let Err(e) = renderer.check_str(&s.value, source.origin(s)) {
            problems.push(InputError::at(e.place, e.message));
        }
    };
    if let Some(b) = &profile.base_url {
        check(b);
    }
    for v in profile.http.headers.values() {
        check(v);
    }
    if let Some(auth) = &profile.auth {
        let a = &auth.value;
        for s in [
            &a.token_url,
            &a.client_id,
            &a.client_secret,
            &a.username,
            &a.password,
            &a.token,
            &a.key,
        ]
        .into_iter()
        .flatten()
        {
            check(s);
        }
        for o in &a.origins {
            check(o);
        }
        for p in a.shape_problems(profile.sandbox) {
            problems.push(InputError::at(source.place(auth), p));
        }
    }
    for v in profile.vars.values() {
        if let Err(e) = renderer.check_value(&v.value, source.origin(v)) {
            problems.push(InputError::at(e.place, e.message));
        }
    }
    let h = &profile.http;
    let http = HttpNumbers::check(h, &source, &mut problems);
    let auth_numbers = profile
        .auth
        .as_ref()
        .map(|a| AuthNumbers::check(&a.value, &source, &mut problems))
        .unwrap_or_default();
    header_problems(&source, &h.headers, &mut problems);
    if let Some(auth) = &profile.auth {
        let a = &auth.value;
        // The auth header is `header: scheme token`; the token is checked once known.
        let name = a.header.as_deref().unwrap_or("Authorization");
        if let Some(p) = header::problem(name, a.scheme.as_deref().unwrap_or("")) {
            problems.push(InputError::at(source.place(auth), format!("auth: {p}")));
        }
        if a.kind == crate::project::model::profile::AuthType::ApiKey
            && a.key_in != Some(crate::project::model::profile::ApiKeyIn::Query)
            && let Some(key_name) = &a.name
            && let Some(p) = header::name_problem(key_name)
        {
            problems.push(InputError::at(
                source.place(auth),
                format!("auth.name: {p}"),
            ));
        }
    }
    if problems.is_empty() {
        Ok(LoadedProfile {
            profile,
            source,
            http,
            auth: auth_numbers,
        })
    } else {
        Err(problems)
    }
}

/// A loaded file: a single request or a flow.
#[derive(Debug)]
pub enum Document {
    Request(Box<PreparedRequest>),
    Flow(FlowFile, SourceFile),
}

/// Loads a request or flow file. A file whose top level has `steps:` is a flow.
pub fn load_document(path: &Path) -> Result<Document, Vec<InputError>> {
    parse_document(SourceFile::read(path).map_err(|e| vec![e])?)
}

/// Parses and validates the text of a request or flow file.
pub fn parse_document(source: SourceFile) -> Result<Document, Vec<InputError>> {
    if is_flow(&source.text) {
        let flow: FlowFile = parse_yaml(&source).map_err(|e| vec![e])?;
        let problems = validate_flow(&flow, &source);
        if !problems.is_empty() {
            return Err(problems);
        }
        return Ok(Document::Flow(flow, source));
    }
    let file: RequestFile = parse_yaml(&source).map_err(|e| vec![e])?;
    prepare_request(file, source).map(|r| Document::Request(Box::new(r)))
}

/// What can be checked in a flow without opening its steps' files: it has steps,
/// their vars are valid templates and their extract paths valid JSONPath.
fn validate_flow(flow: &FlowFile, src: &SourceFile) -> Vec<InputError> {
    let mut problems = Vec::new();
    if flow.steps.is_empty() {
        problems.push(InputError::at(
            Place::file(&src.path),
            "a flow needs at least one step",
        ));
    }
    let renderer = Renderer::shared();
    for step in &flow.steps {
        for v in step.value.vars.values() {
            if let Err(e) = renderer.check_value(&v.value, src.origin(v)) {
                problems.push(InputError::at(e.place, e.message));
            }
        }
        for p in step.value.extract.values() {
            if let Err(e) = extract::Path::parse(&p.value) {
                problems.push(InputError::at(src.place(p), e.to_string()));
            }
        }
    }
    problems
}

fn is_flow(text: &str) -> bool {
    text.lines()
        .any(|l| l.starts_with("steps:") || l.starts_with("\"steps\":"))
}

/// The compiled JSONPaths of a request's `paginate`.
#[derive(Debug)]
pub struct PaginatePaths {
    pub next_url: Option<extract::Path>,
    pub total_pages: Option<extract::Path>,
    pub items: extract::Path,
}

/// A request file whose static parts are validated and whose JSONPaths are compiled.
#[derive(Debug)]
pub struct PreparedRequest {
    pub file: RequestFile,
    pub source: SourceFile,
    pub method: reqwest::Method,
    pub extract: Vec<(String, extract::Path)>,
    /// `expect`, but `status`, compiled: predicates, duration, schema.
    pub expect: Expectations,
    pub paginate: Option<PaginatePaths>,
    pub numbers: RequestNumbers,
    /// The last URL resolved for this request: a bulk run whose URL does not change
    /// from row to row parses it once.
    pub url_cache: UrlCache,
}

/// One resolved URL, by the base and the rendered text it came from.
#[derive(Debug, Default)]
pub struct UrlCache(std::sync::Mutex<Option<(String, String, url::Url)>>);

impl UrlCache {
    /// The URL for `base` and `raw`: the cached one when both are unchanged, else
    /// `resolve()`'s (then cached).
    pub fn get_or_resolve<E>(
        &self,
        base: &str,
        raw: &str,
        resolve: impl FnOnce() -> Result<url::Url, E>,
    ) -> Result<url::Url, E> {
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((b, r, url)) = slot.as_ref()
            && b == base
            && r == raw
        {
            return Ok(url.clone());
        }
        let url = resolve()?;
        *slot = Some((base.to_string(), raw.to_string(), url.clone()));
        Ok(url)
    }
}

/// Validates `file` and compiles its JSONPaths; every problem is reported.
pub fn prepare_request(
    file: RequestFile,
    source: SourceFile,
) -> Result<PreparedRequest, Vec<InputError>> {
    let mut problems = Vec::new();
    let method = request_method(&file, &source, &mut problems);
    check_templates(&file, &source, &mut problems);

    let compile = |s: &Spanned<String>, problems: &mut Vec<InputError>| -> Option<extract::Path> {
        match extract::Path::parse(&s.value) {
            Ok(p) => Some(p),
            Err(e) => {
                problems.push(InputError::at(source.place(s), e.to_string()));
                None
            }
        }
    };
    let mut extract_paths = Vec::new();
    for (name, path) in &file.extract {
        if let Some(p) = compile(path, &mut problems) {
            extract_paths.push((name.clone(), p));
        }
    }
    let expect = match &file.expect {
        Some(e) => prepare_expect(e, &source, &mut problems),
        None => Expectations::default(),
    };
    let paginate = file.paginate.as_ref().and_then(|pg| {
        let p = &pg.value;
        if p.next_url.is_none() && p.total_pages.is_none() {
            problems.push(InputError::at(
                source.place(pg),
                "paginate needs next_url (a JSONPath to the next page's URL) or total_pages",
            ));
        }
        let next_url = p.next_url.as_ref().and_then(|s| compile(s, &mut problems));
        let total_pages = p
            .total_pages
            .as_ref()
            .and_then(|s| compile(s, &mut problems));
        let items = compile(&p.items, &mut problems)?;
        Some(PaginatePaths {
            next_url,
            total_pages,
            items,
        })
    });
    let numbers = RequestNumbers::check(&file, &source, &mut problems);
    header_problems(&source, &file.headers, &mut problems);

    if problems.is_empty() {
        Ok(PreparedRequest {
            file,
            source,
            method,
            extract: extract_paths,
            expect,
            paginate,
            numbers,
            url_cache: UrlCache::default(),
        })
    } else {
        Err(problems)
    }
}

/// The request's method, `GET` when absent (or invalid: a problem then says so).
fn request_method(
    file: &RequestFile,
    source: &SourceFile,
    problems: &mut Vec<InputError>,
) -> reqwest::Method {
    match &file.method {
        None => reqwest::Method::GET,
        Some(m) => {
            let upper = m.value.trim().to_ascii_uppercase();
            match reqwest::Method::from_bytes(upper.as_bytes()) {
                Ok(method) if !upper.is_empty() => method,
                _ => {
                    problems.push(InputError::at(
                        source.place(m),
                        format!("invalid HTTP method `{}`", m.value),
                    ));
                    reqwest::Method::GET
                }
            }
        }
    }
}

/// A problem for every template in the URL, headers, query and body that does not
/// parse, and for a body that is not exactly one kind.
fn check_templates(file: &RequestFile, source: &SourceFile, problems: &mut Vec<InputError>) {
    let renderer = Renderer::shared();
    let check_str = |s: &Spanned<String>, problems: &mut Vec<InputError>| {
        if let Err(e) = renderer.check_str(&s.value, source.origin(s)) {
            problems.push(InputError::at(e.place, e.message));
        }
    };
    check_str(&file.url, problems);
    for h in file.headers.values() {
        check_str(h, problems);
    }
    for q in file.query.values() {
        if let Err(e) = renderer.check_value(&q.value, source.origin(q)) {
            problems.push(InputError::at(e.place, e.message));
        }
    }
    if let Some(body) = &file.body {
        let kinds = body.value.kinds();
        if kinds.len() != 1 {
            problems.push(InputError::at(
                source.place(body),
                if kinds.is_empty() {
                    "body needs one of json, form, text, file, multipart".to_string()
                } else {
                    format!(
                        "body takes one of json, form, text, file, multipart; found {}",
                        kinds.join(" and ")
                    )
                },
            ));
        }
        let b = &body.value;
        if let Some(j) = &b.json
            && let Err(e) = renderer.check_value(&j.value, source.origin(j))
        {
            problems.push(InputError::at(e.place, e.message));
        }
        for v in b.form.iter().flat_map(|f| f.values()) {
            if let Err(e) = renderer.check_value(&v.value, source.origin(v)) {
                problems.push(InputError::at(e.place, e.message));
            }
        }
        for s in [&b.text, &b.file].into_iter().flatten() {
            check_str(s, problems);
        }
    }
}

/// Compiles `expect` (all but `status`): every predicate, regex and schema is checked
/// here, so that `runner check` finds what a run would trip on.
fn prepare_expect(e: &Expect, src: &SourceFile, problems: &mut Vec<InputError>) -> Expectations {
    let mut out = Expectations::default();
    let mut add =
        |subject: Subject, want: &Spanned<serde_json::Value>, problems: &mut Vec<InputError>| {
            match assert::compile(&want.value) {
                Ok(predicates) => out.assertions.push(Assertion {
                    place: src.place(want),
                    subject,
                    predicates,
                }),
                Err(why) => problems.push(InputError::at(src.place(want), why)),
            }
        };
    for (name, want) in &e.headers {
        if let Some(p) = header::name_problem(name) {
            problems.push(InputError::at(src.place(want), p));
            continue;
        }
        add(Subject::Header(name.to_ascii_lowercase()), want, problems);
    }
    if let Some(body) = &e.body {
        add(Subject::Body, body, problems);
    }
    for (path, want) in &e.jsonpath {
        match extract::Path::parse(path) {
            Ok(p) => add(Subject::Path(p), want, problems),
            Err(err) => problems.push(InputError::at(src.place(want), err.to_string())),
        }
    }
    out.duration = number(
        src,
        "expect.duration",
        &e.duration,
        Range::count_as,
        &limits::DURATION_MS,
        problems,
    )
    .and_then(|ms| e.duration.as_ref().map(|d| (src.place(d), ms)));
    if let Some(s) = &e.schema {
        match load_schema(&s.value, src, src.place(s)) {
            Ok(schema) => out.schema = Some(schema),
            Err(why) => problems.push(InputError::at(src.place(s), why)),
        }
    }
    out
}

/// Compiled schemas by file and pointer: each is compiled once per run, however many
/// files, rows and flow steps name it.
type SchemaCache =
    std::sync::Mutex<std::collections::HashMap<(PathBuf, String), Result<assert::Schema, String>>>;

/// The schema `r` names, relative to `src`'s folder, compiled (once per run).
fn load_schema(r: &SchemaRef, src: &SourceFile, place: Place) -> Result<assert::Schema, String> {
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
    let key = (key_path, pointer.unwrap_or("").to_string());
    let cache = CACHE.get_or_init(Default::default);
    if let Some(done) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return done.clone().map(|mut s| {
            s.place = place.clone();
            s
        });
    }
    let shown = display_path(&tidy(&path));
    let compiled = read_structured(&path, &shown).and_then(|doc| {
        let (schema, name) = match pointer {
            None => (doc, shown.display().to_string()),
            Some(ptr) => {
                if doc.pointer(ptr).is_none() {
                    return Err(format!("{} has no schema at #{ptr}", shown.display()));
                }
                let mut root = doc;
                if root
                    .get("openapi")
                    .and_then(serde_json::Value::as_str)
                    .is_some_and(|v| v.starts_with("3.0"))
                {
                    nullable_to_null_type(&mut root, 0);
                }
                point_root_at(&mut root, ptr);
                (root, format!("{}#{ptr}", shown.display()))
            }
        };
        assert::Schema::compile(place.clone(), name, &schema)
    });
    cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, compiled.clone());
    compiled
}

/// OpenAPI 3.0's `nullable: true` in JSON Schema (2020-12) terms, everywhere in
/// `v`: `null` joins the `type` (and the `enum`, when there is one). A schema with
/// no `type` already takes `null`.
fn nullable_to_null_type(v: &mut serde_json::Value, depth: usize) {
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

/// Every `.yaml`/`.yml` file under `dir`, sorted, skipping hidden folders.
pub fn yaml_files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let p = entry.path();
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod schema_tests {
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
