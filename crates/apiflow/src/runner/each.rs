//! `for_each`: a step run once per element of a list, its captures gathered into lists.

use std::sync::Arc;

use minijinja::Value as JinjaValue;

use super::{Runner, skipped};
use crate::diagnostic::Diagnostic;
use crate::format::model::{OnFailure, Step, TemplateId};
use crate::report::event::{Capture, Event, Outcome, StepReport};

impl Runner<'_> {
    /// Runs a `for_each` step once per element; captures become lists.
    pub(super) async fn each(
        &mut self,
        step: &Step,
        finally: bool,
        list: TemplateId,
    ) -> StepReport {
        let mut report = skipped(step, finally, String::new());
        report.reason = None;
        let items: Vec<JinjaValue> = match self.plan.templates.eval(list, &self.ctx()) {
            Ok(value) => {
                if let Ok(items) = value.try_iter() {
                    items.collect()
                } else {
                    let source = &self.plan.workflow.templates[list.0 as usize];
                    report.outcome = Outcome::Failed;
                    report.failures.push(
                        Diagnostic::error(format!(
                            "`for_each` needs a list, but `{}` is {}",
                            source.text,
                            value.kind()
                        ))
                        .at(
                            &self.plan.workflow.source,
                            source.span_of(None),
                            "not a list",
                        )
                        .in_step(Some(&step.name)),
                    );
                    return report;
                }
            }
            Err(error) => {
                report.outcome = Outcome::Failed;
                report.failures.push(self.render_error(list, error, step));
                return report;
            }
        };
        let name = &step.each_as.value;
        let mut lists: Vec<(String, Vec<serde_json::Value>, Vec<JinjaValue>, bool)> = step
            .extract
            .iter()
            .map(|e| (e.name.value.clone(), Vec::new(), Vec::new(), e.secret))
            .collect();
        report.outcome = Outcome::Passed;
        // Each run reports its own attempts; the step itself ran once, like a `uses` step.
        report.attempts = 1;
        for (index, item) in items.into_iter().enumerate() {
            if self.stop_reason().is_some() {
                break;
            }
            Arc::make_mut(&mut self.variables).set(name, item, false);
            let mut child = self.single(step, finally).await;
            child.name = format!("{} [{}]", step.name.value, index + 1);
            child.depth = self.depth + 1;
            self.reporter.event(&Event::Step(&child));
            for capture in &child.captures {
                if let Some(entry) = lists.iter_mut().find(|(n, ..)| *n == capture.name) {
                    entry.1.push(capture.value.clone());
                    entry
                        .2
                        .push(JinjaValue::from(minijinja::value::Serde(&capture.value)));
                }
            }
            let failed = matches!(child.outcome, Outcome::Failed | Outcome::Error);
            if failed && report.outcome != Outcome::Error {
                report.outcome = child.outcome;
            }
            // The last element that asked for a jump decides where the run goes after the step.
            if child.jump.is_some() {
                report.jump.clone_from(&child.jump);
            }
            report.children.push(child);
            if failed && self.on_failure(step) == OnFailure::Stop {
                break;
            }
        }
        Arc::make_mut(&mut self.variables).remove(name);
        for (capture, json, values, secret) in lists {
            Arc::make_mut(&mut self.variables).set(&capture, JinjaValue::from(values), secret);
            report.captures.push(Capture {
                name: capture,
                value: serde_json::Value::Array(json),
                secret,
            });
        }
        report
    }
}
