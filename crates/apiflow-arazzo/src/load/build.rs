//! Fills the typed model, keeping where each value is written. It runs on every document,
//! checked or not, so it reads only what has the right shape; the few rules it is the one to
//! see (a `timeout` below 0, a criterion's `type`) are reported with the others.

use std::fmt::Write as _;

use apiflow::format::yaml::{Node, NodeKind};
use apiflow::span::Spanned;

use super::tree::get;
use super::{Context, Problem};
use crate::model::{
    Action, ActionKind, ActionOrRef, Components, Criterion, CriterionKind, Document, Extension,
    Info, Parameter, ParameterIn, ParameterOrRef, Reference, Replacement, RequestBody, Security,
    Selector, SourceDescription, SourceKind, Step, Target, Workflow,
};

/// Builds the document, or returns the problems only the model's types show; the JSON is the
/// whole document as `serde_json` values, when it was made.
pub(super) fn document(
    context: &Context<'_>,
    json: Option<serde_json::Value>,
) -> Result<Document, Vec<Problem>> {
    let mut builder = Builder {
        context,
        problems: Vec::new(),
    };
    let root = context.root;
    let info = get(root, "info");
    let document = Document {
        source: std::sync::Arc::clone(context.source),
        arazzo: get(root, "arazzo")
            .and_then(text)
            .unwrap_or_else(|| Spanned::new(String::new(), root.span)),
        info: Info {
            title: info.and_then(|i| plain(i, "title")).unwrap_or_default(),
            summary: info.and_then(|i| plain(i, "summary")),
            description: info.and_then(|i| plain(i, "description")),
            version: info.and_then(|i| plain(i, "version")).unwrap_or_default(),
        },
        source_descriptions: items(get(root, "sourceDescriptions"))
            .filter_map(|(_, node)| source_description(node))
            .collect(),
        workflows: items(get(root, "workflows"))
            .filter_map(|(index, node)| builder.workflow(node, index))
            .collect(),
        components: builder.components(get(root, "components")),
        self_uri: get(root, "$self").and_then(text),
        json: json.map_or_else(std::sync::OnceLock::new, std::sync::OnceLock::from),
    };
    if builder.problems.is_empty() {
        Ok(document)
    } else {
        Err(builder.problems)
    }
}

/// Where a value is: its JSON Pointer, written out only for a problem.
#[derive(Clone, Copy)]
enum At<'p> {
    /// A pointer written out.
    Root(&'p str),
    /// A member of the value at another place.
    Key(&'p At<'p>, &'static str),
    /// An item of the list at another place.
    Index(&'p At<'p>, usize),
}

impl At<'_> {
    fn pointer(self) -> String {
        match self {
            At::Root(pointer) => pointer.to_owned(),
            At::Key(parent, key) => format!("{}/{key}", parent.pointer()),
            At::Index(parent, index) => format!("{}/{index}", parent.pointer()),
        }
    }
}

struct Builder<'c, 'a> {
    context: &'c Context<'a>,
    problems: Vec<Problem>,
}

impl Builder<'_, '_> {
    fn workflow(&mut self, node: &Node<'_>, index: usize) -> Option<Workflow> {
        let pointer = format!("/workflows/{index}");
        let (outputs, output_selectors) = outputs(get(node, "outputs"));
        Some(Workflow {
            id: get(node, "workflowId").and_then(text)?,
            summary: plain(node, "summary"),
            description: plain(node, "description"),
            inputs: get(node, "inputs").map(spanned_json),
            inputs_pointer: format!("{pointer}/inputs"),
            depends_on: texts(get(node, "dependsOn")),
            steps: collect_sized(items(get(node, "steps")), |(s, step)| {
                // Sized once: `format!` would grow it twice.
                let mut at = String::with_capacity(pointer.len() + 12);
                let _ = write!(at, "{pointer}/steps/{s}");
                self.step(step, at)
            }),
            success_actions: self.actions(
                get(node, "successActions"),
                At::Key(&At::Root(&pointer), "successActions"),
            ),
            failure_actions: self.actions(
                get(node, "failureActions"),
                At::Key(&At::Root(&pointer), "failureActions"),
            ),
            outputs,
            output_selectors,
            parameters: parameters(get(node, "parameters")),
            span: node.span,
        })
    }

    fn step(&mut self, node: &Node<'_>, pointer: String) -> Option<Step> {
        let field = |key: &str| get(node, key).and_then(text);
        let asyncapi = self.context.version.is_1_1()
            && (get(node, "action").is_some() || get(node, "channelPath").is_some());
        let target = if let Some(id) = field("workflowId") {
            Target::WorkflowId(id)
        } else if asyncapi {
            let at = get(node, "channelPath")
                .or_else(|| get(node, "operationId"))
                .map_or(node.span, |n| n.span);
            Target::AsyncApi(at)
        } else if let Some(id) = field("operationId") {
            Target::OperationId(id)
        } else {
            Target::OperationPath(field("operationPath")?)
        };
        let (outputs, output_selectors) = outputs(get(node, "outputs"));
        let timeout = get(node, "timeout").and_then(|n| {
            self.count(
                n,
                At::Key(&At::Root(&pointer), "timeout"),
                "`timeout`",
                "milliseconds",
            )
        });
        Some(Step {
            id: field("stepId")?,
            description: plain(node, "description"),
            target,
            parameters: parameters(get(node, "parameters")),
            request_body: get(node, "requestBody").map(request_body),
            success_criteria: self.criteria(
                get(node, "successCriteria"),
                At::Key(&At::Root(&pointer), "successCriteria"),
            ),
            on_success: self.actions(
                get(node, "onSuccess"),
                At::Key(&At::Root(&pointer), "onSuccess"),
            ),
            on_failure: self.actions(
                get(node, "onFailure"),
                At::Key(&At::Root(&pointer), "onFailure"),
            ),
            outputs,
            output_selectors,
            timeout,
            depends_on: texts(get(node, "dependsOn")),
            apiflow: get(node, "x-apiflow").map(extension),
            security: items(get(node, "x-security"))
                .map(|(_, n)| security(n))
                .collect(),
            pointer,
            span: node.span,
        })
    }

    /// Reads a whole number of 0 or more.
    fn count(
        &mut self,
        node: &Node<'_>,
        at: At<'_>,
        what: &str,
        unit: &str,
    ) -> Option<Spanned<u64>> {
        // The schema reports a value that is not a whole number; only its sign is left.
        let NodeKind::Int(value) = node.kind else {
            return None;
        };
        if let Ok(value) = u64::try_from(value) {
            return Some(Spanned::new(value, node.span));
        }
        let found = format!("`{value}`");
        self.problems.push(self.context.problem(
            &at.pointer(),
            node.span,
            format!("invalid {what}: expected a whole number of {unit}, 0 or more"),
            format!("found {found}"),
        ));
        None
    }

    fn criteria(&mut self, node: Option<&Node<'_>>, at: At<'_>) -> Vec<Criterion> {
        items(node)
            .filter_map(|(index, item)| self.criterion(item, At::Index(&at, index)))
            .collect()
    }

    fn criterion(&mut self, node: &Node<'_>, at: At<'_>) -> Option<Criterion> {
        let kind = match get(node, "type") {
            None => Spanned::new(CriterionKind::Simple, node.span),
            Some(kind) => self.criterion_kind(kind, At::Key(&at, "type"))?,
        };
        Some(Criterion {
            context: get(node, "context").and_then(text),
            condition: get(node, "condition").and_then(text)?,
            kind,
            span: node.span,
        })
    }

    /// Reads a criterion's `type`: a name, or an expression type with its version.
    fn criterion_kind(&mut self, node: &Node<'_>, at: At<'_>) -> Option<Spanned<CriterionKind>> {
        let (name, version) = match &node.kind {
            NodeKind::Str(name) => (name.to_string(), None),
            NodeKind::Map(_) => (plain(node, "type")?, plain(node, "version")),
            _ => return None,
        };
        let kind = match name.as_str() {
            "simple" => CriterionKind::Simple,
            "regex" => CriterionKind::Regex,
            "jsonpath" => CriterionKind::JsonPath { version },
            "xpath" => CriterionKind::XPath { version },
            // Other names break the schema, which says so.
            "jsonpointer" => {
                let other = "jsonpointer";
                let mut problem = self.context.problem(
                    &at.pointer(),
                    node.span,
                    format!("a criterion cannot be of type `{other}`"),
                    format!("found `{other}`"),
                );
                problem.diagnostic.help = Some(
                    "a criterion's `type` is `simple`, `regex`, `jsonpath` or `xpath`; a JSON Pointer selects a value, use it in `context` (`$response.body#/status`)".to_owned(),
                );
                self.problems.push(problem);
                return None;
            }
            _ => return None,
        };
        Some(Spanned::new(kind, node.span))
    }

    fn actions(&mut self, node: Option<&Node<'_>>, at: At<'_>) -> Vec<ActionOrRef> {
        items(node)
            .filter_map(|(index, item)| {
                if get(item, "reference").is_some() {
                    reference(item).map(ActionOrRef::Reference)
                } else {
                    self.action(item, At::Index(&at, index))
                        .map(ActionOrRef::Action)
                }
            })
            .collect()
    }

    fn action(&mut self, node: &Node<'_>, at: At<'_>) -> Option<Action> {
        let kind = get(node, "type").and_then(text)?;
        let kind = Spanned::new(
            match kind.value.as_str() {
                "goto" => ActionKind::Goto,
                "retry" => ActionKind::Retry,
                _ => ActionKind::End,
            },
            kind.span,
        );
        let retry_after = get(node, "retryAfter").and_then(|n| match n.kind {
            #[allow(clippy::cast_precision_loss)]
            NodeKind::Int(value) => Some(Spanned::new(value as f64, n.span)),
            NodeKind::Float(value) => Some(Spanned::new(value, n.span)),
            _ => None,
        });
        // The schema asks for a whole number, 0 or more.
        let retry_limit = get(node, "retryLimit").and_then(|n| match n.kind {
            NodeKind::Int(value) => u64::try_from(value).ok().map(|v| Spanned::new(v, n.span)),
            _ => None,
        });
        Some(Action {
            name: get(node, "name").and_then(text)?,
            kind,
            workflow_id: get(node, "workflowId").and_then(text),
            step_id: get(node, "stepId").and_then(text),
            retry_after,
            retry_limit,
            criteria: self.criteria(get(node, "criteria"), At::Key(&at, "criteria")),
            parameters: parameters(get(node, "parameters")),
            span: node.span,
        })
    }

    fn components(&mut self, node: Option<&Node<'_>>) -> Components {
        let mut components = Components::default();
        let Some(node) = node else { return components };
        components.inputs = entries(get(node, "inputs"))
            .map(|(name, value)| (name, value.to_json()))
            .collect();
        components.parameters = entries(get(node, "parameters"))
            .filter_map(|(name, value)| parameter(value).map(|p| (name, p)))
            .collect();
        for (section, into) in [("successActions", true), ("failureActions", false)] {
            let actions: Vec<_> = entries(get(node, section))
                .filter_map(|(name, value)| {
                    let pointer =
                        format!("/components/{section}/{}", super::tree::escape(&name.value));
                    self.action(value, At::Root(&pointer)).map(|a| (name, a))
                })
                .collect();
            if into {
                components.success_actions = actions;
            } else {
                components.failure_actions = actions;
            }
        }
        components
    }
}

fn source_description(node: &Node<'_>) -> Option<SourceDescription> {
    let kind = get(node, "type").and_then(text).and_then(|kind| {
        let value = match kind.value.as_str() {
            "openapi" => SourceKind::OpenApi,
            "arazzo" => SourceKind::Arazzo,
            "asyncapi" => SourceKind::AsyncApi,
            _ => return None,
        };
        Some(Spanned::new(value, kind.span))
    });
    Some(SourceDescription {
        name: get(node, "name").and_then(text)?,
        url: get(node, "url").and_then(text)?,
        kind,
        span: node.span,
    })
}

fn parameters(node: Option<&Node<'_>>) -> Vec<ParameterOrRef> {
    items(node)
        .filter_map(|(_, item)| {
            if get(item, "reference").is_some() {
                reference(item).map(ParameterOrRef::Reference)
            } else {
                parameter(item).map(ParameterOrRef::Parameter)
            }
        })
        .collect()
}

fn parameter(node: &Node<'_>) -> Option<Parameter> {
    let location = get(node, "in").and_then(text).and_then(|location| {
        let value = match location.value.as_str() {
            "path" => ParameterIn::Path,
            "query" => ParameterIn::Query,
            "querystring" => ParameterIn::Querystring,
            "header" => ParameterIn::Header,
            "cookie" => ParameterIn::Cookie,
            "channel" => ParameterIn::Channel,
            _ => return None,
        };
        Some(Spanned::new(value, location.span))
    });
    Some(Parameter {
        name: get(node, "name").and_then(text)?,
        location,
        value: get(node, "value").map(spanned_json)?,
        span: node.span,
    })
}

fn reference(node: &Node<'_>) -> Option<Reference> {
    Some(Reference {
        reference: get(node, "reference").and_then(text)?,
        value: get(node, "value").map(spanned_json),
        span: node.span,
    })
}

fn request_body(node: &Node<'_>) -> RequestBody {
    RequestBody {
        content_type: get(node, "contentType").and_then(text),
        payload: get(node, "payload").map(spanned_json),
        replacements: items(get(node, "replacements"))
            .filter_map(|(_, item)| {
                Some(Replacement {
                    target: get(item, "target").and_then(text)?,
                    selector: get(item, "targetSelectorType")
                        .map_or(Selector::JsonPointer, selector),
                    value: get(item, "value").map(spanned_json)?,
                })
            })
            .collect(),
        span: node.span,
    }
}

/// Reads `targetSelectorType`: a name, or an expression type whose `type` is the name.
fn selector(node: &Node<'_>) -> Selector {
    let name = match &node.kind {
        NodeKind::Str(name) => Some(name.to_string()),
        _ => plain(node, "type"),
    };
    match name.as_deref() {
        Some("jsonpath") => Selector::JsonPath,
        Some("xpath") => Selector::XPath,
        _ => Selector::JsonPointer,
    }
}

/// Splits `outputs:` into runtime expressions and selector objects.
#[allow(clippy::type_complexity)]
fn outputs(
    node: Option<&Node<'_>>,
) -> (
    Vec<(Spanned<String>, Spanned<String>)>,
    Vec<(Spanned<String>, Spanned<serde_json::Value>)>,
) {
    let entries = entries(node);
    let mut expressions = Vec::with_capacity(entries.len());
    let mut selectors = Vec::new();
    for (name, value) in entries {
        match &value.kind {
            NodeKind::Map(_) => selectors.push((name, spanned_json(value))),
            _ => {
                if let Some(expression) = text(value) {
                    expressions.push((name, expression));
                }
            }
        }
    }
    (expressions, selectors)
}

fn extension(node: &Node<'_>) -> Extension {
    Extension {
        follow_redirects: get(node, "follow_redirects").and_then(|n| match n.kind {
            NodeKind::Bool(value) => Some(Spanned::new(value, n.span)),
            _ => None,
        }),
        stop_at: get(node, "stop_at").and_then(text),
        form_from: get(node, "form_from").map(spanned_json),
        extract: entries(get(node, "extract"))
            .map(|(name, value)| (name, spanned_json(value)))
            .collect(),
        span: node.span,
    }
}

fn security(node: &Node<'_>) -> Security {
    Security {
        scheme_name: get(node, "schemeName").and_then(text),
        scheme: get(node, "scheme").map(spanned_json),
        values: entries(get(node, "values"))
            .map(|(name, value)| (name, spanned_json(value)))
            .collect(),
        span: node.span,
    }
}

/// A string value with where it is written.
fn text(node: &Node<'_>) -> Option<Spanned<String>> {
    match &node.kind {
        NodeKind::Str(value) => Some(Spanned::new(value.to_string(), node.span)),
        _ => None,
    }
}

/// The string value of a key, without its position.
fn plain(node: &Node<'_>, key: &str) -> Option<String> {
    get(node, key).and_then(text).map(|t| t.value)
}

/// The strings of a list.
fn texts(node: Option<&Node<'_>>) -> Vec<Spanned<String>> {
    items(node).filter_map(|(_, item)| text(item)).collect()
}

fn spanned_json(node: &Node<'_>) -> Spanned<serde_json::Value> {
    Spanned::new(node.to_json(), node.span)
}

/// Keeps what `keep` makes of each item, in a list sized for all of them: grown one push at a
/// time, a list of a hundred steps is copied over five times.
fn collect_sized<I: ExactSizeIterator, T>(
    items: I,
    keep: impl FnMut(I::Item) -> Option<T>,
) -> Vec<T> {
    let mut kept = Vec::with_capacity(items.len());
    kept.extend(items.filter_map(keep));
    kept
}

/// The items of a list, with their indexes; nothing for anything else.
fn items<'n>(node: Option<&'n Node<'n>>) -> impl ExactSizeIterator<Item = (usize, &'n Node<'n>)> {
    let items: &[Node<'_>] = match node.map(|n| &n.kind) {
        Some(NodeKind::Seq(items)) => items,
        _ => &[],
    };
    items.iter().enumerate()
}

/// The entries of a mapping, each key with where it is written.
fn entries<'n>(
    node: Option<&'n Node<'n>>,
) -> impl ExactSizeIterator<Item = (Spanned<String>, &'n Node<'n>)> {
    let entries: &[(apiflow::format::yaml::Key<'_>, Node<'_>)] = match node.map(|n| &n.kind) {
        Some(NodeKind::Map(entries)) => entries,
        _ => &[],
    };
    entries.iter().map(|(key, value)| (key.to_spanned(), value))
}
