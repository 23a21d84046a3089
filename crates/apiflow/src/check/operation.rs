//! The OpenAPI operations a workflow's steps name: the `openapi:` description read (its file
//! checked by `confine`), each step's `operation:` found, its method taken or checked, its path
//! parameters given, and its server a whole URL unless `request.url` gives the base.

use std::path::Path;
use std::sync::Arc;

use crate::access::FileAccess;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::format::model::{Action, Step, Text, Workflow};
use crate::openapi::{Description, Location, serialize};

/// The description a workflow names and the operation of each step, by `StepId`.
#[derive(Debug, Default)]
pub struct Bound {
    /// The description `openapi:` names, read.
    pub description: Option<Arc<Description>>,
    /// The index in the description's operations of each step's `operation:`.
    pub operations: Vec<Option<usize>>,
}

/// Reads the workflow's description and binds each step's `operation:` to it, filling in the
/// method of steps that leave it out; returns the problems found.
pub fn bind(workflow: &mut Workflow, access: &FileAccess) -> (Bound, Vec<Diagnostic>) {
    let mut bound = Bound::default();
    let mut errors = Vec::new();
    let named = workflow
        .steps
        .iter()
        .chain(&workflow.finally)
        .any(|s| s.operation.is_some());
    let source = Arc::clone(&workflow.source);
    let Some(file) = &workflow.openapi else {
        for step in workflow.steps.iter().chain(&workflow.finally) {
            if let Some(operation) = &step.operation {
                errors.push(
                    Diagnostic::error(format!(
                        "`operation: {}` needs an OpenAPI description",
                        operation.value
                    ))
                    .at(&source, operation.span, "no `openapi:` to find it in")
                    .in_step(Some(&step.name))
                    .help("name the description at the top of the workflow: `openapi: api.yaml`"),
                );
            }
        }
        return (bound, errors);
    };
    // `confine` has said why a file it could not resolve cannot be read.
    let (Some(path), false) = (&file.resolved, access.unopened) else {
        return (bound, errors);
    };
    // Named as written, beside the workflow, as other files a workflow reads are.
    let shown = Path::new(&source.name).parent().map_or_else(
        || Path::new(&file.written.value).to_path_buf(),
        |p| p.join(&file.written.value),
    );
    let refs = FileAccess {
        file_root: access.file_root.clone().or_else(|| {
            Path::new(&source.name)
                .parent()
                .map(|p| {
                    if p.as_os_str().is_empty() {
                        Path::new(".")
                    } else {
                        p
                    }
                })
                .and_then(|p| p.canonicalize().ok())
        }),
        ..FileAccess::default()
    };
    let read = Description::read_file(path, &shown.display().to_string())
        .and_then(|text| Description::read(&text, &refs));
    let description = match read {
        Ok(description) => Arc::new(description),
        Err(problems) => {
            errors.push(
                Diagnostic::error(format!(
                    "`openapi: {}` is not a valid OpenAPI description ({} problem{})",
                    file.written.value,
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" }
                ))
                .at(&source, file.written.span, "named here"),
            );
            errors.extend(problems);
            return (bound, errors);
        }
    };
    if !named {
        bound.description = Some(description);
        return (bound, errors);
    }
    let count = workflow
        .steps
        .iter()
        .chain(&workflow.finally)
        .map(|s| s.id.0 as usize + 1)
        .max()
        .unwrap_or(0);
    bound.operations = vec![None; count];
    let written = file.written.value.clone();
    for step in workflow.steps.iter_mut().chain(workflow.finally.iter_mut()) {
        if let Some(index) = bind_step(&source, &written, &description, step, &mut errors) {
            bound.operations[step.id.0 as usize] = Some(index);
        }
    }
    bound.description = Some(description);
    (bound, errors)
}

/// Finds a step's operation and checks its request against it.
fn bind_step(
    source: &Arc<crate::span::Source>,
    file: &str,
    description: &Description,
    step: &mut Step,
    errors: &mut Vec<Diagnostic>,
) -> Option<usize> {
    let id = step.operation.as_ref()?;
    let here = |title: String, label: &str| {
        Diagnostic::error(title)
            .at(source, id.span, label.to_owned())
            .in_step(Some(&step.name))
    };
    let Some(index) = description
        .operations
        .iter()
        .position(|op| op.id.as_deref() == Some(id.value.as_str()))
    else {
        let hint = did_you_mean(&id.value, description.operation_ids()).unwrap_or_else(|| {
            let ids: Vec<&str> = description.operation_ids().take(8).collect();
            if ids.is_empty() {
                format!("`{file}` gives no operation an `operationId`")
            } else {
                format!("its operations: {}", ids.join(", "))
            }
        });
        errors.push(
            here(
                format!("unknown operation `{}`", id.value),
                &format!("not an operationId of `{file}`"),
            )
            .help(hint),
        );
        return None;
    };
    let operation = &description.operations[index];
    let mut problems = Vec::new();
    let Action::Request(request) = &mut step.action else {
        return None;
    };
    if !request.method_given {
        request.method.value.clone_from(&operation.method);
    } else if request.method.value != operation.method {
        problems.push(
            Diagnostic::error(format!(
                "`method: {}` is not the method of operation `{}`",
                request.method.value, id.value
            ))
            .at(
                source,
                request.method.span,
                format!("the operation is {}", operation.method),
            )
            .help("leave `method:` out: the operation gives it"),
        );
    }
    let url_given = !matches!(&request.url.value, Text::Literal(text) if text.is_empty());
    if !url_given {
        let server = operation
            .servers
            .first()
            .map(crate::openapi::Server::resolve);
        let whole = server
            .as_deref()
            .is_some_and(|s| s.starts_with("http://") || s.starts_with("https://"));
        if !whole {
            problems.push(
                here(
                    format!(
                        "operation `{}` has no server with a whole URL (its server is `{}`)",
                        id.value,
                        server.as_deref().unwrap_or("/")
                    ),
                    "no base URL for it",
                )
                .help("give the base URL under the step's request: `url: \"{{ base_url }}\"`"),
            );
        }
    }
    let path_params: Vec<_> = operation
        .parameters
        .iter()
        .filter(|p| p.location == Location::Path)
        .collect();
    for param in &path_params {
        let given = request
            .path_params
            .iter()
            .any(|(name, _)| name.value == param.name);
        if !given {
            problems.push(
                here(
                    format!(
                        "operation `{}` needs the path parameter `{}`",
                        id.value, param.name
                    ),
                    &format!(
                        "{} {} has `{{{}}}`",
                        operation.method, operation.path, param.name
                    ),
                )
                .help(format!(
                    "give it under the step's request: `path_params: {{ {}: \"…\" }}`",
                    param.name
                )),
            );
        } else if let Err(why) = serialize(param, &serde_json::Value::String(String::new())) {
            problems.push(here(format!("cannot write {why}"), "in the description"));
        }
    }
    for (name, _) in &request.path_params {
        if !path_params.iter().any(|p| p.name == name.value) {
            let names = path_params.iter().map(|p| p.name.as_str());
            let help = did_you_mean(&name.value, names)
                .unwrap_or_else(|| format!("the path of `{}` is `{}`", id.value, operation.path));
            problems.push(
                Diagnostic::error(format!(
                    "operation `{}` has no path parameter `{}`",
                    id.value, name.value
                ))
                .at(source, name.span, "not in the operation's path")
                .help(help),
            );
        }
    }
    let failed = !problems.is_empty();
    errors.extend(problems.into_iter().map(|d| d.in_step(Some(&step.name))));
    (!failed).then_some(index)
}
