//! Criteria (`successCriteria`, and the `criteria` of actions) compiled once from the model and
//! evaluated against a [`Scope`]: simple conditions, regular expressions and `JSONPath` queries.
//!
//! How each `type` reads, with the specification's "Condition Evaluation":
//! - `simple` (or no `type`): the [`condition`](crate::condition) language. A `context`, when
//!   given, is parsed and checked but not read: a simple condition names its values itself.
//! - `regex`: the pattern must match (anywhere, as ECMA-262's `test` does) the `context`'s
//!   value: a string as it is, a number or a boolean as JSON writes it. A `null` context fails;
//!   an array or an object is an error. Patterns are ECMA-262 regular expressions, run by the
//!   `regex` crate after a translation that keeps ECMA-262's meaning where the two differ:
//!   `\d`, `\w`, `\b` and their negations are ASCII, `.` stops at `\r`, U+2028 and U+2029 as
//!   well as `\n`, `[\b]` is a backspace and `[` inside a class is literal. What the crate
//!   cannot run (look-around, backreferences) is an error at `compile` that says so.
//! - `jsonpath`: an RFC 9535 query over the `context`'s value; it holds when it selects at least
//!   one node. `draft-goessner-dispatch-jsonpath-00` is accepted and read as RFC 9535, which it
//!   became. A filter at the root (`$[?…]`) over an object tests that object itself, as the
//!   specification's own examples read (`$[?count(@.pets) > 0]` over `$response.body`); over an
//!   array it tests the elements, as RFC 9535 says. A `null` context fails; a body that is not
//!   JSON is an error.
//! - `xpath`: rejected by `compile`, since apiflow reads JSON, not XML.
//!
//! A `regex` or `jsonpath` condition may embed `{$…}` expressions; their values (strings as
//! they are, other values as JSON) are put into the text first, and the result is compiled
//! when the criterion is evaluated: a result that does not compile is an
//! [`EvalError::Invalid`]. Everything else is checked by `compile`, before anything is sent.
//!
//! A context that cannot be read (no response, an absent header) is an [`EvalError`], which the
//! runner reports as a failure of the criterion, as "Evaluation Errors" asks; it never quietly
//! counts as "not matched".

use std::fmt;
use std::sync::Arc;

use apiflow::query::jsonpath::JsonPath;
use regex::Regex;

use crate::condition::{self, Condition};
use crate::expr::{self, EvalError, Expression, Scope, Text, kind_of};
use crate::model::{Criterion, CriterionKind};
use crate::repeated::Repeated;

/// The `type` of a criterion, as [`CriterionKind`] without versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `simple`, or no `type`.
    Simple,
    /// `regex`.
    Regex,
    /// `jsonpath`.
    JsonPath,
    /// `xpath`.
    XPath,
}

/// A criterion compiled: its context and its test.
#[derive(Clone, Debug)]
pub struct Compiled {
    context: Option<Expression>,
    test: Test,
}

#[derive(Clone, Debug)]
enum Test {
    Simple(Arc<Condition>),
    Regex(Pattern<Regex>),
    JsonPath(Pattern<JsonPath>),
}

/// A regex or a `JSONPath`: compiled, or built from `{$…}` parts when evaluated.
#[derive(Clone, Debug)]
enum Pattern<T> {
    Fixed(T),
    Built(Text),
}

/// Why a criterion does not compile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CriterionError {
    /// Whether the problem is in `context` (else in `condition` or `type`).
    pub on_context: bool,
    /// The byte offset of the problem in the text of `context` or `condition`, when known.
    pub offset: Option<usize>,
    /// Lower-case: what was expected, what was found.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
}

impl fmt::Display for CriterionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CriterionError {}

/// The versions of `JSONPath` a criterion may name.
const JSONPATH_VERSIONS: [&str; 2] = ["rfc9535", "draft-goessner-dispatch-jsonpath-00"];

/// The largest compiled regex, as apiflow's own workflows allow.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Compiles a criterion: its context, and its condition by its `type`.
///
/// # Errors
/// A [`CriterionError`] for a context or condition that does not parse, a `regex` or `jsonpath`
/// criterion without a `context`, an unknown `JSONPath` version, and any `xpath` criterion.
pub fn compile(criterion: &Criterion) -> Result<Compiled, CriterionError> {
    compile_with(criterion, &mut Repeated::default())
}

/// Compiles a criterion as [`compile`] does, reusing the conditions a document repeats: the
/// steps of a document test the same few (`$statusCode == 200`) again and again.
pub(crate) fn compile_with(
    criterion: &Criterion,
    conditions: &mut Repeated<Arc<Condition>>,
) -> Result<Compiled, CriterionError> {
    let kind = &criterion.kind.value;
    let name = match kind {
        CriterionKind::Simple => "simple",
        CriterionKind::Regex => "regex",
        CriterionKind::JsonPath { .. } => "jsonpath",
        CriterionKind::XPath { .. } => "xpath",
    };
    if let CriterionKind::XPath { .. } = kind {
        return Err(xpath_unsupported());
    }
    let context = match &criterion.context {
        Some(context) => Some(compile_context(&context.value)?),
        None => None,
    };
    if context.is_none() && !matches!(kind, CriterionKind::Simple) {
        return Err(CriterionError {
            on_context: true,
            offset: None,
            message: format!(
                "a `{name}` criterion needs a `context`: the runtime expression whose value it tests"
            ),
            help: Some(match kind {
                CriterionKind::Regex => {
                    "add, for example, `context: $statusCode` or `context: $response.header.Location`"
                        .to_owned()
                }
                _ => "add, for example, `context: $response.body`".to_owned(),
            }),
        });
    }
    let written = &criterion.condition.value;
    let test = match kind {
        CriterionKind::Simple => Test::Simple(
            conditions
                .parse(written, |text| condition::parse(text).map(Arc::new))
                .map_err(|err| CriterionError {
                    on_context: false,
                    offset: Some(err.offset),
                    message: err.message,
                    help: None,
                })?,
        ),
        CriterionKind::Regex => Test::Regex(match template(written)? {
            Some(built) => Pattern::Built(built),
            None => Pattern::Fixed(compile_regex(written)?),
        }),
        CriterionKind::JsonPath { version } => {
            if let Some(version) = version
                && !JSONPATH_VERSIONS.contains(&version.as_str())
            {
                return Err(CriterionError {
                    on_context: false,
                    offset: None,
                    message: format!("unknown JSONPath version `{version}`"),
                    help: Some(format!(
                        "the versions are `{}`{}",
                        JSONPATH_VERSIONS.join("` and `"),
                        apiflow::diagnostic::did_you_mean(version, JSONPATH_VERSIONS)
                            .map(|hint| format!("; {hint}"))
                            .unwrap_or_default()
                    )),
                });
            }
            Test::JsonPath(match template(written)? {
                Some(built) => Pattern::Built(built),
                None => Pattern::Fixed(compile_jsonpath(written)?),
            })
        }
        CriterionKind::XPath { .. } => return Err(xpath_unsupported()),
    };
    Ok(Compiled { context, test })
}

fn xpath_unsupported() -> CriterionError {
    CriterionError {
        on_context: false,
        offset: None,
        message: "XPath criteria are not supported: apiflow reads JSON, not XML".to_owned(),
        help: Some(
            "check a JSON body with a `jsonpath` criterion, or the text of a body with a `regex` criterion (`context: $response.body`)"
                .to_owned(),
        ),
    }
}

fn compile_context(text: &str) -> Result<Expression, CriterionError> {
    expr::parse(text).map_err(|err| {
        let braced = text.trim().starts_with("{$") && text.trim().ends_with('}');
        CriterionError {
            on_context: true,
            offset: Some(err.offset),
            message: err.message,
            help: braced.then(|| {
                format!(
                    "a `context` is a runtime expression written without braces: `{}`",
                    text.trim().trim_start_matches('{').trim_end_matches('}')
                )
            }),
        }
    })
}

/// Reads the `{$…}` parts of a regex or `JSONPath` condition: `None` when it has none.
fn template(text: &str) -> Result<Option<Text>, CriterionError> {
    match expr::parse_embedded(text) {
        Ok(Text::Literal(_)) => Ok(None),
        Ok(built) => Ok(Some(built)),
        Err(err) => Err(CriterionError {
            on_context: false,
            offset: Some(err.offset),
            message: err.message,
            help: None,
        }),
    }
}

/// Compiles an ECMA-262 pattern, or says why it does not compile.
fn regex_of(pattern: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(&ecma_to_rust(pattern))
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|err| match &err {
            regex::Error::Syntax(text) => text
                .lines()
                .rev()
                .find_map(|line| line.strip_prefix("error: "))
                .unwrap_or("syntax error")
                .to_owned(),
            regex::Error::CompiledTooBig(_) => "the regex is too large".to_owned(),
            _ => err.to_string(),
        })
}

fn compile_regex(pattern: &str) -> Result<Regex, CriterionError> {
    regex_of(pattern).map_err(|detail| {
            let unsupported = detail.contains("look-around") || detail.contains("backreferences");
            CriterionError {
                on_context: false,
                offset: None,
                message: format!("invalid regular expression `{pattern}`: {detail}"),
                help: Some(if unsupported {
                    "ECMA-262 has look-around and backreferences, but apiflow's regex engine (the `regex` crate, which runs in time linear in the text) does not: write the pattern without them, or test the value with a `simple` condition".to_owned()
                } else {
                    "criteria patterns are ECMA-262 regular expressions, run by the `regex` crate".to_owned()
                }),
            }
        })
}

fn compile_jsonpath(path: &str) -> Result<JsonPath, CriterionError> {
    JsonPath::parse(path).map_err(|err| CriterionError {
        on_context: false,
        offset: err.offset,
        message: format!("invalid JSONPath `{path}`: {}", err.message),
        help: Some(
            "a `jsonpath` condition is an RFC 9535 query such as `$.pets[*]` or `$[?@.status == 'ok']`"
                .to_owned(),
        ),
    })
}

/// Rewrites an ECMA-262 pattern so that the `regex` crate gives it ECMA-262's meaning: ASCII
/// `\d`, `\w`, `\b` (and negations), a `.` that stops at every line terminator, `[\b]` as a
/// backspace, and `[`, `&`, `~` inside a class as literals (the crate's nested classes and set
/// operations). Everything else is passed through.
fn ecma_to_rust(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut in_class = false;
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('d') => out.push_str("[0-9]"),
                Some('D') => out.push_str("[^0-9]"),
                Some('w') => out.push_str("[0-9A-Za-z_]"),
                Some('W') => out.push_str("[^0-9A-Za-z_]"),
                Some('b') if in_class => out.push_str("\\x08"),
                Some('b') => out.push_str("(?-u:\\b)"),
                Some('B') if !in_class => out.push_str("(?-u:\\B)"),
                Some(next) => {
                    out.push('\\');
                    out.push(next);
                }
                None => out.push('\\'),
            },
            '[' if in_class => out.push_str("\\["),
            '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            '[' => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    chars.next();
                    out.push('^');
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '.' if !in_class => out.push_str("[^\\n\\r\\u{2028}\\u{2029}]"),
            c => out.push(c),
        }
    }
    out
}

impl Compiled {
    /// Returns the criterion's type.
    pub fn kind(&self) -> Kind {
        match &self.test {
            Test::Simple(_) => Kind::Simple,
            Test::Regex(_) => Kind::Regex,
            Test::JsonPath(_) => Kind::JsonPath,
        }
    }

    /// Returns the context, when the criterion has one.
    pub fn context(&self) -> Option<&Expression> {
        self.context.as_ref()
    }

    /// Returns every runtime expression the criterion reads: the context, then those of the
    /// condition.
    pub fn expressions(&self) -> Vec<&Expression> {
        let mut out: Vec<&Expression> = self.context.iter().collect();
        match &self.test {
            Test::Simple(condition) => condition.expressions_into(&mut out),
            Test::Regex(Pattern::Built(text)) | Test::JsonPath(Pattern::Built(text)) => {
                out.extend(text.expressions());
            }
            Test::Regex(Pattern::Fixed(_)) | Test::JsonPath(Pattern::Fixed(_)) => {}
        }
        out
    }

    /// Evaluates the criterion: whether it holds.
    ///
    /// # Errors
    /// An [`EvalError`] when a value it reads cannot be read or has the wrong type, or when a
    /// pattern built from `{$…}` parts does not compile.
    pub fn eval(&self, scope: &Scope) -> Result<bool, EvalError> {
        let context = || -> Result<(serde_json::Value, bool, &Expression), EvalError> {
            let Some(context) = &self.context else {
                return Err(EvalError::Missing(
                    "the criterion has no `context`".to_owned(),
                ));
            };
            let (value, text) = context.resolve(scope)?;
            Ok((value, text, context))
        };
        match &self.test {
            Test::Simple(condition) => condition.eval(scope),
            Test::Regex(pattern) => {
                let (value, _, expression) = context()?;
                let subject = match value {
                    serde_json::Value::Null => return Ok(false),
                    serde_json::Value::String(text) => text,
                    serde_json::Value::Bool(_) | serde_json::Value::Number(_) => value.to_string(),
                    other => {
                        return Err(EvalError::Type(format!(
                            "a `regex` criterion matches text, and `{expression}` is {}",
                            kind_of(&other)
                        )));
                    }
                };
                let regex = match pattern {
                    Pattern::Fixed(regex) => regex.clone(),
                    Pattern::Built(text) => {
                        let built = text.render(scope)?;
                        regex_of(&built).map_err(|reason| built_error(text, &reason))?
                    }
                };
                Ok(regex.is_match(&subject))
            }
            Test::JsonPath(pattern) => {
                let (value, text, expression) = context()?;
                if text {
                    return Err(EvalError::NotJson(format!(
                        "a `jsonpath` criterion reads JSON, and `{expression}` is not JSON"
                    )));
                }
                if value.is_null() {
                    return Ok(false);
                }
                let path = match pattern {
                    Pattern::Fixed(path) => path.clone(),
                    Pattern::Built(text) => {
                        let built = text.render(scope)?;
                        JsonPath::parse(&built).map_err(|err| built_error(text, &err.message))?
                    }
                };
                Ok(selects(&path, &value))
            }
        }
    }
}

/// Explains a regex or `JSONPath` built from `{$…}` parts that does not compile, naming it as
/// written (the values put into it may be secrets) with the reason the compiler gave.
fn built_error(written: &Text, reason: &str) -> EvalError {
    EvalError::Invalid(format!(
        "the condition `{written}` does not compile once its expressions are put in: {reason}"
    ))
}

/// Tells whether `path` selects anything in `value`; a filter at the root over anything but an
/// array tests `value` itself.
fn selects(path: &JsonPath, value: &serde_json::Value) -> bool {
    if filters_root(path.as_str()) && !value.is_array() {
        let wrapped = serde_json::Value::Array(vec![value.clone()]);
        return !path.query(&wrapped).is_empty();
    }
    !path.query(value).is_empty()
}

/// Tells whether a `JSONPath` starts with a filter selector at the root (`$[?…]`).
fn filters_root(path: &str) -> bool {
    path.strip_prefix('$')
        .map(str::trim_start)
        .and_then(|rest| rest.strip_prefix('['))
        .is_some_and(|rest| rest.trim_start().starts_with('?'))
}

#[cfg(test)]
mod tests {
    use apiflow::span::{Span, Spanned};
    use serde_json::json;

    use super::*;
    use crate::expr::{Body, Message};

    #[test]
    fn a_repeated_condition_is_shared_and_each_failure_told_every_time() {
        let mut conditions = Repeated::default();
        let simple = |text: &str| criterion(None, text, CriterionKind::Simple);
        let shared = |compiled: &Compiled| match &compiled.test {
            Test::Simple(condition) => Arc::clone(condition),
            _ => unreachable!("a simple criterion"),
        };
        let compiled: Vec<Arc<Condition>> = (0..3)
            .map(|_| shared(&compile_with(&simple("$statusCode == 200"), &mut conditions).unwrap()))
            .collect();
        for condition in &compiled {
            assert_eq!(**condition, condition::parse("$statusCode == 200").unwrap());
        }
        assert!(
            Arc::ptr_eq(&compiled[1], &compiled[2]),
            "kept once repeated"
        );
        let other = shared(&compile_with(&simple("$statusCode == 201"), &mut conditions).unwrap());
        assert!(!Arc::ptr_eq(&compiled[2], &other));
        for _ in 0..2 {
            assert_eq!(
                compile_with(&simple("$statusCode = 200"), &mut conditions).unwrap_err(),
                compile(&simple("$statusCode = 200")).unwrap_err()
            );
        }
    }

    fn criterion(context: Option<&str>, condition: &str, kind: CriterionKind) -> Criterion {
        Criterion {
            context: context.map(|c| Spanned::new(c.to_owned(), Span::default())),
            condition: Spanned::new(condition.to_owned(), Span::default()),
            kind: Spanned::new(kind, Span::default()),
            span: Span::default(),
        }
    }

    fn scope(status: u16, body: Body) -> Scope {
        let mut scope = Scope {
            status: Some(status),
            response: Some(Message {
                headers: vec![(
                    "Location".to_owned(),
                    "https://app.example/cb?code=1".to_owned(),
                )],
                body: Some(body),
                ..Message::default()
            }),
            ..Scope::default()
        };
        scope
            .inputs
            .insert("statusPattern".to_owned(), json!("2\\d\\d"));
        scope
            .inputs
            .insert("expectedStatus".to_owned(), json!("available"));
        scope
    }

    fn holds(criterion: &Criterion, scope: &Scope) -> Result<bool, EvalError> {
        compile(criterion)
            .unwrap_or_else(|e| panic!("{}: {e:?}", criterion.condition.value))
            .eval(scope)
    }

    fn regex(context: &str, pattern: &str) -> Criterion {
        criterion(Some(context), pattern, CriterionKind::Regex)
    }

    fn jsonpath(context: &str, path: &str) -> Criterion {
        criterion(
            Some(context),
            path,
            CriterionKind::JsonPath { version: None },
        )
    }

    #[test]
    fn a_simple_criterion_is_its_condition() {
        let ok = scope(200, Body::Json(json!({"data": [1]})));
        let simple = criterion(
            None,
            "$statusCode == 200 && $response.body.data != null",
            CriterionKind::Simple,
        );
        assert_eq!(holds(&simple, &ok), Ok(true));
        assert_eq!(
            holds(&simple, &scope(404, Body::Json(json!({})))),
            Ok(false)
        );
        let with_context = criterion(
            Some("$response.body"),
            "$statusCode == 200",
            CriterionKind::Simple,
        );
        let compiled = compile(&with_context).unwrap();
        assert_eq!(compiled.kind(), Kind::Simple);
        assert_eq!(compiled.expressions().len(), 2);
        assert_eq!(compiled.eval(&ok), Ok(true));
        let bad =
            compile(&criterion(None, "$statusCode = 200", CriterionKind::Simple)).unwrap_err();
        assert_eq!(
            bad,
            CriterionError {
                on_context: false,
                offset: Some(12),
                message: "expected an operator, found `=`; equality is written `==`".to_owned(),
                help: None,
            }
        );
    }

    #[test]
    fn a_regex_criterion_matches_the_context_s_text() {
        let ok = scope(
            201,
            Body::Json(
                json!({"status": "Approved", "n": 7, "flag": true, "none": null, "obj": {}}),
            ),
        );
        assert_eq!(holds(&regex("$statusCode", "^2\\d{2}$"), &ok), Ok(true));
        assert_eq!(
            holds(
                &regex("$statusCode", "^2\\d{2}$"),
                &scope(404, Body::Text(String::new()))
            ),
            Ok(false)
        );
        assert_eq!(holds(&regex("$statusCode", "^200$"), &ok), Ok(false));
        assert_eq!(
            holds(&regex("$response.header.location", "code=\\d+"), &ok),
            Ok(true)
        );
        assert_eq!(
            holds(&regex("$response.body#/status", "^approved$"), &ok),
            Ok(false)
        );
        assert_eq!(
            holds(&regex("$response.body#/status", "(?i)^approved$"), &ok),
            Ok(true)
        );
        assert_eq!(holds(&regex("$response.body#/n", "^7$"), &ok), Ok(true));
        assert_eq!(
            holds(&regex("$response.body#/flag", "^true$"), &ok),
            Ok(true)
        );
        assert_eq!(holds(&regex("$response.body#/none", ".*"), &ok), Ok(false));
        assert_eq!(
            holds(&regex("$response.body#/obj", ".*"), &ok),
            Err(EvalError::Type(
                "a `regex` criterion matches text, and `$response.body#/obj` is an object"
                    .to_owned()
            ))
        );
        assert_eq!(
            holds(&regex("$response.header.X-Missing", ".*"), &ok),
            Err(EvalError::Missing(
                "`$response.header.X-Missing` is not set: the response has no header `X-Missing`"
                    .to_owned()
            ))
        );
        let text = scope(200, Body::Text("<ok>yes</ok>".to_owned()));
        assert_eq!(
            holds(&regex("$response.body", "<ok>yes</ok>"), &text),
            Ok(true)
        );
    }

    #[test]
    fn regexes_keep_their_ecma_262_meaning() {
        let cases: &[(&str, &str, bool)] = &[
            ("^\\d+$", "123", true),
            ("^\\d+$", "\u{663}", false),
            ("^\\D$", "\u{663}", true),
            ("^\\w+$", "abc_1", true),
            ("^\\w+$", "\u{e9}t\u{e9}", false),
            ("\\bfoo", "\u{e9}foo", true),
            ("^a.b$", "a\rb", false),
            ("^a.b$", "a\u{2028}b", false),
            ("^a.b$", "axb", true),
            ("^[.]$", ".", true),
            ("^[\\b]$", "\u{8}", true),
            ("^[[]$", "[", true),
            ("^[a&&b]+$", "a&&b", true),
            ("^[\\d]$", "5", true),
            ("\\\\d", "\\d", true),
            ("^\\u0041$", "A", true),
        ];
        for (pattern, subject, expected) in cases {
            let regex = compile_regex(pattern).unwrap_or_else(|e| panic!("{pattern}: {e:?}"));
            assert_eq!(
                regex.is_match(subject),
                *expected,
                "{pattern} on {subject:?}"
            );
        }
    }

    #[test]
    fn a_regex_the_engine_cannot_run_says_why() {
        let err = compile(&regex("$response.body", "^(?=a)")).unwrap_err();
        assert!(!err.on_context);
        assert_eq!(
            err.message,
            "invalid regular expression `^(?=a)`: look-around, including look-ahead and look-behind, is not supported"
        );
        assert!(
            err.help
                .as_deref()
                .unwrap_or("")
                .starts_with("ECMA-262 has look-around and backreferences"),
            "{err:?}"
        );
        let err = compile(&regex("$response.body", "(a)\\1")).unwrap_err();
        assert_eq!(
            err.message,
            "invalid regular expression `(a)\\1`: backreferences are not supported"
        );
        let err = compile(&regex("$response.body", "a(")).unwrap_err();
        assert_eq!(
            err.message,
            "invalid regular expression `a(`: unclosed group"
        );
        assert_eq!(
            err.help.as_deref(),
            Some("criteria patterns are ECMA-262 regular expressions, run by the `regex` crate")
        );
    }

    #[test]
    fn a_regex_with_embedded_expressions_is_built_when_evaluated() {
        let built = regex("$statusCode", "^({$inputs.statusPattern})$");
        let compiled = compile(&built).unwrap();
        assert_eq!(compiled.expressions().len(), 2);
        assert_eq!(
            compiled.eval(&scope(204, Body::Text(String::new()))),
            Ok(true)
        );
        assert_eq!(
            compiled.eval(&scope(404, Body::Text(String::new()))),
            Ok(false)
        );
        let mut broken = scope(204, Body::Text(String::new()));
        broken
            .inputs
            .insert("statusPattern".to_owned(), json!("(2"));
        assert_eq!(
            compiled.eval(&broken),
            Err(EvalError::Invalid(
                "the condition `^({$inputs.statusPattern})$` does not compile once its expressions are put in: unclosed group".to_owned()
            ))
        );
    }

    #[test]
    fn a_jsonpath_criterion_holds_when_it_selects_something() {
        let pets = scope(200, Body::Json(json!({"pets": [{"status": "available"}]})));
        let none = scope(200, Body::Json(json!({"pets": []})));
        let empty = scope(200, Body::Json(json!({})));
        let list = scope(
            200,
            Body::Json(json!([{"status": "available"}, {"status": "sold"}])),
        );
        let count = jsonpath("$response.body", "$[?count(@.pets) > 0]");
        assert_eq!(holds(&count, &pets), Ok(true));
        assert_eq!(holds(&count, &empty), Ok(false));
        let all = jsonpath("$response.body", "$.pets[*]");
        assert_eq!(holds(&all, &pets), Ok(true));
        assert_eq!(holds(&all, &none), Ok(false));
        let longer = jsonpath("$response.body", "$[?length(@.pets) > 0]");
        assert_eq!(holds(&longer, &pets), Ok(true));
        assert_eq!(holds(&longer, &none), Ok(false));
        let sold = jsonpath("$response.body", "$[?@.status == 'sold']");
        assert_eq!(holds(&sold, &list), Ok(true));
        assert_eq!(holds(&sold, &pets), Ok(false));
        let templated = jsonpath(
            "$response.body",
            "$.pets[?(@.status == \"{$inputs.expectedStatus}\")]",
        );
        assert_eq!(holds(&templated, &pets), Ok(true));
        assert_eq!(holds(&templated, &none), Ok(false));
        let mut odd = pets.clone();
        odd.inputs
            .insert("expectedStatus".to_owned(), json!("a\"b"));
        assert_eq!(
            holds(&templated, &odd).map_err(|e| e.message().split(": ").next().map(str::to_owned)),
            Err(Some(
                "the condition `$.pets[?(@.status == \"{$inputs.expectedStatus}\")]` does not compile once its expressions are put in".to_owned()
            ))
        );
        let null = scope(200, Body::Json(json!({"pets": null})));
        assert_eq!(
            holds(&jsonpath("$response.body#/pets", "$"), &null),
            Ok(false)
        );
        let text = scope(200, Body::Text("<pets/>".to_owned()));
        assert_eq!(
            holds(&all, &text),
            Err(EvalError::NotJson(
                "a `jsonpath` criterion reads JSON, and `$response.body` is not JSON".to_owned()
            ))
        );
        let draft = criterion(
            Some("$response.body"),
            "$.pets[*]",
            CriterionKind::JsonPath {
                version: Some("draft-goessner-dispatch-jsonpath-00".to_owned()),
            },
        );
        assert_eq!(holds(&draft, &pets), Ok(true));
    }

    #[test]
    fn explains_criteria_that_do_not_compile() {
        let cases: Vec<(Criterion, CriterionError)> = vec![
            (
                criterion(None, "^2", CriterionKind::Regex),
                CriterionError {
                    on_context: true,
                    offset: None,
                    message: "a `regex` criterion needs a `context`: the runtime expression whose value it tests".to_owned(),
                    help: Some("add, for example, `context: $statusCode` or `context: $response.header.Location`".to_owned()),
                },
            ),
            (
                criterion(None, "$.a", CriterionKind::JsonPath { version: None }),
                CriterionError {
                    on_context: true,
                    offset: None,
                    message: "a `jsonpath` criterion needs a `context`: the runtime expression whose value it tests".to_owned(),
                    help: Some("add, for example, `context: $response.body`".to_owned()),
                },
            ),
            (
                criterion(Some("{$response.body}"), "$.a", CriterionKind::JsonPath { version: None }),
                CriterionError {
                    on_context: true,
                    offset: Some(0),
                    message: "expected a runtime expression starting with `$`, found `{`".to_owned(),
                    help: Some("a `context` is a runtime expression written without braces: `$response.body`".to_owned()),
                },
            ),
            (
                criterion(Some("$respons.body"), "$.a", CriterionKind::JsonPath { version: None }),
                CriterionError {
                    on_context: true,
                    offset: Some(0),
                    message: "unknown runtime expression `$respons`; did you mean `$response`?".to_owned(),
                    help: None,
                },
            ),
            (
                criterion(Some("$response.body"), "$.a", CriterionKind::JsonPath { version: Some("rfc9353".to_owned()) }),
                CriterionError {
                    on_context: false,
                    offset: None,
                    message: "unknown JSONPath version `rfc9353`".to_owned(),
                    help: Some("the versions are `rfc9535` and `draft-goessner-dispatch-jsonpath-00`; did you mean `rfc9535`?".to_owned()),
                },
            ),
            (
                criterion(Some("$response.body"), "/root/pets", CriterionKind::XPath { version: None }),
                CriterionError {
                    on_context: false,
                    offset: None,
                    message: "XPath criteria are not supported: apiflow reads JSON, not XML".to_owned(),
                    help: Some("check a JSON body with a `jsonpath` criterion, or the text of a body with a `regex` criterion (`context: $response.body`)".to_owned()),
                },
            ),
            (
                criterion(Some("$response.body"), "{$inputs.x", CriterionKind::Regex),
                CriterionError {
                    on_context: false,
                    offset: Some(10),
                    message: "expected `}` closing the expression `{$inputs.x`, found the end".to_owned(),
                    help: None,
                },
            ),
        ];
        for (criterion, expected) in cases {
            assert_eq!(
                compile(&criterion).unwrap_err(),
                expected,
                "{}",
                criterion.condition.value
            );
        }
        let bad_path = compile(&jsonpath("$response.body", "$.pets[")).unwrap_err();
        assert!(
            bad_path.message.starts_with("invalid JSONPath `$.pets[`: "),
            "{bad_path:?}"
        );
        assert!(bad_path.offset.is_some(), "{bad_path:?}");
    }

    /// Every criterion and runtime expression of the specification's examples compiles, but
    /// for the one mistake in them.
    #[test]
    fn compiles_the_specification_s_examples() {
        let examples = [
            (
                "FAPI-PAR.arazzo.yaml",
                include_str!("../../../tests/vectors/arazzo/examples/1.0.0/FAPI-PAR.arazzo.yaml"),
            ),
            (
                "LoginAndRetrievePets.arazzo.yaml",
                include_str!(
                    "../../../tests/vectors/arazzo/examples/1.0.0/LoginAndRetrievePets.arazzo.yaml"
                ),
            ),
            (
                "bnpl-arazzo.yaml",
                include_str!("../../../tests/vectors/arazzo/examples/1.0.0/bnpl-arazzo.yaml"),
            ),
            (
                "oauth.arazzo.yaml",
                include_str!("../../../tests/vectors/arazzo/examples/1.0.0/oauth.arazzo.yaml"),
            ),
            (
                "pet-coupons.arazzo.yaml",
                include_str!(
                    "../../../tests/vectors/arazzo/examples/1.0.0/pet-coupons.arazzo.yaml"
                ),
            ),
            (
                "ExtendedParametersExample.arazzo.yaml",
                include_str!(
                    "../../../tests/vectors/arazzo/examples/1.0.0/ExtendedParametersExample.arazzo.yaml"
                ),
            ),
        ];
        let mut criteria = 0;
        let mut expressions = 0;
        let mut errors = Vec::new();
        for (name, text) in examples {
            let document = crate::load::load(&apiflow::span::Source::new(name, text))
                .unwrap_or_else(|e| panic!("{name}: {e:?}"));
            for workflow in &document.workflows {
                let mut all: Vec<&Criterion> = Vec::new();
                let mut outputs: Vec<&str> = workflow
                    .outputs
                    .iter()
                    .map(|(_, v)| v.value.as_str())
                    .collect();
                for step in &workflow.steps {
                    all.extend(&step.success_criteria);
                    for action in step.on_success.iter().chain(&step.on_failure) {
                        if let crate::model::ActionOrRef::Action(action) = action {
                            all.extend(&action.criteria);
                        }
                    }
                    outputs.extend(step.outputs.iter().map(|(_, v)| v.value.as_str()));
                    for parameter in &step.parameters {
                        if let crate::model::ParameterOrRef::Parameter(parameter) = parameter {
                            match expr::parse_value(&parameter.value.value) {
                                Ok(value) => expressions += value.expressions().len(),
                                Err((at, err)) => errors.push(format!("{name}: {at}: {err}")),
                            }
                        }
                    }
                    if let Some(payload) =
                        step.request_body.as_ref().and_then(|b| b.payload.as_ref())
                    {
                        match expr::parse_value(&payload.value) {
                            Ok(value) => expressions += value.expressions().len(),
                            Err((at, err)) => errors.push(format!("{name}: payload{at}: {err}")),
                        }
                    }
                }
                for criterion in all {
                    criteria += 1;
                    if let Err(err) = compile(criterion) {
                        errors.push(format!("{name}: {}: {err}", criterion.condition.value));
                    }
                }
                for output in outputs {
                    expressions += 1;
                    if let Err(err) = expr::parse(output) {
                        errors.push(format!("{name}: {output}: {err}"));
                    }
                }
            }
        }
        assert!(criteria >= 25, "{criteria} criteria");
        assert!(expressions >= 60, "{expressions} expressions");
        assert_eq!(
            errors,
            [
                "bnpl-arazzo.yaml: $steps.retrieveFinalizedPaymentPlan.finalizedPaymentPlan: expected `.outputs.` after the step id `retrieveFinalizedPaymentPlan`, found `.finalizedPaymentPla…`; step values are read as `$steps.STEP_ID.outputs.NAME`"
            ]
        );
    }
}
