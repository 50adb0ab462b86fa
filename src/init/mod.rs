//! `runner init [DIR]`: a project a newcomer can run at once. A sandbox profile
//! (`default`), a commented profile for a real API with each grant, two requests, a
//! test with a JSON Schema, the editor schemas and a `.gitignore`. Nothing that
//! exists is overwritten without `--force`. A command of its own, beside `import/`: it writes files
//! of runner's own making, reads no other tool's, and sends nothing.

use std::path::{Path, PathBuf};

use crate::cli::{GlobalArgs, InitArgs};
use crate::error::Error;
use crate::import::plan::{Plan, write_plan};

/// The files of a new project: path, contents.
fn files() -> Vec<(&'static str, String)> {
    let schema = |v: serde_json::Value| serde_json::to_string_pretty(&v).unwrap_or_default() + "\n";
    vec![
        (
            "profiles/default.yaml",
            include_str!("files/default.yaml").to_string(),
        ),
        (
            "profiles/api.yaml",
            include_str!("files/api.yaml").to_string(),
        ),
        (
            "requests/list_assets.yaml",
            include_str!("files/list_assets.yaml").to_string(),
        ),
        (
            "requests/create_asset.yaml",
            include_str!("files/create_asset.yaml").to_string(),
        ),
        (
            "tests/api/assets.yaml",
            include_str!("files/test_assets.yaml").to_string(),
        ),
        (
            "schemas/asset_page.json",
            include_str!("files/asset_page.json").to_string(),
        ),
        (
            "schema/request.json",
            schema(crate::project::editor_schema::request()),
        ),
        (
            "schema/profile.json",
            schema(crate::project::editor_schema::profile()),
        ),
        (".gitignore", include_str!("files/gitignore").to_string()),
    ]
}

/// `runner init`.
pub fn run(global: &GlobalArgs, a: &InitArgs) -> Result<u8, Error> {
    let dir = a.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let mut plan = Plan::default();
    for (path, text) in files() {
        plan.add(PathBuf::from(path), text.into_bytes());
    }
    write_plan(&dir, &plan, a.force, false)?;
    if !global.quiet {
        let cd = if dir == Path::new(".") {
            String::new()
        } else {
            format!("cd {} && ", dir.display())
        };
        eprintln!(
            "created a runner project in {} ({} files)\ntry: {cd}runner exec requests/list_assets.yaml   (the built-in sandbox; no account needed)\nthen: {cd}runner test && runner check",
            dir.display(),
            plan.files.len()
        );
    }
    Ok(0)
}
