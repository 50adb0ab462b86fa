//! The parts of the interactive grants that meet a person: the browser command, the
//! loopback listener that takes the authorization code's redirect (RFC 8252 §7.3),
//! and a pasted redirect URL for sessions without a browser. No token requests here.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::AuthError;

/// The largest request head the listener reads from the browser.
const MAX_HEAD: usize = 16 * 1024;

/// Opens `url` with `$RUNNER_BROWSER` (a command line, the URL appended as its last
/// argument), else `$BROWSER`, else the platform's opener. The URL has been printed
/// already; a browser that cannot be started is said, not an error.
pub fn open_browser(url: &str) {
    let configured = ["RUNNER_BROWSER", "BROWSER"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()));
    let mut words = match &configured {
        Some(line) => match shell_words::split(line) {
            Ok(w) if !w.is_empty() => w,
            _ => {
                eprintln!(
                    "warning: cannot read the browser command `{line}`; open the URL by hand"
                );
                return;
            }
        },
        None => platform_opener(),
    };
    words.push(url.to_string());
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

fn platform_opener() -> Vec<String> {
    let words: &[&str] = if cfg!(target_os = "macos") {
        &["open"]
    } else if cfg!(windows) {
        &["cmd", "/C", "start", ""]
    } else {
        &["xdg-open"]
    };
    words.iter().map(|w| w.to_string()).collect()
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

    /// Waits for the one callback to the redirect path and answers the browser; other
    /// requests (a favicon) get a 404 and are passed over. `state` must match.
    pub async fn callback(&self, state: &str) -> Result<Callback, AuthError> {
        loop {
            let (mut conn, _) = self.listener.accept().await.map_err(|e| {
                AuthError::Interactive(format!("the login's redirect listener failed: {e}"))
            })?;
            let target = match read_target(&mut conn).await {
                Some(t) => t,
                None => continue,
            };
            let (path, query) = target.split_once('?').unwrap_or((&target, ""));
            if path != self.path {
                let _ = respond(&mut conn, "404 Not Found", "Not the login callback.").await;
                continue;
            }
            let result = read_callback(query, state);
            let page = match &result {
                Ok(Callback::Code(_)) => {
                    "Logged in. You may close this window and go back to the terminal."
                }
                Ok(Callback::Refused(..)) => {
                    "The login was refused. You may close this window; the terminal says why."
                }
                Err(_) => "This is not the login runner started. You may close this window.",
            };
            let _ = respond(&mut conn, "200 OK", page).await;
            return result;
        }
    }
}

/// The request target of an HTTP request line, if the head is one.
async fn read_target(conn: &mut tokio::net::TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(10), conn.read(&mut buf))
            .await
            .ok()?
            .ok()?;
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
        (Some(e), _) => Ok(Callback::Refused(clean(&e), description.map(|d| clean(&d)))),
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

/// A server's words, fit for a terminal.
fn clean(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(300).collect()
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
            let get = |target: &'static str| async move {
                let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .unwrap();
                s.write_all(format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
                    .await
                    .unwrap();
                let mut out = String::new();
                s.read_to_string(&mut out).await.unwrap();
                out
            };
            let favicon = get("/favicon.ico").await;
            let page = get("/callback?code=the-code&state=st").await;
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
}
