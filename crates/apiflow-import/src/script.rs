//! Postman test scripts: what they assert and capture, turned into apiflow captures and
//! expectations where the meaning is certain; every other statement is handed back as written.
//!
//! The script is split into statements (strings, template literals, regular expressions and
//! comments understood). Statements inside `pm.test(…, function () { … })` are read as if at the
//! top level; a statement inside any other block (`if`, `for`, a function) is never translated,
//! since it may not run.

use std::fmt::Write as _;
use std::ops::Range;

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

/// Marks a Postman variable inside a check expression: `VAR_OPEN name VAR_CLOSE`, replaced by
/// the variable's template name when the workflow is written.
pub const VAR_OPEN: char = '\u{e002}';
/// Ends a variable marked with [`VAR_OPEN`].
pub const VAR_CLOSE: char = '\u{e003}';

/// What a test script says, in apiflow's terms.
#[derive(Debug, Default)]
pub struct Translation {
    /// Statuses accepted (any of them).
    pub status: Vec<Status>,
    /// `JSONPath` → expected value.
    pub json: Vec<(String, JsValue)>,
    /// Header name → expected value.
    pub headers: Vec<(String, JsValue)>,
    /// Expressions that must hold; Postman variables in them are marked with [`VAR_OPEN`].
    pub checks: Vec<String>,
    /// Postman variable name → where its value comes from, in order; a name set twice keeps its
    /// last source.
    pub captures: Vec<(String, Source)>,
    /// Statements not translated, as written (without common indentation).
    pub untranslated: Vec<String>,
    /// Assertions in the script: each `pm.test(…)` and each `tests[…] = …`.
    pub assertions: usize,
    /// Of them, those translated whole.
    pub translated: usize,
    /// Variables the script clears (`pm.environment.unset`, `postman.clearEnvironmentVariable`).
    pub unsets: Vec<String>,
}

impl Translation {
    /// Tells whether every statement of the script was translated.
    pub fn is_complete(&self) -> bool {
        self.untranslated.is_empty()
    }

    /// Lists the Postman variables the expectations and captures read.
    pub fn variables(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut push = |name: &str| {
            if !out.iter().any(|n| n == name) {
                out.push(name.to_owned());
            }
        };
        for (_, value) in self.json.iter().chain(&self.headers) {
            if let JsValue::Variable(v) = value {
                push(v);
            }
        }
        for (_, source) in &self.captures {
            if let Source::Value(JsValue::Variable(v)) = source {
                push(v);
            }
        }
        for check in &self.checks {
            for name in marked_variables(check) {
                push(name);
            }
        }
        out
    }
}

/// Lists the variables marked in a check expression.
pub fn marked_variables(check: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = check;
    while let Some(start) = rest.find(VAR_OPEN) {
        let after = &rest[start + VAR_OPEN.len_utf8()..];
        let Some(end) = after.find(VAR_CLOSE) else {
            break;
        };
        out.push(&after[..end]);
        rest = &after[end + VAR_CLOSE.len_utf8()..];
    }
    out
}

/// Translates a test script.
pub fn translate(lines: &[String]) -> Translation {
    let text = lines.join("\n");
    let mut out = Translation {
        assertions: count_assertions(&text),
        ..Translation::default()
    };
    let mut reader = Reader::default();
    let mut kept: Vec<String> = Vec::new();
    if balanced(&text) {
        reader.block(&text, &mut out, &mut kept);
    } else {
        // Postman runs none of a script it cannot parse.
        kept.push(text.clone());
    }
    let kept_lines: Vec<&str> = kept.iter().flat_map(|s| s.lines()).collect();
    out.untranslated = dedent(&kept_lines);
    out.translated = out.translated.min(out.assertions);
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

/// Tells whether a string or template literal of the script spans lines, so that its lines
/// cannot be re-indented without changing its value.
pub fn has_multiline_string(text: &str) -> bool {
    let (_, mask) = scan(text);
    text.bytes()
        .zip(mask)
        .any(|(byte, kind)| byte == b'\n' && kind == b's')
}

/// Lists the variables a script sets with a literal name, in any scope and in any block.
pub fn assigned(lines: &[String]) -> Vec<String> {
    let text = lines.join("\n");
    let (clean, mask) = scan(&text);
    let mut out: Vec<String> = Vec::new();
    for setter in SETTERS {
        let mut from = 0;
        while let Some(at) = clean[from..].find(setter).map(|i| i + from) {
            from = at + setter.len();
            if mask.get(at).copied() != Some(b'c') {
                continue;
            }
            if let Some((name, _)) = string_literal(clean[from..].trim_start())
                && !out.contains(&name)
            {
                out.push(name);
            }
        }
    }
    out
}

/// Calls that read, set or clear a variable by name, up to their `(`.
const VARIABLE_CALLS: &[&str] = &[
    "pm.environment.get(",
    "pm.environment.set(",
    "pm.environment.unset(",
    "pm.environment.has(",
    "pm.collectionVariables.get(",
    "pm.collectionVariables.set(",
    "pm.collectionVariables.unset(",
    "pm.collectionVariables.has(",
    "pm.globals.get(",
    "pm.globals.set(",
    "pm.globals.unset(",
    "pm.globals.has(",
    "pm.variables.get(",
    "pm.variables.set(",
    "pm.variables.unset(",
    "pm.variables.has(",
    "postman.getEnvironmentVariable(",
    "postman.setEnvironmentVariable(",
    "postman.clearEnvironmentVariable(",
    "postman.getGlobalVariable(",
    "postman.setGlobalVariable(",
    "postman.clearGlobalVariable(",
];

/// Finds the literal names of variable calls in code: for each, the call's text, the range of
/// the string literal, and the name.
fn variable_calls(text: &str) -> Vec<(&'static str, Range<usize>, String)> {
    let (clean, mask) = scan(text);
    let mut out = Vec::new();
    for call in VARIABLE_CALLS {
        let mut from = 0;
        while let Some(at) = clean[from..].find(call).map(|i| i + from) {
            from = at + call.len();
            let before = clean[..at].chars().next_back();
            if mask.get(at).copied() != Some(b'c')
                || before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            {
                continue;
            }
            let rest = &clean[from..];
            let start = from + (rest.len() - rest.trim_start().len());
            if let Some((name, tail)) = string_literal(&clean[start..]) {
                let end = clean.len() - tail.len();
                out.push((*call, start..end, name));
            }
        }
    }
    out.sort_by_key(|(_, range, _)| range.start);
    out
}

/// Lists the variables a script reads by a literal name (`pm.environment.get("x")`, `has`).
pub fn reads(lines: &[String]) -> Vec<String> {
    let text = lines.join("\n");
    let mut out: Vec<String> = Vec::new();
    for (call, _, name) in variable_calls(&text) {
        let reads =
            call.ends_with(".get(") || call.ends_with(".has(") || call.starts_with("postman.get");
        if reads && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// Rewrites the literal names of variable calls that `rename` maps to another name, so that a
/// script and the templates name a variable alike.
pub fn rename_variables(text: &str, rename: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (_, range, name) in variable_calls(text) {
        if let Some(new) = rename(&name) {
            out.push_str(&text[at..range.start]);
            out.push('"');
            out.push_str(&new);
            out.push('"');
            at = range.end;
        }
    }
    out.push_str(&text[at..]);
    out
}

/// Counts `pm.test(` calls and `tests[…] =` assignments in code.
fn count_assertions(text: &str) -> usize {
    let (clean, mask) = scan(text);
    let code = |at: usize| mask.get(at).copied() == Some(b'c');
    let boundary = |at: usize| {
        at == 0
            || !clean[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '.')
    };
    let mut count = 0;
    for (at, _) in clean.match_indices("pm.test(") {
        if code(at) && boundary(at) {
            count += 1;
        }
    }
    for (at, _) in clean.match_indices("tests[") {
        if !(code(at) && boundary(at)) {
            continue;
        }
        let open = at + "tests".len();
        if let Some(close) = matching(&clean, &mask, open) {
            let rest = clean[close + 1..].trim_start();
            if rest.starts_with('=') && !rest.starts_with("==") {
                count += 1;
            }
        }
    }
    count
}

/// Reads a script: returns the text with comments blanked out, and a mask with, for each byte,
/// `c` for code and `s` for the inside of a string, template literal or regular expression.
fn scan(text: &str) -> (String, Vec<u8>) {
    let bytes = text.as_bytes();
    let mut clean = bytes.to_vec();
    let mut mask = vec![b'c'; bytes.len()];
    let mut i = 0;
    // The last significant code byte, to tell a regular expression from a division.
    let mut last: u8 = b';';
    let mut last_word = String::new();
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    clean[i] = b' ';
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let end = text[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |e| i + 2 + e + 2);
                for (j, byte) in clean.iter_mut().enumerate().take(end).skip(i) {
                    if bytes[j] != b'\n' {
                        *byte = b' ';
                    }
                }
                i = end;
                continue;
            }
            b'"' | b'\'' | b'`' => {
                let quote = b;
                let mut j = i + 1;
                while j < bytes.len() && bytes[j] != quote {
                    if bytes[j] == b'\\' {
                        mask[j] = b's';
                        j += 1;
                    }
                    if j < bytes.len() {
                        mask[j] = b's';
                    }
                    j += 1;
                }
                i = j + 1;
                last = quote;
                last_word.clear();
                continue;
            }
            b'/' if b"(,=:[!&|?{};+-*%<>~^".contains(&last)
                || matches!(last_word.as_str(), "return" | "typeof" | "case") =>
            {
                let mut j = i + 1;
                let mut class = false;
                while j < bytes.len() && bytes[j] != b'\n' {
                    match bytes[j] {
                        b'\\' => {
                            mask[j] = b's';
                            j += 1;
                        }
                        b'[' => class = true,
                        b']' => class = false,
                        b'/' if !class => break,
                        _ => {}
                    }
                    if j < bytes.len() {
                        mask[j] = b's';
                    }
                    j += 1;
                }
                i = j + 1;
                last = b'/';
                last_word.clear();
                continue;
            }
            _ => {}
        }
        if !b.is_ascii_whitespace() {
            if b.is_ascii_alphanumeric() || b == b'_' || b == b'$' {
                if !(last.is_ascii_alphanumeric() || last == b'_' || last == b'$') {
                    last_word.clear();
                }
                last_word.push(char::from(b));
            } else {
                last_word.clear();
            }
            last = b;
        }
        i += 1;
    }
    // Blanking replaced whole bytes of comments only, so the text stays UTF-8.
    let clean = String::from_utf8(clean).unwrap_or_else(|_| text.to_owned());
    (clean, mask)
}

/// Tells whether every bracket of the code is closed, in order.
fn balanced(text: &str) -> bool {
    let (clean, mask) = scan(text);
    let mut open: Vec<u8> = Vec::new();
    for (i, b) in clean.bytes().enumerate() {
        if mask[i] != b'c' {
            continue;
        }
        match b {
            b'(' | b'[' | b'{' => open.push(b),
            b')' | b']' | b'}' => {
                let expected = match b {
                    b')' => b'(',
                    b']' => b'[',
                    _ => b'{',
                };
                if open.pop() != Some(expected) {
                    return false;
                }
            }
            _ => {}
        }
    }
    open.is_empty()
}

/// Finds the bracket closing the one at `open`, in code.
fn matching(clean: &str, mask: &[u8], open: usize) -> Option<usize> {
    let bytes = clean.as_bytes();
    let mut depth = 0i32;
    for i in open..bytes.len() {
        if mask[i] != b'c' {
            continue;
        }
        match bytes[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Splits code into statements: at `;` and at line ends where a statement is complete, outside
/// brackets. A control statement without braces (`if (x) y();`) stays one statement.
fn statements(text: &str) -> Vec<Range<usize>> {
    let (clean, mask) = scan(text);
    let bytes = clean.as_bytes();
    let mut out: Vec<Range<usize>> = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let significant = |range: Range<usize>| clean[range].trim().to_owned();
    let mut i = 0;
    while i < bytes.len() {
        let code = mask[i] == b'c';
        let b = bytes[i];
        if code {
            match b {
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth -= 1,
                _ => {}
            }
        }
        let end_here = code
            && depth == 0
            && (b == b';'
                || (b == b'\n' && {
                    let before = significant(start..i);
                    let after = clean[i..].trim_start();
                    !before.is_empty() && line_ends_statement(&before, after)
                })
                || (b == b'}' && {
                    let after = clean[i + 1..].trim_start();
                    let before = significant(start..i + 1);
                    block_ends_statement(&before, after)
                }));
        if end_here {
            let stop = if b == b'\n' { i } else { i + 1 };
            out.push(start..stop);
            start = i + 1;
        }
        i += 1;
    }
    out.push(start..bytes.len());
    // A control keyword with a body that is a single statement takes the next one along.
    let mut merged: Vec<Range<usize>> = Vec::new();
    let mut pending: Option<Range<usize>> = None;
    for range in out {
        let text = clean[range.clone()].trim();
        if text.is_empty() {
            continue;
        }
        let range = match pending.take() {
            Some(p) => p.start..range.end,
            None => range,
        };
        let whole = clean[range.clone()].trim();
        if opens_bodyless_control(whole) {
            pending = Some(range);
        } else {
            merged.push(range);
        }
    }
    merged.extend(pending);
    merged
}

/// After a line break outside brackets: is the statement before it complete?
fn line_ends_statement(before: &str, after: &str) -> bool {
    let continues_before = before.ends_with(|c: char| "([{,=+-*/%&|!?:.<>^~".contains(c))
        || ends_with_word(
            before,
            &["return", "typeof", "new", "in", "of", "instanceof"],
        );
    let continues_after = after.starts_with(|c: char| ".?:)]},+*/%&|=<>^".contains(c))
        || (after.starts_with('-') && !after.starts_with("--"))
        || starts_with_word(
            after,
            &["else", "catch", "finally", "in", "of", "instanceof"],
        );
    !(continues_before || continues_after)
}

/// After a `}` outside brackets: does it end a statement (a block), or is it inside one
/// (`} else {`, `}).then(`, an object literal in an expression)?
fn block_ends_statement(before: &str, after: &str) -> bool {
    let continues = after.starts_with(|c: char| ".?:)]},;+*/%&|=<>^-(".contains(c))
        || starts_with_word(after, &["else", "catch", "finally", "while"]);
    if continues {
        return false;
    }
    // `var x = { … }` and `f({ … })` end at the line's end, not at the brace.
    let head = before.trim_start();
    starts_with_word(
        head,
        &[
            "if", "for", "while", "do", "try", "switch", "function", "else", "class", "async",
        ],
    ) || head.starts_with('{')
}

fn opens_bodyless_control(text: &str) -> bool {
    if !starts_with_word(text, &["if", "for", "while", "else", "with"]) {
        return false;
    }
    text.ends_with(')') || text == "else"
}

fn starts_with_word(text: &str, words: &[&str]) -> bool {
    words.iter().any(|w| {
        text.strip_prefix(w)
            .is_some_and(|r| !r.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'))
    })
}

fn ends_with_word(text: &str, words: &[&str]) -> bool {
    words.iter().any(|w| {
        text.strip_suffix(w).is_some_and(|r| {
            !r.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        })
    })
}

/// One step of a JSON path.
#[derive(Clone, Debug, PartialEq)]
enum Segment {
    Key(String),
    Index(u64),
}

/// What a JavaScript expression of a test script stands for.
#[derive(Clone, Debug, PartialEq)]
enum Subject {
    /// A value inside the JSON body.
    Json(Vec<Segment>),
    /// A header's value (`undefined` when absent).
    Header(String),
    Status,
    Body,
    /// `pm.response.responseTime`, `responseTime`.
    Time,
    Value(JsValue),
    /// The `.length` of a string or an array.
    Length(Box<Subject>),
    /// A boolean computed from the response: these checks all hold.
    Condition(Vec<Check>),
}

/// A condition on the response whose meaning is certain.
#[derive(Clone, Debug, PartialEq)]
enum Check {
    Status(Vec<Status>),
    Json(Vec<Segment>, JsValue),
    Header(String, JsValue),
    Expr(String),
}

/// Expressions that parse the response body as JSON.
const BASES: &[&str] = &[
    "pm.response.json()",
    "JSON.parse(responseBody)",
    "JSON.parse(pm.response.text())",
];

/// Reads statements, keeping the names a script binds.
#[derive(Default, Clone)]
struct Reader {
    aliases: Vec<(String, Subject)>,
}

impl Reader {
    /// Translates a block's statements into `out`; returns whether all were translated.
    fn block(&mut self, text: &str, out: &mut Translation, kept: &mut Vec<String>) -> bool {
        let (clean, _) = scan(text);
        let mut all = true;
        for range in statements(text) {
            let statement = clean[range.clone()].trim();
            let shown = &text[range];
            let statement = statement.strip_suffix(';').unwrap_or(statement).trim_end();
            if statement.is_empty() {
                continue;
            }
            if let Some(body) = test_body(statement) {
                let saved = self.aliases.clone();
                let mut inner_kept = Vec::new();
                let ok = self.block(body, out, &mut inner_kept);
                self.aliases = saved;
                if ok {
                    out.translated += 1;
                } else {
                    kept.extend(inner_kept);
                    all = false;
                }
                continue;
            }
            if let Some(condition) = legacy_test(statement) {
                if let Some(checks) = self.condition(condition) {
                    apply_checks(checks, out);
                    out.translated += 1;
                } else {
                    kept.push(shown.trim_matches('\n').to_owned());
                    all = false;
                }
                continue;
            }
            if let Some(name) = unset(statement) {
                if !out.unsets.contains(&name) {
                    out.unsets.push(name);
                }
                kept.push(shown.trim_matches('\n').to_owned());
                all = false;
                continue;
            }
            if !self.statement(statement, out) {
                kept.push(shown.trim_matches('\n').to_owned());
                all = false;
            }
        }
        all
    }

    /// Translates one statement that is not a test; false when it is not a known pattern.
    fn statement(&mut self, text: &str, out: &mut Translation) -> bool {
        if is_quiet_log(text) {
            return true;
        }
        if let Some(ok) = self.declaration(text) {
            return ok;
        }
        if let Some((name, value)) = setter(text) {
            let Some(source) = self.subject(value).and_then(capture_source) else {
                return false;
            };
            if let Some(entry) = out.captures.iter_mut().find(|(n, _)| *n == name) {
                entry.1 = source;
            } else {
                out.captures.push((name, source));
            }
            return true;
        }
        if let Some(checks) = response_assertion(text) {
            apply_checks(checks, out);
            return true;
        }
        if let Some(checks) = self.expectation(text) {
            apply_checks(checks, out);
            return true;
        }
        false
    }

    /// `var a = …`, `let a = …, b = …`, `const { a, b: c } = pm.response.json()`.
    fn declaration(&mut self, text: &str) -> Option<bool> {
        let rest = ["var ", "let ", "const "]
            .iter()
            .find_map(|k| text.strip_prefix(k))?;
        let mut bound = Vec::new();
        for declarator in split_top(rest, ",") {
            let Some((target, value)) = split_assignment(declarator) else {
                return Some(false);
            };
            let target = target.trim();
            let value = value.trim();
            // `responseJSON.user || {}`: the object, or an empty one that has nothing.
            let value = value
                .strip_suffix("{}")
                .and_then(|v| v.trim_end().strip_suffix("||"))
                .map_or(value, str::trim_end);
            let Some(subject) = self
                .subject(value)
                .or_else(|| self.condition(value).map(Subject::Condition))
            else {
                return Some(false);
            };
            if let Some(fields) = target.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                let Subject::Json(base) = subject else {
                    return Some(false);
                };
                for field in split_top(fields, ",") {
                    let field = field.trim();
                    if field.is_empty() {
                        continue;
                    }
                    let (key, name) = field
                        .split_once(':')
                        .map_or((field, field), |(k, n)| (k.trim(), n.trim()));
                    if !is_identifier(key) || !is_identifier(name) {
                        return Some(false);
                    }
                    let mut path = base.clone();
                    path.push(Segment::Key(key.to_owned()));
                    bound.push((name.to_owned(), Subject::Json(path)));
                }
            } else if is_identifier(target) {
                bound.push((target.to_owned(), subject));
            } else {
                return Some(false);
            }
        }
        for (name, subject) in bound {
            self.aliases.retain(|(n, _)| *n != name);
            self.aliases.push((name, subject));
        }
        Some(true)
    }

    /// Reads a value expression: the response body, a header, the status, a literal, a variable,
    /// or a name bound earlier.
    fn subject(&self, text: &str) -> Option<Subject> {
        let text = strip_parens(text.trim());
        if let Some(value) = js_value(text) {
            return Some(Subject::Value(value));
        }
        match text {
            "pm.response.code" | "responseCode.code" => return Some(Subject::Status),
            "pm.response.text()" | "responseBody" => return Some(Subject::Body),
            "pm.response.responseTime" | "responseTime" => return Some(Subject::Time),
            _ => {}
        }
        for prefix in [
            "pm.response.headers.get(",
            "postman.getResponseHeader(",
            "pm.response.headers.one(",
        ] {
            if let Some(rest) = text.strip_prefix(prefix) {
                let (name, rest) = string_literal(rest.trim_start())?;
                return (rest.trim() == ")").then_some(Subject::Header(name));
            }
        }
        let (base, rest) = BASES
            .iter()
            .find_map(|b| text.strip_prefix(b).map(|r| (Subject::Json(Vec::new()), r)))
            .or_else(|| {
                self.aliases.iter().rev().find_map(|(name, subject)| {
                    let rest = text.strip_prefix(name.as_str())?;
                    let boundary = rest
                        .chars()
                        .next()
                        .is_none_or(|c| c == '.' || c == '[' || c.is_whitespace());
                    boundary.then(|| (subject.clone(), rest))
                })
            })?;
        if rest.trim().is_empty() {
            return Some(base);
        }
        let Subject::Json(mut path) = base else {
            return None;
        };
        let mut rest = rest.trim_start();
        loop {
            if rest.is_empty() {
                return Some(Subject::Json(path));
            }
            if rest.trim() == ".length" {
                return Some(Subject::Length(Box::new(Subject::Json(path))));
            }
            let (segment, tail) = member(rest)?;
            path.push(segment);
            rest = tail.trim_start();
        }
    }

    /// Reads a literal, a variable, or a name bound to one.
    fn value(&self, text: &str) -> Option<JsValue> {
        match self.subject(text)? {
            Subject::Value(value) => Some(value),
            _ => None,
        }
    }

    /// Reads `tests[…] = CONDITION`'s condition, or a boolean a script binds to a name.
    fn condition(&self, text: &str) -> Option<Vec<Check>> {
        let text = strip_parens(text.trim());
        let parts = split_top(text, "&&");
        if parts.len() > 1 {
            let mut out = Vec::new();
            for part in parts {
                out.extend(self.condition(part)?);
            }
            return Some(out);
        }
        let parts = split_top(text, "||");
        if parts.len() > 1 {
            let alternatives = parts
                .iter()
                .map(|p| self.condition(p))
                .collect::<Option<Vec<_>>>()?;
            let mut statuses = Vec::new();
            let all_status = alternatives.iter().all(|a| match a.as_slice() {
                [Check::Status(s)] => {
                    statuses.extend(s.iter().cloned());
                    true
                }
                _ => false,
            });
            if all_status {
                return Some(vec![Check::Status(statuses)]);
            }
            let expressions: Vec<String> = alternatives
                .iter()
                .map(|a| format!("({})", all_of(a)))
                .collect();
            return Some(vec![Check::Expr(expressions.join(" or "))]);
        }
        for operator in ["===", "!==", "==", "!=", "<=", ">=", "<", ">"] {
            let parts = split_top(text, operator);
            if let [left, right] = parts.as_slice() {
                return self.comparison(left.trim(), operator, right.trim());
            }
        }
        if let Some((object, key)) = call_with_string(text, ".hasOwnProperty(") {
            let subject = self.subject(object)?;
            return has_own_property(&subject, &key).map(|c| vec![c]);
        }
        if let Some((object, needle)) = call_with_string(text, ".has(") {
            return (self.subject(object)? == Subject::Body)
                .then(|| vec![Check::Expr(format!("{} in body", jinja_string(&needle)))]);
        }
        for (call, kind) in [
            ("Array.isArray(", "array"),
            ("Number.isInteger(", "integer"),
        ] {
            if let Some(inner) = text.strip_prefix(call).and_then(|r| r.strip_suffix(')')) {
                let expression = self.subject(inner)?;
                let e = expr(&expression)?;
                return Some(vec![Check::Expr(if kind == "array" {
                    format!("{e} is defined and {e} is sequence")
                } else {
                    format!("{e} is integer")
                })]);
            }
        }
        match self.subject(text)? {
            Subject::Condition(checks) => Some(checks),
            Subject::Value(JsValue::Bool(true)) => Some(Vec::new()),
            // A header that is there with a value.
            Subject::Header(name) => {
                let key = jinja_string(&name.to_ascii_lowercase());
                Some(vec![Check::Expr(format!(
                    "{key} in headers and headers[{key}] != ''"
                ))])
            }
            _ => None,
        }
    }

    fn comparison(&self, left: &str, operator: &str, right: &str) -> Option<Vec<Check>> {
        if let Some(kind) = left.strip_prefix("typeof ") {
            if !matches!(operator, "===" | "==") {
                return None;
            }
            let subject = self.subject(kind)?;
            let JsValue::Str(name) = js_value(right)? else {
                return None;
            };
            return type_check(&subject, &name).map(|c| vec![c]);
        }
        let subject = self.subject(left)?;
        if right == "undefined" {
            return (operator == "!==" || operator == "!=")
                .then(|| expr(&subject))
                .flatten()
                .map(|e| vec![Check::Expr(format!("{e} is defined"))]);
        }
        let value = js_value(right)?;
        match operator {
            "===" => equal(&subject, &value).map(|c| vec![c]),
            // Loose equality is strict equality where both sides have one type.
            "==" => match (&subject, &value) {
                (Subject::Status, JsValue::Number(_))
                | (Subject::Header(_) | Subject::Body, JsValue::Str(_)) => {
                    equal(&subject, &value).map(|c| vec![c])
                }
                _ => None,
            },
            "<" | ">" | "<=" | ">=" => {
                let JsValue::Number(n) = value else {
                    return None;
                };
                compare(&subject, operator, &n).map(|c| vec![c])
            }
            _ => None,
        }
    }

    /// `pm.expect(SUBJECT).to.CHAIN(…)` with Chai's BDD words.
    fn expectation(&self, text: &str) -> Option<Vec<Check>> {
        let rest = text.strip_prefix("pm.expect(")?;
        let close = closing(rest, ')')?;
        let arguments = split_top(&rest[..close], ",");
        let mut subject = self.subject(arguments.first()?)?;
        let chain = parse_chain(&rest[close + 1..])?;
        let mut out = Vec::new();
        for (word, args) in chain {
            match (word, args) {
                (
                    "to" | "be" | "been" | "is" | "that" | "which" | "and" | "has" | "have"
                    | "with" | "at" | "of" | "same" | "but" | "does" | "still" | "also"
                    // Deep and strict equality agree on the literals translated.
                    | "deep",
                    None,
                ) => {}
                ("length" | "lengthOf", None) => subject = Subject::Length(Box::new(subject)),
                ("equal" | "equals" | "eq" | "eql" | "eqls", Some(args)) => {
                    let value = self.value(args)?;
                    out.push(equal(&subject, &value)?);
                }
                ("a" | "an", Some(args)) => {
                    let JsValue::Str(kind) = js_value(args)? else {
                        return None;
                    };
                    out.push(type_check(&subject, &kind.to_ascii_lowercase())?);
                }
                ("include" | "includes" | "contain" | "contains", Some(args)) => {
                    let JsValue::Str(needle) = js_value(args)? else {
                        return None;
                    };
                    out.push(include(&subject, &needle)?);
                }
                ("property", Some(args)) => {
                    let parts = split_top(args, ",");
                    let (key, _) = string_literal(parts.first()?.trim())?;
                    out.push(has_property(&subject, &key)?);
                    let Subject::Json(mut path) = subject.clone() else {
                        return None;
                    };
                    path.push(Segment::Key(key));
                    subject = Subject::Json(path);
                    match parts.as_slice() {
                        [_] => {}
                        [_, value] => out.push(equal(&subject, &self.value(value)?)?),
                        _ => return None,
                    }
                }
                ("lengthOf" | "length", Some(args)) => {
                    let JsValue::Number(n) = js_value(args)? else {
                        return None;
                    };
                    let length = Subject::Length(Box::new(subject.clone()));
                    out.push(equal(&length, &JsValue::Number(n))?);
                }
                (
                    "above" | "gt" | "greaterThan" | "below" | "lt" | "lessThan" | "least" | "gte"
                    | "greaterThanOrEqual" | "most" | "lte" | "lessThanOrEqual",
                    Some(args),
                ) => {
                    let JsValue::Number(n) = js_value(args)? else {
                        return None;
                    };
                    let operator = match word {
                        "above" | "gt" | "greaterThan" => ">",
                        "below" | "lt" | "lessThan" => "<",
                        "least" | "gte" | "greaterThanOrEqual" => ">=",
                        _ => "<=",
                    };
                    out.push(compare(&subject, operator, &n)?);
                }
                ("oneOf", Some(args)) => {
                    let list = args.trim().strip_prefix('[')?.strip_suffix(']')?;
                    let values = split_top(list, ",")
                        .into_iter()
                        .map(|v| self.value(v))
                        .collect::<Option<Vec<_>>>()?;
                    out.push(one_of(&subject, &values)?);
                }
                ("true" | "false", None) => {
                    out.push(Check::Expr(format!("{} is {word}", expr(&subject)?)));
                }
                ("null", None) => out.push(Check::Expr(format!("{} is none", expr(&subject)?))),
                ("exist", None) => {
                    let e = expr(&subject)?;
                    out.push(Check::Expr(format!("{e} is defined and {e} is not none")));
                }
                ("ok", None) => {
                    let e = expr(&subject)?;
                    // JavaScript's truthiness: an empty list or object is true.
                    out.push(Check::Expr(format!(
                        "{e} is defined and ({e} is sequence or {e} is mapping or {e})"
                    )));
                }
                ("empty", None) => {
                    let e = expr(&subject)?;
                    out.push(Check::Expr(format!(
                        "({e} is string or {e} is mapping or ({e} is defined and {e} is sequence)) and {e} | length == 0"
                    )));
                }
                _ => return None,
            }
        }
        (!out.is_empty()).then_some(out)
    }
}

/// Turns a subject into a capture's source.
fn capture_source(subject: Subject) -> Option<Source> {
    Some(match subject {
        Subject::Json(path) => Source::Json(json_path(&path)),
        Subject::Header(name) => Source::Header(name),
        Subject::Status => Source::Status,
        Subject::Body => Source::Body,
        Subject::Value(value) => Source::Value(value),
        Subject::Time | Subject::Length(_) | Subject::Condition(_) => return None,
    })
}

/// Adds checks to a translation: the first status is `expect.status`, the first value of a path
/// or header goes to `expect.json` or `expect.headers`, anything more becomes an expression.
fn apply_checks(checks: Vec<Check>, out: &mut Translation) {
    for check in checks {
        match check {
            Check::Status(codes) if out.status.is_empty() => out.status = codes,
            Check::Status(codes) if out.status == codes => {}
            Check::Json(path, value) => {
                let path_text = json_path(&path);
                match out.json.iter().find(|(p, _)| *p == path_text) {
                    None => out.json.push((path_text, value)),
                    Some((_, existing)) if *existing == value => {}
                    Some(_) => push_expr(out, all_of(&[Check::Json(path, value)])),
                }
            }
            Check::Header(name, value) => {
                let same = |n: &String| n.eq_ignore_ascii_case(&name);
                match out.headers.iter().find(|(n, _)| same(n)) {
                    None => out.headers.push((name, value)),
                    Some((_, existing)) if *existing == value => {}
                    Some(_) => push_expr(out, all_of(&[Check::Header(name, value)])),
                }
            }
            other => push_expr(out, all_of(&[other])),
        }
    }
}

fn push_expr(out: &mut Translation, expression: String) {
    if !out.checks.contains(&expression) {
        out.checks.push(expression);
    }
}

/// Writes checks as one expression that holds when all of them do.
fn all_of(checks: &[Check]) -> String {
    let parts: Vec<String> = checks
        .iter()
        .map(|check| match check {
            Check::Status(codes) => {
                let alternatives: Vec<String> = codes
                    .iter()
                    .map(|s| match s {
                        Status::Code(code) => format!("status == {code}"),
                        Status::Class(class) => format!("status // 100 == {class}"),
                    })
                    .collect();
                if alternatives.len() == 1 {
                    alternatives.join("")
                } else {
                    format!("({})", alternatives.join(" or "))
                }
            }
            Check::Json(path, value) => strict_equal(&jinja_path(path), value),
            Check::Header(name, value) => format!(
                "headers[{}] == {}",
                jinja_string(&name.to_ascii_lowercase()),
                jinja_value(value)
            ),
            Check::Expr(e) => e.clone(),
        })
        .collect();
    if parts.is_empty() {
        "true".to_owned()
    } else {
        parts.join(" and ")
    }
}

/// `e === value` in JavaScript, as an expression: a number is not a boolean in JavaScript.
fn strict_equal(e: &str, value: &JsValue) -> String {
    match value {
        JsValue::Str(_) | JsValue::Variable(_) => format!("{e} == {}", jinja_value(value)),
        JsValue::Number(n) => format!("({e} is number and {e} is not boolean and {e} == {n})"),
        JsValue::Bool(b) => format!("{e} is {b}"),
        JsValue::Null => format!("{e} is none"),
    }
}

/// A subject's expression in checks.
fn expr(subject: &Subject) -> Option<String> {
    Some(match subject {
        Subject::Json(path) => jinja_path(path),
        Subject::Header(name) => format!("headers[{}]", jinja_string(&name.to_ascii_lowercase())),
        Subject::Status => "status".to_owned(),
        Subject::Body => "body".to_owned(),
        Subject::Time => "duration_ms".to_owned(),
        Subject::Value(value) => jinja_value(value),
        Subject::Length(inner) => format!("{} | length", expr(inner)?),
        Subject::Condition(checks) => format!("({})", all_of(checks)),
    })
}

/// For the `.length` of a value: the condition that it has one as JavaScript counts it (a string
/// or a list).
fn has_length(subject: &Subject) -> Option<String> {
    let Subject::Length(inner) = subject else {
        return None;
    };
    let e = expr(inner)?;
    Some(match **inner {
        Subject::Body | Subject::Header(_) => format!("{e} is string"),
        _ => format!("({e} is string or ({e} is defined and {e} is sequence))"),
    })
}

/// `subject === value`.
fn equal(subject: &Subject, value: &JsValue) -> Option<Check> {
    if let Some(guard) = has_length(subject) {
        let JsValue::Number(n) = value else {
            return None;
        };
        return Some(Check::Expr(format!(
            "{guard} and {} == {n}",
            expr(subject)?
        )));
    }
    match subject {
        Subject::Status => status_of(value).map(|s| Check::Status(vec![s])),
        Subject::Json(path) => Some(Check::Json(path.clone(), value.clone())),
        Subject::Header(name) => match value {
            JsValue::Str(_) | JsValue::Variable(_) => {
                Some(Check::Header(name.clone(), value.clone()))
            }
            // A header's value is text: it never equals a number, a boolean or null.
            _ => None,
        },
        Subject::Condition(_) | Subject::Value(_) => None,
        _ => Some(Check::Expr(strict_equal(&expr(subject)?, value))),
    }
}

/// `subject < n` and friends: Chai and JavaScript compare numbers only.
fn compare(subject: &Subject, operator: &str, n: &str) -> Option<Check> {
    let e = expr(subject)?;
    Some(Check::Expr(match subject {
        Subject::Status | Subject::Time => format!("{e} {operator} {n}"),
        Subject::Length(_) => format!("{} and {e} {operator} {n}", has_length(subject)?),
        Subject::Json(_) => {
            format!("({e} is number and {e} is not boolean and {e} {operator} {n})")
        }
        _ => return None,
    }))
}

/// `.to.be.a("string")` and `typeof x === "string"`.
fn type_check(subject: &Subject, kind: &str) -> Option<Check> {
    let e = expr(subject)?;
    let test = match kind {
        "string" => format!("{e} is string"),
        "number" => format!("({e} is number and {e} is not boolean)"),
        "boolean" => format!("{e} is boolean"),
        "array" => format!("({e} is defined and {e} is sequence)"),
        "object" => format!("{e} is mapping"),
        "null" => format!("{e} is none"),
        _ => return None,
    };
    // `typeof null` is "object", Chai's `a("object")` is false for it and for arrays; only the
    // Chai reading is written here, so `typeof` of "object" is not translated.
    Some(Check::Expr(test))
}

/// `.to.include("text")`: a substring of a string, or an element of a list.
fn include(subject: &Subject, needle: &str) -> Option<Check> {
    let e = expr(subject)?;
    let n = jinja_string(needle);
    Some(Check::Expr(match subject {
        Subject::Body | Subject::Header(_) => format!("{n} in {e}"),
        Subject::Json(_) => {
            format!("({e} is string or ({e} is defined and {e} is sequence)) and {n} in {e}")
        }
        _ => return None,
    }))
}

/// `.to.have.property("k")`: an object with the key (own or inherited, so no names objects
/// inherit, and no array indexes).
fn has_property(subject: &Subject, key: &str) -> Option<Check> {
    if INHERITED.contains(&key) || key.is_empty() || key.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let Subject::Json(_) = subject else {
        return None;
    };
    let e = expr(subject)?;
    Some(Check::Expr(format!(
        "{e} is mapping and {} in {e}",
        jinja_string(key)
    )))
}

/// `x.hasOwnProperty("k")`.
fn has_own_property(subject: &Subject, key: &str) -> Option<Check> {
    if key == "__proto__" || key.is_empty() || key.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let Subject::Json(_) = subject else {
        return None;
    };
    let e = expr(subject)?;
    Some(Check::Expr(format!(
        "{e} is mapping and {} in {e}",
        jinja_string(key)
    )))
}

/// Names every object inherits in JavaScript.
const INHERITED: &[&str] = &[
    "constructor",
    "toString",
    "toLocaleString",
    "valueOf",
    "hasOwnProperty",
    "isPrototypeOf",
    "propertyIsEnumerable",
    "__proto__",
    "__defineGetter__",
    "__defineSetter__",
    "__lookupGetter__",
    "__lookupSetter__",
];

fn one_of(subject: &Subject, values: &[JsValue]) -> Option<Check> {
    if values.is_empty() {
        return None;
    }
    if *subject == Subject::Status {
        return values
            .iter()
            .map(status_of)
            .collect::<Option<Vec<_>>>()
            .map(Check::Status);
    }
    let e = expr(subject)?;
    let alternatives: Vec<String> = values.iter().map(|v| strict_equal(&e, v)).collect();
    Some(Check::Expr(format!("({})", alternatives.join(" or "))))
}

/// `pm.response.to.have.status(200)`, `pm.response.to.be.ok`, `pm.response.to.have.header(…)`,
/// `pm.response.to.have.jsonBody("a.b", v)`, `pm.response.to.have.body("text")`.
fn response_assertion(text: &str) -> Option<Vec<Check>> {
    let rest = text.strip_prefix("pm.response.to")?;
    let chain = parse_chain(rest)?;
    let mut out = Vec::new();
    for (word, args) in chain {
        let check = match (word, args) {
            ("be" | "have" | "and" | "that" | "is" | "with", None) => continue,
            ("status", Some(args)) => {
                let code: u16 = args.trim().parse().ok()?;
                if !(100..=599).contains(&code) {
                    return None;
                }
                Check::Status(vec![Status::Code(code)])
            }
            ("header", Some(args)) => {
                let parts = split_top(args, ",");
                let (name, tail) = string_literal(parts.first()?.trim())?;
                if !tail.trim().is_empty() {
                    return None;
                }
                match parts.as_slice() {
                    [_] => Check::Expr(format!(
                        "{} in headers",
                        jinja_string(&name.to_ascii_lowercase())
                    )),
                    [_, value] => {
                        let value = js_value(value.trim())?;
                        matches!(value, JsValue::Str(_) | JsValue::Variable(_))
                            .then_some(Check::Header(name, value))?
                    }
                    _ => return None,
                }
            }
            ("jsonBody", Some(args)) => {
                let parts = split_top(args, ",");
                let (path, tail) = string_literal(parts.first()?.trim())?;
                if !tail.trim().is_empty() {
                    return None;
                }
                let path = lodash_path(&path)?;
                match parts.as_slice() {
                    [_] => Check::Expr(format!("{} is defined", jinja_path(&path))),
                    [_, value] => Check::Json(path, js_value(value.trim())?),
                    _ => return None,
                }
            }
            ("body", Some(args)) => {
                let JsValue::Str(text) = js_value(args)? else {
                    return None;
                };
                Check::Expr(format!("body == {}", jinja_string(&text)))
            }
            (word, None) => Check::Status(vec![named_status(word)?]),
            _ => return None,
        };
        out.push(check);
    }
    (!out.is_empty()).then_some(out)
}

/// The statuses chai-postman names.
fn named_status(word: &str) -> Option<Status> {
    Some(match word {
        "ok" => Status::Code(200),
        "accepted" => Status::Code(202),
        "created" => Status::Code(201),
        "withoutContent" | "noContent" => Status::Code(204),
        "badRequest" => Status::Code(400),
        "unauthorized" | "unauthorised" => Status::Code(401),
        "forbidden" => Status::Code(403),
        "notFound" => Status::Code(404),
        "rateLimited" => Status::Code(429),
        "info" => Status::Class(1),
        "success" => Status::Class(2),
        "redirection" => Status::Class(3),
        "clientError" => Status::Class(4),
        "serverError" => Status::Class(5),
        _ => return None,
    })
}

/// A lodash path as `jsonBody` takes it: `a.b[0].c`.
fn lodash_path(text: &str) -> Option<Vec<Segment>> {
    let mut out = Vec::new();
    for part in text.split('.') {
        let (name, mut rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
        if !name.is_empty() {
            out.push(Segment::Key(name.to_owned()));
        }
        while !rest.is_empty() {
            let (index, tail) = rest.split_once(']')?;
            out.push(Segment::Index(index.parse().ok()?));
            rest = tail.strip_prefix('[').unwrap_or(tail);
            if !tail.is_empty() && !tail.starts_with('[') {
                return None;
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Reads `.word` and `.word(args)` links.
fn parse_chain(text: &str) -> Option<Vec<(&str, Option<&str>)>> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let after = rest.strip_prefix('.')?.trim_start();
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let word = &after[..end];
        if word.is_empty() {
            return None;
        }
        let tail = after[end..].trim_start();
        if let Some(args) = tail.strip_prefix('(') {
            let close = closing(args, ')')?;
            out.push((word, Some(args[..close].trim())));
            rest = args[close + 1..].trim_start();
        } else {
            out.push((word, None));
            rest = tail;
        }
    }
    Some(out)
}

/// `pm.test("name", function () { BODY })` or `pm.test("name", () => BODY)`: the body.
fn test_body(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("pm.test(")?;
    let close = closing(rest, ')')?;
    if !rest[close + 1..].trim().is_empty() {
        return None;
    }
    let arguments = split_top(&rest[..close], ",");
    let [_, function] = arguments.as_slice() else {
        return None;
    };
    let function = function.trim();
    let function = function
        .strip_prefix("async ")
        .map_or(function, str::trim_start);
    if let Some(after) = function.strip_prefix("function") {
        let after = after.trim_start();
        let after = after.strip_prefix("()")?.trim_start();
        return after.strip_prefix('{')?.strip_suffix('}');
    }
    let after = function
        .strip_prefix("()")?
        .trim_start()
        .strip_prefix("=>")?
        .trim();
    Some(match after.strip_prefix('{') {
        Some(block) => block.strip_suffix('}')?,
        None => after,
    })
}

/// `tests["name"] = CONDITION`: the condition.
fn legacy_test(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("tests[")?;
    let close = closing(rest, ']')?;
    let rest = rest[close + 1..].trim_start().strip_prefix('=')?;
    (!rest.starts_with('=')).then(|| rest.trim())
}

/// `pm.environment.unset("x")`, `postman.clearEnvironmentVariable("x")` and friends.
fn unset(text: &str) -> Option<String> {
    const UNSETS: &[&str] = &[
        "pm.environment.unset(",
        "pm.collectionVariables.unset(",
        "pm.globals.unset(",
        "pm.variables.unset(",
        "postman.clearEnvironmentVariable(",
        "postman.clearGlobalVariable(",
    ];
    let rest = UNSETS.iter().find_map(|s| text.strip_prefix(s))?;
    let (name, rest) = string_literal(rest.trim_start())?;
    (rest.trim() == ")").then_some(name)
}

/// `console.log("text", name)`: prints, changes nothing, and cannot fail.
fn is_quiet_log(text: &str) -> bool {
    let Some(rest) = [
        "console.log(",
        "console.info(",
        "console.warn(",
        "console.error(",
    ]
    .iter()
    .find_map(|p| text.strip_prefix(p)) else {
        return false;
    };
    let Some(args) = rest.strip_suffix(')') else {
        return false;
    };
    split_top(args, ",").iter().all(|arg| {
        split_top(arg, "+").iter().all(|part| {
            let part = part.trim();
            string_literal(part).is_some_and(|(_, r)| r.trim().is_empty())
                || (is_identifier(part) && part != "undefined")
                || SAFE_READS.contains(&part)
                || part.strip_prefix("pm.info.").is_some_and(is_identifier)
        })
    })
}

/// Reads of the response that cannot fail.
const SAFE_READS: &[&str] = &[
    "pm.response.code",
    "pm.response.status",
    "pm.response.responseTime",
    "pm.response.text()",
    "responseCode.code",
    "responseBody",
    "responseTime",
];

/// The setters of every scope, by their call's start.
const SETTERS: &[&str] = &[
    "pm.environment.set(",
    "pm.collectionVariables.set(",
    "pm.globals.set(",
    "pm.variables.set(",
    "postman.setEnvironmentVariable(",
    "postman.setGlobalVariable(",
];

/// `pm.environment.set("name", value)` and the other scopes; returns the name and the value text.
fn setter(text: &str) -> Option<(String, &str)> {
    let rest = SETTERS.iter().find_map(|s| text.strip_prefix(s))?;
    let (name, rest) = string_literal(rest.trim_start())?;
    let rest = rest.trim_start().strip_prefix(',')?;
    let value = rest.trim_end().strip_suffix(')')?.trim();
    Some((name, value))
}

/// Reads one property access: `.a`, `[0]` or `["b-c"]`.
fn member(rest: &str) -> Option<(Segment, &str)> {
    if let Some(after) = rest.strip_prefix('.') {
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
            .unwrap_or(after.len());
        let name = &after[..end];
        // `.length` and method calls are JavaScript, not data.
        if name.is_empty() || name == "length" || after[end..].trim_start().starts_with('(') {
            return None;
        }
        return Some((Segment::Key(name.to_owned()), &after[end..]));
    }
    let after = rest.strip_prefix('[')?.trim_start();
    if let Some((key, tail)) = string_literal(after) {
        return Some((Segment::Key(key), tail.trim_start().strip_prefix(']')?));
    }
    let end = after.find(']')?;
    let index: u64 = after[..end].trim().parse().ok()?;
    Some((Segment::Index(index), &after[end + 1..]))
}

/// The path as a `JSONPath`.
fn json_path(path: &[Segment]) -> String {
    let mut out = "$".to_owned();
    for segment in path {
        match segment {
            Segment::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
            Segment::Key(name) if is_identifier(name) && !name.contains('$') => {
                out.push('.');
                out.push_str(name);
            }
            Segment::Key(name) => {
                out.push_str("['");
                out.push_str(&name.replace('\\', "\\\\").replace('\'', "\\'"));
                out.push_str("']");
            }
        }
    }
    out
}

/// Words an expression cannot use after a dot.
const KEYWORDS: &[&str] = &[
    "true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is", "if", "else",
];

/// The path as an expression over `json`.
fn jinja_path(path: &[Segment]) -> String {
    let mut out = "json".to_owned();
    for segment in path {
        match segment {
            Segment::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
            Segment::Key(name)
                if is_identifier(name)
                    && !name.contains('$')
                    && !KEYWORDS.contains(&name.as_str()) =>
            {
                out.push('.');
                out.push_str(name);
            }
            Segment::Key(name) => {
                let _ = write!(out, "[{}]", jinja_string(name));
            }
        }
    }
    out
}

fn jinja_value(value: &JsValue) -> String {
    match value {
        JsValue::Str(s) => jinja_string(s),
        JsValue::Number(n) => n.clone(),
        JsValue::Bool(b) => b.to_string(),
        JsValue::Null => "none".to_owned(),
        JsValue::Variable(name) => format!("{VAR_OPEN}{name}{VAR_CLOSE}"),
    }
}

/// Writes text as a string literal of an expression.
fn jinja_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            other => out.push(other),
        }
    }
    out.push('\'');
    out
}

fn is_identifier(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// Removes parentheses around a whole expression.
fn strip_parens(mut text: &str) -> &str {
    while let Some(inner) = text.strip_prefix('(')
        && closing(inner, ')') == Some(inner.len() - 1)
    {
        text = inner[..inner.len() - 1].trim();
    }
    text
}

/// Splits an assignment `target = value` at its first top-level `=`.
fn split_assignment(text: &str) -> Option<(&str, &str)> {
    let mut depth = 0i32;
    let bytes = text.as_bytes();
    for (i, c) in outside_strings(text) {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            '=' if depth == 0 => {
                let next = bytes.get(i + 1).copied();
                let previous = i.checked_sub(1).and_then(|p| bytes.get(p)).copied();
                if next != Some(b'=')
                    && next != Some(b'>')
                    && !matches!(previous, Some(b'=' | b'!' | b'<' | b'>'))
                {
                    return Some((&text[..i], &text[i + 1..]));
                }
            }
            _ => {}
        }
    }
    None
}

/// Splits on an operator outside strings and brackets.
fn split_top<'a>(text: &'a str, operator: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let bytes = text.as_bytes();
    let first = operator.chars().next().unwrap_or(' ');
    let mut skip_to = 0;
    for (i, c) in outside_strings(text) {
        if i < skip_to {
            continue;
        }
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            _ if depth == 0 && c == first && text[i..].starts_with(operator) => {
                // `==` is not `===`, `<` is not `<=` nor `=>`.
                let next = bytes.get(i + operator.len()).copied();
                let previous = i.checked_sub(1).and_then(|p| bytes.get(p)).copied();
                let longer = matches!(operator, "==" | "!=" | "<" | ">") && next == Some(b'=')
                    || matches!(operator, "==" | "<" | ">")
                        && matches!(previous, Some(b'=' | b'!' | b'<' | b'>'))
                    || operator == ">" && previous == Some(b'=')
                    || operator == "+" && (next == Some(b'+') || previous == Some(b'+'));
                if !longer {
                    out.push(&text[start..i]);
                    start = i + operator.len();
                    skip_to = start;
                }
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

/// Calls `OBJECT.method("text")`: returns the object and the text.
fn call_with_string<'a>(text: &'a str, method: &str) -> Option<(&'a str, String)> {
    let at = text.rfind(method)?;
    let (value, rest) = string_literal(text[at + method.len()..].trim_start())?;
    (rest.trim() == ")").then(|| (&text[..at], value))
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

/// Finds the `close` (`)` or `]`) that closes the call or bracket whose inside `text` starts
/// with, skipping nested brackets and strings.
fn closing(text: &str, close: char) -> Option<usize> {
    let mut depth = 0i32;
    for (i, c) in outside_strings(text) {
        match c {
            '(' | '[' | '{' => depth += 1,
            c if c == close && depth == 0 => return Some(i),
            ')' | ']' | '}' => depth -= 1,
            _ => {}
        }
    }
    None
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
    let text = text.trim();
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
        && !(number.len() > 1 && number.starts_with('0') && !number.starts_with("0."))
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
                '0' => '\0',
                'b' => '\u{8}',
                'f' => '\u{c}',
                'v' => '\u{b}',
                // `\xNN` and `\uNNNN` are not read: the value would be wrong.
                'x' | 'u' => return None,
                other => other,
            });
        } else {
            value.push(c);
        }
    }
    None
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

#[cfg(test)]
mod tests {
    use super::*;

    fn run(script: &str) -> Translation {
        translate(&script.lines().map(str::to_owned).collect::<Vec<_>>())
    }

    #[track_caller]
    fn complete(script: &str) -> Translation {
        let t = run(script);
        assert!(t.is_complete(), "{:?}", t.untranslated);
        assert_eq!(t.translated, t.assertions);
        t
    }

    #[test]
    fn reads_captures_from_the_body_and_headers() {
        let t = complete(
            r#"
var jsonData = JSON.parse(responseBody);
pm.environment.set("accessToken", jsonData.access_token);
const data = pm.response.json().data;
pm.collectionVariables.set("firstId", data.items[0]["user-id"]);
pm.globals.set("location", pm.response.headers.get("Location"));
postman.setEnvironmentVariable("whole", pm.response.json());
const { id, meta: info } = pm.response.json(); pm.variables.set("id", id); pm.variables.set("m", info)
"#,
        );
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
                ("id".into(), Source::Json("$.id".into())),
                ("m".into(), Source::Json("$.meta".into())),
            ]
        );
    }

    #[test]
    fn reads_status_assertions() {
        let t = complete(
            r#"pm.test("Status code is 201", function () {
    pm.response.to.have.status(201);
});
pm.test("type", () => { pm.expect(pm.response.json().token_type).to.eql("Bearer"); });"#,
        );
        assert_eq!(t.status, [Status::Code(201)]);
        assert_eq!(
            t.json,
            [("$.token_type".into(), JsValue::Str("Bearer".into()))]
        );
        let t = complete("pm.expect(pm.response.code).to.be.oneOf([200, 204]);");
        assert_eq!(t.status, [Status::Code(200), Status::Code(204)]);
        let t = complete(r#"tests["ok"] = responseCode.code === 200;"#);
        assert_eq!(t.status, [Status::Code(200)]);
        let t = complete(r#"tests["ok"] = responseCode.code === 201 || responseCode.code == 202"#);
        assert_eq!(t.status, [Status::Code(201), Status::Code(202)]);
        // Two statuses cannot both hold; both are kept, so the step fails as the tests do.
        let t = complete("pm.response.to.be.ok; pm.response.to.have.status(201)");
        assert_eq!(t.status, [Status::Code(200)]);
        assert_eq!(t.checks, ["status == 201"]);
    }

    #[test]
    fn legacy_tests_become_checks() {
        let t = complete(
            r#"tests["has"] = responseBody.has("created");
var body = JSON.parse(responseBody);
tests["a.b"] = body.a.b === "x";
tests["n"] = body.n === 5 && body.flag === true;
tests["fast"] = responseTime < 200;
tests["ct"] = postman.getResponseHeader("Content-Type") === "application/json";
tests["ct present"] = postman.getResponseHeader("X-Id");
tests["user"] = body.hasOwnProperty('user');
tests["list"] = Array.isArray(body.items);
tests["int"] = Number.isInteger(body.count);
tests["kind"] = typeof body.name === "string";
tests["some"] = body.items.length > 0;
var ok = responseCode.code === 200;
tests["status"] = ok;"#,
        );
        assert_eq!(t.status, [Status::Code(200)]);
        assert_eq!(
            t.json,
            [
                ("$.a.b".into(), JsValue::Str("x".into())),
                ("$.n".into(), JsValue::Number("5".into())),
                ("$.flag".into(), JsValue::Bool(true)),
            ]
        );
        assert_eq!(
            t.headers,
            [(
                "Content-Type".into(),
                JsValue::Str("application/json".into())
            )]
        );
        assert_eq!(
            t.checks,
            [
                "'created' in body",
                "duration_ms < 200",
                "'x-id' in headers and headers['x-id'] != ''",
                "json is mapping and 'user' in json",
                "json.items is defined and json.items is sequence",
                "json.count is integer",
                "json.name is string",
                "(json.items is string or (json.items is defined and json.items is sequence)) and json.items | length > 0",
            ]
        );
        assert_eq!(t.assertions, 12);
    }

    #[test]
    fn chai_expectations_keep_their_meaning() {
        let t = complete(
            r#"var jsonData = pm.response.json();
pm.test("all", function () {
    pm.expect(jsonData.name).to.be.a("string");
    pm.expect(jsonData.count).to.be.a('number');
    pm.expect(pm.response.text()).to.include("ok");
    pm.expect(jsonData.tags).to.include("new");
    pm.expect(jsonData).to.have.property("id");
    pm.expect(jsonData.args).to.have.property('source').and.equal('sample');
    pm.expect(jsonData.n).to.equal(1);
    pm.expect(jsonData.n).to.eql(2);
    pm.expect(jsonData.ok).to.be.true;
    pm.expect(jsonData.list).to.have.lengthOf(3);
    pm.expect(pm.response.responseTime).to.be.below(500);
    pm.expect(jsonData.id).to.equal(pm.environment.get("id"));
});"#,
        );
        assert_eq!(
            t.json,
            [
                ("$.args.source".into(), JsValue::Str("sample".into())),
                ("$.n".into(), JsValue::Number("1".into())),
                ("$.id".into(), JsValue::Variable("id".into())),
            ]
        );
        assert_eq!(
            t.checks,
            [
                "json.name is string",
                "(json.count is number and json.count is not boolean)",
                "'ok' in body",
                "(json.tags is string or (json.tags is defined and json.tags is sequence)) and 'new' in json.tags",
                "json is mapping and 'id' in json",
                "json.args is mapping and 'source' in json.args",
                // Strict equality: a second value for the same path is a check of its own.
                "(json.n is number and json.n is not boolean and json.n == 2)",
                "json.ok is true",
                "(json.list is string or (json.list is defined and json.list is sequence)) and json.list | length == 3",
                "duration_ms < 500",
            ]
        );
        assert_eq!(t.variables(), ["id"]);
    }

    #[test]
    fn response_assertions() {
        let t = complete(
            r#"pm.response.to.have.header("X-Trace");
pm.response.to.have.header("Content-Type", "application/json");
pm.response.to.have.jsonBody("data[0].id");
pm.response.to.have.jsonBody("token", "abc");
pm.response.to.have.body("done");
pm.response.to.be.success"#,
        );
        assert_eq!(t.status, [Status::Class(2)]);
        assert_eq!(t.json, [("$.token".into(), JsValue::Str("abc".into()))]);
        assert_eq!(
            t.checks,
            [
                "'x-trace' in headers",
                "json.data[0].id is defined",
                "body == 'done'"
            ]
        );
    }

    #[test]
    fn uncertain_code_is_kept_and_counted() {
        let t = run(r#"var body = pm.response.json();
if (body.items.length > 0) {
    pm.environment.set("firstId", body.items[0].id);
    tests["first"] = body.items[0].id === 1;
}
console.log(body);
pm.test("count", function () {
    pm.expect(body.items).to.have.members([1, 2]);
    pm.environment.set("count", body.items.length);
});
pm.test("regex", () => pm.expect(/"}/.test(pm.response.text())).to.be.true);
pm.environment.unset("old")"#);
        assert!(t.captures.is_empty());
        assert_eq!(t.assertions, 3);
        assert_eq!(t.translated, 0);
        assert_eq!(t.unsets, ["old"]);
        assert_eq!(
            t.untranslated,
            [
                "if (body.items.length > 0) {",
                "    pm.environment.set(\"firstId\", body.items[0].id);",
                "    tests[\"first\"] = body.items[0].id === 1;",
                "}",
                "    pm.expect(body.items).to.have.members([1, 2]);",
                "    pm.environment.set(\"count\", body.items.length);",
                "pm.test(\"regex\", () => pm.expect(/\"}/.test(pm.response.text())).to.be.true);",
                "pm.environment.unset(\"old\")",
            ]
        );
    }

    #[test]
    fn a_script_that_does_not_parse_is_kept_whole() {
        let t = run("pm.response.to.have.status(200);\n}\npm.environment.set(\"x\", 1);");
        assert!(t.status.is_empty() && t.captures.is_empty());
        assert_eq!(t.untranslated.len(), 3);
    }

    #[test]
    fn tells_multiline_strings() {
        assert!(has_multiline_string("var a = `x\n  y`;"));
        assert!(!has_multiline_string("var a = 'x';\nvar b = `y`; // `\n"));
    }

    #[test]
    fn lists_assigned_variables_anywhere() {
        let lines: Vec<String> = [
            "if (x) { pm.environment.set('a', 1); }",
            "// pm.environment.set('commented', 1);",
            "postman.setGlobalVariable(\"b\", 2); pm.collectionVariables.set(`c`, 3)",
        ]
        .iter()
        .map(|l| (*l).to_owned())
        .collect();
        assert_eq!(assigned(&lines), ["a", "c", "b"]);
    }
}
