//! `runner import`: request files and profiles from another format. One module per
//! source format; each builds the writable mirrors of the file formats ([`mirror`])
//! and lets serde serialise them, never YAML by hand. Comments (what could not be
//! expressed as a key) are whole `#` lines above the document ([`plan::yaml_file`]).
//! This file is the command: it reads the source, asks the format for a plan, writes
//! it and prints the summary.

pub mod bruno;
pub mod credential;
pub mod curl;
pub mod har;
pub mod http;
mod input;
pub mod insomnia;
pub mod mirror;
pub mod openapi;
pub mod plan;
pub mod postman;
pub mod text;
pub mod tree;
pub mod tree_write;

use crate::cli::{
    GlobalArgs, ImportBrunoArgs, ImportCommand, ImportCurlArgs, ImportFilesArgs, ImportHarArgs,
    ImportInsomniaArgs, ImportOpenapiArgs, ImportPostmanArgs,
};
use crate::error::{Error, InputError};
use plan::{out_dir, write_plan, yaml_file};

/// `runner import …`.
pub async fn run(global: &GlobalArgs, cmd: &ImportCommand) -> Result<u8, Error> {
    match cmd {
        ImportCommand::Openapi(a) => import_openapi(global, a).await,
        ImportCommand::Curl(a) => import_curl(global, a),
        ImportCommand::Postman(a) => import_postman(global, a),
        ImportCommand::Http(a) => import_http(global, a),
        ImportCommand::Har(a) => import_har(global, a),
        ImportCommand::Insomnia(a) => import_insomnia(global, a),
        ImportCommand::Bruno(a) => import_bruno(global, a),
    }
}

/// `import curl`'s own options (`--out FILE`, `--out=FILE`, `--force`) where they
/// follow the curl command: curl has no such flags, so they are runner's, taken out
/// of the command. Given twice (before and after) is an input error.
fn own_options_after(
    a: &ImportCurlArgs,
) -> Result<(Vec<String>, Option<std::path::PathBuf>, bool), Error> {
    let mut command = Vec::new();
    let mut out = a.out.clone();
    let mut force = a.force;
    let mut words = a.command.iter();
    while let Some(word) = words.next() {
        let value = match word.as_str() {
            "--force" => {
                force = true;
                continue;
            }
            "--out" => Some(words.next().map(String::as_str).ok_or_else(|| {
                InputError::usage(
                    "--out needs a FILE (import curl's --out, after the curl command)",
                )
            })?),
            w => w.strip_prefix("--out="),
        };
        match value {
            Some(_) if out.is_some() => {
                return Err(InputError::usage(
                    "--out is given twice (before and after the curl command)",
                )
                .into());
            }
            Some(v) => out = Some(v.into()),
            None => command.push(word.clone()),
        }
    }
    Ok((command, out, force))
}

/// `runner import openapi`.
async fn import_openapi(global: &GlobalArgs, a: &ImportOpenapiArgs) -> Result<u8, Error> {
    let source = input::read_source(&a.spec).await?;
    let doc = openapi::parse(&source.text, &a.spec)?;
    let progress =
        crate::run::progress::Delayed::new(!global.quiet, "importing {pos}/{len} paths {wide_bar}");
    let planned =
        openapi::plan_with_progress(&doc, &source, &|done, total| progress.set(done, total));
    progress.finish();
    let (plan, summary) = planned?;
    let out = out_dir(a.out.as_deref(), global.root.as_deref());
    write_plan(&out, &plan, a.force, a.dry_run)?;
    if !global.quiet {
        eprintln!(
            "{} {} operation{} into {} request file{}, {} profile{} and the document under {}",
            if a.dry_run {
                "would import"
            } else {
                "imported"
            },
            summary.operations,
            plural(summary.operations),
            summary.requests,
            plural(summary.requests),
            summary.profiles,
            plural(summary.profiles),
            out.join("openapi").display()
        );
        print_skipped(&plan.skipped);
    }
    Ok(0)
}

/// `runner import postman`.
fn import_postman(global: &GlobalArgs, a: &ImportPostmanArgs) -> Result<u8, Error> {
    let what = a.collection.display().to_string();
    let text = input::read_file(&a.collection, &format!("the collection {what}"))?;
    let doc = postman::parse(&text, &what)?;
    let environment = match &a.environment {
        Some(path) => Some(input::read_environment(path)?),
        None => None,
    };
    let (plan, summary) = postman::plan(&doc, environment.as_ref())?;
    let out = out_dir(a.out.as_deref(), global.root.as_deref());
    write_plan(&out, &plan, a.force, a.dry_run)?;
    if !global.quiet {
        eprintln!(
            "{} {} request{} from {} folder{} and a profile into {}",
            if a.dry_run {
                "would import"
            } else {
                "imported"
            },
            summary.requests,
            plural(summary.requests),
            summary.folders,
            plural(summary.folders),
            out.display()
        );
        if !summary.scripts.is_empty() {
            eprintln!(
                "scripts are not run ({}; each is kept as a comment in its request file):",
                summary.scripts.len()
            );
            for s in &summary.scripts {
                eprintln!("  {s}");
            }
        }
        print_skipped(&plan.skipped);
    }
    Ok(0)
}

/// `runner import curl`.
fn import_curl(global: &GlobalArgs, a: &ImportCurlArgs) -> Result<u8, Error> {
    let (command, out, force) = own_options_after(a)?;
    let a = &ImportCurlArgs {
        out,
        force,
        command,
    };
    let imp = curl::import(&a.command, "API")?;
    let text = yaml_file(&imp.comments, &imp.request)?;
    match &a.out {
        Some(path) => {
            if path.exists() && !a.force {
                return Err(InputError::usage(format!(
                    "{} already exists (nothing written; --force overwrites)",
                    path.display()
                ))
                .into());
            }
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
            }
            std::fs::write(path, &text)
                .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
            if !global.quiet {
                eprintln!("wrote {}", path.display());
            }
        }
        None => crate::run::output::Output::new()
            .bytes(text.as_bytes())
            .map_err(|e| Error::io("cannot write to stdout", e))?,
    }
    if !global.quiet {
        if let Some(profile) = &imp.profile {
            let yaml = yaml_file(&[], profile)?;
            eprintln!(
                "the command sends credentials: a profile for them (set the variables it names):\n{}",
                yaml.trim_end()
            );
        }
        if !imp.ignored.is_empty() {
            eprintln!("not imported (runner does not send these, or decides them itself):");
            for i in &imp.ignored {
                eprintln!("  {i}");
            }
        }
    }
    Ok(0)
}

/// `runner import http`.
fn import_http(global: &GlobalArgs, a: &ImportFilesArgs) -> Result<u8, Error> {
    let (plan, summary) = http::plan(&a.paths)?;
    let out = out_dir(a.out.as_deref(), global.root.as_deref());
    write_plan(&out, &plan, a.force, a.dry_run)?;
    if !global.quiet {
        eprintln!(
            "{} {} request{} from {} file{} and {} profile{} into {}",
            if a.dry_run {
                "would import"
            } else {
                "imported"
            },
            summary.requests,
            plural(summary.requests),
            summary.files,
            plural(summary.files),
            summary.profiles,
            plural(summary.profiles),
            out.display()
        );
        print_scripts(&summary.scripts);
        print_skipped(&plan.skipped);
    }
    Ok(0)
}

/// `runner import har`.
fn import_har(global: &GlobalArgs, a: &ImportHarArgs) -> Result<u8, Error> {
    let what = a.file.display().to_string();
    let text = input::read_file(&a.file, &format!("the capture {what}"))?;
    let (plan, summary) = har::plan(&har::parse(&text, &what)?)?;
    let out = out_dir(a.out.as_deref(), global.root.as_deref());
    write_plan(&out, &plan, a.force, a.dry_run)?;
    if !global.quiet {
        eprintln!(
            "{} {} request{} from {} entr{} and {} profile{} into {}",
            if a.dry_run {
                "would import"
            } else {
                "imported"
            },
            summary.requests,
            plural(summary.requests),
            summary.entries,
            if summary.entries == 1 { "y" } else { "ies" },
            summary.profiles,
            plural(summary.profiles),
            out.display()
        );
        print_skipped(&plan.skipped);
    }
    Ok(0)
}

/// `runner import insomnia`.
fn import_insomnia(global: &GlobalArgs, a: &ImportInsomniaArgs) -> Result<u8, Error> {
    let what = a.file.display().to_string();
    let text = input::read_file(&a.file, &format!("the export {what}"))?;
    let (plan, summary) = insomnia::plan(&insomnia::parse(&text, &what)?)?;
    let out = out_dir(a.out.as_deref(), global.root.as_deref());
    write_plan(&out, &plan, a.force, a.dry_run)?;
    if !global.quiet {
        print_tree_summary(&summary, &plan, a.dry_run, &out);
    }
    Ok(0)
}

/// `runner import bruno`.
fn import_bruno(global: &GlobalArgs, a: &ImportBrunoArgs) -> Result<u8, Error> {
    let (plan, summary) = bruno::plan(&a.dir)?;
    let out = out_dir(a.out.as_deref(), global.root.as_deref());
    write_plan(&out, &plan, a.force, a.dry_run)?;
    if !global.quiet {
        print_tree_summary(&summary, &plan, a.dry_run, &out);
    }
    Ok(0)
}

/// The summary of a collection import (Insomnia, Bruno).
fn print_tree_summary(
    s: &tree_write::Summary,
    plan: &plan::Plan,
    dry_run: bool,
    out: &std::path::Path,
) {
    eprintln!(
        "{} {} request{} from {} folder{} and {} profile{} into {}",
        if dry_run { "would import" } else { "imported" },
        s.requests,
        plural(s.requests),
        s.folders,
        plural(s.folders),
        s.profiles,
        plural(s.profiles),
        out.display()
    );
    print_scripts(&s.scripts);
    print_skipped(&plan.skipped);
}

/// The summary's list of scripts, which are never run.
fn print_scripts(scripts: &[String]) {
    if !scripts.is_empty() {
        eprintln!(
            "scripts are not run ({}; each is kept as a comment in its request file):",
            scripts.len()
        );
        for s in scripts {
            eprintln!("  {s}");
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The summary's list of what was left out, and why.
pub fn print_skipped(skipped: &[String]) {
    if skipped.is_empty() {
        return;
    }
    eprintln!("skipped {}:", skipped.len());
    for s in skipped {
        eprintln!("  {s}");
    }
}
