//! Parses a JSON body keeping only what a step's singular paths select.
//!
//! A step that captures `$.links.next.id` from a 2 KB body needs one number of it. Building the
//! whole `serde_json::Value` (a map with a hashed index per object, a `String` per key and
//! value) and dropping it again costs more than anything else in such a step. A [`Pick`] walks
//! the same bytes with the same parser, so it accepts and rejects exactly what
//! `serde_json::from_slice` does, but allocates only the values on its paths. Querying the
//! pruned document with those paths gives what querying the whole one would.

use std::fmt;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// One part of a singular path: a member name or an array index counted from the start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// `.name` or `['name']`.
    Name(String),
    /// `[2]`.
    Index(usize),
}

/// The paths a step reads, merged into one tree: what to keep of a body.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pick {
    /// A path ends here: keep the whole value.
    whole: bool,
    /// Members to descend into.
    names: Vec<(String, Pick)>,
    /// Array elements to descend into.
    indices: Vec<(usize, Pick)>,
}

impl Pick {
    /// Adds a path, given as its parts from the root.
    pub fn add(&mut self, parts: &[Part]) {
        let Some((first, rest)) = parts.split_first() else {
            self.whole = true;
            return;
        };
        let child = match first {
            Part::Name(name) => child(&mut self.names, name),
            Part::Index(index) => child(&mut self.indices, index),
        };
        child.add(rest);
    }

    /// Parses `body` as JSON, with `serde_json::from_slice`'s errors, keeping only the values
    /// on the paths (members off the paths are left out, array elements off them become `null`
    /// so that indices still count right).
    pub fn parse(&self, body: &[u8]) -> serde_json::Result<Value> {
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        let value = self.deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(value)
    }
}

/// Finds the child for `key`, adding an empty one when there is none.
fn child<'p, K: PartialEq + Clone>(children: &'p mut Vec<(K, Pick)>, key: &K) -> &'p mut Pick {
    let index = children
        .iter()
        .position(|(k, _)| k == key)
        .unwrap_or_else(|| {
            children.push((key.clone(), Pick::default()));
            children.len() - 1
        });
    &mut children[index].1
}

impl<'de> DeserializeSeed<'de> for &Pick {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        if self.whole {
            Value::deserialize(deserializer)
        } else {
            deserializer.deserialize_any(self)
        }
    }
}

/// A scalar where a path goes on deeper selects nothing, so it is kept as `null`.
impl<'de> Visitor<'de> for &Pick {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_str<E>(self, _: &str) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        // Elements up to the last index a path names are kept (as `null` when off the paths).
        let kept = self.indices.iter().map(|(i, _)| i + 1).max().unwrap_or(0);
        let mut items = Vec::with_capacity(kept.min(seq.size_hint().unwrap_or(kept)));
        for index in 0.. {
            let next = match self.indices.iter().find(|(i, _)| *i == index) {
                Some((_, pick)) => seq.next_element_seed(pick)?,
                None => seq.next_element::<Skip>()?.map(|Skip| Value::Null),
            };
            match next {
                Some(value) if index < kept => items.push(value),
                Some(_) => {}
                None => break,
            }
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut kept = Map::new();
        while let Some(member) = map.next_key_seed(Member(&self.names))? {
            match member {
                Some(index) => {
                    let (name, pick) = &self.names[index];
                    // A repeated member replaces the earlier one, as in a whole parse.
                    kept.insert(name.clone(), map.next_value_seed(pick)?);
                }
                None => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(Value::Object(kept))
    }
}

/// Reads a member name and says which of `names` it is, without allocating.
struct Member<'p>(&'p [(String, Pick)]);

impl<'de> DeserializeSeed<'de> for Member<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<usize>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for Member<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a member name")
    }
    fn visit_str<E>(self, name: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|(n, _)| n == name))
    }
}

/// Any JSON value, checked as strictly as a whole parse checks it, and dropped.
struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Skip, D::Error> {
        // Not `deserialize_ignored_any`: that skips without checking strings, numbers and
        // nesting depth, and would accept bodies a whole parse rejects.
        deserializer.deserialize_any(SkipVisitor)
    }
}

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = Skip;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_str<E>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_unit<E>(self) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(Skip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonpath::JsonPath;

    fn pick(paths: &[&str]) -> (Pick, Vec<JsonPath>) {
        let mut pick = Pick::default();
        let compiled: Vec<JsonPath> = paths.iter().map(|p| JsonPath::parse(p).unwrap()).collect();
        for path in &compiled {
            pick.add(path.singular_parts().expect("singular"));
        }
        (pick, compiled)
    }

    /// The pruned document answers every path as the whole one does.
    fn same_answers(body: &str, paths: &[&str]) {
        let (pick, compiled) = pick(paths);
        let whole: Value = serde_json::from_str(body).unwrap();
        let pruned = pick.parse(body.as_bytes()).unwrap();
        for path in &compiled {
            assert_eq!(path.query(&pruned), path.query(&whole), "{path} on {body}");
        }
    }

    #[test]
    fn keeps_only_the_values_on_the_paths() {
        let (pick, _) = pick(&["$.links.next.id", "$.items[1].name"]);
        let body = r#"{"id":1,"links":{"self":"/1","next":{"id":8,"href":"/8"}},
            "items":[{"name":"a"},{"name":"b","x":[1,2]},{"name":"c"}]}"#;
        assert_eq!(
            pick.parse(body.as_bytes()).unwrap(),
            serde_json::json!({"links":{"next":{"id":8}},"items":[null,{"name":"b"}]})
        );
    }

    #[test]
    fn answers_as_the_whole_document_does() {
        let body = r#"{"a":{"b":[10,{"c":"x\"y"},[1]]},"a\u0062":2,"n":null,"s":"t","d":1,"d":2}"#;
        same_answers(
            body,
            &[
                "$.a.b[1].c",
                "$.a.b[0]",
                "$.a.b[7]",
                "$.ab",
                "$.n",
                "$.n.deeper",
                "$.s.deeper",
                "$.s[0]",
                "$.a[0]",
                "$.missing",
                "$.d",
                "$['a']['b'][2][0]",
                "$",
            ],
        );
        same_answers("[1,[2,3]]", &["$[1][0]", "$[5]", "$.x"]);
        same_answers("\"text\"", &["$.x", "$[0]"]);
    }

    #[test]
    fn rejects_what_a_whole_parse_rejects() {
        let (pick, _) = pick(&["$.a"]);
        let deep = format!("{{\"b\":{}{}}}", "[".repeat(200), "]".repeat(200));
        for body in [
            r#"{"a":1,"b":"\ud800"}"#,
            r#"{"a":1,"b":1e400}"#,
            "{\"a\":1,\"b\":\"\u{1}\"}",
            r#"{"a":1,"b":[1,]}"#,
            r#"{"a":1} x"#,
            r#"{"a":1,"b":tru}"#,
            deep.as_str(),
        ] {
            let whole = serde_json::from_str::<Value>(body).map_err(|e| e.to_string());
            let pruned = pick.parse(body.as_bytes()).map_err(|e| e.to_string());
            assert!(whole.is_err(), "{body}");
            assert_eq!(pruned.map(|_| ()), whole.map(|_| ()), "{body}");
        }
        assert!(pick.parse(b"{\"a\":1,\"b\":\"\xff\"}").is_err());
    }

    fn document() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-c\\\\\"]{0,3}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::vec(("[a-c]", inner), 0..4)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    fn path() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let part = prop_oneof![
            "[a-c]".prop_map(|n| format!(".{n}")),
            (0..4u8).prop_map(|i| format!("[{i}]"))
        ];
        proptest::collection::vec(part, 0..4).prop_map(|parts| format!("${}", parts.concat()))
    }

    proptest::proptest! {
        #[test]
        fn any_singular_paths_answer_as_on_the_whole_document(
            doc in document(),
            paths in proptest::collection::vec(path(), 1..4),
        ) {
            let body = serde_json::to_string(&doc).unwrap();
            let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
            same_answers(&body, &paths);
        }
    }
}
