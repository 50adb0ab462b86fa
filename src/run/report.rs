//! Reports for CI (`--report junit:FILE`, `json:FILE`, `html:FILE`): one test case
//! per request file, or per row of a bulk run, with every assertion, failures and
//! timings; the HTML page also shows the masked request and response of a failure.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::expect::assert::Checked;

/// Where a report goes and in which format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportSpec {
    Junit(PathBuf),
    Json(PathBuf),
    Html(PathBuf),
}

impl std::str::FromStr for ReportSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once(':') {
            Some(("junit", p)) if !p.is_empty() => Ok(ReportSpec::Junit(p.into())),
            Some(("json", p)) if !p.is_empty() => Ok(ReportSpec::Json(p.into())),
            Some(("html", p)) if !p.is_empty() => Ok(ReportSpec::Html(p.into())),
            _ => Err(format!(
                "`{s}`: expected junit:FILE, json:FILE or html:FILE"
            )),
        }
    }
}

/// One test case.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    /// The file the case ran (JUnit's classname).
    pub file: String,
    pub status: Option<u16>,
    pub time: Duration,
    pub failure: Option<String>,
    /// Every assertion of the case's response, passed or not.
    pub assertions: Vec<Checked>,
    /// For a failure: the request as sent and the response, secrets masked.
    pub exchange: Option<(String, String)>,
}

impl Case {
    /// A case with no assertions or exchange recorded.
    pub fn new(
        name: String,
        file: String,
        status: Option<u16>,
        time: Duration,
        failure: Option<String>,
    ) -> Case {
        Case {
            name,
            file,
            status,
            time,
            failure,
            assertions: Vec::new(),
            exchange: None,
        }
    }
}

fn assertion_json(c: &Checked) -> Value {
    json!({
        "name": c.name,
        "place": c.place.to_string(),
        "ok": c.passed(),
        "failures": c.failures.iter().map(|f| json!({
            "predicate": f.predicate,
            "expected": f.expected,
            "actual": f.actual,
            "message": f.message,
        })).collect::<Vec<_>>(),
    })
}

/// The cases of one run, and what the run was.
#[derive(Debug, Default)]
pub struct Report {
    pub cases: Vec<Case>,
    pub run: RunInfo,
}

/// What a report says of its run: when, against what, by which runner, how long.
#[derive(Debug, Default, Clone)]
pub struct RunInfo {
    /// Unix seconds at the start.
    pub started: u64,
    pub profile: String,
    pub base_url: String,
    /// The whole run, wall clock.
    pub total: Duration,
}

impl RunInfo {
    /// A run of `env`'s profile starting now (`total` is set when it ends).
    pub fn start(env: &crate::env::Env) -> RunInfo {
        RunInfo {
            started: crate::clock::now_unix(),
            profile: env.profile_name.clone(),
            base_url: env
                .base_url
                .as_ref()
                .map(|u| u.to_string())
                .unwrap_or_default(),
            total: Duration::ZERO,
        }
    }

    /// One line: date, profile, base URL, runner version, total time.
    pub fn line(&self) -> String {
        format!(
            "{} · profile {} · {} · runner {} · {:.3} s",
            crate::clock::rfc3339(self.started),
            self.profile,
            if self.base_url.is_empty() {
                "no base_url"
            } else {
                &self.base_url
            },
            env!("CARGO_PKG_VERSION"),
            self.total.as_secs_f64()
        )
    }
}

impl Report {
    pub fn push(&mut self, case: Case) {
        self.cases.push(case);
    }

    /// Writes every requested report, creating missing folders. A report that cannot
    /// be written is a warning: it never changes the outcome of the run it reports.
    pub fn write_all(&self, specs: &[ReportSpec]) {
        if let Err((path, e)) = self.write(specs) {
            eprintln!(
                "warning: cannot write the report {}: {e} (the run's result stands)",
                path.display()
            );
        }
    }

    fn failures(&self) -> usize {
        self.cases.iter().filter(|c| c.failure.is_some()).count()
    }

    fn total_time(&self) -> f64 {
        self.cases.iter().map(|c| c.time.as_secs_f64()).sum()
    }

    /// The JSON report.
    pub fn to_json(&self) -> Value {
        json!({
            "tool": "runner",
            "tests": self.cases.len(),
            "failures": self.failures(),
            "time_s": self.total_time(),
            "date": crate::clock::rfc3339(self.run.started),
            "profile": self.run.profile,
            "base_url": self.run.base_url,
            "runner_version": env!("CARGO_PKG_VERSION"),
            "total_s": self.run.total.as_secs_f64(),
            "cases": self.cases.iter().map(|c| json!({
                "name": c.name,
                "file": c.file,
                "status": c.status,
                "time_s": c.time.as_secs_f64(),
                "ok": c.failure.is_none(),
                "failure": c.failure,
                "assertions": c.assertions.iter().map(assertion_json).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })
    }

    /// The JUnit report's opening: `<testsuites>` and `<testsuite>` with the run's
    /// start as `timestamp`, and the run (profile, base URL, runner version, total
    /// time) as `<properties>`.
    fn junit_head(&self, x: &mut String) {
        // JUnit's timestamp is ISO 8601 without a zone: this one is UTC.
        let stamp = crate::clock::rfc3339(self.run.started);
        let stamp = stamp.trim_end_matches('Z');
        let _ = writeln!(
            x,
            "<testsuites name=\"runner\" tests=\"{}\" failures=\"{}\" time=\"{:.3}\" timestamp=\"{}\">",
            self.cases.len(),
            self.failures(),
            self.total_time(),
            stamp
        );
        let _ = writeln!(
            x,
            "  <testsuite name=\"runner\" tests=\"{}\" failures=\"{}\" errors=\"0\" time=\"{:.3}\" timestamp=\"{stamp}\">",
            self.cases.len(),
            self.failures(),
            self.total_time()
        );
        x.push_str("    <properties>\n");
        for (name, value) in [
            ("profile", self.run.profile.as_str()),
            ("base_url", self.run.base_url.as_str()),
            ("runner_version", env!("CARGO_PKG_VERSION")),
            ("total_s", &format!("{:.3}", self.run.total.as_secs_f64())),
        ] {
            let _ = writeln!(
                x,
                "      <property name=\"{name}\" value=\"{}\"/>",
                xml(value)
            );
        }
        x.push_str("    </properties>\n");
    }

    /// The JUnit XML report, as GitLab, GitHub and Jenkins read it.
    pub fn to_junit(&self) -> String {
        let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        self.junit_head(&mut x);
        for c in &self.cases {
            let _ = write!(
                x,
                "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3}\"",
                xml(&c.name),
                xml(&c.file),
                c.time.as_secs_f64()
            );
            if c.failure.is_none() && c.assertions.is_empty() {
                x.push_str("/>\n");
                continue;
            }
            x.push_str(">\n");
            if let Some(f) = &c.failure {
                let _ = writeln!(
                    x,
                    "      <failure message=\"{}\">{}</failure>",
                    xml(f.lines().next().unwrap_or("")),
                    xml(f)
                );
            }
            if !c.assertions.is_empty() {
                // Every assertion, passed or not, one line each.
                let lines: Vec<String> = c
                    .assertions
                    .iter()
                    .map(|a| {
                        let mut line = format!(
                            "{} {} ({})",
                            if a.passed() { "PASS" } else { "FAIL" },
                            a.name,
                            a.place
                        );
                        for f in &a.failures {
                            line.push_str(&format!(
                                "\n  {}: expected {}, got {}",
                                f.predicate, f.expected, f.actual
                            ));
                        }
                        line
                    })
                    .collect();
                let _ = writeln!(
                    x,
                    "      <system-out>{}</system-out>",
                    xml(&lines.join("\n"))
                );
            }
            x.push_str("    </testcase>\n");
        }
        x.push_str("  </testsuite>\n</testsuites>\n");
        x
    }

    /// Writes every requested report, secrets masked.
    pub fn write(&self, specs: &[ReportSpec]) -> Result<(), (PathBuf, std::io::Error)> {
        for spec in specs {
            let (path, text): (&Path, String) = match spec {
                ReportSpec::Junit(p) => (p, self.to_junit()),
                ReportSpec::Json(p) => {
                    // Masked before it is escaped: each string, then the text.
                    let mut value = self.to_json();
                    crate::secret::redact_json(&mut value);
                    let text = serde_json::to_string_pretty(&value).unwrap_or_default();
                    (p, text + "\n")
                }
                ReportSpec::Html(p) => (p, self.to_html()),
            };
            let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
            if let Some(dir) = parent {
                std::fs::create_dir_all(dir).map_err(|e| (path.to_path_buf(), e))?;
            }
            std::fs::write(path, crate::secret::redact(&text))
                .map_err(|e| (path.to_path_buf(), e))?;
        }
        Ok(())
    }
}

impl Report {
    /// One self-contained page: inline CSS, no script, nothing fetched from elsewhere.
    pub fn to_html(&self) -> String {
        let failed = self.failures();
        let passed = self.cases.len() - failed;
        let mut h = String::from(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
             <title>runner report</title>\n<style>\n\
             body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}\n\
             table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}\n\
             tr.pass td.result{color:#0a7d28}tr.fail td.result{color:#b00020;font-weight:bold}\n\
             ul{margin:0;padding-left:1.2em}li.fail{color:#b00020}li.pass{color:#555}\n\
             pre{background:#f6f6f6;padding:6px;white-space:pre-wrap;max-height:20em;overflow:auto}\n\
             </style></head><body>\n",
        );
        let _ = writeln!(
            h,
            "<h1>runner report</h1>\n<p id=\"summary\"><span id=\"passed\">{passed}</span> passed, \
             <span id=\"failed\">{failed}</span> failed, {:.3} s</p>\n<p id=\"run\">{}</p>",
            self.total_time(),
            xml(&self.run.line())
        );
        h.push_str("<table id=\"cases\">\n<thead><tr><th>Result</th><th>Case</th><th>Status</th><th>Time</th><th>Assertions</th></tr></thead>\n<tbody>\n");
        for c in &self.cases {
            let ok = c.failure.is_none();
            let _ = write!(
                h,
                "<tr class=\"case {}\"><td class=\"result\">{}</td><td>{}</td><td>{}</td><td>{} ms</td><td>",
                if ok { "pass" } else { "fail" },
                if ok { "PASS" } else { "FAIL" },
                xml(&c.name),
                c.status.map(|s| s.to_string()).unwrap_or_default(),
                c.time.as_millis()
            );
            if !c.assertions.is_empty() {
                h.push_str("<ul>");
                for a in &c.assertions {
                    let _ = write!(
                        h,
                        "<li class=\"assertion {}\">{} <small>{}</small>",
                        if a.passed() { "pass" } else { "fail" },
                        xml(&a.name),
                        xml(&a.place.to_string())
                    );
                    for f in &a.failures {
                        let _ = write!(
                            h,
                            "<br>{}: expected <code>{}</code>, got <code>{}</code>",
                            xml(&f.predicate),
                            xml(&f.expected),
                            xml(&f.actual)
                        );
                    }
                    h.push_str("</li>");
                }
                h.push_str("</ul>");
            }
            if let Some(f) = &c.failure {
                let _ = write!(h, "<pre class=\"failure\">{}</pre>", xml(f));
            }
            if let Some((req, resp)) = &c.exchange {
                let _ = write!(
                    h,
                    "<details><summary>Request and response</summary><pre class=\"request\">{}</pre><pre class=\"response\">{}</pre></details>",
                    xml(req),
                    xml(resp)
                );
            }
            h.push_str("</td></tr>\n");
        }
        h.push_str("</tbody></table>\n</body></html>\n");
        h
    }
}

/// `s` masked, then escaped for XML text and attributes; control characters dropped.
/// Masking comes first, so no escaping can hide a secret from it.
fn xml(s: &str) -> String {
    let s = crate::secret::redact(s);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            c if c.is_control() && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        assert_eq!("junit:a.xml".parse(), Ok(ReportSpec::Junit("a.xml".into())));
        assert_eq!("json:r.json".parse(), Ok(ReportSpec::Json("r.json".into())));
        assert!("xml:a".parse::<ReportSpec>().is_err());
        assert!("junit:".parse::<ReportSpec>().is_err());
    }

    #[test]
    fn junit_escapes_and_counts() {
        let mut r = Report::default();
        r.push(Case::new(
            "a".into(),
            "requests/a.yaml".into(),
            Some(200),
            Duration::from_millis(12),
            None,
        ));
        r.push(Case::new(
            "b <x>".into(),
            "requests/b.yaml".into(),
            Some(404),
            Duration::from_millis(3),
            Some("status 404 & \"so\"".into()),
        ));
        let x = r.to_junit();
        assert!(x.contains("tests=\"2\" failures=\"1\""), "{x}");
        assert!(
            x.contains("<testcase name=\"a\" classname=\"requests/a.yaml\" time=\"0.012\"/>"),
            "{x}"
        );
        assert!(x.contains("name=\"b &lt;x&gt;\""), "{x}");
        assert!(
            x.contains("<failure message=\"status 404 &amp; &quot;so&quot;\">"),
            "{x}"
        );
        assert_eq!(r.to_json()["failures"], 1);
    }
}
