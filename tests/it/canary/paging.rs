//! Issue 21: the paging styles and GraphQL failures as channels. A server that
//! echoes a credential back as a cursor or a next link puts it in the next URL, the
//! `-vv` trace and the loop error: each must show it masked.

use super::{Sweep, project};
use crate::support::SandboxProc;

#[test]
fn paging_traces_and_loop_errors_show_no_secret() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb);
    // The echo answers with the query it got, the API key included: the cursor is
    // the key, sent back, echoed again, and the walk stops as a loop (exit 4).
    p.write(
        "requests/echo_cursor.yaml",
        "url: /_sandbox/echo\npaginate: {cursor: $.query.api_key, param: cursor, items: $.query}\n",
    );
    // The same with the bearer token, through a POST's form body.
    p.write(
        "requests/echo_cursor_form.yaml",
        "method: POST\nurl: /_sandbox/echo\nbody: {form: {a: {b: 1}}}\npaginate: {cursor: $.headers.authorization, param: cursor, items: $.query}\n",
    );
    let mut sweep = Sweep::new();
    for (file, profile) in [
        ("requests/echo_cursor.yaml", "key"),
        ("requests/echo_cursor_form.yaml", "default"),
        ("requests/echo_cursor_form.yaml", "oauth"),
    ] {
        for v in [&[][..], &["-vv"]] {
            let args = [&["exec", file, "-p", profile, "-o", "jsonl"][..], v].concat();
            let r = sweep.runner_stderr(&p, &args, "the echo's query: response data");
            assert_eq!(r.code, 4, "{args:?}: {}", r.stderr);
            // The canary is live: the cursor was the credential, shown masked.
            assert!(
                r.stderr.contains("pagination loops: the cursor `")
                    && r.stderr.contains("***` came back again"),
                "{}",
                r.stderr
            );
        }
    }
    // Every style against the sandbox with a session, and a GraphQL error (exit 1).
    p.write(
        "requests/stripe.yaml",
        "url: /api/v1/paged/stripe\nquery: {limit: 100}\npaginate: {cursor: \"$.data[-1:].id\", param: starting_after, has_more: $.has_more, items: $.data}\n",
    );
    p.write(
        "requests/link.yaml",
        "url: /api/v1/paged/link\nquery: {per_page: 100}\npaginate: {link_header: next, items: $}\n",
    );
    p.write(
        "requests/gql_error.yaml",
        "url: /api/v1/paged/graphql\nbody: {graphql: {query: \"{ viewer { login } }\"}}\n",
    );
    for (file, code) in [
        ("requests/stripe.yaml", 0),
        ("requests/link.yaml", 0),
        ("requests/gql_error.yaml", 1),
    ] {
        let args = ["exec", file, "-p", "oauth", "-vv", "-o", "none"];
        let r = sweep.runner(&p, &args, &[]);
        assert_eq!(r.code, code, "{file}: {}", r.stderr);
    }
    sweep.finish();
}
