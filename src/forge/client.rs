//! The forges a deployment opens pull requests on, behind one interface, and which of them a
//! repository's pull request goes to.
//!
//! Enums, not trait objects: the forges are a closed set that revertbot itself knows, one
//! file each beside this one; enums keep their async calls plain (no boxed futures), and a
//! caller that needs one forge's extra asks the variant for it. A new forge is a variant here
//! and a file of its own.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::gitea::{self, Gitea, GiteaSettings};
use super::github::{GitHub, GitHubSettings, Repo, RepoName};
use super::gitlab::{self, GitLab, GitLabSettings};
use super::local::{self, LocalForge};
use super::markdown::Dialect;
use super::pulls::{PullOutcome, PullRequestSpec};
use super::retry::RetryPolicy;
use crate::clock::Clock;
use crate::config::MergeMethod;
use crate::error::{Error, Input, Kind};
use crate::remote_url::{host_of, path_of_remote, repo_of_remote, web_url};

/// Which forge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ForgeKind {
    GitHub,
    GitLab,
    /// Gitea or Forgejo (one API).
    Gitea,
}

impl ForgeKind {
    /// As the configuration and the metrics spell it.
    pub fn name(self) -> &'static str {
        match self {
            ForgeKind::GitHub => "github",
            ForgeKind::GitLab => "gitlab",
            ForgeKind::Gitea => "gitea",
        }
    }

    /// As people call it.
    pub fn title(self) -> &'static str {
        match self {
            ForgeKind::GitHub => "GitHub",
            ForgeKind::GitLab => "GitLab",
            ForgeKind::Gitea => "Gitea",
        }
    }

    /// The setting that holds this forge's token.
    pub fn token_input(self) -> Input {
        match self {
            ForgeKind::GitHub => Input::GitHubToken,
            ForgeKind::GitLab => Input::GitLabToken,
            ForgeKind::Gitea => Input::GiteaToken,
        }
    }

    /// The setting that names the repository on this forge.
    fn repo_input(self) -> Input {
        match self {
            ForgeKind::GitHub => Input::GitHubRepo,
            ForgeKind::GitLab => Input::GitLabProject,
            ForgeKind::Gitea => Input::GiteaRepo,
        }
    }
}

/// A repository by its forge's own name for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RepoOnForge {
    GitHub(RepoName),
    /// A project's full path (any depth of groups) or its numeric id.
    GitLab(String),
    Gitea(RepoName),
}

impl RepoOnForge {
    pub fn kind(&self) -> ForgeKind {
        match self {
            RepoOnForge::GitHub(_) => ForgeKind::GitHub,
            RepoOnForge::GitLab(_) => ForgeKind::GitLab,
            RepoOnForge::Gitea(_) => ForgeKind::Gitea,
        }
    }

    /// The name alone: `OWNER/NAME`, or a GitLab project's path or id.
    pub fn name(&self) -> String {
        match self {
            RepoOnForge::GitHub(n) | RepoOnForge::Gitea(n) => n.to_string(),
            RepoOnForge::GitLab(project) => project.clone(),
        }
    }

    /// A name whose parts stand for what could not be read (a preview's links).
    fn placeholder(kind: ForgeKind) -> RepoOnForge {
        let name = RepoName {
            owner: "OWNER".into(),
            name: "REPO".into(),
        };
        match kind {
            ForgeKind::GitHub => RepoOnForge::GitHub(name),
            ForgeKind::GitLab => RepoOnForge::GitLab("GROUP/PROJECT".into()),
            ForgeKind::Gitea => RepoOnForge::Gitea(name),
        }
    }
}

impl std::fmt::Display for RepoOnForge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind().name(), self.name())
    }
}

/// A GitLab or Gitea server as a deployment sets it: its web address always (to tell a
/// remote's forge and to link to it), a token where pull requests are opened there.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub url: String,
    pub token: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

impl ServerSettings {
    /// The server at `url`, with no token (links only).
    pub fn address(url: &str) -> ServerSettings {
        ServerSettings {
            url: url.to_string(),
            token: None,
            ca_file: None,
            timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
        }
    }
}

/// Every forge a deployment may open pull requests on.
#[derive(Debug, Clone)]
pub struct ForgeSettings {
    /// GitHub's API address (`https://api.github.com`, or a GitHub Enterprise Server's).
    pub github_api_url: String,
    /// How to reach GitHub to open pull requests; `None` where none are opened there.
    pub github: Option<GitHubSettings>,
    pub gitlab: ServerSettings,
    /// `None`: no Gitea or Forgejo configured.
    pub gitea: Option<ServerSettings>,
}

/// The forges a deployment opens pull requests on, each client built once.
pub struct Forges {
    github_web: String,
    github: Option<Box<GitHub>>,
    gitlab_url: String,
    gitlab: Option<GitLab>,
    gitea_url: Option<String>,
    gitea: Option<Gitea>,
    /// In the journal (`forge: local`), for the status page to show: then every pull request
    /// is kept there, whatever the repository's forge.
    local: Option<LocalForge>,
}

/// The forge, connected for one repository and one job.
pub enum Connected {
    None,
    GitHub(Box<Repo>),
    GitLab(gitlab::Project),
    Gitea(gitea::Repo),
    /// `repo` names the repository in the pull requests kept (`OWNER/NAME` or the remote).
    Local {
        forge: LocalForge,
        repo: String,
    },
}

impl Forges {
    /// Builds the clients of the forges with credentials; talks to none yet. Call within a
    /// tokio runtime.
    pub fn new(settings: &ForgeSettings, clock: Arc<dyn Clock>) -> Result<Forges> {
        let github = match &settings.github {
            Some(gh) => Some(Box::new(GitHub::new(gh, clock.clone())?)),
            None => None,
        };
        let gitlab = match &settings.gitlab.token {
            Some(token) => Some(GitLab::new(
                &GitLabSettings {
                    url: settings.gitlab.url.clone(),
                    token: token.clone(),
                    ca_file: settings.gitlab.ca_file.clone(),
                    timeout: settings.gitlab.timeout,
                    retry: settings.gitlab.retry.clone(),
                },
                clock.clone(),
            )?),
            None => None,
        };
        let gitea = match settings
            .gitea
            .as_ref()
            .and_then(|g| Some((g, g.token.as_ref()?)))
        {
            Some((server, token)) => Some(Gitea::new(
                &GiteaSettings {
                    url: server.url.clone(),
                    token: token.clone(),
                    ca_file: server.ca_file.clone(),
                    timeout: server.timeout,
                    retry: server.retry.clone(),
                },
                clock,
            )?),
            None => None,
        };
        Ok(Forges {
            github_web: web_url(&settings.github_api_url),
            github,
            gitlab_url: settings.gitlab.url.trim_end_matches('/').to_string(),
            gitlab,
            gitea_url: settings
                .gitea
                .as_ref()
                .map(|g| g.url.trim_end_matches('/').to_string()),
            gitea,
            local: None,
        })
    }

    /// Every pull request kept in `journal` instead (`forge: local`).
    pub fn keep_locally(&mut self, forge: LocalForge) {
        self.local = Some(forge);
    }

    /// Whether pull requests of a repository on `kind` are opened (with credentials for it,
    /// or locally).
    pub fn opens_pulls(&self, kind: ForgeKind) -> bool {
        self.local.is_some()
            || match kind {
                ForgeKind::GitHub => self.github.is_some(),
                ForgeKind::GitLab => self.gitlab.is_some(),
                ForgeKind::Gitea => self.gitea.is_some(),
            }
    }

    /// The Markdown the pull request's text is written in: its forge's, or GitHub's (which the
    /// status page renders) for one kept in the journal.
    pub fn dialect(&self, kind: ForgeKind) -> Dialect {
        match (self.local.is_some(), kind) {
            (true, _) | (false, ForgeKind::GitHub) => Dialect::GitHub,
            (false, ForgeKind::GitLab) => Dialect::GitLab,
            (false, ForgeKind::Gitea) => Dialect::Gitea,
        }
    }

    /// Whether pull requests are kept in the journal.
    pub fn is_local(&self) -> bool {
        self.local.is_some()
    }

    /// The forge a remote URL is on, by its host: GitHub's, GitLab's or Gitea's; `None` for
    /// another host (or a local path).
    pub fn kind_of_remote(&self, url: &str) -> Option<ForgeKind> {
        kind_of_remote(
            url,
            &self.github_web,
            &self.gitlab_url,
            self.gitea_url.as_deref(),
        )
    }

    /// The repository a pull request goes to: as given, else on `kind` (else the forge of the
    /// remote's host, else GitHub) by the name the remote URL has there.
    pub fn resolve(
        &self,
        given: Option<&RepoOnForge>,
        kind: Option<ForgeKind>,
        push_url: Option<&str>,
    ) -> Result<RepoOnForge> {
        if let Some(given) = given {
            return Ok(given.clone());
        }
        let url = push_url.unwrap_or_default();
        let kind = kind
            .or_else(|| self.kind_of_remote(url))
            .unwrap_or(ForgeKind::GitHub);
        let found = match kind {
            ForgeKind::GitLab => path_of_remote(url).map(|(_, path)| RepoOnForge::GitLab(path)),
            ForgeKind::GitHub | ForgeKind::Gitea => repo_of_remote(url).map(|(_, owner, name)| {
                let name = RepoName { owner, name };
                if kind == ForgeKind::GitHub {
                    RepoOnForge::GitHub(name)
                } else {
                    RepoOnForge::Gitea(name)
                }
            }),
        };
        found.ok_or_else(|| {
            Error::new(Kind::Usage)
                .text(format!(
                    "cannot tell the {} repository from the remote {:?}; give ",
                    kind.title(),
                    crate::gitstore::remote::redact(url)
                ))
                .input(kind.repo_input())
                .into()
        })
    }

    /// As [`Forges::resolve`], but a repository whose name cannot be read gets placeholders
    /// where nothing is opened on a forge that names repositories (a preview, a pull request
    /// kept locally).
    pub fn resolve_or_placeholder(
        &self,
        given: Option<&RepoOnForge>,
        kind: Option<ForgeKind>,
        push_url: Option<&str>,
        opens: bool,
    ) -> Result<RepoOnForge> {
        match self.resolve(given, kind, push_url) {
            Ok(repo) => Ok(repo),
            Err(_) if !opens || self.local.is_some() => {
                let kind = kind
                    .or_else(|| push_url.and_then(|u| self.kind_of_remote(u)))
                    .unwrap_or(ForgeKind::GitHub);
                Ok(RepoOnForge::placeholder(kind))
            }
            Err(e) => Err(e),
        }
    }

    /// The repository's web page, for links, as its forge's address and its name make it.
    pub fn web_url(&self, repo: &RepoOnForge) -> String {
        match repo {
            RepoOnForge::GitHub(name) => format!("{}/{name}", self.github_web),
            RepoOnForge::GitLab(project) => format!("{}/{project}", self.gitlab_url),
            RepoOnForge::Gitea(name) => format!(
                "{}/{name}",
                self.gitea_url.as_deref().unwrap_or("https://gitea.invalid")
            ),
        }
    }

    /// Whether a pull request at `url` (as a job recorded it) for a repository on `kind` is
    /// on this deployment's forge for it: one opened on GitHub is not the local forge's pull
    /// request of the same number, nor one on GitLab, nor the other way round (the forge was
    /// changed since).
    pub fn keeps_pull(&self, kind: ForgeKind, url: &str) -> bool {
        if self.local.is_some() {
            return local::keeps(url);
        }
        if local::keeps(url) {
            return false;
        }
        let host = host_of(url);
        let on = |server: Option<&str>| server.and_then(host_of).is_some_and(|h| Some(h) == host);
        match kind {
            // Any other address: a GitHub Enterprise Server's web pages need not be on its
            // API's host.
            ForgeKind::GitHub => !on(Some(&self.gitlab_url)) && !on(self.gitea_url.as_deref()),
            ForgeKind::GitLab => on(Some(&self.gitlab_url)),
            ForgeKind::Gitea => on(self.gitea_url.as_deref()),
        }
    }

    /// Connects for `repo` (known by `label` where the forge keeps no names of its own): reads
    /// the repository on its forge, so that bad credentials or a wrong name stop a job before
    /// its push.
    pub async fn connect(&self, repo: &RepoOnForge, label: String) -> Result<Connected> {
        if let Some(forge) = &self.local {
            return Ok(Connected::Local {
                forge: forge.clone(),
                repo: label,
            });
        }
        Ok(match repo {
            RepoOnForge::GitHub(name) => match &self.github {
                Some(github) => Connected::GitHub(Box::new(github.repo(name).await?)),
                None => Connected::None,
            },
            RepoOnForge::GitLab(project) => match &self.gitlab {
                Some(gitlab) => Connected::GitLab(gitlab.project(project).await?),
                None => Connected::None,
            },
            RepoOnForge::Gitea(name) => match &self.gitea {
                Some(gitea) => Connected::Gitea(gitea.repo(name).await?),
                None => Connected::None,
            },
        })
    }

    /// Comments on pull request `number` of `repo` (asked only by a forge that names its
    /// repositories: the local forge numbers its pull requests alone).
    pub async fn comment(
        &self,
        repo: impl FnOnce() -> Result<RepoOnForge>,
        number: u64,
        text: String,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if let Some(forge) = &self.local {
            return forge.comment(number, text, now).await;
        }
        let repo = &repo()?;
        let no_credentials = || {
            Error::usage(format!(
                "no {} credentials to comment with",
                repo.kind().title()
            ))
        };
        match (repo, &self.github, &self.gitlab, &self.gitea) {
            (RepoOnForge::GitHub(name), Some(github), _, _) => {
                github.repo(name).await?.comment(number, &text).await
            }
            (RepoOnForge::GitLab(project), _, Some(gitlab), _) => {
                gitlab.project(project).await?.note(number, &text).await
            }
            (RepoOnForge::Gitea(name), _, _, Some(gitea)) => {
                gitea.repo(name).await?.comment(number, &text).await
            }
            _ => Err(no_credentials().into()),
        }
    }

    /// The user name and password for a push to `push_url` when it is on the forge `connected`
    /// is for, over HTTPS (or HTTP): the forge's token authenticates git there too. An SSH
    /// remote keeps its key.
    pub async fn git_credentials(
        &self,
        connected: &Connected,
        push_url: &str,
    ) -> Result<Option<(String, String)>> {
        let on = |server: &str| token_goes_to(push_url, server);
        Ok(match connected {
            Connected::GitHub(repo) if on(&self.github_web) => {
                Some(("x-access-token".to_string(), repo.git_token().await?))
            }
            Connected::GitLab(_) if on(&self.gitlab_url) => {
                self.gitlab.as_ref().map(GitLab::git_credentials)
            }
            Connected::Gitea(_) if self.gitea_url.as_deref().is_some_and(on) => {
                self.gitea.as_ref().map(Gitea::git_credentials)
            }
            _ => None,
        })
    }

    /// What became of pull request `number` of `repo` on its forge. Not for the local forge:
    /// the journal itself keeps what became of its pull requests.
    pub async fn fate(&self, repo: &RepoOnForge, number: u64) -> Result<super::fate::PullFate> {
        let no_credentials = || {
            Error::usage(format!(
                "no {} credentials to ask what became of a pull request",
                repo.kind().title()
            ))
        };
        match (repo, &self.local, &self.github, &self.gitlab, &self.gitea) {
            (_, Some(_), _, _, _) => Err(Error::usage(
                "the local forge's pull requests are in the journal; nothing to ask",
            )
            .into()),
            (RepoOnForge::GitHub(name), _, Some(github), _, _) => {
                github.repo(name).await?.fate(number).await
            }
            (RepoOnForge::GitLab(project), _, _, Some(gitlab), _) => {
                gitlab.fate(project, number).await
            }
            (RepoOnForge::Gitea(name), _, _, _, Some(gitea)) => gitea.fate(name, number).await,
            _ => Err(no_credentials().into()),
        }
    }
}

impl ForgeSettings {
    /// GitHub at `github_api_url` (with credentials, where pull requests are opened there),
    /// gitlab.com with no token, no Gitea.
    pub fn github(github_api_url: &str, github: Option<GitHubSettings>) -> ForgeSettings {
        ForgeSettings {
            github_api_url: github_api_url.to_string(),
            github,
            gitlab: ServerSettings::address(crate::remote_url::GITLAB_URL),
            gitea: None,
        }
    }

    /// The forge a remote URL is on, by its host (as [`Forges::kind_of_remote`]).
    pub fn kind_of_remote(&self, url: &str) -> Option<ForgeKind> {
        kind_of_remote(
            url,
            &web_url(&self.github_api_url),
            &self.gitlab.url,
            self.gitea.as_ref().map(|g| g.url.as_str()),
        )
    }
}

fn kind_of_remote(
    url: &str,
    github_web: &str,
    gitlab_url: &str,
    gitea_url: Option<&str>,
) -> Option<ForgeKind> {
    let (host, _) = path_of_remote(url)?;
    let is = |server: &str| host_of(server).is_some_and(|h| h == host);
    if is(github_web) {
        Some(ForgeKind::GitHub)
    } else if is(gitlab_url) {
        Some(ForgeKind::GitLab)
    } else if gitea_url.is_some_and(is) {
        Some(ForgeKind::Gitea)
    } else {
        None
    }
}

impl Connected {
    /// The repository's web page as its forge says it (a GitLab project named by its id has
    /// its path there); `None` where the forge was not asked.
    pub fn web_url(&self) -> Option<&str> {
        match self {
            Connected::GitLab(project) => Some(&project.web_url),
            Connected::Gitea(repo) => Some(&repo.web_url),
            Connected::None | Connected::GitHub(_) | Connected::Local { .. } => None,
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
            Connected::GitLab(project) => Ok(Some(project.ensure_pull(spec, now).await?)),
            Connected::Gitea(repo) => Ok(Some(repo.ensure_pull(spec, now).await?)),
            Connected::Local { forge, repo } => Ok(Some(forge.ensure_pull(repo, spec, now).await?)),
        }
    }

    /// Turns the forge's auto-merge on for pull request `number`. `Err`: why not, in one line
    /// (the local forge merges nothing: its pull requests are read on the status page).
    pub async fn enable_auto_merge(&self, number: u64, method: MergeMethod) -> Result<(), String> {
        match self {
            Connected::None => Err("no forge to ask".into()),
            Connected::GitHub(repo) => repo.enable_auto_merge(number, method).await,
            Connected::GitLab(project) => project.enable_auto_merge(number, method).await,
            Connected::Gitea(repo) => repo.enable_auto_merge(number, method).await,
            Connected::Local { .. } => {
                Err("forge: local keeps pull requests for people to read, and merges none".into())
            }
        }
    }

    /// Says `text` on pull request `number`.
    pub async fn comment(&self, number: u64, text: &str, now: DateTime<Utc>) -> Result<()> {
        match self {
            Connected::None => Ok(()),
            Connected::GitHub(repo) => repo.comment(number, text).await,
            Connected::GitLab(project) => project.note(number, text).await,
            Connected::Gitea(repo) => repo.comment(number, text).await,
            Connected::Local { forge, .. } => forge.comment(number, text.to_string(), now).await,
        }
    }
}

/// Whether a forge's token at `server` may go with a push to `push_url`: an HTTP(S) remote on
/// the same host.
fn token_goes_to(push_url: &str, server: &str) -> bool {
    let over_http = ["https://", "http://"].iter().any(|scheme| {
        push_url
            .get(..scheme.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
    });
    over_http && host_of(push_url).is_some_and(|h| host_of(server) == Some(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forge_token_goes_only_with_an_https_push_to_its_host() {
        let gitlab = "https://gitlab.example.com";
        assert!(token_goes_to(
            "https://gitlab.example.com/acme/gitops.git",
            gitlab
        ));
        assert!(token_goes_to(
            "HTTPS://GitLab.example.com:8443/a/b.git",
            gitlab
        ));
        assert!(
            !token_goes_to("git@gitlab.example.com:acme/gitops.git", gitlab),
            "SSH keeps its key"
        );
        assert!(!token_goes_to(
            "ssh://git@gitlab.example.com/acme/gitops.git",
            gitlab
        ));
        assert!(!token_goes_to("https://github.com/acme/gitops.git", gitlab));
        assert!(!token_goes_to("/srv/gitops", gitlab));
    }
}
