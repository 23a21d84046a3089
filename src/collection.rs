//! The files `run`, `validate` and `plan` take: a workflow, or a Postman collection imported in
//! memory and checked as a workflow, its diagnostics pointed back at the collection's items.
//!
//! In order: `--environment` and `--globals` are read → each file is recognised by its content
//! → a collection is imported (only the requests of `--folder`s), its environment, collection
//! and global values becoming the inputs' defaults and its secret values input sources → the
//! workflow is checked, and every diagnostic about it names the collection's item.

use std::path::Path;

use apiflow::check::confine::FileAccess;
use apiflow::check::environment::{Scoped, read_export};
use apiflow::diagnostic::Diagnostic;
use apiflow::{Plan, Source};
use apiflow_import::postman::Variable;

/// The values of `--environment` and `--globals`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Scopes {
    /// `--environment`.
    pub(crate) environment: Vec<Scoped>,
    /// `--globals`.
    pub(crate) globals: Vec<Scoped>,
}

impl Scopes {
    /// Reads the files of `--environment` and `--globals`.
    pub(crate) fn read(
        environment: Option<&Path>,
        globals: Option<&Path>,
    ) -> Result<Scopes, Diagnostic> {
        Ok(Scopes {
            environment: match environment {
                Some(path) => read_export(path, "--environment")?,
                None => Vec::new(),
            },
            globals: match globals {
                Some(path) => read_export(path, "--globals")?,
                None => Vec::new(),
            },
        })
    }
}

/// A file checked and ready to run.
pub(crate) struct Checked {
    /// The workflow.
    pub(crate) plan: Plan,
    /// What the import of a collection could not translate exactly.
    pub(crate) warnings: Vec<Diagnostic>,
    /// A collection's own `--environment` and `--globals` sources: its secret values, under
    /// its inputs' names (the other values are its inputs' defaults already).
    pub(crate) scopes: Option<Scopes>,
    /// Where a collection's workflow came from, to point diagnostics found later at it.
    pub(crate) origin: Option<Origin>,
}

/// A collection imported in memory: its file, the workflow's text, and its items.
pub(crate) struct Origin {
    source: std::sync::Arc<Source>,
    runnable: apiflow_import::Runnable,
    path: std::path::PathBuf,
}

impl Origin {
    /// Returns the name of the input a Postman variable became.
    pub(crate) fn input_name(&self, postman: &str) -> String {
        self.runnable
            .renamed
            .iter()
            .find(|(p, _)| p == postman)
            .map_or_else(|| postman.to_owned(), |(_, input)| input.clone())
    }

    /// Names the collection's item or variable in each diagnostic about the workflow.
    pub(crate) fn locate(&self, diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
        locate(diagnostics, &self.source, &self.runnable, &self.path)
    }
}

/// Checks a workflow file, or imports and checks a Postman collection.
pub(crate) fn check(
    path: &Path,
    access: &FileAccess,
    scopes: &Scopes,
    folders: &[String],
) -> Result<Checked, Vec<Diagnostic>> {
    if !apiflow_import::is_postman_collection(path) {
        if !folders.is_empty() {
            return Err(vec![
                Diagnostic::error(format!(
                    "`--folder` picks requests of a Postman collection, and `{}` is a workflow",
                    path.display()
                ))
                .help("leave out `--folder`: it picks the requests of a Postman collection"),
            ]);
        }
        return apiflow::check_file_in(path, access).map(|plan| Checked {
            plan,
            warnings: Vec::new(),
            scopes: None,
            origin: None,
        });
    }
    let variables = |list: &[Scoped]| -> Vec<Variable> {
        list.iter()
            .map(|s| Variable {
                name: s.name.clone(),
                value: (!s.secret).then(|| s.value.clone()),
                secret: s.secret,
                description: None,
            })
            .collect()
    };
    let runnable = apiflow_import::postman_for_run(
        path,
        &variables(&scopes.environment),
        &variables(&scopes.globals),
        folders,
    )?;
    let source = Source::new(path.display().to_string(), runnable.text.clone());
    let plan = apiflow::check_source_in(&source, access).map_err(|diagnostics| {
        // The import's warnings come first, as they do when the check passes.
        let mut all = runnable.warnings.clone();
        all.extend(locate(diagnostics, &source, &runnable, path));
        all
    })?;
    let input_name = |postman: &str| {
        runnable
            .renamed
            .iter()
            .find(|(p, _)| p == postman)
            .map_or_else(|| postman.to_owned(), |(_, input)| input.clone())
    };
    let secrets = |list: &[Scoped]| -> Vec<Scoped> {
        list.iter()
            .filter(|s| s.secret)
            .map(|s| Scoped {
                name: input_name(&s.name),
                ..s.clone()
            })
            .collect()
    };
    let own = Scopes {
        environment: secrets(&scopes.environment),
        globals: secrets(&scopes.globals),
    };
    Ok(Checked {
        plan,
        warnings: runnable.warnings.clone(),
        scopes: Some(own),
        origin: Some(Origin {
            source,
            runnable,
            path: path.to_path_buf(),
        }),
    })
}

/// Names, in each diagnostic about the imported workflow, the collection's item (or variable)
/// and the key it is about: `token_flow.postman_collection.json: item "Auth / Get token" >
/// request.url: …`. The lines shown stay those of the imported workflow.
fn locate(
    diagnostics: Vec<Diagnostic>,
    source: &std::sync::Arc<Source>,
    runnable: &apiflow_import::Runnable,
    path: &Path,
) -> Vec<Diagnostic> {
    let file = path.file_name().map_or_else(
        || path.display().to_string(),
        |f| f.to_string_lossy().into_owned(),
    );
    diagnostics
        .into_iter()
        .map(|mut diagnostic| {
            let ours = diagnostic
                .source
                .as_ref()
                .is_some_and(|s| s.name == source.name && s.text == source.text);
            if !ours || diagnostic.span.line == 0 {
                return diagnostic;
            }
            let place = place(&source.text, diagnostic.span.line, runnable);
            diagnostic.title = format!("{file}: {place}: {}", diagnostic.title);
            diagnostic.notes.push(format!(
                "the lines shown are of the workflow the collection is run as: `apiflow import postman {}` prints it",
                path.display()
            ));
            diagnostic
        })
        .collect()
}

/// Says where a line of the imported workflow comes from: `item "Auth / Get token" >
/// request.url`, `variable "api-path"`, or the workflow's key path.
fn place(text: &str, line: u32, runnable: &apiflow_import::Runnable) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let Some(at) = usize::try_from(line)
        .ok()
        .and_then(|l| l.checked_sub(1))
        .filter(|&l| l < lines.len())
    else {
        return "the imported workflow".to_owned();
    };
    let indent = |l: &str| l.len() - l.trim_start().len();
    let key = |l: &str| {
        let t = l.trim_start();
        let t = t.strip_prefix("- ").unwrap_or(t);
        t.split(':')
            .next()
            .unwrap_or(t)
            .trim()
            .trim_matches('"')
            .to_owned()
    };
    let meaningful = |l: &str| !l.trim().is_empty() && !l.trim_start().starts_with('#');
    // Keys from the line up to the top level, innermost first.
    let mut keys = vec![key(lines[at])];
    // A step is an item of the top-level `steps:` list, written `  - name: …`.
    let is_step = |l: &str| indent(l) == 2 && l.trim_start().starts_with("- ");
    let mut item_line = is_step(lines[at]).then_some(at);
    let mut level = indent(lines[at]);
    for index in (0..at).rev() {
        let l = lines[index];
        if !meaningful(l) || indent(l) >= level {
            continue;
        }
        level = indent(l);
        if is_step(l) && item_line.is_none() {
            item_line = Some(index);
        }
        keys.push(key(l));
        if level == 0 {
            break;
        }
    }
    keys.reverse();
    match (keys.first().map(String::as_str), item_line) {
        (Some("steps"), Some(item_line)) => {
            let step = lines[..=item_line]
                .iter()
                .skip_while(|l| !l.starts_with("steps:"))
                .filter(|l| is_step(l))
                .count();
            let item = step
                .checked_sub(1)
                .and_then(|i| runnable.items.get(i))
                .map_or_else(
                    || format!("step {step}"),
                    |i| format!("item \"{}\"", i.join(" / ")),
                );
            // Within the step, from its own keys down ("name" is the item line's own key).
            let inner: Vec<&str> = keys.iter().skip(1).map(String::as_str).collect();
            let inner = if inner.len() > 1 && inner[0] == "name" && item_line != at {
                &inner[1..]
            } else {
                &inner[..]
            };
            if inner.is_empty() {
                item
            } else {
                format!("{item} > {}", inner.join("."))
            }
        }
        (Some("inputs"), _) if keys.len() > 1 => {
            let input = &keys[1];
            let postman = runnable
                .renamed
                .iter()
                .find(|(_, i)| i == input)
                .map_or(input.as_str(), |(p, _)| p.as_str());
            format!("variable \"{postman}\"")
        }
        _ => keys.join("."),
    }
}

#[cfg(test)]
mod tests {
    use super::place;

    #[test]
    fn a_line_of_the_imported_workflow_names_its_item_and_key() {
        let text = "name: Shop\ninputs:\n  api_path: { default: v1 }\nsteps:\n  - name: Health\n    request:\n      url: \"http://h/health\"\n\n  # Folder: Users\n  - name: Upload\n    request:\n      url: \"http://h/up\"\n      multipart:\n        - file: { file: a.bin }\n    expect:\n      status: 200\n";
        let runnable = apiflow_import::Runnable {
            text: text.to_owned(),
            warnings: Vec::new(),
            items: vec![vec!["Health".into()], vec!["Users".into(), "Upload".into()]],
            renamed: vec![("api-path".into(), "api_path".into())],
        };
        let at = |line: u32| place(text, line, &runnable);
        assert_eq!(at(3), "variable \"api-path\"");
        assert_eq!(at(7), "item \"Health\" > request.url");
        assert_eq!(at(10), "item \"Users / Upload\" > name");
        assert_eq!(at(14), "item \"Users / Upload\" > request.multipart.file");
        assert_eq!(at(16), "item \"Users / Upload\" > expect.status");
        assert_eq!(at(1), "name");
    }
}
