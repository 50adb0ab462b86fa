//! Who may use the gateway and what is written of it: the access key (made at start,
//! checked in constant time, never forwarded nor logged) and the access log.

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use axum::http::{HeaderMap, Method, StatusCode};

use super::refusal::Refusal;
use super::{Gateway, KEY_HEADER, KEY_PARAM};
use crate::error::Error;
use crate::secret::Secret;

/// 256 random bits, hex: the access key. Kept in memory only.
pub(super) fn new_key() -> Secret {
    let bytes: [u8; 32] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Secret::new(hex)
}

/// The `--access-log` file, appended to, readable by its owner only.
pub(super) fn open_log(path: &Path) -> Result<std::fs::File, Error> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .map_err(|e| Error::io(format!("cannot open the access log {}", path.display()), e))
}

impl Gateway {
    /// The access key, from the header or the query, compared in constant time.
    pub(super) fn check_key(
        &self,
        headers: &HeaderMap,
        query: Option<&str>,
    ) -> Result<(), Refusal> {
        let Some(key) = &self.key else {
            return Ok(());
        };
        let from_query = query.and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == KEY_PARAM)
                .map(|(_, v)| v.into_owned())
        });
        let given = headers
            .get(KEY_HEADER)
            .map(|v| v.as_bytes().to_vec())
            .or_else(|| from_query.map(String::into_bytes));
        match given {
            None => Err(Refusal::new(
                StatusCode::UNAUTHORIZED,
                "access_key_missing",
                format!(
                    "this gateway needs the access key runner serve printed at start: the {KEY_HEADER} header or ?{KEY_PARAM}="
                ),
            )),
            Some(g) if constant_time_eq(&g, key.expose().as_bytes()) => Ok(()),
            Some(_) => Err(Refusal::new(
                StatusCode::FORBIDDEN,
                "access_key_wrong",
                "the access key is not the one runner serve printed at start",
            )),
        }
    }

    /// One line per request at `-v`; the same as a JSON line in `--access-log`.
    pub(super) fn log(&self, method: &Method, target: &str, status: StatusCode, elapsed: Duration) {
        let ms = elapsed.as_secs_f64() * 1000.0;
        tracing::info!("{method} {target} {} {ms:.1} ms", status.as_u16());
        if let Some(file) = &self.access_log {
            let time = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            let line = serde_json::json!({
                "time_ms": time,
                "method": method.as_str(),
                "path": target,
                "status": status.as_u16(),
                "ms": (ms * 10.0).round() / 10.0,
            });
            if let Ok(mut f) = file.lock() {
                let _ = writeln!(f, "{line}");
            }
        }
    }
}

/// The query without the access key (`None` when nothing is left).
pub(super) fn strip_key(query: Option<&str>) -> Option<String> {
    let kept: Vec<&str> = query?
        .split('&')
        .filter(|pair| {
            // Decoded as `check_key` decodes it: `runner%5Fkey` is the key too.
            let name = url::form_urlencoded::parse(pair.as_bytes()).next();
            !pair.is_empty() && name.is_none_or(|(k, _)| k != KEY_PARAM)
        })
        .collect();
    (!kept.is_empty()).then(|| kept.join("&"))
}

/// The path and query for logs: no access key, and the values of parameters whose
/// names say they carry credentials masked ([`crate::secret::mask_query`]).
pub(super) fn shown_target(uri: &axum::http::Uri) -> String {
    let text = match strip_key(uri.query()) {
        Some(query) => format!("{}?{query}", uri.path()),
        None => uri.path().to_string(),
    };
    crate::secret::redact(&crate::secret::mask_query(&text))
}

/// `a == b`, in a time that depends on their lengths only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_leaves_the_query() {
        for (q, want) in [
            (Some("runner_key=abc"), None),
            (Some("page=2&runner_key=abc"), Some("page=2")),
            (Some("runner_key=abc&page=2&x"), Some("page=2&x")),
            (Some("runner_keyx=1"), Some("runner_keyx=1")),
            (Some("runner%5Fkey=abc&b"), Some("b")),
            (None, None),
        ] {
            assert_eq!(strip_key(q).as_deref(), want, "{q:?}");
        }
    }

    #[test]
    fn keys_compare_whole() {
        assert!(constant_time_eq(b"abcd", b"abcd"));
        assert!(!constant_time_eq(b"abcd", b"abce"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert_eq!(new_key().expose().len(), 64);
    }

    #[test]
    fn logs_mask_credentials_in_the_query() {
        let uri: axum::http::Uri =
            "/a?runner_key=k&access_token=t&page=1&api_key=Zk9%2Bq%2FWx3s%3D&password=p%26w"
                .parse()
                .unwrap();
        assert_eq!(
            shown_target(&uri),
            "/a?access_token=***&page=1&api_key=***&password=***"
        );
    }
}
