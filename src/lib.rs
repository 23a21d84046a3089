//! apiflow: load, validate and run YAML workflows of HTTP steps.

pub mod duration;
pub mod helpers;
pub mod jsonpath;
