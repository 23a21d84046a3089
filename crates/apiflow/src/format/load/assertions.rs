//! Loading what a response must look like: `expect` with its status patterns, JSON
//! expectations and checks.

use super::{EXPECT_KEYS, Loader};
use crate::format::model::{Expect, JsonExpectation, PathId, StatusPattern};
use crate::format::yaml::{Node, NodeKind};
use crate::span::{Span, Spanned};

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
        self.finish(&fields, EXPECT_KEYS, "expect");
        Expect {
            status,
            json,
            headers,
            checks,
        }
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
