//! The files a workflow reads and writes: paths resolved against the workflow's folder (or
//! `--file-root`) and the output folder, refused when they lead out of them, and template
//! bodies read so that validation compiles them with the rest.
//!
//! A path is checked twice over: as written (an absolute path, or `..` that climbs out) and,
//! for a file that exists, once every symbolic link is followed, so that a link inside the
//! folder cannot lead out of it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use crate::access::{FileAccess, normalize, normalize_relative};
use crate::diagnostic::Diagnostic;
use crate::format::model::{
    Action, Body, BodySchema, FilePath, PartValue, SchemaDocument, Step, TemplateId, TemplateKind,
    TemplateSource, Tls, Workflow,
};
use crate::format::yaml::MAX_FILE_SIZE;
use crate::span::{Source, Spanned};

/// Resolves and checks every file path of a workflow, reads its template bodies into its
/// templates, and returns the problems found.
pub(crate) fn prepare(workflow: &mut Workflow, access: &FileAccess) -> Vec<Diagnostic> {
    let source = Arc::clone(&workflow.source);
    let mut files = Files {
        source: &source,
        access,
        base: None,
        root: None,
        errors: Vec::new(),
        templates: &mut workflow.templates,
    };
    if let Some(tls) = &mut workflow.defaults.tls {
        files.tls(tls, None);
    }
    if let Some(description) = &mut workflow.openapi {
        files.input_of(description, "openapi", None);
    }
    for step in workflow.steps.iter_mut().chain(workflow.finally.iter_mut()) {
        files.step(step);
    }
    files.errors
}

/// The walk over a workflow's paths.
struct Files<'a> {
    source: &'a Arc<Source>,
    access: &'a FileAccess,
    /// The workflow's folder, made absolute: worked out on the first path.
    base: Option<Result<PathBuf, String>>,
    /// The folder files are read from, canonical: worked out on the first path.
    root: Option<Result<PathBuf, String>>,
    errors: Vec<Diagnostic>,
    templates: &'a mut Vec<TemplateSource>,
}

/// Why a path was refused.
enum Refusal {
    /// It leads out of the root as written.
    Outside,
    /// It leads out of the root through a symbolic link.
    Link,
    /// It cannot be read (no such file, a folder, permissions).
    Unreadable(String),
    /// The folder it is relative to cannot be found.
    NoBase(String),
}

impl Files<'_> {
    /// Checks the files of a `tls:`: each client certificate and key.
    fn tls(&mut self, tls: &mut Tls, step: Option<&Spanned<String>>) {
        let certs = tls.hosts.iter_mut().map(|(_, c)| c).chain(tls.any.as_mut());
        for cert in certs {
            self.input_of(&mut cert.cert, "cert", step);
            self.input_of(&mut cert.key, "key", step);
        }
    }

    fn step(&mut self, step: &mut Step) {
        let name = step.name.clone();
        if let Action::Request(request) = &mut step.action
            && let Some(tls) = &mut request.tls
        {
            self.tls(tls, Some(&name));
        }
        if let Action::Request(request) = &mut step.action {
            match &mut request.body {
                Some(Body::File { file, .. }) => self.input(file, "file", &name),
                Some(Body::Template { file, template, .. }) => {
                    self.input(file, "template", &name);
                    *template = self.read_template(file, &name);
                }
                Some(Body::Multipart(parts)) => {
                    for part in parts {
                        if let PartValue::File { file, .. } = &mut part.value {
                            self.input(file, "file", &name);
                        }
                    }
                }
                _ => {}
            }
        }
        if let Some(save) = &mut step.save {
            self.output(save, &name);
        }
        if let Some(BodySchema {
            document: SchemaDocument::File(file),
            ..
        }) = &mut step.expect.schema
        {
            self.input(file, "file", &name);
        }
    }

    /// The workflow's folder, absolute and canonical.
    fn base(&mut self) -> Result<PathBuf, String> {
        self.base
            .get_or_insert_with(|| {
                let parent = Path::new(&self.source.name)
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                parent
                    .canonicalize()
                    .map_err(|e| format!("cannot find the workflow's folder: {e}"))
            })
            .clone()
    }

    /// The folder files are read from, canonical.
    fn root(&mut self) -> Result<PathBuf, String> {
        if let Some(root) = &self.root {
            return root.clone();
        }
        let root = match &self.access.file_root {
            Some(root) => root
                .canonicalize()
                .map_err(|_| format!("`--file-root {}` is not a folder", root.display())),
            None => self.base(),
        };
        self.root = Some(root.clone());
        root
    }

    /// Resolves a file to read, or says why it cannot be.
    fn resolve(&mut self, written: &str) -> Result<PathBuf, Refusal> {
        let base = self.base().map_err(Refusal::NoBase)?;
        let root = self.root().map_err(Refusal::NoBase)?;
        let joined = normalize(&base.join(written));
        if !joined.starts_with(&root) {
            return Err(Refusal::Outside);
        }
        let canonical = joined
            .canonicalize()
            .map_err(|e| Refusal::Unreadable(why(&e)))?;
        if !canonical.starts_with(&root) {
            return Err(Refusal::Link);
        }
        let metadata = std::fs::metadata(&canonical).map_err(|e| Refusal::Unreadable(why(&e)))?;
        if metadata.is_dir() {
            return Err(Refusal::Unreadable("it is a folder".into()));
        }
        if !metadata.is_file() {
            return Err(Refusal::Unreadable("it is not a regular file".into()));
        }
        std::fs::File::open(&canonical).map_err(|e| Refusal::Unreadable(why(&e)))?;
        Ok(canonical)
    }

    /// Checks a file the request reads, and notes where it is.
    fn input(&mut self, file: &mut FilePath, what: &str, step: &Spanned<String>) {
        self.input_of(file, what, Some(step));
    }

    /// Checks a file the workflow reads, in a step or not, and notes where it is.
    fn input_of(&mut self, file: &mut FilePath, what: &str, step: Option<&Spanned<String>>) {
        if self.access.unopened {
            return;
        }
        let written = &file.written;
        match self.resolve(&written.value) {
            Ok(path) => file.resolved = Some(path),
            Err(refusal) => {
                let (root_name, widen) = match &self.access.file_root {
                    Some(root) => (
                        format!("`--file-root {}`", root.display()),
                        "files a workflow reads must be under `--file-root`; give a wider one",
                    ),
                    None => (
                        "the workflow's folder".to_owned(),
                        "files a workflow reads stay under its folder; to read this one, widen \
                         the root with `--file-root DIR`",
                    ),
                };
                let (title, label, help) = match refusal {
                    Refusal::Outside => (
                        format!("`{what}: {}` is outside {root_name}", written.value),
                        "outside the root".to_owned(),
                        widen.to_owned(),
                    ),
                    Refusal::Link => (
                        format!(
                            "`{what}: {}` leads outside {root_name} through a symbolic link",
                            written.value
                        ),
                        "a link that leads out".to_owned(),
                        widen.to_owned(),
                    ),
                    Refusal::Unreadable(why) => (
                        format!("cannot read `{}`: {why}", written.value),
                        why,
                        "file paths are relative to the workflow's folder, and stay under it \
                         or under `--file-root DIR`"
                            .to_owned(),
                    ),
                    Refusal::NoBase(why) => (why, "a file is read from here".to_owned(), {
                        "file paths are relative to the workflow's folder".to_owned()
                    }),
                };
                self.errors.push(
                    Diagnostic::error(title)
                        .at(self.source, written.span, label)
                        .in_step(step)
                        .help(help),
                );
            }
        }
    }

    /// Reads a template body's text into the workflow's templates.
    fn read_template(&mut self, file: &FilePath, step: &Spanned<String>) -> Option<TemplateId> {
        let path = file.resolved.as_ref()?;
        let written = &file.written;
        let fail = |why: String| {
            Diagnostic::error(format!("cannot read `{}`: {why}", written.value))
                .at(self.source, written.span, why)
                .in_step(Some(step))
        };
        let bytes = match std::fs::read(path) {
            Ok(bytes) if bytes.len() > MAX_FILE_SIZE => {
                self.errors.push(
                    fail(format!("it is larger than {MAX_FILE_SIZE} bytes"))
                        .help("send a large file as it is with `body: { file: … }`"),
                );
                return None;
            }
            Ok(bytes) => bytes,
            Err(error) => {
                self.errors.push(fail(why(&error)));
                return None;
            }
        };
        let Ok(text) = String::from_utf8(bytes) else {
            self.errors.push(
                fail("it is not UTF-8 text".into())
                    .help("send a binary file as it is with `body: { file: … }`"),
            );
            return None;
        };
        let id = TemplateId(u32::try_from(self.templates.len()).unwrap_or(u32::MAX));
        // The template's errors point at its path: its own lines are not in this file.
        self.templates.push(TemplateSource {
            text,
            span: written.span,
            kind: TemplateKind::Text,
            column_offset: None,
        });
        Some(id)
    }

    /// Checks where `save:` writes: under the output folder, as written; links are followed
    /// when the file is written.
    fn output(&mut self, file: &mut FilePath, step: &Spanned<String>) {
        let written = &file.written;
        let relative = Path::new(&written.value);
        let climbs = normalize_relative(relative).is_none();
        if relative.is_absolute() || climbs || relative.has_root() {
            self.errors.push(
                Diagnostic::error(format!(
                    "`save: {}` is outside the output folder",
                    written.value
                ))
                .at(self.source, written.span, "outside the output folder")
                .in_step(Some(step))
                .help(
                    "`save:` paths are relative to `--output-dir DIR` (by default the current \
                     folder) and stay under it",
                ),
            );
            return;
        }
        let root = self
            .access
            .output_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("."));
        file.resolved = normalize_relative(relative).map(|r| root.join(r));
        file.root = Some(root);
    }
}

/// Says why a file cannot be read, in the words `cannot read` uses elsewhere.
fn why(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => error.to_string(),
    }
}

/// Writes the file `save:` names, creating the folders it needs, after checking that no
/// symbolic link leads it out of the output folder.
///
/// The bytes go to a new file beside it that is then renamed over it: a reader never sees half
/// a body, iterations that save at once leave one whole body (the last renamed), and a link
/// in the file's place is replaced, not written through.
pub(crate) fn write_output(file: &FilePath, bytes: &[u8]) -> Result<(), String> {
    let (Some(path), Some(root)) = (&file.resolved, &file.root) else {
        return Err("the path was not checked".into());
    };
    std::fs::create_dir_all(root).map_err(|e| format!("cannot create the output folder: {e}"))?;
    let root = root
        .canonicalize()
        .map_err(|e| format!("cannot find the output folder: {e}"))?;
    // The deepest folder that exists already decides where the rest is created: checked
    // before anything is created through it.
    let parent = path.parent().unwrap_or(Path::new("."));
    let mut existing = parent;
    while !existing.exists() {
        existing = existing.parent().unwrap_or(Path::new("."));
    }
    let leads_out = |p: &Path| p.canonicalize().map_or(true, |c| !c.starts_with(&root));
    if leads_out(existing) {
        return Err("it leads outside the output folder through a symbolic link".into());
    }
    std::fs::create_dir_all(parent).map_err(|e| format!("cannot create its folder: {e}"))?;
    if leads_out(parent) {
        return Err("it leads outside the output folder through a symbolic link".into());
    }
    if path.is_dir() {
        return Err("it is a folder".into());
    }
    let mut random = [0u8; 8];
    let _ = getrandom::fill(&mut random);
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let temporary = parent.join(format!(".{name}.{:016x}.part", u64::from_le_bytes(random)));
    let written = std::fs::write(&temporary, bytes)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|e| why(&e));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_normalised_and_climbing_out_is_refused() {
        let n = |p: &str| normalize_relative(Path::new(p));
        assert_eq!(n("a/./b/../c.txt"), Some(PathBuf::from("a/c.txt")));
        assert_eq!(n("a/../../c.txt"), None);
        assert_eq!(n("../c.txt"), None);
        assert_eq!(n("/etc/passwd"), None);
        assert_eq!(
            normalize(Path::new("/w/flows/../data/./x")),
            PathBuf::from("/w/data/x")
        );
    }
}
