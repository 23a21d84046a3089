//! apiflow: load, validate and run declarative YAML workflows of HTTP steps.
//!
//! Data flows one way: YAML text → [`yaml`] nodes with positions → [`load`] into the typed
//! [`model`] → [`validate`] (templates, `JSONPaths` and regexes compiled; data flow checked) →
//! [`runner`] (render, send, check status, capture, check) → [`event`]s → [`report`]ers.

pub mod compose;
pub mod delimiters;
pub mod diagnostic;
pub mod duration;
pub mod escape;
pub mod event;
pub mod helpers;
pub mod html;
pub mod http;
pub mod inputs;
pub mod iterate;
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

/// Loads and validates a workflow from its text, leaving the workflows it `uses` to the caller
/// (composition resolves them with the chain of files it came through, to catch cycles).
pub fn check_source_alone(source: &Arc<Source>) -> Result<Plan, Vec<Diagnostic>> {
    let (workflow, mut errors) = load::load_partial(source);
    let Some(workflow) = workflow else {
        return Err(errors);
    };
    match validate::validate(workflow) {
        Ok(plan) if errors.is_empty() => Ok(plan),
        Ok(_) => Err(errors),
        Err(more) => {
            errors.extend(more);
            errors.sort_by_key(|d| (d.span.line, d.span.column));
            Err(errors)
        }
    }
}

/// Reads and validates a workflow file.
pub fn check_file(path: &std::path::Path) -> Result<Plan, Vec<Diagnostic>> {
    check_source(&read_source(path)?)
}

/// Reads a workflow file as text.
pub fn read_source(path: &std::path::Path) -> Result<Arc<Source>, Vec<Diagnostic>> {
    let name = path.display().to_string();
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => {
            let why = match error.kind() {
                std::io::ErrorKind::NotFound => "no such file".to_owned(),
                std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
                _ if path.is_dir() => "it is a directory".to_owned(),
                _ => error.to_string(),
            };
            return Err(vec![Diagnostic::error(format!(
                "cannot read `{name}`: {why}"
            ))]);
        }
    };
    if bytes.len() > crate::yaml::MAX_FILE_SIZE {
        return Err(vec![
            Diagnostic::error(format!(
                "`{name}` is too large: {} bytes, the limit is {} bytes",
                bytes.len(),
                crate::yaml::MAX_FILE_SIZE
            ))
            .help("split the workflow into smaller files"),
        ]);
    }
    let text = crate::yaml::decode(&name, bytes).map_err(|d| vec![d])?;
    Ok(Source::new(name, text))
}
