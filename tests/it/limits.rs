//! Issue 11, points 4 and 9: every number is range-checked where it is given (exit 2,
//! its place and the allowed range), and every file read is bounded, pipes and
//! devices included (exit 2 naming the file and the limit, in bounded time and memory).

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Project, Run, bin};

/// A project whose default profile points at a closed port: a request that were sent
/// would fail with exit 4, not 2.
fn project() -> Project {
    let p = Project::new();
    p.write("profiles/default.yaml", "base_url: http://127.0.0.1:1\n");
    p.write("requests/ok.yaml", "url: /x\n");
    p
}

/// `runner ARGS` under a 4 GB address-space limit, killed (and the test failed) after
/// 20 s; `stdin` is fed from `input`.
fn bounded(p: &Project, args: &[&str], input: Stdio) -> Run {
    let mut script = String::from("ulimit -v 4000000; exec \"$0\"");
    for i in 0..args.len() {
        script.push_str(&format!(" \"${}\"", i + 1));
    }
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .arg(bin())
        .args(args)
        .current_dir(p.dir.path())
        .env("RUNNER_STATE_DIR", p.state.path())
        .env_remove("RUNNER_PROFILE")
        .env_remove("RUNNER_ROOT")
        .stdin(input)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("runner {args:?} ran for more than 20 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap().into()
}

#[test]
fn numbers_in_files_are_checked_against_their_range_at_their_place() {
    let p = project();
    p.write(
        "requests/numbers.yaml",
        "url: /x\ntimeout: 99999999999999999999999999999\nretries: 4294967295\npaginate: {next_url: $.next, items: $.items, max_pages: 0}\n",
    );
    let expected = "\
error: timeout must be a number from 0.001 to 86400 seconds
  --> requests/numbers.yaml:2:10
  |
2 | timeout: 99999999999999999999999999999
  |          ^
error: retries must be a whole number from 0 to 100
  --> requests/numbers.yaml:3:10
  |
3 | retries: 4294967295
  |          ^
error: paginate.max_pages must be a whole number from 1 to 1000000
  --> requests/numbers.yaml:4:57
  |
4 | paginate: {next_url: $.next, items: $.items, max_pages: 0}
  |                                                         ^
error: 3 problems found
";
    for cmd in ["exec", "check"] {
        let r = p.run(&[cmd, "requests/numbers.yaml"]);
        assert_eq!((r.code, r.stderr.as_str()), (2, expected), "runner {cmd}");
    }

    p.write(
        "profiles/numbers.yaml",
        "base_url: http://127.0.0.1:1\nhttp:\n  timeout: 1e308\n  retries: -1\n  max_body: 18446744073709551616\n",
    );
    let expected = "\
error: http.timeout must be a number from 0.001 to 86400 seconds
  --> profiles/numbers.yaml:3:12
  |
3 |   timeout: 1e308
  |            ^
error: http.retries must be a whole number from 0 to 100
  --> profiles/numbers.yaml:4:12
  |
4 |   retries: -1
  |            ^
error: http.max_body must be a whole number from 1 to 1099511627776 bytes
  --> profiles/numbers.yaml:5:13
  |
5 |   max_body: 18446744073709551616
  |             ^
error: 3 problems found
";
    let r = p.run(&["exec", "requests/ok.yaml", "-p", "numbers"]);
    assert_eq!((r.code, r.stderr.as_str()), (2, expected));
    let r = p.run(&["check", "profiles/numbers.yaml"]);
    assert_eq!((r.code, r.stderr.as_str()), (2, expected));

    // The edges that are allowed load, and a fraction of a second is a timeout.
    p.write(
        "requests/edges.yaml",
        "url: /x\ntimeout: 86400\nretries: 100\npaginate: {next_url: $.next, items: $.items, max_pages: 1000000}\n",
    );
    p.write(
        "profiles/edges.yaml",
        "base_url: http://127.0.0.1:1\nhttp: {timeout: 0.001, retries: 0, max_body: 1099511627776}\n",
    );
    let r = p.run(&["check", "requests/edges.yaml", "profiles/edges.yaml"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (0, "checked 2 files: no problems\n")
    );
    let r = p.run(&["exec", "requests/ok.yaml", "-p", "edges", "--curl"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.ends_with("--max-time 0.001\n"), "{}", r.stdout);
}

#[test]
fn numbers_on_the_command_line_name_the_option_and_its_range() {
    let p = project();
    let cases: &[(&[&str], &str)] = &[
        (
            &["exec", "requests/ok.yaml", "--retries", "4294967295"],
            "error: invalid value '4294967295' for '--retries <N>': must be a whole number from 0 to 100\n",
        ),
        (
            &[
                "exec",
                "requests/ok.yaml",
                "--timeout",
                "99999999999999999999999999999",
            ],
            "error: invalid value '99999999999999999999999999999' for '--timeout <SECONDS>': must be a number from 0.001 to 86400 seconds\n",
        ),
        (
            &["exec", "requests/ok.yaml", "--timeout", "NaN"],
            "error: invalid value 'NaN' for '--timeout <SECONDS>': must be a number from 0.001 to 86400 seconds\n",
        ),
        (
            &["exec", "requests/ok.yaml", "--concurrency", "0"],
            "error: invalid value '0' for '--concurrency <N>': must be a whole number from 1 to 1024\n",
        ),
        (
            &[
                "sandbox",
                "--port",
                "0",
                "--access-ttl",
                "18446744073709551616",
            ],
            "error: invalid value '18446744073709551616' for '--access-ttl <SECONDS>': must be a whole number from 1 to 31536000 seconds\n",
        ),
        (
            &["sandbox", "--port", "0", "--refresh-ttl=-5"],
            "error: invalid value '-5' for '--refresh-ttl <SECONDS>': must be a whole number from 1 to 31536000 seconds\n",
        ),
        (
            &["sandbox", "--port", "0", "--latency", "1e12"],
            "error: invalid value '1e12' for '--latency <MS>': must be a whole number from 0 to 60000 milliseconds\n",
        ),
        (
            &["sandbox", "--port", "0", "--assets", "99999999999"],
            "error: invalid value '99999999999' for '--assets <N>': must be a whole number from 0 to 1000000\n",
        ),
        (
            &["sandbox", "--port", "0", "--fail-rate", "1.5"],
            "error: invalid value '1.5' for '--fail-rate <FRACTION>': must be a number from 0 to 1\n",
        ),
        (
            &["sandbox", "--port", "0", "--rate-limit", "0"],
            "error: invalid value '0' for '--rate-limit <PER_SECOND>': must be a whole number from 1 to 1000000\n",
        ),
    ];
    for (args, headline) in cases {
        let r = bounded(&p, args, Stdio::null());
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.starts_with(headline), "{args:?}: {}", r.stderr);
        assert_eq!(r.stdout, "", "{args:?}");
    }
    // The largest values allowed are taken.
    let r = p.run(&[
        "exec",
        "requests/ok.yaml",
        "--retries",
        "100",
        "--timeout",
        "86400",
        "--concurrency",
        "1024",
        "--curl",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.ends_with("--max-time 86400\n"), "{}", r.stdout);
}

#[test]
fn a_request_from_a_pipe_that_never_ends_stops_at_the_yaml_limit() {
    let p = project();
    let fifo = p.path("requests/endless.yaml");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    // Writes until runner closes its end (then the write fails with EPIPE).
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
        let line = format!("# {}\n", "x".repeat(1022));
        let mut written = 0u64;
        while f.write_all(line.as_bytes()).is_ok() {
            written += line.len() as u64;
        }
        written
    });
    let r = bounded(&p, &["exec", "requests/endless.yaml"], Stdio::null());
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            2,
            "error: file is larger than 16 MiB, the limit for YAML files\n  --> requests/endless.yaml\n"
        )
    );
    let written = writer.join().unwrap();
    assert!(written > 16 * 1024 * 1024, "{written}");

    // A mistake in a pipe's text is located without reading the pipe again (which
    // would wait for a writer that never comes).
    let fifo = p.path("requests/once.yaml");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
        f.write_all(b"url: /x\nbogus: 1\n").unwrap();
    });
    let r = bounded(&p, &["exec", "requests/once.yaml"], Stdio::null());
    writer.join().unwrap();
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("error: unknown field `bogus`")
            && r.stderr.ends_with("  --> requests/once.yaml:2:1\n"),
        "{}",
        r.stderr
    );

    // /dev/stdin is read the same way: a request from a pipe works...
    let mut child = Command::new(bin())
        .args(["exec", "/dev/stdin", "--dry-run"])
        .current_dir(p.dir.path())
        .env("RUNNER_STATE_DIR", p.state.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"url: /from-stdin\n")
        .unwrap();
    let r: Run = child.wait_with_output().unwrap().into();
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (0, "GET http://127.0.0.1:1/from-stdin\n", "")
    );
    // ...and one that never ends stops at the limit.
    let zero = std::fs::File::open("/dev/zero").unwrap();
    let r = bounded(&p, &["exec", "/dev/stdin"], zero.into());
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            2,
            "error: file is larger than 16 MiB, the limit for YAML files\n  --> /dev/stdin\n"
        )
    );
}

#[test]
fn data_vars_body_and_ca_files_that_never_end_stop_at_their_limit() {
    let p = project();
    p.write(
        "requests/upload.yaml",
        "method: POST\nurl: /x\nbody: {file: /dev/zero}\n",
    );
    let cases: &[(&[&str], &str)] = &[
        (
            &["exec", "requests/upload.yaml"],
            "error: body file /dev/zero is larger than 1 GiB, the limit for body files\n  --> requests/upload.yaml:3:14\n",
        ),
        (
            &["exec", "requests/ok.yaml", "--data", "/dev/zero"],
            "error: data file is larger than 1 GiB, the limit for data files\n  --> /dev/zero\n",
        ),
        (
            &["exec", "requests/ok.yaml", "--vars", "/dev/zero"],
            "error: file is larger than 16 MiB, the limit for YAML files\n  --> /dev/zero\n",
        ),
        (
            &["exec", "requests/ok.yaml", "--cacert", "/dev/zero"],
            "error: the CA certificate is larger than 16 MiB, the limit for CA certificate files\n  --> /dev/zero\n",
        ),
    ];
    for (args, expected) in cases {
        let r = bounded(&p, args, Stdio::null());
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.starts_with(expected), "{args:?}: {}", r.stderr);
    }

    // A data file from a pipe still works.
    let mut child = Command::new(bin())
        .args([
            "exec",
            "requests/ok.yaml",
            "--data",
            "/dev/stdin",
            "--dry-run",
        ])
        .current_dir(p.dir.path())
        .env("RUNNER_STATE_DIR", p.state.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"{\"a\": 1}\n{\"a\": 2}\n")
        .unwrap();
    let r: Run = child.wait_with_output().unwrap().into();
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "GET http://127.0.0.1:1/x\n\nGET http://127.0.0.1:1/x\n"),
        "{}",
        r.stderr
    );
}
