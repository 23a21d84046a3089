//! Loading a step: its request (method, URL, headers, auth, body kinds, redirects), `uses`,
//! `form_from` and `retry`.

use std::time::Duration;

use super::{
    AUTH_KEYS, AWS_SIGV4_KEYS, BASIC_KEYS, DIGEST_KEYS, FORM_FROM_KEYS, Loader, METHODS,
    ON_FAILURE, REQUEST_KEYS, RETRY_KEYS, SCRIPT_KEYS, STEP_KEYS, span_of_text,
};
use crate::delimiters::{has_template, whole_expression};
use crate::diagnostic::did_you_mean;
use crate::format::model::{
    Action, Auth, AwsSigV4, Body, FormFrom, Next, OnFailure, Request, Retry, Script, Scripts, Step,
    StepId, TemplateKind, Text, Uses,
};
use crate::format::yaml::{Key, Node, NodeKind};
use crate::span::{Span, Spanned};

impl Loader {
    pub(super) fn step(&mut self, node: &Node) -> Option<Step> {
        self.step = None;
        let mut fields = self.fields(node, "step")?;
        let name = self
            .required(&mut fields, "name", "step", node.span)
            .and_then(|n| self.string(n, "name"));
        self.step.clone_from(&name);
        let condition = fields.get("if").and_then(|n| self.expression(n, "if"));
        let delay = fields.get("delay").and_then(|n| self.duration(n, "delay"));
        let for_each = fields
            .get("for_each")
            .and_then(|n| self.expression(n, "for_each"));
        let each_as = match fields.get("as") {
            Some(n) => {
                if for_each.is_none()
                    && let Some(key) = fields.key("as")
                {
                    self.error("`as` only goes with `for_each`", key.span, "not used here");
                }
                if let NodeKind::Str(text) = &n.kind {
                    let key = Key {
                        name: text.clone(),
                        span: span_of_text(n.span, text),
                    };
                    self.check_identifier(&key, "loop variable");
                    Spanned::new(text.to_string(), key.span)
                } else {
                    self.expected("as", "a variable name", n);
                    Spanned::new("item".to_owned(), n.span)
                }
            }
            None => Spanned::new("item".to_owned(), node.span),
        };
        let operation = fields
            .get("operation")
            .and_then(|n| self.string(n, "operation"));
        let action = match (fields.get("request"), fields.get("uses")) {
            (_, Some(_)) if operation.is_some() => {
                let span = fields.key("operation").map_or(node.span, |k| k.span);
                self.error(
                    "a step that `uses` a workflow calls no operation",
                    span,
                    "not used here",
                )
                .help = Some("name the operation in a step of the used workflow".into());
                None
            }
            (Some(request), None) => {
                if let Some(key) = fields.key("with") {
                    fields.get("with");
                    self.error("`with` only goes with `uses`", key.span, "not used here");
                }
                self.request(request, operation.is_some())
                    .map(|r| Action::Request(Box::new(r)))
            }
            // The operation gives the method and the URL.
            (None, None) if operation.is_some() => {
                let span = operation.as_ref().map_or(node.span, |o| o.span);
                Some(Action::Request(Box::new(Request::for_operation(span))))
            }
            (None, Some(uses)) => self.uses(uses, fields.get("with")).map(Action::Uses),
            (Some(_), Some(_)) => {
                let span = fields.key("uses").map_or(node.span, |k| k.span);
                self.error(
                    "a step either sends a `request` or `uses` a workflow, not both",
                    span,
                    "second action",
                )
                .help = Some("split it into two steps".into());
                None
            }
            (None, None) => {
                self.error(
                    "`step` needs `request`, `operation` or `uses`",
                    node.span,
                    "no `request` here",
                );
                None
            }
        };
        let expect = fields
            .get("expect")
            .map(|n| self.expect(n))
            .unwrap_or_default();
        let extract = fields
            .get("extract")
            .map(|n| self.extracts(n))
            .unwrap_or_default();
        let retry = fields.get("retry").and_then(|n| self.retry(n));
        let save = fields.get("save").and_then(|n| self.file_path(n, "save"));
        if save.is_some()
            && fields.key("uses").is_some()
            && let Some(key) = fields.key("save")
        {
            self.error("`save` only goes with `request`", key.span, "not used here")
                .help =
                Some("save the response in the step of the used workflow that gets it".into());
        }
        let on_failure = fields
            .get("on_failure")
            .and_then(|n| self.on_failure(n, "on_failure"));
        let next = fields.get("next").and_then(|n| self.next(n));
        let script = fields
            .get("script")
            .map(|n| self.scripts(n))
            .unwrap_or_default();
        if !script.is_empty()
            && fields.key("uses").is_some()
            && let Some(key) = fields.key("script")
        {
            self.error(
                "`script` only goes with `request`",
                key.span,
                "not used here",
            )
            .help = Some("put the script in the steps of the used workflow".into());
        }
        self.finish(&fields, STEP_KEYS, "step");
        let id = StepId(self.steps);
        self.steps += 1;
        Some(Step {
            id,
            name: name?,
            condition,
            delay,
            for_each,
            each_as,
            action: action?,
            operation,
            expect,
            extract,
            retry,
            save,
            on_failure,
            next,
            script,
        })
    }

    /// Reads `on_failure:` (`continue` or `stop`).
    pub(super) fn on_failure(&mut self, node: &Node, what: &str) -> Option<Spanned<OnFailure>> {
        let NodeKind::Str(text) = &node.kind else {
            self.expected(what, "`continue` or `stop`", node);
            return None;
        };
        let value = match text.as_ref() {
            "continue" => OnFailure::Continue,
            "stop" => OnFailure::Stop,
            other => {
                let help = did_you_mean(other, ON_FAILURE.iter().copied())
                    .unwrap_or_else(|| "use `continue` or `stop`".into());
                self.error(
                    format!("invalid `{what}`: expected `continue` or `stop`"),
                    node.span,
                    format!("found `{other}`"),
                )
                .help = Some(help);
                return None;
            }
        };
        Some(Spanned::new(value, node.span))
    }

    /// Reads `next:`: a step name, a template, or `null` / `""` to end the run.
    fn next(&mut self, node: &Node) -> Option<Next> {
        match &node.kind {
            NodeKind::Null => Some(Next::End(node.span)),
            NodeKind::Str(text) if text.trim().is_empty() => Some(Next::End(node.span)),
            // A lone `{{ … }}` keeps its value, so `none` ends the run as `null` does.
            NodeKind::Str(text) if has_template(text) => {
                let kind = if whole_expression(text.trim()).is_some() {
                    TemplateKind::Whole
                } else {
                    TemplateKind::Text
                };
                Some(Next::Template(self.template(text, node.span, kind)))
            }
            NodeKind::Str(text) => Some(Next::Step(Spanned::new(
                text.to_string(),
                span_of_text(node.span, text),
            ))),
            _ => {
                self.expected("next", "the name of a step, or `null` to end the run", node);
                None
            }
        }
    }

    /// Loads `script: { before, after }`.
    fn scripts(&mut self, node: &Node) -> Scripts {
        let Some(mut fields) = self.fields(node, "script") else {
            return Scripts::default();
        };
        let before = fields.get("before").and_then(|n| self.script(n, "before"));
        let after = fields.get("after").and_then(|n| self.script(n, "after"));
        self.finish(&fields, SCRIPT_KEYS, "script");
        Scripts { before, after }
    }

    fn script(&mut self, node: &Node, what: &str) -> Option<Script> {
        let NodeKind::Str(code) = &node.kind else {
            self.expected(&format!("script.{what}"), "JavaScript as a string", node);
            return None;
        };
        let sets = apiflow_script::literal_sets(code)
            .into_iter()
            .map(|set| set.name)
            .collect();
        Some(Script {
            code: code.to_string(),
            span: node.span,
            start: self.script_start(node.span, code),
            sets,
        })
    }

    /// Finds where a script's first line is in the file: after the quote of a one-line value,
    /// or where a literal block's (`|`) text starts. A folded block (`>`) or a quoted value
    /// over several lines does not keep the file's lines.
    fn script_start(&self, span: Span, code: &str) -> Option<(u32, u32)> {
        let line = self.source.line(span.line)?;
        let start = usize::try_from(span.column.checked_sub(1)?).ok()?;
        let first = line.chars().nth(start)?;
        if !code.contains('\n') {
            return match first {
                '"' | '\'' => Some((span.line, span.column + 1)),
                _ => Some((span.line, span.column)),
            };
        }
        // A block's position is that of its text; its indicator ends the line of the key.
        let indicator = (1..span.line)
            .rev()
            .filter_map(|n| self.source.line(n))
            .map(|text| text.split(" #").next().unwrap_or(text).trim_end())
            .find(|text| !text.is_empty())?;
        let indicator = indicator.rsplit(' ').next()?;
        indicator
            .starts_with('|')
            .then_some((span.line, span.column))
    }

    pub(super) fn request(&mut self, node: &Node, operation: bool) -> Option<Request> {
        let mut fields = self.fields(node, "request")?;
        let method_given = fields.key("method").is_some();
        let method = match fields.get("method") {
            Some(n) => self.method(n),
            None => Some(Spanned::new("GET".to_owned(), node.span)),
        };
        let form_from = fields.get("form_from").and_then(|n| self.form_from(n));
        // With `form_from`, the form's `action` is the URL unless one is given.
        // With `operation`, the URL is the operation's, and `url:` only a base for it.
        let url = if (operation || form_from.is_some()) && fields.key("url").is_none() {
            Some(Spanned::new(Text::Literal(String::new()), node.span))
        } else {
            self.required(&mut fields, "url", "request", node.span)
                .and_then(|n| Some(Spanned::new(self.text(n, "url")?, n.span)))
        };
        let query = fields
            .get("query")
            .map(|n| self.text_map(n, "query"))
            .unwrap_or_default();
        let headers = fields
            .get("headers")
            .map(|n| self.text_map(n, "headers"))
            .unwrap_or_default();
        let auth = fields.get("auth").and_then(|n| self.auth(n));
        let mut bodies = Vec::new();
        if let Some(n) = fields.get("json") {
            bodies.push((fields.key("json"), Body::Json(self.value(n))));
        }
        if let Some(n) = fields.get("form") {
            let form = self.text_map(n, "form");
            bodies.push((fields.key("form"), Body::Form(form)));
        }
        if let Some(n) = fields.get("body")
            && let Some(body) = self.body(n)
        {
            bodies.push((fields.key("body"), body));
        }
        if let Some(n) = fields.get("multipart")
            && let Some(body) = self.multipart(n)
        {
            bodies.push((fields.key("multipart"), body));
        }
        if bodies.len() > 1
            && let Some(key) = bodies[1].0
        {
            let first = bodies[0].0.map_or("", |k| k.name.as_ref()).to_owned();
            self.error(
                format!(
                    "a request has one body, but `{first}` and `{}` are both given",
                    key.name
                ),
                key.span,
                "second body",
            )
            .help = Some("keep one of `json`, `form`, `body` and `multipart`".into());
        }
        let follow_redirects = fields
            .get("follow_redirects")
            .and_then(|n| self.bool(n, "follow_redirects"));
        let max_redirects = fields
            .get("max_redirects")
            .and_then(|n| self.count(n, "max_redirects", 0, 100));
        let timeout = fields
            .get("timeout")
            .and_then(|n| self.duration(n, "timeout"));
        let stop_at = fields.get("stop_at").and_then(|n| self.text(n, "stop_at"));
        let tls = fields.get("tls").and_then(|n| self.tls(n, "tls"));
        let http_version = fields
            .get("http_version")
            .and_then(|n| self.http_version(n));
        if form_from.is_some()
            && !bodies.is_empty()
            && let Some(key) = fields.key("form_from")
        {
            self.error(
                "`form_from` builds the body, so `json`, `form` and `body` cannot be given too",
                key.span,
                "here",
            );
        }
        let path_params = fields
            .get("path_params")
            .map(|n| self.text_map(n, "path_params"))
            .unwrap_or_default();
        if !operation && let Some(key) = fields.key("path_params") {
            self.error(
                "`path_params` only goes with a step's `operation`",
                key.span,
                "not used here",
            )
            .help = Some("write the values into `url:`, or name the step's `operation:`".into());
        }
        self.finish(&fields, REQUEST_KEYS, "request");
        Some(Request {
            method: method?,
            url: url?,
            query,
            headers,
            auth,
            body: bodies.into_iter().next().map(|(_, body)| body),
            follow_redirects,
            max_redirects,
            stop_at,
            form_from,
            timeout,
            tls,
            http_version,
            path_params,
            method_given,
        })
    }

    pub(super) fn uses(&mut self, node: &Node, with: Option<&Node>) -> Option<Uses> {
        let path = self.string(node, "uses")?;
        let is_yaml = std::path::Path::new(&path.value)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
        if !is_yaml {
            self.error(
                format!("`uses: {}` does not name a workflow file", path.value),
                path.span,
                "not a .yaml file",
            )
            .help = Some("give the path of a `.yaml` workflow, relative to this file".into());
        }
        let with = match with {
            None => Vec::new(),
            Some(Node {
                kind: NodeKind::Map(entries),
                ..
            }) => entries
                .iter()
                .map(|(key, value)| (key.to_spanned(), self.value(value)))
                .collect(),
            Some(other) => {
                self.expected("with", "a mapping of input names to values", other);
                Vec::new()
            }
        };
        Some(Uses { path, with })
    }

    pub(super) fn form_from(&mut self, node: &Node) -> Option<FormFrom> {
        let mut fields = self.fields(node, "form_from")?;
        let step = self
            .required(&mut fields, "step", "form_from", node.span)
            .and_then(|n| self.string(n, "step"));
        let selector = match fields.get("selector") {
            Some(n) => self.string(n, "selector"),
            None => Some(Spanned::new("form".to_owned(), node.span)),
        };
        // Field names may be templates: login forms name their fields differently.
        let form_fields = fields
            .get("fields")
            .map(|n| {
                self.text_map(n, "fields")
                    .into_iter()
                    .map(|(name, value)| {
                        let text = self.text_of(&name.value, name.span);
                        (Spanned::new(text, name.span), value)
                    })
                    .collect()
            })
            .unwrap_or_default();
        self.finish(&fields, FORM_FROM_KEYS, "form_from");
        Some(FormFrom {
            step: step?,
            selector: selector?,
            fields: form_fields,
        })
    }

    pub(super) fn method(&mut self, node: &Node) -> Option<Spanned<String>> {
        let text = self.string(node, "method")?;
        let upper = text.value.to_ascii_uppercase();
        if METHODS.contains(&upper.as_str()) {
            return Some(Spanned::new(upper, text.span));
        }
        let valid_token = !upper.is_empty()
            && upper
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c));
        if valid_token && did_you_mean(&upper, METHODS.iter().copied()).is_none() {
            // Extension methods (PROPFIND, …) are allowed.
            return Some(Spanned::new(upper, text.span));
        }
        let help = did_you_mean(&upper, METHODS.iter().copied())
            .unwrap_or_else(|| "use GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS".into());
        self.error(
            format!("invalid HTTP method `{}`", text.value),
            text.span,
            "not a method",
        )
        .help = Some(help);
        None
    }

    pub(super) fn count(&mut self, node: &Node, what: &str, min: i64, max: i64) -> Option<u32> {
        match node.kind {
            NodeKind::Int(n) if (min..=max).contains(&n) => u32::try_from(n).ok(),
            _ => {
                self.expected(what, &format!("a whole number from {min} to {max}"), node);
                None
            }
        }
    }

    pub(super) fn auth(&mut self, node: &Node) -> Option<Auth> {
        let mut fields = self.fields(node, "auth")?;
        // The methods in the order written: the first is used, and a mistake inside the second
        // one shows too.
        let written: Vec<&Key<'_>> = fields
            .entries
            .iter()
            .map(|(key, _)| key)
            .filter(|key| AUTH_KEYS.contains(&key.name.as_ref()))
            .collect();
        let mut auth = None;
        for key in &written {
            if let Some(inner) = fields.get(&key.name) {
                let method = self.auth_method(&key.name, inner);
                auth = auth.or(method);
            }
        }
        match written[..] {
            [] => {
                self.error(
                    "`auth` needs one of `basic`, `bearer`, `digest` or `aws_sigv4`",
                    node.span,
                    "no method here",
                );
            }
            [_] => {}
            [first, second, ..] => {
                self.error(
                    format!(
                        "`auth` takes one method, not both `{}` and `{}`",
                        first.name, second.name
                    ),
                    second.span,
                    "second method",
                );
            }
        }
        self.finish(&fields, AUTH_KEYS, "auth");
        auth
    }

    fn auth_method(&mut self, kind: &str, node: &Node) -> Option<Auth> {
        match kind {
            "bearer" => self.text(node, "bearer").map(Auth::Bearer),
            "basic" | "digest" => {
                let what = if kind == "basic" {
                    "auth.basic"
                } else {
                    "auth.digest"
                };
                let mut inner = self.fields(node, what)?;
                let username = self
                    .required(&mut inner, "username", what, node.span)
                    .and_then(|n| self.text(n, "username"));
                let password = self
                    .required(&mut inner, "password", what, node.span)
                    .and_then(|n| self.text(n, "password"));
                let keys = if kind == "basic" {
                    BASIC_KEYS
                } else {
                    DIGEST_KEYS
                };
                self.finish(&inner, keys, what);
                let (username, password) = (username?, password?);
                Some(if kind == "basic" {
                    Auth::Basic { username, password }
                } else {
                    Auth::Digest { username, password }
                })
            }
            _ => self.aws_sigv4(node),
        }
    }

    fn aws_sigv4(&mut self, node: &Node) -> Option<Auth> {
        const WHAT: &str = "auth.aws_sigv4";
        let mut inner = self.fields(node, WHAT)?;
        let mut required = |loader: &mut Self, key: &str| {
            loader
                .required(&mut inner, key, WHAT, node.span)
                .and_then(|n| loader.text(n, key))
        };
        let access_key = required(self, "access_key");
        let secret_key = required(self, "secret_key");
        let region = required(self, "region");
        let service = required(self, "service");
        let session_token = inner
            .get("session_token")
            .map(|n| self.text(n, "session_token"));
        for key in ["region", "service"] {
            if let Some(node) = inner.get(key) {
                self.scope_part(node, key);
            }
        }
        self.finish(&inner, AWS_SIGV4_KEYS, WHAT);
        Some(Auth::AwsSigV4(AwsSigV4 {
            access_key: access_key?,
            secret_key: secret_key?,
            session_token: session_token.map_or(Some(None), |t| t.map(Some))?,
            region: region?,
            service: service?,
        }))
    }

    /// Checks a region or service written without a template: it becomes a part of the
    /// credential scope (`date/region/service/aws4_request`), so it cannot be empty nor hold
    /// `/` or white space.
    fn scope_part(&mut self, node: &Node, key: &str) {
        let Some(text) = node.scalar_text() else {
            return;
        };
        if crate::delimiters::has_template(&text) {
            return;
        }
        let example = if key == "region" {
            "`us-east-1`"
        } else {
            "`execute-api` or `s3`"
        };
        if text.is_empty() || text.contains(|c: char| c == '/' || c.is_whitespace()) {
            self.error(
                format!("invalid `{key}`: expected a name such as {example}"),
                node.span,
                if text.is_empty() {
                    "empty".to_owned()
                } else {
                    format!("found `{text}`")
                },
            )
            .help = Some(format!(
                "the {key} is a part of the credential scope `date/region/service/aws4_request`"
            ));
        }
    }

    pub(super) fn retry(&mut self, node: &Node) -> Option<Retry> {
        let mut fields = self.fields(node, "retry")?;
        let attempts = self
            .required(&mut fields, "attempts", "retry", node.span)
            .and_then(|n| self.count(n, "attempts", 1, 1000));
        let delay = fields.get("delay").and_then(|n| self.duration(n, "delay"));
        let backoff = match fields.get("backoff") {
            Some(n) => match n.kind {
                #[allow(clippy::cast_precision_loss)]
                NodeKind::Int(i) if (1..=10).contains(&i) => Some(i as f64),
                NodeKind::Float(f) if (1.0..=10.0).contains(&f) => Some(f),
                _ => {
                    self.expected("backoff", "a factor from 1.0 to 10.0", n);
                    None
                }
            },
            None => Some(1.0),
        };
        let until = fields
            .get("until")
            .and_then(|n| self.expression(n, "until"));
        self.finish(&fields, RETRY_KEYS, "retry");
        Some(Retry {
            attempts: attempts?,
            delay: delay.unwrap_or(Duration::from_millis(500)),
            backoff: backoff?,
            until,
        })
    }
}
