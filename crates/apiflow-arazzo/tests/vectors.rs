//! The Arazzo Specification's own documents (`tests/vectors/arazzo`, see its `SOURCE.md`)
//! through the loader: what the official schema accepts loads, what it rejects is rejected
//! with diagnostics that point at the file, and every example loads.

use std::path::{Path, PathBuf};

use apiflow::span::Source;
use apiflow_arazzo::load::{is_arazzo, load};

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/arazzo")
}

/// The YAML files of a folder of the vectors, sorted, each with its name relative to the
/// vectors' folder.
fn files(folder: &str) -> Vec<(String, String)> {
    let mut names: Vec<String> = std::fs::read_dir(vectors().join(folder))
        .expect("the vectors are vendored")
        .map(|entry| {
            entry
                .expect("a readable entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| Path::new(name).extension().is_some_and(|e| e == "yaml"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let text =
                std::fs::read_to_string(vectors().join(folder).join(&name)).expect("readable");
            (format!("{folder}/{name}"), text)
        })
        .collect()
}

fn rendered(errors: &[apiflow::Diagnostic]) -> String {
    apiflow::Diagnostic::render_all(errors, false)
}

#[test]
fn every_document_the_schema_accepts_loads() {
    let files = files("schema/pass");
    assert!(files.len() >= 30, "{} files", files.len());
    for (name, text) in files {
        assert!(is_arazzo(&text), "{name} is not recognised as Arazzo");
        if let Err(errors) = load(&Source::new(name.clone(), text)) {
            panic!("{name} does not load:\n{}", rendered(&errors));
        }
    }
}

#[test]
fn every_example_loads() {
    let mut loaded = 0;
    for folder in ["examples/1.0.0", "examples/1.1.0"] {
        for (name, text) in files(folder) {
            if !is_arazzo(&text) {
                // The OpenAPI and AsyncAPI descriptions the examples call.
                assert!(
                    text.contains("openapi:") || text.contains("asyncapi:"),
                    "{name}"
                );
                continue;
            }
            match load(&Source::new(name.clone(), text)) {
                Ok(document) => assert!(!document.workflows.is_empty(), "{name}"),
                Err(errors) => panic!("{name} does not load:\n{}", rendered(&errors)),
            }
            loaded += 1;
        }
    }
    assert_eq!(loaded, 6);
}

#[test]
fn every_document_the_schema_rejects_is_rejected_where_it_is_wrong() {
    let files = files("schema/fail");
    assert!(files.len() >= 25, "{} files", files.len());
    for (name, text) in files {
        let Err(errors) = load(&Source::new(name.clone(), text)) else {
            panic!("{name} loads")
        };
        assert!(!errors.is_empty(), "{name}");
        for error in &errors {
            assert!(
                error.span.is_known() && error.source.is_some(),
                "{name}: {}",
                error.render(false)
            );
            assert!(!error.label.is_empty(), "{name}: {}", error.render(false));
        }
        let stem = name
            .trim_start_matches("schema/fail/")
            .trim_end_matches(".yaml");
        insta::assert_snapshot!(format!("fail__{stem}"), rendered(&errors));
    }
}

/// Takes each accepted document apart one line at a time: removes a line, or gives its value
/// another type. Whatever comes out loads, or is rejected with every diagnostic located and
/// in plain words (never the fallback that only names the schema's rule).
#[test]
fn broken_documents_are_rejected_with_located_diagnostics_and_never_panic() {
    let mut rejected = 0;
    for (name, text) in files("schema/pass") {
        let lines: Vec<&str> = text.lines().collect();
        for index in 0..lines.len() {
            let mut changed = lines.clone();
            let line;
            match lines[index].split_once(": ") {
                Some((key, _)) if index % 2 == 1 => {
                    let other = ["[1, 2]", "{a: 1}", "7", "true", "''"][index / 2 % 5];
                    line = format!("{key}: {other}");
                    changed[index] = &line;
                }
                _ => {
                    changed.remove(index);
                }
            }
            let variant = changed.join("\n");
            let Err(errors) = load(&Source::new(name.clone(), variant.clone())) else {
                continue;
            };
            rejected += 1;
            for error in &errors {
                let shown = || {
                    format!(
                        "{name}, line {}:\n{variant}\n{}",
                        index + 1,
                        error.render(false)
                    )
                };
                assert!(
                    error.span.is_known() && error.source.is_some(),
                    "{}",
                    shown()
                );
                assert!(!error.title.contains("does not follow"), "{}", shown());
            }
        }
    }
    assert!(rejected > 300, "{rejected}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Documents stitched from Arazzo's own keys and values at random indentations load or are
    /// rejected with located diagnostics; nothing panics.
    #[test]
    fn stitched_documents_never_panic(lines in proptest::collection::vec((0usize..4, 0usize..KEYS.len(), 0usize..VALUES.len(), proptest::bool::ANY), 1..24)) {
        let mut text = String::from("arazzo: 1.1.0\n");
        for (indent, key, value, item) in lines {
            let dash = if item { "- " } else { "" };
            for piece in ["  ".repeat(indent).as_str(), dash, KEYS[key], ": ", VALUES[value], "\n"] {
                text.push_str(piece);
            }
        }
        if let Err(errors) = load(&Source::new("p.arazzo.yaml", text.clone())) {
            for error in &errors {
                proptest::prop_assert!(error.source.is_none() || error.span.is_known(), "{text}\n{}", error.render(false));
            }
        }
    }
}

const KEYS: &[&str] = &[
    "info",
    "title",
    "version",
    "sourceDescriptions",
    "name",
    "url",
    "type",
    "workflows",
    "workflowId",
    "steps",
    "stepId",
    "operationId",
    "operationPath",
    "channelPath",
    "action",
    "parameters",
    "in",
    "value",
    "reference",
    "successCriteria",
    "condition",
    "context",
    "onSuccess",
    "onFailure",
    "outputs",
    "requestBody",
    "payload",
    "replacements",
    "target",
    "components",
    "dependsOn",
    "timeout",
    "x-apiflow",
    "x-security",
    "values",
    "$self",
];
const VALUES: &[&str] = &[
    "",
    "x",
    "1",
    "-1",
    "true",
    "[]",
    "{}",
    "[a, b]",
    "{a: 1}",
    "query",
    "goto",
    "jsonpath",
    "$statusCode == 200",
    "'#frag'",
    "null",
];
