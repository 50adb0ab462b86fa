//! Issue 21: every common way of paging against the sandbox's `/api/v1/paged/*`
//! routes (250 seeded assets), form and query encodings checked byte for byte at
//! `/_sandbox/echo`, and GraphQL bodies, errors and pages.

use serde_json::Value;

use crate::support::{Project, SandboxProc};

/// The ids of the 250 seeded assets, in storage order.
fn seeded_ids(n: usize) -> Vec<String> {
    (1..=n)
        .map(|i| format!("00000000-0000-4000-8000-{i:012}"))
        .collect()
}

/// The `id` of each JSON line of `stdout`.
fn line_ids(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["id"].as_str().unwrap().to_string()
        })
        .collect()
}

const GQL: &str = "query($first: Int, $after: String) { assets(first: $first, after: $after) { nodes { id } pageInfo { endCursor hasNextPage } } }";

/// One request file per style, `size` items a page, `extra` query parameters.
fn style_files(p: &Project, size: u32) {
    p.write(
        "requests/link.yaml",
        &format!("url: /paged/link\nquery: {{per_page: {size}}}\npaginate: {{link_header: next, items: $}}\n"),
    );
    p.write(
        "requests/slack.yaml",
        &format!("url: /paged/cursor\nquery: {{limit: {size}}}\npaginate: {{cursor: $.response_metadata.next_cursor, param: cursor, items: $.members}}\n"),
    );
    p.write(
        "requests/slack_post.yaml",
        &format!("method: POST\nurl: /paged/cursor\nbody:\n  form: {{limit: {size}}}\npaginate: {{cursor: $.response_metadata.next_cursor, param: cursor, items: $.members}}\n"),
    );
    p.write(
        "requests/stripe.yaml",
        &format!("url: /paged/stripe\nquery: {{limit: {size}}}\npaginate: {{cursor: \"$.data[-1:].id\", param: starting_after, has_more: $.has_more, items: $.data}}\n"),
    );
    p.write(
        "requests/offset.yaml",
        &format!("url: /paged/offset\npaginate: {{offset_param: offset, limit_param: limit, limit: {size}, items: $.items}}\n"),
    );
    p.write(
        "requests/offset_total.yaml",
        &format!("url: /paged/offset\npaginate: {{offset_param: offset, limit_param: limit, limit: {size}, total: $.total, items: $.items}}\n"),
    );
    p.write(
        "requests/graphql.yaml",
        &format!("url: /paged/graphql\nbody:\n  graphql:\n    query: \"{GQL}\"\n    variables: {{first: {size}}}\npaginate: {{cursor: $.data.assets.pageInfo.endCursor, has_more: $.data.assets.pageInfo.hasNextPage, variable: after, items: $.data.assets.nodes}}\n"),
    );
}

const STYLES: [&str; 7] = [
    "link",
    "slack",
    "slack_post",
    "stripe",
    "offset",
    "offset_total",
    "graphql",
];

#[test]
fn every_paging_style_gets_every_item_once_in_order() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    style_files(&p, 30);
    let all = seeded_ids(250);
    for style in STYLES {
        let file = format!("requests/{style}.yaml");
        // Streamed as JSON lines, and kept for extract.
        let r = p.run(&["exec", &file, "-o", "jsonl", "-v"]);
        assert_eq!(r.code, 0, "{style}: {}", r.stderr);
        assert_eq!(line_ids(&r.stdout), all, "{style}");
        // 250 items at 30 a page: 9 pages (the offset walk without a total asks a
        // tenth, empty page only when the last is full, which it is not).
        assert!(r.stderr.contains(" 9 pages\n"), "{style}: {}", r.stderr);
        let r = p.run(&["exec", &file, "--var", "unused=1"]);
        assert_eq!(r.code, 0, "{style}: {}", r.stderr);
        let ids: Vec<String> = r
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids, all, "{style}");
    }
    // The cursor went back where each style wants it.
    let r = p.run(&["exec", "requests/stripe.yaml", "-v"]);
    assert!(
        r.stderr.contains(&format!(
            "> GET {}/api/v1/paged/stripe?limit=30&starting_after={}\n",
            sb.url, all[29]
        )),
        "{}",
        r.stderr
    );
    let r = p.run(&["exec", "requests/offset.yaml", "-v"]);
    assert!(
        r.stderr.contains(&format!(
            "> GET {}/api/v1/paged/offset?limit=30&offset=240\n",
            sb.url
        )),
        "{}",
        r.stderr
    );
}

#[test]
fn max_pages_bounds_every_style() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    style_files(&p, 10);
    for style in STYLES {
        let path = p.path(&format!("requests/{style}.yaml"));
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("items:", "max_pages: 3, items:")).unwrap();
        let r = p.run(&["exec", &format!("requests/{style}.yaml"), "-o", "jsonl"]);
        assert_eq!(r.code, 0, "{style}: {}", r.stderr);
        assert_eq!(line_ids(&r.stdout), seeded_ids(30), "{style}");
    }
}

#[test]
fn a_repeating_cursor_or_link_or_more_without_a_cursor_is_exit_4() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    style_files(&p, 100);
    let cases = [
        (
            "link",
            format!(
                "{}/api/v1/paged/link?page=1&per_page=100&loop=1: pagination loops: this page was already fetched",
                sb.url
            ),
        ),
        (
            "slack",
            "pagination loops: the cursor `YXNzZXQ6MTAw` came back again".to_string(),
        ),
        (
            "graphql",
            "pagination loops: the cursor `YXNzZXQ6MTAw` came back again".to_string(),
        ),
        (
            "stripe",
            "pagination stops short: has_more is true but the page has no cursor to continue from"
                .to_string(),
        ),
    ];
    for (style, want) in cases {
        let path = p.path(&format!("requests/{style}.yaml"));
        let text = std::fs::read_to_string(&path).unwrap();
        let text = if style == "graphql" {
            text.replace("{first: 100}", "{first: 100, loop: true}")
        } else {
            text.replace("query: {", "query: {loop: 1, ")
        };
        std::fs::write(&path, text).unwrap();
        let r = p.run(&["exec", &format!("requests/{style}.yaml"), "-o", "jsonl"]);
        assert_eq!(r.code, 4, "{style}: {}", r.stderr);
        assert!(r.stderr.contains(&want), "{style}: {}", r.stderr);
        // What came before the loop was streamed.
        assert!(r.stdout.lines().count() >= 100, "{style}");
    }
}

#[test]
fn paginate_keys_are_checked_at_load_with_their_place() {
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        "base_url: http://127.0.0.1:9/api\n",
    );
    let cases = [
        (
            "url: /a\npaginate: {link_header: next, cursor: $.c, param: c, items: $}\n",
            "2:11 paginate takes one way to find the next page; found link_header and cursor",
        ),
        (
            "url: /a\npaginate: {cursor: $.c, items: $}\n",
            "2:11 paginate.cursor needs where the cursor goes: param (a query or body parameter) or variable (GraphQL), one of them",
        ),
        (
            "url: /a\npaginate: {cursor: $.c, variable: after, items: $}\n",
            "2:35 paginate.variable is a GraphQL variable: the body must be graphql",
        ),
        (
            "url: /a\npaginate: {offset_param: o, items: $}\n",
            "2:26 offset_param needs limit: the page size, which tells a short (last) page",
        ),
        (
            "url: /a\npaginate: {next_url: $.n, has_more: $.m, items: $}\n",
            "2:37 paginate.has_more goes with paginate.cursor",
        ),
        (
            "url: /a\npaginate: {offset_param: o, limit: 0, items: $}\n",
            "2:36 paginate.limit must be a whole number from 1 to 1000000",
        ),
        (
            "url: /a\npaginate: {items: $}\n",
            "2:11 paginate needs a way to find the next page: next_url, total_pages, link_header, cursor or offset_param",
        ),
        (
            "url: /a\nbody: {graphql: {variables: {a: 1}}}\n",
            "2:17 body.graphql needs its operation: query (the text) or file (a .graphql file), one of them",
        ),
    ];
    for (text, want) in cases {
        p.write("requests/x.yaml", text);
        let r = p.run(&["check", "requests/x.yaml"]);
        assert_eq!(r.code, 2, "{text}: {}", r.stderr);
        let (place, message) = want.split_once(' ').unwrap();
        let want = format!("error: {message}\n  --> requests/x.yaml:{place}\n");
        assert!(
            r.stderr.contains(&want),
            "{text}\nwant: {want}\n{}",
            r.stderr
        );
    }
}
