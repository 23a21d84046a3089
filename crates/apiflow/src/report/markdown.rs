//! The Markdown summary of a run (`--report markdown=PATH`, and the step summary on GitHub
//! Actions): each load run's figures, latency table and thresholds, then every workflow passed
//! or failed, with each failed step's first failure and where it is.

use std::fmt::Write as _;

use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::report::event::{Outcome, RunReport, StepReport};
use crate::report::figures::{self, Figures};

/// Distinct failures listed under a load run.
const LISTED_FAILURES: usize = 5;

/// Renders the summary of runs and of the load runs among them (`loads`, the JSON report's
/// `load` objects): the runs of an iterated workflow are summed up under its load run.
/// `left_out` counts runs not kept to list.
pub fn render(reports: &[RunReport], loads: &[Value], left_out: usize) -> String {
    let mut out = String::new();
    let loaded: Vec<String> = loads
        .iter()
        .map(|l| {
            l.pointer("/workflow/file")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    for load in loads {
        let figures = Figures::read(load);
        let runs: Vec<&RunReport> = reports.iter().filter(|r| r.file == figures.file).collect();
        load_section(&mut out, &figures, &runs);
    }
    let plain: Vec<&RunReport> = reports
        .iter()
        .filter(|r| !loaded.contains(&r.file))
        .collect();
    if !plain.is_empty() || loads.is_empty() {
        runs_section(&mut out, &plain, left_out);
    }
    out
}

fn load_section(out: &mut String, figures: &Figures, runs: &[&RunReport]) {
    let passed = figures.passed();
    let _ = writeln!(
        out,
        "## {} Load: {} ({})\n",
        mark(passed),
        text(&figures.name),
        code(&figures.file)
    );
    let _ = writeln!(out, "{}\n", text(&figures.headline()));
    out.push_str(
        "| step | runs | p50 | p95 | p99 | max |\n| --- | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for (row, name) in figures
        .steps
        .iter()
        .map(|r| (r, text(&r.name)))
        .chain(std::iter::once((
            &figures.overall,
            "**all steps**".to_owned(),
        )))
    {
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {} |",
            row.count,
            figures::latency(row.p50),
            figures::latency(row.p95),
            figures::latency(row.p99),
            figures::latency(row.max),
        );
    }
    out.push('\n');
    if !figures.thresholds.is_empty() {
        out.push_str("| | threshold | measured |\n| --- | --- | --- |\n");
        for verdict in &figures.thresholds {
            let state = if verdict.passed {
                "✓ passed"
            } else {
                "✗ failed"
            };
            let _ = writeln!(
                out,
                "| {state} | {} | {} |",
                code(&verdict.threshold),
                text(verdict.actual.as_deref().unwrap_or("the step never ran")),
            );
        }
        out.push('\n');
    }
    // The failures of the iterations, each told once.
    let mut seen: Vec<(String, &Diagnostic)> = Vec::new();
    for run in runs {
        for (path, failure) in failures(run, false) {
            let place = location(failure).unwrap_or_default();
            if !seen.iter().any(|(p, f)| {
                *p == path && f.title == failure.title && location(f) == Some(place.clone())
            }) {
                seen.push((path, failure));
            }
        }
    }
    if !seen.is_empty() {
        out.push_str("Failures of the iterations, each listed once:\n\n");
        for (path, failure) in seen.iter().take(LISTED_FAILURES) {
            let _ = writeln!(out, "- {}", failure_line(path, failure));
        }
        if seen.len() > LISTED_FAILURES {
            let _ = writeln!(out, "- … and {} more", seen.len() - LISTED_FAILURES);
        }
        out.push('\n');
    }
}

fn runs_section(out: &mut String, runs: &[&RunReport], left_out: usize) {
    let total = runs.len() + left_out;
    let failed = runs.iter().filter(|r| r.outcome() != "passed").count();
    let headline = match (total, failed) {
        (1, 0) => "1 workflow passed".to_owned(),
        (1, _) => "1 workflow failed".to_owned(),
        (n, 0) => format!("{n} workflows passed"),
        (n, f) => format!("{f} of {n} workflows failed"),
    };
    let _ = writeln!(out, "## {} apiflow: {headline}\n", mark(failed == 0));
    out.push_str("| | workflow | file | passed | failed | skipped | time |\n| --- | --- | --- | ---: | ---: | ---: | ---: |\n");
    for run in runs {
        let (passed, failed, skipped) = run.counts();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {passed} | {failed} | {skipped} | {} |",
            mark(run.outcome() == "passed"),
            text(&run.name),
            code(&run.file),
            crate::duration::format_duration(run.duration),
        );
    }
    if left_out > 0 {
        let _ = writeln!(out, "| | … and {left_out} more runs | | | | | |");
    }
    out.push('\n');
    for run in runs.iter().filter(|r| r.outcome() != "passed") {
        let _ = writeln!(out, "### ✗ {}\n", text(&run.name));
        if let Some(stopped) = &run.stopped {
            let _ = writeln!(out, "The run stopped: {}.\n", text(stopped));
        }
        let listed = failures(run, false);
        for (path, failure) in &listed {
            let _ = writeln!(out, "- {}", failure_line(path, failure));
        }
        if let Some((_, first)) = listed.first() {
            let rendered = first.render(false);
            let fence = fence(&rendered);
            let _ = writeln!(out, "\n{fence}text\n{}\n{fence}", rendered.trim_end());
        }
        out.push('\n');
    }
}

/// Lists each failed step (nested ones by their path) with its first failure, or with each of
/// its failures when `all`.
pub(crate) fn failures(run: &RunReport, all: bool) -> Vec<(String, &Diagnostic)> {
    fn walk<'r>(
        prefix: &str,
        steps: &'r [StepReport],
        all: bool,
        out: &mut Vec<(String, &'r Diagnostic)>,
    ) {
        for step in steps {
            let path = if prefix.is_empty() {
                step.name.clone()
            } else {
                format!("{prefix} › {}", step.name)
            };
            if matches!(step.outcome, Outcome::Failed | Outcome::Error) {
                let shown = if all { step.failures.len() } else { 1 };
                for failure in step.failures.iter().take(shown) {
                    out.push((path.clone(), failure));
                }
            }
            walk(&path, &step.children, all, out);
        }
    }
    let mut out = Vec::new();
    walk("", &run.steps, all, &mut out);
    out
}

/// Returns where a failure is, `FILE:LINE:COLUMN`, when known.
pub(crate) fn location(failure: &Diagnostic) -> Option<String> {
    failure
        .source
        .as_ref()
        .filter(|_| failure.span.is_known())
        .map(|source| format!("{}:{}", source.name, failure.span))
}

fn failure_line(path: &str, failure: &Diagnostic) -> String {
    let place = location(failure).map_or_else(String::new, |l| format!(" at {}", code(&l)));
    format!("✗ **{}**: {}{place}", text(path), text(&failure.title))
}

fn mark(passed: bool) -> &'static str {
    if passed { "✓" } else { "✗" }
}

/// Escapes text for Markdown, on one line: what would start emphasis, code, links, HTML or a
/// table cell is taken literally.
fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Writes text as inline code, on one line, safe in a table cell.
fn code(value: &str) -> String {
    let value = value.replace(['\n', '\r'], " ").replace('|', "\\|");
    let longest = longest_run(&value, '`');
    let ticks = "`".repeat(longest + 1);
    if longest > 0 || value.starts_with('`') || value.ends_with('`') {
        format!("{ticks} {value} {ticks}")
    } else {
        format!("{ticks}{value}{ticks}")
    }
}

/// Returns a code fence longer than any run of backticks in the text.
fn fence(value: &str) -> String {
    "`".repeat(longest_run(value, '`').max(2) + 1)
}

fn longest_run(value: &str, c: char) -> usize {
    let (mut longest, mut run) = (0, 0);
    for ch in value.chars() {
        run = if ch == c { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_is_taken_literally() {
        assert_eq!(
            text("a *b* | <c> & `d`"),
            "a \\*b\\* \\| &lt;c&gt; &amp; \\`d\\`"
        );
        assert_eq!(code("p95<300ms"), "`p95<300ms`");
        assert_eq!(code("a`b|c"), "`` a`b\\|c ``");
        assert_eq!(fence("x ``` y"), "````");
        assert_eq!(fence("plain"), "```");
    }

    #[test]
    fn a_load_run_sums_up_as_tables() {
        let load = crate::report::charts::tests::fixed_load();
        insta::assert_snapshot!(render(&[], &[load], 0));
    }
}
