//! Issue 23 against oidc-provider 9.13.3 (see interop_oidc.rs for how it is started):
//! DPoP with the token endpoint's nonce required (client `runner-dpop`, whose tokens
//! must be bound), and a resource route that checks the proof, `ath` and the token's
//! `cnf.jkt`, and asks for its own nonce. Mutual TLS (RFC 8705): `runner-mtls`
//! (tls_client_auth, a certificate from the server's authority) and `runner-mtls-self`
//! (self_signed_tls_client_auth, a certificate registered in its JWKS), over the
//! server's https listener, with PEM files and with PKCS#12 files made by openssl.

use crate::support::{Project, http_json, http_text};

fn issuer() -> Option<String> {
    match std::env::var("RUNNER_OIDC_ISSUER") {
        Ok(u) if !u.is_empty() => Some(u.trim_end_matches('/').to_string()),
        _ => {
            assert!(
                std::env::var("RUNNER_REQUIRE_INTEROP").as_deref() != Ok("1"),
                "RUNNER_REQUIRE_INTEROP=1 but RUNNER_OIDC_ISSUER is not set"
            );
            eprintln!("SKIPPED oidc-provider DPoP interop test: RUNNER_OIDC_ISSUER is not set");
            None
        }
    }
}

/// The tokens the server has issued to `client` (its answers 200 at /token).
fn grants(issuer: &str, client: &str) -> u64 {
    let (_, v) = http_json("GET", &format!("{issuer}/_stats"), None);
    v["issued_per_client"][client].as_u64().unwrap_or(0)
}

#[test]
fn oidc_provider_binds_tokens_to_runners_dpop_key_across_processes() {
    let Some(iss) = issuer() else { return };
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        &format!(
            "base_url: {iss}\nauth:\n  type: oauth2_client_credentials\n  token_url: {iss}/token\n  revocation_url: {iss}/token/revocation\n  client_id: runner-dpop\n  client_secret: dpop-secret-1\n  dpop: true\n"
        ),
    );
    p.write(
        "requests/me.yaml",
        "url: /api/dpop\nextract: {client: $.client_id, jkt: $.jkt}\n",
    );
    let before = grants(&iss, "runner-dpop");
    let r = p.run(&["-v", "exec", "requests/me.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for asked in [
        "the token endpoint asked for a DPoP nonce: sending again with it",
        "the server asked for a DPoP nonce: sending again with it",
    ] {
        assert!(r.stderr.contains(asked), "{asked}: {}", r.stderr);
    }
    let out: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(out["client"], "runner-dpop");
    let cache = p.assert_cache_intact();
    assert_eq!(cache["token_type"], "DPoP");
    // The key the server bound the token to (cnf.jkt), as its resource reports it.
    let jkt = out["jkt"].as_str().unwrap().to_string();
    let token = cache["access_token"].as_str().unwrap().to_string();
    assert_eq!(grants(&iss, "runner-dpop") - before, 1);
    // Bound: without a proof the resource refuses the token.
    let (status, body) = http_text(
        "GET",
        &format!("{iss}/api/dpop"),
        None,
        &[("Authorization", &format!("DPoP {token}"))],
    );
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("invalid_dpop_proof"), "{body}");
    // Across an expiry, 8 processes at once: one new token, the same key.
    p.expire_access_tokens();
    for r in p.run_at_once(8, &["exec", "requests/me.yaml"], &[]) {
        assert_eq!(r.code, 0, "{}", r.stderr);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(
            v["jkt"],
            jkt.as_str(),
            "every process proves the session's key"
        );
    }
    assert_eq!(
        grants(&iss, "runner-dpop") - before,
        2,
        "one grant for the 8 processes"
    );
    assert_ne!(p.cache()["access_token"], token.as_str());
    let out = p.run(&["logout"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(p.cache_files().is_empty());
}

/// A profile that says nothing of DPoP, for a client oidc-provider registered with
/// `dpop_bound_access_tokens`: the server refuses the grant without a proof (it says
/// only `invalid_grant`, "grant request is invalid"; its metadata lists
/// `dpop_signing_alg_values_supported`), so runner makes a session key, sends again
/// with a proof (and the server's nonce), keeps the key with the DPoP-bound tokens and
/// proves it on API requests; later processes use the cached key without asking again.
#[test]
fn oidc_provider_requiring_dpop_switches_it_on_for_a_profile_without_auth_dpop() {
    let Some(iss) = issuer() else { return };
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        &format!(
            "base_url: {iss}\nauth:\n  type: oauth2_client_credentials\n  issuer: {iss}\n  client_id: runner-dpop\n  client_secret: dpop-secret-1\n"
        ),
    );
    p.write(
        "requests/me.yaml",
        "url: /api/dpop\nextract: {client: $.client_id, jkt: $.jkt}\n",
    );
    let before = grants(&iss, "runner-dpop");
    let r = p.run(&["-v", "exec", "requests/me.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let switched = "the token endpoint refused the client_credentials grant (invalid_grant) and its issuer supports DPoP: DPoP is on for this session, sending again with a proof";
    assert_eq!(r.stderr.matches(switched).count(), 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("the token endpoint asked for a DPoP nonce: sending again with it"),
        "{}",
        r.stderr
    );
    let out: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(out["client"], "runner-dpop");
    let jkt = out["jkt"].as_str().unwrap().to_string();
    let cache = p.assert_cache_intact();
    assert_eq!(cache["token_type"], "DPoP");
    assert!(
        cache["dpop_key"].is_string(),
        "the key is kept with the tokens"
    );
    assert_eq!(grants(&iss, "runner-dpop") - before, 1);

    // Another process: the cached token and key, no token request, no switch.
    let r = p.run(&["-v", "exec", "requests/me.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("DPoP is on"), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["jkt"], jkt.as_str());

    // Across an expiry, 8 processes: one new grant, proved with the cached key from
    // the first request on (no refusal to switch on again).
    p.expire_access_tokens();
    for r in p.run_at_once(8, &["-v", "exec", "requests/me.yaml"], &[]) {
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(!r.stderr.contains("DPoP is on"), "{}", r.stderr);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(
            v["jkt"],
            jkt.as_str(),
            "every process proves the session's key"
        );
    }
    assert_eq!(grants(&iss, "runner-dpop") - before, 2);
    let out = p.run(&["logout"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(p.cache_files().is_empty());
}

/// As above, for a client that signs a private_key_jwt assertion, which oidc-provider
/// takes only once (its `jti`): the refusal, the retry with a proof and the retry with
/// the nonce each carry a new assertion.
#[test]
fn a_switch_to_dpop_and_the_nonce_retry_each_sign_a_new_client_assertion() {
    let Some(iss) = issuer() else { return };
    let keys = std::env::var("RUNNER_OIDC_KEYS_DIR").expect("RUNNER_OIDC_KEYS_DIR");
    let p = Project::new();
    p.write(
        "keys/client.pem",
        &std::fs::read_to_string(format!("{keys}/client-rs256.pem")).unwrap(),
    );
    p.write(
        "profiles/default.yaml",
        &format!(
            "base_url: {iss}\nauth:\n  type: oauth2_client_credentials\n  issuer: {iss}\n  client_id: runner-dpop-pkjwt\n  client_auth: private_key_jwt\n  private_key: \"{{{{ file('../keys/client.pem') }}}}\"\n  key_id: client-key-1\n"
        ),
    );
    p.write(
        "requests/me.yaml",
        "url: /api/dpop\nextract: {client: $.client_id}\n",
    );
    let spent = || {
        let (_, v) = http_json("GET", &format!("{iss}/_spent"), None);
        v["assertions"].as_array().unwrap().clone()
    };
    let before = spent().len();
    let r = p.run(&["-v", "exec", "requests/me.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "{\"client\":\"runner-dpop-pkjwt\"}\n");
    for line in [
        "the token endpoint refused the client_credentials grant (invalid_grant) and its issuer supports DPoP: DPoP is on for this session, sending again with a proof",
        "the token endpoint asked for a DPoP nonce: sending again with it",
    ] {
        assert_eq!(r.stderr.matches(line).count(), 1, "{line}: {}", r.stderr);
    }
    // Other tests sign assertions for other clients at the same time: count this
    // client's (its `iss`) among those presented since.
    let ours = |a: &serde_json::Value| {
        use base64::Engine as _;
        a.as_str()
            .and_then(|jwt| jwt.split('.').nth(1))
            .and_then(|p| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(p)
                    .ok()
            })
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .is_some_and(|c| c["iss"] == "runner-dpop-pkjwt")
    };
    let presented: Vec<_> = spent().split_off(before).into_iter().filter(ours).collect();
    assert_eq!(
        presented.len(),
        3,
        "refused, proof without nonce, proof with it"
    );
    let distinct: std::collections::BTreeSet<_> =
        presented.iter().filter_map(|a| a.as_str()).collect();
    assert_eq!(distinct.len(), 3, "each attempt signed a new assertion");
    assert_eq!(p.cache()["token_type"], "DPoP");
    for a in &presented {
        assert!(!r.stderr.contains(a.as_str().unwrap()));
    }
}

/// The https listener of the server, which asks for client certificates, and the
/// folder of its authority and client certificate (start.sh made them).
fn mtls(issuer: &str) -> (String, std::path::PathBuf) {
    let (_, v) = http_json("GET", &format!("{issuer}/_mtls"), None);
    let url = v["url"]
        .as_str()
        .expect("the server has an https listener")
        .to_string();
    let dir = std::env::var("RUNNER_OIDC_TLS_DIR").expect("RUNNER_OIDC_TLS_DIR (start.sh's env)");
    (url, dir.into())
}

#[test]
fn oidc_provider_knows_runner_by_its_certificate_and_binds_tokens_to_it() {
    let Some(iss) = issuer() else { return };
    let (url, tls) = mtls(&iss);
    let p = Project::new();
    for f in ["client.pem", "client.key", "ca.pem"] {
        std::fs::copy(tls.join(f), p.path(&format!("profiles/{f}"))).unwrap();
    }
    p.write(
        "profiles/default.yaml",
        &format!(
            "base_url: {url}\nauth:\n  type: oauth2_client_credentials\n  token_url: {url}/token\n  revocation_url: {url}/token/revocation\n  client_id: runner-mtls\n  client_auth: tls_client_auth\nhttp:\n  ca_cert: profiles/ca.pem\n  client_cert: client.pem\n  client_key: client.key\n"
        ),
    );
    p.write(
        "requests/me.yaml",
        "url: /api/mtls\nextract: {client: $.client_id, x5t: \"$['x5t#S256']\"}\n",
    );
    let before = grants(&iss, "runner-mtls");
    let r = p.run(&["exec", "requests/me.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(out["client"], "runner-mtls");
    let x5t = out["x5t"].as_str().unwrap().to_string();
    let token = p.assert_cache_intact()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    // Another certificate (not from the server's authority): the cached token is
    // refused by the resource, and the token endpoint does not know the client.
    let other = tempfile::tempdir().unwrap();
    crate::sender::client_certificate(other.path());
    let (c, k) = (
        other.path().join("client.pem"),
        other.path().join("client.key"),
    );
    let r = p.run(&[
        "--cert",
        c.to_str().unwrap(),
        "--key",
        k.to_str().unwrap(),
        "exec",
        "requests/me.yaml",
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            ": invalid_client: client authentication failed (the client authenticated with client_auth: tls_client_auth: check client_id and the client certificate (its authority and subject, as the server registered them), or whether the server wants another client_auth: body, basic, none, private_key_jwt, client_secret_jwt, self_signed_tls_client_auth)\n"
        ),
        "{}",
        r.stderr
    );
    // Across an expiry, 8 processes at once, each over its own connection.
    p.expire_access_tokens();
    for r in p.run_at_once(8, &["exec", "requests/me.yaml"], &[]) {
        assert_eq!(r.code, 0, "{}", r.stderr);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(v["x5t"], x5t.as_str());
    }
    assert_ne!(p.assert_cache_intact()["access_token"], token.as_str());
    assert_eq!(
        grants(&iss, "runner-mtls") - before,
        2,
        "one grant for the 8 processes"
    );
    // Revocation authenticates the client by its certificate too, and -vv says so.
    let out = p.run(&["-vv", "logout"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("revoked"), "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "revocation request: POST {url}/token/revocation (client authentication: client certificate)"
        )),
        "{}",
        out.stderr
    );
    assert!(p.cache_files().is_empty());
}

/// The self-signed certificate start.sh registered for `runner-mtls-self` (x5c of
/// its JWKS), as a PKCS#12 file made by openssl, through the whole session; then the
/// `runner-mtls` certificate as a `-legacy` PKCS#12 file with tls_client_auth.
#[test]
fn oidc_provider_knows_runner_by_a_self_signed_certificate_from_a_pkcs12_file() {
    let Some(iss) = issuer() else { return };
    let (url, tls) = mtls(&iss);
    let p = Project::new();
    let pw = crate::pkcs12::PASSWORD;
    let work = tempfile::tempdir().unwrap();
    for (from, to) in [
        ("self.pem", "client.pem"),
        ("self.key", "client.key"),
        ("self.pem", "ca.pem"),
    ] {
        std::fs::copy(tls.join(from), work.path().join(to)).unwrap();
    }
    crate::pkcs12::export(work.path(), &p.path("profiles/self.p12"), pw, &[]);
    std::fs::copy(tls.join("ca.pem"), p.path("profiles/ca.pem")).unwrap();
    let profile = |client: &str, method: &str, file: &str| {
        format!(
            "base_url: {url}\nauth:\n  type: oauth2_client_credentials\n  token_url: {url}/token\n  revocation_url: {url}/token/revocation\n  client_id: {client}\n  client_auth: {method}\nhttp:\n  ca_cert: profiles/ca.pem\n  client_pkcs12: {file}\n  client_pkcs12_password: \"{{{{ env('P12_PASSWORD') }}}}\"\n"
        )
    };
    p.write(
        "profiles/default.yaml",
        &profile(
            "runner-mtls-self",
            "self_signed_tls_client_auth",
            "self.p12",
        ),
    );
    p.write(
        "requests/me.yaml",
        "url: /api/mtls\nextract: {client: $.client_id, x5t: \"$['x5t#S256']\"}\n",
    );
    let env = [("P12_PASSWORD", pw)];
    let before = grants(&iss, "runner-mtls-self");
    let r = p.run_env(&["exec", "requests/me.yaml"], &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(out["client"], "runner-mtls-self");
    // Bound to the self-signed certificate: its SHA-256 thumbprint, computed here.
    assert_eq!(out["x5t"], thumbprint(work.path()).as_str());
    assert_eq!(grants(&iss, "runner-mtls-self") - before, 1);
    assert_no_password(&r, pw);
    // Across an expiry, 8 processes at once: one grant.
    p.expire_access_tokens();
    for r in p.run_at_once(8, &["exec", "requests/me.yaml"], &env) {
        assert_eq!(r.code, 0, "{}", r.stderr);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(v["x5t"], out["x5t"]);
    }
    assert_eq!(grants(&iss, "runner-mtls-self") - before, 2);
    let bye = p.run_env(&["-vv", "logout"], &env);
    assert_eq!(bye.code, 0, "{}", bye.stderr);
    assert!(bye.stderr.contains("revoked"), "{}", bye.stderr);
    assert_no_password(&bye, pw);
    // The other client's certificate is not in this client's JWKS.
    for f in ["client.pem", "client.key"] {
        std::fs::copy(tls.join(f), work.path().join(f)).unwrap();
    }
    std::fs::copy(tls.join("ca.pem"), work.path().join("ca.pem")).unwrap();
    crate::pkcs12::export(work.path(), &p.path("profiles/mtls.p12"), pw, &["-legacy"]);
    p.write(
        "profiles/default.yaml",
        &profile(
            "runner-mtls-self",
            "self_signed_tls_client_auth",
            "mtls.p12",
        ),
    );
    let r = p.run_env(&["exec", "requests/me.yaml"], &env);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains(": invalid_client: client authentication failed (the client authenticated with client_auth: self_signed_tls_client_auth: check client_id and the client certificate (the one in the client's registered JWKS), or whether the server wants another client_auth: body, basic, none, private_key_jwt, client_secret_jwt, tls_client_auth)\n"),
        "{}",
        r.stderr
    );
    // That certificate, from the legacy PKCS#12 file, is runner-mtls's identity.
    p.write(
        "profiles/default.yaml",
        &profile("runner-mtls", "tls_client_auth", "mtls.p12"),
    );
    let r = p.run_env(&["exec", "requests/me.yaml"], &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["client"], "runner-mtls");
    assert_eq!(v["x5t"], thumbprint(work.path()).as_str());
    let out = p.run_env(&["logout"], &env);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(p.cache_files().is_empty());
}

/// RFC 8705 §3.1's `x5t#S256` of `dir`'s client.pem: base64url of the SHA-256 of its DER.
fn thumbprint(dir: &std::path::Path) -> String {
    use base64::Engine as _;
    let der = crate::sender::openssl(dir, &["x509", "-in", "client.pem", "-outform", "DER"]).stdout;
    let digest = ring::digest::digest(&ring::digest::SHA256, &der);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
}

fn assert_no_password(r: &crate::support::Run, pw: &str) {
    crate::support::assert_no_secret(&r.stderr, &[pw]);
    crate::support::assert_no_secret(&r.stdout, &[pw]);
}
