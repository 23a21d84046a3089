//! What the document alone says beyond its schema: each step calls exactly one thing, ids and
//! names are unique, parameters are not listed twice, and apiflow's own extensions
//! (`x-apiflow`, `x-security`) are well formed.

use std::collections::{HashMap, HashSet};

use apiflow::format::yaml::{Node, NodeKind};

use super::keys::{APIFLOW_KEYS, FORM_FROM_KEYS, SECURITY_KEYS};
use super::tree::{child, get};
use super::{Context, Problem};

/// Runs every check; returns the pointers of the steps whose target is wrong, whose
/// schema violations about targets say the same thing less clearly. A document that
/// `conforms` to the schema has unique names and one target a step, as the quick walk that
/// vouched for it saw, so only apiflow's extensions are left to check.
pub(super) fn check(
    context: &Context<'_>,
    conforms: bool,
    problems: &mut Vec<Problem>,
) -> HashSet<String> {
    let mut flagged = HashSet::new();
    if !conforms {
        unique_names(
            context,
            "",
            "sourceDescriptions",
            "name",
            "source description name",
            problems,
        );
        unique_names(
            context,
            "",
            "workflows",
            "workflowId",
            "`workflowId`",
            problems,
        );
    }
    let Some(NodeKind::Seq(workflows)) = get(context.root, "workflows").map(|n| &n.kind) else {
        return flagged;
    };
    for (w, workflow) in workflows.iter().enumerate() {
        if !conforms {
            let workflow_pointer = format!("/workflows/{w}");
            unique_names(
                context,
                &workflow_pointer,
                "steps",
                "stepId",
                "`stepId`",
                problems,
            );
            unique_parameters(context, workflow, &workflow_pointer, problems);
        }
        let Some(NodeKind::Seq(steps)) = get(workflow, "steps").map(|n| &n.kind) else {
            continue;
        };
        for (s, step) in steps.iter().enumerate() {
            if !matches!(step.kind, NodeKind::Map(_)) {
                continue;
            }
            // Written out only where a check needs it: for a problem, or for the checks a
            // conforming document does not need.
            let pointer = || format!("/workflows/{w}/steps/{s}");
            if !conforms {
                let pointer = pointer();
                if target(context, step, &pointer, problems) {
                    flagged.insert(pointer.clone());
                }
                unique_parameters(context, step, &pointer, problems);
            }
            step_extensions(context, step, &pointer, problems);
        }
    }
    flagged
}

/// Checks `x-apiflow` and `x-security` on a step.
fn step_extensions(
    context: &Context<'_>,
    step: &Node<'_>,
    pointer: &dyn Fn() -> String,
    problems: &mut Vec<Problem>,
) {
    if let Some(node) = get(step, "x-apiflow") {
        apiflow_extension(
            context,
            step,
            node,
            &child(&pointer(), "x-apiflow"),
            problems,
        );
    }
    if let Some(node) = get(step, "x-security") {
        security(context, node, &|| child(&pointer(), "x-security"), problems);
    }
}

/// Checks that a step calls exactly one operation, channel or workflow; tells whether it
/// found a problem.
fn target(
    context: &Context<'_>,
    step: &Node<'_>,
    pointer: &str,
    problems: &mut Vec<Problem>,
) -> bool {
    let keys: &[&str] = if context.version.is_1_1() {
        &["operationId", "operationPath", "channelPath", "workflowId"]
    } else {
        &["operationId", "operationPath", "workflowId"]
    };
    let title = || {
        let quoted: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
        let (last, init) = quoted.split_last().expect("a step has target keys");
        format!("a step calls exactly one of {} or {last}", init.join(", "))
    };
    let mut present: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| get(step, k).is_some())
        .collect();
    if present.len() > 1 {
        // In the order they are written, to point at the second one.
        present.sort_by_key(|k| {
            let span = context.tree.key_span(&child(pointer, k));
            (span.line, span.column)
        });
    }
    match present.as_slice() {
        [] => {
            let mut problem =
                context.problem(pointer, step.span, title(), "this step calls none of them");
            problem.diagnostic.help = Some(if context.version.is_1_1() {
                "add `operationId` or `operationPath` to call an OpenAPI operation, `workflowId` to run a workflow, or `channelPath` with `action` for an AsyncAPI channel".to_owned()
            } else {
                "add `operationId` or `operationPath` to call an operation, or `workflowId` to run a workflow".to_owned()
            });
            problems.push(problem);
            true
        }
        [first, second, ..] => {
            let at = child(pointer, second);
            let mut problem = context.problem(
                &at,
                context.tree.key_span(&at),
                title(),
                format!("`{second}` as well as `{first}`"),
            );
            problem.diagnostic.help = Some(format!("keep `{first}` or `{second}`, not both"));
            problems.push(problem);
            true
        }
        ["channelPath"] if get(step, "action").is_none() => {
            let mut problem = context.problem(
                pointer,
                step.span,
                "a step with `channelPath` needs `action`",
                "no `action` here",
            );
            problem.diagnostic.help = Some(
                "say what the step does on the channel: `action: send` or `action: receive`"
                    .to_owned(),
            );
            problems.push(problem);
            true
        }
        _ => false,
    }
}

/// Reports the second use of a name among the entries of a list (workflow ids, step ids,
/// source names).
fn unique_names(
    context: &Context<'_>,
    pointer: &str,
    list: &str,
    key: &str,
    what: &str,
    problems: &mut Vec<Problem>,
) {
    let holder = if pointer.is_empty() {
        Some(context.root)
    } else {
        super::tree::node_at(context.root, pointer)
    };
    let Some(NodeKind::Seq(items)) = holder.and_then(|h| get(h, list)).map(|n| &n.kind) else {
        return;
    };
    let mut seen: HashMap<&str, u32> = HashMap::new();
    for (index, item) in items.iter().enumerate() {
        let Some(node) = get(item, key) else { continue };
        let NodeKind::Str(name) = &node.kind else {
            continue;
        };
        if let Some(line) = seen.get(name.as_ref()) {
            let at = format!("{pointer}/{list}/{index}/{key}");
            let mut problem = context.problem(
                &at,
                context.tree.span(&at),
                format!("duplicate {what} `{name}`"),
                format!("already used on line {line}"),
            );
            problem.diagnostic.help = Some(format!("each entry of `{list}` needs its own `{key}`"));
            problems.push(problem);
        } else {
            seen.insert(name, node.span.line);
        }
    }
}

/// Reports a parameter listed twice in one list: parameters are known by `name` and `in`, and
/// a reusable one by its `reference`.
fn unique_parameters(
    context: &Context<'_>,
    holder: &Node<'_>,
    pointer: &str,
    problems: &mut Vec<Problem>,
) {
    let Some(NodeKind::Seq(items)) = get(holder, "parameters").map(|n| &n.kind) else {
        return;
    };
    let mut seen: HashMap<(String, String), u32> = HashMap::new();
    for (index, item) in items.iter().enumerate() {
        let text = |key: &str| match get(item, key).map(|n| &n.kind) {
            Some(NodeKind::Str(s)) => Some(s.to_string()),
            _ => None,
        };
        let identity = if let Some(reference) = text("reference") {
            ("$ref".to_owned(), reference)
        } else if let Some(name) = text("name") {
            (text("in").unwrap_or_default(), name)
        } else {
            continue;
        };
        if let Some(line) = seen.get(&identity) {
            let described = match &identity {
                (kind, reference) if kind == "$ref" => format!("`{reference}`"),
                (location, name) if location.is_empty() => format!("`{name}`"),
                (location, name) => format!("`{name}` (`in: {location}`)"),
            };
            let at = format!("{pointer}/parameters/{index}");
            let mut problem = context.problem(
                &at,
                item.span,
                format!("duplicate parameter {described}"),
                format!("same parameter as line {line}"),
            );
            problem.diagnostic.help =
                Some("a parameter is known by its `name` and `in`; list each one once".to_owned());
            problems.push(problem);
        } else {
            seen.insert(identity, item.span.line);
        }
    }
}

/// Checks `x-apiflow` on a step: a mapping of apiflow's own keys.
fn apiflow_extension(
    context: &Context<'_>,
    step: &Node<'_>,
    node: &Node<'_>,
    pointer: &str,
    problems: &mut Vec<Problem>,
) {
    let NodeKind::Map(entries) = &node.kind else {
        problems.push(expected(context, pointer, node, "`x-apiflow`", "a mapping"));
        return;
    };
    for (key, value) in entries {
        let at = child(pointer, &key.name);
        match key.name.as_ref() {
            "follow_redirects" if !matches!(value.kind, NodeKind::Bool(_)) => {
                problems.push(expected(
                    context,
                    &at,
                    value,
                    "`follow_redirects`",
                    "`true` or `false`",
                ));
            }
            "stop_at" if !matches!(value.kind, NodeKind::Str(_)) => {
                problems.push(expected(
                    context,
                    &at,
                    value,
                    "`stop_at`",
                    "a URL prefix (a string)",
                ));
            }
            "form_from" => form_from(context, value, &at, problems),
            "extract" => extract(context, step, value, &at, problems),
            name if !APIFLOW_KEYS.contains(&name) => {
                problems.push(context.unknown_key(pointer, name, "`x-apiflow`", APIFLOW_KEYS));
            }
            _ => {}
        }
    }
}

fn form_from(context: &Context<'_>, node: &Node<'_>, pointer: &str, problems: &mut Vec<Problem>) {
    let NodeKind::Map(entries) = &node.kind else {
        problems.push(expected(
            context,
            pointer,
            node,
            "`form_from`",
            "a mapping with `step`",
        ));
        return;
    };
    for (key, _) in entries {
        if !FORM_FROM_KEYS.contains(&key.name.as_ref()) {
            problems.push(context.unknown_key(
                pointer,
                &key.name,
                "`x-apiflow.form_from`",
                FORM_FROM_KEYS,
            ));
        }
    }
    if get(node, "step").is_none() {
        let mut problem = context.problem(
            pointer,
            node.span,
            "`x-apiflow.form_from` needs `step`",
            "no `step` here",
        );
        problem.diagnostic.help =
            Some("name the earlier step whose HTML page holds the form".to_owned());
        problems.push(problem);
    }
}

/// Checks `x-apiflow.extract`: each name is new among the step's outputs.
fn extract(
    context: &Context<'_>,
    step: &Node<'_>,
    node: &Node<'_>,
    pointer: &str,
    problems: &mut Vec<Problem>,
) {
    let NodeKind::Map(entries) = &node.kind else {
        problems.push(expected(
            context,
            pointer,
            node,
            "`extract`",
            "a mapping of names to captures",
        ));
        return;
    };
    for (key, value) in entries {
        let at = child(pointer, &key.name);
        if !matches!(value.kind, NodeKind::Map(_) | NodeKind::Str(_)) {
            problems.push(expected(
                context,
                &at,
                value,
                &format!("`{}`", key.name),
                "a capture such as `{ json: $.id }`",
            ));
        }
        if let Some(output) = get(step, "outputs").and_then(|o| get(o, &key.name)) {
            let mut problem = context.problem(
                &at,
                key.span,
                format!("duplicate output name `{}`", key.name),
                format!("also an output on line {}", output.span.line),
            );
            problem.diagnostic.help = Some(
                "each name of `x-apiflow.extract` becomes an output of the step; rename one of them"
                    .to_owned(),
            );
            problems.push(problem);
        }
    }
}

/// Checks `x-security`: a list of `{ schemeName | scheme, values }`. It holds credentials:
/// messages say what kind of value they found, never the value.
fn security(
    context: &Context<'_>,
    node: &Node<'_>,
    pointer: &dyn Fn() -> String,
    problems: &mut Vec<Problem>,
) {
    let NodeKind::Seq(items) = &node.kind else {
        problems.push(kind_only(
            context,
            &pointer(),
            node,
            "`x-security`",
            "a list of `{ schemeName, values }`",
        ));
        return;
    };
    for (index, item) in items.iter().enumerate() {
        // Pointers are written out only for a problem.
        let at = || format!("{}/{index}", pointer());
        let NodeKind::Map(entries) = &item.kind else {
            problems.push(kind_only(
                context,
                &at(),
                item,
                &format!("`x-security[{index}]`"),
                "a mapping",
            ));
            continue;
        };
        for (key, value) in entries {
            let key_at = || child(&at(), &key.name);
            match key.name.as_ref() {
                "schemeName" if !matches!(value.kind, NodeKind::Str(_)) => {
                    problems.push(kind_only(
                        context,
                        &key_at(),
                        value,
                        "`schemeName`",
                        "the name of a security scheme",
                    ));
                }
                "scheme" if !matches!(value.kind, NodeKind::Map(_)) => {
                    problems.push(kind_only(
                        context,
                        &key_at(),
                        value,
                        "`scheme`",
                        "a security scheme such as `{ type: http, scheme: bearer }`",
                    ));
                }
                "values" if !matches!(value.kind, NodeKind::Map(_)) => {
                    problems.push(kind_only(
                        context,
                        &key_at(),
                        value,
                        "`values`",
                        "a mapping such as `{ token: $inputs.token }`",
                    ));
                }
                name if !SECURITY_KEYS.contains(&name) => {
                    problems.push(context.unknown_key(
                        &at(),
                        name,
                        "an `x-security` entry",
                        SECURITY_KEYS,
                    ));
                }
                _ => {}
            }
        }
        match (get(item, "schemeName"), get(item, "scheme")) {
            (Some(_), Some(_)) => {
                let key_at = child(&at(), "scheme");
                let mut problem = context.problem(
                    &key_at,
                    context.tree.key_span(&key_at),
                    "an `x-security` entry names `schemeName` or `scheme`, not both",
                    "`scheme` as well as `schemeName`",
                );
                problem.diagnostic.help = Some(
                    "keep `schemeName` to use the scheme the OpenAPI description defines"
                        .to_owned(),
                );
                problems.push(problem);
            }
            (None, None) => {
                let mut problem = context.problem(
                    &at(),
                    item.span,
                    "an `x-security` entry needs `schemeName` or `scheme`",
                    "neither here",
                );
                problem.diagnostic.help = Some("`schemeName` names a security scheme of the OpenAPI description; `scheme` writes one in place".to_owned());
                problems.push(problem);
            }
            _ => {}
        }
        if get(item, "values").is_none() {
            problems.push(context.problem(
                &at(),
                item.span,
                "an `x-security` entry needs `values`",
                "no `values` here",
            ));
        }
    }
}

/// A value of the wrong shape, showing what was found when it is short.
fn expected(
    context: &Context<'_>,
    pointer: &str,
    node: &Node<'_>,
    what: &str,
    expected: &str,
) -> Problem {
    let found = match &node.kind {
        NodeKind::Str(s) if s.chars().count() <= 40 => format!("found `{s}`"),
        NodeKind::Int(_) | NodeKind::Float(_) | NodeKind::Bool(_) => {
            format!("found `{}`", node.scalar_text().unwrap_or_default())
        }
        _ => format!("found {}", node.describe()),
    };
    context.problem(
        pointer,
        node.span,
        format!("invalid {what}: expected {expected}"),
        found,
    )
}

/// A value of the wrong shape, saying only what kind of value was found (it may be a secret).
fn kind_only(
    context: &Context<'_>,
    pointer: &str,
    node: &Node<'_>,
    what: &str,
    expected: &str,
) -> Problem {
    context.problem(
        pointer,
        node.span,
        format!("invalid {what}: expected {expected}"),
        format!("found {}", node.describe()),
    )
}
