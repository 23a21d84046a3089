//! apiflow: load, validate and run declarative YAML workflows of HTTP steps.
//!
//! Data flows one way: YAML text → [`yaml`] nodes with positions → [`load`] into the typed
//! [`model`] → [`validate`] (templates, `JSONPaths` and regexes compiled; data flow checked) →
//! [`runner`] (render, send, check status, capture, check) → [`event`]s → [`report`]ers.

pub mod batch;
pub mod compose;
pub mod delimiters;
pub mod diagnostic;
pub mod duration;
pub mod escape;
pub mod event;
pub mod exit;
pub mod file;
pub mod helpers;
pub mod html;
pub mod http;
#[cfg(test)]
mod imports;
pub mod inputs;
pub mod jsonpath;
pub mod jwt;
pub mod load;
pub mod model;
pub mod names;
pub mod pick;
pub mod plan;
pub mod report;
pub mod runner;
pub mod schema;
pub mod scope;
pub mod secret;
pub mod span;
pub mod template;
pub mod tls;
pub mod urls;
pub mod validate;
pub mod yaml;

use std::sync::Arc;

pub use diagnostic::Diagnostic;
pub use exit::ExitCode;
pub use file::{check_source_alone, read_source};
pub use span::Source;
pub use validate::Plan;

/// Loads and validates a workflow from its text, with the workflows it `uses`.
pub fn check_source(source: &Arc<Source>) -> Result<Plan, Vec<Diagnostic>> {
    let mut plan = check_source_alone(source)?;
    let own = std::path::Path::new(&source.name)
        .canonicalize()
        .unwrap_or_else(|_| std::path::PathBuf::from(&source.name));
    let problems = compose::resolve(&mut plan, &mut vec![own]);
    if problems.is_empty() {
        Ok(plan)
    } else {
        Err(problems)
    }
}

/// Reads and validates a workflow file.
pub fn check_file(path: &std::path::Path) -> Result<Plan, Vec<Diagnostic>> {
    check_source(&read_source(path)?)
}
