//! Entry points for the fuzz targets (`fuzz/`) and for the regression tests that
//! replay what fuzzing found. Each takes untrusted input and must return, never panic.

use std::path::{Path, PathBuf};

use crate::bulk::DataSet;
use crate::error::Error;
use crate::project::{self, SourceFile};
use crate::template::{Origin, Renderer, Vars};

fn source(text: &str) -> SourceFile {
    SourceFile {
        path: PathBuf::from("fuzz.yaml"),
        text: text.to_string(),
    }
}

/// Loads `text` as a request or flow file and renders any error.
pub fn request(text: &str) {
    if let Err(list) = project::parse_document(source(text)) {
        let _ = Error::Inputs(list).render();
    }
}

/// Loads `text` as a profile and renders any error.
pub fn profile(text: &str) {
    if let Err(list) = project::parse_profile(source(text)) {
        let _ = Error::Inputs(list).render();
    }
}

/// Loads `bytes` as a data file; the first byte picks the format.
pub fn data(bytes: &[u8]) {
    let (name, rest) = match bytes.split_first() {
        Some((b, rest)) if b % 3 == 0 => ("fuzz.csv", rest),
        Some((b, rest)) if b % 3 == 1 => ("fuzz.jsonl", rest),
        Some((_, rest)) => ("fuzz.json", rest),
        None => ("fuzz.csv", bytes),
    };
    if let Err(e) = DataSet::parse(Path::new(name), rest) {
        let _ = Error::Input(e).render();
    }
}

/// Renders `input` as a template; a first line of JSON, if it parses as an object,
/// gives the variables.
pub fn template(input: &str) {
    let (vars_text, tmpl) = input.split_once('\n').unwrap_or(("", input));
    let mut vars = Vars::new();
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(vars_text) {
        for (k, v) in map {
            vars.set(k, v);
        }
    }
    let renderer = Renderer::new();
    let origin = Origin {
        path: Path::new("fuzz.yaml"),
        source: input,
        line: 1,
        column: 1,
    };
    let dir = Path::new("/nonexistent-runner-fuzz-dir");
    let _ = renderer.render_str(tmpl, &vars, dir, origin);
    let _ = renderer.render_value(
        &serde_json::Value::String(tmpl.to_string()),
        &vars,
        dir,
        origin,
    );
    let _ = renderer.check_str(tmpl, origin);
}

/// A JSONPath on the first line, a JSON text after it: when both parse, the one-pass
/// extraction of large bodies must give what the tree gives. Panics when they differ
/// (a differential check: that is the bug the fuzzer looks for).
pub fn extract(input: &str) {
    let (path, json) = input.split_once('\n').unwrap_or((input, ""));
    let Ok(path) = crate::extract::Path::parse(path) else {
        return;
    };
    let tree = serde_json::from_str::<serde_json::Value>(json)
        .map(|doc| path.extract(&doc))
        .ok();
    let one_pass = path.extract_json(json.as_bytes());
    assert_eq!(one_pass, tree, "{} over {json}", path.text());
}

/// A JSON page: read raw in one pass (as `-o jsonl` does), its items and next link must
/// be what the parsed page gives, for chains at the top level and one level down. The
/// first byte picks the chains. Panics when they differ.
pub fn page(bytes: &[u8]) {
    let (items, next, rest) = match bytes.split_first() {
        Some((b, rest)) if b % 3 == 0 => ("items", "next", rest),
        Some((b, rest)) if b % 3 == 1 => ("data.items", "links.next", rest),
        Some((_, rest)) => ("a.items", "a", rest),
        None => ("items", "next", bytes),
    };
    crate::paginate::check_raw_page(items, next, rest);
}
