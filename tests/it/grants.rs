//! Issue 13 against the sandbox: the authorization code grant (PKCE, loopback
//! redirect, a browser command), the device grant, discovery, revocation at logout,
//! the account shown by `runner profiles`, and interactive grants that never block a
//! script. The same session machinery as the other grants after the first token.

use std::process::Stdio;

use crate::support::{Project, SandboxProc, assert_no_secret, repo_root};

/// The sandbox's login helper as a browser command (it fills in demo's password).
fn browser() -> String {
    format!(
        "python3 {}",
        repo_root().join("tests/browser/sandbox_login.py").display()
    )
}

/// A project whose `default` profile logs in to `sb` with `kind`
/// (`oauth2_authorization_code` or `oauth2_device_code`); `auth_extra` is added to the
/// auth block. Endpoints come from discovery unless `auth_extra` names them.
fn project(sb: &SandboxProc, kind: &str, auth_extra: &str) -> Project {
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        &format!(
            "base_url: {0}/api/v1\nauth:\n  type: {kind}\n  issuer: {0}\n  client_id: sandbox-public\n{auth_extra}",
            sb.url
        ),
    );
    p.write("requests/one.yaml", "url: /assets\nquery: {limit: 1}\n");
    p
}

fn login(p: &Project, extra_env: &[(&str, &str)]) -> crate::support::Run {
    let browser = browser();
    let mut env = vec![("RUNNER_BROWSER", browser.as_str())];
    env.extend_from_slice(extra_env);
    p.run_env(&["login", "-v"], &env)
}

/// The tokens in the one cache file, to check they never appear in output.
fn cached_secrets(p: &Project) -> Vec<String> {
    let c = p.cache();
    ["access_token", "refresh_token"]
        .iter()
        .filter_map(|k| c[*k].as_str().map(str::to_string))
        .collect()
}

fn assert_quiet_about(p: &Project, r: &crate::support::Run) {
    let secrets = cached_secrets(p);
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    assert_no_secret(&r.stdout, &secrets);
    assert_no_secret(&r.stderr, &secrets);
}

#[test]
fn authorization_code_login_exec_profiles_logout() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb, "oauth2_authorization_code", "");
    let r = login(&p, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("{}/oauth/v2/auth?", sb.url)),
        "the authorize URL is printed: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains("code_challenge_method=S256"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("logged in with profile `default`: logged in as demo"),
        "{}",
        r.stderr
    );
    assert_quiet_about(&p, &r);
    assert_eq!(sb.token_requests("authorization_code"), 1);
    // The session is the ordinary one from here on.
    let r = p.run(&["exec", "requests/one.yaml", "-vv"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["items"].as_array().map(Vec::len), Some(1));
    assert_quiet_about(&p, &r);
    // A cached token needs no discovery document, not even from the cache.
    assert!(!r.stderr.contains("discovery"), "{}", r.stderr);
    let r = p.run(&["profiles"]);
    assert!(
        r.stdout
            .contains("oauth2_authorization_code  logged in as demo; access token valid until"),
        "{}",
        r.stdout
    );
    let before = sb.stats()["revocations"].as_u64().unwrap_or(0);
    let r = p.run(&["logout"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "logged out of profile `default`: revoked the refresh token and access token at {}/oauth/v2/revoke, then forgot them\n",
            sb.url
        )
    );
    assert_eq!(sb.stats()["revocations"].as_u64(), Some(before + 2));
    assert!(p.cache_files().is_empty());
    // Revoked means revoked: no session, and none from a script.
    let r = p.run(&["exec", "requests/one.yaml"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
}

#[test]
fn an_expired_session_refreshes_once_for_eight_processes() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb, "oauth2_authorization_code", "");
    assert_eq!(login(&p, &[]).code, 0);
    p.expire_access_tokens();
    let runs = p.run_at_once(8, &["exec", "requests/one.yaml", "-o", "none"], &[]);
    for r in &runs {
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let stats = sb.stats();
    assert_eq!(stats["token_requests"]["refresh_token"], 1, "{stats}");
    assert_eq!(stats["refresh_reuse"], 0, "{stats}");
    // The account stays the one the login named.
    assert_eq!(p.cache()["subject"], "demo");
}

#[test]
fn device_code_login_polls_until_approved() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb, "oauth2_device_code", "");
    let r = login(&p, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "visit {}/oauth/v2/device/verify and enter the code ",
            sb.url
        )),
        "{}",
        r.stderr
    );
    assert!(sb.token_requests("device_code") >= 1);
    assert_quiet_about(&p, &r);
    let r = p.run(&["exec", "requests/one.yaml", "-o", "none"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = p.run(&["logout", "--local"]);
    assert_eq!(
        r.stderr,
        "logged out of profile `default`: cached tokens forgotten (not revoked: --local)\n"
    );
    assert_eq!(sb.stats()["revocations"].as_u64().unwrap_or(0), 0);
}

#[test]
fn a_device_login_that_is_denied_is_exit_3_with_the_servers_words() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb, "oauth2_device_code", "");
    let r = login(&p, &[("SANDBOX_LOGIN_DENY", "1")]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("access_denied"), "{}", r.stderr);
    assert!(p.cache_files().is_empty());
}

#[test]
fn a_refused_browser_login_is_exit_3_with_the_servers_words() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb, "oauth2_authorization_code", "");
    let r = login(&p, &[("SANDBOX_LOGIN_DENY", "1")]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "error: the authorization server {}/oauth/v2/auth refused the login: access_denied",
            sb.url
        )),
        "{}",
        r.stderr
    );
}

#[test]
fn scripts_are_never_held_up_by_an_interactive_grant() {
    let sb = SandboxProc::start(&[]);
    for kind in ["oauth2_authorization_code", "oauth2_device_code"] {
        let p = project(&sb, kind, "");
        let marker = p.path("browser-started");
        let browser = format!("touch {}", marker.display());
        for args in [&["exec", "requests/one.yaml"][..], &["token"][..]] {
            let r = p.run_env(args, &[("RUNNER_BROWSER", &browser)]);
            assert_eq!(r.code, 3, "{kind} {args:?}: {}", r.stderr);
            assert_eq!(
                r.stderr,
                "error: not logged in for profile `default`: run `runner login -p default`\n",
                "{kind}"
            );
        }
        assert!(!marker.exists(), "{kind}: a browser was started");
    }
    assert_eq!(sb.token_requests("authorization_code"), 0);
}

#[test]
fn a_login_nobody_completes_gives_up_after_login_timeout() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb, "oauth2_authorization_code", "  login_timeout: 1\n");
    let r = p.run_env(&["login"], &[("RUNNER_BROWSER", "true")]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "error: login failed: no login within 1 s (auth.login_timeout); run `runner login -p default` to try again"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn no_browser_reads_the_pasted_redirect() {
    // The sandbox approves at once: the authorize URL answers with the redirect.
    let sb = SandboxProc::start(&["--auto-approve"]);
    let p = project(&sb, "oauth2_authorization_code", "  redirect_port: 0\n");
    let mut child = p
        .cmd(&["login", "--no-browser"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read stderr up to the URL, follow it without following its redirect, and paste
    // where the browser would have gone.
    use std::io::{BufRead, Write};
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut url = String::new();
    let mut seen = String::new();
    for _ in 0..10 {
        let mut line = String::new();
        err.read_line(&mut line).unwrap();
        seen.push_str(&line);
        if let Some(u) = line.trim().strip_prefix(&format!("{}/", sb.url)) {
            url = format!("{}/{u}", sb.url);
            break;
        }
    }
    assert!(!url.is_empty(), "no URL in {seen}");
    let location = redirect_of(&url);
    assert!(location.starts_with("http://127.0.0.1:"), "{location}");
    writeln!(child.stdin.take().unwrap(), "{location}").unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{seen}{rest}");
    assert!(rest.contains("Then paste here"), "{rest}");
    assert_eq!(sb.token_requests("authorization_code"), 1);
}

/// The `Location` a GET of `url` answers with (redirects not followed).
fn redirect_of(url: &str) -> String {
    let u = url::Url::parse(url).unwrap();
    let mut s = std::net::TcpStream::connect((u.host_str().unwrap(), u.port().unwrap())).unwrap();
    let target = match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    };
    use std::io::{Read, Write};
    write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text.lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("location"))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no redirect: {text}"))
}

#[test]
fn discovery_is_cached_and_its_issuer_checked() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb, "oauth2_authorization_code", "");
    let r = login(&p, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "discovery: GET {}/.well-known/openid-configuration",
            sb.url
        )),
        "{}",
        r.stderr
    );
    let docs: Vec<_> = std::fs::read_dir(p.state.path().join("discovery"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(docs.len(), 1);
    // The second login reads it from the cache.
    let r = login(&p, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("discovery: GET"), "{}", r.stderr);
    // An issuer the document does not name is refused.
    let other = sb.url.replace("127.0.0.1", "localhost");
    p.write(
        "profiles/other.yaml",
        &format!(
            "base_url: {other}/api/v1\nauth:\n  type: oauth2_authorization_code\n  issuer: {other}\n  client_id: sandbox-public\n"
        ),
    );
    let r = p.run_env(&["login", "-p", "other"], &[("RUNNER_BROWSER", "true")]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr
            .contains(&format!("names the issuer `{}`, not `{other}", sb.url)),
        "{}",
        r.stderr
    );
}

#[test]
fn check_names_the_endpoints_a_grant_lacks() {
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        "base_url: https://api.example.com\nauth:\n  type: oauth2_device_code\n  client_id: c\n  redirect_port: 8000\n",
    );
    let r = p.run(&["check", "profiles/default.yaml"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    for m in [
        "auth type `oauth2_device_code` needs `device_authorization_url` (or `issuer`, whose discovery document names it)",
        "auth type `oauth2_device_code` needs `token_url` (or `issuer`, whose discovery document names it)",
        "auth type `oauth2_device_code` does not use `redirect_port`",
    ] {
        assert!(r.stderr.contains(m), "{m}: {}", r.stderr);
    }
    assert!(
        r.stderr.contains("profiles/default.yaml:3:"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_revocation_that_fails_still_forgets_and_is_exit_3() {
    let sb = SandboxProc::start(&[]);
    // Nothing listens on port 9 of loopback: the revocation cannot reach its server.
    let p = project(
        &sb,
        "oauth2_authorization_code",
        "  revocation_url: http://127.0.0.1:9/revoke\n",
    );
    assert_eq!(login(&p, &[]).code, 0);
    let r = p.run(&["logout"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.starts_with(
            "error: revoking the tokens of profile `default` at http://127.0.0.1:9/revoke failed: request to http://127.0.0.1:9/revoke failed: "
        ) && r.stderr.contains("they are forgotten here all the same"),
        "{}",
        r.stderr
    );
    assert!(p.cache_files().is_empty(), "forgotten all the same");
}
