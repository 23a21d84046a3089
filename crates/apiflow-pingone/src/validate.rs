//! Field checks for JSON request bodies, collecting PingOne `details[]` entries as they fail.

use serde_json::{Map, Value, json};

use super::error::{detail, detail_with};

/// Reads typed fields from a request object, recording one detail per problem so a single
/// answer reports all of them.
pub(crate) struct Fields<'a> {
    map: &'a Map<String, Value>,
    pub(crate) details: Vec<Value>,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(map: &'a Map<String, Value>) -> Self {
        Self {
            map,
            details: Vec::new(),
        }
    }

    /// Returns the value at `key` unless it is absent or null.
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn missing(&mut self, target: &str) {
        self.details.push(detail(
            "REQUIRED_VALUE",
            target,
            format!("A value is required for '{target}'."),
        ));
    }

    fn wrong_type(&mut self, target: &str, expected: &str) {
        self.details.push(detail(
            "INVALID_VALUE",
            target,
            format!("'{target}' must be {expected}."),
        ));
    }

    /// Reads a string; an empty one counts as `EMPTY_VALUE`.
    pub(crate) fn string(&mut self, key: &str, required: bool) -> Option<String> {
        self.string_at(self.get(key), key, required)
    }

    fn string_at(&mut self, value: Option<&Value>, target: &str, required: bool) -> Option<String> {
        match value {
            None if required => {
                self.missing(target);
                None
            }
            None => None,
            Some(Value::String(s)) if s.trim().is_empty() => {
                self.details.push(detail(
                    "EMPTY_VALUE",
                    target,
                    format!("'{target}' must not be empty."),
                ));
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.wrong_type(target, "a string");
                None
            }
        }
    }

    pub(crate) fn boolean(&mut self, key: &str, required: bool) -> Option<bool> {
        match self.get(key) {
            None => {
                if required {
                    self.missing(key);
                }
                None
            }
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.wrong_type(key, "a boolean");
                None
            }
        }
    }

    /// Reads one value of a closed set.
    pub(crate) fn one_of(&mut self, key: &str, allowed: &[&str], required: bool) -> Option<String> {
        let value = self.string(key, required)?;
        self.check_allowed(&value, key, allowed).then_some(value)
    }

    fn check_allowed(&mut self, value: &str, target: &str, allowed: &[&str]) -> bool {
        if allowed.contains(&value) {
            return true;
        }
        self.details.push(detail_with(
            "INVALID_VALUE",
            target,
            format!("'{value}' is not a valid value for '{target}'."),
            json!({"allowedValues": allowed}),
        ));
        false
    }

    /// Reads an array of strings; each element's target is `key[index]`.
    pub(crate) fn strings(&mut self, key: &str, allowed: Option<&[&str]>) -> Option<Vec<String>> {
        let Value::Array(items) = self.get(key)? else {
            self.wrong_type(key, "an array of strings");
            return None;
        };
        let before = self.details.len();
        let mut out = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let target = format!("{key}[{index}]");
            if let Some(s) = self.string_at(Some(item), &target, true)
                && allowed.is_none_or(|allowed| self.check_allowed(&s, &target, allowed))
            {
                out.push(s);
            }
        }
        (self.details.len() == before).then_some(out)
    }

    /// Reads a whole number within `min..=max` (`OUT_OF_RANGE` otherwise).
    pub(crate) fn number(&mut self, key: &str, min: u64, max: u64) -> Option<u64> {
        let value = self.get(key)?;
        let Some(n) = value.as_u64() else {
            if value.as_i64().is_some() {
                self.out_of_range(key, min, max);
            } else {
                self.wrong_type(key, "a whole number");
            }
            return None;
        };
        if (min..=max).contains(&n) {
            Some(n)
        } else {
            self.out_of_range(key, min, max);
            None
        }
    }

    fn out_of_range(&mut self, target: &str, min: u64, max: u64) {
        self.details.push(detail_with(
            "OUT_OF_RANGE",
            target,
            format!("'{target}' must be between {min} and {max}."),
            json!({"rangeMinimumValue": min, "rangeMaximumValue": max}),
        ));
    }

    /// Reads `{key: {"id": "…"}}`, reporting problems at `key.id`.
    pub(crate) fn reference(&mut self, key: &str, required: bool) -> Option<String> {
        let target = format!("{key}.id");
        match self.get(key) {
            None if required => {
                self.missing(&target);
                None
            }
            None => None,
            Some(Value::Object(inner)) => {
                let id = inner.get("id").filter(|v| !v.is_null());
                self.string_at(id, &target, required)
            }
            Some(_) => {
                self.wrong_type(key, "an object with an 'id'");
                None
            }
        }
    }

    /// Reads `{key: {field: "…"}}` as an optional string at `key.field`.
    pub(crate) fn nested_string(&mut self, key: &str, field: &str) -> Option<String> {
        let Value::Object(inner) = self.get(key)? else {
            self.wrong_type(key, "an object");
            return None;
        };
        let value = inner.get(field).filter(|v| !v.is_null());
        self.string_at(value, &format!("{key}.{field}"), false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_problem() {
        let body = json!({"name": "", "grantTypes": ["CODE", 3], "refreshTokenDuration": 5});
        let Value::Object(map) = body else {
            unreachable!()
        };
        let mut fields = Fields::new(&map);
        assert!(fields.string("name", true).is_none());
        assert!(fields.boolean("enabled", true).is_none());
        assert!(
            fields
                .strings("grantTypes", Some(&["AUTHORIZATION_CODE"]))
                .is_none()
        );
        assert!(fields.number("refreshTokenDuration", 60, 100).is_none());
        let codes: Vec<_> = fields
            .details
            .iter()
            .map(|d| {
                format!(
                    "{} {}",
                    d["code"].as_str().unwrap(),
                    d["target"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            codes,
            [
                "EMPTY_VALUE name",
                "REQUIRED_VALUE enabled",
                "INVALID_VALUE grantTypes[0]",
                "INVALID_VALUE grantTypes[1]",
                "OUT_OF_RANGE refreshTokenDuration",
            ]
        );
    }
}
