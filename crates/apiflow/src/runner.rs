//! The runner: runs a validated plan step by step and emits events; it never prints.
//!
//! Inside a step the order is fixed: condition → delay → render the request → send (with
//! redirects and retries) → `retry.until` → check the status → capture → check expectations.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use minijinja::Value as JinjaValue;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use url::Url;

use crate::diagnostic::Diagnostic;
use crate::event::{
    Capture, CheckResult, Event, INTERRUPTED, Outcome, Reporter, RunReport, StepReport,
};
use crate::http::{Client, DEFAULT_MAX_REDIRECTS, Exchange, Jar, Outgoing, SendError};
use crate::model::{
    Action, Auth, Body, Extract, ExtractKind, FormFrom, RegexSource, Request, Step, TemplateId,
    Text, Uses, Value,
};
use crate::scope::{ResponseView, Variables};
use crate::secret::Masker;
use crate::span::{Span, Spanned};
use crate::urls::UrlParser;
use crate::validate::{JsonRead, Plan};

/// Default time allowed for one request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Run-wide settings.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// Time allowed for the whole run; `finally` steps still run after it.
    pub run_timeout: Option<Duration>,
    /// Set from outside (Ctrl-C) to stop sending; `finally` steps still run.
    pub interrupt: Arc<AtomicBool>,
    /// Wakes waits (delays, retries) when the run is interrupted.
    pub wake: Arc<tokio::sync::Notify>,
    /// Drops the requests and responses of passed steps once reporters have seen them, when
    /// nothing reads the finished report's exchanges (no file report): memory then stays flat
    /// however long the run.
    pub forget_passed_exchanges: bool,
}

/// Runs a plan with resolved inputs and reports every step.
pub async fn run(
    plan: &Plan,
    client: &Client,
    inputs: Variables,
    settings: &Settings,
    reporter: &mut dyn Reporter,
) -> Result<RunReport, Vec<Diagnostic>> {
    let workflow = &plan.workflow;
    let started = Instant::now();
    let started_at = std::time::SystemTime::now();
    let input_values: Vec<Capture> = workflow
        .inputs
        .iter()
        .filter_map(|input| {
            let value = inputs.get(&input.name.value)?;
            Some(Capture {
                name: input.name.value.clone(),
                value: serde_json::to_value(value).unwrap_or(serde_json::Value::Null),
                secret: inputs.is_secret(&input.name.value),
            })
        })
        .collect();
    reporter.event(&Event::Started {
        name: &workflow.name.value,
        file: &workflow.source.name,
        steps: workflow.steps.len() + workflow.finally.len(),
    });
    let jar = Jar::default();
    let mut runner = Runner {
        plan,
        client,
        settings,
        jar: &jar,
        variables: Arc::new(inputs),
        masker: Masker::new(),
        reporter,
        deadline: settings.run_timeout.map(|t| started + t),
        depth: 0,
        pages: HashMap::new(),
        tainted: None,
        urls: UrlParser::default(),
    };
    let names: Vec<String> = runner.variables.names().map(str::to_owned).collect();
    for name in names {
        if runner.variables.is_secret(&name)
            && let Some(value) = runner.variables.get(&name).cloned()
        {
            runner.secret_value(&value);
        }
    }
    // Nothing is printed yet, so the caller prints these errors: mask them here.
    runner.compute_vars().map_err(|errors| {
        errors
            .into_iter()
            .map(|d| d.masked(&runner.masker))
            .collect::<Vec<_>>()
    })?;
    let (steps, stopped) = runner.run_steps().await;
    let stopped = if settings.interrupt.load(Ordering::SeqCst) {
        Some(INTERRUPTED.to_owned())
    } else {
        stopped.filter(|r| r.starts_with("the run took longer"))
    };
    let report = RunReport {
        name: workflow.name.value.clone(),
        file: workflow.source.name.clone(),
        inputs: input_values,
        started_at,
        steps,
        duration: started.elapsed(),
        stopped,
    };
    runner.reporter.event(&Event::Finished(&report));
    Ok(report)
}

/// Drops the exchanges of a passed step and of the passed steps nested in it.
fn forget_exchanges(report: &mut StepReport) {
    if report.outcome == Outcome::Passed {
        report.exchanges = Vec::new();
    }
    for child in &mut report.children {
        forget_exchanges(child);
    }
}

fn skipped(step: &Step, finally: bool, reason: String) -> StepReport {
    StepReport {
        name: step.name.value.clone(),
        finally,
        outcome: Outcome::Skipped,
        reason: Some(reason),
        exchanges: Vec::new(),
        attempts: 0,
        failures: Vec::new(),
        captures: Vec::new(),
        checks: Vec::new(),
        children: Vec::new(),
        depth: 0,
        duration: Duration::ZERO,
    }
}

/// The last HTML page a step received, for `form_from`.
struct Page {
    url: Url,
    body: Arc<Vec<u8>>,
}

struct Runner<'a> {
    plan: &'a Plan,
    client: &'a Client,
    settings: &'a Settings,
    /// One jar per top-level run, shared with the workflows it `uses`.
    jar: &'a Jar,
    variables: Arc<Variables>,
    masker: Masker,
    reporter: &'a mut dyn Reporter,
    deadline: Option<Instant>,
    depth: u32,
    pages: HashMap<String, Page>,
    /// The last rendered text `taint` checked: a bearer token rendered the same on every step
    /// needs checking once.
    tainted: Option<String>,
    urls: UrlParser,
}

/// What one attempt produced.
struct Attempt {
    exchanges: Vec<Exchange>,
    failures: Vec<Diagnostic>,
    captures: Vec<(Capture, JinjaValue)>,
    checks: Vec<CheckResult>,
    transport: Option<SendError>,
    status: Option<u16>,
    until_failed: bool,
}

impl Attempt {
    fn failed(failure: Diagnostic) -> Attempt {
        Attempt {
            exchanges: Vec::new(),
            failures: vec![failure],
            captures: Vec::new(),
            checks: Vec::new(),
            transport: None,
            status: None,
            until_failed: false,
        }
    }
}

impl Runner<'_> {
    fn stop_reason(&self) -> Option<String> {
        if self.settings.interrupt.load(Ordering::SeqCst) {
            return Some(INTERRUPTED.to_owned());
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            let limit = self.settings.run_timeout.unwrap_or_default();
            return Some(format!(
                "the run took longer than `--timeout {}`",
                crate::duration::format_duration(limit)
            ));
        }
        None
    }

    fn ctx(&self) -> JinjaValue {
        JinjaValue::from_dyn_object(Arc::clone(&self.variables))
    }

    /// Learns a secret value (and each string inside a structured one).
    fn secret_value(&mut self, value: &JinjaValue) {
        if let Some(text) = value.as_str() {
            self.secret_text(text);
        } else if let Ok(json) = serde_json::to_value(value) {
            self.secret_json(&json);
        }
    }

    fn secret_json(&mut self, value: &serde_json::Value) {
        match value {
            serde_json::Value::String(s) => self.secret_text(s),
            serde_json::Value::Number(n) => self.secret_text(&n.to_string()),
            serde_json::Value::Array(items) => items.iter().for_each(|v| self.secret_json(v)),
            serde_json::Value::Object(map) => map.values().for_each(|v| self.secret_json(v)),
            serde_json::Value::Bool(_) | serde_json::Value::Null => {}
        }
    }

    fn secret_text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if self.masker.add(text) {
            self.reporter.event(&Event::Secret(text));
        }
    }

    /// Tells whether a template reads a secret variable.
    fn reads_secret(&self, id: TemplateId) -> bool {
        self.plan
            .templates
            .dotted(id)
            .iter()
            .any(|path| self.variables.is_secret_path(path))
    }

    /// A value computed from a secret that no longer contains the secret verbatim (encoded,
    /// hashed, concatenated and encoded…) is itself a secret.
    ///
    /// Checking the same text again cannot change anything: the secret it shows is still
    /// known, or the text itself was learned as one.
    fn taint(&mut self, id: TemplateId, rendered: &str) {
        if !self.reads_secret(id) || self.tainted.as_deref() == Some(rendered) {
            return;
        }
        if self.masker.mask(rendered) == rendered {
            self.secret_text(rendered);
        }
        self.tainted = Some(rendered.to_owned());
    }

    fn render_error(
        &self,
        id: TemplateId,
        error: crate::template::TemplateError,
        step: &Step,
    ) -> Diagnostic {
        let workflow = &self.plan.workflow;
        let source = &workflow.templates[id.0 as usize];
        Diagnostic::error(format!("cannot render a template: {}", error.message))
            .at(&workflow.source, source.span_of(error.range), "here")
            .in_step(Some(&step.name))
    }

    fn text(&mut self, text: &Text, step: &Step) -> Result<String, Diagnostic> {
        match text {
            Text::Literal(s) => Ok(s.clone()),
            Text::Template(id) => {
                let rendered = self
                    .plan
                    .templates
                    .render(*id, &self.ctx())
                    .map_err(|e| self.render_error(*id, e, step))?;
                self.taint(*id, &rendered);
                Ok(rendered)
            }
        }
    }

    fn value(
        &mut self,
        value: &Value,
        ctx: &JinjaValue,
        step: Option<&Step>,
    ) -> Result<serde_json::Value, Diagnostic> {
        match value {
            Value::Literal(json) => Ok(json.clone()),
            Value::Template(id) => {
                let evaluated = self.plan.templates.eval(*id, ctx).map_err(|e| {
                    let workflow = &self.plan.workflow;
                    let source = &workflow.templates[id.0 as usize];
                    Diagnostic::error(format!("cannot render a template: {}", e.message))
                        .at(&workflow.source, source.span_of(e.range), "here")
                        .in_step(step.map(|s| &s.name))
                })?;
                if let Some(text) = evaluated.as_str() {
                    let text = text.to_owned();
                    self.taint(*id, &text);
                }
                serde_json::to_value(&evaluated).map_err(|e| {
                    Diagnostic::error(format!("cannot turn a template's value into JSON: {e}"))
                        .in_step(step.map(|s| &s.name))
                })
            }
            Value::List(items) => items.iter().map(|v| self.value(v, ctx, step)).collect(),
            Value::Map(entries) => {
                let mut map = serde_json::Map::with_capacity(entries.len());
                for (key, v) in entries {
                    map.insert(key.clone(), self.value(v, ctx, step)?);
                }
                Ok(serde_json::Value::Object(map))
            }
        }
    }

    fn compute_vars(&mut self) -> Result<(), Vec<Diagnostic>> {
        let workflow = &self.plan.workflow;
        for var in &workflow.vars {
            let ctx = self.ctx();
            let json = self.value(&var.value, &ctx, None).map_err(|d| vec![d])?;
            let secret = var.secret || value_reads_secret(self, &var.value);
            let value = JinjaValue::from(minijinja::value::Serde(&json));
            if secret {
                self.secret_json(&json);
            }
            Arc::make_mut(&mut self.variables).set(&var.name.value, value, secret);
        }
        Ok(())
    }

    /// Runs `steps` until one fails, then `finally`; returns the reports and why it stopped.
    async fn run_steps(&mut self) -> (Vec<StepReport>, Option<String>) {
        let workflow = &self.plan.workflow;
        let mut steps = Vec::with_capacity(workflow.steps.len() + workflow.finally.len());
        let mut stopped: Option<String> = None;
        for step in &workflow.steps {
            if stopped.is_none() {
                stopped = self.stop_reason();
            }
            if let Some(reason) = &stopped {
                let mut report = skipped(step, false, format!("not run: {reason}"));
                report.depth = self.depth;
                self.reporter.event(&Event::Step(&report));
                steps.push(report);
                continue;
            }
            let mut report = self.step(step, false).await;
            let failed = matches!(report.outcome, Outcome::Failed | Outcome::Error);
            self.reporter.event(&Event::Step(&report));
            if self.settings.forget_passed_exchanges {
                forget_exchanges(&mut report);
            }
            steps.push(report);
            if failed {
                // A step cut short by Ctrl-C failed because of it: say so on the steps it skips.
                stopped = self
                    .stop_reason()
                    .or_else(|| Some("an earlier step failed".into()));
            }
        }
        if !workflow.finally.is_empty() {
            if self.depth == 0 {
                self.reporter.event(&Event::Finally);
            }
            // Clean-up runs after a timeout too.
            let deadline = self.deadline.take();
            for step in &workflow.finally {
                let report = self.step(step, true).await;
                self.reporter.event(&Event::Step(&report));
                steps.push(report);
            }
            self.deadline = deadline;
        }
        (steps, stopped)
    }

    async fn step(&mut self, step: &Step, finally: bool) -> StepReport {
        let started = Instant::now();
        self.reporter.event(&Event::StepStarted {
            name: &step.name.value,
            depth: self.depth,
            nested: step.for_each.is_some() || matches!(step.action, Action::Uses(_)),
        });
        if let Some(condition) = step.condition {
            match self.plan.templates.eval(condition, &self.ctx()) {
                Ok(value) if !value.is_true() => {
                    let text = &self.plan.workflow.templates[condition.0 as usize].text;
                    let mut report = skipped(step, finally, format!("`if: {text}` is false"));
                    report.depth = self.depth;
                    return report;
                }
                Ok(_) => {}
                Err(error) => {
                    let mut report = skipped(step, finally, String::new());
                    report.outcome = Outcome::Failed;
                    report.reason = None;
                    report.depth = self.depth;
                    report
                        .failures
                        .push(self.render_error(condition, error, step));
                    return report;
                }
            }
        }
        let mut report = match step.for_each {
            Some(list) => self.each(step, finally, list).await,
            None => self.single(step, finally).await,
        };
        report.depth = self.depth;
        report.duration = started.elapsed();
        report
    }

    /// Runs a `for_each` step once per element; captures become lists.
    async fn each(&mut self, step: &Step, finally: bool, list: TemplateId) -> StepReport {
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
            if failed {
                report.outcome = child.outcome;
            }
            report.children.push(child);
            if failed {
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

    /// Runs one request step (with retries) or one `uses` step.
    async fn single(&mut self, step: &Step, finally: bool) -> StepReport {
        if let Some(delay) = step.delay {
            self.wait(delay).await;
        }
        let request = match &step.action {
            Action::Request(request) => request,
            Action::Uses(uses) => return self.uses(step, uses, finally).await,
        };
        let retry = step.retry.as_ref();
        let attempts_allowed = retry.map_or(1, |r| r.attempts);
        let mut wait = retry.map_or(Duration::ZERO, |r| r.delay);
        let mut attempts = 0;
        let attempt = loop {
            attempts += 1;
            let attempt = self
                .attempt(step, request, attempts == attempts_allowed, finally)
                .await;
            let again = retry.is_some_and(|r| match r.until {
                Some(_) => attempt.until_failed,
                None => attempt.transport.is_some() || attempt.status.is_some_and(|s| s >= 500),
            });
            if !again || attempts >= attempts_allowed || self.stop_reason().is_some() {
                break attempt;
            }
            self.reporter.event(&Event::Attempt {
                name: &step.name.value,
                number: attempts + 1,
                of: attempts_allowed,
            });
            self.wait(wait).await;
            let next = (wait.as_secs_f64() * retry.map_or(1.0, |r| r.backoff)).min(3600.0);
            wait = Duration::from_secs_f64(next);
        };
        let outcome = if attempt.transport.is_some() {
            Outcome::Error
        } else if attempt.failures.is_empty() {
            Outcome::Passed
        } else {
            Outcome::Failed
        };
        // Captures are kept even when a later check fails: clean-up steps may need them.
        let mut captures = Vec::with_capacity(attempt.captures.len());
        for (capture, value) in attempt.captures {
            Arc::make_mut(&mut self.variables).set(&capture.name, value, capture.secret);
            captures.push(capture);
        }
        StepReport {
            name: step.name.value.clone(),
            finally,
            outcome,
            reason: attempt.transport.as_ref().map(ToString::to_string),
            exchanges: attempt.exchanges,
            attempts,
            failures: attempt.failures,
            captures,
            checks: attempt.checks,
            children: Vec::new(),
            depth: self.depth,
            duration: Duration::ZERO,
        }
    }

    /// Runs another workflow as one step: its own variables, the same cookie jar and
    /// connection pool, its secrets kept secret; its outputs become this step's captures.
    fn uses<'s>(
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

    /// Waits, but wakes early when the run is interrupted.
    async fn wait(&self, duration: Duration) {
        if duration.is_zero() || self.settings.interrupt.load(Ordering::SeqCst) {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(duration) => {}
            () = self.settings.wake.notified() => {}
        }
    }

    /// Reads the form `form_from` names from an earlier step's page and applies `fields`.
    fn form(&mut self, step: &Step, form_from: &FormFrom) -> Result<crate::html::Form, Diagnostic> {
        let workflow = &self.plan.workflow;
        let Some(page) = self.pages.get(&form_from.step.value) else {
            return Err(Diagnostic::error(format!(
                "step `{}` has no HTML page to take a form from",
                form_from.step.value
            ))
            .at(&workflow.source, form_from.step.span, "no HTML response")
            .in_step(Some(&step.name))
            .help("`form_from.step` names an earlier step whose response is an HTML page"));
        };
        let body = String::from_utf8_lossy(&page.body);
        let mut form = crate::html::find_form(&page.url, &body, &form_from.selector.value)
            .map_err(|message| {
                Diagnostic::error(message)
                    .at(&workflow.source, form_from.selector.span, "matches no form")
                    .in_step(Some(&step.name))
                    .note(format!("the page: {}", page.url))
            })?;
        for (name, value) in &form_from.fields {
            let name = self.text(&name.value, step)?;
            let value = self.text(value, step)?;
            crate::html::set_field(&mut form.fields, &name, value);
        }
        Ok(form)
    }

    fn build(
        &mut self,
        step: &Step,
        request: &Request,
    ) -> Result<(Outgoing, bool, u32), Diagnostic> {
        let workflow = &self.plan.workflow;
        let form = match &request.form_from {
            Some(form_from) => Some(self.form(step, form_from)?),
            None => None,
        };
        let mut url_text = self.text(&request.url.value, step)?;
        if let (Some(form), true) = (&form, url_text.is_empty()) {
            url_text = form.action.to_string();
        }
        let mut url = self.urls.parse(&url_text).map_err(|e| {
            Diagnostic::error(format!("invalid URL `{url_text}`: {e}"))
                .at(&workflow.source, request.url.span, "rendered from here")
                .in_step(Some(&step.name))
                .help("a URL starts with `http://` or `https://`")
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(
                Diagnostic::error(format!("unsupported URL scheme `{}`", url.scheme()))
                    .at(&workflow.source, request.url.span, "rendered from here")
                    .in_step(Some(&step.name))
                    .help("apiflow sends `http` and `https` requests"),
            );
        }
        // A password written in the URL is sent as Basic auth: it and that credential are secrets.
        if let Some((user, Some(password))) = crate::http::url_credentials(&url) {
            self.secret_text(&password);
            self.secret_text(&crate::http::basic_credential(&user, &password));
        }
        // As written, too: a password whose bytes are not text cannot be decoded to be masked.
        if let Some(written) = url.password() {
            self.secret_text(written);
        }
        if !request.query.is_empty() {
            let mut pairs = Vec::with_capacity(request.query.len());
            for (name, value) in &request.query {
                pairs.push((name.value.clone(), self.text(value, step)?));
            }
            url.query_pairs_mut().extend_pairs(pairs);
        }
        let mut headers = HeaderMap::new();
        let defaults = &workflow.defaults;
        for (name, value) in defaults.headers.iter().chain(&request.headers) {
            let rendered = self.text(value, step)?;
            let header = header_name(name, step, &workflow.source)?;
            let value = HeaderValue::from_str(&rendered).map_err(|_| {
                Diagnostic::error(format!(
                    "the value of header `{}` cannot be sent",
                    name.value
                ))
                .at(&workflow.source, name.span, "this header")
                .in_step(Some(&step.name))
                .help("header values may not hold line breaks or control characters")
            })?;
            headers.insert(header, value);
        }
        match &request.auth {
            Some(Auth::Basic { username, password }) => {
                let user = self.text(username, step)?;
                let pass = self.text(password, step)?;
                let token = crate::http::basic_credential(&user, &pass);
                // A credential is always a secret, whatever the names of its parts.
                self.secret_text(&token);
                if !pass.is_empty() {
                    self.secret_text(&pass);
                }
                headers.insert(AUTHORIZATION, header_value(&format!("Basic {token}"))?);
            }
            Some(Auth::Bearer(token)) => {
                let token = self.text(token, step)?;
                self.secret_text(&token);
                headers.insert(AUTHORIZATION, header_value(&format!("Bearer {token}"))?);
            }
            None => {}
        }
        if let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
            let credential = value.split_once(' ').map_or(value, |(_, c)| c).to_owned();
            self.secret_text(&credential);
        }
        let body = match &request.body {
            None if form.as_ref().is_some_and(|f| f.method != Method::GET) => {
                let mut encoder = url::form_urlencoded::Serializer::new(String::new());
                for (name, value) in form.as_ref().map_or(&[][..], |f| &f.fields[..]) {
                    encoder.append_pair(name, value);
                }
                headers
                    .entry(CONTENT_TYPE)
                    .or_insert(HeaderValue::from_static(
                        "application/x-www-form-urlencoded",
                    ));
                Some(encoder.finish().into_bytes())
            }
            None => None,
            Some(Body::Json(value)) => {
                let ctx = self.ctx();
                let json = self.value(value, &ctx, Some(step))?;
                headers
                    .entry(CONTENT_TYPE)
                    .or_insert(HeaderValue::from_static("application/json"));
                Some(serde_json::to_vec(&json).unwrap_or_default())
            }
            Some(Body::Form(fields)) => {
                let mut encoder = url::form_urlencoded::Serializer::new(String::new());
                for (name, value) in fields {
                    let value = self.text(value, step)?;
                    encoder.append_pair(&name.value, &value);
                }
                headers
                    .entry(CONTENT_TYPE)
                    .or_insert(HeaderValue::from_static(
                        "application/x-www-form-urlencoded",
                    ));
                Some(encoder.finish().into_bytes())
            }
            Some(Body::Text(text)) => Some(self.text(text, step)?.into_bytes()),
        };
        let method = match &form {
            Some(form) => form.method.clone(),
            None => Method::from_bytes(request.method.value.as_bytes()).unwrap_or(Method::GET),
        };
        if let Some(form) = form.as_ref().filter(|f| f.method == Method::GET) {
            url.query_pairs_mut().extend_pairs(&form.fields);
        }
        let timeout = request
            .timeout
            .or(defaults.timeout)
            .unwrap_or(DEFAULT_TIMEOUT);
        let follow = request
            .follow_redirects
            .or(defaults.follow_redirects)
            .unwrap_or(false);
        let max_redirects = request.max_redirects.unwrap_or(DEFAULT_MAX_REDIRECTS);
        Ok((
            Outgoing {
                method,
                url,
                headers,
                body,
                timeout,
            },
            follow,
            max_redirects,
        ))
    }

    async fn attempt(
        &mut self,
        step: &Step,
        request: &Request,
        last: bool,
        finally: bool,
    ) -> Attempt {
        let workflow = &self.plan.workflow;
        let (outgoing, follow, max_redirects) = match self.build(step, request) {
            Ok(built) => built,
            Err(failure) => return Attempt::failed(failure),
        };
        let stop_at = match &request.stop_at {
            Some(text) => match self.text(text, step) {
                Ok(prefix) => Some(prefix),
                Err(failure) => return Attempt::failed(failure),
            },
            None => None,
        };
        let limit = outgoing.timeout;
        let target = format!("{} {}", outgoing.method, outgoing.url);
        // Ctrl-C stops a request that is waiting, except in `finally`, which runs after it.
        let result = {
            let send = self.client.send(
                outgoing,
                self.jar,
                follow,
                max_redirects,
                stop_at.as_deref(),
            );
            if finally {
                send.await
            } else {
                let interrupted = self.settings.wake.notified();
                tokio::pin!(interrupted);
                interrupted.as_mut().enable();
                if self.settings.interrupt.load(Ordering::SeqCst) {
                    Err((Vec::new(), SendError::Interrupted))
                } else {
                    tokio::select! {
                        result = send => result,
                        () = interrupted => Err((Vec::new(), SendError::Interrupted)),
                    }
                }
            }
        };
        let (exchanges, transport) = match result {
            Ok(exchanges) => (exchanges, None),
            Err((exchanges, error)) => (exchanges, Some(error)),
        };
        if let Some(error) = transport {
            let title = match &error {
                SendError::Interrupted => format!("step `{}` was interrupted", step.name.value),
                SendError::Timeout(_) => format!(
                    "step `{}` timed out after {}",
                    step.name.value,
                    crate::duration::format_duration(limit)
                ),
                other => format!(
                    "step `{}` could not complete its request: {other}",
                    step.name.value
                ),
            };
            let help = match &error {
                SendError::Timeout(_) => {
                    Some("raise `timeout:` on the step or in `defaults`".to_owned())
                }
                SendError::Connect(_) => {
                    Some("is the server running, and is the URL right?".to_owned())
                }
                SendError::TooManyRedirects(_) if stop_at.is_some() => Some(format!(
                    "`stop_at: {}` was never reached; check the prefix against the redirects above",
                    stop_at.as_deref().unwrap_or_default()
                )),
                SendError::TooManyRedirects(_) => {
                    Some("raise `max_redirects:` or stop following redirects".to_owned())
                }
                _ => None,
            };
            let failure = Diagnostic::error(title)
                .at(&workflow.source, request.url.span, "this request")
                .in_step(Some(&step.name))
                .note(format!("request: {target}"))
                .maybe_help(help);
            let is_transport = !matches!(
                error,
                SendError::BodyTooLarge(_)
                    | SendError::TooManyRedirects(_)
                    | SendError::BadRedirect(_)
            );
            return Attempt {
                exchanges,
                failures: vec![failure],
                captures: Vec::new(),
                checks: Vec::new(),
                transport: is_transport.then_some(error),
                status: None,
                until_failed: false,
            };
        }
        let Some(last_exchange) = exchanges.last() else {
            return Attempt::failed(Diagnostic::error("no response").in_step(Some(&step.name)));
        };
        let response = &last_exchange.response;
        let status = response.status.as_u16();
        let content_type = response
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        if content_type.contains("html") {
            self.pages.insert(
                step.name.value.clone(),
                Page {
                    url: last_exchange.request.url.clone(),
                    body: Arc::clone(&response.body),
                },
            );
        }
        // A page the step expects (a consent page on the way to the redirect URI) ends the
        // redirects as well as the prefix does.
        let page_expected = step
            .expect
            .status
            .as_ref()
            .is_some_and(|s| s.value.iter().any(|p| p.matches(status)));
        if let (Some(prefix), true) = (
            &stop_at,
            follow && !response.status.is_redirection() && !page_expected,
        ) {
            let ended = format!("{status} {}", last_exchange.request.url);
            let mut failed = Attempt::failed(
                Diagnostic::error(format!("`stop_at: {prefix}` was never reached"))
                    .at(&workflow.source, request.url.span, "this request")
                    .in_step(Some(&step.name))
                    .note(format!("the redirects ended at {ended}"))
                    .help(
                        "the prefix must match the start of a `Location` the server redirects to",
                    ),
            );
            failed.status = Some(status);
            failed.exchanges = exchanges;
            return failed;
        }
        let body = Arc::clone(&response.body);
        // Parsing a body costs more than anything else in a step: only what the step reads.
        let json = parse_json(self.plan.json_read(step), &content_type, &body);
        let headers: Arc<[(String, String)]> = header_pairs(&response.headers).into();
        let url = last_exchange.request.url.clone();
        let cookies: Arc<[(String, String)]> =
            cookie_pairs(&response.headers, self.jar, &url).into();
        #[allow(clippy::cast_possible_truncation)]
        let duration_ms = exchanges
            .iter()
            .map(|e| e.response.elapsed.as_millis() as u64)
            .sum();
        let view = |variables: Arc<Variables>, captures: &[(Capture, JinjaValue)]| {
            let mut view = ResponseView::new(
                variables,
                status,
                Arc::clone(&headers),
                Arc::clone(&cookies),
                Arc::clone(&body),
                json.clone(),
                duration_ms,
            );
            view.captures = captures
                .iter()
                .map(|(c, v)| (c.name.clone(), v.clone()))
                .collect();
            Arc::new(view)
        };
        let mut attempt = Attempt {
            exchanges: Vec::new(),
            failures: Vec::new(),
            captures: Vec::new(),
            checks: Vec::new(),
            transport: None,
            status: Some(status),
            until_failed: false,
        };
        if let Some(until) = step.retry.as_ref().and_then(|r| r.until) {
            let ctx = JinjaValue::from_dyn_object(view(Arc::clone(&self.variables), &[]));
            let held = self
                .plan
                .templates
                .eval(until, &ctx)
                .is_ok_and(|v| v.is_true());
            if !held {
                attempt.until_failed = true;
                if !last {
                    attempt.exchanges = exchanges;
                    return attempt;
                }
                let source = &workflow.templates[until.0 as usize];
                let attempts = step.retry.as_ref().map_or(1, |r| r.attempts);
                attempt.failures.push(
                    Diagnostic::error(format!(
                        "`retry.until` still did not hold after {attempts} attempts"
                    ))
                    .at(&workflow.source, source.span_of(None), "still false")
                    .in_step(Some(&step.name))
                    .note(format!("the last response: {status}")),
                );
                attempt.exchanges = exchanges;
                return attempt;
            }
        }
        if let Some(expected) = &step.expect.status {
            let wanted = match expected.value.as_slice() {
                [one] => one.to_string(),
                many => many
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" or "),
            };
            let passed = expected.value.iter().any(|p| p.matches(status));
            attempt.checks.push(CheckResult {
                what: format!("status {wanted}"),
                passed,
            });
            if !passed {
                attempt.failures.push(
                    Diagnostic::error(format!("expected status {wanted}, got {status}"))
                        .at(&workflow.source, expected.span, format!("got {status}"))
                        .in_step(Some(&step.name)),
                );
                attempt.exchanges = exchanges;
                return attempt;
            }
        }
        // Captures run before checks, so checks can use them.
        for extract in &step.extract {
            let ctx_view = view(Arc::clone(&self.variables), &attempt.captures);
            match self.capture(extract, step, &ctx_view, &url, &content_type) {
                Ok(value) => {
                    let json_value =
                        serde_json::to_value(&value).unwrap_or(serde_json::Value::Null);
                    if extract.secret {
                        self.secret_json(&json_value);
                    }
                    attempt.captures.push((
                        Capture {
                            name: extract.name.value.clone(),
                            value: json_value,
                            secret: extract.secret,
                        },
                        value,
                    ));
                }
                Err(failure) => attempt.failures.push(failure),
            }
        }
        let ctx = JinjaValue::from_dyn_object(view(Arc::clone(&self.variables), &attempt.captures));
        self.expectations(
            step,
            &ctx,
            json.as_deref(),
            &response.headers,
            &content_type,
            &body,
            &mut attempt,
        );
        attempt.exchanges = exchanges;
        attempt
    }

    #[allow(clippy::too_many_arguments)]
    fn expectations(
        &mut self,
        step: &Step,
        ctx: &JinjaValue,
        json: Option<&serde_json::Value>,
        headers: &HeaderMap,
        content_type: &str,
        body: &[u8],
        attempt: &mut Attempt,
    ) {
        let workflow = &self.plan.workflow;
        let Attempt {
            failures, checks, ..
        } = attempt;
        for expectation in &step.expect.json {
            let path = &self.plan.paths[expectation.path.0 as usize];
            let expected = match self.value(&expectation.value, ctx, Some(step)) {
                Ok(v) => v,
                Err(d) => {
                    failures.push(d);
                    continue;
                }
            };
            let Some(document) = json else {
                failures.push(not_json(
                    &workflow.source,
                    expectation.span,
                    step,
                    path.as_str(),
                    content_type,
                    body,
                ));
                continue;
            };
            let found = path.query(document);
            let failure = match found.as_slice() {
                [one] if values_equal(one, &expected) => None,
                [one] => Some(format!("found {}", show(one))),
                [] => Some("matched nothing".to_owned()),
                many => Some(format!(
                    "matched {} values: {}",
                    many.len(),
                    show(&serde_json::Value::Array(
                        many.iter().map(|v| (*v).clone()).collect()
                    ))
                )),
            };
            checks.push(CheckResult {
                what: format!("{} == {}", path.as_str(), show(&expected)),
                passed: failure.is_none(),
            });
            if let Some(found) = failure {
                failures.push(
                    Diagnostic::error(format!("`{}` is not {}", path.as_str(), show(&expected)))
                        .at(&workflow.source, expectation.span, found.clone())
                        .in_step(Some(&step.name))
                        .note(format!("expected: {}", show(&expected)))
                        .note(format!("   found: {}", found.trim_start_matches("found "))),
                );
            }
        }
        for (name, value) in &step.expect.headers {
            let expected = match self.text(value, step) {
                Ok(v) => v,
                Err(d) => {
                    failures.push(d);
                    continue;
                }
            };
            // Read as captures and checks read headers: a value that is not ASCII is still text.
            let actual: Vec<String> = headers
                .get_all(name.value.as_str())
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            let passed = actual.contains(&expected);
            checks.push(CheckResult {
                what: format!("header {} == {expected}", name.value),
                passed,
            });
            if !passed {
                let found = if actual.is_empty() {
                    "no such header".to_owned()
                } else {
                    format!("`{}`", actual.join(", "))
                };
                failures.push(
                    Diagnostic::error(format!("header `{}` is not `{expected}`", name.value))
                        .at(&workflow.source, name.span, found.clone())
                        .in_step(Some(&step.name))
                        .note(format!("expected: `{expected}`"))
                        .note(format!("   found: {found}")),
                );
            }
        }
        for check in &step.expect.checks {
            let source = &workflow.templates[check.0 as usize];
            let result = self.plan.templates.eval(*check, ctx);
            checks.push(CheckResult {
                what: source.text.clone(),
                passed: result.as_ref().is_ok_and(minijinja::Value::is_true),
            });
            match result {
                Ok(value) if value.is_true() => {}
                Ok(_) => {
                    let mut diagnostic =
                        Diagnostic::error(format!("check failed: `{}`", source.text))
                            .at(&workflow.source, source.span_of(None), "is false")
                            .in_step(Some(&step.name));
                    for (operand, value) in self.plan.templates.operands(*check, ctx) {
                        diagnostic = diagnostic.note(format!("{operand} = {value}"));
                    }
                    failures.push(diagnostic);
                }
                Err(error) => {
                    let uses_json = self
                        .plan
                        .templates
                        .variables(*check)
                        .iter()
                        .any(|(n, _)| n == "json");
                    if json.is_none() && uses_json {
                        failures.push(not_json(
                            &workflow.source,
                            source.span_of(None),
                            step,
                            &source.text,
                            content_type,
                            body,
                        ));
                    } else {
                        failures.push(
                            Diagnostic::error(format!(
                                "check `{}` could not be evaluated: {}",
                                source.text, error.message
                            ))
                            .at(&workflow.source, source.span_of(error.range), "here")
                            .in_step(Some(&step.name)),
                        );
                    }
                }
            }
        }
    }

    fn capture(
        &mut self,
        extract: &Extract,
        step: &Step,
        view: &Arc<ResponseView>,
        url: &Url,
        content_type: &str,
    ) -> Result<JinjaValue, Diagnostic> {
        let workflow = &self.plan.workflow;
        let name = &extract.name;
        let fail = |message: String, label: &str| {
            Diagnostic::error(format!("cannot capture `{}`: {message}", name.value))
                .at(&workflow.source, name.span, label.to_owned())
                .in_step(Some(&step.name))
        };
        let found: Option<JinjaValue> = match &extract.kind {
            ExtractKind::Json { path, all } => {
                let path = &self.plan.paths[path.0 as usize];
                let Some(document) = view.json.as_deref() else {
                    return Err(not_json(
                        &workflow.source,
                        name.span,
                        step,
                        path.as_str(),
                        content_type,
                        &view.body,
                    ));
                };
                let matches = path.query(document);
                match (matches.len(), all) {
                    (_, true) => Some(JinjaValue::from(minijinja::value::Serde(&matches))),
                    (0, false) => None,
                    (1, false) => Some(JinjaValue::from(minijinja::value::Serde(matches[0]))),
                    (n, false) => {
                        return Err(fail(
                            format!("`{}` matched {n} values", path.as_str()),
                            "several matches",
                        )
                        .help("add `all: true` to capture them as a list, or narrow the path"));
                    }
                }
            }
            ExtractKind::Header {
                name: header,
                query,
            } => {
                let value = view
                    .headers
                    .iter()
                    .find(|(k, _)| k == header)
                    .map(|(_, v)| v.clone());
                match (value, query) {
                    (None, _) => None,
                    (Some(value), None) => Some(JinjaValue::from(value)),
                    (Some(value), Some(param)) => {
                        let target = url.join(&value).map_err(|e| {
                            fail(
                                format!("header `{header}` does not hold a URL: {e}"),
                                "not a URL",
                            )
                        })?;
                        target
                            .query_pairs()
                            .find(|(k, _)| k == param)
                            .or_else(|| {
                                fragment_pairs(&target)
                                    .into_iter()
                                    .find(|(k, _)| k == param)
                            })
                            .map(|(_, v)| JinjaValue::from(v.into_owned()))
                    }
                }
            }
            ExtractKind::Cookie(cookie) => view
                .cookies
                .iter()
                .find(|(k, _)| k == cookie)
                .map(|(_, v)| JinjaValue::from(v.clone())),
            ExtractKind::Regex { regex, from } => {
                let regex = &self.plan.regexes[regex.0 as usize];
                let haystack = match from {
                    RegexSource::Body => Some(String::from_utf8_lossy(&view.body).into_owned()),
                    RegexSource::Header(h) => view
                        .headers
                        .iter()
                        .find(|(k, _)| k == h)
                        .map(|(_, v)| v.clone()),
                };
                haystack.and_then(|text| {
                    regex.captures(&text).map(|c| {
                        let m = c.get(1).or_else(|| c.get(0)).map_or("", |m| m.as_str());
                        JinjaValue::from(m.to_owned())
                    })
                })
            }
            ExtractKind::Status => Some(JinjaValue::from(view.status)),
            ExtractKind::Body => match std::str::from_utf8(&view.body) {
                Ok(text) => Some(JinjaValue::from(text)),
                Err(_) => {
                    return Err(not_text(
                        &workflow.source,
                        name.span,
                        step,
                        content_type,
                        &view.body,
                    ));
                }
            },
            ExtractKind::Expr(id) => {
                let ctx = JinjaValue::from_dyn_object(Arc::clone(view));
                match self.plan.templates.eval(*id, &ctx) {
                    Ok(value) => Some(value),
                    Err(error) => return Err(self.render_error(*id, error, step)),
                }
            }
            ExtractKind::Css {
                selector,
                attr,
                all,
            } => {
                let text = String::from_utf8_lossy(&view.body);
                let found = crate::html::select(&text, &selector.value, attr.as_deref())
                    .map_err(|message| fail(message, "bad selector"))?;
                match (found.len(), all) {
                    (_, true) => Some(JinjaValue::from(found)),
                    (0, false) => None,
                    (_, false) => found.into_iter().next().map(JinjaValue::from),
                }
            }
            ExtractKind::Output(output) => {
                return Err(fail(
                    format!("`output: {output}` only works in a step that `uses` a workflow"),
                    "not a `uses` step",
                ));
            }
        };
        if let Some(value) = found {
            return Ok(value);
        }
        if let Some(default) = &extract.default {
            let ctx = self.ctx();
            let json = self.value(default, &ctx, Some(step))?;
            return Ok(JinjaValue::from(minijinja::value::Serde(&json)));
        }
        let what = match &extract.kind {
            ExtractKind::Json { path, .. } => format!(
                "`{}` matched nothing",
                self.plan.paths[path.0 as usize].as_str()
            ),
            ExtractKind::Header { name, query: None } => {
                format!("the response has no `{name}` header")
            }
            ExtractKind::Header {
                name,
                query: Some(q),
            } => format!("the URL in header `{name}` has no `{q}` parameter"),
            ExtractKind::Cookie(c) => format!("no cookie `{c}` was set or is in the jar"),
            ExtractKind::Regex { regex, .. } => format!(
                "regex `{}` matched nothing",
                self.plan.regexes[regex.0 as usize].as_str()
            ),
            ExtractKind::Css { selector, .. } => {
                format!("CSS selector `{}` matched nothing", selector.value)
            }
            _ => "no value".to_owned(),
        };
        Err(fail(what, "nothing to capture")
            .help("add `default:` to the capture if the value is optional"))
    }
}

fn value_reads_secret(runner: &Runner<'_>, value: &Value) -> bool {
    match value {
        Value::Literal(_) => false,
        Value::Template(id) => runner.reads_secret(*id),
        Value::List(items) => items.iter().any(|v| value_reads_secret(runner, v)),
        Value::Map(entries) => entries.iter().any(|(_, v)| value_reads_secret(runner, v)),
    }
}

fn header_name(
    name: &Spanned<String>,
    step: &Step,
    source: &Arc<crate::span::Source>,
) -> Result<HeaderName, Diagnostic> {
    HeaderName::from_bytes(name.value.as_bytes()).map_err(|_| {
        Diagnostic::error(format!("invalid header name `{}`", name.value))
            .at(source, name.span, "not a header name")
            .in_step(Some(&step.name))
            .help("header names use letters, digits and `-`")
    })
}

fn header_value(text: &str) -> Result<HeaderValue, Diagnostic> {
    HeaderValue::from_str(text)
        .map_err(|_| Diagnostic::error("a credential holds characters a header cannot carry"))
}

fn parse_json(read: &JsonRead, content_type: &str, body: &[u8]) -> Option<Arc<serde_json::Value>> {
    if *read == JsonRead::Nothing {
        return None;
    }
    let looks_json = content_type.contains("json")
        || matches!(
            body.iter().find(|b| !b.is_ascii_whitespace()),
            Some(b'{' | b'[')
        );
    if !looks_json || body.is_empty() {
        return None;
    }
    let parsed = match read {
        JsonRead::Paths(pick) => pick.parse(body),
        JsonRead::Whole | JsonRead::Nothing => serde_json::from_slice(body),
    };
    parsed.ok().map(Arc::new)
}

fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = Vec::with_capacity(headers.keys_len());
    for name in headers.keys() {
        let mut value = String::new();
        for (index, part) in headers.get_all(name).iter().enumerate() {
            if index > 0 {
                value.push_str(", ");
            }
            value.push_str(&String::from_utf8_lossy(part.as_bytes()));
        }
        pairs.push((name.as_str().to_owned(), value));
    }
    pairs
}

fn cookie_pairs(headers: &HeaderMap, jar: &Jar, url: &Url) -> Vec<(String, String)> {
    let mut pairs = jar.all_for(url);
    for value in headers.get_all(reqwest::header::SET_COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        let Some((name, rest)) = text.split_once('=') else {
            continue;
        };
        let value = rest.split(';').next().unwrap_or("").trim().to_owned();
        let name = name.trim().to_owned();
        pairs.retain(|(n, _)| *n != name);
        pairs.push((name, value));
    }
    pairs
}

/// Reads `a=b&c=d` from a URL fragment (implicit-flow style redirects put codes there).
fn fragment_pairs(url: &Url) -> Vec<(std::borrow::Cow<'_, str>, std::borrow::Cow<'_, str>)> {
    url.fragment()
        .map(|f| url::form_urlencoded::parse(f.as_bytes()).collect())
        .unwrap_or_default()
}

fn values_equal(actual: &serde_json::Value, expected: &serde_json::Value) -> bool {
    match (actual, expected) {
        (serde_json::Value::Number(a), serde_json::Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => actual == expected,
    }
}

/// Shows a JSON value compactly, cut when long.
pub fn show(value: &serde_json::Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 200 {
        format!("{}…", text.chars().take(200).collect::<String>())
    } else {
        text
    }
}

fn not_text(
    source: &Arc<crate::span::Source>,
    span: Span,
    step: &Step,
    content_type: &str,
    body: &[u8],
) -> Diagnostic {
    let valid = std::str::from_utf8(body).map_or_else(|e| e.valid_up_to(), |_| body.len());
    let content_type = if content_type.is_empty() {
        "none"
    } else {
        content_type
    };
    let first: Vec<String> = body.iter().take(16).map(|b| format!("{b:02x}")).collect();
    Diagnostic::error("`body` is not UTF-8 text")
        .at(source, span, "needs text")
        .in_step(Some(&step.name))
        .note(format!("content-type: {content_type}"))
        .note(format!(
            "{} bytes, the first invalid one at offset {valid}; first bytes: {}",
            body.len(),
            first.join(" ")
        ))
        .help("capture binary bodies with a `regex`, or check `headers` and `status` instead")
}

fn not_json(
    source: &Arc<crate::span::Source>,
    span: Span,
    step: &Step,
    what: &str,
    content_type: &str,
    body: &[u8],
) -> Diagnostic {
    let start: String = String::from_utf8_lossy(&body[..body.len().min(60)])
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let content_type = if content_type.is_empty() {
        "none"
    } else {
        content_type
    };
    let start = if body.is_empty() {
        "the body is empty".to_owned()
    } else {
        format!("the body starts with `{start}`")
    };
    Diagnostic::error(format!(
        "`{what}` needs a JSON body, but the response is not JSON"
    ))
    .at(source, span, "needs JSON")
    .in_step(Some(&step.name))
    .note(format!("content-type: {content_type}"))
    .note(start)
}
