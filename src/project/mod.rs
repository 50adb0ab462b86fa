//! Finding the project root and loading its files: profiles, request files, flows.
//!
//! Loading parses the YAML (serde-saphyr, unknown keys denied) and validates what can
//! be validated without sending anything: body kinds, methods, JSONPath syntax and
//! template syntax. `runner check` and `runner exec` share this code path.
//!
//! This file finds the project; `source` reads a file and parses its YAML,
//! `loaded_profile` and `document` load profiles and request or flow files,
//! `validate` holds the checks both share, `expect_schema` loads the JSON Schemas
//! `expect.schema` names.

pub mod check;
mod document;
pub mod editor_schema;
mod expect_schema;
pub mod limits;
mod loaded_profile;
pub mod model;
mod page_style;
pub mod place;
pub(crate) mod shared_document;
mod source;
pub mod template;
mod validate;

use std::path::{Path, PathBuf};

pub use self::document::{
    Document, PreparedRequest, UrlCache, load_document, parse_document, prepare_request,
    use_step_expect,
};
pub use self::expect_schema::point_root_at;
pub use self::loaded_profile::{LoadedProfile, load_profile_file, parse_profile};
pub use self::page_style::{CursorInto, PageStyle, PaginatePaths};
pub use self::shared_document::SharedDocument;
pub use self::source::{SourceFile, display_path, parse_yaml};
pub use self::validate::{AuthNumbers, HttpNumbers, RequestNumbers};
use crate::error::InputError;

/// The project: the nearest folder, from the current directory up, holding `profiles/`.
#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
}

impl Project {
    /// Uses `explicit` (from `--root` or `RUNNER_ROOT`) or searches upwards.
    pub fn discover(explicit: Option<&Path>) -> Result<Project, InputError> {
        if let Some(root) = explicit {
            if !root.join("profiles").is_dir() {
                return Err(InputError::usage(format!(
                    "--root {}: no profiles/ folder there",
                    root.display()
                )));
            }
            return Ok(Project {
                root: root.to_path_buf(),
            });
        }
        let cwd = std::env::current_dir()
            .map_err(|e| InputError::usage(format!("cannot read the current directory: {e}")))?;
        let mut dir: Option<&Path> = Some(&cwd);
        while let Some(d) = dir {
            if d.join("profiles").is_dir() {
                return Ok(Project {
                    root: d.to_path_buf(),
                });
            }
            dir = d.parent();
        }
        Err(InputError::usage(format!(
            "no project found: no profiles/ folder in {} or above (use --root DIR or RUNNER_ROOT)",
            cwd.display()
        )))
    }

    pub fn profiles_dir(&self) -> PathBuf {
        self.root.join("profiles")
    }

    /// The path of profile `name` (`.yaml`, else `.yml`).
    pub fn profile_path(&self, name: &str) -> Result<PathBuf, InputError> {
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(InputError::usage(format!("invalid profile name `{name}`")));
        }
        let dir = self.profiles_dir();
        for ext in ["yaml", "yml"] {
            let p = dir.join(format!("{name}.{ext}"));
            if p.is_file() {
                return Ok(p);
            }
        }
        let known = self.profile_names();
        Err(InputError::usage(format!(
            "no profile `{name}` in {} (known: {})",
            display_path(&dir).display(),
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )))
    }

    /// The names of every profile, sorted.
    pub fn profile_names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.profiles_dir())
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let p = e.path();
                let ext = p.extension()?.to_str()?;
                if ext == "yaml" || ext == "yml" {
                    Some(p.file_stem()?.to_str()?.to_string())
                } else {
                    None
                }
            })
            .collect();
        names.sort();
        names.dedup();
        names
    }

    pub fn load_profile(&self, name: &str) -> Result<LoadedProfile, Vec<InputError>> {
        let path = self.profile_path(name).map_err(|e| vec![e])?;
        load_profile_file(&path)
    }
}

/// Every `.yaml`/`.yml` file under `dir`, sorted, skipping hidden folders.
pub fn yaml_files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let p = entry.path();
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
