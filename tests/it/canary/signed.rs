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

/// Token exchange: a subject profile's session traded at the sandbox, and a given
/// subject token (an `env()` value with punctuation the server refuses): at `-vv`, in
/// previews, `token`, `profiles`, `check` and `logout`, neither the subject's tokens
/// nor the exchanged one nor the given subject token shows.
#[test]
fn token_exchange_subject_and_exchanged_tokens_show_nowhere() {
    let sb = SandboxProc::start(&[]);
    let url = &sb.url;
    let p = Project::new();
    p.write(
        "profiles/sso.yaml",
        &format!(
            "base_url: {url}/api/v1\nauth:\n  type: oauth2_password\n  token_url: {url}/oauth/v2/token\n  client_id: sandbox\n  client_secret: sandbox-secret\n  username: demo\n  password: demo\n"
        ),
    );
    let head = format!(
        "base_url: {url}/api/v1\nauth:\n  type: oauth2_token_exchange\n  token_url: {url}/oauth/v2/token\n  revocation_url: {url}/oauth/v2/revoke\n  client_id: sandbox\n  client_secret: sandbox-secret\n  audience: api-b\n"
    );
    p.write(
        "profiles/b.yaml",
        &format!("{head}  subject_profile: sso\n"),
    );
    p.write(
        "profiles/given.yaml",
        &format!("{head}  subject_token: \"{{{{ env('CANARY_SUBJECT') }}}}\"\n"),
    );
    p.write("requests/one.yaml", "url: /assets\nquery: {limit: \"1\"}\n");
    let subject = "subj3ct C4narySubject&<v>\"q'\\%+/=: é";
    let mut sweep = Sweep::new();
    sweep.plant(Planted::new("CANARY_SUBJECT", subject));
    let env = [("CANARY_SUBJECT", subject)];
    let data = "the asset is response data";
    for args in [
        &["exec", "requests/one.yaml", "-p", "b", "-vv"][..],
        &["exec", "requests/one.yaml", "-p", "b", "--curl"],
        &["exec", "requests/one.yaml", "-p", "b", "--dry-run"],
    ] {
        let r = sweep.runner_stderr(&p, args, data);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        if !args.contains(&"-vv") {
            sweep.text(&format!("`runner {}` stdout", args.join(" ")), &r.stdout);
        }
    }
    assert_eq!(sb.token_requests("token_exchange"), 1, "the canary is live");
    let why = "runner token prints the access token on stdout by design";
    let t = sweep.runner_stderr(&p, &["token", "-p", "b", "-vv"], why);
    assert_eq!(t.code, 0, "{}", t.stderr);
    for cmd in ["profiles", "check"] {
        sweep.runner(&p, &[cmd, "-vv"], &env);
    }
    let r = sweep.runner(
        &p,
        &["exec", "requests/one.yaml", "-p", "given", "-vv"],
        &env,
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("invalid_request"), "{}", r.stderr);
    for profile in ["b", "sso"] {
        let r = sweep.runner(&p, &["logout", "-p", profile, "-vv"], &[]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    sweep.finish();
}
