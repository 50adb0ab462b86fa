//! A PKCS#12 file (`.p12`, `.pfx`) opened into the PEM certificate chain and key that
//! the client's TLS configuration reads (`tls.rs`). `p12-keystore` only decrypts the
//! container (PBES2 with AES-CBC, OpenSSL 3's default, and the legacy 3DES/RC2 forms);
//! TLS and signatures stay on ring.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use p12_keystore::Pkcs12Archive;
use p12_keystore::error::Error as P12Error;

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

fn classify(e: P12Error) -> Pkcs12Error {
    match e {
        P12Error::MacError(_) | P12Error::UnpadError => Pkcs12Error::WrongPassword,
        P12Error::UnsupportedEncryptionScheme
        | P12Error::UnsupportedMacAlgorithm
        | P12Error::UnsupportedContentType => Pkcs12Error::Unsupported(e.to_string()),
        other => Pkcs12Error::NotPkcs12(other.to_string()),
    }
}

/// Whether `der` is a PKCS#12 container at all, without its password: `runner
/// check`'s test when the password comes from the environment. A failed integrity
/// check means the structure was read (only the password is unknown here).
pub fn looks_like_pkcs12(der: &[u8]) -> Result<(), Pkcs12Error> {
    match Pkcs12Archive::from_pkcs12(der, "") {
        Ok(_) => Ok(()),
        Err(e) => match classify(e) {
            Pkcs12Error::WrongPassword => Ok(()),
            other => Err(other),
        },
    }
}

/// Decrypts `der` with `password`: the first private key, its certificate (matched by
/// local key id, else the first certificate) and the other certificates as its chain.
pub fn open(der: &[u8], password: &str) -> Result<Opened, Pkcs12Error> {
    let archive = Pkcs12Archive::from_pkcs12(der, password).map_err(classify)?;
    let Some(key) = archive.keys.first() else {
        return Err(Pkcs12Error::Incomplete(
            "the PKCS#12 file holds no private key (a trust store?): it needs the client's certificate and key",
        ));
    };
    let own = key.local_key_id.as_ref().and_then(|id| {
        archive
            .certs
            .iter()
            .position(|c| c.local_key_id.as_deref() == Some(id.as_ref()))
    });
    let Some(leaf) = own.or(if archive.certs.is_empty() {
        None
    } else {
        Some(0)
    }) else {
        return Err(Pkcs12Error::Incomplete(
            "the PKCS#12 file holds a private key but no certificate",
        ));
    };
    let mut cert_pem = pem("CERTIFICATE", archive.certs[leaf].cert.as_der()).into_bytes();
    for (i, c) in archive.certs.iter().enumerate() {
        if i != leaf {
            cert_pem.extend(pem("CERTIFICATE", c.cert.as_der()).into_bytes());
        }
    }
    Ok(Opened {
        cert_pem,
        key_pem: pem("PRIVATE KEY", key.key.as_der()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_not_a_container_says_so() {
        for bytes in [
            &b""[..],
            b"hello",
            b"\x30\x03\x02\x01\x03",
            b"-----BEGIN CERTIFICATE-----",
        ] {
            assert!(
                matches!(open(bytes, "pw"), Err(Pkcs12Error::NotPkcs12(_))),
                "{bytes:?}"
            );
            assert!(looks_like_pkcs12(bytes).is_err());
        }
    }

    #[test]
    fn pem_lines_are_64_characters() {
        let p = pem("CERTIFICATE", &[7u8; 100]);
        let lines: Vec<&str> = p.lines().collect();
        assert_eq!(lines[0], "-----BEGIN CERTIFICATE-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines.last(), Some(&"-----END CERTIFICATE-----"));
    }
}
