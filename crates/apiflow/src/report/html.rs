//! The HTML report: one self-contained page (no scripts, no external files) showing the charts
//! of load runs, then every step, its request and response, and what failed.

use std::fmt::Write as _;

use serde_json::Value;

use crate::escape::escape_xml as escape;
use crate::report::charts;
use crate::report::event::{Outcome, RunReport, StepReport};
use crate::secret::{MASK, Masker};

use super::{
    json::outcome_name,
    terminal::{exchange_text, timings_text},
};

/// How much of each body the page shows.
const BODY_LIMIT: usize = 16 * 1024;

const STYLE: &str = "
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#1d1d1f;background:#fff}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem}
.summary{padding:.6rem .9rem;border-radius:6px;margin:.5rem 0 1rem}
.passed{color:#11703a}.failed,.error{color:#b3261e}.skipped{color:#6b6b6b}
.summary.passed{background:#e7f6ec}.summary.failed,.summary.error,.summary.interrupted{background:#fdecea}
details{border:1px solid #ddd;border-radius:6px;margin:.35rem 0;padding:.25rem .75rem}
details[open]{padding-bottom:.75rem}
summary{cursor:pointer;font-weight:600}
summary .meta{font-weight:400;color:#555;margin-left:.5rem;word-break:break-all}
pre{background:#f6f6f8;padding:.6rem;border-radius:4px;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
pre.failure{background:#fdecea}
table{border-collapse:collapse;margin:.4rem 0}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}
ul.checks{list-style:none;padding-left:0}
";

/// Renders runs as one HTML page, masked: first the load section of each iterated run (its
/// figures, thresholds and charts), then every run's steps.
pub fn render(reports: &[RunReport], loads: &[Value], masker: &Masker) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let field = |load: &Value, pointer: &str| {
        load.pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let title = match (reports, loads) {
        ([one], _) => format!("apiflow: {}", one.name),
        // The iterations of one load run are runs of one workflow.
        (_, [load])
            if reports
                .iter()
                .all(|r| r.file == field(load, "/workflow/file")) =>
        {
            format!("apiflow: {}", field(load, "/workflow/name"))
        }
        _ => format!("apiflow: {} workflows", reports.len()),
    };
    let title = escape(&masker.mask(&title));
    let _ = writeln!(
        out,
        "<title>{title}</title>\n<style>{STYLE}{}</style>\n</head>\n<body>",
        charts::STYLE
    );
    let _ = writeln!(out, "<h1>{title}</h1>");
    // The charts mask their texts themselves: masking the drawing would break it where a short
    // secret happens to be a number.
    for (index, load) in loads.iter().enumerate() {
        out.push_str(&charts::render(load, index, masker));
    }
    let mut runs = String::new();
    for report in reports {
        workflow(&mut runs, report);
    }
    out.push_str(&masker.mask(&runs));
    out.push_str("</body>\n</html>\n");
    out
}

fn workflow(out: &mut String, report: &RunReport) {
    let (passed, failed, skipped) = report.counts();
    let state = report.outcome();
    let _ = writeln!(out, "<section class=\"workflow\" data-outcome=\"{state}\">");
    let _ = writeln!(
        out,
        "<h2>{} <small>({})</small></h2>",
        escape(&report.name),
        escape(&report.file)
    );
    let _ = writeln!(
        out,
        "<div class=\"summary {state}\"><strong>{state}</strong>: {passed} passed, {failed} failed, {skipped} skipped in {}{}</div>",
        crate::duration::format_duration(report.duration),
        report
            .stopped
            .as_deref()
            .map(|s| format!(" ({})", escape(s)))
            .unwrap_or_default()
    );
    if !report.inputs.is_empty() {
        out.push_str("<table class=\"inputs\"><tr><th>input</th><th>value</th></tr>\n");
        for input in &report.inputs {
            let value = if input.secret {
                MASK.to_owned()
            } else {
                plain(&input.value)
            };
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td></tr>",
                escape(&input.name),
                escape(&value)
            );
        }
        out.push_str("</table>\n");
    }
    let mut in_finally = false;
    for step in &report.steps {
        if step.finally && !in_finally {
            out.push_str("<h3>finally</h3>\n");
            in_finally = true;
        }
        self::step(out, step);
    }
    out.push_str("</section>\n");
}

fn plain(value: &serde_json::Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

fn step(out: &mut String, step: &StepReport) {
    let outcome = outcome_name(step.outcome);
    let open = if matches!(step.outcome, Outcome::Failed | Outcome::Error) {
        " open"
    } else {
        ""
    };
    let mark = match step.outcome {
        Outcome::Passed => "✓",
        Outcome::Failed | Outcome::Error => "✗",
        Outcome::Skipped => "–",
    };
    let mut meta = String::new();
    if let (Some(first), Some(last)) = (step.exchanges.first(), step.exchanges.last()) {
        let _ = write!(
            meta,
            "{} {} → {}",
            first.request.method,
            first.request.url,
            last.response.status.as_u16()
        );
    }
    if step.attempts > 1 {
        let _ = write!(meta, " [{} attempts]", step.attempts);
    }
    if let Some(reason) = &step.reason {
        let _ = write!(meta, " ({reason})");
    }
    let _ = writeln!(
        out,
        "<details class=\"step {outcome}\" data-outcome=\"{outcome}\"{open}><summary><span class=\"{outcome}\">{mark}</span> {} <span class=\"meta\">{}</span></summary>",
        escape(&step.name),
        escape(&meta)
    );
    for failure in &step.failures {
        let _ = writeln!(
            out,
            "<pre class=\"failure\">{}</pre>",
            escape(&failure.render(false))
        );
    }
    if !step.checks.is_empty() {
        out.push_str("<ul class=\"checks\">\n");
        for check in &step.checks {
            let (class, mark) = if check.passed {
                ("passed", "✓")
            } else {
                ("failed", "✗")
            };
            let _ = writeln!(
                out,
                "<li class=\"{class}\"><span class=\"{class}\">{mark}</span> <code>{}</code></li>",
                escape(&check.what)
            );
        }
        out.push_str("</ul>\n");
    }
    if !step.captures.is_empty() {
        out.push_str("<table class=\"captures\"><tr><th>captured</th><th>value</th></tr>\n");
        for capture in &step.captures {
            let value = if capture.secret {
                MASK.to_owned()
            } else {
                plain(&capture.value)
            };
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td></tr>",
                escape(&capture.name),
                escape(&value)
            );
        }
        out.push_str("</table>\n");
    }
    for child in &step.children {
        self::step(out, child);
    }
    for exchange in &step.exchanges {
        let _ = writeln!(
            out,
            "<pre class=\"exchange\">{}</pre>\n<p class=\"timings\">timings: {}</p>",
            escape(&exchange_text(exchange, BODY_LIMIT, "")),
            escape(&timings_text(&exchange.response.timings))
        );
    }
    out.push_str("</details>\n");
}
