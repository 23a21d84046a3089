//! A quick walk that vouches for documents the official schema accepts, so that most documents
//! are neither converted to JSON nor checked by the compiled schema when they load.
//!
//! It answers `true` only for a document every rule of the schema of its version accepts, and
//! knows only the common shapes: operation and workflow steps, parameters, criteria with a
//! string `type`, actions, outputs written as expressions, `components`, and `inputs` schemas
//! made of the usual keywords. Anything else (`$self`, AsyncAPI steps, `dependsOn` on steps,
//! selectors, payload replacements, two items of a list it cannot tell apart, …) makes it
//! answer `false`, and the schema decides, as it does for every document that is wrong. Being
//! stricter than the schema is allowed; accepting what the schema rejects is not, which the
//! differential tests below check against the schema itself.

use std::collections::HashSet;
use std::hash::Hash;

use apiflow::format::yaml::{Key, Node, NodeKind};

use super::tree::get;
use crate::schema::Version;

/// Tells whether the document certainly conforms to the official schema of `version`.
pub(super) fn surely_valid(root: &Node<'_>, version: Version) -> bool {
    Walk {
        v1_1: version.is_1_1(),
    }
    .document(root, version)
}

/// Tells whether the model needs the document as JSON: for `$components` expressions and the
/// workflows' `inputs` schemas, whose `$ref`s are read against the whole document.
pub(super) fn needs_json(root: &Node<'_>) -> bool {
    let Some(top) = entries(root) else {
        return true;
    };
    top.iter().any(|(key, value)| match key.name.as_ref() {
        "components" => true,
        "workflows" => match &value.kind {
            NodeKind::Seq(workflows) => workflows.iter().any(|w| {
                entries(w).is_none_or(|keys| keys.iter().any(|(k, _)| k.name == "inputs"))
            }),
            _ => true,
        },
        _ => false,
    })
}

/// The walk over a document, knowing which version's schema it answers for.
struct Walk {
    v1_1: bool,
}

/// Which list of actions is read: the two kinds take different `type`s and keys.
#[derive(Clone, Copy, PartialEq)]
enum Actions {
    Success,
    Failure,
}

/// What a list of parameters is for: an operation's must say `in`.
#[derive(Clone, Copy, PartialEq)]
enum Parameters {
    Operation,
    Workflow,
}

/// How deep an `inputs` schema may nest before the walk leaves it to the schema.
const MAX_DEPTH: usize = 32;

impl Walk {
    fn document(&self, node: &Node<'_>, version: Version) -> bool {
        object(node, 0b1111, |key, value| match key {
            "arazzo" => (string(value).is_some_and(|v| version_matches(v, version))).then_some(1),
            "info" => info(value).then_some(2),
            "sourceDescriptions" => self.source_descriptions(value).then_some(4),
            "workflows" => self.workflows(value).then_some(8),
            "components" => self.components(value).then_some(0),
            _ => extension(key),
        })
    }

    fn source_descriptions(&self, node: &Node<'_>) -> bool {
        let kinds: &[&str] = if self.v1_1 {
            &["arazzo", "openapi", "asyncapi"]
        } else {
            &["arazzo", "openapi"]
        };
        list(node, 1, |item| {
            let mut name = None;
            let fits = object(item, 0b11, |key, value| match key {
                "name" => {
                    name = string(value).filter(|n| is_name(n));
                    name.map(|_| 1)
                }
                "url" => string(value).map(|_| 2),
                "type" => string(value).filter(|t| kinds.contains(t)).map(|_| 0),
                _ => extension(key),
            });
            fits.then_some(name).flatten()
        })
    }

    fn workflows(&self, node: &Node<'_>) -> bool {
        list(node, 1, |item| {
            let mut id = None;
            let fits = object(item, 0b11, |key, value| match key {
                "workflowId" => {
                    id = string(value);
                    id.map(|_| 1)
                }
                "steps" => self.steps(value).then_some(2),
                "summary" | "description" => string(value).map(|_| 0),
                "inputs" => schema(value, 0).then_some(0),
                "dependsOn" => list(value, 0, string).then_some(0),
                "successActions" => actions(value, Actions::Success).then_some(0),
                "failureActions" => actions(value, Actions::Failure).then_some(0),
                "outputs" => outputs(value).then_some(0),
                "parameters" => self.parameters(value, Parameters::Workflow).then_some(0),
                _ => extension(key),
            });
            fits.then_some(id).flatten()
        })
    }

    fn steps(&self, node: &Node<'_>) -> bool {
        list(node, 1, |step| {
            let entries = entries(step)?;
            let targets = entries
                .iter()
                .filter(|(k, _)| matches!(k.name.as_ref(), "operationId" | "operationPath"))
                .count();
            let calls_workflow = entries.iter().any(|(k, _)| k.name == "workflowId");
            let parameters = match (targets, calls_workflow) {
                (1, false) => Parameters::Operation,
                (0, true) => Parameters::Workflow,
                _ => return None,
            };
            let mut id = None;
            let fits = object(step, 1, |key, value| match key {
                "stepId" => {
                    id = string(value);
                    id.map(|_| 1)
                }
                "operationId" | "operationPath" | "workflowId" | "description" => {
                    string(value).map(|_| 0)
                }
                "timeout" if self.v1_1 => matches!(value.kind, NodeKind::Int(_)).then_some(0),
                "parameters" => self.parameters(value, parameters).then_some(0),
                "requestBody" => request_body(value).then_some(0),
                "successCriteria" => criteria(value, 1).then_some(0),
                "onSuccess" => actions(value, Actions::Success).then_some(0),
                "onFailure" => actions(value, Actions::Failure).then_some(0),
                "outputs" => outputs(value).then_some(0),
                _ => extension(key),
            });
            fits.then_some(id).flatten()
        })
    }

    /// A list of parameters and references to parameters, told apart by name and place.
    fn parameters(&self, node: &Node<'_>, kind: Parameters) -> bool {
        list(node, 0, |item| {
            if get(item, "reference").is_some() {
                return reusable(item).map(Id::Reference);
            }
            let (name, place) = self.parameter(item, kind == Parameters::Operation)?;
            Some(Id::Parameter(name, place))
        })
    }

    /// Reads a parameter: its name and where it goes.
    fn parameter<'n>(
        &self,
        node: &'n Node<'n>,
        needs_in: bool,
    ) -> Option<(&'n str, Option<&'n str>)> {
        let places: &[&str] = if self.v1_1 {
            &[
                "path",
                "query",
                "querystring",
                "header",
                "cookie",
                "channel",
            ]
        } else {
            &["path", "query", "header", "cookie"]
        };
        let mut name = None;
        let mut place = None;
        let fits = object(
            node,
            if needs_in { 0b111 } else { 0b11 },
            |key, value| match key {
                "name" => {
                    name = string(value);
                    name.map(|_| 1)
                }
                // A mapping is a selector in 1.1, which this walk does not read.
                "value" => (!self.v1_1 || !matches!(value.kind, NodeKind::Map(_))).then_some(2),
                "in" => {
                    place = string(value).filter(|p| places.contains(p));
                    place.map(|_| 4)
                }
                _ => extension(key),
            },
        );
        fits.then_some((name?, place))
    }

    fn components(&self, node: &Node<'_>) -> bool {
        object(node, 0, |key, value| match key {
            "inputs" => named(value, |schema_node| schema(schema_node, 0)).then_some(0),
            "parameters" => named(value, |parameter| {
                self.parameter(parameter, false).is_some()
            })
            .then_some(0),
            "successActions" => {
                named(value, |item| action(item, Actions::Success).is_some()).then_some(0)
            }
            "failureActions" => {
                named(value, |item| action(item, Actions::Failure).is_some()).then_some(0)
            }
            _ => extension(key),
        })
    }
}

fn info(node: &Node<'_>) -> bool {
    object(node, 0b11, |key, value| match key {
        "title" => string(value).map(|_| 1),
        "version" => string(value).map(|_| 2),
        "summary" | "description" => string(value).map(|_| 0),
        _ => extension(key),
    })
}

/// Reads an action; returns its name.
fn action<'n>(node: &'n Node<'n>, kind: Actions) -> Option<&'n str> {
    let types: &[&str] = match kind {
        Actions::Success => &["end", "goto"],
        Actions::Failure => &["end", "goto", "retry"],
    };
    let mut name = None;
    let mut goto = false;
    let mut targets = 0;
    let fits = object(node, 0b11, |key, value| match key {
        "name" => {
            name = string(value);
            name.map(|_| 1)
        }
        "type" => {
            let found = string(value).filter(|t| types.contains(t))?;
            goto = found == "goto";
            Some(2)
        }
        "workflowId" | "stepId" => {
            targets += 1;
            string(value).map(|_| 0)
        }
        "criteria" => criteria(value, usize::from(kind == Actions::Success)).then_some(0),
        "retryAfter" if kind == Actions::Failure => is_number_at_least_zero(value).then_some(0),
        "retryLimit" if kind == Actions::Failure => {
            matches!(value.kind, NodeKind::Int(n) if n >= 0).then_some(0)
        }
        _ => extension(key),
    });
    (fits && (!goto || targets == 1)).then_some(name).flatten()
}

/// A list of actions and references to actions, told apart by name.
fn actions(node: &Node<'_>, kind: Actions) -> bool {
    list(node, 0, |item| {
        if get(item, "reference").is_some() {
            return reusable(item).map(Id::Reference);
        }
        action(item, kind).map(Id::Name)
    })
}

/// Reads a reference to a component; returns the reference. It takes no extensions.
fn reusable<'n>(node: &'n Node<'n>) -> Option<&'n str> {
    let mut reference = None;
    let fits = object(node, 1, |key, value| match key {
        "reference" => {
            reference = string(value);
            reference.map(|_| 1)
        }
        "value" => Some(0),
        _ => None,
    });
    fits.then_some(reference).flatten()
}

fn request_body(node: &Node<'_>) -> bool {
    object(node, 0, |key, value| match key {
        "contentType" => string(value).map(|_| 0),
        "payload" => Some(0),
        _ => extension(key),
    })
}

/// A list of criteria, at least `min` of them, told apart by all they say.
fn criteria(node: &Node<'_>, min: usize) -> bool {
    list(node, min, |item| {
        let (mut condition, mut context, mut kind) = (None, None, None);
        let fits = object(item, 1, |key, value| match key {
            "condition" => {
                condition = string(value);
                condition.map(|_| 1)
            }
            "context" => {
                context = string(value);
                context.map(|_| 0)
            }
            "type" => {
                kind =
                    string(value).filter(|t| ["simple", "regex", "jsonpath", "xpath"].contains(t));
                kind.map(|_| 0)
            }
            _ => extension(key),
        });
        // A `type` needs a `context`.
        if !fits || (kind.is_some() && context.is_none()) {
            return None;
        }
        Some(Id::Criterion(condition?, context, kind))
    })
}

/// Outputs written as runtime expressions, under names the schema's pattern accepts.
fn outputs(node: &Node<'_>) -> bool {
    named(node, |value| string(value).is_some())
}

/// A mapping whose keys are component or output names and whose values all fit.
fn named(node: &Node<'_>, mut fits: impl FnMut(&Node<'_>) -> bool) -> bool {
    entries(node).is_some_and(|entries| {
        entries
            .iter()
            .all(|(key, value)| is_component_name(&key.name) && fits(value))
    })
}

/// Checks a JSON Schema against the 2020-12 meta-schema, for the usual keywords; any keyword
/// starting with `$` other than `$ref`, `$comment` and `$defs`, and `dependencies`, is left to
/// the schema.
fn schema(node: &Node<'_>, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    match &node.kind {
        NodeKind::Bool(_) => true,
        NodeKind::Map(entries) => entries.iter().all(|(key, value)| {
            let sub = |n: &Node<'_>| schema(n, depth + 1);
            match key.name.as_ref() {
                "type" => match &value.kind {
                    NodeKind::Str(name) => TYPES.contains(&name.as_ref()),
                    NodeKind::Seq(_) => list(value, 1, |item| {
                        string(item).filter(|name| TYPES.contains(name))
                    }),
                    _ => false,
                },
                "properties" | "patternProperties" | "$defs" | "definitions"
                | "dependentSchemas" => entries_all(value, sub),
                "items" | "contains" | "additionalProperties" | "propertyNames" | "if" | "then"
                | "else" | "not" | "unevaluatedItems" | "unevaluatedProperties"
                | "contentSchema" => sub(value),
                "prefixItems" | "allOf" | "anyOf" | "oneOf" => {
                    matches!(&value.kind, NodeKind::Seq(items) if !items.is_empty() && items.iter().all(sub))
                }
                "required" => list(value, 0, string),
                "dependentRequired" => entries_all(value, |v| list(v, 0, string)),
                "enum" | "examples" => matches!(value.kind, NodeKind::Seq(_)),
                "const" | "default" => true,
                "multipleOf" => match value.kind {
                    NodeKind::Int(n) => n > 0,
                    NodeKind::Float(n) => n.is_finite() && n > 0.0,
                    _ => false,
                },
                "maximum" | "minimum" | "exclusiveMaximum" | "exclusiveMinimum" => match value.kind
                {
                    NodeKind::Int(_) => true,
                    NodeKind::Float(n) => n.is_finite(),
                    _ => false,
                },
                "maxLength" | "minLength" | "maxItems" | "minItems" | "maxContains"
                | "minContains" | "maxProperties" | "minProperties" => {
                    matches!(value.kind, NodeKind::Int(n) if n >= 0)
                }
                "uniqueItems" | "deprecated" | "readOnly" | "writeOnly" => {
                    matches!(value.kind, NodeKind::Bool(_))
                }
                "title" | "description" | "$comment" | "format" | "contentEncoding"
                | "contentMediaType" | "pattern" | "$ref" => string(value).is_some(),
                "dependencies" => false,
                other => !other.starts_with('$'),
            }
        }),
        _ => false,
    }
}

/// The names JSON Schema's `type` takes.
const TYPES: &[&str] = &[
    "null", "boolean", "object", "array", "number", "string", "integer",
];

/// Reads a mapping: `each` says what bit of `required` a key sets (0 for none), or `None`
/// where the key or its value does not fit. Fits when every key fits and every required bit
/// is set.
fn object<'n>(
    node: &'n Node<'n>,
    required: u32,
    mut each: impl FnMut(&'n str, &'n Node<'n>) -> Option<u32>,
) -> bool {
    let Some(entries) = entries(node) else {
        return false;
    };
    let mut seen = 0;
    for (key, value) in entries {
        match each(&key.name, value) {
            Some(bit) => seen |= bit,
            None => return false,
        }
    }
    seen & required == required
}

/// Reads a list of at least `min` items: `identity` reads an item and says what tells it
/// from the others (`None` where it does not fit). Fits when every item fits and no two
/// identities are the same, which proves the items unique.
fn list<'n, I: Eq + Hash>(
    node: &'n Node<'n>,
    min: usize,
    mut identity: impl FnMut(&'n Node<'n>) -> Option<I>,
) -> bool {
    let NodeKind::Seq(items) = &node.kind else {
        return false;
    };
    if items.len() < min {
        return false;
    }
    match items.len() {
        // Most lists of a step hold one item: nothing to tell apart, nothing to allocate.
        0 | 1 => items.iter().all(|item| identity(item).is_some()),
        len => {
            let mut seen = HashSet::with_capacity(len);
            items
                .iter()
                .all(|item| identity(item).is_some_and(|id| seen.insert(id)))
        }
    }
}

/// What tells an item of a list from the others.
#[derive(PartialEq, Eq, Hash)]
enum Id<'n> {
    /// A reference to a component, by what it references.
    Reference(&'n str),
    /// A parameter, by its name and where it goes.
    Parameter(&'n str, Option<&'n str>),
    /// An action, by its name.
    Name(&'n str),
    /// A criterion, by its condition, context and type.
    Criterion(&'n str, Option<&'n str>, Option<&'n str>),
}

fn entries<'n>(node: &'n Node<'n>) -> Option<&'n [(Key<'n>, Node<'n>)]> {
    match &node.kind {
        NodeKind::Map(entries) => Some(entries),
        _ => None,
    }
}

fn entries_all(node: &Node<'_>, mut fits: impl FnMut(&Node<'_>) -> bool) -> bool {
    entries(node).is_some_and(|entries| entries.iter().all(|(_, value)| fits(value)))
}

fn string<'n>(node: &'n Node<'n>) -> Option<&'n str> {
    match &node.kind {
        NodeKind::Str(text) => Some(text),
        _ => None,
    }
}

/// Specification extensions (`x-…`) take any value.
fn extension(key: &str) -> Option<u32> {
    key.starts_with("x-").then_some(0)
}

fn is_number_at_least_zero(node: &Node<'_>) -> bool {
    match node.kind {
        NodeKind::Int(n) => n >= 0,
        NodeKind::Float(n) => n.is_finite() && n >= 0.0,
        _ => false,
    }
}

/// `^1\.0\.\d+(-.+)?$` or its 1.1 form: the version `Version::of` reads, all printable ASCII
/// (the pattern's `.` takes no line break).
fn version_matches(text: &str, version: Version) -> bool {
    Version::of(text) == Some(version) && text.bytes().all(|b| b.is_ascii_graphic())
}

/// `^[A-Za-z0-9_\-]+$`, a source description's name.
fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `^[a-zA-Z0-9\.\-_]+$`, the names of components and outputs.
fn is_component_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use apiflow::format::yaml;
    use apiflow::span::Source;

    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    /// Every Arazzo document of the repository: the specification's examples and schema
    /// fixtures, the shipped workflow and the benchmarks', with their names.
    fn documents() -> Vec<(String, String)> {
        let mut found = Vec::new();
        for folder in [
            "tests/vectors/arazzo/schema/pass",
            "tests/vectors/arazzo/schema/fail",
            "tests/vectors/arazzo/examples/1.0.0",
            "tests/vectors/arazzo/examples/1.1.0",
            "benches/arazzo",
            "workflows",
        ] {
            let mut names: Vec<_> = std::fs::read_dir(root().join(folder))
                .expect("the folder is in the repository")
                .map(|entry| entry.expect("a readable entry").path())
                .collect();
            names.sort();
            for path in names {
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                if crate::load::is_arazzo(&text) {
                    let name = path.strip_prefix(root()).unwrap_or(&path);
                    found.push((name.display().to_string(), text));
                }
            }
        }
        found
    }

    /// What the schema says of a text, and what the walk says: `None` where the text is not
    /// YAML or names no version apiflow reads.
    fn verdicts(name: &str, text: &str) -> Option<(bool, bool)> {
        let source = Arc::new(Source::new(name, text.to_owned()));
        let node = yaml::parse(&source).ok()?;
        let version = match get(&node, "arazzo").map(|n| &n.kind) {
            Some(NodeKind::Str(text)) => Version::of(text)?,
            _ => return None,
        };
        let schema = version.validator().is_valid(&node.to_json());
        Some((schema, surely_valid(&node, version)))
    }

    #[test]
    fn vouches_only_for_documents_the_schema_accepts() {
        let mut vouched = Vec::new();
        for (name, text) in documents() {
            let Some((schema, walk)) = verdicts(&name, &text) else {
                continue;
            };
            assert!(
                schema || !walk,
                "{name}: the walk accepts what the schema rejects"
            );
            if walk {
                vouched.push(name);
            }
        }
        // Every example of the specification and the documents apiflow ships take the quick
        // way; the schema fixtures the walk leaves to the schema use what it does not read.
        for name in [
            "tests/vectors/arazzo/examples/1.0.0/ExtendedParametersExample.arazzo.yaml",
            "tests/vectors/arazzo/examples/1.0.0/FAPI-PAR.arazzo.yaml",
            "tests/vectors/arazzo/examples/1.0.0/LoginAndRetrievePets.arazzo.yaml",
            "tests/vectors/arazzo/examples/1.0.0/bnpl-arazzo.yaml",
            "tests/vectors/arazzo/examples/1.0.0/oauth.arazzo.yaml",
            "tests/vectors/arazzo/examples/1.0.0/pet-coupons.arazzo.yaml",
            "benches/arazzo/chain_100.arazzo.yaml",
            "benches/arazzo/chain_11.arazzo.yaml",
            "workflows/refresh_token.arazzo.yaml",
        ] {
            assert!(
                vouched.iter().any(|v| v == name),
                "{name} is left to the schema"
            );
        }
        assert_eq!(vouched.len(), 27, "{vouched:#?}");
    }

    /// A small deterministic generator (xorshift), so a failure names a case to replay.
    struct Dice(u64);

    impl Dice {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            usize::try_from(self.0 % n as u64).expect("below n")
        }
    }

    /// Keys the schemas and the walk give meaning to, and a few they do not.
    const KEYS: &[&str] = &[
        "arazzo",
        "info",
        "title",
        "version",
        "summary",
        "description",
        "sourceDescriptions",
        "name",
        "url",
        "type",
        "workflows",
        "workflowId",
        "inputs",
        "dependsOn",
        "steps",
        "stepId",
        "operationId",
        "operationPath",
        "channelPath",
        "action",
        "correlationId",
        "timeout",
        "parameters",
        "in",
        "value",
        "reference",
        "requestBody",
        "contentType",
        "payload",
        "replacements",
        "target",
        "successCriteria",
        "condition",
        "context",
        "onSuccess",
        "onFailure",
        "successActions",
        "failureActions",
        "criteria",
        "retryAfter",
        "retryLimit",
        "outputs",
        "components",
        "$self",
        "x-ext",
        "properties",
        "required",
        "items",
        "enum",
        "minLength",
        "pattern",
        "$ref",
        "$id",
        "$schema",
        "format",
        "default",
        "additionalProperties",
        "oneOf",
        "selector",
        "foo",
        "a b",
        "",
    ];

    /// Values of every kind, some the schemas take in one place and not in another.
    fn value(dice: &mut Dice) -> serde_json::Value {
        use serde_json::json;
        let values = [
            json!(""),
            json!("x"),
            json!("goto"),
            json!("end"),
            json!("retry"),
            json!("path"),
            json!("query"),
            json!("querystring"),
            json!("header"),
            json!("simple"),
            json!("jsonpath"),
            json!("openapi"),
            json!("asyncapi"),
            json!("1.0.1"),
            json!("1.1.0"),
            json!("1.1.0-rc\n"),
            json!("string"),
            json!("$statusCode == 200"),
            json!(-1),
            json!(0),
            json!(3),
            json!(1.5),
            json!(-0.5),
            json!(true),
            json!(null),
            json!({}),
            json!([]),
            json!(["a"]),
            json!(["a", "a"]),
            json!({"name": "p", "in": "query", "value": 1}),
            json!({"name": "p", "value": {"a": 1}}),
            json!({"reference": "$components.parameters.p"}),
            json!({"reference": "$components.parameters.p", "x-a": 1}),
            json!({"condition": "$statusCode == 200"}),
            json!({"condition": "c", "type": "regex"}),
            json!({"name": "a", "type": "goto", "stepId": "s"}),
            json!({"name": "a", "type": "goto"}),
            json!({"name": "n", "type": "end"}),
            json!({"type": "string"}),
            json!({"type": ["string", "string"]}),
            json!({"$ref": "#/components/inputs/a"}),
            json!({"stepId": "s", "operationId": "o"}),
        ];
        values[dice.below(values.len())].clone()
    }

    /// Counts the values of a document, itself included.
    fn count(value: &serde_json::Value) -> usize {
        1 + match value {
            serde_json::Value::Array(items) => items.iter().map(count).sum(),
            serde_json::Value::Object(map) => map.values().map(count).sum(),
            _ => 0,
        }
    }

    /// Returns the value at a position of a pre-order walk, `n` below `count(value)`.
    fn nth(value: &mut serde_json::Value, n: usize) -> &mut serde_json::Value {
        if n == 0 {
            return value;
        }
        let mut rest = n - 1;
        let children: Vec<&mut serde_json::Value> = match value {
            serde_json::Value::Array(items) => items.iter_mut().collect(),
            serde_json::Value::Object(map) => map.values_mut().collect(),
            _ => Vec::new(),
        };
        for child in children {
            let size = count(child);
            if rest < size {
                return nth(child, rest);
            }
            rest -= size;
        }
        unreachable!("the position is within the document")
    }

    /// Changes one value of a document: a key removed, added or renamed, an item removed,
    /// repeated or added, or the value replaced.
    fn mutate(document: &mut serde_json::Value, dice: &mut Dice) {
        let at = dice.below(count(document));
        let target = nth(document, at);
        let choice = dice.below(4);
        match target {
            serde_json::Value::Object(map) if !map.is_empty() && choice < 3 => {
                let index = dice.below(map.len());
                let key = map.keys().nth(index).cloned().expect("a key");
                let removed = map.shift_remove(&key).expect("present");
                match choice {
                    0 => {}
                    1 => {
                        map.insert(key, removed);
                        map.insert(KEYS[dice.below(KEYS.len())].to_owned(), value(dice));
                    }
                    _ => {
                        map.insert(KEYS[dice.below(KEYS.len())].to_owned(), removed);
                    }
                }
            }
            serde_json::Value::Array(items) if !items.is_empty() && choice < 3 => {
                let index = dice.below(items.len());
                match choice {
                    0 => {
                        items.remove(index);
                    }
                    1 => items.push(items[index].clone()),
                    _ => items.push(value(dice)),
                }
            }
            _ => *target = value(dice),
        }
    }

    #[test]
    fn vouches_for_no_changed_document_the_schema_rejects() {
        const CASES: usize = 5000;
        let seeds: Vec<(String, serde_json::Value)> = documents()
            .into_iter()
            .filter(|(name, text)| verdicts(name, text).is_some_and(|(_, walk)| walk))
            .filter(|(name, _)| !name.contains("chain_100"))
            .map(|(name, text)| {
                let source = Arc::new(Source::new(name.clone(), text));
                let json = yaml::parse(&source).expect("parses").to_json();
                (name, json)
            })
            .collect();
        let mut dice = Dice(0x9e37_79b9_7f4a_7c15);
        let (mut vouched, mut rejected) = (0, 0);
        for case in 0..CASES {
            let (name, seed) = &seeds[dice.below(seeds.len())];
            let mut document = seed.clone();
            for _ in 0..=dice.below(3) {
                mutate(&mut document, &mut dice);
            }
            let text = serde_json::to_string_pretty(&document).expect("serialises");
            let Some((schema, walk)) = verdicts(name, &text) else {
                continue;
            };
            assert!(
                schema || !walk,
                "case {case}, from {name}: the walk accepts what the schema rejects:\n{text}"
            );
            vouched += usize::from(walk);
            rejected += usize::from(!schema);
        }
        // Both sides are exercised: changes the walk still vouches for, and changes the schema
        // rejects.
        assert!(vouched > 500, "{vouched} vouched");
        assert!(rejected > 3000, "{rejected} rejected");
    }
}
