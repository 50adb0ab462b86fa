//! Issue 14: `expect` predicates, headers, body, duration and JSON Schema; every
//! failure with its place; `runner check` on the new keys.

use crate::support::{Project, SandboxProc};

const ASSET_SCHEMA: &str = r##"{"$schema": "https://json-schema.org/draft/2020-12/schema",
 "type": "object", "required": ["items", "total_items"],
 "properties": {"items": {"type": "array", "items": {"$ref": "#/$defs/asset"}}},
 "$defs": {"asset": {"type": "object", "required": ["id", "name", "status"],
   "properties": {"status": {"enum": ["active", "archived"]}}}}}"##;

#[test]
fn predicates_headers_duration_and_schema_pass_on_the_sandbox() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    p.write("schemas/page.json", ASSET_SCHEMA);
    p.write(
        "schemas/openapi.yaml",
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\ncomponents:\n  schemas:\n    Page: {type: object, required: [items], properties: {items: {type: array, items: {$ref: '#/components/schemas/Asset'}}}}\n    Asset: {type: object, required: [id, status], properties: {id: {type: string}}}\n",
    );
    p.write(
        "requests/list.yaml",
        "url: /assets\nexpect:\n  status: 200\n  duration: 60000\n  headers: {content-type: {matches: \"^application/json\"}, x-nothing: {exists: false}}\n  body: {starts_with: \"{\"}\n  jsonpath:\n    \"$.total_items\": {gte: 1, type: integer}\n    \"$.items\": {length: {lte: 100}}\n    \"$.items[*].status\": {each: {one_of: [active, archived]}}\n    \"$.items[0].created_at\": {gt: \"2000-01-01T00:00:00Z\"}\n    \"$.next_page\": {exists: true}\n    \"$.nothing\": {exists: false}\n    \"$.items[?@.status=='gone']\": {length: 0}\n    \"$.items_per_page\": 10\n  schema: ../schemas/page.json\n",
    );
    let r = p.run(&["exec", "requests/list.yaml", "-o", "none"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    p.write(
        "requests/openapi.yaml",
        "url: /assets\nexpect:\n  schema: {openapi: ../schemas/openapi.yaml#/components/schemas/Page}\n",
    );
    let r = p.run(&["exec", "requests/openapi.yaml", "-o", "none"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn every_failure_is_reported_with_its_place_expected_and_actual() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    p.write(
        "schemas/strict.json",
        r#"{"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "integer"}}}}}}"#,
    );
    p.write(
        "requests/bad.yaml",
        "url: /assets\nexpect:\n  headers: {content-type: {matches: \"^text/html\"}}\n  jsonpath:\n    \"$.total_items\": {gte: 100000, type: string}\n    \"$.items[*].status\": {each: {one_of: [archived]}}\n    \"$.items[0]\": {equals: {id: 1}}\n  schema: ../schemas/strict.json\n",
    );
    let r = p.run(&["exec", "requests/bad.yaml"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    for want in [
        "requests/bad.yaml:3:27: expected header content-type matches \"^text/html\", got \"application/json\"",
        "requests/bad.yaml:5:22: expected $.total_items gte 100000, got 250",
        "requests/bad.yaml:5:22: expected $.total_items type \"string\", got 250",
        "requests/bad.yaml:6:26: expected $.items[*].status each[0].one_of [\"archived\"], got \"active\"",
        "requests/bad.yaml:7:19: expected $.items[0] to be {\"id\":1}, got {\"id\":",
        "(differs at .id: \"00000000-0000-4000-8000-000000000001\" ≠ 1; .name not expected",
        "requests/bad.yaml:8:11: the body does not match schemas/strict.json at /items/9/id: \"00000000-0000-4000-8000-000000000010\" is not of type \"integer\" (rule /properties/items/items/properties/id/type)",
        "requests/bad.yaml:8:11: the body does not match schemas/strict.json at /items/0/id: ",
    ] {
        assert!(r.stderr.contains(want), "missing {want}\n{}", r.stderr);
    }
    assert!(
        r.stderr.starts_with("error: 15 expectations failed:\n"),
        "{}",
        r.stderr
    );
    // The body is still printed.
    assert_eq!(r.json()["total_items"], 250);
}

#[test]
fn check_refuses_bad_regexes_unknown_predicates_and_missing_schemas() {
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        "base_url: http://127.0.0.1:9\nauth: {type: none}\n",
    );
    p.write(
        "requests/bad.yaml",
        "url: /x\nexpect:\n  headers: {content-type: {matches: \"(unclosed\"}}\n  jsonpath:\n    \"$.a\": {gte: 1, lenght: 3}\n    \"$.b\": {type: text}\n  duration: 0\n  schema: ../schemas/missing.json\n",
    );
    let r = p.run(&["check", "requests/bad.yaml"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    for want in [
        "error: `matches`: invalid regular expression \"(unclosed\": unclosed group\n  --> requests/bad.yaml:3:27\n",
        "error: unknown predicate `lenght`; did you mean `length`? (a map to compare with is written `{equals: {…}}`)\n  --> requests/bad.yaml:5:12\n",
        "error: `type`: unknown type `text` (expected one of string, number, integer, boolean, array, object, null)\n  --> requests/bad.yaml:6:12\n",
        "error: expect.duration must be",
        "error: cannot read the schema file schemas/missing.json: ",
        "  --> requests/bad.yaml:8:11\n",
        "error: 5 problems found",
    ] {
        assert!(r.stderr.contains(want), "missing {want}\n{}", r.stderr);
    }
}

/// `exec --report json:FILE` and `junit:FILE` carry every assertion, the failed ones
/// with expected and actual.
#[test]
fn exec_reports_carry_every_assertion() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    p.write(
        "requests/two.yaml",
        "url: /assets\nexpect:\n  status: 200\n  jsonpath:\n    \"$.total_items\": {gte: 1}\n    \"$.items\": {length: 3}\n",
    );
    let r = p.run(&[
        "exec",
        "requests/two.yaml",
        "-o",
        "none",
        "--report",
        "json:r.json",
        "--report",
        "junit:r.xml",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.path("r.json")).unwrap()).unwrap();
    let a = &report["cases"][0]["assertions"];
    assert_eq!(a.as_array().unwrap().len(), 3, "{a}");
    assert_eq!(a[0]["name"], "status 200");
    assert_eq!(a[0]["ok"], true);
    assert_eq!(a[1]["name"], "$.total_items {gte: 1}");
    assert_eq!(a[1]["place"], "requests/two.yaml:5:22");
    assert_eq!(a[1]["ok"], true);
    assert_eq!(a[2]["ok"], false);
    assert_eq!(a[2]["failures"][0]["predicate"], "length");
    assert_eq!(a[2]["failures"][0]["expected"], "3");
    assert_eq!(a[2]["failures"][0]["actual"], "10");
    // A bulk run's rows carry theirs too.
    p.write("rows.csv", "n\n1\n2\n");
    let r = p.run(&[
        "exec",
        "requests/two.yaml",
        "--data",
        "rows.csv",
        "-o",
        "none",
        "--report",
        "json:rows.json",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let rows: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.path("rows.json")).unwrap()).unwrap();
    for case in rows["cases"].as_array().unwrap() {
        assert_eq!(case["assertions"].as_array().unwrap().len(), 3, "{case}");
        assert_eq!(case["assertions"][2]["failures"][0]["actual"], "10");
    }
    let xml = std::fs::read_to_string(p.path("r.xml")).unwrap();
    assert!(xml.contains("<system-out>PASS status 200 (requests/two.yaml:3:11)&#10;PASS $.total_items {gte: 1} (requests/two.yaml:5:22)&#10;FAIL $.items {length: 3} (requests/two.yaml:6:16)&#10;  length: expected 3, got 10</system-out>"), "{xml}");
}

/// Issue 20, point 8: under `expect`, a map is predicates; a misspelled one is exit 2
/// at `check` and at `exec` (nothing sent), with its place and the nearest name.
#[test]
fn a_misspelled_predicate_is_exit_2_with_its_place_and_the_nearest_name() {
    let p = Project::new();
    // Port 9: were anything sent, exec would end with exit 4, not 2.
    p.write(
        "profiles/default.yaml",
        "base_url: http://127.0.0.1:9\nauth: {type: none}\n",
    );
    p.write(
        "requests/x.yaml",
        "url: /x\nexpect:\n  jsonpath:\n    \"$.total\": 3\n    \"$.x\": {greater_than: 3}\n",
    );
    let want = "error: unknown predicate `greater_than`; did you mean `gt`? (a map to compare with is written `{equals: {…}}`)\n  --> requests/x.yaml:5:12\n  |\n5 |     \"$.x\": {greater_than: 3}\n  |            ^\n";
    let r = p.run(&["check", "requests/x.yaml"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stderr, format!("{want}error: 1 problem found\n"));
    let r = p.run(&["exec", "requests/x.yaml"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stderr, want);
    // A literal map under headers or body is refused the same way.
    p.write(
        "requests/y.yaml",
        "url: /x\nexpect:\n  headers: {content-type: {value: json}}\n  body: {text: x}\n",
    );
    let r = p.run(&["check", "requests/y.yaml"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    for want in [
        "error: unknown predicate `value`; expected one of equals, not_equals, gt, gte, lt, lte, contains, not_contains, starts_with, ends_with, matches, exists, type, length, one_of, each, not (a map to compare with is written `{equals: {…}}`)\n  --> requests/y.yaml:3:27\n",
        "error: unknown predicate `text`; expected one of equals, not_equals, gt, gte, lt, lte, contains, not_contains, starts_with, ends_with, matches, exists, type, length, one_of, each, not (a map to compare with is written `{equals: {…}}`)\n  --> requests/y.yaml:4:9\n",
    ] {
        assert!(r.stderr.contains(want), "missing {want}\n{}", r.stderr);
    }
}

/// A literal map is compared with `{equals: {…}}`: it holds on the same map, and
/// fails (exit 1) on another.
#[test]
fn a_literal_map_is_written_with_equals() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    p.write(
        "requests/echo.yaml",
        &format!(
            "url: {}/_sandbox/echo?a=1&b=x%26y\nexpect:\n  jsonpath:\n    \"$.query\": {{equals: {{a: \"1\", b: \"x&y\"}}}}\n",
            sb.url
        ),
    );
    let r = p.run(&["exec", "requests/echo.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    p.write(
        "requests/echo.yaml",
        &format!(
            "url: {}/_sandbox/echo?a=2\nexpect:\n  jsonpath:\n    \"$.query\": {{equals: {{a: \"1\"}}}}\n",
            sb.url
        ),
    );
    let r = p.run(&["exec", "requests/echo.yaml"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "error: requests/echo.yaml:4:16: expected $.query to be {\"a\":\"1\"}, got {\"a\":\"2\"} (differs at .a: \"2\" ≠ \"1\")\n"
        ),
        "{}",
        r.stderr
    );
}
