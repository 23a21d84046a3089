//! An Arazzo plan as something apiflow's batch runs: its inputs resolved from `--var`,
//! `--env-file`, supplied values and the environment, validated against each workflow's
//! `inputs` schema, then its workflows run.

use apiflow::batch::{Resolved, RunFuture, Runnable};
use apiflow::check::inputs::InputSources;
use apiflow::diagnostic::{Diagnostic, did_you_mean};
use apiflow::http::Client;
use apiflow::report::event::Reporter;
use apiflow::runner::Settings;

use crate::bind::Plan;
use crate::run::OpenApiChecks;

/// A checked Arazzo document with how its responses are checked.
#[derive(Debug)]
pub struct Document {
    /// The plan.
    pub plan: Plan,
    /// `--openapi-checks`.
    pub checks: OpenApiChecks,
}

impl Document {
    /// Resolves the inputs of every workflow the plan runs, in the order of
    /// `Plan::workflows`, or says which are missing, unknown or invalid.
    pub fn inputs(
        &self,
        sources: &InputSources,
        os_env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Vec<serde_json::Map<String, serde_json::Value>>, Vec<Diagnostic>> {
        self.inputs_with(sources, os_env, false)
    }

    /// Resolves the inputs as [`Document::inputs`] does, leaving out the values it cannot give
    /// instead of failing (for `plan`); a `--var` that names no input is still an error.
    pub fn inputs_lenient(
        &self,
        sources: &InputSources,
        os_env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Vec<serde_json::Map<String, serde_json::Value>>, Vec<Diagnostic>> {
        self.inputs_with(sources, os_env, true)
    }

    fn inputs_with(
        &self,
        sources: &InputSources,
        os_env: &dyn Fn(&str) -> Option<String>,
        lenient: bool,
    ) -> Result<Vec<serde_json::Map<String, serde_json::Value>>, Vec<Diagnostic>> {
        let plan = &self.plan;
        let document = &plan.document;
        let mut errors = Vec::new();
        let names = self.input_names();
        for (name, _) in &sources.vars {
            if !names.contains(&name.as_str()) {
                let help = did_you_mean(name, names.iter().copied()).or_else(|| {
                    Some(if names.is_empty() {
                        format!(
                            "the workflows of `{}` declare no inputs",
                            document.source.name
                        )
                    } else {
                        format!(
                            "the inputs are {}",
                            names
                                .iter()
                                .map(|n| format!("`{n}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    })
                });
                errors.push(
                    Diagnostic::error(format!(
                        "`--var {name}` does not name an input of the workflows of `{}`",
                        document.source.name
                    ))
                    .maybe_help(help),
                );
            }
        }
        let lookup = |list: &[(String, String)], key: &str| {
            list.iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let mut all = vec![serde_json::Map::new(); plan.workflows.len()];
        for (index, flow) in plan.workflows.iter().enumerate() {
            let workflow = &document.workflows[index];
            let wanted = plan.order.contains(&index);
            let mut values = serde_json::Map::new();
            for input in &flow.declared {
                let given = lookup(&sources.vars, &input.name)
                    .map(|v| (v, "--var"))
                    .or_else(|| {
                        lookup(&sources.supplied, &input.name).map(|v| (v, "a supplied value"))
                    })
                    .or_else(|| lookup(&sources.env_file, &input.name).map(|v| (v, "--env-file")))
                    .or_else(|| {
                        input
                            .env
                            .as_deref()
                            .and_then(os_env)
                            .map(|v| (v, "the environment"))
                    });
                let value = match given {
                    None => input.default.clone(),
                    Some((text, _)) if input.text => Some(serde_json::Value::String(text)),
                    Some((text, from)) => match serde_json::from_str(&text) {
                        Ok(value) => Some(value),
                        Err(_) if wanted && !lenient => {
                            errors.push(
                                Diagnostic::error(format!(
                                    "input `{}` of workflow `{}` takes JSON, and `{text}` from {from} is not JSON",
                                    input.name, workflow.id.value
                                ))
                                .at(
                                    &document.source,
                                    document.span_of(&format!(
                                        "{}/properties/{}",
                                        workflow.inputs_pointer,
                                        input.name.replace('~', "~0").replace('/', "~1")
                                    )),
                                    "its schema",
                                )
                                .help("its schema is not `type: string`: write a JSON value, such as `--var name='{\"a\":1}'`, or quote a string as `'\"text\"'`"),
                            );
                            None
                        }
                        Err(_) => None,
                    },
                };
                if let Some(value) = value {
                    values.insert(input.name.clone(), value);
                }
            }
            if wanted
                && !lenient
                && let Some(validator) = &flow.inputs
            {
                let instance = serde_json::Value::Object(values.clone());
                for error in validator.iter_errors(&instance) {
                    let at = error.instance_path().to_string();
                    let message = error.to_string();
                    let missing = match error.kind() {
                        jsonschema::error::ValidationErrorKind::Required { property } => {
                            property.as_str().map(str::to_owned)
                        }
                        _ => None,
                    };
                    let mut diagnostic = Diagnostic::error(if let Some(name) = &missing {
                        let place = if at.is_empty() {
                            String::new()
                        } else {
                            format!(" (in `{}`)", at.trim_start_matches('/'))
                        };
                        format!(
                            "workflow `{}` needs input `{name}`{place}, and nothing gives it",
                            workflow.id.value
                        )
                    } else if at.is_empty() {
                        format!(
                            "the inputs of workflow `{}` are not valid: {message}",
                            workflow.id.value
                        )
                    } else {
                        format!(
                            "input `{}` of workflow `{}` is not valid: {message}",
                            at.trim_start_matches('/'),
                            workflow.id.value
                        )
                    });
                    // A missing input points at its name in `required`.
                    let required_at = missing.as_ref().and_then(|name| {
                        let list = workflow
                            .inputs
                            .as_ref()?
                            .value
                            .get("required")?
                            .as_array()?;
                        let index = list.iter().position(|n| n.as_str() == Some(name))?;
                        Some(
                            document
                                .span_of(&format!("{}/required/{index}", workflow.inputs_pointer)),
                        )
                    });
                    if let Some(span) = required_at {
                        diagnostic = diagnostic.at(&document.source, span, "required here");
                    } else if let Some(schema) = &workflow.inputs {
                        diagnostic =
                            diagnostic.at(&document.source, schema.span, "the inputs schema");
                    }
                    if missing.is_some() {
                        diagnostic = diagnostic.help("give it with `--var NAME=VALUE` (a JSON value where the schema is not a string), `--env-file`, or a `default` in the schema");
                    }
                    // Never print a secret input's value.
                    for input in flow.declared.iter().filter(|i| i.secret) {
                        if let Some(serde_json::Value::String(secret)) = values.get(&input.name) {
                            let mut masker = apiflow::secret::Masker::new();
                            masker.add(secret);
                            diagnostic = diagnostic.masked(&masker);
                        }
                    }
                    errors.push(diagnostic);
                }
            }
            all[index] = values;
        }
        if errors.is_empty() {
            Ok(all)
        } else {
            Err(errors)
        }
    }
}

impl Runnable for Document {
    fn file(&self) -> &str {
        &self.plan.document.source.name
    }

    fn title(&self) -> &str {
        &self.plan.document.info.title
    }

    fn input_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for index in &self.plan.order {
            for input in &self.plan.workflows[*index].declared {
                if !names.contains(&input.name.as_str()) {
                    names.push(&input.name);
                }
            }
        }
        names
    }

    fn resolve(&self, sources: &InputSources) -> Result<Resolved, Vec<Diagnostic>> {
        let inputs = self.inputs(sources, &|name| std::env::var(name).ok())?;
        Ok(Resolved::new(inputs))
    }

    fn run<'a>(
        &'a self,
        client: &'a Client,
        inputs: &'a Resolved,
        settings: &'a Settings,
        reporter: &'a mut dyn Reporter,
    ) -> RunFuture<'a> {
        Box::pin(async move {
            let inputs = inputs
                .get::<Vec<serde_json::Map<String, serde_json::Value>>>()
                .ok_or_else(|| apiflow::batch::foreign_inputs(self.file()))?;
            Ok(crate::run::run(
                &self.plan,
                client,
                inputs.clone(),
                settings,
                self.checks,
                reporter,
            )
            .await)
        })
    }
}
