//! The client: one connection pool for the run, and a request sent through it
//! (following redirects, retrying, keeping credentials to their origins).

use std::time::Instant;

use super::body::multipart_form;
use super::cookie::{CookieJar, response_cookies};
use super::redirect::Hop;
use super::wire::{Resp, SendError, Wire};
use super::{
    Credential, CredentialPolicy, Exchange, HttpError, Incoming, RedirectPolicy, RenderedBody,
    RenderedRequest, TlsOptions,
};

/// Client settings shared by every request of a run.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    pub max_body: u64,
    pub tls: TlsOptions,
    pub credentials: CredentialPolicy,
    pub redirects: RedirectPolicy,
    /// `http.cookies`: the run's jar, shared by every request of the run.
    pub cookies: Option<std::sync::Arc<CookieJar>>,
}

/// One connection pool for the whole run.
#[derive(Clone)]
pub struct Client {
    inner: reqwest::Client,
    pub(super) max_body: u64,
    pub(super) credentials: std::sync::Arc<CredentialPolicy>,
    pub(super) redirects: RedirectPolicy,
    pub(super) cookies: Option<std::sync::Arc<CookieJar>>,
    tls: TlsOptions,
    /// The plain-http fast path, when no proxy can be in effect for http.
    wire: Option<Wire>,
}

impl Client {
    pub fn new(opts: ClientOptions) -> Result<Client, HttpError> {
        // Redirects are runner's own (`send`): reqwest would carry custom credential
        // headers to any host a Location names.
        let builder = reqwest::Client::builder()
            .user_agent(super::USER_AGENT)
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
            cookies: opts.cookies,
            wire: opts.tls.proxy.never_for_http().then(Wire::new),
            tls: opts.tls,
        })
    }

    /// The connection settings every request of the run uses (TLS, client
    /// certificate, proxy).
    pub fn tls(&self) -> &TlsOptions {
        &self.tls
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
        let mut hop = Hop::first(req, &self.credentials);
        self.credentials.note_withheld(req, auth, &hop, None);
        // The hops so far, kept once there is a redirect to follow.
        let mut visited = Vec::new();
        let mut attempts = 0;
        loop {
            note_proxy(&self.tls, &hop.url);
            let (resp, tries) = self.send_hop(req, auth, &hop).await?;
            attempts += tries;
            self.keep_cookies(&hop.url, resp.headers()).await;
            let hops = visited.len().max(1) as u32;
            let Some(next) = self.next_hop(req, &hop, &resp, hops)? else {
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
            if visited.is_empty() {
                visited.push((hop.method.clone(), hop.url.clone()));
            }
            if visited.contains(&(next.method.clone(), next.url.clone())) {
                return Err(HttpError::Protocol {
                    url: req.url.to_string(),
                    detail: format!("redirect loop: {} was already visited", next.url),
                });
            }
            self.credentials.note_withheld(req, auth, &next, Some(&hop));
            visited.push((next.method.clone(), next.url.clone()));
            hop = next;
        }
    }

    /// One attempt at one hop: the headers and credentials the hop may carry, and the
    /// body unless a redirect dropped it.
    pub(super) async fn send_once(
        &self,
        req: &RenderedRequest,
        auth: Option<Credential<'_>>,
        hop: &Hop,
    ) -> Result<Resp, SendError> {
        let (mut headers, mut url) = self.credentials.hop_headers(req, auth, hop);
        if let Some(jar) = &self.cookies
            && self.credentials.trusts(&hop.url)
        {
            jar.add_to(&mut headers, &hop.url);
        }
        if let Some(source) = auth.and_then(|c| c.proof)
            && hop.profile_creds
            && let Some((name, proof)) = source.proof(hop.method.as_str(), &hop.url)
            && let Ok(mut value) = reqwest::header::HeaderValue::from_str(proof.expose())
        {
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        if let Some(signer) = auth.and_then(|c| c.signer)
            && hop.profile_creds
        {
            let hash = payload_hash(signer, &req.body, hop.with_body).await;
            let now = crate::clock::now_unix();
            signer.sign(hop.method.as_str(), url.to_mut(), &mut headers, &hash, now);
        }
        if let Some(wire) = &self.wire
            && Wire::takes(&hop.method, &url, &req.body, hop.with_body)
            && let Some(uri) = super::wire::origin_form(&url)
        {
            let body = hop.with_body.then_some(&req.body);
            return wire
                .send(hop.method.clone(), &url, uri, headers, body, req.timeout)
                .await;
        }
        let mut builder = self
            .inner
            .request(hop.method.clone(), url.into_owned())
            .timeout(req.timeout);
        builder = match (&req.body, hop.with_body) {
            (_, false) | (RenderedBody::Empty, _) => builder,
            (RenderedBody::Json(json), _) => builder
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(json.bytes()),
            (RenderedBody::Form(pairs), _) => builder
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(super::form::encode(pairs)),
            (RenderedBody::Text(t), _) => builder.body(t.clone()),
            (RenderedBody::File(file), _) => builder
                .header(reqwest::header::CONTENT_LENGTH, file.len)
                .body(file.body()),
            (RenderedBody::Multipart(parts), _) => {
                builder.multipart(multipart_form(parts).map_err(SendError::Reqwest)?)
            }
        };
        // Headers last, so the user's Content-Type wins over the body's default.
        builder = builder.headers(headers);
        builder
            .send()
            .await
            .map(Resp::Reqwest)
            .map_err(SendError::Reqwest)
    }
}

impl Client {
    /// The cookies a response from `url` sets: their values are secrets whatever
    /// happens next; the jar keeps them only from an origin of the profile.
    async fn keep_cookies(&self, url: &url::Url, headers: &reqwest::header::HeaderMap) {
        if !headers.contains_key(reqwest::header::SET_COOKIE) {
            return;
        }
        let Some(jar) = &self.cookies else {
            response_cookies(headers);
            return;
        };
        if self.credentials.trusts(url) {
            jar.store_from(url, headers).await;
        } else {
            response_cookies(headers);
            tracing::info!(
                "cookies set by {} not kept: not an origin of the profile (base_url, auth.origins)",
                url.origin().ascii_serialization()
            );
        }
    }
}

/// Says at `-v` which proxy a request to `url` goes through.
pub fn note_proxy(tls: &TlsOptions, url: &url::Url) {
    if tracing::enabled!(tracing::Level::INFO)
        && let Some(proxy) = tls.proxy.describe(url)
    {
        tracing::info!("via proxy {proxy}: {}", url.origin().ascii_serialization());
    }
}

/// `x-amz-content-sha256` for a hop: the hash of a body held in memory; a file's,
/// read once more before it is sent, except for S3, which takes `UNSIGNED-PAYLOAD`
/// (as does every service for multipart, whose boundary is chosen as it is sent).
async fn payload_hash(
    signer: &super::sigv4::Signer,
    body: &RenderedBody,
    with_body: bool,
) -> String {
    use super::sigv4::{UNSIGNED_PAYLOAD, body_hash};
    if let Some(h) = body_hash(body, with_body) {
        return h;
    }
    match body {
        RenderedBody::File(file) if signer.service != "s3" => super::body::file_sha256(file)
            .await
            .unwrap_or_else(|_| UNSIGNED_PAYLOAD.into()),
        _ => UNSIGNED_PAYLOAD.into(),
    }
}
