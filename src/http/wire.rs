//! The fast path: a plain-http hop with its body in memory (none, JSON, a form,
//! text), no proxy in effect, sent through hyper-util's pooled client directly.
//! reqwest drives the same client underneath, but per request it parses the URL twice
//! more, clones the header map three times and the client once, and always runs its
//! retry and redirect layers, which runner does itself (`retry.rs`, `redirect.rs`).
//! Everything else (https, HTTP/2, proxies, files, multipart, a URL's userinfo) goes
//! through reqwest.
//! The answer is handed back as a `reqwest::Response`, so that what reads it is the
//! same either way, and failures read as reqwest's do.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::{Client, connect::HttpConnector};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};

use super::{HttpError, RenderedBody, classify, error_chain, is_tls, root_cause};

/// The pooled plain-http client, made once per [`super::Client`].
#[derive(Clone)]
pub(super) struct Wire {
    client: Client<HttpConnector, Full<Bytes>>,
}

/// Why one attempt failed, from either path.
pub(super) enum SendError {
    Reqwest(reqwest::Error),
    /// The fast path's request failed before the head arrived.
    Wire {
        url: String,
        error: hyper_util::client::legacy::Error,
    },
    /// The fast path's timeout passed before the head arrived.
    Timeout,
}

impl SendError {
    /// The connection was never made: the request was not sent.
    pub(super) fn is_connect(&self) -> bool {
        match self {
            SendError::Reqwest(e) => e.is_connect(),
            SendError::Wire { error, .. } => error.is_connect(),
            SendError::Timeout => false,
        }
    }

    pub(super) fn is_tls(&self) -> bool {
        matches!(self, SendError::Reqwest(e) if is_tls(e))
    }

    /// The error as runner says it, in the words reqwest would have used.
    pub(super) fn classify(self, url: &url::Url, timeout: Duration) -> HttpError {
        match self {
            SendError::Reqwest(e) => classify(e, url, timeout),
            SendError::Timeout => HttpError::Timeout {
                url: url.to_string(),
                secs: timeout.as_secs_f64(),
            },
            SendError::Wire { error, .. } if error.is_connect() => HttpError::Connect {
                url: url.to_string(),
                detail: root_cause(&error),
            },
            SendError::Wire { url: sent, error } => HttpError::Other {
                url: url.to_string(),
                detail: format!(
                    "error sending request for url ({sent}): {}",
                    error_chain(&error)
                ),
            },
        }
    }
}

impl Wire {
    /// The client as reqwest configures its own: no delay on the socket, idle
    /// connections kept 90 s, the tokio timer.
    pub(super) fn new() -> Wire {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(hyper_util::rt::TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_timer(hyper_util::rt::TokioTimer::new())
            .build(connector);
        Wire { client }
    }

    /// Whether a hop to `url` with `body` can go this way (a URL's userinfo is left
    /// to reqwest, which sends it as Basic credentials).
    pub(super) fn takes(url: &url::Url, body: &RenderedBody, with_body: bool) -> bool {
        url.scheme() == "http"
            && url.username().is_empty()
            && url.password().is_none()
            && (!with_body
                || matches!(
                    body,
                    RenderedBody::Empty
                        | RenderedBody::Json(_)
                        | RenderedBody::Form(_)
                        | RenderedBody::Text(_)
                ))
    }

    /// One attempt: `headers` as the hop carries them, the body (unless a redirect
    /// dropped it), the defaults reqwest adds where the request has none.
    pub(super) async fn send(
        &self,
        method: reqwest::Method,
        url: &url::Url,
        uri: http::Uri,
        mut headers: HeaderMap,
        body: Option<&RenderedBody>,
        timeout: Duration,
    ) -> Result<reqwest::Response, SendError> {
        let (bytes, content_type) = body_bytes(body);
        if let Some(ct) = content_type
            && !headers.contains_key(CONTENT_TYPE)
        {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
        }
        if !headers.contains_key(USER_AGENT) {
            headers.insert(USER_AGENT, HeaderValue::from_static(super::USER_AGENT));
        }
        if !headers.contains_key(ACCEPT) {
            headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
        }
        let wire_error = |error| SendError::Wire {
            url: url.to_string(),
            error,
        };
        let mut request = http::Request::new(Full::new(bytes));
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        let mut deadline = Box::pin(tokio::time::sleep(timeout));
        let response = tokio::select! {
            biased;
            r = self.client.request(request) => r.map_err(wire_error)?,
            () = deadline.as_mut() => return Err(SendError::Timeout),
        };
        let (parts, body) = response.into_parts();
        let body = reqwest::Body::wrap(Deadline {
            inner: body,
            deadline,
        });
        Ok(reqwest::Response::from(http::Response::from_parts(
            parts, body,
        )))
    }
}

/// The bytes of a body held in memory and the `Content-Type` it goes with by default.
fn body_bytes(body: Option<&RenderedBody>) -> (Bytes, Option<&'static str>) {
    match body {
        Some(RenderedBody::Json(v)) => (
            serde_json::to_vec(v).map(Bytes::from).unwrap_or_default(),
            Some("application/json"),
        ),
        Some(RenderedBody::Form(pairs)) => (
            Bytes::from(super::form::encode(pairs)),
            Some("application/x-www-form-urlencoded"),
        ),
        Some(RenderedBody::Text(t)) => (Bytes::from(t.clone()), None),
        _ => (Bytes::new(), None),
    }
}

/// A failure reading a body, said as reqwest says it (its source follows).
#[derive(Debug)]
struct BodyError(Box<dyn std::error::Error + Send + Sync>);

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("request or response body error")
    }
}

impl std::error::Error for BodyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

/// A response body cut at the request's timeout, as reqwest cuts its own: the error
/// is an `io::Error` of kind `TimedOut`, which reqwest's `is_timeout` recognises.
struct Deadline {
    inner: hyper::body::Incoming,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl http_body::Body for Deadline {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        use std::future::Future;
        if self.deadline.as_mut().poll(cx).is_ready() {
            let timed_out =
                std::io::Error::new(std::io::ErrorKind::TimedOut, "operation timed out");
            return Poll::Ready(Some(Err(Box::new(BodyError(Box::new(timed_out))))));
        }
        Pin::new(&mut self.inner)
            .poll_frame(cx)
            .map_err(|e| Box::new(BodyError(Box::new(e))) as Self::Error)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
