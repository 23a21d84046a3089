//! Captures: the values a step takes from its response into variables.

use std::sync::Arc;

use minijinja::Value as JinjaValue;
use url::Url;

use super::Runner;
use super::response::{not_json, not_text};
use crate::diagnostic::Diagnostic;
use crate::format::model::{Extract, ExtractKind, RegexSource, Step};
use crate::template::scope::ResponseView;

impl Runner<'_> {
    /// Takes one capture's value from the response, or its `default:`, or fails saying why.
    pub(super) fn capture(
        &mut self,
        extract: &Extract,
        step: &Step,
        view: &Arc<ResponseView>,
        url: &Url,
        content_type: &str,
    ) -> Result<JinjaValue, Diagnostic> {
        let workflow = &self.plan.workflow;
        let name = &extract.name;
        let fail = |message: String, label: &str| {
            Diagnostic::error(format!("cannot capture `{}`: {message}", name.value))
                .at(&workflow.source, name.span, label.to_owned())
                .in_step(Some(&step.name))
        };
        let found: Option<JinjaValue> = match &extract.kind {
            ExtractKind::Json { path, all } => {
                let path = &self.plan.paths[path.0 as usize];
                let Some(document) = view.json.as_deref() else {
                    return Err(not_json(
                        &workflow.source,
                        name.span,
                        step,
                        path.as_str(),
                        content_type,
                        &view.body,
                    ));
                };
                let matches = path.query(document);
                match (matches.len(), all) {
                    (_, true) => Some(JinjaValue::from(minijinja::value::Serde(&matches))),
                    (0, false) => None,
                    (1, false) => Some(JinjaValue::from(minijinja::value::Serde(matches[0]))),
                    (n, false) => {
                        return Err(fail(
                            format!("`{}` matched {n} values", path.as_str()),
                            "several matches",
                        )
                        .help("add `all: true` to capture them as a list, or narrow the path"));
                    }
                }
            }
            ExtractKind::Header {
                name: header,
                query,
            } => {
                let value = view
                    .headers
                    .iter()
                    .find(|(k, _)| k == header)
                    .map(|(_, v)| v.clone());
                match (value, query) {
                    (None, _) => None,
                    (Some(value), None) => Some(JinjaValue::from(value)),
                    (Some(value), Some(param)) => {
                        let target = url.join(&value).map_err(|e| {
                            fail(
                                format!("header `{header}` does not hold a URL: {e}"),
                                "not a URL",
                            )
                        })?;
                        target
                            .query_pairs()
                            .find(|(k, _)| k == param)
                            .or_else(|| {
                                fragment_pairs(&target)
                                    .into_iter()
                                    .find(|(k, _)| k == param)
                            })
                            .map(|(_, v)| JinjaValue::from(v.into_owned()))
                    }
                }
            }
            ExtractKind::Cookie(cookie) => view
                .cookies
                .iter()
                .find(|(k, _)| k == cookie)
                .map(|(_, v)| JinjaValue::from(v.clone())),
            ExtractKind::Regex { regex, from } => {
                let regex = &self.plan.regexes[regex.0 as usize];
                let haystack = match from {
                    RegexSource::Body => Some(String::from_utf8_lossy(&view.body).into_owned()),
                    RegexSource::Header(h) => view
                        .headers
                        .iter()
                        .find(|(k, _)| k == h)
                        .map(|(_, v)| v.clone()),
                };
                haystack.and_then(|text| {
                    regex.captures(&text).map(|c| {
                        let m = c.get(1).or_else(|| c.get(0)).map_or("", |m| m.as_str());
                        JinjaValue::from(m.to_owned())
                    })
                })
            }
            ExtractKind::Status => Some(JinjaValue::from(view.status)),
            ExtractKind::Body => match std::str::from_utf8(&view.body) {
                Ok(text) => Some(JinjaValue::from(text)),
                Err(_) => {
                    return Err(not_text(
                        &workflow.source,
                        name.span,
                        step,
                        content_type,
                        &view.body,
                    ));
                }
            },
            ExtractKind::Expr(id) => {
                let ctx = JinjaValue::from_dyn_object(Arc::clone(view));
                match self.plan.templates.eval(*id, &ctx) {
                    Ok(value) => Some(value),
                    Err(error) => return Err(self.render_error(*id, error, step)),
                }
            }
            ExtractKind::Css {
                selector,
                attr,
                all,
            } => {
                let text = String::from_utf8_lossy(&view.body);
                let found = crate::query::page::select(&text, &selector.value, attr.as_deref())
                    .map_err(|message| fail(message, "bad selector"))?;
                match (found.len(), all) {
                    (_, true) => Some(JinjaValue::from(found)),
                    (0, false) => None,
                    (_, false) => found.into_iter().next().map(JinjaValue::from),
                }
            }
            ExtractKind::Output(output) => {
                return Err(fail(
                    format!("`output: {output}` only works in a step that `uses` a workflow"),
                    "not a `uses` step",
                ));
            }
        };
        if let Some(value) = found {
            return Ok(value);
        }
        if let Some(default) = &extract.default {
            let ctx = self.ctx();
            let json = self.value(default, &ctx, Some(step))?;
            return Ok(JinjaValue::from(minijinja::value::Serde(&json)));
        }
        let what = match &extract.kind {
            ExtractKind::Json { path, .. } => format!(
                "`{}` matched nothing",
                self.plan.paths[path.0 as usize].as_str()
            ),
            ExtractKind::Header { name, query: None } => {
                format!("the response has no `{name}` header")
            }
            ExtractKind::Header {
                name,
                query: Some(q),
            } => format!("the URL in header `{name}` has no `{q}` parameter"),
            ExtractKind::Cookie(c) => format!("no cookie `{c}` was set or is in the jar"),
            ExtractKind::Regex { regex, .. } => format!(
                "regex `{}` matched nothing",
                self.plan.regexes[regex.0 as usize].as_str()
            ),
            ExtractKind::Css { selector, .. } => {
                format!("CSS selector `{}` matched nothing", selector.value)
            }
            _ => "no value".to_owned(),
        };
        Err(fail(what, "nothing to capture")
            .help("add `default:` to the capture if the value is optional"))
    }
}

/// Reads `a=b&c=d` from a URL fragment (implicit-flow style redirects put codes there).
fn fragment_pairs(url: &Url) -> Vec<(std::borrow::Cow<'_, str>, std::borrow::Cow<'_, str>)> {
    url.fragment()
        .map(|f| url::form_urlencoded::parse(f.as_bytes()).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use url::Url;

    use super::fragment_pairs;

    fn pairs(url: &str) -> Vec<(String, String)> {
        let url = Url::parse(url).unwrap();
        fragment_pairs(&url)
            .into_iter()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    #[test]
    fn a_fragment_is_read_as_form_pairs() {
        assert_eq!(
            pairs("https://app.test/cb?code=in-query#access_token=a%2Fb&state=x+y&empty="),
            [
                ("access_token".to_owned(), "a/b".to_owned()),
                ("state".to_owned(), "x y".to_owned()),
                ("empty".to_owned(), String::new()),
            ]
        );
        assert!(pairs("https://app.test/cb?code=in-query").is_empty());
        assert!(pairs("https://app.test/cb#").is_empty());
    }
}
