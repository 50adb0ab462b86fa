//! Issue 26, continued: flow files as MCP tools, calls served at once (one session,
//! one refresh across a token expiry), the per-call timeout, and a file that fails to
//! render, all driven by the official MCP Python SDK (tests/mcp/client.py).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;

use serde_json::{Value, json};

use crate::mcp::{drive, python};
use crate::support::{Project, SandboxProc, http_text, sandbox_profile};

fn result(step: &Value) -> (bool, Value) {
    let text = step["text"].as_str().expect("a text result");
    let value = serde_json::from_str(text).unwrap_or(Value::String(text.to_string()));
    (step["is_error"].as_bool().unwrap(), value)
}

fn names(tools: &Value) -> Vec<&str> {
    tools["tools"]
        .as_array()
        .expect("a tool list")
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect()
}

/// Request files, and flows over them: one that only reads, one that writes.
fn project(sb: &SandboxProc) -> Project {
    let p = Project::new();
    p.write("profiles/default.yaml", &sandbox_profile(&sb.url, ""));
    p.write(
        "requests/assets/list_assets.yaml",
        "description: Assets, one page\nurl: /assets\nquery:\n  limit: \"{{ page_size }}\"\n  status: \"{{ status | default(none) }}\"\nextract:\n  names: $.items[*].name\n",
    );
    p.write(
        "requests/assets/get_asset.yaml",
        "description: One asset by id\nurl: \"/assets/{{ asset_id }}\"\n",
    );
    p.write(
        "requests/create_asset.yaml",
        "method: POST\nurl: /assets\nbody:\n  json: {name: \"{{ name }}\", family_id: \"{{ family_id | int }}\"}\nextract:\n  id: $.id\nexpect:\n  status: 201\n",
    );
    p.write(
        "requests/flows/first_asset.yaml",
        "description: The first asset of a page, read whole\nsteps:\n  - run: ../assets/list_assets.yaml\n    extract:\n      first: $.items[0].id\n  - run: ../assets/get_asset.yaml\n    vars: {asset_id: \"{{ first }}\"}\n",
    );
    p.write(
        "requests/flows/create_then_read.yaml",
        "description: Create an asset, then read it back\nsteps:\n  - run: ../create_asset.yaml\n  - run: ../assets/get_asset.yaml\n    vars: {asset_id: \"{{ id }}\"}\n",
    );
    p
}

/// A read-only flow is a tool whose arguments are what its steps read and nothing
/// earlier sets; a call gives every step. A writing flow needs --allow-writes, and
/// then runs its POST and its GET in order with what the first extracted.
#[test]
fn mcp_flows_are_tools_that_answer_with_every_step() {
    let Some(py) = python() else { return };
    let sb = SandboxProc::start(&[]);
    let p = project(&sb);
    let s = drive(
        &py,
        &p,
        json!([{"list": true}, {"call": "flows_first_asset", "arguments": {}}]),
        &[],
        &[],
    );
    assert_eq!(
        names(&s.steps[0]),
        [
            "assets_get_asset",
            "assets_list_assets",
            "flows_first_asset"
        ]
    );
    let flow = &s.steps[0]["tools"][2];
    assert_eq!(flow["description"], "The first asset of a page, read whole");
    assert_eq!(flow["annotations"]["readOnlyHint"], true);
    // `page_size` is the profile's, `first` and `asset_id` come from step 1.
    assert_eq!(
        flow["inputSchema"],
        json!({
            "type": "object",
            "properties": {"status": {"type": "string", "description": "the template variable `status` of requests/flows/first_asset.yaml"}},
            "required": [],
            "additionalProperties": false,
        })
    );
    let (is_error, got) = result(&s.steps[1]);
    assert!(!is_error, "{got}");
    let page = p.run(&["exec", "requests/assets/list_assets.yaml", "-o", "json"]);
    assert_eq!(page.code, 0, "{}", page.stderr);
    let first = page.json()["body"]["items"][0].clone();
    let names = page.json()["extract"]["names"].clone();
    assert_eq!(
        got,
        json!({
            "steps": [
                {"step": 1, "file": "requests/flows/../assets/list_assets.yaml", "status": 200,
                 "extracted": {"names": names, "first": first["id"]}, "failures": []},
                {"step": 2, "file": "requests/flows/../assets/get_asset.yaml", "status": 200,
                 "body": first, "failures": []},
            ],
            "failures": [],
        })
    );
    assert!(
        s.stderr.contains(
            "  flows_first_asset  flow: GET, GET requests/flows/first_asset.yaml\n"
        ) && s.stderr.contains(
            "  requests/flows/create_then_read.yaml: a flow that writes (POST): --allow-writes (or mcp: {expose: true} in the file) serves it\n"
        ),
        "{}",
        s.stderr
    );

    let steps = json!([
        {"list": true},
        {"call": "flows_create_then_read", "arguments": {"name": "Pump 26", "family_id": 3}},
    ]);
    let w = drive(&py, &p, steps, &["--allow-writes"], &[]);
    let tool = w.steps[0]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "flows_create_then_read")
        .expect("the writing flow is served with --allow-writes");
    assert_eq!(tool["annotations"]["readOnlyHint"], false);
    assert_eq!(
        tool["inputSchema"]["required"],
        json!(["family_id", "name"])
    );
    assert_eq!(
        tool["inputSchema"]["properties"]["family_id"]["type"],
        "integer"
    );
    let (is_error, got) = result(&w.steps[1]);
    assert!(!is_error, "{got}");
    let id = &got["steps"][0]["extracted"]["id"];
    assert!(id.is_string(), "{got}");
    assert_eq!(got["steps"][0]["status"], 201);
    assert_eq!(got["steps"][1]["status"], 200);
    assert_eq!(got["steps"][1]["body"]["id"], *id);
    assert_eq!(got["steps"][1]["body"]["name"], "Pump 26");
    assert_eq!(got["steps"][1]["body"]["family_id"], 3);
}

/// A step that fails its `expect` stops the flow: the answer is an error that gives
/// the steps that ran and the failure; a step whose URL an argument takes outside the
/// profile's origins is refused, after the steps before it ran.
#[test]
fn mcp_a_flow_stops_at_a_failed_or_refused_step() {
    let Some(py) = python() else { return };
    let sb = SandboxProc::start(&[]);
    let p = project(&sb);
    p.write(
        "requests/flows/strict.yaml",
        "steps:\n  - run: ../assets/list_assets.yaml\n    expect: {status: 201}\n  - run: ../assets/get_asset.yaml\n",
    );
    p.write("requests/anywhere.yaml", "url: \"{{ target }}\"\n");
    p.write(
        "requests/flows/then_anywhere.yaml",
        "steps:\n  - run: ../assets/get_asset.yaml\n  - run: ../anywhere.yaml\n",
    );
    let asset = "00000000-0000-4000-8000-000000000001";
    let steps = json!([
        {"list": true},
        {"call": "flows_strict", "arguments": {"asset_id": "x"}},
        {"call": "flows_then_anywhere", "arguments": {"asset_id": asset, "target": "http://127.0.0.1:9/steal"}},
    ]);
    let s = drive(&py, &p, steps, &[], &[]);
    let strict = s.steps[0]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "flows_strict")
        .unwrap();
    assert_eq!(strict["description"], "a flow of 2 steps");
    let (is_error, got) = result(&s.steps[1]);
    assert!(is_error, "{got}");
    let failure = "requests/flows/strict.yaml:3:22: status 200 (expected 201)";
    assert_eq!(
        got,
        json!({
            "steps": [{"step": 1, "file": "requests/flows/../assets/list_assets.yaml", "status": 200,
                       "extracted": got["steps"][0]["extracted"], "failures": [failure]}],
            "failures": [format!("flow requests/flows/strict.yaml stopped at step 1 (requests/flows/../assets/list_assets.yaml): {failure}")],
        })
    );
    let (is_error, got) = result(&s.steps[2]);
    assert!(is_error, "{got}");
    assert_eq!(got["steps"].as_array().unwrap().len(), 1, "{got}");
    assert_eq!(got["steps"][0]["status"], 200);
    assert_eq!(
        got["error"],
        "flows_then_anywhere: refused: http://127.0.0.1:9 is outside the profile's origins"
    );
}

/// A flow served as one that only reads never writes: a step file edited to DELETE
/// while runner mcp runs is refused when the flow reaches it, and nothing is deleted.
#[test]
fn mcp_a_read_only_flow_edited_to_write_is_refused() {
    let Some(py) = python() else { return };
    let sb = SandboxProc::start(&[]);
    let p = project(&sb);
    let get = std::fs::read_to_string(p.path("requests/assets/get_asset.yaml")).unwrap();
    let steps = json!([
        {"write": "requests/assets/get_asset.yaml", "text": "method: DELETE\nurl: \"/assets/{{ asset_id }}\"\n"},
        {"call": "flows_first_asset", "arguments": {}},
    ]);
    let s = drive(&py, &p, steps, &[], &[]);
    let (is_error, got) = result(&s.steps[1]);
    assert!(is_error, "{got}");
    assert_eq!(got["steps"].as_array().unwrap().len(), 1, "{got}");
    assert_eq!(
        got["error"],
        "flows_first_asset: refused: a step sends DELETE, and the flow was served as one that only reads (restart runner mcp to serve it as it is now)"
    );
    p.write("requests/assets/get_asset.yaml", &get);
    let first = got["steps"][0]["extracted"]["first"].as_str().unwrap();
    let still = p.run(&[
        "exec",
        "requests/assets/get_asset.yaml",
        "--var",
        &format!("asset_id={first}"),
    ]);
    // The asset is still there: the DELETE was never sent.
    assert_eq!(still.code, 0, "{}", still.stderr);
}

/// What one round of the barrier saw: each request's `Authorization`, and whether
/// the sandbox took it.
type Round = Vec<(String, bool)>;

/// A server that answers nothing until `n` requests wait, then all of them: calls
/// that were served one at a time would never fill it. It checks the token each
/// request carried with the sandbox at `sandbox`, answers 401 to one the sandbox
/// refuses (runner then refreshes and sends again: a next round) and 200 to one it
/// takes, until a round is all 200 (at most 3 rounds). It gives back, round by round,
/// each request's `Authorization` and whether the sandbox took it.
fn barrier(n: usize, sandbox: String) -> (String, JoinHandle<Vec<Round>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut rounds = Vec::new();
        for _ in 0..3 {
            let waiting: Vec<(TcpStream, String)> = (0..n).map(|_| accept(&listener)).collect();
            let mut round = Vec::new();
            for (mut stream, auth) in waiting {
                let (status, _) = http_text(
                    "GET",
                    &format!("{sandbox}/api/v1/users"),
                    None,
                    &[("Authorization", &auth)],
                );
                let ok = status == 200;
                let (line, body) = if ok {
                    ("200 OK", format!("{{\"waited\": {n}}}"))
                } else {
                    (
                        "401 Unauthorized",
                        "{\"error\": \"invalid_token\"}".to_string(),
                    )
                };
                let head = format!(
                    "HTTP/1.1 {line}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                stream.write_all(head.as_bytes()).unwrap();
                stream.write_all(body.as_bytes()).unwrap();
                round.push((auth, ok));
            }
            let done = round.iter().all(|(_, ok)| *ok);
            rounds.push(round);
            if done {
                break;
            }
        }
        rounds
    });
    (url, handle)
}

/// The next request on `listener`, read to the end of its head, and its
/// `Authorization`.
fn accept(listener: &TcpListener) -> (TcpStream, String) {
    let (stream, _) = listener.accept().unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut auth = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line.trim_end().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("authorization")
        {
            auth = v.trim().to_string();
        }
    }
    (stream, auth)
}

/// Four calls sent at once after the access token expired (the sandbox's clock moved
/// past its lifetime) are all in flight together (the barrier answers only when four
/// wait), all get 401 with the old token, and share one refresh: one `refresh_token`
/// grant, the same new token on all four retries, and the rotated refresh token kept
/// (a second expiry refreshes again from it, with no new password grant).
#[test]
fn mcp_calls_run_at_once_and_share_one_refresh() {
    let Some(py) = python() else { return };
    let sb = SandboxProc::start(&["--manual-clock", "--access-ttl", "60"]);
    let (wait_url, waited) = barrier(4, sb.url.clone());
    let p = project(&sb);
    p.write(
        "profiles/default.yaml",
        &sandbox_profile(&sb.url, &format!("  origins: [\"{wait_url}\"]\n")),
    );
    p.write("requests/wait.yaml", &format!("url: {wait_url}/wait\n"));
    let list = json!({"call": "assets_list_assets", "arguments": {}});
    let advance = json!({"post": format!("{}/_sandbox/clock?advance=120", sb.url)});
    let wait = json!({"call": "wait", "arguments": {}});
    let steps = json!([
        list,
        advance,
        {"together": [wait, wait, wait, wait]},
        list,
        advance,
        list,
    ]);
    let s = drive(&py, &p, steps, &["--call-timeout", "12"], &[]);
    for one in s.steps[2]["together"].as_array().unwrap() {
        let (is_error, got) = result(one);
        assert!(!is_error, "{got}");
        assert_eq!(
            got,
            json!({"status": 200, "body": {"waited": 4}, "failures": []})
        );
    }
    let rounds = waited.join().unwrap();
    assert_eq!(rounds.len(), 2, "{rounds:?}");
    let (old, new) = (&rounds[0][0].0, &rounds[1][0].0);
    assert!(old.starts_with("Bearer ") && new.starts_with("Bearer ") && old != new);
    assert!(
        rounds[0].iter().all(|(a, ok)| a == old && !ok),
        "{rounds:?}"
    );
    assert!(
        rounds[1].iter().all(|(a, ok)| a == new && *ok),
        "{rounds:?}"
    );
    for (i, step) in [(3, &s.steps[3]), (5, &s.steps[5])] {
        assert!(!result(step).0, "{i}: {step}");
    }
    assert_eq!(sb.token_requests("password"), 1);
    assert_eq!(sb.token_requests("refresh_token"), 2);
    let cache = p.assert_cache_intact();
    assert!(cache["refresh_token"].is_string());
}

/// A GraphQL body's variables are arguments; a call that takes longer than
/// --call-timeout is an error naming the bound, and a
/// file that fails to render (a template error) is an error naming its place, with
/// the line of the reviewed file as the terminal shows it.
#[test]
fn mcp_a_call_is_bounded_and_a_render_error_is_a_tool_error() {
    let Some(py) = python() else { return };
    let sb = SandboxProc::start(&[]);
    let p = project(&sb);
    // It accepts connections (the kernel does) and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    p.write(
        "profiles/default.yaml",
        &sandbox_profile(&sb.url, &format!("  origins: [\"{silent_url}\"]\n")),
    );
    p.write("requests/silent.yaml", &format!("url: {silent_url}/x\n"));
    p.write(
        "requests/broken.yaml",
        "url: /assets\nquery:\n  q: \"{{ text | nosuchfilter }}\"\n",
    );
    p.write(
        "requests/gql.yaml",
        "url: /paged/graphql\nbody:\n  graphql:\n    query: \"query A($first: Int) { assets(first: $first) { nodes { id } } }\"\n    variables: {first: \"{{ count | int }}\"}\nmcp: {expose: true}\n",
    );
    let steps = json!([
        {"list": true},
        {"call": "silent", "arguments": {}},
        {"call": "broken", "arguments": {"text": "x"}},
    ]);
    let s = drive(&py, &p, steps, &["--call-timeout", "1"], &[]);
    // A GraphQL body's variables are templates: they are arguments too.
    let gql = s.steps[0]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "gql")
        .expect("the GraphQL tool");
    assert_eq!(
        gql["inputSchema"]["properties"]["count"]["type"], "integer",
        "{gql}"
    );
    assert_eq!(
        s.steps[1],
        json!({"is_error": true, "text": "silent: no answer within 1 s"})
    );
    assert_eq!(
        s.steps[2],
        json!({"is_error": true, "text": "error: template error: unknown filter: filter nosuchfilter is unknown\n  --> requests/broken.yaml:3:7\n  |\n3 |   q: \"{{ text | nosuchfilter }}\"\n  |       ^"})
    );
}
