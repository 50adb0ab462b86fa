//! The client's TLS configuration. The system's certificate authorities are loaded
//! only when a TLS handshake first needs them: a plain-http run (a sandbox, a local
//! API) never reads the hundreds of files under /etc/ssl/certs.

use std::sync::{Arc, OnceLock};

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

/// How servers' certificates are checked.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// PEM bundles of extra authorities to trust.
    pub ca_pem: Vec<Vec<u8>>,
    /// Accept any certificate.
    pub insecure: bool,
}

impl TlsOptions {
    /// `builder` with these settings applied.
    pub fn apply(&self, builder: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder, String> {
        use rustls::pki_types::pem::PemObject;
        let mut roots = Vec::new();
        for pem in &self.ca_pem {
            let before = roots.len();
            for cert in CertificateDer::pem_slice_iter(pem) {
                roots.push(cert.map_err(|e| format!("cannot read the CA certificate: {e}"))?);
            }
            if roots.len() == before {
                return Err("the CA certificate file holds no PEM certificate".to_string());
            }
        }
        let config = client_config(roots, self.insecure)?;
        Ok(builder.tls_backend_preconfigured(config))
    }
}

/// Builds the rustls configuration for reqwest: platform verification (plus
/// `extra_roots`), or none at all when `insecure`.
pub fn client_config(
    extra_roots: Vec<CertificateDer<'static>>,
    insecure: bool,
) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Verifier {
        provider: provider.clone(),
        insecure,
        extra_roots,
        platform: OnceLock::new(),
    };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Checks servers' certificates with the platform verifier, created on first use, or
/// accepts any certificate with `insecure` (handshake signatures are checked either way).
#[derive(Debug)]
struct Verifier {
    provider: Arc<CryptoProvider>,
    insecure: bool,
    extra_roots: Vec<CertificateDer<'static>>,
    platform: OnceLock<Result<rustls_platform_verifier::Verifier, rustls::Error>>,
}

impl Verifier {
    fn platform(&self) -> Result<&rustls_platform_verifier::Verifier, rustls::Error> {
        self.platform
            .get_or_init(|| {
                rustls_platform_verifier::Verifier::new_with_extra_roots(
                    self.extra_roots.iter().cloned(),
                    self.provider.clone(),
                )
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl ServerCertVerifier for Verifier {
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
        self.platform()?.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
