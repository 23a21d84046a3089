//! The workflow format: YAML text read into nodes that keep their positions, then loaded into
//! the typed model; and the format's JSON Schema.

pub mod load;
pub mod model;
pub mod schema;
pub mod yaml;
