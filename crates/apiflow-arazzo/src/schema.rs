//! The official JSON Schemas of Arazzo 1.0 and 1.1, compiled once, that documents are checked
//! against when they load (vendored in `schemas/`, see `schemas/SOURCE.md`).

use std::sync::OnceLock;

use jsonschema::{Draft, Validator};

/// A version of the Arazzo Specification apiflow reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// Arazzo 1.0.x.
    V1_0,
    /// Arazzo 1.1.x.
    V1_1,
}

/// The versions apiflow reads, as the documentation names them.
pub const SUPPORTED: &str = "1.0.x or 1.1.x";

impl Version {
    /// Finds the version an `arazzo:` value names: `1.0.x` or `1.1.x`, with an optional
    /// pre-release suffix (`1.1.0-rc1`), as the official schemas accept.
    pub fn of(text: &str) -> Option<Version> {
        let (minor, rest) = if let Some(rest) = text.strip_prefix("1.0.") {
            (Version::V1_0, rest)
        } else if let Some(rest) = text.strip_prefix("1.1.") {
            (Version::V1_1, rest)
        } else {
            return None;
        };
        let (patch, suffix) = match rest.split_once('-') {
            Some((patch, suffix)) => (patch, Some(suffix)),
            None => (rest, None),
        };
        let patch_ok = !patch.is_empty() && patch.bytes().all(|b| b.is_ascii_digit());
        let suffix_ok = suffix.is_none_or(|s| !s.is_empty());
        (patch_ok && suffix_ok).then_some(minor)
    }

    /// Tells whether the version has the keys 1.1 added (`$self`, steps' `timeout` and
    /// `dependsOn`, AsyncAPI steps, selector objects, …).
    pub const fn is_1_1(self) -> bool {
        matches!(self, Version::V1_1)
    }

    /// Returns the compiled official schema of the version.
    pub fn validator(self) -> &'static Validator {
        static V1_0: OnceLock<Validator> = OnceLock::new();
        static V1_1: OnceLock<Validator> = OnceLock::new();
        match self {
            Version::V1_0 => {
                V1_0.get_or_init(|| compile(include_str!("../schemas/arazzo-1.0.json")))
            }
            Version::V1_1 => {
                V1_1.get_or_init(|| compile(include_str!("../schemas/arazzo-1.1.json")))
            }
        }
    }
}

/// Compiles a vendored schema; it is fixed text, tested to compile, so failing is a bug.
fn compile(text: &str) -> Validator {
    let schema: serde_json::Value =
        serde_json::from_str(text).expect("the vendored Arazzo schema is JSON");
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .build(&schema)
        .expect("the vendored Arazzo schema compiles")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_versions_the_schemas_accept() {
        assert_eq!(Version::of("1.0.0"), Some(Version::V1_0));
        assert_eq!(Version::of("1.0.1"), Some(Version::V1_0));
        assert_eq!(Version::of("1.1.0"), Some(Version::V1_1));
        assert_eq!(Version::of("1.1.12-rc1"), Some(Version::V1_1));
        for text in ["1.0", "1.2.0", "2", "1.1.x", "1.1.0-", "1.1.", " 1.1.0"] {
            assert_eq!(Version::of(text), None, "{text}");
        }
    }

    #[test]
    fn both_schemas_compile() {
        let empty = serde_json::json!({});
        assert!(!Version::V1_0.validator().is_valid(&empty));
        assert!(!Version::V1_1.validator().is_valid(&empty));
    }
}
