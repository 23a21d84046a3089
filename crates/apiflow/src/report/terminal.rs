//! The terminal reporter: one line per step, failures in detail, a summary; secrets masked.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write;

use crate::duration::format_duration;
use crate::http::Exchange;
use crate::http::timing::Timings;
use crate::report::event::{Event, Outcome, Reporter, RunReport, StepReport};
use crate::secret::Masker;

/// How much of a body a failure shows.
const FAILURE_BODY_LIMIT: usize = 2048;
/// How much of a body `-v` shows.
const VERBOSE_BODY_LIMIT: usize = 64 * 1024;

/// Prints a run for people.
pub struct Terminal<W: Write> {
    out: W,
    masker: Masker,
    color: bool,
    verbose: bool,
    /// Replaces durations with `<t>`, for tests that compare output exactly.
    stable: bool,
    /// Keeps what it is told, unformatted where it can, until [`Terminal::into_masked`]
    /// writes it and masks it whole.
    deferred: Option<Vec<Pending>>,
    /// Prints each request as a `curl` command.
    curl: bool,
    /// Leaves secrets in the `curl` commands.
    show_secrets: bool,
    /// What the running step's scripts wrote with `console`, shown with it by `-v`.
    console: Vec<String>,
}

impl<W: Write> Terminal<W> {
    /// Creates a terminal reporter writing to `out`.
    pub fn new(out: W, color: bool, verbose: bool) -> Terminal<W> {
        Terminal {
            out,
            masker: Masker::new(),
            color,
            verbose,
            stable: false,
            deferred: None,
            curl: false,
            show_secrets: false,
            console: Vec::new(),
        }
    }

    /// Prints each request as a `curl` command; secrets stay masked unless `show_secrets`.
    #[must_use]
    pub fn curl(mut self, show_secrets: bool) -> Terminal<W> {
        self.curl = true;
        self.show_secrets = show_secrets;
        self
    }

    /// Prints `<t>` instead of durations, so output can be compared exactly.
    #[must_use]
    pub fn stable(mut self) -> Terminal<W> {
        self.stable = true;
        self
    }

    /// Keeps the run's workflow, step and summary lines as data, and writes them, with every
    /// secret the run learnt masked, only when [`Terminal::into_masked`] asks: a load run
    /// prints an iteration's output only when it failed, and most do not, so formatting and
    /// masking each line as it comes would be wasted.
    #[must_use]
    pub fn deferred(mut self) -> Terminal<W> {
        self.deferred = Some(Vec::new());
        self
    }

    /// Returns the writer.
    pub fn into_inner(self) -> W {
        self.out
    }

    fn time(&self, duration: std::time::Duration) -> String {
        if self.stable {
            "<t>".to_owned()
        } else {
            format_duration(duration)
        }
    }

    fn paint<'t>(&self, style: &'static str, text: &'t str) -> Paint<'t> {
        Paint {
            style: self.color.then_some(style),
            text,
        }
    }

    fn write(&mut self, text: &str) {
        if let Some(pending) = &mut self.deferred {
            pending.push(Pending::Text(text.to_owned()));
            return;
        }
        let masked = self.masker.mask(text);
        let _ = self.out.write_all(masked.as_bytes());
    }

    fn started_line(&self, name: &str, file: &str, steps: usize) -> String {
        let plural = if steps == 1 { "" } else { "s" };
        format!(
            "{} {name} ({file}, {steps} step{plural})\n",
            self.paint(BOLD, "▶")
        )
    }

    fn step(&mut self, step: &StepReport) {
        let line = StepLine::of(step);
        if let Some(pending) = &mut self.deferred {
            pending.push(Pending::Step(line.into_owned()));
        } else {
            let text = self.step_line(&line);
            self.write(&text);
        }
        self.step_details(step);
    }

    fn step_line(&self, step: &StepLine<'_>) -> String {
        let mut line = String::new();
        let (mark, style) = match step.outcome {
            Outcome::Passed => ("✓", GREEN),
            Outcome::Failed | Outcome::Error => ("✗", RED),
            Outcome::Skipped => ("-", DIM),
        };
        for _ in 0..=step.depth {
            line.push_str("  ");
        }
        let _ = write!(line, "{} {}", self.paint(style, mark), step.name);
        if step.children > 0 {
            let count = step.children;
            let _ = write!(
                line,
                "  ({count} step{})",
                if count == 1 { "" } else { "s" }
            );
        }
        if let Some(sent) = &step.sent {
            let _ = write!(line, "  {} {}", sent.method, sent.url);
            let status = sent.status;
            let status_text = status.as_str();
            let painted = if status.is_success() || status.is_redirection() {
                self.paint(GREEN, status_text)
            } else {
                self.paint(RED, status_text)
            };
            let _ = write!(line, " → {painted}");
            match sent.redirects {
                0 => {}
                1 => line.push_str(" (1 redirect)"),
                n => {
                    let _ = write!(line, " ({n} redirects)");
                }
            }
            let _ = write!(line, " {}", self.paint(DIM, &self.time(step.duration)));
        }
        if step.attempts > 1 {
            let _ = write!(line, " [{} attempts]", step.attempts);
        }
        if let Some(reason) = &step.reason {
            let _ = write!(line, " {}", self.paint(DIM, &format!("({reason})")));
        }
        line.push('\n');
        line
    }

    /// Writes what follows a step's line: its `curl` commands, console lines, exchanges with
    /// `-v`, warnings, and its failures.
    fn step_details(&mut self, step: &StepReport) {
        if self.curl {
            for exchange in &step.exchanges {
                let command = format!("    $ {}\n", super::curl::command(&exchange.request));
                if self.show_secrets {
                    let _ = self.out.write_all(command.as_bytes());
                } else {
                    self.write(&command);
                }
            }
        }
        for line in std::mem::take(&mut self.console) {
            self.write(&line);
        }
        if self.verbose {
            for exchange in &step.exchanges {
                let mut text = exchange_text(exchange, VERBOSE_BODY_LIMIT, "    ");
                let timings = if self.stable {
                    "<t>".to_owned()
                } else {
                    timings_text(&exchange.response.timings)
                };
                let _ = writeln!(text, "    * timings: {timings}");
                self.write(&text);
            }
        }
        if !step.warnings.is_empty() {
            let mut text = String::new();
            for warning in &step.warnings {
                text.push('\n');
                text.push_str(&warning.render(self.color));
            }
            text.push('\n');
            self.write(&text);
        }
        if matches!(step.outcome, Outcome::Failed | Outcome::Error) {
            let mut text = String::new();
            for failure in &step.failures {
                text.push('\n');
                text.push_str(&failure.render(self.color));
            }
            if !self.verbose
                && let Some(exchange) = step.exchanges.last()
            {
                text.push('\n');
                text.push_str(&exchange_text(exchange, FAILURE_BODY_LIMIT, "    "));
            }
            text.push('\n');
            self.write(&text);
        }
    }

    fn summary(&mut self, report: &RunReport) {
        let summary = Summary {
            name: Cow::Borrowed(&report.name),
            counts: report.counts(),
            passed: report.exit_code().passed(),
            duration: report.duration,
            stopped: report.stopped.as_deref().map(Cow::Borrowed),
        };
        if let Some(pending) = &mut self.deferred {
            pending.push(Pending::Finished(summary.into_owned()));
        } else {
            let line = self.summary_line(&summary);
            self.write(&line);
        }
    }

    fn summary_line(&self, summary: &Summary<'_>) -> String {
        let (passed, failed, skipped) = summary.counts;
        let mark = if summary.passed {
            self.paint(GREEN, "✓")
        } else {
            self.paint(RED, "✗")
        };
        let mut line = format!(
            "{mark} {}: {passed} passed, {failed} failed, {skipped} skipped in {}",
            summary.name,
            self.time(summary.duration)
        );
        if let Some(stopped) = &summary.stopped {
            let _ = write!(line, " ({stopped})");
        }
        line.push('\n');
        line
    }
}

/// Writes a request and its response the way `-v` and failures show them.
pub fn exchange_text(exchange: &Exchange, limit: usize, indent: &str) -> String {
    let mut out = String::new();
    let request = &exchange.request;
    let _ = writeln!(out, "{indent}> {} {}", request.method, request.url);
    for (name, value) in &request.headers {
        let _ = writeln!(
            out,
            "{indent}> {name}: {}",
            String::from_utf8_lossy(value.as_bytes())
        );
    }
    if let Some(body) = &request.body {
        let preview = super::body_preview(&request.headers, &body.shown(), limit);
        for line in preview.lines() {
            let _ = writeln!(out, "{indent}> {line}");
        }
    }
    let response = &exchange.response;
    let reason = response.status.canonical_reason().unwrap_or("");
    let _ = writeln!(out, "{indent}< {} {reason}", response.status.as_u16());
    for (name, value) in &response.headers {
        let _ = writeln!(
            out,
            "{indent}< {name}: {}",
            String::from_utf8_lossy(value.as_bytes())
        );
    }
    let preview = super::body_preview(&response.headers, &response.body, limit);
    for line in preview.lines() {
        let _ = writeln!(out, "{indent}< {line}");
    }
    out
}

/// Writes an exchange's timings on one line: `dns –, connect 0.21 ms, tls –, ttfb 1.03 ms,
/// transfer 0.04 ms, total 1.40 ms`, with `–` for a phase that did not happen.
pub fn timings_text(timings: &Timings) -> String {
    let shown = |phase: Option<std::time::Duration>| {
        phase.map_or_else(
            || "–".to_owned(),
            |d| format!("{:.2} ms", crate::http::timing::millis(d)),
        )
    };
    format!(
        "dns {}, connect {}, tls {}, ttfb {}, transfer {}, total {}",
        shown(timings.dns),
        shown(timings.connect),
        shown(timings.tls),
        shown(Some(timings.ttfb)),
        shown(Some(timings.transfer)),
        shown(Some(timings.total)),
    )
}

impl Terminal<Vec<u8>> {
    /// Returns what was written, every secret the run learnt masked.
    pub fn into_masked(mut self) -> Vec<u8> {
        let Some(pending) = self.deferred.take() else {
            return self.out;
        };
        let mut text = String::from_utf8_lossy(&self.out).into_owned();
        for item in pending {
            match item {
                Pending::Text(line) => text.push_str(&line),
                Pending::Started { name, file, steps } => {
                    text.push_str(&self.started_line(&name, &file, steps));
                }
                Pending::Step(line) => text.push_str(&self.step_line(&line)),
                Pending::Finished(summary) => text.push_str(&self.summary_line(&summary)),
            }
        }
        self.masker.mask(&text).into_owned().into_bytes()
    }
}

impl<W: Write + Send + Sync> Reporter for Terminal<W> {
    fn event(&mut self, event: &Event<'_>) {
        match event {
            Event::Started { name, file, steps } => {
                if let Some(pending) = &mut self.deferred {
                    pending.push(Pending::Started {
                        name: (*name).to_owned(),
                        file: (*file).to_owned(),
                        steps: *steps,
                    });
                } else {
                    let line = self.started_line(name, file, *steps);
                    self.write(&line);
                }
            }
            Event::Secret(value) => {
                self.masker.add(value);
            }
            Event::StepStarted {
                name,
                depth,
                nested: true,
            } => {
                let indent = "  ".repeat(*depth as usize + 1);
                let line = format!("{indent}{} {name}\n", self.paint(DIM, "▸"));
                self.write(&line);
            }
            Event::StepStarted { .. } | Event::Attempt { .. } => {}
            Event::Console { level, line, .. } => {
                if self.verbose {
                    self.console.push(format!("    console.{level}: {line}\n"));
                }
            }
            Event::Step(step) => self.step(step),
            Event::Finally => self.write(&format!("  {}\n", self.paint(DIM, "finally"))),
            Event::Finished(report) => self.summary(report),
        }
        let _ = self.out.flush();
    }
}

/// What a deferred terminal keeps of an event until it writes it.
enum Pending {
    /// Text written as it came: the lines of nested steps, failures, warnings, `-v` dumps.
    Text(String),
    /// A workflow's first line.
    Started {
        name: String,
        file: String,
        steps: usize,
    },
    /// A step's line.
    Step(StepLine<'static>),
    /// A workflow's summary line.
    Finished(Summary<'static>),
}

/// What a step's line shows.
struct StepLine<'s> {
    depth: u32,
    outcome: Outcome,
    name: Cow<'s, str>,
    /// How many steps ran inside it.
    children: usize,
    sent: Option<Sent<'s>>,
    duration: std::time::Duration,
    attempts: u32,
    reason: Option<Cow<'s, str>>,
}

/// What a step's line shows of its exchanges.
struct Sent<'s> {
    /// The first request's method and URL.
    method: reqwest::Method,
    url: Cow<'s, str>,
    /// The last response's status.
    status: reqwest::StatusCode,
    /// How many hops before the last were redirects (the others answered a Digest challenge).
    redirects: usize,
}

impl<'s> StepLine<'s> {
    fn of(step: &'s StepReport) -> StepLine<'s> {
        let sent = match (step.exchanges.first(), step.exchanges.last()) {
            (Some(first), Some(last)) => Some(Sent {
                method: first.request.method.clone(),
                url: Cow::Borrowed(first.request.url.as_str()),
                status: last.response.status,
                redirects: step.exchanges[..step.exchanges.len() - 1]
                    .iter()
                    .filter(|e| e.response.status.is_redirection())
                    .count(),
            }),
            _ => None,
        };
        StepLine {
            depth: step.depth,
            outcome: step.outcome,
            name: Cow::Borrowed(&step.name),
            children: step.children.len(),
            sent,
            duration: step.duration,
            attempts: step.attempts,
            reason: step.reason.as_deref().map(Cow::Borrowed),
        }
    }

    fn into_owned(self) -> StepLine<'static> {
        StepLine {
            name: Cow::Owned(self.name.into_owned()),
            sent: self.sent.map(|sent| Sent {
                url: Cow::Owned(sent.url.into_owned()),
                ..sent
            }),
            reason: self.reason.map(|r| Cow::Owned(r.into_owned())),
            ..self
        }
    }
}

/// What a workflow's summary line shows.
struct Summary<'s> {
    name: Cow<'s, str>,
    /// Steps passed, failed (errors included) and skipped.
    counts: (usize, usize, usize),
    passed: bool,
    duration: std::time::Duration,
    stopped: Option<Cow<'s, str>>,
}

impl Summary<'_> {
    fn into_owned(self) -> Summary<'static> {
        Summary {
            name: Cow::Owned(self.name.into_owned()),
            stopped: self.stopped.map(|s| Cow::Owned(s.into_owned())),
            ..self
        }
    }
}

/// Text painted in a style when colours are on.
struct Paint<'t> {
    style: Option<&'static str>,
    text: &'t str,
}

impl std::fmt::Display for Paint<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.style {
            Some(style) => write!(f, "{style}{}\x1b[0m", self.text),
            None => f.write_str(self.text),
        }
    }
}

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";
