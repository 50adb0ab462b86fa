//! Issue 24: a secret a command prints (`secret('NAME')`), and sessions kept in the
//! OS keyring: every message of the commands that use them, at `-vv`, failures
//! included, shows no form of them.

use super::{ENV, Planted, Sweep, find_leaks, project};
use crate::keyring::{UNLOCK, in_dbus_session, keyring_tools};
use crate::support::SandboxProc;

/// What the user's command prints (`printenv CANARY_CMD`, a program with no shell).
const CMD_SECRET: &str = "cmd-C4naryCommand&<v>\"q'\\%+/=: é";

#[test]
fn a_command_secret_shows_in_no_message() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb);
    p.write(
        "profiles/cmd.yaml",
        &format!(
            "base_url: {}\nvars: {{copy: \"{{{{ secret('canary') }}}}\"}}\nauth:\n  type: api_key\n  in: query\n  name: api_key\n  key: \"{{{{ secret('canary') }}}}\"\n",
            sb.url
        ),
    );
    let mut sweep = Sweep::new();
    sweep.plant(Planted::new("CMD_SECRET (secret command)", CMD_SECRET));
    let env = [("CANARY_CMD", CMD_SECRET)];
    p.user_config("secrets:\n  canary: {command: [printenv, CANARY_CMD]}\n");
    let r = p.run_env(&["exec", "requests/echo.yaml", "-p", "cmd"], &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The canary is live: the API got the command's output.
    assert_eq!(r.json()["query"]["api_key"], CMD_SECRET);
    for args in [
        &[
            "exec",
            "requests/echo.yaml",
            "-p",
            "cmd",
            "-vv",
            "-o",
            "none",
        ][..],
        &["exec", "requests/echo.yaml", "-p", "cmd", "--dry-run"],
        &["exec", "requests/echo.yaml", "-p", "cmd", "--curl"],
        &["check", "-vv"],
        &["profiles", "-vv"],
    ] {
        let r = sweep.runner(&p, args, &env);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
    }
    // A command that prints the secret, on both streams, and fails.
    p.user_config(
        "secrets:\n  canary: {command: [sh, -c, 'printenv CANARY_CMD; printenv CANARY_CMD >&2; exit 4']}\n",
    );
    let args = ["exec", "requests/echo.yaml", "-p", "cmd", "-vv"];
    let r = sweep.runner(&p, &args, &env);
    assert!(
        r.stderr.contains("failed (exit status: 4)"),
        "{args:?}: {}{}",
        r.stdout,
        r.stderr
    );
    // `profiles` names an api_key profile's kind without rendering its key, so the
    // failing command does not even run there; its lines are swept all the same.
    let r = sweep.runner(&p, &["profiles", "-vv"], &env);
    assert!(r.stdout.contains("cmd      api_key"), "{}", r.stdout);
    sweep.finish();
}

#[test]
fn keyring_sessions_show_no_secret() {
    if !keyring_tools() {
        return;
    }
    let sb = SandboxProc::start(&[]);
    let p = project(&sb);
    let mut sweep = Sweep::new();
    p.user_config("token_store: keyring\n");
    let home = tempfile::tempdir().unwrap();
    let exports: String = ENV
        .iter()
        .map(|(k, v)| format!("export {k}='{}'\n", v.replace('\'', "'\\''")))
        .collect();
    let runs = [
        "login -p oauth -vv",
        "exec requests/echo.yaml -p oauth -vv -o none",
        "exec requests/echo.yaml -p oauth --dry-run",
        "exec requests/echo.yaml -p oauth --curl",
        "profiles -vv",
        "check -vv",
    ];
    let mut script = format!("set -e\n{exports}{UNLOCK}\n");
    for (i, args) in runs.iter().enumerate() {
        script.push_str(&format!(
            "\"$RUNNER\" {args} > run{i}.out 2> run{i}.err || echo $? > run{i}.rc\n"
        ));
    }
    script.push_str(
        "\"$RUNNER\" token -p oauth > token.out 2> token.err\nA=$(secret-tool search service runner 2>&1 | sed -n 's/^attribute.username = //p')\nsecret-tool lookup service runner username \"$A\" > entry.json\n\"$RUNNER\" logout -p oauth -vv > logout.out 2> logout.err\n",
    );
    in_dbus_session(&p, home.path(), &script);
    // And a locked keyring's error.
    let (out, err) = in_dbus_session(
        &p,
        home.path(),
        &format!(
            "{exports}gnome-keyring-daemon --start --components=secrets >/dev/null\n\"$RUNNER\" login -p oauth -vv || true"
        ),
    );
    assert!(err.contains("is locked or refused access"), "{err}");
    sweep.text("locked keyring: `runner login -p oauth -vv` stdout", &out);
    sweep.text("locked keyring: `runner login -p oauth -vv` stderr", &err);
    let read = |f: &str| std::fs::read_to_string(p.path(f)).unwrap_or_default();
    let entry: serde_json::Value = serde_json::from_str(&read("entry.json")).unwrap();
    for k in ["access_token", "refresh_token"] {
        sweep.plant(Planted::new(
            &format!("{k} (kept in the keyring)"),
            entry[k].as_str().unwrap(),
        ));
    }
    // The canary is live: `runner token` printed the token the keyring holds.
    assert_eq!(
        read("token.out").trim(),
        entry["access_token"].as_str().unwrap()
    );
    assert!(!find_leaks(&read("token.out"), &sweep.secrets()).is_empty());
    for (i, args) in runs.iter().enumerate() {
        assert_eq!(
            read(&format!("run{i}.rc")),
            "",
            "{args}: {}",
            read(&format!("run{i}.err"))
        );
        sweep.text(
            &format!("keyring: `runner {args}` stdout"),
            &read(&format!("run{i}.out")),
        );
        sweep.text(
            &format!("keyring: `runner {args}` stderr"),
            &read(&format!("run{i}.err")),
        );
    }
    sweep.text(
        "keyring: `runner token -p oauth` stderr",
        &read("token.err"),
    );
    sweep.text(
        "keyring: `runner logout -p oauth -vv` stdout",
        &read("logout.out"),
    );
    sweep.text(
        "keyring: `runner logout -p oauth -vv` stderr",
        &read("logout.err"),
    );
    assert!(
        read("logout.err").contains("revoked"),
        "{}",
        read("logout.err")
    );
    sweep.finish();
}
