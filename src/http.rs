//! The HTTP client: a rendered request in, an exchange out, with the retry rules of
//! SPEC §7. Knows nothing of YAML, templates or tokens (the caller passes the
//! authorization header it wants sent).

use std::time::{Duration, Instant};

use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};

use crate::secret::Secret;

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
    #[error("response from {url} is larger than the limit of {limit} bytes (http.max_body)")]
    TooLarge { url: String, limit: u64 },
    #[error("request to {url} failed: {detail}")]
    Other { url: String, detail: String },
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
    pub headers: Vec<(String, String)>,
    pub body: RenderedBody,
    pub timeout: Duration,
    pub retries: u32,
}

#[derive(Debug, Clone, Default)]
pub enum RenderedBody {
    #[default]
    Empty,
    Json(serde_json::Value),
    Form(Vec<(String, String)>),
    Text(String),
    /// A file's bytes (`body: {file: …}`), and where they came from.
    File {
        path: std::path::PathBuf,
        data: Vec<u8>,
    },
    Multipart(Vec<Part>),
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
        data: Vec<u8>,
    },
}

/// What came back.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub status: u16,
    pub version: &'static str,
    pub headers: Vec<(String, String)>,
    pub body: bytes::Bytes,
    pub elapsed: Duration,
    pub attempts: u32,
}

impl Exchange {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
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

/// Client settings shared by every request of a run.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    pub max_body: u64,
    pub tls: TlsOptions,
}

/// How servers' certificates are checked.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// PEM bundles of extra authorities to trust.
    pub ca_pem: Vec<Vec<u8>>,
    /// Accept any certificate.
    pub insecure: bool,
}

impl TlsOptions {
    /// `builder` with these settings applied.
    pub fn apply(&self, builder: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder, String> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let mut roots = Vec::new();
        for pem in &self.ca_pem {
            let before = roots.len();
            for cert in CertificateDer::pem_slice_iter(pem) {
                roots.push(cert.map_err(|e| format!("cannot read the CA certificate: {e}"))?);
            }
            if roots.len() == before {
                return Err("the CA certificate file holds no PEM certificate".to_string());
            }
        }
        let config = crate::tls::client_config(roots, self.insecure)?;
        Ok(builder.tls_backend_preconfigured(config))
    }
}

/// One connection pool for the whole run.
#[derive(Clone)]
pub struct Client {
    inner: reqwest::Client,
    max_body: u64,
}

impl Client {
    pub fn new(opts: ClientOptions) -> Result<Client, HttpError> {
        let builder =
            reqwest::Client::builder().user_agent(concat!("runner/", env!("CARGO_PKG_VERSION")));
        let inner = opts
            .tls
            .apply(builder)
            .map_err(HttpError::Client)?
            .build()
            .map_err(|e| HttpError::Client(e.to_string()))?;
        Ok(Client {
            inner,
            max_body: opts.max_body,
        })
    }

    /// Sends `req`, retrying as SPEC §7 allows. `auth` is a header name and value
    /// sent marked sensitive.
    pub async fn send(
        &self,
        req: &RenderedRequest,
        auth: Option<(&str, &Secret)>,
    ) -> Result<Exchange, HttpError> {
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let outcome = self.send_once(req, auth).await;
            let retry_after = match &outcome {
                Ok(resp) if is_retryable_status(resp.status()) => {
                    // 429 says the request was not processed: safe for any method.
                    let allowed = resp.status() == StatusCode::TOO_MANY_REQUESTS
                        || is_idempotent(&req.method);
                    if allowed && attempt <= req.retries {
                        Some(retry_after(resp.headers()))
                    } else {
                        None
                    }
                }
                Ok(_) => None,
                Err(e) => {
                    let allowed = e.is_connect() || is_idempotent(&req.method);
                    if allowed && attempt <= req.retries && !is_tls(e) {
                        Some(None)
                    } else {
                        None
                    }
                }
            };
            if let Some(hint) = retry_after {
                let wait = backoff(attempt, hint);
                tracing::info!(
                    "retrying {} {} in {} ms (attempt {} of {})",
                    req.method,
                    req.url,
                    wait.as_millis(),
                    attempt + 1,
                    req.retries + 1
                );
                tokio::time::sleep(wait).await;
                continue;
            }
            let resp = outcome.map_err(|e| classify(e, req))?;
            return self.read(resp, req, started, attempt).await;
        }
    }

    async fn send_once(
        &self,
        req: &RenderedRequest,
        auth: Option<(&str, &Secret)>,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let mut builder = self
            .inner
            .request(req.method.clone(), req.url.clone())
            .timeout(req.timeout);
        let mut headers = reqwest::header::HeaderMap::new();
        // Rendering refused every name that is not a token and every value with a
        // control character (`crate::header`), so nothing is skipped here; values are
        // taken as bytes, as non-ASCII text is sent (`from_str` would refuse it).
        for (k, v) in &req.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_bytes(v.as_bytes()),
            ) {
                headers.insert(name, value);
            }
        }
        if let Some((name, value)) = auth
            && let (Ok(name), Ok(mut value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value.expose()),
            )
        {
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        builder = match &req.body {
            RenderedBody::Empty => builder,
            RenderedBody::Json(v) => builder.json(v),
            RenderedBody::Form(pairs) => builder.form(pairs),
            RenderedBody::Text(t) => builder.body(t.clone()),
            RenderedBody::File { data, .. } => builder.body(data.clone()),
            RenderedBody::Multipart(parts) => builder.multipart(multipart_form(parts)?),
        };
        // Headers last, so the user's Content-Type wins over the body's default.
        builder = builder.headers(headers);
        builder.send().await
    }

    async fn read(
        &self,
        mut resp: reqwest::Response,
        req: &RenderedRequest,
        started: Instant,
        attempts: u32,
    ) -> Result<Exchange, HttpError> {
        let status = resp.status().as_u16();
        let version = version_name(resp.version());
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        if let Some(len) = resp.content_length()
            && len > self.max_body
        {
            return Err(HttpError::TooLarge {
                url: req.url.to_string(),
                limit: self.max_body,
            });
        }
        let mut body = Vec::with_capacity(resp.content_length().unwrap_or(0) as usize);
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() as u64 + chunk.len() as u64 > self.max_body {
                        return Err(HttpError::TooLarge {
                            url: req.url.to_string(),
                            limit: self.max_body,
                        });
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(classify(e, req)),
            }
        }
        Ok(Exchange {
            status,
            version,
            headers,
            body: body.into(),
            elapsed: started.elapsed(),
            attempts,
        })
    }
}

fn version_name(v: reqwest::Version) -> &'static str {
    match v {
        reqwest::Version::HTTP_09 => "HTTP/0.9",
        reqwest::Version::HTTP_10 => "HTTP/1.0",
        reqwest::Version::HTTP_2 => "HTTP/2.0",
        reqwest::Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

fn multipart_form(parts: &[Part]) -> Result<reqwest::multipart::Form, reqwest::Error> {
    let mut form = reqwest::multipart::Form::new();
    for p in parts {
        form = match &p.value {
            PartValue::Text(t) => form.text(p.name.clone(), t.clone()),
            PartValue::File {
                filename,
                content_type,
                data,
            } => {
                let mut part =
                    reqwest::multipart::Part::bytes(data.clone()).file_name(filename.clone());
                if let Some(ct) = content_type {
                    part = part.mime_str(ct)?;
                }
                form.part(p.name.clone(), part)
            }
        };
    }
    Ok(form)
}

pub fn is_idempotent(m: &Method) -> bool {
    matches!(
        *m,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
    )
}

fn is_retryable_status(s: StatusCode) -> bool {
    matches!(s.as_u16(), 429 | 502 | 503 | 504)
}

fn is_tls(e: &reqwest::Error) -> bool {
    let text = error_chain(e).to_ascii_lowercase();
    text.contains("certificate") || text.contains("tls") || text.contains("handshake")
}

/// The delay `Retry-After` asks for: seconds or an HTTP date.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Exponential backoff with jitter; a server's `Retry-After` wins, capped at a minute.
fn backoff(attempt: u32, hint: Option<Duration>) -> Duration {
    if let Some(h) = hint {
        return h.min(Duration::from_secs(60));
    }
    let base = 200u64.saturating_mul(1 << attempt.min(6));
    let capped = base.min(10_000);
    let jitter = rand::random_range(0..=capped / 2);
    Duration::from_millis(capped / 2 + jitter)
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

fn classify(e: reqwest::Error, req: &RenderedRequest) -> HttpError {
    let url = req.url.to_string();
    let detail = if e.is_connect() {
        root_cause(&e)
    } else {
        error_chain(&e)
    };
    if e.is_timeout() {
        HttpError::Timeout {
            url,
            secs: req.timeout.as_secs_f64(),
        }
    } else if is_tls(&e) {
        HttpError::Tls { url, detail }
    } else if e.is_connect() {
        HttpError::Connect { url, detail }
    } else {
        HttpError::Other { url, detail }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_honours_retry_after() {
        for attempt in 1..5 {
            let d = backoff(attempt, None).as_millis() as u64;
            let base = (200u64 << attempt).min(10_000);
            assert!(d >= base / 2 && d <= base, "{attempt}: {d}");
        }
        assert_eq!(
            backoff(1, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(
            backoff(1, Some(Duration::from_secs(600))),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
    }
}
