//! Forwarding one request: where it goes (the profile's origins only), the headers
//! that go with it (the client's credentials dropped, the profile's added), and the
//! answer streamed back; a 401 refreshes the session's token where the request can be
//! sent again.

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;

use super::access::strip_key;
use super::headers::add_profile_headers;
use super::refusal::{Refusal, foreign_origin, userinfo};
use super::{Credential, Gateway, KEY_HEADER};
use crate::auth::Answer;
use crate::http::ProofSource;
use crate::secret::Secret;

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

impl Gateway {
    /// Checks `req` (method, key, origin), sends it on with the profile's credential,
    /// refreshing the token on a 401 where the request can be sent again
    /// ([`Session::send_authorized`](crate::auth::Session::send_authorized)), and
    /// returns the answer with its body still streaming.
    pub(super) async fn forward(&self, req: Request) -> Result<Response, Refusal> {
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
        let mut headers = self.forwarded_headers(&parts.headers);
        add_profile_headers(
            &mut headers,
            &self.headers,
            self.policy.trusts(&url),
            self.own_header(),
        );
        let mut body = has_body.then_some(body);
        let method = &parts.method;
        // The request with the profile's credential (`token`: the session's access
        // token); the client's body goes with the first only.
        let mut request = |token: Option<&Secret>| {
            let rb = self
                .client
                .request(method.clone(), url.clone())
                .headers(headers.clone());
            let rb = self.with_credential(rb, token, method, &url)?;
            Ok::<_, Refusal>(match body.take() {
                Some(b) => rb.body(reqwest::Body::wrap_stream(b.into_data_stream())),
                None => rb,
            })
        };
        let Credential::OAuth { session, .. } = &self.credential else {
            let resp = self.send(request(None)?, method, &url).await?;
            return Ok(stream_back(resp, self.timeout));
        };
        // A body already sent cannot be sent again: its 401 goes back as is, as does a
        // POST's (not idempotent).
        let replayable = !has_body && crate::http::is_idempotent(method);
        let url = &url;
        let answer = session
            .send_authorized(|token: &Secret| {
                let rb = request(Some(token));
                let token = token.clone();
                let headers = &headers;
                async move {
                    let mut resp = self.send(rb?, method, url).await?;
                    // A DPoP server asking for a nonce gets the request once more with it.
                    if replayable
                        && resp.status() == StatusCode::UNAUTHORIZED
                        && session.proofs(&token).is_some_and(|p| {
                            p.answered(url, resp.status().as_u16(), resp.headers())
                        })
                    {
                        tracing::info!("the server asked for a DPoP nonce: sending again with it");
                        let rb = self
                            .client
                            .request(method.clone(), url.clone())
                            .headers(headers.clone());
                        let rb = self.with_credential(rb, Some(&token), method, url)?;
                        resp = self.send(rb, method, url).await?;
                    }
                    Ok::<_, Refusal>(if replayable && resp.status() == StatusCode::UNAUTHORIZED {
                        Answer::Unauthorized(resp)
                    } else {
                        Answer::Final(resp)
                    })
                }
            })
            .await?;
        // Out of retries, the last 401 goes back as is.
        let (Answer::Final(resp) | Answer::Unauthorized(resp)) = answer;
        Ok(stream_back(resp, self.timeout))
    }

    /// `rb` with the profile's credential (`token`: the session's access token).
    fn with_credential(
        &self,
        rb: reqwest::RequestBuilder,
        token: Option<&Secret>,
        method: &Method,
        url: &url::Url,
    ) -> Result<reqwest::RequestBuilder, Refusal> {
        Ok(match (&self.credential, token) {
            (Credential::Static(name, value), _) => rb.header(name, value),
            (
                Credential::OAuth {
                    header,
                    name,
                    session,
                },
                Some(t),
            ) => {
                let rb = match session
                    .proofs(t)
                    .and_then(|p| p.proof(method.as_str(), url))
                {
                    Some((dpop_name, proof)) => {
                        let mut v = HeaderValue::from_str(proof.expose()).map_err(|_| {
                            Refusal::new(
                                StatusCode::BAD_GATEWAY,
                                "token_error",
                                "the DPoP proof cannot go in a header",
                            )
                        })?;
                        v.set_sensitive(true);
                        rb.header(dpop_name, v)
                    }
                    None => rb,
                };
                let value = session.header_value(header, t);
                let mut value = HeaderValue::from_str(value.expose()).map_err(|_| {
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
                // The origin is said; the URL (and its query) stays out of the message.
                format!(
                    "{method} {origin}: {}",
                    crate::http::error_chain(&e.without_url())
                ),
            )),
            Ok(Ok(r)) => Ok(r),
        }
    }

    /// Where the request goes: the path and query appended to `base_url` when the
    /// request names the gateway (a path already under base_url's, as the API's own
    /// page links are, is kept as is); as is, when it names one of the profile's
    /// origins (absolute form or `Host`). Anything else is 403.
    fn target(&self, parts: &axum::http::request::Parts) -> Result<url::Url, Refusal> {
        // `user:password@` would go to the API as a second credential (reqwest makes
        // it Basic) beside the profile's; a `Host` never carries one.
        let host_header = parts.headers.get(header::HOST).map(|h| h.as_bytes());
        if parts
            .uri
            .authority()
            .is_some_and(|a| a.as_str().contains('@'))
            || host_header.is_some_and(|h| h.contains(&b'@'))
        {
            return Err(userinfo());
        }
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
                format!(
                    "cannot forward to `{}`: {e}",
                    crate::secret::mask_query(&text)
                ),
            )
        })
    }

    /// The name of the header the gateway's own credential goes in.
    fn own_header(&self) -> Option<&str> {
        match &self.credential {
            Credential::Static(name, _) | Credential::OAuth { name, .. } => Some(name.as_str()),
            Credential::None => None,
        }
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
        let own = self.own_header();
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
