//! One link flag for runner's own binaries, nothing else: on Linux with glibc, the
//! relative relocations are packed (DT_RELR, glibc 2.36 and binutils 2.38 or later).
//! The table the loader reads at every start shrinks from about 1 MB to a few KB,
//! which is a measurable part of a short run (B1 in BENCHMARKS.md).
//! `RUNNER_NO_PACKED_RELOCS=1` turns it off for an older toolchain.

// A build script speaks to cargo on stdout; the rule against printing is for
// runner's own output.
#![allow(clippy::disallowed_macros)]

fn main() {
    println!("cargo:rerun-if-env-changed=RUNNER_NO_PACKED_RELOCS");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" && std::env::var_os("RUNNER_NO_PACKED_RELOCS").is_none() {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
