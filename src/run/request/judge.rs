//! What a request's answer is judged by: its status against `expect.status`, the
//! other expectations, and the values `extract` takes from its JSON body (in one pass
//! for a large body nobody shows).

use serde_json::Value;

use crate::expect::assert::{self, Checked};
use crate::expect::extract;
use crate::http::Exchange;
use crate::project::PreparedRequest;
use crate::project::model::request::StatusSet;

/// The body's text if it may be JSON: a JSON content type, or it starts like JSON.
fn json_text(ex: &Exchange) -> Option<&[u8]> {
    let looks_json = ex.is_json() || matches!(ex.body.first(), Some(b'{' | b'['));
    (!ex.body.is_empty() && looks_json).then_some(&ex.body[..])
}

pub(super) fn parse_json_body(ex: &Exchange) -> Option<Value> {
    serde_json::from_slice(json_text(ex)?).ok()
}

/// From this size on, a body nobody shows is not parsed into a tree: `extract` and
/// `expect.jsonpath` read it in one pass each (`Path::extract_json`), so its memory is
/// the text and what the paths select.
pub(super) const ONE_PASS_MIN: usize = 1024 * 1024;

/// `extract` and `expect` on a large body nobody shows, without its tree.
pub(super) fn extract_one_pass(
    req: &PreparedRequest,
    ex: &Exchange,
) -> (Option<Value>, Vec<Checked>, Vec<String>) {
    let text = json_text(ex).unwrap_or(b"");
    let checks = check_expect(req, ex, None, true);
    let mut failures = failed(&checks);
    let mut unreadable = false;
    let extracted = extract_object(req, |path| {
        path.extract_json(text).unwrap_or_else(|| {
            unreadable = true;
            Value::Null
        })
    });
    if unreadable && status_failure(req, ex).is_none() {
        failures.push(not_json(req, ex));
        return (None, checks, failures);
    }
    (extracted, checks, failures)
}

/// Every expectation but `status` of `req`, checked against `ex`.
pub(super) fn check_expect(
    req: &PreparedRequest,
    ex: &Exchange,
    json: Option<&Value>,
    one_pass: bool,
) -> Vec<Checked> {
    if req.expect.is_empty() {
        return Vec::new();
    }
    let response = assert::Response {
        headers: &ex.headers,
        body: &ex.body,
        json,
        one_pass,
        elapsed_ms: u64::try_from(ex.elapsed.as_millis()).unwrap_or(u64::MAX),
    };
    assert::check_response(&req.expect, &response)
}

/// The failures of `checks`, each in full.
pub(super) fn failed(checks: &[Checked]) -> Vec<String> {
    checks
        .iter()
        .flat_map(|c| c.failures.iter().map(|f| f.message.clone()))
        .collect()
}

/// Why `extract` has nothing to read in `ex`'s body (which did not parse as JSON).
pub(super) fn not_json(req: &PreparedRequest, ex: &Exchange) -> String {
    let why = match std::str::from_utf8(&ex.body) {
        Err(e) => format!("not UTF-8 at byte {}", e.valid_up_to()),
        Ok(text) if text.trim().is_empty() => "it is empty".to_string(),
        Ok(text) => match serde_json::from_str::<serde::de::IgnoredAny>(text) {
            Err(e) => e.to_string(),
            Ok(_) => "it is not JSON".to_string(),
        },
    };
    format!(
        "{}: the body is not valid JSON ({why}), so `extract` has nothing to read",
        req.source.path.display()
    )
}

/// The `extract` object of `req`, each path's value from `value_of`; `None` when the
/// file extracts nothing.
pub(super) fn extract_object(
    req: &PreparedRequest,
    mut value_of: impl FnMut(&extract::Path) -> Value,
) -> Option<Value> {
    if req.extract.is_empty() {
        return None;
    }
    let map = req
        .extract
        .iter()
        .map(|(name, path)| (name.clone(), value_of(path)))
        .collect();
    Some(Value::Object(map))
}

/// The status expectation of `req` on `ex`, as an assertion of the report.
pub(super) fn status_check(req: &PreparedRequest, ex: &Exchange) -> Checked {
    let place = status_place(req);
    let failures = status_failure(req, ex)
        .map(|message| assert::Failure {
            predicate: "status".into(),
            expected: wanted_status(req),
            actual: ex.status.to_string(),
            message,
        })
        .into_iter()
        .collect();
    // Put together in one allocation: this runs for every request of a bulk run.
    let mut name = String::with_capacity(16);
    name.push_str("status ");
    write_wanted_status(req, &mut name);
    Checked {
        place,
        name,
        failures,
    }
}

/// What the request expects of the status, in words.
fn wanted_status(req: &PreparedRequest) -> String {
    let mut words = String::new();
    write_wanted_status(req, &mut words);
    words
}

/// [`wanted_status`], written at the end of `out`.
fn write_wanted_status(req: &PreparedRequest, out: &mut String) {
    use std::fmt::Write as _;
    match req
        .file
        .expect
        .as_ref()
        .and_then(|e| e.status.as_ref())
        .map(|s| &s.value)
    {
        Some(StatusSet::One(s)) => {
            let _ = write!(out, "{s}");
        }
        Some(StatusSet::Many(list)) => {
            for (i, s) in list.iter().enumerate() {
                if i > 0 {
                    out.push_str(" or ");
                }
                let _ = write!(out, "{s}");
            }
        }
        None => out.push_str("2xx"),
    }
}

/// Why `ex`'s status fails the request's expectation, if it does.
pub(super) fn status_failure(req: &PreparedRequest, ex: &Exchange) -> Option<String> {
    let expected = req.file.expect.as_ref().and_then(|e| e.status.as_ref());
    let ok = match expected {
        Some(set) => set.value.contains(ex.status),
        None => (200..300).contains(&ex.status),
    };
    (!ok).then(|| {
        format!(
            "{}: status {} (expected {})",
            status_place(req),
            ex.status,
            wanted_status(req)
        )
    })
}

/// The request sends a GraphQL operation, whose answers carry their errors in
/// the body.
pub(super) fn is_graphql(req: &PreparedRequest) -> bool {
    req.file
        .body
        .as_ref()
        .is_some_and(|b| b.value.graphql.is_some())
}

/// A GraphQL answer's `errors` (non-empty) as a failure naming the first one's
/// message, unless the file's `expect.jsonpath` looks at `$.errors` itself.
pub(super) fn graphql_failure(req: &PreparedRequest, body: Option<&Value>) -> Option<String> {
    if !is_graphql(req) {
        return None;
    }
    let expects_errors = req.file.expect.as_ref().is_some_and(|e| {
        e.jsonpath.keys().any(|k| {
            ["$.errors", "$['errors']", "$[\"errors\"]"]
                .iter()
                .any(|p| k.starts_with(p))
        })
    });
    let errors = match body?.get("errors")? {
        Value::Array(errors) if !errors.is_empty() && !expects_errors => errors,
        _ => return None,
    };
    let message = match errors[0].get("message") {
        Some(Value::String(m)) => m.clone(),
        Some(other) => other.to_string(),
        None => errors[0].to_string(),
    };
    let more = match errors.len() {
        1 => String::new(),
        n => format!(" (and {} more)", n - 1),
    };
    Some(format!(
        "{}: GraphQL error: {message}{more}",
        req.source.path.display()
    ))
}

/// Where a status failure points: `expect.status`, or the request's `url` when the
/// file expects no status.
fn status_place(req: &PreparedRequest) -> crate::project::place::Place {
    match req.file.expect.as_ref().and_then(|e| e.status.as_ref()) {
        Some(s) => match &req.expect_from {
            Some(flow) => crate::project::place::Place::new(
                flow,
                s.referenced.line() as u32,
                s.referenced.column() as u32,
            ),
            None => req.source.place(s),
        },
        None => req.source.place(&req.file.url),
    }
}
