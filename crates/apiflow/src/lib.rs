//! apiflow: load, check and run declarative YAML workflows of HTTP steps.
//!
//! The modules follow the data, which flows one way: YAML text → [`format`] (nodes with
//! positions, then the typed model) → [`check`] (templates, `JSONPaths` and regexes compiled;
//! data flow, composition and inputs checked) → [`runner`] (render, send, check status,
//! capture, check) → events → [`report`]ers; [`batch`] runs many workflows or iterations.
//! [`template`], [`query`] and [`http`] serve the check and run phases; the leaf modules
//! ([`span`], [`diagnostic`], [`secret`], [`names`], …) serve every phase.

pub mod access;
pub mod batch;
pub mod check;
mod decimal;
pub mod delimiters;
pub mod diagnostic;
pub mod duration;
pub mod escape;
pub mod exit;
pub mod format;
pub mod http;
#[cfg(test)]
mod imports;
pub mod limits;
pub mod load;
pub mod names;
pub mod openapi;
pub mod query;
pub mod rate;
pub mod report;
pub mod runner;
pub mod secret;
pub mod span;
pub mod template;

pub use check::file::{check_source_alone, read_source};
pub use check::validate::Plan;
pub use check::{check_file, check_file_in, check_source, check_source_in};
pub use diagnostic::Diagnostic;
pub use exit::ExitCode;
pub use span::Source;
