//! A step that names an OpenAPI operation: its URL built from the operation's server and path,
//! and its response checked against what the operation declares (`--openapi-checks`).

use super::Runner;
use super::send::Attempt;
use crate::diagnostic::Diagnostic;
use crate::format::model::{Request, Step};
use crate::openapi::{Description, Operation, Serialized, serialize};
use crate::report::event::CheckResult;

/// What becomes of a response that differs from its operation (`--openapi-checks`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OpenapiChecks {
    /// The step fails.
    #[default]
    Error,
    /// The step passes; each difference is reported as a warning.
    Warn,
    /// Responses are not checked.
    Off,
}

impl Runner<'_> {
    /// Builds the URL of a step's operation: the base (`request.url`, or the operation's first
    /// server) and the path, each path parameter written as its `style` says.
    pub(super) fn operation_url(
        &mut self,
        step: &Step,
        request: &Request,
        operation: &Operation,
        base: &str,
    ) -> Result<String, Diagnostic> {
        let source = &self.plan.workflow.source;
        let base = if base.is_empty() {
            operation
                .servers
                .first()
                .map(crate::openapi::Server::resolve)
                .unwrap_or_default()
        } else {
            base.to_owned()
        };
        let mut path = operation.path.clone();
        for (name, text) in &request.path_params {
            let value = self.text(text, step)?;
            let Some(param) = operation
                .parameters
                .iter()
                .find(|p| p.name == name.value && p.location == crate::openapi::Location::Path)
            else {
                continue;
            };
            let written = match serialize(param, &serde_json::Value::String(value)) {
                Ok(Serialized::Path(text)) => text,
                Ok(_) => continue,
                Err(why) => {
                    return Err(Diagnostic::error(format!("cannot write {why}"))
                        .at(source, name.span, "this path parameter")
                        .in_step(Some(&step.name)));
                }
            };
            path = path.replace(&format!("{{{}}}", name.value), &written);
        }
        Ok(format!("{}{path}", base.trim_end_matches('/')))
    }

    /// Checks a response against the operation that declares it: failures, warnings or
    /// nothing, as `--openapi-checks` says.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn check_declared(
        &self,
        step: &Step,
        description: &Description,
        operation: &Operation,
        status: u16,
        content_type: &str,
        body: &[u8],
        attempt: &mut Attempt,
    ) {
        let mode = self.settings.openapi_checks;
        if mode == OpenapiChecks::Off {
            return;
        }
        let Some(id) = &step.operation else {
            return;
        };
        let content_type = (!content_type.is_empty()).then_some(content_type);
        let problems = operation.check_response(description, status, content_type, body);
        if mode == OpenapiChecks::Error {
            attempt.checks.push(CheckResult {
                what: format!("response as operation `{}` declares", id.value),
                passed: problems.is_empty(),
            });
        }
        if problems.is_empty() {
            return;
        }
        let start = |title: String| {
            let diagnostic = match mode {
                OpenapiChecks::Warn => Diagnostic::warning(title),
                _ => Diagnostic::error(title),
            };
            diagnostic
                .at(
                    &self.plan.workflow.source,
                    id.span,
                    "the response differs from this operation",
                )
                .in_step(Some(&step.name))
        };
        let mut found = Vec::new();
        if problems[0].instance_pointer.is_some() {
            let mut diagnostic = start(format!(
                "the body does not match the response schema of `{}`",
                id.value
            ));
            for problem in &problems {
                let note = match &problem.schema_pointer {
                    Some(schema) => format!("{} (schema: {schema})", problem.message),
                    None => problem.message.clone(),
                };
                diagnostic = diagnostic.note(note);
            }
            found.push(diagnostic);
        } else {
            found.extend(problems.into_iter().map(|p| start(p.message)));
        }
        let found = found.into_iter().map(|d| d.masked(&self.masker));
        match mode {
            OpenapiChecks::Warn => attempt.warnings.extend(found),
            _ => attempt.failures.extend(found),
        }
    }
}
