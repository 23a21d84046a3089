//! Checking a workflow before anything is sent: reading the file, validation, composition
//! (`uses`), and the inputs of a run.

pub mod body_schema;
pub mod compose;
pub mod confine;
pub mod environment;
pub mod file;
pub mod inputs;
pub mod operation;
pub mod tls;
pub mod validate;

use std::sync::Arc;

use crate::diagnostic::Diagnostic;
use crate::span::Source;
use confine::FileAccess;
use file::check_source_alone_in;
use file::read_source;
use validate::Plan;

/// Loads and validates a workflow from its text, with the workflows it `uses`.
pub fn check_source(source: &Arc<Source>) -> Result<Plan, Vec<Diagnostic>> {
    check_source_in(source, &FileAccess::default())
}

/// Loads and validates a workflow from its text, with the workflows it `uses`, reading and
/// writing files where `access` allows.
pub fn check_source_in(source: &Arc<Source>, access: &FileAccess) -> Result<Plan, Vec<Diagnostic>> {
    let mut plan = check_source_alone_in(source, access)?;
    let own = std::path::Path::new(&source.name)
        .canonicalize()
        .unwrap_or_else(|_| std::path::PathBuf::from(&source.name));
    let mut problems = compose::resolve(&mut plan, &mut vec![own], access);
    if problems.is_empty() {
        problems = deferred_thresholds(&plan);
    }
    if problems.is_empty() {
        Ok(plan)
    } else {
        Err(problems)
    }
}

/// Checks the thresholds of the `load:` key that name a step of a used workflow, now that
/// those are loaded: each names a step some request is measured under.
fn deferred_thresholds(plan: &Plan) -> Vec<Diagnostic> {
    let Some(load) = &plan.workflow.load else {
        return Vec::new();
    };
    if load.deferred.is_empty() {
        return Vec::new();
    }
    let names = plan.threshold_steps();
    load.deferred
        .iter()
        .filter_map(|&(index, start)| {
            let threshold = load.thresholds.get(index)?;
            crate::limits::unknown_step(threshold, Some(&names), &plan.workflow.source, start)
        })
        .collect()
}

/// Reads and validates a workflow file.
pub fn check_file(path: &std::path::Path) -> Result<Plan, Vec<Diagnostic>> {
    check_source(&read_source(path)?)
}

/// Reads and validates a workflow file, reading and writing files where `access` allows.
pub fn check_file_in(path: &std::path::Path, access: &FileAccess) -> Result<Plan, Vec<Diagnostic>> {
    check_source_in(&read_source(path)?, access)
}
