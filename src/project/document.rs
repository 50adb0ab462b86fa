//! Loading a request or flow file: a flow checked as far as it can be without its
//! steps' files, a request validated and its JSONPaths, predicates and schema
//! compiled (a [`PreparedRequest`]).

use std::path::Path;

use super::expect_schema::load_schema;
use super::limits::{self, Range};
use super::page_style::{PaginatePaths, prepare_paginate};
use super::validate::{RequestNumbers, header_problems, number};
use super::{SourceFile, parse_yaml};
use crate::error::{InputError, Place};
use crate::expect::assert::{self, Assertion, Expectations, Subject};
use crate::expect::extract;
use crate::http::header;
use crate::project::model::Spanned;
use crate::project::model::flow::FlowFile;
use crate::project::model::request::{Expect, RequestFile};
use crate::project::template::{JsonTemplate, Renderer};

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
        if let Some(expect) = &step.value.expect {
            prepare_expect(expect, src, &mut problems);
        }
    }
    problems
}

fn is_flow(text: &str) -> bool {
    text.lines()
        .any(|l| l.starts_with("steps:") || l.starts_with("\"steps\":"))
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
    /// `body.json` compiled into its text on first render (`None` inside: it cannot be,
    /// its object keys are templates).
    pub json_template: std::sync::OnceLock<Option<JsonTemplate>>,
    /// The file `file.expect` comes from when it is not the request file's own (a
    /// flow step's `expect`).
    pub expect_from: Option<std::path::PathBuf>,
}

/// Puts a flow step's `expect` (written in `flow`) in place of `req`'s own.
pub fn use_step_expect(
    req: &mut PreparedRequest,
    expect: &Expect,
    flow: &SourceFile,
) -> Result<(), Vec<InputError>> {
    let mut problems = Vec::new();
    let compiled = prepare_expect(expect, flow, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    req.expect = compiled;
    req.file.expect = Some(expect.clone());
    req.expect_from = Some(flow.path.clone());
    Ok(())
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
    let paginate = prepare_paginate(&file, &source, &mut problems);
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
            json_template: std::sync::OnceLock::new(),
            expect_from: None,
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
    let graphql = file
        .body
        .as_ref()
        .is_some_and(|b| b.value.graphql.is_some());
    match &file.method {
        // A GraphQL operation is a POST unless the file says otherwise.
        None if graphql => reqwest::Method::POST,
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
                    "body needs one of json, form, text, file, multipart, graphql".to_string()
                } else {
                    format!(
                        "body takes one of json, form, text, file, multipart, graphql; found {}",
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
        if let Some(g) = &b.graphql {
            check_graphql(&g.value, source.place(g), source, problems);
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

/// A GraphQL body has its query (inline or in a file) and valid variable templates.
fn check_graphql(
    g: &crate::project::model::request::GraphQl,
    place: Place,
    source: &SourceFile,
    problems: &mut Vec<InputError>,
) {
    if g.query.is_some() == g.file.is_some() {
        problems.push(InputError::at(
            place,
            "body.graphql needs its operation: query (the text) or file (a .graphql file), one of them",
        ));
    }
    if let Some(v) = &g.variables {
        if !matches!(v.value, serde_json::Value::Object(_)) {
            problems.push(InputError::at(
                source.place(v),
                "body.graphql.variables is a map of variable names to values",
            ));
        }
        if let Err(e) = Renderer::shared().check_value(&v.value, source.origin(v)) {
            problems.push(InputError::at(e.place, e.message));
        }
    }
}
