//! The user's own configuration, outside any project (SPEC §11): the command that
//! gives each `secret('NAME')`, and where sessions are kept by default.
//!
//! Only this file can name a command to run: it is found through `$RUNNER_CONFIG`,
//! else `$XDG_CONFIG_HOME/runner/config.yaml`, else `~/.config/runner/config.yaml`,
//! never inside a project, so a cloned repository cannot make runner run anything.
//! `command` runs a secret's command (no shell, a timeout, the output registered
//! with the masking point at once, kept for the process only).

mod command;
pub mod private_file;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use serde::Deserialize;

pub use self::command::{CommandFailed, SecretError, secret_value, template_function};
use crate::error::{InputError, Place};
use crate::project::model::profile::TokenStoreKind;
use crate::project::{SourceFile, parse_yaml};

/// How long a secret's command may run when its entry does not say (seconds).
pub const DEFAULT_SECRET_TIMEOUT: u64 = 30;

/// The longest `timeout` a secret's command may be given (seconds).
const MAX_SECRET_TIMEOUT: u64 = 3600;

/// The user configuration file's contents.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// Each secret's name and the command that prints it.
    #[serde(default)]
    pub secrets: BTreeMap<String, SecretCommand>,
    /// Where OAuth2 sessions are kept when a profile does not say.
    pub token_store: Option<TokenStoreKind>,
}

/// `secrets.NAME`: the program and its arguments (no shell), and how long it may run.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretCommand {
    pub command: Vec<String>,
    /// Seconds (default [`DEFAULT_SECRET_TIMEOUT`]).
    pub timeout: Option<u64>,
}

/// The user configuration, as found.
#[derive(Debug)]
pub struct Found {
    /// Where it is (or would be).
    pub path: PathBuf,
    /// Its contents; `None` when there is no such file.
    pub config: Option<UserConfig>,
}

impl Found {
    /// The command of secret `name`, or why there is none (an input problem: exit 2).
    pub fn secret(&self, name: &str) -> Result<&SecretCommand, String> {
        let path = self.path.display();
        match &self.config {
            None => Err(format!(
                "secret `{name}` is not configured: there is no user configuration at {path} (add `secrets: {{{name}: {{command: [...]}}}}` there; RUNNER_CONFIG names another file)"
            )),
            Some(c) => c.secrets.get(name).ok_or_else(|| {
                format!(
                    "secret `{name}` is not configured: {path} has no `secrets.{name}` (its `command` gives the value)"
                )
            }),
        }
    }
}

/// Where the user configuration is: `$RUNNER_CONFIG`, else
/// `$XDG_CONFIG_HOME/runner/config.yaml`, else `~/.config/runner/config.yaml`.
pub fn config_path() -> Option<PathBuf> {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(p) = var("RUNNER_CONFIG") {
        return Some(PathBuf::from(p));
    }
    let base = var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("runner").join("config.yaml"))
}

/// The user configuration, read once per process. A file that does not parse is an
/// input problem at its place.
pub fn load() -> Result<&'static Found, InputError> {
    static FOUND: OnceLock<Result<Found, InputError>> = OnceLock::new();
    match FOUND.get_or_init(read) {
        Ok(f) => Ok(f),
        Err(e) => Err(match e {
            InputError::At { place, message } => InputError::at(place.clone(), message.clone()),
            InputError::Usage(m) => InputError::usage(m.clone()),
        }),
    }
}

fn read() -> Result<Found, InputError> {
    let Some(path) = config_path() else {
        return Err(InputError::usage(
            "no home directory to find the user configuration in: set RUNNER_CONFIG",
        ));
    };
    if !path.exists() {
        return Ok(Found { path, config: None });
    }
    let src = SourceFile::read(&path)?;
    let config: UserConfig = parse_yaml(&src)?;
    for (name, s) in &config.secrets {
        let problem = if s.command.first().is_none_or(|p| p.is_empty()) {
            Some("`command` must name a program (a list: [program, arg, ...])".to_string())
        } else if s.timeout.is_some_and(|t| t == 0 || t > MAX_SECRET_TIMEOUT) {
            Some(format!(
                "`timeout` must be from 1 to {MAX_SECRET_TIMEOUT} seconds"
            ))
        } else {
            None
        };
        if let Some(p) = problem {
            return Err(InputError::at(
                Place::file(&src.path),
                format!("secrets.{name}: {p}"),
            ));
        }
    }
    Ok(Found {
        path,
        config: Some(config),
    })
}

/// `runner check`'s part: every `secret('NAME')` a profile's text names that the
/// user configuration does not configure, at its place. Commands are not run.
pub fn unconfigured_secrets(src: &SourceFile) -> Vec<InputError> {
    let calls = secret_calls(&src.text);
    if calls.is_empty() {
        return Vec::new();
    }
    let found = match load() {
        Ok(f) => f,
        Err(e) => return vec![e],
    };
    calls
        .into_iter()
        .filter_map(|(line, column, name)| {
            let why = found.secret(&name).err()?;
            Some(InputError::at(Place::new(&src.path, line, column), why))
        })
        .collect()
}

/// The literal names of `secret('NAME')` / `secret("NAME")` calls in `text`, with the
/// line and column of each; lines that are YAML comments are skipped.
fn secret_calls(text: &str) -> Vec<(u32, u32, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let mut from = 0;
        while let Some(at) = line[from..].find("secret(") {
            let start = from + at;
            from = start + "secret(".len();
            let before = line[..start].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
                continue;
            }
            let rest = line[from..].trim_start();
            let Some(quote) = rest.chars().next().filter(|c| *c == '\'' || *c == '"') else {
                continue;
            };
            if let Some(end) = rest[1..].find(quote) {
                let column = line[..start].chars().count() as u32 + 1;
                out.push((i as u32 + 1, column, rest[1..1 + end].to_string()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_calls_are_found_with_their_places_and_comments_skipped() {
        let text = "a: \"{{ secret('one') }}\"\n# b: \"{{ secret('no') }}\"\nc: x {{ secret( \"two\" ) }} {{ not_secret('x') }} {{ secret(name) }}\n";
        assert_eq!(
            secret_calls(text),
            vec![(1, 8, "one".to_string()), (3, 9, "two".to_string())]
        );
    }
}
