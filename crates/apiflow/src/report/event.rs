//! What the runner tells reporters: events and the records they carry.

use std::time::Duration;

use crate::diagnostic::Diagnostic;
use crate::exit::ExitCode;
use crate::http::Exchange;

/// How a step ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every expectation held.
    Passed,
    /// The server answered, but not as expected (or a capture or template failed).
    Failed,
    /// The request could not be completed (connection, TLS, timeout).
    Error,
    /// Not run: its `if` was false, or the run stopped before it.
    Skipped,
}

/// A value a step captured.
#[derive(Clone, Debug)]
pub struct Capture {
    /// The variable name.
    pub name: String,
    /// The value.
    pub value: serde_json::Value,
    /// Whether it is masked.
    pub secret: bool,
}

/// One expectation and whether it held.
#[derive(Clone, Debug)]
pub struct CheckResult {
    /// What was expected, as written: `status 200`, `$.id == "x"`, `json.expires_in > 0`.
    pub what: String,
    /// Whether it held.
    pub passed: bool,
}

/// Everything about one step's run.
#[derive(Clone, Debug)]
pub struct StepReport {
    /// The step's name.
    pub name: String,
    /// Whether it is a `finally` step.
    pub finally: bool,
    /// How it ended.
    pub outcome: Outcome,
    /// Why it was skipped, or what stopped it.
    pub reason: Option<String>,
    /// Every request and response of the last attempt (several when redirects were followed).
    pub exchanges: Vec<Exchange>,
    /// How many attempts were made.
    pub attempts: u32,
    /// What failed, each pointing at the YAML that expected otherwise.
    pub failures: Vec<Diagnostic>,
    /// What differed without failing the step (`--openapi-checks warn`).
    pub warnings: Vec<Diagnostic>,
    /// What was captured.
    pub captures: Vec<Capture>,
    /// Every expectation checked, passed or not.
    pub checks: Vec<CheckResult>,
    /// Steps run inside this one: a `uses` workflow's steps, or one per `for_each` element.
    pub children: Vec<StepReport>,
    /// How deep the step is nested (0 at the top).
    pub depth: u32,
    /// Wall time of the step, attempts and waits included.
    pub duration: Duration,
    /// Where the step itself asked the run to go on (a script's `postman.setNextRequest`):
    /// honoured after the step as `next:` is, and over the step's `next:`. `None` leaves the
    /// choice to `next:` or the following step.
    pub(crate) jump: Option<Jump>,
}

impl StepReport {
    /// Starts the report of a step that has not run yet: skipped, with nothing in it; another
    /// front end's runner fills it as the step runs.
    pub fn new(name: impl Into<String>) -> StepReport {
        StepReport {
            name: name.into(),
            finally: false,
            outcome: Outcome::Skipped,
            reason: None,
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
}

/// Where a step asks the run to go on once it has run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Jump {
    /// At the step of this name, in the same workflow's `steps` (run again if it already ran).
    To(String),
    /// Nowhere: the run ends after this step, then `finally` runs (`setNextRequest(null)`).
    End,
}

/// Everything about one workflow's run.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// The workflow's name.
    pub name: String,
    /// The file it came from.
    pub file: String,
    /// The inputs the run used.
    pub inputs: Vec<Capture>,
    /// When the run started.
    pub started_at: std::time::SystemTime,
    /// Each step, in the order run.
    pub steps: Vec<StepReport>,
    /// Wall time of the run.
    pub duration: Duration,
    /// Set when the run was interrupted or timed out as a whole.
    pub stopped: Option<String>,
}

impl RunReport {
    /// Returns how the run ended: passed, a step failed, a request could not be completed, or
    /// interrupted.
    pub fn exit_code(&self) -> ExitCode {
        if self.stopped.as_deref() == Some(INTERRUPTED) {
            return ExitCode::Interrupted;
        }
        let outcomes = || self.steps.iter().map(|s| s.outcome);
        if outcomes().any(|o| o == Outcome::Error) {
            ExitCode::Unreachable
        } else if outcomes().any(|o| o == Outcome::Failed) || self.stopped.is_some() {
            ExitCode::Failed
        } else {
            ExitCode::Passed
        }
    }

    /// Names how the run ended, as the reports write it: `passed`, `failed`, `error` (a request
    /// could not be completed) or `interrupted`.
    pub fn outcome(&self) -> &'static str {
        match self.exit_code() {
            ExitCode::Passed => "passed",
            ExitCode::Failed => "failed",
            ExitCode::Unreachable => "error",
            ExitCode::Invalid | ExitCode::Interrupted => "interrupted",
        }
    }

    /// Counts steps by outcome: passed, failed (errors included), skipped.
    pub fn counts(&self) -> (usize, usize, usize) {
        let count = |o: Outcome| self.steps.iter().filter(|s| s.outcome == o).count();
        (
            count(Outcome::Passed),
            count(Outcome::Failed) + count(Outcome::Error),
            count(Outcome::Skipped),
        )
    }
}

/// The reason recorded when Ctrl-C stops a run.
pub const INTERRUPTED: &str = "interrupted";

/// Something that happened during a run.
#[derive(Debug)]
pub enum Event<'a> {
    /// A workflow starts.
    Started {
        /// Its name.
        name: &'a str,
        /// Its file.
        file: &'a str,
        /// How many steps it has, `finally` included.
        steps: usize,
    },
    /// A value that must be masked from now on.
    Secret(&'a str),
    /// A step starts (reporters may show progress).
    StepStarted {
        /// Its name.
        name: &'a str,
        /// How deep it is nested.
        depth: u32,
        /// Whether steps will be reported inside it (`uses`, `for_each`).
        nested: bool,
    },
    /// A step is about to be tried again: it waits for its retry delay, then sends.
    Attempt {
        /// The step's name.
        name: &'a str,
        /// The attempt about to be made, from 2.
        number: u32,
        /// The attempts allowed.
        of: u32,
    },
    /// A step's script wrote a line with `console.log` (or `info`, `warn`, …).
    Console {
        /// The step's name.
        step: &'a str,
        /// `log`, `info`, `warn`, `error` or `debug`.
        level: &'a str,
        /// What it wrote.
        line: &'a str,
    },
    /// A step ended.
    Step(&'a StepReport),
    /// The `finally` steps start.
    Finally,
    /// The workflow ended.
    Finished(&'a RunReport),
}

/// Receives events; the only code that prints.
pub trait Reporter: Send + Sync {
    /// Handles one event.
    fn event(&mut self, event: &Event<'_>);
}

/// A reporter that keeps nothing.
pub struct Silent;

impl Reporter for Silent {
    fn event(&mut self, _event: &Event<'_>) {}
}
