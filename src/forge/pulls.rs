//! The rollback pull request on GitHub: find the one there is for the branch, or open it
//! (never a second one), dress it (labels, reviewers, assignees), and comment on reruns.

use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use tracing::{debug, warn};

use super::body::notice_due;
use super::github::Repo;
use super::markdown::query_component;
use crate::config::MergeMethod;

/// How a pull request is dressed when it is opened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullDress {
    pub draft: bool,
    pub labels: Vec<String>,
    pub reviewers: Vec<String>,
    pub team_reviewers: Vec<String>,
    pub assignees: Vec<String>,
}

/// The pull request to open (or find).
#[derive(Debug, Clone, Default)]
pub struct PullRequestSpec {
    pub head: String,
    pub base: String,
    pub title: String,
    pub body: String,
    pub dress: PullDress,
    /// Added to an open pull request for a new occurrence.
    pub occurrence_comment: String,
    /// At most one occurrence comment per pull request in this interval.
    pub comment_interval: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PullOutcome {
    pub number: u64,
    pub url: String,
    pub state: PullState,
    /// Whether an occurrence comment was added (state `found`).
    pub commented: bool,
    /// Labels, reviewers or assignees GitHub refused; the pull request stands.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PullState {
    /// Opened now.
    Created,
    /// Already open.
    Found,
    /// Closed without merging earlier: a person decided against it; not reopened.
    Declined,
    /// Already merged.
    Merged,
}

/// The fields of a pull request revertbot reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Pull {
    pub number: u64,
    pub html_url: String,
    pub state: PullStatus,
    pub merged_at: Option<String>,
    pub created_at: DateTime<Utc>,
    pub head: PullHead,
}

/// A pull request's `state` as GitHub's API gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PullStatus {
    Open,
    Closed,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PullHead {
    #[serde(rename = "ref")]
    pub branch: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Comment {
    #[serde(default)]
    body: Option<String>,
    created_at: DateTime<Utc>,
}

impl Repo {
    /// Turns GitHub's auto-merge on for pull request `number`. `Err`: why not, in one line.
    pub async fn enable_auto_merge(&self, number: u64, method: MergeMethod) -> Result<(), String> {
        #[derive(Deserialize)]
        struct Node {
            node_id: String,
        }
        let path = self.path(&format!("/pulls/{number}"));
        let pull: Node = self.api.get(&path).await.map_err(|e| format!("{e:#}"))?;
        let token = self.git_token().await.map_err(|e| format!("{e:#}"))?;
        self.graphql
            .enable_auto_merge(&token, &pull.node_id, method)
            .await
    }

    /// Pull requests whose head is `branch` of this repository, in any state.
    pub async fn pulls_for(&self, branch: &str) -> Result<Vec<Pull>> {
        let path = self.path(&format!(
            "/pulls?head={}&state=all&per_page=100",
            query_component(&format!("{}:{branch}", self.name.owner))
        ));
        let pulls: Vec<Pull> = self.api.get(&path).await?;
        // `head` filters by owner:branch; keep the check for servers that ignore it.
        Ok(pulls
            .into_iter()
            .filter(|p| p.head.branch == branch)
            .collect())
    }

    /// Opens the pull request, or finds the one there is; never makes a second one.
    pub async fn ensure_pull(
        &self,
        spec: &PullRequestSpec,
        now: DateTime<Utc>,
    ) -> Result<PullOutcome> {
        if let Some(outcome) = self.existing(spec, now).await? {
            return Ok(outcome);
        }
        let path = self.path("/pulls");
        let body = serde_json::json!({
            "title": spec.title,
            "head": spec.head,
            "base": spec.base,
            "body": spec.body,
            "draft": spec.dress.draft,
            "maintainer_can_modify": false,
        });
        let mut attempt = 0;
        let created: Pull = loop {
            attempt += 1;
            match self.api.post::<Pull>(&path, &body).await {
                Ok(Ok(pull)) => break pull,
                Ok(Err(e))
                    if e.status == StatusCode::UNPROCESSABLE_ENTITY
                        && e.details
                            .iter()
                            .chain([&e.message])
                            .any(|m| m.contains("already exists")) =>
                {
                    debug!(
                        "GitHub says a pull request for {} already exists",
                        spec.head
                    );
                    return self
                        .existing(spec, now)
                        .await?
                        .context("GitHub says the pull request exists but does not list it");
                }
                Ok(Err(e))
                    if !(e.status.is_server_error()
                        || e.status == StatusCode::TOO_MANY_REQUESTS)
                        || attempt >= self.api.retry.attempts =>
                {
                    return Err(self.api.fail("POST", &path, &e));
                }
                Ok(Err(_)) | Err(_) if attempt < self.api.retry.attempts => {
                    // The POST may have landed: look before sending it again.
                    if let Some(mut outcome) = self.existing(spec, now).await? {
                        if outcome.state == PullState::Found {
                            outcome.state = PullState::Created;
                            outcome.commented = false;
                        }
                        return Ok(outcome);
                    }
                    tokio::time::sleep(self.api.backoff(attempt)).await;
                }
                Ok(Err(e)) => return Err(self.api.fail("POST", &path, &e)),
                Err(e) => return Err(e),
            }
        };
        let warnings = self.decorate(created.number, spec).await;
        Ok(PullOutcome {
            number: created.number,
            url: created.html_url,
            state: PullState::Created,
            commented: false,
            warnings,
        })
    }

    /// The pull request for the branch, if there is one, with the occurrence comment added
    /// to an open one when the last notice is older than the interval.
    async fn existing(
        &self,
        spec: &PullRequestSpec,
        now: DateTime<Utc>,
    ) -> Result<Option<PullOutcome>> {
        let pulls = self.pulls_for(&spec.head).await?;
        let open = pulls.iter().find(|p| p.state == PullStatus::Open);
        let Some(pull) = open.or_else(|| pulls.first()) else {
            return Ok(None);
        };
        let state = match (pull.state, &pull.merged_at) {
            (PullStatus::Open, _) => PullState::Found,
            (_, Some(_)) => PullState::Merged,
            _ => PullState::Declined,
        };
        let mut commented = false;
        if state == PullState::Found && !spec.occurrence_comment.is_empty() {
            let comments: Vec<Comment> = self
                .api
                .get(&self.path(&format!("/issues/{}/comments?per_page=100", pull.number)))
                .await?;
            let notes = comments
                .iter()
                .map(|c| (c.body.as_deref().unwrap_or_default(), c.created_at));
            if notice_due(notes, pull.created_at, now, spec.comment_interval) {
                let path = self.path(&format!("/issues/{}/comments", pull.number));
                match self
                    .api
                    .post::<serde_json::Value>(
                        &path,
                        &serde_json::json!({ "body": spec.occurrence_comment }),
                    )
                    .await?
                {
                    Ok(_) => commented = true,
                    Err(e) => warn!(
                        "could not comment on pull request #{}: {}",
                        pull.number, e.message
                    ),
                }
            }
        }
        Ok(Some(PullOutcome {
            number: pull.number,
            url: pull.html_url.clone(),
            state,
            commented,
            warnings: Vec::new(),
        }))
    }

    /// Labels, reviewers and assignees. The pull request stands whatever GitHub answers.
    async fn decorate(&self, number: u64, spec: &PullRequestSpec) -> Vec<String> {
        let dress = &spec.dress;
        let mut calls = Vec::new();
        if !dress.labels.is_empty() {
            calls.push((
                self.path(&format!("/issues/{number}/labels")),
                serde_json::json!({ "labels": dress.labels }),
                "labels",
            ));
        }
        if !dress.reviewers.is_empty() || !dress.team_reviewers.is_empty() {
            calls.push((
                self.path(&format!("/pulls/{number}/requested_reviewers")),
                serde_json::json!({ "reviewers": dress.reviewers, "team_reviewers": dress.team_reviewers }),
                "reviewers",
            ));
        }
        if !dress.assignees.is_empty() {
            calls.push((
                self.path(&format!("/issues/{number}/assignees")),
                serde_json::json!({ "assignees": dress.assignees }),
                "assignees",
            ));
        }
        let mut warnings = Vec::new();
        for (path, body, what) in calls {
            let problem = match self.api.post::<serde_json::Value>(&path, &body).await {
                Ok(Ok(_)) => continue,
                Ok(Err(e)) => format!("{} {}", e.status.as_u16(), e.message),
                Err(e) => format!("{e:#}"),
            };
            let warning = format!("could not set {what} on pull request #{number}: {problem}");
            warn!("{warning}");
            warnings.push(warning);
        }
        warnings
    }

    /// Adds a comment to a pull request (or issue). Not re-sent after a failure: a comment twice
    /// is worse than a comment missing.
    pub async fn comment(&self, number: u64, body: &str) -> Result<()> {
        let path = self.path(&format!("/issues/{number}/comments"));
        match self
            .api
            .post::<serde_json::Value>(&path, &serde_json::json!({ "body": body }))
            .await?
        {
            Ok(_) => Ok(()),
            Err(e) => Err(self.api.fail("POST", &path, &e)),
        }
    }
}
