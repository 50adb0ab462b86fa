//! Entry points for the fuzz targets (`fuzz/`) and for the regression tests that
//! replay what fuzzing found. Each takes untrusted input and must return, never panic.

use std::path::{Path, PathBuf};

use std::time::Duration;

use crate::error::Error;
use crate::project::limits;
use crate::project::template::{Origin, Renderer, Vars};
use crate::project::{self, Document, HttpNumbers, PreparedRequest, SourceFile};
use crate::run::bulk::data::DataSet;

fn source(text: &str) -> SourceFile {
    SourceFile::new(PathBuf::from("fuzz.yaml"), text.to_string())
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
    let Ok(path) = crate::expect::extract::Path::parse(path) else {
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
    crate::run::paginate::check_raw_page(items, next, rest);
}

/// A number's text (the first line after the first byte) at one of the numeric keys of
/// a request file or a profile (the first byte picks the key), and on the command line:
/// it loads within its range or fails with a located error. Panics when a value out
/// of its range is accepted (that is the bug the fuzzer looks for).
pub fn numbers(bytes: &[u8]) {
    let (pick, rest) = match bytes.split_first() {
        Some((b, rest)) => (*b, rest),
        None => (0, bytes),
    };
    let text = String::from_utf8_lossy(rest);
    let text = text.lines().next().unwrap_or("");
    number_in_file(pick, text);
    number_on_the_command_line(text);
}

/// `bytes` as a PKCS#12 file (`http.client_pkcs12`), opened with a password and
/// looked at without one: an error or the key and chain, never a panic. Seeds:
/// `openssl pkcs12 -export` files (README of `fuzz/`).
pub fn pkcs12(bytes: &[u8]) {
    let _ = crate::http::pkcs12::open(bytes, "pw");
    let _ = crate::http::pkcs12::looks_like_pkcs12(bytes);
}

/// `yaml` loaded as a request file: the request, or `None` (its errors rendered).
fn loaded_request(yaml: String) -> Option<Box<PreparedRequest>> {
    match project::parse_document(source(&yaml)) {
        Ok(Document::Request(r)) => Some(r),
        Ok(Document::Flow(..)) => None,
        Err(list) => {
            let _ = Error::Inputs(list).render();
            None
        }
    }
}

/// `yaml` loaded as a profile: its `http:` numbers, or `None` (its errors rendered).
fn loaded_profile(yaml: String) -> Option<HttpNumbers> {
    match project::parse_profile(source(&yaml)) {
        Ok(p) => Some(p.http),
        Err(list) => {
            let _ = Error::Inputs(list).render();
            None
        }
    }
}

/// `text` at the numeric key `pick` picks: what loads is within the key's range.
fn number_in_file(pick: u8, text: &str) {
    let max_secs = Duration::from_secs(86_400);
    match pick % 6 {
        0 => {
            if let Some(t) = loaded_request(format!("url: /x\ntimeout: {text}\n"))
                .and_then(|r| r.numbers.timeout)
            {
                assert!(
                    t >= Duration::from_millis(1) && t <= max_secs,
                    "timeout {text:?} gave {t:?}"
                );
            }
        }
        1 => {
            if let Some(n) = loaded_request(format!("url: /x\nretries: {text}\n"))
                .and_then(|r| r.numbers.retries)
            {
                assert!(n <= 100, "retries {text:?} gave {n}");
            }
        }
        2 => {
            let yaml =
                format!("url: /x\npaginate: {{next_url: $.n, items: $.i, max_pages: {text}}}\n");
            if let Some(n) = loaded_request(yaml).and_then(|r| r.numbers.max_pages) {
                assert!((1..=1_000_000).contains(&n), "max_pages {text:?} gave {n}");
            }
        }
        3 => {
            if let Some(t) =
                loaded_profile(format!("http:\n  timeout: {text}\n")).and_then(|h| h.timeout)
            {
                assert!(
                    t >= Duration::from_millis(1) && t <= max_secs,
                    "http.timeout {text:?} gave {t:?}"
                );
            }
        }
        4 => {
            if let Some(n) =
                loaded_profile(format!("http:\n  retries: {text}\n")).and_then(|h| h.retries)
            {
                assert!(n <= 100, "http.retries {text:?} gave {n}");
            }
        }
        _ => {
            if let Some(n) =
                loaded_profile(format!("http:\n  max_body: {text}\n")).and_then(|h| h.max_body)
            {
                assert!(
                    (1..=1 << 40).contains(&n),
                    "http.max_body {text:?} gave {n}"
                );
            }
        }
    }
}

/// `text` as the command line's numbers read it: what parses is within the range.
fn number_on_the_command_line(text: &str) {
    for range in [
        limits::TIMEOUT_SECS,
        limits::RETRIES,
        limits::CONCURRENCY,
        limits::TOKEN_TTL_SECS,
        limits::LATENCY_MS,
        limits::FAIL_RATE,
    ] {
        if let Ok(v) = range.parse(text) {
            assert!(v >= range.min && v <= range.max, "{text:?} parsed to {v}");
            let _ = range.count_as::<u16>(v);
            let _ = range.duration(v);
        }
    }
}

#[cfg(test)]
mod tests {
    /// The edges the `numbers` fuzz target starts from, at every key.
    #[test]
    fn numbers_at_the_edges_never_load_out_of_range() {
        let edges = [
            "0",
            "-0",
            "1",
            "-1",
            "0.5",
            "2.5",
            "1e-300",
            "1.5e-400",
            "100",
            "101",
            "86400",
            "86400.0001",
            "1000000",
            "1000001",
            "1099511627776",
            "1099511627777",
            "4294967295",
            "4294967296",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999999999999",
            "340282366920938463463374607431768211456",
            "1e308",
            "-1e308",
            "1e309",
            "1e999",
            ".nan",
            ".NaN",
            ".inf",
            "-.inf",
            "\"inf\"",
            "\"NaN\"",
            "\"1e3\"",
            "0x10",
            "0o17",
            "1_000",
            "+5",
            "~",
            "null",
            "true",
            "[]",
            "{}",
            "\"\"",
            "soon",
            "1e",
            "--1",
            "0.1.2",
        ];
        for edge in edges {
            for key in 0..6u8 {
                let mut input = vec![key];
                input.extend_from_slice(edge.as_bytes());
                super::numbers(&input);
            }
        }
    }
}
