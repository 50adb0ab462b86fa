//! A URL's userinfo is a credential wherever the URL is written: the profile's
//! `base_url` and a request file's own `url`. The HTTP client sends it as Basic auth;
//! every message, preview, report and transport error must mask it.

use super::exec::EXPECT_ECHO;
use super::{PASSWORD, Sweep, USER, closing_server, find_leaks, project, userinfo};
use crate::support::SandboxProc;

#[test]
fn the_userinfo_of_a_url_is_masked_everywhere() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb);
    let info = format!("{USER}:{}", userinfo(PASSWORD));
    let with_info = |url: &str| url.replacen("://", &format!("://{info}@"), 1);
    p.write(
        "profiles/info.yaml",
        &format!("base_url: {}\n", with_info(&sb.url)),
    );
    p.write(
        "profiles/info_closed.yaml",
        &format!(
            "base_url: {}\nhttp:\n  retries: 0\n",
            with_info(&closing_server())
        ),
    );
    // A request file's own URL, its password from a --var.
    p.write(
        "requests/own.yaml",
        &format!(
            "url: \"{}\"\n",
            with_info(&format!("{}/_sandbox/echo", sb.url))
                .replace(&userinfo(PASSWORD), "{{ pw }}")
        ),
    );
    p.write("t/expect.yaml", &EXPECT_ECHO.replace("{{ name }}", "t"));
    let var = format!("pw={}", userinfo(PASSWORD));
    let mut sweep = Sweep::new();
    let runs: [&[&str]; 3] = [
        &["exec", "requests/echo.yaml", "-p", "info"],
        &["exec", "requests/own.yaml", "-p", "info", "--var", &var],
        &["exec", "requests/own.yaml", "-p", "default", "--var", &var],
    ];
    for run in runs {
        for v in [&[][..], &["-v"], &["-vv"]] {
            let args = [run, v].concat();
            let r = sweep.runner_stderr(&p, &args, "the echo's body: response data");
            assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
            // The canary is live: the echo got the pair as Basic auth.
            assert!(
                !find_leaks(&r.stdout, &sweep.secrets()).is_empty(),
                "{args:?}: the echo shows no credential:\n{}",
                r.stdout
            );
        }
        for preview in ["--dry-run", "--curl"] {
            let args = [run, &[preview]].concat();
            let r = sweep.runner(&p, &args, &[]);
            assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        }
    }
    for (profile, code) in [("info", 1), ("info_closed", 1)] {
        let args = [
            "test",
            "t/expect.yaml",
            "-p",
            profile,
            "--report",
            "junit:u.xml",
            "--report",
            "json:u.json",
            "--report",
            "html:u.html",
        ];
        let r = sweep.runner(&p, &args, &[]);
        assert_eq!(r.code, code, "{args:?}: {}", r.stderr);
        for f in ["u.xml", "u.json", "u.html"] {
            sweep.file(&format!("the report {f} of -p {profile}"), &p.path(f));
        }
    }
    for v in [&[][..], &["-vv"]] {
        let args = [&["exec", "requests/echo.yaml", "-p", "info_closed"][..], v].concat();
        let r = sweep.runner(&p, &args, &[]);
        assert_eq!(r.code, 4, "{args:?}: {}", r.stderr);
    }
    sweep.finish();
}
