//! Timings: which phases each HTTP stack reports for a new and a kept-alive connection, and
//! where they show: `-v`, the JSON report and `timings.*` in checks. Only presence and sign are
//! asserted, never how long anything took.

use crate::support;

use std::time::Duration;

use apiflow::http::timing::Timings;
use apiflow::http::{Client, ClientOptions, Jar, Outgoing, Stack};
use reqwest::Method;
use reqwest::header::HeaderMap;
use support::bin::apiflow;
use support::{Reply, Server};

fn get(url: &str) -> Outgoing {
    Outgoing {
        method: Method::GET,
        url: url.parse().expect("a URL"),
        headers: HeaderMap::new(),
        body: None,
        timeout: Duration::from_secs(10),
        transport: apiflow::http::Transport::default(),
    }
}

/// Sends two requests on one client, one after the other, and returns their timings.
async fn twice(stack: Stack, url: &str) -> (Timings, Timings) {
    let options = ClientOptions {
        stack,
        ..ClientOptions::default()
    };
    let client = Client::new(&options).expect("an HTTP client");
    let jar = Jar::default();
    let mut timings = Vec::new();
    for _ in 0..2 {
        let hops = client
            .send(get(url), &jar, true, 10, None)
            .await
            .unwrap_or_else(|(_, e)| panic!("{e}"));
        timings.push(hops[0].response.timings);
    }
    (timings[0], timings[1])
}

/// The phases of an exchange add up to no more than its total.
fn consistent(t: &Timings) {
    let phases = [t.dns, t.connect, t.tls]
        .into_iter()
        .flatten()
        .sum::<Duration>()
        + t.ttfb
        + t.transfer;
    assert!(phases <= t.total, "{t:?}");
    assert_eq!(phases + t.blocked(), t.total, "{t:?}");
}

#[tokio::test]
async fn a_new_connection_is_timed_and_a_kept_alive_one_has_no_connect_phase() {
    let server = Server::start(|_| Reply::text(200, "ok"));
    for stack in [Stack::Plain, Stack::Reqwest] {
        let (fresh, reused) = twice(stack, &format!("{}/", server.url)).await;
        assert!(fresh.connect.is_some(), "{stack:?}: {fresh:?}");
        // 127.0.0.1 is no name to look up; plain `http://` has no TLS.
        assert_eq!((fresh.dns, fresh.tls), (None, None), "{stack:?}");
        assert_eq!(
            (reused.dns, reused.connect, reused.tls),
            (None, None, None),
            "{stack:?}: {reused:?}"
        );
        consistent(&fresh);
        consistent(&reused);
    }
}

#[tokio::test]
async fn a_host_name_is_looked_up_and_the_lookup_timed_on_both_stacks() {
    let server = Server::start(|_| Reply::text(200, "ok"));
    for stack in [Stack::Plain, Stack::Reqwest] {
        let (fresh, reused) = twice(stack, &format!("http://localhost:{}/", server.port)).await;
        assert!(
            fresh.dns.is_some() && fresh.connect.is_some(),
            "{stack:?}: {fresh:?}"
        );
        assert_eq!(reused.dns, None, "{stack:?}");
        consistent(&fresh);
    }
}

/// Runs a workflow of two steps against `server` through the binary, with `args` added.
fn two_steps(
    server: &Server,
    checks: &str,
    args: &[&str],
) -> (support::bin::TempDir, std::process::Output) {
    let dir = support::bin::TempDir::new(&format!("timings-{}", args.join("").len()));
    let file = dir.file("timings.yaml");
    std::fs::write(
        &file,
        format!(
            "name: timings\nsteps:\n  - name: first\n    request: {{ url: \"{url}/a\" }}\n  - name: second\n    request: {{ url: \"{url}/b\" }}\n    expect:\n      checks: [{checks}]\n",
            url = server.url
        ),
    )
    .expect("the workflow is written");
    let output = apiflow(&[&["run", &file], args].concat())
        .output()
        .expect("the binary runs");
    (dir, output)
}

#[test]
fn verbose_output_shows_each_exchange_s_timings() {
    let server = Server::start(|_| Reply::text(200, "ok"));
    let (_dir, output) = two_steps(&server, "\"timings.ttfb_ms >= 0\"", &["-v"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    let lines: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("    * timings: "))
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    let shape = regex::Regex::new(
        r"^dns –, connect (–|\d+\.\d\d ms), tls –, ttfb \d+\.\d\d ms, transfer \d+\.\d\d ms, total \d+\.\d\d ms$",
    )
    .expect("a regex");
    for line in &lines {
        assert!(shape.is_match(line), "{line}");
    }
    assert!(!lines[0].contains("connect –"), "{}", lines[0]);
    assert!(lines[1].contains("connect –"), "{}", lines[1]);
}

#[test]
fn the_json_report_holds_each_exchange_s_timings() {
    let server = Server::start(|_| Reply::text(200, "ok"));
    let dir = support::bin::TempDir::new("timings-json");
    let report = dir.file("report.json");
    let (_workflow, output) = two_steps(
        &server,
        "\"timings.total_ms >= 0\"",
        &["--report", &format!("json={report}")],
    );
    assert_eq!(output.status.code(), Some(0));
    let text = std::fs::read_to_string(&report).expect("the report is written");
    let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let timings: Vec<&serde_json::Value> = json["workflows"][0]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| &s["exchanges"][0]["response"]["timings"])
        .collect();
    for t in &timings {
        for field in ["ttfb_ms", "transfer_ms", "total_ms"] {
            assert!(t[field].as_f64().is_some_and(|v| v >= 0.0), "{field}: {t}");
        }
        assert!(t["dns_ms"].is_null() && t["tls_ms"].is_null(), "{t}");
    }
    assert!(
        timings[0]["connect_ms"].as_f64().is_some_and(|v| v >= 0.0),
        "{}",
        timings[0]
    );
    assert!(timings[1]["connect_ms"].is_null(), "{}", timings[1]);
}

#[test]
fn checks_read_timings_and_fail_with_the_usual_text() {
    let server = Server::start(|_| Reply::text(200, "ok"));
    let (_dir, passed) = two_steps(
        &server,
        "\"timings.ttfb_ms >= 0\", \"timings.total_ms >= timings.ttfb_ms\", \"timings.connect_ms is none\"",
        &[],
    );
    assert_eq!(
        passed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&passed.stdout)
    );
    let (dir, failed) = two_steps(&server, "\"timings.ttfb_ms < 0\"", &["--color", "never"]);
    assert_eq!(failed.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&failed.stdout);
    let number = regex::Regex::new(r"= \d+(\.\d+)?(e-?\d+)?\n").expect("a regex");
    let stdout = number.replace_all(&stdout, "= <ms>\n");
    let expected = format!(
        "error: check failed: `timings.ttfb_ms < 0`
 --> {}:8:16
  |
5 |   - name: second
  ⋮
8 |       checks: [\"timings.ttfb_ms < 0\"]
  |                ^^^^^^^^^^^^^^^^^^^^^ is false
  = in step `second`
  = timings.ttfb_ms = <ms>
",
        dir.file("timings.yaml")
    );
    assert!(stdout.contains(&expected), "{stdout}");
}
