//! Bad input, through the real binary: every file under `tests/corpus/`, a table of command
//! lines, and files too odd to commit (not UTF-8, too large). Each case's exit code, stdout and
//! stderr are one snapshot.
//!
//! A corpus case is `NN-short-name.yaml`, run as `apiflow run FILE` unless `NN-short-name.args`
//! gives the arguments, one per line, where `{file}` is the case's path and `{server}` the URL of
//! an in-process server (for template errors that only show at run time).

use crate::support;

use std::fmt::Write as _;
use std::path::Path;

use serde_json::json;
use support::{ROOT, Recorded, Reply, Server};

/// The binary, run from the crate root so corpus paths print as `tests/corpus/…`, with no
/// environment variable a corpus workflow reads.
fn apiflow(dir: &Path) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::cargo_bin("apiflow").expect("the binary is built");
    command.env_remove("GITHUB_ACTIONS");
    command
        .current_dir(dir)
        .env_remove("CORPUS_API_KEY")
        .env_remove("NO_COLOR")
        .env_remove("COLUMNS");
    command
}

/// Runs the binary and returns its exit code, stdout and stderr as one stable text.
fn outcome(command: &mut assert_cmd::Command, ports: &[(u16, &str)]) -> String {
    let out = command.output().expect("the binary runs");
    // Step lines and summaries print how long things took; failures quote the YAML, which may
    // hold durations too. Only stdout has timings.
    let durations = regex::Regex::new(r"\d+ms|\d+\.\d+s").expect("a regex");
    let text = |bytes: &[u8]| {
        let text = String::from_utf8(bytes.to_vec()).expect("UTF-8 output");
        support::normalize(&text, ports)
    };
    let stdout = text(&out.stdout);
    let stdout = durations.replace_all(&stdout, "<t>");
    format!(
        "exit: {}\n--- stdout\n{stdout}--- stderr\n{}",
        out.status.code().expect("an exit code, not a signal"),
        text(&out.stderr)
    )
}

/// Answers the corpus's run-time cases: a JSON document, and a text body.
fn server() -> Server {
    Server::start(|request: &Recorded| match request.path.as_str() {
        "/text" => Reply::text(200, "hello"),
        _ => Reply::json(
            200,
            &json!({ "name": "widget", "count": 3, "items": [1, 2] }),
        ),
    })
}

#[test]
fn corpus() {
    let server = server();
    let root = Path::new(ROOT);
    insta::glob!("../corpus", "*.yaml", |path| {
        let name = path.file_name().expect("a file name").to_string_lossy();
        let file = format!("tests/corpus/{name}");
        let args: Vec<String> = match std::fs::read_to_string(path.with_extension("args")) {
            Ok(text) => text
                .lines()
                .filter(|line| !line.is_empty())
                .map(|line| {
                    line.replace("{file}", &file)
                        .replace("{server}", &server.url)
                })
                .collect(),
            Err(_) => vec!["run".to_owned(), file.clone()],
        };
        let text = outcome(apiflow(root).args(&args), &[(server.port, "<port>")]);
        insta::assert_snapshot!(text);
    });
}

#[test]
fn the_corpus_has_at_least_60_cases_each_named_nn_short_name() {
    // A case's `.json` holds a schema file its workflow reads.
    let pattern =
        regex::Regex::new(r"^\d{2,3}-[a-z0-9-]+\.(yaml|args|env|json)$").expect("a regex");
    let mut cases = 0;
    for entry in std::fs::read_dir(format!("{ROOT}/tests/corpus")).expect("the corpus") {
        let name = entry.expect("an entry").file_name();
        let name = name.to_string_lossy();
        assert!(pattern.is_match(&name), "badly named corpus file `{name}`");
        if let Some(stem) = name
            .strip_suffix(".args")
            .or_else(|| name.strip_suffix(".json"))
        {
            let yaml = format!("{stem}.yaml");
            assert!(
                Path::new(&format!("{ROOT}/tests/corpus/{yaml}")).exists(),
                "`{name}` has no `{yaml}`"
            );
        }
        cases += usize::from(name.ends_with(".yaml"));
    }
    assert!(cases >= 60, "only {cases} corpus cases");
}

/// Command lines that are wrong before any file is read.
const COMMAND_LINES: &[(&str, &[&str])] = &[
    ("unknown_flag", &["run", "flow.yaml", "--frobnicate"]),
    ("unknown_short_flag", &["run", "-x", "flow.yaml"]),
    ("unknown_subcommand", &["walk", "flow.yaml"]),
    ("no_subcommand", &[]),
    ("run_without_files", &["run"]),
    ("validate_without_files", &["validate"]),
    (
        "show_secrets_without_curl",
        &["run", "flow.yaml", "--show-secrets"],
    ),
    (
        "report_without_path",
        &["run", "flow.yaml", "--report", "json="],
    ),
    (
        "report_without_format",
        &["run", "flow.yaml", "--report", "out.json"],
    ),
    ("max_body_zero", &["run", "flow.yaml", "--max-body", "0"]),
    (
        "connect_timeout_without_unit",
        &["run", "flow.yaml", "--connect-timeout", "5"],
    ),
    ("timeout_negative", &["run", "flow.yaml", "--timeout=-1s"]),
    (
        "shard_out_of_range",
        &["run", "flow.yaml", "--shard", "3/2"],
    ),
    ("jobs_zero", &["run", "flow.yaml", "--jobs", "0"]),
    (
        "color_unknown",
        &["run", "flow.yaml", "--color", "sometimes"],
    ),
    ("var_without_value", &["run", "flow.yaml", "--var"]),
    (
        "emulate_unknown_api",
        &["run", "flow.yaml", "--emulate", "okta"],
    ),
    ("file_not_found", &["run", "no-such-flow.yaml"]),
    ("file_is_a_directory", &["validate", "empty-dir"]),
    ("directory_without_workflows", &["run", "empty-dir"]),
];

#[test]
fn command_lines() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::create_dir(dir.path().join("empty-dir")).expect("a directory");
    for (name, args) in COMMAND_LINES {
        let text = outcome(apiflow(dir.path()).args(*args), &[]);
        insta::assert_snapshot!(format!("command_line__{name}"), text);
    }
}

#[test]
fn a_file_that_is_not_utf8() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut bytes = b"name: latin-1\nsteps:\n  - name: caf".to_vec();
    bytes.extend_from_slice(&[0xe9]);
    bytes.extend_from_slice(b"\n    request: { url: http://127.0.0.1/items }\n");
    std::fs::write(dir.path().join("latin1.yaml"), bytes).expect("written");
    let text = outcome(apiflow(dir.path()).args(["run", "latin1.yaml"]), &[]);
    insta::assert_snapshot!(text);
}

#[test]
fn an_env_file_that_is_not_utf8() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::copy(
        format!("{ROOT}/tests/corpus/75-missing-inputs.yaml"),
        dir.path().join("flow.yaml"),
    )
    .expect("copied");
    std::fs::write(dir.path().join("latin1.env"), b"base_url=caf\xe9\n").expect("written");
    let text = outcome(
        apiflow(dir.path()).args(["run", "flow.yaml", "--env-file", "latin1.env"]),
        &[],
    );
    insta::assert_snapshot!(text);
}

#[test]
fn a_file_over_the_size_limit() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut text = String::from("name: huge\nsteps:\n  - name: fetch\n    request:\n");
    text.push_str("      url: http://127.0.0.1/items\n");
    let filler = format!("# {}\n", "x".repeat(1022));
    while text.len() <= apiflow::format::yaml::MAX_FILE_SIZE {
        text.push_str(&filler);
    }
    std::fs::write(dir.path().join("huge.yaml"), text).expect("written");
    let out = outcome(apiflow(dir.path()).args(["validate", "huge.yaml"]), &[]);
    insta::assert_snapshot!(out);
}

#[test]
fn a_large_file_under_the_limit_validates() {
    // Thousands of steps that each use templates: validation must stay fast and bounded.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut text = String::from("name: large\ninputs:\n  base_url:\nsteps:\n");
    for index in 0..3000 {
        let _ = write!(
            text,
            "  - name: step {index}\n    request:\n      url: \"{{{{ base_url }}}}/items/{index}\"\n    expect:\n      status: 200\n      checks: [\"json.id == {index}\"]\n    extract:\n      id_{index}: $.id\n"
        );
    }
    std::fs::write(dir.path().join("large.yaml"), text).expect("written");
    let out = outcome(apiflow(dir.path()).args(["validate", "large.yaml"]), &[]);
    assert_eq!(
        out,
        "exit: 0\n--- stdout\n✓ large.yaml: `large` is valid (3000 steps, 0 finally)\n--- stderr\n"
    );
}
