//! Template helpers: apiflow's functions and filters for minijinja, and the names of all
//! functions, filters and tests a template may use.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use minijinja::value::Serde;
use minijinja::{Environment, Error, ErrorKind, Value};
use sha2::{Digest, Sha256};

/// Every function name a template may call: apiflow's, then minijinja's builtins.
///
/// minijinja's `debug()` is not among them: [`register`] removes it because it prints every
/// variable, secrets included.
pub const FUNCTIONS: &[&str] = &[
    "uuid",
    "now",
    "timestamp",
    "random_string",
    "pkce_verifier",
    "pkce_challenge",
    "jwt_claims",
    "jwt_verify",
    "jwt_sign",
    // minijinja 3.1, feature `builtins`
    "range",
    "dict",
    "namespace",
];

/// Functions whose result is a credential whatever their arguments: a template that calls one
/// is treated as reading a secret, so what it renders is masked.
pub const SECRET_FUNCTIONS: &[&str] = &["jwt_sign"];

/// Every filter name a template may use: apiflow's, then minijinja's builtins for the
/// enabled features (`builtins`, `json`, `urlencode`).
pub const FILTERS: &[&str] = &[
    "b64encode",
    "b64decode",
    "b64url_encode",
    "b64url_decode",
    "sha256",
    // minijinja 3.1, always
    "safe",
    "escape",
    "e",
    // minijinja 3.1, feature `builtins`
    "lower",
    "upper",
    "title",
    "capitalize",
    "replace",
    "length",
    "count",
    "dictsort",
    "items",
    "reverse",
    "trim",
    "join",
    "split",
    "lines",
    "default",
    "d",
    "round",
    "abs",
    "int",
    "float",
    "attr",
    "first",
    "last",
    "min",
    "max",
    "sort",
    "list",
    "string",
    "bool",
    "batch",
    "slice",
    "sum",
    "indent",
    "select",
    "reject",
    "selectattr",
    "rejectattr",
    "map",
    "groupby",
    "unique",
    "chain",
    "zip",
    "pprint",
    "format",
    // minijinja 3.1, feature `json`
    "tojson",
    // minijinja 3.1, feature `urlencode`
    "urlencode",
];

/// Every test name a template may use after `is` (all minijinja builtins; the operator
/// spellings such as `==` serve filters like `select("==", 1)`).
pub const TESTS: &[&str] = &[
    // minijinja 3.1, always
    "undefined",
    "defined",
    "none",
    "safe",
    "escaped",
    // minijinja 3.1, feature `builtins`
    "boolean",
    "odd",
    "even",
    "divisibleby",
    "number",
    "integer",
    "int",
    "float",
    "string",
    "sequence",
    "iterable",
    "mapping",
    "startingwith",
    "endingwith",
    "lower",
    "upper",
    "sameas",
    "eq",
    "equalto",
    "==",
    "ne",
    "!=",
    "lt",
    "lessthan",
    "<",
    "le",
    "<=",
    "gt",
    "greaterthan",
    ">",
    "ge",
    ">=",
    "in",
    "true",
    "false",
    "filter",
    "test",
];

/// Characters of `random_string`.
const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// The unreserved characters a PKCE code verifier is made of (RFC 7636, section 4.1).
const UNRESERVED: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

/// Length of generated PKCE verifiers: within RFC 7636's 43 to 128, and 384 bits of entropy.
const PKCE_VERIFIER_LEN: usize = 64;

const RANDOM_STRING_MAX: i64 = 4096;

/// Decoders that accept input with or without `=` padding: both forms occur in the wild and
/// neither is ambiguous.
const STANDARD_DECODER: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const URL_SAFE_DECODER: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Registers apiflow's functions and filters.
///
/// Also removes minijinja's `debug()` function, which would print secrets. minijinja's own
/// `urlencode` filter is kept as it is.
pub fn register(env: &mut Environment<'_>) {
    env.remove_global("debug");

    env.add_function("uuid", uuid);
    env.add_function("now", now);
    env.add_function("timestamp", timestamp);
    env.add_function("random_string", random_string);
    env.add_function("pkce_verifier", pkce_verifier);
    env.add_function("pkce_challenge", pkce_challenge);
    env.add_function("jwt_claims", jwt_claims);
    env.add_function("jwt_verify", jwt_verify);
    env.add_function("jwt_sign", jwt_sign);

    env.add_filter("b64encode", b64encode);
    env.add_filter("b64decode", b64decode);
    env.add_filter("b64url_encode", b64url_encode);
    env.add_filter("b64url_decode", b64url_decode);
    env.add_filter("sha256", sha256);
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, message)
}

fn random_bytes(buf: &mut [u8]) -> Result<(), Error> {
    getrandom::fill(buf)
        .map_err(|e| invalid(format!("could not get random bytes from the system: {e}")))
}

/// Picks `len` characters uniformly from `charset` (at most 256 characters), discarding the
/// random bytes that would make some characters more likely than others.
fn random_from(charset: &[u8], len: usize) -> Result<String, Error> {
    let limit = 256 - 256 % charset.len();
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        random_bytes(&mut buf)?;
        for &byte in &buf {
            if usize::from(byte) < limit && out.len() < len {
                out.push(char::from(charset[usize::from(byte) % charset.len()]));
            }
        }
    }
    Ok(out)
}

/// Returns a random (version 4) UUID.
fn uuid() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    random_bytes(&mut bytes)?;
    Ok(uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string())
}

/// Returns the current time in RFC 3339, UTC, with milliseconds.
fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// Returns the current Unix time in whole seconds.
fn timestamp() -> Result<i64, Error> {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| invalid("timestamp(): the system clock is before 1970".to_owned()))?;
    i64::try_from(since_epoch.as_secs())
        .map_err(|_| invalid("timestamp(): the system clock is out of range".to_owned()))
}

/// Returns `n` random letters and digits.
fn random_string(n: i64) -> Result<String, Error> {
    if !(1..=RANDOM_STRING_MAX).contains(&n) {
        return Err(invalid(format!(
            "random_string(n): n must be between 1 and {RANDOM_STRING_MAX}, got {n}"
        )));
    }
    // The range check above makes the conversion lossless.
    random_from(ALPHANUMERIC, usize::try_from(n).unwrap_or(0))
}

/// Returns a fresh PKCE code verifier.
fn pkce_verifier() -> Result<String, Error> {
    random_from(UNRESERVED, PKCE_VERIFIER_LEN)
}

/// Returns the S256 PKCE code challenge of `verifier`: BASE64URL(SHA256(verifier)), unpadded.
fn pkce_challenge(verifier: &str) -> Result<String, Error> {
    // The verifier is a secret: describe what is wrong without echoing it.
    let len = verifier.chars().count();
    if !(43..=128).contains(&len) {
        return Err(invalid(format!(
            "pkce_challenge(verifier): a code verifier has 43 to 128 characters, this one has {len}"
        )));
    }
    if !verifier.bytes().all(|b| UNRESERVED.contains(&b)) {
        return Err(invalid(
            "pkce_challenge(verifier): a code verifier may only contain letters, digits, `-`, `.`, `_` and `~`"
                .to_owned(),
        ));
    }
    Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())))
}

/// Returns the claims of a JWT without verifying its signature.
fn jwt_claims(token: &str) -> Result<Value, Error> {
    // Tokens are secrets: no message below may include any part of the token.
    let fail = |why: &str| invalid(format!("jwt_claims(token): {why}"));
    let token = token.trim();
    if token.starts_with("Bearer ") || token.starts_with("bearer ") {
        return Err(fail("remove the `Bearer ` prefix, pass the token alone"));
    }
    let parts: Vec<&str> = token.split('.').collect();
    match parts.len() {
        3 => {}
        5 => {
            return Err(fail(
                "the token is encrypted (JWE, five parts), its claims cannot be read",
            ));
        }
        n => {
            return Err(fail(&format!(
                "not a JWT: expected three base64url parts separated by `.`, found {n}"
            )));
        }
    }
    let payload = URL_SAFE_DECODER
        .decode(parts[1])
        .map_err(|_| fail("the payload (second part) is not valid base64url"))?;
    let claims: serde_json::Value = serde_json::from_slice(&payload)
        .map_err(|_| fail("the payload (second part) is not JSON"))?;
    if !claims.is_object() {
        return Err(fail("the payload (second part) is not a JSON object"));
    }
    Ok(Value::from(Serde(claims)))
}

/// Checks a JWT's signature with a JWKS (the parsed JSON of a JWKS URL, or one JWK) and
/// returns its claims; fails when no key verifies it.
fn jwt_verify(token: &str, jwks: &Value) -> Result<Value, Error> {
    let jwks: serde_json::Value = serde_json::to_value(jwks)
        .map_err(|_| invalid("jwt_verify(token, jwks): the JWKS is not JSON data".to_owned()))?;
    crate::template::jwt::verify(token, &jwks)
        .map(|claims| Value::from(Serde(claims)))
        .map_err(|why| invalid(format!("jwt_verify(token, jwks): {why}")))
}

/// Signs `claims` into a compact JWT with `key` (PEM, a JWK, or an HS secret) and `alg`;
/// `header` adds header fields such as `kid`. The token is a secret (see `runner::taint`).
fn jwt_sign(
    claims: &Value,
    key: &Value,
    alg: &str,
    header: Option<&Value>,
) -> Result<String, Error> {
    // Keys and claims may be secrets: no message below may include any of them.
    let fail = |why: &str| invalid(format!("jwt_sign(claims, key, alg): {why}"));
    let claims: serde_json::Value =
        serde_json::to_value(claims).map_err(|_| fail("the claims are not JSON data"))?;
    let key: serde_json::Value =
        serde_json::to_value(key).map_err(|_| fail("the key is not a string or a mapping"))?;
    let header = match header {
        None => None,
        Some(value) if value.is_none() || value.is_undefined() => None,
        Some(value) => match serde_json::to_value(value) {
            Ok(serde_json::Value::Object(map)) => Some(map),
            _ => {
                return Err(fail(&format!(
                    "the header (fourth argument) must be a mapping, got {}",
                    value.kind()
                )));
            }
        },
    };
    crate::template::jws::sign(&claims, &key, alg, header.as_ref()).map_err(|why| fail(&why))
}

/// Returns the bytes of a string (or bytes) value, or explains which type the filter got.
fn bytes_of<'a>(filter: &str, value: &'a Value) -> Result<&'a [u8], Error> {
    value
        .as_bytes()
        .ok_or_else(|| invalid(format!("{filter}: expected a string, got {}", value.kind())))
}

fn text_of<'a>(filter: &str, value: &'a Value) -> Result<&'a str, Error> {
    value
        .as_str()
        .ok_or_else(|| invalid(format!("{filter}: expected a string, got {}", value.kind())))
}

/// Explains a decoding failure by position only: the input may be a secret.
fn decode_error(filter: &str, alphabet: &str, err: &base64::DecodeError) -> Error {
    let detail = match err {
        base64::DecodeError::InvalidByte(offset, _) => {
            format!("invalid character at position {}", offset + 1)
        }
        base64::DecodeError::InvalidLastSymbol(offset, _) => {
            format!("invalid last character at position {}", offset + 1)
        }
        base64::DecodeError::InvalidLength(_) => "the length is not valid".to_owned(),
        base64::DecodeError::InvalidPadding => "the `=` padding is not valid".to_owned(),
    };
    invalid(format!(
        "{filter}: the input is not valid {alphabet}: {detail}"
    ))
}

fn into_text(filter: &str, bytes: Vec<u8>) -> Result<String, Error> {
    String::from_utf8(bytes).map_err(|_| {
        invalid(format!(
            "{filter}: the decoded bytes are not UTF-8 text, which a template cannot hold"
        ))
    })
}

/// Encodes a string as standard base64, with padding.
fn b64encode(value: &Value) -> Result<String, Error> {
    Ok(STANDARD.encode(bytes_of("b64encode", value)?))
}

/// Decodes standard base64 (padding optional) into UTF-8 text.
fn b64decode(value: &Value) -> Result<String, Error> {
    let input = text_of("b64decode", value)?;
    let bytes = STANDARD_DECODER.decode(input).map_err(|e| {
        if input.contains(['-', '_']) {
            invalid(
                "b64decode: the input is not valid base64; it looks like base64url, use `b64url_decode`"
                    .to_owned(),
            )
        } else {
            decode_error("b64decode", "base64", &e)
        }
    })?;
    into_text("b64decode", bytes)
}

/// Encodes a string as URL-safe base64, without padding.
fn b64url_encode(value: &Value) -> Result<String, Error> {
    Ok(URL_SAFE_NO_PAD.encode(bytes_of("b64url_encode", value)?))
}

/// Decodes URL-safe base64 (padding optional) into UTF-8 text.
fn b64url_decode(value: &Value) -> Result<String, Error> {
    let input = text_of("b64url_decode", value)?;
    let bytes = URL_SAFE_DECODER.decode(input).map_err(|e| {
        if input.contains(['+', '/']) {
            invalid(
                "b64url_decode: the input is not valid base64url; it looks like standard base64, use `b64decode`"
                    .to_owned(),
            )
        } else {
            decode_error("b64url_decode", "base64url", &e)
        }
    })?;
    into_text("b64url_decode", bytes)
}

/// Hashes a string with SHA-256, as lower-case hex.
fn sha256(value: &Value) -> Result<String, Error> {
    let digest = Sha256::digest(bytes_of("sha256", value)?);
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    Ok(hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Environment<'static> {
        let mut env = Environment::new();
        register(&mut env);
        env
    }

    fn render(template: &str) -> String {
        match env().render_str(template, ()) {
            Ok(out) => out,
            Err(e) => panic!("`{template}` failed: {e}"),
        }
    }

    fn render_with(template: &str, ctx: Value) -> String {
        match env().render_str(template, ctx) {
            Ok(out) => out,
            Err(e) => panic!("`{template}` failed: {e}"),
        }
    }

    /// Renders `template`, expects an `InvalidOperation` error and returns its detail.
    fn render_err(template: &str, ctx: Value) -> String {
        match env().render_str(template, ctx) {
            Ok(out) => panic!("`{template}` should fail, rendered {out:?}"),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::InvalidOperation, "{e}");
                e.detail().unwrap_or_default().to_owned()
            }
        }
    }

    fn ctx(pairs: &[(&str, &str)]) -> Value {
        let map: std::collections::BTreeMap<&str, &str> = pairs.iter().copied().collect();
        Value::from(Serde(map))
    }

    #[test]
    fn uuid_is_a_random_v4() {
        let a = render("{{ uuid() }}");
        let b = render("{{ uuid() }}");
        let parsed = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(a.len(), 36);
        assert_ne!(a, b);
    }

    #[test]
    fn now_is_rfc3339_utc_with_millis() {
        let out = render("{{ now() }}");
        // e.g. 2024-05-01T12:34:56.789Z
        assert_eq!(out.len(), 24, "{out}");
        assert!(out.ends_with('Z'), "{out}");
        assert_eq!(&out[19..20], ".", "{out}");
        assert!(humantime::parse_rfc3339(&out).is_ok(), "{out}");
    }

    #[test]
    fn timestamp_is_unix_seconds() {
        let out: i64 = render("{{ timestamp() }}").parse().unwrap();
        let expected = i64::try_from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap();
        assert!((expected - out).abs() <= 1, "{out} vs {expected}");
        assert_eq!(render("{{ timestamp() is integer }}"), "True");
    }

    #[test]
    fn random_string_has_the_requested_length() {
        for n in [1, 16, 4096] {
            let out = render(&format!("{{{{ random_string({n}) }}}}"));
            assert_eq!(out.len(), n, "{out}");
            assert!(out.bytes().all(|b| b.is_ascii_alphanumeric()), "{out}");
        }
        assert_ne!(
            render("{{ random_string(32) }}"),
            render("{{ random_string(32) }}")
        );
        assert_eq!(
            render_err("{{ random_string(0) }}", Value::UNDEFINED),
            "random_string(n): n must be between 1 and 4096, got 0"
        );
        assert_eq!(
            render_err("{{ random_string(4097) }}", Value::UNDEFINED),
            "random_string(n): n must be between 1 and 4096, got 4097"
        );
        assert_eq!(
            render_err("{{ random_string(-3) }}", Value::UNDEFINED),
            "random_string(n): n must be between 1 and 4096, got -3"
        );
    }

    #[test]
    fn pkce_verifier_is_64_unreserved_characters() {
        let out = render("{{ pkce_verifier() }}");
        assert_eq!(out.len(), PKCE_VERIFIER_LEN);
        assert!(out.bytes().all(|b| UNRESERVED.contains(&b)), "{out}");
        assert_ne!(out, render("{{ pkce_verifier() }}"));
        // A fresh verifier is always accepted by pkce_challenge.
        render("{% set v = pkce_verifier() %}{{ pkce_challenge(v) }}");
    }

    #[test]
    fn pkce_challenge_matches_rfc7636_appendix_b() {
        assert_eq!(
            render("{{ pkce_challenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk') }}"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(
            render_err("{{ pkce_challenge('short') }}", Value::UNDEFINED),
            "pkce_challenge(verifier): a code verifier has 43 to 128 characters, this one has 5"
        );
        let spaced = format!("{} {}", "a".repeat(30), "b".repeat(30));
        let err = render_err("{{ pkce_challenge(v) }}", ctx(&[("v", &spaced)]));
        assert_eq!(
            err,
            "pkce_challenge(verifier): a code verifier may only contain letters, digits, `-`, `.`, `_` and `~`"
        );
    }

    #[test]
    fn jwt_claims_reads_the_payload_without_verifying() {
        // Header {"alg":"HS256","typ":"JWT"}, payload {"sub":"1234567890","name":"John Doe","iat":1516239022}.
        let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.\
                     eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.\
                     SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
        let c = ctx(&[("t", token)]);
        assert_eq!(
            render_with("{{ jwt_claims(t).sub }} {{ jwt_claims(t).iat }}", c.clone()),
            "1234567890 1516239022"
        );
        assert_eq!(
            render_with("{{ jwt_claims(t) | tojson }}", c),
            r#"{"sub": "1234567890", "name": "John Doe", "iat": 1516239022}"#
        );
    }

    #[test]
    fn jwt_sign_signs_claims_that_jwt_verify_reads_back() {
        let c = ctx(&[(
            "secret",
            "client secret of sixty-four characters or so, as PingOne makes",
        )]);
        let token = render_with(
            "{{ jwt_sign({'iss': 'app', 'exp': 1700000000}, secret, 'HS256', {'kid': 'k1'}) }}",
            c.clone(),
        );
        let jwk = serde_json::json!({
            "kty": "oct",
            "kid": "k1",
            "k": URL_SAFE_NO_PAD.encode("client secret of sixty-four characters or so, as PingOne makes"),
        });
        let claims = crate::template::jwt::verify(&token, &jwk).unwrap();
        assert_eq!(
            claims,
            serde_json::json!({"iss": "app", "exp": 1_700_000_000})
        );
        let header = URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap();
        assert_eq!(header, br#"{"alg":"HS256","typ":"JWT","kid":"k1"}"#);
        // The header argument may be none.
        render_with("{{ jwt_sign({'iss': 'app'}, secret, 'HS256', none) }}", c);
    }

    #[test]
    fn jwt_sign_errors_name_the_function_and_never_the_key() {
        let c = ctx(&[("key", "secretsecret")]);
        let cases = [
            (
                "{{ jwt_sign({'a': 1}, key, 'RS256') }}",
                "jwt_sign(claims, key, alg): the key is neither PEM (`-----BEGIN … PRIVATE KEY-----`) nor a JWK; only HS algorithms take a plain secret",
            ),
            (
                "{{ jwt_sign({'a': 1}, key, 'HS256', 'kid') }}",
                "jwt_sign(claims, key, alg): the header (fourth argument) must be a mapping, got string",
            ),
            (
                "{{ jwt_sign('claims', key, 'HS256') }}",
                "jwt_sign(claims, key, alg): the claims must be a mapping, got a string",
            ),
        ];
        for (template, expected) in cases {
            let err = render_err(template, c.clone());
            assert_eq!(err, expected);
            assert!(!err.contains("secretsecret"), "{err}");
        }
    }

    #[test]
    fn jwt_claims_errors_never_show_the_token() {
        let cases = [
            (
                "secretsecret",
                "jwt_claims(token): not a JWT: expected three base64url parts separated by `.`, found 1",
            ),
            (
                "secret.sec*ret.secret",
                "jwt_claims(token): the payload (second part) is not valid base64url",
            ),
            (
                // payload "not json"
                "secret.bm90IGpzb24.secret",
                "jwt_claims(token): the payload (second part) is not JSON",
            ),
            (
                // payload "[1]"
                "secret.WzFd.secret",
                "jwt_claims(token): the payload (second part) is not a JSON object",
            ),
            (
                "Bearer a.b.c",
                "jwt_claims(token): remove the `Bearer ` prefix, pass the token alone",
            ),
            (
                "secret.secret.secret.secret.secret",
                "jwt_claims(token): the token is encrypted (JWE, five parts), its claims cannot be read",
            ),
        ];
        for (token, expected) in cases {
            let err = match env().render_str("{{ jwt_claims(t) }}", ctx(&[("t", token)])) {
                Ok(out) => panic!("`{token}` should fail, rendered {out:?}"),
                Err(e) => e,
            };
            assert_eq!(err.kind(), ErrorKind::InvalidOperation);
            assert_eq!(err.detail(), Some(expected));
            // apiflow never prints minijinja's alternate (debug) view, which lists variables.
            assert!(!format!("{err}").contains("secret"), "{err}");
        }
    }

    #[test]
    fn base64_round_trips_utf8() {
        assert_eq!(render("{{ 'hello' | b64encode }}"), "aGVsbG8=");
        assert_eq!(render("{{ 'aGVsbG8=' | b64decode }}"), "hello");
        assert_eq!(render("{{ 'aGVsbG8' | b64decode }}"), "hello");
        assert_eq!(render("{{ 'héllo ✓' | b64encode | b64decode }}"), "héllo ✓");
        assert_eq!(
            render("{{ 'client:s3cr?t' | b64encode }}"),
            "Y2xpZW50OnMzY3I/dA=="
        );
        assert_eq!(render("{{ '' | b64encode }}"), "");
    }

    #[test]
    fn base64url_round_trips_without_padding() {
        assert_eq!(
            render("{{ 'client:s3cr?t' | b64url_encode }}"),
            "Y2xpZW50OnMzY3I_dA"
        );
        assert_eq!(
            render("{{ 'Y2xpZW50OnMzY3I_dA' | b64url_decode }}"),
            "client:s3cr?t"
        );
        assert_eq!(
            render("{{ 'Y2xpZW50OnMzY3I_dA==' | b64url_decode }}"),
            "client:s3cr?t"
        );
        assert_eq!(
            render("{{ 'héllo ✓' | b64url_encode | b64url_decode }}"),
            "héllo ✓"
        );
    }

    #[test]
    fn base64_decoding_errors_are_clear() {
        let none = Value::UNDEFINED;
        assert_eq!(
            render_err("{{ 'ab!d' | b64decode }}", none.clone()),
            "b64decode: the input is not valid base64: invalid character at position 3"
        );
        assert_eq!(
            render_err("{{ 'abcde' | b64decode }}", none.clone()),
            "b64decode: the input is not valid base64: the length is not valid"
        );
        assert_eq!(
            render_err("{{ 'Y2xpZW50OnMzY3I_dA' | b64decode }}", none.clone()),
            "b64decode: the input is not valid base64; it looks like base64url, use `b64url_decode`"
        );
        assert_eq!(
            render_err("{{ 'Y2xpZW50OnMzY3I/dA==' | b64url_decode }}", none.clone()),
            "b64url_decode: the input is not valid base64url; it looks like standard base64, use `b64decode`"
        );
        // 0xff 0xfe is not UTF-8.
        assert_eq!(
            render_err("{{ '//4=' | b64decode }}", none.clone()),
            "b64decode: the decoded bytes are not UTF-8 text, which a template cannot hold"
        );
        assert_eq!(
            render_err("{{ '__4' | b64url_decode }}", none.clone()),
            "b64url_decode: the decoded bytes are not UTF-8 text, which a template cannot hold"
        );
        assert_eq!(
            render_err("{{ 42 | b64decode }}", none.clone()),
            "b64decode: expected a string, got number"
        );
        assert_eq!(
            render_err("{{ none | b64encode }}", none),
            "b64encode: expected a string, got none"
        );
    }

    #[test]
    fn sha256_is_lowercase_hex() {
        assert_eq!(
            render("{{ '' | sha256 }}"),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            render("{{ 'abc' | sha256 }}"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn urlencode_is_minijinjas() {
        assert_eq!(
            render("{{ 'a b&c=d/é' | urlencode }}"),
            "a%20b%26c%3Dd/%C3%A9"
        );
    }

    #[test]
    fn debug_is_removed() {
        assert_eq!(render("{{ debug is defined }}"), "False");
    }

    #[test]
    fn listed_functions_exist() {
        for name in FUNCTIONS {
            assert_eq!(
                render(&format!("{{{{ {name} is defined }}}}")),
                "True",
                "function `{name}`"
            );
        }
        assert_eq!(render("{{ nope is defined }}"), "False");
    }

    #[test]
    fn listed_filters_exist() {
        for name in FILTERS {
            let template = format!("{{{{ 'x' | {name} }}}}");
            if let Err(e) = env().render_str(&template, ()) {
                assert_ne!(e.kind(), ErrorKind::UnknownFilter, "filter `{name}`");
            }
        }
        let e = env().render_str("{{ 'x' | nope }}", ()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnknownFilter);
    }

    #[test]
    fn listed_tests_exist() {
        for name in TESTS {
            // `select` takes any test by name, including the operator spellings.
            let template = format!("{{{{ [1] | select({name:?}) | list }}}}");
            if let Err(e) = env().render_str(&template, ()) {
                assert_ne!(e.kind(), ErrorKind::UnknownTest, "test `{name}`");
            }
        }
        let e = env()
            .render_str("{{ [1] | select('nope') | list }}", ())
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnknownTest);
    }
}
