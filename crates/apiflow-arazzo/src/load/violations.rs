//! The official schema's violations, in plain words at the place they are about.
//!
//! A `oneOf` or `anyOf` that fails holds the failures of each of its forms; only the form the
//! value was meant to take is read (a step's by the keys it has, else the form that fails
//! least), so each place gets one message. Failures the document checks report better
//! (`structure`) are left out, and a violation no message covers still gets one.

use std::collections::HashSet;

use apiflow::diagnostic::did_you_mean;
use apiflow::format::yaml::{Node, NodeKind};
use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{JsonType, ValidationError};

use super::keys::{Object, StepKind, TARGET_KEYS, object_at, step_kind, value_name};
use super::tree::{child, get, node_at, segments};
use super::{Context, Problem};
use crate::schema::Version;

/// Checks the document against the official schema of its version.
pub(super) fn check(
    context: &Context<'_>,
    json: &serde_json::Value,
    flagged: &HashSet<String>,
    problems: &mut Vec<Problem>,
) {
    // Most documents are valid, and answering yes or no stops at the first failure where
    // listing the violations explores every branch of every `oneOf`.
    let validator = context.version.validator();
    if validator.is_valid(json) {
        return;
    }
    let reader = Reader {
        context,
        json,
        flagged,
    };
    for error in validator.iter_errors(json) {
        let pointer = error.instance_path().as_str().to_owned();
        let mut found = Vec::new();
        reader.visit(&error, &mut found);
        let covered = |p: &Problem| {
            p.pointer == pointer
                || pointer.is_empty()
                || p.pointer.starts_with(&format!("{pointer}/"))
        };
        if found.is_empty() && !problems.iter().any(covered) {
            found.push(reader.generic(&pointer, error.kind().keyword()));
        }
        problems.extend(found);
    }
}

struct Reader<'c, 'a> {
    context: &'c Context<'a>,
    json: &'c serde_json::Value,
    flagged: &'c HashSet<String>,
}

impl Reader<'_, '_> {
    fn visit(&self, error: &ValidationError<'_>, found: &mut Vec<Problem>) {
        let pointer = error.instance_path().as_str();
        match error.kind() {
            ValidationErrorKind::OneOfNotValid { context }
            | ValidationErrorKind::AnyOf { context } => {
                if let Some(problems) = self.one_of(pointer, context) {
                    found.extend(problems);
                    return;
                }
                let branch = self.choose(pointer, error.evaluation_path().as_str(), context);
                if let Some(errors) = context.get(branch) {
                    for inner in errors {
                        self.visit(inner, found);
                    }
                }
            }
            kind => found.extend(self.leaf(pointer, kind)),
        }
    }

    fn node(&self, pointer: &str) -> Option<&Node<'_>> {
        node_at(self.context.root, pointer)
    }

    fn object(&self, pointer: &str) -> Object {
        object_at(self.context.root, pointer, self.context.version)
    }

    /// Reports a failed `oneOf` as a whole when its forms only differ in which key they
    /// require, or when it is a step's `dependsOn` entry.
    fn one_of(
        &self,
        pointer: &str,
        branches: &[Vec<ValidationError<'static>>],
    ) -> Option<Vec<Problem>> {
        let segments = segments(pointer);
        if segments.len() >= 2
            && segments[segments.len() - 2] == "dependsOn"
            && matches!(self.object(&parent(pointer)), Object::List(_))
            && segments.iter().filter(|s| *s == "steps").count() == 1
        {
            let mut problem = self.context.problem(
                pointer,
                self.context.tree.span(pointer),
                "invalid `dependsOn` entry: expected a `stepId` of this workflow, `$workflows.<workflowId>.steps.<stepId>` or `$sourceDescriptions.<name>.<workflowId>.steps.<stepId>`",
                self.found(pointer),
            );
            problem.diagnostic.help = Some(
                "a step of the same workflow is named by its `stepId` alone, without `$steps.`"
                    .to_owned(),
            );
            return Some(vec![problem]);
        }
        let mut required = Vec::new();
        for branch in branches {
            let [only] = branch.as_slice() else {
                return None;
            };
            let ValidationErrorKind::Required { property } = only.kind() else {
                return None;
            };
            if only.instance_path().as_str() != pointer {
                return None;
            }
            required.push(property.as_str().unwrap_or_default().to_owned());
        }
        let object = self.object(pointer);
        if matches!(object, Object::Step(_))
            && required.iter().all(|r| TARGET_KEYS.contains(&r.as_str()))
        {
            // `structure` says which of a step's targets are missing or too many.
            return Some(Vec::new());
        }
        let listed = or_list(&required);
        let mut problem = self.context.problem(
            pointer,
            self.context.tree.span(pointer),
            format!("{} needs {listed}", object.noun()),
            "none of them here",
        );
        if matches!(object, Object::SuccessAction | Object::FailureAction) {
            problem.diagnostic.help = Some(
                "a `goto` action goes to a step (`stepId`) or a workflow (`workflowId`)".to_owned(),
            );
        }
        Some(vec![problem])
    }

    /// Picks the form a value was meant to take among those of a failed `oneOf`/`anyOf`.
    fn choose(
        &self,
        pointer: &str,
        evaluation: &str,
        branches: &[Vec<ValidationError<'static>>],
    ) -> usize {
        let node = self.node(pointer);
        if self.context.version == Version::V1_1
            && evaluation.ends_with("/steps/items/$ref/oneOf")
            && branches.len() == 3
            && let Some(step) = node
        {
            // The 1.1 schema lists a step's forms as OpenAPI, AsyncAPI, workflow.
            return match step_kind(step, self.context.version) {
                StepKind::Operation => 0,
                StepKind::AsyncApi => 1,
                StepKind::Workflow => 2,
            };
        }
        let has_reference = node.is_some_and(|n| get(n, "reference").is_some());
        let score = |errors: &Vec<ValidationError<'static>>| {
            errors
                .iter()
                .map(|e| {
                    let here = e.instance_path().as_str() == pointer;
                    match e.kind() {
                        ValidationErrorKind::Type { .. } if here => 1000,
                        ValidationErrorKind::Required { property }
                            if here && !has_reference && property.as_str() == Some("reference") =>
                        {
                            100
                        }
                        ValidationErrorKind::UnevaluatedProperties { unexpected }
                            if here
                                && has_reference
                                && unexpected.iter().any(|u| u == "reference") =>
                        {
                            100
                        }
                        _ => 1,
                    }
                })
                .sum::<usize>()
        };
        branches
            .iter()
            .enumerate()
            .min_by_key(|(_, errors)| score(errors))
            .map_or(0, |(index, _)| index)
    }

    fn leaf(&self, pointer: &str, kind: &ValidationErrorKind) -> Vec<Problem> {
        let context = self.context;
        let span = context.tree.span(pointer);
        let object = self.object(pointer);
        let name = value_name(pointer);
        let mut problem = match kind {
            ValidationErrorKind::Required { property } => {
                let property = property.as_str().unwrap_or_default();
                let step = matches!(object, Object::Step(_));
                if step
                    && (TARGET_KEYS.contains(&property)
                        || (property == "action" && self.flagged.contains(pointer)))
                {
                    return Vec::new();
                }
                let mut problem = context.problem(
                    pointer,
                    span,
                    format!("{} needs `{property}`", object.noun()),
                    format!("no `{property}` here"),
                );
                problem.diagnostic.help = required_help(object, property, context.version);
                problem
            }
            ValidationErrorKind::UnevaluatedProperties { unexpected }
            | ValidationErrorKind::AdditionalProperties { unexpected } => {
                return unexpected
                    .iter()
                    .filter_map(|key| self.unexpected_key(pointer, object, key))
                    .collect();
            }
            ValidationErrorKind::Type { kind }
                if object_of_parent(self, pointer) == Object::Outputs =>
            {
                let mut problem = context.problem(
                    pointer,
                    span,
                    format!("invalid output `{name}`: expected a runtime expression"),
                    self.found(pointer),
                );
                problem.diagnostic.help = Some(if context.version.is_1_1() {
                    "an output is a runtime expression such as `$response.body#/id`, or a selector object (`context`, `selector`, `type`)".to_owned()
                } else {
                    "an output is a runtime expression such as `$response.body#/id`".to_owned()
                });
                problem
            }
            ValidationErrorKind::Type { kind } => context.problem(
                pointer,
                span,
                format!("invalid `{name}`: expected {}", types(kind)),
                self.found(pointer),
            ),
            ValidationErrorKind::Enum { options } => {
                let options: Vec<String> = options
                    .as_array()
                    .map(|o| {
                        o.iter()
                            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                let mut problem = context.problem(
                    pointer,
                    span,
                    format!("invalid `{name}`: expected {}", or_list(&options)),
                    self.found(pointer),
                );
                if let Some(text) = self.json.pointer(pointer).and_then(|v| v.as_str()) {
                    problem.diagnostic.help =
                        did_you_mean(text, options.iter().map(String::as_str));
                }
                problem
            }
            ValidationErrorKind::Constant { expected_value } => {
                let expected = expected_value
                    .as_str()
                    .map_or_else(|| expected_value.to_string(), str::to_owned);
                let step = matches!(self.object(&parent(pointer)), Object::Step(_));
                if step && name == "action" {
                    let mut problem = context.problem(
                        pointer,
                        span,
                        "`correlationId` is only for a step that receives (`action: receive`)",
                        self.found(pointer),
                    );
                    problem.diagnostic.help =
                        Some("remove `correlationId`, or make the step receive".to_owned());
                    problem
                } else {
                    context.problem(
                        pointer,
                        span,
                        format!("invalid `{name}`: expected `{expected}`"),
                        self.found(pointer),
                    )
                }
            }
            ValidationErrorKind::Pattern { pattern } => self.pattern(pointer, &name, pattern),
            ValidationErrorKind::MinItems { limit } => {
                let mut problem = context.problem(
                    pointer,
                    span,
                    if *limit == 1 {
                        format!("`{name}` needs at least one entry")
                    } else {
                        format!("`{name}` needs at least {limit} entries")
                    },
                    "empty list",
                );
                problem.diagnostic.help =
                    Some(format!("leave `{name}` out, or list what it holds"));
                problem
            }
            ValidationErrorKind::UniqueItems => {
                return self.unique_items(pointer, &name).into_iter().collect();
            }
            ValidationErrorKind::Minimum { limit } => context.problem(
                pointer,
                span,
                format!("invalid `{name}`: expected {limit} or more"),
                self.found(pointer),
            ),
            ValidationErrorKind::PropertyNames { .. } => {
                return self.property_names(pointer, object);
            }
            ValidationErrorKind::OneOfMultipleValid { .. } => {
                if matches!(object, Object::Step(_)) {
                    return Vec::new();
                }
                if matches!(object, Object::SuccessAction | Object::FailureAction) {
                    let mut problem = context.problem(
                        pointer,
                        span,
                        format!(
                            "{} goes to `stepId` or to `workflowId`, not both",
                            object.noun()
                        ),
                        "both here",
                    );
                    problem.diagnostic.help = Some("keep the one the action goes to".to_owned());
                    problem
                } else {
                    self.generic(pointer, kind.keyword())
                }
            }
            _ => self.generic(pointer, kind.keyword()),
        };
        if problem.diagnostic.label.is_empty() {
            "here".clone_into(&mut problem.diagnostic.label);
        }
        if let Some((holder, inner)) = inside_schema(pointer) {
            // The value is a keyword of a JSON Schema the document holds: say so, and where in
            // the schema it is.
            let plain = format!("invalid `{name}`: ");
            if let Some(rest) = problem.diagnostic.title.strip_prefix(&plain) {
                problem.diagnostic.title =
                    format!("invalid JSON Schema in {holder} at `{inner}`: {rest}");
            }
            problem.diagnostic.help = Some(format!(
                "{holder} is a JSON Schema (2020-12): each keyword takes the value that specification gives it"
            ));
        }
        vec![problem]
    }

    /// A key the schema does not allow in an object: unknown, new in 1.1, or belonging to
    /// another kind of step.
    fn unexpected_key(&self, pointer: &str, object: Object, key: &str) -> Option<Problem> {
        let context = self.context;
        let version = context.version;
        let allowed = object.keys(version).unwrap_or_default();
        // A form that failed for another reason marks every key as unexpected: keep only the
        // keys that are wrong here.
        if allowed.contains(&key) || (key.starts_with("x-") && object != Object::Reusable) {
            return None;
        }
        let at = child(pointer, key);
        let key_span = context.tree.key_span(&at);
        if let Object::Step(kind) = object {
            if TARGET_KEYS.contains(&key) && self.flagged.contains(pointer) {
                return None;
            }
            // 1.0 has no AsyncAPI steps: their keys are new in 1.1 there.
            let kinds: &[StepKind] = if version.is_1_1() {
                &[StepKind::Operation, StepKind::AsyncApi, StepKind::Workflow]
            } else {
                &[StepKind::Operation, StepKind::Workflow]
            };
            let any_step = kinds.iter().any(|k| {
                Object::Step(*k)
                    .keys(version)
                    .unwrap_or_default()
                    .contains(&key)
            });
            if any_step {
                let mut problem = context.problem(
                    &at,
                    key_span,
                    format!("`{key}` does not belong in {}", object.noun()),
                    "not for this kind of step",
                );
                problem.diagnostic.help = Some(match (kind, key) {
                    (_, "action" | "correlationId" | "channelPath") => {
                        "`action`, `channelPath` and `correlationId` are for steps that send or receive AsyncAPI messages".to_owned()
                    }
                    (StepKind::AsyncApi, _) => {
                        "an AsyncAPI step names its operation with `operationId` or its channel with `channelPath`".to_owned()
                    }
                    _ => format!("{} takes {}", object.noun(), and_list(&allowed)),
                });
                return Some(problem);
            }
        }
        let in_1_1 = |object: Object| {
            object
                .keys(Version::V1_1)
                .unwrap_or_default()
                .contains(&key)
        };
        let new_in_1_1 = match object {
            Object::Step(_) => [StepKind::Operation, StepKind::AsyncApi, StepKind::Workflow]
                .into_iter()
                .any(|k| in_1_1(Object::Step(k))),
            _ => in_1_1(object),
        };
        if version == Version::V1_0 && new_in_1_1 {
            let written = get(context.root, "arazzo")
                .and_then(|n| n.scalar_text().map(std::borrow::Cow::into_owned))
                .unwrap_or_default();
            let mut problem = context.problem(
                &at,
                key_span,
                format!("`{key}` is new in Arazzo 1.1, and this document follows {written}"),
                "Arazzo 1.1 only",
            );
            problem.diagnostic.help = Some(format!("write `arazzo: 1.1.0` to use `{key}`"));
            return Some(problem);
        }
        if object == Object::Reusable {
            let mut problem = context.unknown_key(pointer, key, object.noun(), &allowed);
            if did_you_mean(key, allowed.iter().copied()).is_none() {
                problem.diagnostic.help = Some(
                    "a reusable object takes `reference` and, for a parameter, `value`; write other keys in the component it names".to_owned(),
                );
            }
            return Some(problem);
        }
        Some(context.unknown_key(pointer, key, object.noun(), &allowed))
    }

    fn pattern(&self, pointer: &str, name: &str, pattern: &str) -> Problem {
        let context = self.context;
        let span = context.tree.span(pointer);
        let parent_object = self.object(&parent(pointer));
        let (title, help) = match (parent_object, name) {
            (Object::Root, "$self") => (
                "`$self` must not hold a fragment".to_owned(),
                "write the document's own URI without its `#…` part".to_owned(),
            ),
            (Object::Source, "name") => (
                "invalid source description name: expected letters, digits, `_` and `-`".to_owned(),
                "expressions name a source as `$sourceDescriptions.<name>`, so its name holds no `.` or spaces".to_owned(),
            ),
            _ => (
                format!("invalid `{name}`: expected text matching `{pattern}`"),
                String::new(),
            ),
        };
        let label = match self.json.pointer(pointer).and_then(|v| v.as_str()) {
            Some(text) if name == "$self" => match text.find('#') {
                Some(at) if text.len() - at <= 40 => format!("`{}` is a fragment", &text[at..]),
                _ => "holds a fragment".to_owned(),
            },
            _ => self.found(pointer),
        };
        let mut problem = context.problem(pointer, span, title, label);
        if !help.is_empty() {
            problem.diagnostic.help = Some(help);
        }
        problem
    }

    /// Points at the second of two equal entries of a list.
    fn unique_items(&self, pointer: &str, name: &str) -> Option<Problem> {
        // `structure` reports entries with the same id, name, or `name` and `in`.
        if ["parameters", "steps", "workflows", "sourceDescriptions"].contains(&name) {
            return None;
        }
        let items = self.json.pointer(pointer)?.as_array()?;
        let (first, second) = items
            .iter()
            .enumerate()
            .find_map(|(j, b)| items[..j].iter().position(|a| a == b).map(|i| (i, j)))?;
        let at = format!("{pointer}/{second}");
        let first_line = self.context.tree.span(&format!("{pointer}/{first}")).line;
        let shown = match &items[second] {
            serde_json::Value::String(text) if text.chars().count() <= 40 => format!(" `{text}`"),
            _ => String::new(),
        };
        let mut problem = self.context.problem(
            &at,
            self.context.tree.span(&at),
            format!("`{name}` lists the same entry{shown} twice"),
            format!("same as line {first_line}"),
        );
        problem.diagnostic.help = Some("remove one of them".to_owned());
        Some(problem)
    }

    /// Names of components that expressions could not reach.
    fn property_names(&self, pointer: &str, object: Object) -> Vec<Problem> {
        let Some(NodeKind::Map(entries)) = self.node(pointer).map(|n| &n.kind) else {
            return vec![self.generic(pointer, "propertyNames")];
        };
        entries
            .iter()
            .filter(|(key, _)| {
                key.name.is_empty()
                    || !key
                        .name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            })
            .map(|(key, _)| {
                let at = child(pointer, &key.name);
                let mut problem = self.context.problem(
                    &at,
                    key.span,
                    format!(
                        "invalid name `{}` in {}: expected letters, digits, `.`, `-` and `_`",
                        key.name,
                        object.noun()
                    ),
                    "not a component name",
                );
                problem.diagnostic.help = Some(
                    "expressions such as `$components.parameters.<name>` must be able to name it"
                        .to_owned(),
                );
                problem
            })
            .collect()
    }

    /// A violation with no plain-words reading: names the rule, never the value (it may be a
    /// secret).
    fn generic(&self, pointer: &str, keyword: &str) -> Problem {
        let object = self.object(pointer);
        let what = if matches!(object, Object::Opaque | Object::List(_)) {
            format!("`{}`", value_name(pointer))
        } else {
            object.noun().to_owned()
        };
        let version = match self.context.version {
            Version::V1_0 => "1.0",
            Version::V1_1 => "1.1",
        };
        self.context.problem(
            pointer,
            self.context.tree.span(pointer),
            format!("{what} does not follow the Arazzo {version} schema (its `{keyword}` rule)"),
            "here",
        )
    }

    /// Says what a value is, showing it when it is a short scalar.
    fn found(&self, pointer: &str) -> String {
        match self.node(pointer) {
            Some(node) => match &node.kind {
                NodeKind::Str(s) if s.chars().count() <= 40 => format!("found `{s}`"),
                NodeKind::Int(_) | NodeKind::Float(_) | NodeKind::Bool(_) => {
                    format!("found `{}`", node.scalar_text().unwrap_or_default())
                }
                _ => format!("found {}", node.describe()),
            },
            None => "here".to_owned(),
        }
    }
}

fn required_help(object: Object, property: &str, version: Version) -> Option<String> {
    let text = match (object, property) {
        (Object::Root, "arazzo") => {
            "start the document with the version of Arazzo it follows, such as `arazzo: 1.1.0`".to_owned()
        }
        (Object::Criterion, "context") => {
            "a criterion with a `type` applies its condition to a `context`, such as `$response.body`".to_owned()
        }
        (Object::Parameter, "in") if version.is_1_1() => {
            "a parameter of a step that calls an operation says where it goes: `in: path`, `query`, `querystring`, `header`, `cookie` (or `channel` in an AsyncAPI step)".to_owned()
        }
        (Object::Parameter, "in") => {
            "a parameter of a step that calls an operation says where it goes: `in: path`, `query`, `header` or `cookie`".to_owned()
        }
        (Object::Selector, "type") => {
            "say which language `selector` is written in: `type: jsonpath`, `jsonpointer` or `xpath`".to_owned()
        }
        (Object::Step(StepKind::AsyncApi), "action") => {
            "say what the step does: `action: send` or `action: receive`".to_owned()
        }
        (Object::SuccessAction | Object::FailureAction, "workflowId") => {
            "an action's `parameters` are the inputs of the workflow it names in `workflowId`".to_owned()
        }
        _ => return None,
    };
    Some(text)
}

fn object_of_parent(reader: &Reader<'_, '_>, pointer: &str) -> Object {
    reader.object(&parent(pointer))
}

/// Tells whether a pointer is inside a JSON Schema of the document (a workflow's `inputs` or
/// one of `components.inputs`): the schema's name and the pointer inside it.
fn inside_schema(pointer: &str) -> Option<(String, String)> {
    let segments = segments(pointer);
    let (holder, rest) = match segments.as_slice() {
        [first, _, inputs, rest @ ..] if first == "workflows" && inputs == "inputs" => {
            ("`inputs`".to_owned(), rest)
        }
        [first, inputs, name, rest @ ..] if first == "components" && inputs == "inputs" => {
            (format!("`components.inputs.{name}`"), rest)
        }
        _ => return None,
    };
    let mut inner = String::new();
    for segment in rest {
        inner.push('/');
        inner.push_str(&super::tree::escape(segment));
    }
    Some((
        holder,
        if inner.is_empty() {
            "/".to_owned()
        } else {
            inner
        },
    ))
}

fn parent(pointer: &str) -> String {
    pointer
        .rfind('/')
        .map_or_else(String::new, |cut| pointer[..cut].to_owned())
}

/// Names JSON types as YAML writers know them.
fn types(kind: &TypeKind) -> String {
    let names: Vec<String> = match kind {
        TypeKind::Single(single) => vec![type_name(*single).to_owned()],
        TypeKind::Multiple(set) => set
            .iter()
            .map(|t| match t {
                JsonType::Boolean => "a boolean".to_owned(),
                other => type_name(other).to_owned(),
            })
            .collect(),
    };
    match names.as_slice() {
        [] => "another kind of value".to_owned(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn type_name(kind: JsonType) -> &'static str {
    match kind {
        JsonType::Array => "a list",
        JsonType::Boolean => "`true` or `false`",
        JsonType::Integer => "a whole number",
        JsonType::Null => "null",
        JsonType::Number => "a number",
        JsonType::Object => "a mapping",
        JsonType::String => "a string",
    }
}

/// `` `a`, `b` or `c` ``.
fn or_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// `` `a`, `b`, `c` ``.
fn and_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
