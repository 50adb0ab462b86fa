//! `runner exec`: stderr at every verbosity, the previews (own and foreign origin),
//! transport errors and their reports, bulk lines and the `--failed` file.

use super::{PROFILES, Sweep, find_leaks, project};
use crate::support::{Project, SandboxProc};

const VERBOSITY: [&[&str]; 4] = [&[], &["-v"], &["-vv"], &["-vvv"]];

/// A request whose expectations fail on the values the echo got: each credential's.
pub const EXPECT_ECHO: &str = "url: /_sandbox/echo\nquery: {row: \"{{ name }}\"}\nexpect:\n  jsonpath:\n    \"$.headers.authorization\": \"x\"\n    \"$.headers['x-tenant']\": \"x\"\n    \"$.query.api_key\": \"x\"\n";

#[test]
fn exec_stderr_shows_no_secret_at_any_verbosity() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb);
    let mut sweep = Sweep::new();
    for profile in PROFILES {
        for v in VERBOSITY {
            let args = [&["exec", "requests/echo.yaml", "-p", profile][..], v].concat();
            let r = sweep.runner_stderr(&p, &args, "the echo's body: response data");
            assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
            // The canary is live: the echo shows the credential went out, and the
            // search finds it there.
            assert!(
                !find_leaks(&r.stdout, &sweep.secrets()).is_empty(),
                "{args:?}: the echo shows no credential:\n{}",
                r.stdout
            );
        }
    }
    // A refresh, and a 401 answered by a refresh and a retry, at -vv.
    p.expire_access_tokens();
    let args = ["exec", "requests/echo.yaml", "-p", "oauth", "-vv"];
    sweep.runner_stderr(&p, &args, "response data");
    sb.revoke_access_tokens();
    p.write(
        "requests/assets.yaml",
        "url: /api/v1/assets\nquery: {limit: \"1\"}\n",
    );
    let args = ["exec", "requests/assets.yaml", "-p", "oauth", "-vv"];
    let r = sweep.runner(&p, &args, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    sweep.finish();
}

#[test]
fn previews_mask_every_secret_for_the_profiles_origin() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb);
    let mut sweep = Sweep::new();
    for profile in PROFILES {
        for preview in ["--dry-run", "--curl"] {
            for v in [&[][..], &["-vv"]] {
                let args = [
                    &["exec", "requests/echo.yaml", "-p", profile, preview][..],
                    v,
                ];
                let r = sweep.runner(&p, &args.concat(), &[]);
                assert_eq!(r.code, 0, "{}", r.stderr);
            }
        }
    }
    sweep.finish();
}

/// `exec` sends no credential to another origin; its previews must show none either,
/// even with `--show-secrets` (the curl command would send it there).
#[test]
fn previews_of_a_foreign_origin_show_no_credential() {
    let (sb, other) = (SandboxProc::start(&[]), SandboxProc::start(&[]));
    let p = project(&sb);
    p.write(
        "requests/foreign.yaml",
        &format!("url: {}/_sandbox/echo\n", other.url),
    );
    let mut sweep = Sweep::new();
    for profile in PROFILES {
        // What the other origin received is a channel too: it must hold no secret.
        let args = ["exec", "requests/foreign.yaml", "-p", profile, "-vv"];
        let r = sweep.runner(&p, &args, &[]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        for preview in [
            &["--dry-run"][..],
            &["--curl"],
            &["--show-secrets", "--dry-run"],
            &["--show-secrets", "--curl"],
        ] {
            let args = [
                &["exec", "requests/foreign.yaml", "-p", profile][..],
                preview,
            ];
            let r = sweep.runner(&p, &args.concat(), &[]);
            assert_eq!(r.code, 0, "{}", r.stderr);
        }
    }
    sweep.finish();
}

/// A server that hangs up after the request went out: the error names the URL, whose
/// query held the key, percent-encoded.
#[test]
fn transport_errors_and_their_reports_show_no_query_key() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb);
    let mut sweep = Sweep::new();
    for v in VERBOSITY {
        let args = [
            &[
                "exec",
                "requests/echo.yaml",
                "-p",
                "closed",
                "--retries",
                "0",
            ],
            v,
        ];
        let r = sweep.runner(&p, &args.concat(), &[]);
        assert_eq!(r.code, 4, "{}", r.stderr);
        // The error names the URL, the key masked in it: not a test passed by silence.
        assert!(r.stderr.contains("api_key=***"), "{}", r.stderr);
    }
    let args = [
        "exec",
        "requests/echo.yaml",
        "-p",
        "closed",
        "--retries",
        "0",
        "--report",
        "junit:exec.xml",
        "--report",
        "json:exec.json",
        "--report",
        "html:exec.html",
    ];
    let r = sweep.runner(&p, &args, &[]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    for f in ["exec.xml", "exec.json", "exec.html"] {
        sweep.file(&format!("exec --report {f}"), &p.path(f));
    }
    sweep.finish();
}

fn bulk(sweep: &mut Sweep, p: &Project, profile: &str, verbosity: &[&str]) {
    let failed = format!("failed-{profile}{}.csv", verbosity.join(""));
    let args = [
        &[
            "exec",
            "requests/expect.yaml",
            "-p",
            profile,
            "--data",
            "rows.csv",
            "--failed",
            &failed,
            "--retries",
            "0",
        ][..],
        verbosity,
    ]
    .concat();
    let r = sweep.runner(p, &args, &[]);
    assert!(r.code == 1 || r.code == 4, "{args:?}: {}", r.stderr);
    // Each row's `error` quotes what failed, the credential masked in it.
    for line in r.stdout.lines() {
        let row: serde_json::Value = serde_json::from_str(line).unwrap();
        let error = row["error"].as_str().unwrap_or_default();
        assert!(error.contains("***"), "{args:?}: {line}");
    }
    assert_eq!(r.stdout.lines().count(), 2, "{args:?}: {}", r.stdout);
    let rows = std::fs::read_to_string(p.path(&failed)).unwrap();
    // The file gives the rows back: their data is there, and only it.
    assert!(
        rows.contains("row-one") && rows.contains("row-two"),
        "{rows}"
    );
    sweep.file(
        &format!("the --failed file of `{}`", args.join(" ")),
        &p.path(&failed),
    );
}

/// Each row fails an expectation on a value the echo got (its `error` field says
/// what it got), or, with `closed`, on a transport error.
#[test]
fn bulk_lines_and_the_failed_file_show_no_secret() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb);
    p.write("requests/expect.yaml", EXPECT_ECHO);
    p.write("rows.csv", "name\nrow-one\nrow-two\n");
    let mut sweep = Sweep::new();
    for profile in PROFILES.iter().chain(&["closed"]) {
        bulk(&mut sweep, &p, profile, &[]);
    }
    bulk(&mut sweep, &p, "default", &["-vv"]);
    sweep.finish();
}

/// Issue 22: a failed request shows the server's answer on stderr (here the echo,
/// whose body holds every credential that went out), at every verbosity and body
/// size; the bulk `-o json` lines carry the masked `input`.
#[test]
fn the_answer_to_a_failed_request_shows_no_secret() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb);
    p.write("requests/expect.yaml", EXPECT_ECHO);
    p.write("rows.csv", "name\nrow-one\n");
    let mut sweep = Sweep::new();
    for profile in PROFILES {
        for extra in [&[][..], &["-vv"], &["--show-body-bytes", "100000"]] {
            let args = [
                &[
                    "exec",
                    "requests/expect.yaml",
                    "-p",
                    profile,
                    "--var",
                    "name=x",
                ][..],
                extra,
            ]
            .concat();
            let why = "the failed response's body, still printed (SPEC §7): response data";
            let r = sweep.runner_stderr(&p, &args, why);
            assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
            assert!(
                r.stderr
                    .contains("the answer to requests/expect.yaml:\n  HTTP/1.1 200 OK\n"),
                "{}",
                r.stderr
            );
        }
        let args = [
            "exec",
            "requests/expect.yaml",
            "-p",
            profile,
            "--data",
            "rows.csv",
            "-o",
            "json",
        ];
        let r = sweep.runner_stderr(
            &p,
            &args,
            "each row's exchange: the echo's body is response data",
        );
        assert_eq!(r.code, 1, "{}", r.stderr);
        let line: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
        assert_eq!(line["input"], serde_json::json!({"name": "row-one"}));
        assert!(line["body"]["headers"].is_object(), "{line}");
    }
    sweep.finish();
}

/// Issue 22: a preview with an unset `env()` shows its placeholder and warns, and every
/// secret that is set stays masked around it, on stdout and in the warning.
#[test]
fn previews_with_an_unset_env_show_its_placeholder_and_mask_the_rest() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb);
    p.write(
        "requests/partial.yaml",
        "url: /_sandbox/echo\nheaders:\n  X-Missing: \"{{ env('CANARY_UNSET') }}\"\n  Authorization: \"Bearer {{ env('CANARY_BEARER') }}{{ env('CANARY_UNSET') }}\"\n",
    );
    let mut sweep = Sweep::new();
    for profile in PROFILES {
        for preview in ["--dry-run", "--curl"] {
            let args = ["exec", "requests/partial.yaml", "-p", profile, preview];
            let r = sweep.runner(&p, &args, &[]);
            assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
            assert!(
                r.stdout.contains("X-Missing: <unset: CANARY_UNSET>"),
                "{}",
                r.stdout
            );
            assert!(
                r.stderr
                    .contains("environment variable `CANARY_UNSET` is not set"),
                "{}",
                r.stderr
            );
        }
    }
    sweep.finish();
}

/// A profile that does not parse never registers its secrets, yet its error shows the
/// failing line: a password written on that line is hidden by its key, in `check`,
/// `exec` and `profiles` alike, in every form the canary knows.
#[test]
fn a_written_password_on_a_line_that_does_not_parse_shows_nowhere() {
    const WRITTEN: &str = "Wr1tten-C4nary&<v>\"q\\%+/=: é";
    let p = Project::new();
    p.write("requests/list.yaml", "url: /assets\n");
    // `password: a: b` is YAML's "mapping values are not allowed here" on that line.
    p.write(
        "profiles/default.yaml",
        &format!(
            "base_url: http://127.0.0.1:9/api\nauth:\n  type: oauth2_password\n  token_url: http://127.0.0.1:9/token\n  client_id: c\n  username: u\n  password: {WRITTEN}\n"
        ),
    );
    let mut sweep = Sweep::new();
    sweep.plant(super::Planted::new(
        "a password written in a broken profile",
        WRITTEN,
    ));
    for args in [&["check"][..], &["exec", "requests/list.yaml"]] {
        let r = sweep.runner(&p, args, &[]);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains("  password: ***\n"),
            "{args:?}: {}",
            r.stderr
        );
    }
    // `profiles` names the error without the line.
    let r = sweep.runner(&p, &["profiles"], &[]);
    assert!(
        r.stdout
            .contains("default  invalid: mapping values are not allowed in this context"),
        "{}",
        r.stdout
    );
    sweep.finish();
}
