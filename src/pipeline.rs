//! A rollback from end to end — culprit, revert, push, pull request — shared by the CLI and
//! the service. Git work runs on the blocking pool; GitHub calls are async.

use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;

use crate::alert::Payload;
use crate::error::UsageError;
use crate::forge::body::{self, AlertContext, Links};
use crate::forge::github::{GitHub, GitHubAuth, GitHubSettings, PullRequestSpec};
use crate::forge::{host_of, repo_of_remote, web_url};
use crate::revert::remote::Source;
use crate::revert::{self, Outcome, RevertReport, RevertRequest};

/// How to open the pull request.
#[derive(Debug, Clone)]
pub struct PullSettings {
    pub github: GitHubSettings,
    pub labels: Vec<String>,
    pub reviewers: Vec<String>,
    pub team_reviewers: Vec<String>,
    pub assignees: Vec<String>,
    pub draft: bool,
    pub comment_interval: Duration,
}

/// Where `--push` goes for a source: the URL, or a local repository's `origin`.
pub fn push_url(source: &Source) -> Option<String> {
    match source {
        Source::Url(url) => Some(url.clone()),
        Source::Path(path) => git2::Repository::open(path)
            .ok()?
            .find_remote("origin")
            .ok()?
            .url()
            .ok()
            .map(str::to_string),
    }
}

/// `OWNER/NAME` as given, or read from the remote URL.
pub fn github_repo(given: Option<&str>, source: &Source) -> Result<(String, String)> {
    if let Some(given) = given {
        return match given.split_once('/') {
            Some((owner, name)) if !owner.is_empty() && !name.is_empty() && !name.contains('/') => {
                Ok((owner.to_string(), name.to_string()))
            }
            _ => Err(UsageError(format!("--github-repo {given:?}: give OWNER/NAME")).into()),
        };
    }
    let url = push_url(source).unwrap_or_default();
    repo_of_remote(&url)
        .map(|(_, owner, name)| (owner, name))
        .ok_or_else(|| {
            UsageError(format!(
                "cannot tell the GitHub repository from the remote {:?}; give --github-repo OWNER/NAME",
                crate::revert::remote::redact(&url)
            ))
            .into()
        })
}

/// Reverts (and pushes) as asked, then opens or finds the pull request.
pub async fn rollback_with_pull(
    mut request: RevertRequest,
    pull: Option<PullSettings>,
    alert: Option<Payload>,
) -> Result<RevertReport> {
    let github = match &pull {
        Some(settings) if !request.dry_run => Some(GitHub::connect(&settings.github).await?),
        _ => None,
    };
    if let (Some(gh), Some(settings)) = (&github, &pull) {
        // The push to a remote on the same GitHub uses the GitHub credentials.
        let same_host = push_url(&request.source)
            .and_then(|u| repo_of_remote(&u).map(|(host, _, _)| host))
            .zip(host_of(&web_url(&settings.github.api_url)))
            .is_some_and(|(a, b)| a == b);
        if same_host && request.network.auth.password.is_none() {
            let pat = match &settings.github.auth {
                GitHubAuth::Token(t) => Some(t.as_str()),
                GitHubAuth::App { .. } => None,
            };
            request.network.auth.username = Some("x-access-token".into());
            request.network.auth.password = Some(gh.git_token(pat).await?);
        }
    }
    let mut report = tokio::task::spawn_blocking(move || revert::rollback(&request))
        .await
        .context("the git work stopped unexpectedly")??;
    let (Some(gh), Some(settings)) = (github, pull) else {
        return Ok(report);
    };
    if !(report.pushed && matches!(report.outcome, Outcome::Created | Outcome::Reused)) {
        return Ok(report);
    }
    let ctx = alert.as_ref().and_then(AlertContext::of);
    let web = format!(
        "{}/{}/{}",
        web_url(&settings.github.api_url),
        settings.github.owner,
        settings.github.repo
    );
    let now = Utc::now();
    let spec = PullRequestSpec {
        head: report
            .branch
            .clone()
            .context("a pushed rollback has a branch")?,
        base: report.base.clone(),
        title: body::title(&report, ctx),
        body: body::body(&report, &Links { repo_web_url: &web }, ctx),
        draft: settings.draft,
        labels: settings.labels.clone(),
        reviewers: settings.reviewers.clone(),
        team_reviewers: settings.team_reviewers.clone(),
        assignees: settings.assignees.clone(),
        occurrence_comment: body::occurrence_comment(
            ctx,
            &now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ),
        comment_interval: settings.comment_interval,
    };
    report.pull_request = Some(gh.ensure_pull(&spec, now).await?);
    Ok(report)
}
