//! Validation: compiles every template, `JSONPath` and regex once, and checks the data flow —
//! every variable defined before it is used — reporting every problem together.

use std::collections::HashMap;
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use regex::Regex;

use crate::check::body_schema::{CompiledSchema, compile_all};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::format::model::{
    Action, Body, ExtractKind, Next, PartValue, Script, Step, TemplateId, Text, Value, Workflow,
};
use crate::openapi::{Description, Operation};
use crate::query::jsonpath::JsonPath;
use crate::query::pick::Pick;
use crate::span::{Span, Spanned};
use crate::template::{CallKind, Templates};

/// Names a check, `until` or `expr` capture can read about the response.
pub const RESPONSE_NAMES: &[&str] = &[
    "status",
    "headers",
    "json",
    "body",
    "cookies",
    "duration_ms",
    "timings",
];

/// A workflow that passed validation, with everything compiled and ready to run.
#[derive(Debug)]
pub struct Plan {
    /// The model.
    pub workflow: Workflow,
    /// Its templates, compiled.
    pub templates: Templates,
    /// Its `JSONPaths`, compiled, indexed by `PathId`.
    pub paths: Vec<JsonPath>,
    /// Its regexes, compiled, indexed by `RegexId`.
    pub regexes: Vec<Regex>,
    /// The workflows its `uses` steps run, by the path as written.
    pub subplans: HashMap<String, std::sync::Arc<Plan>>,
    /// How each step reads its response as JSON, indexed by `StepId`.
    pub json_reads: Vec<JsonRead>,
    /// Each step's `expect.schema`, compiled, indexed by `StepId`.
    pub schemas: Vec<Option<Arc<CompiledSchema>>>,
    /// The OpenAPI description `openapi:` names.
    pub openapi: Option<Arc<Description>>,
    /// The index in that description's operations of each step's `operation:`, by `StepId`.
    pub operations: Vec<Option<usize>>,
}

/// How much of a response body a step reads as JSON, which decides how it is parsed.
#[derive(Clone, Debug, PartialEq)]
pub enum JsonRead {
    /// Nothing reads it: the body is not parsed.
    Nothing,
    /// Only singular paths read it: the parse keeps just what they select.
    Paths(Arc<Pick>),
    /// A template reads `json`, or a path can select several values: the whole body is parsed.
    Whole,
}

impl Plan {
    /// Lists the names a step's threshold may give: the file's steps (a threshold on one that
    /// runs other steps is refused on its own) and the steps its `uses` steps run.
    pub fn threshold_steps(&self) -> Vec<&str> {
        let own = self.workflow.steps.iter().chain(&self.workflow.finally);
        let mut names: Vec<&str> = own.map(|s| s.name.value.as_str()).collect();
        names.extend(self.measured_steps());
        names
    }

    /// Lists the names the load metrics count requests under: each step that sends one, and
    /// for a `uses` step those of the workflow it runs (a `for_each` step's are its elements',
    /// `NAME [1]`, …, and left out).
    fn measured_steps(&self) -> Vec<&str> {
        let mut names = Vec::new();
        for step in self.workflow.steps.iter().chain(&self.workflow.finally) {
            if step.for_each.is_some() {
                continue;
            }
            match &step.action {
                Action::Uses(uses) => {
                    if let Some(sub) = self.subplans.get(&uses.path.value) {
                        names.extend(sub.measured_steps());
                    }
                }
                Action::Request(_) => names.push(step.name.value.as_str()),
            }
        }
        names
    }

    /// Returns how `step`, one of this plan's steps, reads its response as JSON.
    pub fn json_read(&self, step: &Step) -> &JsonRead {
        self.json_reads
            .get(step.id.0 as usize)
            .unwrap_or(&JsonRead::Whole)
    }

    /// Returns the OpenAPI description and the operation `step`, one of this plan's steps,
    /// names with `operation:`.
    pub fn operation(&self, step: &Step) -> Option<(&Description, &Operation)> {
        let description = self.openapi.as_deref()?;
        let index = (*self.operations.get(step.id.0 as usize)?)?;
        Some((description, description.operations.get(index)?))
    }

    /// Returns the compiled `expect.schema` of `step`, one of this plan's steps.
    pub fn body_schema(&self, step: &Step) -> Option<&CompiledSchema> {
        self.schemas.get(step.id.0 as usize)?.as_deref()
    }
}

/// Where a template is evaluated, which decides the names it may read.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Context {
    /// Before the request: variables only.
    Request,
    /// After the response: variables, response names and this step's captures.
    Response,
}

/// Compiles and checks a workflow; returns every problem found.
pub fn validate(workflow: Workflow) -> Result<Plan, Vec<Diagnostic>> {
    let (templates, template_errors) = Templates::compile(&workflow.templates);
    let mut checker = Checker {
        workflow: &workflow,
        templates: &templates,
        errors: Vec::new(),
        owners: None,
    };
    let broken: FxHashSet<TemplateId> = template_errors.iter().map(|(id, _)| *id).collect();
    for (id, error) in &template_errors {
        let source = &workflow.templates[id.0 as usize];
        let span = source.span_of(error.range.clone());
        let message = error.message.clone();
        checker.push(
            *id,
            Diagnostic::error(message).at(&workflow.source, span, "here"),
        );
    }
    let paths = checker.compile_paths();
    let regexes = checker.compile_regexes();
    checker.check_calls(&broken);
    checker.check_flow(&broken);
    checker.check_jumps();
    checker.check_scripts();
    let (schemas, schema_errors) = compile_all(&workflow);
    let mut errors = checker.errors;
    errors.extend(schema_errors);
    errors.sort_by_key(|d| (d.span.line, d.span.column));
    if errors.is_empty() {
        let paths: Vec<JsonPath> = paths.into_iter().flatten().collect();
        let json_reads = json_reads(&workflow, &templates, &paths);
        Ok(Plan {
            workflow,
            templates,
            paths,
            regexes: regexes.into_iter().flatten().collect(),
            subplans: HashMap::new(),
            json_reads,
            schemas,
            openapi: None,
            operations: Vec::new(),
        })
    } else {
        Err(errors)
    }
}

/// Works out, for every step, how much of its response it reads as JSON.
fn json_reads(workflow: &Workflow, templates: &Templates, paths: &[JsonPath]) -> Vec<JsonRead> {
    let steps = || workflow.steps.iter().chain(&workflow.finally);
    let count = steps().map(|s| s.id.0 as usize + 1).max().unwrap_or(0);
    let mut reads = vec![JsonRead::Whole; count];
    // Steps that read one and the same path (a chain's `$.links.next.id`) share its pick.
    let mut shared: FxHashMap<&str, Arc<Pick>> = FxHashMap::default();
    for step in steps() {
        reads[step.id.0 as usize] = json_read(step, templates, paths, &mut shared);
    }
    reads
}

fn json_read<'p>(
    step: &Step,
    templates: &Templates,
    paths: &'p [JsonPath],
    shared: &mut FxHashMap<&'p str, Arc<Pick>>,
) -> JsonRead {
    // Any template evaluated against the response (a check, `until`, an `expr` capture, an
    // expected value) that reads `json` may read any of it.
    let template_reads = step_templates(step).into_iter().any(|(id, context)| {
        context == Context::Response && templates.reads(id).iter().any(|n| n == "json")
    });
    if template_reads || step.expect.schema.is_some() {
        return JsonRead::Whole;
    }
    // The paths the step's JSON captures and expectations read.
    let ids = || {
        let captured = step.extract.iter().filter_map(|e| match &e.kind {
            ExtractKind::Json { path, .. } => Some(*path),
            _ => None,
        });
        captured.chain(step.expect.json.iter().map(|e| e.path))
    };
    let mut first_two = ids().take(2);
    let only = match (first_two.next(), first_two.next()) {
        (None, _) => return JsonRead::Nothing,
        (Some(one), None) => Some(paths[one.0 as usize].as_str()),
        _ => None,
    };
    if let Some(pick) = only.and_then(|path| shared.get(path)) {
        return JsonRead::Paths(Arc::clone(pick));
    }
    let mut pick = Pick::default();
    for id in ids() {
        match paths[id.0 as usize].singular_parts() {
            Some(parts) => pick.add(parts),
            None => return JsonRead::Whole,
        }
    }
    let pick = Arc::new(pick);
    if let Some(path) = only {
        shared.insert(path, Arc::clone(&pick));
    }
    JsonRead::Paths(pick)
}

struct Checker<'a> {
    workflow: &'a Workflow,
    templates: &'a Templates,
    errors: Vec<Diagnostic>,
    /// The step each template belongs to, once an error needs it.
    owners: Option<FxHashMap<TemplateId, &'a Spanned<String>>>,
}

impl<'a> Checker<'a> {
    /// Adds an error about template `id`, naming the step it belongs to. Which step owns which
    /// template is worked out at the first error: most workflows have none.
    fn push(&mut self, id: TemplateId, diagnostic: Diagnostic) {
        let workflow = self.workflow;
        let owners = self.owners.get_or_insert_with(|| {
            let mut owners = FxHashMap::default();
            for step in workflow.steps.iter().chain(&workflow.finally) {
                for (template, _) in step_templates(step) {
                    owners.entry(template).or_insert(&step.name);
                }
                if let Some(Next::Template(template)) = &step.next {
                    owners.entry(*template).or_insert(&step.name);
                }
            }
            owners
        });
        let step = owners.get(&id).copied();
        self.errors.push(diagnostic.in_step(step));
    }

    fn compile_paths(&mut self) -> Vec<Option<JsonPath>> {
        let workflow = self.workflow;
        let source = &workflow.source;
        // The same path written on many steps is parsed once.
        let mut parsed: FxHashMap<&str, JsonPath> = FxHashMap::default();
        self.workflow
            .paths
            .iter()
            .map(|path| match parsed.get(path.value.as_str()) {
                Some(compiled) => Ok(compiled.clone()),
                None => JsonPath::parse(&path.value).inspect(|compiled| {
                    parsed.insert(&path.value, compiled.clone());
                }),
            })
            .zip(&self.workflow.paths)
            .map(|(result, path)| match result {
                Ok(compiled) => Some(compiled),
                Err(error) => {
                    let span = error.offset.map_or(path.span, |offset| {
                        let before = path.value.get(..offset).map_or(0, |s| s.chars().count());
                        path.span.shifted(
                            u32::try_from(before).unwrap_or(0) + quote_shift(source, path.span),
                            1,
                        )
                    });
                    self.errors.push(
                        Diagnostic::error(format!("invalid JSONPath `{}`", path.value))
                            .at(source, span, error.message)
                            .in_step(step_at(workflow, path.span)),
                    );
                    None
                }
            })
            .collect()
    }

    fn compile_regexes(&mut self) -> Vec<Option<Regex>> {
        let workflow = self.workflow;
        let source = &workflow.source;
        workflow
            .regexes
            .iter()
            .map(|pattern| match regex::RegexBuilder::new(&pattern.value).size_limit(1 << 20).build() {
                Ok(regex) => Some(regex),
                Err(error) => {
                    let detail = match &error {
                        regex::Error::Syntax(text) => text
                            .lines()
                            .rev()
                            .find_map(|l| l.strip_prefix("error: "))
                            .unwrap_or("syntax error")
                            .to_owned(),
                        regex::Error::CompiledTooBig(_) => "the regex is too large".to_owned(),
                        _ => error.to_string(),
                    };
                    self.errors.push(
                        Diagnostic::error(format!("invalid regex `{}`", pattern.value))
                            .at(source, pattern.span, detail)
                            .in_step(step_at(workflow, pattern.span))
                            .help("regexes use Rust's `regex` syntax; a capture takes group 1 when there is one"),
                    );
                    None
                }
            })
            .collect()
    }

    /// Checks the algorithm of `jwt_sign(claims, key, 'ALG')` when it is written as a string.
    fn check_jwt_sign_alg(&mut self, id: TemplateId, index: usize) {
        let known = crate::template::jws::ALGORITHMS;
        for (alg, range) in self.templates.literal_last_args(id, "jwt_sign", 3) {
            if known.contains(&alg.as_str()) {
                continue;
            }
            let span = self.workflow.templates[index].span_of(range);
            let help = did_you_mean(&alg, known.iter().copied())
                .unwrap_or_else(|| format!("use one of {}", known.join(", ")));
            let diagnostic = Diagnostic::error(format!("`jwt_sign` does not sign with `{alg}`"))
                .at(&self.workflow.source, span, "not a signing algorithm")
                .help(help);
            self.push(id, diagnostic);
        }
    }

    fn check_calls(&mut self, broken: &FxHashSet<TemplateId>) {
        for index in 0..self.workflow.templates.len() {
            let id = TemplateId(u32::try_from(index).unwrap_or(u32::MAX));
            if broken.contains(&id) {
                continue;
            }
            let calls = self.templates.calls(id);
            if calls
                .iter()
                .any(|(kind, name, _)| *kind == CallKind::Function && name == "jwt_sign")
            {
                self.check_jwt_sign_alg(id, index);
            }
            for (kind, name, range) in calls {
                let (known, what) = match kind {
                    CallKind::Function => (crate::template::functions::FUNCTIONS, "function"),
                    CallKind::Filter => (crate::template::functions::FILTERS, "filter"),
                    CallKind::Test => (crate::template::functions::TESTS, "test"),
                };
                if kind == CallKind::Function
                    && !known.contains(&name.as_str())
                    && self.is_variable(&name)
                {
                    continue;
                }
                if !known.contains(&name.as_str()) {
                    let source = &self.workflow.templates[index];
                    let span = source.span_of(range);
                    let help = did_you_mean(&name, known.iter().copied()).unwrap_or_else(|| {
                        format!("docs/workflows.md lists every {what} apiflow knows")
                    });
                    let diagnostic = Diagnostic::error(format!("unknown {what} `{name}`"))
                        .at(&self.workflow.source, span, format!("no such {what}"))
                        .help(help);
                    self.push(id, diagnostic);
                }
            }
        }
    }

    fn is_variable(&self, name: &str) -> bool {
        let w = self.workflow;
        w.inputs.iter().any(|i| i.name.value == name)
            || w.vars.iter().any(|v| v.name.value == name)
            || w.steps
                .iter()
                .chain(&w.finally)
                .any(|s| s.extract.iter().any(|e| e.name.value == name))
    }

    fn check_flow(&mut self, broken: &FxHashSet<TemplateId>) {
        let workflow = self.workflow;
        let mut scope = Scope::default();
        for input in &workflow.inputs {
            if let Some(Text::Template(id)) = &input.default {
                self.check_template(*id, &scope, None, Context::Request, broken);
            }
            scope.define(&input.name.value, Origin::Input);
        }
        for var in &workflow.vars {
            for id in value_templates(&var.value) {
                self.check_template(id, &scope, None, Context::Request, broken);
            }
            scope.define(&var.name.value, Origin::Var);
        }
        // Passphrases are rendered once, before the first step: they read inputs and vars.
        for (id, step) in crate::check::tls::passphrase_templates(workflow) {
            self.check_passphrase(id, step, &scope, broken);
        }
        let mut earlier: Vec<&Spanned<String>> = Vec::new();
        for step in &workflow.steps {
            // What `script.before` sets is there for the step's own request.
            for name in step.script.before.iter().flat_map(|s| &s.sets) {
                let origin = Origin::Step(&step.name.value);
                if step.condition.is_some() {
                    scope.maybe(name, origin);
                } else {
                    scope.define(name, origin);
                }
            }
            self.check_step(step, &mut scope, broken);
            self.check_form_from(step, &earlier);
            earlier.push(&step.name);
            let maybe = step.condition.is_some();
            for name in defined_by(step) {
                let origin = Origin::Step(&step.name.value);
                if maybe {
                    scope.maybe(name, origin);
                } else {
                    scope.define(name, origin);
                }
            }
            // `next:` is rendered once the step has run: it reads the step's captures too.
            if let Some(Next::Template(id)) = &step.next {
                self.check_template(*id, &scope, Some(step), Context::Request, broken);
            }
        }
        // Outputs are computed after the steps, when every step has run.
        for (_, value) in &workflow.outputs {
            for id in value_templates(value) {
                self.check_template(id, &scope, None, Context::Request, broken);
            }
        }
        // A clean-up step runs after a failure too, so anything a step captured may be missing.
        scope.demote_steps();
        for step in &workflow.finally {
            for name in step.script.before.iter().flat_map(|s| &s.sets) {
                scope.maybe(name, Origin::Step(&step.name.value));
            }
            self.check_step(step, &mut scope, broken);
            self.check_form_from(step, &earlier);
            earlier.push(&step.name);
            for name in defined_by(step) {
                scope.maybe(name, Origin::Step(&step.name.value));
            }
        }
    }

    /// Checks that a written `next:` names a step of `steps`, and that `finally` steps, which
    /// all run in order whatever happens, neither jump nor say what a failure does.
    fn check_jumps(&mut self) {
        let workflow = self.workflow;
        let names = || workflow.steps.iter().map(|s| s.name.value.as_str());
        for step in &workflow.steps {
            let Some(Next::Step(name)) = &step.next else {
                continue;
            };
            if names().any(|n| n == name.value) {
                continue;
            }
            let finally = workflow.finally.iter().any(|s| s.name.value == name.value);
            let (title, help) = if finally {
                (
                    format!("`next:` names a `finally` step: `{}`", name.value),
                    "`finally` steps always run at the end; `next:` names a step of `steps`"
                        .to_owned(),
                )
            } else {
                (
                    format!("`next:` names no step: `{}`", name.value),
                    did_you_mean(&name.value, names()).unwrap_or_else(|| {
                        "`next:` names a step of `steps`, or is `null` to end the run".to_owned()
                    }),
                )
            };
            let label = if finally {
                "a `finally` step"
            } else {
                "no such step"
            };
            self.errors.push(
                Diagnostic::error(title)
                    .at(&workflow.source, name.span, label)
                    .in_step(Some(&step.name))
                    .help(help),
            );
        }
        for step in &workflow.finally {
            let next = step.next.as_ref().map(|next| match next {
                Next::Step(name) => (name.span, "next"),
                Next::End(span) => (*span, "next"),
                Next::Template(id) => (workflow.templates[id.0 as usize].span_of(None), "next"),
            });
            let on_failure = step.on_failure.as_ref().map(|o| (o.span, "on_failure"));
            for (span, key) in on_failure.into_iter().chain(next) {
                self.errors.push(
                    Diagnostic::error(format!("`{key}` does not go on a `finally` step"))
                        .at(&workflow.source, span, "in `finally`")
                        .in_step(Some(&step.name))
                        .help(
                            "`finally` steps all run, in order, whatever the steps before them did",
                        ),
                );
            }
        }
    }

    /// Compiles every script (without running it): a syntax error points at its line and
    /// column in the file.
    fn check_scripts(&mut self) {
        let workflow = self.workflow;
        let steps = workflow.steps.iter().map(|s| (s, false));
        for (step, in_finally) in steps.chain(workflow.finally.iter().map(|s| (s, true))) {
            let scripts = [
                ("before", &step.script.before),
                ("after", &step.script.after),
            ];
            for (which, script) in scripts {
                let Some(script) = script else { continue };
                self.check_script_jumps(step, script, in_finally);
                if let Err(error) = apiflow_script::check_syntax(&script.code) {
                    let span = script.span_at(error.line, error.column);
                    self.errors.push(
                        Diagnostic::error(format!(
                            "`script.{which}` does not compile: {}",
                            error.message
                        ))
                        .at(&workflow.source, span, "here")
                        .in_step(Some(&step.name))
                        .help("scripts are JavaScript (ES2023), run as Postman runs them"),
                    );
                }
            }
        }
    }

    /// Checks the steps a script jumps to by a literal name (`postman.setNextRequest("x")`):
    /// each names a step of `steps`, and a `finally` step does not jump.
    fn check_script_jumps(&mut self, step: &Step, script: &Script, in_finally: bool) {
        let workflow = self.workflow;
        let names = || workflow.steps.iter().map(|s| s.name.value.as_str());
        for jump in apiflow_script::literal_jumps(&script.code) {
            let before = &script.code[..jump.offset];
            let line = u32::try_from(before.matches('\n').count() + 1).unwrap_or(u32::MAX);
            let line_start = before.rfind('\n').map_or(0, |at| at + 1);
            let column = u32::try_from(before[line_start..].chars().count() + 1).unwrap_or(1);
            let mut span = script.span_at(Some(line), Some(column));
            span.len = u32::try_from(jump.name.chars().count()).unwrap_or(1).max(1);
            let diagnostic = if in_finally {
                Diagnostic::error("`setNextRequest` does not go in a `finally` step")
                    .at(&workflow.source, span, "in `finally`")
                    .help("`finally` steps all run, in order, whatever the steps before them did")
            } else if names().any(|n| n == jump.name) {
                continue;
            } else {
                let help = did_you_mean(&jump.name, names()).unwrap_or_else(|| {
                    "`setNextRequest` names a step of `steps`, or is `null` to end the run"
                        .to_owned()
                });
                Diagnostic::error(format!("`setNextRequest` names no step: `{}`", jump.name))
                    .at(&workflow.source, span, "no such step")
                    .help(help)
            };
            self.errors.push(diagnostic.in_step(Some(&step.name)));
        }
    }

    fn check_form_from(&mut self, step: &Step, earlier: &[&Spanned<String>]) {
        let Some(form) = step.request().and_then(|r| r.form_from.as_ref()) else {
            return;
        };
        if !earlier.iter().any(|s| s.value == form.step.value) {
            let help = did_you_mean(&form.step.value, earlier.iter().map(|s| s.value.as_str()))
                .unwrap_or_else(|| {
                    "`form_from.step` names an earlier step whose response is an HTML page".into()
                });
            self.errors.push(
                Diagnostic::error(format!(
                    "`form_from.step` names no earlier step: `{}`",
                    form.step.value
                ))
                .at(&self.workflow.source, form.step.span, "not an earlier step")
                .in_step(Some(&step.name))
                .help(help),
            );
        }
        if let Err(message) = crate::query::page::check_selector(&form.selector.value) {
            self.errors.push(
                Diagnostic::error(message)
                    .at(&self.workflow.source, form.selector.span, "here")
                    .in_step(Some(&step.name)),
            );
        }
    }

    fn check_step(
        &mut self,
        step: &'a Step,
        scope: &mut Scope<'a>,
        broken: &FxHashSet<TemplateId>,
    ) {
        let templates = self.templates;
        for extract in &step.extract {
            match &extract.kind {
                ExtractKind::Css { selector, .. } => {
                    if let Err(message) = crate::query::page::check_selector(&selector.value) {
                        self.errors.push(
                            Diagnostic::error(message)
                                .at(&self.workflow.source, selector.span, "here")
                                .in_step(Some(&step.name)),
                        );
                    }
                }
                ExtractKind::Output(_) if step.request().is_some() => {
                    self.errors.push(
                        Diagnostic::error(
                            "`output` captures only work in a step that `uses` a workflow",
                        )
                        .at(
                            &self.workflow.source,
                            extract.name.span,
                            "not a `uses` step",
                        )
                        .in_step(Some(&step.name))
                        .help("capture from the response with `json`, `header`, … instead"),
                    );
                }
                ExtractKind::Output(_) => {}
                _ if step.request().is_none() => {
                    self.errors.push(
                        Diagnostic::error("a `uses` step captures only `output`s of the workflow it runs")
                            .at(&self.workflow.source, extract.name.span, "not an output")
                            .in_step(Some(&step.name))
                            .help("write `{ output: NAME }`, with NAME from the called workflow's `outputs:`"),
                    );
                }
                _ => {}
            }
        }
        // The condition guards the whole step, itself included (`x is defined`).
        scope.guarded.clear();
        if let Some(id) = step.condition {
            scope
                .guarded
                .extend(templates.reads(id).iter().map(String::as_str));
        }
        for (id, context) in step_templates(step) {
            // Names only this template sees go in a layer over the scope, not into a copy of it.
            scope.local.clear();
            if step.for_each.is_some() && Some(id) != step.for_each && Some(id) != step.condition {
                scope.local.push((&step.each_as.value, Origin::Var));
            }
            if context == Context::Response {
                for name in RESPONSE_NAMES {
                    scope.local.push((name, Origin::Response));
                }
                for extract in &step.extract {
                    scope
                        .local
                        .push((&extract.name.value, Origin::Step(&step.name.value)));
                }
                // `script.after` runs before the captures and `expect`.
                for name in step.script.after.iter().flat_map(|s| &s.sets) {
                    scope.local.push((name, Origin::Step(&step.name.value)));
                }
            }
            self.check_template(id, scope, Some(step), context, broken);
            if context == Context::Response && !broken.contains(&id) {
                self.check_timings(id);
            }
        }
        scope.local.clear();
        scope.guarded.clear();
    }

    /// Checks that a template reads only the fields `timings` has (`timings.ttfb_ms`).
    fn check_timings(&mut self, id: TemplateId) {
        use crate::template::scope::TIMING_FIELDS;
        for (path, range) in self.templates.dotted_reads(id) {
            let Some(field) = path.strip_prefix("timings.") else {
                continue;
            };
            let field = field.split('.').next().unwrap_or(field);
            if TIMING_FIELDS.contains(&field) {
                continue;
            }
            let in_ms = TIMING_FIELDS
                .iter()
                .find(|f| f.strip_suffix("_ms") == Some(field))
                .map(|f| format!("did you mean `{f}`? timings are in milliseconds"));
            let help = in_ms
                .or_else(|| did_you_mean(field, TIMING_FIELDS.iter().copied()))
                .unwrap_or_else(|| {
                    let fields: Vec<String> =
                        TIMING_FIELDS.iter().map(|f| format!("`{f}`")).collect();
                    format!("`timings` has {}", fields.join(", "))
                });
            let source = &self.workflow.templates[id.0 as usize];
            let diagnostic = Diagnostic::error(format!("`timings` has no field `{field}`"))
                .at(&self.workflow.source, source.span_of(range), "not a timing")
                .help(help);
            self.push(id, diagnostic);
        }
    }

    /// A `passphrase:` is rendered before the first step: it may read inputs and vars only.
    fn check_passphrase(
        &mut self,
        id: TemplateId,
        step: Option<&Spanned<String>>,
        scope: &Scope,
        broken: &FxHashSet<TemplateId>,
    ) {
        if broken.contains(&id) {
            return;
        }
        let source = &self.workflow.templates[id.0 as usize];
        for name in self.templates.reads(id) {
            if crate::template::functions::FUNCTIONS.contains(&name.as_str())
                || scope.is_defined(name)
            {
                continue;
            }
            let span = source.span_of(self.templates.position(id, name));
            let diagnostic = Diagnostic::error(format!(
                "`passphrase` reads `{name}`, which is not an input or a var"
            ))
            .at(&self.workflow.source, span, "not an input or a var")
            .in_step(step)
            .help("client keys are opened before the first step: give the passphrase as a secret input");
            // Not `push`: it names the step that owns a template, and no step's list holds this.
            self.errors.push(diagnostic);
        }
    }

    fn check_template(
        &mut self,
        id: TemplateId,
        scope: &Scope,
        step: Option<&Step>,
        context: Context,
        broken: &FxHashSet<TemplateId>,
    ) {
        if broken.contains(&id) {
            return;
        }
        let source = &self.workflow.templates[id.0 as usize];
        for name in self.templates.reads(id) {
            if crate::template::functions::FUNCTIONS.contains(&name.as_str())
                || scope.is_defined(name)
            {
                continue;
            }
            // `check_calls` already reported a call of an unknown function that is no variable.
            let unknown_call = self
                .templates
                .calls(id)
                .into_iter()
                .any(|(kind, called, _)| {
                    kind == CallKind::Function && called == *name && !self.is_variable(&called)
                });
            if unknown_call {
                continue;
            }
            let name = name.clone();
            let span = source.span_of(self.templates.position(id, &name));
            let diagnostic = if let Some(Origin::Step(by)) = scope.state(&name) {
                Diagnostic::error(format!("`{name}` may not be defined here"))
            .at(&self.workflow.source, span, "may be undefined")
            .help(format!(
                "`{name}` is captured by step `{by}`, which may not have run; guard this step with `if: {name} is defined`"
            ))
            } else {
                let mut help = later_capture(self.workflow, &name).map(|by| {
                    if step.is_some_and(|s| s.name.value == by) {
                        format!("`{name}` is captured by this step, from its response; its request cannot use it")
                    } else {
                        format!("`{name}` is captured by step `{by}`, which runs later")
                    }
                });
                if help.is_none()
                    && context == Context::Request
                    && RESPONSE_NAMES.contains(&name.as_str())
                {
                    help = Some(format!(
                        "`{name}` describes the response; use it in `expect.checks`, `retry.until` or an `expr` capture"
                    ));
                }
                if help.is_none() {
                    help = did_you_mean(&name, scope.names());
                }
                if help.is_none() && step.is_none() {
                    help = Some(
                        "inputs and vars may only use inputs and vars defined above them".into(),
                    );
                }
                Diagnostic::error(format!("undefined variable `{name}`"))
                    .at(&self.workflow.source, span, "not defined here")
                    .maybe_help(help)
            };
            self.push(id, diagnostic);
        }
    }
}

/// Lists the names a step defines: its captures, the variables its scripts set by a literal
/// name, and for a `uses` step named like a variable, the map of the called workflow's outputs.
fn defined_by(step: &Step) -> impl Iterator<Item = &str> {
    let own_name =
        matches!(step.action, Action::Uses(_)) && crate::names::is_identifier(&step.name.value);
    let scripts = step.script.before.iter().chain(&step.script.after);
    step.extract
        .iter()
        .map(|e| e.name.value.as_str())
        .chain(scripts.flat_map(|s| s.sets.iter().map(String::as_str)))
        .chain(own_name.then_some(step.name.value.as_str()))
}

/// The step that captures `name`, when one does (for the help of an undefined variable).
fn later_capture<'w>(workflow: &'w Workflow, name: &str) -> Option<&'w str> {
    workflow
        .steps
        .iter()
        .chain(&workflow.finally)
        .find(|s| s.extract.iter().any(|e| e.name.value == name))
        .map(|s| s.name.value.as_str())
}

fn quote_shift(source: &crate::span::Source, span: Span) -> u32 {
    let start = span.column.saturating_sub(1) as usize;
    match source.line(span.line).and_then(|l| l.chars().nth(start)) {
        Some('"' | '\'') => 1,
        _ => 0,
    }
}

/// Names the step a path or regex at `span` belongs to: the last one whose name comes before it.
fn step_at(workflow: &Workflow, span: Span) -> Option<&Spanned<String>> {
    workflow
        .steps
        .iter()
        .chain(&workflow.finally)
        .map(|s| &s.name)
        .rev()
        .find(|name| name.span.line <= span.line)
}

/// Who defines a name.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Origin<'w> {
    Input,
    Var,
    Response,
    /// The step that captures it.
    Step(&'w str),
}

/// The names visible at one point of the workflow, borrowed from it.
#[derive(Clone, Default)]
struct Scope<'w> {
    defined: FxHashMap<&'w str, Origin<'w>>,
    maybe: FxHashMap<&'w str, Origin<'w>>,
    /// Names defined for one template only (response names, the step's captures, `as`).
    local: Vec<(&'w str, Origin<'w>)>,
    /// Maybe-defined names the current step's `if:` mentions.
    guarded: Vec<&'w str>,
}

impl<'w> Scope<'w> {
    fn define(&mut self, name: &'w str, origin: Origin<'w>) {
        self.maybe.remove(name);
        self.defined.insert(name, origin);
    }

    fn maybe(&mut self, name: &'w str, origin: Origin<'w>) {
        if !self.defined.contains_key(name) {
            self.maybe.insert(name, origin);
        }
    }

    fn demote_steps(&mut self) {
        self.defined.retain(|name, origin| {
            if matches!(origin, Origin::Step(_)) {
                self.maybe.insert(name, *origin);
                false
            } else {
                true
            }
        });
    }

    fn is_defined(&self, name: &str) -> bool {
        self.defined.contains_key(name)
            || self.local.iter().any(|(n, _)| *n == name)
            || (self.maybe.contains_key(name) && self.guarded.contains(&name))
    }

    fn state(&self, name: &str) -> Option<&Origin<'w>> {
        self.maybe.get(name)
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        self.defined
            .keys()
            .chain(self.maybe.keys())
            .chain(self.local.iter().map(|(n, _)| n))
            .copied()
    }
}

fn text_template(text: &Text) -> Option<TemplateId> {
    match text {
        Text::Template(id) => Some(*id),
        Text::Literal(_) => None,
    }
}

pub(crate) fn value_templates(value: &Value) -> Vec<TemplateId> {
    let mut out = Vec::new();
    collect_value(value, &mut out);
    out
}

fn collect_value(value: &Value, out: &mut Vec<TemplateId>) {
    match value {
        Value::Literal(_) => {}
        Value::Template(id) => out.push(*id),
        Value::List(items) => items.iter().for_each(|v| collect_value(v, out)),
        Value::Map(entries) => entries.iter().for_each(|(_, v)| collect_value(v, out)),
    }
}

/// Lists every template of a step with the context it is evaluated in.
pub(crate) fn step_templates(step: &Step) -> Vec<(TemplateId, Context)> {
    let mut out = Vec::new();
    let mut request = |text: &Text| {
        if let Some(id) = text_template(text) {
            out.push((id, Context::Request));
        }
    };
    match &step.action {
        Action::Request(r) => {
            request(&r.url.value);
            r.path_params.iter().for_each(|(_, t)| request(t));
            r.query.iter().for_each(|(_, t)| request(t));
            r.headers.iter().for_each(|(_, t)| request(t));
            if let Some(auth) = &r.auth {
                auth.texts().into_iter().for_each(&mut request);
            }
            if let Some(stop_at) = &r.stop_at {
                request(stop_at);
            }
            if let Some(form) = &r.form_from {
                form.fields.iter().for_each(|(n, t)| {
                    request(&n.value);
                    request(t);
                });
            }
            match &r.body {
                Some(Body::Form(fields)) => fields.iter().for_each(|(_, t)| request(t)),
                Some(Body::Text(text)) => request(text),
                Some(Body::File { content_type, .. }) => {
                    content_type.iter().for_each(&mut request);
                }
                Some(Body::Template {
                    template,
                    content_type,
                    ..
                }) => {
                    content_type.iter().for_each(&mut request);
                    out.extend(template.map(|id| (id, Context::Request)));
                }
                Some(Body::Multipart(parts)) => {
                    for part in parts {
                        part.name_template.iter().for_each(&mut request);
                        match &part.value {
                            PartValue::Text(text) => request(text),
                            PartValue::File {
                                filename,
                                content_type,
                                ..
                            } => {
                                filename.iter().for_each(&mut request);
                                content_type.iter().for_each(&mut request);
                            }
                        }
                    }
                }
                Some(Body::Json(value)) => {
                    out.extend(
                        value_templates(value)
                            .into_iter()
                            .map(|id| (id, Context::Request)),
                    );
                }
                None => {}
            }
        }
        Action::Uses(uses) => {
            for (_, value) in &uses.with {
                out.extend(
                    value_templates(value)
                        .into_iter()
                        .map(|id| (id, Context::Request)),
                );
            }
        }
    }
    if let Some(id) = step.for_each {
        out.push((id, Context::Request));
    }
    if let Some(id) = step.condition {
        out.push((id, Context::Request));
    }
    for extract in &step.extract {
        if let Some(default) = &extract.default {
            out.extend(
                value_templates(default)
                    .into_iter()
                    .map(|id| (id, Context::Request)),
            );
        }
        if let ExtractKind::Expr(id) = extract.kind {
            out.push((id, Context::Response));
        }
    }
    for expectation in &step.expect.json {
        out.extend(
            value_templates(&expectation.value)
                .into_iter()
                .map(|id| (id, Context::Response)),
        );
    }
    for (_, text) in &step.expect.headers {
        if let Some(id) = text_template(text) {
            out.push((id, Context::Response));
        }
    }
    out.extend(step.expect.checks.iter().map(|id| (*id, Context::Response)));
    if let Some(until) = step.retry.as_ref().and_then(|r| r.until) {
        out.push((until, Context::Response));
    }
    out
}
