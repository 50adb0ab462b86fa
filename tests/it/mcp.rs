//! Issue 26: `runner mcp`, driven by real MCP clients: the official Python SDK (`mcp`
//! from PyPI, tests/mcp/client.py) and the TypeScript SDK (`@modelcontextprotocol/sdk`
//! from npm, tests/mcp/client.mjs), against the real sandbox.
//!
//! The clients come from `.ci/run` (`RUNNER_MCP_PYTHON`, `RUNNER_MCP_NODE_PATH`);
//! without them a test is skipped, unless `RUNNER_REQUIRE_MCP=1` (CI) makes it fail.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Project, SandboxProc, bin, finish, repo_root, sandbox_profile};

/// What a client run gave: one JSON value per step (after the handshake), and the
/// server's stderr.
pub struct Session {
    pub steps: Vec<Value>,
    pub stderr: String,
    pub stdout: String,
}

fn required() -> bool {
    std::env::var("RUNNER_REQUIRE_MCP").is_ok_and(|v| v == "1")
}

/// The Python that has the `mcp` package, or `None` (the test is skipped).
pub fn python() -> Option<PathBuf> {
    let candidate = std::env::var_os("RUNNER_MCP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("python3"));
    let ok = Command::new(&candidate)
        .args(["-c", "import mcp"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(candidate);
    }
    assert!(
        !required(),
        "RUNNER_REQUIRE_MCP=1 but {} cannot import mcp (.ci/run installs it)",
        candidate.display()
    );
    eprintln!("skipped: no Python with the mcp package (set RUNNER_MCP_PYTHON)");
    None
}

/// Runs the Python client with `steps` against `runner mcp ARGS` in `p`.
pub fn drive(
    py: &PathBuf,
    p: &Project,
    steps: Value,
    args: &[&str],
    env: &[(&str, &str)],
) -> Session {
    let mut c = Command::new(py);
    c.arg(repo_root().join("tests/mcp/client.py"))
        .arg(steps.to_string())
        .arg("--")
        .arg(bin())
        .arg("mcp")
        .args(args);
    configure(&mut c, p, env);
    let run = finish(
        c.spawn().expect("spawn the MCP client"),
        Duration::from_secs(60),
        "the MCP Python client",
    );
    assert_eq!(run.code, 0, "client failed:\n{}", run.stderr);
    let mut lines = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")));
    assert_eq!(lines.next(), Some(json!({"initialized": "runner"})));
    Session {
        steps: lines.collect(),
        stderr: run.stderr,
        stdout: run.stdout,
    }
}

fn configure(c: &mut Command, p: &Project, env: &[(&str, &str)]) {
    c.current_dir(p.dir.path())
        .env("RUNNER_STATE_DIR", p.state.path())
        .env_remove("RUNNER_PROFILE")
        .env_remove("RUNNER_ROOT")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
}

/// A sandbox project with GET tools in a folder, a POST, a hidden GET, a POST that
/// says it may be served, and an echo of the query.
fn project(sb: &SandboxProc) -> Project {
    let p = Project::new();
    p.write("profiles/default.yaml", &sandbox_profile(&sb.url, ""));
    p.write(
        "requests/assets/list_assets.yaml",
        "description: Assets, one page; optional status filter\nurl: /assets\nquery:\n  limit: \"{{ page_size }}\"\n  status: \"{{ status | default(none) }}\"\nextract:\n  names: $.items[*].name\n",
    );
    p.write(
        "requests/assets/get_asset.yaml",
        "description: One asset by id\nurl: \"/assets/{{ asset_id }}\"\nextract:\n  name: $.name\n",
    );
    p.write(
        "requests/create_asset.yaml",
        "description: Create an asset\nmethod: POST\nurl: /assets\nbody:\n  json: {name: \"{{ name }}\", family_id: \"{{ family_id | int }}\"}\nextract:\n  id: $.id\nexpect:\n  status: 201\n",
    );
    p.write(
        "requests/hidden.yaml",
        "description: Never a tool\nurl: /users\nmcp: {expose: false}\n",
    );
    p.write(
        "requests/search.yaml",
        "description: A POST that only reads\nmethod: POST\nurl: /assets/search\nbody:\n  json: {query: \"{{ text }}\"}\nmcp: {expose: true}\n",
    );
    p.write(
        "requests/echo.yaml",
        &format!(
            "description: The query as the server got it\nurl: {}/_sandbox/echo\nquery:\n  q: \"{{{{ q }}}}\"\n",
            sb.url
        ),
    );
    p
}

fn names(tools: &Value) -> Vec<&str> {
    tools["tools"]
        .as_array()
        .expect("a tool list")
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect()
}

fn result(step: &Value) -> (bool, Value) {
    let text = step["text"].as_str().expect("a text result");
    let value = serde_json::from_str(text).unwrap_or(Value::String(text.to_string()));
    (step["is_error"].as_bool().unwrap(), value)
}

/// tools/list: names from the paths, descriptions, schemas of the variables the
/// profile does not set; a GET called, its extract equal to what `runner exec` gives;
/// the summary on stderr pinned.
#[test]
fn mcp_lists_tools_with_their_schemas_and_calls_a_get() {
    let Some(py) = python() else { return };
    let sb = SandboxProc::start(&[]);
    let p = project(&sb);
    let steps = json!([
        {"list": true},
        {"call": "assets_list_assets", "arguments": {"status": "archived"}},
    ]);
    let s = drive(&py, &p, steps, &[], &[]);
    let tools = &s.steps[0];
    assert_eq!(
        names(tools),
        ["assets_get_asset", "assets_list_assets", "echo", "search"]
    );
    let get = &tools["tools"][0];
    assert_eq!(get["description"], "One asset by id");
    assert_eq!(
        get["inputSchema"],
        json!({
            "type": "object",
            "properties": {"asset_id": {"type": "string", "description": "the template variable `asset_id` of requests/assets/get_asset.yaml"}},
            "required": ["asset_id"],
            "additionalProperties": false,
        })
    );
    assert_eq!(get["annotations"]["readOnlyHint"], true);
    // `page_size` is the profile's; `status` has a default, so it is optional.
    let list = &tools["tools"][1]["inputSchema"];
    assert_eq!(list["required"], json!([]));
    assert_eq!(
        list["properties"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["status"]
    );
    let (is_error, got) = result(&s.steps[1]);
    assert!(!is_error, "{got}");
    let exec = p.run(&[
        "exec",
        "requests/assets/list_assets.yaml",
        "--var",
        "status=archived",
    ]);
    assert_eq!(exec.code, 0, "{}", exec.stderr);
    let names = exec.json()["names"].clone();
    assert!(!names.as_array().unwrap().is_empty(), "no archived asset");
    assert_eq!(
        got,
        json!({"status": 200, "extracted": {"names": names}, "failures": []})
    );
    assert_eq!(
        s.stderr,
        "runner mcp: profile `default`, 4 tools from requests\n\
         \x20 assets_get_asset  GET requests/assets/get_asset.yaml\n\
         \x20 assets_list_assets  GET requests/assets/list_assets.yaml\n\
         \x20 echo  GET requests/echo.yaml\n\
         \x20 search  POST requests/search.yaml\n\
         not served:\n\
         \x20 requests/create_asset.yaml: POST writes: --allow-writes (or mcp: {expose: true} in the file) serves it\n\
         \x20 requests/hidden.yaml: mcp: {expose: false}\n"
    );
}

/// A write tool is absent without --allow-writes and present with it (a hidden file
/// stays hidden), and calling it writes; a typed variable is typed in the schema.
#[test]
fn mcp_write_tools_need_allow_writes() {
    let Some(py) = python() else { return };
    let sb = SandboxProc::start(&[]);
    let p = project(&sb);
    let without = drive(&py, &p, json!([{"list": true}]), &[], &[]);
    assert!(!names(&without.steps[0]).contains(&"create_asset"));
    let steps = json!([
        {"list": true},
        {"call": "create_asset", "arguments": {"name": "Pump 12", "family_id": 7}},
    ]);
    let with = drive(&py, &p, steps, &["--allow-writes"], &[]);
    assert_eq!(
        names(&with.steps[0]),
        [
            "assets_get_asset",
            "assets_list_assets",
            "create_asset",
            "echo",
            "search"
        ]
    );
    let create = &with.steps[0]["tools"][2];
    assert_eq!(create["annotations"]["readOnlyHint"], false);
    assert_eq!(
        create["inputSchema"]["properties"]["family_id"]["type"],
        "integer"
    );
    assert_eq!(
        create["inputSchema"]["required"],
        json!(["family_id", "name"])
    );
    let (is_error, got) = result(&with.steps[1]);
    assert!(!is_error, "{got}");
    assert_eq!(got["status"], 201);
    let id = got["extracted"]["id"].as_str().expect("an id").to_string();
    let exec = p.run(&[
        "exec",
        "requests/assets/get_asset.yaml",
        "--var",
        &format!("asset_id={id}"),
    ]);
    assert_eq!(exec.code, 0, "{}", exec.stderr);
    assert_eq!(exec.json(), json!({"name": "Pump 12"}));
}

/// `{{ env('HOME') }}` as an argument is sent as those characters: the echo route
/// shows the query the server got.
#[test]
fn mcp_arguments_are_values_never_templates() {
    let Some(py) = python() else { return };
    let sb = SandboxProc::start(&[]);
    let p = project(&sb);
    let attempt = "{{ env('HOME') }}{% raw %}";
    let steps = json!([{"call": "echo", "arguments": {"q": attempt}}]);
    let s = drive(&py, &p, steps, &[], &[("HOME", "/home/c4nary-home")]);
    let (is_error, got) = result(&s.steps[0]);
    assert!(!is_error, "{got}");
    assert_eq!(got["body"]["query"], json!({"q": attempt}));
    assert!(!s.stdout.contains("c4nary-home"), "{}", s.stdout);
}

/// A call after the access token expired (the sandbox's clock moved past its
/// lifetime) refreshes it once under the lock and succeeds.
#[test]
fn mcp_calls_across_a_token_expiry() {
    let Some(py) = python() else { return };
    let sb = SandboxProc::start(&["--manual-clock", "--access-ttl", "60"]);
    let p = project(&sb);
    let call = json!({"call": "assets_list_assets", "arguments": {}});
    let steps = json!([
        call,
        {"post": format!("{}/_sandbox/clock?advance=120", sb.url)},
        call,
    ]);
    let s = drive(&py, &p, steps, &[], &[]);
    let (first_error, first) = result(&s.steps[0]);
    assert!(!first_error, "{first}");
    assert_eq!(s.steps[1], json!({"posted": 200}));
    let (second_error, second) = result(&s.steps[2]);
    assert!(!second_error, "{second}");
    assert_eq!(first, second);
    assert_eq!(sb.token_requests("password"), 1);
    assert_eq!(sb.token_requests("refresh_token"), 1);
    // The refreshed pair is in the shared cache, for `runner exec` and `runner serve`.
    assert!(p.assert_cache_intact()["refresh_token"].is_string());
}

/// A profile whose login is interactive, not logged in: the call is a tool error
/// that tells the user what to run, and no login URL or code appears anywhere.
#[test]
fn mcp_a_call_that_needs_a_login_says_run_runner_login() {
    let Some(py) = python() else { return };
    let sb = SandboxProc::start(&[]);
    let p = project(&sb);
    p.write(
        "profiles/browser.yaml",
        &format!(
            "base_url: {url}/api/v1\nauth:\n  type: oauth2_authorization_code\n  issuer: {url}\n  client_id: sandbox-public\n",
            url = sb.url
        ),
    );
    let steps = json!([{"call": "echo", "arguments": {"q": "x"}}]);
    let s = drive(&py, &p, steps, &["-p", "browser"], &[]);
    assert_eq!(
        s.steps[0],
        json!({"is_error": true, "text": "error: not logged in for profile `browser`: run `runner login -p browser`"})
    );
    for text in [&s.stdout, &s.stderr] {
        assert!(!text.contains("authorize"), "{text}");
        assert!(!text.contains("user_code"), "{text}");
    }
}

/// A URL built from an argument that leaves the profile's origins is refused before
/// anything is sent; a file whose literal URL is elsewhere is not a tool.
#[test]
fn mcp_urls_stay_within_the_profile_origins() {
    let Some(py) = python() else { return };
    let sb = SandboxProc::start(&[]);
    let p = project(&sb);
    p.write("requests/anywhere.yaml", "url: \"{{ target }}\"\n");
    p.write("requests/elsewhere.yaml", "url: http://127.0.0.2:9/x\n");
    let steps = json!([
        {"call": "anywhere", "arguments": {"target": "http://127.0.0.1:9/steal"}},
        {"call": "anywhere", "arguments": {"target": format!("{}/_sandbox/echo", sb.url)}},
    ]);
    let s = drive(&py, &p, steps, &[], &[]);
    assert_eq!(
        s.steps[0],
        json!({"is_error": true, "text": "anywhere: refused: http://127.0.0.1:9 is outside the profile's origins"})
    );
    let (is_error, got) = result(&s.steps[1]);
    assert!(!is_error, "{got}");
    assert_eq!(got["status"], 200);
    assert!(
        s.stderr
            .contains("  requests/elsewhere.yaml: its URL http://127.0.0.2:9 is outside the profile's origins\n"),
        "{}",
        s.stderr
    );
}

/// The TypeScript SDK lists the tools and calls one.
#[test]
fn mcp_typescript_sdk_lists_and_calls() {
    let node_path = match std::env::var("RUNNER_MCP_NODE_PATH") {
        Ok(p) if PathBuf::from(&p).join("@modelcontextprotocol/sdk").is_dir() => p,
        _ => {
            assert!(
                !required(),
                "RUNNER_REQUIRE_MCP=1 but RUNNER_MCP_NODE_PATH has no @modelcontextprotocol/sdk"
            );
            eprintln!("skipped: no @modelcontextprotocol/sdk (set RUNNER_MCP_NODE_PATH)");
            return;
        }
    };
    let sb = SandboxProc::start(&[]);
    let p = project(&sb);
    let mut c = Command::new("node");
    c.arg(repo_root().join("tests/mcp/client.mjs"))
        .args(["echo", r#"{"q":"from node"}"#, "--"])
        .arg(bin())
        .arg("mcp");
    configure(&mut c, &p, &[("NODE_PATH", &node_path)]);
    let run = finish(c.spawn().unwrap(), Duration::from_secs(60), "node client");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let got: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(
        got["tools"],
        json!(["assets_get_asset", "assets_list_assets", "echo", "search"])
    );
    assert_eq!(got["call"]["is_error"], false);
    let body: Value = serde_json::from_str(got["call"]["text"].as_str().unwrap()).unwrap();
    assert_eq!(body["body"]["query"], json!({"q": "from node"}));
}
