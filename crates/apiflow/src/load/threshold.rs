//! Thresholds on a load run's metrics (`p95<300ms`, `errors<1%`, `rps>500`,
//! `step=get a token:p99<50ms`): checked at the end, and early, when a run may stop as soon as
//! one can no longer pass. Their text is parsed by `limits`.

use std::time::Duration;

use serde_json::{Value, json};

pub use crate::limits::{
    METRICS, Metric, Mistake, Op, Threshold, composite_step, from_flags, parse, unknown_step,
};
use crate::load::histogram::Latencies;
use crate::load::metrics::{Metrics, micros};

/// A threshold's result.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// The threshold as written.
    pub threshold: String,
    /// The step it is about.
    pub step: Option<String>,
    /// Whether it held.
    pub passed: bool,
    /// The value measured, shown with its unit; `None` when the step never ran.
    pub actual: Option<String>,
    /// Where the workflow has it, `FILE:LINE:COLUMN`; `None` for a `--threshold`.
    pub location: Option<String>,
}

impl Verdict {
    /// Returns the verdict as the `load.thresholds` entries of the JSON report.
    pub fn to_json(&self) -> Value {
        let mut value = json!({
            "threshold": self.threshold,
            "step": self.step,
            "passed": self.passed,
            "actual": self.actual,
        });
        // Only a threshold written in a workflow has the key.
        if let (Some(location), Some(map)) = (&self.location, value.as_object_mut()) {
            map.insert("location".to_owned(), Value::String(location.clone()));
        }
        value
    }

    /// Returns the line the terminal summary prints: a mark, the threshold and the value.
    pub fn line(&self) -> String {
        let mark = if self.passed { "✓" } else { "✗" };
        let actual = self.actual.as_deref().unwrap_or("the step never ran");
        format!("{mark} {} ({actual})", self.threshold)
    }
}

impl Threshold {
    fn latencies<'m>(&self, metrics: &'m Metrics) -> Option<&'m Latencies> {
        match &self.step {
            Some(step) => metrics.step(step),
            None => Some(&metrics.overall),
        }
    }

    /// Returns the measured value (in the limit's unit), or `None` when the step never ran.
    fn measure(&self, metrics: &Metrics) -> Option<f64> {
        let micros = |d: Duration| {
            #[allow(clippy::cast_precision_loss)]
            let value = d.as_micros() as f64;
            value
        };
        match self.metric {
            Metric::Errors => Some(metrics.error_percent()),
            Metric::Rps => Some(metrics.rate()),
            Metric::Quantile(q) => self.latencies(metrics).map(|l| micros(l.quantile(q))),
            Metric::Max => self.latencies(metrics).map(|l| micros(l.max())),
            Metric::Mean => self.latencies(metrics).map(|l| micros(l.mean())),
        }
    }

    fn show(&self, value: f64) -> String {
        match self.metric {
            Metric::Errors => format!("{value:.2}%"),
            Metric::Rps => format!("{value:.1} requests/s"),
            _ => {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let duration = Duration::from_micros(value.max(0.0) as u64);
                micros(duration)
            }
        }
    }

    /// Checks the threshold on a run's metrics. A step that never ran fails its thresholds:
    /// nothing shows they hold.
    pub fn check(&self, metrics: &Metrics) -> Verdict {
        let actual = self.measure(metrics);
        Verdict {
            threshold: self.text.clone(),
            step: self.step.clone(),
            location: self.location.clone(),
            passed: actual.is_some_and(|a| self.op.holds(a, self.limit)),
            actual: actual.map(|a| {
                let name = match self.metric {
                    Metric::Quantile(q) => format!("p{:.0}", q * 100.0),
                    Metric::Max => "max".into(),
                    Metric::Mean => "mean".into(),
                    Metric::Errors => "errors".into(),
                    Metric::Rps => "rps".into(),
                };
                format!("{name} {}", self.show(a))
            }),
        }
    }

    /// Tells whether the threshold can no longer pass however the run goes on: a maximum
    /// already over its limit, or more failed iterations than the limit allows of all
    /// `planned` (0: not known).
    pub fn hopeless(&self, metrics: &Metrics, planned: u64) -> bool {
        match (self.metric, self.op) {
            (Metric::Max, Op::Lt | Op::Le) => self
                .latencies(metrics)
                .filter(|l| l.count() > 0)
                .is_some_and(|l| {
                    #[allow(clippy::cast_precision_loss)]
                    let max = l.max().as_micros() as f64;
                    !self.op.holds(max, self.limit)
                }),
            (Metric::Errors, Op::Lt | Op::Le) if planned > 0 => {
                #[allow(clippy::cast_precision_loss)]
                let least = metrics.failed as f64 * 100.0 / planned as f64;
                !self.op.holds(least, self.limit)
            }
            _ => false,
        }
    }

    /// Tells whether a latency threshold fails on what has run so far: checked at each
    /// checkpoint (once a second) when a run stops on thresholds.
    pub fn fails_so_far(&self, metrics: &Metrics) -> bool {
        self.metric.is_latency()
            && self
                .measure(metrics)
                .is_some_and(|a| !self.op.holds(a, self.limit))
    }
}

/// How often a run that stops on thresholds checks the latency ones on what has run.
const CHECKPOINT: Duration = Duration::from_secs(1);

/// Watches a run's metrics for a threshold that fails early (`--abort-on-threshold`).
#[derive(Debug)]
pub struct Watch<'t> {
    thresholds: &'t [Threshold],
    planned: u64,
    next: std::time::Instant,
}

impl<'t> Watch<'t> {
    /// Starts watching; `planned` is how many iterations the run will make (0: not known).
    pub fn new(thresholds: &'t [Threshold], planned: u64) -> Watch<'t> {
        Watch {
            thresholds,
            planned,
            next: std::time::Instant::now() + CHECKPOINT,
        }
    }

    /// Returns why the run should stop: a threshold that can no longer pass, or, at a
    /// checkpoint, a latency threshold that fails on what has run.
    pub fn stop(&mut self, metrics: &Metrics) -> Option<String> {
        if let Some(t) = self
            .thresholds
            .iter()
            .find(|t| t.hopeless(metrics, self.planned))
        {
            let actual = t.check(metrics).actual.unwrap_or_default();
            return Some(format!(
                "threshold `{}` can no longer pass ({actual})",
                t.text
            ));
        }
        let now = std::time::Instant::now();
        if now < self.next {
            return None;
        }
        self.next = now + CHECKPOINT;
        let failing = self.thresholds.iter().find(|t| t.fails_so_far(metrics))?;
        let actual = failing.check(metrics).actual.unwrap_or_default();
        Some(format!(
            "threshold `{}` failed at a checkpoint ({actual})",
            failing.text
        ))
    }
}
