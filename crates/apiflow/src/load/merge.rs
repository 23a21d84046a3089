//! `apiflow report merge`: the JSON reports of load runs made by several processes, combined
//! into one: histograms added (percentiles read from the sum, never averaged), counts summed,
//! series merged by second, the shards checked (each once, none missing), and the thresholds
//! the reports held gathered to be checked again on the whole.
//!
//! In order: each report is read (JSON, a `load` object of one workflow, its thresholds) → its
//! metrics are added to the first's → the shards are checked → the merged report is written
//! and summarised by the caller, with the thresholds' verdicts on the merged metrics.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::exit::ExitCode;
use crate::load::metrics::Metrics;
use crate::load::threshold::{self, Threshold, Verdict};
use crate::span::Source;

/// The reports combined.
#[derive(Debug)]
pub struct Merged {
    /// The metrics of every report, added; `shard` says which shards they hold (none: the
    /// whole run).
    pub metrics: Metrics,
    /// The thresholds the reports checked, each once, in the order first found.
    pub thresholds: Vec<Threshold>,
    /// Every report's `workflows` entries, in the order of the reports.
    pub workflows: Vec<Value>,
    /// Each report's name and the shard it held, in the order given.
    pub reports: Vec<(String, Option<String>)>,
    /// What is worth knowing but did not stop the merge (missing shards with `partial`).
    pub warnings: Vec<Diagnostic>,
}

/// The shards a report holds: which of how many.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Shards {
    indices: Vec<usize>,
    count: usize,
}

impl Shards {
    /// Reads `I/N` or `I,J,…/N`.
    fn parse(text: &str) -> Option<Shards> {
        let (indices, count) = text.split_once('/')?;
        let count: usize = count.trim().parse().ok().filter(|n| *n >= 1)?;
        let mut parsed = Vec::new();
        for index in indices.split(',') {
            let index: usize = index.trim().parse().ok()?;
            if !(1..=count).contains(&index) || parsed.contains(&index) {
                return None;
            }
            parsed.push(index);
        }
        parsed.sort_unstable();
        Some(Shards {
            indices: parsed,
            count,
        })
    }

    fn show(&self) -> String {
        let indices: Vec<String> = self.indices.iter().map(ToString::to_string).collect();
        format!("{}/{}", indices.join(","), self.count)
    }
}

/// One report read.
struct Read {
    name: String,
    metrics: Metrics,
    shards: Option<Shards>,
    thresholds: Vec<Threshold>,
    workflows: Vec<Value>,
    /// What tells two runs apart: the workflow, the start, the end and every latency.
    identity: (String, String, String, String),
}

/// Combines JSON reports, each given as its file's name and text. Every report that cannot be
/// read, is not a load report, or is of another workflow than the first is a problem; so are
/// shards given twice, and shards missing unless `partial` (then a warning).
pub fn merge(reports: &[(String, String)], partial: bool) -> Result<Merged, Vec<Diagnostic>> {
    let mut problems = Vec::new();
    let mut read = Vec::new();
    for (name, text) in reports {
        match read_report(name, text) {
            Ok(report) => read.push(report),
            Err(problem) => problems.push(problem),
        }
    }
    let Some(first) = read.first() else {
        return Err(problems);
    };
    let mut metrics = first.metrics.clone();
    let mut thresholds: Vec<Threshold> = Vec::new();
    let mut workflows = Vec::new();
    let mut added = Vec::new();
    for (index, report) in read.iter().enumerate() {
        if index > 0 {
            if let Some(problem) = other_workflow(first, report) {
                problems.push(problem);
                continue;
            }
            if let Err(message) = metrics.add(&report.metrics) {
                problems.push(Diagnostic::error(format!(
                    "`{}` cannot be added: {message}",
                    report.name
                )));
                continue;
            }
        }
        added.push(report);
        workflows.extend(report.workflows.iter().cloned());
        for threshold in &report.thresholds {
            if !thresholds.iter().any(|t| t.text == threshold.text) {
                thresholds.push(threshold.clone());
            }
        }
    }
    let mut warnings = Vec::new();
    metrics.shard = check_shards(&added, partial, &mut problems, &mut warnings);
    // A report of a run that stopped early holds only part of its share: the merge says which,
    // and why.
    let stopped: Vec<String> = added
        .iter()
        .filter_map(|report| {
            let why = report.metrics.stopped.as_ref()?;
            let which = match &report.shards {
                Some(shards) => format!("shard {} (`{}`)", shards.show(), report.name),
                None => format!("`{}`", report.name),
            };
            Some(format!("{which}: {why}"))
        })
        .collect();
    metrics.stopped = (!stopped.is_empty()).then(|| stopped.join("; "));
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Merged {
        metrics,
        thresholds,
        workflows,
        reports: read
            .iter()
            .map(|r| (r.name.clone(), r.shards.as_ref().map(Shards::show)))
            .collect(),
        warnings,
    })
}

/// Reads one report: its JSON, its `load` object and the thresholds it checked.
fn read_report(name: &str, text: &str) -> Result<Read, Diagnostic> {
    let document: Value = serde_json::from_str(text).map_err(|error| {
        let source = Source::new(name.to_owned(), text.to_owned());
        crate::diagnostic::json_syntax(&source, name, &error)
            .help("give the JSON reports of load runs, written with `--report json=PATH`")
    })?;
    let load = match document.get("load") {
        Some(load @ Value::Object(_)) => load,
        Some(Value::Array(_)) => {
            return Err(Diagnostic::error(format!(
                "`{name}` holds the load runs of several workflows"
            ))
            .help("merge the reports of one workflow's runs: run each workflow file on its own"));
        }
        _ => {
            let what = if document.get("workflows").is_some() {
                "it has no `load` object (a run without `--iterations`, `--data`, `--duration`, `--rate` or `--stages`)"
            } else {
                "it is not an apiflow JSON report"
            };
            return Err(Diagnostic::error(format!(
                "`{name}` is not the report of a load run: {what}"
            ))
            .help("merge the reports of load runs, written with `--report json=PATH`"));
        }
    };
    let malformed = |message: String| {
        Diagnostic::error(format!("`{name}` has a malformed `load` object: {message}"))
            .help("give the JSON report as apiflow wrote it")
    };
    let metrics = Metrics::from_json(load).map_err(malformed)?;
    let shards = match &metrics.shard {
        None => None,
        Some(text) => Some(Shards::parse(text).ok_or_else(|| {
            malformed(format!(
                "`load.shard` is `{text}`, not `I/N` (or `I,J,…/N`) with 1 ≤ I ≤ N"
            ))
        })?),
    };
    let mut thresholds = Vec::new();
    let listed = load
        .get("thresholds")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    for (index, entry) in listed.iter().enumerate() {
        let text = entry
            .get("threshold")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                malformed(format!(
                    "`load.thresholds[{index}].threshold` is missing or not text"
                ))
            })?;
        let mut parsed = threshold::parse(text).map_err(|mistake| {
            malformed(format!(
                "`load.thresholds[{index}].threshold` is `{text}`: {}",
                mistake.message
            ))
        })?;
        // Where the workflow has it, for annotations on the merged report.
        parsed.location = entry
            .get("location")
            .and_then(Value::as_str)
            .map(str::to_owned);
        thresholds.push(parsed);
    }
    let workflows = document
        .get("workflows")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let identity = (
        load["workflow"].to_string(),
        load["started"].to_string(),
        load["ended"].to_string(),
        load.pointer("/histograms/overall")
            .map(Value::to_string)
            .unwrap_or_default(),
    );
    Ok(Read {
        name: name.to_owned(),
        metrics,
        shards,
        thresholds,
        workflows,
        identity,
    })
}

/// Returns the problem of a report of another workflow than the first.
fn other_workflow(first: &Read, report: &Read) -> Option<Diagnostic> {
    if report.metrics.workflow == first.metrics.workflow {
        return None;
    }
    let (name_a, file_a) = &first.metrics.workflow;
    let (name_b, file_b) = &report.metrics.workflow;
    Some(
        Diagnostic::error(format!(
            "`{}` is a report of another workflow than `{}`",
            report.name, first.name
        ))
        .note(format!(
            "expected: `{name_a}` ({file_a}), as in `{}`",
            first.name
        ))
        .note(format!("found: `{name_b}` ({file_b})"))
        .help("merge only the reports of runs of one workflow"),
    )
}

/// Checks that the reports are the shards of one run, each once, and returns the shards the
/// merge holds (none: the whole run). Reports of whole runs may be merged (independent load
/// generators), but not the same run twice.
fn check_shards(
    read: &[&Read],
    partial: bool,
    problems: &mut Vec<Diagnostic>,
    warnings: &mut Vec<Diagnostic>,
) -> Option<String> {
    let first = read.first()?;
    let mut held: BTreeMap<usize, &str> = BTreeMap::new();
    let mut seen: Vec<&Read> = Vec::new();
    for &report in read {
        let show = |r: &Read| {
            r.shards.as_ref().map_or_else(
                || "the whole run".to_owned(),
                |s| format!("shard {}", s.show()),
            )
        };
        match (&first.shards, &report.shards) {
            (None, Some(_)) | (Some(_), None) => {
                problems.push(
                    Diagnostic::error(format!(
                        "`{}` holds {}, but `{}` holds {}",
                        report.name,
                        show(report),
                        first.name,
                        show(first)
                    ))
                    .help("merge the reports of one run's shards (each run with `--shard I/N` of the same N), or of whole runs only"),
                );
                continue;
            }
            (Some(ours), Some(theirs)) if ours.count != theirs.count => {
                problems.push(
                    Diagnostic::error(format!(
                        "`{}` holds shard {}, but `{}` holds shard {}: runs split into different numbers of shards",
                        report.name,
                        theirs.show(),
                        first.name,
                        ours.show(),
                    ))
                    .help("merge the shards of one run: every report written with `--shard I/N` of the same N"),
                );
                continue;
            }
            _ => {}
        }
        if let Some(earlier) = seen.iter().find(|r| r.identity == report.identity) {
            let title = if earlier.name == report.name {
                format!("`{}` is given twice", report.name)
            } else {
                format!("`{}` is the same run as `{}`", report.name, earlier.name)
            };
            problems.push(
                Diagnostic::error(title)
                    .help("give each report once: adding a run twice counts its requests twice"),
            );
            continue;
        }
        seen.push(report);
        for index in report.shards.iter().flat_map(|s| s.indices.iter()) {
            if let Some(earlier) = held.insert(*index, &report.name) {
                let count = report.shards.as_ref().map_or(0, |s| s.count);
                problems.push(
                    Diagnostic::error(format!(
                        "`{}` and `{earlier}` both hold shard {index}/{count}",
                        report.name
                    ))
                    .help("give each shard's report once: was a shard run twice, or its report copied?"),
                );
            }
        }
    }
    let count = first.shards.as_ref()?.count;
    let missing: Vec<usize> = (1..=count).filter(|i| !held.contains_key(i)).collect();
    if missing.is_empty() {
        return None;
    }
    let listed = list(
        &missing
            .iter()
            .map(|i| format!("{i}/{count}"))
            .collect::<Vec<_>>(),
    );
    let (noun, verb) = if missing.len() == 1 {
        ("shard", "is")
    } else {
        ("shards", "are")
    };
    let have: Vec<usize> = held.keys().copied().collect();
    let shards = Shards {
        indices: have,
        count,
    };
    if partial {
        warnings.push(
            Diagnostic::warning(format!(
                "{noun} {listed} {verb} missing: the merged report holds shards {} only",
                shards.show()
            ))
            .help("its counts and rate are those of the shards given, not of the whole run"),
        );
    } else if problems.is_empty() {
        problems.push(
            Diagnostic::error(format!(
                "{noun} {listed} of the run {verb} missing: the merge would hold only part of it"
            ))
            .help("give the report of every shard, or `--partial` to merge only those given"),
        );
    }
    Some(shards.show())
}

/// Lists items as a sentence: `a`, `a and b`, `a, b and c`.
fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

impl Merged {
    /// Returns the thresholds to check: the reports', then those of `extra` not among them.
    pub fn all_thresholds(&self, extra: &[Threshold]) -> Vec<Threshold> {
        let mut all = self.thresholds.clone();
        for threshold in extra {
            if !all.iter().any(|t| t.text == threshold.text) {
                all.push(threshold.clone());
            }
        }
        all
    }

    /// Returns how the merge ends: as one process running the whole test would, 3 when a
    /// request could not be completed, 1 when an iteration failed; and 1 when a threshold
    /// fails on the merged metrics.
    pub fn outcome(&self, verdicts: &[Verdict]) -> ExitCode {
        let iterations = if self
            .metrics
            .errors
            .iter()
            .any(|(kind, count)| kind != crate::load::metrics::FAILED_CHECK && *count > 0)
        {
            ExitCode::Unreachable
        } else if self.metrics.failed > 0 {
            ExitCode::Failed
        } else {
            ExitCode::Passed
        };
        // A run that stopped early did not run all it planned, as one process would not.
        if verdicts.iter().all(|v| v.passed) && self.metrics.stopped.is_none() {
            iterations
        } else {
            iterations.worst(ExitCode::Failed)
        }
    }

    /// Returns the merged `load` object, with the thresholds' verdicts.
    pub fn load(&self, verdicts: &[Verdict]) -> Value {
        let thresholds: Vec<Value> = verdicts.iter().map(Verdict::to_json).collect();
        self.metrics.to_json(&thresholds)
    }

    /// Says which reports were merged: `3 reports, shards 1/3 to 3/3` or `2 reports`.
    pub fn sources(&self) -> String {
        let count = self.reports.len();
        let noun = if count == 1 { "report" } else { "reports" };
        match &self.metrics.shard {
            None if self.reports.iter().all(|(_, s)| s.is_some()) => {
                format!("{count} {noun}: every shard of {}", self.shard_count())
            }
            None => format!("{count} {noun} of whole runs"),
            Some(shards) => format!("{count} {noun}: shards {shards}"),
        }
    }

    fn shard_count(&self) -> usize {
        self.reports
            .iter()
            .filter_map(|(_, s)| s.as_deref().and_then(Shards::parse))
            .map(|s| s.count)
            .next()
            .unwrap_or(1)
    }

    /// Writes the terminal summary: the outcome, counts and rate, errors by kind, the latency
    /// table of a load run, and each threshold's verdict.
    pub fn summary(&self, verdicts: &[Verdict]) -> String {
        let metrics = &self.metrics;
        let mark = if self.outcome(verdicts).passed() {
            "✓"
        } else {
            "✗"
        };
        let mut out = format!(
            "{mark} {}: {} iterations, {} passed, {} failed in {} (merged from {})\n",
            metrics.workflow.0,
            metrics.iterations,
            metrics.passed,
            metrics.failed,
            crate::duration::format_duration(metrics.elapsed()),
            self.sources(),
        );
        let _ = writeln!(
            out,
            "  {} requests, {:.0} requests/s",
            metrics.requests,
            metrics.rate()
        );
        if let Some(why) = &metrics.stopped {
            let _ = writeln!(out, "  stopped early: {why}");
        }
        if !metrics.errors.is_empty() {
            let kinds: Vec<String> = metrics
                .errors
                .iter()
                .map(|(kind, count)| format!("{kind} {count}"))
                .collect();
            let _ = writeln!(out, "  failed steps: {}", kinds.join(", "));
        }
        out += &metrics.table();
        if !verdicts.is_empty() {
            out.push_str("  thresholds\n");
            for verdict in verdicts {
                let _ = writeln!(out, "  {}", verdict.line());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_read_and_show() {
        let shards = Shards::parse("3,1/4").expect("valid");
        assert_eq!((shards.indices.as_slice(), shards.count), (&[1, 3][..], 4));
        assert_eq!(shards.show(), "1,3/4");
        for bad in ["", "1", "0/2", "3/2", "1,1/2", "a/2", "1/0"] {
            assert_eq!(Shards::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn lists_read_as_sentences() {
        let items = |n: usize| (1..=n).map(|i| i.to_string()).collect::<Vec<_>>();
        assert_eq!(list(&items(1)), "1");
        assert_eq!(list(&items(2)), "1 and 2");
        assert_eq!(list(&items(3)), "1, 2 and 3");
    }
}
