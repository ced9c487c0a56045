//! The forge a deployment opens its pull requests on, behind one interface.
//!
//! An enum, not a trait object: the forges are a closed set that revertbot itself knows, one
//! file each beside this one; an enum keeps their async calls plain (no boxed futures), and a
//! caller that needs one forge's extra — GitHub's token for a push to the same host — asks the
//! variant for it. A new forge is a variant here and a file of its own.

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::github::{GitHub, Repo, RepoName};
use super::local::{self, LocalForge};
use super::pulls::{PullOutcome, PullRequestSpec};
use crate::error::Error;

/// Where pull requests are opened.
pub enum Forge {
    /// Nowhere: their text only (previews, dry runs).
    None,
    GitHub(Box<GitHub>),
    /// In the journal (`forge: local`), for the status page to show.
    Local(LocalForge),
}

/// The forge, connected for one repository and one job.
pub enum Connected {
    None,
    GitHub(Box<Repo>),
    /// `repo` names the repository in the pull requests kept (`OWNER/NAME` or the remote).
    Local {
        forge: LocalForge,
        repo: String,
    },
}

impl Forge {
    /// Whether pull requests are opened (on GitHub with credentials, or locally).
    pub fn opens_pulls(&self) -> bool {
        !matches!(self, Forge::None)
    }

    /// Whether the forge must know the repository by name on a server (a pull request cannot
    /// be opened with placeholders in its links).
    pub fn names_repos(&self) -> bool {
        matches!(self, Forge::GitHub(_))
    }

    /// Whether a pull request at `url` (as a job recorded it) is on this forge: one opened on
    /// GitHub is not the local forge's pull request of the same number, nor the other way
    /// round (the forge was changed since).
    pub fn keeps_pull(&self, url: &str) -> bool {
        match self {
            // Any web address: a GitHub Enterprise Server's need not look like its API's.
            Forge::GitHub(_) => !local::keeps(url),
            Forge::Local(_) => local::keeps(url),
            Forge::None => false,
        }
    }

    /// Connects for `repo` (known by `label` where the forge keeps no names of its own): on
    /// GitHub this finds the App's installation, so bad credentials stop a job before its push.
    pub async fn connect(&self, repo: &RepoName, label: String) -> Result<Connected> {
        Ok(match self {
            Forge::None => Connected::None,
            Forge::GitHub(github) => Connected::GitHub(Box::new(github.repo(repo).await?)),
            Forge::Local(forge) => Connected::Local {
                forge: forge.clone(),
                repo: label,
            },
        })
    }

    /// Comments on pull request `number` of `repo` (`repo()` is asked only by a forge that needs
    /// the name).
    pub async fn comment(
        &self,
        repo: impl FnOnce() -> Result<RepoName>,
        number: u64,
        text: String,
        now: DateTime<Utc>,
    ) -> Result<()> {
        match self {
            Forge::GitHub(github) => github.repo(&repo()?).await?.comment(number, &text).await,
            Forge::Local(forge) => forge.comment(number, text, now).await,
            Forge::None => Err(Error::usage("no GitHub credentials to comment with").into()),
        }
    }
}

impl Connected {
    /// GitHub's token for `git push` (the PAT, or a fresh installation token); `None` elsewhere.
    pub async fn git_token(&self) -> Result<Option<String>> {
        match self {
            Connected::GitHub(repo) => Ok(Some(repo.git_token().await?)),
            Connected::None | Connected::Local { .. } => Ok(None),
        }
    }

    /// Opens the pull request, or finds the one there is; `None` without a forge.
    pub async fn ensure_pull(
        &self,
        spec: &PullRequestSpec,
        now: DateTime<Utc>,
    ) -> Result<Option<PullOutcome>> {
        match self {
            Connected::None => Ok(None),
            Connected::GitHub(repo) => Ok(Some(repo.ensure_pull(spec, now).await?)),
            Connected::Local { forge, repo } => Ok(Some(forge.ensure_pull(repo, spec, now).await?)),
        }
    }
}
