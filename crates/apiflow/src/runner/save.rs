//! `save:`: the last response's body (decompressed) written to a file under the output folder.

use super::Runner;
use crate::check::confine::write_output;
use crate::diagnostic::Diagnostic;
use crate::format::model::Step;
use crate::http::Exchange;

impl Runner<'_> {
    /// Writes the body of the last exchange where the step's `save:` says; each attempt and
    /// each `for_each` element writes over the one before.
    pub(super) fn save(&self, step: &Step, exchanges: &[Exchange]) -> Option<Diagnostic> {
        let save = step.save.as_ref()?;
        let response = &exchanges.last()?.response;
        let why = write_output(save, &response.body).err()?;
        Some(
            Diagnostic::error(format!("cannot save the response to `{}`: {why}", save.written.value))
                .at(&self.plan.workflow.source, save.written.span, "saved here")
                .in_step(Some(&step.name))
                .help("`save:` paths are relative to `--output-dir DIR` (by default the current folder) and stay under it"),
        )
    }
}
