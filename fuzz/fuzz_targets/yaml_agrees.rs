//! Reads arbitrary text with the block YAML reader and with serde-saphyr: whenever the block
//! reader builds a tree, it is the one serde-saphyr builds, values and positions alike, so
//! wherever serde-saphyr reports an error the block reader gives up.
//!
//! The repository's YAML files make good seeds: from `fuzz/`,
//! `cargo +nightly fuzz run yaml_agrees corpus/yaml_agrees ../workflows ../tests -- -dict=yaml.dict`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Files that are not UTF-8 or too large are rejected before either reader sees them.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.len() > apiflow::format::yaml::MAX_FILE_SIZE {
        return;
    }
    let Some(block) = apiflow::format::yaml::parse_block(text) else {
        return;
    };
    let Some(serde) = apiflow::format::yaml::parse_serde(text) else {
        panic!("the block reader reads what serde-saphyr rejects: {text:?}");
    };
    assert_eq!(block, serde, "the readers differ for {text:?}");
});
