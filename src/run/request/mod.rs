//! One request: render, send (with the session and the 401 retry), follow pages,
//! extract, check expectations.

mod judge;
mod pages;
mod send;

use serde_json::Value;

use crate::env::Env;
use crate::error::Error;
use crate::expect::assert::Checked;
use crate::http::{Exchange, RenderedRequest, StreamError};
use crate::project::PreparedRequest;
use crate::project::template::Vars;
use crate::run::output::{Output, write_or_pipe};
use crate::run::render::{Overrides, render_request};
use judge::{
    ONE_PASS_MIN, check_expect, extract_object, extract_one_pass, failed, not_json,
    parse_json_body, status_check, status_failure,
};
use pages::Pages;
use send::{log_response, within_grace};
pub use send::{open, send};

use super::Outcome;

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
    run_rendered(env, req, rendered, overrides, items).await
}

/// [`run_request`] for a request already rendered (and looked at: `runner mcp`
/// checks its URL first).
pub async fn run_rendered(
    env: &Env,
    req: &PreparedRequest,
    rendered: RenderedRequest,
    overrides: &Overrides,
    items: Items<'_>,
) -> Result<Outcome, Error> {
    let use_auth = req.file.auth == crate::project::model::request::RequestAuth::Profile;
    let graphql = judge::is_graphql(req);
    let held = req.paginate.is_some() || !req.expect.is_empty() || graphql;
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
    let discard = matches!(items, Items::Discard);
    if discard && req.paginate.is_none() && !graphql && first.body.len() >= ONE_PASS_MIN {
        return Ok(one_pass_outcome(req, first));
    }
    let (first_body, mut failures, checks) = judge_first(req, &first, discard);
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

/// The first answer judged: its JSON body when someone needs it, the failures, and
/// every check. `discard`: nobody will see the body.
fn judge_first(
    req: &PreparedRequest,
    first: &Exchange,
    discard: bool,
) -> (Option<Value>, Vec<String>, Vec<Checked>) {
    // A bulk row shows only what it extracts: its body is parsed only when needed.
    let need_body = !discard
        || !req.extract.is_empty()
        || !req.expect.is_empty()
        || req.paginate.is_some()
        || judge::is_graphql(req);
    let first_body = if need_body {
        parse_json_body(first)
    } else {
        None
    };
    // The status check carries the status failure: each failure is listed once.
    let mut checks = vec![status_check(req, first)];
    checks.extend(check_expect(req, first, first_body.as_ref(), false));
    let mut failures = failed(&checks);
    failures.extend(judge::graphql_failure(req, first_body.as_ref()));
    if first_body.is_none() && !req.extract.is_empty() && failures.is_empty() {
        // An extract of nulls would pass for an answer.
        failures.push(not_json(req, first));
    }
    (first_body, failures, checks)
}

/// The outcome of a large body nobody shows: `extract` and `expect` read it in one
/// pass each, never as a tree.
fn one_pass_outcome(req: &PreparedRequest, first: Exchange) -> Outcome {
    tracing::info!(
        "{} bytes: extract and expect read the body in one pass each",
        first.body.len()
    );
    let (extracted, mut checks, mut failures) = extract_one_pass(req, &first);
    checks.insert(0, status_check(req, &first));
    if let Some(f) = status_failure(req, &first) {
        failures.insert(0, f);
    }
    Outcome {
        exchange: first,
        body: None,
        extracted,
        failures,
        checks,
        streamed: false,
    }
}

/// How much of a streamed body is kept for a failure to show.
const START_KEPT: usize = 64 * 1024;

/// Sends a request whose body nobody needs parsed, streaming the body to `out` (with
/// the head first when asked) or to nowhere, so that its size never matters.
async fn pass_through(
    env: &Env,
    req: &PreparedRequest,
    rendered: &RenderedRequest,
    use_auth: bool,
    mut out: Option<(&mut Output, bool)>,
) -> Result<Outcome, Error> {
    let incoming = open(env, rendered, use_auth).await?;
    // What a reader that went away (`| head`) leaves as the exchange; nothing is
    // written without a sink, so nothing to keep then (a bulk row).
    let head = out.as_ref().map(|_| incoming.head.clone());
    let streamed = out.is_some();
    // The start of the body, kept for a status failure to show (the rest is never
    // held); the status is known before the body, so a passing answer keeps nothing.
    let failing = status_failure(req, &incoming.head).is_some();
    let mut start = Vec::new();
    let mut keep = |b: &[u8]| {
        if failing {
            let room = START_KEPT.saturating_sub(start.len());
            start.extend_from_slice(&b[..b.len().min(room)]);
        }
    };
    if let Some((out, true)) = &mut out {
        write_or_pipe(out.head(&incoming.head))?;
    }
    let result = within_grace(
        rendered,
        std::pin::pin!(async {
            Ok::<_, Error>(
                incoming
                    .stream(&mut |b| {
                        keep(b);
                        match &mut out {
                            Some((out, _)) => out.chunk(b),
                            None => Ok(()),
                        }
                    })
                    .await,
            )
        }),
    )
    .await?;
    if let Some((out, _)) = &mut out {
        write_or_pipe(out.flush())?;
    }
    let mut exchange = match result {
        Ok(ex) => ex,
        // The reader went away (`| head`): what it wanted is written.
        Err(StreamError::Write(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => match head {
            Some(head) => head,
            None => return Err(Error::io("cannot write to stdout", e)),
        },
        Err(StreamError::Write(e)) => return Err(Error::io("cannot write to stdout", e)),
        Err(StreamError::Http(e)) => return Err(e.into()),
    };
    let failures: Vec<String> = status_failure(req, &exchange).into_iter().collect();
    if !failures.is_empty() && exchange.body.is_empty() {
        exchange.body = start.into();
    }
    log_response(&exchange);
    Ok(Outcome {
        failures,
        checks: vec![status_check(req, &exchange)],
        exchange,
        body: None,
        extracted: None,
        streamed,
    })
}
