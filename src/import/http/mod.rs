//! `runner import http`: JetBrains / VS Code REST Client `.http` and `.rest` files to
//! request files (one folder per source file), `http-client.env.json` environments
//! to profiles, file variables to the profile's `vars`. Scripts are never run: each
//! is listed and kept as a comment.
//!
//! `parse` reads the dialect, `template` turns its `{{…}}` into runner's, `env`
//! reads the environment files, `request` builds each request file.

mod env;
mod parse;
mod request;
mod template;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use crate::error::{Error, InputError};
use crate::import::credential::is_secret_name;
use crate::import::input::read_file;
use crate::import::mirror::{AuthOut, Literal, LiteralValue, ProfileOut};
use crate::import::plan::{Plan, yaml_file};
use crate::import::text::{env_prefix, env_template, ident, one_line};
use template::Conv;

/// The outcome of an import, for the summary.
#[derive(Debug, Default)]
pub struct Summary {
    pub requests: usize,
    pub files: usize,
    pub profiles: usize,
    pub scripts: Vec<String>,
}

/// How deep a folder is searched for `.http` files.
const MAX_DEPTH: usize = 16;

/// The `.http`/`.rest` files named (folders searched), each with its path relative
/// to where it was found, and the folder whose env files count.
fn sources(paths: &[PathBuf]) -> Result<(Vec<(PathBuf, PathBuf)>, PathBuf), Error> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, p, 0, &mut out);
        } else if p.is_file() {
            out.push((p.clone(), PathBuf::from(p.file_name().unwrap_or_default())));
        } else {
            return Err(
                InputError::usage(format!("{}: no such file or folder", p.display())).into(),
            );
        }
    }
    if out.is_empty() {
        return Err(InputError::usage("no .http or .rest file found".to_string()).into());
    }
    let first = &paths[0];
    let env_dir = if first.is_dir() {
        first.clone()
    } else {
        first.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    Ok((out, env_dir))
}

fn walk(root: &Path, dir: &Path, depth: usize, out: &mut Vec<(PathBuf, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() && depth < MAX_DEPTH {
            walk(root, &p, depth + 1, out);
        } else if p.extension().is_some_and(|e| e == "http" || e == "rest") {
            let rel = p.strip_prefix(root).unwrap_or(&p).to_path_buf();
            out.push((p, rel));
        }
    }
}

/// Builds the plan of files for the `.http` files and folders in `paths`.
pub fn plan(paths: &[PathBuf]) -> Result<(Plan, Summary), Error> {
    let (files, env_dir) = sources(paths)?;
    // The name (and `env()` prefix): the folder's, or the first file's.
    let named = if paths[0].is_dir() {
        paths[0].canonicalize().ok()
    } else {
        Some(paths[0].with_extension(""))
    };
    let name = named
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "http".to_string());
    let prefix = env_prefix(&name);
    let mut parsed = Vec::new();
    for (path, rel) in &files {
        let what = path.display().to_string();
        let bytes = read_file(path, &format!("the file {what}"))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| InputError::usage(format!("{what}: not UTF-8 text")))?;
        parsed.push((path.clone(), rel.clone(), parse::parse(&text)));
    }
    // File variables: the first value of each name goes to the profile; a file that
    // gives a name another value has it written in place.
    let mut globals: IndexMap<String, String> = IndexMap::new();
    let mut inlines = Vec::new();
    for (_, _, f) in &parsed {
        let mut inline = HashMap::new();
        for (k, v, _) in &f.vars {
            match globals.get(k) {
                Some(g) if g != v => {
                    inline.insert(k.clone(), v.clone());
                }
                Some(_) => {}
                None => {
                    globals.insert(k.clone(), v.clone());
                }
            }
        }
        inlines.push(inline);
    }
    let mut b = request::Builder::new(prefix.clone());
    for ((path, rel, f), inline) in parsed.iter().zip(inlines) {
        b.file(path, rel, f, &inline);
    }
    let envs = env::environments(&env_dir, &prefix)?;
    let base = b.base_url();
    let mut summary = Summary {
        requests: b.requests,
        files: files.len(),
        scripts: std::mem::take(&mut b.scripts),
        ..Summary::default()
    };
    let mut plan = std::mem::take(&mut b.plan);
    let shared = Shared {
        name: &name,
        prefix: &prefix,
        vars: file_vars(&globals, &prefix),
        base,
        auth: b.auth.clone(),
    };
    summary.profiles = shared.profiles(envs, &mut plan)?;
    plan.skipped.append(&mut b.skipped);
    Ok((plan, summary))
}

/// What every profile takes: the file variables, the base URL, the auth.
struct Shared<'a> {
    name: &'a str,
    prefix: &'a str,
    vars: (IndexMap<String, LiteralValue>, Vec<String>),
    base: Base,
    auth: Option<AuthOut>,
}

impl Shared<'_> {
    /// A profile per environment (`default` when there is none); how many.
    fn profiles(&self, envs: Vec<env::Environment>, plan: &mut Plan) -> Result<usize, Error> {
        let prefix = self.prefix;
        let mut profiles = envs;
        if profiles.is_empty() {
            profiles.push(env::Environment {
                name: "default".to_string(),
                ..env::Environment::default()
            });
        }
        let count = profiles.len();
        for mut e in profiles {
            let mut vars = self.vars.0.clone();
            vars.extend(std::mem::take(&mut e.vars));
            let mut comments = self.vars.1.clone();
            comments.append(&mut e.comments);
            let base_url = match &self.base {
                Base::Var(v) => crate::import::text::var_template(v),
                Base::Origin(o) => Literal::text(o),
                Base::None => {
                    comments.push(format!(
                        "the requests name no common base URL: set {prefix}_BASE_URL"
                    ));
                    env_template(&format!("{prefix}_BASE_URL"), Some("http://localhost"))
                }
            };
            let profile = ProfileOut {
                description: Some(one_line(
                    &format!("{}: environment {}", self.name, e.name),
                    200,
                )),
                base_url,
                vars,
                auth: e.auth.take().or_else(|| self.auth.clone()),
            };
            let text = yaml_file(&comments, &profile)?;
            plan.add(
                PathBuf::from(format!("profiles/{}.yaml", e.name)),
                text.into_bytes(),
            );
        }
        Ok(count)
    }
}

/// The base URL every profile takes: a variable most URLs start with, else the
/// origin most absolute URLs share.
pub(crate) enum Base {
    Var(String),
    Origin(String),
    None,
}

/// The file variables as profile `vars` (secret-looking names as `env()` templates),
/// with the comments that say so.
fn file_vars(
    globals: &IndexMap<String, String>,
    prefix: &str,
) -> (IndexMap<String, LiteralValue>, Vec<String>) {
    let mut vars = IndexMap::new();
    let mut comments = Vec::new();
    for (k, v) in globals {
        let var = ident(k);
        let value = if is_secret_name(k) && !crate::import::credential::is_reference(v) {
            let env = format!("{prefix}_{}", var.to_ascii_uppercase());
            comments.push(format!("vars.{var}: a secret, read from {env}"));
            LiteralValue::from(env_template(&env, None))
        } else {
            LiteralValue::from(Conv::default().template(v))
        };
        vars.insert(var, value);
    }
    (vars, comments)
}
