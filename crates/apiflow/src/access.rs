//! Where files may be read from and written to (`--file-root`, `--output-dir`), and paths
//! normalised without touching the file system: shared by workflows and the OpenAPI
//! descriptions they name.

use std::path::{Component, Path, PathBuf};

/// Where a workflow's files may be read from and written to.
#[derive(Clone, Debug, Default)]
pub struct FileAccess {
    /// `--file-root`: files a workflow reads must be under it; by default, under the
    /// workflow's own folder.
    pub file_root: Option<PathBuf>,
    /// `--output-dir`: where `save:` writes; by default, the current folder.
    pub output_dir: Option<PathBuf>,
    /// Files read are not looked for, so their paths are kept as written and unresolved: for
    /// a workflow checked before the files it names are in place (an importer's output).
    pub unopened: bool,
}

/// Removes `.` and resolves `..` in an absolute path, without touching the file system.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Removes `.` and resolves `..` in a relative path; `None` when it climbs above its start (or
/// is not relative).
pub fn normalize_relative(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::Normal(part) => out.push(part),
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}
