//! GitLab (gitlab.com or a self-managed instance) through its REST API v4: the rollback's merge
//! request found or opened once, dressed, and noted on.
//!
//! A small typed client on [`Rest`] rather than the `gitlab` crate: that crate's client is
//! blocking (or async on reqwest, a second HTTP and TLS stack), and revertbot uses eight
//! routes of GitLab's hundreds.
//!
//! GitLab's ways, as its API documents them: a project is named by its numeric id or its
//! URL-encoded full path (`acme%2Fplatform%2Fgitops`); merge requests are numbered per project
//! (`iid`); a second open merge request for the same source and target branch is 409; labels
//! are names, created when a merge request names one the project lacks; reviewers and
//! assignees are user ids; a draft is a title starting `Draft:`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};
use http::{Method, StatusCode};
use serde::Deserialize;
use tracing::warn;

use super::http::{describe, ApiError, Hints, Rest, RestSettings};
use super::markdown::query_component;
use super::opening::{found_again, open_once, Listed, OpenFailed, Opened};
use super::pulls::{PullOutcome, PullRequestSpec, PullState};
use super::retry::RetryPolicy;
use crate::clock::Clock;
use crate::config::MergeMethod;
use crate::error::Input;

/// How a deployment talks to GitLab.
#[derive(Debug, Clone)]
pub struct GitLabSettings {
    /// The web address: `https://gitlab.example.com`; the API is `{url}/api/v4`.
    pub url: String,
    pub token: String,
    /// A certificate authority to trust besides the system's (a self-managed instance's).
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

/// A deployment's GitLab: built once, shared by every job.
pub struct GitLab {
    api: Rest,
    url: String,
    token: String,
    /// User ids by username, looked up once.
    users: Arc<Mutex<HashMap<String, u64>>>,
}

/// One project on GitLab, for one job.
pub struct Project {
    api: Rest,
    /// The id as configured (a path or a number), for messages.
    name: String,
    /// The id as it goes in a path: URL-encoded.
    id: String,
    /// The project's page: links in the merge request point under it.
    pub web_url: String,
    users: Arc<Mutex<HashMap<String, u64>>>,
}

#[derive(Debug, Deserialize)]
struct ProjectInfo {
    web_url: String,
}

#[derive(Debug, Deserialize)]
struct MergeRequest {
    iid: u64,
    web_url: String,
    /// `opened`, `closed`, `locked` (being merged) or `merged`.
    state: String,
    created_at: DateTime<Utc>,
    source_branch: String,
}

#[derive(Debug, Deserialize)]
struct Note {
    #[serde(default)]
    body: String,
    created_at: DateTime<Utc>,
    /// GitLab's own notes (label changes, pushes); never revertbot's.
    #[serde(default)]
    system: bool,
}

#[derive(Debug, Deserialize)]
struct User {
    id: u64,
}

impl GitLab {
    /// Builds the client; talks to nothing yet. Call within a tokio runtime.
    pub fn new(settings: &GitLabSettings, clock: Arc<dyn Clock>) -> Result<GitLab> {
        let url = settings.url.trim_end_matches('/').to_string();
        let api = Rest::new(
            RestSettings {
                api_url: format!("{url}/api/v4"),
                auth: (
                    http::HeaderName::from_static("private-token"),
                    settings.token.clone(),
                ),
                ca_file: settings
                    .ca_file
                    .clone()
                    .map(|p| (p, "gitlab.ca_file".to_string())),
                timeout: settings.timeout,
                retry: settings.retry.clone(),
                forge: "GitLab",
            },
            clock,
        )?;
        Ok(GitLab {
            api,
            url,
            token: settings.token.clone(),
            users: Arc::default(),
        })
    }

    /// The web address.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The user name and password for git over HTTPS to this GitLab: a token authenticates git
    /// as user `oauth2`.
    pub fn git_credentials(&self) -> (String, String) {
        ("oauth2".to_string(), self.token.clone())
    }

    /// The project `project` (a full path or a numeric id), read once: a wrong token or project
    /// stops a job here, before its push.
    pub async fn project(&self, project: &str) -> Result<Project> {
        let id = query_component(project);
        let info: ProjectInfo = self
            .api
            .get(&format!("/projects/{id}"))
            .await
            .map_err(|e| hints(project).fail("GET", &format!("/projects/{id}"), &e))?;
        Ok(Project {
            api: self.api.clone(),
            name: project.to_string(),
            id,
            web_url: info.web_url,
            users: self.users.clone(),
        })
    }

    /// What became of merge request `iid` of `project` (a full path or a numeric id).
    pub async fn fate(&self, project: &str, iid: u64) -> Result<super::fate::PullFate> {
        let path = format!(
            "/projects/{}/merge_requests/{iid}",
            query_component(project)
        );
        let mr: super::fate::GitLabMergeRequest = self
            .api
            .get(&path)
            .await
            .map_err(|e| hints(project).fail("GET", &path, &e))?;
        Ok(mr.into())
    }
}

impl Project {
    fn path(&self, rest: &str) -> String {
        format!("/projects/{}{rest}", self.id)
    }

    /// GitLab's answer as one line naming what to fix.
    fn fail(&self, method: &str, path: &str, e: &ApiError) -> anyhow::Error {
        hints(&self.name).fail(method, path, e)
    }

    /// Opens the merge request, or finds the one there is; never makes a second one.
    pub async fn ensure_pull(
        &self,
        spec: &PullRequestSpec,
        now: DateTime<Utc>,
    ) -> Result<PullOutcome> {
        if let Some(found) = self.existing(spec, now).await? {
            return Ok(found);
        }
        let mut warnings = Vec::new();
        let reviewers = self
            .user_ids(&spec.dress.reviewers, "reviewer", &mut warnings)
            .await;
        let assignees = self
            .user_ids(&spec.dress.assignees, "assignee", &mut warnings)
            .await;
        if !spec.dress.team_reviewers.is_empty() {
            warnings.push(
                "team_reviewers are GitHub's teams; GitLab has none, so they were not asked (name the people in reviewers)".to_string(),
            );
        }
        let title = if spec.dress.draft {
            format!("Draft: {}", spec.title)
        } else {
            spec.title.clone()
        };
        let mut body = serde_json::json!({
            "source_branch": spec.head,
            "target_branch": spec.base,
            "title": title,
            "description": spec.body,
        });
        if !spec.dress.labels.is_empty() {
            body["labels"] = spec.dress.labels.clone().into();
        }
        if !reviewers.is_empty() {
            body["reviewer_ids"] = reviewers.into();
        }
        if !assignees.is_empty() {
            body["assignee_ids"] = assignees.into();
        }
        let path = self.path("/merge_requests");
        let opened = open_once(
            self.api.retry(),
            "GitLab",
            || self.api.send::<MergeRequest>(Method::POST, &path, &body),
            || self.existing(spec, now),
            |e| e.status == Some(StatusCode::CONFLICT),
        )
        .await;
        match opened {
            Ok(Opened::New(mr)) => Ok(PullOutcome {
                number: mr.iid,
                url: mr.web_url,
                state: PullState::Created,
                commented: false,
                warnings,
            }),
            Ok(Opened::Found(found)) => Ok(found),
            Err(OpenFailed::Post(e)) => Err(self.fail("POST", &path, &e)),
            Err(OpenFailed::Look(e)) => Err(e),
        }
    }

    /// The merge request from `spec.head`, if there is one: an open one first, else the latest;
    /// an open one gets the "fired again" note when it is due.
    async fn existing(
        &self,
        spec: &PullRequestSpec,
        now: DateTime<Utc>,
    ) -> Result<Option<PullOutcome>> {
        let path = self.path(&format!(
            "/merge_requests?source_branch={}&state=all&per_page=100",
            query_component(&spec.head)
        ));
        let mrs: Vec<MergeRequest> = self
            .api
            .get_all(&path)
            .await
            .map_err(|e| self.fail("GET", &path, &e))?;
        // Filtered again, for a server that ignored `source_branch`; GitLab lists the newest
        // first.
        let listed = mrs
            .into_iter()
            .filter(|m| m.source_branch == spec.head)
            .map(|m| Listed {
                number: m.iid,
                url: m.web_url,
                state: match m.state.as_str() {
                    // `locked`: being merged.
                    "opened" | "locked" => PullState::Found,
                    "merged" => PullState::Merged,
                    _ => PullState::Declined,
                },
                created_at: m.created_at,
            })
            .collect();
        let notes = |iid| async move {
            let path = self.path(&format!(
                "/merge_requests/{iid}/notes?sort=desc&order_by=created_at&per_page=100"
            ));
            let notes: Vec<Note> = self
                .api
                .get_all(&path)
                .await
                .map_err(|e| self.fail("GET", &path, &e))?;
            Ok(notes
                .into_iter()
                .filter(|n| !n.system)
                .map(|n| (n.body, n.created_at))
                .collect())
        };
        let say = |iid| self.note(iid, &spec.occurrence_comment);
        found_again(listed, spec, now, notes, say).await
    }

    /// Adds a note to merge request `iid`. Not sent again after a failure: a note twice is
    /// worse than a note missing.
    pub async fn note(&self, iid: u64, body: &str) -> Result<()> {
        let path = self.path(&format!("/merge_requests/{iid}/notes"));
        self.api
            .send::<serde_json::Value>(Method::POST, &path, &serde_json::json!({ "body": body }))
            .await
            .map(|_| ())
            .map_err(|e| self.fail("POST", &path, &e))
    }

    /// Turns GitLab's auto-merge on for merge request `iid`: merged once its pipeline succeeds
    /// (`auto_merge`; `merge_when_pipeline_succeeds` for GitLab before 17.11, which ignores
    /// the new name). GitLab merges by the project's merge method; `squash` asks for one
    /// commit. `Err`: why not, in one line.
    pub async fn enable_auto_merge(&self, iid: u64, method: MergeMethod) -> Result<(), String> {
        let path = self.path(&format!("/merge_requests/{iid}/merge"));
        let body = serde_json::json!({
            "auto_merge": true,
            "merge_when_pipeline_succeeds": true,
            "squash": method == MergeMethod::Squash,
            "should_remove_source_branch": true,
        });
        self.api
            .send::<serde_json::Value>(Method::PUT, &path, &body)
            .await
            .map(|_| ())
            .map_err(|e| format!("GitLab answered {}", describe(&e)))
    }

    /// The ids of `usernames` (`what`: reviewer or assignee); one not found is a warning, the
    /// merge request is opened without it.
    async fn user_ids(
        &self,
        usernames: &[String],
        what: &str,
        warnings: &mut Vec<String>,
    ) -> Vec<u64> {
        let mut ids = Vec::new();
        for username in usernames {
            let known = self
                .users
                .lock()
                .expect("users lock")
                .get(username)
                .copied();
            if let Some(id) = known {
                ids.push(id);
                continue;
            }
            let path = format!("/users?username={}", query_component(username));
            match self.api.get::<Vec<User>>(&path).await {
                Ok(found) => match found.first() {
                    Some(user) => {
                        self.users
                            .lock()
                            .expect("users lock")
                            .insert(username.clone(), user.id);
                        ids.push(user.id);
                    }
                    None => warnings.push(format!(
                        "could not ask {what} {username}: GitLab has no user of that name"
                    )),
                },
                Err(e) => warnings.push(format!(
                    "could not ask {what} {username}: GitLab answered {}",
                    describe(&e)
                )),
            }
        }
        for warning in warnings.iter() {
            warn!("{warning}");
        }
        ids
    }
}

/// What GitLab's refusals point at.
fn hints(project: &str) -> Hints {
    Hints {
        forge: "GitLab",
        token: Input::GitLabToken,
        needs: "the api and write_repository scopes, and the Developer role on the project",
        repo: (project.to_string(), Input::GitLabProject),
    }
}
