//! Durations as workflows write them (`500ms`, `10s`, `1m30s`) and as reports print them.

use std::time::Duration;

/// The units a duration may use, largest first: the order they must appear in.
const UNITS: [(&str, u128); 4] = [
    ("h", 3_600_000_000_000),
    ("m", 60_000_000_000),
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
];

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// Fraction digits beyond this are below a nanosecond for every unit and are ignored.
const MAX_FRACTION_DIGITS: usize = 15;

const EXPECTED: &str =
    "expected a number followed by `ms`, `s`, `m` or `h`, e.g. `500ms`, `10s`, `2m`";

/// Parses `500ms`, `10s`, `2m`, `1h`, also compound `1m30s`; no bare numbers.
///
/// Numbers may have decimals (`1.5s`); units go from largest to smallest, each at most once.
/// Whitespace around the duration is ignored, inside it is an error.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let text = s.trim();
    if text.is_empty() {
        return Err(format!("invalid duration: it is empty; {EXPECTED}"));
    }
    let invalid = |why: &str| format!("invalid duration `{text}`: {why}");
    if text.starts_with('-') {
        return Err(invalid("a duration cannot be negative"));
    }
    if text.contains(char::is_whitespace) {
        // Suggest removing the spaces only when that gives a duration.
        let joined: String = text.split_whitespace().collect();
        return Err(match parse_duration(&joined) {
            Ok(_) => invalid(&format!("remove the spaces: `{joined}`")),
            Err(_) => invalid(EXPECTED),
        });
    }

    let mut total: u128 = 0;
    let mut rest = text;
    // Index into UNITS of the last unit used, to enforce largest-to-smallest order.
    let mut last_unit: Option<usize> = None;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_len);
        if number.is_empty() {
            return Err(invalid(EXPECTED));
        }
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        if unit.is_empty() {
            return Err(invalid(&format!("`{number}` has no unit; {EXPECTED}")));
        }
        let Some(index) = UNITS.iter().position(|(name, _)| *name == unit) else {
            return Err(invalid(EXPECTED));
        };
        if last_unit.is_some_and(|last| index <= last) {
            return Err(invalid(
                "units go from largest to smallest, each at most once, e.g. `1h30m`, `1m30s`",
            ));
        }
        last_unit = Some(index);
        let nanos = number_to_nanos(number, UNITS[index].1).map_err(|e| match e {
            NumberError::Malformed => invalid(EXPECTED),
            NumberError::TooLarge => invalid("it is too large"),
        })?;
        total = total
            .checked_add(nanos)
            .ok_or_else(|| invalid("it is too large"))?;
        rest = after;
    }

    let secs = u64::try_from(total / NANOS_PER_SEC).map_err(|_| invalid("it is too large"))?;
    // The remainder of a division by 10^9 always fits in u32.
    let nanos = u32::try_from(total % NANOS_PER_SEC).unwrap_or(0);
    Ok(Duration::new(secs, nanos))
}

enum NumberError {
    Malformed,
    TooLarge,
}

/// Converts a decimal `number` of a unit worth `unit_nanos` nanoseconds, truncating below a
/// nanosecond. `number` holds only digits and dots; `1.`, `.5` and `1.2.3` are malformed.
fn number_to_nanos(number: &str, unit_nanos: u128) -> Result<u128, NumberError> {
    let (whole, fraction) = match number.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (number, None),
    };
    if whole.is_empty() || fraction.is_some_and(|f| f.is_empty() || f.contains('.')) {
        return Err(NumberError::Malformed);
    }
    // Only digits remain, so a failed parse means the number does not fit.
    let mut nanos = whole
        .parse::<u128>()
        .ok()
        .and_then(|whole| whole.checked_mul(unit_nanos))
        .ok_or(NumberError::TooLarge)?;
    if let Some(fraction) = fraction {
        let digits = &fraction[..fraction.len().min(MAX_FRACTION_DIGITS)];
        let scale = 10u128.pow(u32::try_from(digits.len()).unwrap_or(0));
        let value = digits.parse::<u128>().map_err(|_| NumberError::Malformed)?;
        nanos = nanos
            .checked_add(value * unit_nanos / scale)
            .ok_or(NumberError::TooLarge)?;
    }
    Ok(nanos)
}

/// Formats `d` compactly: `123ms` under a second, `1.23s` under a minute, `2m05s` under an
/// hour and `1h02m05s` beyond; each form truncates rather than rounds, so a value never
/// shows as the next larger form (`59.999s` is `59.99s`, not `60.00s`).
pub fn format_duration(d: Duration) -> String {
    let mut text = String::new();
    write_duration(&mut text, d);
    text
}

/// The decimal digit of `n`, below 10.
fn digit(n: u32) -> char {
    char::from_digit(n, 10).unwrap_or('?')
}

/// Adds a duration to `out` as [`format_duration`] writes it.
pub fn write_duration(out: &mut String, d: Duration) {
    use std::fmt::Write as _;
    let secs = d.as_secs();
    let _ = if secs == 0 {
        // Most steps take less than a second: written without the formatting machinery.
        let millis = d.subsec_millis();
        if millis >= 100 {
            out.push(digit(millis / 100));
        }
        if millis >= 10 {
            out.push(digit(millis / 10 % 10));
        }
        out.push(digit(millis % 10));
        out.push_str("ms");
        Ok(())
    } else if secs < 60 {
        write!(out, "{secs}.{:02}s", d.subsec_millis() / 10)
    } else {
        let (hours, minutes, seconds) = (secs / 3600, secs / 60 % 60, secs % 60);
        if hours == 0 {
            write!(out, "{minutes}m{seconds:02}s")
        } else {
            write!(out, "{hours}h{minutes:02}m{seconds:02}s")
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Duration {
        match parse_duration(s) {
            Ok(d) => d,
            Err(e) => panic!("`{s}` should parse: {e}"),
        }
    }

    fn err(s: &str) -> String {
        match parse_duration(s) {
            Ok(d) => panic!("`{s}` should not parse, got {d:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn parses_each_unit() {
        assert_eq!(ok("500ms"), Duration::from_millis(500));
        assert_eq!(ok("10s"), Duration::from_secs(10));
        assert_eq!(ok("2m"), Duration::from_secs(120));
        assert_eq!(ok("1h"), Duration::from_secs(3600));
        assert_eq!(ok("0s"), Duration::ZERO);
        assert_eq!(ok("0ms"), Duration::ZERO);
    }

    #[test]
    fn parses_compound_durations() {
        assert_eq!(ok("1m30s"), Duration::from_secs(90));
        assert_eq!(ok("1h2m3s4ms"), Duration::from_millis(3_723_004));
        assert_eq!(ok("1h30m"), Duration::from_secs(5400));
    }

    #[test]
    fn parses_decimals() {
        assert_eq!(ok("1.5s"), Duration::from_millis(1500));
        assert_eq!(ok("0.25m"), Duration::from_secs(15));
        assert_eq!(ok("0.5ms"), Duration::from_micros(500));
        assert_eq!(ok("1.000000001s"), Duration::new(1, 1));
        assert_eq!(ok("1.0000000019s"), Duration::new(1, 1));
    }

    #[test]
    fn ignores_surrounding_whitespace() {
        assert_eq!(ok("  10s\n"), Duration::from_secs(10));
    }

    #[test]
    fn rejects_bad_input_with_a_clear_message() {
        assert_eq!(
            err("10x"),
            "invalid duration `10x`: expected a number followed by `ms`, `s`, `m` or `h`, e.g. `500ms`, `10s`, `2m`"
        );
        assert_eq!(
            err(""),
            "invalid duration: it is empty; expected a number followed by `ms`, `s`, `m` or `h`, e.g. `500ms`, `10s`, `2m`"
        );
        assert_eq!(err("   "), err(""));
        assert_eq!(
            err("10"),
            "invalid duration `10`: `10` has no unit; expected a number followed by `ms`, `s`, `m` or `h`, e.g. `500ms`, `10s`, `2m`"
        );
        assert_eq!(
            err("-1s"),
            "invalid duration `-1s`: a duration cannot be negative"
        );
        assert_eq!(
            err("1m 30s"),
            "invalid duration `1m 30s`: remove the spaces: `1m30s`"
        );
        assert_eq!(
            err("5 parsecs"),
            "invalid duration `5 parsecs`: expected a number followed by `ms`, `s`, `m` or `h`, e.g. `500ms`, `10s`, `2m`"
        );
        assert_eq!(
            err("30s1m"),
            "invalid duration `30s1m`: units go from largest to smallest, each at most once, e.g. `1h30m`, `1m30s`"
        );
        assert!(err("1s1s").contains("each at most once"));
        for bad in [
            "s", "ms10", "1.s", ".5s", "1.2.3s", "1S", "10sec", "1d", "1_000ms",
        ] {
            assert!(err(bad).ends_with("e.g. `500ms`, `10s`, `2m`"), "{bad}");
        }
    }

    #[test]
    fn rejects_overflow() {
        assert_eq!(
            err("99999999999999999999h"),
            "invalid duration `99999999999999999999h`: it is too large"
        );
        assert_eq!(
            err("999999999999999999999999999999999999999999h"),
            "invalid duration `999999999999999999999999999999999999999999h`: it is too large"
        );
        assert_eq!(ok("18446744073709551615s"), Duration::from_secs(u64::MAX));
        assert!(err("18446744073709551616s").ends_with("it is too large"));
    }

    #[test]
    fn formats_compactly() {
        assert_eq!(format_duration(Duration::ZERO), "0ms");
        assert_eq!(format_duration(Duration::from_micros(850)), "0ms");
        assert_eq!(format_duration(Duration::from_millis(7)), "7ms");
        assert_eq!(format_duration(Duration::from_millis(40)), "40ms");
        assert_eq!(format_duration(Duration::from_millis(105)), "105ms");
        assert_eq!(format_duration(Duration::from_millis(123)), "123ms");
        assert_eq!(format_duration(Duration::from_millis(999)), "999ms");
        assert_eq!(format_duration(Duration::from_secs(1)), "1.00s");
        assert_eq!(format_duration(Duration::from_millis(1234)), "1.23s");
        assert_eq!(format_duration(Duration::from_millis(59_999)), "59.99s");
        assert_eq!(format_duration(Duration::from_secs(60)), "1m00s");
        assert_eq!(format_duration(Duration::from_secs(125)), "2m05s");
        assert_eq!(format_duration(Duration::from_secs(3599)), "59m59s");
        assert_eq!(format_duration(Duration::from_secs(3725)), "1h02m05s");
    }
}
