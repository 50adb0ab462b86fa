//! Issue 11, point 8: a small HTTP/1.1 server on loopback that misbehaves on demand,
//! and one case per misbehaviour. Raw TCP and a thread per connection, so that it can
//! do what no well-behaved server library would: lie about lengths, reset connections,
//! trickle bytes, lose token responses. It also has a token endpoint (password and
//! refresh grants, rotating single-use refresh tokens), so that every case runs with a
//! real session whose cache must survive, and it records every request, so that the
//! cases can count attempts.
//!
//! Each case asserts the exit code (SPEC §7), a message that says what happened, no
//! panic, no secret in the output, an intact token cache, and bounded time and memory:
//! runner runs under [`LIMITS`] (killed, failing the test, at the deadline; under
//! `ulimit -v`).

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Limits, Project, Run, assert_no_panic, assert_no_secret};

/// Where the token endpoint is.
pub const TOKEN_PATH: &str = "/oauth/token";
pub const CLIENT_ID: &str = "hostile-client";
pub const CLIENT_SECRET: &str = "hostile-client-secret-7";
pub const USERNAME: &str = "hs-user";
pub const PASSWORD: &str = "hs-password-42";

/// How long a runner of these cases may take, and in how much address space (it
/// needs about 50 MiB; a body or a header buffered whole would not fit).
pub const LIMITS: Limits = Limits::deadline(20).memory_mib(256);

/// What [`Behaviour::Trickle`] sends, a byte a second (padded with spaces to 64).
const TRICKLED: &str = "{\"n\": 1}";

/// The last page of [`Behaviour::EndlessPages`].
pub const LAST_PAGE: u64 = 10_000;

/// What the server does wrong. Chosen per server; the token endpoint behaves unless
/// the behaviour is a [`TokenFault`].
#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    /// Every API request is answered 200 with exactly these bytes (`application/json`).
    Verbatim(&'static [u8]),
    /// `Content-Length: claimed`, then only `sent` bytes of the body, then a clean close.
    ShortBody { claimed: u64, sent: usize },
    /// `Content-Length: 1000`, headers and 500 bytes, then a TCP reset.
    ResetMidBody,
    /// A JSON body whose string holds bytes that are not UTF-8 (Latin-1 `é`, `è`).
    InvalidUtf8,
    /// A JSON body that stops in the middle of an array (with a correct length).
    InvalidJson,
    /// About 1 MiB of response headers before a small body.
    HugeHeaders,
    /// A 64-byte body sent one byte a second.
    Trickle,
    /// `/api/loop/a` redirects (302) to `/api/loop/b`, which redirects back.
    RedirectLoop,
    /// `/api/hop/N` redirects (302) to `/api/hop/N+1`, forever.
    RedirectChain,
    /// `/api/pages/N` is `{"items": [N], "next": "/api/pages/N+1"}`, up to [`LAST_PAGE`].
    EndlessPages,
    /// API requests with a valid access token get `{"ok": true}` (others 401); the
    /// token endpoint answers the first password grant properly, so that a test can
    /// log in, and then misbehaves as told.
    TokenFault(TokenFault),
}

#[derive(Clone, Copy, Debug)]
pub enum TokenFault {
    /// 200 with an HTML page, to every later token request.
    Html,
    /// 500 with an HTML page, to every later token request.
    ServerError,
    /// A refresh grant is carried out (the refresh token presented is spent, a new pair
    /// issued) and the connection closed before the answer: the new pair is lost.
    /// Other requests (a password grant, a spent refresh token) are answered properly.
    LoseRotatedPair,
}

/// One request as the server read it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    /// With the query, as on the request line.
    pub path: String,
    /// Names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `grant_type` of a token request.
    pub fn grant(&self) -> Option<String> {
        url::form_urlencoded::parse(&self.body)
            .find(|(k, _)| k == "grant_type")
            .map(|(_, v)| v.into_owned())
    }
}

#[derive(Default)]
struct Tokens {
    access: HashSet<String>,
    refresh: HashSet<String>,
    spent: HashSet<String>,
    /// Everything ever handed out (or lost on the way): none may appear in output.
    issued: Vec<String>,
    first_password_answered: bool,
}

struct Shared {
    behaviour: Behaviour,
    stop: AtomicBool,
    connections: AtomicU64,
    seen: Mutex<Vec<Seen>>,
    tokens: Mutex<Tokens>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The server, on 127.0.0.1 and a free port; stopped on drop.
pub struct HostileServer {
    pub url: String,
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl HostileServer {
    pub fn start(behaviour: Behaviour) -> HostileServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            behaviour,
            stop: AtomicBool::new(false),
            connections: AtomicU64::new(0),
            seen: Mutex::new(Vec::new()),
            tokens: Mutex::new(Tokens::default()),
        });
        let for_loop = Arc::clone(&shared);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if for_loop.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                for_loop.connections.fetch_add(1, Ordering::SeqCst);
                let shared = Arc::clone(&for_loop);
                std::thread::spawn(move || serve(conn, &shared));
            }
        });
        HostileServer {
            url: format!("http://{addr}"),
            addr,
            shared,
        }
    }

    /// Every request so far, token requests included, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        lock(&self.shared.seen).clone()
    }

    /// Requests whose method is `method` and whose path starts with `prefix`.
    pub fn count(&self, method: &str, prefix: &str) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.method == method && s.path.starts_with(prefix))
            .count()
    }

    /// Token requests of one grant type.
    pub fn token_requests(&self, grant: &str) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.path == TOKEN_PATH && s.grant().as_deref() == Some(grant))
            .count()
    }

    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Every token the endpoint handed out, delivered or lost.
    pub fn issued_tokens(&self) -> Vec<String> {
        lock(&self.shared.tokens).issued.clone()
    }

    /// An OAuth2 password profile against this server; `extra` is appended (e.g. an
    /// `http:` block). The secrets come from the environment, with defaults.
    pub fn profile(&self, extra: &str) -> String {
        format!(
            "base_url: {url}/api\n\
             auth:\n  type: oauth2_password\n  token_url: {url}{TOKEN_PATH}\n  client_id: {CLIENT_ID}\n  \
             client_secret: \"{{{{ env('HS_SECRET', '{CLIENT_SECRET}') }}}}\"\n  username: {USERNAME}\n  \
             password: \"{{{{ env('HS_PASSWORD', '{PASSWORD}') }}}}\"\n{extra}",
            url = self.url
        )
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

/// Reads one request (head and `Content-Length` body) without consuming it, so that a
/// connection can later be closed with the request unread, which makes the kernel
/// answer with a reset. Returns the request and its length in bytes.
fn peek_request(conn: &TcpStream) -> Option<(Seen, usize)> {
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = conn.peek(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        if let Some(end) = buf[..n].windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let mut lines = head.split("\r\n");
            let mut first = lines.next()?.split(' ');
            let method = first.next()?.to_string();
            let path = first.next()?.to_string();
            let headers: Vec<(String, String)> = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                .collect();
            let length: usize = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let total = end + 4 + length;
            if n >= total {
                let body = buf[end + 4..total].to_vec();
                return Some((
                    Seen {
                        method,
                        path,
                        headers,
                        body,
                    },
                    total,
                ));
            }
        }
        if n == buf.len() {
            return None;
        }
        // More is on its way: peek returns at once while anything is buffered.
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Until the peer has acknowledged every byte written on `conn` (its send queue,
/// `SIOCOUTQ`, is empty), at most 10 s.
fn wait_until_acked(conn: &TcpStream) {
    use std::os::fd::AsRawFd;
    crate::support::wait_until(
        "the client acknowledges the bytes sent",
        Duration::from_secs(10),
        || {
            let mut queued: libc::c_int = 0;
            // SAFETY: TIOCOUTQ (SIOCOUTQ on a socket) writes one int to `queued`.
            let rc = unsafe { libc::ioctl(conn.as_raw_fd(), libc::TIOCOUTQ, &mut queued) };
            rc != 0 || queued == 0
        },
    );
}

fn serve(mut conn: TcpStream, shared: &Shared) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = conn.set_write_timeout(Some(Duration::from_secs(10)));
    let Some((req, length)) = peek_request(&conn) else {
        return;
    };
    lock(&shared.seen).push(req.clone());
    if req.path == TOKEN_PATH {
        let mut consumed = vec![0u8; length];
        if conn.read_exact(&mut consumed).is_err() {
            return;
        }
        token_endpoint(&mut conn, shared, &req);
        close(conn);
        return;
    }
    if let Behaviour::ResetMidBody = shared.behaviour {
        // The request stays unread: closing now sends a reset, not an orderly end.
        let _ = conn.write_all(&head(
            "200 OK",
            &[
                ("Content-Type", "application/json"),
                ("Content-Length", "1000"),
            ],
        ));
        let _ = conn.write_all(&json_prefix(500));
        let _ = conn.flush();
        // A close with the request unread sends a reset, which discards whatever is
        // still in the send queue: close only once the client's kernel has every byte
        // (what the client reads of it, before the reset, is then the same whenever
        // it reads).
        wait_until_acked(&conn);
        drop(conn);
        return;
    }
    let mut consumed = vec![0u8; length];
    if conn.read_exact(&mut consumed).is_err() {
        return;
    }
    api(&mut conn, shared, &req);
    close(conn);
}

/// An orderly end: what was written is delivered, then FIN.
fn close(conn: TcpStream) {
    let _ = conn.shutdown(Shutdown::Write);
}

/// A status line and headers, with `Connection: close`.
fn head(status: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

fn respond(conn: &mut TcpStream, status: &str, content_type: &str, body: &[u8]) {
    let length = body.len().to_string();
    let mut out = head(
        status,
        &[("Content-Type", content_type), ("Content-Length", &length)],
    );
    out.extend_from_slice(body);
    let _ = conn.write_all(&out);
}

fn redirect(conn: &mut TcpStream, to: &str) {
    let _ = conn.write_all(&head(
        "302 Found",
        &[("Location", to), ("Content-Length", "0")],
    ));
}

/// `n` bytes of the start of a JSON document that would be long.
fn json_prefix(n: usize) -> Vec<u8> {
    let mut text = String::from("{\"items\": [");
    while text.len() < n {
        text.push_str("12345, ");
    }
    text.truncate(n);
    text.into_bytes()
}

fn api(conn: &mut TcpStream, shared: &Shared, req: &Seen) {
    let path = req.path.as_str();
    match shared.behaviour {
        Behaviour::Verbatim(bytes) => respond(conn, "200 OK", "application/json", bytes),
        Behaviour::ShortBody { claimed, sent } => {
            let claimed = claimed.to_string();
            let _ = conn.write_all(&head(
                "200 OK",
                &[
                    ("Content-Type", "application/json"),
                    ("Content-Length", &claimed),
                ],
            ));
            let _ = conn.write_all(&json_prefix(sent));
        }
        Behaviour::ResetMidBody => unreachable!("answered before the request is read"),
        Behaviour::InvalidUtf8 => respond(
            conn,
            "200 OK",
            "application/json",
            b"{\"name\": \"caf\xe9 cr\xe8me\", \"n\": 1}",
        ),
        Behaviour::InvalidJson => respond(
            conn,
            "200 OK",
            "application/json",
            b"{\"name\": \"Pump\", \"items\": [1, 2,",
        ),
        Behaviour::HugeHeaders => {
            let filler = "a".repeat(1000);
            let mut out = String::from("HTTP/1.1 200 OK\r\nConnection: close\r\n");
            for i in 0..1024 {
                out.push_str(&format!("X-Filler-{i:04}: {filler}\r\n"));
            }
            out.push_str("Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
            let _ = conn.write_all(out.as_bytes());
        }
        Behaviour::Trickle => {
            let _ = conn.write_all(&head(
                "200 OK",
                &[
                    ("Content-Type", "application/json"),
                    ("Content-Length", "64"),
                ],
            ));
            let body = format!("{TRICKLED:<64}");
            for byte in body.as_bytes() {
                if shared.stop.load(Ordering::SeqCst) || conn.write_all(&[*byte]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        Behaviour::RedirectLoop => match path {
            "/api/loop/a" => redirect(conn, "/api/loop/b"),
            "/api/loop/b" => redirect(conn, "/api/loop/a"),
            _ => respond(conn, "404 Not Found", "application/json", b"{}"),
        },
        Behaviour::RedirectChain => {
            let n: u64 = path
                .strip_prefix("/api/hop/")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            redirect(conn, &format!("/api/hop/{}", n + 1));
        }
        Behaviour::EndlessPages => {
            let n: u64 = path
                .strip_prefix("/api/pages/")
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            let next = (n < LAST_PAGE).then(|| format!("/api/pages/{}", n + 1));
            let body = json!({"items": [n], "next": next}).to_string();
            respond(conn, "200 OK", "application/json", body.as_bytes());
        }
        Behaviour::TokenFault(_) => {
            let token = req
                .header("authorization")
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            if lock(&shared.tokens).access.contains(token) {
                respond(conn, "200 OK", "application/json", b"{\"ok\": true}");
            } else {
                let _ = conn.write_all(&head(
                    "401 Unauthorized",
                    &[
                        ("WWW-Authenticate", "Bearer error=\"invalid_token\""),
                        ("Content-Type", "application/json"),
                        ("Content-Length", "2"),
                    ],
                ));
                let _ = conn.write_all(b"{}");
            }
        }
    }
}

fn token_endpoint(conn: &mut TcpStream, shared: &Shared, req: &Seen) {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&req.body)
        .into_owned()
        .collect();
    let param = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let mut tokens = lock(&shared.tokens);
    let fault = match shared.behaviour {
        Behaviour::TokenFault(f) => Some(f),
        _ => None,
    };
    let first_login = !tokens.first_password_answered && param("grant_type") == Some("password");
    match fault {
        Some(TokenFault::Html) if !first_login => {
            let page = b"<!DOCTYPE html><html><body><h1>Down for maintenance</h1></body></html>";
            respond(conn, "200 OK", "text/html; charset=utf-8", page);
            return;
        }
        Some(TokenFault::ServerError) if !first_login => {
            let page = b"<html><body><h1>500 Internal Server Error</h1></body></html>";
            respond(conn, "500 Internal Server Error", "text/html", page);
            return;
        }
        _ => {}
    }
    let error = |conn: &mut TcpStream, error: &str, description: &str| {
        let body = json!({"error": error, "error_description": description}).to_string();
        respond(conn, "400 Bad Request", "application/json", body.as_bytes());
    };
    match param("grant_type") {
        Some("password") => {
            if param("username") != Some(USERNAME) || param("password") != Some(PASSWORD) {
                return error(conn, "invalid_grant", "Invalid username and password");
            }
            tokens.first_password_answered = true;
            let pair = issue(&mut tokens);
            send_pair(conn, &pair);
        }
        Some("refresh_token") => {
            let presented = param("refresh_token").unwrap_or("");
            if !tokens.refresh.remove(presented) {
                return error(
                    conn,
                    "invalid_grant",
                    "The refresh token is invalid or was already used",
                );
            }
            tokens.spent.insert(presented.to_string());
            let pair = issue(&mut tokens);
            if let Some(TokenFault::LoseRotatedPair) = fault {
                // Done on the server's side; the answer never leaves.
                return;
            }
            send_pair(conn, &pair);
        }
        _ => error(conn, "unsupported_grant_type", "Unsupported grant type"),
    }
}

/// A new (access, refresh) pair, valid from now on.
fn issue(tokens: &mut Tokens) -> (String, String) {
    let n = tokens.issued.len();
    let salt = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let access = format!("hsAccess{n}x{salt:08x}");
    let refresh = format!("hsRefresh{n}x{salt:08x}");
    tokens.access.insert(access.clone());
    tokens.refresh.insert(refresh.clone());
    tokens.issued.push(access.clone());
    tokens.issued.push(refresh.clone());
    (access, refresh)
}

fn send_pair(conn: &mut TcpStream, (access, refresh): &(String, String)) {
    let body = json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": 3600,
        "refresh_token": refresh,
    })
    .to_string();
    respond(conn, "200 OK", "application/json", body.as_bytes());
}

// ---------------------------------------------------------------------------------
// The cases.

/// A project whose default profile is logged in at `server`.
fn logged_in(server: &HostileServer, extra: &str) -> Project {
    let p = Project::new();
    p.write("profiles/default.yaml", &server.profile(extra));
    let r = p.run_limited(&["login"], &[], LIMITS);
    assert_eq!(r.code, 0, "login: {}", r.stderr);
    assert_eq!(server.token_requests("password"), 1);
    p
}

/// What every case asserts besides its own: runner did not panic, printed no secret,
/// and left the token cache whole. Returns the cache.
fn assert_survived(p: &Project, server: &HostileServer, r: &Run) -> Value {
    assert_no_panic(r);
    let mut secrets = server.issued_tokens();
    secrets.extend([PASSWORD.to_string(), CLIENT_SECRET.to_string()]);
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    assert_no_secret(&format!("{}\n{}", r.stdout, r.stderr), &secrets);
    p.assert_cache_intact()
}

/// `runner exec requests/NAME.yaml ARGS` under [`LIMITS`].
fn exec(p: &Project, name: &str, args: &[&str]) -> Run {
    let file = format!("requests/{name}.yaml");
    let mut argv = vec!["exec", file.as_str()];
    argv.extend_from_slice(args);
    p.run_limited(&argv, &[], LIMITS)
}

/// An `http:` block for the profile: no retries, so that a case counts one attempt.
const NO_RETRIES: &str = "http:\n  retries: 0\n";

#[test]
fn a_body_shorter_than_its_content_length_is_a_transport_error() {
    let server = HostileServer::start(Behaviour::ShortBody {
        claimed: 1000,
        sent: 10,
    });
    let p = logged_in(&server, NO_RETRIES);
    p.write("requests/get.yaml", "url: /short\nextract: {n: $.n}\n");
    let r = exec(&p, "get", &[]);
    assert_survived(&p, &server, &r);
    assert_eq!((r.code, r.stdout.as_str()), (4, ""), "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "error: request to {}/api/short failed: error decoding response body: request or \
             response body error: error reading a body from connection: end of file before \
             message length reached\n",
            server.url
        )
    );
    assert_eq!(server.count("GET", "/api/"), 1);
}

/// A `Content-Length` is a claim, not a size to reserve: 250 MB claimed (under the
/// default `max_body`), 10 bytes sent, and runner must not try to hold the claim.
#[test]
fn a_huge_content_length_reserves_no_memory() {
    let server = HostileServer::start(Behaviour::ShortBody {
        claimed: 250_000_000,
        sent: 10,
    });
    let p = logged_in(&server, NO_RETRIES);
    p.write("requests/get.yaml", "url: /short\n");
    let r = exec(&p, "get", &[]);
    assert_survived(&p, &server, &r);
    assert_eq!(r.code, 4, "{}", r.stderr);
    // The 10 bytes that came streamed to stdout, and no more.
    assert_eq!(r.stdout.as_bytes(), json_prefix(10), "{}", r.stdout);
    assert_eq!(
        r.stderr,
        format!(
            "error: request to {}/api/short failed: error decoding response body: request or \
             response body error: error reading a body from connection: end of file before \
             message length reached\n",
            server.url
        )
    );
    assert_eq!(server.count("GET", "/api/"), 1);
}

/// What runner says of a reset: the head may have been read or not when the reset
/// arrived (the kernel may drop what was not read yet), so the middle of the message
/// varies; its ends do not.
fn assert_reset_reported(server: &HostileServer, path: &str, stderr: &str) {
    assert!(
        stderr.starts_with(&format!("error: request to {}{path} failed: ", server.url))
            && stderr.ends_with(": Connection reset by peer (os error 104)\n"),
        "{stderr}"
    );
}

#[test]
fn a_reset_mid_body_is_retried_for_a_get() {
    let server = HostileServer::start(Behaviour::ResetMidBody);
    let p = logged_in(&server, "http:\n  retries: 2\n");
    // With an `extract` the body is held, not streamed to stdout, so that nothing was
    // shown yet when the connection fails and a retry can start over.
    p.write(
        "requests/get.yaml",
        "url: /reset\nextract: {items: $.items}\n",
    );
    let r = exec(&p, "get", &[]);
    assert_survived(&p, &server, &r);
    assert_eq!((r.code, r.stdout.as_str()), (4, ""), "{}", r.stderr);
    assert_reset_reported(&server, "/api/reset", &r.stderr);
    assert_eq!(server.count("GET", "/api/"), 1 + 2, "1 + retries attempts");
}

#[test]
fn a_reset_mid_body_is_not_retried_for_a_post() {
    let server = HostileServer::start(Behaviour::ResetMidBody);
    let p = logged_in(&server, "http:\n  retries: 2\n");
    p.write(
        "requests/post.yaml",
        "method: POST\nurl: /reset\nbody: {json: {name: Pump}}\n",
    );
    let r = exec(&p, "post", &[]);
    assert_survived(&p, &server, &r);
    assert_eq!(r.code, 4, "{}", r.stderr);
    // The body streams to stdout as it arrives: what came before the reset is there,
    // nothing else.
    let sent = String::from_utf8(json_prefix(500)).unwrap();
    assert!(sent.starts_with(&r.stdout), "{}", r.stdout);
    assert_reset_reported(&server, "/api/reset", &r.stderr);
    // The request was sent: it may have been processed, so it is not sent again, on
    // this connection or another (one connection for the login, one for the POST).
    assert_eq!(server.count("POST", "/api/"), 1);
    assert_eq!(server.connections(), 2);
}

/// Runs `extract` on a body that is not JSON: a clear error naming the file, never an
/// extract of nulls.
fn extract_from_broken_json(behaviour: Behaviour) {
    let server = HostileServer::start(behaviour);
    let p = logged_in(&server, NO_RETRIES);
    p.write("requests/get.yaml", "url: /thing\nextract: {n: $.n}\n");
    let r = exec(&p, "get", &[]);
    assert_survived(&p, &server, &r);
    assert!(
        !r.stdout.contains("null"),
        "an extract from nothing: {}",
        r.stdout
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("requests/get.yaml") && r.stderr.contains("is not valid JSON"),
        "{}",
        r.stderr
    );
    assert_eq!(server.count("GET", "/api/"), 1);

    // Without `extract`, the body is passed on as it came (exit 0): nobody parses it.
    p.write("requests/raw.yaml", "url: /thing\n");
    let r = exec(&p, "raw", &[]);
    assert_survived(&p, &server, &r);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn invalid_utf8_with_extract_is_an_error_not_nulls() {
    extract_from_broken_json(Behaviour::InvalidUtf8);
}

#[test]
fn invalid_json_with_extract_is_an_error_not_nulls() {
    extract_from_broken_json(Behaviour::InvalidJson);
}

#[test]
fn a_megabyte_of_response_headers_is_refused() {
    let server = HostileServer::start(Behaviour::HugeHeaders);
    let p = logged_in(&server, NO_RETRIES);
    p.write("requests/get.yaml", "url: /headers\n");
    let r = exec(&p, "get", &[]);
    assert_survived(&p, &server, &r);
    assert_eq!((r.code, r.stdout.as_str()), (4, ""), "{}", r.stderr);
    let url = format!("{}/api/headers", server.url);
    assert_eq!(
        r.stderr,
        format!(
            "error: request to {url} failed: error sending request for url ({url}): client \
             error (SendRequest): message head is too large\n"
        )
    );
    assert_eq!(server.count("GET", "/api/"), 1);
}

#[test]
fn a_body_that_trickles_is_cut_by_the_timeout() {
    let server = HostileServer::start(Behaviour::Trickle);
    let p = logged_in(&server, NO_RETRIES);
    p.write("requests/get.yaml", "url: /slow\ntimeout: 1\n");
    let r = exec(&p, "get", &[]);
    assert_survived(&p, &server, &r);
    assert_eq!(r.code, 4, "{}", r.stderr);
    // What arrived within the second streamed to stdout: a byte or two, no more.
    assert!(
        r.stdout.len() <= 2 && TRICKLED.starts_with(&r.stdout),
        "{:?}",
        r.stdout
    );
    assert_eq!(
        r.stderr,
        format!(
            "error: request to {}/api/slow timed out after 1 s\n",
            server.url
        )
    );
    assert_eq!(server.count("GET", "/api/"), 1);
}

#[test]
fn a_redirect_loop_is_exit_4_naming_the_loop() {
    let server = HostileServer::start(Behaviour::RedirectLoop);
    let p = logged_in(&server, "");
    p.write("requests/get.yaml", "url: /loop/a\n");
    let r = exec(&p, "get", &["-v"]);
    assert_survived(&p, &server, &r);
    assert_eq!((r.code, r.stdout.as_str()), (4, ""), "{}", r.stderr);
    // `-v` shows each hop; the error names the page seen twice.
    let url = &server.url;
    assert_eq!(
        r.stderr,
        format!(
            " INFO > GET {url}/api/loop/a\n INFO < 302 redirect to {url}/api/loop/b\n \
             INFO < 302 redirect to {url}/api/loop/a\nerror: {url}/api/loop/a: redirect loop: \
             {url}/api/loop/a was already visited\n"
        )
    );
    // Stopped at the first page seen twice, and not retried: a loop stays a loop.
    assert_eq!(server.count("GET", "/api/loop/"), 2);
}

#[test]
fn an_endless_redirect_chain_stops_at_max_redirects() {
    let server = HostileServer::start(Behaviour::RedirectChain);
    let p = logged_in(&server, "");
    p.write("requests/get.yaml", "url: /hop/0\n");
    let r = exec(&p, "get", &[]);
    assert_survived(&p, &server, &r);
    assert_eq!((r.code, r.stdout.as_str()), (4, ""), "{}", r.stderr);
    let url = &server.url;
    assert_eq!(
        r.stderr,
        format!(
            "error: {url}/api/hop/0: more than 10 redirects (http.max_redirects); the last \
             went to {url}/api/hop/11\n"
        )
    );
    // The first request and ten hops.
    assert_eq!(server.count("GET", "/api/hop/"), 11);
}

#[test]
fn ten_thousand_pages_stop_at_max_pages() {
    let server = HostileServer::start(Behaviour::EndlessPages);
    let p = logged_in(&server, "");
    p.write(
        "requests/pages.yaml",
        "url: /pages/1\npaginate: {next_url: $.next, items: $.items, max_pages: 120}\n",
    );
    let r = exec(&p, "pages", &["-v"]);
    assert_survived(&p, &server, &r);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json(), Value::from((1..=120).collect::<Vec<u64>>()));
    assert!(
        r.stderr.contains("stopping after max_pages = 120\n"),
        "{}",
        r.stderr
    );
    assert_eq!(server.count("GET", "/api/pages/"), 120);
}

/// Logs in, makes the access token look expired, and runs a request, so that runner
/// must go to the token endpoint: what it does there is the case. `env` is added.
fn refresh_against(fault: TokenFault, env: &[(&str, &str)]) -> (HostileServer, Project, Run) {
    let server = HostileServer::start(Behaviour::TokenFault(fault));
    let p = logged_in(&server, NO_RETRIES);
    p.write("requests/get.yaml", "url: /me\n");
    p.expire_access_tokens();
    let r = p.run_limited(&["exec", "requests/get.yaml"], env, LIMITS);
    (server, p, r)
}

/// Token requests after the login: never a loop, whatever the endpoint does.
fn assert_no_spin(server: &HostileServer) {
    let refresh = server.token_requests("refresh_token");
    let password = server.token_requests("password");
    assert!(
        (1..=2).contains(&refresh) && password <= 2,
        "{refresh} refresh and {password} password grants"
    );
}

#[test]
fn a_token_endpoint_that_answers_html_is_exit_3_and_the_pair_is_kept() {
    let (server, p, r) = refresh_against(TokenFault::Html, &[]);
    let cache = assert_survived(&p, &server, &r);
    assert_eq!((r.code, r.stdout.as_str()), (3, ""), "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "error: the token endpoint {}{TOKEN_PATH} answered the refresh_token grant with \
             200 OK (text/html; charset=utf-8), which is not a token response (not JSON)\n",
            server.url
        )
    );
    assert_no_spin(&server);
    // Nothing was issued: the refresh token that still works is still there.
    assert_eq!(cache["refresh_token"], server.issued_tokens()[1]);
    assert_eq!(server.count("GET", "/api/"), 0);
}

#[test]
fn a_token_endpoint_that_answers_500_is_exit_4_naming_the_status() {
    let (server, p, r) = refresh_against(TokenFault::ServerError, &[]);
    let cache = assert_survived(&p, &server, &r);
    // A server failure, not a refusal: exit 4, as for an unreachable endpoint.
    assert_eq!((r.code, r.stdout.as_str()), (4, ""), "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "error: the token endpoint {}{TOKEN_PATH} failed on the refresh_token grant: 500 \
             Internal Server Error (text/html)\n",
            server.url
        )
    );
    assert_no_spin(&server);
    assert_eq!(cache["refresh_token"], server.issued_tokens()[1]);
    assert_eq!(server.count("GET", "/api/"), 0);
}

#[test]
fn a_lost_refresh_answer_falls_back_to_the_password_grant() {
    let (server, p, r) = refresh_against(TokenFault::LoseRotatedPair, &[]);
    let cache = assert_survived(&p, &server, &r);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (0, "{\"ok\": true}", "")
    );
    assert_eq!(server.token_requests("refresh_token"), 1);
    assert_eq!(server.token_requests("password"), 2);
    // The pair in the cache is the password grant's, the last one issued.
    let issued = server.issued_tokens();
    assert_eq!(cache["refresh_token"], issued[issued.len() - 1]);
    assert_eq!(server.count("GET", "/api/"), 1);
}

#[test]
fn a_lost_refresh_answer_without_a_password_asks_for_a_login() {
    let (server, p, r) = refresh_against(TokenFault::LoseRotatedPair, &[("HS_PASSWORD", "")]);
    assert_survived(&p, &server, &r);
    assert_eq!((r.code, r.stdout.as_str()), (3, ""), "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "error: the token endpoint {}{TOKEN_PATH} gave no answer to the refresh_token grant \
             (connection closed before message completed); the refresh token may be spent: run \
             `runner login -p default`\n",
            server.url
        )
    );
    assert_eq!(server.token_requests("refresh_token"), 1);
    assert_eq!(server.token_requests("password"), 1, "the login only");
    assert_eq!(server.count("GET", "/api/"), 0);
}
