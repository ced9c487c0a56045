//! The secrets the configuration names, read once at start-up (the webhook's bearer tokens
//! file is also re-read when it changes, for rotation without a restart).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;

use crate::config::{Config, GitHubAuth, Secret};
use crate::error::Error;
use crate::forge::github::{GitHubAuth as ClientAuth, GitHubSettings, RetryPolicy};
use crate::gitstore::remote::{GitAuth, Network};
use crate::journal::{Location, PostgresSettings};

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
