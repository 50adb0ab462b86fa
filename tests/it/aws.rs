//! Issue 24, point 4: `auth.type: aws_sigv4`, proved against botocore's signer
//! (`tests/aws/verifier.py` signs each request again with `botocore.auth.SigV4Auth`
//! and answers 403 on any difference). Skipped when botocore is not installed, unless
//! `RUNNER_REQUIRE_AWS=1` (CI), where that is a failure.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::support::{Project, repo_root};

const KEY_ID: &str = "AKIDC4NARYEXAMPLE";
/// Secrets with the punctuation a secret may hold.
pub const SECRET: &str = "wJalr/K7+C4naryAwsSecret&<v>\"q'\\%=: é";
/// ASCII, as AWS issues them (a header carries it).
pub const SESSION_TOKEN: &str = "IQoJb3+C4naryAwsSession/Token&<v>\"q'\\%=: x";

pub struct Verifier {
    pub url: String,
    child: Child,
}

impl Drop for Verifier {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Python that has botocore: `$RUNNER_AWS_PYTHON` (CI's venv), else `python3`.
fn python() -> String {
    std::env::var("RUNNER_AWS_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// botocore, or `None` (the test skips) when it is missing outside CI.
fn botocore() -> Option<()> {
    let ok = Command::new(python())
        .args(["-c", "import botocore.auth"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok && std::env::var_os("RUNNER_REQUIRE_AWS").is_some() {
        panic!("RUNNER_REQUIRE_AWS is set but python3 cannot import botocore");
    }
    if !ok {
        eprintln!("skipped: botocore is not installed (pip install botocore)");
    }
    ok.then_some(())
}

/// A verifier for `service` that expects `token` as the session token.
pub fn verifier(service: &str, token: Option<&str>) -> Option<Verifier> {
    botocore()?;
    let mut cmd = Command::new(python());
    cmd.arg(repo_root().join("tests/aws/verifier.py"))
        .args([KEY_ID, SECRET, "eu-west-1", service]);
    if let Some(t) = token {
        cmd.arg(t);
    }
    let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    Some(Verifier {
        url: line.trim().to_string(),
        child,
    })
}

/// A project whose `default` profile signs for `service` at `url`.
pub fn project(url: &str, service: &str, extra: &str) -> Project {
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        &format!(
            "base_url: {url}\nauth:\n  type: aws_sigv4\n  region: eu-west-1\n  service: {service}\n{extra}"
        ),
    );
    p.write(
        "requests/get.yaml",
        "url: /stage/items/a b%2Fc\nquery: {q: \"x y+z/é\", a: \"*\", b: [\"2\", \"1\"]}\n",
    );
    p.write(
        "requests/post.yaml",
        "method: POST\nurl: /stage/items\nbody: {json: {name: \"Pump é\", n: 1}}\n",
    );
    p
}

/// The credentials in the environment, and no shared files to fall back on.
fn env_keys(p: &Project) -> Vec<(String, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID".into(), KEY_ID.into()),
        ("AWS_SECRET_ACCESS_KEY".into(), SECRET.into()),
        (
            "AWS_SHARED_CREDENTIALS_FILE".into(),
            p.path("none").display().to_string(),
        ),
        (
            "AWS_CONFIG_FILE".into(),
            p.path("none").display().to_string(),
        ),
    ]
}

fn run(p: &Project, args: &[&str], env: &[(String, String)]) -> crate::support::Run {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    p.run_env(args, &env)
}

fn verified(r: &crate::support::Run) -> serde_json::Value {
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    let v = r.json();
    assert_eq!(v["verified"], true, "{v}");
    v
}

#[test]
fn get_with_a_query_and_post_json_are_signed_as_botocore_signs() {
    let Some(v) = verifier("execute-api", None) else {
        return;
    };
    let p = project(&v.url, "execute-api", "");
    let env = env_keys(&p);
    verified(&run(&p, &["exec", "requests/get.yaml"], &env));
    let out = verified(&run(&p, &["exec", "requests/post.yaml"], &env));
    // The body's own hash, not UNSIGNED-PAYLOAD.
    assert_eq!(out["payload"], out["body_sha256"]);
    // The verifier can fail: a wrong secret is refused.
    let mut wrong = env.clone();
    wrong[1].1 = "not-the-secret".into();
    let r = run(&p, &["exec", "requests/get.yaml", "-o", "none"], &wrong);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("status 403"), "{}", r.stderr);
}

#[test]
fn a_streamed_upload_is_signed_with_its_hash_or_unsigned_for_s3() {
    for (service, hashed) in [("execute-api", true), ("s3", false)] {
        let Some(v) = verifier(service, None) else {
            return;
        };
        let p = project(&v.url, service, "");
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(p.path("upload.bin"), &data).unwrap();
        p.write(
            "requests/put.yaml",
            "method: PUT\nurl: /bucket/upload.bin\nbody: {file: ../upload.bin}\n",
        );
        let out = verified(&run(&p, &["exec", "requests/put.yaml"], &env_keys(&p)));
        let payload = if hashed {
            out["body_sha256"].clone()
        } else {
            "UNSIGNED-PAYLOAD".into()
        };
        assert_eq!(out["payload"], payload, "{service}: {out}");
    }
}

#[test]
fn session_tokens_from_the_environment_are_signed() {
    let Some(v) = verifier("execute-api", Some(SESSION_TOKEN)) else {
        return;
    };
    let p = project(&v.url, "execute-api", "");
    let mut env = env_keys(&p);
    // Without the token the verifier refuses; with it, it accepts.
    let r = run(&p, &["exec", "requests/get.yaml", "-o", "none"], &env);
    assert_eq!(r.code, 1, "{}", r.stderr);
    env.push(("AWS_SESSION_TOKEN".into(), SESSION_TOKEN.into()));
    verified(&run(&p, &["exec", "requests/get.yaml"], &env));
}

#[test]
fn shared_files_give_keys_and_credential_process_without_a_shell() {
    let Some(v) = verifier("execute-api", Some(SESSION_TOKEN)) else {
        return;
    };
    let p = project(&v.url, "execute-api", "  aws_profile: team\n");
    // A process in a folder whose name has a space: split as botocore splits, no shell.
    let json = serde_json::json!({
        "Version": 1, "AccessKeyId": KEY_ID, "SecretAccessKey": SECRET,
        "SessionToken": SESSION_TOKEN,
    });
    p.write("creds dir/creds.json", &json.to_string());
    let script = p.write(
        "creds dir/print.py",
        "import sys\nsys.stdout.write(open(sys.argv[1]).read())\n",
    );
    let config = p.write(
        "aws/config",
        &format!(
            "[default]\nregion = us-east-1\n\n[profile team]\ncredential_process = python3 \"{}\" \"{}\"\n",
            script.display(),
            p.path("creds dir/creds.json").display()
        ),
    );
    let env = vec![
        (
            "AWS_SHARED_CREDENTIALS_FILE".into(),
            p.path("aws/credentials").display().to_string(),
        ),
        ("AWS_CONFIG_FILE".into(), config.display().to_string()),
    ];
    let r = run(&p, &["exec", "requests/get.yaml", "-v"], &env);
    verified(&r);
    assert!(
        r.stderr.contains(&format!(
            "AWS credentials from {} [profile team] credential_process",
            config.display()
        )),
        "{}",
        r.stderr
    );
    // Keys in the credentials file come first.
    p.write(
        "aws/credentials",
        &format!(
            "[team]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\naws_session_token = {SESSION_TOKEN}\n"
        ),
    );
    verified(&run(&p, &["exec", "requests/post.yaml"], &env));
}

#[test]
fn a_redirect_to_another_origin_is_not_signed() {
    let (Some(a), Some(b)) = (verifier("execute-api", None), verifier("execute-api", None)) else {
        return;
    };
    let p = project(&a.url, "execute-api", "");
    let env = env_keys(&p);
    // The same origin: signed again for the new URL.
    p.write(
        "requests/same.yaml",
        &format!("url: /redirect\nquery: {{to: \"{}/final\"}}\n", a.url),
    );
    verified(&run(&p, &["exec", "requests/same.yaml"], &env));
    p.write(
        "requests/away.yaml",
        &format!("url: /redirect\nquery: {{to: \"{}/open/x\"}}\n", b.url),
    );
    let r = run(&p, &["exec", "requests/away.yaml"], &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "{\"credential_headers\": []}");
}

#[test]
fn missing_keys_and_credentials_are_named() {
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        "base_url: https://api.example\nauth:\n  type: aws_sigv4\n  aws_profile: nobody\n",
    );
    let r = p.run(&["check"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("auth type `aws_sigv4` needs `region`"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("auth type `aws_sigv4` needs `service`"),
        "{}",
        r.stderr
    );
    p.write(
        "profiles/default.yaml",
        "base_url: https://api.example\nauth:\n  type: aws_sigv4\n  region: eu-west-1\n  service: execute-api\n  aws_profile: nobody\n",
    );
    p.write("requests/get.yaml", "url: /x\n");
    let none = p.path("none").display().to_string();
    let r = p.run_env(
        &["exec", "requests/get.yaml"],
        &[
            ("AWS_ACCESS_KEY_ID", ""),
            ("AWS_SECRET_ACCESS_KEY", ""),
            ("AWS_SHARED_CREDENTIALS_FILE", &none),
            ("AWS_CONFIG_FILE", &none),
        ],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "error: aws_sigv4: no AWS credentials found: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set, and profile `nobody` has neither keys nor credential_process in {none} or {none}\n"
        )
    );
    let r = p.run(&["profiles"]);
    assert_eq!(r.stdout, "default  aws_sigv4\n", "{}", r.stderr);
}
