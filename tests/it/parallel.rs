//! Running many workflows: directories, `--jobs` with a cookie jar per workflow, the worst exit
//! code, the per-file summary, `--shard`, and no progress line when stderr is not a terminal.

use crate::support;

use std::collections::BTreeSet;

use support::bin::{Output, apiflow, output};
use support::{Server, closed_port};

fn run_parallel(jobs: &str, report: &str) -> (Output, Server) {
    let server = support::cookie_server();
    let dead = closed_port();
    let out = output(
        apiflow(&["run", "tests/fixtures/parallel", "--jobs", jobs])
            .arg("--report")
            .arg(format!("json={report}"))
            .env_remove("CI")
            .arg("--var")
            .arg(format!("base_url={}", server.url))
            .arg("--var")
            .arg(format!("dead_url=http://127.0.0.1:{dead}")),
        &[(server.port, "<port>"), (dead, "<dead>")],
    );
    (out, server)
}

/// Splits output into each workflow's block, from its `▶` line to its summary line.
fn blocks(stdout: &str) -> Vec<Vec<&str>> {
    let mut blocks: Vec<Vec<&str>> = Vec::new();
    for line in stdout.lines() {
        if line.starts_with('▶') {
            blocks.push(Vec::new());
        }
        if let Some(block) = blocks.last_mut() {
            block.push(line);
        }
    }
    blocks
}

#[test]
fn parallel_workflows_have_their_own_cookie_jars_and_the_worst_exit_code_wins() {
    let dir = support::bin::TempDir::new("parallel");
    let report = dir.file("report.json");
    let (out, server) = run_parallel("3", &report);
    // 3 (a request could not be completed) is worse than 1 (a step failed).
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    // Each workflow waited until all three had logged in, then saw only its own cookie.
    let whoami: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| r.path == "/whoami")
        .map(|r| r.header("cookie").unwrap_or("").to_owned())
        .collect();
    let seen: BTreeSet<&str> = whoami.iter().map(String::as_str).collect();
    assert_eq!(
        seen,
        BTreeSet::from(["session=a", "session=b", "session=c"])
    );
    for who in ["a", "b", "c"] {
        assert!(
            out.stdout.contains(&format!(
                "✓ cookie jar {who}: 2 passed, 0 failed, 0 skipped in <t>\n"
            )),
            "{}",
            out.stdout
        );
    }
    // Each workflow's output is printed in one piece, never interleaved with another's.
    let blocks = blocks(out.stdout.split("\n5 files:").next().unwrap());
    assert_eq!(blocks.len(), 5, "{}", out.stdout);
    for block in &blocks {
        let name = block[0]
            .split(" (")
            .next()
            .unwrap()
            .trim_start_matches("▶ ");
        let last = block.iter().rev().find(|l| !l.is_empty()).unwrap();
        assert!(
            last.starts_with(&format!("✓ {name}:")) || last.starts_with(&format!("✗ {name}:")),
            "{block:#?}"
        );
        assert_eq!(
            block.iter().filter(|l| l.starts_with('▶')).count(),
            1,
            "{block:#?}"
        );
    }
    assert!(
        out.stdout.ends_with(
            "\n5 files: 3 passed, 2 failed\n  \
             ✓ tests/fixtures/parallel/a.yaml\n  \
             ✓ tests/fixtures/parallel/b.yaml\n  \
             ✓ tests/fixtures/parallel/c.yaml\n  \
             ✗ tests/fixtures/parallel/d_fails.yaml (exit 1)\n  \
             ✗ tests/fixtures/parallel/e_unreachable.yaml (exit 3)\n"
        ),
        "{}",
        out.stdout
    );
    // Not a terminal: no progress line, nothing at all on stderr.
    assert_eq!(out.stderr, "");
    // The report lists the workflows in the order given, whichever finished first.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let files: Vec<&str> = report["workflows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "tests/fixtures/parallel/a.yaml",
            "tests/fixtures/parallel/b.yaml",
            "tests/fixtures/parallel/c.yaml",
            "tests/fixtures/parallel/d_fails.yaml",
            "tests/fixtures/parallel/e_unreachable.yaml",
        ]
    );
}

#[test]
fn one_job_runs_the_files_one_after_another() {
    // Run one at a time, the first workflow can never see the other two log in.
    let server = support::cookie_server();
    let out = output(
        apiflow(&[
            "run",
            "tests/fixtures/parallel/a.yaml",
            "tests/fixtures/parallel/b.yaml",
            "--jobs",
            "1",
        ])
        .arg("--var")
        .arg(format!("base_url={}", server.url))
        .env_remove("CI"),
        &[(server.port, "<port>")],
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    let order: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with('▶')).collect();
    assert_eq!(
        order,
        [
            "▶ cookie jar a (tests/fixtures/parallel/a.yaml, 2 steps)",
            "▶ cookie jar b (tests/fixtures/parallel/b.yaml, 2 steps)"
        ]
    );
    assert!(
        out.stdout
            .contains("  ✗ wait for every login  GET http://127.0.0.1:<port>/whoami → 200 <t> [200 attempts]\n"),
        "{}",
        out.stdout
    );
    assert_eq!(out.stderr, "");
}

#[test]
fn a_var_that_no_workflow_declares_is_an_error() {
    let out = output(
        &mut apiflow(&[
            "run",
            "tests/fixtures/parallel",
            "--var",
            "base_url=http://127.0.0.1:9",
            "--var",
            "dead_url=http://127.0.0.1:9",
            "--var",
            "base_ur=x",
        ]),
        &[],
    );
    assert_eq!(out.code, 2);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "error: `--var base_ur` does not name an input of any of the 5 workflows\n  \
         = help: did you mean `base_url`?\n\n"
    );
}

#[test]
fn a_directory_without_workflows_is_an_error() {
    let dir = support::bin::TempDir::new("empty-dir");
    let out = output(&mut apiflow(&["run", &dir.0.display().to_string()]), &[]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.ends_with("holds no `.yaml` or `.yml` file\n\n"),
        "{}",
        out.stderr
    );
}

/// The files a shard runs, from the `▶` lines (the shard fixtures send nothing).
fn shard(args: &[&str]) -> Vec<String> {
    let mut command = apiflow(&["run"]);
    command.args(args);
    let out = output(&mut command, &[]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let file = regex::Regex::new(r"(?m)^▶ .* \((\S+), 1 step\)$").expect("a regex");
    file.captures_iter(&out.stdout)
        .map(|c| c[1].to_owned())
        .collect()
}

#[test]
fn shards_are_stable_disjoint_and_complete() {
    let all = shard(&["tests/fixtures/shard"]);
    assert_eq!(
        all,
        [
            "tests/fixtures/shard/nested/w7.yml",
            "tests/fixtures/shard/w1.yaml",
            "tests/fixtures/shard/w2.yaml",
            "tests/fixtures/shard/w3.yaml",
            "tests/fixtures/shard/w4.yaml",
            "tests/fixtures/shard/w5.yaml",
            "tests/fixtures/shard/w6.yaml",
        ]
    );
    let shards: Vec<Vec<String>> = (1..=3)
        .map(|i| shard(&["tests/fixtures/shard", "--shard", &format!("{i}/3")]))
        .collect();
    assert_eq!(
        shards,
        [
            vec![
                "tests/fixtures/shard/nested/w7.yml",
                "tests/fixtures/shard/w3.yaml",
                "tests/fixtures/shard/w6.yaml"
            ],
            vec![
                "tests/fixtures/shard/w1.yaml",
                "tests/fixtures/shard/w4.yaml"
            ],
            vec![
                "tests/fixtures/shard/w2.yaml",
                "tests/fixtures/shard/w5.yaml"
            ],
        ]
    );
    // Every file in exactly one shard.
    let mut union: Vec<String> = shards.concat();
    union.sort();
    assert_eq!(union, all);
    // The same shard on another run (another CI machine) is the same files.
    for (i, files) in shards.iter().enumerate() {
        let again = shard(&["tests/fixtures/shard", "--shard", &format!("{}/3", i + 1)]);
        assert_eq!(&again, files);
    }
    // One shard per file, and more shards than files.
    assert_eq!(
        shard(&["tests/fixtures/shard", "--shard", "7/7"]),
        ["tests/fixtures/shard/w6.yaml"]
    );
    assert_eq!(
        shard(&["tests/fixtures/shard", "--shard", "8/8"]),
        Vec::<String>::new()
    );
    let empty = output(
        &mut apiflow(&["run", "tests/fixtures/shard", "--shard", "8/8"]),
        &[],
    );
    assert_eq!(
        empty.stdout,
        "shard 8/8 holds no workflow file; nothing to run\n"
    );
}

#[test]
fn an_invalid_shard_is_a_usage_error() {
    for bad in ["0/3", "4/3", "1/0", "two/3", "3"] {
        let out = output(
            &mut apiflow(&["run", "tests/fixtures/shard", "--shard", bad]),
            &[],
        );
        assert_eq!(out.code, 2, "{bad}");
        assert!(
            out.stderr.contains(&format!(
                "invalid shard `{bad}`: expected I/N with 1 ≤ I ≤ N, e.g. `2/4`"
            )),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn no_progress_line_when_stderr_is_not_a_terminal() {
    // Retries and several files, each of which would show a progress line on a terminal.
    let server = support::cookie_server();
    let out = output(
        apiflow(&[
            "run",
            "tests/fixtures/retry.yaml",
            "tests/fixtures/shard",
            "--jobs",
            "2",
        ])
        .env_remove("CI")
        .arg("--var")
        .arg(format!("base_url={}", server.url)),
        &[(server.port, "<port>")],
    );
    assert_eq!(out.stderr, "", "{}", out.stdout);
    assert!(!out.stdout.contains('⠿'), "{}", out.stdout);
    assert!(!out.stdout.contains('\r'), "{}", out.stdout);
}
