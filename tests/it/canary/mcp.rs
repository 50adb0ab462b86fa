//! `runner mcp`: what an agent receives (tool results, which echo every credential
//! the request carried) and the server's stderr at `-vv`, for every kind of credential.

use serde_json::json;

use super::{ENV, PROFILES, Sweep, project};
use crate::mcp::{drive, python};
use crate::support::SandboxProc;

#[test]
fn mcp_results_and_logs_hold_no_secret() {
    let Some(py) = python() else { return };
    let sb = SandboxProc::start(&[]);
    let p = project(&sb);
    let mut sweep = Sweep::new();
    for profile in PROFILES {
        let steps = json!([{"list": true}, {"call": "echo", "arguments": {}}]);
        let s = drive(&py, &p, steps, &["-p", profile, "-vv"], &ENV);
        sweep.tokens_of(&p);
        // The echo answers with the request as the sandbox got it, credentials
        // included: the result reached the agent only through the masking point.
        let text = s.steps[1]["text"].as_str().unwrap_or_default();
        assert!(text.contains("\"status\": 200"), "-p {profile}: {text}");
        assert!(
            text.contains("***"),
            "-p {profile}: nothing masked in {text}"
        );
        sweep.text(&format!("`runner mcp -p {profile}` results"), &s.stdout);
        sweep.text(&format!("`runner mcp -p {profile} -vv` stderr"), &s.stderr);
    }
    sweep.finish();
}
