//! Response schemas as JSON Schema 2020-12, compiled once per description and schema.
//!
//! Every file of the description is a resource of one registry, under its `file:` URI, so a
//! `$ref` from a schema into `#/components/…` or into another file resolves as it does at
//! load. OpenAPI 3.1 and 3.2 schemas are JSON Schema 2020-12 already. OpenAPI 3.0's Schema
//! Object is translated first: `nullable: true` adds `null` to `type` (and to `enum`), a
//! boolean `exclusiveMinimum`/`exclusiveMaximum` takes the value of `minimum`/`maximum`, and
//! the siblings of a `$ref` are dropped, as 3.0 ignores them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::{Draft, Registry, Validator};
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use serde_json::{Map, Value};

use super::{Description, Dialect, Document};

/// The characters a JSON Pointer must have encoded in a URI fragment.
const FRAGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// A schema compiled, or why it cannot be.
pub(super) type Compiled = Arc<Result<Validator, String>>;

/// The schemas of a description compiled so far, and the registry they resolve in.
#[derive(Default)]
pub(super) struct Cache {
    registry: OnceLock<Result<Registry<'static>, String>>,
    validators: Mutex<HashMap<(usize, String), Compiled>>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("schema::Cache")
    }
}

/// The URI a file of the description is known by in the registry.
fn uri_of(doc: &Document, index: usize) -> String {
    doc.path
        .as_ref()
        .and_then(|p| url::Url::from_file_path(p).ok())
        .map_or_else(|| format!("urn:apiflow:document:{index}"), String::from)
}

/// Returns the validator of the schema at `pointer` in file `doc`, compiling it the first time.
pub(super) fn validator(description: &Description, doc: usize, pointer: &str) -> Compiled {
    let key = (doc, pointer.to_owned());
    let mut validators = match description.cache.validators.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    };
    if let Some(found) = validators.get(&key) {
        return Arc::clone(found);
    }
    let compiled = Arc::new(compile(description, doc, pointer));
    validators.insert(key, Arc::clone(&compiled));
    compiled
}

fn compile(description: &Description, doc: usize, pointer: &str) -> Result<Validator, String> {
    let registry = description
        .cache
        .registry
        .get_or_init(|| registry(description))
        .as_ref()
        .map_err(Clone::clone)?;
    let document = description
        .documents
        .get(doc)
        .ok_or_else(|| "the schema's file is not part of the description".to_owned())?;
    let target = format!(
        "{}#{}",
        uri_of(document, doc),
        utf8_percent_encode(pointer, FRAGMENT)
    );
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .with_registry(registry)
        .build(&serde_json::json!({ "$ref": target }))
        .map_err(|e| e.to_string())
}

fn registry(description: &Description) -> Result<Registry<'static>, String> {
    let mut builder = Registry::new()
        .draft(Draft::Draft202012)
        .retrieve_known_draft_meta_schemas(false);
    for (index, doc) in description.documents.iter().enumerate() {
        let mut json = doc.json.clone();
        if description.dialect == Dialect::Oas30 {
            translate(&mut json, false);
        }
        builder = builder
            .add(uri_of(doc, index), Draft::Draft202012.create_resource(json))
            .map_err(|e| e.to_string())?;
    }
    builder.prepare().map_err(|e| e.to_string())
}

/// Names the place in the description a validator's absolute keyword location points at: a
/// JSON Pointer in the description, or `FILE#POINTER` in another file.
pub(super) fn schema_place(description: &Description, uri: &str) -> Option<String> {
    let (base, fragment) = uri.split_once('#').unwrap_or((uri, ""));
    let index = description
        .documents
        .iter()
        .enumerate()
        .position(|(i, doc)| uri_of(doc, i) == base)?;
    let pointer = percent_decode_str(fragment)
        .decode_utf8_lossy()
        .into_owned();
    Some(if index == 0 {
        pointer
    } else {
        format!("{}#{pointer}", description.documents[index].source.name)
    })
}

/// Keys whose value is a mapping of names to schemas (or other objects), not a schema.
const NAME_MAPS: &[&str] = &[
    "properties",
    "patternProperties",
    "dependentSchemas",
    "$defs",
    "definitions",
    "schemas",
];

/// Rewrites OpenAPI 3.0 Schema Objects in a document as JSON Schema 2020-12.
fn translate(value: &mut Value, names: bool) {
    match value {
        Value::Object(map) => {
            if !names {
                keywords(map);
            }
            for (key, item) in map.iter_mut() {
                let literal = matches!(key.as_str(), "example" | "enum" | "const" | "default")
                    || key.starts_with("x-");
                if names || !literal {
                    translate(item, !names && NAME_MAPS.contains(&key.as_str()));
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                translate(item, false);
            }
        }
        _ => {}
    }
}

/// The 3.0 keywords of one object, in 2020-12 terms.
fn keywords(map: &mut Map<String, Value>) {
    if map.get("$ref").is_some_and(Value::is_string) {
        map.retain(|key, _| key == "$ref");
        return;
    }
    if map.get("nullable") == Some(&Value::Bool(true)) {
        map.remove("nullable");
        match map.get_mut("type") {
            Some(Value::String(kind)) => {
                let kind = std::mem::take(kind);
                map.insert("type".into(), serde_json::json!([kind, "null"]));
            }
            Some(Value::Array(kinds)) if !kinds.contains(&Value::from("null")) => {
                kinds.push(Value::from("null"));
            }
            _ => {}
        }
        if let Some(Value::Array(values)) = map.get_mut("enum")
            && !values.contains(&Value::Null)
        {
            values.push(Value::Null);
        }
    }
    for (exclusive, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        match map.get(exclusive) {
            Some(Value::Bool(true)) => {
                if let Some(limit) = map.remove(bound) {
                    map.insert(exclusive.into(), limit);
                } else {
                    map.remove(exclusive);
                }
            }
            Some(Value::Bool(false)) => {
                map.remove(exclusive);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::translate;

    #[test]
    fn openapi_3_0_schemas_read_as_2020_12() {
        let mut schema = json!({
            "type": "object",
            "properties": {
                "nullable": { "type": "string", "nullable": true },
                "size": { "type": "integer", "minimum": 1, "exclusiveMinimum": true,
                          "maximum": 9, "exclusiveMaximum": false },
                "kind": { "type": "string", "enum": ["a"], "nullable": true },
                "pet": { "$ref": "#/components/schemas/Pet", "description": "ignored" }
            },
            "example": { "nullable": true, "type": "x" }
        });
        translate(&mut schema, false);
        assert_eq!(
            schema,
            json!({
                "type": "object",
                "properties": {
                    "nullable": { "type": ["string", "null"] },
                    "size": { "type": "integer", "exclusiveMinimum": 1, "maximum": 9 },
                    "kind": { "type": ["string", "null"], "enum": ["a", null] },
                    "pet": { "$ref": "#/components/schemas/Pet" }
                },
                "example": { "nullable": true, "type": "x" }
            })
        );
    }
}
