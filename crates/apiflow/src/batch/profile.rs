//! Load profiles: which iterations a batch starts, and when. A count (`--iterations`, `--data`),
//! a time limit with a fixed number of virtual users (`--duration`: a closed model), or a fixed
//! or staged arrival rate (`--rate`, `--stages`: an open model).
//!
//! In order, for an open model: the schedule gives each iteration its planned start (from the
//! start of the run) → the shard keeps its share → at each planned start, the iteration starts if
//! fewer than `concurrency` are running, and is counted as dropped otherwise → its latency is
//! measured from the planned start, not from when it could start.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, Stream, StreamExt as _};
use tokio::time::Instant;

use super::files::Shard;
use crate::duration::format_duration;
pub use crate::rate::{Rate, Stage};
use crate::report::event::{Event, Reporter};

/// Arrivals within this much of the end of the schedule are not started: rates and durations
/// are floating point, and a run of `50/s` for `400ms` starts 20 iterations, not 21.
const END_SLACK_SECS: f64 = 1e-9;

/// The planned starts of an open model: the rate moves linearly from one stage's target to the
/// next one's (from 0 for the first stage), and iteration `k` (from 0) starts when `k`
/// iterations are due, so at the start of the run, then every `1/rate` seconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    /// Each stage: its duration in seconds, and its rates at its start and end.
    ramps: Vec<(f64, f64, f64)>,
    /// How many iterations start at most (`--rate` with a count).
    limit: Option<usize>,
}

impl Schedule {
    /// Returns a schedule at one rate for `duration` (`--rate R --duration D`).
    pub fn constant(rate: Rate, duration: Duration) -> Schedule {
        Schedule {
            ramps: vec![(duration.as_secs_f64(), rate.0, rate.0)],
            limit: None,
        }
    }

    /// Returns a schedule of `count` iterations at one rate (`--rate R --iterations N`, or one
    /// per `--data` row): iteration `k` starts at `k / R`, and the schedule lasts `count / R`.
    pub fn counted(rate: Rate, count: usize) -> Schedule {
        #[allow(clippy::cast_precision_loss)]
        let length = count as f64 / rate.0;
        Schedule {
            ramps: vec![(length, rate.0, rate.0)],
            limit: Some(count),
        }
    }

    /// Returns a schedule of stages, the first ramping from 0 (`--stages`).
    pub fn stages(stages: &[Stage]) -> Schedule {
        let mut from = 0.0;
        let ramps = stages
            .iter()
            .map(|stage| {
                let ramp = (stage.duration.as_secs_f64(), from, stage.target.0);
                from = stage.target.0;
                ramp
            })
            .collect();
        Schedule { ramps, limit: None }
    }

    /// Returns how long the schedule lasts.
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.ramps.iter().map(|(d, _, _)| d).sum())
    }

    /// Returns the planned start of iteration `k` from the start of the run, or `None` when the
    /// schedule ends first.
    pub fn start(&self, k: usize) -> Option<Duration> {
        if self.limit.is_some_and(|limit| k >= limit) {
            return None;
        }
        #[allow(clippy::cast_precision_loss)]
        let mut due = k as f64;
        let mut elapsed = 0.0;
        for &(length, from, to) in &self.ramps {
            // Iterations due over the stage: the area under the rate.
            let area = length * (from + to) / 2.0;
            if due < area {
                let at = elapsed + time_for(due, length, from, to);
                let total: f64 = self.ramps.iter().map(|(d, _, _)| d).sum();
                return (at < total - END_SLACK_SECS).then(|| Duration::from_secs_f64(at));
            }
            due -= area;
            elapsed += length;
        }
        None
    }

    /// Lists the planned starts of the iterations a shard takes: `(k, start)`, `k` counted over
    /// the whole schedule.
    pub fn starts(&self, shard: Option<Shard>) -> impl Iterator<Item = (usize, Duration)> + '_ {
        (0..)
            .map_while(|k| self.start(k).map(|at| (k, at)))
            .filter(move |(k, _)| shard.is_none_or(|s| s.takes(*k)))
    }
}

/// Solves `from·t + (to − from)·t²/(2·length) = due` for `t` within one stage.
fn time_for(due: f64, length: f64, from: f64, to: f64) -> f64 {
    if due <= 0.0 {
        return 0.0;
    }
    let slope = (to - from) / length;
    if slope.abs() < 1e-12 {
        return due / from;
    }
    // (slope/2)·t² + from·t − due = 0, the root that is reached first.
    let discriminant = (from * from + 2.0 * slope * due).max(0.0);
    (discriminant.sqrt() - from) / slope
}

/// How a batch decides which iterations to start, and when.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Profile {
    /// A fixed number of iterations (`--iterations`, one per `--data` row), `concurrency` at
    /// once.
    #[default]
    Count,
    /// Iterations one after another on each of `concurrency` virtual users until the time is up
    /// (`--duration` alone).
    Closed(Duration),
    /// Iterations started at their planned times, whatever the response times (`--rate`,
    /// `--stages`).
    Open(Schedule),
    /// A count of iterations (`--iterations`, one per `--data` row) started at a fixed rate
    /// (`--rate` without `--duration`): an open model whose schedule is made once the count
    /// is known ([`Profile::with_count`]).
    Paced(Rate),
}

impl Profile {
    /// Tells whether the profile is bounded by time rather than by a count.
    pub fn timed(&self) -> bool {
        !matches!(self, Profile::Count)
    }

    /// Returns the profile with a paced count made a schedule of `count` starts; any other
    /// profile as it is.
    #[must_use]
    pub fn with_count(&self, count: usize) -> Profile {
        match self {
            Profile::Paced(rate) => Profile::Open(Schedule::counted(*rate, count)),
            other => other.clone(),
        }
    }

    /// Describes the profile for the summary, e.g. `rate 50/s for 400ms`.
    pub fn describe(&self) -> Option<String> {
        match self {
            Profile::Count => None,
            Profile::Paced(rate) => Some(format!("open model at {rate}")),
            Profile::Closed(duration) => Some(format!("for {}", format_duration(*duration))),
            Profile::Open(schedule) => Some(format!(
                "open model over {}",
                format_duration(schedule.duration())
            )),
        }
    }
}

/// One iteration to run: its number (from 0, over all shards) and, in an open model, its
/// planned start.
#[derive(Clone, Copy, Debug)]
pub struct Start {
    /// The iteration's number.
    pub index: usize,
    /// When it was planned to start.
    pub planned: Option<Instant>,
}

/// What the threads of one run count together.
#[derive(Clone, Debug, Default)]
pub struct Counters {
    /// The planned starts that found every virtual user busy.
    pub dropped: Arc<AtomicUsize>,
    /// The iterations of an open model running, over all threads: a planned start is dropped
    /// only when all `concurrency` users are busy, whichever thread it falls to.
    pub running: Arc<AtomicUsize>,
}

/// Starts the iterations of `profile` (a shard's share of them), at most `concurrency` at a
/// time, and yields what each gives as it ends. `begun` is when the run started, the time its
/// schedule and duration count from (the same for every thread of a run); `count` is the number
/// of a `Count` profile; `counters` count the planned starts that found every virtual user
/// busy, and in an open model the iterations running, with the other threads of the run.
/// A closed model's users run for the duration whatever the shard, which only numbers their
/// iterations apart.
pub fn iterations<'a, F, Fut>(
    profile: &'a Profile,
    begun: Instant,
    count: usize,
    shard: Option<Shard>,
    concurrency: usize,
    counters: Counters,
    start: F,
) -> Pin<Box<dyn Stream<Item = Fut::Output> + Send + 'a>>
where
    F: FnMut(Start) -> Fut + Send + 'a,
    Fut: std::future::Future + Send + 'a,
    Fut::Output: Send + 'a,
{
    let concurrency = concurrency.max(1);
    let takes = move |k: &usize| shard.is_none_or(|s| s.takes(*k));
    let source: Box<dyn Iterator<Item = (usize, Option<Instant>)> + Send + 'a> = match profile {
        // Made a schedule before the run starts; as a count if it was not.
        Profile::Count | Profile::Paced(_) => Box::new((0..count).filter(takes).map(|k| (k, None))),
        Profile::Closed(_) => Box::new((0..).filter(takes).map(|k| (k, None))),
        Profile::Open(schedule) => Box::new(
            schedule
                .starts(shard)
                .map(move |(k, at)| (k, Some(begun + at))),
        ),
    };
    let deadline = match profile {
        Profile::Closed(duration) => Some(begun + *duration),
        _ => None,
    };
    let state = State {
        source: source.peekable(),
        running: FuturesUnordered::new(),
        start,
        deadline,
        concurrency,
        counters,
        open: matches!(profile, Profile::Open(_)),
    };
    Box::pin(futures_util::stream::unfold(state, State::next))
}

struct State<'a, F, Fut> {
    source: std::iter::Peekable<Box<dyn Iterator<Item = (usize, Option<Instant>)> + Send + 'a>>,
    running: FuturesUnordered<Fut>,
    start: F,
    deadline: Option<Instant>,
    concurrency: usize,
    counters: Counters,
    open: bool,
}

impl<F, Fut> State<'_, F, Fut>
where
    F: FnMut(Start) -> Fut,
    Fut: std::future::Future,
{
    /// Starts what is due, then waits for the next iteration to end or the next planned start.
    async fn next(mut self) -> Option<(Fut::Output, Self)> {
        loop {
            if !self.open {
                // Closed and counted models: start as soon as a virtual user is free.
                while self.running.len() < self.concurrency
                    && self.deadline.is_none_or(|d| Instant::now() < d)
                    && let Some((index, _)) = self.source.next()
                {
                    self.running.push((self.start)(Start {
                        index,
                        planned: None,
                    }));
                }
                return self.running.next().await.map(|output| (output, self));
            }
            let planned = self.source.peek().and_then(|(_, at)| *at);
            match planned {
                None if self.running.is_empty() => return None,
                None => {
                    let output = self.running.next().await?;
                    self.counters.running.fetch_sub(1, Ordering::SeqCst);
                    return Some((output, self));
                }
                Some(at) => {
                    tokio::select! {
                        biased;
                        () = tokio::time::sleep_until(at) => {
                            let Some((index, planned)) = self.source.next() else {
                                continue;
                            };
                            let limit = self.concurrency;
                            let free = self.counters.running.fetch_update(
                                Ordering::SeqCst,
                                Ordering::SeqCst,
                                |running| (running < limit).then_some(running + 1),
                            );
                            if free.is_ok() {
                                self.running.push((self.start)(Start { index, planned }));
                            } else {
                                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Some(output) = self.running.next(), if !self.running.is_empty() => {
                            self.counters.running.fetch_sub(1, Ordering::SeqCst);
                            return Some((output, self));
                        }
                    }
                }
            }
        }
    }
}

/// Passes events on, adding to the first step of an iteration the time between its planned
/// start and its real start, so latencies count from the planned start.
pub struct FromPlanned<'r> {
    /// Where events go.
    pub inner: &'r mut dyn Reporter,
    /// The time between the planned and the real start, until the first step has taken it.
    pub lag: Option<Duration>,
}

impl Reporter for FromPlanned<'_> {
    fn event(&mut self, event: &Event<'_>) {
        if let (Event::Step(step), Some(lag)) = (event, self.lag)
            && step.depth == 0
        {
            self.lag = None;
            let mut step = (*step).clone();
            step.duration += lag;
            self.inner.event(&Event::Step(&step));
            return;
        }
        self.inner.event(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(starts: impl Iterator<Item = (usize, Duration)>) -> Vec<u128> {
        starts.map(|(_, at)| at.as_millis()).collect()
    }

    #[test]
    fn parses_rates_and_refuses_the_rest() {
        assert_eq!(Rate::parse("200/s"), Ok(Rate(200.0)));
        assert_eq!(Rate::parse(" 30/m "), Ok(Rate(0.5)));
        assert_eq!(Rate::parse("0/s"), Ok(Rate(0.0)));
        assert_eq!(Rate::parse("2.5/s"), Ok(Rate(2.5)));
        assert_eq!(
            Rate::parse("200"),
            Err("invalid rate `200`: expected iterations per second or per minute, e.g. `200/s` or `30/m`".into())
        );
        assert_eq!(
            Rate::parse("5/h"),
            Err("invalid rate `5/h`: unknown unit `/h`; expected iterations per second or per minute, e.g. `200/s` or `30/m`".into())
        );
        for bad in ["-1/s", "/s", "1e3/s", "inf/s", "1..2/s", "NaN/s"] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Rate::parse("2000000/s"),
            Err("invalid rate `2000000/s`: it is above 1000000/s".into())
        );
    }

    #[test]
    fn parses_stages() {
        assert_eq!(
            Stage::parse_list("30s:50/s,2m:200/s,30s:0/s"),
            Ok(vec![
                Stage {
                    duration: Duration::from_secs(30),
                    target: Rate(50.0)
                },
                Stage {
                    duration: Duration::from_secs(120),
                    target: Rate(200.0)
                },
                Stage {
                    duration: Duration::from_secs(30),
                    target: Rate(0.0)
                },
            ])
        );
        assert_eq!(
            Stage::parse_list("30s"),
            Err("invalid stage `30s`: expected DURATION:RATE, e.g. `30s:50/s`".into())
        );
        assert_eq!(
            Stage::parse_list("30:5/s"),
            Err("in stage `30:5/s`: invalid duration `30`: `30` has no unit; expected a number followed by `ms`, `s`, `m` or `h`, e.g. `500ms`, `10s`, `2m`".into())
        );
    }

    #[test]
    fn a_constant_rate_starts_every_period_until_the_end() {
        let schedule = Schedule::constant(Rate(50.0), Duration::from_millis(400));
        let starts = millis(schedule.starts(None));
        assert_eq!(starts.len(), 20);
        assert_eq!(starts[..4], [0, 20, 40, 60]);
        assert_eq!(starts.last(), Some(&380));
        let per_minute = Schedule::constant(Rate(120.0 / 60.0), Duration::from_secs(2));
        assert_eq!(millis(per_minute.starts(None)), [0, 500, 1000, 1500]);
    }

    #[test]
    fn a_counted_rate_starts_exactly_its_count() {
        for (rate, count) in [(50.0, 12), (3.0, 7), (1000.0, 1000), (0.5, 1)] {
            let schedule = Schedule::counted(Rate(rate), count);
            let starts: Vec<_> = schedule.starts(None).collect();
            assert_eq!(starts.len(), count, "{rate}/s × {count}");
            for (k, at) in &starts {
                #[allow(clippy::cast_precision_loss)]
                let planned = *k as f64 / rate;
                assert!((at.as_secs_f64() - planned).abs() < 1e-6, "{k}: {at:?}");
            }
        }
        assert_eq!(
            millis(Schedule::counted(Rate(50.0), 4).starts(None)),
            [0, 20, 40, 60]
        );
        // A paced count becomes that schedule once the count is known.
        assert_eq!(
            Profile::Paced(Rate(50.0)).with_count(4),
            Profile::Open(Schedule::counted(Rate(50.0), 4))
        );
        assert_eq!(Profile::Count.with_count(4), Profile::Count);
    }

    #[test]
    fn stages_ramp_linearly_from_the_previous_target() {
        // 0 → 4/s over 2s: 4 iterations due (the area), the k-th when t² = k.
        let schedule = Schedule::stages(&[
            Stage {
                duration: Duration::from_secs(2),
                target: Rate(4.0),
            },
            Stage {
                duration: Duration::from_secs(1),
                target: Rate(4.0),
            },
            Stage {
                duration: Duration::from_secs(2),
                target: Rate(0.0),
            },
        ]);
        let starts = millis(schedule.starts(None));
        // Ramp up: t = √k for k = 0..3; steady: 2s, 2.25s, 2.5s, 2.75s; ramp down 4 due over
        // 2s: 4t − t² = m.
        assert_eq!(
            starts,
            [
                0, 1000, 1414, 1732, 2000, 2250, 2500, 2750, 3000, 3267, 3585, 4000
            ]
        );
        assert_eq!(schedule.duration(), Duration::from_secs(5));
        // Nothing due while the rate is 0.
        let idle = Schedule::stages(&[Stage {
            duration: Duration::from_secs(10),
            target: Rate(0.0),
        }]);
        assert_eq!(idle.starts(None).count(), 0);
    }

    #[test]
    fn shards_take_every_nth_start_and_together_all_of_them() {
        let schedule = Schedule::constant(Rate(7.0), Duration::from_secs(3));
        let all: Vec<_> = schedule.starts(None).collect();
        assert_eq!(all.len(), 21);
        let mut joined: Vec<_> = (1..=4)
            .flat_map(|index| schedule.starts(Some(Shard { index, count: 4 })))
            .collect();
        joined.sort_by_key(|(k, _)| *k);
        assert_eq!(joined, all);
        let second: Vec<_> = schedule
            .starts(Some(Shard { index: 2, count: 4 }))
            .map(|(k, _)| k)
            .collect();
        assert_eq!(second, [1, 5, 9, 13, 17]);
    }

    #[tokio::test]
    async fn an_open_model_drops_the_starts_that_find_every_user_busy() {
        // 10 starts in 10ms for 3 users whose iterations last until 7 starts were dropped:
        // whatever the machine's speed, 3 run and 7 are dropped, none queued.
        let profile = Profile::Open(Schedule::constant(Rate(1000.0), Duration::from_millis(10)));
        let dropped = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&dropped);
        let stream = iterations(
            &profile,
            Instant::now(),
            0,
            None,
            3,
            Counters {
                dropped: Arc::clone(&dropped),
                ..Counters::default()
            },
            |start: Start| {
                let seen = Arc::clone(&seen);
                async move {
                    let late = start
                        .planned
                        .map(|p| Instant::now().saturating_duration_since(p));
                    while seen.load(Ordering::Relaxed) < 7 {
                        tokio::task::yield_now().await;
                    }
                    (start.index, late.is_some())
                }
            },
        );
        let mut ran: Vec<(usize, bool)> = stream.collect().await;
        ran.sort_unstable();
        assert_eq!(ran, [(0, true), (1, true), (2, true)]);
        assert_eq!(dropped.load(Ordering::Relaxed), 7);
    }

    #[tokio::test]
    async fn a_count_runs_a_shards_iterations_at_most_concurrency_at_once() {
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let stream = iterations(
            &Profile::Count,
            Instant::now(),
            10,
            Some(Shard { index: 2, count: 3 }),
            2,
            Counters::default(),
            |start: Start| {
                let (running, most) = (Arc::clone(&running), Arc::clone(&most));
                async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    start.index
                }
            },
        );
        let mut ran: Vec<usize> = stream.collect().await;
        ran.sort_unstable();
        assert_eq!(ran, [1, 4, 7]);
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }
}
