//! `expect.schema`: reads schema files (which `confine` has checked), compiles each schema once
//! for the plan, and lists what a response body breaks.
//!
//! Remote references are never fetched: a `$ref` that leaves the schema document is an error
//! when the workflow is checked.

use std::path::Path;
use std::sync::Arc;

use jsonschema::{Draft, Validator};

use crate::check::file::{cannot_read, read_source};
use crate::diagnostic::Diagnostic;
use crate::format::load::schema_text;
use crate::format::model::{BodySchema, SchemaDocument, SchemaText, Step, Workflow};
use crate::format::yaml;
use crate::span::{Source, Span, Spanned};

/// How many violations a failed schema check lists before it sums up the rest.
pub const MAX_VIOLATIONS: usize = 10;

/// The drafts apiflow knows, by the `$schema` that names them, without the trailing `#`.
const DRAFTS: &[(&str, Draft, &str)] = &[
    (
        "json-schema.org/draft/2020-12/schema",
        Draft::Draft202012,
        "2020-12",
    ),
    (
        "json-schema.org/draft/2019-09/schema",
        Draft::Draft201909,
        "2019-09",
    ),
    ("json-schema.org/draft-07/schema", Draft::Draft7, "draft-07"),
    ("json-schema.org/draft-06/schema", Draft::Draft6, "draft-06"),
    ("json-schema.org/draft-04/schema", Draft::Draft4, "draft-04"),
];

/// A body schema compiled once, when the workflow is checked.
#[derive(Debug)]
pub struct CompiledSchema {
    validator: Validator,
    /// How a check names it: `schema` or `schema tokens.schema.json`.
    pub what: String,
}

/// One way a body breaks its schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The JSON Pointer of the offending value in the body (empty for the whole body).
    pub instance: String,
    /// The JSON Pointer of the keyword it breaks, in the schema document.
    pub keyword: String,
    /// What is wrong, in the validator's words.
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.instance.is_empty() {
            "(root)"
        } else {
            &self.instance
        };
        let keyword = if self.keyword.is_empty() {
            "(root)"
        } else {
            &self.keyword
        };
        write!(f, "{at}: {} (keyword {keyword})", self.message)
    }
}

impl CompiledSchema {
    /// Lists every way `body` breaks the schema, in the validator's order: at most `limit`, with
    /// the number of those left out.
    pub fn violations(&self, body: &serde_json::Value, limit: usize) -> (Vec<Violation>, usize) {
        let mut listed = Vec::new();
        let mut more = 0;
        for error in self.validator.iter_errors(body) {
            if listed.len() == limit {
                more += 1;
                continue;
            }
            listed.push(Violation {
                instance: error.instance_path().as_str().to_owned(),
                keyword: error.schema_path().as_str().to_owned(),
                message: cut(&error.to_string(), 200),
            });
        }
        (listed, more)
    }
}

/// Compiles the body schema of every step that has one, indexed by `StepId`; returns the
/// problems found (files that cannot be read, broken schemas, unknown drafts).
pub fn compile_all(workflow: &Workflow) -> (Vec<Option<Arc<CompiledSchema>>>, Vec<Diagnostic>) {
    let steps = || workflow.steps.iter().chain(&workflow.finally);
    let count = steps().map(|s| s.id.0 as usize + 1).max().unwrap_or(0);
    let mut compiled = vec![None; count];
    let mut errors = Vec::new();
    for step in steps() {
        let Some(schema) = &step.expect.schema else {
            continue;
        };
        match compile(workflow, step, schema) {
            Ok(Some(one)) => compiled[step.id.0 as usize] = Some(Arc::new(one)),
            // A file that could not be resolved: `confine` has said why.
            Ok(None) => {}
            Err(error) => errors.push(error),
        }
    }
    (compiled, errors)
}

fn compile(
    workflow: &Workflow,
    step: &Step,
    schema: &BodySchema,
) -> Result<Option<CompiledSchema>, Diagnostic> {
    let (text, what) = match &schema.document {
        SchemaDocument::Inline(text) => (text.clone(), "schema".to_owned()),
        SchemaDocument::File(file) => {
            let Some(resolved) = &file.resolved else {
                return Ok(None);
            };
            let text = read_schema_file(&workflow.source, &file.written, resolved)
                .map_err(|d| d.in_step(Some(&step.name)))?;
            (text, format!("schema {}", file.written.value))
        }
    };
    let located = |title: String, pointer: &str, label: &str| {
        let diagnostic = Diagnostic::error(title);
        let diagnostic = match &schema.document {
            // A JSON file the YAML reader could not follow has no positions: point at its name.
            SchemaDocument::File(file) if text.spans.is_empty() => {
                diagnostic.at(&workflow.source, file.written.span, label.to_owned())
            }
            _ => diagnostic.at(&text.source, text.span_of(pointer), label.to_owned()),
        };
        diagnostic.in_step(Some(&step.name))
    };
    if !text.value.is_object() && !text.value.is_boolean() {
        return Err(located(
            "a JSON Schema is a mapping, `true` or `false`".to_owned(),
            "",
            "not a schema",
        ));
    }
    let draft = match text.value.get("$schema") {
        None => Draft::Draft202012,
        Some(serde_json::Value::String(uri)) => match draft_of(uri) {
            Some(draft) => draft,
            None => {
                return Err(located(
                    format!("unknown `$schema`: `{uri}`"),
                    "/$schema",
                    "not a draft apiflow knows",
                )
                .help(format!(
                    "apiflow knows {}; leave `$schema` out for 2020-12",
                    DRAFTS
                        .iter()
                        .rev()
                        .map(|(_, _, name)| *name)
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        },
        Some(_) => {
            return Err(located(
                "invalid `$schema`: expected the URI of a draft".to_owned(),
                "/$schema",
                "not a string",
            ));
        }
    };
    let validator = jsonschema::options()
        .with_draft(draft)
        .offline()
        .build(&text.value)
        .map_err(|error| {
            let message = error.to_string();
            let pointer = error.instance_path().as_str().to_owned();
            if let jsonschema::error::ValidationErrorKind::Referencing(_) = error.kind() {
                located(
                    format!("the schema cannot be compiled: {}", cut(&message, 200)),
                    &ref_pointer(&text, &message).unwrap_or(pointer),
                    "unresolved reference",
                )
                .help("apiflow resolves `$ref` only inside the schema document (`#/$defs/…`); put the referenced schema under `$defs`")
            } else {
                located(
                    "the schema is not a valid JSON Schema".to_owned(),
                    &pointer,
                    &cut(&message, 120),
                )
                .help(format!(
                    "the schema is checked against the meta-schema of its draft, here {}",
                    draft_name(draft)
                ))
            }
        })?;
    Ok(Some(CompiledSchema { validator, what }))
}

/// Names a draft as the documentation does.
fn draft_name(draft: Draft) -> &'static str {
    DRAFTS
        .iter()
        .find(|(_, known, _)| *known == draft)
        .map_or("2020-12", |(_, _, name)| *name)
}

/// Finds the draft a `$schema` URI names.
fn draft_of(uri: &str) -> Option<Draft> {
    let uri = uri.strip_suffix('#').unwrap_or(uri);
    let rest = uri
        .strip_prefix("https://")
        .or_else(|| uri.strip_prefix("http://"))?;
    DRAFTS
        .iter()
        .find(|(known, _, _)| *known == rest)
        .map(|(_, draft, _)| *draft)
}

/// Finds the `$ref` a referencing error names, to point at it.
fn ref_pointer(text: &SchemaText, message: &str) -> Option<String> {
    let mut found = None;
    find_refs(&text.value, &mut String::new(), &mut |pointer, target| {
        if found.is_none() && !target.starts_with('#') && message.contains(target) {
            found = Some(pointer.to_owned());
        }
    });
    found.or_else(|| {
        let mut first = None;
        find_refs(&text.value, &mut String::new(), &mut |pointer, target| {
            if first.is_none() && !target.starts_with('#') {
                first = Some(pointer.to_owned());
            }
        });
        first
    })
}

fn find_refs(value: &serde_json::Value, pointer: &mut String, found: &mut dyn FnMut(&str, &str)) {
    let length = pointer.len();
    match value {
        serde_json::Value::Object(map) => {
            for (key, item) in map {
                pointer.push('/');
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                if key == "$ref"
                    && let serde_json::Value::String(target) = item
                {
                    found(pointer, target);
                }
                find_refs(item, pointer, found);
                pointer.truncate(length);
            }
        }
        serde_json::Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                pointer.push('/');
                pointer.push_str(&index.to_string());
                find_refs(item, pointer, found);
                pointer.truncate(length);
            }
        }
        _ => {}
    }
}

/// Reads a schema file named by `expect.schema.file` (checked by `confine`), as JSON or YAML.
fn read_schema_file(
    workflow: &Arc<Source>,
    path: &Spanned<String>,
    resolved: &Path,
) -> Result<SchemaText, Diagnostic> {
    let source = read_source(resolved).map_err(|mut errors| {
        let error = errors
            .pop()
            .unwrap_or_else(|| cannot_read(resolved, &std::io::Error::other("unreadable")));
        if error.source.is_some() {
            error
        } else {
            error.at(workflow, path.span, "cannot be read")
        }
    })?;
    // Named as the user wrote it, beside the workflow, not by the resolved path.
    let shown = Path::new(&workflow.name).parent().map_or_else(
        || Path::new(&path.value).to_path_buf(),
        |p| p.join(&path.value),
    );
    let source = Source::new(shown.display().to_string(), source.text.clone());
    if source.text.trim().is_empty() {
        return Err(Diagnostic::error(format!("`{}` is empty", source.name))
            .at(workflow, path.span, "an empty file")
            .help("a schema file holds one JSON Schema, as JSON or YAML"));
    }
    let is_json = resolved
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if !is_json {
        let node = yaml::parse(&source)?;
        return Ok(schema_text(&node, &source));
    }
    // JSON is read as JSON (tabs and all); the YAML reader, when it agrees, only adds positions.
    let value: serde_json::Value = serde_json::from_str(&source.text).map_err(|error| {
        let message = error.to_string();
        let message = message
            .rsplit_once(" at line ")
            .map_or(message.as_str(), |(m, _)| m);
        let line = u32::try_from(error.line()).unwrap_or(0);
        let column = u32::try_from(error.column()).unwrap_or(0);
        Diagnostic::error(format!("invalid JSON: {message}")).at(
            &source,
            Span::new(line, column.max(1), 1),
            "here",
        )
    })?;
    let spans = yaml::parse(&source)
        .ok()
        .filter(|node| node.to_json() == value)
        .map(|node| schema_text(&node, &source).spans)
        .unwrap_or_default();
    Ok(SchemaText {
        value,
        source,
        spans,
    })
}

/// Cuts a message after `max` characters.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() > max {
        format!("{}…", text.chars().take(max).collect::<String>())
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::draft_of;
    use crate::check::file::check_source_alone;
    use crate::span::Source;

    /// Checks a one-step workflow whose `expect.schema` is `schema`, and lists the violations of
    /// `body`, each as `instance keyword`.
    fn violations(schema: &str, body: &serde_json::Value) -> Result<Vec<String>, String> {
        let text = format!(
            "name: t\nsteps:\n  - name: s\n    request: {{ url: \"http://x.test/\" }}\n    expect:\n      schema: {schema}\n"
        );
        let plan = check_source_alone(&Source::new("t.yaml", text))
            .map_err(|d| crate::diagnostic::Diagnostic::render_all(&d, false))?;
        let compiled = plan.body_schema(&plan.workflow.steps[0]).expect("a schema");
        let (listed, _) = compiled.violations(body, 10);
        Ok(listed
            .iter()
            .map(|v| format!("{} {}", v.instance, v.keyword))
            .collect())
    }

    #[test]
    fn each_draft_reads_its_own_keywords() {
        // A tuple is `items: [...]` up to draft-07 and `prefixItems` from 2020-12.
        let tuple = r#"{ "$schema": "http://json-schema.org/draft-07/schema#", items: [{ type: string }], additionalItems: false }"#;
        assert_eq!(
            violations(tuple, &json!(["a", 1])).unwrap(),
            [" /additionalItems"]
        );
        let error = violations("{ items: [{ type: string }] }", &json!([])).unwrap_err();
        assert!(error.contains("not a valid JSON Schema"), "{error}");
        let prefix = "{ prefixItems: [{ type: string }], items: false }";
        assert_eq!(violations(prefix, &json!(["a", 1])).unwrap(), ["/1 /items"]);
        // `unevaluatedItems` is 2019-09 and later; draft-07 ignores it.
        let unevaluated = |draft: &str| {
            format!(r#"{{ "$schema": "{draft}", prefixItems: [true], unevaluatedItems: false }}"#)
        };
        let body = json!([1, 2]);
        assert_eq!(
            violations(
                &unevaluated("https://json-schema.org/draft/2020-12/schema"),
                &body
            )
            .unwrap(),
            [" /unevaluatedItems"]
        );
        assert!(
            violations(
                &unevaluated("http://json-schema.org/draft-07/schema#"),
                &body
            )
            .unwrap()
            .is_empty()
        );
        // Draft-04's `exclusiveMaximum` is a flag beside `maximum`.
        let draft4 = r#"{ "$schema": "http://json-schema.org/draft-04/schema#", maximum: 3, exclusiveMaximum: true }"#;
        assert_eq!(
            violations(draft4, &json!(3)).unwrap(),
            [" /exclusiveMaximum"]
        );
        assert!(violations(draft4, &json!(2)).unwrap().is_empty());
        // `format` asserts up to draft-07 and only annotates from 2019-09.
        let email = r#"{ "$schema": "http://json-schema.org/draft-07/schema#", format: email }"#;
        assert_eq!(violations(email, &json!("x")).unwrap(), [" /format"]);
        assert!(
            violations("{ format: email }", &json!("x"))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn drafts_are_named_by_their_uris_with_or_without_the_fragment_and_tls() {
        for uri in [
            "https://json-schema.org/draft/2020-12/schema",
            "http://json-schema.org/draft/2019-09/schema#",
            "http://json-schema.org/draft-07/schema#",
            "https://json-schema.org/draft-06/schema",
            "http://json-schema.org/draft-04/schema#",
        ] {
            assert!(draft_of(uri).is_some(), "{uri}");
        }
        for uri in [
            "json-schema.org/draft-07/schema",
            "https://json-schema.org/draft-03/schema#",
            "https://example.com/my-meta",
            "",
        ] {
            assert!(draft_of(uri).is_none(), "{uri}");
        }
    }
}
