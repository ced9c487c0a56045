//! The top-level keys (where to listen, logs, timing, workers, the forge), each section
//! checked by its own module, and the checks that need two sections at once.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::forge_servers::{gitea, gitlab};
use super::git::git;
use super::github::github;
use super::guards::{guards, registry};
use super::journal::journal;
use super::problems::Problems;
use super::pull_request::{defaults, pull_request};
use super::repos::{repos, ForgeHosts};
use super::rules::rules;
use super::secrets::{GITEA_TOKEN_ENV, GITHUB_TOKEN_ENV, GITLAB_TOKEN_ENV};
use super::tls::tls;
use super::webhook::webhook;
use crate::config::file::File;
use crate::config::model::{Config, Forge, LogFormat, Purpose, RepoForge};
use crate::remote_url::web_url;

pub fn validate(
    file: File,
    env: &BTreeMap<String, String>,
    purpose: Purpose,
    problems: &mut Vec<String>,
) -> Option<Config> {
    let mut p = Problems(problems);

    let listen = file.listen.as_deref().unwrap_or("127.0.0.1:9095");
    let listen = listen.parse::<SocketAddr>().ok().or_else(|| {
        p.push(
            "listen",
            format!("{listen:?} is not address:port; write it like 127.0.0.1:9095 or 0.0.0.0:9095"),
        );
        None
    });
    let log_format = match file.log_format.as_deref().unwrap_or("text") {
        "text" => LogFormat::Text,
        "json" => LogFormat::Json,
        other => {
            p.push("log_format", format!("{other:?}: give text or json"));
            LogFormat::Text
        }
    };
    let shutdown_timeout = p.duration("shutdown_timeout", file.shutdown_timeout.as_ref(), "30s");
    let retention = p.duration("retention", file.retention.as_ref(), "90d");
    // The rate guard counts the last hour's rollbacks in the journal: a shorter retention
    // would delete what it counts.
    if !retention.is_zero() && retention < Duration::from_secs(3_600) {
        p.push(
            "retention",
            format!(
                "{:?}: give 0 (keep everything) or at least 1h: the guard max_rollbacks_per_repo_per_hour counts the last hour's rollbacks in the journal",
                file.retention.as_ref().map_or("", |s| s.0.trim())
            ),
        );
    }
    let workers = file.workers.unwrap_or(2);
    if !(1..=64).contains(&workers) {
        p.push("workers", format!("{workers}: give 1 to 64"));
    }
    let forge = match file.forge.as_deref().unwrap_or("github") {
        "github" => Forge::GitHub,
        "local" => Forge::Local,
        other => {
            p.push("forge", format!("{other:?}: give github or local"));
            Forge::GitHub
        }
    };

    let webhook = webhook(file.webhook, env, &mut p);
    let tls = tls(file.tls, &mut p);
    let github = github(file.github, env, &mut p);
    let gitlab = gitlab(file.gitlab, env, &mut p);
    let gitea = gitea(file.gitea, env, &mut p);
    let git = git(file.git, env, &mut p);
    let pull_request = pull_request("pull_request", &file.pull_request, &defaults(), &mut p);
    let guards = guards(file.guards, &mut p);
    let registry = registry(file.registry, &mut p);
    let hosts = ForgeHosts::of(
        &web_url(&github.api_url),
        &gitlab.url,
        gitea.as_ref().map(|g| g.url.as_str()),
        forge == Forge::Local,
    );
    let (repos, repo_names) = repos(file.repos, &pull_request, &hosts, &mut p);
    // Credentials are needed for the forges some repository opens its pull requests on.
    let opens = !guards.dry_run && forge == Forge::GitHub && purpose == Purpose::Serve;
    let uses = |forge: fn(&RepoForge) -> bool| repos.iter().any(|r| forge(&r.forge));
    let or_else = "or set forge: local (pull requests kept in the journal) or guards.dry_run: true";
    if opens
        && github.auth.is_none()
        && (repos.is_empty() || uses(|f| matches!(f, RepoForge::GitHub(_))))
    {
        p.push(
            "github",
            format!(
                "no credentials to open pull requests: set token_file, app, or {GITHUB_TOKEN_ENV}; {or_else}"
            ),
        );
    }
    if opens && gitlab.token.is_none() && uses(|f| matches!(f, RepoForge::GitLab(_))) {
        p.push(
            "gitlab",
            format!(
                "no token to open merge requests: set token_file or {GITLAB_TOKEN_ENV}; {or_else}"
            ),
        );
    }
    if opens
        && gitea.as_ref().is_some_and(|g| g.token.is_none())
        && uses(|f| matches!(f, RepoForge::Gitea(_)))
    {
        p.push(
            "gitea",
            format!(
                "no token to open pull requests: set token_file or {GITEA_TOKEN_ENV}; {or_else}"
            ),
        );
    }
    if uses(|f| matches!(f, RepoForge::Gitea(_))) && gitea.is_none() {
        p.push(
            "gitea.url",
            "a repository names a Gitea or Forgejo repository: give the server's address (https://HOST)".into(),
        );
    }
    let rules = rules(file.rules, &repo_names, &mut p);
    let journal = file.journal.and_then(|j| journal(j, env, &mut p));

    Some(Config {
        listen: listen?,
        data_dir: file
            .data_dir
            .unwrap_or_else(|| PathBuf::from("/var/lib/revertbot")),
        log_format,
        shutdown_timeout,
        retention,
        workers,
        forge,
        webhook,
        tls,
        journal,
        github,
        gitlab,
        gitea,
        git,
        pull_request,
        guards,
        registry,
        repos,
        rules,
    })
}
