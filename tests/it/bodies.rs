//! Issue 21: form and query encodings (brackets, repeat, json) as the sandbox's echo
//! receives them, byte for byte; GraphQL operations, their errors and previews.

use serde_json::{Value, json};

use crate::support::{Project, SandboxProc};

/// The echo of `body` sent with `form_style` (none: the default).
fn echo_form(p: &Project, url: &str, style: Option<&str>, form: &str) -> Value {
    let style = style.map_or(String::new(), |s| format!("form_style: {s}\n"));
    p.write(
        "requests/form.yaml",
        &format!(
            "method: POST\nurl: {url}/_sandbox/echo\nauth: none\n{style}body:\n  form: {form}\n"
        ),
    );
    let r = p.run(&["exec", "requests/form.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.json()
}

const STRIPE: &str = "{customer: cus_1, metadata: {key: v, \"a b\": \"x&y\"}, items: [{price: p, quantity: 2}], expand: [data.x]}";

#[test]
fn form_bodies_in_brackets_repeat_and_json() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    let brackets = "customer=cus_1&metadata[key]=v&metadata[a+b]=x%26y&items[0][price]=p&items[0][quantity]=2&expand[0]=data.x";
    for style in [None, Some("brackets")] {
        let e = echo_form(&p, &sb.url, style, STRIPE);
        assert_eq!(e["body"], json!(brackets), "{style:?}");
        assert_eq!(
            e["headers"]["content-type"],
            json!("application/x-www-form-urlencoded")
        );
    }
    let e = echo_form(
        &p,
        &sb.url,
        Some("repeat"),
        "{To: \"+33 6\", MediaUrl: [\"https://e.x/a.png\", \"https://e.x/b.png\"]}",
    );
    assert_eq!(
        e["body"],
        json!("To=%2B33+6&MediaUrl=https%3A%2F%2Fe.x%2Fa.png&MediaUrl=https%3A%2F%2Fe.x%2Fb.png")
    );
    assert_eq!(
        e["form"]["MediaUrl"],
        json!(["https://e.x/a.png", "https://e.x/b.png"])
    );
    let e = echo_form(
        &p,
        &sb.url,
        Some("json"),
        "{address: {city: Paris}, tags: [a]}",
    );
    assert_eq!(
        e["form"],
        json!({"address": "{\"city\":\"Paris\"}", "tags": "[\"a\"]"})
    );
    // The preview shows the bytes that are sent.
    let r = p.run(&["exec", "requests/form.yaml", "--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .ends_with("\naddress=%7B%22city%22%3A%22Paris%22%7D&tags=%5B%22a%22%5D\n"),
        "{}",
        r.stdout
    );
    echo_form(&p, &sb.url, None, STRIPE);
    let r = p.run(&["exec", "requests/form.yaml", "--curl"]);
    assert!(
        r.stdout.contains(&format!("--data-raw '{brackets}'")),
        "{}",
        r.stdout
    );
    let r = p.run(&["exec", "requests/form.yaml", "--dry-run"]);
    assert!(
        r.stdout.ends_with(&format!("\n\n{brackets}\n")),
        "{}",
        r.stdout
    );
}

#[test]
fn query_lists_and_maps_in_each_style() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    let query = "{ids: [a, b], filter: {status: active, tags: [x, z]}, q: \"a b\"}";
    let cases = [
        (
            None,
            "ids=a&ids=b&filter[status]=active&filter[tags]=x&filter[tags]=z&q=a+b",
        ),
        (
            Some("repeat"),
            "ids=a&ids=b&filter[status]=active&filter[tags]=x&filter[tags]=z&q=a+b",
        ),
        (
            Some("brackets"),
            "ids[0]=a&ids[1]=b&filter[status]=active&filter[tags][0]=x&filter[tags][1]=z&q=a+b",
        ),
        (
            Some("json"),
            "ids=%5B%22a%22%2C%22b%22%5D&filter=%7B%22status%22%3A%22active%22%2C%22tags%22%3A%5B%22x%22%2C%22z%22%5D%7D&q=a+b",
        ),
    ];
    for (style, want) in cases {
        let style_line = style.map_or(String::new(), |s| format!("query_style: {s}\n"));
        p.write(
            "requests/q.yaml",
            &format!(
                "url: {}/_sandbox/echo\nauth: none\n{style_line}query: {query}\n",
                sb.url
            ),
        );
        let r = p.run(&["exec", "requests/q.yaml"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(
            r.json()["target"],
            json!(format!("/_sandbox/echo?{want}")),
            "{style:?}"
        );
        let r = p.run(&["exec", "requests/q.yaml", "--curl"]);
        assert!(
            r.stdout
                .contains(&format!("'{}/_sandbox/echo?{want}'", sb.url)),
            "{style:?}: {}",
            r.stdout
        );
    }
}

const GQL: &str = "query Assets($first: Int) { assets(first: $first) { nodes { id } } }";

#[test]
fn graphql_operations_their_errors_and_their_previews() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    // What goes out: POST JSON {query, variables, operationName}, the query from a file.
    p.write("requests/assets.graphql", GQL);
    p.write(
        "requests/echo.yaml",
        &format!("url: {}/_sandbox/echo\nauth: none\nbody:\n  graphql:\n    file: assets.graphql\n    variables: {{first: \"{{{{ n }}}}\"}}\n    operation_name: Assets\n", sb.url),
    );
    let r = p.run(&["exec", "requests/echo.yaml", "--var", "n:=2"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let e = r.json();
    assert_eq!(e["method"], json!("POST"));
    assert_eq!(
        e["body"],
        json!({"query": GQL, "variables": {"first": 2}, "operationName": "Assets"})
    );
    let r = p.run(&["exec", "requests/echo.yaml", "--var", "n:=2", "--dry-run"]);
    assert!(
        r.stdout
            .starts_with(&format!("POST {}/_sandbox/echo\n", sb.url)),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("\"operationName\": \"Assets\""),
        "{}",
        r.stdout
    );

    // A query the server answers.
    p.write(
        "requests/ok.yaml",
        &format!("url: /paged/graphql\nbody:\n  graphql:\n    query: \"{GQL}\"\n    variables: {{first: 2}}\nextract: {{ids: \"$.data.assets.nodes[*].id\"}}\n"),
    );
    let r = p.run(&["exec", "requests/ok.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.json()["ids"],
        json!([
            "00000000-0000-4000-8000-000000000001",
            "00000000-0000-4000-8000-000000000002"
        ])
    );

    // A 200 with errors fails, naming the first error; the body is still printed.
    p.write(
        "requests/bad.yaml",
        "url: /paged/graphql\nbody:\n  graphql:\n    query: \"{ viewer { login } }\"\n",
    );
    let r = p.run(&["exec", "requests/bad.yaml"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("requests/bad.yaml: GraphQL error: Cannot query this field on type \"Query\": the sandbox answers assets(first: Int, after: String)\n"),
        "{}",
        r.stderr
    );
    assert_eq!(r.json()["data"], Value::Null);

    // Unless expect looks at the errors itself.
    p.write(
        "requests/bad_expected.yaml",
        "url: /paged/graphql\nbody:\n  graphql:\n    query: \"{ viewer { login } }\"\nexpect:\n  jsonpath:\n    \"$.errors\": {length: 1}\n",
    );
    let r = p.run(&["exec", "requests/bad_expected.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}
