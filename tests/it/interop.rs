//! Interop with a real OAuth2 server nobody here wrote: django-oauth-toolkit, with
//! rotating refresh tokens, reuse protection and 2-second access tokens. `.ci/run`
//! starts it (tests/interop/dot/start.sh) and exports RUNNER_DOT_URL; without it the
//! test is skipped, unless RUNNER_REQUIRE_INTEROP=1 (as in CI), where that fails.

use std::time::Duration;

use serde_json::Value;

use crate::support::{Project, Run, assert_no_secret, http_json, wait};

fn dot_url() -> Option<String> {
    match std::env::var("RUNNER_DOT_URL") {
        Ok(u) if !u.is_empty() => Some(u.trim_end_matches('/').to_string()),
        _ => {
            assert!(
                std::env::var("RUNNER_REQUIRE_INTEROP").as_deref() != Ok("1"),
                "RUNNER_REQUIRE_INTEROP=1 but RUNNER_DOT_URL is not set: the django-oauth-toolkit server did not start"
            );
            eprintln!(
                "SKIPPED interop test: RUNNER_DOT_URL is not set. Start the server with \
                 `tests/interop/dot/start.sh` and export the variables of its env file."
            );
            None
        }
    }
}

fn stats(url: &str) -> Value {
    http_json("GET", &format!("{url}/_stats"), None).1
}

fn count(v: &Value, grant: &str) -> u64 {
    v["token_requests"][grant].as_u64().unwrap_or(0)
}

fn profile(url: &str, auth_extra: &str) -> String {
    format!(
        "base_url: {url}/api/v1\nauth:\n  type: oauth2_password\n  token_url: {url}/o/token/\n  client_id: runner-interop\n  client_secret: \"{{{{ env('DOT_SECRET') }}}}\"\n  username: interop\n  password: \"{{{{ env('DOT_PW', '') }}}}\"\n  scopes: [read, write]\n{auth_extra}"
    )
}

const SECRET: &str = "interop-secret-1";
const PASSWORD: &str = "interop-pass-1";

fn run(p: &Project, args: &[&str]) -> Run {
    p.run_env(args, &[("DOT_SECRET", SECRET), ("DOT_PW", PASSWORD)])
}

fn me_ok(r: &Run, user: &str) {
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    assert_eq!(r.stdout, format!("{{\"user\":{user}}}\n"));
}

#[test]
fn django_oauth_toolkit_login_exec_expiry_refresh_and_concurrency() {
    let Some(url) = dot_url() else { return };
    let p = Project::new();
    p.write("profiles/default.yaml", &profile(&url, ""));
    p.write(
        "profiles/basic.yaml",
        &profile(&url, "  client_auth: basic\n"),
    );
    p.write(
        "profiles/cc.yaml",
        &format!(
            "base_url: {url}/api/v1\nauth:\n  type: oauth2_client_credentials\n  token_url: {url}/o/token/\n  client_id: runner-cc\n  client_secret: cc-secret-1\n  client_auth: basic\n  scopes: [read]\n"
        ),
    );
    p.write(
        "profiles/cc_body.yaml",
        &format!(
            "base_url: {url}/api/v1\nauth:\n  type: oauth2_client_credentials\n  token_url: {url}/o/token/\n  client_id: runner-cc\n  client_secret: cc-secret-1\n  scopes: [read]\n"
        ),
    );
    p.write(
        "requests/me.yaml",
        "url: /me\nextract: {user: $.username}\n",
    );
    p.write(
        "requests/items.yaml",
        "url: /items\npaginate: {next_url: $.next_page, items: $.items}\nextract: {ids: \"$[*].id\"}\n",
    );
    let s0 = stats(&url);

    // Without a password and no terminal: exit 3, telling the user to log in.
    let r = p.run_env(&["exec", "requests/me.yaml"], &[("DOT_SECRET", SECRET)]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("run `runner login -p default`"),
        "{}",
        r.stderr
    );

    // Login (form body, credentials in the body), then a request with the cached token.
    let r = run(&p, &["login", "-vv"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_no_secret(&r.stderr, &[SECRET, PASSWORD]);
    me_ok(&run(&p, &["exec", "requests/me.yaml"]), "\"interop\"");
    let s1 = stats(&url);
    assert_eq!(count(&s1, "password") - count(&s0, "password"), 1, "{s1}");

    // Expiry (aged in the cache: runner refreshes before the server would refuse the
    // token): refreshed once; DOT rotates the refresh token.
    let before = p.cache()["refresh_token"].as_str().unwrap().to_string();
    p.expire_access_tokens();
    me_ok(&run(&p, &["exec", "requests/me.yaml"]), "\"interop\"");
    let s2 = stats(&url);
    assert_eq!(
        count(&s2, "refresh_token") - count(&s1, "refresh_token"),
        1,
        "{s2}"
    );
    assert_ne!(p.cache()["refresh_token"].as_str().unwrap(), before);

    // A 401 on a token the cache believes valid: one refresh, one retry.
    let file = p.cache_files()[0].clone();
    let mut cache: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    cache["access_token"] = Value::String("not-a-valid-token".into());
    cache["expires_at"] = Value::from(crate::support::now() + 3600);
    std::fs::write(&file, serde_json::to_vec(&cache).unwrap()).unwrap();
    me_ok(&run(&p, &["exec", "requests/me.yaml"]), "\"interop\"");
    let s3 = stats(&url);
    assert_eq!(
        count(&s3, "refresh_token") - count(&s2, "refresh_token"),
        1,
        "{s3}"
    );

    // Pagination over DOT's items.
    let r = run(&p, &["exec", "requests/items.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["ids"].as_array().map(Vec::len), Some(25));

    // Eight processes at once after expiry: all succeed and, with reuse protection on,
    // no refresh token is ever presented twice (that would revoke the whole family).
    // A real expiry, crossed on DOT's side too: the access token was revoked or ran out.
    wait(Duration::from_millis(2100));
    let before_wave = stats(&url);
    let no_password = [("DOT_SECRET", SECRET), ("DOT_PW", "")];
    for r in p.run_at_once(8, &["exec", "requests/me.yaml"], &no_password) {
        me_ok(&r, "\"interop\"");
    }
    let s4 = stats(&url);
    assert_eq!(s4["token_errors"], s0["token_errors"], "{s4}");
    assert_eq!(count(&s4, "password"), count(&s3, "password"), "{s4}");
    assert!(
        count(&s4, "refresh_token") > count(&before_wave, "refresh_token"),
        "no refresh happened: {s4}"
    );

    // Basic client authentication for the password grant.
    let r = run(&p, &["login", "-p", "basic"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let auth = |v: &Value, key: &str| v["token_client_auth"][key].as_u64().unwrap_or(0);
    let s4b = stats(&url);
    assert_eq!(
        auth(&s4b, "password basic") - auth(&s4, "password basic"),
        1,
        "{s4b}"
    );
    me_ok(
        &run(&p, &["exec", "requests/me.yaml", "-p", "basic"]),
        "\"interop\"",
    );

    // Client credentials, as Basic and in the body.
    me_ok(&run(&p, &["exec", "requests/me.yaml", "-p", "cc"]), "null");
    // Same identity (token URL, client, no user): same cache; forget it to grant again.
    assert_eq!(run(&p, &["logout", "-p", "cc"]).code, 0);
    me_ok(
        &run(&p, &["exec", "requests/me.yaml", "-p", "cc_body"]),
        "null",
    );
    let s5 = stats(&url);
    assert_eq!(
        count(&s5, "client_credentials") - count(&s4, "client_credentials"),
        2,
        "{s5}"
    );
    // One of each, as the two profiles say.
    for key in ["client_credentials basic", "client_credentials body"] {
        assert_eq!(auth(&s5, key) - auth(&s4, key), 1, "{key}: {s5}");
    }
    assert_eq!(s5["token_errors"], s0["token_errors"], "{s5}");

    // Load on one session: 32 processes x 20 requests while 2-second tokens expire;
    // with reuse protection a refresh token presented twice would revoke the family
    // and fail every process after it.
    let mut csv = String::from("n\n");
    for i in 1..=20 {
        csv.push_str(&format!("{i}\n"));
    }
    p.write("rows.csv", &csv);
    p.write(
        "requests/me_row.yaml",
        "url: \"/me?n={{ n }}\"\nextract: {user: $.username}\n",
    );
    // Every process starts with an expired token: the first wave contends for the lock.
    p.expire_access_tokens();
    let s6 = stats(&url);
    let bulk = [
        "exec",
        "requests/me_row.yaml",
        "--data",
        "rows.csv",
        "--concurrency",
        "2",
    ];
    for r in p.run_at_once(32, &bulk, &no_password) {
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(
            r.stdout
                .lines()
                .filter(|l| l.contains("\"ok\":true"))
                .count(),
            20,
            "{}",
            r.stdout
        );
    }
    let s7 = stats(&url);
    assert_eq!(s7["token_errors"], s6["token_errors"], "{s7}");
    assert_eq!(count(&s7, "password"), count(&s6, "password"), "{s7}");
    assert!(
        count(&s7, "refresh_token") > count(&s6, "refresh_token"),
        "no refresh happened: {s7}"
    );

    // A wrong secret: DOT's own error words, exit 3.
    let r = p.run_env(
        &["login"],
        &[("DOT_SECRET", "wrong-secret-99"), ("DOT_PW", PASSWORD)],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("invalid_client"), "{}", r.stderr);
    assert_no_secret(&r.stderr, &["wrong-secret-99", PASSWORD]);
}
