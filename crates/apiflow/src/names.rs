//! Variable names: which can be used in templates, and which sound secret.
//!
//! Loading marks inputs and captures secret by their names, checking and running decide which
//! step names become variables: both read the same rules from here.

/// Words that make a variable secret when its name contains them.
const SECRET_WORDS: &[&str] = &["token", "secret", "password", "code"];

/// Tells whether a variable name sounds secret (`access_token`, `client_secret`, `authCode`, …).
pub fn is_secret_name(name: &str) -> bool {
    let name = name.as_bytes();
    SECRET_WORDS.iter().any(|word| {
        name.windows(word.len())
            .any(|window| window.eq_ignore_ascii_case(word.as_bytes()))
    })
}

/// Tells whether a name can be used as a variable in templates.
pub fn is_identifier(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::{is_identifier, is_secret_name};

    #[test]
    fn secret_names_are_found_in_any_case() {
        for name in [
            "access_token",
            "clientSecret",
            "PASSWORD",
            "authCode",
            "x_Token_y",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["name", "user_id", "tok", "sec", "", "pass_word"] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn identifiers_start_with_a_letter_or_underscore() {
        for name in ["login", "_private", "step2", "Get_Token", "_"] {
            assert!(is_identifier(name), "{name}");
        }
        for name in ["", "2fa", "get token", "get-token", "naïve", "a.b"] {
            assert!(!is_identifier(name), "{name}");
        }
    }
}
