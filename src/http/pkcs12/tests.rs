use std::path::Path;
use std::process::Command;

use ring::digest;

use super::crypt::{bmp_password, pkcs12_kdf};
use super::*;

/// A password with punctuation and non-ASCII, as the PKCS#12 KDF must widen it.
const PW: &str = "p12 & <pw> \"q\" 'a' \\ % + / = : é";

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(char::is_ascii_hexdigit).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn the_pkcs12_kdf_gives_the_known_vectors() {
    // The long-standing vectors (password "smeg"/"queeg"), and one with SHA-256 and a
    // non-ASCII password; each checked with OpenSSL 3's own KDF, e.g.
    // `openssl kdf -keylen 24 -kdfopt digest:SHA1 -kdfopt hexpass:0073006d006500670000
    //  -kdfopt hexsalt:0A58CF64530D823F -kdfopt iter:1 -kdfopt id:1 PKCS12KDF`.
    let sha1 = &digest::SHA1_FOR_LEGACY_USE_ONLY;
    let cases: [(&digest::Algorithm, &str, &str, u8, u32, &str); 5] = [
        (
            sha1,
            "smeg",
            "0A58CF64530D823F",
            1,
            1,
            "8AAAE6297B6CB04642AB5B077851284EB7128F1A2A7FBCA3",
        ),
        (sha1, "smeg", "0A58CF64530D823F", 2, 1, "79993DFE048D3B76"),
        (
            sha1,
            "smeg",
            "3D83C0E4546AC140",
            3,
            1,
            "8D967D88F6CAA9D714800AB3D48051D63F73A312",
        ),
        (
            sha1,
            "queeg",
            "1682C0FC5B3F7EC5",
            1,
            1000,
            "483DD6E919D7DE2E8E648BA8F862F3FBFBDC2BCB2C02957F",
        ),
        (
            &digest::SHA256,
            "pé",
            "0102030405060708",
            3,
            2048,
            "E34BEB86EB79397FB15DB6D33A95ECCDE04D0CDDE65589D722984460B5D1420D",
        ),
    ];
    for (hash, pw, salt, id, rounds, want) in cases {
        let want = hex(want);
        let got = pkcs12_kdf(
            hash,
            id,
            &bmp_password(Some(pw)),
            &hex(salt),
            rounds,
            want.len(),
        );
        assert_eq!(got, want, "{pw} id {id}");
    }
    assert_eq!(bmp_password(Some("pé")), [0, b'p', 0, 0xe9, 0, 0]);
    assert!(bmp_password(None).is_empty());
}

/// Runs `openssl` with `args` in `dir`, the password in its environment.
fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let r = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .env("P12_TEST_PW", PW)
        .output()
        .expect("the openssl command (Debian: openssl) makes the test files");
    assert!(
        r.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&r.stderr)
    );
    r.stdout
}

/// A key and its certificate, a CA certificate, and the key as unencrypted PKCS#8 PEM.
fn identity(dir: &Path) -> (String, String) {
    for (name, key, cn) in [("leaf", "leaf.key", "/CN=leaf"), ("ca", "ca.key", "/CN=ca")] {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                key,
                "-out",
                &format!("{name}.pem"),
                "-subj",
                cn,
                "-days",
                "2",
            ],
        );
    }
    let key = openssl(dir, &["pkcs8", "-topk8", "-nocrypt", "-in", "leaf.key"]);
    let chain = std::fs::read_to_string(dir.join("leaf.pem")).unwrap()
        + &std::fs::read_to_string(dir.join("ca.pem")).unwrap();
    (String::from_utf8(key).unwrap(), chain)
}

/// `openssl pkcs12 -export` of the identity with `extra` options.
fn export(dir: &Path, extra: &[&str]) -> Vec<u8> {
    let mut args = vec![
        "pkcs12",
        "-export",
        "-in",
        "leaf.pem",
        "-inkey",
        "leaf.key",
        "-certfile",
        "ca.pem",
        "-passout",
        "env:P12_TEST_PW",
        "-out",
        "out.p12",
    ];
    args.extend_from_slice(extra);
    openssl(dir, &args);
    std::fs::read(dir.join("out.p12")).unwrap()
}

const FORMS: [&[&str]; 7] = [
    &[],
    &["-legacy"],
    &[
        "-keypbe",
        "AES-128-CBC",
        "-certpbe",
        "AES-192-CBC",
        "-macalg",
        "sha1",
    ],
    &[
        "-keypbe",
        "DES-EDE3-CBC",
        "-certpbe",
        "AES-256-CBC",
        "-macalg",
        "sha512",
    ],
    &[
        "-legacy",
        "-keypbe",
        "PBE-SHA1-2DES",
        "-certpbe",
        "PBE-SHA1-RC2-128",
    ],
    &["-keypbe", "NONE", "-certpbe", "NONE"],
    &["-legacy", "-nomac"],
];

#[test]
fn openssl_files_of_every_form_open_to_the_key_and_its_chain() {
    let dir = tempfile::tempdir().unwrap();
    let (key, chain) = identity(dir.path());
    for form in FORMS {
        let p12 = export(dir.path(), form);
        let opened = open(&p12, PW).unwrap_or_else(|e| panic!("{form:?}: {e}"));
        assert_eq!(opened.key_pem, key, "{form:?}");
        assert_eq!(
            String::from_utf8(opened.cert_pem).unwrap(),
            chain,
            "{form:?}"
        );
        assert_eq!(looks_like_pkcs12(&p12), Ok(()), "{form:?}");
        let wrong = open(&p12, "p12 & <pw> \"q\" 'a' \\ % + / = : e").err();
        if form != ["-keypbe", "NONE", "-certpbe", "NONE"] {
            assert_eq!(wrong, Some(Pkcs12Error::WrongPassword), "{form:?}");
            assert_eq!(
                open(&p12, "").err(),
                Some(Pkcs12Error::WrongPassword),
                "{form:?}"
            );
        }
    }
}

#[test]
fn a_cipher_not_known_here_is_named() {
    let dir = tempfile::tempdir().unwrap();
    identity(dir.path());
    let p12 = export(dir.path(), &["-keypbe", "CAMELLIA-256-CBC"]);
    assert_eq!(
        open(&p12, PW).err().map(|e| e.to_string()),
        Some(
            "cannot open this PKCS#12 file: PBES2 with cipher 1.2.392.200011.61.1.1.1.4"
                .to_string()
        )
    );
    // The integrity check comes first: a wrong password is still named as such.
    assert_eq!(open(&p12, "x").err(), Some(Pkcs12Error::WrongPassword));
}

#[test]
fn an_empty_password_opens_a_file_exported_with_one() {
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = identity(dir.path());
    openssl(
        dir.path(),
        &[
            "pkcs12",
            "-export",
            "-in",
            "leaf.pem",
            "-inkey",
            "leaf.key",
            "-passout",
            "pass:",
            "-out",
            "empty.p12",
        ],
    );
    let p12 = std::fs::read(dir.path().join("empty.p12")).unwrap();
    assert_eq!(open(&p12, "").map(|o| o.key_pem).ok(), Some(key));
    assert_eq!(open(&p12, "x").err(), Some(Pkcs12Error::WrongPassword));
}

#[test]
fn no_truncation_or_damage_of_a_real_file_panics() {
    let dir = tempfile::tempdir().unwrap();
    identity(dir.path());
    // Few iterations, so that every damaged copy is quick to try.
    for form in [
        &["-iter", "1", "-nomac"][..],
        &["-legacy", "-iter", "1", "-nomac"],
        &["-iter", "1"],
    ] {
        let p12 = export(dir.path(), form);
        for cut in 0..p12.len() {
            assert!(open(&p12[..cut], PW).is_err(), "{form:?} cut at {cut}");
            assert!(
                looks_like_pkcs12(&p12[..cut]).is_err(),
                "{form:?} cut at {cut}"
            );
        }
        for at in 0..p12.len() {
            for flip in [0x01, 0x80, 0xff] {
                let mut bad = p12.clone();
                bad[at] ^= flip;
                let _ = open(&bad, PW);
                let _ = looks_like_pkcs12(&bad);
            }
        }
    }
}

#[test]
fn what_is_not_a_container_says_so() {
    for bytes in [
        &b""[..],
        b"hello",
        b"\x30\x03\x02\x01\x03",
        b"\x30\x03\x02\x01\x02",
        b"-----BEGIN CERTIFICATE-----",
    ] {
        assert!(
            matches!(open(bytes, "pw"), Err(Pkcs12Error::NotPkcs12(_))),
            "{bytes:?}"
        );
        assert!(looks_like_pkcs12(bytes).is_err());
    }
    assert_eq!(
        open(b"\x30\x03\x02\x01\x02", "pw")
            .err()
            .map(|e| e.to_string()),
        Some("not a PKCS#12 file (version 2, not 3)".to_string())
    );
    assert_eq!(
        looks_like_pkcs12(b"\n-----BEGIN CERTIFICATE-----\nMII").map_err(|e| e.to_string()),
        Err("not a PKCS#12 file (a PEM file: a PEM certificate and key go in http.client_cert and http.client_key)".to_string())
    );
    assert_eq!(
        open(b"hello", "pw").err().map(|e| e.to_string()),
        Some("not a PKCS#12 file (a PFX expected, found tag 0x68)".to_string())
    );
    // Garbage that starts like a PFX: a pseudo-random tail, many times.
    let mut seed: u32 = 0x1234_5678;
    for len in 0..2000usize {
        let mut bytes = vec![0x30, 0x82, (len >> 8) as u8, len as u8, 0x02, 0x01, 0x03];
        for _ in 0..len {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            bytes.push((seed >> 24) as u8);
        }
        assert!(open(&bytes, "pw").is_err());
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
