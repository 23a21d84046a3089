//! Builds the typed model from a YAML node tree, collecting every shape error at once.

use std::sync::Arc;
use std::time::Duration;

use crate::delimiters::{has_template, whole_expression};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::duration::parse_duration;
use crate::format::model::{TemplateId, TemplateKind, TemplateSource, Text, Value, Workflow};
use crate::format::yaml::{self, Key, Node, NodeKind};
use crate::span::{Source, Span, Spanned};

mod assertions;
mod captures;
mod document;
mod steps;
mod transport;
mod upload;
mod workload;

pub use assertions::schema_text;
pub use workload::composite_steps;

pub(crate) const TOP_KEYS: &[&str] = &[
    "name",
    "description",
    "inputs",
    "vars",
    "defaults",
    "tls",
    "steps",
    "finally",
    "outputs",
    "openapi",
    "load",
];
/// The keys of `load:`.
pub(crate) const LOAD_KEYS: &[&str] = &[
    "iterations",
    "concurrency",
    "duration",
    "rate",
    "stages",
    "thresholds",
];
pub(crate) const INPUT_KEYS: &[&str] = &["default", "env", "secret", "description"];
pub(crate) const DEFAULTS_KEYS: &[&str] = &[
    "headers",
    "timeout",
    "follow_redirects",
    "tls",
    "http_version",
    "on_failure",
    "max_steps",
];
pub(crate) const STEP_KEYS: &[&str] = &[
    "name",
    "if",
    "delay",
    "for_each",
    "as",
    "request",
    "operation",
    "uses",
    "with",
    "expect",
    "extract",
    "retry",
    "save",
    "on_failure",
    "next",
    "script",
];
pub(crate) const SCRIPT_KEYS: &[&str] = &["before", "after"];
/// The values `on_failure` takes.
pub(crate) const ON_FAILURE: &[&str] = &["continue", "stop"];
pub(crate) const REQUEST_KEYS: &[&str] = &[
    "method",
    "url",
    "query",
    "headers",
    "auth",
    "json",
    "form",
    "body",
    "multipart",
    "form_from",
    "follow_redirects",
    "max_redirects",
    "stop_at",
    "timeout",
    "tls",
    "http_version",
    "path_params",
];
pub(crate) const TLS_KEYS: &[&str] = &["cert", "key", "passphrase", "hosts"];
pub(crate) const CLIENT_CERT_KEYS: &[&str] = &["cert", "key", "passphrase"];
/// The values `http_version` takes.
pub(crate) const HTTP_VERSIONS: &[&str] = &["1.1", "2"];
pub(crate) const BODY_FILE_KEYS: &[&str] = &["file", "template", "content_type"];
pub(crate) const PART_FILE_KEYS: &[&str] = &["file", "filename", "content_type"];
pub(crate) const FORM_FROM_KEYS: &[&str] = &["step", "selector", "fields"];
pub(crate) const AUTH_KEYS: &[&str] = &["basic", "bearer", "digest", "aws_sigv4"];
pub(crate) const BASIC_KEYS: &[&str] = &["username", "password"];
pub(crate) const DIGEST_KEYS: &[&str] = &["username", "password"];
pub(crate) const AWS_SIGV4_KEYS: &[&str] = &[
    "access_key",
    "secret_key",
    "session_token",
    "region",
    "service",
];
pub(crate) const EXPECT_KEYS: &[&str] = &["status", "json", "headers", "checks", "schema"];
const EXTRACT_KINDS: &[&str] = &[
    "json", "header", "cookie", "regex", "status", "body", "expr", "css", "output",
];
pub(crate) const EXTRACT_KEYS: &[&str] = &[
    "json", "header", "cookie", "regex", "status", "body", "expr", "css", "output", "all", "query",
    "from", "attr", "secret", "default",
];
pub(crate) const RETRY_KEYS: &[&str] = &["attempts", "delay", "backoff", "until"];
const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE",
];

/// Loads a workflow file's text into the typed model, or returns every problem found.
pub fn load(source: &Arc<Source>) -> Result<Workflow, Vec<Diagnostic>> {
    match load_partial(source) {
        (Some(workflow), errors) if errors.is_empty() => Ok(workflow),
        (_, errors) => Err(errors),
    }
}

/// Loads as much of a workflow as is well-formed, with every problem found; validation can then
/// look at the parts that loaded, so all problems are reported together.
pub fn load_partial(source: &Arc<Source>) -> (Option<Workflow>, Vec<Diagnostic>) {
    let root = match yaml::parse(source) {
        Ok(root) => root,
        Err(diagnostic) => return (None, vec![diagnostic]),
    };
    let mut loader = Loader {
        source: Arc::clone(source),
        errors: Vec::new(),
        templates: Vec::new(),
        paths: Vec::new(),
        regexes: Vec::new(),
        step: None,
        steps: 0,
    };
    let workflow = loader.workflow(&root);
    (workflow, loader.errors)
}

struct Loader {
    source: Arc<Source>,
    errors: Vec<Diagnostic>,
    templates: Vec<TemplateSource>,
    paths: Vec<Spanned<String>>,
    regexes: Vec<Spanned<String>>,
    step: Option<Spanned<String>>,
    steps: u32,
}

/// The entries of one mapping, with a note of which were read.
///
/// Each section of the loader asks for every key it knows, so a step makes a few hundred of
/// these lookups: they compare lengths and first bytes before whole names, and the note of
/// which entries were read is a bit set (no allocation) for the first 64 entries.
struct Fields<'n> {
    entries: &'n [(Key<'n>, Node<'n>)],
    used: u64,
    /// Entries after the 64th (only in mappings that are wrong anyway).
    used_more: Vec<bool>,
}

impl<'n> Fields<'n> {
    fn new(entries: &'n [(Key<'n>, Node<'n>)]) -> Self {
        Fields {
            entries,
            used: 0,
            used_more: vec![false; entries.len().saturating_sub(64)],
        }
    }

    fn index(&self, key: &str) -> Option<usize> {
        let wanted = key.as_bytes();
        self.entries.iter().position(|(k, _)| {
            let name = k.name.as_bytes();
            name.len() == wanted.len() && name.first() == wanted.first() && name == wanted
        })
    }

    fn mark(&mut self, index: usize) {
        match index.checked_sub(64) {
            None => self.used |= 1 << index,
            Some(more) => self.used_more[more] = true,
        }
    }

    fn is_used(&self, index: usize) -> bool {
        match index.checked_sub(64) {
            None => self.used & (1 << index) != 0,
            Some(more) => self.used_more[more],
        }
    }

    fn get(&mut self, key: &str) -> Option<&'n Node<'n>> {
        let index = self.index(key)?;
        self.mark(index);
        Some(&self.entries[index].1)
    }

    fn key(&self, key: &str) -> Option<&'n Key<'n>> {
        self.index(key).map(|index| &self.entries[index].0)
    }
}

impl Loader {
    fn error(
        &mut self,
        title: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> &mut Diagnostic {
        let diagnostic = Diagnostic::error(title)
            .at(&self.source, span, label)
            .in_step(self.step.as_ref());
        self.errors.push(diagnostic);
        self.errors.last_mut().expect("just pushed")
    }

    fn expected(&mut self, what: &str, expected: &str, node: &Node) {
        let found = match &node.kind {
            NodeKind::Str(s) if s.chars().count() <= 40 => format!("found `{s}`"),
            NodeKind::Int(_) | NodeKind::Float(_) | NodeKind::Bool(_) => {
                format!("found `{}`", node.scalar_text().unwrap_or_default())
            }
            _ => format!("found {}", node.describe()),
        };
        self.error(
            format!("invalid `{what}`: expected {expected}"),
            node.span,
            found,
        );
    }

    fn fields<'n>(&mut self, node: &'n Node<'n>, what: &str) -> Option<Fields<'n>> {
        if let NodeKind::Map(entries) = &node.kind {
            Some(Fields::new(entries))
        } else {
            self.expected(what, "a mapping", node);
            None
        }
    }

    fn finish(&mut self, fields: &Fields<'_>, allowed: &[&str], what: &str) {
        for (index, (key, _)) in fields.entries.iter().enumerate() {
            if fields.is_used(index) {
                continue;
            }
            let help = did_you_mean(&key.name, allowed.iter().copied()).unwrap_or_else(|| {
                format!(
                    "`{what}` takes {}",
                    allowed
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            });
            self.error(
                format!("unknown key `{}` in `{what}`", key.name),
                key.span,
                "unknown key",
            )
            .help = Some(help);
        }
    }

    fn required<'n>(
        &mut self,
        fields: &mut Fields<'n>,
        key: &str,
        what: &str,
        at: Span,
    ) -> Option<&'n Node<'n>> {
        let node = fields.get(key);
        if node.is_none() {
            self.error(
                format!("`{what}` needs `{key}`"),
                at,
                format!("no `{key}` here"),
            );
        }
        node
    }

    fn string(&mut self, node: &Node, what: &str) -> Option<Spanned<String>> {
        if let NodeKind::Str(s) = &node.kind {
            Some(Spanned::new(s.to_string(), span_of_text(node.span, s)))
        } else {
            self.expected(what, "a string", node);
            None
        }
    }

    fn bool(&mut self, node: &Node, what: &str) -> Option<bool> {
        if let NodeKind::Bool(b) = node.kind {
            Some(b)
        } else {
            self.expected(what, "`true` or `false`", node);
            None
        }
    }

    fn duration(&mut self, node: &Node, what: &str) -> Option<Duration> {
        let text = node.scalar_text();
        if let (Some(text), NodeKind::Str(_) | NodeKind::Int(_) | NodeKind::Float(_)) =
            (text, &node.kind)
        {
            match parse_duration(&text) {
                Ok(duration) => Some(duration),
                Err(message) => {
                    self.error(
                        format!("invalid `{what}`: {message}"),
                        node.span,
                        "not a duration",
                    );
                    None
                }
            }
        } else {
            self.expected(what, "a duration such as `500ms`, `10s` or `2m`", node);
            None
        }
    }

    fn template(&mut self, text: &str, span: Span, kind: TemplateKind) -> TemplateId {
        let id = TemplateId(u32::try_from(self.templates.len()).unwrap_or(u32::MAX));
        let column_offset = self.column_offset(span, text);
        self.templates.push(TemplateSource {
            text: text.to_owned(),
            span,
            kind,
            column_offset,
        });
        id
    }

    /// Works out where a value's text starts relative to its node, so template errors can point
    /// inside it; only single-line plain or quoted scalars can be mapped.
    fn column_offset(&self, span: Span, text: &str) -> Option<u32> {
        if text.contains('\n') {
            return None;
        }
        let line = self.source.line(span.line)?;
        let start = usize::try_from(span.column.checked_sub(1)?).ok()?;
        let first = if line.is_ascii() {
            char::from(*line.as_bytes().get(start)?)
        } else {
            line.chars().nth(start)?
        };
        match first {
            '"' | '\'' => Some(1),
            '|' | '>' => None,
            _ => Some(0),
        }
    }

    fn text(&mut self, node: &Node, what: &str) -> Option<Text> {
        let Some(text) = node.scalar_text() else {
            self.expected(what, "a string", node);
            return None;
        };
        Some(self.text_of(&text, node.span))
    }

    fn text_of(&mut self, text: &str, span: Span) -> Text {
        if has_template(text) {
            Text::Template(self.template(text, span, TemplateKind::Text))
        } else {
            Text::Literal(text.to_owned())
        }
    }

    fn expression(&mut self, node: &Node, what: &str) -> Option<TemplateId> {
        let text = match &node.kind {
            NodeKind::Str(s) => s.to_string(),
            NodeKind::Bool(_) | NodeKind::Int(_) | NodeKind::Float(_) => {
                node.scalar_text()?.into_owned()
            }
            _ => {
                self.expected(what, "an expression such as `status == 200`", node);
                return None;
            }
        };
        let trimmed = text.trim();
        if let Some(inner) = whole_expression(trimmed) {
            // `"{{ x > 1 }}"` in a check means the expression inside.
            let offset = text.find(inner).unwrap_or(0);
            let span = node.span;
            let id = self.template(inner, span, TemplateKind::Expression);
            if let Some(source) = self.templates.last_mut() {
                source.column_offset = source
                    .column_offset
                    .map(|o| o + u32::try_from(offset).unwrap_or(0));
            }
            return Some(id);
        }
        Some(self.template(&text, node.span, TemplateKind::Expression))
    }

    fn value(&mut self, node: &Node) -> Value {
        match &node.kind {
            NodeKind::Str(s) if has_template(s) => {
                let kind = if whole_expression(s.trim()).is_some() {
                    TemplateKind::Whole
                } else {
                    TemplateKind::Text
                };
                Value::Template(self.template(s, node.span, kind))
            }
            NodeKind::Seq(items) => {
                let values: Vec<Value> = items.iter().map(|item| self.value(item)).collect();
                if values.iter().all(|v| matches!(v, Value::Literal(_))) {
                    Value::Literal(node.to_json())
                } else {
                    Value::List(values)
                }
            }
            NodeKind::Map(entries) => {
                let values: Vec<(String, Value)> = entries
                    .iter()
                    .map(|(k, v)| (k.name.to_string(), self.value(v)))
                    .collect();
                if values.iter().all(|(_, v)| matches!(v, Value::Literal(_))) {
                    Value::Literal(node.to_json())
                } else {
                    Value::Map(values)
                }
            }
            _ => Value::Literal(node.to_json()),
        }
    }

    fn text_map(&mut self, node: &Node, what: &str) -> Vec<(Spanned<String>, Text)> {
        let NodeKind::Map(entries) = &node.kind else {
            self.expected(what, "a mapping of names to strings", node);
            return Vec::new();
        };
        let mut out = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            if let Some(text) = self.text(value, &format!("{what}.{}", key.name)) {
                out.push((key.to_spanned(), text));
            }
        }
        out
    }
}

fn span_of_text(span: Span, text: &str) -> Span {
    Span::new(
        span.line,
        span.column,
        u32::try_from(text.chars().count()).unwrap_or(1).max(1),
    )
}
