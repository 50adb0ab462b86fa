//! Rendering: a prepared request file and the variables of a run in, a request
//! ready for the wire out. Also reads `--var` and `--vars`.

use std::time::Duration;

use serde_json::Value;

use crate::env::{Env, parse_url};
use crate::error::{Error, InputError};
use crate::http::header;
use crate::http::{FileBody, Header, JsonBody, Part, PartValue, RenderedBody, RenderedRequest};
use crate::project::limits;
use crate::project::model::Spanned;
use crate::project::model::request::{Body, EncodeStyle, GraphQl, MultipartField};
use crate::project::place::Place;
use crate::project::template::{JsonTemplate, Renderer, Vars};
use crate::project::{self, PreparedRequest, SourceFile};
use crate::run::encode;

/// `--var` and `--vars`, in command-line order (files first, then single values).
pub fn cli_vars(files: &[std::path::PathBuf], vars_given: &[String]) -> Result<Vars, Error> {
    let mut vars = Vars::new();
    for path in files {
        let src = SourceFile::read(path)?;
        let map: serde_json::Map<String, Value> = project::parse_yaml(&src)?;
        for (k, v) in map {
            vars.set(k, v);
        }
    }
    for raw in vars_given {
        let (key, value) = parse_var(raw)?;
        vars.set(key, value);
    }
    Ok(vars)
}

/// `KEY=VALUE` (a string) or `KEY:=JSON` (a typed value).
pub fn parse_var(raw: &str) -> Result<(String, Value), InputError> {
    let Some(eq) = raw.find('=') else {
        return Err(InputError::usage(format!(
            "--var `{raw}`: expected KEY=VALUE or KEY:=JSON"
        )));
    };
    let (key, typed) = match raw[..eq].strip_suffix(':') {
        Some(k) => (k, true),
        None => (&raw[..eq], false),
    };
    if key.is_empty() || !key.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return Err(InputError::usage(format!(
            "--var `{raw}`: `{key}` is not a variable name (letters, digits, _)"
        )));
    }
    let text = &raw[eq + 1..];
    let value = if typed {
        serde_json::from_str(text)
            .map_err(|e| InputError::usage(format!("--var {key}:=…: the value is not JSON: {e}")))?
    } else {
        Value::String(text.to_string())
    };
    Ok((key.to_string(), value))
}

/// Renders a prepared request with `vars`.
pub fn render_request(
    env: &Env,
    req: &PreparedRequest,
    vars: &Vars,
    overrides: &Overrides,
) -> Result<RenderedRequest, Error> {
    let r = &env.renderer;
    let src = &req.source;
    let dir = src.dir();
    let f = &req.file;
    let raw_url = r.render_cow(&f.url.value, vars, dir, src.origin(&f.url))?;
    let base = env.base_url.as_ref();
    let mut url =
        req.url_cache
            .get_or_resolve(base.map_or("", |b| b.as_str()), &raw_url, || {
                resolve_url(base, &raw_url, src.place(&f.url))
            })?;
    if !f.query.is_empty() {
        let style = f.query_style.unwrap_or(EncodeStyle::Repeat);
        let mut pairs = Vec::new();
        for (k, v) in &f.query {
            match r.render_value(&v.value, vars, dir, src.origin(v))? {
                Value::Null => {}
                value => encode::flatten(k, &value, style, &mut pairs),
            }
        }
        crate::http::form::append_query(&mut url, &pairs);
    }
    let mut headers = Vec::new();
    let profile_src = &env.profile.source;
    let policy = env.client.credentials();
    for (k, v) in &env.profile.profile.http.headers {
        let value = r.render_str(&v.value, vars, profile_src.dir(), profile_src.origin(v))?;
        headers.push(checked_header(k, value, true, || profile_src.place(v))?);
    }
    for (k, v) in &f.headers {
        let value = r.render_str(&v.value, vars, dir, src.origin(v))?;
        headers.push(checked_header(k, value, false, || src.place(v))?);
    }
    // A credential is registered with the masking point the moment it exists: every
    // value of a header the profile calls sensitive (`http.sensitive_headers`, the
    // auth header's name, the names that carry credentials everywhere).
    for h in &headers {
        if policy.is_sensitive(&h.name) {
            crate::secret::register(&h.value);
        }
    }
    let body = match &f.body {
        None => RenderedBody::Empty,
        Some(b) => render_body(r, req, &b.value, vars)?,
    };
    if let Some(paths) = &req.paginate {
        crate::run::paginate::first_page_url(paths, &mut url);
    }
    Ok(RenderedRequest {
        method: req.method.clone(),
        file_origin: url.origin(),
        url,
        headers,
        body,
        timeout: overrides
            .timeout
            .or(req.numbers.timeout)
            .unwrap_or(env.timeout),
        retries: overrides
            .retries
            .or(req.numbers.retries)
            .unwrap_or(env.retries),
    })
}

/// `(name, value)` when it can be sent as a header; else an error at `place()`, the
/// header's entry in its file (never a header silently dropped or split). The place
/// is found only for an error: a bulk run renders the headers of every row.
fn checked_header(
    name: &str,
    value: String,
    from_profile: bool,
    place: impl FnOnce() -> Place,
) -> Result<Header, Error> {
    match header::problem(name, &value) {
        None => Ok(Header::new(name, value, from_profile)),
        Some(p) => Err(InputError::at(place(), p).into()),
    }
}

fn render_body(
    r: &Renderer,
    req: &PreparedRequest,
    b: &Body,
    vars: &Vars,
) -> Result<RenderedBody, Error> {
    let (f, src) = (&req.file, &req.source);
    let dir = src.dir();
    if let Some(j) = &b.json {
        return Ok(RenderedBody::Json(render_json(r, req, j, vars)?));
    }
    if let Some(form) = &b.form {
        let style = f.form_style.unwrap_or(EncodeStyle::Brackets);
        let mut pairs = Vec::new();
        for (k, v) in form {
            let value = r.render_value(&v.value, vars, dir, src.origin(v))?;
            encode::flatten(k, &value, style, &mut pairs);
        }
        return Ok(RenderedBody::Form(pairs));
    }
    if let Some(g) = &b.graphql {
        return render_graphql(r, g, vars, src);
    }
    if let Some(t) = &b.text {
        return Ok(RenderedBody::Text(r.render_str(
            &t.value,
            vars,
            dir,
            src.origin(t),
        )?));
    }
    if let Some(p) = &b.file {
        let rel = r.render_str(&p.value, vars, dir, src.origin(p))?;
        let path = dir.join(&rel);
        return Ok(RenderedBody::File(file_body(path, src.place(p))?));
    }
    if let Some(parts) = &b.multipart {
        let mut out = Vec::new();
        for (name, field) in parts {
            let value = match &field.value {
                MultipartField::Value(v) => {
                    PartValue::Text(r.render_str(v.as_str(), vars, dir, src.origin(field))?)
                }
                MultipartField::File(file) => {
                    let rel = r.render_str(&file.file, vars, dir, src.origin(field))?;
                    let path = dir.join(&rel);
                    PartValue::File {
                        filename: path
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_else(|| "file".into()),
                        content_type: file.content_type.clone(),
                        file: file_body(path, src.place(field))?,
                    }
                }
            };
            out.push(Part {
                name: name.clone(),
                value,
            });
        }
        return Ok(RenderedBody::Multipart(out));
    }
    Ok(RenderedBody::Empty)
}

/// `body.json` rendered: written as text from its template, compiled on the first
/// render, or built as a tree when its pages put a cursor in it (or its object keys
/// are templates, which the tree's map may fold into one).
fn render_json(
    r: &Renderer,
    req: &PreparedRequest,
    j: &Spanned<Value>,
    vars: &Vars,
) -> Result<JsonBody, Error> {
    let src = &req.source;
    let template = match req.paginate {
        Some(_) => None,
        None => req
            .json_template
            .get_or_init(|| JsonTemplate::compile(r, &j.value))
            .as_ref(),
    };
    Ok(match template {
        Some(t) => JsonBody::Text(
            r.render_json_text(t, vars, src.dir(), src.origin(j))?
                .into(),
        ),
        None => JsonBody::Tree(r.render_value(&j.value, vars, src.dir(), src.origin(j))?),
    })
}

/// A file to send: a regular file streams from disk (its size read now); anything
/// else (a pipe, `/dev/stdin`) is held, at most [`limits::BODY_FILE`].
fn file_body(path: std::path::PathBuf, place: Place) -> Result<FileBody, InputError> {
    let subject = format!("body file {}", path.display());
    let meta = std::fs::metadata(&path)
        .map_err(|e| InputError::at(place.clone(), limits::ReadError::Io(e).describe(&subject)))?;
    if meta.is_file() {
        return Ok(FileBody {
            path,
            len: meta.len(),
            held: None,
        });
    }
    let data = limits::read(&path, limits::BODY_FILE)
        .map_err(|e| InputError::at(place, e.describe(&subject)))?;
    Ok(FileBody {
        len: data.len() as u64,
        held: Some(data.into()),
        path,
    })
}

/// `{query, variables, operationName}`: the query as written (inline or read from
/// its file), the variables rendered.
fn render_graphql(
    r: &Renderer,
    g: &Spanned<GraphQl>,
    vars: &Vars,
    src: &SourceFile,
) -> Result<RenderedBody, Error> {
    let dir = src.dir();
    let query = match (&g.value.query, &g.value.file) {
        (Some(q), _) => q.clone(),
        (None, Some(rel)) => {
            let path = dir.join(rel);
            let subject = format!("GraphQL file {}", path.display());
            let bytes = limits::read(&path, limits::BODY_FILE)
                .map_err(|e| InputError::at(src.place(g), e.describe(&subject)))?;
            String::from_utf8(bytes)
                .map_err(|_| InputError::at(src.place(g), format!("{subject} is not UTF-8 text")))?
        }
        (None, None) => String::new(),
    };
    let variables = match &g.value.variables {
        Some(v) => r.render_value(&v.value, vars, dir, src.origin(v))?,
        None => Value::Object(serde_json::Map::new()),
    };
    let mut body = serde_json::Map::new();
    body.insert("query".into(), Value::String(query));
    body.insert("variables".into(), variables);
    if let Some(op) = &g.value.operation_name {
        body.insert("operationName".into(), Value::String(op.clone()));
    }
    Ok(RenderedBody::Json(JsonBody::Tree(Value::Object(body))))
}

/// `raw` as an absolute URL: as is when it has a scheme, else appended to `base`.
fn resolve_url(base: Option<&url::Url>, raw: &str, place: Place) -> Result<url::Url, InputError> {
    if raw.starts_with("http://") || raw.starts_with("https://") {
        return parse_url(raw, place);
    }
    let Some(base) = base else {
        return Err(InputError::at(
            place,
            format!("`{raw}` is a relative URL but the profile has no base_url"),
        ));
    };
    let joined = format!(
        "{}/{}",
        base.as_str().trim_end_matches('/'),
        raw.trim_start_matches('/')
    );
    parse_url(&joined, place)
}

/// Command-line settings that win over files.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    pub timeout: Option<Duration>,
    pub retries: Option<u32>,
    /// Requests in flight at once (bulk rows, numbered pages).
    pub concurrency: Option<usize>,
}
