//! `--shard K/N`: the K-th of N contiguous, balanced shares of a list (files in path
//! order, rows in input order), so that N machines share a run with nothing done
//! twice and nothing missed.

use std::ops::Range;

/// One share of N (`k` is 1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub k: usize,
    pub n: usize,
}

/// The most shares a run may be cut into.
const MAX_SHARDS: usize = 100_000;

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}`: expected K/N with 1 <= K <= N <= {MAX_SHARDS}, e.g. 2/4");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let k: usize = k.trim().parse().map_err(|_| bad())?;
        let n: usize = n.trim().parse().map_err(|_| bad())?;
        if k == 0 || n == 0 || k > n || n > MAX_SHARDS {
            return Err(bad());
        }
        Ok(Shard { k, n })
    }
}

impl Shard {
    /// The indexes of this share of `len` items: shares differ in size by at most one.
    pub fn range(self, len: usize) -> Range<usize> {
        // u128: len * k cannot overflow.
        let at = |i: usize| ((len as u128 * i as u128) / self.n as u128) as usize;
        at(self.k - 1)..at(self.k)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_disjoint_contiguous_balanced_and_cover_the_whole() {
        for len in [0, 1, 2, 3, 7, 10, 100, 101, 1000] {
            for n in [1, 2, 3, 4, 5, 7, 16, 64] {
                let mut next = 0;
                let mut sizes = Vec::new();
                for k in 1..=n {
                    let r = Shard { k, n }.range(len);
                    assert_eq!(
                        r.start, next,
                        "len {len} shard {k}/{n}: contiguous, disjoint"
                    );
                    next = r.end;
                    sizes.push(r.len());
                }
                assert_eq!(next, len, "len {len} n {n}: the union is the whole");
                let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                assert!(max - min <= 1, "len {len} n {n}: balanced {sizes:?}");
            }
        }
    }

    #[test]
    fn parses_k_of_n() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { k: 2, n: 4 }));
        for bad in ["0/4", "5/4", "1/0", "a/b", "3", "1/100001"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
