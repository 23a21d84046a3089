//! How a step's request travels: its client certificates (`tls:` of the step, then of
//! `defaults`), opened once per run, and its HTTP version.

use std::sync::Arc;

use crate::diagnostic::Diagnostic;
use crate::format::model::{ClientCert, Request, Text, Tls};
use crate::http::identity::Identity;
use crate::http::{ClientCerts, Transport};
use crate::span::Spanned;

use super::Runner;

impl Runner<'_> {
    /// Opens every client certificate of the workflow, passphrases rendered: a wrong
    /// passphrase stops the run before anything is sent.
    pub(super) fn open_certs(&mut self) -> Result<(), Vec<Diagnostic>> {
        let workflow = &self.plan.workflow;
        let mut problems = Vec::new();
        for (cert, step) in crate::check::tls::client_certs(workflow) {
            if let Err(problem) = self.identity(cert, step) {
                // Nothing is printed yet, so the caller prints these errors: mask them here.
                problems.push(problem.masked(&self.masker));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// Returns how a request travels: its certificates, most specific first, and its version.
    pub(super) fn transport(
        &mut self,
        request: &Request,
        step: &Spanned<String>,
    ) -> Result<Transport, Diagnostic> {
        let defaults = &self.plan.workflow.defaults;
        let version = request
            .http_version
            .as_ref()
            .or(defaults.http_version.as_ref())
            .map(|v| v.value);
        let mut rules = Vec::new();
        self.rules(request.tls.as_ref(), Some(step), &mut rules)?;
        let defaults_tls = self.plan.workflow.defaults.tls.as_ref();
        self.rules(defaults_tls, None, &mut rules)?;
        Ok(Transport {
            certs: (!rules.is_empty()).then(|| Arc::new(ClientCerts(rules))),
            version,
        })
    }

    /// Adds the rules of one `tls:`: its hosts, then its certificate for any host.
    fn rules(
        &mut self,
        tls: Option<&Tls>,
        step: Option<&Spanned<String>>,
        rules: &mut Vec<(Option<String>, Arc<Identity>)>,
    ) -> Result<(), Diagnostic> {
        let Some(tls) = tls else {
            return Ok(());
        };
        for (host, cert) in &tls.hosts {
            rules.push((Some(host.value.clone()), self.identity(cert, step)?));
        }
        if let Some(cert) = &tls.any {
            rules.push((None, self.identity(cert, step)?));
        }
        Ok(())
    }

    /// Opens a client certificate, or returns it from the run's cache.
    fn identity(
        &mut self,
        cert: &ClientCert,
        step: Option<&Spanned<String>>,
    ) -> Result<Arc<Identity>, Diagnostic> {
        let at = (cert.cert.written.span.line, cert.cert.written.span.column);
        if let Some(identity) = self.identities.get(&at) {
            return Ok(Arc::clone(identity));
        }
        let workflow = &self.plan.workflow;
        let passphrase = match cert.passphrase.as_ref().map(|p| &p.value) {
            None => None,
            Some(Text::Literal(text)) => Some(text.clone()),
            Some(Text::Template(id)) => {
                let rendered = self.plan.templates.render(*id, &self.ctx()).map_err(|e| {
                    let template = &workflow.templates[id.0 as usize];
                    Diagnostic::error(format!("cannot render a template: {}", e.message))
                        .at(&workflow.source, template.span_of(e.range), "here")
                        .in_step(step)
                })?;
                Some(rendered)
            }
        };
        if let Some(passphrase) = &passphrase {
            self.secret_text(passphrase);
        }
        let identity = crate::check::tls::open(&workflow.source, cert, step, passphrase.as_deref())
            .map(Arc::new)
            .map_err(|d| d.masked(&self.masker))?;
        self.identities.insert(at, Arc::clone(&identity));
        Ok(identity)
    }
}
