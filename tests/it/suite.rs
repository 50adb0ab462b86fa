//! Issue 14: `runner test` over folders, `--jobs`, `--bail`, exit codes, and
//! `--shard K/N` on test and `exec --data`.

use std::collections::BTreeSet;

use crate::support::{Project, SandboxProc, copy_dir, repo_root};

/// The shipped tests/api/ passes on a fresh checkout against the built-in sandbox.
#[test]
fn the_shipped_suite_passes_against_the_builtin_sandbox() {
    let p = Project::new();
    for dir in ["profiles", "requests", "schemas", "tests/api"] {
        copy_dir(&repo_root().join(dir), &p.path(dir));
    }
    let r = p.run(&["test"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "");
    let lines: Vec<&str> = r.stderr.lines().collect();
    let files: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("PASS "))
        .map(|l| l.split(" (").next().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "tests/api/assets/get.yaml",
            "tests/api/assets/lifecycle.yaml",
            "tests/api/assets/list.yaml",
            "tests/api/assets/missing.yaml",
            "tests/api/assets/search_archived.yaml"
        ]
    );
    assert!(
        lines.last().unwrap().starts_with("5 passed, 0 failed ("),
        "{}",
        r.stderr
    );
    let r = p.run(&["check"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

fn suite(sb: &SandboxProc) -> Project {
    let p = Project::with_sandbox(&sb.url);
    p.write(
        "t/a_ok.yaml",
        "url: /assets\nexpect: {jsonpath: {\"$.total_items\": {gte: 1}}}\n",
    );
    p.write(
        "t/b_bad.yaml",
        "url: /assets\nexpect:\n  jsonpath: {\"$.total_items\": {lt: 1}, \"$.items\": {length: 3}}\n",
    );
    p.write(
        "t/c_ok.yaml",
        "url: /assets/00000000-0000-4000-8000-000000000002\n",
    );
    p.write("t/nested/d_404.yaml", "url: /assets/nope\n");
    p
}

#[test]
fn failures_are_listed_in_full_then_the_summary_and_exit_1() {
    let sb = SandboxProc::start(&[]);
    let p = suite(&sb);
    let r = p.run(&["test", "t", "--jobs", "2"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let shape: Vec<String> = r
        .stderr
        .lines()
        .map(|l| match l.strip_suffix(" ms)") {
            Some(head) => head.rsplit_once(" (").unwrap().0.to_string(),
            None => l.to_string(),
        })
        .collect();
    assert_eq!(
        shape,
        [
            "PASS t/a_ok.yaml",
            "FAIL t/b_bad.yaml",
            "    t/b_bad.yaml:3:31: expected $.total_items lt 1, got 250",
            "    t/b_bad.yaml:3:51: expected $.items length 3, got 10",
            "PASS t/c_ok.yaml",
            "FAIL t/nested/d_404.yaml",
            "    t/nested/d_404.yaml:1:6: status 404 (expected 2xx)",
            "2 passed, 2 failed",
        ],
        "{}",
        r.stderr
    );

    // --bail stops at the first failure; what was not run is skipped.
    let r = p.run(&["test", "t", "--bail", "--jobs", "1"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .lines()
            .last()
            .unwrap()
            .starts_with("1 passed, 1 failed, 2 skipped ("),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("c_ok"), "{}", r.stderr);

    // Files given one by one, passing.
    let r = p.run(&["test", "t/c_ok.yaml", "t/a_ok.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.starts_with("PASS t/a_ok.yaml ("), "{}", r.stderr);
}

#[test]
fn invalid_input_is_exit_2_before_anything_is_sent() {
    let sb = SandboxProc::start(&[]);
    let p = suite(&sb);
    p.write(
        "t/e_broken.yaml",
        "url: /assets\nexpect: {jsonpath: {\"$.a\": {matches: \"[\"}}}\n",
    );
    let r = p.run(&["test", "t"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("  --> t/e_broken.yaml:2:28\n"),
        "{}",
        r.stderr
    );
    assert_eq!(sb.requests("GET /api/v1/assets"), 0);
    let r = p.run(&["test"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no tests/api/ folder"), "{}", r.stderr);
    let r = p.run(&["test", "t", "--shard", "3/2"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

/// Over several N, the shards K=1..N run every file once: their union is the
/// whole suite and no two overlap. The same for the rows of `exec --data`.
#[test]
fn shards_are_disjoint_and_their_union_is_the_whole() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    let mut all = BTreeSet::new();
    for i in 0..7 {
        let f = format!("t/f{i}.yaml");
        p.write(&f, "url: /assets/00000000-0000-4000-8000-000000000003\n");
        all.insert(f);
    }
    for n in [1, 2, 3, 7, 9] {
        let mut seen = BTreeSet::new();
        for k in 1..=n {
            let r = p.run(&["test", "t", "--shard", &format!("{k}/{n}")]);
            assert_eq!(r.code, 0, "{k}/{n}: {}", r.stderr);
            for l in r.stderr.lines().filter_map(|l| l.strip_prefix("PASS ")) {
                let f = l.split(" (").next().unwrap().to_string();
                assert!(seen.insert(f.clone()), "{k}/{n}: {f} ran twice");
            }
        }
        assert_eq!(seen, all, "n = {n}");
    }

    let mut csv = String::from("asset_id\n");
    for i in 1..=10 {
        csv.push_str(&format!("00000000-0000-4000-8000-{i:012}\n"));
    }
    p.write("rows.csv", &csv);
    p.write(
        "requests/get.yaml",
        "url: \"/assets/{{ asset_id }}\"\nextract: {id: $.id}\n",
    );
    for n in [1, 3, 4] {
        let mut rows = Vec::new();
        for k in 1..=n {
            let r = p.run(&[
                "exec",
                "requests/get.yaml",
                "--data",
                "rows.csv",
                "--shard",
                &format!("{k}/{n}"),
            ]);
            assert_eq!(r.code, 0, "{k}/{n}: {}", r.stderr);
            for line in r.stdout.lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                rows.push(v["row"].as_u64().unwrap());
            }
        }
        assert_eq!(
            rows,
            (1..=10).collect::<Vec<u64>>(),
            "n = {n}: in order, each once"
        );
    }
}

/// On a terminal (a pty from util-linux `script`), `runner test` draws files done of
/// total and paging draws pages and items; off a terminal nothing of the kind. Without
/// `script` the pty half is skipped, except under `.ci/run` (RUNNER_REQUIRE_PTY=1).
#[test]
fn progress_lines_only_on_a_terminal() {
    let sb = SandboxProc::start(&[]);
    let p = suite(&sb);
    p.write(
        "requests/pages.yaml",
        "url: /assets\nquery: {limit: 50}\npaginate: {next_url: $.next_page, items: $.items}\n",
    );
    let off = p.run(&["test", "t/a_ok.yaml", "t/c_ok.yaml"]);
    assert!(!off.stderr.contains("files"), "{}", off.stderr);
    let off = p.run(&["exec", "requests/pages.yaml", "-o", "none"]);
    assert_eq!(off.stderr, "");
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        // Under `.ci/run` (RUNNER_REQUIRE_PTY=1) a missing pty is a failure.
        assert!(
            std::env::var("RUNNER_REQUIRE_PTY").as_deref() != Ok("1"),
            "RUNNER_REQUIRE_PTY=1 but `script` (util-linux; Debian: bsdutils) is not installed: no pty for the progress lines"
        );
        eprintln!("skipped: no `script` for a pty");
        return;
    }
    let on_tty = |args: &str| {
        let cmd = format!("{} {args}", crate::support::bin().display());
        let o = std::process::Command::new("script")
            .args(["-qfec", &cmd, "/dev/null"])
            .current_dir(p.dir.path())
            .env("RUNNER_STATE_DIR", p.state.path())
            .env("TERM", "xterm")
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).replace('\r', "\n")
    };
    let text = on_tty("test t/a_ok.yaml t/c_ok.yaml --jobs 1");
    assert!(text.contains("2/2 files, 0 failed"), "{text}");
    let text = on_tty("exec requests/pages.yaml -o none");
    assert!(text.contains("5 pages, 250 items"), "{text}");
}
