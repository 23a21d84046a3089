//! Runs the JavaScript of a step's `script:` in a sandbox that speaks Postman's scripting API.
//!
//! The engine is `QuickJS` (through `rquickjs`). A sandbox is a bare context: the language's
//! standard objects and nothing that reaches a file, the network, a process or the environment.
//! Each script runs under a time limit and the sandbox under a memory limit. The runtime is made
//! the first time a script runs, so a workflow without scripts never pays for one.
//!
//! The runner hands a script its state ([`Run`]) and gets back what it did ([`Outcome`]): its
//! tests, its console lines, the variables it set, the request headers it changed. Nothing in
//! here knows about apiflow's workflows; `scan` finds the variables a script sets by literal
//! name, for the data-flow check.

mod engine;
mod libraries;
mod scan;

use std::time::Duration;

pub use self::libraries::LIBRARIES;
pub use self::scan::{LiteralSet, literal_jumps, literal_sets};

/// The memory a sandbox may use, all its scripts and loaded libraries together.
pub const DEFAULT_MEMORY: usize = 64 * 1024 * 1024;

/// The time one script may run.
pub const DEFAULT_TIME: Duration = Duration::from_secs(5);

/// The limits a sandbox runs under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of memory for the sandbox.
    pub memory: usize,
    /// Time for each script.
    pub time: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            memory: DEFAULT_MEMORY,
            time: DEFAULT_TIME,
        }
    }
}

/// When a script runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Before the request is rendered (Postman's pre-request script).
    Before,
    /// After the response (Postman's test script).
    After,
}

impl Phase {
    /// Returns Postman's name for it, as `pm.info.eventName` gives it.
    pub fn event_name(self) -> &'static str {
        match self {
            Phase::Before => "prerequest",
            Phase::After => "test",
        }
    }
}

/// A request as a script sees it, and changes it in `before`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    /// The URL.
    pub url: String,
    /// The method, upper-case.
    pub method: String,
    /// The headers, in order.
    pub headers: Vec<(String, String)>,
}

/// The response an `after` script reads.
#[derive(Clone, Debug, Default)]
pub struct Response {
    /// The status code.
    pub code: u16,
    /// The reason phrase (`OK`, `Not Found`).
    pub status: String,
    /// The headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body as text (bytes that are not UTF-8 replaced).
    pub body: String,
    /// How long the exchange took, in milliseconds.
    pub time_ms: u64,
    /// The body's size in bytes.
    pub size: u64,
    /// Whether the response holds a value already secret: reading it makes the script's
    /// values secret.
    pub secret: bool,
}

/// `pm.info`.
#[derive(Clone, Debug, Default)]
pub struct Info {
    /// The iteration, from 0.
    pub iteration: u64,
    /// How many iterations the run makes.
    pub iteration_count: u64,
    /// The step's name.
    pub request_name: String,
    /// An id of the step, stable for the run.
    pub request_id: String,
}

/// A variable a script can read.
#[derive(Clone, Debug)]
pub struct Variable {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: serde_json::Value,
    /// Whether it is secret.
    pub secret: bool,
}

/// What one script runs with.
#[derive(Clone, Debug)]
pub struct Run<'a> {
    /// When it runs.
    pub phase: Phase,
    /// Its code.
    pub code: &'a str,
    /// `pm.info`.
    pub info: Info,
    /// The request.
    pub request: Request,
    /// The response, in `after`.
    pub response: Option<Response>,
    /// The run's variables.
    pub variables: Vec<Variable>,
    /// The iteration's data row (`pm.iterationData`).
    pub data: serde_json::Map<String, serde_json::Value>,
    /// The cookies the jar holds for the request's URL (`pm.cookies`).
    pub cookies: Vec<(String, String)>,
}

/// A `pm.test` (or `tests["…"]`) and how it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Test {
    /// Its name.
    pub name: String,
    /// Whether it passed (a skipped test did not fail).
    pub passed: bool,
    /// `pm.test.skip`, or a test without a function.
    pub skipped: bool,
    /// Why it failed: the assertion's message.
    pub message: Option<String>,
    /// Where in the script it failed (the line from 1), when the engine knows.
    pub line: Option<u32>,
    /// The column in that line, from 1.
    pub column: Option<u32>,
}

/// A variable a script set or unset.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Set to a value.
    Set {
        /// The scope it was set through (`environment`, `globals`, …).
        scope: String,
        /// Its name.
        name: String,
        /// Its value.
        value: serde_json::Value,
    },
    /// Unset.
    Unset {
        /// The scope it was unset through.
        scope: String,
        /// Its name.
        name: String,
    },
}

/// Why a script did not finish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// It does not compile.
    Syntax,
    /// It threw outside a `pm.test`.
    Thrown,
    /// It ran longer than the time limit.
    Time,
    /// The sandbox ran out of memory.
    Memory,
    /// The sandbox could not be set up.
    Engine,
}

/// A script's error, at a line and column of the script when the engine knows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// The engine's message (`TypeError: …`).
    pub message: String,
    /// The line in the script, from 1.
    pub line: Option<u32>,
    /// The column in that line, from 1.
    pub column: Option<u32>,
}

/// What a script did.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Its tests, in the order they ran (then the legacy `tests[…]` entries).
    pub tests: Vec<Test>,
    /// Its `console` lines, with their level (`log`, `warn`, …).
    pub console: Vec<(String, String)>,
    /// The variables it set or unset, in order.
    pub changes: Vec<Change>,
    /// The request, with the headers it added or changed.
    pub request: Request,
    /// `setNextRequest`: `Some(None)` stops the run, `Some(Some(name))` jumps.
    pub next_request: Option<Option<String>>,
    /// Whether it read a secret variable or a response holding a secret.
    pub read_secret: bool,
    /// Why it did not finish.
    pub error: Option<ScriptError>,
}

/// A sandbox for the scripts of one run; its engine starts when the first script runs.
pub struct Sandbox {
    limits: Limits,
    engine: Option<engine::Engine>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("limits", &self.limits)
            .field("started", &self.engine.is_some())
            .finish()
    }
}

impl Sandbox {
    /// Returns a sandbox that has not started its engine.
    pub fn new(limits: Limits) -> Sandbox {
        Sandbox {
            limits,
            engine: None,
        }
    }

    /// Tells whether the engine has started.
    pub fn started(&self) -> bool {
        self.engine.is_some()
    }

    /// Runs one script, starting the engine first when needed.
    pub fn run(&mut self, run: &Run<'_>) -> Outcome {
        let engine = match self.engine.take() {
            Some(engine) => engine,
            None => match engine::Engine::new(self.limits) {
                Ok(engine) => engine,
                Err(error) => {
                    return Outcome {
                        request: run.request.clone(),
                        error: Some(error),
                        ..Outcome::default()
                    };
                }
            },
        };
        let (outcome, healthy) = engine.run(run);
        // After a limit was hit the engine's state is not to be trusted: the next script
        // starts a new one.
        if healthy {
            self.engine = Some(engine);
        }
        outcome
    }
}

/// Compiles a script without running it; returns its syntax error, if any.
pub fn check_syntax(code: &str) -> Result<(), ScriptError> {
    engine::check(code)
}

thread_local! {
    static STARTED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Counts the engines started on this thread (each sandbox starts at most one at a time): lets
/// tests prove that a run without scripts starts none.
pub fn engines_started_on_this_thread() -> u64 {
    STARTED.with(std::cell::Cell::get)
}

fn count_engine_start() {
    STARTED.with(|count| count.set(count.get() + 1));
}

#[cfg(test)]
mod tests;
