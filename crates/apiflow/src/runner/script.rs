//! A step's scripts in the sandbox: `script.before` before the request is rendered, and
//! `script.after` after the response, before the captures and `expect`.
//!
//! What a script does comes back as data: its tests become the step's checks (a failed one a
//! failure), its console lines `Console` events, the variables it set go into the run's one
//! variable store, and in `before` the headers, URL and method it changed go into the request.
//! A script that read a secret makes everything it sets secret.

use minijinja::Value as JinjaValue;
use reqwest::header::{HeaderName, HeaderValue};

use super::Runner;
use crate::diagnostic::Diagnostic;
use crate::format::model::{Request, Script, Step, Text};
use crate::http::Outgoing;
use crate::report::event::{CheckResult, Event, Jump};
use apiflow_script::{Change, ErrorKind, Outcome, Phase};

/// What a script left for the step: its checks and failures, and whether the step must stop.
#[derive(Default)]
pub(super) struct ScriptResult {
    pub(super) checks: Vec<CheckResult>,
    pub(super) failures: Vec<Diagnostic>,
    /// The script threw or hit a limit: the step goes no further.
    pub(super) stopped: bool,
    /// The request as `before` left it, when it changed it.
    pub(super) request: Option<(apiflow_script::Request, apiflow_script::Request)>,
}

impl Runner<'_> {
    /// Runs `script.before` with the request as written.
    pub(super) fn script_before(
        &mut self,
        step: &Step,
        request: &Request,
        script: &Script,
    ) -> ScriptResult {
        let workflow = &self.plan.workflow;
        let written = |text: &Text| match text {
            Text::Literal(text) => text.clone(),
            Text::Template(id) => workflow.templates[id.0 as usize].text.clone(),
        };
        let headers = workflow
            .defaults
            .headers
            .iter()
            .chain(&request.headers)
            .map(|(name, value)| (name.value.clone(), written(value)))
            .collect();
        let seen = apiflow_script::Request {
            url: written(&request.url.value),
            method: request.method.value.clone(),
            headers,
        };
        let outcome = self.run_script(step, script, Phase::Before, seen.clone(), None);
        let mut result = self.script_result(step, script, "before", &outcome);
        if outcome.request != seen {
            result.request = Some((seen, outcome.request));
        }
        result
    }

    /// Runs `script.after` over the response.
    pub(super) fn script_after(
        &mut self,
        step: &Step,
        script: &Script,
        request: &Outgoing,
        response: apiflow_script::Response,
    ) -> ScriptResult {
        let seen = apiflow_script::Request {
            url: request.url.to_string(),
            method: request.method.to_string(),
            headers: request
                .headers
                .iter()
                .map(|(name, value)| {
                    (
                        name.to_string(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect(),
        };
        let outcome = self.run_script(step, script, Phase::After, seen, Some(response));
        self.script_result(step, script, "after", &outcome)
    }

    /// Tells whether a text holds a value already secret.
    pub(super) fn holds_secret(&self, text: &str) -> bool {
        matches!(self.masker.mask(text), std::borrow::Cow::Owned(_))
    }

    fn run_script(
        &mut self,
        step: &Step,
        script: &Script,
        phase: Phase,
        request: apiflow_script::Request,
        response: Option<apiflow_script::Response>,
    ) -> Outcome {
        let mut names: Vec<&str> = self.variables.names().collect();
        names.sort_unstable();
        let variables = names
            .into_iter()
            .filter_map(|name| {
                let value = self.variables.get(name)?;
                Some(apiflow_script::Variable {
                    name: name.to_owned(),
                    value: serde_json::to_value(value).unwrap_or(serde_json::Value::Null),
                    secret: self.variables.is_secret(name),
                })
            })
            .collect();
        let iteration = self.settings.iteration.as_ref();
        let data = iteration
            .map(|i| {
                i.data
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                    .collect()
            })
            .unwrap_or_default();
        let cookies = url::Url::parse(&request.url)
            .ok()
            .map(|url| self.jar.all_for(&url))
            .unwrap_or_default();
        let run = apiflow_script::Run {
            phase,
            code: &script.code,
            info: apiflow_script::Info {
                iteration: iteration.map_or(0, |i| i.index as u64),
                iteration_count: iteration.map_or(1, |i| i.count as u64),
                request_name: step.name.value.clone(),
                request_id: format!("step-{}", step.id.0 + 1),
            },
            request,
            response,
            variables,
            data,
            cookies,
        };
        let outcome = self.sandbox.run(&run);
        self.apply_changes(&outcome);
        // The last call wins, as in Postman; the run goes there once the step is over.
        if let Some(next) = &outcome.next_request {
            self.script_jump = Some(match next {
                Some(name) => Jump::To(name.clone()),
                None => Jump::End,
            });
        }
        for (level, line) in &outcome.console {
            self.reporter.event(&Event::Console {
                step: &step.name.value,
                level,
                line,
            });
        }
        outcome
    }

    /// Puts what a script set into the run's variables; all of it secret when the script read
    /// a secret, or when a name sounds secret.
    fn apply_changes(&mut self, outcome: &Outcome) {
        for change in &outcome.changes {
            match change {
                Change::Set { name, value, .. } => {
                    let secret = outcome.read_secret || crate::names::is_secret_name(name);
                    if secret {
                        self.secret_json(value);
                    }
                    std::sync::Arc::make_mut(&mut self.variables).set(
                        name,
                        JinjaValue::from(minijinja::value::Serde(value)),
                        secret,
                    );
                }
                Change::Unset { name, .. } => {
                    std::sync::Arc::make_mut(&mut self.variables).remove(name);
                }
            }
        }
    }

    /// Turns a script's tests and error into checks and failures pointing into the script.
    fn script_result(
        &self,
        step: &Step,
        script: &Script,
        which: &str,
        outcome: &Outcome,
    ) -> ScriptResult {
        let source = &self.plan.workflow.source;
        let mut result = ScriptResult::default();
        for test in &outcome.tests {
            let what = if test.skipped {
                format!("{} (skipped)", test.name)
            } else {
                test.name.clone()
            };
            result.checks.push(CheckResult {
                what,
                passed: test.passed,
            });
            if !test.passed {
                let message = test.message.as_deref().unwrap_or("it failed");
                result.failures.push(
                    Diagnostic::error(format!("test `{}` failed: {message}", test.name))
                        .at(
                            source,
                            script.span_at(test.line, test.column),
                            "failed here",
                        )
                        .in_step(Some(&step.name)),
                );
            }
        }
        if let Some(error) = &outcome.error {
            result.stopped = true;
            let span = script.span_at(error.line, error.column);
            let diagnostic = match error.kind {
                ErrorKind::Time => {
                    Diagnostic::error(format!("`script.{which}`: {}", error.message))
                        .at(source, script.span, "this script")
                        .help("look for a loop that never ends")
                }
                ErrorKind::Memory => Diagnostic::error(format!(
                    "`script.{which}`: {}",
                    error.message
                ))
                .at(source, script.span, "this script"),
                ErrorKind::Syntax => Diagnostic::error(format!(
                    "`script.{which}` does not compile: {}",
                    error.message
                ))
                .at(source, span, "here"),
                ErrorKind::Thrown | ErrorKind::Engine => {
                    Diagnostic::error(format!("`script.{which}` threw {}", error.message))
                        .at(source, span, "thrown here")
                        .help("wrap the code in `pm.test(…)` to make it a check instead")
                }
            };
            result.failures.push(diagnostic.in_step(Some(&step.name)));
        }
        result
    }

    /// Fails a `finally` step whose script asked for a jump: `finally` steps all run, in order.
    pub(super) fn jump_in_finally(&self, step: &Step) -> Diagnostic {
        let script = step
            .script
            .after
            .as_ref()
            .or(step.script.before.as_ref())
            .map_or(step.name.span, |s| s.span);
        Diagnostic::error("`setNextRequest` does not go in a `finally` step")
            .at(&self.plan.workflow.source, script, "this script")
            .in_step(Some(&step.name))
            .help("`finally` steps all run, in order, whatever the steps before them did")
    }

    /// Applies what `before` changed of the request (headers, URL, method) to what is sent.
    pub(super) fn apply_request_edits(
        &mut self,
        step: &Step,
        script: &Script,
        seen: &apiflow_script::Request,
        edited: &apiflow_script::Request,
        outgoing: &mut Outgoing,
    ) -> Result<(), Diagnostic> {
        let source = &self.plan.workflow.source;
        let invalid = |what: String| {
            Diagnostic::error(format!("`script.before` {what}"))
                .at(source, script.span, "this script")
                .in_step(Some(&step.name))
        };
        let lower = |h: &[(String, String)]| -> Vec<(String, String)> {
            h.iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                .collect()
        };
        let (before, after) = (lower(&seen.headers), lower(&edited.headers));
        for (name, _) in before
            .iter()
            .filter(|(n, _)| !after.iter().any(|(a, _)| a == n))
        {
            if let Ok(name) = HeaderName::from_bytes(name.as_bytes()) {
                outgoing.headers.remove(name);
            }
        }
        for (name, value) in edited.headers.iter().filter(|pair| {
            let key = (pair.0.to_ascii_lowercase(), pair.1.clone());
            !before.contains(&key)
        }) {
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| invalid(format!("set a header with an invalid name `{name}`")))?;
            let value = HeaderValue::from_str(value).map_err(|_| {
                invalid(format!(
                    "set header `{name}` to a value that cannot be sent"
                ))
            })?;
            outgoing.headers.insert(header, value);
        }
        if edited.method != seen.method {
            outgoing.method = reqwest::Method::from_bytes(edited.method.as_bytes())
                .map_err(|_| invalid(format!("set an invalid method `{}`", edited.method)))?;
        }
        if edited.url != seen.url {
            outgoing.url = self
                .urls
                .parse(&edited.url)
                .map_err(|e| invalid(format!("set an invalid URL `{}`: {e}", edited.url)))?;
        }
        Ok(())
    }
}
