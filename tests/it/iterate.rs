//! `--iterations`, `--concurrency` and `--data`: every iteration runs with its own variables and
//! cookie jar, the summary counts them, and data rows become inputs.

use crate::support;

use support::bin::{Output, TempDir, apiflow, output};
use support::{Reply, Server};

const FLOW: &str = "name: login and read
inputs:
  base_url: ~
  user: { default: anonymous }
vars:
  run: \"{{ uuid() }}\"
steps:
  - name: login
    request: { method: POST, url: \"{{ base_url }}/login\", form: { user: \"{{ user }}\", run: \"{{ run }}\" } }
    expect: { status: 200 }
  - name: read
    request: { url: \"{{ base_url }}/me\" }
    expect:
      status: 200
      checks: [\"body == user\"]
";

/// A server that sets a session cookie naming the user who logged in, and answers `/me` with
/// the user of the cookie it receives (so a shared jar would mix users up).
fn server() -> Server {
    Server::start(|request| match request.path.as_str() {
        "/login" => {
            // The cookie value keeps the form encoding, which has no `;` or space in it.
            let user = request
                .body
                .split('&')
                .find_map(|p| p.strip_prefix("user="))
                .unwrap_or("?")
                .to_owned();
            Reply::status(200).header("set-cookie", &format!("session={user}; Path=/"))
        }
        "/me" => {
            let cookie = request.header("cookie").unwrap_or("");
            let user = cookie
                .split("; ")
                .find_map(|c| c.strip_prefix("session="))
                .unwrap_or("nobody");
            let user: String = url::form_urlencoded::parse(format!("u={user}").as_bytes())
                .map(|(_, v)| v.into_owned())
                .next()
                .unwrap_or_default();
            Reply::text(200, &user)
        }
        _ => Reply::status(404),
    })
}

/// Runs a workflow against the server the given number of times, so many at once.
fn run_iterations(flow: &str, server: &Server, iterations: &str, concurrency: &str) -> Output {
    run_iterations_with(flow, server, iterations, concurrency, &[])
}

/// Runs a workflow as `run_iterations` does, with more arguments.
fn run_iterations_with(
    flow: &str,
    server: &Server,
    iterations: &str,
    concurrency: &str,
    more: &[&str],
) -> Output {
    let base = format!("base_url={}", server.url);
    let mut args = vec![
        "run",
        flow,
        "--var",
        &base,
        "--iterations",
        iterations,
        "--concurrency",
        concurrency,
    ];
    args.extend_from_slice(more);
    output(&mut apiflow(&args), &[(server.port, "<port>")])
}

fn write(dir: &TempDir, name: &str, text: &str) -> String {
    let path = dir.file(name);
    std::fs::write(&path, text).expect("write");
    path
}

#[test]
fn iterations_run_with_their_own_variables_and_print_a_summary() {
    let server = server();
    let dir = TempDir::new("iterations");
    let flow = write(&dir, "flow.yaml", FLOW);
    let out = run_iterations(&flow, &server, "6", "3");
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let first = out.stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("✓ login and read: 6 iterations, 6 passed, 0 failed in ")
            && first.ends_with(" (concurrency 3)"),
        "{first}"
    );
    assert!(out.stdout.contains("\n  12 requests, "), "{}", out.stdout);
    let table: Vec<&str> = out.stdout.lines().skip(2).collect();
    assert!(
        table[0]
            .split_whitespace()
            .eq(["step", "runs", "p50", "p95", "p99", "max"]),
        "{}",
        table[0]
    );
    assert_eq!(
        table[1].split_whitespace().take(2).collect::<Vec<_>>(),
        ["login", "6"]
    );
    assert_eq!(
        table[2].split_whitespace().take(2).collect::<Vec<_>>(),
        ["read", "6"]
    );
    // Each iteration computed its vars again: six distinct run ids reached the server.
    let mut runs: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| r.path == "/login")
        .filter_map(|r| {
            r.body
                .split('&')
                .find_map(|p| p.strip_prefix("run="))
                .map(str::to_owned)
        })
        .collect();
    runs.sort();
    runs.dedup();
    assert_eq!(runs.len(), 6);
}

#[test]
fn data_rows_become_inputs_and_jars_stay_apart() {
    let server = server();
    let dir = TempDir::new("data");
    let flow = write(&dir, "flow.yaml", FLOW);
    let csv = write(&dir, "users.csv", "user\nann\nbob\n\"cy, the third\"\n");
    let json = write(&dir, "users.json", r#"[{"user": "dee"}, {"user": "eve"}]"#);
    let base = format!("base_url={}", server.url);
    for (data, count) in [(&csv, 3), (&json, 2)] {
        let out = output(
            &mut apiflow(&[
                "run",
                &flow,
                "--var",
                &base,
                "--data",
                data,
                "--concurrency",
                "4",
            ]),
            &[(server.port, "<port>")],
        );
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
        assert!(
            out.stdout.starts_with(&format!(
                "✓ login and read: {count} iterations, {count} passed, 0 failed in "
            )),
            "{}",
            out.stdout
        );
    }
    // `/me` answered each iteration with its own user: the `body == user` check passed 5 times,
    // which a shared cookie jar would break under concurrency.
    let mut users: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| r.path == "/login")
        .filter_map(|r| {
            r.body
                .split('&')
                .find_map(|p| p.strip_prefix("user="))
                .map(str::to_owned)
        })
        .collect();
    users.sort();
    assert_eq!(users, ["ann", "bob", "cy%2C+the+third", "dee", "eve"]);
}

#[test]
fn failed_iterations_are_shown_and_counted() {
    let server = Server::start(|request| {
        if request.path == "/login" && request.nth % 2 == 1 {
            Reply::status(500)
        } else if request.path == "/me" {
            Reply::text(200, "anonymous")
        } else {
            Reply::status(200)
        }
    });
    let dir = TempDir::new("failing");
    let flow = write(&dir, "flow.yaml", FLOW);
    let base = format!("base_url={}", server.url);
    let out = output(
        &mut apiflow(&["run", &flow, "--var", &base, "--iterations", "4"]),
        &[(server.port, "<port>")],
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_eq!(
        out.stdout.matches(" failed:\n").count(),
        2,
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("error: expected status 200, got 500"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("✗ login and read: 4 iterations, 2 passed, 2 failed in "),
        "{}",
        out.stdout
    );
}

#[test]
fn a_bad_data_file_is_an_invalid_command() {
    let dir = TempDir::new("bad-data");
    let flow = write(&dir, "flow.yaml", FLOW);
    let csv = write(&dir, "rows.csv", "user,team\nann,red\nbob,blue,green\n");
    let out = output(
        &mut apiflow(&[
            "run",
            &flow,
            "--var",
            "base_url=http://127.0.0.1:1",
            "--data",
            &csv,
        ]),
        &[],
    );
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        format!("error: `--data {csv}`: row 3 has 3 fields, the header has only 2\n\n")
    );
}

#[test]
fn a_short_data_row_leaves_its_missing_columns_unset_and_a_byte_order_mark_is_skipped() {
    let server = server();
    let dir = TempDir::new("short-rows");
    let flow = write(&dir, "flow.yaml", FLOW);
    // The second row stops before `user`, which keeps its default.
    let short = write(&dir, "short.csv", "team,user\nred,ann\n\"blue\"\n");
    // The mark a spreadsheet program writes is not part of the first column's name.
    let marked = write(&dir, "marked.csv", "\u{feff}user,team\nbob,green\n");
    let var = format!("base_url={}", server.url);
    for (csv, count) in [(&short, 2), (&marked, 1)] {
        let out = output(
            &mut apiflow(&["run", &flow, "--var", &var, "--data", csv]),
            &[(server.port, "<port>")],
        );
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
        let summary = format!("✓ login and read: {count} iterations, {count} passed, 0 failed in ");
        assert!(out.stdout.contains(&summary), "{}", out.stdout);
    }
    let users: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| r.path == "/login")
        .filter_map(|r| {
            r.body
                .split('&')
                .find_map(|p| p.strip_prefix("user="))
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(users, ["ann", "anonymous", "bob"]);
}

/// A failed iteration prints what a single run would: the workflow's line, each step's line
/// (passed steps before the failure too, redirects counted, skipped steps with their reason),
/// the failure with the response, and the summary, the captured token masked throughout.
#[test]
fn a_failed_iteration_prints_its_steps_as_a_single_run_would() {
    let server = Server::start(|request| match request.path.as_str() {
        "/token" => Reply::json(200, &serde_json::json!({ "access_token": "tok-4b1d" })),
        "/old" => Reply::status(302).header("location", "/items"),
        "/items/1" if request.nth % 2 == 1 => Reply::text(500, "down for tok-4b1d"),
        _ => Reply::status(200),
    });
    let dir = TempDir::new("failed-iteration");
    let flow = write(
        &dir,
        "flow.yaml",
        "name: token and read
inputs:
  base_url: ~
steps:
  - name: get a token
    request: { method: POST, url: \"{{ base_url }}/token\" }
    expect: { status: 200 }
    extract: { access_token: $.access_token }
  - name: list
    request: { url: \"{{ base_url }}/old?key={{ access_token }}\", follow_redirects: true }
    expect: { status: 200 }
  - name: only on Sundays
    if: \"false\"
    request: { url: \"{{ base_url }}/never\" }
  - name: read
    request: { url: \"{{ base_url }}/items/1\" }
    expect: { status: 200 }
",
    );
    let out = run_iterations(&flow, &server, "2", "1");
    assert_eq!(out.code, 1, "{}", out.stdout);
    let shown = out
        .stdout
        .split("iteration ")
        .nth(1)
        .expect("a failed iteration is shown");
    let shown = shown
        .split("✗ token and read: 2 iterations")
        .next()
        .expect("the run's summary follows");
    let shown = shown.replace(&dir.0.display().to_string(), "<dir>");
    insta::assert_snapshot!(shown);
}

#[test]
fn each_iteration_starts_from_the_inputs_whatever_an_earlier_one_captured() {
    // `user` is an input every iteration starts from; the first step captures a new value
    // over it, which the second step sends. `run` is computed for each iteration.
    let flow = "name: inputs per iteration
inputs:
  base_url: ~
  user: { default: anonymous }
  run: { default: \"{{ uuid() }}\" }
steps:
  - name: first
    request: { method: POST, url: \"{{ base_url }}/login\", form: { user: \"{{ user }}\", run: \"{{ run }}\" } }
    expect: { status: 200 }
    extract:
      user: { regex: 'session=(\\w+)', from: 'header:Set-Cookie' }
  - name: again
    request: { method: POST, url: \"{{ base_url }}/login\", form: { user: \"{{ user }}-again\", run: \"{{ run }}\" } }
    expect: { status: 200 }
";
    let server = server();
    let dir = TempDir::new("inputs-per-iteration");
    let flow = write(&dir, "flow.yaml", flow);
    let out = run_iterations(&flow, &server, "4", "1");
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let field = |body: &str, name: &str| {
        body.split('&')
            .find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
            .map(str::to_owned)
    };
    let logins: Vec<(Option<String>, Option<String>)> = server
        .requests()
        .iter()
        .map(|r| (field(&r.body, "user"), field(&r.body, "run")))
        .collect();
    let users: Vec<&str> = logins.iter().filter_map(|(u, _)| u.as_deref()).collect();
    assert_eq!(
        users,
        ["anonymous", "anonymous-again"].repeat(4),
        "a capture leaked into a later iteration"
    );
    let mut runs: Vec<&str> = logins.iter().filter_map(|(_, r)| r.as_deref()).collect();
    runs.dedup();
    assert_eq!(
        runs.len(),
        4,
        "each iteration computes its own `run`: {runs:?}"
    );
}

#[test]
fn inputs_with_literal_defaults_are_shared_by_the_iterations_of_a_load_run() {
    // Resolved once for the run: the capture of the first iteration does not reach the input
    // the next ones read, and a `--var` reaches every iteration.
    let flow = "name: shared inputs
inputs:
  base_url: ~
  user: { default: anonymous }
steps:
  - name: first
    request: { method: POST, url: \"{{ base_url }}/login\", form: { user: \"{{ user }}\" } }
    expect: { status: 200 }
    extract:
      user: { regex: 'session=(\\w+)', from: 'header:Set-Cookie' }
  - name: again
    request: { method: POST, url: \"{{ base_url }}/login\", form: { user: \"{{ user }}-again\" } }
    expect: { status: 200 }
";
    let server = server();
    let dir = TempDir::new("shared-inputs");
    let flow = write(&dir, "flow.yaml", flow);
    let out = run_iterations_with(&flow, &server, "5", "2", &["--var", "user=ada"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let mut users: Vec<String> = server
        .requests()
        .iter()
        .filter_map(|r| r.body.strip_prefix("user=").map(str::to_owned))
        .collect();
    users.sort();
    assert_eq!(
        users,
        [vec!["ada".to_owned(); 5], vec!["ada-again".to_owned(); 5]].concat()
    );
}
