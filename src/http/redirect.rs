//! Redirects, followed by runner itself hop by hop so that the origin rule holds at
//! every hop: where a 3xx sends the request next, and what may go with it there.

use reqwest::Method;

use super::{Client, HttpError, RenderedRequest};

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
pub(super) struct Hop {
    pub(super) method: Method,
    pub(super) url: url::Url,
    /// 301/302/303 turn a POST into a GET without its body.
    pub(super) with_body: bool,
    /// The profile's credentials may go with this hop.
    pub(super) profile_creds: bool,
    /// The request file's own sensitive headers may go with this hop.
    pub(super) file_creds: bool,
}

impl Hop {
    /// The first hop: the request as rendered, with whatever credentials `policy`
    /// lets go to its URL.
    pub(super) fn first(req: &RenderedRequest, policy: &super::CredentialPolicy) -> Hop {
        Hop {
            method: req.method.clone(),
            url: req.url.clone(),
            with_body: true,
            profile_creds: policy.trusts(&req.url),
            file_creds: super::origin::same_origin(&req.url, &req.file_origin),
        }
    }
}

impl Client {
    /// Where a 3xx response sends the request next, or `None` when `resp` is the
    /// answer. `hops` is how many requests the chain has made so far.
    pub(super) fn next_hop(
        &self,
        req: &RenderedRequest,
        hop: &Hop,
        resp: &super::wire::Resp,
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
            file_creds: hop.file_creds
                && !downgrade
                && super::origin::same_origin(&url, &req.file_origin),
            url,
        }))
    }
}
