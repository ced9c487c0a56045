//! Signed rollback commits, verified by the real tools: keys made here with Debian's `gpg` and
//! `ssh-keygen`, each rollback checked with `git verify-commit` (a keyring holding the public
//! key for OpenPGP, `gpg.ssh.allowedSignersFile` for SSH); sign-off once; keys that cannot
//! sign refused in one line naming the setting; an unsigned branch from before replaced.

mod common;

use std::path::Path;
use std::process::Command;

use common::signing_keys::*;
use common::{repo, revert_request, rollback, with_image};
use revertbot::gitstore::signing::{self, Format, KeySource};
use revertbot::revert::{CommitSigning, Outcome};

#[test]
fn an_openpgp_signed_rollback_is_verified_by_git_and_signed_off_once() {
    let key = gpg_key("");
    let (dir, _cache, mut req) = bumped();
    let signer = load(&key.secret, None).unwrap();
    assert_eq!(signer.format(), Format::OpenPgp);
    assert_eq!(signer.fingerprint(), key.fingerprint);
    req.commits = signed_by(signer, true);
    let r = rollback(&req);
    assert_eq!(r.outcome, Outcome::Created);
    assert_eq!(r.signed_by.as_deref(), Some(key.fingerprint.as_str()));
    let sha = r.commit.unwrap();
    let home = [("GNUPGHOME", key.home.path())];
    let (ok, out) = git(dir.path(), &["verify-commit", "-v", &sha], &home);
    assert!(ok, "git verify-commit: {out}");
    let (_, shown) = git(dir.path(), &["log", "--show-signature", "-1", &sha], &home);
    assert!(shown.contains("Good signature"), "{shown}");
    let msg = message(dir.path(), &sha);
    assert_eq!(
        msg.matches(&format!("Signed-off-by: {NAME} <{EMAIL}>"))
            .count(),
        1,
        "{msg}"
    );
    assert!(msg.contains("Reverts: "), "{msg}");

    // The same key in another keyring: git refuses a commit whose signature it cannot check.
    let other = gpg_key("");
    let (ok, out) = git(
        dir.path(),
        &["verify-commit", &sha],
        &[("GNUPGHOME", other.home.path())],
    );
    assert!(!ok, "verified with a keyring without the key: {out}");
}

#[test]
fn a_passphrase_protected_openpgp_key_signs_with_its_passphrase_and_not_without() {
    let key = gpg_key("pw");
    let dir = tempfile::tempdir().unwrap();
    let pass = dir.path().join("passphrase");
    std::fs::write(&pass, "pw\n").unwrap();
    let (repo_dir, _cache, mut req) = bumped();
    req.commits = signed_by(load(&key.secret, Some(&pass)).unwrap(), false);
    let sha = rollback(&req).commit.unwrap();
    let (ok, out) = git(
        repo_dir.path(),
        &["verify-commit", &sha],
        &[("GNUPGHOME", key.home.path())],
    );
    assert!(ok, "{out}");
    assert!(!message(repo_dir.path(), &sha).contains("Signed-off-by"));

    std::fs::write(&pass, "wrong\n").unwrap();
    let wants = [
        "cannot be unlocked with the passphrase given",
        "is protected by a passphrase and none is given",
    ];
    for (passphrase, want) in [Some(pass.as_path()), None].into_iter().zip(wants) {
        let err = format!("{:#}", load(&key.secret, passphrase).unwrap_err());
        assert!(err.ends_with(want), "{err}");
        assert!(
            err.starts_with(&format!("git.signing.key_file: {}: ", key.secret.display())),
            "{err}"
        );
        assert!(!err.contains('\n'), "{err}");
    }
}

#[test]
fn an_ssh_signed_rollback_is_verified_by_git() {
    let (keys, key, public) = ssh_key("");
    let (dir, _cache, mut req) = bumped();
    let signer = load(&key, None).unwrap();
    assert_eq!(signer.format(), Format::Ssh);
    assert!(signer.fingerprint().starts_with("SHA256:"));
    req.commits = signed_by(signer, true);
    let r = rollback(&req);
    let sha = r.commit.unwrap();
    assert!(r.signed_by.unwrap().starts_with("SHA256:"));
    let allowed = keys.path().join("allowed_signers");
    std::fs::write(&allowed, format!("{EMAIL} namespaces=\"git\" {public}\n")).unwrap();
    let config = [
        "-c",
        "gpg.format=ssh",
        "-c",
        &format!("gpg.ssh.allowedSignersFile={}", allowed.display()),
    ];
    let (ok, out) = git(
        dir.path(),
        &[&config[..], &["verify-commit", &sha]].concat(),
        &[],
    );
    assert!(ok, "git verify-commit: {out}");
    let (_, shown) = git(
        dir.path(),
        &[&config[..], &["log", "--show-signature", "-1", &sha]].concat(),
        &[],
    );
    assert!(shown.contains("Good \"git\" signature"), "{shown}");
    let msg = message(dir.path(), &sha);
    assert_eq!(msg.matches("Signed-off-by: ").count(), 1, "{msg}");
}

#[test]
fn a_passphrase_protected_ssh_key_is_unlocked_by_its_passphrase_only() {
    let (keys, key, _) = ssh_key("pw");
    let pass = keys.path().join("passphrase");
    std::fs::write(&pass, "pw\n").unwrap();
    let signer = load(&key, Some(&pass)).unwrap();
    let (dir, _cache, mut req) = bumped();
    req.commits = signed_by(signer, false);
    let r = rollback(&req);
    assert!(r.signed_by.is_some());

    std::fs::write(&pass, "wrong\n").unwrap();
    let wants = [
        "cannot be unlocked with the passphrase given",
        "is protected by a passphrase and none is given",
    ];
    for (passphrase, want) in [Some(pass.as_path()), None].into_iter().zip(wants) {
        let err = format!("{:#}", load(&key, passphrase).unwrap_err());
        assert!(err.ends_with(want), "{err}");
        assert!(
            err.starts_with(&format!("git.signing.key_file: {}: ", key.display())),
            "{err}"
        );
        assert!(!err.contains('\n'), "{err}");
    }
    drop(dir);
}

#[test]
fn public_keys_garbage_and_the_wrong_format_are_one_line_naming_the_setting() {
    let gpg = gpg_key("");
    let (keys, ssh, _) = ssh_key("");
    let gpg_public = keys.path().join("public.asc");
    let exported = Command::new("gpg")
        .env("GNUPGHOME", gpg.home.path())
        .args(["--batch", "--armor", "--export"])
        .output()
        .unwrap();
    std::fs::write(&gpg_public, exported.stdout).unwrap();
    let garbage = keys.path().join("garbage");
    std::fs::write(&garbage, "not a key\n").unwrap();
    let cases: [(&Path, Option<Format>, &str); 5] = [
        (&gpg_public, None, "public key"),
        (&ssh.with_extension("pub"), Some(Format::Ssh), "public key"),
        (&garbage, None, "not an ASCII-armoured OpenPGP secret key"),
        (
            &ssh,
            Some(Format::OpenPgp),
            "OpenSSH key, not an OpenPGP one",
        ),
        (
            &gpg.secret,
            Some(Format::Ssh),
            "OpenPGP key, not an OpenSSH one",
        ),
    ];
    for (file, format, want) in cases {
        let err = signing::load(&KeySource {
            format,
            key_file: file,
            key_name: "--signing-key",
            passphrase_file: None,
            passphrase_name: "--signing-passphrase-file",
        })
        .unwrap_err();
        let err = format!("{err:#}");
        assert!(
            err.starts_with(&format!("--signing-key: {}: ", file.display())),
            "{err}"
        );
        assert!(err.contains(want), "{want}: {err}");
        assert!(!err.contains('\n'), "{err}");
    }
}

#[test]
fn an_unsigned_rollback_branch_from_before_is_replaced_once_signing_is_on() {
    let key = gpg_key("");
    let (dir, _cache, mut req) = bumped();
    let unsigned = rollback(&req);
    assert_eq!(unsigned.outcome, Outcome::Created);
    let branch = unsigned.branch.clone().unwrap();

    req.commits = signed_by(load(&key.secret, None).unwrap(), false);
    let signed = rollback(&req);
    assert_eq!(signed.outcome, Outcome::Created, "replaced, not reused");
    assert_eq!(signed.branch.as_deref(), Some(branch.as_str()));
    assert_ne!(signed.commit, unsigned.commit);
    let home = [("GNUPGHOME", key.home.path())];
    let (ok, out) = git(dir.path(), &["verify-commit", &branch], &home);
    assert!(ok, "{out}");

    // Signed as configured now: reused.
    let again = rollback(&req);
    assert_eq!(again.outcome, Outcome::Reused);
    assert_eq!(again.commit, signed.commit);
    assert_eq!(again.signed_by.as_deref(), Some(key.fingerprint.as_str()));
}

#[test]
fn check_config_proves_the_signing_key_and_names_git_signing_key_file() {
    let key = gpg_key("pw");
    let dir = tempfile::tempdir().unwrap();
    let pass = dir.path().join("passphrase");
    let config = dir.path().join("revertbot.yaml");
    let tokens = dir.path().join("tokens");
    private_file(&tokens, "t0ken\n");
    private_file(&key.secret, &std::fs::read_to_string(&key.secret).unwrap());
    let write_config = |passphrase: &str| {
        private_file(&pass, passphrase);
        std::fs::write(
            &config,
            format!(
                "listen: 127.0.0.1:0\ndata_dir: {}\nforge: local\nwebhook: {{bearer_tokens_file: {}}}\nrepos: [{{name: g, url: /srv/git/g}}]\nrules: [{{repo: g, image_label: image}}]\ngit:\n  signing:\n    format: openpgp\n    key_file: {}\n    passphrase_file: {}\n  signoff: true\n",
                dir.path().join("data").display(),
                tokens.display(),
                key.secret.display(),
                pass.display()
            ),
        )
        .unwrap();
    };
    let check_with = |env: &[(&str, &Path)]| {
        let out = Command::new(env!("CARGO_BIN_EXE_revertbot"))
            .args(["check-config", "--config"])
            .arg(&config)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (*k, v.as_os_str())))
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let check = || check_with(&[]);
    write_config("pw\n");
    let (code, stderr) = check();
    assert_eq!(code, 0, "{stderr}");

    write_config("wrong\n");
    let (code, stderr) = check();
    assert_eq!(code, 2, "{stderr}");
    let want = format!("error: git.signing.key_file: {}: ", key.secret.display());
    assert!(stderr.starts_with(&want), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");

    // The environment overrides the file, as for every setting.
    let right = dir.path().join("right-passphrase");
    private_file(&right, "pw\n");
    let (code, stderr) = check_with(&[("REVERTBOT_GIT_SIGNING_PASSPHRASE_FILE", &right)]);
    assert_eq!(code, 0, "{stderr}");
}

/// The rollback with its hold, and the unhold that lifts it, are both signed (SSH) and signed
/// off once; an unsigned unhold branch from before is replaced.
#[test]
fn the_hold_and_the_unhold_are_signed_and_an_unsigned_unhold_branch_is_replaced() {
    use revertbot::gitstore::remote::Source;
    use revertbot::revert::{self, Effects, Target};
    let (keys, key, public) = ssh_key("");
    let (dir, mut w) = repo();
    w.write("apps/podinfo/deployment.yaml", common::flux::DEPLOYMENT)
        .write(
            "clusters/prod/flux-system/podinfo-automation.yaml",
            common::flux::AUTOMATION,
        );
    w.commit("podinfo at 6.5.0").unwrap();
    w.author("fluxcdbot", "fluxcdbot@users.noreply.github.com")
        .edit("apps/podinfo/deployment.yaml", "6.5.0", "6.5.1");
    w.commit("Update from image update automation").unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mut req = with_image(
        revert_request(dir.path().to_str().unwrap(), cache.path()),
        "ghcr.io/stefanprodan/podinfo:6.5.1",
    );
    req.author = (NAME.into(), EMAIL.into());
    req.commits = signed_by(load(&key, None).unwrap(), true);
    let r = rollback(&req);
    assert!(!r.hold.held.is_empty(), "the rollback holds 6.5.1");

    let allowed = keys.path().join("allowed_signers");
    std::fs::write(&allowed, format!("{EMAIL} namespaces=\"git\" {public}\n")).unwrap();
    let allowed_setting = format!("gpg.ssh.allowedSignersFile={}", allowed.display());
    let verify = |sha: &str| {
        git(
            dir.path(),
            &[
                "-c",
                "gpg.format=ssh",
                "-c",
                &allowed_setting,
                "verify-commit",
                sha,
            ],
            &[],
        )
    };
    let rollback_sha = r.commit.clone().unwrap();
    let (ok, out) = verify(&rollback_sha);
    assert!(ok, "{out}");

    // The pull request merges; a run from before signing made the unhold branch unsigned.
    let merged: git2::Oid = rollback_sha.parse().unwrap();
    w.repo
        .reference("refs/heads/main", merged, true, "merge the rollback")
        .unwrap();
    w.checkout(merged).unwrap();
    let t = Target::new(Source::Path(dir.path().to_path_buf()));
    let image = "ghcr.io/stefanprodan/podinfo";
    let mut git_settings = req.git();
    git_settings.commits = CommitSigning::default();
    let unsigned = revert::unhold(&git_settings, &t, image, "6.5.1", Effects::default()).unwrap();
    assert_eq!(unsigned.outcome, Outcome::Created);
    assert!(unsigned.signed_by.is_none());

    let lifted = revert::unhold(&req.git(), &t, image, "6.5.1", Effects::default())
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(lifted.outcome, Outcome::Created, "replaced, not reused");
    assert_eq!(lifted.branch, unsigned.branch);
    assert_ne!(lifted.commit, unsigned.commit);
    let sha = lifted.commit.clone().unwrap();
    let (ok, out) = verify(&sha);
    assert!(ok, "{out}");
    let (ok, out) = verify(lifted.branch.as_deref().unwrap());
    assert!(ok, "the branch is the signed commit: {out}");
    assert_eq!(
        message(dir.path(), &sha).matches("Signed-off-by: ").count(),
        1
    );

    let again = revert::unhold(&req.git(), &t, image, "6.5.1", Effects::default()).unwrap();
    assert_eq!(again.outcome, Outcome::Reused);
    assert_eq!(again.commit, lifted.commit);
}

#[test]
fn an_expired_or_revoked_openpgp_key_is_refused_in_one_line() {
    // Loaded while valid; once it expires, it neither signs nor loads.
    let expiring = gpg_key_expiring("", "seconds=3");
    let signer = load(&expiring.secret, None).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(3100));
    let err = format!("{:#}", signer.sign(b"data").unwrap_err());
    assert!(
        err.starts_with(&format!(
            "the signing key {} expired at ",
            expiring.fingerprint
        )),
        "{err}"
    );
    let err = format!("{:#}", load(&expiring.secret, None).unwrap_err());
    assert!(
        err.starts_with(&format!(
            "git.signing.key_file: {}: key {} expired at ",
            expiring.secret.display(),
            expiring.fingerprint
        )),
        "{err}"
    );

    // gpg keeps a revocation certificate for each key it makes; imported, it revokes the key,
    // and the secret key exported then carries it.
    let revoked = gpg_key("");
    let certificate = revoked
        .home
        .path()
        .join(format!("openpgp-revocs.d/{}.rev", revoked.fingerprint));
    let text = std::fs::read_to_string(certificate).unwrap();
    let armoured = revoked.home.path().join("revocation.asc");
    std::fs::write(&armoured, text.replace(":-----BEGIN", "-----BEGIN")).unwrap();
    let gpg = |args: &[&str]| {
        run(Command::new("gpg")
            .env("GNUPGHOME", revoked.home.path())
            .arg("--batch")
            .args(args))
    };
    gpg(&["--import", armoured.to_str().unwrap()]);
    std::fs::write(&revoked.secret, gpg(&["--armor", "--export-secret-keys"])).unwrap();
    let err = format!("{:#}", load(&revoked.secret, None).unwrap_err());
    assert_eq!(
        err,
        format!(
            "git.signing.key_file: {}: key {} is revoked",
            revoked.secret.display(),
            revoked.fingerprint
        )
    );
}

/// A key whose primary key only certifies signs with its signing subkey, as gpg does.
#[test]
fn an_openpgp_key_with_a_signing_subkey_signs_with_the_subkey() {
    let home = tempfile::Builder::new()
        .prefix("gpg")
        .tempdir_in("/tmp")
        .unwrap();
    let gpg = |args: &[&str]| {
        run(Command::new("gpg")
            .env("GNUPGHOME", home.path())
            .args(["--batch", "--passphrase", ""])
            .args(args))
    };
    gpg(&[
        "--quick-gen-key",
        &format!("{NAME} <{EMAIL}>"),
        "ed25519",
        "cert",
        "never",
    ]);
    let colons = gpg(&["--with-colons", "--list-secret-keys"]);
    let primary = colons
        .lines()
        .find_map(|l| l.strip_prefix("fpr:"))
        .map(|l| l.trim_matches(':').to_string())
        .unwrap();
    gpg(&["--quick-add-key", &primary, "ed25519", "sign", "never"]);
    let subkey = gpg(&["--with-colons", "--list-secret-keys"])
        .lines()
        .filter_map(|l| l.strip_prefix("fpr:"))
        .map(|l| l.trim_matches(':').to_string())
        .find(|f| *f != primary)
        .unwrap();
    let secret = home.path().join("secret.asc");
    std::fs::write(&secret, gpg(&["--armor", "--export-secret-keys"])).unwrap();

    let signer = load(&secret, None).unwrap();
    assert_eq!(signer.fingerprint(), subkey);
    let (dir, _cache, mut req) = bumped();
    req.commits = signed_by(signer, false);
    let sha = rollback(&req).commit.unwrap();
    let (ok, out) = git(
        dir.path(),
        &["verify-commit", "-v", &sha],
        &[("GNUPGHOME", home.path())],
    );
    assert!(ok, "{out}");
    let _ = Command::new("gpgconf")
        .args(["--kill", "gpg-agent"])
        .env("GNUPGHOME", home.path())
        .status();
}

/// `revert --signing-key --signoff` from the command line: the format told from the file, the
/// key's fingerprint said, the commit verified by git and signed off once.
#[test]
fn revert_signs_from_the_command_line() {
    let (keys, key, public) = ssh_key("");
    let (dir, cache, _) = bumped();
    let out = Command::new(env!("CARGO_BIN_EXE_revertbot"))
        .args(["revert", "--repo"])
        .arg(dir.path())
        .args(["--image", "ghcr.io/acme/web:1.1.0", "--cache-dir"])
        .arg(cache.path())
        .args([
            "--author-name",
            NAME,
            "--author-email",
            EMAIL,
            "--signing-key",
        ])
        .arg(&key)
        .arg("--signoff")
        .env_remove("REVERTBOT_SIGNING_KEY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fingerprint = load(&key, None).unwrap().fingerprint().to_string();
    assert!(
        stdout.contains(&format!("\nsigned    {fingerprint}\n")),
        "{stdout}"
    );
    let sha = stdout
        .lines()
        .find_map(|l| l.strip_prefix("commit    "))
        .unwrap()
        .trim()
        .to_string();
    let allowed = keys.path().join("allowed_signers");
    std::fs::write(&allowed, format!("{EMAIL} namespaces=\"git\" {public}\n")).unwrap();
    let (ok, shown) = git(
        dir.path(),
        &[
            "-c",
            "gpg.format=ssh",
            "-c",
            &format!("gpg.ssh.allowedSignersFile={}", allowed.display()),
            "verify-commit",
            &sha,
        ],
        &[],
    );
    assert!(ok, "{shown}");
    assert_eq!(
        message(dir.path(), &sha).matches("Signed-off-by: ").count(),
        1
    );

    // A key that cannot sign stops the command before it does anything.
    let out = Command::new(env!("CARGO_BIN_EXE_revertbot"))
        .args(["revert", "--repo"])
        .arg(dir.path())
        .args(["--image", "ghcr.io/acme/web:1.1.0", "--cache-dir"])
        .arg(cache.path())
        .arg("--signing-key")
        .arg(key.with_extension("pub"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim_end(),
        format!(
            "error: --signing-key: {}: is an SSH public key, not a private key",
            key.with_extension("pub").display()
        )
    );
}
