//! `apiflow import`: converts another tool's files into workflows, checks every generated
//! workflow with apiflow's own validator, then writes them.
//!
//! In order: read and parse the input files → convert (warnings collected) → validate each
//! generated workflow (a failure here is an importer bug and stops everything) → print the
//! warnings → write the files (or print the one workflow).

pub mod convert;
pub mod postman;
pub mod script;
pub mod vars;
pub mod yaml_out;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::cli::EXIT_INVALID;
use crate::diagnostic::Diagnostic;

/// What to import.
#[derive(Debug, clap::Subcommand)]
pub enum ImportSource {
    /// Convert a Postman collection (v2.0 or v2.1) into workflows.
    Postman {
        /// The collection, exported from Postman as JSON.
        #[arg(value_name = "COLLECTION.json")]
        collection: PathBuf,
        /// A Postman environment: its values become the inputs' defaults.
        #[arg(short, long, value_name = "ENV.json")]
        environment: Option<PathBuf>,
        /// Write one workflow with every request, in order, to this file (default: stdout).
        #[arg(short, long, value_name = "OUT.yaml", conflicts_with = "out_dir")]
        output: Option<PathBuf>,
        /// Write one workflow per top-level folder into this directory.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

/// Where the workflows go.
#[derive(Debug)]
enum Destination<'a> {
    Stdout,
    File(&'a Path),
    Dir(&'a Path),
}

/// Runs an import command and returns the exit code.
pub fn run(source: &ImportSource) -> i32 {
    let color = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    match source {
        ImportSource::Postman {
            collection,
            environment,
            output,
            out_dir,
        } => {
            let destination = match (output, out_dir) {
                (Some(file), _) => Destination::File(file),
                (None, Some(dir)) => Destination::Dir(dir),
                (None, None) => Destination::Stdout,
            };
            match postman_import(collection, environment.as_deref(), &destination, color) {
                Ok(()) => 0,
                Err(diagnostics) => {
                    let mut err = std::io::stderr().lock();
                    for diagnostic in diagnostics {
                        let _ = writeln!(err, "{}", diagnostic.render(color));
                    }
                    EXIT_INVALID
                }
            }
        }
    }
}

fn read(path: &Path) -> Result<String, Diagnostic> {
    std::fs::read_to_string(path).map_err(|error| {
        let why = match error.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_owned(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
            std::io::ErrorKind::InvalidData => "it is not UTF-8 text".to_owned(),
            _ if path.is_dir() => "it is a directory".to_owned(),
            _ => error.to_string(),
        };
        Diagnostic::error(format!("cannot read `{}`: {why}", path.display()))
    })
}

fn postman_import(
    collection_path: &Path,
    environment_path: Option<&Path>,
    destination: &Destination<'_>,
    color: bool,
) -> Result<(), Vec<Diagnostic>> {
    let name = collection_path.display().to_string();
    let text = read(collection_path).map_err(|d| vec![d])?;
    let json = postman::parse_json(&name, &text).map_err(|d| vec![d])?;
    let collection = postman::collection(&name, &json).map_err(|d| vec![d])?;
    if collection.requests.is_empty() {
        return Err(vec![
            Diagnostic::error(format!("`{name}` has no requests to import"))
                .help("add requests to the collection in Postman, then export it again"),
        ]);
    }
    let environment = match environment_path {
        None => Vec::new(),
        Some(path) => {
            let env_name = path.display().to_string();
            let text = read(path).map_err(|d| vec![d])?;
            let json = postman::parse_json(&env_name, &text).map_err(|d| vec![d])?;
            postman::environment(&env_name, &json).map_err(|d| vec![d])?
        }
    };
    let file_name = collection_path
        .file_name()
        .map_or_else(|| name.clone(), |f| f.to_string_lossy().into_owned());
    let mut warnings = Vec::new();
    let split = matches!(destination, Destination::Dir(_));
    let workflows = convert::workflows(&collection, &environment, &file_name, split, &mut warnings)
        .map_err(|d| vec![d])?;

    let targets: Vec<(String, &convert::Workflow)> = workflows
        .iter()
        .map(|w| {
            let target = match destination {
                Destination::Stdout => format!("{}.yaml", w.stem),
                Destination::File(path) => path.display().to_string(),
                Destination::Dir(dir) => dir.join(format!("{}.yaml", w.stem)).display().to_string(),
            };
            (target, w)
        })
        .collect();
    for (target, workflow) in &targets {
        if let Err(mut diagnostics) = crate::check_source(&crate::span::Source::new(
            target.clone(),
            workflow.text.clone(),
        )) {
            diagnostics.push(
                Diagnostic::error(format!(
                    "the workflow imported from `{name}` does not validate, so nothing was written"
                ))
                .help("this is a bug in the importer; please report it with the collection"),
            );
            return Err(diagnostics);
        }
    }

    {
        let mut err = std::io::stderr().lock();
        for warning in &warnings {
            let _ = write!(err, "{}", warning.render(color));
        }
    }
    match destination {
        Destination::Stdout => {
            let mut out = std::io::stdout().lock();
            for (_, workflow) in &targets {
                let _ = out.write_all(workflow.text.as_bytes());
            }
        }
        Destination::File(_) | Destination::Dir(_) => {
            if let Destination::Dir(dir) = destination {
                std::fs::create_dir_all(dir).map_err(|e| {
                    vec![Diagnostic::error(format!(
                        "cannot create `{}`: {e}",
                        dir.display()
                    ))]
                })?;
            }
            for (target, workflow) in &targets {
                std::fs::write(target, &workflow.text).map_err(|e| {
                    vec![Diagnostic::error(format!("cannot write `{target}`: {e}"))]
                })?;
                eprintln!(
                    "✓ wrote `{target}`: {} step{}",
                    workflow.steps,
                    if workflow.steps == 1 { "" } else { "s" }
                );
            }
        }
    }
    Ok(())
}
