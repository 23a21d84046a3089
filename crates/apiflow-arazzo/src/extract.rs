//! `x-apiflow.extract`: apiflow's capture sources on an Arazzo step, each becoming an output of
//! the step (`$steps.ID.outputs.NAME`).
//!
//! The sources are written as in an apiflow workflow's `extract:` (`docs/workflows.md`): a
//! `JSONPath` string, or one of `json`, `header` (with `query`), `cookie`, `regex` (with
//! `from`), `css` (with `attr`, `all`), `status` and `body`, with `default` and `secret`.

use apiflow::http::{Exchange, Jar};
use apiflow::query::jsonpath::JsonPath;
use url::Url;

/// The capture sources and the keys that go with them.
const SOURCES: &[&str] = &["json", "header", "cookie", "regex", "css", "status", "body"];
const KEYS: &[&str] = &[
    "json", "header", "cookie", "regex", "css", "status", "body", "all", "query", "from", "attr",
    "default", "secret",
];

/// One compiled capture.
#[derive(Clone, Debug)]
pub struct Capture {
    /// The output it sets.
    pub name: String,
    /// Where the value comes from.
    pub source: Source,
    /// Used when nothing matches.
    pub default: Option<serde_json::Value>,
    /// Whether the value is masked (`secret:`, or a secret-sounding name).
    pub secret: bool,
}

/// Where a captured value comes from.
#[derive(Clone, Debug)]
pub enum Source {
    /// A `JSONPath` over the JSON body.
    Json {
        /// The path.
        path: JsonPath,
        /// Every match, as a list.
        all: bool,
    },
    /// A header (lower-case), or one query parameter of the URL it holds.
    Header {
        /// The header.
        name: String,
        /// The query (or fragment) parameter.
        query: Option<String>,
    },
    /// A cookie the jar holds for the response's URL.
    Cookie(String),
    /// The first group (or the whole match) of a regex over the body or a header.
    Regex {
        /// The regex.
        regex: regex::Regex,
        /// A header (lower-case), or the body when `None`.
        header: Option<String>,
    },
    /// Text or an attribute of the HTML elements a CSS selector matches.
    Css {
        /// The selector.
        selector: String,
        /// The attribute read instead of the text.
        attr: Option<String>,
        /// Every match, as a list.
        all: bool,
    },
    /// The status code.
    Status,
    /// The body as text.
    Body,
}

/// A problem with a capture as written: the key it concerns (`None`: the whole value) and what
/// is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The key of the capture's mapping the problem is at.
    pub key: Option<String>,
    /// What is wrong, lower-case.
    pub message: String,
    /// A hint.
    pub help: Option<String>,
}

fn problem(key: Option<&str>, message: String, help: Option<String>) -> Problem {
    Problem {
        key: key.map(str::to_owned),
        message,
        help,
    }
}

/// Compiles one capture as written under `x-apiflow.extract`.
pub fn compile(name: &str, value: &serde_json::Value) -> Result<Capture, Problem> {
    let secret_name = apiflow::names::is_secret_name(name);
    if let serde_json::Value::String(path) = value {
        return Ok(Capture {
            name: name.to_owned(),
            source: Source::Json {
                path: json_path(None, path)?,
                all: false,
            },
            default: None,
            secret: secret_name,
        });
    }
    let serde_json::Value::Object(fields) = value else {
        return Err(problem(
            None,
            format!(
                "`{name}` must be a JSONPath such as `$.id` or a mapping such as `{{ header: Location }}`"
            ),
            None,
        ));
    };
    for key in fields.keys() {
        if !KEYS.contains(&key.as_str()) {
            return Err(problem(
                Some(key),
                format!("unknown key `{key}` in capture `{name}`"),
                apiflow::diagnostic::did_you_mean(key, KEYS.iter().copied()),
            ));
        }
    }
    let kinds: Vec<&str> = SOURCES
        .iter()
        .copied()
        .filter(|k| fields.contains_key(*k))
        .collect();
    let [kind] = kinds.as_slice() else {
        let message = if kinds.is_empty() {
            format!("capture `{name}` does not say where to capture from")
        } else {
            format!(
                "capture `{name}` names {} sources; a capture takes one",
                kinds.len()
            )
        };
        return Err(problem(
            None,
            message,
            Some(format!("use one of {}", list(SOURCES))),
        ));
    };
    for (modifier, owners) in [
        ("all", &["json", "css"][..]),
        ("query", &["header"][..]),
        ("from", &["regex"][..]),
        ("attr", &["css"][..]),
    ] {
        if fields.contains_key(modifier) && !owners.contains(kind) {
            return Err(problem(
                Some(modifier),
                format!("`{modifier}` only goes with {} captures", list(owners)),
                None,
            ));
        }
    }
    let text = |key: &str| -> Result<Option<String>, Problem> {
        match fields.get(key) {
            None => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(problem(
                Some(key),
                format!(
                    "`{key}` must be a string, found {}",
                    crate::expr::kind_of(other)
                ),
                None,
            )),
        }
    };
    let flag = |key: &str| -> Result<bool, Problem> {
        match fields.get(key) {
            None => Ok(false),
            Some(serde_json::Value::Bool(b)) => Ok(*b),
            Some(other) => Err(problem(
                Some(key),
                format!(
                    "`{key}` must be `true` or `false`, found {}",
                    crate::expr::kind_of(other)
                ),
                None,
            )),
        }
    };
    let required = |key: &str| -> Result<String, Problem> {
        text(key)?.ok_or_else(|| problem(Some(key), format!("`{key}` must be a string"), None))
    };
    let source = match *kind {
        "json" => Source::Json {
            path: json_path(Some("json"), &required("json")?)?,
            all: flag("all")?,
        },
        "header" => Source::Header {
            name: required("header")?.to_ascii_lowercase(),
            query: text("query")?,
        },
        "cookie" => Source::Cookie(required("cookie")?),
        "regex" => {
            let pattern = required("regex")?;
            let regex = regex::Regex::new(&pattern).map_err(|e| {
                problem(
                    Some("regex"),
                    format!("invalid regex `{pattern}`: {e}"),
                    None,
                )
            })?;
            let header = match text("from")? {
                None => None,
                Some(from) if from == "body" => None,
                Some(from) => match from.strip_prefix("header:") {
                    Some(h) if !h.trim().is_empty() => Some(h.trim().to_ascii_lowercase()),
                    _ => {
                        return Err(problem(
                            Some("from"),
                            format!("invalid `from`: `{from}`"),
                            Some("write `body` or `header:NAME`".to_owned()),
                        ));
                    }
                },
            };
            Source::Regex { regex, header }
        }
        "css" => {
            let selector = required("css")?;
            apiflow::query::page::check_selector(&selector)
                .map_err(|message| problem(Some("css"), message, None))?;
            Source::Css {
                selector,
                attr: text("attr")?,
                all: flag("all")?,
            }
        }
        kind => {
            if !flag(kind)? {
                return Err(problem(
                    Some(kind),
                    format!("`{kind}: false` captures nothing"),
                    Some("write `true`".to_owned()),
                ));
            }
            if kind == "status" {
                Source::Status
            } else {
                Source::Body
            }
        }
    };
    let secret = match fields.get("secret") {
        None => secret_name,
        Some(_) => flag("secret")?,
    };
    Ok(Capture {
        name: name.to_owned(),
        source,
        default: fields.get("default").cloned(),
        secret,
    })
}

fn json_path(key: Option<&str>, text: &str) -> Result<JsonPath, Problem> {
    JsonPath::parse(text).map_err(|e| {
        problem(
            key,
            format!("invalid JSONPath `{text}`: {}", e.message),
            None,
        )
    })
}

fn list(words: &[&str]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

impl Capture {
    /// Reads the value from the last exchange of a step (and the jar), or says why there is
    /// none.
    pub fn read(&self, exchange: &Exchange, jar: &Jar) -> Result<serde_json::Value, String> {
        let response = &exchange.response;
        let header = |name: &str| {
            response
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let found: Option<serde_json::Value> = match &self.source {
            Source::Json { path, all } => {
                let document: serde_json::Value = serde_json::from_slice(&response.body)
                    .map_err(|_| "the response body is not JSON".to_owned())?;
                let matches = path.query(&document);
                match (matches.len(), all) {
                    (_, true) => Some(serde_json::Value::Array(
                        matches.into_iter().cloned().collect(),
                    )),
                    (0, false) => None,
                    (1, false) => Some(matches[0].clone()),
                    (n, false) => {
                        return Err(format!(
                            "`{}` matched {n} values (add `all: true` to capture them as a list)",
                            path.as_str()
                        ));
                    }
                }
            }
            Source::Header { name, query } => match (header(name), query) {
                (None, _) => None,
                (Some(value), None) => Some(value.into()),
                (Some(value), Some(param)) => {
                    let target = exchange
                        .request
                        .url
                        .join(&value)
                        .map_err(|e| format!("header `{name}` does not hold a URL: {e}"))?;
                    parameter(&target, param).map(serde_json::Value::String)
                }
            },
            Source::Cookie(name) => jar.get(&exchange.request.url, name).map(Into::into),
            Source::Regex { regex, header: h } => {
                let haystack = match h {
                    None => Some(String::from_utf8_lossy(&response.body).into_owned()),
                    Some(h) => header(h),
                };
                haystack.and_then(|text| {
                    regex.captures(&text).map(|c| {
                        c.get(1)
                            .or_else(|| c.get(0))
                            .map_or(String::new(), |m| m.as_str().to_owned())
                            .into()
                    })
                })
            }
            Source::Css {
                selector,
                attr,
                all,
            } => {
                let text = String::from_utf8_lossy(&response.body);
                let found = apiflow::query::page::select(&text, selector, attr.as_deref())?;
                match (found.len(), all) {
                    (_, true) => Some(found.into()),
                    (0, false) => None,
                    (_, false) => found.into_iter().next().map(Into::into),
                }
            }
            Source::Status => Some(response.status.as_u16().into()),
            Source::Body => Some(
                std::str::from_utf8(&response.body)
                    .map_err(|_| "the response body is not text".to_owned())?
                    .into(),
            ),
        };
        if let Some(value) = found.or_else(|| self.default.clone()) {
            return Ok(value);
        }
        Err(match &self.source {
            Source::Json { path, .. } => format!("`{}` matched nothing", path.as_str()),
            Source::Header { name, query: None } => format!("the response has no `{name}` header"),
            Source::Header {
                name,
                query: Some(q),
            } => format!("the URL in header `{name}` has no `{q}` parameter"),
            Source::Cookie(c) => format!("no cookie `{c}` was set or is in the jar"),
            Source::Regex { regex, .. } => format!("regex `{}` matched nothing", regex.as_str()),
            Source::Css { selector, .. } => format!("CSS selector `{selector}` matched nothing"),
            Source::Status | Source::Body => "no value".to_owned(),
        })
    }
}

/// Reads a query parameter of a URL, or of its fragment (implicit-flow redirects put codes
/// there).
fn parameter(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .or_else(|| {
            url.fragment().and_then(|f| {
                url::form_urlencoded::parse(f.as_bytes())
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.into_owned())
            })
        })
}

#[cfg(test)]
mod tests {
    use super::{Source, compile};
    use serde_json::json;

    #[test]
    fn a_string_is_a_json_path_and_a_mapping_names_one_source() {
        let capture = compile("id", &json!("$.id")).unwrap();
        assert!(matches!(capture.source, Source::Json { all: false, .. }));
        let capture = compile("code", &json!({"header": "Location", "query": "code"})).unwrap();
        assert!(capture.secret, "a code is a secret by its name");
        assert!(
            matches!(capture.source, Source::Header { ref name, query: Some(ref q) } if name == "location" && q == "code")
        );
    }

    #[test]
    fn mistakes_are_named_with_their_key() {
        let error = compile("uid", &json!({"regexp": "x"})).unwrap_err();
        assert_eq!(error.key.as_deref(), Some("regexp"));
        assert_eq!(error.message, "unknown key `regexp` in capture `uid`");
        assert_eq!(error.help.as_deref(), Some("did you mean `regex`?"));
        let error = compile("uid", &json!({"regex": "(", "from": "body"})).unwrap_err();
        assert!(
            error.message.starts_with("invalid regex `(`"),
            "{}",
            error.message
        );
        let error = compile("uid", &json!({"regex": "x", "from": "head:L"})).unwrap_err();
        assert_eq!(error.message, "invalid `from`: `head:L`");
        let error = compile("x", &json!({"header": "A", "cookie": "b"})).unwrap_err();
        assert_eq!(
            error.message,
            "capture `x` names 2 sources; a capture takes one"
        );
        let error = compile("x", &json!({"json": "$.a", "query": "b"})).unwrap_err();
        assert_eq!(error.message, "`query` only goes with `header` captures");
        let error = compile("x", &json!({"status": false})).unwrap_err();
        assert_eq!(error.message, "`status: false` captures nothing");
    }
}
