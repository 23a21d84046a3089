//! The response as a step reads it: its body, headers and cookies, checked in the fixed order.

use std::sync::Arc;

use minijinja::Value as JinjaValue;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use url::Url;

use super::Runner;
use super::form::Page;
use super::send::Attempt;
use crate::diagnostic::Diagnostic;
use crate::event::{Capture, CheckResult};
use crate::http::{Exchange, Jar};
use crate::model::{Request, Step};
use crate::scope::{ResponseView, Variables};
use crate::span::Span;
use crate::validate::JsonRead;

impl Runner<'_> {
    /// Reads what an attempt received, in order: keeps an HTML page for `form_from`, ends at
    /// `stop_at`, then `retry.until`, the status, the captures and the expectations.
    pub(super) fn received(
        &mut self,
        step: &Step,
        request: &Request,
        exchanges: Vec<Exchange>,
        stop_at: Option<&str>,
        follow: bool,
        last: bool,
    ) -> Attempt {
        let workflow = &self.plan.workflow;
        let Some(last_exchange) = exchanges.last() else {
            return Attempt::failed(Diagnostic::error("no response").in_step(Some(&step.name)));
        };
        let response = &last_exchange.response;
        let status = response.status.as_u16();
        let content_type = response
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        if content_type.contains("html") {
            self.pages.insert(
                step.name.value.clone(),
                Page {
                    url: last_exchange.request.url.clone(),
                    body: Arc::clone(&response.body),
                },
            );
        }
        // A page the step expects (a consent page on the way to the redirect URI) ends the
        // redirects as well as the prefix does.
        let page_expected = step
            .expect
            .status
            .as_ref()
            .is_some_and(|s| s.value.iter().any(|p| p.matches(status)));
        if let (Some(prefix), true) = (
            stop_at,
            follow && !response.status.is_redirection() && !page_expected,
        ) {
            let ended = format!("{status} {}", last_exchange.request.url);
            let mut failed = Attempt::failed(
                Diagnostic::error(format!("`stop_at: {prefix}` was never reached"))
                    .at(&workflow.source, request.url.span, "this request")
                    .in_step(Some(&step.name))
                    .note(format!("the redirects ended at {ended}"))
                    .help(
                        "the prefix must match the start of a `Location` the server redirects to",
                    ),
            );
            failed.status = Some(status);
            failed.exchanges = exchanges;
            return failed;
        }
        let body = Arc::clone(&response.body);
        // Parsing a body costs more than anything else in a step: only what the step reads.
        let json = parse_json(self.plan.json_read(step), &content_type, &body);
        let headers: Arc<[(String, String)]> = header_pairs(&response.headers).into();
        let url = last_exchange.request.url.clone();
        let cookies: Arc<[(String, String)]> =
            cookie_pairs(&response.headers, self.jar, &url).into();
        #[allow(clippy::cast_possible_truncation)]
        let duration_ms = exchanges
            .iter()
            .map(|e| e.response.elapsed.as_millis() as u64)
            .sum();
        let view = |variables: Arc<Variables>, captures: &[(Capture, JinjaValue)]| {
            let mut view = ResponseView::new(
                variables,
                status,
                Arc::clone(&headers),
                Arc::clone(&cookies),
                Arc::clone(&body),
                json.clone(),
                duration_ms,
            );
            view.captures = captures
                .iter()
                .map(|(c, v)| (c.name.clone(), v.clone()))
                .collect();
            Arc::new(view)
        };
        let mut attempt = Attempt {
            exchanges: Vec::new(),
            failures: Vec::new(),
            captures: Vec::new(),
            checks: Vec::new(),
            transport: None,
            status: Some(status),
            until_failed: false,
        };
        if let Some(until) = step.retry.as_ref().and_then(|r| r.until) {
            let ctx = JinjaValue::from_dyn_object(view(Arc::clone(&self.variables), &[]));
            let held = self
                .plan
                .templates
                .eval(until, &ctx)
                .is_ok_and(|v| v.is_true());
            if !held {
                attempt.until_failed = true;
                if !last {
                    attempt.exchanges = exchanges;
                    return attempt;
                }
                let source = &workflow.templates[until.0 as usize];
                let attempts = step.retry.as_ref().map_or(1, |r| r.attempts);
                attempt.failures.push(
                    Diagnostic::error(format!(
                        "`retry.until` still did not hold after {attempts} attempts"
                    ))
                    .at(&workflow.source, source.span_of(None), "still false")
                    .in_step(Some(&step.name))
                    .note(format!("the last response: {status}")),
                );
                attempt.exchanges = exchanges;
                return attempt;
            }
        }
        if let Some(expected) = &step.expect.status {
            let wanted = match expected.value.as_slice() {
                [one] => one.to_string(),
                many => many
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" or "),
            };
            let passed = expected.value.iter().any(|p| p.matches(status));
            attempt.checks.push(CheckResult {
                what: format!("status {wanted}"),
                passed,
            });
            if !passed {
                attempt.failures.push(
                    Diagnostic::error(format!("expected status {wanted}, got {status}"))
                        .at(&workflow.source, expected.span, format!("got {status}"))
                        .in_step(Some(&step.name)),
                );
                attempt.exchanges = exchanges;
                return attempt;
            }
        }
        // Captures run before checks, so checks can use them.
        for extract in &step.extract {
            let ctx_view = view(Arc::clone(&self.variables), &attempt.captures);
            match self.capture(extract, step, &ctx_view, &url, &content_type) {
                Ok(value) => {
                    let json_value =
                        serde_json::to_value(&value).unwrap_or(serde_json::Value::Null);
                    if extract.secret {
                        self.secret_json(&json_value);
                    }
                    attempt.captures.push((
                        Capture {
                            name: extract.name.value.clone(),
                            value: json_value,
                            secret: extract.secret,
                        },
                        value,
                    ));
                }
                Err(failure) => attempt.failures.push(failure),
            }
        }
        let ctx = JinjaValue::from_dyn_object(view(Arc::clone(&self.variables), &attempt.captures));
        self.expectations(
            step,
            &ctx,
            json.as_deref(),
            &response.headers,
            &content_type,
            &body,
            &mut attempt,
        );
        attempt.exchanges = exchanges;
        attempt
    }
}

/// Parses the body as JSON when the step reads it and it looks like JSON, keeping only what
/// the step's paths select when that is all it reads.
fn parse_json(read: &JsonRead, content_type: &str, body: &[u8]) -> Option<Arc<serde_json::Value>> {
    if *read == JsonRead::Nothing {
        return None;
    }
    let looks_json = content_type.contains("json")
        || matches!(
            body.iter().find(|b| !b.is_ascii_whitespace()),
            Some(b'{' | b'[')
        );
    if !looks_json || body.is_empty() {
        return None;
    }
    let parsed = match read {
        JsonRead::Paths(pick) => pick.parse(body),
        JsonRead::Whole | JsonRead::Nothing => serde_json::from_slice(body),
    };
    parsed.ok().map(Arc::new)
}

/// Lists the response headers as text, the values of a repeated header joined with `, `.
fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = Vec::with_capacity(headers.keys_len());
    for name in headers.keys() {
        let mut value = String::new();
        for (index, part) in headers.get_all(name).iter().enumerate() {
            if index > 0 {
                value.push_str(", ");
            }
            value.push_str(&String::from_utf8_lossy(part.as_bytes()));
        }
        pairs.push((name.as_str().to_owned(), value));
    }
    pairs
}

/// Lists the cookies a step can read: the jar's for the URL, then those the response sets,
/// which replace any of the same name.
fn cookie_pairs(headers: &HeaderMap, jar: &Jar, url: &Url) -> Vec<(String, String)> {
    let mut pairs = jar.all_for(url);
    for value in headers.get_all(reqwest::header::SET_COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        let Some((name, rest)) = text.split_once('=') else {
            continue;
        };
        let value = rest.split(';').next().unwrap_or("").trim().to_owned();
        let name = name.trim().to_owned();
        pairs.retain(|(n, _)| *n != name);
        pairs.push((name, value));
    }
    pairs
}

/// Explains that a capture needs a text body, with the first bytes of the one received.
pub(super) fn not_text(
    source: &Arc<crate::span::Source>,
    span: Span,
    step: &Step,
    content_type: &str,
    body: &[u8],
) -> Diagnostic {
    let valid = std::str::from_utf8(body).map_or_else(|e| e.valid_up_to(), |_| body.len());
    let content_type = if content_type.is_empty() {
        "none"
    } else {
        content_type
    };
    let first: Vec<String> = body.iter().take(16).map(|b| format!("{b:02x}")).collect();
    Diagnostic::error("`body` is not UTF-8 text")
        .at(source, span, "needs text")
        .in_step(Some(&step.name))
        .note(format!("content-type: {content_type}"))
        .note(format!(
            "{} bytes, the first invalid one at offset {valid}; first bytes: {}",
            body.len(),
            first.join(" ")
        ))
        .help("capture binary bodies with a `regex`, or check `headers` and `status` instead")
}

/// Explains that a read needs a JSON body, with the start of the one received.
pub(super) fn not_json(
    source: &Arc<crate::span::Source>,
    span: Span,
    step: &Step,
    what: &str,
    content_type: &str,
    body: &[u8],
) -> Diagnostic {
    let start: String = String::from_utf8_lossy(&body[..body.len().min(60)])
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let content_type = if content_type.is_empty() {
        "none"
    } else {
        content_type
    };
    let start = if body.is_empty() {
        "the body is empty".to_owned()
    } else {
        format!("the body starts with `{start}`")
    };
    Diagnostic::error(format!(
        "`{what}` needs a JSON body, but the response is not JSON"
    ))
    .at(source, span, "needs JSON")
    .in_step(Some(&step.name))
    .note(format!("content-type: {content_type}"))
    .note(start)
}
