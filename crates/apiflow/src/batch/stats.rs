//! One iteration's statistics: the samples of its steps (latency, requests, error kind, when),
//! added to the run's metrics when the iteration ends, so memory does not grow with the run.

use std::time::SystemTime;

use crate::load::metrics::{FAILED_CHECK, Sample};
use crate::load::phases::Spent;
use crate::report::event::{Event, Outcome, Reporter, StepReport};

/// Collects the samples of one iteration's top-level steps.
#[derive(Default)]
pub struct Stats {
    /// One per step run (nested steps each count).
    pub samples: Vec<Sample>,
}

impl Reporter for Stats {
    fn event(&mut self, event: &Event<'_>) {
        // One sample a step, as a rule: room for them all at once.
        if let Event::Started { steps, .. } = event {
            self.samples.reserve_exact(*steps);
        }
        if let Event::Step(step) = event
            && step.depth == 0
        {
            samples_of(step, SystemTime::now(), &mut self.samples);
        }
    }
}

/// Lists the samples of a top-level step: itself, or the steps run inside it.
pub fn samples_of(step: &StepReport, at: SystemTime, out: &mut Vec<Sample>) {
    if step.outcome == Outcome::Skipped {
        return;
    }
    let requests = step.exchanges.len() as u64;
    if !step.children.is_empty() {
        // A `uses` or `for_each` step sends nothing itself; its requests are its children's.
        if requests > 0 {
            out.push(Sample {
                step: step.name.clone(),
                latency: step.duration,
                requests,
                error: None,
                at,
                phases: Spent::of(&step.exchanges),
            });
        }
        for child in &step.children {
            samples_of(child, at, out);
        }
        return;
    }
    let error = match step.outcome {
        Outcome::Failed => Some(FAILED_CHECK),
        Outcome::Error => Some(transport_kind(step.reason.as_deref().unwrap_or(""))),
        Outcome::Passed | Outcome::Skipped => None,
    };
    out.push(Sample {
        step: step.name.clone(),
        latency: step.duration,
        requests,
        error,
        at,
        phases: Spent::of(&step.exchanges),
    });
}

/// Names the kind of a transport error from the reason the runner recorded.
fn transport_kind(reason: &str) -> &'static str {
    if reason.starts_with("no response within") {
        "timeout"
    } else if reason.starts_with("could not connect") {
        "connect"
    } else if reason.contains("response body is larger than") {
        "body_too_large"
    } else if reason.contains("redirect") {
        "redirects"
    } else {
        "other"
    }
}
