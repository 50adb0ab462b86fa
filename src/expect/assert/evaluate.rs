//! Checking a value against compiled predicates: every failure, with the way down
//! for nested ones and, for objects and lists, where they differ.

use serde_json::Value;

use super::date::rfc3339;
use super::predicate::{Predicate, show};

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

/// The mismatch of `actual` with `p`, said plainly.
fn fail(p: &Predicate, actual: &Value) -> Mismatch {
    Mismatch {
        predicate: p.name().to_string(),
        expected: p.expected(),
        actual: show(actual),
        diff: None,
    }
}

/// The mismatch of `v` with `p`, or `None` when `p` holds.
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
        Predicate::Length(inner) => return check_length(p, inner, v),
        Predicate::Each(inner) => return check_each(p, inner, v),
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

/// `length`: the first predicate the length of `v` fails, named `length` (for a
/// plain number) or `length.PREDICATE`.
fn check_length(p: &Predicate, inner: &[Predicate], v: &Value) -> Option<Mismatch> {
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
    Some(Mismatch { predicate, ..first })
}

/// `each`: the first item of the list `v` that fails, named `each[i].PREDICATE`.
fn check_each(p: &Predicate, inner: &[Predicate], v: &Value) -> Option<Mismatch> {
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
    None
}

/// Integers compare exactly (ids above 2^53 stay distinct); a float equals an
/// integer only when it holds that integer's value exactly.
fn number_eq(x: &serde_json::Number, y: &serde_json::Number) -> bool {
    let int = |n: &serde_json::Number| {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    };
    // A float equals an integer when it is whole and converts to it both ways.
    let float_is = |n: &serde_json::Number, i: i128| {
        n.as_f64()
            .is_some_and(|f| f.fract() == 0.0 && f as i128 == i && i as f64 == f)
    };
    match (int(x), int(y)) {
        (Some(a), Some(b)) => a == b,
        (Some(a), None) => float_is(y, a),
        (None, Some(b)) => float_is(x, b),
        (None, None) => x.as_f64() == y.as_f64(),
    }
}

/// Equality where numbers compare by value (`1` equals `1.0`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => number_eq(x, y),
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
