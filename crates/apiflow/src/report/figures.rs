//! The figures of a load run that the HTML charts and the Markdown summary show, read from the
//! JSON report's `load` object: a run's, or the sum of several runs' (`apiflow report merge`).

use std::time::Duration;

use serde_json::Value;

use crate::load::histogram::Latencies;
use crate::load::metrics::micros;
use crate::load::phases;
use crate::load::threshold::{self, Metric, Op};

/// One row of the latency table, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Row {
    /// The step's name, or `all steps`.
    pub name: String,
    /// How many times it ran.
    pub count: u64,
    /// The median.
    pub p50: f64,
    /// The 95th percentile.
    pub p95: f64,
    /// The 99th percentile.
    pub p99: f64,
    /// The largest.
    pub max: f64,
}

/// One step's time per phase: the mean per run of `dns`, `connect`, `tls`, `ttfb` and
/// `transfer` in milliseconds (`None`: no run went through it), and the p95 of `ttfb`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PhaseRow {
    /// The step's name.
    pub name: String,
    /// The mean of each phase, in the order of [`phases::NAMES`].
    pub means: [Option<f64>; 5],
    /// The 95th percentile of the wait for the first byte.
    pub ttfb_p95: f64,
}

/// One second of the time series; `None` percentiles in a second when no step ended.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Point {
    /// Seconds since the first second of the series.
    pub offset: u64,
    /// Requests sent by the steps that ended in that second.
    pub requests: u64,
    /// Steps that failed in that second.
    pub errors: u64,
    /// The p50, p95 and p99 latencies in milliseconds.
    pub latency: Option<[f64; 3]>,
}

/// A threshold's result, with the latency limit a chart can draw.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// As written.
    pub threshold: String,
    /// The step it is about.
    pub step: Option<String>,
    /// Whether it held.
    pub passed: bool,
    /// The value measured, or `None` when the step never ran.
    pub actual: Option<String>,
    /// For a limit on every step's p50, p95 or p99 (`p95<300ms`): the percentile's index in a
    /// [`Point`]'s latencies and the limit in milliseconds.
    pub line: Option<(usize, f64)>,
}

/// What a load run measured.
#[derive(Clone, Debug, Default)]
pub struct Figures {
    /// The workflow's name.
    pub name: String,
    /// Its file.
    pub file: String,
    /// Requests sent.
    pub requests: u64,
    /// Iterations that ended.
    pub iterations: u64,
    /// Iterations that passed.
    pub passed: u64,
    /// Iterations that failed.
    pub failed: u64,
    /// The run's wall time.
    pub duration: Duration,
    /// Requests per second.
    pub rps: f64,
    /// Failed steps by kind of error.
    pub errors: Vec<(String, u64)>,
    /// Every step's latency.
    pub overall: Row,
    /// Each step's latency, in the order first run.
    pub steps: Vec<Row>,
    /// The time per phase of each step that sent a request, in the order first run.
    pub phases: Vec<PhaseRow>,
    /// Per second, from the first second in which a step ended to the last, without gaps.
    pub series: Vec<Point>,
    /// The thresholds checked.
    pub thresholds: Vec<Verdict>,
    /// Why the run stopped before its end, when it did.
    pub stopped: Option<String>,
}

fn count(value: &Value, pointer: &str) -> u64 {
    value.pointer(pointer).and_then(Value::as_u64).unwrap_or(0)
}

fn number(value: &Value, pointer: &str) -> f64 {
    value
        .pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or(0.0)
}

fn text(value: &Value, pointer: &str) -> String {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn row(name: &str, latency: &Value) -> Row {
    Row {
        name: name.to_owned(),
        count: count(latency, "/count"),
        p50: number(latency, "/p50_ms"),
        p95: number(latency, "/p95_ms"),
        p99: number(latency, "/p99_ms"),
        max: number(latency, "/max_ms"),
    }
}

impl Figures {
    /// Tells whether the run passed: no iteration failed and every threshold held.
    pub fn passed(&self) -> bool {
        self.failed == 0 && self.stopped.is_none() && self.thresholds.iter().all(|t| t.passed)
    }

    /// Returns the one line that sums the run up: iterations, requests, time, rate and the
    /// failed steps by kind (not escaped).
    pub fn headline(&self) -> String {
        let errors = if self.errors.is_empty() {
            "no failed steps".to_owned()
        } else {
            let kinds: Vec<String> = self
                .errors
                .iter()
                .map(|(kind, n)| format!("{n} {kind}"))
                .collect();
            format!("failed steps: {}", kinds.join(", "))
        };
        let stopped = self
            .stopped
            .as_ref()
            .map(|why| format!("; stopped early: {why}"))
            .unwrap_or_default();
        format!(
            "{} iterations ({} passed, {} failed), {} requests in {}, {:.1} requests/s; {errors}{stopped}",
            self.iterations,
            self.passed,
            self.failed,
            self.requests,
            crate::duration::format_duration(self.duration),
            self.rps,
        )
    }

    /// Reads the figures of a `load` object; what is missing counts as zero.
    pub fn read(load: &Value) -> Figures {
        let step_values = load
            .get("steps")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        let steps = step_values
            .iter()
            .map(|step| row(&text(step, "/name"), &step["latency"]))
            .collect();
        let phases = step_values
            .iter()
            .filter_map(|step| {
                let spent = step.get("phases")?;
                let ttfb_p95 = spent.pointer("/ttfb/p95_ms").and_then(Value::as_f64);
                // A step that sent nothing has no wait for a first byte, and no row.
                ttfb_p95.map(|p95| PhaseRow {
                    name: text(step, "/name"),
                    means: phases::NAMES.map(|phase| {
                        spent
                            .get(phase)
                            .and_then(|p| p.get("mean_ms"))
                            .and_then(Value::as_f64)
                    }),
                    ttfb_p95: p95,
                })
            })
            .collect();
        let errors = load
            .get("errors")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(kind, n)| (kind.clone(), n.as_u64().unwrap_or(0)))
            .collect();
        let thresholds = load
            .get("thresholds")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|t| {
                let threshold = text(t, "/threshold");
                let line = threshold::parse(&threshold).ok().and_then(|parsed| {
                    let index = match parsed.metric {
                        Metric::Quantile(q) if (q - 0.50).abs() < 1e-9 => 0,
                        Metric::Quantile(q) if (q - 0.95).abs() < 1e-9 => 1,
                        Metric::Quantile(q) if (q - 0.99).abs() < 1e-9 => 2,
                        _ => return None,
                    };
                    (parsed.step.is_none() && matches!(parsed.op, Op::Lt | Op::Le))
                        .then_some((index, parsed.limit / 1000.0))
                });
                Verdict {
                    threshold,
                    step: t.get("step").and_then(Value::as_str).map(str::to_owned),
                    passed: t.get("passed").and_then(Value::as_bool).unwrap_or(false),
                    actual: t.get("actual").and_then(Value::as_str).map(str::to_owned),
                    line,
                }
            })
            .collect();
        Figures {
            name: text(load, "/workflow/name"),
            file: text(load, "/workflow/file"),
            requests: count(load, "/counts/requests"),
            iterations: count(load, "/counts/iterations"),
            passed: count(load, "/counts/passed"),
            failed: count(load, "/counts/failed"),
            duration: Duration::from_secs_f64(number(load, "/duration_ms").max(0.0) / 1000.0),
            rps: number(load, "/rps"),
            errors,
            overall: row("all steps", &load["latency"]),
            steps,
            phases,
            series: series(load),
            thresholds,
            stopped: load
                .get("stopped")
                .and_then(Value::as_str)
                .map(str::to_owned),
        }
    }
}

/// Reads the time series, filling the seconds in which no step ended.
fn series(load: &Value) -> Vec<Point> {
    let entries: Vec<&Value> = load
        .get("series")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let Some(first) = entries.iter().map(|e| count(e, "/second")).min() else {
        return Vec::new();
    };
    let last = entries
        .iter()
        .map(|e| count(e, "/second"))
        .max()
        .unwrap_or(first);
    // A series longer than a day is not a run's: drawn up to a day.
    let len = usize::try_from((last - first).min(86_400) + 1).unwrap_or(1);
    let mut points: Vec<Point> = (0..len as u64)
        .map(|offset| Point {
            offset,
            ..Point::default()
        })
        .collect();
    for entry in entries {
        let Some(point) = usize::try_from(count(entry, "/second") - first)
            .ok()
            .and_then(|i| points.get_mut(i))
        else {
            continue;
        };
        point.requests += count(entry, "/requests");
        point.errors += count(entry, "/errors");
        point.latency = Some([
            number(entry, "/p50_ms"),
            number(entry, "/p95_ms"),
            number(entry, "/p99_ms"),
        ]);
    }
    points
}

/// One bar of a latency histogram: latencies from `low` up to `high` microseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bucket {
    /// Its lower bound, in microseconds.
    pub low: f64,
    /// Its upper bound, in microseconds (left out).
    pub high: f64,
    /// How many latencies fell in it.
    pub count: u64,
}

/// Buckets per tenfold of latency: each bar covers ×1.78.
pub const BUCKETS_PER_DECADE: f64 = 4.0;

/// Reads a step's histogram from the `load` object and counts its latencies in log-scaled
/// buckets, a quarter of a tenfold wide, from the smallest to the largest latency.
pub fn buckets(load: &Value, step: &str) -> Vec<Bucket> {
    let Some(latencies) = load
        .pointer("/histograms/steps")
        .and_then(|steps| steps.get(step))
        .and_then(Value::as_str)
        .and_then(|text| Latencies::decode(text).ok())
    else {
        return Vec::new();
    };
    let recorded = latencies.recorded();
    let (Some(&(smallest, _)), Some(&(largest, _))) = (recorded.first(), recorded.last()) else {
        return Vec::new();
    };
    #[allow(clippy::cast_precision_loss)]
    let (smallest, largest) = (smallest.max(1) as f64, largest.max(1) as f64);
    let low = (smallest.log10() * BUCKETS_PER_DECADE).floor();
    let high = ((largest.log10() * BUCKETS_PER_DECADE).floor() + 1.0).max(low + 1.0);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let len = (high - low) as usize;
    let bound = |k: f64| 10f64.powf((low + k) / BUCKETS_PER_DECADE);
    let mut buckets: Vec<Bucket> = (0..len)
        .map(|k| {
            #[allow(clippy::cast_precision_loss)]
            let k = k as f64;
            Bucket {
                low: bound(k),
                high: bound(k + 1.0),
                count: 0,
            }
        })
        .collect();
    for (value, n) in recorded {
        #[allow(clippy::cast_precision_loss)]
        let value = value.max(1) as f64;
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let index = ((value.log10() * BUCKETS_PER_DECADE).floor() - low).max(0.0) as usize;
        if let Some(bucket) = buckets.get_mut(index.min(len - 1)) {
            bucket.count += n;
        }
    }
    buckets
}

/// Shows milliseconds as the terminal's latency table does: `850µs`, `1.50ms`, `2.50s`.
pub fn latency(ms: f64) -> String {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let us = (ms * 1000.0).round().max(0.0) as u64;
    micros(Duration::from_micros(us))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_a_quarter_of_a_tenfold_and_hold_every_latency() {
        let mut latencies = Latencies::new();
        for micros in [150u64, 150, 900, 1_100, 12_000] {
            latencies.record(Duration::from_micros(micros));
        }
        let load = serde_json::json!({ "histograms": { "steps": { "a": latencies.encode() } } });
        let buckets = buckets(&load, "a");
        // From 10^(8/4) = 100 µs to 10^(17/4) ≈ 17.8 ms.
        assert_eq!(buckets.len(), 9);
        assert!((buckets[0].low - 100.0).abs() < 1e-6);
        assert_eq!(buckets.iter().map(|b| b.count).sum::<u64>(), 5);
        assert_eq!(buckets[0].count, 2);
        assert_eq!(buckets[3].count, 1, "{buckets:?}");
        assert_eq!(buckets[4].count, 1, "{buckets:?}");
        assert_eq!(buckets[8].count, 1);
        assert!(super::buckets(&load, "b").is_empty());
    }
}
