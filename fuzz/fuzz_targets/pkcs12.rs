//! PKCS#12 files (`http.client_pkcs12`): the DER walk, the integrity check and the
//! decryption give an error or the key and its chain, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    runner::fuzzing::pkcs12(data);
});
