//! Issue 23: a session that proves a DPoP key, presents a client certificate and goes
//! through a proxy with credentials, at `-vv` and in previews: the DPoP key, its
//! proofs, the client key's text and the proxy password never show.

use super::{Planted, Sweep, userinfo};
use crate::proxy::Proxy;
use crate::sender::client_certificate;
use crate::support::{Project, SandboxProc};

const PROXY_PASSWORD: &str = "pr0xy C4naryProxy&<v>\"q'\\%+/=: é";

#[test]
fn dpop_client_certificates_and_proxy_credentials_show_nowhere() {
    let certs = tempfile::tempdir().unwrap();
    client_certificate(certs.path());
    let sb_ca = certs.path().join("sandbox-ca.pem");
    let sb = SandboxProc::start(&[
        "--tls",
        "--dpop-nonce",
        "--ca-out",
        sb_ca.to_str().unwrap(),
        "--client-ca",
        certs.path().join("ca.pem").to_str().unwrap(),
    ]);
    let proxy = Proxy::start();
    let p = Project::new();
    for f in ["client.pem", "client.key"] {
        std::fs::copy(certs.path().join(f), p.path(&format!("profiles/{f}"))).unwrap();
    }
    let proxy_url = proxy.url.replacen(
        "://",
        &format!("://proxy-user:{}@", userinfo(PROXY_PASSWORD)),
        1,
    );
    p.write(
        "profiles/default.yaml",
        &format!(
            "base_url: {url}/api/v1\nauth:\n  type: oauth2_password\n  token_url: {url}/oauth/v2/token\n  revocation_url: {url}/oauth/v2/revoke\n  client_id: sandbox\n  client_secret: sandbox-secret\n  username: demo\n  password: demo\n  dpop: true\nhttp:\n  ca_cert: {ca}\n  client_cert: client.pem\n  client_key: client.key\n  proxy: \"{proxy_url}\"\n",
            url = sb.url,
            ca = sb_ca.display()
        ),
    );
    p.write("requests/list.yaml", "url: /assets\nquery: {limit: 1}\n");
    let mut sweep = Sweep::new();
    sweep.plant(Planted::new("PROXY_PASSWORD", PROXY_PASSWORD));
    let key_text = std::fs::read_to_string(certs.path().join("client.key")).unwrap();
    for (i, line) in key_text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .enumerate()
    {
        sweep.plant(Planted::new(&format!("client key line {i}"), line));
    }
    // How every DPoP proof begins: base64url of `{"typ":"dpop+jwt"`.
    sweep.plant(Planted::new("a DPoP proof", "eyJ0eXAiOiJkcG9wK2p3dCI"));
    let r = sweep.runner(&p, &["login", "-vv"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let key = p.cache()["dpop_key"].as_str().unwrap().to_string();
    sweep.plant(Planted::new("DPOP_KEY", &key));
    let data = "the assets are response data";
    for args in [
        &["exec", "-vv", "requests/list.yaml"][..],
        &["exec", "--curl", "requests/list.yaml"],
        &["exec", "--dry-run", "requests/list.yaml"],
    ] {
        let r = sweep.runner_stderr(&p, args, data);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        if args.contains(&"--curl") || args.contains(&"--dry-run") {
            sweep.text(&format!("`runner {}` stdout", args.join(" ")), &r.stdout);
        }
    }
    p.expire_access_tokens();
    let r = sweep.runner_stderr(&p, &["exec", "-vv", "requests/list.yaml"], data);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let why = "runner token prints the access token on stdout by design";
    let t = sweep.runner_stderr(&p, &["token", "-vv"], why);
    assert_eq!(t.code, 0, "{}", t.stderr);
    for cmd in ["profiles", "check"] {
        sweep.runner(&p, &[cmd, "-vv"], &[]);
    }
    let r = sweep.runner(&p, &["logout", "-vv"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The canaries are live: the proxy got its password with every tunnel, and the
    // cache held a key.
    assert!(
        proxy.lines().iter().any(|l| l.starts_with("CONNECT ")),
        "{:?}",
        proxy.lines()
    );
    let want = format!("proxy-user:{PROXY_PASSWORD}");
    assert!(
        proxy
            .credentials()
            .iter()
            .all(|c| c.as_deref() == Some(want.as_str())),
        "{:?}",
        proxy.credentials()
    );
    sweep.finish();
}

/// A bulk run of a DPoP session (switched on by the token endpoint's refusal): each
/// of its 300 requests carries a new proof to `/_sandbox/echo`, which answers it back
/// in the body, so the proofs reach -vv's response lines, the failure messages and the
/// reports. None shows: they are masked by their key's prefix, one entry however many
/// proofs are made (the masking list does not grow per request).
#[test]
fn a_bulk_runs_dpop_proofs_show_nowhere() {
    let sb = SandboxProc::start(&["--dpop-required"]);
    let p = Project::new();
    p.write(
        "profiles/default.yaml",
        &format!(
            "base_url: {url}/api/v1\nauth:\n  type: oauth2_password\n  token_url: {url}/oauth/v2/token\n  client_id: sandbox\n  client_secret: sandbox-secret\n  username: demo\n  password: demo\n",
            url = sb.url
        ),
    );
    // Same origin as the API, so the token and a proof go with each request; the
    // expectation fails so that every row's answer is in the failure and the reports.
    p.write(
        "requests/echo.yaml",
        &format!(
            "url: {}/_sandbox/echo/row/{{{{ n }}}}\nexpect:\n  status: 201\n",
            sb.url
        ),
    );
    let rows: String = (0..300).map(|n| format!("{n}\n")).collect();
    p.write("data/rows.csv", &format!("n\n{rows}"));
    let mut sweep = Sweep::new();
    // How every DPoP proof begins: base64url of `{"typ":"dpop+jwt"`.
    sweep.plant(Planted::new("a DPoP proof", "eyJ0eXAiOiJkcG9wK2p3dCI"));
    let (junit, json, html) = (p.path("r.xml"), p.path("r.json"), p.path("r.html"));
    let args = [
        "exec",
        "-vv",
        "requests/echo.yaml",
        "--data",
        "data/rows.csv",
        "--report",
        &format!("junit:{}", junit.display()),
        "--report",
        &format!("json:{}", json.display()),
        "--report",
        &format!("html:{}", html.display()),
    ];
    let r = sweep.runner_stderr(&p, &args, "each row's answer is response data");
    assert_eq!(r.code, 1, "{}", r.stderr);
    // The canary is live: the server got proofs, and -vv shows where they went.
    assert_eq!(p.cache()["token_type"], "DPoP");
    assert_eq!(
        r.stderr.matches("> DPoP: ***").count(),
        300,
        "one line per request"
    );
    assert!(
        r.stderr.contains(r#""dpop": "***""#),
        "the echoed proof, masked"
    );
    for (name, path) in [("junit", &junit), ("json", &json), ("html", &html)] {
        sweep.file(&format!("the {name} report"), path);
    }
    sweep.finish();
}

const P12_PASSWORD: &str = "p12 C4naryPkcs12&<v>\"q'\\%+/=: é";

/// A PKCS#12 client certificate whose password comes from the environment: at `-vv`,
/// in previews, in `check`, in the error of a wrong password and with the password
/// written in the profile, neither the password nor the key inside shows.
#[test]
fn a_pkcs12_password_and_the_key_inside_show_nowhere() {
    let certs = tempfile::tempdir().unwrap();
    client_certificate(certs.path());
    let sb_ca = certs.path().join("sandbox-ca.pem");
    let sb = SandboxProc::start(&[
        "--tls",
        "--ca-out",
        sb_ca.to_str().unwrap(),
        "--client-ca",
        certs.path().join("ca.pem").to_str().unwrap(),
    ]);
    let p = Project::new();
    crate::pkcs12::export(
        certs.path(),
        &p.path("profiles/client.p12"),
        P12_PASSWORD,
        &[],
    );
    let profile = |password: &str| {
        format!(
            "base_url: {url}/api/v1\nauth:\n  type: oauth2_password\n  token_url: {url}/oauth/v2/token\n  revocation_url: {url}/oauth/v2/revoke\n  client_id: sandbox\n  client_secret: sandbox-secret\n  username: demo\n  password: demo\nhttp:\n  ca_cert: {ca}\n  client_pkcs12: client.p12\n  client_pkcs12_password: {password}\n",
            url = sb.url,
            ca = sb_ca.display()
        )
    };
    p.write(
        "profiles/default.yaml",
        &profile("\"{{ env('CANARY_P12') }}\""),
    );
    p.write("requests/list.yaml", "url: /assets\nquery: {limit: 1}\n");
    let mut sweep = Sweep::new();
    sweep.plant(Planted::new("P12_PASSWORD", P12_PASSWORD));
    let key_text = std::fs::read_to_string(certs.path().join("client.key")).unwrap();
    for (i, line) in key_text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .enumerate()
    {
        sweep.plant(Planted::new(&format!("client key line {i}"), line));
    }
    let env = [("CANARY_P12", P12_PASSWORD)];
    let r = sweep.runner(&p, &["login", "-vv"], &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for args in [
        &["exec", "-vv", "requests/list.yaml"][..],
        &["exec", "--curl", "requests/list.yaml"],
        &["exec", "--dry-run", "requests/list.yaml"],
    ] {
        // The body `exec` prints is response data: stdout is searched for previews only.
        let r = sweep.quiet(&p, args, &env);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        let name = format!("`runner {}`", args.join(" "));
        sweep.text(&format!("{name} stderr"), &r.stderr);
        if args.contains(&"--curl") || args.contains(&"--dry-run") {
            sweep.text(&format!("{name} stdout"), &r.stdout);
        }
    }
    for cmd in ["profiles", "check"] {
        sweep.runner(&p, &[cmd, "-vv"], &env);
    }
    // A wrong password, from the environment and then written in the profile.
    let wrong = [("CANARY_P12", "C4nary wrong")];
    let r = sweep.runner(&p, &["exec", "-vv", "requests/list.yaml"], &wrong);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let written = format!("'{}'", P12_PASSWORD.replace('\'', "''"));
    p.write("profiles/default.yaml", &profile(&written));
    for args in [&["check"][..], &["exec", "--curl", "requests/list.yaml"]] {
        let r = sweep.runner(&p, args, &[]);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
    }
    let wrong_written = format!("'x{}'", P12_PASSWORD.replace('\'', "''"));
    p.write("profiles/default.yaml", &profile(&wrong_written));
    let r = sweep.runner(&p, &["check"], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("wrong password"), "{}", r.stderr);
    p.write(
        "profiles/default.yaml",
        &profile("\"{{ env('CANARY_P12') }}\""),
    );
    let r = sweep.runner(&p, &["logout", "-vv"], &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    sweep.finish();
}
