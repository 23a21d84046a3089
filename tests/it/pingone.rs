//! The shipped refresh-token workflow runs end to end against the built-in emulator, through the
//! library and through the binary, and leaves nothing behind.

use std::path::Path;

use apiflow::check::inputs::InputSources;
use apiflow::report::event::Outcome;
use apiflow::report::terminal::Terminal;
use apiflow::runner::Settings;
use apiflow_pingone::{Emulator, Options};

const WORKFLOW: &str = "workflows/refresh_token.yaml";

fn workflow_path() -> std::path::PathBuf {
    Path::new(crate::support::ROOT).join(WORKFLOW)
}

async fn ids(
    client: &reqwest::Client,
    emulator: &Emulator,
    token: &str,
    kind: &str,
) -> Vec<String> {
    let info = emulator.info();
    let url = format!("{}/environments/{}/{kind}", info.api_base, info.env_id);
    let body: serde_json::Value = client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("list request")
        .json()
        .await
        .expect("list body");
    body["_embedded"][kind]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn the_refresh_token_workflow_passes_against_the_emulator_and_cleans_up() {
    let emulator = Emulator::start(
        0,
        Options {
            seed: Some(7),
            ..Options::default()
        },
    )
    .await
    .expect("emulator starts");
    let info = emulator.info().clone();
    let plan = apiflow::check_file(&workflow_path()).expect("the shipped workflow is valid");
    let sources = InputSources {
        supplied: info
            .inputs()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        ..InputSources::default()
    };
    let inputs =
        apiflow::check::inputs::resolve(&plan, &sources, &|_| None).expect("inputs resolve");
    let client =
        apiflow::http::Client::new(&apiflow::http::ClientOptions::default()).expect("client");
    let mut reporter = Terminal::new(Vec::new(), false, true).stable();
    let report = apiflow::runner::run(&plan, &client, inputs, &Settings::default(), &mut reporter)
        .await
        .expect("the run starts");
    let output = String::from_utf8(reporter.into_inner()).expect("utf-8 output");

    assert_eq!(report.exit_code(), 0, "{output}");
    let names: Vec<&str> = report.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "get a worker token",
            "setup",
            "sign_on",
            "tokens",
            "delete the user",
            "delete the population",
            "delete the application",
        ]
    );
    let nested = |index: usize| -> Vec<&str> {
        report.steps[index]
            .children
            .iter()
            .map(|s| s.name.as_str())
            .collect()
    };
    assert_eq!(
        nested(1),
        [
            "create the application",
            "read the application secret",
            "create a population",
            "create a user",
            "set the user's password",
        ]
    );
    assert_eq!(
        nested(2),
        [
            "send the authorization request",
            "get the flow",
            "submit the credentials",
            "resume the authorization",
        ]
    );
    assert_eq!(
        nested(3),
        [
            "get the signing keys",
            "exchange the code for tokens",
            "exchange the refresh token"
        ]
    );
    let all_passed = |steps: &[apiflow::report::event::StepReport]| {
        steps.iter().all(|s| s.outcome == Outcome::Passed)
    };
    assert!(all_passed(&report.steps));
    assert!(report.steps.iter().all(|s| all_passed(&s.children)));
    // The emulator answers 404 to the first read of a new secret, as PingOne may.
    assert_eq!(report.steps[1].children[1].attempts, 2);
    let captured = |parent: usize, child: usize, name: &str| {
        report.steps[parent].children[child]
            .captures
            .iter()
            .find(|c| c.name == name)
            .map(|c| (c.value.as_str().unwrap_or_default().to_owned(), c.secret))
            .expect("captured")
    };
    let (access, access_secret) = captured(3, 1, "access_token");
    let (new_access, _) = captured(3, 2, "new_access_token");
    let (refresh, refresh_secret) = captured(3, 1, "refresh_token");
    let (new_refresh, _) = captured(3, 2, "new_refresh_token");
    assert!(access_secret && refresh_secret);
    assert_ne!(access, new_access);
    assert_ne!(refresh, new_refresh);
    let (code, code_secret) = captured(2, 3, "auth_code");
    assert!(code_secret);
    // The entry point captures two of the tokens workflow's outputs, still secret.
    let outputs: Vec<(&str, bool)> = report.steps[3]
        .captures
        .iter()
        .map(|c| (c.name.as_str(), c.secret))
        .collect();
    assert_eq!(
        outputs,
        [("access_token", true), ("new_access_token", true)]
    );

    // Secrets never reach the output, even with every exchange printed.
    for secret in [
        &info.worker_client_secret,
        &access,
        &refresh,
        &new_access,
        &new_refresh,
        &code,
    ] {
        assert!(
            !output.contains(secret.as_str()),
            "a secret leaked into:\n{output}"
        );
    }
    assert!(output.contains("••••"));

    // `finally` deleted what the run created.
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(format!("{}/{}/as/token", info.auth_base, info.env_id))
        .basic_auth(&info.worker_client_id, Some(&info.worker_client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token request")
        .json()
        .await
        .expect("token body");
    let token = token["access_token"].as_str().expect("worker token");
    let created = [
        ("applications", captured(1, 0, "app_id").0),
        ("populations", captured(1, 2, "population_id").0),
        ("users", captured(1, 3, "user_id").0),
    ];
    for (kind, id) in created {
        let left = ids(&http, &emulator, token, kind).await;
        assert!(!left.contains(&id), "{kind} `{id}` left behind");
    }
    // Only the seeded worker application remains.
    assert_eq!(
        ids(&http, &emulator, token, "applications").await,
        std::slice::from_ref(&info.worker_client_id)
    );
    emulator.shutdown().await;
}

/// The form fields of a token request that belong to the grant, not to client authentication.
const GRANT: [&str; 4] = ["grant_type", "code", "redirect_uri", "refresh_token"];

/// The form fields, and whether a Basic header went, of a token request the run sent.
fn sent_to_token_endpoint(
    step: &apiflow::report::event::StepReport,
) -> (Vec<(String, String)>, bool) {
    let exchange = step.exchanges.last().expect("an exchange");
    let body = exchange
        .request
        .body
        .as_ref()
        .and_then(apiflow::http::body::Body::as_bytes)
        .unwrap_or_default();
    let fields = url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let basic = exchange
        .request
        .headers
        .get("authorization")
        .is_some_and(|v| v.to_str().unwrap_or_default().starts_with("Basic "));
    (fields, basic)
}

#[tokio::test]
async fn each_client_authentication_method_passes_against_the_emulator() {
    let emulator = Emulator::start(0, Options::default())
        .await
        .expect("emulator starts");
    let info = emulator.info().clone();
    let plan = apiflow::check_file(&workflow_path()).expect("the shipped workflow is valid");
    let client =
        apiflow::http::Client::new(&apiflow::http::ClientOptions::default()).expect("client");
    let cases = [
        ("basic", vec![]),
        ("post", vec!["client_id", "client_secret"]),
        (
            "client_secret_jwt",
            vec!["client_id", "client_assertion_type", "client_assertion"],
        ),
        (
            "private_key_jwt",
            vec!["client_id", "client_assertion_type", "client_assertion"],
        ),
    ];
    for (method, client_fields) in cases {
        let sources = InputSources {
            vars: vec![("client_auth".to_owned(), method.to_owned())],
            supplied: info
                .inputs()
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
            ..InputSources::default()
        };
        let inputs =
            apiflow::check::inputs::resolve(&plan, &sources, &|_| None).expect("inputs resolve");
        let mut reporter = Terminal::new(Vec::new(), false, true).stable();
        let report =
            apiflow::runner::run(&plan, &client, inputs, &Settings::default(), &mut reporter)
                .await
                .expect("the run starts");
        let output = String::from_utf8(reporter.into_inner()).expect("utf-8 output");
        assert_eq!(report.exit_code(), 0, "{method}:\n{output}");
        let mut jtis = Vec::new();
        for exchange in &report.steps[3].children[1..] {
            let (fields, basic) = sent_to_token_endpoint(exchange);
            assert_eq!(basic, method == "basic", "{method}");
            let names: Vec<&str> = fields
                .iter()
                .map(|(k, _)| k.as_str())
                .filter(|k| !GRANT.contains(k))
                .collect();
            assert_eq!(names, client_fields, "{method}: {}", exchange.name);
            if let Some((_, assertion)) = fields.iter().find(|(k, _)| k == "client_assertion") {
                let claims: serde_json::Value = {
                    use base64::Engine as _;
                    let payload = assertion.split('.').nth(1).expect("a JWT");
                    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .decode(payload)
                        .expect("base64url");
                    serde_json::from_slice(&bytes).expect("JSON claims")
                };
                let app_id = fields
                    .iter()
                    .find(|(k, _)| k == "client_id")
                    .unwrap()
                    .1
                    .clone();
                assert_eq!(claims["iss"], app_id.as_str());
                assert_eq!(claims["sub"], app_id.as_str());
                assert_eq!(
                    claims["aud"],
                    format!("{}/{}/as/token", info.auth_base, info.env_id)
                );
                jtis.push(claims["jti"].as_str().expect("a jti").to_owned());
                // The signed assertion never shows in the output.
                assert!(!output.contains(assertion.as_str()), "{method}");
            }
        }
        if method.ends_with("_jwt") {
            assert_eq!(jtis.len(), 2);
            assert_ne!(jtis[0], jtis[1], "each assertion has its own jti");
        }
    }
    emulator.shutdown().await;
}

#[test]
fn the_readme_command_runs_the_workflow_with_the_emulator() {
    let output = assert_cmd::Command::cargo_bin("apiflow")
        .expect("binary")
        .env_remove("GITHUB_ACTIONS")
        .current_dir(crate::support::ROOT)
        .args(["run", WORKFLOW, "--emulate", "pingone"])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("✓ PingOne — exchange a refresh token: 7 passed, 0 failed, 0 skipped in "),
        "{stdout}"
    );
}

#[test]
fn every_shipped_workflow_validates() {
    let dir = Path::new(crate::support::ROOT).join("workflows");
    let mut files: Vec<_> = walk(&dir);
    files.sort();
    assert!(!files.is_empty());
    let output = assert_cmd::Command::cargo_bin("apiflow")
        .expect("binary")
        .env_remove("GITHUB_ACTIONS")
        .arg("validate")
        .args(&files)
        .output()
        .expect("runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("workflows dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml")
            && !path.to_string_lossy().ends_with(".openapi.yaml")
        {
            out.push(path);
        }
    }
    out
}

/// Tells the Arazzo document and the OpenAPI description shipped beside the workflows apart
/// from apiflow workflows: they follow their own specifications (`validate` reads the Arazzo
/// document; the description is read through it).
pub(crate) fn is_arazzo_or_openapi(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(".arazzo.yaml") || n.ends_with(".openapi.yaml"))
}

#[test]
fn emulate_prints_what_a_workflow_needs_and_serves_it() {
    use std::io::BufRead as _;
    /// Stops the emulator however the test ends, so no process outlives it.
    struct Running(std::process::Child);
    impl Drop for Running {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Running(
        std::process::Command::new(assert_cmd::cargo::cargo_bin("apiflow"))
            .env_remove("GITHUB_ACTIONS")
            .args(["emulate", "pingone", "--seed", "3"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("starts"),
    );
    let stdout = child.0.stdout.take().expect("stdout");
    let mut values = std::collections::HashMap::new();
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.expect("a line");
        let mut words = line.split_whitespace();
        if let (Some(key), Some(value), None) = (words.next(), words.next(), words.next()) {
            values.insert(key.to_owned(), value.to_owned());
        }
        if line.starts_with("Press Ctrl-C") {
            break;
        }
    }
    for key in [
        "api_base",
        "auth_base",
        "env_id",
        "worker_client_id",
        "worker_client_secret",
        "client_jwks",
        "client_private_key",
    ] {
        assert!(values.contains_key(key), "{key} missing from {values:?}");
    }
    // The printed credentials get a worker token from the printed URLs.
    assert_eq!(worker::token_status(&values), 200);
    drop(child);
}

mod worker {
    /// Asks the emulator for a worker token with the values it printed; returns the status.
    pub(super) fn token_status(values: &std::collections::HashMap<String, String>) -> u16 {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let _ = rustls::crypto::ring::default_provider().install_default();
        runtime.block_on(async {
            reqwest::Client::new()
                .post(format!(
                    "{}/{}/as/token",
                    values["auth_base"], values["env_id"]
                ))
                .basic_auth(
                    &values["worker_client_id"],
                    Some(&values["worker_client_secret"]),
                )
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .expect("token request")
                .status()
                .as_u16()
        })
    }
}

/// Returns every step report, nested ones included, in the order they ran.
fn all_steps(
    steps: &[apiflow::report::event::StepReport],
) -> Vec<&apiflow::report::event::StepReport> {
    let mut out = Vec::new();
    for step in steps {
        out.push(step);
        out.extend(all_steps(&step.children));
    }
    out
}

/// Tells whether a request path matches an OpenAPI path template (`/a/{id}`).
fn matches_template(template: &str, path: &str) -> bool {
    let wanted: Vec<&str> = template.split('/').collect();
    let got: Vec<&str> = path.split('/').collect();
    wanted.len() == got.len()
        && wanted
            .iter()
            .zip(&got)
            .all(|(w, g)| (w.starts_with('{') && !g.is_empty()) || w == g)
}

#[tokio::test]
async fn the_openapi_description_declares_what_the_emulator_answers() {
    let path = Path::new(crate::support::ROOT).join("workflows/pingone.openapi.yaml");
    let description =
        apiflow::openapi::Description::load(&path, &apiflow::access::FileAccess::default())
            .expect("the description loads");
    let emulator = Emulator::start(0, Options::default())
        .await
        .expect("emulator starts");
    let info = emulator.info().clone();
    let plan = apiflow::check_file(&workflow_path()).expect("the shipped workflow is valid");
    let sources = InputSources {
        supplied: info
            .inputs()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        ..InputSources::default()
    };
    let inputs =
        apiflow::check::inputs::resolve(&plan, &sources, &|_| None).expect("inputs resolve");
    let client =
        apiflow::http::Client::new(&apiflow::http::ClientOptions::default()).expect("client");
    let mut reporter = Terminal::new(Vec::new(), false, true).stable();
    let report = apiflow::runner::run(&plan, &client, inputs, &Settings::default(), &mut reporter)
        .await
        .expect("the run starts");
    emulator.shutdown().await;
    assert_eq!(report.exit_code(), 0);
    let mut checked = std::collections::BTreeSet::new();
    for step in all_steps(&report.steps) {
        for exchange in &step.exchanges {
            let method = exchange.request.method.as_str();
            let url_path = exchange.request.url.path();
            let operation = description
                .operations
                .iter()
                .find(|o| o.method == method && matches_template(&o.path, url_path))
                .unwrap_or_else(|| panic!("{method} {url_path} is not described"));
            let response = &exchange.response;
            let content_type = response
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok());
            let problems = operation.check_response(
                &description,
                response.status.as_u16(),
                content_type,
                &response.body,
            );
            let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
            assert!(messages.is_empty(), "{method} {url_path}: {messages:?}");
            checked.insert(operation.id.clone().unwrap_or_default());
        }
    }
    // Every operation of the description was called and checked.
    let all: std::collections::BTreeSet<String> =
        description.operation_ids().map(str::to_owned).collect();
    assert_eq!(checked, all);
}
