//! Issue 16: `runner serve`, driven by the real `curl` against the real sandbox.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::support::{
    Project, SandboxProc, assert_no_secret, finish, sandbox_profile, wait, wait_until,
};

const MIB: u64 = 1 << 20;

/// A running `runner serve`, stopped (SIGTERM) on drop.
pub(crate) struct Gateway {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`, or `unix:PATH`.
    pub(crate) url: String,
    pub(crate) key: String,
    stderr: Arc<Mutex<String>>,
    /// The thread reading stderr; it ends when the gateway's stderr closes.
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Gateway {
    pub(crate) fn start(p: &Project, args: &[&str]) -> Gateway {
        let mut child = p
            .cmd(&[&["serve"], args].concat())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn runner serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().to_string();
        // stderr is read to its end by a thread; the key line comes before the URL is
        // served, so it is there once it has been printed.
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut reader = BufReader::new(child.stderr.take().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        let buf = Arc::clone(&stderr);
        let reader = std::thread::spawn(move || {
            let mut l = String::new();
            while reader.read_line(&mut l).unwrap_or(0) > 0 {
                if l.starts_with("serve: access key") || l.starts_with("serve: no access key") {
                    let _ = tx.send(l.clone());
                }
                buf.lock().unwrap().push_str(&l);
                l.clear();
            }
        });
        assert!(!url.is_empty(), "runner serve printed no URL");
        let key_line = rx.recv_timeout(Duration::from_secs(30)).expect("key line");
        let key = key_line.rsplit(' ').next().unwrap().trim().to_string();
        Gateway {
            child: Some(child),
            url,
            key,
            stderr,
            reader: Some(reader),
        }
    }

    fn pid(&self) -> i32 {
        self.child.as_ref().unwrap().id() as i32
    }

    pub(crate) fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// `curl` through the gateway with the key: (status, body).
    pub(crate) fn curl(&self, path: &str, args: &[&str]) -> (u16, String) {
        let key = format!("X-Runner-Key: {}", self.key);
        curl(
            &[
                &["-H", key.as_str()],
                args,
                &[&format!("{}{path}", self.url)],
            ]
            .concat(),
        )
    }

    pub(crate) fn json(&self, path: &str, args: &[&str]) -> (u16, Value) {
        let (status, body) = self.curl(path, args);
        let v = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        (status, v)
    }

    /// Sends SIGTERM and waits: the exit code.
    pub(crate) fn stop(mut self) -> i32 {
        self.stop_child()
    }

    fn stop_child(&mut self) -> i32 {
        let child = self.child.take().unwrap();
        signal(child.id() as i32, libc::SIGTERM);
        let mut child = child;
        let status = child.wait().unwrap();
        status.code().unwrap_or(-1)
    }

    /// Sends SIGTERM, waits for the exit and for stderr's end: the exit code and all
    /// the gateway wrote to stderr.
    pub(crate) fn stop_with_stderr(mut self) -> (i32, String) {
        let reader = self.reader.take();
        let code = self.stop_child();
        if let Some(r) = reader {
            r.join().unwrap();
        }
        (code, self.stderr())
    }

    /// The peak resident memory so far (VmHWM), in KiB.
    fn peak_kib(&self) -> u64 {
        let text = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn signal(pid: i32, sig: i32) {
    // SAFETY: sending a signal to a child this test started.
    unsafe {
        libc::kill(pid, sig);
    }
}

/// The real `curl -sS ARGS`: (status, body). Status 0: no HTTP answer.
pub(crate) fn curl(args: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "60", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl is installed");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

/// A project whose `default` profile is the sandbox's `/api/v1` and whose `root`
/// profile is the sandbox's root (for its `/_sandbox` routes), same identity.
pub(crate) fn project(sb: &SandboxProc) -> Project {
    let p = Project::with_sandbox(&sb.url);
    let root = sandbox_profile(&sb.url, "").replace(
        &format!("base_url: {}/api/v1", sb.url),
        &format!("base_url: {}", sb.url),
    );
    p.write("profiles/root.yaml", &root);
    p
}

#[test]
fn pages_and_a_create_go_through_with_the_session() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb);
    let gw = Gateway::start(&p, &["-v", "--access-log", "access.jsonl"]);
    assert!(gw.url.starts_with("http://127.0.0.1:"), "{}", gw.url);
    assert_eq!(gw.key.len(), 64, "256 bits, hex");
    // Every page, following the API's own links (paths under base_url's).
    let mut next = Some("/assets?limit=100".to_string());
    let mut ids = Vec::new();
    while let Some(path) = next {
        let (status, page) = gw.json(&path, &[]);
        assert_eq!(status, 200, "{page}");
        ids.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].clone()),
        );
        next = page["next_page"].as_str().map(str::to_string);
    }
    assert_eq!(ids.len(), 250);
    // The key may come in the query instead; it is not forwarded.
    let (status, _) = curl(&[&format!("{}/assets?limit=1&runner_key={}", gw.url, gw.key)]);
    assert_eq!(status, 200);
    let (status, created) = gw.json(
        "/assets",
        &[
            "-H",
            "Content-Type: application/json",
            "-d",
            r#"{"name":"Pump 12"}"#,
        ],
    );
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let (status, got) = gw.json(&format!("/assets/{id}"), &[]);
    assert_eq!((status, got["name"].as_str()), (200, Some("Pump 12")));
    assert_eq!(sb.token_requests("password"), 1);
    // The client's credentials and the key never reach the API; the session's do.
    let root = Gateway::start(&p, &["-p", "root"]);
    let (status, echo) = root.json(
        &format!("/_sandbox/echo?a=1&runner_key={}", root.key),
        &[
            "-H",
            "Authorization: Bearer client-own",
            "-H",
            "Cookie: s=1",
            "-H",
            "X-Api-Key: k",
        ],
    );
    assert_eq!(status, 200);
    let token = p.cache()["access_token"].as_str().unwrap().to_string();
    let headers = &echo["headers"];
    assert_eq!(headers["authorization"], format!("Bearer {token}").as_str());
    for h in ["cookie", "x-api-key", "x-runner-key"] {
        assert!(headers.get(h).is_none(), "{h} forwarded: {headers}");
    }
    assert_eq!(echo["target"], "/_sandbox/echo?a=1");
    // Logs: one line per request, masked; the key is nowhere on disk.
    let log = std::fs::read_to_string(p.path("access.jsonl")).unwrap();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), ids.len() / 100 + 1 + 3);
    assert_eq!(lines[0]["method"], "GET");
    assert_eq!(lines[0]["path"], "/assets?limit=100");
    assert_eq!(lines[0]["status"], 200);
    assert!(lines[0]["ms"].is_number());
    let keys = [gw.key.clone(), root.key.clone()];
    let code = gw.stop();
    assert_eq!(code, 0);
    for dir in [p.dir.path(), p.state.path()] {
        for f in walk(dir) {
            let bytes = std::fs::read(&f).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            assert_no_secret(&text, &[&keys[0], &keys[1]]);
        }
    }
    assert_no_secret(&log, &[&token]);
    assert_no_secret(&root.stderr(), &[&token]);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

#[test]
fn ten_megabytes_stream_both_ways_in_bounded_memory() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb);
    let gw = Gateway::start(&p, &["-p", "root"]);
    let big = p.path("big.bin");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(10 * MIB)
        .unwrap();
    let big = big.to_string_lossy().into_owned();
    // Warm: the connections and the allocator.
    assert_eq!(
        gw.curl("/_sandbox/bytes?n=65536", &["-o", "/dev/null"]).0,
        200
    );
    assert_eq!(
        gw.curl(
            "/_sandbox/sink",
            &["-T", &big, "-X", "POST", "--limit-rate", "100M"]
        )
        .0,
        200
    );
    let before = gw.peak_kib();
    let down = p.path("down.bin");
    let down_arg = down.to_string_lossy().into_owned();
    let (status, _) = gw.curl(
        &format!("/_sandbox/bytes?n={}", 10 * MIB),
        &["-o", &down_arg],
    );
    assert_eq!(status, 200);
    let got = std::fs::read(&down).unwrap();
    assert_eq!(got.len() as u64, 10 * MIB);
    assert!(got.iter().all(|b| b.is_ascii_digit() || *b == b'\n'));
    let (status, sunk) = gw.curl("/_sandbox/sink", &["-T", &big, "-X", "POST"]);
    assert_eq!(status, 200, "{sunk}");
    assert_eq!(
        serde_json::from_str::<Value>(&sunk).unwrap()["bytes"],
        10 * MIB
    );
    let (status, sunk) = gw.curl(
        "/_sandbox/sink",
        &["-T", &big, "-X", "POST", "-H", "Transfer-Encoding: chunked"],
    );
    assert_eq!(status, 200, "{sunk}");
    assert_eq!(
        serde_json::from_str::<Value>(&sunk).unwrap()["bytes"],
        10 * MIB
    );
    // Holding either body whole would add 10 MiB to the peak.
    eprintln!("peak before {before} KiB, after {} KiB", gw.peak_kib());
    // VmHWM is kept from per-CPU counters and can read a little lower later.
    let grown = gw.peak_kib().saturating_sub(before);
    assert!(grown < 4 * 1024, "the peak grew by {grown} KiB");
}

#[test]
fn sixteen_clients_and_an_exec_cross_a_token_expiry_with_one_refresh() {
    // Tokens live 6 s: runner renews them past half their lifetime.
    let sb = SandboxProc::start(&["--access-ttl", "6"]);
    let p = project(&sb);
    p.write(
        "requests/one.yaml",
        "url: /assets\nquery: {limit: 1}\nextract:\n  id: $.items[0].id\n",
    );
    let gw = Gateway::start(&p, &[]);
    assert_eq!(sb.token_requests("password"), 1);
    wait(Duration::from_millis(3300));
    let exec = p
        .cmd(&["exec", "requests/one.yaml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let key = format!("X-Runner-Key: {}", gw.key);
    let curls: Vec<Child> = (0..16)
        .map(|i| {
            Command::new("curl")
                .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", &key])
                .arg(format!("{}/assets?limit=1&page={}", gw.url, i + 1))
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in curls {
        let out = c.wait_with_output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "200");
    }
    let r = finish(exec, Duration::from_secs(60), "runner exec");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let stats = sb.stats();
    assert_eq!(stats["token_requests"]["refresh_token"], 1, "{stats}");
    assert_eq!(stats["token_requests"]["password"], 1, "{stats}");
    assert_eq!(stats["refresh_reuse"], 0, "{stats}");
    // A 401 (the token revoked) is refreshed and retried for a GET; a POST's is
    // returned as is.
    sb.revoke_access_tokens();
    let (status, body) = gw.curl(
        "/assets",
        &[
            "-H",
            "Content-Type: application/json",
            "-d",
            "{\"name\":\"x\"}",
        ],
    );
    assert_eq!(status, 401, "{body}");
    assert_eq!(gw.curl("/assets?limit=1", &[]).0, 200);
    assert_eq!(sb.token_requests("refresh_token"), 2);
    assert_eq!(sb.stats()["refresh_reuse"], 0);
}

#[test]
fn the_gateway_refuses_other_origins_connect_and_a_missing_or_wrong_key() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb);
    let gw = Gateway::start(&p, &[]);
    let (status, body) = curl(&[&format!("{}/assets", gw.url)]);
    assert_eq!(status, 401);
    assert_eq!(
        body,
        r#"{"error":"access_key_missing","message":"this gateway needs the access key runner serve printed at start: the x-runner-key header or ?runner_key="}"#
    );
    let wrong = format!("{}0", &gw.key[1..]);
    let (status, body) = curl(&[
        "-H",
        &format!("X-Runner-Key: {wrong}"),
        &format!("{}/assets", gw.url),
    ]);
    assert_eq!(status, 403);
    assert_eq!(
        body,
        r#"{"error":"access_key_wrong","message":"the access key is not the one runner serve printed at start"}"#
    );
    let (status, body) = gw.curl("/assets", &["-H", "Host: evil.example"]);
    assert_eq!(status, 403);
    assert_eq!(
        body,
        r#"{"error":"forbidden_host","message":"Host `evil.example` names neither this gateway nor an origin of profile `default`"}"#
    );
    // Used as a proxy: absolute form to another origin, CONNECT.
    let key = format!("X-Runner-Key: {}", gw.key);
    let (status, body) = curl(&["-H", &key, "-x", &gw.url, "http://example.com/x"]);
    assert_eq!(status, 403);
    assert_eq!(
        body,
        r#"{"error":"forbidden_origin","message":"http://example.com is not an origin of the profile (base_url, auth.origins)"}"#
    );
    let (status, _) = curl(&[
        "-H",
        &key,
        "-x",
        &gw.url,
        &format!("{}/api/v1/assets?limit=1", sb.url),
    ]);
    assert_eq!(status, 200, "absolute form to the profile's origin");
    let (status, body) = gw.curl("/", &["-X", "CONNECT"]);
    assert_eq!(status, 405);
    assert_eq!(
        body,
        r#"{"error":"method_not_allowed","message":"CONNECT is not served: runner serve forwards to the profile's API, it is not a proxy"}"#
    );
    let out = Command::new("curl")
        .args([
            "-sS",
            "-p",
            "-x",
            &gw.url,
            "-w",
            "%{http_connect}",
            "https://example.com/",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "405");
    assert_eq!(
        sb.requests("GET /api/v1/assets"),
        1,
        "only the allowed request arrived"
    );
    // No key only on a Unix socket.
    let r = p.run(&["serve", "--no-key"]);
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr,
        "error: --no-key needs --unix: on a TCP port any local user could use the session\n"
    );
}

#[test]
fn a_unix_socket_is_0600_and_may_go_without_a_key() {
    use std::os::unix::fs::PermissionsExt;
    let sb = SandboxProc::start(&[]);
    let p = project(&sb);
    let sock = p.path("gw.sock");
    let path = sock.to_string_lossy().into_owned();
    let gw = Gateway::start(&p, &["--unix", &path, "--no-key"]);
    assert_eq!(gw.url, format!("unix:{path}"));
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let (status, page) = curl(&["--unix-socket", &path, "http://localhost/assets?limit=2"]);
    assert_eq!(status, 200, "{page}");
    assert_eq!(gw.stop(), 0);
    assert!(!sock.exists(), "the socket is removed at exit");
}

#[test]
fn a_client_that_goes_away_or_a_dead_api_costs_only_that_client() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb);
    let gw = Gateway::start(&p, &["-p", "root"]);
    // A download cut by the client, an upload cut by the client.
    let (status, _) = gw.curl(
        "/_sandbox/bytes?n=1073741824",
        &["-o", "/dev/null", "--max-time", "1"],
    );
    let _ = status;
    let big = p.path("big.bin");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(100 * MIB)
        .unwrap();
    let key = format!("X-Runner-Key: {}", gw.key);
    let mut upload = Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "--limit-rate",
            "1M",
            "-X",
            "POST",
            "-H",
            &key,
            "-T",
        ])
        .arg(&big)
        .arg(format!("{}/_sandbox/sink", gw.url))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Under way: curl has read (and so sent, at 1 MB/s) half a MiB of the file.
    let io = format!("/proc/{}/io", upload.id());
    wait_until("the upload is under way", Duration::from_secs(30), || {
        std::fs::read_to_string(&io)
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("rchar: ")?.trim().parse::<u64>().ok())
            })
            .is_some_and(|read| read > MIB / 2)
    });
    upload.kill().unwrap();
    upload.wait().unwrap();
    let (status, body) = gw.curl("/api/v1/assets?limit=1", &[]);
    assert_eq!(status, 200, "{body}");
    // An API that does not answer: 502, JSON.
    let dead = Project::new();
    dead.write(
        "profiles/default.yaml",
        "base_url: http://127.0.0.1:9/api\n",
    );
    let gw2 = Gateway::start(&dead, &[]);
    let (status, body) = gw2.json("/x", &[]);
    assert_eq!(status, 502);
    assert_eq!(body["error"], "bad_gateway");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("GET http://127.0.0.1:9: "),
        "{body}"
    );
    assert_eq!(gw.curl("/api/v1/assets?limit=1", &[]).0, 200);
}

#[test]
fn a_slow_api_is_504_and_sigterm_lets_the_request_in_flight_finish() {
    let sb = SandboxProc::start(&["--latency", "1500"]);
    let p = project(&sb);
    let slow = sandbox_profile(&sb.url, "").replace("vars:", "http:\n  timeout: 1\nvars:");
    p.write("profiles/hasty.yaml", &slow);
    let hasty = Gateway::start(&p, &["-p", "hasty"]);
    let (status, body) = hasty.json("/assets?limit=1", &[]);
    assert_eq!(status, 504);
    assert_eq!(body["error"], "gateway_timeout");
    let gw = Gateway::start(&p, &[]);
    let key = format!("X-Runner-Key: {}", gw.key);
    let before = sb.requests("GET /api/v1/assets");
    let client = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", &key])
        .arg(format!("{}/assets?limit=1", gw.url))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // In flight: the sandbox counted it (before its 1.5 s of latency).
    wait_until(
        "the request reaches the API",
        Duration::from_secs(30),
        || sb.requests("GET /api/v1/assets") > before,
    );
    let url = gw.url.clone();
    let stderr = Arc::clone(&gw.stderr);
    assert_eq!(gw.stop(), 0);
    let out = client.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200");
    assert!(
        stderr
            .lock()
            .unwrap()
            .contains("serve: stopping; requests in flight may finish (up to 10 s)"),
    );
    // Stopped: nothing listens any more.
    let (status, _) = curl(&[&format!("{url}/assets")]);
    assert_eq!(status, 0);
}

#[test]
fn a_token_endpoint_that_is_down_is_502_for_that_request() {
    // Tokens from one sandbox, the API of another: the API refuses them (401), and
    // the refresh then finds the token endpoint gone.
    let tokens = SandboxProc::start(&[]);
    let api = SandboxProc::start(&[]);
    let p = Project::new();
    let profile = sandbox_profile(&tokens.url, "").replace(
        &format!("base_url: {}/api/v1", tokens.url),
        &format!("base_url: {}/api/v1", api.url),
    );
    p.write("profiles/default.yaml", &profile);
    let gw = Gateway::start(&p, &[]);
    drop(tokens);
    let (status, body) = gw.json("/assets?limit=1", &[]);
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"], "token_error");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("no access token: "),
        "{body}"
    );
    // The gateway is still up.
    let (status, body) = gw.json("/assets?limit=1", &[]);
    assert_eq!((status, &body["error"]), (502, &Value::from("token_error")));
}

#[test]
fn max_connections_holds_the_next_client_until_one_closes() {
    let sb = SandboxProc::start(&["--latency", "2000"]);
    let p = project(&sb);
    let gw = Gateway::start(&p, &["--max-connections", "1"]);
    let key = format!("X-Runner-Key: {}", gw.key);
    let before = sb.requests("GET /api/v1/assets");
    let first = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", &key])
        .arg(format!("{}/assets?limit=1", gw.url))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Being served: the sandbox counted it (before its 2 s of latency).
    wait_until(
        "the first request reaches the API",
        Duration::from_secs(30),
        || sb.requests("GET /api/v1/assets") > before,
    );
    // Connected (the kernel's backlog) but not served while the first is.
    let (status, _) = gw.curl("/assets?limit=1", &["--max-time", "1"]);
    assert_eq!(status, 0);
    let out = first.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200");
    assert_eq!(gw.curl("/assets?limit=1", &[]).0, 200);
}
