//! One file of an OpenAPI description: its text, its JSON, and where each value is written.

use std::path::PathBuf;
use std::sync::Arc;

use crate::diagnostic::{Diagnostic, json_syntax};
use crate::format::yaml::{self, Node, NodeKind};
use crate::span::{Source, Span};

/// A file of a description (the description itself, or a file its `$ref`s name), read.
#[derive(Clone, Debug)]
pub struct Document {
    /// The file, named as given or as reached from the description's name.
    pub source: Arc<Source>,
    /// Where it is on disk, absolute and normalised; `None` for text given without a file.
    pub path: Option<PathBuf>,
    /// Its content as JSON.
    pub json: serde_json::Value,
    /// The JSON Pointer of every value, with where it is written, sorted by pointer.
    pub pointers: Vec<(String, Span)>,
}

impl Document {
    /// Reads a file's text as YAML, or as JSON when its name ends in `.json`.
    pub fn parse(source: &Arc<Source>, path: Option<PathBuf>) -> Result<Document, Diagnostic> {
        if source.text.trim().is_empty() {
            return Err(
                Diagnostic::error(format!("`{}` is empty", source.name)).help(
                    "an OpenAPI description is a YAML or JSON document starting with `openapi:`",
                ),
            );
        }
        let is_json = std::path::Path::new(&source.name)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let (json, pointers) = if is_json {
            // JSON is read as JSON (tabs and all); the YAML reader, when it agrees, only adds
            // positions.
            let json: serde_json::Value = serde_json::from_str(&source.text)
                .map_err(|e| json_syntax(source, &source.name, &e))?;
            let pointers = yaml::parse(source)
                .ok()
                .filter(|node| node.to_json() == json)
                .map(|node| pointers_of(&node))
                .unwrap_or_default();
            (json, pointers)
        } else {
            let node = yaml::parse(source)?;
            (node.to_json(), pointers_of(&node))
        };
        Ok(Document {
            source: Arc::clone(source),
            path,
            json,
            pointers,
        })
    }

    /// Returns where the value at a JSON Pointer is written, or the nearest value holding it.
    pub fn span_of(&self, pointer: &str) -> Span {
        let mut pointer = pointer;
        loop {
            if let Ok(found) = self
                .pointers
                .binary_search_by(|(p, _)| p.as_str().cmp(pointer))
            {
                return self.pointers[found].1;
            }
            match pointer.rfind('/') {
                Some(cut) => pointer = &pointer[..cut],
                None => return Span::new(1, 1, 1),
            }
        }
    }
}

/// Lists the pointer of every value of a tree with its position: a mapping or a list by its
/// key (where a reader looks), a scalar by itself.
fn pointers_of(root: &Node) -> Vec<(String, Span)> {
    fn walk(node: &Node, pointer: &mut String, out: &mut Vec<(String, Span)>) {
        let length = pointer.len();
        match &node.kind {
            NodeKind::Map(entries) => {
                for (key, value) in entries {
                    pointer.push('/');
                    pointer.push_str(&escape(&key.name));
                    let span = match value.kind {
                        NodeKind::Map(_) | NodeKind::Seq(_) | NodeKind::Null => key.span,
                        _ => value.span,
                    };
                    out.push((pointer.clone(), span));
                    walk(value, pointer, out);
                    pointer.truncate(length);
                }
            }
            NodeKind::Seq(items) => {
                for (index, item) in items.iter().enumerate() {
                    pointer.push('/');
                    pointer.push_str(&index.to_string());
                    out.push((pointer.clone(), item.span));
                    walk(item, pointer, out);
                    pointer.truncate(length);
                }
            }
            _ => {}
        }
    }
    let mut out = vec![(String::new(), root.span)];
    walk(root, &mut String::new(), &mut out);
    out.sort_by(|a, b| a.0.cmp(&b.0));
    // A key written twice keeps its first position.
    out.dedup_by(|later, earlier| later.0 == earlier.0);
    out
}

/// Escapes one segment of a JSON Pointer (RFC 6901: `~` as `~0`, `/` as `~1`).
pub(super) fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Undoes [`escape`] on one segment.
pub(super) fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

/// Splits a JSON Pointer into its segments, unescaped (`""` has none).
pub(super) fn segments(pointer: &str) -> Vec<String> {
    pointer.split('/').skip(1).map(unescape).collect::<Vec<_>>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_are_escaped_and_spans_found_for_the_nearest_value() {
        let source = Source::new(
            "a.yaml",
            "paths:\n  /pets/{id}:\n    get:\n      operationId: show\n",
        );
        let document = Document::parse(&source, None).unwrap();
        assert_eq!(
            document.json.pointer("/paths/~1pets~1{id}/get/operationId"),
            Some(&serde_json::json!("show"))
        );
        assert_eq!(document.span_of("/paths/~1pets~1{id}/get").line, 3);
        assert_eq!(
            document.span_of("/paths/~1pets~1{id}/get/operationId"),
            Span::new(4, 20, 4)
        );
        assert_eq!(document.span_of("/paths/~1pets~1{id}/get/nothing").line, 3);
        assert_eq!(segments("/a~1b/c~0d"), ["a/b", "c~d"]);
    }

    #[test]
    fn json_files_are_read_as_json() {
        let source = Source::new("a.json", "{\"openapi\":\t\"3.1.0\"}");
        let document = Document::parse(&source, None).unwrap();
        assert_eq!(document.json["openapi"], "3.1.0");
        let broken = Source::new("a.json", "{\"openapi\": }");
        let error = Document::parse(&broken, None).unwrap_err();
        assert!(error.title.contains("not valid JSON"), "{}", error.title);
    }
}
