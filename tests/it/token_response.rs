//! Issue 11, point 6 (and point 8's token endpoint): what runner makes of a token
//! endpoint's answer. A scripted endpoint on loopback gives one canned answer per token
//! request; every case asserts the exit code, the message, that no planted secret is
//! printed, and what reached the API and the token cache.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Project, Run, assert_no_secret};

const PASSWORD: &str = "pw-planted-7c1";
const CLIENT_SECRET: &str = "cs-planted-94e";
/// Every token the scripted endpoint hands out starts with this.
const TOKEN_MARK: &str = "planted-";

/// What the endpoint does with one token request.
enum Answer {
    /// This whole HTTP response, then close.
    Raw(Vec<u8>),
    /// Read the request (and act on it, as a rotating server would), then close
    /// without a word.
    Close,
}

fn answer(status: &str, content_type: &str, body: &str) -> Answer {
    Answer::Raw(
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

fn token_json(body: Value) -> Answer {
    answer("200 OK", "application/json", &body.to_string())
}

/// What the endpoint saw, in order.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    /// A token request and its `grant_type`.
    Grant(String),
    /// An API request and its `Authorization` header.
    Api(Option<String>),
}

/// A token endpoint at `/token` and an API at `/api/...` on one loopback port.
struct Endpoint {
    url: String,
    script: Arc<Mutex<VecDeque<Answer>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Endpoint {
    fn start(script: Vec<Answer>) -> Endpoint {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (s, v) = (script.clone(), seen.clone());
        // Left blocked in `accept` when the test ends: the test process exits anyway.
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                serve(conn, &s, &v);
            }
        });
        Endpoint { url, script, seen }
    }

    /// More answers, for the next run.
    fn then(&self, more: Vec<Answer>) {
        self.script.lock().unwrap().extend(more);
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn grants(&self) -> Vec<String> {
        self.seen()
            .into_iter()
            .filter_map(|s| match s {
                Seen::Grant(g) => Some(g),
                Seen::Api(_) => None,
            })
            .collect()
    }

    fn api_auth(&self) -> Vec<Option<String>> {
        self.seen()
            .into_iter()
            .filter_map(|s| match s {
                Seen::Api(a) => Some(a),
                Seen::Grant(_) => None,
            })
            .collect()
    }
}

fn serve(conn: TcpStream, script: &Mutex<VecDeque<Answer>>, seen: &Mutex<Vec<Seen>>) {
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(conn);
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if line == "\r\n" {
            break;
        }
        head.push(line.trim_end().to_string());
    }
    let header = |name: &str| {
        head.iter().skip(1).find_map(|h| {
            let (k, v) = h.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    };
    let len: usize = header("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let path = head
        .first()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("")
        .to_string();
    let mut conn = reader.into_inner();
    if path == "/token" {
        let grant = url::form_urlencoded::parse(&body)
            .find(|(k, _)| k == "grant_type")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        seen.lock().unwrap().push(Seen::Grant(grant));
        let next = script.lock().unwrap().pop_front();
        match next {
            Some(Answer::Raw(bytes)) => {
                // runner may hang up on a body it will not read whole.
                let _ = conn.write_all(&bytes);
            }
            Some(Answer::Close) => {}
            None => {
                let _ = conn.write_all(
                    b"HTTP/1.1 418 I'm a teapot\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        }
    } else {
        seen.lock()
            .unwrap()
            .push(Seen::Api(header("authorization")));
        let _ = conn.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nConnection: close\r\n\r\n{\"ok\":true}",
        );
    }
    let _ = conn.flush();
}

/// A project whose default profile uses `ep` for both tokens and the API; `extra`
/// is appended to the auth block. The password comes from `TR_PASSWORD`, if set.
fn project(ep: &Endpoint, extra: &str) -> Project {
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        &format!(
            "base_url: {url}/api\n\
             auth:\n  type: oauth2_password\n  token_url: {url}/token\n  client_id: c\n  client_secret: \"{{{{ env('TR_SECRET') }}}}\"\n  username: u\n  password: \"{{{{ env('TR_PASSWORD', '') }}}}\"\n{extra}",
            url = ep.url
        ),
    );
    p.write("requests/get.yaml", "url: /things\n");
    p
}

/// `runner ARGS` with the password (or not), killed and failed after a minute: a
/// runner that spins is a failure, not a hung suite.
fn run(p: &Project, args: &[&str], with_password: bool) -> Run {
    let mut cmd = p.cmd(args);
    cmd.env("TR_SECRET", CLIENT_SECRET);
    if with_password {
        cmd.env("TR_PASSWORD", PASSWORD);
    } else {
        cmd.env_remove("TR_PASSWORD");
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn runner");
    let pipe = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = pipe(Box::new(child.stdout.take().unwrap()));
    let err = pipe(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("runner {args:?} still running after 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    };
    // Whatever happened, nothing secret was printed.
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(!all.contains(TOKEN_MARK), "a token leaked:\n{all}");
    assert_no_secret(&all, &[PASSWORD, CLIENT_SECRET]);
    run
}

/// The one-line error runner printed.
fn error_line(r: &Run) -> &str {
    r.stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line in:\n{}", r.stderr))
}

fn exec(p: &Project) -> Run {
    run(p, &["exec", "requests/get.yaml"], true)
}

fn assert_ok(r: &Run) {
    assert_eq!(r.code, 0, "stderr:\n{}", r.stderr);
    assert_eq!(r.stdout.trim(), r#"{"ok":true}"#);
}

/// A first run that logs in and caches a pair, then the cached access token made
/// expired, so the next run spends the refresh token. Returns the cache file's text.
fn logged_in_and_expired(p: &Project, ep: &Endpoint) -> String {
    ep.then(vec![token_json(json!({
        "access_token": "planted-at-1", "token_type": "bearer",
        "expires_in": 3600, "refresh_token": "planted-rt-1"
    }))]);
    assert_ok(&exec(p));
    let file = &p.cache_files()[0];
    let mut cache = p.cache();
    cache["obtained_at"] = json!(0);
    cache["expires_at"] = json!(1);
    let text = serde_json::to_string(&cache).unwrap();
    std::fs::write(file, &text).unwrap();
    text
}

fn cache_text(p: &Project) -> String {
    std::fs::read_to_string(&p.cache_files()[0]).unwrap()
}

#[test]
fn an_empty_access_token_is_refused() {
    let ep = Endpoint::start(vec![token_json(json!({
        "access_token": "", "token_type": "bearer", "refresh_token": "planted-rt"
    }))]);
    let p = project(&ep, "");
    let r = exec(&p);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(
        error_line(&r),
        format!(
            "error: the token endpoint {}/token answered the password grant with an empty `access_token`",
            ep.url
        )
    );
    assert_eq!(ep.api_auth(), Vec::<Option<String>>::new());
    assert!(p.cache_files().is_empty());
}

#[test]
fn a_missing_access_token_is_named() {
    let ep = Endpoint::start(vec![token_json(json!({
        "token_type": "bearer", "refresh_token": "planted-rt"
    }))]);
    let p = project(&ep, "");
    let r = exec(&p);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(
        error_line(&r),
        format!(
            "error: the token endpoint {}/token answered the password grant with 200 OK (application/json), which is not a token response (no `access_token` field)",
            ep.url
        )
    );
    assert_eq!(ep.api_auth(), Vec::<Option<String>>::new());
    assert!(p.cache_files().is_empty());
}

#[test]
fn a_missing_access_token_shows_the_servers_error() {
    // Some servers (GitHub's) send their errors with a 200.
    let ep = Endpoint::start(vec![token_json(json!({
        "error": "invalid_scope", "error_description": "scope `admin` is not allowed",
        "debug": "planted-x"
    }))]);
    let p = project(&ep, "");
    let r = exec(&p);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(
        error_line(&r),
        format!(
            "error: the token endpoint {}/token refused the password grant: invalid_scope: scope `admin` is not allowed",
            ep.url
        )
    );
    assert!(p.cache_files().is_empty());
}

#[test]
fn a_missing_token_type_is_bearer_said_at_v() {
    let ep = Endpoint::start(vec![token_json(json!({
        "access_token": "planted-at-4", "expires_in": 3600
    }))]);
    let p = project(&ep, "");
    let r = run(&p, &["-v", "exec", "requests/get.yaml"], true);
    assert_ok(&r);
    let said = format!(
        "the token endpoint {}/token sent no `token_type`: taken as Bearer",
        ep.url
    );
    assert!(r.stderr.contains(&said), "{}", r.stderr);
    assert_eq!(ep.api_auth(), vec![Some("Bearer planted-at-4".to_string())]);
    assert_eq!(p.cache()["token_type"], "bearer");
}

#[test]
fn a_mac_token_is_refused_with_the_default_scheme() {
    let ep = Endpoint::start(vec![token_json(json!({
        "access_token": "planted-at-5", "token_type": "mac", "refresh_token": "planted-rt"
    }))]);
    let p = project(&ep, "");
    let r = exec(&p);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(
        error_line(&r),
        format!(
            "error: the token endpoint {}/token issued a `mac` token, which profile `default` would send as Bearer: set `auth.scheme` to the scheme the API expects",
            ep.url
        )
    );
    assert_eq!(ep.api_auth(), Vec::<Option<String>>::new());
    assert!(p.cache_files().is_empty(), "a refused token is not cached");
}

#[test]
fn a_mac_token_is_sent_with_an_explicit_scheme() {
    let ep = Endpoint::start(vec![token_json(json!({
        "access_token": "planted-at-6", "token_type": "mac"
    }))]);
    let p = project(&ep, "  scheme: MAC\n");
    assert_ok(&exec(&p));
    assert_eq!(ep.api_auth(), vec![Some("MAC planted-at-6".to_string())]);
    assert_eq!(p.cache()["token_type"], "mac");
}

#[test]
fn odd_lifetimes_are_clamped_with_a_warning() {
    // (expires_in as sent, the lifetime cached, the warning after "sent ")
    let unknown = ": the token is used until the API refuses it";
    let cases: Vec<(Value, Option<u64>, String)> = vec![
        (
            json!(18446744073709551615u64),
            Some(315_360_000),
            "`expires_in: 18446744073709551615`: taken as ten years (315360000 s)".into(),
        ),
        (
            json!("inf"),
            Some(315_360_000),
            "`expires_in: \"inf\"`: taken as ten years (315360000 s)".into(),
        ),
        (json!(-5), None, format!("`expires_in: -5`{unknown}")),
        (json!(0), None, format!("`expires_in: 0`{unknown}")),
        (
            json!(1.5),
            Some(1),
            "`expires_in: 1.5`, not whole seconds: taken as 1 s".into(),
        ),
    ];
    for (sent, lifetime, warning) in cases {
        let ep = Endpoint::start(vec![token_json(json!({
            "access_token": "planted-at-7", "token_type": "Bearer", "expires_in": sent,
            "refresh_token": "planted-rt-7"
        }))]);
        let p = project(&ep, "");
        let r = exec(&p);
        assert_ok(&r);
        let line = format!(
            "warning: the token endpoint {}/token sent {warning}",
            ep.url
        );
        assert!(
            r.stderr.lines().any(|l| l == line),
            "{sent}: want {line:?} in:\n{}",
            r.stderr
        );
        assert_eq!(
            ep.api_auth(),
            vec![Some("Bearer planted-at-7".to_string())],
            "{sent}"
        );
        let cache = p.cache();
        let got = cache["expires_at"]
            .as_u64()
            .map(|e| e - cache["obtained_at"].as_u64().unwrap());
        assert_eq!(got, lifetime, "{sent}: {cache}");
    }
}

#[test]
fn a_body_over_a_mebibyte_is_not_read() {
    let pad = "x".repeat(2 * 1024 * 1024);
    let ep = Endpoint::start(vec![token_json(
        json!({"access_token": "planted-at-8", "token_type": "bearer", "pad": pad}),
    )]);
    let p = project(&ep, "");
    let r = exec(&p);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(
        error_line(&r),
        format!(
            "error: the token endpoint {}/token answered the password grant with 200 OK (application/json), which is not a token response (more than 1 MiB)",
            ep.url
        )
    );
    assert!(p.cache_files().is_empty());
}

#[test]
fn an_html_answer_to_a_refresh_is_named_and_the_cache_kept() {
    let ep = Endpoint::start(vec![]);
    let p = project(&ep, "");
    let before = logged_in_and_expired(&p, &ep);
    ep.then(vec![answer(
        "200 OK",
        "text/html; charset=utf-8",
        "<html><body>Sign in again <!-- planted-at-9 --></body></html>",
    )]);
    let r = exec(&p);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(
        error_line(&r),
        format!(
            "error: the token endpoint {}/token answered the refresh_token grant with 200 OK (text/html; charset=utf-8), which is not a token response (not JSON)",
            ep.url
        )
    );
    assert_eq!(r.stdout, "");
    assert_eq!(ep.grants(), ["password", "refresh_token"]);
    assert_eq!(cache_text(&p), before);
}

#[test]
fn a_500_from_the_token_endpoint_is_a_transport_error_and_the_cache_kept() {
    let ep = Endpoint::start(vec![]);
    let p = project(&ep, "");
    let before = logged_in_and_expired(&p, &ep);
    ep.then(vec![answer(
        "500 Internal Server Error",
        "text/html",
        // Not a value runner registers as a secret, so redaction cannot hide a leak.
        "<h1>Internal Server Error</h1><pre>planted-trace-500</pre>",
    )]);
    let r = exec(&p);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert_eq!(
        error_line(&r),
        format!(
            "error: the token endpoint {}/token failed on the refresh_token grant: 500 Internal Server Error (text/html)",
            ep.url
        )
    );
    assert_eq!(ep.grants(), ["password", "refresh_token"]);
    assert_eq!(cache_text(&p), before);
}

#[test]
fn a_lost_answer_to_a_rotating_refresh_falls_back_to_the_password() {
    let ep = Endpoint::start(vec![]);
    let p = project(&ep, "");
    logged_in_and_expired(&p, &ep);
    ep.then(vec![
        Answer::Close,
        token_json(json!({
            "access_token": "planted-at-new", "token_type": "bearer",
            "expires_in": 3600, "refresh_token": "planted-rt-new"
        })),
    ]);
    let r = exec(&p);
    assert_ok(&r);
    assert_eq!(ep.grants(), ["password", "refresh_token", "password"]);
    assert_eq!(
        ep.api_auth().last().cloned().flatten().as_deref(),
        Some("Bearer planted-at-new")
    );
    let cache = p.cache();
    assert_eq!(cache["access_token"], "planted-at-new");
    assert_eq!(cache["refresh_token"], "planted-rt-new");
}

#[test]
fn a_lost_answer_to_a_rotating_refresh_without_a_password_asks_for_login() {
    let ep = Endpoint::start(vec![]);
    let p = project(&ep, "");
    let before = logged_in_and_expired(&p, &ep);
    ep.then(vec![Answer::Close]);
    let r = run(&p, &["exec", "requests/get.yaml"], false);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(
        error_line(&r),
        format!(
            "error: the token endpoint {}/token gave no answer to the refresh_token grant (connection closed before message completed); the refresh token may be spent: run `runner login -p default`",
            ep.url
        )
    );
    // Once: no retry of a token that may be spent, no loop.
    assert_eq!(ep.grants(), ["password", "refresh_token"]);
    assert_eq!(ep.api_auth().len(), 1, "only the first run reached the API");
    // Untouched, so that a server that did not rotate still works next time.
    assert_eq!(cache_text(&p), before);
}
