//! The HTTP client every outgoing call of revertbot's own shares (the GitLab and Gitea forges,
//! the container registries): hyper with rustls, the TLS stack already under octocrab, so there
//! is one. It trusts the system's certificate authorities and, where a setting names one, a
//! self-managed server's own.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;

use crate::error::Error;

/// A client for `http://` and `https://` URLs.
pub type HttpsClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A client that connects within `connect_timeout`, trusting the system's authorities and
/// those of `ca_file` (the file, and the setting that names it, for messages). `what` names
/// the server in messages (`GitLab`, `the registries`).
pub fn client(
    what: &str,
    ca_file: Option<(&Path, &str)>,
    connect_timeout: Duration,
) -> Result<HttpsClient> {
    let roots = roots(ca_file)?;
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| anyhow::anyhow!("TLS for {what}: {e}"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(connect_timeout));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new()).build(https))
}

/// The system's certificate authorities, and those of `ca_file` (named by its setting).
fn roots(ca_file: Option<(&Path, &str)>) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(found.certs);
    if let Some((path, key)) = ca_file {
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| Error::usage(format!("{key}: {}: {e}", path.display())))?;
        let (added, _) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(Error::usage(format!(
                "{key}: {} holds no certificate; give the PEM file of the authority that signed the server's certificate",
                path.display()
            ))
            .into());
        }
    }
    Ok(roots)
}

/// An error and its causes on one line (hyper's errors say little on their own).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    parts.dedup();
    parts.join(": ")
}

/// Percent-encodes a URL query component.
pub fn query_component(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
