//! A file read as the user should see it named, and its YAML parsed with our limits
//! and our wording of serde-saphyr's messages.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::limits;
use crate::error::{InputError, Place};
use crate::project::model::Spanned;
use crate::project::template::Origin;

/// Events that aliases may replay in one file (the library's default is 1,000,000).
const MAX_ALIAS_REPLAY: usize = 20_000;

/// A file's path (as the user should see it) and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    /// [`SourceFile::dir`], found once: `Path::parent` takes the path apart into its
    /// components, and a bulk run asks for the directory several times a row.
    dir: PathBuf,
}

impl SourceFile {
    pub fn new(path: PathBuf, text: String) -> SourceFile {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        SourceFile { path, text, dir }
    }

    /// Reads `path` as UTF-8 (at most [`limits::YAML_FILE`]), naming the place of the
    /// first invalid byte.
    pub fn read(path: &Path) -> Result<SourceFile, InputError> {
        let shown = display_path(path);
        let bytes = limits::read(path, limits::YAML_FILE)
            .map_err(|e| InputError::at(Place::file(&shown), e.describe("file")))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let good = String::from_utf8_lossy(good);
            let line = good.matches('\n').count() as u32 + 1;
            let column = good.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
            InputError::at(Place::new(&shown, line, column), "file is not valid UTF-8")
        })?;
        Ok(SourceFile::new(shown, text))
    }

    pub fn place<T>(&self, s: &Spanned<T>) -> Place {
        Place::new(
            &self.path,
            s.referenced.line() as u32,
            s.referenced.column() as u32,
        )
    }

    pub fn origin<T>(&self, s: &Spanned<T>) -> Origin<'_> {
        Origin {
            path: &self.path,
            source: &self.text,
            line: s.referenced.line() as u32,
            column: s.referenced.column() as u32,
        }
    }

    /// The directory relative paths in this file resolve against.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// `path` relative to the current directory when it lies below it.
pub fn display_path(path: &Path) -> PathBuf {
    if path.is_absolute()
        && let Ok(cwd) = std::env::current_dir()
        && let Ok(rel) = path.strip_prefix(&cwd)
    {
        return rel.to_path_buf();
    }
    path.to_path_buf()
}

/// Parses YAML text into `T`, with serde-saphyr's limits on and unknown keys denied.
pub fn parse_yaml<T: DeserializeOwned>(src: &SourceFile) -> Result<T, InputError> {
    // Configuration files never need what aliases can expand to: the library's
    // default replay budget let a fuzzed file take seconds before it was refused.
    let options = serde_saphyr::options! {
        with_snippet: false,
        alias_limits: serde_saphyr::alias_limits! { max_total_replayed_events: MAX_ALIAS_REPLAY },
    };
    serde_saphyr::from_str_with_options(&src.text, options).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line() as u32, l.column() as u32))
            .unwrap_or((0, 0));
        let message = yaml_message(&e.to_string());
        InputError::at(Place::new(&src.path, line, column), message)
    })
}

/// serde-saphyr's message without the location it appends (we print our own).
pub(super) fn yaml_message(raw: &str) -> String {
    let first = raw.lines().next().unwrap_or(raw).trim();
    let cut = first
        .find(" at line ")
        .map(|i| &first[..i])
        .unwrap_or(first);
    // Hints addressed to programmers using the library, not to our users.
    let cut = cut.split(", set DuplicateKeyPolicy").next().unwrap_or(cut);
    let cut = cut.split("; use ").next().unwrap_or(cut);
    let plain = match cut {
        "expected mapping start" => "expected a mapping (key: value pairs)",
        "expected sequence start" => "expected a list",
        "invalid floating point" => "expected a number",
        "invalid u32" => "expected a whole number from 0 to 4294967295",
        "unexpected end of input" => "unexpected end of input (is the file empty?)",
        "cannot deserialize null into string" => "expected a string, found null",
        "multiple YAML documents detected" => "a file holds one YAML document; found several (---)",
        other if other.starts_with("alias replay limit exceeded") => {
            return format!(
                "the YAML expands too much through aliases (more than {MAX_ALIAS_REPLAY} replayed events)"
            );
        }
        other if other.starts_with("non-finite float") => {
            return other.replace(
                " rejected by the configured policy",
                " is not allowed here: expected a finite number",
            );
        }
        other if other.starts_with("budget breached") => {
            return format!(
                "the YAML is too large or expands too much through aliases ({})",
                other.trim_start_matches("budget breached: ")
            );
        }
        other => other,
    };
    plain.trim_end_matches(':').to_string()
}
