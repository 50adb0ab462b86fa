//! Assertions: the predicates of `expect` (SPEC §5), compiled once at load and
//! checked against a response, and JSON Schema checks. Pure: values in, results out;
//! loading a schema file is the caller's business.
//!
//! `predicate` names the predicates, `compile` builds them from a file's values,
//! `check` checks a value against them, `schema` checks a body against a JSON Schema;
//! this file checks a whole response against a request's expectations.

mod compile;
mod date;
mod evaluate;
mod predicate;
mod schema;

use serde_json::Value;

pub use self::compile::compile;
pub use self::date::rfc3339;
pub use self::evaluate::{Mismatch, check, check_present};
use self::predicate::describe;
pub use self::predicate::{Order, PREDICATES, Predicate, show};
use self::schema::check_schema;
pub use self::schema::{Schema, validator};
use crate::expect::extract;
use crate::project::place::Place;

/// What an assertion looks at.
#[derive(Debug, Clone)]
pub enum Subject {
    Path(extract::Path),
    /// A header, by its lower-cased name.
    Header(String),
    Body,
}

impl Subject {
    pub fn name(&self) -> String {
        match self {
            Subject::Path(p) => p.text().to_string(),
            Subject::Header(h) => format!("header {h}"),
            Subject::Body => "body".to_string(),
        }
    }
}

/// One entry of `expect.jsonpath`, `expect.headers` or `expect.body`, compiled.
#[derive(Debug, Clone)]
pub struct Assertion {
    pub place: Place,
    pub subject: Subject,
    pub predicates: Vec<Predicate>,
}

/// Everything of `expect` but `status`, compiled.
#[derive(Debug, Clone, Default)]
pub struct Expectations {
    pub assertions: Vec<Assertion>,
    /// Milliseconds, at most, and where the file says so.
    pub duration: Option<(Place, u64)>,
    pub schema: Option<Schema>,
}

impl Expectations {
    /// Whether anything here reads the JSON body.
    pub fn needs_json(&self) -> bool {
        self.schema.is_some()
            || self
                .assertions
                .iter()
                .any(|a| matches!(a.subject, Subject::Path(_)))
    }

    pub fn is_empty(&self) -> bool {
        self.assertions.is_empty() && self.duration.is_none() && self.schema.is_none()
    }
}

/// The parts of a response assertions look at.
pub struct Response<'a> {
    pub headers: &'a [(http::HeaderName, http::HeaderValue)],
    pub body: &'a [u8],
    /// The parsed body; `None` when it is not JSON, or was not parsed (`one_pass`).
    pub json: Option<&'a Value>,
    /// The body is large and was not parsed into a tree: paths read the text in one
    /// pass each.
    pub one_pass: bool,
    pub elapsed_ms: u64,
}

/// One assertion's result: `failures` is empty when it held.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub place: Place,
    /// `$.total_items gte 1`, `header content-type`, `schema x.json`, `duration`.
    pub name: String,
    pub failures: Vec<Failure>,
}

/// One failed check, said in full.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub predicate: String,
    pub expected: String,
    pub actual: String,
    /// The whole sentence, place first.
    pub message: String,
}

impl Checked {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Checks every expectation against `r`; every result is returned, passed or not.
pub fn check_response(expect: &Expectations, r: &Response<'_>) -> Vec<Checked> {
    let mut out = Vec::new();
    if let Some((place, max)) = &expect.duration {
        let failures = if r.elapsed_ms > *max {
            vec![Failure {
                predicate: "duration".into(),
                expected: format!("at most {max} ms"),
                actual: format!("{} ms", r.elapsed_ms),
                message: format!(
                    "{place}: expected the response within {max} ms, took {} ms",
                    r.elapsed_ms
                ),
            }]
        } else {
            Vec::new()
        };
        out.push(Checked {
            place: place.clone(),
            name: format!("duration lte {max}"),
            failures,
        });
    }
    for a in &expect.assertions {
        out.push(check_assertion(a, r));
    }
    if let Some(schema) = &expect.schema {
        if r.json.is_none() && r.one_pass {
            let tree: Option<Value> = serde_json::from_slice(r.body).ok();
            out.push(check_schema(schema, tree.as_ref()));
        } else {
            out.push(check_schema(schema, r.json));
        }
    }
    out
}

/// One assertion checked against `r`.
fn check_assertion(a: &Assertion, r: &Response<'_>) -> Checked {
    let subject = a.subject.name();
    let name = format!("{subject} {}", describe(&a.predicates));
    let Some((v, present)) = actual(&a.subject, r) else {
        return Checked {
            place: a.place.clone(),
            name,
            failures: vec![Failure {
                predicate: "jsonpath".into(),
                expected: "a JSON body".into(),
                actual: "a body that is not JSON".into(),
                message: format!("{}: expected a JSON body for {subject}", a.place),
            }],
        };
    };
    let failures = check_present(&a.predicates, &v, present)
        .into_iter()
        .map(|m| failure(a, &subject, m))
        .collect();
    Checked {
        place: a.place.clone(),
        name,
        failures,
    }
}

/// What `subject` is in `r`, and whether it is there at all; `None` when it is a
/// path and the body is not JSON.
fn actual(subject: &Subject, r: &Response<'_>) -> Option<(Value, bool)> {
    match subject {
        Subject::Path(p) => match r.json {
            Some(body) => {
                let nodes = p.nodes(body);
                let present = !nodes.is_empty();
                let v = if p.is_singular() {
                    nodes.first().map_or(Value::Null, |v| (*v).clone())
                } else {
                    Value::Array(nodes.into_iter().cloned().collect())
                };
                Some((v, present))
            }
            None if r.one_pass => {
                let v = p.extract_json(r.body)?;
                let present = match &v {
                    Value::Array(list) if !p.is_singular() => !list.is_empty(),
                    Value::Null => false,
                    _ => true,
                };
                Some((v, present))
            }
            None => None,
        },
        Subject::Header(name) => {
            let values: Vec<std::borrow::Cow<'_, str>> = r
                .headers
                .iter()
                .filter(|(k, _)| k.as_str().eq_ignore_ascii_case(name))
                // As `http::header::text` reads it (expect uses nothing above it).
                .map(|(_, v)| match v.to_str() {
                    Ok(text) => std::borrow::Cow::Borrowed(text),
                    Err(_) => String::from_utf8_lossy(v.as_bytes()),
                })
                .collect();
            let present = !values.is_empty();
            let v = if present {
                Value::String(values.join(", "))
            } else {
                Value::Null
            };
            Some((v, present))
        }
        Subject::Body => Some((
            Value::String(String::from_utf8_lossy(r.body).into_owned()),
            true,
        )),
    }
}

/// A mismatch of `a` said in full, place first.
fn failure(a: &Assertion, subject: &str, m: Mismatch) -> Failure {
    let mut message = if m.predicate == "equals" {
        format!(
            "{}: expected {subject} to be {}, got {}",
            a.place, m.expected, m.actual
        )
    } else {
        format!(
            "{}: expected {subject} {} {}, got {}",
            a.place, m.predicate, m.expected, m.actual
        )
    };
    if let Some(d) = &m.diff {
        message.push_str(&format!(" (differs at {d})"));
    }
    Failure {
        predicate: m.predicate,
        expected: m.expected,
        actual: m.actual,
        message,
    }
}

#[cfg(test)]
mod tests;
