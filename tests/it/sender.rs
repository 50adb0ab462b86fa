//! Issue 23: sender-constrained tokens and client certificates against the sandbox:
//! DPoP (RFC 9449, with the server's nonces) and mutual TLS with `--cert`/`--key` or
//! `http.client_cert`/`http.client_key`, for the token endpoint and the API alike.

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::support::{Project, Run, SandboxProc, assert_no_secret, http_text, sandbox_profile};

const LIST: &str = "url: /assets\nquery: {limit: 2}\nextract: {total: $.total_items}\n";

fn ok(r: &Run) {
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    assert_eq!(r.stdout, "{\"total\":250}\n");
}

fn project(sb: &SandboxProc, extra: &str) -> Project {
    let p = Project::new();
    p.write("profiles/default.yaml", &sandbox_profile(&sb.url, extra));
    p.write("requests/list.yaml", LIST);
    p
}

#[test]
fn dpop_binds_the_session_to_one_key_that_every_process_proves() {
    let sb = SandboxProc::start(&["--dpop-nonce"]);
    let p = project(&sb, "  dpop: true\n");
    // The token endpoint asks for its nonce first (use_dpop_nonce), then binds.
    let first = p.run(&["-v", "exec", "requests/list.yaml"]);
    ok(&first);
    assert!(
        first
            .stderr
            .contains("the token endpoint asked for a DPoP nonce: sending again with it"),
        "{}",
        first.stderr
    );
    assert_eq!(sb.token_requests("password"), 1);
    let cache = p.assert_cache_intact();
    assert_eq!(cache["token_type"], "DPoP");
    let key = cache["dpop_key"]
        .as_str()
        .expect("the DPoP key is cached")
        .to_string();
    let token = cache["access_token"].as_str().unwrap().to_string();
    // Bound: the token alone, as a Bearer token, is refused by the API.
    let (status, body) = http_text(
        "GET",
        &format!("{}/api/v1/assets", sb.url),
        None,
        &[("Authorization", &format!("Bearer {token}"))],
    );
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("DPoP-bound"), "{body}");
    // A new process knows no nonce yet: the API's 401 asks for it, runner sends again.
    let second = p.run(&["-v", "exec", "requests/list.yaml"]);
    ok(&second);
    assert!(
        second
            .stderr
            .contains("the server asked for a DPoP nonce: sending again with it"),
        "{}",
        second.stderr
    );
    // Across an expiry, 8 processes at once: one refresh, proved with the same key.
    p.expire_access_tokens();
    for r in p.run_at_once(8, &["exec", "requests/list.yaml"], &[]) {
        ok(&r);
    }
    assert_eq!(sb.token_requests("refresh_token"), 1);
    let after = p.assert_cache_intact();
    assert_eq!(after["dpop_key"], key.as_str(), "the session keeps its key");
    assert_eq!(after["token_type"], "DPoP");
    // Neither the key nor a proof nor the token shows in -vv output.
    let loud = p.run(&["-vv", "exec", "requests/list.yaml"]);
    ok(&loud);
    let token = after["access_token"].as_str().unwrap();
    assert_no_secret(&loud.stderr, &[&key, token]);
    // base64url of `{"typ":"dpop+jwt"`, how every proof begins.
    assert!(
        !loud.stderr.contains("eyJ0eXAiOiJkcG9wK2p3dCI"),
        "{}",
        loud.stderr
    );
    let out = p.run(&["logout"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(p.cache_files().is_empty());
}

/// A profile that says nothing of DPoP, at a token endpoint that requires it
/// (`--dpop-required`: `invalid_dpop_proof` without a proof, as Okta answers): runner
/// makes a session key, sends again with a proof (with the nonce the refusal gave), keeps the key
/// with the bound tokens, and the API requests carry proofs. A refusal the proof does
/// not cure (a wrong password) leaves nothing behind.
#[test]
fn a_token_endpoint_that_requires_dpop_switches_it_on_by_itself() {
    let sb = SandboxProc::start(&["--dpop-required", "--dpop-nonce"]);
    let p = project(&sb, "");
    let first = p.run(&["-v", "exec", "requests/list.yaml"]);
    ok(&first);
    let switched = "the token endpoint wants a DPoP proof (invalid_dpop_proof): DPoP is on for this session, sending again with a proof";
    assert_eq!(
        first.stderr.matches(switched).count(),
        1,
        "{}",
        first.stderr
    );
    // The refusal brought the server's nonce: the proof sent again already carries it.
    assert!(!first.stderr.contains("nonce"), "{}", first.stderr);
    let cache = p.assert_cache_intact();
    assert_eq!(cache["token_type"], "DPoP");
    let key = cache["dpop_key"]
        .as_str()
        .expect("the key is cached")
        .to_string();
    // The next process proves the cached key from its first request on.
    p.expire_access_tokens();
    let again = p.run(&["-v", "exec", "requests/list.yaml"]);
    ok(&again);
    assert!(!again.stderr.contains("DPoP is on"), "{}", again.stderr);
    assert_eq!(sb.token_requests("refresh_token"), 1);
    assert_eq!(p.cache()["dpop_key"], key.as_str());
    let out = p.run(&["logout"]);
    assert_eq!(out.code, 0, "{}", out.stderr);

    let wrong = Project::new();
    wrong.write("profiles/default.yaml", &sandbox_profile(&sb.url, ""));
    wrong.write("requests/list.yaml", LIST);
    let r = wrong.run_env(
        &["-v", "exec", "requests/list.yaml"],
        &[("SB_PASSWORD", "n0t & it")],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(r.stderr.matches(switched).count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("invalid_grant"), "{}", r.stderr);
    assert!(wrong.cache_files().is_empty(), "nothing cached");
}

#[test]
fn a_dpop_key_is_kept_only_in_the_private_cache() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb, "  dpop: true\n");
    ok(&p.run(&["exec", "requests/list.yaml"]));
    let cache = p.cache();
    let der = URL_SAFE_NO_PAD
        .decode(cache["dpop_key"].as_str().unwrap())
        .expect("base64url PKCS#8");
    // openssl reads it as a P-256 private key: the cache holds a real key.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("k.der"), &der).unwrap();
    let out = openssl(
        dir.path(),
        &["pkey", "-inform", "DER", "-in", "k.der", "-noout", "-text"],
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("prime256v1"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&p.cache_files()[0])
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

pub fn openssl(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command (Debian: openssl) makes the test certificates");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A certificate authority and a client certificate it signed, made by openssl in
/// `dir`: `ca.pem`, `client.pem`, `client.key`.
pub fn client_certificate(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=runner test client CA",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "client.key",
            "-out",
            "client.csr",
            "-subj",
            "/CN=runner-client",
        ],
    );
    // A v3 certificate for TLS clients (webpki refuses v1, which `x509 -req` makes
    // without extensions).
    std::fs::write(
        dir.join("client.ext"),
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "client.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "client.pem",
            "-days",
            "2",
            "-extfile",
            "client.ext",
        ],
    );
}

#[test]
fn client_certificates_reach_the_token_endpoint_and_the_api() {
    let certs = tempfile::tempdir().unwrap();
    client_certificate(certs.path());
    let sb_ca = certs.path().join("sandbox-ca.pem");
    let sb = SandboxProc::start(&[
        "--tls",
        "--ca-out",
        sb_ca.to_str().unwrap(),
        "--client-ca",
        certs.path().join("ca.pem").to_str().unwrap(),
    ]);
    let p = project(&sb, "");
    let cacert = sb_ca.to_str().unwrap();
    // Without a certificate the server ends the handshake at the token request.
    let refused = p.run(&["--cacert", cacert, "exec", "requests/list.yaml"]);
    assert_eq!(refused.code, 4, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("token request to"),
        "{}",
        refused.stderr
    );
    assert!(p.cache_files().is_empty());
    let cert = certs.path().join("client.pem");
    let key = certs.path().join("client.key");
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    ok(&p.run(&[
        "--cacert",
        cacert,
        "--cert",
        cert,
        "--key",
        key,
        "exec",
        "requests/list.yaml",
    ]));
    // (The sandbox's stats are behind its mutual TLS too: the cache tells instead.)
    let first = p.assert_cache_intact();
    // The same from the profile, paths relative to its folder.
    std::fs::copy(cert, p.path("profiles/client.pem")).unwrap();
    std::fs::copy(key, p.path("profiles/client.key")).unwrap();
    let profile = sandbox_profile(&sb.url, "")
        + "http:\n  client_cert: client.pem\n  client_key: client.key\n";
    p.write("profiles/default.yaml", &profile);
    p.expire_access_tokens();
    let refreshed = p.run(&["-v", "--cacert", cacert, "exec", "requests/list.yaml"]);
    ok(&refreshed);
    assert!(
        refreshed
            .stderr
            .contains("refreshing the access token of profile default")
    );
    assert_ne!(
        p.cache()["refresh_token"],
        first["refresh_token"],
        "the sandbox rotated it"
    );
    // --curl names the files, never the key's text.
    let curl = p.run(&["--cacert", cacert, "exec", "--curl", "requests/list.yaml"]);
    assert_eq!(curl.code, 0, "{}", curl.stderr);
    let key_text = std::fs::read_to_string(key).unwrap();
    let key_body = key_text.lines().nth(1).unwrap();
    assert!(!curl.stdout.contains(key_body), "{}", curl.stdout);
    assert!(
        curl.stdout
            .ends_with(" \\\n  --cert 'profiles/client.pem' \\\n  --key 'profiles/client.key'\n"),
        "{}",
        curl.stdout
    );
}

#[test]
fn check_finds_a_certificate_without_its_key_and_files_it_cannot_read() {
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        "base_url: https://api.example.com\nhttp:\n  client_cert: client.pem\n",
    );
    let r = p.run(&["check"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.starts_with(
            "error: http.client_cert has no private key: set http.client_key to its PEM key file\n  --> profiles/default.yaml:3:16\n"
        ),
        "{}",
        r.stderr
    );
    p.write(
        "profiles/default.yaml",
        "base_url: https://api.example.com\nhttp:\n  client_cert: client.pem\n  client_key: client.key\n",
    );
    let r = p.run(&["check"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("error: cannot read the client certificate profiles/client.pem: No such file or directory (os error 2)\n  --> profiles/default.yaml:3:16\n"),
        "{}",
        r.stderr
    );
    p.write(
        "profiles/client.pem",
        "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
    );
    p.write("profiles/client.key", "no key here\n");
    let r = p.run(&["check"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .starts_with("error: cannot read the client certificate: ")
            && r.stderr.contains("\n  --> profiles/default.yaml:3:16\n"),
        "{}",
        r.stderr
    );
}

#[test]
fn runner_serve_proves_the_dpop_key_and_answers_the_api_nonce() {
    let sb = SandboxProc::start(&["--dpop-nonce"]);
    let p = project(&sb, "  dpop: true\n");
    let login = p.run(&["login"]);
    assert_eq!(login.code, 0, "{}", login.stderr);
    assert_eq!(p.cache()["token_type"], "DPoP");
    // A new process: the gateway knows no nonce until the API's 401 gives one.
    let gw = crate::serve::Gateway::start(&p, &["-v"]);
    for _ in 0..3 {
        let (status, page) = gw.json("/assets?limit=2", &[]);
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["total_items"], 250);
    }
    assert_eq!(
        sb.token_requests("password"),
        1,
        "the gateway used the cached session"
    );
    let (code, stderr) = gw.stop_with_stderr();
    assert_eq!(code, 0, "{stderr}");
    let asked = "the server asked for a DPoP nonce: sending again with it";
    assert_eq!(stderr.matches(asked).count(), 1, "{stderr}");
    let key = p.cache()["dpop_key"].as_str().unwrap().to_string();
    assert_no_secret(&stderr, &[&key, "eyJ0eXAiOiJkcG9wK2p3dCI"]);
}

#[test]
fn tls_client_auth_without_a_certificate_is_an_input_error_at_the_auth_block() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb, "  client_auth: tls_client_auth\n");
    let r = p.run(&["exec", "requests/list.yaml"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.starts_with(
            "error: profile `default`: auth.client_auth tls_client_auth needs a client certificate: set http.client_cert and http.client_key (or http.client_pkcs12), or pass --cert FILE --key FILE\n  --> profiles/default.yaml:5:3\n"
        ),
        "{}",
        r.stderr
    );
}
