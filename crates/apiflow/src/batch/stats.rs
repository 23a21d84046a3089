//! One iteration's statistics: the samples of its steps (latency, requests, error kind, when),
//! added to the run's metrics when the iteration ends, so memory does not grow with the run.

use std::time::SystemTime;

use crate::load::metrics::Sample;
use crate::report::event::{Event, Reporter};

/// Collects the samples of one iteration's top-level steps.
#[derive(Default)]
pub struct Stats {
    /// One per step run (nested steps each count).
    pub samples: Vec<Sample>,
}

impl Reporter for Stats {
    fn event(&mut self, event: &Event<'_>) {
        if let Event::Step(step) = event
            && step.depth == 0
        {
            Sample::of(step, SystemTime::now(), &mut self.samples);
        }
    }
}
