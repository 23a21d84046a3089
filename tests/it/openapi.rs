//! Workflows that name an OpenAPI description: steps whose method and URL come from an
//! operation, and responses checked against what the operation declares, through the library
//! and the binary (`--openapi-checks`).

use crate::support;

use apiflow::report::event::Outcome;
use serde_json::json;
use support::bin::{apiflow, output};
use support::{Recorded, Reply, Server, normalize, run};

fn server() -> Server {
    Server::start(
        |request: &Recorded| match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/v1/pets") => Reply::json(200, &json!([{ "id": 1, "name": "tom" }])),
            ("POST", "/v1/pets") => Reply::json(201, &json!({ "id": 3, "name": "rex" })),
            ("GET", "/v1/pets/bad") => {
                Reply::json(200, &json!({ "id": "7", "name": "tom", "tags": ["a", 2] }))
            }
            ("GET", "/v1/pets/gone") => Reply::json(404, &json!({ "message": "no such pet" })),
            ("GET", "/v1/pets/page") => Reply::status(200)
                .header("content-type", "text/html")
                .body("<p>tom</p>"),
            ("GET", path) if path.starts_with("/v1/pets/") => {
                Reply::json(200, &json!({ "id": 1, "name": "tom" }))
            }
            _ => Reply::status(404),
        },
    )
}

#[tokio::test]
async fn the_operation_gives_the_method_and_the_path_and_its_responses_pass() {
    let server = server();
    let run = run("openapi/passing.yaml", &[("base_url", &server.url)], false).await;
    assert_eq!(run.report.exit_code(), 0, "{}", run.output);
    let sent: Vec<String> = server
        .requests()
        .iter()
        .map(|r| {
            let query = r
                .query
                .as_deref()
                .map(|q| format!("?{q}"))
                .unwrap_or_default();
            format!("{} {}{query}", r.method, r.path)
        })
        .collect();
    // The path parameter is percent-encoded as `style: simple` says; `url:` is the base.
    assert_eq!(
        sent,
        [
            "GET /v1/pets?limit=2",
            "GET /v1/pets/1%20and%2Fmore",
            "POST /v1/pets"
        ]
    );
    let checks: Vec<&str> = run
        .report
        .steps
        .iter()
        .flat_map(|s| s.checks.iter().map(|c| c.what.as_str()))
        .collect();
    assert_eq!(
        checks,
        [
            "response as operation `listPets` declares",
            "response as operation `showPet` declares",
            "status 201",
            "response as operation `createPet` declares",
        ]
    );
}

#[tokio::test]
async fn a_response_the_operation_does_not_declare_fails_its_step() {
    let server = server();
    let run = run(
        "openapi/violating.yaml",
        &[("base_url", &server.url)],
        false,
    )
    .await;
    assert_eq!(run.report.exit_code(), 1, "{}", run.output);
    for step in ["wrong body", "undeclared status", "undeclared content type"] {
        assert_eq!(run.step(step).outcome, Outcome::Failed, "{step}");
    }
    let failure = &run.step("wrong body").failures[0];
    assert_eq!(
        failure.notes,
        [
            "`/id`: expected integer, found string \"7\" (schema: /components/schemas/Pet/properties/id/type)",
            "`/tags/1`: expected string, found integer 2 (schema: /components/schemas/Pet/properties/tags/items/type)",
        ]
    );
    insta::assert_snapshot!(normalize(&run.output, &[(server.port, "<port>")]));
}

#[test]
fn warn_reports_the_differences_and_passes_and_off_checks_nothing() {
    let server = server();
    let url = format!("base_url={}", server.url);
    let file = "tests/fixtures/openapi/violating.yaml";
    let dir = tempfile::tempdir().expect("a temporary directory");
    let report = dir.path().join("report.json");
    let json_report = format!("json={}", report.display());
    let warn = output(
        &mut apiflow(&[
            "run",
            file,
            "--var",
            &url,
            "--openapi-checks",
            "warn",
            "--report",
            &json_report,
        ]),
        &[(server.port, "<port>")],
    );
    assert_eq!(warn.code, 0, "{warn:?}");
    insta::assert_snapshot!(format!("{}--- stderr\n{}", warn.stdout, warn.stderr));
    // The JSON report lists them under each step's `warnings`, as its schema says.
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("a report")).expect("JSON");
    let steps = &written["workflows"][0]["steps"];
    assert_eq!(
        steps[1]["warnings"][0]["message"],
        "status 404 is not declared for `showPet` (GET /pets/{petId}) (declared: 200)"
    );
    assert_eq!(steps[1]["outcome"], "passed");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{}/docs/report.schema.json", support::ROOT))
            .expect("the report's schema"),
    )
    .expect("JSON");
    let validator = jsonschema::validator_for(&schema).expect("a schema");
    let errors: Vec<String> = validator
        .iter_errors(&written)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let off = output(
        &mut apiflow(&["run", file, "--var", &url, "--openapi-checks", "off"]),
        &[(server.port, "<port>")],
    );
    assert_eq!(off.code, 0, "{off:?}");
    assert!(!off.stdout.contains("warning"), "{}", off.stdout);
    let error = output(
        &mut apiflow(&["run", file, "--var", &url]),
        &[(server.port, "<port>")],
    );
    assert_eq!(error.code, 1, "{error:?}");
}

#[test]
fn validate_reads_the_description_and_knows_its_operations() {
    let out = output(
        &mut apiflow(&["validate", "tests/fixtures/openapi/passing.yaml"]),
        &[],
    );
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn plan_shows_the_url_each_operation_is_sent_to() {
    let out = output(
        &mut apiflow(&[
            "plan",
            "tests/fixtures/openapi/passing.yaml",
            "--var",
            "base_url=http://api.test",
        ]),
        &[],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let urls: Vec<&str> = out
        .stdout
        .lines()
        .filter(|line| {
            line.trim_start().starts_with("GET ") || line.trim_start().starts_with("POST ")
        })
        .map(str::trim)
        .collect();
    assert_eq!(
        urls,
        [
            "GET http://api.test/v1/pets?limit=2",
            "GET http://api.test/v1/pets/<from step \"list\"> and/more",
            "POST http://api.test/v1/pets",
        ]
    );
}
