//! `runner check`: validate profiles, request files and flows without sending anything.

use std::path::{Path, PathBuf};

use crate::error::{Error, InputError};
use crate::project::model::Spanned;
use crate::project::model::flow::FlowFile;
use crate::project::model::profile::Profile;
use crate::project::{self, Document, LoadedProfile, Project, SourceFile};

/// What a layer above loading finds in a loaded profile without sending anything
/// (the env's rule for the URLs that receive credentials).
pub type ProfileHook<'a> = &'a dyn Fn(&LoadedProfile) -> Vec<InputError>;

/// Checks every path (folders recursively) and reports every problem found, with
/// `profile_hook`'s problems for each profile; `on_file(done, total)` after each
/// file. Returns the number of files checked.
pub fn check(
    project: Option<&Project>,
    paths: &[PathBuf],
    profile_hook: ProfileHook<'_>,
    on_file: &dyn Fn(usize, usize),
) -> Result<usize, Error> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            files.extend(project::yaml_files_under(p));
        } else {
            files.push(p.clone());
        }
    }
    if files.is_empty() {
        return Err(InputError::usage("nothing to check: no YAML files found").into());
    }
    let profiles_dir = project.map(|p| p.profiles_dir());
    let mut problems = Vec::new();
    for (done, file) in files.iter().enumerate() {
        on_file(done, files.len());
        if is_profile(file, profiles_dir.as_deref()) {
            match project::load_profile_file(file) {
                Ok(loaded) => {
                    warn_literal_secrets(&loaded.profile, &loaded.source);
                    problems.extend(profile_hook(&loaded));
                }
                Err(list) => problems.extend(list),
            }
            continue;
        }
        match project::load_document(file) {
            Ok(Document::Request(_)) => {}
            Ok(Document::Flow(flow, src)) => problems.extend(check_flow(&flow, &src)),
            Err(list) => problems.extend(list),
        }
    }
    if problems.is_empty() {
        Ok(files.len())
    } else {
        Err(Error::Inputs(problems))
    }
}

fn is_profile(file: &Path, profiles_dir: Option<&Path>) -> bool {
    let parent = file.parent();
    if let (Some(parent), Some(dir)) = (parent, profiles_dir)
        && let (Ok(a), Ok(b)) = (parent.canonicalize(), dir.canonicalize())
    {
        return a == b;
    }
    parent
        .and_then(|p| p.file_name())
        .is_some_and(|n| n == "profiles")
}

/// Each step's file exists, parses, and is not the flow itself. (The flow's own
/// templates and paths were validated when it loaded.)
fn check_flow(flow: &FlowFile, src: &SourceFile) -> Vec<InputError> {
    let mut problems = Vec::new();
    for (i, step) in flow.steps.iter().enumerate() {
        let target = src.dir().join(&step.value.run);
        if !target.is_file() {
            problems.push(InputError::at(
                src.place(step),
                format!("step {}: no such file {}", i + 1, target.display()),
            ));
        } else if target.canonicalize().ok() == src.path.canonicalize().ok() {
            problems.push(InputError::at(
                src.place(step),
                format!("step {}: the flow runs itself", i + 1),
            ));
        } else if let Err(list) = project::load_document(&target) {
            problems.extend(list);
        }
    }
    problems
}

/// Secrets belong in the environment, not in a committed file.
fn warn_literal_secrets(profile: &Profile, src: &SourceFile) {
    if profile.sandbox {
        return;
    }
    let Some(auth) = &profile.auth else { return };
    let a = &auth.value;
    let fields: [(&str, &Option<Spanned<String>>); 4] = [
        ("client_secret", &a.client_secret),
        ("password", &a.password),
        ("token", &a.token),
        ("key", &a.key),
    ];
    for (name, value) in fields {
        if let Some(v) = value
            && !v.value.is_empty()
            && !v.value.contains("{{")
        {
            eprintln!(
                "warning: {}: {name} is a literal; keep secrets out of git with {{{{ env('NAME') }}}}",
                src.place(v)
            );
        }
    }
}

/// Every file `runner check` looks at when given no paths: profiles, requests/ and
/// tests/api/.
pub fn default_paths(project: &Project) -> Vec<PathBuf> {
    let mut paths = project::yaml_files_under(&project.profiles_dir());
    let requests = project.root.join("requests");
    if requests.is_dir() {
        paths.extend(project::yaml_files_under(&requests));
    }
    let tests = project.root.join(crate::run::suite::DEFAULT_DIR);
    if tests.is_dir() {
        paths.extend(project::yaml_files_under(&tests));
    }
    paths
}
