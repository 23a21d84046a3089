//! Numbers written in decimal without the formatting machinery, for the text every step or
//! iteration of a load run writes (a status it expects, a count on a line).

/// Adds `n` to `text` in decimal, as `{}` writes it.
pub(crate) fn push(text: &mut String, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        // A digit: `n % 10` is below 10.
        digits[at] = b'0' + u8::try_from(n % 10).unwrap_or(0);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    text.extend(digits[at..].iter().map(|&d| char::from(d)));
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn writes_what_display_writes(n: usize) {
            let mut text = String::from("n=");
            super::push(&mut text, n);
            prop_assert_eq!(text, format!("n={n}"));
        }
    }
}
