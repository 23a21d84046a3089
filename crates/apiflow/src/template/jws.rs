//! JWT signing for `jwt_sign`: private keys read from PEM (PKCS#8, PKCS#1, SEC1) or a JWK, and
//! the JWS algorithms RS256/384/512, PS256/384/512, ES256/384, `EdDSA` (Ed25519) and
//! HS256/384/512.
//!
//! Keys are secrets: no error message here quotes any part of a key, a claim or a signature.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::rsa::{KeyPairComponents, PublicKeyComponents};
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair};
use serde_json::{Map, Value};

/// The algorithms `jwt_sign` knows, in the order error messages list them.
pub const ALGORITHMS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA", "HS256",
    "HS384", "HS512",
];

/// A JWS algorithm and the kind of key it needs.
#[derive(Clone, Copy)]
enum Alg {
    Rsa(&'static dyn signature::RsaEncoding),
    Ecdsa(Curve),
    Ed25519,
    Hmac(ring::hmac::Algorithm),
}

/// The elliptic curves of ES256 and ES384.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Curve {
    P256,
    P384,
}

impl Curve {
    fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
        }
    }

    fn alg(self) -> &'static str {
        match self {
            Curve::P256 => "ES256",
            Curve::P384 => "ES384",
        }
    }

    fn signing(self) -> &'static signature::EcdsaSigningAlgorithm {
        match self {
            Curve::P256 => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            Curve::P384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        }
    }

    /// Returns the curve of a private scalar by its length.
    fn of_scalar(len: usize) -> Option<Curve> {
        match len {
            32 => Some(Curve::P256),
            48 => Some(Curve::P384),
            _ => None,
        }
    }
}

fn parse_alg(alg: &str) -> Result<Alg, String> {
    Ok(match alg {
        "RS256" => Alg::Rsa(&signature::RSA_PKCS1_SHA256),
        "RS384" => Alg::Rsa(&signature::RSA_PKCS1_SHA384),
        "RS512" => Alg::Rsa(&signature::RSA_PKCS1_SHA512),
        "PS256" => Alg::Rsa(&signature::RSA_PSS_SHA256),
        "PS384" => Alg::Rsa(&signature::RSA_PSS_SHA384),
        "PS512" => Alg::Rsa(&signature::RSA_PSS_SHA512),
        "ES256" => Alg::Ecdsa(Curve::P256),
        "ES384" => Alg::Ecdsa(Curve::P384),
        "EdDSA" => Alg::Ed25519,
        "HS256" => Alg::Hmac(ring::hmac::HMAC_SHA256),
        "HS384" => Alg::Hmac(ring::hmac::HMAC_SHA384),
        "HS512" => Alg::Hmac(ring::hmac::HMAC_SHA512),
        other if other.eq_ignore_ascii_case("none") => {
            return Err("`alg` `none` makes an unsigned token; name a signing algorithm".into());
        }
        other => {
            let known = ALGORITHMS.join(", ");
            let hint = ALGORITHMS
                .iter()
                .find(|a| a.eq_ignore_ascii_case(other))
                .map(|a| format!(" (did you mean `{a}`?)"))
                .unwrap_or_default();
            return Err(format!(
                "unsupported `alg` `{other}`{hint}; use one of {known}"
            ));
        }
    })
}

/// A private key ready to sign.
enum Key {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair, Curve),
    Ed25519(Ed25519KeyPair),
    Secret(Vec<u8>),
}

impl Key {
    /// Names the key's kind for messages, with the algorithms that take it.
    fn describe(&self) -> String {
        match self {
            Key::Rsa(_) => "an RSA key (use RS256, RS384, RS512, PS256, PS384 or PS512)".into(),
            Key::Ec(_, curve) => format!("an EC {} key (use {})", curve.name(), curve.alg()),
            Key::Ed25519(_) => "an Ed25519 key (use EdDSA)".into(),
            Key::Secret(_) => "a shared secret (use HS256, HS384 or HS512)".into(),
        }
    }
}

/// A key as given: PEM text, a JWK, or a shared secret.
struct Given {
    key: Key,
    /// The JWK's `kid`, put in the header unless the header names one.
    kid: Option<String>,
}

/// Signs `claims` into a compact JWS with `alg` and `key`; `header` adds or overrides header
/// fields (`kid`, `typ`, …), and a field set to null is left out.
///
/// `key` is a string (PEM, a JWK as JSON text, or for HS algorithms the secret itself) or a
/// JSON object (a JWK).
pub fn sign(
    claims: &Value,
    key: &Value,
    alg: &str,
    header: Option<&Map<String, Value>>,
) -> Result<String, String> {
    let algorithm = parse_alg(alg)?;
    if !claims.is_object() {
        return Err(format!(
            "the claims must be a mapping, got {}",
            json_kind(claims)
        ));
    }
    let given = read_key(key, algorithm, alg)?;
    let mut fields = Map::new();
    fields.insert("alg".into(), Value::from(alg));
    fields.insert("typ".into(), Value::from("JWT"));
    if let Some(kid) = given.kid {
        fields.insert("kid".into(), Value::from(kid));
    }
    for (name, value) in header.into_iter().flatten() {
        if name == "alg" {
            if value.as_str() != Some(alg) {
                return Err(
                    "the header's `alg` differs from the `alg` argument; leave it out of the header"
                        .into(),
                );
            }
            continue;
        }
        if value.is_null() {
            fields.remove(name);
        } else {
            fields.insert(name.clone(), value.clone());
        }
    }
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(Value::Object(fields).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = sign_bytes(&given.key, algorithm, alg, signing_input.as_bytes())?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

/// Signs a JWS signing input (`header.payload`, both base64url) and returns the signature.
fn sign_bytes(key: &Key, algorithm: Alg, alg: &str, input: &[u8]) -> Result<Vec<u8>, String> {
    let rng = SystemRandom::new();
    let failed = || format!("signing with `{alg}` failed");
    match (algorithm, key) {
        (Alg::Rsa(encoding), Key::Rsa(pair)) => {
            let mut out = vec![0; pair.public().modulus_len()];
            pair.sign(encoding, &rng, input, &mut out)
                .map_err(|_| failed())?;
            Ok(out)
        }
        (Alg::Ecdsa(curve), Key::Ec(pair, key_curve)) if curve == *key_curve => Ok(pair
            .sign(&rng, input)
            .map_err(|_| failed())?
            .as_ref()
            .to_vec()),
        (Alg::Ed25519, Key::Ed25519(pair)) => Ok(pair.sign(input).as_ref().to_vec()),
        (Alg::Hmac(hmac), Key::Secret(secret)) => {
            let key = ring::hmac::Key::new(hmac, secret);
            Ok(ring::hmac::sign(&key, input).as_ref().to_vec())
        }
        (_, key) => Err(format!(
            "`{alg}` cannot sign with this key: it is {}",
            key.describe()
        )),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "none",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Reads the key argument: a JWK (object or JSON text), PEM text, or an HS secret.
fn read_key(key: &Value, algorithm: Alg, alg: &str) -> Result<Given, String> {
    let hmac = matches!(algorithm, Alg::Hmac(_));
    match key {
        Value::Object(jwk) => read_jwk(jwk, alg),
        Value::String(text) => {
            let trimmed = text.trim();
            if trimmed.starts_with("-----BEGIN") {
                if hmac {
                    return Err(
                        "HS algorithms sign with a shared secret, but the key is PEM; use an RS, PS, ES or EdDSA algorithm with a private key"
                            .into(),
                    );
                }
                return read_pem(trimmed);
            }
            if trimmed.starts_with('{') {
                if let Ok(Value::Object(jwk)) = serde_json::from_str::<Value>(trimmed)
                    && jwk.contains_key("kty")
                {
                    return read_jwk(&jwk, alg);
                }
                if !hmac {
                    return Err("the key looks like JSON but is not a JWK object with `kty`".into());
                }
            }
            if hmac {
                if text.is_empty() {
                    return Err("the HS secret is empty".into());
                }
                return Ok(Given {
                    key: Key::Secret(text.as_bytes().to_vec()),
                    kid: None,
                });
            }
            Err(
                "the key is neither PEM (`-----BEGIN … PRIVATE KEY-----`) nor a JWK; only HS algorithms take a plain secret"
                    .into(),
            )
        }
        other => Err(format!(
            "the key must be a string (PEM, a JWK as JSON, or an HS secret) or a JWK mapping, got {}",
            json_kind(other)
        )),
    }
}

/// Reads the first private key of PEM text.
fn read_pem(text: &str) -> Result<Given, String> {
    let mut labels = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + "-----BEGIN ".len()..];
        let label_end = after
            .find("-----")
            .ok_or("the PEM has a `-----BEGIN` line that does not end with `-----`")?;
        let label = &after[..label_end];
        let body_start = &after[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let body_end = body_start
            .find(&end_marker)
            .ok_or_else(|| format!("the PEM block `{label}` has no `{end_marker}` line"))?;
        let body = &body_start[..body_end];
        rest = &body_start[body_end + end_marker.len()..];
        if !label.ends_with("PRIVATE KEY") {
            labels.push(label.to_owned());
            continue;
        }
        // Lines of headers (`Proc-Type: …`) mean a legacy encrypted key.
        if label == "ENCRYPTED PRIVATE KEY" || body.contains(':') {
            return Err(
                "the PEM key is encrypted; decrypt it first (`openssl pkcs8 -topk8 -nocrypt -in key.pem`) and keep the result secret"
                    .into(),
            );
        }
        let base64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let der = STANDARD
            .decode(base64)
            .map_err(|_| format!("the PEM block `{label}` is not valid base64"))?;
        let key = match label {
            "PRIVATE KEY" => pkcs8(&der)?,
            "RSA PRIVATE KEY" => {
                Key::Rsa(RsaKeyPair::from_der(&der).map_err(|e| rejected("RSA", e))?)
            }
            "EC PRIVATE KEY" => sec1(&der)?,
            other => {
                return Err(format!(
                    "the PEM block `{other}` is not a key format jwt_sign reads; convert it to PKCS#8 (`openssl pkcs8 -topk8 -nocrypt -in key.pem`)"
                ));
            }
        };
        return Ok(Given { key, kid: None });
    }
    if labels.is_empty() {
        return Err("the PEM has no `-----BEGIN … PRIVATE KEY-----` block".into());
    }
    Err(format!(
        "the PEM holds no private key, only `{}`; jwt_sign needs the private key",
        labels.join("`, `")
    ))
}

/// Explains why ring refused a key, in words (ring's reasons are fixed names, never key bytes).
fn rejected(kind: &str, error: ring::error::KeyRejected) -> String {
    let why = match error.to_string().as_str() {
        "TooSmall" => "it is too small (RSA keys need at least 2048 bits)".to_owned(),
        "TooLarge" => "it is too large".to_owned(),
        "InconsistentComponents" => "its parts do not belong together".to_owned(),
        "InvalidEncoding" | "InvalidComponent" => "it is not validly encoded".to_owned(),
        "PrivateModulusLenNotMultipleOf512Bits" => {
            "its modulus length is not a multiple of 512 bits".to_owned()
        }
        "PublicKeyIsMissing" => "it does not include its public key".to_owned(),
        "VersionNotSupported" => "its version is not supported".to_owned(),
        other => format!("ring rejected it ({other})"),
    };
    format!("the {kind} private key cannot be used: {why}")
}

/// Reads a PKCS#8 key of any supported kind.
fn pkcs8(der: &[u8]) -> Result<Key, String> {
    let rng = SystemRandom::new();
    let mut reason: Option<String> = None;
    let mut note = |kind: &str, error: ring::error::KeyRejected| {
        if error.to_string() != "WrongAlgorithm" && reason.is_none() {
            reason = Some(rejected(kind, error));
        }
    };
    match RsaKeyPair::from_pkcs8(der) {
        Ok(pair) => return Ok(Key::Rsa(pair)),
        Err(e) => note("RSA", e),
    }
    for curve in [Curve::P256, Curve::P384] {
        match EcdsaKeyPair::from_pkcs8(curve.signing(), der, &rng) {
            Ok(pair) => return Ok(Key::Ec(pair, curve)),
            Err(e) => note("EC", e),
        }
    }
    match Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
        Ok(pair) => return Ok(Key::Ed25519(pair)),
        Err(e) => note("Ed25519", e),
    }
    Err(reason.unwrap_or_else(|| {
        "the PKCS#8 key is not an RSA, EC P-256, EC P-384 or Ed25519 private key".into()
    }))
}

/// Reads a SEC1 `EC PRIVATE KEY`: ring takes the private scalar with its public point.
fn sec1(der: &[u8]) -> Result<Key, String> {
    let convert = "convert it to PKCS#8 (`openssl pkcs8 -topk8 -nocrypt -in key.pem`)";
    let malformed = || format!("the `EC PRIVATE KEY` is not valid SEC1 DER; {convert}");
    let (tag, body, _) = der_item(der).ok_or_else(malformed)?;
    if tag != 0x30 {
        return Err(malformed());
    }
    let (tag, version, rest) = der_item(body).ok_or_else(malformed)?;
    if tag != 0x02 || version != [1] {
        return Err(malformed());
    }
    let (tag, private, mut rest) = der_item(rest).ok_or_else(malformed)?;
    if tag != 0x04 {
        return Err(malformed());
    }
    let mut public: Option<&[u8]> = None;
    while !rest.is_empty() {
        let (tag, value, next) = der_item(rest).ok_or_else(malformed)?;
        if tag == 0xa1 {
            let (tag, bits, _) = der_item(value).ok_or_else(malformed)?;
            // A BIT STRING starts with its count of unused bits, 0 here.
            if tag != 0x03 || bits.first() != Some(&0) {
                return Err(malformed());
            }
            public = Some(&bits[1..]);
        }
        rest = next;
    }
    let curve = Curve::of_scalar(private.len())
        .ok_or_else(|| "the `EC PRIVATE KEY` is not on P-256 or P-384 (ES256, ES384)".to_owned())?;
    let public = public.ok_or_else(|| {
        format!("the `EC PRIVATE KEY` does not include its public key; {convert}")
    })?;
    let rng = SystemRandom::new();
    EcdsaKeyPair::from_private_key_and_public_key(curve.signing(), private, public, &rng)
        .map(|pair| Key::Ec(pair, curve))
        .map_err(|e| rejected("EC", e))
}

/// Splits one DER item off `input`: its tag, its contents and what follows.
fn der_item(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 2 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[count..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// Decodes a base64url member of a JWK.
fn member(jwk: &Map<String, Value>, name: &str, kty: &str) -> Result<Vec<u8>, String> {
    let text = jwk
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("the {kty} JWK has no `{name}`"))?;
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| format!("the JWK's `{name}` is not valid base64url"))
}

/// Reads a private JWK (RFC 7517, 7518 §6, RFC 8037).
fn read_jwk(jwk: &Map<String, Value>, alg: &str) -> Result<Given, String> {
    let kty = jwk.get("kty").and_then(Value::as_str).unwrap_or_default();
    let private = match kty {
        "oct" => "k",
        _ => "d",
    };
    if !jwk.contains_key(private) && matches!(kty, "RSA" | "EC" | "OKP") {
        return Err(format!(
            "the {kty} JWK is a public key (it has no `d`); jwt_sign needs the private key"
        ));
    }
    let key = match kty {
        "RSA" => {
            let parts = ["p", "q", "dp", "dq", "qi"];
            if let Some(missing) = parts.iter().find(|p| !jwk.contains_key(**p)) {
                return Err(format!(
                    "the RSA JWK has no `{missing}`; jwt_sign needs `n`, `e`, `d`, `p`, `q`, `dp`, `dq` and `qi`"
                ));
            }
            let components = KeyPairComponents {
                public_key: PublicKeyComponents {
                    n: member(jwk, "n", kty)?,
                    e: member(jwk, "e", kty)?,
                },
                d: member(jwk, "d", kty)?,
                p: member(jwk, "p", kty)?,
                q: member(jwk, "q", kty)?,
                dP: member(jwk, "dp", kty)?,
                dQ: member(jwk, "dq", kty)?,
                qInv: member(jwk, "qi", kty)?,
            };
            Key::Rsa(RsaKeyPair::from_components(&components).map_err(|e| rejected("RSA", e))?)
        }
        "EC" => {
            let curve = match jwk.get("crv").and_then(Value::as_str) {
                Some("P-256") => Curve::P256,
                Some("P-384") => Curve::P384,
                Some(other) => {
                    return Err(format!(
                        "the EC JWK's curve `{other}` is not supported; use P-256 (ES256) or P-384 (ES384)"
                    ));
                }
                None => return Err("the EC JWK has no `crv`".into()),
            };
            let mut public = vec![0x04];
            public.extend(member(jwk, "x", kty)?);
            public.extend(member(jwk, "y", kty)?);
            let d = member(jwk, "d", kty)?;
            let rng = SystemRandom::new();
            let pair =
                EcdsaKeyPair::from_private_key_and_public_key(curve.signing(), &d, &public, &rng)
                    .map_err(|e| rejected("EC", e))?;
            Key::Ec(pair, curve)
        }
        "OKP" => {
            match jwk.get("crv").and_then(Value::as_str) {
                Some("Ed25519") => {}
                Some(other) => {
                    return Err(format!(
                        "the OKP JWK's curve `{other}` is not supported; use Ed25519 (EdDSA)"
                    ));
                }
                None => return Err("the OKP JWK has no `crv`".into()),
            }
            let pair = Ed25519KeyPair::from_seed_and_public_key(
                &member(jwk, "d", kty)?,
                &member(jwk, "x", kty)?,
            )
            .map_err(|e| rejected("Ed25519", e))?;
            Key::Ed25519(pair)
        }
        "oct" => Key::Secret(member(jwk, "k", kty)?),
        "" => return Err("the JWK has no `kty`".into()),
        other => {
            return Err(format!(
                "the JWK's `kty` `{other}` is not supported; use RSA, EC, OKP or oct"
            ));
        }
    };
    if let Some(declared) = jwk.get("alg").and_then(Value::as_str)
        && declared != alg
    {
        return Err(format!("the JWK is for `alg` `{declared}`, not `{alg}`"));
    }
    Ok(Given {
        key,
        kid: jwk.get("kid").and_then(Value::as_str).map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // RFC 7515, appendix A.1: the HS256 example's key, signing input and signature.
    const A1_KEY: &str =
        "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
    // The payload of RFC 7515's examples A.1 to A.3.
    const A_PAYLOAD: &str = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";

    /// RFC 7515, appendix A.2: the RSA key of the RS256 example.
    fn a2_key() -> Value {
        json!({
            "kty": "RSA",
            "n": "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",
            "e": "AQAB",
            "d": "Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ",
            "p": "4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc",
            "q": "uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc",
            "dp": "BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0",
            "dq": "h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU",
            "qi": "IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U"
        })
    }

    /// RFC 7515, appendix A.2: the RS256 signature of `{"alg":"RS256"}` and the payload.
    const A2_SIGNATURE: &str = "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";

    /// RFC 7515, appendix A.3: the P-256 key of the ES256 example.
    fn a3_key() -> Value {
        json!({
            "kty": "EC",
            "crv": "P-256",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
            "d": "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"
        })
    }

    /// RFC 8037, appendix A.1: the Ed25519 key.
    fn rfc8037_key() -> Value {
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
        })
    }

    // The same RFC keys, encoded as PEM: RFC 7515 A.2 (RSA) as PKCS#1 and PKCS#8, A.3 (P-256)
    // as SEC1 and PKCS#8, RFC 8037 A.1 (Ed25519) as PKCS#8.
    const RSA_PKCS1: &str = "\
-----BEGIN RSA PRIVATE KEY-----\n\
MIIEowIBAAKCAQEAofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd/wWJcyQoTbji9k0\n\
l8W26mPddxHmfHQp+Vaw+4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL+yRT+SFd2lZS+pC\n\
gNMsD1W/YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb/7OMg0LOL+bSf63kpaSHSX\n\
ndS5z5rexMdbBYUsLA9e+KXBdQOS+UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uD\n\
Zlxvb3qCo5ZwKh9kG4LT6/I5IhlJH7aGhyxXFvUK+DWNmoudF8NAco9/h9iaGNj8\n\
q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQIDAQABAoIBABKucaRpzQorw35S\n\
bEUAVx8dYXUdZOlJcHtiWQ+dC6V8ljxAHj/PLyzTveyI5QO/xkObCyjIL303l2cf\n\
UhPu2MFaJdjVzqACXuOrLot/eSFvxjvqVidTtAZExqFRJ9mylUVAoLvhowVWmC1O\n\
n95fZCXxTUtxNEG1Xcc7m0rtzJKs45J+N/V9DP1edYH6USyPSWGp6wuA+KgHRnKK\n\
Vf9GRx80JQY7nVNkL17eHoTWEwga+lwi0FEoW9Y7lDtWXYmKBWhUE+U8PGxlJf8f\n\
40493HDw1WRQ/aSLoS4QTp3rn7gYgeHEvfJdkkf0UMhlknlo53M09EFPdadQ4TlU\n\
bjqKc50CgYEA4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH/5IB3jw3bcxGn6QLvnE\n\
tfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw/Py5PJdTJNPY8cQn7ouZ2KKDcmnPG\n\
BY5t7yLc1QlQ5xHdwW1VhvKn+nXqhJTBgIPgtldC+KDV5z+y2XDwGUcCgYEAuQPE\n\
fgmVtjL0Uyyx88GZFF1fOunH3+7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYs\n\
p1ZSe7zFYHj7C6ul7TjeLQeZD/YwD66t62wDmpe/HlB+TnBA+njbglfIsRLtXlnD\n\
zQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdcCgYAHAp9XcCSrn8wVkMVkKdb7\n\
DOX4IKjzdahm+ctDAJN4O/y7OW5FKebvUjdAIt2GuoTZ71iTG+7F0F+lP88jtjP4\n\
U4qe7VHoewl4MKOfXZKTe+YCS1XbNvfgwJ3Ltyl1OH9hWvu2yza7q+d5PCsDzqtm\n\
27kxuvULVeya+TEdAB1ijQKBgQCH/3r6YrVH/uCWGy6bzV1nGNOdjKc9tmkfOJmN\n\
54dxdixdpozCQ6U4OxZrsj3FcOhHBsqAHvX2uuYjagqvo3cOj1TRqNocX40omfCC\n\
Mx3bD1yPPf/6TI2XECva/ggqEY2mYzmIiA5LVVmc5nrybr+lssFKneeyxN2Wq93S\n\
0iJMdQKBgCGHewxzoa1r8ZMD0LETNrToK423K377UCYqXfg5XMclbrjPbEC3YI1Z\n\
NqMtuhdBJqUnBi6tjKMF+34Xf0CUN8ncuXGO2CAYvO8PdyCixHX52ybaDjy1FtCE\n\
6yUXjoKNXKvUm7MWGsAYH6f4IegOetN5NvmUMFStCSkh7ixZLkN1\n\
-----END RSA PRIVATE KEY-----";

    const RSA_PKCS8: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCh+BYK4uPJtGXO\n\
jS1lYmM2K5J9vinh8CR3/BYlzJChNuOL2TSXxbbqY913EeZ8dCn5VrD7io8ImtxL\n\
aYk8wTM/U+3QGbh3hCUv7JFP5IV3aVlL6kKA0ywPVb9ilE8TA5a8bpvfbr3SvaNn\n\
juygxmj3AbONv/s4yDQs4v5tJ/reSlpIdJed1LnPmt7Ex1sFhSwsD174pcF1A5L5\n\
ROjtZMEQxrZHYJqkeDrrnGya11UxMFBji4NmXG9veoKjlnAqH2QbgtPr8jkiGUkf\n\
toaHLFcW9Qr4NY2ai50Xw0Byj3+H2JoY2PyrZ62EWQwuz3WTOTY8BwNNb2BvniHg\n\
VFbK5emhAgMBAAECggEAEq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyW\n\
PEAeP88vLNO97IjlA7/GQ5sLKMgvfTeXZx9SE+7YwVol2NXOoAJe46sui395IW/G\n\
O+pWJ1O0BkTGoVEn2bKVRUCgu+GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzj\n\
kn439X0M/V51gfpRLI9JYanrC4D4qAdGcopV/0ZHHzQlBjudU2QvXt4ehNYTCBr6\n\
XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl/x/jTj3ccPDVZFD9pIuhLhBOneufuBiB\n\
4cS98l2SR/RQyGWSeWjnczT0QU91p1DhOVRuOopznQKBgQDgHMQQ60imZV1URk0K\n\
pLttoLhyt3SmqdEf/kgHePDdtzEafpAu+cS191R2JiuoF2yzWXnwFDcqGigp5BNr\n\
0AHQfD8/Lk8l1Mk09jxxCfui5nYooNyac8YFjm3vItzVCVDnEd3BbVWG8qf6deqE\n\
lMGAg+C2V0L4oNXnP7LZcPAZRwKBgQC5A8R+CZW2MvRTLLHzwZkUXV866cff7tx6\n\
kqa0finGG0KgeqlaZPxgCZnFp7AeAcCMtiynVlJ7vMVgePsLq6XtON4tB5kP9jAP\n\
rq3rbAOal78eUH5OcED6eNuCV8ixEu1eWcPNCS/l1OW1EnXUEoEHKl54Xrrz2uNw\n\
kgMTP1FZ1wKBgAcCn1dwJKufzBWQxWQp1vsM5fggqPN1qGb5y0MAk3g7/Ls5bkUp\n\
5u9SN0Ai3Ya6hNnvWJMb7sXQX6U/zyO2M/hTip7tUeh7CXgwo59dkpN75gJLVds2\n\
9+DAncu3KXU4f2Fa+7bLNrur53k8KwPOq2bbuTG69QtV7Jr5MR0AHWKNAoGBAIf/\n\
evpitUf+4JYbLpvNXWcY052Mpz22aR84mY3nh3F2LF2mjMJDpTg7FmuyPcVw6EcG\n\
yoAe9fa65iNqCq+jdw6PVNGo2hxfjSiZ8IIzHdsPXI89//pMjZcQK9r+CCoRjaZj\n\
OYiIDktVWZzmevJuv6WywUqd57LE3Zar3dLSIkx1AoGAIYd7DHOhrWvxkwPQsRM2\n\
tOgrjbcrfvtQJipd+DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd/QJQ3\n\
ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp/gh6A56\n\
03k2+ZQwVK0JKSHuLFkuQ3U=\n\
-----END PRIVATE KEY-----";

    const EC_SEC1: &str = "\
-----BEGIN EC PRIVATE KEY-----\n\
MHcCAQEEII6bEJ5xkJi/mASH3x9dd+nLKWBuvtImO19XwhPfhPSyoAoGCCqGSM49\n\
AwEHoUQDQgAEf83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEXH8UTNG72b\n\
focs3+257rn0s2ldbqkLJK2KRiMohYjlrQ==\n\
-----END EC PRIVATE KEY-----";

    const EC_PKCS8: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgjpsQnnGQmL+YBIff\n\
H1136cspYG6+0iY7X1fCE9+E9LKhRANCAAR/zc4ncPbEXUGDy+5v20t7WAczNXvp\n\
7xO6z248e9FURcfxRM0bvZt+hyzf7bnuufSzaV1uqQskrYpGIyiFiOWt\n\
-----END PRIVATE KEY-----";

    const ED_PKCS8: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n\
-----END PRIVATE KEY-----";

    fn key_of(key: &Value, alg: &str) -> Key {
        match read_key(key, parse_alg(alg).unwrap(), alg) {
            Ok(given) => given.key,
            Err(e) => panic!("{alg}: {e}"),
        }
    }

    fn signature(key: &Value, alg: &str, input: &str) -> String {
        let sig = sign_bytes(
            &key_of(key, alg),
            parse_alg(alg).unwrap(),
            alg,
            input.as_bytes(),
        );
        URL_SAFE_NO_PAD.encode(sig.unwrap())
    }

    fn public(jwk: &Value) -> Value {
        let mut public = jwk.clone();
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            public.as_object_mut().unwrap().remove(private);
        }
        public
    }

    #[test]
    fn hs256_matches_rfc7515_appendix_a1() {
        let input = format!("eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.{A_PAYLOAD}");
        let jwk = json!({"kty": "oct", "k": A1_KEY});
        assert_eq!(
            signature(&jwk, "HS256", &input),
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        );
    }

    #[test]
    fn rs256_matches_rfc7515_appendix_a2_from_a_jwk_and_from_pem() {
        let input = format!("eyJhbGciOiJSUzI1NiJ9.{A_PAYLOAD}");
        assert_eq!(signature(&a2_key(), "RS256", &input), A2_SIGNATURE);
        for pem in [RSA_PKCS1, RSA_PKCS8] {
            assert_eq!(signature(&json!(pem), "RS256", &input), A2_SIGNATURE);
        }
    }

    #[test]
    fn ed25519_matches_rfc8037_appendix_a4() {
        let input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
        let expected = "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
        assert_eq!(signature(&rfc8037_key(), "EdDSA", input), expected);
        assert_eq!(signature(&json!(ED_PKCS8), "EdDSA", input), expected);
    }

    #[test]
    fn every_algorithm_signs_what_jwt_verify_accepts() {
        let claims = json!({"iss": "client", "sub": "client", "exp": 1_300_819_380});
        let secret = "a shared secret of at least thirty-two bytes";
        let oct = json!({"kty": "oct", "k": URL_SAFE_NO_PAD.encode(secret)});
        let cases: [(&str, Value, Value); 16] = [
            ("RS256", a2_key(), public(&a2_key())),
            ("RS384", json!(RSA_PKCS8), public(&a2_key())),
            ("RS512", json!(RSA_PKCS1), public(&a2_key())),
            ("PS256", a2_key(), public(&a2_key())),
            ("PS384", json!(RSA_PKCS1), public(&a2_key())),
            ("PS512", json!(RSA_PKCS8), public(&a2_key())),
            ("ES256", a3_key(), public(&a3_key())),
            ("ES256", json!(EC_SEC1), public(&a3_key())),
            ("ES256", json!(EC_PKCS8), public(&a3_key())),
            ("ES256", json!(a3_key().to_string()), public(&a3_key())),
            ("EdDSA", rfc8037_key(), public(&rfc8037_key())),
            ("EdDSA", json!(ED_PKCS8), public(&rfc8037_key())),
            ("HS256", json!(secret), oct.clone()),
            ("HS384", json!(secret), oct.clone()),
            ("HS512", json!(secret), oct.clone()),
            ("HS256", oct.clone(), oct.clone()),
        ];
        for (alg, key, verifier) in cases {
            let token = sign(&claims, &key, alg, None).unwrap_or_else(|e| panic!("{alg}: {e}"));
            let verified = crate::template::jwt::verify(&token, &verifier);
            assert_eq!(verified.as_ref().ok(), Some(&claims), "{alg} {key}");
        }
    }

    #[test]
    fn es384_signs_with_a_p384_key() {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P384_SHA384_FIXED_SIGNING, &rng)
            .unwrap();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            STANDARD.encode(pkcs8.as_ref())
        );
        let token = sign(&json!({"n": 1}), &json!(pem), "ES384", None).unwrap();
        let Key::Ec(pair, Curve::P384) = key_of(&json!(pem), "ES384") else {
            panic!("a P-384 key");
        };
        let public = ring::signature::KeyPair::public_key(&pair)
            .as_ref()
            .to_vec();
        let jwk = json!({
            "kty": "EC", "crv": "P-384",
            "x": URL_SAFE_NO_PAD.encode(&public[1..49]), "y": URL_SAFE_NO_PAD.encode(&public[49..]),
        });
        assert!(crate::template::jwt::verify(&token, &jwk).is_ok());
    }

    fn header_of(token: &str) -> Value {
        let header = token.split('.').next().unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
    }

    #[test]
    fn the_header_has_alg_and_typ_a_jwks_kid_and_the_fields_given() {
        let claims = json!({"sub": "x"});
        let token = sign(&claims, &json!("secret"), "HS256", None).unwrap();
        assert_eq!(header_of(&token), json!({"alg": "HS256", "typ": "JWT"}));
        let mut jwk = a3_key();
        jwk["kid"] = json!("key-1");
        let token = sign(&claims, &jwk, "ES256", None).unwrap();
        assert_eq!(
            header_of(&token),
            json!({"alg": "ES256", "typ": "JWT", "kid": "key-1"})
        );
        let extra = json!({"kid": "key-2", "typ": null, "x5t": "abc", "alg": "ES256"});
        let token = sign(&claims, &jwk, "ES256", extra.as_object()).unwrap();
        assert_eq!(
            header_of(&token),
            json!({"alg": "ES256", "kid": "key-2", "x5t": "abc"})
        );
    }

    fn error(claims: &Value, key: &Value, alg: &str) -> String {
        let message = sign(claims, key, alg, None).unwrap_err();
        // No error may show any part of a key.
        for part in ["MII", "jpsQ", "nWGx", "Eq5x", "AyM1", "hunter2"] {
            assert!(!message.contains(part), "{message}");
        }
        message
    }

    #[test]
    fn wrong_keys_and_algorithms_are_explained_without_showing_the_key() {
        let claims = json!({"sub": "x"});
        let cases: Vec<(Value, &str, &str)> = vec![
            (
                a3_key(),
                "RS256",
                "`RS256` cannot sign with this key: it is an EC P-256 key (use ES256)",
            ),
            (
                json!(RSA_PKCS1),
                "ES256",
                "`ES256` cannot sign with this key: it is an RSA key (use RS256, RS384, RS512, PS256, PS384 or PS512)",
            ),
            (
                json!(EC_SEC1),
                "ES384",
                "`ES384` cannot sign with this key: it is an EC P-256 key (use ES256)",
            ),
            (
                json!(ED_PKCS8),
                "HS256",
                "HS algorithms sign with a shared secret, but the key is PEM; use an RS, PS, ES or EdDSA algorithm with a private key",
            ),
            (
                json!("hunter2"),
                "RS256",
                "the key is neither PEM (`-----BEGIN … PRIVATE KEY-----`) nor a JWK; only HS algorithms take a plain secret",
            ),
            (
                rfc8037_key(),
                "HS256",
                "`HS256` cannot sign with this key: it is an Ed25519 key (use EdDSA)",
            ),
            (
                public(&a2_key()),
                "RS256",
                "the RSA JWK is a public key (it has no `d`); jwt_sign needs the private key",
            ),
            (
                json!({"kty": "EC", "crv": "P-521", "d": "AA"}),
                "ES256",
                "the EC JWK's curve `P-521` is not supported; use P-256 (ES256) or P-384 (ES384)",
            ),
            (
                json!({"kty": "RSA", "n": "AQAB", "e": "AQAB", "d": "AQAB"}),
                "RS256",
                "the RSA JWK has no `p`; jwt_sign needs `n`, `e`, `d`, `p`, `q`, `dp`, `dq` and `qi`",
            ),
            (
                json!("hunter2"),
                "RS257",
                "unsupported `alg` `RS257`; use one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA, HS256, HS384, HS512",
            ),
            (
                json!("hunter2"),
                "hs256",
                "unsupported `alg` `hs256` (did you mean `HS256`?); use one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA, HS256, HS384, HS512",
            ),
            (
                json!("hunter2"),
                "none",
                "`alg` `none` makes an unsigned token; name a signing algorithm",
            ),
            (
                json!(42),
                "HS256",
                "the key must be a string (PEM, a JWK as JSON, or an HS secret) or a JWK mapping, got a number",
            ),
            (
                json!("-----BEGIN PUBLIC KEY-----\nMII=\n-----END PUBLIC KEY-----"),
                "RS256",
                "the PEM holds no private key, only `PUBLIC KEY`; jwt_sign needs the private key",
            ),
            (
                json!(
                    "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMII=\n-----END ENCRYPTED PRIVATE KEY-----"
                ),
                "RS256",
                "the PEM key is encrypted; decrypt it first (`openssl pkcs8 -topk8 -nocrypt -in key.pem`) and keep the result secret",
            ),
            (
                json!("-----BEGIN PRIVATE KEY-----\nMII*\n-----END PRIVATE KEY-----"),
                "RS256",
                "the PEM block `PRIVATE KEY` is not valid base64",
            ),
            (
                json!("-----BEGIN PRIVATE KEY-----\nMIIB\n"),
                "RS256",
                "the PEM block `PRIVATE KEY` has no `-----END PRIVATE KEY-----` line",
            ),
            (
                json!({"kty": "oct", "k": A1_KEY, "alg": "HS512"}),
                "HS256",
                "the JWK is for `alg` `HS512`, not `HS256`",
            ),
        ];
        for (key, alg, expected) in cases {
            assert_eq!(error(&claims, &key, alg), expected, "{alg} {key}");
        }
        assert_eq!(
            error(&json!(["sub"]), &json!("hunter2"), "HS256"),
            "the claims must be a mapping, got a list"
        );
    }

    #[test]
    fn a_sec1_key_without_its_public_point_asks_for_pkcs8() {
        // SEQUENCE { INTEGER 1, OCTET STRING (32 bytes) }: no public key.
        let mut der = vec![0x30, 0x25, 0x02, 0x01, 0x01, 0x04, 0x20];
        der.extend([7u8; 32]);
        let pem = format!(
            "-----BEGIN EC PRIVATE KEY-----\n{}\n-----END EC PRIVATE KEY-----",
            STANDARD.encode(&der)
        );
        assert_eq!(
            error(&json!({}), &json!(pem), "ES256"),
            "the `EC PRIVATE KEY` does not include its public key; convert it to PKCS#8 (`openssl pkcs8 -topk8 -nocrypt -in key.pem`)"
        );
        // OpenSSL writes the curve's parameters in a block of their own first.
        let with_params = format!(
            "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n{EC_SEC1}"
        );
        assert!(sign(&json!({}), &json!(with_params), "ES256", None).is_ok());
    }
}
