//! Diagnostics: one shape for every problem a user can act on, and its rendering.

use std::fmt::Write as _;
use std::sync::Arc;

use crate::span::{Source, Span, Spanned};

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// Stops the workflow from running.
    Error,
    /// Worth knowing; does not stop anything.
    Warning,
}

/// A problem with a place in a file, a short label under the carets, notes and a hint.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// One lower-case sentence saying what is wrong.
    pub title: String,
    /// The file the span points into, when there is one.
    pub source: Option<Arc<Source>>,
    /// Where the problem is.
    pub span: Span,
    /// A few words printed under the carets.
    pub label: String,
    /// The step the problem belongs to: its name and where it starts.
    pub step: Option<Spanned<String>>,
    /// Lines such as `expected: 200` and `found: 404`, printed after the snippet.
    pub notes: Vec<String>,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// Starts an error diagnostic with a title.
    pub fn error(title: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            title: title.into(),
            source: None,
            span: Span::default(),
            label: String::new(),
            step: None,
            notes: Vec::new(),
            help: None,
        }
    }

    /// Starts a warning diagnostic with a title.
    pub fn warning(title: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(title)
        }
    }

    /// Points the diagnostic at a span of a source, with a label under the carets.
    #[must_use]
    pub fn at(mut self, source: &Arc<Source>, span: Span, label: impl Into<String>) -> Diagnostic {
        self.source = Some(Arc::clone(source));
        self.span = span;
        self.label = label.into();
        self
    }

    /// Names the step the problem belongs to.
    #[must_use]
    pub fn in_step(mut self, step: Option<&Spanned<String>>) -> Diagnostic {
        self.step = step.cloned();
        self
    }

    /// Adds a note line.
    #[must_use]
    pub fn note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    /// Sets the hint.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Sets the hint when there is one.
    #[must_use]
    pub fn maybe_help(mut self, help: Option<String>) -> Diagnostic {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    /// Masks every secret the masker knows in the diagnostic's texts (minijinja's messages
    /// print the operands of a failed operation, for one).
    #[must_use]
    pub fn masked(mut self, masker: &crate::secret::Masker) -> Diagnostic {
        let mask = |text: &mut String| {
            if let std::borrow::Cow::Owned(masked) = masker.mask(text) {
                *text = masked;
            }
        };
        mask(&mut self.title);
        mask(&mut self.label);
        self.notes.iter_mut().for_each(mask);
        if let Some(help) = &mut self.help {
            mask(help);
        }
        self
    }

    /// Renders several diagnostics as the command line prints them: each one, then a blank
    /// line.
    pub fn render_all(diagnostics: &[Diagnostic], color: bool) -> String {
        let mut out = String::new();
        for diagnostic in diagnostics {
            out.push_str(&diagnostic.render(color));
            out.push('\n');
        }
        out
    }

    /// Renders the diagnostic as text, with ANSI colours when `color` is set.
    pub fn render(&self, color: bool) -> String {
        let paint = Paint(color);
        let mut out = String::new();
        let (word, tone) = match self.severity {
            Severity::Error => ("error", RED),
            Severity::Warning => ("warning", YELLOW),
        };
        let _ = writeln!(
            out,
            "{}{}",
            paint.wrap(tone, word),
            paint.wrap(BOLD, &format!(": {}", self.title))
        );
        let located = self.source.as_ref().filter(|_| self.span.is_known());
        let Some(source) = located else {
            if let Some(step) = &self.step {
                let _ = writeln!(
                    out,
                    "  {} in step `{}`",
                    paint.wrap(BLUE, "-->"),
                    step.value
                );
            }
            // Notes and help line up with `-->`: two spaces in.
            self.render_tail(&mut out, paint, 1);
            return out;
        };
        let mut lines: Vec<u32> = Vec::new();
        if let Some(step) = self.step.as_ref().filter(|s| s.span.line < self.span.line) {
            lines.push(step.span.line);
        }
        lines.push(self.span.line);
        let width = digits(self.span.line);
        let pad = " ".repeat(width);
        let _ = writeln!(
            out,
            "{pad}{} {}:{}",
            paint.wrap(BLUE, "-->"),
            source.name,
            self.span
        );
        let _ = writeln!(out, "{pad} {}", paint.wrap(BLUE, "|"));
        let mut previous: Option<u32> = None;
        for line in lines {
            if previous.is_some_and(|p| line > p + 1) {
                let _ = writeln!(out, "{pad} {}", paint.wrap(BLUE, "⋮"));
            }
            previous = Some(line);
            let text = source.line(line).unwrap_or("");
            let number = format!("{line:>width$}");
            let _ = writeln!(
                out,
                "{} {} {}",
                paint.wrap(BLUE, &number),
                paint.wrap(BLUE, "|"),
                text.replace('\t', " ")
            );
        }
        let text = source.line(self.span.line).unwrap_or("");
        let available = text.chars().count() + 1;
        let start = usize::try_from(self.span.column.max(1) - 1).unwrap_or(0);
        let len = usize::try_from(self.span.len.max(1))
            .unwrap_or(1)
            .min(available.saturating_sub(start).max(1));
        let carets = format!("{}{} {}", " ".repeat(start), "^".repeat(len), self.label);
        let _ = writeln!(
            out,
            "{pad} {} {}",
            paint.wrap(BLUE, "|"),
            paint.wrap(tone, carets.trim_end())
        );
        self.render_tail(&mut out, paint, width);
        out
    }

    fn render_tail(&self, out: &mut String, paint: Paint, width: usize) {
        let pad = " ".repeat(width);
        if self.step.is_some()
            && self.source.is_some()
            && self.span.is_known()
            && let Some(step) = &self.step
        {
            let _ = writeln!(
                out,
                "{pad} {} in step `{}`",
                paint.wrap(BLUE, "="),
                step.value
            );
        }
        for note in &self.notes {
            let mut first = true;
            for line in note.lines() {
                if first {
                    let _ = writeln!(out, "{pad} {} {line}", paint.wrap(BLUE, "="));
                    first = false;
                } else {
                    let _ = writeln!(out, "{pad}   {line}");
                }
            }
        }
        if let Some(help) = &self.help {
            let _ = writeln!(
                out,
                "{pad} {} {}{help}",
                paint.wrap(BLUE, "="),
                paint.wrap(BOLD, "help: ")
            );
        }
    }
}

fn digits(n: u32) -> usize {
    n.max(1).ilog10() as usize + 1
}

const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[1;33m";
const BLUE: &str = "\x1b[1;34m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// Wraps text in ANSI styles only when colour is on.
#[derive(Clone, Copy)]
struct Paint(bool);

impl Paint {
    fn wrap(self, style: &str, text: &str) -> String {
        if self.0 {
            format!("{style}{text}{RESET}")
        } else {
            text.to_owned()
        }
    }
}

/// Says why a JSON file does not parse, pointing at the line and column `serde_json` gives:
/// `` `WHAT` is not valid JSON: DETAIL at line L, column C ``.
pub fn json_syntax(source: &Arc<Source>, what: &str, error: &serde_json::Error) -> Diagnostic {
    let line = u32::try_from(error.line()).unwrap_or(0);
    let column = u32::try_from(error.column()).unwrap_or(0);
    let message = error.to_string();
    let detail = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(m, _)| m)
        .to_owned();
    let diagnostic = Diagnostic::error(format!(
        "`{what}` is not valid JSON: {detail} at line {line}, column {column}"
    ));
    if line > 0 {
        diagnostic.at(source, Span::new(line, column.max(1), 1), detail)
    } else {
        diagnostic
    }
}

/// Suggests the closest of `candidates` to `word`, when one is close enough to be a typo.
pub fn did_you_mean<'a, I>(word: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    closest(word, candidates).map(|c| format!("did you mean `{c}`?"))
}

/// Returns the candidate closest to `word`, when one is close enough to be a likely typo.
pub fn closest<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let distance = edit_distance(&word.to_lowercase(), &candidate.to_lowercase());
        let limit = (candidate.chars().count().max(word.chars().count()) / 3).max(1);
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_step_line_the_failing_line_and_carets() {
        let source = Source::new(
            "flow.yaml",
            "name: x\nsteps:\n  - name: one\n    request:\n      metod: GET\n",
        );
        let step = Spanned::new("one".to_owned(), Span::new(3, 5, 4));
        let text = Diagnostic::error("unknown key `metod` in `request`")
            .at(&source, Span::new(5, 7, 5), "unknown key")
            .in_step(Some(&step))
            .help("did you mean `method`?")
            .render(false);
        assert_eq!(
            text,
            "error: unknown key `metod` in `request`\n \
             --> flow.yaml:5:7\n  \
             |\n\
             3 |   - name: one\n  \
             ⋮\n\
             5 |       metod: GET\n  \
             |       ^^^^^ unknown key\n  \
             = in step `one`\n  \
             = help: did you mean `method`?\n"
        );
    }

    #[test]
    fn renders_a_diagnostic_without_a_place() {
        let step = Spanned::new("one".to_owned(), Span::new(3, 5, 4));
        let text = Diagnostic::error("no response")
            .in_step(Some(&step))
            .note("a note")
            .help("try again")
            .render(false);
        assert_eq!(
            text,
            "error: no response
  --> in step `one`
  = a note
  = help: try again
"
        );
    }

    #[test]
    fn suggests_close_names_only() {
        let keys = ["method", "url", "headers"];
        assert_eq!(
            did_you_mean("metod", keys).as_deref(),
            Some("did you mean `method`?")
        );
        assert_eq!(did_you_mean("zzzzzz", keys), None);
        assert_eq!(
            did_you_mean("Headers", keys).as_deref(),
            Some("did you mean `headers`?")
        );
    }
}
