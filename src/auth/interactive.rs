//! The parts of the interactive grants that meet a person: the browser command, the
//! loopback listener that takes the authorization code's redirect (RFC 8252 §7.3),
//! and a pasted redirect URL for sessions without a browser. No token requests here.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::AuthError;
use super::grant::server_text;

/// The largest request head the listener reads from the browser.
const MAX_HEAD: usize = 16 * 1024;
/// How long a connection to the listener has to send its whole request head.
const HEAD_DEADLINE: Duration = Duration::from_secs(5);
/// The most connections the listener serves at once.
const MAX_CONNECTIONS: usize = 32;

/// Opens `url` with `$RUNNER_BROWSER` (a command line, the URL appended as its last
/// argument), else `$BROWSER`, else the platform's opener, when it is an address a
/// browser may be sent to ([`may_open`]). The URL has been printed already; a
/// browser that cannot be started is said, not an error.
pub fn open_browser(url: &str) {
    if !may_open(url) {
        eprintln!(
            "note: not opening `{}` in a browser: only https addresses (or http to a loopback host) are opened",
            server_text(url, 300)
        );
        return;
    }
    let configured = ["RUNNER_BROWSER", "BROWSER"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()));
    let mut words = match &configured {
        Some(line) => match shell_words::split(line) {
            Ok(w) if !w.is_empty() => {
                let mut w = w;
                w.push(url.to_string());
                w
            }
            _ => {
                eprintln!(
                    "warning: cannot read the browser command `{line}`; open the URL by hand"
                );
                return;
            }
        },
        None => opener_argv(std::env::consts::OS, url),
    };
    let program = words.remove(0);
    let started = std::process::Command::new(&program)
        .args(&words)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn();
    match started {
        // Not waited for: a browser may outlive the login. Reaped by the OS at exit.
        Ok(child) => drop(child),
        Err(e) => {
            eprintln!("note: cannot start the browser `{program}` ({e}); open the URL by hand")
        }
    }
}

/// Whether `url` may be handed to a browser: https, or http to a loopback host.
/// Anything else a server names (`file:`, `javascript:`, a custom scheme) is not.
pub fn may_open(url: &str) -> bool {
    match url::Url::parse(url) {
        Ok(u) => match u.scheme() {
            "https" => true,
            "http" => crate::http::is_loopback(&u),
            _ => false,
        },
        Err(_) => false,
    }
}

/// The platform opener's argument vector for `url` on `os` (`std::env::consts::OS`):
/// the URL is one argument, and no shell reads it. (Windows' `cmd /C start` would:
/// every `&` of an authorize URL would separate commands.)
pub fn opener_argv(os: &str, url: &str) -> Vec<String> {
    let words: &[&str] = match os {
        "macos" => &["open"],
        "windows" => &["rundll32", "url.dll,FileProtocolHandler"],
        _ => &["xdg-open"],
    };
    let mut argv: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    argv.push(url.to_string());
    argv
}

/// What the redirect brought back.
#[derive(Debug, PartialEq, Eq)]
pub enum Callback {
    Code(String),
    /// The server's `error` and `error_description`.
    Refused(String, Option<String>),
}

/// The listener of one authorization-code login, bound to 127.0.0.1 only.
pub struct Redirect {
    listener: TcpListener,
    path: String,
}

impl Redirect {
    /// Binds 127.0.0.1:`port` (0: a free port).
    pub async fn bind(port: u16, path: &str) -> Result<Redirect, AuthError> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.map_err(|e| {
            AuthError::Interactive(format!(
                "cannot listen on 127.0.0.1:{port} for the login's redirect: {e} (auth.redirect_port)"
            ))
        })?;
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        Ok(Redirect { listener, path })
    }

    /// The redirect URI to register with the authorization request.
    pub fn uri(&self) -> String {
        let port = self.listener.local_addr().map(|a| a.port()).unwrap_or(0);
        format!("http://127.0.0.1:{port}{}", self.path)
    }

    /// Waits for the callback to the redirect path that carries this login's `state`
    /// and answers the browser. Connections are served concurrently, each with
    /// [`HEAD_DEADLINE`] to send its request, so that a slow one cannot hold up the
    /// real redirect; other paths (a favicon) get a 404, and a callback with another
    /// `state` (a forged or stale one) an error page, and the wait goes on.
    pub async fn callback(&self, state: &str) -> Result<Callback, AuthError> {
        let mut conns = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let (conn, _) = accepted.map_err(|e| {
                        AuthError::Interactive(format!("the login's redirect listener failed: {e}"))
                    })?;
                    // Past this many at once, new ones are closed unread.
                    if conns.len() < MAX_CONNECTIONS {
                        conns.spawn(serve(conn, self.path.clone(), state.to_string()));
                    }
                }
                Some(done) = conns.join_next() => {
                    if let Ok(Some(callback)) = done {
                        return Ok(callback);
                    }
                }
            }
        }
    }
}

/// One connection to the listener: the callback it brings when it is this login's
/// (with the browser answered), else `None`.
async fn serve(mut conn: tokio::net::TcpStream, path: String, state: String) -> Option<Callback> {
    let target = tokio::time::timeout(HEAD_DEADLINE, read_target(&mut conn))
        .await
        .ok()??;
    let (got_path, query) = target.split_once('?').unwrap_or((&target, ""));
    if got_path != path {
        let _ = respond(&mut conn, "404 Not Found", "Not the login callback.").await;
        return None;
    }
    match read_callback(query, &state) {
        Ok(callback) => {
            let page = match &callback {
                Callback::Code(_) => {
                    "Logged in. You may close this window and go back to the terminal."
                }
                Callback::Refused(..) => {
                    "The login was refused. You may close this window; the terminal says why."
                }
            };
            let _ = respond(&mut conn, "200 OK", page).await;
            Some(callback)
        }
        Err(e) => {
            let why = match e {
                AuthError::Interactive(m) => m,
                other => other.to_string(),
            };
            eprintln!(
                "note: ignored a request to the login's redirect listener: {why}; still waiting"
            );
            let page = "This is not the login runner started. You may close this window.";
            let _ = respond(&mut conn, "400 Bad Request", page).await;
            None
        }
    }
}

/// The request target of an HTTP request line, if the head is one.
async fn read_target(conn: &mut tokio::net::TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = conn.read(&mut buf).await.ok()?;
        if n == 0 || head.len() + n > MAX_HEAD {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = head.split(|b| *b == b'\r').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split(' ');
    (parts.next()? == "GET").then_some(())?;
    parts.next().map(str::to_string)
}

async fn respond(
    conn: &mut tokio::net::TcpStream,
    status: &str,
    text: &str,
) -> std::io::Result<()> {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>runner</title></head><body><p>{text}</p></body></html>"
    );
    let msg = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(msg.as_bytes()).await?;
    conn.shutdown().await
}

/// The code (or the refusal) in a callback's query, once its `state` is checked.
pub fn read_callback(query: &str, state: &str) -> Result<Callback, AuthError> {
    let mut code = None;
    let mut got_state = None;
    let mut error = None;
    let mut description = None;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "code" => code = Some(v.into_owned()),
            "state" => got_state = Some(v.into_owned()),
            "error" => error = Some(v.into_owned()),
            "error_description" => description = Some(v.into_owned()),
            _ => {}
        }
    }
    match got_state {
        Some(s) if s == state => {}
        Some(_) => {
            return Err(AuthError::Interactive(
                "the login's redirect carried a `state` that is not this login's: refused (a forged or stale redirect?)".to_string(),
            ));
        }
        None => {
            return Err(AuthError::Interactive(
                "the login's redirect carried no `state`: refused".to_string(),
            ));
        }
    }
    match (error, code) {
        (Some(e), _) => Ok(Callback::Refused(
            server_text(&e, 300),
            description.map(|d| server_text(&d, 300)),
        )),
        (None, Some(c)) if !c.is_empty() => Ok(Callback::Code(c)),
        _ => Err(AuthError::Interactive(
            "the login's redirect carried neither a `code` nor an `error`".to_string(),
        )),
    }
}

/// What a person pasted: the whole redirected URL (its query is read, `state`
/// checked) or the bare code.
pub fn read_pasted(line: &str, state: &str) -> Result<Callback, AuthError> {
    let line = line.trim();
    if line.is_empty() {
        return Err(AuthError::Interactive("nothing was pasted".to_string()));
    }
    match url::Url::parse(line) {
        Ok(u) => read_callback(u.query().unwrap_or(""), state),
        Err(_) if line.contains('=') => read_callback(line.trim_start_matches('?'), state),
        Err(_) => Ok(Callback::Code(line.to_string())),
    }
}

/// One line from stdin (for `--no-browser`).
pub async fn read_stdin_line() -> Result<String, AuthError> {
    let mut line = String::new();
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).take(MAX_HEAD as u64);
    stdin
        .read_line(&mut line)
        .await
        .map_err(|e| AuthError::Interactive(format!("cannot read the pasted URL: {e}")))?;
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callbacks_are_read_only_with_their_state() {
        assert_eq!(
            read_callback("code=abc&state=s1", "s1").unwrap(),
            Callback::Code("abc".into())
        );
        assert_eq!(
            read_callback(
                "error=access_denied&error_description=No%20way&state=s1",
                "s1"
            )
            .unwrap(),
            Callback::Refused("access_denied".into(), Some("No way".into()))
        );
        for bad in [
            "code=abc&state=s2",
            "code=abc",
            "state=s1",
            "code=&state=s1",
        ] {
            assert!(read_callback(bad, "s1").is_err(), "{bad}");
        }
    }

    #[test]
    fn pasted_urls_queries_and_bare_codes() {
        let s = "st";
        assert_eq!(
            read_pasted("http://127.0.0.1:9/callback?code=c1&state=st\n", s).unwrap(),
            Callback::Code("c1".into())
        );
        assert_eq!(
            read_pasted("code=c2&state=st", s).unwrap(),
            Callback::Code("c2".into())
        );
        assert_eq!(read_pasted(" c3 ", s).unwrap(), Callback::Code("c3".into()));
        assert!(read_pasted("http://127.0.0.1:9/callback?code=c1&state=x", s).is_err());
        assert!(read_pasted("", s).is_err());
    }

    #[tokio::test]
    async fn the_listener_takes_one_callback_on_its_path() {
        let r = Redirect::bind(0, "callback").await.unwrap();
        let uri = r.uri();
        assert!(
            uri.starts_with("http://127.0.0.1:") && uri.ends_with("/callback"),
            "{uri}"
        );
        let port = url::Url::parse(&uri).unwrap().port().unwrap();
        let client = tokio::spawn(async move {
            let favicon = get(port, "/favicon.ico").await;
            let page = get(port, "/callback?code=the-code&state=st").await;
            (favicon, page)
        });
        assert_eq!(
            r.callback("st").await.unwrap(),
            Callback::Code("the-code".into())
        );
        let (favicon, page) = client.await.unwrap();
        assert!(favicon.starts_with("HTTP/1.1 404"), "{favicon}");
        assert!(page.contains("You may close this window"), "{page}");
        assert!(!page.contains("the-code"), "the page never shows the code");
    }

    #[test]
    fn openers_take_the_url_as_one_argument_and_no_shell() {
        let url = "https://idp.example/auth?a=1&b=2&calc.exe=\"x y\"|^%PATH%";
        assert_eq!(
            opener_argv("windows", url),
            ["rundll32", "url.dll,FileProtocolHandler", url]
        );
        assert_eq!(opener_argv("macos", url), ["open", url]);
        assert_eq!(opener_argv("linux", url), ["xdg-open", url]);
        assert_eq!(opener_argv("freebsd", url), ["xdg-open", url]);
        for os in ["windows", "macos", "linux"] {
            let argv = opener_argv(os, url);
            assert!(
                !argv
                    .iter()
                    .any(|w| matches!(w.as_str(), "cmd" | "cmd.exe" | "/C" | "sh" | "-c")),
                "{os}: {argv:?}"
            );
        }
    }

    #[test]
    fn only_https_and_loopback_http_are_opened() {
        for ok in [
            "https://idp.example/device?user_code=AB-CD",
            "http://127.0.0.1:8080/verify",
            "http://localhost/verify",
        ] {
            assert!(may_open(ok), "{ok}");
        }
        for bad in [
            "file:///etc/passwd",
            "javascript:alert(1)",
            "http://idp.example/verify",
            "smb://host/share",
            "calc.exe",
            "",
        ] {
            assert!(!may_open(bad), "{bad}");
        }
    }

    /// A request to the listener, its answer read to the end.
    async fn get(port: u16, target: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        s.write_all(format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn a_slow_connection_and_a_forged_state_do_not_end_or_stall_the_login() {
        let r = Redirect::bind(0, "/callback").await.unwrap();
        let port = url::Url::parse(&r.uri()).unwrap().port().unwrap();
        let client = tokio::spawn(async move {
            // Accepted first, and it never finishes its request line.
            let mut slow = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap();
            slow.write_all(b"G").await.unwrap();
            // Answered while the slow one is still open: served concurrently.
            let forged = get(port, "/callback?code=evil&state=forged").await;
            let real = get(port, "/callback?code=the-code&state=st").await;
            drop(slow);
            (forged, real)
        });
        assert_eq!(
            r.callback("st").await.unwrap(),
            Callback::Code("the-code".into())
        );
        let (forged, real) = client.await.unwrap();
        assert!(forged.starts_with("HTTP/1.1 400"), "{forged}");
        assert!(
            forged.contains("This is not the login runner started"),
            "{forged}"
        );
        assert!(real.starts_with("HTTP/1.1 200"), "{real}");
    }

    #[test]
    fn a_refusal_is_read_with_its_control_characters_replaced() {
        assert_eq!(
            read_callback(
                "error=access_denied%1B%5B2J&error_description=no%07%1B%5D0%3Btitle&state=s",
                "s"
            )
            .unwrap(),
            Callback::Refused(
                "access_denied\u{fffd}[2J".into(),
                Some("no\u{fffd}\u{fffd}]0;title".into())
            )
        );
    }
}
