//! TLS: a rustls configuration whose certificate verifier loads the platform's roots on the
//! first HTTPS handshake, not at start-up, so a run against plain-http APIs never pays for it.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::http::HttpVersion;
use crate::http::identity::Identity;

/// Builds the client's TLS configuration: platform roots plus `extra_pem`, or no verification
/// at all when `insecure`; offers HTTP/2 and HTTP/1.1 by ALPN, and no client certificate.
pub fn client_config(
    extra_pem: Option<&[u8]>,
    insecure: bool,
) -> Result<rustls::ClientConfig, String> {
    client_config_for(extra_pem, insecure, None, None)
}

/// Builds the client's TLS configuration as [`client_config`] does, presenting `identity` when
/// the server asks for a client certificate, and offering only `version` by ALPN when one is
/// required.
pub fn client_config_for(
    extra_pem: Option<&[u8]>,
    insecure: bool,
    identity: Option<&Identity>,
    version: Option<HttpVersion>,
) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let extra = match extra_pem {
        None => Vec::new(),
        Some(pem) => {
            let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
                .collect::<Result<_, _>>()
                .map_err(|e| format!("cannot read the CA certificates: {e}"))?;
            if certificates.is_empty() {
                return Err("the CA file holds no PEM certificate".into());
            }
            certificates
        }
    };
    let verifier = Arc::new(LazyVerifier {
        algorithms: provider.signature_verification_algorithms,
        provider: Arc::clone(&provider),
        extra,
        insecure,
        inner: OnceLock::new(),
    });
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match identity {
        None => builder.with_no_client_auth(),
        Some(identity) => builder
            .with_client_auth_cert(identity.chain().to_vec(), identity.key())
            .map_err(|e| format!("cannot use the client certificate: {e}"))?,
    };
    config.alpn_protocols = match version {
        None => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        Some(HttpVersion::Http1) => vec![b"http/1.1".to_vec()],
        Some(HttpVersion::Http2) => vec![b"h2".to_vec()],
    };
    Ok(config)
}

/// Verifies with the platform verifier, created on first use.
struct LazyVerifier {
    provider: Arc<CryptoProvider>,
    algorithms: WebPkiSupportedAlgorithms,
    extra: Vec<CertificateDer<'static>>,
    insecure: bool,
    inner: OnceLock<Result<Arc<rustls_platform_verifier::Verifier>, String>>,
}

impl std::fmt::Debug for LazyVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyVerifier")
            .field("insecure", &self.insecure)
            .field("extra_roots", &self.extra.len())
            .finish_non_exhaustive()
    }
}

impl LazyVerifier {
    fn inner(&self) -> Result<&rustls_platform_verifier::Verifier, rustls::Error> {
        self.inner
            .get_or_init(|| {
                rustls_platform_verifier::Verifier::new_with_extra_roots(
                    self.extra.iter().cloned(),
                    Arc::clone(&self.provider),
                )
                .map(Arc::new)
                .map_err(|e| format!("cannot load the system's root certificates: {e}"))
            })
            .as_deref()
            .map_err(|e| rustls::Error::General(e.clone()))
    }
}

impl ServerCertVerifier for LazyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.insecure {
            return Ok(ServerCertVerified::assertion());
        }
        self.inner()?
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
