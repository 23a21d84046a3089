//! `expect.schema`: response bodies checked against JSON Schemas written in the step or kept in
//! files beside the workflow, in each draft apiflow knows, through the library and the binary.

use crate::support;

use apiflow::report::event::Outcome;
use serde_json::{Value, json};
use support::bin::{apiflow, output};
use support::{Recorded, Reply, Server, normalize, run};

fn server() -> Server {
    Server::start(|request: &Recorded| match request.path.as_str() {
        "/user" => Reply::json(
            200,
            &json!({ "id": 7, "name": "widget", "tags": ["red", "blue"] }),
        ),
        "/numbers" => Reply::json(200, &json!((1..=14).collect::<Vec<u32>>())),
        "/text" => Reply::text(200, "hello"),
        _ => Reply::status(404),
    })
}

/// The first failure of a step in the JSON report, and its checks.
fn report_entry(report: &apiflow::report::event::RunReport, step: usize) -> Value {
    let document: Value =
        serde_json::from_str(&apiflow::report::json::render(std::slice::from_ref(report)))
            .expect("the report is JSON");
    let step = &document["workflows"][0]["steps"][step];
    json!({ "checks": step["checks"], "failure": step["failures"][0] })
}

#[tokio::test]
async fn bodies_that_match_pass_in_every_draft_and_from_files() {
    let server = server();
    let run = run(
        "body_schema/passing.yaml",
        &[("base_url", &server.url)],
        false,
    )
    .await;
    assert_eq!(run.report.exit_code(), 0, "{}", run.output);
    let checks: Vec<&str> = run
        .report
        .steps
        .iter()
        .flat_map(|s| s.checks.iter().map(|c| c.what.as_str()))
        .collect();
    assert_eq!(
        checks,
        [
            "status 200",
            "body matches schema",
            "body matches schema",
            "body matches schema schemas/user-2019-09.json",
            "body matches schema schemas/user.yaml",
            "body matches schema schemas/tabs.json",
            "body matches schema",
        ]
    );
}

#[tokio::test]
async fn a_body_that_breaks_its_schema_lists_every_violation() {
    let server = server();
    let run = run(
        "body_schema/failing.yaml",
        &[("base_url", &server.url)],
        false,
    )
    .await;
    assert_eq!(run.report.exit_code(), 1, "{}", run.output);
    assert_eq!(run.step("wrong user").outcome, Outcome::Failed);
    insta::assert_snapshot!(normalize(&run.output, &[(server.port, "<port>")]));
    let entry = serde_json::to_string_pretty(&report_entry(&run.report, 0)).expect("JSON");
    insta::assert_snapshot!(normalize(&entry, &[(server.port, "<port>")]));
}

#[tokio::test]
async fn violations_past_ten_are_counted_not_listed() {
    let server = server();
    let run = run("body_schema/many.yaml", &[("base_url", &server.url)], false).await;
    assert_eq!(run.report.exit_code(), 1, "{}", run.output);
    let failure = &run.step("every number is wrong").failures[0];
    assert_eq!(failure.notes.len(), 11);
    assert_eq!(failure.notes[10], "and 4 more");
    insta::assert_snapshot!(normalize(&run.output, &[(server.port, "<port>")]));
}

#[tokio::test]
async fn a_body_that_is_not_json_fails_the_check() {
    let server = server();
    let run = run("body_schema/text.yaml", &[("base_url", &server.url)], false).await;
    assert_eq!(run.report.exit_code(), 1, "{}", run.output);
    insta::assert_snapshot!(normalize(&run.output, &[(server.port, "<port>")]));
}

#[test]
fn the_binary_prints_the_violations_and_exits_1() {
    let server = server();
    let url = format!("base_url={}", server.url);
    let out = output(
        &mut apiflow(&[
            "run",
            "tests/fixtures/body_schema/failing.yaml",
            "--var",
            &url,
        ]),
        &[(server.port, "<port>")],
    );
    assert_eq!(out.code, 1, "{out:?}");
    insta::assert_snapshot!(format!("{}--- stderr\n{}", out.stdout, out.stderr));
}

/// Schemas are compiled when the workflow is checked and kept in the plan: running a step many
/// times (here once per `for_each` element, and the whole plan twice) uses the same validator.
#[tokio::test]
async fn a_schema_is_compiled_once_per_plan() {
    let server = server();
    let text = "name: loop\ninputs:\n  base_url:\nsteps:\n  - name: each\n    for_each: \"[1, 2, 3]\"\n    request: { url: \"{{ base_url }}/user\" }\n    expect:\n      schema: { type: object, required: [id] }\n";
    let plan = apiflow::check_source(&apiflow::Source::new("loop.yaml", text))
        .expect("the workflow is valid");
    let compiled = std::ptr::from_ref(
        plan.body_schema(&plan.workflow.steps[0])
            .expect("a compiled schema"),
    );
    for _ in 0..2 {
        let sources = apiflow::check::inputs::InputSources {
            vars: vec![("base_url".to_owned(), server.url.clone())],
            ..Default::default()
        };
        let inputs =
            apiflow::check::inputs::resolve(&plan, &sources, &|_| None).expect("inputs resolve");
        let run = support::run_plan(&plan, inputs, false).await;
        assert_eq!(run.report.exit_code(), 0, "{}", run.output);
        assert_eq!(run.report.steps[0].children.len(), 3);
    }
    // The plan is read-only while it runs: the validator it holds is the one validation built.
    assert!(std::ptr::eq(
        compiled,
        plan.body_schema(&plan.workflow.steps[0])
            .expect("still there")
    ));
}
