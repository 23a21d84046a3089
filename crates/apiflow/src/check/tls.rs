//! Client certificates named by `tls:`: checking before anything is sent that the files
//! `confine` found hold a certificate, a key that belongs to it, and a passphrase exactly when
//! the key is encrypted.

use std::sync::Arc;

use rustls::pki_types::CertificateDer;

use crate::check::file::cannot_read;
use crate::diagnostic::Diagnostic;
use crate::format::model::{Action, ClientCert, FilePath, TemplateId, Text, Tls, Workflow};
use crate::http::identity::{Identity, Key, Problem, read_chain, read_key};
use crate::span::{Source, Spanned};

/// Lists every client certificate of a workflow with the step it belongs to (none for
/// `defaults`).
pub fn client_certs(workflow: &Workflow) -> Vec<(&ClientCert, Option<&Spanned<String>>)> {
    let mut out = Vec::new();
    push(&mut out, workflow.defaults.tls.as_ref(), None);
    for step in workflow.steps.iter().chain(&workflow.finally) {
        if let Action::Request(request) = &step.action {
            push(&mut out, request.tls.as_ref(), Some(&step.name));
        }
    }
    out
}

/// Adds the certificates of one `tls:`, its hosts first.
fn push<'w>(
    out: &mut Vec<(&'w ClientCert, Option<&'w Spanned<String>>)>,
    tls: Option<&'w Tls>,
    step: Option<&'w Spanned<String>>,
) {
    if let Some(tls) = tls {
        for (_, cert) in &tls.hosts {
            out.push((cert, step));
        }
        if let Some(cert) = &tls.any {
            out.push((cert, step));
        }
    }
}

/// Lists the templates of every `passphrase:`, which are rendered before the first step.
pub fn passphrase_templates(workflow: &Workflow) -> Vec<(TemplateId, Option<&Spanned<String>>)> {
    client_certs(workflow)
        .into_iter()
        .filter_map(
            |(cert, step)| match cert.passphrase.as_ref().map(|p| &p.value) {
                Some(Text::Template(id)) => Some((*id, step)),
                _ => None,
            },
        )
        .collect()
}

/// Checks every client certificate of a workflow whose files were found: a certificate, a key
/// of a kind TLS signs with and, for a key that is not encrypted, one that belongs to the
/// certificate; a passphrase exactly when the key is encrypted.
pub fn check(workflow: &Workflow) -> Vec<Diagnostic> {
    let source = &workflow.source;
    let mut problems = Vec::new();
    for (cert, step) in client_certs(workflow) {
        // A path `confine` refused is reported already.
        if cert.cert.resolved.is_none() || cert.key.resolved.is_none() {
            continue;
        }
        let (chain, key) = match read(source, cert, step) {
            Ok(read) => read,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        match (&key, &cert.passphrase) {
            (Key::Encrypted(_), None) => problems.push(
                Diagnostic::error(format!(
                    "the private key `{}` is encrypted and `passphrase` is missing",
                    cert.key.written.value
                ))
                .at(source, cert.key.written.span, "encrypted key")
                .in_step(step)
                .help("add `passphrase: \"{{ key_passphrase }}\"` with a secret input `key_passphrase`"),
            ),
            (Key::Plain(_), Some(passphrase)) => problems.push(
                Diagnostic::error(format!(
                    "`passphrase` is given but the private key `{}` is not encrypted",
                    cert.key.written.value
                ))
                .at(source, passphrase.span, "nothing to decrypt")
                .in_step(step)
                .help("remove `passphrase`"),
            ),
            (Key::Plain(plain), None) => {
                if let Err(problem) = Identity::new(chain, Arc::clone(plain)) {
                    problems.push(located(source, cert, step, &problem));
                }
            }
            (Key::Encrypted(_), Some(_)) => {}
        }
    }
    problems
}

/// Reads a client certificate's two files.
pub fn read(
    source: &Arc<Source>,
    cert: &ClientCert,
    step: Option<&Spanned<String>>,
) -> Result<(Vec<CertificateDer<'static>>, Key), Diagnostic> {
    let cert_pem = read_file(source, &cert.cert, step)?;
    let chain = read_chain(&cert_pem).map_err(|p| located(source, cert, step, &p))?;
    let key_pem = read_file(source, &cert.key, step)?;
    let key = read_key(&key_pem).map_err(|p| located(source, cert, step, &p))?;
    Ok((chain, key))
}

/// Reads, decrypts and pairs a client certificate, the passphrase rendered.
pub fn open(
    source: &Arc<Source>,
    cert: &ClientCert,
    step: Option<&Spanned<String>>,
    passphrase: Option<&str>,
) -> Result<Identity, Diagnostic> {
    let (chain, key) = read(source, cert, step)?;
    key.unlock(passphrase)
        .and_then(|key| Identity::new(chain, key))
        .map_err(|p| located(source, cert, step, &p))
}

/// Points a problem at the path or passphrase it is about.
fn located(
    source: &Arc<Source>,
    cert: &ClientCert,
    step: Option<&Spanned<String>>,
    problem: &Problem,
) -> Diagnostic {
    let diagnostic = match problem {
        Problem::Cert(why) => Diagnostic::error(format!(
            "cannot use `{}` as a client certificate: {why}",
            cert.cert.written.value
        ))
        .at(source, cert.cert.written.span, "this file"),
        Problem::Key(why) => Diagnostic::error(format!(
            "cannot use `{}` as the private key: {why}",
            cert.key.written.value
        ))
        .at(source, cert.key.written.span, "this file")
        .help(if why.contains("belong") {
            "`cert` and `key` must be the two halves of one client identity"
        } else {
            "`key` takes a PEM private key: PKCS #1, SEC1, PKCS #8 or encrypted PKCS #8"
        }),
        Problem::Passphrase(why) => {
            let span = cert
                .passphrase
                .as_ref()
                .map_or(cert.key.written.span, |p| p.span);
            Diagnostic::error(format!(
                "cannot decrypt `{}`: {why}",
                cert.key.written.value
            ))
            .at(source, span, "this passphrase")
            .help("check the value the passphrase reads (`--var`, `--env-file` or its input's `env:`)")
        }
    };
    diagnostic.in_step(step)
}

/// Reads a file `confine` resolved.
fn read_file(
    source: &Arc<Source>,
    path: &FilePath,
    step: Option<&Spanned<String>>,
) -> Result<Vec<u8>, Diagnostic> {
    let here = |diagnostic: Diagnostic| {
        diagnostic
            .at(source, path.written.span, "cannot read this file")
            .in_step(step)
    };
    let Some(resolved) = &path.resolved else {
        return Err(here(Diagnostic::error(format!(
            "`{}` was not checked before the run",
            path.written.value
        ))));
    };
    std::fs::read(resolved).map_err(|error| here(cannot_read(resolved, &error)))
}
