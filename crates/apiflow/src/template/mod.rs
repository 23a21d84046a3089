//! Templates: one sandboxed minijinja environment per workflow, each template compiled once;
//! beside it, apiflow's own functions and filters, the values templates see, JWT checks and
//! JWT signing.

pub mod functions;
pub mod jws;
pub mod jwt;
pub mod scope;

use std::ops::Range;
use std::sync::OnceLock;

use minijinja::machinery::{Instruction, ast, get_compiled_template};
use minijinja::{Environment, ErrorKind, UndefinedBehavior, Value};

use crate::delimiters::{pair_at, whole_expression};
use crate::format::model::{TemplateId, TemplateKind, TemplateSource};

/// Expressions are compiled as templates that store their value, so one table holds both.
const EXPR_PREFIX: &str = "{% set __value = (";
const EXPR_SUFFIX: &str = ") %}";
const VALUE_NAME: &str = "__value";

/// Instructions one render may execute: stops runaway loops in a workflow's templates.
const FUEL: u64 = 5_000_000;

/// What a template calls: a function, a filter or a test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallKind {
    /// `name(…)`.
    Function,
    /// `value | name`.
    Filter,
    /// `value is name`.
    Test,
}

/// A template failed to compile or to render.
#[derive(Clone, Debug)]
pub struct TemplateError {
    /// Lower-case description.
    pub message: String,
    /// Byte range in the user's text, when known.
    pub range: Option<Range<usize>>,
}

/// Every template of a workflow, compiled.
pub struct Templates {
    /// minijinja's environment, made only when a template needs it: building its filters and
    /// tests is most of a one-step workflow's validation.
    env: OnceLock<Environment<'static>>,
    /// For each template, its row in the tables below: identical templates share one.
    rows: Vec<u32>,
    names: Vec<String>,
    kinds: Vec<TemplateKind>,
    sources: Vec<String>,
    /// The variables each template reads, found once at compile time.
    reads: Vec<Vec<String>>,
    /// The dotted paths each template reads (`setup.app_id`), found once at compile time.
    dotted: Vec<Vec<String>>,
    /// Text templates that only put variables into text, rendered without minijinja.
    plain: Vec<Option<Vec<Piece>>>,
}

/// A part of a plain text template: text as written, or a variable's value.
#[derive(Clone, Debug, PartialEq)]
enum Piece {
    Text(String),
    /// `{{ name }}` or `{{ name.field.field }}`, as the dotted path.
    Path(String),
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("count", &self.rows.len())
            .finish_non_exhaustive()
    }
}

/// Creates the sandboxed environment: strict undefined values, apiflow's helpers, bounded work.
///
/// minijinja has no file, process, network or environment access of its own, and no loader is
/// set, so templates see only the values the runner passes in.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    crate::template::functions::register(&mut env);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Python-style string, list and dict methods (`.startswith`, `.split`, `.items`, …).
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(100);
    env
}

impl Templates {
    /// Compiles every template, returning the table and the ones that failed.
    pub fn compile(sources: &[TemplateSource]) -> (Templates, Vec<(TemplateId, TemplateError)>) {
        let mut env: Option<Environment<'static>> = None;
        let mut rows: Vec<u32> = Vec::with_capacity(sources.len());
        let mut firsts: Vec<&TemplateSource> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        let mut errors: Vec<(TemplateId, TemplateError)> = Vec::new();
        let mut dotted: Vec<Vec<String>> = Vec::new();
        let mut plain: Vec<Option<Vec<Piece>>> = Vec::new();
        // Identical templates (a bearer token on every step, say) are compiled and analysed once.
        let mut seen: rustc_hash::FxHashMap<(TemplateKind, &str), u32> =
            rustc_hash::FxHashMap::default();
        seen.reserve(sources.len());
        for (index, source) in sources.iter().enumerate() {
            let id = TemplateId(u32::try_from(index).unwrap_or(u32::MAX));
            if let Some(&row) = seen.get(&(source.kind, source.text.as_str())) {
                let first = errors
                    .iter()
                    .find(|(e, _)| rows.get(e.0 as usize) == Some(&row));
                if let Some((_, error)) = first {
                    let error = error.clone();
                    errors.push((id, error));
                }
                rows.push(row);
                continue;
            }
            let row = u32::try_from(firsts.len()).unwrap_or(u32::MAX);
            seen.insert((source.kind, source.text.as_str()), row);
            rows.push(row);
            firsts.push(source);
            // Compiling a template costs about 25 000 instructions and 12 KB that minijinja
            // reserves up front; `{{ base_url }}/items/{{ id }}` needs neither.
            let pieces = (source.kind == TemplateKind::Text)
                .then(|| plain_pieces(&source.text))
                .flatten();
            if let Some(pieces) = pieces {
                dotted.push(plain_paths(&pieces));
                plain.push(Some(pieces));
                names.push(String::new());
                continue;
            }
            plain.push(None);
            let name = index.to_string();
            let text = wrap(source.kind, &source.text);
            let env = env.get_or_insert_with(environment);
            let paths = match env.add_template_owned(name.clone(), text) {
                Ok(()) => env
                    .get_template(&name)
                    .map(|t| {
                        let mut paths: Vec<String> = t
                            .undeclared_variables(true)
                            .into_iter()
                            .filter(|p| p != VALUE_NAME)
                            .collect();
                        paths.sort();
                        paths
                    })
                    .unwrap_or_default(),
                Err(error) => {
                    errors.push((id, convert(&error, source.kind, &source.text)));
                    Vec::new()
                }
            };
            names.push(name);
            dotted.push(paths);
        }
        let reads = dotted
            .iter()
            .map(|paths| {
                let mut names: Vec<String> = paths
                    .iter()
                    .map(|p| p.split('.').next().unwrap_or(p).to_owned())
                    .collect();
                names.dedup();
                names
            })
            .collect();
        let templates = Templates {
            env: env.map_or_else(OnceLock::new, OnceLock::from),
            rows,
            names,
            kinds: firsts.iter().map(|s| s.kind).collect(),
            sources: firsts.iter().map(|s| s.text.clone()).collect(),
            reads,
            dotted,
            plain,
        };
        (templates, errors)
    }

    /// Returns the row of a template's entries in the tables.
    fn row(&self, id: TemplateId) -> usize {
        self.rows
            .get(id.0 as usize)
            .map_or(usize::MAX, |&row| row as usize)
    }

    /// Returns the environment, making it on first use.
    fn env(&self) -> &Environment<'static> {
        self.env.get_or_init(environment)
    }

    fn get(&self, id: TemplateId) -> Result<minijinja::Template<'_, '_>, TemplateError> {
        let name = self.names.get(self.row(id)).map_or("", String::as_str);
        self.env().get_template(name).map_err(|e| TemplateError {
            message: format!("template `{}` is missing: {e}", id.0),
            range: None,
        })
    }

    /// Renders a template to text; an expression's value is turned into text.
    pub fn render(&self, id: TemplateId, ctx: &Value) -> Result<String, TemplateError> {
        if let Some(Some(pieces)) = self.plain.get(self.row(id)) {
            if let Some(text) = render_plain(pieces, ctx) {
                return Ok(text);
            }
            // A value is missing: minijinja says which, as it would have.
            return self
                .env()
                .render_str(self.source(id), ctx.clone())
                .map_err(|e| convert(&e, TemplateKind::Text, self.source(id)));
        }
        match self.kind(id) {
            TemplateKind::Text => self
                .get(id)?
                .render(ctx.clone())
                .map_err(|e| convert(&e, TemplateKind::Text, self.source(id))),
            TemplateKind::Expression | TemplateKind::Whole => {
                let value = self.eval(id, ctx)?;
                Ok(value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_owned))
            }
        }
    }

    /// Evaluates a template to a value: an expression's own value, or a text template's string.
    pub fn eval(&self, id: TemplateId, ctx: &Value) -> Result<Value, TemplateError> {
        let kind = self.kind(id);
        if kind == TemplateKind::Text {
            return self.render(id, ctx).map(Value::from);
        }
        let captured = self
            .get(id)?
            .render_captured(ctx.clone())
            .map_err(|e| convert(&e, kind, self.source(id)))?;
        let value = captured
            .state()
            .lookup(VALUE_NAME)
            .unwrap_or(Value::UNDEFINED);
        if value.is_undefined() {
            return Err(TemplateError {
                message: "undefined value".into(),
                range: None,
            });
        }
        Ok(value)
    }

    /// Evaluates the operands of a failed check (`a > b`, `x is defined`, `not y`) to show what
    /// they were: pairs of the operand's text and its value as JSON.
    pub fn operands(&self, id: TemplateId, ctx: &Value) -> Vec<(String, String)> {
        let text = self.source(id);
        let Ok(expr) = minijinja::machinery::parse_expr(text) else {
            return Vec::new();
        };
        let mut parts: Vec<&ast::Expr<'_>> = Vec::new();
        collect_operands(&expr, &mut parts, 0);
        let mut out: Vec<(String, String)> = Vec::new();
        for part in parts {
            if matches!(part, ast::Expr::Const(_)) {
                continue;
            }
            let span = part.span();
            let start = leftmost(part);
            let Some(slice) = text.get(start as usize..span.end_offset as usize) else {
                continue;
            };
            if out.iter().any(|(s, _)| s == slice) {
                continue;
            }
            let shown = match self
                .env()
                .compile_expression(slice)
                .and_then(|e| e.eval(ctx.clone()))
            {
                Ok(value) if value.is_undefined() => "undefined".to_owned(),
                Ok(value) => serde_json::to_string(&value).unwrap_or_else(|_| value.to_string()),
                Err(_) => "undefined".to_owned(),
            };
            let shown = if shown.chars().count() > 200 {
                format!("{}…", shown.chars().take(200).collect::<String>())
            } else {
                shown
            };
            out.push((slice.to_owned(), shown));
        }
        out
    }

    fn kind(&self, id: TemplateId) -> TemplateKind {
        self.kinds
            .get(self.row(id))
            .copied()
            .unwrap_or(TemplateKind::Text)
    }

    fn source(&self, id: TemplateId) -> &str {
        self.sources.get(self.row(id)).map_or("", String::as_str)
    }

    /// Returns the dotted paths a template reads (`setup.app_id`), found once at compile time.
    pub fn dotted(&self, id: TemplateId) -> &[String] {
        self.dotted.get(self.row(id)).map_or(&[], Vec::as_slice)
    }

    /// Returns the top-level names a template reads (helper functions included), found once.
    pub fn reads(&self, id: TemplateId) -> &[String] {
        self.reads.get(self.row(id)).map_or(&[], Vec::as_slice)
    }

    /// Lists the dotted paths a template reads (`sign_in.access_token`), with their positions,
    /// for checking that a caller only reads outputs a called workflow declares.
    pub fn dotted_reads(&self, id: TemplateId) -> Vec<(String, Option<Range<usize>>)> {
        self.dotted(id)
            .iter()
            .map(|path| (path.clone(), self.position(id, path)))
            .collect()
    }

    /// Returns where a template first reads `name` (or a dotted path), when that can be found.
    pub fn position(&self, id: TemplateId, name: &str) -> Option<Range<usize>> {
        find_identifier(self.source(id), name, self.kind(id) != TemplateKind::Text)
    }

    /// Lists the variables a template reads but does not define itself, with their positions.
    pub fn variables(&self, id: TemplateId) -> Vec<(String, Option<Range<usize>>)> {
        self.reads(id)
            .iter()
            .map(|name| (name.clone(), self.position(id, name)))
            .collect()
    }

    /// Lists the functions, filters and tests a template calls, with their positions.
    pub fn calls(&self, id: TemplateId) -> Vec<(CallKind, String, Option<Range<usize>>)> {
        if let Some(Some(_)) = self.plain.get(self.row(id)) {
            return Vec::new();
        }
        let Ok(template) = self.get(id) else {
            return Vec::new();
        };
        let kind = self.kind(id);
        let instructions = &get_compiled_template(&template).instructions;
        let mut calls = Vec::new();
        for index in 0..u32::MAX {
            let call = match instructions.get(index) {
                None => break,
                Some(Instruction::CallFunction(name, _)) => (CallKind::Function, *name),
                Some(Instruction::ApplyFilter(name, _, _)) => (CallKind::Filter, *name),
                Some(Instruction::PerformTest(name, _, _)) => (CallKind::Test, *name),
                _ => continue,
            };
            calls.push((
                call.0,
                call.1.to_owned(),
                instruction_range(instructions, index, kind),
            ));
        }
        calls
    }
}

impl Templates {
    /// Lists the calls of function `name` whose arguments are `arity` and whose last argument
    /// is a string constant, with that constant and the call's position: what validation can
    /// check before running (`jwt_sign(claims, key, 'RS256')`).
    pub fn literal_last_args(
        &self,
        id: TemplateId,
        name: &str,
        arity: u16,
    ) -> Vec<(String, Option<Range<usize>>)> {
        if let Some(Some(_)) = self.plain.get(self.row(id)) {
            return Vec::new();
        }
        let Ok(template) = self.get(id) else {
            return Vec::new();
        };
        let kind = self.kind(id);
        let instructions = &get_compiled_template(&template).instructions;
        let mut found = Vec::new();
        for index in 1..u32::MAX {
            let Some(instruction) = instructions.get(index) else {
                break;
            };
            let Instruction::CallFunction(called, Some(count)) = instruction else {
                continue;
            };
            if *called != name || *count != arity {
                continue;
            }
            if let Some(Instruction::LoadConst(value)) = instructions.get(index - 1)
                && let Some(text) = value.as_str()
            {
                found.push((
                    text.to_owned(),
                    instruction_range(instructions, index - 1, kind),
                ));
            }
        }
        found
    }
}

/// Splits a text template into text and `{{ name.field }}` pieces, or returns `None` when it
/// uses anything else of the template language, or anything whose rendering differs from text
/// and values side by side (a trailing newline, which minijinja drops).
fn plain_pieces(text: &str) -> Option<Vec<Piece>> {
    const LITERALS: [&str; 6] = ["true", "false", "none", "True", "False", "None"];
    if text.ends_with(['\n', '\r']) {
        return None;
    }
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        // The first `{{`, `{%` or `{#`: only the first opens what a plain template may hold.
        let opening = pair_at(rest, b'{', b"{%#");
        let (before, after) = match opening {
            Some(at) if rest.as_bytes()[at + 1] == b'{' => (&rest[..at], Some(&rest[at + 2..])),
            Some(_) => return None,
            None => (rest, None),
        };
        if !before.is_empty() {
            pieces.push(Piece::Text(before.to_owned()));
        }
        let Some(after) = after else { break };
        let end = pair_at(after, b'}', b"}")?;
        let expression = after[..end].trim_matches(' ');
        let ident = |part: &str| {
            part.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        };
        let first = expression.split('.').next().unwrap_or_default();
        if !expression.split('.').all(ident) || LITERALS.contains(&first) {
            return None;
        }
        pieces.push(Piece::Path(expression.to_owned()));
        rest = &after[end + 2..];
    }
    Some(pieces)
}

/// The dotted paths a plain template reads, sorted and unique, as minijinja lists them.
fn plain_paths(pieces: &[Piece]) -> Vec<String> {
    let mut paths: Vec<String> = pieces
        .iter()
        .filter_map(|piece| match piece {
            Piece::Path(path) => Some(path.clone()),
            Piece::Text(_) => None,
        })
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// The room a plain template's text starts with: a URL or a header value, mostly, fits.
const PLAIN_CAPACITY: usize = 64;

/// Renders a plain template as minijinja would, or returns `None` when a value is undefined.
fn render_plain(pieces: &[Piece], ctx: &Value) -> Option<String> {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(PLAIN_CAPACITY);
    for piece in pieces {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Path(path) => {
                let mut value = ctx.clone();
                for part in path.split('.') {
                    value = value.get_attr(part).ok()?;
                    if value.is_undefined() {
                        return None;
                    }
                }
                // What minijinja's formatter writes when nothing is escaped: a string as it
                // is, anything else as it displays.
                match value.as_str() {
                    Some(text) => out.push_str(text),
                    None => write!(out, "{value}").ok()?,
                }
            }
        }
    }
    Some(out)
}

/// Finds the first place a name is used as a whole identifier inside template code, skipping
/// text outside `{{ }}`/`{% %}` (for text templates) and string literals.
fn find_identifier(text: &str, name: &str, all_code: bool) -> Option<Range<usize>> {
    let bytes = text.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut start = 0;
    while let Some(found) = text[start..].find(name) {
        let at = start + found;
        let end = at + name.len();
        let before_ok = at == 0 || !is_ident(bytes[at - 1]) && bytes[at - 1] != b'.';
        let after_ok = end >= bytes.len() || !is_ident(bytes[end]);
        if before_ok
            && after_ok
            && (all_code || inside_code(&text[..at]))
            && !inside_string(&text[..at])
        {
            return Some(at..end);
        }
        start = end;
    }
    None
}

/// Tells whether the end of `prefix` is inside `{{ … }}` or `{% … %}`.
fn inside_code(prefix: &str) -> bool {
    let open = prefix
        .rfind("{{")
        .into_iter()
        .chain(prefix.rfind("{%"))
        .max();
    let close = prefix
        .rfind("}}")
        .into_iter()
        .chain(prefix.rfind("%}"))
        .max();
    match (open, close) {
        (Some(o), Some(c)) => o > c,
        (Some(_), None) => true,
        _ => false,
    }
}

/// Tells whether the end of `prefix` is inside a quoted string of template code.
fn inside_string(prefix: &str) -> bool {
    let code_start = prefix
        .rfind("{{")
        .into_iter()
        .chain(prefix.rfind("{%"))
        .max()
        .unwrap_or(0);
    let mut quote: Option<char> = None;
    for c in prefix[code_start..].chars() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
    }
    quote.is_some()
}

/// Finds where an expression really starts: minijinja's span of `a | f`, `a.b`, `a[0]`, `f(x)`
/// or `a is t` starts at the operator, not at `a`.
fn leftmost(expr: &ast::Expr<'_>) -> u32 {
    let own = expr.span().start_offset;
    let inner = match expr {
        ast::Expr::Filter(filter) => filter.expr.as_ref().map(leftmost),
        ast::Expr::Test(test) => Some(leftmost(&test.expr)),
        ast::Expr::GetAttr(attr) => Some(leftmost(&attr.expr)),
        ast::Expr::GetItem(item) => Some(leftmost(&item.expr)),
        ast::Expr::Call(call) => Some(leftmost(&call.expr)),
        ast::Expr::BinOp(binop) => Some(leftmost(&binop.left)),
        _ => None,
    };
    inner.map_or(own, |start| start.min(own))
}

fn collect_operands<'e>(expr: &'e ast::Expr<'e>, out: &mut Vec<&'e ast::Expr<'e>>, depth: u32) {
    if depth > 4 {
        return;
    }
    match expr {
        ast::Expr::Compare(compare) => {
            out.push(&compare.expr);
            out.extend(compare.ops.iter().map(|op| &op.expr));
        }
        ast::Expr::BinOp(binop)
            if matches!(binop.op, ast::BinOpKind::ScAnd | ast::BinOpKind::ScOr) =>
        {
            collect_operands(&binop.left, out, depth + 1);
            collect_operands(&binop.right, out, depth + 1);
        }
        // minijinja parses a single comparison (`a > b`) as a `BinOp`; only chains are `Compare`.
        ast::Expr::BinOp(binop)
            if matches!(
                binop.op,
                ast::BinOpKind::Eq
                    | ast::BinOpKind::Ne
                    | ast::BinOpKind::Lt
                    | ast::BinOpKind::Lte
                    | ast::BinOpKind::Gt
                    | ast::BinOpKind::Gte
                    | ast::BinOpKind::In
            ) =>
        {
            out.push(&binop.left);
            out.push(&binop.right);
        }
        ast::Expr::UnaryOp(unary) => collect_operands(&unary.expr, out, depth + 1),
        ast::Expr::Test(test) => out.push(&test.expr),
        other => out.push(other),
    }
}

fn instruction_range(
    instructions: &minijinja::machinery::Instructions<'_>,
    index: u32,
    kind: TemplateKind,
) -> Option<Range<usize>> {
    let span = instructions.get_span(index)?;
    let shift = prefix_len(kind);
    let start = (span.start_offset as usize).checked_sub(shift)?;
    let end = (span.end_offset as usize).checked_sub(shift)?;
    Some(start..end.max(start + 1))
}

fn wrap(kind: TemplateKind, text: &str) -> String {
    match kind {
        TemplateKind::Text => text.to_owned(),
        TemplateKind::Expression => format!("{EXPR_PREFIX}{text}{EXPR_SUFFIX}"),
        TemplateKind::Whole => {
            let inner = whole_expression(text.trim()).unwrap_or(text);
            format!("{EXPR_PREFIX}{inner}{EXPR_SUFFIX}")
        }
    }
}

fn prefix_len(kind: TemplateKind) -> usize {
    match kind {
        TemplateKind::Text => 0,
        TemplateKind::Expression | TemplateKind::Whole => EXPR_PREFIX.len(),
    }
}

/// Turns a minijinja error into our message and a range in the user's text; never uses
/// minijinja's debug view, which prints variable values.
fn convert(error: &minijinja::Error, kind: TemplateKind, user_text: &str) -> TemplateError {
    let mut message = match error.kind() {
        ErrorKind::UndefinedError => "undefined value".to_owned(),
        ErrorKind::SyntaxError => "template syntax error".to_owned(),
        ErrorKind::UnknownFilter => "unknown filter".to_owned(),
        ErrorKind::UnknownFunction => "unknown function".to_owned(),
        ErrorKind::UnknownTest => "unknown test".to_owned(),
        ErrorKind::OutOfFuel => "the template did too much work and was stopped".to_owned(),
        other => other.to_string(),
    };
    if let Some(detail) = error.detail() {
        message.push_str(": ");
        message.push_str(detail);
    }
    let shift = prefix_len(kind);
    let mut range = error.range().and_then(|r| {
        let start = r.start.checked_sub(shift)?;
        let end = r.end.saturating_sub(shift).min(user_text.len());
        (start <= user_text.len()).then(|| start..end.max(start))
    });
    if kind != TemplateKind::Text && error.kind() == ErrorKind::SyntaxError {
        // An error at or past the end of the user's text is about the wrapper we added.
        if range.as_ref().is_none_or(|r| r.start >= user_text.len()) {
            range = Some(user_text.len()..user_text.len());
            "template syntax error: unexpected end of expression".clone_into(&mut message);
        }
    }
    TemplateError { message, range }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::Span;

    fn source(text: &str, kind: TemplateKind) -> TemplateSource {
        TemplateSource {
            text: text.to_owned(),
            span: Span::new(1, 1, 1),
            kind,
            column_offset: Some(0),
        }
    }

    #[test]
    fn whole_expressions_keep_their_type() {
        let (templates, errors) = Templates::compile(&[source("{{ n + 1 }}", TemplateKind::Whole)]);
        assert!(errors.is_empty());
        let ctx = minijinja::context! { n => 41 };
        assert_eq!(
            templates.eval(TemplateId(0), &ctx).unwrap(),
            Value::from(42)
        );
    }

    #[test]
    fn shows_the_operands_of_a_comparison() {
        let checks = [
            source("json.expires_in > 0", TemplateKind::Expression),
            source("a == b and 'x' not in c", TemplateKind::Expression),
        ];
        let (templates, _) = Templates::compile(&checks);
        let ctx = minijinja::context! {
            json => minijinja::context! { expires_in => -1 }, a => 1, b => 2, c => vec!["x"]
        };
        let shown = |id| templates.operands(TemplateId(id), &ctx);
        assert_eq!(shown(0), [("json.expires_in".to_owned(), "-1".to_owned())]);
        assert_eq!(
            shown(1),
            [
                ("a".to_owned(), "1".to_owned()),
                ("b".to_owned(), "2".to_owned()),
                ("c".to_owned(), r#"["x"]"#.to_owned()),
            ]
        );
    }

    #[test]
    fn finds_variables_and_calls_with_positions() {
        let text = "{{ base }}/id/{{ id | upper }}?{{ uuid() }}";
        let (templates, _) = Templates::compile(&[source(text, TemplateKind::Text)]);
        let vars = templates.variables(TemplateId(0));
        let names: Vec<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["base", "id", "uuid"]);
        let range = vars[1].1.clone().unwrap();
        assert_eq!(range, 17..19);
        let calls = templates.calls(TemplateId(0));
        assert!(
            calls
                .iter()
                .any(|(k, n, _)| *k == CallKind::Filter && n == "upper")
        );
    }

    #[test]
    fn plain_templates_read_and_render_as_minijinja_does() {
        let ctx = minijinja::context! {
            s => "a b/é", n => 42, f => 2.5, t => true, z => (), list => vec![1, 2],
            map => minijinja::context! { k => "v", inner => minijinja::context! { x => -1 } },
            h => "<a href='x'>&amp;</a>", safe => Value::from_safe_string("<b>".into()),
        };
        let env = environment();
        let cases = [
            "{{ s }}",
            "{{s}}/{{ n }}?f={{ f }}&t={{ t }}",
            "x{{ z }}y{{ list }}{{ map }}",
            "{{ map.k }}-{{ map.inner.x }}-{{ map.inner }}",
            "{{ s }}{{ s }} and {{ map.k }}{{ map }} } { }}",
            "plain text, no variables",
            "{{ h }}|{{ safe }}|{{ map.k }}",
            "{{ missing }}",
            "{{ map.missing }}",
            "{{ s.missing }}",
        ];
        for text in cases {
            let (templates, errors) = Templates::compile(&[source(text, TemplateKind::Text)]);
            assert!(errors.is_empty(), "{text}");
            assert!(templates.plain[0].is_some(), "{text} is plain");
            let mut paths: Vec<String> = env
                .template_from_str(text)
                .unwrap()
                .undeclared_variables(true)
                .into_iter()
                .collect();
            paths.sort();
            assert_eq!(templates.dotted(TemplateId(0)), paths, "{text}");
            let expected = env.render_str(text, ctx.clone()).map_err(|e| e.kind());
            let rendered = templates.render(TemplateId(0), &ctx);
            match (&expected, &rendered) {
                (Ok(expected), Ok(rendered)) => assert_eq!(rendered, expected, "{text}"),
                (Err(_), Err(error)) => assert!(error.message.starts_with("undefined value")),
                _ => panic!("{text}: {expected:?} vs {rendered:?}"),
            }
        }
        for text in [
            "{{ true }}",
            "{{ n + 1 }}",
            "{{ s|upper }}",
            "a\n",
            "{% if t %}x{% endif %}",
            "{# c #}",
            "{{ list.0 }}",
            "{{ s }",
        ] {
            assert!(plain_pieces(text).is_none(), "{text} is not plain");
        }
    }

    #[test]
    fn strict_undefined_is_an_error() {
        let (templates, _) = Templates::compile(&[source("{{ nope }}", TemplateKind::Text)]);
        let error = templates
            .render(TemplateId(0), &minijinja::context! {})
            .unwrap_err();
        assert_eq!(error.message, "undefined value: `nope` is undefined");
    }

    #[test]
    fn operands_include_what_a_filter_or_attribute_applies_to() {
        let (templates, _) = Templates::compile(&[source(
            "items | length == 0 and user.name is upper",
            TemplateKind::Expression,
        )]);
        let ctx = minijinja::context! { items => vec![1, 2], user => minijinja::context! { name => "ann" } };
        let operands = templates.operands(TemplateId(0), &ctx);
        let shown: Vec<(&str, &str)> = operands
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        assert_eq!(shown, [("items | length", "2"), ("user.name", "\"ann\"")]);
    }
}
