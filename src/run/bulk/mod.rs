//! `exec --data`: the file once per row.

pub mod data;
mod line;

use std::collections::HashSet;
use std::path::Path;

use self::data::DataSet;
use crate::cli::{ExecArgs, GlobalArgs, OutputMode};
use crate::env::Env;
use crate::error::{Error, InputError};
use crate::project::place::Place;
use crate::project::template::Vars;
use crate::project::{self, Document};
use crate::run::output::{Output, write_or_pipe};
use crate::run::render::Overrides;
use crate::run::report::{Case, Report};

use crate::run::Job;
use crate::run::flow::run_flow;
use crate::run::request::{Items, run_request};

/// `exec --data`: one run of the file per row, one JSON line per row, each flushed as
/// it is written so that even a killed run leaves a line for every row it finished.
pub(super) async fn exec_bulk(
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
    let rows = rows_to_run(args, global, data)?;
    // Rows that ran and succeeded; every other row is written to --failed.
    let mut succeeded = HashSet::new();
    let result = data::run(
        &rows,
        usize::from(args.concurrency),
        !global.quiet,
        |row| {
            run_row(
                env,
                &doc,
                vars,
                row,
                overrides,
                args.output == OutputMode::Json,
            )
        },
        |row, result| {
            // Only --failed reads them.
            if result.ok && args.failed.is_some() {
                succeeded.insert(row.number);
            }
            if !args.report.is_empty() {
                let mut case = Case::new(
                    format!("row {}", row.number),
                    file.display().to_string(),
                    result.status,
                    result.elapsed,
                    result.error.clone(),
                );
                case.assertions = result.checks.clone();
                report.push(case);
            }
            if args.output == OutputMode::None {
                return Ok(());
            }
            write_or_pipe(out.json_line(&result.to_json(&row.vars)))?;
            write_or_pipe(out.flush())
        },
    )
    .await;
    write_or_pipe(out.flush())?;
    // Written whatever happened: an authentication error or a signal mid-run must not
    // lose the record of which rows are left.
    if let Some(path) = &args.failed {
        write_failed(path, data, &rows, &succeeded, global.quiet)?;
    }
    outcome(result?, global.quiet)
}

/// The rows this run owns (its `--shard` of the whole input), less those an earlier
/// run finished (`--resume`).
fn rows_to_run<'d>(
    args: &ExecArgs,
    global: &GlobalArgs,
    data: &'d DataSet,
) -> Result<Vec<&'d data::Row>, Error> {
    let done_before = match &args.resume {
        Some(path) => resumed_rows(path)?,
        None => Default::default(),
    };
    // A shard is cut from the whole input, before --resume: each CI job then always
    // owns the same rows.
    let share = match args.shard {
        Some(shard) => &data.rows[shard.range(data.rows.len())],
        None => &data.rows[..],
    };
    if let (Some(shard), false) = (args.shard, global.quiet) {
        eprintln!("shard {shard}: {} of {} rows", share.len(), data.rows.len());
    }
    let rows: Vec<&data::Row> = share
        .iter()
        .filter(|r| !done_before.contains(&r.number))
        .collect();
    if !global.quiet && args.resume.is_some() {
        eprintln!(
            "resuming: {} rows already done, {} to run",
            share.len() - rows.len(),
            rows.len()
        );
    }
    Ok(rows)
}

/// `--failed FILE`: the rows of `rows` that did not succeed, in the input's format.
fn write_failed(
    path: &Path,
    data: &DataSet,
    rows: &[&data::Row],
    succeeded: &HashSet<usize>,
    quiet: bool,
) -> Result<(), Error> {
    let left: Vec<&data::Row> = rows
        .iter()
        .copied()
        .filter(|r| !succeeded.contains(&r.number))
        .collect();
    data.write_rows(path, &left)
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    if !quiet && !left.is_empty() {
        eprintln!(
            "{} rows to run again written to {}",
            left.len(),
            path.display()
        );
    }
    Ok(())
}

/// The run's exit: interrupted, some rows failed, or all passed (said on stderr).
fn outcome(summary: data::Summary, quiet: bool) -> Result<u8, Error> {
    if let Some(signal) = summary.interrupted {
        return Err(Error::Interrupted {
            signal,
            cut: false,
            message: summary.line(),
        });
    }
    if !quiet {
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
fn resumed_rows(path: &Path) -> Result<HashSet<usize>, Error> {
    let shown = project::display_path(path);
    let bytes = crate::project::limits::read(path, crate::project::limits::DATA_FILE)
        .map_err(|e| InputError::at(Place::file(&shown), e.describe("the --resume file")))?;
    Ok(data::succeeded_rows(&bytes))
}

/// One row of a bulk run. Authentication errors stop the run; any other failure is
/// the row's own.
/// `whole`: the row's line carries the whole exchange (`-o json`).
async fn run_row(
    env: &Env,
    doc: &Document,
    vars: &Vars,
    row: &data::Row,
    overrides: &Overrides,
    whole: bool,
) -> Result<data::RowResult, Error> {
    let started = std::time::Instant::now();
    // The row's fields over the run's variables, neither copied.
    let mut vars = Vars::over(vars, row.vars.clone());
    let items = if whole { Items::Keep } else { Items::Discard };
    let outcome = match doc {
        Document::Request(req) => run_request(env, req, &vars, overrides, items).await,
        Document::Flow(flow, src) => run_flow(env, flow, src, &mut vars, overrides, 1).await,
    };
    let mut result = data::RowResult {
        row: row.number,
        status: None,
        ok: false,
        extract: None,
        error: None,
        elapsed: started.elapsed(),
        checks: Vec::new(),
        exchange: None,
    };
    match outcome {
        Ok(o) => {
            result.ok = o.failures.is_empty();
            result.status = Some(o.exchange.status);
            if !result.ok {
                let mut error = o.failures.join("; ");
                // The server's own words, when its body has them.
                if let Some(said) = crate::run::explain::server_message(&o.exchange.body) {
                    error.push_str(&format!("; the server said: {said}"));
                }
                result.error = Some(error);
            }
            if whole {
                let extracted = if result.ok {
                    o.extracted.as_ref()
                } else {
                    None
                };
                result.exchange = Some(crate::run::output::exchange_json(
                    &o.exchange,
                    o.body.as_ref(),
                    extracted,
                ));
            }
            result.extract = if result.ok { o.extracted } else { None };
            result.checks = o.checks;
        }
        Err(e @ (Error::Auth(_) | Error::Interrupted { cut: false, .. })) => return Err(e),
        Err(e) => result.error = Some(e.headline()),
    }
    Ok(result)
}
