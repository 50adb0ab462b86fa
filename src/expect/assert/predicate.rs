//! The predicates of `expect` (SPEC §5): their names, what each expects, and how
//! values are shown in a failure.

use regex::Regex;
use serde_json::Value;

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

/// Names other tools give to a predicate, and the predicate they mean here.
const SYNONYMS: &[(&str, &str)] = &[
    ("greater_than", "gt"),
    ("greater", "gt"),
    ("more_than", "gt"),
    ("above", "gt"),
    ("greater_than_or_equal", "gte"),
    ("greater_or_equal", "gte"),
    ("ge", "gte"),
    ("min", "gte"),
    ("at_least", "gte"),
    ("less_than", "lt"),
    ("less", "lt"),
    ("below", "lt"),
    ("less_than_or_equal", "lte"),
    ("less_or_equal", "lte"),
    ("le", "lte"),
    ("max", "lte"),
    ("at_most", "lte"),
    ("eq", "equals"),
    ("equal", "equals"),
    ("equal_to", "equals"),
    ("is", "equals"),
    ("ne", "not_equals"),
    ("neq", "not_equals"),
    ("not_equal", "not_equals"),
    ("regex", "matches"),
    ("regexp", "matches"),
    ("pattern", "matches"),
    ("match", "matches"),
    ("in", "one_of"),
    ("any_of", "one_of"),
    ("enum", "one_of"),
    ("len", "length"),
    ("size", "length"),
    ("count", "length"),
    ("prefix", "starts_with"),
    ("suffix", "ends_with"),
    ("includes", "contains"),
    ("has", "contains"),
    ("every", "each"),
    ("all", "each"),
    ("present", "exists"),
    ("defined", "exists"),
];

/// The predicate `name` most likely meant: a known synonym, else the predicate
/// within a small edit distance (at most 2, or a third of the name); `None` when
/// nothing is near.
pub(super) fn nearest(name: &str) -> Option<&'static str> {
    let key = name.to_ascii_lowercase().replace(['-', ' '], "_");
    if let Some((_, p)) = SYNONYMS.iter().find(|(s, _)| *s == key) {
        return Some(p);
    }
    let limit = (key.chars().count() / 3).max(2);
    PREDICATES
        .iter()
        .map(|p| (edit_distance(&key, p), *p))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, p)| p)
}

/// Levenshtein distance between `a` and `b`, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The JSON types `type:` names.
pub(super) const TYPES: &[&str] = &[
    "string", "number", "integer", "boolean", "array", "object", "null",
];

/// How long an expected or actual value may be in a message before it is cut.
pub(super) const SHOWN_CHARS: usize = 120;

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
    pub(super) fn name(self) -> &'static str {
        match self {
            Order::Gt => "gt",
            Order::Gte => "gte",
            Order::Lt => "lt",
            Order::Lte => "lte",
        }
    }

    pub(super) fn holds(self, o: std::cmp::Ordering) -> bool {
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
    pub(super) fn name(&self) -> &'static str {
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
    pub(super) fn expected(&self) -> String {
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
pub(super) fn describe(preds: &[Predicate]) -> String {
    let parts: Vec<String> = preds
        .iter()
        .map(|p| format!("{}: {}", p.name(), p.expected()))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// Compact JSON, cut to a readable length.
pub fn show(v: &Value) -> String {
    cut(&v.to_string())
}

/// `s`, cut to a readable length.
pub(super) fn cut(s: &str) -> String {
    if s.chars().count() <= SHOWN_CHARS {
        return s.to_string();
    }
    let head: String = s.chars().take(SHOWN_CHARS).collect();
    format!("{head}…")
}
