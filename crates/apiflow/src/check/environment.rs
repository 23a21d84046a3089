//! `--environment FILE` and `--globals FILE`: Postman's environment and globals exports, read
//! into values for a run's inputs.
//!
//! An export is a JSON object whose `values` list holds `{ key, value, enabled, type }`
//! entries: a disabled entry is skipped, a `secret` one is a secret (masked in every output),
//! and a UTF-8 byte-order mark before the JSON is allowed, as Postman and Newman allow it. An
//! export of Postman's API, wrapped in `{ "environment": … }`, is unwrapped.

use std::path::Path;

use serde_json::Value;

use crate::diagnostic::{Diagnostic, json_syntax};
use crate::span::Source;

/// One value of an environment or globals export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scoped {
    /// Postman's key.
    pub name: String,
    /// Its value as text.
    pub value: String,
    /// Postman's `type: secret`.
    pub secret: bool,
}

/// Reads an environment or globals export; `flag` (`--environment`, `--globals`) names it in
/// errors.
pub fn read_export(path: &Path, flag: &str) -> Result<Vec<Scoped>, Diagnostic> {
    let bytes = std::fs::read(path).map_err(|error| {
        let why = crate::check::file::cannot_read(path, &error).title;
        Diagnostic::error(format!("`{flag} {}`: {why}", path.display()))
    })?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let name = path.display().to_string();
    let text = std::str::from_utf8(bytes).map_err(|error| {
        Diagnostic::error(format!(
            "`{flag} {name}` is not UTF-8 text (byte {} is not valid UTF-8)",
            error.valid_up_to()
        ))
        .help("export the file from Postman again, or save it as UTF-8")
    })?;
    parse_export(&Source::new(name, text), flag)
}

/// Parses the text of an export.
pub fn parse_export(
    source: &std::sync::Arc<Source>,
    flag: &str,
) -> Result<Vec<Scoped>, Diagnostic> {
    let name = &source.name;
    let json: Value = serde_json::from_str(&source.text)
        .map_err(|error| json_syntax(source, &format!("{flag} {name}"), &error))?;
    let not_export = |found: &str| {
        let help = if json.get("info").is_some() && json.get("item").is_some() {
            "this is a collection: give it as the file to run"
        } else {
            "export it from Postman (Environments or Globals → … → Export)"
        };
        Diagnostic::error(format!(
            "`{flag} {name}` is not a Postman environment or globals export: {found}"
        ))
        .help(help)
    };
    // Postman's API wraps an export: `{ "environment": { … } }`.
    let json = match json.get("environment") {
        Some(inner) if inner.get("values").is_some() => inner,
        _ => &json,
    };
    let Some(values) = json.get("values") else {
        return Err(not_export("it has no `values` list"));
    };
    let Some(values) = values.as_array() else {
        return Err(not_export("its `values` is not a list"));
    };
    let mut out = Vec::with_capacity(values.len());
    for (index, entry) in values.iter().enumerate() {
        let problem = |what: &str| {
            Diagnostic::error(format!("`{flag} {name}`: `values[{index}]` {what}"))
                .help("each entry is `{ \"key\": …, \"value\": …, \"enabled\": true }`")
        };
        let Some(entry) = entry.as_object() else {
            return Err(problem("is not an object"));
        };
        let Some(key) = entry.get("key").and_then(Value::as_str) else {
            return Err(problem("has no `key` text"));
        };
        match entry.get("enabled") {
            None | Some(Value::Bool(true)) => {}
            Some(Value::Bool(false)) => continue,
            Some(_) => return Err(problem("has an `enabled` that is not `true` or `false`")),
        }
        let value = match entry.get("value") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(text)) => text.clone(),
            Some(other) => other.to_string(),
        };
        out.push(Scoped {
            name: key.to_owned(),
            value,
            secret: entry.get("type").and_then(Value::as_str) == Some("secret"),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Scoped>, String> {
        parse_export(&Source::new("env.json", text), "--environment").map_err(|d| d.title)
    }

    #[test]
    fn reads_enabled_values_and_marks_secrets() {
        let values = parse(
            r#"{"name": "dev", "values": [
                {"key": "host", "value": "h.test", "enabled": true},
                {"key": "off", "value": "x", "enabled": false},
                {"key": "token", "value": "t0k", "type": "secret", "enabled": true},
                {"key": "port", "value": 8080},
                {"key": "empty"}
            ], "_postman_variable_scope": "environment"}"#,
        )
        .unwrap();
        let list: Vec<(&str, &str, bool)> = values
            .iter()
            .map(|s| (s.name.as_str(), s.value.as_str(), s.secret))
            .collect();
        assert_eq!(
            list,
            [
                ("host", "h.test", false),
                ("token", "t0k", true),
                ("port", "8080", false),
                ("empty", "", false)
            ]
        );
    }

    #[test]
    fn unwraps_an_export_of_postman_s_api() {
        let values =
            parse(r#"{"environment": {"name": "dev", "values": [{"key": "a", "value": "1"}]}}"#)
                .unwrap();
        assert_eq!(values[0].name, "a");
    }

    #[test]
    fn says_what_is_wrong_and_where() {
        assert_eq!(
            parse("{\"values\": [}").unwrap_err(),
            "`--environment env.json` is not valid JSON: expected value at line 1, column 13"
        );
        assert_eq!(
            parse(r#"{"info": {}, "item": []}"#).unwrap_err(),
            "`--environment env.json` is not a Postman environment or globals export: it has no `values` list"
        );
        assert_eq!(
            parse(r#"{"values": [{"value": 1}]}"#).unwrap_err(),
            "`--environment env.json`: `values[0]` has no `key` text"
        );
        assert_eq!(
            parse(r#"{"values": [{"key": "a", "enabled": "no"}]}"#).unwrap_err(),
            "`--environment env.json`: `values[0]` has an `enabled` that is not `true` or `false`"
        );
    }
}
