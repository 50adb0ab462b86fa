//! `runner mcp`: what an agent receives (tool results, which echo every credential
//! the request carried; a flow's steps; each kind of error: an unknown argument, a
//! missing one, a refused URL, a file that fails to render) and the server's
//! stderr at `-vv`, for every kind of credential.

use serde_json::json;

use super::{ENV, PROFILES, Sweep, project};
use crate::mcp::{drive, python};
use crate::support::SandboxProc;

#[test]
fn mcp_results_and_logs_hold_no_secret() {
    let Some(py) = python() else { return };
    let sb = SandboxProc::start(&[]);
    let p = project(&sb);
    p.write(
        "requests/echo_twice.yaml",
        "steps:\n  - run: echo.yaml\n    extract: {page: $.query.page}\n  - run: echo.yaml\n",
    );
    p.write("requests/anywhere.yaml", "url: \"{{ target }}\"\n");
    p.write(
        "requests/broken.yaml",
        "url: /_sandbox/echo\nquery: {q: \"{{ 1 | nosuchfilter }}\"}\n",
    );
    let mut sweep = Sweep::new();
    for profile in PROFILES {
        let steps = json!([
            {"list": true},
            {"call": "echo", "arguments": {}},
            {"call": "echo_twice", "arguments": {}},
            {"call": "echo", "arguments": {"nope": 1}},
            {"call": "anywhere", "arguments": {"target": "http://127.0.0.1:9/x"}},
            {"call": "broken", "arguments": {}},
            {"call": "anywhere", "arguments": {}},
        ]);
        let s = drive(&py, &p, steps, &["-p", profile, "-vv"], &ENV);
        sweep.tokens_of(&p);
        // The echo answers with the request as the sandbox got it, credentials
        // included: the result reached the agent only through the masking point.
        for (i, what) in [(1, "echo"), (2, "echo_twice")] {
            let text = s.steps[i]["text"].as_str().unwrap_or_default();
            assert!(
                text.contains("\"status\": 200"),
                "-p {profile} {what}: {text}"
            );
            assert!(
                text.contains("***"),
                "-p {profile} {what}: nothing masked in {text}"
            );
        }
        for i in 3..=6 {
            assert_eq!(s.steps[i]["is_error"], true, "-p {profile}: {}", s.steps[i]);
        }
        sweep.text(&format!("`runner mcp -p {profile}` results"), &s.stdout);
        sweep.text(&format!("`runner mcp -p {profile} -vv` stderr"), &s.stderr);
    }
    sweep.finish();
}
