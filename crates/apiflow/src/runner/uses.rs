//! `uses`: another workflow run as one step, with the inputs `with:` gives it.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use minijinja::Value as JinjaValue;

use super::taint::value_reads_secret;
use super::{Runner, skipped};
use crate::check::validate::Plan;
use crate::diagnostic::Diagnostic;
use crate::format::model::{ExtractKind, Step, Text, Uses};
use crate::http::urls::UrlParser;
use crate::report::event::{Capture, Outcome, StepReport};
use crate::template::scope::Variables;

impl Runner<'_> {
    /// Runs another workflow as one step: its own variables, the same cookie jar and
    /// connection pool, its secrets kept secret; its outputs become this step's captures.
    pub(super) fn uses<'s>(
        &'s mut self,
        step: &'s Step,
        uses: &'s Uses,
        finally: bool,
    ) -> Pin<Box<dyn Future<Output = StepReport> + Send + 's>> {
        Box::pin(async move {
            let mut report = skipped(step, finally, String::new());
            report.reason = None;
            report.outcome = Outcome::Failed;
            let Some(sub) = self.plan.subplans.get(&uses.path.value).cloned() else {
                report.failures.push(
                    Diagnostic::error(format!("`{}` was not loaded", uses.path.value))
                        .at(&self.plan.workflow.source, uses.path.span, "here")
                        .in_step(Some(&step.name)),
                );
                return report;
            };
            let inputs = match self.sub_inputs(step, uses, &sub) {
                Ok(inputs) => inputs,
                Err(failures) => {
                    report.failures = failures;
                    return report;
                }
            };
            let mut child = Runner {
                plan: &sub,
                client: self.client,
                settings: self.settings,
                jar: self.jar,
                variables: Arc::new(inputs),
                masker: self.masker.clone(),
                reporter: &mut *self.reporter,
                deadline: self.deadline,
                depth: self.depth + 1,
                pages: HashMap::new(),
                tainted: None,
                urls: UrlParser::default(),
                identities: HashMap::new(),
                unset: HashMap::new(),
                sandbox: apiflow_script::Sandbox::new(self.settings.script_limits),
                script_jump: None,
            };
            if let Err(failures) = child.compute_vars() {
                report.failures = failures;
                return report;
            }
            let (children, _) = child.run_steps().await;
            let mut outputs: Vec<(String, serde_json::Value, bool)> = Vec::new();
            let mut failures = Vec::new();
            let passed = !children
                .iter()
                .any(|c| matches!(c.outcome, Outcome::Failed | Outcome::Error));
            // After a failure, the outputs that can still be computed are returned, so the
            // caller's clean-up can use them.
            for (name, value) in &sub.workflow.outputs {
                let ctx = child.ctx();
                match child.value(value, &ctx, None) {
                    Ok(json) => {
                        let secret = crate::names::is_secret_name(&name.value)
                            || value_reads_secret(&child, value);
                        if secret {
                            child.secret_json(&json);
                        }
                        outputs.push((name.value.clone(), json, secret));
                    }
                    Err(failure) if passed => failures.push(failure),
                    Err(_) => {}
                }
            }
            self.masker = std::mem::take(&mut child.masker);
            drop(child);
            report.outcome = children
                .iter()
                .map(|c| c.outcome)
                .find(|o| matches!(o, Outcome::Error))
                .or_else(|| {
                    children
                        .iter()
                        .map(|c| c.outcome)
                        .find(|o| matches!(o, Outcome::Failed))
                })
                .unwrap_or(Outcome::Passed);
            report.attempts = 1;
            report.children = children;
            if !failures.is_empty() {
                report.outcome = Outcome::Failed;
                report.failures = failures;
            }
            // The outputs as a map named after the step, when the name is an identifier.
            if crate::names::is_identifier(&step.name.value) {
                let map: serde_json::Map<String, serde_json::Value> = outputs
                    .iter()
                    .map(|(n, v, _)| (n.clone(), v.clone()))
                    .collect();
                let secret_fields = outputs
                    .iter()
                    .filter(|(_, _, secret)| *secret)
                    .map(|(name, ..)| name.clone())
                    .collect();
                Arc::make_mut(&mut self.variables).set_with_secret_fields(
                    &step.name.value,
                    JinjaValue::from(minijinja::value::Serde(&map)),
                    secret_fields,
                );
            }
            for extract in &step.extract {
                let ExtractKind::Output(output) = &extract.kind else {
                    continue;
                };
                match outputs.iter().find(|(n, ..)| n == output) {
                    Some((_, json, secret)) => {
                        let secret = *secret || extract.secret;
                        Arc::make_mut(&mut self.variables).set(
                            &extract.name.value,
                            JinjaValue::from(minijinja::value::Serde(json)),
                            secret,
                        );
                        report.captures.push(Capture {
                            name: extract.name.value.clone(),
                            value: json.clone(),
                            secret,
                        });
                    }
                    None if report.outcome != Outcome::Passed => {}
                    None => {
                        report.outcome = Outcome::Failed;
                        report.failures.push(
                            Diagnostic::error(format!(
                                "cannot capture `{}`: `{}` has no output `{output}`",
                                extract.name.value, uses.path.value
                            ))
                            .at(
                                &self.plan.workflow.source,
                                extract.name.span,
                                "no such output",
                            )
                            .in_step(Some(&step.name)),
                        );
                    }
                }
            }
            report
        })
    }

    /// Builds the called workflow's inputs from `with:` and its own defaults.
    fn sub_inputs(
        &mut self,
        step: &Step,
        uses: &Uses,
        sub: &Plan,
    ) -> Result<Variables, Vec<Diagnostic>> {
        let ctx = self.ctx();
        let mut variables = Variables::default();
        let mut failures = Vec::new();
        for input in &sub.workflow.inputs {
            let name = &input.name.value;
            if let Some((_, value)) = uses.with.iter().find(|(n, _)| &n.value == name) {
                match self.value(value, &ctx, Some(step)) {
                    Ok(json) => {
                        // A secret stays secret across the boundary, either way.
                        let secret = input.secret || value_reads_secret(self, value);
                        variables.set(
                            name,
                            JinjaValue::from(minijinja::value::Serde(&json)),
                            secret,
                        );
                    }
                    Err(failure) => failures.push(failure),
                }
                continue;
            }
            let secret = input.secret;
            let value = match &input.default {
                Some(Text::Literal(text)) => Some(text.clone()),
                Some(Text::Template(id)) => {
                    let sub_ctx = JinjaValue::from_dyn_object(Arc::new(variables.clone()));
                    sub.templates.render(*id, &sub_ctx).ok()
                }
                None => input
                    .env
                    .as_ref()
                    .and_then(|env| std::env::var(&env.value).ok()),
            };
            match value {
                Some(value) => variables.set(name, JinjaValue::from(value), secret),
                None => failures.push(
                    Diagnostic::error(format!(
                        "`{}` needs input `{name}`, and `with:` does not give it",
                        uses.path.value
                    ))
                    .at(&self.plan.workflow.source, uses.path.span, "here")
                    .in_step(Some(&step.name)),
                ),
            }
        }
        if failures.is_empty() {
            Ok(variables)
        } else {
            Err(failures)
        }
    }
}
