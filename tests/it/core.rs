//! Issue 2: request files, templates, JSONPath, output, exit codes, check, sandbox.

use serde_json::{Value, json};

use crate::hostile_server::{Behaviour, HostileServer};
use crate::support::{Project, SandboxProc, assert_no_panic, repo_root};

#[test]
fn the_shipped_default_profile_runs_the_whole_flow_in_process() {
    let state = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(crate::support::bin())
        .args(["exec", "requests/get_all_assets.yaml"])
        .current_dir(repo_root())
        .env("RUNNER_STATE_DIR", state.path())
        .env_remove("RUNNER_PROFILE")
        .env_remove("RUNNER_ROOT")
        .output()
        .unwrap();
    let run: crate::support::Run = out.into();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let assets = run.json();
    let assets = assets.as_array().unwrap();
    assert_eq!(assets.len(), 250);
    assert_eq!(assets[0]["name"], "Asset 0001");
    assert_eq!(assets[249]["name"], "Asset 0250");
    // Sandbox tokens live in memory only.
    assert!(
        !state.path().join("tokens").exists()
            || std::fs::read_dir(state.path().join("tokens"))
                .unwrap()
                .count()
                == 0
    );
}

#[test]
fn extract_gives_values_for_singular_paths_and_lists_otherwise() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    p.write(
        "requests/list.yaml",
        "url: /assets\nquery: {limit: 3}\nextract:\n  first: $.items[0].name\n  ids: $.items[*].code\n  total: $.total_items\n  nothing: $.nope\n",
    );
    let r = p.run(&["exec", "requests/list.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "{\"first\":\"Asset 0001\",\"ids\":[\"AST-000001\",\"AST-000002\",\"AST-000003\"],\"total\":250,\"nothing\":null}\n"
    );
}

#[test]
fn single_expressions_keep_their_type_in_json_bodies() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    p.write("vars.yaml", "label: from-file\nn: 1\n");
    p.write(
        "requests/echo.yaml",
        "method: POST\nurl: \"{{ root }}/_sandbox/echo\"\nauth: none\nheaders: {X-Label: \"{{ label }}\"}\nbody:\n  json:\n    count: \"{{ n }}\"\n    text: \"n={{ n }}\"\n    obj: \"{{ obj }}\"\n    page: \"{{ page_size }}\"\n    id: \"{{ uuid() | length }}\"\nextract:\n  body: $.body\n  label: $.headers['x-label']\n",
    );
    let root = format!("root={}", sb.url);
    let r = p.run(&[
        "exec",
        "requests/echo.yaml",
        "--vars",
        "vars.yaml",
        "--var",
        &root,
        "--var",
        "n:=5",
        "--var",
        "obj:={\"a\":[1,2]}",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.json(),
        json!({"body": {"count": 5, "text": "n=5", "obj": {"a": [1, 2]}, "page": 5, "id": 36}, "label": "from-file"})
    );
}

#[test]
fn output_modes() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    p.write(
        "requests/one.yaml",
        "url: /assets/00000000-0000-4000-8000-000000000002\n",
    );
    let body = p.run(&["exec", "requests/one.yaml"]);
    assert_eq!(body.code, 0, "{}", body.stderr);
    assert_eq!(body.json()["name"], "Asset 0002");
    // Not a terminal: compact, one line.
    assert_eq!(body.stdout.lines().count(), 1);

    let j = p.run(&["exec", "requests/one.yaml", "-o", "json"]).json();
    assert_eq!(j["status"], 200);
    assert_eq!(j["body"]["name"], "Asset 0002");
    assert_eq!(j["extract"], Value::Null);
    assert!(j["elapsed_ms"].is_u64());
    assert!(
        j["headers"]["content-type"]
            .as_str()
            .unwrap()
            .contains("json")
    );

    let none = p.run(&["exec", "requests/one.yaml", "-o", "none"]);
    assert_eq!((none.code, none.stdout.as_str()), (0, ""));

    let yaml = p.run(&["exec", "requests/one.yaml", "-o", "yaml"]);
    assert!(
        yaml.stdout.contains("name: Asset 0002\n"),
        "{}",
        yaml.stdout
    );

    let inc = p.run(&["exec", "requests/one.yaml", "-i"]);
    assert!(
        inc.stdout.starts_with("HTTP/1.1 200 OK\n"),
        "{}",
        inc.stdout
    );
    assert!(inc.stdout.contains("\n\n{\"id\""), "{}", inc.stdout);
}

/// `-o raw` writes the bytes as they came, whatever the request file asks; `body`
/// shows the extract, compact. The server's JSON has spaces, a line break, an escaped `é` and
/// `1.50`: any re-serialisation would change them.
#[test]
fn raw_output_is_the_bytes_as_received() {
    const BODY: &[u8] = b"{ \"name\" : \"caf\\u00e9\",\n  \"n\": 1.50 }\n";
    let server = HostileServer::start(Behaviour::Verbatim(BODY));
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        &format!("base_url: {}/api\n", server.url),
    );
    p.write(
        "requests/thing.yaml",
        "url: /thing\nextract: {name: $.name, n: $.n}\n",
    );
    p.write("requests/plain.yaml", "url: /thing\n");
    let bytes = |args: &[&str]| {
        let out = p.cmd(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        out.stdout
    };
    assert_eq!(bytes(&["exec", "requests/thing.yaml", "-o", "raw"]), BODY);
    assert_eq!(
        bytes(&["exec", "requests/thing.yaml"]),
        "{\"name\":\"café\",\"n\":1.5}\n".as_bytes()
    );
    // Without an extract, `body` off a terminal streams the bytes as they came too
    // (SPEC §6), like `raw`.
    assert_eq!(bytes(&["exec", "requests/plain.yaml"]), BODY);
    assert_eq!(bytes(&["exec", "requests/plain.yaml", "-o", "raw"]), BODY);
    let mut head = b"HTTP/1.1 200 OK\nconnection: close\ncontent-type: application/json\ncontent-length: 38\n\n".to_vec();
    head.extend_from_slice(BODY);
    assert_eq!(
        bytes(&["exec", "requests/thing.yaml", "-o", "raw", "-i"]),
        head
    );
    assert_eq!(server.count("GET", "/api/thing"), 5);
}

#[test]
fn a_failed_expectation_exits_1_and_still_prints_the_body() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    p.write("requests/missing.yaml", "url: /assets/does-not-exist\n");
    let r = p.run(&["exec", "requests/missing.yaml"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.json()["error"], "not_found");
    assert!(
        r.stderr
            .contains("requests/missing.yaml:1:6: status 404 (expected 2xx)"),
        "{}",
        r.stderr
    );

    p.write(
        "requests/total.yaml",
        "url: /assets\nexpect:\n  status: [200, 201]\n  jsonpath: {\"$.total_items\": 251}\n",
    );
    let r = p.run(&["exec", "requests/total.yaml"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("expected $.total_items to be 251, got 250"),
        "{}",
        r.stderr
    );
    assert_eq!(r.json()["total_items"], 250);
}

/// Each case: file text, extra args, exit code, fragments stderr must contain.
#[test]
fn bad_input_gives_the_place_the_message_and_the_exit_code() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    type Case<'a> = (&'a str, &'a str, &'a [&'a str], i32, &'a [&'a str]);
    let cases: &[Case] = &[
        (
            "broken",
            "method: GET\nurl: [unclosed\n",
            &[],
            2,
            &["--> requests/broken.yaml:2:6"],
        ),
        (
            "unknown_key",
            "method: GET\nurl: /assets\nmetod: POST\n",
            &[],
            2,
            &[
                "error: unknown field `metod`",
                "--> requests/unknown_key.yaml:3:1\n  |\n3 | metod: POST\n  | ^",
            ],
        ),
        (
            "undefined",
            "url: /assets/{{ asset_id }}\n",
            &[],
            2,
            &[
                "error: undefined variable `asset_id`",
                "--> requests/undefined.yaml:1:6",
            ],
        ),
        (
            "undefined_in_body",
            "method: POST\nurl: /assets\nbody:\n  json:\n    name: Pump\n    family_id: \"{{ family }}\"\n",
            &[],
            2,
            &[
                "undefined variable `family`",
                "--> requests/undefined_in_body.yaml:6:17",
            ],
        ),
        (
            "jsonpath",
            "url: /assets\nextract:\n  x: $.items[\n",
            &[],
            2,
            &[
                "error: invalid JSONPath `$.items[`",
                "--> requests/jsonpath.yaml:3:6",
            ],
        ),
        (
            "wrong_type",
            "url: /assets\ntimeout: abc\n",
            &[],
            2,
            &["--> requests/wrong_type.yaml:2:10"],
        ),
        (
            "duplicate",
            "url: /x\nquery: {a: 1, a: 2}\n",
            &[],
            2,
            &[
                "error: duplicate mapping key: a\n",
                "--> requests/duplicate.yaml:2:15",
            ],
        ),
        (
            "two_bodies",
            "url: /assets\nbody:\n  json: {a: 1}\n  text: hi\n",
            &[],
            2,
            &[
                "body takes one of json, form, text, file, multipart, graphql; found json and text",
                "two_bodies.yaml:3:3",
            ],
        ),
        (
            "bad_method",
            "method: \"GE T\"\nurl: /x\n",
            &[],
            2,
            &["invalid HTTP method `GE T`", "bad_method.yaml:1:9"],
        ),
        (
            "env_missing",
            "url: \"/x/{{ env('RUNNER_TEST_NOT_SET_ANYWHERE') }}\"\n",
            &[],
            2,
            &[
                "RUNNER_TEST_NOT_SET_ANYWHERE",
                "error: environment variable `RUNNER_TEST_NOT_SET_ANYWHERE` is not set (and env() has no default)\n  --> requests/env_missing.yaml:1:7",
            ],
        ),
        (
            "unreachable",
            "url: http://127.0.0.1:1/x\nauth: none\n",
            &["--retries", "0"],
            4,
            &["error: cannot connect to http://127.0.0.1:1/x: Connection refused"],
        ),
        (
            "bad_var",
            "url: /assets\n",
            &["--var", "=x"],
            2,
            &["--var `=x`"],
        ),
        (
            "bad_json_var",
            "url: /assets\n",
            &["--var", "n:={oops"],
            2,
            &["--var n:=…: the value is not JSON"],
        ),
    ];
    for (name, text, args, code, fragments) in cases {
        let rel = format!("requests/{name}.yaml");
        p.write(&rel, text);
        let mut argv = vec!["exec", rel.as_str()];
        argv.extend_from_slice(args);
        let r = p.run(&argv);
        assert_eq!(r.code, *code, "{name}: stderr {}", r.stderr);
        assert_eq!(r.stdout, "", "{name}");
        for f in *fragments {
            assert!(r.stderr.contains(f), "{name}: {f:?} not in:\n{}", r.stderr);
        }
        assert_no_panic(&r);
    }
    let r = p.run(&["exec", "requests/nope.yaml"]);
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr,
        "error: cannot read file: No such file or directory (os error 2)\n  --> requests/nope.yaml\n"
    );
}

#[test]
fn check_lists_every_problem_and_sends_nothing() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    p.write(
        "requests/good.yaml",
        "url: /assets\nextract: {ids: \"$.items[*].id\"}\n",
    );
    p.write("requests/a.yaml", "url: /assets\nmetod: GET\n");
    p.write(
        "requests/sub/b.yaml",
        "url: \"{{ oops \"\nextract: {x: \"$[\"}\n",
    );
    let r = p.run(&["check"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--> requests/a.yaml:2:1"), "{}", r.stderr);
    assert!(r.stderr.contains("requests/sub/b.yaml:1:7"), "{}", r.stderr);
    assert!(
        r.stderr.contains("requests/sub/b.yaml:2:14"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.ends_with("error: 3 problems found\n"),
        "{}",
        r.stderr
    );
    assert_eq!(sb.stats()["requests"], json!({}));
    assert_eq!(sb.token_requests("password"), 0);

    let ok = p.run(&["check", "requests/good.yaml"]);
    assert_eq!(
        (ok.code, ok.stderr.as_str()),
        (0, "checked 1 file: no problems\n")
    );
}

#[test]
fn check_warns_about_literal_secrets() {
    let p = Project::new();
    p.write(
        "profiles/prod.yaml",
        "base_url: https://api.example.com\nauth:\n  type: oauth2_password\n  token_url: https://api.example.com/token\n  client_id: c\n  client_secret: literal-secret-value\n  username: u\n",
    );
    let r = p.run(&["check"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("warning: profiles/prod.yaml:6:18: client_secret is a literal"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("literal-secret-value"));
}

#[test]
fn profile_and_root_selection() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    p.write("profiles/other.yaml", "base_url: http://127.0.0.1:1/api\n");
    p.write(
        "requests/one.yaml",
        "url: /assets\nquery: {limit: 1}\nextract: {n: $.items_per_page}\n",
    );

    // From a subfolder, the root is found upwards; the file path is relative to cwd.
    let r: crate::support::Run = p
        .cmd(&["exec", "one.yaml"])
        .current_dir(p.path("requests"))
        .output()
        .unwrap()
        .into();
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "{\"n\":1}\n"),
        "{}",
        r.stderr
    );

    // RUNNER_PROFILE picks the profile; -p wins over it.
    let r = p.run_env(
        &["exec", "requests/one.yaml", "--retries", "0"],
        &[("RUNNER_PROFILE", "other")],
    );
    assert_eq!(r.code, 4, "{}", r.stderr);
    let r = p.run_env(
        &["exec", "requests/one.yaml", "-p", "default"],
        &[("RUNNER_PROFILE", "other")],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);

    let r = p.run(&["exec", "requests/one.yaml", "-p", "nope"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("no profile `nope` in profiles (known: default, other)"),
        "{}",
        r.stderr
    );

    // --root from elsewhere.
    let elsewhere = tempfile::tempdir().unwrap();
    let file = p.path("requests/one.yaml");
    let r: crate::support::Run = p
        .cmd(&[
            "exec",
            file.to_str().unwrap(),
            "--root",
            p.dir.path().to_str().unwrap(),
        ])
        .current_dir(elsewhere.path())
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r: crate::support::Run = p
        .cmd(&["exec", file.to_str().unwrap()])
        .current_dir(elsewhere.path())
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no project found"), "{}", r.stderr);
}

#[test]
fn bearer_profiles_send_the_configured_header() {
    let sb = SandboxProc::start(&[]);
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        &format!("base_url: {}\nauth:\n  type: bearer\n  token: \"{{{{ env('API_TOKEN') }}}}\"\n  header: X-Api-Token\n  scheme: \"\"\n", sb.url),
    );
    p.write(
        "requests/echo.yaml",
        "url: /_sandbox/echo\nextract: {h: \"$.headers['x-api-token']\"}\n",
    );
    let r = p.run_env(
        &["exec", "requests/echo.yaml", "-vv"],
        &[("API_TOKEN", "tok-abc-123456")],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "{\"h\":\"tok-abc-123456\"}\n");
    assert!(r.stderr.contains("> X-Api-Token: ***"), "{}", r.stderr);
    assert!(!r.stderr.contains("tok-abc-123456"), "{}", r.stderr);
}

#[test]
fn the_sandbox_command_prints_its_url_alone_on_the_first_line() {
    let sb = SandboxProc::start(&["--assets", "12"]);
    // `start` read the first line whole: nothing but the URL may be on it.
    let port = sb.url.strip_prefix("http://127.0.0.1:").unwrap();
    assert!(
        !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()),
        "first line: {:?}",
        sb.url
    );
    let (status, body) =
        crate::support::http_json("GET", &format!("{}/_sandbox/stats", sb.url), None);
    assert_eq!(status, 200);
    assert_eq!(body["assets_created"], 0);
    let (status, _) = crate::support::http_json("GET", &format!("{}/api/v1/assets", sb.url), None);
    assert_eq!(status, 401);
    // The options reached the server: 12 assets, not the default 250.
    let p = Project::with_sandbox(&sb.url);
    p.write(
        "requests/count.yaml",
        "url: /assets\nextract: {total: $.total_items}\n",
    );
    let r = p.run(&["exec", "requests/count.yaml"]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "{\"total\":12}\n"),
        "{}",
        r.stderr
    );
}
