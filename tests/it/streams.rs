//! Issue 12: big bodies stream both ways in bounded memory, and an interrupted or
//! killed bulk run loses nothing: `--failed` (after a signal) and `--resume` (after a
//! SIGKILL) finish the job with every row created once (or, for rows in flight at a
//! kill, at most twice).

use std::collections::HashMap;
use std::io::Read;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Project, SandboxProc};

const GIB: u64 = 1 << 30;
/// What a streaming run may peak at, whatever the body's size.
const MAX_RSS_KIB: i64 = 64 * 1024;

/// Watches `child`'s peak resident memory (VmHWM, in KiB) until it exits. The
/// kernel's own rusage for a child would count the test process too: a child starts
/// as a copy of its parent, and the peak survives exec.
fn watch_peak(child: &Child) -> std::thread::JoinHandle<i64> {
    let status = format!("/proc/{}/status", child.id());
    std::thread::spawn(move || {
        let mut peak = 0;
        while let Ok(text) = std::fs::read_to_string(&status) {
            // A zombie has no memory lines: the last value read is the peak.
            let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            else {
                break;
            };
            peak = kib;
            std::thread::sleep(Duration::from_millis(5));
        }
        peak
    })
}

/// Waits for `child`: its exit code and the peak that `watch` saw.
fn wait_with_peak(mut child: Child, watch: std::thread::JoinHandle<i64>) -> (i32, i64) {
    let status = child.wait().unwrap();
    (status.code().unwrap_or(-1), watch.join().unwrap())
}

/// Reads `child`'s stdout to the end, counting the bytes and keeping the last few.
fn drain(child: &mut Child) -> (u64, Vec<u8>) {
    let mut out = child.stdout.take().expect("stdout piped");
    let mut buf = vec![0u8; 1 << 16];
    let (mut n, mut tail) = (0u64, Vec::new());
    loop {
        let got = out.read(&mut buf).unwrap();
        if got == 0 {
            return (n, tail);
        }
        n += got as u64;
        tail = buf[got.saturating_sub(16)..got].to_vec();
    }
}

fn project_for(sb: &SandboxProc) -> Project {
    let p = Project::with_sandbox(&sb.url);
    p.write(
        "requests/bytes.yaml",
        &format!(
            "url: \"{}/_sandbox/bytes?n={{{{ n }}}}\"\nauth: none\n",
            sb.url
        ),
    );
    p
}

#[test]
fn a_gigabyte_download_streams_in_bounded_memory() {
    let sb = SandboxProc::start(&[]);
    let p = project_for(&sb);
    let n = GIB.to_string();
    let var = format!("n={n}");
    for mode in ["raw", "body", "none"] {
        let mut child = p
            .cmd(&["exec", "requests/bytes.yaml", "--var", &var, "-o", mode])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let watch = watch_peak(&child);
        let (bytes, tail) = drain(&mut child);
        let (code, peak) = wait_with_peak(child, watch);
        assert_eq!(code, 0, "{mode}");
        let expected = if mode == "none" { 0 } else { GIB };
        assert_eq!(bytes, expected, "{mode}: every byte as sent");
        if mode != "none" {
            // The sandbox's pattern: digits, a newline every 64 bytes.
            assert!(
                tail.iter().all(|b| b.is_ascii_digit() || *b == b'\n'),
                "{mode}"
            );
        }
        assert!(peak < MAX_RSS_KIB, "{mode}: peak {peak} KiB");
    }
    // Held for a tree, it meets http.max_body, which says what to do instead.
    let r = p.run(&["exec", "requests/bytes.yaml", "--var", &var, "-o", "json"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains("(http.max_body), the most runner holds to parse or pretty-print a body; -o raw, -o none, or -o body off a terminal stream any size"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_gigabyte_upload_streams_from_disk() {
    let sb = SandboxProc::start(&[]);
    let p = project_for(&sb);
    // Sparse: a gigabyte of zeros that takes no disk.
    let big = p.path("big.bin");
    std::fs::File::create(&big).unwrap().set_len(GIB).unwrap();
    p.write(
        "requests/up.yaml",
        &format!(
            "method: POST\nurl: {}/_sandbox/sink\nauth: none\nbody: {{file: ../big.bin}}\n",
            sb.url
        ),
    );
    p.write(
        "requests/doc.yaml",
        "method: POST\nurl: /documents\nbody: {multipart: {file: {file: ../big.bin}, name: Big}}\nexpect: {status: 201}\n",
    );
    for (file, key) in [("requests/up.yaml", "bytes"), ("requests/doc.yaml", "size")] {
        let mut child = p
            .cmd(&["exec", file, "-o", "json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let watch = watch_peak(&child);
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        let (code, peak) = wait_with_peak(child, watch);
        assert_eq!(code, 0, "{file}: {out}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["body"][key], GIB, "{file}: {v}");
        assert!(peak < MAX_RSS_KIB, "{file}: peak {peak} KiB");
    }
    // Previews name the file and its size; they never read it.
    let r = p.run(&["exec", "requests/up.yaml", "--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains(&format!("<file requests/../big.bin ({GIB} bytes)>")),
        "{}",
        r.stdout
    );
    let r = p.run(&["exec", "requests/doc.yaml", "--curl"]);
    assert!(
        r.stdout
            .contains("-F 'file=@requests/../big.bin;filename=big.bin'"),
        "{}",
        r.stdout
    );
}

/// A deterministic sequence of delays for the signal tests (xorshift).
fn delays(seed: u64, n: usize, max: Duration) -> Vec<Duration> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            max.mul_f64((x % 10_000) as f64 / 10_000.0)
        })
        .collect()
}

const ROWS: usize = 2000;
const CONCURRENCY: &str = "4";

/// A project that creates one asset per row of `rows.csv` (names `row-N`), and a
/// request that lists every asset's name.
fn bulk_project(sb: &SandboxProc) -> Project {
    let p = Project::with_sandbox(&sb.url);
    let mut csv = String::from("name,family_id\n");
    for i in 1..=ROWS {
        csv.push_str(&format!("row-{i},7\n"));
    }
    p.write("rows.csv", &csv);
    p.write(
        "requests/create.yaml",
        "method: POST\nurl: /assets\nbody: {json: {name: \"{{ name }}\", family_id: \"{{ family_id }}\"}}\nexpect: {status: 201}\nretries: 0\n",
    );
    p.write(
        "requests/names.yaml",
        "url: /assets\nquery: {limit: 100}\npaginate: {next_url: $.next_page, items: $.items}\n",
    );
    p
}

/// How many assets the sandbox holds with each `row-N` name.
fn created(p: &Project) -> HashMap<String, usize> {
    let r = p.run(&["exec", "requests/names.yaml", "-o", "jsonl"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut counts = HashMap::new();
    for line in r.stdout.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let name = v["name"].as_str().unwrap_or("").to_string();
        if name.starts_with("row-") {
            *counts.entry(name).or_insert(0) += 1;
        }
    }
    counts
}

fn start_bulk(p: &Project, extra: &[&str], stdout: Stdio) -> Child {
    let mut args = vec![
        "exec",
        "requests/create.yaml",
        "--concurrency",
        CONCURRENCY,
        "-q",
    ];
    args.extend_from_slice(extra);
    p.cmd(&args)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// How long a whole bulk run of `ROWS` takes on this machine now (in a sandbox of its
/// own). Signals are timed across it, so that they land mid-run however fast the
/// build and the machine are: a fixed span let a faster runner finish first.
fn uninterrupted_run_time() -> Duration {
    let sb = SandboxProc::start(&[]);
    let p = bulk_project(&sb);
    let started = Instant::now();
    let (code, err) = finish(start_bulk(&p, &["--data", "rows.csv"], Stdio::null()));
    assert_eq!(code, 0, "{err}");
    assert_eq!(created(&p).len(), ROWS);
    started.elapsed()
}

/// Sends `signal` to `child` after `delay` (unless it ended first); its exit code
/// and stderr.
fn signal_after(child: Child, delay: Duration, signal: i32) -> (i32, String) {
    std::thread::sleep(delay);
    // SAFETY: the pid is our child's, which has not been waited for.
    unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    finish(child)
}

/// Waits for `child`: its exit code (128 + the signal that ended it) and stderr.
fn finish(mut child: Child) -> (i32, String) {
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    let code = status.code().unwrap_or_else(|| {
        128 + std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0)
    });
    (code, err)
}

#[test]
fn sigint_at_any_moment_then_the_failed_file_creates_every_row_once() {
    let mut interrupted_mid_run = 0;
    for (i, delay) in delays(0x5eed, 20, uninterrupted_run_time())
        .into_iter()
        .enumerate()
    {
        let sb = SandboxProc::start(&[]);
        let p = bulk_project(&sb);
        let out = std::fs::File::create(p.path("out.jsonl")).unwrap();
        let child = start_bulk(
            &p,
            &["--data", "rows.csv", "--failed", "failed.csv"],
            out.into(),
        );
        let (code, err) = signal_after(child, delay, libc::SIGINT);
        let lines = std::fs::read_to_string(p.path("out.jsonl")).unwrap();
        let printed = lines.lines().count();
        if code == 130 && err.is_empty() {
            // The signal came before runner listened for it (a loaded machine starts
            // processes slowly): the default action ended it before any row was sent.
            assert_eq!(printed, 0, "{i}: {lines}");
            assert!(created(&p).is_empty(), "{i}: rows sent before the handler");
            continue;
        }
        if code == 130 {
            interrupted_mid_run += 1;
            assert!(err.contains("interrupted: "), "{i}: {err}");
            // "interrupted: N done, M failed, K not run"
            let summary = err
                .lines()
                .find(|l| l.contains(" done, "))
                .unwrap_or_else(|| panic!("{i}: no summary in {err}"));
            let numbers: Vec<usize> = summary
                .split(|c: char| !c.is_ascii_digit())
                .filter_map(|s| s.parse().ok())
                .collect();
            assert_eq!(numbers.len(), 3, "{summary}");
            assert_eq!(numbers.iter().sum::<usize>(), ROWS, "{summary}");
            assert_eq!(
                numbers[0] + numbers[1],
                printed,
                "{i}: a line per finished row"
            );
        } else {
            assert_eq!(code, 0, "{i}: finished before the signal: {err}");
        }
        // Every line on stdout is a whole row result.
        for l in lines.lines() {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{i}: {e}: {l}"));
            assert!(v["row"].is_u64(), "{l}");
        }
        let failed = std::fs::read_to_string(p.path("failed.csv")).unwrap_or_default();
        if failed.lines().count() > 1 {
            let rerun = start_bulk(&p, &["--data", "failed.csv"], Stdio::null());
            let (code, err) = finish(rerun);
            assert_eq!(code, 0, "{i}: {err}");
        }
        let counts = created(&p);
        assert_eq!(
            counts.len(),
            ROWS,
            "{i} (signal after {delay:?}): rows missing"
        );
        let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "{i}: created twice: {twice:?}");
    }
    assert!(
        interrupted_mid_run > 0,
        "no signal landed mid-run: the test proved nothing"
    );
}

#[test]
fn sigkill_at_any_moment_then_resume_misses_nothing() {
    let mut killed_mid_run = 0;
    for (i, delay) in delays(0xdead, 10, uninterrupted_run_time())
        .into_iter()
        .enumerate()
    {
        let sb = SandboxProc::start(&[]);
        let p = bulk_project(&sb);
        let out = std::fs::File::create(p.path("out.jsonl")).unwrap();
        let child = start_bulk(&p, &["--data", "rows.csv"], out.into());
        let (code, _) = signal_after(child, delay, libc::SIGKILL);
        if code == 128 + libc::SIGKILL {
            killed_mid_run += 1;
        } else {
            assert_eq!(code, 0, "{i}");
        }
        // The shell way: append the rest of the run to the same output.
        let appended = std::fs::OpenOptions::new()
            .append(true)
            .open(p.path("out.jsonl"))
            .unwrap();
        let resumed = start_bulk(
            &p,
            &["--data", "rows.csv", "--resume", "out.jsonl"],
            appended.into(),
        );
        let (code, err) = finish(resumed);
        assert_eq!(code, 0, "{i}: {err}");
        let counts = created(&p);
        assert_eq!(
            counts.len(),
            ROWS,
            "{i} (kill after {delay:?}): rows missing"
        );
        let repeats: usize = counts.values().map(|n| n - 1).sum();
        assert!(
            repeats <= CONCURRENCY.parse().unwrap(),
            "{i}: {repeats} rows created twice"
        );
        // The output now says every row succeeded.
        let text = std::fs::read_to_string(p.path("out.jsonl")).unwrap();
        let ok: std::collections::HashSet<u64> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["ok"] == true)
            .filter_map(|v| v["row"].as_u64())
            .collect();
        assert_eq!(ok.len(), ROWS, "{i}");
    }
    assert!(
        killed_mid_run > 0,
        "no kill landed mid-run: the test proved nothing"
    );
}

#[test]
fn a_signal_during_one_request_lets_it_finish_and_exits_130() {
    let sb = SandboxProc::start(&["--latency", "1500"]);
    let p = Project::with_sandbox(&sb.url);
    p.write("requests/slow.yaml", "url: /assets\nquery: {limit: 1}\n");
    p.write(
        "requests/next.yaml",
        "url: /assets/00000000-0000-4000-8000-000000000001\n",
    );
    // Two files: the first is in flight when SIGTERM comes, the second never starts.
    let child = p
        .cmd(&["exec", "requests/slow.yaml", "requests/next.yaml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // In flight: the sandbox counted it (before its 1.5 s of latency).
    crate::support::wait_until(
        "the first request reaches the sandbox",
        Duration::from_secs(30),
        || sb.requests("GET /api/v1/assets") >= 1,
    );
    let (code, err) = signal_after(child, Duration::ZERO, libc::SIGTERM);
    assert_eq!(code, 143, "{err}");
    assert!(err.contains("interrupted: no new request starts"), "{err}");
    assert!(
        err.contains(&format!(
            "interrupted: GET {}/api/v1/assets/00000000-0000-4000-8000-000000000001 was not sent",
            sb.url
        )),
        "{err}"
    );
    let stats = sb.stats();
    assert_eq!(stats["requests"]["GET /api/v1/assets"], 1, "{stats}");
    assert!(
        stats["requests"].get("GET /api/v1/assets/{id}").is_none(),
        "{stats}"
    );
}

#[test]
fn the_sandbox_lists_what_a_signal_left_alone() {
    // The signal tests count through this listing: it must see what was created.
    let sb = SandboxProc::start(&[]);
    let p = bulk_project(&sb);
    assert!(created(&p).is_empty());
    let r = p.run(&[
        "exec",
        "requests/create.yaml",
        "--var",
        "name=row-1",
        "--var",
        "family_id=7",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(created(&p).get("row-1"), Some(&1));
}

#[test]
fn a_retried_upload_opens_its_file_again() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    p.write(
        "body.json",
        "{\"name\": \"Pump from a file\", \"family_id\": \"f-1\", \"status\": \"archived\"}",
    );
    p.write(
        "requests/put.yaml",
        "method: PUT\nurl: /assets/00000000-0000-4000-8000-000000000003\nheaders: {Content-Type: application/json}\nbody: {file: ../body.json}\nretries: 2\n",
    );
    // Log in first, so that the failures fall on the PUT.
    let r = p.run(&["exec", "requests/put.yaml", "--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(p.run(&["token"]).code, 0);
    sb.fail_next(2, 503);
    let r = p.run(&["exec", "requests/put.yaml", "-v"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stderr.matches("retrying PUT").count(), 2, "{}", r.stderr);
    // The third attempt sent the whole file again: the asset holds it.
    let v = r.json();
    assert_eq!(v["name"], "Pump from a file", "{v}");
    assert_eq!(v["status"], "archived", "{v}");
    assert_eq!(sb.requests("PUT /api/v1/assets/{id}"), 3);
}
