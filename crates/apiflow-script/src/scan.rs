//! Finds the variables a script sets by a literal name (`pm.environment.set("token", …)`), so
//! the data-flow check counts them as defined.

use std::sync::LazyLock;

use regex::Regex;

/// A variable a script sets by a literal name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiteralSet {
    /// The name.
    pub name: String,
    /// The byte offset of the call in the script.
    pub offset: usize,
}

static SETTERS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"\b(?:pm\s*\.\s*(?:environment|collectionVariables|globals|variables)\s*\.\s*set|postman\s*\.\s*set(?:Environment|Global)Variable)\s*\(\s*(?:"([^"\\\n]*)"|'([^'\\\n]*)'|`([^`\\$]*)`)\s*,"#,
    )
    .expect("the pattern compiles")
});

static JUMPS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"\b(?:pm\s*\.\s*execution|postman)\s*\.\s*setNextRequest\s*\(\s*(?:"([^"\\\n]*)"|'([^'\\\n]*)'|`([^`\\$]*)`)\s*\)"#,
    )
    .expect("the pattern compiles")
});

/// Lists the steps a script jumps to by a literal name (`postman.setNextRequest("login")`),
/// with where each call is, in the order written.
pub fn literal_jumps(code: &str) -> Vec<LiteralSet> {
    JUMPS
        .captures_iter(code)
        .filter_map(|found| {
            let name = found.get(1).or(found.get(2)).or(found.get(3))?;
            Some(LiteralSet {
                name: name.as_str().to_owned(),
                offset: name.start(),
            })
        })
        .collect()
}

/// Lists the variables a script sets with a literal name, in the order written. A call in a
/// comment counts too: the list only ever allows more templates, never fewer.
pub fn literal_sets(code: &str) -> Vec<LiteralSet> {
    SETTERS
        .captures_iter(code)
        .filter_map(|found| {
            let name = found.get(1).or(found.get(2)).or(found.get(3))?;
            Some(LiteralSet {
                name: name.as_str().to_owned(),
                offset: found.get(0).map_or(0, |m| m.start()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::literal_sets;

    fn names(code: &str) -> Vec<String> {
        literal_sets(code).into_iter().map(|s| s.name).collect()
    }

    #[test]
    fn finds_every_setter_with_a_literal_name() {
        let code = r#"
            pm.environment.set("token", json.access_token);
            pm.collectionVariables.set('user_id', 1);
            pm.globals.set(`region`, "eu");
            pm.variables.set ( "local" , 2);
            postman.setEnvironmentVariable("legacy", responseBody);
            postman.setGlobalVariable('legacy_global', 3);
        "#;
        assert_eq!(
            names(code),
            [
                "token",
                "user_id",
                "region",
                "local",
                "legacy",
                "legacy_global"
            ]
        );
    }

    #[test]
    fn finds_jumps_to_literal_names_only() {
        let code = r#"
            postman.setNextRequest("login");
            pm.execution.setNextRequest('poll');
            postman.setNextRequest(null);
            postman.setNextRequest(next);
        "#;
        let jumps: Vec<String> = super::literal_jumps(code)
            .into_iter()
            .map(|j| j.name)
            .collect();
        assert_eq!(jumps, ["login", "poll"]);
    }

    #[test]
    fn skips_computed_names_and_getters() {
        let code = r#"
            pm.environment.set(name, 1);
            pm.environment.set(`id_${n}`, 1);
            pm.environment.get("token");
            pm.environment.set("a" + b, 1);
        "#;
        assert!(names(code).is_empty());
    }
}
