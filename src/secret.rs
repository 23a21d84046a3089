//! Secrets: the values apiflow must never print, and the masking of them and their encodings.

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use regex::Regex;

/// What is printed instead of a secret.
pub const MASK: &str = "••••";

/// A value that prints as a mask in `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// Returns the real value, for sending it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

/// Masks every known secret, and its URL-encoded and base64 forms, in text.
#[derive(Clone, Debug, Default)]
pub struct Masker {
    values: Vec<String>,
    pattern: Option<Regex>,
}

impl Masker {
    /// Creates a masker that knows no secret yet.
    pub fn new() -> Masker {
        Masker::default()
    }

    /// Learns a secret value and the forms it takes on the wire; tells whether it was new.
    pub fn add(&mut self, value: &str) -> bool {
        if value.is_empty() || self.values.iter().any(|v| v == value) {
            return false;
        }
        let mut forms = vec![value.to_owned()];
        let encoded =
            percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        forms.push(encoded.clone());
        forms.push(encoded.replace("%20", "+"));
        forms.push(form_encode(value));
        for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
            forms.push(engine.encode(value));
        }
        // JSON escaping changes quotes, backslashes and control characters.
        if let Ok(json) = serde_json::to_string(value) {
            forms.push(json[1..json.len() - 1].to_owned());
        }
        // Reports escape text for XML and HTML.
        forms.push(crate::report::escape_xml(value));
        let before = self.values.len();
        for form in forms {
            if (form.chars().count() >= 3 || form == value) && !self.values.contains(&form) {
                self.values.push(form);
            }
        }
        if self.values.len() == before {
            return false;
        }
        self.rebuild();
        true
    }

    /// Tells whether any secret is known.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    fn rebuild(&mut self) {
        let mut values: Vec<&String> = self.values.iter().collect();
        // Longer forms first, so a secret inside a longer one is masked whole.
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        let alternation = values
            .iter()
            .map(|v| regex::escape(v))
            .collect::<Vec<_>>()
            .join("|");
        self.pattern = Regex::new(&alternation).ok();
    }

    /// Returns the text with every secret form replaced by the mask.
    pub fn mask<'t>(&self, text: &'t str) -> Cow<'t, str> {
        match &self.pattern {
            Some(pattern) => pattern.replace_all(text, MASK),
            None => Cow::Borrowed(text),
        }
    }
}

fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_raw_url_encoded_and_base64_forms() {
        let mut masker = Masker::new();
        masker.add("s3cr3t/+=!");
        let b64 = STANDARD.encode("s3cr3t/+=!");
        let text = format!("a s3cr3t/+=! b s3cr3t%2F%2B%3D%21 c {b64} d s3cr3t%2F%2B%3D%21");
        assert_eq!(masker.mask(&text), "a •••• b •••• c •••• d ••••");
    }

    #[test]
    fn secret_prints_as_a_mask() {
        let secret = Secret::new("hunter22");
        assert_eq!(format!("{secret} {secret:?}"), "•••• ••••");
        assert_eq!(secret.expose(), "hunter22");
    }

    #[test]
    fn nothing_known_nothing_masked() {
        assert_eq!(Masker::new().mask("plain"), "plain");
    }
}
