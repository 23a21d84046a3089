//! The documentation's examples: every block fenced as ```` ```yaml ```` in the README and in
//! `docs/` is a complete, valid workflow (excerpts are fenced ```` ```yaml fragment ````).

use crate::support;

use std::path::Path;

use support::ROOT;

/// Returns each ```` ```yaml ```` block of a Markdown text with the line it starts on.
fn yaml_blocks(text: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, line) in text.lines().enumerate() {
        match current.as_mut() {
            None if line.trim_end() == "```yaml" => current = Some((index + 2, String::new())),
            None => {}
            Some(_) if line.trim_start().starts_with("```") => {
                blocks.extend(current.take());
            }
            Some((_, block)) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    assert!(current.is_none(), "a ```yaml block is never closed");
    blocks
}

#[test]
fn every_yaml_example_in_the_docs_is_a_valid_workflow() {
    let mut pages = vec![Path::new(ROOT).join("README.md")];
    for entry in std::fs::read_dir(Path::new(ROOT).join("docs")).expect("docs/") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    pages.sort();
    let mut checked = 0;
    let mut problems = String::new();
    for page in &pages {
        let text = std::fs::read_to_string(page).expect("a page");
        let name = page.strip_prefix(ROOT).expect("under the root").display();
        for (line, block) in yaml_blocks(&text) {
            let source = apiflow::Source::new(format!("{name}:{line}"), block);
            if let Err(diagnostics) = apiflow::check_source(&source) {
                problems.push_str(&support::render(&diagnostics));
            }
            checked += 1;
        }
    }
    assert!(problems.is_empty(), "{problems}");
    assert!(checked >= 5, "only {checked} examples found");
}

#[test]
fn yaml_blocks_are_found_with_their_line_and_fragments_are_left_out() {
    let text = "# Title\n\n```yaml\nname: a\n```\n\n```yaml fragment\nsteps: []\n```\n";
    assert_eq!(yaml_blocks(text), [(4, "name: a\n".to_owned())]);
}
