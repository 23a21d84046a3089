//! JWT client assertions at the token endpoint (RFC 7523): `PRIVATE_KEY_JWT` checked against
//! the application's registered JWKS, `CLIENT_SECRET_JWT` against its client secret.
//!
//! PingOne's rules: `iss` and `sub` are the client id; `aud` is the token endpoint, the issuer
//! (`…/as`) or the endpoint called; `exp` is required, in the future and at most an hour away;
//! `nbf`, when present, is not in the future; client-secret JWTs use HS256, HS384 or HS512.
//! Stricter than PingOne, which documents that it does not check `jti`: a `jti` is accepted
//! once per client while its assertion is valid (RFC 7523 §3 allows this replay check).

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use serde_json::{Map, Value};

use super::clock::unix_seconds;
use super::state::{App, State};

/// The only `client_assertion_type` (RFC 7523 §2.2).
pub(crate) const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// PingOne rejects assertions that expire more than one hour from now.
const MAX_LIFETIME: Duration = Duration::from_secs(3600);

/// A compact JWS split into what the checks need.
pub(crate) struct Assertion {
    alg: String,
    kid: Option<String>,
    claims: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

impl Assertion {
    /// Reads an assertion without checking it; errors say what is malformed.
    pub(crate) fn parse(token: &str) -> Result<Assertion, String> {
        let parts: Vec<&str> = token.split('.').collect();
        let [header, claims, signature] = parts[..] else {
            return Err("the client assertion is not a signed JWT".into());
        };
        let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).ok();
        let json = |part: &str| decode(part).and_then(|b| serde_json::from_slice::<Value>(&b).ok());
        let Some(Value::Object(header)) = json(header) else {
            return Err("the client assertion's header is not base64url JSON".into());
        };
        let Some(Value::Object(claims)) = json(claims) else {
            return Err("the client assertion's claims are not base64url JSON".into());
        };
        let signature = decode(signature)
            .ok_or_else(|| "the client assertion's signature is not base64url".to_owned())?;
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Ok(Assertion {
            alg,
            kid: header.get("kid").and_then(Value::as_str).map(str::to_owned),
            claims,
            signing_input: token[..token.rfind('.').unwrap_or(0)].to_owned(),
            signature,
        })
    }

    /// Returns the client the assertion speaks for: its `iss`.
    pub(crate) fn issuer(&self) -> Option<&str> {
        self.claims.get("iss").and_then(Value::as_str)
    }

    /// Checks the signature with the app's keys or secret, the claims against the token
    /// endpoint `audiences`, and records the `jti` as used.
    pub(crate) fn check(
        &self,
        app: &App,
        audiences: &[String],
        now: SystemTime,
        state: &mut State,
    ) -> Result<(), String> {
        self.check_signature(app)?;
        let claim = |name: &str| self.claims.get(name);
        if self.issuer() != Some(app.id.as_str())
            || claim("sub").and_then(Value::as_str) != Some(app.id.as_str())
        {
            return Err("iss and sub must both be the client id".into());
        }
        let aud_ok = match claim("aud") {
            Some(Value::String(aud)) => audiences.contains(aud),
            Some(Value::Array(list)) => list
                .iter()
                .any(|a| a.as_str().is_some_and(|a| audiences.iter().any(|x| x == a))),
            _ => false,
        };
        if !aud_ok {
            return Err(format!(
                "aud must be the token endpoint ({}) or the issuer ({})",
                audiences[0], audiences[1]
            ));
        }
        let seconds = |name: &str| claim(name).and_then(Value::as_u64);
        let now_s = unix_seconds(now);
        let exp = seconds("exp").ok_or_else(|| "exp is required".to_owned())?;
        if exp <= now_s {
            return Err("the client assertion has expired".into());
        }
        if exp > now_s + MAX_LIFETIME.as_secs() {
            return Err("the client assertion expires more than one hour from now".into());
        }
        if claim("nbf").is_some() && seconds("nbf").is_none_or(|nbf| nbf > now_s) {
            return Err("the client assertion is not valid yet (nbf)".into());
        }
        if let Some(jti) = claim("jti").and_then(Value::as_str) {
            state.assertion_ids.retain(|_, expires| *expires > now);
            let key = (app.id.clone(), jti.to_owned());
            if state.assertion_ids.contains_key(&key) {
                return Err("the client assertion (jti) has already been used".into());
            }
            let expires = SystemTime::UNIX_EPOCH + Duration::from_secs(exp);
            state.assertion_ids.insert(key, expires);
        }
        Ok(())
    }

    fn check_signature(&self, app: &App) -> Result<(), String> {
        let message = self.signing_input.as_bytes();
        if app.token_endpoint_auth_method == "CLIENT_SECRET_JWT" {
            let algorithm = match self.alg.as_str() {
                "HS256" => ring::hmac::HMAC_SHA256,
                "HS384" => ring::hmac::HMAC_SHA384,
                "HS512" => ring::hmac::HMAC_SHA512,
                other => {
                    return Err(format!(
                        "a client secret JWT must use HS256, HS384 or HS512, not '{other}'"
                    ));
                }
            };
            let key = ring::hmac::Key::new(algorithm, app.secret.as_bytes());
            return ring::hmac::verify(&key, message, &self.signature)
                .map_err(|_| "the client assertion's signature is invalid".to_owned());
        }
        let Some(jwks) = &app.jwks else {
            // The emulator never fetches a `jwksUrl`.
            return Err("the application has no jwks registered (jwksUrl is not fetched)".into());
        };
        let jwks: Value = serde_json::from_str(jwks).unwrap_or(Value::Null);
        let keys = jwks["keys"].as_array().map_or(&[][..], Vec::as_slice);
        let candidates: Vec<&Value> = keys
            .iter()
            .filter(|k| self.kid.is_none() || k["kid"].as_str() == self.kid.as_deref())
            .collect();
        if candidates.is_empty() {
            return Err("no key of the application's jwks matches the assertion's kid".into());
        }
        for key in candidates {
            if verify(&self.alg, key, message, &self.signature)? {
                return Ok(());
            }
        }
        Err("the client assertion's signature is invalid".into())
    }
}

fn member(key: &Value, name: &str) -> Vec<u8> {
    key[name]
        .as_str()
        .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
        .unwrap_or_default()
}

/// Checks a signature with one JWK; `Ok(false)` when the key is of another kind or does not
/// match.
fn verify(alg: &str, key: &Value, message: &[u8], signature: &[u8]) -> Result<bool, String> {
    let kty = key["kty"].as_str().unwrap_or_default();
    let rsa = |params: &'static signature::RsaParameters| {
        kty == "RSA"
            && signature::RsaPublicKeyComponents {
                n: member(key, "n"),
                e: member(key, "e"),
            }
            .verify(params, message, signature)
            .is_ok()
    };
    let ec = |algorithm: &'static dyn VerificationAlgorithm, curve: &str| {
        let mut point = vec![0x04];
        point.extend(member(key, "x"));
        point.extend(member(key, "y"));
        kty == "EC"
            && key["crv"].as_str() == Some(curve)
            && UnparsedPublicKey::new(algorithm, point)
                .verify(message, signature)
                .is_ok()
    };
    Ok(match alg {
        "RS256" => rsa(&signature::RSA_PKCS1_2048_8192_SHA256),
        "RS384" => rsa(&signature::RSA_PKCS1_2048_8192_SHA384),
        "RS512" => rsa(&signature::RSA_PKCS1_2048_8192_SHA512),
        "PS256" => rsa(&signature::RSA_PSS_2048_8192_SHA256),
        "PS384" => rsa(&signature::RSA_PSS_2048_8192_SHA384),
        "PS512" => rsa(&signature::RSA_PSS_2048_8192_SHA512),
        "ES256" => ec(&signature::ECDSA_P256_SHA256_FIXED, "P-256"),
        "ES384" => ec(&signature::ECDSA_P384_SHA384_FIXED, "P-384"),
        other => {
            return Err(format!(
                "a private key JWT must use an RS, PS or ES algorithm, not '{other}'"
            ));
        }
    })
}
