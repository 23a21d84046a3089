//! The numbers of an iterated run: latency histograms overall and per step, counts, errors by
//! kind and a per-second time series; added together across runs and written as the JSON
//! report's `load` object.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::load::histogram::Latencies;
use crate::load::phases::{self, Phases, Spent};

/// The kind counted for a step whose checks (or captures, templates) failed.
pub const FAILED_CHECK: &str = "check";

/// One step's run as the metrics count it.
#[derive(Clone, Debug)]
pub struct Sample {
    /// The step's name.
    pub step: String,
    /// Its wall time, attempts included.
    pub latency: Duration,
    /// Requests it sent, redirects and retries included.
    pub requests: u64,
    /// `None` when it passed; the kind of error otherwise: [`FAILED_CHECK`], or the kind of
    /// transport error (`timeout`, `connect`, `body_too_large`, `redirects`, `other`).
    pub error: Option<&'static str>,
    /// When it ended.
    pub at: SystemTime,
    /// The time its requests spent in each phase.
    pub phases: Spent,
}

/// One second of the time series, by the wall-clock second its steps ended in.
#[derive(Clone, Debug, Default)]
struct Second {
    requests: u64,
    errors: u64,
    latencies: Option<Latencies>,
    /// The histogram's text once the second is closed: a second takes a few hundred bytes, not
    /// a whole histogram.
    encoded: Option<String>,
    /// p50, p95 and p99, taken as the second closed: reports read them without the histogram.
    quantiles: Option<[Duration; 3]>,
}

impl Second {
    /// Returns the second's latencies, at the precision of a time series however they were
    /// kept, so that a second reopened or added up is what one run would have recorded.
    fn latencies(&self) -> Latencies {
        if let Some(latencies) = &self.latencies {
            return latencies.clone();
        }
        let mut coarse = Latencies::coarse();
        if let Some(decoded) = self
            .encoded
            .as_deref()
            .and_then(|t| Latencies::decode(t).ok())
        {
            // A coarse histogram takes any other: it is growing, to the whole range.
            let _ = coarse.add(&decoded);
        }
        coarse
    }

    /// Returns p50, p95 and p99.
    fn quantiles(&self) -> [Duration; 3] {
        match (&self.latencies, self.quantiles) {
            (None, Some(quantiles)) => quantiles,
            _ => quantiles_of(&self.latencies()),
        }
    }

    /// Returns the histogram's text.
    fn encoded(&self) -> String {
        match (&self.latencies, &self.encoded) {
            (None, Some(text)) => text.clone(),
            _ => self.latencies().encode(),
        }
    }

    /// Opens a closed second again, for a step that ended late.
    fn reopen(&mut self) {
        if self.latencies.is_none() && self.encoded.is_some() {
            self.latencies = Some(self.latencies());
            self.encoded = None;
            self.quantiles = None;
        }
    }

    fn close(&mut self) {
        if let Some(latencies) = self.latencies.take() {
            self.quantiles = Some(quantiles_of(&latencies));
            self.encoded = Some(latencies.encode());
        }
    }
}

/// Returns p50, p95 and p99 of some latencies.
fn quantiles_of(latencies: &Latencies) -> [Duration; 3] {
    [0.50, 0.95, 0.99].map(|q| latencies.quantile(q))
}

/// Seconds kept open for late steps: iterations running at once end a little out of order.
const OPEN_SECONDS: u64 = 2;

/// Everything measured in an iterated run (or several, added).
#[derive(Clone, Debug)]
pub struct Metrics {
    /// The workflow's name and file.
    pub workflow: (String, String),
    /// Every step's latency.
    pub overall: Latencies,
    /// Per step name, in first-seen order: latencies and the time spent in each phase.
    steps: Vec<(String, Latencies, Phases)>,
    /// Requests sent, redirects and retries included.
    pub requests: u64,
    /// Iterations that ended.
    pub iterations: u64,
    /// Iterations that passed.
    pub passed: u64,
    /// Iterations that failed.
    pub failed: u64,
    /// Failed steps by kind of error.
    pub errors: BTreeMap<String, u64>,
    /// By Unix second.
    series: BTreeMap<u64, Second>,
    /// Whether the time series is kept: only reports read it.
    keeps_series: bool,
    /// When the run started.
    pub started: SystemTime,
    /// When the run ended (or the last step so far did).
    pub ended: SystemTime,
    /// The share of a load run these metrics hold: `I/N` for a run with `--shard I/N`,
    /// `I,J,…/N` for a merge of some of the N shards, none for a whole run.
    pub shard: Option<String>,
    /// Why the run stopped before its end (a threshold that could no longer pass, an
    /// interrupt); for a merge, each stopped report's reason, naming it.
    pub stopped: Option<String>,
}

impl Metrics {
    /// Starts the metrics of a run of a workflow (name, file) starting now.
    pub fn new(name: &str, file: &str, started: SystemTime) -> Metrics {
        Metrics {
            workflow: (name.to_owned(), file.to_owned()),
            overall: Latencies::growing(),
            steps: Vec::new(),
            requests: 0,
            iterations: 0,
            passed: 0,
            failed: 0,
            errors: BTreeMap::new(),
            series: BTreeMap::new(),
            keeps_series: true,
            started,
            ended: started,
            shard: None,
            stopped: None,
        }
    }

    /// Leaves the time series out: for a run whose metrics no report will read, which then
    /// keeps nothing for each second it lasts.
    #[must_use]
    pub fn without_series(mut self) -> Metrics {
        self.keeps_series = false;
        self
    }

    /// Counts an ended iteration with the samples of its steps.
    pub fn iteration(&mut self, passed: bool, samples: &[Sample]) {
        self.iterations += 1;
        if passed {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
        for sample in samples {
            self.sample(sample);
        }
    }

    fn sample(&mut self, sample: &Sample) {
        self.requests += sample.requests;
        self.overall.record(sample.latency);
        let step = self.step_mut(&sample.step);
        step.0.record(sample.latency);
        if sample.requests > 0 {
            step.1.record(&sample.phases);
        }
        if let Some(kind) = sample.error {
            *self.errors.entry(kind.to_owned()).or_default() += 1;
        }
        if !self.keeps_series {
            return;
        }
        let second = unix_seconds(sample.at);
        let entry = self.series.entry(second).or_default();
        entry.requests += sample.requests;
        entry.errors += u64::from(sample.error.is_some());
        entry.reopen();
        entry
            .latencies
            .get_or_insert_with(Latencies::coarse)
            .record(sample.latency);
        for (_, old) in self
            .series
            .range_mut(..second.saturating_sub(OPEN_SECONDS))
            .rev()
            .take_while(|(_, s)| s.latencies.is_some())
        {
            old.close();
        }
    }

    fn step_mut(&mut self, name: &str) -> (&mut Latencies, &mut Phases) {
        let index = if let Some(index) = self.steps.iter().position(|(n, _, _)| n == name) {
            index
        } else {
            self.steps
                .push((name.to_owned(), Latencies::growing(), Phases::new()));
            self.steps.len() - 1
        };
        let (_, latencies, phases) = &mut self.steps[index];
        (latencies, phases)
    }

    /// Returns a step's latencies, when it ran.
    pub fn step(&self, name: &str) -> Option<&Latencies> {
        self.steps
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, l, _)| l)
    }

    /// Returns the time a step's requests spent in each phase, when it ran.
    pub fn phases(&self, name: &str) -> Option<&Phases> {
        self.steps
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, _, p)| p)
    }

    /// Lists the names of the steps that ran, in first-seen order.
    pub fn step_names(&self) -> impl Iterator<Item = &str> {
        self.steps.iter().map(|(n, _, _)| n.as_str())
    }

    /// Returns the time from the start to the end.
    pub fn elapsed(&self) -> Duration {
        self.ended.duration_since(self.started).unwrap_or_default()
    }

    /// Returns requests per second over the run.
    pub fn rate(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let requests = self.requests as f64;
        requests / self.elapsed().as_secs_f64().max(1e-6)
    }

    /// Returns the percent of iterations that failed (0 before any ended).
    pub fn error_percent(&self) -> f64 {
        if self.iterations == 0 {
            return 0.0;
        }
        #[allow(clippy::cast_precision_loss)]
        let percent = self.failed as f64 * 100.0 / self.iterations as f64;
        percent
    }

    /// Adds another run's metrics: histograms added, counts summed, series merged by second,
    /// the earliest start and the latest end.
    pub fn add(&mut self, other: &Metrics) -> Result<(), String> {
        self.overall.add(&other.overall)?;
        for (name, latencies, phases) in &other.steps {
            let (ours, our_phases) = self.step_mut(name);
            ours.add(latencies)?;
            our_phases.add(phases)?;
        }
        self.requests += other.requests;
        self.iterations += other.iterations;
        self.passed += other.passed;
        self.failed += other.failed;
        for (kind, count) in &other.errors {
            *self.errors.entry(kind.clone()).or_default() += count;
        }
        for (second, theirs) in &other.series {
            let ours = self.series.entry(*second).or_default();
            ours.requests += theirs.requests;
            ours.errors += theirs.errors;
            let mut latencies = ours.latencies();
            latencies.add(&theirs.latencies())?;
            ours.latencies = Some(latencies);
            ours.close();
        }
        self.started = self.started.min(other.started);
        self.ended = self.ended.max(other.ended);
        Ok(())
    }

    /// Writes the tables of the terminal summary: runs, p50, p95, p99 and max per step, then
    /// the mean time per phase of the steps that sent requests.
    pub fn table(&self) -> String {
        let names = || self.steps.iter().map(|(n, _, _)| n.chars().count());
        let width = names().max().unwrap_or(4).max(4);
        let mut out = format!(
            "  {:<width$}  {:>6}  {:>9}  {:>9}  {:>9}  {:>9}\n",
            "step", "runs", "p50", "p95", "p99", "max"
        );
        for (name, latencies, _) in &self.steps {
            let _ = writeln!(
                out,
                "  {name:<width$}  {:>6}  {:>9}  {:>9}  {:>9}  {:>9}",
                latencies.count(),
                micros(latencies.quantile(0.50)),
                micros(latencies.quantile(0.95)),
                micros(latencies.quantile(0.99)),
                micros(latencies.max()),
            );
        }
        out += &self.phases_table();
        out
    }

    /// Writes the mean time per phase of each step that sent requests (`–`: none of its runs
    /// went through that phase), and the p95 of its wait for the first byte.
    fn phases_table(&self) -> String {
        const HEAD: &str = "phases (mean)";
        let sent: Vec<_> = self
            .steps
            .iter()
            .filter(|(_, _, phases)| phases.ttfb_p95().is_some())
            .collect();
        if sent.is_empty() {
            return String::new();
        }
        let width = sent
            .iter()
            .map(|(n, _, _)| n.chars().count())
            .max()
            .unwrap_or(0)
            .max(HEAD.len());
        let mut out = format!("  {HEAD:<width$}");
        for head in phases::COLUMNS {
            let _ = write!(out, "  {head:>9}");
        }
        out.push('\n');
        let shown = |d: Option<Duration>| d.map_or_else(|| "–".to_owned(), micros);
        for (name, _, spent) in sent {
            let _ = write!(out, "  {name:<width$}");
            let means = [0, 1, 2, 3, 4].map(|phase| spent.mean(phase));
            for value in phases::columns(means, spent.ttfb_p95()) {
                let _ = write!(out, "  {:>9}", shown(value));
            }
            out.push('\n');
        }
        out
    }

    /// Returns the `load` object of the JSON report, with the thresholds' results.
    pub fn to_json(&self, thresholds: &[Value]) -> Value {
        let mut steps = Map::new();
        let mut summaries = Vec::new();
        for (name, latencies, phases) in &self.steps {
            steps.insert(name.clone(), Value::String(latencies.encode()));
            summaries.push(json!({
                "name": name,
                "latency": summary(latencies),
                "phases": phases.to_json(),
            }));
        }
        let series: Vec<Value> = self
            .series
            .iter()
            .map(|(second, entry)| {
                let [p50, p95, p99] = entry.quantiles();
                json!({
                    "second": second,
                    "requests": entry.requests,
                    "errors": entry.errors,
                    "p50_ms": millis(p50),
                    "p95_ms": millis(p95),
                    "p99_ms": millis(p99),
                    "histogram": entry.encoded(),
                })
            })
            .collect();
        let mut load = json!({
            "workflow": { "name": self.workflow.0, "file": self.workflow.1 },
            "started": rfc3339(self.started),
            "ended": rfc3339(self.ended),
            "duration_ms": millis(self.elapsed()),
            "counts": {
                "requests": self.requests,
                "iterations": self.iterations,
                "passed": self.passed,
                "failed": self.failed,
            },
            "rps": (self.rate() * 1000.0).round() / 1000.0,
            "errors": self.errors,
            "latency": summary(&self.overall),
            "steps": summaries,
            "histograms": {
                "unit": "us",
                "format": "HdrHistogram V2, deflate, base64",
                "overall": self.overall.encode(),
                "steps": steps,
            },
            "series": series,
            "thresholds": thresholds,
        });
        if let (Some(shard), Some(map)) = (&self.shard, load.as_object_mut()) {
            map.insert("shard".into(), Value::String(shard.clone()));
        }
        if let (Some(why), Some(map)) = (&self.stopped, load.as_object_mut()) {
            map.insert("stopped".into(), Value::String(why.clone()));
        }
        load
    }

    /// Reads the `load` object of a JSON report back.
    pub fn from_json(load: &Value) -> Result<Metrics, String> {
        let text = |pointer: &str| -> Result<&str, String> {
            load.pointer(pointer)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("`load{}` is missing or not text", dotted(pointer)))
        };
        let number = |pointer: &str| -> Result<u64, String> {
            load.pointer(pointer)
                .and_then(Value::as_u64)
                .ok_or_else(|| format!("`load{}` is missing or not a count", dotted(pointer)))
        };
        let histogram = |pointer: &str| -> Result<Latencies, String> {
            let read = Latencies::decode(text(pointer)?)
                .map_err(|e| format!("`load{}` is {e}", dotted(pointer)))?;
            let mut full = Latencies::new();
            full.add(&read)?;
            Ok(full)
        };
        let time = |pointer: &str| -> Result<SystemTime, String> {
            let value = text(pointer)?;
            humantime::parse_rfc3339(value)
                .map_err(|e| format!("`load{}` is not a time: {e}", dotted(pointer)))
        };
        let mut metrics = Metrics::new(
            text("/workflow/name")?,
            text("/workflow/file")?,
            time("/started")?,
        );
        metrics.ended = time("/ended")?;
        metrics.shard = match load.get("shard") {
            None | Some(Value::Null) => None,
            Some(Value::String(shard)) => Some(shard.clone()),
            Some(_) => return Err("`load.shard` is not text".into()),
        };
        metrics.stopped = match load.get("stopped") {
            None | Some(Value::Null) => None,
            Some(Value::String(why)) => Some(why.clone()),
            Some(_) => return Err("`load.stopped` is not text".into()),
        };
        metrics.overall = histogram("/histograms/overall")?;
        metrics.requests = number("/counts/requests")?;
        metrics.iterations = number("/counts/iterations")?;
        metrics.passed = number("/counts/passed")?;
        metrics.failed = number("/counts/failed")?;
        let steps = load
            .pointer("/histograms/steps")
            .and_then(Value::as_object)
            .ok_or("`load.histograms.steps` is missing or not an object")?;
        for (name, value) in steps {
            let encoded = value
                .as_str()
                .ok_or_else(|| format!("`load.histograms.steps.{name}` is not text"))?;
            let latencies = Latencies::decode(encoded)
                .map_err(|e| format!("`load.histograms.steps.{name}` is {e}"))?;
            let mut full = Latencies::new();
            full.add(&latencies)?;
            metrics.steps.push((name.clone(), full, Phases::new()));
        }
        // Reports written before the breakdown have no `phases`: their steps count none.
        if let Some(summaries) = load.get("steps").and_then(Value::as_array) {
            for (index, entry) in summaries.iter().enumerate() {
                let (Some(name), Some(phases)) = (
                    entry.get("name").and_then(Value::as_str),
                    entry.get("phases"),
                ) else {
                    continue;
                };
                let read = Phases::from_json(phases, &format!("load.steps[{index}].phases"))?;
                metrics.step_mut(name).1.add(&read)?;
            }
        }
        if let Some(errors) = load.get("errors").and_then(Value::as_object) {
            for (kind, count) in errors {
                let count = count
                    .as_u64()
                    .ok_or_else(|| format!("`load.errors.{kind}` is not a count"))?;
                metrics.errors.insert(kind.clone(), count);
            }
        }
        let series = load
            .get("series")
            .and_then(Value::as_array)
            .ok_or("`load.series` is missing or not a list")?;
        for (index, entry) in series.iter().enumerate() {
            let field = |key: &str| {
                entry.get(key).and_then(Value::as_u64).ok_or_else(|| {
                    format!("`load.series[{index}].{key}` is missing or not a count")
                })
            };
            let encoded = entry
                .get("histogram")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("`load.series[{index}].histogram` is missing"))?;
            Latencies::decode(encoded)
                .map_err(|e| format!("`load.series[{index}].histogram` is {e}"))?;
            let second = metrics.series.entry(field("second")?).or_default();
            second.requests += field("requests")?;
            second.errors += field("errors")?;
            second.encoded = Some(encoded.to_owned());
        }
        Ok(metrics)
    }
}

/// Turns a JSON pointer into the dotted path messages show.
fn dotted(pointer: &str) -> String {
    pointer.replace('/', ".")
}

fn summary(latencies: &Latencies) -> Value {
    json!({
        "count": latencies.count(),
        "p50_ms": millis(latencies.quantile(0.50)),
        "p90_ms": millis(latencies.quantile(0.90)),
        "p95_ms": millis(latencies.quantile(0.95)),
        "p99_ms": millis(latencies.quantile(0.99)),
        "max_ms": millis(latencies.max()),
        "mean_ms": millis(latencies.mean()),
    })
}

/// Milliseconds to the microsecond.
fn millis(duration: Duration) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let micros = duration.as_micros() as f64;
    micros / 1000.0
}

fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}

/// Shows a latency with a unit that keeps three significant digits.
pub fn micros(duration: Duration) -> String {
    let us = duration.as_micros();
    if us < 1000 {
        format!("{us}µs")
    } else if us < 1_000_000 {
        #[allow(clippy::cast_precision_loss)]
        let ms = us as f64 / 1000.0;
        format!("{ms:.2}ms")
    } else {
        #[allow(clippy::cast_precision_loss)]
        let s = us as f64 / 1_000_000.0;
        format!("{s:.2}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(step: &str, millis: u64, error: Option<&'static str>, second: u64) -> Sample {
        Sample {
            step: step.to_owned(),
            latency: Duration::from_millis(millis),
            requests: 1,
            error,
            at: UNIX_EPOCH + Duration::from_secs(second),
            // A new connection every tenth second; the wait for the first byte is most of it.
            phases: Spent([
                None,
                second
                    .is_multiple_of(10)
                    .then(|| Duration::from_micros(150)),
                None,
                Some(Duration::from_millis(millis) * 3 / 4),
                Some(Duration::from_micros(40)),
            ]),
        }
    }

    #[test]
    fn shows_latencies_with_units() {
        assert_eq!(micros(Duration::from_micros(850)), "850µs");
        assert_eq!(micros(Duration::from_micros(1500)), "1.50ms");
        assert_eq!(micros(Duration::from_millis(2500)), "2.50s");
    }

    #[test]
    fn added_metrics_equal_one_run_and_survive_the_report() {
        let start = UNIX_EPOCH + Duration::from_secs(100);
        let mut whole = Metrics::new("w", "w.yaml", start);
        let mut parts = Vec::new();
        for part in 0..3u64 {
            let mut metrics = Metrics::new("w", "w.yaml", start);
            for i in 0..50u64 {
                let samples = [
                    sample("a", 1 + i * (part + 1), None, 100 + i / 10),
                    sample(
                        "b",
                        20 + i,
                        (i % 7 == 0).then_some(FAILED_CHECK),
                        100 + i / 10,
                    ),
                ];
                let passed = i % 7 != 0;
                metrics.iteration(passed, &samples);
                whole.iteration(passed, &samples);
            }
            parts.push(metrics);
        }
        let mut merged: Option<Metrics> = None;
        for part in &parts {
            let read = Metrics::from_json(&part.to_json(&[])).expect("reads back");
            match merged.as_mut() {
                None => merged = Some(read),
                Some(merged) => merged.add(&read).expect("adds"),
            }
        }
        let merged = merged.expect("three parts");
        let (a, b) = (merged.to_json(&[]), whole.to_json(&[]));
        for key in [
            "counts",
            "errors",
            "latency",
            "steps",
            "series",
            "histograms",
        ] {
            assert_eq!(a[key], b[key], "{key}");
        }
        assert_eq!(merged.iterations, 150);
        assert_eq!(merged.errors[FAILED_CHECK], 24);
    }

    #[test]
    fn a_busy_second_is_kept_in_about_a_kilobyte() {
        // 20,000 steps ending in one second, spread at random over 1 to 101 ms: a second of a
        // long run at load, every one of which the run keeps.
        let mut metrics = Metrics::new("w", "w.yaml", UNIX_EPOCH);
        let at = UNIX_EPOCH + Duration::from_secs(7);
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut latencies: Vec<u64> = (0..20_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                1_000 + state % 100_000
            })
            .collect();
        let samples: Vec<Sample> = latencies
            .iter()
            .map(|micros| Sample {
                latency: Duration::from_micros(*micros),
                at,
                ..sample("a", 0, None, 7)
            })
            .collect();
        latencies.sort_unstable();
        metrics.iteration(true, &samples);
        metrics.iteration(true, &[sample("a", 5, None, 10)]);
        let second = &metrics.series[&7];
        assert!(second.latencies.is_none(), "second 7 is closed");
        let kept = second.encoded.as_ref().map_or(0, String::len);
        assert!(kept < 2_000, "{kept} bytes");
        // Its percentiles, taken as it closed, are within 1% (2 digits) of the latencies'.
        let [p50, p95, p99] = second.quantiles();
        // The latency with 10,000, 19,000 and 19,800 of the 20,000 at or below it.
        let exact = |rank: usize| latencies[rank - 1];
        for (got, exact) in [
            (p50, exact(10_000)),
            (p95, exact(19_000)),
            (p99, exact(19_800)),
        ] {
            let got = u64::try_from(got.as_micros()).unwrap_or(u64::MAX);
            assert!(
                got.abs_diff(exact) * 100 <= exact,
                "{got} µs for {exact} µs"
            );
        }
    }

    #[test]
    fn metrics_that_no_report_reads_keep_no_series() {
        let mut metrics = Metrics::new("w", "w.yaml", UNIX_EPOCH).without_series();
        for second in 0..10 {
            metrics.iteration(second % 3 != 0, &[sample("a", 5 + second, None, second)]);
        }
        assert!(metrics.series.is_empty());
        assert_eq!(metrics.iterations, 10);
        assert_eq!(metrics.step("a").map(Latencies::count), Some(10));
        assert_eq!(metrics.to_json(&[])["series"], json!([]));
    }

    #[test]
    fn closed_seconds_keep_their_text_only() {
        let mut metrics = Metrics::new("w", "w.yaml", UNIX_EPOCH);
        for second in 0..10 {
            metrics.iteration(true, &[sample("a", 5, None, second)]);
        }
        let open = metrics
            .series
            .values()
            .filter(|s| s.latencies.is_some())
            .count();
        assert!(open <= 3, "{open} seconds still hold a histogram");
        assert_eq!(metrics.series.len(), 10);
    }
}
