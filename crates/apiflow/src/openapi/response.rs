//! A response checked against its operation: the status declared, the content type
//! declared, and a JSON body valid against the declared schema.
//!
//! In order: the response is chosen by status (the exact code, else its class such as `2XX`,
//! else `default`); then the media type by content type, parameters ignored (the exact type,
//! else `type/*`, else `*/*`); then, for a JSON body (`application/json` or a `+json` type)
//! with a schema, each violation, named by the JSON Pointer of the value in the body.

use std::fmt::Write as _;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

use super::serialize::is_json;
use super::{Description, MediaType, Operation, Response, schema};

/// How many schema violations a check lists before it sums up the rest.
pub const MAX_VIOLATIONS: usize = 10;

/// One way a response differs from what the operation declares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseProblem {
    /// What is wrong, in one line.
    pub message: String,
    /// The JSON Pointer of the offending value in the body, for a schema violation.
    pub instance_pointer: Option<String>,
    /// Where the broken keyword is: a JSON Pointer in the description, or `FILE#POINTER` in
    /// another file of it.
    pub schema_pointer: Option<String>,
}

impl ResponseProblem {
    fn plain(message: String) -> ResponseProblem {
        ResponseProblem {
            message,
            instance_pointer: None,
            schema_pointer: None,
        }
    }
}

impl Operation {
    /// Names the operation for messages: `` `listPets` (GET /pets) `` or `GET /pets`.
    pub fn label(&self) -> String {
        match &self.id {
            Some(id) => format!("`{id}` ({} {})", self.method, self.path),
            None => format!("{} {}", self.method, self.path),
        }
    }

    /// Finds the response declared for a status: the exact code, else its class (`2XX`), else
    /// `default`.
    pub fn response_for(&self, status: u16) -> Option<&Response> {
        let code = status.to_string();
        let class = format!("{}XX", status / 100);
        self.responses
            .iter()
            .find(|r| r.status == code)
            .or_else(|| {
                self.responses
                    .iter()
                    .find(|r| r.status.eq_ignore_ascii_case(&class))
            })
            .or_else(|| self.responses.iter().find(|r| r.status == "default"))
    }

    /// Checks a response against what the operation declares; an empty list when it agrees.
    pub fn check_response(
        &self,
        d: &Description,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Vec<ResponseProblem> {
        let parsed = std::cell::OnceCell::new();
        self.check_response_with(d, status, content_type, body.is_empty(), || {
            parsed
                .get_or_init(|| serde_json::from_slice(body).map_err(|e| e.to_string()))
                .as_ref()
                .map_err(String::as_str)
        })
    }

    /// Checks a response as [`Operation::check_response`] does, for a caller that parses the
    /// body itself (once, for the schema and for whatever else reads it): `json` returns the
    /// body parsed, or the parser's message, and is called only when a schema is to be checked.
    pub fn check_response_with<'j>(
        &self,
        d: &Description,
        status: u16,
        content_type: Option<&str>,
        empty_body: bool,
        json: impl FnOnce() -> Result<&'j Value, &'j str>,
    ) -> Vec<ResponseProblem> {
        let Some(response) = self.response_for(status) else {
            let declared: Vec<&str> = self.responses.iter().map(|r| r.status.as_str()).collect();
            let declared = if declared.is_empty() {
                "none".to_owned()
            } else {
                declared.join(", ")
            };
            return vec![ResponseProblem::plain(format!(
                "status {status} is not declared for {} (declared: {declared})",
                self.label()
            ))];
        };
        // A response without `content` describes no body, and an empty body has nothing to
        // check.
        if response.content.is_empty() || empty_body {
            return Vec::new();
        }
        let declared = || {
            response
                .content
                .iter()
                .map(|m| m.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let Some(content_type) = content_type else {
            return vec![ResponseProblem::plain(format!(
                "the response has a body but no `Content-Type` (declared for status {}: {})",
                response.status,
                declared()
            ))];
        };
        let Some(media) = media_for(&response.content, content_type) else {
            return vec![ResponseProblem::plain(format!(
                "content type `{content_type}` is not declared for status {} of {} (declared: {})",
                response.status,
                self.label(),
                declared()
            ))];
        };
        if media.schema.is_none() || !is_json(content_type) {
            return Vec::new();
        }
        let value = match json() {
            Ok(value) => value,
            Err(error) => {
                return vec![ResponseProblem::plain(format!(
                    "the body is not JSON, though its content type is `{content_type}`: {error}"
                ))];
            }
        };
        let compiled = schema::validator(d, media.document, &media.schema_pointer);
        let validator = match compiled.as_ref() {
            Ok(validator) => validator,
            Err(why) => {
                return vec![ResponseProblem {
                    message: format!("the response schema cannot be compiled: {why}"),
                    instance_pointer: None,
                    schema_pointer: Some(media.schema_pointer.clone()),
                }];
            }
        };
        let mut problems = Vec::new();
        let mut more = 0;
        for error in validator.iter_errors(value) {
            if problems.len() == MAX_VIOLATIONS {
                more += 1;
                continue;
            }
            let instance = error.instance_path().as_str().to_owned();
            let at = if instance.is_empty() {
                "the body".to_owned()
            } else {
                format!("`{instance}`")
            };
            problems.push(ResponseProblem {
                message: format!("{at}: {}", describe(error.kind(), error.instance(), &error)),
                instance_pointer: Some(instance),
                schema_pointer: error
                    .absolute_keyword_location()
                    .and_then(|uri| schema::schema_place(d, uri.as_str())),
            });
        }
        if more > 0 {
            problems.push(ResponseProblem::plain(format!(
                "and {more} more violation{} of the schema",
                if more == 1 { "" } else { "s" }
            )));
        }
        problems
    }
}

/// Picks the media type a content type falls under: the exact type, else `type/*`, else
/// `*/*`; parameters and case are ignored.
fn media_for<'a>(content: &'a [MediaType], content_type: &str) -> Option<&'a MediaType> {
    let essence = |text: &str| {
        text.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    };
    let actual = essence(content_type);
    let main = actual.split('/').next().unwrap_or("");
    let range = format!("{main}/*");
    content
        .iter()
        .find(|m| essence(&m.name) == actual)
        .or_else(|| content.iter().find(|m| essence(&m.name) == range))
        .or_else(|| content.iter().find(|m| essence(&m.name) == "*/*"))
}

/// Says what a violation is: `expected integer, found string "x"`.
fn describe(kind: &ValidationErrorKind, instance: &Value, error: &dyn std::fmt::Display) -> String {
    match kind {
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(one) => one.to_string(),
                TypeKind::Multiple(many) => many
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(" or "),
            };
            format!("expected {expected}, found {}", found(instance))
        }
        ValidationErrorKind::Required { property } => {
            let name = property
                .as_str()
                .map_or_else(|| property.to_string(), str::to_owned);
            format!("required property `{name}` is missing")
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let mut text = String::from("unexpected propert");
            text.push_str(if unexpected.len() == 1 { "y" } else { "ies" });
            for (index, name) in unexpected.iter().enumerate() {
                let _ = write!(text, "{} `{name}`", if index == 0 { "" } else { "," });
            }
            text
        }
        ValidationErrorKind::Enum { options } => {
            format!(
                "expected one of {}, found {}",
                cut(&options.to_string(), 120),
                found(instance)
            )
        }
        _ => cut(&error.to_string(), 200),
    }
}

/// Names a found value with its kind: `string "x"`, `null`, `object`.
fn found(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) if n.is_i64() || n.is_u64() => format!("integer {n}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(_) => format!("string {}", cut(&value.to_string(), 60)),
        Value::Array(_) => "array".to_owned(),
        Value::Object(_) => "object".to_owned(),
    }
}

/// Cuts a text after `max` characters.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() > max {
        format!("{}…", text.chars().take(max).collect::<String>())
    } else {
        text.to_owned()
    }
}
