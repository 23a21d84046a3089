//! `$ref`s: the files of a description (the description and every file its references name,
//! kept under one folder), every reference checked once at load, and chains of Reference
//! Objects followed with their cycles caught.
//!
//! A reference is `FILE#POINTER`: `FILE` is resolved against the folder of the file holding
//! the reference (RFC 3986), an empty `FILE` is that file itself, and `POINTER` is a JSON
//! Pointer (RFC 6901), percent-decoded first. Remote (`http:`, `https:`) references are never
//! fetched.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use percent_encoding::percent_decode_str;

use crate::access::normalize;
use crate::diagnostic::{Diagnostic, closest};
use crate::format::yaml::{self, MAX_FILE_SIZE};
use crate::span::{Source, Span};

use super::document::{Document, escape, segments};

/// A value in one of the description's files: the file's index and the value's pointer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Location {
    /// Index in [`Documents::docs`]; 0 is the description itself.
    pub(super) doc: usize,
    /// The JSON Pointer of the value in that file.
    pub(super) pointer: String,
}

impl Location {
    /// Returns the location of a member of this value.
    pub(super) fn child(&self, key: &str) -> Location {
        Location {
            doc: self.doc,
            pointer: format!("{}/{}", self.pointer, escape(key)),
        }
    }
}

/// The files of a description, and the folder they must stay under.
pub(super) struct Documents {
    /// The description first, then each file a reference names, in the order reached.
    pub(super) docs: Vec<Document>,
    /// The folder files are read from: `--file-root`, or the description's folder.
    root: Option<PathBuf>,
    /// The description's folder, absolute: names of other files are shown relative to it.
    home: Option<PathBuf>,
    /// Files that could not be read (already reported).
    failed: Vec<PathBuf>,
}

impl Documents {
    /// Starts with the description itself; `root` is the folder other files must be under.
    pub(super) fn new(root_doc: Document, root: Option<PathBuf>) -> Documents {
        let home = root_doc
            .path
            .as_ref()
            .and_then(|p| p.parent().map(Path::to_path_buf));
        Documents {
            docs: vec![root_doc],
            root,
            home,
            failed: Vec::new(),
        }
    }

    /// Returns the value at a location.
    pub(super) fn value(&self, at: &Location) -> Option<&serde_json::Value> {
        self.docs.get(at.doc)?.json.pointer(&at.pointer)
    }

    /// Returns the file and position of a location.
    pub(super) fn place(&self, at: &Location) -> (&Arc<Source>, Span) {
        let doc = &self.docs[at.doc.min(self.docs.len() - 1)];
        (&doc.source, doc.span_of(&at.pointer))
    }

    /// Starts an error located at a value.
    pub(super) fn error(&self, at: &Location, title: String, label: &str) -> Diagnostic {
        let (source, span) = self.place(at);
        Diagnostic::error(title).at(source, span, label.to_owned())
    }

    /// Reads every file the references name, and checks that every reference resolves.
    pub(super) fn check_all(&mut self, in_schemas_anchors: bool) -> Vec<Diagnostic> {
        let mut errors = Vec::new();
        let mut index = 0;
        while index < self.docs.len() {
            let mut sites = Vec::new();
            find_refs(
                &self.docs[index].json,
                &mut String::new(),
                in_schemas_anchors,
                &mut sites,
            );
            for (pointer, target) in sites {
                let at = Location {
                    doc: index,
                    pointer: pointer.clone(),
                };
                if let Err(error) = self.resolve_loading(index, &target, &at) {
                    errors.extend(error);
                }
            }
            index += 1;
        }
        errors
    }

    /// Follows a chain of Reference Objects from a value to the value it stands for.
    pub(super) fn follow(&self, start: Location) -> Result<Location, Diagnostic> {
        let mut seen = vec![start.clone()];
        let mut here = start;
        loop {
            let Some(serde_json::Value::Object(map)) = self.value(&here) else {
                return Ok(here);
            };
            let Some(serde_json::Value::String(target)) = map.get("$ref") else {
                return Ok(here);
            };
            let site = here.child("$ref");
            let next = self
                .resolve(here.doc, target)
                .map_err(|why| self.unresolved(&site, target, &why))?;
            if seen.contains(&next) {
                let chain: Vec<String> = seen
                    .iter()
                    .chain(std::iter::once(&next))
                    .map(|at| self.name_of(at))
                    .collect();
                return Err(self
                    .error(
                        &site,
                        format!("`$ref`s make a cycle: {}", chain.join(" → ")),
                        "leads back to a reference already followed",
                    )
                    .help("a reference must lead, at last, to a value that is not a reference"));
            }
            seen.push(next.clone());
            here = next;
        }
    }

    /// Names a location for messages: `#/components/x`, or `other.yaml#/x` in another file.
    fn name_of(&self, at: &Location) -> String {
        if at.doc == 0 {
            format!("#{}", at.pointer)
        } else {
            format!("{}#{}", self.docs[at.doc].source.name, at.pointer)
        }
    }

    /// Resolves a reference among the files already read.
    pub(super) fn resolve(&self, from: usize, target: &str) -> Result<Location, String> {
        let (file, pointer) = split(target)?;
        let doc = match file {
            None => from,
            Some(file) => {
                let path = self.path_of(from, file)?;
                self.docs
                    .iter()
                    .position(|d| d.path.as_ref() == Some(&path))
                    .ok_or_else(|| format!("`{file}` was not read"))?
            }
        };
        let at = Location { doc, pointer };
        if self.value(&at).is_none() {
            return Err(self.missing(&at));
        }
        Ok(at)
    }

    /// Resolves a reference, reading the file it names when it is new.
    fn resolve_loading(
        &mut self,
        from: usize,
        target: &str,
        site: &Location,
    ) -> Result<Location, Vec<Diagnostic>> {
        let unresolved = |docs: &Documents, why: String| vec![docs.unresolved(site, target, &why)];
        let (file, _) = split(target).map_err(|why| unresolved(self, why))?;
        if let Some(file) = file {
            let path = self
                .path_of(from, file)
                .map_err(|why| unresolved(self, why))?;
            if self.failed.contains(&path) {
                return Err(Vec::new());
            }
            if !self.docs.iter().any(|d| d.path.as_ref() == Some(&path)) {
                match self.read(&path) {
                    Ok(doc) => self.docs.push(doc),
                    Err(Read::Refused(why)) => {
                        self.failed.push(path);
                        return Err(unresolved(self, why));
                    }
                    Err(Read::Broken(diagnostic)) => {
                        self.failed.push(path);
                        let note = self.error(
                            site,
                            format!("`$ref: {target}` names a file that does not parse"),
                            "refers to it",
                        );
                        return Err(vec![*diagnostic, note]);
                    }
                }
            }
        }
        self.resolve(from, target)
            .map_err(|why| unresolved(self, why))
    }

    /// Says a reference does not resolve, and why.
    fn unresolved(&self, site: &Location, target: &str, why: &str) -> Diagnostic {
        // A suggestion, after `; `, goes to the hint.
        let (why, hint) = match why.split_once("; ") {
            Some((why, hint)) => (why, Some(hint.to_owned())),
            None => (why, None),
        };
        self.error(
            site,
            format!("`$ref: {target}` does not resolve: {why}"),
            "does not resolve",
        )
        .maybe_help(hint)
    }

    /// Says which part of a pointer is missing, with the nearest key when one is close.
    fn missing(&self, at: &Location) -> String {
        let mut here = Location {
            doc: at.doc,
            pointer: String::new(),
        };
        for segment in segments(&at.pointer) {
            let next = here.child(&segment);
            if self.value(&next).is_none() {
                let shown = if here.pointer.is_empty() {
                    "the document".to_owned()
                } else {
                    format!("`{}`", here.pointer)
                };
                let hint = match self.value(&here) {
                    Some(serde_json::Value::Object(map)) => {
                        closest(&segment, map.keys().map(String::as_str))
                            .map(|c| format!("; did you mean `{c}`?"))
                            .unwrap_or_default()
                    }
                    _ => String::new(),
                };
                return format!("{shown} has no `{segment}`{hint}");
            }
            here = next;
        }
        "it is not in the document".to_owned()
    }

    /// Resolves a file reference against the folder of the file holding it (RFC 3986).
    fn path_of(&self, from: usize, file: &str) -> Result<PathBuf, String> {
        let holder = self.docs[from]
            .path
            .as_ref()
            .ok_or("the description has no folder to resolve it against")?;
        let base = url::Url::from_file_path(holder)
            .map_err(|()| format!("`{}` is not a file path", holder.display()))?;
        let joined = base
            .join(file)
            .map_err(|e| format!("`{file}` is not a relative reference: {e}"))?;
        let path = joined
            .to_file_path()
            .map_err(|()| format!("`{file}` does not name a file"))?;
        Ok(normalize(&path))
    }

    /// Reads a file a reference names, if it is under the root folder.
    fn read(&self, path: &Path) -> Result<Document, Read> {
        let root = self
            .root
            .as_ref()
            .ok_or_else(|| Read::Refused("the description's folder cannot be found".to_owned()))?;
        let outside = || {
            Read::Refused(
                "the file is outside the folder files are read from (the description's, or \
                 `--file-root`); to read it, widen the root with `--file-root DIR`"
                    .to_owned(),
            )
        };
        if !path.starts_with(root) {
            return Err(outside());
        }
        let canonical = path.canonicalize().map_err(|e| Read::Refused(why(&e)))?;
        if !canonical.starts_with(root) {
            return Err(outside());
        }
        let bytes = std::fs::read(&canonical).map_err(|e| Read::Refused(why(&e)))?;
        if bytes.len() > MAX_FILE_SIZE {
            return Err(Read::Refused(format!(
                "the file is larger than {MAX_FILE_SIZE} bytes"
            )));
        }
        let name = match self.home.as_ref().and_then(|h| path.strip_prefix(h).ok()) {
            Some(relative) => {
                let shown = Path::new(&self.docs[0].source.name)
                    .parent()
                    .unwrap_or(Path::new(""));
                shown.join(relative).display().to_string()
            }
            None => path.display().to_string(),
        };
        let text = yaml::decode(&name, bytes).map_err(|d| Read::Broken(Box::new(d)))?;
        Document::parse(&Source::new(name, text), Some(path.to_path_buf()))
            .map_err(|d| Read::Broken(Box::new(d)))
    }
}

/// Why a referenced file was not read.
enum Read {
    /// It is outside the root, missing or too large: said in the reference's error.
    Refused(String),
    /// It does not parse: its own located diagnostic.
    Broken(Box<Diagnostic>),
}

/// Splits a reference into its file (none for the same file) and its decoded JSON Pointer.
fn split(target: &str) -> Result<(Option<&str>, String), String> {
    let (file, fragment) = target.split_once('#').unwrap_or((target, ""));
    let lower = file.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("//") {
        return Err(
            "apiflow does not fetch remote references; keep a local copy of the file beside \
             the description and refer to it by a relative path"
                .to_owned(),
        );
    }
    let scheme = file
        .split_once(':')
        .is_some_and(|(s, _)| s.len() > 1 && !s.contains('/'));
    if scheme {
        return Err("only references to local files (relative paths) are followed".to_owned());
    }
    let pointer = percent_decode_str(fragment)
        .decode_utf8()
        .map_err(|_| "its fragment is not UTF-8 once percent-decoded".to_owned())?
        .into_owned();
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Err(format!(
            "`#{pointer}` is not a JSON Pointer; write one such as `#/components/schemas/{pointer}`"
        ));
    }
    Ok(((!file.is_empty()).then_some(file), pointer))
}

/// Lists every `$ref` of a value with its pointer, except in literal data (examples,
/// defaults, enumerations, extensions), and, when `anchors_allowed` (OpenAPI 3.1 and later,
/// where schemas are JSON Schema 2020-12), except under a schema with its own `$id` or a
/// reference to an anchor, which the schema validator resolves.
fn find_refs(
    value: &serde_json::Value,
    pointer: &mut String,
    anchors_allowed: bool,
    out: &mut Vec<(String, String)>,
) {
    let length = pointer.len();
    match value {
        serde_json::Value::Object(map) => {
            if anchors_allowed && map.get("$id").is_some_and(serde_json::Value::is_string) {
                return;
            }
            let in_properties = pointer.ends_with("/properties");
            for (key, item) in map {
                let literal = matches!(key.as_str(), "example" | "enum" | "const" | "default")
                    || key.starts_with("x-")
                    || (key == "value" && example_object(pointer));
                if literal && !in_properties {
                    continue;
                }
                pointer.push('/');
                pointer.push_str(&escape(key));
                if key == "$ref"
                    && let serde_json::Value::String(target) = item
                {
                    let anchor = target.split_once('#').is_some_and(|(_, f)| {
                        !f.is_empty() && !f.starts_with('/') && !f.starts_with("%2F")
                    });
                    if !(anchors_allowed && anchor) {
                        out.push((pointer.clone(), target.clone()));
                    }
                } else {
                    find_refs(item, pointer, anchors_allowed, out);
                }
                pointer.truncate(length);
            }
        }
        serde_json::Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                pointer.push('/');
                pointer.push_str(&index.to_string());
                find_refs(item, pointer, anchors_allowed, out);
                pointer.truncate(length);
            }
        }
        _ => {}
    }
}

/// Tells whether the value at `pointer` is an Example Object (`…/examples/NAME`).
fn example_object(pointer: &str) -> bool {
    pointer
        .rsplit('/')
        .nth(1)
        .is_some_and(|parent| parent == "examples")
}

/// Says why a file cannot be read, in the words `cannot read` uses elsewhere.
fn why(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => error.to_string(),
    }
}
