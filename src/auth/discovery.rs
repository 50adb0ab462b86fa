//! Discovery: an issuer's endpoints from its metadata document (OpenID Connect
//! Discovery, else RFC 8414), cached in the state folder for its `Cache-Control`
//! max-age (or a day), so that a run with a cached token never asks for it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::AuthError;
use crate::clock::now_unix;

/// How long a document without `Cache-Control: max-age` is kept.
const DEFAULT_MAX_AGE: u64 = 24 * 3600;
/// The most of a metadata document read.
const MAX_DOCUMENT: usize = 1024 * 1024;

/// The endpoints runner uses, as an issuer's metadata names them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    pub issuer: String,
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    #[serde(default)]
    pub token_endpoint: Option<String>,
    #[serde(default)]
    pub device_authorization_endpoint: Option<String>,
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    /// RFC 9126.
    #[serde(default)]
    pub pushed_authorization_request_endpoint: Option<String>,
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// RFC 9449 §5.1: the server supports DPoP.
    #[serde(default)]
    pub dpop_signing_alg_values_supported: Option<Vec<String>>,
}

/// A document as cached: when it was fetched and for how long it holds.
#[derive(Debug, Serialize, Deserialize)]
struct Cached {
    fetched_at: u64,
    max_age: u64,
    metadata: Metadata,
}

/// The metadata documents' addresses for `issuer`, in the order they are tried:
/// OpenID Connect's (appended to the issuer), then RFC 8414's (inserted before the
/// issuer's path), then RFC 8414's appended, which some servers use.
pub fn document_urls(issuer: &url::Url) -> Vec<url::Url> {
    let base = issuer.as_str().trim_end_matches('/');
    let path = issuer.path().trim_end_matches('/');
    let mut origin = issuer.clone();
    origin.set_path("");
    origin.set_query(None);
    let origin = origin.as_str().trim_end_matches('/').to_string();
    let candidates = [
        format!("{base}/.well-known/openid-configuration"),
        format!("{origin}/.well-known/oauth-authorization-server{path}"),
        format!("{base}/.well-known/oauth-authorization-server"),
    ];
    let mut out: Vec<url::Url> = Vec::new();
    for c in candidates {
        if let Ok(u) = url::Url::parse(&c)
            && !out.contains(&u)
        {
            out.push(u);
        }
    }
    out
}

/// Two issuers are the same when they differ at most by a trailing slash.
fn same_issuer(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// The cache file of `issuer` under the state folder `dir`.
fn cache_file(dir: &Path, issuer: &url::Url) -> PathBuf {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in issuer.as_str().trim_end_matches('/').bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    dir.join(format!("{:016x}.json", h))
}

/// `issuer`'s metadata: from the cache under `dir` while it holds, else fetched with
/// `http` (and cached when `dir` is given).
pub async fn metadata(
    http: &reqwest::Client,
    issuer: &url::Url,
    dir: Option<&Path>,
) -> Result<Metadata, AuthError> {
    if let Some(dir) = dir
        && let Some(m) = read_cache(dir, issuer)
    {
        return Ok(m);
    }
    let (metadata, max_age) = fetch(http, issuer).await?;
    if let Some(dir) = dir {
        write_cache(dir, issuer, &metadata, max_age);
    }
    Ok(metadata)
}

fn read_cache(dir: &Path, issuer: &url::Url) -> Option<Metadata> {
    let bytes = std::fs::read(cache_file(dir, issuer)).ok()?;
    let cached: Cached = serde_json::from_slice(&bytes).ok()?;
    let fresh = now_unix() < cached.fetched_at.saturating_add(cached.max_age);
    (fresh && same_issuer(&cached.metadata.issuer, issuer.as_str())).then_some(cached.metadata)
}

/// Best effort: a cache that cannot be written only costs a request next time.
fn write_cache(dir: &Path, issuer: &url::Url, metadata: &Metadata, max_age: u64) {
    let cached = Cached {
        fetched_at: now_unix(),
        max_age,
        metadata: metadata.clone(),
    };
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        serde_json::to_writer(&mut tmp, &cached)?;
        tmp.persist(cache_file(dir, issuer))?;
        Ok(())
    };
    if let Err(e) = write() {
        tracing::info!(
            "cannot cache the discovery document in {}: {e}",
            dir.display()
        );
    }
}

async fn fetch(http: &reqwest::Client, issuer: &url::Url) -> Result<(Metadata, u64), AuthError> {
    let mut tried = Vec::new();
    for url in document_urls(issuer) {
        tracing::info!("discovery: GET {url}");
        crate::secret::log::credential_request(
            "discovery",
            "GET",
            url.as_str(),
            crate::secret::log::Beside {
                basic: false,
                certificate: false,
            },
            b"",
        );
        let resp = match http
            .get(url.clone())
            .timeout(Duration::from_secs(30))
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => {
                return Err(AuthError::Transport(format!(
                    "discovery of {issuer} failed: {url}: {}",
                    crate::http::root_cause(&e)
                )));
            }
        };
        if !resp.status().is_success() {
            tried.push(format!("{url} ({})", resp.status().as_u16()));
            continue;
        }
        let max_age = max_age(resp.headers()).unwrap_or(DEFAULT_MAX_AGE);
        let body = read_limited(resp).await.map_err(|e| {
            AuthError::Transport(format!("discovery of {issuer} failed: {url}: {e}"))
        })?;
        crate::secret::log::credential_response("discovery", 200, &body);
        let metadata: Metadata = serde_json::from_slice(&body).map_err(|e| {
            AuthError::BadResponse(format!(
                "the discovery document {url} is not issuer metadata: {e}"
            ))
        })?;
        if !same_issuer(&metadata.issuer, issuer.as_str()) {
            return Err(AuthError::BadResponse(format!(
                "the discovery document {url} names the issuer `{}`, not `{issuer}` (auth.issuer must be the server's own)",
                super::grant::server_text(&metadata.issuer, 300)
            )));
        }
        return Ok((metadata, max_age));
    }
    Err(AuthError::BadResponse(format!(
        "no discovery document for the issuer {issuer}: tried {}",
        tried.join(", ")
    )))
}

async fn read_limited(mut resp: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| crate::http::error_chain(&e))?
    {
        if body.len() + chunk.len() > MAX_DOCUMENT {
            return Err("the document is larger than 1 MiB".to_string());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `Cache-Control: max-age=N` (`no-store` and `no-cache` mean 0).
fn max_age(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    let v = headers.get(reqwest::header::CACHE_CONTROL)?.to_str().ok()?;
    let mut age = None;
    for part in v.split(',') {
        let part = part.trim().to_ascii_lowercase();
        if part == "no-store" || part == "no-cache" {
            return Some(0);
        }
        if let Some(n) = part.strip_prefix("max-age=") {
            age = n.trim_matches('"').parse().ok();
        }
    }
    age
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_looked_for_where_both_specifications_put_them() {
        let u = |s: &str| url::Url::parse(s).unwrap();
        let urls = |s: &str| {
            document_urls(&u(s))
                .into_iter()
                .map(|u| u.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            urls("https://idp.example/realms/acme"),
            [
                "https://idp.example/realms/acme/.well-known/openid-configuration",
                "https://idp.example/.well-known/oauth-authorization-server/realms/acme",
                "https://idp.example/realms/acme/.well-known/oauth-authorization-server",
            ]
        );
        assert_eq!(
            urls("http://127.0.0.1:8080/"),
            [
                "http://127.0.0.1:8080/.well-known/openid-configuration",
                "http://127.0.0.1:8080/.well-known/oauth-authorization-server",
            ]
        );
    }

    #[test]
    fn max_age_is_read_from_cache_control() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(max_age(&h), None);
        h.insert("cache-control", "public, max-age=3600".parse().unwrap());
        assert_eq!(max_age(&h), Some(3600));
        h.insert("cache-control", "no-store".parse().unwrap());
        assert_eq!(max_age(&h), Some(0));
    }

    #[test]
    fn the_cache_holds_for_its_max_age_and_only_for_its_issuer() {
        let dir = tempfile::tempdir().unwrap();
        let issuer = url::Url::parse("https://idp.example/r").unwrap();
        let m = Metadata {
            issuer: "https://idp.example/r".into(),
            token_endpoint: Some("https://idp.example/r/token".into()),
            ..Metadata::default()
        };
        write_cache(dir.path(), &issuer, &m, 60);
        assert_eq!(read_cache(dir.path(), &issuer), Some(m.clone()));
        let other = url::Url::parse("https://idp.example/other").unwrap();
        assert_eq!(read_cache(dir.path(), &other), None);
        write_cache(dir.path(), &issuer, &m, 0);
        assert_eq!(read_cache(dir.path(), &issuer), None);
    }
}
