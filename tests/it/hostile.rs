//! Issue 7: hostile and broken input in every file kind gives exit 2 and a message
//! naming the file (and line), in bounded time and memory, never a panic.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{Limits, Project, assert_no_panic, repo_root};

/// How each corpus file is fed to runner.
#[derive(Clone, Copy)]
enum Kind {
    /// `runner exec FILE` (requests and flows).
    Exec,
    /// Installed as a profile, used with `-p`.
    Profile,
    /// `runner exec ok.yaml --data FILE`.
    Data,
    /// `runner exec ok.yaml --vars FILE`.
    Vars,
}

/// (file under tests/corpus/bad, kind, what stderr must contain, a line number is known)
const CASES: &[(&str, Kind, &str, bool)] = &[
    (
        "request/bad_extract_path.yaml",
        Kind::Exec,
        "invalid JSONPath `$.items[*`",
        true,
    ),
    (
        "request/bad_method.yaml",
        Kind::Exec,
        "invalid HTTP method `GET POST`",
        true,
    ),
    (
        "request/bad_paginate_path.yaml",
        Kind::Exec,
        "invalid JSONPath `next_page`",
        true,
    ),
    (
        "request/billion_laughs.yaml",
        Kind::Exec,
        "expands too much through aliases",
        true,
    ),
    // Found by the request fuzzer: took seconds before the alias replay budget was cut.
    (
        "request/fuzz_unclosed_escape.yaml",
        Kind::Exec,
        "the string literal at position 3 is not closed",
        true,
    ),
    (
        "request/fuzz_slow_aliases.yaml",
        Kind::Exec,
        "expands too much through aliases",
        true,
    ),
    (
        "request/body_file_missing.yaml",
        Kind::Exec,
        "cannot read body file",
        true,
    ),
    (
        "request/deep_nesting.yaml",
        Kind::Exec,
        "recursion limit exceeded",
        true,
    ),
    (
        "request/duplicate_key.yaml",
        Kind::Exec,
        "duplicate mapping key: url",
        true,
    ),
    ("request/empty.yaml", Kind::Exec, "is the file empty?", true),
    (
        "request/empty_body.yaml",
        Kind::Exec,
        "body needs one of json, form, text, file, multipart, graphql",
        true,
    ),
    (
        "request/env_missing.yaml",
        Kind::Exec,
        "environment variable `RUNNER_CORPUS_UNSET_VARIABLE` is not set",
        true,
    ),
    (
        "request/expect_status_text.yaml",
        Kind::Exec,
        "expected a status code or a list of status codes",
        true,
    ),
    (
        "request/file_dev_zero.yaml",
        Kind::Exec,
        "file(`/dev/zero`): the file is larger than 64 MiB, the limit for file()",
        true,
    ),
    (
        "request/file_directory.yaml",
        Kind::Exec,
        "is a directory",
        true,
    ),
    (
        "request/file_missing.yaml",
        Kind::Exec,
        "no-such-file.txt",
        true,
    ),
    (
        "request/huge_float.yaml",
        Kind::Exec,
        "non-finite float `1e999` is not allowed here: expected a finite number",
        true,
    ),
    (
        "request/huge_int.yaml",
        Kind::Exec,
        "retries must be a whole number from 0 to 100",
        true,
    ),
    // Issue 11: numbers out of their range, and headers that cannot be sent.
    (
        "request/huge_timeout.yaml",
        Kind::Exec,
        "timeout must be a number from 0.001 to 86400 seconds",
        true,
    ),
    (
        "request/huge_retries.yaml",
        Kind::Exec,
        "retries must be a whole number from 0 to 100",
        true,
    ),
    (
        "request/fractional_retries.yaml",
        Kind::Exec,
        "retries must be a whole number from 0 to 100",
        true,
    ),
    (
        "request/zero_max_pages.yaml",
        Kind::Exec,
        "paginate.max_pages must be a whole number from 1 to 1000000",
        true,
    ),
    (
        "request/nan_timeout.yaml",
        Kind::Exec,
        "non-finite float `.nan` is not allowed here",
        true,
    ),
    (
        "request/header_crlf.yaml",
        Kind::Exec,
        "the value of header `X-A` holds a carriage return",
        true,
    ),
    (
        "request/header_bad_name.yaml",
        Kind::Exec,
        "header `X A` is not a valid header name",
        true,
    ),
    (
        "profile/huge_max_body.yaml",
        Kind::Profile,
        "http.max_body must be a whole number from 1 to 1099511627776 bytes",
        true,
    ),
    (
        "profile/bad_auth_header.yaml",
        Kind::Profile,
        "auth: header `X Key` is not a valid header name",
        true,
    ),
    (
        "profile/header_lf.yaml",
        Kind::Profile,
        "the value of header `X-A` holds a line feed",
        true,
    ),
    (
        "request/invalid_url.yaml",
        Kind::Exec,
        "invalid URL `http://[::1`",
        true,
    ),
    (
        "request/invalid_utf8.yaml",
        Kind::Exec,
        "file is not valid UTF-8",
        true,
    ),
    (
        "request/merge_not_map.yaml",
        Kind::Exec,
        "merge value must be mapping",
        true,
    ),
    (
        "request/missing_url.yaml",
        Kind::Exec,
        "missing field `url`",
        true,
    ),
    (
        "request/negative_retries.yaml",
        Kind::Exec,
        "retries must be a whole number from 0 to 100",
        true,
    ),
    (
        "request/null_url.yaml",
        Kind::Exec,
        "expected a string, found null",
        true,
    ),
    (
        "request/only_comment.yaml",
        Kind::Exec,
        "is the file empty?",
        true,
    ),
    (
        "request/paginate_without_next.yaml",
        Kind::Exec,
        "paginate needs a way to find the next page: next_url",
        true,
    ),
    ("request/tab_indent.yaml", Kind::Exec, "found a tab", true),
    (
        "request/template_loop.yaml",
        Kind::Exec,
        "template does too much work",
        true,
    ),
    (
        "request/template_recursion.yaml",
        Kind::Exec,
        "recursion limit exceeded",
        true,
    ),
    (
        "request/template_syntax.yaml",
        Kind::Exec,
        "syntax error",
        true,
    ),
    (
        "request/top_level_list.yaml",
        Kind::Exec,
        "expected a mapping",
        true,
    ),
    (
        "request/two_bodies.yaml",
        Kind::Exec,
        "found json and form",
        true,
    ),
    (
        "request/two_documents.yaml",
        Kind::Exec,
        "found several (---)",
        true,
    ),
    (
        "request/undefined_variable.yaml",
        Kind::Exec,
        "undefined variable `asset_id`",
        true,
    ),
    (
        "request/unknown_alias.yaml",
        Kind::Exec,
        "unknown anchor",
        true,
    ),
    (
        "request/unknown_function.yaml",
        Kind::Exec,
        "unknown function",
        true,
    ),
    (
        "request/unknown_key.yaml",
        Kind::Exec,
        "unknown field `headerz`",
        true,
    ),
    (
        "request/wrong_type_query.yaml",
        Kind::Exec,
        "expected a mapping",
        true,
    ),
    (
        "request/wrong_type_timeout.yaml",
        Kind::Exec,
        "timeout must be a number from 0.001 to 86400 seconds",
        true,
    ),
    (
        "request/zero_timeout.yaml",
        Kind::Exec,
        "timeout must be a number from 0.001 to 86400 seconds",
        true,
    ),
    (
        "flow/bad_step_extract.yaml",
        Kind::Exec,
        "invalid JSONPath `$[`",
        true,
    ),
    ("flow/missing_step.yaml", Kind::Exec, "step 1 (", true),
    (
        "flow/no_steps.yaml",
        Kind::Exec,
        "a flow needs at least one step",
        false,
    ),
    (
        "flow/ping.yaml",
        Kind::Exec,
        "flows nest more than 16 deep",
        false,
    ),
    (
        "flow/pong.yaml",
        Kind::Exec,
        "flows nest more than 16 deep",
        false,
    ),
    (
        "flow/runs_itself.yaml",
        Kind::Exec,
        "flows nest more than 16 deep",
        false,
    ),
    (
        "flow/steps_not_list.yaml",
        Kind::Exec,
        "expected a list",
        true,
    ),
    (
        "profile/bad_base_url.yaml",
        Kind::Profile,
        "invalid URL `not a url`",
        true,
    ),
    (
        "profile/bearer_without_token.yaml",
        Kind::Profile,
        "auth type `bearer` needs `token`",
        true,
    ),
    (
        "profile/negative_timeout.yaml",
        Kind::Profile,
        "http.timeout must be a number from 0.001 to 86400 seconds",
        true,
    ),
    (
        "profile/oauth_without_token_url.yaml",
        Kind::Profile,
        "needs `token_url`",
        true,
    ),
    (
        "profile/token_request_xml.yaml",
        Kind::Profile,
        "unknown variant `xml`",
        true,
    ),
    (
        "profile/unknown_auth_type.yaml",
        Kind::Profile,
        "unknown variant `kerberos`",
        true,
    ),
    (
        "profile/vars_not_map.yaml",
        Kind::Profile,
        "expected a mapping",
        true,
    ),
    ("data/broken.jsonl", Kind::Data, "invalid JSON", true),
    ("data/empty.csv", Kind::Data, "needs a header row", true),
    ("data/invalid_utf8.csv", Kind::Data, "not valid UTF-8", true),
    (
        "data/non_object.jsonl",
        Kind::Data,
        "each data row must be a JSON object",
        true,
    ),
    (
        "data/not_array.json",
        Kind::Data,
        "must hold an array of objects",
        false,
    ),
    (
        "data/unequal.csv",
        Kind::Data,
        "this row has 1 fields; the header has 2",
        true,
    ),
    ("vars/broken.yaml", Kind::Vars, "unclosed bracket", true),
    ("vars/list.yaml", Kind::Vars, "expected a mapping", true),
];

fn corpus() -> std::path::PathBuf {
    repo_root().join("tests/corpus/bad")
}

fn files_under(dir: &Path, base: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            files_under(&e.path(), base, out);
        } else {
            out.push(
                e.path()
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
}

/// Every corpus run: killed (failing the test) after 20 s, under 512 MiB of address
/// space.
const CORPUS_LIMITS: Limits = Limits::deadline(20).memory_mib(512);

#[test]
fn every_corpus_file_has_a_case() {
    let mut on_disk = Vec::new();
    files_under(&corpus(), &corpus(), &mut on_disk);
    on_disk.sort();
    let mut listed: Vec<String> = CASES.iter().map(|c| c.0.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
    assert!(CASES.len() >= 40);
}

#[test]
fn hostile_input_gives_exit_2_and_a_place_never_a_panic() {
    let p = Project::new();
    p.write("profiles/default.yaml", "base_url: http://127.0.0.1:1\n");
    p.write("requests/ok.yaml", "url: /x\n");
    crate::support::copy_dir(&corpus(), &p.path("corpus"));
    let mut failures = Vec::new();
    for (file, kind, fragment, has_line) in CASES {
        let rel = format!("corpus/{file}");
        let (args, shown): (Vec<String>, String) = match kind {
            Kind::Exec => (vec!["exec".into(), rel.clone()], rel.clone()),
            Kind::Profile => {
                let name = Path::new(file)
                    .file_stem()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                std::fs::copy(p.path(&rel), p.path(&format!("profiles/{name}.yaml"))).unwrap();
                (
                    vec![
                        "exec".into(),
                        "requests/ok.yaml".into(),
                        "-p".into(),
                        name.clone(),
                    ],
                    format!("profiles/{name}.yaml"),
                )
            }
            Kind::Data => (
                vec![
                    "exec".into(),
                    "requests/ok.yaml".into(),
                    "--data".into(),
                    rel.clone(),
                ],
                rel.clone(),
            ),
            Kind::Vars => (
                vec![
                    "exec".into(),
                    "requests/ok.yaml".into(),
                    "--vars".into(),
                    rel.clone(),
                ],
                rel.clone(),
            ),
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = p.run_limited(&args, &[], CORPUS_LIMITS);
        assert_no_panic(&r);
        let pointer = format!("--> {shown}{}", if *has_line { ":" } else { "" });
        let ok = r.code == 2
            && r.stderr.contains(fragment)
            && r.stderr.contains(&pointer)
            && r.stdout.is_empty();
        if !ok {
            failures.push(format!("{file}: exit {}\n{}", r.code, r.stderr));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn tls_is_verified_and_a_private_authority_can_be_trusted() {
    let ca_dir = tempfile::tempdir().unwrap();
    let ca = ca_dir.path().join("ca.pem");
    let sb = crate::support::SandboxProc::start(&["--tls", "--ca-out", ca.to_str().unwrap()]);
    assert!(sb.url.starts_with("https://127.0.0.1:"), "{}", sb.url);
    let p = Project::new();
    let profile = crate::support::sandbox_profile(&sb.url, "");
    p.write("profiles/default.yaml", &profile);
    p.write(
        "requests/list.yaml",
        "url: /assets\nquery: {limit: 1}\nextract: {total: $.total_items}\n",
    );

    let r = p.run(&["exec", "requests/list.yaml", "--retries", "0"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains("invalid peer certificate: UnknownIssuer"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--cacert"), "{}", r.stderr);

    let r = p.run(&[
        "exec",
        "requests/list.yaml",
        "--cacert",
        ca.to_str().unwrap(),
    ]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "{\"total\":250}\n"),
        "{}",
        r.stderr
    );

    std::fs::copy(&ca, p.path("ca.pem")).unwrap();
    p.write(
        "profiles/pinned.yaml",
        &format!("{profile}http:\n  ca_cert: ca.pem\n"),
    );
    let r = p.run(&["exec", "requests/list.yaml", "-p", "pinned"]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""), "{}", r.stderr);

    p.write(
        "profiles/loose.yaml",
        &format!("{profile}http:\n  insecure: true\n"),
    );
    let r = p.run(&["exec", "requests/list.yaml", "-p", "loose"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "warning: profile `loose` sets http.insecure: TLS certificates are not verified\n"
    );
}

#[test]
fn bodies_over_max_body_and_bodies_that_never_end_are_stopped() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Answers every connection with headers, then body bytes forever (until the
    // client hangs up).
    std::thread::spawn(move || {
        for conn in listener.incoming().take(2).flatten() {
            std::thread::spawn(move || {
                let mut conn = conn;
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf);
                let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
                let chunk = format!("{:x}\r\n{}\r\n", 8192, "x".repeat(8192));
                let deadline = Instant::now() + Duration::from_secs(30);
                while Instant::now() < deadline && conn.write_all(chunk.as_bytes()).is_ok() {
                    std::thread::sleep(Duration::from_millis(1));
                }
            });
        }
    });
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        &format!("base_url: http://{addr}\nhttp:\n  max_body: 100000\n"),
    );
    p.write(
        "profiles/unbounded.yaml",
        &format!("base_url: http://{addr}\n"),
    );
    p.write("requests/big.yaml", "url: /big\n");
    // max_body bounds what is held: a tree for -o json.
    let r = p.run(&["exec", "requests/big.yaml", "--retries", "0", "-o", "json"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("is larger than 100000 bytes (http.max_body), the most runner holds"),
        "{}",
        r.stderr
    );
    // A body that never ends is cut by the timeout, in bounded memory: the harness
    // kills runner (failing the test) if it is still reading after 20 s.
    let r = p.run_limited(
        &[
            "exec",
            "requests/big.yaml",
            "-p",
            "unbounded",
            "--timeout",
            "1",
            "--retries",
            "0",
        ],
        &[],
        Limits::deadline(20).memory_mib(512),
    );
    assert_no_panic(&r);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("timed out after 1 s"), "{}", r.stderr);
}

/// The fuzz targets' entry points over every committed file, on stable Rust: what
/// the fuzzers start from stays a regression test (they have found no crash so far;
/// a crasher would be added under tests/corpus/bad with its expected message).
#[test]
fn fuzz_entry_points_survive_the_committed_corpus() {
    let mut files = Vec::new();
    for dir in ["tests/corpus/bad", "requests", "profiles", "data"] {
        let root = repo_root().join(dir);
        let mut rel = Vec::new();
        files_under(&root, &root, &mut rel);
        files.extend(rel.into_iter().map(|r| root.join(r)));
    }
    assert!(files.len() > 80, "{} files", files.len());
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        runner::fuzzing::request(&text);
        runner::fuzzing::profile(&text);
        runner::fuzzing::data(&bytes);
        runner::fuzzing::template(&text);
        runner::fuzzing::extract(&text);
        runner::fuzzing::page(&bytes);
        runner::fuzzing::pkcs12(&bytes);
    }
}
