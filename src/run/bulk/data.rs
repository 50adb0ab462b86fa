//! Bulk runs: one run per row of a CSV, JSON-lines or JSON-array file, `concurrency`
//! at a time, results in input order, a progress bar, and the failed rows written
//! back in the input's format so a second run retries exactly those.

use std::future::Future;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::Value;

use crate::error::{Error, InputError, Place};
use crate::project::display_path;
use crate::project::limits;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFormat {
    Csv,
    JsonLines,
    JsonArray,
}

/// One input row: its 1-based number, its fields as variables, and what it was.
#[derive(Debug, Clone)]
pub struct Row {
    pub number: usize,
    /// Shared with the row's run, which lays them over the run's variables.
    pub vars: Arc<serde_json::Map<String, Value>>,
    raw: RawRow,
}

impl Row {
    /// A JSON row as `--failed` writes it: as read, with its number in `_row` (its
    /// variables are its fields, less the `_row` one it may have had).
    fn numbered_json(&self) -> Value {
        let mut out = serde_json::Map::with_capacity(self.vars.len() + 1);
        out.insert(ROW_FIELD.into(), Value::from(self.number));
        out.extend(self.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        Value::Object(out)
    }

    /// A CSV row's fields as read, in the order of `headers`.
    fn csv_fields<'r>(&'r self, headers: &'r [String]) -> Vec<&'r str> {
        match &self.raw {
            RawRow::Fields(fields) => fields.iter().map(String::as_str).collect(),
            RawRow::Vars => headers
                .iter()
                .map(|h| self.vars.get(h).and_then(Value::as_str).unwrap_or(""))
                .collect(),
        }
    }
}

/// What `--failed` writes a row back from.
#[derive(Debug, Clone)]
enum RawRow {
    /// The row's variables give its fields back: a JSON row, or a CSV row of a file
    /// whose columns have distinct names and no `_row` (the fields are not copied twice).
    Vars,
    /// A CSV row's fields as read, which its variables cannot give back.
    Fields(Vec<String>),
}

/// A loaded data file.
#[derive(Debug)]
pub struct DataSet {
    pub path: PathBuf,
    pub format: DataFormat,
    headers: Vec<String>,
    pub rows: Vec<Row>,
}

impl DataSet {
    /// Reads `path`, by extension (`.csv`, `.jsonl`/`.ndjson`, `.json`) or, failing
    /// that, by its first character.
    pub fn load(path: &Path) -> Result<DataSet, InputError> {
        let bytes = limits::read(path, limits::DATA_FILE).map_err(|e| {
            InputError::at(Place::file(display_path(path)), e.describe("data file"))
        })?;
        DataSet::parse(path, &bytes)
    }

    /// Parses `bytes` as the data file `path` (whose extension picks the format).
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<DataSet, InputError> {
        let shown = display_path(path);
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase());
        let format = match ext.as_deref() {
            Some("csv") => DataFormat::Csv,
            Some("jsonl" | "ndjson") => DataFormat::JsonLines,
            Some("json") => DataFormat::JsonArray,
            _ => match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
                Some(b'[') => DataFormat::JsonArray,
                Some(b'{') => DataFormat::JsonLines,
                _ => DataFormat::Csv,
            },
        };
        let (headers, rows) = match format {
            DataFormat::Csv => parse_csv(bytes, &shown)?,
            DataFormat::JsonLines => (Vec::new(), parse_jsonl(bytes, &shown)?),
            DataFormat::JsonArray => (Vec::new(), parse_json_array(bytes, &shown)?),
        };
        Ok(DataSet {
            path: shown,
            format,
            headers,
            rows,
        })
    }

    /// Writes `rows` to `path` in this set's format (CSV keeps the header row).
    pub fn write_rows(&self, path: &Path, rows: &[&Row]) -> std::io::Result<()> {
        let mut data = Vec::new();
        match self.format {
            DataFormat::Csv => {
                // A `_row` column first, unless the input (a --failed file) has one.
                let numbered = !self.headers.iter().any(|h| h == ROW_FIELD);
                let mut w = csv::Writer::from_writer(&mut data);
                let head = numbered.then_some(ROW_FIELD);
                w.write_record(
                    head.iter()
                        .copied()
                        .chain(self.headers.iter().map(String::as_str)),
                )?;
                for r in rows {
                    let number = r.number.to_string();
                    let first = numbered.then_some(number.as_str());
                    w.write_record(first.into_iter().chain(r.csv_fields(&self.headers)))?;
                }
                w.flush()?;
            }
            DataFormat::JsonLines => {
                for r in rows {
                    serde_json::to_writer(&mut data, &r.numbered_json())?;
                    data.push(b'\n');
                }
            }
            DataFormat::JsonArray => {
                let list: Vec<Value> = rows.iter().map(|r| r.numbered_json()).collect();
                serde_json::to_writer_pretty(&mut data, &list)?;
                data.push(b'\n');
            }
        }
        std::fs::write(path, data)
    }
}

fn parse_csv(bytes: &[u8], shown: &Path) -> Result<(Vec<String>, Vec<Row>), InputError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(bytes);
    let csv_err = |e: csv::Error| {
        let line = e.position().map(|p| p.line() as u32).unwrap_or(0);
        let message = match e.kind() {
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => format!("this row has {len} fields; the header has {expected_len}"),
            csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_string(),
            _ => e.to_string(),
        };
        InputError::at(
            Place::new(shown, line, 0),
            format!("invalid CSV: {message}"),
        )
    };
    let headers: Vec<String> = reader
        .headers()
        .map_err(csv_err)?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if headers.iter().all(|h| h.is_empty()) {
        return Err(InputError::at(
            Place::new(shown, 1, 1),
            "a CSV data file needs a header row naming its columns",
        ));
    }
    // Only a file with a `_row` column (a --failed file) numbers its own rows.
    let numbered = headers.iter().any(|h| h == ROW_FIELD);
    // A row's variables give its fields back unless a name repeats (the last field of
    // that name is the variable) or `_row` is taken out of them.
    let repeats = {
        let mut seen = std::collections::HashSet::new();
        !headers.iter().all(|h| seen.insert(h.as_str()))
    };
    let keep_fields = numbered || repeats;
    // The names of every row's variables, hashed and placed once (when distinct).
    let blank: Option<serde_json::Map<String, Value>> =
        (!repeats).then(|| headers.iter().map(|h| (h.clone(), Value::Null)).collect());
    let mut rows = Vec::new();
    // One record read into again and again: no record allocated per row.
    let mut rec = csv::StringRecord::new();
    let mut i = 0;
    while reader.read_record(&mut rec).map_err(csv_err)? {
        let mut vars = row_vars(blank.as_ref(), &headers, &rec);
        let raw = if keep_fields {
            RawRow::Fields(rec.iter().map(str::to_string).collect())
        } else {
            RawRow::Vars
        };
        let number = if numbered {
            let line = rec.position().map(|p| p.line() as u32).unwrap_or(0);
            row_number(&mut vars, i + 1, Place::new(shown, line, 1))?
        } else {
            i + 1
        };
        i += 1;
        rows.push(Row {
            number,
            vars: Arc::new(vars),
            raw,
        });
    }
    Ok((headers, rows))
}

/// A CSV record's variables: its fields filled into a copy of `blank` (the names,
/// distinct, hashed once), or inserted one by one when a name repeats (the last field
/// of that name is the variable).
fn row_vars(
    blank: Option<&serde_json::Map<String, Value>>,
    headers: &[String],
    rec: &csv::StringRecord,
) -> serde_json::Map<String, Value> {
    if let Some(blank) = blank {
        let mut vars = blank.clone();
        for (slot, v) in vars.values_mut().zip(rec.iter()) {
            *slot = Value::String(v.to_string());
        }
        return vars;
    }
    let mut vars = serde_json::Map::with_capacity(headers.len());
    for (h, v) in headers.iter().zip(rec.iter()) {
        vars.insert(h.clone(), Value::String(v.to_string()));
    }
    vars
}

fn object_row(number: usize, v: Value, place: Place) -> Result<Row, InputError> {
    match v {
        Value::Object(mut vars) => Ok(Row {
            number: row_number(&mut vars, number, place)?,
            vars: Arc::new(vars),
            raw: RawRow::Vars,
        }),
        _ => Err(InputError::at(place, "each data row must be a JSON object")),
    }
}

/// The field a `--failed` file keeps each row's number in, so that a retry's lines
/// name the first run's rows. Read, never sent.
pub const ROW_FIELD: &str = "_row";

/// A row's number in the original input: its `_row` field (taken out of `vars`),
/// else `position`.
fn row_number(
    vars: &mut serde_json::Map<String, Value>,
    position: usize,
    place: Place,
) -> Result<usize, InputError> {
    let Some(v) = vars.shift_remove(ROW_FIELD) else {
        return Ok(position);
    };
    let n = match &v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    n.and_then(|n| usize::try_from(n).ok())
        .filter(|n| *n >= 1)
        .ok_or_else(|| {
            InputError::at(
                place,
                format!(
                    "`{ROW_FIELD}` is {v}: it holds a row number (1 or more), as --failed writes it"
                ),
            )
        })
}

fn parse_jsonl(bytes: &[u8], shown: &Path) -> Result<Vec<Row>, InputError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| InputError::at(Place::file(shown), "data file is not valid UTF-8"))?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let n = i as u32 + 1;
        let v: Value = serde_json::from_str(line).map_err(|e| {
            InputError::at(
                Place::new(shown, n, e.column() as u32),
                format!("invalid JSON: {e}"),
            )
        })?;
        rows.push(object_row(rows.len() + 1, v, Place::new(shown, n, 1))?);
    }
    Ok(rows)
}

fn parse_json_array(bytes: &[u8], shown: &Path) -> Result<Vec<Row>, InputError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| {
        InputError::at(
            Place::new(shown, e.line() as u32, e.column() as u32),
            format!("invalid JSON: {e}"),
        )
    })?;
    let Value::Array(items) = v else {
        return Err(InputError::at(
            Place::file(shown),
            "a JSON data file must hold an array of objects",
        ));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| object_row(i + 1, v, Place::file(shown)))
        .collect()
}

pub use super::line::RowResult;

/// Counts of a finished (or interrupted) run.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    /// Rows this run was given.
    pub rows: usize,
    pub failed: usize,
    /// Rows never started because a signal came first.
    pub not_run: usize,
    /// The signal that stopped the run, if one did.
    pub interrupted: Option<i32>,
    pub elapsed: Duration,
}

impl Summary {
    pub fn line(&self) -> String {
        let done = self.rows - self.failed - self.not_run;
        if self.interrupted.is_some() {
            return format!(
                "interrupted: {done} done, {} failed, {} not run",
                self.failed, self.not_run
            );
        }
        let secs = self.elapsed.as_secs_f64();
        let rate = if secs > 0.0 {
            self.rows as f64 / secs
        } else {
            0.0
        };
        format!(
            "{} rows: {done} ok, {} failed in {:.2} s ({:.1} rows/s)",
            self.rows, self.failed, secs, rate
        )
    }
}

/// Runs `each` over `rows`, `concurrency` at a time; `on_result` sees the results in
/// input order. An `Err` from `each` (e.g. authentication) stops the run. After a
/// signal no row starts: those not started are counted, not run, and never reach
/// `on_result`; those in flight finish and do.
pub async fn run<'a, F, Fut>(
    rows: &[&'a Row],
    concurrency: usize,
    show_progress: bool,
    each: F,
    mut on_result: impl FnMut(&Row, &RowResult) -> Result<(), Error>,
) -> Result<Summary, Error>
where
    F: Fn(&'a Row) -> Fut,
    Fut: Future<Output = Result<RowResult, Error>> + 'a,
{
    let started = Instant::now();
    let bar = progress_bar(rows.len(), show_progress);
    let mut failed = 0;
    let mut not_run = 0;
    // Boxes of rows that are done, for the next rows' futures: as many boxes as rows
    // run at once, not one allocated and freed per row (each is kilobytes).
    let spare: std::cell::RefCell<Vec<std::pin::Pin<Box<Fut>>>> = Default::default();
    let mut results = futures_util::stream::iter(rows.iter().copied())
        .map(|r| {
            // Boxed: the row's future is kilobytes, and the stream moves it several
            // times (into its task, among others) where a box moves a pointer.
            let reused = spare.borrow_mut().pop();
            let mut fut = match reused {
                Some(mut b) => {
                    b.set(each(r));
                    b
                }
                None => Box::pin(each(r)),
            };
            async move {
                // A row that had not started when the signal came never will.
                if crate::run::interrupt::requested().is_some() {
                    return (r, None, fut);
                }
                let out = fut.as_mut().await;
                (r, Some(out), fut)
            }
        })
        .buffered(concurrency.max(1));
    while let Some((row, result, done)) = results.next().await {
        spare.borrow_mut().push(done);
        let result = match result {
            None | Some(Err(Error::Interrupted { cut: false, .. })) => {
                not_run += 1;
                continue;
            }
            Some(r) => r?,
        };
        if !result.ok {
            failed += 1;
            if let Some(bar) = &bar {
                bar.set_message(format!("{failed} failed"));
            }
        }
        on_result(row, &result)?;
        if let Some(bar) = &bar {
            bar.inc(1);
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(Summary {
        rows: rows.len(),
        failed,
        not_run,
        interrupted: crate::run::interrupt::requested(),
        elapsed: started.elapsed(),
    })
}

/// The rows an earlier run's output (`--resume OUT.jsonl`) says succeeded: lines with
/// `"ok": true` and a `row` number. Lines that do not parse (the last one of a killed
/// run may be cut short) are passed over.
pub fn succeeded_rows(output: &[u8]) -> std::collections::HashSet<usize> {
    output
        .split(|b| *b == b'\n')
        .filter_map(|line| serde_json::from_slice::<Value>(line).ok())
        .filter(|v| v["ok"] == Value::Bool(true))
        .filter_map(|v| v["row"].as_u64().and_then(|n| usize::try_from(n).ok()))
        .collect()
}

/// A bar on stderr when it is a terminal; none otherwise (not even a hidden one,
/// whose updates still cost a lock per row).
fn progress_bar(len: usize, show: bool) -> Option<indicatif::ProgressBar> {
    if !show || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len as u64),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} rows, {msg} {rate} ETA {eta}")
    {
        // indicatif's own {per_sec} prints four decimals (`173.1179/s`).
        bar.set_style(style.with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{}", rate(state.per_sec()));
            },
        ));
    }
    bar.set_message("0 failed");
    Some(bar)
}

/// Rows per second as a person reads it: `173.1/s`, `12.5/s`, `0.25/s`.
pub fn rate(per_sec: f64) -> String {
    if !per_sec.is_finite() || per_sec <= 0.0 {
        "0/s".to_string()
    } else if per_sec < 1.0 {
        format!("{per_sec:.2}/s")
    } else {
        format!("{per_sec:.1}/s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_print_at_a_sensible_precision() {
        assert_eq!(rate(173.117_9), "173.1/s");
        assert_eq!(rate(0.254), "0.25/s");
        assert_eq!(rate(f64::NAN), "0/s");
    }

    fn load(name: &str, text: &str) -> Result<DataSet, InputError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        DataSet::load(&p)
    }

    #[test]
    fn csv_rows_become_string_variables() {
        let set = load("a.csv", "name,family_id\nPump 1,7\n\"Valve, big\",8\n").unwrap();
        assert_eq!(set.format, DataFormat::Csv);
        assert_eq!(set.rows.len(), 2);
        assert_eq!(set.rows[1].vars["name"], "Valve, big");
        assert_eq!(set.rows[1].vars["family_id"], "8");
    }

    #[test]
    fn csv_variables_keep_the_columns_order_and_a_failed_files_row_number() {
        // Filled into a copy of the first row's names: the order is the header's, and a
        // `_row` column is taken out as the row's number.
        let set = load("f.csv", "_row,zeta,alpha,mid\n7,z1,a1,\n9,z2,a2,m2\n").unwrap();
        let names: Vec<&str> = set.rows[0].vars.keys().map(String::as_str).collect();
        assert_eq!(names, ["zeta", "alpha", "mid"]);
        assert_eq!(
            set.rows.iter().map(|r| r.number).collect::<Vec<_>>(),
            [7, 9]
        );
        assert_eq!(set.rows[0].vars["mid"], "");
        assert_eq!(set.rows[1].vars["alpha"], "a2");
        // A name given twice: the last field of that name is the variable.
        let set = load("r.csv", "a,b,a\n1,2,3\n").unwrap();
        assert_eq!(set.rows[0].vars["a"], "3");
        assert_eq!(set.rows[0].vars.len(), 2);
    }

    #[test]
    fn bad_rows_name_their_line() {
        let e = load("a.csv", "a,b\n1,2\n3\n").unwrap_err();
        assert_eq!(e.place().map(|p| p.line), Some(3));
        assert!(e.to_string().contains("1 fields; the header has 2"), "{e}");
        let e = load("a.jsonl", "{\"a\":1}\n\n{\"a\":\n").unwrap_err();
        assert_eq!(e.place().map(|p| p.line), Some(3));
        let e = load("a.jsonl", "{\"a\":1}\n[1]\n").unwrap_err();
        assert!(e.to_string().contains("must be a JSON object"));
        let e = load("a.json", "[{\"a\":1},\n {\"a\": }]").unwrap_err();
        assert_eq!(e.place().map(|p| p.line), Some(2));
    }

    #[test]
    fn failed_rows_are_written_back_in_the_input_format() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [
            ("d.csv", "name,n\na,1\n\"b,c\",2\nd,3\n"),
            ("d.jsonl", "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n"),
            ("d.json", "[{\"n\":1},{\"n\":2},{\"n\":3}]"),
        ] {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            let set = DataSet::load(&p).unwrap();
            let out = dir.path().join(format!("failed-{name}"));
            set.write_rows(&out, &[&set.rows[1]]).unwrap();
            let again = DataSet::load(&out).unwrap();
            assert_eq!(again.rows.len(), 1, "{name}");
            assert_eq!(again.rows[0].vars, set.rows[1].vars, "{name}");
        }
    }

    #[test]
    fn csv_rows_are_written_back_as_read_whatever_their_columns() {
        let dir = tempfile::tempdir().unwrap();
        for (text, want) in [
            // Distinct names: the fields come back from the variables.
            (
                "name,n\n\"b,c\",2\nd,\n",
                "_row,name,n\n1,\"b,c\",2\n2,d,\n",
            ),
            // A repeated name keeps one variable, but both fields as read.
            ("a,a,b\n1,2,3\n", "_row,a,a,b\n1,1,2,3\n"),
            // A `_row` column (a --failed file) is written back as read.
            ("_row,name\n 7 ,x\n9,y\n", "_row,name\n 7 ,x\n9,y\n"),
        ] {
            let p = dir.path().join("in.csv");
            std::fs::write(&p, text).unwrap();
            let set = DataSet::load(&p).unwrap();
            let out = dir.path().join("failed.csv");
            let all: Vec<&Row> = set.rows.iter().collect();
            set.write_rows(&out, &all).unwrap();
            assert_eq!(std::fs::read_to_string(&out).unwrap(), want, "{text}");
        }
    }
}
