//! Extraction: the one-pass reading of large bodies agrees with the parsed tree.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        runner::fuzzing::extract(text);
    }
});
