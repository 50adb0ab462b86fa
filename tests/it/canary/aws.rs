//! Issue 24: AWS SigV4. The secret access key and the session token (from the
//! environment, the shared files and a `credential_process`) show in no message, log,
//! preview or listing; the echo (response data) proves the token went out.

use super::{Planted, Sweep, find_leaks};
use crate::aws::{SECRET, SESSION_TOKEN};
use crate::support::{Project, SandboxProc};

#[test]
fn aws_secrets_show_nowhere() {
    let sb = SandboxProc::start(&[]);
    let p = Project::new();
    let profile = |name: &str, extra: &str| {
        p.write(
            &format!("profiles/{name}.yaml"),
            &format!(
                "base_url: {}\nauth:\n  type: aws_sigv4\n  region: eu-west-1\n  service: execute-api\n{extra}",
                sb.url
            ),
        );
    };
    profile("env", "");
    profile("process", "  aws_profile: proc\n");
    profile("failing", "  aws_profile: failing\n");
    let json = serde_json::json!({"Version": 1, "AccessKeyId": "AKIDPROC",
        "SecretAccessKey": SECRET, "SessionToken": SESSION_TOKEN});
    p.write("creds.json", &json.to_string());
    // A process that fails saying a secret runner never saw: runner does not repeat it.
    p.write(
        "fail.py",
        &format!(
            "import sys\nsys.stderr.write({:?})\nsys.exit(3)\n",
            format!("bad {SECRET}")
        ),
    );
    let config = p.write(
        "aws/config",
        &format!(
            "[profile proc]\ncredential_process = python3 -c \"import sys; sys.stdout.write(open('{}').read())\"\n[profile failing]\ncredential_process = python3 {}\n",
            p.path("creds.json").display(),
            p.path("fail.py").display()
        ),
    );
    p.write(
        "requests/echo.yaml",
        "method: POST\nurl: /_sandbox/echo\nbody: {json: {a: 1}}\n",
    );
    let none = p.path("none").display().to_string();
    let config = config.display().to_string();
    let env = [
        ("AWS_ACCESS_KEY_ID", "AKIDENV"),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
        ("AWS_SESSION_TOKEN", SESSION_TOKEN),
        ("AWS_SHARED_CREDENTIALS_FILE", none.as_str()),
        ("AWS_CONFIG_FILE", config.as_str()),
    ];
    let files_only = [
        ("AWS_ACCESS_KEY_ID", ""),
        ("AWS_SECRET_ACCESS_KEY", ""),
        ("AWS_SHARED_CREDENTIALS_FILE", none.as_str()),
        ("AWS_CONFIG_FILE", config.as_str()),
    ];
    let mut sweep = Sweep::new();
    sweep.plant(Planted::new("AWS_SECRET", SECRET));
    sweep.plant(Planted::new("AWS_SESSION_TOKEN", SESSION_TOKEN));
    for (profile, vars) in [("env", &env[..]), ("process", &files_only[..])] {
        for v in ["-v", "-vvv"] {
            let r = sweep.quiet(&p, &["exec", "requests/echo.yaml", "-p", profile, v], vars);
            sweep.text(&format!("exec -p {profile} {v} stderr"), &r.stderr);
            assert_eq!(r.code, 0, "{}", r.stderr);
            // The echo shows the token went out: the canary is live.
            assert!(
                !find_leaks(&r.stdout, &sweep.secrets()).is_empty(),
                "{}",
                r.stdout
            );
        }
        for preview in ["--dry-run", "--curl"] {
            let args = ["exec", "requests/echo.yaml", "-p", profile, preview, "-vv"];
            let r = sweep.runner(&p, &args, vars);
            assert_eq!(r.code, 0, "{}", r.stderr);
        }
        sweep.runner(&p, &["check", "-p", profile], vars);
    }
    sweep.runner(&p, &["profiles", "-vv"], &files_only);
    let r = sweep.runner(
        &p,
        &["exec", "requests/echo.yaml", "-p", "failing", "-vv"],
        &files_only,
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("failed (exit status: 3); what it wrote to stderr is not shown"),
        "{}",
        r.stderr
    );
    sweep.finish();
}
