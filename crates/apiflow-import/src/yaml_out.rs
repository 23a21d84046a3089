//! A small YAML writer: a tree of values with comments, printed as readable block YAML with
//! every string quoted when YAML would otherwise read it as something else.

use std::fmt::Write as _;

/// Lines longer than this are not written as one flow mapping or sequence.
const FLOW_WIDTH: usize = 100;

/// A YAML value to print.
#[derive(Clone, Debug, PartialEq)]
pub enum Yaml {
    /// `~`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as JSON writes it.
    Number(String),
    /// Text, quoted when needed.
    Str(String),
    /// A list; short lists of scalars are printed in flow style (`[a, b]`).
    Seq(Vec<Item>),
    /// A mapping, in order.
    Map(Map),
}

/// One list item and the comment lines printed above it.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// Comment lines, without `#`.
    pub comments: Vec<String>,
    /// The value.
    pub value: Yaml,
    /// Put a blank line before this item (when it is not the first).
    pub spaced: bool,
}

/// A mapping: its entries, whether it prefers flow style, and whether entries are separated by a
/// blank line.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Map {
    /// Entries in order.
    pub entries: Vec<Entry>,
    /// Print as `{ a: 1, b: 2 }` when it fits on one line and holds only scalars.
    pub flow: bool,
    /// Put a blank line before each entry (but the first) that holds a block collection or
    /// has comments: sections stand apart, short scalars stay together.
    pub spaced: bool,
    /// Comment lines printed after the last entry.
    pub trailing: Vec<String>,
}

/// One mapping entry and the comment lines printed above it.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Comment lines, without `#`.
    pub comments: Vec<String>,
    /// The key.
    pub key: String,
    /// The value.
    pub value: Yaml,
}

impl Yaml {
    /// Creates a string value.
    pub fn str(text: impl Into<String>) -> Yaml {
        Yaml::Str(text.into())
    }

    /// Creates a list of values without comments.
    pub fn seq(values: impl IntoIterator<Item = Yaml>) -> Yaml {
        Yaml::Seq(
            values
                .into_iter()
                .map(|value| Item {
                    comments: Vec::new(),
                    value,
                    spaced: false,
                })
                .collect(),
        )
    }

    /// Converts a JSON value, keeping the order of object keys.
    pub fn from_json(value: &serde_json::Value) -> Yaml {
        match value {
            serde_json::Value::Null => Yaml::Null,
            serde_json::Value::Bool(b) => Yaml::Bool(*b),
            serde_json::Value::Number(n) => Yaml::Number(n.to_string()),
            serde_json::Value::String(s) => Yaml::Str(s.clone()),
            serde_json::Value::Array(items) => Yaml::seq(items.iter().map(Yaml::from_json)),
            serde_json::Value::Object(entries) => {
                let mut map = Map::block();
                for (key, value) in entries {
                    map.push(key, Yaml::from_json(value));
                }
                Yaml::Map(map)
            }
        }
    }

    fn is_scalar(&self) -> bool {
        !matches!(self, Yaml::Seq(_) | Yaml::Map(_))
    }
}

impl Map {
    /// Creates an empty mapping printed in block style.
    pub fn block() -> Map {
        Map::default()
    }

    /// Creates an empty mapping that prefers flow style.
    pub fn flow() -> Map {
        Map {
            flow: true,
            ..Map::default()
        }
    }

    /// Appends an entry.
    pub fn push(&mut self, key: impl Into<String>, value: Yaml) {
        self.entries.push(Entry {
            comments: Vec::new(),
            key: key.into(),
            value,
        });
    }

    /// Appends an entry with comment lines above it.
    pub fn push_commented(&mut self, comments: Vec<String>, key: impl Into<String>, value: Yaml) {
        self.entries.push(Entry {
            comments,
            key: key.into(),
            value,
        });
    }

    /// Tells whether the mapping has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Prints a document: leading comment lines, then the root mapping.
pub fn document(comments: &[String], root: &Map) -> String {
    let mut out = String::new();
    write_comments(&mut out, comments, 0);
    write_map(&mut out, root, 0);
    out
}

fn write_comments(out: &mut String, comments: &[String], indent: usize) {
    for comment in comments {
        for line in comment.split('\n') {
            let line = line.trim_end_matches(['\r', ' ', '\t']);
            let pad = " ".repeat(indent);
            if line.is_empty() {
                let _ = writeln!(out, "{pad}#");
            } else {
                let _ = writeln!(out, "{pad}# {line}");
            }
        }
    }
}

fn write_map(out: &mut String, map: &Map, indent: usize) {
    for (index, entry) in map.entries.iter().enumerate() {
        if map.spaced && index > 0 && (!entry.comments.is_empty() || is_block(&entry.value)) {
            out.push('\n');
        }
        write_comments(out, &entry.comments, indent);
        out.push_str(&" ".repeat(indent));
        write_entry(out, entry, indent);
    }
    write_comments(out, &map.trailing, indent);
}

fn is_block(value: &Yaml) -> bool {
    match value {
        Yaml::Seq(items) => !items.is_empty(),
        Yaml::Map(map) => !map.is_empty(),
        _ => false,
    }
}

/// Writes `key: value` from the current position (the indentation is already written).
fn write_entry(out: &mut String, entry: &Entry, indent: usize) {
    out.push_str(&key(&entry.key, false));
    out.push(':');
    write_value_after(out, &entry.value, indent);
}

/// Writes a value that follows `key:` or `-`, at the given indentation of its parent.
fn write_value_after(out: &mut String, value: &Yaml, indent: usize) {
    match value {
        Yaml::Str(text) if literal_block(text).is_some() => {
            let (indicator, lines) = literal_block(text).unwrap_or(("|", Vec::new()));
            let _ = writeln!(out, " {indicator}");
            for line in lines {
                if line.is_empty() {
                    out.push('\n');
                } else {
                    let _ = writeln!(out, "{}{line}", " ".repeat(indent + 2));
                }
            }
        }
        Yaml::Str(text) => {
            let _ = writeln!(out, " {}", scalar(text, false));
        }
        _ if value.is_scalar() => {
            let _ = writeln!(out, " {}", flow_text(value));
        }
        Yaml::Seq(items) if items.is_empty() => out.push_str(" []\n"),
        Yaml::Map(map) if map.is_empty() => out.push_str(" {}\n"),
        _ => {
            if let Some(flow) = as_flow(value, indent) {
                let _ = writeln!(out, " {flow}");
                return;
            }
            out.push('\n');
            match value {
                Yaml::Seq(items) => write_seq(out, items, indent + 2),
                Yaml::Map(map) => write_map(out, map, indent + 2),
                _ => {}
            }
        }
    }
}

fn write_seq(out: &mut String, items: &[Item], indent: usize) {
    let pad = " ".repeat(indent);
    for (index, item) in items.iter().enumerate() {
        if item.spaced && index > 0 {
            out.push('\n');
        }
        match &item.value {
            Yaml::Map(map) if !map.is_empty() && as_flow(&item.value, indent).is_none() => {
                let mut comments = item.comments.clone();
                comments.extend(map.entries[0].comments.iter().cloned());
                write_comments(out, &comments, indent);
                out.push_str(&pad);
                out.push_str("- ");
                write_entry(out, &map.entries[0], indent + 2);
                let rest = Map {
                    entries: map.entries[1..].to_vec(),
                    flow: false,
                    spaced: false,
                    trailing: map.trailing.clone(),
                };
                write_map(out, &rest, indent + 2);
            }
            value => {
                write_comments(out, &item.comments, indent);
                out.push_str(&pad);
                out.push('-');
                write_value_after(out, value, indent);
            }
        }
    }
}

/// Returns the one-line flow form of a list of scalars or a flow-preferring mapping, when it fits.
fn as_flow(value: &Yaml, indent: usize) -> Option<String> {
    let text = match value {
        Yaml::Seq(items) => {
            if !items
                .iter()
                .all(|i| i.value.is_scalar() && i.comments.is_empty())
            {
                return None;
            }
            let parts: Vec<String> = items.iter().map(|i| flow_text(&i.value)).collect();
            format!("[{}]", parts.join(", "))
        }
        Yaml::Map(map) if map.flow && map.trailing.is_empty() => {
            let mut parts = Vec::with_capacity(map.entries.len());
            for entry in &map.entries {
                if !entry.comments.is_empty() {
                    return None;
                }
                let value = if entry.value.is_scalar() {
                    flow_text(&entry.value)
                } else {
                    as_flow(&entry.value, indent)?
                };
                parts.push(format!("{}: {value}", key(&entry.key, true)));
            }
            format!("{{ {} }}", parts.join(", "))
        }
        _ => return None,
    };
    (indent + text.chars().count() < FLOW_WIDTH && !text.contains('\n')).then_some(text)
}

/// Prints a scalar as it appears inside a flow collection (or after a key).
fn flow_text(value: &Yaml) -> String {
    match value {
        Yaml::Null => "~".to_owned(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Number(n) => n.clone(),
        Yaml::Str(s) => scalar(s, true),
        Yaml::Seq(_) | Yaml::Map(_) => String::new(),
    }
}

/// Returns the literal block form (`|` or `|-` and the lines) of multi-line text, when YAML can
/// hold the text exactly that way.
fn literal_block(text: &str) -> Option<(&'static str, Vec<&str>)> {
    if !text.contains('\n') || text.ends_with("\n\n") || text == "\n" {
        return None;
    }
    let printable = text
        .chars()
        .all(|c| c == '\n' || (is_printable(c) && c != '\r' && c != '\u{feff}'));
    if !printable {
        return None;
    }
    let (indicator, body) = match text.strip_suffix('\n') {
        Some(body) => ("|", body),
        None => ("|-", text),
    };
    let lines: Vec<&str> = body.split('\n').collect();
    let first = lines.first().copied().unwrap_or("");
    let last = lines.last().copied().unwrap_or("");
    // Leading spaces on the first line would change the detected indentation; a last line of
    // blanks would be read as trailing empty lines; tabs at a line start read as indentation.
    if first.is_empty()
        || first.starts_with(' ')
        || last.trim().is_empty()
        || lines.iter().any(|l| l.starts_with('\t'))
    {
        return None;
    }
    Some((indicator, lines))
}

/// Tells whether YAML can hold a character unescaped (YAML 1.2, `c-printable`), tab excluded.
fn is_printable(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

/// Writes a mapping key; `JSONPath` keys (`"$.id"`) are quoted like the documentation's examples.
fn key(text: &str, in_flow: bool) -> String {
    if text.starts_with('$') {
        double_quoted(text)
    } else {
        scalar(text, in_flow)
    }
}

/// Writes a string as a plain scalar when YAML reads it back as the same string, otherwise
/// double-quoted.
pub fn scalar(text: &str, in_flow: bool) -> String {
    if needs_quotes(text, in_flow) {
        double_quoted(text)
    } else {
        text.to_owned()
    }
}

fn needs_quotes(text: &str, in_flow: bool) -> bool {
    let Some(first) = text.chars().next() else {
        return true;
    };
    if text.starts_with([' ', '\t']) || text.ends_with([' ', '\t']) {
        return true;
    }
    if text.chars().any(|c| !is_printable(c) || c == '\u{feff}') {
        return true;
    }
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        return true;
    }
    // `{{ … }}` templates, keys and comments are always quoted: readable and never ambiguous.
    if text.contains([':', '#', '{', '}']) {
        return true;
    }
    if in_flow && text.contains([',', '[', ']']) {
        return true;
    }
    looks_like_non_string(text)
}

/// Tells whether a plain scalar would be read as null, a boolean or a number (YAML 1.1 or 1.2).
fn looks_like_non_string(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "~" | "null" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "<<" | "="
    ) {
        return true;
    }
    let digits = lower.trim_start_matches(['+', '-']);
    let digits = digits.strip_prefix('.').unwrap_or(digits);
    digits.starts_with(|c: char| c.is_ascii_digit()) || matches!(digits, "inf" | "nan")
}

fn double_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if is_printable(c) && c != '\u{feff}' => out.push(c),
            c if u32::from(c) <= 0xff => {
                let _ = write!(out, "\\x{:02X}", u32::from(c));
            }
            c if u32::from(c) <= 0xffff => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => {
                let _ = write!(out, "\\U{:08X}", u32::from(c));
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_strings_stay_plain() {
        for text in [
            "hello",
            "GET",
            "application/json",
            "$.access_token",
            "a b c",
            "Bearer x",
        ] {
            assert_eq!(scalar(text, false), text);
        }
    }

    #[test]
    fn ambiguous_strings_are_quoted() {
        for text in [
            "",
            " x",
            "x ",
            "true",
            "No",
            "null",
            "~",
            "123",
            "1.5",
            "-1",
            ".5",
            "+1",
            ".inf",
            "0x1F",
            "2xx",
            "a: b",
            "a #b",
            "#x",
            "{{ x }}",
            "Bearer {{ t }}",
            "-x",
            "*a",
            "&a",
            "!t",
            "|",
            ">",
            "'q'",
            "\"q\"",
            "%x",
            "@x",
            "`x",
            "http://h",
            "a\nb",
            "tab\there",
            "<<",
            "?",
            ",x",
        ] {
            assert!(
                scalar(text, false).starts_with('"'),
                "{text:?} should be quoted"
            );
        }
        assert_eq!(scalar("a,b", false), "a,b");
        assert_eq!(scalar("a,b", true), "\"a,b\"");
    }

    #[test]
    fn escapes_control_characters() {
        assert_eq!(
            double_quoted("a\"b\\c\u{1}\u{7f}\u{feff}"),
            r#""a\"b\\c\x01\x7F\uFEFF""#
        );
    }

    #[test]
    fn literal_blocks_only_when_exact() {
        assert_eq!(literal_block("a\nb\n"), Some(("|", vec!["a", "b"])));
        assert_eq!(literal_block("a\n\nb"), Some(("|-", vec!["a", "", "b"])));
        assert_eq!(literal_block("a\nb\n\n"), None);
        assert_eq!(literal_block(" a\nb"), None);
        assert_eq!(literal_block("a\r\nb"), None);
        assert_eq!(literal_block("a\n  "), None);
        assert_eq!(literal_block("one line"), None);
    }

    /// Strings YAML could misread, printed by the writer and read back by apiflow's loader.
    const TRICKY: &[&str] = &[
        "",
        " ",
        "plain",
        "true",
        "False",
        "yes",
        "off",
        "null",
        "~",
        "NULL",
        "0",
        "007",
        "1e3",
        "-1",
        "+1",
        ".5",
        "0x1F",
        "0o17",
        ".inf",
        "-.Inf",
        ".NaN",
        "2xx",
        "1_000",
        "12:30",
        "a: b",
        "a:b",
        "key:",
        "# not a comment",
        "a #b",
        "a#b",
        "- item",
        "-",
        "--- doc",
        "...",
        "? q",
        ": v",
        "[a, b]",
        "{a: b}",
        "a, b",
        "*alias",
        "&anchor",
        "!tag",
        "!!str",
        "|",
        ">",
        "%TAG",
        "@at",
        "`tick`",
        "'single'",
        "\"double\"",
        "it's",
        "back\\slash",
        "tab\there",
        "trailing ",
        " leading",
        "new\nline",
        "two\n\nblank",
        "end\n",
        "ends\n\n",
        "\nstarts",
        "  indented\nlines",
        "cr\r\nlf",
        "bell\u{7}",
        "nul\0",
        "del\u{7f}",
        "nbsp\u{a0}",
        "bom\u{feff}",
        "nel\u{85}",
        "ls\u{2028}",
        "é ü 中文 🙂",
        "$.path",
        "$['a-b'][0]",
        "<<",
        "=",
        "Bearer x",
        "x-www-form-urlencoded",
        "last line\n  ",
        "\t",
        "a\n\tb",
    ];

    fn workflow(vars: Map) -> String {
        let mut request = Map::block();
        request.push("url", Yaml::str("http://127.0.0.1/"));
        let mut step = Map::block();
        step.push("name", Yaml::str("only"));
        step.push("request", Yaml::Map(request));
        let mut root = Map::block();
        root.spaced = true;
        root.push("name", Yaml::str("quoting"));
        root.push("vars", Yaml::Map(vars));
        root.push("steps", Yaml::seq([Yaml::Map(step)]));
        document(&["quoting test".to_owned()], &root)
    }

    #[test]
    fn tricky_strings_read_back_unchanged() {
        let mut vars = Map::block();
        let mut keys = Map::block();
        let mut flow = Map::flow();
        for (i, text) in TRICKY.iter().enumerate() {
            vars.push(format!("v{i}"), Yaml::str(*text));
            keys.push(*text, Yaml::Number(i.to_string()));
            flow.push(*text, Yaml::str(*text));
        }
        vars.push("keys", Yaml::Map(keys));
        vars.push("list", Yaml::seq(TRICKY.iter().map(|t| Yaml::str(*t))));
        vars.push("flow", Yaml::Map(flow));
        let text = workflow(vars);
        let plan =
            apiflow::check_source(&apiflow::span::Source::new("quoting.yaml", text.as_str()))
                .unwrap_or_else(|d| {
                    let shown: Vec<String> = d.iter().map(|d| d.render(false)).collect();
                    panic!("{}\n{text}", shown.join("\n"))
                });
        let literal = |name: &str| -> serde_json::Value {
            let var = plan.workflow.vars.iter().find(|v| v.name.value == name);
            match var.map(|v| &v.value) {
                Some(apiflow::format::model::Value::Literal(value)) => value.clone(),
                other => panic!("`{name}` is not a literal: {other:?}\n{text}"),
            }
        };
        for (i, expected) in TRICKY.iter().enumerate() {
            assert_eq!(
                literal(&format!("v{i}")),
                serde_json::json!(expected),
                "{text}"
            );
        }
        let keys = literal("keys");
        let read: Vec<&str> = keys
            .as_object()
            .expect("map")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(read, TRICKY, "{text}");
        assert_eq!(literal("list"), serde_json::json!(TRICKY), "{text}");
        let flow = literal("flow");
        for (key, value) in flow.as_object().expect("map") {
            assert_eq!(key, value.as_str().expect("text"));
        }
        assert_eq!(flow.as_object().expect("map").len(), TRICKY.len());
    }

    #[test]
    fn numbers_and_templates_keep_their_kind() {
        let mut vars = Map::block();
        vars.push("n", Yaml::Number("42".into()));
        vars.push("f", Yaml::Number("1.5".into()));
        vars.push("e", Yaml::Number("1e100".into()));
        vars.push("neg", Yaml::Number("-7".into()));
        vars.push("b", Yaml::Bool(false));
        vars.push("z", Yaml::Null);
        vars.push("t", Yaml::str("{{ n }}"));
        vars.push("empty_map", Yaml::Map(Map::block()));
        vars.push("empty_list", Yaml::seq([]));
        let text = workflow(vars);
        let plan = apiflow::check_source(&apiflow::span::Source::new("kinds.yaml", text.as_str()))
            .unwrap_or_else(|_| panic!("{text}"));
        let values: Vec<String> = plan
            .workflow
            .vars
            .iter()
            .map(|v| match &v.value {
                apiflow::format::model::Value::Literal(value) => value.to_string(),
                apiflow::format::model::Value::Template(_) => "template".to_owned(),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            values,
            [
                "42", "1.5", "1e+100", "-7", "false", "null", "template", "{}", "[]"
            ],
            "{text}"
        );
    }

    #[test]
    fn prints_block_and_flow_collections() {
        let mut auth = Map::flow();
        auth.push("bearer", Yaml::str("{{ token }}"));
        let mut step = Map::block();
        step.push("name", Yaml::str("get it"));
        step.push("auth", Yaml::Map(auth));
        step.push(
            "status",
            Yaml::seq([Yaml::Number("200".into()), Yaml::Number("201".into())]),
        );
        step.push("body", Yaml::str("line 1\nline 2\n"));
        let mut root = Map::block();
        root.push("steps", Yaml::seq([Yaml::Map(step)]));
        let text = document(&["generated".to_owned()], &root);
        assert_eq!(
            text,
            "# generated\nsteps:\n  - name: get it\n    auth: { bearer: \"{{ token }}\" }\n    status: [200, 201]\n    body: |\n      line 1\n      line 2\n"
        );
    }
}
