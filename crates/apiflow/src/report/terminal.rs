//! The terminal reporter: one line per step, failures in detail, a summary; secrets masked.

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
    /// Keeps the output unmasked until [`Terminal::into_masked`] masks it whole.
    mask_at_end: bool,
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
            mask_at_end: false,
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

    /// Writes unmasked text, to be masked whole by [`Terminal::into_masked`] with every secret
    /// the run learnt: a load run prints an iteration's output only when it failed, and most
    /// do not, so searching each line for secrets as it is written would be wasted.
    #[must_use]
    pub fn masked_at_end(mut self) -> Terminal<W> {
        self.mask_at_end = true;
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
        if self.mask_at_end {
            let _ = self.out.write_all(text.as_bytes());
            return;
        }
        let masked = self.masker.mask(text);
        let _ = self.out.write_all(masked.as_bytes());
    }

    fn step(&mut self, step: &StepReport) {
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
        if !step.children.is_empty() {
            let count = step.children.len();
            let _ = write!(
                line,
                "  ({count} step{})",
                if count == 1 { "" } else { "s" }
            );
        }
        if let (Some(first), Some(last)) = (step.exchanges.first(), step.exchanges.last()) {
            let _ = write!(line, "  {} {}", first.request.method, first.request.url);
            let status = last.response.status;
            let status_text = status.as_str();
            let painted = if status.is_success() || status.is_redirection() {
                self.paint(GREEN, status_text)
            } else {
                self.paint(RED, status_text)
            };
            let _ = write!(line, " → {painted}");
            // Hops before the last are redirects, or a Digest challenge answered.
            let hops = &step.exchanges[..step.exchanges.len() - 1];
            match hops
                .iter()
                .filter(|e| e.response.status.is_redirection())
                .count()
            {
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
        self.write(&line);
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
        let (passed, failed, skipped) = report.counts();
        let code = report.exit_code();
        let mark = if code.passed() {
            self.paint(GREEN, "✓")
        } else {
            self.paint(RED, "✗")
        };
        let mut line = format!(
            "{mark} {}: {passed} passed, {failed} failed, {skipped} skipped in {}",
            report.name,
            self.time(report.duration)
        );
        if let Some(stopped) = &report.stopped {
            let _ = write!(line, " ({stopped})");
        }
        line.push('\n');
        self.write(&line);
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
    pub fn into_masked(self) -> Vec<u8> {
        if !self.mask_at_end {
            return self.out;
        }
        let text = String::from_utf8_lossy(&self.out);
        self.masker.mask(&text).into_owned().into_bytes()
    }
}

impl<W: Write + Send + Sync> Reporter for Terminal<W> {
    fn event(&mut self, event: &Event<'_>) {
        match event {
            Event::Started { name, file, steps } => {
                let plural = if *steps == 1 { "" } else { "s" };
                let line = format!(
                    "{} {name} ({file}, {steps} step{plural})\n",
                    self.paint(BOLD, "▶")
                );
                self.write(&line);
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
