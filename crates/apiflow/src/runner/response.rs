//! The response as a step reads it: its body, headers and cookies, checked in the fixed order.

use std::sync::Arc;

use minijinja::Value as JinjaValue;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use url::Url;

use super::Runner;
use super::form::Page;
use super::send::Attempt;
use crate::check::validate::JsonRead;
use crate::diagnostic::Diagnostic;
use crate::format::model::{Request, Step};
use crate::http::{Exchange, Jar};
use crate::report::event::{Capture, CheckResult};
use crate::span::Span;
use crate::template::scope::{ResponseView, Variables};

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
        // A cookie with a secret-sounding name is a secret from the moment it is set, as it is
        // when captured or loaded from `--cookie-jar`.
        for exchange in &exchanges {
            for value in exchange
                .response
                .headers
                .get_all(reqwest::header::SET_COOKIE)
            {
                let Ok(text) = value.to_str() else { continue };
                let pair = text.split(';').next().unwrap_or("");
                if let Some((name, value)) = pair.split_once('=')
                    && crate::names::is_secret_name(name.trim())
                {
                    self.secret_text(value.trim());
                }
            }
        }
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
            .unwrap_or("");
        if content_type.as_bytes().windows(4).any(|w| w == b"html") {
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
        let json = parse_json(self.plan.json_read(step), content_type, &body);
        let url = &last_exchange.request.url;
        // Headers and cookies as templates read them, made when a template first reads the
        // response: most steps of a load test only check the status.
        let jar = self.jar;
        let pairs = std::cell::OnceCell::new();
        let pairs = || -> &(Pairs, Pairs) {
            pairs.get_or_init(|| {
                (
                    header_pairs(&response.headers).into(),
                    cookie_pairs(&response.headers, jar, url).into(),
                )
            })
        };
        #[allow(clippy::cast_possible_truncation)]
        let duration_ms = exchanges
            .iter()
            .map(|e| e.response.elapsed.as_millis() as u64)
            .sum();
        let timings = last_exchange.response.timings;
        let view = |variables: Arc<Variables>, captures: &[(Capture, JinjaValue)]| {
            let (headers, cookies) = pairs();
            let mut view = ResponseView::new(
                variables,
                status,
                Arc::clone(headers),
                Arc::clone(cookies),
                Arc::clone(&body),
                json.clone(),
                duration_ms,
            );
            view.timings = timings;
            view.captures = captures
                .iter()
                .map(|(c, v)| (c.name.clone(), v.clone()))
                .collect();
            Arc::new(view)
        };
        let mut attempt = Attempt {
            exchanges: Vec::new(),
            failures: Vec::new(),
            warnings: Vec::new(),
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
        if let Some(script) = &step.script.after {
            let text = String::from_utf8_lossy(&body);
            let headers = &pairs().0;
            let secret = self.holds_secret(&text)
                || headers.iter().any(|(_, value)| self.holds_secret(value));
            let seen = apiflow_script::Response {
                code: status,
                status: response
                    .status
                    .canonical_reason()
                    .unwrap_or_default()
                    .to_owned(),
                headers: headers.to_vec(),
                body: text.into_owned(),
                time_ms: duration_ms,
                size: body.len() as u64,
                secret,
            };
            let result = self.script_after(step, script, &last_exchange.request, seen);
            attempt.checks.extend(result.checks);
            attempt.failures.extend(result.failures);
            if result.stopped {
                attempt.exchanges = exchanges;
                return attempt;
            }
        }
        if let Some(expected) = &step.expect.status {
            let mut what = String::from("status ");
            for (index, pattern) in expected.value.iter().enumerate() {
                if index > 0 {
                    what.push_str(" or ");
                }
                pattern.push_to(&mut what);
            }
            let passed = expected.value.iter().any(|p| p.matches(status));
            if !passed {
                let wanted = &what["status ".len()..];
                attempt.failures.push(
                    Diagnostic::error(format!("expected status {wanted}, got {status}"))
                        .at(&workflow.source, expected.span, format!("got {status}"))
                        .in_step(Some(&step.name)),
                );
                attempt.checks.push(CheckResult { what, passed });
                attempt.exchanges = exchanges;
                return attempt;
            }
            attempt.checks.push(CheckResult { what, passed });
        }
        // Then what the step's OpenAPI operation declares; captures still run after it.
        if let Some((description, operation)) = self.plan.operation(step) {
            self.check_declared(
                step,
                description,
                operation,
                status,
                content_type,
                &body,
                &mut attempt,
            );
        }
        // Captures run before checks, so checks can use them.
        for extract in &step.extract {
            let ctx_view = view(Arc::clone(&self.variables), &attempt.captures);
            match self.capture(extract, step, &ctx_view, url, content_type) {
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
        // Only `json:` values and `checks:` read the response through templates.
        let ctx = if step.expect.json.is_empty() && step.expect.checks.is_empty() {
            JinjaValue::UNDEFINED
        } else {
            JinjaValue::from_dyn_object(view(Arc::clone(&self.variables), &attempt.captures))
        };
        self.expectations(
            step,
            &ctx,
            json.as_deref(),
            &response.headers,
            content_type,
            &body,
            &mut attempt,
        );
        attempt.exchanges = exchanges;
        attempt
    }
}

/// Name and value pairs, as templates read headers and cookies.
type Pairs = Arc<[(String, String)]>;

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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use reqwest::header::{HeaderMap, HeaderValue, SET_COOKIE};
    use serde_json::json;
    use url::Url;

    use super::{cookie_pairs, header_pairs, not_json, not_text, parse_json};
    use crate::check::validate::JsonRead;
    use crate::http::Jar;
    use crate::query::pick::{Part, Pick};
    use crate::runner::tests::one_step;
    use crate::span::Span;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_body_is_parsed_when_the_step_reads_it_and_it_looks_like_json() {
        let whole = &JsonRead::Whole;
        assert_eq!(
            parse_json(whole, "application/json", br#"{"a":1}"#).as_deref(),
            Some(&json!({"a": 1}))
        );
        assert_eq!(
            parse_json(whole, "application/problem+json", b"42").as_deref(),
            Some(&json!(42))
        );
        // No JSON content type, but a body that starts like JSON after whitespace.
        assert_eq!(
            parse_json(whole, "text/plain", b" \n[1, 2]").as_deref(),
            Some(&json!([1, 2]))
        );
        assert_eq!(
            parse_json(&JsonRead::Nothing, "application/json", b"{}"),
            None
        );
        assert_eq!(parse_json(whole, "text/html", b"<p>{}</p>"), None);
        assert_eq!(parse_json(whole, "text/plain", b"42"), None);
        assert_eq!(parse_json(whole, "application/json", b""), None);
        assert_eq!(parse_json(whole, "application/json", br#"{"a":"#), None);
    }

    #[test]
    fn a_step_reading_single_paths_keeps_only_what_they_select() {
        let mut pick = Pick::default();
        pick.add(&[Part::Name("id".to_owned())]);
        let read = JsonRead::Paths(Arc::new(pick));
        let body = br#"{"id":7,"items":[1,2,3],"next":{"id":8}}"#;
        assert_eq!(
            parse_json(&read, "application/json", body).as_deref(),
            Some(&json!({"id": 7}))
        );
        assert_eq!(parse_json(&read, "application/json", b"{\"id\":"), None);
    }

    #[test]
    fn a_repeated_header_is_one_value_and_any_bytes_are_text() {
        let mut headers = HeaderMap::new();
        headers.append("Link", HeaderValue::from_static("</a>; rel=next"));
        headers.insert(
            "X-Name",
            HeaderValue::from_bytes(b"caf\xc3\xa9 \xff").unwrap(),
        );
        headers.append("link", HeaderValue::from_static("</z>; rel=last"));
        assert_eq!(
            header_pairs(&headers),
            pairs(&[
                ("link", "</a>; rel=next, </z>; rel=last"),
                ("x-name", "café \u{fffd}"),
            ])
        );
        assert!(header_pairs(&HeaderMap::new()).is_empty());
    }

    #[test]
    fn cookies_the_response_sets_replace_those_of_the_jar() {
        let url = Url::parse("http://app.test/a").unwrap();
        let jar = Jar::default();
        let mut earlier = HeaderMap::new();
        earlier.append(SET_COOKIE, HeaderValue::from_static("session=old; Path=/"));
        earlier.append(SET_COOKIE, HeaderValue::from_static("lang=en"));
        jar.store(&url, &earlier);
        let mut headers = HeaderMap::new();
        headers.append(
            SET_COOKIE,
            HeaderValue::from_static(" session = new ; HttpOnly"),
        );
        headers.append(SET_COOKIE, HeaderValue::from_static("no-equals-sign"));
        headers.append(SET_COOKIE, HeaderValue::from_static("cleared=; Max-Age=0"));
        assert_eq!(
            cookie_pairs(&headers, &jar, &url),
            pairs(&[("lang", "en"), ("session", "new"), ("cleared", "")])
        );
        assert!(cookie_pairs(&HeaderMap::new(), &Jar::default(), &url).is_empty());
    }

    #[test]
    fn a_body_that_is_not_json_is_shown_by_its_start() {
        let workflow = one_step();
        let (step, source) = (&workflow.steps[0], &workflow.source);
        let span = Span::new(4, 9, 4);
        let body = format!("<html>\n\t<body>{}</body>", "x".repeat(80));
        let diagnostic = not_json(source, span, step, "$.id", "", body.as_bytes());
        assert_eq!(
            diagnostic.title,
            "`$.id` needs a JSON body, but the response is not JSON"
        );
        assert_eq!(
            (diagnostic.span, diagnostic.label.as_str()),
            (span, "needs JSON")
        );
        // The first 60 bytes, without their line breaks and tabs.
        let start = format!("<html><body>{}", "x".repeat(46));
        assert_eq!(
            diagnostic.notes,
            [
                "content-type: none".to_owned(),
                format!("the body starts with `{start}`")
            ]
        );
        let empty = not_json(source, span, step, "json.id", "text/plain", b"");
        assert_eq!(
            empty.notes,
            ["content-type: text/plain", "the body is empty"]
        );
    }

    #[test]
    fn a_body_that_is_not_text_shows_where_text_ends() {
        let workflow = one_step();
        let (step, source) = (&workflow.steps[0], &workflow.source);
        let body = b"ok\xff\x00 and twenty more bytes";
        let diagnostic = not_text(source, Span::new(4, 9, 4), step, "image/png", body);
        assert_eq!(diagnostic.title, "`body` is not UTF-8 text");
        assert_eq!(
            diagnostic.notes,
            [
                "content-type: image/png",
                "26 bytes, the first invalid one at offset 2; first bytes: \
                 6f 6b ff 00 20 61 6e 64 20 74 77 65 6e 74 79 20",
            ]
        );
        assert_eq!(
            not_text(source, Span::default(), step, "", b"\xc3").notes[0],
            "content-type: none"
        );
    }
}
