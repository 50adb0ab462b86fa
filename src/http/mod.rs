//! The HTTP client: a rendered request in, an exchange out, with the retry rules of
//! SPEC §7. Knows nothing of YAML, templates or tokens (the caller passes the
//! authorization header it wants sent).

pub mod header;
pub mod tls;

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

/// The profile's credential for one request: a header (the auth header, whatever its
/// name and scheme), or a query parameter (`api_key` with `in: query`). Either goes
/// only where the credential policy allows, hop by hop.
#[derive(Debug, Clone, Copy)]
pub struct Credential<'a> {
    pub name: &'a str,
    pub value: &'a Secret,
    pub in_query: bool,
}

impl<'a> Credential<'a> {
    pub fn header(name: &'a str, value: &'a Secret) -> Credential<'a> {
        Credential {
            name,
            value,
            in_query: false,
        }
    }
}

/// A host that never leaves the machine: `localhost`, 127.0.0.0/8, `::1`.
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Headers whose values are credentials, whatever a profile calls its own.
pub fn is_sensitive_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "set-cookie"
    ) || n.contains("token")
        || n.contains("api-key")
        || n.contains("apikey")
        || n.contains("secret")
}

#[derive(Debug, Clone, Default)]
pub enum RenderedBody {
    #[default]
    Empty,
    Json(serde_json::Value),
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

/// Bytes read from an upload's file at a time.
const UPLOAD_CHUNK: usize = 256 * 1024;

impl FileBody {
    /// The body for one attempt: the held bytes, or the file streamed from disk.
    fn body(&self) -> reqwest::Body {
        use futures_util::TryStreamExt;
        if let Some(bytes) = &self.held {
            return reqwest::Body::from(bytes.clone());
        }
        let path = self.path.clone();
        let chunks = futures_util::stream::once(tokio::fs::File::open(path))
            .map_ok(|f| tokio_util::io::ReaderStream::with_capacity(f, UPLOAD_CHUNK))
            .try_flatten();
        reqwest::Body::wrap_stream(chunks)
    }
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
    pub headers: Vec<(String, String)>,
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
    pub credentials: CredentialPolicy,
    pub redirects: RedirectPolicy,
}

/// Where credentials may go (SPEC §4): the auth header and the profile's sensitive
/// headers only to `origins`; a request file's own sensitive headers also to its URL's
/// origin; none of them over a hop from https to http.
#[derive(Debug, Clone, Default)]
pub struct CredentialPolicy {
    /// The origins (scheme, host, port) of `base_url` and `auth.origins`.
    pub origins: Vec<url::Origin>,
    /// Header names (any case) that carry credentials besides those
    /// [`is_sensitive_header`] knows: the auth header's own name, `http.sensitive_headers`.
    pub sensitive: Vec<String>,
}

impl CredentialPolicy {
    pub fn is_sensitive(&self, name: &str) -> bool {
        is_sensitive_header(name) || self.sensitive.iter().any(|s| s.eq_ignore_ascii_case(name))
    }

    /// Whether `url`'s origin is one the credentials may go to.
    pub fn trusts(&self, url: &url::Url) -> bool {
        let origin = url.origin();
        self.origins.contains(&origin)
    }
}

/// Redirects, followed by runner itself so that the origin rule holds at every hop.
#[derive(Debug, Clone, Copy)]
pub struct RedirectPolicy {
    /// `http.follow_redirects`: false returns a 3xx as the response.
    pub follow: bool,
    /// `http.max_redirects`: more hops than this is an error.
    pub max: u32,
}

/// SPEC §3: `http.max_redirects` when the profile does not say.
pub const DEFAULT_MAX_REDIRECTS: u32 = 10;

impl Default for RedirectPolicy {
    fn default() -> Self {
        RedirectPolicy {
            follow: true,
            max: DEFAULT_MAX_REDIRECTS,
        }
    }
}

/// The part of a request that changes from hop to hop of a redirect chain.
#[derive(Debug, Clone)]
struct Hop {
    method: Method,
    url: url::Url,
    /// 301/302/303 turn a POST into a GET without its body.
    with_body: bool,
    /// The profile's credentials may go with this hop.
    profile_creds: bool,
    /// The request file's own sensitive headers may go with this hop.
    file_creds: bool,
}

/// Most of a body a response's `Content-Length` may reserve before the bytes arrive.
const MAX_PREALLOCATION: u64 = 1024 * 1024;

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
        let config = crate::http::tls::client_config(roots, self.insecure)?;
        Ok(builder.tls_backend_preconfigured(config))
    }
}

/// One connection pool for the whole run.
#[derive(Clone)]
pub struct Client {
    inner: reqwest::Client,
    max_body: u64,
    credentials: std::sync::Arc<CredentialPolicy>,
    redirects: RedirectPolicy,
}

impl Client {
    pub fn new(opts: ClientOptions) -> Result<Client, HttpError> {
        // Redirects are runner's own (`send`): reqwest would carry custom credential
        // headers to any host a Location names.
        let builder = reqwest::Client::builder()
            .user_agent(concat!("runner/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none());
        let inner = opts
            .tls
            .apply(builder)
            .map_err(HttpError::Client)?
            .build()
            .map_err(|e| HttpError::Client(e.to_string()))?;
        Ok(Client {
            inner,
            max_body: opts.max_body,
            credentials: std::sync::Arc::new(opts.credentials),
            redirects: opts.redirects,
        })
    }

    /// The underlying reqwest client (the profile's TLS settings, no redirects
    /// followed), for `runner serve`, which streams requests it did not render.
    pub fn reqwest(&self) -> &reqwest::Client {
        &self.inner
    }

    /// Where the profile's credentials may go.
    pub fn credentials(&self) -> &CredentialPolicy {
        &self.credentials
    }

    /// Sends `req` and reads the whole response body (at most `http.max_body`).
    pub async fn send(
        &self,
        req: &RenderedRequest,
        auth: Option<Credential<'_>>,
    ) -> Result<Exchange, HttpError> {
        self.open(req, auth).await?.read().await
    }

    /// Sends `req`, following redirects hop by hop and retrying each hop as SPEC §7
    /// allows, up to the head of the answer. `auth` is the profile's auth header (name
    /// and value), sent marked sensitive and only where the credential policy allows.
    pub async fn open(
        &self,
        req: &RenderedRequest,
        auth: Option<Credential<'_>>,
    ) -> Result<Incoming, HttpError> {
        let started = Instant::now();
        let mut hop = Hop {
            method: req.method.clone(),
            url: req.url.clone(),
            with_body: true,
            profile_creds: self.credentials.trusts(&req.url),
            file_creds: req.url.origin() == req.file_origin,
        };
        self.note_withheld(req, auth, &hop, None);
        let mut visited = vec![(hop.method.clone(), hop.url.clone())];
        let mut attempts = 0;
        loop {
            let (resp, tries) = self.send_hop(req, auth, &hop).await?;
            attempts += tries;
            let Some(next) = self.next_hop(req, &hop, &resp, visited.len() as u32)? else {
                let auth_sent = auth.is_some() && hop.profile_creds;
                return Ok(Incoming::new(
                    resp,
                    hop.url,
                    started,
                    attempts,
                    auth_sent,
                    self.max_body,
                    req.timeout,
                ));
            };
            if visited.contains(&(next.method.clone(), next.url.clone())) {
                return Err(HttpError::Protocol {
                    url: req.url.to_string(),
                    detail: format!("redirect loop: {} was already visited", next.url),
                });
            }
            self.note_withheld(req, auth, &next, Some(&hop));
            visited.push((next.method.clone(), next.url.clone()));
            hop = next;
        }
    }

    /// Where a 3xx response sends the request next, or `None` when `resp` is the
    /// answer. `hops` is how many requests the chain has made so far.
    fn next_hop(
        &self,
        req: &RenderedRequest,
        hop: &Hop,
        resp: &reqwest::Response,
        hops: u32,
    ) -> Result<Option<Hop>, HttpError> {
        let status = resp.status().as_u16();
        if !self.redirects.follow || !matches!(status, 301 | 302 | 303 | 307 | 308) {
            return Ok(None);
        }
        let Some(location) = resp.headers().get(reqwest::header::LOCATION) else {
            return Ok(None);
        };
        let protocol = |detail: String| HttpError::Protocol {
            url: hop.url.to_string(),
            detail,
        };
        let location = location
            .to_str()
            .map_err(|_| protocol(format!("status {status} with a Location that is not text")))?;
        let url = hop.url.join(location).map_err(|e| {
            protocol(format!(
                "status {status} to an invalid URL `{location}`: {e}"
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(protocol(format!(
                "status {status} to `{url}`: only http and https are followed"
            )));
        }
        if hops > self.redirects.max {
            return Err(HttpError::Protocol {
                url: req.url.to_string(),
                detail: format!(
                    "more than {} redirects (http.max_redirects); the last went to {url}",
                    self.redirects.max
                ),
            });
        }
        // RFC 9110 §15.4: 303 asks for a GET; 301 and 302 turn a POST into a GET as
        // every client does; 307 and 308 keep the method and the body.
        let to_get = match status {
            303 => hop.method != Method::HEAD,
            301 | 302 => hop.method == Method::POST,
            _ => false,
        };
        let downgrade = hop.url.scheme() == "https" && url.scheme() == "http";
        tracing::info!("< {status} redirect to {url}");
        Ok(Some(Hop {
            method: if to_get {
                Method::GET
            } else {
                hop.method.clone()
            },
            with_body: hop.with_body && !to_get,
            // Once withheld, credentials stay withheld for the rest of the chain.
            profile_creds: hop.profile_creds && !downgrade && self.credentials.trusts(&url),
            file_creds: hop.file_creds && !downgrade && url.origin() == req.file_origin,
            url,
        }))
    }

    /// Says at `-v`, in one line, that credentials stay behind on `hop`.
    fn note_withheld(
        &self,
        req: &RenderedRequest,
        auth: Option<Credential<'_>>,
        hop: &Hop,
        from: Option<&Hop>,
    ) {
        let withheld_profile = !hop.profile_creds
            && (auth.is_some()
                || req
                    .headers
                    .iter()
                    .any(|h| h.from_profile && self.credentials.is_sensitive(&h.name)));
        let withheld_file = !hop.file_creds
            && req
                .headers
                .iter()
                .any(|h| !h.from_profile && self.credentials.is_sensitive(&h.name));
        let was_sending = from.is_none_or(|f| f.profile_creds || f.file_creds);
        if !(withheld_profile || withheld_file) || !was_sending {
            return;
        }
        let origin = hop.url.origin().ascii_serialization();
        let downgrade =
            from.is_some_and(|f| f.url.scheme() == "https" && hop.url.scheme() == "http");
        if downgrade {
            tracing::info!("credentials not sent to {origin}: the redirect leaves https for http");
        } else {
            tracing::info!(
                "credentials not sent to {origin}: not an origin of the profile (base_url, auth.origins)"
            );
        }
    }

    /// One hop, retried as SPEC §7 allows: the response and how many attempts it took.
    async fn send_hop(
        &self,
        req: &RenderedRequest,
        auth: Option<Credential<'_>>,
        hop: &Hop,
    ) -> Result<(reqwest::Response, u32), HttpError> {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let outcome = self.send_once(req, auth, hop).await;
            let retry_after = match &outcome {
                Ok(resp) if is_retryable_status(resp.status()) => {
                    // 429 says the request was not processed: safe for any method.
                    let allowed = resp.status() == StatusCode::TOO_MANY_REQUESTS
                        || is_idempotent(&hop.method);
                    if allowed && attempt <= req.retries {
                        Some(retry_after(resp.headers()))
                    } else {
                        None
                    }
                }
                Ok(_) => None,
                Err(e) => {
                    let allowed = e.is_connect() || is_idempotent(&hop.method);
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
                    hop.method,
                    hop.url,
                    wait.as_millis(),
                    attempt.saturating_add(1),
                    req.retries.saturating_add(1)
                );
                tokio::time::sleep(wait).await;
                continue;
            }
            return outcome
                .map(|resp| (resp, attempt))
                .map_err(|e| classify(e, &hop.url, req.timeout));
        }
    }

    async fn send_once(
        &self,
        req: &RenderedRequest,
        auth: Option<Credential<'_>>,
        hop: &Hop,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let mut headers = reqwest::header::HeaderMap::new();
        for h in &req.headers {
            let allowed = if !self.credentials.is_sensitive(&h.name) {
                true
            } else if h.from_profile {
                hop.profile_creds
            } else {
                hop.file_creds || hop.profile_creds
            };
            let describes_body = h.name.eq_ignore_ascii_case("content-type")
                || h.name.eq_ignore_ascii_case("content-length");
            if !allowed || (describes_body && !hop.with_body) {
                continue;
            }
            // Rendering refused every name that is not a token and every value with a
            // control character (`crate::http::header`), so nothing is skipped here; values
            // are taken as bytes, as non-ASCII text is sent (`from_str` would refuse it).
            if let (Ok(name), Ok(mut value)) = (
                HeaderName::from_bytes(h.name.as_bytes()),
                HeaderValue::from_bytes(h.value.as_bytes()),
            ) {
                value.set_sensitive(self.credentials.is_sensitive(&h.name));
                headers.insert(name, value);
            }
        }
        let mut url = hop.url.clone();
        match auth {
            Some(c) if hop.profile_creds && c.in_query => {
                url.query_pairs_mut().append_pair(c.name, c.value.expose());
            }
            Some(c) if hop.profile_creds => {
                if let (Ok(name), Ok(mut value)) = (
                    HeaderName::from_bytes(c.name.as_bytes()),
                    HeaderValue::from_str(c.value.expose()),
                ) {
                    value.set_sensitive(true);
                    headers.insert(name, value);
                }
            }
            _ => {}
        }
        let mut builder = self
            .inner
            .request(hop.method.clone(), url)
            .timeout(req.timeout);
        builder = match (&req.body, hop.with_body) {
            (_, false) | (RenderedBody::Empty, _) => builder,
            (RenderedBody::Json(v), _) => builder.json(v),
            (RenderedBody::Form(pairs), _) => builder.form(pairs),
            (RenderedBody::Text(t), _) => builder.body(t.clone()),
            (RenderedBody::File(file), _) => builder
                .header(reqwest::header::CONTENT_LENGTH, file.len)
                .body(file.body()),
            (RenderedBody::Multipart(parts), _) => builder.multipart(multipart_form(parts)?),
        };
        // Headers last, so the user's Content-Type wins over the body's default.
        builder = builder.headers(headers);
        builder.send().await
    }
}

/// A response whose head has arrived and whose body has not been read yet.
pub struct Incoming {
    /// Status, headers and URL; the body is empty until read.
    pub head: Exchange,
    resp: reqwest::Response,
    started: Instant,
    max_body: u64,
    timeout: Duration,
}

/// Why streaming a body stopped.
#[derive(Debug)]
pub enum StreamError {
    Http(HttpError),
    /// The sink could not take the bytes (stdout closed, disk full).
    Write(std::io::Error),
}

impl Incoming {
    fn new(
        resp: reqwest::Response,
        url: url::Url,
        started: Instant,
        attempts: u32,
        auth_sent: bool,
        max_body: u64,
        timeout: Duration,
    ) -> Incoming {
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
        let head = Exchange {
            url,
            status: resp.status().as_u16(),
            version: version_name(resp.version()),
            headers,
            body: bytes::Bytes::new(),
            size: 0,
            elapsed: started.elapsed(),
            attempts,
            auth_sent,
        };
        Incoming {
            head,
            resp,
            started,
            max_body,
            timeout,
        }
    }

    fn error(&self, e: reqwest::Error) -> HttpError {
        match classify(e, &self.head.url, self.timeout) {
            HttpError::Other { url, detail } => HttpError::BodyCut { url, detail },
            other => other,
        }
    }

    /// Reads the whole body, refusing one larger than `http.max_body`.
    pub async fn read(mut self) -> Result<Exchange, HttpError> {
        let too_large = |url: &url::Url| HttpError::TooLarge {
            url: url.to_string(),
            limit: self.max_body,
        };
        if let Some(len) = self.resp.content_length()
            && len > self.max_body
        {
            return Err(too_large(&self.head.url));
        }
        // A server's Content-Length is a claim, not bytes: reserve little up front.
        let reserve = self
            .resp
            .content_length()
            .unwrap_or(0)
            .min(MAX_PREALLOCATION)
            .min(self.max_body);
        let mut body = Vec::with_capacity(usize::try_from(reserve).unwrap_or(0));
        loop {
            match self.resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() as u64 + chunk.len() as u64 > self.max_body {
                        return Err(too_large(&self.head.url));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(self.error(e)),
            }
        }
        let mut ex = self.head;
        ex.size = body.len() as u64;
        ex.body = body.into();
        ex.elapsed = self.started.elapsed();
        Ok(ex)
    }

    /// Hands the body to `sink` chunk by chunk as it arrives, holding none of it:
    /// `http.max_body` does not apply. The exchange's body stays empty; `size` counts.
    pub async fn stream(
        mut self,
        sink: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<Exchange, StreamError> {
        let mut size = 0u64;
        loop {
            match self.resp.chunk().await {
                Ok(Some(chunk)) => {
                    size += chunk.len() as u64;
                    sink(&chunk).map_err(StreamError::Write)?;
                }
                Ok(None) => break,
                Err(e) => return Err(StreamError::Http(self.error(e))),
            }
        }
        let mut ex = self.head;
        ex.size = size;
        ex.elapsed = self.started.elapsed();
        Ok(ex)
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
                file,
            } => {
                let mut part = reqwest::multipart::Part::stream_with_length(file.body(), file.len)
                    .file_name(filename.clone());
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
pub fn backoff(attempt: u32, hint: Option<Duration>) -> Duration {
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

fn classify(e: reqwest::Error, url: &url::Url, timeout: Duration) -> HttpError {
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
