//! Arazzo text to the typed model: YAML or JSON read with positions, checked against the
//! official schema of its version and for what the document alone can say, then filled in.
//!
//! In order: parse (`apiflow::format::yaml`), pointers of every value (`tree`), the `arazzo:`
//! version, a quick walk that vouches for the common valid documents (`conform`), the
//! document's own rules (`structure`), the official schema (`violations`) for every document
//! the walk does not vouch for, and, when nothing is wrong, the typed model (`build`).
//! Problems are collected, not first-only, and each one points at the file.

mod build;
mod conform;
mod keys;
mod structure;
mod tree;
mod violations;

use std::sync::Arc;

use apiflow::diagnostic::{Diagnostic, did_you_mean};
use apiflow::format::yaml::{self, Node, NodeKind};
use apiflow::span::{Source, Span};

use crate::model::Document;
use crate::schema::{SUPPORTED, Version};

pub(crate) use tree::unescape;
pub use tree::{escape, segments, span_in};

/// Tells whether a text is an Arazzo document: its top level has an `arazzo` key. Reads only
/// the keys at the start of lines (YAML) or at the first level of the outer object (JSON).
pub fn is_arazzo(text: &str) -> bool {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text
        .lines()
        .map(str::trim_start)
        .find(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with('%'));
    if first.is_some_and(|line| line.starts_with('{')) {
        return json_has_top_key(text, "arazzo");
    }
    // Each `arazzo` of the text, not each line: most files given to `run` are workflows that
    // never say it.
    let bytes = text.as_bytes();
    memchr::memmem::find_iter(bytes, b"arazzo").any(|at| {
        let line_start = |i: usize| i == 0 || bytes[i - 1] == b'\n';
        let after = match at.checked_sub(1).map(|i| bytes[i]) {
            None | Some(b'\n') => at + 6,
            Some(quote @ (b'"' | b'\'')) if line_start(at - 1) => {
                if bytes.get(at + 6) != Some(&quote) {
                    return false;
                }
                at + 7
            }
            _ => return false,
        };
        let end = memchr::memchr(b'\n', &bytes[after..]).map_or(bytes.len(), |i| after + i);
        text[after..end].trim_start().starts_with(':')
    })
}

/// Scans a JSON text for a key of its outer object, skipping strings and nested values.
fn json_has_top_key(text: &str, wanted: &str) -> bool {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                let start = index + 1;
                index += 1;
                while index < bytes.len() && bytes[index] != b'"' {
                    index += if bytes[index] == b'\\' { 2 } else { 1 };
                }
                let end = index.min(bytes.len());
                if depth == 1 && &text.as_bytes()[start..end] == wanted.as_bytes() {
                    let rest = text.get(end + 1..).unwrap_or("").trim_start();
                    if rest.starts_with(':') {
                        return true;
                    }
                }
            }
            _ => {}
        }
        index += 1;
    }
    false
}

/// Loads an Arazzo document (1.0.x or 1.1.x, YAML or JSON) into the typed model, or returns
/// every problem found, each pointing at the file.
pub fn load(source: &Arc<Source>) -> Result<Document, Vec<Diagnostic>> {
    let root = yaml::parse(source).map_err(|diagnostic| vec![for_arazzo(diagnostic)])?;
    if !matches!(root.kind, NodeKind::Map(_)) {
        return Err(vec![
            Diagnostic::error("an Arazzo document is a mapping at its top level")
                .at(source, root.span, format!("found {}", root.describe()))
                .help(
                    "start with `arazzo: 1.1.0`, then `info`, `sourceDescriptions` and `workflows`",
                ),
        ]);
    }
    let tree = tree::Tree::of(&root, source);
    let version = version(source, &root)?;
    let context = Context {
        source,
        root: &root,
        tree: &tree,
        version,
    };
    let mut problems = Vec::new();
    // Most documents are valid: one that surely is needs neither the schema nor, unless its
    // components or inputs are read, a copy as JSON.
    let conforms = conform::surely_valid(&root, version);
    let flagged = structure::check(&context, conforms, &mut problems);
    let json = (!conforms || conform::needs_json(&root)).then(|| root.to_json());
    if let (false, Some(json)) = (conforms, &json) {
        violations::check(&context, json, &flagged, &mut problems);
    }
    // Built even when something is wrong, so every problem is reported at once.
    match build::document(&context, json) {
        Ok(document) if problems.is_empty() => Ok(document),
        Ok(_) => Err(finish(problems)),
        Err(found) => {
            problems.extend(found);
            Err(finish(problems))
        }
    }
}

/// Says an empty file has no Arazzo document, where the YAML reader speaks of workflows.
fn for_arazzo(mut diagnostic: Diagnostic) -> Diagnostic {
    if diagnostic.title.ends_with(" is empty") || diagnostic.title.ends_with(" holds only comments")
    {
        diagnostic.help = Some(
            "an Arazzo document needs at least `arazzo`, `info`, `sourceDescriptions` and `workflows`"
                .to_owned(),
        );
    }
    diagnostic
}

/// Reads `arazzo:`: the version decides the schema and the keys. Without it, the latest schema
/// applies and reports it missing.
fn version(source: &Arc<Source>, root: &Node<'_>) -> Result<Version, Vec<Diagnostic>> {
    let Some(node) = tree::get(root, "arazzo") else {
        return Ok(Version::V1_1);
    };
    let text = match &node.kind {
        NodeKind::Str(text) => text.to_string(),
        _ => node
            .scalar_text()
            .map_or_else(|| node.describe().to_owned(), std::borrow::Cow::into_owned),
    };
    if let (NodeKind::Str(_), Some(version)) = (&node.kind, Version::of(&text)) {
        return Ok(version);
    }
    let found = match &node.kind {
        NodeKind::Str(_) => format!("found `{text}`"),
        NodeKind::Int(_) | NodeKind::Float(_) => format!("found the number `{text}`"),
        _ => format!("found {text}"),
    };
    let help = if matches!(node.kind, NodeKind::Float(_) | NodeKind::Int(_)) {
        "write the whole version as a string, such as `arazzo: 1.1.0`".to_owned()
    } else {
        format!("apiflow reads Arazzo {SUPPORTED}; write `arazzo: 1.1.0` or `arazzo: 1.0.1`")
    };
    Err(vec![
        Diagnostic::error(format!(
            "unsupported `arazzo` version: expected {SUPPORTED}, such as `1.1.0`"
        ))
        .at(source, node.span, found)
        .help(help),
    ])
}

/// What every check reads: the file, its tree, where its values are and its version.
pub(crate) struct Context<'a> {
    pub(crate) source: &'a Arc<Source>,
    pub(crate) root: &'a Node<'a>,
    pub(crate) tree: &'a tree::Tree<'a>,
    pub(crate) version: Version,
}

/// A problem found, with the JSON Pointer of the value it is about.
pub(crate) struct Problem {
    pub(crate) pointer: String,
    pub(crate) diagnostic: Diagnostic,
}

impl Context<'_> {
    /// Starts a problem about the value at `pointer`, pointing at `span`, naming its step.
    pub(crate) fn problem(
        &self,
        pointer: &str,
        span: Span,
        title: impl Into<String>,
        label: impl Into<String>,
    ) -> Problem {
        Problem {
            pointer: pointer.to_owned(),
            diagnostic: Diagnostic::error(title)
                .at(self.source, span, label)
                .in_step(keys::step_of(self.root, pointer).as_ref()),
        }
    }

    /// A problem about an unknown key, with "did you mean" among the keys the object takes.
    pub(crate) fn unknown_key(
        &self,
        pointer: &str,
        key: &str,
        noun: &str,
        allowed: &[&str],
    ) -> Problem {
        let at = tree::child(pointer, key);
        let help = did_you_mean(key, allowed.iter().copied()).unwrap_or_else(|| {
            format!(
                "{noun} takes {}",
                allowed
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        });
        let mut problem = self.problem(
            &at,
            self.tree.key_span(&at),
            format!("unknown key `{key}` in {noun}"),
            "unknown key",
        );
        problem.diagnostic.help = Some(help);
        problem
    }
}

/// Keeps one diagnostic per place and title, in the order of the file.
fn finish(problems: Vec<Problem>) -> Vec<Diagnostic> {
    let mut seen = std::collections::HashSet::new();
    let mut errors: Vec<Diagnostic> = problems
        .into_iter()
        .map(|p| p.diagnostic)
        .filter(|d| seen.insert((d.span, d.title.clone())))
        .collect();
    errors.sort_by_key(|d| (d.span.line, d.span.column));
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_arazzo_in_yaml_and_json() {
        assert!(is_arazzo("arazzo: 1.0.1\ninfo: {}\n"));
        assert!(is_arazzo("# a comment\ninfo:\n  title: x\narazzo: 1.1.0\n"));
        assert!(is_arazzo("\"arazzo\" : \"1.1.0\"\n"));
        assert!(is_arazzo(
            "{\n  \"info\": {\"arazzo\": 1},\n  \"arazzo\": \"1.0.0\"\n}"
        ));
        assert!(!is_arazzo("{\"info\": {\"arazzo\": \"1.0.0\"}}"));
        assert!(!is_arazzo("{\"info\": \"\\\"arazzo\\\": 1\"}"));
        assert!(!is_arazzo("openapi: 3.1.0\ninfo:\n  arazzo: 1.0.0\n"));
        assert!(!is_arazzo("name: demo\nsteps: []\n"));
        assert!(!is_arazzo("arazzo_version: 1\n"));
        assert!(!is_arazzo(""));
        assert!(is_arazzo("info: {}\r\narazzo : 1.1.0\r\n"));
        assert!(is_arazzo("'arazzo': 1.0.1"));
        assert!(!is_arazzo("\"arazzo': 1.0.1"));
        assert!(!is_arazzo("name: arazzo\n  arazzo: 1\n"));
        assert!(!is_arazzo("arazzo\n: 1.0.1\n"));
        assert!(!is_arazzo("x-arazzo: 1.0.1\n"));
    }
}
