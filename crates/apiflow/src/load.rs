//! Builds the typed model from a YAML node tree, collecting every shape error at once.

use std::sync::Arc;
use std::time::Duration;

use crate::delimiters::{has_template, whole_expression};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::duration::parse_duration;
use crate::model::{
    Action, Auth, Body, Defaults, Expect, Extract, ExtractKind, FormFrom, Input, JsonExpectation,
    PathId, RegexId, RegexSource, Request, Retry, StatusPattern, Step, StepId, TemplateId,
    TemplateKind, TemplateSource, Text, Uses, Value, Var, Workflow,
};
use crate::names::is_secret_name;
use crate::span::{Source, Span, Spanned};
use crate::yaml::{self, Key, Node, NodeKind};

pub(crate) const TOP_KEYS: &[&str] = &[
    "name",
    "description",
    "inputs",
    "vars",
    "defaults",
    "steps",
    "finally",
    "outputs",
];
pub(crate) const INPUT_KEYS: &[&str] = &["default", "env", "secret", "description"];
pub(crate) const DEFAULTS_KEYS: &[&str] = &["headers", "timeout", "follow_redirects"];
pub(crate) const STEP_KEYS: &[&str] = &[
    "name", "if", "delay", "for_each", "as", "request", "uses", "with", "expect", "extract",
    "retry",
];
pub(crate) const REQUEST_KEYS: &[&str] = &[
    "method",
    "url",
    "query",
    "headers",
    "auth",
    "json",
    "form",
    "body",
    "form_from",
    "follow_redirects",
    "max_redirects",
    "stop_at",
    "timeout",
];
pub(crate) const FORM_FROM_KEYS: &[&str] = &["step", "selector", "fields"];
pub(crate) const AUTH_KEYS: &[&str] = &["basic", "bearer"];
pub(crate) const BASIC_KEYS: &[&str] = &["username", "password"];
pub(crate) const EXPECT_KEYS: &[&str] = &["status", "json", "headers", "checks"];
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

    fn workflow(&mut self, root: &Node) -> Option<Workflow> {
        let mut fields = self.fields(root, "workflow")?;
        let whole = Span::new(1, 1, 1);
        let name = self
            .required(&mut fields, "name", "workflow", whole)
            .and_then(|n| self.string(n, "name"));
        let description = fields
            .get("description")
            .and_then(|n| self.string(n, "description"))
            .map(|s| s.value);
        let inputs = fields
            .get("inputs")
            .map(|n| self.inputs(n))
            .unwrap_or_default();
        let vars = fields.get("vars").map(|n| self.vars(n)).unwrap_or_default();
        let defaults = fields
            .get("defaults")
            .map(|n| self.defaults(n))
            .unwrap_or_default();
        let steps = match self.required(&mut fields, "steps", "workflow", whole) {
            Some(node) => self.steps(node, "steps"),
            None => Vec::new(),
        };
        if let (Some(node), true) = (fields.get("steps"), steps.is_empty())
            && matches!(&node.kind, NodeKind::Seq(items) if items.is_empty())
        {
            self.error("`steps` is empty", node.span, "no steps").help =
                Some("add at least one step with `name:` and `request:`".into());
        }
        let finally = fields
            .get("finally")
            .map(|n| self.steps(n, "finally"))
            .unwrap_or_default();
        let outputs = fields
            .get("outputs")
            .map(|n| self.outputs(n))
            .unwrap_or_default();
        self.finish(&fields, TOP_KEYS, "workflow");
        self.check_unique_names(&steps, &finally);
        Some(Workflow {
            source: Arc::clone(&self.source),
            name: name?,
            description,
            inputs,
            vars,
            defaults,
            steps,
            finally,
            outputs,
            templates: std::mem::take(&mut self.templates),
            paths: std::mem::take(&mut self.paths),
            regexes: std::mem::take(&mut self.regexes),
        })
    }

    fn check_unique_names(&mut self, steps: &[Step], finally: &[Step]) {
        let mut first_of: rustc_hash::FxHashMap<&str, &Step> = rustc_hash::FxHashMap::default();
        first_of.reserve(steps.len() + finally.len());
        for step in steps.iter().chain(finally) {
            let first = *first_of.entry(step.name.value.as_str()).or_insert(step);
            if !std::ptr::eq(first, step) {
                let line = first.name.span.line;
                self.step = None;
                self.error(
                    format!("duplicate step name `{}`", step.name.value),
                    step.name.span,
                    "used again here",
                )
                .help = Some(format!(
                    "step names must be unique; the first `{}` is on line {line}",
                    step.name.value
                ));
            }
        }
    }

    fn inputs(&mut self, node: &Node) -> Vec<Input> {
        let NodeKind::Map(entries) = &node.kind else {
            self.expected("inputs", "a mapping of input names", node);
            return Vec::new();
        };
        let mut inputs = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            self.check_identifier(key, "input");
            let name = key.to_spanned();
            let mut input = Input {
                secret: is_secret_name(&key.name),
                name,
                default: None,
                env: None,
                description: None,
            };
            match &value.kind {
                NodeKind::Null => {}
                NodeKind::Map(_) => {
                    let what = format!("inputs.{}", key.name);
                    if let Some(mut fields) = self.fields(value, &what) {
                        input.default = fields.get("default").and_then(|n| self.text(n, "default"));
                        input.env = fields.get("env").and_then(|n| self.string(n, "env"));
                        if let Some(secret) =
                            fields.get("secret").and_then(|n| self.bool(n, "secret"))
                        {
                            input.secret = secret;
                        }
                        input.description = fields
                            .get("description")
                            .and_then(|n| self.string(n, "description"))
                            .map(|s| s.value);
                        self.finish(&fields, INPUT_KEYS, &what);
                    }
                }
                _ => input.default = self.text(value, &format!("inputs.{}", key.name)),
            }
            inputs.push(input);
        }
        inputs
    }

    fn vars(&mut self, node: &Node) -> Vec<Var> {
        let NodeKind::Map(entries) = &node.kind else {
            self.expected("vars", "a mapping of variable names to values", node);
            return Vec::new();
        };
        entries
            .iter()
            .map(|(key, value)| {
                self.check_identifier(key, "variable");
                Var {
                    name: key.to_spanned(),
                    secret: is_secret_name(&key.name),
                    value: self.value(value),
                }
            })
            .collect()
    }

    fn check_identifier(&mut self, key: &Key, what: &str) {
        let valid = key
            .name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && key
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            self.error(
                format!("invalid {what} name `{}`", key.name),
                key.span,
                "not a name templates can use",
            )
            .help = Some("use letters, digits and `_`, starting with a letter or `_`".into());
        }
    }

    fn defaults(&mut self, node: &Node) -> Defaults {
        let Some(mut fields) = self.fields(node, "defaults") else {
            return Defaults::default();
        };
        let defaults = Defaults {
            headers: fields
                .get("headers")
                .map(|n| self.text_map(n, "headers"))
                .unwrap_or_default(),
            timeout: fields
                .get("timeout")
                .and_then(|n| self.duration(n, "timeout")),
            follow_redirects: fields
                .get("follow_redirects")
                .and_then(|n| self.bool(n, "follow_redirects")),
        };
        self.finish(&fields, DEFAULTS_KEYS, "defaults");
        defaults
    }

    fn steps(&mut self, node: &Node, what: &str) -> Vec<Step> {
        let NodeKind::Seq(items) = &node.kind else {
            self.expected(what, "a list of steps", node);
            return Vec::new();
        };
        // filter_map cannot know how many steps there will be: reserve for all of them.
        let mut steps = Vec::with_capacity(items.len());
        steps.extend(items.iter().filter_map(|item| self.step(item)));
        self.step = None;
        steps
    }

    fn outputs(&mut self, node: &Node) -> Vec<(Spanned<String>, Value)> {
        let NodeKind::Map(entries) = &node.kind else {
            self.expected("outputs", "a mapping of output names to values", node);
            return Vec::new();
        };
        entries
            .iter()
            .map(|(key, value)| {
                self.check_identifier(key, "output");
                (key.to_spanned(), self.value(value))
            })
            .collect()
    }

    fn step(&mut self, node: &Node) -> Option<Step> {
        self.step = None;
        let mut fields = self.fields(node, "step")?;
        let name = self
            .required(&mut fields, "name", "step", node.span)
            .and_then(|n| self.string(n, "name"));
        self.step.clone_from(&name);
        let condition = fields.get("if").and_then(|n| self.expression(n, "if"));
        let delay = fields.get("delay").and_then(|n| self.duration(n, "delay"));
        let for_each = fields
            .get("for_each")
            .and_then(|n| self.expression(n, "for_each"));
        let each_as = match fields.get("as") {
            Some(n) => {
                if for_each.is_none()
                    && let Some(key) = fields.key("as")
                {
                    self.error("`as` only goes with `for_each`", key.span, "not used here");
                }
                if let NodeKind::Str(text) = &n.kind {
                    let key = Key {
                        name: text.clone(),
                        span: span_of_text(n.span, text),
                    };
                    self.check_identifier(&key, "loop variable");
                    Spanned::new(text.to_string(), key.span)
                } else {
                    self.expected("as", "a variable name", n);
                    Spanned::new("item".to_owned(), n.span)
                }
            }
            None => Spanned::new("item".to_owned(), node.span),
        };
        let action = match (fields.get("request"), fields.get("uses")) {
            (Some(request), None) => {
                if let Some(key) = fields.key("with") {
                    fields.get("with");
                    self.error("`with` only goes with `uses`", key.span, "not used here");
                }
                self.request(request).map(|r| Action::Request(Box::new(r)))
            }
            (None, Some(uses)) => self.uses(uses, fields.get("with")).map(Action::Uses),
            (Some(_), Some(_)) => {
                let span = fields.key("uses").map_or(node.span, |k| k.span);
                self.error(
                    "a step either sends a `request` or `uses` a workflow, not both",
                    span,
                    "second action",
                )
                .help = Some("split it into two steps".into());
                None
            }
            (None, None) => {
                self.error(
                    "`step` needs `request` or `uses`",
                    node.span,
                    "no `request` here",
                );
                None
            }
        };
        let expect = fields
            .get("expect")
            .map(|n| self.expect(n))
            .unwrap_or_default();
        let extract = fields
            .get("extract")
            .map(|n| self.extracts(n))
            .unwrap_or_default();
        let retry = fields.get("retry").and_then(|n| self.retry(n));
        self.finish(&fields, STEP_KEYS, "step");
        let id = StepId(self.steps);
        self.steps += 1;
        Some(Step {
            id,
            name: name?,
            condition,
            delay,
            for_each,
            each_as,
            action: action?,
            expect,
            extract,
            retry,
        })
    }

    fn request(&mut self, node: &Node) -> Option<Request> {
        let mut fields = self.fields(node, "request")?;
        let method = match fields.get("method") {
            Some(n) => self.method(n),
            None => Some(Spanned::new("GET".to_owned(), node.span)),
        };
        let form_from = fields.get("form_from").and_then(|n| self.form_from(n));
        // With `form_from`, the form's `action` is the URL unless one is given.
        let url = if form_from.is_some() && fields.key("url").is_none() {
            Some(Spanned::new(Text::Literal(String::new()), node.span))
        } else {
            self.required(&mut fields, "url", "request", node.span)
                .and_then(|n| Some(Spanned::new(self.text(n, "url")?, n.span)))
        };
        let query = fields
            .get("query")
            .map(|n| self.text_map(n, "query"))
            .unwrap_or_default();
        let headers = fields
            .get("headers")
            .map(|n| self.text_map(n, "headers"))
            .unwrap_or_default();
        let auth = fields.get("auth").and_then(|n| self.auth(n));
        let mut bodies = Vec::new();
        if let Some(n) = fields.get("json") {
            bodies.push((fields.key("json"), Body::Json(self.value(n))));
        }
        if let Some(n) = fields.get("form") {
            let form = self.text_map(n, "form");
            bodies.push((fields.key("form"), Body::Form(form)));
        }
        if let Some(n) = fields.get("body")
            && let Some(text) = self.text(n, "body")
        {
            bodies.push((fields.key("body"), Body::Text(text)));
        }
        if bodies.len() > 1
            && let Some(key) = bodies[1].0
        {
            let first = bodies[0].0.map_or("", |k| k.name.as_ref()).to_owned();
            self.error(
                format!(
                    "a request has one body, but `{first}` and `{}` are both given",
                    key.name
                ),
                key.span,
                "second body",
            )
            .help = Some("keep one of `json`, `form` and `body`".into());
        }
        let follow_redirects = fields
            .get("follow_redirects")
            .and_then(|n| self.bool(n, "follow_redirects"));
        let max_redirects = fields
            .get("max_redirects")
            .and_then(|n| self.count(n, "max_redirects", 0, 100));
        let timeout = fields
            .get("timeout")
            .and_then(|n| self.duration(n, "timeout"));
        let stop_at = fields.get("stop_at").and_then(|n| self.text(n, "stop_at"));
        if form_from.is_some()
            && !bodies.is_empty()
            && let Some(key) = fields.key("form_from")
        {
            self.error(
                "`form_from` builds the body, so `json`, `form` and `body` cannot be given too",
                key.span,
                "here",
            );
        }
        self.finish(&fields, REQUEST_KEYS, "request");
        Some(Request {
            method: method?,
            url: url?,
            query,
            headers,
            auth,
            body: bodies.into_iter().next().map(|(_, body)| body),
            follow_redirects,
            max_redirects,
            stop_at,
            form_from,
            timeout,
        })
    }

    fn uses(&mut self, node: &Node, with: Option<&Node>) -> Option<Uses> {
        let path = self.string(node, "uses")?;
        let is_yaml = std::path::Path::new(&path.value)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
        if !is_yaml {
            self.error(
                format!("`uses: {}` does not name a workflow file", path.value),
                path.span,
                "not a .yaml file",
            )
            .help = Some("give the path of a `.yaml` workflow, relative to this file".into());
        }
        let with = match with {
            None => Vec::new(),
            Some(Node {
                kind: NodeKind::Map(entries),
                ..
            }) => entries
                .iter()
                .map(|(key, value)| (key.to_spanned(), self.value(value)))
                .collect(),
            Some(other) => {
                self.expected("with", "a mapping of input names to values", other);
                Vec::new()
            }
        };
        Some(Uses { path, with })
    }

    fn form_from(&mut self, node: &Node) -> Option<FormFrom> {
        let mut fields = self.fields(node, "form_from")?;
        let step = self
            .required(&mut fields, "step", "form_from", node.span)
            .and_then(|n| self.string(n, "step"));
        let selector = match fields.get("selector") {
            Some(n) => self.string(n, "selector"),
            None => Some(Spanned::new("form".to_owned(), node.span)),
        };
        // Field names may be templates: login forms name their fields differently.
        let form_fields = fields
            .get("fields")
            .map(|n| {
                self.text_map(n, "fields")
                    .into_iter()
                    .map(|(name, value)| {
                        let text = self.text_of(&name.value, name.span);
                        (Spanned::new(text, name.span), value)
                    })
                    .collect()
            })
            .unwrap_or_default();
        self.finish(&fields, FORM_FROM_KEYS, "form_from");
        Some(FormFrom {
            step: step?,
            selector: selector?,
            fields: form_fields,
        })
    }

    fn method(&mut self, node: &Node) -> Option<Spanned<String>> {
        let text = self.string(node, "method")?;
        let upper = text.value.to_ascii_uppercase();
        if METHODS.contains(&upper.as_str()) {
            return Some(Spanned::new(upper, text.span));
        }
        let valid_token = !upper.is_empty()
            && upper
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c));
        if valid_token && did_you_mean(&upper, METHODS.iter().copied()).is_none() {
            // Extension methods (PROPFIND, …) are allowed.
            return Some(Spanned::new(upper, text.span));
        }
        let help = did_you_mean(&upper, METHODS.iter().copied())
            .unwrap_or_else(|| "use GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS".into());
        self.error(
            format!("invalid HTTP method `{}`", text.value),
            text.span,
            "not a method",
        )
        .help = Some(help);
        None
    }

    fn count(&mut self, node: &Node, what: &str, min: i64, max: i64) -> Option<u32> {
        match node.kind {
            NodeKind::Int(n) if (min..=max).contains(&n) => u32::try_from(n).ok(),
            _ => {
                self.expected(what, &format!("a whole number from {min} to {max}"), node);
                None
            }
        }
    }

    fn auth(&mut self, node: &Node) -> Option<Auth> {
        let mut fields = self.fields(node, "auth")?;
        let auth = if let Some(basic) = fields.get("basic") {
            let mut inner = self.fields(basic, "auth.basic")?;
            let username = self
                .required(&mut inner, "username", "auth.basic", basic.span)
                .and_then(|n| self.text(n, "username"));
            let password = self
                .required(&mut inner, "password", "auth.basic", basic.span)
                .and_then(|n| self.text(n, "password"));
            self.finish(&inner, BASIC_KEYS, "auth.basic");
            Some(Auth::Basic {
                username: username?,
                password: password?,
            })
        } else if let Some(bearer) = fields.get("bearer") {
            self.text(bearer, "bearer").map(Auth::Bearer)
        } else {
            self.error(
                "`auth` needs `basic` or `bearer`",
                node.span,
                "no method here",
            );
            None
        };
        if fields.get("basic").is_some()
            && fields.get("bearer").is_some()
            && let Some(key) = fields.key("bearer")
        {
            self.error(
                "`auth` takes one of `basic` and `bearer`, not both",
                key.span,
                "second method",
            );
        }
        self.finish(&fields, AUTH_KEYS, "auth");
        auth
    }

    fn expect(&mut self, node: &Node) -> Expect {
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

    fn status(&mut self, node: &Node) -> Option<Spanned<Vec<StatusPattern>>> {
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

    fn json_expectations(&mut self, node: &Node) -> Vec<JsonExpectation> {
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

    fn path(&mut self, text: &str, span: Span) -> PathId {
        let id = PathId(u32::try_from(self.paths.len()).unwrap_or(u32::MAX));
        self.paths.push(Spanned::new(text.to_owned(), span));
        id
    }

    fn extracts(&mut self, node: &Node) -> Vec<Extract> {
        let NodeKind::Map(entries) = &node.kind else {
            self.expected("extract", "a mapping of variable names to captures", node);
            return Vec::new();
        };
        let mut out = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            self.check_identifier(key, "variable");
            if let Some(extract) = self.extract(key, value) {
                out.push(extract);
            }
        }
        out
    }

    fn extract(&mut self, key: &Key, node: &Node) -> Option<Extract> {
        let name = key.to_spanned();
        let secret = is_secret_name(&key.name);
        if let NodeKind::Str(text) = &node.kind {
            let span = span_of_text(node.span, text);
            let path = self.path(text, span);
            return Some(Extract {
                name,
                kind: ExtractKind::Json { path, all: false },
                secret,
                default: None,
            });
        }
        let what = format!("extract.{}", key.name);
        let NodeKind::Map(entries) = &node.kind else {
            self.expected(
                &what,
                "a JSONPath such as `$.id` or a mapping such as `{ header: Location }`",
                node,
            );
            return None;
        };
        let kinds: Vec<&Key> = entries
            .iter()
            .map(|(k, _)| k)
            .filter(|k| EXTRACT_KINDS.contains(&k.name.as_ref()))
            .collect();
        if kinds.len() != 1 {
            let title = if kinds.is_empty() {
                format!("`{what}` does not say where to capture from")
            } else {
                format!(
                    "`{what}` names {} sources; a capture takes one",
                    kinds.len()
                )
            };
            let span = kinds.get(1).map_or(node.span, |k| k.span);
            let help = kinds
                .is_empty()
                .then(|| {
                    entries
                        .iter()
                        .find_map(|(k, _)| did_you_mean(&k.name, EXTRACT_KINDS.iter().copied()))
                })
                .flatten()
                .unwrap_or_else(|| {
                    "use one of `json`, `header`, `cookie`, `regex`, `css`, `status`, `body`, `expr` or `output`"
                        .into()
                });
            self.error(title, span, "here").help = Some(help);
            // Report unknown keys too, then give up on this capture.
            let mut fields = Fields::new(entries);
            for (index, (k, _)) in entries.iter().enumerate() {
                if EXTRACT_KEYS.contains(&k.name.as_ref()) {
                    fields.mark(index);
                }
            }
            self.finish(&fields, EXTRACT_KEYS, &what);
            return None;
        }
        let mut fields = self.fields(node, &what)?;
        let kind_key = kinds[0].name.as_ref();
        let kind_node = fields.get(kind_key)?;
        let kind = match kind_key {
            "json" => {
                let text = self.string(kind_node, "json")?;
                let path = self.path(&text.value, text.span);
                let all = fields
                    .get("all")
                    .and_then(|n| self.bool(n, "all"))
                    .unwrap_or(false);
                ExtractKind::Json { path, all }
            }
            "header" => {
                let header = self.string(kind_node, "header")?;
                let query = fields
                    .get("query")
                    .and_then(|n| self.string(n, "query"))
                    .map(|s| s.value);
                ExtractKind::Header {
                    name: header.value.to_ascii_lowercase(),
                    query,
                }
            }
            "cookie" => ExtractKind::Cookie(self.string(kind_node, "cookie")?.value),
            "regex" => {
                let pattern = self.string(kind_node, "regex")?;
                let from = match fields.get("from") {
                    Some(n) => self.regex_source(n)?,
                    None => RegexSource::Body,
                };
                let id = RegexId(u32::try_from(self.regexes.len()).unwrap_or(u32::MAX));
                self.regexes.push(pattern);
                ExtractKind::Regex { regex: id, from }
            }
            "css" => {
                let selector = self.string(kind_node, "css")?;
                let attr = fields
                    .get("attr")
                    .and_then(|n| self.string(n, "attr"))
                    .map(|s| s.value);
                let all = fields
                    .get("all")
                    .and_then(|n| self.bool(n, "all"))
                    .unwrap_or(false);
                ExtractKind::Css {
                    selector,
                    attr,
                    all,
                }
            }
            "output" => ExtractKind::Output(self.string(kind_node, "output")?.value),
            "status" | "body" => {
                if self.bool(kind_node, kind_key) != Some(true) {
                    if matches!(kind_node.kind, NodeKind::Bool(false)) {
                        self.error(
                            format!("`{kind_key}: false` captures nothing"),
                            kind_node.span,
                            "write `true`",
                        );
                    }
                    return None;
                }
                if kind_key == "status" {
                    ExtractKind::Status
                } else {
                    ExtractKind::Body
                }
            }
            _ => ExtractKind::Expr(self.expression(kind_node, "expr")?),
        };
        let misplaced = [
            ("all", "json"),
            ("query", "header"),
            ("from", "regex"),
            ("attr", "css"),
        ];
        for (modifier, owner) in misplaced {
            let allowed = owner == kind_key || (modifier == "all" && kind_key == "css");
            if !allowed && let Some(k) = fields.key(modifier) {
                fields.get(modifier);
                self.error(
                    format!("`{modifier}` only goes with `{owner}` captures"),
                    k.span,
                    "not used here",
                );
            }
        }
        let secret = match fields.get("secret") {
            Some(n) => self.bool(n, "secret").unwrap_or(secret),
            None => secret,
        };
        let default = fields.get("default").map(|n| self.value(n));
        self.finish(&fields, EXTRACT_KEYS, &what);
        Some(Extract {
            name,
            kind,
            secret,
            default,
        })
    }

    fn regex_source(&mut self, node: &Node) -> Option<RegexSource> {
        let text = self.string(node, "from")?;
        if text.value == "body" {
            return Some(RegexSource::Body);
        }
        if let Some(header) = text.value.strip_prefix("header:")
            && !header.trim().is_empty()
        {
            return Some(RegexSource::Header(header.trim().to_ascii_lowercase()));
        }
        self.error(
            format!("invalid `from`: `{}`", text.value),
            text.span,
            "expected `body` or `header:NAME`",
        )
        .help = Some("for example `from: header:Location`".into());
        None
    }

    fn retry(&mut self, node: &Node) -> Option<Retry> {
        let mut fields = self.fields(node, "retry")?;
        let attempts = self
            .required(&mut fields, "attempts", "retry", node.span)
            .and_then(|n| self.count(n, "attempts", 1, 1000));
        let delay = fields.get("delay").and_then(|n| self.duration(n, "delay"));
        let backoff = match fields.get("backoff") {
            Some(n) => match n.kind {
                #[allow(clippy::cast_precision_loss)]
                NodeKind::Int(i) if (1..=10).contains(&i) => Some(i as f64),
                NodeKind::Float(f) if (1.0..=10.0).contains(&f) => Some(f),
                _ => {
                    self.expected("backoff", "a factor from 1.0 to 10.0", n);
                    None
                }
            },
            None => Some(1.0),
        };
        let until = fields
            .get("until")
            .and_then(|n| self.expression(n, "until"));
        self.finish(&fields, RETRY_KEYS, "retry");
        Some(Retry {
            attempts: attempts?,
            delay: delay.unwrap_or(Duration::from_millis(500)),
            backoff: backoff?,
            until,
        })
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

fn span_of_text(span: Span, text: &str) -> Span {
    Span::new(
        span.line,
        span.column,
        u32::try_from(text.chars().count()).unwrap_or(1).max(1),
    )
}
