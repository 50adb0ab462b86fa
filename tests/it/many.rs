//! Issue 4: pagination, flows, bulk runs, retries and timeouts.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::support::{Limits, Project, SandboxProc, http_text};

/// The three pages of 100 of the sandbox's 250 assets, as it sends them.
fn pages_by_hand(sb: &SandboxProc, token: &str) -> Vec<String> {
    (1..=3)
        .map(|page| {
            let (status, text) = http_text(
                "GET",
                &format!("{}/api/v1/assets?limit=100&page={page}", sb.url),
                None,
                &[("Authorization", &format!("Bearer {token}"))],
            );
            assert_eq!(status, 200);
            text
        })
        .collect()
}

fn all_assets_by_hand(sb: &SandboxProc, token: &str) -> Vec<Value> {
    let mut all = Vec::new();
    for text in pages_by_hand(sb, token) {
        let v: Value = serde_json::from_str(&text).unwrap();
        all.extend(v["items"].as_array().unwrap().iter().cloned());
    }
    all
}

#[test]
fn both_pagination_modes_and_jsonl_give_every_asset_once_in_order() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    p.write(
        "requests/links.yaml",
        "url: /assets\nquery: {limit: 7}\npaginate: {next_url: $.next_page, items: $.items}\n",
    );
    p.write(
        "requests/numbers.yaml",
        "url: /assets\nquery: {limit: 7}\npaginate: {total_pages: $.total_pages, items: $.items}\n",
    );
    let links = p.run(&["exec", "requests/links.yaml"]);
    assert_eq!(links.code, 0, "{}", links.stderr);
    let token = p.run(&["token"]).stdout.trim().to_string();
    let expected = Value::Array(all_assets_by_hand(&sb, &token));
    assert_eq!(expected.as_array().unwrap().len(), 250);
    assert_eq!(links.json(), expected);

    let numbers = p.run(&["exec", "requests/numbers.yaml", "--concurrency", "8"]);
    assert_eq!(numbers.code, 0, "{}", numbers.stderr);
    assert_eq!(numbers.json(), expected);
    // 36 pages of 7 for each mode, and the 3 pages fetched by hand.
    assert_eq!(sb.stats()["requests"]["GET /api/v1/assets"], 36 * 2 + 3);

    let lines = p.run(&["exec", "requests/numbers.yaml", "-o", "jsonl"]);
    let items = lines.json_lines();
    assert_eq!(Value::Array(items), expected);
}

#[test]
fn json_lines_of_big_pages_are_the_items_as_sent_in_order() {
    // Pages of 100 assets (about 26 KB: written from the page itself) and a last one
    // of 50 (13 KB: through the buffer), numbered pages in parallel and links in turn.
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    p.write(
        "requests/numbers.yaml",
        "url: /assets\nquery: {limit: 100}\npaginate: {total_pages: $.total_pages, items: $.items}\n",
    );
    p.write(
        "requests/links.yaml",
        "url: /assets\nquery: {limit: 100}\npaginate: {next_url: $.next_page, items: $.items}\n",
    );
    let token = p.run(&["token"]).stdout.trim().to_string();
    let pages = pages_by_hand(&sb, &token);
    for (n, text) in pages.iter().enumerate() {
        assert!(text.len() > 16 * 1024 || n == 2, "page {n}: {}", text.len());
    }
    let pages = pages.concat();
    let expected = all_assets_by_hand(&sb, &token);
    for args in [
        &[
            "exec",
            "requests/numbers.yaml",
            "-o",
            "jsonl",
            "--concurrency",
            "4",
        ][..],
        &["exec", "requests/links.yaml", "-o", "jsonl"],
    ] {
        let r = p.run(args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stdout.ends_with("}\n"),
            "{:?}",
            &r.stdout[r.stdout.len() - 20..]
        );
        let lines: Vec<&str> = r.stdout.lines().collect();
        assert_eq!(lines.len(), 250);
        for (line, want) in lines.iter().zip(&expected) {
            assert!(pages.contains(line), "not as the server sent it: {line}");
            assert_eq!(&serde_json::from_str::<Value>(line).unwrap(), want);
        }
    }
}

#[test]
fn max_pages_holds_and_looping_pages_stop_with_an_error() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    p.write(
        "requests/three.yaml",
        "url: /assets\nquery: {limit: 5}\npaginate: {next_url: $.next_page, items: $.items, max_pages: 3}\nextract: {names: \"$[*].name\"}\n",
    );
    let r = p.run(&["exec", "requests/three.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["names"].as_array().unwrap().len(), 15);

    // The echo endpoint's `path` names itself: a next link that loops.
    p.write(
        "requests/loop.yaml",
        &format!(
            "url: {}/_sandbox/echo\nauth: none\npaginate: {{next_url: $.path, items: $.query}}\n",
            sb.url
        ),
    );
    let r = p.run(&["exec", "requests/loop.yaml"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("pagination loops: this page was already fetched"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_flow_passes_a_created_id_to_the_next_step() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    p.write(
        "requests/create.yaml",
        "method: POST\nurl: /assets\nbody:\n  json: {name: \"{{ name }}\", family_id: \"{{ family_id }}\"}\nexpect: {status: 201}\n",
    );
    p.write(
        "requests/get.yaml",
        "url: \"/assets/{{ asset_id }}\"\nextract: {name: $.name, family: $.family_id}\n",
    );
    p.write(
        "requests/flows/create_then_get.yaml",
        "description: create, then read back\nsteps:\n  - run: ../create.yaml\n    vars: {name: \"Pump {{ n }}\"}\n    extract: {asset_id: $.id}\n  - run: ../get.yaml\n",
    );
    let r = p.run(&[
        "exec",
        "requests/flows/create_then_get.yaml",
        "--var",
        "n=12",
        "--var",
        "family_id:=7",
        "-v",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json(), json!({"name": "Pump 12", "family": 7}));
    assert!(
        r.stderr.contains("step 1: requests/flows/../create.yaml"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("step 2: requests/flows/../get.yaml"),
        "{}",
        r.stderr
    );
    assert_eq!(sb.stats()["assets_created"], 1);

    // A failing step stops the flow and names itself.
    p.write(
        "requests/flows/broken.yaml",
        "steps:\n  - run: ../get.yaml\n    vars: {asset_id: nope}\n  - run: ../create.yaml\n",
    );
    let r = p.run(&["exec", "requests/flows/broken.yaml"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains(
            "flow requests/flows/broken.yaml stopped at step 1 (requests/flows/../get.yaml)"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(sb.stats()["assets_created"], 1);

    // A flow that runs itself stops with an error, not a stack overflow.
    p.write("requests/flows/self.yaml", "steps:\n  - run: self.yaml\n");
    let r = p.run(&["exec", "requests/flows/self.yaml"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("flows nest more than 16 deep"),
        "{}",
        r.stderr
    );
    let c = p.run(&["check", "requests/flows/self.yaml"]);
    assert_eq!(c.code, 2);
    assert!(
        c.stderr.contains("step 1: the flow runs itself"),
        "{}",
        c.stderr
    );
}

#[test]
fn a_bulk_run_under_faults_accounts_for_every_row_exactly_once() {
    let sb = SandboxProc::start(&[
        "--fail-rate",
        "0.2",
        "--rate-limit",
        "400",
        "--latency",
        "2",
    ]);
    let p = Project::with_sandbox(&sb.url);
    p.write(
        "requests/create.yaml",
        "method: POST\nurl: /assets\nbody:\n  json: {name: \"{{ name }}\", family_id: \"{{ family }}\"}\nexpect: {status: 201}\nextract: {id: $.id}\n",
    );
    let mut csv = String::from("name,family\n");
    for i in 1..=500 {
        csv.push_str(&format!("Bulk {i:03},{}\n", i % 7));
    }
    p.write("data/assets.csv", &csv);

    let first = p.run(&[
        "exec",
        "requests/create.yaml",
        "--data",
        "data/assets.csv",
        "--concurrency",
        "8",
        "--failed",
        "failed-1.csv",
    ]);
    let rows = first.json_lines();
    assert_eq!(
        rows.iter()
            .map(|r| r["row"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        (1..=500).collect::<Vec<_>>()
    );
    let failed = rows.iter().filter(|r| r["ok"] == false).count();
    assert!(failed > 0, "a 20 % failure rate left no failed row");
    assert_eq!(first.code, 1);
    assert!(
        first
            .stderr
            .contains(&format!("500 rows: {} ok, {failed} failed", 500 - failed)),
        "{}",
        first.stderr
    );
    for r in rows.iter().filter(|r| r["ok"] == false) {
        assert_eq!(r["status"], 503, "{r}");
        assert!(r.get("extract").is_none());
    }

    // Re-run exactly the failed rows until none fail.
    let mut input = "failed-1.csv".to_string();
    for round in 2..20 {
        let out = format!("failed-{round}.csv");
        let r = p.run(&[
            "exec",
            "requests/create.yaml",
            "--data",
            &input,
            "--failed",
            &out,
        ]);
        if r.code == 0 {
            break;
        }
        input = out;
    }
    assert_eq!(sb.stats()["assets_created"], 500);
    let token = p.run(&["token"]).stdout.trim().to_string();
    let mut names = BTreeSet::new();
    let mut page = 1;
    loop {
        let (status, text) = http_text(
            "GET",
            &format!("{}/api/v1/assets?limit=100&page={page}", sb.url),
            None,
            &[("Authorization", &format!("Bearer {token}"))],
        );
        if status == 503 || status == 429 {
            continue;
        }
        let v: Value = serde_json::from_str(&text).unwrap();
        for a in v["items"].as_array().unwrap() {
            let name = a["name"].as_str().unwrap();
            if name.starts_with("Bulk ") {
                assert!(names.insert(name.to_string()), "{name} created twice");
            }
        }
        if v["next_page"].is_null() {
            break;
        }
        page += 1;
    }
    assert_eq!(names.len(), 500);
}

#[test]
fn json_lines_and_json_array_data_with_typed_fields() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    p.write(
        "requests/create.yaml",
        "method: POST\nurl: /assets\nbody:\n  json: {name: \"{{ name }}\", family_id: \"{{ family }}\"}\nextract: {family: $.family_id}\n",
    );
    p.write(
        "rows.jsonl",
        "{\"name\": \"A\", \"family\": 1}\n{\"name\": \"B\", \"family\": 2}\n",
    );
    p.write("rows.json", "[{\"name\": \"C\", \"family\": {\"x\": 3}}]");
    let r = p.run(&["exec", "requests/create.yaml", "--data", "rows.jsonl"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.json_lines(),
        vec![
            json!({"row": 1, "input": {"name": "A", "family": 1}, "status": 201, "ok": true, "extract": {"family": 1}}),
            json!({"row": 2, "input": {"name": "B", "family": 2}, "status": 201, "ok": true, "extract": {"family": 2}}),
        ]
    );
    let r = p.run(&["exec", "requests/create.yaml", "--data", "rows.json"]);
    assert_eq!(
        r.json_lines(),
        vec![
            json!({"row": 1, "input": {"name": "C", "family": {"x": 3}}, "status": 201, "ok": true, "extract": {"family": {"x": 3}}})
        ]
    );

    p.write("bad.jsonl", "{\"name\": \"A\"}\n{\"name\": \n");
    let r = p.run(&["exec", "requests/create.yaml", "--data", "bad.jsonl"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--> bad.jsonl:2:"), "{}", r.stderr);
    assert_eq!(sb.stats()["assets_created"], 3);
}

#[test]
fn a_token_expiring_during_a_bulk_run_is_refreshed_without_reuse() {
    // 250 rows x 20 ms at 4 in flight take over a second; a 1 s token is used for
    // half a second.
    let sb = SandboxProc::start(&["--access-ttl", "1", "--latency", "20"]);
    let p = Project::with_sandbox(&sb.url);
    p.write("requests/get.yaml", "url: \"/assets/{{ id }}\"\n");
    let mut csv = String::from("id\n");
    for i in 1..=250 {
        csv.push_str(&format!("00000000-0000-4000-8000-{i:012}\n"));
    }
    p.write("ids.csv", &csv);
    let r = p.run(&[
        "exec",
        "requests/get.yaml",
        "--data",
        "ids.csv",
        "--concurrency",
        "4",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json_lines().len(), 250);
    let stats = sb.stats();
    assert!(
        stats["token_requests"]["refresh_token"].as_u64().unwrap() >= 1,
        "{stats}"
    );
    assert_eq!(stats["refresh_reuse"], 0, "{stats}");
    assert_eq!(stats["token_requests"]["password"], 1, "{stats}");
}

/// SPEC §7, counted: a GET is retried exactly `retries` times through 503s; a POST
/// that was sent is not retried after a 503; a 429 (not processed) is retried for any
/// method. The sandbox fails exactly the next N API requests, so nothing is left to
/// chance.
#[test]
fn retries_are_counted_per_method_and_status() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    p.write(
        "requests/list.yaml",
        "url: /assets\nextract: {total: $.total_items}\n",
    );
    p.write(
        "requests/create.yaml",
        "method: POST\nurl: /assets\nbody: {json: {name: Retried}}\nextract: {name: $.name}\n",
    );
    assert_eq!(p.run(&["login"]).code, 0);
    let gets = || sb.requests("GET /api/v1/assets");
    let posts = || sb.requests("POST /api/v1/assets");

    // Two 503s, two retries: the third attempt is answered.
    sb.fail_next(2, 503);
    let r = p.run(&["exec", "requests/list.yaml", "--retries", "2", "-v"]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "{\"total\":250}\n"),
        "{}",
        r.stderr
    );
    assert_eq!(gets(), 3);
    assert_eq!(r.stderr.matches("retrying GET ").count(), 2, "{}", r.stderr);
    assert!(r.stderr.contains("(attempt 3 of 3)"), "{}", r.stderr);

    // One 503 more than the retries: the last 503 is the answer, after 1 + 2 attempts.
    sb.fail_next(3, 503);
    let r = p.run(&["exec", "requests/list.yaml", "--retries", "2"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("requests/list.yaml:1:6: status 503 (expected 2xx)"),
        "{}",
        r.stderr
    );
    assert_eq!(gets(), 6);

    // `--retries 0`: one attempt.
    sb.fail_next(1, 503);
    assert_eq!(
        p.run(&["exec", "requests/list.yaml", "--retries", "0"])
            .code,
        1
    );
    assert_eq!(gets(), 7);

    // A POST that reached the server is not sent again after a 503.
    sb.fail_next(1, 503);
    let r = p.run(&["exec", "requests/create.yaml", "--retries", "2"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("requests/create.yaml:2:6: status 503 (expected 2xx)"),
        "{}",
        r.stderr
    );
    assert_eq!(posts(), 1);

    // A 429 says the request was not processed: a POST is retried through it.
    sb.fail_next(2, 429);
    let r = p.run(&["exec", "requests/create.yaml", "--retries", "2"]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "{\"name\":\"Retried\"}\n"),
        "{}",
        r.stderr
    );
    assert_eq!(posts(), 4);
    assert_eq!(sb.stats()["assets_created"], 1);
}

#[test]
fn a_server_that_never_answers_hits_the_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Holds the connection, silent, until the test is over.
    let (done, over) = std::sync::mpsc::channel::<()>();
    let hold = std::thread::spawn(move || {
        let conn = listener.accept();
        let _ = over.recv();
        drop(conn);
    });
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        &format!("base_url: http://{addr}\n"),
    );
    p.write("requests/slow.yaml", "url: /x\n");
    // The harness kills runner, failing the test, if the timeout does not end it.
    let r = p.run_limited(
        &[
            "exec",
            "requests/slow.yaml",
            "--timeout",
            "0.5",
            "--retries",
            "0",
        ],
        &[],
        Limits::deadline(10),
    );
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!("error: request to http://{addr}/x timed out after 0.5 s\n")
    );
    done.send(()).unwrap();
    hold.join().unwrap();
}

#[test]
fn a_large_response_is_extracted_in_one_pass_as_from_the_whole_tree() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    let url = format!("{}/_sandbox/big?mb=2", sb.url);
    p.write(
        "requests/whole.yaml",
        &format!("url: \"{url}\"\nauth: none\n"),
    );
    let whole = p.run(&["exec", "requests/whole.yaml"]);
    assert_eq!(whole.code, 0, "{}", whole.stderr);
    let doc = whole.json();
    let items = doc["items"].as_array().unwrap();
    let active: Vec<Value> = items
        .iter()
        .filter(|i| i["status"] == "active")
        .map(|i| i["id"].clone())
        .collect();
    assert!(active.len() > 1000 && active.len() < items.len());
    let total = &doc["total_items"];

    p.write(
        "requests/ids.yaml",
        &format!(
            "url: \"{url}\"\nauth: none\n\
             extract: {{ids: \"$.items[?@.status=='active'].id\", total: $.total_items, \
             third: \"$.items[2].name\", deep: \"$..tags[1]\", none: \"$.items[?@.status=='gone']\"}}\n\
             expect: {{status: 200, jsonpath: {{\"$.total_items\": {total}}}}}\n"
        ),
    );
    let r = p.run(&["exec", "requests/ids.yaml", "-v"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("in one pass"), "{}", r.stderr);
    let deep: Vec<Value> = items.iter().map(|i| i["tags"][1].clone()).collect();
    assert_eq!(
        r.json(),
        json!({"ids": active, "total": total, "third": items[2]["name"], "deep": deep, "none": []})
    );

    // An expectation that fails names the path and what it found.
    p.write(
        "requests/wrong.yaml",
        &format!("url: \"{url}\"\nauth: none\nextract: {{total: $.total_items}}\nexpect: {{jsonpath: {{\"$.total_items\": 1}}}}\n"),
    );
    let r = p.run(&["exec", "requests/wrong.yaml"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains(&format!("expected $.total_items to be 1, got {total}")),
        "{}",
        r.stderr
    );

    // `-o json` shows the body beside the extracted values.
    let r = p.run(&["exec", "requests/ids.yaml", "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["body"]["items"].as_array().unwrap().len(), items.len());
    assert_eq!(v["extract"]["total"], *total);
}

#[test]
fn json_lines_of_pretty_printed_pages_are_one_item_per_line() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Page 1 is pretty-printed (items span lines); page 2 is compact, with a "\n"
    // escape inside a string, which stays as it is.
    let page1 = "{\n  \"items\": [\n    {\n      \"id\": 1,\n      \"tags\": [\"a\", \"b\"]\n    },\n    2\n  ],\n  \"next\": \"/p2\"\n}\n";
    let page2 = r#"{"items":[{"id":3,"note":"line\nbreak"},"four"],"next":null}"#;
    std::thread::spawn(move || {
        for conn in listener.incoming().take(2).flatten() {
            let mut conn = conn;
            let mut buf = [0u8; 4096];
            let n = conn.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]);
            let body = if request.starts_with("GET /p2") {
                page2
            } else {
                page1
            };
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        &format!("base_url: http://{addr}\n"),
    );
    p.write(
        "requests/pages.yaml",
        "url: /p1\nauth: none\npaginate: {next_url: $.next, items: $.items}\n",
    );
    let r = p.run(&["exec", "requests/pages.yaml", "-o", "jsonl"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            r#"{"id":1,"tags":["a","b"]}"#,
            "2",
            r#"{"id":3,"note":"line\nbreak"}"#,
            r#""four""#
        ],
        "{}",
        r.stdout
    );
}
