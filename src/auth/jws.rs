//! Compact JWS signing over `ring`, the one crypto provider (TLS, client
//! assertions, JWT bearer grants, DPoP proofs). A signed token is a credential: the
//! caller registers it with [`crate::secret`] before it goes anywhere. Key text never
//! appears in an error.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;
use serde_json::{Map, Value, json};

/// A JWS algorithm runner signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    RS256,
    PS256,
    ES256,
    EdDSA,
    HS256,
}

impl Alg {
    /// The `alg` header value.
    pub fn name(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::PS256 => "PS256",
            Alg::ES256 => "ES256",
            Alg::EdDSA => "EdDSA",
            Alg::HS256 => "HS256",
        }
    }

    /// Parses an `alg` name (`auth.signing_alg`).
    pub fn parse(name: &str) -> Result<Alg, String> {
        [Alg::RS256, Alg::PS256, Alg::ES256, Alg::EdDSA, Alg::HS256]
            .into_iter()
            .find(|a| a.name() == name)
            .ok_or_else(|| {
                format!("unknown signing algorithm `{name}` (RS256, PS256, ES256, EdDSA or HS256)")
            })
    }
}

enum Key {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
    Hmac(ring::hmac::Key),
}

/// A private (or shared, for HS256) key and the algorithm it signs with.
pub struct SigningKey {
    alg: Alg,
    key: Key,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.alg.name())
    }
}

const NOT_A_KEY: &str = "it is not a PEM private key (PKCS#8 `BEGIN PRIVATE KEY`, \
    PKCS#1 `BEGIN RSA PRIVATE KEY` or SEC1 `BEGIN EC PRIVATE KEY`)";

impl SigningKey {
    /// A key from PEM text: RSA (PKCS#1 or PKCS#8), P-256 (SEC1 or PKCS#8) or
    /// Ed25519 (PKCS#8). `alg` defaults from the key: RS256, ES256, EdDSA; an RSA key
    /// may ask for PS256.
    pub fn from_pem(pem: &str, alg: Option<Alg>) -> Result<SigningKey, String> {
        let der = PrivateKeyDer::from_pem_slice(pem.trim().as_bytes()).map_err(|_| NOT_A_KEY)?;
        let key = match &der {
            PrivateKeyDer::Pkcs1(k) => Key::Rsa(
                RsaKeyPair::from_der(k.secret_pkcs1_der()).map_err(|e| rejected("RSA", e))?,
            ),
            PrivateKeyDer::Sec1(k) => Key::Ec(ec_from_pkcs8(&sec1_to_pkcs8(k.secret_sec1_der()))?),
            PrivateKeyDer::Pkcs8(k) => from_pkcs8(k.secret_pkcs8_der())?,
            _ => return Err(NOT_A_KEY.to_string()),
        };
        let natural = match key {
            Key::Rsa(_) => Alg::RS256,
            Key::Ec(_) => Alg::ES256,
            _ => Alg::EdDSA,
        };
        let alg = alg.unwrap_or(natural);
        let fits = alg == natural || (natural == Alg::RS256 && alg == Alg::PS256);
        if !fits {
            return Err(format!(
                "the key signs with {}, not {}",
                natural.name(),
                alg.name()
            ));
        }
        Ok(SigningKey { alg, key })
    }

    /// An HS256 key (`client_secret_jwt`: the client secret is the key).
    pub fn hmac(secret: &[u8]) -> SigningKey {
        SigningKey {
            alg: Alg::HS256,
            key: Key::Hmac(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret)),
        }
    }

    /// A new P-256 key (a DPoP key), with its PKCS#8 bytes to store.
    pub fn generate_es256() -> Result<(SigningKey, Vec<u8>), String> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| "cannot generate a P-256 key".to_string())?;
        let key = SigningKey::from_pkcs8(pkcs8.as_ref())?;
        Ok((key, pkcs8.as_ref().to_vec()))
    }

    /// A key from PKCS#8 DER (as [`SigningKey::generate_es256`] gave it).
    pub fn from_pkcs8(der: &[u8]) -> Result<SigningKey, String> {
        let key = from_pkcs8(der)?;
        let alg = match key {
            Key::Rsa(_) => Alg::RS256,
            Key::Ec(_) => Alg::ES256,
            _ => Alg::EdDSA,
        };
        Ok(SigningKey { alg, key })
    }

    pub fn alg(&self) -> Alg {
        self.alg
    }

    /// The public key as a JWK (RFC 7517), members in RFC 7638 order; `None` for
    /// HMAC keys.
    pub fn public_jwk(&self) -> Option<Value> {
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        match &self.key {
            Key::Ec(k) => {
                // An uncompressed point: 0x04 || x || y.
                let point = k.public_key().as_ref();
                let (x, y) = point.get(1..)?.split_at(32);
                Some(json!({"crv": "P-256", "kty": "EC", "x": b64(x), "y": b64(y)}))
            }
            Key::Ed(k) => {
                Some(json!({"crv": "Ed25519", "kty": "OKP", "x": b64(k.public_key().as_ref())}))
            }
            Key::Rsa(k) => {
                let (n, e) = rsa_public_parts(k.public_key().as_ref())?;
                Some(json!({"e": b64(e), "kty": "RSA", "n": b64(n)}))
            }
            Key::Hmac(_) => None,
        }
    }

    /// The RFC 7638 thumbprint of the public key (base64url SHA-256).
    pub fn thumbprint(&self) -> Option<String> {
        let jwk = self.public_jwk()?;
        // serde_json keeps insertion order (preserve_order): the members above are
        // already in lexicographic order, with no whitespace.
        let canonical = serde_json::to_string(&jwk).ok()?;
        let digest = ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes());
        Some(URL_SAFE_NO_PAD.encode(digest.as_ref()))
    }

    /// Signs `claims` as a compact JWS. `header` gives the members besides `alg`
    /// (`typ`, `kid`, `jwk`); the result is a credential.
    pub fn sign(&self, header: Map<String, Value>, claims: &Value) -> Result<String, String> {
        let mut header = header;
        header.insert("alg".into(), Value::from(self.alg.name()));
        let head = URL_SAFE_NO_PAD.encode(Value::Object(header).to_string());
        let body = URL_SAFE_NO_PAD.encode(claims.to_string());
        let input = format!("{head}.{body}");
        let sig = self.signature(input.as_bytes())?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }

    fn signature(&self, msg: &[u8]) -> Result<Vec<u8>, String> {
        let rng = SystemRandom::new();
        let failed = |_| format!("cannot sign with the {} key", self.alg.name());
        match &self.key {
            Key::Rsa(k) => {
                let padding: &dyn signature::RsaEncoding = if self.alg == Alg::PS256 {
                    &signature::RSA_PSS_SHA256
                } else {
                    &signature::RSA_PKCS1_SHA256
                };
                let mut sig = vec![0; k.public().modulus_len()];
                k.sign(padding, &rng, msg, &mut sig).map_err(failed)?;
                Ok(sig)
            }
            Key::Ec(k) => Ok(k.sign(&rng, msg).map_err(failed)?.as_ref().to_vec()),
            Key::Ed(k) => Ok(k.sign(msg).as_ref().to_vec()),
            Key::Hmac(k) => Ok(ring::hmac::sign(k, msg).as_ref().to_vec()),
        }
    }
}

fn rejected(kind: &str, e: ring::error::KeyRejected) -> String {
    format!("the {kind} private key is not usable ({e})")
}

/// RSA, P-256 or Ed25519 from PKCS#8; ring tells the kinds apart by trying.
fn from_pkcs8(der: &[u8]) -> Result<Key, String> {
    if let Ok(k) = RsaKeyPair::from_pkcs8(der) {
        return Ok(Key::Rsa(k));
    }
    if let Ok(k) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
        return Ok(Key::Ed(k));
    }
    ec_from_pkcs8(der)
        .map(Key::Ec)
        .map_err(|_| "the PKCS#8 key is not RSA (2048 bits or more), P-256 or Ed25519".to_string())
}

fn ec_from_pkcs8(der: &[u8]) -> Result<EcdsaKeyPair, String> {
    let rng = SystemRandom::new();
    EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
        .map_err(|e| rejected("P-256", e))
}

/// Wraps a SEC1 `ECPrivateKey` (what `openssl ecparam -genkey` writes) in the PKCS#8
/// envelope ring reads: `SEQUENCE { 0, SEQUENCE { id-ecPublicKey, prime256v1 },
/// OCTET STRING { sec1 } }`.
fn sec1_to_pkcs8(sec1: &[u8]) -> Vec<u8> {
    const ALGORITHM: &[u8] = &[
        0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86,
        0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
    ];
    let mut inner = vec![0x02, 0x01, 0x00];
    inner.extend_from_slice(ALGORITHM);
    inner.extend(der_tlv(0x04, sec1));
    der_tlv(0x30, &inner)
}

fn der_tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = value.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(value);
    out
}

/// `n` and `e` from a DER `RSAPublicKey` (`SEQUENCE { INTEGER n, INTEGER e }`),
/// without leading zero bytes.
fn rsa_public_parts(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (tag, seq, _) = der_read(der)?;
    if tag != 0x30 {
        return None;
    }
    let (_, n, rest) = der_read(seq)?;
    let (_, e, _) = der_read(rest)?;
    let strip = |b: &'_ [u8]| -> usize { b.iter().take_while(|x| **x == 0).count() };
    Some((&n[strip(n)..], &e[strip(e)..]))
}

/// One DER element: its tag, its value and what follows it.
fn der_read(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let count = (first & 0x7f) as usize;
        if count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, &rest[count..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

#[cfg(test)]
#[path = "jws_tests.rs"]
mod tests;
