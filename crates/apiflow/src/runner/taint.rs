//! Secret taint: the values a run learns are secret, and those computed from them.

use minijinja::Value as JinjaValue;

use super::Runner;
use crate::format::model::{TemplateId, Value};
use crate::report::event::Event;
use crate::template::functions::SECRET_FUNCTIONS;

impl Runner<'_> {
    /// Learns a secret value (and each string inside a structured one).
    pub(super) fn secret_value(&mut self, value: &JinjaValue) {
        if let Some(text) = value.as_str() {
            self.secret_text(text);
        } else if let Ok(json) = serde_json::to_value(value) {
            self.secret_json(&json);
        }
    }

    /// Learns every string and number inside a JSON value as a secret.
    pub(super) fn secret_json(&mut self, value: &serde_json::Value) {
        match value {
            serde_json::Value::String(s) => self.secret_text(s),
            serde_json::Value::Number(n) => self.secret_text(&n.to_string()),
            serde_json::Value::Array(items) => items.iter().for_each(|v| self.secret_json(v)),
            serde_json::Value::Object(map) => map.values().for_each(|v| self.secret_json(v)),
            serde_json::Value::Bool(_) | serde_json::Value::Null => {}
        }
    }

    /// Learns a secret text, telling the reporters the first time.
    pub(super) fn secret_text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if self.masker.add(text) {
            self.reporter.event(&Event::Secret(text));
        }
    }

    /// Tells whether a template reads a secret variable or calls a function that makes one
    /// (`jwt_sign`).
    fn reads_secret(&self, id: TemplateId) -> bool {
        self.plan.templates.dotted(id).iter().any(|path| {
            SECRET_FUNCTIONS.contains(&path.as_str()) || self.variables.is_secret_path(path)
        })
    }

    /// A value computed from a secret that no longer contains the secret verbatim (encoded,
    /// hashed, concatenated and encoded…) is itself a secret.
    ///
    /// Checking the same text again cannot change anything: the secret it shows is still
    /// known, or the text itself was learned as one.
    pub(super) fn taint(&mut self, id: TemplateId, rendered: &str) {
        if !self.reads_secret(id) || self.tainted.as_deref() == Some(rendered) {
            return;
        }
        // A text showing a secret as it is would be masked: no need to search for every form.
        if !self.masker.shows_a_secret(rendered) && self.masker.mask(rendered) == rendered {
            self.secret_text(rendered);
        }
        self.tainted = Some(rendered.to_owned());
    }
}

/// Tells whether any template inside a value reads a secret variable.
pub(super) fn value_reads_secret(runner: &Runner<'_>, value: &Value) -> bool {
    match value {
        Value::Literal(_) => false,
        Value::Template(id) => runner.reads_secret(*id),
        Value::List(items) => items.iter().any(|v| value_reads_secret(runner, v)),
        Value::Map(entries) => entries.iter().any(|(_, v)| value_reads_secret(runner, v)),
    }
}
