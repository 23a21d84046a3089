//! Runs the RFC 9535 compliance test suite (CTS) through `apiflow::query::jsonpath::JsonPath`.
//!
//! Cases that fail today are listed by name in `tests/data/jsonpath-cts/known-failures.txt`.
//! The test fails on any other failure (a regression) and on any listed case that now passes,
//! so the list can only shrink.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;

use apiflow::query::jsonpath::JsonPath;
use serde_json::Value;

fn data_dir() -> PathBuf {
    PathBuf::from(crate::support::ROOT).join("tests/data/jsonpath-cts")
}

/// Runs one case and explains why it failed, if it did.
fn run_case(case: &Value) -> Result<(), String> {
    let selector = case["selector"]
        .as_str()
        .ok_or("the case has no `selector` string")?;
    let parsed = JsonPath::parse(selector);
    if case["invalid_selector"].as_bool() == Some(true) {
        return match parsed {
            Ok(_) => Err("an invalid selector parsed".to_owned()),
            Err(_) => Ok(()),
        };
    }
    let path = parsed.map_err(|e| format!("a valid selector did not parse: {e}"))?;
    let actual = Value::Array(path.query(&case["document"]).into_iter().cloned().collect());
    let accepted: Vec<&Value> = match (&case["result"], &case["results"]) {
        (Value::Array(_), _) => vec![&case["result"]],
        (_, Value::Array(results)) => results.iter().collect(),
        _ => return Err("the case has neither `result` nor `results`".to_owned()),
    };
    if accepted.contains(&&actual) {
        Ok(())
    } else {
        Err(format!("got {actual}, expected {}", accepted[0]))
    }
}

#[test]
fn jsonpath_compliance_test_suite() {
    let dir = data_dir();
    let cts: Value = serde_json::from_str(&fs::read_to_string(dir.join("cts.json")).unwrap())
        .expect("cts.json is valid JSON");
    let known: BTreeSet<String> = fs::read_to_string(dir.join("known-failures.txt"))
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect();
    let cases = cts["tests"]
        .as_array()
        .expect("cts.json has a `tests` array");

    // A panic inside the library is a failure of that case, not of the whole run.
    let default_hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));

    let mut passed = 0usize;
    let mut seen = BTreeSet::new();
    let mut regressions = String::new();
    let mut now_passing = String::new();
    for case in cases {
        let name = case["name"].as_str().unwrap_or("<unnamed>").to_owned();
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| run_case(case)))
            .unwrap_or_else(|_| Err("the library panicked".to_owned()));
        let listed = known.contains(&name);
        match outcome {
            Ok(()) => {
                passed += 1;
                if listed {
                    let _ = writeln!(
                        now_passing,
                        "  {name}: passes now, remove it from known-failures.txt"
                    );
                }
            }
            Err(why) if !listed => {
                let selector = case["selector"].as_str().unwrap_or_default();
                let _ = writeln!(regressions, "  {name} (`{selector}`): {why}");
            }
            Err(_) => {}
        }
        seen.insert(name);
    }
    panic::set_hook(default_hook);

    let stale: Vec<&String> = known.difference(&seen).collect();
    println!(
        "jsonpath cts: {passed}/{} pass, {} known failures",
        cases.len(),
        known.len()
    );
    let mut report = String::new();
    if !regressions.is_empty() {
        let _ = write!(
            report,
            "cases failing that are not in known-failures.txt:\n{regressions}"
        );
    }
    if !now_passing.is_empty() {
        let _ = write!(report, "known failures that pass now:\n{now_passing}");
    }
    for name in stale {
        let _ = writeln!(
            report,
            "  {name}: no such case in cts.json, remove it from known-failures.txt"
        );
    }
    assert!(report.is_empty(), "{report}");
}
