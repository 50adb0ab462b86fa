//! The keys and ciphers of a PKCS#12 file: PBES2 (PBKDF2 over ring's HMAC, AES-CBC
//! or 3DES-CBC), the PKCS#12 PBE of RFC 7292 appendix B (its KDF over ring's SHA-1,
//! 3DES-CBC or RC2-CBC: what `openssl pkcs12 -legacy` writes), and the integrity
//! check (HMAC keyed by that KDF, compared in constant time by ring).

use std::num::NonZeroU32;

use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockCipher, BlockDecryptMut, InnerIvInit, KeyInit};
use ring::{digest, hmac, pbkdf2};

use super::Pkcs12Error;
use super::der::{Der, OCTET_STRING, SEQUENCE};

/// The password as the PKCS#12 KDF reads it: UTF-16 big-endian with a final NUL
/// (RFC 7292 B.1), which OpenSSL 3 makes from UTF-8. `None` is OpenSSL's NULL
/// password (no bytes), which it tries after an empty one.
pub fn bmp_password(password: Option<&str>) -> Vec<u8> {
    let Some(password) = password else {
        return Vec::new();
    };
    let mut out: Vec<u8> = password.encode_utf16().flat_map(u16::to_be_bytes).collect();
    out.extend([0, 0]);
    out
}

/// RFC 7292 appendix B.2: `n` bytes of key material for purpose `id` (1 a key, 2 an
/// IV, 3 a MAC key) from `password` (already `bmp_password`), `salt` and `rounds`.
pub fn pkcs12_kdf(
    hash: &'static digest::Algorithm,
    id: u8,
    password: &[u8],
    salt: &[u8],
    rounds: u32,
    n: usize,
) -> Vec<u8> {
    let v = hash.block_len();
    let stretch = |s: &[u8]| -> Vec<u8> {
        let len = s.len().div_ceil(v) * v;
        s.iter().copied().cycle().take(len).collect()
    };
    let mut i_buf = stretch(salt);
    i_buf.extend(stretch(password));
    let mut out = Vec::with_capacity(n + hash.output_len());
    while out.len() < n {
        let mut ctx = digest::Context::new(hash);
        ctx.update(&vec![id; v]);
        ctx.update(&i_buf);
        let mut a = ctx.finish();
        for _ in 1..rounds {
            a = digest::digest(hash, a.as_ref());
        }
        out.extend_from_slice(a.as_ref());
        // B = A repeated to v bytes; each v-byte block of I becomes I + B + 1.
        let b: Vec<u8> = a.as_ref().iter().copied().cycle().take(v).collect();
        for block in i_buf.chunks_mut(v) {
            let mut carry = 1u16;
            for (x, y) in block.iter_mut().zip(&b).rev() {
                let sum = u16::from(*x) + u16::from(*y) + carry;
                *x = sum as u8;
                carry = sum >> 8;
            }
        }
    }
    out.truncate(n);
    out
}

fn unsupported<T>(what: String) -> Result<T, Pkcs12Error> {
    Err(Pkcs12Error::Unsupported(what))
}

fn malformed(why: impl std::fmt::Display) -> Pkcs12Error {
    Pkcs12Error::NotPkcs12(why.to_string())
}

/// The most iterations a file may ask for: far above what any tool writes (OpenSSL
/// 2048, Java 10,000, OWASP's PBKDF2 advice 600,000), low enough that a damaged or
/// hostile count cannot keep runner busy for minutes.
const MAX_ROUNDS: u64 = 10_000_000;

fn rounds(n: u64) -> Result<NonZeroU32, Pkcs12Error> {
    if n > MAX_ROUNDS {
        return unsupported(format!(
            "{n} iterations of its key derivation (at most {MAX_ROUNDS} are tried)"
        ));
    }
    u32::try_from(n)
        .ok()
        .and_then(NonZeroU32::new)
        .ok_or_else(|| malformed(format!("an iteration count of {n}")))
}

/// The integrity check of `macData` over `content` with `password`: Ok when it holds.
pub fn verify_mac(mac_data: &[u8], content: &[u8], password: &str) -> Result<(), Pkcs12Error> {
    let mut d = Der::new(mac_data);
    let mut digest_info = d.sequence("the MAC")?;
    let mut alg = digest_info.sequence("the MAC's algorithm")?;
    let oid = alg.oid("the MAC's algorithm")?;
    let tag = digest_info.octets("the MAC")?;
    let salt = d.octets("the MAC's salt")?;
    let n = match d.is_empty() {
        true => 1,
        false => d.small_uint("the MAC's iterations")?,
    };
    let (hash, mac_alg) = match oid.as_str() {
        "1.3.14.3.2.26" => (
            &digest::SHA1_FOR_LEGACY_USE_ONLY,
            hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        ),
        "2.16.840.1.101.3.4.2.1" => (&digest::SHA256, hmac::HMAC_SHA256),
        "2.16.840.1.101.3.4.2.2" => (&digest::SHA384, hmac::HMAC_SHA384),
        "2.16.840.1.101.3.4.2.3" => (&digest::SHA512, hmac::HMAC_SHA512),
        "1.2.840.113549.1.5.14" => return unsupported("a PBMAC1 integrity check".into()),
        other => return unsupported(format!("an integrity check with digest {other}")),
    };
    let n = rounds(n)?.get();
    let tries: &[Option<&str>] = match password.is_empty() {
        true => &[Some(""), None],
        false => &[Some(password)],
    };
    let holds = tries.iter().any(|pw| {
        let key = pkcs12_kdf(hash, 3, &bmp_password(*pw), &salt, n, hash.output_len());
        hmac::verify(&hmac::Key::new(mac_alg, &key), content, &tag).is_ok()
    });
    match holds {
        true => Ok(()),
        false => Err(Pkcs12Error::WrongPassword),
    }
}

/// The ciphers a PKCS#12 file's contents may use.
enum Cipher {
    Aes(usize),
    TripleDes,
    TwoKeyDes,
    Rc2(usize),
}

/// Decrypts `data` with the AlgorithmIdentifier `alg` (its whole contents) and
/// `password`. A bad padding is a wrong password.
pub fn decrypt(alg: &[u8], data: &[u8], password: &str) -> Result<Vec<u8>, Pkcs12Error> {
    let mut d = Der::new(alg);
    let oid = d.oid("the encryption algorithm")?;
    let params = d.expect(SEQUENCE, "the encryption parameters")?;
    let legacy = match oid.as_str() {
        "1.2.840.113549.1.5.13" => return pbes2(params, data, password),
        "1.2.840.113549.1.12.1.3" => Cipher::TripleDes,
        "1.2.840.113549.1.12.1.4" => Cipher::TwoKeyDes,
        "1.2.840.113549.1.12.1.5" => Cipher::Rc2(128),
        "1.2.840.113549.1.12.1.6" => Cipher::Rc2(40),
        other => return unsupported(format!("encryption {other}")),
    };
    let mut p = Der::new(params);
    let salt = p.octets("the salt")?;
    let n = rounds(p.small_uint("the iterations")?)?.get();
    let key_len = match legacy {
        Cipher::TripleDes => 24,
        Cipher::TwoKeyDes => 16,
        Cipher::Rc2(bits) | Cipher::Aes(bits) => bits / 8,
    };
    let sha1 = &digest::SHA1_FOR_LEGACY_USE_ONLY;
    let pw = bmp_password(Some(password));
    let key = pkcs12_kdf(sha1, 1, &pw, &salt, n, key_len);
    let iv = pkcs12_kdf(sha1, 2, &pw, &salt, n, 8);
    run_cipher(&legacy, &key, &iv, data)
}

/// PBES2 (RFC 8018): PBKDF2 with its PRF, then AES-CBC or 3DES-CBC.
fn pbes2(params: &[u8], data: &[u8], password: &str) -> Result<Vec<u8>, Pkcs12Error> {
    let mut p = Der::new(params);
    let mut kdf = p.sequence("the PBES2 key derivation")?;
    let mut scheme = p.sequence("the PBES2 encryption")?;
    let kdf_oid = kdf.oid("the PBES2 key derivation")?;
    if kdf_oid != "1.2.840.113549.1.5.12" {
        return unsupported(format!("key derivation {kdf_oid} (PBKDF2 is known)"));
    }
    let mut kp = kdf.sequence("the PBKDF2 parameters")?;
    let salt = kp.octets("the PBKDF2 salt")?;
    let n = rounds(kp.small_uint("the PBKDF2 iterations")?)?;
    if kp.peek_tag() == Some(super::der::INTEGER) {
        kp.small_uint("the PBKDF2 key length")?;
    }
    let prf = match kp.is_empty() {
        true => "1.2.840.113549.2.7".to_string(),
        false => {
            let mut prf = kp.sequence("the PBKDF2 PRF")?;
            prf.oid("the PBKDF2 PRF")?
        }
    };
    let prf = match prf.as_str() {
        "1.2.840.113549.2.7" => pbkdf2::PBKDF2_HMAC_SHA1,
        "1.2.840.113549.2.9" => pbkdf2::PBKDF2_HMAC_SHA256,
        "1.2.840.113549.2.10" => pbkdf2::PBKDF2_HMAC_SHA384,
        "1.2.840.113549.2.11" => pbkdf2::PBKDF2_HMAC_SHA512,
        other => return unsupported(format!("PBKDF2 with PRF {other}")),
    };
    let cipher = match scheme.oid("the PBES2 cipher")?.as_str() {
        "2.16.840.1.101.3.4.1.2" => Cipher::Aes(128),
        "2.16.840.1.101.3.4.1.22" => Cipher::Aes(192),
        "2.16.840.1.101.3.4.1.42" => Cipher::Aes(256),
        "1.2.840.113549.3.7" => Cipher::TripleDes,
        other => return unsupported(format!("PBES2 with cipher {other}")),
    };
    let iv = scheme.expect(OCTET_STRING, "the IV")?;
    let key_len = match cipher {
        Cipher::Aes(bits) => bits / 8,
        _ => 24,
    };
    let mut key = vec![0u8; key_len];
    pbkdf2::derive(prf, n, &salt, password.as_bytes(), &mut key);
    run_cipher(&cipher, &key, iv, data)
}

fn run_cipher(c: &Cipher, key: &[u8], iv: &[u8], data: &[u8]) -> Result<Vec<u8>, Pkcs12Error> {
    let bad_key = |_| malformed("a key of the wrong length");
    match c {
        Cipher::Aes(128) => cbc(aes::Aes128::new_from_slice(key).map_err(bad_key)?, iv, data),
        Cipher::Aes(192) => cbc(aes::Aes192::new_from_slice(key).map_err(bad_key)?, iv, data),
        Cipher::Aes(_) => cbc(aes::Aes256::new_from_slice(key).map_err(bad_key)?, iv, data),
        Cipher::TripleDes => cbc(
            des::TdesEde3::new_from_slice(key).map_err(bad_key)?,
            iv,
            data,
        ),
        Cipher::TwoKeyDes => cbc(
            des::TdesEde2::new_from_slice(key).map_err(bad_key)?,
            iv,
            data,
        ),
        Cipher::Rc2(bits) => cbc(rc2::Rc2::new_with_eff_key_len(key, *bits), iv, data),
    }
}

/// CBC decryption with `cipher`, then the PKCS#7 padding checked and taken off.
fn cbc<C: BlockCipher + BlockDecryptMut>(
    cipher: C,
    iv: &[u8],
    data: &[u8],
) -> Result<Vec<u8>, Pkcs12Error> {
    let mut dec = cbc::Decryptor::<C>::inner_iv_slice_init(cipher, iv)
        .map_err(|_| malformed("an IV of the wrong length"))?;
    let size = iv.len();
    if data.is_empty() || !data.len().is_multiple_of(size) {
        return Err(malformed("encrypted data that is not whole blocks"));
    }
    let mut out = data.to_vec();
    for block in out.chunks_mut(size) {
        dec.decrypt_block_mut(GenericArray::from_mut_slice(block));
    }
    let pad = usize::from(out[out.len() - 1]);
    let padded = pad >= 1 && pad <= size && out[out.len() - pad..].iter().all(|&b| b == pad as u8);
    if !padded {
        return Err(Pkcs12Error::WrongPassword);
    }
    out.truncate(out.len() - pad);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use aes::cipher::BlockEncryptMut;

    use super::*;

    /// `plain` (whole blocks, its padding as given) encrypted with AES-128-CBC.
    fn encrypt(key: &[u8; 16], iv: &[u8; 16], plain: &[u8]) -> Vec<u8> {
        let cipher = aes::Aes128::new_from_slice(key).unwrap();
        let mut enc = cbc::Encryptor::<aes::Aes128>::inner_iv_slice_init(cipher, iv).unwrap();
        let mut out = plain.to_vec();
        for block in out.chunks_mut(16) {
            enc.encrypt_block_mut(GenericArray::from_mut_slice(block));
        }
        out
    }

    #[test]
    fn the_pkcs7_padding_is_checked_and_taken_off() {
        let (key, iv) = ([7u8; 16], [9u8; 16]);
        let run =
            |plain: &[u8]| run_cipher(&Cipher::Aes(128), &key, &iv, &encrypt(&key, &iv, plain));
        let mut text = b"sixteen bytes!!!".to_vec();
        text.extend([
            b'x', b'y', 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14,
        ]);
        assert_eq!(run(&text).unwrap(), b"sixteen bytes!!!xy");
        assert_eq!(run(&[16u8; 16]).unwrap(), b"");
        for last in [
            [0u8; 16],
            [17u8; 16],
            [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2],
            [3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 3, 3],
        ] {
            assert_eq!(run(&last), Err(Pkcs12Error::WrongPassword), "{last:?}");
        }
        // Not whole blocks, an IV of the wrong length, nothing at all.
        let cut = &encrypt(&key, &iv, &[16u8; 16])[..15];
        assert!(matches!(
            run_cipher(&Cipher::Aes(128), &key, &iv, cut),
            Err(Pkcs12Error::NotPkcs12(_))
        ));
        assert!(matches!(
            run_cipher(&Cipher::Aes(128), &key, &iv[..8], &[0; 16]),
            Err(Pkcs12Error::NotPkcs12(_))
        ));
        assert!(matches!(
            run_cipher(&Cipher::Aes(128), &key, &iv, &[]),
            Err(Pkcs12Error::NotPkcs12(_))
        ));
        assert!(matches!(
            run_cipher(&Cipher::TripleDes, &key, &iv[..8], &[0; 8]),
            Err(Pkcs12Error::NotPkcs12(_))
        ));
    }
}
