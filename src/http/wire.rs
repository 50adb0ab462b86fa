//! The fast path: a plain-http hop with its body in memory (none, JSON, a form,
//! text), no proxy in effect, sent over HTTP/1.1 connections of runner's own pool
//! (`pool.rs`, over hyper's connection API). reqwest drives hyper-util's pooled client
//! underneath, and per request it parses the URL twice more, clones the header map
//! three times and the client once, and always runs its retry and redirect layers,
//! which runner does itself (`retry.rs`, `redirect.rs`); hyper-util's pool hashes its
//! key twice and formats the Host header each time.
//! Everything else (https, HTTP/2, proxies, files, multipart, a URL's userinfo,
//! CONNECT) goes through reqwest.
//! What reads the answer takes either kind ([`Resp`]), and failures read as
//! reqwest's do.

use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};

use super::pool::{Lease, Pool, WireError};
use super::{HttpError, RenderedBody, classify, error_chain, is_tls, root_cause};

/// The plain-http connection pool, made once per [`super::Client`].
#[derive(Clone)]
pub(super) struct Wire {
    pool: Pool,
}

/// Why one attempt failed, from either path.
pub(super) enum SendError {
    Reqwest(reqwest::Error),
    /// The fast path's request failed before the head arrived.
    Wire {
        url: String,
        error: WireError,
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
    /// An empty pool. Its sockets are set as reqwest sets its own (`pool.rs`).
    pub(super) fn new() -> Wire {
        Wire {
            pool: Pool::default(),
        }
    }

    /// Whether a hop to `url` with `body` can go this way (a URL's userinfo is left
    /// to reqwest, which sends it as Basic credentials).
    pub(super) fn takes(
        method: &reqwest::Method,
        url: &url::Url,
        body: &RenderedBody,
        with_body: bool,
    ) -> bool {
        url.scheme() == "http"
            && method != reqwest::Method::CONNECT
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
    ) -> Result<Resp, SendError> {
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
        let (response, lease) = tokio::select! {
            biased;
            r = self.pool.send(url, request) => r.map_err(wire_error)?,
            () = deadline.as_mut() => return Err(SendError::Timeout),
        };
        Ok(Resp::Wire(WireResp {
            response,
            deadline,
            lease: Some(lease),
        }))
    }
}

/// The request line's target for `url` on the fast path: its path and query
/// (origin-form, as hyper-util sent it); `None` if `http` refuses it.
pub(super) fn origin_form(url: &url::Url) -> Option<http::Uri> {
    http::Uri::try_from(&url[url::Position::BeforePath..url::Position::AfterQuery]).ok()
}

/// A fast-path answer whose head has arrived, the rest of its timeout, and its
/// connection: back to the pool once the body has been read to its end.
pub(super) struct WireResp {
    response: http::Response<hyper::body::Incoming>,
    deadline: Pin<Box<tokio::time::Sleep>>,
    lease: Option<Lease>,
}

impl Drop for WireResp {
    fn drop(&mut self) {
        // An answer with no body left (none, or a Content-Length all read) leaves its
        // connection free even if nobody asked for the end.
        if let Some(lease) = self.lease.take()
            && http_body::Body::is_end_stream(self.response.body())
        {
            lease.release();
        }
    }
}

/// An answer whose head has arrived: from reqwest, or from the fast path.
pub(super) enum Resp {
    Reqwest(reqwest::Response),
    Wire(WireResp),
}

impl Resp {
    pub(super) fn status(&self) -> reqwest::StatusCode {
        match self {
            Resp::Reqwest(r) => r.status(),
            Resp::Wire(w) => w.response.status(),
        }
    }

    pub(super) fn version(&self) -> reqwest::Version {
        match self {
            Resp::Reqwest(r) => r.version(),
            Resp::Wire(w) => w.response.version(),
        }
    }

    pub(super) fn headers(&self) -> &HeaderMap {
        match self {
            Resp::Reqwest(r) => r.headers(),
            Resp::Wire(w) => w.response.headers(),
        }
    }

    /// The body's length, when the head says it.
    pub(super) fn content_length(&self) -> Option<u64> {
        match self {
            Resp::Reqwest(r) => r.content_length(),
            Resp::Wire(w) => http_body::Body::size_hint(w.response.body()).exact(),
        }
    }

    /// The next piece of the body, `None` at its end. A failure is said as reqwest
    /// says it: a timeout, else the body was cut ([`HttpError::BodyCut`]).
    pub(super) async fn chunk(
        &mut self,
        url: &url::Url,
        timeout: Duration,
    ) -> Result<Option<Bytes>, HttpError> {
        let cut = |detail: String| HttpError::BodyCut {
            url: url.to_string(),
            detail,
        };
        match self {
            Resp::Reqwest(r) => r
                .chunk()
                .await
                .map_err(|e| match classify(e, url, timeout) {
                    HttpError::Other { detail, .. } => cut(detail),
                    other => other,
                }),
            Resp::Wire(w) => loop {
                use http_body_util::BodyExt;
                let frame = tokio::select! {
                    biased;
                    f = w.response.body_mut().frame() => f,
                    () = w.deadline.as_mut() => {
                        return Err(HttpError::Timeout {
                            url: url.to_string(),
                            secs: timeout.as_secs_f64(),
                        });
                    }
                };
                match frame {
                    None => {
                        if let Some(lease) = w.lease.take() {
                            lease.release();
                        }
                        return Ok(None);
                    }
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data() {
                            return Ok(Some(data));
                        }
                    }
                    Some(Err(e)) => {
                        return Err(cut(format!(
                            "error decoding response body: request or response body error: {}",
                            error_chain(&e)
                        )));
                    }
                }
            },
        }
    }
}

/// The bytes of a body held in memory and the `Content-Type` it goes with by default.
fn body_bytes(body: Option<&RenderedBody>) -> (Bytes, Option<&'static str>) {
    match body {
        Some(RenderedBody::Json(json)) => (json.bytes(), Some("application/json")),
        Some(RenderedBody::Form(pairs)) => (
            Bytes::from(super::form::encode(pairs)),
            Some("application/x-www-form-urlencoded"),
        ),
        Some(RenderedBody::Text(t)) => (Bytes::from(t.clone()), None),
        _ => (Bytes::new(), None),
    }
}
