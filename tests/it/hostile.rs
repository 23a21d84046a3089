//! Hostile servers: refused and reset connections, silence, slow drips, truncated and invalid
//! bodies, huge bodies and a gzip bomb, redirect loops, bad cookies, and flaky endpoints that
//! retries must ride out. Each run goes through the library with tiny timeouts; where an HTTP
//! framework cannot misbehave enough, the server is raw TCP. Every case runs on both HTTP stacks,
//! as `hostile::reqwest::…` and `hostile::plain::…`.

use crate::support;

use std::future::Future;
use std::io::Write as _;
use std::time::Duration;

use apiflow::check::inputs::InputSources;
use apiflow::http::{ClientOptions, DEFAULT_MAX_BODY, Stack};
use apiflow::report::event::{Outcome, RunReport};
use apiflow::report::terminal::Terminal;
use serde_json::json;
use support::{Recorded, Reply, Server};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// A raw TCP server on 127.0.0.1 that hands each connection to a handler, on a thread and
/// runtime of its own. Dropping it stops it and closes every connection it still holds.
struct RawServer {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl RawServer {
    fn start<F, Fut>(handler: F) -> RawServer
    where
        F: Fn(TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (addr, stop) = support::spawn_server(move |listener| async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(handler(stream));
            }
        });
        RawServer {
            url: format!("http://{addr}"),
            stop: Some(stop),
        }
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Reads a request's head and as many body bytes as its `content-length` says; returns both.
async fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .map_or(0, |n| n.trim().parse().unwrap_or(0));
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.ok()?;
    Some(head + &String::from_utf8_lossy(&body))
}

/// Writes a response head.
async fn write_head(stream: &mut TcpStream, headers: &str) {
    let head = format!("HTTP/1.1 200 OK\r\n{headers}\r\n");
    let _ = stream.write_all(head.as_bytes()).await;
}

/// Writes `total` bytes of `fill` in 64 KiB pieces, until the client hangs up.
async fn stream_bytes(stream: &mut TcpStream, total: usize, fill: u8) {
    let piece = vec![fill; 64 * 1024];
    let mut sent = 0;
    while sent < total {
        let n = piece.len().min(total - sent);
        if stream.write_all(&piece[..n]).await.is_err() {
            return;
        }
        sent += n;
    }
}

/// The outcome of a run: the report and the terminal text.
struct Run {
    report: RunReport,
    output: String,
}

impl Run {
    fn only_failure(&self) -> String {
        let failures: Vec<&str> = self
            .report
            .steps
            .iter()
            .flat_map(|s| &s.failures)
            .map(|d| d.title.as_str())
            .collect();
        assert_eq!(failures.len(), 1, "{}", self.output);
        failures[0].to_owned()
    }
}

/// Validates and runs a workflow whose one input is `base_url`.
async fn run(yaml: &str, base_url: &str, options: &ClientOptions) -> Run {
    let source = apiflow::Source::new("hostile.yaml", yaml);
    let plan = apiflow::check_source(&source)
        .unwrap_or_else(|d| panic!("invalid workflow:\n{}", support::render(&d)));
    let sources = InputSources {
        vars: vec![("base_url".to_owned(), base_url.to_owned())],
        ..InputSources::default()
    };
    let inputs = apiflow::check::inputs::resolve(&plan, &sources, &|_| None)
        .unwrap_or_else(|d| panic!("inputs:\n{}", support::render(&d)));
    let client = apiflow::http::Client::new(options).expect("an HTTP client");
    let mut terminal = Terminal::new(Vec::<u8>::new(), false, false).stable();
    let report = apiflow::runner::run(
        &plan,
        &client,
        inputs,
        &apiflow::runner::Settings::default(),
        &mut terminal,
    )
    .await
    .unwrap_or_else(|d| panic!("the run could not start:\n{}", support::render(&d)));
    let output = String::from_utf8(terminal.into_inner()).expect("UTF-8 output");
    Run { report, output }
}

/// One GET of `{{ base_url }}/x` with a 200ms timeout, plus extra step keys.
fn one_step(extra: &str) -> String {
    format!(
        "name: hostile\ninputs:\n  base_url:\nsteps:\n  - name: fetch\n    request:\n      url: \"{{{{ base_url }}}}/x\"\n      timeout: 200ms\n{extra}"
    )
}

/// The default options, on one stack.
fn on(stack: Stack) -> ClientOptions {
    ClientOptions {
        stack,
        ..ClientOptions::default()
    }
}

fn small_cap(stack: Stack) -> ClientOptions {
    ClientOptions {
        max_body: 1024 * 1024,
        ..on(stack)
    }
}

async fn a_refused_connection_is_an_error_with_the_plain_cause(stack: Stack) {
    let url = format!("http://127.0.0.1:{}", support::closed_port());
    let run = run(&one_step(""), &url, &on(stack)).await;
    assert_eq!(run.report.exit_code(), 3, "{}", run.output);
    assert_eq!(run.report.steps[0].outcome, Outcome::Error);
    assert_eq!(
        run.only_failure(),
        "step `fetch` could not complete its request: could not connect: connection refused (os error 111)"
    );
}

async fn a_connection_reset_in_the_middle_of_the_body_is_an_error(stack: Stack) {
    let server = RawServer::start(|mut stream| async move {
        read_request(&mut stream).await;
        write_head(
            &mut stream,
            "content-length: 1000\r\ncontent-type: text/plain\r\n",
        )
        .await;
        let _ = stream.write_all(&[b'a'; 100]).await;
        let _ = stream.flush().await;
        // Closing with a zero linger sends RST instead of FIN.
        let _ = stream.set_zero_linger();
        drop(stream);
    });
    let run = run(&one_step(""), &server.url, &on(stack)).await;
    assert_eq!(run.report.exit_code(), 3, "{}", run.output);
    assert_eq!(run.report.steps[0].outcome, Outcome::Error);
    let failure = run.only_failure();
    // Depending on when the reset lands, it cuts the body or the head: either way the cause shows.
    assert!(
        failure.starts_with("step `fetch` could not complete its request: ")
            && failure.ends_with("Connection reset by peer (os error 104)"),
        "{failure}"
    );
}

async fn a_server_that_never_answers_times_out(stack: Stack) {
    let (seen_tx, seen_rx) = tokio::sync::oneshot::channel::<()>();
    let seen = std::sync::Mutex::new(Some(seen_tx));
    let server = RawServer::start(move |mut stream| {
        let seen = seen.lock().expect("not poisoned").take();
        async move {
            read_request(&mut stream).await;
            if let Some(seen) = seen {
                let _ = seen.send(());
            }
            // Hold the socket open, say nothing.
            std::future::pending::<()>().await;
            drop(stream);
        }
    });
    let started = std::time::Instant::now();
    let run = run(&one_step(""), &server.url, &on(stack)).await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert!(seen_rx.await.is_ok(), "the server saw the request");
    assert_eq!(run.report.exit_code(), 3, "{}", run.output);
    assert_eq!(run.only_failure(), "step `fetch` timed out after 200ms");
}

async fn a_slow_drip_is_cut_by_the_timeout_of_the_whole_exchange(stack: Stack) {
    let server = RawServer::start(|mut stream| async move {
        read_request(&mut stream).await;
        write_head(&mut stream, "content-length: 100000\r\n").await;
        // One byte every 10ms: each read is quick, the whole body would take 1000s.
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        loop {
            tick.tick().await;
            if stream.write_all(b"x").await.is_err() {
                return;
            }
        }
    });
    let run = run(&one_step(""), &server.url, &on(stack)).await;
    assert_eq!(run.report.exit_code(), 3, "{}", run.output);
    assert_eq!(run.only_failure(), "step `fetch` timed out after 200ms");
}

async fn a_chunked_body_cut_short_is_an_error(stack: Stack) {
    let server = RawServer::start(|mut stream| async move {
        read_request(&mut stream).await;
        write_head(
            &mut stream,
            "transfer-encoding: chunked\r\ncontent-type: application/json\r\n",
        )
        .await;
        // One chunk of `{"a": 1`, then the connection closes without the last chunk.
        let _ = stream.write_all(b"7\r\n{\"a\": 1\r\n").await;
    });
    let run = run(&one_step(""), &server.url, &on(stack)).await;
    assert_eq!(run.report.exit_code(), 3, "{}", run.output);
    let failure = run.only_failure();
    assert_eq!(
        failure,
        "step `fetch` could not complete its request: error reading a body from connection: unexpected EOF during chunk size line"
    );
}

/// A server that answers every request with the same status, headers and body.
fn answering(status: u16, content_type: &'static str, body: &'static str) -> Server {
    Server::start(move |_: &Recorded| {
        Reply::status(status)
            .header("content-type", content_type)
            .body(body)
    })
}

async fn truncated_json_fails_the_capture_and_shows_the_body(stack: Stack) {
    let server = answering(
        200,
        "application/json",
        r#"{"token": "abc", "items": [1, 2"#,
    );
    let step = one_step("    extract:\n      token: $.token\n");
    let run = run(&step, &server.url, &on(stack)).await;
    assert_eq!(run.report.exit_code(), 1, "{}", run.output);
    assert_eq!(
        run.only_failure(),
        "`$.token` needs a JSON body, but the response is not JSON"
    );
    assert!(
        run.output
            .contains(r#"the body starts with `{"token": "abc", "items": [1, 2`"#),
        "{}",
        run.output
    );
}

async fn invalid_json_with_a_json_content_type_fails_checks_cleanly(stack: Stack) {
    let server = answering(200, "application/json; charset=utf-8", "{'a': nope}");
    let step =
        one_step("    expect:\n      json: { \"$.a\": 1 }\n      checks: [\"json.a == 1\"]\n");
    let run = run(&step, &server.url, &on(stack)).await;
    assert_eq!(run.report.exit_code(), 1, "{}", run.output);
    let titles: Vec<&str> = run.report.steps[0]
        .failures
        .iter()
        .map(|d| d.title.as_str())
        .collect();
    assert_eq!(
        titles,
        [
            "`$.a` needs a JSON body, but the response is not JSON",
            "`json.a == 1` needs a JSON body, but the response is not JSON",
        ]
    );
    assert!(
        run.output
            .contains("= content-type: application/json; charset=utf-8")
    );
}

/// A raw server that sends `size` bytes of `a` with a `content-length`.
fn sending(size: usize) -> RawServer {
    RawServer::start(move |mut stream| async move {
        read_request(&mut stream).await;
        let headers = format!("content-length: {size}\r\ncontent-type: text/plain\r\n");
        write_head(&mut stream, &headers).await;
        stream_bytes(&mut stream, size, b'a').await;
    })
}

const MIB: usize = 1024 * 1024;

async fn a_10_mib_body_is_read_under_the_default_cap_and_refused_over_a_smaller_one(stack: Stack) {
    let server = sending(10 * MIB);
    let step = "name: big\ninputs:\n  base_url:\nsteps:\n  - name: fetch\n    request:\n      url: \"{{ base_url }}/x\"\n      timeout: 20s\n    extract:\n      size: { expr: \"body | length\" }\n";
    let options = ClientOptions {
        max_body: DEFAULT_MAX_BODY,
        ..on(stack)
    };
    let run1 = run(step, &server.url, &options).await;
    assert_eq!(run1.report.exit_code(), 0, "{}", run1.output);
    assert_eq!(run1.report.steps[0].captures[0].value, json!(10 * MIB));

    let run2 = run(step, &server.url, &small_cap(stack)).await;
    assert_eq!(run2.report.exit_code(), 1, "{}", run2.output);
    assert_eq!(run2.report.steps[0].outcome, Outcome::Failed);
    assert_eq!(
        run2.only_failure(),
        "step `fetch` could not complete its request: the response body is larger than 1048576 bytes (raise it with `--max-body`)"
    );
}

/// Set in the child process that measures memory.
const MEMORY_CHILD: &str = "APIFLOW_HOSTILE_MEMORY_CHILD";

/// Reads this process's peak resident set size in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmHWM line")
}

/// Builds a gzip body that inflates to `size` zero bytes.
fn gzip_bomb(size: usize) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; MIB];
    for _ in 0..size / MIB {
        encoder.write_all(&zeros).expect("compressed");
    }
    encoder.finish().expect("compressed")
}

/// The measured part: a 100 MiB body streamed as zeros and a gzip bomb that inflates to
/// 256 MiB, both refused at a 1 MiB cap. Prints the peak RSS before and after.
fn memory_child(stack: Stack) {
    let bomb = gzip_bomb(256 * MIB);
    assert!(bomb.len() < MIB, "the bomb is small on the wire");
    let before = peak_rss_kib();
    let hundred = RawServer::start(|mut stream| async move {
        read_request(&mut stream).await;
        let headers = format!(
            "content-length: {}\r\ncontent-type: application/octet-stream\r\n",
            100 * MIB
        );
        write_head(&mut stream, &headers).await;
        stream_bytes(&mut stream, 100 * MIB, 0).await;
    });
    let bomb_server = RawServer::start(move |mut stream| {
        let bomb = bomb.clone();
        async move {
            read_request(&mut stream).await;
            let headers = format!(
                "content-length: {}\r\ncontent-encoding: gzip\r\ncontent-type: application/json\r\n",
                bomb.len()
            );
            write_head(&mut stream, &headers).await;
            let _ = stream.write_all(&bomb).await;
        }
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let step = "name: big\ninputs:\n  base_url:\nsteps:\n  - name: fetch\n    request:\n      url: \"{{ base_url }}/x\"\n      timeout: 20s\n";
    let cap = "step `fetch` could not complete its request: the response body is larger than 1048576 bytes (raise it with `--max-body`)";
    for url in [&hundred.url, &bomb_server.url] {
        let run = runtime.block_on(run(step, url, &small_cap(stack)));
        assert_eq!(run.report.exit_code(), 1, "{}", run.output);
        assert_eq!(run.only_failure(), cap);
    }
    println!("peak-rss-kib {before} {}", peak_rss_kib());
}

/// `name` is the test's own name, which the child process is asked to run.
fn a_100_mib_body_and_a_gzip_bomb_are_refused_in_bounded_memory(stack: Stack, name: &str) {
    if std::env::var_os(MEMORY_CHILD).is_some() {
        memory_child(stack);
        return;
    }
    // Peak RSS is per process: measure in a fresh one that runs only this test.
    let out = std::process::Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(MEMORY_CHILD, "1")
        .output()
        .expect("the child runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let numbers: Vec<u64> = stdout
        .lines()
        // libtest prints the test's name on the same line first.
        .find_map(|line| line.split_once("peak-rss-kib ").map(|(_, rest)| rest))
        .expect("the child printed its peak")
        .split(' ')
        .map(|n| n.parse().expect("a number"))
        .collect();
    let grown_mib = numbers[1].saturating_sub(numbers[0]) / 1024;
    assert!(
        grown_mib < 32,
        "reading capped bodies grew the peak RSS by {grown_mib} MiB"
    );
}

async fn a_redirect_loop_stops_at_max_redirects(stack: Stack) {
    let server = Server::start(|_: &Recorded| Reply::redirect(302, "/x"));
    let step = one_step("      follow_redirects: true\n      max_redirects: 5\n");
    let run = run(&step, &server.url, &on(stack)).await;
    assert_eq!(run.report.exit_code(), 1, "{}", run.output);
    assert_eq!(
        run.only_failure(),
        "step `fetch` could not complete its request: more than 5 redirects"
    );
    assert_eq!(server.requests().len(), 6);
    assert_eq!(run.report.steps[0].exchanges.len(), 6);
}

async fn a_cookie_for_another_domain_is_not_kept(stack: Stack) {
    let server = Server::start(|request: &Recorded| match request.path.as_str() {
        "/login" => Reply::status(204)
            .header("set-cookie", "sid=stolen; Domain=evil.example; Path=/")
            .header("set-cookie", "theme=dark; Path=/"),
        _ => Reply::status(204),
    });
    let yaml = "name: cookies\ninputs:\n  base_url:\nsteps:\n  - name: login\n    request: { url: \"{{ base_url }}/login\" }\n  - name: next\n    request: { url: \"{{ base_url }}/next\" }\n";
    let run = run(yaml, &server.url, &on(stack)).await;
    assert_eq!(run.report.exit_code(), 0, "{}", run.output);
    assert_eq!(server.only("/next").header("cookie"), Some("theme=dark"));
}

async fn a_5xx_then_success_is_retried(stack: Stack) {
    let server = Server::start(|request: &Recorded| match request.nth {
        0 => Reply::status(503),
        1 => Reply::status(500),
        _ => Reply::json(200, &json!({ "ok": true })),
    });
    let step = one_step(
        "    retry: { attempts: 3, delay: 1ms }\n    expect:\n      status: 200\n      checks: [json.ok]\n",
    );
    let run = run(&step, &server.url, &on(stack)).await;
    assert_eq!(run.report.exit_code(), 0, "{}", run.output);
    assert_eq!(run.report.steps[0].attempts, 3);
    assert_eq!(server.requests().len(), 3);
}

async fn a_5xx_every_time_fails_after_the_attempts(stack: Stack) {
    let server = Server::start(|_: &Recorded| Reply::status(502));
    let step = one_step("    retry: { attempts: 2, delay: 1ms }\n    expect:\n      status: 200\n");
    let run = run(&step, &server.url, &on(stack)).await;
    assert_eq!(run.report.exit_code(), 1, "{}", run.output);
    assert_eq!(run.report.steps[0].attempts, 2);
    assert_eq!(run.only_failure(), "expected status 200, got 502");
}

async fn a_404_until_the_third_attempt_passes_with_until(stack: Stack) {
    let server = Server::start(|request: &Recorded| match request.nth {
        0 | 1 => Reply::status(404),
        _ => Reply::json(200, &json!({ "id": 7 })),
    });
    let step = one_step(
        "    retry: { attempts: 5, delay: 1ms, until: \"status == 200\" }\n    expect:\n      status: 200\n    extract:\n      id: $.id\n",
    );
    let run = run(&step, &server.url, &on(stack)).await;
    assert_eq!(run.report.exit_code(), 0, "{}", run.output);
    assert_eq!(run.report.steps[0].attempts, 3);
    assert_eq!(run.report.steps[0].captures[0].value, json!(7));
    assert!(
        run.output.contains("→ 200 <t> [3 attempts]"),
        "{}",
        run.output
    );
}

async fn a_404_is_not_retried_without_until(stack: Stack) {
    let server = Server::start(|_: &Recorded| Reply::status(404));
    let step = one_step("    retry: { attempts: 5, delay: 1ms }\n    expect:\n      status: 200\n");
    let run = run(&step, &server.url, &on(stack)).await;
    assert_eq!(run.report.exit_code(), 1, "{}", run.output);
    assert_eq!(run.report.steps[0].attempts, 1);
    assert_eq!(server.requests().len(), 1);
}

async fn a_header_value_that_is_not_ascii_is_compared_as_text(stack: Stack) {
    let server = RawServer::start(|mut stream| async move {
        read_request(&mut stream).await;
        write_head(&mut stream, "x-name: Zo\u{eb}\r\ncontent-length: 0\r\n").await;
    });
    let step = one_step("    expect:\n      headers: { X-Name: \"Zo\u{eb}\" }\n");
    let run = run(&step, &server.url, &on(stack)).await;
    assert_eq!(run.report.exit_code(), 0, "{}", run.output);
}

/// A keep-alive server that sends each request it reads, head and body, to the returned
/// receiver and answers with `headers` and `body`.
fn recording(
    headers: &'static str,
    body: &'static [u8],
) -> (RawServer, std::sync::mpsc::Receiver<String>) {
    let (seen_tx, seen_rx) = std::sync::mpsc::channel::<String>();
    let server = RawServer::start(move |mut stream| {
        let seen = seen_tx.clone();
        async move {
            while let Some(request) = read_request(&mut stream).await {
                let _ = seen.send(request);
                write_head(&mut stream, headers).await;
                let _ = stream.write_all(body).await;
            }
        }
    });
    (server, seen_rx)
}

async fn a_plain_http_request_carries_the_same_headers_as_any_other(stack: Stack) {
    let (server, seen_rx) = recording(
        "content-length: 2\r\ncontent-type: application/json\r\n",
        b"{}",
    );
    let yaml = "name: wire\ninputs:\n  base_url:\nsteps:\n  - name: send\n    request:\n      method: POST\n      url: \"{{ base_url }}/items?q=1#frag\"\n      headers: { X-Trace: abc }\n      json: { a: 1 }\n";
    let run = run(yaml, &server.url, &on(stack)).await;
    assert_eq!(run.report.exit_code(), 0, "{}", run.output);
    let host = server.url.trim_start_matches("http://");
    assert_eq!(
        seen_rx.recv().expect("a request"),
        format!(
            "POST /items?q=1 HTTP/1.1\r\nx-trace: abc\r\ncontent-type: application/json\r\naccept: */*\r\nuser-agent: apiflow/{}\r\naccept-encoding: gzip,deflate,br\r\nhost: {host}\r\ncontent-length: 7\r\n\r\n{{\"a\":1}}",
            env!("CARGO_PKG_VERSION")
        )
    );
}

async fn credentials_in_a_plain_http_url_are_sent_as_basic_auth(stack: Stack) {
    let (server, seen_rx) = recording("content-length: 0\r\n", b"");
    let url = server.url.replace("http://", "http://ann:p%40ss@");
    let yaml = "name: userinfo\ninputs:\n  base_url:\nsteps:\n  - name: plain\n    request:\n      url: \"{{ base_url }}/a\"\n      headers: { X-Trace: abc }\n  - name: own header wins\n    request:\n      url: \"{{ base_url }}/b\"\n      headers: { X-Trace: abc, Authorization: Bearer t }\n";
    let run = run(yaml, &url, &on(stack)).await;
    assert_eq!(run.report.exit_code(), 0, "{}", run.output);
    let host = server.url.trim_start_matches("http://");
    let version = env!("CARGO_PKG_VERSION");
    let tail = format!(
        "accept: */*\r\nuser-agent: apiflow/{version}\r\naccept-encoding: gzip,deflate,br\r\nhost: {host}\r\n\r\n"
    );
    assert_eq!(
        seen_rx.recv().expect("a request"),
        format!("GET /a HTTP/1.1\r\nauthorization: Basic YW5uOnBAc3M=\r\nx-trace: abc\r\n{tail}")
    );
    assert_eq!(
        seen_rx.recv().expect("a request"),
        format!("GET /b HTTP/1.1\r\nauthorization: Bearer t\r\nx-trace: abc\r\n{tail}")
    );
}

async fn a_kept_alive_connection_the_server_closed_is_replaced(stack: Stack) {
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&connections);
    // One response per connection, then the server hangs up without saying so beforehand.
    let server = RawServer::start(move |mut stream| {
        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async move {
            if read_request(&mut stream).await.is_some() {
                write_head(
                    &mut stream,
                    "content-length: 2\r\ncontent-type: application/json\r\n",
                )
                .await;
                let _ = stream.write_all(b"{}").await;
            }
        }
    });
    let step = |i| format!("  - name: s{i}\n    request:\n      url: \"{{{{ base_url }}}}/{i}\"\n");
    let yaml = format!(
        "name: reconnect\ninputs:\n  base_url:\nsteps:\n{}{}{}",
        step(1),
        step(2),
        step(3)
    );
    let run = run(&yaml, &server.url, &on(stack)).await;
    assert_eq!(run.report.exit_code(), 0, "{}", run.output);
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 3);
}

/// A server that answers the first request of its first connection, then reads the second and
/// closes the connection without answering it; later connections are answered. Each request
/// it reads is recorded as `connection number: request line`.
fn closes_after_reading_the_second_request() -> (RawServer, std::sync::mpsc::Receiver<String>) {
    let (seen_tx, seen_rx) = std::sync::mpsc::channel::<String>();
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let server = RawServer::start(move |mut stream| {
        let seen = seen_tx.clone();
        let number = connections.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        async move {
            let mut answered = 0;
            while let Some(request) = read_request(&mut stream).await {
                let line = request.lines().next().unwrap_or_default().to_owned();
                let _ = seen.send(format!("{number}: {line}"));
                if number == 1 && answered == 1 {
                    return;
                }
                write_head(&mut stream, "content-length: 0\r\n").await;
                answered += 1;
            }
        }
    });
    (server, seen_rx)
}

async fn an_idempotent_request_is_sent_again_when_its_reused_connection_closes_under_it(
    stack: Stack,
) {
    let (server, seen_rx) = closes_after_reading_the_second_request();
    let yaml = "name: resend\ninputs:\n  base_url:\nsteps:\n  - name: first\n    request:\n      url: \"{{ base_url }}/1\"\n  - name: second\n    request:\n      method: PUT\n      url: \"{{ base_url }}/2\"\n";
    let run = run(yaml, &server.url, &on(stack)).await;
    assert_eq!(run.report.exit_code(), 0, "{}", run.output);
    let seen: Vec<String> = seen_rx.try_iter().collect();
    assert_eq!(
        seen,
        [
            "1: GET /1 HTTP/1.1",
            "1: PUT /2 HTTP/1.1",
            "2: PUT /2 HTTP/1.1"
        ]
    );
}

async fn a_post_is_not_sent_again_when_its_reused_connection_closes_under_it(stack: Stack) {
    let (server, seen_rx) = closes_after_reading_the_second_request();
    let yaml = "name: once\ninputs:\n  base_url:\nsteps:\n  - name: first\n    request:\n      url: \"{{ base_url }}/1\"\n  - name: second\n    request:\n      method: POST\n      url: \"{{ base_url }}/2\"\n";
    let run = run(yaml, &server.url, &on(stack)).await;
    assert_eq!(run.report.exit_code(), 3, "{}", run.output);
    assert_eq!(
        run.only_failure(),
        "step `second` could not complete its request: the server closed the connection before answering (a POST is not sent again: repeating it may not be safe)"
    );
    let seen: Vec<String> = seen_rx.try_iter().collect();
    assert_eq!(seen, ["1: GET /1 HTTP/1.1", "1: POST /2 HTTP/1.1"]);
}

/// Runs each case once on each stack, as `hostile::reqwest::…` and `hostile::plain::…`; the
/// blocking cases are also given their own test name.
macro_rules! on_both_stacks {
    (async: [$($case:ident),* $(,)?], blocking: [$($blocking:ident),* $(,)?] $(,)?) => {
        on_both_stacks!(@stack reqwest, Reqwest, [$($case),*], [$($blocking),*]);
        on_both_stacks!(@stack plain, Plain, [$($case),*], [$($blocking),*]);
    };
    (@stack $module:ident, $stack:ident, [$($case:ident),*], [$($blocking:ident),*]) => {
        mod $module {
            use apiflow::http::Stack;

            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(Stack::$stack).await;
                }
            )*

            $(
                #[test]
                fn $blocking() {
                    // The name libtest knows it by: its path without the crate's name.
                    let module = module_path!().split_once("::").map_or("", |(_, m)| m);
                    let name = format!("{module}::{}", stringify!($blocking));
                    super::$blocking(Stack::$stack, &name);
                }
            )*
        }
    };
}

on_both_stacks!(
    async: [
        a_refused_connection_is_an_error_with_the_plain_cause,
        a_connection_reset_in_the_middle_of_the_body_is_an_error,
        a_server_that_never_answers_times_out,
        a_slow_drip_is_cut_by_the_timeout_of_the_whole_exchange,
        a_chunked_body_cut_short_is_an_error,
        truncated_json_fails_the_capture_and_shows_the_body,
        invalid_json_with_a_json_content_type_fails_checks_cleanly,
        a_10_mib_body_is_read_under_the_default_cap_and_refused_over_a_smaller_one,
        a_redirect_loop_stops_at_max_redirects,
        a_cookie_for_another_domain_is_not_kept,
        a_5xx_then_success_is_retried,
        a_5xx_every_time_fails_after_the_attempts,
        a_404_until_the_third_attempt_passes_with_until,
        a_404_is_not_retried_without_until,
        a_header_value_that_is_not_ascii_is_compared_as_text,
        a_plain_http_request_carries_the_same_headers_as_any_other,
        credentials_in_a_plain_http_url_are_sent_as_basic_auth,
        a_kept_alive_connection_the_server_closed_is_replaced,
        an_idempotent_request_is_sent_again_when_its_reused_connection_closes_under_it,
        a_post_is_not_sent_again_when_its_reused_connection_closes_under_it,
    ],
    blocking: [a_100_mib_body_and_a_gzip_bomb_are_refused_in_bounded_memory],
);
