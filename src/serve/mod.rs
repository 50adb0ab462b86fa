//! `runner serve` (SPEC §10): the profile's session as a local gateway. A request in,
//! checked (access key, origin, method), its client credentials dropped, the
//! profile's added; the answer streamed back unchanged. Bodies are never held whole.

use std::io::Write as _;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::auth::MAX_UNAUTHORIZED_RETRIES;
use crate::auth::{AuthHeader, Session};
use crate::cli::{GlobalArgs, ServeArgs};
use crate::env::{Auth, Env};
use crate::error::{Error, InputError};
use crate::http::CredentialPolicy;
use crate::secret::Secret;

/// How long requests in flight may finish after SIGINT or SIGTERM.
pub const GRACE: Duration = Duration::from_secs(10);
/// The header a client presents the access key in.
pub const KEY_HEADER: &str = "x-runner-key";
/// The query parameter a client may present the access key in instead.
pub const KEY_PARAM: &str = "runner_key";

/// Headers that belong to one connection, never forwarded either way (RFC 9110 §7.6.1).
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The credentials the gateway adds to every forwarded request.
enum Credential {
    None,
    Static(HeaderName, HeaderValue),
    OAuth {
        session: Arc<Session>,
        header: AuthHeader,
        name: HeaderName,
    },
}

/// Everything a request needs, shared by all connections.
struct Gateway {
    profile: String,
    base: url::Url,
    client: reqwest::Client,
    policy: CredentialPolicy,
    credential: Credential,
    key: Option<Secret>,
    /// `Host` values (lower case) that name the gateway itself.
    hosts: Vec<String>,
    timeout: Duration,
    access_log: Option<Mutex<std::fs::File>>,
}

/// Why a request was not forwarded, or what went wrong forwarding it: the client
/// gets `status` and a JSON body `{"error": code, "message": ...}`.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl Refusal {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            code,
            message: crate::secret::redact(&message.into()),
        }
    }

    fn response(self) -> Response {
        let body = serde_json::json!({"error": self.code, "message": self.message});
        let mut r = Response::new(Body::from(body.to_string()));
        *r.status_mut() = self.status;
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if self.status == StatusCode::METHOD_NOT_ALLOWED {
            r.headers_mut().insert(
                header::ALLOW,
                HeaderValue::from_static("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"),
            );
        }
        r
    }
}

/// `runner serve`.
pub async fn serve(global: &GlobalArgs, args: &ServeArgs) -> Result<u8, Error> {
    if args.no_key && args.unix.is_none() {
        return Err(InputError::usage(
            "--no-key needs --unix: on a TCP port any local user could use the session",
        )
        .into());
    }
    let env = Env::open(global).await?;
    let Some(base) = env.base_url.clone() else {
        return Err(InputError::usage(format!(
            "profile `{}` has no base_url: runner serve forwards to it",
            env.profile_name
        ))
        .into());
    };
    let credential = credential(&env).await?;
    let key = (!args.no_key).then(new_key);
    let access_log = match &args.access_log {
        Some(path) => Some(Mutex::new(open_log(path)?)),
        None => None,
    };
    let mut gateway = Gateway {
        profile: env.profile_name.clone(),
        base,
        client: env.client.reqwest().clone(),
        policy: env.client.credentials().clone(),
        credential,
        key,
        hosts: Vec::new(),
        timeout: env.timeout,
        access_log,
    };
    let limit = Arc::new(Semaphore::new(usize::from(args.max_connections)));
    match &args.unix {
        Some(path) => {
            if path.exists() {
                return Err(InputError::usage(format!(
                    "{} exists: remove it if no gateway listens there",
                    path.display()
                ))
                .into());
            }
            let listener = tokio::net::UnixListener::bind(path)
                .map_err(|e| Error::io(format!("cannot listen on {}", path.display()), e))?;
            set_owner_only(path)?;
            gateway.hosts = vec!["localhost".to_string()];
            announce(&format!("unix:{}", path.display()), &gateway, global.quiet)?;
            let out = run(
                Limited {
                    inner: listener,
                    limit,
                },
                gateway,
                global.quiet,
            )
            .await;
            let _ = std::fs::remove_file(path);
            out
        }
        None => {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
                .await
                .map_err(|e| Error::io(format!("cannot listen on 127.0.0.1:{}", args.port), e))?;
            let port = listener
                .local_addr()
                .map_err(|e| Error::io("cannot read the listening address", e))?
                .port();
            gateway.hosts = ["127.0.0.1", "localhost", "[::1]"]
                .iter()
                .map(|h| format!("{h}:{port}"))
                .collect();
            announce(&format!("http://127.0.0.1:{port}"), &gateway, global.quiet)?;
            // Headers and body go out as separate writes: without this, Nagle may
            // hold the second until the client acknowledges the first.
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                let _ = tcp.set_nodelay(true);
            });
            run(
                Limited {
                    inner: listener,
                    limit,
                },
                gateway,
                global.quiet,
            )
            .await
        }
    }
}

/// The profile's credentials; an OAuth2 session gets its token now, so that a
/// missing login is said at start rather than to the first client.
async fn credential(env: &Env) -> Result<Credential, Error> {
    Ok(match &env.auth {
        Auth::None => Credential::None,
        Auth::Static {
            in_query: true,
            header,
            ..
        } => {
            return Err(InputError::usage(format!(
                "runner serve cannot add an api_key sent in the query (`{header}`) yet; use `in: header` if the API takes it"
            ))
            .into());
        }
        Auth::Static { header, value, .. } => {
            let name = header_name(header)?;
            let mut value = HeaderValue::from_str(value.expose()).map_err(|_| {
                InputError::usage(format!("the auth header `{header}` has an invalid value"))
            })?;
            value.set_sensitive(true);
            Credential::Static(name, value)
        }
        Auth::OAuth { session, header } => {
            session.token(None).await?;
            Credential::OAuth {
                session: Arc::clone(session),
                name: header_name(&header.name)?,
                header: header.clone(),
            }
        }
    })
}

fn header_name(name: &str) -> Result<HeaderName, Error> {
    HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
        InputError::usage(format!("`{name}` is not a valid header name (auth.header)")).into()
    })
}

/// 256 random bits, hex: the access key. Kept in memory only.
fn new_key() -> Secret {
    let bytes: [u8; 32] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Secret::new(hex)
}

fn open_log(path: &Path) -> Result<std::fs::File, Error> {
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

fn set_owner_only(path: &Path) -> Result<(), Error> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::io(format!("cannot make {} 0600", path.display()), e))?;
    }
    Ok(())
}

/// The address alone on stdout's first line, for scripts; the rest on stderr.
fn announce(address: &str, gw: &Gateway, quiet: bool) -> Result<(), Error> {
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{address}")
            .and_then(|()| out.flush())
            .map_err(|e| Error::io("cannot write to stdout", e))?;
    }
    if !quiet {
        eprintln!(
            "serve: {address} forwards to {} with the credentials of profile `{}`; Ctrl-C stops it",
            gw.base, gw.profile
        );
    }
    // Even with -q: without the key the gateway is no use.
    match &gw.key {
        // Printed raw: this is the one place the key is shown.
        Some(key) => eprintln!(
            "serve: access key (send it as the {KEY_HEADER} header or ?{KEY_PARAM}=): {}",
            key.expose()
        ),
        None => eprintln!("serve: no access key (--no-key): the socket's permissions guard it"),
    }
    Ok(())
}

/// Serves until SIGINT or SIGTERM, then lets the requests in flight finish for up to
/// [`GRACE`].
async fn run<L>(listener: Limited<L>, gw: Gateway, quiet: bool) -> Result<u8, Error>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(Arc::new(gw));
    let stopping = Arc::new(tokio::sync::Notify::new());
    let notify = Arc::clone(&stopping);
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        stop_signal().await;
        if !quiet {
            eprintln!(
                "serve: stopping; requests in flight may finish (up to {} s)",
                GRACE.as_secs()
            );
        }
        notify.notify_one();
    });
    let mut server = std::pin::pin!(server.into_future());
    tokio::select! {
        out = &mut server => {
            out.map_err(|e| Error::io("the gateway stopped", e))?;
        }
        () = async { stopping.notified().await; tokio::time::sleep(GRACE).await } => {
            eprintln!("serve: requests still in flight after {} s were cut", GRACE.as_secs());
        }
    }
    Ok(0)
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// One request: forwarded, or refused; logged either way.
async fn handle(State(gw): State<Arc<Gateway>>, req: Request) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let shown = shown_target(req.uri());
    let response = match gw.forward(req).await {
        Ok(r) => r,
        Err(refusal) => {
            tracing::debug!("refused: {}", refusal.message);
            refusal.response()
        }
    };
    gw.log(&method, &shown, response.status(), started.elapsed());
    response
}

impl Gateway {
    /// Checks `req` (method, key, origin), sends it on with the profile's credential,
    /// refreshing once on a 401 where the request can be sent again, and returns the
    /// answer with its body still streaming.
    async fn forward(&self, req: Request) -> Result<Response, Refusal> {
        if req.method() == Method::CONNECT {
            return Err(Refusal::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "CONNECT is not served: runner serve forwards to the profile's API, it is not a proxy",
            ));
        }
        let (parts, body) = req.into_parts();
        self.check_key(&parts.headers, parts.uri.query())?;
        let url = self.target(&parts)?;
        // HTTP/2 may send a body with neither header: ask the body itself.
        let has_body = !axum::body::HttpBody::is_end_stream(&body);
        let headers = self.forwarded_headers(&parts.headers);
        let mut body = has_body.then_some(body);
        let mut token = match &self.credential {
            Credential::OAuth { session, .. } => {
                Some(session.token(None).await.map_err(|e| token_refusal(&e))?.0)
            }
            _ => None,
        };
        let mut attempts = 0;
        loop {
            let rb = self
                .client
                .request(parts.method.clone(), url.clone())
                .headers(headers.clone());
            let rb = self.with_credential(rb, token.as_ref())?;
            let rb = match body.take() {
                Some(b) => rb.body(reqwest::Body::wrap_stream(b.into_data_stream())),
                None => rb,
            };
            let resp = self.send(rb, &parts.method, &url).await?;
            // A body already sent cannot be sent again: its 401 goes back as is, as
            // does a POST's (not idempotent).
            let retry = resp.status() == StatusCode::UNAUTHORIZED
                && !has_body
                && crate::http::is_idempotent(&parts.method)
                && attempts < MAX_UNAUTHORIZED_RETRIES;
            let (true, Credential::OAuth { session, .. }, Some(t)) =
                (retry, &self.credential, &token)
            else {
                return Ok(stream_back(resp, self.timeout));
            };
            attempts += 1;
            tracing::info!("401 from the API: refreshing the token and retrying");
            let (fresh, granted_here) = session
                .token(Some(t))
                .await
                .map_err(|e| token_refusal(&e))?;
            if granted_here {
                // This process's own new token is the last word: one more try.
                attempts = MAX_UNAUTHORIZED_RETRIES;
            }
            token = Some(fresh);
        }
    }

    /// `rb` with the profile's credential (`token`: the session's access token).
    fn with_credential(
        &self,
        rb: reqwest::RequestBuilder,
        token: Option<&Secret>,
    ) -> Result<reqwest::RequestBuilder, Refusal> {
        Ok(match (&self.credential, token) {
            (Credential::Static(name, value), _) => rb.header(name, value),
            (Credential::OAuth { header, name, .. }, Some(t)) => {
                let mut value = HeaderValue::from_str(header.value(t).expose()).map_err(|_| {
                    Refusal::new(
                        StatusCode::BAD_GATEWAY,
                        "token_error",
                        "the access token cannot go in a header",
                    )
                })?;
                value.set_sensitive(true);
                rb.header(name, value)
            }
            _ => rb,
        })
    }

    /// Sends `rb`, up to the head of the answer, within the profile's timeout.
    async fn send(
        &self,
        rb: reqwest::RequestBuilder,
        method: &Method,
        url: &url::Url,
    ) -> Result<reqwest::Response, Refusal> {
        let origin = url.origin().ascii_serialization();
        match tokio::time::timeout(self.timeout, rb.send()).await {
            Err(_) => Err(Refusal::new(
                StatusCode::GATEWAY_TIMEOUT,
                "gateway_timeout",
                format!(
                    "no answer from {origin} within {} s (http.timeout)",
                    self.timeout.as_secs()
                ),
            )),
            Ok(Err(e)) => Err(Refusal::new(
                StatusCode::BAD_GATEWAY,
                "bad_gateway",
                format!("{method} {origin}: {}", crate::http::error_chain(&e)),
            )),
            Ok(Ok(r)) => Ok(r),
        }
    }

    /// The access key, from the header or the query, compared in constant time.
    fn check_key(&self, headers: &HeaderMap, query: Option<&str>) -> Result<(), Refusal> {
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

    /// Where the request goes: the path and query appended to `base_url` when the
    /// request names the gateway (a path already under base_url's, as the API's own
    /// page links are, is kept as is); as is, when it names one of the profile's
    /// origins (absolute form or `Host`). Anything else is 403.
    fn target(&self, parts: &axum::http::request::Parts) -> Result<url::Url, Refusal> {
        let path = parts.uri.path();
        let query = strip_key(parts.uri.query());
        let query = query.map(|q| format!("?{q}")).unwrap_or_default();
        // HTTP/2 always carries the authority; HTTP/1.1 only in absolute form.
        let absolute =
            parts.version != axum::http::Version::HTTP_2 && parts.uri.authority().is_some();
        if absolute {
            let scheme = parts.uri.scheme_str().unwrap_or("http");
            let authority = parts.uri.authority().map_or("", |a| a.as_str());
            let text = format!("{scheme}://{authority}{path}{query}");
            return match url::Url::parse(&text) {
                Ok(u) if self.policy.trusts(&u) => Ok(u),
                Ok(u) => Err(foreign_origin(&u.origin().ascii_serialization())),
                Err(_) => Err(foreign_origin(&format!("{scheme}://{authority}"))),
            };
        }
        let host = match parts.version {
            axum::http::Version::HTTP_2 => parts.uri.authority().map(|a| a.as_str().to_string()),
            _ => parts
                .headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string),
        }
        .unwrap_or_default()
        .to_ascii_lowercase();
        let text = if self.hosts.contains(&host) {
            let base = self.base.path().trim_end_matches('/');
            // A path under base_url's already (a page link the API sent) is kept.
            let base =
                if path == base || path.strip_prefix(base).is_some_and(|r| r.starts_with('/')) {
                    ""
                } else {
                    base
                };
            format!(
                "{}{base}{path}{query}",
                self.base.origin().ascii_serialization()
            )
        } else if let Some(origin) = self.policy.origins.iter().find(|o| names(o, &host)) {
            format!("{}{path}{query}", origin.ascii_serialization())
        } else {
            return Err(Refusal::new(
                StatusCode::FORBIDDEN,
                "forbidden_host",
                format!(
                    "Host `{host}` names neither this gateway nor an origin of profile `{}`",
                    self.profile
                ),
            ));
        };
        url::Url::parse(&text).map_err(|e| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("cannot forward to `{text}`: {e}"),
            )
        })
    }

    /// The client's headers minus those of the connection, the `Host`, the access
    /// key and every credential (the profile's own are added instead).
    fn forwarded_headers(&self, from: &HeaderMap) -> HeaderMap {
        let listed: Vec<String> = from
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|s| s.trim().to_ascii_lowercase())
            .collect();
        let own = match &self.credential {
            Credential::Static(name, _) | Credential::OAuth { name, .. } => Some(name.as_str()),
            Credential::None => None,
        };
        let mut out = HeaderMap::new();
        for (name, value) in from {
            let n = name.as_str();
            // `Expect: 100-continue` is answered here, by the gateway's own server.
            let dropped = HOP_BY_HOP.contains(&n)
                || n == "host"
                || n == "expect"
                || n == KEY_HEADER
                || Some(n) == own
                || self.policy.is_sensitive(n)
                || listed.iter().any(|l| l == n);
            if !dropped {
                out.append(name.clone(), value.clone());
            }
        }
        out
    }

    /// One line per request at `-v`; the same as a JSON line in `--access-log`.
    fn log(&self, method: &Method, target: &str, status: StatusCode, elapsed: Duration) {
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

fn foreign_origin(origin: &str) -> Refusal {
    Refusal::new(
        StatusCode::FORBIDDEN,
        "forbidden_origin",
        format!("{origin} is not an origin of the profile (base_url, auth.origins)"),
    )
}

fn token_refusal(e: &crate::auth::AuthError) -> Refusal {
    Refusal::new(
        StatusCode::BAD_GATEWAY,
        "token_error",
        format!("no access token: {e}"),
    )
}

/// Whether `host` (a `Host` value, lower case) names `origin`.
fn names(origin: &url::Origin, host: &str) -> bool {
    let url::Origin::Tuple(scheme, h, port) = origin else {
        return false;
    };
    let default = if scheme == "https" { 443 } else { 80 };
    let full = format!("{h}:{port}");
    host == full || (*port == default && host == h.to_string())
}

/// The answer, status and headers as they came (minus those of the connection), its
/// body streamed. A body that stalls for `idle` is cut: the client sees it end short.
fn stream_back(resp: reqwest::Response, idle: Duration) -> Response {
    let status = resp.status();
    let mut headers = HeaderMap::new();
    for (name, value) in resp.headers() {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            headers.append(name.clone(), value.clone());
        }
    }
    let chunks = futures_util::stream::unfold(Some(resp.bytes_stream()), move |state| async move {
        use futures_util::StreamExt;
        let mut body = state?;
        match tokio::time::timeout(idle, body.next()).await {
            Ok(Some(Ok(chunk))) => Some((Ok(chunk), Some(body))),
            Ok(Some(Err(e))) => Some((Err(std::io::Error::other(e)), None)),
            Ok(None) => None,
            Err(_) => Some((
                Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the API sent nothing for the profile's http.timeout",
                )),
                None,
            )),
        }
    });
    let mut r = Response::new(Body::from_stream(chunks));
    *r.status_mut() = status;
    *r.headers_mut() = headers;
    r
}

/// The query without the access key (`None` when nothing is left).
fn strip_key(query: Option<&str>) -> Option<String> {
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

/// The path and query for logs: no access key, and values of parameters whose names
/// say they carry credentials masked.
fn shown_target(uri: &axum::http::Uri) -> String {
    let Some(query) = strip_key(uri.query()) else {
        return crate::secret::redact(uri.path());
    };
    let masked: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if crate::http::is_sensitive_header(name) => format!("{name}=***"),
            _ => pair.to_string(),
        })
        .collect();
    crate::secret::redact(&format!("{}?{}", uri.path(), masked.join("&")))
}

/// `a == b`, in a time that depends on their lengths only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A listener that accepts at most `limit` connections at once; more wait in the
/// kernel's backlog until one closes.
struct Limited<L> {
    inner: L,
    limit: Arc<Semaphore>,
}

impl<L: axum::serve::Listener> axum::serve::Listener for Limited<L> {
    type Io = Counted<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // Never closed; were it, accepting without a bound beats stopping.
        let permit = Arc::clone(&self.limit).acquire_owned().await.ok();
        let (io, addr) = self.inner.accept().await;
        (
            Counted {
                io,
                _permit: permit,
            },
            addr,
        )
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection holding its place under `--max-connections` until dropped.
struct Counted<T> {
    io: T,
    _permit: Option<OwnedSemaphorePermit>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Counted<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
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
    fn a_host_names_an_origin_with_or_without_its_default_port() {
        let o = url::Url::parse("https://api.example.com/v1")
            .unwrap()
            .origin();
        assert!(names(&o, "api.example.com"));
        assert!(names(&o, "api.example.com:443"));
        assert!(!names(&o, "api.example.com:80"));
        assert!(!names(&o, "evil.example.com"));
    }

    #[test]
    fn logs_mask_credentials_in_the_query() {
        let uri: axum::http::Uri = "/a?runner_key=k&access_token=t&page=1".parse().unwrap();
        assert_eq!(shown_target(&uri), "/a?access_token=***&page=1");
    }
}
