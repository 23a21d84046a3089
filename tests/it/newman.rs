//! Parity with Newman: the same Postman collection run by Newman and by apiflow against one
//! in-process API must send the same requests (method, path, query, the headers a collection
//! controls, the body) in the same order, fail the same requests, and end with the same exit
//! code.
//!
//! Newman is an npm package: `.ci/run` installs the version below into `target/newman`, and
//! `APIFLOW_NEWMAN` can name another `newman` executable. Without it the tests are skipped,
//! except in CI, where they fail.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::support::{self, Recorded, Reply, Server};

/// The version `.ci/run` installs.
const NEWMAN_VERSION: &str = "6.2.2";

const PARITY: &str = "tests/fixtures/postman/parity";

/// The `newman` executable, or `None` (after saying why) when it is not installed.
fn newman() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("APIFLOW_NEWMAN") {
        return Some(PathBuf::from(path));
    }
    let installed = format!("{}/target/newman/node_modules/.bin/newman", support::ROOT);
    support::bin::tool(&installed, &format!("newman@{NEWMAN_VERSION} (npm)"))
}

/// The API every parity collection runs against.
pub(crate) fn api(request: &Recorded) -> Reply {
    let item = |id: u64| json!({ "id": id, "name": format!("item {id}"), "next": id + 1 });
    match (request.method.as_str(), request.path.as_str()) {
        ("POST", "/token") => Reply::json(
            200,
            &json!({ "access_token": "at-1", "token_type": "Bearer", "expires_in": 3600 }),
        ),
        ("GET", path) if path.starts_with("/items/") => {
            match path["/items/".len()..].parse::<u64>() {
                Ok(id) => Reply::json(200, &item(id)),
                Err(_) => Reply::json(404, &json!({ "error": "no such item" })),
            }
        }
        ("POST", "/items") => Reply::json(201, &item(100)),
        ("GET", "/redirect") => Reply::redirect(302, "/items/7"),
        ("GET", "/cookies/set") => {
            Reply::json(200, &json!({ "set": true })).header("set-cookie", "session=abc; Path=/")
        }
        ("GET", "/fail") => Reply::json(500, &json!({ "error": "boom" })),
        _ => Reply::json(200, &json!({ "ok": true })),
    }
}

/// What a request carried that a collection decides: headers a client adds on its own
/// (`User-Agent`, `Accept`, `Postman-Token`, …) are left out, a JSON body is compared as JSON,
/// and a query or a url-encoded form as the pairs it decodes to (Newman writes a space `%20`,
/// apiflow `+`: the same to a server).
#[derive(Debug, PartialEq)]
struct Sent {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Value,
}

/// Headers that a client chooses by itself, whatever the collection says.
const CLIENT_HEADERS: &[&str] = &[
    "user-agent",
    "accept",
    "accept-encoding",
    "postman-token",
    "cache-control",
    "connection",
    "host",
    "content-length",
    // Newman sets `Referer` on a followed redirect's next hop, as a browser does; apiflow, as
    // curl and Hurl, does not.
    "referer",
];

fn sent(requests: &[Recorded]) -> Vec<Sent> {
    requests
        .iter()
        .map(|r| {
            let mut headers: Vec<(String, String)> = r
                .headers
                .iter()
                .filter(|(k, _)| !CLIENT_HEADERS.contains(&k.as_str()))
                .cloned()
                .collect();
            headers.sort();
            let content_type = r.header("content-type").unwrap_or_default();
            let body = match serde_json::from_str::<Value>(&r.body) {
                Ok(value) if content_type.contains("json") => value,
                _ if content_type.starts_with("application/x-www-form-urlencoded") => {
                    json!(pairs(&r.body))
                }
                _ => Value::String(support::unboundary(&r.body)),
            };
            Sent {
                method: r.method.clone(),
                path: r.path.clone(),
                query: pairs(r.query.as_deref().unwrap_or_default()),
                headers,
                body,
            }
        })
        .collect()
}

fn pairs(text: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Runs a collection with Newman; returns the exit code and the requests the API received.
/// One request run: the item's name, and whether any of its tests failed.
type Outcome = (String, bool);

fn run_newman(newman: &PathBuf, collection: &str) -> (i32, Vec<Recorded>, Vec<Outcome>) {
    let server = Server::start(api);
    let dir = support::bin::TempDir::new(&format!(
        "newman-report-{}",
        collection.rsplit('/').next().unwrap_or(collection)
    ));
    let report = dir.file("newman.json");
    let mut command = std::process::Command::new(newman);
    command
        .current_dir(support::ROOT)
        .args(["run", collection, "--reporters", "json", "--color", "off"])
        .args(["--reporter-json-export", &report])
        .args(["--env-var", &format!("baseUrl={}", server.url)]);
    let out = command.output().expect("newman runs");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("Newman's report"))
            .expect("JSON");
    let outcomes = report["run"]["executions"]
        .as_array()
        .expect("executions")
        .iter()
        .map(|execution| {
            let failed = execution["assertions"]
                .as_array()
                .is_some_and(|list| list.iter().any(|a| !a["error"].is_null()));
            let name = execution["item"]["name"].as_str().unwrap_or_default();
            (name.to_owned(), failed)
        })
        .collect();
    (out.status.code().unwrap_or(-1), server.requests(), outcomes)
}

/// The steps apiflow ran, from its JSON report: each step's name and whether it failed.
fn outcomes(report: &str) -> Vec<Outcome> {
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(report).expect("apiflow's report"))
            .expect("JSON");
    report["workflows"]
        .as_array()
        .expect("workflows")
        .iter()
        .flat_map(|w| w["steps"].as_array().expect("steps"))
        .filter(|step| step["outcome"] != "skipped")
        .map(|step| {
            let name = step["name"].as_str().unwrap_or_default();
            (name.to_owned(), step["outcome"] != "passed")
        })
        .collect()
}

/// How apiflow is given the collection.
#[derive(Clone, Copy, Debug)]
enum Way {
    /// `apiflow run COLLECTION.json`, as a Newman user switching would.
    Direct,
    /// `apiflow import postman` to a workflow file, then `apiflow run` of that file.
    Imported,
}

/// Runs a collection with apiflow; returns the exit code, what it printed, the requests the API
/// received and the steps' outcomes.
fn run_apiflow(collection: &str, way: Way) -> (i32, String, Vec<Recorded>, Vec<Outcome>) {
    let server = Server::start(api);
    let dir = support::bin::TempDir::new(&format!(
        "newman-{way:?}-{}",
        collection.rsplit('/').next().unwrap_or(collection)
    ));
    let workflow = dir.file("flow.yaml");
    let target = match way {
        Way::Direct => collection,
        Way::Imported => {
            let import = support::bin::apiflow(&["import", "postman", collection, "-o", &workflow])
                .output()
                .expect("runs");
            assert!(
                import.status.success(),
                "{}",
                String::from_utf8_lossy(&import.stderr)
            );
            workflow.as_str()
        }
    };
    let base = format!("baseUrl={}", server.url);
    let report = dir.file("apiflow.json");
    let json = format!("json={report}");
    let out = support::bin::apiflow(&["run", target, "--var", &base, "--report", &json])
        .output()
        .expect("runs");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let outcomes = outcomes(&report);
    (
        out.status.code().unwrap_or(-1),
        printed,
        server.requests(),
        outcomes,
    )
}

/// Runs a collection with both tools and compares what the API received, request by request.
fn assert_parity(name: &str) {
    let Some(newman) = newman() else {
        return;
    };
    let collection = format!("{PARITY}/{name}.postman_collection.json");
    let (newman_code, newman_requests, newman_outcomes) = run_newman(&newman, &collection);
    let expected = sent(&newman_requests);
    for way in [Way::Direct, Way::Imported] {
        let (code, printed, requests, outcomes) = run_apiflow(&collection, way);
        let found = sent(&requests);
        for (i, (e, f)) in expected.iter().zip(&found).enumerate() {
            assert_eq!(
                e,
                f,
                "{name} ({way:?}): request {} differs\n{printed}",
                i + 1
            );
        }
        assert_eq!(
            expected.len(),
            found.len(),
            "{name} ({way:?}): Newman sent {} requests, apiflow {}\n{printed}",
            expected.len(),
            found.len()
        );
        assert_eq!(
            newman_outcomes, outcomes,
            "{name} ({way:?}): the requests that failed\n{printed}"
        );
        assert_eq!(newman_code, code, "{name} ({way:?}): exit codes\n{printed}");
    }
}

#[test]
fn a_token_flow_sends_what_newman_sends() {
    assert_parity("token_flow");
}

#[test]
fn failed_tests_do_not_stop_the_run_as_in_newman() {
    assert_parity("failures");
}

#[test]
fn scripts_set_variables_sign_requests_loop_and_fail_as_in_newman() {
    assert_parity("scripts");
}

/// Runs one command line with Newman and with apiflow, `PROGRAM run COLLECTION ARGS…`, each
/// against its own API, whose URL `write_files` puts in the files it writes; compares what the
/// API received and the exit codes.
fn assert_same_command_line(
    collection: &str,
    args: &[&str],
    write_files: &dyn Fn(&support::bin::TempDir, &str),
) {
    let Some(newman) = newman() else {
        return;
    };
    let run = |program: Option<&PathBuf>| {
        let server = Server::start(api);
        let dir = support::bin::TempDir::new(&format!(
            "newman-flags-{}",
            if program.is_some() {
                "newman"
            } else {
                "apiflow"
            }
        ));
        write_files(&dir, &server.url);
        let args: Vec<String> = args
            .iter()
            .map(|a| a.replace("{dir}", &dir.0.display().to_string()))
            .collect();
        let out = match program {
            Some(newman) => std::process::Command::new(newman)
                .current_dir(support::ROOT)
                .args(["run", collection, "--reporters", "cli", "--color", "off"])
                .args(&args)
                .output()
                .expect("newman runs"),
            None => support::bin::apiflow(&["run", collection])
                .args(&args)
                .output()
                .expect("apiflow runs"),
        };
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), printed, server.requests())
    };
    let (newman_code, _, newman_requests) = run(Some(&newman));
    let (code, printed, requests) = run(None);
    assert_eq!(sent(&newman_requests), sent(&requests), "{printed}");
    assert_eq!(newman_code, code, "exit codes\n{printed}");
}

#[test]
fn newman_s_flags_run_a_collection_as_newman_runs_it() {
    // The environment's secret values, the globals under the collection's own values, a data
    // file with a short row, more iterations than rows, and a folder with a subfolder.
    let files = |dir: &support::bin::TempDir, url: &str| {
        let export = |name: &str, values: Value| {
            let text = json!({ "name": name, "values": values }).to_string();
            std::fs::write(dir.file(name), format!("\u{feff}{text}")).expect("written");
        };
        export(
            "env.json",
            json!([
                { "key": "baseUrl", "value": url, "enabled": true },
                { "key": "clientId", "value": "shop-app", "enabled": true },
                { "key": "clientSecret", "value": "cs-1", "type": "secret", "enabled": true },
                { "key": "token", "value": "tk-1", "type": "secret", "enabled": true },
                { "key": "user", "value": "env-user", "enabled": true }
            ]),
        );
        export(
            "globals.json",
            json!([
                { "key": "apiVersion", "value": "v0", "enabled": true },
                { "key": "region", "value": "global-region", "enabled": true },
                { "key": "user", "value": "global-user", "enabled": true }
            ]),
        );
        std::fs::write(dir.file("rows.csv"), "user,region\nann,north\nbob\n").expect("written");
    };
    let shop = "tests/fixtures/postman/shop.postman_collection.json";
    let (env, globals, data) = ("{dir}/env.json", "{dir}/globals.json", "{dir}/rows.csv");
    assert_same_command_line(
        shop,
        &[
            "-e", env, "-g", globals, "-d", data, "-n", "3", "--folder", "Orders",
        ],
        &files,
    );
    assert_same_command_line(shop, &["-e", env, "-g", globals], &files);
    assert_same_command_line(
        shop,
        &["-e", env, "-g", globals, "--ignore-redirects"],
        &files,
    );
}
