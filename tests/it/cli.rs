//! The `apiflow` binary: arguments, exit codes, and exactly what it prints.

use crate::support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use support::bin::output;
use support::{ROOT, Recorded, Reply, Server, closed_port};

/// The binary from the crate root, without the environment variables some tests set.
fn apiflow(args: &[&str]) -> assert_cmd::Command {
    let mut command = support::bin::apiflow(args);
    command
        .env_remove("APIFLOW_TEST_REGION")
        .env_remove("APIFLOW_TEST_TENANT");
    command
}

fn ping_server() -> Server {
    Server::start(|_: &Recorded| Reply::json(200, &json!({ "pong": true })))
}

#[test]
fn a_passing_run_exits_0() {
    let server = ping_server();
    let out = output(
        apiflow(&["run", "tests/fixtures/passing.yaml", "--var"])
            .arg(format!("base_url={}", server.url)),
        &[(server.port, "<port>")],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    assert_eq!(
        out.stdout,
        "▶ a passing workflow (tests/fixtures/passing.yaml, 1 step)\n  \
         ✓ ping  GET http://127.0.0.1:<port>/ping → 200 <t>\n\
         ✓ a passing workflow: 1 passed, 0 failed, 0 skipped in <t>\n"
    );
}

#[test]
fn a_failing_check_exits_1() {
    let server = Server::start(|request: &Recorded| match request.path.as_str() {
        "/token" => Reply::json(200, &json!({ "token_type": "Bearer", "expires_in": -1 })),
        _ => Reply::status(204),
    });
    let out = output(
        apiflow(&["run", "tests/fixtures/failures.yaml", "--var"])
            .arg(format!("base_url={}", server.url)),
        &[(server.port, "<port>")],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stdout.contains("   = json.expires_in = -1\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .ends_with("✗ failing expectations: 1 passed, 1 failed, 1 skipped in <t>\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn an_invalid_workflow_exits_2_and_sends_nothing() {
    let server = ping_server();
    let out = output(
        &mut apiflow(&["run", "tests/corpus/114-unknown-key.yaml"]),
        &[],
    );
    assert_eq!(out.code, 2);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        support::problems("tests/corpus/114-unknown-key.yaml")
    );
    assert!(server.requests().is_empty());
}

#[test]
fn an_unreachable_server_exits_3() {
    let port = closed_port();
    let out = output(
        apiflow(&["run", "tests/fixtures/passing.yaml", "--var"])
            .arg(format!("base_url=http://127.0.0.1:{port}")),
        &[(port, "<port>")],
    );
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.starts_with(
            "▶ a passing workflow (tests/fixtures/passing.yaml, 1 step)\n  \
             ✗ ping (could not connect: "
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("error: step `ping` could not complete its request: could not connect: "),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("  = help: is the server running, and is the URL right?\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn validate_checks_every_file_it_is_given() {
    let out = output(
        &mut apiflow(&[
            "validate",
            "tests/fixtures/passing.yaml",
            "tests/corpus/101-empty.yaml",
            "tests/fixtures/extract.yaml",
            "tests/corpus/97-bad-duration.yaml",
        ]),
        &[],
    );
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stdout,
        "✓ tests/fixtures/passing.yaml: `a passing workflow` is valid (1 step, 0 finally)\n\
         ✓ tests/fixtures/extract.yaml: `every kind of capture` is valid (4 steps, 0 finally)\n"
    );
    insta::assert_snapshot!(out.stderr);
}

#[test]
fn validate_passes_the_shipped_workflow() {
    let path = format!("{ROOT}/workflows/refresh_token.yaml");
    let out = output(&mut apiflow(&["validate", &path]), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        format!("✓ {path}: `PingOne — exchange a refresh token` is valid (4 steps, 3 finally)\n")
    );
}

#[test]
fn an_unknown_flag_exits_2() {
    let out = output(
        &mut apiflow(&["run", "--frobnicate", "tests/fixtures/passing.yaml"]),
        &[],
    );
    assert_eq!(out.code, 2);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr
            .starts_with("error: unexpected argument '--frobnicate' found\n"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_missing_input_exits_2_and_sends_nothing() {
    let server = ping_server();
    let out = output(&mut apiflow(&["run", "tests/fixtures/passing.yaml"]), &[]);
    assert_eq!(out.code, 2);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "error: missing input `base_url`\n \
         --> tests/fixtures/passing.yaml:3:3\n  \
         |\n\
         3 |   base_url:\n  \
         |   ^^^^^^^^ declared here without a default\n  \
         = help: give it with `--var base_url=…`, or an `--env-file`, or an `--environment` file\n\n"
    );
    assert!(server.requests().is_empty());
}

#[test]
fn an_unknown_var_exits_2() {
    let server = ping_server();
    let out = output(
        apiflow(&[
            "run",
            "tests/fixtures/passing.yaml",
            "--var",
            "base_ulr=x",
            "--var",
        ])
        .arg(format!("base_url={}", server.url)),
        &[],
    );
    assert_eq!(out.code, 2);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "error: `--var base_ulr` does not name an input of `tests/fixtures/passing.yaml`\n  \
         = help: did you mean `base_url`?\n\n"
    );
    assert!(server.requests().is_empty());
}

#[test]
fn a_var_without_a_value_exits_2() {
    let out = output(
        &mut apiflow(&["run", "tests/fixtures/passing.yaml", "--var", "base_url"]),
        &[],
    );
    assert_eq!(out.code, 2);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.starts_with(
            "error: invalid value 'base_url' for '--var <NAME=VALUE>': `--var base_url` needs the form NAME=VALUE\n"
        ),
        "{}",
        out.stderr
    );
}

/// Runs `inputs.yaml` and returns the query string the server received.
fn sent_query(extra: &[&str], env: &[(&str, &str)]) -> String {
    let server = ping_server();
    let mut command = apiflow(&["run", "tests/fixtures/inputs.yaml", "--var"]);
    command.arg(format!("base_url={}", server.url)).args(extra);
    for (name, value) in env {
        command.env(name, value);
    }
    let out = output(&mut command, &[(server.port, "<port>")]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    server.only("/ping").query.unwrap_or_default()
}

#[test]
fn inputs_come_from_var_then_env_file_then_environment_then_default() {
    let dir = std::env::temp_dir().join(format!("apiflow-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let by_name = dir.join("by_name.env");
    std::fs::write(&by_name, "# inputs\nregion=ca\ntenant=\"from file\"\n").unwrap();
    let by_env_name = dir.join("by_env_name.env");
    std::fs::write(&by_env_name, "export APIFLOW_TEST_REGION=asia\n").unwrap();
    let env_file =
        |path: &std::path::Path| vec!["--env-file".to_owned(), path.display().to_string()];
    let tenant = ("APIFLOW_TEST_TENANT", "t-env");

    assert_eq!(sent_query(&[], &[tenant]), "region=com&tenant=t-env");
    assert_eq!(
        sent_query(&[], &[tenant, ("APIFLOW_TEST_REGION", "eu")]),
        "region=eu&tenant=t-env"
    );
    let args = env_file(&by_env_name);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(
        sent_query(&args, &[tenant, ("APIFLOW_TEST_REGION", "eu")]),
        "region=asia&tenant=t-env"
    );
    let args = env_file(&by_name);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(
        sent_query(&args, &[tenant, ("APIFLOW_TEST_REGION", "eu")]),
        "region=ca&tenant=from+file"
    );
    let mut args = env_file(&by_name);
    args.extend(["--var".to_owned(), "region=us".to_owned()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(
        sent_query(&args, &[("APIFLOW_TEST_REGION", "eu")]),
        "region=us&tenant=from+file"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

const KEY: &str = "Sup3r s3cret/+=";
const TOKEN: &str = "at.9f8e7d6c5b4a";

fn secret_server() -> Server {
    Server::start(|request: &Recorded| match request.path.as_str() {
        "/token" => Reply::json(
            200,
            &json!({ "access_token": TOKEN, "token_type": "Bearer", "echo": request.body }),
        ),
        _ => Reply::json(200, &json!({ "saved": false, "echo": request.body })),
    })
}

/// Every form a secret could take on the wire or in a report.
fn forms_of(secret: &str) -> Vec<String> {
    let percent = percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
        .to_string();
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    vec![
        secret.to_owned(),
        percent,
        form,
        STANDARD.encode(secret),
        STANDARD.encode(format!("app-1:{secret}")),
    ]
}

#[test]
fn secrets_never_appear_in_the_output() {
    for verbose in [false, true] {
        let server = secret_server();
        let mut command = apiflow(&["run", "tests/fixtures/secrets.yaml", "--var"]);
        command
            .arg(format!("base_url={}", server.url))
            .arg("--var")
            .arg(format!("api_key={KEY}"));
        if verbose {
            command.arg("-v");
        }
        let out = output(&mut command, &[(server.port, "<port>")]);
        assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);

        // The server did get the secrets, in every encoding.
        let token = server.only("/token");
        assert_eq!(token.header("x-api-key"), Some(KEY));
        assert_eq!(
            token.header("authorization"),
            Some(format!("Basic {}", STANDARD.encode(format!("app-1:{KEY}"))).as_str())
        );
        assert_eq!(token.query.as_deref(), Some("key=Sup3r+s3cret%2F%2B%3D"));
        assert_eq!(
            token.body,
            "grant_type=client_credentials&assertion=Sup3r+s3cret%2F%2B%3D"
        );
        let data = server.only("/data");
        assert_eq!(
            data.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert_eq!(
            data.body,
            format!(r#"{{"key":"{KEY}","nested":{{"again":"{KEY}"}}}}"#)
        );

        let printed = format!("{}{}", out.stdout, out.stderr);
        for form in forms_of(KEY).iter().chain(&forms_of(TOKEN)) {
            assert!(
                !printed.contains(form.as_str()),
                "`{form}` printed (verbose: {verbose}):\n{printed}"
            );
        }
        assert!(printed.contains("••••"), "{printed}");
        if verbose {
            insta::assert_snapshot!("secrets_verbose", out.stdout);
        } else {
            insta::assert_snapshot!("secrets", out.stdout);
        }
    }
}

/// The binary is a position-independent executable on Linux: its ELF type is `ET_DYN`, so the
/// loader places its code at a random address (a position-dependent one is `ET_EXEC`).
#[cfg(target_os = "linux")]
#[test]
fn the_binary_is_position_independent() {
    let path = assert_cmd::cargo::cargo_bin("apiflow");
    let bytes = std::fs::read(&path).expect("the binary");
    assert_eq!(&bytes[..4], b"\x7fELF", "an ELF file");
    let elf_type = u16::from_le_bytes([bytes[16], bytes[17]]);
    assert_eq!(
        elf_type, 3,
        "ET_DYN (PIE) expected, found ELF type {elf_type}"
    );
}
