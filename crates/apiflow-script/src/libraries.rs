//! The vendored JavaScript libraries `require` serves, each evaluated only when first required
//! (their licences and sources are beside them under `js/`).

/// The names `require` accepts, sorted; `atob` and `btoa` are also globals.
pub const LIBRARIES: &[&str] = &[
    "ajv",
    "atob",
    "btoa",
    "chai",
    "crypto-js",
    "lodash",
    "moment",
    "tv4",
    "uuid",
];

/// Returns a library's source, for the names that are files (`atob` and `btoa` are built in).
pub(crate) fn source(name: &str) -> Option<&'static str> {
    Some(match name {
        "ajv" => include_str!("../js/ajv/ajv.min.js"),
        "chai" => include_str!("../js/chai/chai.js"),
        "crypto-js" => include_str!("../js/crypto-js/crypto-js.js"),
        "lodash" => include_str!("../js/lodash/lodash.min.js"),
        "moment" => include_str!("../js/moment/moment.min.js"),
        "tv4" => include_str!("../js/tv4/tv4.js"),
        "uuid" => include_str!("../js/uuid/uuid.min.js"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::{LIBRARIES, source};

    #[test]
    fn every_library_but_the_built_in_ones_has_a_source() {
        for name in LIBRARIES {
            assert_eq!(
                source(name).is_some(),
                !matches!(*name, "atob" | "btoa"),
                "{name}"
            );
        }
        let mut sorted = LIBRARIES.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, LIBRARIES);
    }
}
