//! Running the `apiflow` binary from the crate root and reading what it printed, made stable.

use super::ROOT;

/// The binary, run from the crate root so fixture paths print as `tests/fixtures/…`, and never
/// as a step of GitHub Actions, whatever runs the tests.
pub fn apiflow(args: &[&str]) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::cargo_bin("apiflow").expect("the binary is built");
    command
        .current_dir(ROOT)
        .env_remove("NO_COLOR")
        .env_remove("APIFLOW_LIVE")
        .env_remove("GITHUB_ACTIONS")
        .args(args);
    command
}

/// What a run of the binary printed, with ports and durations made stable.
#[derive(Debug)]
pub struct Output {
    /// The exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs a command; each `(port, placeholder)` replaces a server's port, and durations (timings
/// included) print as `<t>`.
pub fn output(command: &mut assert_cmd::Command, ports: &[(u16, &str)]) -> Output {
    let out = command.output().expect("the binary runs");
    // Durations follow a step's status and end the summary line.
    let step_time = regex::Regex::new(r"(?m)(→ \d{3}(?: \([^)]*\))? )\S+").expect("a regex");
    let run_time = regex::Regex::new(r"(?m)( skipped in )\S+").expect("a regex");
    // `-v` ends each exchange with its timings, which the timing tests read from raw output.
    let timings = regex::Regex::new(r"(?m)^( *\* timings: ).*$").expect("a regex");
    let stable = |bytes: &[u8]| {
        let text = String::from_utf8(bytes.to_vec()).expect("UTF-8 output");
        let text = super::normalize(&text, ports);
        let text = step_time.replace_all(&text, "${1}<t>");
        let text = timings.replace_all(&text, "${1}<t>");
        run_time.replace_all(&text, "${1}<t>").into_owned()
    };
    Output {
        code: out.status.code().expect("an exit code"),
        stdout: stable(&out.stdout),
        stderr: stable(&out.stderr),
    }
}

/// A fresh directory under the system's temporary directory, removed when dropped.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    /// Creates `apiflow-NAME-PID`, empty.
    pub fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("apiflow-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("a temporary directory");
        TempDir(path)
    }

    /// Returns a path inside the directory, as text.
    pub fn file(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Tells whether the tests run in CI, where every tool they need must be installed.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false"))
}

/// Returns the path of an external tool, or `None` after printing why the test is skipped;
/// in CI a missing tool fails the test.
pub fn tool(path: &str, package: &str) -> Option<std::path::PathBuf> {
    let path = std::path::PathBuf::from(path);
    if path.exists() {
        return Some(path);
    }
    assert!(
        !in_ci(),
        "`{}` is missing; CI installs the Debian package `{package}` (see .ci/run)",
        path.display()
    );
    eprintln!(
        "skipped: `{}` is not installed (Debian package `{package}`); CI runs this test",
        path.display()
    );
    None
}
