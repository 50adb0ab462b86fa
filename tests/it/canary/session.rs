//! `login`, `token`, `profiles`, `check` and `logout` at `-vv`, for every profile,
//! with a wrong client secret and a wrong password that hold the punctuation (the
//! sandbox takes only its own, so these are the ones its errors answer).

use super::{PROFILES, Planted, Sweep, find_leaks, project};
use crate::support::SandboxProc;

const WRONG_SECRET: &str = "cl1ent-C4naryWrongSecret&<v>\"q'\\%+/=: é";
const WRONG_PASSWORD: &str = "us3r-C4naryWrongPassword&<v>\"q'\\%+/=: é";

#[test]
fn session_commands_show_no_secret() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb);
    let mut sweep = Sweep::new();
    sweep.plant(Planted::new("WRONG_SECRET", WRONG_SECRET));
    sweep.plant(Planted::new("WRONG_PASSWORD", WRONG_PASSWORD));
    let login = ["login", "-p", "oauth", "-vv"];
    let r = sweep.runner(&p, &login, &[("SB_SECRET", WRONG_SECRET)]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let r = sweep.runner(&p, &login, &[("SB_PASSWORD", WRONG_PASSWORD)]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let r = sweep.runner(&p, &login, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let why = "runner token prints the access token on stdout by design";
    let t = sweep.runner_stderr(&p, &["token", "-p", "oauth", "-vv"], why);
    assert_eq!(t.code, 0, "{}", t.stderr);
    // The search would have found it there: the token is a canary the sweep knows.
    assert!(!find_leaks(&t.stdout, &sweep.secrets()).is_empty());
    p.expire_access_tokens();
    let t = sweep.runner_stderr(&p, &["token", "-p", "oauth", "-vv"], why);
    assert_eq!(t.code, 0, "{}", t.stderr);
    for profile in PROFILES {
        for cmd in ["profiles", "check", "login", "token"] {
            if profile == "oauth" && matches!(cmd, "login" | "token") {
                continue;
            }
            sweep.runner(&p, &[cmd, "-p", profile, "-vv"], &[]);
        }
    }
    // Revokes the refresh token, then the access token (auth.revocation_url).
    let r = sweep.runner(&p, &["logout", "-p", "oauth", "-vv"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("revoked"), "{}", r.stderr);
    for profile in PROFILES {
        sweep.runner(&p, &["logout", "-p", profile, "-vv"], &[]);
    }
    sweep.finish();
}
