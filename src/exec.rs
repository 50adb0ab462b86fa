//! Orchestration: the one place that ties profiles, templates, sessions, HTTP,
//! extraction and output together.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::auth::AuthError;
use crate::bulk::{self, DataSet};
use crate::cli::{ExecArgs, GlobalArgs, OutputMode};
use crate::env::{Auth, Env};
use crate::error::{Error, InputError, Place};
use crate::extract;
use crate::http::{Exchange, HttpError, Incoming, RenderedRequest, StreamError};
use crate::interrupt;
use crate::model::flow::FlowFile;
use crate::model::request::StatusSet;
use crate::output::Output;
use crate::paginate;
use crate::preview;
use crate::project::{self, Document, PreparedRequest, Project, SourceFile};
use crate::render::{Overrides, cli_vars, render_request};
use crate::report::{Case, Report};
use crate::template::Vars;

/// Pages followed when the request does not say (`paginate.max_pages`).
const DEFAULT_MAX_PAGES: u32 = 1000;
/// Numbered pages fetched at once when the request does not say.
const DEFAULT_PAGE_CONCURRENCY: usize = 4;
/// Retries after a 401 when the new token came from another process, which a server
/// that revokes access tokens on rotation may have revoked again meanwhile.
const MAX_UNAUTHORIZED_RETRIES: u32 = 3;
/// How deep flows may nest: a flow that runs itself stops here.
const MAX_FLOW_DEPTH: usize = 16;

/// What one request (all its pages) gave.
pub struct Outcome {
    pub exchange: Exchange,
    /// The parsed JSON body, or the concatenated items of a paginated request.
    pub body: Option<Value>,
    pub extracted: Option<Value>,
    pub failures: Vec<String>,
    /// The items were already written as JSON lines.
    pub streamed: bool,
}

/// Sends `req` with the profile's authentication and reads the whole answer.
/// A body cut short is retried like a failed connection: for idempotent methods only
/// (the request was sent), within the request's retries.
pub async fn send(env: &Env, req: &RenderedRequest, use_auth: bool) -> Result<Exchange, Error> {
    let mut cut = 0u32;
    loop {
        let incoming = open(env, req, use_auth).await?;
        match within_grace(req, incoming.read()).await {
            Err(Error::Http(e @ HttpError::BodyCut { .. }))
                if cut < req.retries && crate::http::is_idempotent(&req.method) =>
            {
                cut += 1;
                let wait = crate::http::backoff(cut, None);
                tracing::info!(
                    "{e}; retrying in {} ms (attempt {} of {})",
                    wait.as_millis(),
                    cut + 1,
                    req.retries.saturating_add(1)
                );
                tokio::time::sleep(wait).await;
            }
            result => {
                let ex = result?;
                log_response(&ex);
                return Ok(ex);
            }
        }
    }
}

/// Sends `req` with the profile's authentication, up to the head of the answer,
/// refreshing the token on a 401 from a host that was sent it. After an interrupt
/// nothing new is sent.
pub async fn open(env: &Env, req: &RenderedRequest, use_auth: bool) -> Result<Incoming, Error> {
    if let Some(signal) = interrupt::requested() {
        return Err(Error::Interrupted {
            signal,
            cut: false,
            message: format!("interrupted: {} {} was not sent", req.method, req.url),
        });
    }
    let auth_header = match (&env.auth, use_auth) {
        (Auth::Static { header, .. }, true) => Some(header.as_str()),
        (Auth::OAuth { header, .. }, true) => Some(header.name.as_str()),
        _ => None,
    };
    log_request(req, auth_header);
    let incoming = match (&env.auth, use_auth) {
        (Auth::None, _) | (_, false) => within_grace(req, env.client.open(req, None)).await?,
        (Auth::Static { header, value }, true) => {
            within_grace(req, env.client.open(req, Some((header.as_str(), value)))).await?
        }
        (Auth::OAuth { session, header }, true) => {
            // Not cut by an interrupt: a refresh in flight must be saved.
            let (mut token, _) = session.token(None).await?;
            let mut attempts = 0;
            loop {
                let value = header.value(&token);
                let incoming = within_grace(
                    req,
                    env.client.open(req, Some((header.name.as_str(), &value))),
                )
                .await?;
                // A 401 from a host that was not sent the token says nothing of it.
                if incoming.head.status != 401 || !incoming.head.auth_sent {
                    break incoming;
                }
                attempts += 1;
                if attempts > MAX_UNAUTHORIZED_RETRIES {
                    return Err(AuthError::StillUnauthorized.into());
                }
                tracing::info!("401 from the API: refreshing the token and retrying");
                let (fresh, granted_here) = session.token(Some(&token)).await?;
                token = fresh;
                if granted_here {
                    // This process's own new token is the last word: one more try.
                    attempts = MAX_UNAUTHORIZED_RETRIES;
                }
            }
        }
    };
    Ok(incoming)
}

/// `fut`, unless an interrupt's grace period runs out first.
async fn within_grace<T, E: Into<Error>>(
    req: &RenderedRequest,
    fut: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, Error> {
    tokio::select! {
        biased;
        out = fut => out.map_err(Into::into),
        () = interrupt::grace_over() => Err(Error::Interrupted {
            signal: interrupt::requested().unwrap_or(2),
            cut: true,
            message: format!(
                "interrupted: {} {} was cut {} s after the signal, its outcome unknown",
                req.method,
                req.url,
                interrupt::GRACE.as_secs()
            ),
        }),
    }
}

fn log_request(req: &RenderedRequest, auth_header: Option<&str>) {
    tracing::info!("> {} {}", req.method, req.url);
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    for h in &req.headers {
        if preview::is_sensitive_header(&h.name) {
            tracing::debug!("> {}: ***", h.name);
        } else {
            tracing::debug!("> {}: {}", h.name, h.value);
        }
    }
    if let Some(name) = auth_header {
        tracing::debug!("> {name}: ***");
    }
}

fn log_response(ex: &Exchange) {
    if !tracing::enabled!(tracing::Level::INFO) {
        return;
    }
    tracing::info!(
        "< {} ({} ms, {} bytes{})",
        ex.status_line(),
        ex.elapsed.as_millis(),
        ex.size,
        if ex.attempts > 1 {
            format!(", {} attempts", ex.attempts)
        } else {
            String::new()
        }
    );
    for (k, v) in &ex.headers {
        if preview::is_sensitive_header(k) {
            tracing::debug!("< {k}: ***");
        } else {
            tracing::debug!("< {k}: {v}");
        }
    }
}

/// The body's text if it may be JSON: a JSON content type, or it starts like JSON.
fn json_text(ex: &Exchange) -> Option<&[u8]> {
    let looks_json = ex.is_json() || matches!(ex.body.first(), Some(b'{' | b'['));
    (!ex.body.is_empty() && looks_json).then_some(&ex.body[..])
}

fn parse_json_body(ex: &Exchange) -> Option<Value> {
    serde_json::from_slice(json_text(ex)?).ok()
}

/// From this size on, a body nobody shows is not parsed into a tree: `extract` and
/// `expect.jsonpath` read it in one pass each (`Path::extract_json`), so its memory is
/// the text and what the paths select.
const ONE_PASS_MIN: usize = 1024 * 1024;

/// `extract` and `expect.jsonpath` on a large body nobody shows, without its tree.
fn extract_one_pass(req: &PreparedRequest, ex: &Exchange) -> (Option<Value>, Vec<String>) {
    let text = json_text(ex).unwrap_or(b"");
    let failures = if req.expect_paths.is_empty() {
        Vec::new()
    } else {
        match extract::check_jsonpaths_json(text, &req.expect_paths) {
            Some(f) => f.into_iter().map(|f| f.0).collect(),
            None => vec!["expected a JSON body for expect.jsonpath".to_string()],
        }
    };
    let mut failures = failures;
    let mut unreadable = false;
    let extracted = extract_object(req, |path| {
        path.extract_json(text).unwrap_or_else(|| {
            unreadable = true;
            Value::Null
        })
    });
    if unreadable && status_failure(req, ex).is_none() {
        failures.push(not_json(req, ex));
        return (None, failures);
    }
    (extracted, failures)
}

/// Why `extract` has nothing to read in `ex`'s body (which did not parse as JSON).
fn not_json(req: &PreparedRequest, ex: &Exchange) -> String {
    let why = match std::str::from_utf8(&ex.body) {
        Err(e) => format!("not UTF-8 at byte {}", e.valid_up_to()),
        Ok(text) if text.trim().is_empty() => "it is empty".to_string(),
        Ok(text) => match serde_json::from_str::<serde::de::IgnoredAny>(text) {
            Err(e) => e.to_string(),
            Ok(_) => "it is not JSON".to_string(),
        },
    };
    format!(
        "{}: the body is not valid JSON ({why}), so `extract` has nothing to read",
        req.source.path.display()
    )
}

/// The `extract` object of `req`, each path's value from `value_of`; `None` when the
/// file extracts nothing.
fn extract_object(
    req: &PreparedRequest,
    mut value_of: impl FnMut(&extract::Path) -> Value,
) -> Option<Value> {
    if req.extract.is_empty() {
        return None;
    }
    let map = req
        .extract
        .iter()
        .map(|(name, path)| (name.clone(), value_of(path)))
        .collect();
    Some(Value::Object(map))
}

/// Where a paginated request's items go: kept for `extract` and the output, or
/// streamed as JSON lines as pages arrive.
pub enum Items<'o> {
    Keep,
    Stream(&'o mut Output),
    /// The body goes to stdout as it arrives and is never held (`-o raw`, `-o body`
    /// off a terminal without `extract`), unless paging or `expect.jsonpath` need it
    /// parsed; `include` writes the status line and headers first.
    Pass {
        out: &'o mut Output,
        include: bool,
    },
    /// Nobody will see the body (a bulk row, or a request printed as what it
    /// extracts): parse it only for extract or expect, and a large one not into a tree.
    Discard,
}

/// Runs one request file: render, send, follow pages, extract, check expectations.
pub async fn run_request(
    env: &Env,
    req: &PreparedRequest,
    vars: &Vars,
    overrides: &Overrides,
    items: Items<'_>,
) -> Result<Outcome, Error> {
    let rendered = render_request(env, req, vars, overrides)?;
    let use_auth = req.file.auth == crate::model::request::RequestAuth::Profile;
    let held = req.paginate.is_some() || !req.expect_paths.is_empty();
    let items = match items {
        Items::Pass { out, include } if !held => {
            return pass_through(env, req, &rendered, use_auth, Some((out, include))).await;
        }
        Items::Discard if !held && req.extract.is_empty() => {
            return pass_through(env, req, &rendered, use_auth, None).await;
        }
        other => other,
    };
    let first = send(env, &rendered, use_auth).await?;
    if matches!(items, Items::Discard) && req.paginate.is_none() && first.body.len() >= ONE_PASS_MIN
    {
        tracing::info!(
            "{} bytes: extract and expect read the body in one pass each",
            first.body.len()
        );
        let (extracted, mut failures) = extract_one_pass(req, &first);
        if let Some(f) = status_failure(req, &first) {
            failures.insert(0, f);
        }
        return Ok(Outcome {
            exchange: first,
            body: None,
            extracted,
            failures,
            streamed: false,
        });
    }
    // A bulk row shows only what it extracts: its body is parsed only when needed.
    let need_body = !matches!(items, Items::Discard)
        || !req.extract.is_empty()
        || !req.expect_paths.is_empty()
        || req.paginate.is_some();
    let first_body = if need_body {
        parse_json_body(&first)
    } else {
        None
    };
    let mut failures = Vec::new();
    if let Some(f) = status_failure(req, &first) {
        failures.push(f);
    }
    if let Some(b) = &first_body {
        for f in extract::check_jsonpaths(b, &req.expect_paths) {
            failures.push(f.0);
        }
    } else if !req.expect_paths.is_empty() {
        failures.push("expected a JSON body for expect.jsonpath".to_string());
    } else if !req.extract.is_empty() && failures.is_empty() {
        // An extract of nulls would pass for an answer.
        failures.push(not_json(req, &first));
    }
    let (exchange, body, streamed) = match (&req.paginate, first_body) {
        (Some(paths), Some(body)) if failures.is_empty() => {
            let pages = Pages {
                env,
                req,
                paths,
                rendered: &rendered,
                use_auth,
                overrides,
            };
            pages.follow(first, body, items, &mut failures).await?
        }
        (_, body) => (first, body, false),
    };
    // Nothing is extracted from a body that is not JSON (a failure says so).
    let extracted = body
        .as_ref()
        .and_then(|source| extract_object(req, |path| path.extract(source)));
    Ok(Outcome {
        exchange,
        body,
        extracted,
        failures,
        streamed,
    })
}

/// Sends a request whose body nobody needs parsed, streaming the body to `out` (with
/// the head first when asked) or to nowhere, so that its size never matters.
async fn pass_through(
    env: &Env,
    req: &PreparedRequest,
    rendered: &RenderedRequest,
    use_auth: bool,
    out: Option<(&mut Output, bool)>,
) -> Result<Outcome, Error> {
    let incoming = open(env, rendered, use_auth).await?;
    let head = incoming.head.clone();
    let streamed = out.is_some();
    let result = match out {
        Some((out, include)) => {
            if include {
                write_or_pipe(out.head(&incoming.head))?;
            }
            let result = within_grace(rendered, async {
                Ok::<_, Error>(incoming.stream(&mut |b| out.chunk(b)).await)
            })
            .await?;
            write_or_pipe(out.flush())?;
            result
        }
        None => {
            within_grace(rendered, async {
                Ok::<_, Error>(incoming.stream(&mut |_| Ok(())).await)
            })
            .await?
        }
    };
    let exchange = match result {
        Ok(ex) => ex,
        // The reader went away (`| head`): what it wanted is written.
        Err(StreamError::Write(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => head,
        Err(StreamError::Write(e)) => return Err(Error::io("cannot write to stdout", e)),
        Err(StreamError::Http(e)) => return Err(e.into()),
    };
    log_response(&exchange);
    Ok(Outcome {
        failures: status_failure(req, &exchange).into_iter().collect(),
        exchange,
        body: None,
        extracted: None,
        streamed,
    })
}

/// What following a request's pages needs.
struct Pages<'a> {
    env: &'a Env,
    req: &'a PreparedRequest,
    paths: &'a paginate::PaginatePaths,
    rendered: &'a RenderedRequest,
    use_auth: bool,
    overrides: &'a Overrides,
}

impl Pages<'_> {
    /// Follows the pages after `first`: the last exchange, the items kept (unless
    /// they were streamed to `items`), and whether they were streamed.
    async fn follow(
        &self,
        first: Exchange,
        body: Value,
        items: Items<'_>,
        failures: &mut Vec<String>,
    ) -> Result<(Exchange, Option<Value>, bool), Error> {
        let pg = self.req.file.paginate.as_ref().map(|p| &p.value);
        let mut out = match items {
            Items::Stream(o) => Some(o),
            Items::Keep | Items::Discard | Items::Pass { .. } => None,
        };
        let streaming = out.is_some();
        let paging = paginate::Paging {
            paths: self.paths,
            max_pages: self.req.numbers.max_pages.unwrap_or(DEFAULT_MAX_PAGES),
            concurrency: self
                .overrides
                .concurrency
                .unwrap_or(DEFAULT_PAGE_CONCURRENCY),
            page_param: pg.and_then(|p| p.page_param.as_deref()).unwrap_or("page"),
            raw: streaming,
        };
        let (env, use_auth) = (self.env, self.use_auth);
        let send_page = |r: RenderedRequest| -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<Exchange, Error>> + '_>,
        > { Box::pin(async move { send(env, &r, use_auth).await }) };
        let check = |ex: &Exchange| status_failure(self.req, ex);
        let mut kept = Vec::new();
        let mut sink = |page: paginate::PageItems<'_>| -> Result<(), Error> {
            match (out.as_deref_mut(), page) {
                (Some(o), page) => {
                    write_or_pipe(o.items(page))?;
                    write_or_pipe(o.flush())
                }
                (None, paginate::PageItems::Values(items)) => {
                    kept.extend(items);
                    Ok(())
                }
                (None, paginate::PageItems::Raw(raw_items)) => {
                    for raw in raw_items.items {
                        kept.push(serde_json::from_str(raw.get()).unwrap_or(Value::Null));
                    }
                    Ok(())
                }
            }
        };
        let paged = paginate::follow(
            &paging,
            self.rendered,
            first,
            body,
            &send_page,
            &check,
            &mut sink,
        )
        .await?;
        tracing::info!("{} pages", paged.pages);
        Ok(match paged.failure {
            Some(f) => {
                failures.push(f);
                let b = parse_json_body(&paged.last);
                (paged.last, b, false)
            }
            None => (paged.last, Some(Value::Array(kept)), streaming),
        })
    }
}

/// Frees a large response on another thread: a 100 MB JSON tree takes longer to free
/// than to use, and the process often exits right after (a detached thread does not
/// hold the exit up).
fn drop_large(outcome: Outcome) {
    const LARGE: usize = 8 * 1024 * 1024;
    if outcome.exchange.body.len() >= LARGE {
        std::thread::spawn(move || drop(outcome));
    }
}

fn write_or_pipe(r: std::io::Result<()>) -> Result<(), Error> {
    match r {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::io("cannot write to stdout", e))
        }
        _ => Ok(()),
    }
}

/// Why `ex`'s status fails the request's expectation, if it does.
fn status_failure(req: &PreparedRequest, ex: &Exchange) -> Option<String> {
    let expected = req.file.expect.as_ref().and_then(|e| e.status.as_ref());
    let ok = match expected {
        Some(set) => set.value.contains(ex.status),
        None => (200..300).contains(&ex.status),
    };
    if ok {
        return None;
    }
    let wanted = match expected.map(|s| &s.value) {
        Some(StatusSet::One(s)) => s.to_string(),
        Some(StatusSet::Many(list)) => list
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(" or "),
        None => "2xx".to_string(),
    };
    Some(format!(
        "{}: status {} (expected {wanted})",
        req.source.path.display(),
        ex.status
    ))
}

/// `runner exec`.
pub async fn exec(global: &GlobalArgs, args: &ExecArgs) -> Result<u8, Error> {
    // First of all: a signal during start-up (a login, the sandbox) must find the
    // handler, or it ends the process before --failed is written.
    interrupt::install();
    let data = match &args.data {
        Some(path) => Some(DataSet::load(path)?),
        None => None,
    };
    let env = Env::open(global).await?;
    let mut vars = env.vars.clone();
    vars.extend(&cli_vars(args)?);
    let overrides = Overrides {
        timeout: args.timeout,
        retries: args.retries,
        concurrency: Some(usize::from(args.concurrency)),
    };
    let mut out = Output::new();
    if args.dry_run || args.curl {
        return preview_all(&env, args, data.as_ref(), &vars, &overrides, &mut out).await;
    }
    let mut report = Report::default();
    let job = Job {
        env: &env,
        args,
        vars: &vars,
        overrides: &overrides,
    };
    let result = match &data {
        Some(data) => exec_bulk(&job, global, data, &mut out, &mut report).await,
        None => exec_files(&job, &mut out, &mut report).await,
    };
    if !args.report.is_empty() {
        report.write(&args.report).map_err(|(path, e)| {
            Error::io(format!("cannot write the report {}", path.display()), e)
        })?;
    }
    result
}

/// What every file of one `runner exec` shares.
struct Job<'a> {
    env: &'a Env,
    args: &'a ExecArgs,
    vars: &'a Vars,
    overrides: &'a Overrides,
}

/// Runs each file in order. Expectation failures are collected; any other error
/// stops the run (and is the last case of the report).
async fn exec_files(job: &Job<'_>, out: &mut Output, report: &mut Report) -> Result<u8, Error> {
    let mut failed = Vec::new();
    for file in &job.args.files {
        let started = std::time::Instant::now();
        let name = file.display().to_string();
        let result = exec_file(job, file, out).await;
        let (status, failure) = match &result {
            Ok(o) => (
                Some(o.exchange.status),
                (!o.failures.is_empty()).then(|| o.failures.join("; ")),
            ),
            Err(e) => (None, Some(e.render().trim_end().to_string())),
        };
        report.push(Case {
            name: name.clone(),
            file: name,
            status,
            time: started.elapsed(),
            failure,
        });
        let mut outcome = result?;
        failed.append(&mut outcome.failures);
        drop_large(outcome);
    }
    // A signal during the last request let it finish; the run still did not end as
    // asked.
    if let Some(signal) = interrupt::requested() {
        return Err(Error::Interrupted {
            signal,
            cut: false,
            message: "interrupted: the request in flight finished; nothing more was sent"
                .to_string(),
        });
    }
    if failed.is_empty() {
        Ok(0)
    } else {
        Err(Error::Expectation(failed.join("; ")))
    }
}

async fn exec_file(job: &Job<'_>, file: &Path, out: &mut Output) -> Result<Outcome, Error> {
    let Job {
        env,
        args,
        vars,
        overrides,
    } = *job;
    let doc = project::load_document(file).map_err(Error::from_inputs)?;
    let mut vars = vars.clone();
    let outcome = match &doc {
        Document::Request(req) => {
            // JSON lines are the items, streamed as pages arrive, whether or not
            // the file has an `extract` (which shapes only body, json and yaml).
            let jsonl = args.output == OutputMode::Jsonl;
            // `-o json` shows the body beside what was extracted; the other modes
            // show only the extracted values when there are any.
            // What nobody needs as JSON streams through: raw bytes, and the body off
            // a terminal (where it is not pretty-printed) when no `extract` replaces it.
            let pass = match args.output {
                OutputMode::Raw => true,
                OutputMode::Body => !out.is_terminal() && req.extract.is_empty(),
                _ => false,
            };
            let items = if jsonl && req.paginate.is_some() {
                Items::Stream(&mut *out)
            } else if pass {
                Items::Pass {
                    out: &mut *out,
                    include: args.include,
                }
            } else if args.output == OutputMode::None
                || (!jsonl && args.output != OutputMode::Json && !req.extract.is_empty())
            {
                Items::Discard
            } else {
                Items::Keep
            };
            run_request(env, req, &vars, overrides, items).await?
        }
        Document::Flow(flow, src) => run_flow(env, flow, src, &mut vars, overrides, 1).await?,
    };
    if !outcome.streamed {
        print_outcome(out, args.output, args.include, &outcome)?;
    }
    Ok(outcome)
}

/// `--dry-run` / `--curl`: render every request (every row with `--data`, every
/// step of a flow that can be rendered before sending) and print it. Sends nothing.
async fn preview_all(
    env: &Env,
    args: &ExecArgs,
    data: Option<&DataSet>,
    vars: &Vars,
    overrides: &Overrides,
    out: &mut Output,
) -> Result<u8, Error> {
    let auth = preview_auth(env, args.show_secrets);
    let auth_ref = auth.as_ref().map(|(k, v)| (k.as_str(), v.as_str()));
    let mut row_vars = Vec::new();
    match data {
        Some(d) => {
            for row in &d.rows {
                let mut v = vars.clone();
                for (k, val) in &row.vars {
                    v.set(k.clone(), val.clone());
                }
                row_vars.push(v);
            }
        }
        None => row_vars.push(vars.clone()),
    }
    let mut texts = Vec::new();
    for file in &args.files {
        let doc = project::load_document(file).map_err(Error::from_inputs)?;
        for v in &row_vars {
            let mut v = v.clone();
            let requests: Vec<(&PreparedRequest, bool)> = match &doc {
                Document::Request(req) => vec![(req.as_ref(), false)],
                Document::Flow(..) => {
                    preview_flow(env, &doc, &mut v, overrides, &mut texts, args, auth_ref)?;
                    continue;
                }
            };
            for (req, _) in requests {
                let r = render_request(env, req, &v, overrides)?;
                texts.push(render_preview(&r, args, auth_ref, req));
            }
        }
    }
    write_or_pipe(out.bytes(texts.join("\n").as_bytes()))?;
    Ok(0)
}

fn render_preview(
    r: &RenderedRequest,
    args: &ExecArgs,
    auth: Option<(&str, &str)>,
    req: &PreparedRequest,
) -> String {
    let auth = if req.file.auth == crate::model::request::RequestAuth::Profile {
        auth
    } else {
        None
    };
    if args.curl {
        preview::curl(r, auth, args.show_secrets)
    } else {
        preview::dry_run(r, auth, args.show_secrets)
    }
}

/// A flow's steps, rendered in order with their own vars; a step that needs what an
/// earlier response gives cannot be shown before sending, and ends the preview.
fn preview_flow(
    env: &Env,
    doc: &Document,
    vars: &mut Vars,
    overrides: &Overrides,
    texts: &mut Vec<String>,
    args: &ExecArgs,
    auth: Option<(&str, &str)>,
) -> Result<(), Error> {
    let Document::Flow(flow, src) = doc else {
        return Ok(());
    };
    for (i, step) in flow.steps.iter().enumerate() {
        for (k, v) in &step.value.vars {
            let value = env
                .renderer
                .render_value(&v.value, vars, src.dir(), src.origin(v))?;
            vars.set(k.clone(), value);
        }
        let path = src.dir().join(&step.value.run);
        match project::load_document(&path).map_err(Error::from_inputs)? {
            Document::Request(req) => match render_request(env, &req, vars, overrides) {
                Ok(r) => texts.push(render_preview(&r, args, auth, &req)),
                Err(e) if i > 0 => {
                    eprintln!(
                        "note: step {} and later need values from earlier responses: {}",
                        i + 1,
                        e.render()
                            .lines()
                            .next()
                            .unwrap_or("")
                            .trim_start_matches("error: ")
                    );
                    return Ok(());
                }
                Err(e) => return Err(e),
            },
            Document::Flow(..) => {
                eprintln!("note: step {} is a nested flow; not previewed", i + 1);
                return Ok(());
            }
        }
    }
    Ok(())
}

/// The authentication header a preview shows: the real value only with
/// `--show-secrets`, and for OAuth2 only a token already cached (no login for a
/// preview).
fn preview_auth(env: &Env, show_secrets: bool) -> Option<(String, String)> {
    match &env.auth {
        Auth::None => None,
        Auth::Static { header, value } => Some((header.clone(), value.expose().to_string())),
        Auth::OAuth { session, header } => {
            let cached = if show_secrets { session.peek() } else { None };
            let value = match cached {
                Some(token) => header.value(&token).expose().to_string(),
                None if show_secrets => format!("{} <token obtained when sent>", header.scheme),
                None => "***".to_string(),
            };
            Some((header.name.clone(), value.trim().to_string()))
        }
    }
}

/// `exec --data`: one run of the file per row, one JSON line per row, each flushed as
/// it is written so that even a killed run leaves a line for every row it finished.
async fn exec_bulk(
    job: &Job<'_>,
    global: &GlobalArgs,
    data: &DataSet,
    out: &mut Output,
    report: &mut Report,
) -> Result<u8, Error> {
    let Job {
        env,
        args,
        vars,
        overrides,
    } = *job;
    let [file] = args.files.as_slice() else {
        return Err(InputError::usage(
            "--data runs one file per row: give exactly one request or flow file (a flow can chain several)",
        )
        .into());
    };
    let doc = project::load_document(file).map_err(Error::from_inputs)?;
    let done_before = match &args.resume {
        Some(path) => resumed_rows(path)?,
        None => Default::default(),
    };
    let rows: Vec<bulk::Row> = data
        .rows
        .iter()
        .filter(|r| !done_before.contains(&r.number))
        .cloned()
        .collect();
    if !global.quiet && args.resume.is_some() {
        eprintln!(
            "resuming: {} rows already done, {} to run",
            data.rows.len() - rows.len(),
            rows.len()
        );
    }
    // Rows that ran and succeeded; every other row is written to --failed.
    let mut succeeded = std::collections::HashSet::new();
    let result = bulk::run(
        &rows,
        usize::from(args.concurrency),
        !global.quiet,
        |row| run_row(env, &doc, vars, row, overrides),
        |row, result| {
            if result.ok {
                succeeded.insert(row.number);
            }
            if !args.report.is_empty() {
                report.push(Case {
                    name: format!("row {}", row.number),
                    file: file.display().to_string(),
                    status: result.status,
                    time: result.elapsed,
                    failure: result.error.clone(),
                });
            }
            if args.output == OutputMode::None {
                return Ok(());
            }
            write_or_pipe(out.json_line(&result.to_json()))?;
            write_or_pipe(out.flush())
        },
    )
    .await;
    write_or_pipe(out.flush())?;
    // Written whatever happened: an authentication error or a signal mid-run must not
    // lose the record of which rows are left.
    if let Some(path) = &args.failed {
        let left: Vec<&bulk::Row> = rows
            .iter()
            .filter(|r| !succeeded.contains(&r.number))
            .collect();
        data.write_rows(path, &left)
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
        if !global.quiet && !left.is_empty() {
            eprintln!(
                "{} rows to run again written to {}",
                left.len(),
                path.display()
            );
        }
    }
    let summary = result?;
    if let Some(signal) = summary.interrupted {
        return Err(Error::Interrupted {
            signal,
            cut: false,
            message: summary.line(),
        });
    }
    if !global.quiet {
        eprintln!("{}", summary.line());
    }
    if summary.failed > 0 {
        Err(Error::Expectation(format!(
            "{} of {} rows failed",
            summary.failed, summary.rows
        )))
    } else {
        Ok(0)
    }
}

/// `--resume OUT.jsonl`: the rows an earlier run's output says succeeded.
fn resumed_rows(path: &Path) -> Result<std::collections::HashSet<usize>, Error> {
    let shown = project::display_path(path);
    let bytes = crate::limits::read(path, crate::limits::DATA_FILE)
        .map_err(|e| InputError::at(Place::file(&shown), e.describe("the --resume file")))?;
    Ok(bulk::succeeded_rows(&bytes))
}

/// One row of a bulk run. Authentication errors stop the run; any other failure is
/// the row's own.
async fn run_row(
    env: &Env,
    doc: &Document,
    vars: &Vars,
    row: &bulk::Row,
    overrides: &Overrides,
) -> Result<bulk::RowResult, Error> {
    let started = std::time::Instant::now();
    let mut vars = vars.clone();
    for (k, v) in &row.vars {
        vars.set(k.clone(), v.clone());
    }
    let outcome = match doc {
        Document::Request(req) => run_request(env, req, &vars, overrides, Items::Discard).await,
        Document::Flow(flow, src) => run_flow(env, flow, src, &mut vars, overrides, 1).await,
    };
    Ok(match outcome {
        Ok(o) => {
            let ok = o.failures.is_empty();
            bulk::RowResult {
                row: row.number,
                status: Some(o.exchange.status),
                ok,
                extract: if ok { o.extracted } else { None },
                error: (!ok).then(|| o.failures.join("; ")),
                elapsed: started.elapsed(),
            }
        }
        Err(e @ (Error::Auth(_) | Error::Interrupted { cut: false, .. })) => return Err(e),
        Err(e) => bulk::RowResult {
            row: row.number,
            status: None,
            ok: false,
            extract: None,
            elapsed: started.elapsed(),
            error: Some(
                e.render()
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim_start_matches("error: ")
                    .to_string(),
            ),
        },
    })
}

fn print_outcome(
    out: &mut Output,
    mode: OutputMode,
    include: bool,
    o: &Outcome,
) -> Result<(), Error> {
    match out.exchange(
        mode,
        include,
        &o.exchange,
        o.body.as_ref(),
        o.extracted.as_ref(),
    ) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::io("cannot write to stdout", e)),
    }
}

/// Runs a flow's steps in order; each step sees what earlier ones extracted.
pub fn run_flow<'a>(
    env: &'a Env,
    flow: &'a FlowFile,
    src: &'a SourceFile,
    vars: &'a mut Vars,
    overrides: &'a Overrides,
    depth: usize,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Outcome, Error>> + 'a>> {
    Box::pin(async move {
        if depth > MAX_FLOW_DEPTH {
            return Err(InputError::at(
                Place::file(&src.path),
                format!("flows nest more than {MAX_FLOW_DEPTH} deep (does a flow run itself?)"),
            )
            .into());
        }
        if flow.steps.is_empty() {
            return Err(
                InputError::at(Place::file(&src.path), "a flow needs at least one step").into(),
            );
        }
        let mut last = None;
        for (i, step) in flow.steps.iter().enumerate() {
            let n = i + 1;
            let path = src.dir().join(&step.value.run);
            tracing::info!("step {n}: {}", path.display());
            for (k, v) in &step.value.vars {
                let value = env
                    .renderer
                    .render_value(&v.value, vars, src.dir(), src.origin(v))?;
                vars.set(k.clone(), value);
            }
            let doc = project::load_document(&path).map_err(|list| {
                Error::from_inputs(
                    list.into_iter()
                        .map(|e| match e {
                            InputError::At { place, message } if place.line == 0 => InputError::at(
                                src.place(step),
                                format!("step {n} ({}): {message}", place.path.display()),
                            ),
                            other => other,
                        })
                        .collect(),
                )
            })?;
            let outcome = match &doc {
                Document::Request(req) => {
                    run_request(env, req, vars, overrides, Items::Keep).await?
                }
                Document::Flow(inner, inner_src) => {
                    run_flow(env, inner, inner_src, vars, overrides, depth + 1).await?
                }
            };
            if !outcome.failures.is_empty() {
                return Err(Error::Expectation(format!(
                    "flow {} stopped at step {n} ({}): {}",
                    src.path.display(),
                    path.display(),
                    outcome.failures.join("; ")
                )));
            }
            if let Some(Value::Object(map)) = &outcome.extracted {
                for (k, v) in map {
                    vars.set(k.clone(), v.clone());
                }
            }
            let body = outcome.body.clone().unwrap_or(Value::Null);
            for (k, p) in &step.value.extract {
                let compiled = extract::Path::parse(&p.value)
                    .map_err(|e| InputError::at(src.place(p), e.to_string()))?;
                vars.set(k.clone(), compiled.extract(&body));
            }
            last = Some(outcome);
        }
        last.ok_or_else(|| {
            InputError::at(Place::file(&src.path), "a flow needs at least one step").into()
        })
    })
}

/// Every file `runner check` looks at when given no paths.
pub fn default_check_paths(project: &Project) -> Vec<PathBuf> {
    let mut paths = project::yaml_files_under(&project.profiles_dir());
    let requests = project.root.join("requests");
    if requests.is_dir() {
        paths.extend(project::yaml_files_under(&requests));
    }
    paths
}
