//! Sending: a step's attempts and retries, each one request with its redirects.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use minijinja::Value as JinjaValue;

use super::Runner;
use crate::diagnostic::Diagnostic;
use crate::format::model::{Action, Request, Script, Step};
use crate::http::{Exchange, SendError};
use crate::report::event::{Capture, CheckResult, Event, Outcome, StepReport};
use apiflow_script::Request as ScriptRequest;
use futures_util::future::Either;

/// What one attempt produced.
pub(super) struct Attempt {
    pub(super) exchanges: Vec<Exchange>,
    pub(super) failures: Vec<Diagnostic>,
    /// Differences from the step's OpenAPI operation, with `--openapi-checks warn`.
    pub(super) warnings: Vec<Diagnostic>,
    pub(super) captures: Vec<(Capture, JinjaValue)>,
    pub(super) checks: Vec<CheckResult>,
    pub(super) transport: Option<SendError>,
    pub(super) status: Option<u16>,
    pub(super) until_failed: bool,
}

impl Attempt {
    /// Returns an attempt that failed before anything came back.
    pub(super) fn failed(failure: Diagnostic) -> Attempt {
        Attempt {
            exchanges: Vec::new(),
            failures: vec![failure],
            warnings: Vec::new(),
            captures: Vec::new(),
            checks: Vec::new(),
            transport: None,
            status: None,
            until_failed: false,
        }
    }
}

impl Runner<'_> {
    /// Runs one request step (with retries) or one `uses` step.
    pub(super) async fn single(&mut self, step: &Step, finally: bool) -> StepReport {
        if let Some(delay) = step.delay {
            self.wait(delay).await;
        }
        let request = match &step.action {
            Action::Request(request) => request,
            Action::Uses(uses) => return self.uses(step, uses, finally).await,
        };
        // Only this step's scripts decide where the run goes after it.
        self.script_jump = None;
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
        let mut failures = attempt.failures;
        let jump = self.script_jump.take();
        let mut outcome = outcome;
        if finally && jump.is_some() {
            failures.push(self.jump_in_finally(step));
            if outcome == Outcome::Passed {
                outcome = Outcome::Failed;
            }
        }
        StepReport {
            name: step.name.value.clone(),
            finally,
            outcome,
            reason: attempt.transport.as_ref().map(ToString::to_string),
            exchanges: attempt.exchanges,
            attempts,
            failures,
            warnings: attempt.warnings,
            captures,
            checks: attempt.checks,
            children: Vec::new(),
            depth: self.depth,
            duration: Duration::ZERO,
            jump,
        }
    }

    /// Runs `script.before`, then the attempt; the script's checks come first in its report.
    async fn attempt(
        &mut self,
        step: &Step,
        request: &Request,
        last: bool,
        finally: bool,
    ) -> Attempt {
        let Some(script) = &step.script.before else {
            return self.send_once(step, request, None, last, finally).await;
        };
        let before = self.script_before(step, request, script);
        let mut attempt = if before.stopped {
            Attempt {
                failures: Vec::new(),
                ..Attempt::failed(Diagnostic::error(String::new()))
            }
        } else {
            let edits = before
                .request
                .as_ref()
                .map(|(seen, edited)| (script, seen, edited));
            self.send_once(step, request, edits, last, finally).await
        };
        let mut checks = before.checks;
        checks.append(&mut attempt.checks);
        attempt.checks = checks;
        let mut failures = before.failures;
        failures.append(&mut attempt.failures);
        attempt.failures = failures;
        attempt
    }

    /// Builds and sends the request once, with its redirects; a transport failure ends the
    /// attempt here, anything else is read by `received`.
    async fn send_once(
        &mut self,
        step: &Step,
        request: &Request,
        edits: Option<(&Script, &ScriptRequest, &ScriptRequest)>,
        last: bool,
        finally: bool,
    ) -> Attempt {
        let workflow = &self.plan.workflow;
        let (mut outgoing, follow, max_redirects) = match self.build(step, request) {
            Ok(built) => built,
            Err(failure) => return Attempt::failed(failure),
        };
        if let Some((script, seen, edited)) = edits
            && let Err(failure) =
                self.apply_request_edits(step, script, seen, edited, &mut outgoing)
        {
            return Attempt::failed(failure);
        }
        let login = match self.authorize(step, request, &mut outgoing).await {
            Ok(login) => login,
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
        // For the message of a request that cannot be completed; written only then.
        let target = (outgoing.method.clone(), outgoing.url.clone());
        // Ctrl-C stops a request that is waiting, except in `finally`, which runs after it.
        let result = {
            // Without a Digest login, which is rare, the request goes straight to the client:
            // the future every waiting request holds stays one layer smaller.
            let send = match &login {
                None => Either::Left(self.client.send(
                    outgoing,
                    self.jar,
                    follow,
                    max_redirects,
                    stop_at.as_deref(),
                )),
                Some(login) => Either::Right(Box::pin(super::auth::send(
                    self.client,
                    self.jar,
                    outgoing,
                    follow,
                    max_redirects,
                    stop_at.as_deref(),
                    login,
                ))),
            };
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
        if login.is_some() {
            self.learn_sent_credentials(&exchanges);
        }
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
                .note(format!("request: {} {}", target.0, target.1))
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
                warnings: Vec::new(),
                captures: Vec::new(),
                checks: Vec::new(),
                transport: is_transport.then_some(error),
                status: None,
                until_failed: false,
            };
        }
        // Saved before the checks, so that the body of a response that fails them is kept.
        if let Some(failure) = self.save(step, &exchanges) {
            let status = exchanges.last().map(|e| e.response.status.as_u16());
            return Attempt {
                exchanges,
                status,
                ..Attempt::failed(failure)
            };
        }
        self.received(step, request, exchanges, stop_at.as_deref(), follow, last)
    }
}
