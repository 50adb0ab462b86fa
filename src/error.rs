//! The top-level error, its exit code (SPEC §7) and its rendering.
//!
//! Errors that come from a user's file carry the path and, where known, the line
//! and column; they render like rustc: a headline, the `--> path:line:col` pointer,
//! the offending source line and a caret. Only this module picks exit codes.

use std::fmt::Write as _;
use std::path::Path;

use crate::auth::AuthError;
use crate::http::HttpError;
use crate::secret;

pub use crate::project::place::Place;

/// Invalid input: files, templates, JSONPath, the command line. Exit 2.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{message}")]
    At { place: Place, message: String },
    #[error("{0}")]
    Usage(String),
}

impl InputError {
    pub fn at(place: Place, message: impl Into<String>) -> Self {
        InputError::At {
            place,
            message: message.into(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        InputError::Usage(message.into())
    }

    pub fn place(&self) -> Option<&Place> {
        match self {
            InputError::At { place, .. } => Some(place),
            InputError::Usage(_) => None,
        }
    }
}

impl From<crate::project::template::TemplateError> for InputError {
    fn from(e: crate::project::template::TemplateError) -> Self {
        InputError::at(e.place, e.message)
    }
}

impl From<crate::project::template::TemplateError> for Error {
    fn from(e: crate::project::template::TemplateError) -> Self {
        if e.secret_command {
            Error::SecretCommand(InputError::at(e.place, e.message))
        } else {
            Error::Input(e.into())
        }
    }
}

/// Everything `runner` can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Input(#[from] InputError),
    /// Several input problems at once (`runner check` lists them all).
    #[error("{} problems", .0.len())]
    Inputs(Vec<InputError>),
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// A `secret('NAME')` command failed, at the template that asked for it. Exit 3.
    #[error(transparent)]
    SecretCommand(InputError),
    #[error(transparent)]
    Http(#[from] HttpError),
    /// A response failed an expectation; the body was already printed.
    #[error("{0}")]
    Expectation(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    /// A signal stopped the run. `cut`: a request was in flight past the grace period
    /// (it may or may not have been processed).
    #[error("{message}")]
    Interrupted {
        signal: i32,
        cut: bool,
        message: String,
    },
}

impl Error {
    /// One input error as itself, several as a list.
    pub fn from_inputs(mut list: Vec<InputError>) -> Self {
        if list.len() == 1 {
            Error::Input(list.remove(0))
        } else {
            Error::Inputs(list)
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// The process exit code of SPEC §7.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Expectation(_) => 1,
            Error::Input(_) | Error::Inputs(_) => 2,
            // The token endpoint could not be reached: a transport failure.
            Error::Auth(AuthError::Transport(_)) => 4,
            Error::Auth(AuthError::Unrendered {
                secret_command: false,
                ..
            }) => 2,
            Error::Auth(_) | Error::SecretCommand(_) => 3,
            Error::Http(_) => 4,
            // Writing our own files (output, reports) failed: treat as invalid input
            // of the environment rather than a transport failure.
            Error::Io { .. } => 2,
            Error::Interrupted { signal, .. } => crate::run::interrupt::exit_code(*signal),
        }
    }

    /// The first line of the rendering, without `error: `: what a one-line report
    /// (a bulk row, a note, a listing) says of this error.
    pub fn headline(&self) -> String {
        let text = self.render();
        let first = text.lines().next().unwrap_or("");
        first.trim_start_matches("error: ").to_string()
    }

    /// The text printed on stderr, secrets masked.
    pub fn render(&self) -> String {
        let mut out = String::new();
        match self {
            Error::Input(e) | Error::SecretCommand(e) => render_input(&mut out, e),
            Error::Inputs(list) => {
                for e in list {
                    render_input(&mut out, e);
                }
                let _ = writeln!(
                    out,
                    "error: {} problem{} found",
                    list.len(),
                    if list.len() == 1 { "" } else { "s" }
                );
            }
            Error::Auth(AuthError::Unrendered { place, message, .. }) => {
                render_input(&mut out, &InputError::at(place.clone(), message.clone()));
            }
            Error::Auth(e) => {
                let _ = writeln!(out, "error: {e}");
            }
            Error::Http(e) => {
                let _ = writeln!(out, "error: {e}");
            }
            Error::Expectation(msg) => {
                let _ = writeln!(out, "error: {msg}");
            }
            Error::Io { context, source } => {
                let _ = writeln!(out, "error: {context}: {source}");
            }
            Error::Interrupted { message, .. } => {
                let _ = writeln!(out, "{message}");
            }
        }
        secret::redact(&out)
    }
}

fn render_input(out: &mut String, e: &InputError) {
    let _ = writeln!(out, "error: {e}");
    if let Some(place) = e.place() {
        let _ = writeln!(out, "  --> {place}");
        if let Some(snippet) = snippet(&place.path, place.line, place.column) {
            out.push_str(&snippet);
        }
    }
}

/// The source line at `line` with a caret under `column`, rustc style.
fn snippet(path: &Path, line: u32, column: u32) -> Option<String> {
    if line == 0 {
        return None;
    }
    // A pipe or a device cannot be read twice (and may never end): only files are.
    if !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let bytes = crate::project::limits::read(path, crate::project::limits::YAML_FILE).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let src = text.lines().nth(line as usize - 1)?;
    // Long lines are cut: a snippet is for reading, not for dumping data.
    let src: String = src.chars().take(200).collect();
    let src = hide_written_secrets(&src);
    let width = line.to_string().len();
    let mut s = String::new();
    let _ = writeln!(s, "{:width$} |", "");
    let _ = writeln!(s, "{line:>width$} | {src}");
    if column > 0 {
        let pad: String = src
            .chars()
            .take(column as usize - 1)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let _ = writeln!(s, "{:width$} | {pad}^", "");
    }
    Some(s)
}

/// A snippet's line with the values of credential keys (`password: …`,
/// `client_secret: …`, `token: …`) written as `***`: a file that does not parse never
/// gets as far as registering its secrets with the masking point, so its snippet hides
/// them by their keys. Templates (`"{{ env('X') }}"`) are names, not secrets, and stay.
fn hide_written_secrets(line: &str) -> String {
    static KEY_VALUE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let Some(re) = KEY_VALUE.get_or_init(|| {
        regex::Regex::new(
            r#"(?i)([A-Za-z0-9_-]*(?:password|secret|token|private_key|passphrase|api_key|apikey|assertion|cookie|credential)[A-Za-z0-9_-]*["']?\s*:[ \t]+)("(?:[^"\\]|\\.)*"?|'(?:[^']|'')*'?|\S.*)"#,
        )
        .ok()
    }) else {
        return line.to_string();
    };
    re.replace_all(line, |c: &regex::Captures| {
        let value = &c[2];
        if value.contains("{{") {
            c[0].to_string()
        } else {
            format!("{}***", &c[1])
        }
    })
    .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snippet_hides_the_values_of_credential_keys_but_not_templates() {
        for (line, want) in [
            ("  password: p@ss: word & <x>", "  password: ***"),
            (
                "auth: {client_secret: 's''q', username: u}",
                "auth: {client_secret: ***, username: u}",
            ),
            (r#"  token: "a\"b" # note"#, "  token: *** # note"),
            ("  private_key: '-----BEGIN", "  private_key: ***"),
            (
                "  client_pkcs12_password: \"{{ env('P') }}\"",
                "  client_pkcs12_password: \"{{ env('P') }}\"",
            ),
            ("  username: demo", "  username: demo"),
        ] {
            assert_eq!(hide_written_secrets(line), want, "{line}");
        }
    }

    #[test]
    fn input_errors_render_with_snippet_and_caret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.yaml");
        std::fs::write(&path, "method: GET\nmetod: POST\n").unwrap();
        let e = Error::from(InputError::at(
            Place::new(&path, 2, 1),
            "unknown field `metod`",
        ));
        let text = e.render();
        assert!(text.starts_with("error: unknown field `metod`\n"), "{text}");
        assert!(text.contains("2 | metod: POST\n  | ^\n"), "{text}");
        assert_eq!(e.exit_code(), 2);
    }
}
