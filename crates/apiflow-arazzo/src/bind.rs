//! The checked plan of an Arazzo document: its sources loaded, every step bound to the
//! operation or workflow it calls, every runtime expression, criterion and action compiled, and
//! everything that can be known without the network checked and located.
//!
//! In order: the sources are loaded (`--source` first, then the `url` against the document) →
//! each workflow's inputs schema is compiled → each step is bound (its call, its parameters
//! against the operation's, its body, criteria, outputs, `x-apiflow` and `x-security`) → the
//! actions are merged (the step's, then the workflow's it does not override by name) and their
//! targets found → every expression's references are checked → `dependsOn` gives the order.
//! Problems are collected, not stopped at.

// A lookup that either finds or reports reads best as a `match` of both cases.
#![allow(clippy::single_match_else)]

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use apiflow::check::confine::FileAccess;
use apiflow::diagnostic::{Diagnostic, did_you_mean};
use apiflow::openapi::{Description, Location, Operation, PointerProblem};
use apiflow::span::{Source, Span, Spanned};
use rustc_hash::FxHashMap;

use crate::condition::Condition;
use crate::criterion;
use crate::expr::{self, Expression, WorkflowField};
use crate::extract;
use crate::model::{
    Action, ActionKind, ActionOrRef, Criterion, Document, Parameter, ParameterIn, ParameterOrRef,
    Selector, SourceKind, Step, Target, Workflow,
};
use crate::repeated::Repeated;

/// How deep `arazzo` sources may refer to further Arazzo documents.
const MAX_DEPTH: usize = 8;

/// What the command line adds to a document.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--source NAME=PATH`: a local copy of a source description.
    pub sources: Vec<(String, PathBuf)>,
    /// `--server NAME=URL`: the server a source's operations are sent to.
    pub servers: Vec<(String, String)>,
    /// `--workflow ID`: the workflows to run (all when empty).
    pub workflows: Vec<String>,
    /// Where files may be read from.
    pub access: FileAccess,
}

/// A checked Arazzo document, ready to run.
#[derive(Debug)]
pub struct Plan {
    /// The document.
    pub document: Document,
    /// Its source descriptions, in the order written.
    pub sources: Vec<Api>,
    /// What was bound of each workflow, in the document's order.
    pub workflows: Vec<Flow>,
    /// The workflows to run, dependencies first.
    pub order: Vec<usize>,
    /// `--server` overrides, by source name.
    pub servers: Vec<(String, String)>,
    /// `$sourceDescriptions` as expressions read them: name → `{"name", "url", "type"}`.
    pub source_values: Arc<HashMap<String, serde_json::Value>>,
    /// The document's `components` as JSON, for `$components` (`Null` when absent).
    pub components: Arc<serde_json::Value>,
    /// Whether an expression may read a header (`$request.header.…`, `$response.header.…`):
    /// none can when the text never says `.header` and has no escape to spell it, and then a
    /// step's headers are not copied for expressions to read.
    pub reads_headers: bool,
    /// Whether an expression may read the request (`$url`, `$method`, `$request.…`): none can
    /// when the text never says one and has no escape to spell it, and then what was sent is
    /// not copied for expressions to read.
    pub reads_request: bool,
}

/// A source description, loaded.
#[derive(Debug)]
pub enum Api {
    /// An OpenAPI description.
    OpenApi(Arc<Description>),
    /// Another Arazzo document, checked.
    Arazzo(Box<Plan>),
    /// Something a step cannot call here (an AsyncAPI description, or one that did not load).
    Unusable,
}

/// A workflow, bound.
#[derive(Debug)]
pub struct Flow {
    /// The inputs schema, compiled.
    pub inputs: Option<Arc<jsonschema::Validator>>,
    /// The inputs the schema declares, in order, with whether each is a secret
    /// (`format: password`) and whether it is a string (else `--var` values are JSON).
    pub declared: Vec<InputInfo>,
    /// Its steps.
    pub steps: Vec<BoundStep>,
    /// `outputs`.
    pub outputs: Vec<(String, expr::Value, Span)>,
    /// `dependsOn`, as indexes of `Plan::workflows`.
    pub depends_on: Vec<usize>,
}

/// One input a workflow declares.
#[derive(Clone, Debug)]
pub struct InputInfo {
    /// Its name.
    pub name: String,
    /// `format: password`.
    pub secret: bool,
    /// Its schema says `type: string` (or nothing): `--var` values are taken as text.
    pub text: bool,
    /// `default:` in the schema.
    pub default: Option<serde_json::Value>,
    /// `x-apiflow-env:`: the environment variable read when no other source gives it.
    pub env: Option<String>,
}

/// A step, bound.
#[derive(Debug)]
pub struct BoundStep {
    /// What it calls.
    pub call: Call,
    /// Its parameters with the workflow's, references resolved.
    pub parameters: Vec<BoundParameter>,
    /// Its request body.
    pub body: Option<BoundBody>,
    /// `successCriteria`.
    pub criteria: Vec<BoundCriterion>,
    /// The success actions: the step's, then the workflow's it does not override.
    pub on_success: Vec<BoundAction>,
    /// The failure actions, merged the same way.
    pub on_failure: Vec<BoundAction>,
    /// `outputs`.
    pub outputs: Vec<(String, expr::Value, Span)>,
    /// `x-apiflow.extract`.
    pub extract: Vec<(extract::Capture, Span)>,
    /// `x-apiflow.follow_redirects`.
    pub follow_redirects: bool,
    /// `x-apiflow.stop_at`.
    pub stop_at: Option<expr::Text>,
    /// `x-apiflow.form_from`.
    pub form_from: Option<FormFrom>,
    /// Whether a later step's `x-apiflow.form_from` reads this step's page, which is then
    /// kept.
    pub page_read: bool,
    /// `timeout` (1.1).
    pub timeout: Option<Duration>,
    /// `x-security`.
    pub security: Vec<BoundSecurity>,
    /// `dependsOn` (1.1): steps of the workflow that must have succeeded first.
    pub depends_on: Vec<String>,
}

/// `x-apiflow.form_from`: the step submits an HTML form of an earlier step's page.
#[derive(Clone, Debug)]
pub struct FormFrom {
    /// The step whose last response holds the form.
    pub step: String,
    /// The CSS selector of the form (`form` when absent).
    pub selector: String,
    /// Fields set or added, in order; values may hold `{$…}` expressions.
    pub fields: Vec<(String, expr::Text)>,
}

/// What a step calls.
#[derive(Clone, Debug)]
pub enum Call {
    /// An operation of an OpenAPI source.
    Operation {
        /// The index in `Plan::sources`.
        source: usize,
        /// The operation.
        operation: Arc<Operation>,
    },
    /// A workflow of this document.
    Workflow(usize),
    /// A workflow of an `arazzo` source.
    External {
        /// The index in `Plan::sources`.
        source: usize,
        /// The workflow's index in that document.
        workflow: usize,
    },
    /// Nothing runnable: a problem was reported.
    Invalid,
}

/// A parameter, bound.
#[derive(Clone, Debug)]
pub struct BoundParameter {
    /// Its name.
    pub name: String,
    /// Where it goes (`None`: an input of the workflow a step runs).
    pub location: Option<ParameterIn>,
    /// Its value.
    pub value: expr::Value,
    /// What the operation declares of it: its index in the operation's `parameters`.
    pub spec: Option<usize>,
    /// Where its value is written.
    pub span: Span,
}

/// A request body, bound.
#[derive(Clone, Debug)]
pub struct BoundBody {
    /// The content type sent.
    pub content_type: Option<String>,
    /// The payload.
    pub payload: Option<expr::Value>,
    /// The replacements, in order.
    pub replacements: Vec<(String, Selector, expr::Value, Span)>,
}

/// A criterion, compiled, with where it is written.
#[derive(Debug)]
pub struct BoundCriterion {
    /// The criterion.
    pub compiled: criterion::Compiled,
    /// The condition as written, for reports.
    pub text: String,
    /// Where the condition is written.
    pub span: Span,
}

/// An action, bound.
#[derive(Debug)]
pub struct BoundAction {
    /// `name`.
    pub name: String,
    /// `type`.
    pub kind: ActionKind,
    /// Where a `goto` goes, or what a `retry` runs first.
    pub target: Option<Goto>,
    /// `retryAfter`.
    pub retry_after: Option<Duration>,
    /// `retryLimit` (1 when absent).
    pub retry_limit: u64,
    /// `criteria`.
    pub criteria: Vec<BoundCriterion>,
    /// `parameters` (1.1): the inputs a `goto` gives the workflow it names.
    pub parameters: Vec<(String, expr::Value, Span)>,
    /// Where it is written.
    pub span: Span,
}

/// Where a `goto` goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Goto {
    /// A step of the same workflow.
    Step(usize),
    /// A workflow of this document.
    Workflow(usize),
}

/// One `x-security` entry, bound.
#[derive(Clone, Debug)]
pub enum BoundSecurity {
    /// HTTP Basic.
    Basic {
        /// The user name.
        username: expr::Value,
        /// The password.
        password: expr::Value,
    },
    /// A bearer token.
    Bearer(expr::Value),
    /// An API key in a header, query parameter or cookie.
    ApiKey {
        /// Where it goes.
        location: ParameterIn,
        /// Its name.
        name: String,
        /// Its value.
        value: expr::Value,
    },
}

impl Plan {
    /// Returns the description a source name gives.
    pub fn description(&self, index: usize) -> Option<&Arc<Description>> {
        match self.sources.get(index) {
            Some(Api::OpenApi(d)) => Some(d),
            _ => None,
        }
    }
}

/// Loads, binds and checks an Arazzo file.
pub fn check_file(path: &Path, options: &Options) -> Result<Plan, Vec<Diagnostic>> {
    check_at(path, options, 0)
}

fn check_at(path: &Path, options: &Options, depth: usize) -> Result<Plan, Vec<Diagnostic>> {
    let source = apiflow::read_source(path)?;
    check_source(&source, path, options, depth)
}

/// Binds and checks a document read from `path`.
pub fn check_source(
    source: &Arc<Source>,
    path: &Path,
    options: &Options,
    depth: usize,
) -> Result<Plan, Vec<Diagnostic>> {
    let document = crate::load::load(source)?;
    let mut binder = Binder {
        document: &document,
        source: Arc::clone(source),
        errors: Vec::new(),
        unbound: Vec::new(),
        step_ids: FxHashMap::default(),
        conditions: Repeated::default(),
        values: Repeated::default(),
        outputs: Repeated::default(),
    };
    let sources = binder.sources(path, options, depth);
    let workflows: Vec<Flow> = document
        .workflows
        .iter()
        .map(|w| binder.workflow(w, &sources))
        .collect();
    let order = binder.order(&options.workflows, &workflows);
    for (name, _) in options.servers.iter().filter(|_| depth == 0) {
        if !document
            .source_descriptions
            .iter()
            .any(|s| &s.name.value == name)
        {
            let names = document
                .source_descriptions
                .iter()
                .map(|s| s.name.value.as_str());
            binder.errors.push(
                Diagnostic::error(format!(
                    "`--server {name}=…` does not name a source description of `{}`",
                    source.name
                ))
                .maybe_help(did_you_mean(name, names)),
            );
        }
    }
    if !binder.errors.is_empty() {
        return Err(binder.errors);
    }
    let source_values = document
        .source_descriptions
        .iter()
        .zip(&sources)
        .map(|(source, api)| {
            let kind = match api {
                Api::Arazzo(_) => "arazzo",
                _ => "openapi",
            };
            let value = serde_json::json!({
                "name": source.name.value,
                "url": source.url.value,
                "type": kind,
            });
            (source.name.value.clone(), value)
        })
        .collect();
    // What an expression may read is written as is, or with an escape (`\u002e`) in a quoted
    // string, which could spell any of it.
    let text = source.text.as_bytes();
    let says = |words: &[&[u8]]| {
        memchr::memchr(b'\\', text).is_some()
            || words
                .iter()
                .any(|word| memchr::memmem::find(text, word).is_some())
    };
    Ok(Plan {
        source_values: Arc::new(source_values),
        components: Arc::new(document.components_json()),
        reads_headers: says(&[b".header"]),
        reads_request: says(&[b"$request", b"$url", b"$method"]),
        document,
        sources,
        workflows,
        order,
        servers: options.servers.clone(),
    })
}

struct Binder<'d> {
    document: &'d Document,
    source: Arc<Source>,
    errors: Vec<Diagnostic>,
    /// The values of the step's parameters that could not be bound (not declared by the
    /// operation, not an input of the workflow), kept so that what they read is still checked.
    unbound: Vec<(expr::Value, Span)>,
    /// The positions of the steps of the workflow being bound, by `stepId`.
    step_ids: FxHashMap<&'d str, usize>,
    /// Simple conditions a document repeats, parsed.
    conditions: Repeated<Arc<Condition>>,
    /// String values (parameters, security values) a document repeats, parsed.
    values: Repeated<expr::Value>,
    /// Output expressions a document repeats, parsed.
    outputs: Repeated<Expression>,
}

/// Where a step's expressions are read: what a `$steps` reference may name.
#[derive(Clone, Copy)]
enum Place {
    /// Before the request: parameters and body.
    Request,
    /// After the response: criteria and outputs.
    Response,
    /// After the outputs: actions.
    Actions,
}

impl<'d> Binder<'d> {
    fn error(&mut self, title: String, span: Span, label: &str) -> &mut Diagnostic {
        self.errors
            .push(Diagnostic::error(title).at(&self.source, span, label));
        self.errors.last_mut().expect("just pushed")
    }

    fn sources(&mut self, path: &Path, options: &Options, depth: usize) -> Vec<Api> {
        let folder = path.parent().unwrap_or_else(|| Path::new("."));
        let mut apis = Vec::new();
        for (name, _) in &options.sources {
            if !self
                .document
                .source_descriptions
                .iter()
                .any(|s| &s.name.value == name)
            {
                let names = self
                    .document
                    .source_descriptions
                    .iter()
                    .map(|s| s.name.value.as_str());
                self.errors.push(
                    Diagnostic::error(format!(
                        "`--source {name}=…` does not name a source description of `{}`",
                        self.source.name
                    ))
                    .maybe_help(did_you_mean(name, names)),
                );
            }
        }
        for description in &self.document.source_descriptions {
            let name = &description.name.value;
            let kind = description.kind.as_ref().map(|k| k.value);
            if kind == Some(SourceKind::AsyncApi) {
                apis.push(Api::Unusable);
                continue;
            }
            let local = options
                .sources
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, p)| p.clone());
            let file = match local {
                Some(file) => file,
                None => match local_path(&description.url.value, folder) {
                    Ok(file) => file,
                    Err(why) => {
                        self.error(
                            format!("cannot read source description `{name}`: {why}"),
                            description.url.span,
                            "not a local file",
                        )
                        .help = Some(format!(
                            "apiflow does not download descriptions: keep a copy beside the document and give it with `--source {name}=PATH`"
                        ));
                        apis.push(Api::Unusable);
                        continue;
                    }
                },
            };
            let is_arazzo = match kind {
                Some(SourceKind::Arazzo) => true,
                Some(_) => false,
                // No `type`: the file says what it is.
                None => std::fs::read_to_string(&file).is_ok_and(|t| crate::load::is_arazzo(&t)),
            };
            if is_arazzo {
                if depth >= MAX_DEPTH {
                    self.error(
                        format!("source description `{name}` nests Arazzo documents more than {MAX_DEPTH} deep"),
                        description.url.span,
                        "too deep",
                    );
                    apis.push(Api::Unusable);
                    continue;
                }
                // `--server` names sources of nested documents too; `--source` and
                // `--workflow` concern the document given.
                let nested = Options {
                    access: options.access.clone(),
                    servers: options.servers.clone(),
                    ..Options::default()
                };
                match check_at(&file, &nested, depth + 1) {
                    Ok(plan) => apis.push(Api::Arazzo(Box::new(plan))),
                    Err(errors) => {
                        self.errors.extend(errors);
                        apis.push(Api::Unusable);
                    }
                }
                continue;
            }
            if !file.is_file() {
                self.error(
                    format!(
                        "source description `{name}` is not a file: `{}`",
                        file.display()
                    ),
                    description.url.span,
                    "no such file",
                );
                apis.push(Api::Unusable);
                continue;
            }
            match Description::load(&file, &options.access) {
                Ok(d) => apis.push(Api::OpenApi(Arc::new(d))),
                Err(errors) => {
                    self.errors.extend(errors);
                    apis.push(Api::Unusable);
                }
            }
        }
        apis
    }

    fn source_index(&self, name: &str) -> Option<usize> {
        self.document
            .source_descriptions
            .iter()
            .position(|s| s.name.value == name)
    }

    fn workflow(&mut self, workflow: &'d Workflow, sources: &[Api]) -> Flow {
        let (inputs, declared) = self.inputs(workflow);
        // Every `$steps` reference looks its step up: by name, not by a walk of the list.
        self.step_ids.clear();
        self.step_ids.reserve(workflow.steps.len());
        for (index, step) in workflow.steps.iter().enumerate() {
            self.step_ids.entry(&step.id.value).or_insert(index);
        }
        let mut steps: Vec<BoundStep> = workflow
            .steps
            .iter()
            .enumerate()
            .map(|(index, step)| self.step(workflow, index, step, sources, &declared))
            .collect();
        let read: Vec<usize> = steps
            .iter()
            .filter_map(|s| s.form_from.as_ref())
            .filter_map(|form| self.step_ids.get(form.step.as_str()).copied())
            .collect();
        for index in read {
            steps[index].page_read = true;
        }
        let outputs = self.outputs(
            &workflow.outputs,
            &workflow.output_selectors,
            workflow,
            None,
            Place::Actions,
            &declared,
        );
        let mut depends_on = Vec::new();
        for id in &workflow.depends_on {
            match self
                .document
                .workflows
                .iter()
                .position(|w| w.id.value == id.value)
            {
                Some(index) => depends_on.push(index),
                None if id.value.starts_with("$sourceDescriptions.") => {
                    // A workflow of another document runs before as part of that document.
                    self.external_workflow(&id.value, id.span, sources);
                }
                None => {
                    let ids = self.document.workflows.iter().map(|w| w.id.value.as_str());
                    let help = did_you_mean(&id.value, ids);
                    self.error(
                        format!(
                            "`dependsOn` names workflow `{}`, which does not exist",
                            id.value
                        ),
                        id.span,
                        "no such workflow",
                    )
                    .help = help;
                }
            }
        }
        Flow {
            inputs,
            declared,
            steps,
            outputs,
            depends_on,
        }
    }

    fn inputs(
        &mut self,
        workflow: &Workflow,
    ) -> (Option<Arc<jsonschema::Validator>>, Vec<InputInfo>) {
        let Some(schema) = &workflow.inputs else {
            return (None, Vec::new());
        };
        let mut value = schema.value.clone();
        // `$ref: '#/components/inputs/NAME'` names a schema of `components.inputs`.
        if let Some(reference) = value.get("$ref").and_then(|r| r.as_str()) {
            let found = reference
                .strip_prefix("#/components/inputs/")
                .and_then(|name| {
                    self.document
                        .components
                        .inputs
                        .iter()
                        .find(|(n, _)| n.value == name)
                })
                .map(|(_, v)| v.clone());
            match found {
                Some(found) => value = found,
                None => {
                    let names = self
                        .document
                        .components
                        .inputs
                        .iter()
                        .map(|(n, _)| n.value.as_str());
                    let help = reference
                        .strip_prefix("#/components/inputs/")
                        .and_then(|name| did_you_mean(name, names));
                    self.error(
                        format!("`inputs` refers to `{reference}`, which does not exist"),
                        self.document
                            .span_of(&format!("{}/$ref", workflow.inputs_pointer)),
                        "no such schema",
                    )
                    .help = help;
                    return (None, Vec::new());
                }
            }
        }
        let mut declared = Vec::new();
        if let Some(properties) = value.get("properties").and_then(|p| p.as_object()) {
            for (name, property) in properties {
                declared.push(InputInfo {
                    name: name.clone(),
                    secret: property.get("format").and_then(|f| f.as_str()) == Some("password"),
                    text: is_text_schema(property),
                    default: property.get("default").cloned(),
                    env: property
                        .get("x-apiflow-env")
                        .and_then(|e| e.as_str())
                        .map(str::to_owned),
                });
            }
        }
        // The schema's `$ref`s are relative to the document: it is compiled as a reference into
        // the whole document, which serves as the root resource.
        let mut root = self.document.json().clone();
        if let serde_json::Value::Object(map) = &mut root {
            map.remove("$id");
            map.remove("$schema");
            map.insert(
                "$ref".to_owned(),
                serde_json::Value::String(format!("#{}", workflow.inputs_pointer)),
            );
        }
        match jsonschema::draft202012::new(&root) {
            Ok(validator) => (Some(Arc::new(validator)), declared),
            Err(error) => {
                let pointer = format!("{}{}", workflow.inputs_pointer, error.schema_path());
                self.error(
                    format!(
                        "the `inputs` schema of workflow `{}` is not a valid JSON Schema: {error}",
                        workflow.id.value
                    ),
                    self.document.span_of(&pointer),
                    "invalid schema",
                );
                (None, declared)
            }
        }
    }

    fn step(
        &mut self,
        workflow: &Workflow,
        index: usize,
        step: &Step,
        sources: &[Api],
        declared: &[InputInfo],
    ) -> BoundStep {
        let call = self.call(step, sources);
        let step_name = Some(&step.id);
        // The workflow's parameters apply to every operation step; the step's own win.
        let own: Vec<Cow<'_, Parameter>> = step
            .parameters
            .iter()
            .filter_map(|p| self.parameter(p, step_name))
            .collect();
        let written = if matches!(call, Call::Operation { .. }) && !workflow.parameters.is_empty() {
            let mut merged = Vec::new();
            for parameter in workflow
                .parameters
                .iter()
                .filter_map(|p| self.parameter(p, step_name))
            {
                let overridden = own.iter().any(|p| {
                    p.name.value == parameter.name.value
                        && p.location.as_ref().map(|l| l.value)
                            == parameter.location.as_ref().map(|l| l.value)
                });
                if !overridden {
                    merged.push(parameter);
                }
            }
            merged.extend(own);
            merged
        } else {
            own
        };
        let mut parameters = Vec::with_capacity(written.len());
        for parameter in written {
            if let Some(bound) = self.bind_parameter(&parameter, &call, step, sources) {
                parameters.push(bound);
            }
        }
        if let Call::Operation { operation, .. } = &call {
            for required in operation
                .parameters
                .iter()
                .filter(|p| p.required && !ignored_header(p))
            {
                let given = parameters.iter().any(|p| {
                    p.name == required.name
                        && p.location.map(location_of) == Some(required.location)
                });
                if !given {
                    self.error(
                        format!(
                            "operation `{}` needs {} parameter `{}`, which the step does not give",
                            operation_name(operation),
                            location_name(required.location),
                            required.name
                        ),
                        step.id.span,
                        "missing parameter",
                    )
                    .for_step(step_name)
                    .help = Some(format!(
                        "add `- {{ name: {}, in: {}, value: … }}` to the step's `parameters`",
                        required.name,
                        location_name(required.location)
                    ));
                }
            }
        }
        let body = step.request_body.as_ref().map(|body| {
            let content_type = body
                .content_type
                .as_ref()
                .map(|c| c.value.clone())
                .or_else(|| match &call {
                    Call::Operation { operation, .. } => operation
                        .request_body
                        .as_ref()
                        .and_then(|b| b.content_types.first().cloned()),
                    _ => None,
                });
            let json = content_type.as_deref().is_none_or(is_json);
            let payload = body.payload.as_ref().and_then(|payload| {
                let mut value = payload.value.clone();
                // A JSON payload written as a string of JSON text is that JSON.
                if json
                    && let serde_json::Value::String(text) = &value
                    && let Ok(parsed) = serde_json::from_str::<serde_json::Value>(text)
                    && (parsed.is_object() || parsed.is_array())
                {
                    value = parsed;
                }
                self.value(&value, payload.span, step_name)
            });
            let replacements = body
                .replacements
                .iter()
                .filter_map(|r| {
                    if r.selector == Selector::XPath {
                        self.error(
                            "XPath replacement targets are not supported: apiflow does not read XML payloads".to_owned(),
                            r.target.span,
                            "XPath",
                        )
                        .for_step(step_name)
                        .help = Some("use a JSON Pointer or a JSONPath target".to_owned());
                        return None;
                    }
                    let value = self.value(&r.value.value, r.value.span, step_name)?;
                    Some((r.target.value.clone(), r.selector, value, r.target.span))
                })
                .collect();
            BoundBody {
                content_type,
                payload,
                replacements,
            }
        });
        let criteria = self.criteria(&step.success_criteria, step_name);
        let outputs = self.outputs(
            &step.outputs,
            &step.output_selectors,
            workflow,
            Some(index),
            Place::Response,
            declared,
        );
        if matches!(step.target, Target::WorkflowId(_)) {
            // A step that runs a workflow sends nothing itself: there is no exchange to read.
            let read = criteria
                .iter()
                .flat_map(|c| {
                    c.compiled
                        .expressions()
                        .into_iter()
                        .map(move |e| (e, c.span))
                })
                .chain(outputs.iter().flat_map(|(_, value, span)| {
                    value.expressions().into_iter().map(move |e| (e, *span))
                }));
            let mut problems = Vec::new();
            for (expression, span) in read {
                if reads_exchange(expression) {
                    problems.push((expression.to_string(), span));
                }
            }
            for (expression, span) in problems {
                self.error(
                    format!(
                        "`{expression}` reads an HTTP exchange, but step `{}` runs a workflow and sends no request",
                        step.id.value
                    ),
                    span,
                    "no HTTP response here",
                )
                .for_step(step_name)
                .help = Some(
                    "the step succeeds when its workflow does; read what the workflow gives with `$outputs.NAME`".to_owned(),
                );
            }
        }
        let on_success = self.actions(
            &step.on_success,
            &workflow.success_actions,
            workflow,
            step,
            true,
        );
        let on_failure = self.actions(
            &step.on_failure,
            &workflow.failure_actions,
            workflow,
            step,
            false,
        );
        let mut extract = Vec::new();
        let mut follow_redirects = false;
        let mut stop_at = None;
        let mut form_from = None;
        if let Some(extension) = &step.apiflow {
            follow_redirects = extension.follow_redirects.as_ref().is_some_and(|f| f.value);
            if let Some(text) = &extension.stop_at {
                match expr::parse_text(&text.value) {
                    Ok(parsed) => stop_at = Some(parsed),
                    Err(error) => {
                        self.error(
                            format!("invalid runtime expression in `stop_at`: {}", error.message),
                            text.span,
                            "here",
                        )
                        .for_step(step_name);
                    }
                }
            }
            if let Some(form) = &extension.form_from {
                form_from = self.form_from(form, workflow, index, step_name);
            }
            for (name, value) in &extension.extract {
                match extract::compile(&name.value, &value.value) {
                    Ok(capture) => extract.push((capture, name.span)),
                    Err(problem) => {
                        self.error(
                            format!("in `x-apiflow.extract`: {}", problem.message),
                            value.span,
                            "here",
                        )
                        .for_step(step_name)
                        .help = problem.help;
                    }
                }
            }
        }
        let security = self.security(step, &call, sources);
        for dependency in &step.depends_on {
            if !workflow
                .steps
                .iter()
                .any(|s| s.id.value == dependency.value)
            {
                let ids = workflow.steps.iter().map(|s| s.id.value.as_str());
                let help = did_you_mean(&dependency.value, ids);
                self.error(
                    format!(
                        "`dependsOn` names step `{}`, which is not a step of workflow `{}`",
                        dependency.value, workflow.id.value
                    ),
                    dependency.span,
                    "no such step",
                )
                .for_step(step_name)
                .help = help;
            }
        }
        // Every expression of the step reads only what exists when it is evaluated, the values
        // of parameters that could not be bound too.
        for (value, span) in std::mem::take(&mut self.unbound) {
            self.references(
                value.expressions(),
                span,
                workflow,
                Some(index),
                Place::Request,
                declared,
                step_name,
            );
        }
        for parameter in &parameters {
            self.references(
                parameter.value.expressions(),
                parameter.span,
                workflow,
                Some(index),
                Place::Request,
                declared,
                step_name,
            );
        }
        if let Some(body) = &body {
            let span = step.request_body.as_ref().map_or(step.span, |b| b.span);
            if let Some(payload) = &body.payload {
                self.references(
                    payload.expressions(),
                    span,
                    workflow,
                    Some(index),
                    Place::Request,
                    declared,
                    step_name,
                );
            }
            for (_, _, value, span) in &body.replacements {
                self.references(
                    value.expressions(),
                    *span,
                    workflow,
                    Some(index),
                    Place::Request,
                    declared,
                    step_name,
                );
            }
        }
        for criterion in &criteria {
            self.references(
                criterion.compiled.expressions(),
                criterion.span,
                workflow,
                Some(index),
                Place::Response,
                declared,
                step_name,
            );
        }
        for action in on_success.iter().chain(&on_failure) {
            for criterion in &action.criteria {
                self.references(
                    criterion.compiled.expressions(),
                    criterion.span,
                    workflow,
                    Some(index),
                    Place::Actions,
                    declared,
                    step_name,
                );
            }
        }
        BoundStep {
            call,
            parameters,
            body,
            criteria,
            on_success,
            on_failure,
            outputs,
            extract,
            follow_redirects,
            stop_at,
            form_from,
            page_read: false,
            timeout: step
                .timeout
                .as_ref()
                .map(|t| Duration::from_millis(t.value)),
            security,
            depends_on: step.depends_on.iter().map(|d| d.value.clone()).collect(),
        }
    }

    fn form_from(
        &mut self,
        form: &Spanned<serde_json::Value>,
        workflow: &Workflow,
        index: usize,
        step_name: Option<&Spanned<String>>,
    ) -> Option<FormFrom> {
        let text = |key: &str| {
            form.value
                .get(key)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        let page = text("step")?;
        match workflow.steps.iter().position(|s| s.id.value == page) {
            Some(at) if at < index => {}
            found => {
                let ids = workflow
                    .steps
                    .iter()
                    .take(index)
                    .map(|s| s.id.value.as_str());
                let help = did_you_mean(&page, ids);
                let title = if found.is_some() {
                    format!(
                        "`x-apiflow.form_from` reads the page of step `{page}`, which runs after this one"
                    )
                } else {
                    format!(
                        "`x-apiflow.form_from` names step `{page}`, which is not a step of workflow `{}`",
                        workflow.id.value
                    )
                };
                self.error(title, form.span, "here")
                    .for_step(step_name)
                    .help = help;
                return None;
            }
        }
        let selector = text("selector").unwrap_or_else(|| "form".to_owned());
        if let Err(message) = apiflow::query::page::check_selector(&selector) {
            self.error(
                format!("in `x-apiflow.form_from`: {message}"),
                form.span,
                "here",
            )
            .for_step(step_name);
            return None;
        }
        let mut fields = Vec::new();
        for (name, value) in form
            .value
            .get("fields")
            .and_then(|f| f.as_object())
            .into_iter()
            .flatten()
        {
            let written = match value {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            match expr::parse_text(&written) {
                Ok(text) => fields.push((name.clone(), text)),
                Err(error) => {
                    self.error(
                        format!(
                            "invalid runtime expression in `x-apiflow.form_from.fields.{name}`: {}",
                            error.message
                        ),
                        form.span,
                        "here",
                    )
                    .for_step(step_name);
                }
            }
        }
        Some(FormFrom {
            step: page,
            selector,
            fields,
        })
    }

    fn call(&mut self, step: &Step, sources: &[Api]) -> Call {
        let step_name = Some(&step.id);
        match &step.target {
            Target::AsyncApi(span) => {
                self.error(
                    format!(
                        "step `{}` is an AsyncAPI step, which apiflow does not run",
                        step.id.value
                    ),
                    *span,
                    "AsyncAPI",
                )
                .for_step(step_name)
                .help = Some(
                    "apiflow runs steps bound to OpenAPI operations and to workflows".to_owned(),
                );
                Call::Invalid
            }
            Target::OperationId(id) => self.operation_id(id, step, sources),
            Target::OperationPath(path) => self.operation_path(path, step, sources),
            Target::WorkflowId(id) => {
                if let Some(index) = self
                    .document
                    .workflows
                    .iter()
                    .position(|w| w.id.value == id.value)
                {
                    return Call::Workflow(index);
                }
                if id.value.starts_with("$sourceDescriptions.") {
                    return self.external_workflow(&id.value, id.span, sources).map_or(
                        Call::Invalid,
                        |(source, workflow)| Call::External { source, workflow },
                    );
                }
                let ids = self.document.workflows.iter().map(|w| w.id.value.as_str());
                let help = did_you_mean(&id.value, ids);
                self.error(
                    format!("workflow `{}` does not exist in this document", id.value),
                    id.span,
                    "no such workflow",
                )
                .for_step(step_name)
                .help = help;
                Call::Invalid
            }
        }
    }

    fn external_workflow(
        &mut self,
        text: &str,
        span: Span,
        sources: &[Api],
    ) -> Option<(usize, usize)> {
        let rest = text.strip_prefix("$sourceDescriptions.")?;
        let (name, id) = rest.split_once('.').unwrap_or((rest, ""));
        let Some(source) = self.source_index(name) else {
            let names = self
                .document
                .source_descriptions
                .iter()
                .map(|s| s.name.value.as_str());
            let help = did_you_mean(name, names);
            self.error(
                format!("`{text}` names source description `{name}`, which does not exist"),
                span,
                "no such source",
            )
            .help = help;
            return None;
        };
        match sources.get(source) {
            Some(Api::Arazzo(plan)) => {
                if let Some(index) = plan
                    .document
                    .workflows
                    .iter()
                    .position(|w| w.id.value == id)
                {
                    return Some((source, index));
                }
                let ids = plan.document.workflows.iter().map(|w| w.id.value.as_str());
                let help = did_you_mean(id, ids);
                self.error(
                    format!("workflow `{id}` does not exist in source description `{name}`"),
                    span,
                    "no such workflow",
                )
                .help = help;
                None
            }
            Some(Api::OpenApi(_)) => {
                self.error(
                    format!("`{text}` names a workflow, but `{name}` is an OpenAPI description"),
                    span,
                    "not an Arazzo document",
                );
                None
            }
            _ => None,
        }
    }

    fn operation_id(&mut self, id: &Spanned<String>, step: &Step, sources: &[Api]) -> Call {
        let step_name = Some(&step.id);
        let (wanted_source, op) = match id.value.strip_prefix("$sourceDescriptions.") {
            Some(rest) => match rest.split_once('.') {
                Some((name, op)) => match self.source_index(name) {
                    Some(index) => (Some(index), op.to_owned()),
                    None => {
                        let names = self
                            .document
                            .source_descriptions
                            .iter()
                            .map(|s| s.name.value.as_str());
                        let help = did_you_mean(name, names);
                        self.error(
                            format!("`operationId` names source description `{name}`, which does not exist"),
                            id.span,
                            "no such source",
                        )
                        .for_step(step_name)
                        .help = help;
                        return Call::Invalid;
                    }
                },
                None => {
                    self.error(
                        format!("`operationId: {}` does not name an operation", id.value),
                        id.span,
                        "incomplete",
                    )
                    .for_step(step_name)
                    .help = Some("write `$sourceDescriptions.NAME.OPERATION_ID`".to_owned());
                    return Call::Invalid;
                }
            },
            None => (None, id.value.clone()),
        };
        let mut found: Vec<(usize, &Arc<Operation>)> = Vec::new();
        let mut candidates: Vec<&str> = Vec::new();
        let mut usable = false;
        for (index, api) in sources.iter().enumerate() {
            if wanted_source.is_some_and(|w| w != index) {
                continue;
            }
            if let Api::OpenApi(description) = api {
                usable = true;
                if let Some(operation) = description.operation_by_id(&op) {
                    found.push((index, operation));
                }
                candidates.extend(description.operation_ids());
            } else if wanted_source.is_some() {
                // The source did not load or cannot be called: reported already, or below.
                if matches!(api, Api::Arazzo(_)) {
                    self.error(
                        format!("`operationId` names an operation, but source `{}` is an Arazzo document", self.document.source_descriptions[index].name.value),
                        id.span,
                        "not an OpenAPI description",
                    )
                    .for_step(step_name);
                }
                return Call::Invalid;
            }
        }
        match found.as_slice() {
            [(source, operation)] => Call::Operation {
                source: *source,
                operation: Arc::clone(operation),
            },
            [] => {
                if !usable {
                    if !self.document.source_descriptions.is_empty()
                        && sources.iter().all(|a| matches!(a, Api::Unusable))
                    {
                        // Every source failed to load and was reported.
                        return Call::Invalid;
                    }
                    self.error(
                        format!("operation `{op}` cannot be found: the document has no OpenAPI source description"),
                        id.span,
                        "no OpenAPI source",
                    )
                    .for_step(step_name);
                    return Call::Invalid;
                }
                let same_case = candidates
                    .iter()
                    .find(|c| c.eq_ignore_ascii_case(&op))
                    .copied();
                let help = same_case
                    .map(|c| format!("did you mean `{c}`? operationIds are case-sensitive"))
                    .or_else(|| did_you_mean(&op, candidates.iter().copied()));
                self.error(
                    format!(
                        "operation `{op}` is not in {}",
                        self.sources_named(wanted_source, sources)
                    ),
                    id.span,
                    "unknown operationId",
                )
                .for_step(step_name)
                .help = help;
                Call::Invalid
            }
            several => {
                let names: Vec<String> = several
                    .iter()
                    .map(|(i, _)| {
                        format!(
                            "`$sourceDescriptions.{}.{op}`",
                            self.document.source_descriptions[*i].name.value
                        )
                    })
                    .collect();
                self.error(
                    format!(
                        "operation `{op}` is in {} source descriptions",
                        several.len()
                    ),
                    id.span,
                    "ambiguous",
                )
                .for_step(step_name)
                .help = Some(format!("name the source: {}", names.join(" or ")));
                Call::Invalid
            }
        }
    }

    fn sources_named(&self, wanted: Option<usize>, sources: &[Api]) -> String {
        let names: Vec<String> = sources
            .iter()
            .enumerate()
            .filter(|(i, a)| matches!(a, Api::OpenApi(_)) && wanted.is_none_or(|w| w == *i))
            .map(|(i, _)| format!("`{}`", self.document.source_descriptions[i].name.value))
            .collect();
        format!("source description {}", names.join(", "))
    }

    fn operation_path(&mut self, path: &Spanned<String>, step: &Step, sources: &[Api]) -> Call {
        let step_name = Some(&step.id);
        let Some((base, fragment)) = path.value.split_once('#') else {
            self.error(
                format!(
                    "`operationPath: {}` has no `#` and JSON Pointer",
                    path.value
                ),
                path.span,
                "no pointer",
            )
            .for_step(step_name)
            .help = Some("write `{$sourceDescriptions.NAME.url}#/paths/~1pets/get`".to_owned());
            return Call::Invalid;
        };
        // `{$sourceDescriptions.NAME.url}` as the specification writes it; the schema's own
        // examples also write `$sourceDescriptions.NAME.url` and `$sourceDescriptions.NAME`.
        let written_name = base
            .strip_prefix('{')
            .and_then(|b| b.strip_suffix('}'))
            .unwrap_or(base)
            .strip_prefix("$sourceDescriptions.")
            .map(|r| r.strip_suffix(".url").unwrap_or(r));
        let source = match written_name {
            Some(name) => self.source_index(name).ok_or(name.to_owned()),
            // A literal URL must be one of the sources'.
            None => self
                .document
                .source_descriptions
                .iter()
                .position(|s| s.url.value == base)
                .ok_or(base.to_owned()),
        };
        let source = match source {
            Ok(source) => source,
            Err(name) => {
                let names = self
                    .document
                    .source_descriptions
                    .iter()
                    .map(|s| s.name.value.as_str());
                let help = did_you_mean(&name, names);
                self.error(
                    format!(
                        "`operationPath` names source description `{name}`, which does not exist"
                    ),
                    path.span,
                    "no such source",
                )
                .for_step(step_name)
                .help = help;
                return Call::Invalid;
            }
        };
        let Some(Api::OpenApi(description)) = sources.get(source) else {
            return Call::Invalid;
        };
        let pointer = percent_decode(fragment);
        match description.operation_at(&pointer) {
            Ok(operation) => Call::Operation {
                source,
                operation: Arc::clone(operation),
            },
            Err(problem) => {
                let (title, label) = match problem {
                    PointerProblem::NotFound { nearest } => (
                        format!(
                            "`operationPath` points at `{pointer}`, which is not in `{}` (it goes as far as `{nearest}`)",
                            description.source.name
                        ),
                        "not found",
                    ),
                    PointerProblem::NotAnOperation { what } => (
                        format!("`operationPath` points at {what}, not at an operation"),
                        "not an operation",
                    ),
                };
                let paths: Vec<String> = description
                    .operations
                    .iter()
                    .map(|o| o.pointer.clone())
                    .collect();
                let help = did_you_mean(&pointer, paths.iter().map(String::as_str))
                    .map(|h| h.replace("did you mean `", "did you mean `#"));
                self.error(title, path.span, label).for_step(step_name).help = help.or_else(|| {
                    Some(
                        "the pointer names a method of a path item: `#/paths/~1pets/get`"
                            .to_owned(),
                    )
                });
                Call::Invalid
            }
        }
    }

    fn parameter<'p>(
        &mut self,
        parameter: &'p ParameterOrRef,
        step_name: Option<&Spanned<String>>,
    ) -> Option<Cow<'p, Parameter>> {
        match parameter {
            ParameterOrRef::Parameter(p) => Some(Cow::Borrowed(p)),
            ParameterOrRef::Reference(reference) => {
                let name = reference
                    .reference
                    .value
                    .strip_prefix("$components.parameters.");
                let found = name.and_then(|name| {
                    self.document
                        .components
                        .parameters
                        .iter()
                        .find(|(n, _)| n.value == name)
                });
                match found {
                    Some((_, component)) => {
                        let mut parameter = component.clone();
                        if let Some(value) = &reference.value {
                            parameter.value = value.clone();
                        }
                        parameter.span = reference.span;
                        Some(Cow::Owned(parameter))
                    }
                    None => {
                        let names = self
                            .document
                            .components
                            .parameters
                            .iter()
                            .map(|(n, _)| n.value.as_str());
                        let help = name.and_then(|name| did_you_mean(name, names));
                        self.error(
                            format!(
                                "`{}` does not name a parameter of `components.parameters`",
                                reference.reference.value
                            ),
                            reference.reference.span,
                            "no such component",
                        )
                        .for_step(step_name)
                        .help = help;
                        None
                    }
                }
            }
        }
    }

    fn bind_parameter(
        &mut self,
        parameter: &Parameter,
        call: &Call,
        step: &Step,
        sources: &[Api],
    ) -> Option<BoundParameter> {
        let step_name = Some(&step.id);
        let value = self.value(&parameter.value.value, parameter.value.span, step_name)?;
        let location = parameter.location.as_ref().map(|l| l.value);
        let mut spec = None;
        match call {
            Call::Operation { operation, .. } => {
                let Some(location) = location else {
                    self.error(
                        format!("parameter `{}` has no `in`", parameter.name.value),
                        parameter.name.span,
                        "missing `in`",
                    )
                    .for_step(step_name)
                    .help = Some("a step that calls an operation says where each parameter goes: `in: path|query|header|cookie`".to_owned());
                    return None;
                };
                let declared = operation.parameters.iter().position(|p| {
                    p.name == parameter.name.value && p.location == location_of(location)
                });
                match declared {
                    Some(declared) => spec = Some(declared),
                    None => {
                        let same_place: Vec<&str> = operation
                            .parameters
                            .iter()
                            .filter(|p| p.location == location_of(location))
                            .map(|p| p.name.as_str())
                            .collect();
                        let elsewhere = operation
                            .parameters
                            .iter()
                            .find(|p| p.name == parameter.name.value);
                        let help = match elsewhere {
                            Some(p) => Some(format!(
                                "`{}` is a {} parameter: write `in: {}`",
                                p.name,
                                location_name(p.location),
                                location_name(p.location)
                            )),
                            None => did_you_mean(&parameter.name.value, same_place.iter().copied())
                                .or_else(|| {
                                    (!same_place.is_empty()).then(|| {
                                        format!(
                                            "its {} parameters are {}",
                                            location_name(location_of(location)),
                                            same_place
                                                .iter()
                                                .map(|n| format!("`{n}`"))
                                                .collect::<Vec<_>>()
                                                .join(", ")
                                        )
                                    })
                                }),
                        };
                        // Headers and cookies an operation does not declare are still sent: an
                        // API may read them (an `Authorization` header, say).
                        if matches!(
                            location,
                            ParameterIn::Path | ParameterIn::Query | ParameterIn::Querystring
                        ) || help.is_some()
                        {
                            self.error(
                                format!(
                                    "operation `{}` declares no {} parameter `{}`",
                                    operation_name(operation),
                                    location_name(location_of(location)),
                                    parameter.name.value
                                ),
                                parameter.name.span,
                                "not declared",
                            )
                            .for_step(step_name)
                            .help = help;
                            self.unbound.push((value, parameter.value.span));
                            return None;
                        }
                    }
                }
            }
            Call::Workflow(index)
            | Call::External {
                workflow: index, ..
            } => {
                let target = match call {
                    Call::External { source, .. } => match sources.get(*source) {
                        Some(Api::Arazzo(plan)) => plan.document.workflows.get(*index),
                        _ => None,
                    },
                    _ => self.document.workflows.get(*index),
                };
                if let Some(target) = target
                    && let Some(properties) = target
                        .inputs
                        .as_ref()
                        .and_then(|i| i.value.get("properties"))
                        .and_then(|p| p.as_object())
                    && !properties.contains_key(&parameter.name.value)
                {
                    let help =
                        did_you_mean(&parameter.name.value, properties.keys().map(String::as_str));
                    self.error(
                        format!(
                            "workflow `{}` has no input `{}`",
                            target.id.value, parameter.name.value
                        ),
                        parameter.name.span,
                        "not an input",
                    )
                    .for_step(step_name)
                    .help = help;
                    self.unbound.push((value, parameter.value.span));
                    return None;
                }
            }
            Call::Invalid => {}
        }
        Some(BoundParameter {
            name: parameter.name.value.clone(),
            location,
            value,
            spec,
            span: parameter.value.span,
        })
    }

    fn value(
        &mut self,
        value: &serde_json::Value,
        span: Span,
        step_name: Option<&Spanned<String>>,
    ) -> Option<expr::Value> {
        let parsed = match value {
            serde_json::Value::String(text) => {
                self.values.parse(text, |_| expr::parse_value(value))
            }
            _ => expr::parse_value(value),
        };
        match parsed {
            Ok(value) => Some(value),
            Err((pointer, error)) => {
                let at = if pointer.is_empty() {
                    String::new()
                } else {
                    format!(" at `{pointer}`")
                };
                self.error(
                    format!("invalid runtime expression{at}: {}", error.message),
                    span,
                    "here",
                )
                .for_step(step_name);
                None
            }
        }
    }

    fn criteria(
        &mut self,
        criteria: &[Criterion],
        step_name: Option<&Spanned<String>>,
    ) -> Vec<BoundCriterion> {
        let mut out = Vec::with_capacity(criteria.len());
        for c in criteria {
            match criterion::compile_with(c, &mut self.conditions) {
                Ok(compiled) => out.push(BoundCriterion {
                    compiled,
                    text: c.condition.value.clone(),
                    span: c.condition.span,
                }),
                Err(error) => {
                    let (text, span) = match (&c.context, error.on_context) {
                        (Some(context), true) => (&context.value, context.span),
                        _ => (&c.condition.value, c.condition.span),
                    };
                    let span = self.span_within(span, text, error.offset);
                    let what = if error.on_context {
                        "context"
                    } else {
                        "condition"
                    };
                    self.error(
                        format!("invalid criterion {what}: {}", error.message),
                        span,
                        "here",
                    )
                    .for_step(step_name)
                    .help = error.help;
                }
            }
        }
        out
    }

    /// Maps a byte offset in a one-line value to its column, when the value is written on one
    /// line (after a quote, if quoted); the whole value otherwise.
    fn span_within(&self, span: Span, text: &str, offset: Option<usize>) -> Span {
        let Some(offset) = offset else { return span };
        if text.contains('\n') {
            return span;
        }
        let Some(line) = self.source.line(span.line) else {
            return span;
        };
        let start: String = line
            .chars()
            .skip(span.column.saturating_sub(1) as usize)
            .collect();
        let quote = u32::from(start.starts_with('\'') || start.starts_with('"'));
        let body = &start[quote as usize..];
        if !body.starts_with(text) {
            return span;
        }
        let before = u32::try_from(
            text.get(..offset.min(text.len()))
                .map_or(0, |t| t.chars().count()),
        )
        .unwrap_or(0);
        span.shifted(quote + before, 1)
    }

    fn outputs(
        &mut self,
        outputs: &[(Spanned<String>, Spanned<String>)],
        selectors: &[(Spanned<String>, Spanned<serde_json::Value>)],
        workflow: &Workflow,
        step: Option<usize>,
        place: Place,
        declared: &[InputInfo],
    ) -> Vec<(String, expr::Value, Span)> {
        let step_name = step.and_then(|i| workflow.steps.get(i)).map(|s| &s.id);
        let mut out = Vec::with_capacity(outputs.len() + selectors.len());
        for (name, text) in outputs {
            match self.outputs.parse(text.value.trim(), expr::parse) {
                Ok(expression) => {
                    self.references(
                        [&expression],
                        text.span,
                        workflow,
                        step,
                        place,
                        declared,
                        step_name,
                    );
                    out.push((
                        name.value.clone(),
                        expr::Value::Text(expr::Text::Whole(expression)),
                        text.span,
                    ));
                }
                Err(error) => {
                    let span = self.span_within(text.span, &text.value, Some(error.offset));
                    self.error(
                        format!(
                            "invalid runtime expression in output `{}`: {}",
                            name.value, error.message
                        ),
                        span,
                        "here",
                    )
                    .for_step(step_name);
                }
            }
        }
        // 1.1: an output written as a Selector Object (`context`, `selector`, `type`).
        for (name, selector) in selectors {
            if let Some(value) = self.value(&selector.value, selector.span, step_name) {
                self.references(
                    value.expressions(),
                    selector.span,
                    workflow,
                    step,
                    place,
                    declared,
                    step_name,
                );
                out.push((name.value.clone(), value, selector.span));
            }
        }
        out
    }

    fn actions(
        &mut self,
        own: &[ActionOrRef],
        inherited: &[ActionOrRef],
        workflow: &Workflow,
        step: &Step,
        success: bool,
    ) -> Vec<BoundAction> {
        let step_name = Some(&step.id);
        let own: Vec<Action> = own
            .iter()
            .filter_map(|a| self.action(a, success, step_name))
            .collect();
        let mut all = own.clone();
        for action in inherited
            .iter()
            .filter_map(|a| self.action(a, success, None))
        {
            if !own.iter().any(|o| o.name.value == action.name.value) {
                all.push(action);
            }
        }
        all.into_iter()
            .map(|action| {
                let target = self.action_target(&action, workflow, step_name);
                if action.kind.value == ActionKind::Retry && success {
                    self.error(
                        format!(
                            "success action `{}` is a `retry`: only failure actions retry",
                            action.name.value
                        ),
                        action.kind.span,
                        "not allowed here",
                    )
                    .for_step(step_name);
                }
                if action.kind.value == ActionKind::Goto
                    && target.is_none()
                    && action.step_id.is_none()
                    && action.workflow_id.is_none()
                {
                    self.error(
                        format!(
                            "`goto` action `{}` says neither `stepId` nor `workflowId`",
                            action.name.value
                        ),
                        action.kind.span,
                        "nowhere to go",
                    )
                    .for_step(step_name);
                }
                BoundAction {
                    name: action.name.value.clone(),
                    kind: action.kind.value,
                    target,
                    retry_after: action
                        .retry_after
                        .as_ref()
                        .and_then(|r| Duration::try_from_secs_f64(r.value).ok()),
                    retry_limit: action.retry_limit.as_ref().map_or(1, |r| r.value),
                    criteria: self.criteria(&action.criteria, step_name),
                    parameters: self.action_parameters(&action, target, step_name),
                    span: action.span,
                }
            })
            .collect()
    }

    /// Binds the `parameters` of a `goto` to a workflow: each names an input of that workflow.
    fn action_parameters(
        &mut self,
        action: &Action,
        target: Option<Goto>,
        step_name: Option<&Spanned<String>>,
    ) -> Vec<(String, expr::Value, Span)> {
        let mut out = Vec::new();
        for parameter in &action.parameters {
            let Some(parameter) = self.parameter(parameter, step_name) else {
                continue;
            };
            let Some(Goto::Workflow(index)) = target else {
                self.error(
                    format!(
                        "action `{}` gives parameter `{}`, but only a `goto` to a workflow takes parameters",
                        action.name.value, parameter.name.value
                    ),
                    parameter.name.span,
                    "not used",
                )
                .for_step(step_name);
                continue;
            };
            let workflow = &self.document.workflows[index];
            if let Some(properties) = workflow
                .inputs
                .as_ref()
                .and_then(|i| i.value.get("properties"))
                .and_then(|p| p.as_object())
                && !properties.contains_key(&parameter.name.value)
            {
                let help =
                    did_you_mean(&parameter.name.value, properties.keys().map(String::as_str));
                self.error(
                    format!(
                        "workflow `{}` has no input `{}`",
                        workflow.id.value, parameter.name.value
                    ),
                    parameter.name.span,
                    "not an input",
                )
                .for_step(step_name)
                .help = help;
                continue;
            }
            if let Some(value) = self.value(&parameter.value.value, parameter.value.span, step_name)
            {
                out.push((parameter.name.value.clone(), value, parameter.value.span));
            }
        }
        out
    }

    fn action(
        &mut self,
        action: &ActionOrRef,
        success: bool,
        step_name: Option<&Spanned<String>>,
    ) -> Option<Action> {
        match action {
            ActionOrRef::Action(a) => Some(a.clone()),
            ActionOrRef::Reference(reference) => {
                let (prefix, list) = if success {
                    (
                        "$components.successActions.",
                        &self.document.components.success_actions,
                    )
                } else {
                    (
                        "$components.failureActions.",
                        &self.document.components.failure_actions,
                    )
                };
                let name = reference.reference.value.strip_prefix(prefix);
                let found = name
                    .and_then(|name| list.iter().find(|(n, _)| n.value == name))
                    .map(|(_, a)| a.clone());
                if found.is_none() {
                    let names: Vec<String> = list.iter().map(|(n, _)| n.value.clone()).collect();
                    let help = name
                        .and_then(|name| did_you_mean(name, names.iter().map(String::as_str)))
                        .or_else(|| {
                            Some(format!(
                                "a {} action refers to `{prefix}NAME`",
                                if success { "success" } else { "failure" }
                            ))
                        });
                    self.error(
                        format!(
                            "`{}` does not name an action of `components`",
                            reference.reference.value
                        ),
                        reference.reference.span,
                        "no such component",
                    )
                    .for_step(step_name)
                    .help = help;
                }
                found
            }
        }
    }

    fn action_target(
        &mut self,
        action: &Action,
        workflow: &Workflow,
        step_name: Option<&Spanned<String>>,
    ) -> Option<Goto> {
        if let Some(step) = &action.step_id {
            if let Some(index) = workflow.steps.iter().position(|s| s.id.value == step.value) {
                return Some(Goto::Step(index));
            }
            let ids = workflow.steps.iter().map(|s| s.id.value.as_str());
            let help = did_you_mean(&step.value, ids);
            self.error(
                format!(
                    "action `{}` goes to step `{}`, which is not a step of workflow `{}`",
                    action.name.value, step.value, workflow.id.value
                ),
                step.span,
                "no such step",
            )
            .for_step(step_name)
            .help = help;
            return None;
        }
        if let Some(id) = &action.workflow_id {
            if let Some(index) = self
                .document
                .workflows
                .iter()
                .position(|w| w.id.value == id.value)
            {
                return Some(Goto::Workflow(index));
            }
            let ids = self.document.workflows.iter().map(|w| w.id.value.as_str());
            let help = did_you_mean(&id.value, ids).or_else(|| {
                id.value
                    .starts_with("$sourceDescriptions.")
                    .then(|| "apiflow goes to workflows of this document only".to_owned())
            });
            self.error(
                format!(
                    "action `{}` goes to workflow `{}`, which does not exist",
                    action.name.value, id.value
                ),
                id.span,
                "no such workflow",
            )
            .for_step(step_name)
            .help = help;
        }
        None
    }

    fn security(&mut self, step: &Step, call: &Call, sources: &[Api]) -> Vec<BoundSecurity> {
        let step_name = Some(&step.id);
        let mut out = Vec::new();
        for entry in &step.security {
            let scheme = match (&entry.scheme, &entry.scheme_name) {
                (Some(scheme), _) => Some(&scheme.value),
                (None, Some(name)) => {
                    let description = match call {
                        Call::Operation { source, .. } => match sources.get(*source) {
                            Some(Api::OpenApi(d)) => Some(d),
                            _ => None,
                        },
                        _ => None,
                    };
                    let found = description.and_then(|d| {
                        d.security_schemes
                            .iter()
                            .find(|(n, _)| *n == name.value)
                            .map(|(_, s)| s)
                    });
                    if found.is_none() && description.is_some() {
                        let names: Vec<&str> = description
                            .map(|d| d.security_schemes.iter().map(|(n, _)| n.as_str()).collect())
                            .unwrap_or_default();
                        let help = did_you_mean(&name.value, names.iter().copied());
                        self.error(
                            format!("`x-security` names scheme `{}`, which the operation's description does not declare", name.value),
                            name.span,
                            "no such scheme",
                        )
                        .for_step(step_name)
                        .help = help;
                    }
                    found
                }
                (None, None) => None,
            };
            let Some(scheme) = scheme else { continue };
            let value_of = |this: &mut Self, key: &str| -> Option<expr::Value> {
                let found = entry.values.iter().find(|(k, _)| k.value == key);
                match found {
                    Some((_, v)) => this.value(&v.value, v.span, step_name),
                    None => {
                        this.error(
                            format!("`x-security` needs `values.{key}` for this scheme"),
                            entry.span,
                            "missing value",
                        )
                        .for_step(step_name);
                        None
                    }
                }
            };
            let kind = scheme
                .get("type")
                .and_then(|t| t.as_str())
                .unwrap_or_default();
            let http = scheme
                .get("scheme")
                .and_then(|t| t.as_str())
                .unwrap_or_default()
                .to_ascii_lowercase();
            match (kind, http.as_str()) {
                ("http", "basic") => {
                    if let (Some(username), Some(password)) =
                        (value_of(self, "username"), value_of(self, "password"))
                    {
                        out.push(BoundSecurity::Basic { username, password });
                    }
                }
                ("http", "bearer") | ("oauth2" | "openIdConnect", _) => {
                    let key = if entry.values.iter().any(|(k, _)| k.value == "token") {
                        "token"
                    } else {
                        "accessToken"
                    };
                    if let Some(token) = value_of(self, key) {
                        out.push(BoundSecurity::Bearer(token));
                    }
                }
                ("apiKey", _) => {
                    let location = match scheme.get("in").and_then(|i| i.as_str()) {
                        Some("query") => ParameterIn::Query,
                        Some("cookie") => ParameterIn::Cookie,
                        _ => ParameterIn::Header,
                    };
                    let name = scheme
                        .get("name")
                        .and_then(|n| n.as_str())
                        .unwrap_or("X-API-Key")
                        .to_owned();
                    let key = if entry.values.iter().any(|(k, _)| k.value == "apiKey") {
                        "apiKey"
                    } else {
                        "value"
                    };
                    if let Some(value) = value_of(self, key) {
                        out.push(BoundSecurity::ApiKey {
                            location,
                            name,
                            value,
                        });
                    }
                }
                _ => {
                    self.error(
                        format!(
                            "`x-security` scheme `{kind}{}` is not supported",
                            if http.is_empty() {
                                String::new()
                            } else {
                                format!(" {http}")
                            }
                        ),
                        entry.span,
                        "not supported",
                    )
                    .for_step(step_name)
                    .help =
                        Some("apiflow sends HTTP basic, bearer and API key credentials".to_owned());
                }
            }
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn references<'e>(
        &mut self,
        expressions: impl IntoIterator<Item = &'e Expression>,
        span: Span,
        workflow: &Workflow,
        step: Option<usize>,
        place: Place,
        declared: &[InputInfo],
        step_name: Option<&Spanned<String>>,
    ) {
        for expression in expressions {
            if let Some((id, output)) = expression.step_ref() {
                let target = self
                    .step_ids
                    .get(id)
                    .copied()
                    .filter(|&t| workflow.steps.get(t).is_some_and(|s| s.id.value == id))
                    .or_else(|| workflow.steps.iter().position(|s| s.id.value == id));
                let Some(target) = target else {
                    let ids = workflow.steps.iter().map(|s| s.id.value.as_str());
                    let help = did_you_mean(id, ids);
                    self.error(format!("`{expression}` reads step `{id}`, which is not a step of workflow `{}`", workflow.id.value), span, "no such step")
                        .for_step(step_name)
                        .help = help;
                    continue;
                };
                let target_step = &workflow.steps[target];
                let outputs: Vec<&str> = target_step
                    .outputs
                    .iter()
                    .map(|(n, _)| n.value.as_str())
                    .chain(
                        target_step
                            .output_selectors
                            .iter()
                            .map(|(n, _)| n.value.as_str()),
                    )
                    .chain(
                        target_step
                            .apiflow
                            .iter()
                            .flat_map(|e| e.extract.iter().map(|(n, _)| n.value.as_str())),
                    )
                    .collect();
                if !outputs.contains(&output) {
                    let help = did_you_mean(output, outputs.iter().copied()).or_else(|| {
                        Some(if outputs.is_empty() {
                            format!("step `{id}` declares no outputs")
                        } else {
                            format!(
                                "its outputs are {}",
                                outputs
                                    .iter()
                                    .map(|o| format!("`{o}`"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )
                        })
                    });
                    self.error(format!("`{expression}` reads output `{output}`, which step `{id}` does not declare"), span, "no such output")
                        .for_step(step_name)
                        .help = help;
                    continue;
                }
                if let Some(current) = step {
                    let later = match place {
                        Place::Request | Place::Response => target >= current,
                        Place::Actions => target > current,
                    };
                    if later && target == current {
                        self.error(
                            format!("`{expression}` reads the outputs of step `{id}` itself"),
                            span,
                            "not set yet",
                        )
                        .for_step(step_name)
                        .help = Some(
                            "a step's outputs are set after it ran, for the steps after it; read this step's own response with `$response.…`".to_owned(),
                        );
                    } else if later {
                        self.error(
                            format!("`{expression}` reads step `{id}`, which runs after this one"),
                            span,
                            "not set yet",
                        )
                        .for_step(step_name)
                        .help = Some(format!(
                            "a step reads the outputs of the steps before it; move `{id}` before `{}`",
                            workflow.steps[current].id.value
                        ));
                    }
                }
            } else if let Some(name) = expression.input_ref() {
                if !declared.is_empty() && !declared.iter().any(|i| i.name == name) {
                    let help = did_you_mean(name, declared.iter().map(|i| i.name.as_str()));
                    self.error(format!("`{expression}` reads input `{name}`, which workflow `{}` does not declare", workflow.id.value), span, "no such input")
                        .for_step(step_name)
                        .help = help;
                }
            } else if let Some((id, field, name)) = expression.workflow_ref() {
                let Some(target) = self.document.workflow(id) else {
                    let ids = self.document.workflows.iter().map(|w| w.id.value.as_str());
                    let help = did_you_mean(id, ids);
                    self.error(
                        format!("`{expression}` reads workflow `{id}`, which does not exist"),
                        span,
                        "no such workflow",
                    )
                    .for_step(step_name)
                    .help = help;
                    continue;
                };
                if field == WorkflowField::Outputs
                    && !target.outputs.iter().any(|(n, _)| n.value == name)
                    && !target.output_selectors.iter().any(|(n, _)| n.value == name)
                {
                    let names: Vec<&str> = target
                        .outputs
                        .iter()
                        .map(|(n, _)| n.value.as_str())
                        .collect();
                    let help = did_you_mean(name, names.iter().copied());
                    self.error(format!("`{expression}` reads output `{name}`, which workflow `{id}` does not declare"), span, "no such output")
                        .for_step(step_name)
                        .help = help;
                }
            } else if let Some((kind, name)) = expression.component_ref() {
                let exists = self.component_names(kind).contains(&name);
                if !exists {
                    self.error(
                        format!("`{expression}` names a component that does not exist"),
                        span,
                        "no such component",
                    )
                    .for_step(step_name);
                }
            } else if let Some((name, _)) = expression.source_ref()
                && self.source_index(name).is_none()
            {
                let names = self
                    .document
                    .source_descriptions
                    .iter()
                    .map(|s| s.name.value.as_str());
                let help = did_you_mean(name, names);
                self.error(
                    format!(
                        "`{expression}` names source description `{name}`, which does not exist"
                    ),
                    span,
                    "no such source",
                )
                .for_step(step_name)
                .help = help;
            }
        }
    }

    /// Lists the names of one kind of `components`.
    fn component_names(&self, kind: expr::ComponentKind) -> Vec<&str> {
        let components = &self.document.components;
        match kind {
            expr::ComponentKind::Inputs => components
                .inputs
                .iter()
                .map(|(n, _)| n.value.as_str())
                .collect(),
            expr::ComponentKind::Parameters => components
                .parameters
                .iter()
                .map(|(n, _)| n.value.as_str())
                .collect(),
            expr::ComponentKind::SuccessActions => components
                .success_actions
                .iter()
                .map(|(n, _)| n.value.as_str())
                .collect(),
            expr::ComponentKind::FailureActions => components
                .failure_actions
                .iter()
                .map(|(n, _)| n.value.as_str())
                .collect(),
        }
    }

    /// Orders the workflows to run: those `--workflow` picks (all by default) and what they
    /// depend on, dependencies first; a cycle is an error.
    fn order(&mut self, picked: &[String], flows: &[Flow]) -> Vec<usize> {
        let mut wanted = Vec::new();
        for id in picked {
            match self
                .document
                .workflows
                .iter()
                .position(|w| &w.id.value == id)
            {
                Some(index) => wanted.push(index),
                None => {
                    let ids = self.document.workflows.iter().map(|w| w.id.value.as_str());
                    self.errors.push(
                        Diagnostic::error(format!(
                            "`--workflow {id}` is not a workflow of `{}`",
                            self.source.name
                        ))
                        .maybe_help(did_you_mean(id, ids).or_else(|| {
                            Some(format!(
                                "its workflows are {}",
                                self.document
                                    .workflows
                                    .iter()
                                    .map(|w| format!("`{}`", w.id.value))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ))
                        })),
                    );
                }
            }
        }
        if picked.is_empty() {
            wanted = (0..flows.len()).collect();
        }
        let mut order = Vec::new();
        let mut state: HashMap<usize, bool> = HashMap::new();
        for index in wanted {
            self.visit(index, flows, &mut state, &mut order, &mut Vec::new());
        }
        order
    }

    fn visit(
        &mut self,
        index: usize,
        flows: &[Flow],
        state: &mut HashMap<usize, bool>,
        order: &mut Vec<usize>,
        path: &mut Vec<usize>,
    ) {
        match state.get(&index) {
            Some(true) => return,
            Some(false) => {
                let names: Vec<String> = path
                    .iter()
                    .skip_while(|i| **i != index)
                    .chain(std::iter::once(&index))
                    .map(|i| format!("`{}`", self.document.workflows[*i].id.value))
                    .collect();
                let workflow = &self.document.workflows[index];
                let span = workflow
                    .depends_on
                    .first()
                    .map_or(workflow.id.span, |d| d.span);
                self.error(
                    format!(
                        "workflows depend on each other in a cycle: {}",
                        names.join(" → ")
                    ),
                    span,
                    "cycle",
                );
                return;
            }
            None => {}
        }
        state.insert(index, false);
        path.push(index);
        for dependency in &flows[index].depends_on {
            self.visit(*dependency, flows, state, order, path);
        }
        path.pop();
        state.insert(index, true);
        order.push(index);
    }
}

/// Resolves a source's `url` against the document's folder (RFC 3986), when it names a local
/// file.
fn local_path(url: &str, folder: &Path) -> Result<PathBuf, String> {
    if let Some((scheme, _)) = url.split_once(':')
        && scheme.len() > 1
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        if scheme.eq_ignore_ascii_case("file") {
            return url::Url::parse(url)
                .ok()
                .and_then(|u| u.to_file_path().ok())
                .ok_or_else(|| format!("`{url}` is not a file path"));
        }
        return Err(format!("`{url}` is a remote URL"));
    }
    let path = url.split(['#', '?']).next().unwrap_or(url);
    Ok(apiflow::access::normalize(
        &folder.join(percent_decode(path)),
    ))
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// Returns a media type without its parameters, lower-case: `application/json`.
pub(crate) fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn is_json(content_type: &str) -> bool {
    let essence = essence(content_type);
    essence == "application/json" || essence.ends_with("+json")
}

/// Maps where an Arazzo parameter goes to where an OpenAPI parameter is.
pub(crate) fn location_of(location: ParameterIn) -> Location {
    match location {
        // AsyncAPI steps never bind: a channel parameter never meets an operation's.
        ParameterIn::Path | ParameterIn::Channel => Location::Path,
        ParameterIn::Query => Location::Query,
        ParameterIn::Querystring => Location::Querystring,
        ParameterIn::Header => Location::Header,
        ParameterIn::Cookie => Location::Cookie,
    }
}

fn location_name(location: Location) -> &'static str {
    match location {
        Location::Path => "path",
        Location::Query => "query",
        Location::Querystring => "querystring",
        Location::Header => "header",
        Location::Cookie => "cookie",
    }
}

/// Tells whether an input's schema takes text (a `--var` value is then the string as given,
/// not JSON): `type: string`, or no `type` unless its shape or one of the schemas it combines
/// (`oneOf`, `anyOf`, `allOf`) says otherwise.
fn is_text_schema(schema: &serde_json::Value) -> bool {
    if let Some(kind) = schema.get("type") {
        return kind == "string";
    }
    if schema.get("properties").is_some() || schema.get("items").is_some() {
        return false;
    }
    ["oneOf", "anyOf", "allOf"].iter().all(|key| {
        schema
            .get(key)
            .and_then(|v| v.as_array())
            .is_none_or(|branches| branches.iter().all(is_text_schema))
    })
}

/// Tells whether an expression reads the step's HTTP request or response.
fn reads_exchange(expression: &Expression) -> bool {
    matches!(
        expression,
        Expression::Url
            | Expression::Method
            | Expression::StatusCode
            | Expression::Request(_)
            | Expression::Response(_)
    )
}

/// Tells whether OpenAPI says to ignore a parameter: a header named `Accept`, `Content-Type`
/// or `Authorization` (the body, the content negotiation and the security schemes say those).
fn ignored_header(parameter: &apiflow::openapi::Parameter) -> bool {
    parameter.location == Location::Header
        && ["accept", "content-type", "authorization"]
            .contains(&parameter.name.to_ascii_lowercase().as_str())
}

/// Names an operation: its id, or its method and path.
pub(crate) fn operation_name(operation: &Operation) -> Cow<'_, str> {
    match &operation.id {
        Some(id) => Cow::Borrowed(id),
        None => Cow::Owned(format!("{} {}", operation.method, operation.path)),
    }
}

/// Names the step of a diagnostic already collected.
trait ForStep {
    fn for_step(&mut self, step: Option<&Spanned<String>>) -> &mut Self;
}

impl ForStep for Diagnostic {
    fn for_step(&mut self, step: Option<&Spanned<String>>) -> &mut Diagnostic {
        self.step = step.cloned();
        self
    }
}
