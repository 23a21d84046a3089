//! The JSON report: a documented, stable schema (`docs/report.schema.json`) for tools to read.

use std::time::UNIX_EPOCH;

use serde_json::{Map, Value, json};

use crate::http::Exchange;
use crate::http::timing::{self, Timings};
use crate::report::event::{Capture, Outcome, RunReport, StepReport};
use crate::secret::{MASK, Masker};

/// The version of the report's schema; bumped only on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// Renders runs as the JSON report. Secret values are already replaced by the mask here;
/// the caller still masks the whole text, so encoded forms inside bodies are caught too.
pub fn render(reports: &[RunReport]) -> String {
    let workflows: Vec<Value> = reports.iter().map(workflow).collect();
    let document = json!({
        "apiflow": env!("CARGO_PKG_VERSION"),
        "schema": SCHEMA_VERSION,
        "workflows": workflows,
    });
    serde_json::to_string_pretty(&document).unwrap_or_default() + "\n"
}

/// Renders runs as the JSON report with the `load` object of iterated runs (one object, or a
/// list when several workflows were iterated), masked: the histograms' base64 text is put back
/// after masking, since a short secret could happen to appear in it and break it.
pub fn render_masked(reports: &[RunReport], loads: &[Value], masker: &Masker) -> String {
    let workflows: Vec<Value> = reports.iter().map(workflow).collect();
    let mut document = json!({
        "apiflow": env!("CARGO_PKG_VERSION"),
        "schema": SCHEMA_VERSION,
        "workflows": workflows,
    });
    let mut histograms = Vec::new();
    let mut loads = loads.to_vec();
    for load in &mut loads {
        set_aside(load, &mut histograms);
    }
    match loads.len() {
        0 => {}
        1 => document["load"] = loads.swap_remove(0),
        _ => document["load"] = Value::Array(loads),
    }
    mask_scalars(&mut document, masker);
    let text = serde_json::to_string_pretty(&document).unwrap_or_default() + "\n";
    let mut out = masker.mask(&text).into_owned();
    for (index, histogram) in histograms.iter().enumerate() {
        out = out.replacen(&placeholder(index), histogram, 1);
    }
    out
}

/// Replaces each number, boolean and `null` whose text holds a secret by the masked text as a
/// string: masking the whole text afterwards would otherwise leave `"pin": ••••`, which is not
/// JSON, where a response body held a secret as a number.
fn mask_scalars(value: &mut Value, masker: &Masker) {
    match value {
        Value::Number(_) | Value::Bool(_) | Value::Null => {
            let text = value.to_string();
            if let std::borrow::Cow::Owned(masked) = masker.mask(&text) {
                *value = Value::String(masked);
            }
        }
        Value::Object(map) => map.values_mut().for_each(|v| mask_scalars(v, masker)),
        Value::Array(items) => items.iter_mut().for_each(|v| mask_scalars(v, masker)),
        Value::String(_) => {}
    }
}

/// Renders a JSON report of workflows read back from other reports and one `load` object, as
/// `apiflow report merge` writes it: the reports it read were masked already, and a merge
/// learns no secret.
pub fn render_values(workflows: &[Value], load: &Value) -> String {
    let document = json!({
        "apiflow": env!("CARGO_PKG_VERSION"),
        "schema": SCHEMA_VERSION,
        "workflows": workflows,
        "load": load,
    });
    serde_json::to_string_pretty(&document).unwrap_or_default() + "\n"
}

/// Returns a placeholder as the JSON text writes it (the control character escaped).
fn placeholder(index: usize) -> String {
    format!("\\u0001histogram {index}\\u0001")
}

/// Replaces each histogram's text (a string value whose key says `histogram`, or any string
/// under `histograms`) by a placeholder, keeping the text.
fn set_aside(value: &mut Value, kept: &mut Vec<String>) {
    fn walk(value: &mut Value, inside: bool, kept: &mut Vec<String>) {
        match value {
            Value::String(text) if inside && text.starts_with("HIST") => {
                kept.push(std::mem::take(text));
                *text = format!("\u{1}histogram {}\u{1}", kept.len() - 1);
            }
            Value::Object(map) => {
                for (key, value) in map.iter_mut() {
                    walk(value, inside || key.starts_with("histogram"), kept);
                }
            }
            Value::Array(items) => {
                for item in items {
                    walk(item, inside, kept);
                }
            }
            _ => {}
        }
    }
    walk(value, false, kept);
}

/// Names an outcome the way every report does.
pub fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Passed => "passed",
        Outcome::Failed => "failed",
        Outcome::Error => "error",
        Outcome::Skipped => "skipped",
    }
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn named(values: &[Capture]) -> Value {
    let mut map = Map::new();
    for value in values {
        let shown = if value.secret {
            Value::String(MASK.to_owned())
        } else {
            value.value.clone()
        };
        map.insert(value.name.clone(), shown);
    }
    Value::Object(map)
}

fn workflow(report: &RunReport) -> Value {
    let (passed, failed, skipped) = report.counts();
    let started = report
        .started_at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0));
    json!({
        "name": report.name,
        "file": report.file,
        "outcome": report.outcome(),
        "exit_code": report.exit_code().code(),
        "started_at_ms": started,
        "duration_ms": millis(report.duration),
        "stopped": report.stopped,
        "counts": { "passed": passed, "failed": failed, "skipped": skipped },
        "inputs": named(&report.inputs),
        "steps": report.steps.iter().map(step).collect::<Vec<_>>(),
    })
}

fn step(step: &StepReport) -> Value {
    let mut value = json!({
        "name": step.name,
        "finally": step.finally,
        "outcome": outcome_name(step.outcome),
        "reason": step.reason,
        "attempts": step.attempts,
        "duration_ms": millis(step.duration),
        "exchanges": step.exchanges.iter().map(exchange).collect::<Vec<_>>(),
        "captures": named(&step.captures),
        "checks": step.checks.iter().map(|c| json!({ "check": c.what, "passed": c.passed })).collect::<Vec<_>>(),
        "children": step.children.iter().map(self::step).collect::<Vec<_>>(),
        "failures": step.failures.iter().map(failure).collect::<Vec<_>>(),
    });
    // Only steps with warnings (`--openapi-checks warn`) have the key.
    if !step.warnings.is_empty()
        && let Some(map) = value.as_object_mut()
    {
        let warnings = step.warnings.iter().map(failure).collect::<Vec<_>>();
        map.insert("warnings".to_owned(), Value::Array(warnings));
    }
    value
}

/// A failure or a warning, as the report lists it.
fn failure(f: &crate::diagnostic::Diagnostic) -> Value {
    let location = f
        .source
        .as_ref()
        .filter(|_| f.span.is_known())
        .map(|s| format!("{}:{}", s.name, f.span));
    json!({
        "message": f.title,
        "expected": note(&f.notes, "expected:"),
        "actual": note(&f.notes, "found:"),
        "location": location,
        "notes": f.notes,
        "help": f.help,
        "text": f.render(false),
    })
}

/// Returns the value of a failure's `expected: …` or `found: …` note.
fn note(notes: &[String], label: &str) -> Option<String> {
    notes
        .iter()
        .find_map(|n| n.trim_start().strip_prefix(label))
        .map(|value| value.trim().to_owned())
}

fn headers(map: &reqwest::header::HeaderMap) -> Value {
    let mut out = Map::new();
    for name in map.keys() {
        let values: Vec<String> = map
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        out.insert(name.as_str().to_owned(), Value::String(values.join(", ")));
    }
    Value::Object(out)
}

fn body(headers: &reqwest::header::HeaderMap, bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            let is_json = headers
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|t| t.contains("json"));
            if is_json && let Ok(value) = serde_json::from_str::<Value>(text) {
                return json!({ "json": value });
            }
            json!({ "text": text })
        }
        Err(_) => json!({ "binary_bytes": bytes.len() }),
    }
}

/// The phases of an exchange in milliseconds, to the microsecond; null for a phase that did not
/// happen.
fn timings(timings: &Timings) -> Value {
    let optional = |phase: Option<std::time::Duration>| phase.map(timing::millis);
    json!({
        "dns_ms": optional(timings.dns),
        "connect_ms": optional(timings.connect),
        "tls_ms": optional(timings.tls),
        "ttfb_ms": timing::millis(timings.ttfb),
        "transfer_ms": timing::millis(timings.transfer),
        "total_ms": timing::millis(timings.total),
    })
}

fn exchange(exchange: &Exchange) -> Value {
    let request = &exchange.request;
    let response = &exchange.response;
    json!({
        "request": {
            "method": request.method.as_str(),
            "url": request.url.as_str(),
            "headers": headers(&request.headers),
            "body": request.body.as_ref().map_or(Value::Null, |b| body(&request.headers, &b.shown())),
        },
        "response": {
            "status": response.status.as_u16(),
            "headers": headers(&response.headers),
            "body": body(&response.headers, &response.body),
            "duration_ms": millis(response.elapsed),
            "timings": timings(&response.timings),
        },
    })
}
