//! Expectations: `expect.json`, `expect.headers`, `expect.schema` and `expect.checks` against a
//! response.

use minijinja::Value as JinjaValue;
use reqwest::header::HeaderMap;

use super::Runner;
use super::response::not_json;
use super::send::Attempt;
use crate::check::body_schema::{CompiledSchema, MAX_VIOLATIONS};
use crate::diagnostic::Diagnostic;
use crate::format::model::Step;
use crate::report::event::CheckResult;

impl Runner<'_> {
    /// Checks `expect.json`, `expect.headers` and `expect.checks`, all of them, adding to the
    /// attempt's checks and failures.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn expectations(
        &mut self,
        step: &Step,
        ctx: &JinjaValue,
        json: Option<&serde_json::Value>,
        headers: &HeaderMap,
        content_type: &str,
        body: &[u8],
        attempt: &mut Attempt,
    ) {
        let workflow = &self.plan.workflow;
        let Attempt {
            failures, checks, ..
        } = attempt;
        for expectation in &step.expect.json {
            let path = &self.plan.paths[expectation.path.0 as usize];
            let expected = match self.value(&expectation.value, ctx, Some(step)) {
                Ok(v) => v,
                Err(d) => {
                    failures.push(d);
                    continue;
                }
            };
            let Some(document) = json else {
                failures.push(not_json(
                    &workflow.source,
                    expectation.span,
                    step,
                    path.as_str(),
                    content_type,
                    body,
                ));
                continue;
            };
            let found = path.query(document);
            let failure = match found.as_slice() {
                [one] if values_equal(one, &expected) => None,
                [one] => Some(format!("found {}", show(one))),
                [] => Some("matched nothing".to_owned()),
                many => Some(format!(
                    "matched {} values: {}",
                    many.len(),
                    show(&serde_json::Value::Array(
                        many.iter().map(|v| (*v).clone()).collect()
                    ))
                )),
            };
            checks.push(CheckResult {
                what: format!("{} == {}", path.as_str(), show(&expected)),
                passed: failure.is_none(),
            });
            if let Some(found) = failure {
                failures.push(
                    Diagnostic::error(format!("`{}` is not {}", path.as_str(), show(&expected)))
                        .at(&workflow.source, expectation.span, found.clone())
                        .in_step(Some(&step.name))
                        .note(format!("expected: {}", show(&expected)))
                        .note(format!("   found: {}", found.trim_start_matches("found "))),
                );
            }
        }
        for (name, value) in &step.expect.headers {
            let expected = match self.text(value, step) {
                Ok(v) => v,
                Err(d) => {
                    failures.push(d);
                    continue;
                }
            };
            // Read as captures and checks read headers: a value that is not ASCII is still text.
            let actual: Vec<String> = headers
                .get_all(name.value.as_str())
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            let passed = actual.contains(&expected);
            checks.push(CheckResult {
                what: format!("header {} == {expected}", name.value),
                passed,
            });
            if !passed {
                let found = if actual.is_empty() {
                    "no such header".to_owned()
                } else {
                    format!("`{}`", actual.join(", "))
                };
                failures.push(
                    Diagnostic::error(format!("header `{}` is not `{expected}`", name.value))
                        .at(&workflow.source, name.span, found.clone())
                        .in_step(Some(&step.name))
                        .note(format!("expected: `{expected}`"))
                        .note(format!("   found: {found}")),
                );
            }
        }
        if let (Some(schema), Some(compiled)) = (&step.expect.schema, self.plan.body_schema(step)) {
            let failure = match json {
                None => Some(not_json(
                    &workflow.source,
                    schema.span,
                    step,
                    "schema",
                    content_type,
                    body,
                )),
                Some(document) => schema_failure(compiled, document, schema.span, step, workflow),
            };
            checks.push(CheckResult {
                what: format!("body matches {}", compiled.what),
                passed: failure.is_none(),
            });
            failures.extend(failure);
        }
        for check in &step.expect.checks {
            let source = &workflow.templates[check.0 as usize];
            let result = self.plan.templates.eval(*check, ctx);
            checks.push(CheckResult {
                what: source.text.clone(),
                passed: result.as_ref().is_ok_and(minijinja::Value::is_true),
            });
            match result {
                Ok(value) if value.is_true() => {}
                Ok(_) => {
                    let mut diagnostic =
                        Diagnostic::error(format!("check failed: `{}`", source.text))
                            .at(&workflow.source, source.span_of(None), "is false")
                            .in_step(Some(&step.name));
                    for (operand, value) in self.plan.templates.operands(*check, ctx) {
                        diagnostic = diagnostic.note(format!("{operand} = {value}"));
                    }
                    failures.push(diagnostic);
                }
                Err(error) => {
                    let uses_json = self
                        .plan
                        .templates
                        .variables(*check)
                        .iter()
                        .any(|(n, _)| n == "json");
                    if json.is_none() && uses_json {
                        failures.push(not_json(
                            &workflow.source,
                            source.span_of(None),
                            step,
                            &source.text,
                            content_type,
                            body,
                        ));
                    } else {
                        failures.push(
                            Diagnostic::error(format!(
                                "check `{}` could not be evaluated: {}",
                                source.text, error.message
                            ))
                            .at(&workflow.source, source.span_of(error.range), "here")
                            .in_step(Some(&step.name)),
                        );
                    }
                }
            }
        }
    }
}

/// Lists every way a body breaks its schema (the first `MAX_VIOLATIONS`), or `None` when it
/// matches.
fn schema_failure(
    compiled: &CompiledSchema,
    document: &serde_json::Value,
    span: crate::span::Span,
    step: &Step,
    workflow: &crate::format::model::Workflow,
) -> Option<Diagnostic> {
    let (violations, more) = compiled.violations(document, MAX_VIOLATIONS);
    if violations.is_empty() {
        return None;
    }
    let total = violations.len() + more;
    let mut diagnostic = Diagnostic::error(format!(
        "the body does not match the {} ({total} violation{})",
        compiled.what,
        if total == 1 { "" } else { "s" }
    ))
    .at(&workflow.source, span, "does not match")
    .in_step(Some(&step.name));
    for violation in &violations {
        diagnostic = diagnostic.note(violation.to_string());
    }
    if more > 0 {
        diagnostic = diagnostic.note(format!("and {more} more"));
    }
    Some(diagnostic)
}

/// Compares JSON values as a check does: numbers by value, so `1` equals `1.0`.
fn values_equal(actual: &serde_json::Value, expected: &serde_json::Value) -> bool {
    match (actual, expected) {
        (serde_json::Value::Number(a), serde_json::Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => actual == expected,
    }
}

/// Shows a JSON value compactly, cut when long.
pub fn show(value: &serde_json::Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 200 {
        format!("{}…", text.chars().take(200).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{show, values_equal};

    #[test]
    fn numbers_compare_by_value() {
        assert!(values_equal(&json!(1), &json!(1.0)));
        assert!(values_equal(&json!(-2.5), &json!(-2.5)));
        assert!(!values_equal(&json!(1), &json!(2)));
        assert!(!values_equal(&json!(1), &json!("1")));
        assert!(!values_equal(&json!(0), &json!(false)));
        assert!(!values_equal(&json!(null), &json!(false)));
        assert!(values_equal(
            &json!({"a": [1, "x"]}),
            &json!({"a": [1, "x"]})
        ));
        assert!(!values_equal(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
        // Only a number compared as a whole: inside lists and maps `serde_json`'s equality holds,
        // for which an integer is not a float.
        assert!(!values_equal(&json!([1]), &json!([1.0])));
    }

    #[test]
    fn values_are_shown_compactly_and_cut_after_200_characters() {
        assert_eq!(
            show(&json!({"b": [1, 2], "a": "x y"})),
            r#"{"b":[1,2],"a":"x y"}"#
        );
        // 198 characters and two quotes: not cut.
        let exact = "é".repeat(198);
        assert_eq!(show(&json!(exact)), format!("\"{exact}\""));
        // Cut by characters, never inside one.
        let shown = show(&json!("é".repeat(199)));
        assert_eq!(shown, format!("\"{}…", "é".repeat(199)));
        assert_eq!(shown.chars().count(), 201);
    }
}
