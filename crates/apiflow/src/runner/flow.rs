//! The order steps run in: `on_failure`, `next:` jumps (and a script's), the `max_steps`
//! bound, and the captures a failed or jumped-past step did not set.

use super::{Runner, skipped};
use crate::check::validate::{Context, RESPONSE_NAMES, step_templates};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::format::model::{Next, OnFailure, Step};
use crate::report::event::{Jump, Outcome, StepReport};

/// How many steps one run of a workflow may run when neither `--max-steps` nor
/// `defaults.max_steps` says.
pub const DEFAULT_MAX_STEPS: u32 = 10_000;

/// Where the run goes after a step.
pub(super) enum Goto {
    /// The following step.
    Following,
    /// The step at this index of `steps`.
    Step(usize),
    /// Nowhere: the run ends; the text says why, for the steps it does not reach.
    End(String),
}

impl Runner<'_> {
    /// Tells what the run does when `step` fails: the step's own `on_failure`, then
    /// `--continue-on-failure`, then `defaults.on_failure`; it stops otherwise.
    pub(super) fn on_failure(&self, step: &Step) -> OnFailure {
        step.on_failure
            .as_ref()
            .map(|s| s.value)
            .or(self
                .settings
                .continue_on_failure
                .then_some(OnFailure::Continue))
            .or(self
                .plan
                .workflow
                .defaults
                .on_failure
                .as_ref()
                .map(|s| s.value))
            .unwrap_or(OnFailure::Stop)
    }

    /// Returns how many steps this run of the workflow may run.
    pub(super) fn max_steps(&self) -> u32 {
        self.settings
            .max_steps
            .or(self
                .plan
                .workflow
                .defaults
                .max_steps
                .as_ref()
                .map(|s| s.value))
            .unwrap_or(DEFAULT_MAX_STEPS)
    }

    /// Reports the step the run would have run past its `max_steps`, as a failure.
    pub(super) fn over_max_steps(&self, step: &Step, max: u32) -> StepReport {
        let mut report = skipped(step, false, String::new());
        report.outcome = Outcome::Failed;
        report.reason = None;
        report.depth = self.depth;
        let (flag, label) = if self.settings.max_steps.is_some() {
            (format!("--max-steps {max}"), "`--max-steps`")
        } else {
            (format!("max_steps: {max}"), "`defaults.max_steps`")
        };
        report.failures.push(
            Diagnostic::error(format!(
                "the run stopped before step `{}`: it already ran {max} steps (`{flag}`)",
                step.name.value
            ))
            .at(&self.plan.workflow.source, step.name.span, "not run")
            .in_step(Some(&step.name))
            .help(format!(
                "a `next:` loop that never ends? Make it end, or raise {label} if the run needs more steps"
            )),
        );
        report
    }

    /// Decides where the run goes after `step`: a jump the step asked for itself (a script),
    /// then its `next:`, then the following step. A jump that names no step fails the step.
    pub(super) fn goto(&mut self, step: &Step, report: &mut StepReport) -> Goto {
        let workflow = &self.plan.workflow;
        let (name, span, asked) = match (report.jump.take(), &step.next) {
            (Some(Jump::End), _) => {
                return Goto::End(format!("`{}` ended the run", step.name.value));
            }
            (Some(Jump::To(name)), _) => (name, step.name.span, "its script"),
            (None, None) => return Goto::Following,
            (None, Some(Next::End(_))) => {
                return Goto::End(format!(
                    "`{}` ended the run (`next: null`)",
                    step.name.value
                ));
            }
            (None, Some(Next::Step(name))) => (name.value.clone(), name.span, "`next:`"),
            (None, Some(Next::Template(id))) => {
                let id = *id;
                let source = &workflow.templates[id.0 as usize];
                match self.plan.templates.eval(id, &self.ctx()) {
                    Ok(value) if value.is_none() || value.is_undefined() => {
                        return Goto::End(format!(
                            "`{}` ended the run (`next: {}` is empty)",
                            step.name.value, source.text
                        ));
                    }
                    Ok(value) => match value.as_str() {
                        Some(text) if text.trim().is_empty() => {
                            return Goto::End(format!(
                                "`{}` ended the run (`next: {}` is empty)",
                                step.name.value, source.text
                            ));
                        }
                        Some(text) => (text.to_owned(), source.span_of(None), "`next:`"),
                        None => {
                            self.fail_jump(
                                report,
                                Diagnostic::error(format!(
                                    "`next:` must give a step name, but `{}` is {}",
                                    source.text,
                                    value.kind()
                                ))
                                .at(&workflow.source, source.span_of(None), "not a step name")
                                .in_step(Some(&step.name)),
                            );
                            return Goto::Following;
                        }
                    },
                    Err(error) => {
                        let failure = self.render_error(id, error, step);
                        self.fail_jump(report, failure);
                        return Goto::Following;
                    }
                }
            }
        };
        if let Some(index) = workflow.steps.iter().position(|s| s.name.value == name) {
            return Goto::Step(index);
        }
        let finally = workflow.finally.iter().any(|s| s.name.value == name);
        let help = if finally {
            "`finally` steps always run at the end; a jump goes to a step of `steps`".to_owned()
        } else {
            did_you_mean(&name, workflow.steps.iter().map(|s| s.name.value.as_str()))
                .unwrap_or_else(|| "a jump goes to a step of `steps`, by its name".to_owned())
        };
        let failure = Diagnostic::error(format!(
            "{asked} asks to go on at step `{name}`, but {}",
            if finally {
                "it is a `finally` step"
            } else {
                "no step has that name"
            }
        ))
        .at(&workflow.source, span, "jumps here")
        .in_step(Some(&step.name))
        .help(help);
        self.fail_jump(report, failure);
        Goto::Following
    }

    /// Fails a step whose jump cannot be followed.
    fn fail_jump(&self, report: &mut StepReport, failure: Diagnostic) {
        if report.outcome != Outcome::Error {
            report.outcome = Outcome::Failed;
        }
        report.failures.push(failure.masked(&self.masker));
    }

    /// Notes the captures of `step` that are not set, and why, so that a later step reading
    /// one fails with that reason instead of an undefined variable.
    pub(super) fn note_unset(&mut self, step: &Step, why: &str) {
        for extract in &step.extract {
            if self.variables.get(&extract.name.value).is_none() {
                self.unset
                    .insert(extract.name.value.clone(), why.to_owned());
            }
        }
    }

    /// Fails a step before it runs when it reads a capture an earlier step did not set (it
    /// failed, or a jump passed it), naming both; a name its `if:` reads is guarded.
    pub(super) fn missing_capture(&self, step: &Step, finally: bool) -> Option<StepReport> {
        if self.unset.is_empty() {
            return None;
        }
        let templates = &self.plan.templates;
        let guarded = step.condition.map_or(&[][..], |id| templates.reads(id));
        for (id, context) in step_templates(step) {
            for name in templates.reads(id) {
                let local = guarded.contains(name)
                    || (step.for_each.is_some() && *name == step.each_as.value)
                    || (context == Context::Response
                        && (RESPONSE_NAMES.contains(&name.as_str())
                            || step.extract.iter().any(|e| e.name.value == *name)));
                if local || self.variables.get(name).is_some() {
                    continue;
                }
                let Some(why) = self.unset.get(name) else {
                    continue;
                };
                let workflow = &self.plan.workflow;
                let source = &workflow.templates[id.0 as usize];
                let mut report = skipped(step, finally, String::new());
                report.outcome = Outcome::Failed;
                report.reason = None;
                report.depth = self.depth;
                report.failures.push(
                    Diagnostic::error(format!("`{name}` is not set: {why}"))
                        .at(
                            &workflow.source,
                            source.span_of(templates.position(id, name)),
                            "not set",
                        )
                        .in_step(Some(&step.name))
                        .help(format!(
                            "this step needs it; guard it with `if: {name} is defined` to skip it instead"
                        )),
                );
                return Some(report);
            }
        }
        None
    }
}
