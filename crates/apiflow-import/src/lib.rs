//! Importers: convert another tool's files into workflows and check every generated workflow
//! with apiflow's own validator; the caller prints the warnings and writes the files.
//!
//! In order: read and parse the input files → convert (warnings collected) → validate each
//! generated workflow (a failure here is an importer bug and stops everything) → hand back the
//! workflows with their target files, and the warnings.

pub mod convert;
pub mod postman;
pub mod script;
pub mod vars;
pub mod yaml_out;

use std::path::{Path, PathBuf};

use apiflow::Diagnostic;

/// Where the imported workflows go.
#[derive(Debug, Clone)]
pub enum Destination {
    /// One workflow with every request, printed to standard output.
    Stdout,
    /// One workflow with every request, written to this file.
    File(PathBuf),
    /// One workflow per top-level folder, written into this directory.
    Dir(PathBuf),
}

/// One generated workflow, checked, with the file it is meant for.
#[derive(Debug)]
pub struct Imported {
    /// Where it goes: the file's path (for `Stdout`, `STEM.yaml`, used in messages only).
    pub target: String,
    /// The workflow's YAML text.
    pub text: String,
    /// How many steps it has.
    pub steps: usize,
}

/// What an import produced: the workflows, and the warnings about what was not translated.
#[derive(Debug)]
pub struct Import {
    /// The generated workflows, each one already validated.
    pub workflows: Vec<Imported>,
    /// Everything that could not be translated exactly.
    pub warnings: Vec<Diagnostic>,
}

fn read(path: &Path) -> Result<String, Diagnostic> {
    std::fs::read_to_string(path).map_err(|error| apiflow::check::file::cannot_read(path, &error))
}

/// Converts a Postman collection (and an optional environment) into checked workflows.
pub fn postman(
    collection_path: &Path,
    environment_path: Option<&Path>,
    destination: &Destination,
) -> Result<Import, Vec<Diagnostic>> {
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
        if let Err(mut diagnostics) =
            apiflow::check_source(&apiflow::Source::new(target.clone(), workflow.text.clone()))
        {
            diagnostics.push(
                Diagnostic::error(format!(
                    "the workflow imported from `{name}` does not validate, so nothing was written"
                ))
                .help("this is a bug in the importer; please report it with the collection"),
            );
            return Err(diagnostics);
        }
    }

    Ok(Import {
        workflows: targets
            .into_iter()
            .map(|(target, workflow)| Imported {
                target,
                text: workflow.text.clone(),
                steps: workflow.steps,
            })
            .collect(),
        warnings,
    })
}
