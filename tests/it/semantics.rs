//! The order steps run in: `on_failure` (and `--continue-on-failure`), `next:` jumps, the
//! `max_steps` bound, and a capture a failed or jumped-past step did not set. Fixture workflows
//! under `tests/fixtures/semantics/` run through the real binary against an in-process server;
//! the tests check which requests it received, in which order, the exit code and the output.

use crate::support;

use serde_json::{Value, json};
use support::bin::{Output, TempDir, apiflow, output};
use support::{Recorded, Reply, Server, closed_port};

/// Answers `/poll` with `{"n": 1}`, then 2, 3…; `/login`, `/broken`, `/items/2` and
/// `/inner/fails` fail, `/flaky` always answers 503; anything else passes.
fn server() -> Server {
    Server::start(|request: &Recorded| match request.path.as_str() {
        "/poll" => Reply::json(200, &json!({ "n": request.nth + 1 })),
        "/login" => Reply::json(401, &json!({ "error": "no" })),
        "/broken" | "/items/2" | "/inner/fails" => Reply::status(500),
        "/flaky" => Reply::status(503),
        "/session" => Reply::status(204),
        _ => Reply::json(200, &json!({ "ok": true })),
    })
}

/// The paths the server received, in order.
fn paths(server: &Server) -> Vec<String> {
    server
        .requests()
        .into_iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

/// Runs a fixture with `base_url` and more arguments; ports print as `<port>`.
fn run(server: &Server, name: &str, args: &[&str]) -> Output {
    let file = format!("tests/fixtures/semantics/{name}");
    let base = format!("base_url={}", server.url);
    let mut all = vec!["run", file.as_str(), "--var", base.as_str()];
    all.extend_from_slice(args);
    output(&mut apiflow(&all), &[(server.port, "<port>")])
}

/// Names each step entry of a JSON report, with its outcome and why it did not run.
fn entries(report: &Value) -> Vec<String> {
    report["workflows"][0]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|step| {
            let line = format!(
                "{} {}",
                step["outcome"].as_str().unwrap_or("?"),
                step["name"].as_str().unwrap_or("?")
            );
            match step["reason"].as_str() {
                Some(reason) => format!("{line} ({reason})"),
                None => line,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// on_failure

#[test]
fn a_failed_step_marked_continue_lets_the_next_steps_run_and_reports_every_failure() {
    let server = server();
    let out = run(&server, "continue.yaml", &[]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    // `/me` needs the token `log in` did not capture, so it is never sent; `fail and stop`
    // stops the run before `/never`; `finally` still runs.
    assert_eq!(
        paths(&server),
        [
            "POST /login",
            "GET /items",
            "GET /broken",
            "DELETE /session"
        ]
    );
    insta::assert_snapshot!(out.stdout);
}

#[test]
fn every_failure_of_a_run_that_continues_is_in_the_junit_and_json_reports() {
    let server = server();
    let dir = TempDir::new("semantics-reports");
    let (json, junit) = (dir.file("report.json"), dir.file("report.xml"));
    let out = run(
        &server,
        "continue.yaml",
        &[
            "--report",
            &format!("json={json}"),
            "--report",
            &format!("junit={junit}"),
        ],
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let junit = std::fs::read_to_string(&junit).expect("the JUnit report");
    assert_eq!(junit.matches("<failure").count(), 3, "{junit}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("the JSON report"))
            .expect("JSON");
    let workflow = &report["workflows"][0];
    assert_eq!(
        (&workflow["outcome"], &workflow["exit_code"]),
        (&json!("failed"), &json!(1))
    );
    assert_eq!(
        workflow["counts"],
        json!({ "passed": 2, "failed": 3, "skipped": 1 })
    );
    let messages: Vec<&str> = workflow["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .flat_map(|s| s["failures"].as_array().expect("failures"))
        .map(|f| f["message"].as_str().expect("a message"))
        .collect();
    assert_eq!(
        messages,
        [
            "expected status 200, got 401",
            "`token` is not set: step `log in`, which captures it, failed",
            "expected status 200, got 500"
        ]
    );
}

#[test]
fn continue_on_failure_runs_on_where_the_workflow_does_not_say() {
    let server = server();
    let out = run(&server, "retry.yaml", &["--continue-on-failure"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    // Every attempt of the retried step, then the next step.
    assert_eq!(
        paths(&server),
        ["GET /flaky", "GET /flaky", "GET /flaky", "GET /after"]
    );

    // Without the flag, the run stops after the last attempt.
    let server = self::server();
    let out = run(&server, "retry.yaml", &[]);
    assert_eq!(out.code, 1);
    assert_eq!(paths(&server), ["GET /flaky", "GET /flaky", "GET /flaky"]);
    assert!(
        out.stdout
            .contains("- after (not run: an earlier step failed)"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_step_that_says_stop_stops_the_run_despite_the_flag() {
    let server = server();
    let out = run(&server, "continue.yaml", &["--continue-on-failure"]);
    assert_eq!(out.code, 1);
    assert!(!paths(&server).contains(&"GET /never".to_owned()));
}

#[test]
fn a_connection_refused_is_reported_and_the_run_goes_on_with_exit_3() {
    let server = server();
    let closed = format!("closed_url=http://127.0.0.1:{}", closed_port());
    let out = run(
        &server,
        "unreachable.yaml",
        &["--var", &closed, "--continue-on-failure"],
    );
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert_eq!(paths(&server), ["GET /after"]);
}

#[test]
fn every_element_of_a_for_each_runs_after_a_failed_one() {
    let server = server();
    let out = run(&server, "each.yaml", &[]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        paths(&server),
        ["GET /items/1", "GET /items/2", "GET /items/3", "GET /after"]
    );
}

#[test]
fn a_used_workflow_goes_on_after_its_failure_and_so_does_its_caller() {
    let server = server();
    let out = run(&server, "caller.yaml", &[]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        paths(&server),
        ["GET /inner/fails", "GET /inner/ok", "GET /after"]
    );
    insta::assert_snapshot!(out.stdout);
}

#[test]
fn each_iteration_runs_every_step_and_the_run_fails() {
    let server = server();
    let dir = TempDir::new("semantics-data");
    let rows = dir.file("rows.csv");
    std::fs::write(&rows, "who\nada\ngrace\n").expect("a data file");
    let out = run(
        &server,
        "continue.yaml",
        &["--data", &rows, "--continue-on-failure"],
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let sent = paths(&server);
    for path in [
        "POST /login",
        "GET /items",
        "GET /broken",
        "DELETE /session",
    ] {
        let times = sent.iter().filter(|p| *p == path).count();
        assert_eq!(times, 2, "{path} in {sent:?}");
    }
}

#[test]
fn several_files_at_once_each_go_on_after_a_failure() {
    let server = server();
    let out = run(
        &server,
        "each.yaml",
        &[
            "tests/fixtures/semantics/retry.yaml",
            "--jobs",
            "2",
            "--continue-on-failure",
        ],
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let sent = paths(&server);
    let after = sent.iter().filter(|p| *p == "GET /after").count();
    assert_eq!(after, 2, "{sent:?}");
}

// ---------------------------------------------------------------------------------------------
// next:

#[test]
fn next_jumps_loops_and_ends_the_run_and_reports_each_run_in_order() {
    let server = server();
    let dir = TempDir::new("semantics-jumps");
    let json = dir.file("report.json");
    let junit = dir.file("report.xml");
    let out = run(
        &server,
        "jumps.yaml",
        &[
            "--report",
            &format!("json={json}"),
            "--report",
            &format!("junit={junit}"),
        ],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        paths(&server),
        [
            "GET /start",
            "GET /poll",
            "GET /poll",
            "GET /poll",
            "GET /done",
            "GET /cleanup"
        ]
    );
    insta::assert_snapshot!(out.stdout);
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("the JSON report"))
            .expect("JSON");
    insta::assert_snapshot!("jumps_json", entries(&report).join("\n"));
    let junit = std::fs::read_to_string(&junit).expect("the JUnit report");
    assert_eq!(
        junit.matches("<testcase name=\"poll\"").count(),
        3,
        "{junit}"
    );
    assert_eq!(junit.matches("<skipped").count(), 3, "{junit}");
}

#[test]
fn a_jump_to_a_step_computed_at_run_time_is_checked_then() {
    let server = server();
    let out = run(&server, "runtime_next.yaml", &["--var", "target=thrid"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(paths(&server), ["GET /choose"]);
    insta::assert_snapshot!(out.stdout);

    let server = self::server();
    let out = run(&server, "runtime_next.yaml", &["--var", "target=third"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(paths(&server), ["GET /choose", "GET /third"]);
    assert!(
        out.stdout
            .contains("- second (not run: jumped past: `choose` went on at `third`)"),
        "{}",
        out.stdout
    );

    // A template that renders to nothing ends the run, as `next: null` does.
    let server = self::server();
    let out = run(&server, "runtime_next.yaml", &["--var", "target="]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(paths(&server), ["GET /choose"]);
    assert!(
        out.stdout
            .contains("- third (not run: `choose` ended the run (`next: {{ target }}` is empty))"),
        "{}",
        out.stdout
    );
}

// ---------------------------------------------------------------------------------------------
// max_steps

#[test]
fn a_loop_ends_at_max_steps_with_an_error() {
    let server = server();
    let out = run(&server, "forever.yaml", &[]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(paths(&server), ["GET /again"; 3]);
    insta::assert_snapshot!(out.stdout);

    // The flag outranks `defaults.max_steps`.
    let server = self::server();
    let out = run(&server, "forever.yaml", &["--max-steps", "5"]);
    assert_eq!(out.code, 1);
    assert_eq!(paths(&server), ["GET /again"; 5]);
    assert!(
        out.stdout
            .contains("it already ran 5 steps (`--max-steps 5`)"),
        "{}",
        out.stdout
    );
}

// ---------------------------------------------------------------------------------------------
// plan

#[test]
fn plan_shows_on_failure_and_next() {
    let jumps = output(
        &mut apiflow(&[
            "plan",
            "tests/fixtures/semantics/jumps.yaml",
            "--var",
            "base_url=http://api.test",
        ]),
        &[],
    );
    assert_eq!(jumps.code, 0, "{}", jumps.stderr);
    let failures = output(
        &mut apiflow(&[
            "plan",
            "tests/fixtures/semantics/continue.yaml",
            "--var",
            "base_url=http://api.test",
        ]),
        &[],
    );
    assert_eq!(failures.code, 0, "{}", failures.stderr);
    insta::assert_snapshot!(format!("{}\n{}", jumps.stdout, failures.stdout));
}

// ---------------------------------------------------------------------------------------------
// What still stops a run

/// Sets the interrupt flag (as Ctrl-C does) once the first step has ended.
struct CtrlCAfterFirstStep(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl apiflow::report::event::Reporter for CtrlCAfterFirstStep {
    fn event(&mut self, event: &apiflow::report::event::Event<'_>) {
        if let apiflow::report::event::Event::Step(_) = event {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

#[tokio::test]
async fn ctrl_c_stops_a_run_that_continues_after_failures() {
    let server = server();
    let plan = support::plan("semantics/continue.yaml");
    let sources = apiflow::check::inputs::InputSources {
        vars: vec![("base_url".to_owned(), server.url.clone())],
        ..Default::default()
    };
    let inputs =
        apiflow::check::inputs::resolve(&plan, &sources, &|_| None).expect("the inputs resolve");
    let client = apiflow::http::Client::new(&apiflow::http::ClientOptions::default())
        .expect("an HTTP client");
    let settings = apiflow::runner::Settings {
        continue_on_failure: true,
        ..Default::default()
    };
    let mut reporter = CtrlCAfterFirstStep(std::sync::Arc::clone(&settings.interrupt));
    let report = apiflow::runner::run(&plan, &client, inputs, &settings, &mut reporter)
        .await
        .expect("the run starts");
    assert_eq!(report.exit_code(), 130);
    // The failed first step continues, but the interruption stops the run; `finally` runs.
    assert_eq!(paths(&server), ["POST /login", "DELETE /session"]);
    let reasons: Vec<Option<&str>> = report.steps.iter().map(|s| s.reason.as_deref()).collect();
    assert_eq!(
        reasons,
        [
            None,
            Some("not run: interrupted"),
            Some("not run: interrupted"),
            Some("not run: interrupted"),
            Some("not run: interrupted"),
            None
        ]
    );
}

#[test]
fn the_html_report_has_an_entry_for_each_run_of_a_step() {
    let server = server();
    let dir = TempDir::new("semantics-html");
    let html = dir.file("report.html");
    let out = run(
        &server,
        "jumps.yaml",
        &["--report", &format!("html={html}")],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let html = std::fs::read_to_string(&html).expect("the HTML report");
    assert_eq!(html.matches("</span> poll <span").count(), 3, "{html}");
    assert!(
        html.contains("not run: jumped past: `start` went on at `poll`"),
        "{html}"
    );
}
