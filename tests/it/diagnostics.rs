//! Issue 22: every failure explains itself. The server's answer on stderr, one line
//! per failure with its place, -v/-vv that show bodies and the token exchange,
//! reports that never hide the result, bulk lines that can be joined across
//! `--failed` retries, flow steps with `expect`, and the small ones.

use serde_json::{Value, json};

use crate::support::{Project, SandboxProc, assert_no_panic};

/// A request that creates an asset from `name`, expecting 201 and extracting the id.
const CREATE: &str = "method: POST\nurl: /assets\nbody:\n  json: {name: \"{{ name }}\", family_id: \"7\"}\nextract:\n  asset_id: $.id\nexpect:\n  status: 201\n  jsonpath:\n    $.id: {exists: true}\n";

/// The sandbox's answer to an asset without a name, as stderr shows it.
const NO_NAME_ANSWER: &str = "  HTTP/1.1 400 Bad Request\n  {\n    \"error\": \"invalid_request\",\n    \"error_description\": \"\\\"name\\\" is required and must be a non-empty string\"\n  }\n";

#[test]
fn a_failed_request_shows_the_answer_once_with_its_place_and_no_extraction() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    p.write("requests/create.yaml", CREATE);
    let r = p.run(&["exec", "requests/create.yaml", "--var", "name="]);
    assert_no_panic(&r);
    assert_eq!(r.code, 1);
    // Nothing on stdout: `{"asset_id":null}` would pass for data.
    assert_eq!(r.stdout, "");
    assert_eq!(
        r.stderr,
        format!(
            "error: 2 expectations failed:\n  requests/create.yaml:8:11: status 400 (expected 201)\n  requests/create.yaml:10:11: expected $.id exists true, got nothing\nthe answer to requests/create.yaml:\n{NO_NAME_ANSWER}"
        )
    );

    // Without `expect`, a status failure points at `url`; `--show-body-bytes` cuts
    // the body, and 0 hides it.
    p.write(
        "requests/post.yaml",
        "method: POST\nurl: /assets\nbody:\n  json: {name: \"\"}\n",
    );
    let r = p.run(&["exec", "requests/post.yaml", "--show-body-bytes", "12"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "error: requests/post.yaml:2:6: status 400 (expected 2xx)\nthe answer to requests/post.yaml:\n  HTTP/1.1 400 Bad Request\n  {\n    \"error\":\n  … (98 more bytes; --show-body-bytes N shows more)\n"
    );
    let r = p.run(&["exec", "requests/post.yaml", "--show-body-bytes", "0"]);
    assert_eq!(
        r.stderr,
        "error: requests/post.yaml:2:6: status 400 (expected 2xx)\nthe answer to requests/post.yaml:\n  HTTP/1.1 400 Bad Request\n"
    );
}

#[test]
fn verbose_levels_show_bodies_and_the_token_exchange_masked() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    p.write("requests/create.yaml", CREATE);
    let secret = "sandbox-secret";
    // -vv first: the token request happens only while no token is cached.
    let vv = p.run(&["exec", "requests/create.yaml", "--var", "name=Pump", "-vv"]);
    let r = p.run(&["exec", "requests/create.yaml", "--var", "name=Pump", "-v"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let body_sent =
        " INFO > {\n INFO >   \"name\": \"Pump\",\n INFO >   \"family_id\": \"7\"\n INFO > }\n";
    assert!(r.stderr.contains(body_sent), "{}", r.stderr);
    assert!(
        r.stderr.contains(" INFO <   \"name\": \"Pump\",\n"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("token request"), "{}", r.stderr);

    let r = vv;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let token = format!(
        "DEBUG token request: POST {}/oauth/v2/token (grant password, client authentication: body)\nDEBUG > grant_type=password&username=***&password=***&client_id=sandbox&client_secret=***\nDEBUG token response: 200\n",
        sb.url
    );
    assert!(r.stderr.contains(&token), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("DEBUG < content-type: application/json\n"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains(secret), "{}", r.stderr);
    let response = r
        .stderr
        .lines()
        .find(|l| l.starts_with("DEBUG < {\"access_token\""))
        .unwrap_or_else(|| panic!("{}", r.stderr));
    assert!(response.contains("\"access_token\":\"***\""), "{response}");
    assert!(response.contains("\"refresh_token\":\"***\""), "{response}");

    // The help says what each level shows.
    let help = p.run(&["exec", "--help"]);
    assert!(
        help.stdout.contains("-vv: all headers and whole bodies"),
        "{}",
        help.stdout
    );
    assert!(
        help.stdout.contains("--show-body-bytes <N>"),
        "{}",
        help.stdout
    );
}

#[test]
fn reports_create_their_folders_name_the_run_and_never_change_the_exit_code() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    p.write("tests/api/missing.yaml", "url: /assets/nope\n");
    let r = p.run(&[
        "test",
        "--report",
        "html:out/deep/r.html",
        "--report",
        "json:out/r.json",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let html = std::fs::read_to_string(p.path("out/deep/r.html")).unwrap();
    let line = html
        .lines()
        .find(|l| l.starts_with("<p id=\"run\">"))
        .unwrap_or_else(|| panic!("{html}"));
    let want = format!(
        " · profile default · {}/api/v1 · runner {} · ",
        sb.url,
        env!("CARGO_PKG_VERSION")
    );
    assert!(line.contains(&want), "{line}");
    assert!(line.contains("T") && line.ends_with(" s</p>"), "{line}");
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(p.path("out/r.json")).unwrap()).unwrap();
    assert_eq!(json["profile"], "default");
    assert_eq!(json["runner_version"], env!("CARGO_PKG_VERSION"));
    assert!(json["total_s"].as_f64().is_some() && json["date"].as_str().is_some());

    // A report that cannot be written (its path is a folder) is a warning; the run's
    // own result stands: exit 1, not 2.
    std::fs::create_dir_all(p.path("taken.xml")).unwrap();
    let r = p.run(&["test", "--report", "junit:taken.xml"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.ends_with("warning: cannot write the report taken.xml: Is a directory (os error 21) (the run's result stands)\n"),
        "{}",
        r.stderr
    );
}

#[test]
fn bulk_lines_carry_input_the_servers_words_and_the_original_row() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    p.write("requests/create.yaml", CREATE);
    p.write("rows.csv", "name,note\nPump,a\n,b\nValve,c\n");
    let r = p.run(&[
        "exec",
        "requests/create.yaml",
        "--data",
        "rows.csv",
        "--failed",
        "failed.csv",
        "--concurrency",
        "1",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let lines = r.json_lines();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["input"], json!({"name": "Pump", "note": "a"}));
    let failed = json!({
        "row": 2,
        "input": {"name": "", "note": "b"},
        "status": 400,
        "ok": false,
        "error": "requests/create.yaml:8:11: status 400 (expected 201); requests/create.yaml:10:11: expected $.id exists true, got nothing; the server said: invalid_request: \"name\" is required and must be a non-empty string",
    });
    assert_eq!(lines[1], failed);
    assert_eq!(
        std::fs::read_to_string(p.path("failed.csv")).unwrap(),
        "_row,name,note\n2,,b\n"
    );

    // The retry names the first run's row, never sends `_row`, and writes it back.
    let r = p.run(&[
        "exec",
        "requests/create.yaml",
        "--data",
        "failed.csv",
        "--failed",
        "again.csv",
    ]);
    assert_eq!(r.code, 1);
    let line: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(line, failed);
    assert_eq!(
        std::fs::read_to_string(p.path("again.csv")).unwrap(),
        "_row,name,note\n2,,b\n"
    );

    // JSON lines keep `_row` too.
    p.write("rows.jsonl", "{\"name\":\"\"}\n{\"name\":\"Ok\"}\n");
    let r = p.run(&[
        "exec",
        "requests/create.yaml",
        "--data",
        "rows.jsonl",
        "--failed",
        "f.jsonl",
    ]);
    assert_eq!(r.code, 1);
    assert_eq!(
        std::fs::read_to_string(p.path("f.jsonl")).unwrap(),
        "{\"_row\":1,\"name\":\"\"}\n"
    );
    let bad = p.write("bad.csv", "_row,name\nzero,x\n");
    let r = p.run(&[
        "exec",
        "requests/create.yaml",
        "--data",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.starts_with("error: `_row` is \"zero\": it holds a row number (1 or more), as --failed writes it\n  --> "),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("bad.csv:2:1\n"), "{}", r.stderr);

    // `-o json` gives the whole exchange of each row.
    let r = p.run(&[
        "exec",
        "requests/create.yaml",
        "--data",
        "rows.csv",
        "-o",
        "json",
        "--concurrency",
        "1",
    ]);
    let first: Value = serde_json::from_str(r.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(first["row"], 1);
    assert_eq!(first["status"], 201);
    assert_eq!(first["body"]["name"], "Pump");
    assert_eq!(first["headers"]["content-type"], "application/json");
    assert_eq!(first["extract"]["asset_id"], first["body"]["id"]);
    assert!(first["elapsed_ms"].is_u64());
}

#[test]
fn flow_steps_carry_expect_and_every_step_reaches_the_report() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    p.write("requests/create.yaml", CREATE);
    p.write("requests/get.yaml", "url: /assets/{{ asset_id }}\n");
    p.write(
        "requests/flow.yaml",
        "steps:\n  - run: create.yaml\n    vars: {name: Pump}\n  - run: get.yaml\n    expect:\n      status: 404\n",
    );
    let r = p.run(&[
        "exec",
        "requests/flow.yaml",
        "--report",
        "json:r.json",
        "--show-body-bytes",
        "0",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "error: flow requests/flow.yaml stopped at step 2 (requests/get.yaml): requests/flow.yaml:6:15: status 200 (expected 404)\nthe answer to requests/flow.yaml:\n  HTTP/1.1 200 OK\n"
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(p.path("r.json")).unwrap()).unwrap();
    let names: Vec<(&str, &str, bool)> = report["cases"][0]["assertions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap(),
                a["place"].as_str().unwrap(),
                a["ok"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            (
                "step 1 (requests/create.yaml): status 201",
                "requests/create.yaml:8:11",
                true
            ),
            (
                "step 1 (requests/create.yaml): $.id {exists: true}",
                "requests/create.yaml:10:11",
                true
            ),
            (
                "step 2 (requests/get.yaml): status 404",
                "requests/flow.yaml:6:15",
                false
            ),
        ]
    );
    // `runner check` compiles a step's expect.
    p.write(
        "requests/bad_flow.yaml",
        "steps:\n  - run: get.yaml\n    expect:\n      jsonpath:\n        $.a: {nope: 1}\n",
    );
    let r = p.run(&["check", "requests/bad_flow.yaml"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("  --> requests/bad_flow.yaml:5:14\n"),
        "{}",
        r.stderr
    );
}

#[test]
fn import_curl_takes_its_options_after_the_command() {
    let p = Project::new();
    let r = p.run(&[
        "import",
        "curl",
        "--",
        "curl",
        "https://api.example.com/items",
        "--out",
        "requests/items.yaml",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert_eq!(r.stderr, "wrote requests/items.yaml\n");
    assert_eq!(
        std::fs::read_to_string(p.path("requests/items.yaml")).unwrap(),
        "method: GET\nurl: https://api.example.com/items\n"
    );
    let r = p.run(&[
        "import",
        "curl",
        "--",
        "curl",
        "https://api.example.com/items",
        "--out=requests/items.yaml",
    ]);
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr,
        "error: requests/items.yaml already exists (nothing written; --force overwrites)\n"
    );
    let r = p.run(&[
        "import",
        "curl",
        "--out",
        "a.yaml",
        "--",
        "curl",
        "https://x.example",
        "--out",
        "b.yaml",
    ]);
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr,
        "error: --out is given twice (before and after the curl command)\n"
    );
    let r = p.run(&["import", "curl", "--", "curl", "https://x.example", "--out"]);
    assert_eq!(
        r.stderr,
        "error: --out needs a FILE (import curl's --out, after the curl command)\n"
    );
}

#[test]
fn help_examples_name_what_a_project_has() {
    let p = Project::new();
    for cmd in ["exec", "login", "logout", "token", "profiles", "serve"] {
        let r = p.run(&[cmd, "--help"]);
        assert_eq!(r.code, 0);
        for absent in ["ermeo", "sandbox_browser", "sandbox_device", "-p work"] {
            assert!(
                !r.stdout.contains(absent),
                "`runner {cmd} --help` names {absent}:\n{}",
                r.stdout
            );
        }
    }
}

#[test]
fn a_bulk_row_that_expects_only_a_status_still_says_what_the_server_said() {
    // No extract and no jsonpath: the body streams past unparsed, and only a failing
    // answer's start is kept for its line.
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    p.write(
        "requests/status.yaml",
        "method: POST\nurl: /assets\nbody:\n  json: {name: \"{{ name }}\", family_id: \"7\"}\nexpect: {status: 201}\n",
    );
    p.write("rows.csv", "name\nPump\n\"\"\n");
    let r = p.run(&["exec", "requests/status.yaml", "--data", "rows.csv"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let lines = r.json_lines();
    assert_eq!(
        lines,
        [
            json!({"row": 1, "input": {"name": "Pump"}, "status": 201, "ok": true}),
            json!({
                "row": 2,
                "input": {"name": ""},
                "status": 400,
                "ok": false,
                "error": "requests/status.yaml:5:18: status 400 (expected 201); the server said: invalid_request: \"name\" is required and must be a non-empty string",
            }),
        ]
    );
}
