//! Signing keys made with the real tools, for the signed-commit tests: OpenPGP keys with
//! Debian's `gpg` (in a GnuPG home of their own), OpenSSH keys with `ssh-keygen`; a repository
//! where Flux bumped an image, and git run on it to verify what revertbot signed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use revertbot::gitstore::signing::{self, KeySource, Signer};
use revertbot::revert::CommitSigning;

use super::{kustomization, repo, revert_request, with_image, RevertRequest};

pub const K: &str = "clusters/prod/kustomization.yaml";
pub const NAME: &str = "revertbot";
pub const EMAIL: &str = "revertbot@example.com";

/// A GnuPG home with an ed25519 signing key: (home, the armoured secret key's file, the
/// key's fingerprint). The agent is stopped when the home is dropped.
pub struct Gpg {
    pub home: tempfile::TempDir,
    pub secret: PathBuf,
    pub fingerprint: String,
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .args(["--kill", "gpg-agent"])
            .env("GNUPGHOME", self.home.path())
            .status();
    }
}

pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn gpg_key(passphrase: &str) -> Gpg {
    gpg_key_expiring(passphrase, "never")
}

/// [`gpg_key`], expiring as `gpg --quick-gen-key` reads it (`never`, `seconds=N`).
pub fn gpg_key_expiring(passphrase: &str, expire: &str) -> Gpg {
    // In /tmp: the agent's socket path must stay short.
    let home = tempfile::Builder::new()
        .prefix("gpg")
        .tempdir_in("/tmp")
        .unwrap();
    let gpg = |args: &[&str]| {
        let mut c = Command::new("gpg");
        c.env("GNUPGHOME", home.path())
            .args([
                "--batch",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                passphrase,
            ])
            .args(args);
        run(&mut c)
    };
    gpg(&[
        "--quick-gen-key",
        &format!("{NAME} <{EMAIL}>"),
        "ed25519",
        "sign",
        expire,
    ]);
    let secret = home.path().join("secret.asc");
    std::fs::write(&secret, gpg(&["--armor", "--export-secret-keys"])).unwrap();
    let fingerprint = gpg(&["--with-colons", "--list-secret-keys"])
        .lines()
        .find_map(|l| l.strip_prefix("fpr:"))
        .map(|l| l.trim_matches(':').to_string())
        .unwrap();
    Gpg {
        home,
        secret,
        fingerprint,
    }
}

/// An OpenSSH ed25519 key: (its directory, the private key's file, the public key's line).
pub fn ssh_key(passphrase: &str) -> (tempfile::TempDir, PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id_ed25519");
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-C", EMAIL, "-N", passphrase, "-f"])
        .arg(&key));
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    (dir, key, public.trim().to_string())
}

pub fn private_file(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

pub fn load(key_file: &Path, passphrase_file: Option<&Path>) -> anyhow::Result<Signer> {
    signing::load(&KeySource {
        format: None,
        key_file,
        key_name: "git.signing.key_file",
        passphrase_file,
        passphrase_name: "git.signing.passphrase_file",
    })
}

/// A repository where Flux bumped web from 1.0.0 to 1.1.0, and a request to roll it back.
pub fn bumped() -> (tempfile::TempDir, tempfile::TempDir, RevertRequest) {
    let (dir, mut w) = repo();
    w.write(K, &kustomization(&[("ghcr.io/acme/web", "1.0.0")]));
    w.commit("init").unwrap();
    w.author("fluxcdbot", "fluxcdbot@users.noreply.github.com")
        .edit(K, "1.0.0", "1.1.0");
    w.commit("Update from image update automation").unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mut req = with_image(
        revert_request(dir.path().to_str().unwrap(), cache.path()),
        "ghcr.io/acme/web:1.1.0",
    );
    req.author = (NAME.into(), EMAIL.into());
    (dir, cache, req)
}

pub fn signed_by(signer: Signer, signoff: bool) -> CommitSigning {
    CommitSigning {
        signer: Some(Arc::new(signer)),
        signoff,
    }
}

/// `git ARGS` in `dir` with `env`: (success, stdout + stderr).
pub fn git(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> (bool, String) {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_os_str())))
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

pub fn message(dir: &Path, sha: &str) -> String {
    git(dir, &["log", "-1", "--format=%B", sha], &[]).1
}
