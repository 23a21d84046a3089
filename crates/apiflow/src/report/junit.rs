//! The JUnit XML report: one testsuite per workflow, one testcase per step, as CI systems read it;
//! a load run's thresholds make one more testsuite, one testcase each.

use std::fmt::Write as _;
use std::time::UNIX_EPOCH;

use serde_json::Value;

use crate::escape::escape_xml;
use crate::report::event::{Outcome, RunReport, StepReport};

use super::terminal::exchange_text;

/// How much of each body the report keeps in `system-out`.
const BODY_LIMIT: usize = 4096;

/// Renders runs as JUnit XML (the common Jenkins/Surefire shape: `testsuites` › `testsuite` ›
/// `testcase` with `failure`, `error` or `skipped`), then the thresholds of each load run's
/// `load` object of the JSON report.
pub fn render(reports: &[RunReport], loads: &[Value]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let (mut tests, mut failures, mut errors, mut skipped) = (0, 0, 0, 0);
    let mut time = 0.0;
    for report in reports {
        tests += flatten(&report.steps).len();
        failures += count(report, Outcome::Failed);
        errors += count(report, Outcome::Error);
        skipped += count(report, Outcome::Skipped);
        time += report.duration.as_secs_f64();
    }
    for load in loads {
        let verdicts = thresholds(load);
        tests += verdicts.len();
        failures += verdicts.iter().filter(|v| !v.passed).count();
    }
    let _ = writeln!(
        out,
        "<testsuites name=\"apiflow\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{time:.3}\">"
    );
    for (index, report) in reports.iter().enumerate() {
        suite(&mut out, index, report);
    }
    for (index, load) in loads.iter().enumerate() {
        thresholds_suite(&mut out, reports.len() + index, load);
    }
    out.push_str("</testsuites>\n");
    out
}

/// One threshold's result as the JSON report's `load.thresholds[]` holds it.
struct Verdict<'v> {
    threshold: &'v str,
    passed: bool,
    actual: Option<&'v str>,
}

fn thresholds(load: &Value) -> Vec<Verdict<'_>> {
    load.get("thresholds")
        .and_then(Value::as_array)
        .map(|all| {
            all.iter()
                .map(|v| Verdict {
                    threshold: v.get("threshold").and_then(Value::as_str).unwrap_or(""),
                    passed: v.get("passed").and_then(Value::as_bool).unwrap_or(false),
                    actual: v.get("actual").and_then(Value::as_str),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Writes a load run's thresholds as a testsuite `thresholds: WORKFLOW`, one testcase each, a
/// failed one with a `failure` giving the measured value.
pub(crate) fn thresholds_suite(out: &mut String, index: usize, load: &Value) {
    let verdicts = thresholds(load);
    if verdicts.is_empty() {
        return;
    }
    let workflow = load
        .pointer("/workflow/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let name = escape_xml(&format!("thresholds: {workflow}"));
    let file = load
        .pointer("/workflow/file")
        .and_then(Value::as_str)
        .unwrap_or("");
    let failures = verdicts.iter().filter(|v| !v.passed).count();
    // The suite lasts as long as the load run; checking a threshold takes no time.
    let seconds = load
        .get("duration_ms")
        .and_then(Value::as_f64)
        .unwrap_or(0.0)
        / 1000.0;
    let _ = writeln!(
        out,
        "  <testsuite name=\"{name}\" id=\"{index}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"{seconds:.3}\" hostname=\"localhost\" file=\"{}\">",
        verdicts.len(),
        escape_xml(file),
    );
    for verdict in verdicts {
        let _ = write!(
            out,
            "    <testcase name=\"{}\" classname=\"{name}\" time=\"0.000\"",
            escape_xml(verdict.threshold)
        );
        if verdict.passed {
            out.push_str("/>\n");
            continue;
        }
        let actual = verdict.actual.unwrap_or("the step never ran");
        let message = format!("threshold `{}` failed: {actual}", verdict.threshold);
        let _ = writeln!(
            out,
            ">\n      <failure message=\"{}\" type=\"threshold\"/>\n    </testcase>",
            escape_xml(&message)
        );
    }
    out.push_str("  </testsuite>\n");
}

fn count(report: &RunReport, outcome: Outcome) -> usize {
    flatten(&report.steps)
        .iter()
        .filter(|(_, s)| s.outcome == outcome)
        .count()
}

/// Lists steps and the steps nested in them (`uses`, `for_each`), each named by its path.
fn flatten(steps: &[StepReport]) -> Vec<(String, &StepReport)> {
    fn walk<'r>(prefix: &str, steps: &'r [StepReport], out: &mut Vec<(String, &'r StepReport)>) {
        for step in steps {
            let name = if prefix.is_empty() {
                step.name.clone()
            } else {
                format!("{prefix} › {}", step.name)
            };
            out.push((name.clone(), step));
            walk(&name, &step.children, out);
        }
    }
    let mut out = Vec::new();
    walk("", steps, &mut out);
    out
}

fn timestamp(report: &RunReport) -> String {
    let seconds = report
        .started_at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let formatted =
        humantime::format_rfc3339_seconds(UNIX_EPOCH + std::time::Duration::from_secs(seconds))
            .to_string();
    // JUnit's timestamp has no zone designator.
    formatted.trim_end_matches('Z').to_owned()
}

fn suite(out: &mut String, index: usize, report: &RunReport) {
    let name = escape_xml(&report.name);
    let _ = writeln!(
        out,
        "  <testsuite name=\"{name}\" id=\"{index}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\" timestamp=\"{}\" hostname=\"localhost\" file=\"{}\">",
        flatten(&report.steps).len(),
        count(report, Outcome::Failed),
        count(report, Outcome::Error),
        count(report, Outcome::Skipped),
        report.duration.as_secs_f64(),
        timestamp(report),
        escape_xml(&report.file),
    );
    for (path, step) in flatten(&report.steps) {
        let case_name = if step.finally {
            format!("finally: {path}")
        } else {
            path
        };
        let _ = write!(
            out,
            "    <testcase name=\"{}\" classname=\"{name}\" time=\"{:.3}\"",
            escape_xml(&case_name),
            step.duration.as_secs_f64()
        );
        let mut body = String::new();
        match step.outcome {
            Outcome::Passed => {}
            Outcome::Skipped => {
                let reason = step.reason.as_deref().unwrap_or("skipped");
                let _ = writeln!(body, "      <skipped message=\"{}\"/>", escape_xml(reason));
            }
            Outcome::Failed | Outcome::Error => {
                let (tag, kind) = if step.outcome == Outcome::Error {
                    ("error", "request")
                } else {
                    ("failure", "expectation")
                };
                let message = step.failures.first().map_or("failed", |f| f.title.as_str());
                let text: Vec<String> = step.failures.iter().map(|f| f.render(false)).collect();
                let _ = writeln!(
                    body,
                    "      <{tag} message=\"{}\" type=\"{kind}\">{}</{tag}>",
                    escape_xml(message),
                    escape_xml(&text.join("\n"))
                );
            }
        }
        if !step.exchanges.is_empty() {
            let exchanges: String = step
                .exchanges
                .iter()
                .map(|e| exchange_text(e, BODY_LIMIT, ""))
                .collect();
            let _ = writeln!(
                body,
                "      <system-out>{}</system-out>",
                escape_xml(&exchanges)
            );
        }
        if body.is_empty() {
            out.push_str("/>\n");
        } else {
            out.push_str(">\n");
            out.push_str(&body);
            out.push_str("    </testcase>\n");
        }
    }
    out.push_str("  </testsuite>\n");
}
