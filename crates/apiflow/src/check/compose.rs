//! Composition: loads the workflows `uses` steps name, relative to the calling file, checks
//! `with:` against their inputs and the caller's reads against their outputs, and rejects
//! cycles.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::check::confine::FileAccess;
use crate::check::file::{check_source_alone_in, read_source};
use crate::check::validate::{Plan, step_templates};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::format::model::{Action, ExtractKind, Step, Uses};

/// Loads and checks every workflow a plan `uses`, recursively; returns the problems found.
pub fn resolve(plan: &mut Plan, stack: &mut Vec<PathBuf>, access: &FileAccess) -> Vec<Diagnostic> {
    let workflow = &plan.workflow;
    let steps = workflow.steps.iter().chain(&workflow.finally);
    if !steps
        .clone()
        .any(|step| matches!(step.action, Action::Uses(_)))
    {
        return Vec::new();
    }
    let source = Arc::clone(&plan.workflow.source);
    let base = Path::new(&source.name)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut errors = Vec::new();
    let mut loaded: HashMap<String, Arc<Plan>> = HashMap::new();
    let steps: Vec<Step> = steps.cloned().collect();
    for step in &steps {
        let Action::Uses(uses) = &step.action else {
            continue;
        };
        if loaded.contains_key(&uses.path.value) {
            continue;
        }
        let path = base.join(&uses.path.value);
        let here = |title: String, label: &str| {
            Diagnostic::error(title)
                .at(&source, uses.path.span, label.to_owned())
                .in_step(Some(&step.name))
        };
        let Ok(canonical) = path.canonicalize() else {
            errors.push(
                here(
                    format!("cannot read `{}`: no such file", path.display()),
                    "no such file",
                )
                .help("`uses:` paths are relative to the file that holds them"),
            );
            continue;
        };
        if let Some(start) = stack.iter().position(|p| *p == canonical) {
            let mut chain: Vec<String> = stack[start..].iter().map(|p| short(p)).collect();
            chain.push(short(&canonical));
            errors.push(
                here(
                    format!("`uses` makes a cycle: {}", chain.join(" → ")),
                    "uses a workflow that uses this one",
                )
                .help("a workflow cannot run itself, directly or through others"),
            );
            continue;
        }
        // Not `check_file`: it would resolve the called workflow's own `uses` afresh, without
        // the chain of files that leads to it, and follow a cycle forever.
        let checked = read_source(&path).and_then(|s| check_source_alone_in(&s, access));
        let sub = match checked {
            Ok(mut sub) => {
                stack.push(canonical);
                let nested = resolve(&mut sub, stack, access);
                stack.pop();
                if !nested.is_empty() {
                    errors.extend(nested);
                    continue;
                }
                sub
            }
            Err(diagnostics) => {
                errors.push(here(
                    format!(
                        "`{}` is not a valid workflow ({} problem{})",
                        uses.path.value,
                        diagnostics.len(),
                        if diagnostics.len() == 1 { "" } else { "s" }
                    ),
                    "used here",
                ));
                errors.extend(diagnostics);
                continue;
            }
        };
        check_with(&source, step, uses, &sub, &mut errors);
        loaded.insert(uses.path.value.clone(), Arc::new(sub));
    }
    for step in &steps {
        if let Action::Uses(uses) = &step.action
            && let Some(sub) = loaded.get(&uses.path.value)
        {
            check_output_reads(plan, &steps, step, uses, sub, &mut errors);
        }
    }
    plan.subplans = loaded;
    errors
}

fn short(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// `with:` must name inputs the called workflow declares and give every one it requires.
fn check_with(
    source: &Arc<crate::span::Source>,
    step: &Step,
    uses: &Uses,
    sub: &Plan,
    errors: &mut Vec<Diagnostic>,
) {
    let inputs = &sub.workflow.inputs;
    for (name, _) in &uses.with {
        if !inputs.iter().any(|i| i.name.value == name.value) {
            let help = did_you_mean(&name.value, inputs.iter().map(|i| i.name.value.as_str()))
                .unwrap_or_else(|| {
                    let names: Vec<String> = inputs
                        .iter()
                        .map(|i| format!("`{}`", i.name.value))
                        .collect();
                    if names.is_empty() {
                        format!("`{}` declares no inputs", uses.path.value)
                    } else {
                        format!("its inputs are {}", names.join(", "))
                    }
                });
            errors.push(
                Diagnostic::error(format!(
                    "`{}` has no input `{}`",
                    uses.path.value, name.value
                ))
                .at(source, name.span, "not an input of the called workflow")
                .in_step(Some(&step.name))
                .help(help),
            );
        }
    }
    for input in inputs {
        let given = uses.with.iter().any(|(n, _)| n.value == input.name.value);
        if !given && input.default.is_none() && input.env.is_none() {
            errors.push(
                Diagnostic::error(format!(
                    "missing input `{}` for `{}`",
                    input.name.value, uses.path.value
                ))
                .at(
                    source,
                    uses.path.span,
                    format!("`with:` does not give `{}`", input.name.value),
                )
                .in_step(Some(&step.name))
                .help(format!("add `{}: …` under `with:`", input.name.value)),
            );
        }
    }
}

/// The caller may only read outputs the called workflow declares: by `{ output: NAME }`
/// captures and by `STEP.NAME` in later templates.
fn check_output_reads(
    plan: &Plan,
    steps: &[Step],
    step: &Step,
    uses: &Uses,
    sub: &Plan,
    errors: &mut Vec<Diagnostic>,
) {
    let source = &plan.workflow.source;
    let outputs: Vec<&str> = sub
        .workflow
        .outputs
        .iter()
        .map(|(n, _)| n.value.as_str())
        .collect();
    let undeclared = |name: &str, span, errors: &mut Vec<Diagnostic>, within: &Step| {
        let help = did_you_mean(name, outputs.iter().copied()).unwrap_or_else(|| {
            if outputs.is_empty() {
                format!("`{}` declares no `outputs:`", uses.path.value)
            } else {
                format!(
                    "its outputs are {}",
                    outputs
                        .iter()
                        .map(|o| format!("`{o}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        });
        errors.push(
            Diagnostic::error(format!("`{}` has no output `{name}`", uses.path.value))
                .at(source, span, "not a declared output")
                .in_step(Some(&within.name))
                .help(help),
        );
    };
    for extract in &step.extract {
        if let ExtractKind::Output(name) = &extract.kind
            && !outputs.contains(&name.as_str())
        {
            undeclared(name, extract.name.span, errors, step);
        }
    }
    if !crate::names::is_identifier(&step.name.value) {
        return;
    }
    let prefix = format!("{}.", step.name.value);
    // Every template of the other steps, and of the caller's own outputs, with its step.
    let mut reads: Vec<(crate::format::model::TemplateId, &Step)> = steps
        .iter()
        .filter(|later| !std::ptr::eq(*later, step))
        .flat_map(|later| {
            step_templates(later)
                .into_iter()
                .map(move |(id, _)| (id, later))
        })
        .collect();
    reads.extend(
        plan.workflow
            .outputs
            .iter()
            .flat_map(|(_, value)| crate::check::validate::value_templates(value))
            .map(|id| (id, step)),
    );
    reads.sort_by_key(|(id, _)| id.0);
    for (id, within) in reads {
        for (path, range) in plan.templates.dotted_reads(id) {
            let Some(rest) = path.strip_prefix(&prefix) else {
                continue;
            };
            let output = rest.split('.').next().unwrap_or(rest);
            if !outputs.contains(&output) {
                let template = &plan.workflow.templates[id.0 as usize];
                undeclared(output, template.span_of(range), errors, within);
            }
        }
    }
}
