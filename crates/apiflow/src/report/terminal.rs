//! The terminal reporter: one line per step, failures in detail, a summary; secrets masked.

use std::fmt::Write as _;
use std::io::Write;

use crate::duration::write_duration;
use crate::http::Exchange;
use crate::http::timing::Timings;
use crate::report::event::{Event, Outcome, Reporter, RunReport, StepReport};
use crate::secret::Masker;

/// Room for a usual line: a step's, with its method, URL, status and time.
const LINE: usize = 160;
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
    /// Leaves out the summary line of a run that passed, whose output nobody is shown.
    failed_only: bool,
    /// Prints each request as a `curl` command.
    curl: bool,
    /// Leaves secrets in the `curl` commands.
    show_secrets: bool,
    /// What the running step's scripts wrote with `console`, shown with it by `-v`.
    console: Vec<String>,
    /// The line being written, kept between lines so that writing one allocates nothing.
    line: String,
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
            failed_only: false,
            curl: false,
            show_secrets: false,
            console: Vec::new(),
            line: String::new(),
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

    /// Writes for a run whose output is shown only if it fails (an iteration of a load run):
    /// a run that passed ends without its summary line.
    #[must_use]
    pub fn shown_if_failed(mut self) -> Terminal<W> {
        self.failed_only = true;
        self
    }

    /// Returns the writer.
    pub fn into_inner(self) -> W {
        self.out
    }

    /// Writes one line, built by `build` into the buffer the terminal keeps between lines.
    ///
    /// The lines every step and run print are written with pushes, not the formatting
    /// machinery: a load run writes them for every iteration, and shows few.
    fn line(&mut self, build: impl FnOnce(&Self, &mut String)) {
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        line.reserve(LINE);
        build(self, &mut line);
        line.push('\n');
        self.write(&line);
        self.line = line;
    }

    /// Adds a duration to `line`, or `<t>` when the output is to be compared exactly.
    fn push_time(&self, line: &mut String, duration: std::time::Duration) {
        if self.stable {
            line.push_str("<t>");
        } else {
            write_duration(line, duration);
        }
    }

    /// Adds `text` to `line`, painted in `style` when colours are on.
    fn push_painted(&self, line: &mut String, style: &str, text: &str) {
        self.push_painted_with(line, style, |line| line.push_str(text));
    }

    /// Adds what `write` adds to `line`, painted in `style` when colours are on.
    fn push_painted_with(&self, line: &mut String, style: &str, write: impl FnOnce(&mut String)) {
        if self.color {
            line.push_str(style);
        }
        write(line);
        if self.color {
            line.push_str(RESET);
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
        self.line(|terminal, line| terminal.step_line(line, step));
        self.step_details(step);
    }

    fn step_line(&self, line: &mut String, step: &StepReport) {
        let (mark, style) = match step.outcome {
            Outcome::Passed => ("✓", GREEN),
            Outcome::Failed | Outcome::Error => ("✗", RED),
            Outcome::Skipped => ("-", DIM),
        };
        for _ in 0..=step.depth {
            line.push_str("  ");
        }
        self.push_painted(line, style, mark);
        line.push(' ');
        line.push_str(&step.name);
        if !step.children.is_empty() {
            let count = step.children.len();
            let _ = write!(
                line,
                "  ({count} step{})",
                if count == 1 { "" } else { "s" }
            );
        }
        if let (Some(first), Some(last)) = (step.exchanges.first(), step.exchanges.last()) {
            line.push_str("  ");
            line.push_str(first.request.method.as_str());
            line.push(' ');
            line.push_str(first.request.url.as_str());
            let status = last.response.status;
            let style = if status.is_success() || status.is_redirection() {
                GREEN
            } else {
                RED
            };
            line.push_str(" → ");
            self.push_painted(line, style, status.as_str());
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
            line.push(' ');
            self.push_painted_with(line, DIM, |line| self.push_time(line, step.duration));
        }
        if step.attempts > 1 {
            let _ = write!(line, " [{} attempts]", step.attempts);
        }
        if let Some(reason) = &step.reason {
            line.push(' ');
            self.push_painted_with(line, DIM, |line| {
                line.push('(');
                line.push_str(reason);
                line.push(')');
            });
        }
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
        let run_passed = report.exit_code().passed();
        if run_passed && self.failed_only {
            return;
        }
        let (passed, failed, skipped) = report.counts();
        let (mark, style) = if run_passed {
            ("✓", GREEN)
        } else {
            ("✗", RED)
        };
        self.line(|terminal, line| {
            terminal.push_painted(line, style, mark);
            line.push(' ');
            line.push_str(&report.name);
            line.push_str(": ");
            crate::decimal::push(line, passed);
            line.push_str(" passed, ");
            crate::decimal::push(line, failed);
            line.push_str(" failed, ");
            crate::decimal::push(line, skipped);
            line.push_str(" skipped in ");
            terminal.push_time(line, report.duration);
            if let Some(stopped) = &report.stopped {
                let _ = write!(line, " ({stopped})");
            }
        });
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
                self.line(|terminal, line| {
                    terminal.push_painted(line, BOLD, "▶");
                    line.push(' ');
                    line.push_str(name);
                    line.push_str(" (");
                    line.push_str(file);
                    line.push_str(", ");
                    crate::decimal::push(line, *steps);
                    line.push_str(if *steps == 1 { " step)" } else { " steps)" });
                });
            }
            Event::Secret(value) => {
                self.masker.add(value);
            }
            Event::StepStarted {
                name,
                depth,
                nested: true,
            } => {
                self.line(|terminal, line| {
                    for _ in 0..=*depth {
                        line.push_str("  ");
                    }
                    terminal.push_painted(line, DIM, "▸");
                    line.push(' ');
                    line.push_str(name);
                });
            }
            Event::StepStarted { .. } | Event::Attempt { .. } => {}
            Event::Console { level, line, .. } => {
                if self.verbose {
                    self.console.push(format!("    console.{level}: {line}\n"));
                }
            }
            Event::Step(step) => self.step(step),
            Event::Finally => self.line(|terminal, line| {
                line.push_str("  ");
                terminal.push_painted(line, DIM, "finally");
            }),
            Event::Finished(report) => self.summary(report),
        }
        let _ = self.out.flush();
    }
}

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use reqwest::header::HeaderMap;
    use reqwest::{Method, StatusCode};

    use super::*;
    use crate::http::{Incoming, Outgoing, Transport};

    fn exchange(url: &str, status: u16) -> Exchange {
        Exchange {
            request: Outgoing {
                method: Method::GET,
                url: url::Url::parse(url).expect("a URL"),
                headers: HeaderMap::new(),
                body: None,
                timeout: Duration::from_secs(1),
                transport: Transport::default(),
            },
            response: Incoming {
                status: StatusCode::from_u16(status).expect("a status"),
                headers: HeaderMap::new(),
                body: Arc::new(Vec::new()),
                elapsed: Duration::ZERO,
                timings: Timings::default(),
                version: reqwest::Version::HTTP_11,
                remote: None,
            },
        }
    }

    /// An iteration's output is shown only when it fails: a passed one ends without its
    /// summary, a failed one with it.
    #[test]
    fn a_terminal_for_failed_runs_leaves_out_the_summary_of_a_passed_one() {
        for outcome in [Outcome::Passed, Outcome::Failed] {
            let mut terminal = Terminal::new(Vec::new(), false, false)
                .masked_at_end()
                .shown_if_failed();
            let mut step = StepReport::new("read");
            step.outcome = outcome;
            terminal.event(&Event::Step(&step));
            let report = RunReport {
                name: "flow".to_owned(),
                file: "flow.yaml".to_owned(),
                inputs: Vec::new(),
                started_at: std::time::SystemTime::UNIX_EPOCH,
                steps: vec![step],
                duration: Duration::from_secs(1),
                stopped: None,
            };
            terminal.event(&Event::Finished(&report));
            let out = String::from_utf8(terminal.into_inner()).expect("UTF-8");
            let expected = match outcome {
                Outcome::Passed => "  ✓ read\n",
                _ => "  ✗ read\n\n✗ flow: 0 passed, 1 failed, 0 skipped in 1.00s\n",
            };
            assert_eq!(out, expected);
        }
    }

    /// A run's lines as a terminal with colours shows them: each mark, status and time painted.
    #[test]
    fn lines_are_painted_when_colours_are_on() {
        let mut terminal = Terminal::new(Vec::new(), true, false);
        terminal.event(&Event::Started {
            name: "flow",
            file: "flow.yaml",
            steps: 2,
        });
        let mut read = StepReport::new("read");
        read.outcome = Outcome::Passed;
        read.exchanges = vec![
            exchange("http://api.test/old", 302),
            exchange("http://api.test/new?q=1", 200),
        ];
        read.duration = Duration::from_millis(1500);
        terminal.event(&Event::Step(&read));
        let mut skipped = StepReport::new("later");
        skipped.reason = Some("not run".to_owned());
        skipped.depth = 1;
        terminal.event(&Event::Step(&skipped));
        terminal.event(&Event::StepStarted {
            name: "setup",
            depth: 0,
            nested: true,
        });
        terminal.event(&Event::Finally);
        let report = RunReport {
            name: "flow".to_owned(),
            file: "flow.yaml".to_owned(),
            inputs: Vec::new(),
            started_at: std::time::SystemTime::UNIX_EPOCH,
            steps: vec![read, skipped],
            duration: Duration::from_secs(72),
            stopped: None,
        };
        terminal.event(&Event::Finished(&report));
        let out = String::from_utf8(terminal.into_inner()).expect("UTF-8");
        assert_eq!(
            out,
            "\x1b[1m▶\x1b[0m flow (flow.yaml, 2 steps)\n\
             \x20 \x1b[32m✓\x1b[0m read  GET http://api.test/old → \x1b[32m200\x1b[0m \
             (1 redirect) \x1b[2m1.50s\x1b[0m\n\
             \x20   \x1b[2m-\x1b[0m later \x1b[2m(not run)\x1b[0m\n\
             \x20 \x1b[2m▸\x1b[0m setup\n\
             \x20 \x1b[2mfinally\x1b[0m\n\
             \x1b[32m✓\x1b[0m flow: 1 passed, 0 failed, 1 skipped in 1m12s\n"
        );
    }
}
