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
    /// `--continue-on-failure` or `--bail`, then `defaults.on_failure`; it stops otherwise.
    pub(super) fn on_failure(&self, step: &Step) -> OnFailure {
        step.on_failure
            .as_ref()
            .map(|s| s.value)
            .or(self
                .settings
                .continue_on_failure
                .then_some(OnFailure::Continue))
            .or(self.settings.bail.then_some(OnFailure::Stop))
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use super::Goto;
    use crate::check::validate::Plan;
    use crate::http::urls::UrlParser;
    use crate::http::{Client, ClientOptions, Jar};
    use crate::report::event::{Jump, Outcome, Silent};
    use crate::runner::{Runner, Settings, skipped};
    use crate::secret::Masker;
    use crate::span::Source;

    const WORKFLOW: &str = "name: t
steps:
  - name: a
    request: { url: \"http://x.test/a\" }
    next: c
  - name: b
    request: { url: \"http://x.test/b\" }
  - name: c
    request: { url: \"http://x.test/c\" }
finally:
  - name: z
    request: { url: \"http://x.test/z\" }
";

    fn plan() -> Plan {
        let workflow =
            crate::format::load::load(&Source::new("t.yaml", WORKFLOW)).expect("it loads");
        crate::check::validate::validate(workflow).expect("it validates")
    }

    /// Decides where the run goes after step `index` when the step asked for `jump`.
    fn goto(jump: Option<Jump>, index: usize) -> (Option<usize>, Outcome, Vec<String>) {
        let plan = plan();
        let client = Client::new(&ClientOptions::default()).expect("a client");
        let settings = Settings::default();
        let jar = Jar::default();
        let mut reporter = Silent;
        let mut runner = Runner {
            plan: &plan,
            client: &client,
            settings: &settings,
            jar: &jar,
            variables: Arc::default(),
            masker: Masker::new(),
            reporter: &mut reporter,
            deadline: None,
            depth: 0,
            pages: HashMap::new(),
            tainted: None,
            urls: UrlParser::default(),
            identities: HashMap::new(),
            unset: HashMap::new(),
            sandbox: apiflow_script::Sandbox::new(settings.script_limits),
            script_jump: None,
        };
        let step = &plan.workflow.steps[index];
        let mut report = skipped(step, false, String::new());
        report.outcome = Outcome::Passed;
        report.jump = jump;
        let to = match runner.goto(step, &mut report) {
            Goto::Step(to) => Some(to),
            Goto::Following => None,
            Goto::End(_) => Some(usize::MAX),
        };
        let failures = report.failures.iter().map(|d| d.title.clone()).collect();
        (to, report.outcome, failures)
    }

    #[test]
    fn a_jump_the_step_asked_for_wins_over_its_next() {
        assert_eq!(goto(None, 0).0, Some(2));
        assert_eq!(goto(Some(Jump::To("b".into())), 0).0, Some(1));
        assert_eq!(goto(Some(Jump::To("a".into())), 1).0, Some(0));
        assert_eq!(goto(Some(Jump::End), 0).0, Some(usize::MAX));
        assert_eq!(goto(None, 1).0, None);
    }

    #[test]
    fn a_jump_to_no_step_or_to_finally_fails_the_step() {
        let (to, outcome, failures) = goto(Some(Jump::To("d".into())), 1);
        assert_eq!((to, outcome), (None, Outcome::Failed));
        assert_eq!(
            failures,
            ["its script asks to go on at step `d`, but no step has that name"]
        );
        let (_, outcome, failures) = goto(Some(Jump::To("z".into())), 1);
        assert_eq!(outcome, Outcome::Failed);
        assert_eq!(
            failures,
            ["its script asks to go on at step `z`, but it is a `finally` step"]
        );
    }
}
