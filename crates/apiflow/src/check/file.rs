//! One workflow file on its own: reading its text, and loading and checking it without the
//! workflows it `uses` (composition resolves those, and the crate root puts both together).

use std::path::Path;
use std::sync::Arc;

use crate::check::confine::{self, FileAccess};
use crate::check::validate::{Plan, validate};
use crate::diagnostic::Diagnostic;
use crate::format::load::load_partial;
use crate::format::yaml;
use crate::span::Source;

/// Loads and validates a workflow from its text, leaving the workflows it `uses` to the caller
/// (composition resolves them with the chain of files it came through, to catch cycles).
pub fn check_source_alone(source: &Arc<Source>) -> Result<Plan, Vec<Diagnostic>> {
    check_source_alone_in(source, &FileAccess::default())
}

/// Loads and validates a workflow from its text, leaving the workflows it `uses` to the
/// caller, with the files it reads and writes checked against `access`.
pub fn check_source_alone_in(
    source: &Arc<Source>,
    access: &FileAccess,
) -> Result<Plan, Vec<Diagnostic>> {
    let (workflow, mut errors) = load_partial(source);
    let Some(mut workflow) = workflow else {
        return Err(errors);
    };
    // Before validation, which compiles the template bodies read here.
    errors.extend(confine::prepare(&mut workflow, access));
    // The client certificates whose files `prepare` found.
    errors.extend(crate::check::tls::check(&workflow));
    // The OpenAPI description `prepare` found, and the method each step's operation gives.
    let (bound, problems) = crate::check::operation::bind(&mut workflow, access);
    errors.extend(problems);
    match validate(workflow) {
        Ok(mut plan) if errors.is_empty() => {
            plan.openapi = bound.description;
            plan.operations = bound.operations;
            Ok(plan)
        }
        Ok(_) => Err(errors),
        Err(more) => {
            errors.extend(more);
            errors.sort_by_key(|d| (d.span.line, d.span.column));
            Err(errors)
        }
    }
}

/// Reads a workflow file as text.
pub fn read_source(path: &Path) -> Result<Arc<Source>, Vec<Diagnostic>> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|error| vec![cannot_read(path, &error)])?;
    if bytes.len() > yaml::MAX_FILE_SIZE {
        return Err(vec![
            Diagnostic::error(format!(
                "`{name}` is too large: {} bytes, the limit is {} bytes",
                bytes.len(),
                yaml::MAX_FILE_SIZE
            ))
            .help("split the workflow into smaller files"),
        ]);
    }
    let text = yaml::decode(&name, bytes).map_err(|d| vec![d])?;
    Ok(Source::new(name, text))
}

/// Says why a file could not be read, in words: `cannot read `PATH`: no such file`.
pub fn cannot_read(path: &Path, error: &std::io::Error) -> Diagnostic {
    let why = match error.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        std::io::ErrorKind::InvalidData => "it is not UTF-8 text".to_owned(),
        _ if path.is_dir() => "it is a directory".to_owned(),
        _ => error.to_string(),
    };
    Diagnostic::error(format!("cannot read `{}`: {why}", path.display()))
}
