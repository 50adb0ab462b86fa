//! `-v` logs through `tracing`, on stderr, with every registered secret masked.

use std::io::Write;

use tracing_subscriber::fmt::MakeWriter;

/// A stderr writer that masks secrets in each event before it is written.
pub struct RedactingStderr;

/// The buffer of one event; written, redacted, when dropped.
pub struct EventBuffer(Vec<u8>);

impl Write for EventBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for EventBuffer {
    fn drop(&mut self) {
        let text = crate::secret::redact(&String::from_utf8_lossy(&self.0));
        let _ = std::io::stderr().write_all(text.as_bytes());
    }
}

impl<'a> MakeWriter<'a> for RedactingStderr {
    type Writer = EventBuffer;
    fn make_writer(&'a self) -> Self::Writer {
        EventBuffer(Vec::new())
    }
}

/// Installs the subscriber: nothing by default, info with -v, debug with -vv.
pub fn init(verbose: u8, quiet: bool, color: bool) {
    let level = match (quiet, verbose) {
        (true, _) | (false, 0) => return,
        (false, 1) => tracing::Level::INFO,
        (false, 2) => tracing::Level::DEBUG,
        _ => tracing::Level::TRACE,
    };
    let filter = tracing_subscriber::filter::Targets::new()
        .with_target("runner", level)
        .with_default(tracing::Level::WARN);
    let subscriber = tracing_subscriber::fmt()
        .with_writer(RedactingStderr)
        .with_ansi(color)
        .with_target(false)
        .without_time()
        .with_max_level(level)
        .finish();
    use tracing_subscriber::layer::SubscriberExt;
    let _ = tracing::subscriber::set_global_default(subscriber.with(filter));
}

/// Keys whose values a credential request or response never shows, whatever is
/// registered: `-vv` logs these bodies.
const SECRET_KEYS: [&str; 15] = [
    "client_secret",
    "password",
    "refresh_token",
    "access_token",
    "id_token",
    "code",
    "code_verifier",
    "device_code",
    "token",
    "client_assertion",
    "assertion",
    "subject_token",
    "actor_token",
    "issued_token",
    "private_key",
];

/// A form or JSON body with the values of [`SECRET_KEYS`] as `***` (a JSON body's
/// nested objects too); other text as it is, cut at 64 KiB.
pub fn masked_body(body: &[u8]) -> String {
    fn mask(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if SECRET_KEYS.contains(&k.as_str()) && !v.is_null() {
                        *v = serde_json::Value::String("***".into());
                    } else {
                        mask(v);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(mask),
            _ => {}
        }
    }
    let body = &body[..body.len().min(64 * 1024)];
    if let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(body) {
        mask(&mut v);
        return v.to_string();
    }
    let text = String::from_utf8_lossy(body);
    if text.contains('=') && !text.contains(char::is_whitespace) {
        return url::form_urlencoded::parse(body)
            .map(|(k, v)| {
                let v = if SECRET_KEYS.contains(&k.as_ref()) {
                    "***".into()
                } else {
                    v
                };
                format!("{k}={v}")
            })
            .collect::<Vec<_>>()
            .join("&");
    }
    text.into_owned()
}

/// How a request to the identity provider carries the client's credentials beside
/// its body (which shows a secret or an assertion by itself).
#[derive(Debug, Clone, Copy)]
pub struct Beside {
    /// An `Authorization: Basic` header.
    pub basic: bool,
    /// A client certificate on the connection (mutual TLS).
    pub certificate: bool,
}

/// `-vv`: a request to the identity provider (`what`: token, device, revocation,
/// discovery), with the grant and how the client authenticated, its body masked.
pub fn credential_request(what: &str, method: &str, url: &str, beside: Beside, body: &[u8]) {
    let Beside { basic, certificate } = beside;
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    let fields: Vec<(String, String)> = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(m)) => m
            .into_iter()
            .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
            .collect(),
        _ => url::form_urlencoded::parse(body).into_owned().collect(),
    };
    let has = |key: &str| fields.iter().any(|(k, _)| k == key);
    let grant = fields
        .iter()
        .find(|(k, _)| k == "grant_type")
        .map(|(_, v)| format!("grant {v}, "))
        .unwrap_or_default();
    let client_auth = if basic {
        "basic"
    } else if has("client_secret") {
        "body"
    } else if has("client_assertion") {
        "client_assertion"
    } else if certificate {
        "client certificate"
    } else {
        "none"
    };
    let detail = if what == "discovery" {
        String::new()
    } else {
        format!(" ({grant}client authentication: {client_auth})")
    };
    tracing::debug!("{what} request: {method} {url}{detail}");
    if basic {
        tracing::debug!("> authorization: Basic ***");
    }
    if !body.is_empty() {
        tracing::debug!("> {}", masked_body(body));
    }
}

/// `-vv`: the identity provider's answer, its body masked like the request's.
pub fn credential_response(what: &str, status: u16, body: &[u8]) {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    tracing::debug!("{what} response: {status}");
    if !body.is_empty() {
        tracing::debug!("< {}", masked_body(body));
    }
}
