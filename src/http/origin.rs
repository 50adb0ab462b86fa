//! The origin rule (SPEC §4): which headers carry credentials, which origins they
//! may go to, and so which headers go with each hop of a request.

use std::borrow::Cow;

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

/// `url.origin() == *origin`, without building `url`'s origin (asked for every
/// request of a run).
pub fn same_origin(url: &url::Url, origin: &url::Origin) -> bool {
    if !matches!(url.scheme(), "http" | "https") {
        return url.origin() == *origin;
    }
    let url::Origin::Tuple(scheme, host, port) = origin else {
        return false;
    };
    let same_host = match (host, url.host()) {
        (url::Host::Domain(a), Some(url::Host::Domain(b))) => a == b,
        (url::Host::Ipv4(a), Some(url::Host::Ipv4(b))) => *a == b,
        (url::Host::Ipv6(a), Some(url::Host::Ipv6(b))) => *a == b,
        _ => false,
    };
    same_host && scheme == url.scheme() && url.port_or_known_default() == Some(*port)
}

/// Headers whose values are credentials, whatever a profile calls its own.
pub fn is_sensitive_header(name: &str) -> bool {
    [
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
    ]
    .iter()
    .any(|n| name.eq_ignore_ascii_case(n))
        || ["token", "api-key", "apikey", "secret"]
            .iter()
            .any(|part| contains_ignore_ascii_case(name, part))
}

/// Whether `text` contains `part` (ASCII, any case), without allocating: asked for
/// every header of every request.
fn contains_ignore_ascii_case(text: &str, part: &str) -> bool {
    text.as_bytes()
        .windows(part.len())
        .any(|w| w.eq_ignore_ascii_case(part.as_bytes()))
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
        self.origins.iter().any(|o| same_origin(url, o))
    }
}

impl CredentialPolicy {
    /// The headers of `req` that go with `hop`, with the profile's credential `auth`
    /// where it may go, and the URL of the hop (with `auth` in its query, for an
    /// `api_key` with `in: query`: the hop's own URL borrowed otherwise).
    pub(super) fn hop_headers<'h>(
        &self,
        req: &RenderedRequest,
        auth: Option<Credential<'_>>,
        hop: &'h Hop,
    ) -> (HeaderMap, Cow<'h, url::Url>) {
        let mut headers = reqwest::header::HeaderMap::new();
        for h in &req.headers {
            let sensitive = self.is_sensitive(&h.name);
            let allowed = if !sensitive {
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
                value.set_sensitive(sensitive);
                headers.insert(name, value);
            }
        }
        let mut url = Cow::Borrowed(&hop.url);
        match auth {
            Some(c) if c.signer.is_some() => {}
            Some(c) if hop.profile_creds && c.in_query => {
                url.to_mut()
                    .query_pairs_mut()
                    .append_pair(c.name, c.value.expose());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_origin_agrees_with_comparing_origins() {
        let urls = [
            "http://127.0.0.1:8080/a",
            "http://127.0.0.1:8081/a",
            "https://127.0.0.1:8080/a",
            "http://localhost:8080/b?x=1",
            "http://LOCALHOST:8080/",
            "https://api.example/v1",
            "https://api.example:443/v2",
            "http://api.example:443/",
            "https://API.example./",
            "http://[::1]:8080/",
            "http://[::1]/",
            "http://[0:0:0:0:0:0:0:1]:80/",
            "ftp://api.example/",
            "file:///tmp/x",
            "data:text/plain,hi",
        ];
        for a in urls {
            let a = url::Url::parse(a).unwrap();
            for b in urls {
                let b = url::Url::parse(b).unwrap();
                assert_eq!(
                    same_origin(&a, &b.origin()),
                    a.origin() == b.origin(),
                    "{a} and {b}"
                );
            }
        }
    }
}
