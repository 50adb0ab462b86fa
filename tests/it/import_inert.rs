//! Issue 20, point 3: imported content renders to itself. Documents put template
//! markup (`{{ … }}`, `{% … %}`, `{# … #}`, `env()`, `file()`) in every field kind;
//! the import passes `check`, and `exec` sends the text to the sandbox's echo byte
//! for byte. File paths outside the project become variables; a URL's user and
//! password become the profile's basic auth and appear in no file and no output.

use serde_json::{Value, json};

use crate::support::{Project, Run, SandboxProc, assert_no_secret};

/// Template markup of every kind, each of which would read a local value if rendered.
const P: &str =
    "{{ env('HOME') }}|{% if true %}yes{% endif %}|{# note #}|{{ file('/etc/passwd') }}|{{-x}}|{%";
/// [`P`] for Postman, whose own `{{name}}` references (`{{-x}}` is one) become
/// template variables: everything else in it is text.
const PM: &str = "{{ env('HOME') }}|{% if true %}yes{% endif %}|{# note #}|{{ file('/etc/passwd') }}|{{ 1 + 1 }}|{%";
/// A secret with the punctuation secrets hold.
const SECRET: &str = "pw&<>\"' \\%+/=:é";

fn home() -> String {
    std::env::var("HOME").unwrap_or_else(|_| "/root".to_string())
}

/// `runner exec` of `file` with `args`, which must succeed: what the echo received.
fn exec(p: &Project, file: &str, args: &[&str], env: &[(&str, &str)]) -> Value {
    let mut all = vec!["exec", file];
    all.extend_from_slice(args);
    let r = p.run_env(&all, env);
    assert_eq!(r.code, 0, "{file}: {}", r.stderr);
    let echo = r.json();
    let text = echo.to_string();
    // The local values never reach the server.
    assert!(!text.contains(&home()), "{file}: HOME was rendered: {text}");
    assert!(
        !text.contains("root:x:0"),
        "{file}: a file was read: {text}"
    );
    echo
}

fn checked(p: &Project) {
    let r = p.run(&["check"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

fn read(p: &Project, rel: &str) -> String {
    std::fs::read_to_string(p.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn an_openapi_document_renders_to_itself() {
    let sb = SandboxProc::start(&[]);
    let media = "application/vnd.x+json; v={{ env('HOME') }}";
    let text_media = "text/plain; x={% if true %}{{ env('HOME') }}{% endif %}";
    let example =
        json!({P: [P, 1, 2.5, true, null, {"{% set x = 1 %}": "{# y #}"}], "s": P, "n": 0});
    let doc = json!({
        "openapi": "3.0.3",
        "info": {"title": format!("Inert {P}"), "version": "1", "description": P},
        "servers": [{"url": format!("{}/_sandbox/echo", sb.url), "description": P}],
        "paths": {
            "/json/{id}": {"post": {
                "operationId": "json", "summary": P, "description": P,
                "parameters": [
                    {"name": "id", "in": "path", "required": true, "description": P},
                    {"name": "q{{ env('HOME') }}", "in": "query", "required": true},
                    {"name": "X-Note", "in": "header", "required": true},
                    {"name": "opt", "in": "query", "description": P}
                ],
                "requestBody": {"content": {media: {"example": example}}},
                "responses": {"200": {"description": P}}
            }},
            "/text": {"put": {"operationId": "text",
                "requestBody": {"content": {text_media: {"example": P}}}}},
            "/form": {"post": {"operationId": "form",
                "requestBody": {"content": {"application/x-www-form-urlencoded": {"example": {"a": P, "n": 3}}}}}},
            "/gen": {"post": {"operationId": "gen",
                // Required, so that they are in the body rather than commented out.
                "requestBody": {"content": {"application/json": {"schema": {"type": "object", "required": [P, "e", "d"], "properties": {
                    P: {"type": "string", "example": P},
                    "e": {"enum": [P]},
                    "d": {"default": {P: [P]}}
                }}}}}}},
            "/multi": {"post": {"operationId": "multi",
                "requestBody": {"content": {"multipart/form-data": {"schema": {"properties": {
                    "a": {"type": "string", "example": P}
                }}}}}}}
        }
    });
    let p = Project::new();
    p.write("api.json", &doc.to_string());
    let r = p.run(&["import", "openapi", "api.json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    checked(&p);
    let json_file = read(&p, "requests/json/json.yaml");
    assert!(!json_file.contains("raw %}"), "{json_file}");

    let echo = exec(
        &p,
        "requests/json/json.yaml",
        &[
            "--var",
            "id=7",
            "--var",
            "q_env_home=v",
            "--var",
            "x_note=n",
        ],
        &[],
    );
    assert_eq!(echo["path"], "/_sandbox/echo/json/7");
    assert_eq!(echo["query"], json!({"q{{ env('HOME') }}": "v"}));
    assert_eq!(echo["headers"]["content-type"], media);
    assert_eq!(echo["headers"]["x-note"], "n");
    assert_eq!(echo["body"], example, "{json_file}");

    let echo = exec(&p, "requests/text/text.yaml", &[], &[]);
    assert_eq!(echo["headers"]["content-type"], text_media);
    assert_eq!(echo["body"], P);

    let echo = exec(&p, "requests/form/form.yaml", &[], &[]);
    assert_eq!(echo["form"], json!({"a": P, "n": "3"}));

    let echo = exec(&p, "requests/gen/gen.yaml", &[], &[]);
    assert_eq!(echo["body"], json!({P: P, "e": P, "d": {P: [P]}}));

    let echo = exec(&p, "requests/multi/multi.yaml", &[], &[]);
    let body = echo["body"].as_str().unwrap_or_default();
    assert!(
        body.contains(&format!("name=\"a\"\r\n\r\n{P}\r\n")),
        "{body}"
    );
}

#[test]
fn a_postman_collection_and_environment_render_to_themselves() {
    let sb = SandboxProc::start(&[]);
    let object = json!({"k": "{{ env('PATH') }}", "a": [PM, 1, {"{% x %}": null}]});
    let env_object = json!({"p": "{% if true %}{{ env('HOME') }}{% endif %}"});
    let raw_json = json!({PM: [PM, 1, true, null], "v": "{{plain}}", "o": "{{obj}}"});
    let collection = json!({
        "info": {"name": "Inert", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
        "variable": [
            {"key": "baseUrl", "value": format!("{}/_sandbox/echo", sb.url)},
            {"key": "obj", "value": object},
            {"key": "plain", "value": PM}
        ],
        "auth": {"type": "apikey", "apikey": [
            {"key": "key", "value": "X-Key"},
            {"key": "value", "value": "{{ env('HOME') }}"}
        ]},
        "item": [
            {"name": "raw json", "request": {
                "method": "POST",
                "description": PM,
                "url": {"raw": "{{baseUrl}}/j?q=1", "query": [
                    {"key": "q", "value": "{{ env('HOME') }}"},
                    {"key": "{# k #}", "value": PM}
                ]},
                "header": [
                    {"key": "X-V", "value": PM},
                    {"key": "X-Env", "value": "{{envobj}}"},
                    {"key": "Content-Type", "value": "application/json"}
                ],
                "body": {"mode": "raw", "raw": raw_json.to_string(), "options": {"raw": {"language": "json"}}}
            }},
            {"name": "text", "request": {"method": "PUT", "url": "{{baseUrl}}/t",
                "header": [{"key": "Content-Type", "value": "text/plain"}],
                "body": {"mode": "raw", "raw": format!("{PM}\n")}}},
            {"name": "form", "request": {"method": "POST", "url": "{{baseUrl}}/f",
                "body": {"mode": "urlencoded", "urlencoded": [{"key": "{{ x }}k", "value": PM}]}}},
            {"name": "multi", "request": {"method": "POST", "url": "{{baseUrl}}/m",
                "body": {"mode": "formdata", "formdata": [{"key": "a", "value": PM, "type": "text"}]}}}
        ]
    });
    let environment = json!({"values": [{"key": "envobj", "value": env_object, "enabled": true}]});
    let p = Project::new();
    p.write("c.json", &collection.to_string());
    p.write("e.json", &environment.to_string());
    let r = p.run(&["import", "postman", "c.json", "--environment", "e.json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    checked(&p);
    let env = [("INERT_API_KEY", SECRET)];

    let echo = exec(&p, "requests/raw_json.yaml", &[], &env);
    assert_eq!(
        echo["query"],
        json!({"q": "{{ env('HOME') }}", "{# k #}": PM})
    );
    assert_eq!(echo["headers"]["x-v"], PM);
    assert_eq!(echo["headers"]["x-key"], SECRET);
    let sent_env: Value = serde_json::from_str(echo["headers"]["x-env"].as_str().unwrap()).unwrap();
    assert_eq!(sent_env, env_object);
    assert_eq!(
        echo["body"],
        json!({PM: [PM, 1, true, null], "v": PM, "o": object}),
        "{}",
        read(&p, "requests/raw_json.yaml")
    );

    let echo = exec(&p, "requests/text.yaml", &[], &env);
    assert_eq!(echo["body"], format!("{PM}\n"));

    let echo = exec(&p, "requests/form.yaml", &[], &env);
    assert_eq!(echo["form"], json!({"{{ x }}k": PM}));

    let echo = exec(&p, "requests/multi.yaml", &[], &env);
    let body = echo["body"].as_str().unwrap_or_default();
    assert!(
        body.contains(&format!("name=\"a\"\r\n\r\n{PM}\r\n")),
        "{body}"
    );
}

#[test]
fn a_curl_line_renders_to_itself() {
    let sb = SandboxProc::start(&[]);
    let p = Project::new();
    p.write("profiles/default.yaml", &format!("base_url: {}\n", sb.url));
    let url = format!(
        "{}/_sandbox/echo/c?q={{{{%20env('HOME')%20}}}}&{{%25x%25}}=1",
        sb.url
    );
    let ct = "Content-Type: text/plain; v={{ env('HOME') }}";
    let header = format!("X-V: {P}");
    let r = p.run(&[
        "import",
        "curl",
        "--out",
        "requests/c.yaml",
        "--",
        "curl",
        "-X",
        "POST",
        &url,
        "-H",
        ct,
        "-H",
        &header,
        "--data-raw",
        P,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    checked(&p);
    let echo = exec(&p, "requests/c.yaml", &[], &[]);
    assert_eq!(
        echo["query"],
        json!({"q": "{{ env('HOME') }}", "{%x%}": "1"})
    );
    assert_eq!(echo["headers"]["x-v"], P);
    assert_eq!(
        echo["headers"]["content-type"],
        "text/plain; v={{ env('HOME') }}"
    );
    assert_eq!(echo["body"], P);
}

/// The lines of `r`'s stderr and stdout, and every file under the project, hold none
/// of `secrets`.
fn assert_nowhere(p: &Project, r: &Run, secrets: &[&str]) {
    assert_no_secret(&r.stdout, secrets);
    assert_no_secret(&r.stderr, secrets);
    for entry in walk(p.dir.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&entry).unwrap()).into_owned();
        assert_no_secret(&text, secrets);
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// A password with punctuation, as a URL carries it (percent-encoded).
const URL_PASSWORD: &str = "hunter2%26%3C%3E%22'%20%5C%25+%2F%3D%3A%C3%A9";
const PASSWORD: &str = "hunter2&<>\"' \\%+/=:é";

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

#[test]
fn userinfo_becomes_basic_auth_from_env_and_is_written_nowhere() {
    let sb = SandboxProc::start(&[]);
    let host = sb.url.trim_start_matches("http://");
    let with_userinfo = format!("http://bob:{URL_PASSWORD}@{host}/_sandbox/echo");
    let secrets = [URL_PASSWORD, "hunter2", "bob:"];

    // curl: the URL's userinfo, and a proxy's in the list of what is not imported.
    let p = Project::new();
    let r = p.run(&[
        "import",
        "curl",
        "--out",
        "requests/u.yaml",
        "--",
        "curl",
        &format!("{with_userinfo}/u"),
        "-x",
        "http://carol:hunter2@proxy.example:8080",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("  --proxy http://***@proxy.example:8080\n"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(
            "  username: \"{{ env('API_USERNAME') }}\"\n  password: \"{{ env('API_PASSWORD') }}\"\n"
        ),
        "{}",
        r.stderr
    );
    assert_nowhere(&p, &r, &secrets);
    let profile = format!(
        "base_url: {}\nauth:\n  type: basic\n  username: \"{{{{ env('API_USERNAME') }}}}\"\n  password: \"{{{{ env('API_PASSWORD') }}}}\"\n",
        sb.url
    );
    p.write("profiles/default.yaml", &profile);
    let env = [("API_USERNAME", "bob"), ("API_PASSWORD", PASSWORD)];
    let echo = exec(&p, "requests/u.yaml", &[], &env);
    assert_eq!(echo["path"], "/_sandbox/echo/u");
    assert_eq!(echo["headers"]["authorization"], basic("bob", PASSWORD));

    // OpenAPI: a server URL's userinfo; the document's copy keeps none either.
    let p = Project::new();
    let doc = json!({"openapi": "3.0.3", "info": {"title": "U", "version": "1"},
        "servers": [{"url": with_userinfo}],
        "paths": {"/o": {"get": {"operationId": "o"}}}});
    // The sources live outside the project: only what the import writes is judged.
    let sources = tempfile::tempdir().unwrap();
    let src = sources.path().join("u.json");
    std::fs::write(&src, doc.to_string()).unwrap();
    let r = p.run(&["import", "openapi", src.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_nowhere(&p, &r, &secrets);
    assert!(
        read(&p, "profiles/default.yaml").contains("  username: \"{{ env('U_USERNAME') }}\"\n")
    );
    checked(&p);
    let env = [("U_USERNAME", "bob"), ("U_PASSWORD", PASSWORD)];
    let echo = exec(&p, "requests/o/o.yaml", &[], &env);
    assert_eq!(echo["headers"]["authorization"], basic("bob", PASSWORD));

    // Postman: the base URL variable's userinfo.
    let p = Project::new();
    let collection = json!({
        "info": {"name": "Pm", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
        "variable": [{"key": "baseUrl", "value": with_userinfo}],
        "item": [{"name": "x", "request": {"method": "GET", "url": "{{baseUrl}}/x"}}]
    });
    let src = sources.path().join("pm.json");
    std::fs::write(&src, collection.to_string()).unwrap();
    let r = p.run(&["import", "postman", src.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_nowhere(&p, &r, &secrets);
    checked(&p);
    let env = [("PM_USERNAME", "bob"), ("PM_PASSWORD", PASSWORD)];
    let echo = exec(&p, "requests/x.yaml", &[], &env);
    assert_eq!(echo["path"], "/_sandbox/echo/x");
    assert_eq!(echo["headers"]["authorization"], basic("bob", PASSWORD));
}

#[test]
fn file_paths_outside_the_project_become_variables() {
    let p = Project::new();
    let r = p.run(&[
        "import",
        "curl",
        "--out",
        "requests/d.yaml",
        "--",
        "curl",
        "http://127.0.0.1:9/x",
        "--data-binary",
        "@/etc/passwd",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        read(&p, "requests/d.yaml"),
        "# set file_path: the source named /etc/passwd\nmethod: POST\nurl: http://127.0.0.1:9/x\nheaders:\n  Content-Type: application/x-www-form-urlencoded\nbody:\n  file: \"{{ file_path }}\"\n"
    );
    assert!(
        r.stderr.contains("  file /etc/passwd: outside the project, read from the variable file_path instead (--var file_path=PATH)\n"),
        "{}",
        r.stderr
    );
    p.write("profiles/default.yaml", "base_url: http://127.0.0.1:9\n");
    checked(&p);
    // Nothing is read until the user names a file.
    let r = p.run(&["exec", "requests/d.yaml", "--dry-run"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("undefined variable `file_path`"),
        "{}",
        r.stderr
    );

    let r = p.run(&[
        "import",
        "curl",
        "--out",
        "requests/f.yaml",
        "--",
        "curl",
        "http://127.0.0.1:9/x",
        "-F",
        "up=@../secret.txt;type=text/plain",
        "-F",
        "ok=@inside.txt",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let f = read(&p, "requests/f.yaml");
    assert!(
        f.starts_with("# set up_file: the source named ../secret.txt\n"),
        "{f}"
    );
    assert!(f.contains("  multipart:\n    up:\n      file: \"{{ up_file }}\"\n    ok:\n      file: inside.txt\n"), "{f}");

    let collection = json!({
        "info": {"name": "F", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
        "item": [
            {"name": "file", "request": {"method": "POST", "url": "http://h.example/a",
                "body": {"mode": "file", "file": {"src": "C:\\Users\\me\\key.pem"}}}},
            {"name": "form", "request": {"method": "POST", "url": "http://h.example/b",
                "body": {"mode": "formdata", "formdata": [
                    {"key": "doc", "type": "file", "src": "/home/me/.ssh/id_rsa"},
                    {"key": "here", "type": "file", "src": "files/a.txt"}
                ]}}}
        ]
    });
    let q = Project::new();
    q.write("c.json", &collection.to_string());
    let r = q.run(&["import", "postman", "c.json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let file = read(&q, "requests/file.yaml");
    assert!(
        file.starts_with("# set file_path: the source named C:\\Users\\me\\key.pem\n"),
        "{file}"
    );
    assert!(file.contains("  file: \"{{ file_path }}\"\n"), "{file}");
    let form = read(&q, "requests/form.yaml");
    assert!(
        form.contains(
            "    doc:\n      file: \"{{ doc_file }}\"\n    here:\n      file: files/a.txt\n"
        ),
        "{form}"
    );
    assert!(r.stderr.contains("  file /home/me/.ssh/id_rsa: outside the project, read from the variable doc_file instead (--var doc_file=PATH)\n"), "{}", r.stderr);
}
