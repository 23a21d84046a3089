//! `apiflow report merge` through the real binary: N processes each running a shard of one
//! load test (`--shard I/N`) against an in-process server, their JSON reports merged and
//! compared with one process running it all and with the histograms added here; thresholds
//! checked again on the whole; partial merges; bad inputs refused naming the file.

use crate::support;

use std::fmt::Write as _;

use apiflow::load::metrics::Metrics;
use serde_json::{Value, json};
use support::bin::{Output, TempDir, apiflow, output};
use support::{Reply, Server};

const FLOW: &str = "name: token and read
inputs:
  base_url: ~
  n: { default: none }
steps:
  - name: get a token
    request: { method: POST, url: \"{{ base_url }}/token\" }
    expect: { status: 200 }
  - name: read
    request: { url: \"{{ base_url }}/item/{{ n }}\" }
    expect: { status: 200 }
";

/// A server whose `/item/N` fails for each N of `failing`.
fn server(failing: &'static [&'static str]) -> Server {
    Server::start(move |request| {
        if request.path == "/token" {
            return Reply::status(200);
        }
        match request.path.strip_prefix("/item/") {
            Some(n) if failing.contains(&n) => Reply::status(500),
            Some(_) => Reply::status(200),
            None => Reply::status(404),
        }
    })
}

/// A temporary directory with the flow and `rows` data rows `n` = 0, 1, ….
fn setup(name: &str, rows: usize) -> TempDir {
    let dir = TempDir::new(name);
    std::fs::write(dir.file("flow.yaml"), FLOW).expect("written");
    let rows: Vec<String> = (0..rows).map(|n| n.to_string()).collect();
    std::fs::write(dir.file("rows.csv"), format!("n\n{}\n", rows.join("\n"))).expect("written");
    dir
}

/// Runs the binary in `dir`, without any inherited shard variable.
fn run_in(dir: &TempDir, args: &[&str]) -> Output {
    let mut command = apiflow(args);
    command.current_dir(&dir.0);
    for name in [
        "APIFLOW_SHARD",
        "APIFLOW_SHARD_COUNT",
        "JOB_COMPLETION_INDEX",
        "CI_NODE_INDEX",
        "CI_NODE_TOTAL",
    ] {
        command.env_remove(name);
    }
    output(&mut command, &[])
}

/// Runs the flow over the data rows, as shard `shard` (or whole), writing `report`.
fn load_run(
    dir: &TempDir,
    server: &Server,
    shard: Option<&str>,
    report: &str,
    extra: &[&str],
) -> Output {
    let base = format!("base_url={}", server.url);
    let json = format!("json={report}");
    let mut args = vec![
        "run",
        "flow.yaml",
        "--var",
        &base,
        "--data",
        "rows.csv",
        "-c",
        "2",
        "--report",
        &json,
    ];
    if let Some(shard) = shard {
        args.extend(["--shard", shard]);
    }
    args.extend_from_slice(extra);
    run_in(dir, &args)
}

fn read_json(dir: &TempDir, name: &str) -> Value {
    let text = std::fs::read_to_string(dir.file(name)).expect("the report");
    serde_json::from_str(&text).expect("JSON")
}

fn write_json(dir: &TempDir, name: &str, value: &Value) {
    let text = serde_json::to_string_pretty(value).expect("JSON");
    std::fs::write(dir.file(name), text).expect("written");
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

/// Each step's name and run count.
fn step_counts(load: &Value) -> Vec<(String, u64)> {
    load["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or("").to_owned(),
                s["latency"]["count"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// The `n` of each `/item/N` request the server received from `from` on, sorted.
fn rows_seen(server: &Server, from: usize) -> Vec<u32> {
    let mut seen: Vec<u32> = server.requests()[from..]
        .iter()
        .filter_map(|r| r.path.strip_prefix("/item/")?.parse().ok())
        .collect();
    seen.sort_unstable();
    seen
}

#[test]
fn shards_merged_count_what_one_process_counts_with_the_histograms_added() {
    const ROWS: usize = 30;
    let server = server(&[]);
    let dir = setup("merge-shards", ROWS);
    let single = load_run(&dir, &server, None, "single.json", &[]);
    assert_eq!(single.code, 0, "{single:?}");
    let from = server.requests().len();
    for index in 1..=3 {
        let out = load_run(
            &dir,
            &server,
            Some(&format!("{index}/3")),
            &format!("shard-{index}.json"),
            &[],
        );
        assert_eq!(out.code, 0, "{out:?}");
    }
    // Each row ran exactly once over the three processes.
    let all: Vec<u32> = (0..u32::try_from(ROWS).expect("small")).collect();
    assert_eq!(rows_seen(&server, from), all);

    let out = run_in(
        &dir,
        &[
            "report",
            "merge",
            "shard-1.json",
            "shard-2.json",
            "shard-3.json",
            "--report",
            "json=merged.json",
            "--report",
            "junit=merged.xml",
            "--report",
            "html=merged.html",
            "--report",
            "markdown=merged.md",
            "--threshold",
            "step=read:p99<60s",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stderr, "");
    assert!(
        out.stdout
            .starts_with("✓ token and read: 30 iterations, 30 passed, 0 failed in ")
            && out
                .stdout
                .contains(" (merged from 3 reports: every shard of 3)\n  60 requests, "),
        "{}",
        out.stdout
    );
    let merged = read_json(&dir, "merged.json");
    assert_valid(&merged);
    let load = &merged["load"];
    let whole = &read_json(&dir, "single.json")["load"];
    // The same requests per step as one process running every row.
    assert_eq!(load["counts"], whole["counts"]);
    assert_eq!(load["errors"], whole["errors"]);
    assert_eq!(step_counts(load), step_counts(whole));
    assert_eq!(
        step_counts(load),
        [("get a token".to_owned(), 30), ("read".to_owned(), 30)]
    );
    assert_eq!(load.get("shard"), None, "every shard: the whole run");
    assert_eq!(merged["workflows"].as_array().map(Vec::len), Some(ROWS));

    // The shards' histograms added here give the merged percentiles exactly: read from the
    // sum, never averaged.
    let mut added: Option<Metrics> = None;
    for index in 1..=3 {
        let shard = read_json(&dir, &format!("shard-{index}.json"));
        assert_eq!(shard["load"]["shard"], format!("{index}/3"));
        let metrics = Metrics::from_json(&shard["load"]).expect("a load object");
        match added.as_mut() {
            None => added = Some(metrics),
            Some(added) => added.add(&metrics).expect("adds"),
        }
    }
    let added = added.expect("three shards").to_json(&[]);
    for key in [
        "counts",
        "latency",
        "steps",
        "histograms",
        "series",
        "started",
        "ended",
    ] {
        assert_eq!(load[key], added[key], "{key}");
    }
    for key in ["p50_ms", "p95_ms", "p99_ms"] {
        assert!(
            load["latency"][key].as_f64().is_some_and(|v| v > 0.0),
            "{key}"
        );
    }
    let series: u64 = load["series"]
        .as_array()
        .expect("series")
        .iter()
        .filter_map(|s| s["requests"].as_u64())
        .sum();
    assert_eq!(series, 60);

    let junit = std::fs::read_to_string(dir.file("merged.xml")).expect("JUnit");
    assert!(
        junit.contains("<testsuites name=\"apiflow\" tests=\"2\" failures=\"0\"")
            && junit.contains("<testcase name=\"step=read:p99&lt;60s\" classname=\"thresholds: token and read\" time=\"0.000\"/>"),
        "{junit}"
    );
    assert!(
        junit.contains("<system-out>0 of 30 iterations failed</system-out>"),
        "{junit}"
    );
    // The HTML and Markdown reports are a load run's, charts included.
    let html = std::fs::read_to_string(dir.file("merged.html")).expect("HTML");
    assert!(
        html.contains("<div class=\"summary passed\"><strong>passed</strong>: 30 iterations (30 passed, 0 failed), 60 requests in ")
            && html.contains("<svg"),
        "{html}"
    );
    let markdown = std::fs::read_to_string(dir.file("merged.md")).expect("Markdown");
    assert!(
        markdown.starts_with("## ✓ Load: token and read"),
        "{markdown}"
    );

    // A merged report is a load report: merged again, alone, it says the same.
    let out = run_in(
        &dir,
        &[
            "report",
            "merge",
            "merged.json",
            "--report",
            "json=again.json",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let again = &read_json(&dir, "again.json")["load"];
    for key in ["counts", "latency", "histograms", "series"] {
        assert_eq!(again[key], load[key], "{key}");
    }

    // Two of three shards merge only when asked, and say what is missing; the partial report
    // then merges with the last shard into the whole.
    let out = run_in(&dir, &["report", "merge", "shard-1.json", "shard-3.json"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("shard 2/3 of the run is missing"),
        "{}",
        out.stderr
    );
    let out = run_in(
        &dir,
        &[
            "report",
            "merge",
            "shard-3.json",
            "shard-1.json",
            "--partial",
            "--report",
            "json=partial.json",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stderr.lines().next(),
        Some("warning: shard 2/3 is missing: the merged report holds shards 1,3/3 only")
    );
    let partial = read_json(&dir, "partial.json");
    assert_valid(&partial);
    assert_eq!(partial["load"]["shard"], "1,3/3");
    assert_eq!(partial["load"]["counts"]["iterations"], 20);
    let out = run_in(
        &dir,
        &[
            "report",
            "merge",
            "partial.json",
            "shard-2.json",
            "--report",
            "json=whole.json",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let rejoined = &read_json(&dir, "whole.json")["load"];
    assert_eq!(rejoined.get("shard"), None);
    for key in ["counts", "latency", "histograms", "series"] {
        assert_eq!(rejoined[key], load[key], "{key}");
    }
}

/// Makes a summary stable: latencies, the rate and the run's duration vary, and so does which
/// step opens a connection (a phase not measured shows `–`).
fn stable(text: &str) -> String {
    let latency = regex::Regex::new(r" +(\d+(\.\d+)?(µs|ms|s)\b|–)").expect("a regex");
    let rate = regex::Regex::new(r"\d+ requests/s").expect("a regex");
    let took = regex::Regex::new(r" in \S+ \(merged").expect("a regex");
    let text = took.replace_all(text, " in <t> (merged");
    let text = rate.replace_all(&text, "<n> requests/s");
    latency.replace_all(&text, " <t>").into_owned()
}

#[test]
fn thresholds_are_checked_again_on_the_merged_metrics() {
    // Shard 1 of 2 runs rows 0, 2 and 4, two of which fail: 66.67% of its iterations; shard 2
    // runs rows 1, 3 and 5, none failing. Together: 2 of 6, 33.33%. `errors<50%` fails on shard
    // 1 and holds on shard 2; shard 2 alone also checks `step=read:p99<60s`.
    let server = server(&["0", "2"]);
    let dir = setup("merge-thresholds", 6);
    for index in 1..=2 {
        let shard = format!("{index}/2");
        let report = format!("shard-{index}.json");
        let mut extra = vec!["--threshold", "errors<50%"];
        if index == 2 {
            extra.extend(["--threshold", "step=read:p99<60s"]);
        }
        let out = load_run(&dir, &server, Some(&shard), &report, &extra);
        assert_eq!(out.code, i32::from(index == 1), "{out:?}");
        let verdict = &read_json(&dir, &report)["load"]["thresholds"][0];
        assert_eq!(verdict["passed"], index == 2, "{verdict}");
    }
    let merge = |extra: &[&str]| {
        let mut args = vec!["report", "merge", "shard-1.json", "shard-2.json"];
        args.extend_from_slice(extra);
        run_in(&dir, &args)
    };
    // On the whole `errors<50%` holds; the merge still fails as one process running every row
    // would: iterations failed.
    let out = merge(&[
        "--report",
        "json=merged.json",
        "--report",
        "junit=plain.xml",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    let junit = std::fs::read_to_string(dir.file("plain.xml")).expect("JUnit");
    assert!(
        junit.contains("<failure message=\"2 of 6 iterations failed\" type=\"iterations\">failed steps: check 2</failure>"),
        "{junit}"
    );
    let verdicts = &read_json(&dir, "merged.json")["load"]["thresholds"];
    assert_eq!(
        verdicts[0],
        json!({ "threshold": "errors<50%", "step": null, "passed": true, "actual": "errors 33.33%" })
    );
    assert_eq!(verdicts[1]["threshold"], "step=read:p99<60s");
    assert_eq!(verdicts[1]["passed"], true);

    // `errors<20%` passes on shard 2 alone, and fails on the whole.
    let out = merge(&[
        "--threshold",
        "errors<20%",
        "--report",
        "junit=merged.xml",
        "--report",
        "html=merged.html",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    insta::assert_snapshot!(stable(&out.stdout));
    let junit = std::fs::read_to_string(dir.file("merged.xml")).expect("JUnit");
    assert!(
        junit.contains("tests=\"4\" failures=\"2\"")
            && junit.contains("<failure message=\"threshold `errors&lt;20%` failed: errors 33.33%\" type=\"threshold\"/>"),
        "{junit}"
    );
    let html = std::fs::read_to_string(dir.file("merged.html")).expect("HTML");
    assert!(
        html.contains("<tr class=\"failed\"><td class=\"failed\">✗ failed</td><td><code>errors&lt;20%</code></td><td>errors 33.33%</td></tr>"),
        "{html}"
    );
}

#[test]
fn a_shard_that_stopped_early_is_named_in_the_merge() {
    // Every row of shard 1 of 2 fails (rows 0, 2 and 4): it stops when its first iteration
    // ends, `errors<1%` being out of reach; shard 2 runs all its rows. The merge holds only
    // part of shard 1, and says so.
    let server = server(&["0", "2", "4"]);
    let dir = setup("merge-stopped", 6);
    let out = load_run(
        &dir,
        &server,
        Some("1/2"),
        "shard-1.json",
        &["--threshold", "errors<1%", "--abort-on-threshold"],
    );
    assert_eq!(out.code, 1, "{out:?}");
    let why = "threshold `errors<1%` can no longer pass (errors 100.00%)";
    assert_eq!(read_json(&dir, "shard-1.json")["load"]["stopped"], why);
    let out = load_run(&dir, &server, Some("2/2"), "shard-2.json", &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(read_json(&dir, "shard-2.json")["load"].get("stopped"), None);
    let out = run_in(
        &dir,
        &[
            "report",
            "merge",
            "shard-1.json",
            "shard-2.json",
            "--report",
            "json=merged.json",
            "--report",
            "html=merged.html",
        ],
    );
    assert_eq!(out.code, 1, "{out:?}");
    let named = format!("shard 1/2 (`shard-1.json`): {why}");
    assert!(
        out.stdout.contains(&format!("  stopped early: {named}\n")),
        "{}",
        out.stdout
    );
    let merged = read_json(&dir, "merged.json");
    assert_valid(&merged);
    assert_eq!(merged["load"]["stopped"], named.as_str());
    let html = std::fs::read_to_string(dir.file("merged.html")).expect("HTML");
    assert!(
        html.contains("<div class=\"summary failed\"><strong>failed</strong>:")
            && html.contains("stopped early: shard 1/2 (`shard-1.json`): threshold `errors&lt;1%` can no longer pass"),
        "{html}"
    );
}

#[test]
fn bad_reports_are_refused_naming_the_file() {
    let server = server(&[]);
    let dir = setup("merge-bad", 4);
    for index in 1..=2 {
        let out = load_run(
            &dir,
            &server,
            Some(&format!("{index}/2")),
            &format!("shard-{index}.json"),
            &[],
        );
        assert_eq!(out.code, 0, "{out:?}");
    }
    let out = load_run(&dir, &server, None, "whole.json", &[]);
    assert_eq!(out.code, 0, "{out:?}");
    let shard = read_json(&dir, "shard-1.json");
    let edited = |name: &str, edit: &dyn Fn(&mut Value)| {
        let mut report = shard.clone();
        edit(&mut report);
        write_json(&dir, name, &report);
    };
    std::fs::write(
        dir.file("truncated.json"),
        "{\n  \"load\": {\n    \"workflow\": ",
    )
    .expect("written");
    write_json(
        &dir,
        "plain-run.json",
        &json!({ "apiflow": "0.1.0", "schema": 1, "workflows": [] }),
    );
    write_json(&dir, "other.json", &json!({ "name": "not a report" }));
    write_json(
        &dir,
        "two-workflows.json",
        &json!({ "workflows": [], "load": [{}, {}] }),
    );
    edited("no-histogram.json", &|r| {
        r["load"]["histograms"]
            .as_object_mut()
            .expect("histograms")
            .remove("overall");
    });
    edited("other-workflow.json", &|r| {
        r["load"]["workflow"]["name"] = json!("checkout");
    });
    edited("shard-1-again.json", &|r| {
        r["load"]["started"] = json!("2001-01-01T00:00:00.000Z");
    });
    edited("of-three.json", &|r| r["load"]["shard"] = json!("3/3"));
    edited("bad-shard.json", &|r| r["load"]["shard"] = json!("5/2"));
    edited("bad-threshold.json", &|r| {
        r["load"]["thresholds"] =
            json!([{ "threshold": "p95<300", "step": null, "passed": true, "actual": "p95 1ms" }]);
    });
    let cases: &[(&str, &[&str])] = &[
        ("a missing file", &["shard-1.json", "nowhere.json"]),
        ("a pattern that matched nothing", &["reports/shard-*.json"]),
        ("not JSON", &["truncated.json", "shard-2.json"]),
        ("a run without load", &["plain-run.json"]),
        ("not a report", &["other.json"]),
        ("several workflows", &["two-workflows.json"]),
        ("a malformed load object", &["no-histogram.json"]),
        (
            "another workflow",
            &["shard-1.json", "other-workflow.json", "shard-2.json"],
        ),
        (
            "the same report twice",
            &["shard-1.json", "shard-2.json", "shard-1.json"],
        ),
        (
            "a shard run twice",
            &["shard-1.json", "shard-1-again.json", "shard-2.json"],
        ),
        ("a missing shard", &["shard-2.json"]),
        (
            "a whole run and a shard",
            &["whole.json", "shard-1.json", "shard-2.json"],
        ),
        (
            "shards of different splits",
            &["shard-1.json", "shard-2.json", "of-three.json"],
        ),
        ("a shard out of range", &["bad-shard.json"]),
        (
            "a threshold that cannot be read",
            &["bad-threshold.json", "shard-2.json"],
        ),
        ("a whole run twice", &["whole.json", "whole.json"]),
        (
            "a malformed --threshold",
            &["shard-1.json", "shard-2.json", "--threshold", "p96<1s"],
        ),
        (
            "a --threshold on no step",
            &[
                "shard-1.json",
                "shard-2.json",
                "--threshold",
                "step=raed:p99<1s",
            ],
        ),
        (
            "a HAR report",
            &["shard-1.json", "shard-2.json", "--report", "har=merged.har"],
        ),
    ];
    let mut text = String::new();
    for (name, args) in cases {
        let mut full = vec!["report", "merge"];
        full.extend_from_slice(args);
        let out = run_in(&dir, &full);
        let _ = write!(
            text,
            "## {name}: {}\nexit: {}\n{}{}\n",
            args.join(" "),
            out.code,
            out.stdout,
            out.stderr
        );
    }
    assert!(
        !std::path::Path::new(&dir.file("merged.har")).exists(),
        "nothing is written"
    );
    insta::assert_snapshot!(text);
}
