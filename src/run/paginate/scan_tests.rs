//! Tests of the page scanner (`scan.rs`).

use super::super::raw::{RawChains, same_as_serde};
use super::*;

fn chains(items: &str, next: Option<&str>) -> RawChains {
    let names = |s: &str| s.split('.').map(str::to_string).collect::<Vec<_>>();
    RawChains {
        items: names(items),
        next: next.map(names),
    }
}

fn texts<'t>(text: &'t str, found: &Scanned) -> Vec<&'t str> {
    found.items.iter().map(|r| &text[r.clone()]).collect()
}

#[test]
fn the_scanner_reads_pages_as_serde_json_does() {
    let asset = r#"{"id":"00000000-0000-4000-8000-000000000001","name":"Asset 0001","n":-12.5e+3,"ok":true,"x":null,"l":[],"o":{},"e":"a\"\\\/\b\f\n\r\t\u00e9\ud800 é"}"#;
    let page = format!(
        r#"{{"items":[{asset}, {asset} ,[1,[2,{{"a":[]}}]], 0, -0.0, "s"],"total_pages":1000}}"#
    );
    let c = chains("items", None);
    let found = scan_page(&c.items, None, &page).expect("a plain page is scanned");
    assert_eq!(texts(&page, &found)[..2], [asset, asset]);
    assert_eq!(
        texts(&page, &found)[2..],
        [r#"[1,[2,{"a":[]}]]"#, "0", "-0.0", r#""s""#]
    );
    assert!(found.one_line && found.next.is_none());
    same_as_serde(&c, page.as_bytes());

    let c = chains("data.items", Some("links.next"));
    let page = "{\"links\": {\"next\": \"/p2\"},\r\n \"data\": {\"items\": [1 ,\n2]}}";
    let found = scan_page(&c.items, c.next.as_deref(), page).unwrap();
    assert_eq!(texts(page, &found), ["1", "2"]);
    assert_eq!(&page[found.next.clone().unwrap()], "/p2");
    assert!(!found.one_line);
    same_as_serde(&c, page.as_bytes());

    // What serde_json refuses, and what the scanner leaves to it.
    let refused = [
        r#"{"items":[01]}"#,
        r#"{"items":[1.]}"#,
        r#"{"items":[1e]}"#,
        r#"{"items":[-]}"#,
        r#"{"items":[1,]}"#,
        r#"{"items":[{"a":1,}]}"#,
        r#"{"items":[{1:1}]}"#,
        r#"{"items":["\x"]}"#,
        r#"{"items":["\u12g4"]}"#,
        "{\"items\":[\"a\tb\"]}",
        r#"{"items":[tru]}"#,
        r#"{"items":[1]} x"#,
        r#"{"items":[1],}"#,
        r#"{"items":[[1}]}"#,
        r#"{"items":null}"#,
        r#"{"items":{}}"#,
        r#"{"it\u0065ms":[1]}"#,
        r#"{"items":[1]"#,
    ];
    let c = chains("items", None);
    for page in refused {
        assert_eq!(scan_page(&c.items, None, page), None, "{page}");
    }
    // A number where a chain leads: serde_json reads it (1e400 fails), not skips.
    let a = chains("a.items", None);
    assert_eq!(scan_page(&a.items, None, r#"{"a":1e400}"#), None);
    let page = r#"{"a":1e400,"items":[1]}"#;
    assert!(scan_page(&c.items, None, page).is_some());
    same_as_serde(&c, page.as_bytes());
    let deep = format!(r#"{{"items":[{}{}]}}"#, "[".repeat(65), "]".repeat(65));
    assert_eq!(scan_page(&c.items, None, &deep), None);
    let page = format!(r#"{{"items":[{}{}]}}"#, "[".repeat(64), "]".repeat(64));
    assert!(scan_page(&c.items, None, &page).is_some());
}

/// Every byte value at every place of a 16-byte step: found exactly when it is a
/// quote, a backslash or a control character.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[test]
fn sixteen_byte_steps_find_what_a_byte_at_a_time_finds() {
    for b in 0..=255u8 {
        for at in 0..16 {
            let mut chunk = [b'a'; 16];
            chunk[at] = b;
            let special = b == b'"' || b == b'\\' || b < 0x20;
            assert_eq!(
                super::sse2::specials(&chunk),
                u32::from(special) << at,
                "{b}"
            );
        }
    }
}

/// Pages changed a byte at a time, as a fuzzer would: whatever the scanner reads
/// serde_json reads the same.
#[test]
fn mutated_pages_read_as_serde_json_reads_them() {
    let seeds = [
        r#"{"total_pages":3,"items":[{"id":"a-1","n":12,"f":-1.5e3,"t":true,"z":null,"s":"\u00e9\n"},[],{}],"next":"/p"}"#,
        r#"{"data":{"items":[1,"x",[2,{"k":[false]}]]},"links":{"next":"/q","x":0}}"#,
        r#"{"a":{"items":[ {"a" : 1} , 2 ]},"a":{"items":[3]}}"#,
        // Compact string members, with an escaped key, spaces, and other values between.
        r#"{"items":[{"a":"b","c\"d":"e","f":"g" ,"h":"i","j" :"k","l":1,"m":"n","o":{"p":"q","r":"s"},"t":"u"}]}"#,
        // Strings longer than the scanner's eight-byte steps.
        r#"{"items":[{"a long key, longer":"0123456789abcdef\"0123456789 é\\ abcdefgh"}]}"#,
    ];
    let configs = [
        chains("items", Some("next")),
        chains("data.items", Some("links.next")),
        chains("a.items", Some("a")),
        chains("items", None),
    ];
    let alphabet = b"{}[]\",:\\ \n0123456789-+.eEtrufalsnxu\t";
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut rand = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let mut scanned = 0;
    for round in 0..30_000 {
        let mut page = seeds[round % seeds.len()].as_bytes().to_vec();
        for _ in 0..1 + rand(3) {
            let at = rand(page.len());
            let b = alphabet[rand(alphabet.len())];
            match rand(3) {
                0 => page[at] = b,
                1 => page.insert(at, b),
                _ => drop(page.remove(at)),
            }
        }
        for c in &configs {
            same_as_serde(c, &page);
            if let Ok(text) = std::str::from_utf8(&page) {
                scanned += usize::from(scan_page(&c.items, c.next.as_deref(), text).is_some());
            }
        }
    }
    // The mutations left many pages readable: the comparison was made.
    assert!(scanned > 10_000, "{scanned}");
}

/// Pages longer than the scanner's 64-byte blocks, with strings of every length up to
/// two and a half blocks and an escape (or a raw tab, which serde_json refuses) at
/// every place in them: read as serde_json reads them, and read at all when valid.
#[test]
fn long_pages_read_as_serde_json_reads_them() {
    let c = chains("items", Some("next"));
    for odd in ["", r#"\""#, r"\\", r"\u00e9", "é", "\t"] {
        for len in 0..160 {
            let mut page = String::from(r#"{"items":["#);
            for at in 0..=len {
                let mut text = "x".repeat(len);
                text.insert_str(at, odd);
                page.push_str(&format!(r#"{{"k{at}":"{text}","n":{at}}},"#));
            }
            page.push_str(&format!(r#""{odd}"],"next":"/p{len}"}}"#));
            same_as_serde(&c, page.as_bytes());
            let valid = serde_json::from_str::<serde_json::Value>(&page).is_ok();
            let found = scan_page(&c.items, c.next.as_deref(), &page);
            assert_eq!(found.is_some(), valid, "{page}");
            if let Some(found) = found {
                assert_eq!(found.items.len(), len + 2);
                assert_eq!(
                    found.next.map(|r| &page[r]),
                    Some(format!("/p{len}").as_str())
                );
            }
        }
    }
}
