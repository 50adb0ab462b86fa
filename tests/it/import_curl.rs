//! Issue 15, point 5: `runner import curl`. The proof: the original curl command, the
//! `--curl` preview of the imported file, and runner itself send the same request to
//! the sandbox's echo.

use serde_json::Value;

use crate::support::{Project, SandboxProc};

const TOKEN: &str = "tok-curl-3b9d";
const PASSWORD: &str = "pw-curl-77aa";

fn curl(args: &[String]) -> Value {
    let out = std::process::Command::new("curl")
        .arg("-sS")
        .args(args)
        .output()
        .expect("curl runs");
    assert!(
        out.status.success(),
        "curl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// What matters of an echoed request: method, path, query, body, and the headers the
/// command names (user agents and `Accept: */*` are each client's own).
fn essence(echo: &Value, headers: &[&str]) -> Value {
    let mut h = serde_json::Map::new();
    for name in headers {
        if let Some(v) = echo["headers"].get(*name) {
            let v = v.as_str().unwrap_or_default();
            // Multipart boundaries are random: compare the type only.
            let v = if v.starts_with("multipart/form-data") {
                "multipart/form-data"
            } else {
                v
            };
            h.insert(name.to_string(), Value::String(v.to_string()));
        }
    }
    let multipart = h
        .get("content-type")
        .is_some_and(|v| v == "multipart/form-data");
    serde_json::json!({
        "method": echo["method"], "path": echo["path"], "query": echo["query"],
        "headers": h,
        "body": if multipart { Value::Null } else { echo["body_base64"].clone() },
    })
}

#[test]
fn the_imported_file_sends_what_the_curl_command_sends() {
    let sb = SandboxProc::start(&[]);
    let u = format!("{}/_sandbox/echo/items", sb.url);
    let basic = format!("demo:{PASSWORD}");
    let bearer = format!("Authorization: Bearer {TOKEN}");
    let with_query = format!("{u}?x=1&x=2&y=");
    let cases: Vec<(Vec<&str>, &str, Vec<&str>)> = vec![
        (vec![u.as_str(), "-H", "X-Trace: 1"], "", vec!["x-trace"]),
        (
            vec![
                "-X",
                "PUT",
                &u,
                "-H",
                "Content-Type: application/json",
                "-d",
                r#"{"a": "{{b}}", "n": 1}"#,
            ],
            "",
            vec!["content-type"],
        ),
        (
            vec!["-d", "a=1", "-d", "b=two words", &u],
            "",
            vec!["content-type"],
        ),
        (
            vec![
                "--data-urlencode",
                "q=a b&c",
                "-G",
                &u,
                "-A",
                "tool/1",
                "-e",
                "https://ref.example/",
            ],
            "",
            vec!["user-agent", "referer"],
        ),
        (
            vec!["--json", r#"{"x":[1,2]}"#, &u],
            "",
            vec!["content-type", "accept"],
        ),
        (
            vec![&u, "-F", "name=pump", "-F", "note=hello"],
            "",
            vec!["content-type"],
        ),
        (vec!["-u", &basic, &u], "basic", vec!["authorization"]),
        (
            vec!["-H", &bearer, "-X", "DELETE", &u],
            "bearer",
            vec!["authorization"],
        ),
        (vec!["-b", "sid=abc123", &with_query], "", vec!["cookie"]),
    ];
    for (i, (args, auth, headers)) in cases.iter().enumerate() {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let original = essence(&curl(&args), headers);
        let p = Project::new();
        let auth_block = match *auth {
            "basic" => {
                "auth:\n  type: basic\n  username: demo\n  password: \"{{ env('API_PASSWORD') }}\"\n"
            }
            "bearer" => "auth:\n  type: bearer\n  token: \"{{ env('API_TOKEN') }}\"\n",
            _ => "",
        };
        p.write(
            "profiles/default.yaml",
            &format!("base_url: {}\n{auth_block}", sb.url),
        );
        let mut import = vec![
            "import",
            "curl",
            "--out",
            "requests/imported.yaml",
            "--",
            "curl",
        ];
        import.extend(args.iter().map(String::as_str));
        let r = p.run(&import);
        assert_eq!(r.code, 0, "case {i}: {}", r.stderr);
        let file = std::fs::read_to_string(p.path("requests/imported.yaml")).unwrap();
        assert!(
            !file.contains(TOKEN) && !file.contains(PASSWORD),
            "case {i}: {file}"
        );
        assert!(
            !file.contains("abc123"),
            "case {i}: the cookie is a secret: {file}"
        );
        let env = [
            ("API_TOKEN", TOKEN),
            ("API_PASSWORD", PASSWORD),
            ("API_COOKIE", "sid=abc123"),
        ];
        let check = p.run(&["check"]);
        assert_eq!(check.code, 0, "case {i}: {}\n{file}", check.stderr);

        let preview = p.run_env(
            &["exec", "requests/imported.yaml", "--curl", "--show-secrets"],
            &env,
        );
        assert_eq!(preview.code, 0, "case {i}: {}", preview.stderr);
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{} -sS", preview.stdout.trim_end()))
            .current_dir(p.dir.path())
            .output()
            .unwrap();
        let replayed: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("case {i}: {e}: {}", preview.stdout));
        assert_eq!(
            essence(&replayed, headers),
            original,
            "case {i}: --curl\n{file}\n{}",
            preview.stdout
        );

        let sent = p.run_env(&["exec", "requests/imported.yaml"], &env);
        assert_eq!(sent.code, 0, "case {i}: {}", sent.stderr);
        let sent: Value = serde_json::from_str(&sent.stdout).unwrap();
        assert_eq!(
            essence(&sent, headers),
            original,
            "case {i}: runner exec\n{file}"
        );
    }
}

#[test]
fn unknown_flags_are_listed_and_credentials_go_to_a_profile() {
    let p = Project::new();
    let r = p.run(&[
        "import",
        "curl",
        &format!("curl -sS --retry 3 --frobnicate -u bob:{PASSWORD} https://api.example.com/x"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "method: GET\nurl: https://api.example.com/x\n");
    assert_eq!(
        r.stderr,
        "the command sends credentials: a profile for them (set the variables it names):\nbase_url: https://api.example.com\nauth:\n  type: basic\n  username: bob\n  password: \"{{ env('API_PASSWORD') }}\"\nnot imported (runner does not send these, or decides them itself):\n  --silent\n  --show-error\n  --retry 3\n  --frobnicate\n"
    );
    let r = p.run(&["import", "curl", "--", "curl", "-H"]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr, "error: curl option -H needs a value\n");
}
