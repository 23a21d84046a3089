//! YAML text to a tree of nodes that keep their source positions (the only user of
//! serde-saphyr).
//!
//! Block mappings and sequences of one-line scalars and block scalars, as workflows nearly always
//! are, are read line by line in `block`. Everything else, and every error, goes through
//! serde-saphyr. Both build the very same tree.

mod block;
#[cfg(test)]
mod differential;
mod resolve;
mod scan;

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned as YamlSpanned};

use crate::diagnostic::Diagnostic;
use crate::span::{Source, Span, Spanned};

/// The largest workflow file apiflow reads.
pub const MAX_FILE_SIZE: usize = 8 * 1024 * 1024;

/// A YAML value with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Node<'a> {
    /// The value.
    pub kind: NodeKind<'a>,
    /// Where it starts.
    pub span: Span,
}

/// The shapes a YAML value can take.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind<'a> {
    /// `~`, `null` or nothing.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A number with a fraction.
    Float(f64),
    /// Any text, borrowed from the source where it is written as is.
    Str(Cow<'a, str>),
    /// A list.
    Seq(Vec<Node<'a>>),
    /// A mapping, in source order.
    Map(Vec<(Key<'a>, Node<'a>)>),
}

/// A mapping key with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Key<'a> {
    /// The key as text.
    pub name: Cow<'a, str>,
    /// Where it is written.
    pub span: Span,
}

impl Key<'_> {
    /// The key's text, owned, with where it is written.
    pub fn to_spanned(&self) -> Spanned<String> {
        Spanned::new(self.name.to_string(), self.span)
    }
}

impl Node<'_> {
    /// Names the kind of value for messages: `a string`, `a list`, ….
    pub fn describe(&self) -> &'static str {
        match self.kind {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "a boolean",
            NodeKind::Int(_) => "an integer",
            NodeKind::Float(_) => "a number",
            NodeKind::Str(_) => "a string",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }

    /// Returns the scalar as text, for places where any scalar is accepted as a string.
    pub fn scalar_text(&self) -> Option<Cow<'_, str>> {
        match &self.kind {
            NodeKind::Str(s) => Some(Cow::Borrowed(s)),
            NodeKind::Int(i) => Some(Cow::Owned(i.to_string())),
            NodeKind::Float(f) => Some(Cow::Owned(f.to_string())),
            NodeKind::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            NodeKind::Null | NodeKind::Seq(_) | NodeKind::Map(_) => None,
        }
    }

    /// Converts to plain JSON, dropping positions.
    pub fn to_json(&self) -> serde_json::Value {
        match &self.kind {
            NodeKind::Null => serde_json::Value::Null,
            NodeKind::Bool(b) => serde_json::Value::Bool(*b),
            NodeKind::Int(i) => serde_json::Value::from(*i),
            NodeKind::Float(f) => serde_json::Number::from_f64(*f)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            NodeKind::Str(s) => serde_json::Value::String(s.to_string()),
            NodeKind::Seq(items) => items.iter().map(Node::to_json).collect(),
            NodeKind::Map(entries) => entries
                .iter()
                .map(|(k, v)| (k.name.to_string(), v.to_json()))
                .collect::<serde_json::Map<_, _>>()
                .into(),
        }
    }
}

/// Reads bytes as a UTF-8 YAML document into a node tree, or says exactly where it is malformed.
pub fn parse(source: &Arc<Source>) -> Result<Node<'_>, Diagnostic> {
    if source.text.len() > MAX_FILE_SIZE {
        return Err(Diagnostic::error(format!(
            "`{}` is too large: {} bytes, the limit is {} bytes",
            source.name,
            source.text.len(),
            MAX_FILE_SIZE
        ))
        .help("split the workflow into smaller files"));
    }
    if source.text.trim().is_empty() {
        return Err(Diagnostic::error(format!("`{}` is empty", source.name))
            .help("a workflow needs at least `name:` and `steps:`"));
    }
    if let Some(root) = block::parse(&source.text) {
        return Ok(root);
    }
    parse_with_serde(source)
}

/// Reads `text` with the block reader alone: its tree, or `None` where it gives up. For the
/// differential tests, the fuzz target and the benchmarks.
#[doc(hidden)]
pub fn parse_block(text: &str) -> Option<Node<'_>> {
    block::parse(text)
}

/// Reads `text` with serde-saphyr alone: its tree, or `None` where it reports an error. For
/// the differential tests, the fuzz target and the benchmarks.
#[doc(hidden)]
pub fn parse_serde(text: &str) -> Option<Node<'static>> {
    parse_with_serde(&Source::new("t.yaml", text)).ok()
}

/// Reads YAML through serde-saphyr: every YAML feature, and the messages for every error.
fn parse_with_serde(source: &Arc<Source>) -> Result<Node<'static>, Diagnostic> {
    // YAML 1.2 booleans only: `n`, `y`, `no`, `on`, `off`… are text (names, country codes).
    let options = serde_saphyr::options! { strict_booleans: true };
    let parsed: Result<YamlSpanned<Raw>, _> =
        serde_saphyr::from_str_with_options(&source.text, options);
    match parsed {
        // Comments alone parse as a null document: nothing to point at.
        Ok(root) if matches!(root.value, Raw::Null) && only_comments(&source.text) => Err(
            Diagnostic::error(format!("`{}` holds only comments", source.name))
                .help("a workflow needs at least `name:` and `steps:`"),
        ),
        Ok(root) => Ok(convert(root)),
        Err(error) => {
            let span = error
                .location()
                .map_or(Span::new(1, 1, 1), |l| span_of(l, 1));
            let message = clean_message(&error.without_snippet().to_string());
            let (title, help) = explain(&message);
            Err(Diagnostic::error(title)
                .at(source, span, "here")
                .maybe_help(help))
        }
    }
}

fn only_comments(text: &str) -> bool {
    text.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#')
    })
}

/// Turns bytes into text, naming the line and column of the first byte that is not UTF-8.
pub fn decode(name: &str, bytes: Vec<u8>) -> Result<String, Diagnostic> {
    String::from_utf8(bytes).map_err(|error| {
        let valid = error.utf8_error().valid_up_to();
        let bytes = error.as_bytes();
        let before = String::from_utf8_lossy(&bytes[..valid]);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Diagnostic::error(format!(
            "`{name}` is not valid UTF-8: byte 0x{:02x} at line {line}, column {column}",
            bytes[valid]
        ))
        .help("save the file as UTF-8")
    })
}

fn clean_message(raw: &str) -> String {
    let mut message = raw.trim();
    if let Some(rest) = message.strip_prefix("error: ") {
        message = rest;
    }
    // serde-saphyr prefixes `line N column M: `; the diagnostic shows the place itself.
    if message.starts_with("line ")
        && let Some((_, rest)) = message.split_once(": ")
    {
        message = rest;
    }
    let mut message = message.lines().next().unwrap_or(message);
    // Some messages end with ` at line N, column M`, which the diagnostic shows already.
    if let Some((head, place)) = message.rsplit_once(" at line ")
        && let Some((line, column)) = place.split_once(", column ")
        && [line, column]
            .iter()
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    {
        message = head;
    }
    message
        .split(", set DuplicateKeyPolicy")
        .next()
        .unwrap_or(message)
        .trim()
        .to_owned()
}

fn explain(message: &str) -> (String, Option<String>) {
    if let Some(rest) = message.strip_prefix("budget breached: Depth { depth: ") {
        // The budget is breached one level past the limit.
        let limit = rest
            .trim_end_matches(" }")
            .parse::<u64>()
            .map_or(0, |depth| depth.saturating_sub(1));
        return (
            format!("the YAML nests more than {limit} levels deep"),
            Some("nest lists and mappings fewer levels deep".into()),
        );
    }
    if message.starts_with("multiple YAML documents detected") {
        return (
            "a workflow file holds one YAML document, but this one holds several".to_owned(),
            Some("remove the `---` line that starts the second document, or split the file".into()),
        );
    }
    if let Some(key) = message.strip_prefix("duplicate mapping key: ") {
        return (
            format!("duplicate key `{key}`"),
            Some("each key may appear once in a mapping; remove or rename one of them".into()),
        );
    }
    let help = if message.contains("tab") {
        Some("indent with spaces, not tabs".to_owned())
    } else if message.contains("unclosed quote") {
        Some("close the string with the same quote it starts with".to_owned())
    } else if message.contains("unclosed bracket") {
        Some("close the `[` or `{` before the line ends or the file ends".to_owned())
    } else {
        None
    };
    (format!("invalid YAML: {message}"), help)
}

fn span_of(location: Location, len: u32) -> Span {
    Span::new(
        location.line().try_into().unwrap_or(u32::MAX),
        location.column().try_into().unwrap_or(u32::MAX),
        len,
    )
}

fn convert(value: YamlSpanned<Raw>) -> Node<'static> {
    let len = u32::try_from(value.referenced.span().len())
        .unwrap_or(1)
        .max(1);
    let span = span_of(value.referenced, len);
    let kind = match value.value {
        Raw::Null => NodeKind::Null,
        Raw::Bool(b) => NodeKind::Bool(b),
        Raw::Int(i) => NodeKind::Int(i),
        Raw::Float(f) => NodeKind::Float(f),
        Raw::Str(s) => NodeKind::Str(Cow::Owned(s)),
        Raw::Seq(items) => NodeKind::Seq(items.into_iter().map(convert).collect()),
        Raw::Map(entries) => NodeKind::Map(
            entries
                .into_iter()
                .map(|(k, v)| (key_of(convert(k)), convert(v)))
                .collect(),
        ),
    };
    Node { kind, span }
}

/// Turns a mapping key's node into a key: its text (or its kind, for a key that is not a
/// scalar), spanning as many characters as the text has.
fn key_of(key: Node<'_>) -> Key<'_> {
    let name = match key.kind {
        NodeKind::Str(name) => name,
        _ => Cow::Owned(
            key.scalar_text()
                .map_or_else(|| key.describe().to_owned(), Cow::into_owned),
        ),
    };
    let len = if name.is_ascii() {
        name.len()
    } else {
        name.chars().count()
    };
    let span = Span::new(
        key.span.line,
        key.span.column,
        u32::try_from(len).unwrap_or(1).max(1),
    );
    Key { name, span }
}

/// The untyped YAML value serde-saphyr fills in; converted to `Node` right away.
enum Raw {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<YamlSpanned<Raw>>),
    Map(Vec<(YamlSpanned<Raw>, YamlSpanned<Raw>)>),
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Raw, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_none<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
        Raw::deserialize(d)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Raw, E> {
        Ok(Raw::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<Raw, E> {
        Ok(Raw::Int(i))
    }
    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Raw, E> {
        i64::try_from(u)
            .map(Raw::Int)
            .or(Ok(Raw::Str(u.to_string())))
    }
    fn visit_i128<E>(self, i: i128) -> Result<Raw, E> {
        Ok(i64::try_from(i).map_or_else(|_| Raw::Str(i.to_string()), Raw::Int))
    }
    fn visit_u128<E>(self, u: u128) -> Result<Raw, E> {
        Ok(i64::try_from(u).map_or_else(|_| Raw::Str(u.to_string()), Raw::Int))
    }
    fn visit_f64<E>(self, f: f64) -> Result<Raw, E> {
        Ok(Raw::Float(f))
    }
    fn visit_str<E>(self, s: &str) -> Result<Raw, E> {
        Ok(Raw::Str(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Raw, E> {
        Ok(Raw::Str(s))
    }
    fn visit_bytes<E>(self, b: &[u8]) -> Result<Raw, E> {
        Ok(Raw::Str(String::from_utf8_lossy(b).into_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Raw::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key()? {
            let value = map.next_value()?;
            entries.push((key, value));
        }
        Ok(Raw::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Node<'static>, String> {
        // The tree borrows from the source, which a test may as well keep to the end.
        let source: &'static Arc<Source> = Box::leak(Box::new(Source::new("t.yaml", text)));
        parse(source).map_err(|d| d.render(false))
    }

    #[test]
    fn keeps_positions_of_keys_and_values() {
        let node = parse_text("name: demo\nsteps:\n  - url: x\n").unwrap();
        let NodeKind::Map(entries) = &node.kind else {
            panic!("not a map")
        };
        assert_eq!(entries[0].0.name, "name");
        assert_eq!(entries[0].0.span, Span::new(1, 1, 4));
        assert_eq!(entries[0].1.span.line, 1);
        assert_eq!(entries[0].1.span.column, 7);
        let NodeKind::Seq(steps) = &entries[1].1.kind else {
            panic!("not a seq")
        };
        assert_eq!(steps[0].span.line, 3);
    }

    #[test]
    fn reads_yes_no_on_off_as_text() {
        let node = parse_text("n: no\ny: on\nt: true\nf: False\n").unwrap();
        let NodeKind::Map(entries) = &node.kind else {
            panic!("not a map")
        };
        let pairs: Vec<(&str, &NodeKind)> = entries
            .iter()
            .map(|(k, v)| (k.name.as_ref(), &v.kind))
            .collect();
        assert_eq!(
            pairs,
            [
                ("n", &NodeKind::Str("no".into())),
                ("y", &NodeKind::Str("on".into())),
                ("t", &NodeKind::Bool(true)),
                ("f", &NodeKind::Bool(false)),
            ]
        );
    }

    #[test]
    fn reports_duplicate_keys_where_they_are() {
        let text = parse_text("a: 1\na: 2\n").unwrap_err();
        assert!(
            text.starts_with("error: duplicate key `a`\n --> t.yaml:2:1\n"),
            "{text}"
        );
    }

    #[test]
    fn says_what_to_do_about_a_second_document() {
        let text = parse_text("name: a\n---\nname: b\n").unwrap_err();
        assert!(
            text.starts_with(
                "error: a workflow file holds one YAML document, but this one holds several\n"
            ),
            "{text}"
        );
        assert!(!text.contains("from_str"), "{text}");
    }

    #[test]
    fn says_how_deep_yaml_may_nest() {
        let text = format!("a: {}{}\n", "[".repeat(70), "]".repeat(70));
        let text = parse_text(&text).unwrap_err();
        assert!(
            text.starts_with("error: the YAML nests more than 64 levels deep\n"),
            "{text}"
        );
    }

    #[test]
    fn a_file_of_comments_has_no_workflow() {
        let text = parse_text("# soon\n\n# later\n").unwrap_err();
        assert_eq!(
            text,
            "error: `t.yaml` holds only comments\n  = help: a workflow needs at least `name:` and `steps:`\n"
        );
    }

    #[test]
    fn names_the_first_byte_that_is_not_utf8() {
        let error = decode("x.yaml", b"name: a\nb: \xff\n".to_vec()).unwrap_err();
        assert_eq!(
            error.title,
            "`x.yaml` is not valid UTF-8: byte 0xff at line 2, column 4"
        );
    }
}
