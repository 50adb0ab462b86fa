//! Issue 24, point 2: `token_store: keyring` keeps sessions in the Secret Service,
//! here GNOME Keyring in a private D-Bus session (`dbus-run-session`), with the lock
//! file and the save-before-use rule unchanged; a locked or absent keyring is exit 3
//! naming `token_store: file`.

use std::path::Path;
use std::process::Command;

use crate::support::{Project, SandboxProc, bin, sandbox_profile};

/// Whether the Debian tools are here; under `.ci/run` (RUNNER_REQUIRE_KEYRING=1)
/// their absence fails the test.
pub fn keyring_tools() -> bool {
    let have = ["dbus-run-session", "gnome-keyring-daemon", "secret-tool"]
        .iter()
        .all(|cmd| {
            Command::new("sh")
                .args(["-c", &format!("command -v {cmd}")])
                .output()
                .is_ok_and(|o| o.status.success())
        });
    if !have {
        assert!(
            std::env::var("RUNNER_REQUIRE_KEYRING").as_deref() != Ok("1"),
            "dbus-run-session, gnome-keyring-daemon and secret-tool are required (RUNNER_REQUIRE_KEYRING=1)"
        );
        eprintln!("skipped: no GNOME Keyring (Debian: dbus, gnome-keyring, libsecret-tools)");
    }
    have
}

/// Runs `script` (sh) inside a private D-Bus session, in the project's folder with its
/// state folder and user configuration, `$RUNNER` the binary and `$HOME` `home` (where
/// GNOME Keyring keeps its keyrings). Returns its stdout and stderr.
pub fn in_dbus_session(p: &Project, home: &Path, script: &str) -> (String, String) {
    // Files, not pipes: a keyring daemon that D-Bus started inherits the session's
    // stdio and may outlive it, and a pipe would then never reach its end.
    let dir = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let status = Command::new("dbus-run-session")
        .args(["--", "sh", "-c", script])
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .current_dir(p.dir.path())
        .env("RUNNER", bin())
        .env("HOME", home)
        .env_remove("XDG_DATA_HOME")
        .env("RUNNER_STATE_DIR", p.state.path())
        .env("RUNNER_CONFIG", p.user_config_path())
        .env_remove("RUNNER_PROFILE")
        .env("NO_COLOR", "1")
        .status()
        .expect("dbus-run-session");
    let text = |path: &Path| String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
    assert!(status.success(), "{script}\n{}", text(&err_path));
    (text(&out_path), text(&err_path))
}

/// Unlocks (creating it the first time) the login keyring of `$HOME`.
pub const UNLOCK: &str =
    "echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null";

#[test]
fn eight_processes_share_one_refresh_through_the_keyring() {
    if !keyring_tools() {
        return;
    }
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    p.write("requests/list.yaml", "url: /assets\nquery: {limit: 1}\n");
    // User-wide: every profile that does not say otherwise.
    p.user_config("token_store: keyring\n");
    let home = tempfile::tempdir().unwrap();
    let script = format!(
        r#"set -e
{UNLOCK}
"$RUNNER" exec requests/list.yaml > first.json
secret-tool search --all service runner > search.txt 2>&1
A=$(sed -n 's/^attribute.username = //p' search.txt)
secret-tool lookup service runner username "$A" > before.json
# The access token made to look expired (the server still takes it): expiry without waiting.
python3 -c 'import json,sys; c=json.load(sys.stdin); c["expires_at"]=1; c["obtained_at"]=0; print(json.dumps(c))' < before.json \
  | secret-tool store --label=runner service runner username "$A"
for i in 1 2 3 4 5 6 7 8; do ("$RUNNER" exec requests/list.yaml > out$i.json 2> err$i.txt; echo $? > rc$i) & done
wait
secret-tool lookup service runner username "$A" > after.json
secret-tool search --all service runner > search2.txt 2>&1
"$RUNNER" profiles > profiles.txt
"$RUNNER" logout 2> logout.txt
secret-tool search service runner > gone.txt 2>&1 || true
"#
    );
    in_dbus_session(&p, home.path(), &script);
    let read = |f: &str| std::fs::read_to_string(p.path(f)).unwrap();
    for i in 1..=8 {
        assert_eq!(
            read(&format!("rc{i}")),
            "0\n",
            "{}",
            read(&format!("err{i}"))
        );
    }
    assert_eq!(sb.token_requests("password"), 1);
    assert_eq!(sb.token_requests("refresh_token"), 1, "{}", sb.stats());
    // `secret-tool search` shows the one entry runner keeps, by service and account.
    let search = read("search.txt");
    let account = search
        .lines()
        .find_map(|l| l.strip_prefix("attribute.username = "))
        .expect("no runner entry in the keyring")
        .to_string();
    assert!(search.contains("attribute.service = runner\n"), "{search}");
    assert!(
        search.contains(&format!("label = keyring:{account}@runner\n")),
        "{search}"
    );
    assert_eq!(
        read("search2.txt")
            .matches("attribute.service = runner")
            .count(),
        1
    );
    let before: serde_json::Value = serde_json::from_str(&read("before.json")).unwrap();
    let after: serde_json::Value = serde_json::from_str(&read("after.json")).unwrap();
    assert_ne!(before["refresh_token"], after["refresh_token"]);
    assert!(after["expires_at"].as_u64().unwrap() > 1);
    // The state folder holds the lock, never the tokens.
    let names: Vec<String> = std::fs::read_dir(p.state.path().join("tokens"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec![format!("{account}.lock")]);
    let profiles = read("profiles.txt");
    assert!(
        profiles.contains(&format!(
            "; kept in the OS keyring (service runner, account {account})\n"
        )),
        "{profiles}"
    );
    assert!(read("logout.txt").starts_with("logged out of profile `default`"));
    assert!(!read("gone.txt").contains("runner"), "{}", read("gone.txt"));
}

#[test]
fn a_locked_or_absent_keyring_is_exit_3_naming_token_store_file() {
    if !keyring_tools() {
        return;
    }
    let sb = SandboxProc::start(&[]);
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        &sandbox_profile(&sb.url, "  token_store: keyring\n"),
    );
    p.write("requests/list.yaml", "url: /assets\nquery: {limit: 1}\n");
    let account = {
        let r = p.run(&["profiles"]);
        r.stdout
            .split("account ")
            .nth(1)
            .and_then(|s| s.split(')').next())
            .unwrap_or_else(|| panic!("{}", r.stdout))
            .to_string()
    };
    // Absent: no D-Bus session at all.
    let r = p.run_env(
        &["exec", "requests/list.yaml"],
        &[("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.starts_with(&format!(
            "error: cannot use the OS keyring (service runner, account {account}) for the tokens: "
        )),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.ends_with("; unlock or start it, or set `token_store: file` (in the profile's auth block or the user configuration) to keep them in a file\n"),
        "{}",
        r.stderr
    );
    // Locked: a keyring made (and locked again at the end of its session), then a
    // session where nobody unlocks it.
    let home = tempfile::tempdir().unwrap();
    in_dbus_session(
        &p,
        home.path(),
        &format!("{UNLOCK}\nsecret-tool search service x || true"),
    );
    let (_, stderr) = in_dbus_session(
        &p,
        home.path(),
        "gnome-keyring-daemon --start --components=secrets >/dev/null\n\"$RUNNER\" exec requests/list.yaml; echo \"rc=$?\" >&2",
    );
    assert!(stderr.contains("rc=3\n"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: cannot use the OS keyring (service runner, account {account}) for the tokens: it is locked or refused access"
        )),
        "{stderr}"
    );
    // Nothing fell back to a file, and no token was asked for.
    assert!(p.cache_files().is_empty());
    assert_eq!(sb.token_requests("password"), 0);
}
