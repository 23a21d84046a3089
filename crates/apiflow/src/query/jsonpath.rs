//! Path queries of RFC 9535 (`JSONPath`): compiled once from source text, with human errors.
//!
//! This is a thin layer over `jsonpath-rust`: it keeps the source text for diagnostics,
//! parses exactly once, and turns the parser's internal errors into short messages that
//! point at a byte offset in the source.

use std::fmt;
use std::sync::Arc;

use jsonpath_rust::parser::errors::JsonPathError as RawError;
use jsonpath_rust::parser::model::Filter as FilterExpr;
use jsonpath_rust::parser::model::{
    Comparable, FilterAtom, FnArg, JpQuery, Segment, Selector, Test, TestFunction,
};
use pest::error::InputLocation;
use serde_json::Value;

use crate::query::pick::Part;

/// Hint appended when a path does not start at the root.
const ROOT_HINT: &str = "a JSONPath starts with `$`";

/// A compiled path query together with its source text; clones share it.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath(Arc<Compiled>);

#[derive(Debug, PartialEq)]
struct Compiled {
    source: String,
    query: JpQuery,
    /// The parts of a singular path, walked directly instead of through the query engine.
    singular: Option<Vec<Part>>,
}

/// Why a path could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPathError {
    /// The human-readable explanation, lower-case, without a trailing period.
    pub message: String,
    /// The byte offset in the source where the problem is, when known.
    pub offset: Option<usize>,
}

impl fmt::Display for JsonPathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for JsonPathError {}

impl JsonPath {
    /// Compiles `source` once, so that later queries never re-parse it.
    pub fn parse(source: &str) -> Result<JsonPath, JsonPathError> {
        if let Some(err) = missing_root(source) {
            return Err(err);
        }
        // Without error detail pest reports only whole rules, so positions land at the start
        // of a bracket rather than on the offending character. Detail costs more than the
        // parse itself, so a path is parsed again with it only when it is wrong. The switch is
        // process-wide and off until then; it is never turned off again, so a parse in another
        // thread cannot take the detail away from an error being explained.
        // Most paths are names and indices (`$.links.next.id`): read without pest, whose first
        // parse in a thread also reads the process's memory map to learn the stack's size.
        if let Some(query) = simple_query(source) {
            let singular = singular_parts(&query);
            return Ok(JsonPath(Arc::new(Compiled {
                source: source.to_owned(),
                query,
                singular,
            })));
        }
        let query = jsonpath_rust::parser::parse_json_path(source).or_else(|_| {
            pest::set_error_detail(true);
            jsonpath_rust::parser::parse_json_path(source).map_err(|err| translate(source, &err))
        })?;
        check_shorthand_names(source)?;
        check_segments(source, &query.segments)?;
        let singular = singular_parts(&query);
        Ok(JsonPath(Arc::new(Compiled {
            source: source.to_owned(),
            query,
            singular,
        })))
    }

    /// Returns the source text the path was compiled from.
    pub fn as_str(&self) -> &str {
        &self.0.source
    }

    /// Returns the path's parts when it is singular and walks down by names and indices
    /// counted from the start only (`$.links.next.id`, `$.items[0]`), so that a [`Pick`] can
    /// parse just what it reads.
    ///
    /// [`Pick`]: crate::query::pick::Pick
    pub fn singular_parts(&self) -> Option<&[Part]> {
        self.0.singular.as_deref()
    }

    /// Returns every node the path selects in `doc`, in document order.
    pub fn query<'a>(&self, doc: &'a Value) -> Vec<&'a Value> {
        if let Some(parts) = &self.0.singular {
            // A member name selects from an object, an index from an array; nothing else.
            let mut node = doc;
            for part in parts {
                let next = match (part, node) {
                    (Part::Name(name), Value::Object(map)) => map.get(name),
                    (Part::Index(index), Value::Array(items)) => items.get(*index),
                    _ => None,
                };
                match next {
                    Some(next) => node = next,
                    None => return Vec::new(),
                }
            }
            return vec![node];
        }
        // The only error `js_path_process` reports is a query that evaluates to a
        // computed value instead of nodes, which a parsed root query cannot do; an empty
        // node list is the honest answer should it ever happen.
        jsonpath_rust::query::js_path_process(&self.0.query, doc)
            .map(|refs| refs.into_iter().map(|r| r.val).collect())
            .unwrap_or_default()
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.source)
    }
}

/// Reads a path of ASCII member-name shorthands and non-negative indices (`$.items[0].id`) as
/// the parser would, or returns `None` for any other path.
fn simple_query(source: &str) -> Option<JpQuery> {
    let mut rest = source.strip_prefix('$')?.as_bytes();
    let mut segments = Vec::new();
    while let Some((&first, tail)) = rest.split_first() {
        let (selector, len) = match first {
            b'.' => {
                let len = tail
                    .iter()
                    .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                    .count();
                let name = tail
                    .get(..len)
                    .filter(|n| n.first().is_some_and(|b| !b.is_ascii_digit()))?;
                (
                    Selector::Name(std::str::from_utf8(name).ok()?.to_owned()),
                    len,
                )
            }
            b'[' => {
                let len = tail.iter().take_while(|b| b.is_ascii_digit()).count();
                let digits = tail.get(..len)?;
                // No leading zero, and well inside the range RFC 9535 allows.
                if len == 0
                    || len > 15
                    || (len > 1 && digits[0] == b'0')
                    || tail.get(len) != Some(&b']')
                {
                    return None;
                }
                let index = std::str::from_utf8(digits).ok()?.parse().ok()?;
                (Selector::Index(index), len + 1)
            }
            _ => return None,
        };
        segments.push(Segment::Selector(selector));
        rest = tail.get(len..)?;
    }
    Some(JpQuery::new(segments))
}

fn singular_parts(query: &JpQuery) -> Option<Vec<Part>> {
    query
        .segments
        .iter()
        .map(|segment| match segment {
            Segment::Selector(selector) => part(selector),
            Segment::Selectors(selectors) => match selectors.as_slice() {
                [selector] => part(selector),
                _ => None,
            },
            Segment::Descendant(_) => None,
        })
        .collect()
}

fn part(selector: &Selector) -> Option<Part> {
    match selector {
        Selector::Name(name) => Some(Part::Name(name.clone())),
        Selector::Index(index) => usize::try_from(*index).ok().map(Part::Index),
        Selector::Wildcard | Selector::Slice(..) | Selector::Filter(_) => None,
    }
}

/// Explains a path that does not start with `$`, the most common mistake (`access_token`
/// instead of `$.access_token`), with a corrected example when one is easy to derive.
fn missing_root(source: &str) -> Option<JsonPathError> {
    let trimmed = source.trim_start();
    if trimmed.starts_with('$') {
        // Leading whitespace is left to the parser, which reports its column.
        return None;
    }
    if trimmed.is_empty() {
        return Some(JsonPathError {
            message: format!(
                "invalid JSONPath: the path is empty; {ROOT_HINT}, e.g. `$.access_token`"
            ),
            offset: Some(0),
        });
    }
    let candidate = if trimmed.starts_with(['.', '[']) {
        format!("${trimmed}")
    } else {
        format!("$.{trimmed}")
    };
    let example = if JsonPath::parse(&candidate).is_ok() {
        candidate
    } else {
        "$.access_token".to_owned()
    };
    let message = if trimmed.starts_with('@') {
        format!(
            "invalid JSONPath: `@` is only valid inside a filter; {ROOT_HINT}, e.g. `$.access_token`"
        )
    } else {
        format!("invalid JSONPath: {ROOT_HINT}, e.g. `{example}`")
    };
    Some(JsonPathError {
        message,
        offset: Some(source.len() - trimmed.len()),
    })
}

/// Turns a `jsonpath-rust` error into a short message, never naming grammar rules.
fn translate(source: &str, err: &RawError) -> JsonPathError {
    match err {
        RawError::PestError(pest_err) => {
            // With error detail on, the parse attempts know the farthest position any
            // token was tried at; the plain location only counts whole rules and often
            // points at the start of the bracket instead of the actual problem.
            let attempts = pest_err.parse_attempts();
            let offset = match (&attempts, &pest_err.location) {
                (Some(a), _) => a.max_position,
                (None, InputLocation::Pos(pos) | InputLocation::Span((pos, _))) => *pos,
            };
            let (what, offset) = unexpected_at(source, offset);
            let mut message = format!("invalid JSONPath: {what}");
            let expected = attempts.and_then(|a| {
                let tokens: Vec<String> = a
                    .expected_tokens()
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                expected_text(source, offset, &tokens)
            });
            if let Some(expected) = expected {
                message.push_str(", expected ");
                message.push_str(&expected);
            }
            JsonPathError {
                message,
                offset: Some(offset),
            }
        }
        RawError::MaxNestingDepthExceeded(depth) => JsonPathError {
            message: format!("invalid JSONPath: brackets nest deeper than {depth} levels"),
            offset: None,
        },
        RawError::InvalidNumber(_) => JsonPathError {
            message: "invalid JSONPath: a number is out of range".to_owned(),
            offset: None,
        },
        RawError::InvalidJsonPath(detail) => semantic(source, detail),
        _ => JsonPathError {
            message: "invalid JSONPath".to_owned(),
            offset: None,
        },
    }
}

/// Describes what sits at `offset` (a character with its column, or the end of the path)
/// and returns the offset the description points at.
fn unexpected_at(source: &str, offset: usize) -> (String, usize) {
    let Some(c) = source.get(offset..).and_then(|rest| rest.chars().next()) else {
        return ("unexpected end of path".to_owned(), offset);
    };
    let before = source.get(..offset).unwrap_or_default();
    // Backslashes only appear in string literals, so an odd run of them just before the
    // problem means the escape itself is what the parser rejected; point at its backslash.
    let backslashes = before.len() - before.trim_end_matches('\\').len();
    if backslashes % 2 == 1 {
        let escape_start = offset - 1;
        let at = column_text(source, escape_start);
        return (format!("invalid escape `\\{c}` {at}"), escape_start);
    }
    let what = match c {
        ' ' => "space".to_owned(),
        '\t' => "tab".to_owned(),
        '\n' | '\r' => "line break".to_owned(),
        '`' => "backtick".to_owned(),
        c if c.is_control() => format!("control character U+{:04X}", u32::from(c)),
        c => format!("`{c}`"),
    };
    (
        format!("unexpected {what} {}", column_text(source, offset)),
        offset,
    )
}

/// Renders the 1-based column of `offset`, with the line only for multi-line paths.
fn column_text(source: &str, offset: usize) -> String {
    let before = source.get(..offset).unwrap_or_default();
    let (line, column) = match before.rfind('\n') {
        Some(nl) => (
            Some(before.matches('\n').count() + 1),
            before[nl + 1..].chars().count() + 1,
        ),
        None => (None, before.chars().count() + 1),
    };
    match line {
        Some(line) => format!("at line {line}, column {column}"),
        None => format!("at column {column}"),
    }
}

/// Names what the parser would have accepted, but only when that is a short list of
/// punctuation: longer lists (every operator, every function name) confuse more than help.
fn expected_text(source: &str, offset: usize, tokens: &[String]) -> Option<String> {
    const CLOSERS: [&str; 5] = ["]", ",", ")", ":", "$"];
    let after_digit = source
        .get(..offset)
        .and_then(|before| before.chars().next_back())
        .is_some_and(|c| c.is_ascii_digit());
    let mut words: Vec<String> = Vec::new();
    for token in tokens {
        // pest renders a character range as `start..end`.
        let word = match token.as_str() {
            t if t.chars().all(char::is_whitespace) => continue,
            // More digits could always extend a number that is already there.
            "0..9" if after_digit => continue,
            "0..9" => "a digit".to_owned(),
            t if CLOSERS.contains(&t) => format!("`{t}`"),
            _ => return None,
        };
        if !words.contains(&word) {
            words.push(word);
        }
    }
    match words.as_slice() {
        [] => None,
        [one] => Some(one.clone()),
        [init @ .., last] => Some(format!("{} or {last}", init.join(", "))),
    }
}

/// Rewords the library's semantic errors (raised after the grammar matched), pointing at the
/// quoted fragment when the message contains one.
fn semantic(source: &str, detail: &str) -> JsonPathError {
    let fragment = detail.split('`').nth(1).filter(|f| !f.is_empty());
    let offset = fragment.and_then(|f| source.find(f));
    let message = if detail.starts_with("Invalid child segment") {
        "invalid JSONPath: no whitespace is allowed after `.`".to_owned()
    } else if detail.starts_with("Invalid descendant segment") {
        "invalid JSONPath: no whitespace is allowed after `..`".to_owned()
    } else if detail.starts_with("Invalid function expression") {
        "invalid JSONPath: no whitespace is allowed between a function name and `(`".to_owned()
    } else if let Some(rest) = detail.strip_prefix("Function ") {
        let name = rest.split('(').next().unwrap_or(rest);
        return JsonPathError {
            message: format!(
                "invalid JSONPath: the result of `{name}()` is true or false and cannot be compared"
            ),
            offset: source.find(&format!("{name}(")),
        };
    } else if detail.starts_with("Invalid ") {
        let mut chars = detail.chars();
        let first = chars.next().map(|c| c.to_ascii_lowercase());
        format!(
            "invalid JSONPath: {}{}",
            first.unwrap_or_default(),
            chars.as_str()
        )
    } else {
        "invalid JSONPath".to_owned()
    };
    JsonPathError { message, offset }
}

/// Rejects whitespace inside a dotted name (`$.a b`), which `jsonpath-rust` accepts as the
/// name `a b` because its grammar lets whitespace in between the characters of a name.
///
/// A name after `.` followed by whitespace and another name character can never be valid
/// RFC 9535: between segments only `.`, `..` or `[` may follow, and in filters only
/// operators, which are punctuation.
fn check_shorthand_names(source: &str) -> Result<(), JsonPathError> {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii();
    let mut chars = source.char_indices().peekable();
    let mut previous = None;
    while let Some((_, c)) = chars.next() {
        match c {
            '\'' | '"' => {
                // Skip the string literal; the parser already checked its escapes.
                let mut escaped = false;
                for (_, inner) in chars.by_ref() {
                    match inner {
                        _ if escaped => escaped = false,
                        '\\' => escaped = true,
                        q if q == c => break,
                        _ => {}
                    }
                }
            }
            c if is_name_char(c) && !c.is_ascii_digit() => {
                while chars.next_if(|&(_, n)| is_name_char(n)).is_some() {}
                if previous == Some('.') {
                    let mut gap = None;
                    while let Some((at, _)) = chars.next_if(|&(_, n)| n.is_whitespace()) {
                        gap.get_or_insert(at);
                    }
                    if let (Some(at), Some(&(_, next))) = (gap, chars.peek())
                        && is_name_char(next)
                    {
                        let (what, offset) = unexpected_at(source, at);
                        return Err(JsonPathError {
                            message: format!(
                                "invalid JSONPath: {what}; a name containing spaces needs quotes, e.g. `$['first name']`"
                            ),
                            offset: Some(offset),
                        });
                    }
                }
                previous = None;
                continue;
            }
            _ => {}
        }
        previous = Some(c);
    }
    Ok(())
}

/// Applies the function type rules of RFC 9535 (section 2.4.3) that `jsonpath-rust` does not
/// enforce, so that a path the standard rejects is rejected at validation time instead of
/// silently matching nothing at run time.
fn check_segments(source: &str, segments: &[Segment]) -> Result<(), JsonPathError> {
    for segment in segments {
        match segment {
            Segment::Descendant(inner) => check_segments(source, std::slice::from_ref(inner))?,
            Segment::Selector(selector) => check_selector(source, selector)?,
            Segment::Selectors(selectors) => {
                for selector in selectors {
                    check_selector(source, selector)?;
                }
            }
        }
    }
    Ok(())
}

fn check_selector(source: &str, selector: &Selector) -> Result<(), JsonPathError> {
    match selector {
        Selector::Filter(filter) => check_filter(source, filter),
        Selector::Name(_) | Selector::Wildcard | Selector::Index(_) | Selector::Slice(..) => Ok(()),
    }
}

fn check_filter(source: &str, filter: &FilterExpr) -> Result<(), JsonPathError> {
    match filter {
        FilterExpr::Or(filters) | FilterExpr::And(filters) => {
            for filter in filters {
                check_filter(source, filter)?;
            }
            Ok(())
        }
        FilterExpr::Atom(FilterAtom::Filter { expr, .. }) => check_filter(source, expr),
        FilterExpr::Atom(FilterAtom::Test { expr, .. }) => {
            if let Test::Function(function) = expr.as_ref()
                && returns_value(function)
            {
                let name = function_name(function);
                return Err(type_error(
                    source,
                    name,
                    &format!("the result of `{name}()` must be compared, e.g. `{name}(@.a) > 0`"),
                ));
            }
            check_test(source, expr)
        }
        FilterExpr::Atom(FilterAtom::Comparison(comparison)) => {
            let (left, right) = comparison.vals();
            for side in [left, right] {
                if let Comparable::Function(function) = side {
                    check_function(source, function)?;
                }
            }
            Ok(())
        }
    }
}

fn check_test(source: &str, test: &Test) -> Result<(), JsonPathError> {
    match test {
        Test::RelQuery(segments) => check_segments(source, segments),
        Test::AbsQuery(query) => check_segments(source, &query.segments),
        Test::Function(function) => check_function(source, function),
    }
}

fn check_function(source: &str, function: &TestFunction) -> Result<(), JsonPathError> {
    let name = function_name(function);
    let args: Vec<&FnArg> = match function {
        TestFunction::Length(arg) => vec![arg.as_ref()],
        TestFunction::Value(arg) | TestFunction::Count(arg) => vec![arg],
        TestFunction::Search(a, b) | TestFunction::Match(a, b) => vec![a, b],
        TestFunction::Custom(_, args) => args.iter().collect(),
    };
    for arg in &args {
        match arg {
            FnArg::Literal(_) => {}
            FnArg::Test(test) => check_test(source, test)?,
            FnArg::Filter(filter) => check_filter(source, filter)?,
        }
    }
    let takes_values = matches!(
        function,
        TestFunction::Length(_) | TestFunction::Search(..) | TestFunction::Match(..)
    );
    if takes_values && !args.iter().all(|arg| is_value(arg)) {
        return Err(type_error(
            source,
            name,
            &format!(
                "`{name}()` takes single values: a literal or a path to at most one node, \
                 e.g. `@.a` or `@[0]`, not `*`, `..`, slices, filters or several selectors"
            ),
        ));
    }
    if matches!(function, TestFunction::Value(_))
        && !matches!(args.as_slice(), [FnArg::Test(test)] if !matches!(test.as_ref(), Test::Function(_)))
    {
        return Err(type_error(
            source,
            name,
            &format!("`{name}()` takes a query, e.g. `{name}(@.a)`"),
        ));
    }
    Ok(())
}

/// Tells whether an argument is a single value: a literal, a singular query, or a function
/// that returns a value.
fn is_value(arg: &FnArg) -> bool {
    match arg {
        FnArg::Literal(_) => true,
        FnArg::Filter(_) => false,
        FnArg::Test(test) => match test.as_ref() {
            Test::RelQuery(segments) => is_singular(segments),
            Test::AbsQuery(query) => is_singular(&query.segments),
            Test::Function(function) => returns_value(function),
        },
    }
}

/// Tells whether a query can select at most one node: only single names and indexes.
fn is_singular(segments: &[Segment]) -> bool {
    segments.iter().all(|segment| match segment {
        Segment::Selector(Selector::Name(_) | Selector::Index(_)) => true,
        Segment::Selectors(selectors) => {
            matches!(
                selectors.as_slice(),
                [Selector::Name(_) | Selector::Index(_)]
            )
        }
        Segment::Selector(_) | Segment::Descendant(_) => false,
    })
}

fn returns_value(function: &TestFunction) -> bool {
    matches!(
        function,
        TestFunction::Length(_) | TestFunction::Value(_) | TestFunction::Count(_)
    )
}

fn function_name(function: &TestFunction) -> &str {
    match function {
        TestFunction::Length(_) => "length",
        TestFunction::Value(_) => "value",
        TestFunction::Count(_) => "count",
        TestFunction::Search(..) => "search",
        TestFunction::Match(..) => "match",
        TestFunction::Custom(name, _) => name,
    }
}

fn type_error(source: &str, name: &str, detail: &str) -> JsonPathError {
    JsonPathError {
        message: format!("invalid JSONPath: {detail}"),
        offset: source.find(&format!("{name}(")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The query the parser builds, when it accepts the path and our checks do too.
    fn parsed(source: &str) -> Option<JpQuery> {
        let query = jsonpath_rust::parser::parse_json_path(source).ok()?;
        check_shorthand_names(source).ok()?;
        check_segments(source, &query.segments).ok()?;
        Some(query)
    }

    #[test]
    fn reads_names_and_indices_without_the_parser_as_the_parser_does() {
        for source in [
            "$",
            "$.a",
            "$.links.next.id",
            "$.items[0]",
            "$.a_b[12].C9",
            "$[3][0]",
            "$._",
        ] {
            assert_eq!(simple_query(source), parsed(source), "{source}");
            assert!(simple_query(source).is_some(), "{source}");
        }
        for source in [
            "$.",
            "$..a",
            "$.1a",
            "$[01]",
            "$[-1]",
            "$[1",
            "$['a']",
            "$.a ",
            " $.a",
            "$ .a",
            "$.é",
            "$.*",
            "$[*]",
            "$[0:1]",
            "$.a[?@.b]",
            "$[1234567890123456]",
            "$.a.",
            "a",
            "",
        ] {
            assert!(simple_query(source).is_none(), "{source}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_path_of_names_and_indices_reads_as_the_parser_reads_it(
            source in "\\$([.][a-z_0-9é]{0,3}|\\[[0-9-]{0,3}\\]|[. \\[\\]*'a]){0,5}",
        ) {
            if let Some(query) = simple_query(&source) {
                proptest::prop_assert_eq!(Some(query), parsed(&source), "{}", source);
            }
        }
    }

    fn err(source: &str) -> JsonPathError {
        match JsonPath::parse(source) {
            Ok(_) => panic!("`{source}` should not parse"),
            Err(e) => e,
        }
    }

    fn check_err(source: &str, message: &str, offset: Option<usize>) {
        let e = err(source);
        assert_eq!(e.message, message, "message for `{source}`");
        assert_eq!(e.offset, offset, "offset for `{source}`");
    }

    fn values(path: &str, doc: &Value) -> Vec<Value> {
        JsonPath::parse(path)
            .unwrap()
            .query(doc)
            .into_iter()
            .cloned()
            .collect()
    }

    #[test]
    fn missing_root_hints_at_dollar() {
        check_err(
            "access_token",
            "invalid JSONPath: a JSONPath starts with `$`, e.g. `$.access_token`",
            Some(0),
        );
        check_err(
            "data.items[0].id",
            "invalid JSONPath: a JSONPath starts with `$`, e.g. `$.data.items[0].id`",
            Some(0),
        );
        check_err(
            ".token",
            "invalid JSONPath: a JSONPath starts with `$`, e.g. `$.token`",
            Some(0),
        );
        check_err(
            "a b",
            "invalid JSONPath: a JSONPath starts with `$`, e.g. `$.access_token`",
            Some(0),
        );
        check_err(
            "@.a",
            "invalid JSONPath: `@` is only valid inside a filter; a JSONPath starts with `$`, e.g. `$.access_token`",
            Some(0),
        );
        check_err(
            "",
            "invalid JSONPath: the path is empty; a JSONPath starts with `$`, e.g. `$.access_token`",
            Some(0),
        );
    }

    #[test]
    fn syntax_errors_point_at_the_character() {
        check_err(
            "$.a]",
            "invalid JSONPath: unexpected `]` at column 4",
            Some(3),
        );
        check_err("$.a[", "invalid JSONPath: unexpected end of path", Some(4));
        check_err(
            "$['a'",
            "invalid JSONPath: unexpected end of path, expected `,` or `]`",
            Some(5),
        );
        check_err(
            "$[1:2:3:4]",
            "invalid JSONPath: unexpected `:` at column 8, expected `,` or `]`",
            Some(7),
        );
        check_err(
            "$[01]",
            "invalid JSONPath: unexpected `1` at column 4, expected `,`, `:` or `]`",
            Some(3),
        );
        check_err(
            "$[?@.a==1.]",
            "invalid JSONPath: unexpected `]` at column 11, expected a digit",
            Some(10),
        );
        check_err(
            " $.a",
            "invalid JSONPath: unexpected space at column 1, expected `$`",
            Some(0),
        );
        check_err(
            r#"$["\x"]"#,
            r"invalid JSONPath: invalid escape `\x` at column 4",
            Some(3),
        );
        check_err(
            "$.a\n.b]",
            "invalid JSONPath: unexpected `]` at line 2, column 3",
            Some(6),
        );
        check_err(
            "$.é]",
            "invalid JSONPath: unexpected `]` at column 4",
            Some(4),
        );
    }

    #[test]
    fn semantic_errors_are_reworded() {
        check_err(
            "$. a",
            "invalid JSONPath: no whitespace is allowed after `.`",
            Some(1),
        );
        check_err(
            "$[?length (@.a)==1]",
            "invalid JSONPath: no whitespace is allowed between a function name and `(`",
            Some(3),
        );
        check_err(
            "$[?match(@.a, 'x') == true]",
            "invalid JSONPath: the result of `match()` is true or false and cannot be compared",
            Some(3),
        );
        check_err(
            "$[?count(1) == 1]",
            "invalid JSONPath: invalid argument for the function `count`: expected a node, got a literal",
            Some(3),
        );
    }

    #[test]
    fn function_types_follow_the_rfc() {
        check_err(
            "$[?length(@.a)]",
            "invalid JSONPath: the result of `length()` must be compared, e.g. `length(@.a) > 0`",
            Some(3),
        );
        check_err(
            "$[?length(@.*) < 3]",
            "invalid JSONPath: `length()` takes single values: a literal or a path to at most one node, e.g. `@.a` or `@[0]`, not `*`, `..`, slices, filters or several selectors",
            Some(3),
        );
        check_err(
            "$[?value(1) == 1]",
            "invalid JSONPath: `value()` takes a query, e.g. `value(@.a)`",
            Some(3),
        );
        assert!(JsonPath::parse("$[?length(@['a']) > 1]").is_ok());
        assert!(JsonPath::parse("$[?count(@..*) > 1]").is_ok());
        assert!(JsonPath::parse("$[?match(@.a, 'x.*')]").is_ok());
    }

    #[test]
    fn dotted_names_cannot_contain_spaces() {
        check_err(
            "$.first name",
            "invalid JSONPath: unexpected space at column 8; a name containing spaces needs quotes, e.g. `$['first name']`",
            Some(7),
        );
        check_err(
            "$[?@.a\tb == 1]",
            "invalid JSONPath: unexpected tab at column 7; a name containing spaces needs quotes, e.g. `$['first name']`",
            Some(6),
        );
        assert!(JsonPath::parse("$['first name']").is_ok());
        assert!(JsonPath::parse("$.a .b").is_ok());
        assert!(JsonPath::parse("$[?@.a == 'x y' && @.b1 == 1.5]").is_ok());
        assert!(JsonPath::parse("$[?@['a b'] == 1]").is_ok());
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("${}", "[".repeat(200));
        check_err(
            &deep,
            "invalid JSONPath: brackets nest deeper than 128 levels",
            None,
        );
    }

    #[test]
    fn queries_return_matches_in_document_order() {
        let doc = json!({
            "access_token": "abc",
            "items": [{"id": 1, "ok": true}, {"id": 2}, {"id": 3, "ok": true}],
        });
        assert_eq!(values("$.access_token", &doc), vec![json!("abc")]);
        assert_eq!(
            values("$.items[*].id", &doc),
            vec![json!(1), json!(2), json!(3)]
        );
        assert_eq!(values("$.items[?@.ok].id", &doc), vec![json!(1), json!(3)]);
        assert_eq!(values("$.items[-1].id", &doc), vec![json!(3)]);
        assert_eq!(values("$..id", &doc), vec![json!(1), json!(2), json!(3)]);
        assert_eq!(values("$", &doc), vec![doc.clone()]);
        assert!(values("$.missing", &doc).is_empty());
    }

    #[test]
    fn keeps_the_source_text() {
        let path = JsonPath::parse("$.a[0]").unwrap();
        assert_eq!(path.as_str(), "$.a[0]");
        assert_eq!(path.to_string(), "$.a[0]");
    }

    #[test]
    fn singular_paths_are_walked_as_the_query_engine_walks_them() {
        let doc = serde_json::json!({
            "a": {"b": [10, {"c": "x"}, []], "": 1, "k'q": 2},
            "n": null, "s": "text", "list": [[1, 2], {"a": 3}]
        });
        for source in [
            "$",
            "$.a",
            "$.a.b",
            "$.a.b[1].c",
            "$.a.b[0]",
            "$.a.b[3]",
            "$.a.b[2][0]",
            "$.a['']",
            "$['a']['k\\'q']",
            "$.n",
            "$.n.x",
            "$.s[0]",
            "$.s.x",
            "$.list[0][1]",
            "$.list[1].a",
            "$.list.a",
            "$.missing",
            "$[0]",
            "$.a.b[-1]",
        ] {
            let path = JsonPath::parse(source).unwrap();
            let engine: Vec<&Value> = jsonpath_rust::query::js_path_process(&path.0.query, &doc)
                .map(|refs| refs.into_iter().map(|r| r.val).collect())
                .unwrap();
            assert_eq!(path.query(&doc), engine, "{source}");
        }
    }
}
