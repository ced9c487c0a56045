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
    /// GitLab (gitlab.com unless `gitlab.url` says another).
    pub gitlab: ForgeServer,
    /// Gitea or Forgejo, when configured.
    pub gitea: Option<ForgeServer>,
    pub git: Git,
    pub pull_request: PullRequest,
    pub guards: Guards,
    pub registry: Registry,
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
    /// The secret GitHub signs its webhook deliveries with (`POST /webhooks/github`); `None`:
    /// that webhook is off.
    #[serde(rename = "webhook_secret_file")]
    pub webhook_secret: Option<Secret>,
}

/// `gitlab` or `gitea`: a forge server, and the token revertbot signs in with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForgeServer {
    /// Its web address (`https://gitlab.example.com`); the API is under it.
    pub url: String,
    /// `None`: no credentials (previews, dry runs, or no repository on this forge).
    #[serde(rename = "token_file")]
    pub token: Option<Secret>,
    /// The certificate authority a self-managed instance's certificate is signed by.
    pub ca_file: Option<PathBuf>,
    /// The secret its webhook deliveries are signed with (Gitea and Forgejo); `None`: that
    /// webhook is off.
    #[serde(rename = "webhook_secret_file")]
    pub webhook_secret: Option<Secret>,
    /// The token its webhook deliveries carry (GitLab's `X-Gitlab-Token`: GitLab does not
    /// sign); `None`: that webhook is off.
    #[serde(rename = "webhook_token_file")]
    pub webhook_token: Option<Secret>,
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
    /// `git.signing`: the key every commit revertbot writes is signed with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing: Option<Signing>,
    /// `git.signoff`: every commit signed off (`Signed-off-by:`) by the author.
    pub signoff: bool,
}

/// `git.signing`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signing {
    /// `None`: read from the key file (an OpenSSH private key is `ssh`, else `openpgp`).
    pub format: Option<SigningFormat>,
    pub key_file: PathBuf,
    pub passphrase_file: Option<PathBuf>,
}

/// `git.signing.format`: git's `gpg.format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SigningFormat {
    OpenPgp,
    Ssh,
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
    /// How often the forges are asked what became of the pull requests recorded open (a merge
    /// learnt without a webhook); zero: never. Set at the top only, one for every repository.
    #[serde(serialize_with = "ser_duration")]
    pub poll_interval: Duration,
}

/// `registry`: whether the images a rollback deploys again are looked up in their registries
/// before it is pushed, and what a missing one or an unanswered check does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Registry {
    pub check: bool,
    pub on_missing: OnMissing,
    pub on_error: OnError,
    /// A Docker config file (`.dockerconfigjson`) with credentials per registry host.
    pub auth_file: Option<PathBuf>,
    /// Hosts spoken to over plain HTTP.
    pub plain_http: Vec<String>,
    #[serde(serialize_with = "ser_duration")]
    pub timeout: Duration,
}

/// `registry.on_missing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnMissing {
    Skip,
    Open,
}

/// `registry.on_error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    Open,
    Skip,
}

#[derive(Debug, Clone, Serialize)]
pub struct Guards {
    /// Everything except the push and the pull request; what would happen is recorded.
    pub dry_run: bool,
    pub max_rollbacks_per_repo_per_hour: u32,
    /// Rollbacks per repository per hour whose auto-merge is turned on, by all replicas; past
    /// it they wait for review.
    pub max_auto_merges_per_repo_per_hour: u32,
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
    /// The forge its pull requests go to, and the repository's name there.
    pub forge: RepoForge,
    /// The service's pull request settings with this repository's overrides applied.
    pub pull_request: PullRequest,
    /// Whether rollbacks also hold the bad version.
    pub hold: Hold,
}

/// Where a repository's pull (or merge) requests go: its `github`, `gitlab` or `gitea` key,
/// else the forge its URL's host belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RepoForge {
    /// `OWNER/NAME` on GitHub; `None`: read from the remote at run time (a local path's remote).
    #[serde(serialize_with = "ser_owner_name")]
    GitHub(Option<(String, String)>),
    /// A project's full path (any depth of groups) or its numeric id.
    GitLab(String),
    /// `OWNER/NAME` on Gitea or Forgejo.
    #[serde(serialize_with = "ser_pair")]
    Gitea((String, String)),
}

impl RepoForge {
    /// The forge's name, as the configuration spells its key.
    pub fn name(&self) -> &'static str {
        match self {
            RepoForge::GitHub(_) => "github",
            RepoForge::GitLab(_) => "gitlab",
            RepoForge::Gitea(_) => "gitea",
        }
    }
}

impl Repo {
    /// `OWNER/NAME` on GitHub, when the repository's forge is GitHub and names it.
    pub fn github_repo(&self) -> Option<&(String, String)> {
        match &self.forge {
            RepoForge::GitHub(name) => name.as_ref(),
            _ => None,
        }
    }
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
    /// `auto_merge`: the forge merges the rollback itself once the repository's required
    /// checks pass, this way; `None`: it waits for review.
    pub auto_merge: Option<MergeMethod>,
}

/// How a rollback that merges itself is merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MergeMethod {
    Merge,
    Squash,
    Rebase,
}

impl MergeMethod {
    pub fn parse(s: &str) -> Option<MergeMethod> {
        match s {
            "merge" => Some(MergeMethod::Merge),
            "squash" => Some(MergeMethod::Squash),
            "rebase" => Some(MergeMethod::Rebase),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MergeMethod::Merge => "merge",
            MergeMethod::Squash => "squash",
            MergeMethod::Rebase => "rebase",
        }
    }
}

fn ser_duration<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&duration::format(*d))
}

fn ser_seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

fn ser_pair<S: serde::Serializer>(r: &(String, String), s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{}/{}", r.0, r.1))
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
