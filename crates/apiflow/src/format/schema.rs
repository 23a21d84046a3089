//! The JSON Schema of the workflow format, generated from these types for editors
//! (yaml-language-server) and kept in sync with the loader by a test.
//!
//! The loader reads YAML by hand to keep positions and collect every error; these types only
//! describe the same format for the schema.

// The types only describe the format; nothing builds them, and their sizes do not matter.
#![allow(dead_code, clippy::large_enum_variant)]

use std::collections::BTreeMap;

use schemars::JsonSchema;

/// A templated string (minijinja syntax).
type Template = String;
/// A minijinja expression such as `status == 200`.
type Expression = String;
/// A duration such as `500ms`, `10s`, `2m` or `1m30s`.
#[derive(JsonSchema)]
#[schemars(transparent)]
struct Duration(#[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))] String);

/// An apiflow workflow: HTTP steps with templated variables, captures and checks.
#[derive(JsonSchema)]
#[schemars(title = "apiflow workflow", deny_unknown_fields)]
struct Workflow {
    /// The workflow's name, shown in output.
    name: String,
    /// Free text.
    description: Option<String>,
    /// Values the caller supplies: `--var`, `--env-file`, the `env:` variable, or `default:`.
    inputs: Option<BTreeMap<String, Input>>,
    /// Values computed once, in order, before the first step; templated recursively.
    vars: Option<BTreeMap<String, serde_json::Value>>,
    /// Applied to every request unless a step overrides it.
    defaults: Option<Defaults>,
    /// Client certificates for every request, as `defaults.tls` (give one of the two).
    tls: Option<Tls>,
    /// The steps, run in order or as `next:` jumps; by default the run stops at the first
    /// failing one (`on_failure`).
    #[schemars(length(min = 1))]
    steps: Vec<Step>,
    /// Steps that always run afterwards, even after a failure (clean-up).
    finally: Option<Vec<Step>>,
    /// Values a workflow that `uses` this one can read, computed after the steps.
    outputs: Option<BTreeMap<String, serde_json::Value>>,
    /// An OpenAPI description (3.0, 3.1 or 3.2, YAML or JSON), relative to this file, whose
    /// operations steps name with `operation:`.
    openapi: Option<String>,
    /// The load test `apiflow run` runs: iterations, a duration, a rate or stages, and
    /// thresholds; the command line's flags go over each field.
    load: Option<Load>,
}

/// A load test, each field as the flag of the same name takes it.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Load {
    /// Run the workflow this many times (not with `duration` or `stages`).
    #[schemars(range(min = 1))]
    iterations: Option<u32>,
    /// Run up to this many iterations at once (default 1).
    #[schemars(range(min = 1, max = 10000))]
    concurrency: Option<u32>,
    /// Run iterations until this much time has passed; with `rate`, how long to keep it.
    duration: Option<Duration>,
    /// Start iterations at this arrival rate (an open model): for `duration`, or until
    /// `iterations` have started.
    rate: Option<Rate>,
    /// Start iterations at a rate that moves linearly to each stage's target over its
    /// duration, from 0 (an open model).
    stages: Option<Stages>,
    /// Limits on the run's metrics that fail it when missed: `p95<300ms`, `errors<1%`,
    /// `rps>500`, `step=NAME:p99<50ms`.
    thresholds: Option<Vec<Threshold>>,
}

/// An arrival rate: iterations per second or per minute, `200/s` or `30/m`.
#[derive(JsonSchema)]
#[schemars(transparent)]
struct Rate(#[schemars(regex(pattern = r"^\s*[0-9]+(\.[0-9]+)?/[sm]\s*$"))] String);

/// Stages: a comma list `30s:50/s,2m:200/s,30s:0/s`, or a list of `DURATION:RATE` or
/// `{ duration, rate }`.
#[derive(JsonSchema)]
#[serde(untagged)]
enum Stages {
    /// A comma list, as `--stages` takes it.
    Text(String),
    /// One stage per entry, `30s:50/s` or `{ duration: 30s, rate: 50/s }`.
    List(Vec<Stage>),
}

/// One stage: `DURATION:RATE`, or a mapping.
#[derive(JsonSchema)]
#[serde(untagged)]
enum Stage {
    /// `30s:50/s`.
    Text(String),
    /// `{ duration: 30s, rate: 50/s }`.
    Fields(StageFields),
}

/// A stage as a mapping: the rate moves linearly to `rate` over `duration`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct StageFields {
    /// How long the stage lasts.
    duration: Duration,
    /// The arrival rate at its end.
    rate: Rate,
}

/// A threshold: `[step=NAME:]METRIC OP VALUE`, the metric one of `p50`, `p90`, `p95`, `p99`,
/// `max`, `mean` (a latency with `us`, `ms`, `s`, `m` or `h`), `errors` (a percent) or `rps`.
#[derive(JsonSchema)]
#[schemars(transparent)]
struct Threshold(
    #[schemars(regex(
        pattern = r"^\s*(step=.+:)?\s*((p50|p90|p95|p99|max|mean)\s*[<>]=?\s*[0-9.]+(us|µs|ms|s|m|h)|errors\s*[<>]=?\s*[0-9.]+%|rps\s*[<>]=?\s*[0-9.]+)\s*$"
    ))]
    String,
);

/// An input: a mapping, a default value, or null (required).
#[derive(JsonSchema)]
#[serde(untagged)]
enum Input {
    /// Full form.
    Spec(InputSpec),
    /// A default value.
    Default(Scalar),
    /// Required, with no default.
    Required(()),
}

/// A scalar value.
#[derive(JsonSchema)]
#[serde(untagged)]
enum Scalar {
    /// Text (may be a template).
    Text(String),
    /// A number.
    Number(f64),
    /// A boolean.
    Bool(bool),
}

/// An input's settings.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct InputSpec {
    /// Used when no other source gives a value; may use earlier inputs.
    default: Option<Scalar>,
    /// The OS environment variable it is read from.
    env: Option<String>,
    /// Mask the value in all output.
    secret: Option<bool>,
    /// Free text.
    description: Option<String>,
}

/// Settings for every request.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Defaults {
    /// Headers sent on every request.
    headers: Option<BTreeMap<String, Scalar>>,
    /// Time allowed for each request.
    timeout: Option<Duration>,
    /// Follow redirects by default.
    follow_redirects: Option<bool>,
    /// Client certificates for mutual TLS, for every host or per host.
    tls: Option<Tls>,
    /// The HTTP version every request must use.
    http_version: Option<HttpVersion>,
    /// What the run does after a failed step, for steps that do not say (default `stop`).
    on_failure: Option<OnFailure>,
    /// How many steps one run may run, jumps included (default 10000).
    #[schemars(range(min = 1))]
    max_steps: Option<u32>,
}

/// What the run does after a failed step.
#[derive(JsonSchema)]
enum OnFailure {
    /// Go on with the next step; the failure is still reported and the run still fails.
    #[serde(rename = "continue")]
    Continue,
    /// Stop: the remaining steps are not run, then `finally` runs.
    #[serde(rename = "stop")]
    Stop,
}

/// Client certificates for mutual TLS: `cert` and `key` for any host, `hosts` per host name.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Tls {
    /// The client certificate (PEM), relative to the workflow file.
    cert: Option<String>,
    /// Its private key (PEM: PKCS #1, SEC1, PKCS #8 or encrypted PKCS #8), relative to the
    /// workflow file.
    key: Option<String>,
    /// Decrypts an encrypted key; a template reading inputs and vars only.
    passphrase: Option<Template>,
    /// A certificate per host name (without port), chosen before `cert` and `key`.
    hosts: Option<BTreeMap<String, ClientCert>>,
}

/// One client certificate and its key.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct ClientCert {
    /// The client certificate (PEM), relative to the workflow file.
    cert: String,
    /// Its private key (PEM), relative to the workflow file.
    key: String,
    /// Decrypts an encrypted key; a template reading inputs and vars only.
    passphrase: Option<Template>,
}

/// An HTTP version: `"1.1"` only HTTP/1.1; `"2"` only HTTP/2 (ALPN over TLS, prior knowledge
/// over plain `http://`).
#[derive(JsonSchema)]
enum HttpVersion {
    /// HTTP/1.1.
    #[serde(rename = "1.1")]
    Http1,
    /// HTTP/2.
    #[serde(rename = "2")]
    Http2,
}

/// One step: a request, what to expect of its response, and what to capture from it.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Step {
    /// Unique name.
    name: String,
    /// Run the step only when this expression is true.
    #[serde(rename = "if")]
    condition: Option<Expression>,
    /// Wait before sending.
    delay: Option<Duration>,
    /// Run the step once per element of this list expression.
    for_each: Option<Expression>,
    /// The name each element gets in `for_each` (default `item`).
    #[serde(rename = "as")]
    each_as: Option<String>,
    /// What to send (or `uses`).
    request: Option<Request>,
    /// The `operationId` of an operation of the workflow's `openapi:` description: it gives
    /// the method and the URL, and the response is checked against it.
    operation: Option<String>,
    /// Run another workflow, relative to this file (or `request`).
    uses: Option<String>,
    /// Inputs for the `uses` workflow.
    with: Option<BTreeMap<String, serde_json::Value>>,
    /// What the response must look like.
    expect: Option<Expect>,
    /// Variables captured from the response.
    extract: Option<BTreeMap<String, Extract>>,
    /// Repeat the step.
    retry: Option<Retry>,
    /// Write the response body to this file, relative to `--output-dir` (literal, no template).
    save: Option<String>,
    /// What the run does when this step fails (default `stop`, or `defaults.on_failure`).
    on_failure: Option<OnFailure>,
    /// The step the run goes on at after this one (a name or a template giving one);
    /// `null` or empty ends the run.
    next: Option<String>,
    /// JavaScript run in a sandbox with Postman's scripting API (`pm`).
    script: Option<Script>,
}

/// A step's scripts: either or both.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Script {
    /// Runs before the request is rendered (Postman's pre-request script): variables it sets
    /// are used by this request.
    before: Option<String>,
    /// Runs after the response, before the captures and `expect` (Postman's test script):
    /// each `pm.test` is a check of the step.
    after: Option<String>,
}

/// An HTTP method.
#[derive(JsonSchema)]
#[serde(untagged)]
enum Method {
    /// A standard method.
    Standard(StandardMethod),
    /// An extension method.
    Other(String),
}

/// A standard HTTP method.
#[derive(JsonSchema)]
enum StandardMethod {
    /// GET
    #[serde(rename = "GET")]
    Get,
    /// POST
    #[serde(rename = "POST")]
    Post,
    /// PUT
    #[serde(rename = "PUT")]
    Put,
    /// PATCH
    #[serde(rename = "PATCH")]
    Patch,
    /// DELETE
    #[serde(rename = "DELETE")]
    Delete,
    /// HEAD
    #[serde(rename = "HEAD")]
    Head,
    /// OPTIONS
    #[serde(rename = "OPTIONS")]
    Options,
}

/// What to send; at most one of `json`, `form`, `body` and `multipart`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Request {
    /// Default `GET`.
    method: Option<Method>,
    /// An `http://` or `https://` URL (with `form_from`, the form's action by default).
    url: Option<Template>,
    /// Query parameters appended to the URL.
    query: Option<BTreeMap<String, Scalar>>,
    /// Request headers.
    headers: Option<BTreeMap<String, Scalar>>,
    /// Authentication.
    auth: Option<Auth>,
    /// A JSON body, templated recursively.
    json: Option<serde_json::Value>,
    /// A form-encoded body.
    form: Option<BTreeMap<String, Scalar>>,
    /// A text body, or a file sent as it is or rendered as a template.
    body: Option<BodySpec>,
    /// A `multipart/form-data` body: field names to parts, or a list of one-entry mappings
    /// (names may repeat).
    multipart: Option<Multipart>,
    /// Submit an HTML form from an earlier step's page.
    form_from: Option<FormFrom>,
    /// With `follow_redirects`: stop before requesting a URL that starts with this.
    stop_at: Option<Template>,
    /// Follow redirects (default false: a 3xx is returned to the workflow).
    follow_redirects: Option<bool>,
    /// Redirects followed at most.
    #[schemars(range(min = 0, max = 100))]
    max_redirects: Option<u32>,
    /// Time allowed for the exchange.
    timeout: Option<Duration>,
    /// This step's client certificates, chosen before those of `defaults`.
    tls: Option<Tls>,
    /// The HTTP version this request must use.
    http_version: Option<HttpVersion>,
    /// The values of the `operation`'s path parameters, by name.
    path_params: Option<BTreeMap<String, Template>>,
}

/// A text body, or a file.
#[derive(JsonSchema)]
#[serde(untagged)]
enum BodySpec {
    /// Text, templated.
    Text(Template),
    /// A file.
    File(BodyFile),
}

/// A body read from a file, relative to the workflow's folder (literal, no template).
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct BodyFile {
    /// A file sent as it is, streamed.
    file: Option<String>,
    /// A file rendered as a template.
    template: Option<String>,
    /// The `Content-Type` (for `file`, guessed from the extension by default).
    content_type: Option<Template>,
}

/// The parts of a multipart form.
#[derive(JsonSchema)]
#[serde(untagged)]
enum Multipart {
    /// Field name → part.
    Map(BTreeMap<String, Part>),
    /// One-entry mappings, in order; a name may repeat.
    List(Vec<BTreeMap<String, Part>>),
}

/// One part: text, or a file.
#[derive(JsonSchema)]
#[serde(untagged)]
enum Part {
    /// Text, templated.
    Text(Scalar),
    /// A file.
    File(PartFile),
}

/// A file part, relative to the workflow's folder (literal, no template).
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct PartFile {
    /// The file, streamed.
    file: String,
    /// The file name sent (default: the file's own name).
    filename: Option<Template>,
    /// The part's `Content-Type` (default: guessed from the extension).
    content_type: Option<Template>,
}

/// An HTML form to submit.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct FormFrom {
    /// The earlier step whose response holds the form.
    step: String,
    /// A CSS selector for the form (default `form`).
    selector: Option<String>,
    /// Fields to set or override.
    fields: Option<BTreeMap<String, Scalar>>,
}

/// One of `basic`, `bearer`, `digest` and `aws_sigv4`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Auth {
    /// HTTP Basic.
    basic: Option<Basic>,
    /// A bearer token.
    bearer: Option<Template>,
    /// HTTP Digest (RFC 7616): the server's challenge is answered.
    digest: Option<Digest>,
    /// AWS Signature Version 4, in headers.
    aws_sigv4: Option<AwsSigV4>,
}

/// HTTP Digest credentials.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Digest {
    /// User name.
    username: Template,
    /// Password.
    password: Template,
}

/// AWS credentials and the scope they sign for.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct AwsSigV4 {
    /// Access key id.
    access_key: Template,
    /// Secret access key.
    secret_key: Template,
    /// Session token of temporary credentials, sent as `X-Amz-Security-Token`.
    session_token: Option<Template>,
    /// Region, such as `us-east-1`.
    region: Template,
    /// Service, such as `execute-api` or `s3`.
    service: Template,
}

/// HTTP Basic credentials.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Basic {
    /// User name or client id.
    username: Template,
    /// Password or client secret.
    password: Template,
}

/// Expectations on the response.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Expect {
    /// `200`, `"2xx"` or a list of them.
    status: Option<StatusSpec>,
    /// JSONPath → expected value.
    json: Option<BTreeMap<String, serde_json::Value>>,
    /// Header name → expected value.
    headers: Option<BTreeMap<String, Scalar>>,
    /// Expressions that must all be true.
    checks: Option<Vec<Expression>>,
    /// A JSON Schema the body must match, written here or in a file.
    schema: Option<BodySchema>,
}

/// A JSON Schema (2020-12 unless its `$schema` names draft-04, -06, -07 or 2019-09), or the
/// file that holds one.
#[derive(JsonSchema)]
#[serde(untagged)]
enum BodySchema {
    /// A file beside the workflow, relative to it.
    File(SchemaFile),
    /// The schema itself; not templated.
    Inline(serde_json::Map<String, serde_json::Value>),
    /// `true` (anything) or `false` (nothing).
    Always(bool),
}

/// `{ file: PATH }`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct SchemaFile {
    /// The schema's file (JSON or YAML), relative to the workflow file.
    file: String,
}

/// One status or several.
#[derive(JsonSchema)]
#[serde(untagged)]
enum StatusSpec {
    /// One.
    One(Status),
    /// Any of these.
    Any(Vec<Status>),
}

/// A status code or a class.
#[derive(JsonSchema)]
#[serde(untagged)]
enum Status {
    /// A code.
    Code(#[schemars(range(min = 100, max = 599))] u16),
    /// A class such as `2xx`.
    Class(#[schemars(regex(pattern = r"^[1-5][xX][xX]$"))] String),
}

/// A capture: a JSONPath, or a mapping naming one source.
#[derive(JsonSchema)]
#[serde(untagged)]
enum Extract {
    /// A JSONPath such as `$.access_token`.
    Path(#[schemars(regex(pattern = r"^\$"))] String),
    /// A mapping.
    Spec(ExtractSpec),
}

/// Where a capture comes from: exactly one of `json`, `header`, `cookie`, `regex`, `status`,
/// `body`, `expr`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct ExtractSpec {
    /// A JSONPath over the JSON body.
    json: Option<String>,
    /// A response header.
    header: Option<String>,
    /// A cookie.
    cookie: Option<String>,
    /// A regex; group 1 or the whole match.
    regex: Option<String>,
    /// The status code.
    status: Option<bool>,
    /// The body as text.
    body: Option<bool>,
    /// An expression over the response.
    expr: Option<Expression>,
    /// A CSS selector over an HTML body: the text of the first match.
    css: Option<String>,
    /// An output of the workflow a `uses` step ran.
    output: Option<String>,
    /// With `json` or `css`: every match as a list.
    all: Option<bool>,
    /// With `header`: a query parameter of the URL in the header.
    query: Option<String>,
    /// With `regex`: `body` or `header:NAME`.
    from: Option<String>,
    /// With `css`: read this attribute instead of the text.
    attr: Option<String>,
    /// Mask the value.
    secret: Option<bool>,
    /// Used when nothing matches.
    default: Option<serde_json::Value>,
}

/// Repeating a step.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Retry {
    /// Attempts in all.
    #[schemars(range(min = 1, max = 1000))]
    attempts: u32,
    /// Wait before the second attempt.
    delay: Option<Duration>,
    /// Factor applied to the wait after each attempt.
    #[schemars(range(min = 1.0, max = 10.0))]
    backoff: Option<f64>,
    /// Repeat until this holds; without it, on connection errors and 5xx.
    until: Option<Expression>,
}

/// Returns the JSON Schema of the workflow format, pretty-printed.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Workflow);
    serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::load;

    fn properties(schema: &serde_json::Value, definition: Option<&str>) -> Vec<String> {
        let node = match definition {
            None => schema,
            Some(name) => &schema["$defs"][name],
        };
        let mut keys: Vec<String> = node["properties"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        keys
    }

    fn sorted(keys: &[&str]) -> Vec<String> {
        let mut keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
        keys.sort();
        keys
    }

    #[test]
    fn the_schema_has_exactly_the_keys_the_loader_reads() {
        let schema: serde_json::Value = serde_json::from_str(&json_schema()).unwrap();
        let pairs: [(Option<&str>, &[&str]); 19] = [
            (Some("FormFrom"), load::FORM_FROM_KEYS),
            (Some("Load"), load::LOAD_KEYS),
            (None, load::TOP_KEYS),
            (Some("InputSpec"), load::INPUT_KEYS),
            (Some("Defaults"), load::DEFAULTS_KEYS),
            (Some("Step"), load::STEP_KEYS),
            (Some("Request"), load::REQUEST_KEYS),
            (Some("Auth"), load::AUTH_KEYS),
            (Some("Basic"), load::BASIC_KEYS),
            (Some("Digest"), load::DIGEST_KEYS),
            (Some("AwsSigV4"), load::AWS_SIGV4_KEYS),
            (Some("Expect"), load::EXPECT_KEYS),
            (Some("ExtractSpec"), load::EXTRACT_KEYS),
            (Some("Retry"), load::RETRY_KEYS),
            (Some("Script"), load::SCRIPT_KEYS),
            (Some("Tls"), load::TLS_KEYS),
            (Some("ClientCert"), load::CLIENT_CERT_KEYS),
            (Some("BodyFile"), load::BODY_FILE_KEYS),
            (Some("PartFile"), load::PART_FILE_KEYS),
        ];
        for (definition, keys) in pairs {
            assert_eq!(
                properties(&schema, definition),
                sorted(keys),
                "{definition:?}"
            );
        }
    }
}
