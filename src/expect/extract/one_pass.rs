//! A JSONPath evaluated in one pass over a JSON text, building only the nodes it
//! may select: a large response's memory is then its text and what the path picks.

use std::collections::HashMap;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json_path::JsonPath;

use super::parse_query;

/// How to evaluate a path in one pass over a JSON text without building the whole
/// tree: walk down the leading member names, then build only the node they reach or,
/// for a wildcard or filter over its children, one child at a time. Only paths whose
/// rest never looks at the root (`$`) can be split like that.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    names: Vec<String>,
    target: Target,
}

#[derive(Debug, Clone)]
enum Target {
    /// The node the names reach, queried with the rest of the path.
    Whole(JsonPath),
    /// Each child of that node, wrapped in a one-element array and queried with the
    /// rest (which starts with a single wildcard or filter selector).
    Children(JsonPath),
    /// Child `n` of that node when it is an array, queried with the rest after `[n]`.
    Index(usize, JsonPath),
}

impl Plan {
    /// Splits `text` (already a valid path) into member names and the rest, or `None`
    /// when it cannot be split safely. The split is checked: the names and the rest
    /// must print back as the whole path does.
    pub(super) fn new(text: &str, compiled: &JsonPath) -> Option<Plan> {
        let b = text.as_bytes();
        if b.first() != Some(&b'$') || text[1..].contains('$') {
            return None;
        }
        let mut names = Vec::new();
        let mut canon = String::from("$");
        let mut i = 1;
        loop {
            match (b.get(i), b.get(i + 1)) {
                (Some(b'.'), Some(&c)) if c == b'_' || c.is_ascii_alphabetic() || c >= 0x80 => {
                    let start = i + 1;
                    i = start;
                    while i < b.len()
                        && (b[i] == b'_' || b[i].is_ascii_alphanumeric() || b[i] >= 0x80)
                    {
                        i += 1;
                    }
                    let name = &text[start..i];
                    canon.push('.');
                    canon.push_str(name);
                    names.push(name.to_string());
                }
                (Some(b'['), Some(&q @ (b'\'' | b'"'))) => {
                    let start = i + 2;
                    let len = text[start..].find(q as char)?;
                    let name = &text[start..start + len];
                    if name.contains('\\') || b.get(start + len + 1) != Some(&b']') {
                        return None;
                    }
                    canon.push_str(&format!("['{name}']"));
                    names.push(name.to_string());
                    i = start + len + 2;
                }
                _ => break,
            }
        }
        let rest = &text[i..];
        let rooted = |s: &str| parse_query(&format!("${s}")).ok();
        let target = if rest.starts_with(".*") || rest.starts_with("[*]") || rest.starts_with("[?")
        {
            if !single_selector(rest) {
                return None;
            }
            Target::Children(rooted(rest)?)
        } else if let Some(n) = leading_index(rest) {
            let after = &rest[rest.find(']')? + 1..];
            Target::Index(n, rooted(after)?)
        } else {
            Target::Whole(rooted(rest)?)
        };
        let rest_canon = rooted(rest)?.to_string();
        if compiled.to_string() != format!("{canon}{}", &rest_canon[1..]) {
            return None;
        }
        Some(Plan { names, target })
    }

    /// The nodes the path selects in `json`, or `None` when `json` is not valid JSON.
    pub(super) fn run(&self, json: &[u8]) -> Option<Vec<Value>> {
        let mut de = serde_json::Deserializer::from_slice(json);
        let mut out = Vec::new();
        Walk {
            names: &self.names,
            target: &self.target,
            out: &mut out,
        }
        .deserialize(&mut de)
        .ok()?;
        de.end().ok()?;
        Some(out)
    }
}

/// Whether the first segment of `rest` (`.*` or `[...]`) holds a single selector: a
/// union would list its selectors' nodes selector by selector, not child by child.
fn single_selector(rest: &str) -> bool {
    if rest.starts_with(".*") {
        return true;
    }
    let b = rest.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'[' | b'(' => depth += 1,
            b']' | b')' => {
                depth -= 1;
                if depth == 0 {
                    return true;
                }
            }
            b',' if depth == 1 => return false,
            _ => {}
        }
        i += 1;
    }
    false
}

/// `[n]` with a non-negative `n` at the start of `rest`.
fn leading_index(rest: &str) -> Option<usize> {
    let inner = rest.strip_prefix('[')?;
    let end = inner.find(']')?;
    let digits = &inner[..end];
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The `Visitor` methods of a walk over JSON that finds nothing under a scalar: each
/// accepts it and gives `()`. Used here and by `paginate`'s page walk.
macro_rules! scalars_select_nothing {
    () => {
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
    };
}
pub(crate) use scalars_select_nothing;

/// A deserializer seed that walks `names` down a JSON text and collects what the
/// target selects into `out`.
struct Walk<'p> {
    names: &'p [String],
    target: &'p Target,
    out: &'p mut Vec<Value>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        match (self.names.is_empty(), self.target) {
            (true, Target::Whole(rest)) => {
                let node = Value::deserialize(de)?;
                self.out
                    .extend(rest.query(&node).all().into_iter().cloned());
                Ok(())
            }
            _ => de.deserialize_any(self),
        }
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if let Some((first, deeper)) = self.names.split_first() {
            // A duplicate key: the last one wins, as when parsing into a `Value`.
            let mut found = None;
            while let Some(hit) = map.next_key_seed(KeyIs(first))? {
                if hit {
                    let mut out = Vec::new();
                    map.next_value_seed(Walk {
                        names: deeper,
                        target: self.target,
                        out: &mut out,
                    })?;
                    found = Some(out);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            self.out.extend(found.into_iter().flatten());
            return Ok(());
        }
        match self.target {
            Target::Children(rest) => {
                // Members in order of first appearance, the last value winning.
                let mut slots: Vec<Vec<Value>> = Vec::new();
                let mut seen: HashMap<String, usize> = HashMap::new();
                while let Some(key) = map.next_key::<String>()? {
                    let child = map.next_value::<Value>()?;
                    let nodes = query_child(rest, child);
                    match seen.get(&key) {
                        Some(&at) => slots[at] = nodes,
                        None => {
                            seen.insert(key, slots.len());
                            slots.push(nodes);
                        }
                    }
                }
                self.out.extend(slots.into_iter().flatten());
            }
            _ => while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {},
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        match (self.names.is_empty(), self.target) {
            (true, Target::Children(rest)) => {
                while let Some(child) = seq.next_element::<Value>()? {
                    self.out.extend(query_child(rest, child));
                }
            }
            (true, Target::Index(n, rest)) => {
                let mut i = 0;
                while i < *n {
                    if seq.next_element::<IgnoredAny>()?.is_none() {
                        return Ok(());
                    }
                    i += 1;
                }
                if let Some(child) = seq.next_element::<Value>()? {
                    self.out
                        .extend(rest.query(&child).all().into_iter().cloned());
                }
                while seq.next_element::<IgnoredAny>()?.is_some() {}
            }
            _ => while seq.next_element::<IgnoredAny>()?.is_some() {},
        }
        Ok(())
    }

    // Scalars have no members or children: the path selects nothing under them.
    scalars_select_nothing!();
}

/// The nodes `rest` (a wildcard or filter, then more) selects from one child.
fn query_child(rest: &JsonPath, child: Value) -> Vec<Value> {
    let wrapped = Value::Array(vec![child]);
    rest.query(&wrapped).all().into_iter().cloned().collect()
}

/// A map key seed that answers whether the key equals a name, without allocating
/// when the key has no escapes.
struct KeyIs<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<bool, D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}
