//! Issue 24: cookies. A server sets a cookie whose value holds the punctuation; it
//! must show in no message, log line, `-i` head, `-o json` headers, preview or session
//! command, at any verbosity, while the jar sends it back (persisted between runs).

use super::{Planted, Sweep, find_leaks};
use crate::cookies::CookieServer;
use crate::support::Project;

/// A cookie value: every character RFC 6265 allows in one among `& < > ' % + / = :`,
/// and non-ASCII (servers send it; no quote, backslash or space is allowed).
const COOKIE: &str = "C4naryCookie&<v>'%+/=:é!";

#[test]
fn cookie_values_show_nowhere() {
    let server = CookieServer::start();
    let p = Project::new();
    p.write(
        "profiles/jar.yaml",
        &format!("base_url: {}\nhttp:\n  cookies: persist\n", server.url),
    );
    // In hex, so that the request that asks for the cookie does not carry it.
    let set = crate::cookies::hex(&format!("sid={COOKIE}"));
    p.write(
        "requests/set.yaml",
        &format!("url: /set\nquery: {{sethex: \"{set}\"}}\n"),
    );
    p.write("requests/echo.yaml", "url: /echo\n");
    let mut sweep = Sweep::new();
    sweep.plant(Planted::new("COOKIE", COOKIE));
    for v in [&["-v"][..], &["-vvv"]] {
        let args = [&["exec", "requests/set.yaml", "-p", "jar", "-i"][..], v].concat();
        let r = sweep.runner(&p, &args, &[]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let args = [
            &["exec", "requests/set.yaml", "-p", "jar", "-o", "json"][..],
            v,
        ]
        .concat();
        let r = sweep.runner(&p, &args, &[]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    // The jar sent it back in a later run: the echo's body (response data) shows it.
    let why = "the echo's body: response data";
    let r = sweep.runner_stderr(
        &p,
        &["exec", "requests/echo.yaml", "-p", "jar", "-vvv"],
        why,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !find_leaks(&r.stdout, &sweep.secrets()).is_empty(),
        "the cookie did not go back:\n{}",
        r.stdout
    );
    for args in [
        &[
            "exec",
            "requests/echo.yaml",
            "-p",
            "jar",
            "--dry-run",
            "-vv",
        ][..],
        &["exec", "requests/echo.yaml", "-p", "jar", "--curl", "-vv"],
        &["profiles", "-vv"],
        &["check", "-p", "jar", "-vv"],
        &["logout", "-p", "jar", "-vv"],
    ] {
        let r = sweep.runner(&p, args, &[]);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
    }
    sweep.finish();
}
