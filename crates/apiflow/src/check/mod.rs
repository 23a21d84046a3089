//! Checking a workflow before anything is sent: reading the file, validation, composition
//! (`uses`), and the inputs of a run.

pub mod compose;
pub mod file;
pub mod inputs;
pub mod tls;
pub mod validate;

use std::sync::Arc;

use crate::diagnostic::Diagnostic;
use crate::span::Source;
use file::check_source_alone;
use file::read_source;
use validate::Plan;

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
