//! What an import writes: YAML documents with `#` comment lines, the plan of files
//! (renamed apart when two share a path), and writing it under the output folder.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::text::one_line;
use crate::error::{Error, InputError};

/// A YAML document: `comments` as `#` lines, then `value` serialised.
pub fn yaml_file<T: Serialize>(comments: &[String], value: &T) -> Result<String, Error> {
    let body = serde_saphyr::to_string(value)
        .map_err(|e| InputError::usage(format!("cannot serialise the imported file: {e}")))?;
    let mut text = String::new();
    for c in comments {
        for line in c.lines() {
            text.push_str("# ");
            text.push_str(&one_line(line, 2000));
            text.push('\n');
        }
    }
    text.push_str(&body);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// What an import will write: paths relative to the output folder, and why things
/// were left out.
#[derive(Debug, Default)]
pub struct Plan {
    pub files: Vec<(PathBuf, Vec<u8>)>,
    pub skipped: Vec<String>,
    taken: std::collections::HashSet<PathBuf>,
}

impl Plan {
    /// Adds a file at `rel`, renaming `name.yaml` to `name_2.yaml`… when the path is
    /// already planned (two operations with one name).
    pub fn add(&mut self, rel: PathBuf, contents: Vec<u8>) -> PathBuf {
        let mut path = rel.clone();
        let mut n = 2;
        while self.taken.contains(&path) {
            let stem = rel.file_stem().and_then(|s| s.to_str()).unwrap_or("file");
            let ext = rel.extension().and_then(|s| s.to_str()).unwrap_or("yaml");
            path = rel.with_file_name(format!("{stem}_{n}.{ext}"));
            n += 1;
        }
        self.taken.insert(path.clone());
        self.files.push((path.clone(), contents));
        path
    }
}

/// Writes `plan` under `out`. Without `force`, nothing is written when any file
/// exists; with `dry_run`, the paths are listed on stdout and nothing is written.
pub fn write_plan(out: &Path, plan: &Plan, force: bool, dry_run: bool) -> Result<(), Error> {
    let existing: Vec<&PathBuf> = plan
        .files
        .iter()
        .map(|(p, _)| p)
        .filter(|p| out.join(p).exists())
        .collect();
    if dry_run {
        let mut o = crate::run::output::Output::new();
        for (p, _) in &plan.files {
            let mark = if existing.contains(&p) {
                if force { " (overwrite)" } else { " (exists)" }
            } else {
                ""
            };
            o.line(&format!("{}{mark}", out.join(p).display()))
                .map_err(|e| Error::io("cannot write to stdout", e))?;
        }
        return Ok(());
    }
    if !force && !existing.is_empty() {
        let list: Vec<String> = existing
            .iter()
            .take(10)
            .map(|p| out.join(p).display().to_string())
            .collect();
        let more = existing.len().saturating_sub(10);
        return Err(InputError::usage(format!(
            "{} file{} already exist{} (nothing written; --force overwrites): {}{}",
            existing.len(),
            if existing.len() == 1 { "" } else { "s" },
            if existing.len() == 1 { "s" } else { "" },
            list.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ))
        .into());
    }
    for (rel, contents) in &plan.files {
        let path = out.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        }
        std::fs::write(&path, contents)
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    }
    std::fs::create_dir_all(out.join("profiles")).map_err(|e| {
        Error::io(
            format!("cannot create {}", out.join("profiles").display()),
            e,
        )
    })?;
    Ok(())
}

/// Where an import writes: `--out`, else the current project's root, else the
/// current folder.
pub fn out_dir(out: Option<&Path>, root: Option<&Path>) -> PathBuf {
    if let Some(o) = out {
        return o.to_path_buf();
    }
    match crate::project::Project::discover(root) {
        Ok(p) => p.root,
        Err(_) => PathBuf::from("."),
    }
}
