//! Issue 24, point 1: `secret('NAME')` runs the command the user's own configuration
//! names (no shell, a timeout, masked, once per process); nothing in a project can
//! name a command.

use std::path::{Path, PathBuf};

use crate::support::{Project, SandboxProc, assert_no_secret};

/// A secret with every character that has another form somewhere.
const KEY: &str = "Q9+k/Wx3s=S3cretCmd&<v>\"q'\\%: é";

/// An executable shell script `name` in `dir`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A profile at the sandbox's root whose API key (in the query, which the echo
/// shows) is `secret('NAME')`, and which uses it once more in a variable.
fn echo_project(sb: &SandboxProc, name: &str) -> Project {
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        &format!(
            "base_url: {}\nvars: {{again: \"{{{{ secret('{name}') }}}}\"}}\nauth:\n  type: api_key\n  in: query\n  name: api_key\n  key: \"{{{{ secret('{name}') }}}}\"\n",
            sb.url
        ),
    );
    p.write("requests/echo.yaml", "url: /_sandbox/echo\n");
    p
}

#[test]
fn a_helper_script_gives_the_value_once_per_process_newline_cut_and_masked() {
    let sb = SandboxProc::start(&[]);
    let p = echo_project(&sb, "api-key");
    let home = tempfile::tempdir().unwrap();
    let value = home.path().join("value");
    std::fs::write(&value, format!("{KEY}\n")).unwrap();
    let count = home.path().join("count");
    let helper = script(
        home.path(),
        "give.sh",
        &format!(
            "echo ran >> '{}'\ncat '{}'",
            count.display(),
            value.display()
        ),
    );
    p.user_config(&format!(
        "secrets:\n  api-key: {{command: ['{}'], timeout: 10}}\n",
        helper.display()
    ));
    let r = p.run(&["exec", "requests/echo.yaml", "-vv"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The exact value, its trailing newline cut, reached the API.
    assert_eq!(r.json()["query"]["api_key"], KEY);
    // Used twice (the key and a variable), run once.
    assert_eq!(std::fs::read_to_string(&count).unwrap(), "ran\n");
    // Masked in the -vv trace, in every form (the query is percent-encoded there).
    assert!(r.stderr.contains("DEBUG > api_key: ***\n"), "{}", r.stderr);
    let encoded: String = url::form_urlencoded::byte_serialize(KEY.as_bytes()).collect();
    assert_no_secret(&r.stderr, &[KEY, &encoded, "S3cretCmd"]);
    // Every process runs it afresh: nothing is kept on disk.
    let r = p.run(&["exec", "requests/echo.yaml", "--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_no_secret(&r.stdout, &[KEY, &encoded, "S3cretCmd"]);
    assert_eq!(std::fs::read_to_string(&count).unwrap(), "ran\nran\n");
    let stored = walk(p.state.path());
    for f in &stored {
        let text = std::fs::read(f).unwrap();
        assert!(
            !String::from_utf8_lossy(&text).contains("S3cretCmd"),
            "{} holds the secret",
            f.display()
        );
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else if e.path().file_name().is_some_and(|n| n != "config.yaml") {
            out.push(e.path());
        }
    }
    out
}

#[test]
fn a_failing_or_slow_command_is_exit_3_naming_the_secret_never_its_output() {
    let sb = SandboxProc::start(&[]);
    let p = echo_project(&sb, "api-key");
    let home = tempfile::tempdir().unwrap();
    let fails = script(
        home.path(),
        "fails.sh",
        &format!(
            "echo '{}'\necho 'S3cretCmd on stderr' >&2\nexit 7",
            "S3cretCmd-partial"
        ),
    );
    let started = home.path().join("started");
    let slow = script(
        home.path(),
        "slow.sh",
        &format!(
            "echo S3cretCmd-slow\ntouch '{}'\nexec sleep 600",
            started.display()
        ),
    );
    let config = p.user_config(&format!(
        "secrets:\n  api-key: {{command: ['{}', arg]}}\n",
        fails.display()
    ));
    let r = p.run(&["exec", "requests/echo.yaml"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert_eq!(
        r.stderr,
        format!(
            "error: secret `api-key`: the command `{}` (secrets.api-key in {}) failed (exit status: 7); its output is not shown: run it yourself to see why\n  --> profiles/default.yaml:2:16\n  |\n2 | vars: {{again: \"{{{{ secret('api-key') }}}}\"}}\n  |                ^\n",
            fails.display(),
            config.display()
        )
    );
    // A timeout stops the command (the test's own deadline would fail otherwise).
    p.user_config(&format!(
        "secrets:\n  api-key: {{command: ['{}'], timeout: 1}}\n",
        slow.display()
    ));
    let r = p.run(&["exec", "requests/echo.yaml"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(started.exists(), "the command never ran");
    assert_eq!(
        r.stderr.lines().next().unwrap(),
        format!(
            "error: secret `api-key`: the command `{}` (secrets.api-key in {}) did not finish within 1 s (secrets.api-key.timeout) and was stopped",
            slow.display(),
            config.display()
        )
    );
    // A program that does not exist.
    p.user_config("secrets:\n  api-key: {command: [/nonexistent/helper]}\n");
    let r = p.run(&["exec", "requests/echo.yaml"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.starts_with(&format!(
            "error: secret `api-key`: the command `/nonexistent/helper` (secrets.api-key in {}) could not be started: No such file or directory",
            config.display()
        )),
        "{}",
        r.stderr
    );
}

#[test]
fn nothing_in_a_project_can_name_a_command() {
    let sb = SandboxProc::start(&[]);
    let p = echo_project(&sb, "evil");
    let marker = p.path("ran");
    let touch = format!("{{command: [touch, '{}']}}", marker.display());
    // Where a project might try to put a configuration: none of these is read.
    for rel in [
        "config.yaml",
        "runner.yaml",
        ".runner/config.yaml",
        ".config/runner/config.yaml",
        "profiles/config.yaml",
    ] {
        p.write(rel, &format!("secrets:\n  evil: {touch}\n"));
    }
    p.user_config("secrets:\n  mine: {command: [echo, hello-there]}\n");
    let config = p.user_config_path();
    let r = p.run_env(
        &["exec", "requests/echo.yaml"],
        &[("HOME", p.dir.path().to_str().unwrap())],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(
        r.stderr.lines().next().unwrap(),
        format!(
            "error: secret `evil` is not configured: {} has no `secrets.evil` (its `command` gives the value)",
            config.display()
        )
    );
    // A profile that defines secrets itself is refused before anything runs.
    p.write(
        "profiles/own.yaml",
        &format!(
            "base_url: {}\nsecrets:\n  evil: {touch}\nauth: {{type: bearer, token: \"{{{{ secret('evil') }}}}\"}}\n",
            sb.url
        ),
    );
    let r = p.run(&["exec", "requests/echo.yaml", "-p", "own"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("error: unknown field `secrets`"),
        "{}",
        r.stderr
    );
    // `runner check` names the secret that is not configured, at its place, and runs
    // nothing either.
    std::fs::remove_file(p.path("profiles/own.yaml")).unwrap();
    std::fs::remove_file(p.path("profiles/config.yaml")).unwrap();
    let r = p.run(&["check"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "error: secret `evil` is not configured: {} has no `secrets.evil` (its `command` gives the value)\n  --> profiles/default.yaml:2:19\n  |\n2 | vars: {{again: \"{{{{ secret('evil') }}}}\"}}\n  |                   ^\n",
            config.display()
        )),
        "{}",
        r.stderr
    );
    assert!(!marker.exists(), "a project's command ran");
    // Without any user configuration, check says where it would be.
    std::fs::remove_file(&config).unwrap();
    let r = p.run(&["check", "profiles"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "error: secret `evil` is not configured: there is no user configuration at {} (add `secrets: {{evil: {{command: [...]}}}}` there; RUNNER_CONFIG names another file)",
            config.display()
        )),
        "{}",
        r.stderr
    );
    assert!(!marker.exists(), "a project's command ran");
}

#[test]
fn an_invalid_user_configuration_is_exit_2_at_its_place() {
    let sb = SandboxProc::start(&[]);
    let p = echo_project(&sb, "api-key");
    let config = p.user_config("secrets:\n  api-key: {comand: [echo, x]}\n");
    let r = p.run(&["exec", "requests/echo.yaml"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.starts_with(&format!(
            "error: user configuration {}:2:13: unknown field `comand`",
            config.display()
        )),
        "{}",
        r.stderr
    );
}

/// `pass`, the standard Unix password manager, with a throwaway GnuPG key: skipped
/// when it is not installed, except under `.ci/run` (RUNNER_REQUIRE_PASS=1).
#[test]
fn pass_with_a_throwaway_gpg_key_gives_the_client_secret() {
    let have = |cmd: &str| {
        std::process::Command::new("sh")
            .args(["-c", &format!("command -v {cmd}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !(have("pass") && have("gpg")) {
        assert!(
            std::env::var("RUNNER_REQUIRE_PASS").as_deref() != Ok("1"),
            "pass and gpg are required (RUNNER_REQUIRE_PASS=1)"
        );
        eprintln!("skipped: pass or gpg is not installed (Debian: pass, gnupg)");
        return;
    }
    let gnupg = tempfile::Builder::new()
        .prefix("gpg")
        .tempdir_in("/tmp")
        .unwrap();
    let store = tempfile::tempdir().unwrap();
    let env = [
        ("GNUPGHOME", gnupg.path().to_str().unwrap()),
        ("PASSWORD_STORE_DIR", store.path().to_str().unwrap()),
    ];
    let sh = |script: &str, input: Option<&str>| {
        use std::io::Write;
        let mut c = std::process::Command::new("sh");
        c.args(["-c", script]).envs(env);
        c.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        if let Some(i) = input {
            stdin.write_all(i.as_bytes()).unwrap();
        }
        drop(stdin);
        let o = child.wait_with_output().unwrap();
        assert!(
            o.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    sh(
        "chmod 700 \"$GNUPGHOME\" && gpg --batch --passphrase '' --quick-gen-key 'runner test <runner@example.invalid>' default default never && pass init runner@example.invalid",
        None,
    );
    sh(
        "pass insert -m sandbox/client-secret",
        Some("sandbox-secret\n"),
    );
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    p.write(
        "profiles/default.yaml",
        &crate::support::sandbox_profile(&sb.url, "").replace(
            "{{ env('SB_SECRET', 'sandbox-secret') }}",
            "{{ secret('sandbox-client') }}",
        ),
    );
    p.write("requests/list.yaml", "url: /assets\nquery: {limit: 1}\n");
    p.user_config("secrets:\n  sandbox-client: {command: [pass, show, sandbox/client-secret]}\n");
    let r = p.run_env(&["exec", "requests/list.yaml", "-vv"], &env);
    sh("gpgconf --kill gpg-agent", None);
    // The sandbox takes only the exact client secret: the value came whole from pass.
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(sb.token_requests("password"), 1);
    assert_no_secret(&r.stderr, &["sandbox-secret"]);
}
