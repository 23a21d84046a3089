//! Rendering: templated text and values for a step, and the workflow's computed `vars`.

use std::sync::Arc;

use minijinja::Value as JinjaValue;

use super::Runner;
use super::taint::value_reads_secret;
use crate::diagnostic::Diagnostic;
use crate::format::model::{Step, TemplateId, Text, Value};

impl Runner<'_> {
    /// Turns a failed render into a diagnostic pointing into the template.
    pub(super) fn render_error(
        &self,
        id: TemplateId,
        error: crate::template::TemplateError,
        step: &Step,
    ) -> Diagnostic {
        let workflow = &self.plan.workflow;
        let source = &workflow.templates[id.0 as usize];
        Diagnostic::error(format!("cannot render a template: {}", error.message))
            .at(&workflow.source, source.span_of(error.range), "here")
            .in_step(Some(&step.name))
    }

    /// Renders a text field; text computed from a secret becomes a secret too (see `taint`).
    pub(super) fn text(&mut self, text: &Text, step: &Step) -> Result<String, Diagnostic> {
        match text {
            Text::Literal(s) => Ok(s.clone()),
            Text::Template(id) => {
                let rendered = self
                    .plan
                    .templates
                    .render(*id, &self.ctx())
                    .map_err(|e| self.render_error(*id, e, step))?;
                self.taint(*id, &rendered);
                Ok(rendered)
            }
        }
    }

    /// Evaluates a value field (a literal, a template, or lists and maps of them) to JSON.
    pub(super) fn value(
        &mut self,
        value: &Value,
        ctx: &JinjaValue,
        step: Option<&Step>,
    ) -> Result<serde_json::Value, Diagnostic> {
        match value {
            Value::Literal(json) => Ok(json.clone()),
            Value::Template(id) => {
                let evaluated = self.plan.templates.eval(*id, ctx).map_err(|e| {
                    let workflow = &self.plan.workflow;
                    let source = &workflow.templates[id.0 as usize];
                    Diagnostic::error(format!("cannot render a template: {}", e.message))
                        .at(&workflow.source, source.span_of(e.range), "here")
                        .in_step(step.map(|s| &s.name))
                })?;
                if let Some(text) = evaluated.as_str() {
                    let text = text.to_owned();
                    self.taint(*id, &text);
                }
                serde_json::to_value(&evaluated).map_err(|e| {
                    Diagnostic::error(format!("cannot turn a template's value into JSON: {e}"))
                        .in_step(step.map(|s| &s.name))
                })
            }
            Value::List(items) => items.iter().map(|v| self.value(v, ctx, step)).collect(),
            Value::Map(entries) => {
                let mut map = serde_json::Map::with_capacity(entries.len());
                for (key, v) in entries {
                    map.insert(key.clone(), self.value(v, ctx, step)?);
                }
                Ok(serde_json::Value::Object(map))
            }
        }
    }

    /// Evaluates the workflow's `vars` in order, each able to read the ones before it.
    pub(super) fn compute_vars(&mut self) -> Result<(), Vec<Diagnostic>> {
        let workflow = &self.plan.workflow;
        for var in &workflow.vars {
            let ctx = self.ctx();
            let json = self.value(&var.value, &ctx, None).map_err(|d| vec![d])?;
            let secret = var.secret || value_reads_secret(self, &var.value);
            let value = JinjaValue::from(minijinja::value::Serde(&json));
            if secret {
                self.secret_json(&json);
            }
            Arc::make_mut(&mut self.variables).set(&var.name.value, value, secret);
        }
        Ok(())
    }
}
