//! GitHub Actions: each failure of a failed step, and each failed threshold, as a workflow
//! command (`::error file=…,line=…,col=…,title=…::message`) that GitHub shows on the workflow
//! file's line; the step summary is the Markdown summary, appended to `$GITHUB_STEP_SUMMARY`.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::Value;

use crate::report::event::RunReport;
use crate::report::figures::Figures;
use crate::report::markdown::{failures, location};

/// What a run on GitHub Actions writes besides its usual output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Actions {
    /// The file the step summary is appended to (`$GITHUB_STEP_SUMMARY`), when set.
    pub step_summary: Option<PathBuf>,
}

impl Actions {
    /// Reads the environment through `var`: `Some` when `GITHUB_ACTIONS` is `true`, as GitHub
    /// sets it on every step it runs.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Option<Actions> {
        if var("GITHUB_ACTIONS").as_deref() != Some("true") {
            return None;
        }
        Some(Actions {
            step_summary: var("GITHUB_STEP_SUMMARY")
                .filter(|path| !path.is_empty())
                .map(PathBuf::from),
        })
    }
}

/// Escapes a command's message: `%`, carriage returns and line feeds.
fn data(value: &str) -> String {
    value
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command's property: as a message, and `:` and `,` too.
fn property(value: &str) -> String {
    data(value).replace(':', "%3A").replace(',', "%2C")
}

/// Writes one `::error` command.
fn error(out: &mut String, place: Option<(&str, u32, u32)>, title: &str, message: &str) {
    out.push_str("::error ");
    if let Some((file, line, column)) = place {
        let _ = write!(out, "file={},", property(file));
        if line > 0 {
            let _ = write!(out, "line={line},");
            if column > 0 {
                let _ = write!(out, "col={column},");
            }
        }
    }
    let _ = writeln!(out, "title={}::{}", property(title), data(message));
}

/// Returns a `FILE:LINE:COLUMN` text as its parts.
fn split_location(text: &str) -> Option<(&str, u32, u32)> {
    let (rest, column) = text.rsplit_once(':')?;
    let (file, line) = rest.rsplit_once(':')?;
    Some((file, line.parse().ok()?, column.parse().ok()?))
}

/// Writes the annotations of runs and of load runs (the JSON report's `load` objects): one per
/// failure of a failed step, at its place in the workflow file (a check's line, a request's
/// URL), and one per failed threshold. The same failure in many iterations is written once.
pub fn annotations(reports: &[RunReport], loads: &[Value]) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut push = |line: String| {
        if !lines.contains(&line) {
            lines.push(line);
        }
    };
    for run in reports {
        for (path, failure) in failures(run, true) {
            let mut message = failure.title.clone();
            for note in &failure.notes {
                let _ = write!(message, "\n{}", note.trim());
            }
            if let Some(help) = &failure.help {
                let _ = write!(message, "\nhelp: {help}");
            }
            let title = format!("{}: step `{path}` failed", run.name);
            let mut line = String::new();
            match location(failure).as_deref().and_then(split_location) {
                Some(place) => error(&mut line, Some(place), &title, &message),
                None => error(&mut line, Some((&run.file, 0, 0)), &title, &message),
            }
            push(line);
        }
    }
    for (load, figures) in loads.iter().map(|l| (l, Figures::read(l))) {
        let places: Vec<Option<String>> = load
            .get("thresholds")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|t| t.get("location").and_then(Value::as_str).map(str::to_owned))
            .collect();
        for (index, verdict) in figures.thresholds.iter().enumerate() {
            if verdict.passed {
                continue;
            }
            let title = format!("{}: threshold `{}` failed", figures.name, verdict.threshold);
            let message = format!(
                "threshold `{}` failed: {}",
                verdict.threshold,
                verdict.actual.as_deref().unwrap_or("the step never ran")
            );
            let place = places.get(index).cloned().flatten();
            let mut line = String::new();
            error(
                &mut line,
                place.as_deref().and_then(split_location),
                &title,
                &message,
            );
            push(line);
        }
    }
    lines.concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_and_messages_are_escaped_as_github_reads_them() {
        let mut out = String::new();
        error(
            &mut out,
            Some(("dir,1/a:b.yaml", 3, 7)),
            "W: step `a, b` 100%",
            "line one: 50%\r\nline two, done",
        );
        assert_eq!(
            out,
            "::error file=dir%2C1/a%3Ab.yaml,line=3,col=7,title=W%3A step `a%2C b` 100%25::line one: 50%25%0D%0Aline two, done\n"
        );
        let mut out = String::new();
        error(&mut out, None, "t", "m");
        assert_eq!(out, "::error title=t::m\n");
    }

    #[test]
    fn only_github_actions_turns_it_on() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(Actions::from_env(env(&[])), None);
        assert_eq!(Actions::from_env(env(&[("GITHUB_ACTIONS", "false")])), None);
        assert_eq!(
            Actions::from_env(env(&[
                ("GITHUB_ACTIONS", "true"),
                ("GITHUB_STEP_SUMMARY", "/tmp/summary.md")
            ])),
            Some(Actions {
                step_summary: Some(PathBuf::from("/tmp/summary.md"))
            })
        );
        assert_eq!(split_location("a:b.yaml:12:5"), Some(("a:b.yaml", 12, 5)));
    }

    #[test]
    fn failed_thresholds_are_annotated_without_a_file() {
        let load = crate::report::charts::tests::fixed_load();
        insta::assert_snapshot!(annotations(&[], &[load]));
    }
}
