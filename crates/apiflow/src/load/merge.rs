//! `apiflow report merge`: the JSON reports of load runs made by several processes, combined
//! into one: histograms added (percentiles read from the sum, never averaged), counts summed,
//! series merged by second, and the thresholds the reports held gathered to be checked again.

use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::load::metrics::Metrics;
use crate::span::Source;

/// The reports combined.
#[derive(Debug)]
pub struct Merged {
    /// The metrics of every report, added.
    pub metrics: Metrics,
    /// The thresholds the reports checked, each once, in the order first found.
    pub thresholds: Vec<String>,
    /// Every report's `workflows` entries, in the order of the reports.
    pub workflows: Vec<Value>,
}

/// Combines JSON reports, each given as its file's name and text; every report that cannot be
/// read, is not a load report, or is of another workflow than the first, is a problem.
pub fn merge(reports: &[(String, String)]) -> Result<Merged, Vec<Diagnostic>> {
    let mut problems = Vec::new();
    let mut merged: Option<(String, Merged)> = None;
    for (name, text) in reports {
        let document: Value = match serde_json::from_str(text) {
            Ok(document) => document,
            Err(error) => {
                let source = Source::new(name.clone(), text.clone());
                problems.push(crate::diagnostic::json_syntax(
                    &source,
                    "a JSON report",
                    &error,
                ));
                continue;
            }
        };
        let load = match document.get("load") {
            Some(Value::Object(_)) => &document["load"],
            Some(Value::Array(_)) => {
                problems.push(
                    Diagnostic::error(format!(
                        "`{name}` holds the load runs of several workflows"
                    ))
                    .help("merge the reports of one workflow's runs: run each workflow file on its own"),
                );
                continue;
            }
            _ => {
                problems.push(
                    Diagnostic::error(format!("`{name}` is not a load report: it has no `load` object"))
                        .help("merge the reports of runs with `--iterations` or `--data`, written with `--report json=PATH`"),
                );
                continue;
            }
        };
        let metrics = match Metrics::from_json(load) {
            Ok(metrics) => metrics,
            Err(message) => {
                problems.push(Diagnostic::error(format!(
                    "`{name}` has a malformed `load` object: {message}"
                )));
                continue;
            }
        };
        let thresholds: Vec<String> = load
            .get("thresholds")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| t.get("threshold").and_then(Value::as_str))
            .map(str::to_owned)
            .collect();
        let workflows = document
            .get("workflows")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        match merged.as_mut() {
            None => {
                merged = Some((
                    name.clone(),
                    Merged {
                        metrics,
                        thresholds: Vec::new(),
                        workflows,
                    },
                ));
            }
            Some((first, merged)) => {
                if metrics.workflow != merged.metrics.workflow {
                    let (name_a, file_a) = &merged.metrics.workflow;
                    let (name_b, file_b) = &metrics.workflow;
                    problems.push(
                        Diagnostic::error(format!(
                            "`{name}` is a report of another workflow than `{first}`"
                        ))
                        .note(format!("expected: `{name_a}` ({file_a}), as in `{first}`"))
                        .note(format!("found: `{name_b}` ({file_b})"))
                        .help("merge only the reports of runs of one workflow"),
                    );
                    continue;
                }
                if let Err(message) = merged.metrics.add(&metrics) {
                    problems.push(Diagnostic::error(format!(
                        "`{name}` cannot be added: {message}"
                    )));
                    continue;
                }
                merged.workflows.extend(workflows);
            }
        }
        if let Some((_, merged)) = merged.as_mut() {
            for threshold in thresholds {
                if !merged.thresholds.contains(&threshold) {
                    merged.thresholds.push(threshold);
                }
            }
        }
    }
    match merged {
        Some((_, merged)) if problems.is_empty() => Ok(merged),
        _ => Err(problems),
    }
}
