//! Link flags for runner's own binaries, nothing else.
//!
//! - On Linux with glibc, the relative relocations are packed (DT_RELR, glibc 2.36 and
//!   binutils 2.38 or later). The table the loader reads at every start shrinks from
//!   about 1 MB to a few KB, which is a measurable part of a short run (B1 in
//!   BENCHMARKS.md). `RUNNER_NO_PACKED_RELOCS=1` turns it off for an older toolchain.
//! - A release build (its profile says `panic = "abort"`: nothing unwinds) on x86_64 Linux, linked by
//!   rustc's own LLD (the default there since Rust 1.90), ships no unwinding tables
//!   (`.eh_frame`, `.eh_frame_hdr`: 1.3 MB that only a debugger's or a panic's backtrace
//!   reads; the panic hook prints the message without one) and folds identical
//!   functions (`--icf=all`, 170 KB). Issue 27, BENCHMARKS.md. `RUNNER_KEEP_UNWIND_TABLES=1`
//!   keeps both (for `perf --call-graph dwarf`, say), and so does a build that names
//!   another linker in its flags.

// A build script speaks to cargo on stdout; the rule against printing is for
// runner's own output.
#![allow(clippy::disallowed_macros)]

use std::env::var;

fn main() {
    println!("cargo:rerun-if-env-changed=RUNNER_NO_PACKED_RELOCS");
    println!("cargo:rerun-if-env-changed=RUNNER_KEEP_UNWIND_TABLES");
    let os = var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" && std::env::var_os("RUNNER_NO_PACKED_RELOCS").is_none() {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    if lld_release() && std::env::var_os("RUNNER_KEEP_UNWIND_TABLES").is_none() {
        let script =
            std::path::Path::new(&var("OUT_DIR").unwrap_or_default()).join("no-unwind-tables.ld");
        // Added to the linker's own layout (INSERT), not replacing it.
        let text =
            "SECTIONS { /DISCARD/ : { *(.eh_frame) *(.eh_frame_hdr) } } INSERT AFTER .text;\n";
        if std::fs::write(&script, text).is_ok() {
            println!("cargo:rustc-link-arg-bins=-Wl,--no-eh-frame-hdr");
            println!("cargo:rustc-link-arg-bins=-Wl,-T,{}", script.display());
        }
        println!("cargo:rustc-link-arg-bins=-Wl,--icf=all");
    }
}

/// A release build (whose profile aborts on panic), for x86_64 Linux with glibc, linked by rustc's LLD
/// (no linker or linker flavour named in the flags or the environment).
fn lld_release() -> bool {
    let flags = var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    var("TARGET").as_deref() == Ok("x86_64-unknown-linux-gnu")
        && var("PROFILE").as_deref() == Ok("release")
        && !flags.contains("linker")
        && !flags.contains("fuse-ld")
        && std::env::var_os("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_none()
}
