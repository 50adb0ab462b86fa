//! Issue 20, points 4 and 5: every URL that receives a credential is https or
//! loopback http, and a discovered one stays on the issuer's origin (or one of
//! `auth.origins`); interactive logins that a hostile server or a hostile local
//! process can neither end, stall nor turn into a panic.
//!
//! [`Idp`] is a tiny authorization server (std `TcpListener`, a thread per
//! connection) whose discovery document names a revocation endpoint on another
//! origin (`localhost` where the issuer is `127.0.0.1`) and whose device endpoint
//! answers with hostile values; the browser logins run against the real sandbox.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Limits, Project, SandboxProc, assert_no_panic, assert_no_secret, repo_root};

/// The client secret, from the environment: every character a masking or an
/// escaping could get wrong.
const SECRET: &str = "cs&<>\"'\\%+/=: é-7";
const ACCESS: &str = "at&<>\"' %+/=:ü-1";
const REFRESH: &str = "rt&<>\"' %+/=:ü-2";

/// The server's hostile device authorization answer (RFC 8628 §3.2).
fn hostile_device_answer(url: &str) -> Value {
    json!({
        "device_code": "dc-1",
        "user_code": "WDJB\u{1b}[2J\u{1b}]0;pwned\u{7}-MJHT",
        "verification_uri": format!("{url}/verify"),
        "verification_uri_complete": "file:///etc/passwd",
        "expires_in": 600,
        "interval": 18446744073709551615u64,
    })
}

/// A tiny authorization server on 127.0.0.1; stopped on drop.
struct Idp {
    url: String,
    port: u16,
    addr: SocketAddr,
    hits: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Idp {
    fn start() -> Idp {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let port = addr.port();
        let url = format!("http://127.0.0.1:{port}");
        let hits = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s, u) = (hits.clone(), stop.clone(), url.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (h, u) = (h.clone(), u.clone());
                std::thread::spawn(move || serve(conn, &u, port, &h));
            }
        });
        Idp {
            url,
            port,
            addr,
            hits,
            stop,
        }
    }

    fn hits(&self, route: &str) -> usize {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|h| *h == route)
            .count()
    }

    fn profile(&self, kind: &str, extra: &str) -> String {
        format!(
            "base_url: {0}/api\nauth:\n  type: {kind}\n  issuer: {0}\n  client_id: idp-client\n  client_secret: \"{{{{ env('IDP_SECRET') }}}}\"\n{extra}",
            self.url
        )
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

/// One request: read, recorded as `METHOD /path`, answered.
fn serve(mut conn: TcpStream, url: &str, port: u16, hits: &Mutex<Vec<String>>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let (head, body) = loop {
        let Ok(n) = conn.read(&mut chunk) else { return };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let length: usize = head
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                let Ok(n) = conn.read(&mut chunk) else { return };
                if n == 0 {
                    return;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            break (head, buf[end + 4..end + 4 + length].to_vec());
        }
    };
    let mut first = head.lines().next().unwrap_or("").split(' ');
    let method = first.next().unwrap_or("").to_string();
    let target = first.next().unwrap_or("");
    let path = target.split('?').next().unwrap_or("").to_string();
    hits.lock().unwrap().push(format!("{method} {path}"));
    let grant = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "grant_type")
        .map(|(_, v)| v.into_owned());
    let (status, answer) = match (method.as_str(), path.as_str()) {
        ("GET", "/.well-known/openid-configuration") => (
            "200 OK",
            json!({
                "issuer": url,
                "token_endpoint": format!("{url}/token"),
                "device_authorization_endpoint": format!("{url}/device"),
                "revocation_endpoint": format!("http://localhost:{port}/revoke"),
            }),
        ),
        ("POST", "/token")
            if grant.as_deref() == Some("urn:ietf:params:oauth:grant-type:device_code") =>
        {
            ("400 Bad Request", json!({"error": "slow_down"}))
        }
        ("POST", "/token") => (
            "200 OK",
            json!({"access_token": ACCESS, "token_type": "Bearer", "expires_in": 3600, "refresh_token": REFRESH}),
        ),
        ("POST", "/device") => ("200 OK", hostile_device_answer(url)),
        ("POST", "/revoke") => ("200 OK", json!({})),
        _ => ("404 Not Found", json!({"error": "not_found"})),
    };
    let body = answer.to_string();
    let _ = write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

fn env() -> [(&'static str, &'static str); 1] {
    [("IDP_SECRET", SECRET)]
}

fn assert_quiet(r: &crate::support::Run) {
    assert_no_panic(r);
    for text in [&r.stdout, &r.stderr] {
        assert_no_secret(text, &[SECRET, ACCESS, REFRESH]);
    }
}

#[test]
fn check_and_logout_refuse_a_written_credential_url_of_plain_http_off_loopback() {
    let p = Project::new();
    let cases = [
        (
            "oauth2_client_credentials",
            "revocation_url",
            "revocation endpoint",
        ),
        ("oauth2_client_credentials", "issuer", "issuer"),
        (
            "oauth2_authorization_code",
            "authorization_url",
            "authorization endpoint",
        ),
        (
            "oauth2_device_code",
            "device_authorization_url",
            "device authorization endpoint",
        ),
    ];
    for (kind, key, what) in cases {
        p.write(
            "profiles/default.yaml",
            &format!(
                "base_url: https://api.example.com\nauth:\n  type: {kind}\n  token_url: https://idp.example/token\n  {key}: http://idp.example/x\n  client_id: c\n  client_secret: \"{{{{ env('IDP_SECRET') }}}}\"\n"
            ),
        );
        let expected = format!(
            "error: auth.{key}: refusing to send credentials over plain http to the {what} http://idp.example/x: use https (plain http is allowed only for loopback hosts)\n  --> profiles/default.yaml:5:{}\n",
            key.len() + 5
        );
        // `check` sends nothing: idp.example is never resolved.
        let r = p.run_env(&["check", "profiles/default.yaml"], &env());
        assert_eq!(r.code, 2, "{key}: {}", r.stderr);
        assert!(r.stderr.contains(&expected), "{key}: {}", r.stderr);
        assert_quiet(&r);
        let r = p.run_env(&["logout"], &env());
        assert_eq!(r.code, 2, "{key}: {}", r.stderr);
        assert!(r.stderr.starts_with(&expected), "{key}: {}", r.stderr);
        assert_quiet(&r);
    }
    // The same profile with https everywhere passes.
    p.write(
        "profiles/default.yaml",
        "base_url: https://api.example.com\nauth:\n  type: oauth2_client_credentials\n  token_url: https://idp.example/token\n  revocation_url: https://idp.example/x\n  client_id: c\n  client_secret: \"{{ env('IDP_SECRET') }}\"\n",
    );
    let r = p.run_env(&["check", "profiles/default.yaml"], &env());
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn logout_revokes_at_a_discovered_endpoint_on_another_origin_only_when_listed() {
    let idp = Idp::start();
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        &idp.profile("oauth2_client_credentials", ""),
    );
    let r = p.run_env(&["login"], &env());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_quiet(&r);
    let r = p.run_env(&["logout"], &env());
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "error: revoking the tokens of profile `default` failed: the issuer {0}/ names the revocation endpoint http://localhost:{1}/revoke, on another origin: refused (list http://localhost:{1} in auth.origins to allow it); they are forgotten here all the same\n",
            idp.url, idp.port
        )
    );
    assert_quiet(&r);
    assert_eq!(
        idp.hits("POST /revoke"),
        0,
        "nothing went to the other origin"
    );
    assert!(p.cache_files().is_empty(), "forgotten all the same");
    // Listed, the origin may receive them.
    p.write(
        "profiles/default.yaml",
        &idp.profile(
            "oauth2_client_credentials",
            &format!("  origins: [\"http://localhost:{}\"]\n", idp.port),
        ),
    );
    assert_eq!(p.run_env(&["login"], &env()).code, 0);
    let r = p.run_env(&["logout"], &env());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_quiet(&r);
    assert_eq!(idp.hits("POST /revoke"), 2, "refresh and access tokens");
}

#[test]
fn a_hostile_device_server_neither_panics_nor_outlasts_login_timeout() {
    let idp = Idp::start();
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        &idp.profile("oauth2_device_code", "  login_timeout: 2\n"),
    );
    let opened = p.path("opened.txt");
    let browser = format!(
        "python3 -c \"import sys; open(sys.argv[1], 'a').write(sys.argv[2])\" {}",
        opened.display()
    );
    let mut vars = env().to_vec();
    vars.push(("RUNNER_BROWSER", &browser));
    // Without the clamp, the interval alone is 584 billion years.
    let r = p.run_limited(&["login"], &vars, Limits::deadline(30));
    assert_quiet(&r);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "To log in with profile `default`, visit {}/verify and enter the code WDJB\u{fffd}[2J\u{fffd}]0;pwned\u{fffd}-MJHT\n\
             note: not opening `file:///etc/passwd` in a browser: only https addresses (or http to a loopback host) are opened\n\
             error: login failed: no login within 2 s (auth.login_timeout); run `runner login -p default` to try again\n",
            idp.url
        )
    );
    assert!(!opened.exists(), "the browser was handed a file: URL");
    assert!(
        idp.hits("POST /token") >= 1,
        "it polled, and was told to slow down"
    );
}

/// A browser for the sandbox that, before logging in, leaves a connection to the
/// redirect listener open that trickles a byte every 2 s, then sends the listener a
/// callback with a forged `state` and writes its answer to the file `$FORGED_OUT`.
const HOSTILE_BROWSER: &str = r#"
import os, socket, subprocess, sys, threading, time, urllib.parse
url = sys.argv[-1]
redirect = urllib.parse.urlparse(dict(urllib.parse.parse_qsl(urllib.parse.urlparse(url).query))["redirect_uri"])
addr = (redirect.hostname, redirect.port)
slow = socket.create_connection(addr)
slow.sendall(b"G")
def trickle():
    for b in b"ET /callback?state=":
        try:
            slow.sendall(bytes([b]))
        except OSError:
            return
        time.sleep(2)
threading.Thread(target=trickle, daemon=True).start()
forged = socket.create_connection(addr)
forged.sendall(("GET " + redirect.path + "?code=evil&state=forged HTTP/1.1\r\nHost: x\r\n\r\n").encode())
answer = b""
while True:
    chunk = forged.recv(4096)
    if not chunk:
        break
    answer += chunk
open(os.environ["FORGED_OUT"], "wb").write(answer)
sys.exit(subprocess.call([sys.executable, os.environ["SANDBOX_LOGIN"], url]))
"#;

#[test]
fn a_forged_state_and_a_slow_connection_neither_end_nor_stall_the_login() {
    let sb = SandboxProc::start(&[]);
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        &format!(
            "base_url: {0}/api/v1\nauth:\n  type: oauth2_authorization_code\n  issuer: {0}\n  client_id: sandbox-public\n  login_timeout: 60\n",
            sb.url
        ),
    );
    let script = p.write("hostile_browser.py", HOSTILE_BROWSER);
    let forged_out = p.path("forged.txt");
    let browser = format!("python3 {}", script.display());
    let login_helper = repo_root().join("tests/browser/sandbox_login.py");
    let (forged_s, helper_s) = (
        forged_out.display().to_string(),
        login_helper.display().to_string(),
    );
    let vars = [
        ("RUNNER_BROWSER", browser.as_str()),
        ("FORGED_OUT", forged_s.as_str()),
        ("SANDBOX_LOGIN", helper_s.as_str()),
    ];
    let r = p.run_limited(&["login"], &vars, Limits::deadline(60));
    assert_no_panic(&r);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "note: ignored a request to the login's redirect listener: the login's redirect carried a `state` that is not this login's: refused (a forged or stale redirect?); still waiting\n"
        ),
        "{}",
        r.stderr
    );
    let forged = std::fs::read_to_string(&forged_out).unwrap();
    assert!(
        forged.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{forged}"
    );
    assert!(
        forged.contains("This is not the login runner started."),
        "{forged}"
    );
    assert_eq!(sb.token_requests("authorization_code"), 1);
    assert_eq!(p.cache_files().len(), 1, "the session is kept");
}
