//! `runner import bruno`: a Bruno collection folder, in either of Bruno's formats:
//! `bruno.json` with `.bru` files (`bru` parses them, `read` reads requests), or
//! `opencollection.yml` with `.yml` files (`yaml`). Folders stay folders, the
//! collection's and folders' headers and auth pass down to their requests,
//! `environments/` become profiles. Files are read only inside the folder.
//!
//! No maintained Rust crate parses `.bru` (crates.io has none; Bruno's own parser is
//! an ohm-js grammar), so `bru` is a small parser of the markup.

mod bru;
mod read;
mod template;
mod yaml;

use std::path::Path;

use crate::error::{Error, InputError};
use crate::import::input::read_file;
use crate::import::plan::Plan;
use crate::import::tree::{Auth, Collection, Env, Item};
use crate::import::tree_write::{self, Summary};
pub use template::Mustache;

/// How deep folders are walked.
const MAX_DEPTH: usize = 16;

/// Which of Bruno's formats a folder holds.
#[derive(Clone, Copy, PartialEq)]
enum Format {
    Bru,
    Yaml,
}

/// The plan of files for the collection in `dir`, and the summary.
pub fn plan(dir: &Path) -> Result<(Plan, Summary), Error> {
    if !dir.is_dir() {
        return Err(InputError::usage(format!(
            "{}: not a folder (a Bruno collection is a folder holding bruno.json or opencollection.yml)",
            dir.display()
        ))
        .into());
    }
    let format = if dir.join("bruno.json").is_file() {
        Format::Bru
    } else if dir.join("opencollection.yml").is_file() || dir.join("opencollection.yaml").is_file()
    {
        Format::Yaml
    } else {
        return Err(InputError::usage(format!(
            "{}: neither bruno.json nor opencollection.yml: not a Bruno collection",
            dir.display()
        ))
        .into());
    };
    let mut c = Collection::default();
    let mut headers = Vec::new();
    match format {
        Format::Bru => {
            let manifest = read_text(&dir.join("bruno.json"))?;
            let v: serde_json::Value = serde_json::from_str(&manifest).map_err(|e| {
                InputError::usage(format!(
                    "{}: not valid JSON: {e}",
                    dir.join("bruno.json").display()
                ))
            })?;
            c.name = v
                .get("name")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_string();
            let root = dir.join("collection.bru");
            if root.is_file() {
                let blocks = parse_bru(&root)?;
                folder_settings(&blocks, "collection", &mut c, &mut headers);
                c.auth = headers_auth(&blocks);
            }
        }
        Format::Yaml => yaml::root(dir, &mut c, &mut headers)?,
    }
    if c.name.is_empty() {
        c.name = dir
            .canonicalize()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "bruno".to_string());
    }
    let auth = c.auth.clone();
    c.items = walk(dir, format, 0, &headers, &auth, "", &mut c);
    environments(&dir.join("environments"), format, &mut c)?;
    let d = Mustache::default();
    let (mut plan, summary) = tree_write::plan(&c, &d)?;
    for tag in d.unmapped.borrow().iter() {
        plan.skipped.push(format!(
            "variable {tag}: no runner equivalent, kept as text (a comment in each file says where)"
        ));
    }
    Ok((plan, summary))
}

/// The `auth { mode: … }` of a folder or collection file.
fn headers_auth(blocks: &[bru::Block]) -> Auth {
    read::auth(
        blocks,
        read::get(blocks, "auth", "mode").unwrap_or("inherit"),
    )
}

/// A folder's or the collection's headers, variables and scripts.
fn folder_settings(
    blocks: &[bru::Block],
    place: &str,
    c: &mut Collection,
    headers: &mut Vec<(String, String)>,
) {
    for p in read::dict(blocks, "headers").iter().filter(|p| p.enabled) {
        headers.retain(|(k, _)| !k.eq_ignore_ascii_case(&p.key));
        headers.push((p.key.clone(), p.value.clone()));
    }
    for p in read::dict(blocks, "vars:pre-request")
        .iter()
        .filter(|p| p.enabled)
    {
        c.vars
            .push((p.key.clone(), serde_json::Value::String(p.value.clone())));
    }
    for (kind, code) in read::scripts(blocks) {
        c.scripts.push((place.to_string(), kind, code));
    }
}

pub(super) fn read_text(path: &Path) -> Result<String, Error> {
    let what = path.display().to_string();
    let bytes = read_file(path, &format!("the file {what}"))?;
    Ok(String::from_utf8(bytes)
        .map_err(|_| InputError::usage(format!("{what}: not UTF-8 text")))?)
}

/// A `.bru` file's blocks; a file that does not parse is an error at its line.
fn parse_bru(path: &Path) -> Result<Vec<bru::Block>, Error> {
    let text = read_text(path)?;
    bru::parse(&text).map_err(|e| {
        InputError::usage(format!(
            "{}:{}:{}: {}",
            path.display(),
            e.line,
            e.column,
            e.message
        ))
        .into()
    })
}

/// The folders and requests under `dir`, in `seq` order.
fn walk(
    dir: &Path,
    format: Format,
    depth: usize,
    headers: &[(String, String)],
    auth: &Auth,
    place: &str,
    c: &mut Collection,
) -> Vec<Item> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    // Symbolic links are not followed: nothing outside the collection is read.
    let mut paths: Vec<_> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| !t.is_symlink()))
        .map(|e| e.path())
        .collect();
    paths.sort();
    let mut out: Vec<(u64, Item)> = Vec::new();
    for p in paths {
        let file = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let here = if place.is_empty() {
            file.clone()
        } else {
            format!("{place}/{file}")
        };
        if file.starts_with('.') || file == "node_modules" || (depth == 0 && file == "environments")
        {
            continue;
        }
        if p.is_dir() {
            if depth >= MAX_DEPTH {
                c.skipped.push(format!("{here}: folders nested too deep"));
                continue;
            }
            let (name, seq, own_headers, own_auth) = folder(&p, format, headers, auth, &here, c);
            let items = walk(&p, format, depth + 1, &own_headers, &own_auth, &here, c);
            out.push((
                seq,
                Item::Folder {
                    name: name.unwrap_or(file),
                    items,
                },
            ));
            continue;
        }
        let request = match (format, p.extension().and_then(|e| e.to_str())) {
            (Format::Bru, Some("bru"))
                if !matches!(file.as_str(), "folder.bru" | "collection.bru") =>
            {
                bru_request(&p, &file, headers, auth)
            }
            (Format::Yaml, Some("yml" | "yaml"))
                if !matches!(
                    file.as_str(),
                    "folder.yml" | "folder.yaml" | "opencollection.yml" | "opencollection.yaml"
                ) =>
            {
                yaml::request(&p, &file, headers, auth)
            }
            _ => continue,
        };
        match request {
            Ok((seq, req)) => out.push((seq, Item::Request(Box::new(req)))),
            Err(why) => c.skipped.push(format!("{here}: {why}")),
        }
    }
    out.sort_by_key(|(seq, _)| *seq);
    out.into_iter().map(|(_, i)| i).collect()
}

/// A folder's name, seq, and the headers and auth its requests inherit.
fn folder(
    p: &Path,
    format: Format,
    headers: &[(String, String)],
    auth: &Auth,
    here: &str,
    c: &mut Collection,
) -> (Option<String>, u64, Vec<(String, String)>, Auth) {
    let mut own = headers.to_vec();
    let mut own_auth = auth.clone();
    let mut name = None;
    let mut seq = u64::MAX;
    match format {
        Format::Bru if p.join("folder.bru").is_file() => match parse_bru(&p.join("folder.bru")) {
            Ok(blocks) => {
                name = read::get(&blocks, "meta", "name").map(str::to_string);
                seq = read::get(&blocks, "meta", "seq")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(u64::MAX);
                folder_settings(&blocks, here, c, &mut own);
                match headers_auth(&blocks) {
                    Auth::Inherit => {}
                    a => own_auth = a,
                }
            }
            Err(e) => c.skipped.push(format!("{here}/folder.bru: {e}")),
        },
        Format::Yaml => {
            if let Some(info) = yaml::folder(p, here, c, &mut own, &mut own_auth) {
                (name, seq) = info;
            }
        }
        Format::Bru => {}
    }
    (name, seq, own, own_auth)
}

/// One `.bru` request: its seq and the request.
fn bru_request(
    p: &Path,
    file: &str,
    headers: &[(String, String)],
    auth: &Auth,
) -> Result<(u64, crate::import::tree::Req), String> {
    let text = read_text(p).map_err(|e| e.to_string())?;
    let blocks = bru::parse(&text)
        .map_err(|e| format!("{}:{}:{}: {}", p.display(), e.line, e.column, e.message))?;
    let name = read::get(&blocks, "meta", "name")
        .map(str::to_string)
        .unwrap_or_else(|| file.trim_end_matches(".bru").to_string());
    let seq = read::get(&blocks, "meta", "seq")
        .and_then(|s| s.parse().ok())
        .unwrap_or(u64::MAX);
    read::request(&blocks, name, headers, auth).map(|r| (seq, r))
}

/// `environments/*.bru` (or `*.yml`): a profile each.
fn environments(dir: &Path, format: Format, c: &mut Collection) -> Result<(), Error> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    // Symbolic links are not followed: nothing outside the collection is read.
    let mut paths: Vec<_> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| !t.is_symlink()))
        .map(|e| e.path())
        .collect();
    paths.sort();
    for p in paths {
        let ext = p.extension().and_then(|e| e.to_str()).unwrap_or_default();
        let stem = p
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let env = match (format, ext) {
            (Format::Bru, "bru") => {
                let blocks = parse_bru(&p)?;
                let (vars, secret) = read::environment(&blocks);
                Env {
                    name: stem,
                    vars,
                    secret,
                }
            }
            (Format::Yaml, "yml" | "yaml") => yaml::environment(&p, &stem)?,
            _ => continue,
        };
        c.envs.push(env);
    }
    if c.envs.len() > 64 {
        c.skipped.push(format!(
            "{} environments: only the first 64 became profiles",
            c.envs.len()
        ));
        c.envs.truncate(64);
    }
    Ok(())
}
