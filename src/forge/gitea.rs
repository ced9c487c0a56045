//! Gitea and Forgejo (Codeberg, or a self-hosted instance: the same API v1): the rollback's pull
//! request found or opened once, dressed, and commented on.
//!
//! A small typed client on [`Rest`] rather than the `forgejo-api` crate: that crate brings
//! reqwest, a second HTTP and TLS stack, for the seven routes revertbot uses.
//!
//! Gitea's ways, as its source has them: issues and pull requests share one number sequence,
//! and a pull request's comments are its issue's; a second open pull request for the same head
//! and base is 409; `GET /pulls/{base}/{head}` answers the first pull request ever opened for
//! the pair whatever its state, so the list (with `state=all`) is read instead; labels go by
//! id, so names are looked up and missing ones created; a draft is a title starting `WIP:`.
//! Assignees and reviewers are set once the pull request stands: an unknown user name would
//! make Gitea refuse the whole pull request.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};
use http::{Method, StatusCode};
use serde::Deserialize;
use tracing::warn;

use super::github::RepoName;
use super::http::{describe, ApiError, Hints, Rest, RestSettings};
use super::markdown::query_component;
use super::opening::{found_again, open_once, Listed, OpenFailed, Opened};
use super::pulls::{PullOutcome, PullRequestSpec, PullState};
use super::retry::RetryPolicy;
use crate::clock::Clock;
use crate::config::MergeMethod;
use crate::error::{Error, Input, Kind};

/// The colour of a label revertbot creates.
const LABEL_COLOR: &str = "#d73a4a";

/// How a deployment talks to Gitea or Forgejo.
#[derive(Debug, Clone)]
pub struct GiteaSettings {
    /// The web address: `https://codeberg.org`; the API is `{url}/api/v1`.
    pub url: String,
    pub token: String,
    /// A certificate authority to trust besides the system's.
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

/// A deployment's Gitea or Forgejo: built once, shared by every job.
pub struct Gitea {
    api: Rest,
    url: String,
    token: String,
}

/// One repository on Gitea or Forgejo, for one job.
pub struct Repo {
    api: Rest,
    name: RepoName,
    /// The repository's page: links in the pull request point under it.
    pub web_url: String,
}

#[derive(Debug, Deserialize)]
struct RepoInfo {
    html_url: String,
}

#[derive(Debug, Deserialize)]
struct Pull {
    number: u64,
    html_url: String,
    /// `open` or `closed`.
    state: String,
    #[serde(default)]
    merged: bool,
    created_at: DateTime<Utc>,
    head: Head,
}

#[derive(Debug, Deserialize)]
struct Head {
    #[serde(rename = "ref")]
    branch: String,
}

#[derive(Debug, Deserialize)]
struct Comment {
    #[serde(default)]
    body: String,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
struct Label {
    id: u64,
    name: String,
}

impl Gitea {
    /// Builds the client; talks to nothing yet. Call within a tokio runtime.
    pub fn new(settings: &GiteaSettings, clock: Arc<dyn Clock>) -> Result<Gitea> {
        let url = settings.url.trim_end_matches('/').to_string();
        let api = Rest::new(
            RestSettings {
                api_url: format!("{url}/api/v1"),
                auth: (
                    http::header::AUTHORIZATION,
                    format!("token {}", settings.token),
                ),
                ca_file: settings
                    .ca_file
                    .clone()
                    .map(|p| (p, "gitea.ca_file".to_string())),
                timeout: settings.timeout,
                retry: settings.retry.clone(),
                forge: "Gitea",
            },
            clock,
        )?;
        Ok(Gitea {
            api,
            url,
            token: settings.token.clone(),
        })
    }

    /// The web address.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The user name and password for git over HTTPS: Gitea and Forgejo take a token as the
    /// password, whatever the user name.
    pub fn git_credentials(&self) -> (String, String) {
        ("x-access-token".to_string(), self.token.clone())
    }

    /// The repository, read once: a wrong token or name stops a job here, before its push.
    pub async fn repo(&self, name: &RepoName) -> Result<Repo> {
        let path = repo_path(name, "");
        let info: RepoInfo = self
            .api
            .get(&path)
            .await
            .map_err(|e| hints(name).fail("GET", &path, &e))?;
        Ok(Repo {
            api: self.api.clone(),
            name: name.clone(),
            web_url: info.html_url,
        })
    }

    /// What became of pull request `number` of `name`.
    pub async fn fate(&self, name: &RepoName, number: u64) -> Result<super::fate::PullFate> {
        let path = repo_path(name, &format!("/pulls/{number}"));
        let pull: super::fate::GiteaPull = self
            .api
            .get(&path)
            .await
            .map_err(|e| hints(name).fail("GET", &path, &e))?;
        Ok(pull.into())
    }
}

fn repo_path(name: &RepoName, rest: &str) -> String {
    format!(
        "/repos/{}/{}{rest}",
        query_component(&name.owner),
        query_component(&name.name)
    )
}

impl Repo {
    fn path(&self, rest: &str) -> String {
        repo_path(&self.name, rest)
    }

    /// Gitea's answer as one line naming what to fix.
    fn fail(&self, method: &str, path: &str, e: &ApiError) -> anyhow::Error {
        hints(&self.name).fail(method, path, e)
    }

    /// Opens the pull request, or finds the one there is; never makes a second one.
    pub async fn ensure_pull(
        &self,
        spec: &PullRequestSpec,
        now: DateTime<Utc>,
    ) -> Result<PullOutcome> {
        if let Some(found) = self.existing(spec, now).await? {
            return Ok(found);
        }
        let mut warnings = Vec::new();
        let labels = self.label_ids(&spec.dress.labels, &mut warnings).await;
        let title = if spec.dress.draft {
            format!("WIP: {}", spec.title)
        } else {
            spec.title.clone()
        };
        let body = serde_json::json!({
            "head": spec.head,
            "base": spec.base,
            "title": title,
            "body": spec.body,
            "labels": labels,
        });
        let path = self.path("/pulls");
        let opened = open_once(
            self.api.retry(),
            "Gitea",
            || self.api.send::<Pull>(Method::POST, &path, &body),
            || self.existing(spec, now),
            |e| e.status == Some(StatusCode::CONFLICT),
        )
        .await;
        let pull = match opened {
            Ok(Opened::New(pull)) => pull,
            Ok(Opened::Found(found)) => return Ok(found),
            Err(OpenFailed::Post(e)) if e.status == Some(StatusCode::NOT_FOUND) => {
                // The repository was read a moment ago: Gitea says 404 for a missing branch.
                return Err(Error::new(Kind::CannotRevert)
                    .text(format!(
                        "Gitea answered 404 to POST {path}: {}; the branch {} or {} is not in {}",
                        e.message, spec.head, spec.base, self.name
                    ))
                    .into());
            }
            Err(OpenFailed::Post(e)) => return Err(self.fail("POST", &path, &e)),
            Err(OpenFailed::Look(e)) => return Err(e),
        };
        self.dress(pull.number, spec, &mut warnings).await;
        Ok(PullOutcome {
            number: pull.number,
            url: pull.html_url,
            state: PullState::Created,
            commented: false,
            warnings,
        })
    }

    /// The pull request from `spec.head` to `spec.base`, if there is one: an open one first,
    /// else the latest; an open one gets the "fired again" comment when it is due.
    async fn existing(
        &self,
        spec: &PullRequestSpec,
        now: DateTime<Utc>,
    ) -> Result<Option<PullOutcome>> {
        let path = self.path(&format!(
            "/pulls?state=all&head={}&base={}&limit=50",
            query_component(&spec.head),
            query_component(&spec.base)
        ));
        let pulls: Vec<Pull> = self
            .api
            .get_all(&path)
            .await
            .map_err(|e| self.fail("GET", &path, &e))?;
        // Filtered again, for a server that ignores `head`; Gitea lists the newest first.
        let listed = pulls
            .into_iter()
            .filter(|p| p.head.branch == spec.head)
            .map(|p| Listed {
                number: p.number,
                url: p.html_url,
                state: match (p.state.as_str(), p.merged) {
                    ("open", _) => PullState::Found,
                    (_, true) => PullState::Merged,
                    _ => PullState::Declined,
                },
                created_at: p.created_at,
            })
            .collect();
        let notes = |number| async move {
            let path = self.path(&format!("/issues/{number}/comments"));
            let comments: Vec<Comment> = self
                .api
                .get_all(&path)
                .await
                .map_err(|e| self.fail("GET", &path, &e))?;
            Ok(comments
                .into_iter()
                .map(|c| (c.body, c.created_at))
                .collect())
        };
        let say = |number| self.comment(number, &spec.occurrence_comment);
        found_again(listed, spec, now, notes, say).await
    }

    /// Adds a comment to pull request `number`. Not sent again after a failure: a comment twice
    /// is worse than a comment missing.
    pub async fn comment(&self, number: u64, body: &str) -> Result<()> {
        let path = self.path(&format!("/issues/{number}/comments"));
        self.api
            .send::<serde_json::Value>(Method::POST, &path, &serde_json::json!({ "body": body }))
            .await
            .map(|_| ())
            .map_err(|e| self.fail("POST", &path, &e))
    }

    /// Turns auto-merge on for pull request `number`: merged this way once its checks succeed
    /// (`merge_when_checks_succeed`). `Err`: why not, in one line.
    pub async fn enable_auto_merge(&self, number: u64, method: MergeMethod) -> Result<(), String> {
        let path = self.path(&format!("/pulls/{number}/merge"));
        let body = serde_json::json!({
            "Do": method.as_str(),
            "merge_when_checks_succeed": true,
            "delete_branch_after_merge": true,
        });
        self.api
            .send::<serde_json::Value>(Method::POST, &path, &body)
            .await
            .map(|_| ())
            .map_err(|e| format!("Gitea answered {}", describe(&e)))
    }

    /// The ids of the labels named, creating those the repository lacks; a label that cannot
    /// be had is a warning.
    async fn label_ids(&self, names: &[String], warnings: &mut Vec<String>) -> Vec<u64> {
        if names.is_empty() {
            return Vec::new();
        }
        let path = self.path("/labels?limit=50");
        let known: Vec<Label> = match self.api.get_all(&path).await {
            Ok(known) => known,
            Err(e) => {
                warnings.push(format!(
                    "could not read the labels: Gitea answered {}",
                    describe(&e)
                ));
                return Vec::new();
            }
        };
        let mut ids = Vec::new();
        for name in names {
            if let Some(label) = known.iter().find(|l| l.name.eq_ignore_ascii_case(name)) {
                ids.push(label.id);
                continue;
            }
            let made = self
                .api
                .send::<Label>(
                    Method::POST,
                    &self.path("/labels"),
                    &serde_json::json!({ "name": name, "color": LABEL_COLOR }),
                )
                .await;
            match made {
                Ok(label) => ids.push(label.id),
                Err(e) => warnings.push(format!(
                    "could not create label {name:?}: Gitea answered {}",
                    describe(&e)
                )),
            }
        }
        ids
    }

    /// Assignees and reviewers. The pull request stands whatever Gitea answers.
    async fn dress(&self, number: u64, spec: &PullRequestSpec, warnings: &mut Vec<String>) {
        let dress = &spec.dress;
        let mut calls = Vec::new();
        if !dress.assignees.is_empty() {
            calls.push((
                Method::PATCH,
                self.path(&format!("/pulls/{number}")),
                serde_json::json!({ "assignees": dress.assignees }),
                "assignees",
            ));
        }
        if !dress.reviewers.is_empty() || !dress.team_reviewers.is_empty() {
            calls.push((
                Method::POST,
                self.path(&format!("/pulls/{number}/requested_reviewers")),
                serde_json::json!({ "reviewers": dress.reviewers, "team_reviewers": dress.team_reviewers }),
                "reviewers",
            ));
        }
        for (method, path, body, what) in calls {
            if let Err(e) = self
                .api
                .send::<serde_json::Value>(method, &path, &body)
                .await
            {
                warnings.push(format!(
                    "could not set {what} on pull request #{number}: {}",
                    describe(&e)
                ));
            }
        }
        for warning in warnings.iter() {
            warn!("{warning}");
        }
    }
}

/// What Gitea's refusals point at.
fn hints(repo: &RepoName) -> Hints {
    Hints {
        forge: "Gitea",
        token: Input::GiteaToken,
        needs: "write:repository and write:issue",
        repo: (repo.to_string(), Input::GiteaRepo),
    }
}
