//! Assertions: the predicates of `expect` (SPEC §5), compiled once at load and
//! checked against a response, and JSON Schema checks. Pure: values in, results out;
//! loading a schema file is the caller's business.

use std::sync::Arc;

use regex::Regex;
use serde_json::Value;

use crate::expect::extract;
use crate::project::place::Place;

/// Every predicate name `expect` knows.
pub const PREDICATES: &[&str] = &[
    "equals",
    "not_equals",
    "gt",
    "gte",
    "lt",
    "lte",
    "contains",
    "not_contains",
    "starts_with",
    "ends_with",
    "matches",
    "exists",
    "type",
    "length",
    "one_of",
    "each",
    "not",
];

/// The JSON types `type:` names.
const TYPES: &[&str] = &[
    "string", "number", "integer", "boolean", "array", "object", "null",
];

/// How long an expected or actual value may be in a message before it is cut.
const SHOWN_CHARS: usize = 120;

/// One compiled predicate.
#[derive(Debug, Clone)]
pub enum Predicate {
    Equals(Value),
    NotEquals(Value),
    Order(Order, Value),
    Contains(Value),
    NotContains(Value),
    StartsWith(String),
    EndsWith(String),
    Matches(Regex),
    Exists(bool),
    Type(String),
    Length(Vec<Predicate>),
    OneOf(Vec<Value>),
    Each(Vec<Predicate>),
    /// Every one of these must fail.
    Not(Vec<Predicate>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Gt,
    Gte,
    Lt,
    Lte,
}

impl Order {
    fn name(self) -> &'static str {
        match self {
            Order::Gt => "gt",
            Order::Gte => "gte",
            Order::Lt => "lt",
            Order::Lte => "lte",
        }
    }

    fn holds(self, o: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Order::Gt => o == Greater,
            Order::Gte => o != Less,
            Order::Lt => o == Less,
            Order::Lte => o != Greater,
        }
    }
}

impl Predicate {
    fn name(&self) -> &'static str {
        match self {
            Predicate::Equals(_) => "equals",
            Predicate::NotEquals(_) => "not_equals",
            Predicate::Order(o, _) => o.name(),
            Predicate::Contains(_) => "contains",
            Predicate::NotContains(_) => "not_contains",
            Predicate::StartsWith(_) => "starts_with",
            Predicate::EndsWith(_) => "ends_with",
            Predicate::Matches(_) => "matches",
            Predicate::Exists(_) => "exists",
            Predicate::Type(_) => "type",
            Predicate::Length(_) => "length",
            Predicate::OneOf(_) => "one_of",
            Predicate::Each(_) => "each",
            Predicate::Not(_) => "not",
        }
    }

    /// What this predicate expects, as shown in a failure.
    fn expected(&self) -> String {
        match self {
            Predicate::Equals(v)
            | Predicate::NotEquals(v)
            | Predicate::Order(_, v)
            | Predicate::Contains(v)
            | Predicate::NotContains(v) => show(v),
            Predicate::StartsWith(s) | Predicate::EndsWith(s) | Predicate::Type(s) => {
                show(&Value::String(s.clone()))
            }
            Predicate::Matches(r) => show(&Value::String(r.as_str().to_string())),
            Predicate::Exists(b) => b.to_string(),
            Predicate::OneOf(list) => show(&Value::Array(list.clone())),
            Predicate::Length(p) => match p.as_slice() {
                [Predicate::Equals(n)] => show(n),
                _ => describe(p),
            },
            Predicate::Each(p) | Predicate::Not(p) => describe(p),
        }
    }
}

/// `{gte: 1, lte: 9}` as text.
fn describe(preds: &[Predicate]) -> String {
    let parts: Vec<String> = preds
        .iter()
        .map(|p| format!("{}: {}", p.name(), p.expected()))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// Compiles what the user wrote for one assertion: a map whose keys are predicates
/// (all of them must hold), or any other value, which means `equals`. A map with
/// no predicate key is a literal to compare with; a map that mixes predicates with
/// other keys is an error naming the unknown one.
pub fn compile(v: &Value) -> Result<Vec<Predicate>, String> {
    let Value::Object(map) = v else {
        return Ok(vec![Predicate::Equals(v.clone())]);
    };
    if !map.keys().any(|k| PREDICATES.contains(&k.as_str())) {
        return Ok(vec![Predicate::Equals(v.clone())]);
    }
    let mut out = Vec::with_capacity(map.len());
    for (k, arg) in map {
        out.push(compile_one(k, arg)?);
    }
    Ok(out)
}

fn compile_one(name: &str, arg: &Value) -> Result<Predicate, String> {
    let string = |what: &str| -> Result<String, String> {
        match arg {
            Value::String(s) => Ok(s.clone()),
            other => Err(format!("`{name}` takes {what}, not {}", show(other))),
        }
    };
    Ok(match name {
        "equals" => Predicate::Equals(arg.clone()),
        "not_equals" => Predicate::NotEquals(arg.clone()),
        "gt" | "gte" | "lt" | "lte" => {
            let order = match name {
                "gt" => Order::Gt,
                "gte" => Order::Gte,
                "lt" => Order::Lt,
                _ => Order::Lte,
            };
            match arg {
                Value::Number(_) => {}
                Value::String(s) if rfc3339(s).is_some() => {}
                other => {
                    return Err(format!(
                        "`{name}` takes a number or an RFC 3339 date, not {}",
                        show(other)
                    ));
                }
            }
            Predicate::Order(order, arg.clone())
        }
        "contains" => Predicate::Contains(arg.clone()),
        "not_contains" => Predicate::NotContains(arg.clone()),
        "starts_with" => Predicate::StartsWith(string("a string")?),
        "ends_with" => Predicate::EndsWith(string("a string")?),
        "matches" => {
            let text = string("a regular expression")?;
            let re = Regex::new(&text).map_err(|e| {
                let why = e.to_string();
                let last = why.lines().last().unwrap_or("").trim();
                let last = last.strip_prefix("error: ").unwrap_or(last);
                format!(
                    "`matches`: invalid regular expression {}: {last}",
                    show(arg)
                )
            })?;
            Predicate::Matches(re)
        }
        "exists" => match arg {
            Value::Bool(b) => Predicate::Exists(*b),
            other => return Err(format!("`exists` takes true or false, not {}", show(other))),
        },
        "type" => {
            let t = string("a type name")?;
            if !TYPES.contains(&t.as_str()) {
                return Err(format!(
                    "`type`: unknown type `{t}` (expected one of {})",
                    TYPES.join(", ")
                ));
            }
            Predicate::Type(t)
        }
        "length" => match arg {
            Value::Number(n) if n.as_u64().is_some() => {
                Predicate::Length(vec![Predicate::Equals(arg.clone())])
            }
            Value::Object(_) => Predicate::Length(predicates_only(name, arg)?),
            other => {
                return Err(format!(
                    "`length` takes a whole number or a map of predicates, not {}",
                    show(other)
                ));
            }
        },
        "one_of" => match arg {
            Value::Array(list) => Predicate::OneOf(list.clone()),
            other => return Err(format!("`one_of` takes a list, not {}", show(other))),
        },
        "each" => Predicate::Each(compile(arg)?),
        "not" => Predicate::Not(predicates_only(name, arg)?),
        other => {
            return Err(format!(
                "unknown predicate `{other}` (expected one of {})",
                PREDICATES.join(", ")
            ));
        }
    })
}

/// A map that must be predicates (under `length` and `not`, a literal makes no sense).
fn predicates_only(name: &str, arg: &Value) -> Result<Vec<Predicate>, String> {
    let Value::Object(map) = arg else {
        return Err(format!("`{name}` takes a map of predicates"));
    };
    let mut out = Vec::new();
    for (k, v) in map {
        out.push(compile_one(k, v)?);
    }
    Ok(out)
}

/// Why a value failed one predicate.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// The predicate, with the way down for nested ones (`length.lte`, `each[3].one_of`).
    pub predicate: String,
    pub expected: String,
    pub actual: String,
    /// For objects and lists compared with `equals`: where they differ.
    pub diff: Option<String>,
}

/// Checks `actual` (`None`: the path selected nothing, the header is absent)
/// against every predicate; every failure is returned.
pub fn check(preds: &[Predicate], actual: Option<&Value>) -> Vec<Mismatch> {
    let null = Value::Null;
    check_present(preds, actual.unwrap_or(&null), actual.is_some())
}

/// [`check`] of `v`, which is there or not (`present`): a path that selects no node
/// still gives a value to compare (null, or an empty list).
pub fn check_present(preds: &[Predicate], v: &Value, present: bool) -> Vec<Mismatch> {
    preds
        .iter()
        .filter_map(|p| check_one(p, v, present))
        .collect()
}

fn fail(p: &Predicate, actual: &Value) -> Mismatch {
    Mismatch {
        predicate: p.name().to_string(),
        expected: p.expected(),
        actual: show(actual),
        diff: None,
    }
}

fn check_one(p: &Predicate, v: &Value, present: bool) -> Option<Mismatch> {
    let ok = match p {
        Predicate::Exists(want) => {
            let exists = present;
            if exists != *want {
                return Some(Mismatch {
                    predicate: "exists".into(),
                    expected: want.to_string(),
                    actual: if exists { show(v) } else { "nothing".into() },
                    diff: None,
                });
            }
            true
        }
        Predicate::Equals(want) => {
            if !json_eq(v, want) {
                let mut m = fail(p, v);
                m.diff = diff(want, v);
                return Some(m);
            }
            true
        }
        Predicate::NotEquals(want) => !json_eq(v, want),
        Predicate::Order(order, want) => match compare(v, want) {
            Some(o) => order.holds(o),
            None => {
                let mut m = fail(p, v);
                m.actual = format!("{} (not comparable)", m.actual);
                return Some(m);
            }
        },
        Predicate::Contains(want) => contains(v, want),
        Predicate::NotContains(want) => !contains(v, want),
        Predicate::StartsWith(s) => v.as_str().is_some_and(|t| t.starts_with(s.as_str())),
        Predicate::EndsWith(s) => v.as_str().is_some_and(|t| t.ends_with(s.as_str())),
        Predicate::Matches(re) => v.as_str().is_some_and(|t| re.is_match(t)),
        Predicate::Type(t) => type_name_holds(t, v),
        Predicate::OneOf(list) => list.iter().any(|w| json_eq(v, w)),
        Predicate::Length(inner) => {
            let Some(n) = length(v) else {
                let mut m = fail(p, v);
                m.actual = format!("{} (which has no length)", m.actual);
                return Some(m);
            };
            let first = check(inner, Some(&Value::from(n))).into_iter().next()?;
            let predicate = match first.predicate.as_str() {
                "equals" => "length".to_string(),
                other => format!("length.{other}"),
            };
            return Some(Mismatch { predicate, ..first });
        }
        Predicate::Each(inner) => {
            let Value::Array(items) = v else {
                let mut m = fail(p, v);
                m.actual = format!("{} (not a list)", m.actual);
                return Some(m);
            };
            for (i, item) in items.iter().enumerate() {
                if let Some(first) = check(inner, Some(item)).into_iter().next() {
                    return Some(Mismatch {
                        predicate: format!("each[{i}].{}", first.predicate),
                        ..first
                    });
                }
            }
            true
        }
        Predicate::Not(inner) => {
            if let Some(held) = inner.iter().find(|q| check_one(q, v, present).is_none()) {
                return Some(Mismatch {
                    predicate: format!("not.{}", held.name()),
                    expected: format!("not {}", held.expected()),
                    actual: show(v),
                    diff: None,
                });
            }
            true
        }
    };
    (!ok).then(|| fail(p, v))
}

/// Equality where numbers compare by value (`1` equals `1.0`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) if x.fract() != 0.0 || y.fract() != 0.0 => x == y,
            _ => x == y || x.as_f64() == y.as_f64() && x.as_f64().is_some(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, a)| y.get(k).is_some_and(|b| json_eq(a, b)))
        }
        _ => a == b,
    }
}

/// Numbers by value, RFC 3339 dates as instants; anything else is not comparable.
fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(rfc3339(x)?.cmp(&rfc3339(y)?)),
        _ => None,
    }
}

fn contains(haystack: &Value, needle: &Value) -> bool {
    match (haystack, needle) {
        (Value::String(h), Value::String(n)) => h.contains(n.as_str()),
        (Value::Array(items), n) => items.iter().any(|i| json_eq(i, n)),
        (Value::Object(map), Value::String(key)) => map.contains_key(key),
        _ => false,
    }
}

fn length(v: &Value) -> Option<usize> {
    match v {
        Value::String(s) => Some(s.chars().count()),
        Value::Array(a) => Some(a.len()),
        Value::Object(o) => Some(o.len()),
        _ => None,
    }
}

fn type_name_holds(t: &str, v: &Value) -> bool {
    match t {
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        "boolean" => v.is_boolean(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        "null" => v.is_null(),
        _ => false,
    }
}

/// An RFC 3339 date-time (or full date) as nanoseconds since the epoch.
pub fn rfc3339(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    if b.len() == 10 {
        return Some(i128::from(days) * 86_400 * 1_000_000_000);
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 20 || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut nanos: i64 = 0;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let frac = s.get(start..i)?;
        if frac.is_empty() {
            return None;
        }
        let digits: String = frac.chars().chain(std::iter::repeat('0')).take(9).collect();
        nanos = digits.parse().ok()?;
    }
    let offset = match s.get(i..)? {
        "Z" | "z" => 0,
        tz if tz.len() == 6
            && matches!(tz.as_bytes()[0], b'+' | b'-')
            && tz.as_bytes()[3] == b':' =>
        {
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6)?;
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            sign * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset;
    Some(i128::from(secs) * 1_000_000_000 + i128::from(nanos))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Compact JSON, cut to a readable length.
pub fn show(v: &Value) -> String {
    cut(&v.to_string())
}

fn cut(s: &str) -> String {
    if s.chars().count() <= SHOWN_CHARS {
        return s.to_string();
    }
    let head: String = s.chars().take(SHOWN_CHARS).collect();
    format!("{head}…")
}

/// Where two objects or lists differ, a few places at most: `.name: "a" ≠ "b"`.
fn diff(want: &Value, got: &Value) -> Option<String> {
    const MAX: usize = 5;
    fn walk(path: &str, want: &Value, got: &Value, out: &mut Vec<String>) {
        if out.len() > MAX {
            return;
        }
        match (want, got) {
            (Value::Object(w), Value::Object(g)) => {
                for (k, wv) in w {
                    let p = format!("{path}.{k}");
                    match g.get(k) {
                        None => out.push(format!("{p} missing")),
                        Some(gv) => walk(&p, wv, gv, out),
                    }
                }
                for k in g.keys().filter(|k| !w.contains_key(*k)) {
                    out.push(format!("{path}.{k} not expected"));
                }
            }
            (Value::Array(w), Value::Array(g)) if w.len() == g.len() => {
                for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                    walk(&format!("{path}[{i}]"), wv, gv, out);
                }
            }
            (Value::Array(w), Value::Array(g)) => {
                out.push(format!("{path}: {} items, expected {}", g.len(), w.len()));
            }
            _ if json_eq(want, got) => {}
            _ => out.push(format!(
                "{}: {} ≠ {}",
                if path.is_empty() { "." } else { path },
                show(got),
                show(want)
            )),
        }
    }
    if !(want.is_object() || want.is_array()) || !(got.is_object() || got.is_array()) {
        return None;
    }
    let mut out = Vec::new();
    walk("", want, got, &mut out);
    if out.len() > MAX {
        out.truncate(MAX);
        out.push("…".into());
    }
    (!out.is_empty()).then(|| out.join("; "))
}

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

/// A JSON Schema compiled once, and where the file named it.
#[derive(Clone)]
pub struct Schema {
    pub place: Place,
    /// The schema file (with `#pointer` for one inside an OpenAPI document).
    pub name: String,
    pub validator: Arc<jsonschema::Validator>,
}

impl std::fmt::Debug for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Schema").field("name", &self.name).finish()
    }
}

/// `schema` compiled, as `expect.schema` compiles it.
pub fn validator(schema: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::options()
        .build(schema)
        .map_err(|e| e.to_string())
}

impl Schema {
    /// Compiles `schema` (its `$schema` picks the draft; 2020-12 when absent).
    pub fn compile(place: Place, name: String, schema: &Value) -> Result<Schema, String> {
        let validator =
            validator(schema).map_err(|e| format!("invalid JSON Schema {name}: {e}"))?;
        Ok(Schema {
            place,
            name,
            validator: Arc::new(validator),
        })
    }
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
    pub headers: &'a [(String, String)],
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

fn check_assertion(a: &Assertion, r: &Response<'_>) -> Checked {
    let subject = a.subject.name();
    let (actual, missing_json) = match &a.subject {
        Subject::Path(p) => match r.json {
            Some(body) => {
                let nodes = p.nodes(body);
                let present = !nodes.is_empty();
                let v = if p.is_singular() {
                    nodes.first().map_or(Value::Null, |v| (*v).clone())
                } else {
                    Value::Array(nodes.into_iter().cloned().collect())
                };
                (Some((v, present)), false)
            }
            None if r.one_pass => match p.extract_json(r.body) {
                Some(v) => {
                    let present = match &v {
                        Value::Array(list) if !p.is_singular() => !list.is_empty(),
                        Value::Null => false,
                        _ => true,
                    };
                    (Some((v, present)), false)
                }
                None => (None, true),
            },
            None => (None, true),
        },
        Subject::Header(name) => {
            let values: Vec<&str> = r
                .headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
                .collect();
            let present = !values.is_empty();
            let v = if present {
                Value::String(values.join(", "))
            } else {
                Value::Null
            };
            (Some((v, present)), false)
        }
        Subject::Body => (
            Some((
                Value::String(String::from_utf8_lossy(r.body).into_owned()),
                true,
            )),
            false,
        ),
    };
    let name = format!("{subject} {}", describe(&a.predicates));
    if missing_json {
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
    }
    let (v, present) = actual.unwrap_or((Value::Null, false));
    let failures = check_present(&a.predicates, &v, present)
        .into_iter()
        .map(|m| {
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
        })
        .collect();
    Checked {
        place: a.place.clone(),
        name,
        failures,
    }
}

fn check_schema(schema: &Schema, json: Option<&Value>) -> Checked {
    const MAX_SHOWN: usize = 10;
    let name = format!("schema {}", schema.name);
    let place = schema.place.clone();
    let Some(body) = json else {
        return Checked {
            name,
            failures: vec![Failure {
                predicate: "schema".into(),
                expected: "a JSON body".into(),
                actual: "a body that is not JSON".into(),
                message: format!(
                    "{place}: expected a JSON body to check against {}",
                    schema.name
                ),
            }],
            place,
        };
    };
    let mut failures = Vec::new();
    let mut errors = schema.validator.iter_errors(body);
    for e in errors.by_ref().take(MAX_SHOWN) {
        let at = e.instance_path().to_string();
        let at = if at.is_empty() { "/".to_string() } else { at };
        let rule = e.schema_path().to_string();
        let why = cut(&e.to_string());
        failures.push(Failure {
            predicate: format!("schema {rule}"),
            expected: rule.clone(),
            actual: why.clone(),
            message: format!(
                "{place}: the body does not match {} at {at}: {why} (rule {rule})",
                schema.name
            ),
        });
    }
    let more = errors.count();
    if more > 0 {
        failures.push(Failure {
            predicate: "schema".into(),
            expected: String::new(),
            actual: format!("{more} more errors"),
            message: format!(
                "{place}: … and {more} more places that do not match {}",
                schema.name
            ),
        });
    }
    Checked {
        place,
        name,
        failures,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn holds(pred: Value, actual: Value) -> bool {
        check(&compile(&pred).unwrap(), Some(&actual)).is_empty()
    }

    #[test]
    fn predicates_hold_and_fail_as_documented() {
        let cases = [
            (json!(250), json!(250), true),
            (json!(250), json!(250.0), true),
            (json!({"name": "a"}), json!({"name": "a"}), true),
            (json!({"equals": {"gt": 1}}), json!({"gt": 1}), true),
            (json!({"not_equals": 3}), json!(4), true),
            (json!({"gte": 1}), json!(1), true),
            (json!({"gt": 1}), json!(1), false),
            (json!({"lt": 10, "gte": 2}), json!(5), true),
            (json!({"lte": 100}), json!("x"), false),
            (
                json!({"gt": "2024-01-01T00:00:00Z"}),
                json!("2024-01-01T01:00:00+00:30"),
                true,
            ),
            (
                json!({"lt": "2024-01-01"}),
                json!("2023-12-31T23:59:59.5Z"),
                true,
            ),
            (json!({"contains": "ump"}), json!("Pump 12"), true),
            (json!({"contains": 2}), json!([1, 2]), true),
            (json!({"contains": "id"}), json!({"id": 1}), true),
            (json!({"not_contains": 3}), json!([1, 2]), true),
            (json!({"starts_with": "Pu"}), json!("Pump"), true),
            (json!({"ends_with": "mp"}), json!("Pump"), true),
            (json!({"ends_with": "x"}), json!(1), false),
            (
                json!({"matches": "^application/json"}),
                json!("application/json; charset=utf-8"),
                true,
            ),
            (json!({"type": "integer"}), json!(3), true),
            (json!({"type": "integer"}), json!(3.5), false),
            (json!({"type": "null"}), json!(null), true),
            (json!({"length": 2}), json!([1, 2]), true),
            (json!({"length": {"lte": 3, "gt": 0}}), json!("abc"), true),
            (
                json!({"length": {"lte": 1}}),
                json!({"a": 1, "b": 2}),
                false,
            ),
            (
                json!({"one_of": ["active", "archived"]}),
                json!("active"),
                true,
            ),
            (
                json!({"each": {"one_of": ["active", "archived"]}}),
                json!(["active", "gone"]),
                false,
            ),
            (json!({"each": {"type": "string"}}), json!(["a", "b"]), true),
            (json!({"each": 1}), json!([1, 1]), true),
            (
                json!({"not": {"equals": 0, "type": "null"}}),
                json!(4),
                true,
            ),
            (
                json!({"not": {"equals": 0, "type": "null"}}),
                json!(0),
                false,
            ),
        ];
        for (pred, actual, want) in cases {
            assert_eq!(
                holds(pred.clone(), actual.clone()),
                want,
                "{pred} on {actual}"
            );
        }
    }

    #[test]
    fn exists_tells_absent_from_null() {
        let yes = compile(&json!({"exists": true})).unwrap();
        let no = compile(&json!({"exists": false})).unwrap();
        assert!(check(&yes, Some(&Value::Null)).is_empty());
        assert_eq!(check(&yes, None).len(), 1);
        assert!(check(&no, None).is_empty());
    }

    #[test]
    fn nested_failures_say_where() {
        let p = compile(&json!({"each": {"one_of": ["active", "archived"]}})).unwrap();
        let m = check(&p, Some(&json!(["active", "gone"]))).remove(0);
        assert_eq!(m.predicate, "each[1].one_of");
        assert_eq!(m.expected, r#"["active","archived"]"#);
        assert_eq!(m.actual, r#""gone""#);
        let p = compile(&json!({"length": {"lte": 1}})).unwrap();
        let m = check(&p, Some(&json!([1, 2, 3]))).remove(0);
        assert_eq!(
            (m.predicate.as_str(), m.actual.as_str()),
            ("length.lte", "3")
        );
    }

    #[test]
    fn every_failure_is_reported() {
        let p = compile(&json!({"gt": 10, "type": "string", "one_of": [1]})).unwrap();
        assert_eq!(check(&p, Some(&json!(5))).len(), 3);
    }

    #[test]
    fn objects_get_a_short_diff_and_long_values_are_cut() {
        let p = compile(&json!({"equals": {"a": 1, "b": {"c": 2}}})).unwrap();
        let m = check(&p, Some(&json!({"a": 1, "b": {"c": 3}, "d": 0}))).remove(0);
        assert_eq!(m.diff.as_deref(), Some(".b.c: 3 ≠ 2; .d not expected"));
        let long = Value::String("x".repeat(500));
        assert!(show(&long).chars().count() <= SHOWN_CHARS + 1);
    }

    #[test]
    fn bad_predicates_are_refused_at_compile_time() {
        let cases = [
            (json!({"gte": 1, "lenght": 3}), "unknown predicate `lenght`"),
            (
                json!({"matches": "(unclosed"}),
                "invalid regular expression",
            ),
            (json!({"type": "text"}), "unknown type `text`"),
            (json!({"exists": "yes"}), "`exists` takes true or false"),
            (json!({"gt": "soon"}), "RFC 3339"),
            (json!({"length": -1}), "`length` takes a whole number"),
            (json!({"one_of": 1}), "`one_of` takes a list"),
        ];
        for (pred, want) in cases {
            let e = compile(&pred).unwrap_err();
            assert!(e.contains(want), "{pred}: {e}");
        }
    }

    #[test]
    fn rfc3339_reads_offsets_and_fractions() {
        assert_eq!(rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(rfc3339("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(rfc3339("1970-01-01T00:00:00.25Z"), Some(250_000_000));
        assert_eq!(rfc3339("2024-02-29"), Some(19_782 * 86_400 * 1_000_000_000));
        for bad in [
            "2024-13-01",
            "yesterday",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00Z",
        ] {
            assert_eq!(rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn schema_failures_name_the_instance_path_and_rule() {
        let schema =
            json!({"type": "object", "required": ["id"], "properties": {"n": {"type": "integer"}}});
        let s = Schema::compile(Place::new("r.yaml", 3, 9), "s.json".into(), &schema).unwrap();
        let c = check_schema(&s, Some(&json!({"n": "x"})));
        assert_eq!(c.failures.len(), 2, "{c:?}");
        let text: Vec<&str> = c.failures.iter().map(|f| f.message.as_str()).collect();
        assert!(
            text.iter().any(|m| m
                .starts_with("r.yaml:3:9: the body does not match s.json at /n: ")
                && m.contains("rule /properties/n/type")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|m| m.contains("at /: ") && m.contains("\"id\" is a required property")),
            "{text:?}"
        );
        assert!(check_schema(&s, Some(&json!({"id": 1, "n": 2}))).passed());
    }
}
