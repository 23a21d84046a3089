//! Reporters: turn run events into output; every one masks secrets the same way.

pub mod charts;
pub mod curl;
pub mod event;
pub mod figures;
pub mod github;
pub mod har;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod merged;
pub mod plan;
pub mod progress;
pub mod terminal;

use std::path::PathBuf;

pub use crate::escape::escape_xml;
use crate::report::event::{Event, Reporter, RunReport};
use crate::secret::Masker;

/// A report written to a file at the end of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// JUnit XML.
    Junit,
    /// The JSON report.
    Json,
    /// One self-contained HTML page.
    Html,
    /// HTTP Archive 1.2: every exchange.
    Har,
    /// A Markdown summary.
    Markdown,
}

impl Format {
    /// Parses `junit`, `json`, `html`, `har` or `markdown`.
    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "junit" => Some(Format::Junit),
            "json" => Some(Format::Json),
            "html" => Some(Format::Html),
            "har" => Some(Format::Har),
            "markdown" => Some(Format::Markdown),
            _ => None,
        }
    }
}

/// Collects the runs of every workflow and writes the file reports, masked, at the end.
#[derive(Default)]
pub struct Files {
    targets: Vec<(Format, PathBuf)>,
    /// The secrets learned, masked in every report written: a set, as a load run learns a new
    /// token every iteration.
    secrets: std::collections::BTreeSet<String>,
    reports: Vec<RunReport>,
    /// The `load` object of each iterated workflow.
    loads: Vec<serde_json::Value>,
    /// Keep the runs for GitHub Actions' annotations and step summary, even without a report.
    summarize: bool,
    /// The passed and failed runs kept so far, without a report to write.
    kept: Kept,
    /// Runs not kept: without a report to write, only the first of the passed and of the
    /// failed runs are.
    left_out: usize,
}

/// Passed runs, and failed runs, kept for a summary when no report is written, and by the
/// reports of a load run that lasts a time: enough to list, while memory stays flat however
/// many iterations run.
const KEPT_RUNS: usize = 100;

/// Counts the passed and the failed runs kept, up to [`KEPT_RUNS`] of each.
#[derive(Clone, Copy, Debug, Default)]
pub struct Kept {
    passed: usize,
    failed: usize,
}

impl Kept {
    /// Tells whether a run that ended so is kept, counting it when it is.
    pub fn admit(&mut self, passed: bool) -> bool {
        let alike = if passed {
            &mut self.passed
        } else {
            &mut self.failed
        };
        if *alike >= KEPT_RUNS {
            return false;
        }
        *alike += 1;
        true
    }
}

impl Files {
    /// Creates a collector for the given reports.
    pub fn new(targets: Vec<(Format, PathBuf)>) -> Files {
        Files {
            targets,
            ..Files::default()
        }
    }

    /// Keeps the runs for GitHub Actions' annotations and step summary too.
    #[must_use]
    pub fn summarizing(mut self, summarize: bool) -> Files {
        self.summarize = summarize;
        self
    }

    /// Tells whether anything is kept: a report to write or a summary to make.
    pub fn keeps(&self) -> bool {
        !self.targets.is_empty() || self.summarize
    }

    /// Takes over the runs and secrets another collector saw (parallel runs).
    pub fn absorb(&mut self, other: Files) {
        self.secrets.extend(other.secrets);
        self.left_out += other.left_out;
        for report in other.reports {
            self.keep(report);
        }
        self.loads.extend(other.loads);
    }

    /// Keeps a run: every run for a report; for a summary alone, the first [`KEPT_RUNS`] passed
    /// and failed runs, without their exchanges.
    fn keep(&mut self, mut report: RunReport) {
        if self.targets.is_empty() {
            let passed = report.exit_code() == crate::exit::ExitCode::Passed;
            if !self.kept.admit(passed) {
                self.left_out += 1;
                return;
            }
            forget_exchanges(&mut report.steps);
        }
        self.reports.push(report);
    }

    /// Counts runs that ended without being kept.
    pub fn leave_out(&mut self, runs: usize) {
        self.left_out += runs;
    }

    /// Keeps the `load` object of an iterated workflow's run for the reports, made only when
    /// a report or a summary will read it: a long run's time series is not written out for
    /// nothing.
    pub fn load(&mut self, load: impl FnOnce() -> serde_json::Value) {
        if self.keeps() {
            self.loads.push(load());
        }
    }

    /// Returns GitHub Actions' annotations of the failed steps and thresholds, masked.
    pub fn annotations(&self) -> String {
        let text = github::annotations(&self.reports, &self.loads);
        self.masker().mask(&text).into_owned()
    }

    /// Appends the Markdown summary, masked, to a file (GitHub Actions' step summary).
    pub fn append_summary(&self, path: &std::path::Path) -> Result<(), String> {
        use std::io::Write as _;
        let text = self.render(Format::Markdown);
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut file| file.write_all(text.as_bytes()))
            .map_err(|e| {
                format!(
                    "cannot append the step summary to `{}`: {e}",
                    path.display()
                )
            })
    }

    /// Keeps a secret to mask in the reports, once.
    fn remember(&mut self, value: &str) {
        if !self.secrets.contains(value) {
            self.secrets.insert(value.to_owned());
        }
    }

    /// The masker of every secret learned: built when reports are written rather than as
    /// secrets are learned during the run.
    fn masker(&self) -> Masker {
        let mut masker = Masker::new();
        masker.add_all(self.secrets.iter().map(String::as_str));
        masker
    }

    /// Renders one format, masked.
    pub fn render(&self, format: Format) -> String {
        self.render_masked(format, &self.masker())
    }

    fn render_masked(&self, format: Format, masker: &Masker) -> String {
        let text = match format {
            Format::Junit => junit::render(&self.reports, &self.loads),
            Format::Json => return json::render_masked(&self.reports, &self.loads, masker),
            Format::Html => return html::render(&self.reports, &self.loads, masker),
            Format::Har => har::render(&self.reports),
            Format::Markdown => markdown::render(&self.reports, &self.loads, self.left_out),
        };
        masker.mask(&text).into_owned()
    }

    /// Writes every report file; returns the first error as a message.
    pub fn write(&self) -> Result<(), String> {
        let masker = self.masker();
        for (format, path) in &self.targets {
            let text = self.render_masked(*format, &masker);
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("cannot create `{}`: {e}", parent.display()))?;
            }
            std::fs::write(path, text)
                .map_err(|e| format!("cannot write the report `{}`: {e}", path.display()))?;
        }
        Ok(())
    }
}

impl Reporter for Files {
    fn event(&mut self, event: &Event<'_>) {
        match event {
            // Without a report to write there is nothing to mask either.
            Event::Secret(value) if self.keeps() => self.remember(value),
            // Without a report to write there is nothing to keep.
            Event::Finished(report) if self.keeps() => self.keep((*report).clone()),
            _ => {}
        }
    }
}

/// Drops the exchanges of steps and of the steps inside them.
fn forget_exchanges(steps: &mut [event::StepReport]) {
    for step in steps {
        step.exchanges.clear();
        forget_exchanges(&mut step.children);
    }
}

/// Sends each event to two reporters.
pub struct Tee<'a>(pub &'a mut dyn Reporter, pub &'a mut dyn Reporter);

impl Reporter for Tee<'_> {
    fn event(&mut self, event: &Event<'_>) {
        self.0.event(event);
        self.1.event(event);
    }
}

use reqwest::header::HeaderMap;

/// Shows a body for people: pretty JSON, text, or a note about binary data; cut at `limit` bytes.
pub fn body_preview(headers: &HeaderMap, body: &[u8], limit: usize) -> String {
    if body.is_empty() {
        return String::new();
    }
    let content_type = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if (content_type.contains("json") || matches!(body.first(), Some(b'{' | b'[')))
        && let Ok(value) = serde_json::from_slice::<serde_json::Value>(body)
        && let Ok(pretty) = serde_json::to_string_pretty(&value)
    {
        return cut(&pretty, limit);
    }
    match std::str::from_utf8(body) {
        Ok(text) => cut(text, limit),
        Err(error) if error.valid_up_to() >= body.len().saturating_sub(3) && body.len() > limit => {
            cut(&String::from_utf8_lossy(body), limit)
        }
        Err(_) => format!("<{} bytes of binary data>", body.len()),
    }
}

fn cut(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.trim_end().to_owned();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n… ({} more bytes)",
        text[..end].trim_end(),
        text.len() - end
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::event::{Outcome, StepReport};

    fn run(number: usize, passed: bool) -> RunReport {
        let mut step = StepReport::new("read");
        step.outcome = if passed {
            Outcome::Passed
        } else {
            Outcome::Failed
        };
        if !passed {
            step.failures
                .push(crate::diagnostic::Diagnostic::error("status is not 200"));
        }
        RunReport {
            name: format!("run {number}"),
            file: "w.yaml".into(),
            inputs: Vec::new(),
            started_at: std::time::UNIX_EPOCH,
            steps: vec![step],
            duration: std::time::Duration::ZERO,
            stopped: None,
        }
    }

    #[test]
    fn a_summary_alone_keeps_the_first_passed_and_failed_runs_and_counts_the_rest() {
        let mut files = Files::new(Vec::new()).summarizing(true);
        for number in 0..250 {
            files.event(&Event::Finished(&run(number, number % 5 != 0)));
        }
        let failed = files
            .reports
            .iter()
            .filter(|r| r.exit_code() != crate::exit::ExitCode::Passed)
            .count();
        assert_eq!(
            (files.reports.len(), failed, files.left_out),
            (150, 50, 100)
        );
        let summary = files.render(Format::Markdown);
        assert!(
            summary.starts_with("## ✗ apiflow: 50 of 250 workflows failed\n"),
            "{summary}"
        );
        assert!(
            summary.contains("| | … and 100 more runs | | | | | |\n"),
            "{summary}"
        );
        // With a report to write, every run is kept.
        let mut files = Files::new(vec![(Format::Json, PathBuf::from("r.json"))]);
        for number in 0..250 {
            files.event(&Event::Finished(&run(number, true)));
        }
        assert_eq!((files.reports.len(), files.left_out), (250, 0));
        // Without either, nothing.
        let mut files = Files::new(Vec::new());
        files.event(&Event::Finished(&run(0, false)));
        assert!(files.reports.is_empty());
    }
}
