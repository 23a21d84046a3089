//! The live view of a load run on standard error: elapsed time, iterations, requests per
//! second and p95 over the last seconds, errors, dropped starts and thresholds at risk. Redrawn
//! in place on a terminal, a plain line every few seconds elsewhere, nothing in CI.
//!
//! In order: each iteration that ends adds its samples to a shared [`LiveState`] (behind a
//! mutex, so iterations may end on any thread) → at each tick, a [`Snapshot`] is taken of it →
//! the snapshot is rendered as a frame of a few lines redrawn in place, or as one plain line.
//! It prints numbers and threshold texts only, never a value a workflow sent or received.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, UNIX_EPOCH};

use tokio::time::Instant;

use super::console::Console;
use crate::load::histogram::Latencies;
use crate::load::metrics::{Metrics, Sample, micros};
use crate::load::threshold::Threshold;

/// Seconds the recent figures (requests per second, p95) are taken over.
const WINDOW_SECONDS: usize = 5;

/// How the live view shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Not at all (in CI, for a library's caller, with `APIFLOW_LIVE=off`).
    #[default]
    Off,
    /// A plain line every `every` (standard error is not a terminal, or `NO_COLOR` is set).
    Plain {
        /// Time between two lines.
        every: Duration,
    },
    /// A few lines redrawn in place every `every`, cut to `width` columns (a terminal).
    InPlace {
        /// Time between two frames.
        every: Duration,
        /// The terminal's columns.
        width: usize,
    },
}

impl Mode {
    /// Time between two plain lines, unless `APIFLOW_LIVE=plain:DURATION` says otherwise.
    pub const PLAIN_EVERY: Duration = Duration::from_secs(10);
    /// Time between two frames on a terminal.
    pub const FRAME_EVERY: Duration = Duration::from_millis(250);

    /// Chooses the mode from the environment (`var` reads a variable) and whether standard
    /// error is a terminal: `APIFLOW_LIVE` (`off`, `plain`, `plain:DURATION`) first, then
    /// nothing when `CI` is set, in place on a terminal without `NO_COLOR`, plain lines
    /// otherwise.
    pub fn choose(var: &dyn Fn(&str) -> Option<String>, terminal: bool) -> Result<Mode, String> {
        let set = |name: &str| var(name).filter(|v| !v.is_empty());
        if let Some(value) = set("APIFLOW_LIVE") {
            return Mode::parse(&value);
        }
        let in_ci = set("CI").is_some_and(|v| !matches!(v.as_str(), "0" | "false"));
        if in_ci {
            return Ok(Mode::Off);
        }
        if terminal && set("NO_COLOR").is_none() {
            let width = set("COLUMNS")
                .and_then(|c| c.parse().ok())
                .unwrap_or(80usize);
            return Ok(Mode::InPlace {
                every: Mode::FRAME_EVERY,
                width: width.max(20),
            });
        }
        Ok(Mode::Plain {
            every: Mode::PLAIN_EVERY,
        })
    }

    /// Parses the value of `APIFLOW_LIVE`.
    fn parse(value: &str) -> Result<Mode, String> {
        const EXPECTED: &str = "expected `off`, `plain` or `plain:DURATION`, e.g. `plain:30s`";
        match value.trim() {
            "off" => Ok(Mode::Off),
            "plain" => Ok(Mode::Plain {
                every: Mode::PLAIN_EVERY,
            }),
            other => {
                let Some(every) = other.strip_prefix("plain:") else {
                    return Err(format!(
                        "invalid `APIFLOW_LIVE` value `{other}`: {EXPECTED}"
                    ));
                };
                let every = crate::duration::parse_duration(every).map_err(|message| {
                    format!("invalid `APIFLOW_LIVE` value `{other}`: {message}")
                })?;
                if every.is_zero() {
                    return Err(format!(
                        "invalid `APIFLOW_LIVE` value `{other}`: the time between lines is zero; {EXPECTED}"
                    ));
                }
                Ok(Mode::Plain { every })
            }
        }
    }
}

/// One second of the recent window.
#[derive(Debug)]
struct Bucket {
    /// Which second of the run it holds (from 0).
    second: u64,
    requests: u64,
    latencies: Latencies,
}

/// What the live view knows of a run, added to as iterations end.
#[derive(Debug)]
pub struct LiveState {
    planned_iterations: Option<u64>,
    planned_duration: Option<Duration>,
    iterations: u64,
    failed: u64,
    requests: u64,
    /// The last seconds, each in slot `second % WINDOW_SECONDS`.
    window: [Bucket; WINDOW_SECONDS],
    /// The whole run's metrics, kept only to check thresholds on them.
    metrics: Option<Metrics>,
}

impl LiveState {
    /// Starts the state of a run planned to make `iterations` (when known) over `duration`
    /// (when known); with `thresholds` to watch, it keeps the run's metrics to check them on.
    pub fn new(iterations: Option<u64>, duration: Option<Duration>, thresholds: bool) -> LiveState {
        LiveState {
            planned_iterations: iterations,
            planned_duration: duration,
            iterations: 0,
            failed: 0,
            requests: 0,
            window: std::array::from_fn(|_| Bucket {
                second: u64::MAX,
                requests: 0,
                latencies: Latencies::growing(),
            }),
            // For the thresholds at risk, which read no time series.
            metrics: thresholds.then(|| Metrics::new("", "", UNIX_EPOCH).without_series()),
        }
    }

    /// Adds an iteration that ended `at` (from the start of the run).
    pub fn iteration(&mut self, at: Duration, passed: bool, samples: &[Sample]) {
        self.iterations += 1;
        self.failed += u64::from(!passed);
        let second = at.as_secs();
        let bucket = &mut self.window[slot(second)];
        if bucket.second != second {
            bucket.second = second;
            bucket.requests = 0;
            bucket.latencies.clear();
        }
        for sample in samples {
            self.requests += sample.requests;
            bucket.requests += sample.requests;
            bucket.latencies.record(sample.latency);
        }
        if let Some(metrics) = self.metrics.as_mut() {
            metrics.iteration(passed, samples);
        }
    }

    /// Returns what the view shows `at` (from the start of the run): `dropped` starts of an
    /// open model, and the `thresholds` failing on what has run so far.
    pub fn snapshot(
        &mut self,
        at: Duration,
        dropped: Option<u64>,
        thresholds: &[Threshold],
    ) -> Snapshot {
        let now = at.as_secs();
        let first = now.saturating_sub(WINDOW_SECONDS as u64 - 1);
        let mut recent = Latencies::growing();
        let mut requests = 0;
        for bucket in &self.window {
            if (first..=now).contains(&bucket.second) {
                requests += bucket.requests;
                // Growing histograms always add up.
                let _ = recent.add(&bucket.latencies);
            }
        }
        let window = at.saturating_sub(Duration::from_secs(first));
        #[allow(clippy::cast_precision_loss)]
        let rate = requests as f64 / window.as_secs_f64().max(1e-3);
        let mut at_risk = Vec::new();
        if let Some(metrics) = self.metrics.as_mut() {
            metrics.ended = UNIX_EPOCH + at;
            for threshold in thresholds {
                let verdict = threshold.check(metrics);
                // A step that has not run yet is not at risk: it may still run.
                if !verdict.passed && verdict.actual.is_some() {
                    at_risk.push(verdict.line().trim_start_matches("✗ ").to_owned());
                }
            }
        }
        Snapshot {
            elapsed: at,
            planned_duration: self.planned_duration,
            iterations: self.iterations,
            planned_iterations: self.planned_iterations,
            failed: self.failed,
            requests: self.requests,
            window,
            rate,
            p95: (recent.count() > 0).then(|| recent.quantile(0.95)),
            dropped,
            thresholds: thresholds.len(),
            at_risk,
        }
    }
}

fn slot(second: u64) -> usize {
    usize::try_from(second % WINDOW_SECONDS as u64).unwrap_or(0)
}

/// What the live view shows at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// Time since the run started.
    pub elapsed: Duration,
    /// How long the run is planned to last, when a profile says.
    pub planned_duration: Option<Duration>,
    /// Iterations ended.
    pub iterations: u64,
    /// Iterations planned, when known.
    pub planned_iterations: Option<u64>,
    /// Iterations that failed.
    pub failed: u64,
    /// Requests sent.
    pub requests: u64,
    /// The recent window the rate and p95 are over.
    pub window: Duration,
    /// Requests per second over the window.
    pub rate: f64,
    /// The 95th percentile of the steps' latencies over the window, when any ended.
    pub p95: Option<Duration>,
    /// Planned starts dropped (open model only).
    pub dropped: Option<u64>,
    /// Thresholds watched.
    pub thresholds: usize,
    /// The thresholds failing on what has run so far, with their values.
    pub at_risk: Vec<String>,
}

impl Snapshot {
    /// Writes the run's progress: `12.3s of 30s, 1234 of 3000 iterations, 3 failed (0.24%)`.
    fn progress(&self) -> String {
        let mut out = clock(self.elapsed);
        if let Some(planned) = self.planned_duration {
            let _ = write!(out, " of {}", clock(planned));
        }
        let _ = write!(out, ", {}", self.iterations);
        if let Some(planned) = self.planned_iterations {
            let _ = write!(out, " of {planned}");
        }
        #[allow(clippy::cast_precision_loss)]
        let percent = if self.iterations == 0 {
            0.0
        } else {
            self.failed as f64 * 100.0 / self.iterations as f64
        };
        let noun = match (self.iterations, self.planned_iterations) {
            (1, None | Some(1)) => "iteration",
            _ => "iterations",
        };
        let _ = write!(out, " {noun}, {} failed ({percent:.2}%)", self.failed);
        if let Some(dropped) = self.dropped {
            let _ = write!(out, ", {dropped} dropped");
        }
        out
    }

    /// Writes the recent figures: `812 requests/s, p95 23.40ms over the last 5s`.
    fn recent(&self) -> String {
        let p95 = self.p95.map_or_else(|| "–".to_owned(), micros);
        format!(
            "{:.0} requests/s, p95 {p95} over the last {}",
            self.rate,
            clock(self.window)
        )
    }

    /// Writes the thresholds' state, when there are thresholds.
    fn thresholds(&self) -> Option<String> {
        match (self.thresholds, self.at_risk.is_empty()) {
            (0, _) => None,
            (n, true) => Some(format!(
                "✓ {n} threshold{} holding so far",
                if n == 1 { "" } else { "s" }
            )),
            (_, false) => Some(format!("✗ at risk: {}", self.at_risk.join(", "))),
        }
    }

    /// Renders the frame redrawn in place: lines cut to `width` columns, no final newline.
    pub fn frame(&self, width: usize) -> String {
        let mut lines = vec![
            format!("⠿ {}", self.progress()),
            format!("  {}", self.recent()),
        ];
        if let Some(thresholds) = self.thresholds() {
            lines.push(format!("  {thresholds}"));
        }
        let cut = |line: &String| {
            line.chars()
                .take(width.saturating_sub(1))
                .collect::<String>()
        };
        lines.iter().map(cut).collect::<Vec<_>>().join("\n")
    }

    /// Renders the plain line printed every few seconds, with its newline.
    pub fn line(&self) -> String {
        let mut out = format!("live: {}; {}", self.progress(), self.recent());
        if let Some(thresholds) = self.thresholds() {
            let _ = write!(out, "; {}", thresholds.trim_start_matches(['✓', '✗', ' ']));
        }
        out.push('\n');
        out
    }
}

/// Shows a time as the live view does: `4.2s`, `1m05s`, `1h02m03s`.
fn clock(d: Duration) -> String {
    let secs = d.as_secs();
    if secs < 60 {
        return format!("{secs}.{}s", d.subsec_millis() / 100);
    }
    let (hours, minutes, seconds) = (secs / 3600, secs / 60 % 60, secs % 60);
    if hours == 0 {
        format!("{minutes}m{seconds:02}s")
    } else {
        format!("{hours}h{minutes:02}m{seconds:02}s")
    }
}

/// Returns what redraws a frame of `lines` lines in place of the one of `previous` lines
/// drawn before (0: none): back to the first line of the old frame, erase to the end of the
/// screen, write the new one.
pub fn redraw(previous: usize, frame: &str) -> String {
    let mut out = erase(previous);
    out.push_str(frame);
    out
}

/// Returns what erases a frame of `lines` lines drawn last, leaving the cursor where it began.
pub fn erase(lines: usize) -> String {
    match lines {
        0 => String::new(),
        1 => "\r\x1b[J".to_owned(),
        n => format!("\r\x1b[{}A\x1b[J", n - 1),
    }
}

/// Adds ended iterations to the live state; clones of it may be used from any thread.
#[derive(Clone, Debug)]
pub struct Recorder {
    state: Arc<Mutex<LiveState>>,
    started: std::time::Instant,
    /// Whether anything shows the state: when nothing does, nothing is added to it.
    shown: bool,
}

impl Recorder {
    /// Adds an iteration that ended now.
    pub fn iteration(&self, passed: bool, samples: &[Sample]) {
        if !self.shown {
            return;
        }
        let at = self.started.elapsed();
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iteration(at, passed, samples);
    }
}

/// The live view of one load run: the shared state, when to show it next, and what is drawn.
pub struct Live<'a> {
    mode: Mode,
    recorder: Recorder,
    console: &'a Console,
    thresholds: &'a [Threshold],
    dropped: Option<Arc<AtomicUsize>>,
    next: Instant,
    /// Lines of the frame on the terminal now (in place only).
    drawn: usize,
}

impl<'a> Live<'a> {
    /// Starts the view of a run starting now; `dropped` counts an open model's dropped starts.
    pub fn new(
        mode: Mode,
        state: LiveState,
        console: &'a Console,
        thresholds: &'a [Threshold],
        dropped: Option<Arc<AtomicUsize>>,
    ) -> Live<'a> {
        let started = std::time::Instant::now();
        let next = Instant::from_std(started) + mode_every(mode).unwrap_or_default();
        Live {
            mode,
            recorder: Recorder {
                state: Arc::new(Mutex::new(state)),
                started,
                shown: mode != Mode::Off,
            },
            console,
            thresholds,
            dropped,
            next,
            drawn: 0,
        }
    }

    /// Returns what adds ended iterations to the view.
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// Returns when the view is due to be shown again; `None` when it is off.
    pub fn due(&self) -> Option<std::time::Instant> {
        (!matches!(self.mode, Mode::Off)).then(|| self.next.into_std())
    }

    /// Waits until the view is due to be shown again; never, when it is off.
    pub async fn tick(&self) {
        if matches!(self.mode, Mode::Off) {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep_until(self.next).await;
    }

    /// Shows the view now and plans the next time.
    pub fn show(&mut self) {
        let Some(every) = mode_every(self.mode) else {
            return;
        };
        let at = self.recorder.started.elapsed();
        let dropped = self
            .dropped
            .as_ref()
            .map(|d| d.load(Ordering::Relaxed) as u64);
        let snapshot = self
            .recorder
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .snapshot(at, dropped, self.thresholds);
        match self.mode {
            Mode::Off => {}
            Mode::Plain { .. } => self.console.err(snapshot.line().as_bytes()),
            Mode::InPlace { width, .. } => {
                let frame = snapshot.frame(width);
                self.console.err(redraw(self.drawn, &frame).as_bytes());
                self.drawn = frame.lines().count();
            }
        }
        // A slow moment does not bring a burst of frames: the next is one interval from now.
        self.next = Instant::now() + every;
    }

    /// Erases the frame, before other output and before the summary.
    pub fn clear(&mut self) {
        if self.drawn > 0 {
            self.console.err(erase(self.drawn).as_bytes());
            self.drawn = 0;
        }
    }
}

fn mode_every(mode: Mode) -> Option<Duration> {
    match mode {
        Mode::Off => None,
        Mode::Plain { every } | Mode::InPlace { every, .. } => Some(every),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::phases::Spent;
    use crate::load::threshold::parse;

    fn sample(step: &str, millis: u64, failed: bool) -> Sample {
        Sample {
            step: step.to_owned(),
            latency: Duration::from_millis(millis),
            requests: 1,
            error: failed.then_some(crate::load::metrics::FAILED_CHECK),
            at: UNIX_EPOCH,
            phases: Spent::default(),
        }
    }

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    /// A run of `--rate` for 30s: 40 iterations of two steps a second for 12.3s, the last
    /// three seconds slower, one iteration in 50 failing.
    fn state(thresholds: bool) -> LiveState {
        let mut state = LiveState::new(Some(1200), Some(Duration::from_secs(30)), thresholds);
        for k in 0..492u64 {
            let at = Duration::from_millis(k * 25);
            let slow = if at >= secs(9.3) { 20 } else { 0 };
            let passed = k % 50 != 7;
            state.iteration(
                at,
                passed,
                &[
                    sample("token", 2 + slow, false),
                    sample("read", 4 + slow, !passed),
                ],
            );
        }
        state
    }

    #[test]
    fn chooses_where_the_view_goes_from_the_environment() {
        let choose = |vars: &[(&str, &str)], terminal: bool| {
            let vars: Vec<(String, String)> = vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            let var =
                move |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
            Mode::choose(&var, terminal)
        };
        let plain = Ok(Mode::Plain {
            every: Mode::PLAIN_EVERY,
        });
        assert_eq!(
            choose(&[], true),
            Ok(Mode::InPlace {
                every: Mode::FRAME_EVERY,
                width: 80
            })
        );
        assert_eq!(
            choose(&[("COLUMNS", "132")], true),
            Ok(Mode::InPlace {
                every: Mode::FRAME_EVERY,
                width: 132
            })
        );
        assert_eq!(choose(&[], false), plain);
        assert_eq!(choose(&[("NO_COLOR", "1")], true), plain);
        assert_eq!(choose(&[("NO_COLOR", "")], false), plain);
        assert_eq!(choose(&[("CI", "true")], true), Ok(Mode::Off));
        assert_eq!(choose(&[("CI", "true")], false), Ok(Mode::Off));
        assert_eq!(choose(&[("CI", "false")], false), plain);
        assert_eq!(
            choose(&[("CI", "1"), ("APIFLOW_LIVE", "plain")], false),
            plain
        );
        assert_eq!(choose(&[("APIFLOW_LIVE", "off")], true), Ok(Mode::Off));
        assert_eq!(
            choose(&[("APIFLOW_LIVE", "plain:250ms")], true),
            Ok(Mode::Plain {
                every: Duration::from_millis(250)
            })
        );
        assert_eq!(
            choose(&[("APIFLOW_LIVE", "fancy")], true),
            Err("invalid `APIFLOW_LIVE` value `fancy`: expected `off`, `plain` or `plain:DURATION`, e.g. `plain:30s`".into())
        );
        assert_eq!(
            choose(&[("APIFLOW_LIVE", "plain:5")], true),
            Err("invalid `APIFLOW_LIVE` value `plain:5`: invalid duration `5`: `5` has no unit; expected a number followed by `ms`, `s`, `m` or `h`, e.g. `500ms`, `10s`, `2m`".into())
        );
        assert!(choose(&[("APIFLOW_LIVE", "plain:0s")], true).is_err());
    }

    #[test]
    fn the_recent_figures_cover_the_last_five_seconds_only() {
        let mut state = state(false);
        let snapshot = state.snapshot(secs(12.3), Some(3), &[]);
        assert_eq!(snapshot.iterations, 492);
        assert_eq!(snapshot.requests, 984);
        assert_eq!(snapshot.failed, 10);
        // Seconds 8 to 12: 4.3s, 80 requests a second, the last three seconds slow.
        assert_eq!(snapshot.window, secs(4.3));
        assert!(
            (snapshot.rate - 172.0 / 4.3 * 2.0).abs() < 1e-6,
            "{}",
            snapshot.rate
        );
        // 24ms within the histogram's 3 digits.
        assert!(
            snapshot
                .p95
                .is_some_and(|p| p >= Duration::from_millis(24) && p < secs(0.0241)),
            "{:?}",
            snapshot.p95
        );
        // Nothing ended for a while: the window empties.
        let later = state.snapshot(secs(40.0), None, &[]);
        assert_eq!((later.rate, later.p95), (0.0, None));
        // At the start, the window is what has passed.
        let mut fresh = LiveState::new(None, None, false);
        fresh.iteration(secs(0.2), true, &[sample("a", 1, false)]);
        let first = fresh.snapshot(secs(0.5), None, &[]);
        assert_eq!(first.window, secs(0.5));
        assert!((first.rate - 2.0).abs() < 1e-9);
    }

    #[test]
    fn a_frame_shows_progress_recent_figures_and_thresholds_at_risk() {
        let thresholds = [
            parse("p95<10ms").expect("valid"),
            parse("errors<5%").expect("valid"),
            parse("step=read:max<1s").expect("valid"),
            parse("step=never:p99<1ms").expect("valid"),
        ];
        let mut state = state(true);
        let snapshot = state.snapshot(secs(12.3), Some(3), &thresholds);
        insta::assert_snapshot!("frame", snapshot.frame(100));
        insta::assert_snapshot!("line", snapshot.line());
        // Cut to the terminal's width, never wrapped.
        assert!(snapshot.frame(40).lines().all(|l| l.chars().count() <= 39));
        let mut holding = LiveState::new(None, Some(Duration::from_secs(90)), true);
        holding.iteration(secs(1.0), true, &[sample("read", 3, false)]);
        let snapshot = holding.snapshot(secs(61.5), None, &thresholds[1..3]);
        insta::assert_snapshot!("frame_holding", snapshot.frame(100));
        let unplanned = LiveState::new(None, None, false).snapshot(secs(0.1), None, &[]);
        assert_eq!(
            unplanned.line(),
            "live: 0.1s, 0 iterations, 0 failed (0.00%); 0 requests/s, p95 – over the last 0.1s\n"
        );
    }

    #[test]
    fn frames_are_redrawn_over_the_last_one_and_erased() {
        assert_eq!(redraw(0, "a\nb"), "a\nb");
        assert_eq!(redraw(1, "a\nb"), "\r\x1b[Ja\nb");
        assert_eq!(redraw(3, "a"), "\r\x1b[2A\x1b[Ja");
        assert_eq!(erase(0), "");
        assert_eq!(erase(2), "\r\x1b[1A\x1b[J");
    }

    #[test]
    fn iterations_may_end_on_several_threads() {
        let recorder = Recorder {
            state: Arc::new(Mutex::new(LiveState::new(Some(400), None, false))),
            started: std::time::Instant::now(),
            shown: true,
        };
        std::thread::scope(|scope| {
            for _ in 0..4 {
                let recorder = recorder.clone();
                scope.spawn(move || {
                    for _ in 0..100 {
                        recorder.iteration(true, &[sample("a", 1, false)]);
                    }
                });
            }
        });
        let snapshot = recorder.state.lock().expect("not poisoned").snapshot(
            Duration::from_secs(1),
            None,
            &[],
        );
        assert_eq!((snapshot.iterations, snapshot.requests), (400, 400));
    }
}
