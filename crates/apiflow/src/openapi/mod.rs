//! OpenAPI descriptions (3.0, 3.1 and 3.2): loaded with their `$ref`s resolved, their
//! operations, parameters, servers and responses, for the workflows and Arazzo documents that
//! name them.
//!
//! Loading reads the description and every file its references name (`reference`), then
//! builds the operations (`operations`). Every problem is a [`Diagnostic`] located in the file
//! that has it.

mod document;
mod operations;
mod reference;
mod response;
mod schema;
mod serialize;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use document::Document;
use reference::Documents;
pub use response::{MAX_VIOLATIONS, ResponseProblem};
pub use serialize::{Serialized, serialize};

use crate::access::{FileAccess, normalize};
use crate::diagnostic::{Diagnostic, closest};
use crate::format::yaml;
use crate::span::{Source, Span, Spanned};

/// The schema dialect of a description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// OpenAPI 3.0: its own Schema Object (`nullable`, boolean `exclusiveMinimum`, …).
    Oas30,
    /// OpenAPI 3.1 and 3.2: schemas are JSON Schema 2020-12.
    Oas31,
}

/// An OpenAPI description, loaded and resolved.
#[derive(Clone, Debug)]
pub struct Description {
    /// The description's file, named as given.
    pub source: Arc<Source>,
    /// `openapi:`, such as `3.0.3`, `3.1.0` or `3.2.0`.
    pub version: Spanned<String>,
    /// The schema dialect the version implies.
    pub dialect: Dialect,
    /// The root `servers` (one server `/` when there are none).
    pub servers: Vec<Server>,
    /// Every operation of `paths`, in the order written.
    pub operations: Vec<Arc<Operation>>,
    /// `components.securitySchemes`, by name, with references resolved.
    pub security_schemes: Vec<(String, serde_json::Value)>,
    /// The description as JSON.
    pub json: serde_json::Value,
    /// The JSON Pointer of every value of the description, with where it is written, sorted by
    /// pointer.
    pub pointers: Vec<(String, Span)>,
    /// Every file read: the description first, then each file its references name.
    pub documents: Vec<Document>,
    /// The response schemas compiled so far, shared by the description's clones.
    cache: Arc<schema::Cache>,
}

/// Why a JSON Pointer does not name an operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PointerProblem {
    /// Nothing is there. `nearest` is the pointer of the operation most like it, or, when none
    /// is close, the longest part of the pointer that names a value.
    NotFound {
        /// An operation's pointer, or the part that exists.
        nearest: String,
    },
    /// Something is there, but not an operation.
    NotAnOperation {
        /// What it is: `a path item`, `` `parameters` of a path item ``, ….
        what: String,
    },
}

/// A server: its URL template and its variables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    /// The URL as written, with `{variable}`s.
    pub url: String,
    /// The variables the URL uses.
    pub variables: Vec<ServerVariable>,
}

/// A server variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerVariable {
    /// Its name, as written between braces in the URL.
    pub name: String,
    /// The value used when none is given.
    pub default: String,
    /// The values allowed, when limited.
    pub enum_values: Vec<String>,
}

impl Server {
    /// Returns the URL with each variable replaced by its default.
    pub fn resolve(&self) -> String {
        let mut url = self.url.clone();
        for variable in &self.variables {
            url = url.replace(&format!("{{{}}}", variable.name), &variable.default);
        }
        url
    }
}

/// An operation of the description.
#[derive(Clone, Debug)]
pub struct Operation {
    /// `operationId`, when it has one.
    pub id: Option<String>,
    /// The method, upper-case.
    pub method: String,
    /// The path template, such as `/pets/{petId}`.
    pub path: String,
    /// Its JSON Pointer in the description: `/paths/~1pets~1{petId}/get`.
    pub pointer: String,
    /// Where it is written in the description (at the reference, for a path item in another
    /// file).
    pub span: Span,
    /// The path item's and the operation's parameters, merged (the operation's win by `name`
    /// and `in`), references resolved.
    pub parameters: Vec<Parameter>,
    /// `requestBody`, when it has one.
    pub request_body: Option<RequestBody>,
    /// The servers it is sent to: its own, else its path item's, else the description's.
    pub servers: Vec<Server>,
    /// `responses`, in the order written.
    pub responses: Vec<Response>,
    /// The security requirements that apply, each the names of the schemes it needs (an empty
    /// one allows anonymous calls).
    pub security: Vec<Vec<String>>,
}

/// Where a parameter goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// In the path, replacing `{name}`.
    Path,
    /// One parameter of the query string.
    Query,
    /// The whole query string (OpenAPI 3.2).
    Querystring,
    /// A request header.
    Header,
    /// A cookie.
    Cookie,
}

/// How a parameter's value is written (OpenAPI's `style`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// `;name=value` (path).
    Matrix,
    /// `.value` (path).
    Label,
    /// `value,value` (path, header).
    Simple,
    /// `name=value&…` (query, cookie).
    Form,
    /// `value%20value` (query).
    SpaceDelimited,
    /// `value|value` (query).
    PipeDelimited,
    /// `name[key]=value` (query).
    DeepObject,
    /// `name=value; name=value`, sent as given (cookie; OpenAPI 3.2).
    Cookie,
}

/// A parameter of an operation.
#[derive(Clone, Debug, PartialEq)]
pub struct Parameter {
    /// Its name.
    pub name: String,
    /// Where it goes.
    pub location: Location,
    /// Whether it must be given (always for a path parameter).
    pub required: bool,
    /// How it is written: as declared, or the default for where it goes.
    pub style: Style,
    /// Whether arrays and objects are written as separate parameters (default: for `form` and
    /// `cookie`).
    pub explode: bool,
    /// Whether reserved characters are sent as they are in a query.
    pub allow_reserved: bool,
    /// Its schema, as written.
    pub schema: Option<serde_json::Value>,
    /// The media type of `content`, for a parameter described by one.
    pub content_type: Option<String>,
}

/// An operation's `requestBody`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestBody {
    /// Whether a body must be sent.
    pub required: bool,
    /// The media types of `content`, in order.
    pub content_types: Vec<String>,
}

/// One declared response.
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    /// `200`, `2XX` or `default`.
    pub status: String,
    /// Its media types.
    pub content: Vec<MediaType>,
}

/// A media type of a response, with its schema.
#[derive(Clone, Debug, PartialEq)]
pub struct MediaType {
    /// The media type or range, such as `application/json`.
    pub name: String,
    /// Its schema, as written.
    pub schema: Option<serde_json::Value>,
    /// Where the schema is, as a JSON Pointer in the file [`MediaType::document`] names.
    pub schema_pointer: String,
    /// The index in [`Description::documents`] of the file holding the schema (0 for the
    /// description itself).
    pub document: usize,
}

impl Description {
    /// Reads and resolves the description at `path`. Files its references name must be under
    /// `access.file_root`, or else under the description's own folder.
    pub fn load(path: &Path, access: &FileAccess) -> Result<Description, Vec<Diagnostic>> {
        let source = Description::read_file(path, &path.display().to_string())?;
        Description::read(&source, access)
    }

    /// Reads a description's file as text, named `name` in messages.
    pub fn read_file(path: &Path, name: &str) -> Result<Arc<Source>, Vec<Diagnostic>> {
        let bytes = std::fs::read(path).map_err(|error| {
            let why = match error.kind() {
                std::io::ErrorKind::NotFound => "no such file".to_owned(),
                std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
                _ if path.is_dir() => "it is a folder".to_owned(),
                _ => error.to_string(),
            };
            vec![Diagnostic::error(format!("cannot read `{name}`: {why}"))]
        })?;
        if bytes.len() > yaml::MAX_FILE_SIZE {
            return Err(vec![Diagnostic::error(format!(
                "`{name}` is too large: {} bytes, the limit is {} bytes",
                bytes.len(),
                yaml::MAX_FILE_SIZE
            ))]);
        }
        let text = yaml::decode(name, bytes).map_err(|d| vec![d])?;
        Ok(Source::new(name, text))
    }

    /// Reads and resolves a description from its text; files its references name are read
    /// relative to its name, under its folder.
    pub fn from_source(source: &Arc<Source>) -> Result<Description, Vec<Diagnostic>> {
        Description::read(source, &FileAccess::default())
    }

    /// Reads and resolves a description from its text; files its references name are read
    /// relative to its name, under `access.file_root` (or else its folder).
    pub fn read(source: &Arc<Source>, access: &FileAccess) -> Result<Description, Vec<Diagnostic>> {
        let path = absolute(Path::new(&source.name));
        let root = match &access.file_root {
            Some(root) => root.canonicalize().ok(),
            None => path
                .as_ref()
                .and_then(|p| p.parent())
                .and_then(|p| p.canonicalize().ok()),
        };
        let document = document::Document::parse(source, path).map_err(|d| vec![d])?;
        let (version, dialect) = version(&document)?;
        let mut documents = Documents::new(document, root);
        let mut errors = documents.check_all(dialect == Dialect::Oas31);
        let built = operations::build(&documents, &version.value);
        // Building follows the references checked above: each broken one is said once, where
        // it is written.
        for error in built.errors {
            let known = errors.iter().any(|e| {
                e.span == error.span
                    && e.source.as_ref().map(|s| &s.name) == error.source.as_ref().map(|s| &s.name)
            });
            if !known {
                errors.push(error);
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let root = &documents.docs[0];
        Ok(Description {
            source: Arc::clone(&root.source),
            version,
            dialect,
            servers: built.servers,
            operations: built.operations.into_iter().map(Arc::new).collect(),
            security_schemes: built.security_schemes,
            json: root.json.clone(),
            pointers: root.pointers.clone(),
            documents: documents.docs,
            cache: Arc::default(),
        })
    }

    /// Finds an operation by its `operationId`.
    pub fn operation_by_id(&self, id: &str) -> Option<&Arc<Operation>> {
        self.operations
            .iter()
            .find(|op| op.id.as_deref() == Some(id))
    }

    /// Lists every `operationId`, in the order written.
    pub fn operation_ids(&self) -> impl Iterator<Item = &str> {
        self.operations.iter().filter_map(|op| op.id.as_deref())
    }

    /// Finds the operation a JSON Pointer names (`/paths/~1pets~1{petId}/get`, RFC 6901,
    /// already percent-decoded), or says what is there instead.
    pub fn operation_at(&self, pointer: &str) -> Result<&Arc<Operation>, PointerProblem> {
        if let Some(op) = self.operations.iter().find(|op| op.pointer == pointer) {
            return Ok(op);
        }
        let parts = document::segments(pointer);
        if self.json.pointer(pointer).is_some() || (pointer.is_empty()) {
            return Err(PointerProblem::NotAnOperation {
                what: describe(&parts),
            });
        }
        if let Some(near) = closest(
            pointer,
            self.operations.iter().map(|op| op.pointer.as_str()),
        ) {
            return Err(PointerProblem::NotFound {
                nearest: near.to_owned(),
            });
        }
        let mut nearest = String::new();
        for part in &parts {
            let next = format!("{nearest}/{}", document::escape(part));
            if self.json.pointer(&next).is_none() {
                break;
            }
            nearest = next;
        }
        Err(PointerProblem::NotFound { nearest })
    }

    /// Returns where the value at a JSON Pointer of the description is written, or the
    /// nearest value holding it.
    pub fn span_of(&self, pointer: &str) -> Span {
        self.documents[0].span_of(pointer)
    }
}

/// Names what a pointer of a description holds, for a pointer that is not an operation.
fn describe(parts: &[String]) -> String {
    let list: Vec<&str> = parts.iter().map(String::as_str).collect();
    match list.as_slice() {
        [] => "the whole description".to_owned(),
        ["paths"] => "the `paths` object".to_owned(),
        ["paths", _] => "a path item".to_owned(),
        ["paths", _, field] => format!("`{field}` of a path item"),
        ["paths", _, method, field, ..] => format!("`{field}` of the `{method}` operation"),
        ["webhooks", ..] => "a webhook (only `paths` are called)".to_owned(),
        [first, ..] => format!("part of `{first}`, not of `paths`"),
    }
}

/// Makes a path absolute and normalised, without resolving links.
fn absolute(path: &Path) -> Option<PathBuf> {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    Some(normalize(&joined))
}

/// Reads `openapi:` and the dialect it implies.
fn version(document: &Document) -> Result<(Spanned<String>, Dialect), Vec<Diagnostic>> {
    let source = &document.source;
    let serde_json::Value::Object(root) = &document.json else {
        return Err(vec![
            Diagnostic::error(format!(
                "`{}` is not an OpenAPI description: expected a mapping, found {}",
                source.name,
                kind(&document.json)
            ))
            .at(source, document.span_of(""), "not a mapping")
            .help("an OpenAPI description is a mapping starting with `openapi: 3.1.0`"),
        ]);
    };
    if let Some(swagger) = root.get("swagger") {
        let text = swagger
            .as_str()
            .map_or_else(|| swagger.to_string(), str::to_owned);
        return Err(vec![
            Diagnostic::error(format!("Swagger {text} is not supported"))
                .at(
                    source,
                    document.span_of("/swagger"),
                    "a Swagger 2.0 document",
                )
                .help(
                    "convert it to OpenAPI 3 (3.0, 3.1 or 3.2), for example with swagger2openapi",
                ),
        ]);
    }
    let Some(value) = root.get("openapi") else {
        return Err(vec![
            Diagnostic::error(format!("`{}` has no `openapi:` version", source.name))
                .at(source, document.span_of(""), "expected `openapi:` here")
                .help("an OpenAPI description starts with `openapi: 3.1.0` (or 3.0.x, 3.2.x)"),
        ]);
    };
    let span = document.span_of("/openapi");
    let text = match value {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Number(number) => number.to_string(),
        other => {
            return Err(vec![
                Diagnostic::error(format!(
                    "invalid `openapi`: expected a version such as `3.1.0`, found {}",
                    kind(other)
                ))
                .at(source, span, "not a version"),
            ]);
        }
    };
    let dialect = match text.split('.').take(2).collect::<Vec<_>>().as_slice() {
        ["3", "0"] => Dialect::Oas30,
        ["3", "1" | "2"] => Dialect::Oas31,
        _ => {
            return Err(vec![
                Diagnostic::error(format!("OpenAPI `{text}` is not supported"))
                    .at(source, span, "expected 3.0.x, 3.1.x or 3.2.x")
                    .note("expected: 3.0.x, 3.1.x or 3.2.x")
                    .note(format!("found: {text}")),
            ]);
        }
    };
    Ok((Spanned::new(text, span), dialect))
}

/// Names the kind of a JSON value for messages.
fn kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests;
