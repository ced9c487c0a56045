//! The secrets the configuration names, read once at start-up (the webhook's bearer tokens
//! file is also re-read when it changes, for rotation without a restart).

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use anyhow::Result;

use crate::config::{Config, Forge, ForgeServer, GitHubAuth, Secret};
use crate::error::Error;
use crate::forge::github::{GitHubAuth as ClientAuth, GitHubSettings, RetryPolicy};
use crate::forge::{ForgeSettings, ServerSettings};
use crate::gitstore::remote::{GitAuth, Network};
use crate::gitstore::signing::{self, Format, KeySource};
use crate::journal::{Location, PostgresSettings};
use crate::pipeline::RegistryCheck;
use crate::registry::{Credentials, OnError, OnMissing, Policy, RegistrySettings};
use crate::revert::CommitSigning;

/// A secret's value: from its file (trailing white space trimmed) or its environment variable.
pub fn read(secret: &Secret, key_path: &str, env: &BTreeMap<String, String>) -> Result<String> {
    match secret {
        Secret::File(path) => read_file(path, key_path),
        Secret::Env(var) => env
            .get(var)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Error::usage(format!("{key_path}: {var} is not set")).into()),
    }
}

pub fn read_file(path: &Path, key_path: &str) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::usage(format!("{key_path}: {}: {e}", path.display())))?;
    let text = text.trim().to_string();
    if text.is_empty() {
        return Err(Error::usage(format!("{key_path}: {} is empty", path.display())).into());
    }
    Ok(text)
}

/// How to reach GitHub, credentials read.
pub fn github(config: &Config, env: &BTreeMap<String, String>) -> Result<Option<GitHubSettings>> {
    let auth = match &config.github.auth {
        None => return Ok(None),
        Some(GitHubAuth::Token(secret)) => {
            ClientAuth::Token(read(secret, "github.token_file", env)?)
        }
        Some(GitHubAuth::App {
            id,
            key_file,
            installation_id,
        }) => ClientAuth::App {
            app_id: *id,
            private_key_pem: std::fs::read(key_file).map_err(|e| {
                Error::usage(format!("github.app.key_file: {}: {e}", key_file.display()))
            })?,
            installation_id: *installation_id,
        },
    };
    Ok(Some(GitHubSettings {
        api_url: config.github.api_url.clone(),
        auth,
        retry: RetryPolicy::default(),
        timeout: config.git.timeout,
    }))
}

/// Every forge: its address, and its credentials where pull requests are opened there. The
/// local forge opens nothing on a forge: their credentials are not read.
pub fn forges(config: &Config, env: &BTreeMap<String, String>) -> Result<ForgeSettings> {
    let local = config.forge == Forge::Local;
    let server = |s: &ForgeServer, key: &str| -> Result<ServerSettings> {
        let token = match &s.token {
            Some(secret) if !local => Some(read(secret, &format!("{key}.token_file"), env)?),
            _ => None,
        };
        Ok(ServerSettings {
            url: s.url.clone(),
            token,
            ca_file: s.ca_file.clone(),
            timeout: config.git.timeout,
            retry: RetryPolicy::default(),
        })
    };
    Ok(ForgeSettings {
        github_api_url: config.github.api_url.clone(),
        github: if local { None } else { github(config, env)? },
        gitlab: server(&config.gitlab, "gitlab")?,
        gitea: config
            .gitea
            .as_ref()
            .map(|g| server(g, "gitea"))
            .transpose()?,
    })
}

/// The secrets GitHub (`github.webhook_secret_file`) and Gitea or Forgejo
/// (`gitea.webhook_secret_file`) sign their webhook deliveries with.
pub fn forge_hooks(
    config: &Config,
    env: &BTreeMap<String, String>,
) -> Result<(Option<String>, Option<String>)> {
    let github = config
        .github
        .webhook_secret
        .as_ref()
        .map(|secret| read(secret, "github.webhook_secret_file", env))
        .transpose()?;
    let gitea = config
        .gitea
        .as_ref()
        .and_then(|g| g.webhook_secret.as_ref())
        .map(|secret| read(secret, "gitea.webhook_secret_file", env))
        .transpose()?;
    Ok((github, gitea))
}

/// The token GitLab's webhook deliveries carry (`gitlab.webhook_token_file`).
pub fn gitlab_hook(config: &Config, env: &BTreeMap<String, String>) -> Result<Option<String>> {
    config
        .gitlab
        .webhook_token
        .as_ref()
        .map(|secret| read(secret, "gitlab.webhook_token_file", env))
        .transpose()
}

/// Access to the git remotes, credentials read.
pub fn network(config: &Config, env: &BTreeMap<String, String>) -> Result<Network> {
    let password = match &config.git.password {
        Some(secret) => Some(read(secret, "git.token_file", env)?),
        None => None,
    };
    let username = match (&config.git.username, &password) {
        (Some(u), _) => Some(u.clone()),
        (None, Some(_)) => Some("x-access-token".to_string()),
        (None, None) => None,
    };
    if let Some(key) = &config.git.ssh_key_file {
        if !key.is_file() {
            return Err(
                Error::usage(format!("git.ssh_key_file: {}: no such file", key.display())).into(),
            );
        }
    }
    Ok(Network {
        auth: GitAuth {
            username,
            password,
            ssh_key: config.git.ssh_key_file.clone(),
        },
        timeout: config.git.timeout,
        progress: None,
        cancel: Default::default(),
    })
}

/// How commits are signed and signed off: the signing key (`git.signing`) read, unlocked
/// and proven to sign a probe, so a key that cannot sign stops start-up and `check-config`.
pub fn commit_signing(config: &Config) -> Result<CommitSigning> {
    let signer = match &config.git.signing {
        None => None,
        Some(s) => Some(std::sync::Arc::new(signing::load(&KeySource {
            format: s.format.map(|f| match f {
                crate::config::SigningFormat::OpenPgp => Format::OpenPgp,
                crate::config::SigningFormat::Ssh => Format::Ssh,
            }),
            key_file: &s.key_file,
            key_name: "git.signing.key_file",
            passphrase_file: s.passphrase_file.as_deref(),
            passphrase_name: "git.signing.passphrase_file",
        })?)),
    };
    Ok(CommitSigning {
        signer,
        signoff: config.git.signoff,
    })
}

/// The registry check, its credentials read: `None` with `registry.check: false`.
pub fn registry(config: &Config) -> Result<Option<RegistryCheck>> {
    let r = &config.registry;
    if !r.check {
        return Ok(None);
    }
    let credentials = match &r.auth_file {
        Some(path) => Credentials::load(path, "registry.auth_file")?,
        None => Credentials::default(),
    };
    Ok(Some(RegistryCheck {
        settings: RegistrySettings {
            credentials,
            plain_http: r.plain_http.clone(),
            timeout: r.timeout,
        },
        policy: policy(r),
    }))
}

/// What `registry.on_missing` and `registry.on_error` say a rollback does.
pub fn policy(r: &crate::config::Registry) -> Policy {
    Policy {
        on_missing: match r.on_missing {
            crate::config::OnMissing::Skip => OnMissing::Skip,
            crate::config::OnMissing::Open => OnMissing::Open,
        },
        on_error: match r.on_error {
            crate::config::OnError::Open => OnError::Open,
            crate::config::OnError::Skip => OnError::Skip,
        },
    }
}

/// Where the journal is: PostgreSQL when configured (password read), else SQLite in
/// `data_dir`.
pub fn journal(config: &Config, env: &BTreeMap<String, String>) -> Result<Location> {
    let Some(pg) = &config.journal else {
        return Ok(Location::Sqlite {
            data_dir: config.data_dir.clone(),
        });
    };
    let password = match &pg.password {
        Some(secret) => Some(read(secret, "journal.password_file", env)?),
        None => None,
    };
    Ok(Location::Postgres(PostgresSettings {
        url: pg.url.clone(),
        password,
        ssl_mode: pg.sslmode,
        root_cert: pg.sslrootcert.clone(),
        // The workers, the journal writer, and the probes and status page beside them.
        pool_size: config.workers + 4,
        application_name: "revertbot".into(),
    }))
}

/// The files the configuration names that hold a secret, each with its key path.
pub fn files(config: &Config) -> Vec<(&'static str, &Path)> {
    fn file(secret: &Option<Secret>) -> Option<&Path> {
        match secret {
            Some(Secret::File(path)) => Some(path.as_path()),
            _ => None,
        }
    }
    let webhook = &config.webhook;
    let github = match &config.github.auth {
        Some(GitHubAuth::Token(Secret::File(path))) => Some(("github.token_file", path.as_path())),
        Some(GitHubAuth::App { key_file, .. }) => Some(("github.app.key_file", key_file.as_path())),
        _ => None,
    };
    [
        ("webhook.bearer_tokens_file", file(&webhook.bearer_tokens)),
        ("webhook.read_tokens_file", file(&webhook.read_tokens)),
        (
            "webhook.basic_auth.password_file",
            webhook.basic_auth.as_ref().and_then(|b| match &b.password {
                Secret::File(path) => Some(path.as_path()),
                Secret::Env(_) => None,
            }),
        ),
        ("git.token_file", file(&config.git.password)),
        ("git.ssh_key_file", config.git.ssh_key_file.as_deref()),
        (
            "git.signing.key_file",
            config.git.signing.as_ref().map(|s| s.key_file.as_path()),
        ),
        (
            "git.signing.passphrase_file",
            config
                .git
                .signing
                .as_ref()
                .and_then(|s| s.passphrase_file.as_deref()),
        ),
        ("registry.auth_file", config.registry.auth_file.as_deref()),
        (
            "github.webhook_secret_file",
            file(&config.github.webhook_secret),
        ),
        (
            "gitea.webhook_secret_file",
            config.gitea.as_ref().and_then(|g| file(&g.webhook_secret)),
        ),
        (
            "gitlab.webhook_token_file",
            file(&config.gitlab.webhook_token),
        ),
        (
            "journal.password_file",
            config.journal.as_ref().and_then(|j| file(&j.password)),
        ),
        (
            "tls.key_file",
            config.tls.as_ref().map(|t| t.key_file.as_path()),
        ),
    ]
    .into_iter()
    .filter_map(|(key, path)| Some((key, path?)))
    .chain(github)
    .collect()
}

/// A warning for each secret file that someone besides this service may read or write:
/// anyone but its owner, or a group this process is not in (Kubernetes gives a pod its
/// Secret's files through the pod's own group: `fsGroup`, `defaultMode: 0440`).
pub fn exposed(config: &Config) -> Vec<String> {
    let me = Identity::of_this_process();
    files(config)
        .into_iter()
        .filter_map(|(key, path)| {
            let meta = std::fs::metadata(path).ok()?;
            let what = exposure(meta.mode(), meta.gid(), &me.groups)?;
            let fix = if me.uid == Some(meta.uid()) {
                "chmod 600 it".to_string()
            } else {
                "let only this service's user (or its group) read it".to_string()
            };
            Some(format!(
                "{key}: {} is {what} (mode {:04o}); {fix}",
                path.display(),
                meta.mode() & 0o7777
            ))
        })
        .collect()
}

/// Who besides the owner and this process's groups may read or write a file of this mode and
/// group: "readable by others", "readable and writable by its group"...; `None`: nobody.
fn exposure(mode: u32, gid: u32, my_groups: &[u32]) -> Option<String> {
    let group = if my_groups.contains(&gid) {
        0
    } else {
        (mode >> 3) & 0o7
    };
    let others = mode & 0o7;
    let (read, write) = ((group | others) & 0o4 != 0, (group | others) & 0o2 != 0);
    let what = match (read, write) {
        (true, true) => "readable and writable",
        (true, false) => "readable",
        (false, true) => "writable",
        (false, false) => return None,
    };
    let who = match (group & 0o6 != 0, others & 0o6 != 0) {
        (true, true) => "its group and others",
        (true, false) => "its group",
        _ => "others",
    };
    Some(format!("{what} by {who}"))
}

/// This process's user and groups, as the kernel checks file permissions with them.
struct Identity {
    uid: Option<u32>,
    groups: Vec<u32>,
}

impl Identity {
    fn of_this_process() -> Identity {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        // `Uid:` and `Gid:` give the real, effective, saved and filesystem ids; permissions
        // are checked against the filesystem ones (the fourth) and the supplementary groups.
        let ids = |field: &str| -> Vec<u32> {
            status
                .lines()
                .find_map(|l| l.strip_prefix(field))
                .map(|rest| {
                    rest.split_whitespace()
                        .filter_map(|n| n.parse().ok())
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut groups = ids("Groups:");
        groups.extend(ids("Gid:").get(3));
        Identity {
            uid: ids("Uid:").get(3).copied(),
            groups,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::exposure;

    #[test]
    fn a_secret_file_is_exposed_to_others_and_to_foreign_groups() {
        assert_eq!(exposure(0o100600, 1000, &[1000]), None);
        assert_eq!(exposure(0o100400, 1000, &[]), None);
        assert_eq!(
            exposure(0o100644, 1000, &[1000]).as_deref(),
            Some("readable by others")
        );
        assert_eq!(
            exposure(0o100640, 5, &[1000]).as_deref(),
            Some("readable by its group")
        );
        // Kubernetes: root-owned, group fsGroup (the pod's), mode 0440.
        assert_eq!(exposure(0o100440, 10001, &[10001]), None);
        assert_eq!(
            exposure(0o100666, 5, &[1000]).as_deref(),
            Some("readable and writable by its group and others")
        );
        assert_eq!(
            exposure(0o100602, 1000, &[1000]).as_deref(),
            Some("writable by others")
        );
    }
}
