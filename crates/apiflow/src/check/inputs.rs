//! Inputs: values from `--var`, data rows and supplied values, `--env-file`, the OS
//! environment, `--environment`, defaults and `--globals`, in that order.

use std::sync::Arc;

use minijinja::Value;

use crate::check::environment::Scoped;
use crate::check::validate::Plan;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::format::model::Text;
use crate::secret::Masker;
use crate::template::scope::Variables;

/// Where input values come from, besides defaults.
#[derive(Clone, Debug, Default)]
pub struct InputSources {
    /// `--var NAME=VALUE`, highest priority.
    pub vars: Vec<(String, String)>,
    /// Entries of `--env-file`, looked up by input name and by the input's `env:` name.
    pub env_file: Vec<(String, String)>,
    /// Values supplied by the caller in code (the emulator's, for example); below `--var`.
    pub supplied: Vec<(String, String)>,
    /// `--environment`: Postman's environment scope, below the OS environment and above
    /// defaults.
    pub environment: Vec<Scoped>,
    /// `--globals`: Postman's global scope, below defaults (it gives a value only to inputs
    /// that have no default).
    pub globals: Vec<Scoped>,
}

/// Resolves every input, or says which are missing or unknown.
pub fn resolve(
    plan: &Plan,
    sources: &InputSources,
    os_env: &dyn Fn(&str) -> Option<String>,
) -> Result<Variables, Vec<Diagnostic>> {
    resolve_with(plan, sources, os_env, false)
}

/// Resolves what it can; an input with no value becomes the placeholder `<input "NAME">`
/// (for `apiflow plan`, which sends nothing).
pub fn resolve_lenient(
    plan: &Plan,
    sources: &InputSources,
    os_env: &dyn Fn(&str) -> Option<String>,
) -> Variables {
    resolve_with(plan, sources, os_env, true).unwrap_or_default()
}

fn resolve_with(
    plan: &Plan,
    sources: &InputSources,
    os_env: &dyn Fn(&str) -> Option<String>,
    lenient: bool,
) -> Result<Variables, Vec<Diagnostic>> {
    let workflow = &plan.workflow;
    let mut errors = Vec::new();
    for (name, _) in &sources.vars {
        if !workflow.inputs.iter().any(|i| &i.name.value == name) {
            let help = did_you_mean(name, workflow.inputs.iter().map(|i| i.name.value.as_str()))
                .unwrap_or_else(|| {
                    if workflow.inputs.is_empty() {
                        format!("`{}` declares no inputs", workflow.source.name)
                    } else {
                        format!(
                            "the inputs are {}",
                            workflow
                                .inputs
                                .iter()
                                .map(|i| format!("`{}`", i.name.value))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                });
            errors.push(
                Diagnostic::error(format!(
                    "`--var {name}` does not name an input of `{}`",
                    workflow.source.name
                ))
                .help(help),
            );
        }
    }
    let mut variables = Variables::default();
    for input in &workflow.inputs {
        let name = input.name.value.as_str();
        let env_name = input.env.as_ref().map(|e| e.value.as_str());
        let lookup = |list: &[(String, String)], key: &str| {
            list.iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let scoped = |list: &[Scoped]| {
            list.iter()
                .rev()
                .find(|s| s.name == name)
                .map(|s| (s.value.clone(), s.secret))
        };
        let mut secret = input.secret;
        let value = lookup(&sources.vars, name)
            .or_else(|| lookup(&sources.supplied, name))
            .or_else(|| lookup(&sources.env_file, name))
            .or_else(|| env_name.and_then(|e| lookup(&sources.env_file, e)))
            .or_else(|| env_name.and_then(os_env))
            .map(|value| (value, false))
            .or_else(|| scoped(&sources.environment))
            .or_else(|| {
                // Postman's globals come after the collection's own values, the defaults.
                input
                    .default
                    .is_none()
                    .then(|| scoped(&sources.globals))
                    .flatten()
            })
            .map(|(value, from_secret)| {
                secret |= from_secret;
                value
            });
        let value = match (value, &input.default) {
            (Some(value), _) => value,
            (None, Some(Text::Literal(text))) => text.clone(),
            (None, Some(Text::Template(id))) => {
                let ctx = Value::from_dyn_object(Arc::new(variables.clone()));
                secret |= plan
                    .templates
                    .variables(*id)
                    .iter()
                    .any(|(n, _)| variables.is_secret(n));
                match plan.templates.render(*id, &ctx) {
                    Ok(text) => text,
                    Err(_) if lenient => format!("<input \"{name}\">"),
                    Err(error) => {
                        let source = &workflow.templates[id.0 as usize];
                        errors.push(
                            Diagnostic::error(format!(
                                "cannot compute the default of input `{name}`: {}",
                                error.message
                            ))
                            .at(&workflow.source, source.span_of(error.range), "here")
                            .masked(&secrets_of(&variables)),
                        );
                        continue;
                    }
                }
            }
            (None, None) if lenient => format!("<input \"{name}\">"),
            (None, None) => {
                let mut ways = vec![format!("`--var {name}=…`")];
                if let Some(env) = env_name {
                    ways.push(format!("the environment variable `{env}`"));
                }
                ways.push("an `--env-file`".into());
                ways.push("an `--environment` file".into());
                errors.push(
                    Diagnostic::error(format!("missing input `{name}`"))
                        .at(
                            &workflow.source,
                            input.name.span,
                            "declared here without a default",
                        )
                        .help(format!("give it with {}", ways.join(", or "))),
                );
                continue;
            }
        };
        variables.set(name, Value::from(value), secret);
    }
    if errors.is_empty() || lenient {
        Ok(variables)
    } else {
        Err(errors)
    }
}

/// A masker for the secret values among the variables.
fn secrets_of(variables: &Variables) -> Masker {
    let mut masker = Masker::new();
    for name in variables.names() {
        if variables.is_secret(name)
            && let Some(value) = variables.get(name)
        {
            masker.add(&value.to_string());
        }
    }
    masker
}

/// Parses `NAME=VALUE` from `--var`.
pub fn parse_var(text: &str) -> Result<(String, String), String> {
    let Some((name, value)) = text.split_once('=') else {
        return Err(format!("`--var {text}` needs the form NAME=VALUE"));
    };
    let name = name.trim();
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!(
            "`--var {text}`: `{name}` is not a valid input name (letters, digits and `_`)"
        ));
    }
    Ok((name.to_owned(), value.to_owned()))
}

/// Parses a dotenv file: `NAME=VALUE` lines, `#` comments, optional `export `, quoted values.
pub fn parse_env_file(name: &str, text: &str) -> Result<Vec<(String, String)>, Diagnostic> {
    let mut out = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let number = index + 1;
        let Some((key, value)) = line.split_once('=') else {
            return Err(Diagnostic::error(format!(
                "{name}:{number}: expected NAME=VALUE, found `{}`",
                first_chars(line)
            ))
            .help("each line of an env file is NAME=VALUE or a `#` comment"));
        };
        let key = key.trim();
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            return Err(Diagnostic::error(format!(
                "{name}:{number}: invalid variable name `{key}`"
            ))
            .help("names use letters, digits and `_`"));
        }
        let value = value.trim();
        let value = match value.chars().next() {
            Some(quote @ ('"' | '\'')) => {
                let Some(inner) = value[1..].strip_suffix(quote) else {
                    return Err(Diagnostic::error(format!(
                        "{name}:{number}: the value of `{key}` opens a quote it does not close"
                    )));
                };
                if quote == '"' {
                    inner
                        .replace("\\n", "\n")
                        .replace("\\\"", "\"")
                        .replace("\\\\", "\\")
                } else {
                    inner.to_owned()
                }
            }
            _ => value
                .split(" #")
                .next()
                .unwrap_or(value)
                .trim_end()
                .to_owned(),
        };
        out.push((key.to_owned(), value));
    }
    Ok(out)
}

fn first_chars(line: &str) -> String {
    // Keep the message short, and do not echo a long value that may be a secret.
    let short: String = line.chars().take(20).collect();
    if short.len() < line.len() {
        format!("{short}…")
    } else {
        short
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vars() {
        assert_eq!(parse_var("a=b=c").unwrap(), ("a".into(), "b=c".into()));
        assert_eq!(parse_var("a=").unwrap(), ("a".into(), String::new()));
        assert_eq!(
            parse_var("novalue").unwrap_err(),
            "`--var novalue` needs the form NAME=VALUE"
        );
        assert!(parse_var("1a=x").is_err());
    }

    #[test]
    fn parses_env_files() {
        let text = "# c\nA=1\nexport B=\"two words\"\nC='x#y' \nD=plain # comment\n";
        let parsed = parse_env_file("e", text).unwrap();
        assert_eq!(
            parsed,
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "two words".into()),
                ("C".into(), "x#y".into()),
                ("D".into(), "plain".into())
            ]
        );
        assert_eq!(
            parse_env_file("e", "oops\n").unwrap_err().title,
            "e:1: expected NAME=VALUE, found `oops`"
        );
    }
}
