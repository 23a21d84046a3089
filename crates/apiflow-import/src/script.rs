//! Postman test scripts: the common patterns turned into apiflow captures and expectations, line
//! by line; every other line is handed back to be kept as a comment.
//!
//! Lines inside `pm.test(…, function () { … })` are read as if at the top level. Lines inside any
//! other block (`if`, `for`, a function) are never translated: they may not run in Postman.

use std::fmt::Write as _;

/// Where a captured value comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// A `JSONPath` into the response body.
    Json(String),
    /// A response header.
    Header(String),
    /// The status code.
    Status,
    /// The body as text.
    Body,
    /// A fixed value or another variable.
    Value(JsValue),
}

/// A JavaScript value a script compares against or stores.
#[derive(Clone, Debug, PartialEq)]
pub enum JsValue {
    /// A string literal.
    Str(String),
    /// A number literal, as written.
    Number(String),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// `pm.environment.get("name")` and friends: a Postman variable.
    Variable(String),
}

/// A status the response must have: `200` or a class such as `2xx`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// One code.
    Code(u16),
    /// A class: `2` for `2xx`.
    Class(u8),
}

/// What a test script says, in apiflow's terms.
#[derive(Debug, Default)]
pub struct Translation {
    /// Statuses accepted (any of them).
    pub status: Vec<Status>,
    /// `JSONPath` → expected value.
    pub json: Vec<(String, JsValue)>,
    /// Header name → expected value.
    pub headers: Vec<(String, JsValue)>,
    /// Expressions that must hold.
    pub checks: Vec<String>,
    /// Postman variable name → where its value comes from, in order; a name set twice keeps its
    /// last source.
    pub captures: Vec<(String, Source)>,
    /// Lines not translated, as written (without common indentation).
    pub untranslated: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Frame {
    /// `pm.test(…, function () {`: its lines are read as top-level lines.
    Test,
    /// Any other block: its lines are kept as comments.
    Opaque,
}

/// Translates a test script.
pub fn translate(lines: &[String]) -> Translation {
    let mut out = Translation::default();
    let mut aliases: Vec<(String, String)> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut kept: Vec<&str> = Vec::new();
    for raw in lines.iter().flat_map(|l| l.split('\n')) {
        let line = raw.trim_end_matches('\r');
        let text = line.trim();
        if stack.contains(&Frame::Opaque) {
            kept.push(line);
            apply_braces(&mut stack, text);
            continue;
        }
        if text.is_empty() || text.starts_with("//") {
            continue;
        }
        if is_test_open(text) {
            stack.push(Frame::Test);
            continue;
        }
        if is_block_close(text) && stack.last() == Some(&Frame::Test) {
            stack.pop();
            continue;
        }
        let statements = single_line_test(text).unwrap_or_else(|| vec![text]);
        let mut attempt = Translation::default();
        let mut attempt_aliases = aliases.clone();
        let ok = statements
            .iter()
            .all(|s| statement(s, &mut attempt, &mut attempt_aliases));
        if ok {
            aliases = attempt_aliases;
            if !attempt.status.is_empty() {
                if out.status.is_empty() || out.status == attempt.status {
                    out.status = attempt.status;
                } else {
                    // Two different statuses cannot both hold: keep the first, show the other.
                    kept.push(line);
                    continue;
                }
            }
            out.json.extend(attempt.json);
            out.headers.extend(attempt.headers);
            out.checks.extend(attempt.checks);
            for (name, source) in attempt.captures {
                if let Some(entry) = out.captures.iter_mut().find(|(n, _)| *n == name) {
                    entry.1 = source;
                } else {
                    out.captures.push((name, source));
                }
            }
        } else {
            kept.push(line);
            apply_braces(&mut stack, text);
        }
    }
    out.untranslated = dedent(&kept);
    out
}

/// Removes the indentation every kept line shares.
pub fn dedent(lines: &[&str]) -> Vec<String> {
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| {
            l.get(indent..)
                .unwrap_or(l.trim_start())
                .trim_end()
                .to_owned()
        })
        .collect()
}

/// Follows the blocks a kept line opens and closes.
fn apply_braces(stack: &mut Vec<Frame>, text: &str) {
    for c in code_chars(text) {
        match c {
            '{' => stack.push(Frame::Opaque),
            '}' => {
                stack.pop();
            }
            _ => {}
        }
    }
}

/// Yields the characters of JavaScript text outside string literals, with their byte offsets;
/// the quotes and everything between them are skipped.
fn outside_strings(text: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    text.char_indices().filter(move |&(_, c)| {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            return false;
        }
        if matches!(c, '"' | '\'' | '`') {
            quote = Some(c);
            return false;
        }
        true
    })
}

/// Returns the characters of a line outside string literals and a trailing `//` comment.
fn code_chars(text: &str) -> Vec<char> {
    let mut out = Vec::new();
    let mut chars = outside_strings(text).peekable();
    while let Some((i, c)) = chars.next() {
        if c == '/' && chars.peek() == Some(&(i + 1, '/')) {
            break;
        }
        out.push(c);
    }
    out
}

/// `pm.test("name", function () {` or `pm.test("name", () => {`.
fn is_test_open(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("pm.test(") else {
        return false;
    };
    let Some((_, rest)) = string_literal(rest.trim_start()) else {
        return false;
    };
    let rest = rest.trim_start();
    let Some(rest) = rest.strip_prefix(',') else {
        return false;
    };
    let compact: String = rest.chars().filter(|c| !c.is_whitespace()).collect();
    matches!(compact.as_str(), "function(){" | "()=>{")
}

fn is_block_close(text: &str) -> bool {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    matches!(compact.as_str(), "});" | "})")
}

/// The statements of a one-line `pm.test("name", function () { a; b; });` or
/// `pm.test("name", () => a);`.
fn single_line_test(text: &str) -> Option<Vec<&str>> {
    let rest = text.strip_prefix("pm.test(")?;
    let (_, rest) = string_literal(rest.trim_start())?;
    let rest = rest.trim_start().strip_prefix(',')?.trim_start();
    let body = rest.trim_end().strip_suffix(';').unwrap_or(rest).trim_end();
    let body = body.strip_suffix(')')?.trim_end();
    let inner = if let Some(after) = body.strip_prefix("function") {
        let after = after.trim_start().strip_prefix("()")?.trim_start();
        after.strip_prefix('{')?.strip_suffix('}')?
    } else {
        let after = body
            .strip_prefix("()")?
            .trim_start()
            .strip_prefix("=>")?
            .trim();
        match after.strip_prefix('{') {
            Some(block) => block.strip_suffix('}')?,
            None => after,
        }
    };
    let statements: Vec<&str> = split_statements(inner)
        .into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    (!statements.is_empty()).then_some(statements)
}

/// Splits on `;` outside string literals and brackets.
fn split_statements(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut depth = 0i32;
    for (i, c) in outside_strings(text) {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ';' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

/// Translates one statement into `out`; false when it is not a known pattern.
fn statement(text: &str, out: &mut Translation, aliases: &mut Vec<(String, String)>) -> bool {
    let text = text.trim();
    let text = text.strip_suffix(';').unwrap_or(text).trim_end();
    if let Some(ok) = alias(text, aliases) {
        return ok;
    }
    if let Some((name, value)) = setter(text) {
        let Some(source) = source(value, aliases) else {
            return false;
        };
        out.captures.push((name, source));
        return true;
    }
    if let Some(status) = response_assertion(text) {
        match status {
            Assertion::Status(codes) => out.status = codes,
            Assertion::HasHeader(name, None) => out.checks.push(format!(
                "{} in headers",
                js_string_literal(&name.to_ascii_lowercase())
            )),
            Assertion::HasHeader(name, Some(value)) => out.headers.push((name, value)),
        }
        return true;
    }
    if let Some((subject, expected)) = expectation(text, aliases) {
        return apply_expectation(subject, expected, out);
    }
    if let Some(code) = legacy_status_test(text) {
        out.status = vec![Status::Code(code)];
        return true;
    }
    false
}

/// `var jsonData = pm.response.json();` (or `JSON.parse(responseBody)`, or a path below it).
fn alias(text: &str, aliases: &mut Vec<(String, String)>) -> Option<bool> {
    let rest = ["var ", "let ", "const "]
        .iter()
        .find_map(|k| text.strip_prefix(k))?;
    let (name, value) = rest.split_once('=')?;
    let name = name.trim();
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        || name.is_empty()
    {
        return Some(false);
    }
    match source(value.trim(), aliases) {
        Some(Source::Json(path)) => {
            aliases.retain(|(n, _)| n != name);
            aliases.push((name.to_owned(), path));
            Some(true)
        }
        _ => Some(false),
    }
}

/// `pm.environment.set("name", value)` and the other scopes; returns the name and the value text.
fn setter(text: &str) -> Option<(String, &str)> {
    const SETTERS: &[&str] = &[
        "pm.environment.set(",
        "pm.collectionVariables.set(",
        "pm.globals.set(",
        "pm.variables.set(",
        "postman.setEnvironmentVariable(",
        "postman.setGlobalVariable(",
    ];
    let rest = SETTERS.iter().find_map(|s| text.strip_prefix(s))?;
    let (name, rest) = string_literal(rest.trim_start())?;
    let rest = rest.trim_start().strip_prefix(',')?;
    let value = rest.trim_end().strip_suffix(')')?.trim();
    Some((name, value))
}

/// Reads a value expression: the response body, a header, the status, a literal or a variable.
fn source(text: &str, aliases: &[(String, String)]) -> Option<Source> {
    let text = text.trim();
    if let Some(value) = js_value(text) {
        return Some(Source::Value(value));
    }
    if matches!(text, "pm.response.code" | "responseCode.code") {
        return Some(Source::Status);
    }
    if matches!(text, "pm.response.text()" | "responseBody") {
        return Some(Source::Body);
    }
    for prefix in ["pm.response.headers.get(", "postman.getResponseHeader("] {
        if let Some(rest) = text.strip_prefix(prefix) {
            let (name, rest) = string_literal(rest.trim_start())?;
            return (rest.trim() == ")").then_some(Source::Header(name));
        }
    }
    let bases = [
        "pm.response.json()",
        "JSON.parse(responseBody)",
        "JSON.parse(pm.response.text())",
    ];
    let (base, rest) = bases
        .iter()
        .find_map(|b| text.strip_prefix(b).map(|r| ("$".to_owned(), r)))
        .or_else(|| {
            aliases.iter().rev().find_map(|(name, path)| {
                let rest = text.strip_prefix(name.as_str())?;
                let boundary = rest.chars().next().is_none_or(|c| c == '.' || c == '[');
                boundary.then(|| (path.clone(), rest))
            })
        })?;
    json_path(base, rest).map(Source::Json)
}

/// Appends JavaScript property accesses (`.a`, `[0]`, `["b-c"]`) to a `JSONPath`.
fn json_path(mut path: String, mut rest: &str) -> Option<String> {
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Some(path);
        }
        if let Some(after) = rest.strip_prefix('.') {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
                .unwrap_or(after.len());
            let name = &after[..end];
            // `.length` and method calls are JavaScript, not data.
            if name.is_empty() || name == "length" || after[end..].trim_start().starts_with('(') {
                return None;
            }
            push_member(&mut path, name);
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let after = after.trim_start();
            if let Some((key, tail)) = string_literal(after) {
                push_member(&mut path, &key);
                rest = tail.trim_start().strip_prefix(']')?;
            } else {
                let end = after.find(']')?;
                let index: u64 = after[..end].trim().parse().ok()?;
                let _ = write!(path, "[{index}]");
                rest = &after[end + 1..];
            }
        } else {
            return None;
        }
    }
}

fn push_member(path: &mut String, name: &str) {
    let simple = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if simple {
        path.push('.');
        path.push_str(name);
    } else {
        path.push_str("['");
        path.push_str(&name.replace('\\', "\\\\").replace('\'', "\\'"));
        path.push_str("']");
    }
}

/// Calls that read a Postman variable.
const GETTERS: &[&str] = &[
    "pm.environment.get(",
    "pm.collectionVariables.get(",
    "pm.globals.get(",
    "pm.variables.get(",
    "postman.getEnvironmentVariable(",
    "postman.getGlobalVariable(",
];

/// A literal or a variable read: `"x"`, `42`, `true`, `null`, `pm.environment.get("x")`.
fn js_value(text: &str) -> Option<JsValue> {
    if let Some((value, rest)) = string_literal(text) {
        return rest.trim().is_empty().then_some(JsValue::Str(value));
    }
    match text {
        "true" => return Some(JsValue::Bool(true)),
        "false" => return Some(JsValue::Bool(false)),
        "null" => return Some(JsValue::Null),
        _ => {}
    }
    let number = text.strip_prefix('-').unwrap_or(text);
    if !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit() || c == '.')
        && number.starts_with(|c: char| c.is_ascii_digit())
        && number.matches('.').count() <= 1
        && !number.ends_with('.')
    {
        return Some(JsValue::Number(text.to_owned()));
    }
    let rest = GETTERS.iter().find_map(|g| text.strip_prefix(g))?;
    let (name, rest) = string_literal(rest.trim_start())?;
    (rest.trim() == ")").then_some(JsValue::Variable(name))
}

/// Reads a JavaScript string literal at the start of `text`; returns its value and the rest.
fn string_literal(text: &str) -> Option<(String, &str)> {
    let quote = text
        .chars()
        .next()
        .filter(|c| matches!(c, '"' | '\'' | '`'))?;
    let mut value = String::new();
    let mut chars = text.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        if c == quote {
            return Some((value, &text[i + 1..]));
        }
        if quote == '`' && c == '$' && text[i..].starts_with("${") {
            return None;
        }
        if c == '\\' {
            let (_, escaped) = chars.next()?;
            value.push(match escaped {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                other => other,
            });
        } else {
            value.push(c);
        }
    }
    None
}

/// Writes a string as a template string literal.
fn js_string_literal(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

enum Assertion {
    Status(Vec<Status>),
    HasHeader(String, Option<JsValue>),
}

/// `pm.response.to.have.status(200)`, `pm.response.to.be.ok`, `pm.response.to.have.header("X")`.
fn response_assertion(text: &str) -> Option<Assertion> {
    let rest = text.strip_prefix("pm.response.to.").map(|r| {
        r.strip_prefix("be.")
            .or_else(|| r.strip_prefix("have."))
            .unwrap_or(r)
    })?;
    if let Some(args) = rest.strip_prefix("status(") {
        let code: u16 = args.strip_suffix(')')?.trim().parse().ok()?;
        return (100..=599)
            .contains(&code)
            .then(|| Assertion::Status(vec![Status::Code(code)]));
    }
    if let Some(args) = rest.strip_prefix("header(") {
        let (name, tail) = string_literal(args.trim_start())?;
        let tail = tail.trim_start();
        if tail == ")" {
            return Some(Assertion::HasHeader(name, None));
        }
        let value = js_value(tail.strip_prefix(',')?.trim().strip_suffix(')')?.trim())?;
        return Some(Assertion::HasHeader(name, Some(value)));
    }
    let status = match rest {
        "ok" => Status::Code(200),
        "success" => Status::Class(2),
        "created" => Status::Code(201),
        "accepted" => Status::Code(202),
        "badRequest" => Status::Code(400),
        "unauthorized" => Status::Code(401),
        "forbidden" => Status::Code(403),
        "notFound" => Status::Code(404),
        "clientError" => Status::Class(4),
        "serverError" => Status::Class(5),
        _ => return None,
    };
    Some(Assertion::Status(vec![status]))
}

enum Expected {
    Equal(JsValue),
    OneOf(Vec<JsValue>),
}

/// `pm.expect(SUBJECT).to.eql(VALUE)` (also `equal`, `eq`, `deep.equal`, `be.oneOf([…])`).
fn expectation(text: &str, aliases: &[(String, String)]) -> Option<(Source, Expected)> {
    let rest = text.strip_prefix("pm.expect(")?;
    let close = matching_paren(rest)?;
    let subject = source(&rest[..close], aliases)?;
    let chain = rest[close + 1..].trim_start().strip_prefix(".to.")?;
    let chain = chain.strip_prefix("be.").unwrap_or(chain);
    for method in [
        "eql(",
        "equal(",
        "eq(",
        "deep.equal(",
        "deep.eql(",
        "equals(",
    ] {
        if let Some(args) = chain.strip_prefix(method) {
            let value = js_value(args.strip_suffix(')')?.trim())?;
            return Some((subject, Expected::Equal(value)));
        }
    }
    let args = chain.strip_prefix("oneOf(")?.strip_suffix(')')?.trim();
    let list = args.strip_prefix('[')?.strip_suffix(']')?;
    let values = list
        .split(',')
        .map(|v| js_value(v.trim()))
        .collect::<Option<Vec<_>>>()?;
    Some((subject, Expected::OneOf(values)))
}

/// Finds the `)` closing the call whose arguments `text` starts with.
fn matching_paren(text: &str) -> Option<usize> {
    let mut depth = 0i32;
    for (i, c) in outside_strings(text) {
        match c {
            '(' | '[' => depth += 1,
            ')' if depth == 0 => return Some(i),
            ')' | ']' => depth -= 1,
            _ => {}
        }
    }
    None
}

fn apply_expectation(subject: Source, expected: Expected, out: &mut Translation) -> bool {
    match (subject, expected) {
        (Source::Status, Expected::Equal(value)) => match status_of(&value) {
            Some(status) => {
                out.status = vec![status];
                true
            }
            None => false,
        },
        (Source::Status, Expected::OneOf(values)) => {
            match values.iter().map(status_of).collect::<Option<Vec<_>>>() {
                Some(statuses) if !statuses.is_empty() => {
                    out.status = statuses;
                    true
                }
                _ => false,
            }
        }
        (Source::Json(path), Expected::Equal(value)) => {
            out.json.push((path, value));
            true
        }
        (Source::Header(name), Expected::Equal(value)) => {
            out.headers.push((name, value));
            true
        }
        _ => false,
    }
}

fn status_of(value: &JsValue) -> Option<Status> {
    match value {
        JsValue::Number(n) => n
            .parse::<u16>()
            .ok()
            .filter(|c| (100..=599).contains(c))
            .map(Status::Code),
        _ => None,
    }
}

/// The old sandbox's `tests["…"] = responseCode.code === 200`.
fn legacy_status_test(text: &str) -> Option<u16> {
    let rest = text.strip_prefix("tests[")?;
    let (_, rest) = string_literal(rest)?;
    let rest = rest
        .trim_start()
        .strip_prefix(']')?
        .trim_start()
        .strip_prefix('=')?;
    let rest = rest
        .trim_start()
        .strip_prefix("responseCode.code")?
        .trim_start();
    let rest = rest
        .strip_prefix("===")
        .or_else(|| rest.strip_prefix("=="))?
        .trim();
    rest.parse().ok().filter(|c| (100..=599).contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(script: &str) -> Translation {
        translate(&script.lines().map(str::to_owned).collect::<Vec<_>>())
    }

    #[test]
    fn reads_captures_from_the_body_and_headers() {
        let t = run(r#"
var jsonData = JSON.parse(responseBody);
pm.environment.set("accessToken", jsonData.access_token);
const data = pm.response.json().data;
pm.collectionVariables.set("firstId", data.items[0]["user-id"]);
pm.globals.set("location", pm.response.headers.get("Location"));
postman.setEnvironmentVariable("whole", pm.response.json());
"#);
        assert_eq!(
            t.captures,
            [
                ("accessToken".into(), Source::Json("$.access_token".into())),
                (
                    "firstId".into(),
                    Source::Json("$.data.items[0]['user-id']".into())
                ),
                ("location".into(), Source::Header("Location".into())),
                ("whole".into(), Source::Json("$".into())),
            ]
        );
        assert!(t.untranslated.is_empty(), "{:?}", t.untranslated);
    }

    #[test]
    fn reads_status_assertions_inside_tests() {
        let t = run(r#"pm.test("Status code is 201", function () {
    pm.response.to.have.status(201);
});
pm.test("type", () => { pm.expect(pm.response.json().token_type).to.eql("Bearer"); });"#);
        assert_eq!(t.status, [Status::Code(201)]);
        assert_eq!(
            t.json,
            [("$.token_type".into(), JsValue::Str("Bearer".into()))]
        );
        assert!(t.untranslated.is_empty(), "{:?}", t.untranslated);

        let t = run("pm.expect(pm.response.code).to.be.oneOf([200, 204]);");
        assert_eq!(t.status, [Status::Code(200), Status::Code(204)]);
        let t = run("tests[\"ok\"] = responseCode.code === 200;");
        assert_eq!(t.status, [Status::Code(200)]);
    }

    #[test]
    fn keeps_conditional_and_unknown_lines() {
        let t = run(r#"var body = pm.response.json();
if (body.items.length > 0) {
    pm.environment.set("firstId", body.items[0].id);
}
console.log(body);
pm.environment.set("count", body.items.length);"#);
        assert!(t.captures.is_empty());
        assert_eq!(
            t.untranslated,
            [
                "if (body.items.length > 0) {",
                "    pm.environment.set(\"firstId\", body.items[0].id);",
                "}",
                "console.log(body);",
                "pm.environment.set(\"count\", body.items.length);",
            ]
        );
    }
}
