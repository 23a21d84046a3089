//! The operations of a description's `paths`: methods, merged parameters, request bodies,
//! effective servers, responses and security requirements, with references followed.

use std::collections::HashMap;

use serde_json::Value;

use crate::diagnostic::{Diagnostic, did_you_mean};

use super::reference::{Documents, Location};
use super::{
    Location as In, MediaType, Operation, Parameter, RequestBody, Response, Server, ServerVariable,
    Style, kind,
};

/// The fixed methods of a path item, in OpenAPI's order (`query` is 3.2).
const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace", "query",
];

/// What building found.
pub(super) struct Built {
    pub(super) servers: Vec<Server>,
    pub operations: Vec<Operation>,
    pub security_schemes: Vec<(String, Value)>,
    pub errors: Vec<Diagnostic>,
}

/// Builds the operations of a description whose references all resolve.
pub(super) fn build(documents: &Documents, version: &str) -> Built {
    let mut builder = Builder {
        docs: documents,
        v32: version.starts_with("3.2"),
        errors: Vec::new(),
    };
    let root = Location {
        doc: 0,
        pointer: String::new(),
    };
    let servers = builder
        .servers(&root.child("servers"))
        .unwrap_or_else(|| vec![default_server()]);
    let security = builder
        .security(&root.child("security"))
        .unwrap_or_default();
    let security_schemes = builder.security_schemes();
    let mut operations = Vec::new();
    let paths = root.child("paths");
    match documents.value(&paths) {
        None => {}
        Some(Value::Object(map)) => {
            for path in map.keys() {
                builder.path_item(path, &paths, &servers, &security, &mut operations);
            }
        }
        Some(other) => builder.errors.push(documents.error(
            &paths,
            format!("invalid `paths`: expected a mapping, found {}", kind(other)),
            "not a mapping",
        )),
    }
    builder.duplicate_ids(&operations);
    Built {
        servers,
        operations,
        security_schemes,
        errors: builder.errors,
    }
}

fn default_server() -> Server {
    Server {
        url: "/".to_owned(),
        variables: Vec::new(),
    }
}

struct Builder<'a> {
    docs: &'a Documents,
    v32: bool,
    errors: Vec<Diagnostic>,
}

impl Builder<'_> {
    /// Follows references from a location, noting a failure.
    fn follow(&mut self, at: &Location) -> Option<Location> {
        match self.docs.follow(at.clone()) {
            Ok(found) => Some(found),
            Err(error) => {
                self.errors.push(error);
                None
            }
        }
    }

    /// Notes a value of the wrong kind.
    fn wrong(&mut self, at: &Location, what: &str, expected: &str, found: &Value) {
        self.errors.push(self.docs.error(
            at,
            format!(
                "invalid `{what}`: expected {expected}, found {}",
                kind(found)
            ),
            &format!("expected {expected}"),
        ));
    }

    fn path_item(
        &mut self,
        path: &str,
        paths: &Location,
        root_servers: &[Server],
        security: &[Vec<String>],
        out: &mut Vec<Operation>,
    ) {
        let written = paths.child(path);
        let Some(item) = self.follow(&written) else {
            return;
        };
        let Some(Value::Object(map)) = self.docs.value(&item) else {
            if let Some(found) = self.docs.value(&item) {
                self.wrong(&item, path, "a path item (a mapping)", found);
            }
            return;
        };
        let servers = self
            .servers(&item.child("servers"))
            .unwrap_or_else(|| root_servers.to_vec());
        let shared = self.parameters(&item.child("parameters"));
        let mut methods: Vec<(String, Location)> = METHODS
            .iter()
            .filter(|m| map.contains_key(**m) && (**m != "query" || self.v32))
            .map(|m| ((*m).to_owned(), item.child(m)))
            .collect();
        if self.v32 {
            let extra = item.child("additionalOperations");
            if let Some(Value::Object(more)) = self.docs.value(&extra) {
                for method in more.keys() {
                    methods.push((method.clone(), extra.child(method)));
                }
            }
        }
        for (method, at) in methods {
            // The pointer as the description's `paths` reach it, whatever file holds it.
            let logical = format!("{}{}", written.pointer, &at.pointer[item.pointer.len()..]);
            // An operation reached through a reference is shown at the reference.
            let span = if item == written {
                self.docs.place(&at).1
            } else {
                self.docs.place(&written).1
            };
            if let Some(op) = self.operation(
                path, &method, &at, logical, span, &shared, &servers, security,
            ) {
                out.push(op);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn operation(
        &mut self,
        path: &str,
        method: &str,
        at: &Location,
        pointer: String,
        span: crate::span::Span,
        shared: &[Parameter],
        servers: &[Server],
        security: &[Vec<String>],
    ) -> Option<Operation> {
        let value = self.docs.value(at)?;
        let Value::Object(map) = value else {
            self.wrong(at, method, "an operation (a mapping)", value);
            return None;
        };
        let id = match map.get("operationId") {
            None => None,
            Some(Value::String(id)) => Some(id.clone()),
            Some(other) => {
                self.wrong(&at.child("operationId"), "operationId", "a string", other);
                None
            }
        };
        let mut parameters = shared.to_vec();
        for own in self.parameters(&at.child("parameters")) {
            match parameters
                .iter_mut()
                .find(|p| p.name == own.name && p.location == own.location)
            {
                Some(slot) => *slot = own,
                None => parameters.push(own),
            }
        }
        let request_body = self.request_body(&at.child("requestBody"));
        let servers = self
            .servers(&at.child("servers"))
            .unwrap_or_else(|| servers.to_vec());
        let responses = self.responses(&at.child("responses"));
        let security = self
            .security(&at.child("security"))
            .unwrap_or_else(|| security.to_vec());
        Some(Operation {
            id,
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            pointer,
            span,
            parameters,
            request_body,
            servers,
            responses,
            security,
        })
    }

    /// Reads a list of parameters, when there is one.
    fn parameters(&mut self, at: &Location) -> Vec<Parameter> {
        let Some(value) = self.docs.value(at) else {
            return Vec::new();
        };
        let Value::Array(items) = value else {
            self.wrong(at, "parameters", "a list", value);
            return Vec::new();
        };
        (0..items.len())
            .filter_map(|index| {
                let item = self.follow(&at.child(&index.to_string()))?;
                self.parameter(&item)
            })
            .collect()
    }

    fn parameter(&mut self, at: &Location) -> Option<Parameter> {
        let value = self.docs.value(at)?;
        let Value::Object(map) = value else {
            self.wrong(at, "parameters", "a parameter (a mapping)", value);
            return None;
        };
        let Some(Value::String(name)) = map.get("name") else {
            self.errors.push(
                self.docs
                    .error(at, "a parameter without `name`".to_owned(), "no `name:`")
                    .help("every parameter has `name:` and `in:`"),
            );
            return None;
        };
        let location = match map.get("in").and_then(Value::as_str) {
            Some("path") => In::Path,
            Some("query") => In::Query,
            Some("querystring") if self.v32 => In::Querystring,
            Some("header") => In::Header,
            Some("cookie") => In::Cookie,
            found => {
                let places: &[&str] = if self.v32 {
                    &["path", "query", "querystring", "header", "cookie"]
                } else {
                    &["path", "query", "header", "cookie"]
                };
                let shown = found.map_or_else(|| "nothing".to_owned(), |f| format!("`{f}`"));
                let error = self
                    .docs
                    .error(
                        &at.child("in"),
                        format!("parameter `{name}`: invalid `in`, found {shown}"),
                        "not a place for a parameter",
                    )
                    .note(format!("expected: one of {}", places.join(", ")))
                    .maybe_help(found.and_then(|f| did_you_mean(f, places.iter().copied())));
                let error = if found == Some("querystring") {
                    error.help("`in: querystring` is OpenAPI 3.2; say `openapi: 3.2.0`")
                } else {
                    error
                };
                self.errors.push(error);
                return None;
            }
        };
        let style = match map.get("style").and_then(Value::as_str) {
            None => match location {
                In::Path | In::Header => Style::Simple,
                In::Query | In::Querystring | In::Cookie => Style::Form,
            },
            Some(written) => {
                let styles = [
                    ("matrix", Style::Matrix),
                    ("label", Style::Label),
                    ("simple", Style::Simple),
                    ("form", Style::Form),
                    ("spaceDelimited", Style::SpaceDelimited),
                    ("pipeDelimited", Style::PipeDelimited),
                    ("deepObject", Style::DeepObject),
                    ("cookie", Style::Cookie),
                ];
                let known = styles
                    .iter()
                    .find(|(n, s)| *n == written && (*s != Style::Cookie || self.v32));
                if let Some((_, style)) = known {
                    *style
                } else {
                    self.errors.push(
                        self.docs
                            .error(
                                &at.child("style"),
                                format!("parameter `{name}`: unknown `style: {written}`"),
                                "not a style",
                            )
                            .maybe_help(did_you_mean(written, styles.iter().map(|(n, _)| *n))),
                    );
                    return None;
                }
            }
        };
        let flag =
            |key: &str, default: bool| map.get(key).and_then(Value::as_bool).unwrap_or(default);
        let content_type = match map.get("content") {
            Some(Value::Object(content)) => content.keys().next().cloned(),
            _ => None,
        };
        let schema = map.get("schema").cloned().or_else(|| {
            let media = content_type.as_ref()?;
            map.get("content")?.get(media)?.get("schema").cloned()
        });
        Some(Parameter {
            name: name.clone(),
            location,
            required: location == In::Path || flag("required", false),
            style,
            explode: flag("explode", matches!(style, Style::Form | Style::Cookie)),
            allow_reserved: flag("allowReserved", false),
            schema,
            content_type,
        })
    }

    fn request_body(&mut self, at: &Location) -> Option<RequestBody> {
        self.docs.value(at)?;
        let body = self.follow(at)?;
        let value = self.docs.value(&body)?;
        let Value::Object(map) = value else {
            self.wrong(&body, "requestBody", "a mapping", value);
            return None;
        };
        Some(RequestBody {
            required: map
                .get("required")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            content_types: match map.get("content") {
                Some(Value::Object(content)) => content.keys().cloned().collect(),
                _ => Vec::new(),
            },
        })
    }

    fn responses(&mut self, at: &Location) -> Vec<Response> {
        let Some(value) = self.docs.value(at) else {
            return Vec::new();
        };
        let Value::Object(map) = value else {
            self.wrong(at, "responses", "a mapping", value);
            return Vec::new();
        };
        let mut responses = Vec::new();
        for status in map.keys() {
            if status.starts_with("x-") {
                continue;
            }
            let Some(response) = self.follow(&at.child(status)) else {
                continue;
            };
            let content_at = response.child("content");
            let content = match self.docs.value(&content_at) {
                Some(Value::Object(content)) => content
                    .iter()
                    .map(|(name, media)| {
                        let schema_at = content_at.child(name).child("schema");
                        MediaType {
                            name: name.clone(),
                            schema: media.get("schema").cloned(),
                            schema_pointer: schema_at.pointer,
                            document: schema_at.doc,
                        }
                    })
                    .collect(),
                _ => Vec::new(),
            };
            responses.push(Response {
                status: status.clone(),
                content,
            });
        }
        responses
    }

    /// Reads a `servers` list; `None` when there is none (or it is empty).
    fn servers(&mut self, at: &Location) -> Option<Vec<Server>> {
        let value = self.docs.value(at)?;
        let Value::Array(items) = value else {
            self.wrong(at, "servers", "a list", value);
            return None;
        };
        let mut servers = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let here = at.child(&index.to_string());
            let Some(Value::String(url)) = item.get("url") else {
                self.errors.push(self.docs.error(
                    &here,
                    "a server without `url`".to_owned(),
                    "no `url:`",
                ));
                continue;
            };
            let mut variables = Vec::new();
            if let Some(Value::Object(vars)) = item.get("variables") {
                for (name, variable) in vars {
                    let default = match variable.get("default") {
                        Some(Value::String(text)) => text.clone(),
                        Some(Value::Number(n)) => n.to_string(),
                        _ => {
                            self.errors.push(
                                self.docs
                                    .error(
                                        &here.child("variables").child(name),
                                        format!("server variable `{name}` has no `default`"),
                                        "no `default:`",
                                    )
                                    .help("every server variable needs a `default:` value"),
                            );
                            continue;
                        }
                    };
                    let enum_values = match variable.get("enum") {
                        Some(Value::Array(values)) => values
                            .iter()
                            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                            .collect(),
                        _ => Vec::new(),
                    };
                    variables.push(ServerVariable {
                        name: name.clone(),
                        default,
                        enum_values,
                    });
                }
            }
            servers.push(Server {
                url: url.clone(),
                variables,
            });
        }
        (!servers.is_empty()).then_some(servers)
    }

    /// Reads a `security` list: the scheme names of each requirement.
    fn security(&mut self, at: &Location) -> Option<Vec<Vec<String>>> {
        let value = self.docs.value(at)?;
        let Value::Array(items) = value else {
            self.wrong(at, "security", "a list", value);
            return None;
        };
        Some(
            items
                .iter()
                .map(|item| match item {
                    Value::Object(map) => map.keys().cloned().collect(),
                    _ => Vec::new(),
                })
                .collect(),
        )
    }

    fn security_schemes(&mut self) -> Vec<(String, Value)> {
        let at = Location {
            doc: 0,
            pointer: "/components/securitySchemes".to_owned(),
        };
        let Some(Value::Object(map)) = self.docs.value(&at) else {
            return Vec::new();
        };
        let mut schemes = Vec::new();
        for name in map.keys() {
            if let Some(found) = self.follow(&at.child(name))
                && let Some(value) = self.docs.value(&found)
            {
                schemes.push((name.clone(), value.clone()));
            }
        }
        schemes
    }

    /// Reports each `operationId` used twice, at its second use.
    fn duplicate_ids(&mut self, operations: &[Operation]) {
        let mut seen: HashMap<&str, &Operation> = HashMap::new();
        for op in operations {
            let Some(id) = op.id.as_deref() else {
                continue;
            };
            if let Some(first) = seen.get(id) {
                let at = Location {
                    doc: 0,
                    pointer: format!("{}/operationId", op.pointer),
                };
                let (source, span) = self.docs.place(&at);
                let span = if self.docs.value(&at).is_some() {
                    span
                } else {
                    op.span
                };
                self.errors.push(
                    Diagnostic::error(format!("duplicate operationId `{id}`"))
                        .at(source, span, "used a second time")
                        .note(format!(
                            "first: {} {} (line {})",
                            first.method, first.path, first.span.line
                        ))
                        .note(format!("again: {} {}", op.method, op.path))
                        .help("an operationId names one operation; rename one of them"),
                );
            } else {
                seen.insert(id, op);
            }
        }
    }
}
