//! The RFC 9535 compliance suite, through the extractor's own code path. The suite is
//! `$RUNNER_CTS_FILE` when set, else the copy kept in `tests/data/jsonpath-cts.json`
//! (see `tests/data/README.md` for where it comes from): it is always there, so the
//! test never skips.

use std::path::PathBuf;

use runner::expect::extract::Path;
use serde_json::Value;

/// The suite's text.
fn suite_text() -> String {
    let file = match std::env::var_os("RUNNER_CTS_FILE") {
        Some(f) if !f.is_empty() => PathBuf::from(f),
        _ => crate::support::repo_root().join("tests/data/jsonpath-cts.json"),
    };
    std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!(
            "the JSONPath compliance suite {} cannot be read: {e}",
            file.display()
        )
    })
}

#[test]
fn jsonpath_compliance_suite() {
    let text = suite_text();
    let suite: Value = serde_json::from_str(&text).unwrap();
    let tests = suite["tests"].as_array().unwrap();
    let mut failures = Vec::new();
    let mut one_pass = 0;
    for t in tests {
        let name = t["name"].as_str().unwrap_or("?");
        let selector = t["selector"].as_str().unwrap();
        let parsed = Path::parse(selector);
        if t["invalid_selector"].as_bool() == Some(true) {
            if parsed.is_ok() {
                failures.push(format!("{name}: accepted invalid {selector}"));
            }
            continue;
        }
        let path = match parsed {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{name}: rejected {selector}: {e}"));
                continue;
            }
        };
        let got = Value::Array(path.nodes(&t["document"]).into_iter().cloned().collect());
        let ok = if let Some(r) = t.get("result") {
            &got == r
        } else {
            t["results"].as_array().unwrap().iter().any(|r| &got == r)
        };
        if !ok {
            failures.push(format!("{name}: {selector} gave {got}"));
        }
        // The one-pass evaluation of large responses must agree with the tree.
        let text = serde_json::to_vec(&t["document"]).unwrap();
        let tree = path.extract(&t["document"]);
        match path.extract_json(&text) {
            Some(v) if v == tree => {}
            other => failures.push(format!(
                "{name}: {selector} in one pass gave {other:?}, the tree {tree}"
            )),
        }
        one_pass += usize::from(path.is_one_pass());
    }
    eprintln!("{one_pass} cases ran in one pass");
    assert!(one_pass > 350, "only {one_pass} cases ran in one pass");
    assert!(tests.len() > 700, "suite has {} cases", tests.len());
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
