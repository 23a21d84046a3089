//! The typed Arazzo model: what an Arazzo document says, with the position of every value.
//!
//! Runtime expressions, conditions and payloads are kept as written here; the checks compile
//! them, so a document that loads may still be rejected before anything is sent.

use std::sync::{Arc, OnceLock};

use apiflow::span::{Source, Span, Spanned};

/// A loaded Arazzo document (1.0.x or 1.1.x).
#[derive(Clone, Debug)]
pub struct Document {
    /// The file it came from.
    pub source: Arc<Source>,
    /// `arazzo:`, the version of the specification it follows.
    pub arazzo: Spanned<String>,
    /// `info:`.
    pub info: Info,
    /// `sourceDescriptions:`, in order.
    pub source_descriptions: Vec<SourceDescription>,
    /// `workflows:`, in order.
    pub workflows: Vec<Workflow>,
    /// `components:`.
    pub components: Components,
    /// `$self` (1.1): the document's own URI, when it says.
    pub self_uri: Option<Spanned<String>>,
    /// The whole document as JSON, made when it loads only if its components or inputs need
    /// it, else when first asked for.
    pub(crate) json: OnceLock<serde_json::Value>,
}

impl Document {
    /// Returns where the value at a JSON Pointer is written, or the nearest value holding it.
    ///
    /// Only a problem found after loading (a schema violation, a bad reference) asks, so the
    /// positions are read again from the text then rather than kept for every value.
    pub fn span_of(&self, pointer: &str) -> Span {
        apiflow::format::yaml::parse(&self.source).map_or_else(
            |_| Span::default(),
            |root| crate::load::span_in(&root, pointer),
        )
    }

    /// Returns the whole document as JSON, for `$components` expressions and `inputs`
    /// schemas.
    pub fn json(&self) -> &serde_json::Value {
        self.json.get_or_init(|| {
            apiflow::format::yaml::parse(&self.source)
                .map_or(serde_json::Value::Null, |root| root.to_json())
        })
    }

    /// Returns `components` as JSON, `Null` when the document has none. A document with
    /// components is made JSON when it loads, so this never reads the text again.
    pub fn components_json(&self) -> serde_json::Value {
        self.json
            .get()
            .and_then(|json| json.get("components"))
            .cloned()
            .unwrap_or_default()
    }

    /// Finds a workflow by its `workflowId`.
    pub fn workflow(&self, id: &str) -> Option<&Workflow> {
        self.workflows.iter().find(|w| w.id.value == id)
    }
}

/// `info:`.
#[derive(Clone, Debug, Default)]
pub struct Info {
    /// `title:`.
    pub title: String,
    /// `summary:`.
    pub summary: Option<String>,
    /// `description:`.
    pub description: Option<String>,
    /// `version:`, the document's own version.
    pub version: String,
}

/// One entry of `sourceDescriptions:`.
#[derive(Clone, Debug)]
pub struct SourceDescription {
    /// `name:`, unique in the document.
    pub name: Spanned<String>,
    /// `url:`, as written: a URI reference resolved against the document's location.
    pub url: Spanned<String>,
    /// `type:`.
    pub kind: Option<Spanned<SourceKind>>,
    /// Where the entry starts.
    pub span: Span,
}

/// What a source description is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// An OpenAPI description.
    OpenApi,
    /// Another Arazzo document.
    Arazzo,
    /// An AsyncAPI description (1.1): loaded, not run.
    AsyncApi,
}

/// One entry of `workflows:`.
#[derive(Clone, Debug)]
pub struct Workflow {
    /// `workflowId:`.
    pub id: Spanned<String>,
    /// `summary:`.
    pub summary: Option<String>,
    /// `description:`.
    pub description: Option<String>,
    /// `inputs:`, a JSON Schema (2020-12) of the workflow's inputs, with where it is written.
    pub inputs: Option<Spanned<serde_json::Value>>,
    /// The JSON Pointer of `inputs:` in the document, to locate what its schema says.
    pub inputs_pointer: String,
    /// `dependsOn:`: workflows that must run first, by id or `$sourceDescriptions.NAME.ID`.
    pub depends_on: Vec<Spanned<String>>,
    /// `steps:`, in order.
    pub steps: Vec<Step>,
    /// `successActions:`.
    pub success_actions: Vec<ActionOrRef>,
    /// `failureActions:`.
    pub failure_actions: Vec<ActionOrRef>,
    /// `outputs:`: a name and the runtime expression giving its value.
    pub outputs: Vec<(Spanned<String>, Spanned<String>)>,
    /// `outputs:` given as a Selector Object (1.1: `context`, `selector`, `type`) rather
    /// than a runtime expression, as written.
    pub output_selectors: Vec<(Spanned<String>, Spanned<serde_json::Value>)>,
    /// `parameters:`, applied to every step that calls an operation.
    pub parameters: Vec<ParameterOrRef>,
    /// Where the entry starts.
    pub span: Span,
}

impl Workflow {
    /// Finds a step by its `stepId`.
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id.value == id)
    }
}

/// One entry of `steps:`.
#[derive(Clone, Debug)]
pub struct Step {
    /// `stepId:`, unique in its workflow.
    pub id: Spanned<String>,
    /// `description:`.
    pub description: Option<String>,
    /// What the step calls.
    pub target: Target,
    /// `parameters:`.
    pub parameters: Vec<ParameterOrRef>,
    /// `requestBody:`.
    pub request_body: Option<RequestBody>,
    /// `successCriteria:`: all must hold for the step to succeed.
    pub success_criteria: Vec<Criterion>,
    /// `onSuccess:`.
    pub on_success: Vec<ActionOrRef>,
    /// `onFailure:`.
    pub on_failure: Vec<ActionOrRef>,
    /// `outputs:`: a name and the runtime expression giving its value.
    pub outputs: Vec<(Spanned<String>, Spanned<String>)>,
    /// `outputs:` given as a Selector Object (1.1: `context`, `selector`, `type`) rather
    /// than a runtime expression, as written.
    pub output_selectors: Vec<(Spanned<String>, Spanned<serde_json::Value>)>,
    /// `timeout:` (1.1), in milliseconds.
    pub timeout: Option<Spanned<u64>>,
    /// `dependsOn:` (1.1): steps of the same workflow that must have run first.
    pub depends_on: Vec<Spanned<String>>,
    /// `x-apiflow:`: apiflow's own keys.
    pub apiflow: Option<Extension>,
    /// `x-security:` (as Redocly Respect reads it): credentials for the request.
    pub security: Vec<Security>,
    /// The JSON Pointer of the step in the document.
    pub pointer: String,
    /// Where the entry starts.
    pub span: Span,
}

/// What a step calls.
#[derive(Clone, Debug)]
pub enum Target {
    /// `operationId:`, bare or `$sourceDescriptions.NAME.ID`.
    OperationId(Spanned<String>),
    /// `operationPath:`, `{$sourceDescriptions.NAME.url}#/paths/~1pets/get`.
    OperationPath(Spanned<String>),
    /// `workflowId:`, bare or `$sourceDescriptions.NAME.ID`.
    WorkflowId(Spanned<String>),
    /// An AsyncAPI step (`channelPath:`, or `action:` with `operationId:`): loaded, never run.
    AsyncApi(Span),
}

/// Where a parameter goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParameterIn {
    /// A path template variable.
    Path,
    /// A query parameter.
    Query,
    /// The whole query string (1.1, OpenAPI 3.2's `querystring`).
    Querystring,
    /// A header.
    Header,
    /// A cookie.
    Cookie,
    /// A channel parameter of an AsyncAPI step (1.1): loaded, never sent.
    Channel,
}

/// One parameter of a step or workflow.
#[derive(Clone, Debug)]
pub struct Parameter {
    /// `name:`.
    pub name: Spanned<String>,
    /// `in:`; absent for a step that runs a workflow (the value is an input).
    pub location: Option<Spanned<ParameterIn>>,
    /// `value:`: a literal, a runtime expression, or a string with `{$…}` parts.
    pub value: Spanned<serde_json::Value>,
    /// Where the entry starts.
    pub span: Span,
}

/// A parameter written in place, or a Reusable Object naming one of `components.parameters`.
#[derive(Clone, Debug)]
pub enum ParameterOrRef {
    /// Written in place.
    Parameter(Parameter),
    /// `reference: $components.parameters.NAME`, with `value:` overriding the component's.
    Reference(Reference),
}

/// A Reusable Object: `reference:` and an optional `value:` overriding the referenced one.
#[derive(Clone, Debug)]
pub struct Reference {
    /// `reference:`, a runtime expression such as `$components.parameters.page`.
    pub reference: Spanned<String>,
    /// `value:`.
    pub value: Option<Spanned<serde_json::Value>>,
    /// Where the entry starts.
    pub span: Span,
}

/// `requestBody:`.
#[derive(Clone, Debug)]
pub struct RequestBody {
    /// `contentType:`.
    pub content_type: Option<Spanned<String>>,
    /// `payload:`: any value; strings may hold runtime expressions.
    pub payload: Option<Spanned<serde_json::Value>>,
    /// `replacements:`, applied to the payload in order.
    pub replacements: Vec<Replacement>,
    /// Where `requestBody:` is written.
    pub span: Span,
}

/// One payload replacement.
#[derive(Clone, Debug)]
pub struct Replacement {
    /// `target:`: a JSON Pointer (or, in 1.1 with `targetSelectorType: jsonpath`, a `JSONPath`).
    pub target: Spanned<String>,
    /// How `target` selects.
    pub selector: Selector,
    /// `value:`.
    pub value: Spanned<serde_json::Value>,
}

/// How a replacement's target or a selector selects (1.1 `targetSelectorType`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Selector {
    /// RFC 6901 JSON Pointer (the default).
    #[default]
    JsonPointer,
    /// RFC 9535 `JSONPath`.
    JsonPath,
    /// `XPath`: recognised, rejected by the checks.
    XPath,
}

/// One criterion of `successCriteria:` or of an action.
#[derive(Clone, Debug)]
pub struct Criterion {
    /// `context:`, a runtime expression; required for every type but `simple`.
    pub context: Option<Spanned<String>>,
    /// `condition:`.
    pub condition: Spanned<String>,
    /// `type:`.
    pub kind: Spanned<CriterionKind>,
    /// Where the entry starts.
    pub span: Span,
}

/// `type:` of a criterion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CriterionKind {
    /// The default: the spec's own condition language.
    Simple,
    /// A regular expression the context must match.
    Regex,
    /// A `JSONPath` filter over the context; `version` as written (`draft-goessner-dispath-jsonpath-00`, `rfc9535`).
    JsonPath {
        /// The version the expression type names.
        version: Option<String>,
    },
    /// An `XPath` expression: recognised, rejected by the checks.
    XPath {
        /// The version the expression type names.
        version: Option<String>,
    },
}

/// One action of `onSuccess`, `onFailure`, `successActions` or `failureActions`.
#[derive(Clone, Debug)]
pub struct Action {
    /// `name:`.
    pub name: Spanned<String>,
    /// `type:`.
    pub kind: Spanned<ActionKind>,
    /// `workflowId:` of a `goto`.
    pub workflow_id: Option<Spanned<String>>,
    /// `stepId:` of a `goto`.
    pub step_id: Option<Spanned<String>>,
    /// `retryAfter:` of a `retry`, in seconds.
    pub retry_after: Option<Spanned<f64>>,
    /// `retryLimit:` of a `retry`.
    pub retry_limit: Option<Spanned<u64>>,
    /// `criteria:`: all must hold for the action to apply.
    pub criteria: Vec<Criterion>,
    /// `parameters:` (1.1): inputs of the workflow a `goto` names in `workflowId`.
    pub parameters: Vec<ParameterOrRef>,
    /// Where the entry starts.
    pub span: Span,
}

/// `type:` of an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionKind {
    /// The workflow ends.
    End,
    /// The run goes on at a step or a workflow.
    Goto,
    /// The step is run again (failure actions only).
    Retry,
}

/// An action written in place, or a Reusable Object naming one of `components`.
#[derive(Clone, Debug)]
pub enum ActionOrRef {
    /// Written in place.
    Action(Action),
    /// `reference: $components.successActions.NAME` (or `failureActions`).
    Reference(Reference),
}

/// `components:`.
#[derive(Clone, Debug, Default)]
pub struct Components {
    /// `inputs:`: JSON Schemas workflows can `$ref`.
    pub inputs: Vec<(Spanned<String>, serde_json::Value)>,
    /// `parameters:`.
    pub parameters: Vec<(Spanned<String>, Parameter)>,
    /// `successActions:`.
    pub success_actions: Vec<(Spanned<String>, Action)>,
    /// `failureActions:`.
    pub failure_actions: Vec<(Spanned<String>, Action)>,
}

/// `x-apiflow:` on a step: apiflow's own keys for what Arazzo cannot say.
#[derive(Clone, Debug, Default)]
pub struct Extension {
    /// `follow_redirects:`: redirects are not followed unless this says so.
    pub follow_redirects: Option<Spanned<bool>>,
    /// `stop_at:`: stop following before a URL that starts with this prefix (a string that may
    /// hold `{$…}` expressions).
    pub stop_at: Option<Spanned<String>>,
    /// `form_from:`: submit the HTML form of an earlier step's response (`step`, `selector`,
    /// `fields`), as apiflow's `form_from`.
    pub form_from: Option<Spanned<serde_json::Value>>,
    /// `extract:`: a name and one of apiflow's capture sources, written as in an apiflow
    /// workflow's `extract:`; each name becomes an output of the step.
    pub extract: Vec<(Spanned<String>, Spanned<serde_json::Value>)>,
    /// Where `x-apiflow:` is written.
    pub span: Span,
}

/// One entry of `x-security:` (the form Redocly Respect reads).
#[derive(Clone, Debug)]
pub struct Security {
    /// `schemeName:`, a security scheme of the operation's OpenAPI description.
    pub scheme_name: Option<Spanned<String>>,
    /// `scheme:`, written in place: `{ type: http, scheme: basic|bearer }` or `{ type: apiKey, in, name }`.
    pub scheme: Option<Spanned<serde_json::Value>>,
    /// `values:`: `username`/`password`, `token`, or `value`; strings may hold runtime expressions.
    pub values: Vec<(Spanned<String>, Spanned<serde_json::Value>)>,
    /// Where the entry starts.
    pub span: Span,
}
