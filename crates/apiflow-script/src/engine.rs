//! The `QuickJS` engine behind a sandbox: a runtime with its limits, one bare context with the
//! prelude that defines Postman's API, and the JSON that carries a script's state in and out.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use rquickjs::{CatchResultExt, CaughtError, Context, Ctx, Function, Runtime};
use serde_json::{Value, json};

use crate::{
    Change, ErrorKind, Limits, Outcome, Request, Run, ScriptError, Test, count_engine_start,
};

/// The JavaScript that defines `pm`, `postman` and the legacy globals.
const PRELUDE: &str = include_str!("../js/prelude.js");

/// The stack a script may use: deep enough for libraries, shallow enough to stop runaway
/// recursion long before the thread's own stack.
const STACK: usize = 1024 * 1024;

pub(crate) struct Engine {
    // Dropped in this order: the context before its runtime.
    context: Context,
    runtime: Runtime,
    clock: Instant,
    /// Nanoseconds after `clock` when the running script must stop; 0 when none runs.
    deadline: Arc<AtomicU64>,
    /// Set by the interrupt handler when it stopped a script.
    interrupted: Arc<AtomicBool>,
    limits: Limits,
}

impl Engine {
    /// Starts a runtime and a context with the prelude evaluated.
    pub(crate) fn new(limits: Limits) -> Result<Engine, ScriptError> {
        count_engine_start();
        let runtime = Runtime::new().map_err(engine_error)?;
        runtime.set_memory_limit(limits.memory);
        runtime.set_max_stack_size(STACK);
        let clock = Instant::now();
        let deadline = Arc::new(AtomicU64::new(0));
        let interrupted = Arc::new(AtomicBool::new(false));
        {
            let deadline = Arc::clone(&deadline);
            let interrupted = Arc::clone(&interrupted);
            runtime.set_interrupt_handler(Some(Box::new(move || {
                let at = deadline.load(Ordering::Relaxed);
                let now = u64::try_from(clock.elapsed().as_nanos()).unwrap_or(u64::MAX);
                let over = at != 0 && now >= at;
                if over {
                    interrupted.store(true, Ordering::Relaxed);
                }
                over
            })));
        }
        let context = Context::full(&runtime).map_err(engine_error)?;
        let engine = Engine {
            context,
            runtime,
            clock,
            deadline,
            interrupted,
            limits,
        };
        engine.start_clock();
        let prelude = engine.context.with(|ctx| -> Result<(), ScriptError> {
            let globals = ctx.globals();
            let load = Function::new(ctx.clone(), load_library).map_err(engine_error)?;
            let random = Function::new(ctx.clone(), random_bytes).map_err(engine_error)?;
            globals.set("__apiflow_load", load).map_err(engine_error)?;
            globals
                .set("__apiflow_random", random)
                .map_err(engine_error)?;
            ctx.eval::<(), _>(PRELUDE)
                .catch(&ctx)
                .map_err(|e| caught(&e, ErrorKind::Engine))
        });
        engine.stop_clock();
        prelude?;
        Ok(engine)
    }

    fn start_clock(&self) {
        self.interrupted.store(false, Ordering::Relaxed);
        let now = self.clock.elapsed() + self.limits.time;
        let at = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX).max(1);
        self.deadline.store(at, Ordering::Relaxed);
    }

    fn stop_clock(&self) {
        self.deadline.store(0, Ordering::Relaxed);
    }

    /// Runs one script; returns what it did, and whether the engine can run another.
    pub(crate) fn run(&self, run: &Run<'_>) -> (Outcome, bool) {
        let input = input_json(run).to_string();
        self.start_clock();
        let result = self.context.with(|ctx| -> Result<String, ScriptError> {
            let entry: Function = ctx.globals().get("__apiflow_run").map_err(engine_error)?;
            entry
                .call::<_, String>((input, run.code))
                .catch(&ctx)
                .map_err(|e| caught(&e, ErrorKind::Thrown))
        });
        self.stop_clock();
        let failed = |error: ScriptError| Outcome {
            request: run.request.clone(),
            error: Some(error),
            ..Outcome::default()
        };
        let output = match result {
            Ok(output) => output,
            Err(mut error) => {
                if self.interrupted.load(Ordering::Relaxed) {
                    error = self.time_error();
                } else if is_memory(&error.message) {
                    error = memory_error(self.limits, &error.message);
                }
                return (failed(error), false);
            }
        };
        let outcome = match serde_json::from_str::<Value>(&output) {
            Ok(value) => outcome_of(&value, run),
            Err(e) => failed(ScriptError {
                kind: ErrorKind::Engine,
                message: format!("the sandbox returned what it should not: {e}"),
                line: None,
                column: None,
            }),
        };
        // An out-of-memory error caught by the script still leaves the sandbox full.
        if let Some(error) = &outcome.error
            && is_memory(&error.message)
        {
            let error = ScriptError {
                line: error.line,
                column: error.column,
                ..memory_error(self.limits, &error.message)
            };
            return (failed(error), false);
        }
        self.runtime.run_gc();
        (outcome, true)
    }

    fn time_error(&self) -> ScriptError {
        ScriptError {
            kind: ErrorKind::Time,
            message: format!(
                "the script ran longer than its limit of {} s and was stopped",
                self.limits.time.as_secs_f64()
            ),
            line: None,
            column: None,
        }
    }
}

/// Compiles a script with the `Function` constructor, which parses without running; the
/// prelude is not needed for that, so the checking context has none.
const CHECK: &str = r"(function (code) {
  try {
    new Function(code);
    return null;
  } catch (error) {
    var match = /<input>:(\d+):(\d+)/.exec(String((error && error.stack) || ''));
    return JSON.stringify({
      message: error && error.name ? error.name + ': ' + error.message : String(error),
      at: match ? { line: Number(match[1]) - 2, column: Number(match[2]) } : null,
      syntax: true
    });
  }
})";

/// The context scripts are compiled in, one per thread, kept between checks: starting a runtime
/// costs more than parsing a script, and a workflow or a collection has one script per step.
struct Checker {
    // Dropped in this order: the context before its runtime.
    context: Context,
    _runtime: Runtime,
    clock: Instant,
    /// Nanoseconds after `clock` when the check under way must stop.
    deadline: Arc<AtomicU64>,
}

impl Checker {
    fn new(limits: &Limits) -> Result<Checker, ScriptError> {
        count_engine_start();
        let runtime = Runtime::new().map_err(engine_error)?;
        runtime.set_memory_limit(limits.memory);
        runtime.set_max_stack_size(STACK);
        let clock = Instant::now();
        let deadline = Arc::new(AtomicU64::new(u64::MAX));
        {
            let deadline = Arc::clone(&deadline);
            // Parsing is all it does, but a parser is code too: the same time limit holds.
            runtime.set_interrupt_handler(Some(Box::new(move || {
                let now = u64::try_from(clock.elapsed().as_nanos()).unwrap_or(u64::MAX);
                now >= deadline.load(Ordering::Relaxed)
            })));
        }
        let context = Context::full(&runtime).map_err(engine_error)?;
        context.with(|ctx| -> Result<(), ScriptError> {
            let check: Function = ctx
                .eval(CHECK)
                .catch(&ctx)
                .map_err(|e| caught(&e, ErrorKind::Engine))?;
            ctx.globals()
                .set("__apiflow_check", check)
                .catch(&ctx)
                .map_err(|e| caught(&e, ErrorKind::Engine))
        })?;
        Ok(Checker {
            context,
            _runtime: runtime,
            clock,
            deadline,
        })
    }

    fn check(&self, code: &str, limits: &Limits) -> Result<Option<String>, ScriptError> {
        let now = u64::try_from(self.clock.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let budget = u64::try_from(limits.time.as_nanos()).unwrap_or(u64::MAX);
        self.deadline
            .store(now.saturating_add(budget), Ordering::Relaxed);
        let result = self.context.with(|ctx| {
            let check: Function = ctx
                .globals()
                .get("__apiflow_check")
                .catch(&ctx)
                .map_err(|e| caught(&e, ErrorKind::Engine))?;
            check
                .call::<_, Option<String>>((code,))
                .catch(&ctx)
                .map_err(|e| caught(&e, ErrorKind::Syntax))
        });
        self.deadline.store(u64::MAX, Ordering::Relaxed);
        result
    }
}

thread_local! {
    static CHECKER: std::cell::RefCell<Option<Checker>> = const { std::cell::RefCell::new(None) };
}

/// Compiles a script, without running it, in this thread's checking context; returns its syntax
/// error, if any.
pub(crate) fn check(code: &str) -> Result<(), ScriptError> {
    let limits = Limits::default();
    let result = CHECKER.with(|cell| {
        let mut slot = cell.borrow_mut();
        let checker = match slot.take() {
            Some(checker) => checker,
            None => Checker::new(&limits)?,
        };
        let result = checker.check(code, &limits);
        // An engine error (memory, time) may leave the context unusable: the next check starts
        // afresh. A syntax error is an answer, not a failure of the context.
        if result.is_ok() {
            *slot = Some(checker);
        }
        result
    });
    match result? {
        None => Ok(()),
        Some(json) => {
            let value: Value = serde_json::from_str(&json).unwrap_or(Value::Null);
            Err(error_of(&value).unwrap_or(ScriptError {
                kind: ErrorKind::Syntax,
                message: "the script does not compile".to_owned(),
                line: None,
                column: None,
            }))
        }
    }
}

/// `__apiflow_load(name)`: compiles a vendored library into a function of `module`, `exports`,
/// `require`, `crypto` and `define`.
#[allow(clippy::needless_pass_by_value)] // `rquickjs` passes a host function's arguments by value.
fn load_library(ctx: Ctx<'_>, name: String) -> rquickjs::Result<Function<'_>> {
    let Some(source) = crate::libraries::source(&name) else {
        return Err(rquickjs::Exception::throw_message(
            &ctx,
            &format!("no library `{name}`"),
        ));
    };
    ctx.eval(format!(
        "(function (module, exports, require, crypto, define) {{\n{source}\n}})"
    ))
}

/// `__apiflow_random(n)`: `n` random bytes from the operating system, for
/// `crypto.getRandomValues` (which `uuid` uses).
fn random_bytes(count: usize) -> Vec<u8> {
    let mut bytes = vec![0; count.min(65_536)];
    if getrandom::fill(&mut bytes).is_err() {
        bytes.fill(0);
    }
    bytes
}

fn input_json(run: &Run<'_>) -> Value {
    let pairs = |pairs: &[(String, String)]| -> Value {
        pairs
            .iter()
            .map(|(key, value)| json!({ "key": key, "value": value }))
            .collect()
    };
    let mut vars = serde_json::Map::new();
    let mut secrets = Vec::new();
    for variable in &run.variables {
        vars.insert(variable.name.clone(), variable.value.clone());
        if variable.secret {
            secrets.push(variable.name.clone());
        }
    }
    let response = run.response.as_ref().map_or(Value::Null, |r| {
        json!({
            "code": r.code,
            "status": r.status,
            "headers": pairs(&r.headers),
            "cookies": pairs(&run.cookies),
            "body": r.body,
            "responseTime": r.time_ms,
            "responseSize": r.size,
            "secret": r.secret,
        })
    });
    json!({
        "info": {
            "eventName": run.phase.event_name(),
            "iteration": run.info.iteration,
            "iterationCount": run.info.iteration_count,
            "requestName": run.info.request_name,
            "requestId": run.info.request_id,
        },
        "request": {
            "url": run.request.url,
            "method": run.request.method,
            "headers": pairs(&run.request.headers),
        },
        "response": response,
        "vars": vars,
        "secrets": secrets,
        "data": run.data,
        "cookies": pairs(&run.cookies),
    })
}

fn outcome_of(value: &Value, run: &Run<'_>) -> Outcome {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let list = |key: &str| value.get(key).and_then(Value::as_array).cloned();
    let tests = list("tests")
        .unwrap_or_default()
        .iter()
        .map(|t| Test {
            name: text(&t["name"]),
            passed: t["passed"].as_bool().unwrap_or(false),
            skipped: t["skipped"].as_bool().unwrap_or(false),
            message: t["message"].as_str().map(str::to_owned),
            line: position(&t["at"], "line"),
            column: position(&t["at"], "column"),
        })
        .collect();
    let console = list("console")
        .unwrap_or_default()
        .iter()
        .map(|line| (text(&line["level"]), text(&line["text"])))
        .collect();
    let changes = list("changes")
        .unwrap_or_default()
        .iter()
        .filter_map(|c| {
            let scope = text(&c["scope"]);
            let name = text(&c["name"]);
            match c["op"].as_str()? {
                "set" => Some(Change::Set {
                    scope,
                    name,
                    value: c["value"].clone(),
                }),
                "unset" => Some(Change::Unset { scope, name }),
                _ => None,
            }
        })
        .collect();
    let request = value.get("request").map_or_else(
        || run.request.clone(),
        |r| Request {
            url: text(&r["url"]),
            method: text(&r["method"]),
            headers: r["headers"]
                .as_array()
                .map(|headers| {
                    headers
                        .iter()
                        .map(|h| (text(&h["key"]), text(&h["value"])))
                        .collect()
                })
                .unwrap_or_default(),
        },
    );
    let next_request = value
        .get("next")
        .filter(|n| n.is_object())
        .map(|n| n["name"].as_str().map(str::to_owned));
    Outcome {
        tests,
        console,
        changes,
        request,
        next_request,
        read_secret: value["readSecret"].as_bool().unwrap_or(false),
        error: value.get("error").and_then(error_of),
    }
}

/// Reads `line` or `column` of a location the prelude found in a stack.
fn position(at: &Value, key: &str) -> Option<u32> {
    at.get(key)
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n > 0)
}

fn error_of(value: &Value) -> Option<ScriptError> {
    let message = value.get("message")?.as_str()?.to_owned();
    let at = value.get("at").unwrap_or(&Value::Null);
    let number = |key: &str| position(at, key);
    let syntax = value["syntax"].as_bool().unwrap_or(false);
    Some(ScriptError {
        kind: if syntax {
            ErrorKind::Syntax
        } else {
            ErrorKind::Thrown
        },
        message,
        line: number("line"),
        column: number("column"),
    })
}

/// Tells whether an error is the engine running out of memory: its own `out of memory`, or
/// `null` when even that error could not be allocated (a script could `throw null` itself, so
/// the message says both).
fn is_memory(message: &str) -> bool {
    message.contains("out of memory") || message == "null"
}

fn memory_error(limits: Limits, message: &str) -> ScriptError {
    let thrown = if message == "null" {
        " (or it threw `null`)"
    } else {
        ""
    };
    ScriptError {
        kind: ErrorKind::Memory,
        message: format!(
            "the script ran out of memory: the sandbox may use {} MiB{thrown}",
            limits.memory / (1024 * 1024)
        ),
        line: None,
        column: None,
    }
}

fn caught(error: &CaughtError<'_>, kind: ErrorKind) -> ScriptError {
    let message = match error {
        CaughtError::Exception(exception) => exception
            .message()
            .unwrap_or_else(|| "an exception".to_owned()),
        CaughtError::Value(value) if value.is_null() => "null".to_owned(),
        CaughtError::Value(value) => format!("{value:?}"),
        CaughtError::Error(error) => error.to_string(),
    };
    ScriptError {
        kind,
        message,
        line: None,
        column: None,
    }
}

#[allow(clippy::needless_pass_by_value)] // Used as `map_err(engine_error)`.
fn engine_error(error: rquickjs::Error) -> ScriptError {
    let message = error.to_string();
    if is_memory(&message) || matches!(error, rquickjs::Error::Allocation) {
        return memory_error(Limits::default(), &message);
    }
    ScriptError {
        kind: ErrorKind::Engine,
        message: format!("the script sandbox failed: {message}"),
        line: None,
        column: None,
    }
}
