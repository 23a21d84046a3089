//! Secrets: the values apiflow must never print, and the masking of them and their encodings.

use std::borrow::Cow;
use std::fmt;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use percent_encoding::{AsciiSet, CONTROLS};

/// The characters the `url` crate encodes in each part of a URL (the WHATWG URL standard's
/// percent-encode sets).
const URL_FRAGMENT: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'<').add(b'>').add(b'`');
const URL_QUERY: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'#').add(b'<').add(b'>');
const URL_SPECIAL_QUERY: &AsciiSet = &URL_QUERY.add(b'\'');
const URL_PATH: &AsciiSet = &URL_QUERY.add(b'?').add(b'`').add(b'{').add(b'}');
const URL_USERINFO: &AsciiSet = &URL_PATH
    .add(b'/')
    .add(b':')
    .add(b';')
    .add(b'=')
    .add(b'@')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'|');

/// The most text of secret forms searched for with one automaton; beyond it (a secret of
/// kilobytes) each form is replaced in turn, which needs no memory in proportion.
const MAX_SEARCHER_LEN: usize = 64 * 1024;

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
///
/// Learning a secret only notes it: its forms and the automaton that finds them are made when
/// text is first masked after it, so a run that learns secrets and prints nothing (a load run's
/// passed iterations) never pays for them.
#[derive(Clone, Debug, Default)]
pub struct Masker {
    /// The secrets learned, as given.
    secrets: Vec<String>,
    /// Their forms and searcher, made on first use after the last secret was learned.
    built: std::sync::OnceLock<Built>,
}

/// Every form of some secrets, and what finds them.
#[derive(Clone, Debug, Default)]
struct Built {
    /// Every form of every secret.
    values: Vec<String>,
    /// Finds every form at once, the longest where several start at the same place.
    searcher: Option<AhoCorasick>,
}

impl Masker {
    /// Creates a masker that knows no secret yet.
    pub fn new() -> Masker {
        Masker::default()
    }

    /// Learns a secret value, masked with the forms it takes on the wire; tells whether it was
    /// new.
    pub fn add(&mut self, value: &str) -> bool {
        // Checked against the secrets, not their forms: a secret may be another one's base64.
        if value.is_empty() || self.secrets.iter().any(|v| v == value) {
            return false;
        }
        self.secrets.push(value.to_owned());
        self.built = std::sync::OnceLock::new();
        true
    }

    /// Learns several secrets.
    pub fn add_all<'v>(&mut self, values: impl IntoIterator<Item = &'v str>) {
        for value in values {
            self.add(value);
        }
    }

    /// Tells whether any secret is known.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// Tells whether text holds a known secret as it is, which masking would replace: a check
    /// that needs neither the forms nor the searcher.
    pub fn shows_a_secret(&self, text: &str) -> bool {
        self.secrets
            .iter()
            .any(|secret| text.contains(secret.as_str()))
    }

    fn built(&self) -> &Built {
        self.built.get_or_init(|| {
            let mut values = Vec::new();
            for secret in &self.secrets {
                learn(secret, &mut values);
            }
            let searcher = build(&values);
            Built { values, searcher }
        })
    }

    /// Returns the text with every secret form replaced by the mask.
    pub fn mask<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if self.secrets.is_empty() {
            return Cow::Borrowed(text);
        }
        let built = self.built();
        match &built.searcher {
            Some(searcher) if searcher.is_match(text) => {
                let mut masked = String::with_capacity(text.len());
                searcher.replace_all_with(text, &mut masked, |_, _, out| {
                    out.push_str(MASK);
                    true
                });
                Cow::Owned(masked)
            }
            Some(_) => Cow::Borrowed(text),
            None if built.values.is_empty() => Cow::Borrowed(text),
            None => {
                let mut values: Vec<&String> = built.values.iter().collect();
                values.sort_by_key(|v| std::cmp::Reverse(v.len()));
                let mut masked = text.to_owned();
                for value in values {
                    if masked.contains(value.as_str()) {
                        masked = masked.replace(value.as_str(), MASK);
                    }
                }
                Cow::Owned(masked)
            }
        }
    }
}

/// Adds the forms a secret takes on the wire and in reports to `values`, each once.
fn learn(value: &str, values: &mut Vec<String>) {
    let mut forms = vec![value.to_owned()];
    let encoded = percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC)
        .to_string();
    forms.push(encoded.clone());
    forms.push(encoded.replace("%20", "+"));
    forms.push(form_encode(value));
    // A template that puts a secret in a URL's path, query or fragment leaves it to the URL
    // parser, which encodes only some characters.
    for set in [
        URL_PATH,
        URL_QUERY,
        URL_SPECIAL_QUERY,
        URL_FRAGMENT,
        URL_USERINFO,
    ] {
        forms.push(percent_encoding::utf8_percent_encode(value, set).to_string());
    }
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        forms.push(engine.encode(value));
    }
    // JSON escaping changes quotes, backslashes and control characters.
    forms.push(json_escape(value));
    // Reports escape what they embed once more: the JSON, JUnit and HTML reports hold URLs
    // and JSON bodies, and `--curl` quotes every word for the shell.
    let wire = forms.len();
    for index in 0..wire {
        let form = forms[index].clone();
        forms.push(json_escape(&form));
        forms.push(crate::escape::escape_xml(&form));
        forms.push(form.replace('\'', r"'\''"));
    }
    for form in forms {
        if (form.chars().count() >= 3 || form == value) && !values.contains(&form) {
            values.push(form);
        }
    }
}

/// Builds the searcher of some forms, or `None` when they are too long for one.
fn build(values: &[String]) -> Option<AhoCorasick> {
    if values.iter().map(String::len).sum::<usize>() > MAX_SEARCHER_LEN {
        return None;
    }
    // An automaton is built in time linear in the forms' length, unlike a regex of them
    // (a third of a millisecond for one secret); no DFA, which costs more to build than
    // masking a run's output costs to search. No prefilter: the forms of a few secrets
    // start with so many different bytes that the rare bytes it picks are in every line,
    // and checking each candidate cost twice what walking the automaton does.
    AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .kind(Some(AhoCorasickKind::ContiguousNFA))
        .prefilter(false)
        .build(values)
        .ok()
}

fn json_escape(value: &str) -> String {
    let json = serde_json::to_string(value).unwrap_or_default();
    json.get(1..json.len().saturating_sub(1))
        .unwrap_or_default()
        .to_owned()
}

fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_added_together_are_masked_as_if_added_one_by_one() {
        let mut together = Masker::new();
        together.add_all(["s3cr3t/+=!", "tok_123", "s3cr3t/+=!"]);
        let mut one_by_one = Masker::new();
        one_by_one.add("s3cr3t/+=!");
        one_by_one.add("tok_123");
        let text = format!(
            "a s3cr3t/+=! b {} c tok_123 d",
            STANDARD.encode("s3cr3t/+=!")
        );
        assert_eq!(together.mask(&text), one_by_one.mask(&text));
        assert_eq!(together.mask(&text), "a •••• b •••• c •••• d");
    }

    #[test]
    fn masks_raw_url_encoded_and_base64_forms() {
        let mut masker = Masker::new();
        masker.add("s3cr3t/+=!");
        let b64 = STANDARD.encode("s3cr3t/+=!");
        let text = format!("a s3cr3t/+=! b s3cr3t%2F%2B%3D%21 c {b64} d s3cr3t%2F%2B%3D%21");
        assert_eq!(masker.mask(&text), "a •••• b •••• c •••• d ••••");
    }

    #[test]
    fn masks_a_secret_a_url_parser_encoded_in_part() {
        let secret = "a b/c'd\"e?";
        let mut masker = Masker::new();
        masker.add(secret);
        let mut url = url::Url::parse("http://h/").unwrap();
        url.set_path(&format!("/x/{secret}"));
        url.set_query(Some(&format!("k={secret}")));
        url.set_fragment(Some(secret));
        assert_eq!(masker.mask(url.as_str()), "http://h/x/••••?k=••••#••••");
    }

    #[test]
    fn masks_a_secret_a_report_escaped_twice() {
        let secret = "k'e\"y<";
        let mut masker = Masker::new();
        masker.add(secret);
        let json_in_html = crate::escape::escape_xml(&json_escape(secret));
        let json_in_json = json_escape(&json_escape(secret));
        let quoted = format!("'{}'", secret.replace('\'', r"'\''"));
        let text = format!("{json_in_html} {json_in_json} {quoted}");
        assert_eq!(masker.mask(&text), "•••• •••• '••••'");
    }

    #[test]
    fn masks_a_secret_too_long_for_one_pattern() {
        let secret: String = (0..200_000u32)
            .map(|i| char::from(b'a' + u8::try_from(i * 7 % 26).unwrap()))
            .collect();
        let mut masker = Masker::new();
        masker.add(&secret);
        let text = format!("<{secret}> <{}>", STANDARD.encode(&secret));
        assert_eq!(masker.mask(&text), "<••••> <••••>");
    }

    #[test]
    fn a_secret_that_is_another_secrets_base64_gets_its_own_forms() {
        let mut masker = Masker::new();
        masker.add("hello");
        assert!(masker.add("aGVsbG8="));
        let text = STANDARD.encode("aGVsbG8=");
        assert_eq!(masker.mask(&text), "••••");
    }

    #[test]
    fn many_secrets_are_learned_quickly() {
        let started = std::time::Instant::now();
        let mut masker = Masker::new();
        for i in 0..200 {
            masker.add(&format!(
                "secret number {i} with some length to it, {}",
                "x".repeat(i)
            ));
        }
        assert_eq!(
            masker.mask("secret number 7 with some length to it, xxxxxxx"),
            "••••"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
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
