//! Loading what a step captures: `extract` and each capture source (JSONPath, headers,
//! cookies, regexes, CSS selectors, outputs).

use super::{EXTRACT_KEYS, EXTRACT_KINDS, Fields, Loader, span_of_text};
use crate::diagnostic::did_you_mean;
use crate::format::model::{Extract, ExtractKind, RegexId, RegexSource};
use crate::format::yaml::{Key, Node, NodeKind};
use crate::names::is_secret_name;

impl Loader {
    pub(super) fn extracts(&mut self, node: &Node) -> Vec<Extract> {
        let NodeKind::Map(entries) = &node.kind else {
            self.expected("extract", "a mapping of variable names to captures", node);
            return Vec::new();
        };
        let mut out = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            self.check_identifier(key, "variable");
            if let Some(extract) = self.extract(key, value) {
                out.push(extract);
            }
        }
        out
    }

    pub(super) fn extract(&mut self, key: &Key, node: &Node) -> Option<Extract> {
        let name = key.to_spanned();
        let secret = is_secret_name(&key.name);
        if let NodeKind::Str(text) = &node.kind {
            let span = span_of_text(node.span, text);
            let path = self.path(text, span);
            return Some(Extract {
                name,
                kind: ExtractKind::Json { path, all: false },
                secret,
                default: None,
            });
        }
        let what = format!("extract.{}", key.name);
        let NodeKind::Map(entries) = &node.kind else {
            self.expected(
                &what,
                "a JSONPath such as `$.id` or a mapping such as `{ header: Location }`",
                node,
            );
            return None;
        };
        let kinds: Vec<&Key> = entries
            .iter()
            .map(|(k, _)| k)
            .filter(|k| EXTRACT_KINDS.contains(&k.name.as_ref()))
            .collect();
        if kinds.len() != 1 {
            let title = if kinds.is_empty() {
                format!("`{what}` does not say where to capture from")
            } else {
                format!(
                    "`{what}` names {} sources; a capture takes one",
                    kinds.len()
                )
            };
            let span = kinds.get(1).map_or(node.span, |k| k.span);
            let help = kinds
                .is_empty()
                .then(|| {
                    entries
                        .iter()
                        .find_map(|(k, _)| did_you_mean(&k.name, EXTRACT_KINDS.iter().copied()))
                })
                .flatten()
                .unwrap_or_else(|| {
                    "use one of `json`, `header`, `cookie`, `regex`, `css`, `status`, `body`, `expr` or `output`"
                        .into()
                });
            self.error(title, span, "here").help = Some(help);
            // Report unknown keys too, then give up on this capture.
            let mut fields = Fields::new(entries);
            for (index, (k, _)) in entries.iter().enumerate() {
                if EXTRACT_KEYS.contains(&k.name.as_ref()) {
                    fields.mark(index);
                }
            }
            self.finish(&fields, EXTRACT_KEYS, &what);
            return None;
        }
        let mut fields = self.fields(node, &what)?;
        let kind_key = kinds[0].name.as_ref();
        let kind_node = fields.get(kind_key)?;
        let kind = match kind_key {
            "json" => {
                let text = self.string(kind_node, "json")?;
                let path = self.path(&text.value, text.span);
                let all = fields
                    .get("all")
                    .and_then(|n| self.bool(n, "all"))
                    .unwrap_or(false);
                ExtractKind::Json { path, all }
            }
            "header" => {
                let header = self.string(kind_node, "header")?;
                let query = fields
                    .get("query")
                    .and_then(|n| self.string(n, "query"))
                    .map(|s| s.value);
                ExtractKind::Header {
                    name: header.value.to_ascii_lowercase(),
                    query,
                }
            }
            "cookie" => ExtractKind::Cookie(self.string(kind_node, "cookie")?.value),
            "regex" => {
                let pattern = self.string(kind_node, "regex")?;
                let from = match fields.get("from") {
                    Some(n) => self.regex_source(n)?,
                    None => RegexSource::Body,
                };
                let id = RegexId(u32::try_from(self.regexes.len()).unwrap_or(u32::MAX));
                self.regexes.push(pattern);
                ExtractKind::Regex { regex: id, from }
            }
            "css" => {
                let selector = self.string(kind_node, "css")?;
                let attr = fields
                    .get("attr")
                    .and_then(|n| self.string(n, "attr"))
                    .map(|s| s.value);
                let all = fields
                    .get("all")
                    .and_then(|n| self.bool(n, "all"))
                    .unwrap_or(false);
                ExtractKind::Css {
                    selector,
                    attr,
                    all,
                }
            }
            "output" => ExtractKind::Output(self.string(kind_node, "output")?.value),
            "status" | "body" => {
                if self.bool(kind_node, kind_key) != Some(true) {
                    if matches!(kind_node.kind, NodeKind::Bool(false)) {
                        self.error(
                            format!("`{kind_key}: false` captures nothing"),
                            kind_node.span,
                            "write `true`",
                        );
                    }
                    return None;
                }
                if kind_key == "status" {
                    ExtractKind::Status
                } else {
                    ExtractKind::Body
                }
            }
            _ => ExtractKind::Expr(self.expression(kind_node, "expr")?),
        };
        let misplaced = [
            ("all", "json"),
            ("query", "header"),
            ("from", "regex"),
            ("attr", "css"),
        ];
        for (modifier, owner) in misplaced {
            let allowed = owner == kind_key || (modifier == "all" && kind_key == "css");
            if !allowed && let Some(k) = fields.key(modifier) {
                fields.get(modifier);
                self.error(
                    format!("`{modifier}` only goes with `{owner}` captures"),
                    k.span,
                    "not used here",
                );
            }
        }
        let secret = match fields.get("secret") {
            Some(n) => self.bool(n, "secret").unwrap_or(secret),
            None => secret,
        };
        let default = fields.get("default").map(|n| self.value(n));
        self.finish(&fields, EXTRACT_KEYS, &what);
        Some(Extract {
            name,
            kind,
            secret,
            default,
        })
    }

    pub(super) fn regex_source(&mut self, node: &Node) -> Option<RegexSource> {
        let text = self.string(node, "from")?;
        if text.value == "body" {
            return Some(RegexSource::Body);
        }
        if let Some(header) = text.value.strip_prefix("header:")
            && !header.trim().is_empty()
        {
            return Some(RegexSource::Header(header.trim().to_ascii_lowercase()));
        }
        self.error(
            format!("invalid `from`: `{}`", text.value),
            text.span,
            "expected `body` or `header:NAME`",
        )
        .help = Some("for example `from: header:Location`".into());
        None
    }
}
