//! Iteration statistics: each step's latencies and the requests sent, collected across
//! iterations and summarised as percentiles.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::report::event::{Event, Outcome, Reporter, StepReport};

/// Collects, across iterations, each step's latencies and the number of requests sent.
#[derive(Default)]
pub struct Stats {
    /// Per step name, in first-seen order: the latencies of its passed and failed runs.
    steps: Vec<(String, Vec<Duration>)>,
    index: HashMap<String, usize>,
    /// Requests sent, redirects and retries included.
    pub requests: usize,
}

impl Stats {
    fn record(&mut self, step: &StepReport) {
        if step.outcome == Outcome::Skipped {
            return;
        }
        self.requests += step.exchanges.len();
        if !step.children.is_empty() {
            for child in &step.children {
                self.record(child);
            }
            return;
        }
        let slot = self.slot(&step.name);
        self.steps[slot].1.push(step.duration);
    }

    /// Returns the index of a step's latencies, adding it when new.
    fn slot(&mut self, name: &str) -> usize {
        if let Some(slot) = self.index.get(name) {
            return *slot;
        }
        self.steps.push((name.to_owned(), Vec::new()));
        self.index.insert(name.to_owned(), self.steps.len() - 1);
        self.steps.len() - 1
    }

    /// Adds another collector's numbers (an iteration run elsewhere).
    pub fn absorb(&mut self, other: Stats) {
        self.requests += other.requests;
        for (name, latencies) in other.steps {
            let slot = self.slot(&name);
            self.steps[slot].1.extend(latencies);
        }
    }

    /// Writes the latency table: count, p50, p95, p99 and max per step.
    pub fn table(&mut self) -> String {
        let width = self
            .steps
            .iter()
            .map(|(n, _)| n.chars().count())
            .max()
            .unwrap_or(4)
            .max(4);
        let mut out = format!(
            "  {:<width$}  {:>6}  {:>9}  {:>9}  {:>9}  {:>9}\n",
            "step", "runs", "p50", "p95", "p99", "max"
        );
        for (name, latencies) in &mut self.steps {
            latencies.sort();
            let at = |q: f64| -> String {
                if latencies.is_empty() {
                    return "-".into();
                }
                #[allow(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    clippy::cast_precision_loss
                )]
                let index =
                    ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
                micros(latencies[index])
            };
            let _ = writeln!(
                out,
                "  {name:<width$}  {:>6}  {:>9}  {:>9}  {:>9}  {:>9}",
                latencies.len(),
                at(0.50),
                at(0.95),
                at(0.99),
                at(1.0)
            );
        }
        out
    }
}

/// Shows a latency with a unit that keeps three significant digits.
fn micros(duration: Duration) -> String {
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

impl Reporter for Stats {
    fn event(&mut self, event: &Event<'_>) {
        if let Event::Step(step) = event
            && step.depth == 0
        {
            self.record(step);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_latencies_with_units() {
        assert_eq!(micros(Duration::from_micros(850)), "850µs");
        assert_eq!(micros(Duration::from_micros(1500)), "1.50ms");
        assert_eq!(micros(Duration::from_millis(2500)), "2.50s");
    }
}
