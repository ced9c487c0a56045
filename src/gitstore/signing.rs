//! Signed commits: the key a deployment signs its commits with, loaded once, and the commit
//! written with a `gpgsig` header that `git verify-commit` accepts — OpenPGP (what git makes
//! with `gpg.format=openpgp`) or SSH (`gpg.format=ssh`: an `SSHSIG` in the namespace `git`).
//!
//! The signing is done in Rust, never by running `gpg` or `ssh-keygen`: the service's image
//! needs neither, no agent or keyring has to be set up in a container, and a key that cannot
//! sign is found at start-up rather than at the first rollback. OpenPGP is `pgp` (rPGP): pure
//! Rust, reads the ASCII-armoured secret keys `gpg --export-secret-keys --armor` writes,
//! including passphrase-protected ones, and makes detached signatures, which is all a commit
//! needs (sequoia-openpgp would bring nettle or OpenSSL). SSH is RustCrypto's `ssh-key`
//! (stable 0.6 line): it reads OpenSSH private keys, encrypted ones too, and writes the
//! `SSHSIG` armour git verifies.

use std::fmt;
use std::io::Cursor;
use std::path::Path;

use anyhow::{anyhow, Context, Result};
use git2::{Commit, Oid, Repository, Signature, Tree};
use pgp::composed::{ArmorOptions, Deserializable, DetachedSignature, SignedSecretKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::types::{KeyDetails, Password};
use ssh_key::{HashAlg, LineEnding, PrivateKey, SshSig};

use crate::error::Error;

/// The namespace git signs and verifies commits in (`gpg.ssh` signatures).
const SSH_NAMESPACE: &str = "git";

/// How OpenSSH's private key files begin; anything else is taken for OpenPGP.
const OPENSSH_PRIVATE: &str = "-----BEGIN OPENSSH PRIVATE KEY-----";

/// How an SSH public key's line begins (`ssh-ed25519`, `ecdsa-sha2-nistp256`, `sk-…`).
const SSH_PUBLIC: [&str; 3] = ["ssh-", "ecdsa-", "sk-"];

/// What kind of signature a commit gets: git's `gpg.format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    OpenPgp,
    Ssh,
}

impl Format {
    /// `openpgp` or `ssh`, as the configuration spells them.
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "openpgp" => Some(Format::OpenPgp),
            "ssh" => Some(Format::Ssh),
            _ => None,
        }
    }

    /// The format a key file is in, from how it begins: an OpenSSH private key (or, given by
    /// mistake, an SSH public key, so that the error says so) is `ssh`, anything else
    /// `openpgp`.
    pub fn of_key(key: &[u8]) -> Format {
        let text = String::from_utf8_lossy(key);
        let text = text.trim_start();
        if text.starts_with(OPENSSH_PRIVATE) || SSH_PUBLIC.iter().any(|p| text.starts_with(p)) {
            Format::Ssh
        } else {
            Format::OpenPgp
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::OpenPgp => "openpgp",
            Format::Ssh => "ssh",
        }
    }
}

/// A key able to sign, loaded and proven once.
pub struct Signer {
    key: Key,
    fingerprint: String,
}

enum Key {
    OpenPgp {
        key: Box<SignedSecretKey>,
        /// Which key signs: `None` the primary key, else this secret subkey.
        subkey: Option<usize>,
        password: Password,
        /// When the key expires (seconds since the epoch): a service running past it stops
        /// signing rather than make commits git calls signed by an expired key.
        expires: Option<u64>,
    },
    Ssh(Box<PrivateKey>),
}

impl fmt::Debug for Signer {
    // The key stays out of logs and panics: only what it is and whose.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("format", &self.format().name())
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

impl Signer {
    /// Reads a key (`key`: the file's bytes) and proves it signs, by signing a probe and
    /// verifying it: a wrong passphrase, a public key, an expired or revoked key, or a file of
    /// the other format is an error here, one line, which the caller prefixes with the setting.
    pub fn new(format: Format, key: &[u8], passphrase: Option<&[u8]>) -> Result<Signer, String> {
        let signer = match format {
            Format::OpenPgp => openpgp(key, passphrase)?,
            Format::Ssh => ssh(key, passphrase)?,
        };
        let probe = b"revertbot signing probe\n";
        let signature = signer
            .sign(probe)
            .map_err(|e| format!("cannot sign with it: {e:#}"))?;
        if !signer.verifies(signature.as_bytes(), probe) {
            return Err("its signature does not verify with its own public key".into());
        }
        Ok(signer)
    }

    pub fn format(&self) -> Format {
        match self.key {
            Key::OpenPgp { .. } => Format::OpenPgp,
            Key::Ssh(_) => Format::Ssh,
        }
    }

    /// The signing key's fingerprint: upper-case hex for OpenPGP (as `gpg` and the forges
    /// show it), `SHA256:…` for SSH (as `ssh-keygen -l` does).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// An armoured detached signature of `data` (`-----BEGIN PGP SIGNATURE-----` or
    /// `-----BEGIN SSH SIGNATURE-----`), as git puts in a commit's `gpgsig` header.
    pub fn sign(&self, data: &[u8]) -> Result<String> {
        match &self.key {
            Key::OpenPgp {
                key,
                subkey,
                password,
                expires,
            } => {
                if let Some(expiry) = expires.filter(|e| *e <= now()) {
                    return Err(anyhow!(
                        "the signing key {} expired at {}",
                        self.fingerprint,
                        rfc3339(expiry)
                    ));
                }
                let signature = match subkey {
                    None => DetachedSignature::sign_binary_data(
                        rand::thread_rng(),
                        &key.primary_key,
                        password,
                        HashAlgorithm::Sha256,
                        data,
                    ),
                    Some(i) => DetachedSignature::sign_binary_data(
                        rand::thread_rng(),
                        &key.secret_subkeys[*i].key,
                        password,
                        HashAlgorithm::Sha256,
                        data,
                    ),
                }
                .map_err(|e| anyhow!("{e}"))?;
                signature
                    .to_armored_string(ArmorOptions::default())
                    .map_err(|e| anyhow!("{e}"))
            }
            Key::Ssh(key) => key
                .sign(SSH_NAMESPACE, HashAlg::Sha512, data)
                .and_then(|s| s.to_pem(LineEnding::LF))
                .map_err(|e| anyhow!("{e}")),
        }
    }

    /// Whether `signature` (armoured) is this key's signature of `data`.
    pub fn verifies(&self, signature: &[u8], data: &[u8]) -> bool {
        match &self.key {
            Key::OpenPgp { key, subkey, .. } => {
                let Ok((signature, _)) =
                    DetachedSignature::from_armor_single(Cursor::new(signature))
                else {
                    return false;
                };
                match subkey {
                    None => signature.verify(key.primary_key.public_key(), data),
                    Some(i) => signature.verify(key.secret_subkeys[*i].key.public_key(), data),
                }
                .is_ok()
            }
            Key::Ssh(key) => SshSig::from_pem(signature)
                .and_then(|s| key.public_key().verify(SSH_NAMESPACE, data, &s))
                .is_ok(),
        }
    }

    /// Whether the commit `id` carries this key's signature.
    pub fn signed(&self, repo: &Repository, id: Oid) -> bool {
        match repo.extract_signature(&id, Some("gpgsig")) {
            Ok((signature, data)) => self.verifies(&signature, &data),
            Err(_) => false,
        }
    }
}

/// Writes a commit, signed when `signer` is given, and returns its id; like
/// `Repository::commit(None, …)` it updates no reference.
pub fn commit(
    repo: &Repository,
    signer: Option<&Signer>,
    author: &Signature<'_>,
    committer: &Signature<'_>,
    message: &str,
    tree: &Tree<'_>,
    parents: &[&Commit<'_>],
) -> Result<Oid> {
    let Some(signer) = signer else {
        return Ok(repo.commit(None, author, committer, message, tree, parents)?);
    };
    let buffer = repo.commit_create_buffer(author, committer, message, tree, parents)?;
    let signature = signer.sign(&buffer).context("cannot sign the commit")?;
    let text = std::str::from_utf8(&buffer).context("the commit is not UTF-8")?;
    Ok(repo.commit_signed(text, &signature, Some("gpgsig"))?)
}

fn openpgp(key: &[u8], passphrase: Option<&[u8]>) -> Result<Signer, String> {
    let text = String::from_utf8_lossy(key);
    if text.contains("BEGIN PGP PUBLIC KEY BLOCK") {
        return Err("is an OpenPGP public key, not a secret key".into());
    }
    if text.trim_start().starts_with(OPENSSH_PRIVATE) {
        return Err("is an OpenSSH key, not an OpenPGP one (its format is ssh)".into());
    }
    let (key, _) = SignedSecretKey::from_armor_single(Cursor::new(key))
        .map_err(|e| format!("is not an ASCII-armoured OpenPGP secret key: {e}"))?;
    key.verify_bindings()
        .map_err(|e| format!("has a self-signature that does not verify: {e}"))?;
    if !key.details.revocation_signatures.is_empty() {
        return Err(format!(
            "key {:X} is revoked",
            key.primary_key.public_key().fingerprint()
        ));
    }
    let expires = expires_at(&key);
    if let Some(expiry) = expires.filter(|e| *e <= now()) {
        return Err(format!(
            "key {:X} expired at {}",
            key.primary_key.public_key().fingerprint(),
            rfc3339(expiry)
        ));
    }
    let subkey = signing_key(&key)?;
    let fingerprint = match subkey {
        None => key.primary_key.public_key().fingerprint(),
        Some(i) => key.secret_subkeys[i].key.public_key().fingerprint(),
    };
    let password = Password::from(passphrase.map(trim_newline).unwrap_or_default());
    let (encrypted, unlocked) = match subkey {
        None => {
            let k = &key.primary_key;
            (
                k.secret_params().is_encrypted(),
                k.unlock(&password, |_, _| Ok(())),
            )
        }
        Some(i) => {
            let k = &key.secret_subkeys[i].key;
            (
                k.secret_params().is_encrypted(),
                k.unlock(&password, |_, _| Ok(())),
            )
        }
    };
    if encrypted && passphrase.is_none() {
        return Err("is protected by a passphrase and none is given".into());
    }
    if !matches!(unlocked, Ok(Ok(()))) {
        return Err("cannot be unlocked with the passphrase given".into());
    }
    Ok(Signer {
        fingerprint: format!("{fingerprint:X}"),
        key: Key::OpenPgp {
            key: Box::new(key),
            subkey,
            password,
            expires,
        },
    })
}

/// The system's time, in seconds since the epoch: a signature made now carries it, so the
/// key's life is checked against the same clock.
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn rfc3339(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map_or(secs.to_string(), |t| {
            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        })
}

/// When the primary key expires, from its newest self-signature that says (`None`: never).
fn expires_at(key: &SignedSecretKey) -> Option<u64> {
    let created = u64::from(key.primary_key.public_key().created_at().as_secs());
    key.details
        .users
        .iter()
        .flat_map(|u| &u.signatures)
        .chain(&key.details.direct_signatures)
        .max_by_key(|s| s.created().map(|t| t.as_secs()))
        .and_then(|s| s.key_expiration_time())
        .filter(|d| d.as_secs() != 0)
        .map(|d| created + u64::from(d.as_secs()))
}

/// The key that signs: the primary key when it may (its self-signature's flags say so, or
/// says nothing), else the first secret subkey bound for signing.
fn signing_key(key: &SignedSecretKey) -> Result<Option<usize>, String> {
    let primary_signs = key
        .details
        .users
        .iter()
        .flat_map(|u| &u.signatures)
        .chain(&key.details.direct_signatures)
        .max_by_key(|s| s.created().map(|t| t.as_secs()))
        .is_none_or(|s| {
            let flags = s.key_flags();
            flags.sign() || !(flags.certify() || flags.encrypt_comms() || flags.encrypt_storage())
        });
    if primary_signs {
        return Ok(None);
    }
    key.secret_subkeys
        .iter()
        .position(|sub| sub.signatures.iter().any(|s| s.key_flags().sign()))
        .map(Some)
        .ok_or_else(|| "has no key that may sign (no signing flag)".to_string())
}

fn ssh(key: &[u8], passphrase: Option<&[u8]>) -> Result<Signer, String> {
    let text = String::from_utf8_lossy(key);
    if !text.trim_start().starts_with(OPENSSH_PRIVATE) {
        return Err(
            if SSH_PUBLIC.iter().any(|p| text.trim_start().starts_with(p)) {
                "is an SSH public key, not a private key".into()
            } else if text.contains("BEGIN PGP") {
                "is an OpenPGP key, not an OpenSSH one (its format is openpgp)".into()
            } else {
                "is not an OpenSSH private key (-----BEGIN OPENSSH PRIVATE KEY-----)".into()
            },
        );
    }
    let mut key = PrivateKey::from_openssh(key)
        .map_err(|e| format!("is not a readable OpenSSH private key: {e}"))?;
    if key.is_encrypted() {
        let Some(passphrase) = passphrase else {
            return Err("is protected by a passphrase and none is given".into());
        };
        key = key
            .decrypt(trim_newline(passphrase))
            .map_err(|_| "cannot be unlocked with the passphrase given".to_string())?;
    }
    Ok(Signer {
        fingerprint: key.public_key().fingerprint(HashAlg::Sha256).to_string(),
        key: Key::Ssh(Box::new(key)),
    })
}

/// A passphrase file's one line, without the newline an editor or `echo` leaves.
fn trim_newline(passphrase: &[u8]) -> &[u8] {
    let p = passphrase.strip_suffix(b"\n").unwrap_or(passphrase);
    p.strip_suffix(b"\r").unwrap_or(p)
}

/// Where a key comes from, and the names a person set its files by (`git.signing.key_file`,
/// or a command-line flag), for the errors.
pub struct KeySource<'a> {
    /// `None`: from the key file's first line.
    pub format: Option<Format>,
    pub key_file: &'a Path,
    pub key_name: &'a str,
    pub passphrase_file: Option<&'a Path>,
    pub passphrase_name: &'a str,
}

/// Reads the key and its passphrase and proves the key signs: any failure is one line naming
/// the setting and the file.
pub fn load(source: &KeySource<'_>) -> Result<Signer> {
    let key = std::fs::read(source.key_file).map_err(|e| {
        Error::usage(format!(
            "{}: {}: {e}",
            source.key_name,
            source.key_file.display()
        ))
    })?;
    let passphrase = match source.passphrase_file {
        Some(path) => Some(std::fs::read(path).map_err(|e| {
            Error::usage(format!(
                "{}: {}: {e}",
                source.passphrase_name,
                path.display()
            ))
        })?),
        None => None,
    };
    let format = source.format.unwrap_or_else(|| Format::of_key(&key));
    Signer::new(format, &key, passphrase.as_deref()).map_err(|e| {
        Error::usage(format!(
            "{}: {}: {e}",
            source.key_name,
            source.key_file.display()
        ))
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_is_told_from_how_the_key_file_begins() {
        let ssh = b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn...\n";
        assert_eq!(Format::of_key(ssh), Format::Ssh);
        assert_eq!(
            Format::of_key(b"ssh-ed25519 AAAA bot@example.com\n"),
            Format::Ssh
        );
        let pgp = b"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nxVgE...\n";
        assert_eq!(Format::of_key(pgp), Format::OpenPgp);
        assert_eq!(Format::of_key(b"garbage"), Format::OpenPgp);
        assert_eq!(Format::parse("ssh"), Some(Format::Ssh));
        assert_eq!(Format::parse("gpg"), None);
    }

    #[test]
    fn a_passphrase_file_loses_its_line_ending_only() {
        assert_eq!(trim_newline(b"pw\n"), b"pw");
        assert_eq!(trim_newline(b"pw\r\n"), b"pw");
        assert_eq!(trim_newline(b" pw "), b" pw ");
    }
}
