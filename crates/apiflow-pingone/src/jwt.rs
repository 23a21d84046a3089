//! RS256 signing and checking of the JWTs the emulator issues, and the JWKS that publishes the key.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::rsa::PublicKeyComponents;
use ring::signature::{self, RsaKeyPair};
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

/// A throwaway 2048-bit RSA key (PKCS#8 DER) made for the emulator only; it guards nothing.
const SIGNING_KEY: &[u8] = include_bytes!("signing_key.pk8.der");

/// The emulator's signing key with its published public parts.
pub(crate) struct Signer {
    key: RsaKeyPair,
    rng: SystemRandom,
    kid: String,
    n: Vec<u8>,
    e: Vec<u8>,
}

impl Signer {
    pub(crate) fn new() -> Self {
        // The key is a compile-time constant, so rejecting it is a build defect, not input.
        let key = RsaKeyPair::from_pkcs8(SIGNING_KEY).expect("embedded signing key is valid");
        let public = PublicKeyComponents::<Vec<u8>>::from(key.public());
        // Derive the key id from the modulus so it is stable across runs.
        let kid = URL_SAFE_NO_PAD.encode(&Sha256::digest(&public.n)[..16]);
        Self {
            key,
            rng: SystemRandom::new(),
            kid,
            n: public.n,
            e: public.e,
        }
    }

    /// Signs `claims` as a compact RS256 JWS carrying this key's `kid`.
    pub(crate) fn sign(&self, claims: &Value) -> String {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": self.kid});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key.public().modulus_len()];
        // PKCS#1 v1.5 signing only fails on a wrong buffer size, which is sized above.
        self.key
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &self.rng,
                signing_input.as_bytes(),
                &mut signature,
            )
            .expect("RSA signing with a correctly sized buffer");
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// Returns the claims of `token` when it is an RS256 JWT signed by this key.
    pub(crate) fn verify(&self, token: &str) -> Option<Map<String, Value>> {
        let mut parts = token.split('.');
        let (header, claims, sig) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
        if header.get("alg")? != "RS256" || header.get("kid")? != self.kid.as_str() {
            return None;
        }
        let public = PublicKeyComponents {
            n: &self.n,
            e: &self.e,
        };
        let signed = &token[..header_len(token)?];
        public
            .verify(
                &signature::RSA_PKCS1_2048_8192_SHA256,
                signed.as_bytes(),
                &URL_SAFE_NO_PAD.decode(sig).ok()?,
            )
            .ok()?;
        match serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).ok()?).ok()? {
            Value::Object(claims) => Some(claims),
            _ => None,
        }
    }

    /// Returns the JWKS document that publishes the public key.
    pub(crate) fn jwks(&self) -> Value {
        json!({"keys": [{
            "kty": "RSA",
            "kid": self.kid,
            "use": "sig",
            "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(&self.n),
            "e": URL_SAFE_NO_PAD.encode(&self.e),
        }]})
    }
}

/// Returns the length of the signed part (`header.claims`) of a compact JWS.
fn header_len(token: &str) -> Option<usize> {
    token.rfind('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_tokens_verify_and_tampered_ones_do_not() {
        let signer = Signer::new();
        let token = signer.sign(&json!({"sub": "abc", "exp": 1}));
        let claims = signer.verify(&token).expect("own token verifies");
        assert_eq!(claims["sub"], "abc");
        let tampered = token.replacen('.', ".e30", 1);
        assert!(signer.verify(&tampered).is_none());
        assert!(signer.verify("not-a-jwt").is_none());
    }
}
