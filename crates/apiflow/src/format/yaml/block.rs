//! The fast path: a line reader for the block YAML workflows are written in.
//!
//! Most workflows are block mappings and sequences of one-line scalars, one-line flow
//! collections and block scalars (`|`, `>`). Reading those needs no general YAML scanner: this
//! walks the lines once and builds the tree serde-saphyr builds, with the same positions.
//! Anything else (multi-line plain, quoted or flow scalars, anchors, tags, complex keys, tabs,
//! document markers, escapes it does not know…) makes it give up, and serde-saphyr reads the
//! text instead.

use std::borrow::Cow;

use super::resolve::plain;
use super::scan::{
    Chomping, Cursor, block_header, escape, find_colon, plain_end, plain_may_start, skip_spaces,
};
use super::{Key, Node, NodeKind, key_of};
use crate::span::Span;

/// The deepest nesting of mappings and sequences serde-saphyr's default budget accepts.
pub(super) const MAX_DEPTH: usize = 64;

/// The most nodes read before giving up, well inside serde-saphyr's default budget of
/// 250 000 nodes and 1 000 000 events.
const MAX_NODES: usize = 100_000;

/// The longest key granit-parser looks ahead for; longer ones are left to serde-saphyr.
const MAX_KEY_LEN: usize = 1000;

/// Builds the node tree of `text`, or returns `None` when a slower reader must decide.
pub(super) fn parse(text: &str) -> Option<Node<'_>> {
    if !is_plain_text(text) {
        return None;
    }
    let lines = content_lines(text)?;
    let indent = lines.first()?.indent;
    let mut reader = Reader {
        text,
        bytes: text.as_bytes(),
        lines,
        at: 0,
        nodes: 0,
        entries: Vec::new(),
        items: Vec::new(),
    };
    let first = reader.lines[0];
    let root = if reader.is_item(0) {
        reader.seq(indent, 1, false)?
    } else if matches!(reader.bytes[first.start], b'[' | b'{') {
        reader.at += 1;
        reader.value(&first, first.start, 1)?
    } else {
        reader.map(indent, 1, None)?
    };
    (reader.at == reader.lines.len()).then_some(root)
}

/// Tells whether the text holds nothing this reader leaves to serde-saphyr's checks: tabs,
/// carriage returns, a byte order mark, or characters YAML does not allow.
fn is_plain_text(text: &str) -> bool {
    // Whole chunks at a time, without stopping at the first bad byte, so the check is
    // vectorised.
    let allowed = |b: u8| (b >= 0x20 && b != 0x7f) || b == b'\n';
    let bytes_ok = text
        .as_bytes()
        .chunks(64)
        .all(|chunk| chunk.iter().fold(true, |ok, &b| ok & allowed(b)));
    bytes_ok
        && (text.is_ascii()
            || text.chars().all(|c| {
                !matches!(
                    c,
                    '\u{80}'..='\u{9f}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
                )
            }))
}

/// A line with content: not blank and not only a comment.
#[derive(Clone, Copy, Debug)]
struct Line {
    /// Where the line starts in the text.
    begin: usize,
    /// Where its content starts: after its indentation, or after the `- ` of a sequence item
    /// whose content is read as a node of its own.
    start: usize,
    /// Where it ends, before the line break.
    end: usize,
    /// The column of `start`, counted from 0 (only spaces and `- ` come before it).
    indent: usize,
    /// The line number, from 1.
    number: u32,
    /// Whether the line is ASCII, so that columns are byte offsets.
    ascii: bool,
}

/// Splits the text into its content lines; gives up on document markers and directives.
fn content_lines(text: &str) -> Option<Vec<Line>> {
    // Room for lines of about 24 bytes, so that a long file's list grows a few times only.
    let mut lines = Vec::with_capacity(text.len() / 24 + 1);
    let all_ascii = text.is_ascii();
    let mut begin = 0;
    // The line breaks found by one vectorised search, then the end of the text.
    let ends = memchr::memchr_iter(b'\n', text.as_bytes()).chain(std::iter::once(text.len()));
    let bytes = text.as_bytes();
    for (index, end) in ends.enumerate() {
        let line = &bytes[begin..end];
        let indent = line.iter().take_while(|&&b| b == b' ').count();
        // Document markers and directives start at the first column.
        if indent == 0
            && (line.starts_with(b"---") || line.starts_with(b"...") || line.first() == Some(&b'%'))
        {
            return None;
        }
        if indent < line.len() && line[indent] != b'#' {
            lines.push(Line {
                begin,
                start: begin + indent,
                end,
                indent,
                number: u32::try_from(index + 1).ok()?,
                ascii: all_ascii || line.is_ascii(),
            });
        }
        begin = end + 1;
    }
    Some(lines)
}

/// How a line starts: with a key (and where its colon is) or with a value.
enum Start<'a> {
    Key(Node<'a>, usize),
    Value,
}

/// The lines and the count of nodes read so far.
struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    lines: Vec<Line>,
    /// The line being read.
    at: usize,
    /// Nodes read, to give up on huge documents.
    nodes: usize,
    /// The entries and items of the collections being read, innermost last. Each collection
    /// takes its own off the end once complete, in a vector of its exact size: a vector grown
    /// one push at a time holds room for four, and most mappings of a workflow have one or two
    /// entries.
    entries: Vec<(Key<'a>, Node<'a>)>,
    items: Vec<Node<'a>>,
}

impl<'a> Reader<'a> {
    /// The line being read, if any is left.
    fn line(&self) -> Option<Line> {
        self.lines.get(self.at).copied()
    }

    /// Tells whether line `at` is a sequence item: `-` then a space or the line's end.
    fn is_item(&self, at: usize) -> bool {
        self.lines.get(at).is_some_and(|line| {
            self.bytes.get(line.start) == Some(&b'-')
                && (line.start + 1 == line.end || self.bytes.get(line.start + 1) == Some(&b' '))
        })
    }

    /// Counts a node, giving up on huge documents.
    fn count(&mut self) -> Option<()> {
        self.nodes += 1;
        (self.nodes <= MAX_NODES).then_some(())
    }

    /// The span of `len` characters at byte `at` of `line`.
    fn span(&self, line: &Line, at: usize, len: usize) -> Option<Span> {
        let column = if line.ascii {
            at.checked_sub(line.begin)?
        } else {
            self.text.get(line.begin..at)?.chars().count()
        };
        Some(Span::new(
            line.number,
            u32::try_from(column + 1).ok()?,
            u32::try_from(len.max(1)).ok()?,
        ))
    }

    /// Reads a block sequence whose items start with `-` at column `indent`. An indentless
    /// sequence (a mapping value whose items line up with the key) starts where its first item
    /// does, as granit-parser marks it.
    fn seq(&mut self, indent: usize, depth: usize, indentless: bool) -> Option<Node<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.count()?;
        let first = self.line()?;
        let mut span = self.span(&first, first.start, 1)?;
        let start = self.items.len();
        while let Some(line) = self.line() {
            if line.indent != indent || !self.is_item(self.at) {
                if line.indent > indent {
                    return None;
                }
                break;
            }
            let after = skip_spaces(self.bytes, line.start + 1, line.end);
            let item = if self.is_blank(&line, after) {
                let empty = self.span(&line, line.end, 1)?;
                self.below(indent, depth + 1, empty, false)?
            } else if matches!(self.bytes[after], b'|' | b'>') {
                self.block_scalar(&line, after, indent)?
            } else {
                // The item's content is read as if its line started there.
                let column = indent + (after - line.start);
                self.lines[self.at].start = after;
                self.lines[self.at].indent = column;
                self.inline_or_block(column, indent, depth + 1)?
            };
            if indentless && self.items.len() == start {
                // A block scalar's node starts at its first content line, its token at the
                // header.
                span = if self.is_blank(&line, after) {
                    self.span(&line, line.end, 1)?
                } else if matches!(self.bytes[after], b'|' | b'>') {
                    self.span(&line, after, 1)?
                } else {
                    Span::new(item.span.line, item.span.column, 1)
                };
            }
            self.items.push(item);
        }
        Some(Node {
            kind: NodeKind::Seq(self.items.drain(start..).collect()),
            span,
        })
    }

    /// Reads the node that starts the current line at column `indent`: a sequence, a mapping
    /// or a one-line value, after which no line may be indented deeper than `limit`.
    fn inline_or_block(&mut self, indent: usize, limit: usize, depth: usize) -> Option<Node<'a>> {
        let line = self.line()?;
        if self.is_item(self.at) {
            return self.seq(indent, depth, false);
        }
        if let Start::Key(key, colon) = self.key(&line)? {
            return self.map(indent, depth, Some((key, colon)));
        }
        let value = self.value(&line, line.start, depth)?;
        self.at += 1;
        self.end_of_value(limit)?;
        Some(value)
    }

    /// Tells whether `line` holds nothing from byte `at` on but, perhaps, a comment.
    fn is_blank(&self, line: &Line, at: usize) -> bool {
        at == line.end || self.bytes[at] == b'#'
    }

    /// Reads the node of a key or an item whose line holds nothing more, from the lines below:
    /// one indented deeper than `indent`, a sequence lined up with the key (`after_key` only),
    /// or else null, at `empty`.
    fn below(
        &mut self,
        indent: usize,
        depth: usize,
        empty: Span,
        after_key: bool,
    ) -> Option<Node<'a>> {
        self.at += 1;
        match self.line() {
            Some(next) if next.indent > indent => self.inline_or_block(next.indent, indent, depth),
            Some(next) if after_key && next.indent == indent && self.is_item(self.at) => {
                self.seq(indent, depth, true)
            }
            _ => {
                self.count()?;
                Some(Node {
                    kind: NodeKind::Null,
                    span: empty,
                })
            }
        }
    }

    /// Gives up unless the next line is indented no deeper than `limit`: a deeper line would
    /// continue a multi-line scalar, or be an error.
    fn end_of_value(&self, limit: usize) -> Option<()> {
        match self.line() {
            Some(next) if next.indent > limit => None,
            _ => Some(()),
        }
    }

    /// Reads a block mapping whose keys start at column `indent`; `first` is its first key
    /// and colon when the caller has read them already.
    fn map(
        &mut self,
        indent: usize,
        depth: usize,
        mut first_key: Option<(Node<'a>, usize)>,
    ) -> Option<Node<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.count()?;
        let first = self.line()?;
        let span = self.span(&first, first.start, 1)?;
        let start = self.entries.len();
        while let Some(line) = self.line() {
            if line.indent != indent || self.is_item(self.at) {
                if line.indent > indent {
                    return None;
                }
                break;
            }
            let (key, colon) = match first_key.take() {
                Some(read) => read,
                None => match self.key(&line)? {
                    Start::Key(key, colon) => (key, colon),
                    Start::Value => return None,
                },
            };
            if !matches!(key.kind, NodeKind::Str(_) | NodeKind::Int(_)) {
                return None;
            }
            let after = skip_spaces(self.bytes, colon + 1, line.end);
            let value = if self.is_blank(&line, after) {
                let empty = self.span(&line, colon, 1)?;
                self.below(indent, depth + 1, empty, true)?
            } else if matches!(self.bytes[after], b'|' | b'>') {
                let value = self.block_scalar(&line, after, indent)?;
                self.end_of_value(indent)?;
                value
            } else {
                let value = self.value(&line, after, depth + 1)?;
                self.at += 1;
                self.end_of_value(indent)?;
                value
            };
            self.entries.push((key_of(key), value));
        }
        if has_repeated_keys(&self.entries[start..]) {
            return None;
        }
        Some(Node {
            kind: NodeKind::Map(self.entries.drain(start..).collect()),
            span,
        })
    }

    /// Reads the key a line starts with and where its colon is, or tells that the line holds
    /// no key; `None` to give up.
    fn key(&mut self, line: &Line) -> Option<Start<'a>> {
        let bytes = self.bytes;
        let start = line.start;
        let (node, end) = match bytes.get(start) {
            Some(b'\'' | b'"') => self.quoted(line, start)?,
            Some(_) if plain_may_start(bytes, start, line.end, false) => {
                let Some(colon) = find_colon(bytes, start, line.end) else {
                    return Some(Start::Value);
                };
                let text = self.text.get(start..colon)?;
                if text.ends_with(' ') || text.len() > MAX_KEY_LEN || text == "<<" {
                    return None;
                }
                self.count()?;
                let span = self.span(line, start, width(line, text))?;
                (
                    Node {
                        kind: plain(Cow::Borrowed(text))?,
                        span,
                    },
                    colon,
                )
            }
            _ => return Some(Start::Value),
        };
        if end >= line.end || bytes[end] != b':' {
            return Some(Start::Value);
        }
        // `"a":b` is left to serde-saphyr.
        if (end + 1 < line.end && bytes[end + 1] != b' ') || end - start > MAX_KEY_LEN {
            return None;
        }
        Some(Start::Key(node, end))
    }

    /// Reads a one-line value at byte `at` of `line`: a quoted scalar, a flow collection or a
    /// plain scalar, then nothing but a comment.
    fn value(&mut self, line: &Line, at: usize, depth: usize) -> Option<Node<'a>> {
        let bytes = self.bytes;
        let (node, end) = match bytes.get(at)? {
            b'\'' | b'"' => self.quoted(line, at)?,
            b'[' | b'{' => self.flow(line, at, depth)?,
            _ if plain_may_start(bytes, at, line.end, false) => {
                let end = plain_end(bytes, at, line.end);
                let text = self.text.get(at..end)?.trim_end_matches(' ');
                // `a: b: c` and `a: b:` are errors, left to be reported.
                let bytes = text.as_bytes();
                let colon_space =
                    memchr::memchr_iter(b':', bytes).any(|i| bytes.get(i + 1) == Some(&b' '));
                if colon_space || text.ends_with(':') {
                    return None;
                }
                self.count()?;
                let span = self.span(line, at, width(line, text))?;
                return Some(Node {
                    kind: plain(Cow::Borrowed(text))?,
                    span,
                });
            }
            _ => return None,
        };
        let rest = skip_spaces(bytes, end, line.end);
        let ends = rest == line.end || (rest > end && bytes[rest] == b'#');
        ends.then_some(node)
    }

    /// Reads the block scalar whose header (`|` or `>` and its indicators) is at byte `at` of
    /// `line`, the value of an entry of a block collection at column `parent`, and moves past
    /// the lines it takes.
    ///
    /// This follows the scanner of granit-parser, which serde-saphyr reads with, step by step.
    /// The indentation is `parent` plus the indentation indicator, or else that of the deepest
    /// of the leading empty lines and the first content line, and at least `parent + 1`. The
    /// node spans from the first content line's indentation to where the scanner stops: past
    /// the trailing empty lines and the indentation of the line after them, or from the header
    /// for a scalar without content lines at the end of the text. Errors (a malformed header, a
    /// first line less indented than the indicator says) are left to serde-saphyr.
    fn block_scalar(&mut self, line: &Line, at: usize, parent: usize) -> Option<Node<'a>> {
        let bytes = self.bytes;
        let literal = bytes[at] == b'|';
        let (chomping, increment) = block_header(bytes, at + 1, line.end)?;
        if line.end == bytes.len() {
            return self.empty_block_scalar(line, at, String::new());
        }
        let mut cursor = Cursor {
            pos: line.end,
            begin: line.begin,
            number: line.number,
        };
        cursor.next_line();
        // Line breaks of empty lines not yet added to the text.
        let mut breaks = 0;
        let indent = if increment > 0 {
            parent + increment
        } else {
            let mut deepest = 0;
            loop {
                cursor.pos = skip_spaces(bytes, cursor.pos, bytes.len());
                deepest = deepest.max(cursor.column());
                if bytes.get(cursor.pos) != Some(&b'\n') {
                    break;
                }
                cursor.next_line();
                breaks += 1;
            }
            deepest.max(parent + 1)
        };
        breaks += cursor.skip_indentation(bytes, indent);
        if cursor.pos == bytes.len() {
            let value = match chomping {
                // Spaces on the last line stand for a line break.
                Chomping::Keep if breaks == 0 && cursor.column() > 0 => "\n".to_owned(),
                Chomping::Keep => "\n".repeat(breaks),
                Chomping::Strip | Chomping::Clip => String::new(),
            };
            return self.empty_block_scalar(line, at, value);
        }
        let column = cursor.column();
        if column < indent && column > parent {
            return None;
        }
        let start = cursor;
        let value = self.block_text(&mut cursor, indent, breaks, literal, chomping)?;
        // The lines before the one the scan stopped in belong to the scalar.
        let next = if cursor.pos == bytes.len() {
            cursor.pos
        } else {
            cursor.begin
        };
        while self.line().is_some_and(|line| line.begin < next) {
            self.at += 1;
        }
        self.count()?;
        let len = chars(self.text.get(start.pos..cursor.pos)?);
        Some(Node {
            kind: NodeKind::Str(Cow::Owned(value)),
            span: Span::new(
                start.number,
                u32::try_from(start.column() + 1).ok()?,
                u32::try_from(len.max(1)).ok()?,
            ),
        })
    }

    /// Ends the text with a block scalar that has no content line, whose header is at byte `at`
    /// of `line`: the node spans from its header to the end of the text.
    fn empty_block_scalar(&mut self, line: &Line, at: usize, value: String) -> Option<Node<'a>> {
        self.at = self.lines.len();
        self.count()?;
        let span = self.span(line, at, chars(self.text.get(at..)?))?;
        Some(Node {
            kind: NodeKind::Str(Cow::Owned(value)),
            span,
        })
    }

    /// Reads the content lines of a block scalar from `cursor`, indented by `indent`, after
    /// `breaks` empty lines, as granit-parser's scanner does: each loses its indentation; `>`
    /// folds a line break between two lines that do not start with a space into a space;
    /// then the chomping indicator decides the final line breaks.
    fn block_text(
        &self,
        cursor: &mut Cursor,
        indent: usize,
        mut breaks: usize,
        literal: bool,
        chomping: Chomping,
    ) -> Option<String> {
        let bytes = self.bytes;
        let mut out = String::new();
        let mut leading_break = false;
        let mut leading_blank = false;
        while cursor.column() == indent && cursor.pos < bytes.len() {
            let blank = bytes[cursor.pos] == b' ';
            if !literal && leading_break && !leading_blank && !blank {
                if breaks == 0 {
                    out.push(' ');
                }
            } else if leading_break {
                out.push('\n');
            }
            out.extend(std::iter::repeat_n('\n', breaks));
            (leading_break, leading_blank, breaks) = (false, blank, 0);
            let end = bytes[cursor.pos..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |offset| cursor.pos + offset);
            out.push_str(self.text.get(cursor.pos..end)?);
            cursor.pos = end;
            if end == bytes.len() {
                break;
            }
            cursor.next_line();
            leading_break = true;
            breaks = cursor.skip_indentation(bytes, indent);
        }
        // A last content line without a line break ends as if it had one.
        if chomping != Chomping::Strip && (leading_break || cursor.pos == bytes.len()) {
            out.push('\n');
        }
        if chomping == Chomping::Keep {
            out.extend(std::iter::repeat_n('\n', breaks));
        }
        Some(out)
    }

    /// Reads a quoted scalar that ends on its line; returns it and the byte after its closing
    /// quote.
    fn quoted(&mut self, line: &Line, at: usize) -> Option<(Node<'a>, usize)> {
        let bytes = self.bytes;
        let quote = *bytes.get(at)?;
        // The text as written, borrowed, until an escape makes it differ.
        let mut unescaped: Option<String> = None;
        let mut from = at + 1;
        let mut i = from;
        loop {
            match *bytes.get(i).filter(|_| i < line.end)? {
                b'\'' if quote == b'\'' => {
                    if bytes.get(i + 1) == Some(&b'\'') && i + 1 < line.end {
                        let text = unescaped.get_or_insert_with(String::new);
                        text.push_str(self.text.get(from..=i)?);
                        i += 2;
                        from = i;
                        continue;
                    }
                    break;
                }
                b'"' if quote == b'"' => break,
                b'\\' if quote == b'"' => {
                    let text = unescaped.get_or_insert_with(String::new);
                    text.push_str(self.text.get(from..i)?);
                    let (c, len) = escape(bytes, i + 1, line.end)?;
                    text.push(c);
                    i += 1 + len;
                    from = i;
                }
                _ => i += 1,
            }
        }
        let rest = self.text.get(from..i)?;
        let text = match unescaped {
            Some(mut text) => {
                text.push_str(rest);
                Cow::Owned(text)
            }
            None => Cow::Borrowed(rest),
        };
        self.count()?;
        let len = width(line, self.text.get(at..=i)?);
        let span = self.span(line, at, len)?;
        let node = Node {
            kind: NodeKind::Str(text),
            span,
        };
        Some((node, i + 1))
    }

    /// Reads a flow sequence or mapping that closes on its line; returns it and the byte after
    /// its closing bracket.
    fn flow(&mut self, line: &Line, at: usize, depth: usize) -> Option<(Node<'a>, usize)> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.count()?;
        let bytes = self.bytes;
        let span = self.span(line, at, 1)?;
        let close = if bytes[at] == b'[' { b']' } else { b'}' };
        let mut i = skip_spaces(bytes, at + 1, line.end);
        let (first_item, first_entry) = (self.items.len(), self.entries.len());
        if bytes.get(i) == Some(&close) {
            i += 1;
        } else {
            loop {
                if close == b'}' {
                    let (key, colon) = self.flow_node(line, i, depth + 1)?;
                    if !matches!(key.kind, NodeKind::Str(_) | NodeKind::Int(_))
                        || colon - i > MAX_KEY_LEN
                        || bytes.get(colon) != Some(&b':')
                        || bytes.get(colon + 1) != Some(&b' ')
                    {
                        return None;
                    }
                    let after = skip_spaces(bytes, colon + 1, line.end);
                    let (value, end) = if matches!(bytes.get(after), Some(b',' | b'}')) {
                        self.count()?;
                        let span = self.span(line, colon, 1)?;
                        let null = Node {
                            kind: NodeKind::Null,
                            span,
                        };
                        (null, after)
                    } else {
                        self.flow_node(line, after, depth + 1)?
                    };
                    self.entries.push((key_of(key), value));
                    i = end;
                } else {
                    let (item, end) = self.flow_node(line, i, depth + 1)?;
                    self.items.push(item);
                    i = end;
                }
                i = skip_spaces(bytes, i, line.end);
                match bytes.get(i).filter(|_| i < line.end)? {
                    b',' => {
                        i = skip_spaces(bytes, i + 1, line.end);
                        // A trailing comma is left to serde-saphyr.
                        if bytes.get(i) == Some(&close) {
                            return None;
                        }
                    }
                    c if *c == close => {
                        i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        let kind = if close == b']' {
            NodeKind::Seq(self.items.drain(first_item..).collect())
        } else {
            if has_repeated_keys(&self.entries[first_entry..]) {
                return None;
            }
            NodeKind::Map(self.entries.drain(first_entry..).collect())
        };
        Some((Node { kind, span }, i))
    }

    /// Reads a node inside a flow collection; returns it and the byte after it (for a plain
    /// scalar, the byte after its last non-space character).
    fn flow_node(&mut self, line: &Line, at: usize, depth: usize) -> Option<(Node<'a>, usize)> {
        let bytes = self.bytes;
        match bytes.get(at).filter(|_| at < line.end)? {
            b'\'' | b'"' => self.quoted(line, at),
            b'[' | b'{' => self.flow(line, at, depth),
            _ if plain_may_start(bytes, at, line.end, true) => {
                let mut end = at;
                loop {
                    end += bytes[end..line.end]
                        .iter()
                        .position(|b| matches!(b, b',' | b'[' | b']' | b'{' | b'}' | b':' | b'#'))
                        .unwrap_or(line.end - end);
                    match bytes.get(end).filter(|_| end < line.end) {
                        None | Some(b',' | b']' | b'}') => break,
                        Some(b'[' | b'{') => return None,
                        // A colon followed by a space or a flow indicator ends the scalar;
                        // one followed by anything else is part of it, as in a URL.
                        Some(b':')
                            if end + 1 == line.end
                                || matches!(
                                    bytes[end + 1],
                                    b' ' | b',' | b'[' | b']' | b'{' | b'}'
                                ) =>
                        {
                            break;
                        }
                        Some(b'#') if bytes[end - 1] == b' ' => return None,
                        Some(_) => end += 1,
                    }
                }
                let text = self.text.get(at..end)?.trim_end_matches(' ');
                // `<<` may be a merge key.
                if text == "<<" {
                    return None;
                }
                self.count()?;
                let span = self.span(line, at, width(line, text))?;
                let node = Node {
                    kind: plain(Cow::Borrowed(text))?,
                    span,
                };
                Some((node, at + text.len()))
            }
            _ => None,
        }
    }
}

/// Tells whether two keys have the same name. Such mappings are left to serde-saphyr, which
/// tells keys apart by more than their text: it rejects `a` and `'a'` as duplicates but keeps
/// both `1` and `'1'`.
fn has_repeated_keys(entries: &[(Key<'_>, Node<'_>)]) -> bool {
    let name = |index: usize| entries[index].0.name.as_ref();
    // Most mappings have a handful of keys: comparing each pair needs no allocation.
    if entries.len() <= 16 {
        return (0..entries.len()).any(|i| (i + 1..entries.len()).any(|j| name(i) == name(j)));
    }
    let mut names: Vec<&str> = (0..entries.len()).map(name).collect();
    names.sort_unstable();
    names.windows(2).any(|pair| pair[0] == pair[1])
}

/// How many characters `text` has.
fn chars(text: &str) -> usize {
    if text.is_ascii() {
        text.len()
    } else {
        text.chars().count()
    }
}

/// How many characters `text`, a piece of `line`, has.
fn width(line: &Line, text: &str) -> usize {
    if line.ascii {
        text.len()
    } else {
        text.chars().count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::Source;

    /// Reads `text` with the block reader and checks it built what serde-saphyr builds.
    fn reads(text: &str) -> bool {
        let Some(quick) = parse(text) else {
            return false;
        };
        let slow = super::super::parse_with_serde(&Source::new("t.yaml", text)).ok();
        assert_eq!(
            Some(quick),
            slow,
            "the block reader and serde-saphyr differ for {text:?}"
        );
        true
    }

    /// Reads `text`, checks the tree against serde-saphyr's and returns the text of its first
    /// value, a block scalar.
    fn block_scalar(text: &str) -> String {
        assert!(reads(text), "gave up on {text:?}");
        let Some(Node {
            kind: NodeKind::Map(entries),
            ..
        }) = parse(text)
        else {
            panic!("not a mapping: {text:?}")
        };
        match &entries[0].1.kind {
            NodeKind::Str(value) => value.to_string(),
            other => panic!("not text: {other:?}"),
        }
    }

    #[test]
    fn chomps_block_scalars_as_their_indicator_says() {
        for (header, literal, folded) in [
            ("", "a\n b\n\nc\n", "a\n b\n\nc\n"),
            ("-", "a\n b\n\nc", "a\n b\n\nc"),
            ("+", "a\n b\n\nc\n\n\n", "a\n b\n\nc\n\n\n"),
        ] {
            let lines = "\n  a\n   b\n\n  c\n\n  \nnext: 1\n";
            assert_eq!(block_scalar(&format!("k: |{header}{lines}")), literal);
            assert_eq!(block_scalar(&format!("k: >{header}{lines}")), folded);
        }
        assert_eq!(block_scalar("k: >\n  a\n  b\n\n  c\n  d\n"), "a b\nc d\n");
        assert_eq!(block_scalar("k: >-\n  a\n\n\n  b\n"), "a\n\nb");
    }

    #[test]
    fn indents_block_scalars_as_their_indicator_says() {
        assert_eq!(block_scalar("k: |2\n    more\n  less\n"), "  more\nless\n");
        assert_eq!(block_scalar("k: |1-\n   x\n y\n"), "  x\ny");
        assert_eq!(block_scalar("k: >-1\n   x\n y\n"), "  x\ny");
        assert_eq!(block_scalar("k: |+3\n     x\n\n"), "  x\n\n");
        assert!(reads("k:\n  - |1\n     x\n  - y\n"));
        assert!(reads(
            "- k: |2-\n      x\n  j: >+1\n     y\n\n- |3\n     z\n"
        ));
    }

    #[test]
    fn keeps_the_lines_around_block_scalars() {
        // Whitespace lines deeper than the indentation hold text.
        assert_eq!(block_scalar("k: |+\n  a\n  \n   \n\nb: 1\n"), "a\n\n \n\n");
        // Comments after the header and after the content end nothing but the header.
        assert_eq!(
            block_scalar("k: > # folded\n  a\n  # text\n\n# done\n\nb: 1\n"),
            "a # text\n"
        );
        assert_eq!(block_scalar("k: |+\n  a\n\n # done\n\nb: 1\n"), "a\n\n");
        assert_eq!(block_scalar("k:   |-   # strip\n\n\n  a\n"), "\n\na");
        assert_eq!(block_scalar("k: |\nb: 1\n"), "");
        assert_eq!(block_scalar("k: >+\n\nb: 1\n"), "\n");
        assert_eq!(
            block_scalar("k: >\n  héllo\n  wörld\n  ünïcode\nn: 1\n"),
            "héllo wörld ünïcode\n"
        );
    }

    #[test]
    fn reads_a_block_scalar_at_the_end_of_the_text() {
        for (text, value) in [
            ("k: |\n  a\n", "a\n"),
            ("k: |\n  a", "a\n"),
            ("k: |-\n  a", "a"),
            ("k: >+\n  a", "a\n"),
            ("k: |+\n  a\n\n\n", "a\n\n\n"),
            ("k: |+\n  a\n\n  ", "a\n\n"),
            ("k: >\n  a\n    ", "a\n  \n"),
            ("k: >-\n  a\n  b\n\n", "a b"),
            ("k: |", ""),
            ("k: >+ # keep", ""),
            ("k: |\n", ""),
            ("k: |\n  \n", ""),
            ("k: |+\n\n\n", "\n\n"),
            ("k: |+\n  ", "\n"),
            ("k: >+2\n \n", "\n"),
            ("k: |-\n\n", ""),
            ("k: |+\n  \n   ", "\n"),
        ] {
            assert_eq!(block_scalar(text), value, "{text:?}");
        }
        for text in [
            "- >\n  a\n  b",
            "- a\n- |\n  b\n",
            "a:\n- |\n  b\n- c\n",
            "a:\n  b:\n  - x: |+\n      y\n\n",
            "a:\n- |+\n\n",
            "- >-",
            "a:\n  - b: |\n",
        ] {
            assert!(reads(text), "gave up on {text:?}");
        }
    }

    #[test]
    fn leaves_keys_longer_than_granit_parser_looks_ahead_to_it() {
        // granit-parser looks 1024 characters ahead for the colon of a key.
        let short = MAX_KEY_LEN - 10;
        for len in [short, 1030] {
            let key = "k".repeat(len);
            for text in [
                format!("{key}: v\n"),
                format!("\"{key}\": v\n"),
                format!("a: {{{key}: v}}\n"),
                format!("a: {{'{key}': v}}\n"),
            ] {
                let slow = super::super::parse_with_serde(&Source::new("t.yaml", text.as_str()));
                assert_eq!(reads(&text), len == short, "{text:?}");
                assert_eq!(slow.is_ok(), len == short, "{text:?}");
            }
        }
    }

    #[test]
    fn reads_the_shipped_workflows() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../workflows");
        for name in [
            "oidc_authorization_code.yaml",
            "refresh_token.yaml",
            "pingone/setup.yaml",
            "pingone/sign_on.yaml",
            "pingone/tokens.yaml",
        ] {
            let text = std::fs::read_to_string(format!("{root}/{name}")).expect("a workflow");
            assert!(reads(&text), "gave up on {name}");
        }
    }

    #[test]
    fn reads_the_benchmark_workloads() {
        for name in ["chain_100.yaml", "chain_1000.yaml", "startup.yaml"] {
            let path = format!(
                "{}/../../benches/workloads/{name}",
                env!("CARGO_MANIFEST_DIR")
            );
            let text = std::fs::read_to_string(&path).expect("a workload");
            assert!(reads(&text), "gave up on {name}");
        }
    }

    #[test]
    fn keeps_the_positions_serde_saphyr_gives() {
        for text in [
            "name: demo\nsteps:\n  - url: x\n    expect: { status: 200 }\n",
            "steps:\n- name: a\n  url: x\n- name: b\n",
            "a:\n-   f\n- 'g'\n",
            "a:\n- - x\n  - y\n- {k: v}\n",
            "a:\n-\n  x\n-\n- y\n",
            "- a:\n  b: 1\n-   # empty\n- - - deep\n",
            "a:    # nothing\nb: 'é' # ü\n'c':\nd: {e: , f: [1, 'two', \"three\"]}\n",
            "clé: \"über \\\"q\\\" \\u00e9\\n\"\nn: -12\nf: 2.5\nt: true\nz: ~\n",
            "  indented: root\n  second: 2\n",
            "[a, {b: c}, []]\n",
            "a: x#y\nb: http://h:80/p?q=1#f\nc: 'it''s'\n200: ok\n",
            "# lead\n\na: 1\n\n   # indented comment\nb:\n  c: 2\n",
            "request: { url: http://127.0.0.1:8080/items, at: 12:30 }\n",
            "a: [http://h/p, {k: a:b}, 'c:d', x:y:z]\n",
        ] {
            assert!(reads(text), "gave up on {text:?}");
        }
    }

    #[test]
    fn leaves_the_rest_to_the_other_readers() {
        let long = "k".repeat(MAX_KEY_LEN + 1);
        let long_key = format!("{long}: 1\n");
        let long_quoted_key = format!("'{long}': 1\n");
        let long_flow_key = format!("a: {{b: 1, \"{long}\": 2}}\n");
        for text in [
            "a:\n  |\n  x\n",
            "-\n  |\n  x\n",
            "a: |0\n  x\n",
            "a: |x\n",
            "a: |-+\n  x\n",
            "a: |12\n  x\n",
            "a: |# c\n  x\n",
            "a:\n  b: |4\n   x\n",
            "a: |\n      \n  x\n",
            "a: |\n    x\n  y\n",
            "a: |\n  x\n\ty\n",
            "a: |\r\n  x\r\n",
            "a: b\n  c\n",
            "a:\n  b\n  c\n",
            "a: [1,\n  2]\n",
            "a: 'x\n  y'\n",
            "a:\tb\n",
            "a: b\r\n",
            "\u{feff}a: b\n",
            "---\na: b\n",
            "a: b\n...\n",
            "%YAML 1.2\n---\na: 1\n",
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "? a\n: b\n",
            "a: [1, 2, ]\n",
            "a: {b:c}\n",
            "\"a\":b\n",
            "a : b\n",
            "a: \"\\x41\"\n",
            "a: \"\\ud800\"\n",
            "<<: {a: 1}\n",
            "a: {<<: {b: 1}}\n",
            "a: 1\na: 2\n",
            "a: b: c\n",
            "a: b:\n",
            "a: 1\n- b\n",
            "- a\nb: 1\n",
            "just text\n",
            "a: 007\n",
            "~: x\n",
            "a: @b\n",
            long_key.as_str(),
            long_quoted_key.as_str(),
            long_flow_key.as_str(),
        ] {
            assert!(parse(text).is_none(), "read {text:?}");
        }
    }
}
