//! DPoP (RFC 9449) as a server checks it: a proof's signature (ES256, the key in its
//! `jwk` header), its `typ`, `htm`, `htu`, `iat`, unique `jti`, `ath` and nonce; the
//! RFC 7638 thumbprint (`jkt`) of its key, which an access token is bound to.

use std::collections::{HashMap, HashSet};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// How far a proof's `iat` may be from the server's clock, in seconds.
const IAT_WINDOW: u64 = 300;

/// Bound tokens, the `jti`s seen and the nonce the server asks for.
#[derive(Default)]
pub(crate) struct DpopState {
    /// access token → the `jkt` it is bound to.
    pub bound: HashMap<String, String>,
    pub jtis: HashSet<String>,
    /// The nonce proofs must carry (`--dpop-nonce`), else none.
    pub nonce: Option<String>,
    /// A token request must carry a proof (`--dpop-required`).
    pub required: bool,
}

/// What is wrong with a proof.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ProofError {
    /// The nonce is missing or stale: `use_dpop_nonce`.
    Nonce,
    Invalid(&'static str),
}

/// What a proof is checked against.
pub(crate) struct Expected<'a> {
    pub method: &'a str,
    pub url: &'a str,
    /// The access token the proof must be bound to (`ath`), for resource requests.
    pub access_token: Option<&'a str>,
    pub now_secs: u64,
}

impl DpopState {
    /// Checks `proof` and returns its key's thumbprint.
    pub(crate) fn check(&mut self, proof: &str, want: &Expected) -> Result<String, ProofError> {
        use ProofError::Invalid;
        let mut parts = proof.split('.');
        let (Some(h), Some(c), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Invalid("not a compact JWS"));
        };
        let json = |p: &str| -> Option<Value> {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).ok()?).ok()
        };
        let (Some(header), Some(claims)) = (json(h), json(c)) else {
            return Err(Invalid("header or claims are not base64url JSON"));
        };
        if header["typ"] != "dpop+jwt" {
            return Err(Invalid("typ is not dpop+jwt"));
        }
        if header["alg"] != "ES256" {
            return Err(Invalid("only ES256 proofs are accepted here"));
        }
        let jwk = &header["jwk"];
        let (Some(x), Some(y)) = (jwk["x"].as_str(), jwk["y"].as_str()) else {
            return Err(Invalid("jwk is not an EC key"));
        };
        if jwk["kty"] != "EC" || jwk["crv"] != "P-256" || jwk.get("d").is_some() {
            return Err(Invalid("jwk is not a public P-256 key"));
        }
        let (Ok(xb), Ok(yb), Ok(sig)) = (
            URL_SAFE_NO_PAD.decode(x),
            URL_SAFE_NO_PAD.decode(y),
            URL_SAFE_NO_PAD.decode(s),
        ) else {
            return Err(Invalid("bad base64url"));
        };
        let mut point = vec![4u8];
        point.extend_from_slice(&xb);
        point.extend_from_slice(&yb);
        let key = ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P256_SHA256_FIXED,
            point,
        );
        key.verify(format!("{h}.{c}").as_bytes(), &sig)
            .map_err(|_| Invalid("bad signature"))?;
        if claims["htm"] != want.method {
            return Err(Invalid("htm is not the request's method"));
        }
        if claims["htu"] != want.url {
            return Err(Invalid("htu is not the request's URL"));
        }
        let iat = claims["iat"].as_u64().ok_or(Invalid("no iat"))?;
        if iat.abs_diff(want.now_secs) > IAT_WINDOW {
            return Err(Invalid("iat is too far from now"));
        }
        if let Some(token) = want.access_token {
            let hash = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
            if claims["ath"] != URL_SAFE_NO_PAD.encode(hash.as_ref()) {
                return Err(Invalid("ath is not the access token's hash"));
            }
        }
        if let Some(nonce) = &self.nonce
            && claims["nonce"].as_str() != Some(nonce)
        {
            return Err(ProofError::Nonce);
        }
        let jti = claims["jti"].as_str().ok_or(Invalid("no jti"))?;
        if !self.jtis.insert(jti.to_string()) {
            return Err(Invalid("jti was used before"));
        }
        Ok(thumbprint(x, y))
    }
}

/// RFC 7638: base64url(SHA-256) of the required members in lexicographic order.
fn thumbprint(x: &str, y: &str) -> String {
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    let hash = ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes());
    URL_SAFE_NO_PAD.encode(hash.as_ref())
}
