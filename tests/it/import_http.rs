//! Issue 25, point 1: `runner import http`. A JetBrains file and a VS Code REST
//! Client file with their env files, written here in each tool's documented dialect;
//! the imported files, sent to the sandbox's echo, send what the sources describe.

use serde_json::{Value, json};

use crate::support::{Project, SandboxProc, assert_no_secret, copy_dir, repo_root};

/// A bearer token with the punctuation secrets hold (ASCII: it goes in a header).
const TOKEN: &str = "Tk C4nary&<v>\"q'\\%+/=:x";
/// The values the source files hold, which must reach no file and no output.
const IN_SOURCES: [&str; 5] = [
    "this value is never copied",
    "nor this one",
    "nor this",
    "live-key-C4nary",
    "live-cookie-C4nary",
];

fn read(p: &Project, rel: &str) -> String {
    std::fs::read_to_string(p.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The sample under `http/`, its `dev` environment pointed at the sandbox's echo.
fn sample(p: &Project, sb: &SandboxProc) {
    copy_dir(&repo_root().join("tests/data/import/http"), &p.path("http"));
    let env = read(p, "http/http-client.env.json").replace(
        "http://localhost:8080",
        &format!("{}/_sandbox/echo", sb.url),
    );
    p.write("http/http-client.env.json", &env);
}

fn exec(p: &Project, file: &str) -> Value {
    let r = p.run_env(
        &["exec", file, "-p", "dev"],
        &[
            ("HTTP_DEV_TOKEN", TOKEN),
            ("HTTP_DEV_PASSWORD", "pw"),
            ("HTTP_X_API_KEY", "k"),
            ("HTTP_COOKIE", "session=s"),
        ],
    );
    assert_eq!(r.code, 0, "{file}: {}", r.stderr);
    r.json()
}

#[test]
fn http_files_import_and_send_what_they_describe() {
    let sb = SandboxProc::start(&[]);
    let p = Project::new();
    sample(&p, &sb);
    let r = p.run(&["import", "http", "http"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "imported 7 requests from 2 files and 2 profiles into {}\nscripts are not run (2; each is kept as a comment in its request file):\n  api.http:6 List users: response handler script (3 lines), not run\n  auth.rest:13 {{{{host}}}}/me?id={{{{login.response.body.$.id}}}}: response handler script (1 line), not run\n",
            p.dir.path().display()
        )
    );
    let r = p.run(&["check"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        read(&p, "requests/api/list_users.yaml"),
        "# response handler script (not run):\n# client.test(\"ok\", function() {\n# client.assert(response.status === 200);\n# });\nmethod: GET\nurl: \"{{ host }}/users?page=1&size={{ page_size }}\"\nheaders:\n  Accept: application/json\n  X-Trace: \"{{ uuid() }}\"\n"
    );

    let echo = exec(&p, "requests/api/list_users.yaml");
    assert_eq!(echo["method"], "GET");
    assert_eq!(echo["target"], "/_sandbox/echo/users?page=1&size=20");
    assert_eq!(echo["headers"]["accept"], "application/json");
    let trace = echo["headers"]["x-trace"].as_str().unwrap();
    assert_eq!(
        (trace.len(), trace.matches('-').count()),
        (36, 4),
        "{trace}"
    );

    let echo = exec(&p, "requests/api/create_user.yaml");
    assert_eq!(echo["headers"]["authorization"], format!("Bearer {TOKEN}"));
    let body = echo["body"].as_object().unwrap();
    assert_eq!(
        body["name"],
        "Ada {{ env('HOME') }} {% if true %}x{% endif %}"
    );
    assert_eq!(body["version"], "v2");
    let now = crate::support::now();
    let created = body["created"].as_u64().unwrap();
    assert!(created + 60 > now && created <= now + 1, "{created}");

    let echo = exec(&p, "requests/api/upload_avatar.yaml");
    let sent = echo["body"].as_str().unwrap();
    assert!(
        sent.contains("name=\"note\"\r\n\r\nhello {# not a comment #}\r\n"),
        "{sent}"
    );
    assert!(
        sent.contains("filename=\"avatar.txt\"")
            && sent.contains("avatar bytes {{ env(\"HOME\") }}\n"),
        "{sent}"
    );

    let echo = exec(&p, "requests/api/import_from_a_file.yaml");
    assert_eq!(echo["method"], "PUT");
    let file = std::fs::read(repo_root().join("tests/data/import/http/files/users.json")).unwrap();
    use base64::Engine;
    assert_eq!(
        echo["body_base64"],
        base64::engine::general_purpose::STANDARD.encode(file)
    );

    let echo = exec(&p, "requests/api/search_with_a_query_on_several_lines.yaml");
    assert_eq!(echo["query"]["q"], "a b");
    let limit: u32 = echo["query"]["limit"].as_str().unwrap().parse().unwrap();
    assert!((1..5).contains(&limit), "{limit}");
    assert_eq!(echo["headers"]["x-api-key"], "k");

    let echo = exec(&p, "requests/auth/login.yaml");
    assert_eq!(echo["body"], "user=ada&pass=pw&page=50");
    assert_eq!(
        echo["form"],
        json!({"user": "ada", "pass": "pw", "page": "50"})
    );

    // Every file the import wrote (the sources under http/ hold the values).
    let all: String = [walk(&p.path("profiles")), walk(&p.path("requests"))]
        .concat()
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap_or_default())
        .collect();
    assert_no_secret(&all, &IN_SOURCES);
    assert_no_secret(&r.stderr, &IN_SOURCES);
}

#[test]
fn nothing_is_overwritten_and_dry_run_writes_nothing() {
    let sb = SandboxProc::start(&[]);
    let p = Project::new();
    sample(&p, &sb);
    let r = p.run(&["import", "http", "http/auth.rest", "--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let root = p.dir.path().display();
    assert_eq!(
        r.stdout,
        format!(
            "{root}/requests/auth/login.yaml\n{root}/requests/auth/get_me.yaml\n{root}/profiles/dev.yaml\n{root}/profiles/prod.yaml\n"
        )
    );
    assert!(!p.path("requests/auth").exists());
    let r = p.run(&["import", "http", "http/auth.rest"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = p.run(&["import", "http", "http/auth.rest"]);
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr,
        format!(
            "error: 4 files already exist (nothing written; --force overwrites): {root}/requests/auth/login.yaml, {root}/requests/auth/get_me.yaml, {root}/profiles/dev.yaml, {root}/profiles/prod.yaml\n"
        )
    );
    let r = p.run(&["import", "http", "http/auth.rest", "--force"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = p.run(&["import", "http", "nowhere.http"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (2, "error: nowhere.http: no such file or folder\n")
    );
}

/// A file outside the source's folder is never read: it becomes a variable.
#[test]
fn a_body_file_outside_the_project_becomes_a_variable() {
    let p = Project::new();
    p.write(
        "x.http",
        "POST https://api.example.com/up\nContent-Type: text/plain\n\n< /etc/passwd\n",
    );
    let r = p.run(&["import", "http", "x.http"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        read(&p, "requests/x/post_up.yaml"),
        "# set file_path: the source named /etc/passwd\nmethod: POST\nurl: https://api.example.com/up\nheaders:\n  Content-Type: text/plain\nbody:\n  file: \"{{ file_path }}\"\n"
    );
    assert!(r.stderr.contains("skipped 1:\n  file /etc/passwd: outside the project, read from the variable file_path instead (--var file_path=PATH)\n"), "{}", r.stderr);
    assert_eq!(
        read(&p, "profiles/default.yaml"),
        "description: \"x: environment default\"\nbase_url: https://api.example.com\n"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}
