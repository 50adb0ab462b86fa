//! The client's TLS configuration. The system's certificate authorities are loaded
//! only when a TLS handshake first needs them: a plain-http run (a sandbox, a local
//! API) never reads the hundreds of files under /etc/ssl/certs.

use std::sync::{Arc, OnceLock};

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

/// How connections are made: how servers' certificates are checked, the client's
/// own certificate, and the proxy. The API's client and every OAuth2 endpoint's are
/// built from the same options.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// PEM bundles of extra authorities to trust.
    pub ca_pem: Vec<Vec<u8>>,
    /// Accept any certificate.
    pub insecure: bool,
    /// The client certificate presented to servers that ask for one (mutual TLS).
    pub client_identity: Option<ClientIdentity>,
    /// `http.proxy`.
    pub proxy: super::proxy::ProxySetting,
}

/// A client certificate chain and its private key, both PEM.
#[derive(Clone)]
pub struct ClientIdentity {
    pub cert_pem: Vec<u8>,
    pub key_pem: crate::secret::Secret,
    /// Where they were read from (what `--curl` shows).
    pub source: IdentitySource,
}

/// The files a client certificate came from.
#[derive(Clone)]
pub enum IdentitySource {
    /// A PEM certificate (chain) and a PEM key.
    Pem {
        cert_file: std::path::PathBuf,
        key_file: std::path::PathBuf,
    },
    /// A PKCS#12 file and its password (empty: none).
    Pkcs12 {
        file: std::path::PathBuf,
        password: crate::secret::Secret,
    },
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientIdentity(…)")
    }
}

impl ClientIdentity {
    /// Whether the certificate and key parse: `(true, why)` blames the key,
    /// `(false, why)` the certificate.
    pub fn check(&self) -> Result<(), (bool, String)> {
        self.parse()
            .map(|_| ())
            .map_err(|why| (why.starts_with("cannot read the client key"), why))
    }

    /// The certificate chain and key, parsed; a message naming what is wrong otherwise.
    fn parse(&self) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
        use rustls::pki_types::pem::PemObject;
        let certs = CertificateDer::pem_slice_iter(&self.cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("cannot read the client certificate: {e}"))?;
        if certs.is_empty() {
            return Err("the client certificate file holds no PEM certificate".to_string());
        }
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.expose().as_bytes())
            .map_err(|e| format!("cannot read the client key (PEM PKCS#8, PKCS#1 or SEC1): {e}"))?;
        Ok((certs, key))
    }
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
        let identity = match &self.client_identity {
            Some(id) => Some(id.parse()?),
            None => None,
        };
        let config = client_config(roots, self.insecure, identity)?;
        let builder = self.proxy.apply(builder)?;
        Ok(builder.tls_backend_preconfigured(config))
    }
}

/// A client certificate chain and its key, parsed.
pub type Identity = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

/// Builds the rustls configuration for reqwest: platform verification (plus
/// `extra_roots`), or none at all when `insecure`; `identity` is presented to
/// servers that ask for a client certificate.
pub fn client_config(
    extra_roots: Vec<CertificateDer<'static>>,
    insecure: bool,
    identity: Option<Identity>,
) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Verifier {
        provider: provider.clone(),
        insecure,
        extra_roots,
        platform: OnceLock::new(),
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let mut config = match identity {
        Some((certs, key)) => builder
            .with_client_auth_cert(certs, key)
            .map_err(|e| format!("the client certificate and key do not go together: {e}"))?,
        None => builder.with_no_client_auth(),
    };
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
