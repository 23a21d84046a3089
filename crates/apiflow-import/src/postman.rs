//! Reading Postman files: a Collection v2.0 or v2.1 (and an optional environment) into a flat,
//! ordered list of requests with their folder path, inherited auth and settings resolved.
//!
//! The reader is lenient about shapes Postman writes in more than one way (a URL as text or as
//! parts, auth parameters as a list (v2.1) or an object (v2.0), descriptions as text or objects).

use serde_json::Value;

use apiflow::diagnostic::Diagnostic;
use apiflow::span::Source;

/// Schema versions the importer reads, as they appear in `info.schema`.
const SCHEMAS: &[&str] = &["/collection/v2.0.0/", "/collection/v2.1.0/"];

/// A collection, flattened.
#[derive(Debug)]
pub struct Collection {
    /// `info.name`.
    pub name: String,
    /// `info.description`.
    pub description: Option<String>,
    /// Collection (and folder) variables, in order.
    pub variables: Vec<Variable>,
    /// Every request, in order.
    pub requests: Vec<Request>,
    /// Scripts of the collection and its folders, which run around every request below them.
    pub shared_scripts: Vec<SharedScript>,
    /// Items that are neither a request nor a folder, by path.
    pub empty_items: Vec<String>,
    /// What the reader assumed about the file.
    pub warnings: Vec<Diagnostic>,
}

/// A variable of the collection or the environment.
#[derive(Clone, Debug)]
pub struct Variable {
    /// Postman's name.
    pub name: String,
    /// Its value, when it has one (secret values are not kept).
    pub value: Option<String>,
    /// Postman's `secret` type.
    pub secret: bool,
    /// Its description.
    pub description: Option<String>,
}

/// A script on the collection or a folder.
#[derive(Debug)]
pub struct SharedScript {
    /// `collection` or the folder's path.
    pub owner: String,
    /// The folder path it applies to (empty for the collection).
    pub folders: Vec<String>,
    /// `test` or `prerequest`.
    pub listen: String,
    /// Its lines.
    pub lines: Vec<String>,
}

/// One request, with what it inherits resolved.
#[derive(Debug)]
pub struct Request {
    /// Its name.
    pub name: String,
    /// The folders it is in, outermost first.
    pub folders: Vec<String>,
    /// Its description.
    pub description: Option<String>,
    /// The HTTP method, upper-case.
    pub method: String,
    /// The URL without its query.
    pub url: String,
    /// Query parameters, enabled ones only; `None` value for `?flag`.
    pub query: Vec<(String, Option<String>)>,
    /// Enabled headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Option<Body>,
    /// Its own auth, or the nearest folder's or the collection's.
    pub auth: Auth,
    /// `protocolProfileBehavior.followRedirects`, inherited.
    pub follow_redirects: Option<bool>,
    /// `protocolProfileBehavior.maxRedirects`, inherited.
    pub max_redirects: Option<u64>,
    /// `protocolProfileBehavior.strictSSL`, inherited.
    pub strict_ssl: Option<bool>,
    /// `protocolProfileBehavior.disableBodyPruning`, inherited: a GET or HEAD keeps its body.
    pub disable_body_pruning: bool,
    /// The `user:password@` of the URL (raw, or the structured URL's `auth`), decoded.
    pub url_credentials: Option<(String, String)>,
    /// The test (post-response) script's lines.
    pub test: Vec<String>,
    /// The pre-request script's lines.
    pub prerequest: Vec<String>,
    /// Its client certificate, when it names one.
    pub certificate: Option<Certificate>,
    /// Its proxy, as `host:port`, when it names one that is not disabled.
    pub proxy: Option<String>,
}

/// A request body.
#[derive(Debug)]
pub enum Body {
    /// Raw text with the language Postman shows (`json`, `text`, `xml`, …).
    Raw {
        /// The text.
        text: String,
        /// `options.raw.language`.
        language: Option<String>,
    },
    /// `x-www-form-urlencoded` fields.
    UrlEncoded(Vec<(String, String)>),
    /// `form-data` fields, in order.
    FormData(Vec<FormField>),
    /// A GraphQL query and its variables (JSON text).
    GraphQl {
        /// The query.
        query: String,
        /// The variables, JSON text.
        variables: String,
    },
    /// A binary file: its `src` as Postman wrote it, empty when none was chosen.
    File(String),
}

/// One enabled field of a `form-data` body.
#[derive(Debug)]
pub struct FormField {
    /// The field's name.
    pub key: String,
    /// Its text, or the files it sends.
    pub value: FormValue,
    /// The part's `contentType`, when Postman gives one.
    pub content_type: Option<String>,
}

/// What a `form-data` field sends.
#[derive(Debug)]
pub enum FormValue {
    /// A text value.
    Text(String),
    /// The `src` paths of a file field, one part each; empty when no file was chosen.
    Files(Vec<String>),
}

/// Request authentication.
#[derive(Debug, Clone, PartialEq)]
pub enum Auth {
    /// No auth.
    None,
    /// `Authorization: Bearer …`.
    Bearer(String),
    /// Basic auth.
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// An API key in a header or a query parameter.
    ApiKey {
        /// Header or parameter name.
        key: String,
        /// Value.
        value: String,
        /// In the query rather than a header.
        in_query: bool,
    },
    /// HTTP Digest.
    Digest {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// AWS Signature Version 4.
    AwsSigV4(Box<AwsSigV4>),
    /// A type apiflow cannot send (`oauth2`, `ntlm`, …).
    Unsupported(String),
}

/// Postman's `awsv4` parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsSigV4 {
    /// `accessKey`.
    pub access_key: String,
    /// `secretKey`.
    pub secret_key: String,
    /// `sessionToken`, when given.
    pub session_token: Option<String>,
    /// `region`, `us-east-1` when not given, as Postman does.
    pub region: String,
    /// `service`, `execute-api` when not given, as Postman does.
    pub service: String,
    /// `addAuthDataToQuery`: Postman signs in the query string instead of headers.
    pub in_query: bool,
}

/// A client certificate a request names (`certificate`).
#[derive(Debug, Clone, PartialEq)]
pub struct Certificate {
    /// `cert.src`.
    pub cert: String,
    /// `key.src`.
    pub key: String,
    /// `passphrase`, when given.
    pub passphrase: Option<String>,
}

/// Settings a folder passes down.
#[derive(Clone, Debug, Default)]
struct Inherited {
    auth: Option<Auth>,
    follow_redirects: Option<bool>,
    max_redirects: Option<u64>,
    strict_ssl: Option<bool>,
    disable_body_pruning: Option<bool>,
}

/// Parses a file's text as JSON, pointing at the line and column of a syntax error.
pub fn parse_json(name: &str, text: &str) -> Result<Value, Diagnostic> {
    serde_json::from_str(text)
        .map_err(|error| apiflow::diagnostic::json_syntax(&Source::new(name, text), name, &error))
}

/// Reads a collection, or says why the file is not one apiflow can import.
pub fn collection(name: &str, json: &Value) -> Result<Collection, Diagnostic> {
    let json = unwrap(json, "collection");
    let Some(root) = json.as_object() else {
        return Err(Diagnostic::error(format!(
            "`{name}` is not a Postman collection: the file holds JSON {}, not an object",
            kind(json)
        )));
    };
    if root.contains_key("values") && root.contains_key("_postman_variable_scope") {
        return Err(Diagnostic::error(format!(
            "`{name}` is a Postman environment, not a collection"
        ))
        .help("pass it with `--environment`, and the collection as the first argument"));
    }
    let schema = json.pointer("/info/schema").and_then(Value::as_str);
    let mut warnings = Vec::new();
    match schema {
        Some(schema) if SCHEMAS.iter().any(|s| schema.contains(s)) => {}
        Some(schema) => {
            return Err(Diagnostic::error(format!(
                "`{name}` is not a Postman Collection v2.0 or v2.1: its `info.schema` is `{schema}`"
            ))
            .help("in Postman, export the collection as \"Collection v2.1\""));
        }
        // Newman reads a collection without `info.schema` as v2 when it is shaped like one;
        // so does the importer, saying so.
        None if json.get("info").is_some_and(Value::is_object)
            && json.get("item").is_some_and(Value::is_array) =>
        {
            warnings.push(
                Diagnostic::warning(format!(
                    "`{name}` has no `info.schema`: it is read as a Postman Collection v2.1, as Newman reads it"
                ))
                .help("in Postman, export the collection as \"Collection v2.1\" to record its version"),
            );
        }
        None => {
            let found = if root.contains_key("requests") || root.contains_key("order") {
                "it looks like the old Collection v1 format"
            } else {
                "it has no `info.schema`"
            };
            return Err(Diagnostic::error(format!(
                "`{name}` is not a Postman Collection v2.0 or v2.1: {found}"
            ))
            .help("in Postman, export the collection as \"Collection v2.1\""));
        }
    }
    let mut out = Collection {
        name: json
            .pointer("/info/name")
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .unwrap_or("Imported Postman collection")
            .to_owned(),
        description: json.pointer("/info/description").and_then(description),
        variables: variables(json.get("variable")),
        requests: Vec::new(),
        shared_scripts: Vec::new(),
        empty_items: Vec::new(),
        warnings,
    };
    let inherited = inherit(&Inherited::default(), json);
    shared_scripts(json, "collection", &[], &mut out.shared_scripts);
    items(json.get("item"), &[], &inherited, &mut out);
    Ok(out)
}

/// Reads a Postman environment file's variables.
pub fn environment(name: &str, json: &Value) -> Result<Vec<Variable>, Diagnostic> {
    let json = unwrap(json, "environment");
    let values = json.get("values").and_then(Value::as_array);
    let Some(values) = values else {
        let help = if json.get("info").is_some() {
            "this looks like a collection: pass it as the first argument"
        } else {
            "export the environment from Postman (Environments → … → Export)"
        };
        return Err(Diagnostic::error(format!(
            "`{name}` is not a Postman environment: it has no `values` list"
        ))
        .help(help));
    };
    Ok(values
        .iter()
        .filter(|v| v.get("enabled").and_then(Value::as_bool) != Some(false))
        .filter_map(variable)
        .collect())
}

/// Unwraps what Postman's API exports: `{ "collection": { … } }` or `{ "environment": { … } }`,
/// as Newman does.
fn unwrap<'a>(json: &'a Value, key: &str) -> &'a Value {
    match json.get(key) {
        Some(inner)
            if inner.is_object() && json.get("info").is_none() && json.get("values").is_none() =>
        {
            inner
        }
        _ => json,
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Reads text or `{ "content": … }`.
fn description(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(s) => s.as_str(),
        Value::Object(o) => o.get("content")?.as_str()?,
        _ => return None,
    };
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn variables(list: Option<&Value>) -> Vec<Variable> {
    list.and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter(|v| v.get("disabled").and_then(Value::as_bool) != Some(true))
                .filter_map(variable)
                .collect()
        })
        .unwrap_or_default()
}

fn variable(value: &Value) -> Option<Variable> {
    let name = value
        .get("key")
        .or_else(|| value.get("id"))
        .and_then(Value::as_str)?
        .to_owned();
    let secret = value.get("type").and_then(Value::as_str) == Some("secret");
    let value_text = if secret {
        None
    } else {
        value.get("value").and_then(scalar_text)
    };
    Some(Variable {
        name,
        value: value_text,
        secret,
        description: value.get("description").and_then(description),
    })
}

/// Reads a scalar as text: Postman stores some values as numbers or booleans.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn text(value: Option<&Value>) -> String {
    value.and_then(scalar_text).unwrap_or_default()
}

fn is_disabled(value: &Value) -> bool {
    value.get("disabled").and_then(Value::as_bool) == Some(true)
}

/// Applies an item's own auth and settings over what it inherits.
fn inherit(parent: &Inherited, item: &Value) -> Inherited {
    let mut out = parent.clone();
    if let Some(auth) = item.get("auth").and_then(auth) {
        out.auth = Some(auth);
    }
    settings(item, &mut out);
    out
}

fn settings(item: &Value, out: &mut Inherited) {
    let Some(behavior) = item.get("protocolProfileBehavior") else {
        return;
    };
    if let Some(follow) = behavior.get("followRedirects").and_then(Value::as_bool) {
        out.follow_redirects = Some(follow);
    }
    if let Some(max) = behavior.get("maxRedirects").and_then(Value::as_u64) {
        out.max_redirects = Some(max);
    }
    if let Some(strict) = behavior.get("strictSSL").and_then(Value::as_bool) {
        out.strict_ssl = Some(strict);
    }
    if let Some(keep) = behavior.get("disableBodyPruning").and_then(Value::as_bool) {
        out.disable_body_pruning = Some(keep);
    }
}

/// Reads an auth object; `None` means "inherit".
fn auth(value: &Value) -> Option<Auth> {
    let kind = value.get("type").and_then(Value::as_str)?;
    let param = |key: &str| auth_param(value, kind, key);
    Some(match kind {
        "inherit" => return None,
        "noauth" => Auth::None,
        "bearer" => Auth::Bearer(param("token").unwrap_or_default()),
        "basic" => Auth::Basic {
            username: param("username").unwrap_or_default(),
            password: param("password").unwrap_or_default(),
        },
        "apikey" => Auth::ApiKey {
            key: param("key").unwrap_or_default(),
            value: param("value").unwrap_or_default(),
            in_query: param("in").as_deref() == Some("query"),
        },
        "digest" => Auth::Digest {
            username: param("username").unwrap_or_default(),
            password: param("password").unwrap_or_default(),
        },
        "awsv4" => {
            let given = |key: &str| param(key).filter(|v| !v.trim().is_empty());
            Auth::AwsSigV4(Box::new(AwsSigV4 {
                access_key: param("accessKey").unwrap_or_default(),
                secret_key: param("secretKey").unwrap_or_default(),
                session_token: given("sessionToken"),
                region: given("region").unwrap_or_else(|| "us-east-1".to_owned()),
                service: given("service")
                    .or_else(|| given("serviceName"))
                    .unwrap_or_else(|| "execute-api".to_owned()),
                in_query: param("addAuthDataToQuery").as_deref() == Some("true"),
            }))
        }
        other => Auth::Unsupported(other.to_owned()),
    })
}

/// Reads an auth parameter: a `[{key, value}]` list in v2.1, an object in v2.0.
fn auth_param(auth: &Value, kind: &str, key: &str) -> Option<String> {
    match auth.get(kind)? {
        Value::Array(params) => params
            .iter()
            .find(|p| p.get("key").and_then(Value::as_str) == Some(key))
            .and_then(|p| p.get("value"))
            .and_then(scalar_text),
        Value::Object(params) => params.get(key).and_then(scalar_text),
        _ => None,
    }
}

fn script_lines(event: &Value) -> Vec<String> {
    match event.pointer("/script/exec") {
        Some(Value::Array(lines)) => lines
            .iter()
            .filter_map(Value::as_str)
            .flat_map(|l| l.split('\n'))
            .map(|l| l.trim_end_matches('\r').to_owned())
            .collect(),
        Some(Value::String(text)) => text
            .split('\n')
            .map(|l| l.trim_end_matches('\r').to_owned())
            .collect(),
        _ => Vec::new(),
    }
}

/// Returns an item's enabled script of one kind (`test` or `prerequest`), joined.
fn script(item: &Value, listen: &str) -> Vec<String> {
    item.get("event")
        .and_then(Value::as_array)
        .map(|events| {
            events
                .iter()
                .filter(|e| e.get("listen").and_then(Value::as_str) == Some(listen))
                .filter(|e| !is_disabled(e))
                .flat_map(script_lines)
                .collect()
        })
        .unwrap_or_default()
}

/// Tells whether a script has any code: not only blank lines and comments.
pub fn has_code(lines: &[String]) -> bool {
    lines.iter().any(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with("//")
    })
}

fn shared_scripts(item: &Value, owner: &str, folders: &[String], out: &mut Vec<SharedScript>) {
    for listen in ["prerequest", "test"] {
        let lines = script(item, listen);
        if has_code(&lines) {
            out.push(SharedScript {
                owner: owner.to_owned(),
                folders: folders.to_vec(),
                listen: listen.to_owned(),
                lines,
            });
        }
    }
}

fn items(list: Option<&Value>, folders: &[String], inherited: &Inherited, out: &mut Collection) {
    let Some(list) = list.and_then(Value::as_array) else {
        return;
    };
    for (index, item) in list.iter().enumerate() {
        let name = item
            .get("name")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map_or_else(|| format!("request {}", index + 1), str::to_owned);
        if item.get("item").is_some() {
            let mut path = folders.to_vec();
            path.push(name);
            let inner = inherit(inherited, item);
            shared_scripts(
                item,
                &format!("folder `{}`", path.join(" / ")),
                &path,
                &mut out.shared_scripts,
            );
            out.variables.extend(variables(item.get("variable")));
            items(item.get("item"), &path, &inner, out);
        } else if let Some(request_value) = item.get("request") {
            let own = inherit(inherited, item);
            out.requests
                .push(request(name, folders, item, request_value, &own));
        } else {
            let mut path = folders.to_vec();
            path.push(name);
            out.empty_items.push(path.join(" / "));
        }
    }
}

fn request(
    name: String,
    folders: &[String],
    item: &Value,
    value: &Value,
    inherited: &Inherited,
) -> Request {
    // A request may be just its URL.
    let (url, query) = match value {
        Value::String(raw) => split_raw_url(raw),
        _ => url(value.get("url")),
    };
    let (url, mut url_credentials) = split_credentials(&url);
    if url_credentials.is_none()
        && let Some(parts) = value.pointer("/url/auth").filter(|a| a.is_object())
    {
        let user = text(parts.get("user"));
        let password = text(parts.get("password"));
        if !user.is_empty() || !password.is_empty() {
            url_credentials = Some((user, password));
        }
    }
    let method = value
        .get("method")
        .and_then(Value::as_str)
        .map_or_else(|| "GET".to_owned(), |m| m.trim().to_ascii_uppercase());
    let mut auth_value = inherited.auth.clone();
    if let Some(own) = value.get("auth").and_then(auth) {
        auth_value = Some(own);
    }
    let mut own = inherited.clone();
    settings(value, &mut own);
    Request {
        name,
        folders: folders.to_vec(),
        description: value
            .get("description")
            .and_then(description)
            .or_else(|| item.get("description").and_then(description)),
        method,
        url,
        query,
        headers: headers(value.get("header")),
        body: value.get("body").and_then(body),
        auth: auth_value.unwrap_or(Auth::None),
        follow_redirects: own.follow_redirects,
        max_redirects: own.max_redirects,
        strict_ssl: own.strict_ssl,
        disable_body_pruning: own.disable_body_pruning == Some(true),
        url_credentials,
        test: script(item, "test"),
        prerequest: script(item, "prerequest"),
        certificate: value.get("certificate").and_then(certificate),
        proxy: value.get("proxy").and_then(proxy),
    }
}

/// Reads a request's `certificate`: the certificate and key files it names.
fn certificate(value: &Value) -> Option<Certificate> {
    let cert = text(value.pointer("/cert/src"));
    let key = text(value.pointer("/key/src"));
    if cert.trim().is_empty() && key.trim().is_empty() {
        return None;
    }
    Some(Certificate {
        cert,
        key,
        passphrase: value
            .get("passphrase")
            .and_then(scalar_text)
            .filter(|p| !p.is_empty()),
    })
}

/// Reads a request's `proxy`, unless it is disabled or names no host.
fn proxy(value: &Value) -> Option<String> {
    if is_disabled(value) {
        return None;
    }
    let host = value.get("host").and_then(scalar_text)?;
    if host.trim().is_empty() {
        return None;
    }
    Some(match value.get("port").and_then(scalar_text) {
        Some(port) if !port.is_empty() => format!("{host}:{port}"),
        _ => host,
    })
}

/// Takes the `user:password@` out of a URL: the URL without it, and the user name and password,
/// percent-decoded.
fn split_credentials(url: &str) -> (String, Option<(String, String)>) {
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[authority_start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return (url.to_owned(), None);
    };
    let userinfo = &rest[..at];
    // `{{user}}@…` at the start of a scheme-less URL is a variable, not credentials, unless a
    // scheme says where the authority starts.
    if authority_start == 0 && !userinfo.contains(':') {
        return (url.to_owned(), None);
    }
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .map_or_else(|_| text.to_owned(), std::borrow::Cow::into_owned)
    };
    let without = format!("{}{}", &url[..authority_start], &rest[at + 1..]);
    (without, Some((decode(user), decode(password))))
}

/// Splits a raw URL into its part before `?` (without `#…`) and its query parameters.
fn split_raw_url(raw: &str) -> (String, Vec<(String, Option<String>)>) {
    let raw = raw.trim();
    let without_hash = raw.split_once('#').map_or(raw, |(before, _)| before);
    match without_hash.split_once('?') {
        Some((base, query)) => (base.to_owned(), parse_query(query)),
        None => (without_hash.to_owned(), Vec::new()),
    }
}

/// Reads a query's parameters; an empty one (`a=1&&b=2`) is kept, as Newman sends it.
fn parse_query(query: &str) -> Vec<(String, Option<String>)> {
    if query.is_empty() {
        return Vec::new();
    }
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
            None => (pair.to_owned(), None),
        })
        .collect()
}

/// Reads a URL given as text or as parts; path variables (`:id`) take their values.
fn url(value: Option<&Value>) -> (String, Vec<(String, Option<String>)>) {
    let Some(value) = value else {
        return (String::new(), Vec::new());
    };
    let (mut base, mut query) = match value {
        Value::String(raw) => return split_raw_url(raw),
        Value::Object(parts) if parts.contains_key("host") => {
            let mut base = String::new();
            if let Some(protocol) = parts.get("protocol").and_then(Value::as_str) {
                base.push_str(protocol.trim_end_matches("://"));
                base.push_str("://");
            }
            base.push_str(&joined(parts.get("host"), "."));
            if let Some(port) = parts.get("port").and_then(scalar_text) {
                base.push(':');
                base.push_str(&port);
            }
            let path = joined(parts.get("path"), "/");
            if !path.is_empty() {
                if !path.starts_with('/') {
                    base.push('/');
                }
                base.push_str(&path);
            }
            let raw_query = parts
                .get("raw")
                .and_then(Value::as_str)
                .map(split_raw_url)
                .map(|(_, q)| q)
                .unwrap_or_default();
            (base, raw_query)
        }
        Value::Object(parts) => {
            split_raw_url(parts.get("raw").and_then(Value::as_str).unwrap_or(""))
        }
        _ => (String::new(), Vec::new()),
    };
    if let Some(list) = value.get("query").and_then(Value::as_array) {
        query = list
            .iter()
            .filter(|q| !is_disabled(q))
            .map(|q| {
                // Postman writes an empty parameter (`a=1&&b=2`) with a `null` key.
                let key = q.get("key").and_then(scalar_text).unwrap_or_default();
                let value = q.get("value").and_then(scalar_text);
                (key, value)
            })
            .collect();
    }
    if let Some(list) = value.get("variable").and_then(Value::as_array) {
        for variable in list {
            let (Some(key), Some(val)) = (
                variable.get("key").and_then(Value::as_str),
                variable.get("value").and_then(scalar_text),
            ) else {
                continue;
            };
            base = replace_path_variable(&base, key, &val);
        }
    }
    (base, query)
}

/// Joins `host` or `path` parts given as a list (of text or `{ "value": … }`) or as text.
fn joined(value: Option<&Value>, separator: &str) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| match p {
                Value::Object(o) => o.get("value").and_then(scalar_text),
                other => scalar_text(other),
            })
            .collect::<Vec<_>>()
            .join(separator),
        _ => String::new(),
    }
}

/// Replaces the path segment `:key` (whole segments only) with a value.
fn replace_path_variable(url: &str, key: &str, value: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    let needle = format!(":{key}");
    let segments: Vec<String> = rest
        .split('/')
        .map(|segment| {
            if segment == needle {
                value.to_owned()
            } else {
                segment.to_owned()
            }
        })
        .collect();
    format!("{scheme}{}", segments.join("/"))
}

fn headers(value: Option<&Value>) -> Vec<(String, String)> {
    match value {
        Some(Value::Array(list)) => list
            .iter()
            .filter(|h| !is_disabled(h))
            .filter_map(|h| {
                let key = h.get("key").and_then(Value::as_str)?.trim();
                (!key.is_empty()).then(|| (key.to_owned(), text(h.get("value"))))
            })
            .collect(),
        // v2.0 also allows `"Key: value\nOther: value"`.
        Some(Value::String(block)) => block
            .lines()
            .filter_map(|line| {
                let (key, value) = line.split_once(':')?;
                let key = key.trim();
                (!key.is_empty()).then(|| (key.to_owned(), value.trim().to_owned()))
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn fields(value: Option<&Value>) -> Vec<&Value> {
    value
        .and_then(Value::as_array)
        .map(|list| list.iter().filter(|f| !is_disabled(f)).collect())
        .unwrap_or_default()
}

fn body(value: &Value) -> Option<Body> {
    if is_disabled(value) {
        return None;
    }
    match value.get("mode").and_then(Value::as_str)? {
        "raw" => {
            let text = text(value.get("raw"));
            let language = value
                .pointer("/options/raw/language")
                .and_then(Value::as_str)
                .map(str::to_owned);
            (!text.trim().is_empty()).then_some(Body::Raw { text, language })
        }
        "urlencoded" => Some(Body::UrlEncoded(
            fields(value.get("urlencoded"))
                .into_iter()
                .filter_map(|f| Some((f.get("key").and_then(scalar_text)?, text(f.get("value")))))
                .collect(),
        )),
        "formdata" => Some(Body::FormData(
            fields(value.get("formdata"))
                .into_iter()
                .filter_map(form_field)
                .collect(),
        )),
        "graphql" => {
            let graphql = value.get("graphql")?;
            Some(Body::GraphQl {
                query: text(graphql.get("query")),
                variables: text(graphql.get("variables")),
            })
        }
        "file" => Some(Body::File(text(value.pointer("/file/src")))),
        _ => None,
    }
}

/// Reads one `form-data` field; a file field's `src` is a path, a list of paths, or nothing.
fn form_field(field: &Value) -> Option<FormField> {
    let key = field.get("key").and_then(scalar_text)?;
    let value = if field.get("type").and_then(Value::as_str) == Some("file") {
        let paths = match field.get("src") {
            Some(Value::Array(list)) => list.iter().filter_map(scalar_text).collect(),
            Some(src) => scalar_text(src).into_iter().collect(),
            None => Vec::new(),
        };
        FormValue::Files(paths.into_iter().filter(|p| !p.trim().is_empty()).collect())
    } else {
        FormValue::Text(text(field.get("value")))
    };
    Some(FormField {
        key,
        value,
        content_type: field
            .get("contentType")
            .and_then(scalar_text)
            .filter(|t| !t.trim().is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_structured_urls_with_path_variables() {
        let value = serde_json::json!({
            "raw": "{{baseUrl}}/users/:userId?expand=true",
            "host": ["{{baseUrl}}"],
            "path": ["users", ":userId"],
            "query": [
                { "key": "expand", "value": "true" },
                { "key": "debug", "value": "1", "disabled": true }
            ],
            "variable": [{ "key": "userId", "value": "{{userId}}" }]
        });
        let (base, query) = url(Some(&value));
        assert_eq!(base, "{{baseUrl}}/users/{{userId}}");
        assert_eq!(query, [("expand".to_owned(), Some("true".to_owned()))]);
    }

    #[test]
    fn takes_credentials_out_of_urls() {
        assert_eq!(
            split_credentials("https://u%40x:p%3Aw@h.test/a@b?c=d@e"),
            (
                "https://h.test/a@b?c=d@e".to_owned(),
                Some(("u@x".to_owned(), "p:w".to_owned()))
            )
        );
        assert_eq!(
            split_credentials("http://{{user}}@{{host}}/x"),
            (
                "http://{{host}}/x".to_owned(),
                Some(("{{user}}".to_owned(), String::new()))
            )
        );
        assert_eq!(split_credentials("{{base}}/a@b").1, None);
        assert_eq!(split_credentials("https://h.test/a").1, None);
    }

    #[test]
    fn keeps_empty_query_parameters() {
        let (_, query) = split_raw_url("http://h.test/?a=1&&b=2&");
        assert_eq!(
            query,
            [
                ("a".into(), Some("1".into())),
                (String::new(), None),
                ("b".into(), Some("2".into())),
                (String::new(), None)
            ]
        );
    }

    #[test]
    fn reads_raw_urls() {
        let (base, query) = split_raw_url("https://x.test/a?b=1&flag#frag");
        assert_eq!(base, "https://x.test/a");
        assert_eq!(
            query,
            [("b".into(), Some("1".into())), ("flag".into(), None)]
        );
    }

    #[test]
    fn reads_auth_in_both_versions() {
        let v21 =
            serde_json::json!({ "type": "bearer", "bearer": [{ "key": "token", "value": "t" }] });
        let v20 =
            serde_json::json!({ "type": "basic", "basic": { "username": "u", "password": "p" } });
        assert_eq!(auth(&v21), Some(Auth::Bearer("t".into())));
        assert_eq!(
            auth(&v20),
            Some(Auth::Basic {
                username: "u".into(),
                password: "p".into()
            })
        );
        assert_eq!(auth(&serde_json::json!({ "type": "inherit" })), None);
    }
}
