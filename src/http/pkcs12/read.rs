//! The structure of a PKCS#12 file (RFC 7292): the PFX, its authenticated safe (a
//! list of contents, plain or encrypted), and the safe bags inside them: keys
//! (PKCS#8, plain or shrouded) and X.509 certificates, with their local key ids.

use std::borrow::Cow;

use super::Pkcs12Error;
use super::crypt;
use super::der::{self, CONTEXT_0, Der, SEQUENCE, SET};

const DATA: &str = "1.2.840.113549.1.7.1";
const SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
const ENCRYPTED_DATA: &str = "1.2.840.113549.1.7.6";
const KEY_BAG: &str = "1.2.840.113549.1.12.10.1.1";
const SHROUDED_KEY_BAG: &str = "1.2.840.113549.1.12.10.1.2";
const CERT_BAG: &str = "1.2.840.113549.1.12.10.1.3";
const SAFE_CONTENTS_BAG: &str = "1.2.840.113549.1.12.10.1.6";
const X509_CERTIFICATE: &str = "1.2.840.113549.1.9.22.1";
const LOCAL_KEY_ID: &str = "1.2.840.113549.1.9.21";

/// How deep safeContentsBags may nest.
const MAX_NESTING: usize = 4;

/// The outer layer: the authenticated safe's bytes and the integrity check, if any.
pub struct Pfx<'a> {
    pub auth_safe: Cow<'a, [u8]>,
    /// The contents of the MacData SEQUENCE.
    pub mac: Option<&'a [u8]>,
}

pub fn pfx(bytes: &[u8]) -> Result<Pfx<'_>, Pkcs12Error> {
    if bytes.trim_ascii_start().starts_with(b"-----BEGIN ") {
        return Err(Pkcs12Error::NotPkcs12(
            "a PEM file: a PEM certificate and key go in http.client_cert and http.client_key"
                .into(),
        ));
    }
    let mut top = Der::new(bytes).sequence("a PFX")?;
    let version = top.small_uint("the version")?;
    if version != 3 {
        return Err(Pkcs12Error::NotPkcs12(format!("version {version}, not 3")));
    }
    let mut info = top.sequence("the authenticated safe")?;
    let kind = info.oid("the authenticated safe's type")?;
    match kind.as_str() {
        DATA => {}
        SIGNED_DATA => {
            return Err(Pkcs12Error::Unsupported(
                "its integrity is a public-key signature; runner reads password integrity".into(),
            ));
        }
        other => {
            return Err(Pkcs12Error::NotPkcs12(format!(
                "an authenticated safe of type {other}"
            )));
        }
    }
    let mut explicit = Der::new(info.expect(CONTEXT_0, "the authenticated safe")?);
    let auth_safe = explicit.octets("the authenticated safe")?;
    let mac = top.optional(SEQUENCE)?;
    Ok(Pfx { auth_safe, mac })
}

/// One entry of the authenticated safe.
pub enum Content<'a> {
    Plain(Cow<'a, [u8]>),
    /// The encryption AlgorithmIdentifier's contents and the ciphertext.
    Encrypted(&'a [u8], Cow<'a, [u8]>),
}

/// The authenticated safe's entries, none decrypted.
pub fn contents(auth_safe: &[u8]) -> Result<Vec<Content<'_>>, Pkcs12Error> {
    let mut list = Der::new(auth_safe).sequence("the list of contents")?;
    let mut out = Vec::new();
    while !list.is_empty() {
        let mut info = list.sequence("a content")?;
        let kind = info.oid("a content's type")?;
        let mut inner = Der::new(info.expect(CONTEXT_0, "a content")?);
        match kind.as_str() {
            DATA => out.push(Content::Plain(inner.octets("a content")?)),
            ENCRYPTED_DATA => out.push(encrypted(&mut inner)?),
            other => {
                return Err(Pkcs12Error::Unsupported(format!(
                    "contents of type {other} (data and encryptedData are known)"
                )));
            }
        }
    }
    Ok(out)
}

/// An EncryptedData (RFC 5652 §8): its algorithm and ciphertext.
fn encrypted<'a>(inner: &mut Der<'a>) -> der::Result<Content<'a>> {
    let mut data = inner.sequence("encrypted data")?;
    data.small_uint("the encrypted data's version")?;
    let mut info = data.sequence("the encrypted content")?;
    info.oid("the encrypted content's type")?;
    let alg = info.expect(SEQUENCE, "the encryption algorithm")?;
    let bytes = info.implicit_octets("the encrypted content")?;
    Ok(Content::Encrypted(alg, bytes))
}

pub struct Key {
    /// The PKCS#8 PrivateKeyInfo, DER.
    pub der: Vec<u8>,
    pub local_key_id: Option<Vec<u8>>,
}

pub struct Cert {
    pub der: Vec<u8>,
    pub local_key_id: Option<Vec<u8>>,
}

/// The keys and certificates in file order.
#[derive(Default)]
pub struct Bags {
    pub keys: Vec<Key>,
    pub certs: Vec<Cert>,
}

/// Every key and certificate in the authenticated safe, decrypted with `password`.
/// `verified`: the integrity check held, so a content that decrypts into nonsense is
/// a damaged file rather than a wrong password.
pub fn bags(auth_safe: &[u8], password: &str, verified: bool) -> Result<Bags, Pkcs12Error> {
    let mut bags = Bags::default();
    for content in contents(auth_safe)? {
        match content {
            Content::Plain(bytes) => safe_contents(&bytes, password, verified, 0, &mut bags)?,
            Content::Encrypted(alg, data) => {
                let bytes = crypt::decrypt(alg, &data, password)?;
                safe_contents(&bytes, password, verified, 0, &mut bags)
                    .map_err(|e| decrypted_nonsense(e, verified))?
            }
        }
    }
    Ok(bags)
}

/// Without an integrity check, decrypted bytes that do not read are the sign of a
/// wrong password (the padding matched by chance).
fn decrypted_nonsense(e: Pkcs12Error, verified: bool) -> Pkcs12Error {
    match e {
        Pkcs12Error::NotPkcs12(_) if !verified => Pkcs12Error::WrongPassword,
        other => other,
    }
}

fn safe_contents(
    bytes: &[u8],
    password: &str,
    verified: bool,
    depth: usize,
    bags: &mut Bags,
) -> Result<(), Pkcs12Error> {
    if depth > MAX_NESTING {
        return Err(Pkcs12Error::NotPkcs12(
            "safe contents nested too deep".into(),
        ));
    }
    let mut list = Der::new(bytes).sequence("safe contents")?;
    while !list.is_empty() {
        let mut bag = list.sequence("a safe bag")?;
        let kind = bag.oid("a safe bag's type")?;
        let value = bag.expect(CONTEXT_0, "a safe bag's value")?;
        let local_key_id = match bag.optional(SET)? {
            Some(attributes) => local_key_id(attributes)?,
            None => None,
        };
        match kind.as_str() {
            KEY_BAG => bags.keys.push(Key {
                der: pkcs8(value)?,
                local_key_id,
            }),
            SHROUDED_KEY_BAG => {
                let der =
                    shrouded_key(value, password).map_err(|e| decrypted_nonsense(e, verified))?;
                bags.keys.push(Key { der, local_key_id });
            }
            CERT_BAG => {
                if let Some(der) = certificate(value)? {
                    bags.certs.push(Cert { der, local_key_id });
                }
            }
            SAFE_CONTENTS_BAG => safe_contents(value, password, verified, depth + 1, bags)?,
            _ => {} // CRLs, secrets and what else may come: not what TLS needs.
        }
    }
    Ok(())
}

/// A single PKCS#8 PrivateKeyInfo SEQUENCE filling `bytes`, as its DER.
fn pkcs8(bytes: &[u8]) -> der::Result<Vec<u8>> {
    let mut d = Der::new(bytes);
    let (item, whole) = d.any_whole()?;
    if item.tag != SEQUENCE || !d.is_empty() {
        return Err(der::Bad("a private key that is not PKCS#8".into()));
    }
    Der::new(item.body).small_uint("the private key's version")?;
    Ok(whole.to_vec())
}

/// An EncryptedPrivateKeyInfo, decrypted into its PKCS#8 DER.
fn shrouded_key(value: &[u8], password: &str) -> Result<Vec<u8>, Pkcs12Error> {
    let mut info = Der::new(value).sequence("an encrypted private key")?;
    let alg = info.expect(SEQUENCE, "the key's encryption algorithm")?;
    let data = info.octets("the encrypted key")?;
    let plain = crypt::decrypt(alg, &data, password)?;
    Ok(pkcs8(&plain)?)
}

/// A certBag's X.509 certificate (other kinds of certificate are skipped).
fn certificate(value: &[u8]) -> der::Result<Option<Vec<u8>>> {
    let mut bag = Der::new(value).sequence("a certificate bag")?;
    let kind = bag.oid("a certificate's type")?;
    let mut explicit = Der::new(bag.expect(CONTEXT_0, "a certificate")?);
    let der = explicit.octets("a certificate")?;
    Ok((kind == X509_CERTIFICATE).then(|| der.into_owned()))
}

/// The localKeyId among a bag's attributes.
fn local_key_id(attributes: &[u8]) -> der::Result<Option<Vec<u8>>> {
    let mut set = Der::new(attributes);
    while !set.is_empty() {
        let mut attribute = set.sequence("an attribute")?;
        let kind = attribute.oid("an attribute's type")?;
        let mut values = Der::new(attribute.expect(SET, "an attribute's values")?);
        if kind == LOCAL_KEY_ID {
            return Ok(Some(values.octets("a local key id")?.into_owned()));
        }
    }
    Ok(None)
}
