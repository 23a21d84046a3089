//! Byte-level scanning for the block reader: spaces, where plain scalars start and end, the
//! colon of a key, block scalar headers, and double-quoted escapes.

/// Skips spaces from `at`, not past `end`.
pub(super) fn skip_spaces(bytes: &[u8], mut at: usize, end: usize) -> usize {
    while at < end && bytes[at] == b' ' {
        at += 1;
    }
    at
}

/// Tells whether a plain scalar may start at `at`: not with an indicator, and not with `-`
/// followed by a space (nor `?` or `:`, which are left to serde-saphyr).
pub(super) fn plain_may_start(bytes: &[u8], at: usize, end: usize, flow: bool) -> bool {
    match bytes.get(at) {
        None => false,
        Some(b'-') => {
            at + 1 < end
                && bytes[at + 1] != b' '
                && !(flow && matches!(bytes[at + 1], b',' | b']' | b'}' | b'[' | b'{'))
        }
        Some(c) => !matches!(
            c,
            b'[' | b']'
                | b'{'
                | b'}'
                | b','
                | b'#'
                | b'&'
                | b'*'
                | b'!'
                | b'|'
                | b'>'
                | b'\''
                | b'"'
                | b'%'
                | b'@'
                | b'`'
                | b'?'
                | b':'
        ),
    }
}

/// Finds the colon that ends a plain key: followed by a space or the line's end, before any
/// comment.
pub(super) fn find_colon(bytes: &[u8], start: usize, end: usize) -> Option<usize> {
    let mut i = start;
    while i < end {
        match bytes[i] {
            b':' if i + 1 == end || bytes[i + 1] == b' ' => return Some(i),
            b'#' if i > start && bytes[i - 1] == b' ' => return None,
            _ => i += 1,
        }
    }
    None
}

/// Where a plain scalar in a block ends: at a comment or the line's end.
pub(super) fn plain_end(bytes: &[u8], start: usize, end: usize) -> usize {
    let mut i = start;
    while i < end {
        if bytes[i] == b'#' && bytes[i - 1] == b' ' {
            return i;
        }
        i += 1;
    }
    end
}

/// What a block scalar does with its final line breaks: `-` strips them, no indicator keeps
/// one (clips), `+` keeps them all.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Chomping {
    Strip,
    Clip,
    Keep,
}

/// Reads the indicators of a block scalar's header from `at` to the line's `end`: chomping and
/// indentation in either order, then perhaps a comment. Gives up on a malformed header.
pub(super) fn block_header(bytes: &[u8], mut at: usize, end: usize) -> Option<(Chomping, usize)> {
    let mut chomping = Chomping::Clip;
    let mut increment = 0;
    for _ in 0..2 {
        match bytes.get(at).filter(|_| at < end) {
            Some(b'-') if chomping == Chomping::Clip => chomping = Chomping::Strip,
            Some(b'+') if chomping == Chomping::Clip => chomping = Chomping::Keep,
            Some(digit @ b'1'..=b'9') if increment == 0 => increment = usize::from(digit - b'0'),
            _ => break,
        }
        at += 1;
    }
    let rest = skip_spaces(bytes, at, end);
    (rest == end || (rest > at && bytes[rest] == b'#')).then_some((chomping, increment))
}

/// Where the scan of a block scalar is: a byte, where its line begins and the line's number.
#[derive(Clone, Copy)]
pub(super) struct Cursor {
    pub(super) pos: usize,
    pub(super) begin: usize,
    pub(super) number: u32,
}

impl Cursor {
    /// The column of the byte, counted from 0; only spaces come before it on its line.
    pub(super) fn column(&self) -> usize {
        self.pos - self.begin
    }

    /// Moves past the line break at the byte.
    pub(super) fn next_line(&mut self) {
        self.pos += 1;
        self.begin = self.pos;
        self.number += 1;
    }

    /// Skips the indentation of a block scalar's lines, up to `indent` spaces, and the empty
    /// lines, and counts those; stops at a content line, a less indented line or the end.
    pub(super) fn skip_indentation(&mut self, bytes: &[u8], indent: usize) -> usize {
        let mut breaks = 0;
        loop {
            self.pos = skip_spaces(bytes, self.pos, (self.begin + indent).min(bytes.len()));
            if bytes.get(self.pos) != Some(&b'\n') {
                return breaks;
            }
            self.next_line();
            breaks += 1;
        }
    }
}

/// Reads the escape after a backslash in a double-quoted scalar: the character and how many
/// bytes it took. Only the escapes JSON has; the others are left to serde-saphyr.
pub(super) fn escape(bytes: &[u8], at: usize, end: usize) -> Option<(char, usize)> {
    if at >= end {
        return None;
    }
    let c = match bytes[at] {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'n' => '\n',
        b't' => '\t',
        b'r' => '\r',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'0' => '\0',
        b'u' if at + 5 <= end => {
            let hex = std::str::from_utf8(bytes.get(at + 1..at + 5)?).ok()?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
            return Some((c, 5));
        }
        _ => return None,
    };
    Some((c, 1))
}
