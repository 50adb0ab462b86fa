//! Issue 23: signed assertions. `exec`, `login`, `token`, `check` and `logout` at
//! `-vv` with a `private_key_jwt` client and a JWT bearer session against the
//! sandbox (its demo key, given through the environment), and with a key the sandbox
//! does not know (refused): neither key's lines, nor any assertion (a JWT: the
//! base64url of `{"` starts it), nor the tokens appear anywhere.

use super::{Planted, Sweep};
use crate::support::{Project, SandboxProc};

/// A P-256 key nobody registered (made by the openssl command): the sandbox refuses
/// what it signs.
fn stranger() -> String {
    let out = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .output()
        .expect("the openssl command (Debian: openssl)");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

fn key_lines(pem: &str) -> Vec<&str> {
    pem.lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 16)
        .collect()
}

#[test]
fn signed_assertions_and_keys_show_nowhere() {
    let sb = SandboxProc::start(&[]);
    let url = &sb.url;
    let p = Project::new();
    let key = "  private_key: \"{{ env('CANARY_KEY') }}\"\n  key_id: sandbox-key-1\n";
    p.write(
        "profiles/pkjwt.yaml",
        &format!(
            "base_url: {url}/api/v1\nauth:\n  type: oauth2_client_credentials\n  token_url: {url}/oauth/v2/token\n  revocation_url: {url}/oauth/v2/revoke\n  client_id: sandbox\n  client_auth: private_key_jwt\n{key}"
        ),
    );
    p.write(
        "profiles/bearer.yaml",
        &format!(
            "base_url: {url}/api/v1\nauth:\n  type: oauth2_jwt_bearer\n  token_url: {url}/oauth/v2/token\n  issuer: sandbox\n  subject: demo\n{key}"
        ),
    );
    p.write("requests/one.yaml", "url: /assets\nquery: {limit: \"1\"}\n");
    let stranger = stranger();
    let mut sweep = Sweep::new();
    for (i, line) in key_lines(sandbox::DEMO_PRIVATE_KEY).into_iter().enumerate() {
        sweep.plant(Planted::new(&format!("demo key line {i}"), line));
    }
    for (i, line) in key_lines(&stranger).into_iter().enumerate() {
        sweep.plant(Planted::new(&format!("stranger key line {i}"), line));
    }
    let demo = [("CANARY_KEY", sandbox::DEMO_PRIVATE_KEY)];
    for profile in ["pkjwt", "bearer"] {
        let r = sweep.runner(
            &p,
            &["exec", "requests/one.yaml", "-p", profile, "-vv"],
            &demo,
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            !r.stderr.contains("eyJ"),
            "an assertion leaked: {}",
            r.stderr
        );
        for cmd in ["login", "check", "profiles"] {
            let r = sweep.runner(&p, &[cmd, "-p", profile, "-vv"], &demo);
            assert!(!r.stderr.contains("eyJ"), "{}", r.stderr);
        }
        let r = sweep.runner(&p, &["logout", "-p", profile, "-vv"], &demo);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let r = sweep.runner(
            &p,
            &["exec", "requests/one.yaml", "-p", profile, "-vv"],
            &[("CANARY_KEY", stranger.as_str())],
        );
        assert_eq!(r.code, 3, "{}", r.stderr);
        assert!(
            r.stderr
                .contains("the assertion's signature does not verify"),
            "{}",
            r.stderr
        );
        assert!(!r.stderr.contains("eyJ"), "{}", r.stderr);
    }
    sweep.tokens_of(&p);
    sweep.finish();
}
