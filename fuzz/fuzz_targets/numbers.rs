//! Numbers at the edges (huge, negative, fractional, non-finite, quoted) at every
//! numeric key of request files and profiles, and on the command line: each loads
//! within its range or fails with a located error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    runner::fuzzing::numbers(data);
});
