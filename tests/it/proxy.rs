//! Issue 23: proxies. A small proxy on loopback, written here, forwards plain-http
//! requests (absolute form) and tunnels https (CONNECT), and records each: every
//! endpoint runner talks to (discovery, token, API, revocation) must go through it,
//! unless `NO_PROXY` or `http.proxy: none` says otherwise.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use crate::support::{Project, Run, SandboxProc, assert_no_secret};

/// What the proxy saw: `CONNECT host:port` or `METHOD URL`, and each request's
/// `Proxy-Authorization`.
#[derive(Default)]
struct Seen {
    lines: Vec<String>,
    auth: Vec<Option<String>>,
}

pub(crate) struct Proxy {
    pub(crate) url: String,
    seen: Arc<Mutex<Seen>>,
}

impl Proxy {
    pub(crate) fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Seen::default()));
        let s = Arc::clone(&seen);
        thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let s = Arc::clone(&s);
                thread::spawn(move || serve(conn, &s));
            }
        });
        Proxy { url, seen }
    }

    pub(crate) fn lines(&self) -> Vec<String> {
        self.seen.lock().unwrap().lines.clone()
    }

    /// Each request's `Proxy-Authorization`, decoded from Basic.
    pub(crate) fn credentials(&self) -> Vec<Option<String>> {
        use base64::Engine as _;
        let seen = self.seen.lock().unwrap();
        seen.auth
            .iter()
            .map(|a| {
                let b64 = a.as_deref()?.strip_prefix("Basic ")?;
                let raw = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
                String::from_utf8(raw).ok()
            })
            .collect()
    }

    fn count(&self, line: &str) -> usize {
        self.lines().iter().filter(|l| *l == line).count()
    }
}

/// One client connection: a CONNECT tunnel, or one forwarded request.
fn serve(conn: TcpStream, seen: &Mutex<Seen>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
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
    let mut parts = head[0].split(' ');
    let (method, target) = (
        parts.next().unwrap().to_string(),
        parts.next().unwrap().to_string(),
    );
    let header = |name: &str| {
        head[1..].iter().find_map(|h| {
            let (k, v) = h.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    };
    {
        let mut s = seen.lock().unwrap();
        s.lines.push(format!("{method} {target}"));
        s.auth.push(header("proxy-authorization"));
    }
    let mut client = conn;
    if method == "CONNECT" {
        let upstream = TcpStream::connect(&target).unwrap();
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .unwrap();
        let (mut up_r, mut up_w) = (upstream.try_clone().unwrap(), upstream);
        let mut cl_w = client.try_clone().unwrap();
        let t = thread::spawn(move || {
            let _ = std::io::copy(&mut up_r, &mut cl_w);
            let _ = cl_w.shutdown(std::net::Shutdown::Write);
        });
        let _ = std::io::copy(&mut reader, &mut up_w);
        let _ = up_w.shutdown(std::net::Shutdown::Write);
        let _ = t.join();
        return;
    }
    // Absolute form: one request, sent on with `Connection: close`.
    let url = url::Url::parse(&target).unwrap();
    let mut upstream = TcpStream::connect(format!(
        "{}:{}",
        url.host_str().unwrap(),
        url.port().unwrap()
    ))
    .unwrap();
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let mut out = format!("{method} {path} HTTP/1.1\r\n");
    for h in &head[1..] {
        let name = h.split(':').next().unwrap_or("").to_ascii_lowercase();
        if !matches!(
            name.as_str(),
            "connection" | "proxy-authorization" | "proxy-connection"
        ) {
            out.push_str(h);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    upstream.write_all(out.as_bytes()).unwrap();
    let len: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap();
    upstream.write_all(&body).unwrap();
    let _ = std::io::copy(&mut upstream, &mut client);
}

const LIST: &str = "url: /assets\nquery: {limit: 2}\nextract: {total: $.total_items}\n";

fn ok(r: &Run) {
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    assert_eq!(r.stdout, "{\"total\":250}\n");
}

/// A project whose profile discovers the sandbox's endpoints from its issuer.
fn project(sb: &SandboxProc, http: &str) -> Project {
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        &format!(
            "base_url: {url}/api/v1\nauth:\n  type: oauth2_password\n  issuer: {url}\n  client_id: sandbox\n  client_secret: sandbox-secret\n  username: demo\n  password: demo\n{http}",
            url = sb.url
        ),
    );
    p.write("requests/list.yaml", LIST);
    p
}

/// The proxy variables cleared, then `vars` set.
fn env<'a>(vars: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all: Vec<(&str, &str)> = [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ]
    .iter()
    .map(|n| (*n, ""))
    .collect();
    all.extend_from_slice(vars);
    all
}

#[test]
fn every_endpoint_goes_through_http_proxy_unless_no_proxy_names_it() {
    let sb = SandboxProc::start(&[]);
    let proxy = Proxy::start();
    let p = project(&sb, "");
    let vars = env(&[("HTTP_PROXY", &proxy.url)]);
    let r = p.run_env(&["-v", "exec", "requests/list.yaml"], &vars);
    ok(&r);
    let out = p.run_env(&["logout"], &vars);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let u = &sb.url;
    for line in [
        format!("GET {u}/.well-known/openid-configuration"),
        format!("POST {u}/oauth/v2/token"),
        format!("GET {u}/api/v1/assets?limit=2"),
        format!("POST {u}/oauth/v2/revoke"),
    ] {
        assert!(
            proxy.count(&line) >= 1,
            "{line} not proxied: {:?}",
            proxy.lines()
        );
    }
    assert!(
        r.stderr
            .contains(&format!("via proxy {} (HTTP_PROXY): {u}", proxy.url)),
        "{}",
        r.stderr
    );
    let before = proxy.lines().len();
    let vars = env(&[
        ("HTTP_PROXY", &proxy.url),
        ("NO_PROXY", "localhost,127.0.0.1"),
    ]);
    let r = p.run_env(&["-v", "exec", "requests/list.yaml"], &vars);
    ok(&r);
    assert_eq!(proxy.lines().len(), before, "NO_PROXY: {:?}", proxy.lines());
    assert!(!r.stderr.contains("via proxy"), "{}", r.stderr);
    // http.proxy: none ignores the environment.
    let p = project(&sb, "http:\n  proxy: none\n");
    ok(&p.run_env(
        &["exec", "requests/list.yaml"],
        &env(&[("HTTP_PROXY", &proxy.url)]),
    ));
    assert_eq!(
        proxy.lines().len(),
        before,
        "http.proxy: none: {:?}",
        proxy.lines()
    );
}

#[test]
fn http_proxy_in_a_profile_carries_credentials_that_never_show() {
    let sb = SandboxProc::start(&[]);
    let proxy = Proxy::start();
    let addr = proxy.url.trim_start_matches("http://");
    // user `pr oxy`, password `p&ss:w/ord é`, percent-encoded in the URL.
    let profile_http =
        format!("http:\n  proxy: \"http://pr%20oxy:p%26ss%3Aw%2Ford%20%C3%A9@{addr}\"\n");
    let p = project(&sb, &profile_http);
    let r = p.run_env(&["-vv", "exec", "requests/list.yaml"], &env(&[]));
    ok(&r);
    let seen = proxy.seen.lock().unwrap();
    assert!(!seen.lines.is_empty());
    use base64::Engine as _;
    let want = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("pr oxy:p&ss:w/ord é")
    );
    assert!(
        seen.auth
            .iter()
            .all(|a| a.as_deref() == Some(want.as_str())),
        "{:?}",
        seen.auth
    );
    // The user name shows, as in every URL's userinfo; the password does not.
    assert!(
        r.stderr.contains(&format!(
            "via proxy http://pr%20oxy:***@{addr} (http.proxy)"
        )),
        "{}",
        r.stderr
    );
    assert_no_secret(&r.stderr, &["p%26ss%3Aw%2Ford", "p&ss:w/ord"]);
    drop(seen);
    let curl = p.run_env(&["exec", "--curl", "requests/list.yaml"], &env(&[]));
    assert_eq!(curl.code, 0, "{}", curl.stderr);
    assert!(
        curl.stdout
            .ends_with(&format!(" \\\n  --proxy 'http://pr%20oxy:***@{addr}/'\n")),
        "{}",
        curl.stdout
    );
}

#[test]
fn https_goes_through_a_connect_tunnel() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let sb = SandboxProc::start(&["--tls", "--ca-out", ca.to_str().unwrap()]);
    let proxy = Proxy::start();
    let p = project(&sb, "");
    let vars = env(&[("HTTPS_PROXY", &proxy.url)]);
    let r = p.run_env(
        &[
            "-v",
            "--cacert",
            ca.to_str().unwrap(),
            "exec",
            "requests/list.yaml",
        ],
        &vars,
    );
    ok(&r);
    let host = sb.url.trim_start_matches("https://");
    assert!(
        proxy.count(&format!("CONNECT {host}")) >= 1,
        "{:?}",
        proxy.lines()
    );
    assert!(
        proxy
            .lines()
            .iter()
            .all(|l| l == &format!("CONNECT {host}")),
        "only tunnels: {:?}",
        proxy.lines()
    );
    assert!(
        r.stderr
            .contains(&format!("via proxy {} (HTTPS_PROXY)", proxy.url)),
        "{}",
        r.stderr
    );
}
