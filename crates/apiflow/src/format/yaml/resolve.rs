//! Plain scalars resolved as serde-saphyr resolves them, for the block reader: where that is
//! not certain, the reader gives up and serde-saphyr reads the text.

use std::borrow::Cow;

use super::NodeKind;

/// What serde-saphyr trims from a scalar before reading it as a boolean or a number.
const PADDING: [char; 4] = [' ', '\t', '\r', '\n'];

/// Resolves a plain scalar as serde-saphyr does with `strict_booleans`, or returns `None` when
/// that is not certain: null forms, YAML 1.2 booleans, decimal integers that fit `i64`, decimal
/// fractions such as `2.5`, and text that no number spelling can match.
pub(super) fn plain(text: Cow<'_, str>) -> Option<NodeKind<'_>> {
    // Most scalars are words: a letter that starts no null, boolean or number spelling, and
    // no padding at the end, is text whatever follows it.
    if let (Some(first), Some(last)) = (text.as_bytes().first(), text.as_bytes().last())
        && first.is_ascii_alphabetic()
        && !matches!(first, b'n' | b'N' | b't' | b'T' | b'f' | b'F')
        && !matches!(last, b' ' | b'\t' | b'\r' | b'\n')
    {
        return Some(NodeKind::Str(text));
    }
    match &*text {
        "" | "~" | "null" | "Null" | "NULL" => return Some(NodeKind::Null),
        "true" | "True" | "TRUE" => return Some(NodeKind::Bool(true)),
        "false" | "False" | "FALSE" => return Some(NodeKind::Bool(false)),
        _ => {}
    }
    if text.starts_with(PADDING) || text.ends_with(PADDING) {
        return None;
    }
    // Numbers start with a digit, a sign or a dot (`.5`, `.inf`); `nan` or `Infinity` are text.
    if text.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.')) {
        if is_decimal(&text) {
            return text.parse().ok().map(NodeKind::Int);
        }
        if is_fraction(&text) {
            return text
                .parse()
                .ok()
                .filter(|f: &f64| f.is_finite())
                .map(NodeKind::Float);
        }
        if may_be_number(&text) {
            return None;
        }
    }
    Some(NodeKind::Str(text))
}

/// Tells whether the text is `0`, or digits not starting with `0` after an optional `-`.
fn is_decimal(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    digits == "0"
        || (!digits.is_empty()
            && !digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// Tells whether the text is digits, a dot and digits after an optional `-`, as in `2.5`.
fn is_fraction(text: &str) -> bool {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    unsigned.split_once('.').is_some_and(|(whole, fraction)| {
        [whole, fraction]
            .iter()
            .all(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// Tells whether serde-saphyr may read the text as a number, erring towards yes: an integer in
/// any radix, with underscores, or a float as YAML or Rust spells it (`1.5`, `.5`, `1e3`, `.inf`).
/// `1.2.3`, `2024-01-31` or `3xx` are not numbers.
fn may_be_number(text: &str) -> bool {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if matches!(
        unsigned.as_bytes(),
        [b'0', b'x' | b'X' | b'o' | b'O' | b'b' | b'B', ..]
    ) || unsigned.bytes().all(|b| b.is_ascii_digit() || b == b'_')
        || ["inf", "infinity", "nan", ".inf", ".nan"]
            .iter()
            .any(|word| unsigned.eq_ignore_ascii_case(word))
    {
        return true;
    }
    let (mantissa, exponent) = unsigned.split_once(['e', 'E']).unwrap_or((unsigned, "0"));
    let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    digits(whole)
        && digits(fraction)
        && !(whole.is_empty() && fraction.is_empty())
        && !exponent.is_empty()
        && digits(exponent)
}
