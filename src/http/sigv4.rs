//! AWS Signature Version 4 (`auth.type: aws_sigv4`): each hop that may carry the
//! profile's credentials is signed for its own method, URL, headers and body; a hop
//! the origin rule keeps them from is not signed at all.
//!
//! Hand-written on `ring` (the one crypto provider: TLS, JWS and this), and checked
//! against botocore's signer in `tests/aws/`. Signed headers:
//! `host`, `x-amz-content-sha256`, `x-amz-date` and, with a session token,
//! `x-amz-security-token`. The query is sent in its canonical form (sorted, each name
//! and value encoded as SigV4 says), so what is signed is what goes on the wire.

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};

use super::RenderedBody;
use crate::secret::Secret;

/// `x-amz-content-sha256` for a body that is streamed unhashed.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// What signs: the credentials, and where they are valid.
#[derive(Debug, Clone)]
pub struct Signer {
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Option<Secret>,
    pub region: String,
    pub service: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

/// Lower-case hex of a finished digest.
pub(super) fn digest_hex(digest: ring::digest::Digest) -> String {
    hex(digest.as_ref())
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    ring::hmac::sign(&key, data.as_bytes()).as_ref().to_vec()
}

/// SigV4's URI encoding: every byte but `A-Za-z0-9-_.~` as `%XX` (upper-case hex),
/// and `/` too unless `keep_slash`.
fn uri_encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The query as SigV4 canonicalizes it: pairs decoded (as runner encodes them, form
/// style), encoded again, sorted by name then value.
pub fn canonical_query(url: &url::Url) -> Option<String> {
    url.query()?;
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (uri_encode(&k, false), uri_encode(&v, false)))
        .collect();
    pairs.sort();
    Some(
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&"),
    )
}

/// `Host` as the client sends it: the port only when it is not the scheme's default.
fn host_header(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

/// `secs` as `YYYYMMDDTHHMMSSZ`.
fn amz_date(secs: u64) -> String {
    crate::clock::rfc3339(secs).replace(['-', ':'], "")
}

/// The payload hash of a body that is not streamed; `None` for one that is (a file,
/// multipart), which the caller hashes or leaves unsigned.
pub fn body_hash(body: &RenderedBody, with_body: bool) -> Option<String> {
    if !with_body {
        return Some(sha256_hex(b""));
    }
    match body {
        RenderedBody::Empty => Some(sha256_hex(b"")),
        // The bytes reqwest sends for `.json` and `.form`.
        RenderedBody::Json(json) => Some(sha256_hex(&json.bytes())),
        RenderedBody::Form(pairs) => {
            let text = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish();
            Some(sha256_hex(text.as_bytes()))
        }
        RenderedBody::Text(t) => Some(sha256_hex(t.as_bytes())),
        RenderedBody::File(_) | RenderedBody::Multipart(_) => None,
    }
}

impl Signer {
    /// Signs a request to `url` (whose query it rewrites to the canonical form) at
    /// `now` (Unix seconds), adding `x-amz-*` and `Authorization` to `headers`.
    pub fn sign(
        &self,
        method: &str,
        url: &mut url::Url,
        headers: &mut HeaderMap,
        payload_hash: &str,
        now: u64,
    ) {
        let query = canonical_query(url);
        url.set_query(query.as_deref());
        let date = amz_date(now);
        let day = &date[..8];
        let mut signed: Vec<(&str, String)> = vec![
            ("host", host_header(url)),
            ("x-amz-content-sha256", payload_hash.to_string()),
            ("x-amz-date", date.clone()),
        ];
        if let Some(t) = &self.session_token {
            signed.push(("x-amz-security-token", t.expose().to_string()));
        }
        // S3 signs the path as sent; every other service encodes it once more.
        let path = if self.service == "s3" {
            url.path().to_string()
        } else {
            uri_encode(url.path(), true)
        };
        let names = signed.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(";");
        let canonical = format!(
            "{method}\n{path}\n{}\n{}\n{names}\n{payload_hash}",
            query.unwrap_or_default(),
            signed
                .iter()
                // Runs of spaces become one, as SigV4 (and botocore) canonicalize them.
                .map(|(k, v)| format!(
                    "{k}:{}\n",
                    v.split_whitespace().collect::<Vec<_>>().join(" ")
                ))
                .collect::<String>()
        );
        let scope = format!("{day}/{}/{}/aws4_request", self.region, self.service);
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
            sha256_hex(canonical.as_bytes())
        );
        let mut key = hmac(
            format!("AWS4{}", self.secret_access_key.expose()).as_bytes(),
            day,
        );
        for part in [self.region.as_str(), self.service.as_str(), "aws4_request"] {
            key = hmac(&key, part);
        }
        let signature = hex(&hmac(&key, &to_sign));
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={names}, Signature={signature}",
            self.access_key_id
        );
        for (name, value) in signed.into_iter().skip(1) {
            // As bytes: a token is sent as it was given.
            if let Ok(mut v) = HeaderValue::from_bytes(value.as_bytes()) {
                v.set_sensitive(name == "x-amz-security-token");
                headers.insert(name, v);
            }
        }
        if let Ok(mut v) = HeaderValue::from_str(&authorization) {
            v.set_sensitive(true);
            headers.insert(AUTHORIZATION, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The date, scope, signed headers and canonical query of a signature (its value
    /// is checked against botocore's in `tests/aws/`).
    #[test]
    fn names_its_scope_and_signed_headers() {
        let signer = Signer {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            session_token: None,
            region: "us-east-1".into(),
            service: "iam".into(),
        };
        assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
        let mut url =
            url::Url::parse("https://iam.amazonaws.com/?Version=2010-05-08&Action=ListUsers")
                .unwrap();
        let mut headers = HeaderMap::new();
        signer.sign(
            "GET",
            &mut url,
            &mut headers,
            &sha256_hex(b""),
            1_440_938_160,
        );
        assert_eq!(url.query(), Some("Action=ListUsers&Version=2010-05-08"));
        let auth = headers[AUTHORIZATION].to_str().unwrap();
        assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature="), "{auth}");
    }

    #[test]
    fn queries_and_paths_are_encoded_as_sigv4_says() {
        let url = url::Url::parse("https://h/a?b=2&a=x+y&a=%2F%7E*").unwrap();
        assert_eq!(
            canonical_query(&url).as_deref(),
            Some("a=%2F~%2A&a=x%20y&b=2")
        );
        assert_eq!(uri_encode("/a b/%41", true), "/a%20b/%2541");
    }
}
