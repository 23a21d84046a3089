//! Ctrl-C: the binary, stuck on a request the server never answers, gets SIGINT; it stops
//! waiting, runs the `finally` steps, writes the partial report and exits with 130.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

/// Serves on a thread: `/hang` is read and never answered, `/cleanup` gets a 204. Each request
/// line is sent on `seen` once the request has been read.
fn server(seen: mpsc::Sender<String>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("an address").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().expect("a clone"));
            let mut first = String::new();
            if reader.read_line(&mut first).is_err() {
                continue;
            }
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let path = first.split(' ').nth(1).unwrap_or("").to_owned();
            if path == "/cleanup" {
                let _ = stream.write_all(
                    b"HTTP/1.1 204 No Content\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
                );
            } else {
                // Say nothing, and keep the connection open.
                held.push(stream);
            }
            if seen.send(path).is_err() {
                return;
            }
        }
    });
    port
}

const WORKFLOW: &str = r#"name: interrupted
inputs:
  base_url:
steps:
  - name: hang
    request:
      url: "{{ base_url }}/hang"
      timeout: 1h
  - name: never reached
    request: { url: "{{ base_url }}/never" }
finally:
  - name: clean up
    request: { method: DELETE, url: "{{ base_url }}/cleanup" }
"#;

#[test]
fn ctrl_c_runs_finally_writes_the_report_and_exits_130() {
    let (seen_tx, seen_rx) = mpsc::channel();
    let port = server(seen_tx);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("interrupted.yaml");
    std::fs::write(&file, WORKFLOW).expect("written");
    let report = dir.path().join("report.json");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("apiflow"))
        .env_remove("GITHUB_ACTIONS")
        .arg("run")
        .arg(&file)
        .arg("--var")
        .arg(format!("base_url=http://127.0.0.1:{port}"))
        .arg("--report")
        .arg(format!("json={}", report.display()))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let pid = child.id().to_string();

    // Bounded waits, so a regression fails the test instead of hanging it.
    let limit = Duration::from_secs(30);
    let kill = |signal: &str| {
        let status = std::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} {pid}");
    };
    match seen_rx.recv_timeout(limit) {
        Ok(path) => assert_eq!(path, "/hang"),
        Err(error) => {
            kill("-KILL");
            panic!("the server never saw the request: {error}");
        }
    }
    kill("-INT");

    let (done_tx, done_rx) = mpsc::channel();
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        let mut out = String::new();
        let mut err = String::new();
        let _ = stdout.read_to_string(&mut out);
        let _ = stderr.read_to_string(&mut err);
        let _ = done_tx.send((child.wait().expect("an exit status"), out, err));
    });
    let (status, stdout, stderr) = done_rx.recv_timeout(limit).unwrap_or_else(|_| {
        kill("-KILL");
        panic!("apiflow did not exit after Ctrl-C while a request was waiting");
    });

    assert_eq!(status.code(), Some(130), "{stdout}\n{stderr}");
    assert_eq!(
        seen_rx.recv_timeout(limit).as_deref(),
        Ok("/cleanup"),
        "the finally step reached the server"
    );
    assert!(
        stderr.contains("interrupted: running the `finally` steps"),
        "{stderr}"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.iter().any(|l| l.starts_with("  ✗ hang")), "{stdout}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("  - never reached") && l.ends_with("(not run: interrupted)")),
        "{stdout}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("  ✓ clean up  DELETE http://127.0.0.1:")),
        "{stdout}"
    );
    assert!(
        lines.last().is_some_and(|l| l
            .starts_with("✗ interrupted: 1 passed, 1 failed, 1 skipped in ")
            && l.ends_with(" (interrupted)")),
        "{stdout}"
    );

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("the report was written"))
            .expect("a JSON report");
    let workflow = &report["workflows"][0];
    let outcomes: Vec<(&str, &str)> = workflow["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or(""),
                s["outcome"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("hang", "error"),
            ("never reached", "skipped"),
            ("clean up", "passed")
        ],
        "{workflow:#}"
    );
}
