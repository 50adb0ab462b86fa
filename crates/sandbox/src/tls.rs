//! HTTPS for the sandbox: a throwaway certificate authority and a certificate for
//! 127.0.0.1 and localhost signed by it, generated at start, and an accept loop that
//! serves the router over TLS. Lets tests prove that runner verifies certificates.

use std::sync::Arc;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// The server's TLS configuration and the PEM of the authority clients must trust.
pub struct TlsMaterial {
    pub ca_pem: String,
    config: Arc<ServerConfig>,
}

fn io_err(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(format!("TLS setup: {e}"))
}

/// Generates the authority and the server certificate.
pub fn generate(client_ca: Option<&str>) -> std::io::Result<TlsMaterial> {
    let ca_key = rcgen::KeyPair::generate().map_err(io_err)?;
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(io_err)?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "runner sandbox test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).map_err(io_err)?;

    let key = rcgen::KeyPair::generate().map_err(io_err)?;
    let params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .map_err(io_err)?;
    let cert = params.signed_by(&key, &ca).map_err(io_err)?;

    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let builder = ServerConfig::builder();
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(pem) => builder.with_client_cert_verifier(client_verifier(pem)?),
    };
    let mut config = builder
        .with_single_cert(vec![cert.der().clone(), ca.der().clone()], key_der)
        .map_err(io_err)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsMaterial {
        ca_pem: ca.pem(),
        config: Arc::new(config),
    })
}

/// Requires client certificates signed by the authorities in `pem` (mutual TLS).
fn client_verifier(
    pem: &str,
) -> std::io::Result<Arc<dyn tokio_rustls::rustls::server::danger::ClientCertVerifier>> {
    use tokio_rustls::rustls::pki_types::CertificateDer;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        roots.add(cert.map_err(io_err)?).map_err(io_err)?;
    }
    tokio_rustls::rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
        .build()
        .map_err(io_err)
}

/// Serves `app` over TLS on `listener` until `stop` fires (or its sender is dropped).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: &TlsMaterial,
    mut stop: oneshot::Receiver<()>,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(tls.config.clone());
    loop {
        let (tcp, _) = tokio::select! {
            accepted = listener.accept() => accepted?,
            _ = &mut stop => return Ok(()),
        };
        let acceptor = acceptor.clone();
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            // A client that rejects our certificate ends the handshake: nothing to do.
            let Ok(stream) = acceptor.accept(tcp).await else {
                return;
            };
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
