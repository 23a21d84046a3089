//! A load run's settings: a workflow's `load:` key with the command line's flags over it, field
//! by field. A flag that picks another way of bounding the run (a count, a duration or stages)
//! also drops the workflow's fields that do not go with it.

use std::time::Duration;

use super::profile::{Profile, Rate, Schedule};
use crate::format::model::LoadTest;
use crate::load::threshold::Threshold;

/// The load flags given on the command line; `None` when not given.
#[derive(Clone, Debug, Default)]
pub struct LoadFlags {
    /// `--iterations`.
    pub iterations: Option<usize>,
    /// `--concurrency`.
    pub concurrency: Option<usize>,
    /// `--duration`.
    pub duration: Option<Duration>,
    /// `--rate`.
    pub rate: Option<Rate>,
    /// `--stages`.
    pub stages: Option<Schedule>,
    /// `--threshold`, when given at least once: they replace the workflow's.
    pub thresholds: Option<Vec<Threshold>>,
}

/// How one workflow's load run goes.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadRun {
    /// How many iterations, when a count is given (else one, or one per `--data` row).
    pub iterations: Option<usize>,
    /// Iterations at once.
    pub concurrency: usize,
    /// Which iterations start, and when.
    pub profile: Profile,
    /// Checked at the end.
    pub thresholds: Vec<Threshold>,
}

impl LoadFlags {
    /// Tells whether a flag makes the run a load run.
    pub fn any(&self) -> bool {
        self.iterations.is_some()
            || self.duration.is_some()
            || self.rate.is_some()
            || self.stages.is_some()
    }

    /// Returns the load run of a workflow whose `load:` key is `load` (if any), with these
    /// flags over it.
    pub fn over(&self, load: Option<&LoadTest>) -> LoadRun {
        let own = load.cloned().unwrap_or_default();
        // A flag that bounds the run another way drops what does not go with it; `--rate`
        // paces what bounds the run, `--iterations` or the workflow's count or duration.
        let (iterations, duration, rate, stages) = if self.iterations.is_some() {
            (self.iterations, None, self.rate, None)
        } else if self.stages.is_some() {
            (None, None, None, self.stages.clone())
        } else if self.duration.is_some() {
            (None, self.duration, self.rate.or(own.rate), None)
        } else if self.rate.is_some() {
            (
                own.iterations.map(|n| n as usize),
                own.duration,
                self.rate,
                None,
            )
        } else {
            (
                own.iterations.map(|n| n as usize),
                own.duration,
                own.rate,
                own.stages.as_deref().map(Schedule::stages),
            )
        };
        let profile = match (stages, rate, duration) {
            (Some(schedule), _, _) => Profile::Open(schedule),
            (None, Some(rate), Some(duration)) => Profile::Open(Schedule::constant(rate, duration)),
            (None, Some(rate), None) => Profile::Paced(rate),
            (None, None, Some(duration)) => Profile::Closed(duration),
            (None, None, None) => Profile::Count,
        };
        LoadRun {
            iterations,
            concurrency: self
                .concurrency
                .or(own.concurrency.map(|c| c as usize))
                .unwrap_or(1),
            profile,
            thresholds: self.thresholds.clone().unwrap_or(own.thresholds),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workflow_load() -> LoadTest {
        LoadTest {
            iterations: None,
            concurrency: Some(8),
            duration: Some(Duration::from_secs(60)),
            rate: Some(Rate::parse("50/s").expect("a rate")),
            thresholds: vec![crate::load::threshold::parse("p95<300ms").expect("valid")],
            ..LoadTest::default()
        }
    }

    #[test]
    fn each_flag_goes_over_its_field_and_drops_what_does_not_go_with_it() {
        let load = workflow_load();
        let rate = Rate::parse("50/s").expect("a rate");
        let none = LoadFlags::default();
        assert_eq!(
            none.over(Some(&load)),
            LoadRun {
                iterations: None,
                concurrency: 8,
                profile: Profile::Open(Schedule::constant(rate, Duration::from_secs(60))),
                thresholds: load.thresholds.clone(),
            }
        );
        // `--duration` keeps the workflow's rate.
        let shorter = LoadFlags {
            duration: Some(Duration::from_secs(5)),
            ..LoadFlags::default()
        };
        assert_eq!(
            shorter.over(Some(&load)).profile,
            Profile::Open(Schedule::constant(rate, Duration::from_secs(5)))
        );
        // `--iterations` drops the duration and the rate; `--concurrency` goes over its field.
        let counted = LoadFlags {
            iterations: Some(3),
            concurrency: Some(2),
            thresholds: Some(Vec::new()),
            ..LoadFlags::default()
        };
        assert_eq!(
            counted.over(Some(&load)),
            LoadRun {
                iterations: Some(3),
                concurrency: 2,
                profile: Profile::Count,
                thresholds: Vec::new(),
            }
        );
        assert_eq!(none.over(None).concurrency, 1);
        // `--rate` with `--iterations` paces that count; `--rate` alone paces the workflow's
        // count, or keeps its duration.
        let paced = LoadFlags {
            iterations: Some(3),
            rate: Some(rate),
            ..LoadFlags::default()
        };
        assert_eq!(paced.over(Some(&load)).profile, Profile::Paced(rate));
        assert_eq!(paced.over(Some(&load)).iterations, Some(3));
        let faster = Rate::parse("80/s").expect("a rate");
        let rate_only = LoadFlags {
            rate: Some(faster),
            ..LoadFlags::default()
        };
        assert_eq!(
            rate_only.over(Some(&load)).profile,
            Profile::Open(Schedule::constant(faster, Duration::from_secs(60)))
        );
        let counted_load = LoadTest {
            iterations: Some(500),
            duration: None,
            rate: None,
            ..workflow_load()
        };
        let run = rate_only.over(Some(&counted_load));
        assert_eq!(
            (run.iterations, run.profile),
            (Some(500), Profile::Paced(faster))
        );
    }
}
