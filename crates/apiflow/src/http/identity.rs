//! Client identities for mutual TLS: a certificate chain and its private key read from PEM, the
//! key decrypted when it is encrypted PKCS #8, and checked to belong to the certificate.

use std::sync::Arc;

use rustls::pki_types::pem::{PemObject as _, SectionKind};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest as _, Sha256};

/// A client certificate chain with its private key, ready to present in a TLS handshake.
#[derive(Clone)]
pub struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: Arc<PrivateKeyDer<'static>>,
    id: [u8; 32],
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("certificates", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl PartialEq for Identity {
    fn eq(&self, other: &Identity) -> bool {
        self.id == other.id
    }
}

impl Eq for Identity {}

/// What is wrong with a certificate, a key or a passphrase, and which of them it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The certificate file.
    Cert(String),
    /// The key file.
    Key(String),
    /// The passphrase (missing, not needed, or wrong).
    Passphrase(String),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Cert(why) | Problem::Key(why) | Problem::Passphrase(why) => f.write_str(why),
        }
    }
}

/// A private key as read from its file: usable as it is, or encrypted PKCS #8.
#[derive(Clone)]
pub enum Key {
    /// A PKCS #1, SEC1 or PKCS #8 key.
    Plain(Arc<PrivateKeyDer<'static>>),
    /// An `ENCRYPTED PRIVATE KEY`: DER of PKCS #8's `EncryptedPrivateKeyInfo`.
    Encrypted(Vec<u8>),
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Key::Plain(_) => "Key::Plain(…)",
            Key::Encrypted(_) => "Key::Encrypted(…)",
        })
    }
}

/// Reads the certificates of a PEM file: the client's own first, then any intermediates.
pub fn read_chain(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, Problem> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|e| Problem::Cert(format!("it is not a PEM certificate file: {e}")))?;
    if chain.is_empty() {
        return Err(Problem::Cert(
            "it holds no `BEGIN CERTIFICATE` block".to_owned(),
        ));
    }
    Ok(chain)
}

/// Reads the private key of a PEM file, encrypted or not.
pub fn read_key(pem: &[u8]) -> Result<Key, Problem> {
    let text = String::from_utf8_lossy(pem);
    if text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(Problem::Key(
            "the key is encrypted in OpenSSL's legacy format, which apiflow does not read; \
             convert it to encrypted PKCS #8 with `openssl pkcs8 -topk8 -v2 aes-256-cbc -in KEY -out NEW`"
                .to_owned(),
        ));
    }
    if let Some(start) = text.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        let end_marker = "-----END ENCRYPTED PRIVATE KEY-----";
        let Some(end) = text[start..].find(end_marker) else {
            return Err(Problem::Key(
                "the `ENCRYPTED PRIVATE KEY` block has no end line".to_owned(),
            ));
        };
        let block = &text[start..start + end + end_marker.len()];
        let (_, der) = pkcs8::der::pem::decode_vec(block.as_bytes())
            .map_err(|e| Problem::Key(format!("the encrypted key is not valid PEM: {e}")))?;
        pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice())
            .map_err(|e| Problem::Key(format!("the encrypted key is not PKCS #8: {e}")))?;
        return Ok(Key::Encrypted(der));
    }
    let mut found = None;
    for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(pem) {
        let (kind, der) =
            section.map_err(|e| Problem::Key(format!("it is not a PEM key file: {e}")))?;
        let key = match kind {
            SectionKind::PrivateKey => PrivateKeyDer::Pkcs8(der.into()),
            SectionKind::RsaPrivateKey => PrivateKeyDer::Pkcs1(der.into()),
            SectionKind::EcPrivateKey => PrivateKeyDer::Sec1(der.into()),
            _ => continue,
        };
        if found.is_some() {
            return Err(Problem::Key(
                "it holds more than one private key; keep only the certificate's".to_owned(),
            ));
        }
        found = Some(key);
    }
    found.map(|key| Key::Plain(Arc::new(key))).ok_or_else(|| {
        Problem::Key(
            "it holds no private key (`BEGIN PRIVATE KEY`, `BEGIN RSA PRIVATE KEY`, \
             `BEGIN EC PRIVATE KEY` or `BEGIN ENCRYPTED PRIVATE KEY`)"
                .to_owned(),
        )
    })
}

impl Key {
    /// Tells whether the key needs a passphrase.
    pub fn is_encrypted(&self) -> bool {
        matches!(self, Key::Encrypted(_))
    }

    /// Returns the usable key, decrypting it with `passphrase` when it is encrypted.
    pub fn unlock(&self, passphrase: Option<&str>) -> Result<Arc<PrivateKeyDer<'static>>, Problem> {
        match (self, passphrase) {
            (Key::Plain(key), None) => Ok(Arc::clone(key)),
            (Key::Plain(_), Some(_)) => Err(Problem::Passphrase(
                "a passphrase is given but the key is not encrypted".to_owned(),
            )),
            (Key::Encrypted(_), None) => Err(Problem::Passphrase(
                "the key is encrypted and no passphrase is given".to_owned(),
            )),
            (Key::Encrypted(der), Some(passphrase)) => {
                let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice())
                    .map_err(|e| Problem::Key(format!("the encrypted key is not PKCS #8: {e}")))?;
                // A wrong passphrase shows as bad padding or as bytes that are not a key.
                let wrong =
                    || Problem::Passphrase("the passphrase does not decrypt the key".to_owned());
                let document = info.decrypt(passphrase.as_bytes()).map_err(|_| wrong())?;
                pkcs8::PrivateKeyInfo::try_from(document.as_bytes()).map_err(|_| wrong())?;
                Ok(Arc::new(PrivateKeyDer::Pkcs8(
                    document.as_bytes().to_vec().into(),
                )))
            }
        }
    }
}

impl Identity {
    /// Pairs a chain with its key, checking that the key is the certificate's and of a kind
    /// TLS can sign with (RSA, ECDSA P-256/P-384, Ed25519).
    pub fn new(
        chain: Vec<CertificateDer<'static>>,
        key: Arc<PrivateKeyDer<'static>>,
    ) -> Result<Identity, Problem> {
        let provider = rustls::crypto::ring::default_provider();
        let signing = provider
            .key_provider
            .load_private_key(key.clone_key())
            .map_err(|_| {
                Problem::Key(
                    "the key is not an RSA, ECDSA (P-256, P-384) or Ed25519 key".to_owned(),
                )
            })?;
        let certified = rustls::sign::CertifiedKey::new(chain.clone(), signing);
        match certified.keys_match() {
            Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
            Err(_) => {
                return Err(Problem::Key(
                    "the key does not belong to the certificate".to_owned(),
                ));
            }
        }
        let mut hash = Sha256::new();
        for certificate in &chain {
            hash.update((certificate.len() as u64).to_be_bytes());
            hash.update(certificate.as_ref());
        }
        hash.update(key.secret_der());
        Ok(Identity {
            chain,
            key,
            id: hash.finalize().into(),
        })
    }

    /// Reads, decrypts and pairs a certificate file's and a key file's contents.
    pub fn from_pem(
        cert_pem: &[u8],
        key_pem: &[u8],
        passphrase: Option<&str>,
    ) -> Result<Identity, Problem> {
        let chain = read_chain(cert_pem)?;
        let key = read_key(key_pem)?.unlock(passphrase)?;
        Identity::new(chain, key)
    }

    /// Returns what tells identities apart without holding the key: a hash of both.
    pub fn id(&self) -> [u8; 32] {
        self.id
    }

    /// Returns the certificate chain.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// Returns a copy of the private key.
    pub fn key(&self) -> PrivateKeyDer<'static> {
        self.key.clone_key()
    }
}

#[cfg(test)]
mod tests {
    use super::{Identity, Problem, read_key};

    fn data(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/../../tests/data/mtls/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn rsa_ec_and_ed25519_keys_pair_with_their_certificates() {
        for name in ["rsa", "ec", "ed25519"] {
            let pem = |ext: &str| data(&format!("{name}.{ext}"));
            let identity = Identity::from_pem(&pem("pem"), &pem("key"), None);
            assert!(identity.is_ok(), "{name}: {identity:?}");
        }
    }

    #[test]
    fn an_encrypted_key_opens_with_its_passphrase_only() {
        let (cert, key) = (data("ec.pem"), data("ec-encrypted.key"));
        let plain = Identity::from_pem(&cert, &data("ec.key"), None).unwrap();
        let opened = Identity::from_pem(&cert, &key, Some("correct horse")).unwrap();
        assert_eq!(opened, plain);
        assert_eq!(
            Identity::from_pem(&cert, &key, Some("wrong")),
            Err(Problem::Passphrase(
                "the passphrase does not decrypt the key".into()
            ))
        );
        assert_eq!(
            Identity::from_pem(&cert, &key, None),
            Err(Problem::Passphrase(
                "the key is encrypted and no passphrase is given".into()
            ))
        );
        assert!(read_key(&key).unwrap().is_encrypted());
    }

    #[test]
    fn a_key_of_another_certificate_is_refused() {
        assert_eq!(
            Identity::from_pem(&data("ec.pem"), &data("untrusted.key"), None),
            Err(Problem::Key(
                "the key does not belong to the certificate".into()
            ))
        );
        assert_eq!(
            Identity::from_pem(&data("rsa.pem"), &data("ed25519.key"), None),
            Err(Problem::Key(
                "the key does not belong to the certificate".into()
            ))
        );
    }

    #[test]
    fn files_of_the_wrong_kind_are_named() {
        assert!(matches!(
            Identity::from_pem(&data("ec.key"), &data("ec.key"), None),
            Err(Problem::Cert(_))
        ));
        assert!(matches!(
            Identity::from_pem(&data("ec.pem"), &data("ec.pem"), None),
            Err(Problem::Key(_))
        ));
        assert!(matches!(
            Identity::from_pem(b"", b"", None),
            Err(Problem::Cert(_))
        ));
    }
}
