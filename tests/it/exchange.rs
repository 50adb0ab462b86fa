//! Issue 23: token exchange (RFC 8693) against the sandbox's token endpoint, with the
//! real binary over loopback: the subject token is another profile's session (a
//! password grant), the exchanged token is cached and renewed like any other, and a
//! subject token the server does not know is refused with its words.

use serde_json::Value;

use crate::support::{Project, SandboxProc, assert_no_secret};

fn profiles(sb: &SandboxProc, p: &Project, exchange_extra: &str) {
    let url = &sb.url;
    p.write(
        "profiles/sso.yaml",
        &format!(
            "base_url: {url}/api/v1\nauth:\n  type: oauth2_password\n  token_url: {url}/oauth/v2/token\n  client_id: sandbox\n  client_secret: sandbox-secret\n  username: demo\n  password: demo\n"
        ),
    );
    p.write(
        "profiles/api_b.yaml",
        &format!(
            "base_url: {url}/api/v1\nauth:\n  type: oauth2_token_exchange\n  token_url: {url}/oauth/v2/token\n  revocation_url: {url}/oauth/v2/revoke\n  client_id: sandbox\n  client_secret: sandbox-secret\n  audience: \"api-b & <c>/é\"\n{exchange_extra}"
        ),
    );
    p.write(
        "requests/list.yaml",
        "url: /assets\nquery: {limit: 2}\nextract: {total: $.total_items}\n",
    );
}

fn exchanges(sb: &SandboxProc) -> Value {
    sb.stats()["token_exchanges"].clone()
}

fn ok(r: &crate::support::Run) {
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    assert_eq!(r.stdout, "{\"total\":250}\n");
}

/// The cached tokens of both profiles, by the grant that made them.
fn tokens(p: &Project) -> Vec<String> {
    p.cache_files()
        .iter()
        .filter_map(|f| serde_json::from_slice::<Value>(&std::fs::read(f).unwrap()).ok())
        .flat_map(|v| {
            ["access_token", "refresh_token"]
                .into_iter()
                .filter_map(move |k| v[k].as_str().map(str::to_string))
        })
        .collect()
}

#[test]
fn a_subject_profiles_token_is_exchanged_cached_and_renewed_once_for_8_processes() {
    let sb = SandboxProc::start(&[]);
    let p = Project::new();
    profiles(&sb, &p, "  subject_profile: sso\n");
    let r = p.run(&["-v", "exec", "requests/list.yaml", "-p", "api_b"]);
    ok(&r);
    for line in [
        "token exchange: the subject token of profile sso",
        "password grant for profile sso",
    ] {
        assert!(r.stderr.contains(line), "{line}: {}", r.stderr);
    }
    assert_eq!(sb.token_requests("password"), 1);
    assert_eq!(sb.token_requests("token_exchange"), 1);
    assert_eq!(exchanges(&sb), serde_json::json!({"api-b & <c>/é": 1}));
    assert_eq!(
        p.cache_files().len(),
        2,
        "each profile keeps its own session"
    );

    // Cached: another process asks the token endpoint nothing.
    ok(&p.run(&["exec", "requests/list.yaml", "-p", "api_b"]));
    assert_eq!(sb.token_requests("token_exchange"), 1);

    // Both expired, 8 processes at once: the subject refreshed once, exchanged once.
    p.expire_access_tokens();
    for r in p.run_at_once(8, &["exec", "requests/list.yaml", "-p", "api_b"], &[]) {
        ok(&r);
    }
    assert_eq!(sb.token_requests("refresh_token"), 1);
    assert_eq!(sb.token_requests("password"), 1);
    assert_eq!(sb.token_requests("token_exchange"), 2);
    assert_eq!(sb.stats()["token_errors"], 0);

    let loud = p.run(&["-vv", "exec", "requests/list.yaml", "-p", "api_b"]);
    ok(&loud);
    let all = tokens(&p);
    assert_eq!(all.len(), 3, "sso's pair and api_b's access token");
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    assert_no_secret(&loud.stderr, &all);
    let out = p.run(&["logout", "-p", "api_b"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(p.cache_files().len(), 1, "sso's session is its own");
}

#[test]
fn a_subject_token_the_server_does_not_know_is_refused_with_its_words() {
    let sb = SandboxProc::start(&[]);
    let p = Project::new();
    profiles(&sb, &p, "  subject_token: \"{{ env('SUBJECT') }}\"\n");
    let subject = "n0t & <a> t0ken/é";
    let r = p.run_env(
        &["exec", "requests/list.yaml", "-p", "api_b"],
        &[("SUBJECT", subject)],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    let want = format!(
        "error: the token endpoint {}/oauth/v2/token refused the token-exchange grant: invalid_request: The subject_token is not a live access token of this server",
        sb.url
    );
    assert!(r.stderr.contains(&want), "{}", r.stderr);
    assert_no_secret(&r.stderr, &[subject]);
    assert!(p.cache_files().is_empty());
}
