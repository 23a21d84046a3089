//! `apiflow report`: commands on reports already written; `merge` combines the JSON reports of
//! a load test's shards into one report, checks its thresholds again and prints its summary.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::Subcommand;

use apiflow::ExitCode;
use apiflow::diagnostic::Diagnostic;
use apiflow::load::merge;
use apiflow::load::threshold;
use apiflow::report::Format;
use apiflow::secret::Masker;

use crate::cli::ColorChoice;

/// What to do with reports.
#[derive(Debug, Subcommand)]
pub(crate) enum ReportCommand {
    /// Combine the JSON reports of a load test's shards (or of several load generators) into
    /// one: histograms added, counts summed, thresholds checked again on the whole.
    Merge {
        /// The JSON reports of the load runs (`--report json=PATH`), one per shard.
        #[arg(required = true, value_name = "REPORT.json")]
        files: Vec<PathBuf>,
        /// Write a report of the merge: json=PATH, junit=PATH, html=PATH or markdown=PATH
        /// (repeatable).
        #[arg(long = "report", value_name = "FORMAT=PATH", value_parser = parse_report)]
        reports: Vec<(Format, PathBuf)>,
        /// Check a threshold on the merged metrics too, as `apiflow run --threshold` takes it
        /// (`p95<300ms`, `errors<1%`, `rps>500`, `step=NAME:p99<1s`; repeatable).
        #[arg(long = "threshold", value_name = "THRESHOLD")]
        thresholds: Vec<String>,
        /// Merge the shards given though some are missing (with a warning), rather than
        /// refusing.
        #[arg(long)]
        partial: bool,
        /// When to colour diagnostics.
        #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
        color: ColorChoice,
    },
}

fn parse_report(text: &str) -> Result<(Format, PathBuf), String> {
    let Some((format, path)) = text.split_once('=') else {
        return Err(format!(
            "`--report {text}` needs the form FORMAT=PATH, e.g. `json=merged.json`"
        ));
    };
    let format = match Format::parse(format) {
        Some(Format::Har) => {
            return Err(
                "a merge has no requests to write as HAR: use `json`, `junit`, `html` or `markdown`"
                    .into(),
            );
        }
        Some(format) => format,
        None => {
            return Err(format!(
                "unknown report format `{format}`: use `json`, `junit`, `html` or `markdown`"
            ));
        }
    };
    if path.is_empty() {
        return Err(format!("`--report {text}` needs a path after `=`"));
    }
    Ok((format, PathBuf::from(path)))
}

/// Runs a `report` command.
pub(crate) fn run(command: ReportCommand) -> ExitCode {
    match command {
        ReportCommand::Merge {
            files,
            reports,
            thresholds,
            partial,
            color,
        } => merge_command(
            &files,
            &reports,
            &thresholds,
            partial,
            color.enabled(std::io::stderr().is_terminal()),
        ),
    }
}

fn print_diagnostics(diagnostics: &[Diagnostic], color: bool) {
    let _ = std::io::stderr()
        .lock()
        .write_all(Diagnostic::render_all(diagnostics, color).as_bytes());
}

fn merge_command(
    files: &[PathBuf],
    targets: &[(Format, PathBuf)],
    flags: &[String],
    partial: bool,
    color: bool,
) -> ExitCode {
    let mut problems = Vec::new();
    let mut texts = Vec::new();
    for file in files {
        let name = file.display().to_string();
        match std::fs::read_to_string(file) {
            Ok(text) => texts.push((name, text)),
            Err(error) => {
                let mut problem = Diagnostic::error(format!("cannot read `{name}`: {error}"));
                if name.contains(['*', '?', '[']) {
                    problem = problem.help(
                        "the shell passes a pattern that matches no file as it is: check the reports' folder and names",
                    );
                }
                problems.push(problem);
            }
        }
    }
    // A report that could not be read may hold the shards that would be missing: say nothing
    // of missing shards then.
    let merged = match merge::merge(&texts, partial || !problems.is_empty()) {
        Ok(merged) if problems.is_empty() => merged,
        Ok(_) => {
            print_diagnostics(&problems, color);
            return ExitCode::Invalid;
        }
        Err(more) => {
            problems.extend(more);
            print_diagnostics(&problems, color);
            return ExitCode::Invalid;
        }
    };
    let steps: Vec<&str> = merged.metrics.step_names().collect();
    let extra = match threshold::from_flags(flags, Some(&steps)) {
        Ok(extra) => extra,
        Err(problems) => {
            print_diagnostics(&problems, color);
            return ExitCode::Invalid;
        }
    };
    print_diagnostics(&merged.warnings, color);
    let verdicts: Vec<_> = merged
        .all_thresholds(&extra)
        .iter()
        .map(|t| t.check(&merged.metrics))
        .collect();
    let outcome = merged.outcome(&verdicts);
    let mut written = Vec::new();
    let load = merged.load(&verdicts);
    for (format, path) in targets {
        let text = match format {
            Format::Json => apiflow::report::json::render_values(&merged.workflows, &load),
            Format::Junit => apiflow::report::merged::junit(&load),
            // The reports read were masked when written; a merge learns no secret.
            Format::Html => {
                apiflow::report::html::render(&[], std::slice::from_ref(&load), &Masker::new())
            }
            Format::Markdown => {
                apiflow::report::markdown::render(&[], std::slice::from_ref(&load), 0)
            }
            // `parse_report` refuses HAR.
            Format::Har => continue,
        };
        if let Err(message) = write_file(path, &text) {
            written.push(Diagnostic::error(message));
        }
    }
    print!("{}", merged.summary(&verdicts));
    let _ = std::io::stdout().flush();
    if !written.is_empty() {
        print_diagnostics(&written, color);
        return outcome.worst(ExitCode::Invalid);
    }
    outcome
}

fn write_file(path: &std::path::Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create `{}`: {e}", parent.display()))?;
    }
    std::fs::write(path, text)
        .map_err(|e| format!("cannot write the report `{}`: {e}", path.display()))
}
