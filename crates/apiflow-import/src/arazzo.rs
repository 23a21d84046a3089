//! The Arazzo importer: one apiflow workflow per Arazzo workflow, each operation step a request
//! built from the OpenAPI operation it calls, runtime expressions as templates; whatever has no
//! apiflow equivalent is a warning that points at the Arazzo document.
//!
//! In order: load the document and its OpenAPI descriptions → choose the workflows → name a
//! variable for every input and step output → translate each step (request, parameters, body,
//! credentials, criteria, outputs, actions) → print the YAML. The caller validates the result.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use apiflow::openapi::{Description, Location, Operation};
use apiflow::span::{Source, Span, Spanned};
use apiflow::{Diagnostic, names};
use apiflow_arazzo::expr::{self, Expression, Part, Text};
use apiflow_arazzo::model::{
    Action, ActionKind, ActionOrRef, Criterion, CriterionKind, Document, Parameter, ParameterIn,
    ParameterOrRef, Step, Target, Workflow,
};
use serde_json::Value as Json;

use crate::yaml_out::{Item, Map, Yaml, document};

/// One workflow translated: its file stem, its YAML text and how many steps it has.
#[derive(Debug)]
pub struct Translated {
    /// The Arazzo `workflowId`, used as the file's stem.
    pub stem: String,
    /// The apiflow workflow.
    pub text: String,
    /// How many steps it has.
    pub steps: usize,
}

/// The document and the OpenAPI descriptions its steps call, loaded.
pub struct Loaded {
    /// The Arazzo document.
    pub document: Document,
    /// Its OpenAPI source descriptions, by name.
    pub descriptions: Vec<(String, Description)>,
}

/// Loads an Arazzo document and the OpenAPI descriptions it names. Descriptions must be local
/// files under the document's folder, unless `files` names the file to read for a source
/// description (by its `name`), as `--source NAME=FILE` does.
///
/// # Errors
/// Every problem of the document or of a description, located.
pub fn load(path: &Path, files: &[(String, PathBuf)]) -> Result<Loaded, Vec<Diagnostic>> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|error| vec![apiflow::check::file::cannot_read(path, &error)])?;
    let text = apiflow::format::yaml::decode(&name, bytes).map_err(|d| vec![d])?;
    let source = Source::new(name, text);
    let document = apiflow_arazzo::load::load(&source)?;
    let folder = absolute_folder(path);
    let mut descriptions = Vec::new();
    let mut problems = Vec::new();
    for description in &document.source_descriptions {
        let kind = description.kind.as_ref().map(|k| k.value);
        if matches!(
            kind,
            Some(
                apiflow_arazzo::model::SourceKind::Arazzo
                    | apiflow_arazzo::model::SourceKind::AsyncApi
            )
        ) {
            continue;
        }
        if let Some((_, file)) = files.iter().find(|(n, _)| *n == description.name.value) {
            match Description::load(file, &apiflow::access::FileAccess::default()) {
                Ok(loaded) => descriptions.push((description.name.value.clone(), loaded)),
                Err(diagnostics) => problems.extend(diagnostics),
            }
            continue;
        }
        let url = &description.url.value;
        if url.contains("://") {
            problems.push(
                Diagnostic::error(format!(
                    "source description `{}` is not a local file",
                    description.name.value
                ))
                .at(&source, description.url.span, "a URL")
                .help(format!(
                    "save a copy of the description and give its path with `--source {}=FILE`",
                    description.name.value
                )),
            );
            continue;
        }
        let relative = url.strip_prefix("file:").unwrap_or(url);
        let decoded = percent_encoding::percent_decode_str(relative).decode_utf8_lossy();
        let target = apiflow::access::normalize(&folder.join(decoded.as_ref()));
        if !target.starts_with(&folder) {
            problems.push(
                Diagnostic::error(format!(
                    "source description `{}` is outside the document's folder",
                    description.name.value
                ))
                .at(&source, description.url.span, "outside the folder")
                .help(format!(
                    "keep the descriptions in the document's folder or below it, or name the file with `--source {}=FILE`",
                    description.name.value
                )),
            );
            continue;
        }
        // Read through the document's path as given, so messages name it as the user did.
        let given = apiflow::access::normalize_relative(Path::new(decoded.as_ref())).map_or_else(
            || target.clone(),
            |relative| {
                path.parent()
                    .map_or_else(|| relative.clone(), |parent| parent.join(&relative))
            },
        );
        match Description::load(&given, &apiflow::access::FileAccess::default()) {
            Ok(loaded) => descriptions.push((description.name.value.clone(), loaded)),
            Err(mut diagnostics) => {
                if diagnostics.iter().all(|d| d.source.is_none()) {
                    for diagnostic in &mut diagnostics {
                        if diagnostic.span == Span::default() {
                            *diagnostic = diagnostic.clone().at(
                                &source,
                                description.url.span,
                                "this description",
                            );
                        }
                    }
                }
                problems.extend(diagnostics);
            }
        }
    }
    for (name, _) in files {
        if !document
            .source_descriptions
            .iter()
            .any(|d| d.name.value == *name)
        {
            let names = document
                .source_descriptions
                .iter()
                .map(|d| d.name.value.as_str());
            problems.push(
                Diagnostic::error(format!(
                    "`--source {name}=…`: the document has no source description `{name}`"
                ))
                .maybe_help(apiflow::diagnostic::did_you_mean(name, names)),
            );
        }
    }
    if problems.is_empty() {
        Ok(Loaded {
            document,
            descriptions,
        })
    } else {
        Err(problems)
    }
}

/// Returns the absolute folder of a file, without touching the file system.
fn absolute_folder(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    apiflow::access::normalize(&absolute)
        .parent()
        .map_or_else(PathBuf::new, Path::to_path_buf)
}

/// Translates the chosen workflows (all of them when `only` is `None`).
///
/// # Errors
/// A located error when a step's operation cannot be found or `only` names no workflow.
pub fn translate(
    loaded: &Loaded,
    only: Option<&str>,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Vec<Translated>, Vec<Diagnostic>> {
    let document = &loaded.document;
    let chosen: Vec<&Workflow> = match only {
        None => document.workflows.iter().collect(),
        Some(id) => {
            let Some(workflow) = document.workflow(id) else {
                let ids = document.workflows.iter().map(|w| w.id.value.as_str());
                return Err(vec![
                    Diagnostic::error(format!("`{}` has no workflow `{id}`", document.source.name))
                        .maybe_help(apiflow::diagnostic::did_you_mean(id, ids)),
                ]);
            };
            vec![workflow]
        }
    };
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for workflow in chosen {
        let mut translator = Translator::new(loaded, workflow, warnings);
        match translator.workflow() {
            Ok(_) if translator.steps == 0 => warnings.push(
                Diagnostic::warning(format!(
                    "workflow `{}` has no step the import can write as a request; it is not imported",
                    workflow.id.value
                ))
                .at(&document.source, workflow.id.span, "not imported"),
            ),
            Ok(text) => out.push(Translated {
                stem: workflow.id.value.clone(),
                text,
                steps: translator.steps,
            }),
            Err(mut problems) => errors.append(&mut problems),
        }
    }
    if errors.is_empty() && out.is_empty() {
        errors.push(
            Diagnostic::error(format!(
                "`{}` has no workflow the import can write",
                document.source.name
            ))
            .help(
                "its steps run other workflows or AsyncAPI operations, which the import leaves out",
            ),
        );
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Names that templates already give a meaning to in checks, which a variable must not take.
const RESERVED: &[&str] = &[
    "status",
    "headers",
    "json",
    "body",
    "cookies",
    "duration_ms",
    "timings",
    "true",
    "false",
    "none",
    "loop",
];

/// Where an expression is used: what it may read differs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// A request's parameter, body or credentials: before the response.
    Request,
    /// A check: after the response, with `status`, `headers` and `json`.
    Check,
    /// A workflow output: after the last step.
    Output,
}

struct Translator<'a> {
    loaded: &'a Loaded,
    source: &'a Arc<Source>,
    workflow: &'a Workflow,
    warnings: &'a mut Vec<Diagnostic>,
    /// Arazzo input name → variable.
    inputs: HashMap<String, String>,
    /// (step id, output name) → variable.
    outputs: HashMap<(String, String), String>,
    /// Source descriptions whose server the workflow overrides through an input.
    servers: BTreeSet<String>,
    /// The outputs of steps the import leaves out: (step id, output name), which become
    /// inputs.
    left_out: Vec<(String, String)>,
    steps: usize,
    /// Inputs the steps read that the input schema does not declare.
    undeclared: Vec<String>,
    /// The position of the step being translated: the steps it may read outputs of come before.
    current: Option<usize>,
}

impl<'a> Translator<'a> {
    fn new(
        loaded: &'a Loaded,
        workflow: &'a Workflow,
        warnings: &'a mut Vec<Diagnostic>,
    ) -> Translator<'a> {
        Translator {
            loaded,
            source: &loaded.document.source,
            workflow,
            warnings,
            inputs: HashMap::new(),
            outputs: HashMap::new(),
            servers: BTreeSet::new(),
            left_out: Vec::new(),
            steps: 0,
            current: None,
            undeclared: Vec::new(),
        }
    }

    fn warn(&mut self, span: Span, title: String, label: &str, help: Option<&str>) {
        let mut warning = Diagnostic::warning(title).at(self.source, span, label);
        if let Some(help) = help {
            warning = warning.help(help);
        }
        self.warnings.push(warning);
    }

    /// Builds the whole workflow's YAML.
    fn workflow(&mut self) -> Result<String, Vec<Diagnostic>> {
        let schema = self.input_schema();
        self.name_variables(&schema);
        let mut errors = Vec::new();
        let mut steps = Vec::new();
        for (index, step) in self.workflow.steps.iter().enumerate() {
            self.current = Some(index);
            match self.step(step) {
                Ok(Some(map)) => steps.push(Item {
                    comments: step
                        .description
                        .iter()
                        .flat_map(|d| d.lines().map(str::to_owned))
                        .collect(),
                    value: Yaml::Map(map),
                    spaced: true,
                }),
                Ok(None) => {}
                Err(problem) => errors.push(problem),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        self.steps = steps.len();
        self.current = None;
        self.workflow_actions();
        if !self.workflow.depends_on.is_empty() {
            let span = self.workflow.depends_on[0].span;
            self.warn(
                span,
                format!(
                    "workflow `{}` depends on other workflows, which the import does not run",
                    self.workflow.id.value
                ),
                "not imported",
                Some("run the workflows it depends on first, and pass their outputs as inputs"),
            );
        }

        let mut root = Map::block();
        root.spaced = true;
        let title = self
            .workflow
            .summary
            .clone()
            .unwrap_or_else(|| self.workflow.id.value.clone());
        root.push("name", Yaml::str(title.trim().trim_end_matches('.')));
        let mut description = format!(
            "Imported from workflow `{}` of {}.",
            self.workflow.id.value,
            file_name(&self.source.name)
        );
        if let Some(text) = &self.workflow.description {
            description = format!("{}\n{description}", text.trim());
        }
        root.push("description", Yaml::str(description));
        let inputs = self.inputs_yaml(&schema);
        if !inputs.is_empty() {
            root.push("inputs", Yaml::Map(inputs));
        }
        root.push("steps", Yaml::Seq(steps));
        let outputs = self.workflow_outputs();
        if !outputs.is_empty() {
            root.push("outputs", Yaml::Map(outputs));
        }
        Ok(document(&[], &root))
    }

    /// Returns the workflow's input schema, with a `$ref` to `components.inputs` resolved.
    fn input_schema(&self) -> Json {
        let Some(inputs) = &self.workflow.inputs else {
            return Json::Null;
        };
        let mut schema = inputs.value.clone();
        if let Some(reference) = schema.get("$ref").and_then(Json::as_str)
            && let Some(name) = reference.strip_prefix("#/components/inputs/")
            && let Some((_, component)) = self
                .loaded
                .document
                .components
                .inputs
                .iter()
                .find(|(n, _)| n.value == name)
        {
            schema = component.clone();
        }
        schema
    }

    /// Gives every input and every step output a variable name, unique in the workflow.
    fn name_variables(&mut self, schema: &Json) {
        let mut taken: BTreeSet<String> = RESERVED.iter().map(|s| (*s).to_owned()).collect();
        if let Some(properties) = schema.get("properties").and_then(Json::as_object) {
            for name in properties.keys() {
                let var = unique(&identifier(name), &mut taken);
                self.inputs.insert(name.clone(), var);
            }
        }
        // Inputs the steps read that the schema does not declare become inputs too.
        let index = self
            .loaded
            .document
            .workflows
            .iter()
            .position(|w| w.id.value == self.workflow.id.value);
        let mut used = BTreeSet::new();
        if let Some(json) = index.and_then(|i| self.loaded.document.json()["workflows"].get(i)) {
            inputs_read(json, &mut used);
        }
        for name in used {
            if !self.inputs.contains_key(&name) {
                let var = unique(&identifier(&name), &mut taken);
                self.inputs.insert(name.clone(), var);
                self.undeclared.push(name);
            }
        }
        let mut counts: HashMap<String, usize> = HashMap::new();
        let mut all: Vec<(String, String)> = Vec::new();
        for step in &self.workflow.steps {
            let names = step
                .outputs
                .iter()
                .map(|(name, _)| name.value.clone())
                .chain(
                    step.apiflow
                        .iter()
                        .flat_map(|x| x.extract.iter().map(|(name, _)| name.value.clone())),
                );
            let runs = matches!(
                step.target,
                Target::OperationId(_) | Target::OperationPath(_)
            );
            for name in names {
                *counts.entry(identifier(&name)).or_default() += 1;
                if !runs {
                    self.left_out.push((step.id.value.clone(), name.clone()));
                }
                all.push((step.id.value.clone(), name));
            }
        }
        for (step, name) in all {
            let plain = identifier(&name);
            let wanted = if counts.get(&plain) == Some(&1) {
                plain
            } else {
                identifier(&format!("{step}_{name}"))
            };
            let var = unique(&wanted, &mut taken);
            self.outputs.insert((step, name), var);
        }
        self.servers.clear();
        for step in &self.workflow.steps {
            if let Ok(Some((name, _))) = self.operation_of(step) {
                self.servers.insert(name.to_owned());
            }
        }
    }

    /// Writes `inputs:`: one per property of the input schema, and one per server overridden.
    fn inputs_yaml(&mut self, schema: &Json) -> Map {
        let mut map = Map::block();
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Json::as_array)
            .map(|r| r.iter().filter_map(Json::as_str).collect())
            .unwrap_or_default();
        if let Some(properties) = schema.get("properties").and_then(Json::as_object) {
            for (name, property) in properties {
                let var = self.inputs[name].clone();
                let mut entry = Map::flow();
                if let Some(default) = property.get("default") {
                    match default {
                        Json::String(text) => {
                            entry.push("default", Yaml::str(escape_template(text)));
                        }
                        Json::Number(_) | Json::Bool(_) => {
                            entry.push("default", Yaml::str(default.to_string()));
                        }
                        _ => {
                            let span = self.schema_span(&format!(
                                "/properties/{}/default",
                                pointer_escape(name)
                            ));
                            self.warn(
                                span,
                                format!("the default of input `{name}` is not a string, a number or a boolean"),
                                "not imported",
                                Some("apiflow inputs are text: give the value with `--var`"),
                            );
                        }
                    }
                } else if !required.contains(&name.as_str()) {
                    // An optional input without a default: apiflow inputs without one are
                    // required, so an empty default keeps it optional.
                    entry.push("default", Yaml::str(""));
                }
                if property.get("format").and_then(Json::as_str) == Some("password") {
                    entry.push("secret", Yaml::Bool(true));
                }
                if let Some(description) = property.get("description").and_then(Json::as_str) {
                    entry.push("description", Yaml::str(description.trim()));
                }
                if entry.is_empty() {
                    map.push(var, Yaml::Null);
                } else {
                    map.push(var, Yaml::Map(entry));
                }
            }
        }
        for name in &self.undeclared {
            let mut entry = Map::flow();
            entry.push(
                "description",
                Yaml::str(format!(
                    "read as `$inputs.{name}`, which the workflow's `inputs` schema does not declare"
                )),
            );
            map.push(self.inputs[name].clone(), Yaml::Map(entry));
        }
        for (step, output) in &self.left_out {
            let var = self.outputs[&(step.clone(), output.clone())].clone();
            let mut entry = Map::flow();
            entry.push(
                "description",
                Yaml::str(format!(
                    "output `{output}` of step `{step}`, which the import leaves out"
                )),
            );
            map.push(var, Yaml::Map(entry));
        }
        for name in self.servers.clone() {
            let mut entry = Map::flow();
            entry.push("default", Yaml::str(""));
            entry.push(
                "description",
                Yaml::str(format!(
                    "a base URL for every operation of `{name}`, instead of the servers its description names"
                )),
            );
            map.push(server_input(&name), Yaml::Map(entry));
        }
        map
    }

    fn schema_span(&self, pointer: &str) -> Span {
        self.loaded
            .document
            .span_of(&format!("{}{pointer}", self.workflow.inputs_pointer))
    }

    /// Finds the description and the operation a step calls; `None` for a step that calls no
    /// operation.
    fn operation_of(&self, step: &Step) -> Result<Option<(&'a str, &'a Operation)>, Diagnostic> {
        let descriptions = &self.loaded.descriptions;
        match &step.target {
            Target::OperationId(id) => {
                let (wanted, text) = match id.value.strip_prefix("$sourceDescriptions.") {
                    Some(rest) => match rest.split_once('.') {
                        Some((name, op)) => (Some(name), op),
                        None => (None, rest),
                    },
                    None => (None, id.value.as_str()),
                };
                for (name, description) in descriptions {
                    if wanted.is_some_and(|w| w != name) {
                        continue;
                    }
                    if let Some(operation) = description.operation_by_id(text) {
                        return Ok(Some((name.as_str(), operation)));
                    }
                }
                let known = descriptions
                    .iter()
                    .filter(|(name, _)| wanted.is_none_or(|w| w == name))
                    .flat_map(|(_, d)| d.operation_ids());
                let title = match wanted {
                    Some(name) if descriptions.iter().any(|(n, _)| n == name) => {
                        format!("source description `{name}` has no operation `{text}`")
                    }
                    Some(name) => format!("no OpenAPI source description is named `{name}`"),
                    None => format!("no source description has an operation `{text}`"),
                };
                Err(Diagnostic::error(title)
                    .at(self.source, id.span, "unknown operation")
                    .in_step(Some(&step.id))
                    .maybe_help(apiflow::diagnostic::did_you_mean(text, known)))
            }
            Target::OperationPath(path) => {
                // `{$sourceDescriptions.NAME.url}#…` as the specification writes it; also
                // without braces, without `.url`, or the source's own `url`.
                let parsed = path.value.split_once('#').and_then(|(base, pointer)| {
                    let named = base
                        .strip_prefix('{')
                        .and_then(|b| b.strip_suffix('}'))
                        .unwrap_or(base)
                        .strip_prefix("$sourceDescriptions.")
                        .map(|r| r.strip_suffix(".url").unwrap_or(r));
                    let name = match named {
                        Some(name) => name,
                        None => self
                            .loaded
                            .document
                            .source_descriptions
                            .iter()
                            .find(|s| s.url.value == base)?
                            .name
                            .value
                            .as_str(),
                    };
                    Some((name, pointer))
                });
                let Some((name, pointer)) = parsed else {
                    return Err(Diagnostic::error("this `operationPath` does not name a source description and a JSON Pointer")
                        .at(self.source, path.span, "cannot read")
                        .in_step(Some(&step.id))
                        .help("write `{$sourceDescriptions.NAME.url}#/paths/~1pets/get`"));
                };
                let Some((name, description)) = descriptions.iter().find(|(n, _)| n == name) else {
                    return Err(Diagnostic::error(format!(
                        "no OpenAPI source description is named `{name}`"
                    ))
                    .at(self.source, path.span, "unknown source description")
                    .in_step(Some(&step.id)));
                };
                let pointer = percent_encoding::percent_decode_str(pointer).decode_utf8_lossy();
                match description.operation_at(&pointer) {
                    Ok(operation) => Ok(Some((name.as_str(), operation))),
                    Err(problem) => Err(Diagnostic::error(format!(
                        "`{pointer}` is not an operation of `{name}`"
                    ))
                    .at(self.source, path.span, "not an operation")
                    .in_step(Some(&step.id))
                    .help(match problem {
                        apiflow::openapi::PointerProblem::NotFound { nearest } => {
                            format!("the nearest is `{nearest}`")
                        }
                        apiflow::openapi::PointerProblem::NotAnOperation { what } => {
                            format!("it names {what}")
                        }
                    })),
                }
            }
            Target::WorkflowId(_) | Target::AsyncApi(_) => Ok(None),
        }
    }

    /// Translates one step; `None` when it cannot be imported (and says why).
    fn step(&mut self, step: &'a Step) -> Result<Option<Map>, Diagnostic> {
        let Some((source_name, operation)) = self.operation_of(step)? else {
            let (span, what) = match &step.target {
                Target::WorkflowId(id) => (id.span, format!("runs workflow `{}`", id.value)),
                _ => (step.span, "is an AsyncAPI step".to_owned()),
            };
            self.warn(
                span,
                format!(
                    "step `{}` {what}, which the import cannot write as a request; it is left out{}",
                    step.id.value,
                    if step.outputs.is_empty() { "" } else { ", and its outputs become inputs" }
                ),
                "left out",
                Some("import that workflow too and call it with `uses:`, passing its inputs with `with:`"),
            );
            return Ok(None);
        };
        let mut map = Map::block();
        map.push("name", Yaml::str(step.id.value.clone()));
        let mut request = Map::block();
        request.push("method", Yaml::str(operation.method.clone()));

        // Parameters: the workflow's, overridden by the step's of the same name and place.
        let mut parameters: Vec<Parameter> = Vec::new();
        for parameter in self.workflow.parameters.iter().chain(&step.parameters) {
            if let Some(parameter) = self.resolve_parameter(parameter) {
                parameters.retain(|p| {
                    !(p.name.value == parameter.name.value
                        && p.location.as_ref().map(|l| l.value)
                            == parameter.location.as_ref().map(|l| l.value))
                });
                parameters.push(parameter);
            }
        }
        let mut path = operation.path.clone();
        let mut query = Map::block();
        let mut headers = Map::block();
        let mut cookies: Vec<String> = Vec::new();
        for parameter in &parameters {
            let location = match &parameter.location {
                Some(location) => Some(location.value),
                None => operation
                    .parameters
                    .iter()
                    .find(|p| p.name == parameter.name.value)
                    .map(|p| match p.location {
                        Location::Path => ParameterIn::Path,
                        Location::Query => ParameterIn::Query,
                        Location::Querystring => ParameterIn::Querystring,
                        Location::Header => ParameterIn::Header,
                        Location::Cookie => ParameterIn::Cookie,
                    }),
            };
            let Some(template) = self.scalar_template(&parameter.value, Place::Request, &step.id)
            else {
                continue;
            };
            match location {
                Some(ParameterIn::Path) => {
                    let placeholder = format!("{{{}}}", parameter.name.value);
                    if path.contains(&placeholder) {
                        path = path.replace(&placeholder, &url_path_template(&template));
                    } else {
                        self.warn(
                            parameter.name.span,
                            format!(
                                "the path `{}` has no parameter `{}`; it is not sent",
                                operation.path, parameter.name.value
                            ),
                            "not in the path",
                            None,
                        );
                    }
                }
                Some(ParameterIn::Query) => {
                    query.push(parameter.name.value.clone(), Yaml::str(template));
                }
                Some(ParameterIn::Header) => {
                    headers.push(parameter.name.value.clone(), Yaml::str(template));
                }
                Some(ParameterIn::Cookie) => {
                    cookies.push(format!("{}={template}", parameter.name.value));
                }
                Some(ParameterIn::Querystring | ParameterIn::Channel) | None => {
                    self.warn(
                        parameter.span,
                        format!(
                            "parameter `{}` has no place the import can send it to",
                            parameter.name.value
                        ),
                        "not imported",
                        Some("give it `in: path`, `query`, `header` or `cookie`"),
                    );
                }
            }
        }
        for parameter in &operation.parameters {
            let placeholder = format!("{{{}}}", parameter.name);
            if parameter.location == Location::Path && path.contains(&placeholder) {
                self.warn(
                    step.id.span,
                    format!(
                        "step `{}` gives no value for the path parameter `{}` of `{}`",
                        step.id.value, parameter.name, operation.path
                    ),
                    "incomplete URL",
                    Some("add it to the step's `parameters` with `in: path`"),
                );
            }
        }
        if !cookies.is_empty() {
            headers.push("Cookie", Yaml::str(cookies.join("; ")));
        }
        let server = operation
            .servers
            .first()
            .map_or_else(String::new, apiflow::openapi::Server::resolve);
        let server = server.trim_end_matches('/');
        let url = format!(
            "{{{{ {} or '{}' }}}}{path}",
            server_input(source_name),
            server.replace('\\', "\\\\").replace('\'', "\\'")
        );
        request.push("url", Yaml::str(url));
        if !query.is_empty() {
            request.push("query", Yaml::Map(query));
        }
        self.credentials(step, &mut request, &mut headers);
        let body = self.body(step, operation, &mut headers);
        if !headers.is_empty() {
            request.push("headers", Yaml::Map(headers));
        }
        if let Some((key, value)) = body {
            request.push(key, value);
        }
        self.extension_request(step, &mut request);
        if let Some(timeout) = &step.timeout {
            request.push("timeout", Yaml::str(format!("{}ms", timeout.value)));
        }
        map.push("request", Yaml::Map(request));

        if let Some(retry) = self.retry(step) {
            map.push("retry", Yaml::Map(retry));
        }
        let expect = self.expect(step);
        if !expect.is_empty() {
            map.push("expect", Yaml::Map(expect));
        }
        let extract = self.extract(step);
        if !extract.is_empty() {
            map.push("extract", Yaml::Map(extract));
        }
        self.other_actions(step);
        let position = self
            .workflow
            .steps
            .iter()
            .position(|s| s.id.value == step.id.value);
        for dependency in &step.depends_on {
            let earlier = self
                .workflow
                .steps
                .iter()
                .position(|s| s.id.value == dependency.value)
                .zip(position)
                .is_some_and(|(d, p)| d < p);
            if !earlier {
                self.warn(
                    dependency.span,
                    format!(
                        "step `{}` depends on `{}`, which does not come before it; apiflow runs steps in the order written",
                        step.id.value, dependency.value
                    ),
                    "not imported",
                    Some("move the step after the ones it depends on"),
                );
            }
        }
        Ok(Some(map))
    }

    /// Resolves a `$components.parameters` reference, with its `value` override.
    fn resolve_parameter(&mut self, parameter: &ParameterOrRef) -> Option<Parameter> {
        match parameter {
            ParameterOrRef::Parameter(p) => Some(p.clone()),
            ParameterOrRef::Reference(reference) => {
                let name = reference
                    .reference
                    .value
                    .strip_prefix("$components.parameters.")?;
                let found = self
                    .loaded
                    .document
                    .components
                    .parameters
                    .iter()
                    .find(|(n, _)| n.value == name)
                    .map(|(_, p)| p.clone());
                let Some(mut component) = found else {
                    self.warn(
                        reference.reference.span,
                        format!(
                            "`components.parameters` has no `{name}`; the parameter is not sent"
                        ),
                        "unknown parameter",
                        None,
                    );
                    return None;
                };
                if let Some(value) = &reference.value {
                    component.value = value.clone();
                }
                Some(component)
            }
        }
    }

    /// Writes `auth:` (or a header or query parameter) for the step's `x-security`.
    fn credentials(&mut self, step: &Step, request: &mut Map, headers: &mut Map) {
        for security in &step.security {
            let scheme = match (&security.scheme, &security.scheme_name) {
                (Some(scheme), _) => Some(scheme.value.clone()),
                (None, Some(name)) => self
                    .loaded
                    .descriptions
                    .iter()
                    .flat_map(|(_, d)| d.security_schemes.iter())
                    .find(|(n, _)| *n == name.value)
                    .map(|(_, s)| s.clone()),
                (None, None) => None,
            };
            let Some(scheme) = scheme else {
                self.warn(
                    security.span,
                    "the security scheme of this `x-security` entry is not found; no credentials are sent".to_owned(),
                    "not imported",
                    Some("name a scheme of the description's `components.securitySchemes`"),
                );
                continue;
            };
            let mut values: HashMap<&str, String> = HashMap::new();
            for (name, value) in &security.values {
                if let Some(template) = self.scalar_template(value, Place::Request, &step.id) {
                    values.insert(name.value.as_str(), template);
                }
            }
            let kind = scheme
                .get("type")
                .and_then(Json::as_str)
                .unwrap_or_default();
            let http = scheme
                .get("scheme")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_ascii_lowercase();
            match (kind, http.as_str()) {
                ("http", "basic") => {
                    let mut basic = Map::flow();
                    basic.push("username", Yaml::str(values.get("username").cloned().unwrap_or_default()));
                    basic.push("password", Yaml::str(values.get("password").cloned().unwrap_or_default()));
                    let mut auth = Map::flow();
                    auth.push("basic", Yaml::Map(basic));
                    request.push("auth", Yaml::Map(auth));
                }
                ("http", "bearer") | ("oauth2" | "openIdConnect", _) => {
                    let token = values
                        .get("token")
                        .or_else(|| values.get("accessToken"))
                        .cloned()
                        .unwrap_or_default();
                    let mut auth = Map::flow();
                    auth.push("bearer", Yaml::str(token));
                    request.push("auth", Yaml::Map(auth));
                }
                ("apiKey", _) => {
                    let name = scheme.get("name").and_then(Json::as_str).unwrap_or_default();
                    let value = values.get("value").or_else(|| values.get("apiKey")).cloned().unwrap_or_default();
                    match scheme.get("in").and_then(Json::as_str) {
                        Some("header") => headers.push(name, Yaml::str(value)),
                        Some("cookie") => headers.push("Cookie", Yaml::str(format!("{name}={value}"))),
                        _ => {
                            self.warn(
                                security.span,
                                format!("an API key in the query (`{name}`) is not imported"),
                                "not imported",
                                Some("add it to the step's `parameters` with `in: query`"),
                            );
                        }
                    }
                }
                _ => self.warn(
                    security.span,
                    format!("security schemes of type `{kind}` {http} are not imported; no credentials are sent"),
                    "not imported",
                    None,
                ),
            }
        }
    }

    /// Writes the body (`json:`, `form:` or `body:`), and its `Content-Type` when needed.
    fn body(
        &mut self,
        step: &Step,
        operation: &Operation,
        headers: &mut Map,
    ) -> Option<(&'static str, Yaml)> {
        let body = step.request_body.as_ref()?;
        let content_type = body
            .content_type
            .as_ref()
            .map(|c| c.value.clone())
            .or_else(|| {
                operation
                    .request_body
                    .as_ref()
                    .and_then(|b| b.content_types.first().cloned())
            })
            .unwrap_or_else(|| "application/json".to_owned());
        if let Some(replacement) = body.replacements.first() {
            self.warn(
                replacement.target.span,
                "payload `replacements` are not imported".to_owned(),
                "not imported",
                Some("write the replaced values into `payload` itself"),
            );
        }
        let payload = body.payload.as_ref()?;
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let is_json = essence == "application/json" || essence.ends_with("+json");
        if essence == "application/x-www-form-urlencoded" && payload.value.is_object() {
            let mut form = Map::block();
            for (name, value) in payload.value.as_object().into_iter().flatten() {
                let spanned = Spanned::new(
                    value.clone(),
                    self.loaded.document.span_of(&format!(
                        "{}/requestBody/payload/{}",
                        step.pointer,
                        pointer_escape(name)
                    )),
                );
                if let Some(template) = self.scalar_template(&spanned, Place::Request, &step.id) {
                    form.push(name.clone(), Yaml::str(template));
                }
            }
            return Some(("form", Yaml::Map(form)));
        }
        if is_json && !payload.value.is_string() {
            if essence != "application/json" {
                headers.push("Content-Type", Yaml::str(content_type));
            }
            let value = self.json_template(
                &payload.value,
                &format!("{}/requestBody/payload", step.pointer),
                &step.id,
            );
            return Some(("json", value));
        }
        if !payload.value.is_string() {
            self.warn(
                payload.span,
                format!("a `{content_type}` payload that is not text is not imported"),
                "not imported",
                Some("write the payload as a string"),
            );
            return None;
        }
        headers.push("Content-Type", Yaml::str(content_type));
        let template = self.scalar_template(payload, Place::Request, &step.id)?;
        Some(("body", Yaml::str(template)))
    }

    /// Translates a JSON payload, strings as templates (a whole expression keeps its type).
    fn json_template(&mut self, value: &Json, pointer: &str, step: &Spanned<String>) -> Yaml {
        match value {
            Json::String(_) => {
                let spanned = Spanned::new(value.clone(), self.loaded.document.span_of(pointer));
                self.scalar_template(&spanned, Place::Request, step)
                    .map_or(Yaml::Null, Yaml::str)
            }
            Json::Array(items) => Yaml::seq(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.json_template(item, &format!("{pointer}/{i}"), step))
                    .collect::<Vec<_>>(),
            ),
            Json::Object(entries) => {
                let mut map = Map::block();
                for (key, item) in entries {
                    let value = self.json_template(
                        item,
                        &format!("{pointer}/{}", pointer_escape(key)),
                        step,
                    );
                    map.push(key.clone(), value);
                }
                Yaml::Map(map)
            }
            other => Yaml::from_json(other),
        }
    }

    /// Translates a value that may hold runtime expressions into one template string; `None`
    /// (with a warning) when it cannot be.
    fn scalar_template(
        &mut self,
        value: &Spanned<Json>,
        place: Place,
        step: &Spanned<String>,
    ) -> Option<String> {
        match &value.value {
            Json::String(text) => match expr::parse_text(text) {
                Ok(Text::Literal(text)) => Some(escape_template(&text)),
                Ok(Text::Whole(expression)) => match self.expression(&expression, place) {
                    Ok(code) => Some(format!("{{{{ {code} }}}}")),
                    Err(why) => {
                        self.warn(
                            value.span,
                            format!("step `{}`: {why}; the value is left out", step.value),
                            "not imported",
                            None,
                        );
                        None
                    }
                },
                Ok(Text::Parts(parts)) => {
                    let mut out = String::new();
                    for part in parts {
                        match part {
                            Part::Literal(text) => out.push_str(&escape_template(&text)),
                            Part::Expr(expression) => match self.expression(&expression, place) {
                                Ok(code) => {
                                    out.push_str("{{ ");
                                    out.push_str(&code);
                                    out.push_str(" }}");
                                }
                                Err(why) => {
                                    self.warn(
                                        value.span,
                                        format!(
                                            "step `{}`: {why}; the value is left out",
                                            step.value
                                        ),
                                        "not imported",
                                        None,
                                    );
                                    return None;
                                }
                            },
                        }
                    }
                    Some(out)
                }
                Err(error) => {
                    self.warn(
                        value.span,
                        format!("step `{}`: {}", step.value, error.message),
                        "not imported",
                        None,
                    );
                    None
                }
            },
            Json::Number(n) => Some(n.to_string()),
            Json::Bool(b) => Some(b.to_string()),
            Json::Null => Some(String::new()),
            Json::Array(_) | Json::Object(_) => {
                self.warn(
                    value.span,
                    "a list or an object here is not imported: the import writes text values only"
                        .to_owned(),
                    "not imported",
                    None,
                );
                None
            }
        }
    }

    /// Translates a runtime expression into a template expression, or says why it cannot.
    fn expression(&self, expression: &Expression, place: Place) -> Result<String, String> {
        let (base, pointer) = match expression {
            Expression::Inputs { name, pointer } => {
                let var = self
                    .inputs
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| identifier(name));
                (var, pointer.as_deref())
            }
            Expression::Steps {
                step,
                output,
                pointer,
            } => {
                let Some(var) = self.outputs.get(&(step.clone(), output.clone())) else {
                    return Err(if self.workflow.step(step).is_some() {
                        format!("`{expression}`: step `{step}` has no output `{output}`")
                    } else {
                        format!("`{expression}`: the workflow has no step `{step}`")
                    });
                };
                let position = self.workflow.steps.iter().position(|s| s.id.value == *step);
                if let (Some(current), Some(position), false) =
                    (self.current, position, place == Place::Output)
                    && position >= current
                    && !(position == current && place == Place::Check)
                {
                    return Err(format!(
                        "`{expression}`: step `{step}` does not run before this one"
                    ));
                }
                (var.clone(), pointer.as_deref())
            }
            Expression::StatusCode if place == Place::Check => ("status".to_owned(), None),
            Expression::Response(expr::Source::Body(pointer)) if place == Place::Check => {
                ("json".to_owned(), pointer.as_deref())
            }
            Expression::Response(expr::Source::Header(name)) if place == Place::Check => (
                format!(
                    "headers['{}']",
                    name.to_ascii_lowercase().replace('\'', "\\'")
                ),
                None,
            ),
            _ => {
                return Err(format!(
                    "`{expression}` has no equivalent in an apiflow template {}",
                    match place {
                        Place::Request => "of a request",
                        Place::Check => "of a check",
                        Place::Output => "of an output",
                    }
                ));
            }
        };
        Ok(match pointer {
            Some(pointer) => format!("{base}{}", pointer_subscripts(pointer)),
            None => base,
        })
    }

    /// Writes request keys from `x-apiflow`: `follow_redirects`, `stop_at`, `form_from`.
    fn extension_request(&mut self, step: &Step, request: &mut Map) {
        let Some(extension) = &step.apiflow else {
            return;
        };
        if let Some(follow) = &extension.follow_redirects {
            request.push("follow_redirects", Yaml::Bool(follow.value));
        }
        if let Some(stop_at) = &extension.stop_at {
            let value = Spanned::new(Json::String(stop_at.value.clone()), stop_at.span);
            if let Some(template) = self.scalar_template(&value, Place::Request, &step.id) {
                request.push("stop_at", Yaml::str(template));
            }
        }
        if let Some(form_from) = &extension.form_from {
            request.push("form_from", Yaml::from_json(&form_from.value));
        }
    }

    /// Writes `expect:` from `successCriteria`.
    fn expect(&mut self, step: &Step) -> Map {
        let mut expect = Map::block();
        let mut statuses: Vec<u16> = Vec::new();
        let mut checks: Vec<Yaml> = Vec::new();
        for criterion in &step.success_criteria {
            match self.criterion(criterion, &mut statuses) {
                Ok(Some(check)) => checks.push(Yaml::str(check)),
                Ok(None) => {}
                Err(why) => self.warn(
                    criterion.condition.span,
                    format!(
                        "step `{}`: {why}; the criterion is not imported",
                        step.id.value
                    ),
                    "not imported",
                    Some("check it by hand after the import, in `expect.checks`"),
                ),
            }
        }
        match statuses.as_slice() {
            [] => {}
            [one] => expect.push("status", Yaml::Number(one.to_string())),
            _ => {
                // Several `$statusCode ==` criteria must all hold: only one status can.
                for status in &statuses {
                    checks.push(Yaml::str(format!("status == {status}")));
                }
            }
        }
        if !checks.is_empty() {
            expect.push(
                "checks",
                Yaml::Seq(
                    checks
                        .into_iter()
                        .map(|value| Item {
                            comments: Vec::new(),
                            value,
                            spaced: false,
                        })
                        .collect(),
                ),
            );
        }
        expect
    }

    /// Translates one criterion: a status (pushed to `statuses`), or a check expression.
    fn criterion(
        &self,
        criterion: &Criterion,
        statuses: &mut Vec<u16>,
    ) -> Result<Option<String>, String> {
        match &criterion.kind.value {
            CriterionKind::Simple => {
                let condition = criterion.condition.value.trim();
                if let Some(status) = condition
                    .strip_prefix("$statusCode")
                    .map(str::trim_start)
                    .and_then(|rest| rest.strip_prefix("=="))
                    .map(str::trim)
                    .and_then(|rest| rest.parse::<u16>().ok())
                {
                    statuses.push(status);
                    return Ok(None);
                }
                let parsed = apiflow_arazzo::condition::parse(condition).map_err(|e| e.message)?;
                parsed
                    .to_template(&|expression| self.expression(expression, Place::Check))
                    .map(Some)
            }
            CriterionKind::Regex => {
                let context = criterion
                    .context
                    .as_ref()
                    .ok_or("a regex criterion needs a `context`")?;
                let context = expr::parse(&context.value).map_err(|e| e.message)?;
                let subject = self.expression(&context, Place::Check)?;
                regex_check(&criterion.condition.value, &subject, &|expression| {
                    self.expression(expression, Place::Check)
                })
                .map(Some)
            }
            CriterionKind::JsonPath { .. } => {
                let context = criterion
                    .context
                    .as_ref()
                    .ok_or("a JSONPath criterion needs a `context`")?;
                let context = expr::parse(&context.value).map_err(|e| e.message)?;
                let subject = self.expression(&context, Place::Check)?;
                jsonpath_check(&criterion.condition.value, &subject, &|expression| {
                    self.expression(expression, Place::Check)
                })
                .map(Some)
            }
            CriterionKind::XPath { .. } => Err("XPath criteria are not supported".to_owned()),
        }
    }

    /// Writes `extract:` from the step's outputs and `x-apiflow.extract`.
    fn extract(&mut self, step: &Step) -> Map {
        let mut extract = Map::block();
        if let Some(extension) = &step.apiflow {
            for (name, source) in &extension.extract {
                let var = self.outputs[&(step.id.value.clone(), name.value.clone())].clone();
                extract.push(var, Yaml::from_json(&source.value));
            }
        }
        for (name, value) in &step.outputs {
            let extracted = step
                .apiflow
                .as_ref()
                .is_some_and(|x| x.extract.iter().any(|(n, _)| n.value == name.value));
            if extracted {
                self.warn(
                    name.span,
                    format!(
                        "step `{}`: output `{}` is also an `x-apiflow.extract` name; the extract is kept",
                        step.id.value, name.value
                    ),
                    "not imported",
                    None,
                );
                continue;
            }
            let var = self.outputs[&(step.id.value.clone(), name.value.clone())].clone();
            match expr::parse(&value.value) {
                Ok(expression) => match capture(&expression) {
                    Some(source) => extract.push(var, source),
                    None => match self.expression(&expression, Place::Check) {
                        Ok(code) => {
                            let mut map = Map::flow();
                            map.push("expr", Yaml::str(code));
                            extract.push(var, Yaml::Map(map));
                        }
                        Err(why) => self.warn(
                            value.span,
                            format!("output `{}` of step `{}`: {why}", name.value, step.id.value),
                            "not imported",
                            None,
                        ),
                    },
                },
                Err(error) => self.warn(
                    value.span,
                    format!(
                        "output `{}` of step `{}`: {}",
                        name.value, step.id.value, error.message
                    ),
                    "not imported",
                    None,
                ),
            }
        }
        extract
    }

    /// The failure actions that apply to a step: its own, then the workflow's.
    fn failure_actions(&self, step: &'a Step) -> Vec<Action> {
        self.actions(
            step.on_failure.iter().chain(&self.workflow.failure_actions),
            false,
        )
    }

    fn actions<'b>(
        &self,
        list: impl Iterator<Item = &'b ActionOrRef>,
        success: bool,
    ) -> Vec<Action> {
        let components = &self.loaded.document.components;
        list.filter_map(|action| match action {
            ActionOrRef::Action(a) => Some(a.clone()),
            ActionOrRef::Reference(reference) => {
                let (prefix, pool) = if success {
                    ("$components.successActions.", &components.success_actions)
                } else {
                    ("$components.failureActions.", &components.failure_actions)
                };
                let name = reference.reference.value.strip_prefix(prefix)?;
                pool.iter()
                    .find(|(n, _)| n.value == name)
                    .map(|(_, a)| a.clone())
            }
        })
        .collect()
    }

    /// Writes `retry:` for the first `retry` failure action whose criteria translate.
    fn retry(&mut self, step: &'a Step) -> Option<Map> {
        let action = self
            .failure_actions(step)
            .into_iter()
            .find(|a| a.kind.value == ActionKind::Retry)?;
        let mut conditions = Vec::new();
        for criterion in &action.criteria {
            let mut statuses = Vec::new();
            match self.criterion(criterion, &mut statuses) {
                Ok(check) => {
                    conditions.extend(statuses.iter().map(|s| format!("status == {s}")));
                    conditions.extend(check);
                }
                Err(why) => {
                    self.warn(
                        criterion.condition.span,
                        format!(
                            "the `retry` action `{}` of step `{}` is not imported: {why}",
                            action.name.value, step.id.value
                        ),
                        "not imported",
                        None,
                    );
                    return None;
                }
            }
        }
        let mut retry = Map::flow();
        let limit = action.retry_limit.as_ref().map_or(1, |l| l.value);
        retry.push("attempts", Yaml::Number((limit + 1).min(1000).to_string()));
        if let Some(after) = &action.retry_after {
            let millis = (after.value * 1000.0).round();
            if (0.0..=86_400_000.0).contains(&millis) {
                retry.push("delay", Yaml::str(format!("{millis}ms")));
            } else {
                self.warn(
                    after.span,
                    format!(
                        "`retryAfter: {}` is not a delay apiflow takes; the default delay is used",
                        after.value
                    ),
                    "not imported",
                    Some("give a number of seconds between 0 and 86400"),
                );
            }
        }
        // Arazzo retries while the action's criteria hold; apiflow repeats until its
        // expression holds.
        let until = if conditions.is_empty() {
            "false".to_owned()
        } else {
            format!("not ({})", conditions.join(" and "))
        };
        retry.push("until", Yaml::str(until));
        Some(retry)
    }

    /// Warns about every action but a step's first translated `retry`.
    fn other_actions(&mut self, step: &'a Step) {
        let mut retried = false;
        let failure = self.failure_actions(step);
        let success = self.actions(step.on_success.iter(), true);
        for (action, on) in failure
            .iter()
            .map(|a| (a, "onFailure"))
            .chain(success.iter().map(|a| (a, "onSuccess")))
        {
            if action.kind.value == ActionKind::Retry && !retried && on == "onFailure" {
                retried = true;
                continue;
            }
            let what = match action.kind.value {
                ActionKind::End => "`end`",
                ActionKind::Goto => "`goto`",
                ActionKind::Retry => "a second `retry`",
            };
            self.warn(
                action.kind.span,
                format!(
                    "step `{}`: the {on} action `{}` ({what}) has no equivalent in an imported workflow and is left out",
                    step.id.value, action.name.value
                ),
                "left out",
                Some("apiflow runs the steps in order and stops at the first failure; `next:` jumps to a step"),
            );
        }
    }

    /// Warns about the workflow's own `successActions` (failure actions apply to each step).
    fn workflow_actions(&mut self) {
        let actions = self.actions(self.workflow.success_actions.iter(), true);
        for action in actions {
            self.warn(
                action.kind.span,
                format!(
                    "the workflow's success action `{}` has no equivalent in an imported workflow and is left out",
                    action.name.value
                ),
                "left out",
                None,
            );
        }
    }

    /// Writes `outputs:` from the workflow's outputs.
    fn workflow_outputs(&mut self) -> Map {
        let mut map = Map::block();
        for (name, value) in &self.workflow.outputs {
            match expr::parse(&value.value)
                .map_err(|e| e.message)
                .and_then(|e| self.expression(&e, Place::Output))
            {
                Ok(code) => map.push(
                    identifier(&name.value),
                    Yaml::str(format!("{{{{ {code} }}}}")),
                ),
                Err(why) => self.warn(
                    value.span,
                    format!("workflow output `{}`: {why}", name.value),
                    "not imported",
                    None,
                ),
            }
        }
        map
    }
}

/// Returns the capture source an output expression reads from the response, when it is one.
fn capture(expression: &Expression) -> Option<Yaml> {
    match expression {
        Expression::Response(expr::Source::Body(Some(pointer))) => {
            Some(Yaml::str(pointer_jsonpath(pointer)))
        }
        Expression::Response(expr::Source::Body(None)) => {
            let mut map = Map::flow();
            map.push("expr", Yaml::str("json"));
            Some(Yaml::Map(map))
        }
        Expression::Response(expr::Source::Header(name)) => {
            let mut map = Map::flow();
            map.push("header", Yaml::str(name.clone()));
            Some(Yaml::Map(map))
        }
        Expression::StatusCode => {
            let mut map = Map::flow();
            map.push("status", Yaml::Bool(true));
            Some(Yaml::Map(map))
        }
        _ => None,
    }
}

/// Writes a regex criterion as a check, for the patterns a string comparison says exactly: a
/// literal text (with embedded expressions, whose values are compared as text), anchored with
/// `^` and `$` or not, and `^.{N,}$` (at least N characters).
fn regex_check(
    pattern: &str,
    subject: &str,
    operand: &dyn Fn(&Expression) -> Result<String, String>,
) -> Result<String, String> {
    let subject = format!("({subject} | string)");
    if let Some(count) = pattern
        .strip_prefix("^.{")
        .and_then(|rest| rest.strip_suffix(",}$"))
        .and_then(|n| n.parse::<u32>().ok())
    {
        return Ok(format!("{subject} | length >= {count}"));
    }
    let parts = match expr::parse_text(pattern).map_err(|e| e.message)? {
        Text::Literal(text) => vec![Part::Literal(text)],
        Text::Parts(parts) => parts,
        Text::Whole(_) => {
            return Err("a pattern that is one runtime expression has no template".to_owned());
        }
    };
    let mut pieces = Vec::new();
    let last = parts.len().saturating_sub(1);
    let (mut start, mut end) = (false, false);
    for (index, part) in parts.iter().enumerate() {
        match part {
            Part::Literal(text) => {
                let mut text = text.as_str();
                if index == 0
                    && let Some(rest) = text.strip_prefix('^')
                {
                    start = true;
                    text = rest;
                }
                if index == last && text.ends_with('$') && !text.ends_with("\\$") {
                    end = true;
                    text = &text[..text.len() - 1];
                }
                if text.contains(|c: char| ".^$*+?()[]{}|\\".contains(c)) {
                    return Err(format!(
                        "the pattern `{pattern}` is more than a text to compare with"
                    ));
                }
                if !text.is_empty() {
                    pieces.push(format!("'{}'", text.replace('\'', "\\'")));
                }
            }
            Part::Expr(expression) => pieces.push(format!("({} | string)", operand(expression)?)),
        }
    }
    let text = if pieces.is_empty() {
        "''".to_owned()
    } else {
        pieces.join(" ~ ")
    };
    Ok(match (start, end) {
        (true, true) => format!("{subject} == {text}"),
        (true, false) => format!("{subject}.startswith({text})"),
        (false, true) => format!("{subject}.endswith({text})"),
        (false, false) => format!("{text} in {subject}"),
    })
}

/// Writes a JSONPath criterion as a check, for the queries whose nodelist a template can tell
/// empty or not: a singular path (`$.a[0]['b c']`: it is there), a path ending in `[*]` or `.*`
/// (it has elements), or ending in `[?@ == LITERAL]` (the literal is one of its elements or
/// member values). A literal may be one embedded expression (`'{$inputs.x}'`).
fn jsonpath_check(
    query: &str,
    subject: &str,
    operand: &dyn Fn(&Expression) -> Result<String, String>,
) -> Result<String, String> {
    let unsupported = || format!("the JSONPath `{query}` is more than a path the import can check");
    // Embedded expressions are set aside as placeholders, to be found again as literals.
    let mut text = String::new();
    let mut embedded = Vec::new();
    match expr::parse_text(query).map_err(|e| e.message)? {
        Text::Literal(literal) => text = literal,
        Text::Parts(parts) => {
            for part in parts {
                match part {
                    Part::Literal(literal) => text.push_str(&literal),
                    Part::Expr(expression) => {
                        let _ = write!(text, "\u{1}{}\u{1}", embedded.len());
                        embedded.push(expression);
                    }
                }
            }
        }
        Text::Whole(_) => return Err(unsupported()),
    }
    let mut rest = text.strip_prefix('$').ok_or_else(unsupported)?;
    let mut path = subject.to_owned();
    loop {
        if rest.is_empty() {
            return Ok(format!("{path} is defined"));
        }
        if rest == "[*]" || rest == ".*" {
            return Ok(format!("({path} | length) > 0"));
        }
        if let Some(filter) = rest.strip_prefix("[?").and_then(|f| f.strip_suffix(']')) {
            let literal = filter
                .trim()
                .strip_prefix('@')
                .map(str::trim_start)
                .and_then(|f| f.strip_prefix("=="))
                .map(str::trim)
                .ok_or_else(unsupported)?;
            let value = jsonpath_literal(literal, &embedded, operand).ok_or_else(unsupported)??;
            return Ok(format!(
                "{value} in ({path}.values() if {path} is mapping else {path})"
            ));
        }
        if let Some(after) = rest.strip_prefix('.') {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            let name = &after[..end];
            if !names::is_identifier(name) {
                return Err(unsupported());
            }
            let _ = write!(path, ".{name}");
            rest = &after[end..];
            continue;
        }
        let inside = rest.strip_prefix('[').ok_or_else(unsupported)?;
        let close = inside.find(']').ok_or_else(unsupported)?;
        let selector = &inside[..close];
        if let Some(quoted) = selector
            .strip_prefix('\'')
            .and_then(|q| q.strip_suffix('\''))
            .or_else(|| selector.strip_prefix('"').and_then(|q| q.strip_suffix('"')))
        {
            if quoted.contains(['\\', '\'', '"', '\u{1}']) {
                return Err(unsupported());
            }
            let _ = write!(path, "['{quoted}']");
        } else if !selector.is_empty() && selector.bytes().all(|b| b.is_ascii_digit()) {
            let _ = write!(path, "[{selector}]");
        } else {
            return Err(unsupported());
        }
        rest = &inside[close + 1..];
    }
}

/// Writes a JSONPath literal (`'text'`, `"text"`, a number, `true`, `false`, `null`, or a
/// quoted embedded expression) as a template value.
fn jsonpath_literal(
    literal: &str,
    embedded: &[Expression],
    operand: &dyn Fn(&Expression) -> Result<String, String>,
) -> Option<Result<String, String>> {
    let quoted = literal
        .strip_prefix('\'')
        .and_then(|q| q.strip_suffix('\''))
        .or_else(|| literal.strip_prefix('"').and_then(|q| q.strip_suffix('"')));
    if let Some(quoted) = quoted {
        if let Some(index) = quoted
            .strip_prefix('\u{1}')
            .and_then(|q| q.strip_suffix('\u{1}'))
            .and_then(|n| n.parse::<usize>().ok())
        {
            // The embedded value is read as text, as the query would hold it.
            return embedded
                .get(index)
                .map(|e| operand(e).map(|code| format!("({code} | string)")));
        }
        if quoted.contains(['\\', '\'', '"', '\u{1}']) {
            return None;
        }
        return Some(Ok(format!("'{quoted}'")));
    }
    match literal {
        "true" | "false" => Some(Ok(literal.to_owned())),
        "null" => Some(Ok("none".to_owned())),
        number if number.parse::<f64>().is_ok() && !number.contains(['e', 'E', '+']) => {
            Some(Ok(number.to_owned()))
        }
        _ => None,
    }
}

/// Collects the names of the inputs a workflow's strings read (`$inputs.NAME`).
fn inputs_read(value: &Json, out: &mut BTreeSet<String>) {
    match value {
        Json::String(text) => {
            for (at, _) in text.match_indices("$inputs.") {
                let name: String = text[at + "$inputs.".len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
                    .collect();
                let name = name.trim_end_matches('.');
                if !name.is_empty() {
                    out.insert(name.to_owned());
                }
            }
        }
        Json::Array(items) => items.iter().for_each(|item| inputs_read(item, out)),
        Json::Object(members) => members
            .iter()
            .filter(|(key, _)| key.as_str() != "inputs")
            .for_each(|(_, item)| inputs_read(item, out)),
        _ => {}
    }
}

/// The input that overrides the servers of a source description.
fn server_input(name: &str) -> String {
    identifier(&format!("{name}_server"))
}

/// Returns the last component of a file name.
fn file_name(name: &str) -> String {
    Path::new(name)
        .file_name()
        .map_or_else(|| name.to_owned(), |n| n.to_string_lossy().into_owned())
}

/// Turns a name into a template variable: other characters become `_`, and a leading digit
/// gets a `_` before it.
fn identifier(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !names::is_identifier(&out) {
        out.insert(0, '_');
    }
    out
}

/// Returns `wanted`, or `wanted_2`, `wanted_3`… when it is taken, and takes it.
fn unique(wanted: &str, taken: &mut BTreeSet<String>) -> String {
    let mut name = wanted.to_owned();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{wanted}_{n}");
        n += 1;
    }
    taken.insert(name.clone());
    name
}

/// Keeps text that is not a template from being read as one.
fn escape_template(text: &str) -> String {
    if text.contains("{{") || text.contains("{%") || text.contains("{#") {
        format!("{{% raw %}}{text}{{% endraw %}}")
    } else {
        text.to_owned()
    }
}

/// Escapes a key for a JSON Pointer (RFC 6901).
fn pointer_escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Splits a JSON Pointer into its unescaped tokens.
fn pointer_tokens(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// Writes a JSON Pointer as template subscripts: `/a/0` → `['a'][0]`.
fn pointer_subscripts(pointer: &str) -> String {
    pointer_tokens(pointer)
        .iter()
        .map(|t| {
            if !t.is_empty()
                && t.bytes().all(|b| b.is_ascii_digit())
                && (t == "0" || !t.starts_with('0'))
            {
                format!("[{t}]")
            } else if names::is_identifier(t) {
                format!(".{t}")
            } else {
                format!("['{}']", t.replace('\\', "\\\\").replace('\'', "\\'"))
            }
        })
        .collect()
}

/// Writes a JSON Pointer as a JSONPath (RFC 9535): `/a/0` → `$.a[0]`.
fn pointer_jsonpath(pointer: &str) -> String {
    let mut out = String::from("$");
    for token in pointer_tokens(pointer) {
        if !token.is_empty()
            && token.bytes().all(|b| b.is_ascii_digit())
            && (token == "0" || !token.starts_with('0'))
        {
            let _ = write!(out, "[{token}]");
        } else if token
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && token.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            out.push('.');
            out.push_str(&token);
        } else {
            let _ = write!(
                out,
                "['{}']",
                token.replace('\\', "\\\\").replace('\'', "\\'")
            );
        }
    }
    out
}

/// Percent-encodes the expressions of a path parameter's template, as the simple style does.
fn url_path_template(template: &str) -> String {
    if template.contains("{{") {
        template.replace(" }}", " | urlencode }}")
    } else {
        percent_encoding::utf8_percent_encode(template, PATH_SEGMENT).to_string()
    }
}

/// What a path segment keeps unencoded: RFC 3986 unreserved characters.
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::{identifier, pointer_jsonpath, pointer_subscripts, regex_check, unique};

    #[test]
    fn pointers_become_jsonpaths_and_subscripts() {
        for (pointer, path, subscripts) in [
            ("/access_token", "$.access_token", ".access_token"),
            ("/a/0/b", "$.a[0].b", ".a[0].b"),
            ("/a~1b/c~0d", "$['a/b']['c~d']", "['a/b']['c~d']"),
            ("/it's/01", "$['it\\'s']['01']", "['it\\'s']['01']"),
        ] {
            assert_eq!(pointer_jsonpath(pointer), path, "{pointer}");
            assert_eq!(pointer_subscripts(pointer), subscripts, "{pointer}");
        }
    }

    #[test]
    fn plain_patterns_become_text_comparisons() {
        let operand =
            |e: &apiflow_arazzo::expr::Expression| Ok(e.to_string().replace("$inputs.", ""));
        for (pattern, check) in [
            ("no-store", "'no-store' in (h | string)"),
            ("^abc$", "(h | string) == 'abc'"),
            (
                "^{$inputs.base}",
                "(h | string).startswith((base | string))",
            ),
            ("^u_{$inputs.id}$", "(h | string) == 'u_' ~ (id | string)"),
            ("json$", "(h | string).endswith('json')"),
            ("^.{64,}$", "(h | string) | length >= 64"),
        ] {
            assert_eq!(
                regex_check(pattern, "h", &operand).as_deref(),
                Ok(check),
                "{pattern}"
            );
        }
        assert!(regex_check("^a+$", "h", &operand).is_err());
        assert!(regex_check("^2\\d{2}$", "h", &operand).is_err());
    }

    #[test]
    fn jsonpath_queries_with_a_plain_answer_become_checks() {
        let operand =
            |e: &apiflow_arazzo::expr::Expression| Ok(e.to_string().replace("$inputs.", ""));
        for (query, check) in [
            ("$.keys[0]", "json.keys[0] is defined"),
            (
                "$._links['usernamePassword.check']",
                "json._links['usernamePassword.check'] is defined",
            ),
            ("$.pets[*]", "(json.pets | length) > 0"),
            (
                "$.grantTypes[?@ == 'REFRESH_TOKEN']",
                "'REFRESH_TOKEN' in (json.grantTypes.values() if json.grantTypes is mapping else json.grantTypes)",
            ),
            (
                "$.uris[?@ == '{$inputs.uri}']",
                "(uri | string) in (json.uris.values() if json.uris is mapping else json.uris)",
            ),
            (
                "$.n[?@ == 3]",
                "3 in (json.n.values() if json.n is mapping else json.n)",
            ),
        ] {
            assert_eq!(
                super::jsonpath_check(query, "json", &operand).as_deref(),
                Ok(check),
                "{query}"
            );
        }
        for query in [
            "$[?@.access_token != null]",
            "$..id",
            "$.a[?@.b == 1]",
            "$.a[1:2]",
            "$.x[?@ == 'a{$inputs.b}']",
        ] {
            assert!(
                super::jsonpath_check(query, "json", &operand).is_err(),
                "{query}"
            );
        }
    }

    #[test]
    fn names_become_unique_identifiers() {
        assert_eq!(identifier("my-token"), "my_token");
        assert_eq!(identifier("2fa"), "_2fa");
        let mut taken = BTreeSet::from(["status".to_owned()]);
        assert_eq!(unique("status", &mut taken), "status_2");
        assert_eq!(unique("status", &mut taken), "status_3");
        assert_eq!(unique("code", &mut taken), "code");
    }
}
