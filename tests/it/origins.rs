//! Issue 11, points 1-3 and 7: credentials stay with the profile's origins at every
//! hop (page links, absolute URLs, redirects, 401 retries), runner follows redirects
//! itself, plain http with credentials is refused, and `-o jsonl` prints items.

use serde_json::Value;

use crate::support::{Project, SandboxProc, assert_no_secret};

const TOKEN: &str = "tok-origin-7f3a9c";

/// A project whose default profile sends `TOKEN` in `X-Api-Key` (no scheme) to the
/// sandbox `a`; `extra` is appended to the profile.
fn api_key_project(a: &SandboxProc, auth_extra: &str, extra: &str) -> Project {
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        &format!(
            "base_url: {}\nauth:\n  type: bearer\n  token: \"{{{{ env('API_TOKEN') }}}}\"\n  header: X-Api-Key\n  scheme: \"\"\n{auth_extra}{extra}",
            a.url
        ),
    );
    p
}

fn exec(p: &Project, file: &str, extra: &[&str]) -> crate::support::Run {
    let mut args = vec!["exec", file];
    args.extend_from_slice(extra);
    let r = p.run_env(&args, &[("API_TOKEN", TOKEN)]);
    // stdout is what the echo saw, which is the point; stderr must never show it.
    assert_no_secret(&r.stderr, &[TOKEN]);
    r
}

/// The `x-api-key` an echo saw, if any.
fn key_seen(echo: &Value) -> Option<&str> {
    echo["headers"]["x-api-key"].as_str()
}

fn redirect_url(from: &SandboxProc, to: &str, status: u16) -> String {
    let to: String = url::form_urlencoded::byte_serialize(to.as_bytes()).collect();
    format!("{}/_sandbox/redirect?status={status}&to={to}", from.url)
}

#[test]
fn a_page_link_to_another_origin_gets_no_credentials() {
    let (a, b) = (SandboxProc::start(&[]), SandboxProc::start(&[]));
    let p = api_key_project(&a, "", "");
    // Page 1 (the profile's origin) links to page 2 on another origin.
    p.write(
        "requests/pages.yaml",
        &format!(
            "url: /_sandbox/echo\nquery: {{next: \"{}/_sandbox/echo/page2\"}}\npaginate: {{next_url: $.query.next, items: $.headers}}\nextract: {{first: \"$[0]\"}}\n",
            b.url
        ),
    );
    let r = exec(&p, "requests/pages.yaml", &["-o", "jsonl", "-v"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let pages = r.json_lines();
    assert_eq!(pages.len(), 2, "{}", r.stdout);
    assert_eq!(
        pages[0]["x-api-key"], TOKEN,
        "the profile's origin gets the key"
    );
    assert!(pages[1].get("x-api-key").is_none(), "{}", r.stdout);
    let b_origin = b.url.trim_end_matches('/');
    assert!(
        r.stderr.contains(&format!(
            "credentials not sent to {b_origin}: not an origin of the profile (base_url, auth.origins)"
        )),
        "{}",
        r.stderr
    );
}

#[test]
fn a_custom_auth_header_does_not_follow_a_redirect_to_another_host() {
    let (a, b) = (SandboxProc::start(&[]), SandboxProc::start(&[]));
    let p = api_key_project(&a, "", "");
    // (where the redirect goes, the path the echo sees, whether the key arrives)
    let cases = [
        (&b, "/_sandbox/echo/elsewhere", false),
        (&a, "/_sandbox/echo/same", true),
    ];
    for (target, path, keeps_key) in cases {
        let to = format!("{}{path}", target.url);
        p.write(
            "requests/r.yaml",
            &format!("url: \"{}\"\n", redirect_url(&a, &to, 302)),
        );
        let r = exec(&p, "requests/r.yaml", &["-v"]);
        assert_eq!(r.code, 0, "{to}: {}", r.stderr);
        let echo: Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(echo["path"], path);
        assert_eq!(key_seen(&echo).is_some(), keeps_key, "{to}: {echo}");
        assert!(
            r.stderr.contains(&format!("< 302 redirect to {to}")),
            "{}",
            r.stderr
        );
    }
    // An origin the profile lists receives them.
    let p = api_key_project(&a, &format!("  origins: [\"{}\"]\n", b.url), "");
    p.write(
        "requests/r.yaml",
        &format!(
            "url: \"{}\"\n",
            redirect_url(&a, &format!("{}/_sandbox/echo/listed", b.url), 307)
        ),
    );
    let r = exec(&p, "requests/r.yaml", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let echo: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(key_seen(&echo), Some(TOKEN), "{echo}");
}

#[test]
fn an_absolute_url_elsewhere_gets_no_profile_credentials_but_keeps_its_own_headers() {
    let (a, b) = (SandboxProc::start(&[]), SandboxProc::start(&[]));
    let p = api_key_project(
        &a,
        "",
        "http:\n  headers: {X-Tenant: t-secret-1, Accept: application/json}\n  sensitive_headers: [X-Tenant]\n",
    );
    p.write(
        "requests/abs.yaml",
        &format!(
            "url: {}/_sandbox/echo\nheaders: {{Authorization: \"Basic {{{{ env('API_TOKEN') }}}}\"}}\n",
            b.url
        ),
    );
    let r = exec(&p, "requests/abs.yaml", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let echo: Value = serde_json::from_str(&r.stdout).unwrap();
    let h = &echo["headers"];
    assert!(h.get("x-api-key").is_none(), "{echo}");
    assert!(h.get("x-tenant").is_none(), "{echo}");
    assert_eq!(h["accept"], "application/json", "{echo}");
    // The request file wrote this header for this URL: it goes.
    assert_eq!(h["authorization"], format!("Basic {TOKEN}"), "{echo}");
    // The same file against the profile's own origin gets all of them.
    p.write(
        "requests/own.yaml",
        &format!("url: {}/_sandbox/echo\n", a.url),
    );
    let r = exec(&p, "requests/own.yaml", &[]);
    let echo: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(key_seen(&echo), Some(TOKEN), "{echo}");
    assert_eq!(echo["headers"]["x-tenant"], "t-secret-1", "{echo}");
}

#[test]
fn redirects_change_the_method_as_the_status_says() {
    let a = SandboxProc::start(&[]);
    let p = api_key_project(&a, "", "");
    let to = format!("{}/_sandbox/echo/target", a.url);
    // (status, the method that arrives, whether the body arrives)
    for (status, method, body) in [
        (301, "GET", false),
        (302, "GET", false),
        (303, "GET", false),
        (307, "POST", true),
        (308, "POST", true),
    ] {
        p.write(
            "requests/post.yaml",
            &format!(
                "method: POST\nurl: \"{}\"\nbody: {{json: {{n: 1}}}}\n",
                redirect_url(&a, &to, status)
            ),
        );
        let r = exec(&p, "requests/post.yaml", &["-v"]);
        assert_eq!(r.code, 0, "{status}: {}", r.stderr);
        let echo: Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(echo["method"], method, "{status}: {echo}");
        assert_eq!(echo["path"], "/_sandbox/echo/target", "{status}");
        if body {
            assert_eq!(echo["body"], serde_json::json!({"n": 1}), "{status}");
            assert_eq!(echo["headers"]["content-type"], "application/json");
        } else {
            assert_eq!(echo["body"], Value::Null, "{status}: {echo}");
            assert!(echo["headers"].get("content-type").is_none(), "{echo}");
        }
        assert_eq!(key_seen(&echo), Some(TOKEN), "same origin keeps the key");
        assert!(
            r.stderr.contains(&format!("< {status} redirect to {to}")),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn redirect_loops_and_long_chains_are_transport_errors() {
    let a = SandboxProc::start(&[]);
    let p = api_key_project(&a, "", "http:\n  max_redirects: 2\n");
    // Without `to`, the sandbox's redirect names itself.
    p.write(
        "requests/loop.yaml",
        &format!("url: \"{}/_sandbox/redirect?status=307\"\n", a.url),
    );
    let r = exec(&p, "requests/loop.yaml", &[]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "redirect loop: {}/_sandbox/redirect?status=307 was already visited",
            a.url
        )),
        "{}",
        r.stderr
    );
    // Three hops to reach the echo, with max_redirects 2.
    let end = format!("{}/_sandbox/echo", a.url);
    let chain = redirect_url(
        &a,
        &redirect_url(&a, &redirect_url(&a, &end, 302), 302),
        302,
    );
    p.write("requests/chain.yaml", &format!("url: \"{chain}\"\n"));
    let r = exec(&p, "requests/chain.yaml", &[]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "more than 2 redirects (http.max_redirects); the last went to {end}"
        )),
        "{}",
        r.stderr
    );
    // Two hops are allowed.
    let chain = redirect_url(&a, &redirect_url(&a, &end, 302), 302);
    p.write("requests/chain.yaml", &format!("url: \"{chain}\"\n"));
    let r = exec(&p, "requests/chain.yaml", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["path"], "/_sandbox/echo");
}

#[test]
fn follow_redirects_false_returns_the_3xx() {
    let a = SandboxProc::start(&[]);
    let p = api_key_project(&a, "", "http:\n  follow_redirects: false\n");
    let to = format!("{}/_sandbox/echo", a.url);
    p.write(
        "requests/r.yaml",
        &format!(
            "url: \"{}\"\nexpect: {{status: 302}}\n",
            redirect_url(&a, &to, 302)
        ),
    );
    let r = exec(&p, "requests/r.yaml", &["-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["status"], 302);
    assert_eq!(v["headers"]["location"], to.as_str());
}

#[test]
fn an_https_to_http_hop_drops_credentials_even_for_a_listed_origin() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let secure = SandboxProc::start(&["--tls", "--ca-out", ca.to_str().unwrap()]);
    let plain = SandboxProc::start(&[]);
    let p = api_key_project(
        &secure,
        &format!("  origins: [\"{}\"]\n", plain.url),
        &format!("http:\n  ca_cert: {}\n", ca.display()),
    );
    let target = format!("{}/_sandbox/echo", plain.url);
    // Straight to the listed http origin: the key goes.
    p.write("requests/direct.yaml", &format!("url: {target}\n"));
    let r = exec(&p, "requests/direct.yaml", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let echo: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(key_seen(&echo), Some(TOKEN));
    // Through a redirect from https: it does not.
    p.write(
        "requests/down.yaml",
        &format!("url: \"{}\"\n", redirect_url(&secure, &target, 302)),
    );
    let r = exec(&p, "requests/down.yaml", &["-v"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let echo: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(key_seen(&echo), None, "{echo}");
    assert!(
        r.stderr.contains(&format!(
            "credentials not sent to {}: the redirect leaves https for http",
            plain.url
        )),
        "{}",
        r.stderr
    );
}

#[test]
fn plain_http_with_credentials_to_a_remote_host_is_refused() {
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        "description: remote\nbase_url: http://api.example.com/v1\nauth: {type: bearer, token: \"{{ env('API_TOKEN') }}\"}\n",
    );
    p.write("requests/r.yaml", "url: /x\n");
    let r = exec(&p, "requests/r.yaml", &["--dry-run"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("profiles/default.yaml:2:11") && r.stderr.contains(
            "profile `default`: base_url `http://api.example.com/v1` is plain http to a host that is not loopback, and the profile sends credentials; use https, or set http.allow_plain_http: true to send them unencrypted"
        ),
        "{}",
        r.stderr
    );
    // The way out, with a warning on every run.
    p.write(
        "profiles/default.yaml",
        "base_url: http://api.example.com/v1\nauth: {type: bearer, token: \"{{ env('API_TOKEN') }}\"}\nhttp: {allow_plain_http: true}\n",
    );
    let r = exec(&p, "requests/r.yaml", &["--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "warning: profile `default` sets http.allow_plain_http: credentials travel unencrypted to http://api.example.com"
        ),
        "{}",
        r.stderr
    );
    // Without credentials, plain http is nobody's business.
    p.write(
        "profiles/default.yaml",
        "base_url: http://api.example.com/v1\n",
    );
    let r = exec(&p, "requests/r.yaml", &["--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    // A header the profile calls sensitive is a credential whatever its case.
    p.write(
        "profiles/default.yaml",
        "base_url: http://api.example.com/v1\nhttp:\n  headers: {X-Team-Key: \"{{ env('API_TOKEN') }}\"}\n  sensitive_headers: [x-team-key]\n",
    );
    let r = exec(&p, "requests/r.yaml", &["--dry-run"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("is plain http to a host that is not loopback"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_401_from_a_host_that_got_no_token_does_not_refresh() {
    let (a, b) = (SandboxProc::start(&[]), SandboxProc::start(&[]));
    let p = Project::with_sandbox(&a.url);
    p.write(
        "requests/other.yaml",
        &format!("url: {}/api/v1/assets\nexpect: {{status: 401}}\n", b.url),
    );
    let r = p.run(&["exec", "requests/other.yaml", "-o", "none", "-v"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // One password grant (the session is opened before sending), no refresh, and the
    // other host never saw a token request.
    assert_eq!(a.token_requests("password"), 1);
    assert_eq!(a.token_requests("refresh_token"), 0);
    assert_eq!(b.token_requests("password"), 0);
    assert!(!r.stderr.contains("refreshing"), "{}", r.stderr);
}

#[test]
fn jsonl_prints_the_items_even_with_an_extract() {
    let a = SandboxProc::start(&["--assets", "23"]);
    let p = Project::with_sandbox(&a.url);
    p.write(
        "requests/all.yaml",
        "url: /assets\nquery: {limit: 5}\npaginate: {next_url: $.next_page, items: $.items}\nextract: {ids: \"$[*].id\"}\n",
    );
    let r = p.run(&["exec", "requests/all.yaml", "-o", "jsonl"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let items = r.json_lines();
    assert_eq!(items.len(), 23, "{}", r.stdout);
    assert!(
        items
            .iter()
            .all(|i| i["id"].is_string() && i["name"].is_string())
    );
    // The extract still shapes the default output.
    let r = p.run(&["exec", "requests/all.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["ids"].as_array().map(Vec::len), Some(23));
}
