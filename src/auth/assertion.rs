//! Signed assertions (RFC 7523): a client proving who it is at every endpoint that
//! authenticates it (`private_key_jwt`, `client_secret_jwt`; RFC 7523 §2.2, OIDC
//! Core §9), and the JWT bearer grant (§2.1). Each assertion is new (its own `jti`,
//! a short `exp`) and registered with the masking point before it goes anywhere.

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::jws::SigningKey;
use crate::clock::now_unix;
use crate::secret::Secret;

/// `client_assertion_type` of a JWT client assertion.
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The JWT bearer grant's `grant_type`.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// How long an assertion is valid: long enough for a slow network, short enough that
/// one seen by someone else is soon worthless.
pub const LIFETIME: u64 = 120;

/// A key and the `kid` it is known by.
#[derive(Debug, Clone)]
pub struct Signer {
    pub key: Arc<SigningKey>,
    pub key_id: Option<String>,
}

impl Signer {
    /// A signed JWT with `iss`, `sub` (when given), `aud`, `iat`, `exp` and a unique
    /// `jti`, plus `extra` claims; registered as a secret at once.
    pub fn assertion(
        &self,
        iss: &str,
        sub: Option<&str>,
        aud: &str,
        extra: &Map<String, Value>,
    ) -> Result<Secret, String> {
        let now = now_unix();
        let mut claims = json!({
            "iss": iss,
            "aud": aud,
            "iat": now,
            "exp": now.saturating_add(LIFETIME),
            "jti": unique_id()?,
        });
        if let (Some(sub), Some(obj)) = (sub, claims.as_object_mut()) {
            obj.insert("sub".into(), Value::from(sub));
        }
        if let Some(obj) = claims.as_object_mut() {
            for (k, v) in extra {
                obj.insert(k.clone(), v.clone());
            }
        }
        let mut header = Map::new();
        header.insert("typ".into(), Value::from("JWT"));
        if let Some(kid) = &self.key_id {
            header.insert("kid".into(), Value::from(kid.as_str()));
        }
        let jwt = self.key.sign(header, &claims)?;
        crate::secret::register(&jwt);
        Ok(Secret::new(jwt))
    }
}

/// 128 random bits, base64url: an assertion's `jti`.
fn unique_id() -> Result<String, String> {
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| "no randomness for the assertion's jti".to_string())?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// How a client authenticates with an assertion (`private_key_jwt` or
/// `client_secret_jwt`): `iss` = `sub` = the client id.
#[derive(Debug, Clone)]
pub struct ClientAssertion {
    pub signer: Signer,
    pub client_id: String,
    /// `auth.assertion_audience` (default the token URL).
    pub audience: Option<String>,
}

impl ClientAssertion {
    /// The two form parameters that authenticate the client at an endpoint of the
    /// server whose token endpoint is `token_url`.
    pub fn params(&self, token_url: &url::Url) -> Result<Vec<(String, String)>, String> {
        let aud = self.audience.as_deref().unwrap_or(token_url.as_str());
        let jwt =
            self.signer
                .assertion(&self.client_id, Some(&self.client_id), aud, &Map::new())?;
        Ok(vec![
            (
                "client_assertion_type".to_string(),
                CLIENT_ASSERTION_TYPE.to_string(),
            ),
            ("client_assertion".to_string(), jwt.expose().to_string()),
        ])
    }
}

/// The JWT bearer grant's assertion (RFC 7523 §2.1).
#[derive(Debug, Clone)]
pub struct BearerAssertion {
    pub signer: Signer,
    pub issuer: String,
    pub subject: Option<String>,
    /// Default the token URL.
    pub audience: Option<String>,
    /// Google's form: the scopes go in the assertion's `scope` claim, not the request.
    pub scope_claim: bool,
}

impl BearerAssertion {
    /// A new assertion for `token_url` asking for `scopes`.
    pub fn sign(&self, token_url: &url::Url, scopes: &[String]) -> Result<Secret, String> {
        let aud = self.audience.as_deref().unwrap_or(token_url.as_str());
        let mut extra = Map::new();
        if self.scope_claim && !scopes.is_empty() {
            extra.insert("scope".into(), Value::from(scopes.join(" ")));
        }
        self.signer
            .assertion(&self.issuer, self.subject.as_deref(), aud, &extra)
    }
}

/// RFC 8693's token type of an access token, the default subject token type.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// The token exchange grant's `grant_type`.
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// A Google service-account key file, as downloaded (the members runner uses).
#[derive(serde::Deserialize)]
pub struct ServiceAccountKey {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub client_email: String,
    pub private_key_id: Option<String>,
    pub private_key: String,
    pub token_uri: Option<String>,
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ServiceAccountKey({})", self.client_email)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(jwt: &str) -> Value {
        let part = jwt.split('.').nth(1).unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn client_assertions_name_the_client_the_audience_and_are_each_new() {
        let signer = Signer {
            key: Arc::new(SigningKey::hmac(
                b"s3cr&t <x> \"y\" ' \\ % + / = : \xc3\xa9",
            )),
            key_id: None,
        };
        let a = ClientAssertion {
            signer,
            client_id: "app 1".into(),
            audience: None,
        };
        let token = url::Url::parse("https://idp.example/token").unwrap();
        let p1 = a.params(&token).unwrap();
        let p2 = a.params(&token).unwrap();
        assert_eq!(p1[0].1, CLIENT_ASSERTION_TYPE);
        let (c1, c2) = (claims(&p1[1].1), claims(&p2[1].1));
        assert_eq!(c1["iss"], "app 1");
        assert_eq!(c1["sub"], "app 1");
        assert_eq!(c1["aud"], "https://idp.example/token");
        let (iat, exp) = (c1["iat"].as_u64().unwrap(), c1["exp"].as_u64().unwrap());
        assert_eq!(exp - iat, LIFETIME);
        assert_ne!(c1["jti"], c2["jti"]);
        assert_eq!(c1["jti"].as_str().unwrap().len(), 22);
    }

    #[test]
    fn googles_form_puts_the_scopes_in_the_assertion() {
        let (key, _) = SigningKey::generate_es256().unwrap();
        let b = BearerAssertion {
            signer: Signer {
                key: Arc::new(key),
                key_id: Some("k1".into()),
            },
            issuer: "sa@p.iam.gserviceaccount.com".into(),
            subject: None,
            audience: None,
            scope_claim: true,
        };
        let token = url::Url::parse("https://oauth2.googleapis.com/token").unwrap();
        let jwt = b.sign(&token, &["a".into(), "b".into()]).unwrap();
        let c = claims(jwt.expose());
        assert_eq!(c["scope"], "a b");
        assert_eq!(c["aud"], "https://oauth2.googleapis.com/token");
        assert!(c.get("sub").is_none());
        let head: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(jwt.expose().split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(head["kid"], "k1");
        assert_eq!(head["alg"], "ES256");
    }
}
