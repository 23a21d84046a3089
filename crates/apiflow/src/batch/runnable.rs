//! What a batch runs: a checked apiflow workflow, or the plan of another front end (an Arazzo
//! document) that resolves its own inputs and reports through the same events.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;

use crate::check::inputs::InputSources;
use crate::check::validate::Plan;
use crate::diagnostic::Diagnostic;
use crate::exit::ExitCode;
use crate::format::model::Text;
use crate::http::Client;
use crate::report::event::Reporter;
use crate::runner::{Inputs, Settings};

/// A future a [`Runnable`] returns: the run's exit code, or the problems that stopped it
/// before anything was sent (missing inputs, for instance).
pub type RunFuture<'a> =
    Pin<Box<dyn Future<Output = Result<ExitCode, Vec<Diagnostic>>> + Send + 'a>>;

/// The inputs a [`Runnable`] resolved from its sources, of a type only it reads: every run that
/// takes the same sources (the iterations of a load run without `--data`) runs with them.
pub struct Resolved(Box<dyn Any + Send + Sync>);

impl Resolved {
    /// Wraps a runnable's own inputs.
    pub fn new<T: Any + Send + Sync>(inputs: T) -> Resolved {
        Resolved(Box::new(inputs))
    }

    /// Returns the inputs, if they are of type `T`.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }
}

/// Says that a runnable was given the inputs another kind of runnable resolved.
pub fn foreign_inputs(file: &str) -> Vec<Diagnostic> {
    vec![Diagnostic::error(format!(
        "the inputs given to `{file}` were resolved for another kind of file"
    ))]
}

/// Something a batch can run once per file, iteration or `--data` row.
pub trait Runnable: Sync {
    /// Returns the name of the file it was loaded from.
    fn file(&self) -> &str;
    /// Returns the name summaries print.
    fn title(&self) -> &str;
    /// Lists the names of the inputs it declares, for `--var`s and supplied values.
    fn input_names(&self) -> Vec<&str>;
    /// Resolves its inputs from `sources` and the process environment, or says which are
    /// missing or wrong.
    fn resolve(&self, sources: &InputSources) -> Result<Resolved, Vec<Diagnostic>>;
    /// Tells whether runs with the same sources may share one resolution of the inputs: not
    /// when a default is computed, as `{{ uuid() }}` gives each run a value of its own.
    fn inputs_shareable(&self) -> bool {
        true
    }
    /// Runs with inputs it resolved, telling `reporter` every event; a file report gets one
    /// `Finished` event per run workflow.
    fn run<'a>(
        &'a self,
        client: &'a Client,
        inputs: &'a Resolved,
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

    fn resolve(&self, sources: &InputSources) -> Result<Resolved, Vec<Diagnostic>> {
        let variables =
            crate::check::inputs::resolve(self, sources, &|name| std::env::var(name).ok())?;
        Ok(Resolved::new(Inputs::new(self, variables)))
    }

    fn inputs_shareable(&self) -> bool {
        !self
            .workflow
            .inputs
            .iter()
            .any(|input| matches!(input.default, Some(Text::Template(_))))
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
                .get::<Inputs>()
                .ok_or_else(|| foreign_inputs(self.file()))?;
            let report = crate::runner::run_with(self, client, inputs, settings, reporter).await?;
            Ok(report.exit_code())
        })
    }
}
