//! What each place of an Arazzo document is (a step, a parameter, a criterion, …), the keys
//! the specification gives it, and how messages name it.

use apiflow::format::yaml::{Node, NodeKind};
use apiflow::span::{Span, Spanned};

use super::tree::{get, node_at, segments};
use crate::schema::Version;

/// The kind of object a JSON Pointer names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Object {
    Root,
    Info,
    Source,
    Workflow,
    Step(StepKind),
    Parameter,
    Reusable,
    RequestBody,
    Replacement,
    Criterion,
    ExpressionType,
    Selector,
    SuccessAction,
    FailureAction,
    Components,
    /// One of `components.inputs`, `.parameters`, `.successActions`, `.failureActions`.
    ComponentMap(Section),
    /// `outputs:` of a workflow or a step.
    Outputs,
    /// `x-apiflow:` of a step.
    Apiflow,
    /// `x-apiflow.form_from`.
    FormFrom,
    /// One entry of `x-security:`.
    Security,
    /// A list; what its items are.
    List(Item),
    /// A value the specification does not look into (a JSON Schema, a payload, an extension).
    Opaque,
}

/// What a step calls, which decides the keys it takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StepKind {
    /// `operationId` or `operationPath`.
    Operation,
    /// `action` with `operationId`, or `channelPath` (1.1).
    AsyncApi,
    /// `workflowId`.
    Workflow,
}

/// A section of `components:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Section {
    Inputs,
    Parameters,
    SuccessActions,
    FailureActions,
}

/// What the items of a list are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Item {
    Source,
    Workflow,
    Step,
    Parameter,
    SuccessAction,
    FailureAction,
    Criterion,
    Replacement,
    Security,
    Text,
}

/// The keys a step of each kind takes, with those 1.1 added.
const STEP_BASE: &[&str] = &[
    "stepId",
    "description",
    "parameters",
    "requestBody",
    "successCriteria",
    "onSuccess",
    "onFailure",
    "outputs",
];
const STEP_BASE_1_1: &[&str] = &["timeout", "dependsOn"];
/// Keys of steps that only one kind of step takes.
pub(crate) const TARGET_KEYS: &[&str] =
    &["operationId", "operationPath", "workflowId", "channelPath"];
const ASYNC_KEYS: &[&str] = &["action", "correlationId"];

/// The keys `x-apiflow` takes.
pub(crate) const APIFLOW_KEYS: &[&str] = &["follow_redirects", "stop_at", "form_from", "extract"];
/// The keys `x-apiflow.form_from` takes, as apiflow's own `form_from`.
pub(crate) const FORM_FROM_KEYS: &[&str] = &["step", "selector", "fields"];
/// The keys an `x-security` entry takes.
pub(crate) const SECURITY_KEYS: &[&str] = &["schemeName", "scheme", "values"];

impl Object {
    /// Returns the keys the specification gives the object (extensions aside), or `None` for
    /// a value whose keys are free.
    pub(crate) fn keys(self, version: Version) -> Option<Vec<&'static str>> {
        let new = version.is_1_1();
        let keys: Vec<&str> = match self {
            Object::Root => {
                let mut keys = vec![
                    "arazzo",
                    "info",
                    "sourceDescriptions",
                    "workflows",
                    "components",
                ];
                if new {
                    keys.insert(1, "$self");
                }
                keys
            }
            Object::Info => vec!["title", "summary", "description", "version"],
            Object::Source => vec!["name", "url", "type"],
            Object::Workflow => vec![
                "workflowId",
                "summary",
                "description",
                "inputs",
                "dependsOn",
                "steps",
                "successActions",
                "failureActions",
                "outputs",
                "parameters",
            ],
            Object::Step(kind) => {
                let mut keys = STEP_BASE.to_vec();
                if new {
                    keys.extend_from_slice(STEP_BASE_1_1);
                }
                match kind {
                    StepKind::Operation => {
                        keys.extend_from_slice(&["operationId", "operationPath"]);
                    }
                    StepKind::AsyncApi => {
                        keys.extend_from_slice(&["operationId", "channelPath"]);
                        keys.extend_from_slice(ASYNC_KEYS);
                    }
                    StepKind::Workflow => keys.push("workflowId"),
                }
                keys
            }
            Object::Parameter => vec!["name", "in", "value"],
            Object::Reusable => vec!["reference", "value"],
            Object::RequestBody => vec!["contentType", "payload", "replacements"],
            Object::Replacement if new => vec!["target", "targetSelectorType", "value"],
            Object::Replacement => vec!["target", "value"],
            Object::Criterion => vec!["context", "condition", "type"],
            Object::ExpressionType => vec!["type", "version"],
            Object::Selector => vec!["context", "selector", "type"],
            Object::SuccessAction if new => {
                vec![
                    "name",
                    "type",
                    "workflowId",
                    "stepId",
                    "parameters",
                    "criteria",
                ]
            }
            Object::SuccessAction => vec!["name", "type", "workflowId", "stepId", "criteria"],
            Object::FailureAction => {
                let mut keys = vec![
                    "name",
                    "type",
                    "workflowId",
                    "stepId",
                    "retryAfter",
                    "retryLimit",
                    "criteria",
                ];
                if new {
                    keys.insert(4, "parameters");
                }
                keys
            }
            Object::Components => vec!["inputs", "parameters", "successActions", "failureActions"],
            Object::Apiflow => APIFLOW_KEYS.to_vec(),
            Object::FormFrom => FORM_FROM_KEYS.to_vec(),
            Object::Security => SECURITY_KEYS.to_vec(),
            Object::ComponentMap(_) | Object::Outputs | Object::List(_) | Object::Opaque => {
                return None;
            }
        };
        Some(keys)
    }

    /// Names the object in a message: `a step`, `` `info` ``, ….
    pub(crate) fn noun(self) -> &'static str {
        match self {
            Object::Root => "the document",
            Object::Info => "`info`",
            Object::Source => "a source description",
            Object::Workflow => "a workflow",
            Object::Step(StepKind::Operation) => "a step",
            Object::Step(StepKind::AsyncApi) => "an AsyncAPI step",
            Object::Step(StepKind::Workflow) => "a step that runs a workflow",
            Object::Parameter => "a parameter",
            Object::Reusable => "a reusable object (`reference`)",
            Object::RequestBody => "`requestBody`",
            Object::Replacement => "a payload replacement",
            Object::Criterion => "a criterion",
            Object::ExpressionType => "an expression type",
            Object::Selector => "a selector object",
            Object::SuccessAction => "a success action",
            Object::FailureAction => "a failure action",
            Object::Components => "`components`",
            Object::ComponentMap(Section::Inputs) => "`components.inputs`",
            Object::ComponentMap(Section::Parameters) => "`components.parameters`",
            Object::ComponentMap(Section::SuccessActions) => "`components.successActions`",
            Object::ComponentMap(Section::FailureActions) => "`components.failureActions`",
            Object::Outputs => "`outputs`",
            Object::Apiflow => "`x-apiflow`",
            Object::FormFrom => "`x-apiflow.form_from`",
            Object::Security => "an `x-security` entry",
            Object::List(_) => "a list",
            Object::Opaque => "a value",
        }
    }
}

/// Tells what a step calls from the keys it has, as the official schema picks its form: a
/// `workflowId` runs a workflow, an `action`, `channelPath` or `correlationId` makes it an
/// AsyncAPI step (1.1), anything else calls an OpenAPI operation.
pub(crate) fn step_kind(step: &Node<'_>, version: Version) -> StepKind {
    if get(step, "workflowId").is_some() {
        StepKind::Workflow
    } else if version.is_1_1()
        && ["action", "channelPath", "correlationId"]
            .iter()
            .any(|key| get(step, key).is_some())
    {
        StepKind::AsyncApi
    } else {
        StepKind::Operation
    }
}

/// Tells what the value at a JSON Pointer is, walking from the root.
pub(crate) fn object_at(root: &Node<'_>, pointer: &str, version: Version) -> Object {
    let mut object = Object::Root;
    let mut node = Some(root);
    for segment in segments(pointer) {
        let next = node.and_then(|n| match &n.kind {
            NodeKind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.name == segment.as_str())
                .map(|(_, v)| v),
            NodeKind::Seq(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        });
        object = child_object(object, &segment, next, version);
        node = next;
    }
    object
}

fn child_object(
    parent: Object,
    segment: &str,
    node: Option<&Node<'_>>,
    version: Version,
) -> Object {
    let has = |key: &str| node.is_some_and(|n| get(n, key).is_some());
    let is_map = node.is_some_and(|n| matches!(n.kind, NodeKind::Map(_)));
    match (parent, segment) {
        (Object::Root, "info") => Object::Info,
        (Object::Root, "sourceDescriptions") => Object::List(Item::Source),
        (Object::Root, "workflows") => Object::List(Item::Workflow),
        (Object::Root, "components") => Object::Components,
        (Object::Workflow, "steps") => Object::List(Item::Step),
        (
            Object::Workflow | Object::Step(_) | Object::SuccessAction | Object::FailureAction,
            "parameters",
        ) => Object::List(Item::Parameter),
        (Object::Workflow, "successActions") | (Object::Step(_), "onSuccess") => {
            Object::List(Item::SuccessAction)
        }
        (Object::Workflow, "failureActions") | (Object::Step(_), "onFailure") => {
            Object::List(Item::FailureAction)
        }
        (Object::Workflow | Object::Step(_), "outputs") => Object::Outputs,
        (Object::Workflow | Object::Step(_), "dependsOn") => Object::List(Item::Text),
        (Object::Step(_), "requestBody") => Object::RequestBody,
        (Object::Step(_), "successCriteria")
        | (Object::SuccessAction | Object::FailureAction, "criteria") => {
            Object::List(Item::Criterion)
        }
        (Object::Step(_), "x-apiflow") => Object::Apiflow,
        (Object::Step(_), "x-security") => Object::List(Item::Security),
        (Object::Apiflow, "form_from") => Object::FormFrom,
        (Object::RequestBody, "replacements") => Object::List(Item::Replacement),
        (Object::Criterion | Object::Selector, "type")
        | (Object::Replacement, "targetSelectorType")
            if is_map =>
        {
            Object::ExpressionType
        }
        (Object::Outputs, _) | (Object::Parameter | Object::Replacement, "value") if is_map => {
            Object::Selector
        }
        (Object::Components, "inputs") => Object::ComponentMap(Section::Inputs),
        (Object::Components, "parameters") => Object::ComponentMap(Section::Parameters),
        (Object::Components, "successActions") => Object::ComponentMap(Section::SuccessActions),
        (Object::Components, "failureActions") => Object::ComponentMap(Section::FailureActions),
        (Object::ComponentMap(Section::Parameters), _) => Object::Parameter,
        (Object::ComponentMap(Section::SuccessActions), _) => Object::SuccessAction,
        (Object::ComponentMap(Section::FailureActions), _) => Object::FailureAction,
        (Object::List(item), _) => match item {
            Item::Source => Object::Source,
            Item::Workflow => Object::Workflow,
            Item::Step => Object::Step(node.map_or(StepKind::Operation, |n| step_kind(n, version))),
            Item::Parameter | Item::SuccessAction | Item::FailureAction if has("reference") => {
                Object::Reusable
            }
            Item::Parameter => Object::Parameter,
            Item::SuccessAction => Object::SuccessAction,
            Item::FailureAction => Object::FailureAction,
            Item::Criterion => Object::Criterion,
            Item::Replacement => Object::Replacement,
            Item::Security => Object::Security,
            Item::Text => Object::Opaque,
        },
        _ => Object::Opaque,
    }
}

/// Names the value at a pointer for messages: its key, or its list's key and index.
pub(crate) fn value_name(pointer: &str) -> String {
    let segments = segments(pointer);
    match segments.as_slice() {
        [] => "the document".to_owned(),
        [.., list, index] if index.parse::<usize>().is_ok() => format!("{list}[{index}]"),
        [.., key] => key.clone(),
    }
}

/// The step a pointer lies in: its `stepId` (or `steps[N]`) and where the step starts, to show
/// in diagnostics.
pub(crate) fn step_of(root: &Node<'_>, pointer: &str) -> Option<Spanned<String>> {
    let segments = segments(pointer);
    let [first, workflow, steps, step, ..] = segments.as_slice() else {
        return None;
    };
    if first != "workflows" || steps != "steps" {
        return None;
    }
    let step_pointer = format!("/workflows/{workflow}/steps/{step}");
    let node = node_at(root, &step_pointer)?;
    let name = match get(node, "stepId").map(|n| &n.kind) {
        Some(NodeKind::Str(id)) => id.to_string(),
        _ => format!("steps[{step}]"),
    };
    Some(Spanned::new(
        name,
        Span::new(node.span.line, node.span.column, 1),
    ))
}
