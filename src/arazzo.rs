//! Arazzo documents on the command line: recognised by their `arazzo:` key, checked with
//! `--workflow`, `--source` and `--server`, and run by the batch beside apiflow workflows.

use std::path::{Path, PathBuf};

use apiflow::Plan;
use apiflow::batch::{Resolved, RunFuture, Runnable};
use apiflow::check::confine::FileAccess;
use apiflow::check::inputs::InputSources;
use apiflow::diagnostic::Diagnostic;
use apiflow::http::Client;
use apiflow::report::event::Reporter;
use apiflow::runner::Settings;
use apiflow_arazzo::bind::{Call, Goto, Options};
use apiflow_arazzo::model::ActionKind;
use apiflow_arazzo::run::OpenApiChecks;
use clap::ValueEnum;

/// The flags that concern Arazzo documents.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct ArazzoArgs {
    /// Run only this workflow of an Arazzo document (and those it depends on); repeatable.
    #[arg(long = "workflow", value_name = "ID")]
    pub(crate) workflows: Vec<String>,
    /// Read the source description NAME of an Arazzo document from a local file.
    #[arg(long = "source", value_name = "NAME=PATH", value_parser = parse_source)]
    pub(crate) sources: Vec<(String, PathBuf)>,
    /// Send the operations of source description NAME to this server.
    #[arg(long = "server", value_name = "NAME=URL", value_parser = parse_server)]
    pub(crate) servers: Vec<(String, String)>,
}

/// `--openapi-checks`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum ChecksArg {
    /// A response its OpenAPI description does not allow fails the step.
    #[default]
    Error,
    /// It is reported as a warning.
    Warn,
    /// Responses are not checked against the description.
    Off,
}

impl ChecksArg {
    pub(crate) fn mode(self) -> OpenApiChecks {
        match self {
            ChecksArg::Error => OpenApiChecks::Error,
            ChecksArg::Warn => OpenApiChecks::Warn,
            ChecksArg::Off => OpenApiChecks::Off,
        }
    }
}

fn parse_source(text: &str) -> Result<(String, PathBuf), String> {
    match text.split_once('=') {
        Some((name, path)) if !name.is_empty() && !path.is_empty() => {
            Ok((name.to_owned(), PathBuf::from(path)))
        }
        _ => Err(format!("expected NAME=PATH, found `{text}`")),
    }
}

fn parse_server(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, url))
            if !name.is_empty() && (url.starts_with("http://") || url.starts_with("https://")) =>
        {
            Ok((name.to_owned(), url.to_owned()))
        }
        _ => Err(format!(
            "expected NAME=URL with an http:// or https:// URL, found `{text}`"
        )),
    }
}

/// Tells whether a file is an Arazzo document (its top level has an `arazzo:` key).
pub(crate) fn is_arazzo(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| apiflow_arazzo::load::is_arazzo(&text))
}

/// What a file given to `run` or `validate` is, read once.
pub(crate) enum Kind {
    /// An Arazzo document.
    Arazzo,
    /// An OpenAPI description, which cannot be run: why, to print.
    Description(Box<Diagnostic>),
    /// Anything else: a workflow, a collection, or a file that does not read.
    Other,
}

/// Reads a file once to tell an Arazzo document and an OpenAPI description from the rest.
pub(crate) fn kind(path: &Path) -> Kind {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Kind::Other;
    };
    if apiflow_arazzo::load::is_arazzo(&text) {
        return Kind::Arazzo;
    }
    if describes_operations(&text) {
        Kind::Description(Box::new(not_a_workflow(path)))
    } else {
        Kind::Other
    }
}

/// Tells whether a text is an OpenAPI description: `openapi: 3.1.0` (or `swagger: "2.0"`) at
/// the top level, in YAML or JSON; a workflow's own `openapi:` names a file, never a version.
fn describes_operations(text: &str) -> bool {
    // Each `openapi` and `swagger` of the text, not each line: most files are workflows.
    let bytes = text.as_bytes();
    ["openapi", "swagger"].iter().any(|word| {
        memchr::memmem::find_iter(bytes, word.as_bytes()).any(|at| {
            let start = memchr::memrchr(b'\n', &bytes[..at]).map_or(0, |i| i + 1);
            let value = text[at + word.len()..].trim_start_matches(['"', ' ', ':', '\'']);
            bytes[start..at]
                .iter()
                .all(|b| matches!(b, b'{' | b' ' | b'"'))
                && (value.starts_with("3.") || value.starts_with("2."))
        })
    })
}

/// Says why an OpenAPI description cannot be run: it describes operations, and an Arazzo
/// document or a workflow's `openapi:` says which to call.
fn not_a_workflow(path: &Path) -> Diagnostic {
    Diagnostic::error(format!(
        "`{}` is an OpenAPI description, not a workflow",
        path.display()
    ))
    .help("a description says what operations exist; name it in an Arazzo document's `sourceDescriptions` or a workflow's `openapi:` and run that")
}

/// Checks an Arazzo document with the command line's options.
pub(crate) fn check(
    path: &Path,
    access: &FileAccess,
    args: &ArazzoArgs,
    checks: ChecksArg,
) -> Result<apiflow_arazzo::Document, Vec<Diagnostic>> {
    let options = Options {
        sources: args.sources.clone(),
        servers: args.servers.clone(),
        workflows: args.workflows.clone(),
        access: access.clone(),
    };
    let plan = apiflow_arazzo::bind::check_file(path, &options)?;
    Ok(apiflow_arazzo::Document {
        plan,
        checks: checks.mode(),
    })
}

/// Says in one line what `validate` found in a valid document.
pub(crate) fn summary(document: &apiflow_arazzo::Document) -> String {
    let plan = &document.plan;
    let steps: usize = plan.document.workflows.iter().map(|w| w.steps.len()).sum();
    let operations = plan
        .workflows
        .iter()
        .flat_map(|w| &w.steps)
        .filter(|s| matches!(s.call, Call::Operation { .. }))
        .count();
    format!(
        "`{}` is valid (Arazzo {}: {}, {}, {} bound to OpenAPI operations)",
        plan.document.info.title,
        plan.document.arazzo.value,
        crate::cli::plural(plan.document.workflows.len(), "workflow"),
        crate::cli::plural(steps, "step"),
        operations
    )
}

/// A file `run` takes: an apiflow workflow (or an imported collection) or an Arazzo document.
pub(crate) enum Loaded {
    /// A workflow.
    Workflow(Box<Plan>),
    /// An Arazzo document.
    Arazzo(Box<apiflow_arazzo::Document>),
}

impl Loaded {
    /// Returns the workflow, when it is one.
    pub(crate) fn workflow(&self) -> Option<&Plan> {
        match self {
            Loaded::Workflow(plan) => Some(&**plan),
            Loaded::Arazzo(_) => None,
        }
    }
}

impl Runnable for Loaded {
    fn file(&self) -> &str {
        match self {
            Loaded::Workflow(plan) => plan.file(),
            Loaded::Arazzo(document) => document.file(),
        }
    }

    fn title(&self) -> &str {
        match self {
            Loaded::Workflow(plan) => plan.title(),
            Loaded::Arazzo(document) => document.title(),
        }
    }

    fn input_names(&self) -> Vec<&str> {
        match self {
            Loaded::Workflow(plan) => plan.input_names(),
            Loaded::Arazzo(document) => document.input_names(),
        }
    }

    fn resolve(&self, sources: &InputSources) -> Result<Resolved, Vec<Diagnostic>> {
        match self {
            Loaded::Workflow(plan) => plan.resolve(sources),
            Loaded::Arazzo(document) => document.resolve(sources),
        }
    }

    fn inputs_shareable(&self) -> bool {
        match self {
            Loaded::Workflow(plan) => plan.inputs_shareable(),
            Loaded::Arazzo(document) => document.inputs_shareable(),
        }
    }

    fn run<'a>(
        &'a self,
        client: &'a Client,
        inputs: &'a Resolved,
        settings: &'a Settings,
        reporter: &'a mut dyn Reporter,
    ) -> RunFuture<'a> {
        match self {
            Loaded::Workflow(plan) => plan.run(client, inputs, settings, reporter),
            Loaded::Arazzo(document) => document.run(client, inputs, settings, reporter),
        }
    }
}

/// Prints what a run of an Arazzo document would do: each workflow in order, each step with
/// the request it sends (or the workflow it runs), its criteria and its actions.
pub(crate) fn plan_command(
    file: &Path,
    vars: Vec<(String, String)>,
    access: &FileAccess,
    args: &ArazzoArgs,
) -> apiflow::ExitCode {
    use std::fmt::Write as _;
    let color = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let document = match check(file, access, args, ChecksArg::Error) {
        Ok(document) => document,
        Err(diagnostics) => {
            eprint!("{}", Diagnostic::render_all(&diagnostics, color));
            return apiflow::ExitCode::Invalid;
        }
    };
    let sources = InputSources {
        vars,
        ..InputSources::default()
    };
    // Unknown `--var`s are mistakes; missing inputs are shown as such.
    let inputs = match document.inputs_lenient(&sources, &|name| std::env::var(name).ok()) {
        Ok(inputs) => Some(inputs),
        Err(diagnostics) => {
            let unknown: Vec<Diagnostic> = diagnostics
                .into_iter()
                .filter(|d| d.title.starts_with("`--var "))
                .collect();
            if !unknown.is_empty() {
                eprint!("{}", Diagnostic::render_all(&unknown, color));
                return apiflow::ExitCode::Invalid;
            }
            None
        }
    };
    let plan = &document.plan;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} (Arazzo {}): {}",
        plan.document.info.title,
        plan.document.arazzo.value,
        crate::cli::plural(plan.order.len(), "workflow")
    );
    for index in &plan.order {
        let workflow = &plan.document.workflows[*index];
        let flow = &plan.workflows[*index];
        let _ = writeln!(out, "\nworkflow `{}`", workflow.id.value);
        for input in &flow.declared {
            let value = inputs
                .as_ref()
                .and_then(|all| all[*index].get(&input.name))
                .map_or_else(
                    || "(missing)".to_owned(),
                    |v| {
                        if input.secret || apiflow::names::is_secret_name(&input.name) {
                            "••••••".to_owned()
                        } else {
                            v.to_string()
                        }
                    },
                );
            let _ = writeln!(out, "  input {} = {value}", input.name);
        }
        for (number, (step, bound)) in workflow.steps.iter().zip(&flow.steps).enumerate() {
            let call = match &bound.call {
                Call::Operation { source, operation } => format!(
                    "{} {} (`{}` of `{}`)",
                    operation.method,
                    operation.path,
                    operation.id.as_deref().unwrap_or("-"),
                    plan.document.source_descriptions[*source].name.value
                ),
                Call::Workflow(target) => {
                    format!(
                        "runs workflow `{}`",
                        plan.document.workflows[*target].id.value
                    )
                }
                Call::External { .. } => "runs a workflow of another document".to_owned(),
                Call::Invalid => "(invalid)".to_owned(),
            };
            let _ = writeln!(out, "  {}. {}  {call}", number + 1, step.id.value);
            for criterion in &bound.criteria {
                let _ = writeln!(out, "       success when {}", criterion.text);
            }
            for (when, actions) in [
                ("success", &bound.on_success),
                ("failure", &bound.on_failure),
            ] {
                for action in actions {
                    let what = match (action.kind, action.target) {
                        (ActionKind::End, _) => "end".to_owned(),
                        (ActionKind::Goto, Some(Goto::Step(to))) => {
                            format!("goto step `{}`", workflow.steps[to].id.value)
                        }
                        (ActionKind::Goto, Some(Goto::Workflow(to))) => {
                            format!("goto workflow `{}`", plan.document.workflows[to].id.value)
                        }
                        (ActionKind::Goto, None) => "goto".to_owned(),
                        (ActionKind::Retry, _) => format!(
                            "retry up to {} time{}",
                            action.retry_limit,
                            if action.retry_limit == 1 { "" } else { "s" }
                        ),
                    };
                    let criteria: Vec<&str> =
                        action.criteria.iter().map(|c| c.text.as_str()).collect();
                    let when_text = if criteria.is_empty() {
                        String::new()
                    } else {
                        format!(" when {}", criteria.join(" and "))
                    };
                    let _ = writeln!(out, "       on {when}: `{}` {what}{when_text}", action.name);
                }
            }
        }
    }
    print!("{out}");
    apiflow::ExitCode::Passed
}

/// Sends the operations of every OpenAPI source no `--server` names to `base` (an emulator's).
pub(crate) fn serve_from(document: &mut apiflow_arazzo::Document, base: &str) {
    let plan = &mut document.plan;
    for (index, source) in plan.document.source_descriptions.iter().enumerate() {
        let name = &source.name.value;
        if plan.description(index).is_some() && !plan.servers.iter().any(|(n, _)| n == name) {
            plan.servers.push((name.clone(), base.to_owned()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::describes_operations;

    #[test]
    fn tells_descriptions_from_workflows_that_name_one() {
        for text in [
            "openapi: 3.1.0\ninfo: {}\n",
            "info: {}\r\nopenapi: '3.0.3'\r\n",
            "{\"openapi\": \"3.1.0\"}",
            "{\n  \"info\": {},\n  \"openapi\" : \"3.2.0\"\n}",
            "swagger: \"2.0\"\n",
        ] {
            assert!(describes_operations(text), "{text:?}");
        }
        for text in [
            "name: demo\nopenapi: items.openapi.yaml\nsteps: []\n",
            "name: openapi 3.1 checks\nsteps: []\n",
            "x-openapi: 3.1.0\n",
            "description: see openapi: 3.1\n",
            "",
        ] {
            assert!(!describes_operations(text), "{text:?}");
        }
    }
}
