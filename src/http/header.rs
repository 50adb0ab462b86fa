//! What may be sent as an HTTP header (RFC 7230 §3.2): a name that is a token, a value
//! without control characters. Checked when files load and when requests render, so
//! that no header is dropped or split on its way to the wire.

/// A received header's value as text: as is when it is visible ASCII (nearly every
/// value), else read as UTF-8 with the invalid bytes replaced.
pub fn text(value: &http::HeaderValue) -> std::borrow::Cow<'_, str> {
    match value.to_str() {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(value.as_bytes()),
    }
}

/// Why `name: value` cannot be sent, if it cannot. The value is never quoted: it may
/// be a credential.
pub fn problem(name: &str, value: &str) -> Option<String> {
    name_problem(name).or_else(|| value_problem(name, value))
}

/// Why `name` is not a header name, if it is not.
pub fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("a header name is empty".to_string());
    }
    if name.bytes().all(is_token_byte) {
        return None;
    }
    Some(format!(
        "header `{}` is not a valid header name: a name is letters, digits and !#$%&'*+-.^_`|~ only (an RFC 7230 token)",
        name.escape_debug()
    ))
}

/// Why `value` cannot be the value of header `name`, if it cannot.
pub fn value_problem(name: &str, value: &str) -> Option<String> {
    let bad = value.chars().find(|&c| c.is_ascii_control() && c != '\t')?;
    let what = match bad {
        '\r' => "a carriage return (CR, \\r)".to_string(),
        '\n' => "a line feed (LF, \\n)".to_string(),
        '\0' => "a NUL byte (\\0)".to_string(),
        other => format!("a control character (U+{:04X})", u32::from(other)),
    };
    Some(format!(
        "the value of header `{}` holds {what}: header values cannot hold CR, LF, NUL or other control characters",
        name.escape_debug()
    ))
}

/// `tchar` of RFC 7230 §3.2.6.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_tokens_and_values_free_of_control_characters() {
        assert_eq!(problem("X-Api-Key", "a b\t'\"$`\\é"), None);
        assert_eq!(problem("x!#$%&'*+-.^_`|~9", ""), None);
        for name in ["", "X A", "X:A", "X\nA", "É", "X(A)", "X\"A"] {
            assert!(name_problem(name).is_some(), "{name:?}");
        }
        assert_eq!(
            problem("X-A", "a\r\nX-Injected: 1").as_deref(),
            Some(
                "the value of header `X-A` holds a carriage return (CR, \\r): header values cannot hold CR, LF, NUL or other control characters"
            )
        );
        assert!(problem("X-A", "a\nb").unwrap().contains("line feed"));
        assert!(problem("X-A", "a\0b").unwrap().contains("NUL"));
        assert!(problem("X-A", "a\u{7f}").unwrap().contains("U+007F"));
        assert!(
            problem("X\nA", "v")
                .unwrap()
                .starts_with("header `X\\nA` is not")
        );
    }
}
