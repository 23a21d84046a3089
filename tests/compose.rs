//! Composition and control flow (`uses`/`with`/`outputs`, `if`, `for_each`) and browserless
//! sign-in (`follow_redirects` + `stop_at`, `form_from`, `css` captures): fixture workflows
//! under `tests/fixtures/compose/` against an in-process server, through the library and the
//! binary, with their exact output and errors.

mod common;

use common::{ROOT, normalize};

/// The binary, run from the crate root so fixture paths print as `tests/fixtures/…`.
fn apiflow(args: &[&str]) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::cargo_bin("apiflow").expect("the binary is built");
    command.current_dir(ROOT).args(args);
    command
}

/// Exit code, stdout and stderr of a binary run; ports and durations made stable.
fn output(command: &mut assert_cmd::Command, port: u16) -> (i32, String, String) {
    let out = command.output().expect("the binary runs");
    let step_time = regex::Regex::new(r"(→ \d{3}(?: \([^)]*\))? )\S+").expect("a regex");
    let run_time = regex::Regex::new(r"(?m)( skipped in )\S+$").expect("a regex");
    let stable = |bytes: &[u8]| {
        let text = String::from_utf8(bytes.to_vec()).expect("UTF-8 output");
        let text = normalize(&text, &[(port, "<port>")]);
        let text = step_time.replace_all(&text, "${1}<t>");
        run_time.replace_all(&text, "${1}<t>").into_owned()
    };
    (
        out.status.code().expect("an exit code"),
        stable(&out.stdout),
        stable(&out.stderr),
    )
}

fn fixture(name: &str) -> String {
    format!("tests/fixtures/compose/{name}")
}

// ---------------------------------------------------------------------------------------------
// Errors: exit 2 before anything is sent, exit 1 at run time; the exact text.

#[test]
fn composition_errors_are_caught_before_anything_is_sent() {
    for name in [
        "missing_input",
        "unknown_with",
        "undeclared_output",
        "cycle_a",
        "if_undefined",
        "form_from_unknown_step",
    ] {
        let (code, stdout, stderr) = output(
            &mut apiflow(&["run", &fixture(&format!("invalid/{name}.yaml"))]),
            0,
        );
        assert_eq!(code, 2, "{name}: {stdout}{stderr}");
        assert_eq!(stdout, "", "{name}");
        insta::assert_snapshot!(format!("invalid_{name}"), stderr);
    }
}
