//! Issue 20, point 6: `runner serve` refuses a target with userinfo, masks
//! credential-like query values in every log, and adds the profile's `http.headers`.

use std::io::{Read as _, Write as _};

use serde_json::Value;

use crate::serve::{Gateway, curl, project};
use crate::support::{Project, SandboxProc, sandbox_profile};

/// Every form `secret` may take in a log: raw, percent-encoded (both space forms,
/// both hex cases), JSON-escaped, HTML-escaped.
fn forms(secret: &str) -> Vec<String> {
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let json = serde_json::to_string(secret).unwrap();
    let html = secret
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    vec![
        secret.to_string(),
        form.clone(),
        form.replace('+', "%20"),
        form.to_lowercase(),
        json[1..json.len() - 1].to_string(),
        html,
    ]
}

fn assert_no_form(text: &str, secrets: &[&str]) {
    for s in secrets {
        for f in forms(s) {
            assert!(!text.contains(&f), "{s:?} leaked as {f:?} in:\n{text}");
        }
    }
}

/// One raw HTTP/1.1 exchange with the gateway at `http://127.0.0.1:PORT`: what curl
/// would never send (it turns userinfo into a header of its own).
fn raw(gateway_url: &str, request: &str) -> String {
    let addr = gateway_url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn a_target_with_userinfo_is_400_and_the_api_receives_nothing() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    let gw = Gateway::start(&p, &["-vv"]);
    let authority = sb.url.trim_start_matches("http://");
    let want = r#"{"error":"userinfo_refused","message":"the target carries user:password@; runner serve sends the profile's credentials only"}"#;
    // Absolute form, as a client using the gateway as a proxy sends it.
    let answer = raw(
        &gw.url,
        &format!(
            "GET http://mallory:p&ss%2Fw=rd@{authority}/api/v1/assets HTTP/1.1\r\nHost: {authority}\r\nX-Runner-Key: {}\r\nConnection: close\r\n\r\n",
            gw.key
        ),
    );
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.ends_with(want), "{answer}");
    // Userinfo in the Host header.
    let (status, body) = gw.curl(
        "/assets",
        &["-H", &format!("Host: mallory:p&ss%2Fw=rd@{authority}")],
    );
    assert_eq!((status, body.as_str()), (400, want));
    assert_eq!(
        sb.requests("GET /api/v1/assets"),
        0,
        "the API got a request"
    );
    // The gateway still serves the same request without userinfo.
    let (status, _) = curl(&[
        "-H",
        &format!("X-Runner-Key: {}", gw.key),
        "-x",
        &gw.url,
        &format!("{}/api/v1/assets?limit=1", sb.url),
    ]);
    assert_eq!(status, 200);
    assert_eq!(sb.requests("GET /api/v1/assets"), 1);
    let (code, stderr) = gw.stop_with_stderr();
    assert_eq!(code, 0);
    assert!(stderr.contains("GET /api/v1/assets 400 "), "{stderr}");
    assert_no_form(&stderr, &["p&ss%2Fw=rd", "p&ss/w=rd"]);
}

#[test]
fn logs_mask_punctuated_credentials_in_the_query() {
    let sb = SandboxProc::start(&[]);
    let p = project(&sb);
    let gw = Gateway::start(&p, &["-p", "root", "-vv", "--access-log", "access.jsonl"]);
    let api_key = "Zk9+q/Wx3s=";
    let password = "p&ss<w>\"rd é";
    let query = format!(
        "api_key={}&password={}&page=2",
        url::form_urlencoded::byte_serialize(api_key.as_bytes()).collect::<String>(),
        url::form_urlencoded::byte_serialize(password.as_bytes())
            .collect::<String>()
            .replace('+', "%20"),
    );
    let (status, echo) = gw.json(&format!("/_sandbox/echo?{query}"), &[]);
    assert_eq!(status, 200, "{echo}");
    // The API gets them as sent: only the logs mask them.
    assert_eq!(echo["query"]["api_key"], api_key);
    assert_eq!(echo["query"]["password"], password);
    let (code, stderr) = gw.stop_with_stderr();
    assert_eq!(code, 0);
    let shown = "/_sandbox/echo?api_key=***&password=***&page=2";
    assert!(stderr.contains(&format!("GET {shown} 200 ")), "{stderr}");
    let log = std::fs::read_to_string(p.path("access.jsonl")).unwrap();
    let line: Value = serde_json::from_str(log.trim()).unwrap();
    assert_eq!(line["path"], shown);
    for text in [&stderr, &log] {
        assert_no_form(text, &[api_key, password]);
        assert!(!text.contains("Zk9"), "{text}");
    }
}

#[test]
fn the_profiles_http_headers_reach_the_api_through_the_gateway() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    let tenant = "acme & co <eu> \"1\" 50% a+b/c=d: x";
    let token = "t&<k>\"'\\%+/=: é-Qx7";
    let extra = format!(
        "http:\n  headers:\n    X-Tenant: '{}'\n    X-Api-Token: '{}'\n",
        tenant.replace('\'', "''"),
        token.replace('\'', "''"),
    );
    let root = sandbox_profile(&sb.url, &extra).replace(
        &format!("base_url: {}/api/v1", sb.url),
        &format!("base_url: {}", sb.url),
    );
    p.write("profiles/root.yaml", &root);
    let gw = Gateway::start(&p, &["-p", "root", "-vv"]);
    let (status, echo) = gw.json("/_sandbox/echo", &["-H", "X-Api-Token: client-own"]);
    assert_eq!(status, 200, "{echo}");
    let headers = &echo["headers"];
    assert_eq!(headers["x-tenant"], tenant, "{headers}");
    assert_eq!(
        headers["x-api-token"], token,
        "the profile's, not the client's"
    );
    assert!(
        headers["authorization"]
            .as_str()
            .is_some_and(|a| a.starts_with("Bearer ") && !a.contains(',')),
        "{headers}"
    );
    // A client's own plain header wins, as a request file's does in exec.
    let (_, echo) = gw.json("/_sandbox/echo", &["-H", "X-Tenant: mine"]);
    assert_eq!(echo["headers"]["x-tenant"], "mine");
    let (code, stderr) = gw.stop_with_stderr();
    assert_eq!(code, 0);
    assert_no_form(&stderr, &[token]);
}
