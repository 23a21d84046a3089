//! Property tests: masking, durations, and `--var` and env-file parsing, over generated input.

use std::fmt::Write as _;
use std::time::Duration;

use apiflow::check::inputs::{parse_env_file, parse_var};
use apiflow::duration::{format_duration, parse_duration};
use apiflow::secret::{MASK, Masker};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use proptest::prelude::*;

/// Secrets: any characters but the mask's own, often with the ones that encodings change.
fn secret() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        ' ', '/', '+', '=', '&', '%', '"', '\\', '\'', '<', '>', '?', '#', ':', '@', '\n', '\t',
        'é', 'ü', '€', '😀', '\u{1}',
    ]);
    let any = any::<char>().prop_filter("not the mask's character", |c| *c != '•');
    prop::collection::vec(prop_oneof![3 => any, 2 => special], 1..24)
        .prop_map(|chars| chars.into_iter().collect())
}

/// Every form the masker promises to hide: the value, and each encoding of three characters
/// or more (shorter encodings of one-character secrets would hide ordinary text).
fn forms(secret: &str) -> Vec<String> {
    let percent = percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
        .to_string();
    let json = serde_json::to_string(secret).expect("JSON");
    let mut forms = vec![
        percent.clone(),
        percent.replace("%20", "+"),
        url::form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
        STANDARD.encode(secret),
        STANDARD_NO_PAD.encode(secret),
        URL_SAFE.encode(secret),
        URL_SAFE_NO_PAD.encode(secret),
        json[1..json.len() - 1].to_owned(),
        apiflow::report::escape_xml(secret),
    ];
    forms.retain(|form| form.chars().count() >= 3);
    forms.push(secret.to_owned());
    forms
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_form_of_a_secret_survives_masking(
        secret in secret(),
        before in ".{0,40}",
        after in ".{0,40}",
        which in any::<prop::sample::Index>(),
    ) {
        let mut masker = Masker::new();
        masker.add(&secret);
        let forms = forms(&secret);
        let form = which.get(&forms);
        let text = format!("{before}{form}{after}");
        let masked = masker.mask(&text);
        for form in &forms {
            prop_assert!(
                !masked.contains(form.as_str()),
                "{form:?} survives in {masked:?}"
            );
        }
        prop_assert!(masked.contains(MASK));
    }

    #[test]
    fn several_secrets_are_all_masked(
        secrets in prop::collection::vec(secret(), 1..5),
        glue in ".{0,10}",
    ) {
        let mut masker = Masker::new();
        for secret in &secrets {
            masker.add(secret);
        }
        let text = secrets.join(&glue);
        let masked = masker.mask(&text);
        for secret in &secrets {
            prop_assert!(!masked.contains(secret.as_str()), "{secret:?} survives in {masked:?}");
        }
    }

    #[test]
    fn text_without_secrets_is_unchanged(secret in secret(), text in ".{0,80}") {
        prop_assume!(forms(&secret).iter().all(|form| !text.contains(form.as_str())));
        let mut masker = Masker::new();
        masker.add(&secret);
        prop_assert_eq!(masker.mask(&text), text.as_str());
    }

    #[test]
    fn parsing_a_duration_never_panics(text in "\\PC{0,30}") {
        let _ = parse_duration(&text);
    }

    #[test]
    fn duration_like_text_never_panics(text in "[0-9.hms ]{0,30}") {
        let _ = parse_duration(&text);
    }

    #[test]
    fn compound_durations_add_up(
        h in 0u64..1000, m in 0u64..1000, s in 0u64..1000, ms in 0u64..1000,
        parts in 1u8..16,
    ) {
        // `parts` picks which units to write; at least one.
        let mut text = String::new();
        let mut expected = Duration::ZERO;
        for (bit, value, unit, scale) in [
            (1, h, "h", 3_600_000),
            (2, m, "m", 60_000),
            (4, s, "s", 1000),
            (8, ms, "ms", 1),
        ] {
            if parts & bit != 0 {
                let _ = write!(text, "{value}{unit}");
                expected += Duration::from_millis(value * scale);
            }
        }
        prop_assert_eq!(parse_duration(&text), Ok(expected));
        prop_assert_eq!(parse_duration(&format!("  {text}\n")), Ok(expected));
    }

    #[test]
    fn formatted_durations_parse_back_to_what_they_show(nanos in 0u64..(100 * 3_600_000_000_000)) {
        let duration = Duration::from_nanos(nanos);
        let shown = format_duration(duration);
        let parsed = parse_duration(&shown);
        // Each form truncates: to the millisecond under a second, to 10ms under a minute,
        // to the second beyond.
        let expected = if duration < Duration::from_secs(1) {
            Duration::from_millis(u64::try_from(duration.as_millis()).expect("small"))
        } else if duration < Duration::from_secs(60) {
            Duration::from_millis(u64::try_from(duration.as_millis()).expect("small") / 10 * 10)
        } else {
            Duration::from_secs(duration.as_secs())
        };
        prop_assert_eq!(parsed, Ok(expected), "{}", shown);
    }

    #[test]
    fn parsing_a_var_never_panics(text in "\\PC{0,40}") {
        let _ = parse_var(&text);
    }

    #[test]
    fn a_var_splits_at_the_first_equals_sign(
        name in "[A-Za-z_][A-Za-z0-9_]{0,20}",
        value in "\\PC{0,40}",
    ) {
        prop_assert_eq!(
            parse_var(&format!("{name}={value}")),
            Ok((name.clone(), value.clone()))
        );
    }

    #[test]
    fn a_var_result_matches_its_text(text in "\\PC{0,40}") {
        if let Ok((name, value)) = parse_var(&text) {
            let (before, after) = text.split_once('=').expect("an `=`");
            prop_assert_eq!(name.as_str(), before.trim());
            prop_assert_eq!(value.as_str(), after);
        } else {
            let valid_name = text.split_once('=').is_some_and(|(name, _)| {
                let name = name.trim();
                name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
            prop_assert!(!valid_name, "`{text}` was refused");
        }
    }

    #[test]
    fn parsing_an_env_file_never_panics(text in "(\\PC{0,30}\n){0,6}") {
        let _ = parse_env_file("test.env", &text);
    }
}
