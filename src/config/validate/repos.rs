//! `repos`: the GitOps repositories revertbot rolls back in, each named once for the rules.

use std::collections::BTreeSet;

use super::problems::Problems;
use super::pull_request::pull_request;
use crate::config::file::{RepoFile, Scalar};
use crate::config::model::{Hold, PullRequest, Repo, RepoForge};
use crate::manifest::PathFilter;
use crate::remote_url::{host_of, path_of_remote, repo_of_remote};

/// The hosts of the forges the configuration knows, to tell a repository's forge from its URL.
pub struct ForgeHosts {
    /// github.com, or the host of `github.api_url`'s web address.
    pub github: Option<String>,
    /// gitlab.com, or the host of `gitlab.url`.
    pub gitlab: Option<String>,
    /// The host of `gitea.url`, when configured.
    pub gitea: Option<String>,
    /// `forge: local`: pull requests are kept in the journal, so no repository needs a forge.
    pub local: bool,
}

impl ForgeHosts {
    pub fn of(
        github_web_url: &str,
        gitlab_url: &str,
        gitea_url: Option<&str>,
        local: bool,
    ) -> ForgeHosts {
        ForgeHosts {
            github: host_of(github_web_url),
            gitlab: host_of(gitlab_url),
            gitea: gitea_url.and_then(host_of),
            local,
        }
    }
}

/// The repositories, and every name given (a repository refused for another reason still
/// takes its name, so that a rule naming it is not reported as well).
pub fn repos(
    files: Vec<RepoFile>,
    pull_requests: &PullRequest,
    hosts: &ForgeHosts,
    p: &mut Problems<'_>,
) -> (Vec<Repo>, BTreeSet<String>) {
    let mut repos = Vec::new();
    let mut names = BTreeSet::new();
    if files.is_empty() {
        p.push(
            "repos",
            "give at least one repository to roll back in".into(),
        );
    }
    for (i, r) in files.into_iter().enumerate() {
        let at = |key: &str| format!("repos[{i}].{key}");
        let name = r.name.filter(|n| !n.trim().is_empty());
        let Some(name) = name else {
            p.push(
                &at("name"),
                "give the repository a name for rules to use".into(),
            );
            continue;
        };
        if !names.insert(name.clone()) {
            p.push(
                &at("name"),
                format!("{name:?} is the name of an earlier repository too"),
            );
        }
        let Some(url) = r.url.filter(|u| !u.trim().is_empty()) else {
            p.push(
                &at("url"),
                "give the repository's URL (or a local path)".into(),
            );
            continue;
        };
        if let Err(e) = PathFilter::new(&r.paths) {
            p.push(
                &at("paths"),
                e.render(&|_| String::new()).trim().to_string(),
            );
        }
        let forge = match forge(&url, r.github, r.gitlab, r.gitea, hosts, &at) {
            Ok(forge) => forge,
            Err((key, problem)) => {
                p.push(&key, problem);
                RepoForge::GitHub(None)
            }
        };
        let pr = match &r.pull_request {
            Some(over) => pull_request(&at("pull_request"), over, pull_requests, p),
            None => pull_requests.clone(),
        };
        let hold = match r.hold.as_deref() {
            None | Some("auto") => Hold::Auto,
            Some("none") => Hold::None,
            Some(other) => {
                p.push(&at("hold"), format!("{other:?}: give auto or none"));
                Hold::Auto
            }
        };
        repos.push(Repo {
            name,
            url,
            branch: r.branch.filter(|b| !b.is_empty()),
            paths: r.paths,
            forge,
            pull_request: pr,
            hold,
        });
    }
    (repos, names)
}

/// A repository's forge: the key it carries, else the forge its URL's host belongs to. A local
/// path (or a URL on no known forge) is GitHub's only under `forge: local` — where the forge is
/// the journal and the name only labels the pull requests — or when it is a path, whose own
/// remote names the repository at run time, as before forges were chosen per repository.
fn forge(
    url: &str,
    github: Option<String>,
    gitlab: Option<Scalar>,
    gitea: Option<String>,
    hosts: &ForgeHosts,
    at: &dyn Fn(&str) -> String,
) -> Result<RepoForge, (String, String)> {
    let owner_name = |key: &str, value: &str| match value.split_once('/') {
        Some((o, n)) if !o.is_empty() && !n.is_empty() && !n.contains('/') => {
            Ok((o.to_string(), n.to_string()))
        }
        _ => Err((at(key), format!("{value:?}: give OWNER/NAME"))),
    };
    match (github, gitlab, gitea) {
        (Some(g), None, None) => return Ok(RepoForge::GitHub(Some(owner_name("github", &g)?))),
        (None, Some(project), None) => {
            let project = project.0.trim().trim_matches('/').to_string();
            if project.is_empty() || project.split('/').any(str::is_empty) {
                return Err((
                    at("gitlab"),
                    format!(
                        "{:?}: give the project's full path (GROUP/…/NAME) or its numeric id",
                        project
                    ),
                ));
            }
            return Ok(RepoForge::GitLab(project));
        }
        (None, None, Some(g)) => return Ok(RepoForge::Gitea(owner_name("gitea", &g)?)),
        (None, None, None) => {}
        _ => return Err((
            at("github"),
            "give one of github, gitlab and gitea: a repository's pull requests go to one forge"
                .into(),
        )),
    }
    let host = if url.starts_with("file:") {
        None
    } else {
        host_of(url)
            .or_else(|| path_of_remote(url).map(|(host, _)| host))
            .filter(|h| !h.is_empty())
    };
    let Some(host) = host else {
        // A local path: its remote says where it lives, at run time.
        return Ok(RepoForge::GitHub(None));
    };
    let is = |known: &Option<String>| known.as_deref() == Some(host.as_str());
    if host == "github.com" || is(&hosts.github) {
        return Ok(RepoForge::GitHub(
            repo_of_remote(url).map(|(_, owner, name)| (owner, name)),
        ));
    }
    if host == "gitlab.com" || is(&hosts.gitlab) {
        if let Some((_, project)) = path_of_remote(url) {
            return Ok(RepoForge::GitLab(project));
        }
    }
    if is(&hosts.gitea) {
        if let Some((_, owner, name)) = repo_of_remote(url) {
            return Ok(RepoForge::Gitea((owner, name)));
        }
    }
    if hosts.local {
        return Ok(RepoForge::GitHub(None));
    }
    Err((
        at("url"),
        format!(
            "{host} is not a forge revertbot knows (github.com or github.api_url's host, gitlab.com or gitlab.url's, gitea.url's): give github: OWNER/NAME, gitlab: PROJECT or gitea: OWNER/NAME, or set the forge's url"
        ),
    ))
}
