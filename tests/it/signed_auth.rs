//! Issue 23 against the sandbox: a `private_key_jwt` client and a JWT bearer session
//! signed with the sandbox's demo key (the README's examples), a Google-format key
//! file, and what `runner check` refuses before anything is sent.

use crate::support::{Project, SandboxProc};

const KEY: &str = "  private_key: \"{{ file('../keys/demo.pem') }}\"\n  key_id: sandbox-key-1\n";

fn stats(sb: &SandboxProc) -> serde_json::Value {
    crate::support::http_json("GET", &format!("{}/_sandbox/stats", sb.url), None).1
}

#[test]
fn private_key_jwt_and_the_jwt_bearer_grant_sign_in_at_the_sandbox() {
    let sb = SandboxProc::start(&[]);
    let url = &sb.url;
    let p = Project::new();
    p.write("keys/demo.pem", sandbox::DEMO_PRIVATE_KEY);
    p.write(
        "profiles/pkjwt.yaml",
        &format!(
            "base_url: {url}/api/v1\nauth:\n  type: oauth2_client_credentials\n  token_url: {url}/oauth/v2/token\n  client_id: sandbox\n  client_auth: private_key_jwt\n{KEY}"
        ),
    );
    p.write(
        "profiles/bearer.yaml",
        &format!(
            "base_url: {url}/api/v1\nauth:\n  type: oauth2_jwt_bearer\n  token_url: {url}/oauth/v2/token\n  issuer: sandbox\n  subject: demo\n{KEY}"
        ),
    );
    p.write("requests/one.yaml", "url: /assets\nquery: {limit: \"1\"}\n");
    for (profile, grant) in [("pkjwt", "client_credentials"), ("bearer", "jwt_bearer")] {
        let before = stats(&sb)["token_requests"][grant].as_u64().unwrap_or(0);
        let r = p.run(&["exec", "requests/one.yaml", "-p", profile]);
        assert_eq!(r.code, 0, "{profile}: {}", r.stderr);
        assert!(r.json()["items"].is_array(), "{}", r.stdout);
        // The cached token serves the second run.
        let r = p.run(&["exec", "requests/one.yaml", "-p", profile]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let after = stats(&sb)["token_requests"][grant].as_u64().unwrap_or(0);
        assert_eq!(after, before + 1, "{profile}");
    }

    // The same profiles with another key: refused by the sandbox, exit 3.
    let out = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .output()
        .expect("openssl");
    p.write("keys/demo.pem", &String::from_utf8(out.stdout).unwrap());
    let r = p.run(&["login", "-p", "pkjwt"]);
    assert_eq!(r.code, 3);
    assert_eq!(
        r.stderr,
        format!(
            "error: the token endpoint {url}/oauth/v2/token refused the client_credentials grant: invalid_client: the assertion's signature does not verify (the client authenticated with client_auth: private_key_jwt: check client_id, private_key and key_id against the keys the server registered, or whether the server wants another client_auth: body, basic, none, client_secret_jwt, tls_client_auth, self_signed_tls_client_auth)\n"
        )
    );
    let r = p.run(&["login", "-p", "bearer"]);
    assert_eq!(r.code, 3);
    assert_eq!(
        r.stderr,
        format!(
            "error: the token endpoint {url}/oauth/v2/token refused the jwt-bearer grant: invalid_grant: the assertion's signature does not verify (wrong username or password, or an expired refresh token)\n"
        )
    );
}

/// A Google service-account key file as downloaded: the issuer (client_email), the
/// key id, the key and the token URI come from it; the scopes ride in the assertion.
#[test]
fn a_google_service_account_key_file_signs_in() {
    let sb = SandboxProc::start(&[]);
    let url = &sb.url;
    let p = Project::new();
    let file = serde_json::json!({
        "type": "service_account",
        "project_id": "demo",
        "private_key_id": "sandbox-key-1",
        "private_key": sandbox::DEMO_PRIVATE_KEY,
        "client_email": "sandbox",
        "client_id": "1",
        "token_uri": format!("{url}/oauth/v2/token"),
    });
    p.write("sa.json", &file.to_string());
    p.write(
        "profiles/google.yaml",
        &format!("base_url: {url}/api/v1\nauth:\n  type: oauth2_jwt_bearer\n  key_file: sa.json\n  scopes: [assets.read]\n"),
    );
    p.write("requests/one.yaml", "url: /assets\nquery: {limit: \"1\"}\n");
    let r = p.run(&["exec", "requests/one.yaml", "-p", "google"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(stats(&sb)["token_requests"]["jwt_bearer"], 1);

    p.write(
        "sa.json",
        "{\"type\": \"authorized_user\", \"client_email\": \"x\", \"private_key\": \"\"}",
    );
    let r = p.run(&["exec", "requests/one.yaml", "-p", "google"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.starts_with("error: auth.key_file: sa.json is a `authorized_user` key, not a `service_account` key\n  --> profiles/google.yaml:4:13\n"),
        "{}",
        r.stderr
    );
}

#[test]
fn check_refuses_a_key_that_does_not_parse_a_missing_key_id_and_an_unknown_alg() {
    let p = Project::new();
    p.write(
        "keys/bad.pem",
        "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n",
    );
    p.write(
        "profiles/bad.yaml",
        "base_url: https://api.example.com\nauth:\n  type: oauth2_client_credentials\n  token_url: https://idp.example.com/token\n  client_id: app\n  client_auth: private_key_jwt\n  private_key: \"{{ file('../keys/bad.pem') }}\"\n",
    );
    p.write(
        "profiles/nokid.yaml",
        "sandbox: true\nauth:\n  type: oauth2_jwt_bearer\n  issuer: sandbox\n  private_key: \"{{ env('KEY') }}\"\n",
    );
    p.write(
        "profiles/alg.yaml",
        "base_url: https://api.example.com\nauth:\n  type: oauth2_client_credentials\n  token_url: https://idp.example.com/token\n  client_id: app\n  client_auth: client_secret_jwt\n  client_secret: \"{{ env('S') }}\"\n  signing_alg: HS512\n",
    );
    p.write(
        "profiles/nokey.yaml",
        "base_url: https://api.example.com\nauth:\n  type: oauth2_client_credentials\n  token_url: https://idp.example.com/token\n  client_id: app\n  client_auth: private_key_jwt\n",
    );
    let r = p.run(&["check"]);
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr,
        "error: unknown variant `HS512`, expected one of RS256, PS256, ES256, EdDSA, HS256\n  --> profiles/alg.yaml:8:16\n  |\n8 |   signing_alg: HS512\n  |                ^\n\
         error: auth.private_key: the PKCS#8 key is not RSA (2048 bits or more), P-256 or Ed25519\n  --> profiles/bad.yaml:7:16\n  |\n7 |   private_key: \"{{ file('../keys/bad.pem') }}\"\n  |                ^\n\
         error: `client_auth: private_key_jwt` needs `private_key`\n  --> profiles/nokey.yaml:3:3\n  |\n3 |   type: oauth2_client_credentials\n  |   ^\n\
         error: the sandbox finds a client's public key by its `kid`: set `key_id` (the sandbox's demo key is `sandbox-key-1`)\n  --> profiles/nokid.yaml:3:3\n  |\n3 |   type: oauth2_jwt_bearer\n  |   ^\n\
         error: 4 problems found\n"
    );
}

/// The README's examples sign with keys/sandbox-demo.pem: it is the sandbox's key.
#[test]
fn the_shipped_demo_key_is_the_sandboxs() {
    let shipped =
        std::fs::read_to_string(crate::support::repo_root().join("keys/sandbox-demo.pem")).unwrap();
    assert_eq!(shipped, sandbox::DEMO_PRIVATE_KEY);
}

/// Which keys each new type needs and refuses, found by `runner check`; profiles
/// that exchange each other's tokens in a circle are refused when a run builds them.
#[test]
fn shapes_of_the_signed_and_exchange_blocks() {
    let p = Project::new();
    let head = "base_url: https://api.example.com\nauth:\n  token_url: https://idp.example.com/token\n  client_id: app\n";
    let cases = [
        (
            "  type: oauth2_token_exchange\n",
            "auth type `oauth2_token_exchange` needs one of `subject_profile` or `subject_token`",
        ),
        (
            "  type: oauth2_client_credentials\n  subject_profile: corp\n",
            "auth type `oauth2_client_credentials` does not use `subject_profile`",
        ),
        (
            "  type: oauth2_client_credentials\n  client_auth: client_secret_jwt\n  client_secret: \"{{ env('S') }}\"\n  signing_alg: RS256\n",
            "`client_auth: client_secret_jwt` signs with HS256, not RS256",
        ),
        (
            "  type: oauth2_client_credentials\n  client_auth: private_key_jwt\n  private_key: \"{{ env('K') }}\"\n  signing_alg: HS256\n",
            "`signing_alg: HS256` signs with the client secret: it goes with `client_auth: client_secret_jwt`",
        ),
        (
            "  type: oauth2_client_credentials\n  client_auth: client_secret_jwt\n",
            "`client_auth: client_secret_jwt` needs `client_secret`",
        ),
        (
            "  type: oauth2_password\n  username: u\n  key_id: k1\n",
            "auth type `oauth2_password` does not use `key_id`",
        ),
        (
            "  type: oauth2_client_credentials\n  par: true\n",
            "auth type `oauth2_client_credentials` does not use `par`",
        ),
    ];
    for (i, (auth, want)) in cases.iter().enumerate() {
        p.write(&format!("profiles/c{i}.yaml"), &format!("{head}{auth}"));
        let r = p.run(&["check", &format!("profiles/c{i}.yaml")]);
        assert_eq!(r.code, 2, "{auth}: {}", r.stderr);
        assert!(
            r.stderr
                .starts_with(&format!("error: {want}\n  --> profiles/c{i}.yaml:")),
            "{auth}: {}",
            r.stderr
        );
        std::fs::remove_file(p.path(&format!("profiles/c{i}.yaml"))).unwrap();
    }

    let exchange = |subject: &str| {
        format!("{head}  type: oauth2_token_exchange\n  subject_profile: {subject}\n")
    };
    p.write("profiles/a.yaml", &exchange("b"));
    p.write("profiles/b.yaml", &exchange("a"));
    p.write("requests/x.yaml", "url: /x\n");
    let r = p.run(&["exec", "requests/x.yaml", "-p", "a"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.starts_with(
            "error: auth.subject_profile: the profiles go round in a circle (a → b → a)\n  --> profiles/a.yaml:6:20\n"
        ),
        "{}",
        r.stderr
    );
}
