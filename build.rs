//! Links `apiflow` for a quick start on Linux with glibc.
//!
//! - The binary stays a position-independent executable (the toolchain's default), so the
//!   executable's own code and data are placed at a random address like everything else: it
//!   holds OAuth tokens and secrets. Linking it position-dependent saved about 0.1 ms of
//!   relocations at start-up; that is not worth giving up address-space randomisation.
//! - The unwinder comes from `libgcc_eh` (static) instead of `libgcc_s` (shared), as Rust's own
//!   static builds link it. Loading `libgcc_s` costs a library to map and relocate, and its
//!   constructor asks the CPU for its features with a dozen CPUID instructions, each of which
//!   traps under a hypervisor: together about 0.1 ms of a 1.4 ms one-step run. Unwinding (in
//!   tests and debug builds) works the same.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-lib=static:-bundle=gcc_eh");
    }
}
