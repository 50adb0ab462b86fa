//! Data files (CSV, JSON lines, JSON arrays): any bytes must load or fail cleanly.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    runner::fuzzing::data(data);
});
