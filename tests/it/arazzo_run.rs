//! Running Arazzo documents: `tests/fixtures/arazzo/shop.arazzo.yaml` against an in-process
//! shop: workflows in `dependsOn` order, criteria, `goto` and `end`, `retry` with
//! `Retry-After`, redirects not followed, `x-apiflow.extract`, `x-security`, parameters written
//! by their OpenAPI `style`, and secrets masked in every output.

use std::fmt::Write as _;

use crate::support;

use serde_json::{Value, json};
use support::bin::{TempDir, apiflow, output};
use support::{Recorded, Reply, Server};

const DOC: &str = "tests/fixtures/arazzo/shop.arazzo.yaml";
const TOKEN: &str = "tok-s3cr3t-123";
const PASSWORD: &str = "pa55-w0rd-S3CRET";
const CODE: &str = "c0de-s3cr3t-456";

/// The shop: answers what the document's operations ask; the flaky endpoint fails twice with
/// `Retry-After: 0`, then answers.
fn shop(items: Value) -> Server {
    Server::start(move |request: &Recorded| {
        let authorized = request.header("authorization") == Some(&format!("Bearer {TOKEN}"));
        match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/api/login-page") => {
                Reply::status(200).header("content-type", "text/html").body(
                    "<html><form action=\"/api/login\" method=\"post\">\
                     <input type=\"hidden\" name=\"csrf\" value=\"k1\">\
                     <input name=\"username\"><input name=\"password\" type=\"password\">\
                     </form></html>",
                )
            }
            ("POST", "/api/login") if request.body.starts_with("csrf=") => {
                if request.body == format!("csrf=k1&username=ada&password={PASSWORD}") {
                    Reply::json(200, &json!({ "access_token": TOKEN }))
                } else {
                    Reply::json(401, &json!({ "error": "invalid_grant" }))
                }
            }
            ("POST", "/api/login") => {
                if request.body == format!("username=ada&password={PASSWORD}") {
                    Reply::json(200, &json!({ "access_token": TOKEN }))
                } else {
                    Reply::json(401, &json!({ "error": "invalid_grant" }))
                }
            }
            ("GET", "/api/items") if authorized => {
                Reply::json(200, &json!({ "status": "OK", "items": items }))
            }
            ("GET", "/api/items/7") => Reply::json(200, &json!({ "id": 7, "name": "lamp" })),
            ("GET", "/api/flaky") if request.nth < 2 => {
                Reply::status(503).header("retry-after", "0")
            }
            ("GET", "/api/flaky") => Reply::status(200),
            ("GET", "/api/authorize") => Reply::redirect(
                302,
                &format!("https://client.example/cb?code={CODE}&state=abc"),
            ),
            _ => Reply::status(404),
        }
    })
}

fn run(server: &Server, extra: &[&str]) -> (support::bin::Output, Value) {
    let dir = TempDir::new("arazzo-run");
    let report = dir.file("report.json");
    let base = format!("shop={}/api", server.url);
    let mut args = vec![
        "run",
        DOC,
        "--server",
        &base,
        "--var",
        "username=ada",
        "--var",
        "password=pa55-w0rd-S3CRET",
        "--report",
    ];
    let report_arg = format!("json={report}");
    args.push(&report_arg);
    args.extend_from_slice(extra);
    let out = output(
        apiflow(&args).env("NO_COLOR", "1"),
        &[(server.port, "PORT")],
    );
    let json = std::fs::read_to_string(&report)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    (out, json)
}

/// Lists each workflow of a JSON report with its outcome and each step's name and outcome.
fn outline(report: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    for workflow in report["workflows"].as_array().into_iter().flatten() {
        lines.push(format!(
            "{}: {}",
            workflow["name"].as_str().unwrap_or("?"),
            workflow["outcome"].as_str().unwrap_or("?")
        ));
        for step in workflow["steps"].as_array().into_iter().flatten() {
            lines.push(format!(
                "  {} {}",
                step["name"].as_str().unwrap_or("?"),
                step["outcome"].as_str().unwrap_or("?")
            ));
        }
    }
    lines
}

#[test]
fn the_workflows_run_in_order_with_their_jumps_retries_and_captures() {
    let server = shop(json!([{ "id": 7 }, { "id": 9 }]));
    let (out, report) = run(&server, &[]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        outline(&report),
        [
            "signIn: passed",
            "  login passed",
            "browse: passed",
            "  list passed",
            "  getFirst passed",
            "  neverRun skipped",
            "patience: passed",
            "  poll passed",
            "signOn: passed",
            "  authorize passed",
        ]
    );
    insta::assert_snapshot!(out.stdout);
    let sent: Vec<String> = server
        .requests()
        .iter()
        .map(|r| {
            format!(
                "{} {}{}",
                r.method,
                r.path,
                r.query
                    .as_deref()
                    .map(|q| format!("?{q}"))
                    .unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(
        sent,
        [
            "POST /api/login",
            // `tags` is a query array: `form` and `explode`, OpenAPI's defaults.
            "GET /api/items?tags=red&tags=blue&page=1",
            "GET /api/items/7",
            "GET /api/flaky",
            "GET /api/flaky",
            "GET /api/flaky",
            // The 302 is the step's response: redirects are not followed.
            "GET /api/authorize?client_id=app",
        ]
    );
    let login = server.only("/api/login");
    assert_eq!(
        login.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let poll = &report["workflows"][2]["steps"][0];
    assert_eq!(poll["attempts"], 3);
    let captures = &report["workflows"][3]["steps"][0]["captures"];
    assert!(captures.to_string().contains("\"state\""), "{captures}");
    for text in [&out.stdout, &out.stderr, &report.to_string()] {
        for secret in [TOKEN, PASSWORD, CODE] {
            assert!(!text.contains(secret), "`{secret}` leaked:\n{text}");
        }
    }
}

#[test]
fn an_end_action_ends_the_workflow_as_passed_and_its_steps_show_why() {
    let server = shop(json!([]));
    let (out, report) = run(&server, &["--workflow", "browse"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        outline(&report),
        [
            "signIn: passed",
            "  login passed",
            "browse: passed",
            "  list passed",
            "  neverRun skipped",
            "  getFirst skipped",
        ]
    );
    assert!(
        out.stdout.contains("success action `noItems`: end"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_failed_dependency_skips_the_workflows_that_depend_on_it() {
    let server = shop(json!([]));
    let dir = TempDir::new("arazzo-dependency");
    let report = dir.file("report.json");
    let out = output(
        apiflow(&[
            "run",
            DOC,
            "--server",
            &format!("shop={}/api", server.url),
            "--var",
            "username=ada",
            "--var",
            "password=wrong",
            "--workflow",
            "browse",
            "--report",
            &format!("json={report}"),
        ])
        .env("NO_COLOR", "1"),
        &[(server.port, "PORT")],
    );
    assert_eq!(out.code, 1);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(
        outline(&report),
        [
            "signIn: failed",
            "  login failed",
            "browse: failed",
            "  list skipped",
            "  neverRun skipped",
            "  getFirst skipped",
        ]
    );
    assert_eq!(server.requests().len(), 1, "nothing is sent for `browse`");
}

#[test]
fn validate_and_plan_take_an_arazzo_document() {
    let out = output(apiflow(&["validate", DOC]).env("NO_COLOR", "1"), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "✓ tests/fixtures/arazzo/shop.arazzo.yaml: `Shop flows` is valid (Arazzo 1.1.0: 4 workflows, 6 steps, 6 bound to OpenAPI operations)\n"
    );
    let out = output(
        apiflow(&["plan", DOC, "--var", "username=ada", "--workflow", "browse"])
            .env("NO_COLOR", "1"),
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout);
}

#[test]
fn a_missing_input_is_named_before_anything_is_sent() {
    let server = shop(json!([]));
    let out = output(
        apiflow(&[
            "run",
            DOC,
            "--server",
            &format!("shop={}/api", server.url),
            "--var",
            "username=ada",
        ])
        .env("NO_COLOR", "1"),
        &[(server.port, "PORT")],
    );
    assert_eq!(out.code, 2);
    insta::assert_snapshot!(out.stderr);
    assert!(server.requests().is_empty());
}

#[test]
fn the_pingone_arazzo_workflow_passes_against_the_emulator() {
    let out = output(
        apiflow(&[
            "run",
            "workflows/refresh_token.arazzo.yaml",
            "--emulate",
            "pingone",
        ])
        .env("NO_COLOR", "1"),
        &[],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("✓ refreshToken: 16 passed, 0 failed, 0 skipped"),
        "{}",
        out.stdout
    );
}

#[test]
fn iterations_and_data_rows_run_the_document_once_each() {
    let server = shop(json!([{ "id": 7 }]));
    let dir = TempDir::new("arazzo-data");
    let data = dir.file("users.csv");
    std::fs::write(
        &data,
        format!("username,password\nada,{PASSWORD}\nbob,{PASSWORD}\n"),
    )
    .unwrap();
    let out = output(
        apiflow(&[
            "run",
            DOC,
            "--server",
            &format!("shop={}/api", server.url),
            "--workflow",
            "signIn",
            "--data",
            &data,
        ])
        .env("NO_COLOR", "1"),
        &[(server.port, "PORT")],
    );
    // `bob` is refused by the shop: one iteration of two fails.
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("2 iterations, 1 passed, 1 failed"),
        "{}",
        out.stdout
    );
    let bodies: Vec<String> = server.requests().iter().map(|r| r.body.clone()).collect();
    assert_eq!(bodies.len(), 2);
    assert!(bodies.iter().any(|b| b.starts_with("username=bob&")));
    assert!(!out.stdout.contains(PASSWORD) && !out.stderr.contains(PASSWORD));
}

#[test]
fn a_var_is_json_where_the_input_is_not_a_string() {
    let dir = TempDir::new("arazzo-typed");
    let openapi = dir.file("api.openapi.yaml");
    std::fs::copy(
        format!("{}/tests/fixtures/arazzo/shop.openapi.yaml", support::ROOT),
        &openapi,
    )
    .unwrap();
    let doc = dir.file("typed.arazzo.yaml");
    std::fs::write(
        &doc,
        "arazzo: 1.0.1\ninfo: { title: typed, version: '1' }\nsourceDescriptions:\n  - { name: shop, url: ./api.openapi.yaml, type: openapi }\nworkflows:\n  - workflowId: page\n    inputs:\n      type: object\n      properties:\n        page: { type: integer, minimum: 1 }\n    steps:\n      - stepId: list\n        operationId: listItems\n        parameters:\n          - { name: page, in: query, value: $inputs.page }\n",
    )
    .unwrap();
    let out = output(
        apiflow(&[
            "run",
            &doc,
            "--server",
            "shop=http://127.0.0.1:9/api",
            "--var",
            "page=0",
        ])
        .env("NO_COLOR", "1"),
        &[],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "input `page` of workflow `page` is not valid: 0 is less than the minimum of 1"
        ),
        "{}",
        out.stderr
    );
    let out = output(
        apiflow(&[
            "run",
            &doc,
            "--server",
            "shop=http://127.0.0.1:9/api",
            "--var",
            "page=two",
        ])
        .env("NO_COLOR", "1"),
        &[],
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains(
            "input `page` of workflow `page` takes JSON, and `two` from --var is not JSON"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn a_step_runs_a_workflow_of_another_arazzo_document() {
    let server = shop(json!([]));
    let out = output(
        apiflow(&[
            "run",
            "tests/fixtures/arazzo/checkout.arazzo.yaml",
            "--server",
            &format!("shop={}/api", server.url),
            "--var",
            "username=ada",
            "--var",
            &format!("password={PASSWORD}"),
        ])
        .env("NO_COLOR", "1"),
        &[(server.port, "PORT")],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    insta::assert_snapshot!(out.stdout);
    let item = server.only("/api/items/7");
    assert_eq!(
        item.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
}

#[test]
fn a_goto_loop_stops_at_max_steps() {
    let server = shop(json!([{ "id": 7 }]));
    let dir = TempDir::new("arazzo-loop");
    std::fs::copy(
        format!("{}/tests/fixtures/arazzo/shop.openapi.yaml", support::ROOT),
        dir.file("shop.openapi.yaml"),
    )
    .unwrap();
    let doc = dir.file("loop.arazzo.yaml");
    std::fs::write(
        &doc,
        "arazzo: 1.0.1\ninfo: { title: loop, version: '1' }\nsourceDescriptions:\n  - { name: shop, url: ./shop.openapi.yaml, type: openapi }\nworkflows:\n  - workflowId: forever\n    steps:\n      - stepId: again\n        operationId: getItem\n        parameters:\n          - { name: id, in: path, value: 7 }\n        onSuccess:\n          - { name: once more, type: goto, stepId: again }\n",
    )
    .unwrap();
    let out = output(
        apiflow(&[
            "run",
            &doc,
            "--server",
            &format!("shop={}/api", server.url),
            "--max-steps",
            "5",
        ])
        .env("NO_COLOR", "1"),
        &[(server.port, "PORT")],
    );
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(server.requests().len(), 5);
    assert!(
        out.stdout.contains(
            "the run stopped before step `again`: it already ran 5 steps (`--max-steps 5`)"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn form_from_submits_the_form_of_an_earlier_page() {
    let server = shop(json!([]));
    let out = output(
        apiflow(&[
            "run",
            "tests/fixtures/arazzo/form.arazzo.yaml",
            "--server",
            &format!("shop={}/api", server.url),
            "--var",
            "username=ada",
            "--var",
            &format!("password={PASSWORD}"),
            "-v",
        ])
        .env("NO_COLOR", "1"),
        &[(server.port, "PORT")],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let login = server.only("/api/login");
    assert_eq!(
        login.body,
        format!("csrf=k1&username=ada&password={PASSWORD}")
    );
    assert!(
        !out.stdout.contains(PASSWORD) && !out.stdout.contains(TOKEN),
        "{}",
        out.stdout
    );
}

/// A document in a temporary folder beside a copy of the shop's description.
fn document(dir: &TempDir, text: &str) -> String {
    std::fs::copy(
        format!("{}/tests/fixtures/arazzo/shop.openapi.yaml", support::ROOT),
        dir.file("shop.openapi.yaml"),
    )
    .unwrap();
    let doc = dir.file("flow.arazzo.yaml");
    std::fs::write(&doc, text).unwrap();
    doc
}

/// Runs a document against the shop at `url` with a JSON report: the output and the report.
fn run_document(
    dir: &TempDir,
    doc: &str,
    url: &str,
    extra: &[&str],
) -> (support::bin::Output, Value) {
    let report = dir.file("report.json");
    let server = format!("shop={url}/api");
    let report_arg = format!("json={report}");
    let mut args = vec!["run", doc, "--server", &server, "--report", &report_arg];
    args.extend_from_slice(extra);
    let out = output(apiflow(&args).env("NO_COLOR", "1"), &[]);
    let json = std::fs::read_to_string(&report)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    (out, json)
}

const GOTO_WORKFLOW: &str = r"arazzo: 1.1.0
info: { title: handover, version: '1' }
sourceDescriptions:
  - { name: shop, url: ./shop.openapi.yaml, type: openapi }
workflows:
  - workflowId: start
    steps:
      - stepId: list
        operationId: listItems
        onSuccess:
          - name: show the first
            type: goto
            workflowId: show
            parameters:
              - { name: id, value: $response.body#/items/0/id }
  - workflowId: show
    inputs:
      type: object
      properties:
        id: { type: integer }
    steps:
      - stepId: item
        operationId: getItem
        parameters:
          - { name: id, in: path, value: $inputs.id }
        outputs:
          name:
            context: $response.body
            selector: $.name
            type: jsonpath
";

#[test]
fn a_goto_gives_the_next_workflow_its_inputs_and_selector_outputs_are_read() {
    let server = Server::start(|request: &Recorded| match request.path.as_str() {
        "/api/items" => Reply::json(200, &json!({ "status": "ok", "items": [{ "id": 7 }] })),
        "/api/items/7" => Reply::json(200, &json!({ "id": 7, "name": "lamp" })),
        _ => Reply::status(404),
    });
    let dir = TempDir::new("arazzo-goto-workflow");
    let doc = document(&dir, GOTO_WORKFLOW);
    let (out, report) = run_document(&dir, &doc, &server.url, &["--workflow", "start"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        outline(&report),
        [
            "start: passed",
            "  list passed",
            "show: passed",
            "  item passed"
        ]
    );
    let captures = report["workflows"][1]["steps"][0]["captures"].to_string();
    assert!(captures.contains("\"lamp\""), "{captures}");
}

#[test]
fn a_response_its_operation_does_not_allow_fails_the_step_unless_told_otherwise() {
    let server = Server::start(|request: &Recorded| match request.path.as_str() {
        "/api/items" => Reply::json(200, &json!({ "status": "ok", "items": [{ "id": 7 }] })),
        "/api/items/7" => Reply::json(200, &json!({ "id": "seven", "name": "lamp" })),
        _ => Reply::status(404),
    });
    let dir = TempDir::new("arazzo-openapi-checks");
    let doc = document(&dir, GOTO_WORKFLOW);
    let run = |mode: &str| {
        output(
            apiflow(&[
                "run",
                &doc,
                "--workflow",
                "start",
                "--server",
                &format!("shop={}/api", server.url),
                "--openapi-checks",
                mode,
            ])
            .env("NO_COLOR", "1"),
            &[(server.port, "PORT")],
        )
    };
    let failed = run("error");
    assert_eq!(failed.code, 1, "{}", failed.stdout);
    let tmp = dir.0.display().to_string();
    insta::assert_snapshot!(failed.stdout.replace(&tmp, "<tmp>"));
    let warned = run("warn");
    assert_eq!(warned.code, 0, "{}", warned.stdout);
    assert!(
        warned
            .stdout
            .contains("warning: the body does not match the response schema of `getItem`"),
        "{}",
        warned.stdout
    );
    let quiet = run("off");
    assert_eq!(quiet.code, 0);
    assert!(!quiet.stdout.contains("does not match"), "{}", quiet.stdout);
}

#[test]
fn a_retry_that_names_a_step_runs_it_before_each_new_attempt() {
    let server = Server::start(|request: &Recorded| match request.path.as_str() {
        "/api/items/7" => Reply::json(200, &json!({ "id": 7, "name": "lamp" })),
        "/api/flaky" if request.nth < 2 => Reply::status(503),
        "/api/flaky" => Reply::status(200),
        _ => Reply::status(404),
    });
    let dir = TempDir::new("arazzo-retry-step");
    let doc = document(
        &dir,
        r"arazzo: 1.0.1
info: { title: warm up, version: '1' }
sourceDescriptions:
  - { name: shop, url: ./shop.openapi.yaml, type: openapi }
workflows:
  - workflowId: warm
    steps:
      - stepId: warmUp
        operationId: getItem
        parameters:
          - { name: id, in: path, value: 7 }
      - stepId: poll
        operationId: flaky
        successCriteria:
          - condition: $statusCode == 200
        onFailure:
          - { name: again, type: retry, stepId: warmUp, retryAfter: 0, retryLimit: 3 }
",
    );
    let out = output(
        apiflow(&["run", &doc, "--server", &format!("shop={}/api", server.url)])
            .env("NO_COLOR", "1"),
        &[(server.port, "PORT")],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let sent: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        sent,
        [
            "/api/items/7",
            "/api/flaky",
            "/api/items/7",
            "/api/flaky",
            "/api/items/7",
            "/api/flaky",
        ]
    );
}

#[test]
fn an_openapi_description_given_to_run_says_what_it_is() {
    let out = output(
        apiflow(&["validate", "tests/fixtures/arazzo/shop.openapi.yaml"]).env("NO_COLOR", "1"),
        &[],
    );
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        "error: `tests/fixtures/arazzo/shop.openapi.yaml` is an OpenAPI description, not a workflow\n  = help: a description says what operations exist; name it in an Arazzo document's `sourceDescriptions` or a workflow's `openapi:` and run that\n\n"
    );
}

#[test]
fn a_token_in_the_response_of_a_failed_step_is_masked() {
    let server = Server::start(|_: &Recorded| {
        Reply::json(
            500,
            &json!({ "access_token": TOKEN, "token_type": "Bearer" }),
        )
    });
    let dir = TempDir::new("arazzo-failed-token");
    let doc = document(
        &dir,
        r"arazzo: 1.0.1
info: { title: failing, version: '1' }
sourceDescriptions:
  - { name: shop, url: ./shop.openapi.yaml, type: openapi }
workflows:
  - workflowId: signIn
    steps:
      - stepId: login
        operationId: login
        successCriteria:
          - condition: $statusCode == 200
        outputs:
          access_token: $response.body#/access_token
",
    );
    let out = output(
        apiflow(&[
            "run",
            &doc,
            "--server",
            &format!("shop={}/api", server.url),
            "-v",
        ])
        .env("NO_COLOR", "1"),
        &[(server.port, "PORT")],
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("success criterion `$statusCode == 200` does not hold"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains(TOKEN), "{}", out.stdout);
}

const POINTERS: &str = r"arazzo: 1.1.0
info: { title: pointers, version: '1' }
sourceDescriptions:
  - { name: shop, url: ./shop.openapi.yaml, type: openapi }
workflows:
  - workflowId: pointers
    steps:
      - stepId: list
        operationId: listItems
        successCriteria:
          - condition: $response.body#/items/1/id == 8
          - condition: $response.body#/items/5 == null
          - condition: $response.body#/status/0 == null
        outputs:
          second: $response.body#/items/1/id
      - stepId: item
        operationId: getItem
        parameters:
          - { name: id, in: path, value: $steps.list.outputs.second }
        outputs:
          name: $response.body#/name
";

#[test]
fn pointers_read_a_body_alike_whether_or_not_it_is_checked_against_openapi() {
    // With OpenAPI checks, the body is parsed whole once for the schema and the expressions
    // read that; without, each pointer parses only its path. Both read the same values and
    // the same misses, and a body that is not JSON is named as such.
    let server = Server::start(|request: &Recorded| match request.path.as_str() {
        "/api/items" => Reply::json(
            200,
            &json!({ "status": "ok", "items": [{ "id": 7 }, { "id": 8, "name": "desk" }] }),
        ),
        "/api/items/8" => Reply::json(200, &json!({ "id": 8, "name": "desk" })),
        _ => Reply::status(404),
    });
    let dir = TempDir::new("arazzo-pointers");
    let doc = document(&dir, POINTERS);
    let run =
        |url: &str, checks: &str| run_document(&dir, &doc, url, &["--openapi-checks", checks]);
    for checks in ["error", "off"] {
        let (out, report) = run(&server.url, checks);
        assert_eq!(out.code, 0, "{checks}: {}\n{}", out.stdout, out.stderr);
        assert_eq!(
            outline(&report),
            ["pointers: passed", "  list passed", "  item passed"]
        );
        let captures = &report["workflows"][0]["steps"][1]["captures"];
        assert_eq!(captures["name"], json!("desk"), "{checks}: {captures}");
    }
    let text = Server::start(|_: &Recorded| {
        Reply::status(200)
            .header("content-type", "text/plain")
            .body("items: 7, 8")
    });
    let (out, _) = run(&text.url, "off");
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout.contains(
            "cannot evaluate success criterion `$response.body#/items/1/id == 8`: \
             `$response.body#/items/1/id` needs a JSON body: the response body is not JSON"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn headers_are_read_however_the_expression_that_reads_them_is_spelled() {
    // A document that never reads a header does not copy them for its expressions; one
    // that reads one gets it, written as is or with an escape in a quoted string.
    let server = Server::start(|request: &Recorded| match request.path.as_str() {
        "/api/items" => {
            Reply::json(200, &json!({ "status": "ok", "items": [] })).header("x-request-id", "r-42")
        }
        _ => Reply::status(404),
    });
    let dir = TempDir::new("arazzo-headers");
    let step = |condition: &str, value: &str| {
        format!(
            "operationId: listItems
        successCriteria:
          - condition: {condition}
        outputs:
          id: {value}"
        )
    };
    let plain = step(
        "$response.header.X-Request-Id == 'R-42'",
        "$response.header.x-request-id",
    );
    // Nothing in this document says `.header` as written.
    let escaped = step(
        "$statusCode == 200",
        "\"$response\\u002eheader.X-Request-Id\"",
    );
    for (name, step) in [("plain", plain), ("escaped", escaped)] {
        let captures = one_step_captures(&dir, &server, &step);
        assert_eq!(captures, json!({ "id": "r-42" }), "{name}");
    }
}

#[test]
fn the_request_is_read_however_the_expression_that_reads_it_is_spelled() {
    // A document that never reads the request does not copy it for its expressions; one that
    // reads `$url`, `$method` or `$request.…` gets them, written as is or with an escape.
    let server = Server::start(|request: &Recorded| match request.path.as_str() {
        "/api/items/7" => Reply::json(200, &json!({ "id": 7, "name": "lamp" })),
        _ => Reply::status(404),
    });
    let dir = TempDir::new("arazzo-request");
    let step = |url: &str, method: &str, id: &str| {
        format!(
            "operationId: getItem
        parameters:
          - {{ name: id, in: path, value: 7 }}
        outputs:
          url: {url}
          method: {method}
          id: {id}"
        )
    };
    let plain = step("$url", "$method", "$request.path.id");
    // Nothing in this document says `$url`, `$method` or `$request` as written.
    let escaped = step(
        "\"\\u0024url\"",
        "\"\\u0024method\"",
        "\"\\u0024request.path.id\"",
    );
    for (name, step) in [("plain", plain), ("escaped", escaped)] {
        let captures = one_step_captures(&dir, &server, &step);
        let url = format!("{}/api/items/7", server.url);
        assert_eq!(
            captures,
            json!({ "url": url, "method": "GET", "id": "7" }),
            "{name}"
        );
    }
}

/// Runs a document of one step, written after its `stepId`, against the shop and returns the
/// step's captures.
fn one_step_captures(dir: &TempDir, server: &Server, step: &str) -> Value {
    let text = format!(
        "arazzo: 1.1.0
info: {{ title: one step, version: '1' }}
sourceDescriptions:
  - {{ name: shop, url: ./shop.openapi.yaml, type: openapi }}
workflows:
  - workflowId: one
    steps:
      - stepId: only
        {step}
"
    );
    let doc = document(dir, &text);
    let (out, report) = run_document(dir, &doc, &server.url, &[]);
    assert_eq!(out.code, 0, "{text}\n{}\n{}", out.stdout, out.stderr);
    report["workflows"][0]["steps"][0]["captures"].clone()
}

/// Three steps that repeat one parameter value, one condition and one output.
fn repeated_steps(value: &str, condition: &str) -> String {
    let mut text = String::from(
        "arazzo: 1.1.0
info: { title: repeated, version: '1' }
sourceDescriptions:
  - { name: shop, url: ./shop.openapi.yaml, type: openapi }
workflows:
  - workflowId: repeated
    steps:
",
    );
    for id in ["first", "second", "third"] {
        let _ = write!(
            text,
            "      - stepId: {id}
        operationId: getItem
        parameters:
          - {{ name: id, in: path, value: {value} }}
        successCriteria:
          - condition: {condition}
        outputs:
          name: $response.body#/name
"
        );
    }
    text
}

#[test]
fn a_text_repeated_in_several_steps_is_checked_in_each() {
    let dir = TempDir::new("arazzo-repeated-invalid");
    let doc = document(
        &dir,
        &repeated_steps("$steps.third.outputs.name", "$statusCode = 200"),
    );
    let out = output(apiflow(&["validate", &doc]).env("NO_COLOR", "1"), &[]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    let all = format!("{}{}", out.stdout, out.stderr);
    for (step, line) in [("first", 8), ("second", 16), ("third", 24)] {
        let condition = format!(
            "error: invalid criterion condition: expected an operator, found `=`; equality is written `==`\n  --> {doc}:{}:36\n",
            line + 5
        );
        assert!(all.contains(&condition), "{step}: {all}");
        assert!(
            all.contains(&format!("{doc}:{}:42", line + 3)),
            "{step}: {all}"
        );
    }
    assert_eq!(
        all.matches("reads step `third`, which runs after this one")
            .count(),
        2,
        "{all}"
    );
    assert!(
        all.contains("error: `$steps.third.outputs.name` reads the outputs of step `third` itself"),
        "{all}"
    );
    assert!(all.contains("6 problems"), "{all}");
}

#[test]
fn a_text_repeated_in_several_steps_reads_each_step_s_own_values() {
    let server =
        Server::start(
            |request: &Recorded| match request.path.strip_prefix("/api/items/") {
                Some(id) => Reply::json(
                    200,
                    &json!({ "id": id.parse::<i64>().unwrap_or(0), "name": format!("item {id}") }),
                ),
                None => Reply::status(404),
            },
        );
    let dir = TempDir::new("arazzo-repeated-valid");
    let doc = document(&dir, &repeated_steps("7", "$statusCode == 200"));
    let text = std::fs::read_to_string(&doc)
        .unwrap()
        .replacen("value: 7", "value: 1", 1)
        .replacen("value: 7", "value: 2", 1);
    std::fs::write(&doc, text).unwrap();
    let (out, report) = run_document(&dir, &doc, &server.url, &[]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let names: Vec<&Value> = report["workflows"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| &step["captures"]["name"])
        .collect();
    assert_eq!(
        names,
        [&json!("item 1"), &json!("item 2"), &json!("item 7")]
    );
}

#[test]
fn a_null_credential_is_sent_as_nothing() {
    let server = Server::start(|request: &Recorded| match request.path.as_str() {
        "/api/items" => Reply::json(200, &json!({ "token": null, "items": [] })),
        "/api/items/7" => Reply::json(200, &json!({ "id": 7, "name": "lamp" })),
        _ => Reply::status(404),
    });
    let dir = TempDir::new("arazzo-null-credential");
    let doc = document(
        &dir,
        "arazzo: 1.1.0
info: { title: null credential, version: '1' }
sourceDescriptions:
  - { name: shop, url: ./shop.openapi.yaml, type: openapi }
workflows:
  - workflowId: read
    steps:
      - stepId: list
        operationId: listItems
        outputs:
          token: $response.body#/token
      - stepId: item
        operationId: getItem
        parameters:
          - { name: id, in: path, value: 7 }
        x-security:
          - scheme: { type: http, scheme: bearer }
            values:
              token: $steps.list.outputs.token
",
    );
    let (out, _) = run_document(&dir, &doc, &server.url, &["--openapi-checks", "off"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let item = server.only("/api/items/7");
    assert_eq!(
        item.header("authorization").map(str::trim_end),
        Some("Bearer")
    );
}
