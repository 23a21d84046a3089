//! Loading the workflow as a whole: its top-level keys, inputs, vars, defaults, step lists
//! and outputs, and the checks across steps (unique names).

use std::sync::Arc;

use super::{DEFAULTS_KEYS, INPUT_KEYS, Loader, TOP_KEYS};
use crate::format::model::{Defaults, Input, Step, Value, Var, Workflow};
use crate::format::yaml::{Key, Node, NodeKind};
use crate::names::is_secret_name;
use crate::span::{Span, Spanned};

impl Loader {
    pub(super) fn workflow(&mut self, root: &Node) -> Option<Workflow> {
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
        let mut defaults = fields
            .get("defaults")
            .map(|n| self.defaults(n))
            .unwrap_or_default();
        // A top-level `tls:` is `defaults.tls` written where a reader looks for it first.
        if let Some(node) = fields.get("tls") {
            if defaults.tls.is_some() {
                self.error(
                    "`tls` is given both at the top level and under `defaults`",
                    node.span,
                    "given twice",
                )
                .help = Some("keep one of them: both are the certificates of every request".into());
            } else {
                defaults.tls = self.tls(node, "tls");
            }
        }
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
        let openapi = fields
            .get("openapi")
            .and_then(|n| self.file_path(n, "openapi"));
        let load = match (fields.key("load"), fields.get("load")) {
            (Some(key), Some(node)) => self.load_test(key.span, node, &steps, &finally),
            _ => None,
        };
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
            openapi,
            load,
            templates: std::mem::take(&mut self.templates),
            paths: std::mem::take(&mut self.paths),
            regexes: std::mem::take(&mut self.regexes),
        })
    }

    pub(super) fn check_unique_names(&mut self, steps: &[Step], finally: &[Step]) {
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

    pub(super) fn inputs(&mut self, node: &Node) -> Vec<Input> {
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

    pub(super) fn vars(&mut self, node: &Node) -> Vec<Var> {
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

    pub(super) fn check_identifier(&mut self, key: &Key, what: &str) {
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

    pub(super) fn defaults(&mut self, node: &Node) -> Defaults {
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
            tls: fields.get("tls").and_then(|n| self.tls(n, "defaults.tls")),
            http_version: fields
                .get("http_version")
                .and_then(|n| self.http_version(n)),
            on_failure: fields
                .get("on_failure")
                .and_then(|n| self.on_failure(n, "defaults.on_failure")),
            max_steps: fields.get("max_steps").and_then(|n| {
                let count = self.count(n, "max_steps", 1, i64::from(u32::MAX))?;
                Some(Spanned::new(count, n.span))
            }),
        };
        self.finish(&fields, DEFAULTS_KEYS, "defaults");
        defaults
    }

    pub(super) fn steps(&mut self, node: &Node, what: &str) -> Vec<Step> {
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

    pub(super) fn outputs(&mut self, node: &Node) -> Vec<(Spanned<String>, Value)> {
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
}
