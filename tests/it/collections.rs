//! Running a Postman collection directly (`apiflow run X.postman_collection.json`), as
//! `newman run` users expect: `--environment`, `--globals`, `--data`, `--iterations`,
//! `--folder`, `--ignore-redirects`, Postman's scope order, and diagnostics that name the
//! collection's items.

use crate::support;

use serde_json::json;
use support::bin::{TempDir, apiflow, output};
use support::{Recorded, Reply, Server};

const SHOP: &str = "tests/fixtures/postman/shop.postman_collection.json";
/// The secret values of the environment.
const CLIENT_SECRET: &str = "cs-7f3a9";
const TOKEN: &str = "tk-90b1e";

/// A shop: `/health` redirects to `/health/ok`, `/token` wants the client's credentials, and
/// the listings answer 200.
fn server() -> Server {
    Server::start(|request: &Recorded| match request.path.as_str() {
        "/health" => Reply::redirect(302, "/health/ok"),
        "/token"
            if request
                .body
                .contains(&format!("client_secret={CLIENT_SECRET}")) =>
        {
            Reply::json(200, &json!({ "access_token": "ignored" }))
        }
        "/token" => Reply::status(401),
        _ => Reply::json(200, &json!({ "ok": true })),
    })
}

/// Writes a Postman export with these `values` (the environment's `baseUrl` is the server's).
fn export(dir: &TempDir, name: &str, scope: &str, values: &serde_json::Value) -> String {
    let path = dir.file(name);
    let document = json!({ "name": name, "values": values, "_postman_variable_scope": scope });
    // Postman and Newman accept a byte-order mark before the JSON.
    std::fs::write(&path, format!("\u{feff}{document}")).expect("written");
    path
}

fn environment(dir: &TempDir, server: &Server) -> String {
    export(
        dir,
        "shop.postman_environment.json",
        "environment",
        &json!([
            { "key": "baseUrl", "value": server.url, "enabled": true },
            { "key": "clientId", "value": "shop-app", "enabled": true },
            { "key": "clientSecret", "value": CLIENT_SECRET, "type": "secret", "enabled": true },
            { "key": "token", "value": TOKEN, "type": "secret", "enabled": true },
            { "key": "user", "value": "env-user", "enabled": true },
            { "key": "region", "value": "disabled-region", "enabled": false }
        ]),
    )
}

fn globals(dir: &TempDir) -> String {
    export(
        dir,
        "workspace.postman_globals.json",
        "globals",
        &json!([
            { "key": "apiVersion", "value": "v0", "enabled": true },
            { "key": "region", "value": "global-region", "enabled": true },
            { "key": "user", "value": "global-user", "enabled": true }
        ]),
    )
}

/// The requests the server received: method, path and query.
fn received(server: &Server) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|r| match &r.query {
            Some(query) => format!("{} {}?{query}", r.method, r.path),
            None => format!("{} {}", r.method, r.path),
        })
        .collect()
}

#[test]
fn a_collection_runs_with_its_environment_and_globals_and_no_secret_shows() {
    let server = server();
    let dir = TempDir::new("collection-run");
    let (env, globals) = (environment(&dir, &server), globals(&dir));
    let out = output(
        &mut apiflow(&["run", SHOP, "-e", &env, "-g", &globals]),
        &[(server.port, "<port>")],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    // The collection's `apiVersion` beats the global one; the environment's `user` beats the
    // global one; the disabled environment value is not used, so the global `region` is.
    assert_eq!(
        received(&server),
        [
            "GET /health",
            "GET /health/ok",
            "POST /token",
            "GET /v1/orders?user=env-user",
            "GET /v1/archive?user=env-user&region=global-region"
        ]
    );
    let orders = server.only("/v1/orders");
    assert_eq!(
        orders.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    insta::assert_snapshot!(format!("{}--- stderr\n{}", out.stdout, out.stderr));
    for secret in [CLIENT_SECRET, TOKEN] {
        assert!(!out.stdout.contains(secret) && !out.stderr.contains(secret));
    }
}

#[test]
fn newman_s_command_line_runs_a_folder_with_data_rows_and_more_iterations() {
    let server = server();
    let dir = TempDir::new("collection-folder");
    let (env, globals) = (environment(&dir, &server), globals(&dir));
    // The second row stops before `region`; the third iteration takes the last row again, as
    // Newman 6 does.
    let data = dir.file("rows.csv");
    std::fs::write(&data, "user,region\nann,north\nbob\n").expect("written");
    let out = output(
        &mut apiflow(&[
            "run", SHOP, "-e", &env, "-g", &globals, "-d", &data, "-n", "3", "--folder", "Orders",
        ]),
        &[(server.port, "<port>")],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("✓ Shop: 3 iterations, 3 passed, 0 failed in "),
        "{}",
        out.stdout
    );
    // Only the folder's requests, its subfolder's included; a data row beats the environment.
    assert_eq!(
        received(&server),
        [
            "GET /v1/orders?user=ann",
            "GET /v1/archive?user=ann&region=north",
            "GET /v1/orders?user=bob",
            "GET /v1/archive?user=bob&region=global-region",
            "GET /v1/orders?user=bob",
            "GET /v1/archive?user=bob&region=global-region"
        ]
    );
    // A nested folder is a folder too; `--var` beats every Postman scope.
    let server = self::server();
    let env = environment(&dir, &server);
    let out = output(
        &mut apiflow(&[
            "run", SHOP, "-e", &env, "-g", &globals, "--folder", "Archive", "--var", "user=cli",
        ]),
        &[(server.port, "<port>")],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        received(&server),
        ["GET /v1/archive?user=cli&region=global-region"]
    );
}

#[test]
fn ignore_redirects_makes_the_3xx_the_step_s_response() {
    let server = server();
    let dir = TempDir::new("collection-redirects");
    let (env, globals) = (environment(&dir, &server), globals(&dir));
    let out = output(
        &mut apiflow(&[
            "run",
            SHOP,
            "-e",
            &env,
            "-g",
            &globals,
            "--ignore-redirects",
        ]),
        &[(server.port, "<port>")],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(!received(&server).contains(&"GET /health/ok".to_owned()));
    assert!(
        out.stdout
            .contains("GET http://127.0.0.1:<port>/health → 302"),
        "{}",
        out.stdout
    );
}

#[test]
fn an_unknown_folder_lists_the_folders_and_sends_nothing() {
    let server = server();
    let dir = TempDir::new("collection-unknown-folder");
    let env = environment(&dir, &server);
    let out = output(
        &mut apiflow(&[
            "run", SHOP, "-e", &env, "--folder", "Order", "--folder", "Nope",
        ]),
        &[],
    );
    assert_eq!(out.code, 2);
    assert!(server.requests().is_empty());
    insta::assert_snapshot!(out.stderr);
}

#[test]
fn validate_and_plan_take_a_collection() {
    let out = output(&mut apiflow(&["validate", SHOP]), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "✓ tests/fixtures/postman/shop.postman_collection.json: `Shop` is valid (4 steps, 0 finally)\n"
    );
    let dir = TempDir::new("collection-plan");
    let globals = globals(&dir);
    let out = output(
        &mut apiflow(&["plan", SHOP, "-g", &globals, "--folder", "Archive"]),
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout);
}

#[test]
fn a_problem_in_a_collection_names_its_item() {
    let dir = TempDir::new("collection-problem");
    let collection = dir.file("upload.postman_collection.json");
    let document = json!({
        "info": {
            "name": "Upload",
            "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
        },
        "item": [{
            "name": "Files",
            "item": [{
                "name": "Send report",
                "request": {
                    "method": "POST",
                    "url": "http://127.0.0.1:1/upload",
                    "body": { "mode": "file", "file": { "src": "missing.bin" } }
                }
            }]
        }]
    });
    std::fs::write(&collection, document.to_string()).expect("written");
    let out = output(&mut apiflow(&["run", &collection]), &[]);
    assert_eq!(out.code, 2);
    let stderr = out.stderr.replace(&dir.0.display().to_string(), "<dir>");
    insta::assert_snapshot!(stderr);
}

#[test]
fn an_environment_export_gives_values_to_a_workflow_s_inputs_in_postman_s_order() {
    let server = server();
    let dir = TempDir::new("workflow-environment");
    let flow = dir.file("flow.yaml");
    std::fs::write(
        &flow,
        "name: scopes
inputs:
  baseUrl: ~
  a: { default: default-a }
  b: ~
  c: { default: default-c }
  d: ~
steps:
  - name: show
    request:
      url: \"{{ baseUrl }}/v1/scopes\"
      query: { a: \"{{ a }}\", b: \"{{ b }}\", c: \"{{ c }}\", d: \"{{ d }}\" }
",
    )
    .expect("written");
    let env = export(
        &dir,
        "env.json",
        "environment",
        &json!([
            { "key": "baseUrl", "value": server.url },
            { "key": "a", "value": "env-a" },
            { "key": "d", "value": "env-d" }
        ]),
    );
    let globals = export(
        &dir,
        "globals.json",
        "globals",
        &json!([
            { "key": "b", "value": "global-b" },
            { "key": "c", "value": "global-c" },
            { "key": "d", "value": "global-d" }
        ]),
    );
    let dotenv = dir.file("inputs.env");
    std::fs::write(&dotenv, "d=dotenv-d\n").expect("written");
    let out = output(
        &mut apiflow(&["run", &flow, "--environment", &env, "--globals", &globals]),
        &[],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let out = output(
        &mut apiflow(&[
            "run",
            &flow,
            "--environment",
            &env,
            "--globals",
            &globals,
            "--env-file",
            &dotenv,
            "--var",
            "a=var-a",
        ]),
        &[],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        received(&server),
        [
            // The environment beats a default, a default beats the globals, and the globals
            // fill an input with no default.
            "GET /v1/scopes?a=env-a&b=global-b&c=default-c&d=env-d",
            // `--var` and `--env-file` beat the environment.
            "GET /v1/scopes?a=var-a&b=global-b&c=default-c&d=dotenv-d"
        ]
    );
}

#[test]
fn a_collection_variable_without_a_value_is_named_before_anything_is_sent() {
    let server = server();
    let dir = TempDir::new("collection-missing");
    let env = export(
        &dir,
        "partial.postman_environment.json",
        "environment",
        &json!([{ "key": "baseUrl", "value": server.url }]),
    );
    let globals = globals(&dir);
    let out = output(
        &mut apiflow(&["run", SHOP, "-e", &env, "-g", &globals, "--var", "token=t"]),
        &[],
    );
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(server.requests().is_empty());
    insta::assert_snapshot!(out.stderr);
}

#[test]
fn data_columns_name_a_collection_s_variables_as_postman_does() {
    let server = server();
    let dir = TempDir::new("collection-renamed");
    let collection = dir.file("paths.postman_collection.json");
    let document = json!({
        "info": { "_postman_id": "p-1", "name": "Paths" },
        "item": [{ "name": "Get", "request": { "method": "GET", "url": "{{base-url}}/{{api-path}}" } }]
    });
    std::fs::write(&collection, document.to_string()).expect("written");
    let env = export(
        &dir,
        "env.json",
        "environment",
        &json!([{ "key": "base-url", "value": server.url }]),
    );
    let data = dir.file("paths.csv");
    std::fs::write(&data, "api-path\nfirst\nsecond\n").expect("written");
    let out = output(
        &mut apiflow(&["run", &collection, "-e", &env, "-d", &data]),
        &[],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(received(&server), ["GET /first", "GET /second"]);
}

#[test]
fn a_collection_runs_on_after_a_failed_request_unless_bail() {
    let dir = TempDir::new("collection-bail");
    for (extra, expected) in [
        (
            None,
            &[
                "GET /health",
                "GET /health/ok",
                "POST /token",
                "GET /v1/orders?user=env-user",
                "GET /v1/archive?user=env-user&region=global-region",
            ][..],
        ),
        (
            Some("--bail"),
            &["GET /health", "GET /health/ok", "POST /token"][..],
        ),
    ] {
        let server = server();
        let (env, globals) = (environment(&dir, &server), globals(&dir));
        // The `/token` test wants a 200, and the server refuses a wrong secret with 401.
        let mut args = vec![
            "run",
            SHOP,
            "-e",
            &env,
            "-g",
            &globals,
            "--var",
            "clientSecret=wrong",
        ];
        args.extend(extra);
        let out = output(&mut apiflow(&args), &[(server.port, "<port>")]);
        assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
        assert!(
            out.stdout.contains("error: expected status 200, got 401"),
            "{}",
            out.stdout
        );
        assert_eq!(received(&server), expected, "{extra:?}");
    }
}

#[test]
fn an_old_collection_or_an_environment_given_to_run_says_what_it_is() {
    let out = output(
        &mut apiflow(&["run", "tests/fixtures/postman/v1.json"]),
        &[],
    );
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        "error: `tests/fixtures/postman/v1.json` is not a Postman Collection v2.0 or v2.1: it looks like the old Collection v1 format\n  \
         = help: in Postman, export the collection as \"Collection v2.1\"\n\n"
    );
    let out = output(
        &mut apiflow(&[
            "validate",
            "tests/fixtures/postman/features.postman_environment.json",
        ]),
        &[],
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.starts_with(
            "error: `tests/fixtures/postman/features.postman_environment.json` is a Postman environment, not a collection\n  \
             = help: pass it with `--environment`, and the collection as the first argument\n"
        ),
        "{}",
        out.stderr
    );
}
