//! The configuration as the service uses it: validated, defaults filled in.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::duration;
use crate::matcher::Matcher;

/// A validated configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub log_format: LogFormat,
    #[serde(serialize_with = "ser_duration")]
    pub shutdown_timeout: Duration,
    /// Deliveries, and finished jobs, older than this are deleted from the journal; zero: kept
    /// for ever.
    #[serde(serialize_with = "ser_duration")]
    pub retention: Duration,
    /// Jobs run at once (at most one per repository).
    pub workers: usize,
    /// Where rollback pull requests are opened.
    pub forge: Forge,
    pub webhook: Webhook,
    pub tls: Option<Tls>,
    /// The shared PostgreSQL journal; `None`: SQLite in `data_dir`.
    pub journal: Option<PostgresJournal>,
    pub github: GitHub,
    pub git: Git,
    pub pull_request: PullRequest,
    pub guards: Guards,
    pub repos: Vec<Repo>,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// `forge`: where rollback pull requests are opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Forge {
    /// On GitHub (`github.*` says how to reach it).
    GitHub,
    /// In the journal, shown on the status page: no GitHub needed (a trial, the demo).
    Local,
}

/// Where a secret comes from; the value itself is read at start-up, and never shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Secret {
    /// A file holding it (trailing white space trimmed).
    File(PathBuf),
    /// An environment variable holding it.
    Env(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct Webhook {
    /// Bearer tokens accepted on `/alerts`, one a line; re-read when the file changes.
    #[serde(rename = "bearer_tokens_file")]
    pub bearer_tokens: Option<Secret>,
    pub basic_auth: Option<BasicAuth>,
    /// Tokens that may only read the status page, one a line; re-read when the file changes.
    #[serde(rename = "read_tokens_file")]
    pub read_tokens: Option<Secret>,
    pub max_body_bytes: usize,
    /// A connection is closed when a request's head takes longer than this to arrive, from the
    /// connection's start or the request's first byte.
    #[serde(serialize_with = "ser_duration")]
    pub header_read_timeout: Duration,
    /// A connection is closed when a request's body takes longer than this after its head.
    #[serde(serialize_with = "ser_duration")]
    pub body_read_timeout: Duration,
    /// A connection that sends nothing for this long after an answer is closed.
    #[serde(serialize_with = "ser_duration")]
    pub idle_timeout: Duration,
    /// Connections open at once (lowered to what the open-files limit allows); past it the
    /// oldest that have not completed a request are closed.
    pub max_connections: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct BasicAuth {
    pub username: String,
    #[serde(rename = "password_file")]
    pub password: Secret,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tls {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

/// Where replicas keep their one journal.
#[derive(Debug, Clone, Serialize)]
pub struct PostgresJournal {
    /// `postgres://USER@HOST[:PORT]/DATABASE[?OPTIONS]`, without password or TLS options.
    pub url: String,
    #[serde(rename = "password_file")]
    pub password: Option<Secret>,
    pub sslmode: SslMode,
    pub sslrootcert: Option<PathBuf>,
}

/// TLS to PostgreSQL, as libpq's `sslmode` means it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn parse(text: &str) -> Option<SslMode> {
        Some(match text {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct GitHub {
    pub api_url: String,
    /// How pull requests are opened; `None`: no credentials, so none are (dry runs only).
    #[serde(flatten)]
    pub auth: Option<GitHubAuth>,
}

#[derive(Debug, Clone, Serialize)]
pub enum GitHubAuth {
    #[serde(rename = "token_file")]
    Token(Secret),
    #[serde(rename = "app")]
    App {
        id: u64,
        key_file: PathBuf,
        installation_id: Option<u64>,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct Git {
    pub author: Author,
    pub username: Option<String>,
    /// An HTTPS token or password.
    #[serde(rename = "token_file")]
    pub password: Option<Secret>,
    pub ssh_key_file: Option<PathBuf>,
    #[serde(rename = "timeout_seconds", serialize_with = "ser_seconds")]
    pub timeout: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct Author {
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PullRequest {
    pub labels: Vec<String>,
    pub reviewers: Vec<String>,
    pub team_reviewers: Vec<String>,
    pub assignees: Vec<String>,
    pub draft: bool,
    /// At most one "fired again" comment per pull request in this interval.
    #[serde(serialize_with = "ser_duration")]
    pub comment_interval: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct Guards {
    /// Everything except the push and the pull request; what would happen is recorded.
    pub dry_run: bool,
    pub max_rollbacks_per_repo_per_hour: u32,
    /// Alerts that started longer ago are not acted on.
    #[serde(serialize_with = "ser_duration")]
    pub max_alert_age: Duration,
    /// The culprit must have been committed before the alert started plus this.
    #[serde(serialize_with = "ser_duration")]
    pub culprit_grace: Duration,
    pub revert_of_revert: RevertOfRevert,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RevertOfRevert {
    Refuse,
    Allow,
}

#[derive(Debug, Clone, Serialize)]
pub struct Repo {
    pub name: String,
    /// A URL `revert` accepts, or a local path.
    pub url: String,
    /// The branch rollbacks go on; default: the remote's default branch.
    pub branch: Option<String>,
    /// Where to look for images (globs, as `locate --path`); empty: everywhere.
    pub paths: Vec<String>,
    /// `OWNER/NAME` on GitHub; default: read from the URL.
    #[serde(serialize_with = "ser_owner_name")]
    pub github: Option<(String, String)>,
    /// The service's pull request settings with this repository's overrides applied.
    pub pull_request: PullRequest,
    /// Whether rollbacks also hold the bad version.
    pub hold: Hold,
}

/// `repos[].hold`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Hold {
    /// Where the repository configures image automation.
    Auto,
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    pub name: String,
    #[serde(serialize_with = "ser_matchers")]
    pub matchers: Vec<Matcher>,
    /// The name of a repository in `repos`.
    pub repo: String,
    /// The label that names the image, when the alert has it.
    pub image_label: Option<String>,
    /// Else find the image from the workload labels.
    pub workload: bool,
}

fn ser_duration<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&duration::format(*d))
}

fn ser_seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

fn ser_owner_name<S: serde::Serializer>(
    r: &Option<(String, String)>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match r {
        Some((owner, name)) => s.serialize_str(&format!("{owner}/{name}")),
        None => s.serialize_none(),
    }
}

impl Serialize for Secret {
    /// A file's path, or the variable it comes from: the value is never written.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Secret::File(path) => s.serialize_str(&path.display().to_string()),
            Secret::Env(var) => s.serialize_str(&format!("(from ${var}, masked)")),
        }
    }
}

fn ser_matchers<S: serde::Serializer>(m: &[Matcher], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(m.iter().map(ToString::to_string))
}

/// What a configuration is loaded for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Running the service: everything it needs must be there.
    Serve,
    /// Reading what it did or would do: no credentials needed.
    Inspect,
}
