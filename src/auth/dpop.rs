//! DPoP (RFC 9449): a P-256 key per session, kept with its tokens in the locked cache
//! so that every process presents the same key, and a proof (`typ: dpop+jwt`) for each
//! token and API request. The servers' `DPoP-Nonce` values are kept per origin and
//! put in the next proofs; a `use_dpop_nonce` answer is retried once by the caller.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use super::jws::SigningKey;
use crate::secret::Secret;

/// The response header that carries a server's nonce.
pub const NONCE_HEADER: &str = "DPoP-Nonce";

/// A session's DPoP key, once it has one, and the nonces servers gave it.
#[derive(Default)]
pub struct Dpop {
    /// The key, and its PKCS#8 (base64url) as it is stored.
    key: Mutex<Option<(Arc<SigningKey>, Secret)>>,
    nonces: Mutex<HashMap<String, String>>,
    /// The issuer's metadata lists `dpop_signing_alg_values_supported`.
    advertised: AtomicBool,
}

impl std::fmt::Debug for Dpop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Dpop(…)")
    }
}

impl Dpop {
    /// Uses the key stored with the session's tokens (base64url PKCS#8), or a new one
    /// when `stored` is `None` or unreadable; returns what to store.
    pub fn install(&self, stored: Option<&Secret>) -> Result<Secret, String> {
        if let Some(s) = stored
            && let Ok(der) = URL_SAFE_NO_PAD.decode(s.expose())
            && let Ok(key) = SigningKey::from_pkcs8(&der)
        {
            // Registered with the masking point when it was read (Secret::new).
            self.set(key, s.clone());
            return Ok(s.clone());
        }
        let (key, der) = SigningKey::generate_es256()?;
        let text = Secret::new(URL_SAFE_NO_PAD.encode(der));
        self.set(key, text.clone());
        Ok(text)
    }

    fn set(&self, key: SigningKey, stored: Secret) {
        // Every proof of this key starts with the same protected header: masking that
        // prefix (and what follows it) masks them all with one entry of the masking
        // list, so proofs are not registered one by one (a bulk run makes thousands).
        if let Some(jwk) = key.public_jwk()
            && let Ok(sample) = key.sign(proof_header(jwk), &json!({}))
            && let Some(head) = sample.split('.').next()
        {
            crate::secret::register_prefix(&format!("{head}."));
        }
        if let Ok(mut k) = self.key.lock() {
            *k = Some((Arc::new(key), stored));
        }
    }

    /// Drops the key (a proof that did not help is not kept for later requests).
    pub fn clear(&self) {
        if let Ok(mut k) = self.key.lock() {
            *k = None;
        }
    }

    /// Notes whether the issuer's metadata says the server supports DPoP.
    pub fn advertise(&self, yes: bool) {
        self.advertised.store(yes, Ordering::Relaxed);
    }

    /// The key as it is stored with the tokens, once there is one.
    pub fn stored(&self) -> Option<Secret> {
        self.key.lock().ok()?.as_ref().map(|(_, s)| s.clone())
    }

    /// Whether the session has a key (proofs are sent).
    pub fn active(&self) -> bool {
        self.key.lock().map(|k| k.is_some()).unwrap_or(false)
    }

    /// A proof for `method` `url` (its query and fragment left out), with `ath` when
    /// `access_token` is given (resource requests); `None` without a key. The proof is
    /// masked in every output by its key's prefix (registered once, in `set`).
    pub fn proof(
        &self,
        method: &str,
        url: &url::Url,
        access_token: Option<&str>,
    ) -> Option<Secret> {
        let key = self.key.lock().ok()?.as_ref()?.0.clone();
        let jwk = key.public_jwk()?;
        let mut htu = url.clone();
        htu.set_query(None);
        htu.set_fragment(None);
        let mut claims = json!({
            "jti": uuid::Uuid::new_v4().to_string(),
            "htm": method,
            "htu": htu.as_str(),
            "iat": crate::clock::now_unix(),
        });
        if let Some(token) = access_token {
            let hash = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
            claims["ath"] = Value::String(URL_SAFE_NO_PAD.encode(hash.as_ref()));
        }
        if let Some(nonce) = self.nonce(url) {
            claims["nonce"] = Value::String(nonce);
        }
        // Masked by the prefix its key registered (set): not registered one by one.
        let proof = Secret::under_prefix(key.sign(proof_header(jwk), &claims).ok()?);
        Some(proof)
    }

    fn nonce(&self, url: &url::Url) -> Option<String> {
        let origin = url.origin().ascii_serialization();
        self.nonces.lock().ok()?.get(&origin).cloned()
    }

    /// Keeps the `DPoP-Nonce` a response from `url` carries; true when it is new.
    pub fn keep_nonce(&self, url: &url::Url, headers: &http::HeaderMap) -> bool {
        let Some(value) = headers
            .get(NONCE_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 1024)
        else {
            return false;
        };
        let origin = url.origin().ascii_serialization();
        let Ok(mut nonces) = self.nonces.lock() else {
            return false;
        };
        nonces.insert(origin, value.to_string()).as_deref() != Some(value)
    }
}

/// A proof's protected header (the signer adds `alg`): the same for every proof of a key.
fn proof_header(jwk: Value) -> Map<String, Value> {
    let mut header = Map::new();
    header.insert("typ".into(), Value::String("dpop+jwt".into()));
    header.insert("jwk".into(), jwk);
    header
}

/// The grants whose request spends nothing when refused (no code, no refresh token, no
/// password attempt against a lockout counter): an ambiguous refusal of one of them may
/// be tried once more with a proof.
const SPENDS_NOTHING: [&str; 3] = [
    "client_credentials",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "urn:ietf:params:oauth:grant-type:token-exchange",
];

impl Dpop {
    /// Why a token endpoint's refusal of a request sent without a proof means "send a
    /// DPoP proof" (`None`: it does not). Said outright: `invalid_dpop_proof` (Okta,
    /// Keycloak), `use_dpop_nonce`, a `WWW-Authenticate: DPoP` challenge or an
    /// `error_description` naming DPoP. Said ambiguously, as oidc-provider does for a
    /// client registered with `dpop_bound_access_tokens` (`invalid_grant`, "grant
    /// request is invalid"): only when the issuer's metadata lists
    /// `dpop_signing_alg_values_supported` and the grant spends nothing when refused.
    pub fn refusal_wants_proof(
        &self,
        headers: &http::HeaderMap,
        body: Option<&[u8]>,
        grant_type: Option<&str>,
    ) -> Option<String> {
        let fields = body.and_then(|b| serde_json::from_slice::<Map<String, Value>>(b).ok());
        let text = |k: &str| {
            fields
                .as_ref()
                .and_then(|m| m.get(k))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (error, description) = (text("error"), text("error_description"));
        let challenge = headers
            .get_all(http::header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.trim_start().to_ascii_lowercase().starts_with("dpop"));
        let named = matches!(error.as_str(), "invalid_dpop_proof" | "use_dpop_nonce")
            || description.to_ascii_lowercase().contains("dpop");
        if named || challenge {
            let said = if error.is_empty() {
                "WWW-Authenticate: DPoP"
            } else {
                &error
            };
            return Some(format!("the token endpoint wants a DPoP proof ({said})"));
        }
        let grant = grant_type.filter(|g| SPENDS_NOTHING.contains(g))?;
        let grant = grant.trim_start_matches("urn:ietf:params:oauth:grant-type:");
        (error == "invalid_grant" && self.advertised.load(Ordering::Relaxed)).then(|| {
            format!(
                "the token endpoint refused the {grant} grant (invalid_grant) and its issuer supports DPoP"
            )
        })
    }
}

/// The proofs of one access token's requests: `ath` binds each to the token.
pub struct Binding<'a> {
    pub dpop: &'a Dpop,
    pub token: &'a Secret,
}

impl crate::http::ProofSource for Binding<'_> {
    fn proof(&self, method: &str, url: &url::Url) -> Option<(&'static str, Secret)> {
        self.dpop
            .proof(method, url, Some(self.token.expose()))
            .map(|p| ("DPoP", p))
    }

    fn answered(&self, url: &url::Url, status: u16, headers: &http::HeaderMap) -> bool {
        let new = self.dpop.keep_nonce(url, headers);
        new && status == 401 && asks_for_nonce(headers)
    }
}

/// Whether a resource server's 401 asks for a nonce (RFC 9449 §9):
/// `WWW-Authenticate: DPoP error="use_dpop_nonce"`.
pub fn asks_for_nonce(headers: &http::HeaderMap) -> bool {
    headers
        .get_all(http::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.trim_start().to_ascii_lowercase().starts_with("dpop") && v.contains("use_dpop_nonce")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(jwt: &str, i: usize) -> Value {
        let b = URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(i).unwrap())
            .unwrap();
        serde_json::from_slice(&b).unwrap()
    }

    #[test]
    fn proofs_carry_the_claims_rfc_9449_asks_for() {
        let dpop = Dpop::default();
        let url = url::Url::parse("https://api.example/v1/things?page=2#x").unwrap();
        assert!(dpop.proof("GET", &url, None).is_none(), "no key, no proof");
        let stored = dpop.install(None).unwrap();
        let mut h = http::HeaderMap::new();
        h.insert(NONCE_HEADER, "n-1".parse().unwrap());
        assert!(dpop.keep_nonce(&url, &h));
        assert!(
            !dpop.keep_nonce(&url, &h),
            "the same nonce again is not new"
        );
        let proof = dpop.proof("GET", &url, Some("tok en")).unwrap();
        let (header, claims) = (part(proof.expose(), 0), part(proof.expose(), 1));
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["jwk"]["kty"], "EC");
        assert!(header["jwk"].get("d").is_none(), "no private part");
        assert_eq!(claims["htm"], "GET");
        assert_eq!(claims["htu"], "https://api.example/v1/things");
        assert_eq!(claims["nonce"], "n-1");
        // base64url(SHA-256("tok en")), as Python's hashlib computes it.
        assert_eq!(claims["ath"], "PkBfbeBYj_hzFEtst4PdXXweknkzfQqUSOjjqcmBl14");
        let other = dpop.proof("GET", &url, None).unwrap();
        assert_ne!(
            part(other.expose(), 1)["jti"],
            claims["jti"],
            "jti is unique"
        );
        // The stored key comes back as the same key.
        let again = Dpop::default();
        again.install(Some(&stored)).unwrap();
        let p2 = again.proof("POST", &url, None).unwrap();
        assert_eq!(part(p2.expose(), 0)["jwk"], header["jwk"]);
    }

    #[test]
    fn proofs_are_masked_by_their_keys_prefix_and_the_masking_list_does_not_grow() {
        use crate::secret::{redact, registered_count};
        let dpop = Dpop::default();
        dpop.install(None).unwrap();
        let url = url::Url::parse("https://api.example/v1/things").unwrap();
        let before = registered_count();
        let proofs: Vec<Secret> = (0..2000)
            .map(|_| dpop.proof("GET", &url, Some("t0ken")).unwrap())
            .collect();
        // Tests running beside this one register their own few secrets meanwhile.
        let grown = registered_count().saturating_sub(before);
        assert!(grown < 100, "2000 proofs grew the masking list by {grown}");
        for p in proofs.iter().step_by(97) {
            let p = p.expose();
            assert_eq!(redact(&format!("DPoP: {p}\n")), "DPoP: ***\n");
            assert_eq!(redact(&format!(r#"{{"dpop":"{p}"}}"#)), r#"{"dpop":"***"}"#);
            assert_eq!(redact(&format!("<td>{p}</td>")), "<td>***</td>");
            // Cut short (a truncated header value): still nothing of it.
            assert_eq!(redact(&format!("{}…", &p[..p.len() - 30])), "***…");
        }
        // Another key's proofs have another prefix, registered when it is installed.
        let other = Dpop::default();
        other.install(None).unwrap();
        let q = other.proof("POST", &url, None).unwrap();
        assert_eq!(redact(q.expose()), "***");
    }

    #[test]
    fn a_refusal_switches_dpop_on_only_when_it_says_so_or_the_retry_spends_nothing() {
        let dpop = Dpop::default();
        let none = http::HeaderMap::new();
        let wants = |h: &http::HeaderMap, body: &str, grant: &str| {
            dpop.refusal_wants_proof(h, Some(body.as_bytes()), Some(grant))
        };
        // Okta and Keycloak say it outright, whatever the grant.
        let okta = r#"{"error":"invalid_dpop_proof","error_description":"The DPoP proof JWT header is missing."}"#;
        assert_eq!(
            wants(&none, okta, "authorization_code").as_deref(),
            Some("the token endpoint wants a DPoP proof (invalid_dpop_proof)")
        );
        let described =
            r#"{"error":"invalid_request","error_description":"DPoP proof is required"}"#;
        assert!(wants(&none, described, "password").is_some());
        let mut challenge = http::HeaderMap::new();
        challenge.insert(
            http::header::WWW_AUTHENTICATE,
            "DPoP algs=\"ES256\"".parse().unwrap(),
        );
        assert_eq!(
            wants(&challenge, "", "refresh_token").as_deref(),
            Some("the token endpoint wants a DPoP proof (WWW-Authenticate: DPoP)")
        );
        // oidc-provider's ambiguous answer: only with the issuer's word, only for a
        // grant whose retry spends nothing.
        let vague = r#"{"error":"invalid_grant","error_description":"grant request is invalid"}"#;
        assert!(wants(&none, vague, "client_credentials").is_none());
        dpop.advertise(true);
        assert_eq!(
            wants(&none, vague, "client_credentials").as_deref(),
            Some(
                "the token endpoint refused the client_credentials grant (invalid_grant) and its issuer supports DPoP"
            )
        );
        assert_eq!(
            wants(
                &none,
                vague,
                "urn:ietf:params:oauth:grant-type:token-exchange"
            )
            .as_deref(),
            Some(
                "the token endpoint refused the token-exchange grant (invalid_grant) and its issuer supports DPoP"
            )
        );
        for spends in ["authorization_code", "refresh_token", "password"] {
            assert!(wants(&none, vague, spends).is_none(), "{spends}");
        }
        let other = r#"{"error":"invalid_client"}"#;
        assert!(wants(&none, other, "client_credentials").is_none());
        assert!(wants(&none, "not json", "client_credentials").is_none());
    }

    #[test]
    fn only_a_dpop_challenge_with_use_dpop_nonce_asks_for_a_nonce() {
        let mut h = http::HeaderMap::new();
        h.insert(
            http::header::WWW_AUTHENTICATE,
            r#"DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof""#
                .parse()
                .unwrap(),
        );
        assert!(asks_for_nonce(&h));
        h.insert(
            http::header::WWW_AUTHENTICATE,
            r#"Bearer error="invalid_token""#.parse().unwrap(),
        );
        assert!(!asks_for_nonce(&h));
    }
}
