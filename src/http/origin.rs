//! The origin rule (SPEC §4): which headers carry credentials, which origins they
//! may go to, and so which headers go with each hop of a request.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::RenderedRequest;
use super::redirect::Hop;
use crate::secret::Secret;

/// The profile's credential for one request: a header (the auth header, whatever its
/// name and scheme), or a query parameter (`api_key` with `in: query`). Either goes
/// only where the credential policy allows, hop by hop.
#[derive(Debug, Clone, Copy)]
pub struct Credential<'a> {
    pub name: &'a str,
    pub value: &'a Secret,
    pub in_query: bool,
    /// AWS SigV4: the hop is signed (after its headers and body are known) rather than
    /// given `value`.
    pub signer: Option<&'a super::sigv4::Signer>,
    /// A sender-constrained token (DPoP): each hop that carries the credential also
    /// carries a proof made for it.
    pub proof: Option<&'a dyn ProofSource>,
}

impl<'a> Credential<'a> {
    pub fn header(name: &'a str, value: &'a Secret) -> Credential<'a> {
        Credential {
            name,
            value,
            in_query: false,
            signer: None,
            proof: None,
        }
    }
}

/// Proofs of possession sent beside a token (RFC 9449's `DPoP` header), made per hop.
pub trait ProofSource: Sync {
    /// The header name and a proof for `method` `url`.
    fn proof(&self, method: &str, url: &url::Url) -> Option<(&'static str, Secret)>;
    /// Reads what a server answered (a nonce); true when the hop should be sent once
    /// more with a new proof (a 401 asking for a nonce it now has).
    fn answered(&self, url: &url::Url, status: u16, headers: &HeaderMap) -> bool;
}

impl std::fmt::Debug for dyn ProofSource + '_ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProofSource")
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

impl CredentialPolicy {
    /// The headers of `req` that go with `hop`, with the profile's credential `auth`
    /// where it may go, and the URL of the hop (with `auth` in its query, for an
    /// `api_key` with `in: query`).
    pub(super) fn hop_headers(
        &self,
        req: &RenderedRequest,
        auth: Option<Credential<'_>>,
        hop: &Hop,
    ) -> (HeaderMap, url::Url) {
        let mut headers = reqwest::header::HeaderMap::new();
        for h in &req.headers {
            let allowed = if !self.is_sensitive(&h.name) {
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
                value.set_sensitive(self.is_sensitive(&h.name));
                headers.insert(name, value);
            }
        }
        let mut url = hop.url.clone();
        match auth {
            Some(c) if c.signer.is_some() => {}
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
        (headers, url)
    }

    /// Says at `-v`, in one line, that credentials stay behind on `hop`.
    pub(super) fn note_withheld(
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
                    .any(|h| h.from_profile && self.is_sensitive(&h.name)));
        let withheld_file = !hop.file_creds
            && req
                .headers
                .iter()
                .any(|h| !h.from_profile && self.is_sensitive(&h.name));
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
}
