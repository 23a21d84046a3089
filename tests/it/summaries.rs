//! The charts of a load run's HTML report, seen in a real browser; the Markdown summary
//! (`--report markdown=PATH`); and GitHub Actions' annotations and step summary, with the
//! variables set on the spawned process only.

use crate::support;

use serde_json::json;
use support::bin::{TempDir, apiflow, output, tool};
use support::{Recorded, Reply, Server};

const KEY: &str = "k3y Sup3r/s3cret+=";
const TOKEN: &str = "tok.7f6e5d4c3b2a";

/// Answers `tests/fixtures/reports/annotated.yaml`: a token, and a profile whose plan is not
/// the expected one and that echoes the token.
fn profile_server() -> Server {
    Server::start(|request: &Recorded| match request.path.as_str() {
        "/token" => Reply::json(200, &json!({ "access_token": TOKEN })),
        _ => Reply::json(200, &json!({ "plan": "silver", "seen_token": TOKEN })),
    })
}

/// Answers `tests/fixtures/reports/load.yaml`; every fourth `/item` fails.
fn load_server() -> Server {
    let counter = std::sync::atomic::AtomicUsize::new(0);
    Server::start(move |request: &Recorded| match request.path.as_str() {
        "/item" => {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            Reply::status(if n.is_multiple_of(4) { 500 } else { 200 })
        }
        _ => Reply::status(200),
    })
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in [KEY, TOKEN] {
        assert!(!text.contains(secret), "`{secret}` is in {what}:\n{text}");
    }
}

/// Makes latencies, rates and run times stable: `<t>`.
fn stable(text: &str) -> String {
    let latency = regex::Regex::new(r"\d+(\.\d+)?(µs|ms|s)\b").expect("a regex");
    let rate = regex::Regex::new(r"\d+(\.\d+)? requests/s").expect("a regex");
    let text = rate.replace_all(text, "<n> requests/s");
    latency.replace_all(&text, "<t>").into_owned()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Runs the annotated fixture, as GitHub Actions would when `github` is set, with a step
/// summary that already holds an earlier step's.
fn annotated(dir: &TempDir, github: bool) -> (support::bin::Output, String) {
    let server = profile_server();
    let summary = dir.file("summary.md");
    std::fs::write(&summary, "# an earlier step\n\n").expect("write");
    let mut command = apiflow(&["run", "tests/fixtures/reports/annotated.yaml"]);
    command
        .arg("--var")
        .arg(format!("base_url={}", server.url))
        .arg("--var")
        .arg(format!("api_key={KEY}"))
        .env("GITHUB_STEP_SUMMARY", &summary);
    if github {
        command.env("GITHUB_ACTIONS", "true");
    }
    let out = output(&mut command, &[(server.port, "<port>")]);
    (out, read(&summary))
}

#[test]
fn on_github_actions_each_failure_is_an_annotation_at_its_line_and_the_summary_is_appended() {
    let dir = TempDir::new("github-annotations");
    let (out, summary) = annotated(&dir, true);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_no_secret("the output", &out.stdout);
    assert_no_secret("the step summary", &summary);
    let annotations: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with("::")).collect();
    insta::assert_snapshot!(annotations.join("\n"));
    // Appended after what an earlier step wrote.
    let mine = summary
        .strip_prefix("# an earlier step\n\n")
        .unwrap_or_else(|| panic!("the earlier summary is gone:\n{summary}"));
    insta::assert_snapshot!(stable(mine));
}

#[test]
fn off_github_actions_nothing_is_annotated_or_appended() {
    let dir = TempDir::new("github-off");
    let (out, summary) = annotated(&dir, false);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(!out.stdout.contains("::error"), "{}", out.stdout);
    assert_eq!(summary, "# an earlier step\n\n");
}

#[test]
fn a_step_summary_that_cannot_be_written_is_an_error() {
    let server = profile_server();
    let dir = TempDir::new("github-no-summary");
    let out = output(
        apiflow(&["run", "tests/fixtures/reports/annotated.yaml"])
            .arg("--var")
            .arg(format!("base_url={}", server.url))
            .arg("--var")
            .arg(format!("api_key={KEY}"))
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_STEP_SUMMARY", &dir.0),
        &[(server.port, "<port>")],
    );
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    let message = out.stderr.replace(&dir.0.display().to_string(), "<dir>");
    assert!(
        message.starts_with("error: cannot append the step summary to `<dir>`: "),
        "{message}"
    );
}

/// Runs the load fixture 12 times, 3 at once, with the Markdown and HTML reports and a
/// threshold that passes and one that fails, on GitHub Actions.
struct LoadRun {
    out: support::bin::Output,
    markdown: String,
    html: String,
    dir: TempDir,
}

fn load_run(name: &str) -> LoadRun {
    let server = load_server();
    let dir = TempDir::new(name);
    let (markdown, html) = (dir.file("summary.md"), dir.file("report.html"));
    let out = output(
        apiflow(&[
            "run",
            "tests/fixtures/reports/load.yaml",
            "--iterations",
            "12",
            "--concurrency",
            "3",
            "--report",
            &format!("markdown={markdown}"),
            "--report",
            &format!("html={html}"),
            "--threshold",
            "p99<1h",
            "--threshold",
            "rps>1000000000",
        ])
        .arg("--var")
        .arg(format!("base_url={}", server.url))
        .env("GITHUB_ACTIONS", "true"),
        &[(server.port, "<port>")],
    );
    LoadRun {
        markdown: read(&markdown),
        html: read(&html),
        out,
        dir,
    }
}

#[test]
fn a_load_run_sums_up_in_markdown_and_annotates_a_failure_once() {
    let run = load_run("load-markdown");
    assert_eq!(run.out.code, 1, "{}\n{}", run.out.stdout, run.out.stderr);
    insta::assert_snapshot!(stable(&run.markdown));
    // Three iterations failed the same way: one annotation; and one for the failed threshold.
    let annotations: Vec<&str> = run
        .out
        .stdout
        .lines()
        .filter(|l| l.starts_with("::"))
        .collect();
    assert_eq!(annotations.len(), 2, "{}", run.out.stdout);
    assert_eq!(
        annotations[0],
        "::error file=tests/fixtures/reports/load.yaml,line=10,col=23,title=token and read%3A step `read <items>` failed::expected status 200, got 500",
    );
    // A threshold given on the command line has no place in a file.
    assert_eq!(
        stable(annotations[1]),
        "::error title=token and read%3A threshold `rps>1000000000` failed::threshold `rps>1000000000` failed: rps <n> requests/s",
    );
}

#[test]
fn a_failed_threshold_of_the_load_key_is_annotated_at_its_line() {
    let server = load_server();
    let out = output(
        apiflow(&["run", "tests/fixtures/reports/load_key.yaml"])
            .arg("--var")
            .arg(format!("base_url={}", server.url))
            .env("GITHUB_ACTIONS", "true"),
        &[(server.port, "<port>")],
    );
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let annotations: Vec<String> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("::"))
        .map(stable)
        .collect();
    assert_eq!(
        annotations,
        [
            "::error file=tests/fixtures/reports/load_key.yaml,line=8,col=8,title=a load test in git%3A threshold `rps > 1000000000` failed::threshold `rps > 1000000000` failed: rps <n> requests/s"
        ],
    );
}

/// Appended to a copy of the page: measures every chart and what is drawn in it, as the
/// browser laid them out, into an element that `--dump-dom` prints.
const MEASURE_CHARTS: &str = "<script>
const lines = [];
for (const svg of document.querySelectorAll('svg.chart')) {
  const box = svg.getBoundingClientRect();
  const marks = [...svg.querySelectorAll('g.requests rect, g.bars rect, polyline, circle')]
    .filter(mark => { const b = mark.getBBox(); return b.width > 0 || b.height > 0; });
  const label = document.getElementById(svg.id + '-title').textContent;
  lines.push(`${svg.id} ${Math.round(box.width)}x${Math.round(box.height)} ${marks.length} marks: ${label}`);
}
const seen = document.createElement('pre');
seen.id = 'charts';
seen.textContent = lines.join('\\n');
document.body.appendChild(seen);
</script>";

#[test]
fn the_charts_of_a_load_run_render_in_a_browser() {
    let run = load_run("load-charts");
    assert_eq!(run.out.code, 1, "{}\n{}", run.out.stdout, run.out.stderr);
    // Self-contained: nothing to fetch, nothing to run.
    for outside in ["<script", "<link", "src=", "@import", "url("] {
        assert!(!run.html.contains(outside), "the page has `{outside}`");
    }
    // The iterations are runs of one workflow, which names the page.
    assert!(
        run.html.contains("<title>apiflow: token and read</title>"),
        "{}",
        &run.html[..run.html.len().min(400)]
    );
    let page = run.dir.0.join("measured.html");
    std::fs::write(
        &page,
        run.html
            .replace("</body>", &format!("{MEASURE_CHARTS}</body>")),
    )
    .expect("write");
    let Some(chromium) = tool("/usr/bin/chromium", "chromium") else {
        return;
    };
    let dom = std::process::Command::new("timeout")
        .arg("120")
        .arg(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!(
            "--user-data-dir={}",
            run.dir.0.join("profile").display()
        ))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8_lossy(&dom.stdout);
    let measured = dom
        .split("<pre id=\"charts\">")
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .expect("the script ran")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let charts: Vec<(&str, u32, u32, u32, &str)> = measured
        .lines()
        .map(|line| {
            let mut words = line.splitn(5, ' ');
            let id = words.next().unwrap_or_default();
            let (width, height) = words
                .next()
                .and_then(|size| size.split_once('x'))
                .unwrap_or_default();
            let marks = words.next().unwrap_or_default();
            let label = line.split_once(": ").map_or("", |(_, l)| l);
            (
                id,
                width.parse().unwrap_or(0),
                height.parse().unwrap_or(0),
                marks.parse().unwrap_or(0),
                label,
            )
        })
        .collect();
    let labels: Vec<&str> = charts.iter().map(|c| c.4).collect();
    assert_eq!(
        labels,
        [
            "Requests and errors per second",
            "Latency over time",
            "Latency of step get a token",
            "Latency of step read <items>",
        ],
        "{measured}"
    );
    for (id, width, height, marks, _) in &charts {
        assert!(
            *width >= 300 && *height >= 100 && *marks > 0,
            "`{id}` is not drawn: {measured}"
        );
    }
}
