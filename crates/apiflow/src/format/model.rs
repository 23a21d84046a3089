//! The typed workflow model: what a workflow file says, with the position of every value.
//!
//! Templates, `JSONPaths` and regexes are written as ids into tables held by the workflow, so
//! validation can compile each one once and the runner can use them without parsing anything.

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

pub use crate::http::HttpVersion;
use crate::span::{Source, Span, Spanned};

/// A loaded workflow file.
#[derive(Debug)]
pub struct Workflow {
    /// The file it came from.
    pub source: Arc<Source>,
    /// `name:`.
    pub name: Spanned<String>,
    /// `description:`.
    pub description: Option<String>,
    /// `inputs:`, in order.
    pub inputs: Vec<Input>,
    /// `vars:`, in order.
    pub vars: Vec<Var>,
    /// `defaults:`.
    pub defaults: Defaults,
    /// `steps:`.
    pub steps: Vec<Step>,
    /// `finally:`.
    pub finally: Vec<Step>,
    /// `outputs:`: values a calling workflow can read, evaluated after the last step.
    pub outputs: Vec<(Spanned<String>, Value)>,
    /// `openapi:`: the OpenAPI description whose operations steps name (`docs/openapi.md`).
    pub openapi: Option<FilePath>,
    /// `load:`: the load test the workflow carries (`docs/load.md`).
    pub load: Option<LoadTest>,
    /// Every template in the file; `TemplateId` indexes it.
    pub templates: Vec<TemplateSource>,
    /// Every `JSONPath` in the file; `PathId` indexes it.
    pub paths: Vec<Spanned<String>>,
    /// Every regex in the file; `RegexId` indexes it.
    pub regexes: Vec<Spanned<String>>,
}

/// The `load:` key: how a load run of the workflow goes, each field as the flag of the same
/// name takes it; the command line's flags go over it.
#[derive(Clone, Debug, Default)]
pub struct LoadTest {
    /// Where `load:` is written.
    pub span: Span,
    /// `iterations:`.
    pub iterations: Option<u32>,
    /// `concurrency:`.
    pub concurrency: Option<u32>,
    /// `duration:`.
    pub duration: Option<Duration>,
    /// `rate:`.
    pub rate: Option<crate::rate::Rate>,
    /// `stages:`, a comma list or a YAML list.
    pub stages: Option<Vec<crate::rate::Stage>>,
    /// `thresholds:`, each checked at the end of the run.
    pub thresholds: Vec<crate::limits::Threshold>,
    /// The thresholds naming a step this file does not have, in a file with `uses` steps: the
    /// index in `thresholds` and where the threshold's text starts. They are checked against
    /// the steps the used workflows run once those are loaded.
    pub deferred: Vec<(usize, Span)>,
}

/// Indexes `Workflow::templates`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TemplateId(pub u32);

/// Indexes `Workflow::paths`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathId(pub u32);

/// Numbers the steps of one workflow file, `finally` included, in the order they are written;
/// indexes what the `Plan` knows of each step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepId(pub u32);

/// Indexes `Workflow::regexes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegexId(pub u32);

/// The text of one template and where it was written.
#[derive(Clone, Debug)]
pub struct TemplateSource {
    /// What the user wrote.
    pub text: String,
    /// Where the value starts.
    pub span: Span,
    /// How it is evaluated.
    pub kind: TemplateKind,
    /// How many characters the value's first line starts after `span.column` (1 for a quoted
    /// string), or `None` when the value spans lines and offsets cannot be mapped back.
    pub column_offset: Option<u32>,
}

impl TemplateSource {
    /// Maps a byte range of the text to a span in the file, when the value can be mapped; the
    /// whole value's span otherwise.
    pub fn span_of(&self, range: Option<Range<usize>>) -> Span {
        let whole = Span::new(self.span.line, self.span.column, self.span.len.max(1));
        let (Some(offset), Some(range)) = (self.column_offset, range) else {
            return whole;
        };
        let text = &self.text;
        let (Some(before), Some(inside)) = (text.get(..range.start), text.get(range.clone()))
        else {
            return whole;
        };
        let before = u32::try_from(before.chars().count()).unwrap_or(0);
        let len = u32::try_from(inside.chars().count()).unwrap_or(1).max(1);
        self.span.shifted(offset + before, len)
    }
}

/// How a template is evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TemplateKind {
    /// Text with `{{ … }}` and `{% … %}` parts; renders to a string.
    Text,
    /// A bare minijinja expression (`checks`, `if`, `until`, `expr`); evaluates to a value.
    Expression,
    /// A string that is exactly one `{{ … }}`: evaluates to the expression's value, keeping its type.
    Whole,
}

/// A string that may be templated.
#[derive(Clone, Debug)]
pub enum Text {
    /// No template syntax: used as it is.
    Literal(String),
    /// Rendered by a template.
    Template(TemplateId),
}

/// Any YAML value whose strings may be templated (JSON bodies, vars, expected values).
#[derive(Clone, Debug)]
pub enum Value {
    /// A value with no template in it.
    Literal(serde_json::Value),
    /// A string with template parts, or a lone `{{ … }}` that keeps its type.
    Template(TemplateId),
    /// A list with templated items.
    List(Vec<Value>),
    /// A mapping with templated values.
    Map(Vec<(String, Value)>),
}

/// One entry of `inputs:`.
#[derive(Clone, Debug)]
pub struct Input {
    /// Its name.
    pub name: Spanned<String>,
    /// `default:`, which may use earlier inputs.
    pub default: Option<Text>,
    /// `env:`, the OS variable it is read from.
    pub env: Option<Spanned<String>>,
    /// `secret:` or a secret-sounding name.
    pub secret: bool,
    /// `description:`.
    pub description: Option<String>,
}

/// One entry of `vars:`.
#[derive(Clone, Debug)]
pub struct Var {
    /// Its name.
    pub name: Spanned<String>,
    /// Its value.
    pub value: Value,
    /// A secret-sounding name.
    pub secret: bool,
}

/// `defaults:`, applied to every request unless the step says otherwise.
#[derive(Clone, Debug, Default)]
pub struct Defaults {
    /// Headers sent on every request.
    pub headers: Vec<(Spanned<String>, Text)>,
    /// Time allowed for each request.
    pub timeout: Option<Duration>,
    /// Whether redirects are followed.
    pub follow_redirects: Option<bool>,
    /// `tls:`: the client certificates presented, for every host or per host.
    pub tls: Option<Tls>,
    /// `http_version:`: the HTTP version every request must use.
    pub http_version: Option<Spanned<HttpVersion>>,
    /// `on_failure:`: what the run does after a step fails, for steps that do not say.
    pub on_failure: Option<Spanned<OnFailure>>,
    /// `max_steps:`: how many steps one run of the workflow may run, jumps included.
    pub max_steps: Option<Spanned<u32>>,
}

/// `on_failure:`: what the run does after a step fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnFailure {
    /// The run goes on with the next step (Newman's behaviour); the failure is still reported.
    Continue,
    /// The run stops; the remaining steps are reported as not run, then `finally` runs.
    Stop,
}

/// `next:`: the step the run goes on at once this one has run.
#[derive(Clone, Debug)]
pub enum Next {
    /// A step named as written.
    Step(Spanned<String>),
    /// `null` or an empty string: the run ends after this step.
    End(Span),
    /// A template rendering to a step name (or to nothing, which ends the run).
    Template(TemplateId),
}

/// `tls:`: client certificates for mutual TLS, one for every host and one per host name.
#[derive(Clone, Debug, Default)]
pub struct Tls {
    /// `cert`, `key` and `passphrase`: presented to any host without an entry of its own.
    pub any: Option<ClientCert>,
    /// `hosts:`: a host name (matched without port, ignoring case) and its certificate.
    pub hosts: Vec<(Spanned<String>, ClientCert)>,
}

/// A client certificate and its private key, PEM files read relative to the workflow (and
/// under its folder or `--file-root`).
#[derive(Clone, Debug)]
pub struct ClientCert {
    /// `cert:`: the certificate, then any intermediates.
    pub cert: FilePath,
    /// `key:`: the private key (PKCS #1, SEC1, PKCS #8, or encrypted PKCS #8).
    pub key: FilePath,
    /// `passphrase:`: decrypts an encrypted key; reads only inputs and `vars`.
    pub passphrase: Option<Spanned<Text>>,
}

/// One step: a request, what to expect of its response, and what to capture from it.
#[derive(Clone, Debug)]
pub struct Step {
    /// Its number in the file.
    pub id: StepId,
    /// `name:`.
    pub name: Spanned<String>,
    /// `if:`, an expression; the step is skipped when it is false.
    pub condition: Option<TemplateId>,
    /// `delay:`, a wait before the request.
    pub delay: Option<Duration>,
    /// `for_each:`, a list expression: the step runs once per element.
    pub for_each: Option<TemplateId>,
    /// `as:`, the name each element gets (default `item`).
    pub each_as: Spanned<String>,
    /// `request:` or `uses:`.
    pub action: Action,
    /// `operation:`: the `operationId` of the workflow's OpenAPI description the request calls.
    pub operation: Option<Spanned<String>>,
    /// `expect:`.
    pub expect: Expect,
    /// `extract:`, in order.
    pub extract: Vec<Extract>,
    /// `retry:`.
    pub retry: Option<Retry>,
    /// `save:`: where the response body is written.
    pub save: Option<FilePath>,
    /// `on_failure:`: what the run does when this step fails.
    pub on_failure: Option<Spanned<OnFailure>>,
    /// `next:`: where the run goes on after this step.
    pub next: Option<Next>,
    /// `script:`: JavaScript run before the request and after the response.
    pub script: Scripts,
}

/// `script:`: a step's JavaScript, run in a sandbox with Postman's scripting API
/// (`docs/scripts.md`).
#[derive(Clone, Debug, Default)]
pub struct Scripts {
    /// `before:`: runs before the request is rendered (Postman's pre-request script).
    pub before: Option<Script>,
    /// `after:`: runs after the response, before the captures and `expect`.
    pub after: Option<Script>,
}

impl Scripts {
    /// Tells whether the step has any script.
    pub fn is_empty(&self) -> bool {
        self.before.is_none() && self.after.is_none()
    }
}

/// One script and where it is written.
#[derive(Clone, Debug)]
pub struct Script {
    /// The JavaScript.
    pub code: String,
    /// Where the value is written.
    pub span: Span,
    /// Where the script's first line starts in the file (line, column), when its lines are the
    /// file's lines (a one-line value, or a literal block `|`).
    pub start: Option<(u32, u32)>,
    /// The variables it sets by a literal name (`pm.environment.set("token", …)`).
    pub sets: Vec<String>,
}

impl Script {
    /// Maps a line and column of the script (from 1) to the file; the whole value when they
    /// cannot be mapped.
    pub fn span_at(&self, line: Option<u32>, column: Option<u32>) -> Span {
        let whole = Span::new(self.span.line, self.span.column, self.span.len.max(1));
        let (Some((start_line, start_column)), Some(line)) = (self.start, line) else {
            return whole;
        };
        let Some(text) = self.code.lines().nth(line.saturating_sub(1) as usize) else {
            return whole;
        };
        let width = u32::try_from(text.chars().count()).unwrap_or(u32::MAX);
        // An engine's column can point past the end of its line (at the line break).
        let column = column.unwrap_or(1).clamp(1, width.max(1));
        Span::new(start_line + line - 1, start_column + column - 1, 1)
    }
}

/// What a step does.
#[derive(Clone, Debug)]
pub enum Action {
    /// Sends a request.
    Request(Box<Request>),
    /// Runs another workflow.
    Uses(Uses),
}

impl Step {
    /// Returns the step's request, when it sends one.
    pub fn request(&self) -> Option<&Request> {
        match &self.action {
            Action::Request(request) => Some(request),
            Action::Uses(_) => None,
        }
    }
}

/// `uses:` and `with:`: another workflow run as one step.
#[derive(Clone, Debug)]
pub struct Uses {
    /// The path as written, relative to the calling file.
    pub path: Spanned<String>,
    /// Inputs given to the called workflow.
    pub with: Vec<(Spanned<String>, Value)>,
}

/// `form_from:`: submit an HTML form from an earlier step's response.
#[derive(Clone, Debug)]
pub struct FormFrom {
    /// The step whose response holds the form.
    pub step: Spanned<String>,
    /// A CSS selector for the form (default `form`).
    pub selector: Spanned<String>,
    /// Fields set or overridden; names may be templated too.
    pub fields: Vec<(Spanned<Text>, Text)>,
}

/// What to send.
#[derive(Clone, Debug)]
pub struct Request {
    /// Upper-case method.
    pub method: Spanned<String>,
    /// `url:`.
    pub url: Spanned<Text>,
    /// `query:` parameters appended to the URL.
    pub query: Vec<(Spanned<String>, Text)>,
    /// `headers:`.
    pub headers: Vec<(Spanned<String>, Text)>,
    /// `auth:`.
    pub auth: Option<Auth>,
    /// `json:`, `form:` or `body:`.
    pub body: Option<Body>,
    /// `follow_redirects:`.
    pub follow_redirects: Option<bool>,
    /// `max_redirects:`.
    pub max_redirects: Option<u32>,
    /// `stop_at:`: stop following before a URL that starts with this prefix.
    pub stop_at: Option<Text>,
    /// `form_from:`: the body (and URL and method) come from an HTML form.
    pub form_from: Option<FormFrom>,
    /// `timeout:`.
    pub timeout: Option<Duration>,
    /// `tls:`: this step's client certificates, before those of `defaults`.
    pub tls: Option<Tls>,
    /// `http_version:`.
    pub http_version: Option<Spanned<HttpVersion>>,
    /// `path_params:`: the values of an OpenAPI operation's path parameters, by name.
    pub path_params: Vec<(Spanned<String>, Text)>,
    /// Whether `method:` is written (a step with `operation:` takes the operation's otherwise).
    pub method_given: bool,
}

impl Request {
    /// Returns the request of a step with `operation:` and no `request:`: the operation gives
    /// the method and the URL.
    pub fn for_operation(span: Span) -> Request {
        Request {
            method: Spanned::new("GET".to_owned(), span),
            url: Spanned::new(Text::Literal(String::new()), span),
            query: Vec::new(),
            headers: Vec::new(),
            auth: None,
            body: None,
            follow_redirects: None,
            max_redirects: None,
            stop_at: None,
            form_from: None,
            timeout: None,
            tls: None,
            http_version: None,
            path_params: Vec::new(),
            method_given: false,
        }
    }
}

/// How the request authenticates.
#[derive(Clone, Debug)]
pub enum Auth {
    /// HTTP Basic.
    Basic {
        /// The user name or client id.
        username: Text,
        /// The password or client secret.
        password: Text,
    },
    /// A bearer token.
    Bearer(Text),
    /// HTTP Digest (RFC 7616): the server's challenge is answered, then the request sent again.
    Digest {
        /// The user name.
        username: Text,
        /// The password.
        password: Text,
    },
    /// AWS Signature Version 4, in headers.
    AwsSigV4(AwsSigV4),
}

/// `auth: { aws_sigv4: … }`: the credentials and scope a request is signed with.
#[derive(Clone, Debug)]
pub struct AwsSigV4 {
    /// The access key id.
    pub access_key: Text,
    /// The secret access key.
    pub secret_key: Text,
    /// A session token from temporary credentials, sent as `X-Amz-Security-Token`.
    pub session_token: Option<Text>,
    /// The region, such as `us-east-1`.
    pub region: Text,
    /// The service, such as `execute-api` or `s3`.
    pub service: Text,
}

impl Auth {
    /// Lists the texts of the credentials, in the order they are written.
    pub fn texts(&self) -> Vec<&Text> {
        match self {
            Auth::Basic { username, password } | Auth::Digest { username, password } => {
                vec![username, password]
            }
            Auth::Bearer(token) => vec![token],
            Auth::AwsSigV4(aws) => {
                let mut texts = vec![&aws.access_key, &aws.secret_key];
                texts.extend(aws.session_token.as_ref());
                texts.extend([&aws.region, &aws.service]);
                texts
            }
        }
    }
}

/// The request body.
#[derive(Clone, Debug)]
pub enum Body {
    /// JSON built from YAML, templated recursively.
    Json(Value),
    /// `application/x-www-form-urlencoded` fields.
    Form(Vec<(Spanned<String>, Text)>),
    /// Text sent as it is.
    Text(Text),
    /// `body: { file: … }`: a file's bytes as they are.
    File {
        /// The file.
        file: FilePath,
        /// `content_type:`; guessed from the file's extension when absent.
        content_type: Option<Text>,
    },
    /// `body: { template: … }`: a file rendered as a template.
    Template {
        /// The file.
        file: FilePath,
        /// The file's text as a template, once it has been read.
        template: Option<TemplateId>,
        /// `content_type:`.
        content_type: Option<Text>,
    },
    /// `multipart:`: `multipart/form-data` parts, in order.
    Multipart(Vec<MultipartPart>),
}

/// A file path written in a workflow, and the file it names once checked against the root
/// files must stay under.
#[derive(Clone, Debug)]
pub struct FilePath {
    /// The path as written, relative to the workflow's folder (or, for `save:`, the output
    /// folder).
    pub written: Spanned<String>,
    /// The file it names, set when the path has been checked.
    pub resolved: Option<std::path::PathBuf>,
    /// The folder the file must stay under (the output folder of `save:`, checked again when
    /// it is written).
    pub root: Option<std::path::PathBuf>,
}

impl FilePath {
    /// Returns a path not checked yet.
    pub fn new(written: Spanned<String>) -> FilePath {
        FilePath {
            written,
            resolved: None,
            root: None,
        }
    }
}

/// One part of a `multipart:` body.
#[derive(Clone, Debug)]
pub struct MultipartPart {
    /// The field name.
    pub name: Spanned<String>,
    /// The field name as a template, when it holds `{{ … }}`.
    pub name_template: Option<Text>,
    /// Text or a file.
    pub value: PartValue,
}

/// What a multipart part sends.
#[derive(Clone, Debug)]
pub enum PartValue {
    /// Text, templated.
    Text(Text),
    /// A file's bytes.
    File {
        /// The file.
        file: FilePath,
        /// `filename:`; the file's own name when absent.
        filename: Option<Text>,
        /// `content_type:`; guessed from the file's extension when absent.
        content_type: Option<Text>,
    },
}

/// What the response must look like.
#[derive(Clone, Debug, Default)]
pub struct Expect {
    /// `status:`.
    pub status: Option<Spanned<Vec<StatusPattern>>>,
    /// `json:`: `JSONPath` to expected value.
    pub json: Vec<JsonExpectation>,
    /// `headers:`: header name to expected value.
    pub headers: Vec<(Spanned<String>, Text)>,
    /// `checks:`: expressions that must all be true.
    pub checks: Vec<TemplateId>,
    /// `schema:`: a JSON Schema the body must match.
    pub schema: Option<BodySchema>,
}

/// `expect.schema:`: a JSON Schema written in the step or kept in a file beside the workflow.
#[derive(Clone, Debug)]
pub struct BodySchema {
    /// Where the `schema` key is written.
    pub span: Span,
    /// The schema, or the file that holds it.
    pub document: SchemaDocument,
}

/// Where a body schema is written.
#[derive(Clone, Debug)]
pub enum SchemaDocument {
    /// In the step, as YAML.
    Inline(SchemaText),
    /// `{ file: PATH }`, relative to the workflow file and under its folder (or `--file-root`).
    File(FilePath),
}

/// A JSON Schema as JSON, with where each of its values is written, so a broken schema can be
/// pointed at.
#[derive(Clone, Debug)]
pub struct SchemaText {
    /// The schema. Never templated: `{{` in it is text.
    pub value: serde_json::Value,
    /// The file it is written in.
    pub source: Arc<Source>,
    /// The JSON Pointer of each value in the schema, with its position, in document order.
    pub spans: Vec<(String, Span)>,
}

impl SchemaText {
    /// Returns where the value at a JSON Pointer is written, or the nearest value holding it.
    pub fn span_of(&self, pointer: &str) -> Span {
        let mut pointer = pointer;
        loop {
            if let Some((_, span)) = self.spans.iter().find(|(p, _)| p == pointer) {
                return *span;
            }
            match pointer.rfind('/') {
                Some(cut) => pointer = &pointer[..cut],
                None => return self.spans.first().map_or_else(Span::default, |(_, s)| *s),
            }
        }
    }
}

/// One acceptable status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusPattern {
    /// One code.
    Code(u16),
    /// A class such as `2xx` (the digit).
    Class(u16),
}

impl StatusPattern {
    /// Tells whether a status code matches.
    pub fn matches(self, status: u16) -> bool {
        match self {
            StatusPattern::Code(code) => code == status,
            StatusPattern::Class(class) => status / 100 == class,
        }
    }

    /// Adds the pattern to `text` as it displays (`200`, `4xx`), without the formatting
    /// machinery: every step that expects a status writes it.
    pub fn push_to(&self, text: &mut String) {
        match self {
            StatusPattern::Code(code) => crate::decimal::push(text, usize::from(*code)),
            StatusPattern::Class(class) => {
                crate::decimal::push(text, usize::from(*class));
                text.push_str("xx");
            }
        }
    }
}

impl std::fmt::Display for StatusPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatusPattern::Code(code) => write!(f, "{code}"),
            StatusPattern::Class(class) => write!(f, "{class}xx"),
        }
    }
}

/// An expected value at a `JSONPath`.
#[derive(Clone, Debug)]
pub struct JsonExpectation {
    /// The path.
    pub path: PathId,
    /// The expected value.
    pub value: Value,
    /// Where the entry is written.
    pub span: Span,
}

/// One capture: a name and where its value comes from.
#[derive(Clone, Debug)]
pub struct Extract {
    /// The variable it defines.
    pub name: Spanned<String>,
    /// Where the value comes from.
    pub kind: ExtractKind,
    /// Whether the value is masked.
    pub secret: bool,
    /// Used when nothing matches.
    pub default: Option<Value>,
}

/// Where a captured value comes from.
#[derive(Clone, Debug)]
pub enum ExtractKind {
    /// A `JSONPath` over the JSON body.
    Json {
        /// The path.
        path: PathId,
        /// Take every match as a list.
        all: bool,
    },
    /// A response header, or one query parameter of the URL it holds.
    Header {
        /// The header name, lower-case.
        name: String,
        /// A query parameter of the URL in the header.
        query: Option<String>,
    },
    /// A cookie the response set, or that the jar holds for the URL.
    Cookie(String),
    /// The first group (or whole match) of a regex over the body or a header.
    Regex {
        /// The regex.
        regex: RegexId,
        /// What it searches.
        from: RegexSource,
    },
    /// The status code.
    Status,
    /// The whole body as text.
    Body,
    /// An expression over the response, like a check.
    Expr(TemplateId),
    /// Text (or an attribute) of the HTML elements a CSS selector matches.
    Css {
        /// The selector, as written (compiled at validation).
        selector: Spanned<String>,
        /// An attribute to read instead of the text.
        attr: Option<String>,
        /// Take every match as a list.
        all: bool,
    },
    /// An output of the workflow a `uses` step ran.
    Output(String),
}

/// What a regex capture searches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegexSource {
    /// The body text.
    Body,
    /// A header, lower-case.
    Header(String),
}

/// `retry:`.
#[derive(Clone, Debug)]
pub struct Retry {
    /// How many attempts in all.
    pub attempts: u32,
    /// Wait before the second attempt.
    pub delay: Duration,
    /// Factor applied to the wait after each attempt.
    pub backoff: f64,
    /// Repeat until this expression holds; without it, retry on connection errors and 5xx.
    pub until: Option<TemplateId>,
}

#[cfg(test)]
mod tests {
    use super::{StatusPattern, TemplateKind, TemplateSource};
    use crate::span::Span;

    fn source(text: &str, column_offset: Option<u32>) -> TemplateSource {
        TemplateSource {
            text: text.to_owned(),
            span: Span::new(3, 10, 0),
            kind: TemplateKind::Text,
            column_offset,
        }
    }

    #[test]
    fn a_range_maps_to_columns_counted_in_characters() {
        // `é` is two bytes but one column; the quote before the value is the offset.
        let text = "é {{ user }}";
        let start = text.find("user").unwrap();
        let span = source(text, Some(1)).span_of(Some(start..start + 4));
        assert_eq!(span, Span::new(3, 10 + 1 + 5, 4));
    }

    #[test]
    fn an_unmappable_range_falls_back_to_the_whole_value() {
        let whole = Span::new(3, 10, 1);
        // A value spanning lines has no column offset.
        assert_eq!(source("{{ a }}", None).span_of(Some(3..4)), whole);
        assert_eq!(source("{{ a }}", Some(0)).span_of(None), whole);
        // A range outside the text, or inside a character, cannot be mapped either.
        assert_eq!(source("{{ a }}", Some(0)).span_of(Some(5..40)), whole);
        assert_eq!(source("é", Some(0)).span_of(Some(1..2)), whole);
    }

    #[test]
    fn an_empty_range_still_gets_a_caret() {
        let span = source("{{ a }}", Some(2)).span_of(Some(3..3));
        assert_eq!(span, Span::new(3, 15, 1));
    }

    #[test]
    fn a_status_pattern_is_pushed_as_it_displays() {
        for pattern in [
            StatusPattern::Code(200),
            StatusPattern::Code(100),
            StatusPattern::Code(599),
            StatusPattern::Class(4),
        ] {
            let mut text = String::from("status ");
            pattern.push_to(&mut text);
            assert_eq!(text, format!("status {pattern}"));
        }
    }
}
