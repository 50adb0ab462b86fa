//! One request: render, send (with the session and the 401 retry), follow pages,
//! extract, check expectations.

use serde_json::Value;

use crate::auth::AuthError;
use crate::auth::MAX_UNAUTHORIZED_RETRIES;
use crate::env::{Auth, Env};
use crate::error::Error;
use crate::expect::assert::{self, Checked};
use crate::expect::extract;
use crate::http::{Credential, Exchange, HttpError, Incoming, RenderedRequest, StreamError};
use crate::project::PreparedRequest;
use crate::project::model::request::StatusSet;
use crate::project::template::Vars;
use crate::run::interrupt;
use crate::run::output::{Output, write_or_pipe};
use crate::run::paginate;
use crate::run::preview::format;
use crate::run::render::{Overrides, render_request};

use super::Outcome;

/// Pages followed when the request does not say (`paginate.max_pages`).
const DEFAULT_MAX_PAGES: u32 = 1000;
/// Numbered pages fetched at once when the request does not say.
const DEFAULT_PAGE_CONCURRENCY: usize = 4;

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
        (
            Auth::Static {
                header,
                value,
                in_query,
            },
            true,
        ) => {
            let credential = Credential {
                name: header,
                value,
                in_query: *in_query,
            };
            within_grace(req, env.client.open(req, Some(credential))).await?
        }
        (Auth::OAuth { session, header }, true) => {
            // Not cut by an interrupt: a refresh in flight must be saved.
            let (mut token, _) = session.token(None).await?;
            let mut attempts = 0;
            loop {
                let value = header.value(&token);
                let incoming = within_grace(
                    req,
                    env.client
                        .open(req, Some(Credential::header(&header.name, &value))),
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
        if format::is_sensitive_header(&h.name) {
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
        if format::is_sensitive_header(k) {
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

/// `extract` and `expect` on a large body nobody shows, without its tree.
fn extract_one_pass(
    req: &PreparedRequest,
    ex: &Exchange,
) -> (Option<Value>, Vec<Checked>, Vec<String>) {
    let text = json_text(ex).unwrap_or(b"");
    let checks = check_expect(req, ex, None, true);
    let mut failures = failed(&checks);
    let mut unreadable = false;
    let extracted = extract_object(req, |path| {
        path.extract_json(text).unwrap_or_else(|| {
            unreadable = true;
            Value::Null
        })
    });
    if unreadable && status_failure(req, ex).is_none() {
        failures.push(not_json(req, ex));
        return (None, checks, failures);
    }
    (extracted, checks, failures)
}

/// Every expectation but `status` of `req`, checked against `ex`.
fn check_expect(
    req: &PreparedRequest,
    ex: &Exchange,
    json: Option<&Value>,
    one_pass: bool,
) -> Vec<Checked> {
    if req.expect.is_empty() {
        return Vec::new();
    }
    let response = assert::Response {
        headers: &ex.headers,
        body: &ex.body,
        json,
        one_pass,
        elapsed_ms: u64::try_from(ex.elapsed.as_millis()).unwrap_or(u64::MAX),
    };
    assert::check_response(&req.expect, &response)
}

/// The failures of `checks`, each in full.
fn failed(checks: &[Checked]) -> Vec<String> {
    checks
        .iter()
        .flat_map(|c| c.failures.iter().map(|f| f.message.clone()))
        .collect()
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
    let use_auth = req.file.auth == crate::project::model::request::RequestAuth::Profile;
    let held = req.paginate.is_some() || !req.expect.is_empty();
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
        let (extracted, mut checks, mut failures) = extract_one_pass(req, &first);
        checks.insert(0, status_check(req, &first));
        if let Some(f) = status_failure(req, &first) {
            failures.insert(0, f);
        }
        return Ok(Outcome {
            exchange: first,
            body: None,
            extracted,
            failures,
            checks,
            streamed: false,
        });
    }
    // A bulk row shows only what it extracts: its body is parsed only when needed.
    let need_body = !matches!(items, Items::Discard)
        || !req.extract.is_empty()
        || !req.expect.is_empty()
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
    let mut checks = vec![status_check(req, &first)];
    checks.extend(check_expect(req, &first, first_body.as_ref(), false));
    failures.extend(failed(&checks));
    if first_body.is_none() && !req.extract.is_empty() && failures.is_empty() {
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
        checks,
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
        checks: vec![status_check(req, &exchange)],
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
    paths: &'a crate::project::PaginatePaths,
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
        // On a terminal: pages and items so far, of how many when the first page says.
        let total_pages = self
            .paths
            .total_pages
            .as_ref()
            .and_then(|p| p.extract(&body).as_u64());
        let progress = crate::run::progress::Progress::new(
            true,
            total_pages,
            if total_pages.is_some() {
                "{bar:30} {pos}/{len} pages, {msg}"
            } else {
                "{spinner} {pos} pages, {msg}"
            },
        );
        let (mut pages, mut items) = (0u64, 0usize);
        let mut sink = |page: paginate::PageItems<'_>| -> Result<(), Error> {
            if progress.is_drawn() {
                pages += 1;
                items += match &page {
                    paginate::PageItems::Values(v) => v.len(),
                    paginate::PageItems::Raw(r) => r.items.len(),
                };
                progress.set(pages, || format!("{items} items"));
            }
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

/// The status expectation of `req` on `ex`, as an assertion of the report.
fn status_check(req: &PreparedRequest, ex: &Exchange) -> Checked {
    let expected = req.file.expect.as_ref().and_then(|e| e.status.as_ref());
    let place = match expected {
        Some(s) => req.source.place(s),
        None => crate::project::place::Place::file(&req.source.path),
    };
    let failures = status_failure(req, ex)
        .map(|message| assert::Failure {
            predicate: "status".into(),
            expected: wanted_status(req),
            actual: ex.status.to_string(),
            message,
        })
        .into_iter()
        .collect();
    Checked {
        place,
        name: format!("status {}", wanted_status(req)),
        failures,
    }
}

/// What the request expects of the status, in words.
fn wanted_status(req: &PreparedRequest) -> String {
    match req
        .file
        .expect
        .as_ref()
        .and_then(|e| e.status.as_ref())
        .map(|s| &s.value)
    {
        Some(StatusSet::One(s)) => s.to_string(),
        Some(StatusSet::Many(list)) => list
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(" or "),
        None => "2xx".to_string(),
    }
}

/// Why `ex`'s status fails the request's expectation, if it does.
fn status_failure(req: &PreparedRequest, ex: &Exchange) -> Option<String> {
    let expected = req.file.expect.as_ref().and_then(|e| e.status.as_ref());
    let ok = match expected {
        Some(set) => set.value.contains(ex.status),
        None => (200..300).contains(&ex.status),
    };
    (!ok).then(|| {
        format!(
            "{}: status {} (expected {})",
            req.source.path.display(),
            ex.status,
            wanted_status(req)
        )
    })
}
