//! The simple conditions of Arazzo criteria (`$statusCode == 200 && $response.body#/ok`):
//! parsed once with byte offsets for errors, evaluated against a [`Scope`].
//!
//! The grammar is the specification's "Literals" and "Operators", from the loosest binding to
//! the tightest:
//! ```text
//! condition  = or
//! or         = and *( "||" and )
//! and        = comparison *( "&&" comparison )
//! comparison = unary [ ( "==" / "!=" / "<" / "<=" / ">" / ">=" ) unary ]   ; no chains
//! unary      = "!" unary / primary
//! primary    = "(" or ")" / literal / runtime-expression *( "." member / "[" index "]" )
//! literal    = "null" / "true" / "false" / number / "'" *( char / "''" ) "'"
//! ```
//! Whitespace may surround every token. Numbers are written as JSON writes them (`-1.5e3`).
//! A runtime expression ends at whitespace or an operator character; after it, `.name` reads an
//! object's member and `[0]` an array's element (`['a b']` a member with any name), the
//! specification's "property de-reference" and "index" operators.
//!
//! Semantics, as "Condition Evaluation" says, with these readings where it leaves room:
//! - String comparisons ignore case (Unicode lower case, so `'ÉTÉ' == 'été'`); ordering
//!   compares the lower-cased strings character by character.
//! - A number compared with a numeric string (a JSON number, `'200'`, `'1.5'`) compares as
//!   numbers, so a header or query value can be compared with a number. A boolean compared with
//!   the string `'true'` or `'false'` (any case) compares as booleans, for the same reason.
//!   Two strings compare as strings, even when both are numeric.
//! - `null` equals only `null`; `==` with any other value is false and `!=` true. An ordering
//!   comparison with `null` is false.
//! - A pointer or member that finds nothing in a value that is there (`$response.body#/token`
//!   in a body without `token`) counts as `null` for `== null` and `!= null`, the only way the
//!   language has to ask whether something is present. Any other use of it is an error.
//! - A value that cannot be read (a step that has not run, a missing header, no response) is an
//!   [`EvalError`], never a silent `false`: the runner reports it as a failure at the
//!   condition, as the specification's "Evaluation Errors" asks.
//! - An ordering comparison of values that have no order (a string that is not a number with a
//!   number, booleans, arrays, objects) is an [`EvalError::Type`], for the same reason.
//! - Messages name expressions and types, never the values read, which may be secrets.
//! - A condition, and each side of `&&`, `||` and `!`, must be `true`, `false` or `null`
//!   (which is false); any other value is an [`EvalError::Type`].
//! - `&&` and `||` evaluate their right side only when the left does not decide, so
//!   `$statusCode == 200 && $response.body#/id != null` does not read the body of a 404.
//! - Arrays and objects are equal when their items (in order) and members are equal by these
//!   rules.

use std::cmp::Ordering;
use std::fmt::{self, Write as _};

use apiflow::diagnostic::did_you_mean;

use crate::expr::{self, EvalError, ExprError, Expression, Mode, Scope, kind_of};

/// A parsed simple condition.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    text: String,
    node: Node,
}

#[derive(Clone, Debug, PartialEq)]
enum Node {
    Or(Vec<Node>),
    And(Vec<Node>),
    Not(Box<Node>),
    Compare {
        op: Op,
        left: Box<Node>,
        right: Box<Node>,
        /// The comparison as written, for messages.
        text: String,
    },
    Literal(serde_json::Value),
    Value {
        expression: Expression,
        path: Vec<Step>,
        /// The operand as written, for messages.
        text: String,
    },
}

/// A de-reference after a runtime expression.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    /// `.name` or `['name']`.
    Member(String),
    /// `[0]`.
    Index(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Parses a simple condition.
///
/// # Errors
/// An [`ExprError`] whose offset points at the problem: an unclosed quote or parenthesis, `=`
/// for `==`, a word that should be a quoted string, a runtime expression that does not parse.
pub fn parse(text: &str) -> Result<Condition, ExprError> {
    let mut parser = Parser {
        text,
        pos: 0,
        depth: 0,
    };
    parser.skip_space();
    if parser.pos == text.len() {
        return Err(parser.expected("a condition"));
    }
    let node = parser.or()?;
    parser.skip_space();
    if let Some(c) = parser.peek() {
        return Err(parser.after_operand(c));
    }
    Ok(Condition {
        text: text.to_owned(),
        node,
    })
}

/// How deep `(` and `!` may nest.
const MAX_DEPTH: usize = 64;

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
}

fn error(offset: usize, message: impl Into<String>) -> ExprError {
    ExprError {
        offset,
        message: message.into(),
    }
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn skip_space(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn found(&self) -> String {
        match self.peek() {
            None => "the end".to_owned(),
            Some(c) if c.is_whitespace() => "a space".to_owned(),
            Some(c) if c.is_alphanumeric() || c == '_' => format!("`{}`", self.word()),
            Some(c) => format!("`{c}`"),
        }
    }

    /// Returns the word at the parser's position (letters, digits, `_`, `-`, `.`).
    fn word(&self) -> &str {
        let rest = self.rest();
        let len = rest
            .find(|c: char| !(c.is_alphanumeric() || "_-.".contains(c)))
            .unwrap_or(rest.len());
        &rest[..len]
    }

    fn expected(&self, what: &str) -> ExprError {
        error(self.pos, format!("expected {what}, found {}", self.found()))
    }

    /// Explains a character found where an operator or the end should be.
    fn after_operand(&self, c: char) -> ExprError {
        let at = self.pos;
        match c {
            ')' => error(at, "found `)` without a matching `(`"),
            '=' => error(
                at,
                "expected an operator, found `=`; equality is written `==`",
            ),
            '&' => error(
                at,
                "expected an operator, found `&`; \"and\" is written `&&`",
            ),
            '|' => error(
                at,
                "expected an operator, found `|`; \"or\" is written `||`",
            ),
            _ => {
                let word = self.word();
                let hint = match word.to_ascii_lowercase().as_str() {
                    "and" => "; \"and\" is written `&&`",
                    "or" => "; \"or\" is written `||`",
                    "not" => "; \"not\" is written `!` before its operand",
                    "eq" | "is" => "; equality is written `==`",
                    _ => "",
                };
                let found = if word.is_empty() {
                    format!("`{c}`")
                } else {
                    format!("`{word}`")
                };
                error(
                    at,
                    format!(
                        "expected an operator (`==`, `!=`, `<`, `<=`, `>`, `>=`, `&&`, `||`) or the end of the condition, found {found}{hint}"
                    ),
                )
            }
        }
    }

    fn or(&mut self) -> Result<Node, ExprError> {
        self.joined("||", Self::and, Node::Or)
    }

    fn and(&mut self) -> Result<Node, ExprError> {
        self.joined("&&", Self::comparison, Node::And)
    }

    /// Reads operands joined by `operator`, each read by `operand`. Most conditions have one:
    /// a list is made only for a second.
    fn joined(
        &mut self,
        operator: &str,
        operand: fn(&mut Self) -> Result<Node, ExprError>,
        all: fn(Vec<Node>) -> Node,
    ) -> Result<Node, ExprError> {
        let first = operand(self)?;
        self.skip_space();
        if !self.rest().starts_with(operator) {
            return Ok(first);
        }
        let mut operands = vec![first];
        while self.rest().starts_with(operator) {
            self.pos += operator.len();
            operands.push(operand(self)?);
            self.skip_space();
        }
        Ok(all(operands))
    }

    /// Enters a `(` or a `!`, refusing nesting deep enough to exhaust the stack.
    fn enter(&mut self) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(error(
                self.pos,
                format!("the condition nests more than {MAX_DEPTH} levels of `(` and `!`"),
            ));
        }
        Ok(())
    }

    fn operator(&mut self) -> Option<Op> {
        let rest = self.rest();
        let (op, len) = if rest.starts_with("==") {
            (Op::Eq, 2)
        } else if rest.starts_with("!=") {
            (Op::Ne, 2)
        } else if rest.starts_with("<=") {
            (Op::Le, 2)
        } else if rest.starts_with(">=") {
            (Op::Ge, 2)
        } else if rest.starts_with('<') {
            (Op::Lt, 1)
        } else if rest.starts_with('>') {
            (Op::Gt, 1)
        } else {
            return None;
        };
        self.pos += len;
        Some(op)
    }

    fn comparison(&mut self) -> Result<Node, ExprError> {
        self.skip_space();
        let start = self.pos;
        let left = self.unary()?;
        self.skip_space();
        let Some(op) = self.operator() else {
            return Ok(left);
        };
        let right = self.unary()?;
        let end = self.pos;
        self.skip_space();
        let at = self.pos;
        if self.operator().is_some() {
            return Err(error(
                at,
                "comparisons cannot be chained: join them with `&&` or `||`, or group them with `(…)`",
            ));
        }
        self.pos = at;
        Ok(Node::Compare {
            op,
            left: Box::new(left),
            right: Box::new(right),
            text: self.text[start..end].to_owned(),
        })
    }

    fn unary(&mut self) -> Result<Node, ExprError> {
        self.skip_space();
        if self.peek() == Some('!') && !self.rest().starts_with("!=") {
            self.enter()?;
            self.pos += 1;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Node::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Node, ExprError> {
        self.skip_space();
        let start = self.pos;
        let Some(c) = self.peek() else {
            return Err(self.expected("a value"));
        };
        match c {
            '(' => {
                self.enter()?;
                self.pos += 1;
                let inner = self.or()?;
                self.depth -= 1;
                self.skip_space();
                if self.peek() == Some(')') {
                    self.pos += 1;
                    Ok(inner)
                } else if let Some(c) = self.peek() {
                    let mut err = self.after_operand(c);
                    err.message = err.message.replacen(
                        "or the end of the condition",
                        "or `)`",
                        1,
                    );
                    Err(err)
                } else {
                    Err(error(
                        start,
                        "unclosed `(`: expected `)` before the end of the condition",
                    ))
                }
            }
            '\'' => Ok(Node::Literal(serde_json::Value::String(self.string()?))),
            '"' => {
                let end = self.rest()[1..].find('"').map(|i| self.pos + 1 + i);
                let hint = end.map_or_else(String::new, |end| {
                    format!(
                        ": `'{}'`",
                        self.text[self.pos + 1..end].replace('\'', "''")
                    )
                });
                Err(error(
                    start,
                    format!("strings are written in single quotes{hint}"),
                ))
            }
            '$' => self.value(),
            '-' | '0'..='9' => self.number(),
            c if c.is_alphabetic() || c == '_' => {
                let word = self.word().to_owned();
                let value = match word.as_str() {
                    "null" => Some(serde_json::Value::Null),
                    "true" => Some(serde_json::Value::Bool(true)),
                    "false" => Some(serde_json::Value::Bool(false)),
                    _ => None,
                };
                if let Some(value) = value {
                    self.pos += word.len();
                    return Ok(Node::Literal(value));
                }
                let hint = did_you_mean(&word, ["null", "true", "false"]).unwrap_or_else(|| {
                    format!(
                        "strings are written in single quotes: `'{}'`",
                        word.replace('\'', "''")
                    )
                });
                Err(error(
                    start,
                    format!("expected a value, found `{word}`; {hint}"),
                ))
            }
            '=' => Err(error(start, "expected a value, found `=`; equality is written `==`")),
            _ => Err(self.expected(
                "a value (a runtime expression, a number, a 'string', `true`, `false`, `null`) or `(`",
            )),
        }
    }

    /// Reads a single-quoted string, `''` standing for one `'`.
    fn string(&mut self) -> Result<String, ExprError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(error(
                    start,
                    "unclosed string: expected `'` closing the string that starts here (a `'` inside a string is written `''`)",
                ));
            };
            self.pos += c.len_utf8();
            if c == '\'' {
                if self.peek() == Some('\'') {
                    self.pos += 1;
                    out.push('\'');
                } else {
                    return Ok(out);
                }
            } else {
                out.push(c);
            }
        }
    }

    fn number(&mut self) -> Result<Node, ExprError> {
        let start = self.pos;
        let bytes = self.text.as_bytes();
        let digits = |at: &mut usize| {
            let from = *at;
            while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
                *at += 1;
            }
            *at > from
        };
        let mut at = self.pos;
        if bytes.get(at) == Some(&b'-') {
            at += 1;
        }
        if !digits(&mut at) {
            let after = Parser {
                text: self.text,
                pos: at,
                depth: 0,
            };
            return Err(error(
                start,
                format!("expected a number after `-`, found {}", after.found()),
            ));
        }
        let mut integer = true;
        if bytes.get(at) == Some(&b'.') {
            at += 1;
            integer = false;
            if !digits(&mut at) {
                return Err(error(at, "expected digits after the decimal point"));
            }
        }
        if matches!(bytes.get(at), Some(b'e' | b'E')) {
            at += 1;
            integer = false;
            if matches!(bytes.get(at), Some(b'+' | b'-')) {
                at += 1;
            }
            if !digits(&mut at) {
                return Err(error(at, "expected the digits of the exponent"));
            }
        }
        let written = &self.text[start..at];
        if self.text[at..].starts_with(|c: char| c.is_alphanumeric() || c == '_') {
            return Err(error(
                at,
                format!(
                    "expected an operator after the number `{written}`, found `{}`",
                    self.text[at..].chars().next().unwrap_or(' ')
                ),
            ));
        }
        self.pos = at;
        Ok(Node::Literal(serde_json::Value::Number(
            number_from(written, integer)
                .ok_or_else(|| error(start, format!("`{written}` is not a finite number")))?,
        )))
    }

    fn value(&mut self) -> Result<Node, ExprError> {
        let start = self.pos;
        let (expression, end) = expr::parse_at(self.text, start, Mode::Condition)?;
        self.pos = end;
        let mut path = Vec::new();
        loop {
            match self.peek() {
                Some('.') => {
                    self.pos += 1;
                    let name = self.rest();
                    let len = name
                        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-' || c == '$'))
                        .unwrap_or(name.len());
                    if len == 0 {
                        return Err(self.expected("a member name after `.`"));
                    }
                    path.push(Step::Member(name[..len].to_owned()));
                    self.pos += len;
                }
                Some('[') => {
                    let open = self.pos;
                    self.pos += 1;
                    self.skip_space();
                    let step = match self.peek() {
                        Some('\'') => Step::Member(self.string()?),
                        Some('0'..='9') => {
                            let digits = self.rest();
                            let len = digits
                                .find(|c: char| !c.is_ascii_digit())
                                .unwrap_or(digits.len());
                            let index = digits[..len].parse().map_err(|_| {
                                error(
                                    self.pos,
                                    format!("`{}` is too large an index", &digits[..len]),
                                )
                            })?;
                            self.pos += len;
                            Step::Index(index)
                        }
                        _ => {
                            return Err(
                                self.expected("an index (`[0]`) or a quoted name (`['name']`)")
                            );
                        }
                    };
                    self.skip_space();
                    if self.peek() != Some(']') {
                        let mut err = self.expected("`]`");
                        if self.peek().is_none() {
                            err = error(open, "unclosed `[`: expected `]`");
                        }
                        return Err(err);
                    }
                    self.pos += 1;
                    path.push(step);
                }
                _ => break,
            }
        }
        Ok(Node::Value {
            expression,
            path,
            text: self.text[start..self.pos].to_owned(),
        })
    }
}

/// Makes a JSON number of a literal: an integer when it is one and fits, else a float.
fn number_from(written: &str, integer: bool) -> Option<serde_json::Number> {
    if integer {
        if let Ok(n) = written.parse::<i64>() {
            return Some(n.into());
        }
        if let Ok(n) = written.parse::<u64>() {
            return Some(n.into());
        }
    }
    written
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
}

/// Reads a string as a number when it is written as JSON writes numbers.
fn numeric(text: &str) -> Option<serde_json::Number> {
    let mut parser = Parser {
        text,
        pos: 0,
        depth: 0,
    };
    match parser.number() {
        Ok(Node::Literal(serde_json::Value::Number(n))) if parser.pos == text.len() => Some(n),
        _ => None,
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// An operand's value: there, or absent from a value that is there (with why).
enum Got {
    Value(serde_json::Value),
    Absent(EvalError),
}

impl Condition {
    /// Returns the condition as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Returns the runtime expressions the condition reads, in the order they are written.
    pub fn expressions(&self) -> Vec<&Expression> {
        let mut out = Vec::new();
        collect(&self.node, &mut out);
        out
    }

    /// Adds the runtime expressions it reads to `out`, in the order they are written.
    pub(crate) fn expressions_into<'a>(&'a self, out: &mut Vec<&'a Expression>) {
        collect(&self.node, out);
    }

    /// Evaluates the condition: whether it passes.
    ///
    /// # Errors
    /// An [`EvalError`] when a value it needs cannot be read, or has a type the condition cannot
    /// use (see the module's documentation).
    pub fn eval(&self, scope: &Scope) -> Result<bool, EvalError> {
        truth(&self.node, scope, &self.text)
    }
}

fn collect<'a>(node: &'a Node, out: &mut Vec<&'a Expression>) {
    match node {
        Node::Or(all) | Node::And(all) => {
            for node in all {
                collect(node, out);
            }
        }
        Node::Compare { left, right, .. } => {
            collect(left, out);
            collect(right, out);
        }
        Node::Not(inner) => collect(inner, out),
        Node::Literal(_) => {}
        Node::Value { expression, .. } => out.push(expression),
    }
}

/// Evaluates `node` as a truth value: `true`, or `false` and `null` as false.
fn truth(node: &Node, scope: &Scope, whole: &str) -> Result<bool, EvalError> {
    match node {
        Node::Or(all) => {
            for node in all {
                if truth(node, scope, whole)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Node::And(all) => {
            for node in all {
                if !truth(node, scope, whole)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Node::Not(inner) => Ok(!truth(inner, scope, whole)?),
        Node::Compare {
            op,
            left,
            right,
            text,
        } => compare(
            *op,
            value(left, scope, whole)?,
            value(right, scope, whole)?,
            text,
        ),
        Node::Literal(_) | Node::Value { .. } => match value(node, scope, whole)? {
            Got::Value(serde_json::Value::Bool(b)) => Ok(b),
            Got::Value(serde_json::Value::Null) => Ok(false),
            Got::Value(other) => Err(EvalError::Type(format!(
                "`{}` is {}, not `true` or `false`, in the condition `{whole}`",
                written(node),
                kind_of(&other)
            ))),
            Got::Absent(why) => Err(why),
        },
    }
}

fn written(node: &Node) -> String {
    match node {
        Node::Value { text, .. } | Node::Compare { text, .. } => text.clone(),
        Node::Literal(value) => literal_text(value),
        Node::Or(..) | Node::And(..) | Node::Not(..) => "the operand".to_owned(),
    }
}

fn literal_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => format!("'{}'", s.replace('\'', "''")),
        other => other.to_string(),
    }
}

/// Evaluates `node` as a value.
fn value(node: &Node, scope: &Scope, whole: &str) -> Result<Got, EvalError> {
    match node {
        Node::Literal(value) => Ok(Got::Value(value.clone())),
        Node::Value {
            expression,
            path,
            text,
        } => {
            let mut current = match expression.resolve_or_absent(scope)? {
                Ok((_, true)) if !path.is_empty() => {
                    return Err(EvalError::NotJson(format!(
                        "`{text}` needs JSON, and `{expression}` is a body that is not JSON"
                    )));
                }
                Ok((value, _)) => value,
                Err(why) => return Ok(Got::Absent(why)),
            };
            for (walked, step) in path.iter().enumerate() {
                let next = match (step, &mut current) {
                    (Step::Member(name), serde_json::Value::Object(map)) => map.remove(name),
                    (Step::Index(index), serde_json::Value::Array(items))
                        if *index < items.len() =>
                    {
                        Some(items.swap_remove(*index))
                    }
                    _ => None,
                };
                let Some(next) = next else {
                    let what = match step {
                        Step::Member(name) => format!("no member `{name}`"),
                        Step::Index(index) => format!("no element {index}"),
                    };
                    return Ok(Got::Absent(EvalError::Missing(format!(
                        "`{text}` is not set: `{}` is {} with {what}",
                        walked_text(expression, &path[..walked]),
                        kind_of(&current)
                    ))));
                };
                current = next;
            }
            Ok(Got::Value(current))
        }
        Node::Or(..) | Node::And(..) | Node::Not(..) | Node::Compare { .. } => {
            truth(node, scope, whole).map(|b| Got::Value(serde_json::Value::Bool(b)))
        }
    }
}

/// Writes an expression and the members and elements after it, as a message names them.
fn walked_text(expression: &Expression, path: &[Step]) -> String {
    let mut out = expression.to_string();
    for step in path {
        match step {
            Step::Member(name) => {
                out.push('.');
                out.push_str(name);
            }
            Step::Index(index) => {
                let _ = write!(out, "[{index}]");
            }
        }
    }
    out
}

fn compare(op: Op, left: Got, right: Got, text: &str) -> Result<bool, EvalError> {
    let (left, right) = match (left, right) {
        (Got::Value(l), Got::Value(r)) => (l, r),
        // An absent member is `null` to `== null` and `!= null`, and an error to anything else.
        (Got::Absent(why), Got::Value(other)) | (Got::Value(other), Got::Absent(why)) => {
            return match (op, other.is_null()) {
                (Op::Eq, true) => Ok(true),
                (Op::Ne, true) => Ok(false),
                _ => Err(why),
            };
        }
        (Got::Absent(why), Got::Absent(_)) => return Err(why),
    };
    match op {
        Op::Eq => Ok(equal(&left, &right)),
        Op::Ne => Ok(!equal(&left, &right)),
        Op::Lt | Op::Le | Op::Gt | Op::Ge => {
            if left.is_null() || right.is_null() {
                return Ok(false);
            }
            let Some(ordering) = order(&left, &right) else {
                return Err(EvalError::Type(format!(
                    "`{text}` cannot order {} and {}",
                    describe(&left, &right),
                    describe(&right, &left)
                )));
            };
            Ok(match op {
                Op::Lt => ordering == Ordering::Less,
                Op::Le => ordering != Ordering::Greater,
                Op::Gt => ordering == Ordering::Greater,
                _ => ordering != Ordering::Less,
            })
        }
    }
}

/// Names a value's type for a message about ordering it against `other`; never the value,
/// which may be a secret.
fn describe(value: &serde_json::Value, other: &serde_json::Value) -> &'static str {
    match (value, other) {
        (serde_json::Value::String(_), serde_json::Value::Number(_)) => {
            "a string that is not a number"
        }
        _ => kind_of(value),
    }
}

/// The loose equality of simple conditions.
fn equal(left: &serde_json::Value, right: &serde_json::Value) -> bool {
    use serde_json::Value::{Array, Bool, Null, Number, Object, String};
    match (left, right) {
        (Null, Null) => true,
        (Number(a), Number(b)) => numbers(a, b) == Some(Ordering::Equal),
        (Number(n), String(s)) | (String(s), Number(n)) => {
            numeric(s).is_some_and(|m| numbers(n, &m) == Some(Ordering::Equal))
        }
        (String(a), String(b)) => a == b || a.to_lowercase() == b.to_lowercase(),
        (Bool(a), Bool(b)) => a == b,
        (Bool(b), String(s)) | (String(s), Bool(b)) => {
            (s.eq_ignore_ascii_case("true") && *b) || (s.eq_ignore_ascii_case("false") && !*b)
        }
        (Array(a), Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| equal(x, y)),
        (Object(a), Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(key, x)| b.get(key).is_some_and(|y| equal(x, y)))
        }
        _ => false,
    }
}

/// The order of two values, when they have one: numbers (and numeric strings against numbers),
/// and strings ignoring case.
fn order(left: &serde_json::Value, right: &serde_json::Value) -> Option<Ordering> {
    use serde_json::Value::{Number, String};
    match (left, right) {
        (Number(a), Number(b)) => numbers(a, b),
        (Number(n), String(s)) => numbers(n, &numeric(s)?),
        (String(s), Number(n)) => numbers(&numeric(s)?, n),
        (String(a), String(b)) => Some(a.to_lowercase().cmp(&b.to_lowercase())),
        _ => None,
    }
}

/// Compares two JSON numbers: exactly when both are integers, as floats otherwise.
fn numbers(a: &serde_json::Number, b: &serde_json::Number) -> Option<Ordering> {
    let integer = |n: &serde_json::Number| {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    };
    match (integer(a), integer(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::expr::{Body, Message};

    fn scope() -> Scope {
        let mut scope = Scope {
            status: Some(200),
            response: Some(Message {
                headers: vec![
                    ("X-Count".to_owned(), "10".to_owned()),
                    ("X-Flag".to_owned(), "TRUE".to_owned()),
                    ("Content-Type".to_owned(), "Application/JSON".to_owned()),
                ],
                body: Some(Body::Json(json!({
                    "status": "Approved",
                    "count": 3,
                    "price": 9.5,
                    "data": {"items": [{"id": 1}, {"id": 2}]},
                    "token": null,
                    "ok": true,
                    "name": "O'Brien",
                    "code": "200"
                }))),
                ..Message::default()
            }),
            ..Scope::default()
        };
        scope.inputs.insert("threshold".to_owned(), json!(2));
        scope
            .inputs
            .insert("expected".to_owned(), json!("approved"));
        scope
    }

    fn check(text: &str) -> Result<bool, EvalError> {
        parse(text)
            .unwrap_or_else(|e| panic!("{text}: {e} at {}", e.offset))
            .eval(&scope())
    }

    #[test]
    fn evaluates_the_specification_s_conditions() {
        let cases: &[(&str, bool)] = &[
            // The specification's examples.
            ("$statusCode == 200", true),
            ("$statusCode == 200 && $response.body.data != null", true),
            ("$response.body.count > $inputs.threshold", true),
            ("$response.body#/status == 'approved'", true),
            ("$statusCode == 200 || $statusCode == 201", true),
            ("$response.body#/ok == false", false),
            // Literals.
            ("null == null", true),
            ("true", true),
            ("false", false),
            ("null", false),
            ("-1.5 < 0", true),
            ("1e3 == 1000", true),
            ("1.0 == 1", true),
            ("'it''s' == 'IT''S'", true),
            ("''  == ''", true),
            // String comparison ignores case.
            ("$response.body#/status == 'APPROVED'", true),
            ("$response.body#/status == $inputs.expected", true),
            ("$response.body#/status != 'approved'", false),
            ("'ÉTÉ' == 'été'", true),
            ("'abc' < 'ABD'", true),
            ("$response.body#/name == 'o''brien'", true),
            ("$response.header.Content-Type == 'application/json'", true),
            // Numeric strings compare as numbers with numbers.
            ("$response.header.X-Count > 9", true),
            ("$response.header.X-Count == 10", true),
            ("$response.header.X-Count == 10.0", true),
            ("'10' > '9'", false),
            ("$response.body#/code == 200", true),
            ("$statusCode == '200'", true),
            ("$statusCode == 'abc'", false),
            ("$statusCode != 'abc'", true),
            ("$response.body#/price >= 9.5", true),
            ("$response.body#/price < 10", true),
            // Booleans against 'true' and 'false'.
            ("$response.header.X-Flag == true", true),
            ("$response.header.X-Flag != false", true),
            // Null equals only null.
            ("$response.body#/token == null", true),
            ("$response.body#/token != null", false),
            ("$response.body#/token == 0", false),
            ("$response.body#/token == ''", false),
            ("$response.body#/token == false", false),
            ("$response.body#/token < 1", false),
            ("$response.body#/token >= 1", false),
            ("$response.body#/token", false),
            ("null < 1", false),
            ("0 == null", false),
            // An absent member is null to `== null` and `!= null`.
            ("$response.body#/redirectAuthToken == null", true),
            ("$response.body#/redirectAuthToken != null", false),
            ("$response.body.missing == null", true),
            ("$response.body.data.items[5] == null", true),
            ("null != $response.body#/data/items/7", false),
            // Precedence: ! > comparison > && > ||.
            ("true || false && false", true),
            ("(true || false) && false", false),
            ("!false && false", false),
            ("!(false && false)", true),
            ("!$response.body#/ok", false),
            ("!!$response.body#/ok", true),
            ("!$response.body#/ok == false", true),
            ("!null", true),
            (&format!("{}true{}", "(".repeat(64), ")".repeat(64)), true),
            (&vec!["true"; 5000].join(" && "), true),
            (&vec!["false"; 5000].join(" || "), false),
            ("false && $steps.never.outputs.x == 1", false),
            ("true || $steps.never.outputs.x == 1", true),
            ("($statusCode == 200) == true", true),
            // Index and property de-reference.
            ("$response.body.data.items[1].id == 2", true),
            ("$response.body#/data/items[0]['id'] == 1", true),
            (
                "$response.body.data.items[0] == $response.body#/data/items/0",
                true,
            ),
            // Whitespace anywhere.
            (
                "  ( $statusCode==200 )&&(\t$response.body#/count>=3\n)  ",
                true,
            ),
            ("$statusCode>=200&&$statusCode<300", true),
            // Deep equality.
            (
                "$response.body#/data/items/0 == $response.body#/data/items/0",
                true,
            ),
            (
                "$response.body#/data/items/0 == $response.body#/data/items/1",
                false,
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(check(text), Ok(*expected), "{text}");
        }
    }

    #[test]
    fn reports_values_it_cannot_read_or_use() {
        let cases: &[(&str, EvalError)] = &[
            (
                "$steps.login.outputs.token == null",
                EvalError::Missing(
                    "`$steps.login.outputs.token` is not set: step `login` has not run".to_owned(),
                ),
            ),
            (
                "$response.header.Location == 'x'",
                EvalError::Missing(
                    "`$response.header.Location` is not set: the response has no header `Location`"
                        .to_owned(),
                ),
            ),
            (
                "$response.body#/redirectAuthToken == 'x'",
                EvalError::Missing(
                    "`$response.body#/redirectAuthToken` is not set: the response body has no member `redirectAuthToken` at the top"
                        .to_owned(),
                ),
            ),
            (
                "$response.body.data.items[5].id > 1",
                EvalError::Missing(
                    "`$response.body.data.items[5].id` is not set: `$response.body.data.items` is an array with no element 5"
                        .to_owned(),
                ),
            ),
            (
                "$response.body#/status > 3",
                EvalError::Type(
                    "`$response.body#/status > 3` cannot order a string that is not a number and a number"
                        .to_owned(),
                ),
            ),
            (
                "true < false",
                EvalError::Type("`true < false` cannot order a boolean and a boolean".to_owned()),
            ),
            (
                "$response.body#/count",
                EvalError::Type(
                    "`$response.body#/count` is a number, not `true` or `false`, in the condition `$response.body#/count`"
                        .to_owned(),
                ),
            ),
            (
                "!'yes'",
                EvalError::Type(
                    "`'yes'` is a string, not `true` or `false`, in the condition `!'yes'`".to_owned(),
                ),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(check(text).as_ref(), Err(expected), "{text}");
        }
        let mut text_body = scope();
        if let Some(response) = text_body.response.as_mut() {
            response.body = Some(Body::Text("<ok/>".to_owned()));
        }
        let condition = parse("$response.body.ok == true").unwrap();
        assert_eq!(
            condition.eval(&text_body),
            Err(EvalError::NotJson(
                "`$response.body.ok` needs JSON, and `$response.body` is a body that is not JSON"
                    .to_owned()
            ))
        );
        assert_eq!(
            parse("$response.body == '<OK/>'").unwrap().eval(&text_body),
            Ok(true)
        );
    }

    #[test]
    fn points_at_what_does_not_parse() {
        let cases: &[(&str, usize, &str)] = &[
            ("", 0, "expected a condition, found the end"),
            ("   ", 3, "expected a condition, found the end"),
            (
                "$statusCode = 200",
                12,
                "expected an operator, found `=`; equality is written `==`",
            ),
            (
                "$statusCode === 200",
                14,
                "expected a value, found `=`; equality is written `==`",
            ),
            (
                "$response.body#/status == 'approved",
                26,
                "unclosed string: expected `'` closing the string that starts here (a `'` inside a string is written `''`)",
            ),
            (
                "$response.body#/status == approved",
                26,
                "expected a value, found `approved`; strings are written in single quotes: `'approved'`",
            ),
            (
                "$response.body#/status == \"approved\"",
                26,
                "strings are written in single quotes: `'approved'`",
            ),
            (
                "$response.body#/ok == True",
                22,
                "expected a value, found `True`; did you mean `true`?",
            ),
            (
                "$statusCode == 200 and $statusCode < 300",
                19,
                "expected an operator (`==`, `!=`, `<`, `<=`, `>`, `>=`, `&&`, `||`) or the end of the condition, found `and`; \"and\" is written `&&`",
            ),
            (
                "$statusCode == 200 & true",
                19,
                "expected an operator, found `&`; \"and\" is written `&&`",
            ),
            (
                "$statusCode == 200 | true",
                19,
                "expected an operator, found `|`; \"or\" is written `||`",
            ),
            (
                "($statusCode == 200",
                0,
                "unclosed `(`: expected `)` before the end of the condition",
            ),
            (
                "($statusCode == 200 x)",
                20,
                "expected an operator (`==`, `!=`, `<`, `<=`, `>`, `>=`, `&&`, `||`) or `)`, found `x`",
            ),
            (
                "$statusCode == 200)",
                18,
                "found `)` without a matching `(`",
            ),
            (
                "1 < $statusCode < 300",
                16,
                "comparisons cannot be chained: join them with `&&` or `||`, or group them with `(…)`",
            ),
            ("$statusCode ==", 14, "expected a value, found the end"),
            (
                "$statusCode == && true",
                15,
                "expected a value (a runtime expression, a number, a 'string', `true`, `false`, `null`) or `(`, found `&`",
            ),
            (
                "$statuscode == 200",
                0,
                "unknown runtime expression `$statuscode`; did you mean `$statusCode`?",
            ),
            (
                "$steps.a.finalizedPaymentPlan == 1",
                8,
                "expected `.outputs.` after the step id `a`, found `.finalizedPaymentPla…`; step values are read as `$steps.STEP_ID.outputs.NAME`",
            ),
            (
                "$response.body.items[x] == 1",
                21,
                "expected an index (`[0]`) or a quoted name (`['name']`), found `x`",
            ),
            ("$response.body.items[0 == 1", 23, "expected `]`, found `=`"),
            ("$response.body.items[0", 20, "unclosed `[`: expected `]`"),
            (
                "$response.body. == 1",
                15,
                "expected a member name after `.`, found a space",
            ),
            ("- 1 == 1", 0, "expected a number after `-`, found a space"),
            ("1. == 1", 2, "expected digits after the decimal point"),
            (
                "12abc == 1",
                2,
                "expected an operator after the number `12`, found `a`",
            ),
            (
                &format!("{}true", "(".repeat(65)),
                64,
                "the condition nests more than 64 levels of `(` and `!`",
            ),
            (
                &format!("{}true", "!".repeat(70)),
                64,
                "the condition nests more than 64 levels of `(` and `!`",
            ),
        ];
        for (text, offset, message) in cases {
            let err = parse(text).expect_err(text);
            assert_eq!(
                (err.offset, err.message.as_str()),
                (*offset, *message),
                "{text}"
            );
        }
    }

    #[test]
    fn lists_the_expressions_it_reads() {
        let condition = parse(
            "$statusCode == 200 && ($steps.a.outputs.b.c[0] > $inputs.x || !$response.body#/ok)",
        )
        .unwrap();
        let written: Vec<String> = condition
            .expressions()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            written,
            [
                "$statusCode",
                "$steps.a.outputs.b.c",
                "$inputs.x",
                "$response.body#/ok"
            ]
        );
        assert_eq!(condition.to_string(), condition.as_str());
    }

    fn arbitrary_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<f64>().prop_map(|n| json!(n)),
            "[a-zA-Z0-9' ]{0,6}".prop_map(serde_json::Value::String),
            prop_oneof![Just("10"), Just("-2.5"), Just("true"), Just("1e400")]
                .prop_map(|s| json!(s)),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
                prop::collection::btree_map("[a-c]", inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn fragments() -> impl Strategy<Value = String> {
        let token = prop_oneof![
            Just("$statusCode"),
            Just("$response.body"),
            Just("$response.body#/a"),
            Just("$response.body.b[0]"),
            Just("$response.header.X-A"),
            Just("$inputs.a"),
            Just("$inputs.a.b"),
            Just("$steps.s.outputs.a"),
            Just("=="),
            Just("!="),
            Just("<"),
            Just(">="),
            Just("&&"),
            Just("||"),
            Just("!"),
            Just("("),
            Just(")"),
            Just("null"),
            Just("true"),
            Just("'x'"),
            Just("''''"),
            Just("-1.5"),
            Just("10"),
            Just("["),
            Just("]"),
            Just("."),
            Just("'"),
            Just("="),
        ];
        (prop::collection::vec(token, 0..10), any::<bool>())
            .prop_map(|(tokens, tight)| tokens.join(if tight { "" } else { " " }))
    }

    proptest! {
        #[test]
        fn parse_never_panics(text in "\\PC{0,40}") {
            if let Err(err) = parse(&text) {
                prop_assert!(text.is_char_boundary(err.offset));
            }
        }

        #[test]
        fn parse_points_inside_near_conditions(text in fragments()) {
            if let Err(err) = parse(&text) {
                prop_assert!(err.offset <= text.len());
                prop_assert!(text.is_char_boundary(err.offset));
            }
        }

        #[test]
        fn eval_never_panics(
            text in fragments(),
            body in arbitrary_json(),
            input in arbitrary_json(),
            header in "[ -~]{0,8}",
            status in any::<u16>(),
        ) {
            let Ok(condition) = parse(&text) else {
                return Ok(());
            };
            let mut scope = Scope {
                status: Some(status),
                response: Some(Message {
                    headers: vec![("X-A".to_owned(), header)],
                    body: Some(Body::Json(body)),
                    ..Message::default()
                }),
                ..Scope::default()
            };
            scope.inputs.insert("a".to_owned(), input);
            let _ = condition.eval(&scope);
        }
    }
}

/// How [`Condition::to_template`] writes an operand: the template expression a runtime
/// expression reads, or why it has none.
pub type Operand<'a> = dyn Fn(&Expression) -> Result<String, String> + 'a;

impl Condition {
    /// Writes the condition as an apiflow template expression (for `expect.checks`), when the
    /// translation keeps its meaning; otherwise says why not.
    ///
    /// `operand` writes each runtime expression. The translation keeps the rules above where
    /// a template can: a comparison with a string literal lower-cases the other side first and
    /// is false for `null`; `== null` also holds for a member that is not there; comparisons
    /// with numbers and booleans are written as they are. Ordering comparisons with strings,
    /// and two runtime expressions compared with each other, are compared as text without
    /// regard to case when they are not equal as values.
    ///
    /// # Errors
    /// Why an operand or a comparison has no faithful template.
    pub fn to_template(&self, operand: &Operand<'_>) -> Result<String, String> {
        template(&self.node, operand)
    }
}

fn template(node: &Node, operand: &Operand<'_>) -> Result<String, String> {
    let join = |all: &[Node], word: &str| -> Result<String, String> {
        let parts = all
            .iter()
            .map(|node| template(node, operand))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(format!("({})", parts.join(&format!(" {word} "))))
    };
    match node {
        Node::Or(all) => join(all, "or"),
        Node::And(all) => join(all, "and"),
        Node::Not(inner) => Ok(format!("not {}", template(inner, operand)?)),
        Node::Literal(serde_json::Value::Bool(b)) => Ok(b.to_string()),
        Node::Literal(serde_json::Value::Null) => Ok("false".to_owned()),
        Node::Literal(other) => Err(format!(
            "the condition is {}, not `true` or `false`",
            literal_text(other)
        )),
        Node::Value { .. } => Ok(format!("{} == true", operand_template(node, operand)?)),
        Node::Compare {
            op, left, right, ..
        } => compare_template(*op, left, right, operand),
    }
}

fn operand_template(node: &Node, operand: &Operand<'_>) -> Result<String, String> {
    let Node::Value {
        expression, path, ..
    } = node
    else {
        return Err("a comparison of comparisons has no template".to_owned());
    };
    let mut out = operand(expression)?;
    for step in path {
        match step {
            Step::Member(name) if is_name(name) => {
                let _ = write!(out, ".{name}");
            }
            Step::Member(name) => {
                let _ = write!(
                    out,
                    "['{}']",
                    name.replace('\\', "\\\\").replace('\'', "\\'")
                );
            }
            Step::Index(index) => {
                let _ = write!(out, "[{index}]");
            }
        }
    }
    Ok(out)
}

fn compare_template(
    op: Op,
    left: &Node,
    right: &Node,
    operand: &Operand<'_>,
) -> Result<String, String> {
    // A literal on the left is turned around so that the operand comes first.
    let (value, literal, op) = match (left, right) {
        (Node::Literal(l), Node::Value { .. }) => (right, Some(l), flip(op)),
        (Node::Value { .. }, Node::Literal(r)) => (left, Some(r), op),
        (Node::Value { .. }, Node::Value { .. }) => (left, None, op),
        _ => return Err("only a runtime expression and a literal, or two runtime expressions, can be compared in a check".to_owned()),
    };
    let a = operand_template(value, operand)?;
    let symbol = match op {
        Op::Eq => "==",
        Op::Ne => "!=",
        Op::Lt => "<",
        Op::Le => "<=",
        Op::Gt => ">",
        Op::Ge => ">=",
    };
    match literal {
        None => {
            let b = operand_template(right, operand)?;
            let text_equal = format!(
                "({a} is not none and {b} is not none and ({a} | string | lower) == ({b} | string | lower))"
            );
            match op {
                Op::Eq => Ok(format!("({a} == {b} or {text_equal})")),
                Op::Ne => Ok(format!("not ({a} == {b} or {text_equal})")),
                _ => Ok(format!("{a} {symbol} {b}")),
            }
        }
        Some(serde_json::Value::Null) => match op {
            Op::Eq => Ok(format!("({a} is not defined or {a} is none)")),
            Op::Ne => Ok(format!("({a} is defined and {a} is not none)")),
            _ => Err("an ordering comparison with `null` is always false".to_owned()),
        },
        Some(serde_json::Value::String(text)) => {
            let lower = text
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('\'', "\\'");
            match op {
                // `null` is written `none`: only then can it pass for the text.
                Op::Eq if lower == "none" => Ok(format!(
                    "({a} is not none and ({a} | string | lower) == 'none')"
                )),
                Op::Ne if lower == "none" => {
                    Ok(format!("({a} is none or ({a} | string | lower) != 'none')"))
                }
                Op::Eq => Ok(format!("({a} | string | lower) == '{lower}'")),
                Op::Ne => Ok(format!("({a} | string | lower) != '{lower}'")),
                _ => {
                    Err("an ordering comparison with a string has no faithful template".to_owned())
                }
            }
        }
        Some(serde_json::Value::Bool(b)) => Ok(format!("{a} {symbol} {b}")),
        Some(serde_json::Value::Number(n)) => Ok(format!("{a} {symbol} {n}")),
        Some(other) => Err(format!(
            "a comparison with {} has no template",
            literal_text(other)
        )),
    }
}

/// Tells whether a member can be written after a dot in a template (`json.name`).
fn is_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Returns the operator that compares the other way round (`1 < x` is `x > 1`).
fn flip(op: Op) -> Op {
    match op {
        Op::Lt => Op::Gt,
        Op::Le => Op::Ge,
        Op::Gt => Op::Lt,
        Op::Ge => Op::Le,
        other => other,
    }
}

#[cfg(test)]
mod template_tests {
    use super::parse;
    use crate::expr::Expression;

    fn operand(expression: &Expression) -> Result<String, String> {
        match expression {
            Expression::StatusCode => Ok("status".to_owned()),
            Expression::Inputs { name, .. } => Ok(name.clone()),
            Expression::Response(crate::expr::Source::Body(None)) => Ok("json".to_owned()),
            other => Err(format!("`{other}` has no template")),
        }
    }

    #[test]
    fn conditions_become_checks_that_keep_their_meaning() {
        for (condition, template) in [
            ("$statusCode >= 200", "status >= 200"),
            ("200 > $statusCode", "status < 200"),
            ("$response.body.ok", "json.ok == true"),
            (
                "$response.body.state == 'OK'",
                "(json.state | string | lower) == 'ok'",
            ),
            (
                "$response.body['a b'] != 'It''s'",
                "(json['a b'] | string | lower) != 'it\\'s'",
            ),
            (
                "$response.body.x == 'None'",
                "(json.x is not none and (json.x | string | lower) == 'none')",
            ),
            (
                "$response.body.items[0] == null",
                "(json.items[0] is not defined or json.items[0] is none)",
            ),
            (
                "$response.body.next != null",
                "(json.next is defined and json.next is not none)",
            ),
            ("$response.body.done == true", "json.done == true"),
            (
                "$statusCode == 200 && ($inputs.a == 1 || !$response.body.b)",
                "(status == 200 and (a == 1 or not b_true))",
            ),
            (
                "$response.body.id == $inputs.id",
                "(json.id == id or (json.id is not none and id is not none and (json.id | string | lower) == (id | string | lower)))",
            ),
        ] {
            let template = template.replace("not b_true", "not json.b == true");
            let parsed = parse(condition).expect("parses");
            assert_eq!(
                parsed.to_template(&operand).as_deref(),
                Ok(template.as_str()),
                "{condition}"
            );
        }
    }

    #[test]
    fn conditions_without_a_faithful_check_say_why() {
        for (condition, why) in [
            (
                "$response.body.name < 'm'",
                "an ordering comparison with a string has no faithful template",
            ),
            (
                "$response.body.x > null",
                "an ordering comparison with `null` is always false",
            ),
            ("$url == 'x'", "`$url` has no template"),
            (
                "'a' == 'b'",
                "only a runtime expression and a literal, or two runtime expressions, can be compared in a check",
            ),
        ] {
            let parsed = parse(condition).expect("parses");
            assert_eq!(
                parsed.to_template(&operand),
                Err(why.to_owned()),
                "{condition}"
            );
        }
    }
}
