//! `runner test`: request and flow files as tests, `--jobs` files at a time, one
//! line per file and a summary on stderr.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use crate::cli::{GlobalArgs, TestArgs};
use crate::env::Env;
use crate::error::{Error, InputError};
use crate::project::template::Vars;
use crate::project::{self, Document, Project};
use crate::run::render::Overrides;
use crate::run::report::{Case, Report};

use super::flow::run_flow;
use super::request::{Items, run_request};

/// Where `runner test` looks when given no paths, under the project root.
pub const DEFAULT_DIR: &str = "tests/api";

/// What one file gave.
pub struct FileResult {
    pub path: PathBuf,
    pub time: Duration,
    pub status: Option<u16>,
    /// Every assertion of the file's (last) response; empty for a flow or an error.
    pub checks: Vec<crate::expect::assert::Checked>,
    /// Each failure in full; empty when the file passed.
    pub failures: Vec<String>,
    /// For a failed request file: the request (masked) and the response.
    pub exchange: Option<(String, String)>,
}

impl FileResult {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// `runner test`.
pub async fn test(global: &GlobalArgs, args: &TestArgs) -> Result<u8, Error> {
    let files = test_files(global, &args.paths)?;
    let all = files.len();
    let files = match args.shard {
        Some(shard) => files[shard.range(files.len())].to_vec(),
        None => files,
    };
    let docs = load_all(&files)?;
    let env = Env::open(global).await?;
    crate::run::interrupt::install();
    let mut vars = env.vars.clone();
    vars.extend(&crate::run::render::cli_vars(&[], &args.vars)?);
    let overrides = Overrides {
        timeout: None,
        retries: None,
        concurrency: None,
    };
    if let (Some(shard), false) = (args.shard, global.quiet) {
        eprintln!("shard {shard}: {} of {all} files", docs.len());
    }
    let started = Instant::now();
    let total = docs.len();
    let results = run_all(&env, &docs, &vars, &overrides, args, global.quiet).await;
    let passed = results.iter().filter(|r| r.passed()).count();
    let failed = results.len() - passed;
    let skipped = total - results.len();
    if !global.quiet {
        let mut line = format!("{passed} passed, {failed} failed");
        if skipped > 0 {
            line.push_str(&format!(", {skipped} skipped"));
        }
        eprintln!("{line} ({} ms)", started.elapsed().as_millis());
    }
    if !args.report.is_empty() {
        let mut report = Report {
            run: crate::run::report::RunInfo::start(&env),
            ..Report::default()
        };
        report.run.total = started.elapsed();
        report.run.started = report
            .run
            .started
            .saturating_sub(report.run.total.as_secs());
        for r in &results {
            report.push(case(r));
        }
        report.write_all(&args.report);
    }
    if let Some(signal) = crate::run::interrupt::requested() {
        return Err(Error::Interrupted {
            signal,
            cut: false,
            message: format!("interrupted: {passed} passed, {failed} failed, {skipped} not run"),
        });
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

/// Every file, loaded before anything is sent: invalid input is exit 2, whole.
fn load_all(files: &[PathBuf]) -> Result<Vec<(PathBuf, Document)>, Error> {
    let mut docs = Vec::with_capacity(files.len());
    let mut problems = Vec::new();
    for f in files {
        match project::load_document(f) {
            Ok(d) => docs.push((f.clone(), d)),
            Err(mut list) => problems.append(&mut list),
        }
    }
    if !problems.is_empty() {
        return Err(Error::from_inputs(problems));
    }
    Ok(docs)
}

/// Runs the files, `--jobs` at a time, each result said as it comes (in order);
/// with `--bail`, none after the first failure.
async fn run_all(
    env: &Env,
    docs: &[(PathBuf, Document)],
    vars: &Vars,
    overrides: &Overrides,
    args: &TestArgs,
    quiet: bool,
) -> Vec<FileResult> {
    let total = docs.len();
    let mut results: Vec<FileResult> = Vec::with_capacity(total);
    let progress = crate::run::progress::Progress::new(
        !quiet,
        Some(total as u64),
        "{bar:30} {pos}/{len} files, {msg}",
    );
    {
        let mut runs = futures_util::stream::iter(docs.iter())
            .map(|(path, doc)| run_file(env, path, doc, vars, overrides))
            .buffered(usize::from(args.jobs).max(1));
        while let Some(r) = runs.next().await {
            if !quiet {
                progress.print(&file_lines(&r));
            }
            let failed = !r.passed();
            results.push(r);
            let failures = results.iter().filter(|r| !r.passed()).count();
            progress.set(results.len() as u64, || format!("{failures} failed"));
            if failed && args.bail {
                break;
            }
        }
    }
    progress.finish();
    results
}

/// The files under `paths` (default: the project's tests/api/), sorted by path, each
/// once.
fn test_files(global: &GlobalArgs, paths: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let roots = if paths.is_empty() {
        let project = Project::discover(global.root.as_deref())
            .map_err(|e| InputError::usage(e.to_string()))?;
        let dir = project.root.join(DEFAULT_DIR);
        if !dir.is_dir() {
            return Err(InputError::usage(format!(
                "no {DEFAULT_DIR}/ folder in {}: give files or folders to test",
                project::display_path(&project.root).display()
            ))
            .into());
        }
        vec![project::display_path(&dir)]
    } else {
        paths.to_vec()
    };
    let mut files = Vec::new();
    for root in &roots {
        if root.is_dir() {
            files.extend(project::yaml_files_under(root));
        } else if root.exists() {
            files.push(root.clone());
        } else {
            return Err(
                InputError::usage(format!("{}: no such file or folder", root.display())).into(),
            );
        }
    }
    files.sort();
    files.dedup();
    if files.is_empty() {
        return Err(InputError::usage("no request or flow files to test").into());
    }
    Ok(files)
}

/// Runs one file; whatever goes wrong is the file's failure, not the run's.
async fn run_file(
    env: &Env,
    path: &Path,
    doc: &Document,
    vars: &Vars,
    overrides: &Overrides,
) -> FileResult {
    let started = Instant::now();
    let mut vars = vars.clone();
    let outcome = match doc {
        Document::Request(req) => run_request(env, req, &vars, overrides, Items::Discard).await,
        Document::Flow(flow, src) => run_flow(env, flow, src, &mut vars, overrides, 1).await,
    };
    let time = started.elapsed();
    match outcome {
        Ok(o) => {
            let exchange = match (doc, o.failures.is_empty()) {
                (Document::Request(req), false) => Some((
                    shown_request(env, req, &vars, overrides),
                    super::response_text(&o.exchange),
                )),
                _ => None,
            };
            FileResult {
                path: path.to_path_buf(),
                time,
                status: Some(o.exchange.status),
                checks: o.checks,
                failures: o.failures,
                exchange,
            }
        }
        Err(e) => FileResult {
            path: path.to_path_buf(),
            time,
            status: None,
            checks: Vec::new(),
            exchange: None,
            failures: vec![match e {
                Error::Expectation(text) => text,
                other => other
                    .render()
                    .trim_end()
                    .trim_start_matches("error: ")
                    .to_string(),
            }],
        },
    }
}

/// The request of a failed file as a report shows it, credentials masked (rendered
/// again: what a report needs is the shape of what was sent).
fn shown_request(
    env: &Env,
    req: &crate::project::PreparedRequest,
    vars: &Vars,
    overrides: &Overrides,
) -> String {
    match crate::run::render::render_request(env, req, vars, overrides) {
        Ok(r) => {
            let auth = (req.file.auth == crate::project::model::request::RequestAuth::Profile)
                .then(|| super::preview::auth_header(env, false))
                .flatten();
            let auth = auth.as_ref().map(|(k, v)| (k.as_str(), v.as_str()));
            crate::run::preview::format::dry_run(&r, auth, env.client.credentials(), false)
        }
        Err(e) => e.headline(),
    }
}

/// `PASS path (12 ms)`, or `FAIL …` and each failure indented below it.
fn file_lines(r: &FileResult) -> String {
    let mut s = format!(
        "{} {} ({} ms)\n",
        if r.passed() { "PASS" } else { "FAIL" },
        r.path.display(),
        r.time.as_millis()
    );
    for f in &r.failures {
        for line in f.lines() {
            s.push_str("    ");
            s.push_str(line);
            s.push('\n');
        }
    }
    s
}

fn case(r: &FileResult) -> Case {
    let name = r.path.display().to_string();
    let mut c = Case::new(
        name.clone(),
        name,
        r.status,
        r.time,
        (!r.passed()).then(|| r.failures.join("\n")),
    );
    c.assertions = r.checks.clone();
    c.exchange = r.exchange.clone();
    c
}
