//! `apiflow import postman`: fixture collections become the workflows in the snapshots, every
//! generated workflow passes `apiflow validate`, bad input exits with 2 and says why, and one
//! imported collection runs against an in-process server.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

const FIXTURES: &str = "tests/fixtures/postman";

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary from the crate root, so paths in messages are the fixtures' relative paths.
fn apiflow(args: &[&str]) -> Output {
    let output = assert_cmd::Command::cargo_bin("apiflow")
        .expect("binary")
        .env_remove("GITHUB_ACTIONS")
        .current_dir(crate::support::ROOT)
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("runs");
    Output {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

/// A fresh, empty directory under the system's temporary directory.
fn temp_dir(label: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir =
        std::env::temp_dir().join(format!("apiflow-import-{label}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Checks an imported workflow as the importer does: the files it sends are not looked for.
#[track_caller]
fn assert_valid(name: &str, text: &str) {
    let access = apiflow::check::confine::FileAccess {
        unopened: true,
        ..Default::default()
    };
    if let Err(diagnostics) = apiflow::check_source_in(&apiflow::Source::new(name, text), &access) {
        let rendered: Vec<String> = diagnostics.iter().map(|d| d.render(false)).collect();
        panic!(
            "`{name}` does not validate:\n{}\n{text}",
            rendered.join("\n")
        );
    }
}

#[test]
fn a_token_flow_becomes_a_workflow() {
    let out = apiflow(&[
        "import",
        "postman",
        &fixture("token_flow.postman_collection.json"),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "", "no warnings expected");
    assert_valid("token_flow.yaml", &out.stdout);
    insta::assert_snapshot!("token_flow", out.stdout);
}

#[test]
fn every_feature_with_an_environment() {
    let out = apiflow(&[
        "import",
        "postman",
        &fixture("features.postman_collection.json"),
        "--environment",
        &fixture("features.postman_environment.json"),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_valid("features.yaml", &out.stdout);
    insta::assert_snapshot!("features", out.stdout);
    insta::assert_snapshot!("features_warnings", out.stderr);
    // A secret environment value never reaches the workflow.
    assert!(!out.stdout.contains("do-not-print"));
    assert!(!out.stdout.contains("k-123"));
    // Every request is a step: 1 + 8 + 4.
    let access = apiflow::check::confine::FileAccess {
        unopened: true,
        ..Default::default()
    };
    let source = apiflow::Source::new("features.yaml", out.stdout.as_str());
    let plan = apiflow::check_source_in(&source, &access).expect("valid");
    assert_eq!(plan.workflow.steps.len(), 13);
}

#[test]
fn a_byte_order_mark_or_utf16_reads_like_utf8() {
    let plain = apiflow(&[
        "import",
        "postman",
        &fixture("token_flow.postman_collection.json"),
    ]);
    for name in [
        "token_flow_bom.postman_collection.json",
        "token_flow_utf16.postman_collection.json",
    ] {
        let out = apiflow(&["import", "postman", &fixture(name)]);
        assert_eq!(out.code, 0, "{name}: {}", out.stderr);
        assert_eq!(out.stderr, "", "{name}");
        let stdout = out
            .stdout
            .replace(name, "token_flow.postman_collection.json");
        assert_eq!(stdout, plain.stdout, "{name}");
    }
}

#[test]
fn a_v2_collection_without_info_schema_is_read_with_a_warning() {
    let plain = apiflow(&[
        "import",
        "postman",
        &fixture("token_flow.postman_collection.json"),
    ]);
    let out = apiflow(&[
        "import",
        "postman",
        &fixture("token_flow_no_schema.postman_collection.json"),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let stdout = out.stdout.replace("token_flow_no_schema", "token_flow");
    assert_eq!(stdout, plain.stdout);
    assert_eq!(
        out.stderr,
        "warning: `tests/fixtures/postman/token_flow_no_schema.postman_collection.json` has no `info.schema`: it is read as a Postman Collection v2.1, as Newman reads it\n  = help: in Postman, export the collection as \"Collection v2.1\" to record its version\n"
    );
}

#[test]
fn a_v2_0_collection_is_read_too() {
    let out = apiflow(&[
        "import",
        "postman",
        &fixture("legacy_v2_0.postman_collection.json"),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "warning: workflow `Legacy v2.0`: `token` is used but not defined in the collection or the environment\n  = help: they are required inputs: pass them with `--var NAME=VALUE` or `--env-file`\n"
    );
    assert_valid("legacy_v2_0.yaml", &out.stdout);
    insta::assert_snapshot!("legacy_v2_0", out.stdout);
}

#[test]
fn edge_cases_still_validate() {
    let out = apiflow(&[
        "import",
        "postman",
        &fixture("edge_cases.postman_collection.json"),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_valid("edge_cases.yaml", &out.stdout);
    insta::assert_snapshot!("edge_cases", out.stdout);
    insta::assert_snapshot!("edge_cases_warnings", out.stderr);
}

#[test]
fn out_dir_writes_one_workflow_per_top_level_folder() {
    let dir = temp_dir("out-dir");
    let dir_arg = dir.display().to_string();
    let out = apiflow(&[
        "import",
        "postman",
        &fixture("features.postman_collection.json"),
        "-e",
        &fixture("features.postman_environment.json"),
        "--out-dir",
        &dir_arg,
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["auth.yaml", "sign-in.yaml", "users.yaml"]);
    let mut all = String::new();
    for name in &names {
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path).expect("written");
        assert_valid(name, &text);
        assert!(
            out.stderr
                .contains(&format!("✓ wrote `{}`", path.display())),
            "{}",
            out.stderr
        );
        let _ = write!(all, "=== {name}\n{text}");
    }
    // The files validate with the command too, once the file the upload sends is in place.
    std::fs::write(dir.join("avatar.png"), b"\x89PNG").expect("write");
    let files: Vec<String> = names
        .iter()
        .map(|n| dir.join(n).display().to_string())
        .collect();
    let mut args = vec!["validate"];
    args.extend(files.iter().map(String::as_str));
    let validate = apiflow(&args);
    assert_eq!(validate.code, 0, "{}", validate.stderr);
    insta::assert_snapshot!("features_out_dir", all);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn output_writes_one_file() {
    let dir = temp_dir("output");
    let file = dir.join("flow.yaml");
    let file_arg = file.display().to_string();
    let out = apiflow(&[
        "import",
        "postman",
        &fixture("token_flow.postman_collection.json"),
        "-o",
        &file_arg,
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr, format!("✓ wrote `{file_arg}`: 2 steps\n"));
    let stdout = apiflow(&[
        "import",
        "postman",
        &fixture("token_flow.postman_collection.json"),
    ]);
    assert_eq!(
        std::fs::read_to_string(&file).expect("written"),
        stdout.stdout
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn invalid_input_exits_with_2_and_says_why() {
    let cases = [
        ("broken.json", None),
        ("latin1.json", None),
        ("v1.json", None),
        ("future_schema.json", None),
        ("empty.postman_collection.json", None),
        ("features.postman_environment.json", None),
        ("missing.json", None),
        (
            "token_flow.postman_collection.json",
            Some("token_flow.postman_collection.json"),
        ),
    ];
    let mut all = String::new();
    for (collection, environment) in cases {
        let collection = fixture(collection);
        let mut args = vec!["import", "postman", collection.as_str()];
        let environment = environment.map(fixture);
        if let Some(env) = &environment {
            args.extend(["--environment", env.as_str()]);
        }
        let out = apiflow(&args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert_eq!(out.stdout, "", "{args:?}");
        let _ = write!(all, "$ apiflow {}\n{}\n", args.join(" "), out.stderr);
    }
    insta::assert_snapshot!("invalid_input", all);
}

#[test]
fn output_and_out_dir_conflict() {
    let out = apiflow(&[
        "import",
        "postman",
        &fixture("token_flow.postman_collection.json"),
        "-o",
        "a.yaml",
        "--out-dir",
        "dir",
    ]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("the argument '--output <OUT.yaml>' cannot be used with '--out-dir <DIR>'"),
        "{}",
        out.stderr
    );
    assert!(!Path::new(crate::support::ROOT).join("a.yaml").exists());
}

/// What the test server received, one line per request.
type Log = Arc<Mutex<Vec<String>>>;

async fn token(State(log): State<Log>, body: String) -> Response {
    log.lock()
        .expect("log")
        .push(format!("POST /oauth/token {body}"));
    if !body.contains("grant_type=client_credentials") {
        return (StatusCode::BAD_REQUEST, "bad grant").into_response();
    }
    axum::Json(serde_json::json!({
        "access_token": "tok-7f3a",
        "token_type": "Bearer",
        "expires_in": 3600
    }))
    .into_response()
}

async fn me(State(log): State<Log>, headers: HeaderMap) -> Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    log.lock().expect("log").push(format!("GET /me {auth}"));
    if auth != "Bearer tok-7f3a" {
        return (StatusCode::UNAUTHORIZED, "no").into_response();
    }
    axum::Json(serde_json::json!({ "name": "demo" })).into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_collection_runs_against_a_server() {
    let log: Log = Arc::default();
    let app = Router::new()
        .route("/oauth/token", post(token))
        .route("/me", get(me))
        .with_state(Arc::clone(&log));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let dir = temp_dir("round-trip");
    let file = dir.join("token_flow.yaml").display().to_string();
    let output = tokio::task::spawn_blocking(move || {
        let import = apiflow(&[
            "import",
            "postman",
            &fixture("token_flow.postman_collection.json"),
            "-o",
            &file,
        ]);
        assert_eq!(import.code, 0, "{}", import.stderr);
        apiflow(&[
            "run",
            &file,
            "--var",
            &format!("baseUrl=http://127.0.0.1:{port}"),
        ])
    })
    .await
    .expect("the commands ran");
    server.abort();
    let _ = std::fs::remove_dir_all(&dir);

    assert_eq!(output.code, 0, "{}\n{}", output.stdout, output.stderr);
    assert!(
        output.stdout.contains("2 passed, 0 failed"),
        "{}",
        output.stdout
    );
    // The captured token is secret: it never reaches the output.
    assert!(!output.stdout.contains("tok-7f3a"), "{}", output.stdout);
    let received = log.lock().expect("log").clone();
    assert_eq!(
        received,
        [
            "POST /oauth/token grant_type=client_credentials&client_id=demo-client",
            "GET /me Bearer tok-7f3a",
        ]
    );
}

/// Imports `fixture` into `dir/flows/NAME.yaml` with `--working-dir dir`; returns the path
/// written and the import's output, with `dir` replaced by `<dir>`.
fn import_into(fixture_name: &str, dir: &Path, name: &str) -> (String, Output) {
    let target = dir.join("flows").join(format!("{name}.yaml"));
    std::fs::create_dir_all(dir.join("flows")).expect("mkdir");
    let target_arg = target.display().to_string();
    let dir_arg = dir.display().to_string();
    let mut out = apiflow(&[
        "import",
        "postman",
        &fixture(fixture_name),
        "-o",
        &target_arg,
        "--working-dir",
        &dir_arg,
    ]);
    out.stderr = out.stderr.replace(&dir_arg, "<dir>");
    (target_arg, out)
}

#[test]
fn form_data_files_and_file_bodies_are_uploaded_from_the_working_dir() {
    let dir = temp_dir("uploads");
    std::fs::create_dir_all(dir.join("files")).expect("mkdir");
    std::fs::write(dir.join("files/a.txt"), "alpha\n").expect("write");
    std::fs::write(dir.join("files/b.csv"), "id,name\n1,b\n").expect("write");
    std::fs::write(dir.join("files/meta.json"), "{\"m\":1}").expect("write");
    let (target, out) = import_into("uploads.postman_collection.json", &dir, "uploads");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = std::fs::read_to_string(&target).expect("written");
    insta::assert_snapshot!("uploads", text);
    insta::assert_snapshot!("uploads_warnings", out.stderr);

    // The paths lead out of `flows/` into `files/`: refused until the root is widened.
    let refused = apiflow(&["validate", &target]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("`file: ../files/a.txt` is outside the workflow's folder"),
        "{}",
        refused.stderr
    );

    let server = crate::support::Server::start(|_| crate::support::Reply::status(200));
    let base = format!("baseUrl={}", server.url);
    let root = dir.display().to_string();
    let run = apiflow(&[
        "run",
        &target,
        "--file-root",
        &root,
        "--var",
        &base,
        "--var",
        "title=Q3",
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let upload = server.only("/documents");
    let content_type = upload.header("content-type").expect("content type");
    assert!(
        content_type.starts_with("multipart/form-data; boundary="),
        "{content_type}"
    );
    let body = crate::support::unboundary(&upload.body);
    let parts: Vec<&str> = body.split("------apiflow-<boundary>").collect();
    // The parts in the collection's order, the empty file field and the disabled one left out.
    assert_eq!(parts.len(), 7, "{body}");
    assert!(
        parts[1].contains("name=\"title\"\r\n\r\nReport Q3\r\n"),
        "{body}"
    );
    assert!(
        parts[2].contains(
            "name=\"doc\"; filename=\"a.txt\"\r\ncontent-type: text/plain\r\n\r\nalpha\n\r\n"
        ) || parts[2].contains(
            "name=\"doc\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nalpha\n\r\n"
        ),
        "{body}"
    );
    assert!(parts[3].contains("filename=\"b.csv\""), "{body}");
    assert!(parts[3].contains("id,name\n1,b\n"), "{body}");
    assert!(
        parts[4].contains("application/vnd.api+json\r\n\r\n{\"m\":1}\r\n"),
        "{body}"
    );
    assert!(
        parts[5].contains("name=\"note\"\r\n\r\nplain\r\n"),
        "{body}"
    );
    assert_eq!(server.only("/blob").body, "alpha\n");
    // A file named with a variable is not sent: the request goes without a body.
    assert_eq!(server.only("/blob2").body, "");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn digest_and_aws_signatures_are_imported_and_answer_checking_servers() {
    let dir = temp_dir("auth-kinds");
    let (target, out) = import_into("auth_kinds.postman_collection.json", &dir, "auth");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = std::fs::read_to_string(&target).expect("written");
    insta::assert_snapshot!("auth_kinds", text);
    insta::assert_snapshot!("auth_kinds_warnings", out.stderr);

    let server = crate::support::Server::start(|request| {
        if request.path.starts_with("/prod/") {
            match crate::auth::check_signature(request) {
                Ok(()) => crate::support::Reply::status(200),
                Err(why) => crate::support::Reply::text(403, &why),
            }
        } else {
            crate::auth::digest_reply(request)
        }
    });
    let vars = [
        format!("baseUrl={}", server.url),
        format!("digestPassword={}", crate::auth::PASSWORD),
        format!("awsSecret={}", crate::auth::SECRET_KEY),
        "awsToken=token-1".to_owned(),
    ];
    let mut args = vec!["run", target.as_str()];
    for var in &vars {
        args.extend(["--var", var.as_str()]);
    }
    let run = apiflow(&args);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    // The Digest request went out twice: without credentials, then answering the challenge.
    let digest: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/md5/dir/index.html")
        .collect();
    assert_eq!(digest.len(), 2);
    assert!(
        digest[1]
            .header("authorization")
            .is_some_and(|a| a.starts_with("Digest username=\"Mufasa\"")),
        "{:?}",
        digest[1].headers
    );
    let signed = server.only("/prod/default");
    assert!(
        signed
            .header("authorization")
            .is_some_and(|a| a.contains("/us-east-1/execute-api/aws4_request")),
        "{:?}",
        signed.headers
    );
    assert_eq!(signed.header("x-amz-security-token"), Some("token-1"));
    // The credentials stay out of what is printed.
    for secret in [crate::auth::PASSWORD, crate::auth::SECRET_KEY, "token-1"] {
        assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn client_certificates_become_tls_and_proxies_a_warning() {
    let out = apiflow(&[
        "import",
        "postman",
        &fixture("certificates.postman_collection.json"),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("certificates", out.stdout);
    insta::assert_snapshot!("certificates_warnings", out.stderr);
}

/// Public collections, vendored with their licences under `real/`: how many of their test
/// assertions become `expect`, how many run as scripts, and how many are lost.
#[test]
fn real_collections_keep_their_assertions() {
    use apiflow_import::convert::Assertions;
    let expected = [
        (
            "adme-petrel-ds-v2/PetrelDSv2.postman_collection.json",
            Assertions {
                total: 18,
                declarative: 9,
                script: 9,
                dropped: 0,
            },
        ),
        (
            "adme-simulation-ddms/SimulationDDMS.postman_collection.json",
            Assertions {
                total: 17,
                declarative: 8,
                script: 9,
                dropped: 0,
            },
        ),
        (
            "conduit/Conduit.postman_collection.json",
            Assertions {
                total: 380,
                declarative: 18,
                script: 362,
                dropped: 0,
            },
        ),
        (
            "crapi/crAPI.postman_collection.json",
            Assertions {
                total: 58,
                declarative: 50,
                script: 8,
                dropped: 0,
            },
        ),
    ];
    for (path, expected) in expected {
        let path = Path::new(crate::support::ROOT).join(fixture(&format!("real/{path}")));
        let import = apiflow_import::postman(&path, None, &apiflow_import::Destination::Stdout)
            .unwrap_or_else(|d| panic!("{}: {d:?}", path.display()));
        assert_eq!(import.assertions, expected, "{}", path.display());
        for workflow in &import.workflows {
            assert_valid(&workflow.target, &workflow.text);
        }
    }
}

/// Translated assertions hold against the answer they describe, and each fails on its own when
/// the answer changes.
#[test]
fn translated_assertions_run_with_postman_meaning() {
    use crate::support::{Reply, Server};
    let out = apiflow(&[
        "import",
        "postman",
        &fixture("assertions.postman_collection.json"),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "", "every statement translates");
    insta::assert_snapshot!("assertions", out.stdout);
    let dir = temp_dir("assertions");
    let file = dir.join("assertions.yaml");
    std::fs::write(&file, &out.stdout).expect("write");
    let file = file.display().to_string();

    let good = serde_json::json!({
        "user": {"id": 7, "name": "Ada", "age": 36, "tags": ["admin", "ops"], "active": true,
                 "email": "ada@example.com"},
        "items": [],
        "note": null
    });
    let run = |body: serde_json::Value| {
        let server = Server::start(move |_| Reply::json(200, &body).header("x-trace", "t-1"));
        apiflow(&["run", &file, "--var", &format!("baseUrl={}", server.url)])
    };
    let passed = run(good.clone());
    assert_eq!(passed.code, 0, "{}\n{}", passed.stdout, passed.stderr);

    let changes: [(&str, serde_json::Value); 9] = [
        ("/user/name", serde_json::json!(1)),
        ("/user/age", serde_json::json!("36")),
        ("/user/age", serde_json::json!(17)),
        ("/user/tags", serde_json::json!(["ops", "x"])),
        ("/user/id", serde_json::json!("7")),
        ("/user/active", serde_json::json!(1)),
        ("/items", serde_json::json!([1])),
        ("/note", serde_json::json!(false)),
        ("/user/email", serde_json::json!(null)),
    ];
    for (pointer, value) in changes {
        let mut body = good.clone();
        *body.pointer_mut(pointer).expect("pointer") = value.clone();
        let failed = run(body);
        assert_eq!(failed.code, 1, "{pointer} = {value}: {}", failed.stdout);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// What used to be lost on the way: URL credentials, empty query segments, variables in form
/// names, nested variables, a body on GET, a folder's redirect setting, cleared variables.
#[test]
fn nothing_is_lost_on_the_way() {
    use crate::support::{Reply, Server};
    let out = apiflow(&[
        "import",
        "postman",
        &fixture("losses.postman_collection.json"),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("losses", out.stdout);
    insta::assert_snapshot!("losses_warnings", out.stderr);
    let dir = temp_dir("losses");
    let file = dir.join("losses.yaml");
    std::fs::write(&file, &out.stdout).expect("write");

    let server = Server::start(|r| {
        if r.path == "/redirect" {
            Reply::redirect(302, "/elsewhere")
        } else {
            Reply::status(200)
        }
    });
    let host = format!("host={}", server.url.trim_start_matches("http://"));
    let nested = format!("host_local={}", server.url.trim_start_matches("http://"));
    let run = apiflow(&[
        "run",
        &file.display().to_string(),
        "--var",
        &host,
        "--var",
        &nested,
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains("b0b-secret") && !run.stdout.contains("p@ss"));
    let _ = std::fs::remove_dir_all(&dir);

    let requests = server.requests();
    let find = |path: &str| {
        requests
            .iter()
            .find(|r| r.path == path)
            .unwrap_or_else(|| panic!("{path} not requested: {requests:?}"))
    };
    let basic = |user: &str, password: &str| {
        use base64::Engine as _;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    };
    assert_eq!(
        find("/raw").header("authorization"),
        Some(basic("alice", "p@ss").as_str())
    );
    assert_eq!(
        find("/structured").header("authorization"),
        Some(basic("bob", "b0b-secret").as_str())
    );
    assert_eq!(find("/both").header("authorization"), Some("Bearer tok"));
    assert_eq!(find("/query").query.as_deref(), Some("a=1&&b=2"));
    assert_eq!(find("/form").body, "named%20field=x%20y/z&tag=a%26b&tag=c");
    assert!(
        find("/parts").body.contains("name=\"named field\""),
        "{}",
        find("/parts").body
    );
    assert_eq!(find("/nested").method, "GET");
    assert_eq!(find("/get-body").body, "");
    assert_eq!(find("/get-kept").body, "kept");
    assert!(
        requests.iter().all(|r| r.path != "/elsewhere"),
        "{requests:?}"
    );
}

#[test]
fn an_imported_collection_runs_every_request_unless_bail() {
    let dir = temp_dir("bail");
    let workflow = dir.join("failures.yaml").display().to_string();
    let out = apiflow(&[
        "import",
        "postman",
        &fixture("parity/failures.postman_collection.json"),
        "-o",
        &workflow,
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for (extra, expected) in [
        (None, vec!["/items/1", "/fail", "/items/2", "/done"]),
        (Some("--bail"), vec!["/items/1", "/fail"]),
    ] {
        let server = crate::support::Server::start(crate::newman::api);
        let base = format!("baseUrl={}", server.url);
        let mut args = vec!["run", workflow.as_str(), "--var", base.as_str()];
        args.extend(extra);
        let run = apiflow(&args);
        assert_eq!(run.code, 1, "{}", run.stdout);
        let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
        assert_eq!(paths, expected, "{extra:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A script that does not translate runs in `script:`, with the collection's pre-request script
/// before each request: what it sets (a renamed variable too) reaches later requests, and its
/// tests are checks.
#[test]
fn scripts_that_do_not_translate_run_as_scripts() {
    use crate::support::{Reply, Server};
    let out = apiflow(&[
        "import",
        "postman",
        &fixture("scripts.postman_collection.json"),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "", "nothing is lost");
    insta::assert_snapshot!("scripts", out.stdout);
    let dir = temp_dir("scripts");
    let file = dir.join("scripts.yaml");
    std::fs::write(&file, &out.stdout).expect("write");
    let file = file.display().to_string();
    let run = |name: &'static str| {
        let server = Server::start(move |r| {
            if r.path == "/login" {
                Reply::json(200, &serde_json::json!({"token": "tok-1"}))
            } else {
                Reply::json(200, &serde_json::json!({"name": name}))
            }
        });
        let out = apiflow(&["run", &file, "--var", &format!("baseUrl={}", server.url)]);
        (out, server.requests())
    };
    let (passed, requests) = run("Ada");
    assert_eq!(passed.code, 0, "{}\n{}", passed.stdout, passed.stderr);
    assert_eq!(requests[0].header("x-trace"), Some("t-2"));
    assert_eq!(requests[1].header("authorization"), Some("Bearer TOK-1"));
    let (failed, _) = run("Bob");
    assert_eq!(failed.code, 1, "{}", failed.stdout);
    let _ = std::fs::remove_dir_all(&dir);
}
