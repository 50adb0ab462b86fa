//! Issue 25, point 4: `runner import har`. A Chromium-style capture with assets,
//! trackers, repeats, two origins, cookies and credentials; the imported files,
//! sent to the sandbox's echo, send what was recorded, with every credential from
//! the environment and none in a file or the output.

use serde_json::json;

use crate::support::{Project, SandboxProc, assert_no_secret, repo_root};

/// The credentials the capture holds.
const RECORDED: [&str; 6] = [
    "HarC00kie",
    "HarB3arer",
    "HarCsrf",
    "HarPassw0rd",
    "HarQuery",
    "C4nary",
];
const COOKIE: &str = "session=c00k C4 &<v>\"q'\\%+/=: é";
const TOKEN: &str = "b3arer&<v>\"q'\\%+/=:x";

fn read(p: &Project, rel: &str) -> String {
    std::fs::read_to_string(p.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(files(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

#[test]
fn a_capture_becomes_requests_and_profiles_without_its_credentials() {
    let sb = SandboxProc::start(&[]);
    let p = Project::new();
    let har = std::fs::read_to_string(repo_root().join("tests/data/import/har/app.har"))
        .unwrap()
        .replace(
            "https://app.example.com",
            &format!("{}/_sandbox/echo", sb.url),
        );
    p.write("app.har", &har);
    let r = p.run(&["import", "har", "app.har", "--out", "app"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "imported 7 requests from 12 entries and 2 profiles into app\nskipped 3:\n  3 static assets (scripts, styles, images, fonts, pages)\n  1 repeat of a request already imported (same method and path)\n  1 request to tracking and analytics hosts\n"
        )
    );
    let r = p.run(&["--root", "app", "check"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut written = String::new();
    for f in files(&p.path("app")) {
        written.push_str(&std::fs::read_to_string(f).unwrap());
    }
    assert_no_secret(&written, &RECORDED);
    assert_no_secret(&r.stderr, &RECORDED);
    assert_eq!(
        read(&p, "app/requests/api_other_example/get_v1_config.yaml"),
        "# query token: a credential, read from the environment\nmethod: GET\nurl: /v1/config\nquery:\n  token: \"{{ env('API_OTHER_EXAMPLE_TOKEN') }}\"\nexpect:\n  status:\n  - 200\n"
    );
    let login = read(
        &p,
        "app/requests/127_0_0_1/post_sandbox_echo_api_login.yaml",
    );
    assert!(
        login.contains(
            "  form:\n    user: ada\n    password: \"{{ env('API_127_0_0_1_PASSWORD') }}\"\n"
        ),
        "{login}"
    );
    assert!(login.ends_with("expect:\n  status:\n  - 201\n"), "{login}");

    let env = [
        ("API_127_0_0_1_COOKIE", COOKIE),
        ("API_127_0_0_1_TOKEN", TOKEN),
        ("API_127_0_0_1_X_CSRF_TOKEN", "csrf"),
    ];
    let exec = |file: &str, vars: &[&str]| {
        let mut args = vec!["--root", "app", "exec", file];
        args.extend_from_slice(vars);
        let r = p.run_env(&args, &env);
        assert_eq!(r.code, 0, "{file}: {}", r.stderr);
        r.json()
    };
    let echo = exec(
        "app/requests/127_0_0_1/get_sandbox_echo_api_users.yaml",
        &[],
    );
    assert_eq!(
        echo["target"],
        "/_sandbox/echo/api/users?page=1&tag=a&tag=b"
    );
    assert_eq!(echo["headers"]["cookie"], COOKIE);
    assert_eq!(echo["headers"]["authorization"], format!("Bearer {TOKEN}"));
    assert_eq!(echo["headers"]["x-client"], "{{ env('HOME') }}");
    assert!(
        echo["headers"]
            .get("user-agent")
            .is_none_or(|u| !u.as_str().unwrap().contains("Mozilla"))
    );
    assert!(echo["headers"].get("sec-ch-ua").is_none(), "{echo}");

    let echo = exec(
        "app/requests/127_0_0_1/get_sandbox_echo_api_users_user_id.yaml",
        &["--var", "user_id=42"],
    );
    assert_eq!(
        (echo["method"].as_str(), echo["path"].as_str()),
        (Some("GET"), Some("/_sandbox/echo/api/users/42"))
    );

    let echo = exec(
        "app/requests/127_0_0_1/post_sandbox_echo_api_users.yaml",
        &[],
    );
    use base64::Engine;
    assert_eq!(
        echo["body_base64"],
        base64::engine::general_purpose::STANDARD
            .encode("{\"name\": \"Ada {{ env('HOME') }}\",  \"tags\": [\"a\", \"{% raw %}\"]}")
    );
    assert_eq!(echo["headers"]["content-type"], "application/json");
    assert_eq!(echo["headers"]["x-csrf-token"], "csrf");
    assert_eq!(
        echo["body"],
        json!({"name": "Ada {{ env('HOME') }}", "tags": ["a", "{% raw %}"]})
    );
}

#[test]
fn what_is_not_a_capture_is_refused() {
    let p = Project::new();
    p.write("x.har", "{\"log\": {}}");
    let r = p.run(&["import", "har", "x.har"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (2, "error: x.har: not a HAR file (no log.entries)\n")
    );
}
