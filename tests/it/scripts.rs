//! `script:`: JavaScript run before a step's request and after its response, in the sandbox,
//! with Postman's scripting API; through the library and the binary.

use crate::support;

use apiflow::report::event::Outcome;
use serde_json::json;
use support::bin::{apiflow, output};
use support::{Recorded, Reply, Server, normalize, run};

fn server() -> Server {
    Server::start(|request: &Recorded| match request.path.as_str() {
        "/login" => Reply::json(200, &json!({ "token": "tok-1", "user": { "id": 7 } })),
        "/users/7" => Reply::json(200, &json!({ "id": 7, "name": "Ada", "address": null })),
        _ => Reply::status(404),
    })
}

fn checks(run: &support::Run) -> Vec<String> {
    run.report
        .steps
        .iter()
        .flat_map(|s| {
            s.checks.iter().map(move |c| {
                format!(
                    "{}: {} {}",
                    s.name,
                    if c.passed { "✓" } else { "✗" },
                    c.what
                )
            })
        })
        .collect()
}

#[tokio::test]
async fn tests_are_checks_and_variables_reach_the_request_and_later_steps() {
    let server = server();
    let run = run("scripts/passing.yaml", &[("base_url", &server.url)], true).await;
    assert_eq!(run.report.exit_code(), 0, "{}", run.output);
    assert_eq!(
        checks(&run),
        [
            "log in: ✓ status is 200",
            "log in: ✓ token is a string",
            "log in: ✓ status 200",
            "log in: ✓ user_id == 7",
            "read the user: ✓ name is Ada",
            "read the user: ✓ legacy check",
        ]
    );
    // What `before` set and added is in the request it ran before.
    let login = server.only("/login");
    assert_eq!(login.query.as_deref(), Some("nonce=n-42"));
    assert_eq!(login.header("x-trace"), Some("from-script"));
    // What `after` set is used by the next step.
    server.only("/users/7");
    assert!(
        run.output.contains("    console.log: logged in as 7\n"),
        "{}",
        run.output
    );
}

#[tokio::test]
async fn a_failed_test_fails_its_step_with_the_assertion_message() {
    let server = server();
    let run = run("scripts/failing.yaml", &[("base_url", &server.url)], false).await;
    assert_eq!(run.report.exit_code(), 1, "{}", run.output);
    assert_eq!(run.step("read the user").outcome, Outcome::Failed);
    assert_eq!(run.step("never runs").outcome, Outcome::Skipped);
    assert_eq!(
        checks(&run),
        [
            "read the user: ✓ status is 200",
            "read the user: ✗ name is Bob",
        ]
    );
    insta::assert_snapshot!(normalize(&run.output, &[(server.port, "<port>")]));
}

#[tokio::test]
async fn an_exception_outside_a_test_fails_the_step_at_its_line() {
    let server = server();
    let run = run("scripts/throws.yaml", &[("base_url", &server.url)], false).await;
    assert_eq!(run.report.exit_code(), 1, "{}", run.output);
    insta::assert_snapshot!(normalize(&run.output, &[(server.port, "<port>")]));
}

#[test]
fn the_binary_reports_script_tests_in_every_report() {
    let server = server();
    let dir = support::bin::TempDir::new("script-reports");
    let json_path = dir.file("report.json");
    let junit_path = dir.file("report.xml");
    let html_path = dir.file("report.html");
    let out = output(
        &mut apiflow(&[
            "run",
            "tests/fixtures/scripts/failing.yaml",
            "--var",
            &format!("base_url={}", server.url),
            "--report",
            &format!("json={json_path}"),
            "--report",
            &format!("junit={junit_path}"),
            "--report",
            &format!("html={html_path}"),
        ]),
        &[(server.port, "<port>")],
    );
    assert_eq!(out.code, 1, "{out:?}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).expect("a JSON report"))
            .expect("JSON");
    let step = &report["workflows"][0]["steps"][0];
    assert_eq!(
        step["checks"],
        json!([
            { "check": "status is 200", "passed": true },
            { "check": "name is Bob", "passed": false },
        ])
    );
    let junit = std::fs::read_to_string(&junit_path).expect("a JUnit report");
    assert!(junit.contains("name is Bob"), "{junit}");
    assert!(
        junit.contains("AssertionError: expected &#39;Ada&#39; to deeply equal &#39;Bob&#39;"),
        "{junit}"
    );
    let html = std::fs::read_to_string(&html_path).expect("an HTML report");
    assert!(html.contains("name is Bob"), "{html}");
}

/// Runs a fixture with the script limits given.
async fn run_with_limits(
    name: &str,
    server: &Server,
    limits: apiflow_script::Limits,
) -> support::Run {
    let plan = support::plan(name);
    let sources = apiflow::check::inputs::InputSources {
        vars: vec![("base_url".to_owned(), server.url.clone())],
        ..apiflow::check::inputs::InputSources::default()
    };
    let inputs = apiflow::check::inputs::resolve(&plan, &sources, &|_| None).expect("inputs");
    let client = apiflow::http::Client::new(&apiflow::http::ClientOptions::default())
        .expect("an HTTP client");
    let mut reporter =
        apiflow::report::terminal::Terminal::new(Vec::<u8>::new(), false, false).stable();
    let settings = apiflow::runner::Settings {
        script_limits: limits,
        ..apiflow::runner::Settings::default()
    };
    let report = apiflow::runner::run(&plan, &client, inputs, &settings, &mut reporter)
        .await
        .expect("the run starts");
    let output = String::from_utf8(reporter.into_inner()).expect("UTF-8 output");
    support::Run { report, output }
}

#[tokio::test]
async fn an_endless_loop_stops_at_the_time_limit_and_fails_its_step() {
    let server = server();
    let limits = apiflow_script::Limits {
        time: std::time::Duration::from_millis(100),
        ..apiflow_script::Limits::default()
    };
    let run = run_with_limits("scripts/endless.yaml", &server, limits).await;
    assert_eq!(run.report.exit_code(), 1, "{}", run.output);
    // `before` stopped the step: nothing was sent.
    assert!(server.requests().is_empty());
    insta::assert_snapshot!(normalize(&run.output, &[(server.port, "<port>")]));
}

#[tokio::test]
async fn a_workflow_without_scripts_starts_no_engine() {
    // A test on tokio's current-thread runtime runs the whole run on this thread.
    let server = server();
    let started = apiflow_script::engines_started_on_this_thread();
    let run = run("scripts/none.yaml", &[("base_url", &server.url)], false).await;
    assert_eq!(run.report.exit_code(), 0, "{}", run.output);
    assert_eq!(apiflow_script::engines_started_on_this_thread(), started);
    // One with three scripts compiles them in one checking context when it is checked, then runs
    // them all in one sandbox.
    let run = run_with_limits(
        "scripts/passing.yaml",
        &server,
        apiflow_script::Limits::default(),
    )
    .await;
    assert_eq!(run.report.exit_code(), 0, "{}", run.output);
    assert_eq!(
        apiflow_script::engines_started_on_this_thread(),
        started + 1 + 1
    );
}

#[tokio::test]
async fn set_next_request_jumps_to_a_step_or_ends_the_run() {
    let server = server();
    let run = run(
        "scripts/next_request.yaml",
        &[("base_url", &server.url)],
        false,
    )
    .await;
    assert_eq!(run.report.exit_code(), 0, "{}", run.output);
    // `poll` ran three times, then `done`; neither other step ran.
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/users/7", "/users/7", "/users/7", "/users/7"]);
    insta::assert_snapshot!(normalize(&run.output, &[(server.port, "<port>")]));
}

#[test]
fn scripts_read_the_iteration_and_its_data_row() {
    let server = server();
    let dir = support::bin::TempDir::new("script-data");
    let csv = dir.file("users.csv");
    std::fs::write(&csv, "user\nann\nbob\n").expect("written");
    let out = output(
        &mut apiflow(&[
            "run",
            "tests/fixtures/scripts/iteration.yaml",
            "--var",
            &format!("base_url={}", server.url),
            "--data",
            &csv,
        ]),
        &[(server.port, "<port>")],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let mut rows: Vec<String> = server
        .requests()
        .iter()
        .filter_map(|r| r.header("x-row").map(str::to_owned))
        .collect();
    rows.sort();
    assert_eq!(rows, ["ann/ann/0/2", "bob/bob/1/2"]);
}
