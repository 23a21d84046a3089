//! `apiflow import arazzo`: the shipped PingOne Arazzo document becomes a workflow that passes
//! against the emulator without showing a secret, an official example imports with a warning
//! for each thing it leaves out, and a document of several workflows goes to a folder.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use apiflow_pingone::{Emulator, Options};

use crate::support::ROOT;

const EXAMPLES: &str = "tests/vectors/arazzo/examples/1.0.0";

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary from the repository's root, so paths in messages are relative.
fn apiflow(args: &[&str]) -> Output {
    let output = assert_cmd::Command::cargo_bin("apiflow")
        .expect("binary")
        .env_remove("GITHUB_ACTIONS")
        .current_dir(ROOT)
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("runs");
    Output {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A fresh, empty directory under the system's temporary directory.
fn temp_dir(label: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!(
        "apiflow-import-arazzo-{label}-{}-{n}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pingone_document_becomes_a_workflow_that_passes_against_the_emulator() {
    let imported = apiflow(&["import", "arazzo", "workflows/refresh_token.arazzo.yaml"]);
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    insta::assert_snapshot!("pingone_workflow", imported.stdout);
    // Every criterion of the document has a check.
    assert_eq!(imported.stderr, "");

    let dir = temp_dir("pingone");
    let file = dir.join("refresh_token.yaml");
    std::fs::write(&file, &imported.stdout).expect("written");
    let emulator = Emulator::start(0, Options::default())
        .await
        .expect("emulator starts");
    let info = emulator.info().clone();
    let password = "Ar4zzo!Flow#Pw";
    let file_arg = file.display().to_string();
    let vars = [
        format!("env_id={}", info.env_id),
        format!("worker_client_id={}", info.worker_client_id),
        format!("worker_client_secret={}", info.worker_client_secret),
        format!("pingone_server={}", info.auth_base),
    ];
    let run = tokio::task::spawn_blocking(move || {
        let mut args = vec!["run", file_arg.as_str(), "-v"];
        for var in &vars {
            args.extend(["--var", var.as_str()]);
        }
        apiflow(&args)
    })
    .await
    .expect("the run ends");
    emulator.shutdown().await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(": 16 passed, 0 failed, 0 skipped in "),
        "{}",
        run.stdout
    );
    // The secret the import marks (`format: password`) never shows, even with `-v`.
    for secret in [info.worker_client_secret.as_str(), password] {
        assert!(!run.stdout.contains(secret), "{}", run.stdout);
        assert!(!run.stderr.contains(secret), "{}", run.stderr);
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_official_example_warns_about_each_action_it_leaves_out() {
    let document = format!("{EXAMPLES}/bnpl-arazzo.yaml");
    let description = format!("BnplApi={EXAMPLES}/bnpl-openapi.yaml");
    let out = apiflow(&["import", "arazzo", &document, "--source", &description]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("bnpl_warnings", out.stderr);
    assert!(out.stdout.starts_with("name: "), "{}", out.stdout);
}

#[test]
fn several_workflows_go_to_a_folder_and_a_called_workflow_becomes_inputs() {
    let dir = temp_dir("oauth");
    let out_dir = dir.join("oauth");
    let out = apiflow(&[
        "import",
        "arazzo",
        &format!("{EXAMPLES}/oauth.arazzo.yaml"),
        "-o",
        &out_dir.display().to_string(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut names: Vec<String> = std::fs::read_dir(&out_dir)
        .expect("the folder")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "authorization-code-flow.yaml",
            "client-credentials-flow.yaml",
            "refresh-token-flow.yaml"
        ]
    );
    let refresh = std::fs::read_to_string(out_dir.join("refresh-token-flow.yaml")).expect("read");
    insta::assert_snapshot!("oauth_refresh_workflow", refresh);
    let stderr = out.stderr.replace(&out_dir.display().to_string(), "<dir>");
    insta::assert_snapshot!("oauth_warnings", stderr);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn one_workflow_of_several_goes_to_stdout() {
    let out = apiflow(&[
        "import",
        "arazzo",
        &format!("{EXAMPLES}/oauth.arazzo.yaml"),
        "--workflow",
        "client-credentials-flow",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("Imported from workflow `client-credentials-flow` of oauth.arazzo.yaml."),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("refresh-token-flow"), "{}", out.stdout);
}

#[test]
fn every_vendored_document_imports_or_says_why() {
    let out_dir = temp_dir("sweep");
    let mut imported = 0;
    for folder in [
        "tests/vectors/arazzo/examples",
        "tests/vectors/arazzo/schema/pass",
    ] {
        let mut stack = vec![std::path::Path::new(ROOT).join(folder)];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("a folder").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                if !apiflow_arazzo::load::is_arazzo(&text) {
                    continue;
                }
                // Whatever the document holds, the import ends with workflows that validate
                // (checked inside) or with located errors, never a panic.
                let destination = apiflow_import::Destination::Dir(out_dir.clone());
                match apiflow_import::arazzo(&path, &destination, None, &[]) {
                    Ok(import) => imported += import.workflows.len(),
                    Err(errors) => assert!(!errors.is_empty(), "{}", path.display()),
                }
            }
        }
    }
    assert!(imported >= 6, "only {imported} workflows imported");
    let _ = std::fs::remove_dir_all(out_dir);
}

#[test]
fn a_value_read_from_a_later_step_is_a_warning() {
    let dir = temp_dir("later");
    std::fs::copy(
        std::path::Path::new(ROOT).join("workflows/pingone.openapi.yaml"),
        dir.join("pingone.openapi.yaml"),
    )
    .expect("copied");
    let document = dir.join("later.arazzo.yaml");
    std::fs::write(
        &document,
        "arazzo: 1.1.0
info: { title: Keys, version: 1.0.0 }
sourceDescriptions:
  - { name: pingone, url: ./pingone.openapi.yaml, type: openapi }
workflows:
  - workflowId: keys
    steps:
      - stepId: first
        operationId: readSigningKeys
        parameters:
          - { name: envId, in: path, value: $steps.second.outputs.env }
      - stepId: second
        operationId: readSigningKeys
        parameters:
          - { name: envId, in: path, value: $inputs.env }
        outputs:
          env: $response.body#/keys/0/kid
",
    )
    .expect("written");
    let out = apiflow(&["import", "arazzo", &document.display().to_string()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let stderr = out.stderr.replace(&dir.display().to_string(), "<dir>");
    insta::assert_snapshot!("later_step_warnings", stderr);
    let _ = std::fs::remove_dir_all(dir);
}
