//! GitHub through octocrab: the client a deployment builds once (token or GitHub App, with
//! each repository's installation looked up once), and the REST calls with retries that can
//! never duplicate a pull request.
//!
//! octocrab's own retry layer is not compiled in (its default re-sends POSTs); GETs are retried
//! here on 5xx, 429 and rate-limit 403s, honouring `Retry-After` and `x-ratelimit-reset`. A
//! POST is never re-sent blindly: after a failure the state is read again first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use http::StatusCode;
use octocrab::models::{AppId, InstallationId};
use octocrab::Octocrab;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tracing::warn;

use super::github_graphql::GraphQl;
pub use super::retry::RetryPolicy;
use super::retry::{retry_wait, Wait};
use crate::clock::Clock;
use crate::error::{Error, Input, Kind};

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

/// How a deployment talks to GitHub.
#[derive(Debug, Clone)]
pub struct GitHubSettings {
    /// `https://api.github.com`, or `https://ghe.example.com/api/v3`.
    pub api_url: String,
    pub auth: GitHubAuth,
    pub retry: RetryPolicy,
    pub timeout: Duration,
}

/// A repository on GitHub.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepoName {
    pub owner: String,
    pub name: String,
}

impl std::fmt::Display for RepoName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// The calls, with their retry policy, through one octocrab client.
#[derive(Clone)]
pub(super) struct Api {
    /// Shared, not cloned: a clone of an octocrab client gets a copy of its token cache.
    client: Arc<Octocrab>,
    pub(super) retry: RetryPolicy,
    clock: Arc<dyn Clock>,
}

impl RepoName {
    /// The repository on GitHub: as given, or read from the remote URL.
    pub fn resolve(given: Option<&RepoName>, push_url: Option<&str>) -> Result<RepoName> {
        if let Some(given) = given {
            return Ok(given.clone());
        }
        let url = push_url.unwrap_or_default();
        crate::remote_url::repo_of_remote(url)
            .map(|(_, owner, name)| RepoName { owner, name })
            .ok_or_else(|| {
                Error::new(Kind::Usage)
                    .text(format!(
                        "cannot tell the GitHub repository from the remote {:?}; give ",
                        crate::gitstore::remote::redact(url)
                    ))
                    .input(Input::GitHubRepo)
                    .text(" OWNER/NAME")
                    .into()
            })
    }
}

/// A deployment's GitHub: built once, shared by every job.
pub struct GitHub {
    /// With a token, the client for every repository; with an App, the App's own (JWT) client.
    api: Api,
    graphql: Arc<GraphQl>,
    app: Option<AppInstallations>,
    /// The personal access token, for `git push` over HTTPS.
    token: Option<String>,
}

/// A GitHub App's installations: found once per repository, and one client per installation,
/// which keeps its installation token until it is about to expire.
struct AppInstallations {
    app_id: u64,
    /// The installation to use for every repository, when configured.
    fixed: Option<u64>,
    by_repo: Mutex<HashMap<RepoName, u64>>,
    clients: Mutex<HashMap<u64, Arc<Octocrab>>>,
}

/// GitHub for one repository.
pub struct Repo {
    pub(super) api: Api,
    pub(super) graphql: Arc<GraphQl>,
    pub(super) name: RepoName,
    /// The personal access token; `None` with an App (installation tokens are minted).
    token: Option<String>,
}

/// What a call answered, when it was not a success.
#[derive(Debug, Clone)]
pub(super) struct ApiError {
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

#[derive(Debug, Deserialize)]
struct Installation {
    id: u64,
}

impl GitHub {
    /// Builds the client; reads nothing from GitHub yet. Call within a tokio runtime.
    pub fn new(settings: &GitHubSettings, clock: Arc<dyn Clock>) -> Result<GitHub> {
        let builder = Octocrab::builder()
            .base_uri(settings.api_url.as_str())
            .map_err(|_| {
                Error::new(Kind::Usage)
                    .input(Input::GitHubApiUrl)
                    .text(format!(" {:?} is not a URL", settings.api_url))
            })?
            .set_connect_timeout(Some(settings.timeout))
            .set_read_timeout(Some(settings.timeout))
            .set_write_timeout(Some(settings.timeout));
        let (client, app, token) = match &settings.auth {
            GitHubAuth::Token(token) => (
                builder.personal_token(token.clone()).build()?,
                None,
                Some(token.clone()),
            ),
            GitHubAuth::App {
                app_id,
                private_key_pem,
                installation_id,
            } => {
                let key =
                    jsonwebtoken::EncodingKey::from_rsa_pem(private_key_pem).map_err(|e| {
                        Error::new(Kind::Usage)
                            .input(Input::GitHubAppKey)
                            .text(format!(" is not an RSA private key in PEM form: {e}"))
                    })?;
                let installations = AppInstallations {
                    app_id: *app_id,
                    fixed: *installation_id,
                    by_repo: Mutex::default(),
                    clients: Mutex::default(),
                };
                (
                    builder.app(AppId(*app_id), key).build()?,
                    Some(installations),
                    None,
                )
            }
        };
        Ok(GitHub {
            api: Api {
                client: Arc::new(client),
                retry: settings.retry.clone(),
                clock,
            },
            app,
            token,
            graphql: Arc::new(GraphQl::new(&settings.api_url, settings.timeout)?),
        })
    }

    /// GitHub for one repository: with an App, through the repository's installation (looked
    /// up once per repository, for the life of this client).
    pub async fn repo(&self, name: &RepoName) -> Result<Repo> {
        let Some(app) = &self.app else {
            return Ok(Repo {
                api: self.api.clone(),
                graphql: self.graphql.clone(),
                name: name.clone(),
                token: self.token.clone(),
            });
        };
        let known = app.fixed.or_else(|| {
            let by_repo = app.by_repo.lock().expect("installations lock");
            by_repo.get(name).copied()
        });
        let installation = match known {
            Some(id) => id,
            None => {
                let path = format!("/repos/{}/{}/installation", name.owner, name.name);
                let found: Installation = self.api.get(&path).await.map_err(|e| {
                    let error = Error::new(Kind::Usage).text(format!(
                        "GitHub App {} is not installed on {name} (or its key is wrong); install it there or give ",
                        app.app_id
                    ))
                    .input(Input::GitHubInstallation);
                    e.context(error)
                })?;
                app.by_repo
                    .lock()
                    .expect("installations lock")
                    .insert(name.clone(), found.id);
                found.id
            }
        };
        let client = {
            let mut clients = app.clients.lock().expect("installations lock");
            match clients.get(&installation) {
                Some(client) => client.clone(),
                None => {
                    let client =
                        Arc::new(self.api.client.installation(InstallationId(installation))?);
                    clients.insert(installation, client.clone());
                    client
                }
            }
        };
        Ok(Repo {
            api: Api {
                client,
                retry: self.api.retry.clone(),
                clock: self.api.clock.clone(),
            },
            graphql: self.graphql.clone(),
            name: name.clone(),
            token: None,
        })
    }
}

impl Repo {
    /// A token for `git push` to this GitHub: the PAT, or a fresh installation token.
    pub async fn git_token(&self) -> Result<String> {
        if let Some(token) = &self.token {
            return Ok(token.clone());
        }
        use secrecy::ExposeSecret;
        let token = self.api.client.installation_token().await.map_err(|e| {
            Error::transient(format!(
                "cannot get an installation token from GitHub: {}",
                describe_octocrab(&e)
            ))
        })?;
        Ok(token.expose_secret().to_string())
    }

    pub(super) fn path(&self, rest: &str) -> String {
        format!("/repos/{}/{}{rest}", self.name.owner, self.name.name)
    }
}

impl Api {
    /// GET with retries on 5xx, 429 and rate limits.
    pub(super) async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
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
                    return Err(Error::transient(format!(
                        "GitHub did not answer GET {path}: {}",
                        describe_octocrab(&e)
                    ))
                    .into())
                }
            };
            let status = response.status();
            let wait = retry_wait(status, response.headers(), self.clock.now());
            let body = self.client.body_to_string(response).await.map_err(|e| {
                Error::transient(format!(
                    "reading GitHub's answer to GET {path}: {}",
                    describe_octocrab(&e)
                ))
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
                        return Err(Error::transient(format!(
                            "GitHub rate limit exceeded for GET {path} ({}); it resets in {} s; try again then",
                            error.message,
                            delay.as_secs()
                        ))
                        .into());
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
    pub(super) async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<Result<T, ApiError>> {
        let response = self.client._post(path, Some(body)).await.map_err(|e| {
            Error::transient(format!(
                "GitHub did not answer POST {path}: {}",
                describe_octocrab(&e)
            ))
        })?;
        let status = response.status();
        let text = self.client.body_to_string(response).await.map_err(|e| {
            Error::transient(format!(
                "reading GitHub's answer to POST {path}: {}",
                describe_octocrab(&e)
            ))
        })?;
        if status.is_success() {
            let value = serde_json::from_str(&text).with_context(|| {
                format!("GitHub's answer to POST {path} is not what its API documents")
            })?;
            return Ok(Ok(value));
        }
        Ok(Err(api_error(status, &text)))
    }

    pub(super) fn backoff(&self, attempt: u32) -> Duration {
        self.retry.backoff(attempt)
    }

    pub(super) fn fail(&self, method: &str, path: &str, e: &ApiError) -> anyhow::Error {
        let details = if e.details.is_empty() {
            String::new()
        } else {
            format!(" ({})", e.details.join("; "))
        };
        let kind = match e.status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => Kind::Usage,
            s if s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS => Kind::Transient,
            _ => Kind::Internal,
        };
        let error = Error::new(kind).text(format!(
            "GitHub answered {} to {method} {path}: {}{details}",
            e.status.as_u16(),
            e.message
        ));
        match e.status {
            StatusCode::UNAUTHORIZED => error.text("; check the GitHub token or App key"),
            StatusCode::FORBIDDEN => error.text(
                "; the token or App lacks permission (pull requests: write, contents: write)",
            ),
            StatusCode::NOT_FOUND => error
                .text("; check ")
                .input(Input::GitHubRepo)
                .text(", and that the token or App can see the repository"),
            _ => error,
        }
        .into()
    }
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
