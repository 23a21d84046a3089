//! Arazzo runtime expressions (`$url`, `$response.body#/id`, `$steps.login.outputs.token`, …):
//! parsed from text with byte offsets for errors, evaluated against a [`Scope`] the runner fills,
//! and the strings and payloads that hold them (`Whole`, `{$…}` parts, literal text).
//!
//! The grammar is the ABNF of Arazzo 1.1's "Runtime Expressions" section, with these readings
//! where it leaves room:
//! - The roots and keywords (`$inputs`, `.outputs.`, `header`, …) are case-sensitive, spelled as
//!   the specification spells them, as other Arazzo tools read them (RFC 5234 would make quoted
//!   ABNF strings case-insensitive); a near miss gets "did you mean".
//! - `name` (query and path parameters) and the `$sourceDescriptions` reference are JSON string
//!   characters: `\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t` and `\uXXXX` escapes are decoded,
//!   and `"`, `{`, `}` and control characters must be escaped. An empty name is an error.
//! - An identifier (`$inputs.NAME`, an output name, a component name) may hold dots, as the ABNF
//!   allows. When no value has the whole dotted name, the longest dotted prefix that names a
//!   value is taken and the rest read as members: `$inputs.user.id` is input `user`'s member `id`
//!   unless an input is named `user.id`.
//! - `$components.inputs.NAME` is accepted beside the ABNF's `parameters`, `successActions` and
//!   `failureActions`: the Components Object has `inputs`, and Arazzo 1.0 allowed any name.
//! - Where an expression ends depends on where it is written: a whole string runs to
//!   its end; an embedded `{$…}` runs to its `}`; an operand of a condition ends at whitespace
//!   or at an operator character (`=!<>&|()[]`).

use std::collections::{HashMap, HashSet};
use std::fmt::{self, Write as _};
use std::sync::Arc;

use apiflow::diagnostic::did_you_mean;
use apiflow::query::jsonpath::JsonPath;

use crate::load::unescape;

/// The values runtime expressions read, filled by the runner as a workflow goes.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// `$url`: the request URL.
    pub url: Option<String>,
    /// `$method`.
    pub method: Option<String>,
    /// `$statusCode`.
    pub status: Option<u16>,
    /// `$request.…`.
    pub request: Option<Message>,
    /// `$response.…`.
    pub response: Option<Message>,
    /// `$inputs`.
    pub inputs: serde_json::Map<String, serde_json::Value>,
    /// `$outputs` (this workflow's).
    pub outputs: serde_json::Map<String, serde_json::Value>,
    /// `$steps`: step id → its outputs. Hashed with `FxHash`: step ids are the document's own.
    pub steps: rustc_hash::FxHashMap<String, serde_json::Map<String, serde_json::Value>>,
    /// `$workflows`: workflow id → its inputs and outputs.
    pub workflows: HashMap<String, WorkflowValues>,
    /// `$sourceDescriptions`: name → `{"name", "url", "type"}`, made once for the plan.
    pub source_descriptions: Arc<HashMap<String, serde_json::Value>>,
    /// The document's `components` as JSON (`Null` when absent), made once for the plan.
    pub components: Arc<serde_json::Value>,
    /// `$self`.
    pub self_uri: Option<String>,
}

/// The inputs and outputs of a workflow that has run (or is running).
#[derive(Clone, Debug, Default)]
pub struct WorkflowValues {
    /// `$workflows.ID.inputs`.
    pub inputs: serde_json::Map<String, serde_json::Value>,
    /// `$workflows.ID.outputs`.
    pub outputs: serde_json::Map<String, serde_json::Value>,
}

/// An HTTP request or response as expressions see it.
#[derive(Clone, Debug, Default)]
pub struct Message {
    /// Headers as sent or received; look-ups ignore ASCII case.
    pub headers: Vec<(String, String)>,
    /// Query parameters, decoded.
    pub query: Vec<(String, String)>,
    /// Path parameters (request only).
    pub path: Vec<(String, String)>,
    /// The body, when there is one.
    pub body: Option<Body>,
}

/// A message body: parsed JSON, text, or a response body as received.
#[derive(Clone, Debug)]
pub enum Body {
    /// A JSON body, parsed.
    Json(serde_json::Value),
    /// Any other body, as text.
    Text(String),
    /// A response body, parsed as JSON as far as each read needs (text when it is not JSON).
    Received(crate::body::Received),
}

/// A runtime expression, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expression {
    /// `$url`.
    Url,
    /// `$method`.
    Method,
    /// `$statusCode`.
    StatusCode,
    /// `$request.…`.
    Request(Source),
    /// `$response.…`.
    Response(Source),
    /// `$message.…` (an `AsyncAPI` message): parsed, never evaluated.
    Message(Source),
    /// `$inputs.NAME`, with an optional JSON Pointer.
    Inputs {
        /// The input's name.
        name: String,
        /// The JSON Pointer after `#`, as written (`/a/0`).
        pointer: Option<String>,
    },
    /// `$outputs.NAME`, with an optional JSON Pointer.
    Outputs {
        /// The output's name.
        name: String,
        /// The JSON Pointer after `#`, as written.
        pointer: Option<String>,
    },
    /// `$steps.ID.outputs.NAME`, with an optional JSON Pointer.
    Steps {
        /// The step id.
        step: String,
        /// The output's name.
        output: String,
        /// The JSON Pointer after `#`, as written.
        pointer: Option<String>,
    },
    /// `$workflows.ID.inputs.NAME` or `$workflows.ID.outputs.NAME`, with an optional pointer.
    Workflows {
        /// The workflow id.
        workflow: String,
        /// `inputs` or `outputs`.
        field: WorkflowField,
        /// The input's or output's name.
        name: String,
        /// The JSON Pointer after `#`, as written.
        pointer: Option<String>,
    },
    /// `$sourceDescriptions.NAME.REFERENCE`: an operation or workflow id, or a field (`url`).
    SourceDescriptions {
        /// The source description's name.
        name: String,
        /// What follows the name, decoded.
        reference: String,
    },
    /// `$components.KIND.NAME`.
    Components {
        /// Which kind of component.
        kind: ComponentKind,
        /// The component's name.
        name: String,
    },
    /// `$self`.
    SelfUri,
}

/// What a `$request.`, `$response.` or `$message.` expression reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// `header.TOKEN`.
    Header(String),
    /// `query.NAME`.
    Query(String),
    /// `path.NAME`.
    Path(String),
    /// `body`, with an optional JSON Pointer as written.
    Body(Option<String>),
    /// `payload`, with an optional JSON Pointer as written (`AsyncAPI` messages).
    Payload(Option<String>),
}

/// Which values of a workflow a `$workflows` expression reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkflowField {
    /// `inputs`.
    Inputs,
    /// `outputs`.
    Outputs,
}

/// Which part of `components` a `$components` expression reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComponentKind {
    /// `inputs`.
    Inputs,
    /// `parameters`.
    Parameters,
    /// `successActions`.
    SuccessActions,
    /// `failureActions`.
    FailureActions,
}

impl ComponentKind {
    /// Returns the key of `components` this kind names.
    pub fn key(self) -> &'static str {
        match self {
            ComponentKind::Inputs => "inputs",
            ComponentKind::Parameters => "parameters",
            ComponentKind::SuccessActions => "successActions",
            ComponentKind::FailureActions => "failureActions",
        }
    }
}

/// Why a runtime expression could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExprError {
    /// The byte offset in the text where the problem is.
    pub offset: usize,
    /// Lower-case: what was expected, what was found, and a hint where one helps.
    pub message: String,
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExprError {}

/// Why an expression, a condition or a criterion could not be evaluated. Each variant holds a
/// lower-case sentence naming the expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EvalError {
    /// The value is not there: a step has not run, an output or header is absent, a JSON
    /// Pointer finds nothing.
    Missing(String),
    /// A JSON Pointer or `JSONPath` was applied to a body that is not JSON.
    NotJson(String),
    /// A value has the wrong type for what is done with it (an ordering comparison of a string
    /// with a number, a condition that is not `true` or `false`, a regex over an object).
    Type(String),
    /// A regex or `JSONPath` built from `{$…}` parts at run time does not compile.
    Invalid(String),
    /// The expression names something that is not a value here: an operation of a source
    /// description, an `AsyncAPI` message.
    Unsupported(String),
}

impl EvalError {
    /// Returns the sentence the error holds.
    pub fn message(&self) -> &str {
        match self {
            EvalError::Missing(m)
            | EvalError::NotJson(m)
            | EvalError::Type(m)
            | EvalError::Invalid(m)
            | EvalError::Unsupported(m) => m,
        }
    }
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for EvalError {}

/// The roots of runtime expressions, as the specification spells them.
const ROOTS: [&str; 13] = [
    "url",
    "method",
    "statusCode",
    "request",
    "response",
    "message",
    "inputs",
    "outputs",
    "steps",
    "workflows",
    "sourceDescriptions",
    "components",
    "self",
];

/// Where an expression is written, which decides where its free-form parts end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The whole string: names and pointers run to its end.
    Whole,
    /// Inside `{…}`: names and pointers end at `}`.
    Embedded,
    /// An operand of a simple condition: names and pointers end at whitespace or an operator.
    Condition,
}

impl Mode {
    /// Tells whether `c` ends a name, a header token or a JSON Pointer in this mode.
    fn stops(self, c: char) -> bool {
        match self {
            Mode::Whole | Mode::Embedded => c == '{' || c == '}',
            Mode::Condition => c.is_whitespace() || "=!<>&|()[]{}".contains(c),
        }
    }
}

/// Parses `text`, which must be one runtime expression and nothing else.
///
/// # Errors
/// An [`ExprError`] pointing at the first character that does not fit.
pub fn parse(text: &str) -> Result<Expression, ExprError> {
    let (expression, end) = parse_at(text, 0, Mode::Whole)?;
    if end < text.len() {
        return Err(trailing(text, end, &expression));
    }
    Ok(expression)
}

/// Parses the expression that starts with `$` at byte `start` of `text`, and returns it with
/// the offset just after it.
pub(crate) fn parse_at(
    text: &str,
    start: usize,
    mode: Mode,
) -> Result<(Expression, usize), ExprError> {
    let mut parser = Parser {
        text,
        pos: start,
        mode,
    };
    let expression = parser.expression()?;
    Ok((expression, parser.pos))
}

/// Explains what follows a whole expression that should have ended.
fn trailing(text: &str, end: usize, expression: &Expression) -> ExprError {
    let rest = &text[end..];
    let shown = excerpt(rest);
    let hint = match expression {
        Expression::Request(Source::Body(None)) | Expression::Response(Source::Body(None))
            if rest.starts_with('.') =>
        {
            format!(
                "; a part of the body is read with a JSON Pointer: `{expression}#/{}`",
                rest[1..].replace('.', "/")
            )
        }
        _ if rest.starts_with('/') => {
            "; a part of a value is read with a JSON Pointer after `#`".to_owned()
        }
        _ if rest.trim().is_empty() => "; remove the spaces after it".to_owned(),
        _ => format!("; to put text around an expression, write it in braces: `{{{expression}}}`"),
    };
    ExprError {
        offset: end,
        message: format!(
            "expected the end of the runtime expression `{expression}`, found `{shown}`{hint}"
        ),
    }
}

/// Returns the start of `rest`, short enough for a message.
fn excerpt(rest: &str) -> String {
    let mut out: String = rest.chars().take(20).collect();
    if out.len() < rest.len() {
        out.push('…');
    }
    out
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    mode: Mode,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn found(&self) -> String {
        match self.peek() {
            None => "the end".to_owned(),
            Some(c) if c.is_whitespace() => "a space".to_owned(),
            Some(c) => format!("`{c}`"),
        }
    }

    fn expected(&self, what: &str) -> ExprError {
        expr_error(self.pos, format!("expected {what}, found {}", self.found()))
    }

    /// Takes the longest run of characters `accept` takes.
    fn take_while(&mut self, accept: impl Fn(char) -> bool) -> &'a str {
        let text = self.text;
        let start = self.pos;
        let len = text[start..]
            .find(|c: char| !accept(c))
            .unwrap_or(text.len() - start);
        self.pos += len;
        &text[start..self.pos]
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn dot(&mut self, after: &str) -> Result<(), ExprError> {
        if self.eat('.') {
            Ok(())
        } else {
            Err(self.expected(&format!("`.` after `{after}`")))
        }
    }

    fn expression(&mut self) -> Result<Expression, ExprError> {
        let start = self.pos;
        if !self.eat('$') {
            return Err(self.expected("a runtime expression starting with `$`"));
        }
        let word = self.take_while(|c| c.is_ascii_alphabetic());
        let expression = match word {
            "url" => Expression::Url,
            "method" => Expression::Method,
            "statusCode" => Expression::StatusCode,
            "self" => Expression::SelfUri,
            "request" => Expression::Request(self.source("$request")?),
            "response" => Expression::Response(self.source("$response")?),
            "message" => Expression::Message(self.source("$message")?),
            "inputs" | "outputs" => {
                self.dot(&format!("${word}"))?;
                let name = self.identifier(false, "a name")?;
                let pointer = self.pointer()?;
                if word == "inputs" {
                    Expression::Inputs { name, pointer }
                } else {
                    Expression::Outputs { name, pointer }
                }
            }
            "steps" => self.steps()?,
            "workflows" => self.workflows()?,
            "sourceDescriptions" => {
                self.dot("$sourceDescriptions")?;
                let name = self.identifier(true, "a source description name")?;
                self.dot(&format!("$sourceDescriptions.{name}"))?;
                let reference = self.name("an operation id, a workflow id or a field name")?;
                Expression::SourceDescriptions { name, reference }
            }
            "components" => self.components()?,
            _ => return Err(unknown_root(self.text, start, word)),
        };
        Ok(expression)
    }

    fn source(&mut self, root: &str) -> Result<Source, ExprError> {
        self.dot(root)?;
        let at = self.pos;
        let word = self.take_while(|c| c.is_ascii_alphabetic());
        match word {
            "header" => {
                self.dot(&format!("{root}.header"))?;
                let mode = self.mode;
                let token = self.take_while(|c| is_tchar(c) && !mode.stops(c));
                if token.is_empty() {
                    return Err(self.expected("a header name"));
                }
                Ok(Source::Header(token.to_owned()))
            }
            "query" => {
                self.dot(&format!("{root}.query"))?;
                Ok(Source::Query(self.name("a query parameter name")?))
            }
            "path" => {
                self.dot(&format!("{root}.path"))?;
                Ok(Source::Path(self.name("a path parameter name")?))
            }
            "body" => Ok(Source::Body(self.pointer()?)),
            "payload" => Ok(Source::Payload(self.pointer()?)),
            _ => {
                let parts = ["header", "query", "path", "body", "payload"];
                let mut message = format!(
                    "expected `header`, `query`, `path`, `body` or `payload` after `{root}.`, found {}",
                    if word.is_empty() {
                        self.found()
                    } else {
                        format!("`{word}`")
                    }
                );
                if let Some(hint) = did_you_mean(word, parts) {
                    message.push_str("; ");
                    message.push_str(&hint);
                }
                Err(expr_error(at, message))
            }
        }
    }

    fn steps(&mut self) -> Result<Expression, ExprError> {
        self.dot("$steps")?;
        let step = self.identifier(true, "a step id")?;
        let at = self.pos;
        let shape = "step values are read as `$steps.STEP_ID.outputs.NAME`";
        if !self.rest().starts_with(".outputs.") {
            let found = if self.rest().is_empty() {
                "the end".to_owned()
            } else {
                format!("`{}`", excerpt(self.rest()))
            };
            return Err(expr_error(
                at,
                format!("expected `.outputs.` after the step id `{step}`, found {found}; {shape}"),
            ));
        }
        self.pos += ".outputs.".len();
        let output = self.identifier(false, "an output name")?;
        let pointer = self.pointer()?;
        Ok(Expression::Steps {
            step,
            output,
            pointer,
        })
    }

    fn workflows(&mut self) -> Result<Expression, ExprError> {
        self.dot("$workflows")?;
        let workflow = self.identifier(true, "a workflow id")?;
        self.dot(&format!("$workflows.{workflow}"))?;
        let at = self.pos;
        let word = self.take_while(|c| c.is_ascii_alphabetic());
        let field = match word {
            "inputs" => WorkflowField::Inputs,
            "outputs" => WorkflowField::Outputs,
            _ => {
                let found = if word.is_empty() {
                    self.found()
                } else {
                    format!("`{word}`")
                };
                return Err(expr_error(
                    at,
                    format!(
                        "expected `inputs` or `outputs` after `$workflows.{workflow}.`, found {found}"
                    ),
                ));
            }
        };
        self.dot(&format!("$workflows.{workflow}.{word}"))?;
        let name = self.identifier(false, "a name")?;
        let pointer = self.pointer()?;
        Ok(Expression::Workflows {
            workflow,
            field,
            name,
            pointer,
        })
    }

    fn components(&mut self) -> Result<Expression, ExprError> {
        self.dot("$components")?;
        let at = self.pos;
        let word = self.take_while(|c| c.is_ascii_alphabetic());
        let kinds = ["inputs", "parameters", "successActions", "failureActions"];
        let kind = match word {
            "inputs" => ComponentKind::Inputs,
            "parameters" => ComponentKind::Parameters,
            "successActions" => ComponentKind::SuccessActions,
            "failureActions" => ComponentKind::FailureActions,
            _ => {
                let found = if word.is_empty() {
                    self.found()
                } else {
                    format!("`{word}`")
                };
                let mut message = format!(
                    "expected `inputs`, `parameters`, `successActions` or `failureActions` after `$components.`, found {found}"
                );
                if let Some(hint) = did_you_mean(word, kinds) {
                    message.push_str("; ");
                    message.push_str(&hint);
                }
                return Err(expr_error(at, message));
            }
        };
        self.dot(&format!("$components.{word}"))?;
        let name = self.identifier(false, "a component name")?;
        Ok(Expression::Components { kind, name })
    }

    /// Reads `identifier` (`[A-Za-z0-9._-]+`) or, when `strict`, `identifier-strict` (no dots).
    fn identifier(&mut self, strict: bool, what: &str) -> Result<String, ExprError> {
        let name = self.take_while(|c| {
            c.is_ascii_alphanumeric() || c == '-' || c == '_' || (!strict && c == '.')
        });
        if name.is_empty() {
            return Err(self.expected(what));
        }
        Ok(name.to_owned())
    }

    /// Reads `name` (`*CHAR`, JSON string characters with their escapes), decoded.
    fn name(&mut self, what: &str) -> Result<String, ExprError> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if self.mode.stops(c) {
                break;
            }
            let at = self.pos;
            self.pos += c.len_utf8();
            match c {
                '\\' => out.push(self.escape(at)?),
                '"' => {
                    return Err(expr_error(at, "a `\"` in a name is written `\\\"`"));
                }
                c if u32::from(c) < 0x20 => {
                    return Err(expr_error(
                        at,
                        format!(
                            "a control character in a name is written as an escape: `\\u{:04x}`",
                            u32::from(c)
                        ),
                    ));
                }
                c => out.push(c),
            }
        }
        if out.is_empty() {
            return Err(self.expected(what));
        }
        Ok(out)
    }

    /// Decodes the escape whose `\` is at `at`; the parser is just after the `\`.
    fn escape(&mut self, at: usize) -> Result<char, ExprError> {
        let bad = || {
            expr_error(
                at,
                "expected an escape after `\\` (`\\\"`, `\\\\`, `\\/`, `\\b`, `\\f`, `\\n`, `\\r`, `\\t` or `\\uXXXX`)",
            )
        };
        let Some(c) = self.peek() else {
            return Err(bad());
        };
        self.pos += c.len_utf8();
        Ok(match c {
            '"' => '"',
            '\\' => '\\',
            '/' => '/',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let high = self.hex4().ok_or_else(bad)?;
                if (0xD800..0xDC00).contains(&high) {
                    // A surrogate pair, as JSON writes characters outside the BMP.
                    if !self.rest().starts_with("\\u") {
                        return Err(expr_error(
                            at,
                            "a `\\u` high surrogate must be followed by a low one",
                        ));
                    }
                    self.pos += 2;
                    let low = self.hex4().ok_or_else(bad)?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return Err(expr_error(
                            at,
                            "a `\\u` high surrogate must be followed by a low one",
                        ));
                    }
                    let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                    char::from_u32(code).ok_or_else(bad)?
                } else {
                    char::from_u32(high).ok_or_else(|| {
                        expr_error(at, "a lone `\\u` low surrogate is not a character")
                    })?
                }
            }
            _ => return Err(bad()),
        })
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.rest().get(..4)?;
        if !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let code = u32::from_str_radix(digits, 16).ok()?;
        self.pos += 4;
        Some(code)
    }

    /// Reads an optional `#` and the JSON Pointer after it, checked and kept as written.
    fn pointer(&mut self) -> Result<Option<String>, ExprError> {
        if !self.eat('#') {
            return Ok(None);
        }
        let start = self.pos;
        while let Some(c) = self.peek() {
            if self.mode.stops(c) {
                break;
            }
            if self.pos == start && c != '/' {
                return Err(expr_error(
                    self.pos,
                    format!("expected `/` starting a JSON Pointer after `#`, found `{c}`"),
                ));
            }
            if c == '~' && !matches!(self.rest()[1..].chars().next(), Some('0' | '1')) {
                return Err(expr_error(
                    self.pos,
                    "a `~` in a JSON Pointer is written `~0` (and a `/` in a name `~1`)",
                ));
            }
            self.pos += c.len_utf8();
        }
        Ok(Some(self.text[start..self.pos].to_owned()))
    }
}

fn expr_error(offset: usize, message: impl Into<String>) -> ExprError {
    ExprError {
        offset,
        message: message.into(),
    }
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn unknown_root(text: &str, start: usize, word: &str) -> ExprError {
    let written = if word.is_empty() {
        excerpt(&text[start..])
    } else {
        format!("${word}")
    };
    let mut message = format!("unknown runtime expression `{written}`");
    match did_you_mean(word, ROOTS) {
        Some(hint) if !word.is_empty() => {
            message.push_str("; ");
            message.push_str(&hint.replace("did you mean `", "did you mean `$"));
        }
        _ => message.push_str(
            "; expected `$url`, `$method`, `$statusCode`, `$request.`, `$response.`, `$message.`, `$inputs.`, `$outputs.`, `$steps.`, `$workflows.`, `$sourceDescriptions.`, `$components.` or `$self`",
        ),
    }
    ExprError {
        offset: start,
        message,
    }
}

/// Tells whether `rest` (just after a `$`) starts like a runtime expression: a root, or a near
/// miss of one followed by `.` or the end (`$input.name`, `$statuscode`).
fn looks_like_expression(rest: &str) -> bool {
    let word_len = rest
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(rest.len());
    let word = &rest[..word_len];
    if word.is_empty() {
        return false;
    }
    if ROOTS.contains(&word) {
        return true;
    }
    let next = rest[word_len..].chars().next();
    matches!(next, None | Some('.' | '#')) && did_you_mean(word, ROOTS).is_some()
}

impl fmt::Display for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = |p: &Option<String>| p.as_ref().map(|p| format!("#{p}")).unwrap_or_default();
        match self {
            Expression::Url => f.write_str("$url"),
            Expression::Method => f.write_str("$method"),
            Expression::StatusCode => f.write_str("$statusCode"),
            Expression::SelfUri => f.write_str("$self"),
            Expression::Request(source) => write!(f, "$request.{source}"),
            Expression::Response(source) => write!(f, "$response.{source}"),
            Expression::Message(source) => write!(f, "$message.{source}"),
            Expression::Inputs { name, pointer: p } => write!(f, "$inputs.{name}{}", pointer(p)),
            Expression::Outputs { name, pointer: p } => write!(f, "$outputs.{name}{}", pointer(p)),
            Expression::Steps {
                step,
                output,
                pointer: p,
            } => write!(f, "$steps.{step}.outputs.{output}{}", pointer(p)),
            Expression::Workflows {
                workflow,
                field,
                name,
                pointer: p,
            } => {
                let field = match field {
                    WorkflowField::Inputs => "inputs",
                    WorkflowField::Outputs => "outputs",
                };
                write!(f, "$workflows.{workflow}.{field}.{name}{}", pointer(p))
            }
            Expression::SourceDescriptions { name, reference } => {
                write!(f, "$sourceDescriptions.{name}.{}", escape_name(reference))
            }
            Expression::Components { kind, name } => write!(f, "$components.{}.{name}", kind.key()),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = |p: &Option<String>| p.as_ref().map(|p| format!("#{p}")).unwrap_or_default();
        match self {
            Source::Header(token) => write!(f, "header.{token}"),
            Source::Query(name) => write!(f, "query.{}", escape_name(name)),
            Source::Path(name) => write!(f, "path.{}", escape_name(name)),
            Source::Body(p) => write!(f, "body{}", pointer(p)),
            Source::Payload(p) => write!(f, "payload{}", pointer(p)),
        }
    }
}

/// Writes a decoded `name` back with the escapes the grammar requires.
fn escape_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '{' => out.push_str("\\u007b"),
            '}' => out.push_str("\\u007d"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

impl Expression {
    /// Returns the step id and output name of a `$steps.ID.outputs.NAME` expression.
    ///
    /// The name is as written: it may hold dots, and then names an output whose name is the
    /// whole name or one of its dotted prefixes (see the module's documentation).
    pub fn step_ref(&self) -> Option<(&str, &str)> {
        match self {
            Expression::Steps { step, output, .. } => Some((step, output)),
            _ => None,
        }
    }

    /// Returns the workflow id, field and name of a `$workflows.ID.inputs|outputs.NAME`
    /// expression.
    pub fn workflow_ref(&self) -> Option<(&str, WorkflowField, &str)> {
        match self {
            Expression::Workflows {
                workflow,
                field,
                name,
                ..
            } => Some((workflow, *field, name)),
            _ => None,
        }
    }

    /// Returns the input name of an `$inputs.NAME` expression.
    pub fn input_ref(&self) -> Option<&str> {
        match self {
            Expression::Inputs { name, .. } => Some(name),
            _ => None,
        }
    }

    /// Returns the kind and name of a `$components.KIND.NAME` expression.
    pub fn component_ref(&self) -> Option<(ComponentKind, &str)> {
        match self {
            Expression::Components { kind, name } => Some((*kind, name)),
            _ => None,
        }
    }

    /// Returns the name and reference of a `$sourceDescriptions.NAME.REFERENCE` expression.
    pub fn source_ref(&self) -> Option<(&str, &str)> {
        match self {
            Expression::SourceDescriptions { name, reference } => Some((name, reference)),
            _ => None,
        }
    }

    /// Evaluates the expression, keeping the JSON type of what it reads.
    ///
    /// - `$statusCode` is a number; `$url`, `$method`, `$self`, headers, query and path
    ///   parameters are strings.
    /// - A header sent more than once reads as its values joined with `, `, as RFC 9110 §5.3
    ///   combines them; `Set-Cookie`, whose values cannot be joined, reads as its first value.
    ///   A query parameter given more than once reads as its first value.
    /// - `body` is the parsed JSON, or the text as a string; `body#/pointer` needs a JSON body.
    /// - `$sourceDescriptions.NAME.FIELD` reads a field of the source description (`url`,
    ///   `type`, `name`); one that names an operation or a workflow is the runner's to resolve
    ///   and is [`EvalError::Unsupported`] here.
    ///
    /// # Errors
    /// [`EvalError::Missing`] when the value is not there (a step that has not run, an absent
    /// header, a pointer that finds nothing), [`EvalError::NotJson`] for a pointer into a text
    /// body, [`EvalError::Unsupported`] for `$message` and operation references.
    pub fn eval(&self, scope: &Scope) -> Result<serde_json::Value, EvalError> {
        self.resolve(scope).map(|(value, _)| value)
    }

    /// Evaluates the expression and tells whether the value is the text of a body that is not
    /// JSON (which `JSONPath` cannot query).
    pub(crate) fn resolve(&self, scope: &Scope) -> Result<(serde_json::Value, bool), EvalError> {
        self.resolve_parts(scope).map_err(|failure| match failure {
            Failure::Error(err) | Failure::Absent(err) => err,
        })
    }

    /// Evaluates the expression, telling a value that is not there (`Err`) from a value that is
    /// there without the member or element a pointer or a dotted name asks for (`Ok(Err)`), which
    /// a condition compares equal to `null`.
    pub(crate) fn resolve_or_absent(
        &self,
        scope: &Scope,
    ) -> Result<Result<(serde_json::Value, bool), EvalError>, EvalError> {
        match self.resolve_parts(scope) {
            Ok(found) => Ok(Ok(found)),
            Err(Failure::Absent(why)) => Ok(Err(why)),
            Err(Failure::Error(err)) => Err(err),
        }
    }

    fn resolve_parts(&self, scope: &Scope) -> Result<(serde_json::Value, bool), Failure> {
        let missing =
            |why: &str| Failure::Error(EvalError::Missing(format!("`{self}` is not set: {why}")));
        let json = |value: serde_json::Value| Ok((value, false));
        match self {
            Expression::Url => scope.url.clone().map_or_else(
                || Err(missing("there is no request yet")),
                |u| json(u.into()),
            ),
            Expression::Method => scope.method.clone().map_or_else(
                || Err(missing("there is no request yet")),
                |m| json(m.into()),
            ),
            Expression::StatusCode => scope.status.map_or_else(
                || Err(missing("there is no response yet")),
                |s| json(s.into()),
            ),
            Expression::SelfUri => scope.self_uri.clone().map_or_else(
                || Err(missing("the document has no `$self`")),
                |s| json(s.into()),
            ),
            Expression::Request(source) => {
                self.read_message(scope.request.as_ref(), "request", source)
            }
            Expression::Response(source) => {
                self.read_message(scope.response.as_ref(), "response", source)
            }
            Expression::Message(_) => Err(Failure::Error(EvalError::Unsupported(format!(
                "`{self}` reads an AsyncAPI message, and AsyncAPI steps are not run"
            )))),
            Expression::Inputs { name, pointer } => {
                let value = named(
                    self,
                    &scope.inputs,
                    name,
                    format_args!("the workflow has no input"),
                )?;
                json(self.point(value, pointer.as_deref(), "the input")?.clone())
            }
            Expression::Outputs { name, pointer } => {
                let value = named(
                    self,
                    &scope.outputs,
                    name,
                    format_args!("the workflow has no output"),
                )?;
                json(self.point(value, pointer.as_deref(), "the output")?.clone())
            }
            Expression::Steps {
                step,
                output,
                pointer,
            } => {
                let Some(outputs) = scope.steps.get(step) else {
                    return Err(missing(&format!("step `{step}` has not run")));
                };
                let value = named(
                    self,
                    outputs,
                    output,
                    format_args!("step `{step}` has no output"),
                )?;
                json(self.point(value, pointer.as_deref(), "the output")?.clone())
            }
            Expression::Workflows {
                workflow,
                field,
                name,
                pointer,
            } => {
                let Some(values) = scope.workflows.get(workflow) else {
                    return Err(missing(&format!("workflow `{workflow}` has not run")));
                };
                let (map, what) = match field {
                    WorkflowField::Inputs => (&values.inputs, "input"),
                    WorkflowField::Outputs => (&values.outputs, "output"),
                };
                let value = named(
                    self,
                    map,
                    name,
                    format_args!("workflow `{workflow}` has no {what}"),
                )?;
                json(
                    self.point(value, pointer.as_deref(), &format!("the {what}"))?
                        .clone(),
                )
            }
            Expression::SourceDescriptions { name, reference } => {
                let Some(description) = scope.source_descriptions.get(name) else {
                    return Err(missing(&format!(
                        "the document has no source description `{name}`"
                    )));
                };
                match description.get(reference.as_str()) {
                    Some(value) => json(value.clone()),
                    None => Err(Failure::Error(EvalError::Unsupported(format!(
                        "`{self}` names an operation or a workflow of `{name}`, not a value"
                    )))),
                }
            }
            Expression::Components { kind, name } => scope
                .components
                .get(kind.key())
                .and_then(|group| group.get(name.as_str()))
                .map_or_else(
                    || {
                        Err(missing(&format!(
                            "the document has no `components.{}.{name}`",
                            kind.key()
                        )))
                    },
                    |value| json(value.clone()),
                ),
        }
    }

    fn read_message(
        &self,
        message: Option<&Message>,
        which: &str,
        source: &Source,
    ) -> Result<(serde_json::Value, bool), Failure> {
        let missing =
            |why: String| Failure::Error(EvalError::Missing(format!("`{self}` is not set: {why}")));
        let Some(message) = message else {
            return Err(missing(format!("there is no {which} yet")));
        };
        match source {
            Source::Header(token) => {
                let values: Vec<&str> = message
                    .headers
                    .iter()
                    .filter(|(name, _)| name.eq_ignore_ascii_case(token))
                    .map(|(_, value)| value.as_str())
                    .collect();
                match values.as_slice() {
                    [] => Err(missing(format!("the {which} has no header `{token}`"))),
                    [first, ..] if token.eq_ignore_ascii_case("set-cookie") => {
                        Ok(((*first).into(), false))
                    }
                    all => Ok((all.join(", ").into(), false)),
                }
            }
            Source::Query(name) => message
                .query
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| (v.clone().into(), false))
                .ok_or_else(|| missing(format!("the {which} has no query parameter `{name}`"))),
            Source::Path(name) => message
                .path
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| (v.clone().into(), false))
                .ok_or_else(|| missing(format!("the {which} has no path parameter `{name}`"))),
            Source::Payload(_) => Err(Failure::Error(EvalError::Unsupported(format!(
                "`{self}` reads an AsyncAPI payload; an HTTP {which} has a `body`"
            )))),
            Source::Body(pointer) => match (&message.body, pointer) {
                (None, _) => Err(missing(format!("the {which} has no body"))),
                (Some(Body::Text(text)), None) => Ok((text.clone().into(), true)),
                (Some(Body::Text(_)), Some(_)) => Err(Failure::Error(EvalError::NotJson(format!(
                    "`{self}` needs a JSON body: the {which} body is not JSON"
                )))),
                (Some(Body::Json(value)), pointer) => Ok((
                    self.point(value, pointer.as_deref(), &format!("the {which} body"))?
                        .clone(),
                    false,
                )),
                (Some(Body::Received(body)), None) => match body.whole() {
                    Ok(value) => Ok((value.clone(), false)),
                    Err(_) => Ok((body.text().into(), true)),
                },
                (Some(Body::Received(body)), Some(pointer)) => match body.follow(pointer) {
                    Some(Ok(value)) => Ok((value.into_owned(), false)),
                    Some(Err(miss)) => Err(self.absent(&format!("the {which} body"), &miss)),
                    None => Err(Failure::Error(EvalError::NotJson(format!(
                        "`{self}` needs a JSON body: the {which} body is not JSON"
                    )))),
                },
            },
        }
    }

    /// Follows `pointer` (when there is one) into `value`, read from `what`.
    fn point<'v>(
        &self,
        value: &'v serde_json::Value,
        pointer: Option<&str>,
        what: &str,
    ) -> Result<&'v serde_json::Value, Failure> {
        let Some(pointer) = pointer else {
            return Ok(value);
        };
        follow(value, pointer).map_err(|miss| self.absent(what, &miss))
    }

    /// Says that the value this reads is not there: `what` (such as "the response body") holds
    /// something else, as `miss` tells.
    fn absent(&self, what: &str, miss: &str) -> Failure {
        Failure::Absent(EvalError::Missing(format!(
            "`{self}` is not set: {what} {miss}"
        )))
    }
}

/// Why an expression has no value: it cannot be evaluated, or the value it reads is there
/// without the member or element it asks for.
enum Failure {
    Error(EvalError),
    Absent(EvalError),
}

/// Looks up an identifier in `map`: the whole name, or else its longest dotted prefix that is
/// a key, with the rest read as members (`user.id` → `user`, then member `id`).
fn named<'m>(
    expression: &Expression,
    map: &'m serde_json::Map<String, serde_json::Value>,
    name: &str,
    has_no: std::fmt::Arguments<'_>,
) -> Result<&'m serde_json::Value, Failure> {
    if let Some(value) = map.get(name) {
        return Ok(value);
    }
    let mut cut = name.len();
    while let Some(dot) = name[..cut].rfind('.') {
        cut = dot;
        if let Some(value) = map.get(&name[..cut]) {
            let mut node = value;
            let mut walked = String::new();
            for member in name[cut + 1..].split('.') {
                node = member_of(node, member).ok_or_else(|| {
                    Failure::Absent(EvalError::Missing(format!(
                        "`{expression}` is not set: `{}{walked}` has no member `{member}`",
                        &name[..cut]
                    )))
                })?;
                walked.push('.');
                walked.push_str(member);
            }
            return Ok(node);
        }
    }
    Err(Failure::Error(EvalError::Missing(format!(
        "`{expression}` is not set: {has_no} `{name}`"
    ))))
}

/// Returns an object's member, or an array's element when `key` is an index.
pub(crate) fn member_of<'v>(
    value: &'v serde_json::Value,
    key: &str,
) -> Option<&'v serde_json::Value> {
    match value {
        serde_json::Value::Object(map) => map.get(key),
        serde_json::Value::Array(items) => array_index(key).and_then(|i| items.get(i)),
        _ => None,
    }
}

/// Reads an RFC 6901 array index: `0`, or digits without a leading zero.
pub(crate) fn array_index(token: &str) -> Option<usize> {
    if token.is_empty()
        || !token.bytes().all(|b| b.is_ascii_digit())
        || (token.len() > 1 && token.starts_with('0'))
    {
        return None;
    }
    token.parse().ok()
}

/// Follows an RFC 6901 JSON Pointer, or says (in words that follow "the body") what it missed.
pub(crate) fn follow<'v>(
    value: &'v serde_json::Value,
    pointer: &str,
) -> Result<&'v serde_json::Value, String> {
    if pointer.is_empty() {
        return Ok(value);
    }
    let Some(tokens) = pointer.strip_prefix('/') else {
        return Err(format!(
            "cannot be read with `{pointer}`, which does not start with `/`"
        ));
    };
    let mut node = value;
    // `tokens[..walked]` is the part of the pointer followed so far, named only in a miss.
    let mut walked = 0;
    for raw in tokens.split('/') {
        let token = unescape(raw);
        let token = token.as_ref();
        let at = || match walked {
            0 => "the top".to_owned(),
            end => format!("`/{}`", &tokens[..end - 1]),
        };
        node = match node {
            serde_json::Value::Object(map) => map
                .get(token)
                .ok_or_else(|| format!("has no member `{token}` at {}", at()))?,
            serde_json::Value::Array(items) => {
                let index = array_index(token).ok_or_else(|| {
                    format!("has an array at {}, and `{token}` is not an index", at())
                })?;
                items.get(index).ok_or_else(|| {
                    format!(
                        "has {} element{} at {}, so no index {index}",
                        items.len(),
                        if items.len() == 1 { "" } else { "s" },
                        at()
                    )
                })?
            }
            other => {
                return Err(format!(
                    "has {} at {}, not an object or an array",
                    kind_of(other),
                    at()
                ));
            }
        };
        walked += raw.len() + 1;
    }
    Ok(node)
}

/// Names a JSON value's type with its article, for messages.
pub(crate) fn kind_of(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// A string value that may hold runtime expressions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Text {
    /// No expression: the text as written.
    Literal(String),
    /// Exactly one runtime expression: evaluates to its value, keeping its JSON type.
    Whole(Expression),
    /// Text with `{$…}` expressions in it: evaluates to a string.
    Parts(Vec<Part>),
}

/// A piece of a [`Text::Parts`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// Text as written.
    Literal(String),
    /// An embedded `{$…}` expression (without its braces).
    Expr(Expression),
}

/// Parses a string that may hold runtime expressions.
///
/// - A string that starts with `$` and a root (`$inputs`, `$response`, …) is one runtime
///   expression and must parse as one, whole: `$inputs.host/x` is an error with a hint to write
///   `{$inputs.host}/x`. A near miss of a root followed by `.` (`$input.name`) is an error too,
///   with "did you mean". Any other `$` (`$5`, `$ref`, `$[0]`) is text.
/// - `{$` followed by a letter opens an embedded expression, which must parse and be closed by
///   `}`. Any other `{` or `}` is text: the ABNF's `literal-char` leaves braces out, but JSON
///   and XML templates and regular expressions (`\d{3}`) need them.
///
/// # Errors
/// An [`ExprError`] at the expression that does not parse.
pub fn parse_text(text: &str) -> Result<Text, ExprError> {
    if let Some(rest) = text.strip_prefix('$')
        && looks_like_expression(rest)
    {
        return parse(text).map(Text::Whole);
    }
    parse_embedded(text)
}

/// Parses a string whose only expressions are embedded `{$…}` parts (a condition of a `regex`
/// or `jsonpath` criterion, where a leading `$` is the query's own).
pub(crate) fn parse_embedded(text: &str) -> Result<Text, ExprError> {
    let mut parts = Vec::new();
    let mut literal_start = 0;
    let mut search = 0;
    while let Some(found) = text[search..].find("{$") {
        let open = search + found;
        let after = open + 2;
        if !text[after..].starts_with(|c: char| c.is_ascii_alphabetic()) {
            search = after;
            continue;
        }
        let (expression, end) = parse_at(text, open + 1, Mode::Embedded)?;
        if !text[end..].starts_with('}') {
            let found = text[end..]
                .chars()
                .next()
                .map_or_else(|| "the end".to_owned(), |c| format!("`{c}`"));
            return Err(ExprError {
                offset: end,
                message: format!(
                    "expected `}}` closing the expression `{{{expression}`, found {found}"
                ),
            });
        }
        if literal_start < open {
            parts.push(Part::Literal(text[literal_start..open].to_owned()));
        }
        parts.push(Part::Expr(expression));
        literal_start = end + 1;
        search = literal_start;
    }
    if parts.is_empty() {
        return Ok(Text::Literal(text.to_owned()));
    }
    if literal_start < text.len() {
        parts.push(Part::Literal(text[literal_start..].to_owned()));
    }
    Ok(Text::Parts(parts))
}

impl Text {
    /// Evaluates the text: a literal as a string, a whole expression keeping its type, parts as
    /// a string in which a string value is written as it is and any other value as JSON text
    /// (`null`, `true`, `12`, `{"a":1}`), as the specification says for embedded expressions.
    ///
    /// # Errors
    /// The first expression that cannot be evaluated.
    pub fn eval(&self, scope: &Scope) -> Result<serde_json::Value, EvalError> {
        match self {
            Text::Literal(text) => Ok(serde_json::Value::String(text.clone())),
            Text::Whole(expression) => expression.eval(scope),
            Text::Parts(_) => self.render(scope).map(serde_json::Value::String),
        }
    }

    /// Evaluates the text to a string, writing a whole expression's value as embedded ones are.
    ///
    /// # Errors
    /// The first expression that cannot be evaluated.
    pub fn render(&self, scope: &Scope) -> Result<String, EvalError> {
        match self {
            Text::Literal(text) => Ok(text.clone()),
            Text::Whole(expression) => Ok(as_text(expression.eval(scope)?)),
            Text::Parts(parts) => {
                let mut out = String::new();
                for part in parts {
                    match part {
                        Part::Literal(text) => out.push_str(text),
                        Part::Expr(expression) => out.push_str(&as_text(expression.eval(scope)?)),
                    }
                }
                Ok(out)
            }
        }
    }

    /// Returns the expressions the text holds, in order.
    pub fn expressions(&self) -> Vec<&Expression> {
        match self {
            Text::Literal(_) => Vec::new(),
            Text::Whole(expression) => vec![expression],
            Text::Parts(parts) => parts
                .iter()
                .filter_map(|part| match part {
                    Part::Expr(expression) => Some(expression),
                    Part::Literal(_) => None,
                })
                .collect(),
        }
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Text::Literal(text) => f.write_str(text),
            Text::Whole(expression) => write!(f, "{expression}"),
            Text::Parts(parts) => {
                for part in parts {
                    match part {
                        Part::Literal(text) => f.write_str(text)?,
                        Part::Expr(expression) => write!(f, "{{{expression}}}")?,
                    }
                }
                Ok(())
            }
        }
    }
}

/// Writes a value into text: a string as it is, anything else as JSON.
pub(crate) fn as_text(value: serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text,
        other => other.to_string(),
    }
}

/// A payload, a parameter value or a replacement value, with its runtime expressions parsed.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A value without expressions, as written.
    Literal(serde_json::Value),
    /// A string with expressions.
    Text(Text),
    /// An array some of whose items hold expressions.
    Array(Vec<Value>),
    /// An object some of whose members hold expressions (names are never expressions).
    Object(Vec<(String, Value)>),
    /// A Selector Object (1.1): `context`, `selector` and `type`.
    Selector(Box<Selector>),
}

/// A Selector Object (Arazzo 1.1): a `JSONPath` or JSON Pointer applied to a runtime value.
#[derive(Clone, Debug, PartialEq)]
pub struct Selector {
    /// `context`: the value selected from.
    pub context: Expression,
    /// `selector` with `type`.
    pub select: Select,
}

/// How a [`Selector`] selects.
#[derive(Clone, Debug, PartialEq)]
pub enum Select {
    /// `type: jsonpath`: RFC 9535.
    JsonPath(JsonPath),
    /// `type: jsonpointer`: RFC 6901, as written.
    JsonPointer(String),
}

/// Parses a payload, a parameter value or a replacement value: strings through [`parse_text`],
/// arrays and objects item by item. An object with exactly the keys `context`, `selector` and
/// `type` is a Selector Object, as Arazzo 1.1 lets payloads and values hold; `type` is
/// `jsonpath` or `jsonpointer` (or an Expression Type Object naming one with a version the
/// specification lists); `xpath` is an error, since apiflow does not read XML.
///
/// # Errors
/// The JSON Pointer of the string (within `value`) that does not parse, and why.
pub fn parse_value(value: &serde_json::Value) -> Result<Value, (String, ExprError)> {
    parse_value_at(value, &mut String::new())
}

fn parse_value_at(
    value: &serde_json::Value,
    at: &mut String,
) -> Result<Value, (String, ExprError)> {
    match value {
        serde_json::Value::String(text) => match parse_text(text) {
            Ok(Text::Literal(_)) => Ok(Value::Literal(value.clone())),
            Ok(text) => Ok(Value::Text(text)),
            Err(err) => Err((at.clone(), err)),
        },
        serde_json::Value::Array(items) => {
            let mut parsed = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                let len = at.len();
                let _ = write!(at, "/{index}");
                parsed.push(parse_value_at(item, at)?);
                at.truncate(len);
            }
            if parsed.iter().all(|v| matches!(v, Value::Literal(_))) {
                return Ok(Value::Literal(value.clone()));
            }
            Ok(Value::Array(parsed))
        }
        serde_json::Value::Object(map) => {
            if let Some(selector) = parse_selector(map, at)? {
                return Ok(Value::Selector(Box::new(selector)));
            }
            let mut parsed = Vec::with_capacity(map.len());
            for (key, item) in map {
                let len = at.len();
                at.push('/');
                at.push_str(&key.replace('~', "~0").replace('/', "~1"));
                parsed.push((key.clone(), parse_value_at(item, at)?));
                at.truncate(len);
            }
            if parsed.iter().all(|(_, v)| matches!(v, Value::Literal(_))) {
                return Ok(Value::Literal(value.clone()));
            }
            Ok(Value::Object(parsed))
        }
        _ => Ok(Value::Literal(value.clone())),
    }
}

fn parse_selector(
    map: &serde_json::Map<String, serde_json::Value>,
    at: &str,
) -> Result<Option<Selector>, (String, ExprError)> {
    let keys: HashSet<&str> = map.keys().map(String::as_str).collect();
    if keys != HashSet::from(["context", "selector", "type"]) {
        return Ok(None);
    }
    let (Some(serde_json::Value::String(context)), Some(serde_json::Value::String(selector))) =
        (map.get("context"), map.get("selector"))
    else {
        return Ok(None);
    };
    let err = |key: &str, offset: usize, message: String| {
        Err((format!("{at}/{key}"), ExprError { offset, message }))
    };
    let context = match parse(context) {
        Ok(context) => context,
        Err(e) => return Err((format!("{at}/context"), e)),
    };
    let (kind, version) = match map.get("type") {
        Some(serde_json::Value::String(kind)) => (kind.as_str(), None),
        Some(serde_json::Value::Object(object)) => (
            object
                .get("type")
                .and_then(serde_json::Value::as_str)
                .unwrap_or(""),
            object.get("version").and_then(serde_json::Value::as_str),
        ),
        _ => return err("type", 0, "expected `jsonpath` or `jsonpointer`".to_owned()),
    };
    let select = match (kind, version) {
        ("jsonpath", None | Some("rfc9535" | "draft-goessner-dispatch-jsonpath-00")) => {
            match JsonPath::parse(selector) {
                Ok(path) => Select::JsonPath(path),
                Err(e) => return err("selector", e.offset.unwrap_or(0), e.message),
            }
        }
        ("jsonpointer", None | Some("rfc6901")) => {
            if !selector.is_empty() && !selector.starts_with('/') {
                return err(
                    "selector",
                    0,
                    format!(
                        "a JSON Pointer starts with `/`, found `{}`",
                        excerpt(selector)
                    ),
                );
            }
            if let Some(bad) = selector
                .match_indices('~')
                .find(|(i, _)| !matches!(selector.as_bytes().get(i + 1), Some(b'0' | b'1')))
            {
                return err(
                    "selector",
                    bad.0,
                    "a `~` in a JSON Pointer is written `~0` (and a `/` in a name `~1`)".to_owned(),
                );
            }
            Select::JsonPointer(selector.clone())
        }
        ("xpath", _) => {
            return err(
                "type",
                0,
                "XPath selectors are not supported: apiflow reads JSON, not XML".to_owned(),
            );
        }
        ("jsonpath" | "jsonpointer", Some(version)) => {
            return err(
                "type",
                0,
                format!("unknown version `{version}` of `{kind}`"),
            );
        }
        (other, _) => {
            return err(
                "type",
                0,
                format!("expected `jsonpath` or `jsonpointer`, found `{other}`"),
            );
        }
    };
    Ok(Some(Selector { context, select }))
}

impl Value {
    /// Evaluates the value: literals as written, texts through [`Text::eval`], selectors by
    /// selecting from their context.
    ///
    /// # Errors
    /// The first expression that cannot be evaluated.
    pub fn eval(&self, scope: &Scope) -> Result<serde_json::Value, EvalError> {
        match self {
            Value::Literal(value) => Ok(value.clone()),
            Value::Text(text) => text.eval(scope),
            Value::Array(items) => items
                .iter()
                .map(|item| item.eval(scope))
                .collect::<Result<Vec<_>, _>>()
                .map(serde_json::Value::Array),
            Value::Object(members) => {
                let mut map = serde_json::Map::with_capacity(members.len());
                for (key, member) in members {
                    map.insert(key.clone(), member.eval(scope)?);
                }
                Ok(serde_json::Value::Object(map))
            }
            Value::Selector(selector) => selector.eval(scope),
        }
    }

    /// Returns the expressions the value holds, in document order.
    pub fn expressions(&self) -> Vec<&Expression> {
        match self {
            Value::Literal(_) => Vec::new(),
            Value::Text(text) => text.expressions(),
            Value::Array(items) => items.iter().flat_map(Value::expressions).collect(),
            Value::Object(members) => members.iter().flat_map(|(_, v)| v.expressions()).collect(),
            Value::Selector(selector) => vec![&selector.context],
        }
    }
}

impl Selector {
    /// Selects from the context's value: a JSON Pointer gives the value it points at; a
    /// `JSONPath` gives its one node, or an array of its nodes when it selects several.
    ///
    /// # Errors
    /// The context cannot be evaluated, or the selector selects nothing.
    pub fn eval(&self, scope: &Scope) -> Result<serde_json::Value, EvalError> {
        let (value, text) = self.context.resolve(scope)?;
        if text {
            return Err(EvalError::NotJson(format!(
                "`{}` is not JSON, so a selector cannot read it",
                self.context
            )));
        }
        match &self.select {
            Select::JsonPointer(pointer) => follow(&value, pointer)
                .cloned()
                .map_err(|miss| EvalError::Missing(format!("`{}` {miss}", self.context))),
            Select::JsonPath(path) => match path.query(&value).as_slice() {
                [] => Err(EvalError::Missing(format!(
                    "`{path}` selects nothing in `{}`",
                    self.context
                ))),
                [one] => Ok((*one).clone()),
                many => Ok(serde_json::Value::Array(
                    many.iter().map(|v| (*v).clone()).collect(),
                )),
            },
        }
    }
}

/// Sets the value at an RFC 6901 JSON Pointer in `target`, as a Payload Replacement Object
/// with a JSON Pointer `target` does.
///
/// The empty pointer replaces the whole value. Otherwise the parent must exist: in an object
/// the member is set (added or replaced); in an array an existing index is replaced and `-`
/// appends.
///
/// # Errors
/// A lower-case sentence when the pointer is malformed, its parent does not exist, or an index
/// is out of range.
pub fn replace_pointer(
    target: &mut serde_json::Value,
    pointer: &str,
    value: serde_json::Value,
) -> Result<(), String> {
    if pointer.is_empty() {
        *target = value;
        return Ok(());
    }
    if !pointer.starts_with('/') {
        return Err(format!(
            "`{pointer}` is not a JSON Pointer: it does not start with `/`"
        ));
    }
    if let Some((i, _)) = pointer
        .match_indices('~')
        .find(|(i, _)| !matches!(pointer.as_bytes().get(i + 1), Some(b'0' | b'1')))
    {
        return Err(format!(
            "`{pointer}` is not a JSON Pointer: the `~` at byte {i} is not `~0` or `~1`"
        ));
    }
    let (parent_pointer, last) = pointer.rsplit_once('/').unwrap_or(("", pointer));
    let parent = pointer_mut(target, parent_pointer)
        .map_err(|miss| format!("cannot set `{pointer}`: the payload {miss}"))?;
    let token = unescape(last).into_owned();
    let at = if parent_pointer.is_empty() {
        "the top".to_owned()
    } else {
        format!("`{parent_pointer}`")
    };
    match parent {
        serde_json::Value::Object(map) => {
            map.insert(token, value);
            Ok(())
        }
        serde_json::Value::Array(items) if token == "-" => {
            items.push(value);
            Ok(())
        }
        serde_json::Value::Array(items) => {
            let len = items.len();
            let slot = array_index(&token)
                .and_then(|index| items.get_mut(index))
                .ok_or_else(|| {
                    format!(
                        "cannot set `{pointer}`: the array at {at} has {len} element{}, and `{token}` is not one of its indexes (`-` appends)",
                        if len == 1 { "" } else { "s" }
                    )
                })?;
            *slot = value;
            Ok(())
        }
        other => Err(format!(
            "cannot set `{pointer}`: the payload has {} at {at}, not an object or an array",
            kind_of(other),
        )),
    }
}

/// Follows an RFC 6901 JSON Pointer as [`follow`] does, to the value there, which may be
/// changed or taken.
pub(crate) fn pointer_mut<'v>(
    value: &'v mut serde_json::Value,
    pointer: &str,
) -> Result<&'v mut serde_json::Value, String> {
    // Checked first with the shared reader, which explains a miss; then walked mutably.
    follow(value, pointer)?;
    let mut node = value;
    for raw in pointer.split('/').skip(1) {
        let token = unescape(raw);
        node = match node {
            serde_json::Value::Object(map) => map.get_mut(token.as_ref()),
            serde_json::Value::Array(items) => array_index(&token).and_then(|i| items.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| format!("has no `{pointer}`"))?;
    }
    Ok(node)
}

/// Replaces every node `path` selects in `target` by `value`, as a Payload Replacement Object
/// with `targetSelectorType: jsonpath` does, and returns how many were replaced.
///
/// The nodes are replaced in document order; a node inside another selected node goes with it
/// (the outer node is replaced whole). Selecting the root replaces the whole value.
///
/// # Errors
/// A lower-case sentence when the path selects nothing: a replacement that changes nothing is a
/// mistake in the document.
pub fn replace_jsonpath(
    target: &mut serde_json::Value,
    path: &JsonPath,
    value: &serde_json::Value,
) -> Result<usize, String> {
    let mut pointers = {
        let selected: HashSet<*const serde_json::Value> = path
            .query(target)
            .into_iter()
            .map(std::ptr::from_ref)
            .collect();
        let mut pointers = Vec::new();
        locate(target, &selected, &mut String::new(), &mut pointers);
        pointers
    };
    if pointers.is_empty() {
        return Err(format!("`{path}` selects nothing in the payload"));
    }
    // Document order, outer nodes before the nodes they hold; those are dropped.
    let mut kept: Vec<String> = Vec::new();
    pointers.retain(|p| {
        let inside = kept.iter().any(|outer| {
            outer.is_empty() || (p.starts_with(outer.as_str()) && p[outer.len()..].starts_with('/'))
        });
        if !inside {
            kept.push(p.clone());
        }
        !inside
    });
    for pointer in &pointers {
        replace_pointer(target, pointer, value.clone())?;
    }
    Ok(pointers.len())
}

/// Collects, in document order, the JSON Pointers of the nodes of `node` that are `selected`.
fn locate(
    node: &serde_json::Value,
    selected: &HashSet<*const serde_json::Value>,
    at: &mut String,
    out: &mut Vec<String>,
) {
    if selected.contains(&std::ptr::from_ref(node)) {
        out.push(at.clone());
    }
    let len = at.len();
    match node {
        serde_json::Value::Object(map) => {
            for (key, child) in map {
                at.push('/');
                at.push_str(&key.replace('~', "~0").replace('/', "~1"));
                locate(child, selected, at, out);
                at.truncate(len);
            }
        }
        serde_json::Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                let _ = write!(at, "/{index}");
                locate(child, selected, at, out);
                at.truncate(len);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn scope() -> Scope {
        let mut scope = Scope {
            url: Some("https://api.example.com/pets?limit=2".to_owned()),
            method: Some("GET".to_owned()),
            status: Some(200),
            request: Some(Message {
                headers: vec![("Accept".to_owned(), "application/json".to_owned())],
                query: vec![
                    ("limit".to_owned(), "2".to_owned()),
                    ("a b".to_owned(), "spaced".to_owned()),
                ],
                path: vec![("id".to_owned(), "7".to_owned())],
                body: Some(Body::Json(json!({"user": {"uuid": "u-1"}}))),
            }),
            response: Some(Message {
                headers: vec![
                    ("X-Rate-Limit".to_owned(), "10".to_owned()),
                    ("Vary".to_owned(), "Accept".to_owned()),
                    ("vary".to_owned(), "Origin".to_owned()),
                    ("Set-Cookie".to_owned(), "a=1".to_owned()),
                    ("Set-Cookie".to_owned(), "b=2".to_owned()),
                ],
                body: Some(Body::Json(json!({
                    "status": "approved",
                    "items": [{"id": 1}, {"id": 2}],
                    "a/b": {"m~n": true}
                }))),
                ..Message::default()
            }),
            components: Arc::new(
                json!({"parameters": {"page": {"name": "page", "in": "query", "value": 1}}}),
            ),
            self_uri: Some("https://example.com/flows.arazzo.yaml".to_owned()),
            ..Scope::default()
        };
        scope.inputs.insert("username".to_owned(), json!("ann"));
        scope.inputs.insert(
            "customer".to_owned(),
            json!({"firstName": "Ann", "tags": ["a", "b"]}),
        );
        scope.inputs.insert("x-api-key".to_owned(), json!("k"));
        scope.inputs.insert("dotted.name".to_owned(), json!(3));
        scope.outputs.insert("total".to_owned(), json!(12));
        let mut login = serde_json::Map::new();
        login.insert("token".to_owned(), json!("t0k"));
        login.insert("pets".to_owned(), json!([{"id": 5}]));
        scope.steps.insert("login".to_owned(), login);
        let mut other = WorkflowValues::default();
        other.outputs.insert("bar".to_owned(), json!({"name": "n"}));
        other.inputs.insert("username".to_owned(), json!("bob"));
        scope.workflows.insert("foo".to_owned(), other);
        Arc::make_mut(&mut scope.source_descriptions).insert(
            "petstore".to_owned(),
            json!({"name": "petstore", "url": "https://api.example.com/petstore.yaml", "type": "openapi"}),
        );
        scope
    }

    #[test]
    fn parses_every_form_of_the_grammar_and_writes_it_back() {
        for text in [
            "$url",
            "$method",
            "$statusCode",
            "$self",
            "$request.header.accept",
            "$request.query.limit",
            "$request.path.id",
            "$request.body",
            "$request.body#/user/uuid",
            "$response.body#/items/0/id",
            "$response.body#",
            "$response.header.X-Rate-Limit",
            "$message.header.Server",
            "$message.payload#/status",
            "$inputs.username",
            "$inputs.x-api-key",
            "$inputs.customer#/firstName",
            "$outputs.bar",
            "$steps.someStepId.outputs.pets",
            "$steps.some-step_1.outputs.pets#/0/id",
            "$workflows.foo.inputs.username",
            "$workflows.foo.outputs.mappedResponse#/name",
            "$sourceDescriptions.petstore.getPetById",
            "$sourceDescriptions.petstore.url",
            "$components.parameters.foo",
            "$components.successActions.bar",
            "$components.failureActions.baz",
            "$components.inputs.store.id",
            "$request.query.a b",
            "$response.body#/a~1b/m~0n",
        ] {
            let parsed = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(parsed.to_string(), text);
        }
    }

    #[test]
    fn decodes_escapes_in_names_and_writes_them_back() {
        let parsed = parse(r"$request.query.a\u0020b\\c").unwrap();
        assert_eq!(
            parsed,
            Expression::Request(Source::Query("a b\\c".to_owned()))
        );
        assert_eq!(parsed.to_string(), r"$request.query.a b\\c");
        let parsed = parse(r"$request.query.\ud83d\ude00").unwrap();
        assert_eq!(
            parsed,
            Expression::Request(Source::Query("\u{1f600}".to_owned()))
        );
    }

    #[test]
    fn returns_the_parts_checks_need() {
        let step = parse("$steps.login.outputs.token#/a").unwrap();
        assert_eq!(step.step_ref(), Some(("login", "token")));
        let workflow = parse("$workflows.foo.outputs.bar").unwrap();
        assert_eq!(
            workflow.workflow_ref(),
            Some(("foo", WorkflowField::Outputs, "bar"))
        );
        assert_eq!(
            parse("$inputs.user.id").unwrap().input_ref(),
            Some("user.id")
        );
        assert_eq!(
            parse("$components.parameters.page")
                .unwrap()
                .component_ref(),
            Some((ComponentKind::Parameters, "page"))
        );
        assert_eq!(
            parse("$sourceDescriptions.petstore.url")
                .unwrap()
                .source_ref(),
            Some(("petstore", "url"))
        );
        assert_eq!(parse("$url").unwrap().step_ref(), None);
    }

    fn error(text: &str) -> (usize, String) {
        let err = parse(text).expect_err(text);
        (err.offset, err.message)
    }

    #[test]
    fn explains_what_was_expected_and_where() {
        let cases: &[(&str, usize, &str)] = &[
            (
                "$input.username",
                0,
                "unknown runtime expression `$input`; did you mean `$inputs`?",
            ),
            (
                "$statuscode",
                0,
                "unknown runtime expression `$statuscode`; did you mean `$statusCode`?",
            ),
            (
                "$foo",
                0,
                "unknown runtime expression `$foo`; expected `$url`, `$method`, `$statusCode`, `$request.`, `$response.`, `$message.`, `$inputs.`, `$outputs.`, `$steps.`, `$workflows.`, `$sourceDescriptions.`, `$components.` or `$self`",
            ),
            (
                "url",
                0,
                "expected a runtime expression starting with `$`, found `u`",
            ),
            (
                "$steps.retrieve.finalizedPaymentPlan",
                15,
                "expected `.outputs.` after the step id `retrieve`, found `.finalizedPaymentPla…`; step values are read as `$steps.STEP_ID.outputs.NAME`",
            ),
            (
                "$steps.login",
                12,
                "expected `.outputs.` after the step id `login`, found the end; step values are read as `$steps.STEP_ID.outputs.NAME`",
            ),
            (
                "$steps.log.in.outputs.x",
                10,
                "expected `.outputs.` after the step id `log`, found `.in.outputs.x`; step values are read as `$steps.STEP_ID.outputs.NAME`",
            ),
            (
                "$response.bdy",
                10,
                "expected `header`, `query`, `path`, `body` or `payload` after `$response.`, found `bdy`; did you mean `body`?",
            ),
            (
                "$response",
                9,
                "expected `.` after `$response`, found the end",
            ),
            (
                "$response.header.",
                17,
                "expected a header name, found the end",
            ),
            (
                "$response.header.a b",
                18,
                "expected the end of the runtime expression `$response.header.a`, found ` b`; to put text around an expression, write it in braces: `{$response.header.a}`",
            ),
            (
                "$request.query.",
                15,
                "expected a query parameter name, found the end",
            ),
            (
                "$request.query.a\"b",
                16,
                "a `\"` in a name is written `\\\"`",
            ),
            (
                "$request.query.a\\x",
                16,
                "expected an escape after `\\` (`\\\"`, `\\\\`, `\\/`, `\\b`, `\\f`, `\\n`, `\\r`, `\\t` or `\\uXXXX`)",
            ),
            (
                "$response.body.status",
                14,
                "expected the end of the runtime expression `$response.body`, found `.status`; a part of the body is read with a JSON Pointer: `$response.body#/status`",
            ),
            (
                "$response.body#status",
                15,
                "expected `/` starting a JSON Pointer after `#`, found `s`",
            ),
            (
                "$response.body#/a~2",
                17,
                "a `~` in a JSON Pointer is written `~0` (and a `/` in a name `~1`)",
            ),
            ("$inputs.", 8, "expected a name, found the end"),
            (
                "$inputs.customer/x",
                16,
                "expected the end of the runtime expression `$inputs.customer`, found `/x`; a part of a value is read with a JSON Pointer after `#`",
            ),
            (
                "$workflows.foo.input.x",
                15,
                "expected `inputs` or `outputs` after `$workflows.foo.`, found `input`",
            ),
            (
                "$components.parameter.x",
                12,
                "expected `inputs`, `parameters`, `successActions` or `failureActions` after `$components.`, found `parameter`; did you mean `parameters`?",
            ),
            (
                "$sourceDescriptions.petstore",
                28,
                "expected `.` after `$sourceDescriptions.petstore`, found the end",
            ),
            (
                "$urlx",
                0,
                "unknown runtime expression `$urlx`; did you mean `$url`?",
            ),
        ];
        for (text, offset, message) in cases {
            assert_eq!(error(text), (*offset, (*message).to_owned()), "{text}");
        }
    }

    #[test]
    fn ends_an_operand_of_a_condition_at_whitespace_or_an_operator() {
        for (text, end) in [
            ("$response.body#/status == 'a'", 22),
            ("$response.header.X-Count>=2", 24),
            ("$request.query.page!=1", 19),
            ("$inputs.items[0]", 13),
            ("$response.body.count", 14),
            ("($statusCode)", 12),
        ] {
            let start = text.find('$').unwrap_or(0);
            let (_, at) = parse_at(text, start, Mode::Condition).unwrap();
            assert_eq!(at, end, "{text}");
        }
    }

    #[test]
    fn says_to_remove_spaces_after_a_whole_expression() {
        assert_eq!(
            error("$inputs.username "),
            (
                16,
                "expected the end of the runtime expression `$inputs.username`, found ` `; remove the spaces after it".to_owned()
            )
        );
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics(text in "\\PC{0,30}") {
            for err in [parse(&text).err(), parse_text(&text).err(), parse_embedded(&text).err()]
                .into_iter()
                .flatten()
            {
                proptest::prop_assert!(text.is_char_boundary(err.offset));
            }
        }

        #[test]
        fn replacing_never_panics(
            parts in proptest::collection::vec(
                proptest::sample::select(vec!["/", "a", "0", "1", "-", "~0", "~1", "~", "01", "b"]),
                0..6,
            )
        ) {
            let pointer = parts.concat();
            let mut payload = serde_json::json!({"a": [1, {"b": 2}], "b": "s", "~": {}, "/": []});
            let before = payload.clone();
            if replace_pointer(&mut payload, &pointer, serde_json::json!(null)).is_err() {
                proptest::prop_assert_eq!(payload, before);
            }
        }

        #[test]
        fn parsing_never_panics_on_near_expressions(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "$", "{", "}", "{$", ".", "#", "/", "~", "~0", "\\", "\\u00", "\\ud83d", "\"",
                    "inputs", "steps", "outputs", "response", "header", "body", "query", "x", "é", " ",
                    "sourceDescriptions", "components", "parameters", "workflows", "a-b",
                ]),
                0..8,
            )
        ) {
            let text = parts.concat();
            for err in [parse(&text).err(), parse_text(&text).err()].into_iter().flatten() {
                proptest::prop_assert!(err.offset <= text.len());
                proptest::prop_assert!(text.is_char_boundary(err.offset));
            }
        }
    }

    #[test]
    fn reads_strings_as_literals_whole_expressions_or_parts() {
        assert_eq!(
            parse_text("$inputs.username").unwrap(),
            Text::Whole(parse("$inputs.username").unwrap())
        );
        for literal in [
            "placed",
            "$5",
            "costs $USD 5",
            "$ref",
            "$[?@.a]",
            "^2\\d{2}$",
            "{$5}",
            "{}",
            "a } b {",
        ] {
            assert_eq!(
                parse_text(literal).unwrap(),
                Text::Literal(literal.to_owned()),
                "{literal}"
            );
        }
        assert_eq!(
            parse_text("https://{$inputs.host}/api/{$steps.create.outputs.id}/status").unwrap(),
            Text::Parts(vec![
                Part::Literal("https://".to_owned()),
                Part::Expr(parse("$inputs.host").unwrap()),
                Part::Literal("/api/".to_owned()),
                Part::Expr(parse("$steps.create.outputs.id").unwrap()),
                Part::Literal("/status".to_owned()),
            ])
        );
        assert_eq!(
            parse_text("{$sourceDescriptions.petstore.url}#/paths/~1pet~1findByStatus").unwrap(),
            Text::Parts(vec![
                Part::Expr(parse("$sourceDescriptions.petstore.url").unwrap()),
                Part::Literal("#/paths/~1pet~1findByStatus".to_owned()),
            ])
        );
        let text = "{\"a\": \"{$inputs.customer#/firstName}\"}";
        assert_eq!(parse_text(text).unwrap().to_string(), text);
    }

    #[test]
    fn rejects_strings_that_mean_an_expression_but_do_not_parse() {
        let cases: &[(&str, usize, &str)] = &[
            (
                "$input.username",
                0,
                "unknown runtime expression `$input`; did you mean `$inputs`?",
            ),
            (
                "$inputs.host/api",
                12,
                "expected the end of the runtime expression `$inputs.host`, found `/api`; a part of a value is read with a JSON Pointer after `#`",
            ),
            (
                "$statusCode == 200",
                11,
                "expected the end of the runtime expression `$statusCode`, found ` == 200`; to put text around an expression, write it in braces: `{$statusCode}`",
            ),
            (
                "id={$inputs.id",
                14,
                "expected `}` closing the expression `{$inputs.id`, found the end",
            ),
            (
                "id={$inputs.id x}",
                14,
                "expected `}` closing the expression `{$inputs.id`, found ` `",
            ),
            (
                "a {$inptus.id}",
                3,
                "unknown runtime expression `$inptus`; did you mean `$inputs`?",
            ),
            (
                "{$steps.s.out}",
                9,
                "expected `.outputs.` after the step id `s`, found `.out}`; step values are read as `$steps.STEP_ID.outputs.NAME`",
            ),
        ];
        for (text, offset, message) in cases {
            let err = parse_text(text).expect_err(text);
            assert_eq!(
                (err.offset, err.message.as_str()),
                (*offset, *message),
                "{text}"
            );
        }
    }

    fn eval(text: &str) -> Result<serde_json::Value, EvalError> {
        parse(text).unwrap().eval(&scope())
    }

    #[test]
    fn evaluates_keeping_the_json_type() {
        let scope_cases = [
            ("$url", json!("https://api.example.com/pets?limit=2")),
            ("$method", json!("GET")),
            ("$statusCode", json!(200)),
            ("$self", json!("https://example.com/flows.arazzo.yaml")),
            ("$request.header.ACCEPT", json!("application/json")),
            ("$request.query.limit", json!("2")),
            ("$request.query.a b", json!("spaced")),
            ("$request.path.id", json!("7")),
            ("$request.body#/user/uuid", json!("u-1")),
            ("$response.body#/items/1/id", json!(2)),
            ("$response.body#/a~1b/m~0n", json!(true)),
            (
                "$response.body#",
                scope()
                    .response
                    .and_then(|r| r.body)
                    .map(|b| match b {
                        Body::Json(v) => v,
                        Body::Text(t) => json!(t),
                        Body::Received(r) => r.whole().unwrap().clone(),
                    })
                    .unwrap(),
            ),
            ("$response.header.x-rate-limit", json!("10")),
            ("$response.header.Vary", json!("Accept, Origin")),
            ("$response.header.set-cookie", json!("a=1")),
            ("$inputs.username", json!("ann")),
            ("$inputs.x-api-key", json!("k")),
            ("$inputs.customer#/tags/1", json!("b")),
            ("$inputs.customer.firstName", json!("Ann")),
            ("$inputs.customer.tags.0", json!("a")),
            ("$inputs.dotted.name", json!(3)),
            ("$outputs.total", json!(12)),
            ("$steps.login.outputs.token", json!("t0k")),
            ("$steps.login.outputs.pets#/0/id", json!(5)),
            ("$workflows.foo.outputs.bar#/name", json!("n")),
            ("$workflows.foo.inputs.username", json!("bob")),
            (
                "$sourceDescriptions.petstore.url",
                json!("https://api.example.com/petstore.yaml"),
            ),
            ("$sourceDescriptions.petstore.type", json!("openapi")),
            (
                "$components.parameters.page",
                json!({"name": "page", "in": "query", "value": 1}),
            ),
        ];
        for (text, expected) in scope_cases {
            assert_eq!(eval(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn says_why_a_value_is_missing() {
        let cases = [
            (
                "$steps.signup.outputs.id",
                "`$steps.signup.outputs.id` is not set: step `signup` has not run",
            ),
            (
                "$steps.login.outputs.tokn",
                "`$steps.login.outputs.tokn` is not set: step `login` has no output `tokn`",
            ),
            (
                "$inputs.password",
                "`$inputs.password` is not set: the workflow has no input `password`",
            ),
            (
                "$inputs.customer.lastName",
                "`$inputs.customer.lastName` is not set: `customer` has no member `lastName`",
            ),
            (
                "$outputs.none",
                "`$outputs.none` is not set: the workflow has no output `none`",
            ),
            (
                "$workflows.bar.outputs.x",
                "`$workflows.bar.outputs.x` is not set: workflow `bar` has not run",
            ),
            (
                "$workflows.foo.inputs.x",
                "`$workflows.foo.inputs.x` is not set: workflow `foo` has no input `x`",
            ),
            (
                "$response.header.Location",
                "`$response.header.Location` is not set: the response has no header `Location`",
            ),
            (
                "$response.query.x",
                "`$response.query.x` is not set: the response has no query parameter `x`",
            ),
            (
                "$response.body#/items/5",
                "`$response.body#/items/5` is not set: the response body has 2 elements at `/items`, so no index 5",
            ),
            (
                "$response.body#/items/x",
                "`$response.body#/items/x` is not set: the response body has an array at `/items`, and `x` is not an index",
            ),
            (
                "$response.body#/missing",
                "`$response.body#/missing` is not set: the response body has no member `missing` at the top",
            ),
            (
                "$response.body#/status/x",
                "`$response.body#/status/x` is not set: the response body has a string at `/status`, not an object or an array",
            ),
            (
                "$sourceDescriptions.other.url",
                "`$sourceDescriptions.other.url` is not set: the document has no source description `other`",
            ),
            (
                "$components.parameters.size",
                "`$components.parameters.size` is not set: the document has no `components.parameters.size`",
            ),
        ];
        for (text, message) in cases {
            assert_eq!(
                eval(text),
                Err(EvalError::Missing(message.to_owned())),
                "{text}"
            );
        }
        assert_eq!(
            parse("$statusCode").unwrap().eval(&Scope::default()),
            Err(EvalError::Missing(
                "`$statusCode` is not set: there is no response yet".to_owned()
            ))
        );
        assert_eq!(
            eval("$sourceDescriptions.petstore.getPetById"),
            Err(EvalError::Unsupported(
                "`$sourceDescriptions.petstore.getPetById` names an operation or a workflow of `petstore`, not a value".to_owned()
            ))
        );
        assert_eq!(
            eval("$message.payload"),
            Err(EvalError::Unsupported(
                "`$message.payload` reads an AsyncAPI message, and AsyncAPI steps are not run"
                    .to_owned()
            ))
        );
    }

    #[test]
    fn reads_a_text_body_whole_and_refuses_a_pointer_into_it() {
        let mut scope = scope();
        if let Some(response) = scope.response.as_mut() {
            response.body = Some(Body::Text("<ok/>".to_owned()));
        }
        assert_eq!(
            parse("$response.body").unwrap().eval(&scope),
            Ok(json!("<ok/>"))
        );
        assert_eq!(
            parse("$response.body#/a").unwrap().eval(&scope),
            Err(EvalError::NotJson(
                "`$response.body#/a` needs a JSON body: the response body is not JSON".to_owned()
            ))
        );
        if let Some(response) = scope.response.as_mut() {
            response.body = None;
        }
        assert_eq!(
            parse("$response.body").unwrap().eval(&scope),
            Err(EvalError::Missing(
                "`$response.body` is not set: the response has no body".to_owned()
            ))
        );
    }

    #[test]
    fn writes_embedded_values_as_text() {
        let text = parse_text("n={$outputs.total}&c={$inputs.customer#/tags}&u={$inputs.username}")
            .unwrap();
        assert_eq!(text.eval(&scope()), Ok(json!("n=12&c=[\"a\",\"b\"]&u=ann")));
        assert_eq!(
            parse_text("$outputs.total").unwrap().eval(&scope()),
            Ok(json!(12))
        );
        assert_eq!(
            parse_text("$outputs.total").unwrap().render(&scope()),
            Ok("12".to_owned())
        );
        assert_eq!(
            parse_text("plain").unwrap().eval(&scope()),
            Ok(json!("plain"))
        );
    }

    #[test]
    fn parses_payloads_and_evaluates_them() {
        let payload = json!({
            "petOrder": {
                "petId": "$inputs.username",
                "note": "for {$inputs.username}",
                "quantity": 1,
                "tags": ["fixed", "$outputs.total"],
                "status": "placed"
            },
            "plain": {"a": [1, "b"]}
        });
        let value = parse_value(&payload).unwrap();
        let Value::Object(members) = &value else {
            panic!("{value:?}")
        };
        assert_eq!(
            members[1],
            ("plain".to_owned(), Value::Literal(json!({"a": [1, "b"]})))
        );
        assert_eq!(value.expressions().len(), 3);
        assert_eq!(
            value.eval(&scope()),
            Ok(json!({
                "petOrder": {
                    "petId": "ann",
                    "note": "for ann",
                    "quantity": 1,
                    "tags": ["fixed", 12],
                    "status": "placed"
                },
                "plain": {"a": [1, "b"]}
            }))
        );
        let err = parse_value(&json!({"a": [{"b/c": "{$inputs.x"}]})).unwrap_err();
        assert_eq!(err.0, "/a/0/b~1c");
        assert_eq!(err.1.offset, 10);
    }

    #[test]
    fn reads_selector_objects_in_values() {
        let value = parse_value(&json!({
            "id": {"context": "$response.body", "selector": "$.items[*].id", "type": "jsonpath"},
            "first": {"context": "$response.body", "selector": "/items/0", "type": {"type": "jsonpointer", "version": "rfc6901"}},
            "status": {"context": "$response.body", "selector": "$.status", "type": "jsonpath"}
        }))
        .unwrap();
        assert_eq!(
            value.eval(&scope()),
            Ok(json!({"id": [1, 2], "first": {"id": 1}, "status": "approved"}))
        );
        let none = parse_value(
            &json!({"context": "$response.body", "selector": "$.nothing", "type": "jsonpath"}),
        )
        .unwrap();
        assert_eq!(
            none.eval(&scope()),
            Err(EvalError::Missing(
                "`$.nothing` selects nothing in `$response.body`".to_owned()
            ))
        );
        let xpath = parse_value(
            &json!({"x": {"context": "$response.body", "selector": "/a", "type": "xpath"}}),
        )
        .unwrap_err();
        assert_eq!(xpath.0, "/x/type");
        assert_eq!(
            xpath.1.message,
            "XPath selectors are not supported: apiflow reads JSON, not XML"
        );
        let bad = parse_value(
            &json!({"context": "$response.body", "selector": "$.a[", "type": "jsonpath"}),
        )
        .unwrap_err();
        assert_eq!(bad.0, "/selector");
    }

    #[test]
    fn replaces_at_a_json_pointer() {
        let mut payload = json!({"petId": 0, "tags": ["a"], "a/b": {}});
        replace_pointer(&mut payload, "/petId", json!(7)).unwrap();
        replace_pointer(&mut payload, "/quantity", json!(10)).unwrap();
        replace_pointer(&mut payload, "/tags/-", json!("b")).unwrap();
        replace_pointer(&mut payload, "/tags/0", json!("z")).unwrap();
        replace_pointer(&mut payload, "/a~1b/c", json!(null)).unwrap();
        assert_eq!(
            payload,
            json!({"petId": 7, "tags": ["z", "b"], "a/b": {"c": null}, "quantity": 10})
        );
        assert_eq!(
            replace_pointer(&mut payload, "/tags/2", json!(1)),
            Err("cannot set `/tags/2`: the array at `/tags` has 2 elements, and `2` is not one of its indexes (`-` appends)".to_owned())
        );
        assert_eq!(
            replace_pointer(&mut payload, "/order/id", json!(1)),
            Err("cannot set `/order/id`: the payload has no member `order` at the top".to_owned())
        );
        assert_eq!(
            replace_pointer(&mut payload, "/petId/x", json!(1)),
            Err("cannot set `/petId/x`: the payload has a number at `/petId`, not an object or an array".to_owned())
        );
        assert_eq!(
            replace_pointer(&mut payload, "petId", json!(1)),
            Err("`petId` is not a JSON Pointer: it does not start with `/`".to_owned())
        );
        replace_pointer(&mut payload, "", json!([])).unwrap();
        assert_eq!(payload, json!([]));
    }

    #[test]
    fn replaces_every_node_a_jsonpath_selects() {
        let mut payload = json!({"items": [{"sku": "ABC123", "quantity": 1}, {"sku": "X", "quantity": 2}, {"sku": "ABC123", "quantity": 3}]});
        let path = JsonPath::parse("$.items[?(@.sku=='ABC123')].quantity").unwrap();
        assert_eq!(replace_jsonpath(&mut payload, &path, &json!(9)), Ok(2));
        assert_eq!(
            payload,
            json!({"items": [{"sku": "ABC123", "quantity": 9}, {"sku": "X", "quantity": 2}, {"sku": "ABC123", "quantity": 9}]})
        );
        let nested = JsonPath::parse("$..*").unwrap();
        let mut tree = json!({"a": {"b": 1}, "c": [2]});
        assert_eq!(replace_jsonpath(&mut tree, &nested, &json!(0)), Ok(2));
        assert_eq!(tree, json!({"a": 0, "c": 0}));
        let none = JsonPath::parse("$.nothing").unwrap();
        assert_eq!(
            replace_jsonpath(&mut tree, &none, &json!(0)),
            Err("`$.nothing` selects nothing in the payload".to_owned())
        );
        let root = JsonPath::parse("$").unwrap();
        assert_eq!(replace_jsonpath(&mut tree, &root, &json!("all")), Ok(1));
        assert_eq!(tree, json!("all"));
    }
}
