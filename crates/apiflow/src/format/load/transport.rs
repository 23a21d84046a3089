//! Loading how requests travel: `tls:` (client certificates) and `http_version:`, in
//! `defaults` and in a step's request.

use super::{CLIENT_CERT_KEYS, HTTP_VERSIONS, Loader, TLS_KEYS};
use crate::format::model::{ClientCert, HttpVersion, Tls};
use crate::format::yaml::{Node, NodeKind};
use crate::span::Spanned;

impl Loader {
    /// Reads `tls: { cert, key, passphrase?, hosts? }`; `what` names it in errors.
    pub(super) fn tls(&mut self, node: &Node, what: &str) -> Option<Tls> {
        let mut fields = self.fields(node, what)?;
        let any = if fields.key("cert").is_some() || fields.key("key").is_some() {
            let cert = self
                .required(&mut fields, "cert", what, node.span)
                .and_then(|n| self.file_path(n, "cert"));
            let key = self
                .required(&mut fields, "key", what, node.span)
                .and_then(|n| self.file_path(n, "key"));
            let passphrase = self.passphrase(fields.get("passphrase"));
            cert.zip(key).map(|(cert, key)| ClientCert {
                cert,
                key,
                passphrase,
            })
        } else {
            if let Some(key) = fields.key("passphrase") {
                fields.get("passphrase");
                self.error(
                    "`passphrase` only goes with `cert` and `key`",
                    key.span,
                    "no key to decrypt",
                );
            }
            None
        };
        let hosts = fields
            .get("hosts")
            .map(|n| self.tls_hosts(n, what))
            .unwrap_or_default();
        self.finish(&fields, TLS_KEYS, what);
        let named = ["cert", "key", "hosts"]
            .iter()
            .any(|k| fields.key(k).is_some());
        if !named {
            self.error(
                format!("`{what}` names no client certificate"),
                node.span,
                "nothing here",
            )
            .help = Some(
                "give `cert` and `key`, or `hosts:` with a `cert` and `key` per host name".into(),
            );
            return None;
        }
        Some(Tls { any, hosts })
    }

    fn tls_hosts(&mut self, node: &Node, what: &str) -> Vec<(Spanned<String>, ClientCert)> {
        let NodeKind::Map(entries) = &node.kind else {
            self.expected(
                &format!("{what}.hosts"),
                "a mapping of host names to `{ cert, key }`",
                node,
            );
            return Vec::new();
        };
        let mut hosts: Vec<(Spanned<String>, ClientCert)> = Vec::with_capacity(entries.len());
        for (name, value) in entries {
            let host = name.to_spanned();
            let entry = format!("{what}.hosts.{}", name.name);
            let valid = !host.value.is_empty()
                && host
                    .value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
            if !valid {
                self.error(
                    format!("invalid host name `{}` in `{what}.hosts`", host.value),
                    host.span,
                    "not a host name",
                )
                .help = Some(
                    "write the host alone, as in the URL, without scheme, port or path: `api.example.com`"
                        .into(),
                );
                continue;
            }
            let Some(mut fields) = self.fields(value, &entry) else {
                continue;
            };
            let cert = self
                .required(&mut fields, "cert", &entry, value.span)
                .and_then(|n| self.file_path(n, "cert"));
            let key = self
                .required(&mut fields, "key", &entry, value.span)
                .and_then(|n| self.file_path(n, "key"));
            let passphrase = self.passphrase(fields.get("passphrase"));
            self.finish(&fields, CLIENT_CERT_KEYS, &entry);
            if let (Some(cert), Some(key)) = (cert, key) {
                hosts.push((
                    host,
                    ClientCert {
                        cert,
                        key,
                        passphrase,
                    },
                ));
            }
        }
        hosts
    }

    fn passphrase(&mut self, node: Option<&Node>) -> Option<Spanned<crate::format::model::Text>> {
        let node = node?;
        let text = self.text(node, "passphrase")?;
        Some(Spanned::new(text, node.span))
    }

    /// Reads `http_version: "1.1" | "2"`.
    pub(super) fn http_version(&mut self, node: &Node) -> Option<Spanned<HttpVersion>> {
        let text = match (&node.kind, node.scalar_text()) {
            // A number is shown as written: `1.0` stays `1.0`, not the float's `1`.
            (NodeKind::Float(_), Some(text)) => self
                .source
                .line(node.span.line)
                .and_then(|line| {
                    let start = usize::try_from(node.span.column.checked_sub(1)?).ok()?;
                    let len = usize::try_from(node.span.len).ok()?;
                    Some(line.chars().skip(start).take(len).collect::<String>())
                })
                .filter(|written| !written.is_empty())
                .map_or(text, std::borrow::Cow::Owned),
            (NodeKind::Str(_) | NodeKind::Int(_), Some(text)) => text,
            _ => {
                self.expected("http_version", "`\"1.1\"` or `\"2\"`", node);
                return None;
            }
        };
        let version = match text.as_ref() {
            "1.1" => HttpVersion::Http1,
            "2" => HttpVersion::Http2,
            other => {
                let allowed = HTTP_VERSIONS
                    .iter()
                    .map(|v| format!("`\"{v}\"`"))
                    .collect::<Vec<_>>()
                    .join(" or ");
                self.error(
                    format!("unsupported `http_version` `{other}`"),
                    node.span,
                    format!("expected {allowed}"),
                )
                .help = Some(format!(
                    "apiflow speaks HTTP/1.1 and HTTP/2: write {allowed}, or leave `http_version` \
                     out to let the server choose"
                ));
                return None;
            }
        };
        Some(Spanned::new(version, node.span))
    }
}
