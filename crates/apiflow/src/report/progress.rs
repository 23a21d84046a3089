//! The progress line: one status line on stderr, overwritten while a run waits and cleared before
//! any other output; only on a terminal, and never in CI.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};

use crate::report::event::{Event, Reporter};
use crate::secret::Masker;

/// Moves to the start of the line and erases it.
const CLEAR: &str = "\r\x1b[2K";

/// Shows what a run is waiting for.
pub struct Progress<W: Write> {
    out: W,
    masker: Masker,
    width: usize,
    /// Top-level steps in the workflow, and how many have ended.
    steps: usize,
    done: usize,
    /// The top-level step running, the step inside it (`uses`, `for_each`), the retry.
    step: Option<String>,
    inner: Option<String>,
    attempt: Option<(u32, u32)>,
    shown: bool,
}

/// Tells whether a progress line belongs on stderr: it is a terminal and `CI` is not set.
pub fn wanted() -> bool {
    let in_ci = std::env::var("CI").is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false"));
    std::io::stderr().is_terminal() && !in_ci
}

impl Progress<std::io::Stderr> {
    /// Returns a progress line on stderr, or `None` when it is not wanted there.
    pub fn stderr() -> Option<Progress<std::io::Stderr>> {
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(80);
        wanted().then(|| Progress::new(std::io::stderr(), width))
    }
}

impl<W: Write> Progress<W> {
    /// Creates a progress line written to `out`, cut to `width` columns so it never wraps.
    pub fn new(out: W, width: usize) -> Progress<W> {
        Progress {
            out,
            masker: Masker::new(),
            width: width.max(10),
            steps: 0,
            done: 0,
            step: None,
            inner: None,
            attempt: None,
            shown: false,
        }
    }

    /// Replaces the line with `text`.
    pub fn show(&mut self, text: &str) {
        let masked = self.masker.mask(text);
        let line: String = format!("⠿ {masked}").chars().take(self.width - 1).collect();
        let _ = write!(self.out, "{CLEAR}{line}");
        let _ = self.out.flush();
        self.shown = true;
    }

    /// Erases the line, if one is shown.
    pub fn clear(&mut self) {
        if self.shown {
            let _ = write!(self.out, "{CLEAR}");
            let _ = self.out.flush();
            self.shown = false;
        }
    }

    /// Shows how many of the files of a parallel run have finished.
    pub fn files(&mut self, done: usize, total: usize) {
        self.show(&format!("{done}/{total} files"));
    }

    /// Returns the writer.
    pub fn into_inner(self) -> W {
        self.out
    }

    /// Follows the run and shows the step it waits for, if any.
    fn update(&mut self, event: &Event<'_>) {
        match event {
            Event::Started { steps, .. } => {
                self.steps = *steps;
                self.done = 0;
                self.step = None;
            }
            Event::Secret(value) => {
                self.masker.add(value);
            }
            Event::StepStarted { name, depth: 0, .. } => {
                self.step = Some((*name).to_owned());
                self.inner = None;
                self.attempt = None;
            }
            Event::StepStarted { name, .. } => {
                self.inner = Some((*name).to_owned());
                self.attempt = None;
            }
            Event::Attempt { number, of, .. } => self.attempt = Some((*number, *of)),
            Event::Console { .. } => {}
            Event::Step(step) if step.depth == 0 => {
                self.done += 1;
                self.step = None;
            }
            // A step inside a `uses` or a `for_each` element ended: show how far it got.
            Event::Step(step) => {
                self.inner = Some(step.name.clone());
                self.attempt = None;
            }
            Event::Finally | Event::Finished(_) => self.step = None,
        }
        if let Some(step) = &self.step {
            // A `next:` loop can run more steps than the workflow has: then only the count shows.
            let mut text = if self.done < self.steps {
                format!("{}/{} {step}", self.done + 1, self.steps)
            } else {
                format!("{} {step}", self.done + 1)
            };
            if let Some(inner) = &self.inner {
                text.push_str(" › ");
                text.push_str(inner);
            }
            if let Some((number, of)) = self.attempt {
                let _ = write!(text, " (attempt {number}/{of})");
            }
            self.show(&text);
        }
    }
}

/// Sends events to a reporter with the progress line around it: erased before the reporter
/// prints, drawn again after.
pub struct WithProgress<'a, W: Write>(pub &'a mut Progress<W>, pub &'a mut dyn Reporter);

impl<W: Write + Send + Sync> Reporter for WithProgress<'_, W> {
    fn event(&mut self, event: &Event<'_>) {
        self.0.clear();
        self.1.event(event);
        self.0.update(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::event::{Outcome, StepReport};

    fn step(name: &str, depth: u32) -> StepReport {
        StepReport {
            name: name.to_owned(),
            finally: false,
            outcome: Outcome::Passed,
            reason: None,
            exchanges: Vec::new(),
            attempts: 1,
            failures: Vec::new(),
            warnings: Vec::new(),
            captures: Vec::new(),
            checks: Vec::new(),
            children: Vec::new(),
            depth,
            duration: std::time::Duration::ZERO,
            jump: None,
        }
    }

    /// Records what the wrapped reporter printed, in the same stream as the progress line.
    struct Printer<'a>(&'a std::sync::Mutex<Vec<u8>>);

    impl Reporter for Printer<'_> {
        fn event(&mut self, event: &Event<'_>) {
            if let Event::Step(step) = event {
                let _ = writeln!(self.0.lock().expect("not poisoned"), "[{}]", step.name);
            }
        }
    }

    struct Shared<'a>(&'a std::sync::Mutex<Vec<u8>>);

    impl Write for Shared<'_> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("not poisoned").write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn shows_the_step_its_attempts_and_nested_steps_and_clears_before_output() {
        let out = std::sync::Mutex::new(Vec::new());
        let mut progress = Progress::new(Shared(&out), 60);
        let mut printer = Printer(&out);
        let mut reporter = WithProgress(&mut progress, &mut printer);
        let started = |name| Event::StepStarted {
            name,
            depth: 0,
            nested: false,
        };
        reporter.event(&Event::Started {
            name: "w",
            file: "w.yaml",
            steps: 15,
        });
        reporter.event(&Event::Secret("s3cret"));
        reporter.event(&started("read the application secret"));
        reporter.event(&Event::Attempt {
            name: "read the application secret",
            number: 2,
            of: 5,
        });
        reporter.event(&Event::Step(&step("read the application secret", 0)));
        reporter.event(&started("sign in"));
        reporter.event(&Event::Step(&step("sign in [1]", 1)));
        reporter.event(&Event::Step(&step("sign in", 0)));
        reporter.event(&started(
            "send s3cret and a name far too long to fit in sixty columns",
        ));
        reporter.event(&Event::Finished(&crate::report::event::RunReport {
            name: "w".into(),
            file: "w.yaml".into(),
            inputs: Vec::new(),
            started_at: std::time::SystemTime::UNIX_EPOCH,
            steps: Vec::new(),
            duration: std::time::Duration::ZERO,
            stopped: None,
        }));
        let text = String::from_utf8(out.into_inner().expect("not poisoned")).unwrap();
        assert_eq!(
            text,
            "\r\x1b[2K⠿ 1/15 read the application secret\
             \r\x1b[2K\r\x1b[2K⠿ 1/15 read the application secret (attempt 2/5)\
             \r\x1b[2K[read the application secret]\n\
             \r\x1b[2K⠿ 2/15 sign in\
             \r\x1b[2K[sign in [1]]\n\r\x1b[2K⠿ 2/15 sign in › sign in [1]\
             \r\x1b[2K[sign in]\n\
             \r\x1b[2K⠿ 3/15 send •••• and a name far too long to fit in sixty co\
             \r\x1b[2K"
        );
    }

    #[test]
    fn a_step_run_again_past_the_workflows_count_shows_only_the_count() {
        let mut progress = Progress::new(Vec::new(), 80);
        let started = Event::StepStarted {
            name: "poll",
            depth: 0,
            nested: false,
        };
        progress.update(&Event::Started {
            name: "w",
            file: "w.yaml",
            steps: 1,
        });
        progress.update(&started);
        progress.update(&Event::Step(&step("poll", 0)));
        progress.update(&started);
        let text = String::from_utf8(progress.into_inner()).unwrap();
        assert_eq!(text, "\r\x1b[2K⠿ 1/1 poll\r\x1b[2K⠿ 2 poll");
    }

    #[test]
    fn counts_files() {
        let mut progress = Progress::new(Vec::new(), 80);
        progress.files(2, 10);
        let text = String::from_utf8(progress.into_inner()).unwrap();
        assert_eq!(text, "\r\x1b[2K⠿ 2/10 files");
    }
}
