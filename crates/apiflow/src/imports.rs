//! The engine's import graph: its top-level modules use each other without cycles.
//!
//! A file belongs to the top-level module its path starts with (`report/json.rs` to `report`),
//! `lib.rs` to the crate root. An edge comes from a `crate::…` or `super::…` path that leaves
//! the module, a `use crate::{a, b::…}` group giving one per name, and from the root to each
//! module whose path it names. An item of the root (`crate::check_source`) is an edge to the
//! root. Comments and literals are not code, and `#[cfg(test)]` items are left out: a test may
//! read whatever it checks against.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The crate root's name in the graph.
const ROOT: &str = "crate";

/// Each module's edges: the module used, with the file of its first use.
type Graph = BTreeMap<String, BTreeMap<String, String>>;

/// Reads every `.rs` file under `dir`, as paths relative to it with `/` between parts.
fn read_tree(dir: &Path, prefix: &str, files: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("the source folder can be read")
        .map(|entry| entry.expect("a folder entry can be read").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            read_tree(&path, &format!("{prefix}{name}/"), files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let text = std::fs::read_to_string(&path).expect("a source file can be read");
            files.push((format!("{prefix}{name}"), text));
        }
    }
}

/// Returns the module path of a file: `[]` for `lib.rs`, `[report]` for `report/mod.rs`,
/// `[report, json]` for `report/json.rs`.
fn module_path(file: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = file.split('/').collect();
    let last = parts.pop().unwrap_or_default();
    if !matches!(last, "lib.rs" | "mod.rs") {
        parts.push(last.trim_end_matches(".rs"));
    }
    parts
}

/// Tells whether a character can be part of an identifier.
fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Returns the code of a source file with comments, string and character literals blanked.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r'
            && !i
                .checked_sub(1)
                .is_some_and(|p| is_ident(chars[p]) && chars[p] != 'b')
            && matches!(next, Some('"' | '#'))
        {
            // A raw string: `r"…"`, `r#"…"#`, `br##"…"##`.
            let hashes = chars[i + 1..].iter().take_while(|&&h| h == '#').count();
            if chars.get(i + 1 + hashes) == Some(&'"') {
                let closing: Vec<char> = std::iter::once('"')
                    .chain(std::iter::repeat_n('#', hashes))
                    .collect();
                i += 2 + hashes;
                while i < chars.len() && !chars[i..].starts_with(&closing) {
                    i += 1;
                }
                i += closing.len();
                out.push_str("\"\"");
            } else {
                out.push(c);
                i += 1;
            }
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && next == Some('\\') {
            // An escaped character: `'\''`, `'\u{7f}'`.
            i += 3;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
            out.push_str("' '");
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            i += 3;
            out.push_str("' '");
        } else {
            // Code, a lifetime's quote included.
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Removes each `#[cfg(test)]` item: up to its `;`, or its braces and what they hold.
fn without_tests(code: &str) -> String {
    const ATTRIBUTE: &str = "#[cfg(test)]";
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find(ATTRIBUTE) {
        out.push_str(&rest[..at]);
        let item = &rest[at + ATTRIBUTE.len()..];
        let Some(end) = item.find([';', '{']) else {
            return out;
        };
        let mut depth = 0;
        let mut cut = item.len();
        for (index, c) in item.char_indices().skip_while(|&(index, _)| index < end) {
            match c {
                ';' if depth == 0 => {
                    cut = index + 1;
                    break;
                }
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        cut = index + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &item[cut..];
    }
    out.push_str(rest);
    out
}

/// Reads an identifier at the start of `text`.
fn ident(text: &str) -> &str {
    let end = text.find(|c: char| !is_ident(c)).unwrap_or(text.len());
    &text[..end]
}

/// Returns the first name of each path in a `{…}` group that starts `text`: `a` and `b` for
/// `{a, b::{c, d}}`.
fn group_heads(text: &str) -> Vec<&str> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut expect_head = false;
    for (index, c) in text.char_indices() {
        match c {
            '{' => {
                depth += 1;
                expect_head = depth == 1;
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => expect_head = true,
            c if expect_head && is_ident(c) => {
                heads.push(ident(&text[index..]));
                expect_head = false;
            }
            _ => {}
        }
    }
    heads
}

/// Returns the names that follow a path prefix such as `crate::` at the start of `after`.
fn heads(after: &str) -> Vec<&str> {
    if after.starts_with('{') {
        group_heads(after)
    } else {
        vec![ident(after)]
    }
}

/// Builds the graph of top-level modules from source files given by path and text.
fn graph(files: &[(String, String)]) -> Graph {
    let modules: BTreeSet<&str> = files
        .iter()
        .filter_map(|(file, _)| module_path(file).first().copied())
        .collect();
    let mut graph = Graph::new();
    for (file, text) in files {
        let path = module_path(file);
        let from = path.first().copied().unwrap_or(ROOT);
        let code = without_tests(&code_only(text));
        let mut used: Vec<&str> = Vec::new();
        for (at, _) in code.match_indices("crate::") {
            if !code[..at].ends_with(|c: char| is_ident(c) || c == ':') {
                used.extend(heads(&code[at + "crate::".len()..]));
            }
        }
        for (at, _) in code.match_indices("super::") {
            if code[..at].ends_with(|c: char| is_ident(c) || c == ':') {
                continue;
            }
            let mut rest = &code[at..];
            let mut up = 0;
            while let Some(after) = rest.strip_prefix("super::") {
                rest = after;
                up += 1;
            }
            // Only a path that climbs to the crate root can leave the module.
            if up >= path.len() {
                used.extend(heads(rest));
            }
        }
        if from == ROOT {
            // The root names its modules without `crate::`.
            for (at, _) in code.match_indices("::") {
                let before = &code[..at];
                let start = before.trim_end_matches(is_ident).len();
                if before[..start].ends_with(':') {
                    continue;
                }
                match &before[start..] {
                    "self" => used.extend(heads(&code[at + 2..])),
                    name => used.push(name),
                }
            }
            used.retain(|name| modules.contains(name));
        }
        for name in used {
            let to = if modules.contains(name) { name } else { ROOT };
            if to != from {
                graph
                    .entry(from.to_owned())
                    .or_default()
                    .entry(to.to_owned())
                    .or_insert_with(|| file.clone());
            }
        }
    }
    graph
}

/// Returns a cycle of the graph, as its modules with the first one again at the end.
fn cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit<'g>(
        graph: &'g Graph,
        node: &'g str,
        stack: &mut Vec<&'g str>,
        done: &mut BTreeSet<&'g str>,
    ) -> Option<Vec<String>> {
        if let Some(start) = stack.iter().position(|&n| n == node) {
            let mut found: Vec<String> = stack[start..].iter().map(|&n| n.to_owned()).collect();
            found.push(node.to_owned());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node);
        for next in graph.get(node).into_iter().flat_map(BTreeMap::keys) {
            if let Some(found) = visit(graph, next, stack, done) {
                return Some(found);
            }
        }
        stack.pop();
        done.insert(node);
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(graph, node, &mut Vec::new(), &mut done))
}

/// Writes a cycle with the file behind each edge.
fn explain(graph: &Graph, cycle: &[String]) -> String {
    let edges: Vec<String> = cycle
        .windows(2)
        .map(|pair| {
            format!(
                "  {} → {}  ({})",
                pair[0], pair[1], graph[&pair[0]][&pair[1]]
            )
        })
        .collect();
    format!(
        "the engine's modules import each other in a cycle: {}\n{}\nmove what both need to a \
         leaf module both import",
        cycle.join(" → "),
        edges.join("\n")
    )
}

/// Turns a list of paths and texts into source files.
fn files(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(file, text)| ((*file).to_owned(), (*text).to_owned()))
        .collect()
}

/// Returns the modules a module uses, in name order.
fn edges(graph: &Graph, from: &str) -> Vec<String> {
    graph
        .get(from)
        .map(|to| to.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn the_engine_modules_import_each_other_without_cycles() {
    let mut sources = Vec::new();
    read_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        "",
        &mut sources,
    );
    let graph = graph(&sources);
    // The graph is read, not empty: the runner uses the format's model, the root re-exports
    // the check phase.
    assert!(edges(&graph, "runner").contains(&"format".to_owned()));
    assert!(edges(&graph, ROOT).contains(&"check".to_owned()));
    if let Some(cycle) = cycle(&graph) {
        panic!("{}", explain(&graph, &cycle));
    }
}

#[test]
fn a_cycle_through_submodules_and_the_root_is_found() {
    let sources = files(&[
        ("lib.rs", "pub mod a;\npub mod b;\npub use a::f;\n"),
        ("a.rs", "use crate::b::{x, y};\npub fn f() {}\n"),
        ("b/mod.rs", "mod inner;\n"),
        ("b/inner.rs", "fn g() { super::super::c::h() }\n"),
        ("c.rs", "fn h() { crate::f() }\n"),
    ]);
    let graph = graph(&sources);
    assert_eq!(edges(&graph, "b"), ["c"]);
    let found = cycle(&graph).expect("a cycle");
    assert_eq!(found, ["a", "b", "c", "crate", "a"]);
    let text = explain(&graph, &found);
    assert!(text.contains("a → b → c → crate → a"), "{text}");
    assert!(text.contains("b → c  (b/inner.rs)"), "{text}");
}

#[test]
fn only_code_outside_tests_makes_edges() {
    let text = r##"
// crate::b in a comment
/* crate::b /* nested */ crate::b */
/// [`X`]: crate::b::X
fn f<'a>(x: &'a str) -> char {
    let _ = "crate::b \" crate::b";
    let _ = r#"crate::b " crate::b"#;
    let _ = b"crate::b";
    let _ = '\'';
    '{'
}
#[cfg(test)]
use crate::b;
#[cfg(test)]
mod tests {
    use crate::b;
    fn g() -> char { '}' }
}
use crate::{c, d::{e, f}};
use super::g;
"##;
    let graph = graph(&files(&[
        ("a.rs", text),
        ("b.rs", ""),
        ("c.rs", ""),
        ("d.rs", ""),
    ]));
    assert_eq!(edges(&graph, "a"), ["c", "crate", "d"]);
}
