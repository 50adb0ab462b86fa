//! `runner import curl`: the request file it writes (to stdout or `--out`), its
//! messages, and every file in the project afterwards, for each way a curl command
//! carries a credential.

use std::path::Path;

use super::{API_KEY, BEARER, PASSWORD, Sweep, TENANT, USER, userinfo};
use crate::support::Project;

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(files(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out.sort();
    out
}

#[test]
fn import_curl_writes_and_prints_no_credential() {
    let userinfo = userinfo(PASSWORD);
    let api = "https://api.example.com/items";
    let cases: Vec<(&str, Vec<String>)> = vec![
        (
            "userinfo",
            vec![format!("https://{USER}:{userinfo}@api.example.com/items")],
        ),
        (
            "user",
            vec!["-u".into(), format!("{USER}:{PASSWORD}"), api.into()],
        ),
        (
            "authorization",
            vec![
                "-H".into(),
                format!("Authorization: Bearer {BEARER}"),
                api.into(),
            ],
        ),
        (
            "api-key",
            vec!["-H".into(), format!("X-Api-Key: {API_KEY}"), api.into()],
        ),
        (
            "oauth2-bearer",
            vec!["--oauth2-bearer".into(), BEARER.into(), api.into()],
        ),
        (
            "cookie",
            vec!["-b".into(), format!("session={TENANT}"), api.into()],
        ),
        (
            "proxy",
            vec![
                "-x".into(),
                format!("http://{USER}:{userinfo}@proxy.example.com:3128"),
                api.into(),
            ],
        ),
    ];
    let mut sweep = Sweep::new();
    for (name, curl) in &cases {
        for out in [&["--out", "requests/imported.yaml"][..], &[]] {
            let p = Project::new();
            let mut args = vec!["import", "curl"];
            args.extend_from_slice(out);
            args.extend(["--", "curl"]);
            args.extend(curl.iter().map(String::as_str));
            let r = sweep.runner(&p, &args, &[]);
            assert!(r.code == 0 || r.code == 2, "{name}: {}", r.stderr);
            for f in files(p.dir.path()) {
                let rel = f.strip_prefix(p.dir.path()).unwrap().display().to_string();
                sweep.file(&format!("{rel}, written by import curl ({name})"), &f);
            }
        }
    }
    sweep.finish();
}

/// `runner import http` and `runner import har`: the credentials a `.http` file, its
/// private env file and a browser capture hold reach no written file and no message.
#[test]
fn import_http_and_har_write_and_print_no_credential() {
    let mut sweep = Sweep::new();
    let p = Project::new();
    p.write(
        "src/api.http",
        &format!(
            "### one\nGET https://api.example.com/a?api_key={k}\nAuthorization: Bearer {BEARER}\nX-Tenant-Token: {TENANT}\n\n###\nPOST https://api.example.com/b\nAuthorization: Basic {USER} {PASSWORD}\n",
            k = userinfo(API_KEY)
        ),
    );
    p.write(
        "src/http-client.private.env.json",
        &serde_json::json!({"dev": {"token": BEARER, "password": PASSWORD}}).to_string(),
    );
    p.write("src/http-client.env.json", "{\"dev\": {}}");
    let r = sweep.runner(&p, &["import", "http", "src", "--out", "out_http"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let header = |n: &str, v: &str| serde_json::json!({"name": n, "value": v});
    let har = serde_json::json!({"log": {"entries": [{
        "request": {"method": "POST", "url": format!("https://app.example.com/login?access_token={}", userinfo(API_KEY)),
            "headers": [header("Authorization", &format!("Bearer {BEARER}")), header("Cookie", &format!("sid={TENANT}")), header("X-Api-Key", API_KEY)],
            "postData": {"mimeType": "application/json", "text": serde_json::json!({"user": USER, "password": PASSWORD}).to_string()}},
        "response": {"status": 200}
    }]}});
    p.write("app.har", &har.to_string());
    let r = sweep.runner(&p, &["import", "har", "app.har", "--out", "out_har"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for dir in ["out_http", "out_har"] {
        for f in files(&p.path(dir)) {
            let rel = f.strip_prefix(p.dir.path()).unwrap().display().to_string();
            sweep.file(&format!("{rel}, written by import"), &f);
        }
    }
    sweep.finish();
}

/// `runner import insomnia` and `runner import bruno`: the credentials an export, its
/// private environment, its cookie jar and a Bruno collection hold reach no written
/// file and no message.
#[test]
fn import_insomnia_and_bruno_write_and_print_no_credential() {
    let mut sweep = Sweep::new();
    let p = Project::new();
    let export = serde_json::json!({"_type": "export", "__export_format": 4, "resources": [
        {"_id": "wrk", "_type": "workspace", "name": "Canary"},
        {"_id": "env", "parentId": "wrk", "_type": "environment", "name": "Base", "data": {"base_url": "https://api.example.com", "api_key": API_KEY}},
        {"_id": "env2", "parentId": "env", "_type": "environment", "name": "Private", "isPrivate": true, "data": {"password": PASSWORD, "plain": TENANT}},
        {"_id": "fld", "parentId": "wrk", "_type": "request_group", "name": "F", "authentication": {"type": "bearer", "token": BEARER}},
        {"_id": "r1", "parentId": "fld", "_type": "request", "name": "One", "method": "GET",
         "url": format!("{{{{ _.base_url }}}}/a?access_token={}", userinfo(API_KEY)),
         "headers": [{"name": "X-Tenant-Token", "value": TENANT}, {"name": "Authorization", "value": format!("Bearer {BEARER}")}]},
        {"_id": "r2", "parentId": "wrk", "_type": "request", "name": "Two", "method": "POST", "url": "https://api.example.com/b",
         "authentication": {"type": "basic", "username": USER, "password": PASSWORD}},
        {"_id": "r3", "parentId": "wrk", "_type": "request", "name": "Three", "method": "POST", "url": "https://api.example.com/c",
         "authentication": {"type": "oauth2", "grantType": "password", "accessTokenUrl": "https://api.example.com/token", "clientSecret": PASSWORD, "username": USER, "password": PASSWORD}},
        {"_id": "jar", "parentId": "wrk", "_type": "cookie_jar", "name": "Jar", "cookies": [{"key": "sid", "value": TENANT}]}
    ]});
    p.write("export.json", &export.to_string());
    let r = sweep.runner(
        &p,
        &["import", "insomnia", "export.json", "--out", "out_insomnia"],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    p.write("c/bruno.json", "{\"name\": \"Canary\"}");
    p.write(
        "c/collection.bru",
        &format!("auth {{\n  mode: bearer\n}}\n\nauth:bearer {{\n  token: {BEARER}\n}}\n"),
    );
    p.write(
        "c/one.bru",
        &format!("post {{\n  url: https://api.example.com/a\n  body: json\n  auth: basic\n}}\n\nheaders {{\n  X-Tenant-Token: {TENANT}\n}}\n\nauth:basic {{\n  username: {USER}\n  password: {PASSWORD}\n}}\n\nbody:json {{\n  {{\"a\": 1}}\n}}\n"),
    );
    p.write(
        "c/environments/dev.bru",
        &format!("vars {{\n  apiKey: {API_KEY}\n  host: https://api.example.com\n}}\nvars:secret [\n  token\n]\n"),
    );
    let r = sweep.runner(&p, &["import", "bruno", "c", "--out", "out_bruno"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for dir in ["out_insomnia", "out_bruno"] {
        for f in files(&p.path(dir)) {
            let rel = f.strip_prefix(p.dir.path()).unwrap().display().to_string();
            sweep.file(&format!("{rel}, written by import"), &f);
        }
    }
    sweep.finish();
}
