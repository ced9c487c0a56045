//! GitHub through octocrab: authentication (token or GitHub App), and the few REST calls a
//! rollback pull request needs, with retries that can never duplicate a pull request.
//!
//! octocrab's own retry layer is not compiled in (its default re-sends POSTs); GETs are retried
//! here on 5xx, 429 and rate-limit 403s, honouring `Retry-After` and `x-ratelimit-reset`. A
//! POST is never re-sent blindly: after a failure the state is read again first.

use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use chrono::{DateTime, Utc};
use http::StatusCode;
use octocrab::models::{AppId, InstallationId};
use octocrab::Octocrab;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tracing::{debug, warn};

use crate::error::UsageError;

#[derive(Clone)]
pub enum GitHubAuth {
    /// A personal access token or an installation token.
    Token(String),
    /// A GitHub App: installation tokens are minted from the app's key and refreshed before
    /// they expire.
    App {
        app_id: u64,
        private_key_pem: Vec<u8>,
        /// Found from the repository when not given.
        installation_id: Option<u64>,
    },
}

impl std::fmt::Debug for GitHubAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GitHubAuth::Token(_) => f.write_str("Token(..)"),
            GitHubAuth::App {
                app_id,
                installation_id,
                ..
            } => f
                .debug_struct("App")
                .field("app_id", app_id)
                .field("installation_id", installation_id)
                .finish_non_exhaustive(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Tries of one GET in all.
    pub attempts: u32,
    /// First back-off after a 5xx; doubled each time.
    pub base_delay: Duration,
    /// The longest revertbot waits for a rate limit to reset before giving up.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            base_delay: Duration::from_millis(500),
            max_wait: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone)]
pub struct GitHubSettings {
    /// `https://api.github.com`, or `https://ghe.example.com/api/v3`.
    pub api_url: String,
    pub owner: String,
    pub repo: String,
    pub auth: GitHubAuth,
    pub retry: RetryPolicy,
    pub timeout: Duration,
}

/// A client for one repository.
pub struct GitHub {
    client: Octocrab,
    owner: String,
    repo: String,
    retry: RetryPolicy,
    is_app: bool,
}

/// What a call answered, when it was not a success.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// `errors[].message` of a 422.
    pub details: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: String,
    #[serde(default)]
    errors: Vec<ErrorDetail>,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

/// The fields of a pull request revertbot reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Pull {
    pub number: u64,
    pub html_url: String,
    pub state: String,
    pub merged_at: Option<String>,
    pub created_at: DateTime<Utc>,
    pub head: PullHead,
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

#[derive(Debug, Deserialize)]
struct Installation {
    id: u64,
}

/// The pull request to open (or find).
#[derive(Debug, Clone, Default)]
pub struct PullRequestSpec {
    pub head: String,
    pub base: String,
    pub title: String,
    pub body: String,
    pub draft: bool,
    pub labels: Vec<String>,
    pub reviewers: Vec<String>,
    pub team_reviewers: Vec<String>,
    pub assignees: Vec<String>,
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

impl GitHub {
    pub async fn connect(settings: &GitHubSettings) -> Result<GitHub> {
        let builder = || -> Result<_> {
            Ok(Octocrab::builder()
                .base_uri(settings.api_url.as_str())
                .map_err(|_| {
                    UsageError(format!(
                        "--github-api-url {:?} is not a URL",
                        settings.api_url
                    ))
                })?
                .set_connect_timeout(Some(settings.timeout))
                .set_read_timeout(Some(settings.timeout))
                .set_write_timeout(Some(settings.timeout)))
        };
        let (client, is_app) = match &settings.auth {
            GitHubAuth::Token(token) => (builder()?.personal_token(token.clone()).build()?, false),
            GitHubAuth::App {
                app_id,
                private_key_pem,
                installation_id,
            } => {
                let key =
                    jsonwebtoken::EncodingKey::from_rsa_pem(private_key_pem).map_err(|e| {
                        UsageError(format!(
                            "--github-app-key-file is not an RSA private key in PEM form: {e}"
                        ))
                    })?;
                let app = builder()?.app(AppId(*app_id), key).build()?;
                let installation = match installation_id {
                    Some(id) => *id,
                    None => {
                        let probe = GitHub {
                            client: app.clone(),
                            owner: settings.owner.clone(),
                            repo: settings.repo.clone(),
                            retry: settings.retry.clone(),
                            is_app: true,
                        };
                        let path =
                            format!("/repos/{}/{}/installation", settings.owner, settings.repo);
                        let found: Installation = probe.get(&path).await.with_context(|| {
                            format!(
                                "GitHub App {app_id} is not installed on {}/{} (or its key is wrong); install it there or give --github-installation-id",
                                settings.owner, settings.repo
                            )
                        })?;
                        found.id
                    }
                };
                (app.installation(InstallationId(installation))?, true)
            }
        };
        Ok(GitHub {
            client,
            owner: settings.owner.clone(),
            repo: settings.repo.clone(),
            retry: settings.retry.clone(),
            is_app,
        })
    }

    /// A token for `git push` to this GitHub: the PAT, or a fresh installation token.
    pub async fn git_token(&self, pat: Option<&str>) -> Result<String> {
        if self.is_app {
            use secrecy::ExposeSecret;
            let token = self.client.installation_token().await.map_err(|e| {
                anyhow!(
                    "cannot get an installation token from GitHub: {}",
                    describe_octocrab(&e)
                )
            })?;
            return Ok(token.expose_secret().to_string());
        }
        pat.map(str::to_string).context("no GitHub token")
    }

    fn repo_path(&self, rest: &str) -> String {
        format!("/repos/{}/{}{rest}", self.owner, self.repo)
    }

    /// GET with retries on 5xx, 429 and rate limits.
    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= self.retry.attempts;
            let response = match self.client._get(path).await {
                Ok(r) => r,
                Err(e) if !last => {
                    let delay = self.backoff(attempt);
                    warn!(
                        "GET {path} failed ({}); retrying in {delay:?}",
                        describe_octocrab(&e)
                    );
                    tokio::time::sleep(delay).await;
                    continue;
                }
                Err(e) => {
                    return Err(anyhow!(
                        "GitHub did not answer GET {path}: {}",
                        describe_octocrab(&e)
                    ))
                }
            };
            let status = response.status();
            let wait = retry_wait(status, response.headers(), Utc::now());
            let body = self.client.body_to_string(response).await.map_err(|e| {
                anyhow!(
                    "reading GitHub's answer to GET {path}: {}",
                    describe_octocrab(&e)
                )
            })?;
            if status.is_success() {
                return serde_json::from_str(&body).with_context(|| {
                    format!("GitHub's answer to GET {path} is not what its API documents")
                });
            }
            let error = api_error(status, &body);
            match wait {
                Some(Wait::RateLimited(until)) => {
                    let delay = until.max(Duration::from_millis(100));
                    if last || delay > self.retry.max_wait {
                        return Err(anyhow!(
                            "GitHub rate limit exceeded for GET {path} ({}); it resets in {} s; try again then",
                            error.message,
                            delay.as_secs()
                        ));
                    }
                    warn!("GitHub rate limit on GET {path}; waiting {delay:?}");
                    tokio::time::sleep(delay).await;
                }
                Some(Wait::ServerError) if !last => {
                    let delay = self.backoff(attempt);
                    warn!("GET {path}: GitHub answered {status}; retrying in {delay:?}");
                    tokio::time::sleep(delay).await;
                }
                _ => return Err(self.fail("GET", path, &error)),
            }
        }
    }

    /// One POST, never retried here.
    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<Result<T, ApiError>> {
        let response = self.client._post(path, Some(body)).await.map_err(|e| {
            anyhow!(
                "GitHub did not answer POST {path}: {}",
                describe_octocrab(&e)
            )
        })?;
        let status = response.status();
        let text = self.client.body_to_string(response).await.map_err(|e| {
            anyhow!(
                "reading GitHub's answer to POST {path}: {}",
                describe_octocrab(&e)
            )
        })?;
        if status.is_success() {
            let value = serde_json::from_str(&text).with_context(|| {
                format!("GitHub's answer to POST {path} is not what its API documents")
            })?;
            return Ok(Ok(value));
        }
        Ok(Err(api_error(status, &text)))
    }

    fn backoff(&self, attempt: u32) -> Duration {
        self.retry.base_delay * 2u32.saturating_pow(attempt.saturating_sub(1))
    }

    fn fail(&self, method: &str, path: &str, e: &ApiError) -> anyhow::Error {
        let hint = match e.status {
            StatusCode::UNAUTHORIZED => "; check the GitHub token or App key",
            StatusCode::FORBIDDEN => {
                "; the token or App lacks permission (pull requests: write, contents: write)"
            }
            StatusCode::NOT_FOUND => {
                "; check --github-repo, and that the token or App can see the repository"
            }
            _ => "",
        };
        let details = if e.details.is_empty() {
            String::new()
        } else {
            format!(" ({})", e.details.join("; "))
        };
        anyhow!(
            "GitHub answered {} to {method} {path}: {}{details}{hint}",
            e.status.as_u16(),
            e.message
        )
    }

    /// Pull requests whose head is `branch` of this repository, in any state.
    pub async fn pulls_for(&self, branch: &str) -> Result<Vec<Pull>> {
        let path = self.repo_path(&format!(
            "/pulls?head={}&state=all&per_page=100",
            crate::forge::markdown::query_component(&format!("{}:{branch}", self.owner))
        ));
        let pulls: Vec<Pull> = self.get(&path).await?;
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
        let path = self.repo_path("/pulls");
        let body = serde_json::json!({
            "title": spec.title,
            "head": spec.head,
            "base": spec.base,
            "body": spec.body,
            "draft": spec.draft,
            "maintainer_can_modify": false,
        });
        let mut attempt = 0;
        let created: Pull = loop {
            attempt += 1;
            match self.post::<Pull>(&path, &body).await {
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
                        || attempt >= self.retry.attempts =>
                {
                    return Err(self.fail("POST", &path, &e));
                }
                Ok(Err(_)) | Err(_) if attempt < self.retry.attempts => {
                    // The POST may have landed: look before sending it again.
                    if let Some(mut outcome) = self.existing(spec, now).await? {
                        if outcome.state == PullState::Found {
                            outcome.state = PullState::Created;
                            outcome.commented = false;
                        }
                        return Ok(outcome);
                    }
                    tokio::time::sleep(self.backoff(attempt)).await;
                }
                Ok(Err(e)) => return Err(self.fail("POST", &path, &e)),
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
        let open = pulls.iter().find(|p| p.state == "open");
        let Some(pull) = open.or_else(|| pulls.first()) else {
            return Ok(None);
        };
        let state = match (pull.state.as_str(), &pull.merged_at) {
            ("open", _) => PullState::Found,
            (_, Some(_)) => PullState::Merged,
            _ => PullState::Declined,
        };
        let mut commented = false;
        if state == PullState::Found && !spec.occurrence_comment.is_empty() {
            let comments: Vec<Comment> = self
                .get(&self.repo_path(&format!("/issues/{}/comments?per_page=100", pull.number)))
                .await?;
            let last_notice = comments
                .iter()
                .filter(|c| {
                    c.body
                        .as_deref()
                        .is_some_and(|b| b.starts_with(super::body::MARKER))
                })
                .map(|c| c.created_at)
                .chain([pull.created_at])
                .max()
                .unwrap_or(pull.created_at);
            let interval =
                chrono::Duration::from_std(spec.comment_interval).unwrap_or(chrono::Duration::MAX);
            if now - last_notice >= interval {
                let path = self.repo_path(&format!("/issues/{}/comments", pull.number));
                match self
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
        let mut calls = Vec::new();
        if !spec.labels.is_empty() {
            calls.push((
                self.repo_path(&format!("/issues/{number}/labels")),
                serde_json::json!({ "labels": spec.labels }),
                "labels",
            ));
        }
        if !spec.reviewers.is_empty() || !spec.team_reviewers.is_empty() {
            calls.push((
                self.repo_path(&format!("/pulls/{number}/requested_reviewers")),
                serde_json::json!({ "reviewers": spec.reviewers, "team_reviewers": spec.team_reviewers }),
                "reviewers",
            ));
        }
        if !spec.assignees.is_empty() {
            calls.push((
                self.repo_path(&format!("/issues/{number}/assignees")),
                serde_json::json!({ "assignees": spec.assignees }),
                "assignees",
            ));
        }
        let mut warnings = Vec::new();
        for (path, body, what) in calls {
            let problem = match self.post::<serde_json::Value>(&path, &body).await {
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
}

enum Wait {
    RateLimited(Duration),
    ServerError,
}

/// Whether (and how long) to wait before retrying a GET that got `status`.
fn retry_wait(status: StatusCode, headers: &http::HeaderMap, now: DateTime<Utc>) -> Option<Wait> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(seconds) = header("retry-after").and_then(|v| v.trim().parse::<u64>().ok()) {
        if status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::FORBIDDEN
            || status.is_server_error()
        {
            return Some(Wait::RateLimited(Duration::from_secs(seconds)));
        }
    }
    let exhausted = header("x-ratelimit-remaining") == Some("0");
    if exhausted && (status == StatusCode::FORBIDDEN || status == StatusCode::TOO_MANY_REQUESTS) {
        let reset = header("x-ratelimit-reset")
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or(0);
        let secs = (reset - now.timestamp()).max(0) as u64;
        return Some(Wait::RateLimited(
            Duration::from_secs(secs) + Duration::from_millis(250),
        ));
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Some(Wait::RateLimited(Duration::from_secs(60)));
    }
    status.is_server_error().then_some(Wait::ServerError)
}

fn api_error(status: StatusCode, body: &str) -> ApiError {
    let parsed: Option<ErrorBody> = serde_json::from_str(body).ok();
    let message = parsed
        .as_ref()
        .map(|b| b.message.clone())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
    let details = parsed
        .map(|b| {
            b.errors
                .into_iter()
                .filter_map(|e| e.message.or(e.code))
                .collect()
        })
        .unwrap_or_default();
    ApiError {
        status,
        message,
        details,
    }
}

/// octocrab's errors display as just "GitHub"; this unpacks the cause.
fn describe_octocrab(e: &octocrab::Error) -> String {
    let mut parts = vec![format!("{e}")];
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    parts.dedup();
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_as_github_says() {
        let now = DateTime::from_timestamp(1_000, 0).unwrap();
        let mut h = http::HeaderMap::new();
        h.insert("x-ratelimit-remaining", "0".parse().unwrap());
        h.insert("x-ratelimit-reset", "1005".parse().unwrap());
        match retry_wait(StatusCode::FORBIDDEN, &h, now) {
            Some(Wait::RateLimited(d)) => assert_eq!(d, Duration::from_millis(5_250)),
            _ => panic!("a rate-limit 403 waits for the reset"),
        }
        let mut h = http::HeaderMap::new();
        h.insert("retry-after", "7".parse().unwrap());
        assert!(
            matches!(retry_wait(StatusCode::TOO_MANY_REQUESTS, &h, now), Some(Wait::RateLimited(d)) if d == Duration::from_secs(7))
        );
        assert!(matches!(
            retry_wait(StatusCode::BAD_GATEWAY, &http::HeaderMap::new(), now),
            Some(Wait::ServerError)
        ));
        assert!(
            retry_wait(StatusCode::FORBIDDEN, &http::HeaderMap::new(), now).is_none(),
            "a permission 403 is final"
        );
        assert!(retry_wait(StatusCode::NOT_FOUND, &http::HeaderMap::new(), now).is_none());
    }

    #[test]
    fn reads_githubs_error_bodies() {
        let e = api_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            r#"{"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"A pull request already exists for acme:revertbot/x."}]}"#,
        );
        assert_eq!(e.message, "Validation Failed");
        assert_eq!(
            e.details,
            ["A pull request already exists for acme:revertbot/x."]
        );
        assert_eq!(
            api_error(StatusCode::BAD_GATEWAY, "<html>").message,
            "Bad Gateway"
        );
    }
}
