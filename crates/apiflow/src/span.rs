//! Source positions: where in which file a value came from.

use std::fmt;
use std::sync::Arc;

/// A workflow file's name and text, shared by everything that points into it.
#[derive(Debug)]
pub struct Source {
    /// The path as the user gave it.
    pub name: String,
    /// The whole text of the file.
    pub text: String,
    /// Byte offset where each line starts, so a line is found without scanning the text.
    line_starts: Vec<usize>,
}

impl Source {
    /// Creates a source from a display name and its text.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Arc<Source> {
        let text = text.into();
        // One vectorised search for the line breaks: a `char` search costs a call per line,
        // a byte-by-byte filter several instructions a byte.
        let line_starts = std::iter::once(0)
            .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1))
            .collect();
        Arc::new(Source {
            name: name.into(),
            text,
            line_starts,
        })
    }

    /// Returns the text of a 1-based line, without its line break.
    pub fn line(&self, line: u32) -> Option<&str> {
        let index = usize::try_from(line).ok()?.checked_sub(1)?;
        let start = *self.line_starts.get(index)?;
        let end = self
            .line_starts
            .get(index + 1)
            .map_or(self.text.len(), |next| next - 1);
        let line = self.text.get(start..end)?;
        Some(line.strip_suffix('\r').unwrap_or(line))
    }
}

/// A place in a source file: 1-based line and column (in characters) and a length in characters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    /// 1-based line; 0 when unknown.
    pub line: u32,
    /// 1-based column counted in characters; 0 when unknown.
    pub column: u32,
    /// Length in characters (at least 1 when drawn).
    pub len: u32,
}

impl Span {
    /// Creates a span at a line and column with a length.
    pub const fn new(line: u32, column: u32, len: u32) -> Span {
        Span { line, column, len }
    }

    /// Tells whether the position is known.
    pub const fn is_known(self) -> bool {
        self.line > 0
    }

    /// Returns a span that starts `chars` characters further on the same line.
    #[must_use]
    pub fn shifted(self, chars: u32, len: u32) -> Span {
        Span {
            line: self.line,
            column: self.column + chars,
            len,
        }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A value together with the place it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

impl<T> Spanned<T> {
    /// Pairs a value with its span.
    pub const fn new(value: T, span: Span) -> Spanned<T> {
        Spanned { value, span }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_one_based_and_lose_their_breaks() {
        let source = Source::new("a.yaml", "one\r\ntwo\nthree");
        assert_eq!(source.line(1), Some("one"));
        assert_eq!(source.line(2), Some("two"));
        assert_eq!(source.line(3), Some("three"));
        assert_eq!(source.line(4), None);
        assert_eq!(source.line(0), None);
    }
}
