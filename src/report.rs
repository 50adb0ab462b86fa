//! Reports for CI (`--report junit:FILE`, `--report json:FILE`): one test case per
//! request file, or per row of a bulk run, with failures and timings.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

/// Where a report goes and in which format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportSpec {
    Junit(PathBuf),
    Json(PathBuf),
}

impl std::str::FromStr for ReportSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once(':') {
            Some(("junit", p)) if !p.is_empty() => Ok(ReportSpec::Junit(p.into())),
            Some(("json", p)) if !p.is_empty() => Ok(ReportSpec::Json(p.into())),
            _ => Err(format!("`{s}`: expected junit:FILE or json:FILE")),
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
}

/// The cases of one run.
#[derive(Debug, Default)]
pub struct Report {
    pub cases: Vec<Case>,
}

impl Report {
    pub fn push(&mut self, case: Case) {
        self.cases.push(case);
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
            "cases": self.cases.iter().map(|c| json!({
                "name": c.name,
                "file": c.file,
                "status": c.status,
                "time_s": c.time.as_secs_f64(),
                "ok": c.failure.is_none(),
                "failure": c.failure,
            })).collect::<Vec<_>>(),
        })
    }

    /// The JUnit XML report, as GitLab, GitHub and Jenkins read it.
    pub fn to_junit(&self) -> String {
        let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            x,
            "<testsuites name=\"runner\" tests=\"{}\" failures=\"{}\" time=\"{:.3}\">",
            self.cases.len(),
            self.failures(),
            self.total_time()
        );
        let _ = writeln!(
            x,
            "  <testsuite name=\"runner\" tests=\"{}\" failures=\"{}\" errors=\"0\" time=\"{:.3}\">",
            self.cases.len(),
            self.failures(),
            self.total_time()
        );
        for c in &self.cases {
            let _ = write!(
                x,
                "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3}\"",
                xml(&c.name),
                xml(&c.file),
                c.time.as_secs_f64()
            );
            match &c.failure {
                None => x.push_str("/>\n"),
                Some(f) => {
                    let _ = writeln!(
                        x,
                        ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                        xml(f.lines().next().unwrap_or("")),
                        xml(f)
                    );
                }
            }
        }
        x.push_str("  </testsuite>\n</testsuites>\n");
        x
    }

    /// Writes every requested report, secrets masked.
    pub fn write(&self, specs: &[ReportSpec]) -> Result<(), (PathBuf, std::io::Error)> {
        for spec in specs {
            let (path, text): (&Path, String) = match spec {
                ReportSpec::Junit(p) => (p, self.to_junit()),
                ReportSpec::Json(p) => (
                    p,
                    serde_json::to_string_pretty(&self.to_json()).unwrap_or_default() + "\n",
                ),
            };
            std::fs::write(path, crate::secret::redact(&text))
                .map_err(|e| (path.to_path_buf(), e))?;
        }
        Ok(())
    }
}

/// `s` escaped for XML text and attributes; control characters dropped.
fn xml(s: &str) -> String {
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
        r.push(Case {
            name: "a".into(),
            file: "requests/a.yaml".into(),
            status: Some(200),
            time: Duration::from_millis(12),
            failure: None,
        });
        r.push(Case {
            name: "b <x>".into(),
            file: "requests/b.yaml".into(),
            status: Some(404),
            time: Duration::from_millis(3),
            failure: Some("status 404 & \"so\"".into()),
        });
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
