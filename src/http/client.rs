//! The client: one connection pool for the run, and a request sent through it
//! (following redirects, retrying, keeping credentials to their origins).

use std::time::Instant;

use super::body::multipart_form;
use super::redirect::Hop;
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
}

/// One connection pool for the whole run.
#[derive(Clone)]
pub struct Client {
    inner: reqwest::Client,
    pub(super) max_body: u64,
    pub(super) credentials: std::sync::Arc<CredentialPolicy>,
    pub(super) redirects: RedirectPolicy,
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
        let mut hop = Hop::first(req, &self.credentials);
        self.credentials.note_withheld(req, auth, &hop, None);
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
    ) -> Result<reqwest::Response, reqwest::Error> {
        let (headers, url) = self.credentials.hop_headers(req, auth, hop);
        let mut builder = self
            .inner
            .request(hop.method.clone(), url)
            .timeout(req.timeout);
        builder = match (&req.body, hop.with_body) {
            (_, false) | (RenderedBody::Empty, _) => builder,
            (RenderedBody::Json(v), _) => builder.json(v),
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
            (RenderedBody::Multipart(parts), _) => builder.multipart(multipart_form(parts)?),
        };
        // Headers last, so the user's Content-Type wins over the body's default.
        builder = builder.headers(headers);
        builder.send().await
    }
}
