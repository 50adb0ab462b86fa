//! Issue 11, point 5: headers that cannot be sent are exit 2 naming the header and its
//! place, never dropped; `--curl` sends byte for byte what `runner exec` sends.

use std::process::Command;

use serde_json::{Value, json};

use crate::support::{Project, Run, SandboxProc};

/// Quotes, `$`, backticks, backslashes, non-ASCII, spaces (two in a row), and what
/// curl would take for a URL glob or a file.
const TRICKY: &str = "it's \"quoted\" $HOME ${X} `id` $(id) \\back\\slash é ü 日本  two  @file <in [0-9] {a,b} ~*+&=%20;";

/// The echo of `runner exec FILE` and of its `--curl --show-secrets` run through
/// `sh -c`, from the project folder.
fn both_echoes(p: &Project, file: &str) -> (Value, Value) {
    let direct = p.run(&["exec", file, "--retries", "0"]);
    assert_eq!(direct.code, 0, "{file}: {}", direct.stderr);
    let script = p.run(&["exec", file, "--curl", "--show-secrets"]);
    assert_eq!(script.code, 0, "{file}: {}", script.stderr);
    let via_curl: Run = Command::new("sh")
        .arg("-c")
        .arg(&script.stdout)
        .current_dir(p.dir.path())
        .output()
        .expect("run sh")
        .into();
    assert_eq!(
        via_curl.code, 0,
        "{file}: curl failed\n{}\n{}",
        script.stdout, via_curl.stderr
    );
    let parse = |text: &str, what: &str| -> Value {
        serde_json::from_str(text).unwrap_or_else(|e| {
            panic!(
                "{file}: {what} is not JSON ({e}): {text}\n{}",
                script.stdout
            )
        })
    };
    (
        parse(&direct.stdout, "runner's echo"),
        parse(&via_curl.stdout, "curl's echo"),
    )
}

/// Every header but the User-Agent, which names the client.
fn headers(echo: &Value) -> Value {
    let mut h = echo["headers"].clone();
    h.as_object_mut().unwrap().remove("user-agent");
    h
}

fn assert_same_request(p: &Project, file: &str) -> Value {
    let (direct, via_curl) = both_echoes(p, file);
    for key in ["method", "target", "body_base64"] {
        assert_eq!(direct[key], via_curl[key], "{file}: {key} differs");
    }
    assert_eq!(
        headers(&direct),
        headers(&via_curl),
        "{file}: headers differ"
    );
    direct
}

fn decoded_body(echo: &Value) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(echo["body_base64"].as_str().unwrap())
        .unwrap()
}

#[test]
fn curl_output_sends_byte_for_byte_what_exec_sends() {
    let sb = SandboxProc::start(&[]);
    let p = Project::new();
    p.write("profiles/default.yaml", &format!("base_url: {}\n", sb.url));
    // JSON is YAML: the files are written by serde_json, escapes and all.
    let write = |name: &str, request: Value| {
        p.write(
            &format!("requests/{name}.yaml"),
            &serde_json::to_string_pretty(&request).unwrap(),
        );
        format!("requests/{name}.yaml")
    };
    let tricky_headers = json!({"X-Tricky": TRICKY, "X-Empty": "", "X-Plain": "a b"});
    let query = json!({"q": TRICKY, TRICKY: "key", "list": ["a b", "c'd"]});

    let file = write(
        "json",
        json!({
            "method": "POST",
            "url": format!("/_sandbox/echo/p a'th/$x/`y`/é/{TRICKY}"),
            "query": query,
            "headers": tricky_headers,
            "body": {"json": {"text": TRICKY, TRICKY: [1, 2.5, null, true], "nested": {"k": "v\nw"}}},
        }),
    );
    let echo = assert_same_request(&p, &file);
    // Both sent what the file says (the same loss on both sides would also compare equal).
    assert_eq!(echo["headers"]["x-tricky"], TRICKY);
    assert_eq!(echo["headers"]["x-empty"], "");
    assert_eq!(echo["query"]["q"], TRICKY);
    assert_eq!(echo["query"][TRICKY], "key");
    assert_eq!(echo["body"]["text"], TRICKY);
    assert_eq!(echo["headers"]["content-type"], "application/json");

    let text = format!("line one: {TRICKY}\nline two\n\n'\"\\\n");
    let file = write(
        "text",
        json!({"method": "PUT", "url": "/_sandbox/echo/text", "headers": tricky_headers, "body": {"text": text}}),
    );
    let echo = assert_same_request(&p, &file);
    assert_eq!(decoded_body(&echo), text.as_bytes());
    assert!(echo["headers"].get("content-type").is_none(), "{echo}");

    let file = write(
        "form",
        json!({"method": "PATCH", "url": "/_sandbox/echo/form", "body": {"form": {"a": TRICKY, TRICKY: "b c", "n": 5}}}),
    );
    let echo = assert_same_request(&p, &file);
    assert_eq!(echo["form"]["a"], TRICKY);
    assert_eq!(echo["form"][TRICKY], "b c");
    assert_eq!(
        echo["headers"]["content-type"],
        "application/x-www-form-urlencoded"
    );

    let file = write(
        "get",
        json!({"url": "/_sandbox/echo/get", "query": query, "headers": tricky_headers}),
    );
    let echo = assert_same_request(&p, &file);
    assert_eq!(echo["method"], "GET");
    assert_eq!(echo["body_base64"], "");

    // Every byte value, from a file whose name the shell would otherwise expand.
    let bytes: Vec<u8> = (0..=255u8).chain(*b"\r\n\0end").collect();
    let name = "it's a $file `x` é.bin";
    std::fs::write(p.path(&format!("requests/{name}")), &bytes).unwrap();
    let file = write(
        "file",
        json!({"method": "POST", "url": "/_sandbox/echo/file", "headers": {"X-Tricky": TRICKY}, "body": {"file": name}}),
    );
    let curl = p.run(&["exec", &file, "--curl"]);
    assert!(
        curl.stdout
            .contains("--data-binary '@requests/it'\\''s a $file `x` é.bin'"),
        "the file is sent from disk, not inlined:\n{}",
        curl.stdout
    );
    let echo = assert_same_request(&p, &file);
    assert_eq!(decoded_body(&echo), bytes);

    let file = write(
        "delete",
        json!({"method": "DELETE", "url": "/_sandbox/echo/gone", "headers": {"X-Tricky": TRICKY}}),
    );
    assert_eq!(assert_same_request(&p, &file)["method"], "DELETE");
}

#[test]
fn headers_with_line_breaks_or_bad_names_are_exit_2_at_their_entry() {
    let p = Project::new();
    // Port 1: were anything sent, the run would end in a connection error (exit 4).
    p.write("profiles/default.yaml", "base_url: http://127.0.0.1:1\n");
    p.write(
        "requests/crlf.yaml",
        "url: /x\nheaders:\n  X-A: \"a\\r\\nX-Injected: 1\"\n",
    );
    let expected = "error: the value of header `X-A` holds a carriage return (CR, \\r): header values cannot hold CR, LF, NUL or other control characters\n  --> requests/crlf.yaml:3:8\n  |\n3 |   X-A: \"a\\r\\nX-Injected: 1\"\n  |        ^\n";
    let r = p.run(&["exec", "requests/crlf.yaml"]);
    assert_eq!(
        (r.code, r.stderr.as_str(), r.stdout.as_str()),
        (2, expected, "")
    );
    let r = p.run(&["check", "requests/crlf.yaml"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (2, format!("{expected}error: 1 problem found\n").as_str())
    );

    // A template that renders a line feed is caught once rendered.
    p.write(
        "requests/templated.yaml",
        "url: /x\nheaders: {X-Label: \"{{ label }}\"}\n",
    );
    let r = p.run(&["exec", "requests/templated.yaml", "--var", "label=a\nb"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            2,
            "error: the value of header `X-Label` holds a line feed (LF, \\n): header values cannot hold CR, LF, NUL or other control characters\n  --> requests/templated.yaml:2:20\n  |\n2 | headers: {X-Label: \"{{ label }}\"}\n  |                    ^\n"
        )
    );
    let r = p.run(&[
        "exec",
        "requests/templated.yaml",
        "--var",
        "label:=\"a\\u0000b\"",
        "--curl",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("holds a NUL byte"), "{}", r.stderr);

    p.write("requests/name.yaml", "url: /x\nheaders: {\"X A\": v}\n");
    let r = p.run(&["exec", "requests/name.yaml"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.starts_with(
            "error: header `X A` is not a valid header name: a name is letters, digits and !#$%&'*+-.^_`|~ only (an RFC 7230 token)\n  --> requests/name.yaml:2:18\n"
        ),
        "{}",
        r.stderr
    );

    // Profile headers too, in `exec` and in `check`.
    p.write(
        "profiles/bad.yaml",
        "base_url: http://127.0.0.1:1\nhttp:\n  headers:\n    X-Ok: fine\n    \"X:Bad\": v\n",
    );
    p.write("requests/ok.yaml", "url: /x\n");
    for cmd in [
        &["exec", "requests/ok.yaml", "-p", "bad"][..],
        &["check", "profiles/bad.yaml"],
    ] {
        let r = p.run(cmd);
        assert_eq!(r.code, 2, "{cmd:?}: {}", r.stderr);
        assert!(
            r.stderr
                .starts_with("error: header `X:Bad` is not a valid header name")
                && r.stderr.contains("  --> profiles/bad.yaml:5:14\n"),
            "{cmd:?}: {}",
            r.stderr
        );
    }
    p.write(
        "profiles/env.yaml",
        "base_url: http://127.0.0.1:1\nhttp:\n  headers: {X-From-Env: \"{{ env('RUNNER_TEST_HEADER') }}\"}\n",
    );
    let r = p.run_env(
        &["exec", "requests/ok.yaml", "-p", "env"],
        &[("RUNNER_TEST_HEADER", "v\r\nX-Injected: 1")],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("header `X-From-Env` holds a carriage return")
            && r.stderr.contains("  --> profiles/env.yaml:3:25\n")
            && !r.stderr.contains("X-Injected"),
        "{}",
        r.stderr
    );

    // A bearer token from the environment with a line break: named, never shown.
    p.write(
        "profiles/bearer.yaml",
        "base_url: http://127.0.0.1:1\nauth:\n  type: bearer\n  token: \"{{ env('RUNNER_TEST_TOKEN') }}\"\n",
    );
    let r = p.run_env(
        &["exec", "requests/ok.yaml", "-p", "bearer"],
        &[("RUNNER_TEST_TOKEN", "s3cret\nX-Injected: 1")],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.starts_with(
            "error: auth.token: the value of header `Authorization` holds a line feed"
        ) && r.stderr.contains("  --> profiles/bearer.yaml:4:10\n"),
        "{}",
        r.stderr
    );
    crate::support::assert_no_secret(&r.stderr, &["s3cret"]);
}

/// Plain http goes through runner's own hyper path (`src/http/wire.rs`), not reqwest:
/// the headers reqwest adds by default are still sent, with the length of the body,
/// and the request's own headers still win over them.
#[test]
fn plain_http_sends_the_default_headers_and_the_requests_own_win() {
    let sb = SandboxProc::start(&[]);
    let p = Project::new();
    p.write("profiles/default.yaml", &format!("base_url: {}\n", sb.url));
    p.write(
        "requests/plain.yaml",
        "method: POST\nurl: /_sandbox/echo/plain\nbody:\n  json: {a: 1}\n",
    );
    p.write(
        "requests/own.yaml",
        "method: POST\nurl: /_sandbox/echo/own\nheaders:\n  Accept: text/plain\n  \
         User-Agent: mine/1\n  Content-Type: application/vnd.x+json\nbody:\n  json: {a: 1}\n",
    );
    let echo = |file: &str| -> Value {
        let r = p.run(&["exec", file, "--retries", "0"]);
        assert_eq!(r.code, 0, "{file}: {}", r.stderr);
        serde_json::from_str(&r.stdout).expect("the echo is JSON")
    };
    let plain = echo("requests/plain.yaml");
    let h = &plain["headers"];
    assert_eq!(
        h["user-agent"],
        concat!("runner/", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(h["accept"], "*/*");
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(h["content-length"], "7");
    assert_eq!(decoded_body(&plain), b"{\"a\":1}");
    let own = echo("requests/own.yaml");
    let h = &own["headers"];
    assert_eq!(h["user-agent"], "mine/1");
    assert_eq!(h["accept"], "text/plain");
    assert_eq!(h["content-type"], "application/vnd.x+json");
}
