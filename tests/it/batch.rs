//! Batch runs through the library, as the command line makes them: files run at once with
//! `jobs`, a shard of a directory, iterations with `--data` rows, and the worst exit code.

use crate::support;

use std::path::{Path, PathBuf};

use apiflow::ExitCode;
use apiflow::batch::{self, Console, Options, Shard};
use apiflow::check::inputs::InputSources;
use apiflow::http::{Client, ClientOptions};
use apiflow::runner::Settings;
use serde_json::json;
use support::{ROOT, Recorded, Reply, Server, closed_port};

fn plans(files: &[PathBuf]) -> Vec<apiflow::Plan> {
    files
        .iter()
        .map(|file| {
            apiflow::check_file(file).unwrap_or_else(|d| {
                panic!("{} is invalid:\n{}", file.display(), support::render(&d))
            })
        })
        .collect()
}

fn vars(pairs: &[(&str, String)]) -> InputSources {
    InputSources {
        vars: pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
        ..InputSources::default()
    }
}

/// Runs a batch with the default client and settings; returns its outcome and what it printed.
async fn run(plans: &[apiflow::Plan], options: &Options) -> (ExitCode, String, String) {
    let client = Client::new(&ClientOptions::default()).expect("an HTTP client");
    let (console, captured) = Console::captured();
    let code = batch::run(plans, &client, &Settings::default(), options, &console).await;
    (code, captured.stdout(), captured.stderr())
}

#[tokio::test]
async fn files_run_at_once_print_whole_and_the_worst_exit_code_wins() {
    // The three cookie-jar workflows wait for each other's logins: they pass only when they
    // really run at once, each with its own cookie jar.
    let server = support::cookie_server();
    let files = batch::workflow_files(&[Path::new(ROOT).join("tests/fixtures/parallel")], None)
        .expect("the fixtures");
    let plans = plans(&files);
    let dead = closed_port();
    let options = Options {
        sources: vars(&[
            ("base_url", server.url.clone()),
            ("dead_url", format!("http://127.0.0.1:{dead}")),
        ]),
        jobs: 5,
        ..Options::default()
    };
    let (code, stdout, stderr) = run(&plans, &options).await;
    assert_eq!(code, ExitCode::Unreachable, "{stdout}\n{stderr}");
    // Each workflow's output is printed whole: its header line, then its summary line next
    // to its steps, never another workflow's lines in between.
    let headers = stdout.lines().filter(|l| l.starts_with('▶')).count();
    assert_eq!(headers, 5, "{stdout}");
    let summary: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.ends_with(" files: 3 passed, 2 failed"))
        .collect();
    assert_eq!(summary.len(), 6, "{stdout}");
    assert_eq!(summary[0], "5 files: 3 passed, 2 failed");
    for (line, file) in summary[1..].iter().zip(&files) {
        let name = file.display();
        let expected = match file.file_name().and_then(|n| n.to_str()) {
            Some("d_fails.yaml") => format!("  ✗ {name} (exit 1)"),
            Some("e_unreachable.yaml") => format!("  ✗ {name} (exit 3)"),
            _ => format!("  ✓ {name}"),
        };
        assert_eq!(*line, expected);
    }
}

#[test]
fn shards_take_disjoint_stable_shares_of_a_directory() {
    let dir = [Path::new(ROOT).join("tests/fixtures/shard")];
    let all = batch::workflow_files(&dir, None).expect("the fixtures");
    let names = |files: Vec<PathBuf>| -> Vec<String> {
        files
            .iter()
            .map(|f| {
                f.file_name()
                    .expect("a name")
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    };
    assert_eq!(
        names(all.clone()),
        [
            "w7.yml", "w1.yaml", "w2.yaml", "w3.yaml", "w4.yaml", "w5.yaml", "w6.yaml"
        ]
    );
    let mut union = Vec::new();
    for index in 1..=3 {
        let part = Shard { index, count: 3 };
        let share = batch::workflow_files(&dir, Some(part)).expect("the fixtures");
        let again = batch::workflow_files(&dir, Some(part)).expect("the fixtures");
        assert_eq!(share, again, "the split is stable");
        union.extend(share);
    }
    assert_eq!(
        names(batch::workflow_files(&dir, Some(Shard { index: 2, count: 3 })).unwrap()),
        ["w1.yaml", "w4.yaml"]
    );
    union.sort();
    let mut all = all;
    all.sort();
    assert_eq!(union, all, "every file once");
}

#[tokio::test]
async fn each_data_row_is_one_iteration_with_its_own_inputs() {
    let server = Server::start(|request: &Recorded| {
        Reply::json(
            200,
            &json!({ "user": request.path.trim_start_matches("/users/") }),
        )
    });
    let dir = tempfile::tempdir().expect("a temporary directory");
    let flow = dir.path().join("flow.yaml");
    std::fs::write(
        &flow,
        "name: rows\ninputs:\n  base_url:\n  user:\nsteps:\n  - name: read\n    request:\n      url: \"{{ base_url }}/users/{{ user }}\"\n    expect:\n      status: 200\n      json:\n        \"$.user\": \"{{ user }}\"\n",
    )
    .expect("written");
    let plans = plans(&[flow]);
    let rows = ["ann", "bob", "cy", "dee"]
        .iter()
        .map(|u| vec![("user".to_owned(), (*u).to_owned())])
        .collect();
    let options = Options {
        sources: vars(&[("base_url", server.url.clone())]),
        rows: Some(rows),
        concurrency: 2,
        ..Options::default()
    };
    let (code, stdout, stderr) = run(&plans, &options).await;
    assert_eq!(code, ExitCode::Passed, "{stdout}\n{stderr}");
    let mut paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    paths.sort();
    assert_eq!(
        paths,
        ["/users/ann", "/users/bob", "/users/cy", "/users/dee"]
    );
    let first = stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("✓ rows: 4 iterations, 4 passed, 0 failed in ")
            && first.ends_with(" (concurrency 2)"),
        "{stdout}"
    );
    assert!(stdout.contains("  4 requests, "), "{stdout}");
}
