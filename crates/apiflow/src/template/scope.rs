//! The values templates see: workflow variables, and the response for checks and captures.

use std::collections::BTreeMap;

use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::{Arc, OnceLock};

use minijinja::Value;
use minijinja::value::{Enumerator, Object, ObjectRepr};

use crate::http::timing::{Timings, millis};

/// The fields of `timings` a check can read, in milliseconds; `none` for a phase that did not
/// happen.
pub const TIMING_FIELDS: &[&str] = &[
    "dns_ms",
    "connect_ms",
    "tls_ms",
    "ttfb_ms",
    "transfer_ms",
    "total_ms",
];

/// The workflow's variables: inputs, vars and captures, each with its visibility.
#[derive(Clone, Debug, Default)]
pub struct Variables {
    values: FxHashMap<String, Value>,
    /// The names of the secret variables.
    secret: FxHashSet<String>,
    /// For a map whose fields differ in secrecy (a `uses` step's outputs): the secret fields.
    secret_fields: FxHashMap<String, Vec<String>>,
}

impl Variables {
    /// Sets a variable; a secret one stays secret when a public value replaces it.
    pub fn set(&mut self, name: &str, value: Value, secret: bool) {
        if !self.secret_fields.is_empty() {
            self.secret_fields.remove(name);
        }
        if secret && !self.secret.contains(name) {
            self.secret.insert(name.to_owned());
        }
        match self.values.get_mut(name) {
            Some(slot) => *slot = value,
            None => {
                self.values.insert(name.to_owned(), value);
            }
        }
    }

    /// Sets a map variable whose named fields are secret and the others public.
    pub fn set_with_secret_fields(&mut self, name: &str, value: Value, fields: Vec<String>) {
        self.set(name, value, false);
        self.secret_fields.insert(name.to_owned(), fields);
    }

    /// Tells whether a dotted path a template reads (`setup.app_secret`) is secret: the
    /// variable is, or the field is, or — for the whole map — any field is.
    pub fn is_secret_path(&self, path: &str) -> bool {
        let (name, field) = path
            .split_once('.')
            .map_or((path, None), |(n, f)| (n, Some(f)));
        if self.is_secret(name) {
            return true;
        }
        let Some(fields) = self.secret_fields.get(name) else {
            return false;
        };
        match field {
            None => !fields.is_empty(),
            Some(field) => {
                let field = field.split('.').next().unwrap_or(field);
                fields.iter().any(|f| f == field)
            }
        }
    }

    /// Removes a variable (a `for_each` loop variable after the loop).
    pub fn remove(&mut self, name: &str) {
        self.values.remove(name);
        self.secret.remove(name);
        self.secret_fields.remove(name);
    }

    /// Returns a variable's value.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    /// Tells whether a variable is secret.
    pub fn is_secret(&self, name: &str) -> bool {
        self.secret.contains(name)
    }

    /// Lists the variable names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }
}

impl Object for Variables {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.values.get(key.as_str()?).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let mut keys: Vec<Value> = self
            .values
            .keys()
            .map(|k| Value::from(k.as_str()))
            .collect();
        keys.sort();
        Enumerator::Values(keys)
    }
}

/// What a check sees of a response, computed lazily so unused parts cost nothing.
#[derive(Debug)]
pub struct ResponseView {
    /// The variables at this point.
    pub variables: Arc<Variables>,
    /// Status code.
    pub status: u16,
    /// Headers, lower-case names; repeated headers joined with `, ` (shared by the views of
    /// one response).
    pub headers: Arc<[(String, String)]>,
    /// Cookies the response set, and the jar holds for the URL.
    pub cookies: Arc<[(String, String)]>,
    /// Body bytes.
    pub body: Arc<Vec<u8>>,
    /// Parsed JSON body, when it is JSON.
    pub json: Option<Arc<serde_json::Value>>,
    /// Time the exchange took.
    pub duration_ms: u64,
    /// The phases of the last exchange (the response the view shows).
    pub timings: Timings,
    /// This step's captures so far, read before `variables`.
    pub captures: Vec<(String, Value)>,
    headers_value: OnceLock<Value>,
    json_value: OnceLock<Value>,
}

impl ResponseView {
    /// Creates a view over a response.
    pub fn new(
        variables: Arc<Variables>,
        status: u16,
        headers: Arc<[(String, String)]>,
        cookies: Arc<[(String, String)]>,
        body: Arc<Vec<u8>>,
        json: Option<Arc<serde_json::Value>>,
        duration_ms: u64,
    ) -> ResponseView {
        ResponseView {
            variables,
            status,
            headers,
            cookies,
            body,
            json,
            duration_ms,
            timings: Timings::default(),
            captures: Vec::new(),
            headers_value: OnceLock::new(),
            json_value: OnceLock::new(),
        }
    }
}

impl Object for ResponseView {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "status" => Some(Value::from(self.status)),
            "headers" => Some(
                self.headers_value
                    .get_or_init(|| {
                        Value::from(
                            self.headers
                                .iter()
                                .cloned()
                                .collect::<BTreeMap<String, String>>(),
                        )
                    })
                    .clone(),
            ),
            "cookies" => Some(Value::from(
                self.cookies
                    .iter()
                    .cloned()
                    .collect::<BTreeMap<String, String>>(),
            )),
            "body" => Some(Value::from(
                String::from_utf8_lossy(&self.body).into_owned(),
            )),
            "json" => {
                let json = self.json.as_ref()?;
                Some(
                    self.json_value
                        .get_or_init(|| Value::from(minijinja::value::Serde(&**json)))
                        .clone(),
                )
            }
            "duration_ms" => Some(Value::from(self.duration_ms)),
            "timings" => Some(timings_value(&self.timings)),
            name => self
                .captures
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .or_else(|| self.variables.get(name).cloned()),
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(&[
            "status",
            "headers",
            "cookies",
            "body",
            "json",
            "duration_ms",
            "timings",
        ])
    }
}

/// Returns `timings` as checks read it: each field in milliseconds, or `none`.
fn timings_value(timings: &Timings) -> Value {
    let optional = |phase: Option<std::time::Duration>| {
        phase.map_or(Value::from(()), |d| Value::from(millis(d)))
    };
    let values = [
        optional(timings.dns),
        optional(timings.connect),
        optional(timings.tls),
        Value::from(millis(timings.ttfb)),
        Value::from(millis(timings.transfer)),
        Value::from(millis(timings.total)),
    ];
    Value::from(
        TIMING_FIELDS
            .iter()
            .zip(values)
            .map(|(name, value)| ((*name).to_owned(), value))
            .collect::<BTreeMap<String, Value>>(),
    )
}
