//! `git`: the rollback commits' author, the credentials to push, the time a network
//! operation may take, and how commits are signed and signed off.

use std::collections::BTreeMap;
use std::time::Duration;

use super::problems::Problems;
use super::secrets::{has_env, GIT_PASSWORD_ENV, GIT_TOKEN_ENV};
use crate::config::file::{AuthorFile, GitFile, SigningFile};
use crate::config::model::{Author, Git, Secret, Signing, SigningFormat};

pub fn git(git: GitFile, env: &BTreeMap<String, String>, p: &mut Problems<'_>) -> Git {
    let author = author(git.author, p);
    let password = match (git.token_file, git.password_file) {
        (Some(_), Some(_)) => {
            p.push("git", "give token_file or password_file, not both".into());
            None
        }
        (Some(f), None) | (None, Some(f)) => Some(Secret::File(f)),
        (None, None) if has_env(env, GIT_TOKEN_ENV) => Some(Secret::Env(GIT_TOKEN_ENV.into())),
        (None, None) if has_env(env, GIT_PASSWORD_ENV) => {
            Some(Secret::Env(GIT_PASSWORD_ENV.into()))
        }
        (None, None) => None,
    };
    let timeout_seconds = git.timeout_seconds.unwrap_or(60);
    if !(1..=3600).contains(&timeout_seconds) {
        p.push(
            "git.timeout_seconds",
            format!("{timeout_seconds}: give 1 to 3600"),
        );
    }
    Git {
        author,
        username: git.username,
        password,
        ssh_key_file: git.ssh_key_file,
        timeout: Duration::from_secs(timeout_seconds),
        signing: git.signing.and_then(|s| signing(s, p)),
        signoff: git.signoff.unwrap_or(false),
    }
}

/// `git.signing`: the key file is read (and proven to sign) with the other secrets at start-up.
fn signing(file: SigningFile, p: &mut Problems<'_>) -> Option<Signing> {
    let format = match file.format.as_deref() {
        None => None,
        Some("openpgp") => Some(SigningFormat::OpenPgp),
        Some("ssh") => Some(SigningFormat::Ssh),
        Some(other) => {
            p.push(
                "git.signing.format",
                format!("{other:?}: give openpgp or ssh"),
            );
            None
        }
    };
    let Some(key_file) = file.key_file else {
        p.push(
            "git.signing.key_file",
            "give the signing key's file (or leave git.signing out)".into(),
        );
        return None;
    };
    Some(Signing {
        format,
        key_file,
        passphrase_file: file.passphrase_file,
    })
}

/// The author, checked to fit a commit's `Name <email>` header.
fn author(file: Option<AuthorFile>, p: &mut Problems<'_>) -> Author {
    let author = file.map_or(
        Author {
            name: "revertbot".into(),
            email: "revertbot@localhost".into(),
        },
        |a| Author {
            name: a.name.unwrap_or_else(|| "revertbot".into()),
            email: a.email.unwrap_or_else(|| "revertbot@localhost".into()),
        },
    );
    if author.name.trim().is_empty() || author.name.contains(['<', '>', '\n']) {
        p.push(
            "git.author.name",
            format!("{:?} cannot be a commit author's name", author.name),
        );
    }
    if !author.email.contains('@') || author.email.contains(['<', '>', '\n', ' ']) {
        p.push(
            "git.author.email",
            format!("{:?} is not an e-mail address", author.email),
        );
    }
    author
}
