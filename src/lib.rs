//! apiflow: load, validate and run YAML workflows of HTTP steps.

pub mod emulator;
