//! Orchestration: the one place that ties profiles, templates, sessions, HTTP,
//! extraction and output together, one module per way of running.

pub mod account;
pub mod bulk;
pub mod encode;
pub mod explain;
pub mod flow;
pub mod interrupt;
pub mod output;
pub mod paginate;
pub mod preview;
pub mod progress;
pub mod render;
pub mod report;
pub mod request;
pub mod shard;
pub mod suite;

use std::path::Path;

use serde_json::Value;

use crate::cli::{ExecArgs, GlobalArgs, OutputMode};
use crate::env::Env;
use crate::error::Error;
use crate::http::Exchange;
use crate::project::template::Vars;
use crate::project::{self, Document};
use crate::run::bulk::data::DataSet;
use crate::run::output::Output;
use crate::run::render::Overrides;
use crate::run::report::{Case, Report};

pub use flow::run_flow;
pub use request::{Items, open, run_rendered, run_request, send};

/// What one request (all its pages) gave.
pub struct Outcome {
    pub exchange: Exchange,
    /// The parsed JSON body, or the concatenated items of a paginated request.
    pub body: Option<Value>,
    pub extracted: Option<Value>,
    pub failures: Vec<String>,
    /// Every assertion of the first response (status first), passed or not.
    pub checks: Vec<crate::expect::assert::Checked>,
    /// The items were already written as JSON lines.
    pub streamed: bool,
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

/// `runner exec`.
pub async fn exec(global: &GlobalArgs, args: &ExecArgs) -> Result<u8, Error> {
    // First of all: a signal during start-up (a login, the sandbox) must find the
    // handler, or it ends the process before --failed is written.
    interrupt::install();
    let data = match &args.data {
        Some(path) => Some(DataSet::load(path)?),
        None => None,
    };
    if args.dry_run || args.curl {
        crate::project::template::show_unset_env();
    }
    let env = Env::open(global).await?;
    let mut vars = env.vars.clone();
    vars.extend(&crate::run::render::cli_vars(&args.vars_files, &args.vars)?);
    let overrides = Overrides {
        timeout: args.timeout,
        retries: args.retries,
        concurrency: Some(usize::from(args.concurrency)),
    };
    let mut out = Output::new();
    if args.dry_run || args.curl {
        return preview::preview_all(&env, args, data.as_ref(), &vars, &overrides, &mut out).await;
    }
    let started = std::time::Instant::now();
    let mut report = Report {
        run: report::RunInfo::start(&env),
        ..Report::default()
    };
    let job = Job {
        env: &env,
        args,
        vars: &vars,
        overrides: &overrides,
    };
    let result = match &data {
        Some(data) => bulk::exec_bulk(&job, global, data, &mut out, &mut report).await,
        None => exec_files(&job, &mut out, &mut report).await,
    };
    if !args.report.is_empty() {
        report.run.total = started.elapsed();
        report.write_all(&args.report);
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
    // Each failed file's answer, shown after the failures.
    let mut answers = Vec::new();
    for file in &job.args.files {
        let started = std::time::Instant::now();
        let name = file.display().to_string();
        let result = exec_file(job, file, out).await;
        let (status, failure, assertions) = match &result {
            Ok(o) => (
                Some(o.exchange.status),
                (!o.failures.is_empty()).then(|| o.failures.join("\n")),
                o.checks.clone(),
            ),
            Err(e) => (None, Some(e.render().trim_end().to_string()), Vec::new()),
        };
        let mut case = Case::new(
            name.clone(),
            name.clone(),
            status,
            started.elapsed(),
            failure,
        );
        case.assertions = assertions;
        if let (Ok(o), Some(_)) = (&result, &case.failure) {
            case.exchange = Some((format!("{}", o.exchange.url), response_text(&o.exchange)));
        }
        report.push(case);
        let mut outcome = result?;
        if !outcome.failures.is_empty() {
            answers.push(format!(
                "the answer to {name}:\n{}",
                explain::response(&outcome.exchange)
            ));
        }
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
        let mut text = failures_text(&failed);
        for answer in &answers {
            text.push('\n');
            text.push_str(answer);
        }
        Err(Error::Expectation(text))
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

/// Prints what `mode` shows of `o`. The extraction of a failed response is not data:
/// a file with `extract` prints nothing in `body` and `yaml` modes when it failed (its
/// answer is on stderr), and `-o json` shows its `extract` as null.
fn print_outcome(
    out: &mut Output,
    mode: OutputMode,
    include: bool,
    o: &Outcome,
) -> Result<(), Error> {
    let failed = !o.failures.is_empty();
    if failed && o.extracted.is_some() && matches!(mode, OutputMode::Body | OutputMode::Yaml) {
        return Ok(());
    }
    let extracted = if failed { None } else { o.extracted.as_ref() };
    crate::run::output::write_or_pipe(out.exchange(
        mode,
        include,
        &o.exchange,
        o.body.as_ref(),
        extracted,
    ))
}

/// Failures as the error says them: one on the line, several each on its own.
pub fn failures_text(failed: &[String]) -> String {
    match failed {
        [one] => one.clone(),
        many => format!(
            "{} expectations failed:\n  {}",
            many.len(),
            many.join("\n  ")
        ),
    }
}

/// A response as a report shows it: status line, headers (credentials masked), and
/// the start of the body.
pub fn response_text(ex: &Exchange) -> String {
    const MAX_BODY_CHARS: usize = 4096;
    let mut s = ex.status_line();
    s.push('\n');
    for (k, v) in &ex.headers {
        let v = if crate::run::preview::format::is_sensitive_header(k.as_str()) {
            "***".into()
        } else {
            crate::http::header::text(v)
        };
        s.push_str(&format!("{k}: {v}\n"));
    }
    s.push('\n');
    let body = String::from_utf8_lossy(&ex.body);
    s.extend(body.chars().take(MAX_BODY_CHARS));
    if body.chars().count() > MAX_BODY_CHARS {
        s.push_str("\n… (cut)");
    }
    s
}
