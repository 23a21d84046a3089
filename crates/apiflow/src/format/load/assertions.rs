//! Loading what a response must look like: `expect` with its status patterns, JSON
//! expectations and checks.

use std::sync::Arc;

use super::{EXPECT_KEYS, Loader};
use crate::format::model::{
    BodySchema, Expect, FilePath, JsonExpectation, PathId, SchemaDocument, SchemaText,
    StatusPattern,
};
use crate::format::yaml::{Node, NodeKind};
use crate::span::{Source, Span, Spanned};

impl Loader {
    pub(super) fn expect(&mut self, node: &Node) -> Expect {
        let Some(mut fields) = self.fields(node, "expect") else {
            return Expect::default();
        };
        let status = fields.get("status").and_then(|n| self.status(n));
        let json = fields
            .get("json")
            .map(|n| self.json_expectations(n))
            .unwrap_or_default();
        let headers = fields
            .get("headers")
            .map(|n| self.text_map(n, "expect.headers"))
            .unwrap_or_default();
        let checks = match fields.get("checks") {
            Some(Node {
                kind: NodeKind::Seq(items),
                ..
            }) => items
                .iter()
                .filter_map(|item| self.expression(item, "checks"))
                .collect(),
            Some(other) => {
                self.expected("checks", "a list of expressions", other);
                Vec::new()
            }
            None => Vec::new(),
        };
        let schema_key = fields.key("schema").map(|k| k.span);
        let schema = fields
            .get("schema")
            .zip(schema_key)
            .and_then(|(n, span)| self.body_schema(n, span));
        self.finish(&fields, EXPECT_KEYS, "expect");
        Expect {
            status,
            json,
            headers,
            checks,
            schema,
        }
    }

    /// Reads `expect.schema`: a schema written as YAML, `true`/`false`, or `{ file: PATH }`.
    fn body_schema(&mut self, node: &Node, key: Span) -> Option<BodySchema> {
        let document = match &node.kind {
            NodeKind::Map(entries) if entries.len() == 1 && entries[0].0.name == "file" => {
                SchemaDocument::File(FilePath::new(
                    self.string(&entries[0].1, "expect.schema.file")?,
                ))
            }
            NodeKind::Map(_) | NodeKind::Bool(_) => {
                SchemaDocument::Inline(schema_text(node, &self.source))
            }
            _ => {
                self.expected(
                    "expect.schema",
                    "a JSON Schema (a mapping, `true` or `false`) or `{ file: PATH }`",
                    node,
                );
                return None;
            }
        };
        Some(BodySchema {
            span: key,
            document,
        })
    }

    pub(super) fn status(&mut self, node: &Node) -> Option<Spanned<Vec<StatusPattern>>> {
        let items: Vec<&Node> = match &node.kind {
            NodeKind::Seq(items) if !items.is_empty() => items.iter().collect(),
            NodeKind::Seq(_) => {
                self.expected("status", "at least one status", node);
                return None;
            }
            _ => vec![node],
        };
        let mut patterns = Vec::with_capacity(items.len());
        for item in items {
            let pattern = match &item.kind {
                NodeKind::Int(code) if (100..=599).contains(code) => {
                    u16::try_from(*code).ok().map(StatusPattern::Code)
                }
                NodeKind::Str(s) => parse_status_class(s),
                _ => None,
            };
            match pattern {
                Some(pattern) => patterns.push(pattern),
                None => self.expected(
                    "status",
                    "a status from 100 to 599 or a class like `2xx`",
                    item,
                ),
            }
        }
        Some(Spanned::new(patterns, node.span))
    }

    pub(super) fn json_expectations(&mut self, node: &Node) -> Vec<JsonExpectation> {
        let NodeKind::Map(entries) = &node.kind else {
            self.expected(
                "expect.json",
                "a mapping of JSONPaths to expected values",
                node,
            );
            return Vec::new();
        };
        entries
            .iter()
            .map(|(key, value)| JsonExpectation {
                path: self.path(&key.name, key.span),
                value: self.value(value),
                span: key.span,
            })
            .collect()
    }

    pub(super) fn path(&mut self, text: &str, span: Span) -> PathId {
        let id = PathId(u32::try_from(self.paths.len()).unwrap_or(u32::MAX));
        self.paths.push(Spanned::new(text.to_owned(), span));
        id
    }
}

fn parse_status_class(text: &str) -> Option<StatusPattern> {
    let bytes = text.trim().as_bytes();
    match bytes {
        [digit @ b'1'..=b'5', b'x' | b'X', b'x' | b'X'] => {
            Some(StatusPattern::Class(u16::from(digit - b'0')))
        }
        _ => text
            .trim()
            .parse::<u16>()
            .ok()
            .filter(|c| (100..=599).contains(c))
            .map(StatusPattern::Code),
    }
}

/// Turns a YAML node holding a JSON Schema into JSON, noting where each value is written.
pub fn schema_text(node: &Node, source: &Arc<Source>) -> SchemaText {
    let mut spans = Vec::new();
    let mut pointer = String::new();
    note_spans(node, &mut pointer, &mut spans);
    SchemaText {
        value: node.to_json(),
        source: Arc::clone(source),
        spans,
    }
}

fn note_spans(node: &Node, pointer: &mut String, spans: &mut Vec<(String, Span)>) {
    spans.push((pointer.clone(), node.span));
    let length = pointer.len();
    match &node.kind {
        NodeKind::Map(entries) => {
            for (key, value) in entries {
                pointer.push('/');
                pointer.push_str(&key.name.replace('~', "~0").replace('/', "~1"));
                note_spans(value, pointer, spans);
                pointer.truncate(length);
            }
        }
        NodeKind::Seq(items) => {
            for (index, item) in items.iter().enumerate() {
                pointer.push('/');
                pointer.push_str(&index.to_string());
                note_spans(item, pointer, spans);
                pointer.truncate(length);
            }
        }
        _ => {}
    }
}
