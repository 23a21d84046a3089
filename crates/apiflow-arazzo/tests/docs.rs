//! The Arazzo documents shown in `docs/arazzo.md` load: every YAML block that starts a
//! document (`arazzo:` on its first line).

use std::path::Path;

use apiflow::span::Source;
use apiflow_arazzo::load::load;

#[test]
fn the_documents_of_the_arazzo_page_load() {
    let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/arazzo.md");
    let text = std::fs::read_to_string(page).expect("docs/arazzo.md");
    let mut block: Option<(usize, String)> = None;
    let mut checked = 0;
    for (index, line) in text.lines().enumerate() {
        match block.as_mut() {
            None if line.starts_with("```yaml") => block = Some((index + 1, String::new())),
            None => {}
            Some((start, body)) if line.starts_with("```") => {
                if body.starts_with("arazzo:") {
                    let name = format!("docs/arazzo.md:{}", *start + 1);
                    if let Err(errors) = load(&Source::new(name.clone(), body.clone())) {
                        panic!(
                            "{name}:\n{}",
                            apiflow::Diagnostic::render_all(&errors, false)
                        );
                    }
                    checked += 1;
                }
                block = None;
            }
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
        }
    }
    assert!(checked >= 1, "no Arazzo document in docs/arazzo.md");
}

#[test]
fn the_shipped_arazzo_workflows_load() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflows");
    let mut loaded = 0;
    for entry in std::fs::read_dir(folder).expect("workflows/") {
        let path = entry.expect("an entry").path();
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if !apiflow_arazzo::load::is_arazzo(&text) {
            continue;
        }
        let name = format!(
            "workflows/{}",
            path.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        );
        if let Err(errors) = load(&Source::new(name.clone(), text)) {
            panic!(
                "{name}:\n{}",
                apiflow::Diagnostic::render_all(&errors, false)
            );
        }
        loaded += 1;
    }
    assert!(loaded >= 1, "no Arazzo document in workflows/");
}
