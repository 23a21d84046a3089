//! The request: URL, query, headers, auth and body rendered into what is sent.

use std::sync::Arc;

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};

use super::{DEFAULT_TIMEOUT, Runner};
use crate::diagnostic::Diagnostic;
use crate::format::model::{Auth, Body as BodySpec, Request, Step, Text};
use crate::http::body::Body;
use crate::http::{DEFAULT_MAX_REDIRECTS, Outgoing};
use crate::span::Spanned;

impl Runner<'_> {
    /// Renders the request to send, with whether to follow redirects and how many.
    pub(super) fn build(
        &mut self,
        step: &Step,
        request: &Request,
    ) -> Result<(Outgoing, bool, u32), Diagnostic> {
        let workflow = &self.plan.workflow;
        let form = match &request.form_from {
            Some(form_from) => Some(self.form(step, form_from)?),
            None => None,
        };
        let mut url_text = self.text(&request.url.value, step)?;
        if let Some((_, operation)) = self.plan.operation(step) {
            url_text = self.operation_url(step, request, operation, &url_text)?;
        }
        if let (Some(form), true) = (&form, url_text.is_empty()) {
            url_text = form.action.to_string();
        }
        let mut url = self.urls.parse(&url_text).map_err(|e| {
            Diagnostic::error(format!("invalid URL `{url_text}`: {e}"))
                .at(&workflow.source, request.url.span, "rendered from here")
                .in_step(Some(&step.name))
                .help("a URL starts with `http://` or `https://`")
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(
                Diagnostic::error(format!("unsupported URL scheme `{}`", url.scheme()))
                    .at(&workflow.source, request.url.span, "rendered from here")
                    .in_step(Some(&step.name))
                    .help("apiflow sends `http` and `https` requests"),
            );
        }
        // A password written in the URL is sent as Basic auth: it and that credential are secrets.
        if let Some((user, Some(password))) = crate::http::url_credentials(&url) {
            self.secret_text(&password);
            self.secret_text(&crate::http::basic_credential(&user, &password));
        }
        // As written, too: a password whose bytes are not text cannot be decoded to be masked.
        if let Some(written) = url.password() {
            self.secret_text(written);
        }
        if !request.query.is_empty() {
            let mut pairs = Vec::with_capacity(request.query.len());
            for (name, value) in &request.query {
                pairs.push((name.value.clone(), self.text(value, step)?));
            }
            url.query_pairs_mut().extend_pairs(pairs);
        }
        let mut headers = HeaderMap::new();
        let defaults = &workflow.defaults;
        for (name, value) in defaults.headers.iter().chain(&request.headers) {
            let rendered = self.text(value, step)?;
            let header = header_name(name, step, &workflow.source)?;
            // A template that renders to nothing leaves the header out (and a default of the
            // same name), as `curl -H 'Name:'` does; a literal `""` still sends it empty.
            if rendered.is_empty() && matches!(value, Text::Template(_)) {
                headers.remove(&header);
                continue;
            }
            let value = HeaderValue::from_str(&rendered).map_err(|_| {
                Diagnostic::error(format!(
                    "the value of header `{}` cannot be sent",
                    name.value
                ))
                .at(&workflow.source, name.span, "this header")
                .in_step(Some(&step.name))
                .help("header values may not hold line breaks or control characters")
            })?;
            headers.insert(header, value);
        }
        match &request.auth {
            Some(Auth::Basic { username, password }) => {
                let user = self.text(username, step)?;
                let pass = self.text(password, step)?;
                let token = crate::http::basic_credential(&user, &pass);
                // A credential is always a secret, whatever the names of its parts.
                self.secret_text(&token);
                if !pass.is_empty() {
                    self.secret_text(&pass);
                }
                headers.insert(AUTHORIZATION, header_value(&["Basic ", &token].concat())?);
            }
            Some(Auth::Bearer(token)) => {
                let token = self.text(token, step)?;
                self.secret_text(&token);
                headers.insert(AUTHORIZATION, header_value(&["Bearer ", &token].concat())?);
            }
            // Answered or signed once the request is whole (`auth.rs`).
            Some(Auth::Digest { .. } | Auth::AwsSigV4(_)) | None => {}
        }
        if let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
            let credential = value.split_once(' ').map_or(value, |(_, c)| c);
            self.secret_text(credential);
        }
        let body = match &request.body {
            None if form.as_ref().is_some_and(|f| f.method != Method::GET) => {
                let mut encoder = url::form_urlencoded::Serializer::new(String::new());
                for (name, value) in form.as_ref().map_or(&[][..], |f| &f.fields[..]) {
                    encoder.append_pair(name, value);
                }
                headers
                    .entry(CONTENT_TYPE)
                    .or_insert(HeaderValue::from_static(
                        "application/x-www-form-urlencoded",
                    ));
                Some(Body::from(encoder.finish().into_bytes()))
            }
            None => None,
            Some(BodySpec::Json(value)) => {
                let ctx = self.ctx();
                let json = self.value(value, &ctx, Some(step))?;
                headers
                    .entry(CONTENT_TYPE)
                    .or_insert(HeaderValue::from_static("application/json"));
                Some(Body::from(serde_json::to_vec(&json).unwrap_or_default()))
            }
            Some(BodySpec::Form(fields)) => {
                let mut encoder = url::form_urlencoded::Serializer::new(String::new());
                for (name, template) in fields {
                    let value = self.text(template, step)?;
                    // OAuth treats a parameter without a value as absent (RFC 6749 §3.1): a
                    // template that renders to nothing leaves the field out.
                    if value.is_empty() && matches!(template, Text::Template(_)) {
                        continue;
                    }
                    encoder.append_pair(&name.value, &value);
                }
                headers
                    .entry(CONTENT_TYPE)
                    .or_insert(HeaderValue::from_static(
                        "application/x-www-form-urlencoded",
                    ));
                Some(Body::from(encoder.finish().into_bytes()))
            }
            Some(BodySpec::Text(text)) => Some(Body::from(self.text(text, step)?.into_bytes())),
            Some(BodySpec::File { file, content_type }) => {
                Some(self.file_body(step, file, content_type.as_ref(), &mut headers)?)
            }
            Some(BodySpec::Template {
                template,
                content_type,
                ..
            }) => Some(self.template_body(step, *template, content_type.as_ref(), &mut headers)?),
            Some(BodySpec::Multipart(parts)) => {
                Some(self.multipart_body(step, parts, &mut headers)?)
            }
        };
        let method = match &form {
            Some(form) => form.method.clone(),
            None => Method::from_bytes(request.method.value.as_bytes()).unwrap_or(Method::GET),
        };
        if let Some(form) = form.as_ref().filter(|f| f.method == Method::GET) {
            url.query_pairs_mut().extend_pairs(&form.fields);
        }
        let timeout = request
            .timeout
            .or(defaults.timeout)
            .unwrap_or(DEFAULT_TIMEOUT);
        let follow = !self.settings.ignore_redirects
            && request
                .follow_redirects
                .or(defaults.follow_redirects)
                .unwrap_or(false);
        let max_redirects = request.max_redirects.unwrap_or(DEFAULT_MAX_REDIRECTS);
        let transport = self.transport(request, &step.name)?;
        Ok((
            Outgoing {
                method,
                url,
                headers,
                body,
                timeout,
                transport,
            },
            follow,
            max_redirects,
        ))
    }
}

/// Checks a header name from the workflow, pointing at it when it cannot be sent.
fn header_name(
    name: &Spanned<String>,
    step: &Step,
    source: &Arc<crate::span::Source>,
) -> Result<HeaderName, Diagnostic> {
    HeaderName::from_bytes(name.value.as_bytes()).map_err(|_| {
        Diagnostic::error(format!("invalid header name `{}`", name.value))
            .at(source, name.span, "not a header name")
            .in_step(Some(&step.name))
            .help("header names use letters, digits and `-`")
    })
}

/// Makes an `Authorization` value; the error does not show the credential.
fn header_value(text: &str) -> Result<HeaderValue, Diagnostic> {
    HeaderValue::from_str(text)
        .map_err(|_| Diagnostic::error("a credential holds characters a header cannot carry"))
}

#[cfg(test)]
mod tests {
    use super::{header_name, header_value};
    use crate::runner::tests::one_step;
    use crate::span::{Span, Spanned};

    #[test]
    fn a_header_name_that_cannot_be_sent_is_pointed_at() {
        let workflow = one_step();
        let (step, source) = (&workflow.steps[0], &workflow.source);
        let good = Spanned::new("X-Request-Id".to_owned(), Span::new(5, 7, 12));
        let name = header_name(&good, step, source).unwrap();
        assert_eq!(name.as_str(), "x-request-id");
        let bad = Spanned::new("bad name".to_owned(), Span::new(6, 7, 8));
        let diagnostic = header_name(&bad, step, source).unwrap_err();
        assert_eq!(diagnostic.title, "invalid header name `bad name`");
        assert_eq!(diagnostic.span, bad.span);
        assert_eq!(diagnostic.label, "not a header name");
        assert_eq!(diagnostic.step.map(|s| s.value).as_deref(), Some("get it"));
        assert_eq!(
            diagnostic.help.as_deref(),
            Some("header names use letters, digits and `-`")
        );
        let empty = Spanned::new(String::new(), Span::new(6, 7, 1));
        assert!(header_name(&empty, step, source).is_err());
    }

    #[test]
    fn a_credential_a_header_cannot_carry_is_refused_without_being_shown() {
        assert_eq!(header_value("Bearer abc.def").unwrap(), "Bearer abc.def");
        for credential in ["Bearer abc\r\nX-Admin: 1", "Basic \u{7f}", "Bearer a\0b"] {
            let diagnostic = header_value(credential).unwrap_err();
            assert_eq!(
                diagnostic.title,
                "a credential holds characters a header cannot carry"
            );
            assert!(diagnostic.notes.is_empty() && diagnostic.source.is_none());
        }
    }
}
