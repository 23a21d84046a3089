//! JWT signature checks against a JWKS: RS256/384/512, PS256/384/512, ES256/384, `EdDSA` and
//! HS256/384/512 (with `oct` keys). Claims such as `exp`, `iss` and `aud` are left to the
//! workflow's checks.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use serde_json::Value;

/// Checks a compact JWT's signature with the keys of a JWKS (or one JWK) and returns its
/// claims. Errors never quote the token: tokens are secrets.
pub fn verify(token: &str, jwks: &Value) -> Result<Value, String> {
    let parts: Vec<&str> = token.trim().split('.').collect();
    let [header_b64, payload_b64, signature_b64] = parts[..] else {
        return Err(format!(
            "not a signed JWT: expected three base64url parts separated by `.`, found {}",
            parts.len()
        ));
    };
    let decode = |part: &str, what: &str| {
        URL_SAFE_NO_PAD
            .decode(part.trim_end_matches('='))
            .map_err(|_| format!("the {what} is not valid base64url"))
    };
    let header: Value = serde_json::from_slice(&decode(header_b64, "header")?)
        .map_err(|_| "the header is not JSON".to_owned())?;
    let claims: Value = serde_json::from_slice(&decode(payload_b64, "payload")?)
        .map_err(|_| "the payload is not JSON".to_owned())?;
    let signature = decode(signature_b64, "signature")?;
    let alg = header["alg"].as_str().unwrap_or("");
    if alg.is_empty() || alg.eq_ignore_ascii_case("none") {
        return Err("the token is not signed (`alg` is `none` or missing)".into());
    }
    let message = format!("{header_b64}.{payload_b64}");
    let keys: Vec<&Value> = match jwks.get("keys") {
        Some(Value::Array(keys)) => keys.iter().collect(),
        Some(_) => return Err("the JWKS `keys` is not a list".into()),
        None if jwks.get("kty").is_some() => vec![jwks],
        None => return Err("expected a JWKS (`{\"keys\": [...]}`) or a single JWK".into()),
    };
    let kid = header["kid"].as_str();
    let candidates: Vec<&Value> = keys
        .into_iter()
        .filter(|key| kid.is_none_or(|kid| key["kid"].as_str() == Some(kid)))
        .filter(|key| key["alg"].as_str().is_none_or(|a| a == alg))
        .collect();
    if candidates.is_empty() {
        return Err(match kid {
            Some(kid) => format!("no key with `kid` `{kid}` (and `alg` `{alg}`) in the JWKS"),
            None => format!("no key for `alg` `{alg}` in the JWKS"),
        });
    }
    for key in candidates {
        if check(alg, key, message.as_bytes(), &signature)? {
            return Ok(claims);
        }
    }
    Err(format!(
        "the signature does not match the JWKS key (`alg` `{alg}`)"
    ))
}

fn field(key: &Value, name: &str) -> Result<Vec<u8>, String> {
    let text = key[name]
        .as_str()
        .ok_or_else(|| format!("the JWK has no `{name}`"))?;
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| format!("the JWK's `{name}` is not valid base64url"))
}

/// Checks one key; `Ok(false)` when the key is of the right kind but the signature differs.
fn check(alg: &str, key: &Value, message: &[u8], signature: &[u8]) -> Result<bool, String> {
    let kty = key["kty"].as_str().unwrap_or("");
    let rsa = |params: &'static signature::RsaParameters| -> Result<bool, String> {
        if kty != "RSA" {
            return Ok(false);
        }
        let components = signature::RsaPublicKeyComponents {
            n: field(key, "n")?,
            e: field(key, "e")?,
        };
        Ok(components.verify(params, message, signature).is_ok())
    };
    let point =
        |algorithm: &'static dyn VerificationAlgorithm, curve: &str| -> Result<bool, String> {
            if kty != "EC" || key["crv"].as_str() != Some(curve) {
                return Ok(false);
            }
            let mut public = vec![0x04];
            public.extend(field(key, "x")?);
            public.extend(field(key, "y")?);
            Ok(UnparsedPublicKey::new(algorithm, public)
                .verify(message, signature)
                .is_ok())
        };
    let hmac = |algorithm: ring::hmac::Algorithm| -> Result<bool, String> {
        if kty != "oct" {
            return Ok(false);
        }
        let secret = ring::hmac::Key::new(algorithm, &field(key, "k")?);
        Ok(ring::hmac::verify(&secret, message, signature).is_ok())
    };
    match alg {
        "RS256" => rsa(&signature::RSA_PKCS1_2048_8192_SHA256),
        "RS384" => rsa(&signature::RSA_PKCS1_2048_8192_SHA384),
        "RS512" => rsa(&signature::RSA_PKCS1_2048_8192_SHA512),
        "PS256" => rsa(&signature::RSA_PSS_2048_8192_SHA256),
        "PS384" => rsa(&signature::RSA_PSS_2048_8192_SHA384),
        "PS512" => rsa(&signature::RSA_PSS_2048_8192_SHA512),
        "ES256" => point(&signature::ECDSA_P256_SHA256_FIXED, "P-256"),
        "ES384" => point(&signature::ECDSA_P384_SHA384_FIXED, "P-384"),
        "EdDSA" => {
            if kty != "OKP" || key["crv"].as_str() != Some("Ed25519") {
                return Ok(false);
            }
            Ok(
                UnparsedPublicKey::new(&signature::ED25519, field(key, "x")?)
                    .verify(message, signature)
                    .is_ok(),
            )
        }
        "HS256" => hmac(ring::hmac::HMAC_SHA256),
        "HS384" => hmac(ring::hmac::HMAC_SHA384),
        "HS512" => hmac(ring::hmac::HMAC_SHA512),
        other => Err(format!("unsupported `alg` `{other}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    use serde_json::json;

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn es256() -> (String, Value) {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let public = pair.public_key().as_ref();
        let jwk = json!({"kty": "EC", "crv": "P-256", "kid": "k1", "x": b64(&public[1..33]), "y": b64(&public[33..65])});
        let header = b64(br#"{"alg":"ES256","kid":"k1"}"#);
        let payload = b64(br#"{"sub":"u1","aud":"app"}"#);
        let message = format!("{header}.{payload}");
        let signature = pair.sign(&rng, message.as_bytes()).unwrap();
        (
            format!("{message}.{}", b64(signature.as_ref())),
            json!({"keys": [jwk]}),
        )
    }

    #[test]
    fn verifies_es256_and_returns_the_claims() {
        let (token, jwks) = es256();
        assert_eq!(verify(&token, &jwks).unwrap()["sub"], "u1");
    }

    #[test]
    fn rejects_a_tampered_payload_without_quoting_the_token() {
        let (token, jwks) = es256();
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] = b64(br#"{"sub":"admin","aud":"app"}"#);
        let error = verify(&parts.join("."), &jwks).unwrap_err();
        assert_eq!(
            error,
            "the signature does not match the JWKS key (`alg` `ES256`)"
        );
    }

    #[test]
    fn names_a_missing_kid_and_refuses_unsigned_tokens() {
        let (token, _) = es256();
        let other =
            json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k2", "x": "AA", "y": "AA"}]});
        assert_eq!(
            verify(&token, &other).unwrap_err(),
            "no key with `kid` `k1` (and `alg` `ES256`) in the JWKS"
        );
        let unsigned = format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(b"{}"));
        assert_eq!(
            verify(&unsigned, &other).unwrap_err(),
            "the token is not signed (`alg` is `none` or missing)"
        );
    }

    #[test]
    fn verifies_hs256_with_an_oct_key() {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"shared secret");
        let message = format!("{}.{}", b64(br#"{"alg":"HS256"}"#), b64(br#"{"n":1}"#));
        let tag = ring::hmac::sign(&key, message.as_bytes());
        let token = format!("{message}.{}", b64(tag.as_ref()));
        let jwk = json!({"kty": "oct", "k": b64(b"shared secret")});
        assert_eq!(verify(&token, &jwk).unwrap()["n"], 1);
    }
}
