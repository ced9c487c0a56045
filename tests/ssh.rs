//! `revert --push` over SSH, against a real OpenSSH server on loopback, with a key file.

mod common;

use std::process::Command;

use common::kustomization;
use common::ssh_server::SshServer;

#[test]
fn pushes_over_ssh_with_a_key_file_and_checks_the_host_key() {
    let server = SshServer::start();
    // The GitOps repository on the server.
    let (dir, mut w) = common::repo();
    let k = "apps/web/kustomization.yaml";
    w.write(k, &kustomization(&[("ghcr.io/acme/web", "1.0.0")]));
    w.commit("init").unwrap();
    w.edit(k, "1.0.0", "1.1.0");
    w.commit("bump").unwrap();
    let bare = server.dir.path().join("gitops.git");
    common::git_server::run_git(
        None,
        &[
            "clone",
            "-q",
            "--bare",
            dir.path().to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );

    let home = server.home_trusting_it();
    let cache = tempfile::tempdir().unwrap();
    let run = |home: &std::path::Path, key: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_revertbot"))
            // The demo's images were never pushed: no registry is asked.
            .env("REVERTBOT_REGISTRY_CHECK", "false")
            .args([
                "revert",
                "--repo",
                &server.url(&bare),
                "--image",
                "ghcr.io/acme/web:1.1.0",
                "--push",
                "--timeout",
                "20",
            ])
            .arg("--cache-dir")
            .arg(cache.path())
            .arg("--ssh-key")
            .arg(key)
            .env("HOME", home)
            .env_remove("SSH_AUTH_SOCK")
            .output()
            .unwrap()
    };

    let out = run(home.path(), &server.client_key());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let branches = common::git_server::run_git(
        Some(&bare),
        &["for-each-ref", "--format=%(refname:short)", "refs/heads"],
    );
    assert!(
        branches
            .lines()
            .any(|b| b.starts_with("revertbot/ghcr.io-acme-web-")),
        "{branches}"
    );

    // An unknown host key is refused, as git refuses it.
    let stranger = tempfile::tempdir().unwrap();
    let out = run(stranger.path(), &server.client_key());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("SSH host key is unknown") && stderr.contains("known_hosts"),
        "{stderr}"
    );

    // A key the server does not know fails with one clear line.
    let other = tempfile::tempdir().unwrap();
    let other_key = other.path().join("key");
    let keygen = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other_key)
        .output()
        .unwrap();
    assert!(keygen.status.success());
    let out = run(home.path(), &other_key);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("authentication failed for ssh://"),
        "{stderr}"
    );
}
