//! Issue 5: the shipped Ermeo collection. Every file under `requests/` passes
//! `runner check` and runs against the sandbox with the shipped default profile, as on
//! a fresh checkout; a file added without a case here fails the suite, so the
//! collection cannot rot.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::support::{Project, Run, SandboxProc, bin, repo_root};

const ASSET_1: &str = "00000000-0000-4000-8000-000000000001";
const ASSET_3: &str = "00000000-0000-4000-8000-000000000003";
const ASSET_250: &str = "00000000-0000-4000-8000-000000000250";
const FAMILY_1: &str = "00000000-0000-4000-8100-000000000001";
const USER_2: &str = "00000000-0000-4000-8001-000000000002";
const REPORT_3: &str = "00000000-0000-4000-8002-000000000003";
const DOCUMENT_1: &str = "00000000-0000-4000-8003-000000000001";

/// One run of a collection file: `runner exec FILE ARGS...` from the repository root,
/// and what its stdout must say.
struct Case {
    file: &'static str,
    args: &'static [&'static str],
    check: fn(&Run),
}

/// The 250 seeded assets, every one, in order (each paging style of
/// `requests/paged/` gets them all).
fn all_250_names(r: &Run) {
    let names: Vec<String> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect();
    let expected: Vec<String> = (1..=250).map(|i| format!("Asset {i:04}")).collect();
    assert_eq!(names, expected);
}

/// Every file under `requests/`, at least once. Keep in step with the folder:
/// `every_collection_file_has_a_case` fails otherwise.
const CASES: &[Case] = &[
    Case {
        file: "requests/paged/github_style.yaml",
        args: &[],
        check: all_250_names,
    },
    Case {
        file: "requests/paged/stripe_style.yaml",
        args: &[],
        check: all_250_names,
    },
    Case {
        file: "requests/paged/slack_style.yaml",
        args: &[],
        check: all_250_names,
    },
    Case {
        file: "requests/paged/offset_style.yaml",
        args: &[],
        check: all_250_names,
    },
    Case {
        file: "requests/paged/graphql_style.yaml",
        args: &[],
        check: all_250_names,
    },
    Case {
        file: "requests/get_all_assets.yaml",
        args: &[],
        check: |r| {
            let all = r.json();
            let names: Vec<&str> = all
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["name"].as_str().unwrap())
                .collect();
            let expected: Vec<String> = (1..=250).map(|i| format!("Asset {i:04}")).collect();
            assert_eq!(names, expected);
        },
    },
    Case {
        file: "requests/get_asset.yaml",
        args: &["--var", "asset_id=00000000-0000-4000-8000-000000000001"],
        check: |r| {
            assert_eq!(
                r.json(),
                json!({"id": ASSET_1, "name": "Asset 0001", "status": "active",
                       "family_id": FAMILY_1, "code": "AST-000001",
                       "location": "Plant A / Hall 1", "created_at": "2024-01-01T00:01:00Z",
                       "updated_at": "2024-01-01T00:11:00Z"})
            );
        },
    },
    Case {
        file: "requests/create_asset.yaml",
        args: &[
            "--var",
            "name=Pump 12",
            "--var",
            "family_id=00000000-0000-4000-8100-000000000001",
            "-o",
            "json",
        ],
        check: |r| {
            let v = r.json();
            assert_eq!(v["status"], 201);
            let body = &v["body"];
            let id = body["id"].as_str().unwrap();
            assert_eq!(id.len(), 36);
            assert_eq!(
                (&body["name"], &body["family_id"], &body["status"]),
                (&json!("Pump 12"), &json!(FAMILY_1), &json!("active")),
                "status defaults to active"
            );
            assert_eq!(v["extract"], json!({"asset_id": id}));
        },
    },
    Case {
        file: "requests/create_asset.yaml",
        args: &["--data", "data/assets.csv"],
        check: |r| {
            let mut rows = r.json_lines();
            rows.sort_by_key(|row| row["row"].as_u64());
            assert_eq!(rows.len(), 20, "{}", r.stdout);
            for (i, row) in rows.iter().enumerate() {
                assert_eq!(row["row"], i + 1, "{row}");
                assert_eq!((&row["ok"], &row["status"]), (&json!(true), &json!(201)));
                assert_eq!(row["extract"]["asset_id"].as_str().unwrap().len(), 36);
            }
            assert!(
                r.stderr.contains("20 rows: 20 ok, 0 failed"),
                "{}",
                r.stderr
            );
        },
    },
    Case {
        file: "requests/update_asset.yaml",
        args: &[
            "--var",
            "asset_id=00000000-0000-4000-8000-000000000003",
            "--var",
            "name=Pump 3",
            "--var",
            "family_id=f-2",
            "--var",
            "status=archived",
        ],
        check: |r| {
            let v = r.json();
            assert_eq!(
                (&v["id"], &v["name"], &v["family_id"], &v["status"]),
                (
                    &json!(ASSET_3),
                    &json!("Pump 3"),
                    &json!("f-2"),
                    &json!("archived")
                )
            );
            assert_eq!(v["code"], "AST-000003", "fields not sent are kept");
            assert_ne!(v["updated_at"], "2024-01-01T00:33:00Z");
        },
    },
    Case {
        file: "requests/delete_asset.yaml",
        args: &[
            "--var",
            "asset_id=00000000-0000-4000-8000-000000000250",
            "-o",
            "json",
        ],
        check: |r| {
            let v = r.json();
            assert_eq!((&v["status"], &v["body"]), (&json!(204), &Value::Null));
        },
    },
    Case {
        file: "requests/search_assets.yaml",
        args: &[
            "--var",
            "query=asset 01",
            "--var",
            "page_size:=5",
            "--var",
            "page:=2",
        ],
        check: |r| {
            let v = r.json();
            // "Asset 0100" .. "Asset 0199" match; page 2 of 5 is 0105 .. 0109.
            assert_eq!(
                (&v["total_items"], &v["total_pages"]),
                (&json!(100), &json!(20))
            );
            assert_eq!(
                names(&v["items"]),
                [
                    "Asset 0105",
                    "Asset 0106",
                    "Asset 0107",
                    "Asset 0108",
                    "Asset 0109"
                ]
            );
        },
    },
    Case {
        file: "requests/search_assets.yaml",
        args: &["--var", "query=ASSET 02", "--var", "status=archived"],
        check: |r| {
            let v = r.json();
            let expected: Vec<String> = (200..=250)
                .filter(|i| i % 5 == 0)
                .map(|i| format!("Asset {i:04}"))
                .collect();
            assert_eq!(names(&v["items"]), expected);
        },
    },
    Case {
        file: "requests/get_archived_assets.yaml",
        args: &[],
        check: |r| {
            let v = r.json();
            let expected: Vec<String> = (1..=50).map(|i| format!("Asset {:04}", i * 5)).collect();
            assert_eq!(names(&v), expected);
            assert!(
                v.as_array()
                    .unwrap()
                    .iter()
                    .all(|a| a["status"] == "archived")
            );
        },
    },
    Case {
        file: "requests/get_users.yaml",
        args: &["--var", "page_size:=3"],
        check: |r| {
            let emails: Vec<String> = r
                .json()
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["email"].as_str().unwrap().to_owned())
                .collect();
            let expected: Vec<String> = (1..=10)
                .map(|i| format!("user{i:02}@example.com"))
                .collect();
            assert_eq!(emails, expected);
        },
    },
    Case {
        file: "requests/get_user.yaml",
        args: &["--var", "user_id=00000000-0000-4000-8001-000000000002"],
        check: |r| {
            assert_eq!(
                r.json(),
                json!({"id": USER_2, "email": "user02@example.com", "first_name": "Bruno",
                       "last_name": "Bernard"})
            );
        },
    },
    Case {
        file: "requests/get_reports.yaml",
        args: &[],
        check: |r| {
            let v = r.json();
            let titles: Vec<&str> = v
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["title"].as_str().unwrap())
                .collect();
            let expected: Vec<String> = (1..=30)
                .map(|i| format!("Inspection report {i:03}"))
                .collect();
            assert_eq!(titles, expected);
        },
    },
    Case {
        file: "requests/get_reports.yaml",
        args: &["--var", "status=validated", "--var", "page_size:=4"],
        check: |r| {
            let v = r.json();
            let ids: Vec<&str> = v
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["id"].as_str().unwrap())
                .collect();
            let expected: Vec<String> = (1..=10)
                .map(|i| format!("00000000-0000-4000-8002-{:012}", i * 3))
                .collect();
            assert_eq!(ids, expected);
        },
    },
    Case {
        file: "requests/get_report.yaml",
        args: &["--var", "report_id=00000000-0000-4000-8002-000000000003"],
        check: |r| {
            assert_eq!(
                r.json(),
                json!({"id": REPORT_3, "asset_id": ASSET_3, "title": "Inspection report 003",
                       "status": "validated", "created_at": "2024-01-04T00:00:00Z"})
            );
        },
    },
    Case {
        file: "requests/create_report.yaml",
        args: &[
            "--var",
            "title=Vibration check",
            "--var",
            "asset_id=00000000-0000-4000-8000-000000000001",
            "-o",
            "json",
        ],
        check: |r| {
            let v = r.json();
            assert_eq!(v["status"], 201);
            let body = &v["body"];
            assert_eq!(
                (&body["title"], &body["asset_id"], &body["status"]),
                (&json!("Vibration check"), &json!(ASSET_1), &json!("draft")),
                "status defaults to draft"
            );
            assert_eq!(v["extract"], json!({"report_id": body["id"]}));
        },
    },
    Case {
        file: "requests/get_documents.yaml",
        args: &["--var", "page_size:=7"],
        check: |r| {
            let v = r.json();
            let expected: Vec<String> = (1..=20)
                .map(|i| format!("00000000-0000-4000-8003-{i:012}"))
                .collect();
            let ids: Vec<&str> = v
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["id"].as_str().unwrap())
                .collect();
            assert_eq!(ids, expected);
        },
    },
    Case {
        file: "requests/get_documents.yaml",
        args: &["--var", "mime_type=application/pdf"],
        check: |r| {
            let v = r.json();
            assert_eq!(
                names(&v),
                [
                    "document-01.pdf",
                    "document-05.pdf",
                    "document-09.pdf",
                    "document-13.pdf",
                    "document-17.pdf"
                ]
            );
        },
    },
    Case {
        file: "requests/get_document.yaml",
        args: &["--var", "document_id=00000000-0000-4000-8003-000000000001"],
        check: |r| {
            assert_eq!(
                r.json(),
                json!({"id": DOCUMENT_1, "name": "document-01.pdf",
                       "mime_type": "application/pdf", "size": 38912})
            );
        },
    },
    Case {
        file: "requests/upload_document.yaml",
        args: &[],
        check: |r| {
            let v = r.json();
            let size = std::fs::metadata(repo_root().join("data/inspection_note.txt"))
                .unwrap()
                .len();
            assert_eq!(v["document_id"].as_str().unwrap().len(), 36, "{v}");
            assert_eq!(
                v,
                json!({"document_id": v["document_id"], "name": "inspection_note.txt",
                       "mime_type": "text/plain", "size": size})
            );
        },
    },
    Case {
        file: "requests/upload_document.yaml",
        args: &["--var", "file_path=../data/assets.csv"],
        check: |r| {
            let v = r.json();
            let size = std::fs::metadata(repo_root().join("data/assets.csv"))
                .unwrap()
                .len();
            assert_eq!(
                (&v["name"], &v["mime_type"], &v["size"]),
                (&json!("assets.csv"), &json!("text/csv"), &json!(size))
            );
        },
    },
    Case {
        file: "requests/flows/create_then_get.yaml",
        args: &[
            "--var",
            "name=Pump 12",
            "--var",
            "family_id=00000000-0000-4000-8100-000000000001",
        ],
        check: |r| {
            let v = r.json();
            assert_eq!(v["id"].as_str().unwrap().len(), 36);
            assert_eq!(
                (&v["name"], &v["family_id"], &v["status"]),
                (&json!("Pump 12"), &json!(FAMILY_1), &json!("active"))
            );
        },
    },
    Case {
        file: "requests/flows/create_update_delete.yaml",
        args: &[
            "--var",
            "name=Fan 9",
            "--var",
            "family_id=f-9",
            "-o",
            "json",
        ],
        check: |r| {
            let v = r.json();
            assert_eq!((&v["status"], &v["body"]), (&json!(204), &Value::Null));
        },
    },
    Case {
        file: "requests/flows/report_on_new_asset.yaml",
        args: &["--var", "name=Chiller 4", "--var", "family_id=f-4"],
        check: |r| {
            let v = r.json();
            let reports = v.as_array().unwrap();
            assert_eq!(reports.len(), 1, "{v}");
            let report = &reports[0];
            assert_eq!(
                (&report["title"], &report["status"]),
                (&json!("Commissioning of Chiller 4"), &json!("draft"))
            );
            let asset_id = report["asset_id"].as_str().unwrap();
            assert!(
                asset_id.len() == 36 && !asset_id.starts_with("00000000-"),
                "the new asset, not a seeded one: {asset_id}"
            );
        },
    },
    Case {
        file: "requests/flows/web_login.yaml",
        args: &["-p", "web"],
        check: |r| {
            assert_eq!(
                r.json(),
                json!({"username": "demo", "email": "demo@example.com"})
            )
        },
    },
    Case {
        file: "requests/web/login_page.yaml",
        args: &["-p", "web"],
        check: |r| {
            assert!(
                r.json()["csrf"].as_str().unwrap().len() >= 32,
                "{}",
                r.stdout
            )
        },
    },
    Case {
        file: "requests/web/login.yaml",
        args: &["-p", "web", "--var", "csrf=t0k3n", "--dry-run"],
        check: |r| {
            assert!(
                r.stdout.starts_with("POST http://127.0.0.1:"),
                "{}",
                r.stdout
            );
            assert!(
                r.stdout.ends_with("/web/login\nAccept: application/json\nContent-Type: application/x-www-form-urlencoded\n\nusername=demo&password=demo&csrf=t0k3n\n"),
                "{}",
                r.stdout
            );
        },
    },
    Case {
        file: "requests/web/me.yaml",
        args: &["-p", "web", "--dry-run"],
        check: |r| {
            assert!(
                r.stdout.ends_with("/web/me\nAccept: application/json\n"),
                "{}",
                r.stdout
            )
        },
    },
    Case {
        file: "requests/aws/get_pets.yaml",
        args: &["-p", "aws", "--dry-run", "--show-secrets"],
        check: |r| {
            assert_eq!(
                r.stdout,
                "GET https://abc123.execute-api.eu-west-1.amazonaws.com/prod/pets?type=dog&limit=10\nAccept: application/json\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/<date>/eu-west-1/execute-api/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=<computed when sent>\n"
            );
        },
    },
];

/// The `name` of every item of a JSON array.
fn names(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {items}"))
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_owned())
        .collect()
}

/// `runner ARGS...` from the repository root, with the shipped profiles (the default
/// one starts a fresh in-process sandbox) and a state folder of its own.
fn run_at_root(args: &[&str]) -> Run {
    run_at_root_with(args, &[])
}

/// [`run_at_root`] with `env` set besides.
fn run_at_root_with(args: &[&str], env: &[(&str, &str)]) -> Run {
    let state = tempfile::tempdir().unwrap();
    Command::new(bin())
        .args(args)
        .envs(env.iter().copied())
        .current_dir(repo_root())
        .env("RUNNER_STATE_DIR", state.path())
        .env_remove("RUNNER_PROFILE")
        .env_remove("RUNNER_ROOT")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run runner")
        .into()
}

/// Files under `root/dir`, recursively, as `dir/...` paths with `/` separators.
fn files_under(root: &Path, dir: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.join(dir)];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(root).unwrap();
                let parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.insert(parts.join("/"));
            }
        }
    }
    out
}

#[test]
fn every_collection_file_has_a_case() {
    let on_disk = files_under(repo_root(), "requests");
    let covered: BTreeSet<String> = CASES.iter().map(|c| c.file.to_owned()).collect();
    let untested: Vec<&String> = on_disk.difference(&covered).collect();
    let missing: Vec<&String> = covered.difference(&on_disk).collect();
    assert!(
        untested.is_empty() && missing.is_empty(),
        "add a case to tests/it/collection.rs for {untested:?}; remove the cases of {missing:?}"
    );
    // Sample data is used by a request file or a case, or it is dead weight.
    let mut uses = String::new();
    for file in &on_disk {
        uses.push_str(&std::fs::read_to_string(repo_root().join(file)).unwrap());
    }
    for case in CASES {
        uses.push_str(&case.args.join(" "));
    }
    for data in files_under(repo_root(), "data") {
        let name = data.rsplit('/').next().unwrap();
        assert!(uses.contains(name), "nothing uses {data}");
    }
}

#[test]
fn the_collection_passes_check() {
    let n = files_under(repo_root(), "requests").len();
    let r = run_at_root(&["check", "requests"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert_eq!(r.stderr, format!("checked {n} files: no problems\n"));
}

#[test]
fn every_collection_file_runs_against_the_sandbox() {
    let mut failures = Vec::new();
    // The `web` profile's server (a sandbox it names by URL), and placeholder AWS keys
    // for the `aws` profile's previews.
    let sb = SandboxProc::start(&[]);
    let env = [
        ("SANDBOX_URL", sb.url.as_str()),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "placeholder"),
    ];
    for case in CASES {
        let mut args = vec!["exec", case.file];
        args.extend_from_slice(case.args);
        let r = run_at_root_with(&args, &env);
        let label = args.join(" ");
        if r.code != 0 {
            failures.push(format!("{label}: exit {}\n{}", r.code, r.stderr));
            continue;
        }
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (case.check)(&r)));
        if let Err(panic) = outcome {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(format!("{label}: {message}\nstdout: {}", r.stdout));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A copy of the repository's `requests/` and `data/` in a project whose default
/// profile points at `sb`, so that several commands share one sandbox.
fn collection_project(sb: &SandboxProc) -> Project {
    let p = Project::with_sandbox(&sb.url);
    for dir in ["requests", "data"] {
        for file in files_under(repo_root(), dir) {
            let target: PathBuf = p.path(&file);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::copy(repo_root().join(&file), target).unwrap();
        }
    }
    p
}

#[test]
fn the_bulk_file_and_the_flows_change_the_sandbox_as_they_say() {
    let sb = SandboxProc::start(&[]);
    let p = collection_project(&sb);

    let r = p.run(&[
        "exec",
        "requests/create_asset.yaml",
        "--data",
        "data/assets.csv",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.matches("\"ok\":true").count(), 20, "{}", r.stdout);
    assert_eq!(sb.stats()["assets_created"], 20);
    // The rows landed as written: two pumps, and four more archived assets.
    let r = p.run(&[
        "exec",
        "requests/search_assets.yaml",
        "--var",
        "query=pump 1",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(names(&r.json()["items"]), ["Pump 101", "Pump 111"]);
    let r = p.run(&["exec", "requests/get_archived_assets.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut archived = names(&r.json());
    assert_eq!(archived.len(), 54);
    // Rows are created concurrently, so the new ones come last in no fixed order.
    archived[50..].sort();
    assert_eq!(
        archived[50..],
        ["Chiller 110", "Chiller 120", "Conveyor 105", "Conveyor 115"]
    );

    let r = p.run(&[
        "exec",
        "requests/flows/create_update_delete.yaml",
        "--var",
        "name=Fan 9",
        "--var",
        "family_id=f-9",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let stats = sb.stats();
    assert_eq!(
        (
            &stats["assets_created"],
            &stats["assets_updated"],
            &stats["assets_deleted"]
        ),
        (&json!(21), &json!(1), &json!(1))
    );
    assert_eq!(stats["requests"]["GET /api/v1/assets/{id}"], 1);

    let r = p.run(&["exec", "requests/upload_document.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let id = r.json()["document_id"].as_str().unwrap().to_owned();
    let r = p.run(&[
        "exec",
        "requests/get_document.yaml",
        "--var",
        &format!("document_id={id}"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["name"], "inspection_note.txt");
    assert_eq!(sb.stats()["documents_uploaded"], 1);

    // A report about a missing asset is refused, and the request file says so.
    let r = p.run(&[
        "exec",
        "requests/create_report.yaml",
        "--var",
        "title=Ghost",
        "--var",
        &format!("asset_id={ASSET_250}x"),
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.json()["status"], 400);
    assert_eq!(sb.stats()["reports_created"], 0);
}
