//! Issue 3: OAuth2 sessions across runs, against the sandbox's token endpoint.

use std::time::Duration;

use serde_json::json;

use crate::support::{Project, SandboxProc, assert_no_secret, http_json, sandbox_profile, wait};

const LIST: &str = "url: /assets\nquery: {limit: 2}\nextract: {total: $.total_items}\n";

fn project(sb: &SandboxProc, extra: &str) -> Project {
    let p = Project::new();
    p.write("profiles/default.yaml", &sandbox_profile(&sb.url, extra));
    p.write("requests/list.yaml", LIST);
    p
}

fn ok(r: &crate::support::Run) {
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    assert_eq!(r.stdout, "{\"total\":250}\n");
}

#[test]
fn the_first_run_logs_in_and_the_second_reuses_the_cached_token() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb, "  token_request: json\n");
    ok(&p.run(&["exec", "requests/list.yaml"]));
    assert_eq!(sb.token_requests("password"), 1);
    assert_eq!(sb.stats()["token_content_types"]["application/json"], 1);
    assert_eq!(sb.stats()["token_client_auth"], json!({"body": 1}));
    ok(&p.run(&["exec", "requests/list.yaml"]));
    assert_eq!(sb.token_requests("password"), 1);
    assert_eq!(sb.token_requests("refresh_token"), 0);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let file = &p.cache_files()[0];
        let mode =
            |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(file), 0o600);
        assert_eq!(mode(file.parent().unwrap()), 0o700);
    }
    let cache = p.cache();
    assert_eq!(cache["identity"]["username"], "demo");
    assert!(cache["refresh_token"].is_string());
    assert!(cache.get("password").is_none());
}

#[test]
fn an_expired_access_token_is_refreshed_once_and_the_old_refresh_token_dies() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb, "");
    ok(&p.run(&["exec", "requests/list.yaml"]));
    let old_refresh = p.cache()["refresh_token"].as_str().unwrap().to_string();
    // Fresh, the token is used as is.
    ok(&p.run(&["exec", "requests/list.yaml"]));
    assert_eq!(sb.token_requests("refresh_token"), 0);
    p.expire_access_tokens();
    ok(&p.run(&["exec", "requests/list.yaml"]));
    assert_eq!(sb.token_requests("password"), 1);
    assert_eq!(sb.token_requests("refresh_token"), 1);
    let new_refresh = p.cache()["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(old_refresh, new_refresh);

    let body = format!(
        "grant_type=refresh_token&refresh_token={old_refresh}&client_id=sandbox&client_secret=sandbox-secret"
    );
    let (status, answer) = http_json(
        "POST",
        &format!("{}/oauth/v2/token", sb.url),
        Some(("application/x-www-form-urlencoded", &body)),
    );
    assert_eq!(status, 400);
    assert_eq!(answer["error"], "invalid_grant");
    assert_eq!(sb.stats()["refresh_reuse"], 1);
}

#[test]
fn an_expired_refresh_token_falls_back_to_the_password_or_exit_3() {
    // The sandbox's clock is moved past both lifetimes; runner's cache is aged by hand.
    let sb = SandboxProc::start(&[
        "--manual-clock",
        "--access-ttl",
        "60",
        "--refresh-ttl",
        "120",
    ]);
    let p = project(&sb, "");
    ok(&p.run(&["exec", "requests/list.yaml"]));
    sb.advance_clock(120);
    p.expire_access_tokens();
    ok(&p.run(&["exec", "requests/list.yaml"]));
    assert_eq!(sb.token_requests("refresh_token"), 1);
    assert_eq!(sb.token_requests("password"), 2);
    assert_eq!(sb.stats()["token_errors"], 1, "the expired refresh token");

    sb.advance_clock(120);
    p.expire_access_tokens();
    // No password without asking, and no terminal to ask on.
    let r = p.run_env(&["exec", "requests/list.yaml"], &[("SB_PASSWORD", "")]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert_eq!(
        r.stderr,
        "error: not logged in for profile `default`: run `runner login -p default`\n"
    );
}

#[test]
fn a_401_invalidates_the_token_and_the_request_is_retried_once_after_a_refresh() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb, "");
    ok(&p.run(&["exec", "requests/list.yaml"]));
    sb.revoke_access_tokens();
    let r = p.run(&["exec", "requests/list.yaml", "-v"]);
    ok(&r);
    assert!(r.stderr.contains("401 from the API"), "{}", r.stderr);
    assert_eq!(sb.token_requests("refresh_token"), 1);
    assert_eq!(sb.stats()["requests"]["GET /api/v1/assets"], 3);
}

#[test]
fn sixteen_processes_with_an_expired_token_share_exactly_one_refresh() {
    // The new token lives two hours: once one process has refreshed, the others,
    // waiting for the lock, find it valid in the cache.
    let sb = SandboxProc::start(&[]);
    let p = project(&sb, "");
    ok(&p.run(&["exec", "requests/list.yaml"]));
    p.expire_access_tokens();
    for r in p.run_at_once(16, &["exec", "requests/list.yaml"], &[]) {
        ok(&r);
    }
    let stats = sb.stats();
    assert_eq!(stats["token_requests"]["refresh_token"], 1, "{stats}");
    assert_eq!(stats["token_requests"]["password"], 1, "{stats}");
    assert_eq!(stats["refresh_reuse"], 0, "{stats}");
}

#[test]
fn login_token_profiles_logout() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb, "");
    let r = p.run(&["login"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .starts_with("logged in with profile `default`: access token valid until "),
        "{}",
        r.stderr
    );
    assert_eq!(sb.token_requests("password"), 1);

    let t = p.run(&["token"]);
    assert_eq!(t.code, 0);
    assert_eq!(t.stdout.trim(), p.cache()["access_token"].as_str().unwrap());
    // The token works for other tools.
    let (status, _) = crate::support::http_text(
        "GET",
        &format!("{}/api/v1/assets", sb.url),
        None,
        &[("Authorization", &format!("Bearer {}", t.stdout.trim()))],
    );
    assert_eq!(status, 200);

    p.write(
        "profiles/static.yaml",
        "base_url: http://127.0.0.1:1\nauth: {type: bearer, token: \"{{ env('X', 'abcd') }}\"}\n",
    );
    let list = p.run(&["profiles"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", list.stdout);
    assert!(
        lines[0].starts_with("default  oauth2_password"),
        "{}",
        list.stdout
    );
    assert!(
        lines[0].contains("access token valid until 20"),
        "{}",
        list.stdout
    );
    assert!(
        lines[0].contains("refresh token obtained at 20"),
        "{}",
        list.stdout
    );
    assert_eq!(lines[1], "static   bearer");
    assert_no_secret(&list.stdout, &[t.stdout.trim()]);

    let out = p.run(&["logout"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            0,
            "logged out of profile `default`: cached tokens forgotten (not revoked: no revocation endpoint, from auth.revocation_url or auth.issuer)\n"
        )
    );
    assert!(p.cache_files().is_empty());
    let again = p.run(&["logout"]);
    assert_eq!(again.stderr, "profile `default` had no cached tokens\n");
    let r = p.run_env(&["exec", "requests/list.yaml"], &[("SB_PASSWORD", "")]);
    assert_eq!(r.code, 3);
}

#[test]
fn token_endpoint_errors_show_the_servers_words_and_exit_3() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb, "");
    let r = p.run_env(
        &["exec", "requests/list.yaml", "-vv"],
        &[("SB_PASSWORD", "hunter2-wrong-pass")],
    );
    assert_eq!(r.code, 3);
    assert!(
        r.stderr.contains(
            "refused the password grant: invalid_grant: Invalid username and password combination"
        ),
        "{}",
        r.stderr
    );
    assert_no_secret(&r.stderr, &["hunter2-wrong-pass", "sandbox-secret"]);

    let r = p.run_env(&["login"], &[("SB_SECRET", "not-the-secret-42")]);
    assert_eq!(r.code, 3);
    // The hint names the method in use and the others a server may want.
    assert!(
        r.stderr.contains(
            ": invalid_client: The client credentials are invalid (the client authenticated with client_auth: body: check client_id and client_secret, or whether the server wants another client_auth: basic, none, private_key_jwt, client_secret_jwt, tls_client_auth, self_signed_tls_client_auth)\n"
        ),
        "{}",
        r.stderr
    );
    assert_no_secret(&r.stderr, &["not-the-secret-42"]);
}

#[test]
fn client_credentials_and_basic_client_auth() {
    let sb = SandboxProc::start(&[]);
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        &format!(
            "base_url: {0}/api/v1\nauth:\n  type: oauth2_client_credentials\n  token_url: {0}/oauth/v2/token\n  client_id: sandbox\n  client_secret: \"{{{{ env('SB_SECRET', 'sandbox-secret') }}}}\"\n  client_auth: basic\n",
            sb.url
        ),
    );
    p.write("requests/list.yaml", LIST);
    ok(&p.run(&["exec", "requests/list.yaml"]));
    ok(&p.run(&["exec", "requests/list.yaml"]));
    assert_eq!(sb.token_requests("client_credentials"), 1);
    // The credentials went in the Authorization header, as the profile asks.
    assert_eq!(sb.stats()["token_client_auth"], json!({"basic": 1}));
    assert_eq!(p.cache()["refresh_token"], serde_json::Value::Null);
}

#[test]
fn plain_http_token_urls_are_refused_off_loopback() {
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        "base_url: http://127.0.0.1:1\nauth:\n  type: oauth2_password\n  token_url: http://auth.example.com/token\n  client_id: c\n  username: u\n  password: \"{{ env('P', 'pw-1234') }}\"\n",
    );
    p.write("requests/list.yaml", LIST);
    // A written URL is an input problem at its key's place, found before sending.
    let r = p.run(&["exec", "requests/list.yaml"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "error: auth.token_url: refusing to send credentials over plain http to the token endpoint http://auth.example.com/token: use https (plain http is allowed only for loopback hosts)\n  --> profiles/default.yaml:4:14\n"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn a_corrupt_or_world_readable_cache_is_reported_and_recovered() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb, "");
    ok(&p.run(&["exec", "requests/list.yaml"]));
    let file = p.cache_files()[0].clone();
    std::fs::write(&file, b"{\"access_token\": tru").unwrap();
    let r = p.run(&["exec", "requests/list.yaml"]);
    ok(&r);
    assert!(r.stderr.contains("warning: token cache"), "{}", r.stderr);
    assert!(r.stderr.contains("does not parse"), "{}", r.stderr);
    assert_eq!(sb.token_requests("password"), 2);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let r = p.run(&["exec", "requests/list.yaml"]);
        ok(&r);
        assert!(
            r.stderr
                .contains("was readable by others (mode 644); set to 600"),
            "{}",
            r.stderr
        );
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[test]
fn no_secret_reaches_any_output_even_at_vv() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb, "");
    p.write(
        "requests/keyed.yaml",
        "url: \"/assets/{{ id }}\"\nheaders: {X-Api-Key: \"{{ env('SB_API_KEY') }}\"}\nextract: {name: $.name}\n",
    );
    p.write(
        "ids.csv",
        "id\n00000000-0000-4000-8000-000000000001\nnope\n",
    );
    let key = ("SB_API_KEY", "api-key-secret-55");
    let mut outputs = Vec::new();
    let mut tokens = std::collections::BTreeSet::new();
    let mut record = |r: crate::support::Run, p: &Project| {
        outputs.push(format!("{}\n{}", r.stdout, r.stderr));
        // Every token the cache ever held: none may appear anywhere.
        if let Some(f) = p.cache_files().first()
            && let Ok(v) = serde_json::from_slice::<serde_json::Value>(&std::fs::read(f).unwrap())
        {
            for k in ["access_token", "refresh_token"] {
                if let Some(t) = v[k].as_str() {
                    tokens.insert(t.to_string());
                }
            }
        }
    };
    record(p.run(&["login", "-vv"]), &p);
    record(
        p.run(&["exec", "requests/list.yaml", "-vv", "-o", "json", "-i"]),
        &p,
    );
    // A refresh at -vv.
    p.expire_access_tokens();
    let refreshes = sb.token_requests("refresh_token");
    record(p.run(&["exec", "requests/list.yaml", "-vv"]), &p);
    assert_eq!(sb.token_requests("refresh_token"), refreshes + 1);
    sb.revoke_access_tokens();
    record(p.run(&["exec", "requests/list.yaml", "-vv"]), &p);
    let keyed = [
        "exec",
        "requests/keyed.yaml",
        "--var",
        "id=00000000-0000-4000-8000-000000000001",
    ];
    for mode in [
        &["-vv"][..],
        &["--dry-run"],
        &["--curl"],
        &["-vv", "-o", "json", "-i"],
    ] {
        let mut args = keyed.to_vec();
        args.extend_from_slice(mode);
        record(p.run_env(&args, &[key]), &p);
    }
    record(
        p.run_env(
            &[
                "exec",
                "requests/keyed.yaml",
                "--data",
                "ids.csv",
                "--failed",
                "failed.csv",
                "-vv",
                "--report",
                "junit:r.xml",
                "--report",
                "json:r.json",
            ],
            &[key],
        ),
        &p,
    );
    record(
        p.run_env(
            &[
                "exec",
                "requests/keyed.yaml",
                "--var",
                "id=x",
                "--timeout",
                "0",
            ],
            &[key],
        ),
        &p,
    );
    record(p.run(&["profiles", "-vv"]), &p);
    record(p.run(&["check", "-vv"]), &p);
    record(p.run(&["logout", "-vv"]), &p);
    record(
        p.run_env(
            &["exec", "requests/list.yaml", "-vv"],
            &[("SB_PASSWORD", "wrong-password-77")],
        ),
        &p,
    );
    record(
        p.run_env(&["login", "-vv"], &[("SB_SECRET", "wrong-secret-88")]),
        &p,
    );
    let all = outputs.join("\n");
    assert!(all.contains("> Authorization: ***"), "{all}");
    assert!(all.contains("X-Api-Key: ***"), "{all}");
    assert!(tokens.len() >= 6, "{} tokens seen", tokens.len());
    let mut secrets: Vec<&str> = tokens.iter().map(String::as_str).collect();
    secrets.extend([
        "sandbox-secret",
        "wrong-password-77",
        "wrong-secret-88",
        "api-key-secret-55",
    ]);
    assert_no_secret(&all, &secrets);
    // Nor in any file runner wrote outside the token store: reports, failed rows.
    for f in ["r.xml", "r.json", "failed.csv"] {
        let text = std::fs::read_to_string(p.path(f)).unwrap();
        assert!(!text.is_empty(), "{f}");
        assert_no_secret(&text, &secrets);
    }
}

/// SIGKILL at random points of a refresh, over and over: the cache always parses and
/// holds a whole pair (the old or the new), a run that ends by itself succeeds, and
/// the next run recovers. The kills are spread over the refresh, and the API answers
/// slowly afterwards, so that some kills land before the new pair is saved and some
/// after: both outcomes must be seen, or the test did not test the window.
#[test]
fn killed_refreshes_never_corrupt_the_cache() {
    let sb = SandboxProc::start(&["--latency", "150"]);
    let p = project(&sb, "");
    ok(&p.run(&["exec", "requests/list.yaml"]));
    let file = p.cache_files()[0].clone();
    let read_cache = |what: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(&file).unwrap())
            .unwrap_or_else(|e| panic!("{what}: the cache does not parse: {e}"))
    };
    // How long a refresh takes here, now (`runner token` refreshes and exits; the API
    // is not called): the kills are spread over 1.5 times that.
    let mut took = Vec::new();
    for _ in 0..3 {
        p.expire_access_tokens();
        let started = std::time::Instant::now();
        assert_eq!(p.run(&["token"]).code, 0);
        took.push(started.elapsed());
    }
    took.sort();
    let span = took[1].as_micros() as u64 * 3 / 2;
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    // Kills that left the old pair, kills that left the new one, runs that ended first.
    let (mut old, mut new, mut finished) = (0u32, 0u32, 0u32);
    let mut i = 0;
    while i < 120 || ((old < 3 || new < 3) && i < 400) {
        i += 1;
        p.expire_access_tokens();
        let before = read_cache(&format!("iteration {i}"));
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_micros(seed % span.max(1));
        let mut child = p
            .cmd(&["exec", "requests/list.yaml"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        wait(delay);
        let killed = match child.try_wait().unwrap() {
            Some(_) => false,
            None => {
                let _ = child.kill();
                true
            }
        };
        let status = child.wait().unwrap();
        // A run that ended before the kill must have ended well.
        if let Some(code) = status.code() {
            assert_eq!(
                code, 0,
                "iteration {i}: runner exited by itself with {code}"
            );
        }
        let after = read_cache(&format!("iteration {i} (kill after {delay:?})"));
        let same_access = after["access_token"] == before["access_token"];
        let same_refresh = after["refresh_token"] == before["refresh_token"];
        assert_eq!(
            same_access, same_refresh,
            "iteration {i}: a mixed pair was saved"
        );
        match (killed && status.code().is_none(), same_access) {
            (false, _) => finished += 1,
            (true, true) => old += 1,
            (true, false) => new += 1,
        }
        if i % 25 == 0 {
            ok(&p.run(&["exec", "requests/list.yaml"]));
        }
    }
    ok(&p.run(&["exec", "requests/list.yaml"]));
    let tally = format!(
        "{i} runs, kills spread over {span} us: {old} left the old pair, {new} the new, \
         {finished} ended by themselves"
    );
    eprintln!("{tally}");
    assert!(old >= 1 && new >= 1, "both outcomes must occur: {tally}");
    let leftovers = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .count();
    assert!(leftovers <= 1, "{leftovers} temp files left behind");
}

/// 32 processes x 20 requests with 2-second tokens and single-use refresh tokens:
/// no failure, and no refresh token presented twice.
#[test]
fn thirty_two_processes_share_one_session_under_load() {
    let sb = SandboxProc::start(&["--access-ttl", "2"]);
    let p = project(&sb, "");
    p.write(
        "requests/get.yaml",
        "url: \"/assets/{{ id }}\"\nextract: {id: $.id}\n",
    );
    let mut csv = String::from("id\n");
    for i in 1..=20 {
        csv.push_str(&format!("00000000-0000-4000-8000-{i:012}\n"));
    }
    p.write("ids.csv", &csv);
    ok(&p.run(&["exec", "requests/list.yaml"]));
    // Every process starts with an expired token, so the first wave contends for the
    // lock at once; 2-second tokens expire again while the run goes on.
    p.expire_access_tokens();
    let bulk = [
        "exec",
        "requests/get.yaml",
        "--data",
        "ids.csv",
        "--concurrency",
        "2",
    ];
    for r in p.run_at_once(32, &bulk, &[]) {
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(
            r.stdout
                .lines()
                .filter(|l| l.contains("\"ok\":true"))
                .count(),
            20
        );
    }
    let stats = sb.stats();
    let refreshes = stats["token_requests"]["refresh_token"].as_u64().unwrap();
    assert!(refreshes >= 1, "no refresh happened: {stats}");
    assert_eq!(stats["refresh_reuse"], 0, "{stats}");
    assert_eq!(stats["token_errors"], 0, "{stats}");
    assert_eq!(stats["token_requests"]["password"], 1, "{stats}");
    assert_eq!(
        stats["requests"]["GET /api/v1/assets/{id}"],
        32 * 20,
        "{stats}"
    );
    eprintln!("32 x 20 requests: {refreshes} refreshes");
}
