//! Issue 25, point 5: `runner init` makes a project that passes `check`, whose
//! example request and test run against the built-in sandbox at once, and which
//! refuses to overwrite.

use crate::support::Project;

#[test]
fn init_makes_a_project_that_runs_at_once_and_refuses_to_overwrite() {
    let p = Project::new();
    let r = p.run(&["init", "fresh"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "created a runner project in fresh (9 files)\ntry: cd fresh && runner exec requests/list_assets.yaml   (the built-in sandbox; no account needed)\nthen: cd fresh && runner test && runner check\n"
    );
    for f in [
        "profiles/default.yaml",
        "profiles/api.yaml",
        "requests/list_assets.yaml",
    ] {
        let text = std::fs::read_to_string(p.path(&format!("fresh/{f}"))).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=../schema/"),
            "{f}"
        );
    }
    let schema = p.run(&["schema", "request"]);
    assert_eq!(
        std::fs::read_to_string(p.path("fresh/schema/request.json")).unwrap(),
        schema.stdout
    );
    let r = p.run(&["--root", "fresh", "check"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (0, "checked 5 files: no problems\n")
    );
    let r = p.run(&["--root", "fresh", "exec", "fresh/requests/list_assets.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["total"], 250);
    let r = p.run(&[
        "--root",
        "fresh",
        "exec",
        "fresh/requests/create_asset.yaml",
        "--var",
        "name=Pump 12",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["id"].as_str().map(str::len), Some(36));
    let r = p.run(&["--root", "fresh", "test", "fresh/tests/api"]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    std::fs::write(p.path("fresh/requests/list_assets.yaml"), "url: /mine\n").unwrap();
    let r = p.run(&["init", "fresh"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.starts_with("error: 9 files already exist (nothing written; --force overwrites): fresh/profiles/default.yaml, "),
        "{}",
        r.stderr
    );
    assert_eq!(
        std::fs::read_to_string(p.path("fresh/requests/list_assets.yaml")).unwrap(),
        "url: /mine\n"
    );
    let r = p.run(&["init", "fresh", "--force"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}
