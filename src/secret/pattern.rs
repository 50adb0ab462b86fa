//! The pattern of every form a secret can take on its way to an output: raw,
//! percent-encoded (upper- or lower-case hex, a space as `%20` or `+`), JSON-escaped
//! (`\"`, `\\`, `\/`, `\uXXXX`), HTML/XML-escaped (named and numeric entities), and
//! JSON-escaped then HTML-escaped, YAML single-quoted (`''`). Each character of the secret matches any of its
//! forms, so one pattern finds the secret however a writer encoded it.

use std::fmt::Write as _;

/// A regex matching `secret` in any of its forms; `None` only if the pattern is too
/// big to compile (a secret of many kilobytes of punctuation).
pub(super) fn forms(secret: &str) -> Option<regex::Regex> {
    let mut pattern = String::with_capacity(secret.len() * 4);
    for c in secret.chars() {
        let alts = char_forms(c);
        if alts.len() == 1 {
            pattern.push_str(&regex::escape(&alts[0]));
        } else {
            pattern.push_str("(?:");
            for (i, a) in alts.iter().enumerate() {
                if i > 0 {
                    pattern.push('|');
                }
                pattern.push_str(&regex::escape(a));
            }
            pattern.push(')');
        }
    }
    regex::RegexBuilder::new(&pattern)
        .size_limit(1 << 24)
        .build()
        .ok()
}

/// Every way one character of a secret can be written out, longest first.
fn char_forms(c: char) -> Vec<String> {
    if c.is_ascii_alphanumeric() {
        return vec![c.to_string()];
    }
    let mut base = vec![c.to_string()];
    base.extend(json_forms(c));
    let mut alts = base.clone();
    for b in &base {
        let escaped = html_escape(b);
        if escaped != *b {
            alts.push(escaped);
        }
    }
    alts.extend(html_numeric(c));
    alts.extend(percent_forms(c));
    if c == ' ' {
        alts.push("+".to_string());
    }
    // A YAML single-quoted scalar doubles it: an error's snippet of a profile line
    // shows a written secret in that form.
    if c == '\'' {
        alts.push("''".to_string());
    }
    alts.sort_by_key(|a| std::cmp::Reverse(a.len()));
    alts.dedup();
    alts
}

/// `c` as serde_json and JavaScript may escape it inside a string.
fn json_forms(c: char) -> Vec<String> {
    let mut out = Vec::new();
    match c {
        '"' => out.push("\\\"".to_string()),
        '\\' => out.push("\\\\".to_string()),
        '/' => out.push("\\/".to_string()),
        '\n' => out.push("\\n".to_string()),
        '\r' => out.push("\\r".to_string()),
        '\t' => out.push("\\t".to_string()),
        _ => {}
    }
    let mut units = [0u16; 2];
    let units = c.encode_utf16(&mut units);
    for case_upper in [false, true] {
        let mut s = String::new();
        for u in units.iter() {
            if case_upper {
                let _ = write!(s, "\\u{u:04X}");
            } else {
                let _ = write!(s, "\\u{u:04x}");
            }
        }
        out.push(s);
    }
    out
}

/// `text` with the five XML-special characters replaced by their named entities
/// (`'` as `&#39;`, which is what HTML escapers commonly write).
fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// `c` as a numeric character reference (decimal, hex in both cases) and, for `'`,
/// the `&apos;` and `&#x27;` spellings.
fn html_numeric(c: char) -> Vec<String> {
    let n = c as u32;
    let mut out = vec![
        format!("&#{n};"),
        format!("&#x{n:x};"),
        format!("&#x{n:X};"),
        format!("&#X{n:X};"),
    ];
    if c == '\'' {
        out.push("&apos;".to_string());
    }
    out
}

/// `c`'s UTF-8 bytes percent-encoded, with upper- and lower-case hex.
fn percent_forms(c: char) -> Vec<String> {
    let mut buf = [0u8; 4];
    let bytes = c.encode_utf8(&mut buf).as_bytes();
    let mut upper = String::new();
    let mut lower = String::new();
    for b in bytes {
        let _ = write!(upper, "%{b:02X}");
        let _ = write!(lower, "%{b:02x}");
    }
    vec![upper, lower]
}
