//! Load-run metrics through the real binary: the JSON report's `load` object (histograms,
//! counts, errors by kind, time series), thresholds and their exit codes, and `report merge`.

use crate::support;

use serde_json::Value;
use support::bin::{TempDir, apiflow, output};
use support::{Server, TOKEN_AND_READ as FLOW, token_and_read_server as server};

fn write(dir: &TempDir, name: &str, text: &str) -> String {
    let path = dir.file(name);
    std::fs::write(&path, text).expect("write");
    path
}

/// Checks a JSON report against its documented schema.
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

fn read_json(path: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("the report")).expect("JSON")
}

/// Runs the flow `iterations` times with extra arguments; returns the exit code, stdout and
/// the JSON report's `load` object.
fn run(dir: &TempDir, server: &Server, iterations: &str, extra: &[&str]) -> (i32, String, Value) {
    let flow = write(dir, "flow.yaml", FLOW);
    let report = dir.file(&format!(
        "report-{}.json",
        dir.0.read_dir().map_or(0, Iterator::count)
    ));
    let base = format!("base_url={}", server.url);
    let json = format!("json={report}");
    let mut args = vec![
        "run",
        &flow,
        "--var",
        &base,
        "--iterations",
        iterations,
        "--concurrency",
        "3",
        "--report",
        &json,
    ];
    args.extend_from_slice(extra);
    let out = output(&mut apiflow(&args), &[(server.port, "<port>")]);
    let load = std::fs::read_to_string(&report)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .map_or(Value::Null, |mut v| {
            assert_valid(&v);
            v["load"].take()
        });
    (out.code, format!("{}{}", out.stdout, out.stderr), load)
}

#[test]
fn an_iterated_run_reports_histograms_counts_errors_and_series() {
    let server = server(4);
    let dir = TempDir::new("load-object");
    let (code, out, load) = run(&dir, &server, "12", &[]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(load["workflow"]["name"], "token and read");
    assert_eq!(
        load["counts"],
        serde_json::json!({ "requests": 24, "iterations": 12, "passed": 9, "failed": 3 })
    );
    assert_eq!(load["errors"], serde_json::json!({ "check": 3 }));
    assert_eq!(load["latency"]["count"], 24);
    let steps: Vec<(&str, u64)> = load["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or(""),
                s["latency"]["count"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(steps, [("get a token", 12), ("read", 12)]);
    let histograms = &load["histograms"];
    assert_eq!(histograms["unit"], "us");
    for histogram in [&histograms["overall"], &histograms["steps"]["read"]] {
        assert!(
            histogram.as_str().is_some_and(|h| h.starts_with("HISTF")),
            "{histogram}"
        );
    }
    let series = load["series"].as_array().expect("series");
    let requests: u64 = series.iter().filter_map(|s| s["requests"].as_u64()).sum();
    let errors: u64 = series.iter().filter_map(|s| s["errors"].as_u64()).sum();
    assert_eq!((requests, errors), (24, 3));
    assert!(load["started"].as_str().is_some_and(|s| s.ends_with('Z')));
    assert!(load["ended"].as_str().is_some_and(|s| s.ends_with('Z')));
}

#[test]
fn transport_errors_are_counted_by_kind() {
    let dead = support::closed_port();
    let dir = TempDir::new("load-transport");
    let flow = write(&dir, "flow.yaml", FLOW);
    let report = dir.file("report.json");
    let base = format!("base_url=http://127.0.0.1:{dead}");
    let json = format!("json={report}");
    let out = output(
        &mut apiflow(&[
            "run",
            &flow,
            "--var",
            &base,
            "--iterations",
            "3",
            "--report",
            &json,
        ]),
        &[],
    );
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    let load = &read_json(&report)["load"];
    assert_eq!(load["errors"], serde_json::json!({ "connect": 3 }));
    assert_eq!(load["counts"]["failed"], 3);
}
