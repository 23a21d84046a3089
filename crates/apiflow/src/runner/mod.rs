//! The runner: runs a validated plan step by step and emits events; it never prints.
//!
//! Inside a step the order is fixed, and the files of this folder follow it:
//!
//! 1. `if:` is evaluated; when it is false the step is skipped (here).
//! 2. `for_each:` runs what follows once per element, captures becoming lists (`each.rs`).
//! 3. `delay:` is waited; a `uses:` step then runs its workflow instead of a request
//!    (`send.rs`, `uses.rs`).
//! 4. The request is rendered: the form `form_from` reads (`form.rs`), then the URL (an OpenAPI
//!    operation's in `declared.rs`), query, headers, auth and body (`request.rs`); every
//!    template goes through `render.rs`, and every value computed from a secret becomes one
//!    (`taint.rs`). AWS Signature Version 4 then signs
//!    the whole request (`auth.rs`).
//! 5. It is sent, following redirects up to `stop_at`, answering a Digest challenge
//!    (`auth.rs`), and sent again on a transport error, a 5xx, or while `retry.until` does not
//!    hold (`send.rs`).
//! 6. The response is read (`response.rs`): `retry.until`, then `script.after`, then the
//!    status, then what the step's OpenAPI operation declares (`declared.rs`), then the
//!    captures (`capture.rs`), then the expectations, which can read the captures
//!    (`expect.rs`).
//!
//! `script.before` runs at the start of each attempt, before anything of the request is
//! rendered (`script.rs`).

mod auth;
mod body;
mod capture;
mod declared;
mod each;
mod expect;
mod flow;
mod form;
mod render;
mod request;
mod response;
mod save;
mod script;
mod send;
mod taint;
mod transport;
mod uses;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use minijinja::Value as JinjaValue;

use crate::check::validate::Plan;
use crate::diagnostic::Diagnostic;
use crate::format::model::{Action, OnFailure, Step};
use crate::http::urls::UrlParser;
use crate::http::{Client, Jar};
use crate::report::event::{Capture, Event, INTERRUPTED, Outcome, Reporter, RunReport, StepReport};
use crate::secret::Masker;
use crate::template::scope::Variables;

pub use self::declared::OpenapiChecks;
pub use self::expect::show;
pub use self::flow::DEFAULT_MAX_STEPS;
use self::form::Page;

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
    /// Values secret before the run starts, masked like secret inputs: the password of
    /// `--proxy` and the credential made from it.
    pub secrets: Vec<String>,
    /// `--cookie-jar`: the run starts from its cookies and leaves its jar to be saved.
    pub cookie_jar: Option<crate::http::cookie_file::SharedJarFile>,
    /// `--continue-on-failure`: steps that do not say otherwise run on after a failed step.
    pub continue_on_failure: bool,
    /// `--bail`: steps that do not say otherwise stop the run when they fail, whatever
    /// `defaults.on_failure` says.
    pub bail: bool,
    /// `--max-steps`: how many steps one run of a workflow may run, over `defaults.max_steps`.
    pub max_steps: Option<u32>,
    /// `--ignore-redirects`: no step follows a redirect, whatever its `follow_redirects`; the
    /// 3xx is the step's response.
    pub ignore_redirects: bool,
    /// Which iteration of a batch this run is, for scripts (`pm.info`, `pm.iterationData`).
    pub iteration: Option<Iteration>,
    /// The limits of the script sandbox.
    pub script_limits: apiflow_script::Limits,
    /// `--openapi-checks`: what a response that differs from its step's OpenAPI operation does.
    pub openapi_checks: OpenapiChecks,
}

/// One iteration of `--iterations` or `--data`, as scripts see it.
#[derive(Clone, Debug, Default)]
pub struct Iteration {
    /// Its number, from 0.
    pub index: usize,
    /// How many iterations the batch runs.
    pub count: usize,
    /// The `--data` row, column by column.
    pub data: Vec<(String, String)>,
}

/// A workflow's resolved inputs, made once for every run that takes them (the iterations of a
/// load run): the runs share the variables until one sets a variable of its own, and the list
/// of input values their reports carry is made once.
#[derive(Debug)]
pub struct Inputs {
    variables: Arc<Variables>,
    values: Vec<Capture>,
    /// The values of the secret inputs, masked from the start of each run.
    secrets: Vec<JinjaValue>,
}

impl Inputs {
    /// Makes the inputs of `plan`'s runs from its resolved variables.
    pub fn new(plan: &Plan, variables: Variables) -> Inputs {
        let values = plan
            .workflow
            .inputs
            .iter()
            .filter_map(|input| {
                let name = &input.name.value;
                let value = variables.get(name)?;
                Some(Capture {
                    name: name.clone(),
                    value: value.as_str().map_or_else(
                        || serde_json::to_value(value).unwrap_or(serde_json::Value::Null),
                        |text| serde_json::Value::String(text.to_owned()),
                    ),
                    secret: variables.is_secret(name),
                })
            })
            .collect();
        let secrets = variables
            .names()
            .filter(|name| variables.is_secret(name))
            .filter_map(|name| variables.get(name).cloned())
            .collect();
        Inputs {
            variables: Arc::new(variables),
            values,
            secrets,
        }
    }
}

/// Runs a plan with resolved inputs and reports every step.
pub async fn run(
    plan: &Plan,
    client: &Client,
    inputs: Variables,
    settings: &Settings,
    reporter: &mut dyn Reporter,
) -> Result<RunReport, Vec<Diagnostic>> {
    run_with(plan, client, &Inputs::new(plan, inputs), settings, reporter).await
}

/// Runs a plan with inputs other runs may share, and reports every step.
pub async fn run_with(
    plan: &Plan,
    client: &Client,
    inputs: &Inputs,
    settings: &Settings,
    reporter: &mut dyn Reporter,
) -> Result<RunReport, Vec<Diagnostic>> {
    let workflow = &plan.workflow;
    let started = Instant::now();
    let started_at = std::time::SystemTime::now();
    let input_values = inputs.values.clone();
    reporter.event(&Event::Started {
        name: &workflow.name.value,
        file: &workflow.source.name,
        steps: workflow.steps.len() + workflow.finally.len(),
    });
    let jar = settings
        .cookie_jar
        .as_ref()
        .map_or_else(Jar::default, |file| file.start());
    let mut runner = Runner {
        plan,
        client,
        settings,
        jar: &jar,
        variables: Arc::clone(&inputs.variables),
        masker: Masker::new(),
        reporter,
        deadline: settings.run_timeout.map(|t| started + t),
        depth: 0,
        pages: HashMap::new(),
        tainted: None,
        urls: UrlParser::default(),
        identities: HashMap::new(),
        unset: HashMap::new(),
        sandbox: apiflow_script::Sandbox::new(settings.script_limits),
        script_jump: None,
    };
    for secret in &settings.secrets {
        runner.secret_text(secret);
    }
    // Cookies from `--cookie-jar` are masked as captured cookies are: by their names.
    for (name, value) in settings.cookie_jar.iter().flat_map(|file| file.loaded()) {
        if crate::names::is_secret_name(&name) {
            runner.secret_text(&value);
        }
    }
    for value in &inputs.secrets {
        runner.secret_value(value);
    }
    // Nothing is printed yet, so the caller prints these errors: mask them here.
    runner.compute_vars().map_err(|errors| {
        errors
            .into_iter()
            .map(|d| d.masked(&runner.masker))
            .collect::<Vec<_>>()
    })?;
    runner.open_certs()?;
    let (steps, stopped) = runner.run_steps().await;
    if let Some(file) = &settings.cookie_jar {
        file.finish(&jar);
    }
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

/// Reports a step that did not run; the other outcomes start from it too.
fn skipped(step: &Step, finally: bool, reason: String) -> StepReport {
    StepReport {
        name: step.name.value.clone(),
        finally,
        outcome: Outcome::Skipped,
        reason: Some(reason),
        exchanges: Vec::new(),
        attempts: 0,
        failures: Vec::new(),
        warnings: Vec::new(),
        captures: Vec::new(),
        checks: Vec::new(),
        children: Vec::new(),
        depth: 0,
        duration: Duration::ZERO,
        jump: None,
    }
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
    /// The client certificates opened so far, by where their `cert:` is written.
    identities: HashMap<(u32, u32), Arc<crate::http::identity::Identity>>,
    /// The captures a failed or jumped-past step did not set, and why (see `flow`).
    unset: HashMap<String, String>,
    /// The scripts' sandbox; its engine starts with the first script the run meets.
    sandbox: apiflow_script::Sandbox,
    /// Where the running step's scripts asked the run to go on (`setNextRequest`).
    script_jump: Option<crate::report::event::Jump>,
}

impl Runner<'_> {
    /// Tells why the run must stop sending (interrupted, over its time), if it must.
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

    /// Returns the variables as a template context, without copying them.
    fn ctx(&self) -> JinjaValue {
        JinjaValue::from_dyn_object(Arc::clone(&self.variables))
    }

    /// Runs `steps` from the first, each followed by the step its jump names or the next one,
    /// until one fails and stops the run (`on_failure`), a jump ends it, or it runs out of steps
    /// or of `max_steps`; then `finally`. Returns the reports, each run of a step in the order
    /// run and then the steps never reached, and why the run stopped.
    async fn run_steps(&mut self) -> (Vec<StepReport>, Option<String>) {
        let workflow = &self.plan.workflow;
        let count = workflow.steps.len();
        let mut steps = Vec::with_capacity(count + workflow.finally.len());
        let mut stopped: Option<String> = None;
        // Why a step not reached was not run: a jump passed it, or the run ended before it.
        // Made at the first jump: most runs jump nowhere.
        let mut passed: Vec<Option<String>> = Vec::new();
        let mut reached = vec![false; count];
        let max_steps = self.max_steps();
        let mut ran: u32 = 0;
        let mut index = 0;
        while let Some(step) = workflow.steps.get(index) {
            stopped = self.stop_reason();
            if stopped.is_some() {
                break;
            }
            if ran >= max_steps {
                let report = self.over_max_steps(step, max_steps);
                self.reporter.event(&Event::Step(&report));
                steps.push(report);
                reached[index] = true;
                stopped = Some(format!("the run already ran {max_steps} steps"));
                break;
            }
            ran += 1;
            reached[index] = true;
            let mut report = match self.missing_capture(step, false) {
                Some(report) => report,
                None => self.step(step, false).await,
            };
            let ran_at_all = report.outcome != Outcome::Skipped;
            let goto = if ran_at_all {
                self.goto(step, &mut report)
            } else {
                flow::Goto::Following
            };
            let failed = matches!(report.outcome, Outcome::Failed | Outcome::Error);
            self.reporter.event(&Event::Step(&report));
            if self.settings.forget_passed_exchanges {
                forget_exchanges(&mut report);
            }
            steps.push(report);
            if failed {
                if self.on_failure(step) == OnFailure::Stop {
                    // A step cut short by Ctrl-C failed because of it: say so on the steps it
                    // skips.
                    stopped = self
                        .stop_reason()
                        .or_else(|| Some("an earlier step failed".into()));
                    break;
                }
                let why = format!("step `{}`, which captures it, failed", step.name.value);
                self.note_unset(step, &why);
            }
            match goto {
                flow::Goto::Following => index += 1,
                flow::Goto::Step(to) => {
                    let why = format!(
                        "jumped past: `{}` went on at `{}`",
                        step.name.value, workflow.steps[to].name.value
                    );
                    if passed.is_empty() {
                        passed.resize(count, None);
                    }
                    for (skipped_index, passed_step) in
                        workflow.steps.iter().enumerate().take(to).skip(index + 1)
                    {
                        passed[skipped_index] = Some(why.clone());
                        let unset = format!(
                            "the run jumped past step `{}`, which captures it",
                            passed_step.name.value
                        );
                        self.note_unset(passed_step, &unset);
                    }
                    index = to;
                }
                flow::Goto::End(why) => {
                    stopped = Some(why);
                    break;
                }
            }
        }
        for (index, step) in workflow.steps.iter().enumerate() {
            if reached[index] {
                continue;
            }
            let reason = passed
                .get(index)
                .cloned()
                .flatten()
                .or_else(|| stopped.clone())
                .unwrap_or_else(|| "no jump reached it".to_owned());
            let mut report = skipped(step, false, format!("not run: {reason}"));
            report.depth = self.depth;
            self.reporter.event(&Event::Step(&report));
            steps.push(report);
        }
        if !workflow.finally.is_empty() {
            if self.depth == 0 {
                self.reporter.event(&Event::Finally);
            }
            // Clean-up runs after a timeout too.
            let deadline = self.deadline.take();
            for step in &workflow.finally {
                let report = match self.missing_capture(step, true) {
                    Some(report) => report,
                    None => self.step(step, true).await,
                };
                self.reporter.event(&Event::Step(&report));
                steps.push(report);
            }
            self.deadline = deadline;
        }
        (steps, stopped)
    }

    /// Runs one step: `if:`, then `for_each:` or a single run; times it.
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
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use reqwest::header::HeaderMap;
    use reqwest::{Method, StatusCode};
    use url::Url;

    use super::{forget_exchanges, skipped};
    use crate::format::model::Workflow;
    use crate::http::{Exchange, Incoming, Outgoing};
    use crate::report::event::{Outcome, StepReport};
    use crate::span::Source;

    /// Loads a workflow of one step, `get it`, for the pieces that take a step.
    pub(super) fn one_step() -> Workflow {
        let text = "name: t\nsteps:\n  - name: get it\n    request: { url: \"http://x.test/\" }\n";
        crate::format::load::load(&Source::new("t.yaml", text)).expect("the workflow loads")
    }

    #[test]
    fn a_skipped_step_holds_its_name_and_reason_and_nothing_else() {
        let workflow = one_step();
        let report = skipped(&workflow.steps[0], true, "`if: false` is false".to_owned());
        assert_eq!(report.name, "get it");
        assert!(report.finally);
        assert_eq!(report.outcome, Outcome::Skipped);
        assert_eq!(report.reason.as_deref(), Some("`if: false` is false"));
        assert_eq!(report.attempts, 0);
        assert_eq!(report.depth, 0);
        assert_eq!(report.duration, Duration::ZERO);
        assert!(report.exchanges.is_empty() && report.failures.is_empty());
        assert!(report.captures.is_empty() && report.checks.is_empty());
        assert!(report.children.is_empty());
    }

    #[test]
    fn only_passed_steps_forget_their_exchanges_at_every_depth() {
        let url = Url::parse("http://x.test/").unwrap();
        let exchange = Exchange {
            request: Outgoing {
                method: Method::GET,
                url,
                headers: HeaderMap::new(),
                body: None,
                timeout: Duration::from_secs(1),
                transport: crate::http::Transport::default(),
            },
            response: Incoming {
                status: StatusCode::OK,
                headers: HeaderMap::new(),
                body: Arc::new(b"{}".to_vec()),
                elapsed: Duration::from_millis(3),
                timings: crate::http::timing::Timings::default(),
                version: reqwest::Version::HTTP_11,
                remote: None,
            },
        };
        let workflow = one_step();
        let report = |outcome, children| StepReport {
            outcome,
            exchanges: vec![exchange.clone()],
            children,
            ..skipped(&workflow.steps[0], false, String::new())
        };
        let mut top = report(
            Outcome::Failed,
            vec![
                report(
                    Outcome::Passed,
                    vec![
                        report(Outcome::Failed, vec![]),
                        report(Outcome::Passed, vec![]),
                    ],
                ),
                report(Outcome::Error, vec![]),
            ],
        );
        forget_exchanges(&mut top);
        let kept = |report: &StepReport| report.exchanges.len();
        assert_eq!(kept(&top), 1);
        assert_eq!(kept(&top.children[0]), 0);
        // A failure inside a passed step keeps what it sent and received.
        assert_eq!(kept(&top.children[0].children[0]), 1);
        assert_eq!(kept(&top.children[0].children[1]), 0);
        assert_eq!(kept(&top.children[1]), 1);
    }
}
