//! `runner test`: the per-file lines, and the junit, json and html reports, for
//! failures that quote what the echo got (each credential), a failure whose report
//! shows the response (the echo of every credential), and transport errors.

use super::exec::EXPECT_ECHO;
use super::{PROFILES, Planted, Sweep, project};
use crate::support::{Project, SandboxProc};

/// `runner test FILE -p PROFILE ARGS` with the three reports, named after `stem`, all
/// its channels swept.
fn test_with_reports(sweep: &mut Sweep, p: &Project, stem: &str, test: [&str; 2], args: &[&str]) {
    let [file, profile] = test;
    let files = [
        ("junit", format!("{stem}.xml")),
        ("json", format!("{stem}.json")),
        ("html", format!("{stem}.html")),
    ];
    let reports: Vec<String> = files.iter().map(|(k, f)| format!("{k}:{f}")).collect();
    let mut all = vec!["test", file, "-p", profile];
    all.extend_from_slice(args);
    for r in &reports {
        all.extend(["--report", r.as_str()]);
    }
    let r = sweep.runner(p, &all, &[]);
    assert_eq!(r.code, 1, "{all:?}: {}", r.stderr);
    assert!(r.stderr.contains("0 passed, 1 failed"), "{}", r.stderr);
    // The failure quotes what the server got or the URL it went to, masked: the
    // sweep below passes because of masking, not because nothing was said.
    if file.ends_with("expect.yaml") || profile == "closed" {
        assert!(r.stderr.contains("***"), "{all:?}: {}", r.stderr);
    }
    for (_, f) in files {
        let channel = format!("the report {f} of `runner {}`", all.join(" "));
        sweep.file(&channel, &p.path(&f));
    }
}

#[test]
fn test_lines_and_reports_show_no_secret() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb);
    p.write("t/expect.yaml", &EXPECT_ECHO.replace("{{ name }}", "t"));
    // Fails on a value that is no secret: the reports show the response (the echo of
    // every credential) and must mask what they escape.
    p.write(
        "t/body.yaml",
        "url: /_sandbox/echo\nexpect: {jsonpath: {\"$.method\": \"POST\"}}\n",
    );
    let mut sweep = Sweep::new();
    for profile in PROFILES.iter().chain(&["closed"]) {
        for file in ["t/expect.yaml", "t/body.yaml"] {
            for v in [&[][..], &["-v"]] {
                let stem = format!("{profile}-{}{}", &file[2..file.len() - 5], v.join(""));
                test_with_reports(&mut sweep, &p, &stem, [file, profile], v);
            }
        }
    }
    sweep.finish();
}

/// A request file's own `Authorization`, rendered from `--var`: an Authorization
/// value is a secret wherever it comes from (SPEC §7).
#[test]
fn a_credential_from_a_var_is_masked_everywhere() {
    const VAR: &str = "v4r C4naryVarToken&<v>\"q'\\%+/=:x";
    let sb = SandboxProc::start(&[]);
    let p = project(&sb);
    p.write(
        "t/own.yaml",
        "url: /_sandbox/echo\nauth: none\nheaders: {Authorization: \"Bearer {{ token }}\"}\nexpect: {jsonpath: {\"$.headers.authorization\": \"x\"}}\n",
    );
    let mut sweep = Sweep::new();
    sweep.plant(Planted::new("a --var value sent as Authorization", VAR));
    let var = format!("token={VAR}");
    for v in [&[][..], &["-v"], &["-vv"]] {
        let args = [&["exec", "t/own.yaml", "--var", &var][..], v].concat();
        sweep.runner_stderr(&p, &args, "the echo's body: response data");
    }
    for preview in ["--dry-run", "--curl"] {
        sweep.runner(&p, &["exec", "t/own.yaml", "--var", &var, preview], &[]);
    }
    let args = ["--var", var.as_str()];
    test_with_reports(&mut sweep, &p, "own", ["t/own.yaml", "default"], &args);
    sweep.finish();
}
