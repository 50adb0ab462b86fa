//! What every integration test needs: a temp project, the real `runner` binary, a
//! real sandbox server on a loopback port, and a tiny HTTP client for its stats.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_runner"))
}

/// `runner sandbox --port 0 ARGS...`, killed on drop.
pub struct SandboxProc {
    child: Child,
    pub url: String,
}

impl SandboxProc {
    pub fn start(args: &[&str]) -> SandboxProc {
        let mut child = Command::new(bin())
            .args(["sandbox", "--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn runner sandbox");
        let stdout = child.stdout.take().expect("sandbox stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read sandbox URL");
        let url = line.trim().to_string();
        assert!(
            url.starts_with("http://127.0.0.1:") || url.starts_with("https://127.0.0.1:"),
            "sandbox printed {url:?}"
        );
        SandboxProc { child, url }
    }

    pub fn stats(&self) -> Value {
        http_json("GET", &format!("{}/_sandbox/stats", self.url), None).1
    }

    pub fn token_requests(&self, grant: &str) -> u64 {
        self.stats()["token_requests"][grant].as_u64().unwrap_or(0)
    }

    pub fn revoke_access_tokens(&self) {
        let (status, _) = http_json("POST", &format!("{}/_sandbox/revoke", self.url), None);
        assert_eq!(status, 200);
    }

    /// How many `/api/v1` requests the sandbox saw for `route` ("GET /api/v1/assets"),
    /// failed ones included.
    pub fn requests(&self, route: &str) -> u64 {
        self.stats()["requests"][route].as_u64().unwrap_or(0)
    }

    /// The next `count` `/api/v1` requests are answered `status`.
    pub fn fail_next(&self, count: u64, status: u16) {
        let url = format!("{}/_sandbox/fail?count={count}&status={status}", self.url);
        let (code, body) = http_json("POST", &url, None);
        assert_eq!(code, 200, "{body}");
    }

    /// Moves the clock of a sandbox started with `--manual-clock`.
    pub fn advance_clock(&self, seconds: u64) {
        let url = format!("{}/_sandbox/clock?advance={seconds}", self.url);
        let (code, body) = http_json("POST", &url, None);
        assert_eq!(code, 200, "{body}");
    }
}

impl Drop for SandboxProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 client (Connection: close) for test plumbing only.
pub fn http_json(method: &str, url: &str, body: Option<(&str, &str)>) -> (u16, Value) {
    let (status, text) = http_text(method, url, body, &[]);
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

pub fn http_text(
    method: &str,
    url: &str,
    body: Option<(&str, &str)>,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let u = url::Url::parse(url).expect("url");
    let addr = format!("{}:{}", u.host_str().unwrap(), u.port().unwrap());
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let path = match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    };
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        u.host_str().unwrap()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    match body {
        Some((ct, b)) => req.push_str(&format!(
            "Content-Type: {ct}\r\nContent-Length: {}\r\n\r\n{b}",
            b.len()
        )),
        None => req.push_str("Content-Length: 0\r\n\r\n"),
    }
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, body)
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}

/// A temporary project folder with its own token state folder.
pub struct Project {
    pub dir: tempfile::TempDir,
    pub state: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Stdout as JSON lines, one value a line.
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }
}

/// Fails the test when runner panicked: the panic hook (src/main.rs) prints
/// "internal error" and the process exits 101; Rust's default hook says "panicked".
pub fn assert_no_panic(r: &Run) {
    assert!(
        r.code != 101 && !r.stderr.contains("internal error") && !r.stderr.contains("panicked"),
        "runner panicked (exit {}):\n{}",
        r.code,
        r.stderr
    );
}

/// How long a child may run, and in how much memory. Past the deadline the harness
/// kills it and fails the test: tests bound time this way, never by asserting an
/// elapsed time.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub deadline: Duration,
    /// Address-space limit (`ulimit -v`) in MiB.
    pub memory_mib: Option<u64>,
}

impl Limits {
    pub const fn deadline(secs: u64) -> Limits {
        Limits {
            deadline: Duration::from_secs(secs),
            memory_mib: None,
        }
    }

    pub const fn memory_mib(self, mib: u64) -> Limits {
        Limits {
            memory_mib: Some(mib),
            ..self
        }
    }
}

/// What every `runner` of a test may take at most, unless the test says otherwise.
pub const DEFAULT_LIMITS: Limits = Limits::deadline(120);

/// Waits for runner's `child` (stdout and stderr piped) and collects what it wrote;
/// kills it and fails the test if it is still running after `deadline`. A panic fails
/// the test too, whatever the test asserts next: no input may make runner panic
/// (SPEC §7).
pub fn finish(mut child: Child, deadline: Duration, what: &str) -> Run {
    fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut out);
            }
            out
        })
    }
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break Some(status);
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let stdout = String::from_utf8_lossy(&stdout.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&stderr.join().unwrap_or_default()).into_owned();
    match status {
        Some(status) => {
            let r = Run {
                code: status.code().unwrap_or(-1),
                stdout,
                stderr,
            };
            assert_no_panic(&r);
            r
        }
        None => panic!(
            "{what} was still running after {deadline:?}, and was killed\nstdout: {stdout}\nstderr: {stderr}"
        ),
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Project {
    pub fn new() -> Project {
        let p = Project {
            dir: tempfile::tempdir().unwrap(),
            state: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(p.dir.path().join("profiles")).unwrap();
        std::fs::create_dir_all(p.dir.path().join("requests")).unwrap();
        p
    }

    /// A project whose `default` profile uses the sandbox at `url` with OAuth2.
    pub fn with_sandbox(url: &str) -> Project {
        let p = Project::new();
        p.write("profiles/default.yaml", &sandbox_profile(url, ""));
        p
    }

    /// Where runner looks for the user configuration (outside the project).
    pub fn user_config_path(&self) -> PathBuf {
        self.state.path().join("config.yaml")
    }

    /// Writes the user configuration (`secrets:`, `token_store:`).
    pub fn user_config(&self, text: &str) -> PathBuf {
        let path = self.user_config_path();
        std::fs::write(&path, text).unwrap();
        path
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.args(args);
        self.configure(&mut c);
        c
    }

    /// The project's folder, state folder and environment, for any program.
    fn configure(&self, c: &mut Command) {
        c.current_dir(self.dir.path())
            .env("RUNNER_STATE_DIR", self.state.path())
            // The user configuration is the test's own (absent until written).
            .env("RUNNER_CONFIG", self.user_config_path())
            .env_remove("RUNNER_PROFILE")
            .env_remove("RUNNER_ROOT")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_limited(args, &[], DEFAULT_LIMITS)
    }

    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.run_limited(args, env, DEFAULT_LIMITS)
    }

    /// `runner ARGS` with `env`, within `limits`: killed (and the test failed) at the
    /// deadline; under `ulimit -v` when a memory limit is given.
    pub fn run_limited(&self, args: &[&str], env: &[(&str, &str)], limits: Limits) -> Run {
        let child = self.spawn_limited(args, env, limits);
        finish(
            child,
            limits.deadline,
            &format!("runner {}", args.join(" ")),
        )
    }

    /// `runner ARGS` started with stdout and stderr piped, under `limits.memory_mib`;
    /// the caller waits (see [`finish`]).
    pub fn spawn_limited(&self, args: &[&str], env: &[(&str, &str)], limits: Limits) -> Child {
        let mut c = match limits.memory_mib {
            None => {
                let mut c = Command::new(bin());
                c.args(args);
                c
            }
            Some(mib) => {
                // `exec` keeps the PID, so the deadline kills runner itself.
                let mut c = Command::new("bash");
                c.arg("-c")
                    .arg(format!("ulimit -v {} && exec \"$0\" \"$@\"", mib * 1024))
                    .arg(bin())
                    .args(args);
                c
            }
        };
        self.configure(&mut c);
        for (k, v) in env {
            c.env(k, v);
        }
        c.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn runner")
    }

    /// `n` copies of `runner ARGS` (with `env`) started at once, and what each gave.
    pub fn run_at_once(&self, n: usize, args: &[&str], env: &[(&str, &str)]) -> Vec<Run> {
        let children: Vec<_> = (0..n)
            .map(|_| self.spawn_limited(args, env, DEFAULT_LIMITS))
            .collect();
        let what = format!("runner {}", args.join(" "));
        children
            .into_iter()
            .map(|c| finish(c, DEFAULT_LIMITS.deadline, &what))
            .collect()
    }

    /// Makes every cached access token look expired to runner (the server still takes
    /// them), so that the next run must refresh: expiry without waiting.
    pub fn expire_access_tokens(&self) {
        let files = self.cache_files();
        assert!(!files.is_empty(), "no token cache to expire");
        for file in files {
            let mut cache: Value = serde_json::from_slice(&std::fs::read(&file).unwrap())
                .unwrap_or_else(|e| {
                    panic!("{}: the token cache does not parse: {e}", file.display())
                });
            cache["expires_at"] = Value::from(1);
            cache["obtained_at"] = Value::from(0);
            std::fs::write(&file, serde_json::to_vec(&cache).unwrap()).unwrap();
        }
    }

    /// The token folder holds one cache file, which parses as JSON and holds an access
    /// token, and nothing half-written: no temp file, nothing moved aside.
    pub fn assert_cache_intact(&self) -> Value {
        let dir = self.state.path().join("tokens");
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        let stray: Vec<&String> = names
            .iter()
            .filter(|n| !(n.ends_with(".json") || n.ends_with(".lock")) || n.starts_with('.'))
            .collect();
        assert!(stray.is_empty(), "left in the token folder: {stray:?}");
        let cache = self.cache();
        assert!(
            cache["access_token"]
                .as_str()
                .is_some_and(|t| !t.is_empty()),
            "the cache holds no access token"
        );
        cache
    }

    /// Every token-cache file (not locks, not temp files).
    pub fn cache_files(&self) -> Vec<PathBuf> {
        let dir = self.state.path().join("tokens");
        let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        v.sort();
        v
    }

    pub fn cache(&self) -> Value {
        let files = self.cache_files();
        assert_eq!(files.len(), 1, "one cache file expected: {files:?}");
        serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap()
    }
}

/// An OAuth2 profile for the sandbox at `url`; `extra` is appended to the auth block.
pub fn sandbox_profile(url: &str, extra: &str) -> String {
    format!(
        "base_url: {url}/api/v1\n\
         vars:\n  page_size: 5\n\
         auth:\n  type: oauth2_password\n  token_url: {url}/oauth/v2/token\n  client_id: sandbox\n  client_secret: \"{{{{ env('SB_SECRET', 'sandbox-secret') }}}}\"\n  username: demo\n  password: \"{{{{ env('SB_PASSWORD', 'demo') }}}}\"\n{extra}"
    )
}

pub fn assert_no_secret(text: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!text.contains(s), "secret {s:?} leaked in:\n{text}");
    }
}

/// Sleeps `d`: only to let real time pass (a token's lifetime, a random moment),
/// never to order two events; for those, [`wait_until`].
pub fn wait(d: Duration) {
    std::thread::sleep(d);
}

/// Polls `cond` until it holds: waiting on an observable event (a counter of the
/// sandbox's stats, a file, a line), never on a guess of how long it takes. Fails
/// naming `what` after `limit`.
pub fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "{what}: not after {limit:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Copies the folder `from` to `to`, recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}
