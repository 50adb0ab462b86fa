//! Interop with oidc-provider for issue 23: clients that authenticate with signed
//! assertions (`private_key_jwt` with an RSA PKCS#8 key, `client_secret_jwt` with
//! HS256), one that requires pushed authorization requests, and the two grants
//! registered through its grant API (tests/interop/oidc/server.mjs), which verify
//! what runner sends for real: the JWT bearer grant from a Google-format
//! service-account key file (a SEC1 P-256 key) and token exchange of another
//! profile's token. Keys are generated at each server start (start.sh); the server
//! knows only their public halves.
//!
//! Each test logs in, calls /api/me (which answers with the token's account and
//! client), crosses an expiry with 8 processes at once (one token request, no
//! refresh token presented twice), and logs out (revocation authenticated the same
//! way). Nothing secret (tokens, assertions the server saw, key lines, the HS256
//! secret) appears in anything runner printed, at -vv included.

use serde_json::Value;

use crate::interop_oidc::{Grant, Session, count, issuer, profile, set_u64, unique_login};
use crate::support::{http_json, now};

fn keys_dir() -> String {
    std::env::var("RUNNER_OIDC_KEYS_DIR").expect("RUNNER_OIDC_KEYS_DIR (from start.sh's env)")
}

fn key(name: &str) -> String {
    std::fs::read_to_string(format!("{}/{name}", keys_dir())).unwrap()
}

fn csjwt_secret() -> String {
    std::env::var("RUNNER_OIDC_CSJWT_SECRET").expect("RUNNER_OIDC_CSJWT_SECRET")
}

/// The lines of a PEM key's body: none may be printed.
fn key_lines(pem: &str) -> Vec<String> {
    pem.lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 16)
        .map(str::to_string)
        .collect()
}

fn stats(issuer: &str) -> Value {
    http_json("GET", &format!("{issuer}/_stats"), None).1
}

/// How many requests a signed assertion authenticated for `client` at `path`.
fn assertions_at(issuer: &str, client: &str, path: &str) -> u64 {
    stats(issuer)["client_assertions"][client][path]
        .as_u64()
        .unwrap_or(0)
}

/// Login, exec, a refresh crossed by 8 processes, logout: the life of a session
/// whose client authenticates with an assertion at every endpoint.
fn signed_client_session(s: &mut Session, grant: Grant, client: &str, secrets: &[String]) {
    let issuer = s.issuer.clone();
    let r = s.run(&["login", "-vv"]);
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("client_assertion=***"),
        "-vv shows the assertion masked: {}",
        r.stderr
    );
    assert_eq!(s.browser_steps().unwrap(), grant.browser_steps());
    let first = s.account_stats();
    assert_eq!(count(&first, grant.grant_type()), 1, "{first}");
    assert!(assertions_at(&issuer, client, "/token") >= 1);
    s.exec_me(client);
    let rt0 = s.cached("refresh_token");
    let mut tokens = vec![s.cached("access_token"), rt0.clone()];

    // Expiry, then 8 processes: one refresh, authenticated with a new assertion.
    s.edit_cache(|c| set_u64(c, "expires_at", now().saturating_sub(1)));
    for r in s.run_at_once(8, &["exec", "requests/me.yaml", "-vv"]) {
        s.exec_me_ok(&r, client);
    }
    let after = s.account_stats();
    assert_eq!(count(&after, "refresh_token"), 1, "{after}");
    assert_eq!(after["refresh_reuse"], 0, "{after}");
    assert_eq!(after["token_errors"], first["token_errors"], "{after}");
    let rt1 = s.cached("refresh_token");
    let at1 = s.cached("access_token");
    assert_ne!(rt1, rt0);
    tokens.extend([rt1.clone(), at1.clone()]);

    // Logout: revocation takes the client's assertion too.
    let revocations = assertions_at(&issuer, client, "/token/revocation");
    let r = s.run(&["logout", "-vv"]);
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert_eq!(
        assertions_at(&issuer, client, "/token/revocation"),
        revocations + 2,
        "the refresh and the access token revoked, each with an assertion"
    );
    assert_eq!(s.introspect(&rt1)["active"], false);
    assert_eq!(s.api_status(&at1), 401);
    assert!(s.token_caches().is_empty());
    tokens.extend(secrets.iter().cloned());
    s.assert_nothing_secret_printed(&tokens);
}

#[test]
fn oidc_provider_private_key_jwt_login_exec_refresh_by_8_logout() {
    let Some(issuer) = issuer() else { return };
    let pem = key("client-rs256.pem");
    let extra = "  client_auth: private_key_jwt\n  private_key: \"{{ file('../keys/client.pem') }}\"\n  key_id: client-key-1\n";
    let text = profile(&issuer, Grant::AuthorizationCode, extra)
        .replace("client_id: runner-public", "client_id: runner-pkjwt");
    let mut s = Session::new(&issuer, "pkjwt", &text, "pkjwt");
    s.p.write("keys/client.pem", &pem);
    signed_client_session(
        &mut s,
        Grant::AuthorizationCode,
        "runner-pkjwt",
        &key_lines(&pem),
    );
}

#[test]
fn oidc_provider_client_secret_jwt_device_login_exec_refresh_by_8_logout() {
    let Some(issuer) = issuer() else { return };
    let secret = csjwt_secret();
    let extra =
        "  client_auth: client_secret_jwt\n  client_secret: \"{{ env('CSJWT_SECRET') }}\"\n";
    let text = profile(&issuer, Grant::DeviceCode, extra)
        .replace("client_id: runner-public", "client_id: runner-csjwt");
    let mut s = Session::new(&issuer, "csjwt", &text, "csjwt");
    s.env.push(("CSJWT_SECRET".to_string(), secret.clone()));
    let devices = assertions_at(&issuer, "runner-csjwt", "/device/auth");
    signed_client_session(&mut s, Grant::DeviceCode, "runner-csjwt", &[secret]);
    assert_eq!(
        assertions_at(&issuer, "runner-csjwt", "/device/auth"),
        devices + 1,
        "the device authorization request took the assertion"
    );
}

/// A client the server requires to push its authorization requests: without
/// `auth.par` the server refuses the login; with it, the push is authenticated with
/// a private_key_jwt assertion and the browser sees only client_id and request_uri.
#[test]
fn oidc_provider_par_required_login_pushes_then_exec_refresh_by_8_logout() {
    let Some(issuer) = issuer() else { return };
    let pem = key("client-rs256.pem");
    let extra = "  client_auth: private_key_jwt\n  private_key: \"{{ file('../keys/client.pem') }}\"\n  key_id: client-key-1\n";
    let text = profile(&issuer, Grant::AuthorizationCode, extra)
        .replace("client_id: runner-public", "client_id: runner-par");

    let mut refused = Session::new(&issuer, "par", &text, "par-refused");
    refused.p.write("keys/client.pem", &pem);
    let r = refused.run(&["login"]);
    assert_eq!(r.code, 3, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(r.stderr.contains("invalid_request"), "{}", r.stderr);

    let mut s = Session::new(&issuer, "par", &format!("{text}  par: true\n"), "par");
    s.p.write("keys/client.pem", &pem);
    let pushed = stats(&issuer)["pushed_authorizations"].as_u64().unwrap();
    let at_request = assertions_at(&issuer, "runner-par", "/request");
    signed_client_session(
        &mut s,
        Grant::AuthorizationCode,
        "runner-par",
        &key_lines(&pem),
    );
    assert_eq!(stats(&issuer)["pushed_authorizations"], pushed + 1);
    assert_eq!(
        assertions_at(&issuer, "runner-par", "/request"),
        at_request + 1
    );
    let login_out = &s.outputs[0];
    let printed = login_out
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{issuer}/auth?")))
        .expect("the authorize URL is printed");
    let url = url::Url::parse(printed.trim()).unwrap();
    let keys: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    assert_eq!(keys, ["client_id", "request_uri"], "{printed}");
}

/// A second oidc-provider whose discovery says `require_pushed_authorization_requests:
/// true` (GET /_par on the main issuer names it): a profile with `issuer` and no
/// `auth.par` pushes the login's parameters, the browser is sent only client_id and
/// request_uri, and the session works (exec, refresh across an expiry).
#[test]
fn oidc_provider_metadata_requiring_par_makes_the_login_push_without_auth_par() {
    let Some(main) = issuer() else { return };
    let par = |k: &str| http_json("GET", &format!("{main}/_par"), None).1[k].clone();
    let issuer = par("issuer").as_str().unwrap().to_string();
    let (pushed, with, without) = (
        par("pushed").as_u64().unwrap(),
        par("authorizations_with_request_uri").as_u64().unwrap(),
        par("authorizations_without").as_u64().unwrap(),
    );
    let text = profile(&issuer, Grant::AuthorizationCode, "");
    assert!(!text.contains("par:"), "{text}");
    let mut s = Session::new(&issuer, "parmeta", &text, "parmeta");
    let r = s.run(&["login", "-v"]);
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    let line = format!(
        "pushing the authorization request to {issuer}/request (the issuer's metadata requires it)"
    );
    assert!(r.stderr.contains(&line), "{}", r.stderr);
    assert_eq!(
        s.browser_steps().unwrap(),
        Grant::AuthorizationCode.browser_steps()
    );
    assert_eq!(par("pushed").as_u64().unwrap(), pushed + 1);
    assert_eq!(
        par("authorizations_with_request_uri").as_u64().unwrap(),
        with + 1
    );
    assert_eq!(
        par("authorizations_without").as_u64().unwrap(),
        without,
        "the browser never carried the parameters themselves"
    );
    let printed = r
        .stderr
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{issuer}/auth?")))
        .expect("the authorize URL is printed");
    let url = url::Url::parse(printed.trim()).unwrap();
    let keys: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    assert_eq!(keys, ["client_id", "request_uri"], "{printed}");
    s.exec_me("runner-public");
    let rt0 = s.cached("refresh_token");
    s.edit_cache(|c| set_u64(c, "expires_at", now().saturating_sub(1)));
    s.exec_me("runner-public");
    assert_ne!(
        s.cached("refresh_token"),
        rt0,
        "refreshed across the expiry"
    );
    let r = s.run(&["logout"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(s.token_caches().is_empty());
}

/// A Google-format service-account key file (client_email, private_key_id,
/// private_key as SEC1 PEM, token_uri) for `runner-service`, with `subject` naming
/// the account.
fn service_profile(issuer: &str, account: &str) -> (String, String) {
    let pem = key("service-es256.pem");
    let file = serde_json::json!({
        "type": "service_account",
        "project_id": "interop",
        "private_key_id": "service-key-1",
        "private_key": pem,
        "client_email": "runner-service@interop.example",
        "client_id": "1234567890",
        "token_uri": format!("{issuer}/token"),
    });
    let text = format!(
        "base_url: {issuer}/api\nauth:\n  type: oauth2_jwt_bearer\n  key_file: keys/sa.json\n  revocation_url: {issuer}/token/revocation\n  client_id: runner-service\n  subject: {account}\n  scopes: [openid]\n"
    );
    (text, file.to_string())
}

/// Tokens of every cache in the project, then every cache made expired.
fn expire_all(s: &Session) -> Vec<String> {
    let mut tokens = Vec::new();
    for (path, mut c) in s.token_caches() {
        tokens.push(c["access_token"].as_str().unwrap().to_string());
        set_u64(&mut c, "expires_at", now().saturating_sub(1));
        std::fs::write(&path, serde_json::to_vec(&c).unwrap()).unwrap();
    }
    tokens
}

#[test]
fn oidc_provider_jwt_bearer_key_file_login_exec_expiry_by_8_logout() {
    let Some(issuer) = issuer() else { return };
    let account = unique_login("svc");
    let (text, file) = service_profile(&issuer, &account);
    let mut s = Session::new(&issuer, "svc", &text, "svc");
    s.login = account.clone();
    s.p.write("keys/sa.json", &file);
    let r = s.run(&["login", "-vv"]);
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(r.stderr.contains("assertion=***"), "{}", r.stderr);
    assert_eq!(s.browser_steps(), None, "no browser for a service account");
    let grant = "urn:ietf:params:oauth:grant-type:jwt-bearer";
    assert_eq!(count(&s.account_stats(), grant), 1);
    s.exec_me("runner-service");
    let mut tokens = expire_all(&s);
    for r in s.run_at_once(8, &["exec", "requests/me.yaml", "-vv"]) {
        s.exec_me_ok(&r, "runner-service");
    }
    let after = s.account_stats();
    assert_eq!(
        count(&after, grant),
        2,
        "one new assertion for 8 processes: {after}"
    );
    assert_eq!(after["token_errors"], serde_json::json!({}), "{after}");
    let at = s.cached("access_token");
    tokens.push(at.clone());
    let r = s.run(&["logout"]);
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert_eq!(s.introspect(&at)["active"], false);
    assert_eq!(s.api_status(&at), 401);
    assert!(s.token_caches().is_empty());
    tokens.extend(key_lines(&key("service-es256.pem")));
    s.assert_nothing_secret_printed(&tokens);
}

/// Token exchange: profile `ex` trades the session of profile `svc` (a JWT bearer
/// session, obtained and renewed as usual) for a token of its own client, whose
/// assertion authenticates it; both renewed once by 8 processes after expiry.
#[test]
fn oidc_provider_token_exchange_of_a_subject_profile_exec_expiry_by_8_logout() {
    let Some(issuer) = issuer() else { return };
    let account = unique_login("exchange");
    let (svc, file) = service_profile(&issuer, &account);
    let pem = key("client-rs256.pem");
    let text = format!(
        "base_url: {issuer}/api\nauth:\n  type: oauth2_token_exchange\n  token_url: {issuer}/token\n  revocation_url: {issuer}/token/revocation\n  client_id: runner-exchange\n  client_auth: private_key_jwt\n  private_key: \"{{{{ file('../keys/client.pem') }}}}\"\n  key_id: client-key-1\n  subject_profile: svc\n  audience: interop-api-b\n"
    );
    let mut s = Session::new(&issuer, "ex", &text, "ex");
    s.login = account.clone();
    s.p.write("profiles/svc.yaml", &svc);
    s.p.write("keys/sa.json", &file);
    s.p.write("keys/client.pem", &pem);
    let bearer = "urn:ietf:params:oauth:grant-type:jwt-bearer";
    let exchange = "urn:ietf:params:oauth:grant-type:token-exchange";

    s.exec_me("runner-exchange");
    let first = s.account_stats();
    assert_eq!(
        (count(&first, bearer), count(&first, exchange)),
        (1, 1),
        "{first}"
    );
    assert_eq!(s.token_caches().len(), 2, "one session per profile");
    let mut tokens = expire_all(&s);
    for r in s.run_at_once(8, &["exec", "requests/me.yaml", "-vv"]) {
        s.exec_me_ok(&r, "runner-exchange");
    }
    let after = s.account_stats();
    assert_eq!(
        (count(&after, bearer), count(&after, exchange)),
        (2, 2),
        "{after}"
    );
    let ex = stats(&issuer)["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["sub"] == account.as_str())
        .count();
    assert_eq!(ex, 2);
    let revocations = assertions_at(&issuer, "runner-exchange", "/token/revocation");
    let caches = s.token_caches();
    let at = caches
        .iter()
        .map(|(_, c)| c["access_token"].as_str().unwrap().to_string())
        .collect::<Vec<_>>();
    tokens.extend(at.iter().cloned());
    let r = s.run(&["logout"]);
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert_eq!(
        assertions_at(&issuer, "runner-exchange", "/token/revocation"),
        revocations + 1
    );
    assert_eq!(
        s.token_caches().len(),
        1,
        "the subject profile's session stays"
    );
    tokens.extend(key_lines(&pem));
    s.assert_nothing_secret_printed(&tokens);
}

/// Token exchange of a given token (`subject_token` from the environment): the
/// exchanged token is for the same account, issued to the exchanging client; a token
/// the server does not know is refused with its words (exit 3).
#[test]
fn oidc_provider_token_exchange_of_a_given_subject_token() {
    let Some(issuer) = issuer() else { return };
    let account = unique_login("given");
    let (svc, file) = service_profile(&issuer, &account);
    let text = format!(
        "base_url: {issuer}/api\nauth:\n  type: oauth2_token_exchange\n  token_url: {issuer}/token\n  client_id: runner-exchange\n  client_auth: private_key_jwt\n  private_key: \"{{{{ env('EX_KEY') }}}}\"\n  key_id: client-key-1\n  subject_token: \"{{{{ env('SUBJECT') }}}}\"\n  audience: interop-api-b\n"
    );
    let mut s = Session::new(&issuer, "given", &text, "given");
    s.login = account.clone();
    s.p.write("profiles/svc.yaml", &svc);
    s.p.write("keys/sa.json", &file);
    let r = s.p.run(&["login", "-p", "svc"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let subject = s.p.run(&["token", "-p", "svc"]).stdout.trim().to_string();
    let pem = key("client-rs256.pem");
    s.env.push(("EX_KEY".to_string(), pem.clone()));
    s.env.push(("SUBJECT".to_string(), subject.clone()));
    s.exec_me("runner-exchange");
    let exchanged = s
        .token_caches()
        .into_iter()
        .find(|(_, c)| c["access_token"] != subject.as_str())
        .map(|(_, c)| c["access_token"].as_str().unwrap().to_string())
        .unwrap();

    let mut refused = Session::new(&issuer, "given", &text, "refused");
    refused.env.push(("EX_KEY".to_string(), pem.clone()));
    refused.env.push((
        "SUBJECT".to_string(),
        "not-a-token-of-this-server".to_string(),
    ));
    let r = refused.run(&["exec", "requests/me.yaml", "-vv"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.ends_with(&format!(
            "error: the token endpoint {issuer}/token refused the token-exchange grant: invalid_grant: subject token invalid or expired (wrong username or password, or an expired refresh token)\n"
        )),
        "{}",
        r.stderr
    );
    let mut secrets = vec![subject, exchanged];
    secrets.extend(key_lines(&pem));
    s.assert_nothing_secret_printed(&secrets);
    refused.assert_nothing_secret_printed(&secrets);
}
