//! `tls`: the certificate chain and its key, both or neither.

use super::problems::Problems;
use crate::config::file::TlsFile;
use crate::config::model::Tls;

pub fn tls(file: Option<TlsFile>, p: &mut Problems<'_>) -> Option<Tls> {
    let t = file?;
    match (t.cert_file, t.key_file) {
        (Some(cert_file), Some(key_file)) => Some(Tls {
            cert_file,
            key_file,
        }),
        (None, _) => {
            p.push(
                "tls.cert_file",
                "give the certificate chain's PEM file".into(),
            );
            None
        }
        (_, None) => {
            p.push("tls.key_file", "give the private key's PEM file".into());
            None
        }
    }
}
