//! The workflow format's JSON Schema (`apiflow schema`, committed as `apiflow.schema.json`):
//! in sync with the binary, accepting every shipped workflow and every key, rejecting mistakes;
//! and the other editor helpers, `apiflow init` and `apiflow completions`.

use crate::support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::ROOT;
use support::bin::{TempDir, apiflow, output};

fn committed_schema() -> Value {
    let text = std::fs::read_to_string(format!("{ROOT}/apiflow.schema.json"))
        .expect("apiflow.schema.json is committed");
    serde_json::from_str(&text).expect("the schema is JSON")
}

/// Reads a workflow as JSON, the way an editor's YAML language server sees it.
fn workflow_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let source = apiflow::Source::new(path.display().to_string(), text);
    apiflow::format::yaml::parse(&source)
        .unwrap_or_else(|d| panic!("{}", d.render(false)))
        .to_json()
}

fn schema_errors(schema: &Value, instance: &Value) -> Vec<String> {
    let validator = jsonschema::validator_for(schema).expect("a valid JSON Schema");
    validator
        .iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

fn assert_valid(path: &Path) {
    let errors = schema_errors(&committed_schema(), &workflow_json(path));
    assert!(
        errors.is_empty(),
        "{} does not match apiflow.schema.json:\n{}",
        path.display(),
        errors.join("\n")
    );
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    out.sort();
}

#[test]
fn the_schema_command_prints_the_committed_schema() {
    let out = apiflow(&["schema"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let committed = std::fs::read(format!("{ROOT}/apiflow.schema.json")).unwrap();
    assert!(
        out.stdout == committed,
        "apiflow.schema.json is out of date: run `cargo run -- schema > apiflow.schema.json`"
    );
    jsonschema::meta::validate(&committed_schema()).expect("a valid JSON Schema");
}

#[test]
fn every_shipped_workflow_matches_the_schema_and_carries_the_modeline() {
    let mut files = Vec::new();
    yaml_files(&Path::new(ROOT).join("workflows"), &mut files);
    files.retain(|f| !crate::pingone::is_arazzo_or_openapi(f));
    assert!(!files.is_empty());
    for file in &files {
        assert_valid(file);
        // The schema's path is relative to the workflow: `../` for `workflows/`, and one more
        // for each folder below it.
        let depth = file.strip_prefix(ROOT).unwrap().components().count() - 1;
        let modeline = format!(
            "# yaml-language-server: $schema={}apiflow.schema.json",
            "../".repeat(depth)
        );
        let text = std::fs::read_to_string(file).unwrap();
        assert_eq!(
            text.lines().next(),
            Some(modeline.as_str()),
            "{}",
            file.display()
        );
    }
}

#[test]
fn every_valid_fixture_matches_the_schema() {
    let mut files = Vec::new();
    yaml_files(&Path::new(ROOT).join("tests/fixtures"), &mut files);
    let valid: Vec<&PathBuf> = files
        .iter()
        // Schema files (`expect.schema: { file }`) live in `schemas/` folders, Arazzo
        // documents and their OpenAPI descriptions in `arazzo/`; they are no workflows.
        .filter(|f| {
            !f.components().any(|c| {
                c.as_os_str() == "invalid"
                    || c.as_os_str() == "schemas"
                    || c.as_os_str() == "arazzo"
            })
        })
        .collect();
    assert!(valid.len() > 10, "{valid:?}");
    for file in valid {
        assert_valid(file);
    }
}

/// Lists the keys of a mapping.
fn keys(value: &Value) -> Vec<String> {
    value
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// Lists the keys each object definition of the schema has, by definition name.
fn schema_keys(schema: &Value) -> Vec<(String, Vec<String>)> {
    let mut out = vec![("Workflow".to_owned(), keys(&schema["properties"]))];
    for (name, definition) in schema["$defs"].as_object().unwrap() {
        if definition.get("properties").is_some() {
            out.push((name.clone(), keys(&definition["properties"])));
        }
    }
    out
}

#[test]
fn a_workflow_with_every_key_matches_the_schema() {
    let path = Path::new(ROOT).join("tests/fixtures/schema/every_key.yaml");
    assert_valid(&path);
    // It is a valid workflow for apiflow too.
    support::plan("schema/every_key.yaml");

    // And it really uses every key of every mapping the schema describes, in its place.
    let workflow = workflow_json(&path);
    let steps: Vec<&Value> = workflow["steps"]
        .as_array()
        .unwrap()
        .iter()
        .chain(workflow["finally"].as_array().unwrap())
        .collect();
    // The top-level `tls`, which excludes `defaults.tls`, is used by a workflow of its own.
    let top_level_tls = Path::new(ROOT).join("tests/fixtures/schema/top_level_tls.yaml");
    assert_valid(&top_level_tls);
    support::plan("schema/top_level_tls.yaml");
    let mut used: Vec<(&str, Vec<String>)> = vec![
        ("Workflow", keys(&workflow)),
        ("Workflow", keys(&workflow_json(&top_level_tls))),
        ("Defaults", keys(&workflow["defaults"])),
        ("Load", keys(&workflow["load"])),
    ];
    // A count and stages, which do not go with every_key.yaml's duration, have workflows of
    // their own.
    for name in ["load_count", "load_stages"] {
        let path = Path::new(ROOT).join(format!("tests/fixtures/schema/{name}.yaml"));
        assert_valid(&path);
        support::plan(&format!("schema/{name}.yaml"));
        let load = &workflow_json(&path)["load"];
        used.push(("Load", keys(load)));
        let stages = load["stages"].as_array().into_iter().flatten();
        used.push(("StageFields", stages.flat_map(keys).collect()));
    }
    let tls = |tls: &Value| {
        let mut used = vec![("Tls", keys(tls))];
        let hosts = tls["hosts"]
            .as_object()
            .into_iter()
            .flat_map(|m| m.values());
        used.push(("ClientCert", hosts.flat_map(keys).collect()));
        used
    };
    used.extend(tls(&workflow["defaults"]["tls"]));
    let inputs = workflow["inputs"].as_object().unwrap().values();
    used.push(("InputSpec", inputs.flat_map(keys).collect()));
    for step in steps {
        let request = &step["request"];
        used.push(("Step", keys(step)));
        used.push(("Request", keys(request)));
        used.push(("FormFrom", keys(&request["form_from"])));
        used.push(("Auth", keys(&request["auth"])));
        used.push(("Basic", keys(&request["auth"]["basic"])));
        used.push(("Digest", keys(&request["auth"]["digest"])));
        used.push(("AwsSigV4", keys(&request["auth"]["aws_sigv4"])));
        used.push(("Expect", keys(&step["expect"])));
        used.push(("SchemaFile", keys(&step["expect"]["schema"])));
        used.push(("Retry", keys(&step["retry"])));
        used.push(("Script", keys(&step["script"])));
        used.extend(tls(&request["tls"]));
        used.push(("BodyFile", keys(&request["body"])));
        let parts = request["multipart"]
            .as_object()
            .into_iter()
            .flat_map(|m| m.values());
        used.push(("PartFile", parts.flat_map(keys).collect()));
        let extracts = step["extract"]
            .as_object()
            .into_iter()
            .flat_map(|m| m.values());
        used.push(("ExtractSpec", extracts.flat_map(keys).collect()));
    }
    let schema_keys = schema_keys(&committed_schema());
    assert_eq!(schema_keys.len(), 21, "{schema_keys:?}");
    for (definition, keys) in schema_keys {
        let seen: Vec<&String> = used
            .iter()
            .filter(|(d, _)| *d == definition)
            .flat_map(|(_, k)| k)
            .collect();
        let missing: Vec<&String> = keys.iter().filter(|k| !seen.contains(k)).collect();
        assert!(
            missing.is_empty(),
            "every_key.yaml never uses {missing:?} of `{definition}`"
        );
    }
}

#[test]
fn the_schema_rejects_what_apiflow_rejects() {
    let schema = committed_schema();
    let mut workflow = workflow_json(&Path::new(ROOT).join("tests/fixtures/passing.yaml"));
    assert!(schema_errors(&schema, &workflow).is_empty());
    let changed = |change: fn(&mut Value)| {
        let mut wrong = workflow.clone();
        change(&mut wrong);
        wrong
    };
    let mistakes = [
        (
            "an unknown top-level key",
            changed(|w| w["stepz"] = Value::Null),
        ),
        (
            "an unknown step key",
            changed(|w| w["steps"][0]["requets"] = Value::Null),
        ),
        ("no steps", changed(|w| w["steps"] = serde_json::json!([]))),
        (
            "a status out of range",
            changed(|w| w["steps"][0]["expect"] = serde_json::json!({ "status": 700 })),
        ),
        (
            "a bad duration",
            changed(|w| w["steps"][0]["request"]["timeout"] = "10 seconds".into()),
        ),
        (
            "an unknown `load` key",
            changed(|w| w["load"] = serde_json::json!({ "iteration": 3 })),
        ),
        (
            "a threshold on an unknown metric",
            changed(|w| w["load"] = serde_json::json!({ "thresholds": ["p96<1s"] })),
        ),
        (
            "a threshold without a unit",
            changed(|w| w["load"] = serde_json::json!({ "thresholds": ["p95<300"] })),
        ),
        (
            "a rate per hour",
            changed(|w| w["load"] = serde_json::json!({ "rate": "5/h", "duration": "1s" })),
        ),
        (
            "no name",
            changed(|w| {
                w.as_object_mut().unwrap().remove("name");
            }),
        ),
    ];
    for (what, wrong) in mistakes {
        assert!(
            !schema_errors(&schema, &wrong).is_empty(),
            "{what} is accepted"
        );
    }
    workflow["steps"][0]["retry"] = serde_json::json!({ "attempts": 2 });
    assert!(schema_errors(&schema, &workflow).is_empty());
}

#[test]
fn init_writes_a_starter_that_validates() {
    let dir = TempDir::new("init");
    let out = output(apiflow(&["init", "smoke"]).current_dir(&dir.0), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "wrote smoke.yaml; run it with: apiflow run smoke.yaml\n"
    );
    let path = dir.0.join("smoke.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("# yaml-language-server: $schema="),
        "{text}"
    );
    assert!(text.contains("\nname: smoke\n"), "{text}");
    assert_valid(&path);
    let out = output(
        apiflow(&["validate", "smoke.yaml"]).current_dir(&dir.0),
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "✓ smoke.yaml: `smoke` is valid (2 steps, 0 finally)\n"
    );

    // A name with an extension is used as is; an existing file is never overwritten.
    let out = output(apiflow(&["init", "other.yml"]).current_dir(&dir.0), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(dir.0.join("other.yml").exists());
    let out = output(apiflow(&["init", "smoke"]).current_dir(&dir.0), &[]);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        "error: `smoke.yaml` already exists; apiflow init never overwrites a file\n"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn completions_print_a_script_for_each_shell() {
    let out = output(&mut apiflow(&["completions", "bash"]), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("_apiflow() {"), "{}", out.stdout);
    assert!(
        out.stdout.contains("complete -F _apiflow"),
        "{}",
        out.stdout
    );
    for word in [
        "run", "plan", "schema", "init", "--report", "--shard", "--jobs",
    ] {
        assert!(
            out.stdout.contains(word),
            "no `{word}` in the bash completions"
        );
    }
    for (shell, marker) in [
        ("zsh", "#compdef apiflow"),
        ("fish", "complete -c apiflow"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer[apiflow]"),
    ] {
        let out = output(&mut apiflow(&["completions", shell]), &[]);
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        assert!(out.stdout.contains(marker), "{shell}: {}", out.stdout);
    }
    let out = output(&mut apiflow(&["completions", "tcsh"]), &[]);
    assert_eq!(out.code, 2);
}
