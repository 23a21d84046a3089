//! The file reports (`--report junit|json|html=PATH`) and `--curl`: each checked against its
//! schema or in a real browser, with exact values, and never a secret in any of them.

use crate::support;

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use support::bin::{Output, TempDir, apiflow, output, tool};
use support::{ROOT, Recorded, Reply, Server};

const KEY: &str = "k3y Sup3r/s3cret+=";
const TOKEN: &str = "tok.7f6e5d4c3b2a";

/// Answers `tests/fixtures/reports/report.yaml`: a token, readiness on the second call, a
/// profile whose plan is not the expected one (and that echoes the token), and a log-out.
fn server() -> Server {
    Server::start(|request: &Recorded| match request.path.as_str() {
        "/token" => Reply::json(
            200,
            &json!({ "access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600, "user": { "id": "u-42" } }),
        ),
        "/ready" => Reply::json(200, &json!({ "ready": request.nth > 0 })),
        "/users/u-42" => Reply::json(200, &json!({ "plan": "silver", "seen_token": TOKEN })),
        "/session" => Reply::status(204),
        _ => Reply::json(200, &json!({ "pong": true })),
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

fn assert_no_secret(what: &str, text: &str) {
    for form in forms_of(KEY).iter().chain(&forms_of(TOKEN)) {
        assert!(
            !text.contains(form.as_str()),
            "`{form}` is in {what}:\n{text}"
        );
    }
}

/// One run of both report fixtures with all three reports.
struct Reports {
    out: Output,
    junit: String,
    json: String,
    html: String,
    dir: TempDir,
    port: u16,
}

fn reports(name: &str) -> Reports {
    let server = server();
    let dir = TempDir::new(name);
    // The JSON report goes into a directory that does not exist yet.
    let (junit, json, html) = (
        dir.file("junit.xml"),
        dir.file("out/report.json"),
        dir.file("report.html"),
    );
    let out = output(
        apiflow(&[
            "run",
            "tests/fixtures/reports/report.yaml",
            "tests/fixtures/reports/second.yaml",
            "--report",
            &format!("junit={junit}"),
            "--report",
            &format!("json={json}"),
            "--report",
            &format!("html={html}"),
            "--var",
            &format!("api_key={KEY}"),
        ])
        .arg("--var")
        .arg(format!("base_url={}", server.url)),
        &[(server.port, "<port>")],
    );
    let read = |path: &str| {
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}\n{out:?}"))
    };
    Reports {
        junit: read(&junit),
        json: read(&json),
        html: read(&html),
        out,
        dir,
        port: server.port,
    }
}

#[test]
fn a_run_writes_every_report_asked_for_and_exits_with_the_worst_code() {
    let r = reports("every-report");
    assert_eq!(r.out.code, 1, "{}", r.out.stderr);
    assert_eq!(r.out.stderr, "");
    assert!(
        r.out.stdout.ends_with(
            "\n2 files: 1 passed, 1 failed\n  \
             ✗ tests/fixtures/reports/report.yaml (exit 1)\n  \
             ✓ tests/fixtures/reports/second.yaml\n"
        ),
        "{}",
        r.out.stdout
    );
    for (what, text) in [
        ("the terminal output", &r.out.stdout),
        ("the JUnit report", &r.junit),
        ("the JSON report", &r.json),
        ("the HTML report", &r.html),
    ] {
        assert_no_secret(what, text);
        assert!(text.contains("••••"), "{what} masks nothing:\n{text}");
    }
}

#[test]
fn an_unknown_report_format_is_a_usage_error() {
    let out = output(
        &mut apiflow(&[
            "run",
            "tests/fixtures/passing.yaml",
            "--report",
            "xml=out.xml",
        ]),
        &[],
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains(
            "unknown report format `xml`: use `junit`, `json`, `html`, `har` or `markdown`"
        ),
        "{}",
        out.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// JUnit

/// An XML element: its attributes, child elements and text.
#[derive(Debug, Default)]
struct Element {
    name: String,
    attributes: BTreeMap<String, String>,
    children: Vec<Element>,
    text: String,
}

impl Element {
    fn attr(&self, name: &str) -> &str {
        self.attributes
            .get(name)
            .map_or_else(|| panic!("<{}> has no `{name}`", self.name), String::as_str)
    }

    fn all(&self, name: &str) -> Vec<&Element> {
        self.children.iter().filter(|c| c.name == name).collect()
    }

    fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
}

/// Parses XML into elements with quick-xml; panics unless it is well-formed.
fn parse_xml(xml: &str) -> Element {
    use quick_xml::events::{BytesStart, Event};
    fn start(tag: &BytesStart<'_>) -> Element {
        let mut element = Element {
            name: tag.name().as_ref().to_owned(),
            ..Element::default()
        };
        for attribute in tag.attributes() {
            let attribute = attribute.expect("a well-formed attribute");
            let key = attribute.key.as_ref().to_owned();
            let value = attribute
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .expect("a well-formed value")
                .into_owned();
            assert!(
                element.attributes.insert(key.clone(), value).is_none(),
                "`{key}` twice"
            );
        }
        element
    }
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack = vec![Element::default()];
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(tag) => stack.push(start(&tag)),
            Event::Empty(tag) => {
                let element = start(&tag);
                stack.last_mut().expect("a parent").children.push(element);
            }
            Event::End(_) => {
                let element = stack.pop().expect("an open element");
                stack.last_mut().expect("a parent").children.push(element);
            }
            Event::Text(text) => stack
                .last_mut()
                .expect("an element")
                .text
                .push_str(&text.xml10_content()),
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref().expect("a valid reference") {
                    Some(c) => c.to_string(),
                    None => {
                        quick_xml::escape::resolve_predefined_entity(&reference.xml10_content())
                            .expect("a predefined entity")
                            .to_owned()
                    }
                };
                stack
                    .last_mut()
                    .expect("an element")
                    .text
                    .push_str(&resolved);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut document = stack.pop().expect("the document");
    assert!(stack.is_empty(), "unclosed elements");
    assert_eq!(document.children.len(), 1, "one root element");
    document.children.remove(0)
}

/// Validates a file with `xmllint --schema`; `None` when xmllint is absent outside CI.
pub(crate) fn xmllint(schema: &str, file: &std::path::Path) -> Option<Result<(), String>> {
    let xmllint = tool("/usr/bin/xmllint", "libxml2-utils")?;
    let out = std::process::Command::new(xmllint)
        .args(["--noout", "--schema", schema])
        .arg(file)
        .output()
        .expect("xmllint runs");
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    Some(if out.status.success() {
        Ok(())
    } else {
        Err(text)
    })
}

pub(crate) const JUNIT_XSD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/junit.xsd");

#[test]
fn the_junit_report_is_valid_against_the_junit_schema() {
    let r = reports("junit-schema");
    let path = r.dir.0.join("junit.xml");
    if let Some(result) = xmllint(JUNIT_XSD, &path) {
        result.unwrap_or_else(|e| panic!("{e}\n{}", r.junit));
        // The schema has teeth: a time with a unit and a second failure are rejected.
        let broken = r.dir.0.join("broken.xml");
        let second_failure =
            r.junit
                .replacen("</failure>", "</failure><failure message=\"again\"/>", 1);
        for text in [r.junit.replacen("time=\"", "time=\"s", 1), second_failure] {
            std::fs::write(&broken, text).unwrap();
            assert!(xmllint(JUNIT_XSD, &broken).unwrap().is_err());
        }
    }
}

#[test]
fn a_request_that_could_not_be_completed_is_a_junit_error() {
    let dir = TempDir::new("junit-error");
    let junit = dir.file("junit.xml");
    let port = support::closed_port();
    let out = output(
        apiflow(&["run", "tests/fixtures/passing.yaml", "--report"])
            .arg(format!("junit={junit}"))
            .arg("--var")
            .arg(format!("base_url=http://127.0.0.1:{port}")),
        &[],
    );
    assert_eq!(out.code, 3, "{}", out.stdout);
    let xml = std::fs::read_to_string(&junit).unwrap();
    if let Some(result) = xmllint(JUNIT_XSD, std::path::Path::new(&junit)) {
        result.unwrap_or_else(|e| panic!("{e}\n{xml}"));
    }
    let root = parse_xml(&xml);
    let suite = &root.all("testsuite")[0];
    assert_eq!(
        [
            suite.attr("tests"),
            suite.attr("failures"),
            suite.attr("errors")
        ],
        ["1", "0", "1"]
    );
    let error = suite.all("testcase")[0].child("error").expect("an error");
    assert_eq!(error.attr("type"), "request");
    assert!(
        error
            .attr("message")
            .starts_with("step `ping` could not complete its request: could not connect"),
        "{}",
        error.attr("message")
    );
}

#[test]
fn the_junit_report_has_a_suite_per_workflow_and_a_case_per_step() {
    let r = reports("junit-shape");
    let root = parse_xml(&r.junit);
    assert_eq!(root.name, "testsuites");
    let suites = root.all("testsuite");
    let names: Vec<&str> = suites.iter().map(|s| s.attr("name")).collect();
    assert_eq!(names, ["a report of every outcome", "a second workflow"]);
    let mut totals = [0usize; 4];
    for suite in &suites {
        let cases = suite.all("testcase");
        let count = |tag: &str| cases.iter().filter(|c| c.child(tag).is_some()).count();
        let counts = [
            cases.len(),
            count("failure"),
            count("error"),
            count("skipped"),
        ];
        for (attribute, value) in ["tests", "failures", "errors", "skipped"]
            .iter()
            .zip(counts)
        {
            assert_eq!(suite.attr(attribute), value.to_string(), "{attribute}");
        }
        for (total, value) in totals.iter_mut().zip(counts) {
            *total += value;
        }
    }
    assert_eq!(totals, [6, 1, 0, 1]);
    assert_eq!(
        [
            root.attr("tests"),
            root.attr("failures"),
            root.attr("errors"),
            root.attr("skipped")
        ],
        ["6", "1", "0", "1"]
    );

    let cases = suites[0].all("testcase");
    let outcomes: Vec<(&str, Option<&str>)> = cases
        .iter()
        .map(|c| {
            let tag = ["failure", "error", "skipped"]
                .into_iter()
                .find(|t| c.child(t).is_some());
            (c.attr("name"), tag)
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("get a token", None),
            ("wait until ready", None),
            ("read the profile", Some("failure")),
            ("never sent", Some("skipped")),
            ("finally: log out", None),
        ]
    );
    assert!(
        cases
            .iter()
            .all(|c| c.attr("classname") == "a report of every outcome")
    );

    let failure = cases[2].child("failure").unwrap();
    assert_eq!(failure.attr("message"), "`$.plan` is not \"gold\"");
    assert_eq!(failure.attr("type"), "expectation");
    assert!(
        failure.text.contains("   = expected: \"gold\"\n")
            && failure.text.contains("   =    found: \"silver\""),
        "{}",
        failure.text
    );
    assert!(
        failure
            .text
            .contains("--> tests/fixtures/reports/report.yaml:34:"),
        "{}",
        failure.text
    );
    let skipped = cases[3].child("skipped").unwrap();
    assert_eq!(skipped.attr("message"), "not run: an earlier step failed");
    let out = cases[2].child("system-out").unwrap();
    let port = r.port;
    assert!(
        out.text.starts_with(&format!(
            "> GET http://127.0.0.1:{port}/users/u-42\n> authorization: Bearer ••••\n"
        )),
        "{}",
        out.text
    );
    assert!(
        out.text.contains("<   \"seen_token\": \"••••\""),
        "{}",
        out.text
    );
}

// ---------------------------------------------------------------------------------------------
// JSON

fn report_schema() -> Value {
    let path = format!("{ROOT}/docs/report.schema.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("the report schema is JSON")
}

fn assert_valid(schema: &Value, instance: &Value) {
    let validator = jsonschema::validator_for(schema).expect("a valid JSON Schema");
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn the_json_report_follows_its_documented_schema() {
    let r = reports("json-schema");
    let schema = report_schema();
    jsonschema::meta::validate(&schema).expect("the schema is a valid JSON Schema");
    let report: Value = serde_json::from_str(&r.json).expect("the report is JSON");
    assert_valid(&schema, &report);
    // The schema has teeth: a field it does not document, or a wrong type, is an error.
    let mut extra = report.clone();
    extra["workflows"][0]["steps"][0]["surprise"] = json!(1);
    let mut wrong = report.clone();
    wrong["workflows"][0]["steps"][1]["attempts"] = json!("2");
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(!validator.is_valid(&extra));
    assert!(!validator.is_valid(&wrong));
}

#[test]
fn the_json_report_holds_masked_inputs_captures_checks_attempts_and_statuses() {
    let r = reports("json-values");
    let report: Value = serde_json::from_str(&r.json).unwrap();
    let base_url = format!("http://127.0.0.1:{}", r.port);
    assert_eq!(report["schema"], 1);
    assert_eq!(report["apiflow"], env!("CARGO_PKG_VERSION"));
    let workflow = &report["workflows"][0];
    assert_eq!(workflow["name"], "a report of every outcome");
    assert_eq!(workflow["file"], "tests/fixtures/reports/report.yaml");
    assert_eq!(workflow["outcome"], "failed");
    assert_eq!(workflow["exit_code"], 1);
    assert_eq!(workflow["stopped"], Value::Null);
    assert_eq!(
        workflow["counts"],
        json!({ "passed": 3, "failed": 1, "skipped": 1 })
    );
    assert_eq!(
        workflow["inputs"],
        json!({ "base_url": base_url, "client_id": "app-1", "api_key": "••••" })
    );

    let steps = workflow["steps"].as_array().unwrap();
    let summary: Vec<Value> = steps
        .iter()
        .map(|s| json!([s["name"], s["finally"], s["outcome"], s["attempts"]]))
        .collect();
    assert_eq!(
        summary,
        [
            json!(["get a token", false, "passed", 1]),
            json!(["wait until ready", false, "passed", 2]),
            json!(["read the profile", false, "failed", 1]),
            json!(["never sent", false, "skipped", 0]),
            json!(["log out", true, "passed", 1]),
        ]
    );

    let token = &steps[0];
    assert_eq!(
        token["captures"],
        json!({ "access_token": "••••", "user_id": "u-42" })
    );
    assert_eq!(
        token["checks"],
        json!([
            { "check": "status 200", "passed": true },
            { "check": "$.token_type == \"Bearer\"", "passed": true },
            { "check": "json.expires_in > 0", "passed": true },
        ])
    );
    let exchange = &token["exchanges"][0];
    assert_eq!(exchange["request"]["method"], "POST");
    assert_eq!(exchange["request"]["url"], format!("{base_url}/token"));
    assert_eq!(
        exchange["request"]["headers"]["authorization"],
        "Basic ••••"
    );
    assert_eq!(
        exchange["request"]["body"],
        json!({ "text": "grant_type=client_credentials" })
    );
    assert_eq!(exchange["response"]["status"], 200);
    assert_eq!(
        exchange["response"]["headers"]["content-type"],
        "application/json"
    );
    assert_eq!(
        exchange["response"]["body"],
        json!({ "json": { "access_token": "••••", "token_type": "Bearer", "expires_in": 3600, "user": { "id": "u-42" } } })
    );

    let profile = &steps[2];
    assert_eq!(
        profile["checks"],
        json!([
            { "check": "status 200", "passed": true },
            { "check": "$.plan == \"gold\"", "passed": false },
        ])
    );
    let failure = &profile["failures"][0];
    assert_eq!(failure["message"], "`$.plan` is not \"gold\"");
    assert_eq!(failure["expected"], "\"gold\"");
    assert_eq!(failure["actual"], "\"silver\"");
    assert_eq!(
        failure["location"],
        "tests/fixtures/reports/report.yaml:34:15"
    );
    assert_eq!(profile["exchanges"][0]["response"]["status"], 200);
    assert_eq!(steps[3]["reason"], "not run: an earlier step failed");
    assert_eq!(steps[3]["exchanges"], json!([]));
    assert_eq!(
        steps[4]["exchanges"][0]["request"]["headers"]["x-api-key"],
        "••••"
    );
    assert_eq!(steps[4]["exchanges"][0]["response"]["status"], 204);
    assert_eq!(steps[4]["exchanges"][0]["response"]["body"], Value::Null);

    let second = &report["workflows"][1];
    assert_eq!(second["outcome"], "passed");
    assert_eq!(second["exit_code"], 0);
    assert_eq!(second["inputs"], json!({ "base_url": base_url }));
}

#[test]
fn the_reports_of_the_shipped_workflow_follow_their_schemas() {
    // Its `uses` steps nest the called workflows' steps inside theirs.
    let dir = TempDir::new("shipped");
    let (json, junit) = (dir.file("report.json"), dir.file("junit.xml"));
    let out = output(
        &mut apiflow(&[
            "run",
            "workflows/refresh_token.yaml",
            "--emulate",
            "pingone",
            "--report",
            &format!("json={json}"),
            "--report",
            &format!("junit={junit}"),
        ]),
        &[],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_valid(&report_schema(), &report);
    let workflow = &report["workflows"][0];
    assert_eq!(workflow["inputs"]["worker_client_secret"], "••••");
    let setup = workflow["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "setup")
        .expect("a setup step");
    assert_eq!(setup["children"][0]["name"], "create the application");
    if let Some(result) = xmllint(JUNIT_XSD, std::path::Path::new(&junit)) {
        result.unwrap_or_else(|e| panic!("{e}"));
    }
}

// ---------------------------------------------------------------------------------------------
// HTML

/// Appended to a copy of the page: writes the text a person sees (`innerText` leaves out what a
/// closed `<details>` hides) into an element that `--dump-dom` prints.
const SHOW_VISIBLE_TEXT: &str = "<script>
const seen = document.createElement('pre');
seen.id = 'visible-text';
seen.textContent = document.body.innerText;
document.body.appendChild(seen);
</script>";

/// Opens a page in headless Chromium; returns the DOM it built, or `None` when Chromium is
/// absent outside CI.
fn chromium_dom(page: &std::path::Path, profile: &std::path::Path) -> Option<String> {
    let chromium = tool("/usr/bin/chromium", "chromium")?;
    let out = std::process::Command::new("timeout")
        .arg("120")
        .arg(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).expect("a UTF-8 DOM"))
}

fn unescape_html(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

#[test]
fn the_html_report_shows_the_failed_step_in_a_browser_and_no_secret() {
    let r = reports("html");
    // One self-contained page: nothing to fetch, nothing to run.
    for outside in ["<script", "<link", "src=", "@import", "url("] {
        assert!(!r.html.contains(outside), "the page has `{outside}`");
    }
    let page = r.dir.0.join("seen.html");
    std::fs::write(
        &page,
        r.html
            .replace("</body>", &format!("{SHOW_VISIBLE_TEXT}</body>")),
    )
    .unwrap();
    let Some(dom) = chromium_dom(&page, &r.dir.0.join("profile")) else {
        return;
    };
    assert_no_secret("the page", &dom);
    let start = dom
        .find("<pre id=\"visible-text\">")
        .expect("the script ran");
    let text = dom[start..].split_once('>').unwrap().1;
    let text = text.split("</pre>").next().unwrap();
    let visible = support::normalize(&unescape_html(text), &[(r.port, "<port>")]);
    assert_no_secret("the visible text", &visible);

    // The failed step is open: its failure, expected and found values, and exchange show.
    let failed =
        regex::Regex::new(r#"<details class="step failed" data-outcome="failed" open="">"#)
            .unwrap();
    assert_eq!(failed.find_iter(&dom).count(), 1, "{dom}");
    for shown in [
        "✗ read the profile",
        "error: `$.plan` is not \"gold\"",
        "✗ read the profile GET http://127.0.0.1:<port>/users/u-42 → 200",
        "✓ status 200",
        "✗ $.plan == \"gold\"",
        "= expected: \"gold\"",
        "=    found: \"silver\"",
        "\"seen_token\": \"••••\"",
        "failed: 3 passed, 1 failed, 1 skipped",
        "passed: 1 passed, 0 failed, 0 skipped",
        "api_key\t••••",
    ] {
        assert!(
            visible.contains(shown),
            "`{shown}` is not visible:\n{visible}"
        );
    }
    // Passed steps are closed: their summary line shows, their exchange does not.
    assert!(visible.contains("✓ get a token"), "{visible}");
    assert!(visible.contains("– never sent"), "{visible}");
    assert!(
        !visible.contains("grant_type=client_credentials"),
        "a passed step's exchange is visible:\n{visible}"
    );
}

// ---------------------------------------------------------------------------------------------
// --curl

fn secrets_server() -> Server {
    Server::start(|request: &Recorded| match request.path.as_str() {
        "/token" => Reply::json(200, &json!({ "access_token": TOKEN })),
        _ => Reply::json(200, &json!({ "saved": true })),
    })
}

fn curl_lines(show_secrets: bool) -> (Vec<String>, Output, u16) {
    let server = secrets_server();
    let mut command = apiflow(&["run", "tests/fixtures/secrets.yaml", "--curl"]);
    command
        .arg("--var")
        .arg(format!("base_url={}", server.url))
        .arg("--var")
        .arg(format!("api_key={KEY}"));
    if show_secrets {
        command.arg("--show-secrets");
    }
    let out = output(&mut command, &[(server.port, "<port>")]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let lines = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("    $ "))
        .map(str::to_owned)
        .collect();
    (lines, out, server.port)
}

#[test]
fn curl_commands_are_masked() {
    let (lines, out, _) = curl_lines(false);
    assert_no_secret("the output", &out.stdout);
    assert_eq!(
        lines,
        [
            "curl -X POST 'http://127.0.0.1:<port>/token?key=••••' -H 'x-api-key: ••••' \
             -H 'authorization: Basic ••••' -H 'content-type: application/x-www-form-urlencoded' \
             --data-binary 'grant_type=client_credentials&assertion=••••'",
            "curl -X POST http://127.0.0.1:<port>/data -H 'authorization: Bearer ••••' \
             -H 'content-type: application/json' --data-binary '{\"key\":\"••••\",\"nested\":{\"again\":\"••••\"}}'",
        ]
    );
}

#[test]
fn show_secrets_puts_the_real_values_in_curl_commands_only() {
    let (lines, out, _) = curl_lines(true);
    let basic = STANDARD.encode(format!("app-1:{KEY}"));
    assert_eq!(
        lines,
        [
            format!(
                "curl -X POST 'http://127.0.0.1:<port>/token?key=k3y+Sup3r%2Fs3cret%2B%3D' \
                 -H 'x-api-key: {KEY}' -H 'authorization: Basic {basic}' \
                 -H 'content-type: application/x-www-form-urlencoded' \
                 --data-binary 'grant_type=client_credentials&assertion=k3y+Sup3r%2Fs3cret%2B%3D'"
            ),
            format!(
                "curl -X POST http://127.0.0.1:<port>/data -H 'authorization: Bearer {TOKEN}' \
                 -H 'content-type: application/json' \
                 --data-binary '{{\"key\":\"{KEY}\",\"nested\":{{\"again\":\"{KEY}\"}}}}'"
            ),
        ]
    );
    // Everything else stays masked.
    let rest: String = out
        .stdout
        .lines()
        .filter(|l| !l.starts_with("    $ "))
        .collect::<Vec<_>>()
        .join("\n");
    assert_no_secret("the lines other than curl commands", &rest);
    assert!(rest.contains("?key=••••"), "{rest}");
}

#[test]
fn show_secrets_without_curl_is_a_usage_error() {
    let out = output(
        &mut apiflow(&["run", "tests/fixtures/passing.yaml", "--show-secrets"]),
        &[],
    );
    assert_eq!(out.code, 2);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr
            .starts_with("error: the following required arguments were not provided:\n  --curl\n"),
        "{}",
        out.stderr
    );
}
