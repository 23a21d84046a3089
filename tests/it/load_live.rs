//! The live view of load runs and the time per phase of each step, through the real binary
//! against an in-process server: plain lines forced with `APIFLOW_LIVE`, nothing in CI, a bad
//! value refused, and the phases in the summary, the JSON report and merged reports.

use crate::support;

use serde_json::Value;
use support::bin::{TempDir, apiflow, output};
use support::{Reply, Server, TOKEN_AND_READ as FLOW};

fn setup(name: &str) -> (TempDir, String) {
    let dir = TempDir::new(name);
    let flow = dir.file("flow.yaml");
    std::fs::write(&flow, FLOW).expect("written");
    (dir, flow)
}

#[test]
fn plain_lines_show_the_progress_of_an_open_model_on_stderr() {
    let server = Server::start(|_| Reply::status(200));
    let (_dir, flow) = setup("live-plain");
    let base = format!("base_url={}", server.url);
    let out = output(
        apiflow(&[
            "run",
            &flow,
            "--var",
            &base,
            "--rate",
            "100/s",
            "--duration",
            "500ms",
            // As many virtual users as starts: none is dropped however slow the machine.
            "-c",
            "50",
        ])
        .env("APIFLOW_LIVE", "plain:100ms")
        .env("CI", "true"),
        &[(server.port, "<port>")],
    );
    assert_eq!(out.code, 0, "{out:?}");
    // The run lasts 500ms and a line is due every 100ms: some lines, however fast the machine.
    let line = regex::Regex::new(
        r"^live: \d+\.\ds of 0\.5s, \d+ of 50 iterations, 0 failed \(0\.00%\), \d+ dropped; \d+ requests/s, p95 (–|\d+µs|\d+\.\d\dms) over the last \d+\.\ds$",
    )
    .expect("a regex");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert!(!lines.is_empty(), "{out:?}");
    for text in &lines {
        assert!(line.is_match(text), "{text}");
    }
    // Standard output holds the summary alone.
    assert!(!out.stdout.contains("live:"), "{}", out.stdout);
    assert!(
        out.stdout.starts_with("✓ token and read: 50 iterations"),
        "{}",
        out.stdout
    );
}

#[test]
fn ci_shows_nothing_and_a_bad_setting_is_refused_before_anything_is_sent() {
    let server = Server::start(|_| Reply::status(200));
    let (_dir, flow) = setup("live-ci");
    let base = format!("base_url={}", server.url);
    let args = ["run", &flow, "--var", &base, "--iterations", "3"];
    let quiet = output(apiflow(&args).env("CI", "true"), &[]);
    assert_eq!((quiet.code, quiet.stderr.as_str()), (0, ""), "{quiet:?}");
    let sent = server.requests().len();
    let refused = output(apiflow(&args).env("APIFLOW_LIVE", "plain:often"), &[]);
    assert_eq!(refused.code, 2, "{refused:?}");
    insta::assert_snapshot!(refused.stderr);
    assert_eq!(server.requests().len(), sent, "nothing is sent");
}

/// Runs the flow 6 times with a JSON report; returns stdout and the report.
fn run_with_report(dir: &TempDir, flow: &str, server: &Server, name: &str) -> (String, String) {
    let report = dir.file(name);
    let base = format!("base_url={}", server.url);
    let json = format!("json={report}");
    let out = output(
        &mut apiflow(&[
            "run", flow, "--var", &base, "-n", "6", "-c", "2", "--report", &json,
        ]),
        &[(server.port, "<port>")],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let text = std::fs::read_to_string(&report).expect("the report");
    (out.stdout, text)
}

#[test]
fn each_step_has_its_time_per_phase_in_the_summary_and_reports_and_merges_exactly() {
    let server = Server::start(|_| Reply::status(200));
    let (dir, flow) = setup("live-phases");
    let (stdout, first) = run_with_report(&dir, &flow, &server, "a.json");
    // The summary's second table: one row per step, `–` for what never happened.
    let table: Vec<Vec<&str>> = stdout
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("phases (mean)"))
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        table.first().map(Vec::as_slice),
        Some(
            [
                "phases", "(mean)", "dns", "connect", "tls", "ttfb", "p95", "ttfb", "transfer"
            ]
            .as_slice()
        ),
        "{stdout}"
    );
    assert_eq!(table.len(), 3, "{stdout}");
    for (row, step) in table[1..]
        .iter()
        .zip([["get", "a", "token"].as_slice(), &["read"]])
    {
        assert_eq!(&row[..step.len()], step, "{stdout}");
        let cells = &row[step.len()..];
        // 127.0.0.1 is not looked up, and plain HTTP has no TLS.
        assert_eq!((cells[0], cells[2]), ("–", "–"), "{stdout}");
        assert!(
            cells[3] != "–" && cells[4] != "–" && cells[5] != "–",
            "{stdout}"
        );
    }
    let report: Value = serde_json::from_str(&first).expect("JSON");
    let steps = report["load"]["steps"].as_array().expect("steps");
    let mut connections = 0;
    for step in steps {
        let phases = &step["phases"];
        assert_eq!(phases["dns"]["runs"], 0, "{phases}");
        assert_eq!(phases["dns"]["mean_ms"], Value::Null, "{phases}");
        assert_eq!(phases["tls"]["runs"], 0, "{phases}");
        assert_eq!(phases["ttfb"]["runs"], 6, "{phases}");
        assert_eq!(phases["transfer"]["runs"], 6, "{phases}");
        assert!(
            phases["ttfb"]["p95_ms"].as_f64().is_some_and(|p| p > 0.0),
            "{phases}"
        );
        assert!(
            phases["ttfb"]["histogram"]
                .as_str()
                .is_some_and(|h| h.starts_with("HISTF")),
            "{phases}"
        );
        connections += phases["connect"]["runs"].as_u64().expect("a count");
    }
    // Two iterations at once open at least two connections, kept alive after.
    assert!((2..12).contains(&connections), "{connections} connections");
    // Another process's report, merged: every count and total adds up.
    let (_, second) = run_with_report(&dir, &flow, &server, "b.json");
    let merged = apiflow::load::merge::merge(
        &[
            ("a.json".to_owned(), first.clone()),
            ("b.json".to_owned(), second.clone()),
        ],
        false,
    )
    .expect("merges");
    let merged = merged.metrics.to_json(&[]);
    let parts: Vec<Value> = [&first, &second]
        .iter()
        .map(|t| serde_json::from_str::<Value>(t).expect("JSON")["load"].take())
        .collect();
    for (index, step) in merged["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .enumerate()
    {
        for phase in ["dns", "connect", "tls", "ttfb", "transfer"] {
            for key in ["runs", "total_us"] {
                let sum: u64 = parts
                    .iter()
                    .map(|p| {
                        p["steps"][index]["phases"][phase][key]
                            .as_u64()
                            .expect("a count")
                    })
                    .sum();
                assert_eq!(step["phases"][phase][key], sum, "{phase}.{key}");
            }
        }
        assert_eq!(step["phases"]["ttfb"]["runs"], 12);
    }
}
