//! runner's stand-in for a browser, `tests/browser/sandbox_login.py` at the
//! repository's root, against the sandbox's login and device pages.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::StatusCode;
use sandbox::SandboxOptions;

use crate::harness::{Harness, str_of};
use crate::login::{VERIFIER, auth_params, with_param};

/// A loopback listener standing in for runner's: takes one request, answers 200, and
/// hands over the request target (path and query).
fn one_callback() -> (u16, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead as _, BufReader, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        let mut reader = BufReader::new(stream);
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).is_err() {
            return;
        }
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
            line.clear();
        }
        let mut stream = reader.into_inner();
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 21\r\nConnection: close\r\n\r\nYou may close this.\r\n",
        );
        let target = request_line.split(' ').nth(1).unwrap_or("").to_owned();
        let _ = tx.send(format!(
            "{} {target}",
            request_line.split(' ').next().unwrap_or("")
        ));
    });
    (port, rx)
}

/// Runs `python3 tests/browser/sandbox_login.py [args] URL` (runner's stand-in for a
/// browser, at the repository's root) as runner would run `RUNNER_BROWSER`; returns the
/// exit code, stdout and stderr.
async fn login_script(args: &[&str], url: String, env: &[(&str, &str)]) -> (i32, String, String) {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/browser/sandbox_login.py"
    );
    let mut command = std::process::Command::new("python3");
    command.arg(script).args(args).arg(url);
    command
        .env_remove("SANDBOX_LOGIN_PASSWORD")
        .env_remove("SANDBOX_LOGIN_DENY");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("python3 runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The query of a request target, as pairs.
fn target_query(target: &str) -> HashMap<String, String> {
    let query = target.split_once('?').map_or("", |(_, q)| q);
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

#[tokio::test]
async fn the_browser_script_logs_in_and_delivers_the_code_to_the_loopback_listener() {
    let h = Harness::start(SandboxOptions::default()).await;
    let (port, received) = one_callback();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let params = with_param(
        &auth_params("sandbox-public", "st-4ae1"),
        "redirect_uri",
        Some(&redirect),
    );
    let (code, stdout, stderr) = login_script(&["--verbose"], h.authorize_url(&params), &[]).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "");
    let request = received.recv_timeout(Duration::from_secs(10)).unwrap();
    let (method, target) = request.split_once(' ').unwrap();
    assert_eq!(method, "GET");
    assert!(target.starts_with("/callback?"), "{target}");
    let query = target_query(target);
    assert_eq!(query["state"], "st-4ae1");
    let auth_code = &query["code"];
    assert!(
        !stderr.contains(auth_code.as_str()),
        "the code is never printed: {stderr}"
    );
    assert!(
        stderr.contains(&format!("the redirect reached {redirect} (200)")),
        "{stderr}"
    );

    let (status, body) = h
        .post_form(
            "/oauth/v2/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", auth_code),
                ("redirect_uri", &redirect),
                ("code_verifier", VERIFIER),
                ("client_id", "sandbox-public"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        h.get("/api/v1/assets", &str_of(&body["access_token"]))
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_browser_script_denies_fails_on_a_wrong_password_and_follows_auto_approval() {
    let h = Harness::start(SandboxOptions::default()).await;
    let redirect_for = |port: u16| format!("http://127.0.0.1:{port}/cb");

    let (port, received) = one_callback();
    let redirect = redirect_for(port);
    let params = with_param(
        &auth_params("sandbox", "d1"),
        "redirect_uri",
        Some(&redirect),
    );
    let (code, stdout, stderr) = login_script(
        &[],
        h.authorize_url(&params),
        &[("SANDBOX_LOGIN_DENY", "1")],
    )
    .await;
    assert_eq!((code, stdout.as_str(), stderr.as_str()), (0, "", ""));
    let (_, target) = received
        .recv_timeout(Duration::from_secs(10))
        .unwrap()
        .split_once(' ')
        .map(|(m, t)| (m.to_owned(), t.to_owned()))
        .unwrap();
    let query = target_query(&target);
    assert_eq!(query["error"], "access_denied");
    assert_eq!(query["state"], "d1");

    let (port, received) = one_callback();
    let redirect = redirect_for(port);
    let params = with_param(
        &auth_params("sandbox", "w"),
        "redirect_uri",
        Some(&redirect),
    );
    let (code, _, stderr) = login_script(
        &[],
        h.authorize_url(&params),
        &[("SANDBOX_LOGIN_PASSWORD", "wrong")],
    )
    .await;
    assert_eq!(
        (code, stderr.as_str()),
        (1, "sandbox_login: Wrong password for demo.\n")
    );
    assert!(received.recv_timeout(Duration::from_millis(200)).is_err());

    let params = with_param(
        &auth_params("sandbox", "w"),
        "redirect_uri",
        Some("http://192.0.2.1:80/cb"),
    );
    let (code, _, stderr) = login_script(&[], h.authorize_url(&params), &[]).await;
    assert_eq!(code, 1);
    assert!(stderr.starts_with("sandbox_login: redirect_uri \"http://192.0.2.1:80/cb\" is refused: its host is not a loopback address"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let auto = Harness::start(SandboxOptions {
        auto_approve: true,
        ..SandboxOptions::default()
    })
    .await;
    let (port, received) = one_callback();
    let redirect = redirect_for(port);
    let params = with_param(
        &auth_params("sandbox", "a"),
        "redirect_uri",
        Some(&redirect),
    );
    let (code, _, stderr) = login_script(&[], auto.authorize_url(&params), &[]).await;
    assert_eq!(code, 0, "{stderr}");
    let request = received.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(target_query(&request)["code"].len() == 43, "{request}");
}

#[tokio::test]
async fn the_browser_script_approves_a_device_code() {
    let h = Harness::start(SandboxOptions::default()).await;
    let started = h.device(&[("client_id", "sandbox-public")]).await;
    let complete = str_of(&started["verification_uri_complete"]);
    let (code, stdout, stderr) =
        login_script(&[], complete.clone(), &[("SANDBOX_LOGIN_PASSWORD", "x")]).await;
    assert_eq!(
        (code, stdout.as_str(), stderr.as_str()),
        (1, "", "sandbox_login: Wrong password for demo.\n")
    );
    let (code, stdout, stderr) = login_script(&[], complete, &[]).await;
    assert_eq!((code, stdout.as_str(), stderr.as_str()), (0, "", ""));
    let (status, body) = h.poll(&str_of(&started["device_code"])).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let denied = h.device(&[("client_id", "sandbox-public")]).await;
    let (code, _, stderr) = login_script(
        &[],
        str_of(&denied["verification_uri_complete"]),
        &[("SANDBOX_LOGIN_DENY", "1")],
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    let (_, body) = h.poll(&str_of(&denied["device_code"])).await;
    assert_eq!(body["error"], "access_denied");

    let unknown = format!(
        "{}/oauth/v2/device/verify?user_code=BCDF-GHJK",
        h.sandbox.url()
    );
    let (code, _, stderr) = login_script(&[], unknown, &[]).await;
    assert_eq!(
        (code, stderr.as_str()),
        (
            1,
            "sandbox_login: No device is waiting for this code: check it and try again.\n"
        )
    );
}
