//! Thresholds on load runs through the real binary: each kind passing and failing, per step,
//! the exit codes, the terminal summary, the JSON and JUnit reports, malformed ones located,
//! `--abort-on-threshold`, and the workflow's `load:` key with the flags over it.

use crate::support;

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;
use support::bin::{TempDir, apiflow, output};
use support::{Reply, Server, TOKEN_AND_READ as FLOW, token_and_read_server as server};

/// What a run gave: exit code, stdout and stderr, the JSON report's `load` object and the JUnit
/// report.
struct Ran {
    code: i32,
    out: String,
    load: Value,
    junit: String,
}

/// Runs `flow` (a file name in `dir`, written from `text`) against `server` with `args`, writing
/// a JSON and a JUnit report.
fn run_flow(dir: &TempDir, text: &str, server: &Server, args: &[&str]) -> Ran {
    let flow = dir.file("flow.yaml");
    std::fs::write(&flow, text).expect("written");
    let (json, junit) = (dir.file("report.json"), dir.file("report.xml"));
    let _ = std::fs::remove_file(&json);
    let _ = std::fs::remove_file(&junit);
    let base = format!("base_url={}", server.url);
    let (json_flag, junit_flag) = (format!("json={json}"), format!("junit={junit}"));
    let mut all = vec![
        "run",
        &flow,
        "--var",
        &base,
        "--report",
        &json_flag,
        "--report",
        &junit_flag,
    ];
    all.extend_from_slice(args);
    let out = output(&mut apiflow(&all), &[(server.port, "<port>")]);
    let load = std::fs::read_to_string(&json)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .map_or(Value::Null, |mut v| {
            assert_valid(&v);
            v["load"].take()
        });
    Ran {
        code: out.code,
        out: format!("{}{}", out.stdout, out.stderr),
        load,
        junit: std::fs::read_to_string(&junit).unwrap_or_default(),
    }
}

/// Checks a JSON report against its documented schema, `load.thresholds` included.
fn assert_valid(report: &Value) {
    let path = format!("{}/docs/report.schema.json", support::ROOT);
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("the schema")).expect("JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let errors: Vec<String> = validator
        .iter_errors(report)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

fn run(dir: &TempDir, server: &Server, args: &[&str]) -> Ran {
    run_flow(dir, FLOW, server, args)
}

/// Adds `--threshold` before each threshold.
fn flags<'a>(thresholds: &[&'a str]) -> Vec<&'a str> {
    thresholds
        .iter()
        .flat_map(|t| ["--threshold", *t])
        .collect()
}

/// The `(threshold, step, passed)` of each entry of `load.thresholds`.
fn verdicts(load: &Value) -> Vec<(String, Value, bool)> {
    load["thresholds"]
        .as_array()
        .unwrap_or_else(|| panic!("no thresholds in {load}"))
        .iter()
        .map(|v| {
            (
                v["threshold"].as_str().unwrap_or_default().to_owned(),
                v["step"].clone(),
                v["passed"].as_bool().unwrap_or_default(),
            )
        })
        .collect()
}

/// The summary's threshold lines, values removed: `✓ p99<1h (p99 …)`.
fn threshold_lines(out: &str) -> Vec<String> {
    let value = regex::Regex::new(r"\((\S+) [^)]*\)$").expect("a regex");
    out.lines()
        .skip_while(|l| l.trim() != "thresholds")
        .skip(1)
        .take_while(|l| l.starts_with("  ✓") || l.starts_with("  ✗"))
        .map(|l| value.replace(l.trim(), "($1 …)").into_owned())
        .collect()
}

#[test]
fn every_kind_passes_with_a_generous_limit() {
    let server = server(0);
    let dir = TempDir::new("thresholds-pass");
    let thresholds = [
        "p50<1h",
        "p90<1h",
        "p95<=1h",
        "p99<1h",
        "max<1h",
        "mean<1h",
        "errors<1%",
        "rps>0",
    ];
    let mut args = vec!["--iterations", "6", "--concurrency", "2"];
    args.extend(flags(&thresholds));
    let ran = run(&dir, &server, &args);
    assert_eq!(ran.code, 0, "{}", ran.out);
    assert_eq!(
        threshold_lines(&ran.out),
        [
            "✓ p50<1h (p50 …)",
            "✓ p90<1h (p90 …)",
            "✓ p95<=1h (p95 …)",
            "✓ p99<1h (p99 …)",
            "✓ max<1h (max …)",
            "✓ mean<1h (mean …)",
            "✓ errors<1% (errors …)",
            "✓ rps>0 (rps …)",
        ],
        "{}",
        ran.out
    );
    assert!(
        ran.out.contains("✓ errors<1% (errors 0.00%)"),
        "{}",
        ran.out
    );
    let expected: Vec<(String, Value, bool)> = thresholds
        .iter()
        .map(|t| ((*t).to_owned(), Value::Null, true))
        .collect();
    assert_eq!(verdicts(&ran.load), expected);
    assert!(
        ran.load["thresholds"][0]["actual"]
            .as_str()
            .is_some_and(|a| a.starts_with("p50 ")),
        "{}",
        ran.load["thresholds"]
    );
    // One testcase per threshold, none failed.
    assert!(
        ran.junit
            .contains("name=\"thresholds: token and read\" id=\"6\" tests=\"8\" failures=\"0\""),
        "{}",
        ran.junit
    );
    assert!(
        ran.junit
            .contains("<testcase name=\"p95&lt;=1h\" classname=\"thresholds: token and read\" time=\"0.000\"/>"),
        "{}",
        ran.junit
    );
    assert!(!ran.junit.contains("type=\"threshold\""), "{}", ran.junit);
    valid_junit(&dir, &ran.junit);
}

/// Checks a JUnit report against the JUnit schema the other reports are checked against.
fn valid_junit(dir: &TempDir, junit: &str) {
    let path = dir.0.join("checked.xml");
    std::fs::write(&path, junit).expect("written");
    if let Some(result) = crate::reports::xmllint(crate::reports::JUNIT_XSD, &path) {
        result.unwrap_or_else(|e| panic!("{e}\n{junit}"));
    }
}

#[test]
fn every_latency_kind_and_the_rate_fail_with_an_impossible_limit() {
    let server = server(0);
    let dir = TempDir::new("thresholds-fail");
    let thresholds = [
        "p50<1us",
        "p90<1us",
        "p95<1us",
        "p99<1us",
        "max<1us",
        "mean<1us",
        "rps>1000000000",
    ];
    let mut args = vec!["--iterations", "4"];
    args.extend(flags(&thresholds));
    let ran = run(&dir, &server, &args);
    // Every iteration passed; the thresholds fail the run.
    assert_eq!(ran.code, 1, "{}", ran.out);
    assert!(
        ran.out
            .contains("✗ token and read: 4 iterations, 4 passed, 0 failed"),
        "{}",
        ran.out
    );
    assert_eq!(
        threshold_lines(&ran.out),
        [
            "✗ p50<1us (p50 …)",
            "✗ p90<1us (p90 …)",
            "✗ p95<1us (p95 …)",
            "✗ p99<1us (p99 …)",
            "✗ max<1us (max …)",
            "✗ mean<1us (mean …)",
            "✗ rps>1000000000 (rps …)",
        ],
        "{}",
        ran.out
    );
    assert!(
        verdicts(&ran.load).iter().all(|(_, _, passed)| !passed),
        "{}",
        ran.load["thresholds"]
    );
    assert!(
        ran.junit
            .contains("name=\"thresholds: token and read\" id=\"4\" tests=\"7\" failures=\"7\""),
        "{}",
        ran.junit
    );
    assert!(
        ran.junit
            .contains("<failure message=\"threshold `rps&gt;1000000000` failed: rps "),
        "{}",
        ran.junit
    );
    valid_junit(&dir, &ran.junit);
}

#[test]
fn errors_are_the_percent_of_failed_iterations() {
    // Every second `/item` fails: 5 of 10 iterations, whatever their order.
    let server = server(2);
    let dir = TempDir::new("thresholds-errors");
    let mut args = vec!["--iterations", "10", "--concurrency", "3"];
    args.extend(flags(&["errors<50%", "errors<=50%", "errors<1%"]));
    let ran = run(&dir, &server, &args);
    assert_eq!(ran.code, 1, "{}", ran.out);
    let lines: Vec<&str> = ran
        .out
        .lines()
        .skip_while(|l| l.trim() != "thresholds")
        .skip(1)
        .collect();
    assert_eq!(
        lines,
        [
            "  ✗ errors<50% (errors 50.00%)",
            "  ✓ errors<=50% (errors 50.00%)",
            "  ✗ errors<1% (errors 50.00%)",
        ],
        "{}",
        ran.out
    );
    let actual: Vec<&str> = ran.load["thresholds"]
        .as_array()
        .expect("thresholds")
        .iter()
        .filter_map(|t| t["actual"].as_str())
        .collect();
    assert_eq!(actual, ["errors 50.00%"; 3]);
}

#[test]
fn a_steps_threshold_is_checked_on_that_steps_latencies() {
    let server = server(0);
    let dir = TempDir::new("thresholds-step");
    let mut args = vec!["--iterations", "3"];
    args.extend(flags(&["step=get a token:p99<1h", "step=read:max<1us"]));
    let ran = run(&dir, &server, &args);
    assert_eq!(ran.code, 1, "{}", ran.out);
    assert_eq!(
        threshold_lines(&ran.out),
        [
            "✓ step=get a token:p99<1h (p99 …)",
            "✗ step=read:max<1us (max …)"
        ],
        "{}",
        ran.out
    );
    assert_eq!(
        verdicts(&ran.load),
        [
            (
                "step=get a token:p99<1h".to_owned(),
                Value::from("get a token"),
                true
            ),
            ("step=read:max<1us".to_owned(), Value::from("read"), false),
        ]
    );
}

#[test]
fn malformed_thresholds_are_located_in_the_flag_before_anything_is_sent() {
    let server = server(0);
    let dir = TempDir::new("thresholds-malformed");
    let cases: &[(&str, &[&str])] = &[
        (
            "syntax",
            &[
                "--iterations",
                "3",
                "--threshold",
                "p96<1s",
                "--threshold",
                "p95<300",
                "--threshold",
                "errors<1",
                "--threshold",
                "rps>fast",
                "--threshold",
                "p95=1s",
                "--threshold",
                "step=read:rps>5",
                "--threshold",
                "p99<1d",
            ],
        ),
        (
            "unknown_step",
            &[
                "--iterations",
                "3",
                "--threshold",
                "step=get a tokn:p99<50ms",
            ],
        ),
        ("without_a_load_run", &["--threshold", "p95<1s"]),
        (
            "abort_without_a_threshold",
            &["--iterations", "3", "--abort-on-threshold"],
        ),
    ];
    let mut text = String::new();
    for (name, args) in cases {
        let ran = run(&dir, &server, args);
        let _ = write!(
            text,
            "## {name}: {}\nexit: {}\n{}\n",
            args.join(" "),
            ran.code,
            ran.out
        );
    }
    assert!(server.requests().is_empty(), "nothing is sent");
    insta::assert_snapshot!(text);
}

#[test]
fn abort_on_threshold_stops_the_run_once_a_threshold_cannot_pass() {
    // Every `/item` fails: after the first iteration, more than 1% of the 50 planned failed.
    let server = server(1);
    let dir = TempDir::new("thresholds-abort");
    let ran = run(
        &dir,
        &server,
        &[
            "--iterations",
            "50",
            "--threshold",
            "errors<1%",
            "--threshold",
            "p99<1h",
            "--abort-on-threshold",
        ],
    );
    assert_eq!(ran.code, 1, "{}", ran.out);
    let items = server
        .requests()
        .iter()
        .filter(|r| r.path == "/item")
        .count();
    assert!(items < 50, "{items} iterations ran of 50 planned");
    assert!(
        ran.out.contains(
            "  stopped early: threshold `errors<1%` can no longer pass (errors 100.00%)\n"
        ),
        "{}",
        ran.out
    );
    assert_eq!(
        threshold_lines(&ran.out),
        ["✗ errors<1% (errors …)", "✓ p99<1h (p99 …)"],
        "{}",
        ran.out
    );
    assert_eq!(ran.load["counts"]["iterations"], items);
}

#[test]
fn without_abort_on_threshold_every_iteration_runs() {
    let server = server(1);
    let dir = TempDir::new("thresholds-no-abort");
    let ran = run(
        &dir,
        &server,
        &["--iterations", "5", "--threshold", "errors<1%"],
    );
    assert_eq!(ran.code, 1, "{}", ran.out);
    assert_eq!(
        server
            .requests()
            .iter()
            .filter(|r| r.path == "/item")
            .count(),
        5
    );
}

#[test]
fn no_secret_reaches_the_summary_or_the_reports_of_a_run_with_thresholds() {
    const SECRET: &str = "s3cr3t-threshold-value";
    let seen = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&seen);
    let server = Server::start(move |request| {
        if request.header("authorization") == Some(&format!("Bearer {SECRET}")) {
            count.fetch_add(1, Ordering::SeqCst);
        }
        Reply::status(500).body(&format!("{{\"token\": \"{SECRET}\"}}"))
    });
    let dir = TempDir::new("thresholds-secret");
    let flow = "name: secret
inputs:
  base_url: ~
  api_key: { secret: true }
steps:
  - name: call
    request:
      url: \"{{ base_url }}/x\"
      headers: { authorization: \"Bearer {{ api_key }}\" }
    expect: { status: 200 }
";
    let key = format!("api_key={SECRET}");
    let ran = run_flow(
        &dir,
        flow,
        &server,
        &[
            "--var",
            &key,
            "--iterations",
            "3",
            "--threshold",
            "step=call:p99<1us",
            "--threshold",
            "errors<1%",
            "--abort-on-threshold",
        ],
    );
    assert_eq!(ran.code, 1, "{}", ran.out);
    assert!(seen.load(Ordering::SeqCst) > 0, "the secret was sent");
    for (what, text) in [
        ("output", ran.out.clone()),
        ("JSON", ran.load.to_string()),
        ("JUnit", ran.junit.clone()),
    ] {
        assert!(
            !text.contains(SECRET),
            "the {what} shows the secret:\n{text}"
        );
    }
}

/// The flow with a `load:` key: 4 iterations, 2 at once, a threshold that passes and one that
/// cannot.
const LOAD_FLOW: &str = "name: token and read
inputs:
  base_url: ~
load:
  iterations: 4
  concurrency: 2
  thresholds:
    - p99<1h
    - \"step=read:max<1us\"
steps:
  - name: get a token
    request: { method: POST, url: \"{{ base_url }}/token\" }
    expect: { status: 200 }
  - name: read
    request: { url: \"{{ base_url }}/item\" }
    expect: { status: 200 }
";

fn items(server: &Server) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.path == "/item")
        .count()
}

#[test]
fn a_workflow_with_a_load_key_runs_its_load_test() {
    let server = server(0);
    let dir = TempDir::new("thresholds-load-key");
    let ran = run_flow(&dir, LOAD_FLOW, &server, &[]);
    assert_eq!(ran.code, 1, "{}", ran.out);
    assert_eq!(items(&server), 4);
    assert!(
        ran.out
            .contains("✗ token and read: 4 iterations, 4 passed, 0 failed in <t> (concurrency 2)")
            || ran.out.contains("4 iterations, 4 passed, 0 failed in "),
        "{}",
        ran.out
    );
    assert!(ran.out.contains("(concurrency 2)\n"), "{}", ran.out);
    assert_eq!(
        threshold_lines(&ran.out),
        ["✓ p99<1h (p99 …)", "✗ step=read:max<1us (max …)"],
        "{}",
        ran.out
    );
    assert_eq!(
        verdicts(&ran.load),
        [
            ("p99<1h".to_owned(), Value::Null, true),
            ("step=read:max<1us".to_owned(), Value::from("read"), false),
        ]
    );
}

#[test]
fn flags_go_over_the_load_key_field_by_field() {
    let server = server(0);
    let dir = TempDir::new("thresholds-load-override");
    // `--iterations` goes over `iterations`, `--threshold` replaces the thresholds, and the
    // workflow's concurrency stays.
    let ran = run_flow(
        &dir,
        LOAD_FLOW,
        &server,
        &["--iterations", "3", "--threshold", "errors<1%"],
    );
    assert_eq!(ran.code, 0, "{}", ran.out);
    assert_eq!(items(&server), 3);
    assert!(ran.out.contains("(concurrency 2)\n"), "{}", ran.out);
    assert_eq!(threshold_lines(&ran.out), ["✓ errors<1% (errors …)"]);
    // `--concurrency` goes over `concurrency`; the workflow's thresholds stay.
    let ran = run_flow(&dir, LOAD_FLOW, &server, &["--concurrency", "1"]);
    assert_eq!(ran.code, 1, "{}", ran.out);
    assert_eq!(items(&server), 3 + 4);
    assert!(ran.out.contains("(concurrency 1)\n"), "{}", ran.out);
    assert_eq!(threshold_lines(&ran.out).len(), 2, "{}", ran.out);
}

#[test]
fn no_load_runs_a_workflow_with_a_load_key_once() {
    let server = server(0);
    let dir = TempDir::new("thresholds-no-load");
    let ran = run_flow(&dir, LOAD_FLOW, &server, &["--no-load"]);
    assert_eq!(ran.code, 0, "{}", ran.out);
    assert_eq!(items(&server), 1);
    assert!(!ran.out.contains("\n  thresholds\n"), "{}", ran.out);
    assert_eq!(ran.load, Value::Null);
}

#[test]
fn abort_on_threshold_stops_on_the_load_keys_thresholds() {
    let server = server(1);
    let dir = TempDir::new("thresholds-load-abort");
    let flow = LOAD_FLOW
        .replace("iterations: 4", "iterations: 40")
        .replace("concurrency: 2", "concurrency: 1")
        .replace("    - p99<1h\n", "    - errors<=2%\n");
    let ran = run_flow(&dir, &flow, &server, &["--abort-on-threshold"]);
    assert_eq!(ran.code, 1, "{}", ran.out);
    assert!(items(&server) < 40, "{} iterations ran", items(&server));
    assert!(
        ran.out
            .contains("stopped early: threshold `errors<=2%` can no longer pass"),
        "{}",
        ran.out
    );
}

#[test]
fn plan_shows_the_load_settings() {
    let dir = TempDir::new("thresholds-plan");
    let flow = dir.file("flow.yaml");
    // Stages as text, or as mappings as a k6 user would write them, plan alike.
    for stages in [
        "[\"1s:5/s\", \"2s:0/s\"]",
        "[{ duration: 1s, rate: 5/s }, { rate: 0/s, duration: 2s }]",
    ] {
        std::fs::write(
            &flow,
            LOAD_FLOW
                .replace(
                    "  concurrency: 2\n",
                    &format!("  concurrency: 2\n  stages: {stages}\n"),
                )
                .replace("  iterations: 4\n", ""),
        )
        .expect("written");
        let out = output(&mut apiflow(&["plan", &flow]), &[]);
        assert_eq!(out.code, 0, "{stages}: {}", out.stderr);
        let load: Vec<&str> = out
            .stdout
            .lines()
            .skip_while(|l| !l.starts_with("load"))
            .take_while(|l| !l.is_empty())
            .collect();
        assert_eq!(
            load,
            [
                "load (`apiflow run` runs it; `--no-load` runs once)",
                "  concurrency = 2",
                "  stages      = 1s:5/s, 2s:0/s",
                "  thresholds  = p99<1h, step=read:max<1us",
            ],
            "{stages}"
        );
    }
}

#[test]
fn mistakes_under_the_load_key_are_located_in_the_workflow() {
    let server = server(0);
    let dir = TempDir::new("thresholds-load-malformed");
    let cases: &[(&str, &str)] = &[
        (
            "keys",
            "load:
  iterations: 0
  concurency: 2
  duration: 10
  rate: 5/h
",
        ),
        (
            "thresholds",
            "load:
  iterations: 3
  thresholds:
    - p95<300ms
    - \"p96<1s\"
    - 'step=get a tokn:p99<1s'
    - errors<1
    - 5
",
        ),
        (
            "profiles",
            "load:
  iterations: 3
  duration: 1s
  stages: [30s:5/s, \"1m\"]
",
        ),
        (
            "stage_fields",
            "load:
  stages:
    - { duration: 30s, target: 50 }
    - { duration: 1x, rate: 5/s }
    - { rate: 5/s, ramp: true }
",
        ),
        (
            "rate_without_duration",
            "load:
  rate: 5/s
  thresholds: p95<1s
",
        ),
    ];
    let mut text = String::new();
    for (name, load) in cases {
        let flow = FLOW.replacen("steps:\n", &format!("{load}steps:\n"), 1);
        let ran = run_flow(&dir, &flow, &server, &[]);
        let path = dir.file("flow.yaml");
        let _ = write!(
            text,
            "## {name}\nexit: {}\n{}\n",
            ran.code,
            ran.out.replace(&path, "flow.yaml")
        );
    }
    assert!(server.requests().is_empty(), "nothing is sent");
    insta::assert_snapshot!(text);
}

#[test]
fn shard_splits_the_iterations_of_a_workflow_whose_load_key_makes_it_a_load_run() {
    let server = server(0);
    let dir = TempDir::new("thresholds-load-shard");
    let flow = LOAD_FLOW.replace("    - \"step=read:max<1us\"\n", "");
    let ran = run_flow(&dir, &flow, &server, &["--shard", "2/2"]);
    assert_eq!(ran.code, 0, "{}", ran.out);
    // Iterations 2 and 4 of the 4 the key plans.
    assert_eq!(items(&server), 2);
    assert_eq!(ran.load["counts"]["iterations"], 2);
}

#[test]
fn a_threshold_on_a_step_that_runs_other_steps_is_refused() {
    let server = server(0);
    let dir = TempDir::new("thresholds-composite");
    let flow = "name: each item
inputs:
  base_url: ~
load:
  iterations: 2
  thresholds: [\"step=read each:p95<1s\"]
steps:
  - name: read each
    for_each: \"[1, 2]\"
    request: { url: \"{{ base_url }}/item\" }
";
    let from_file = run_flow(&dir, flow, &server, &[]);
    let from_flag = run_flow(
        &dir,
        &flow.replace("  thresholds: [\"step=read each:p95<1s\"]\n", ""),
        &server,
        &["--threshold", "step=read each:p99<1s"],
    );
    let path = dir.file("flow.yaml");
    let text = format!(
        "## load.thresholds\nexit: {}\n{}\n## --threshold\nexit: {}\n{}",
        from_file.code,
        from_file.out.replace(&path, "flow.yaml"),
        from_flag.code,
        from_flag.out
    );
    assert!(server.requests().is_empty(), "nothing is sent");
    insta::assert_snapshot!(text);
}

#[test]
fn the_load_keys_iterations_go_past_the_data_rows_as_iterations_would() {
    let rows = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&rows);
    let server = Server::start(move |request| {
        seen.lock().expect("the rows").push(request.path.clone());
        Reply::status(200)
    });
    let dir = TempDir::new("thresholds-load-data");
    let data = dir.file("rows.csv");
    std::fs::write(&data, "n\na\nb\n").expect("written");
    let flow = "name: rows
inputs:
  base_url: ~
  n: ~
load: { iterations: 4 }
steps:
  - name: hit
    request: { url: \"{{ base_url }}/{{ n }}\" }
";
    let ran = run_flow(&dir, flow, &server, &["--data", &data]);
    assert_eq!(ran.code, 0, "{}", ran.out);
    let mut paths = rows.lock().expect("the rows").clone();
    paths.sort();
    assert_eq!(paths, ["/a", "/b", "/b", "/b"]);
}

#[test]
fn a_threshold_names_a_step_of_a_used_workflow() {
    // The load metrics count a `uses` step's requests under the names of the steps it runs, so
    // a threshold may name one of those, in the workflow's `load:` key or in a flag; a name no
    // step has is located before anything is sent, with the used steps among the suggestions.
    let server = server(0);
    let dir = TempDir::new("thresholds-uses");
    std::fs::write(dir.file("sub.yaml"), FLOW).expect("written");
    let caller = |threshold: &str| {
        format!(
            "name: caller
inputs:
  base_url: ~
load:
  iterations: 3
  thresholds: ['{threshold}']
steps:
  - name: use it
    uses: sub.yaml
    with: {{ base_url: \"{{{{ base_url }}}}\" }}
"
        )
    };
    let ran = run_flow(&dir, &caller("step=read:p99<1h"), &server, &[]);
    assert_eq!(ran.code, 0, "{}", ran.out);
    let verdict = &ran.load["thresholds"][0];
    assert_eq!(
        (&verdict["threshold"], &verdict["step"], &verdict["passed"]),
        (
            &Value::from("step=read:p99<1h"),
            &Value::from("read"),
            &Value::from(true)
        ),
        "{verdict}"
    );
    assert!(
        verdict["actual"]
            .as_str()
            .is_some_and(|a| a.starts_with("p99 ")),
        "{verdict}"
    );
    let flag = run_flow(
        &dir,
        &caller("p99<1h"),
        &server,
        &["--threshold", "step=get a token:max<1h"],
    );
    assert_eq!(flag.code, 0, "{}", flag.out);
    assert_eq!(flag.load["thresholds"][0]["step"], "get a token");
    let sent = server.requests().len();
    let wrong = run_flow(&dir, &caller("step=reads:p99<1h"), &server, &[]);
    assert_eq!(wrong.code, 2, "{}", wrong.out);
    assert_eq!(server.requests().len(), sent, "nothing is sent");
    assert!(
        wrong
            .out
            .contains("error: unknown step `reads` in a threshold")
            && wrong.out.contains("flow.yaml:6:")
            && wrong.out.contains("did you mean `read`?"),
        "{}",
        wrong.out
    );
}
