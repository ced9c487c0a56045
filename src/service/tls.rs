//! Optional TLS for the HTTP server (`tls: {cert_file, key_file}`), with rustls: the acceptor,
//! read once at start-up. Handshakes run in each connection's own task (see
//! [`super::connections`]), so that a slow or stalled client holds up no other connection.

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::Tls;
use crate::error::Error;

/// The server's certificate chain and key, read once at start-up.
pub fn acceptor(tls: &Tls) -> Result<TlsAcceptor> {
    let certs = read_certs(&tls.cert_file)?;
    let key = PrivateKeyDer::from_pem_file(&tls.key_file).map_err(|e| {
        Error::usage(format!(
            "tls.key_file: {}: not a PEM private key: {e}",
            tls.key_file.display()
        ))
    })?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| {
        Error::usage(format!(
            "tls: the certificate and key do not go together: {e}"
        ))
    })?;
    let mut config = config;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| Error::usage(format!("tls.cert_file: {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(Error::usage(format!(
            "tls.cert_file: {}: no certificate in it",
            path.display()
        ))
        .into());
    }
    Ok(certs)
}
