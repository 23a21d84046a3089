//! JSON Pointers (RFC 6901) into the YAML node tree: where the value a pointer names is written,
//! where its key is written, and the node itself.
//!
//! Nothing is indexed ahead: a pointer is looked up by walking the nodes only when a problem
//! needs a place, so a document that loads without one pays nothing for it.

use std::borrow::Cow;

use apiflow::format::yaml::{Node, NodeKind};
use apiflow::span::{Source, Span};

/// Where the values and keys of a document are written, by JSON Pointer.
pub(crate) struct Tree<'a> {
    root: &'a Node<'a>,
    source: &'a Source,
}

impl<'a> Tree<'a> {
    /// Reads pointers into `root`, read from `source`.
    pub(crate) fn of(root: &'a Node<'a>, source: &'a Source) -> Tree<'a> {
        Tree { root, source }
    }

    /// Returns where the value at `pointer` is written, or the nearest value holding it.
    pub(crate) fn span(&self, pointer: &str) -> Span {
        span_in(self.root, pointer)
    }

    /// Returns where the key of the value at `pointer` is written, or else the value's span.
    pub(crate) fn key_span(&self, pointer: &str) -> Span {
        let found = pointer.rfind('/').and_then(|cut| {
            let parent = node_at(self.root, &pointer[..cut])?;
            let name = unescape(&pointer[cut + 1..]);
            match &parent.kind {
                NodeKind::Map(entries) => entries
                    .iter()
                    .find(|(key, _)| key.name == name.as_ref())
                    .map(|(key, _)| inside_quotes(key.span, self.source)),
                _ => None,
            }
        });
        found.unwrap_or_else(|| self.span(pointer))
    }
}

/// Returns where the value at `pointer` under `root` is written, or the nearest value holding
/// it (the root when no segment matches).
pub fn span_in(root: &Node<'_>, pointer: &str) -> Span {
    let mut node = root;
    for segment in segments(pointer) {
        match step(node, &segment) {
            Some(next) => node = next,
            None => break,
        }
    }
    node.span
}

/// Moves a key's span past its opening quote (JSON keys are quoted): the span is as long as
/// the key's text.
fn inside_quotes(span: Span, source: &Source) -> Span {
    let first = source.line(span.line).and_then(|line| {
        let start = usize::try_from(span.column.checked_sub(1)?).ok()?;
        line.chars().nth(start)
    });
    if matches!(first, Some('"' | '\'')) {
        span.shifted(1, span.len)
    } else {
        span
    }
}

/// Escapes a mapping key as one JSON Pointer segment: `~` as `~0`, `/` as `~1`.
pub fn escape(segment: &str) -> String {
    if segment.contains(['~', '/']) {
        segment.replace('~', "~0").replace('/', "~1")
    } else {
        segment.to_owned()
    }
}

/// Splits a JSON Pointer into its segments, unescaped (`~1` is `/`, `~0` is `~`).
pub fn segments(pointer: &str) -> Vec<String> {
    if pointer.is_empty() {
        return Vec::new();
    }
    pointer
        .strip_prefix('/')
        .unwrap_or(pointer)
        .split('/')
        .map(|segment| unescape(segment).into_owned())
        .collect()
}

/// Unescapes one JSON Pointer segment: `~1` is `/`, then `~0` is `~`; borrowed when it holds
/// no `~`.
pub(crate) fn unescape(segment: &str) -> Cow<'_, str> {
    if segment.contains('~') {
        Cow::Owned(segment.replace("~1", "/").replace("~0", "~"))
    } else {
        Cow::Borrowed(segment)
    }
}

/// Joins a pointer and one more segment, escaping it.
pub(crate) fn child(pointer: &str, segment: &str) -> String {
    format!("{pointer}/{}", escape(segment))
}

/// Returns the node a JSON Pointer names under `root`.
pub(crate) fn node_at<'n>(root: &'n Node<'n>, pointer: &str) -> Option<&'n Node<'n>> {
    let mut node = root;
    for segment in segments(pointer) {
        node = step(node, &segment)?;
    }
    Some(node)
}

/// Returns the member or item of `node` one unescaped segment names.
fn step<'n>(node: &'n Node<'n>, segment: &str) -> Option<&'n Node<'n>> {
    match &node.kind {
        NodeKind::Map(entries) => entries
            .iter()
            .find(|(key, _)| key.name == segment)
            .map(|(_, value)| value),
        NodeKind::Seq(items) => items.get(segment.parse::<usize>().ok()?),
        _ => None,
    }
}

/// Returns the value of `key` in a mapping node.
pub(crate) fn get<'n>(node: &'n Node<'n>, key: &str) -> Option<&'n Node<'n>> {
    match &node.kind {
        NodeKind::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, value)| value),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// Parses `text` and hands its tree to `check`.
    fn with_tree(text: &str, check: impl FnOnce(&Tree<'_>)) {
        let source: Arc<Source> = Source::new("t.yaml", text);
        let root = apiflow::format::yaml::parse(&source).expect("test YAML parses");
        check(&Tree::of(&root, &source));
    }

    #[test]
    fn escapes_tilde_before_slash() {
        assert_eq!(escape("/pets/{id}"), "~1pets~1{id}");
        assert_eq!(escape("a~b"), "a~0b");
        assert_eq!(escape("~1"), "~01");
        assert_eq!(escape("plain"), "plain");
        assert_eq!(
            segments("/paths/~1pets~1{id}/get"),
            ["paths", "/pets/{id}", "get"]
        );
        assert_eq!(segments("/~01"), ["~1"]);
        assert_eq!(segments(""), Vec::<String>::new());
        assert_eq!(segments("/"), [""]);
        for key in ["a/b", "~", "~0", "~/1", ""] {
            assert_eq!(segments(&child("", key)), [key]);
        }
    }

    #[test]
    fn points_at_values_and_keys() {
        with_tree("a:\n  - x\n  - y: 1\nb/c~: true\n", |tree| {
            assert_eq!(tree.span("/a/1/y"), Span::new(3, 8, 1));
            assert_eq!(tree.key_span("/a/1/y"), Span::new(3, 5, 1));
            assert_eq!(tree.key_span("/b~1c~0"), Span::new(4, 1, 4));
            assert_eq!(tree.span("/b~1c~0"), Span::new(4, 7, 4));
            assert_eq!(tree.span("/a/0"), Span::new(2, 5, 1));
            // An item has no key: its own place stands for it.
            assert_eq!(tree.key_span("/a/0"), tree.span("/a/0"));
        });
    }

    #[test]
    fn a_missing_pointer_falls_back_to_the_nearest_value_holding_it() {
        with_tree("a:\n  b: 1\n", |tree| {
            assert_eq!(tree.span("/a/b/c/d"), tree.span("/a/b"));
            assert_eq!(tree.span("/z"), tree.span(""));
            assert_eq!(tree.key_span("/a/z"), tree.span("/a"));
        });
    }

    #[test]
    fn json_keeps_positions_too() {
        with_tree(
            "{\n  \"arazzo\": \"1.1.0\",\n  \"info\": {\"title\": \"t\"}\n}\n",
            |tree| {
                assert_eq!(tree.span("/arazzo").line, 2);
                assert_eq!(tree.key_span("/info/title"), Span::new(3, 13, 5));
            },
        );
    }
}
