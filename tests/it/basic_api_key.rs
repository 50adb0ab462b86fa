//! Issue 15, point 2: `type: basic` and `type: api_key`, masked, origin-scoped, and
//! warned about by `runner check` when a secret is a literal.

use serde_json::Value;

use crate::support::{Project, SandboxProc, assert_no_secret};

const PASSWORD: &str = "pw-basic-91c2";
const KEY: &str = "key-api-5d7e";

fn project(a: &SandboxProc, auth: &str) -> Project {
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        &format!("base_url: {}\nauth:\n{auth}", a.url),
    );
    p.write("requests/echo.yaml", "url: /_sandbox/echo\n");
    p
}

#[test]
fn basic_sends_the_rfc_7617_header_to_the_profile_origin_only() {
    let (a, b) = (SandboxProc::start(&[]), SandboxProc::start(&[]));
    let p = project(
        &a,
        "  type: basic\n  username: alice\n  password: \"{{ env('API_PASSWORD') }}\"\n",
    );
    let env = [("API_PASSWORD", PASSWORD)];
    let r = p.run_env(&["exec", "requests/echo.yaml", "-v"], &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let echo: Value = serde_json::from_str(&r.stdout).unwrap();
    // base64("alice:pw-basic-91c2")
    assert_eq!(
        echo["headers"]["authorization"],
        "Basic YWxpY2U6cHctYmFzaWMtOTFjMg=="
    );
    assert_no_secret(&r.stderr, &[PASSWORD, "YWxpY2U6cHctYmFzaWMtOTFjMg"]);
    // An absolute URL elsewhere gets no credentials.
    p.write(
        "requests/other.yaml",
        &format!("url: {}/_sandbox/echo\n", b.url),
    );
    let r = p.run_env(&["exec", "requests/other.yaml"], &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let echo: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(echo["headers"].get("authorization").is_none(), "{echo}");
    // Previews mask it.
    let r = p.run_env(&["exec", "requests/echo.yaml", "--curl"], &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_no_secret(&r.stdout, &[PASSWORD, "YWxpY2U6cHctYmFzaWMtOTFjMg"]);
}

#[test]
fn api_key_in_a_header_is_masked_and_stays_with_its_origin() {
    let (a, b) = (SandboxProc::start(&[]), SandboxProc::start(&[]));
    let p = project(
        &a,
        "  type: api_key\n  key: \"{{ env('API_KEY') }}\"\n  in: header\n  name: X-Api-Key\n",
    );
    let env = [("API_KEY", KEY)];
    let r = p.run_env(&["exec", "requests/echo.yaml", "-vv"], &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let echo: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(echo["headers"]["x-api-key"], KEY);
    assert_no_secret(&r.stderr, &[KEY]);
    p.write(
        "requests/other.yaml",
        &format!("url: {}/_sandbox/echo\n", b.url),
    );
    let r = p.run_env(&["exec", "requests/other.yaml"], &env);
    let echo: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(echo["headers"].get("x-api-key").is_none(), "{echo}");
    let r = p.run_env(&["exec", "requests/echo.yaml", "--dry-run"], &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_no_secret(&r.stdout, &[KEY]);
}

#[test]
fn api_key_in_the_query_goes_to_the_profile_origin_only() {
    let (a, b) = (SandboxProc::start(&[]), SandboxProc::start(&[]));
    let p = project(
        &a,
        "  type: api_key\n  key: \"{{ env('API_KEY') }}\"\n  in: query\n  name: api_key\n",
    );
    p.write("requests/echo.yaml", "url: /_sandbox/echo\nquery: {q: 1}\n");
    let env = [("API_KEY", KEY)];
    let r = p.run_env(&["exec", "requests/echo.yaml", "-vv"], &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let echo: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(echo["query"]["api_key"], KEY, "{echo}");
    assert_eq!(echo["query"]["q"], "1", "{echo}");
    // -v names the URL as the file renders it: the key is added only on the wire.
    assert_no_secret(&r.stderr, &[KEY]);
    // Another origin, directly or through a redirect, never sees it.
    p.write(
        "requests/other.yaml",
        &format!("url: {}/_sandbox/echo\n", b.url),
    );
    let to: String =
        url::form_urlencoded::byte_serialize(format!("{}/_sandbox/echo", b.url).as_bytes())
            .collect();
    p.write(
        "requests/hop.yaml",
        &format!("url: \"{}/_sandbox/redirect?to={to}\"\n", a.url),
    );
    for file in ["requests/other.yaml", "requests/hop.yaml"] {
        let r = p.run_env(&["exec", file], &env);
        assert_eq!(r.code, 0, "{file}: {}", r.stderr);
        let echo: Value = serde_json::from_str(&r.stdout).unwrap();
        assert!(echo["query"].get("api_key").is_none(), "{file}: {echo}");
    }
    // A file that asks for no auth sends no key.
    p.write("requests/anon.yaml", "url: /_sandbox/echo\nauth: none\n");
    let r = p.run_env(&["exec", "requests/anon.yaml"], &env);
    let echo: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(echo["query"].get("api_key").is_none(), "{echo}");
    // Previews show where it goes, masked.
    let r = p.run_env(&["exec", "requests/echo.yaml", "--curl"], &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("&api_key=***"), "{}", r.stdout);
    assert_no_secret(&r.stdout, &[KEY]);
}

#[test]
fn check_warns_on_literal_secrets_and_wrong_keys_of_the_new_types() {
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        "base_url: https://api.example.com\nauth:\n  type: basic\n  username: u\n  password: hunter2\n",
    );
    p.write(
        "profiles/key.yaml",
        "base_url: https://api.example.com\nauth:\n  type: api_key\n  key: abc123\n  name: X-Key\n",
    );
    let r = p.run(&["check"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("password is a literal"), "{}", r.stderr);
    assert!(r.stderr.contains("key is a literal"), "{}", r.stderr);
    p.write(
        "profiles/key.yaml",
        "base_url: https://api.example.com\nauth:\n  type: api_key\n  key: \"{{ env('K') }}\"\n  token: x\n",
    );
    let r = p.run(&["check"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("auth type `api_key` needs `name`"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("does not use `token`"), "{}", r.stderr);
}
