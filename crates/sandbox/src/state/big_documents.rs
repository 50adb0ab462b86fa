//! The large, deterministic JSON documents `GET /_sandbox/big` serves, for benchmarks
//! of big responses: each size generated once, on first request, then kept in memory.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::Mutex;

use axum::body::Bytes;

use super::locking::lock;
use super::seed::asset_id;

/// Documents already generated, by size in MiB.
#[derive(Default)]
pub(crate) struct BigDocuments(Mutex<HashMap<u64, Bytes>>);

impl BigDocuments {
    /// The document of `mb` MiB, generated on first use.
    pub(crate) fn get(&self, mb: u64) -> Bytes {
        lock(&self.0)
            .entry(mb)
            .or_insert_with(|| Bytes::from(document(mb * 1024 * 1024)))
            .clone()
    }
}

/// `{"items":[...],"total_items":N}` of at least `min_bytes`: asset-shaped records,
/// every 5th archived (as the seeded assets are), each with a padding note so that
/// one record is about 230 bytes (100 MiB: 451,382 records).
pub(crate) fn document(min_bytes: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(min_bytes as usize + 4096);
    out.extend_from_slice(b"{\"items\":[");
    let mut n: u64 = 0;
    while (out.len() as u64) < min_bytes {
        n += 1;
        if n > 1 {
            out.push(b',');
        }
        let status = if n.is_multiple_of(5) {
            "archived"
        } else {
            "active"
        };
        // Writing to a Vec cannot fail.
        let _ = write!(
            out,
            "{{\"id\":\"{id}\",\"name\":\"Asset {n:07}\",\"status\":\"{status}\",\
             \"family_id\":{family},\"code\":\"AST-{n:07}\",\"score\":{score}.{frac:02},\
             \"tags\":[\"pump\",\"line-{line}\"],\
             \"note\":\"Deterministic filler text for benchmark record number {n}.\"}}",
            id = asset_id(n),
            family = n % 12 + 1,
            score = n % 100,
            frac = n % 97,
            line = n % 7,
        );
    }
    let _ = write!(out, "],\"total_items\":{n}}}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_json_of_at_least_the_size_asked() {
        let doc = document(100_000);
        assert!(doc.len() >= 100_000 && doc.len() < 101_000, "{}", doc.len());
        let value: serde_json::Value = serde_json::from_slice(&doc).unwrap();
        let items = value["items"].as_array().unwrap();
        assert_eq!(value["total_items"], items.len());
        assert_eq!(items[4]["status"], "archived");
        assert_eq!(items[0]["status"], "active");
        assert_eq!(document(100_000), doc, "deterministic");
    }
}
