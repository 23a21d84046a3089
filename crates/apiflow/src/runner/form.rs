//! `form_from`: the HTML form an earlier step's page holds, with the fields a step sets.

use std::sync::Arc;

use url::Url;

use super::Runner;
use crate::diagnostic::Diagnostic;
use crate::format::model::{FormFrom, Step};

/// The last HTML page a step received, for `form_from`.
pub(super) struct Page {
    pub(super) url: Url,
    pub(super) body: Arc<Vec<u8>>,
}

impl Runner<'_> {
    /// Reads the form `form_from` names from an earlier step's page and applies `fields`.
    pub(super) fn form(
        &mut self,
        step: &Step,
        form_from: &FormFrom,
    ) -> Result<crate::query::page::Form, Diagnostic> {
        let workflow = &self.plan.workflow;
        let Some(page) = self.pages.get(&form_from.step.value) else {
            return Err(Diagnostic::error(format!(
                "step `{}` has no HTML page to take a form from",
                form_from.step.value
            ))
            .at(&workflow.source, form_from.step.span, "no HTML response")
            .in_step(Some(&step.name))
            .help("`form_from.step` names an earlier step whose response is an HTML page"));
        };
        let body = String::from_utf8_lossy(&page.body);
        let mut form = crate::query::page::find_form(&page.url, &body, &form_from.selector.value)
            .map_err(|message| {
            Diagnostic::error(message)
                .at(&workflow.source, form_from.selector.span, "matches no form")
                .in_step(Some(&step.name))
                .note(format!("the page: {}", page.url))
        })?;
        for (name, value) in &form_from.fields {
            let name = self.text(&name.value, step)?;
            let value = self.text(value, step)?;
            crate::query::page::set_field(&mut form.fields, &name, value);
        }
        Ok(form)
    }
}
