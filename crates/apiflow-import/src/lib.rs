//! Importers: convert another tool's files (Postman collections, Arazzo documents) into workflows and check every generated workflow
//! with apiflow's own validator; the caller prints the warnings and writes the files.
//!
//! In order: read and parse the input files → convert (warnings collected) → validate each
//! generated workflow (a failure here is an importer bug and stops everything) → hand back the
//! workflows with their target files, and the warnings.

pub mod arazzo;
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
    /// What became of the test scripts' assertions, over every workflow.
    pub assertions: convert::Assertions,
}

/// Reads a Postman export as text, as Newman does: UTF-8 with or without a byte-order mark, or
/// UTF-16 (either byte order) with one.
fn read(path: &Path) -> Result<String, Diagnostic> {
    let bytes =
        std::fs::read(path).map_err(|error| apiflow::check::file::cannot_read(path, &error))?;
    decode(&bytes).map_err(|why| {
        Diagnostic::error(format!("cannot read `{}`: {why}", path.display()))
            .help("export the file from Postman again, or save it as UTF-8")
    })
}

/// Decodes a file's bytes by its byte-order mark; without one they must be UTF-8.
fn decode(bytes: &[u8]) -> Result<String, String> {
    let utf16 = |body: &[u8], unit: fn([u8; 2]) -> u16, order: &str| {
        if body.len() % 2 == 1 {
            return Err(format!(
                "it starts with a UTF-16 {order} byte-order mark but has an odd number of bytes"
            ));
        }
        let units = body.chunks_exact(2).map(|pair| unit([pair[0], pair[1]]));
        char::decode_utf16(units)
            .enumerate()
            .map(|(index, unit)| {
                unit.map_err(|_| {
                    format!(
                        "it is not valid UTF-16 {order}: an unpaired surrogate at byte {}",
                        2 + 2 * index
                    )
                })
            })
            .collect::<Result<String, String>>()
    };
    match bytes {
        [0xEF, 0xBB, 0xBF, rest @ ..] => utf8(rest, 3),
        [0xFF, 0xFE, rest @ ..] => utf16(rest, u16::from_le_bytes, "little-endian"),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, u16::from_be_bytes, "big-endian"),
        _ => utf8(bytes, 0),
    }
}

fn utf8(bytes: &[u8], offset: usize) -> Result<String, String> {
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|error| {
            format!(
                "it is not UTF-8 text (byte {} is not valid UTF-8) and has no UTF-16 byte-order mark",
                offset + error.valid_up_to()
            )
        })
}

/// How to import, beyond the files and the destination.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Newman's `--working-dir`: the folder the collection's relative file paths (uploads,
    /// file bodies, client certificates) are relative to.
    pub working_dir: Option<PathBuf>,
}

/// Converts a Postman collection (and an optional environment) into checked workflows.
pub fn postman(
    collection_path: &Path,
    environment_path: Option<&Path>,
    destination: &Destination,
) -> Result<Import, Vec<Diagnostic>> {
    postman_with(
        collection_path,
        environment_path,
        destination,
        &Options::default(),
    )
}

/// Converts a Postman collection (and an optional environment) into checked workflows, with
/// `options`.
pub fn postman_with(
    collection_path: &Path,
    environment_path: Option<&Path>,
    destination: &Destination,
    options: &Options,
) -> Result<Import, Vec<Diagnostic>> {
    let name = collection_path.display().to_string();
    let text = read(collection_path).map_err(|d| vec![d])?;
    let json = postman::parse_json(&name, &text).map_err(|d| vec![d])?;
    let mut collection = postman::collection(&name, &json).map_err(|d| vec![d])?;
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
    let mut warnings = std::mem::take(&mut collection.warnings);
    let split = matches!(destination, Destination::Dir(_));
    let files = convert::FilePaths {
        working_dir: options.working_dir.clone(),
        out_dir: match destination {
            Destination::Stdout => PathBuf::from("."),
            Destination::File(path) => path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
            Destination::Dir(dir) => dir.clone(),
        },
    };
    let workflows = convert::workflows(
        &collection,
        &environment,
        &file_name,
        &files,
        split,
        &mut warnings,
    )
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
        // The files the workflow sends are the user's to put in place: their paths are
        // checked, not the files.
        let access = apiflow::check::confine::FileAccess {
            unopened: true,
            ..apiflow::check::confine::FileAccess::default()
        };
        let source = apiflow::Source::new(target.clone(), workflow.text.clone());
        if let Err(mut diagnostics) = apiflow::check_source_in(&source, &access) {
            diagnostics.push(
                Diagnostic::error(format!(
                    "the workflow imported from `{name}` does not validate, so nothing was written"
                ))
                .help("this is a bug in the importer; please report it with the collection"),
            );
            return Err(diagnostics);
        }
    }

    let mut assertions = convert::Assertions::default();
    for (_, workflow) in &targets {
        assertions += workflow.assertions;
    }
    Ok(Import {
        assertions,
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

/// Converts the workflows of an Arazzo document (or the one named `workflow`) into checked
/// workflows: one file each in a `Dir`, else exactly one workflow. `sources` names the file to
/// read for a source description instead of its `url`.
///
/// # Errors
/// The document's or a description's problems, a step whose operation is not found, several
/// workflows for one file, or an imported workflow that does not validate.
pub fn arazzo(
    path: &Path,
    destination: &Destination,
    workflow: Option<&str>,
    sources: &[(String, PathBuf)],
) -> Result<Import, Vec<Diagnostic>> {
    let loaded = arazzo::load(path, sources)?;
    let name = path.display().to_string();
    if workflow.is_none()
        && loaded.document.workflows.len() > 1
        && !matches!(destination, Destination::Dir(_))
    {
        let ids: Vec<String> = loaded
            .document
            .workflows
            .iter()
            .map(|w| format!("`{}`", w.id.value))
            .collect();
        return Err(vec![
            Diagnostic::error(format!(
                "`{name}` has {} workflows: {}",
                ids.len(),
                ids.join(", ")
            ))
            .help("choose one with `--workflow ID`, or write each to a folder with `-o DIR`"),
        ]);
    }
    let mut warnings = Vec::new();
    let translated = arazzo::translate(&loaded, workflow, &mut warnings)?;
    let mut workflows = Vec::new();
    for workflow in translated {
        let target = match destination {
            Destination::Stdout => format!("{}.yaml", workflow.stem),
            Destination::File(file) => file.display().to_string(),
            Destination::Dir(dir) => dir
                .join(format!("{}.yaml", workflow.stem))
                .display()
                .to_string(),
        };
        let source = apiflow::Source::new(target.clone(), workflow.text.clone());
        if let Err(mut diagnostics) =
            apiflow::check_source_in(&source, &apiflow::check::confine::FileAccess::default())
        {
            diagnostics.push(
                Diagnostic::error(format!(
                    "the workflow imported from `{name}` does not validate, so nothing was written"
                ))
                .help("this is a bug in the importer; please report it with the document"),
            );
            return Err(diagnostics);
        }
        workflows.push(Imported {
            target,
            text: workflow.text,
            steps: workflow.steps,
        });
    }
    Ok(Import {
        workflows,
        warnings,
        assertions: convert::Assertions::default(),
    })
}

/// A collection imported in memory to be run: one workflow with the requests of the chosen
/// folders, and where each of its steps comes from.
#[derive(Debug)]
pub struct Runnable {
    /// The workflow's YAML text (not validated yet: the caller checks it as it checks files).
    pub text: String,
    /// Everything that could not be translated exactly.
    pub warnings: Vec<Diagnostic>,
    /// Each step's item in the collection, in step order: its folders, then its name.
    pub items: Vec<Vec<String>>,
    /// The Postman variables whose input has another name: (Postman name, input name).
    pub renamed: Vec<(String, String)>,
}

/// Tells whether a file holds a Postman collection: a JSON object whose `info` has a Postman
/// `schema` or a `_postman_id`, or which has `info` and an `item` list, as it is or wrapped in
/// `{ "collection": … }` as Postman's API exports it. A Collection v1 and an environment export
/// count too, so that the importer says what they are.
pub fn is_postman_collection(path: &Path) -> bool {
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    let Ok(text) = decode(&bytes) else {
        return false;
    };
    if !text.trim_start().starts_with('{') {
        return false;
    }
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return false;
    };
    // Postman's API wraps an export: `{ "collection": { … } }`.
    let json = match json.get("collection") {
        Some(inner) if inner.get("info").is_some() => inner,
        _ => &json,
    };
    let info = json.get("info");
    let schema = info
        .and_then(|i| i.get("schema"))
        .and_then(serde_json::Value::as_str);
    let list = |key: &str| json.get(key).is_some_and(serde_json::Value::is_array);
    schema.is_some_and(|s| s.contains("getpostman.com") || s.contains("postman.com"))
        || info.is_some_and(|i| i.get("_postman_id").is_some())
        || (info.is_some_and(serde_json::Value::is_object) && list("item"))
        // A Collection v1 or an environment, which the importer refuses saying what they are.
        || (list("requests") && (list("order") || list("folders")))
        || (list("values") && json.get("_postman_variable_scope").is_some())
}

/// Imports a collection in memory to run it: only the requests in `folders` (at any depth,
/// their subfolders included) when it names any, with values of the environment over the
/// collection's own variables, and globals under them.
pub fn postman_for_run(
    collection_path: &Path,
    environment: &[postman::Variable],
    globals: &[postman::Variable],
    folders: &[String],
) -> Result<Runnable, Vec<Diagnostic>> {
    let name = collection_path.display().to_string();
    let text = read(collection_path).map_err(|d| vec![d])?;
    let json = postman::parse_json(&name, &text).map_err(|d| vec![d])?;
    let mut collection = postman::collection(&name, &json).map_err(|d| vec![d])?;
    if !folders.is_empty() {
        let mut known: Vec<String> = Vec::new();
        for request in &collection.requests {
            for folder in &request.folders {
                if !known.contains(folder) {
                    known.push(folder.clone());
                }
            }
        }
        let mut problems = Vec::new();
        for folder in folders {
            if known.contains(folder) {
                continue;
            }
            let help = apiflow::diagnostic::did_you_mean(folder, known.iter().map(String::as_str))
                .unwrap_or_else(|| {
                    if known.is_empty() {
                        "it has no folders: run it without `--folder`".to_owned()
                    } else {
                        format!(
                            "its folders are {}",
                            known
                                .iter()
                                .map(|f| format!("`{f}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                });
            problems.push(
                Diagnostic::error(format!("`--folder {folder}`: `{name}` has no such folder"))
                    .help(help),
            );
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        collection
            .requests
            .retain(|r| r.folders.iter().any(|f| folders.contains(f)));
    }
    if collection.requests.is_empty() {
        return Err(vec![
            Diagnostic::error(format!("`{name}` has no requests to run"))
                .help("add requests to the collection in Postman, then export it again"),
        ]);
    }
    // Postman's scopes, lowest first: globals, then the collection's variables, then the
    // environment; the importer lets its second list win over the collection's.
    let definitions: Vec<postman::Variable> = globals
        .iter()
        .filter(|g| {
            !collection.variables.iter().any(|v| v.name == g.name)
                && !environment.iter().any(|e| e.name == g.name)
        })
        .chain(environment)
        .cloned()
        .collect();
    let file_name = collection_path
        .file_name()
        .map_or_else(|| name.clone(), |f| f.to_string_lossy().into_owned());
    let mut warnings = std::mem::take(&mut collection.warnings);
    // The workflow is checked as if it were a file beside the collection.
    let files = convert::FilePaths {
        working_dir: None,
        out_dir: collection_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
    };
    let mut workflows = convert::workflows(
        &collection,
        &definitions,
        &file_name,
        &files,
        false,
        &mut warnings,
    )
    .map_err(|d| vec![d])?;
    let Some(workflow) = workflows.pop() else {
        return Err(vec![Diagnostic::error(format!(
            "`{name}` gave no workflow to run"
        ))]);
    };
    Ok(Runnable {
        text: workflow.text,
        warnings,
        items: collection
            .requests
            .iter()
            .map(|r| {
                r.folders
                    .iter()
                    .cloned()
                    .chain(std::iter::once(r.name.clone()))
                    .collect()
            })
            .collect(),
        renamed: workflow.renamed,
    })
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn a_utf8_byte_order_mark_is_dropped() {
        assert_eq!(decode(b"\xEF\xBB\xBF{\"a\": 1}").unwrap(), "{\"a\": 1}");
        assert_eq!(decode("{\"é\": 1}".as_bytes()).unwrap(), "{\"é\": 1}");
    }

    #[test]
    fn utf16_with_a_byte_order_mark_is_decoded_in_either_order() {
        let text = "{\"name\": \"café 🚀\"}";
        let mut little = vec![0xFF, 0xFE];
        let mut big = vec![0xFE, 0xFF];
        for unit in text.encode_utf16() {
            little.extend(unit.to_le_bytes());
            big.extend(unit.to_be_bytes());
        }
        assert_eq!(decode(&little).unwrap(), text);
        assert_eq!(decode(&big).unwrap(), text);
    }

    #[test]
    fn undecodable_bytes_say_where() {
        assert_eq!(
            decode(b"\xEF\xBB\xBF{\xFF}").unwrap_err(),
            "it is not UTF-8 text (byte 4 is not valid UTF-8) and has no UTF-16 byte-order mark"
        );
        assert_eq!(decode(&[0xFF, 0xFE, b'{', 0]).unwrap(), "{");
        assert_eq!(
            decode(&[0xFF, 0xFE, b'{', 0, b'}']).unwrap_err(),
            "it starts with a UTF-16 little-endian byte-order mark but has an odd number of bytes"
        );
        assert_eq!(
            decode(&[0xFE, 0xFF, 0xDC, 0x00]).unwrap_err(),
            "it is not valid UTF-16 big-endian: an unpaired surrogate at byte 2"
        );
    }
}
