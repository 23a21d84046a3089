//! Postman variables in apiflow: each Postman name mapped once to a template identifier, and
//! Postman's `{{name}}` text turned into minijinja templates.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

/// Names a Postman variable cannot keep: what checks see of the response, the functions
/// templates call, and the words minijinja reads as literals, operators or its own variables.
#[rustfmt::skip]
const RESERVED: &[&str] = &[
    // What checks see of the response.
    "status", "headers", "json", "body", "cookies", "duration_ms",
    // Functions.
    "uuid", "now", "timestamp", "random_string", "pkce_verifier", "pkce_challenge", "jwt_claims",
    "range", "dict", "namespace",
    // Literals, operators and minijinja's own names.
    "true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is", "if",
    "else", "loop", "self", "super", "caller", "varargs", "kwargs", "__value",
];

/// Postman's dynamic variables apiflow has a helper for, and the expression replacing each.
const DYNAMIC: &[(&str, &str)] = &[
    ("$timestamp", "timestamp()"),
    ("$guid", "uuid()"),
    ("$randomUUID", "uuid()"),
    ("$isoTimestamp", "now()"),
    // Postman's `$randomInt` is a whole number from 0 to 1000.
    ("$randomInt", "uuid()[:8] | int(base=16) % 1001"),
    ("$randomAlphaNumeric", "random_string(1)"),
];

/// One `{{name}}` in Postman text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// The variable's name, trimmed.
    pub name: String,
    /// Where the whole `{{name}}` is in the text.
    pub range: Range<usize>,
}

/// Finds every `{{name}}` in Postman text.
pub fn references(text: &str) -> Vec<Reference> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(start) = text[from..].find("{{").map(|i| i + from) {
        // In `{{{x}}}` the reference is the innermost `{{x}}`.
        let mut open = start;
        while text[open + 2..].starts_with('{') {
            open += 1;
        }
        let Some(end) = text[open + 2..].find("}}").map(|i| i + open + 2) else {
            break;
        };
        let inner = &text[open + 2..end];
        let name = inner.trim();
        if name.is_empty() || inner.contains(['{', '}', '\n']) {
            from = open + 2;
            continue;
        }
        out.push(Reference {
            name: name.to_owned(),
            range: open..end + 2,
        });
        from = end + 2;
    }
    out
}

/// Tells whether text holds a `{{name}}` reference.
pub fn has_reference(text: &str) -> bool {
    !references(text).is_empty()
}

/// Returns the expression apiflow uses for a Postman dynamic variable (`$guid`, …), if any.
pub fn dynamic(name: &str) -> Option<&'static str> {
    DYNAMIC.iter().find(|(n, _)| *n == name).map(|(_, e)| *e)
}

/// Tells whether a name can be used as is in a template.
pub fn is_identifier(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The mapping from Postman variable names to template identifiers, the same in every workflow
/// one import writes.
#[derive(Debug, Default)]
pub struct Names {
    map: HashMap<String, String>,
}

impl Names {
    /// Maps every name: names already valid (and not reserved) keep their spelling first, then the
    /// others get the nearest free identifier (`api-path` → `api_path`, `status` → `status_var`).
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Names {
        let mut ordered: Vec<&str> = Vec::new();
        let mut seen = HashSet::new();
        for name in names {
            if !name.starts_with('$') && seen.insert(name) {
                ordered.push(name);
            }
        }
        let mut map = HashMap::new();
        let mut taken: HashSet<String> = HashSet::new();
        for name in &ordered {
            if is_identifier(name) && !RESERVED.contains(name) {
                map.insert((*name).to_owned(), (*name).to_owned());
                taken.insert((*name).to_owned());
            }
        }
        for name in &ordered {
            if map.contains_key(*name) {
                continue;
            }
            let base = sanitize(name);
            let mut candidate = base.clone();
            let mut n = 2;
            while taken.contains(&candidate) {
                candidate = format!("{base}_{n}");
                n += 1;
            }
            taken.insert(candidate.clone());
            map.insert((*name).to_owned(), candidate);
        }
        Names { map }
    }

    /// Returns the identifier of a Postman variable.
    pub fn get(&self, name: &str) -> String {
        self.map
            .get(name)
            .cloned()
            .unwrap_or_else(|| sanitize(name))
    }

    /// Lists the known names that start with `prefix` and end with `suffix`, with something in
    /// between, sorted.
    pub fn fitting(&self, prefix: &str, suffix: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .map
            .keys()
            .filter(|name| {
                name.len() > prefix.len() + suffix.len()
                    && name.starts_with(prefix)
                    && name.ends_with(suffix)
            })
            .cloned()
            .collect();
        out.sort();
        out
    }

    /// Lists the names that were renamed, as (Postman name, identifier), sorted.
    pub fn renamed(&self) -> Vec<(&str, &str)> {
        let mut out: Vec<(&str, &str)> = self
            .map
            .iter()
            .filter(|(k, v)| k != v)
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        out.sort_unstable();
        out
    }
}

/// Turns any name into an identifier that is not reserved.
fn sanitize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let trimmed = out.trim_matches('_');
    let mut out = if trimmed.is_empty() {
        "var".to_owned()
    } else {
        trimmed.to_owned()
    };
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "var_");
    }
    if RESERVED.contains(&out.as_str()) {
        out.push_str("_var");
    }
    out
}

/// What converting Postman text found.
#[derive(Debug, Default)]
pub struct Found {
    /// Postman variables referenced, in order of first use.
    pub variables: Vec<String>,
    /// Dynamic variables without an apiflow helper (`$randomFirstName`, …).
    pub unknown_dynamic: Vec<String>,
}

impl Found {
    fn variable(&mut self, name: &str) {
        if !self.variables.iter().any(|v| v == name) {
            self.variables.push(name.to_owned());
        }
    }
}

/// A reference whose name holds another: `{{host.{{env}}}}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nested {
    /// The name's text before the inner reference (`host.`).
    pub prefix: String,
    /// The inner variable (`env`).
    pub inner: String,
    /// The name's text after it.
    pub suffix: String,
    /// Where the whole outer reference is in the text.
    pub range: Range<usize>,
}

/// Finds the references whose name holds one inner reference, which Postman resolves first.
pub fn nested(text: &str) -> Vec<Nested> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(start) = text[from..].find("{{").map(|i| i + from) {
        let after = start + 2;
        let (Some(inner_open), Some(first_close)) = (
            text[after..].find("{{").map(|i| i + after),
            text[after..].find("}}").map(|i| i + after),
        ) else {
            break;
        };
        if inner_open > first_close {
            from = first_close + 2;
            continue;
        }
        let inner_close = first_close;
        let Some(outer_close) = text[inner_close + 2..]
            .find("}}")
            .map(|i| i + inner_close + 2)
        else {
            break;
        };
        let prefix = &text[after..inner_open];
        let inner = &text[inner_open + 2..inner_close];
        let suffix = &text[inner_close + 2..outer_close];
        let clean = |t: &str| !t.contains(['{', '}', '\n']);
        if clean(prefix) && clean(inner) && clean(suffix) && !inner.trim().is_empty() {
            out.push(Nested {
                prefix: prefix.trim_start().to_owned(),
                inner: inner.trim().to_owned(),
                suffix: suffix.trim_end().to_owned(),
                range: start..outer_close + 2,
            });
            from = outer_close + 2;
        } else {
            from = after;
        }
    }
    out
}

/// Converts Postman text with `{{name}}` references into an apiflow template; text with no
/// reference and no template syntax comes back unchanged. A nested reference
/// (`{{host.{{env}}}}`) picks, by the inner variable's value, among the variables whose names
/// fit, as Postman resolves the inner one first.
pub fn template(text: &str, names: &Names, found: &mut Found) -> String {
    let nested: Vec<Nested> = nested(text)
        .into_iter()
        .filter(|n| !names.fitting(&n.prefix, &n.suffix).is_empty())
        .collect();
    let mut refs: Vec<(Range<usize>, Option<&Nested>, String)> = references(text)
        .into_iter()
        .filter(|r| !nested.iter().any(|n| n.range.contains(&r.range.start)))
        .map(|r| (r.range, None, r.name))
        .collect();
    refs.extend(
        nested
            .iter()
            .map(|n| (n.range.clone(), Some(n), String::new())),
    );
    refs.sort_by_key(|(range, _, _)| range.start);
    let mut out = String::with_capacity(text.len() + 8);
    let mut at = 0;
    for (range, nested, name) in &refs {
        out.push_str(&escape_literal(&text[at..range.start], true));
        out.push_str("{{ ");
        match nested {
            None => out.push_str(&expression(name, names, found)),
            Some(n) => {
                let choices: Vec<String> = names
                    .fitting(&n.prefix, &n.suffix)
                    .iter()
                    .map(|full| {
                        let key = &full[n.prefix.len()..full.len() - n.suffix.len()];
                        format!(
                            "'{}': {}",
                            key.replace('\\', "\\\\").replace('\'', "\\'"),
                            expression(full, names, found)
                        )
                    })
                    .collect();
                let inner = expression(&n.inner, names, found);
                out.push('{');
                out.push_str(&choices.join(", "));
                out.push_str("}[");
                out.push_str(&inner);
                out.push(']');
            }
        }
        out.push_str(" }}");
        at = range.end;
    }
    out.push_str(&escape_literal(&text[at..], false));
    out
}

/// Returns the expression for one Postman variable reference.
pub fn expression(name: &str, names: &Names, found: &mut Found) -> String {
    if name.starts_with('$') {
        if let Some(expression) = dynamic(name) {
            return expression.to_owned();
        }
        if !found.unknown_dynamic.iter().any(|n| n == name) {
            found.unknown_dynamic.push(name.to_owned());
        }
        // Some random text keeps the request sendable; the warning says what to change.
        return "random_string(12)".to_owned();
    }
    found.variable(name);
    names.get(name)
}

/// Escapes literal text so apiflow sends it as is: `{{`, `{%` and `{#` would start template
/// syntax. `before_template` says a `{{ … }}` follows, so a trailing `{` must be escaped too.
pub fn escape_literal(text: &str, before_template: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        let starts_tag =
            matches!(next, Some('{' | '%' | '#')) || (next.is_none() && before_template);
        if c == '{' && starts_tag {
            out.push_str("{{ '{' }}");
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_references() {
        let refs = references("{{baseUrl}}/users/{{ user id }}?x={{$guid}}&y={{}}{{{z}}}");
        let names: Vec<&str> = refs.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["baseUrl", "user id", "$guid", "z"]);
    }

    #[test]
    fn maps_names_consistently() {
        let names = Names::new([
            "api-path", "api_path", "envID", "status", "2fa", "a.b", "$guid",
        ]);
        assert_eq!(names.get("envID"), "envID");
        assert_eq!(names.get("api_path"), "api_path");
        assert_eq!(names.get("api-path"), "api_path_2");
        assert_eq!(names.get("status"), "status_var");
        assert_eq!(names.get("2fa"), "var_2fa");
        assert_eq!(names.get("a.b"), "a_b");
    }

    #[test]
    fn converts_text_to_templates() {
        let names = Names::new(["baseUrl", "user-id"]);
        let mut found = Found::default();
        let out = template(
            "{{baseUrl}}/u/{{user-id}}?t={{$timestamp}}&r={{$randomFirstName}}",
            &names,
            &mut found,
        );
        assert_eq!(
            out,
            "{{ baseUrl }}/u/{{ user_id }}?t={{ timestamp() }}&r={{ random_string(12) }}"
        );
        assert_eq!(found.variables, ["baseUrl", "user-id"]);
        assert_eq!(found.unknown_dynamic, ["$randomFirstName"]);
    }

    #[test]
    fn nested_references_choose_among_the_names_that_fit() {
        let names = Names::new(["env", "host.dev", "host.prod", "hostile", "x"]);
        let mut found = Found::default();
        assert_eq!(
            template("https://{{host.{{env}}}}/a/{{x}}", &names, &mut found),
            "https://{{ {'dev': host_dev, 'prod': host_prod}[env] }}/a/{{ x }}"
        );
        assert_eq!(found.variables, ["host.dev", "host.prod", "env", "x"]);
        // No name fits: the text stays as Postman would send it.
        assert_eq!(
            template("{{db.{{env}}}}", &names, &mut Found::default()),
            "{{ '{' }}{db.{{ env }}}}"
        );
    }

    #[test]
    fn escapes_template_syntax_in_literal_text() {
        let names = Names::new(["x"]);
        let mut found = Found::default();
        assert_eq!(
            template("{%a%} {#b#} {{{x}}}", &names, &mut found),
            "{{ '{' }}%a%} {{ '{' }}#b#} {{ '{' }}{{ x }}}"
        );
        assert_eq!(template("plain {text}", &names, &mut found), "plain {text}");
    }
}
