//! Issue 5: the checked-in schemas match the models, completions and help work, and
//! every shell block of the README runs.

use crate::support::{Project, SandboxProc, bin, copy_dir, repo_root};

#[test]
fn checked_in_schemas_match_the_models() {
    let p = Project::new();
    for kind in ["request", "profile"] {
        let r = p.run(&["schema", kind]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let file = repo_root().join(format!("schema/{kind}.json"));
        let checked_in = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(
            r.stdout == checked_in,
            "schema/{kind}.json is stale: run `cargo run -- schema {kind} > schema/{kind}.json`"
        );
    }
}

#[test]
fn completions_and_help_for_every_command() {
    let p = Project::new();
    for shell in ["bash", "zsh", "fish"] {
        let r = p.run(&["completions", shell]);
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        assert!(r.stdout.contains("exec"), "{shell}");
        assert!(r.stdout.contains("profile"), "{shell}");
    }
    for cmd in [
        "exec",
        "login",
        "logout",
        "token",
        "profiles",
        "check",
        "sandbox",
        "serve",
        "mcp",
        "schema",
        "completions",
        "init",
    ] {
        let r = p.run(&[cmd, "--help"]);
        assert_eq!(r.code, 0, "{cmd}");
        assert!(
            r.stdout.contains("Example"),
            "{cmd} --help has no example:\n{}",
            r.stdout
        );
    }
    let r = p.run(&["exec"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

/// A subcommand's arguments are built only when it runs (clap's `defer`, for a fast
/// start): completions and help, which need the whole tree, still have every one.
#[test]
fn completions_and_help_have_every_subcommands_own_options() {
    let p = Project::new();
    let own = [
        "--concurrency",
        "--jobs",
        "--no-browser",
        "--allow-writes",
        "--environment",
        "--max-connections",
        "--auto-approve",
    ];
    for shell in ["bash", "zsh", "fish"] {
        let r = p.run(&["completions", shell]);
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        for option in own {
            // fish spells `--name` as `-l name`.
            let spelled = match shell {
                "fish" => format!("-l {}", &option[2..]),
                _ => option.to_string(),
            };
            assert!(r.stdout.contains(&spelled), "{shell} has no {option}");
        }
    }
    // The about of `import http` is its own, not its arguments' type's.
    let r = p.run(&["completions", "fish"]);
    assert!(r.stdout.contains("JetBrains"), "{}", r.stdout);
    let r = p.run(&["help", "exec"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("--concurrency"), "{}", r.stdout);
    let r = p.run(&["import", "http", "--help"]);
    assert!(r.stdout.contains("JetBrains"), "{}", r.stdout);
    // A subcommand's option is parsed after its tree is built on demand.
    let r = p.run(&["exec", "--concurrency", "0", "requests/none.yaml"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

/// The fenced blocks of `text` whose info string is exactly `sh`.
fn shell_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(b), "```") => {
                blocks.push(std::mem::take(b));
                current = None;
            }
            (Some(b), l) => {
                b.push_str(l);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn every_shell_block_of_the_readme_runs() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let blocks: Vec<String> = shell_blocks(&readme)
        .into_iter()
        // The first block is the build-and-test pair, which this very test is part of.
        .filter(|b| !b.contains("cargo "))
        .collect();
    assert!(
        blocks.len() >= 5,
        "only {} runnable blocks in the README",
        blocks.len()
    );
    // The Ermeo profile's URLs come from ERMEO_BASE_URL when it is set: here, a sandbox.
    let sb = SandboxProc::start(&[]);
    let p = Project::new();
    for dir in [
        "profiles",
        "requests",
        "data",
        "schema",
        "schemas",
        "tests/api",
        "keys",
    ] {
        if repo_root().join(dir).is_dir() {
            copy_dir(&repo_root().join(dir), &p.path(dir));
        }
    }
    let browser = format!(
        "python3 {}",
        repo_root().join("tests/browser/sandbox_login.py").display()
    );
    let bin_dir = bin().parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let outputs = tempfile::tempdir().unwrap();
    for (i, block) in blocks.iter().enumerate() {
        // Files, not pipes: a daemon a block starts (the keyring's) may outlive it and
        // hold a pipe open forever.
        let out_path = outputs.path().join(format!("block-{i}.out"));
        let err_path = outputs.path().join(format!("block-{i}.err"));
        let status = std::process::Command::new("bash")
            .args(["-euo", "pipefail", "-c", block])
            .current_dir(p.dir.path())
            .env("PATH", &path)
            .env("RUNNER_STATE_DIR", p.state.path())
            .env_remove("RUNNER_PROFILE")
            .env_remove("RUNNER_ROOT")
            .env("ERMEO_BASE_URL", &sb.url)
            .env("ERMEO_CLIENT_ID", "sandbox")
            .env("ERMEO_CLIENT_SECRET", "sandbox-secret")
            .env("ERMEO_USERNAME", "demo")
            .env("ERMEO_PASSWORD", "demo")
            // The browser and device logins, against the same sandbox, with a helper
            // that fills in its login form as a person would.
            .env("SANDBOX_URL", &sb.url)
            .env("RUNNER_BROWSER", &browser)
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&out_path).unwrap())
            .stderr(std::fs::File::create(&err_path).unwrap())
            .status()
            .unwrap();
        let read = |path: &std::path::Path| {
            String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned()
        };
        let r = crate::support::Run {
            code: status.code().unwrap_or(-1),
            stdout: read(&out_path),
            stderr: read(&err_path),
        };
        assert_eq!(
            r.code,
            0,
            "README block {}:\n{block}\nstdout: {}\nstderr: {}",
            i + 1,
            r.stdout,
            r.stderr
        );
    }
}

#[test]
fn dry_run_and_curl_render_without_sending_and_mask_secrets() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    p.write(
        "requests/create.yaml",
        "method: POST\nurl: /assets\nheaders: {X-Api-Key: \"{{ key }}\"}\nbody:\n  json: {name: \"{{ name }}\", family_id: \"{{ family_id }}\"}\n",
    );
    let args = [
        "--var",
        "name=Pump 12",
        "--var",
        "family_id:=7",
        "--var",
        "key=k-secret-123",
    ];
    let mut argv = vec!["exec", "requests/create.yaml", "--dry-run"];
    argv.extend_from_slice(&args);
    let r = p.run(&argv);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        format!(
            "POST {}/api/v1/assets\nX-Api-Key: ***\nAuthorization: ***\nContent-Type: application/json\n\n{{\n  \"name\": \"Pump 12\",\n  \"family_id\": 7\n}}\n",
            sb.url
        )
    );
    let mut argv = vec!["exec", "requests/create.yaml", "--curl"];
    argv.extend_from_slice(&args);
    let r = p.run(&argv);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with(&format!(
            "curl \\\n  -X POST \\\n  '{}/api/v1/assets' \\\n",
            sb.url
        )),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("-H 'Authorization: ***'"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("--data-raw '{\"name\":\"Pump 12\",\"family_id\":7}'"),
        "{}",
        r.stdout
    );
    // Nothing was sent, not even a login.
    assert_eq!(sb.stats()["requests"], serde_json::json!({}));
    assert_eq!(sb.token_requests("password"), 0);

    // --show-secrets shows the cached token once there is one.
    assert_eq!(p.run(&["login"]).code, 0);
    let token = p.run(&["token"]).stdout.trim().to_string();
    let mut argv = vec!["exec", "requests/create.yaml", "--curl", "--show-secrets"];
    argv.extend_from_slice(&args);
    let r = p.run(&argv);
    assert!(
        r.stdout
            .contains(&format!("-H 'Authorization: Bearer {token}'")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("-H 'X-Api-Key: k-secret-123'"),
        "{}",
        r.stdout
    );
}

#[test]
fn reports_for_ci_have_one_case_per_file_or_row() {
    let sb = SandboxProc::start(&[]);
    let p = Project::with_sandbox(&sb.url);
    p.write("requests/ok.yaml", "url: /assets\n");
    p.write("requests/missing.yaml", "url: /assets/nope\n");
    let r = p.run(&[
        "exec",
        "requests/ok.yaml",
        "requests/missing.yaml",
        "-o",
        "none",
        "--report",
        "junit:r.xml",
        "--report",
        "json:r.json",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let xml = std::fs::read_to_string(p.path("r.xml")).unwrap();
    assert!(
        xml.contains("<testsuite name=\"runner\" tests=\"2\" failures=\"1\""),
        "{xml}"
    );
    assert!(
        xml.contains("<testcase name=\"requests/ok.yaml\" classname=\"requests/ok.yaml\""),
        "{xml}"
    );
    assert!(
        xml.contains("<failure message=\"requests/missing.yaml:1:6: status 404 (expected 2xx)\">"),
        "{xml}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.path("r.json")).unwrap()).unwrap();
    assert_eq!(json["tests"], 2);
    assert_eq!(json["failures"], 1);
    assert_eq!(json["cases"][0]["status"], 200);
    assert_eq!(json["cases"][1]["ok"], false);
    // The run itself: its start (UTC, JUnit's zone-less form: the JSON report's
    // date), profile, base URL, runner version and total time.
    let date = json["date"]
        .as_str()
        .unwrap()
        .trim_end_matches('Z')
        .to_string();
    assert_eq!(date.len(), 19, "{date}");
    assert!(
        xml.contains("failures=\"1\" errors=\"0\" time=\"")
            && xml.matches(&format!(" timestamp=\"{date}\">")).count() == 2,
        "{xml}"
    );
    let properties = format!(
        "    <properties>\n      <property name=\"profile\" value=\"default\"/>\n      <property name=\"base_url\" value=\"{}/api/v1\"/>\n      <property name=\"runner_version\" value=\"{}\"/>\n      <property name=\"total_s\" value=\"",
        sb.url,
        env!("CARGO_PKG_VERSION")
    );
    assert!(xml.contains(&properties), "{xml}");

    p.write("requests/get.yaml", "url: \"/assets/{{ id }}\"\n");
    p.write(
        "ids.csv",
        "id\n00000000-0000-4000-8000-000000000001\nnope\n",
    );
    let r = p.run(&[
        "exec",
        "requests/get.yaml",
        "--data",
        "ids.csv",
        "--report",
        "junit:rows.xml",
    ]);
    assert_eq!(r.code, 1);
    let xml = std::fs::read_to_string(p.path("rows.xml")).unwrap();
    assert!(xml.contains("tests=\"2\" failures=\"1\""), "{xml}");
    assert!(
        xml.contains("<testcase name=\"row 2\" classname=\"requests/get.yaml\""),
        "{xml}"
    );
}
