//! JSON Pointers (RFC 6901) into the YAML node tree: every value's pointer with where it is
//! written, where each mapping key is written, and the node a pointer names.

use std::collections::HashMap;

use apiflow::format::yaml::{Node, NodeKind};
use apiflow::span::{Source, Span};

/// Where every value and every key of a document is written, by JSON Pointer.
pub(crate) struct Tree {
    /// Each value's pointer and span, in document order.
    pub(crate) values: Vec<(String, Span)>,
    /// The span of each value, by pointer.
    value_spans: HashMap<String, Span>,
    /// The span of the key a value is written under, by the value's pointer.
    key_spans: HashMap<String, Span>,
}

impl Tree {
    /// Records the pointer of every value under `root`, read from `source`.
    pub(crate) fn of(root: &Node<'_>, source: &Source) -> Tree {
        let mut tree = Tree {
            values: Vec::new(),
            value_spans: HashMap::new(),
            key_spans: HashMap::new(),
        };
        let mut pointer = String::new();
        tree.visit(root, source, &mut pointer);
        tree
    }

    fn visit(&mut self, node: &Node<'_>, source: &Source, pointer: &mut String) {
        self.values.push((pointer.clone(), node.span));
        self.value_spans.insert(pointer.clone(), node.span);
        let length = pointer.len();
        match &node.kind {
            NodeKind::Seq(items) => {
                for (index, item) in items.iter().enumerate() {
                    pointer.push('/');
                    pointer.push_str(&index.to_string());
                    self.visit(item, source, pointer);
                    pointer.truncate(length);
                }
            }
            NodeKind::Map(entries) => {
                for (key, value) in entries {
                    pointer.push('/');
                    pointer.push_str(&escape(&key.name));
                    self.key_spans
                        .insert(pointer.clone(), inside_quotes(key.span, source));
                    self.visit(value, source, pointer);
                    pointer.truncate(length);
                }
            }
            _ => {}
        }
    }

    /// Returns where the value at `pointer` is written, or the nearest value holding it.
    pub(crate) fn span(&self, pointer: &str) -> Span {
        let mut pointer = pointer;
        loop {
            if let Some(span) = self.value_spans.get(pointer) {
                return *span;
            }
            match pointer.rfind('/') {
                Some(cut) => pointer = &pointer[..cut],
                None => return self.values.first().map_or_else(Span::default, |(_, s)| *s),
            }
        }
    }

    /// Returns where the key of the value at `pointer` is written, or else the value's span.
    pub(crate) fn key_span(&self, pointer: &str) -> Span {
        self.key_spans
            .get(pointer)
            .copied()
            .unwrap_or_else(|| self.span(pointer))
    }
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
        .map(|segment| segment.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// Joins a pointer and one more segment, escaping it.
pub(crate) fn child(pointer: &str, segment: &str) -> String {
    format!("{pointer}/{}", escape(segment))
}

/// Returns the node a JSON Pointer names under `root`.
pub(crate) fn node_at<'n>(root: &'n Node<'n>, pointer: &str) -> Option<&'n Node<'n>> {
    let mut node = root;
    for segment in segments(pointer) {
        node = match &node.kind {
            NodeKind::Map(entries) => entries
                .iter()
                .find(|(key, _)| key.name == segment.as_str())
                .map(|(_, value)| value)?,
            NodeKind::Seq(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
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

    fn parsed(text: &str) -> (Arc<Source>, Tree) {
        let source = Source::new("t.yaml", text);
        let tree = {
            let root = apiflow::format::yaml::parse(&source).expect("test YAML parses");
            Tree::of(&root, &source)
        };
        (source, tree)
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
    fn points_at_every_value_in_document_order() {
        let (_, tree) = parsed("a:\n  - x\n  - y: 1\nb/c~: true\n");
        let pointers: Vec<&str> = tree.values.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(pointers, ["", "/a", "/a/0", "/a/1", "/a/1/y", "/b~1c~0"]);
        assert_eq!(tree.span("/a/1/y"), Span::new(3, 8, 1));
        assert_eq!(tree.key_span("/a/1/y"), Span::new(3, 5, 1));
        assert_eq!(tree.key_span("/b~1c~0"), Span::new(4, 1, 4));
        assert_eq!(tree.span("/a/0"), Span::new(2, 5, 1));
    }

    #[test]
    fn a_missing_pointer_falls_back_to_the_nearest_value_holding_it() {
        let (_, tree) = parsed("a:\n  b: 1\n");
        assert_eq!(tree.span("/a/b/c/d"), tree.span("/a/b"));
        assert_eq!(tree.span("/z"), tree.span(""));
    }

    #[test]
    fn json_keeps_positions_too() {
        let (_, tree) = parsed("{\n  \"arazzo\": \"1.1.0\",\n  \"info\": {\"title\": \"t\"}\n}\n");
        assert_eq!(tree.span("/arazzo").line, 2);
        assert_eq!(tree.key_span("/info/title"), Span::new(3, 13, 5));
    }
}
