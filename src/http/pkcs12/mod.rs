//! A PKCS#12 file (`.p12`, `.pfx`) opened into the PEM certificate chain and key that
//! the client's TLS configuration reads (`tls.rs`). Read here: `der` walks the
//! structure, `read` finds the bags in it, `crypt` checks the integrity MAC and
//! decrypts (PBES2 with AES-CBC, OpenSSL 3's default, and the legacy 3DES/RC2 forms)
//! with ring's digests, HMAC and PBKDF2 and the RustCrypto block ciphers; TLS and
//! signatures stay on ring.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

mod crypt;
mod der;
mod read;
#[cfg(test)]
mod tests;

/// What was inside: the certificate chain (the key's own certificate first) and the
/// private key, both PEM. The key's text is the caller's to register as a secret.
pub struct Opened {
    pub cert_pem: Vec<u8>,
    pub key_pem: String,
}

/// Why a PKCS#12 file could not be used, in words for the user.
#[derive(Debug, PartialEq, Eq)]
pub enum Pkcs12Error {
    /// The integrity check failed, or the contents did not decrypt.
    WrongPassword,
    /// Not a PKCS#12 container (or one damaged beyond reading).
    NotPkcs12(String),
    /// An encryption or integrity scheme runner cannot open.
    Unsupported(String),
    /// A container with no private key, or no certificate.
    Incomplete(&'static str),
}

impl std::fmt::Display for Pkcs12Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pkcs12Error::WrongPassword => f.write_str(
                "wrong password: the file's integrity check fails with http.client_pkcs12_password",
            ),
            Pkcs12Error::NotPkcs12(why) => write!(f, "not a PKCS#12 file ({why})"),
            Pkcs12Error::Unsupported(why) => write!(f, "cannot open this PKCS#12 file: {why}"),
            Pkcs12Error::Incomplete(what) => f.write_str(what),
        }
    }
}

impl From<der::Bad> for Pkcs12Error {
    fn from(e: der::Bad) -> Self {
        Pkcs12Error::NotPkcs12(e.0)
    }
}

/// Whether `der` is a PKCS#12 container at all, without its password: `runner
/// check`'s test when the password comes from the environment. The structure is read
/// down to the list of contents; nothing is decrypted.
pub fn looks_like_pkcs12(der: &[u8]) -> Result<(), Pkcs12Error> {
    let pfx = read::pfx(der)?;
    read::contents(&pfx.auth_safe).map(|_| ())
}

/// Decrypts `der` with `password`: the first private key, its certificate (matched by
/// local key id, else the first certificate) and the other certificates as its chain.
pub fn open(der: &[u8], password: &str) -> Result<Opened, Pkcs12Error> {
    let pfx = read::pfx(der)?;
    if let Some(mac) = pfx.mac {
        crypt::verify_mac(mac, &pfx.auth_safe, password)?;
    }
    let bags = read::bags(&pfx.auth_safe, password, pfx.mac.is_some())?;
    let Some(key) = bags.keys.first() else {
        return Err(Pkcs12Error::Incomplete(
            "the PKCS#12 file holds no private key (a trust store?): it needs the client's certificate and key",
        ));
    };
    let own = key.local_key_id.as_ref().and_then(|id| {
        bags.certs
            .iter()
            .position(|c| c.local_key_id.as_ref() == Some(id))
    });
    let Some(leaf) = own.or(if bags.certs.is_empty() { None } else { Some(0) }) else {
        return Err(Pkcs12Error::Incomplete(
            "the PKCS#12 file holds a private key but no certificate",
        ));
    };
    let mut cert_pem = pem("CERTIFICATE", &bags.certs[leaf].der).into_bytes();
    for (i, c) in bags.certs.iter().enumerate() {
        if i != leaf {
            cert_pem.extend(pem("CERTIFICATE", &c.der).into_bytes());
        }
    }
    Ok(Opened {
        cert_pem,
        key_pem: pem("PRIVATE KEY", &key.der),
    })
}

/// `der` as a PEM block with `label`, 64 characters a line.
fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut s = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        s.push_str(&String::from_utf8_lossy(chunk));
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s
}
