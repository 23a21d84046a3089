//! What a batch runs: a checked apiflow workflow, or the plan of another front end (an Arazzo
//! document) that resolves its own inputs and reports through the same events.

use std::future::Future;
use std::pin::Pin;

use crate::check::inputs::InputSources;
use crate::check::validate::Plan;
use crate::diagnostic::Diagnostic;
use crate::exit::ExitCode;
use crate::http::Client;
use crate::report::event::Reporter;
use crate::runner::Settings;

/// A future a [`Runnable`] returns: the run's exit code, or the problems that stopped it
/// before anything was sent (missing inputs, for instance).
pub type RunFuture<'a> =
    Pin<Box<dyn Future<Output = Result<ExitCode, Vec<Diagnostic>>> + Send + 'a>>;

/// Something a batch can run once per file, iteration or `--data` row.
pub trait Runnable: Sync {
    /// Returns the name of the file it was loaded from.
    fn file(&self) -> &str;
    /// Returns the name summaries print.
    fn title(&self) -> &str;
    /// Lists the names of the inputs it declares, for `--var`s and supplied values.
    fn input_names(&self) -> Vec<&str>;
    /// Resolves its inputs from `sources` (and the process environment), then runs, telling
    /// `reporter` every event; a file report gets one `Finished` event per run workflow.
    fn run<'a>(
        &'a self,
        client: &'a Client,
        sources: &'a InputSources,
        settings: &'a Settings,
        reporter: &'a mut dyn Reporter,
    ) -> RunFuture<'a>;
}

impl Runnable for Plan {
    fn file(&self) -> &str {
        &self.workflow.source.name
    }

    fn title(&self) -> &str {
        &self.workflow.name.value
    }

    fn input_names(&self) -> Vec<&str> {
        self.workflow
            .inputs
            .iter()
            .map(|i| i.name.value.as_str())
            .collect()
    }

    fn run<'a>(
        &'a self,
        client: &'a Client,
        sources: &'a InputSources,
        settings: &'a Settings,
        reporter: &'a mut dyn Reporter,
    ) -> RunFuture<'a> {
        Box::pin(async move {
            let inputs =
                crate::check::inputs::resolve(self, sources, &|name| std::env::var(name).ok())?;
            let report = crate::runner::run(self, client, inputs, settings, reporter).await?;
            Ok(report.exit_code())
        })
    }
}
