//! The JUnit report of a load run known only by its JSON report's `load` object, as
//! `apiflow report merge` has it: its iterations and its thresholds, with no step to show. (The
//! HTML and Markdown reports of a `load` object alone are those of a load run.)

use std::fmt::Write as _;

use serde_json::Value;

use crate::escape::escape_xml as escape;

fn text<'v>(load: &'v Value, pointer: &str) -> &'v str {
    load.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn count(load: &Value, pointer: &str) -> u64 {
    load.pointer(pointer).and_then(Value::as_u64).unwrap_or(0)
}

fn thresholds(load: &Value) -> &[Value] {
    load.get("thresholds")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
}

fn seconds(load: &Value) -> f64 {
    load.get("duration_ms")
        .and_then(Value::as_f64)
        .unwrap_or(0.0)
        / 1000.0
}

/// Says how many iterations failed.
fn iterations_line(load: &Value) -> String {
    let failed = count(load, "/counts/failed");
    let iterations = count(load, "/counts/iterations");
    format!("{failed} of {iterations} iterations failed")
}

/// Renders the load object as JUnit XML: a testsuite for the workflow with one testcase for
/// the iterations (failed when some failed), then the thresholds' testsuite as a load run's
/// JUnit report has it (`thresholds: WORKFLOW`, one testcase each).
pub fn junit(load: &Value) -> String {
    let workflow = text(load, "/workflow/name");
    let classname = escape(workflow);
    let failed = count(load, "/counts/failed");
    let time = seconds(load);
    let mut iterations =
        format!("    <testcase name=\"iterations\" classname=\"{classname}\" time=\"{time:.3}\"");
    if failed > 0 {
        let _ = write!(
            iterations,
            ">\n      <failure message=\"{}\" type=\"iterations\">{}</failure>\n    </testcase>\n",
            escape(&iterations_line(load)),
            escape(&errors_line(load)),
        );
    } else {
        let _ = write!(
            iterations,
            ">\n      <system-out>{}</system-out>\n    </testcase>\n",
            escape(&iterations_line(load))
        );
    }
    let verdicts = thresholds(load);
    let tests = 1 + verdicts.len();
    let failures = usize::from(failed > 0)
        + verdicts
            .iter()
            .filter(|v| v.get("passed").and_then(Value::as_bool) != Some(true))
            .count();
    let timestamp = text(load, "/started");
    // JUnit's timestamp has no zone designator nor fraction.
    let timestamp = timestamp.get(..19).unwrap_or(timestamp);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"apiflow\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"{time:.3}\">"
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{classname}\" id=\"0\" tests=\"1\" failures=\"{}\" errors=\"0\" skipped=\"0\" time=\"{time:.3}\" timestamp=\"{}\" hostname=\"localhost\" file=\"{}\">",
        usize::from(failed > 0),
        escape(timestamp),
        escape(text(load, "/workflow/file")),
    );
    out.push_str(&iterations);
    out.push_str("  </testsuite>\n");
    super::junit::thresholds_suite(&mut out, 1, load);
    out.push_str("</testsuites>\n");
    out
}

fn errors_line(load: &Value) -> String {
    let kinds: Vec<String> = load
        .get("errors")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(kind, n)| format!("{kind} {n}"))
        .collect();
    if kinds.is_empty() {
        String::new()
    } else {
        format!("failed steps: {}", kinds.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load() -> Value {
        serde_json::json!({
            "workflow": { "name": "a <b>", "file": "a.yaml" },
            "started": "2026-01-02T03:04:05.678Z",
            "ended": "2026-01-02T03:04:07.678Z",
            "duration_ms": 2000.0,
            "counts": { "requests": 20, "iterations": 10, "passed": 8, "failed": 2 },
            "rps": 10.0,
            "errors": { "check": 2 },
            "latency": { "count": 20, "p50_ms": 1.0, "p90_ms": 2.0, "p95_ms": 3.0, "p99_ms": 4.0, "max_ms": 5.0, "mean_ms": 1.5 },
            "steps": [ { "name": "x & y", "latency": { "count": 20, "p50_ms": 1.0, "p90_ms": 2.0, "p95_ms": 3.0, "p99_ms": 4.0, "max_ms": 5.0, "mean_ms": 1.5 } } ],
            "thresholds": [
                { "threshold": "errors<30%", "step": null, "passed": true, "actual": "errors 20.00%" },
                { "threshold": "p99<1ms", "step": null, "passed": false, "actual": "p99 4.00ms" }
            ],
        })
    }

    #[test]
    fn junit_has_the_iterations_and_each_threshold() {
        let xml = junit(&load());
        assert!(xml.contains("tests=\"3\" failures=\"2\""), "{xml}");
        assert!(xml.contains("timestamp=\"2026-01-02T03:04:05\""), "{xml}");
        assert!(
            xml.contains("<testcase name=\"p99&lt;1ms\" classname=\"thresholds: a &lt;b&gt;\""),
            "{xml}"
        );
        assert!(
            xml.contains("<failure message=\"threshold `p99&lt;1ms` failed: p99 4.00ms\" type=\"threshold\"/>"),
            "{xml}"
        );
        assert!(
            xml.contains("<failure message=\"2 of 10 iterations failed\" type=\"iterations\">failed steps: check 2</failure>"),
            "{xml}"
        );
    }
}
