//! The Standard password policy and salted password hashing.

use sha2::{Digest as _, Sha256};

/// Standard policy limits (PingOne's default policy).
const MIN_LENGTH: usize = 8;
const MAX_LENGTH: usize = 255;
const MAX_REPEATED: usize = 2;
const MIN_UNIQUE: usize = 5;

/// Returns the requirements `password` breaks, empty when it satisfies the policy.
pub(crate) fn policy_violations(password: &str) -> Vec<&'static str> {
    let mut broken = Vec::new();
    let length = password.chars().count();
    if length < MIN_LENGTH {
        broken.push("The password must be at least 8 characters long.");
    }
    if length > MAX_LENGTH {
        broken.push("The password must be at most 255 characters long.");
    }
    if !password.chars().any(char::is_uppercase) {
        broken.push("The password must contain at least 1 upper-case letter.");
    }
    if !password.chars().any(char::is_lowercase) {
        broken.push("The password must contain at least 1 lower-case letter.");
    }
    if !password.chars().any(|c| c.is_ascii_digit()) {
        broken.push("The password must contain at least 1 digit.");
    }
    if !password
        .chars()
        .any(|c| !c.is_alphanumeric() && !c.is_whitespace())
    {
        broken.push("The password must contain at least 1 special character.");
    }
    if longest_run(password) > MAX_REPEATED {
        broken.push("The password must not repeat a character more than 2 times in a row.");
    }
    let mut unique: Vec<char> = password.chars().collect();
    unique.sort_unstable();
    unique.dedup();
    if unique.len() < MIN_UNIQUE {
        broken.push("The password must contain at least 5 unique characters.");
    }
    broken
}

/// Returns the length of the longest run of one repeated character.
fn longest_run(text: &str) -> usize {
    let mut longest = 0;
    let mut run = 0;
    let mut previous = None;
    for c in text.chars() {
        run = if previous == Some(c) { run + 1 } else { 1 };
        previous = Some(c);
        longest = longest.max(run);
    }
    longest
}

/// Hashes `password` with `salt`.
pub(crate) fn hash(salt: &str, password: &str) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(salt.as_bytes());
    hasher.update([0]);
    hasher.update(password.as_bytes());
    hasher.finalize().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_policy() {
        assert!(policy_violations("Secr3t!Pass").is_empty());
        assert_eq!(policy_violations("short1!").len(), 2);
        assert!(!policy_violations("Paaass1!x").is_empty());
        assert!(policy_violations("Paass1!x").is_empty());
        assert!(!policy_violations("aaAA11!!").is_empty());
    }

    #[test]
    fn hash_depends_on_salt() {
        assert_ne!(hash("a", "pw"), hash("b", "pw"));
        assert_eq!(hash("a", "pw"), hash("a", "pw"));
    }
}
