//! Where a batch's terminal output goes: the process's standard output and error, or buffers
//! that a test reads back.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex, PoisonError};

use crate::diagnostic::Diagnostic;
use crate::report::progress::Progress;

/// Standard output and error for a batch, with whether each is coloured.
#[derive(Clone, Debug)]
pub struct Console {
    /// Colour the workflows' output (standard output).
    pub color: bool,
    /// Colour diagnostics (standard error).
    pub color_err: bool,
    target: Target,
}

#[derive(Clone, Debug)]
enum Target {
    Std,
    Captured(Captured),
}

/// What a captured console received.
#[derive(Clone, Debug, Default)]
pub struct Captured {
    out: Arc<Mutex<Vec<u8>>>,
    err: Arc<Mutex<Vec<u8>>>,
}

impl Captured {
    /// Returns what was written to standard output, as text.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap_or_else(PoisonError::into_inner))
            .into_owned()
    }

    /// Returns what was written to standard error, as text.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.err.lock().unwrap_or_else(PoisonError::into_inner))
            .into_owned()
    }
}

impl Console {
    /// Writes to the process's standard output and error.
    pub fn std(color: bool, color_err: bool) -> Console {
        Console {
            color,
            color_err,
            target: Target::Std,
        }
    }

    /// Writes into buffers, uncoloured, and returns them to read back.
    pub fn captured() -> (Console, Captured) {
        let captured = Captured::default();
        let console = Console {
            color: false,
            color_err: false,
            target: Target::Captured(captured.clone()),
        };
        (console, captured)
    }

    /// Returns where one workflow's output goes: straight to standard output when `live`, a
    /// buffer printed when the run ends otherwise (parallel runs, so outputs do not
    /// interleave).
    pub(crate) fn sink(&self, live: bool) -> Sink {
        match (&self.target, live) {
            (_, false) => Sink::Buffer(Vec::new()),
            (Target::Std, true) if std::io::stdout().is_terminal() => Sink::Live(std::io::stdout()),
            (Target::Std, true) => Sink::Piped(std::io::BufWriter::with_capacity(
                64 * 1024,
                std::io::stdout(),
            )),
            (Target::Captured(captured), true) => Sink::Captured(Arc::clone(&captured.out)),
        }
    }

    /// Writes bytes to standard output.
    pub(crate) fn out(&self, bytes: &[u8]) {
        match &self.target {
            Target::Std => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(bytes);
                let _ = out.flush();
            }
            Target::Captured(captured) => captured
                .out
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend_from_slice(bytes),
        }
    }

    /// Writes diagnostics to standard error, one after another, coloured as `color` says.
    pub(crate) fn diagnostics(&self, diagnostics: &[Diagnostic], color: bool) {
        self.err(Diagnostic::render_all(diagnostics, color).as_bytes());
    }

    /// Writes bytes to standard error.
    pub(crate) fn err(&self, bytes: &[u8]) {
        match &self.target {
            Target::Std => {
                let _ = std::io::stderr().lock().write_all(bytes);
            }
            Target::Captured(captured) => captured
                .err
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend_from_slice(bytes),
        }
    }

    /// Returns the progress line on standard error, when it is a terminal that wants one.
    pub(crate) fn progress(&self) -> Option<Progress<std::io::Stderr>> {
        match self.target {
            Target::Std => Progress::stderr(),
            Target::Captured(_) => None,
        }
    }
}

/// Where one workflow's terminal output goes.
pub(crate) enum Sink {
    Live(std::io::Stdout),
    /// Stdout when it is not a terminal: written in blocks, flushed when the run ends.
    Piped(std::io::BufWriter<std::io::Stdout>),
    Buffer(Vec<u8>),
    Captured(Arc<Mutex<Vec<u8>>>),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Live(out) => out.write(buf),
            Sink::Piped(out) => out.write(buf),
            Sink::Buffer(buffer) => buffer.write(buf),
            Sink::Captured(out) => {
                out.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .extend_from_slice(buf);
                Ok(buf.len())
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Live(out) => out.flush(),
            // Nobody watches a pipe line by line; the buffer is flushed when it is dropped.
            Sink::Piped(_) | Sink::Buffer(_) | Sink::Captured(_) => Ok(()),
        }
    }
}

impl Sink {
    /// Returns what a buffered sink holds (nothing for the others: they wrote as they went).
    pub(crate) fn into_buffer(self) -> Vec<u8> {
        match self {
            Sink::Live(_) | Sink::Piped(_) | Sink::Captured(_) => Vec::new(),
            Sink::Buffer(buffer) => buffer,
        }
    }
}
