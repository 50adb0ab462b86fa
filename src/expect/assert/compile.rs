//! Compiling what a file wrote under `expect` into predicates, once, at load: every
//! argument is checked here, so that `runner check` finds what a run would trip on.

use regex::Regex;
use serde_json::Value;

use super::date::rfc3339;
use super::predicate::{Order, PREDICATES, Predicate, TYPES, nearest, show};

/// Compiles what the user wrote for one assertion: a map, whose keys are predicates
/// (all of them must hold), or any other value, which means `equals`. Every key of a
/// map must be a predicate: a map to compare with is written `{equals: {…}}`, so that
/// a misspelled predicate is an error rather than a silent comparison.
pub fn compile(v: &Value) -> Result<Vec<Predicate>, String> {
    let Value::Object(map) = v else {
        return Ok(vec![Predicate::Equals(v.clone())]);
    };
    if map.is_empty() {
        return Err(
            "an empty map asserts nothing; a map to compare with is written `{equals: {}}`"
                .to_string(),
        );
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
        "gt" | "gte" | "lt" | "lte" => compile_order(name, arg)?,
        "contains" => Predicate::Contains(arg.clone()),
        "not_contains" => Predicate::NotContains(arg.clone()),
        "starts_with" => Predicate::StartsWith(string("a string")?),
        "ends_with" => Predicate::EndsWith(string("a string")?),
        "matches" => Predicate::Matches(compile_regex(arg, &string("a regular expression")?)?),
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
        "length" => compile_length(name, arg)?,
        "one_of" => match arg {
            Value::Array(list) => Predicate::OneOf(list.clone()),
            other => return Err(format!("`one_of` takes a list, not {}", show(other))),
        },
        "each" => Predicate::Each(compile(arg)?),
        "not" => Predicate::Not(predicates_only(name, arg)?),
        other => return Err(unknown_predicate(other)),
    })
}

/// Why `name` is no predicate: the nearest predicate's name when one is near, else
/// the list; and how a literal map is written, which is what a map of unknown keys
/// often meant.
fn unknown_predicate(name: &str) -> String {
    let hint = match nearest(name) {
        Some(n) => format!("did you mean `{n}`?"),
        None => format!("expected one of {}", PREDICATES.join(", ")),
    };
    format!(
        "unknown predicate `{name}`; {hint} (a map to compare with is written `{{equals: {{…}}}}`)"
    )
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

/// `gt`, `gte`, `lt` or `lte`: a number, or an RFC 3339 date.
fn compile_order(name: &str, arg: &Value) -> Result<Predicate, String> {
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
    Ok(Predicate::Order(order, arg.clone()))
}

/// `matches`: `text` (which `arg` holds) as a regular expression, or why it is not one.
fn compile_regex(arg: &Value, text: &str) -> Result<Regex, String> {
    Regex::new(text).map_err(|e| {
        let why = e.to_string();
        let last = why.lines().last().unwrap_or("").trim();
        let last = last.strip_prefix("error: ").unwrap_or(last);
        format!(
            "`matches`: invalid regular expression {}: {last}",
            show(arg)
        )
    })
}

/// `length`: a whole number (the length it must be) or a map of predicates.
fn compile_length(name: &str, arg: &Value) -> Result<Predicate, String> {
    match arg {
        Value::Number(n) if n.as_u64().is_some() => {
            Ok(Predicate::Length(vec![Predicate::Equals(arg.clone())]))
        }
        Value::Object(_) => Ok(Predicate::Length(predicates_only(name, arg)?)),
        other => Err(format!(
            "`length` takes a whole number or a map of predicates, not {}",
            show(other)
        )),
    }
}
