//! What a failure shows of the server's answer: the status line and the start of the
//! body (pretty when JSON, at most `--show-body-bytes`), and the server's own message
//! (RFC 9457 `title`/`detail`, OAuth2 `error_description`, a top-level
//! `message`/`error`) for one-line places such as a bulk row's `error`. Every text
//! here leaves through the masking point (`eprintln!`, `secret::redact`).

use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use crate::http::Exchange;

/// The default of `--show-body-bytes`.
pub const DEFAULT_BODY_BYTES: usize = 2048;

static BODY_BYTES: AtomicUsize = AtomicUsize::new(DEFAULT_BODY_BYTES);

/// Sets how many bytes of a body failures and `-v` show (0: none). Called once, from
/// the command line.
pub fn set_body_bytes(n: usize) {
    BODY_BYTES.store(n, Ordering::Relaxed);
}

/// How many bytes of a body failures and `-v` show.
pub fn body_bytes() -> usize {
    BODY_BYTES.load(Ordering::Relaxed)
}

/// `body` as a person reads it: pretty JSON when it parses as JSON, else its text
/// (bytes that are not UTF-8 replaced); cut after `limit` bytes with the rest counted.
pub fn body_text(body: &[u8], limit: usize) -> String {
    if body.is_empty() {
        return "(empty body)".to_string();
    }
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(v) if body.len() <= 4 * 1024 * 1024 => {
            serde_json::to_string_pretty(&v).unwrap_or_default()
        }
        _ => String::from_utf8_lossy(body).into_owned(),
    };
    cut(&text, limit)
}

/// `text` cut after `limit` bytes, on a character boundary, with the rest counted.
pub fn cut(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.trim_end().to_string();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n… ({} more bytes; --show-body-bytes N shows more)",
        text[..end].trim_end(),
        text.len() - end
    )
}

/// The answer of a failed request as stderr shows it: the status line, then the start
/// of the body, each line indented. Only the status line when bodies are hidden.
pub fn response(ex: &Exchange) -> String {
    let mut s = format!("  {}", ex.status_line());
    let limit = body_bytes();
    if limit > 0 {
        for line in body_text(&ex.body, limit).lines() {
            s.push_str("\n  ");
            s.push_str(line);
        }
    }
    s
}

/// The server's own words in a JSON error body: RFC 9457 `title` and `detail`, OAuth2
/// `error` and `error_description`, or a top-level `message` (or `error` as text, or
/// `error.message`). `None` when the body says nothing of the kind.
pub fn server_message(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let text = |key: &str| {
        v.get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let joined = |a: Option<&str>, b: Option<&str>| match (a, b) {
        (Some(a), Some(b)) if a != b => Some(format!("{a}: {b}")),
        (Some(a), _) => Some(a.to_string()),
        (None, Some(b)) => Some(b.to_string()),
        (None, None) => None,
    };
    let nested = v
        .get("error")
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let found = joined(text("title"), text("detail"))
        .or_else(|| joined(text("error"), text("error_description")))
        .or_else(|| text("message").map(str::to_string))
        .or(nested)?;
    Some(cut(&found.replace(['\n', '\r'], " "), 300))
}

/// How much of a body `-vv` logs.
const DEBUG_BODY_BYTES: usize = 64 * 1024;
/// How many lines of a body `-v` logs.
const INFO_BODY_LINES: usize = 5;

/// A request body as `-v` shows it: JSON pretty, a form as `k=v&…`, text as it is;
/// files and multipart parts by name and size, never their bytes.
pub fn request_body_text(body: &crate::http::RenderedBody) -> Option<String> {
    use crate::http::RenderedBody;
    Some(match body {
        RenderedBody::Empty => return None,
        RenderedBody::Json(json) => json.pretty(),
        RenderedBody::Form(pairs) => pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&"),
        RenderedBody::Text(t) => t.clone(),
        RenderedBody::File(f) => format!("(file {}, {} bytes)", f.path.display(), f.len),
        RenderedBody::Multipart(parts) => format!(
            "(multipart: {})",
            parts
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

/// Logs a body, each line after `mark` (`>` sent, `<` received): its first lines at
/// `-v`, the whole of it up to 64 KiB at `-vv`. Masked by the log writer.
pub fn log_body(mark: char, text: &str) {
    if tracing::enabled!(tracing::Level::DEBUG) {
        for line in cut(text, DEBUG_BODY_BYTES).lines() {
            tracing::debug!("{mark} {line}");
        }
    } else if tracing::enabled!(tracing::Level::INFO) {
        let lines: Vec<&str> = text.lines().collect();
        for line in lines.iter().take(INFO_BODY_LINES) {
            tracing::info!("{mark} {}", cut(line, 200));
        }
        if lines.len() > INFO_BODY_LINES {
            tracing::info!(
                "{mark} … ({} more lines; -vv shows the whole body)",
                lines.len() - INFO_BODY_LINES
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_message_comes_from_the_usual_keys() {
        let cases: [(&str, Option<&str>); 7] = [
            (
                r#"{"type":"about:blank","title":"Bad Request","detail":"family_id is unknown"}"#,
                Some("Bad Request: family_id is unknown"),
            ),
            (
                r#"{"error":"invalid_client","error_description":"bad secret"}"#,
                Some("invalid_client: bad secret"),
            ),
            (r#"{"message":"Not Found"}"#, Some("Not Found")),
            (r#"{"error":"nope"}"#, Some("nope")),
            (r#"{"error":{"code":3,"message":"deep"}}"#, Some("deep")),
            (r#"{"id":1}"#, None),
            ("<html>oops</html>", None),
        ];
        for (body, want) in cases {
            assert_eq!(server_message(body.as_bytes()).as_deref(), want, "{body}");
        }
    }

    #[test]
    fn bodies_are_pretty_and_cut_on_a_character() {
        assert_eq!(body_text(br#"{"a":1}"#, 100), "{\n  \"a\": 1\n}");
        assert_eq!(body_text(b"", 100), "(empty body)");
        assert_eq!(
            body_text("ééé".as_bytes(), 3),
            "é\n… (4 more bytes; --show-body-bytes N shows more)"
        );
    }
}
