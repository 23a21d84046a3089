//! The block reader against serde-saphyr: every YAML file in the repository, plain scalars,
//! nesting limits, generated documents and damaged ones must give serde-saphyr's tree, spans
//! included, or make the block reader give up.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::block::MAX_DEPTH;
use super::{parse_block, parse_serde};

/// Checks that the block reader builds what serde-saphyr builds or gives up, and tells whether
/// it built a tree.
fn agrees(text: &str) -> bool {
    let Some(quick) = parse_block(text) else {
        return false;
    };
    assert_eq!(
        Some(quick),
        parse_serde(text),
        "the block reader and serde-saphyr differ for {text:?}"
    );
    true
}

/// The repository's root.
fn repository() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Collects the `.yaml` and `.yml` files under `dir`, at any depth, but in build output and
/// hidden folders.
fn yaml_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.flatten().map(|entry| entry.path()) {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                yaml_files(&path, files);
            }
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            files.push(path);
        }
    }
}

/// The text of every YAML file in the repository that is UTF-8 (the others are rejected before
/// parsing), with its path from the root.
fn repository_yaml() -> &'static [(String, String)] {
    static FILES: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    FILES.get_or_init(|| {
        let mut paths = Vec::new();
        yaml_files(repository(), &mut paths);
        paths.sort();
        paths
            .into_iter()
            .filter_map(|path| {
                let text = std::fs::read_to_string(&path).ok()?;
                let name = path.strip_prefix(repository()).ok()?.display().to_string();
                Some((name, text))
            })
            .collect()
    })
}

#[test]
fn builds_what_serde_saphyr_builds_for_every_yaml_file_in_the_repository() {
    let files = repository_yaml();
    assert!(files.len() > 150, "only {} YAML files found", files.len());
    for (name, text) in files {
        let read = agrees(text);
        // Every shipped workflow, the workflow `init` writes and the benchmark workloads.
        if name.starts_with("workflows/")
            || name.starts_with("benches/workloads/")
            || name.starts_with("src/")
        {
            assert!(read, "the block reader gives up on {name}");
        }
    }
}

/// Plain scalars the block reader resolves.
#[rustfmt::skip]
const HANDLED: &[&str] = &[
    "text", "héllo wörld", "20s", "1.5s", "3xx", "-v", "+x", "-foo bar", "nan", "inf",
    "Infinity", "yes", "no", "on", "off", "y", "n", "true", "False", "TRUE", "null", "Null",
    "NULL", "~", "", "0", "-0", "7", "-12", "9223372036854775807", "-9223372036854775808",
    "2.0", "-0.5", "00.5", "1.5", "1.2.3", "2024-01-31", "1e", "e3", "1..2", "-.", "1_000s",
    "$.a", "x {{ y }}/z",
];

/// Plain scalars that may be numbers to serde-saphyr, which the block reader leaves to it.
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
        assert!(parse_serde(&nested(MAX_DEPTH + 1)).is_none());
        let mapped = |depth: usize| format!("{}1{}\n", "{a: ".repeat(depth), "}".repeat(depth));
        assert!(agrees(&mapped(MAX_DEPTH)));
        assert!(!agrees(&mapped(MAX_DEPTH + 1)));
        assert!(parse_serde(&mapped(MAX_DEPTH + 1)).is_none());
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
        // Valid YAML the block reader does not read either.
        "---\na: [1, 'two', \"three\", {b: c}]\n...\n",
        "\u{feff}k: v\n",
        "? a\n: b\n",
        "[a: 1, b]\n",
        "k: v\r\nl: w\r\n",
        "k:\n  multi\n  line\n",
        "k: [a,\n  b]\n",
        "k:\n  |\n  text\n",
    ] {
        assert!(parse_block(text).is_none(), "read {text:?}");
    }
}

#[test]
fn keeps_the_spans_of_block_and_flow_nodes() {
    for text in [
        "name: demo\nsteps:\n  - url: x\n    expect: { status: 200 }\n",
        "a: [1, 'two', \"three\", {b: c}]\n",
        "# lead\n\na:   # after\n  - |\n    lit\n  - >\n    fold\n  -\n  - ''\n",
        "clé: \"über\"\nnested:\n- a\n- b: c\n  d: [ ]\n",
        "- - x\n  - y\n- {}\n",
        "k: |+\n  kept\n\nl: >2-\n    more\n  fold\n  ed\n",
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
                const HEADERS: [&str; 9] = ["|", "|-", "|+", ">", ">-", ">+", "|2", ">-2", "|+2"];
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
fn the_block_reader_reads_most_generated_documents() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = (tree(), prop::collection::vec(any::<u8>(), 1..16));
    let (mut valid, mut read) = (0, 0);
    for _ in 0..2000 {
        let (tree, dice) = strategy
            .new_tree(&mut runner)
            .expect("a document")
            .current();
        let text = document(&tree, dice);
        read += usize::from(agrees(&text));
        valid += usize::from(parse_serde(&text).is_some());
    }
    assert!(
        read * 2 > valid,
        "the block reader read {read} of {valid} valid documents"
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

    #[test]
    fn agrees_on_damaged_yaml_files_of_the_repository(
        file in any::<prop::sample::Index>(),
        edits in prop::collection::vec(
            (any::<prop::sample::Index>(), 0usize..3, "[ :#\\-\\[\\]{},'\"|>+&*!?\n\tx12]{0,3}"),
            1..6,
        ),
    ) {
        let files = repository_yaml();
        let mut text = files[file.index(files.len())].1.clone();
        for (at, removed, insert) in edits {
            let mut at = at.index(text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            // Replace up to `removed` characters, or insert.
            let end = text[at..].char_indices().nth(removed).map_or(text.len(), |(i, _)| at + i);
            text.replace_range(at..end, &insert);
        }
        agrees(&text);
    }
}
