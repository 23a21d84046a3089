//! Composition and control flow (`uses`/`with`/`outputs`, `if`, `for_each`) and browserless
//! sign-in (`follow_redirects` + `stop_at`, `form_from`, `css` captures): fixture workflows
//! under `tests/fixtures/compose/` against an in-process server, through the library and the
//! binary, with their exact output and errors.

use crate::support;

use apiflow::report::event::Outcome;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use support::{ROOT, Recorded, Reply, Server, normalize, run};

const API_KEY: &str = "key-5up3r-s3cr3t";
const SESSION: &str = "sess-ABC123xyz";

const SIGN_IN_PAGE: &str = r#"<!doctype html><html><body>
<h1>Welcome back</h1>
<form id="search" action="/search"><input name="q"></form>
<form id="login" method="post" action="signin/submit">
  <input type="hidden" name="csrf" value="csrf-1">
  <input name="login"><input type="password" name="passwd">
  <button type="submit">Sign in</button>
</form></body></html>"#;

const CONSENT_PAGE: &str = r#"<!doctype html><html><body>
<ul><li class="scope">profile</li><li class="scope">email</li></ul>
<form id="consent" method="post" action="/consent">
  <input type="hidden" name="csrf" value="csrf-2">
  <button type="submit" name="decision" value="allow">Allow</button>
  <button type="submit" name="decision" value="deny">Deny</button>
</form></body></html>"#;

fn server() -> Server {
    Server::start(|request: &Recorded| {
        let html = |body: &str| {
            Reply::status(200)
                .header("content-type", "text/html")
                .body(body)
        };
        match (request.method.as_str(), request.path.as_str()) {
            ("POST", "/login") if request.header("x-api-key") == Some(API_KEY) => {
                Reply::json(200, &json!({ "session_token": SESSION, "role": "user" }))
            }
            ("GET", "/items") if request.header("x-session") == Some(SESSION) => {
                Reply::json(200, &json!({ "items": ["a", "bb", "ccc"] }))
            }
            ("GET", "/me") if request.header("x-session") == Some(SESSION) => {
                Reply::json(200, &json!({ "greeting": "hello ada" }))
            }
            ("GET", path) if path.starts_with("/items/") => {
                let item = &path["/items/".len()..];
                Reply::json(
                    200,
                    &json!({ "label": format!("label-{item}"), "size": item.len() }),
                )
            }
            ("POST", "/count") => Reply::json(200, &json!({ "ok": true })),
            ("GET", "/start") => Reply::redirect(302, "signin?flow=f1"),
            ("GET", "/signin") => html(SIGN_IN_PAGE),
            ("POST", "/signin/submit") => Reply::redirect(303, "/consent"),
            ("GET", "/consent") => html(CONSENT_PAGE),
            ("POST", "/consent") => Reply::redirect(303, "https://app.example/cb?code=c-789"),
            ("GET", "/loop") => Reply::redirect(302, "/loop"),
            _ => Reply::status(404),
        }
    })
}

/// The binary, run from the crate root so fixture paths print as `tests/fixtures/…`.
fn apiflow(args: &[&str]) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::cargo_bin("apiflow").expect("the binary is built");
    command.env_remove("GITHUB_ACTIONS");
    command.current_dir(ROOT).args(args);
    command
}

/// Exit code, stdout and stderr of a binary run; ports and durations made stable.
fn output(command: &mut assert_cmd::Command, port: u16) -> (i32, String, String) {
    let out = command.output().expect("the binary runs");
    let step_time = regex::Regex::new(r"(→ \d{3}(?: \([^)]*\))? )\S+").expect("a regex");
    let run_time = regex::Regex::new(r"(?m)( skipped in )\S+$").expect("a regex");
    let stable = |bytes: &[u8]| {
        let text = String::from_utf8(bytes.to_vec()).expect("UTF-8 output");
        let text = normalize(&text, &[(port, "<port>")]);
        let text = step_time.replace_all(&text, "${1}<t>");
        run_time.replace_all(&text, "${1}<t>").into_owned()
    };
    (
        out.status.code().expect("an exit code"),
        stable(&out.stdout),
        stable(&out.stderr),
    )
}

fn fixture(name: &str) -> String {
    format!("tests/fixtures/compose/{name}")
}

// ---------------------------------------------------------------------------------------------
// Composition

#[tokio::test]
async fn a_used_workflow_runs_nested_and_its_outputs_are_read_both_ways() {
    let server = server();
    let run = run(
        "compose/caller.yaml",
        &[("base_url", &server.url), ("api_key", API_KEY)],
        false,
    )
    .await;
    assert_eq!(run.report.exit_code(), 0, "{}", run.output);
    insta::assert_snapshot!(normalize(&run.output, &[(server.port, "<port>")]));

    let sign_in = run.step("sign_in");
    let nested: Vec<&str> = sign_in.children.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(nested, ["log in", "list the items"]);
    assert!(sign_in.children.iter().all(|s| s.depth == 1));
    // `{ output: session_token }` keeps the output's secrecy.
    let session = &sign_in.captures[0];
    assert_eq!((session.name.as_str(), session.secret), ("session", true));
    assert_eq!(session.value, json!(SESSION));

    // `sign_in.session_token` reached the server, and so did a value computed from it.
    let me = server.only("/me");
    assert_eq!(me.header("x-session"), Some(SESSION));
    let proof = STANDARD.encode(format!("{SESSION}:user"));
    assert_eq!(me.header("x-proof"), Some(proof.as_str()));
}

#[tokio::test]
async fn for_each_collects_captures_as_lists_and_if_skips() {
    let server = server();
    let run = run(
        "compose/caller.yaml",
        &[("base_url", &server.url), ("api_key", API_KEY)],
        false,
    )
    .await;
    let each = run.step("label each item");
    let names: Vec<&str> = each.children.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "label each item [1]",
            "label each item [2]",
            "label each item [3]"
        ]
    );
    assert_eq!(
        run.capture("label each item", "label"),
        json!(["label-a", "label-bb", "label-ccc"])
    );
    assert_eq!(run.capture("label each item", "size"), json!([1, 2, 3]));
    let count: Value = serde_json::from_str(&server.only("/count").body).expect("JSON");
    assert_eq!(
        count,
        json!({ "labels": ["label-a", "label-bb", "label-ccc"], "total": 6 })
    );

    let admin = run.step("only for admins");
    assert_eq!(admin.outcome, Outcome::Skipped);
    assert_eq!(
        admin.reason.as_deref(),
        Some("`if: sign_in.role == 'admin'` is false")
    );
    assert!(server.requests().iter().all(|r| r.path != "/admin"));
}

#[test]
fn secrets_stay_secret_across_the_boundary_and_the_json_report_nests_steps() {
    let server = server();
    let report_path = std::env::temp_dir().join(format!(
        "apiflow-compose-{}-{}.json",
        std::process::id(),
        server.port
    ));
    let (code, stdout, stderr) = output(
        &mut apiflow(&[
            "run",
            &fixture("caller.yaml"),
            "-v",
            "--var",
            &format!("base_url={}", server.url),
            "--var",
            &format!("api_key={API_KEY}"),
            "--report",
            &format!("json={}", report_path.display()),
        ]),
        server.port,
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let report = std::fs::read_to_string(&report_path).expect("the JSON report");
    let _ = std::fs::remove_file(&report_path);
    // The input given through `with:`, the secret output, and a value derived from it.
    let proof = STANDARD.encode(format!("{SESSION}:user"));
    for secret in [API_KEY, SESSION, proof.as_str()] {
        assert!(!stdout.contains(secret), "`{secret}` leaked:\n{stdout}");
        assert!(!report.contains(secret), "`{secret}` leaked:\n{report}");
    }
    assert!(stdout.contains("> x-session: ••••"), "{stdout}");
    assert!(stdout.contains("> x-proof: ••••"), "{stdout}");

    let report: Value = serde_json::from_str(&report).expect("JSON");
    let steps = &report["workflows"][0]["steps"];
    let sign_in = &steps[0];
    assert_eq!(sign_in["name"], "sign_in");
    let children: Vec<&str> = sign_in["children"]
        .as_array()
        .expect("children")
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(children, ["log in", "list the items"]);
    assert_eq!(sign_in["children"][0]["captures"]["session_token"], "••••");
    assert_eq!(sign_in["captures"]["session"], "••••");
    assert_eq!(steps[2]["children"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        steps[2]["captures"]["label"],
        json!(["label-a", "label-bb", "label-ccc"])
    );
}

// ---------------------------------------------------------------------------------------------
// Browserless sign-in

#[tokio::test]
async fn html_forms_submit_through_a_consent_page_up_to_the_callback() {
    let server = server();
    let run = run(
        "compose/browserless.yaml",
        &[("base_url", &server.url), ("password", "pa ss+word")],
        false,
    )
    .await;
    assert_eq!(run.report.exit_code(), 0, "{}", run.output);
    insta::assert_snapshot!(normalize(&run.output, &[(server.port, "<port>")]));
    assert_eq!(
        run.capture("open the sign-in page", "heading"),
        json!("Welcome back")
    );
    // The relative `Location` resolved against the URL that sent it.
    assert_eq!(server.only("/signin").query.as_deref(), Some("flow=f1"));
    // Hidden fields kept, a field named by a template, the password set.
    assert_eq!(
        server.only("/signin/submit").body,
        "csrf=csrf-1&login=ada&passwd=pa+ss%2Bword"
    );
    assert_eq!(run.capture("sign in", "consent"), json!("/consent"));
    assert_eq!(
        run.capture("sign in", "scopes"),
        json!(["profile", "email"])
    );
    // The consent form's hidden field and its first button; then a stop before the callback.
    let posted: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/consent" && r.method == "POST")
        .map(|r| r.body)
        .collect();
    assert_eq!(posted, ["csrf=csrf-2&decision=allow"]);
    assert_eq!(run.capture("consent", "code"), json!("c-789"));
}

// ---------------------------------------------------------------------------------------------
// Errors: exit 2 before anything is sent, exit 1 at run time; the exact text.

#[test]
fn composition_errors_are_caught_before_anything_is_sent() {
    for name in [
        "missing_input",
        "unknown_with",
        "undeclared_output",
        "cycle_a",
        "if_undefined",
        "form_from_unknown_step",
    ] {
        let (code, stdout, stderr) = output(
            &mut apiflow(&["run", &fixture(&format!("invalid/{name}.yaml"))]),
            0,
        );
        assert_eq!(code, 2, "{name}: {stdout}{stderr}");
        assert_eq!(stdout, "", "{name}");
        insta::assert_snapshot!(format!("invalid_{name}"), stderr);
    }
}

#[test]
fn browserless_steps_that_cannot_go_on_fail_with_what_they_found() {
    let server = server();
    for name in ["form_from_no_match", "stop_at_loop", "stop_at_page"] {
        let (code, stdout, stderr) = output(
            apiflow(&["run", &fixture(&format!("{name}.yaml")), "--var"])
                .arg(format!("base_url={}", server.url)),
            server.port,
        );
        assert_eq!(code, 1, "{name}: {stdout}{stderr}");
        assert_eq!(stderr, "", "{name}");
        insta::assert_snapshot!(name, stdout);
    }
    assert!(server.requests().iter().all(|r| r.path != "/cb"));
}
