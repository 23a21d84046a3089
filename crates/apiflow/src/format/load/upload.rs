//! Loading what a request reads from or writes to files: `body: { file }`, `body: { template }`,
//! `multipart:` parts and a step's `save:`.

use super::{BODY_FILE_KEYS, Loader, PART_FILE_KEYS};
use crate::delimiters::has_template;
use crate::format::model::{Body, FilePath, MultipartPart, PartValue};
use crate::format::yaml::{Node, NodeKind};
use crate::span::Spanned;

impl Loader {
    /// Reads `body:`: text, or a mapping with `file` or `template`.
    pub(super) fn body(&mut self, node: &Node) -> Option<Body> {
        if !matches!(node.kind, NodeKind::Map(_)) {
            return self.text(node, "body").map(Body::Text);
        }
        let mut fields = self.fields(node, "body")?;
        let content_type = fields
            .get("content_type")
            .and_then(|n| self.text(n, "content_type"));
        let body = match (fields.get("file"), fields.get("template")) {
            (Some(file), None) => self
                .file_path(file, "file")
                .map(|file| Body::File { file, content_type }),
            (None, Some(template)) => {
                self.file_path(template, "template")
                    .map(|file| Body::Template {
                        file,
                        template: None,
                        content_type,
                    })
            }
            (Some(_), Some(_)) => {
                let span = fields.key("template").map_or(node.span, |k| k.span);
                self.error(
                    "`body` takes one of `file` and `template`, not both",
                    span,
                    "second source",
                )
                .help =
                    Some("send the file as it is with `file`, or render it with `template`".into());
                None
            }
            (None, None) => {
                self.error(
                    "`body` needs `file` or `template` when it is a mapping",
                    node.span,
                    "no `file` here",
                )
                .help = Some(
                    "to send JSON, use `json:`; to send text, write `body:` as a string".into(),
                );
                None
            }
        };
        self.finish(&fields, BODY_FILE_KEYS, "body");
        body
    }

    /// Reads `multipart:`: a mapping of names to parts, or a list of one-entry mappings, which
    /// may repeat a name.
    pub(super) fn multipart(&mut self, node: &Node) -> Option<Body> {
        let mut parts = Vec::new();
        match &node.kind {
            NodeKind::Map(entries) => {
                for (key, value) in entries {
                    if let Some(part) = self.part(key.to_spanned(), value) {
                        parts.push(part);
                    }
                }
            }
            NodeKind::Seq(items) => {
                for item in items {
                    match &item.kind {
                        NodeKind::Map(entries) if entries.len() == 1 => {
                            let (key, value) = &entries[0];
                            if let Some(part) = self.part(key.to_spanned(), value) {
                                parts.push(part);
                            }
                        }
                        _ => {
                            self.expected("multipart", "one `name: value` entry per item", item);
                        }
                    }
                }
            }
            _ => {
                self.expected(
                    "multipart",
                    "a mapping of field names to parts, or a list of them",
                    node,
                );
                return None;
            }
        }
        Some(Body::Multipart(parts))
    }

    /// Reads one part: text, or a mapping with `file`.
    fn part(&mut self, name: Spanned<String>, node: &Node) -> Option<MultipartPart> {
        let what = format!("multipart.{}", name.value);
        let name_template = has_template(&name.value).then(|| self.text_of(&name.value, name.span));
        if !matches!(node.kind, NodeKind::Map(_)) {
            let value = self.text(node, &what)?;
            return Some(MultipartPart {
                name,
                name_template,
                value: PartValue::Text(value),
            });
        }
        let mut fields = self.fields(node, &what)?;
        let file = self
            .required(&mut fields, "file", &what, node.span)
            .and_then(|n| self.file_path(n, "file"));
        let filename = fields
            .get("filename")
            .and_then(|n| self.text(n, "filename"));
        let content_type = fields
            .get("content_type")
            .and_then(|n| self.text(n, "content_type"));
        self.finish(&fields, PART_FILE_KEYS, &what);
        Some(MultipartPart {
            name,
            name_template,
            value: PartValue::File {
                file: file?,
                filename,
                content_type,
            },
        })
    }

    /// Reads a file path: a literal string, not a template.
    pub(super) fn file_path(&mut self, node: &Node, what: &str) -> Option<FilePath> {
        let path = self.string(node, what)?;
        if has_template(&path.value) {
            self.error(
                format!("`{what}` is a file path, not a template"),
                path.span,
                "template syntax in a path",
            )
            .help = Some(
                "file paths are written as they are; a template cannot choose the file".into(),
            );
            return None;
        }
        if path.value.is_empty() {
            self.error(format!("`{what}` is empty"), path.span, "no path here")
                .help = Some("give a file path, relative to this workflow's folder".into());
            return None;
        }
        Some(FilePath::new(path))
    }
}
