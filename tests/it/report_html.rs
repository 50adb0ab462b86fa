//! Issue 14: `--report html:FILE` in a real browser (headless Chromium): the page
//! shows one row per file, passed and failed as they were, and no secret.

use std::path::Path;
use std::process::Command;

use crate::support::{Project, SandboxProc, assert_no_secret};

/// Chromium, or `None` (a skip, except under `.ci/run`, which sets
/// `RUNNER_REQUIRE_BROWSER=1` and installs it: there a missing browser fails).
fn chromium() -> Option<&'static str> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
    if found.is_none() {
        assert!(
            std::env::var_os("RUNNER_REQUIRE_BROWSER").is_none(),
            "RUNNER_REQUIRE_BROWSER is set but no Chromium was found"
        );
        eprintln!("skipped: no Chromium (apt-get install -y chromium)");
    }
    found
}

/// The DOM of `page` after Chromium loaded it.
fn dump_dom(browser: &str, page: &Path) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_html_report_shows_passed_and_failed_rows_in_a_browser_and_no_secret() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    p.write(
        "t/a.yaml",
        "url: /assets\nexpect: {jsonpath: {\"$.total_items\": {gte: 1}}}\n",
    );
    p.write(
        "t/b.yaml",
        "url: /assets/00000000-0000-4000-8000-000000000001\n",
    );
    p.write(
        "t/c.yaml",
        "url: /assets\nexpect: {jsonpath: {\"$.total_items\": {lt: 1}}}\n",
    );
    // The echo answers with the request's headers: the token is in the response body
    // the report shows for this failure.
    p.write(
        "t/d.yaml",
        &format!("url: {}/_sandbox/echo\nexpect: {{status: 299}}\n", sb.url),
    );
    let r = p.run(&["test", "t", "--report", "html:report.html"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let html = std::fs::read_to_string(p.path("report.html")).unwrap();
    let token = p.run(&["token"]);
    assert_eq!(token.code, 0, "{}", token.stderr);
    let token = token.stdout.trim();
    assert!(token.len() > 10);
    assert_no_secret(&html, &[token, "sandbox-secret"]);
    assert!(html.contains("Authorization: ***"), "{html}");
    assert!(!html.contains("<script") && !html.contains("http-equiv=\"refresh\""));
    assert!(!html.contains("href=\"http") && !html.contains("src=\"http"));

    let Some(browser) = chromium() else { return };
    let dom = dump_dom(browser, &p.path("report.html"));
    assert_eq!(dom.matches("<tr class=\"case pass\">").count(), 2, "{dom}");
    assert_eq!(dom.matches("<tr class=\"case fail\">").count(), 2, "{dom}");
    assert!(dom.contains("<span id=\"passed\">2</span> passed"), "{dom}");
    assert!(dom.contains("<span id=\"failed\">2</span> failed"), "{dom}");
    assert!(
        dom.contains("expected $.total_items lt 1, got 250"),
        "{dom}"
    );
    assert_no_secret(&dom, &[token]);
}
