//! Issue 15, points 1 and 4: `runner import openapi`, and the round trip with the
//! sandbox's own `GET /openapi.json`.

use std::path::Path;

use serde_json::Value;

use crate::support::{Project, SandboxProc, http_text};

/// The sandbox's test user, through the `env()` names the import writes.
const SANDBOX_ENV: &[(&str, &str)] = &[
    ("SANDBOX_CLIENT_ID", "sandbox"),
    ("SANDBOX_CLIENT_SECRET", "sandbox-secret"),
    ("SANDBOX_USERNAME", "demo"),
    ("SANDBOX_PASSWORD", "demo"),
];

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn every_documented_operation_is_routed() {
    let sb = SandboxProc::start(&[]);
    let (status, text) = http_text("GET", &format!("{}/openapi.json", sb.url), None, &[]);
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let concrete = path.replace("{id}", "no-such-id").replace("{rest}", "x");
            let (status, body) = http_text(
                &method.to_ascii_uppercase(),
                &format!("{}{concrete}", sb.url),
                None,
                &[],
            );
            assert_ne!(status, 405, "{method} {path}: not routed");
            assert!(
                !(status == 404 && body.contains("No route")),
                "{method} {path}: not routed"
            );
        }
    }
}

#[test]
fn the_sandbox_document_imports_checks_and_runs() {
    let sb = SandboxProc::start(&[]);
    let p = Project::new();
    let out = p.path("api");
    let url = format!("{}/openapi.json", sb.url);
    let r = p.run(&["import", "openapi", &url, "--out", out.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .starts_with("imported 52 operations into 52 request files, 1 profile"),
        "{}",
        r.stderr
    );
    assert!(out.join("openapi/openapi.json").is_file());
    let profile = std::fs::read_to_string(out.join("profiles/default.yaml")).unwrap();
    assert_eq!(
        profile,
        format!(
            "# auth from security scheme `sandbox_password`\ndescription: Sandbox\nbase_url: {}\nauth:\n  type: oauth2_password\n  token_url: {}/oauth/v2/token\n  client_id: \"{{{{ env('SANDBOX_CLIENT_ID') }}}}\"\n  client_secret: \"{{{{ env('SANDBOX_CLIENT_SECRET', '') }}}}\"\n  username: \"{{{{ env('SANDBOX_USERNAME') }}}}\"\n  password: \"{{{{ env('SANDBOX_PASSWORD', '') }}}}\"\n",
            sb.url, sb.url
        )
    );
    let list = std::fs::read_to_string(out.join("requests/assets/list_assets.yaml")).unwrap();
    assert!(
        list.contains("# optional query parameter: limit (integer): Items per page"),
        "{list}"
    );
    assert!(list.contains("url: /api/v1/assets\n"), "{list}");
    assert!(
        list.contains(
            "expect:\n  status:\n  - 200\n  schema:\n    openapi: ../../openapi/openapi.json#/components/schemas/AssetPage\n"
        ),
        "{list}"
    );
    // An inline response schema: its pointer, `/` escaped as `~1`.
    let stats = std::fs::read_to_string(out.join("requests/sandbox/stats.yaml")).unwrap();
    assert!(
        stats.contains(
            "../../openapi/openapi.json#/paths/~1_sandbox~1stats/get/responses/200/content/application~1json/schema\n"
        ),
        "{stats}"
    );
    let get = std::fs::read_to_string(out.join("requests/assets/get_asset.yaml")).unwrap();
    assert!(get.contains("url: /api/v1/assets/{{ id }}\n"), "{get}");

    let check = p.run(&["--root", out.to_str().unwrap(), "check"]);
    assert_eq!(check.code, 0, "{}", check.stderr);

    // Every request that needs no variable runs, except those that drive the sandbox
    // itself or a login (control, oauth, the cookie login of web).
    let mut ran = 0;
    let mut with_schema = 0;
    for file in files_under(&out.join("requests")) {
        let rel = file
            .strip_prefix(&out)
            .unwrap()
            .to_string_lossy()
            .to_string();
        if ["requests/control/", "requests/oauth/", "requests/web/"]
            .iter()
            .any(|d| rel.starts_with(d))
        {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        if text.contains("{{ ") {
            continue;
        }
        let r = p.run_env(
            &[
                "--root",
                out.to_str().unwrap(),
                "exec",
                file.to_str().unwrap(),
                "-o",
                "none",
            ],
            SANDBOX_ENV,
        );
        assert_eq!(r.code, 0, "{rel}: {}", r.stderr);
        ran += 1;
        if text.contains("\n  schema:\n    openapi: ") {
            with_schema += 1;
        }
    }
    assert_eq!(ran, 14, "requests run");
    assert_eq!(with_schema, 14, "requests run with a schema check");

    // The checks are in force: one wrong `type` in the copied document, and the
    // request that names that schema fails.
    let copy = out.join("openapi/openapi.json");
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&copy).unwrap()).unwrap();
    doc["components"]["schemas"]["AssetPage"]["properties"]["total_items"]["type"] =
        "string".into();
    std::fs::write(&copy, serde_json::to_string(&doc).unwrap()).unwrap();
    let list = out.join("requests/assets/list_assets.yaml");
    let r = p.run_env(
        &[
            "--root",
            out.to_str().unwrap(),
            "exec",
            list.to_str().unwrap(),
            "-o",
            "none",
        ],
        SANDBOX_ENV,
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "requests/assets/list_assets.yaml:13:5: the body does not match api/openapi/openapi.json#/components/schemas/AssetPage at /total_items: "
        ) && r.stderr.contains("is not of type \"string\""),
        "{}",
        r.stderr
    );
}

#[test]
fn nothing_is_overwritten_without_force_and_dry_run_writes_nothing() {
    let p = Project::new();
    p.write(
        "spec.yaml",
        "openapi: 3.0.3\ninfo: {title: Pets, version: '1'}\nservers: [{url: 'https://{env}.example.com/v1', variables: {env: {default: api}}}]\npaths:\n  /pets/{petId}:\n    get:\n      operationId: getPetById\n      tags: [pets]\n      parameters:\n        - {name: petId, in: path, required: true, schema: {type: integer}}\n        - {name: X-Trace, in: header, required: true, schema: {type: string}}\n      responses: {'200': {description: ok}, '404': {description: no}}\n      security: [{key: []}]\ncomponents:\n  securitySchemes:\n    key: {type: apiKey, in: header, name: X-Api-Key}\n",
    );
    let r = p.run(&["import", "openapi", "spec.yaml", "--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        format!(
            "{0}/openapi/spec.yaml\n{0}/requests/pets/get_pet_by_id.yaml\n{0}/profiles/default.yaml\n",
            p.dir.path().display()
        )
    );
    assert!(!p.path("requests/pets").exists());
    let r = p.run(&["import", "openapi", "spec.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(p.path("requests/pets/get_pet_by_id.yaml")).unwrap(),
        "method: GET\nurl: /pets/{{ pet_id }}\nheaders:\n  X-Trace: \"{{ x_trace }}\"\nexpect:\n  status:\n  - 200\n"
    );
    assert_eq!(
        std::fs::read_to_string(p.path("profiles/default.yaml")).unwrap(),
        "# auth from security scheme `key`\ndescription: Pets\nbase_url: https://api.example.com/v1\nauth:\n  type: api_key\n  key: \"{{ env('PETS_API_KEY') }}\"\n  in: header\n  name: X-Api-Key\n"
    );
    let r = p.run(&["check"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = p.run(&["import", "openapi", "spec.yaml"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("3 files already exist (nothing written; --force overwrites)"),
        "{}",
        r.stderr
    );
    let r = p.run(&["import", "openapi", "spec.yaml", "--force"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn swagger_2_is_refused_with_a_reason() {
    let p = Project::new();
    p.write(
        "old.json",
        r#"{"swagger": "2.0", "info": {"title": "x"}, "paths": {}}"#,
    );
    let r = p.run(&["import", "openapi", "old.json"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("Swagger 2.0 is not supported; only OpenAPI 3.0 and 3.1 are"),
        "{}",
        r.stderr
    );
}

/// Issue 21, point 1: imports and checks that take a while draw a progress line on a
/// terminal (a pseudo-terminal here, through Python's `pty`), and never elsewhere
/// nor under `-q`. `RUNNER_PROGRESS_DELAY_MS=0` stands for a run slower than the
/// second runner waits before drawing.
#[test]
fn progress_is_drawn_on_a_terminal_only() {
    let p = Project::new();
    p.write(
        "shop.yaml",
        "openapi: 3.0.3\ninfo: {title: Shop, version: '1'}\nservers: [{url: 'https://api.shop.example'}]\npaths:\n  /a: {get: {operationId: a, responses: {'200': {description: ok}}}}\n  /b: {get: {operationId: b, responses: {'200': {description: ok}}}}\n",
    );
    let bin = crate::support::bin();
    let on_pty = |args: &[&str]| {
        let out = std::process::Command::new("python3")
            .args([
                "-c",
                "import pty, sys; sys.exit(pty.spawn(sys.argv[1:]) >> 8)",
            ])
            .arg(&bin)
            .args(args)
            .current_dir(p.dir.path())
            .env("RUNNER_STATE_DIR", p.state.path())
            .env("RUNNER_PROGRESS_DELAY_MS", "0")
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let import = on_pty(&["import", "openapi", "shop.yaml", "--out", "shop"]);
    assert!(import.contains("importing 0/2 paths"), "{import:?}");
    assert!(
        import.contains("imported 2 operations into 2 request files"),
        "{import:?}"
    );
    let check = on_pty(&["--root", "shop", "check"]);
    assert!(check.contains("checking 0/3 files"), "{check:?}");
    assert!(check.contains("checked 3 files: no problems"), "{check:?}");
    let quiet = on_pty(&["-q", "--root", "shop", "check"]);
    assert!(!quiet.contains("checking"), "{quiet:?}");
    // Not a terminal: the summary alone.
    let piped = p.run_env(
        &["--root", "shop", "check"],
        &[("RUNNER_PROGRESS_DELAY_MS", "0")],
    );
    assert_eq!(
        (piped.code, piped.stderr.as_str()),
        (0, "checked 3 files: no problems\n")
    );
}
