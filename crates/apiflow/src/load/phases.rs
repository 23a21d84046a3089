//! The timing breakdown of a load run, per step: the time its runs spent looking hosts up,
//! connecting, in TLS handshakes, waiting for the first byte and reading bodies. Kept as sums
//! and counts (and a histogram of the wait for the first byte), never as means, so that the
//! breakdowns of several runs or processes add up exactly.

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::http::Exchange;
use crate::load::histogram::Latencies;

/// The phases, in the order the summary and the reports list them.
pub const NAMES: [&str; 5] = ["dns", "connect", "tls", "ttfb", "transfer"];

/// The columns of a table of phases, the summary's and the HTML report's: each phase's mean,
/// and after the wait for the first byte its 95th percentile.
pub const COLUMNS: [&str; 6] = ["dns", "connect", "tls", "ttfb", "p95 ttfb", "transfer"];

/// Orders a step's phase means (in the order of [`NAMES`]) and the 95th percentile of its wait
/// for the first byte as [`COLUMNS`] lists them.
pub fn columns<T>(means: [T; 5], ttfb_p95: T) -> [T; 6] {
    let [dns, connect, tls, ttfb, transfer] = means;
    [dns, connect, tls, ttfb, ttfb_p95, transfer]
}

/// Where the wait for the first byte is in [`NAMES`].
const TTFB: usize = 3;

/// The phases of one step run: its exchanges' added (a followed redirect or a retry sends
/// several), `None` for a phase none of them went through (a kept-alive connection is not
/// looked up, connected or secured again).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Spent(pub [Option<Duration>; 5]);

impl Spent {
    /// Adds up the phases of a step's exchanges; all `None` when it sent nothing.
    pub fn of(exchanges: &[Exchange]) -> Spent {
        let mut spent = Spent::default();
        for exchange in exchanges {
            let t = &exchange.response.timings;
            let phases = [t.dns, t.connect, t.tls, Some(t.ttfb), Some(t.transfer)];
            for (sum, phase) in spent.0.iter_mut().zip(phases) {
                if let Some(phase) = phase {
                    *sum = Some(sum.unwrap_or_default() + phase);
                }
            }
        }
        spent
    }
}

/// One step's phases over its runs: per phase, the runs that went through it and the
/// microseconds they spent there; and the histogram of the wait for the first byte.
#[derive(Clone, Debug)]
pub struct Phases {
    runs: [u64; 5],
    micros: [u64; 5],
    ttfb: Latencies,
}

impl Default for Phases {
    fn default() -> Phases {
        Phases::new()
    }
}

impl Phases {
    /// Starts an empty breakdown; its histogram grows with the longest wait it is given.
    pub fn new() -> Phases {
        Phases {
            runs: [0; 5],
            micros: [0; 5],
            ttfb: Latencies::growing(),
        }
    }

    /// Adds one step run's phases.
    pub fn record(&mut self, spent: &Spent) {
        for (index, phase) in spent.0.iter().enumerate() {
            if let Some(phase) = phase {
                self.runs[index] += 1;
                self.micros[index] += u64::try_from(phase.as_micros()).unwrap_or(u64::MAX);
            }
        }
        if let Some(ttfb) = spent.0[TTFB] {
            self.ttfb.record(ttfb);
        }
    }

    /// Adds another breakdown of the same step: sums and counts added, histograms added.
    pub fn add(&mut self, other: &Phases) -> Result<(), String> {
        for index in 0..NAMES.len() {
            self.runs[index] += other.runs[index];
            self.micros[index] = self.micros[index].saturating_add(other.micros[index]);
        }
        self.ttfb.add(&other.ttfb)
    }

    /// Returns the mean time of a phase (an index into [`NAMES`]) over the runs that went
    /// through it, or `None` when none did.
    pub fn mean(&self, index: usize) -> Option<Duration> {
        let runs = *self.runs.get(index)?;
        (runs > 0).then(|| Duration::from_micros(self.micros[index] / runs))
    }

    /// Returns the 95th percentile of the wait for the first byte, or `None` when nothing was
    /// sent.
    pub fn ttfb_p95(&self) -> Option<Duration> {
        (self.ttfb.count() > 0).then(|| self.ttfb.quantile(0.95))
    }

    /// Returns the `phases` object of a step in the JSON report's `load.steps[]`.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        for (index, name) in NAMES.iter().enumerate() {
            let mut phase = json!({
                "runs": self.runs[index],
                "total_us": self.micros[index],
                "mean_ms": self.mean(index).map(millis),
            });
            if index == TTFB {
                phase["p95_ms"] = json!(self.ttfb_p95().map(millis));
                phase["histogram"] = Value::String(self.ttfb.encode());
            }
            out.insert((*name).to_owned(), phase);
        }
        Value::Object(out)
    }

    /// Reads a `phases` object back; `at` names it in messages (`load.steps[0].phases`).
    pub fn from_json(value: &Value, at: &str) -> Result<Phases, String> {
        let mut phases = Phases::new();
        for (index, name) in NAMES.iter().enumerate() {
            let count = |key: &str| {
                value
                    .pointer(&format!("/{name}/{key}"))
                    .and_then(Value::as_u64)
                    .ok_or_else(|| format!("`{at}.{name}.{key}` is missing or not a count"))
            };
            phases.runs[index] = count("runs")?;
            phases.micros[index] = count("total_us")?;
        }
        let histogram = value
            .pointer("/ttfb/histogram")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("`{at}.ttfb.histogram` is missing or not text"))?;
        phases.ttfb =
            Latencies::decode(histogram).map_err(|e| format!("`{at}.ttfb.histogram` is {e}"))?;
        Ok(phases)
    }
}

/// Milliseconds to the microsecond, as the reports write them.
fn millis(duration: Duration) -> f64 {
    crate::http::timing::millis(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::unnecessary_wraps)] // a phase as `Spent` holds it
    fn ms(n: u64) -> Option<Duration> {
        Some(Duration::from_millis(n))
    }

    #[test]
    fn means_count_only_the_runs_that_went_through_a_phase() {
        let mut phases = Phases::new();
        // A first run opens a connection; the next two reuse it.
        phases.record(&Spent([ms(2), ms(4), ms(6), ms(10), ms(1)]));
        phases.record(&Spent([None, None, None, ms(20), ms(1)]));
        phases.record(&Spent([None, None, None, ms(30), ms(4)]));
        assert_eq!(phases.mean(0), ms(2));
        assert_eq!(phases.mean(1), ms(4));
        assert_eq!(phases.mean(2), ms(6));
        assert_eq!(phases.mean(3), ms(20));
        assert_eq!(phases.mean(4), ms(2));
        assert!(
            phases
                .ttfb_p95()
                .is_some_and(|p| p >= Duration::from_millis(29))
        );
        assert_eq!(Phases::new().mean(0), None);
        assert_eq!(Phases::new().ttfb_p95(), None);
    }

    #[test]
    fn breakdowns_added_through_the_report_equal_one_breakdown() {
        let mut whole = Phases::new();
        let mut parts = [Phases::new(), Phases::new(), Phases::new()];
        for i in 0..300u64 {
            let spent = Spent([
                (i % 50 == 0).then(|| Duration::from_micros(300 + i)),
                (i % 50 == 0).then(|| Duration::from_micros(120)),
                None,
                Some(Duration::from_micros(900 + i * 7)),
                Some(Duration::from_micros(15 + i % 4)),
            ]);
            whole.record(&spent);
            parts[usize::try_from(i % 3).expect("small")].record(&spent);
        }
        let mut merged = Phases::new();
        for part in &parts {
            let read = Phases::from_json(&part.to_json(), "phases").expect("reads back");
            merged.add(&read).expect("adds");
        }
        assert_eq!(merged.to_json(), whole.to_json());
        assert_eq!(whole.to_json()["tls"]["mean_ms"], Value::Null);
        assert_eq!(whole.to_json()["dns"]["runs"], 6);
    }

    #[test]
    fn a_broken_breakdown_is_named() {
        let mut value = Phases::new().to_json();
        value["connect"]["runs"] = json!("many");
        assert_eq!(
            Phases::from_json(&value, "load.steps[1].phases").expect_err("broken"),
            "`load.steps[1].phases.connect.runs` is missing or not a count"
        );
    }
}
