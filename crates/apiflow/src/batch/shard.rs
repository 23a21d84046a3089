//! `--shard auto`: the shard a process runs, read from the environment a scheduler gives its
//! workers (Kubernetes Indexed Jobs, GitLab's parallel jobs, or `APIFLOW_SHARD`).

use super::files::Shard;

/// Reads the shard from the environment, in this order: `APIFLOW_SHARD=I/N`; Kubernetes'
/// `JOB_COMPLETION_INDEX` (from 0) with the total from `count` (`--shard-count`) or
/// `APIFLOW_SHARD_COUNT`; GitLab's `CI_NODE_INDEX` and `CI_NODE_TOTAL` (from 1).
pub fn from_environment(
    env: &dyn Fn(&str) -> Option<String>,
    count: Option<usize>,
) -> Result<Shard, String> {
    if let Some(text) = env("APIFLOW_SHARD") {
        return Shard::parse(&text).map_err(|message| format!("`APIFLOW_SHARD`: {message}"));
    }
    if let Some(index) = env("JOB_COMPLETION_INDEX") {
        let index = number("JOB_COMPLETION_INDEX", &index)?;
        let count = match (count, env("APIFLOW_SHARD_COUNT")) {
            (Some(count), _) => count,
            (None, Some(text)) => number("APIFLOW_SHARD_COUNT", &text)?,
            (None, None) => {
                return Err("`JOB_COMPLETION_INDEX` is set, but not how many shards there are: pass `--shard-count N` or set `APIFLOW_SHARD_COUNT` (the Job's `completions`)".to_owned());
            }
        };
        return checked("JOB_COMPLETION_INDEX", index, 0, count);
    }
    if let Some(index) = env("CI_NODE_INDEX") {
        let index = number("CI_NODE_INDEX", &index)?;
        let Some(total) = env("CI_NODE_TOTAL") else {
            return Err("`CI_NODE_INDEX` is set but `CI_NODE_TOTAL` is not".to_owned());
        };
        let count = number("CI_NODE_TOTAL", &total)?;
        return checked("CI_NODE_INDEX", index, 1, count);
    }
    Err("`--shard auto` found no shard in the environment: set `APIFLOW_SHARD=I/N`, Kubernetes' `JOB_COMPLETION_INDEX` (with `--shard-count` or `APIFLOW_SHARD_COUNT`), or GitLab's `CI_NODE_INDEX` and `CI_NODE_TOTAL`".to_owned())
}

fn number(name: &str, text: &str) -> Result<usize, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("`{name}` is `{text}`: expected a whole number"))
}

/// Turns an index counted from `base` into a shard, when it is one of the `count`.
fn checked(name: &str, index: usize, base: usize, count: usize) -> Result<Shard, String> {
    let shard = index.saturating_add(1).saturating_sub(base);
    if count >= 1 && (1..=count).contains(&shard) {
        Ok(Shard {
            index: shard,
            count,
        })
    } else {
        Err(format!(
            "`{name}` is {index}, counted from {base}: out of range for {count} shards"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)], count: Option<usize>) -> Result<Shard, String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        from_environment(
            &|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
            count,
        )
    }

    #[test]
    fn reads_each_environment() {
        let shard = |index, count| Ok(Shard { index, count });
        assert_eq!(read(&[("APIFLOW_SHARD", "2/5")], None), shard(2, 5));
        assert_eq!(read(&[("JOB_COMPLETION_INDEX", "0")], Some(3)), shard(1, 3));
        assert_eq!(
            read(
                &[("JOB_COMPLETION_INDEX", "2"), ("APIFLOW_SHARD_COUNT", "3")],
                None
            ),
            shard(3, 3)
        );
        assert_eq!(
            read(&[("CI_NODE_INDEX", "2"), ("CI_NODE_TOTAL", "4")], None),
            shard(2, 4)
        );
        // The explicit variable wins over a scheduler's.
        assert_eq!(
            read(&[("CI_NODE_INDEX", "1"), ("APIFLOW_SHARD", "4/4")], None),
            shard(4, 4)
        );
    }

    #[test]
    fn names_the_variables_when_something_is_missing_or_wrong() {
        assert!(read(&[], None).is_err_and(|e| e.contains("`APIFLOW_SHARD=I/N`")));
        assert!(
            read(&[("JOB_COMPLETION_INDEX", "1")], None)
                .is_err_and(|e| e.contains("--shard-count"))
        );
        assert_eq!(
            read(&[("JOB_COMPLETION_INDEX", "3")], Some(3)),
            Err("`JOB_COMPLETION_INDEX` is 3, counted from 0: out of range for 3 shards".into())
        );
        assert_eq!(
            read(&[("CI_NODE_INDEX", "x"), ("CI_NODE_TOTAL", "2")], None),
            Err("`CI_NODE_INDEX` is `x`: expected a whole number".into())
        );
        assert!(read(&[("APIFLOW_SHARD", "0/2")], None).is_err());
    }
}
