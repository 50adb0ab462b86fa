//! Keys made by the `openssl` command in each format a user may hold, signatures
//! checked by `openssl` too: neither side of a check is runner's own code.

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, json};

use super::{Alg, SigningKey};

fn openssl(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command (Debian: openssl) runs the signing tests");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Checks `jws` with `openssl dgst -verify` against the public half of `key.pem`.
fn verify_with_openssl(dir: &Path, jws: &str, digest_args: &[&str]) {
    let (input, sig) = jws.rsplit_once('.').unwrap();
    let mut sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    if digest_args.contains(&"ecdsa") {
        sig = raw_to_der_ecdsa(&sig);
    }
    std::fs::write(dir.join("input"), input).unwrap();
    std::fs::write(dir.join("sig"), sig).unwrap();
    openssl(
        dir,
        &["pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem"],
    );
    let mut args = vec!["dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig"];
    args.extend(digest_args.iter().filter(|a| **a != "ecdsa"));
    args.push("input");
    let out = openssl(dir, &args);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Verified OK"));
}

/// JWS carries ECDSA signatures as r || s; openssl wants DER.
fn raw_to_der_ecdsa(sig: &[u8]) -> Vec<u8> {
    let int = |b: &[u8]| {
        let b: Vec<u8> = b.iter().copied().skip_while(|x| *x == 0).collect();
        let mut v = if b[0] & 0x80 != 0 { vec![0] } else { vec![] };
        v.extend(b);
        super::der_tlv(0x02, &v)
    };
    let mut body = int(&sig[..32]);
    body.extend(int(&sig[32..]));
    super::der_tlv(0x30, &body)
}

fn key(dir: &Path, gen_args: &[&str]) -> String {
    openssl(dir, gen_args);
    std::fs::read_to_string(dir.join("key.pem")).unwrap()
}

fn claims() -> serde_json::Value {
    json!({"iss": "client-1", "sub": "client-1", "aud": "https://as.example/token", "jti": "x"})
}

#[test]
fn rsa_keys_in_pkcs8_and_pkcs1_sign_rs256_and_ps256_that_openssl_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pkcs8 = key(
        d,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "key.pem",
        ],
    );
    assert!(pkcs8.contains("BEGIN PRIVATE KEY"));
    let k = SigningKey::from_pem(&pkcs8, None).unwrap();
    assert_eq!(k.alg(), Alg::RS256);
    verify_with_openssl(d, &k.sign(Map::new(), &claims()).unwrap(), &[]);
    let ps = SigningKey::from_pem(&pkcs8, Some(Alg::PS256)).unwrap();
    let jws = ps.sign(Map::new(), &claims()).unwrap();
    verify_with_openssl(
        d,
        &jws,
        &[
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            "rsa_pss_saltlen:32",
        ],
    );

    openssl(
        d,
        &["rsa", "-in", "key.pem", "-traditional", "-out", "key.pem"],
    );
    let pkcs1 = std::fs::read_to_string(d.join("key.pem")).unwrap();
    assert!(pkcs1.contains("BEGIN RSA PRIVATE KEY"));
    let k = SigningKey::from_pem(&pkcs1, None).unwrap();
    verify_with_openssl(d, &k.sign(Map::new(), &claims()).unwrap(), &[]);
    let jwk = k.public_jwk().unwrap();
    assert_eq!(jwk["kty"], "RSA");
    assert_eq!(jwk["e"], "AQAB");
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(jwk["n"].as_str().unwrap())
            .unwrap()
            .len(),
        256
    );
}

#[test]
fn p256_keys_in_sec1_and_pkcs8_sign_es256_that_openssl_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sec1 = key(
        d,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "key.pem",
        ],
    );
    assert!(sec1.contains("BEGIN EC PRIVATE KEY"));
    let k = SigningKey::from_pem(&sec1, None).unwrap();
    assert_eq!(k.alg(), Alg::ES256);
    let mut header = Map::new();
    header.insert("kid".into(), "k1".into());
    let jws = k.sign(header, &claims()).unwrap();
    let head: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(jws.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(head, json!({"kid": "k1", "alg": "ES256"}));
    verify_with_openssl(d, &jws, &["ecdsa"]);

    let pkcs8 = key(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "key.pem",
        ],
    );
    let k = SigningKey::from_pem(&pkcs8, None).unwrap();
    verify_with_openssl(d, &k.sign(Map::new(), &claims()).unwrap(), &["ecdsa"]);
}

#[test]
fn ed25519_signs_eddsa_that_openssl_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pem = key(d, &["genpkey", "-algorithm", "ED25519", "-out", "key.pem"]);
    let k = SigningKey::from_pem(&pem, None).unwrap();
    assert_eq!(k.alg(), Alg::EdDSA);
    let jws = k.sign(Map::new(), &claims()).unwrap();
    let (input, sig) = jws.rsplit_once('.').unwrap();
    std::fs::write(d.join("input"), input).unwrap();
    std::fs::write(d.join("sig"), URL_SAFE_NO_PAD.decode(sig).unwrap()).unwrap();
    openssl(d, &["pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem"]);
    let out = openssl(
        d,
        &[
            "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "input",
            "-sigfile", "sig",
        ],
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Signature Verified Successfully"));
}

#[test]
fn hs256_matches_openssl_hmac() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "s3cr&t <x> é";
    let jws = SigningKey::hmac(secret.as_bytes())
        .sign(Map::new(), &claims())
        .unwrap();
    let (input, sig) = jws.rsplit_once('.').unwrap();
    std::fs::write(dir.path().join("input"), input).unwrap();
    let out = openssl(
        dir.path(),
        &["dgst", "-sha256", "-hmac", secret, "-binary", "input"],
    );
    assert_eq!(URL_SAFE_NO_PAD.decode(sig).unwrap(), out.stdout);
}

#[test]
fn a_generated_dpop_key_round_trips_through_its_pkcs8_and_has_an_rfc7638_thumbprint() {
    let (k, pkcs8) = SigningKey::generate_es256().unwrap();
    let again = SigningKey::from_pkcs8(&pkcs8).unwrap();
    assert_eq!(k.public_jwk(), again.public_jwk());
    let jwk = k.public_jwk().unwrap();
    let canonical = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        jwk["x"].as_str().unwrap(),
        jwk["y"].as_str().unwrap()
    );
    let digest = ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes());
    assert_eq!(
        k.thumbprint().unwrap(),
        URL_SAFE_NO_PAD.encode(digest.as_ref())
    );
}

#[test]
fn bad_keys_are_refused_without_showing_them() {
    let junk = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END PRIVATE KEY-----\n";
    let err = SigningKey::from_pem(junk, None).unwrap_err();
    assert!(!err.contains("c2VjcmV0"), "{err}");
    assert_eq!(
        err,
        "the PKCS#8 key is not RSA (2048 bits or more), P-256 or Ed25519"
    );
    let err = SigningKey::from_pem("not a key", None).unwrap_err();
    assert!(err.starts_with("it is not a PEM private key"), "{err}");
    assert_eq!(
        Alg::parse("none").unwrap_err(),
        "unknown signing algorithm `none` (RS256, PS256, ES256, EdDSA or HS256)"
    );
}
