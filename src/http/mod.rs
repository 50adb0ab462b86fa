//! The HTTP client: a rendered request in, an exchange out, with the retry rules of
//! SPEC §7. Knows nothing of YAML, templates or tokens (the caller passes the
//! authorization header it wants sent).
//!
//! This file holds what goes in and what comes out (the request, the exchange, the
//! errors); `client` sends, `redirect` follows a chain hop by hop, `origin` says which
//! credentials go with each hop, `retry` retries a hop, `body` moves bodies.

mod body;
mod client;
mod cookie;
mod cookie_file;
pub mod form;
pub mod header;
mod json_body;
mod origin;
pub mod pkcs12;
mod pool;
pub mod proxy;
mod redirect;
mod retry;
pub mod sigv4;
pub mod tls;
mod wire;

use std::time::Duration;

use reqwest::{Method, StatusCode};

pub use self::body::{Incoming, StreamError};
pub use self::client::{Client, ClientOptions, note_proxy};
pub use self::cookie::CookieJar;
pub use self::cookie_file::JarFile;
pub use self::json_body::JsonBody;
pub use self::origin::{
    Credential, CredentialPolicy, ProofSource, is_loopback, is_sensitive_header,
};
pub use self::proxy::ProxySetting;
pub use self::redirect::{DEFAULT_MAX_REDIRECTS, RedirectPolicy};
pub use self::retry::{backoff, is_idempotent};
pub use self::tls::{ClientIdentity, IdentitySource, TlsOptions};

/// The `User-Agent` runner sends unless a request names its own.
const USER_AGENT: &str = concat!("runner/", env!("CARGO_PKG_VERSION"));

/// Default cap on a response body (SPEC: `http.max_body`, 256 MB).
pub const DEFAULT_MAX_BODY: u64 = 256 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("cannot connect to {url}: {detail}")]
    Connect { url: String, detail: String },
    #[error("request to {url} timed out after {secs} s")]
    Timeout { url: String, secs: f64 },
    #[error(
        "TLS error talking to {url}: {detail} (a private certificate authority? trust it with --cacert FILE or http.ca_cert)"
    )]
    Tls { url: String, detail: String },
    #[error(
        "response from {url} is larger than {limit} bytes (http.max_body), the most runner holds to parse or pretty-print a body; -o raw, -o none, or -o body off a terminal stream any size"
    )]
    TooLarge { url: String, limit: u64 },
    #[error("request to {url} failed: {detail}")]
    Other { url: String, detail: String },
    /// The head arrived, then the body was cut short (a reset, a short body).
    #[error("request to {url} failed: {detail}")]
    BodyCut { url: String, detail: String },
    /// The server answered, but not as the protocol allows (e.g. pages that loop).
    #[error("{url}: {detail}")]
    Protocol { url: String, detail: String },
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// A request ready for the wire.
#[derive(Debug, Clone)]
pub struct RenderedRequest {
    pub method: Method,
    pub url: url::Url,
    /// In order; later entries with the same name replace earlier ones.
    pub headers: Vec<Header>,
    pub body: RenderedBody,
    pub timeout: Duration,
    pub retries: u32,
    /// The origin of the URL the request file names: its own credential headers go
    /// there (and to the profile's origins), not to a page link or redirect elsewhere.
    pub file_origin: url::Origin,
}

/// One request header, and whether the profile (rather than the request file) set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: String,
    pub from_profile: bool,
}

impl Header {
    pub fn new(name: impl Into<String>, value: impl Into<String>, from_profile: bool) -> Header {
        Header {
            name: name.into(),
            value: value.into(),
            from_profile,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub enum RenderedBody {
    #[default]
    Empty,
    Json(JsonBody),
    Form(Vec<(String, String)>),
    Text(String),
    /// `body: {file: …}`.
    File(FileBody),
    Multipart(Vec<Part>),
}

/// A file to upload. A regular file is read from disk as it is sent, in bounded
/// memory, with its size as the `Content-Length` (every attempt opens it again); what
/// has no size (a pipe, `/dev/stdin`) is read first and held, so that a retry can
/// send it again.
#[derive(Debug, Clone)]
pub struct FileBody {
    pub path: std::path::PathBuf,
    pub len: u64,
    /// The bytes, for what is not a regular file.
    pub held: Option<bytes::Bytes>,
}

#[derive(Debug, Clone)]
pub struct Part {
    pub name: String,
    pub value: PartValue,
}

#[derive(Debug, Clone)]
pub enum PartValue {
    Text(String),
    File {
        filename: String,
        content_type: Option<String>,
        file: FileBody,
    },
}

/// What came back.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The URL that answered (the last hop of any redirects).
    pub url: url::Url,
    pub status: u16,
    pub version: &'static str,
    /// As received, in the order the server sent them, shared with the bytes the head
    /// was read into rather than copied; [`header::text`] reads a value as text, and
    /// [`Exchange::header`] finds one by its name in any case.
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    pub body: bytes::Bytes,
    /// Bytes of body received: `body.len()`, or what was streamed past it.
    pub size: u64,
    pub elapsed: Duration,
    pub attempts: u32,
    /// The auth header went with the request that answered: only then does a 401
    /// say anything about the token.
    pub auth_sent: bool,
}

impl Exchange {
    pub fn header(&self, name: &str) -> Option<std::borrow::Cow<'_, str>> {
        self.headers
            .iter()
            .find(|(k, _)| k.as_str().eq_ignore_ascii_case(name))
            .map(|(_, v)| header::text(v))
    }

    pub fn is_json(&self) -> bool {
        self.header("content-type")
            .map(|ct| {
                let ct = ct.to_ascii_lowercase();
                ct.contains("json")
            })
            .unwrap_or(false)
    }

    pub fn status_line(&self) -> String {
        let reason = StatusCode::from_u16(self.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        format!("{} {} {}", self.version, self.status, reason)
            .trim_end()
            .to_string()
    }
}

pub(super) fn is_tls(e: &reqwest::Error) -> bool {
    let text = error_chain(e).to_ascii_lowercase();
    text.contains("certificate") || text.contains("tls") || text.contains("handshake")
}

/// `e` and its sources, each said once.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        let t = inner.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = inner.source();
    }
    s
}

/// The innermost cause: reqwest's outer layers repeat the URL and say little.
pub fn root_cause(e: &dyn std::error::Error) -> String {
    let mut last = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        last = inner.to_string();
        src = inner.source();
    }
    last
}

pub(super) fn classify(e: reqwest::Error, url: &url::Url, timeout: Duration) -> HttpError {
    let url = url.to_string();
    let detail = if e.is_connect() {
        root_cause(&e)
    } else {
        error_chain(&e)
    };
    if e.is_timeout() {
        HttpError::Timeout {
            url,
            secs: timeout.as_secs_f64(),
        }
    } else if is_tls(&e) {
        HttpError::Tls { url, detail }
    } else if e.is_connect() {
        HttpError::Connect { url, detail }
    } else {
        HttpError::Other { url, detail }
    }
}
