//! Issue 24, point 3: `http.cookies`. A form login with a CSRF token against the
//! sandbox's `/web` routes, a jar that persists per profile until `runner logout`,
//! and the origin rule: a hop to an origin the profile did not name neither receives
//! the jar's cookies nor gets its own kept.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use crate::support::{Project, SandboxProc};

/// `hex` decoded as UTF-8 text.
fn unhex(hex: &str) -> String {
    let bytes: Vec<u8> = (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `text`'s UTF-8 bytes in hex, for `sethex`.
pub fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

/// A loopback server that says what `Cookie` header each request brought. Its query
/// drives it: `set=NAME=VALUE` (or `sethex=` its UTF-8 in hex) answers with that `Set-Cookie`, `to=URL` redirects
/// there (302); otherwise 200 with `{"path", "cookie"}`.
pub struct CookieServer {
    pub url: String,
    /// The `Cookie` header of each request, in order (`None`: there was none).
    pub seen: Arc<Mutex<Vec<Option<String>>>>,
}

impl CookieServer {
    pub fn start() -> CookieServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let mut reader = BufReader::new(conn);
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                let target = line.split(' ').nth(1).unwrap_or("/").to_string();
                let mut cookie = None;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':')
                        && k.eq_ignore_ascii_case("cookie")
                    {
                        cookie = Some(v.trim().to_string());
                    }
                }
                log.lock().unwrap().push(cookie.clone());
                let u = url::Url::parse(&format!("http://x{target}")).unwrap();
                let q = |k: &str| {
                    u.query_pairs()
                        .find(|(n, _)| n == k)
                        .map(|(_, v)| v.into_owned())
                };
                let mut head = String::new();
                let set = q("set").or_else(|| q("sethex").map(|h| unhex(&h)));
                if let Some(set) = &set {
                    head.push_str(&format!("Set-Cookie: {set}; Path=/\r\n"));
                }
                let (status, body) = match q("to") {
                    Some(to) => {
                        head.push_str(&format!("Location: {to}\r\n"));
                        ("302 Found", String::new())
                    }
                    // A response that sets a cookie does not echo the one it got.
                    None if set.is_some() => {
                        ("200 OK", serde_json::json!({"path": u.path()}).to_string())
                    }
                    None => (
                        "200 OK",
                        serde_json::json!({"path": u.path(), "cookie": cookie}).to_string(),
                    ),
                };
                let mut conn = reader.into_inner();
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status}\r\n{head}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        CookieServer { url, seen }
    }

    pub fn seen(&self) -> Vec<Option<String>> {
        self.seen.lock().unwrap().clone()
    }
}

/// A project with the repository's `web` profile and requests, `cookies` set to
/// `mode`, against the sandbox at `sb`.
fn web_project(sb: &SandboxProc, mode: &str) -> Project {
    let p = Project::new();
    let root = crate::support::repo_root();
    crate::support::copy_dir(&root.join("requests"), &p.path("requests"));
    let profile = std::fs::read_to_string(root.join("profiles/web.yaml")).unwrap();
    let profile = profile
        .replace("{{ env('SANDBOX_URL', 'http://127.0.0.1:8080') }}", &sb.url)
        .replace("cookies: true", &format!("cookies: {mode}"));
    p.write("profiles/web.yaml", &profile);
    p
}

#[test]
fn a_form_login_with_a_csrf_token_keeps_its_session_in_a_cookie() {
    let sb = SandboxProc::start(&[]);
    let p = web_project(&sb, "true");
    let r = p.run(&["exec", "requests/flows/web_login.yaml", "-p", "web"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "{\"username\":\"demo\",\"email\":\"demo@example.com\"}\n"
    );
    // The jar lives for the run: the next run starts without the session.
    let r = p.run(&["exec", "requests/web/me.yaml", "-p", "web"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    // Without a jar the login itself is refused: no session cookie came back.
    let p = web_project(&sb, "false");
    let r = p.run(&[
        "exec",
        "requests/flows/web_login.yaml",
        "-p",
        "web",
        "-o",
        "none",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.starts_with(
            "error: flow requests/flows/web_login.yaml stopped at step 2 (requests/flows/../web/login.yaml): "
        ) && r.stderr.contains("status 403 (expected 200)"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_persisted_jar_outlives_the_run_until_logout() {
    let sb = SandboxProc::start(&[]);
    let p = web_project(&sb, "persist");
    let r = p.run(&["exec", "requests/web/login_page.yaml", "-p", "web"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let csrf = r.json()["csrf"].as_str().unwrap().to_string();
    let var = format!("csrf={csrf}");
    let r = p.run(&[
        "exec",
        "requests/web/login.yaml",
        "-p",
        "web",
        "--var",
        &var,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = p.run(&["exec", "requests/web/me.yaml", "-p", "web"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // One 0600 file in the state folder's `cookies`, which `runner profiles` names.
    let dir = p.state.path().join("cookies");
    let jar: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|f| f.extension().is_some_and(|x| x == "json"))
        .collect();
    assert_eq!(jar.len(), 1, "{jar:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&jar[0]).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let r = p.run(&["profiles"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        format!(
            "web  none                       cookies in {}\n",
            jar[0].display()
        )
    );
    let r = p.run(&["logout", "-p", "web"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (0, "profile `web`: saved cookies forgotten\n")
    );
    assert!(!jar[0].exists());
    let r = p.run(&["exec", "requests/web/me.yaml", "-p", "web", "-o", "none"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let r = p.run(&["logout", "-p", "web"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (0, "profile `web` had no saved cookies\n")
    );
}

#[test]
fn cookies_neither_go_to_nor_come_from_an_origin_the_profile_did_not_name() {
    let (home, foreign) = (CookieServer::start(), CookieServer::start());
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        &format!("base_url: {}\nhttp:\n  cookies: true\n", home.url),
    );
    p.write(
        "requests/set.yaml",
        "url: /set\nquery: {set: \"sid=home-session-1\"}\n",
    );
    // Home redirects to the foreign origin, which sets a cookie and sends the request
    // back home.
    let back = format!("{}/back", home.url);
    let there = format!(
        "{}/there?set=stolen%3Dforeign-cookie-2&to={}",
        foreign.url,
        url::form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>()
    );
    p.write(
        "requests/flows/away.yaml",
        "steps:\n  - run: ../set.yaml\n  - run: ../away.yaml\n",
    );
    p.write(
        "requests/away.yaml",
        &format!("url: /away\nquery: {{to: \"{there}\"}}\n"),
    );
    let r = p.run(&["exec", "requests/flows/away.yaml", "-v"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "{\"path\":\"/back\",\"cookie\":\"sid=home-session-1\"}\n"
    );
    assert_eq!(foreign.seen(), vec![None]);
    assert_eq!(
        home.seen(),
        vec![
            None,
            Some("sid=home-session-1".into()),
            Some("sid=home-session-1".into())
        ]
    );
    let note = format!(
        "cookies set by {} not kept: not an origin of the profile (base_url, auth.origins)",
        foreign.url
    );
    assert!(r.stderr.contains(&note), "{}", r.stderr);
}

#[test]
fn bulk_rows_share_the_runs_jar() {
    let server = CookieServer::start();
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        &format!("base_url: {}\nhttp:\n  cookies: true\n", server.url),
    );
    p.write("requests/row.yaml", "url: \"{{ target }}\"\n");
    p.write("rows.csv", "target\n/set?set=sid%3Drow-one-cookie\n/echo\n");
    let r = p.run(&[
        "exec",
        "requests/row.yaml",
        "--data",
        "rows.csv",
        "--concurrency",
        "1",
        "-o",
        "none",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(server.seen(), vec![None, Some("sid=row-one-cookie".into())]);
}
