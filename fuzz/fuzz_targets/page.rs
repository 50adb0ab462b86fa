//! Paging: a page read raw in one pass gives the items and next link of the parsed page.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    runner::fuzzing::page(data);
});
