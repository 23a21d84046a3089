//! The fast path: the node tree built straight from granit-parser's events.
//!
//! serde-saphyr reads YAML with granit-parser too; going through serde's `Spanned` machinery
//! costs more than the parsing itself. This reads the same events and builds the same tree
//! as `convert` does from serde-saphyr's values, for the YAML it can resolve with certainty:
//! one document of mappings, sequences and scalars without anchors, aliases, tags or merge keys.
//! Anything else, and any error, makes it give up so that serde-saphyr decides and reports.

use std::borrow::Cow;

use granit_parser::{Event, Parser, ScalarStyle, StrInput};

use super::{Node, NodeKind, key_of};
use crate::span::Span;

/// The deepest nesting of mappings and sequences serde-saphyr's default budget accepts.
pub(super) const MAX_DEPTH: usize = 64;

/// The most nodes read before giving up, well inside serde-saphyr's default budget of
/// 250 000 nodes and 1 000 000 events.
pub(super) const MAX_NODES: usize = 100_000;

/// What serde-saphyr trims from a scalar before reading it as a boolean or a number.
const PADDING: [char; 4] = [' ', '\t', '\r', '\n'];

/// Builds the node tree of `text`, or returns `None` when serde-saphyr must read it.
///
/// The root must be a mapping or a sequence: a scalar or empty document is left to serde-saphyr,
/// which tells a file of comments apart.
pub(super) fn parse(text: &str) -> Option<Node<'_>> {
    // The parser options serde-saphyr derives from its default budget.
    let options = granit_parser::options! {
        simple_key_max_lookahead: 1024,
        flow_nesting_limit: 255,
        block_nesting_limit: 255,
        emit_comments: false,
    };
    let mut reader = Reader {
        events: Parser::new_from_str_with_options(text, options),
        nodes: 0,
    };
    if !matches!(reader.next()?.0, Event::StreamStart) {
        return None;
    }
    if !matches!(reader.next()?.0, Event::DocumentStart(_, None)) {
        return None;
    }
    let (event, marked) = reader.next()?;
    if !matches!(event, Event::MappingStart(..) | Event::SequenceStart(..)) {
        return None;
    }
    let root = reader.node(event, &marked, 1)?;
    // A second document, trailing content or a late syntax error: serde-saphyr reports it.
    if !matches!(reader.next()?.0, Event::DocumentEnd) {
        return None;
    }
    if !matches!(reader.next()?.0, Event::StreamEnd) {
        return None;
    }
    reader.events.next().is_none().then_some(root)
}

/// The parser and the count of nodes read so far.
struct Reader<'a> {
    /// The events of the text.
    events: Parser<'a, StrInput<'a>>,
    /// Nodes read, to give up on huge documents.
    nodes: usize,
}

impl<'a> Reader<'a> {
    /// Returns the next event, or `None` at the end or on a syntax error.
    fn next(&mut self) -> Option<(Event<'a>, granit_parser::Span)> {
        self.events.next()?.ok()
    }

    /// Reads the node that `event` starts, `depth` mappings and sequences deep counting itself.
    fn node(
        &mut self,
        event: Event<'a>,
        marked: &granit_parser::Span,
        depth: usize,
    ) -> Option<Node<'a>> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return None;
        }
        let span = span_of(marked)?;
        // A non-zero anchor id or a tag: left to serde-saphyr, as are aliases below.
        let kind = match event {
            Event::Scalar(text, style, 0, None) => scalar(text, style)?,
            Event::SequenceStart(_, 0, None) if depth <= MAX_DEPTH => {
                NodeKind::Seq(self.items(depth)?)
            }
            Event::MappingStart(_, 0, None) if depth <= MAX_DEPTH => {
                NodeKind::Map(self.entries(depth)?)
            }
            _ => return None,
        };
        Some(Node { kind, span })
    }

    /// Reads the items of a sequence up to its end.
    fn items(&mut self, depth: usize) -> Option<Vec<Node<'a>>> {
        let mut items = Vec::new();
        loop {
            match self.next()? {
                (Event::SequenceEnd, _) => return Some(items),
                (event, marked) => items.push(self.node(event, &marked, depth + 1)?),
            }
        }
    }

    /// Reads the entries of a mapping up to its end; keys must be text or integers, and unique.
    fn entries(&mut self, depth: usize) -> Option<Vec<(super::Key<'a>, Node<'a>)>> {
        let mut entries = Vec::new();
        loop {
            let (event, marked) = self.next()?;
            match &event {
                Event::MappingEnd => break,
                // `<<` may be a merge key.
                Event::Scalar(text, ..) if text != "<<" => {}
                _ => return None,
            }
            let key = self.node(event, &marked, depth + 1)?;
            if !matches!(key.kind, NodeKind::Str(_) | NodeKind::Int(_)) {
                return None;
            }
            let (event, marked) = self.next()?;
            let value = self.node(event, &marked, depth + 1)?;
            entries.push((key_of(key), value));
        }
        if has_repeated_keys(&entries) {
            return None;
        }
        Some(entries)
    }
}

/// Tells whether two keys have the same name. Such mappings are left to serde-saphyr, which
/// tells keys apart by more than their text: it rejects `a` and `'a'` as duplicates but keeps
/// both `1` and `'1'`.
pub(super) fn has_repeated_keys(entries: &[(super::Key<'_>, Node<'_>)]) -> bool {
    let name = |index: usize| entries[index].0.name.as_ref();
    // Most mappings have a handful of keys: comparing each pair needs no allocation.
    if entries.len() <= 16 {
        return (0..entries.len()).any(|i| (i + 1..entries.len()).any(|j| name(i) == name(j)));
    }
    let mut names: Vec<&str> = (0..entries.len()).map(name).collect();
    names.sort_unstable();
    names.windows(2).any(|pair| pair[0] == pair[1])
}

/// Where a node starts, as serde-saphyr reports it: the line, the column counted from 1 and the
/// length in characters (at least 1) of the node's first event.
fn span_of(marked: &granit_parser::Span) -> Option<Span> {
    let len = marked.end.index().checked_sub(marked.start.index())?;
    Some(Span::new(
        u32::try_from(marked.start.line()).ok()?,
        u32::try_from(marked.start.col().checked_add(1)?).ok()?,
        u32::try_from(len).ok()?.max(1),
    ))
}

/// Resolves a scalar: quoted and block scalars are text; plain ones are resolved by [`plain`].
fn scalar(text: Cow<'_, str>, style: ScalarStyle) -> Option<NodeKind<'_>> {
    match style {
        ScalarStyle::Plain => plain(text),
        ScalarStyle::SingleQuoted
        | ScalarStyle::DoubleQuoted
        | ScalarStyle::Literal
        | ScalarStyle::Folded => Some(NodeKind::Str(text)),
    }
}

/// Resolves a plain scalar as serde-saphyr does with `strict_booleans`, or returns `None` when
/// that is not certain: null forms, YAML 1.2 booleans, decimal integers that fit `i64`, decimal
/// fractions such as `2.5`, and text that no number spelling can match.
pub(super) fn plain(text: Cow<'_, str>) -> Option<NodeKind<'_>> {
    match &*text {
        "" | "~" | "null" | "Null" | "NULL" => return Some(NodeKind::Null),
        "true" | "True" | "TRUE" => return Some(NodeKind::Bool(true)),
        "false" | "False" | "FALSE" => return Some(NodeKind::Bool(false)),
        _ => {}
    }
    if text.starts_with(PADDING) || text.ends_with(PADDING) {
        return None;
    }
    // Numbers start with a digit, a sign or a dot (`.5`, `.inf`); `nan` or `Infinity` are text.
    if text.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.')) {
        if is_decimal(&text) {
            return text.parse().ok().map(NodeKind::Int);
        }
        if is_fraction(&text) {
            return text
                .parse()
                .ok()
                .filter(|f: &f64| f.is_finite())
                .map(NodeKind::Float);
        }
        if may_be_number(&text) {
            return None;
        }
    }
    Some(NodeKind::Str(text))
}

/// Tells whether the text is `0`, or digits not starting with `0` after an optional `-`.
fn is_decimal(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    digits == "0"
        || (!digits.is_empty()
            && !digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// Tells whether the text is digits, a dot and digits after an optional `-`, as in `2.5`.
fn is_fraction(text: &str) -> bool {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    unsigned.split_once('.').is_some_and(|(whole, fraction)| {
        [whole, fraction]
            .iter()
            .all(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// Tells whether serde-saphyr may read the text as a number, erring towards yes: an integer in
/// any radix, with underscores, or a float as YAML or Rust spells it (`1.5`, `.5`, `1e3`, `.inf`).
/// `1.2.3`, `2024-01-31` or `3xx` are not numbers.
fn may_be_number(text: &str) -> bool {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if matches!(
        unsigned.as_bytes(),
        [b'0', b'x' | b'X' | b'o' | b'O' | b'b' | b'B', ..]
    ) || unsigned.bytes().all(|b| b.is_ascii_digit() || b == b'_')
        || ["inf", "infinity", "nan", ".inf", ".nan"]
            .iter()
            .any(|word| unsigned.eq_ignore_ascii_case(word))
    {
        return true;
    }
    let (mantissa, exponent) = unsigned.split_once(['e', 'E']).unwrap_or((unsigned, "0"));
    let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    digits(whole)
        && digits(fraction)
        && !(whole.is_empty() && fraction.is_empty())
        && !exponent.is_empty()
        && digits(exponent)
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use proptest::prelude::*;

    use super::*;
    use crate::span::Source;

    /// The tree serde-saphyr builds, or `None` when it reports an error.
    fn slow(text: &str) -> Option<Node<'static>> {
        super::super::parse_with_serde(&Source::new("t.yaml", text)).ok()
    }

    /// Checks that the fast path builds what serde-saphyr builds or gives up, and tells whether
    /// it built a tree.
    fn agrees(text: &str) -> bool {
        let slow = slow(text);
        if let Some(quick) = super::super::block::parse(text) {
            assert_eq!(
                Some(quick),
                slow,
                "the block reader and slow differ for {text:?}"
            );
        }
        let Some(fast) = parse(text) else {
            return false;
        };
        assert_eq!(Some(fast), slow, "fast and slow differ for {text:?}");
        true
    }

    /// Collects the `.yaml` and `.yml` files under `dir`, at any depth.
    fn yaml_files(dir: &Path, files: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for path in entries.flatten().map(|entry| entry.path()) {
            if path.is_dir() {
                yaml_files(&path, files);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            ) {
                files.push(path);
            }
        }
    }

    #[test]
    fn builds_what_serde_saphyr_builds_for_every_yaml_file_in_the_repository() {
        let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
        let mut checked = 0;
        for dir in ["workflows", "benches/workloads", "examples", "tests"] {
            let mut files = Vec::new();
            yaml_files(&root.join(dir), &mut files);
            for file in files {
                // Files that are not UTF-8 are rejected before parsing.
                let Ok(text) = std::fs::read_to_string(&file) else {
                    continue;
                };
                let handled = agrees(&text);
                if dir == "workflows" || dir == "benches/workloads" {
                    assert!(handled, "the fast path gives up on {}", file.display());
                }
                checked += 1;
            }
        }
        assert!(checked > 100, "only {checked} YAML files found");
    }

    /// Plain scalars the fast path resolves.
    #[rustfmt::skip]
    const HANDLED: &[&str] = &[
        "text", "héllo wörld", "20s", "1.5s", "3xx", "-v", "+x", "-foo bar", "nan", "inf",
        "Infinity", "yes", "no", "on", "off", "y", "n", "true", "False", "TRUE", "null", "Null",
        "NULL", "~", "", "0", "-0", "7", "-12", "9223372036854775807", "-9223372036854775808",
        "2.0", "-0.5", "00.5", "1.5", "1.2.3", "2024-01-31", "1e", "e3", "1..2", "-.", "1_000s",
        "$.a", "x {{ y }}/z",
    ];

    /// Plain scalars that may be numbers to serde-saphyr, which the fast path leaves to it.
    #[rustfmt::skip]
    const GIVEN_UP: &[&str] = &[
        "007", "010", "0x1F", "0X1F", "0o17", "0b101", "1_000", "+1", "1e3", ".5", "5.", ".inf",
        "-.inf", ".nan", "-.nan", "9223372036854775808", "-9223372036854775809",
        "18446744073709551616", "-", "+.5e-3", "1E+3", "0x1G", "+Infinity", "-nan",
    ];

    #[test]
    fn resolves_plain_scalars_as_serde_saphyr_does_or_gives_up() {
        for word in HANDLED {
            assert!(agrees(&format!("k: {word}\n")), "gave up on {word:?}");
        }
        for word in GIVEN_UP {
            assert!(!agrees(&format!("k: {word}\n")), "handled {word:?}");
        }
        for word in HANDLED.iter().chain(GIVEN_UP) {
            assert!(agrees(&format!("k: '{word}'\n")), "gave up on '{word}'");
            assert!(agrees(&format!("k: \"{word}\"\n")), "gave up on \"{word}\"");
            assert!(agrees(&format!("k: |\n  {word}\n")), "gave up on |{word}");
            assert!(agrees(&format!("k: >-\n  {word}\n")), "gave up on >-{word}");
            agrees(&format!("{word}: v\n"));
            agrees(&format!("[{word}, {{{word}: {word}}}]\n"));
        }
    }

    #[test]
    fn nests_as_deep_as_serde_saphyr_allows_and_no_deeper() {
        // serde-saphyr recurses deeper than a test thread's stack allows in debug builds.
        let deep = std::thread::Builder::new().stack_size(64 << 20).spawn(|| {
            let nested = |depth: usize| format!("{}{}\n", "[".repeat(depth), "]".repeat(depth));
            assert!(agrees(&nested(MAX_DEPTH)));
            assert!(!agrees(&nested(MAX_DEPTH + 1)));
            assert!(slow(&nested(MAX_DEPTH + 1)).is_none());
            let mapped = |depth: usize| format!("{}1{}\n", "{a: ".repeat(depth), "}".repeat(depth));
            assert!(agrees(&mapped(MAX_DEPTH)));
            assert!(!agrees(&mapped(MAX_DEPTH + 1)));
            assert!(slow(&mapped(MAX_DEPTH + 1)).is_none());
        });
        deep.expect("a thread").join().expect("no failure");
    }

    #[test]
    fn leaves_everything_else_to_serde_saphyr() {
        for text in [
            "a: 1\na: 2\n",
            "a: 1\n'a': 2\n",
            "1: a\n'1': b\n",
            "t: 1\ntrue: 2\n",
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "a: !custom x\n",
            "base: &b {x: 1}\nc:\n  <<: *b\n",
            "c:\n  <<: {x: 1}\n",
            "? [a, b]\n: c\n",
            "? {a: b}\n: c\n",
            "~: x\n",
            "true: x\n",
            "name: a\n---\nname: b\n",
            "a: 1\n...\n---\nb: 2\n",
            "%YAML 1.2\n---\na: 1\n",
            "just a scalar\n",
            "# only comments\n",
            "a: [1, 2\n",
            "a: 'open\n",
            "a:\n\t- b\n",
            "a: b: c\n",
        ] {
            assert!(parse(text).is_none(), "handled {text:?}");
        }
    }

    #[test]
    fn keeps_the_spans_of_block_and_flow_nodes() {
        for text in [
            "name: demo\nsteps:\n  - url: x\n    expect: { status: 200 }\n",
            "---\na: [1, 'two', \"three\", {b: c}]\n...\n",
            "# lead\n\na:   # after\n  - |\n    lit\n  - >\n    fold\n  -\n  - ''\n",
            "\u{feff}k: v\n",
            "clé: \"über\"\nnested:\n- a\n- b: c\n  d: [ ]\n",
            "? a\n: b\n",
            "[a: 1, b]\n",
            "- - x\n  - y\n- {}\n",
            "k: v\r\nl: w\r\n",
            "k:\n  multi\n  line\n",
        ] {
            assert!(agrees(text), "gave up on {text:?}");
        }
    }

    /// Scalars that resolve to every kind, spellings close to numbers, booleans and nulls,
    /// and characters that mean something in YAML.
    #[rustfmt::skip]
    const WORDS: &[&str] = &[
        "name", "a b", "héllo wörld", "日本語", "emoji 🎉", "true", "True", "TRUE", "false", "FALSE",
        "yes", "no", "on", "off", "y", "n", "null", "Null", "NULL", "~", "", "0", "-0", "7", "-12",
        "007", "010", "0x1F", "0X1F", "0o17", "0b101", "1_000", "+1", "1e3", "1.5", ".5", "5.",
        ".inf", "-.inf", ".nan", "nan", "inf", "Infinity", "9223372036854775807",
        "9223372036854775808", "-9223372036854775809", "20s", "1.2.3", "-foo", "-", "1a", "a#b",
        "a # b", "x:y", "{{ base_url }}/items", "$.links.next.id", "<<", "it's", "say \"hi\"",
        "back\\slash", "tab\there", "#", "@at", "`tick`", "%pct", "*star", "&amp", "!bang", "a: b",
        "- x", "multi\nline", "trailing ", " leading", "[x]", "{y}", "a,b", "2.0", "-0.5", "3xx",
        "2024-01-31", "1:20", "http://h:80/p", "a:", "::", "a:-1",
    ];

    /// A scalar and how it is written: plain, single-quoted, double-quoted or as a block.
    #[derive(Clone, Debug)]
    struct Scalar(&'static str, u8);

    /// A YAML document to write: collections are written in flow style when the flag is set.
    #[derive(Clone, Debug)]
    enum Tree {
        Scalar(Scalar),
        Seq(Vec<Tree>, bool),
        Map(Vec<(Scalar, Tree)>, bool),
    }

    fn scalar() -> impl Strategy<Value = Scalar> {
        (prop::sample::select(WORDS), 0u8..4).prop_map(|(word, style)| Scalar(word, style))
    }

    fn tree() -> impl Strategy<Value = Tree> {
        scalar()
            .prop_map(Tree::Scalar)
            .prop_recursive(4, 40, 5, |inner| {
                prop_oneof![
                    (prop::collection::vec(inner.clone(), 0..5), any::<bool>())
                        .prop_map(|(items, flow)| Tree::Seq(items, flow)),
                    (
                        prop::collection::vec((scalar(), inner), 0..5),
                        any::<bool>()
                    )
                        .prop_map(|(entries, flow)| Tree::Map(entries, flow)),
                ]
            })
    }

    /// Writes a tree as YAML text, with comments and blank lines where `dice` says.
    struct Writer {
        out: String,
        dice: Vec<u8>,
        rolls: usize,
    }

    impl Writer {
        fn roll(&mut self) -> u8 {
            self.rolls += 1;
            self.dice
                .get(self.rolls % self.dice.len().max(1))
                .copied()
                .unwrap_or(0)
        }

        /// Ends a line, maybe with a comment, maybe followed by a blank or comment line.
        fn end_line(&mut self, indent: usize) {
            match self.roll() % 8 {
                0 => self.out.push_str(" # note ü"),
                1 => self.out.push_str("   #"),
                _ => {}
            }
            self.out.push('\n');
            match self.roll() % 8 {
                0 => self.out.push('\n'),
                1 => {
                    self.out.push_str(&" ".repeat(indent));
                    self.out.push_str("# a comment line\n");
                }
                _ => {}
            }
        }

        /// Writes a scalar; a block scalar only where `block` allows it.
        fn scalar(&mut self, Scalar(word, style): &Scalar, block: bool, indent: usize) {
            match style {
                0 => self.out.push_str(word),
                1 => {
                    self.out.push('\'');
                    self.out.push_str(&word.replace('\'', "''"));
                    self.out.push('\'');
                }
                3 if block => {
                    // Each chomping indicator, with and without an indentation indicator.
                    const HEADERS: [&str; 9] =
                        ["|", "|-", "|+", ">", ">-", ">+", "|2", ">-2", "|+2"];
                    let header = HEADERS[usize::from(self.roll()) % HEADERS.len()];
                    self.out.push_str(header);
                    for line in word.split('\n') {
                        self.out.push('\n');
                        self.out.push_str(&" ".repeat(indent + 2));
                        self.out.push_str(line);
                    }
                    // Trailing empty lines, one of them indented.
                    match self.roll() % 4 {
                        0 => self.out.push('\n'),
                        1 => {
                            self.out.push_str("\n\n");
                            self.out.push_str(&" ".repeat(indent + 1));
                        }
                        _ => {}
                    }
                }
                _ => {
                    let escaped = word
                        .replace('\\', "\\\\")
                        .replace('"', "\\\"")
                        .replace('\n', "\\n")
                        .replace('\t', "\\t");
                    self.out.push('"');
                    self.out.push_str(&escaped);
                    self.out.push('"');
                }
            }
        }

        fn flow(&mut self, tree: &Tree) {
            match tree {
                Tree::Scalar(scalar) => self.scalar(scalar, false, 0),
                Tree::Seq(items, _) => {
                    self.out.push('[');
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            self.out.push_str(", ");
                        }
                        self.flow(item);
                    }
                    self.out.push(']');
                }
                Tree::Map(entries, _) => {
                    self.out.push('{');
                    for (i, (key, value)) in entries.iter().enumerate() {
                        if i > 0 {
                            self.out.push_str(", ");
                        }
                        self.scalar(key, false, 0);
                        self.out.push_str(": ");
                        self.flow(value);
                    }
                    self.out.push('}');
                }
            }
        }

        /// Writes what follows `key:` (`after_key`) or `-` for a node whose parent is indented
        /// by `indent`. Where `dice` says, a sequence under a key lines up with the key, and a
        /// collection in a sequence starts on the item's line (`- a: 1`, `- - x`).
        fn value(&mut self, tree: &Tree, indent: usize, after_key: bool) {
            match tree {
                Tree::Seq(items, false)
                    if !items.is_empty() && after_key && self.roll().is_multiple_of(3) =>
                {
                    self.end_line(indent);
                    self.block(tree, indent, false);
                }
                Tree::Seq(items, false)
                    if !items.is_empty() && !after_key && self.roll().is_multiple_of(3) =>
                {
                    self.out.push(' ');
                    self.block(tree, indent + 2, true);
                }
                Tree::Map(entries, false)
                    if !entries.is_empty() && !after_key && self.roll().is_multiple_of(3) =>
                {
                    self.out.push(' ');
                    self.block(tree, indent + 2, true);
                }
                Tree::Seq(items, false) if !items.is_empty() => {
                    self.end_line(indent + 2);
                    self.block(tree, indent + 2, false);
                }
                Tree::Map(entries, false) if !entries.is_empty() => {
                    self.end_line(indent + 2);
                    self.block(tree, indent + 2, false);
                }
                Tree::Scalar(scalar) => {
                    self.out.push(' ');
                    self.scalar(scalar, true, indent);
                    self.end_line(indent);
                }
                _ => {
                    self.out.push(' ');
                    self.flow(tree);
                    self.end_line(indent);
                }
            }
        }

        /// Writes a collection in block style, its lines indented by `indent` (but the first
        /// when it goes on the line already started, `inline`).
        fn block(&mut self, tree: &Tree, indent: usize, inline: bool) {
            let pad = " ".repeat(indent);
            match tree {
                Tree::Seq(items, false) if !items.is_empty() => {
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 || !inline {
                            self.out.push_str(&pad);
                        }
                        self.out.push('-');
                        self.value(item, indent, false);
                    }
                }
                Tree::Map(entries, false) if !entries.is_empty() => {
                    for (i, (key, value)) in entries.iter().enumerate() {
                        if i > 0 || !inline {
                            self.out.push_str(&pad);
                        }
                        self.scalar(key, false, indent);
                        self.out.push(':');
                        self.value(value, indent, true);
                    }
                }
                _ => {
                    if !inline {
                        self.out.push_str(&pad);
                    }
                    self.flow(tree);
                    self.end_line(indent);
                }
            }
        }
    }

    /// Writes a document: maybe a comment or `---` first, then the tree.
    fn document(tree: &Tree, dice: Vec<u8>) -> String {
        let mut writer = Writer {
            out: String::new(),
            dice,
            rolls: 0,
        };
        match writer.roll() % 4 {
            0 => writer.out.push_str("# a workflow\n\n"),
            1 => writer.out.push_str("---\n"),
            _ => {}
        }
        writer.block(tree, 0, false);
        // Some texts end without a line break.
        if writer.roll().is_multiple_of(5) {
            writer.out.pop();
        }
        writer.out
    }

    #[test]
    fn the_block_reader_reads_most_of_what_granit_parser_reads() {
        use proptest::strategy::ValueTree;
        use proptest::test_runner::TestRunner;
        let mut runner = TestRunner::deterministic();
        let strategy = (tree(), prop::collection::vec(any::<u8>(), 1..16));
        let (mut fast, mut quick) = (0, 0);
        for _ in 0..2000 {
            let (tree, dice) = strategy
                .new_tree(&mut runner)
                .expect("a document")
                .current();
            let text = document(&tree, dice);
            if agrees(&text) {
                fast += 1;
                quick += usize::from(super::super::block::parse(&text).is_some());
            }
        }
        assert!(
            quick * 2 > fast,
            "the block reader read {quick} of {fast} documents"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn builds_what_serde_saphyr_builds_or_gives_up(
            tree in tree(),
            dice in prop::collection::vec(any::<u8>(), 1..16),
        ) {
            agrees(&document(&tree, dice));
        }

        #[test]
        fn never_panics_and_agrees_on_damaged_documents(
            tree in tree(),
            dice in prop::collection::vec(any::<u8>(), 1..16),
            edits in prop::collection::vec((any::<prop::sample::Index>(), "[ :#\\-\\[\\]{},'\"|>&*!?\n\tx1]{0,2}"), 1..4),
        ) {
            let mut text = document(&tree, dice);
            for (at, insert) in edits {
                let mut at = at.index(text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                // Replace one character, or insert when at the end.
                let end = text[at..].chars().next().map_or(at, |c| at + c.len_utf8());
                text.replace_range(at..end, &insert);
            }
            agrees(&text);
        }
    }
}
