//! Runs a checked Arazzo plan on apiflow's HTTP client and reports through apiflow's events:
//! each workflow is one run (`Started` … `Finished`), each step run one step report.
//!
//! Inside a step the order is fixed: the request is built (server, path, parameters by their
//! operation's `style` and `explode`, body and replacements, `x-security`) → sent, redirects
//! followed only when `x-apiflow.follow_redirects` says → the OpenAPI checks → the success
//! criteria → on success the outputs and `x-apiflow.extract` → the first action whose criteria
//! hold (the step's, then the workflow's): `end`, `goto`, or for a failure `retry`; no action
//! goes on with the next step after a success and ends the workflow, failed, after a failure.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use apiflow::diagnostic::Diagnostic;
use apiflow::exit::ExitCode;
use apiflow::http::body::Body as HttpBody;
use apiflow::http::urls::UrlParser;
use apiflow::http::{Client, Exchange, Jar, Outgoing, SendError, Transport};
use apiflow::openapi::{Description, Location, Serialized};
use apiflow::report::event::{
    Capture, CheckResult, Event, Outcome, Reporter, RunReport, StepReport,
};
use apiflow::runner::Settings;
use apiflow::span::Span;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::bind::{Api, BoundAction, BoundBody, BoundSecurity, BoundStep, Call, Goto, Plan};
use crate::expr::{self, Message, Scope, WorkflowValues};
use crate::model::{ActionKind, ParameterIn, Selector};

/// How responses are checked against their OpenAPI operation (`--openapi-checks`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OpenApiChecks {
    /// A response the description does not allow fails its step.
    #[default]
    Error,
    /// It is reported as a warning.
    Warn,
    /// Responses are not checked.
    Off,
}

/// Inputs given to a workflow by name.
type Given = serde_json::Map<String, serde_json::Value>;

/// What running a workflow gives: its report, and the workflow a `goto` passed control to
/// with the inputs it gives.
type WorkflowRun<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = (RunReport, Option<(usize, Given)>)> + Send + 'a>,
>;

/// How many redirects a step that follows them may follow.
const MAX_REDIRECTS: u32 = 10;

/// Runs the plan's workflows, dependencies first, with inputs already resolved for each, and
/// returns the worst outcome.
pub async fn run(
    plan: &Plan,
    client: &Client,
    inputs: Vec<serde_json::Map<String, serde_json::Value>>,
    settings: &Settings,
    checks: OpenApiChecks,
    reporter: &mut dyn Reporter,
) -> ExitCode {
    let jar = settings
        .cookie_jar
        .as_ref()
        .map_or_else(Jar::default, |file| file.start());
    let mut runner = Runner {
        plan,
        client,
        settings,
        checks,
        jar: &jar,
        reporter,
        workflows: HashMap::new(),
        ran: 0,
        max_steps: settings
            .max_steps
            .unwrap_or(apiflow::runner::DEFAULT_MAX_STEPS),
        secrets: Vec::new(),
        pages: HashMap::new(),
        urls: UrlParser::default(),
    };
    for secret in &settings.secrets {
        runner.secret(secret);
    }
    let mut worst = ExitCode::Passed;
    let mut failed: Vec<usize> = Vec::new();
    // Each workflow to run, with the inputs a `goto` gives it over its own.
    let mut queue: std::collections::VecDeque<(usize, Given)> =
        plan.order.iter().map(|i| (*i, Given::new())).collect();
    while let Some((index, given)) = queue.pop_front() {
        let flow = &plan.workflows[index];
        let mut values = inputs.get(index).cloned().unwrap_or_default();
        values.extend(given);
        if let Some(dependency) = flow.depends_on.iter().find(|d| failed.contains(d)) {
            let why = format!(
                "not run: workflow `{}`, which it depends on, failed",
                plan.document.workflows[*dependency].id.value
            );
            let report = runner.not_run(index, &why);
            worst = worst.worst(report.exit_code());
            failed.push(index);
            continue;
        }
        let (report, goto) = runner.workflow(index, values, 0).await;
        let code = report.exit_code();
        worst = worst.worst(code);
        if !code.passed() {
            failed.push(index);
        }
        // A `goto` loop between workflows is bounded by `--max-steps`, which every step of
        // every workflow counts against.
        if let Some(next) = goto {
            queue.push_front(next);
        }
        if settings.interrupt.load(Ordering::SeqCst) {
            break;
        }
    }
    if let Some(file) = &settings.cookie_jar {
        file.finish(&jar);
    }
    worst
}

struct Runner<'a> {
    plan: &'a Plan,
    client: &'a Client,
    settings: &'a Settings,
    checks: OpenApiChecks,
    jar: &'a Jar,
    reporter: &'a mut dyn Reporter,
    /// What each workflow that ran was given and gave.
    workflows: HashMap<String, WorkflowValues>,
    ran: u32,
    max_steps: u32,
    secrets: Vec<String>,
    /// The last page each step got, for `x-apiflow.form_from`: its URL and body.
    pages: HashMap<String, (url::Url, Arc<Vec<u8>>)>,
    /// Parses each request's URL, reusing the server's origin from the last one.
    urls: UrlParser,
}

/// What one run of a step came to.
struct StepRun {
    report: StepReport,
    success: bool,
    retry_after_header: Option<Duration>,
}

/// Where the workflow goes after a step.
enum Next {
    Following,
    Step(usize),
    Workflow(usize, serde_json::Map<String, serde_json::Value>),
    End {
        failed: bool,
        why: String,
    },
    Retry {
        after: Duration,
        first: Option<Goto>,
    },
}

impl Runner<'_> {
    fn secret(&mut self, value: &str) {
        if value.len() >= 3 && !self.secrets.iter().any(|s| s == value) {
            self.secrets.push(value.to_owned());
            self.reporter.event(&Event::Secret(value));
        }
    }

    fn secret_value(&mut self, value: &serde_json::Value) {
        match value {
            serde_json::Value::String(s) => self.secret(s),
            serde_json::Value::Number(n) => self.secret(&n.to_string()),
            serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                self.secret_members(value);
            }
            _ => {}
        }
    }

    /// Marks the texts inside a secret list or object as secret. Numbers there are left
    /// alone: a token response's `expires_in` is no secret, and masking its digits would
    /// mask them in every number printed (and break the JSON report).
    fn secret_members(&mut self, value: &serde_json::Value) {
        match value {
            serde_json::Value::String(s) => self.secret(s),
            serde_json::Value::Array(items) => items.iter().for_each(|v| self.secret_members(v)),
            serde_json::Value::Object(map) => map.values().for_each(|v| self.secret_members(v)),
            _ => {}
        }
    }

    /// Reports a workflow none of whose steps ran.
    fn not_run(&mut self, index: usize, why: &str) -> RunReport {
        let workflow = &self.plan.document.workflows[index];
        self.reporter.event(&Event::Started {
            name: &workflow.id.value,
            file: &self.plan.document.source.name,
            steps: workflow.steps.len(),
        });
        let mut steps = Vec::new();
        for step in &workflow.steps {
            let mut report = StepReport::new(step.id.value.clone());
            report.reason = Some(why.to_owned());
            self.reporter.event(&Event::Step(&report));
            steps.push(report);
        }
        let report = RunReport {
            name: workflow.id.value.clone(),
            file: self.plan.document.source.name.clone(),
            inputs: Vec::new(),
            started_at: SystemTime::now(),
            steps,
            duration: Duration::ZERO,
            stopped: Some(why.to_owned()),
        };
        self.reporter.event(&Event::Finished(&report));
        report
    }

    /// Runs one workflow of the plan as a run of its own (`depth` 0) or inside a step; returns
    /// its report and the workflow a `goto` passed control to.
    fn workflow(
        &mut self,
        index: usize,
        inputs: serde_json::Map<String, serde_json::Value>,
        depth: u32,
    ) -> WorkflowRun<'_> {
        Box::pin(async move {
            let plan = self.plan;
            let workflow = &plan.document.workflows[index];
            let flow = &plan.workflows[index];
            let started = Instant::now();
            let started_at = SystemTime::now();
            for input in &flow.declared {
                if (input.secret || apiflow::names::is_secret_name(&input.name))
                    && let Some(value) = inputs.get(&input.name)
                {
                    self.secret_value(value);
                }
            }
            let input_report: Vec<Capture> = inputs
                .iter()
                .map(|(name, value)| Capture {
                    name: name.clone(),
                    value: value.clone(),
                    secret: flow.declared.iter().any(|i| &i.name == name && i.secret)
                        || apiflow::names::is_secret_name(name),
                })
                .collect();
            if depth == 0 {
                self.reporter.event(&Event::Started {
                    name: &workflow.id.value,
                    file: &plan.document.source.name,
                    steps: workflow.steps.len(),
                });
            }
            let mut base = Scope {
                inputs: inputs.clone(),
                components: Arc::clone(&plan.components),
                source_descriptions: Arc::clone(&plan.source_values),
                self_uri: plan.document.self_uri.as_ref().map(|s| s.value.clone()),
                ..Scope::default()
            };
            base.workflows.clone_from(&self.workflows);
            let mut reports: Vec<StepReport> = Vec::new();
            let mut reached = vec![false; workflow.steps.len()];
            let mut passed_by: Vec<Option<String>> = vec![None; workflow.steps.len()];
            let mut stopped: Option<String> = None;
            let mut goto_workflow = None;
            let mut position = 0usize;
            let mut retries: HashMap<(usize, String), u64> = HashMap::new();
            while let Some(step) = workflow.steps.get(position) {
                if self.settings.interrupt.load(Ordering::SeqCst) {
                    stopped = Some(apiflow::report::event::INTERRUPTED.to_owned());
                    break;
                }
                if self.ran >= self.max_steps {
                    let mut report = StepReport::new(step.id.value.clone());
                    report.outcome = Outcome::Failed;
                    report.depth = depth;
                    report.failures.push(
                        Diagnostic::error(format!(
                            "the run stopped before step `{}`: it already ran {} steps (`--max-steps {}`)",
                            step.id.value, self.max_steps, self.max_steps
                        ))
                        .at(&plan.document.source, step.id.span, "not run")
                        .in_step(Some(&step.id))
                        .help("a `goto` loop that never ends? Give its actions criteria that end it, or raise `--max-steps`"),
                    );
                    self.reporter.event(&Event::Step(&report));
                    reports.push(report);
                    reached[position] = true;
                    stopped = Some(format!("the run already ran {} steps", self.max_steps));
                    break;
                }
                self.ran += 1;
                reached[position] = true;
                let bound = &flow.steps[position];
                self.reporter.event(&Event::StepStarted {
                    name: &step.id.value,
                    depth,
                    nested: matches!(bound.call, Call::Workflow(_) | Call::External { .. }),
                });
                // A `retry` runs the step again in place: one report, its attempts counted, the
                // failures of the earlier attempts kept as failed checks.
                let mut attempts = 0u32;
                let mut earlier: Vec<CheckResult> = Vec::new();
                let (mut run, next) = loop {
                    attempts += 1;
                    let mut run = self.step(index, position, &mut base, depth).await;
                    let next = self.next(index, position, &mut run, &mut retries, &base);
                    let Next::Retry { after, first: None } = next else {
                        break (run, next);
                    };
                    for check in run.report.checks.drain(..).filter(|c| !c.passed) {
                        earlier.push(CheckResult {
                            what: format!("attempt {attempts}: {}", check.what),
                            passed: false,
                        });
                    }
                    self.ran += 1;
                    if self.ran > self.max_steps {
                        break (
                            run,
                            Next::End {
                                failed: true,
                                why: format!("the run already ran {} steps", self.max_steps),
                            },
                        );
                    }
                    let limit = flow.steps[position]
                        .on_failure
                        .iter()
                        .map(|a| a.retry_limit)
                        .max()
                        .unwrap_or(1);
                    self.reporter.event(&Event::Attempt {
                        name: &step.id.value,
                        number: attempts + 1,
                        of: u32::try_from(limit.saturating_add(1)).unwrap_or(u32::MAX),
                    });
                    self.wait(after).await;
                };
                run.report.attempts = attempts;
                if !earlier.is_empty() {
                    earlier.append(&mut run.report.checks);
                    run.report.checks = earlier;
                }
                if matches!(
                    flow.steps[position].call,
                    Call::Workflow(_) | Call::External { .. }
                ) {
                    base.workflows.clone_from(&self.workflows);
                }
                run.report.depth = depth;
                self.reporter.event(&Event::Step(&run.report));
                reports.push(run.report);
                match next {
                    Next::Following => position += 1,
                    Next::Step(to) => {
                        for (skipped, passed) in
                            passed_by.iter_mut().enumerate().take(to).skip(position + 1)
                        {
                            if !reached[skipped] {
                                *passed = Some(format!(
                                    "jumped past: `{}` went on at `{}`",
                                    step.id.value, workflow.steps[to].id.value
                                ));
                            }
                        }
                        position = to;
                    }
                    Next::Workflow(to, given) => {
                        stopped = None;
                        goto_workflow = Some((to, given));
                        break;
                    }
                    Next::End { failed, why } => {
                        if failed {
                            stopped = Some(why);
                        }
                        break;
                    }
                    Next::Retry { after, first } => {
                        self.wait(after).await;
                        // The step or workflow the `retry` names runs first, once, then the
                        // step is tried again.
                        match first {
                            Some(Goto::Step(to)) => {
                                self.ran += 1;
                                reached[to] = true;
                                self.reporter.event(&Event::StepStarted {
                                    name: &workflow.steps[to].id.value,
                                    depth,
                                    nested: false,
                                });
                                let mut before = self.step(index, to, &mut base, depth).await;
                                before.report.depth = depth;
                                self.reporter.event(&Event::Step(&before.report));
                                reports.push(before.report);
                            }
                            Some(Goto::Workflow(to)) => {
                                let given = self.inputs_for(to, &base);
                                let (inner, _) = self.workflow(to, given, depth + 1).await;
                                base.workflows.clone_from(&self.workflows);
                                reports.extend(inner.steps);
                            }
                            None => {}
                        }
                    }
                }
            }
            let end_reason = stopped
                .clone()
                .unwrap_or_else(|| "the workflow ended".to_owned());
            for (position, step) in workflow.steps.iter().enumerate() {
                if reached[position] {
                    continue;
                }
                let mut report = StepReport::new(step.id.value.clone());
                report.depth = depth;
                report.reason = Some(format!(
                    "not run: {}",
                    passed_by[position]
                        .clone()
                        .unwrap_or_else(|| end_reason.clone())
                ));
                self.reporter.event(&Event::Step(&report));
                reports.push(report);
            }
            // The workflow's outputs, from what its steps gave.
            let mut outputs = serde_json::Map::new();
            let failed = stopped.is_some()
                || reports
                    .iter()
                    .any(|r| matches!(r.outcome, Outcome::Failed | Outcome::Error));
            if !failed {
                for (name, expression, span) in &flow.outputs {
                    // An output of a step an action jumped past, or ended before, is not set.
                    if expression
                        .expressions()
                        .iter()
                        .filter_map(|e| e.step_ref())
                        .any(|(step, _)| !base.steps.contains_key(step))
                    {
                        continue;
                    }
                    match eval_value(expression, &base) {
                        Ok(value) => {
                            if apiflow::names::is_secret_name(name) {
                                self.secret_value(&value);
                            }
                            outputs.insert(name.clone(), value);
                        }
                        Err(error) => {
                            stopped = Some(format!("output `{name}` cannot be computed"));
                            let last_run = reports
                                .iter_mut()
                                .rev()
                                .find(|r| r.outcome != Outcome::Skipped);
                            if let Some(last) = last_run {
                                last.outcome = Outcome::Failed;
                                last.failures.push(
                                    Diagnostic::error(format!(
                                        "cannot compute output `{name}` of workflow `{}`: {error}",
                                        workflow.id.value
                                    ))
                                    .at(
                                        &plan.document.source,
                                        *span,
                                        "here",
                                    ),
                                );
                            }
                        }
                    }
                }
            }
            self.workflows.insert(
                workflow.id.value.clone(),
                WorkflowValues { inputs, outputs },
            );
            let report = RunReport {
                name: workflow.id.value.clone(),
                file: plan.document.source.name.clone(),
                inputs: input_report,
                started_at,
                steps: reports,
                duration: started.elapsed(),
                stopped,
            };
            if depth == 0 {
                self.reporter.event(&Event::Finished(&report));
            }
            (report, goto_workflow)
        })
    }

    /// Gives a workflow that a `goto` or `retry` runs the inputs of the same names the current
    /// one has.
    fn inputs_for(
        &self,
        index: usize,
        scope: &Scope,
    ) -> serde_json::Map<String, serde_json::Value> {
        let flow = &self.plan.workflows[index];
        scope
            .inputs
            .iter()
            .filter(|(name, _)| {
                flow.declared.is_empty() || flow.declared.iter().any(|i| &i.name == *name)
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Chooses what follows a step: the first action whose criteria hold.
    fn next(
        &mut self,
        workflow: usize,
        position: usize,
        run: &mut StepRun,
        retries: &mut HashMap<(usize, String), u64>,
        scope: &Scope,
    ) -> Next {
        let bound = &self.plan.workflows[workflow].steps[position];
        let actions = if run.success {
            &bound.on_success
        } else {
            &bound.on_failure
        };
        let mut chosen: Option<&BoundAction> = None;
        'actions: for action in actions {
            for criterion in &action.criteria {
                match criterion.compiled.eval(scope) {
                    Ok(true) => {}
                    Ok(false) => continue 'actions,
                    Err(error) => {
                        // An action whose criteria cannot be evaluated is a failure, never a
                        // silent choice of another branch.
                        run.report.outcome = Outcome::Failed;
                        run.report.failures.push(
                            Diagnostic::error(format!(
                                "cannot evaluate a criterion of action `{}`: {error}",
                                action.name
                            ))
                            .at(
                                &self.plan.document.source,
                                criterion.span,
                                "here",
                            ),
                        );
                        return Next::End {
                            failed: true,
                            why: format!(
                                "a criterion of action `{}` could not be evaluated",
                                action.name
                            ),
                        };
                    }
                }
            }
            chosen = Some(action);
            break;
        }
        match (run.success, chosen) {
            (true, None) => Next::Following,
            (false, None) => Next::End {
                failed: true,
                why: "an earlier step failed".to_owned(),
            },
            (success, Some(action)) => {
                let note = |what: String| {
                    format!(
                        "{} action `{}`: {what}",
                        if success { "success" } else { "failure" },
                        action.name
                    )
                };
                match action.kind {
                    ActionKind::End => {
                        run.report.reason = Some(note("end".to_owned()));
                        Next::End {
                            failed: !success,
                            why: format!("action `{}` ended the workflow", action.name),
                        }
                    }
                    ActionKind::Goto => match action.target {
                        Some(Goto::Step(to)) => {
                            if !success {
                                Self::handled(run, &action.name);
                            }
                            run.report.reason = Some(note(format!(
                                "goto step `{}`",
                                self.plan.document.workflows[workflow].steps[to].id.value
                            )));
                            Next::Step(to)
                        }
                        Some(Goto::Workflow(to)) => {
                            if !success {
                                Self::handled(run, &action.name);
                            }
                            run.report.reason = Some(note(format!(
                                "goto workflow `{}`",
                                self.plan.document.workflows[to].id.value
                            )));
                            let mut given = serde_json::Map::new();
                            for (name, value, span) in &action.parameters {
                                match eval_value(value, scope) {
                                    Ok(value) => {
                                        given.insert(name.clone(), value);
                                    }
                                    Err(error) => {
                                        run.report.outcome = Outcome::Failed;
                                        run.report.failures.push(
                                            Diagnostic::error(format!(
                                                "cannot compute parameter `{name}` of action `{}`: {error}",
                                                action.name
                                            ))
                                            .at(&self.plan.document.source, *span, "here"),
                                        );
                                        return Next::End {
                                            failed: true,
                                            why: format!(
                                                "a parameter of action `{}` could not be computed",
                                                action.name
                                            ),
                                        };
                                    }
                                }
                            }
                            Next::Workflow(to, given)
                        }
                        None => Next::Following,
                    },
                    ActionKind::Retry => {
                        let key = (position, action.name.clone());
                        let used = retries.entry(key).or_insert(0);
                        if *used >= action.retry_limit {
                            run.report.reason = Some(note(format!(
                                "gave up after {} {}",
                                action.retry_limit,
                                if action.retry_limit == 1 {
                                    "retry"
                                } else {
                                    "retries"
                                }
                            )));
                            return Next::End {
                                failed: true,
                                why: format!(
                                    "step retried {} times and still failed",
                                    action.retry_limit
                                ),
                            };
                        }
                        *used += 1;
                        let after = run
                            .retry_after_header
                            .or(action.retry_after)
                            .unwrap_or(Duration::ZERO);
                        Self::handled(run, &action.name);
                        run.report.reason =
                            Some(note(format!("retry {} of {}", used, action.retry_limit)));
                        Next::Retry {
                            after,
                            first: action.target,
                        }
                    }
                }
            }
        }
    }

    /// Marks a failed step whose failure an action handles: it is reported as failed criteria,
    /// but it does not fail the workflow.
    fn handled(run: &mut StepRun, action: &str) {
        if run.report.outcome == Outcome::Failed {
            run.report.outcome = Outcome::Passed;
            for failure in std::mem::take(&mut run.report.failures) {
                run.report.checks.push(CheckResult {
                    what: format!("{} (handled by action `{action}`)", failure.title),
                    passed: false,
                });
            }
        }
    }

    async fn wait(&self, duration: Duration) {
        if duration.is_zero() || self.settings.interrupt.load(Ordering::SeqCst) {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(duration) => {}
            () = self.settings.wake.notified() => {}
        }
    }

    /// Runs one step once.
    async fn step(
        &mut self,
        workflow: usize,
        position: usize,
        scope: &mut Scope,
        depth: u32,
    ) -> StepRun {
        let plan = self.plan;
        let step = &plan.document.workflows[workflow].steps[position];
        let bound = &plan.workflows[workflow].steps[position];
        let started = Instant::now();
        let mut report = StepReport::new(step.id.value.clone());
        report.attempts = 1;
        // One scope serves the whole workflow: what the last step sent and received is cleared.
        scope.url = None;
        scope.method = None;
        scope.status = None;
        scope.request = None;
        scope.response = None;
        scope.outputs.clear();
        let source = &plan.document.source;
        let fail = |report: &mut StepReport, title: String, span: Span, label: &str| {
            report.outcome = Outcome::Failed;
            report.failures.push(
                Diagnostic::error(title)
                    .at(source, span, label.to_owned())
                    .in_step(Some(&step.id)),
            );
        };
        let mut retry_after_header = None;
        let waiting = bound
            .depends_on
            .iter()
            .find(|d| !scope.steps.contains_key(*d));
        let call = if waiting.is_some() {
            &Call::Invalid
        } else {
            &bound.call
        };
        if let Some(dependency) = waiting {
            fail(
                &mut report,
                format!(
                    "step `{}` depends on step `{dependency}`, which has not succeeded in this run",
                    step.id.value
                ),
                step.id.span,
                "not run",
            );
        }
        match call {
            Call::Invalid if waiting.is_some() => {}
            Call::Invalid => {
                fail(
                    &mut report,
                    format!("step `{}` cannot run", step.id.value),
                    step.id.span,
                    "invalid",
                );
            }
            Call::Workflow(target) => {
                let given = given_inputs(bound, scope).unwrap_or_else(|(title, span)| {
                    fail(&mut report, title, span, "here");
                    serde_json::Map::new()
                });
                if report.outcome != Outcome::Failed {
                    let (inner, _) = self.workflow(*target, given, depth + 1).await;
                    let passed = absorb(&mut report, inner);
                    if !passed {
                        fail(
                            &mut report,
                            format!(
                                "workflow `{}` failed",
                                plan.document.workflows[*target].id.value
                            ),
                            step.id.span,
                            "here",
                        );
                    }
                    if let Some(values) = self
                        .workflows
                        .get(&plan.document.workflows[*target].id.value)
                    {
                        scope.outputs.clone_from(&values.outputs);
                    }
                }
            }
            Call::External {
                source: api,
                workflow: target,
            } => {
                let given = given_inputs(bound, scope).unwrap_or_else(|(title, span)| {
                    fail(&mut report, title, span, "here");
                    serde_json::Map::new()
                });
                if let (Some(Api::Arazzo(nested)), true) =
                    (plan.sources.get(*api), report.outcome != Outcome::Failed)
                {
                    // The other document's workflow runs with its own sources, on this run's
                    // jar, reporters and step budget.
                    let mut inner = Runner {
                        plan: nested,
                        client: self.client,
                        settings: self.settings,
                        checks: self.checks,
                        jar: self.jar,
                        reporter: &mut *self.reporter,
                        workflows: HashMap::new(),
                        ran: self.ran,
                        max_steps: self.max_steps,
                        secrets: self.secrets.clone(),
                        pages: HashMap::new(),
                        urls: UrlParser::default(),
                    };
                    let (inner_report, _) = inner.workflow(*target, given, depth + 1).await;
                    let outputs = inner
                        .workflows
                        .get(&nested.document.workflows[*target].id.value)
                        .map(|v| v.outputs.clone())
                        .unwrap_or_default();
                    self.ran = inner.ran;
                    self.secrets = inner.secrets;
                    let passed = absorb(&mut report, inner_report);
                    if !passed {
                        fail(
                            &mut report,
                            format!(
                                "workflow `{}` of source `{}` failed",
                                nested.document.workflows[*target].id.value,
                                plan.document.source_descriptions[*api].name.value
                            ),
                            step.id.span,
                            "here",
                        );
                    }
                    scope.outputs = outputs;
                }
            }
            Call::Operation {
                source: api,
                operation,
            } => {
                let description = plan.description(*api).cloned();
                match self.request(bound, *api, operation, scope) {
                    Err((title, span)) => fail(&mut report, title, span, "here"),
                    Ok(request) => {
                        let follow = bound.follow_redirects && !self.settings.ignore_redirects;
                        let stop_at = match &bound.stop_at {
                            Some(text) => text.render(scope).ok(),
                            None => None,
                        };
                        let sent = self
                            .client
                            .send(request, self.jar, follow, MAX_REDIRECTS, stop_at.as_deref())
                            .await;
                        match sent {
                            Err((hops, error)) => {
                                report.exchanges = hops;
                                report.outcome = Outcome::Error;
                                report.failures.push(send_failure(&error, source, step));
                            }
                            Ok(hops) => {
                                retry_after_header = hops.last().and_then(retry_after);
                                if let Some(last) = hops.last() {
                                    fill_exchange(scope, last, plan);
                                    self.token_fields(scope);
                                    if bound.page_read {
                                        self.pages.insert(
                                            step.id.value.clone(),
                                            (
                                                last.request.url.clone(),
                                                Arc::clone(&last.response.body),
                                            ),
                                        );
                                    }
                                }
                                report.exchanges = hops;
                                report.outcome = Outcome::Passed;
                                // Taken out while the checks add to the report.
                                let exchanges = std::mem::take(&mut report.exchanges);
                                if let (Some(description), Some(last)) =
                                    (description, exchanges.last())
                                {
                                    self.openapi_checks(
                                        &description,
                                        operation,
                                        last,
                                        scope,
                                        &mut report,
                                        step,
                                    );
                                }
                                report.exchanges = exchanges;
                            }
                        }
                    }
                }
            }
        }
        let mut success = report.outcome == Outcome::Passed;
        // Criteria read the response: they are evaluated whenever there is one, and for a step
        // that ran a workflow.
        let answered = !report.exchanges.is_empty() && report.outcome != Outcome::Error;
        if answered || matches!(bound.call, Call::Workflow(_) | Call::External { .. }) {
            for criterion in &bound.criteria {
                match criterion.compiled.eval(scope) {
                    Ok(held) => {
                        report.checks.push(CheckResult {
                            what: criterion.text.clone(),
                            passed: held,
                        });
                        if !held {
                            success = false;
                            fail(
                                &mut report,
                                format!("success criterion `{}` does not hold", criterion.text),
                                criterion.span,
                                "false",
                            );
                        }
                    }
                    Err(error) => {
                        success = false;
                        fail(
                            &mut report,
                            format!(
                                "cannot evaluate success criterion `{}`: {error}",
                                criterion.text
                            ),
                            criterion.span,
                            "here",
                        );
                    }
                }
            }
        }
        if !success {
            // A failed step sets no output, but what it would have captured as a secret is
            // still masked: its response is printed with the failure.
            self.mask_unset(bound, &report, scope);
        }
        if success {
            let mut values = serde_json::Map::new();
            // The exchange is copied out of the report the captures are added to, only when
            // there are captures.
            let last = if bound.extract.is_empty() {
                None
            } else {
                report.exchanges.last().cloned()
            };
            if let Some(last) = last {
                for (capture, span) in &bound.extract {
                    match capture.read(&last, self.jar) {
                        Ok(value) => {
                            if capture.secret {
                                self.secret_value(&value);
                            }
                            report.captures.push(Capture {
                                name: capture.name.clone(),
                                value: value.clone(),
                                secret: capture.secret,
                            });
                            values.insert(capture.name.clone(), value);
                        }
                        Err(message) => {
                            success = false;
                            fail(
                                &mut report,
                                format!("cannot capture `{}`: {message}", capture.name),
                                *span,
                                "nothing to capture",
                            );
                        }
                    }
                }
            }
            // Outputs may read what `extract` captured: the step's values are set first and
            // completed in place.
            scope.steps.insert(step.id.value.clone(), values);
            for (name, expression, span) in &bound.outputs {
                match eval_value(expression, scope) {
                    Ok(value) => {
                        let secret = apiflow::names::is_secret_name(name);
                        if secret {
                            self.secret_value(&value);
                        }
                        report.captures.push(Capture {
                            name: name.clone(),
                            value: value.clone(),
                            secret,
                        });
                        if let Some(values) = scope.steps.get_mut(&step.id.value) {
                            values.insert(name.clone(), value);
                        }
                    }
                    // A value the response does not hold leaves the output unset: what reads it
                    // later fails there, naming it.
                    Err(expr::EvalError::Missing(_)) => {}
                    Err(error) => {
                        success = false;
                        fail(
                            &mut report,
                            format!("cannot compute output `{name}`: {error}"),
                            *span,
                            "here",
                        );
                    }
                }
            }
        }
        if !success && report.outcome == Outcome::Passed {
            report.outcome = Outcome::Failed;
        }
        report.duration = started.elapsed();
        StepRun {
            report,
            success,
            retry_after_header,
        }
    }

    fn openapi_checks(
        &self,
        description: &Description,
        operation: &apiflow::openapi::Operation,
        exchange: &Exchange,
        scope: &Scope,
        report: &mut StepReport,
        step: &crate::model::Step,
    ) {
        if self.checks == OpenApiChecks::Off {
            return;
        }
        let response = &exchange.response;
        let content_type = response
            .headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        // The body is parsed once, for the schema and for the criteria and outputs after it.
        let received = match scope.response.as_ref().and_then(|m| m.body.as_ref()) {
            Some(expr::Body::Received(received)) => received,
            _ => &crate::body::Received::new(Arc::clone(&response.body)),
        };
        let problems = operation.check_response_with(
            description,
            response.status.as_u16(),
            content_type,
            response.body.is_empty(),
            || received.whole(),
        );
        let name = crate::bind::operation_name(operation);
        if self.checks == OpenApiChecks::Error {
            report.checks.push(CheckResult {
                what: ["response as operation `", &name, "` declares"].concat(),
                passed: problems.is_empty(),
            });
        }
        if problems.is_empty() {
            return;
        }
        let span = match &step.target {
            crate::model::Target::OperationId(id) | crate::model::Target::OperationPath(id) => {
                id.span
            }
            _ => step.id.span,
        };
        let start = |title: String| {
            let diagnostic = match self.checks {
                OpenApiChecks::Warn => Diagnostic::warning(title),
                _ => Diagnostic::error(title),
            };
            diagnostic
                .at(
                    &self.plan.document.source,
                    span,
                    "the response differs from this operation",
                )
                .in_step(Some(&step.id))
        };
        let mut found = Vec::new();
        if problems[0].instance_pointer.is_some() {
            let mut diagnostic = start(format!(
                "the body does not match the response schema of `{name}`"
            ));
            for problem in &problems {
                diagnostic = diagnostic.note(match &problem.schema_pointer {
                    Some(schema) => format!(
                        "{} (schema: {}#{schema})",
                        problem.message, description.source.name
                    ),
                    None => problem.message.clone(),
                });
            }
            found.push(diagnostic);
        } else {
            found.extend(problems.into_iter().map(|p| start(p.message)));
        }
        if self.checks == OpenApiChecks::Warn {
            report.warnings.extend(found);
        } else {
            report.outcome = Outcome::Failed;
            report.failures.extend(found);
        }
    }

    /// Masks the values a failed step's secret outputs and captures would have had.
    fn mask_unset(&mut self, bound: &BoundStep, report: &StepReport, scope: &Scope) {
        if let Some(last) = report.exchanges.last() {
            for (capture, _) in bound.extract.iter().filter(|(c, _)| c.secret) {
                if let Ok(value) = capture.read(last, self.jar) {
                    self.secret_value(&value);
                }
            }
        }
        for (name, value, _) in &bound.outputs {
            if apiflow::names::is_secret_name(name)
                && let Ok(value) = eval_value(value, scope)
            {
                self.secret_value(&value);
            }
        }
    }

    /// Masks the tokens of an OAuth token response (RFC 6749 §5.1) whatever the step does with
    /// them: `access_token`, `refresh_token` and OpenID Connect's `id_token`.
    fn token_fields(&mut self, scope: &Scope) {
        let Some(Message {
            body: Some(expr::Body::Received(received)),
            ..
        }) = &scope.response
        else {
            return;
        };
        let tokens = received.token_fields();
        for token in tokens {
            self.secret(&token);
        }
    }

    /// Builds the request of an operation step.
    fn request(
        &mut self,
        bound: &BoundStep,
        api: usize,
        operation: &apiflow::openapi::Operation,
        scope: &mut Scope,
    ) -> Result<Outgoing, (String, Span)> {
        let plan = self.plan;
        let source_name = &plan.document.source_descriptions[api].name.value;
        let base: Cow<'_, str> = match plan.servers.iter().rev().find(|(n, _)| n == source_name) {
            Some((_, url)) => Cow::Borrowed(url),
            None => match operation.servers.first() {
                Some(server) => Cow::Owned(server.resolve()),
                None => Cow::Borrowed("/"),
            },
        };
        let span = plan.document.source_descriptions[api].url.span;
        if !base.starts_with("http://") && !base.starts_with("https://") {
            return Err((
                format!(
                    "the server of operation `{}` is `{base}`, which is not an absolute URL",
                    crate::bind::operation_name(operation)
                ),
                span,
            ));
        }
        // The URL is written whole in one string: the server, then the path, whose
        // placeholders are replaced in place.
        let base = base.trim_end_matches('/');
        let mut url_text = String::with_capacity(base.len() + operation.path.len() + 16);
        url_text.push_str(base);
        let path_start = url_text.len();
        url_text.push_str(&operation.path);
        let mut query: Vec<String> = Vec::new();
        let mut headers = HeaderMap::new();
        let mut cookies: Vec<String> = Vec::new();
        let mut request_message = Message::default();
        for parameter in &bound.parameters {
            let value = eval_value(&parameter.value, scope).map_err(|e| {
                (
                    format!("cannot compute parameter `{}`: {e}", parameter.name),
                    parameter.span,
                )
            })?;
            let spec = parameter.spec.and_then(|i| operation.parameters.get(i));
            if spec.is_some_and(|s| s.location == Location::Header)
                && apiflow::names::is_secret_name(&parameter.name)
            {
                self.secret_value(&value);
            }
            // The value as text, for expressions that read the request and for a parameter
            // the operation does not declare.
            let text = || as_text(&value);
            let read = match parameter.location.filter(|_| plan.reads_request) {
                Some(ParameterIn::Path) => Some(&mut request_message.path),
                Some(ParameterIn::Query) => Some(&mut request_message.query),
                Some(ParameterIn::Header) => Some(&mut request_message.headers),
                _ => None,
            };
            if let Some(read) = read {
                read.push((parameter.name.clone(), text()));
            }
            let serialized = match spec {
                Some(spec) => apiflow::openapi::serialize(spec, &value).map_err(|e| {
                    (
                        format!("cannot write parameter `{}`: {e}", parameter.name),
                        parameter.span,
                    )
                })?,
                None => match parameter.location {
                    Some(ParameterIn::Cookie) => {
                        Serialized::Cookie(vec![format!("{}={}", parameter.name, text())])
                    }
                    _ => Serialized::Header(text()),
                },
            };
            match serialized {
                Serialized::Path(piece) => {
                    replace_placeholder(&mut url_text, path_start, &parameter.name, &piece);
                }
                Serialized::Query(pieces) => query.extend(pieces),
                Serialized::Querystring(text) => query.push(text),
                Serialized::Header(value) => {
                    let name = HeaderName::from_bytes(parameter.name.as_bytes()).map_err(|_| {
                        (
                            format!("`{}` is not a valid header name", parameter.name),
                            parameter.span,
                        )
                    })?;
                    let value = HeaderValue::from_str(&value).map_err(|_| {
                        (
                            format!(
                                "the value of header `{}` holds characters a header cannot",
                                parameter.name
                            ),
                            parameter.span,
                        )
                    })?;
                    headers.append(name, value);
                }
                Serialized::Cookie(pieces) => cookies.extend(pieces),
            }
        }
        if !query.is_empty() {
            url_text.push(if url_text.contains('?') { '&' } else { '?' });
            url_text.push_str(&query.join("&"));
        }
        let mut url = self.urls.parse(&url_text).map_err(|e| {
            (
                format!("the request URL `{url_text}` is not valid: {e}"),
                plan.document.source_descriptions[api].url.span,
            )
        })?;
        for security in &bound.security {
            match security {
                BoundSecurity::Basic { username, password } => {
                    let user = eval_value(username, scope).map(into_text).map_err(|e| {
                        (
                            format!("cannot compute the user name: {e}"),
                            Span::default(),
                        )
                    })?;
                    let pass = eval_value(password, scope).map(into_text).map_err(|e| {
                        (format!("cannot compute the password: {e}"), Span::default())
                    })?;
                    self.secret(&pass);
                    let token = base64::Engine::encode(
                        &base64::engine::general_purpose::STANDARD,
                        format!("{user}:{pass}"),
                    );
                    self.secret(&token);
                    if let Ok(value) = HeaderValue::from_str(&format!("Basic {token}")) {
                        headers.insert(reqwest::header::AUTHORIZATION, value);
                    }
                }
                BoundSecurity::Bearer(token) => {
                    let token = eval_value(token, scope)
                        .map(into_text)
                        .map_err(|e| (format!("cannot compute the token: {e}"), Span::default()))?;
                    self.secret(&token);
                    let mut credentials = String::with_capacity(7 + token.len());
                    credentials.push_str("Bearer ");
                    credentials.push_str(&token);
                    if let Ok(value) = HeaderValue::from_str(&credentials) {
                        headers.insert(reqwest::header::AUTHORIZATION, value);
                    }
                }
                BoundSecurity::ApiKey {
                    location,
                    name,
                    value,
                } => {
                    let key = eval_value(value, scope).map(into_text).map_err(|e| {
                        (format!("cannot compute the API key: {e}"), Span::default())
                    })?;
                    self.secret(&key);
                    match location {
                        ParameterIn::Cookie => cookies.push(format!("{name}={key}")),
                        ParameterIn::Query => {
                            // Appended through the URL's own encoder.
                            url.query_pairs_mut().append_pair(name, &key);
                        }
                        _ => {
                            if let (Ok(n), Ok(v)) = (
                                HeaderName::from_bytes(name.as_bytes()),
                                HeaderValue::from_str(&key),
                            ) {
                                headers.insert(n, v);
                            }
                        }
                    }
                }
            }
        }
        if !cookies.is_empty()
            && let Ok(value) = HeaderValue::from_str(&cookies.join("; "))
        {
            headers.insert(reqwest::header::COOKIE, value);
        }
        let mut body = match &bound.body {
            Some(body) => Some(self.body(body, scope, &mut headers, &mut request_message)?),
            None => None,
        };
        let mut method = reqwest::Method::from_bytes(operation.method.as_bytes())
            .unwrap_or(reqwest::Method::GET);
        if let Some(form) = &bound.form_from {
            let Some((page_url, page)) = self.pages.get(&form.step) else {
                return Err((
                    format!("`x-apiflow.form_from`: step `{}` got no page", form.step),
                    Span::default(),
                ));
            };
            let text = String::from_utf8_lossy(page);
            let mut found = apiflow::query::page::find_form(page_url, &text, &form.selector)
                .map_err(|message| {
                    (format!("`x-apiflow.form_from`: {message}"), Span::default())
                })?;
            for (name, value) in &form.fields {
                let value = value.render(scope).map_err(|e| {
                    (
                        format!("cannot compute form field `{name}`: {e}"),
                        Span::default(),
                    )
                })?;
                if apiflow::names::is_secret_name(name) {
                    self.secret(&value);
                }
                apiflow::query::page::set_field(&mut found.fields, name, value);
            }
            let encoded = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&found.fields)
                .finish();
            method = found.method;
            if method == reqwest::Method::GET {
                let mut action = found.action;
                action.set_query(Some(&encoded));
                url = action;
                body = None;
            } else {
                url = found.action;
                headers.insert(
                    reqwest::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/x-www-form-urlencoded"),
                );
                body = Some(HttpBody::Bytes(encoded.into_bytes().into()));
            }
            request_message.body = Some(expr::Body::Json(serde_json::Value::Object(
                found
                    .fields
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                    .collect(),
            )));
        }
        if plan.reads_request {
            scope.url = Some(url.as_str().to_owned());
            scope.method = Some(method.as_str().to_owned());
            scope.request = Some(request_message);
        }
        Ok(Outgoing {
            method,
            url,
            headers,
            body,
            timeout: bound.timeout.unwrap_or(apiflow::runner::DEFAULT_TIMEOUT),
            transport: Transport::default(),
        })
    }

    fn body(
        &mut self,
        body: &BoundBody,
        scope: &Scope,
        headers: &mut HeaderMap,
        message: &mut Message,
    ) -> Result<HttpBody, (String, Span)> {
        let mut value = match &body.payload {
            Some(payload) => eval_value(payload, scope).map_err(|e| {
                (
                    format!("cannot compute the request body: {e}"),
                    Span::default(),
                )
            })?,
            None => serde_json::Value::Null,
        };
        for (target, selector, replacement, span) in &body.replacements {
            let new = eval_value(replacement, scope).map_err(|e| {
                (
                    format!("cannot compute the replacement of `{target}`: {e}"),
                    *span,
                )
            })?;
            match selector {
                Selector::JsonPath => {
                    let path = apiflow::query::jsonpath::JsonPath::parse(target).map_err(|e| {
                        (format!("invalid JSONPath `{target}`: {}", e.message), *span)
                    })?;
                    expr::replace_jsonpath(&mut value, &path, &new)
                        .map_err(|e| (format!("cannot replace `{target}`: {e}"), *span))?;
                }
                _ => expr::replace_pointer(&mut value, target, new)
                    .map_err(|e| (format!("cannot replace `{target}`: {e}"), *span))?,
            }
        }
        let content_type = body
            .content_type
            .clone()
            .unwrap_or_else(|| "application/json".to_owned());
        let essence = crate::bind::essence(&content_type);
        let bytes: Vec<u8> = if essence == "application/x-www-form-urlencoded" {
            match &value {
                serde_json::Value::Object(map) => {
                    let mut form = url::form_urlencoded::Serializer::new(String::new());
                    for (k, v) in map {
                        let text = as_text(v);
                        if apiflow::names::is_secret_name(k) {
                            self.secret(&text);
                        }
                        form.append_pair(k, &text);
                    }
                    form.finish().into_bytes()
                }
                other => as_text(other).into_bytes(),
            }
        } else if essence == "application/json" || essence.ends_with("+json") {
            serde_json::to_vec(&value).unwrap_or_default()
        } else {
            as_text(&value).into_bytes()
        };
        message.body = Some(expr::Body::Json(value));
        if let Ok(v) = HeaderValue::from_str(&content_type) {
            headers.insert(reqwest::header::CONTENT_TYPE, v);
        }
        Ok(HttpBody::Bytes(bytes.into()))
    }
}

/// Puts the steps of a workflow a step ran under that step, which passes when it passed.
fn absorb(report: &mut StepReport, inner: RunReport) -> bool {
    let passed = inner.exit_code().passed();
    report.children = inner.steps;
    report.outcome = if passed {
        Outcome::Passed
    } else {
        Outcome::Failed
    };
    passed
}

/// Evaluates the parameters of a step that runs a workflow: the inputs it gives that workflow.
fn given_inputs(
    bound: &BoundStep,
    scope: &Scope,
) -> Result<serde_json::Map<String, serde_json::Value>, (String, Span)> {
    let mut given = serde_json::Map::new();
    for parameter in &bound.parameters {
        let value = eval_value(&parameter.value, scope).map_err(|error| {
            (
                format!("cannot compute parameter `{}`: {error}", parameter.name),
                parameter.span,
            )
        })?;
        given.insert(parameter.name.clone(), value);
    }
    Ok(given)
}

/// Evaluates a payload or parameter value; a string that is one `{$…}` and nothing else keeps
/// the value's type, so a JSON payload written as text can carry objects.
fn eval_value(value: &expr::Value, scope: &Scope) -> Result<serde_json::Value, expr::EvalError> {
    match value {
        expr::Value::Text(expr::Text::Parts(parts)) if parts.len() == 1 => match &parts[0] {
            expr::Part::Expr(expression) => expression.eval(scope),
            expr::Part::Literal(_) => value.eval(scope),
        },
        expr::Value::Array(items) => items
            .iter()
            .map(|i| eval_value(i, scope))
            .collect::<Result<Vec<_>, _>>()
            .map(serde_json::Value::Array),
        expr::Value::Object(members) => {
            let mut map = serde_json::Map::new();
            for (k, v) in members {
                match eval_value(v, scope) {
                    Ok(value) => {
                        map.insert(k.clone(), value);
                    }
                    // A member that is one expression reading nothing is left out: a payload
                    // may name values of which only some exist on the path the run took (a
                    // customer enrolled before, or one a skipped step would have created).
                    Err(expr::EvalError::Missing(_)) if is_one_expression(v) => {}
                    Err(error) => return Err(error),
                }
            }
            Ok(serde_json::Value::Object(map))
        }
        _ => value.eval(scope),
    }
}

/// Replaces each `{name}` of an OpenAPI path template with `piece`, in place.
fn replace_placeholder(path: &mut String, start: usize, name: &str, piece: &str) {
    let mut from = start;
    while let Some(open) = path[from..].find('{').map(|i| from + i) {
        let end = open + 1 + name.len();
        if path[open + 1..].starts_with(name) && path[end..].starts_with('}') {
            path.replace_range(open..=end, piece);
            from = open + piece.len();
        } else {
            from = open + 1;
        }
    }
}

/// Tells whether a value is one runtime expression (`$…` or `{$…}`) and nothing else.
fn is_one_expression(value: &expr::Value) -> bool {
    match value {
        expr::Value::Text(expr::Text::Whole(_)) => true,
        expr::Value::Text(expr::Text::Parts(parts)) => {
            matches!(parts.as_slice(), [expr::Part::Expr(_)])
        }
        _ => false,
    }
}

/// Writes a value as text for a request: a string as it is, `null` as nothing, anything else
/// as JSON.
fn as_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Writes a value as [`as_text`] does, keeping a string without copying it.
fn into_text(value: serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s,
        other => as_text(&other),
    }
}

/// Puts what was sent and received into the scope the criteria and outputs read; the headers
/// only when an expression of the document may read one, the URL only when one may read the
/// request.
fn fill_exchange(scope: &mut Scope, exchange: &Exchange, plan: &Plan) {
    let headers_read = plan.reads_headers;
    let response = &exchange.response;
    scope.status = Some(response.status.as_u16());
    if plan.reads_request {
        scope.url = Some(exchange.request.url.as_str().to_owned());
    }
    let pairs = |headers: &reqwest::header::HeaderMap| -> Vec<(String, String)> {
        if !headers_read {
            return Vec::new();
        }
        headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect()
    };
    let headers = pairs(&response.headers);
    // Parsed only as far as the criteria and outputs read it.
    let body = (!response.body.is_empty())
        .then(|| expr::Body::Received(crate::body::Received::new(Arc::clone(&response.body))));
    scope.response = Some(Message {
        headers,
        query: Vec::new(),
        path: Vec::new(),
        body,
    });
    if let Some(request) = scope.request.as_mut() {
        request.headers = pairs(&exchange.request.headers);
    }
}

/// Reads `Retry-After` (seconds, or an HTTP date) of a response.
fn retry_after(exchange: &Exchange) -> Option<Duration> {
    let value = exchange
        .response
        .headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

fn send_failure(
    error: &SendError,
    source: &Arc<apiflow::span::Source>,
    step: &crate::model::Step,
) -> Diagnostic {
    Diagnostic::error(format!("the request could not be completed: {error}"))
        .at(source, step.id.span, "sent here")
        .in_step(Some(&step.id))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{as_text, into_text, replace_placeholder};

    #[test]
    fn a_value_taken_as_text_is_written_as_one_borrowed() {
        for value in [
            json!("a b"),
            json!(null),
            json!(7),
            json!(2.5),
            json!(true),
            json!([1, "x"]),
            json!({"k": null}),
        ] {
            assert_eq!(into_text(value.clone()), as_text(&value), "{value}");
        }
        assert_eq!(into_text(json!(null)), "");
    }

    #[test]
    fn path_placeholders_are_replaced_by_name_only() {
        let cases = [
            ("/items/{id}", "id", "7", "/items/7"),
            ("/items/{id}/tags/{id}", "id", "7", "/items/7/tags/7"),
            ("/items/{idx}/{id}", "id", "7", "/items/{idx}/7"),
            ("/a/{id}", "id", "{id}", "/a/{id}"),
            ("/a/{i", "i", "x", "/a/{i"),
            ("/{petId}", "petId", "", "/"),
            ("/é/{id}", "id", "ü", "/é/ü"),
        ];
        for (template, name, piece, expected) in cases {
            let mut path = template.to_owned();
            replace_placeholder(&mut path, 0, name, piece);
            assert_eq!(path, expected, "{template} with {name} = {piece}");
        }
        // Only the path is read: what comes before it (the server) is left as it is.
        let mut url = "http://h/{id}/items/{id}".to_owned();
        replace_placeholder(&mut url, "http://h/{id}".len(), "id", "7");
        assert_eq!(url, "http://h/{id}/items/7");
    }
}
