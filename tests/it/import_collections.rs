//! Issue 25, points 2 and 3: `runner import insomnia` (a v4 JSON export and a v5
//! YAML export) and `runner import bruno` (a `.bru` collection and a YAML
//! OpenCollection), each written here in the tool's documented format. The
//! imported files pass `check` and, sent to the sandbox's echo, send what the
//! sources describe; no value the sources hold as a secret reaches a file or a
//! message.

use serde_json::{Value, json};

use crate::support::{Project, SandboxProc, assert_no_secret, copy_dir, repo_root};

/// The secrets the samples hold, which must reach no written file and no output.
const IN_SOURCES: [&str; 13] = [
    "never-copied-C4nary",
    "prod-token-C4nary",
    "prod-user-C4nary",
    "folder-token-C4nary",
    "pw-C4nary",
    "cookie-C4nary",
    "apikey-C4nary",
    "oauth-secret-C4nary",
    "vault-C4nary",
    "jar-C4nary",
    "hdr-C4nary",
    "basic-C4nary",
    "yaml-key-C4nary",
];

/// A token with the punctuation secrets hold (ASCII: it goes in a header).
const TOKEN: &str = "Tk C4nary&<v>\"q'\\%+/=:x";

fn read(p: &Project, rel: &str) -> String {
    std::fs::read_to_string(p.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The sample `name` under `src/`, its `http://localhost:8080` the sandbox's echo.
fn sample(p: &Project, sb: &SandboxProc, name: &str) {
    let from = repo_root().join("tests/data/import").join(name);
    copy_dir(&from, &p.path("src"));
    let echo = format!("{}/_sandbox/echo", sb.url);
    for f in files(&p.path("src")) {
        let text = std::fs::read_to_string(&f).unwrap();
        std::fs::write(&f, text.replace("http://localhost:8080", &echo)).unwrap();
    }
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
    out.sort();
    out
}

/// Everything the import wrote, and the import's messages: no secret of the sources.
fn assert_nothing_leaked(p: &Project, stderr: &str) {
    let all: String = [files(&p.path("profiles")), files(&p.path("requests"))]
        .concat()
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap_or_default())
        .collect();
    assert_no_secret(&all, &IN_SOURCES);
    assert_no_secret(stderr, &IN_SOURCES);
}

fn exec(p: &Project, file: &str, profile: &str, env: &[(&str, &str)]) -> Value {
    let r = p.run_env(&["exec", file, "-p", profile], env);
    assert_eq!(r.code, 0, "{file}: {}", r.stderr);
    r.json()
}

fn is_uuid(v: &Value) -> bool {
    let s = v.as_str().unwrap_or_default();
    s.len() == 36 && s.matches('-').count() == 4
}

#[test]
fn insomnia_v4_export_imports_and_sends_what_it_describes() {
    let sb = SandboxProc::start(&[]);
    let p = Project::new();
    sample(&p, &sb, "insomnia");
    let r = p.run(&["import", "insomnia", "src/export_v4.json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "imported 6 requests from 1 folder and 2 profiles into {}\nscripts are not run (1; each is kept as a comment in its request file):\n  Users/Create user: after-response script (2 lines), not run\nskipped 6:\n  file /etc/passwd: outside the project, read from the variable file_file instead (--var file_file=PATH)\n  cookie jar `Default Jar`: 1 cookie not copied (a session's cookies are credentials)\n  template tag {{{{ env('HOME') }}}}: no runner equivalent, kept as text (a comment in each file says where)\n  template tag {{% if true %}}: no runner equivalent, kept as text (a comment in each file says where)\n  template tag {{% endif %}}: no runner equivalent, kept as text (a comment in each file says where)\n  template tag {{% response 'body', 'req_create', 'b64::JC5pZA==::46b', 'never', 60 %}}: no runner equivalent, kept as text (a comment in each file says where)\n",
            p.dir.path().display()
        )
    );
    let c = p.run(&["check"]);
    assert_eq!(c.code, 0, "{}", c.stderr);
    assert_nothing_leaked(&p, &r.stderr);
    assert_eq!(
        read(&p, "requests/last_order.yaml"),
        "# {% response 'body', 'req_create', 'b64::JC5pZA==::46b', 'never', 60 %}: no runner equivalent, sent as written\nmethod: GET\nurl: \"{{ base_url_ }}/orders/{{ '{' }}% response 'body', 'req_create', 'b64::JC5pZA==::46b', 'never', 60 %}\"\n"
    );
    let prod = read(&p, "profiles/prod_secrets.yaml");
    assert!(
        prod.contains("  api_token: \"{{ env('SHOP_API_PROD_SECRETS_API_TOKEN') }}\"\n"),
        "{prod}"
    );

    let env = [
        ("SHOP_API_TOKEN", TOKEN),
        ("SHOP_API_DEV_SESSION_SECRET", "s"),
    ];
    let echo = exec(&p, "requests/users/list_users.yaml", "dev", &env);
    assert_eq!(echo["method"], "GET");
    assert_eq!(echo["target"], "/_sandbox/echo/users?page=2&size=20");
    assert_eq!(echo["headers"]["authorization"], format!("Bearer {TOKEN}"));
    assert_eq!(echo["headers"]["accept"], "application/json");
    assert!(is_uuid(&echo["headers"]["x-request-id"]), "{echo}");

    let echo = exec(&p, "requests/users/create_user.yaml", "dev", &env);
    assert_eq!(echo["method"], "POST");
    let body = &echo["body"];
    assert_eq!(
        body["name"],
        "Ada {{ env('HOME') }} {% if true %}x{% endif %}"
    );
    assert_eq!(body["version"], "v2");
    let at: u64 = body["at"].as_str().unwrap().parse().unwrap();
    let now = crate::support::now();
    assert!(at + 60 > now && at <= now + 1, "{at}");

    let echo = exec(&p, "requests/login.yaml", "dev", &env);
    assert_eq!(echo["form"], json!({"user": "ada", "remember": "yes"}));

    let echo = exec(&p, "requests/search.yaml", "dev", &env);
    assert_eq!(
        echo["body"],
        json!({"query": "query Q($n: Int) { users(first: $n) { id } }", "variables": {"n": 3}})
    );
}

#[test]
fn insomnia_v5_yaml_export_imports_and_sends_what_it_describes() {
    let sb = SandboxProc::start(&[]);
    let p = Project::new();
    sample(&p, &sb, "insomnia");
    let r = p.run(&["import", "insomnia", "src/collection_v5.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "imported 2 requests from 1 folder and 2 profiles into {}\nscripts are not run (1; each is kept as a comment in its request file):\n  Pets/Get pet: after-response script (1 line), not run\nskipped 2:\n  cookie jar `Default Jar`: 1 cookie not copied (a session's cookies are credentials)\n  template tag {{{{ 'raw' | upper }}}}: no runner equivalent, kept as text (a comment in each file says where)\n",
            p.dir.path().display()
        )
    );
    let c = p.run(&["check"]);
    assert_eq!(c.code, 0, "{}", c.stderr);
    assert_nothing_leaked(&p, &r.stderr);
    assert_eq!(
        read(&p, "profiles/vault.yaml"),
        "# vars.client_password: a secret in the source, read from PETS_VAULT_CLIENT_PASSWORD\ndescription: \"Pets: environment Vault\"\nbase_url: \"{{ base_url_ }}\"\nvars:\n  base_url_: ECHO\n  pet: Rex\n  client_password: \"{{ env('PETS_VAULT_CLIENT_PASSWORD') }}\"\nauth:\n  type: api_key\n  key: \"{{ env('PETS_API_KEY') }}\"\n  in: header\n  name: X-Api-Key\n"
            .replace("ECHO", &format!("{}/_sandbox/echo", sb.url))
    );

    let env = [("PETS_API_KEY", TOKEN)];
    let echo = exec(&p, "requests/pets/get_pet.yaml", "local", &env);
    assert_eq!(echo["method"], "GET");
    assert_eq!(echo["query"], json!({"fields": "name,age"}));
    assert!(
        echo["target"]
            .as_str()
            .unwrap()
            .starts_with("/_sandbox/echo/pets/42?fields=name"),
        "{echo}"
    );
    assert_eq!(echo["headers"]["x-api-key"], TOKEN);
    assert!(is_uuid(&echo["headers"]["x-trace"]), "{echo}");

    let echo = exec(&p, "requests/add_pet.yaml", "local", &env);
    assert_eq!(echo["method"], "PUT");
    assert_eq!(echo["headers"]["content-type"], "text/plain");
    let body = echo["body"].as_str().unwrap();
    let rest = body
        .strip_prefix("name=Fido at ")
        .unwrap_or_else(|| panic!("{body}"));
    let (stamp, tail) = rest.split_once(' ').unwrap();
    assert!(stamp.parse::<u64>().is_ok(), "{body}");
    assert_eq!(tail, "{{ 'raw' | upper }}");
}

#[test]
fn bruno_collection_imports_and_sends_what_it_describes() {
    let sb = SandboxProc::start(&[]);
    let p = Project::new();
    sample(&p, &sb, "bruno");
    let r = p.run(&["import", "bruno", "src"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "imported 5 requests from 1 folder and 2 profiles into {}\nscripts are not run (2; each is kept as a comment in its request file):\n  Orders/Create order: post-response script (1 line), not run\n  Orders/Create order: tests script (3 lines), not run\nskipped 1:\n  file /etc/passwd: outside the project, read from the variable doc_file instead (--var doc_file=PATH)\n",
            p.dir.path().display()
        )
    );
    let c = p.run(&["check"]);
    assert_eq!(c.code, 0, "{}", c.stderr);
    assert_nothing_leaked(&p, &r.stderr);
    let create = read(&p, "requests/orders/create_order.yaml");
    assert!(
        create.contains("expect:\n  status:\n  - 200\n  jsonpath:\n    $.method:\n      equals: POST\n    $.target:\n      exists: true\n"),
        "{create}"
    );
    assert!(
        create.contains(
            "# assert res.headers.content-type: contains json: no expect equivalent, not checked\n"
        ),
        "{create}"
    );

    let env = [
        ("ORDERS_API_X_API_KEY", "k"),
        // The collection's `token: {{token}}`: the profile's secret variable.
        ("ORDERS_API_LOCAL_TOKEN", TOKEN),
        ("ORDERS_API_LOCAL_API_PASSWORD", "p"),
    ];
    // The assertions that became `expect` hold: exec exits 0.
    let echo = exec(&p, "requests/orders/create_order.yaml", "local", &env);
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["target"], "/_sandbox/echo/orders/acme?dry=true");
    assert_eq!(echo["headers"]["authorization"], format!("Bearer {TOKEN}"));
    assert_eq!(echo["headers"]["x-client"], "runner-test");
    assert_eq!(echo["headers"]["x-api-key"], "k");
    assert!(is_uuid(&echo["headers"]["x-request-id"]), "{echo}");
    assert_eq!(
        echo["body"]["item"],
        "book {{ env('HOME') }} {% if true %}x{% endif %}"
    );
    assert_eq!(echo["body"]["qty"], 3);

    let echo = exec(&p, "requests/orders/list_orders.yaml", "local", &env);
    assert_eq!(echo["query"], json!({"page": "2", "tag": ["a", "b"]}));
    assert!(echo["headers"].get("authorization").is_none(), "{echo}");

    let echo = exec(&p, "requests/login.yaml", "local", &env);
    assert_eq!(echo["form"], json!({"user": "ada", "note": "two\nlines"}));

    let echo = exec(&p, "requests/search.yaml", "local", &env);
    assert_eq!(
        echo["body"],
        json!({"query": "query Q($n: Int) {\n  orders(first: $n) { id }\n}", "variables": {"n": 5}})
    );
}

#[test]
fn bruno_yaml_collection_imports_and_sends_what_it_describes() {
    let sb = SandboxProc::start(&[]);
    let p = Project::new();
    sample(&p, &sb, "bruno_yaml");
    let r = p.run(&["import", "bruno", "src"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "imported 2 requests from 1 folder and 1 profile into {}\nscripts are not run (1; each is kept as a comment in its request file):\n  Users/Create User: tests script (1 line), not run\n",
            p.dir.path().display()
        )
    );
    let c = p.run(&["check"]);
    assert_eq!(c.code, 0, "{}", c.stderr);
    assert_nothing_leaked(&p, &r.stderr);
    let login = read(&p, "requests/login.yaml");
    assert!(
        login.starts_with("# auth `oauth2_password` of its own: the profile's is used\n"),
        "{login}"
    );

    let env = [
        // The collection's `value: "{{apiKey}}"`: the profile's secret variable.
        ("USERS_YAML_DEV_API_KEY", TOKEN),
        ("USERS_YAML_DEV_CLIENT_SECRET", "c"),
    ];
    let echo = exec(&p, "requests/users/create_user.yaml", "dev", &env);
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["target"], "/_sandbox/echo/users/core?notify=false");
    assert_eq!(echo["headers"]["x-api-key"], TOKEN);
    assert_eq!(echo["headers"]["x-collection"], "yes-please");
    assert!(echo["headers"].get("x-debug").is_none(), "{echo}");
    assert!(is_uuid(&echo["headers"]["x-trace"]), "{echo}");
    assert_eq!(
        echo["body"],
        json!({"name": "Grace", "tags": ["a", "{{ env('HOME') }}"]})
    );

    let echo = exec(&p, "requests/login.yaml", "dev", &env);
    assert_eq!(
        echo["form"],
        json!({"user": "grace", "scope": "read write"})
    );
}

#[test]
fn nothing_is_overwritten_and_dry_run_writes_nothing() {
    let p = Project::new();
    copy_dir(
        &repo_root().join("tests/data/import/bruno_yaml"),
        &p.path("src"),
    );
    let root = p.dir.path().display().to_string();
    let listed = format!(
        "{root}/requests/users/create_user.yaml\n{root}/requests/login.yaml\n{root}/profiles/dev.yaml\n"
    );
    let r = p.run(&["import", "bruno", "src", "--dry-run"]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, listed.as_str()),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.starts_with("would import 2 requests"),
        "{}",
        r.stderr
    );
    assert!(!p.path("requests/login.yaml").exists());
    let r = p.run(&["import", "bruno", "src"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    p.write("requests/login.yaml", "# mine\n");
    let r = p.run(&["import", "bruno", "src"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            2,
            format!("error: 3 files already exist (nothing written; --force overwrites): {root}/requests/users/create_user.yaml, {root}/requests/login.yaml, {root}/profiles/dev.yaml\n").as_str()
        )
    );
    assert_eq!(read(&p, "requests/login.yaml"), "# mine\n");
    let r = p.run(&["import", "bruno", "src", "--dry-run"]);
    assert!(
        r.stdout.contains("/requests/login.yaml (exists)\n"),
        "{}",
        r.stdout
    );
    let r = p.run(&["import", "bruno", "src", "--force"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_ne!(read(&p, "requests/login.yaml"), "# mine\n");

    p.write(
        "x.json",
        "{\"_type\": \"export\", \"__export_format\": 3, \"resources\": []}",
    );
    let r = p.run(&["import", "insomnia", "x.json"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            2,
            "error: x.json: Insomnia export format 3 is not supported; export it again as Insomnia v4 (JSON) or v5 (YAML)\n"
        )
    );
    let r = p.run(&["import", "bruno", "x.json"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            2,
            "error: x.json: not a folder (a Bruno collection is a folder holding bruno.json or opencollection.yml)\n"
        )
    );
}

/// A `.bru` file that does not parse names its line; the rest are imported.
#[test]
fn a_broken_bru_file_is_named_with_its_line() {
    let p = Project::new();
    p.write("c/bruno.json", "{\"name\": \"x\"}");
    p.write("c/ok.bru", "get {\n  url: https://api.example.com/a\n}\n");
    p.write(
        "c/bad.bru",
        "get {\n  url: https://api.example.com/b\n  oops\n}\n",
    );
    // A link out of the collection is not followed.
    p.write(
        "outside/secret.bru",
        "get {\n  url: https://evil.example.com/x\n}\n",
    );
    std::os::unix::fs::symlink(p.path("outside"), p.path("c/linked")).unwrap();
    let r = p.run(&["import", "bruno", "c", "--out", "o"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "imported 1 request from 0 folders and 1 profile into o\nskipped 1:\n  bad.bru: c/bad.bru:3:3: expected `name: value`, found `oops`\n"
    );
    assert_eq!(
        read(&p, "o/requests/ok.yaml"),
        "method: GET\nurl: https://api.example.com/a\n"
    );
}
