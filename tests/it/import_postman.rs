//! Issue 15, point 6: `runner import postman`, v2.1 and v2.0.

use crate::support::{Project, repo_root};

fn fixture(name: &str) -> String {
    repo_root()
        .join("tests/data/import")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn read(p: &Project, rel: &str) -> String {
    std::fs::read_to_string(p.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn a_v21_collection_becomes_folders_requests_and_a_profile() {
    let p = Project::new();
    let r = p.run(&[
        "import",
        "postman",
        &fixture("demo.postman_collection.json"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "imported 4 requests from 1 folder and a profile into {}\nscripts are not run (2; each is kept as a comment in its request file):\n  Demo API: prerequest script (1 line), not run\n  Users/List users: test script (1 line), not run\n",
            p.dir.path().display()
        )
    );
    assert_eq!(
        read(&p, "profiles/default.yaml"),
        "# prerequest script from Postman (not run):\n# console.log('hi')\n# vars.api_secret: a secret, read from DEMO_API_API_SECRET\ndescription: Demo API\nbase_url: https://api.example.com/v1\nvars:\n  page_size: \"20\"\n  api_secret: \"{{ env('DEMO_API_API_SECRET') }}\"\nauth:\n  type: bearer\n  token: \"{{ env('DEMO_API_TOKEN') }}\"\n"
    );
    assert_eq!(
        read(&p, "requests/users/list_users.yaml"),
        "# test script from Postman (not run):\n# pm.test('ok', () => pm.response.to.have.status(200));\n# disabled header: X-Off\nmethod: GET\nurl: /users\nquery:\n  limit: \"{{ page_size }}\"\nheaders:\n  Accept: application/json\n"
    );
    assert_eq!(
        read(&p, "requests/users/get_user.yaml"),
        "method: GET\nurl: /users/{{ user_id }}\n"
    );
    assert!(
        read(&p, "requests/users/create_user.yaml")
            .contains("  json:\n    name: \"{{ name }}\"\n    id: \"{{ uuid() }}\"\n")
    );
    assert!(read(&p, "requests/login_form.yaml").contains("auth: none\n"));
    let text = read(&p, "profiles/default.yaml");
    assert!(
        !text.contains("SECRET-TOKEN-123") && !text.contains("s3cr3t"),
        "{text}"
    );
    let r = p.run(&["check"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = p.run(&[
        "import",
        "postman",
        &fixture("demo.postman_collection.json"),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn a_v20_collection_keeps_its_auth_as_env_templates() {
    let p = Project::new();
    let r = p.run(&[
        "import",
        "postman",
        &fixture("v20.postman_collection.json"),
        "--out",
        "old",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let profile = read(&p, "old/profiles/default.yaml");
    assert!(profile.contains("auth:\n  type: basic\n  username: \"{{ env('OLD_USERNAME') }}\"\n  password: \"{{ env('OLD_PASSWORD') }}\"\n"), "{profile}");
    assert!(!profile.contains("hunter2"));
    let key = read(&p, "old/requests/key.yaml");
    assert!(
        key.contains("# auth `api_key` of its own: the profile's is used"),
        "{key}"
    );
    assert!(!key.contains("k-123"));
    assert_eq!(
        read(&p, "old/requests/ping.yaml"),
        "method: GET\nurl: https://old.example.com/ping\nquery:\n  x: \"1\"\n"
    );
    let r = p.run(&["--root", "old", "check"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn what_is_not_a_collection_is_refused() {
    let p = Project::new();
    p.write(
        "x.json",
        r#"{"info": {"schema": "https://example.com/v9"}, "item": []}"#,
    );
    let r = p.run(&["import", "postman", "x.json"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("not a Postman collection v2.0 or v2.1"),
        "{}",
        r.stderr
    );
}
