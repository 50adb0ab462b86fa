//! A page's items (and next link) found by a hand-written scanner: the quick reading
//! of a page read raw. It accepts only what serde_json accepts, and gives the same
//! item boundaries as serde_json's reading (`raw.rs`); whatever it is not sure of (an
//! escape in a key or on the way to the items, a number where the chains lead, the
//! chains meeting, nesting deeper than 64, an invalid page) it leaves to that reading
//! by answering `None`. On B3's 26 MB of items serde_json's reading took 268 M
//! instructions, this one 162 M (BENCHMARKS.md, seventh session), 129 M with strings
//! crossed sixteen bytes at a time (eighth session).

use std::ops::Range;

/// What the scan found: each item's place in the page, the next link (a string
/// without escapes, or `None` for anything that is not a non-empty string), and
/// whether the page has no line break.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Scanned {
    pub(super) items: Vec<Range<usize>>,
    pub(super) next: Option<Range<usize>>,
    pub(super) one_line: bool,
}

/// Scans `text` for the items at `items` and the next link at `next` (member names).
pub(super) fn scan_page(items: &[String], next: Option<&[String]>, text: &str) -> Option<Scanned> {
    let mut sc = Scanner {
        s: text.as_bytes(),
        i: 0,
        one_line: true,
        block_at: NO_BLOCK,
        block: 0,
    };
    let mut found = Found::default();
    sc.walk(Some(items), next, &mut found)?;
    // Only whitespace may follow the page.
    if sc.ws().is_some() {
        return None;
    }
    Some(Scanned {
        items: found.items.unwrap_or_default(),
        next: found.next.filter(|r| !r.is_empty()),
        one_line: sc.one_line,
    })
}

#[derive(Default)]
struct Found {
    items: Option<Vec<Range<usize>>>,
    /// A string's text, without its quotes.
    next: Option<Range<usize>>,
}

/// Nesting deeper than this is left to serde_json.
const MAX_DEPTH: u32 = 64;

struct Scanner<'b> {
    s: &'b [u8],
    i: usize,
    one_line: bool,
    /// Where the 64 bytes that `block` describes begin (with SSE2), or [`NO_BLOCK`].
    block_at: usize,
    /// One bit for each of those bytes that is `"`, `\` or a control character, the
    /// first byte's the lowest: found once for every string that starts there.
    block: u64,
}

/// A `block_at` far beyond any page: no block is read yet.
const NO_BLOCK: usize = usize::MAX / 2;

/// The index after an escape whose `\` is before `i`.
fn escape(s: &[u8], i: usize) -> Option<usize> {
    match s.get(i)? {
        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Some(i + 1),
        b'u' => {
            let hex = s.get(i + 1..i + 5)?;
            hex.iter().all(u8::is_ascii_hexdigit).then_some(i + 5)
        }
        _ => None,
    }
}

impl Scanner<'_> {
    /// Skips whitespace; the byte after it, not consumed.
    #[inline(always)]
    fn ws(&mut self) -> Option<u8> {
        loop {
            let b = *self.s.get(self.i)?;
            // Above the space: not whitespace (what compact JSON always has here).
            if b > b' ' {
                return Some(b);
            }
            match b {
                b' ' | b'\t' => {}
                b'\n' | b'\r' => self.one_line = false,
                _ => return Some(b),
            }
            self.i += 1;
        }
    }

    /// Consumes `b` after whitespace.
    #[inline(always)]
    fn eat(&mut self, b: u8) -> Option<()> {
        (self.ws()? == b).then(|| self.i += 1)
    }

    /// Follows the member chains down one value, as `raw::Walk` does.
    fn walk<'c>(
        &mut self,
        items: Option<&'c [String]>,
        next: Option<&'c [String]>,
        found: &mut Found,
    ) -> Option<()> {
        match (items, next) {
            // (serde_json's reading takes the items there whatever the next chain.)
            (Some([]), None | Some([_, ..])) => {
                found.items = Some(self.array()?);
                Some(())
            }
            (None, Some([])) => {
                found.next = self.link()?;
                Some(())
            }
            // The chains meet, or the items lie below the next link.
            (Some(_), Some([])) => None,
            _ => match self.ws()? {
                b'{' => {
                    self.i += 1;
                    self.members(items, next, found)
                }
                b'[' => self.value(),
                // A scalar on the way: nothing is there (serde_json reads it whole;
                // only the ones read the same way are taken).
                b'n' | b't' | b'f' => self.value(),
                b'"' => {
                    self.i += 1;
                    self.plain_string().map(drop)
                }
                _ => None,
            },
        }
    }

    /// The members of an object whose `{` is consumed, following the chains.
    fn members<'c>(
        &mut self,
        items: Option<&'c [String]>,
        next: Option<&'c [String]>,
        found: &mut Found,
    ) -> Option<()> {
        if self.ws()? == b'}' {
            self.i += 1;
            return Some(());
        }
        loop {
            self.eat(b'"')?;
            let key = self.plain_string()?;
            let key = &self.s[key];
            self.eat(b':')?;
            let below = |chain: Option<&'c [String]>| match chain {
                Some([first, rest @ ..]) if first.as_bytes() == key => Some(rest),
                _ => None,
            };
            let (items_below, next_below) = (below(items), below(next));
            if items_below.is_none() && next_below.is_none() {
                self.value()?;
            } else {
                // A later duplicate key replaces all that was found below the first.
                if items_below.is_some() {
                    found.items = None;
                }
                if next_below.is_some() {
                    found.next = None;
                }
                let (items, next) = (items_below, next_below);
                self.walk(items, next, found)?;
            }
            match self.ws()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// The items: an array's elements, each one's place; `null` (parsed whole by
    /// serde_json) and anything else are left to it.
    fn array(&mut self) -> Option<Vec<Range<usize>>> {
        self.eat(b'[')?;
        let mut items = Vec::new();
        if self.ws()? == b']' {
            self.i += 1;
            return Some(items);
        }
        loop {
            self.ws()?;
            let start = self.i;
            self.value()?;
            items.push(start..self.i);
            match self.ws()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(items);
                }
                _ => return None,
            }
        }
    }

    /// The next link: a string without escapes (its text), or a literal (none).
    fn link(&mut self) -> Option<Option<Range<usize>>> {
        match self.ws()? {
            b'"' => {
                self.i += 1;
                self.plain_string().map(Some)
            }
            b'n' | b't' | b'f' => self.value().map(|()| None),
            _ => None,
        }
    }

    /// The rest of a string whose `"` is consumed, if it has no escape: its text.
    fn plain_string(&mut self) -> Option<Range<usize>> {
        let start = self.i;
        let end = self.next_special()?;
        (self.s[end] == b'"').then(|| {
            self.i = end + 1;
            start..end
        })
    }

    /// Where the next `"`, `\` or control character is, from here on.
    #[inline(always)]
    fn next_special(&mut self) -> Option<usize> {
        #[allow(unused_mut)]
        let mut i = self.i;
        // Sixty-four bytes at a time where SSE2 is (every x86_64 processor): a block's
        // bits serve every string that starts in it, so a short string costs a shift
        // and a count, not a look at its bytes (BENCHMARKS.md, ninth session).
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        loop {
            let into = i.wrapping_sub(self.block_at);
            if into < 64 {
                let ahead = self.block >> into;
                if ahead != 0 {
                    return Some(i + ahead.trailing_zeros() as usize);
                }
                i = self.block_at + 64;
            }
            let Some(bytes) = self.s.get(i..i + 64).and_then(|b| b.try_into().ok()) else {
                break;
            };
            (self.block_at, self.block) = (i, sse2::specials64(bytes));
        }
        special_after(self.s, i)
    }

    /// The rest of a string whose `"` is consumed, escapes and all.
    #[inline(always)]
    fn string(&mut self) -> Option<()> {
        loop {
            self.i = self.next_special()?;
            match self.s[self.i] {
                b'"' => {
                    self.i += 1;
                    return Some(());
                }
                b'\\' => self.i = escape(self.s, self.i + 1)?,
                _ => return None,
            }
        }
    }

    /// A number, as serde_json's `ignore_integer` reads one.
    #[inline(always)]
    fn number(&mut self) -> Option<()> {
        if self.s.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.s.get(self.i)? {
            b'0' => {
                self.i += 1;
                if self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
                    return None;
                }
            }
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.s.get(self.i) == Some(&b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.s.get(self.i) {
            self.i += 1;
            if let Some(b'+' | b'-') = self.s.get(self.i) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        Some(())
    }

    /// Consumes digits; how many.
    #[inline]
    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        self.i - start
    }

    /// `word` here.
    #[inline(always)]
    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.i + word.len();
        (self.s.get(self.i..end)? == word).then(|| self.i = end)
    }

    /// The key of an object's member and its `:`.
    #[inline(always)]
    fn key(&mut self) -> Option<()> {
        self.eat(b'"')?;
        self.string()?;
        self.eat(b':')
    }

    /// One value, checked and skipped, as serde_json's `ignore_value` does.
    fn value(&mut self) -> Option<()> {
        // On a copy, whose fields the compiler keeps in registers.
        let mut sc = Scanner { ..*self };
        let found = sc.skip_value();
        *self = sc;
        found
    }

    /// [`Scanner::value`]'s loop.
    #[inline(always)]
    fn skip_value(&mut self) -> Option<()> {
        // The open containers, one bit each: set for an object.
        let (mut objects, mut depth) = (0u64, 0u32);
        'value: loop {
            // A value.
            match self.ws()? {
                b'"' => {
                    self.i += 1;
                    self.string()?;
                    // Members written compactly after it (`,"key":"value"`, what most
                    // APIs send) are crossed here, without the dispatch below: a third
                    // of the scan's instructions on B3's pages (BENCHMARKS.md).
                    if objects & 1 == 1 {
                        while self.s.get(self.i..self.i + 2) == Some(b",\"") {
                            self.i += 2;
                            self.string()?;
                            if self.s.get(self.i..self.i + 2) != Some(b":\"") {
                                // Another kind of value (or spaces): read by the loop.
                                self.eat(b':')?;
                                continue 'value;
                            }
                            self.i += 2;
                            self.string()?;
                        }
                    }
                }
                open @ (b'{' | b'[') => {
                    self.i += 1;
                    if depth == MAX_DEPTH {
                        return None;
                    }
                    let close = if open == b'{' { b'}' } else { b']' };
                    if self.ws()? == close {
                        self.i += 1;
                    } else {
                        objects = objects << 1 | u64::from(open == b'{');
                        depth += 1;
                        if open == b'{' {
                            self.key()?;
                        }
                        continue;
                    }
                }
                b'-' | b'0'..=b'9' => self.number()?,
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                _ => return None,
            }
            // What follows a value: a comma, or the ends of containers.
            loop {
                if depth == 0 {
                    return Some(());
                }
                let in_object = objects & 1 == 1;
                match self.ws()? {
                    b',' => {
                        self.i += 1;
                        if in_object {
                            self.key()?;
                        }
                        break;
                    }
                    b'}' if in_object => {}
                    b']' if !in_object => {}
                    _ => return None,
                }
                self.i += 1;
                objects >>= 1;
                depth -= 1;
            }
        }
    }
}

/// Where the next `"`, `\` or control character of `s` is from `i` on, eight bytes
/// at a time as serde_json's `skip_to_escape` does, then a byte at a time. With SSE2 it
/// sees only a page's last fifteen bytes: kept out of the scanner's loop, whose
/// registers its constants would otherwise take.
#[cfg_attr(
    all(target_arch = "x86_64", target_feature = "sse2"),
    cold,
    inline(never)
)]
fn special_after(s: &[u8], mut i: usize) -> Option<usize> {
    const ONES: u64 = u64::MAX / 255;
    const HIGH: u64 = ONES << 7;
    while let Some(chunk) = s.get(i..i + 8) {
        let w = u64::from_le_bytes(chunk.try_into().ok()?);
        let ctrl = w.wrapping_sub(ONES * 0x20);
        let q = w ^ (ONES * u64::from(b'"'));
        let b = w ^ (ONES * u64::from(b'\\'));
        let hit = (ctrl | q.wrapping_sub(ONES) | b.wrapping_sub(ONES)) & !w & HIGH;
        if hit != 0 {
            return Some(i + (hit.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    while let Some(&b) = s.get(i) {
        if b == b'"' || b == b'\\' || b < 0x20 {
            return Some(i);
        }
        i += 1;
    }
    None
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set_epi64x,
        _mm_set1_epi8,
    };

    /// One bit for each byte of a 16-byte `chunk` that is `"`, `\` or a control
    /// character (below a space), the first byte's the lowest.
    #[inline(always)]
    pub(super) fn specials(chunk: &[u8]) -> u32 {
        let half = |at: usize| {
            let bytes: [u8; 8] = chunk
                .get(at..at + 8)
                .and_then(|b| b.try_into().ok())
                .unwrap_or_default();
            i64::from_le_bytes(bytes)
        };
        // SAFETY: this module is compiled only when the whole build has SSE2 (the cfg
        // above; every x86_64 target does), which is all `mask` requires.
        unsafe { mask(half(8), half(0)) }
    }

    /// [`specials`] of the four 16-byte parts of a 64-byte `block`, in one mask.
    #[inline(always)]
    pub(super) fn specials64(block: &[u8; 64]) -> u64 {
        let part = |at: usize| u64::from(specials(&block[at..at + 16]));
        part(0) | part(16) << 16 | part(32) << 32 | part(48) << 48
    }

    #[target_feature(enable = "sse2")]
    #[inline]
    fn mask(high: i64, low: i64) -> u32 {
        let v = _mm_set_epi64x(high, low);
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        // Unsigned: max(b, 0x1f) == 0x1f exactly when b <= 0x1f.
        let below_space = _mm_set1_epi8(0x1f);
        let control = _mm_cmpeq_epi8(_mm_max_epu8(v, below_space), below_space);
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)) as u32
    }
}

#[cfg(test)]
#[path = "scan_tests.rs"]
mod tests;
