//! Signed assertions the sandbox accepts (RFC 7523): a client assertion
//! (`private_key_jwt`) from the confidential client, and the JWT bearer grant's
//! assertion, both signed ES256 with the sandbox's demo key (`kid` [`DEMO_KEY_ID`]).
//! The demo private key is public on purpose (`keys/demo-client.pem`, and
//! [`DEMO_PRIVATE_KEY`]): it proves nothing anywhere but here. Signatures are
//! checked with ring against the registered public key; `exp` (at most an hour
//! ahead), `aud` (the token endpoint) and a `jti` never seen before are required.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// The `kid` of the demo key.
pub const DEMO_KEY_ID: &str = "sandbox-key-1";
/// The demo key's private half, PKCS#8 PEM (P-256). Known to everyone.
pub const DEMO_PRIVATE_KEY: &str = include_str!("../keys/demo-client.pem");
/// Its public half: the x and y of the JWK the sandbox verifies with.
const DEMO_X: &str = "mda1yW_IHiu2pvedXDDX8RXSuO0YotLsdpmnEISCQjg";
const DEMO_Y: &str = "KxuUbstiP7in_6f872lG4jPJlluwUNFRVPMGLv9j2I0";

/// `client_assertion_type` of a JWT client assertion.
pub(crate) const CLIENT_ASSERTION_TYPE: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The JWT bearer grant's `grant_type`.
pub(crate) const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Every `jti` accepted so far: an assertion is good once.
fn seen() -> &'static Mutex<HashSet<String>> {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    SEEN.get_or_init(|| Mutex::new(HashSet::new()))
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn part(text: &str) -> Result<Map<String, Value>, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| "the assertion is not a JWT".to_string())?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err("the assertion is not a JWT".to_string()),
    }
}

/// The claims of `jwt` once its signature (ES256, the demo key), `exp`, `aud` (a
/// URL whose path is the token endpoint's) and `jti` hold. Checked by the assertion's
/// issuer's clock, the real one, whatever the sandbox's manual clock says.
pub(crate) fn verify(jwt: &str) -> Result<Map<String, Value>, String> {
    let mut parts = jwt.split('.');
    let (Some(head), Some(body), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("the assertion is not a compact JWS".to_string());
    };
    let header = part(head)?;
    if header.get("alg").and_then(Value::as_str) != Some("ES256") {
        return Err("the assertion must be signed ES256".to_string());
    }
    if header.get("kid").and_then(Value::as_str) != Some(DEMO_KEY_ID) {
        return Err(format!(
            "no key with that kid (the demo key is {DEMO_KEY_ID})"
        ));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| "the assertion's signature is not base64url".to_string())?;
    let mut point = vec![4u8];
    for c in [DEMO_X, DEMO_Y] {
        point.extend(URL_SAFE_NO_PAD.decode(c).map_err(|_| "bad demo key")?);
    }
    let key =
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, point);
    key.verify(format!("{head}.{body}").as_bytes(), &signature)
        .map_err(|_| "the assertion's signature does not verify".to_string())?;
    let claims = part(body)?;
    let now = now_secs();
    let exp = claims.get("exp").and_then(Value::as_u64).unwrap_or(0);
    if exp <= now {
        return Err("the assertion has expired (or has no exp)".to_string());
    }
    if exp > now + 3600 {
        return Err("the assertion's exp is more than an hour ahead".to_string());
    }
    let aud = claims.get("aud").and_then(Value::as_str).unwrap_or("");
    let aud_ok = url::Url::parse(aud).is_ok_and(|u| u.path() == "/oauth/v2/token");
    if !aud_ok {
        return Err("the assertion's aud must be the token endpoint".to_string());
    }
    let jti = claims.get("jti").and_then(Value::as_str).unwrap_or("");
    if jti.is_empty() {
        return Err("the assertion has no jti".to_string());
    }
    let fresh = seen()
        .lock()
        .map(|mut s| s.insert(jti.to_string()))
        .unwrap_or(false);
    if !fresh {
        return Err("the assertion was used before (its jti repeats)".to_string());
    }
    Ok(claims)
}

/// A claim as text.
pub(crate) fn claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use serde_json::json;

    /// A JWS signed with the demo key by ring (a client's side of it).
    fn signed(header: Value, claims: Value) -> String {
        let body: String = DEMO_PRIVATE_KEY
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let der = STANDARD.decode(body).unwrap();
        let rng = ring::rand::SystemRandom::new();
        let key = ring::signature::EcdsaKeyPair::from_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &der,
            &rng,
        )
        .unwrap();
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = key.sign(&rng, input.as_bytes()).unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }

    fn claims(jti: &str, aud: &str, exp: u64) -> Value {
        json!({"iss": "sandbox", "sub": "sandbox", "aud": aud, "exp": exp, "jti": jti})
    }

    #[test]
    fn only_a_fresh_well_formed_assertion_by_the_demo_key_passes() {
        let head = json!({"alg": "ES256", "kid": DEMO_KEY_ID});
        let aud = "http://127.0.0.1:9/oauth/v2/token";
        let exp = now_secs() + 60;
        let jti = format!("t-{}", now_secs());
        let good = signed(head.clone(), claims(&jti, aud, exp));
        assert!(verify(&good).is_ok());
        assert_eq!(
            verify(&good).unwrap_err(),
            "the assertion was used before (its jti repeats)"
        );
        let tampered = good.replacen('.', ".e", 1);
        assert!(verify(&tampered).is_err());
        let cases = [
            (
                json!({"alg": "ES256", "kid": "other"}),
                claims("a1", aud, exp),
                "no key with that kid (the demo key is sandbox-key-1)",
            ),
            (
                json!({"alg": "HS256", "kid": DEMO_KEY_ID}),
                claims("a2", aud, exp),
                "the assertion must be signed ES256",
            ),
            (
                head.clone(),
                claims("a3", "http://127.0.0.1:9/other", exp),
                "the assertion's aud must be the token endpoint",
            ),
            (
                head.clone(),
                claims("a4", aud, now_secs() - 1),
                "the assertion has expired (or has no exp)",
            ),
            (
                head.clone(),
                claims("a5", aud, now_secs() + 7200),
                "the assertion's exp is more than an hour ahead",
            ),
            (head, claims("", aud, exp), "the assertion has no jti"),
        ];
        for (h, c, want) in cases {
            assert_eq!(verify(&signed(h, c)).unwrap_err(), want);
        }
    }
}
