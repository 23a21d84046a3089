//! Load profiles and scale-out: `--duration`, `--rate` and `--stages` through the real binary
//! against an in-process server that notes when each request came, and `--shard` splitting one
//! load run between processes (fixed, and `auto` from each scheduler's environment).

use crate::support;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use support::bin::{TempDir, apiflow, output};
use support::{Recorded, Reply, Server};

const FLOW: &str = "name: hit
inputs:
  base_url: ~
  n: { default: none }
steps:
  - name: hit
    request: { url: \"{{ base_url }}/hit/{{ n }}\" }
    expect: { status: 200 }
";

/// The variables that choose a shard under `--shard auto`, none of them inherited.
const SHARD_VARIABLES: [&str; 5] = [
    "APIFLOW_SHARD",
    "APIFLOW_SHARD_COUNT",
    "JOB_COMPLETION_INDEX",
    "CI_NODE_INDEX",
    "CI_NODE_TOTAL",
];

fn command(args: &[&str]) -> assert_cmd::Command {
    let mut command = apiflow(args);
    for name in SHARD_VARIABLES {
        command.env_remove(name);
    }
    command
}

fn setup(name: &str) -> (TempDir, String, String) {
    let dir = TempDir::new(name);
    let flow = dir.file("flow.yaml");
    std::fs::write(&flow, FLOW).expect("written");
    let data = dir.file("rows.csv");
    let rows: Vec<String> = (0..10).map(|n| n.to_string()).collect();
    let rows = rows.join("\n");
    std::fs::write(&data, format!("n\n{rows}\n")).expect("written");
    (dir, flow, data)
}

/// Runs the flow as an open model: `rate` arrivals for `duration`, up to `users` at once.
fn open_model(
    flow: &str,
    base: &str,
    (rate, duration, users): (&str, &str, &str),
    more: &[&str],
    ports: &[(u16, &str)],
) -> support::bin::Output {
    let mut args = vec![
        "run",
        flow,
        "--var",
        base,
        "--rate",
        rate,
        "--duration",
        duration,
        "-c",
        users,
    ];
    args.extend_from_slice(more);
    output(&mut command(&args), ports)
}

/// A server that answers 200 and notes when each request came.
fn timed_server() -> (Server, Arc<Mutex<Vec<Instant>>>) {
    let times = Arc::new(Mutex::new(Vec::new()));
    let noted = Arc::clone(&times);
    let server = Server::start(move |_| {
        noted.lock().expect("the times").push(Instant::now());
        Reply::status(200)
    });
    (server, times)
}

/// The `n` of each request the server received, sorted.
fn rows_seen(server: &Server) -> Vec<String> {
    let mut seen: Vec<String> = server
        .requests()
        .into_iter()
        .map(|r: Recorded| r.path.trim_start_matches("/hit/").to_owned())
        .collect();
    seen.sort_by_key(|n| n.parse::<u32>().unwrap_or(u32::MAX));
    seen
}

#[test]
fn a_rate_starts_iterations_on_schedule_for_the_duration() {
    let (server, times) = timed_server();
    let (_dir, flow, _) = setup("rate");
    let base = format!("base_url={}", server.url);
    // As many virtual users as starts: none is dropped however slow the machine.
    let out = open_model(
        &flow,
        &base,
        ("50/s", "400ms", "32"),
        &[],
        &[(server.port, "<port>")],
    );
    assert_eq!(out.code, 0, "{out:?}");
    // 50/s for 400ms plans 20 starts, 20ms apart: the first at once, the last at 380ms.
    let times = times.lock().expect("the times").clone();
    assert!((18..=22).contains(&times.len()), "{} requests", times.len());
    let spread = times[times.len() - 1] - times[0];
    assert!(
        spread.as_millis() >= 300,
        "the requests came over {spread:?}, not at the planned rate"
    );
    assert!(
        out.stdout.contains(
            "open model over 400ms, 0 dropped (every virtual user busy at its planned start)"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn a_rate_starts_a_count_of_iterations_or_each_row_once_on_schedule() {
    let (server, times) = timed_server();
    let (_dir, flow, data) = setup("rate-count");
    let base = format!("base_url={}", server.url);
    // 50/s until 12 have started: exactly 12, 20ms apart, so the last 220ms after the first.
    let out = output(
        &mut command(&[
            "run", &flow, "--var", &base, "--rate", "50/s", "-n", "12", "-c", "12",
        ]),
        &[(server.port, "<port>")],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let counted = times.lock().expect("the times").clone();
    assert_eq!(counted.len(), 12);
    let spread = counted[11] - counted[0];
    assert!(
        spread.as_millis() >= 180,
        "the requests came over {spread:?}, not at the planned rate"
    );
    assert!(
        out.stdout.contains(
            "open model over 240ms, 0 dropped (every virtual user busy at its planned start)"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("12 iterations, 12 passed, 0 failed"),
        "{}",
        out.stdout
    );
    // With `--data`, one start per row: each of the 10 rows exactly once.
    times.lock().expect("the times").clear();
    let out = output(
        &mut command(&[
            "run", &flow, "--var", &base, "--data", &data, "--rate", "100/s", "-c", "10",
        ]),
        &[(server.port, "<port>")],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let expected: Vec<String> = (0..10).map(|n| n.to_string()).collect();
    let rows: Vec<String> = rows_seen(&server)
        .into_iter()
        .filter(|n| n != "none")
        .collect();
    assert_eq!(rows, expected);
}

#[test]
fn shards_together_send_exactly_what_one_process_sends() {
    let server = Server::start(|_| Reply::status(200));
    let (_dir, flow, data) = setup("shards");
    let base = format!("base_url={}", server.url);
    let mut counts = Vec::new();
    for index in 1..=3 {
        let shard = format!("{index}/3");
        let out = output(
            &mut command(&[
                "run", &flow, "--var", &base, "--data", &data, "--shard", &shard, "-c", "2",
            ]),
            &[],
        );
        assert_eq!(out.code, 0, "{out:?}");
        counts.push(server.requests().len());
    }
    // Rows 0, 3, 6, 9 to the first shard, then 1, 4, 7, then 2, 5, 8: each row once.
    assert_eq!(counts, [4, 7, 10]);
    let all: Vec<String> = (0..10).map(|n| n.to_string()).collect();
    assert_eq!(rows_seen(&server), all);

    // `--iterations` splits the same way.
    let server = Server::start(|_| Reply::status(200));
    let base = format!("base_url={}", server.url);
    for index in 1..=4 {
        let shard = format!("{index}/4");
        let out = output(
            &mut command(&["run", &flow, "--var", &base, "-n", "9", "--shard", &shard]),
            &[],
        );
        assert_eq!(out.code, 0, "{out:?}");
    }
    assert_eq!(server.requests().len(), 9);
}

#[test]
fn shard_auto_reads_each_schedulers_environment() {
    let server = Server::start(|_| Reply::status(200));
    let (_dir, flow, data) = setup("auto");
    let base = format!("base_url={}", server.url);
    let run = |env: &[(&str, &str)], extra: &[&str]| {
        let before = server.requests().len();
        let mut args = vec![
            "run", &flow, "--var", &base, "--data", &data, "--shard", "auto",
        ];
        args.extend_from_slice(extra);
        let mut command = command(&args);
        for (name, value) in env {
            command.env(name, value);
        }
        let out = output(&mut command, &[]);
        assert_eq!(out.code, 0, "{out:?}");
        let mut seen: Vec<String> = server.requests()[before..]
            .iter()
            .map(|r| r.path.trim_start_matches("/hit/").to_owned())
            .collect();
        seen.sort();
        seen
    };
    // Kubernetes counts from 0, with the total from a flag or a variable.
    assert_eq!(
        run(&[("JOB_COMPLETION_INDEX", "1")], &["--shard-count", "3"]),
        ["1", "4", "7"]
    );
    assert_eq!(
        run(
            &[("JOB_COMPLETION_INDEX", "0"), ("APIFLOW_SHARD_COUNT", "4")],
            &[]
        ),
        ["0", "4", "8"]
    );
    // GitLab counts from 1.
    assert_eq!(
        run(&[("CI_NODE_INDEX", "2"), ("CI_NODE_TOTAL", "4")], &[]),
        ["1", "5", "9"]
    );
    assert_eq!(run(&[("APIFLOW_SHARD", "5/5")], &[]), ["4", "9"]);
}

/// A wrong command line: its name, its flags and its environment.
type Case<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a str)]);

#[test]
fn malformed_profiles_and_shards_are_refused_before_anything_is_sent() {
    let server = Server::start(|_| Reply::status(200));
    let (dir, _, _) = setup("malformed");
    let base = format!("base_url={}", server.url);
    let cases: &[Case] = &[
        (
            "rate_without_unit",
            &["--rate", "200", "--duration", "1s"],
            &[],
        ),
        ("rate_per_hour", &["--rate", "5/h", "--duration", "1s"], &[]),
        ("rate_without_duration", &["--rate", "5/s"], &[]),
        ("stage_without_rate", &["--stages", "30s:50/s,1m"], &[]),
        ("stage_bad_duration", &["--stages", "30:50/s"], &[]),
        (
            "stages_with_rate",
            &["--stages", "1s:5/s", "--rate", "5/s", "--duration", "1s"],
            &[],
        ),
        (
            "duration_with_iterations",
            &["--duration", "1s", "-n", "3"],
            &[],
        ),
        (
            "shard_auto_without_environment",
            &["-n", "3", "--shard", "auto"],
            &[],
        ),
        (
            "shard_auto_without_count",
            &["-n", "3", "--shard", "auto"],
            &[("JOB_COMPLETION_INDEX", "2")],
        ),
        (
            "shard_auto_out_of_range",
            &["-n", "3", "--shard", "auto"],
            &[("CI_NODE_INDEX", "0"), ("CI_NODE_TOTAL", "2")],
        ),
    ];
    let mut text = String::new();
    for (name, extra, env) in cases {
        let mut args = vec!["run", "flow.yaml", "--var", &base];
        args.extend_from_slice(extra);
        let mut command = command(&args);
        command.current_dir(&dir.0);
        for (key, value) in *env {
            command.env(key, value);
        }
        let out = output(&mut command, &[(server.port, "<port>")]);
        let env: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v} ")).collect();
        let _ = write!(
            text,
            "## {name}: {}{}\nexit: {}\n{}{}\n",
            env.concat(),
            extra.join(" "),
            out.code,
            out.stdout,
            out.stderr
        );
    }
    assert!(server.requests().is_empty(), "nothing is sent");
    insta::assert_snapshot!(text);
}

#[test]
fn stages_ramp_the_arrivals_up_and_down() {
    let (server, times) = timed_server();
    let (_dir, flow, _) = setup("stages");
    let base = format!("base_url={}", server.url);
    let out = output(
        &mut command(&[
            "run",
            &flow,
            "--var",
            &base,
            "--stages",
            "300ms:100/s,300ms:0/s",
            // As many virtual users as starts: none is dropped however slow the machine.
            "-c",
            "32",
        ]),
        &[(server.port, "<port>")],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("30 iterations, 30 passed"),
        "{}",
        out.stdout
    );
    // Up from 0 to 100/s over 300ms, then down to 0 over 300ms: 15 starts on each slope, few at
    // either end and most around the peak. Planned in the first 150ms: 3.75; between 150ms and
    // 450ms: 22.5; the server's clock sees them a little later, never earlier.
    let times = times.lock().expect("the times").clone();
    assert_eq!(times.len(), 30);
    let since = |t: &Instant| (*t - times[0]).as_millis();
    let early = times.iter().filter(|t| since(t) < 150).count();
    let middle = times
        .iter()
        .filter(|t| (150..450).contains(&since(t)))
        .count();
    assert!(
        middle >= 3 * early,
        "{early} requests in the first 150ms against {middle} in the next 300ms: no ramp"
    );
    assert!(
        since(&times[29]) >= 450,
        "the last start came {}ms after the first, not at the end of the ramp down",
        since(&times[29])
    );
}

/// Lists every `url` of a JSON report, in the report's order.
fn urls(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match value {
                    serde_json::Value::String(url) if key == "url" => out.push(url.clone()),
                    _ => urls(value, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| urls(item, out)),
        _ => {}
    }
}

#[test]
fn threads_split_a_load_run_exactly_and_the_report_keeps_the_rows_order() {
    let server = Server::start(|_| Reply::status(200));
    let (dir, flow, data) = setup("threads");
    let base = format!("base_url={}", server.url);
    let all: Vec<String> = (0..10).map(|n| n.to_string()).collect();
    for threads in ["1", "2", "3"] {
        let before = server.requests().len();
        let report = dir.file(&format!("report-{threads}.json"));
        let json = format!("json={report}");
        let out = output(
            &mut command(&[
                "run",
                &flow,
                "--var",
                &base,
                "--data",
                &data,
                "-c",
                "4",
                "--threads",
                threads,
                "--report",
                &json,
            ]),
            &[],
        );
        assert_eq!(out.code, 0, "{out:?}");
        assert!(
            out.stdout
                .starts_with("✓ hit: 10 iterations, 10 passed, 0 failed in "),
            "{}",
            out.stdout
        );
        assert!(out.stdout.contains("\n  10 requests, "), "{}", out.stdout);
        // Each row exactly once, whichever thread ran it.
        let mut seen: Vec<String> = server.requests()[before..]
            .iter()
            .map(|r| r.path.trim_start_matches("/hit/").to_owned())
            .collect();
        seen.sort_by_key(|n| n.parse::<u32>().unwrap_or(u32::MAX));
        assert_eq!(seen, all, "--threads {threads}");
        let text = std::fs::read_to_string(&report).expect("the report");
        let document: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let mut listed = Vec::new();
        urls(&document["workflows"], &mut listed);
        let rows: Vec<String> = listed
            .iter()
            .map(|url| url.rsplit('/').next().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(rows, all, "the report lists the iterations in order");
        assert_eq!(
            document["load"]["counts"]["requests"], 10,
            "--threads {threads}"
        );
    }
    // With a shard too, the threads take exactly the shard's rows.
    let before = server.requests().len();
    let out = output(
        &mut command(&[
            "run",
            &flow,
            "--var",
            &base,
            "--data",
            &data,
            "-c",
            "4",
            "--threads",
            "2",
            "--shard",
            "2/3",
        ]),
        &[],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let mut seen: Vec<String> = server.requests()[before..]
        .iter()
        .map(|r| r.path.trim_start_matches("/hit/").to_owned())
        .collect();
    seen.sort();
    assert_eq!(seen, ["1", "4", "7"]);
}

#[test]
fn threads_share_an_open_models_arrivals_and_a_closed_models_users() {
    let server = Server::start(|_| Reply::status(200));
    let (_dir, flow, _) = setup("threads_profiles");
    let base = format!("base_url={}", server.url);
    // 100/s for 300ms plans 30 starts: each is sent or counted as dropped, on either thread.
    let out = open_model(
        &flow,
        &base,
        ("100/s", "300ms", "4"),
        &["--threads", "2"],
        &[],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let dropped: usize = out
        .stdout
        .split("open model over 300ms, ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the dropped count");
    assert_eq!(server.requests().len() + dropped, 30, "{}", out.stdout);
    // A closed model: what the summary counts is what the server received.
    let before = server.requests().len();
    let out = output(
        &mut command(&[
            "run",
            &flow,
            "--var",
            &base,
            "--duration",
            "200ms",
            "-c",
            "4",
            "--threads",
            "2",
        ]),
        &[],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let sent = server.requests().len() - before;
    assert!(sent > 0);
    assert!(
        out.stdout.contains(&format!("\n  {sent} requests, ")),
        "{sent} sent: {}",
        out.stdout
    );
}

#[test]
fn a_run_that_lasts_a_time_reports_its_first_runs_and_counts_them_all() {
    // Every other request fails its check: passed and failed iterations both pass the bound.
    let count = Arc::new(Mutex::new(0u32));
    let server = Server::start(move |_| {
        let mut count = count.lock().expect("the count");
        *count += 1;
        Reply::status(if count.is_multiple_of(2) { 500 } else { 200 })
    });
    let (dir, flow, _) = setup("kept_runs");
    let base = format!("base_url={}", server.url);
    let json = dir.file("report.json");
    let markdown = dir.file("report.md");
    let reports = [format!("json={json}"), format!("markdown={markdown}")];
    let out = open_model(
        &flow,
        &base,
        ("1000/s", "500ms", "64"),
        &["--report", &reports[0], "--report", &reports[1]],
        &[],
    );
    assert_eq!(out.code, 1, "{out:?}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("the JSON report"))
            .expect("JSON");
    let counts = &report["load"]["counts"];
    let (passed, failed) = (
        counts["passed"].as_u64().expect("passed"),
        counts["failed"].as_u64().expect("failed"),
    );
    // 500 planned starts, half of them failing: far more of each than the 100 kept.
    assert!(passed > 100 && failed > 100, "{counts}");
    assert_eq!(server.requests().len() as u64, passed + failed);
    let runs = report["workflows"].as_array().expect("the runs");
    let outcome = |name: &str| runs.iter().filter(|r| r["outcome"] == name).count();
    assert_eq!((outcome("passed"), outcome("failed")), (100, 100));
    // The summary of a load run counts every iteration, kept or not.
    let summary = std::fs::read_to_string(&markdown).expect("the summary");
    let all = passed + failed;
    assert!(
        summary.contains(&format!(
            "{all} iterations ({passed} passed, {failed} failed), {all} requests"
        )),
        "{summary}"
    );
}
