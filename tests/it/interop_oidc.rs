//! Interop with oidc-provider 9.13.3 (npm), an OpenID Provider nobody here wrote:
//! authorization code with PKCE, the device grant, discovery, revocation, introspection
//! and rotating refresh tokens whose reuse revokes the whole grant. `.ci/run` starts it
//! (tests/interop/oidc/start.sh) and exports RUNNER_OIDC_ISSUER; without it these tests
//! are skipped, unless RUNNER_REQUIRE_INTEROP=1 (as in CI), where that fails.
//!
//! Login goes through `RUNNER_BROWSER` = tests/interop/oidc/browser.mjs, which signs in
//! and consents with plain HTTP form posts, then delivers the callback to runner's
//! loopback listener (or approves the device). Each test signs in as its own account
//! (`BROWSER_LOGIN`), so the server's per-account counters (`/_stats`) are its own.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{Project, Run, assert_no_secret, http_json, http_text, now, repo_root};

const CONFIDENTIAL: &str = "runner-confidential";

pub(crate) fn issuer() -> Option<String> {
    match std::env::var("RUNNER_OIDC_ISSUER") {
        Ok(u) if !u.is_empty() => Some(u.trim_end_matches('/').to_string()),
        _ => {
            assert!(
                std::env::var("RUNNER_REQUIRE_INTEROP").as_deref() != Ok("1"),
                "RUNNER_REQUIRE_INTEROP=1 but RUNNER_OIDC_ISSUER is not set: the oidc-provider server did not start"
            );
            eprintln!(
                "SKIPPED oidc-provider interop test: RUNNER_OIDC_ISSUER is not set. Start the server \
                 with `tests/interop/oidc/start.sh` and export the variables of its env file."
            );
            None
        }
    }
}

pub(crate) fn confidential_secret() -> String {
    std::env::var("RUNNER_OIDC_CONFIDENTIAL_SECRET")
        .unwrap_or_else(|_| "confidential-secret-1".to_string())
}

fn browser_helper() -> PathBuf {
    repo_root().join("tests/interop/oidc/browser.mjs")
}

/// An account name no other test (or earlier run against the same server) uses.
pub(crate) fn unique_login(what: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{what}-{}-{nanos}", std::process::id())
}

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Grant {
    AuthorizationCode,
    DeviceCode,
}

impl Grant {
    pub(crate) fn auth_type(self) -> &'static str {
        match self {
            Grant::AuthorizationCode => "oauth2_authorization_code",
            Grant::DeviceCode => "oauth2_device_code",
        }
    }

    /// What browser.mjs writes to its marker file for one completed login.
    pub(crate) fn browser_steps(self) -> &'static [&'static str] {
        match self {
            Grant::AuthorizationCode => &["start /auth", "login", "consent", "callback 200"],
            Grant::DeviceCode => &[
                "start /device",
                "auto-submit",
                "confirm device",
                "login",
                "consent",
                "device approved",
            ],
        }
    }

    /// The grant_type runner sends for the first tokens.
    pub(crate) fn grant_type(self) -> &'static str {
        match self {
            Grant::AuthorizationCode => "authorization_code",
            Grant::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
        }
    }
}

/// The profile of the contract: discovery fills every endpoint.
pub(crate) fn profile(issuer: &str, grant: Grant, auth_extra: &str) -> String {
    format!(
        "base_url: {issuer}/api\nauth:\n  type: {}\n  issuer: {issuer}\n  client_id: runner-public\n  scopes: [openid, offline_access]\n{auth_extra}",
        grant.auth_type()
    )
}

/// One test's project, account and browser marker, and everything runner printed.
pub(crate) struct Session {
    pub(crate) p: Project,
    pub(crate) issuer: String,
    pub(crate) name: &'static str,
    pub(crate) login: String,
    pub(crate) marker: PathBuf,
    pub(crate) outputs: Vec<String>,
    pub(crate) env: Vec<(String, String)>,
}

impl Session {
    pub(crate) fn new(
        issuer: &str,
        name: &'static str,
        profile_text: &str,
        login_prefix: &str,
    ) -> Session {
        let p = Project::new();
        p.write(&format!("profiles/{name}.yaml"), profile_text);
        p.write("requests/me.yaml", "url: /me\n");
        let marker = p.path("browser-marker.txt");
        let login = unique_login(login_prefix);
        let env = vec![
            (
                "RUNNER_BROWSER".to_string(),
                browser_helper().display().to_string(),
            ),
            // Were runner to fall back to $BROWSER, the login would fail loudly.
            ("BROWSER".to_string(), "false".to_string()),
            ("BROWSER_MARKER".to_string(), marker.display().to_string()),
            ("BROWSER_LOGIN".to_string(), login.clone()),
        ];
        Session {
            p,
            issuer: issuer.to_string(),
            name,
            login,
            marker,
            outputs: Vec::new(),
            env,
        }
    }

    pub(crate) fn env(&self) -> Vec<(&str, &str)> {
        self.env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    pub(crate) fn run(&mut self, args: &[&str]) -> Run {
        let mut full = args.to_vec();
        full.extend(["-p", self.name]);
        let r = self.p.run_env(&full, &self.env());
        self.outputs.push(format!("{}\n{}", r.stdout, r.stderr));
        r
    }

    pub(crate) fn run_at_once(&mut self, n: usize, args: &[&str]) -> Vec<Run> {
        let mut full = args.to_vec();
        full.extend(["-p", self.name]);
        let runs = self.p.run_at_once(n, &full, &self.env());
        for r in &runs {
            self.outputs.push(format!("{}\n{}", r.stdout, r.stderr));
        }
        runs
    }

    /// The lines browser.mjs wrote, or `None` when it never started.
    pub(crate) fn browser_steps(&self) -> Option<Vec<String>> {
        std::fs::read_to_string(&self.marker)
            .ok()
            .map(|s| s.lines().map(str::to_string).collect())
    }

    /// `runner exec requests/me.yaml` answered 200 with our account and client.
    pub(crate) fn exec_me_ok(&mut self, r: &Run, client_id: &str) {
        assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
        let body = r.json();
        assert_eq!(body["sub"], self.login.as_str(), "{body}");
        assert_eq!(body["client_id"], client_id, "{body}");
    }

    pub(crate) fn exec_me(&mut self, client_id: &str) {
        let r = self.run(&["exec", "requests/me.yaml"]);
        self.exec_me_ok(&r, client_id);
    }

    /// Exit 3 telling the user to log in, and no browser was started.
    pub(crate) fn needs_login(&mut self, args: &[&str]) {
        let steps_before = self.browser_steps();
        let r = self.run(args);
        assert_eq!(r.code, 3, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
        let hint = format!("run `runner login -p {}`", self.name);
        assert!(r.stderr.contains(&hint), "{}", r.stderr);
        assert_eq!(
            self.browser_steps(),
            steps_before,
            "a non-interactive `runner {}` started the browser",
            args.join(" ")
        );
    }

    /// The one token-cache file (the state dir may hold other things, such as the
    /// discovery document), and its content.
    pub(crate) fn token_cache(&self) -> (PathBuf, Value) {
        let found = self.token_caches();
        assert_eq!(found.len(), 1, "one token cache expected: {found:?}");
        found.into_iter().next().unwrap()
    }

    pub(crate) fn token_caches(&self) -> Vec<(PathBuf, Value)> {
        let mut found = Vec::new();
        let mut dirs = vec![self.p.state.path().to_path_buf()];
        while let Some(dir) = dirs.pop() {
            for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = e.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|x| x == "json")
                    && let Ok(v) =
                        serde_json::from_slice::<Value>(&std::fs::read(&path).unwrap_or_default())
                    && v.get("access_token").and_then(Value::as_str).is_some()
                {
                    found.push((path, v));
                }
            }
        }
        found
    }

    pub(crate) fn cached(&self, key: &str) -> String {
        let (path, cache) = self.token_cache();
        cache[key]
            .as_str()
            .unwrap_or_else(|| panic!("no {key} in {}: {cache}", path.display()))
            .to_string()
    }

    pub(crate) fn edit_cache(&self, edit: impl FnOnce(&mut Value)) {
        let (path, mut cache) = self.token_cache();
        edit(&mut cache);
        std::fs::write(&path, serde_json::to_vec_pretty(&cache).unwrap()).unwrap();
    }

    /// This account's token counters on the server.
    pub(crate) fn account_stats(&self) -> Value {
        let (_, s) = http_json("GET", &format!("{}/_stats", self.issuer), None);
        s["accounts"][&self.login].clone()
    }

    pub(crate) fn introspect(&self, token: &str) -> Value {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token)
            .append_pair("client_id", CONFIDENTIAL)
            .append_pair("client_secret", &confidential_secret())
            .finish();
        let (status, text) = http_text(
            "POST",
            &format!("{}/token/introspection", self.issuer),
            Some(("application/x-www-form-urlencoded", &body)),
            &[],
        );
        assert_eq!(status, 200, "introspection: {text}");
        serde_json::from_str(&text).unwrap()
    }

    pub(crate) fn api_status(&self, access_token: &str) -> u16 {
        http_text(
            "GET",
            &format!("{}/api/me", self.issuer),
            None,
            &[("Authorization", &format!("Bearer {access_token}"))],
        )
        .0
    }

    /// Every token runner held, and every code, verifier and device code the server
    /// saw presented, must be absent from everything runner printed.
    pub(crate) fn assert_nothing_secret_printed(&self, tokens: &[String]) {
        let (_, spent) = http_json("GET", &format!("{}/_spent", self.issuer), None);
        let mut secrets: Vec<String> = tokens.to_vec();
        for key in ["codes", "code_verifiers", "device_codes", "assertions"] {
            for v in spent[key].as_array().into_iter().flatten() {
                secrets.push(v.as_str().unwrap_or_default().to_string());
            }
        }
        secrets.retain(|s| s.len() >= 8);
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        for out in &self.outputs {
            assert_no_secret(out, &secrets);
        }
    }
}

pub(crate) fn count(v: &Value, grant: &str) -> u64 {
    v["token_requests"][grant].as_u64().unwrap_or(0)
}

pub(crate) fn set_u64(v: &mut Value, key: &str, n: u64) {
    v[key] = Value::from(n);
}

/// The whole life of a session with one grant: no session → exit 3 without a browser;
/// login through the browser helper; exec; a 401 → one refresh; expiry → 8 processes,
/// one refresh, no reuse; logout revokes (introspection: inactive); exit 3 again.
fn full_session(grant: Grant, name: &'static str) {
    let Some(issuer) = issuer() else { return };
    let mut s = Session::new(&issuer, name, &profile(&issuer, grant, ""), name);
    let mut tokens = Vec::new();

    // No session, stderr not a terminal: exit 3 at once, the browser never started.
    s.needs_login(&["exec", "requests/me.yaml"]);
    s.needs_login(&["token"]);
    assert_eq!(s.browser_steps(), None);

    // Login runs the interactive grant without a terminal; -vv leaks nothing.
    let r = s.run(&["login", "-vv"]);
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    let printed = match grant {
        Grant::AuthorizationCode => format!("{issuer}/auth?"),
        Grant::DeviceCode => format!("{issuer}/device"),
    };
    assert!(
        r.stderr.contains(&printed),
        "the URL is always printed: {}",
        r.stderr
    );
    let steps = s.browser_steps().expect("the browser helper never ran");
    assert_eq!(steps, grant.browser_steps(), "browser helper steps");
    let stats = s.account_stats();
    assert_eq!(count(&stats, grant.grant_type()), 1, "{stats}");
    assert_eq!(count(&stats, "refresh_token"), 0, "{stats}");
    let rt0 = s.cached("refresh_token");
    tokens.extend([s.cached("access_token"), rt0.clone()]);
    if let Some(id) = s.token_cache().1["id_token"].as_str() {
        tokens.push(id.to_string());
    }

    // The cached token works, with no token request.
    s.exec_me("runner-public");
    assert_eq!(s.account_stats(), stats);

    // `runner profiles` names the account the server said this session is.
    let r = s.run(&["profiles"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(&s.login),
        "profiles should show the subject: {}",
        r.stdout
    );

    // A 401 on a token the cache believes valid: one refresh (rotating), one retry.
    s.edit_cache(|c| {
        c["access_token"] = Value::String("not-a-valid-token".into());
        set_u64(c, "expires_at", now() + 3600);
    });
    s.exec_me("runner-public");
    let stats = s.account_stats();
    assert_eq!(count(&stats, "refresh_token"), 1, "{stats}");
    let rt1 = s.cached("refresh_token");
    assert_ne!(rt1, rt0, "oidc-provider rotates refresh tokens");
    assert_eq!(s.introspect(&rt0)["active"], false);
    tokens.extend([s.cached("access_token"), rt1.clone()]);

    // Expiry, then 8 processes at once: exactly one refresh, and no spent refresh token
    // presented again (oidc-provider would revoke the grant and fail the others).
    s.edit_cache(|c| set_u64(c, "expires_at", now().saturating_sub(1)));
    for r in s.run_at_once(8, &["exec", "requests/me.yaml"]) {
        s.exec_me_ok(&r, "runner-public");
    }
    let after = s.account_stats();
    assert_eq!(count(&after, "refresh_token"), 2, "{after}");
    assert_eq!(after["refresh_reuse"], 0, "{after}");
    assert_eq!(after["token_errors"], stats["token_errors"], "{after}");
    let rt2 = s.cached("refresh_token");
    let at2 = s.cached("access_token");
    assert_ne!(rt2, rt1);
    assert_eq!(s.introspect(&rt1)["active"], false);
    assert_eq!(s.introspect(&rt2)["active"], true);
    tokens.extend([at2.clone(), rt2.clone()]);

    // Logout revokes at the discovered revocation endpoint, then forgets.
    let r = s.run(&["logout"]);
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    let rt_after = s.introspect(&rt2);
    assert_eq!(rt_after["active"], false, "{rt_after}");
    assert_eq!(s.introspect(&at2)["active"], false);
    assert_eq!(s.api_status(&at2), 401);
    assert!(s.token_caches().is_empty(), "{:?}", s.token_caches());

    // Logged out: exit 3 again, still without a browser.
    s.needs_login(&["exec", "requests/me.yaml"]);
    assert_eq!(
        s.browser_steps().as_deref().map(<[String]>::len),
        Some(grant.browser_steps().len())
    );

    s.assert_nothing_secret_printed(&tokens);
}

#[test]
fn oidc_provider_authorization_code_login_exec_refresh_by_8_logout() {
    full_session(Grant::AuthorizationCode, "browser");
}

#[test]
fn oidc_provider_device_code_login_exec_refresh_by_8_logout() {
    full_session(Grant::DeviceCode, "device");
}

/// Declining at the server is exit 3 with the server's words, for both grants.
#[test]
fn oidc_provider_denied_login_is_exit_3_with_the_servers_words() {
    let Some(issuer) = issuer() else { return };
    for (grant, name) in [
        (Grant::AuthorizationCode, "browser"),
        (Grant::DeviceCode, "device"),
    ] {
        let mut s = Session::new(&issuer, name, &profile(&issuer, grant, ""), "denied");
        s.env
            .push(("BROWSER_ACTION".to_string(), "deny".to_string()));
        let r = s.run(&["login"]);
        assert_eq!(r.code, 3, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
        assert!(r.stderr.contains("access_denied"), "{}", r.stderr);
        assert!(s.browser_steps().is_some(), "the browser helper never ran");
        assert!(s.token_caches().is_empty());
        s.assert_nothing_secret_printed(&[]);
    }
}

/// A confidential client (client_secret as a template), with the secret as HTTP Basic
/// and in the body: login, exec, logout (revocation authenticates the client too).
#[test]
fn oidc_provider_confidential_client_basic_and_body() {
    let Some(issuer) = issuer() else { return };
    let secret = confidential_secret();
    for (client_auth, grant) in [
        ("basic", Grant::AuthorizationCode),
        ("body", Grant::DeviceCode),
    ] {
        let text = profile(&issuer, grant, "")
            .replace("client_id: runner-public", "client_id: runner-confidential")
            + &format!(
                "  client_secret: \"{{{{ env('OIDC_SECRET') }}}}\"\n  client_auth: {client_auth}\n"
            );
        let mut s = Session::new(&issuer, "conf", &text, client_auth);
        s.env.push(("OIDC_SECRET".to_string(), secret.clone()));
        let r = s.run(&["login"]);
        assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
        s.exec_me(CONFIDENTIAL);
        let rt = s.cached("refresh_token");
        let at = s.cached("access_token");
        let r = s.run(&["logout"]);
        assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
        assert_eq!(s.introspect(&rt)["active"], false);
        assert_eq!(s.api_status(&at), 401);
        s.assert_nothing_secret_printed(&[rt, at, secret.clone()]);
    }
}

/// Runs without the runner side: the server `.ci/run` started is there and answers
/// as the tests above expect (they are skipped until issue 13 lands, this one is not).
#[test]
fn oidc_provider_server_is_up_with_the_expected_configuration() {
    let Some(issuer) = issuer() else { return };
    let (status, d) = http_json(
        "GET",
        &format!("{issuer}/.well-known/openid-configuration"),
        None,
    );
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["issuer"], issuer.as_str());
    for (key, path) in [
        ("authorization_endpoint", "/auth"),
        ("token_endpoint", "/token"),
        ("device_authorization_endpoint", "/device/auth"),
        ("revocation_endpoint", "/token/revocation"),
        ("introspection_endpoint", "/token/introspection"),
    ] {
        // Only the path: oidc-provider builds endpoint URLs from the request's Host
        // header, and support::http_text sends it without the port.
        let url = url::Url::parse(d[key].as_str().unwrap_or_default()).expect(key);
        assert_eq!(url.path(), path, "{key}: {d}");
    }
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );

    let (status, _) = http_text("GET", &format!("{issuer}/api/me"), None, &[]);
    assert_eq!(status, 401);
    let helper = browser_helper();
    assert!(
        is_executable(&helper),
        "{} is not executable",
        helper.display()
    );
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}
