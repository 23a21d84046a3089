//! Links the `apiflow` binary as a position-dependent executable on Linux with glibc.
//!
//! A position-independent executable makes the dynamic loader patch every absolute address in
//! the binary at start-up (over 30 000 relocations) and copy each page it patches: a
//! third of the instructions and page faults of a one-step run. Without PIE the linker fills
//! them in once. Shared libraries, the stack and the heap are still placed at random.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
