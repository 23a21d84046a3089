//! Batch runs: several workflow files (`--jobs`), one workflow many times (`--iterations`,
//! `--data`, `--concurrency`), their reports, and the summary printed when they end.
//!
//! In order: each plan gets the inputs that concern it → the plans run one after another, or
//! up to `jobs` at once with their output buffered, or one plan `iterations` times → the reports
//! are written → with several files, a summary line per file. The outcome is the worst exit
//! code of them all.

pub mod console;
pub mod data;
pub mod files;
pub mod live;
pub mod load_run;
pub mod profile;
pub mod runnable;
pub mod shard;
pub mod stats;
pub mod threads;

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use crate::check::environment::Scoped;
use crate::check::inputs::InputSources;
use crate::diagnostic::Diagnostic;
use crate::exit::ExitCode;
use crate::http::Client;
use crate::load::metrics::Metrics;
use crate::load::threshold::{Threshold, Verdict, Watch};
use crate::report::event::Reporter;
use crate::report::github::Actions;
use crate::report::progress::WithProgress;
use crate::report::terminal::Terminal;
use crate::report::{Files, Format, Tee};
use crate::runner::Settings;

pub use console::{Captured, Console};
pub use files::{Shard, workflow_files};
pub use runnable::{Resolved, RunFuture, Runnable, foreign_inputs};

/// Failed iterations whose output is printed in full; the rest are counted.
const SHOWN_FAILURES: usize = 3;

/// Room for an iteration's output, written before it is known whether it will be shown:
/// a short flow's lines fit in it without growing it.
const ITERATION_OUTPUT: usize = 512;

/// How a batch runs, beyond the plans, the client and the runner's settings.
#[derive(Clone, Debug)]
pub struct Options {
    /// `--var` and `--env-file` values.
    pub sources: InputSources,
    /// Values supplied in code (an emulator's): each workflow gets those it declares as inputs.
    pub supplied: Vec<(String, String)>,
    /// Print every request and response.
    pub verbose: bool,
    /// Print each request as a `curl` command, secrets shown when `show_secrets`.
    pub curl: bool,
    /// Show secrets in `curl` commands.
    pub show_secrets: bool,
    /// Workflow files run at once (1: one after another, output live).
    pub jobs: usize,
    /// Runs of each workflow (1: an ordinary run).
    pub iterations: usize,
    /// Iterations run at once.
    pub concurrency: usize,
    /// Threads a load run's iterations run on, each with its share of them and of the
    /// virtual users (1: all on the calling thread).
    pub threads: usize,
    /// `--data` rows: one iteration per row, its columns as inputs.
    pub rows: Option<Vec<Vec<(String, String)>>>,
    /// Reports to write when the batch ends.
    pub reports: Vec<(Format, PathBuf)>,
    /// The `environment` and `globals` sources of particular workflows, by source name, in
    /// place of those of `sources` (a Postman collection's, whose other values are its inputs'
    /// defaults already).
    pub scopes_by_file: Vec<(String, Vec<Scoped>, Vec<Scoped>)>,
    /// Which iterations start, and when: a count, a duration or an arrival rate.
    pub profile: profile::Profile,
    /// Set on GitHub Actions: failures become annotations, and the summary goes to the step
    /// summary.
    pub github: Option<Actions>,
    /// The share of the iterations, `--data` rows and arrivals this process runs.
    pub shard: Option<Shard>,
    /// Checked on a load run's metrics when it ends: one that fails fails the run.
    pub thresholds: Vec<Threshold>,
    /// Stop a load run as soon as a threshold can no longer pass (`--abort-on-threshold`).
    pub abort_on_threshold: bool,
    /// How a load run shows its progress on standard error while it runs.
    pub live: live::Mode,
    /// The load runs of the workflows whose `load:` key makes them one, by source name, in place
    /// of the count, concurrency, profile and thresholds above.
    pub load_by_file: Vec<(String, load_run::LoadRun)>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            sources: InputSources::default(),
            supplied: Vec::new(),
            verbose: false,
            curl: false,
            show_secrets: false,
            jobs: 1,
            iterations: 1,
            concurrency: 1,
            threads: 1,
            rows: None,
            reports: Vec::new(),
            scopes_by_file: Vec::new(),
            profile: profile::Profile::Count,
            shard: None,
            thresholds: Vec::new(),
            abort_on_threshold: false,
            live: live::Mode::Off,
            load_by_file: Vec::new(),
            github: None,
        }
    }
}

impl Options {
    /// Returns these options with the load run of the workflow of `file` in place of the
    /// batch's, when its `load:` key makes it one.
    fn with_load_of(&self, file: &str) -> Option<Options> {
        let (_, run) = self.load_by_file.iter().find(|(name, _)| name == file)?;
        let mut own = self.clone();
        if let Some(count) = run.iterations {
            own.iterations = count;
            // As with `--iterations`: iterations past the last row take the last row again.
            if let Some(rows) = own.rows.as_mut() {
                let last = rows.last().cloned().unwrap_or_default();
                rows.resize(count, last);
            }
        }
        own.concurrency = run.concurrency;
        own.profile = run.profile.clone();
        own.thresholds.clone_from(&run.thresholds);
        Some(own)
    }
}

/// Everything one workflow's run needs that does not change between workflows.
#[derive(Clone, Copy)]
struct Shared<'a> {
    client: &'a Client,
    settings: &'a Settings,
    options: &'a Options,
    console: &'a Console,
    live: bool,
    /// Several workflows run: each takes only the `--var`s that name one of its inputs.
    several: bool,
}

/// Runs validated plans as the options say and returns the worst outcome.
pub async fn run<P: Runnable>(
    plans: &[P],
    client: &Client,
    settings: &Settings,
    options: &Options,
    console: &Console,
) -> ExitCode {
    let iterating = |options: &Options| {
        options.rows.is_some()
            || options.iterations > 1
            || options.profile.timed()
            || !options.thresholds.is_empty()
    };
    let parallel = options.jobs > 1
        && plans.len() > 1
        && !iterating(options)
        && options.load_by_file.is_empty();
    let shared = Shared {
        client,
        settings,
        options,
        console,
        live: !parallel,
        several: plans.len() > 1,
    };
    let mut results: Vec<(usize, ExitCode)> = Vec::with_capacity(plans.len());
    let mut reports = files_for(options);
    if parallel {
        run_parallel(plans, &shared, &mut results, &mut reports).await;
    } else {
        for (index, plan) in plans.iter().enumerate() {
            if let Some(own) = options.with_load_of(plan.file()) {
                let shared = Shared {
                    options: &own,
                    ..shared
                };
                results.push((index, run_iterations(plan, &shared, &mut reports).await));
                continue;
            }
            if iterating(options) {
                results.push((index, run_iterations(plan, &shared, &mut reports).await));
                continue;
            }
            let (code, _, diagnostics) = run_one(plan, &shared, &mut reports).await;
            console.diagnostics(&diagnostics, console.color_err);
            results.push((index, code));
            if settings.interrupt.load(Ordering::SeqCst) {
                break;
            }
        }
    }
    let mut worst = results
        .iter()
        .fold(ExitCode::Passed, |w, (_, code)| w.worst(*code));
    if let Err(message) = reports.write() {
        console.err(format!("error: {message}\n").as_bytes());
        worst = worst.worst(ExitCode::Invalid);
    }
    if let Some(github) = &options.github {
        console.out(reports.annotations().as_bytes());
        if let Some(path) = &github.step_summary
            && let Err(message) = reports.append_summary(path)
        {
            console.err(format!("error: {message}\n").as_bytes());
            worst = worst.worst(ExitCode::Invalid);
        }
    }
    if plans.len() > 1 {
        console.out(files_summary(plans, &mut results).as_bytes());
    }
    worst
}

/// Returns a collector for the reports the options ask for, and for GitHub Actions' output.
fn files_for(options: &Options) -> Files {
    Files::new(options.reports.clone()).summarizing(options.github.is_some())
}

/// Runs up to `jobs` workflows at once, each with its own variables and cookie jar, sharing
/// the connection pool; each one's output is printed whole when it ends.
async fn run_parallel<P: Runnable>(
    plans: &[P],
    shared: &Shared<'_>,
    results: &mut Vec<(usize, ExitCode)>,
    reports: &mut Files,
) {
    use futures_util::StreamExt as _;
    // Collected first: a stream that maps each plan to its future is not `Send` to rustc (the
    // closure would have to work for any lifetime of the plan).
    let runs: Vec<_> = plans
        .iter()
        .enumerate()
        .map(|(index, plan)| {
            async move {
                // Collects for the same reports; only the merged collector writes them.
                let mut files = files_for(shared.options);
                let (code, output, diagnostics) = run_one(plan, shared, &mut files).await;
                (index, code, output, diagnostics, files)
            }
        })
        .collect();
    let mut stream = futures_util::stream::iter(runs).buffer_unordered(shared.options.jobs);
    let mut progress = shared.console.progress();
    if let Some(progress) = progress.as_mut() {
        progress.files(0, plans.len());
    }
    // Reports list the workflows in the order given, whichever finished first.
    let mut finished = Vec::with_capacity(plans.len());
    while let Some((index, code, output, diagnostics, files)) = stream.next().await {
        if let Some(progress) = progress.as_mut() {
            progress.clear();
        }
        shared.console.out(&output);
        shared
            .console
            .diagnostics(&diagnostics, shared.console.color_err);
        finished.push((index, files));
        results.push((index, code));
        if let Some(progress) = progress.as_mut()
            && results.len() < plans.len()
        {
            progress.files(results.len(), plans.len());
        }
    }
    finished.sort_by_key(|(index, _)| *index);
    for (_, files) in finished {
        reports.absorb(files);
    }
}

/// Gives a workflow the input sources that concern it: supplied values only for the inputs it
/// declares, and with several files, only the `--var`s it declares.
fn sources_for(plan: &dyn Runnable, shared: &Shared<'_>) -> InputSources {
    let names = plan.input_names();
    let declared = |name: &String| names.contains(&name.as_str());
    let mut sources = shared.options.sources.clone();
    sources.supplied = shared
        .options
        .supplied
        .iter()
        .filter(|(k, _)| declared(k))
        .cloned()
        .collect();
    if shared.several {
        sources.vars.retain(|(name, _)| declared(name));
    }
    if let Some((_, environment, globals)) = shared
        .options
        .scopes_by_file
        .iter()
        .find(|(name, _, _)| name == plan.file())
    {
        sources.environment.clone_from(environment);
        sources.globals.clone_from(globals);
    }
    sources
}

/// Runs one workflow: its exit code, its terminal output (buffered unless `live`), and the
/// diagnostics that stopped it.
async fn run_one(
    plan: &dyn Runnable,
    shared: &Shared<'_>,
    files: &mut Files,
) -> (ExitCode, Vec<u8>, Vec<Diagnostic>) {
    let sources = sources_for(plan, shared);
    let sink = shared.console.sink(shared.live);
    let mut terminal = Terminal::new(sink, shared.console.color, shared.options.verbose);
    if shared.options.curl {
        terminal = terminal.curl(shared.options.show_secrets);
    }
    // The progress line shows only while output is live: parallel runs show a count of files.
    let mut progress = if shared.live {
        shared.console.progress()
    } else {
        None
    };
    let result = {
        let mut tee = Tee(&mut terminal, files);
        let reporter: &mut dyn Reporter = match progress.as_mut() {
            Some(progress) => &mut WithProgress(progress, &mut tee),
            None => &mut tee,
        };
        match plan.resolve(&sources) {
            Ok(inputs) => {
                plan.run(shared.client, &inputs, shared.settings, reporter)
                    .await
            }
            Err(diagnostics) => Err(diagnostics),
        }
    };
    let output = terminal.into_inner().into_buffer();
    match result {
        Ok(code) => (code, output, Vec::new()),
        Err(diagnostics) => (ExitCode::Invalid, output, diagnostics),
    }
}

/// Runs one workflow once per `--data` row, or `iterations` times, `concurrency` at once, and
/// prints the failures and a summary with throughput and per-step latency percentiles. The file
/// reports get every iteration, in the order of the iterations whichever finished first.
async fn run_iterations(plan: &dyn Runnable, shared: &Shared<'_>, reports: &mut Files) -> ExitCode {
    use futures_util::StreamExt as _;
    use std::fmt::Write as _;
    let options = shared.options;
    let rows = options.rows.as_deref();
    let count = rows.map_or(options.iterations, <[_]>::len);
    // `--rate` with a count: the schedule of its starts is made now that the count is known.
    let paced;
    let options = if matches!(options.profile, profile::Profile::Paced(_)) {
        paced = Options {
            profile: options.profile.with_count(count),
            ..options.clone()
        };
        &paced
    } else {
        options
    };
    let started = std::time::Instant::now();
    let mut metrics = Metrics::new(plan.title(), plan.file(), std::time::SystemTime::now());
    // Whether anything reads the runs and the time series: a report or a summary. Without
    // one, a long run keeps nothing per iteration or per second.
    let reported = reports.keeps();
    if !reported {
        metrics = metrics.without_series();
    }
    metrics.shard = options.shard.map(|s| format!("{}/{}", s.index, s.count));
    let dropped = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // A timed profile runs past the last row: iteration k takes row k modulo their number.
    let row_of = |index: usize| rows.and_then(|r| r.get(index % r.len().max(1)));
    let planned_count = match &options.profile {
        profile::Profile::Open(schedule) => schedule.starts(None).count(),
        _ => count,
    };
    // Up to one thread per virtual user, and per iteration of a count.
    let threads = options
        .threads
        .min(options.concurrency)
        .min(match options.profile {
            profile::Profile::Count => count,
            _ => usize::MAX,
        })
        .max(1);
    // One thread shares the caller's connections; several each keep their own.
    let clients: Vec<Client> = if threads == 1 {
        vec![shared.client.clone()]
    } else {
        (0..threads)
            .map(|_| shared.client.with_own_connections())
            .collect()
    };
    for client in &clients {
        client.keep_idle(options.concurrency);
    }
    let clients = &clients;
    let timed = options.profile.timed();
    // The same for every iteration, and resolved once unless a default is computed for each
    // run; a `--data` row adds its columns to a copy, resolved for its iterations.
    let common = sources_for(plan, shared);
    let resolved = plan.inputs_shareable().then(|| plan.resolve(&common));
    let (common, resolved) = (&common, resolved.as_ref());
    let start = |thread: usize, start: profile::Start| async move {
        let client = &clients[thread];
        let index = start.index;
        let count = planned_count;
        let lag = start
            .planned
            .map(|planned| tokio::time::Instant::now().saturating_duration_since(planned));
        let own;
        let inputs = match (row_of(index), resolved) {
            (Some(row), _) => {
                let mut sources = common.clone();
                sources.supplied.extend(row.iter().cloned());
                own = plan.resolve(&sources);
                &own
            }
            (None, Some(resolved)) => resolved,
            (None, None) => {
                own = plan.resolve(common);
                &own
            }
        };
        let mut stats = stats::Stats::default();
        let mut files = files_for(options);
        let mut terminal = Terminal::new(
            Vec::with_capacity(ITERATION_OUTPUT),
            shared.console.color,
            options.verbose,
        )
        .masked_at_end()
        .shown_if_failed();
        let settings = crate::runner::Settings {
            iteration: Some(crate::runner::Iteration {
                index,
                count,
                data: row_of(index).cloned().unwrap_or_default(),
            }),
            // A run that lasts a time reports a sample of its iterations: their passed steps'
            // requests and responses are not kept while thousands of them run.
            forget_passed_exchanges: shared.settings.forget_passed_exchanges || timed,
            ..shared.settings.clone()
        };
        let result = {
            let mut outputs = Tee(&mut terminal, &mut files);
            let mut measured = profile::FromPlanned {
                inner: &mut stats,
                lag,
            };
            let mut tee = Tee(&mut measured, &mut outputs);
            match inputs {
                Ok(inputs) => plan.run(client, inputs, &settings, &mut tee).await,
                Err(diagnostics) => Err(diagnostics.clone()),
            }
        };
        match result {
            Ok(code) => (index, code, stats, terminal, Vec::new(), files),
            Err(diagnostics) => (
                index,
                ExitCode::Invalid,
                stats,
                terminal,
                diagnostics,
                files,
            ),
        }
    };
    // Each thread's share: its iterations, rows or arrivals (a closed model's users run for the
    // whole duration, their iterations numbered apart), all timed from the same start.
    let begun = tokio::time::Instant::now();
    let start = &start;
    let counters = profile::Counters {
        dropped: std::sync::Arc::clone(&dropped),
        running: std::sync::Arc::default(),
    };
    let open = matches!(options.profile, profile::Profile::Open(_));
    let iterations = |thread: usize| {
        let share = match options.profile {
            profile::Profile::Closed(_) if threads == 1 => None,
            profile::Profile::Closed(_) => threads::share(None, thread, threads),
            _ => threads::share(options.shard, thread, threads),
        };
        profile::iterations(
            &options.profile,
            begun,
            count,
            share,
            // An open model's users are counted over all threads; the others' are split.
            if open {
                options.concurrency
            } else {
                threads::users(options.concurrency, thread, threads)
            },
            counters.clone(),
            move |planned| start(thread, planned),
        )
    };
    let mut watch = options
        .abort_on_threshold
        .then(|| Watch::new(&options.thresholds, planned_here(options, count)));
    let mut stopped = None;
    let mut interrupted = false;
    let mut live = live_view(
        options,
        count,
        shared.console,
        &options.thresholds,
        &dropped,
    );
    let (mut passed, mut failed, mut worst) = (0usize, 0usize, ExitCode::Passed);
    let mut finished = Vec::new();
    let bounded = timed || options.reports.is_empty();
    // Passed and failed iterations whose runs are kept for the reports, and those left out.
    let (mut kept, mut left_out) = (crate::report::Kept::default(), 0usize);
    // Takes each iteration as it ends, on this thread whichever thread ran it; `false` stops
    // the run, and the iterations still running are dropped.
    let mut take = |live: &mut live::Live<'_>,
                    (index, code, iteration, output, diagnostics, files): (
        usize,
        ExitCode,
        stats::Stats,
        Terminal<Vec<u8>>,
        Vec<Diagnostic>,
        Files,
    )| {
        live.recorder().iteration(code.passed(), &iteration.samples);
        metrics.iteration(code.passed(), &iteration.samples);
        // Kept only for file reports, which list every iteration of a count, and a summary.
        // A run that lasts a time, and a summary alone, keep the first passed and failed
        // iterations to end and count the rest: memory stays flat however long the run.
        if reported {
            if bounded && !kept.admit(code.passed()) {
                left_out += 1;
            } else {
                finished.push((index, files));
            }
        }
        if code.passed() {
            passed += 1;
        } else {
            failed += 1;
            if failed <= SHOWN_FAILURES {
                live.clear();
                shared
                    .console
                    .out(format!("iteration {} failed:\n", index + 1).as_bytes());
                shared.console.out(&output.into_masked());
                shared.console.diagnostics(&diagnostics, false);
            }
        }
        worst = worst.worst(code);
        if shared.settings.interrupt.load(Ordering::SeqCst) {
            interrupted = true;
            return false;
        }
        if let Some(why) = watch.as_mut().and_then(|w| w.stop(&metrics)) {
            stopped = Some(why);
            return false;
        }
        true
    };
    if threads == 1 {
        let mut stream = iterations(0);
        loop {
            let ended = tokio::select! {
                biased;
                () = live.tick() => None,
                ended = stream.next() => Some(ended),
            };
            let Some(ended) = ended else {
                live.show();
                continue;
            };
            let Some(item) = ended else {
                break;
            };
            if !take(&mut live, item) {
                break;
            }
        }
    } else {
        // This thread waits for the next iteration to end, or for the live view to be due.
        let wake = live.due();
        let ran = threads::run(threads, iterations, wake, |ended| {
            match ended {
                Some(item) => {
                    if !take(&mut live, item) {
                        return threads::Flow::Stop;
                    }
                }
                None => live.show(),
            }
            threads::Flow::Wake(live.due())
        });
        if let Err(error) = ran {
            live.clear();
            shared
                .console
                .err(format!("error: cannot start the async runtime: {error}\n").as_bytes());
            return ExitCode::Invalid;
        }
    }
    live.clear();
    let elapsed = started.elapsed();
    metrics.ended = std::time::SystemTime::now();
    finished.sort_by_key(|(index, _)| *index);
    for (_, files) in finished {
        reports.absorb(files);
    }
    reports.leave_out(left_out);
    let verdicts: Vec<Verdict> = options
        .thresholds
        .iter()
        .map(|t| t.check(&metrics))
        .collect();
    let thresholds_failed = stopped.is_some() || verdicts.iter().any(|v| !v.passed);
    if thresholds_failed {
        worst = worst.worst(ExitCode::Failed);
    }
    let mark = if failed == 0 && !thresholds_failed {
        "✓"
    } else {
        "✗"
    };
    let mut summary = String::new();
    if failed > SHOWN_FAILURES {
        let _ = writeln!(
            summary,
            "… and {} more failed iterations",
            failed - SHOWN_FAILURES
        );
    }
    #[allow(clippy::cast_precision_loss)]
    let rate = metrics.requests as f64 / elapsed.as_secs_f64().max(1e-9);
    let _ = writeln!(
        summary,
        "{mark} {}: {} iterations, {passed} passed, {failed} failed in {} (concurrency {})",
        plan.title(),
        passed + failed,
        crate::duration::format_duration(elapsed),
        options.concurrency,
    );
    let _ = writeln!(
        summary,
        "  {} requests, {rate:.0} requests/s",
        metrics.requests
    );
    if let Some(profile) = options.profile.describe() {
        let dropped = dropped.load(Ordering::Relaxed);
        let _ = writeln!(
            summary,
            "  {profile}, {dropped} dropped (every virtual user busy at its planned start)"
        );
    }
    if let Some(why) = &stopped {
        let _ = writeln!(summary, "  stopped early: {why}");
    }
    summary += &metrics.table();
    if !verdicts.is_empty() {
        summary += "  thresholds\n";
        for verdict in &verdicts {
            let _ = writeln!(summary, "  {}", verdict.line());
        }
    }
    let verdicts: Vec<serde_json::Value> = verdicts.iter().map(Verdict::to_json).collect();
    // The report says why the run ended early, so that a merge of shards can say it too.
    metrics.stopped = stopped
        .clone()
        .or_else(|| interrupted.then(|| "interrupted".to_owned()));
    reports.load(|| metrics.to_json(&verdicts));
    shared.console.out(summary.as_bytes());
    worst
}

/// Counts the iterations this process plans to run (0 when a duration bounds them): what an
/// `errors` threshold's share is of, when the run stops on thresholds.
fn planned_here(options: &Options, count: usize) -> u64 {
    let mine = |k: &usize| options.shard.is_none_or(|s| s.takes(*k));
    let planned = match &options.profile {
        profile::Profile::Count | profile::Profile::Paced(_) => (0..count).filter(mine).count(),
        profile::Profile::Open(schedule) => schedule.starts(options.shard).count(),
        profile::Profile::Closed(_) => 0,
    };
    planned as u64
}

/// Starts the live view of a load run: what it plans (iterations of this shard, duration),
/// the thresholds it watches, and an open model's dropped starts.
fn live_view<'a>(
    options: &Options,
    count: usize,
    console: &'a Console,
    thresholds: &'a [crate::load::threshold::Threshold],
    dropped: &std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> live::Live<'a> {
    let planned = planned_here(options, count);
    let (iterations, duration) = match &options.profile {
        profile::Profile::Count | profile::Profile::Paced(_) => (Some(planned), None),
        profile::Profile::Closed(duration) => (None, Some(*duration)),
        profile::Profile::Open(schedule) => (Some(planned), Some(schedule.duration())),
    };
    let state = live::LiveState::new(iterations, duration, !thresholds.is_empty());
    let open = matches!(options.profile, profile::Profile::Open(_));
    live::Live::new(
        options.live,
        state,
        console,
        thresholds,
        open.then(|| std::sync::Arc::clone(dropped)),
    )
}

/// Writes the closing summary of several files: counts, then each file with its mark.
fn files_summary<P: Runnable>(plans: &[P], results: &mut [(usize, ExitCode)]) -> String {
    use std::fmt::Write as _;
    results.sort_by_key(|(index, _)| *index);
    let failed = results.iter().filter(|(_, code)| !code.passed()).count();
    let mut out = format!(
        "\n{} files: {} passed, {failed} failed\n",
        results.len(),
        results.len() - failed
    );
    for (index, code) in results.iter() {
        let mark = if code.passed() { "✓" } else { "✗" };
        let note = if code.passed() {
            String::new()
        } else {
            format!(" (exit {code})")
        };
        let _ = writeln!(out, "  {mark} {}{note}", plans[*index].file());
    }
    out
}

/// Reports each `--var` that names an input of none of several workflows.
pub fn unknown_vars<P: Runnable>(vars: &[(String, String)], plans: &[P]) -> Vec<Diagnostic> {
    let inputs: Vec<&str> = plans.iter().flat_map(Runnable::input_names).collect();
    let mut diagnostics = Vec::new();
    for (name, _) in vars {
        if inputs.contains(&name.as_str()) {
            continue;
        }
        let mut diagnostic = Diagnostic::error(format!(
            "`--var {name}` does not name an input of any of the {} workflows",
            plans.len()
        ));
        if let Some(help) = crate::diagnostic::did_you_mean(name, inputs.iter().copied()) {
            diagnostic = diagnostic.help(help);
        }
        diagnostics.push(diagnostic);
    }
    diagnostics
}
