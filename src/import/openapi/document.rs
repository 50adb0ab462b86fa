//! The OpenAPI document itself: reading it (JSON or YAML, 3.0 and 3.1 only) and
//! following its local `$ref`s, by value or to the JSON Pointer where a value really is.

use serde_json::Value;

use crate::error::{Error, InputError};

/// How long a chain of `$ref`s is followed.
const MAX_DEPTH: usize = 12;

/// A parsed document: its text (copied under `openapi/`), its value, and the name it
/// is copied as.
pub struct Source {
    pub text: Vec<u8>,
    pub file_name: String,
    /// The URL it came from, against which relative server URLs resolve.
    pub url: Option<url::Url>,
}

/// Parses `text` (JSON or YAML) and checks the version: 3.0 and 3.1 only.
pub fn parse(text: &[u8], what: &str) -> Result<Value, Error> {
    let s = std::str::from_utf8(text)
        .map_err(|_| InputError::usage(format!("{what}: not UTF-8 text")))?;
    let trimmed = s.trim_start_matches('\u{feff}').trim_start();
    let doc: Value = if trimmed.starts_with('{') {
        serde_json::from_str(trimmed)
            .map_err(|e| InputError::usage(format!("{what}: not valid JSON: {e}")))?
    } else {
        serde_saphyr::from_str(trimmed)
            .map_err(|e| InputError::usage(format!("{what}: not valid YAML: {e}")))?
    };
    if !doc.is_object() {
        return Err(
            InputError::usage(format!("{what}: not an OpenAPI document (not a map)")).into(),
        );
    }
    if let Some(v) = doc.get("swagger") {
        let v = v
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string());
        return Err(InputError::usage(format!(
            "{what}: Swagger {v} is not supported; only OpenAPI 3.0 and 3.1 are: convert it first (e.g. `npx swagger2openapi {what}`)"
        ))
        .into());
    }
    match doc.get("openapi").and_then(Value::as_str) {
        Some(v) if v.starts_with("3.0") || v.starts_with("3.1") => Ok(doc),
        Some(v) => Err(InputError::usage(format!(
            "{what}: OpenAPI {v} is not supported; only 3.0 and 3.1 are"
        ))
        .into()),
        None => Err(InputError::usage(format!(
            "{what}: not an OpenAPI document (no `openapi` version)"
        ))
        .into()),
    }
}

/// A local `$ref` followed (through chains, to `depth`); anything else as is. An
/// unresolvable reference gives `null`.
pub(super) fn resolve<'a>(doc: &'a Value, v: &'a Value, depth: usize) -> &'a Value {
    let mut v = v;
    for _ in depth..MAX_DEPTH {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => match pointer(doc, r) {
                Some(target) => v = target,
                None => return &Value::Null,
            },
            None => return v,
        }
    }
    &Value::Null
}

/// `#/a/b` in `doc` (JSON Pointer, percent-decoded).
pub(super) fn pointer<'a>(doc: &'a Value, r: &str) -> Option<&'a Value> {
    let frag = r.strip_prefix('#')?;
    let decoded = percent_decode(frag);
    doc.pointer(&decoded)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

/// `s` as one JSON Pointer token (RFC 6901: `~` is `~0`, `/` is `~1`).
pub(super) fn escape_pointer(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// `v`, found at `ptr` in `doc`, with its local `$ref`s followed: the value and the
/// JSON Pointer where it really is. `None` for a reference that does not resolve
/// (or a chain that does not end).
pub(super) fn located<'a>(
    doc: &'a Value,
    ptr: String,
    v: &'a Value,
) -> Option<(String, &'a Value)> {
    let mut ptr = ptr;
    let mut v = v;
    for _ in 0..MAX_DEPTH {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let frag = percent_decode(r.strip_prefix('#')?);
                v = doc.pointer(&frag)?;
                ptr = frag;
            }
            None => return Some((ptr, v)),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert!(parse(br#"{"openapi": "3.1.0"}"#, "x").is_ok());
        assert!(parse(b"openapi: 3.0.3\n", "x").is_ok());
        let e = parse(br#"{"swagger": "2.0"}"#, "x")
            .err()
            .map(|e| e.to_string());
        assert!(
            e.unwrap_or_default()
                .contains("Swagger 2.0 is not supported")
        );
        assert!(parse(b"[1]", "x").is_err());
        assert!(parse(b"\xff", "x").is_err());
    }
}
