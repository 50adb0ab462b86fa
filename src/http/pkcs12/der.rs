//! The little of DER (and of OpenSSL's BER) a PKCS#12 file needs: a cursor over
//! tag-length-value items that checks every length against what is left, so no input
//! can make it read out of bounds or panic.

use std::borrow::Cow;

/// A reading failure: what was expected where, in words for the user.
#[derive(Debug, PartialEq, Eq)]
pub struct Bad(pub String);

impl std::fmt::Display for Bad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub type Result<T> = std::result::Result<T, Bad>;

fn bad<T>(why: impl Into<String>) -> Result<T> {
    Err(Bad(why.into()))
}

pub const SEQUENCE: u8 = 0x30;
pub const SET: u8 = 0x31;
pub const INTEGER: u8 = 0x02;
pub const OCTET_STRING: u8 = 0x04;
pub const OID: u8 = 0x06;
/// `[0]` constructed: an explicit tag, or an implicit one over a constructed type.
pub const CONTEXT_0: u8 = 0xa0;
/// `[0]` primitive: an implicit tag over an OCTET STRING.
pub const CONTEXT_0_PRIMITIVE: u8 = 0x80;

/// How deep constructed OCTET STRINGs may nest before the file is refused.
const MAX_DEPTH: usize = 8;

/// One item: its tag and its contents.
#[derive(Clone, Copy, Debug)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub body: &'a [u8],
}

/// A cursor over a run of items (a file, or the contents of a SEQUENCE).
#[derive(Clone, Copy, Debug)]
pub struct Der<'a> {
    rest: &'a [u8],
}

impl<'a> Der<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Der { rest: bytes }
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    pub fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The next item, whatever its tag, and the bytes it spans (tag and length too).
    pub fn any_whole(&mut self) -> Result<(Tlv<'a>, &'a [u8])> {
        let start = self.rest;
        let (&tag, after) = start
            .split_first()
            .ok_or(Bad("the data ends early".into()))?;
        if tag & 0x1f == 0x1f {
            return bad(format!("a multi-byte tag ({tag:#04x})"));
        }
        let (&first, mut after) = after
            .split_first()
            .ok_or(Bad("the data ends inside a length".into()))?;
        let len = if first < 0x80 {
            usize::from(first)
        } else if first == 0x80 {
            return bad("an indefinite length (BER, not DER)");
        } else {
            let n = usize::from(first & 0x7f);
            if n > 4 || after.len() < n {
                return bad("a length that is too long or cut short");
            }
            let (digits, tail) = after.split_at(n);
            after = tail;
            digits
                .iter()
                .fold(0usize, |l, &d| (l << 8) | usize::from(d))
        };
        if after.len() < len {
            return bad("an item longer than the data holding it");
        }
        let (body, tail) = after.split_at(len);
        self.rest = tail;
        let used = start.len() - tail.len();
        Ok((Tlv { tag, body }, &start[..used]))
    }

    pub fn any(&mut self) -> Result<Tlv<'a>> {
        self.any_whole().map(|(t, _)| t)
    }

    /// The next item's contents, which must have `tag`.
    pub fn expect(&mut self, tag: u8, what: &str) -> Result<&'a [u8]> {
        match self.peek_tag() {
            Some(t) if t == tag => self.any().map(|t| t.body),
            Some(t) => bad(format!("{what} expected, found tag {t:#04x}")),
            None => bad(format!("{what} expected, found the end")),
        }
    }

    /// The next item's contents if it has `tag`, else nothing read.
    pub fn optional(&mut self, tag: u8) -> Result<Option<&'a [u8]>> {
        if self.peek_tag() == Some(tag) {
            self.any().map(|t| Some(t.body))
        } else {
            Ok(None)
        }
    }

    pub fn sequence(&mut self, what: &str) -> Result<Der<'a>> {
        self.expect(SEQUENCE, what).map(Der::new)
    }

    /// An OBJECT IDENTIFIER, dotted (`1.2.840.113549.1.7.1`).
    pub fn oid(&mut self, what: &str) -> Result<String> {
        oid_text(self.expect(OID, what)?)
    }

    /// A small non-negative INTEGER (a version, an iteration count).
    pub fn small_uint(&mut self, what: &str) -> Result<u64> {
        let body = self.expect(INTEGER, what)?;
        match body {
            [] => bad(format!("{what}: an empty INTEGER")),
            [first, ..] if first & 0x80 != 0 => bad(format!("{what}: a negative number")),
            _ => {
                let digits = body.iter().skip_while(|&&d| d == 0).count();
                if digits > 8 {
                    return bad(format!("{what}: a number too large"));
                }
                Ok(body.iter().fold(0u64, |n, &d| (n << 8) | u64::from(d)))
            }
        }
    }

    /// An OCTET STRING's bytes: primitive, or constructed from pieces as BER allows.
    pub fn octets(&mut self, what: &str) -> Result<Cow<'a, [u8]>> {
        match self.peek_tag() {
            Some(OCTET_STRING) => self.any().map(|t| Cow::Borrowed(t.body)),
            Some(0x24) => {
                let body = self.any()?.body;
                pieces(body, 0).map(Cow::Owned)
            }
            _ => bad(format!("{what} expected (an OCTET STRING)")),
        }
    }

    /// The contents of an implicit `[0]` OCTET STRING, primitive or constructed.
    pub fn implicit_octets(&mut self, what: &str) -> Result<Cow<'a, [u8]>> {
        match self.peek_tag() {
            Some(CONTEXT_0_PRIMITIVE) => self.any().map(|t| Cow::Borrowed(t.body)),
            Some(CONTEXT_0) => {
                let body = self.any()?.body;
                pieces(body, 0).map(Cow::Owned)
            }
            _ => bad(format!("{what} expected (an implicit [0] OCTET STRING)")),
        }
    }
}

/// The concatenated pieces of a constructed OCTET STRING.
fn pieces(body: &[u8], depth: usize) -> Result<Vec<u8>> {
    if depth > MAX_DEPTH {
        return bad("OCTET STRINGs nested too deep");
    }
    let mut out = Vec::with_capacity(body.len());
    let mut d = Der::new(body);
    while !d.is_empty() {
        let t = d.any()?;
        match t.tag {
            OCTET_STRING => out.extend_from_slice(t.body),
            0x24 => out.extend(pieces(t.body, depth + 1)?),
            other => return bad(format!("a piece of an OCTET STRING with tag {other:#04x}")),
        }
    }
    Ok(out)
}

/// A DER OBJECT IDENTIFIER's contents as dotted decimal.
fn oid_text(body: &[u8]) -> Result<String> {
    let mut arcs: Vec<u64> = Vec::new();
    let mut n: u64 = 0;
    let mut open = false;
    for &b in body {
        if n > (u64::MAX >> 7) {
            return bad("an OBJECT IDENTIFIER arc too large");
        }
        n = (n << 7) | u64::from(b & 0x7f);
        open = b & 0x80 != 0;
        if !open {
            if arcs.is_empty() {
                let first = (n / 40).min(2);
                arcs.push(first);
                arcs.push(n - first * 40);
            } else {
                arcs.push(n);
            }
            n = 0;
        }
    }
    if open || arcs.is_empty() {
        return bad("a malformed OBJECT IDENTIFIER");
    }
    Ok(arcs
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_and_lengths() {
        // SEQUENCE { INTEGER 3, OCTET STRING "ab" } then a trailing NULL.
        let bytes = [
            0x30, 0x07, 0x02, 0x01, 0x03, 0x04, 0x02, b'a', b'b', 0x05, 0x00,
        ];
        let mut d = Der::new(&bytes);
        let mut s = d.sequence("the sequence").unwrap();
        assert_eq!(s.small_uint("the version").unwrap(), 3);
        assert_eq!(&*s.octets("the string").unwrap(), b"ab");
        assert!(s.is_empty());
        assert_eq!(d.peek_tag(), Some(0x05));
        // A long-form length.
        let mut long = vec![0x04, 0x82, 0x01, 0x00];
        long.extend([7u8; 256]);
        assert_eq!(Der::new(&long).octets("x").unwrap().len(), 256);
    }

    #[test]
    fn constructed_octet_strings_are_joined() {
        let bytes = [
            0x24, 0x0a, 0x04, 0x02, b'a', b'b', 0x24, 0x04, 0x04, 0x02, b'c', b'd',
        ];
        assert_eq!(&*Der::new(&bytes).octets("x").unwrap(), b"abcd");
        let implicit = [0xa0, 0x04, 0x04, 0x02, b'x', b'y'];
        assert_eq!(&*Der::new(&implicit).implicit_octets("x").unwrap(), b"xy");
        let primitive = [0x80, 0x01, b'z'];
        assert_eq!(&*Der::new(&primitive).implicit_octets("x").unwrap(), b"z");
    }

    #[test]
    fn oids_read_as_dotted_decimal() {
        let data = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
        assert_eq!(oid_text(&data).unwrap(), "1.2.840.113549.1.7.1");
        assert_eq!(
            oid_text(&[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a]).unwrap(),
            "2.16.840.1.101.3.4.1.42"
        );
        assert!(oid_text(&[0x2a, 0x86]).is_err());
        assert!(oid_text(&[]).is_err());
        assert!(oid_text(&[0xff; 12]).is_err());
    }

    #[test]
    fn bad_lengths_and_numbers_are_errors() {
        for bytes in [
            &[][..],
            &[0x30],
            &[0x30, 0x05, 0x02],
            &[0x30, 0x80, 0x00, 0x00],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
            &[0x1f, 0x01, 0x00],
        ] {
            assert!(Der::new(bytes).any().is_err(), "{bytes:?}");
        }
        assert!(Der::new(&[0x02, 0x01, 0x80]).small_uint("n").is_err());
        assert!(Der::new(&[0x02, 0x00]).small_uint("n").is_err());
        assert!(
            Der::new(&[0x02, 0x09, 1, 0, 0, 0, 0, 0, 0, 0, 0])
                .small_uint("n")
                .is_err()
        );
        assert_eq!(
            Der::new(&[0x02, 0x03, 0, 0xff, 0xff]).small_uint("n"),
            Ok(0xffff)
        );
        // A constructed OCTET STRING holding something else, or nested past the limit.
        assert!(Der::new(&[0x24, 0x02, 0x05, 0x00]).octets("x").is_err());
        let mut deep = vec![0x04, 0x00];
        for _ in 0..20 {
            let len = deep.len() as u8;
            deep.splice(0..0, [0x24, len]);
        }
        assert!(Der::new(&deep).octets("x").is_err());
    }
}
