//! Issue 22, point 6: only what is needed is required. The client secret and the
//! password are rendered when a token request needs them: a valid cached session runs
//! without them, `runner profiles` says what a login would need, and previews show a
//! placeholder for an unset `env()` instead of failing.

use std::path::{Path, PathBuf};

use crate::support::{Project, SandboxProc, assert_no_secret};

const LIST: &str = "url: /assets\nquery: {limit: 2}\nextract: {total: $.total_items}\n";

/// The sandbox's password profile with `client_secret` and `password` as written.
fn project(sb: &SandboxProc, client_secret: &str, password: &str) -> Project {
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        &format!(
            "base_url: {url}/api/v1\nauth:\n  type: oauth2_password\n  token_url: {url}/oauth/v2/token\n  client_id: sandbox\n  client_secret: \"{client_secret}\"\n  username: demo\n  password: \"{password}\"\n",
            url = sb.url
        ),
    );
    p.write("requests/list.yaml", LIST);
    p
}

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn a_cached_session_needs_no_client_secret_nor_password_until_a_refresh() {
    let sb = SandboxProc::start(&[]);
    let p = project(
        &sb,
        "{{ env('LAZY_CLIENT_SECRET') }}",
        "{{ env('LAZY_PASSWORD') }}",
    );
    let set = [
        ("LAZY_CLIENT_SECRET", "sandbox-secret"),
        ("LAZY_PASSWORD", "demo"),
    ];
    let r = p.run_env(&["exec", "requests/list.yaml"], &set);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "{\"total\":250}\n"),
        "{}",
        r.stderr
    );
    assert_eq!(sb.token_requests("password"), 1);

    // Neither variable set: the cached token is all the run needs.
    let r = p.run(&["exec", "requests/list.yaml"]);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (0, "{\"total\":250}\n", "")
    );
    assert_eq!(sb.token_requests("password"), 1);

    // The listing says what a login would need, and calls nothing invalid.
    let r = p.run(&["profiles"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let line = r.stdout.lines().next().unwrap_or_default().to_string();
    assert!(
        line.starts_with("default  oauth2_password            access token valid until "),
        "{line}"
    );
    assert!(
        line.ends_with("; needs LAZY_CLIENT_SECRET, LAZY_PASSWORD to log in"),
        "{line}"
    );

    // A refresh needs the client secret: now, and only now, its absence is an error
    // at its place.
    p.expire_access_tokens();
    let r = p.run(&["exec", "requests/list.yaml"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert_eq!(
        r.stderr,
        "error: profile `default` needs auth.client_secret to get a token: environment variable `LAZY_CLIENT_SECRET` is not set (and env() has no default)\n  --> profiles/default.yaml:6:19\n  |\n6 |   client_secret: \"{{ env('LAZY_CLIENT_SECRET') }}\"\n  |                   ^\n"
    );
    assert_eq!(sb.token_requests("refresh_token"), 0);

    // With the secret and no password, the refresh goes through.
    let r = p.run_env(&["exec", "requests/list.yaml"], &set[..1]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "{\"total\":250}\n"),
        "{}",
        r.stderr
    );
    assert_eq!(sb.token_requests("refresh_token"), 1);
    assert_eq!(sb.token_requests("password"), 1);

    // With no session at all, the password grant names the password.
    std::fs::remove_dir_all(p.cache_files()[0].parent().unwrap()).unwrap();
    let r = p.run_env(&["exec", "requests/list.yaml"], &set[..1]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "error: profile `default` needs auth.password to get a token: environment variable `LAZY_PASSWORD` is not set (and env() has no default)\n  --> profiles/default.yaml:8:14\n  |\n8 |   password: \"{{ env('LAZY_PASSWORD') }}\"\n  |              ^\n"
    );
    let r = p.run(&["profiles"]);
    assert_eq!(
        r.stdout
            .lines()
            .next()
            .unwrap_or_default()
            .split_once("; kept in")
            .map(|(a, _)| a),
        Some("default  oauth2_password            no session (run `runner login`)"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_secret_command_that_only_a_login_uses_runs_only_for_a_login() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb, "{{ secret('sb-client') }}", "demo");
    let home = tempfile::tempdir().unwrap();
    let ran = home.path().join("ran");
    let works = script(
        home.path(),
        "works.sh",
        &format!("echo x >> '{}'\necho sandbox-secret", ran.display()),
    );
    let fails = script(
        home.path(),
        "fails.sh",
        &format!(
            "echo x >> '{}'\necho 'S3cret & <partial>'\nexit 7",
            ran.display()
        ),
    );
    let runs = || {
        std::fs::read_to_string(&ran)
            .unwrap_or_default()
            .lines()
            .count()
    };
    p.user_config(&format!(
        "secrets:\n  sb-client: {{command: ['{}']}}\n",
        works.display()
    ));
    let r = p.run(&["exec", "requests/list.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(runs(), 1);

    // The command now fails; the cached session does not run it.
    let config = p.user_config(&format!(
        "secrets:\n  sb-client: {{command: ['{}']}}\n",
        fails.display()
    ));
    let r = p.run(&["exec", "requests/list.yaml"]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    assert_eq!(runs(), 1, "a valid session ran the secret command");

    p.expire_access_tokens();
    let r = p.run(&["exec", "requests/list.yaml"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(runs(), 2);
    assert_eq!(
        r.stderr,
        format!(
            "error: profile `default` needs auth.client_secret to get a token: secret `sb-client`: the command `{}` (secrets.sb-client in {}) failed (exit status: 7); its output is not shown: run it yourself to see why\n  --> profiles/default.yaml:6:19\n  |\n6 |   client_secret: \"{{{{ secret('sb-client') }}}}\"\n  |                   ^\n",
            fails.display(),
            config.display()
        )
    );
    assert_no_secret(&r.stderr, &["S3cret"]);
}

/// A bearer profile and a request whose header reads another variable, for previews.
fn preview_project() -> Project {
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        "base_url: http://127.0.0.1:9/api\nauth:\n  type: bearer\n  token: \"{{ env('LAZY_TOKEN') }}\"\n",
    );
    p.write(
        "requests/get.yaml",
        "url: /items\nheaders:\n  X-Trace: \"{{ env('LAZY_TRACE') }}\"\n",
    );
    p
}

const PREVIEW_WARNINGS: &str = "warning: profiles/default.yaml:4:11: environment variable `LAZY_TOKEN` is not set; the preview shows <unset: LAZY_TOKEN> in its place\nwarning: requests/get.yaml:3:13: environment variable `LAZY_TRACE` is not set; the preview shows <unset: LAZY_TRACE> in its place\n";

#[test]
fn previews_show_a_placeholder_and_warn_for_an_unset_env() {
    let p = preview_project();
    let r = p.run(&["exec", "requests/get.yaml", "--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "GET http://127.0.0.1:9/api/items\nX-Trace: <unset: LAZY_TRACE>\nAuthorization: <unset: LAZY_TOKEN>\n"
    );
    assert_eq!(r.stderr, PREVIEW_WARNINGS);

    let r = p.run(&["exec", "requests/get.yaml", "--curl"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("-H 'X-Trace: <unset: LAZY_TRACE>'")
            && r.stdout.contains("-H 'Authorization: <unset: LAZY_TOKEN>'"),
        "{}",
        r.stdout
    );
    assert_eq!(r.stderr, PREVIEW_WARNINGS);

    // A run that sends still needs the value.
    let r = p.run(&["exec", "requests/get.yaml"]);
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr,
        "error: environment variable `LAZY_TOKEN` is not set (and env() has no default)\n  --> profiles/default.yaml:4:11\n  |\n4 |   token: \"{{ env('LAZY_TOKEN') }}\"\n  |           ^\n"
    );

    // A value that is set stays masked, in every form; only the unset one shows.
    let secret = "Tok & <x> \"q\" 'a' \\ % + / = : é";
    let r = p.run_env(
        &["exec", "requests/get.yaml", "--dry-run"],
        &[("LAZY_TOKEN", secret)],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "GET http://127.0.0.1:9/api/items\nX-Trace: <unset: LAZY_TRACE>\nAuthorization: ***\n"
    );
    assert_eq!(
        r.stderr,
        PREVIEW_WARNINGS.lines().nth(1).unwrap().to_string() + "\n"
    );
    assert_no_secret(&(r.stdout + &r.stderr), &[secret, "Tok & <x>"]);
}

/// An imported OAuth2 profile whose token URL and client come from variables not set
/// yet: its requests preview all the same.
#[test]
fn an_oauth_profile_with_unset_endpoints_previews() {
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        "base_url: http://127.0.0.1:9/api\nauth:\n  type: oauth2_client_credentials\n  token_url: \"{{ env('LAZY_TOKEN_URL') }}\"\n  client_id: \"{{ env('LAZY_CLIENT_ID') }}\"\n  client_secret: \"{{ env('LAZY_CLIENT_SECRET') }}\"\n",
    );
    p.write("requests/get.yaml", "url: /items\n");
    let r = p.run(&["exec", "requests/get.yaml", "--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "GET http://127.0.0.1:9/api/items\nAuthorization: ***\n"
    );
    assert_eq!(
        r.stderr,
        "warning: profiles/default.yaml:4:15: environment variable `LAZY_TOKEN_URL` is not set; the preview shows <unset: LAZY_TOKEN_URL> in its place\nwarning: profiles/default.yaml:5:15: environment variable `LAZY_CLIENT_ID` is not set; the preview shows <unset: LAZY_CLIENT_ID> in its place\n"
    );
    // Sending needs them.
    let r = p.run(&["exec", "requests/get.yaml"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("error: environment variable `LAZY_TOKEN_URL` is not set (and env() has no default)\n  --> profiles/default.yaml:4:15\n"),
        "{}",
        r.stderr
    );
}

/// A `secret('NAME')` whose command fails is not needed by a preview either.
#[test]
fn previews_show_a_placeholder_for_a_secret_whose_command_fails() {
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        "base_url: http://127.0.0.1:9/api\nauth:\n  type: bearer\n  token: \"{{ secret('api-token') }}\"\n",
    );
    p.write("requests/get.yaml", "url: /items\n");
    let home = tempfile::tempdir().unwrap();
    let fails = script(home.path(), "fails.sh", "echo 'S3cret & <partial>'\nexit 7");
    let config = p.user_config(&format!(
        "secrets:\n  api-token: {{command: ['{}']}}\n",
        fails.display()
    ));
    let r = p.run(&["exec", "requests/get.yaml", "--curl"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "curl \\\n  'http://127.0.0.1:9/api/items' \\\n  -H 'Authorization: <unset: secret api-token>' \\\n  --max-time 30\n"
    );
    assert_eq!(
        r.stderr,
        format!(
            "warning: profiles/default.yaml:4:11: secret `api-token`: the command `{}` (secrets.api-token in {}) failed (exit status: 7); its output is not shown: run it yourself to see why; the preview shows <unset: secret api-token> in its place\n",
            fails.display(),
            config.display()
        )
    );
    assert_no_secret(&(r.stdout + &r.stderr), &["S3cret"]);
    let r = p.run(&["exec", "requests/get.yaml"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
}
