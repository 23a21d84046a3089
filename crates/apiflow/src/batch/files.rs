//! Which workflow files a run takes: directories expanded into the YAML files below them, in a
//! stable order, and `--shard` applied.

use std::path::{Path, PathBuf};

/// One shard of a split: the `index`th (1-based) of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// Which shard, from 1 to `count`.
    pub index: usize,
    /// How many shards the files are split into.
    pub count: usize,
}

impl Shard {
    /// Parses `I/N` with 1 ≤ I ≤ N, as `--shard` takes it.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let parsed = text.split_once('/').and_then(|(i, n)| {
            Some((
                i.trim().parse::<usize>().ok()?,
                n.trim().parse::<usize>().ok()?,
            ))
        });
        match parsed {
            Some((index, count)) if count >= 1 && (1..=count).contains(&index) => {
                Ok(Shard { index, count })
            }
            _ => Err(format!(
                "invalid shard `{text}`: expected I/N with 1 ≤ I ≤ N, e.g. `2/4`"
            )),
        }
    }

    /// Tells whether the item at `position` (0-based) of a sorted list belongs to this shard:
    /// by position, so the split is balanced and the same on every machine.
    pub fn takes(self, position: usize) -> bool {
        position % self.count == self.index - 1
    }
}

/// Expands directories into the workflow files below them, sorted, and applies `--shard`.
pub fn workflow_files(paths: &[PathBuf], shard: Option<Shard>) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            collect_yaml(path, &mut found)
                .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
            if found.is_empty() {
                return Err(format!(
                    "`{}` holds no `.yaml` or `.yml` file",
                    path.display()
                ));
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    if let Some(shard) = shard {
        files = files
            .into_iter()
            .enumerate()
            .filter(|(position, _)| shard.takes(*position))
            .map(|(_, file)| file)
            .collect();
    }
    Ok(files)
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_yaml(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_shards_and_refuses_the_rest() {
        assert_eq!(Shard::parse("2/4"), Ok(Shard { index: 2, count: 4 }));
        assert_eq!(Shard::parse(" 1 / 1 "), Ok(Shard { index: 1, count: 1 }));
        for bad in ["0/3", "4/3", "1/0", "1", "a/b", "1/2/3"] {
            assert_eq!(
                Shard::parse(bad),
                Err(format!(
                    "invalid shard `{bad}`: expected I/N with 1 ≤ I ≤ N, e.g. `2/4`"
                ))
            );
        }
    }

    #[test]
    fn shards_split_positions_into_disjoint_sets_that_cover_them_all() {
        let count = 3;
        let mut seen = vec![0; 10];
        for index in 1..=count {
            let shard = Shard { index, count };
            for (position, hits) in seen.iter_mut().enumerate() {
                if shard.takes(position) {
                    *hits += 1;
                }
            }
        }
        assert!(seen.iter().all(|hits| *hits == 1), "{seen:?}");
        assert!(Shard { index: 2, count: 3 }.takes(4));
    }
}
