//! Issue 23: client certificates from PKCS#12 files (`http.client_pkcs12` and its
//! password), as `openssl pkcs12 -export` writes them (OpenSSL 3's PBES2/AES-256-CBC
//! with an HMAC-SHA256 integrity check, and `-legacy`: RC2/3DES with SHA-1), against
//! the sandbox's https listener asking for client certificates.

use std::path::Path;
use std::process::Command;

use crate::sender::client_certificate;
use crate::support::{Project, Run, SandboxProc, assert_no_secret, sandbox_profile};

/// A password with the punctuation that breaks quoting, and non-ASCII.
pub const PASSWORD: &str = "p12 & <pw> \"q\" 'a' \\ % + / = : é";

const LIST: &str = "url: /assets\nquery: {limit: 2}\nextract: {total: $.total_items}\n";

fn ok(r: &Run) {
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    assert_eq!(r.stdout, "{\"total\":250}\n");
}

/// `openssl pkcs12 -export` of `dir`'s client.pem and client.key (with ca.pem as its
/// chain) into `out`, with `password` (read by openssl from the environment);
/// `extra` adds options such as `-legacy`.
pub fn export(dir: &Path, out: &Path, password: &str, extra: &[&str]) {
    let mut args = vec![
        "pkcs12",
        "-export",
        "-in",
        "client.pem",
        "-inkey",
        "client.key",
        "-certfile",
        "ca.pem",
        "-passout",
        "env:RUNNER_TEST_P12_PASSWORD",
        "-out",
    ];
    let out_s = out.to_str().unwrap();
    args.push(out_s);
    args.extend_from_slice(extra);
    let r = Command::new("openssl")
        .args(&args)
        .current_dir(dir)
        .env("RUNNER_TEST_P12_PASSWORD", password)
        .output()
        .expect("the openssl command (Debian: openssl) makes the test files");
    assert!(
        r.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&r.stderr)
    );
}

/// A sandbox over https that asks for certificates signed by `certs`'s authority, and
/// a project whose profile opens `profiles/client.p12` with `$P12_PASSWORD`.
fn mtls_project(certs: &Path) -> (SandboxProc, Project, String) {
    let sb_ca = certs.join("sandbox-ca.pem");
    let sb = SandboxProc::start(&[
        "--tls",
        "--ca-out",
        sb_ca.to_str().unwrap(),
        "--client-ca",
        certs.join("ca.pem").to_str().unwrap(),
    ]);
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        &(sandbox_profile(&sb.url, "")
            + "http:\n  client_pkcs12: client.p12\n  client_pkcs12_password: \"{{ env('P12_PASSWORD') }}\"\n"),
    );
    p.write("requests/list.yaml", LIST);
    let cacert = sb_ca.to_str().unwrap().to_string();
    (sb, p, cacert)
}

#[test]
fn pkcs12_files_from_openssl_reach_the_token_endpoint_and_the_api() {
    let certs = tempfile::tempdir().unwrap();
    client_certificate(certs.path());
    let (_sb, p, cacert) = mtls_project(certs.path());
    let env = [("P12_PASSWORD", PASSWORD)];
    // OpenSSL 3's default form.
    export(certs.path(), &p.path("profiles/client.p12"), PASSWORD, &[]);
    let r = p.run_env(&["--cacert", &cacert, "exec", "requests/list.yaml"], &env);
    ok(&r);
    assert_no_secret(&r.stderr, &[PASSWORD]);
    let first = p.assert_cache_intact();
    // The legacy form (RC2 and 3DES, SHA-1), through a refresh: the token endpoint
    // sees the certificate again.
    export(
        certs.path(),
        &p.path("profiles/client.p12"),
        PASSWORD,
        &["-legacy"],
    );
    p.expire_access_tokens();
    let r = p.run_env(
        &["-v", "--cacert", &cacert, "exec", "requests/list.yaml"],
        &env,
    );
    ok(&r);
    assert!(
        r.stderr
            .contains("refreshing the access token of profile default"),
        "{}",
        r.stderr
    );
    assert_ne!(p.cache()["refresh_token"], first["refresh_token"]);
    assert_no_secret(&r.stderr, &[PASSWORD]);
    // --curl names the file and curl's type, the password masked...
    let curl = p.run_env(
        &["--cacert", &cacert, "exec", "--curl", "requests/list.yaml"],
        &env,
    );
    assert_eq!(curl.code, 0, "{}", curl.stderr);
    assert!(
        curl.stdout
            .ends_with(" \\\n  --cert-type P12 \\\n  --cert 'profiles/client.p12:***'\n"),
        "{}",
        curl.stdout
    );
    assert_no_secret(&curl.stdout, &[PASSWORD]);
    // ...and shown with --show-secrets, quoted for the shell as curl reads it.
    let shown = p.run_env(
        &[
            "--cacert",
            &cacert,
            "exec",
            "--curl",
            "--show-secrets",
            "requests/list.yaml",
        ],
        &env,
    );
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(
        shown.stdout.ends_with(
            " \\\n  --cert-type P12 \\\n  --cert 'profiles/client.p12:p12 & <pw> \"q\" '\\''a'\\'' \\ % + / = : é'\n"
        ),
        "{}",
        shown.stdout
    );
}

#[test]
fn a_wrong_pkcs12_password_is_an_input_error_at_its_key() {
    let certs = tempfile::tempdir().unwrap();
    client_certificate(certs.path());
    let (_sb, p, cacert) = mtls_project(certs.path());
    export(certs.path(), &p.path("profiles/client.p12"), PASSWORD, &[]);
    let wrong = "not the p12 password & <x>";
    let r = p.run_env(
        &["--cacert", &cacert, "exec", "requests/list.yaml"],
        &[("P12_PASSWORD", wrong)],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "error: http.client_pkcs12 profiles/client.p12: wrong password: http.client_pkcs12_password does not open it\n  --> profiles/default.yaml:13:27\n   |\n13 |   client_pkcs12_password: \"{{ env('P12_PASSWORD') }}\"\n   |                           ^\n"
    );
    assert_no_secret(&r.stderr, &[wrong, PASSWORD]);
    assert!(p.cache_files().is_empty());
    // No password at all for a file that has one.
    let text = std::fs::read_to_string(p.path("profiles/default.yaml")).unwrap();
    let no_password = text.lines().take(12).collect::<Vec<_>>().join("\n") + "\n";
    p.write("profiles/default.yaml", &no_password);
    let r = p.run(&["check"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.starts_with(
            "error: http.client_pkcs12 profiles/client.p12: it has a password: set http.client_pkcs12_password, e.g. \"{{ env('P12_PASSWORD') }}\"\n  --> profiles/default.yaml:12:18\n"
        ),
        "{}",
        r.stderr
    );
}

fn check(p: &Project, http: &str) -> Run {
    p.write(
        "profiles/default.yaml",
        &format!("base_url: https://api.example.com\nhttp:\n{http}"),
    );
    p.run(&["check"])
}

#[test]
fn check_finds_pkcs12_files_that_cannot_be_used() {
    let certs = tempfile::tempdir().unwrap();
    client_certificate(certs.path());
    let p = Project::new();
    export(certs.path(), &p.path("profiles/client.p12"), PASSWORD, &[]);
    let problem = |http: &str, expected: &str| {
        let r = check(&p, http);
        assert_eq!(r.code, 2, "{http}: {}", r.stderr);
        assert!(r.stderr.starts_with(expected), "{http}: {}", r.stderr);
        assert_no_secret(&r.stderr, &[PASSWORD]);
    };
    // A password written in the profile is tried.
    problem(
        "  client_pkcs12: client.p12\n  client_pkcs12_password: not it & <x>\n",
        "error: http.client_pkcs12 profiles/client.p12: wrong password: http.client_pkcs12_password does not open it\n  --> profiles/default.yaml:4:27\n",
    );
    // One from the environment is not known here: the file is a PKCS#12 container,
    // so no problem.
    let r = check(
        &p,
        "  client_pkcs12: client.p12\n  client_pkcs12_password: \"{{ env('P12_PASSWORD') }}\"\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Not a PKCS#12 file (a PEM certificate).
    std::fs::copy(
        certs.path().join("client.pem"),
        p.path("profiles/client.pem"),
    )
    .unwrap();
    problem(
        "  client_pkcs12: client.pem\n  client_pkcs12_password: \"{{ env('P12_PASSWORD') }}\"\n",
        "error: http.client_pkcs12 profiles/client.pem: not a PKCS#12 file (a PEM file: a PEM certificate and key go in http.client_cert and http.client_key)\n  --> profiles/default.yaml:3:18\n",
    );
    // Both forms at once.
    problem(
        "  client_pkcs12: client.p12\n  client_cert: client.pem\n",
        "error: http.client_pkcs12 and http.client_cert/client_key both name a client certificate: keep one (a PKCS#12 file holds the certificate and its key)\n  --> profiles/default.yaml:3:18\n",
    );
    // A password without its file.
    problem(
        "  client_pkcs12_password: x\n",
        "error: http.client_pkcs12_password has no file: set http.client_pkcs12 to the PKCS#12 file it opens\n  --> profiles/default.yaml:3:27\n",
    );
    // A trust store: certificates, no key.
    let r = Command::new("openssl")
        .args(["pkcs12", "-export", "-nokeys", "-in", "ca.pem", "-passout"])
        .arg("pass:store pw")
        .arg("-out")
        .arg(p.path("profiles/store.p12"))
        .current_dir(certs.path())
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    problem(
        "  client_pkcs12: store.p12\n  client_pkcs12_password: store pw\n",
        "error: http.client_pkcs12 profiles/store.p12: the PKCS#12 file holds no private key (a trust store?): it needs the client's certificate and key\n  --> profiles/default.yaml:3:18\n",
    );
    // A file that is not there.
    problem(
        "  client_pkcs12: missing.p12\n",
        "error: cannot read the PKCS#12 file profiles/missing.p12: No such file or directory (os error 2)\n  --> profiles/default.yaml:3:18\n",
    );
}
