//! Postman requests to apiflow workflows: steps, inputs and defaults as a YAML tree, with a
//! comment (and a warning) for everything that could not be translated.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use apiflow::check::confine::{normalize, normalize_relative};
use apiflow::diagnostic::Diagnostic;

use super::postman::{Auth, Body, Collection, FormValue, Request, Variable, has_code};
use super::script::{self, JsValue, Source, Status, Translation};
use super::vars::{self, Found, Names};
use super::yaml_out::{self, Item, Map, Yaml};

/// Description lines of a request kept as a comment, at most.
const DESCRIPTION_LINES: usize = 6;

/// Where the files a collection sends are, and where the workflows go.
#[derive(Debug, Clone, Default)]
pub struct FilePaths {
    /// Newman's `--working-dir`: the folder relative `src` paths are relative to. Without it,
    /// relative paths are written as they are, so they are relative to the workflow's file.
    pub working_dir: Option<PathBuf>,
    /// The folder the workflows are written to; the paths written are relative to it.
    pub out_dir: PathBuf,
}

/// One workflow to write.
#[derive(Debug)]
pub struct Workflow {
    /// File name without `.yaml`, unique among the workflows of one import.
    pub stem: String,
    /// The YAML text.
    pub text: String,
    /// How many requests became steps.
    pub steps: usize,
    /// What became of the assertions of the test scripts of its requests.
    pub assertions: Assertions,
    /// The Postman variables whose input has another name: (Postman name, input name).
    pub renamed: Vec<(String, String)>,
}

/// How many test assertions a collection's scripts make for its requests, and how the workflows
/// keep them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Assertions {
    /// Each `pm.test(…)` and `tests[…] = …` of the test scripts that run after a request (its own,
    /// its folders' and the collection's), counted once per request.
    pub total: usize,
    /// Translated into `expect`.
    pub declarative: usize,
    /// Kept in a step's `script:`, run as Postman runs it.
    pub script: usize,
    /// Neither: kept as a comment only.
    pub dropped: usize,
}

impl std::ops::AddAssign for Assertions {
    fn add_assign(&mut self, other: Assertions) {
        self.total += other.total;
        self.declarative += other.declarative;
        self.script += other.script;
        self.dropped += other.dropped;
    }
}

/// Everything known before converting: the collection, its variables and the name mapping.
struct Context<'a> {
    collection: &'a Collection,
    file_name: &'a str,
    files: &'a FilePaths,
    names: Names,
    definitions: Vec<Variable>,
    translations: Vec<Translation>,
    /// Variables some script sets or reads by a literal name.
    script_names: HashSet<String>,
}

/// A request converted to a step, before its name is made unique.
struct Built {
    name: String,
    folders: Vec<String>,
    comments: Vec<String>,
    body: Map,
    request_uses: Vec<String>,
    response_uses: Vec<String>,
    captures: Vec<String>,
    /// Variables its `script.before` sets, there for its own request.
    sets_before: Vec<String>,
    follows: bool,
    assertions: Assertions,
}

/// Converts a collection into one workflow, or one per top-level folder when `split` is set.
pub fn workflows(
    collection: &Collection,
    environment: &[Variable],
    file_name: &str,
    files: &FilePaths,
    split: bool,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Vec<Workflow>, Diagnostic> {
    for path in &collection.empty_items {
        warnings.push(Diagnostic::warning(format!(
            "`{path}` is neither a request nor a folder; it is skipped"
        )));
    }
    let translations: Vec<Translation> = collection
        .requests
        .iter()
        .map(|r| script::translate(&effective_script(collection, r, "test")))
        .collect();
    let definitions = merge_definitions(&collection.variables, environment);
    let mut script_names: HashSet<String> = HashSet::new();
    let mut known = all_names(collection, &definitions, &translations);
    for (request, translation) in collection.requests.iter().zip(&translations) {
        let mut scripts = effective_script(collection, request, "prerequest");
        if !translation.is_complete() {
            scripts.extend(effective_script(collection, request, "test"));
        }
        for name in script::assigned(&scripts)
            .into_iter()
            .chain(script::reads(&scripts))
        {
            if !known.contains(&name) {
                known.push(name.clone());
            }
            script_names.insert(name);
        }
    }
    let names = Names::new(known.iter().map(String::as_str));
    let context = Context {
        collection,
        file_name,
        files,
        names,
        definitions,
        translations,
        script_names,
    };
    let mut built = Vec::with_capacity(collection.requests.len());
    for (index, request) in collection.requests.iter().enumerate() {
        built.push(context.step(request, &context.translations[index], warnings)?);
    }
    let mut groups: Vec<(Option<String>, Vec<Built>)> = Vec::new();
    for step in built {
        let key = if split {
            step.folders.first().cloned()
        } else {
            None
        };
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, steps)) => steps.push(step),
            None => groups.push((key, vec![step])),
        }
    }
    let mut stems: HashSet<String> = HashSet::new();
    let mut out = Vec::with_capacity(groups.len());
    for (folder, steps) in groups {
        let base = slug(folder.as_deref().unwrap_or(&collection.name));
        let mut stem = base.clone();
        let mut n = 2;
        while !stems.insert(stem.clone()) {
            stem = format!("{base}-{n}");
            n += 1;
        }
        let count = steps.len();
        let mut assertions = Assertions::default();
        for step in &steps {
            assertions += step.assertions;
        }
        let (text, required) = context.document(folder.as_deref(), steps);
        if !required.is_empty() {
            let list = required
                .iter()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>()
                .join(", ");
            warnings.push(
                Diagnostic::warning(format!(
                    "workflow `{}`: {list} {} used but not defined in the collection or the environment",
                    workflow_name(&collection.name, folder.as_deref()),
                    if required.len() == 1 { "is" } else { "are" }
                ))
                .help("they are required inputs: pass them with `--var NAME=VALUE` or `--env-file`"),
            );
        }
        out.push(Workflow {
            stem,
            text,
            steps: count,
            assertions,
            renamed: context
                .names
                .renamed()
                .into_iter()
                .map(|(postman, input)| (postman.to_owned(), input.to_owned()))
                .collect(),
        });
    }
    Ok(out)
}

/// The script of one kind (`test` or `prerequest`) that runs for a request, in Postman's order:
/// the collection's, each folder's from the outermost, then the request's own.
fn effective_script(collection: &Collection, request: &Request, listen: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for shared in &collection.shared_scripts {
        if shared.listen == listen && request.folders.starts_with(&shared.folders) {
            lines.extend(shared.lines.iter().cloned());
        }
    }
    let own = if listen == "test" {
        &request.test
    } else {
        &request.prerequest
    };
    lines.extend(own.iter().cloned());
    lines
}

/// A request's folders and name: `Users / Create user`.
fn request_path(request: &Request) -> String {
    request
        .folders
        .iter()
        .chain(std::iter::once(&request.name))
        .cloned()
        .collect::<Vec<_>>()
        .join(" / ")
}

fn workflow_name(collection: &str, folder: Option<&str>) -> String {
    match folder {
        Some(folder) => format!("{collection} / {folder}"),
        None => collection.to_owned(),
    }
}

fn script_kind(listen: &str) -> &'static str {
    if listen == "prerequest" {
        "pre-request"
    } else {
        "test"
    }
}

/// Environment values override collection values of the same name.
fn merge_definitions(collection: &[Variable], environment: &[Variable]) -> Vec<Variable> {
    let mut out: Vec<Variable> = Vec::new();
    for variable in collection.iter().chain(environment) {
        if let Some(existing) = out.iter_mut().find(|v| v.name == variable.name) {
            existing.value.clone_from(&variable.value);
            existing.secret = variable.secret;
            if variable.description.is_some() {
                existing.description.clone_from(&variable.description);
            }
        } else {
            out.push(variable.clone());
        }
    }
    out
}

/// Lists every Postman variable name, definitions first, then in order of use.
fn all_names(
    collection: &Collection,
    definitions: &[Variable],
    translations: &[Translation],
) -> Vec<String> {
    let mut out: Vec<String> = definitions.iter().map(|v| v.name.clone()).collect();
    let mut push = |name: &str| {
        if !out.iter().any(|n| n == name) {
            out.push(name.to_owned());
        }
    };
    for definition in definitions {
        for r in vars::references(definition.value.as_deref().unwrap_or("")) {
            push(&r.name);
        }
    }
    for (request, translation) in collection.requests.iter().zip(translations) {
        for text in request_texts(request) {
            for r in vars::references(text) {
                push(&r.name);
            }
        }
        for (name, _) in &translation.captures {
            push(name);
        }
        for name in translation.variables() {
            push(&name);
        }
    }
    out
}

/// Every text of a request that may hold `{{variable}}` references.
fn request_texts(request: &Request) -> Vec<&str> {
    let mut out = vec![request.url.as_str()];
    for (k, v) in &request.query {
        out.push(k);
        out.extend(v.as_deref());
    }
    for (_, v) in &request.headers {
        out.push(v);
    }
    match &request.auth {
        Auth::Bearer(token) => out.push(token),
        Auth::Basic { username, password } | Auth::Digest { username, password } => {
            out.push(username);
            out.push(password);
        }
        Auth::AwsSigV4(aws) => {
            out.extend(
                [&aws.access_key, &aws.secret_key, &aws.region, &aws.service].map(String::as_str),
            );
            out.extend(aws.session_token.as_deref());
        }
        Auth::ApiKey { value, .. } => out.push(value),
        Auth::None | Auth::Unsupported(_) => {}
    }
    if let Some(certificate) = &request.certificate {
        out.extend(certificate.passphrase.as_deref());
    }
    if let Some((user, password)) = &request.url_credentials {
        out.push(user);
        out.push(password);
    }
    match &request.body {
        Some(Body::Raw { text, .. }) => out.push(text),
        Some(Body::UrlEncoded(fields)) => {
            out.extend(fields.iter().flat_map(|(k, v)| [k.as_str(), v.as_str()]));
        }
        Some(Body::FormData(fields)) => {
            out.extend(fields.iter().filter_map(|f| match &f.value {
                FormValue::Text(text) => Some(text.as_str()),
                FormValue::Files(_) => None,
            }));
        }
        Some(Body::GraphQl { query, variables }) => {
            out.push(query);
            out.push(variables);
        }
        Some(Body::File(_)) | None => {}
    }
    out
}

/// `path` written relative to the folder `from` (both made absolute first), with `/`.
fn relative_path(path: &Path, from: &Path) -> String {
    let absolute = |p: &Path| normalize(&std::path::absolute(p).unwrap_or_else(|_| p.to_owned()));
    let (path, from) = (absolute(path), absolute(from));
    let mut target = path.components().peekable();
    let mut base = from.components().peekable();
    while let (Some(a), Some(b)) = (target.peek(), base.peek()) {
        if a != b {
            break;
        }
        target.next();
        base.next();
    }
    let mut parts: Vec<String> = base.map(|_| "..".to_owned()).collect();
    parts.extend(target.map(|c| c.as_os_str().to_string_lossy().into_owned()));
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

/// Turns any name into a file name: lower-case letters, digits and `-`.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-');
    if out.is_empty() {
        "workflow".to_owned()
    } else {
        out.to_owned()
    }
}

fn header_index(headers: &[(String, Yaml)], name: &str) -> Option<usize> {
    headers
        .iter()
        .position(|(k, _)| k.eq_ignore_ascii_case(name))
}

/// Decodes `%XX` and `+` in a query component written in a URL; `None` when not UTF-8.
fn decode_component(text: &str) -> Option<String> {
    let spaced = text.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(std::borrow::Cow::into_owned)
}

/// The query as a mapping of decoded names to decoded values, when it can be one: no repeated
/// name, no parameter without `=`, no variable in a name, nothing that is not UTF-8 once decoded.
fn query_mapping(query: &[(String, Option<String>)]) -> Option<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(query.len());
    for (key, value) in query {
        if vars::has_reference(key) {
            return None;
        }
        let key = decode_component(key)?;
        let value = decode_component(value.as_deref()?)?;
        if out.iter().any(|(k, _)| *k == key) {
            return None;
        }
        out.push((key, value));
    }
    Some(out)
}

/// Tells whether JSON text has a number with more digits than a double keeps exactly.
fn has_long_number(text: &str) -> bool {
    let mut in_string = false;
    let mut escaped = false;
    let mut digits = 0;
    for c in text.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        if c.is_ascii_digit() {
            digits += 1;
            if digits > 15 {
                return true;
            }
        } else if c != '.' {
            digits = 0;
            in_string = c == '"';
        }
    }
    false
}

impl Context<'_> {
    fn template(&self, text: &str, found: &mut Found) -> String {
        vars::template(text, &self.names, found)
    }

    fn js_value(&self, value: &JsValue, found: &mut Found) -> Yaml {
        match value {
            JsValue::Str(s) => Yaml::Str(vars::escape_literal(s, false)),
            JsValue::Number(n) => Yaml::Number(n.clone()),
            JsValue::Bool(b) => Yaml::Bool(*b),
            JsValue::Null => Yaml::Null,
            JsValue::Variable(name) => Yaml::Str(format!(
                "{{{{ {} }}}}",
                vars::expression(name, &self.names, found)
            )),
        }
    }

    fn definition(&self, name: &str) -> Option<&Variable> {
        self.definitions.iter().find(|v| v.name == name)
    }

    /// Converts one request.
    fn step(
        &self,
        request: &Request,
        translation: &Translation,
        warnings: &mut Vec<Diagnostic>,
    ) -> Result<Built, Diagnostic> {
        let path = request_path(request);
        let mut warn = |message: String| {
            warnings.push(Diagnostic::warning(format!("request `{path}`: {message}")));
        };
        let mut comments = Vec::new();
        if let Some(description) = &request.description {
            let lines: Vec<&str> = description.lines().collect();
            comments.extend(
                lines
                    .iter()
                    .take(DESCRIPTION_LINES)
                    .map(|l| (*l).to_owned()),
            );
            if lines.len() > DESCRIPTION_LINES {
                comments.push("(…)".to_owned());
            }
        }
        let mut uses = Found::default();
        let mut req = Map::block();
        let mut req_comments: Vec<String> = Vec::new();

        if request.method != "GET" {
            req.push("method", Yaml::str(&request.method));
        }
        let mut url = self.template(&request.url, &mut uses);
        if url.trim().is_empty() {
            return Err(Diagnostic::error(format!("request `{path}` has no URL"))
                .help("give it a URL in Postman, or delete it, and import again"));
        }
        let lower = url.to_ascii_lowercase();
        if !lower.starts_with("http://") && !lower.starts_with("https://") && !url.starts_with("{{")
        {
            // Postman sends a URL without a scheme over http.
            url.insert_str(0, "http://");
        }

        let mut query: Vec<(String, Yaml)> = Vec::new();
        if let Some(pairs) = query_mapping(&request.query) {
            for (key, value) in pairs {
                query.push((key, Yaml::Str(self.template(&value, &mut uses))));
            }
        } else {
            // Repeated or value-less parameters stay in the URL, as written.
            let raw: Vec<String> = request
                .query
                .iter()
                .map(|(k, v)| match v {
                    Some(v) => format!("{k}={v}"),
                    None => k.clone(),
                })
                .collect();
            url.push('?');
            url.push_str(&self.template(&raw.join("&"), &mut uses));
        }

        let mut headers: Vec<(String, Yaml)> = Vec::new();
        for (key, value) in &request.headers {
            let value = self.template(value, &mut uses);
            if let Some(i) = header_index(&headers, key) {
                // A header given twice is sent once with both values, as HTTP allows.
                if let Yaml::Str(existing) = &mut headers[i].1 {
                    existing.push_str(if key.eq_ignore_ascii_case("cookie") {
                        "; "
                    } else {
                        ", "
                    });
                    existing.push_str(&value);
                }
            } else {
                headers.push((key.clone(), Yaml::Str(value)));
            }
        }

        let mut auth = None;
        if let Some((user, password)) = &request.url_credentials {
            if request.auth == Auth::None {
                // Newman sends the URL's credentials as Basic auth; the password stays secret.
                let mut basic = Map::flow();
                basic.push("username", Yaml::Str(self.template(user, &mut uses)));
                basic.push("password", Yaml::Str(self.template(password, &mut uses)));
                let mut map = Map::flow();
                map.push("basic", Yaml::Map(basic));
                auth = Some(map);
            } else {
                req_comments.push(
                    "The URL's `user:password@` is not sent: the request's own auth is.".to_owned(),
                );
                warn(
                    "its URL has a `user:password@` and the request has its own auth; the auth is sent"
                        .to_owned(),
                );
            }
        }
        match &request.auth {
            Auth::None => {}
            Auth::Bearer(token) => {
                let mut map = Map::flow();
                map.push("bearer", Yaml::Str(self.template(token, &mut uses)));
                auth = Some(map);
            }
            Auth::Basic { username, password } => {
                let mut basic = Map::flow();
                basic.push("username", Yaml::Str(self.template(username, &mut uses)));
                basic.push("password", Yaml::Str(self.template(password, &mut uses)));
                let mut map = Map::flow();
                map.push("basic", Yaml::Map(basic));
                auth = Some(map);
            }
            Auth::ApiKey {
                key,
                value,
                in_query,
            } => {
                let value = Yaml::Str(self.template(value, &mut uses));
                if *in_query {
                    query.push((key.clone(), value));
                } else if header_index(&headers, key).is_none() {
                    headers.push((key.clone(), value));
                }
            }
            Auth::Digest { username, password } => {
                let mut digest = Map::flow();
                digest.push("username", Yaml::Str(self.template(username, &mut uses)));
                digest.push("password", Yaml::Str(self.template(password, &mut uses)));
                let mut map = Map::flow();
                map.push("digest", Yaml::Map(digest));
                auth = Some(map);
            }
            Auth::AwsSigV4(aws) => {
                let mut sigv4 = Map::block();
                sigv4.push(
                    "access_key",
                    Yaml::Str(self.template(&aws.access_key, &mut uses)),
                );
                sigv4.push(
                    "secret_key",
                    Yaml::Str(self.template(&aws.secret_key, &mut uses)),
                );
                if let Some(token) = &aws.session_token {
                    sigv4.push("session_token", Yaml::Str(self.template(token, &mut uses)));
                }
                sigv4.push("region", Yaml::Str(self.template(&aws.region, &mut uses)));
                sigv4.push("service", Yaml::Str(self.template(&aws.service, &mut uses)));
                let mut map = Map::block();
                map.push("aws_sigv4", Yaml::Map(sigv4));
                auth = Some(map);
                if aws.in_query {
                    req_comments.push(
                        "Postman signs in the query string here; apiflow signs in headers."
                            .to_owned(),
                    );
                    warn(
                        "its AWS signature goes in the query string in Postman; apiflow sends it \
                         in headers"
                            .to_owned(),
                    );
                }
            }
            Auth::Unsupported(kind) => {
                req_comments.push(format!(
                    "Postman `{kind}` auth is not translated: add `auth:` or a header here."
                ));
                warn(format!(
                    "its `{kind}` auth is not translated; add `auth:` or a header to the step"
                ));
            }
        }

        let mut outside = Vec::new();
        // Newman sends no body with these methods unless the request keeps it.
        let pruned = matches!(
            request.method.as_str(),
            "GET" | "HEAD" | "COPY" | "PURGE" | "UNLOCK"
        ) && !request.disable_body_pruning
            && request.body.is_some();
        let body = if pruned {
            req_comments.push(format!(
                "Postman sends no body with {}: the request's body is left out.",
                request.method
            ));
            warn(format!(
                "its body is not sent: Newman sends none with {} unless the request's settings keep it",
                request.method
            ));
            None
        } else {
            self.body(
                request,
                &mut headers,
                &mut uses,
                &mut req_comments,
                &mut warn,
                &mut outside,
            )
        };

        req.push("url", Yaml::Str(url));
        if !query.is_empty() {
            let mut map = Map::block();
            for (k, v) in query {
                map.push(k, v);
            }
            req.push("query", Yaml::Map(map));
        }
        if !headers.is_empty() {
            let mut map = Map::block();
            for (k, v) in headers {
                map.push(k, v);
            }
            req.push("headers", Yaml::Map(map));
        }
        if let Some(auth) = auth {
            req.push("auth", Yaml::Map(auth));
        }
        if let Some((key, value)) = body {
            req.push(key, value);
        }
        let follows = request.follow_redirects.unwrap_or(true);
        if follows {
            if let Some(max) = request.max_redirects {
                req.push("max_redirects", Yaml::Number(max.min(100).to_string()));
            }
        } else {
            req.push("follow_redirects", Yaml::Bool(false));
        }
        if request.strict_ssl == Some(false) {
            req_comments.push(
                "Postman skips TLS certificate checks here: run with `--insecure` if needed."
                    .to_owned(),
            );
            warn(
                "it turns off TLS certificate checks; run the workflow with `--insecure` if needed"
                    .to_owned(),
            );
        }
        if let Some(certificate) = &request.certificate {
            let mut tls = Map::flow();
            let mut file = |src: &str, what: &str| {
                self.file_path(src, what, &mut req_comments, &mut warn, &mut outside)
            };
            let cert = file(&certificate.cert, "client certificate");
            let key = file(&certificate.key, "client key");
            if let (Some(cert), Some(key)) = (cert, key) {
                tls.push("cert", Yaml::Str(cert));
                tls.push("key", Yaml::Str(key));
                if let Some(passphrase) = &certificate.passphrase {
                    tls.push(
                        "passphrase",
                        Yaml::Str(self.template(passphrase, &mut uses)),
                    );
                }
                req.push("tls", Yaml::Map(tls));
            }
        }
        if !outside.is_empty() {
            let list = outside
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ");
            req_comments.push(format!(
                "Reads {list}, outside the workflow's folder: run with `--file-root DIR`."
            ));
            warn(format!(
                "it reads {list}, outside the workflow's folder; run the workflow with \
                 `--file-root DIR` (a folder that holds {}), or move {} beside it",
                if outside.len() == 1 { "it" } else { "them" },
                if outside.len() == 1 { "it" } else { "them" },
            ));
        }
        if let Some(proxy) = &request.proxy {
            req_comments.push(format!(
                "Postman sends this request through the proxy `{proxy}`: run with `--proxy URL`."
            ));
            warn(format!(
                "it goes through the proxy `{proxy}` in Postman; run the workflow with \
                 `--proxy http://{proxy}`"
            ));
        }
        // A test script translated whole becomes `expect` and `extract`; any other runs as
        // written in `script.after`, and a pre-request script in `script.before`.
        let mut response_uses = Found::default();
        let mut broken = Vec::new();
        // A script that does not compile runs nowhere: Postman reports it and runs none of it.
        let mut compiles = |kind: &str, code: Option<String>, broken: &mut Vec<String>| {
            let code = code?;
            match apiflow_script::check_syntax(&code) {
                Ok(()) => Some(code),
                Err(error) => {
                    broken.push(format!(
                        "{} script, which does not compile:",
                        if kind == "test" {
                            "Test"
                        } else {
                            "Pre-request"
                        }
                    ));
                    broken.extend(code.lines().map(|l| format!("  {l}")));
                    warn(format!(
                        "its {kind} script does not compile ({}): Postman runs none of it; it is kept as a comment",
                        error.message
                    ));
                    None
                }
            }
        };
        let before = compiles(
            "pre-request",
            self.script_text(request, "prerequest"),
            &mut broken,
        );
        let test_text = self.script_text(request, "test");
        let test_compiles = test_text
            .as_deref()
            .is_none_or(|code| apiflow_script::check_syntax(code).is_ok());
        let after = if translation.is_complete() && test_compiles {
            None
        } else {
            compiles("test", test_text, &mut broken)
        };
        let declarative = after.is_none() && test_compiles;
        let mut sets_before = Vec::new();
        let mut captures = Vec::new();
        let mut scripts = Map::block();
        if let Some(code) = &before {
            let lines = effective_script(self.collection, request, "prerequest");
            sets_before = script::assigned(&lines);
            self.script_reads(&lines, &mut uses);
            scripts.push("before", Yaml::Str(code.clone()));
        }
        if let Some(code) = &after {
            let lines = effective_script(self.collection, request, "test");
            captures = script::assigned(&lines);
            self.script_reads(&lines, &mut response_uses);
            scripts.push("after", Yaml::Str(code.clone()));
        }
        let mut step = Map::block();
        step.push_commented(req_comments, "request", Yaml::Map(req));
        if declarative {
            let expect = self.expect(translation, &mut response_uses);
            if !expect.is_empty() {
                step.push("expect", Yaml::Map(expect));
            }
            let mut extract = Map::block();
            for (name, source) in &translation.captures {
                let id = self.names.get(name);
                let secret = self.definition(name).is_some_and(|d| d.secret);
                let value = self.capture(source, secret, &mut response_uses);
                extract.push(id, value);
                captures.push(name.clone());
            }
            if !extract.is_empty() {
                step.push("extract", Yaml::Map(extract));
            }
        }
        if !scripts.is_empty() {
            step.push("script", Yaml::Map(scripts));
        }
        step.trailing.extend(broken);
        let mut dynamic = uses.unknown_dynamic.clone();
        for name in &response_uses.unknown_dynamic {
            if !dynamic.contains(name) {
                dynamic.push(name.clone());
            }
        }
        if !dynamic.is_empty() {
            let list = dynamic
                .iter()
                .map(|d| format!("`{{{{{d}}}}}`"))
                .collect::<Vec<_>>()
                .join(", ");
            comments.push(format!(
                "{list}: no apiflow helper, replaced by `random_string(12)`."
            ));
            warn(format!(
                "{list} has no apiflow helper; it is replaced by `random_string(12)`"
            ));
        }
        let total = translation.assertions;
        let assertions = if !test_compiles {
            Assertions {
                total,
                dropped: total,
                ..Assertions::default()
            }
        } else if after.is_some() {
            Assertions {
                total,
                script: total,
                ..Assertions::default()
            }
        } else {
            Assertions {
                total,
                declarative: translation.translated,
                script: 0,
                dropped: total - translation.translated,
            }
        };
        Ok(Built {
            sets_before,
            assertions,
            name: request.name.clone(),
            folders: request.folders.clone(),
            comments,
            body: step,
            request_uses: uses.variables,
            response_uses: response_uses.variables,
            captures,
            follows,
        })
    }

    /// The script of one kind that runs for a request, as one script: the collection's, each
    /// folder's, then the request's own, each in a block of its own when there are several; the
    /// variables it names by a literal name are renamed as the templates name them.
    fn script_text(&self, request: &Request, listen: &str) -> Option<String> {
        let mut parts: Vec<(String, Vec<String>)> = Vec::new();
        for shared in &self.collection.shared_scripts {
            if shared.listen == listen && request.folders.starts_with(&shared.folders) {
                parts.push((shared.owner.clone(), shared.lines.clone()));
            }
        }
        let own = if listen == "test" {
            &request.test
        } else {
            &request.prerequest
        };
        parts.push(("request".to_owned(), own.clone()));
        parts.retain(|(_, lines)| has_code(lines));
        let dedented = |lines: &[String]| {
            let lines: Vec<&str> = lines.iter().flat_map(|l| l.split('\n')).collect();
            // A string spanning lines keeps its lines exactly as written.
            let mut out = if script::has_multiline_string(&lines.join("\n")) {
                lines.iter().map(|l| (*l).to_owned()).collect()
            } else {
                script::dedent(&lines)
            };
            while out.first().is_some_and(|l| l.trim().is_empty()) {
                out.remove(0);
            }
            while out.last().is_some_and(|l| l.trim().is_empty()) {
                out.pop();
            }
            out
        };
        let text = match parts.as_slice() {
            [] => return None,
            [(_, lines)] => dedented(lines).join("\n"),
            many => many
                .iter()
                .map(|(owner, lines)| {
                    let kind = script_kind(listen);
                    let mut block = vec![format!("// The {kind} script of the {owner}.")];
                    block.push("{".to_owned());
                    let exact = script::has_multiline_string(&lines.join("\n"));
                    block.extend(dedented(lines).into_iter().map(|l| {
                        if l.is_empty() || exact {
                            l
                        } else {
                            format!("  {l}")
                        }
                    }));
                    block.push("}".to_owned());
                    block.join("\n")
                })
                .collect::<Vec<_>>()
                .join("\n"),
        };
        Some(script::rename_variables(&text, |name| {
            let id = self.names.get(name);
            (id != name).then_some(id)
        }))
    }

    /// Counts the collection's variables a script reads by a literal name as uses, so that they
    /// are inputs.
    fn script_reads(&self, lines: &[String], uses: &mut Found) {
        for name in script::reads(lines) {
            if self.definition(&name).is_some() {
                let _ = vars::expression(&name, &self.names, uses);
            }
        }
    }

    /// Converts the body; may add a `Content-Type` header Postman would have sent.
    fn body(
        &self,
        request: &Request,
        headers: &mut Vec<(String, Yaml)>,
        uses: &mut Found,
        comments: &mut Vec<String>,
        warn: &mut impl FnMut(String),
        outside: &mut Vec<String>,
    ) -> Option<(&'static str, Yaml)> {
        let content_type =
            header_index(headers, "content-type").and_then(|i| match &headers[i].1 {
                Yaml::Str(s) => Some(s.to_ascii_lowercase()),
                _ => None,
            });
        let set_type = |headers: &mut Vec<(String, Yaml)>, value: &str| {
            if header_index(headers, "content-type").is_none() {
                headers.push(("Content-Type".to_owned(), Yaml::str(value)));
            }
        };
        match request.body.as_ref()? {
            Body::Raw { text, language } => {
                let language = language.as_deref().unwrap_or("");
                let json_like = language == "json"
                    || (language.is_empty()
                        && content_type.as_deref().is_some_and(|t| t.contains("json")));
                if json_like {
                    if let Some(value) = self.json_body(text, uses) {
                        return Some(("json", value));
                    }
                    set_type(headers, "application/json");
                } else {
                    let media = match language {
                        "javascript" => "application/javascript",
                        "html" => "text/html",
                        "xml" => "application/xml",
                        _ => "text/plain",
                    };
                    set_type(headers, media);
                }
                Some(("body", Yaml::Str(self.template(text, uses))))
            }
            Body::UrlEncoded(fields) => {
                let as_text = fields.iter().enumerate().any(|(i, (key, _))| {
                    vars::has_reference(key) || fields[..i].iter().any(|(k, _)| k == key)
                });
                if as_text {
                    // A name with a variable, or a name given twice: `form:` has neither, so the
                    // body is written as Postman sends it.
                    set_type(headers, "application/x-www-form-urlencoded");
                    return Some(("body", Yaml::Str(self.urlencoded(fields, uses))));
                }
                Some(("form", self.form(fields, uses, comments, warn)))
            }
            Body::FormData(fields) => {
                if let Some(i) = header_index(headers, "content-type")
                    && content_type
                        .as_deref()
                        .is_some_and(|t| t.starts_with("multipart/"))
                {
                    // apiflow sets it, with the boundary.
                    headers.remove(i);
                }
                self.multipart(fields, uses, comments, warn, outside)
            }
            Body::GraphQl { query, variables } => {
                let variables = if variables.trim().is_empty() {
                    "{}"
                } else {
                    variables.trim()
                };
                let text = format!(
                    "{{\"query\": {}, \"variables\": {variables}}}",
                    serde_json::Value::String(query.clone())
                );
                if let Some(value) = self.json_body(&text, uses) {
                    return Some(("json", value));
                }
                set_type(headers, "application/json");
                Some(("body", Yaml::Str(self.template(&text, uses))))
            }
            Body::File(src) => {
                let path = self.file_path(src, "body", comments, warn, outside)?;
                let mut map = Map::flow();
                map.push("file", Yaml::Str(path));
                Some(("body", Yaml::Map(map)))
            }
        }
    }

    /// Converts `form-data` fields to `multipart:` parts, in order: a mapping, or a list of
    /// one-entry mappings when a name repeats.
    fn multipart(
        &self,
        fields: &[crate::postman::FormField],
        uses: &mut Found,
        comments: &mut Vec<String>,
        warn: &mut impl FnMut(String),
        outside: &mut Vec<String>,
    ) -> Option<(&'static str, Yaml)> {
        let mut parts: Vec<(String, Yaml)> = Vec::new();
        for field in fields {
            // A part's name may hold variables, as in Postman.
            let key = self.template(&field.key, uses);
            match &field.value {
                FormValue::Text(text) => {
                    if let Some(media) = &field.content_type {
                        comments.push(format!(
                            "Postman gives text part `{}` the type `{media}`; apiflow sends none.",
                            field.key
                        ));
                        warn(format!(
                            "its text part `{}` has the content type `{media}`, which is not sent",
                            field.key
                        ));
                    }
                    parts.push((key.clone(), Yaml::Str(self.template(text, uses))));
                }
                FormValue::Files(paths) if paths.is_empty() => {
                    comments.push(format!(
                        "File part `{}` has no file chosen in Postman; it is not sent.",
                        field.key
                    ));
                    warn(format!(
                        "its file part `{}` has no file chosen in Postman, so it is not sent \
                         (as Newman does)",
                        field.key
                    ));
                }
                FormValue::Files(paths) => {
                    for src in paths {
                        let what = format!("part `{}`", field.key);
                        let Some(path) = self.file_path(src, &what, comments, warn, outside) else {
                            continue;
                        };
                        let mut part = Map::flow();
                        part.push("file", Yaml::Str(path));
                        if let Some(media) = &field.content_type {
                            part.push("content_type", Yaml::Str(self.template(media, uses)));
                        }
                        parts.push((key.clone(), Yaml::Map(part)));
                    }
                }
            }
        }
        if parts.is_empty() {
            return None;
        }
        let repeated = parts
            .iter()
            .enumerate()
            .any(|(i, (key, _))| parts[..i].iter().any(|(k, _)| k == key));
        if repeated {
            let list = parts.into_iter().map(|(key, value)| {
                let mut one = Map::flow();
                one.push(key, value);
                Yaml::Map(one)
            });
            Some(("multipart", Yaml::seq(list)))
        } else {
            let mut map = Map::block();
            for (key, value) in parts {
                map.push(key, value);
            }
            Some(("multipart", Yaml::Map(map)))
        }
    }

    /// The path to write for a file Postman sends (`src`), relative to the workflow's folder
    /// where `--working-dir` says where relative paths are; `None`, with a warning, when it
    /// cannot be written as a path apiflow reads.
    fn file_path(
        &self,
        src: &str,
        what: &str,
        comments: &mut Vec<String>,
        warn: &mut impl FnMut(String),
        outside: &mut Vec<String>,
    ) -> Option<String> {
        if src.trim().is_empty() {
            comments.push(format!(
                "The {what} has no file chosen in Postman; it is not sent."
            ));
            warn(format!(
                "its {what} has no file chosen in Postman, so it is not sent"
            ));
            return None;
        }
        if src.contains("{{") {
            comments.push(format!(
                "The {what} is the file `{src}`, named with a variable: write its path here."
            ));
            warn(format!(
                "its {what} is the file `{src}`, named with a variable; apiflow's file paths are \
                 written as they are, so it is not sent"
            ));
            return None;
        }
        let written = match &self.files.working_dir {
            Some(dir) if Path::new(src).is_relative() => {
                relative_path(&dir.join(src), &self.files.out_dir)
            }
            _ => src.replace('\\', "/"),
        };
        // Absolute, or climbing out of the workflow's folder.
        let is_outside = normalize_relative(Path::new(&written)).is_none();
        if is_outside && !outside.contains(&written) {
            outside.push(written.clone());
        }
        Some(written)
    }

    /// Writes url-encoded fields as a body template, each part encoded as `urlencode` encodes.
    fn urlencoded(&self, fields: &[(String, String)], uses: &mut Found) -> String {
        fields
            .iter()
            .map(|(key, value)| {
                format!(
                    "{}={}",
                    self.encoded_template(key, uses),
                    self.encoded_template(value, uses)
                )
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    /// Postman text as a template whose output is url-encoded: literal text encoded now,
    /// variables by `urlencode` when sent.
    fn encoded_template(&self, text: &str, uses: &mut Found) -> String {
        const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
            .remove(b'/')
            .remove(b'.')
            .remove(b'-')
            .remove(b'_');
        let mut out = String::new();
        let mut at = 0;
        for reference in vars::references(text) {
            let literal = &text[at..reference.range.start];
            out.push_str(&vars::escape_literal(
                &percent_encoding::utf8_percent_encode(literal, SET).to_string(),
                true,
            ));
            let expression = vars::expression(&reference.name, &self.names, uses);
            let _ = write!(out, "{{{{ ({expression}) | urlencode }}}}");
            at = reference.range.end;
        }
        out.push_str(&vars::escape_literal(
            &percent_encoding::utf8_percent_encode(&text[at..], SET).to_string(),
            false,
        ));
        out
    }

    fn form(
        &self,
        fields: &[(String, String)],
        uses: &mut Found,
        comments: &mut Vec<String>,
        warn: &mut impl FnMut(String),
    ) -> Yaml {
        let mut map = Map::block();
        for (key, value) in fields {
            let value = Yaml::Str(self.template(value, uses));
            if let Some(entry) = map.entries.iter_mut().find(|e| e.key == *key) {
                comments.push(format!(
                    "Form field `{key}` is given more than once; the last value is sent."
                ));
                warn(format!(
                    "its form field `{key}` is given more than once; only the last value is sent"
                ));
                entry.value = value;
            } else {
                map.push(key.clone(), value);
            }
        }
        Yaml::Map(map)
    }

    /// Converts a JSON body to YAML when every `{{variable}}` is inside a JSON string; `None`
    /// when the text must be sent as text (it is not JSON, or a variable stands for a value).
    fn json_body(&self, text: &str, uses: &mut Found) -> Option<Yaml> {
        let references = vars::references(text);
        if text.contains(['\u{e000}', '\u{e001}']) {
            return None;
        }
        let mut replaced = String::with_capacity(text.len());
        let mut at = 0;
        let mut in_string = false;
        let mut escaped = false;
        let mut scanned = 0;
        for (index, reference) in references.iter().enumerate() {
            for c in text[scanned..reference.range.start].chars() {
                if escaped {
                    escaped = false;
                } else if in_string && c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    in_string = !in_string;
                }
            }
            scanned = reference.range.end;
            let inner = &text[reference.range.clone()];
            if !in_string || escaped || inner.contains(['"', '\\']) {
                return None;
            }
            replaced.push_str(&text[at..reference.range.start]);
            let _ = write!(replaced, "\u{e000}{index}\u{e001}");
            at = reference.range.end;
        }
        replaced.push_str(&text[at..]);
        if has_long_number(&replaced) {
            return None;
        }
        let value: serde_json::Value = serde_json::from_str(&replaced).ok()?;
        let restore = |s: &str| -> String {
            let mut out = s.to_owned();
            for (index, reference) in references.iter().enumerate() {
                out = out.replace(
                    &format!("\u{e000}{index}\u{e001}"),
                    &text[reference.range.clone()],
                );
            }
            out
        };
        self.json_value(&value, &restore, uses)
    }

    /// Converts a JSON string of a body. A string that is one `{{variable}}` keeps its type in
    /// apiflow but is text in Postman, so values that may not be text get `| string`: captures
    /// (numbers, booleans, …) and the numeric dynamic variables.
    fn json_string(&self, text: &str, uses: &mut Found) -> String {
        let references = vars::references(text);
        if let [only] = references.as_slice()
            && only.range == (0..text.len())
        {
            let name = only.name.as_str();
            let numeric = matches!(name, "$timestamp" | "$randomInt");
            let captured = self.script_names.contains(name)
                || self
                    .translations
                    .iter()
                    .any(|t| t.captures.iter().any(|(n, _)| n == name));
            if numeric || captured {
                let expression = vars::expression(name, &self.names, uses);
                return if expression.contains(' ') {
                    format!("{{{{ ({expression}) | string }}}}")
                } else {
                    format!("{{{{ {expression} | string }}}}")
                };
            }
        }
        self.template(text, uses)
    }

    fn json_value(
        &self,
        value: &serde_json::Value,
        restore: &dyn Fn(&str) -> String,
        uses: &mut Found,
    ) -> Option<Yaml> {
        Some(match value {
            serde_json::Value::String(s) => Yaml::Str(self.json_string(&restore(s), uses)),
            serde_json::Value::Array(items) => {
                let items = items
                    .iter()
                    .map(|v| self.json_value(v, restore, uses))
                    .collect::<Option<Vec<_>>>()?;
                Yaml::seq(items)
            }
            serde_json::Value::Object(entries) => {
                let mut map = Map::block();
                for (key, value) in entries {
                    if key.contains(['\u{e000}', '\u{e001}']) {
                        return None;
                    }
                    map.push(key.clone(), self.json_value(value, restore, uses)?);
                }
                Yaml::Map(map)
            }
            other => Yaml::from_json(other),
        })
    }

    fn expect(&self, translation: &Translation, uses: &mut Found) -> Map {
        let mut expect = Map::block();
        match translation.status.as_slice() {
            [] => {}
            [one] => expect.push("status", status(one)),
            many => expect.push("status", Yaml::seq(many.iter().map(status))),
        }
        if !translation.json.is_empty() {
            let mut map = Map::block();
            for (path, value) in &translation.json {
                map.push(path.clone(), self.js_value(value, uses));
            }
            expect.push("json", Yaml::Map(map));
        }
        if !translation.headers.is_empty() {
            let mut map = Map::block();
            for (name, value) in &translation.headers {
                let value = match self.js_value(value, uses) {
                    Yaml::Str(s) => Yaml::Str(s),
                    Yaml::Number(n) => Yaml::Str(n),
                    Yaml::Bool(b) => Yaml::Str(b.to_string()),
                    _ => Yaml::str(""),
                };
                map.push(name.clone(), value);
            }
            expect.push("headers", Yaml::Map(map));
        }
        if !translation.checks.is_empty() {
            expect.push(
                "checks",
                Yaml::seq(
                    translation
                        .checks
                        .iter()
                        .map(|c| Yaml::Str(self.check(c, uses))),
                ),
            );
        }
        expect
    }

    /// Writes a check expression, its Postman variables replaced by their template names.
    fn check(&self, check: &str, uses: &mut Found) -> String {
        let mut out = String::with_capacity(check.len());
        let mut rest = check;
        while let Some(start) = rest.find(script::VAR_OPEN) {
            out.push_str(&rest[..start]);
            let after = &rest[start + script::VAR_OPEN.len_utf8()..];
            let end = after.find(script::VAR_CLOSE).unwrap_or(after.len());
            let expression = vars::expression(&after[..end], &self.names, uses);
            out.push('(');
            out.push_str(&expression);
            out.push(')');
            rest = after
                .get(end + script::VAR_CLOSE.len_utf8()..)
                .unwrap_or("");
        }
        out.push_str(rest);
        out
    }

    fn capture(&self, source: &Source, secret: bool, uses: &mut Found) -> Yaml {
        let mut map = Map::flow();
        match source {
            Source::Json(path) if !secret => return Yaml::str(path.clone()),
            Source::Json(path) => map.push("json", Yaml::str(path.clone())),
            Source::Header(name) => map.push("header", Yaml::str(name.clone())),
            Source::Status => map.push("status", Yaml::Bool(true)),
            Source::Body => map.push("body", Yaml::Bool(true)),
            Source::Value(value) => {
                let expression = match value {
                    JsValue::Str(s) => {
                        format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
                    }
                    JsValue::Number(n) => n.clone(),
                    JsValue::Bool(b) => if *b { "true" } else { "false" }.to_owned(),
                    JsValue::Null => "none".to_owned(),
                    JsValue::Variable(name) => vars::expression(name, &self.names, uses),
                };
                map.push("expr", Yaml::Str(expression));
            }
        }
        if secret {
            map.push("secret", Yaml::Bool(true));
        }
        Yaml::Map(map)
    }

    /// Assembles one workflow document from its steps; also returns its required inputs.
    fn document(&self, folder: Option<&str>, steps: Vec<Built>) -> (String, Vec<String>) {
        let collection = self.collection;
        let mut header = vec![
            format!("Imported from the Postman collection `{}`", collection.name),
            format!("({}) by `apiflow import postman`.", self.file_name),
        ];
        let renamed = self.names.renamed();
        let used: HashSet<&str> = steps
            .iter()
            .flat_map(|s| {
                s.request_uses
                    .iter()
                    .chain(&s.response_uses)
                    .chain(&s.captures)
            })
            .map(String::as_str)
            .collect();
        let renamed: Vec<String> = renamed
            .iter()
            .filter(|(postman, _)| used.contains(postman))
            .map(|(postman, id)| format!("  {postman} → {id}"))
            .collect();
        if !renamed.is_empty() {
            header.push("Postman variables renamed to template names:".to_owned());
            header.extend(renamed);
        }
        let (inputs, required) = self.inputs(&steps);

        let mut root = Map::block();
        root.spaced = true;
        let name = workflow_name(&collection.name, folder);
        root.push("name", Yaml::Str(name));
        if let Some(description) = &collection.description {
            root.push("description", Yaml::Str(description.clone()));
        }
        if !inputs.is_empty() {
            root.push("inputs", Yaml::Map(inputs));
        }
        let mut defaults = Map::block();
        let mut defaults_comments =
            vec!["Newman sends every request whatever the tests of the others say.".to_owned()];
        defaults.push("on_failure", Yaml::str("continue"));
        if steps.iter().any(|s| s.follows) {
            defaults_comments.push(
                "Postman follows redirects unless a request's settings turn it off.".to_owned(),
            );
            defaults.push("follow_redirects", Yaml::Bool(true));
        }
        root.push_commented(defaults_comments, "defaults", Yaml::Map(defaults));
        let mut taken: HashSet<String> = HashSet::new();
        let mut items = Vec::with_capacity(steps.len());
        let mut previous_folders: Vec<String> = Vec::new();
        for built in steps {
            let mut name = built.name.clone();
            let mut n = 2;
            while !taken.insert(name.clone()) {
                name = format!("{} ({n})", built.name);
                n += 1;
            }
            let mut comments = Vec::new();
            if built.folders != previous_folders && !built.folders.is_empty() {
                comments.push(format!("Folder: {}", built.folders.join(" / ")));
            }
            previous_folders.clone_from(&built.folders);
            comments.extend(built.comments);
            let mut map = Map::block();
            map.push("name", Yaml::Str(name));
            map.entries.extend(built.body.entries);
            map.trailing = built.body.trailing;
            items.push(Item {
                comments,
                value: Yaml::Map(map),
                spaced: true,
            });
        }
        root.push("steps", Yaml::Seq(items));
        (yaml_out::document(&header, &root), required)
    }

    /// Lists the inputs a group of steps needs: every variable read before a step captures it,
    /// and the variables their defaults use; definitions first, in the collection's order.
    fn inputs(&self, steps: &[Built]) -> (Map, Vec<String>) {
        let mut needed: Vec<String> = Vec::new();
        let mut captured: HashSet<&str> = HashSet::new();
        for step in steps {
            captured.extend(step.sets_before.iter().map(String::as_str));
            for name in &step.request_uses {
                if !captured.contains(name.as_str()) && !needed.contains(name) {
                    needed.push(name.clone());
                }
            }
            for name in &step.response_uses {
                if !captured.contains(name.as_str())
                    && !step.captures.contains(name)
                    && !needed.contains(name)
                {
                    needed.push(name.clone());
                }
            }
            captured.extend(step.captures.iter().map(String::as_str));
        }
        let position = |name: &str| {
            self.definitions
                .iter()
                .position(|d| d.name == name)
                .unwrap_or(usize::MAX)
        };
        let mut ordered = needed.clone();
        ordered.sort_by_key(|name| position(name));
        let mut emitted: Vec<(String, Yaml, Vec<String>)> = Vec::new();
        let mut visiting: Vec<String> = Vec::new();
        for name in &ordered {
            self.visit_input(name, &mut emitted, &mut visiting);
        }
        let mut map = Map::block();
        let mut required = Vec::new();
        for (name, value, comments) in emitted {
            if value == Yaml::Null {
                required.push(name.clone());
            }
            map.push_commented(comments, name, value);
        }
        (map, required)
    }

    /// Emits an input after the inputs its default uses.
    fn visit_input(
        &self,
        name: &str,
        emitted: &mut Vec<(String, Yaml, Vec<String>)>,
        visiting: &mut Vec<String>,
    ) {
        let id = self.names.get(name);
        if emitted.iter().any(|(n, _, _)| *n == id) || visiting.iter().any(|v| v == name) {
            return;
        }
        visiting.push(name.to_owned());
        let definition = self.definition(name);
        let mut found = Found::default();
        let default = definition
            .and_then(|d| d.value.as_ref())
            .map(|v| self.template(v, &mut found));
        for dependency in &found.variables {
            self.visit_input(dependency, emitted, visiting);
        }
        visiting.pop();
        let mut fields = Map::flow();
        let mut comments = Vec::new();
        match definition {
            Some(d) if d.secret => {
                fields.push("secret", Yaml::Bool(true));
                comments
                    .push("Secret in Postman: supply it with `--var` or `--env-file`.".to_owned());
            }
            // Postman reads a variable without a value as empty text.
            Some(_) => fields.push("default", Yaml::Str(default.unwrap_or_default())),
            None => {
                let setter = self
                    .translations
                    .iter()
                    .position(|t| t.captures.iter().any(|(n, _)| n == name))
                    .map(|i| &self.collection.requests[i]);
                if let Some(request) = setter {
                    comments.push(format!(
                        "Required: only set later, by the test script of `{}`.",
                        request_path(request)
                    ));
                } else if !emitted
                    .iter()
                    .any(|(_, v, c)| *v == Yaml::Null && c.iter().any(|c| c.starts_with("Used")))
                {
                    comments.push(
                        "Used but not defined in the collection or the environment: required."
                            .to_owned(),
                    );
                }
            }
        }
        if let Some(description) = definition.and_then(|d| d.description.as_ref()) {
            fields.push(
                "description",
                Yaml::Str(description.replace(['\r', '\n'], " ")),
            );
        }
        let value = if fields.is_empty() {
            Yaml::Null
        } else {
            Yaml::Map(fields)
        };
        emitted.push((id, value, comments));
    }
}

fn status(status: &Status) -> Yaml {
    match status {
        Status::Code(code) => Yaml::Number(code.to_string()),
        Status::Class(class) => Yaml::Str(format!("{class}xx")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
            .collect()
    }

    #[test]
    fn a_query_is_a_mapping_only_when_it_reads_back_the_same() {
        assert_eq!(
            query_mapping(&pairs(&[("q", Some("a+b%20c")), ("n", Some("{{n}}"))])),
            Some(vec![
                ("q".to_owned(), "a b c".to_owned()),
                ("n".to_owned(), "{{n}}".to_owned())
            ])
        );
        assert_eq!(
            query_mapping(&pairs(&[("t", Some("a")), ("t", Some("b"))])),
            None
        );
        assert_eq!(query_mapping(&pairs(&[("flag", None)])), None);
        assert_eq!(query_mapping(&pairs(&[("{{k}}", Some("v"))])), None);
        assert_eq!(query_mapping(&pairs(&[("bad", Some("%FF"))])), None);
    }

    #[test]
    fn long_numbers_are_not_parsed() {
        assert!(has_long_number("{\"n\": 12345678901234567890}"));
        assert!(!has_long_number(
            "{\"n\": 123456789012345, \"s\": \"12345678901234567890\"}"
        ));
        assert!(!has_long_number("{\"f\": 1.5e300}"));
    }

    #[test]
    fn slugs_are_file_names() {
        assert_eq!(slug("Users & Groups (v2)"), "users-groups-v2");
        assert_eq!(slug("—"), "workflow");
    }
}
