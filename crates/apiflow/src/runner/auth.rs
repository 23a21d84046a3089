//! The auth methods applied once the request is whole: AWS Signature Version 4 signs it, and
//! Digest answers the server's challenge and sends it again.
//!
//! Basic and Bearer are plain headers, set with the others in `request.rs`.

use std::time::{Instant, SystemTime};

use http_body_util::BodyExt as _;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, COOKIE, HOST, HeaderName, HeaderValue};

use super::Runner;
use crate::diagnostic::Diagnostic;
use crate::format::model::{Auth, AwsSigV4, Request, Step, Text};
use crate::http::body::Body;
use crate::http::hash::{hex, sha256_hex};
use crate::http::{Client, Exchange, Jar, Outgoing, SendError, digest, sigv4};
use crate::span::Span;

/// A Digest user and password, rendered, to answer a challenge with.
pub(super) struct Login {
    username: String,
    password: String,
}

impl Runner<'_> {
    /// Signs the request with AWS Signature Version 4, or renders the Digest login its
    /// challenge will need; every credential, and what is computed from it, becomes a secret.
    pub(super) async fn authorize(
        &mut self,
        step: &Step,
        request: &Request,
        outgoing: &mut Outgoing,
    ) -> Result<Option<Login>, Diagnostic> {
        match &request.auth {
            Some(Auth::Digest { username, password }) => {
                let username = self.text(username, step)?;
                let password = self.text(password, step)?;
                self.secret_text(&password);
                Ok(Some(Login { username, password }))
            }
            Some(Auth::AwsSigV4(aws)) => {
                let payload_hash = match &outgoing.body {
                    None => sha256_hex(b""),
                    Some(body) => match body.as_bytes() {
                        Some(bytes) => sha256_hex(bytes),
                        None => sha256_of(body).await.map_err(|e| {
                            Diagnostic::error(format!("cannot read the body to sign it: {e}"))
                                .at(&self.plan.workflow.source, request.url.span, "this request")
                                .in_step(Some(&step.name))
                        })?,
                    },
                };
                let time = SystemTime::now();
                self.sign(step, request, aws, outgoing, &payload_hash, time)?;
                Ok(None)
            }
            _ => Ok(None),
        }
    }

    /// Signs the request as it will be sent, at a given time.
    fn sign(
        &mut self,
        step: &Step,
        request: &Request,
        aws: &AwsSigV4,
        outgoing: &mut Outgoing,
        payload_hash: &str,
        time: SystemTime,
    ) -> Result<(), Diagnostic> {
        let access_key = self.text(&aws.access_key, step)?;
        let secret_key = self.text(&aws.secret_key, step)?;
        self.secret_text(&secret_key);
        let session_token = match &aws.session_token {
            Some(token) => Some(self.text(token, step)?).filter(|t| !t.is_empty()),
            None => None,
        };
        if let Some(token) = &session_token {
            self.secret_text(token);
        }
        let region = self.scope_part(&aws.region, "region", step, request)?;
        let service = self.scope_part(&aws.service, "service", step, request)?;
        let rules = sigv4::Rules::for_service(&service);
        if service == "s3" {
            let path = sigv4::s3_path(outgoing.url.path());
            if path != outgoing.url.path() {
                outgoing.url.set_path(&path);
            }
        }
        // `Host` is signed as the client will send it: the URL's host, with its port unless
        // it is the scheme's default.
        let url = &outgoing.url;
        let mut host = url.host_str().unwrap_or_default().to_owned();
        if let Some(port) = url.port() {
            host = format!("{host}:{port}");
        }
        let mut headers = Vec::with_capacity(outgoing.headers.len() + 1);
        if !outgoing.headers.contains_key(HOST) {
            headers.push(("host".to_owned(), host));
        }
        headers.extend(outgoing.headers.iter().map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        }));
        let signed = sigv4::sign(
            &sigv4::Request {
                method: outgoing.method.as_str(),
                path: url.path(),
                query: url.query(),
                headers: &headers,
                payload_hash,
            },
            &sigv4::Credentials {
                access_key: &access_key,
                secret_key: &secret_key,
                session_token: session_token.as_deref(),
                region: &region,
                service: &service,
            },
            rules,
            time,
        );
        self.secret_text(&signed.signature);
        for (name, value) in signed.headers {
            if name == "authorization" {
                let credential = value.split_once(' ').map_or(&*value, |(_, c)| c);
                self.secret_text(credential);
            }
            let value = HeaderValue::from_str(&value).map_err(|_| {
                // Only the access key and the session token can hold such characters: the
                // region and service were checked, the rest is hex and digits.
                let (key, text) = match (&aws.session_token, name) {
                    (Some(token), "x-amz-security-token") => ("session_token", token),
                    _ => ("access_key", &aws.access_key),
                };
                let (span, label) = self.span_of(text, request);
                Diagnostic::error(format!(
                    "the `{key}` of `aws_sigv4` holds characters the `{name}` header cannot carry"
                ))
                .at(&self.plan.workflow.source, span, label)
                .in_step(Some(&step.name))
                .help("access keys and session tokens are printable ASCII")
            })?;
            outgoing
                .headers
                .insert(HeaderName::from_static(name), value);
        }
        Ok(())
    }

    /// Points at a credential's template, or at the request when it is written as is.
    fn span_of(&self, text: &Text, request: &Request) -> (Span, &'static str) {
        match text {
            Text::Template(id) => (
                self.plan.workflow.templates[id.0 as usize].span,
                "rendered from here",
            ),
            Text::Literal(_) => (request.url.span, "this request"),
        }
    }

    /// Renders a region or service: one part of the credential scope.
    fn scope_part(
        &mut self,
        text: &Text,
        key: &str,
        step: &Step,
        request: &Request,
    ) -> Result<String, Diagnostic> {
        let value = self.text(text, step)?;
        if value.is_empty() || value.contains(|c: char| c == '/' || c.is_whitespace()) {
            let (span, label) = self.span_of(text, request);
            let found = if value.is_empty() {
                "an empty text".to_owned()
            } else {
                format!("`{value}`")
            };
            return Err(Diagnostic::error(format!(
                "the `{key}` of `aws_sigv4` rendered to {found}, which cannot be a part of the credential scope"
            ))
            .at(&self.plan.workflow.source, span, label)
            .in_step(Some(&step.name))
            .help(format!(
                "a {key} is a name such as {}",
                if key == "region" { "`us-east-1`" } else { "`execute-api` or `s3`" }
            )));
        }
        Ok(value)
    }

    /// Learns the credentials of every `Authorization` header the exchanges sent, and the
    /// Digest `response` in them, as secrets.
    pub(super) fn learn_sent_credentials(&mut self, exchanges: &[Exchange]) {
        for exchange in exchanges {
            let Some(value) = exchange
                .request
                .headers
                .get(AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
            else {
                continue;
            };
            let credential = value.split_once(' ').map_or(value, |(_, c)| c);
            self.secret_text(credential);
            if let Some(response) = credential
                .split("response=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
            {
                self.secret_text(response);
            }
        }
    }
}

/// Sends a request with a Digest login: a 401 that carries a Digest challenge is answered and
/// the challenged request sent again (once more if the answer was refused as `stale`). Every
/// exchange is returned, the 401 included, as a redirect's hops are.
pub(super) async fn send(
    client: &Client,
    jar: &Jar,
    outgoing: Outgoing,
    follow: bool,
    max_redirects: u32,
    stop_at: Option<&str>,
    login: &Login,
) -> Result<Vec<Exchange>, (Vec<Exchange>, SendError)> {
    let started = Instant::now();
    let total = outgoing.timeout;
    let origin = outgoing.url.origin();
    let mut exchanges = client
        .send(outgoing, jar, follow, max_redirects, stop_at)
        .await?;
    let mut answers = 0;
    while let Some(last) = exchanges.last() {
        // Credentials stay on the origin they were meant for, as on a redirect.
        if last.response.status != StatusCode::UNAUTHORIZED || last.request.url.origin() != origin {
            break;
        }
        let Some(challenge) = digest::pick(&last.response.headers) else {
            break;
        };
        // A second answer only for a nonce that went stale: otherwise the password is wrong.
        if answers == 2 || (answers == 1 && !challenge.stale) {
            break;
        }
        answers += 1;
        let mut next = last.request.clone();
        next.headers.remove(COOKIE);
        let target = &next.url[url::Position::BeforePath..url::Position::AfterQuery];
        let cnonce = digest::cnonce();
        // Only `qop=auth-int` hashes the body: a file is read for it then.
        let body = match (&next.body, challenge.qop) {
            (Some(body), Some(digest::Qop::AuthInt)) => match body.as_bytes() {
                Some(bytes) => bytes.to_vec(),
                None => bytes_of(body).await.map_err(|e| {
                    let why = format!("cannot read the body to answer the Digest challenge: {e}");
                    (std::mem::take(&mut exchanges), SendError::Other(why))
                })?,
            },
            _ => Vec::new(),
        };
        let answer = digest::answer(
            &challenge,
            &digest::Request {
                username: &login.username,
                password: &login.password,
                method: next.method.as_str(),
                uri: target,
                body: &body,
                cnonce: &cnonce,
                nc: 1,
            },
        );
        let Ok(value) = HeaderValue::from_str(&answer.header) else {
            break;
        };
        next.headers.insert(AUTHORIZATION, value);
        next.timeout = total.saturating_sub(started.elapsed());
        if next.timeout.is_zero() {
            return Err((exchanges, SendError::Timeout(total)));
        }
        match client.send(next, jar, follow, max_redirects, stop_at).await {
            Ok(more) => exchanges.extend(more),
            Err((more, error)) => {
                exchanges.extend(more);
                let error = match error {
                    SendError::Timeout(_) => SendError::Timeout(total),
                    other => other,
                };
                return Err((exchanges, error));
            }
        }
    }
    Ok(exchanges)
}

/// Hashes a body that is not held in memory, reading its files as sending would.
async fn sha256_of(body: &Body) -> std::io::Result<String> {
    let mut stream = body.stream();
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    while let Some(frame) = stream.frame().await {
        if let Ok(data) = frame?.into_data() {
            context.update(&data);
        }
    }
    Ok(hex(context.finish().as_ref()))
}

/// Reads a body that is not held in memory, as sending would.
async fn bytes_of(body: &Body) -> std::io::Result<Vec<u8>> {
    let mut stream = body.stream();
    let mut out = Vec::new();
    while let Some(frame) = stream.frame().await {
        if let Ok(data) = frame?.into_data() {
            out.extend_from_slice(&data);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::body::FileRef;

    #[tokio::test]
    async fn a_file_body_is_hashed_and_read_as_it_will_be_sent() {
        let path = std::env::temp_dir().join(format!("apiflow-auth-{}.bin", std::process::id()));
        let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &content).unwrap();
        let body = Body::File(FileRef::new(path.clone(), "upload.bin".to_owned()).unwrap());
        assert_eq!(sha256_of(&body).await.unwrap(), sha256_hex(&content));
        assert_eq!(bytes_of(&body).await.unwrap(), content);
        std::fs::remove_file(&path).unwrap();
        let error = sha256_of(&body).await.unwrap_err();
        assert!(error.to_string().contains("upload.bin"), "{error}");
    }
}
