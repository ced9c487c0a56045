//! The shape of the configuration file. Each top-level section is read on its own, so that a
//! mistake in one does not hide those in the others; unknown keys are mistakes.

use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Default)]
pub struct File {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub log_format: Option<String>,
    pub shutdown_timeout: Option<Scalar>,
    pub retention: Option<Scalar>,
    pub workers: Option<usize>,
    pub forge: Option<String>,
    pub webhook: WebhookFile,
    pub tls: Option<TlsFile>,
    pub journal: Option<JournalFile>,
    pub github: GitHubFile,
    pub gitlab: Option<ForgeServerFile>,
    pub gitea: Option<ForgeServerFile>,
    pub git: GitFile,
    pub pull_request: PullRequestFile,
    pub guards: GuardsFile,
    pub registry: RegistryFile,
    pub repos: Vec<RepoFile>,
    pub rules: Vec<RuleFile>,
}

/// A scalar written as text or a number (`10m`, `0`), read as text.
#[derive(Debug, Clone)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(Scalar(s)),
            Value::Number(n) => Ok(Scalar(n.to_string())),
            other => Err(serde::de::Error::custom(format!(
                "expected a duration like 10m, found {other}"
            ))),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookFile {
    pub bearer_tokens_file: Option<PathBuf>,
    pub read_tokens_file: Option<PathBuf>,
    pub basic_auth: Option<BasicAuthFile>,
    pub max_body_bytes: Option<usize>,
    pub header_read_timeout: Option<Scalar>,
    pub body_read_timeout: Option<Scalar>,
    pub idle_timeout: Option<Scalar>,
    pub max_connections: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuthFile {
    pub username: Option<String>,
    pub password_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFile {
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalFile {
    pub url: Option<String>,
    pub password_file: Option<PathBuf>,
    pub sslmode: Option<String>,
    pub sslrootcert: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitHubFile {
    pub api_url: Option<String>,
    pub token_file: Option<PathBuf>,
    pub app: Option<AppFile>,
    pub webhook_secret_file: Option<PathBuf>,
}

/// `gitlab` and `gitea`: a forge server and the token revertbot signs in with.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForgeServerFile {
    pub url: Option<String>,
    pub token_file: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
    /// Gitea/Forgejo: the secret its webhook deliveries are signed with.
    pub webhook_secret_file: Option<PathBuf>,
    /// GitLab: the token its webhook deliveries carry (`X-Gitlab-Token`).
    pub webhook_token_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppFile {
    pub id: Option<u64>,
    pub key_file: Option<PathBuf>,
    pub installation_id: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitFile {
    pub author: Option<AuthorFile>,
    pub token_file: Option<PathBuf>,
    pub username: Option<String>,
    pub password_file: Option<PathBuf>,
    pub ssh_key_file: Option<PathBuf>,
    pub timeout_seconds: Option<u64>,
    pub signing: Option<SigningFile>,
    pub signoff: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningFile {
    pub format: Option<String>,
    pub key_file: Option<PathBuf>,
    pub passphrase_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorFile {
    pub name: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullRequestFile {
    pub labels: Option<Vec<String>>,
    pub reviewers: Option<Vec<String>>,
    pub team_reviewers: Option<Vec<String>>,
    pub assignees: Option<Vec<String>>,
    pub draft: Option<bool>,
    pub comment_interval: Option<Scalar>,
    /// At the top only: how often the forges are asked what became of open pull requests.
    pub poll_interval: Option<Scalar>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardsFile {
    pub dry_run: Option<bool>,
    pub max_rollbacks_per_repo_per_hour: Option<u32>,
    pub max_auto_merges_per_repo_per_hour: Option<u32>,
    pub max_alert_age: Option<Scalar>,
    pub culprit_grace: Option<Scalar>,
    pub revert_of_revert: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryFile {
    pub check: Option<bool>,
    pub on_missing: Option<String>,
    pub on_error: Option<String>,
    pub auth_file: Option<PathBuf>,
    #[serde(default)]
    pub plain_http: Vec<String>,
    pub timeout: Option<Scalar>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepoFile {
    pub name: Option<String>,
    pub url: Option<String>,
    pub branch: Option<String>,
    #[serde(default)]
    pub paths: Vec<String>,
    pub github: Option<String>,
    /// A project's full path or its numeric id.
    pub gitlab: Option<Scalar>,
    pub gitea: Option<String>,
    pub pull_request: Option<PullRequestFile>,
    pub hold: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    pub name: Option<String>,
    #[serde(default)]
    pub matchers: Vec<String>,
    pub repo: Option<String>,
    pub image_label: Option<String>,
    pub workload: Option<bool>,
    pub auto_merge: Option<String>,
}

const SECTIONS: &[&str] = &[
    "listen",
    "data_dir",
    "log_format",
    "shutdown_timeout",
    "retention",
    "workers",
    "forge",
    "webhook",
    "tls",
    "journal",
    "github",
    "gitlab",
    "gitea",
    "git",
    "pull_request",
    "guards",
    "registry",
    "repos",
    "rules",
];

/// Reads each section of the tree; what cannot be read is a problem, and left at its default.
pub fn sections(tree: Value, problems: &mut Vec<String>) -> File {
    let mut file = File::default();
    let Value::Object(map) = tree else {
        return file;
    };
    for (key, value) in map {
        if value.is_null() {
            continue;
        }
        let key = key.as_str();
        match key {
            "listen" => file.listen = read(key, value, problems),
            "data_dir" => file.data_dir = read(key, value, problems),
            "log_format" => file.log_format = read(key, value, problems),
            "shutdown_timeout" => file.shutdown_timeout = read(key, value, problems),
            "retention" => file.retention = read(key, value, problems),
            "workers" => file.workers = read(key, value, problems),
            "forge" => file.forge = read(key, value, problems),
            "webhook" => file.webhook = read(key, value, problems).unwrap_or_default(),
            "tls" => file.tls = read(key, value, problems),
            "journal" => file.journal = read(key, value, problems),
            "github" => file.github = read(key, value, problems).unwrap_or_default(),
            "gitlab" => file.gitlab = read(key, value, problems),
            "gitea" => file.gitea = read(key, value, problems),
            "git" => file.git = read(key, value, problems).unwrap_or_default(),
            "pull_request" => file.pull_request = read(key, value, problems).unwrap_or_default(),
            "guards" => file.guards = read(key, value, problems).unwrap_or_default(),
            "registry" => file.registry = read(key, value, problems).unwrap_or_default(),
            "repos" => file.repos = read_list(key, value, problems),
            "rules" => file.rules = read_list(key, value, problems),
            other => problems.push(format!(
                "{other}: not a setting; the settings are {}",
                SECTIONS.join(", ")
            )),
        }
    }
    file
}

fn read<T: DeserializeOwned>(key: &str, value: Value, problems: &mut Vec<String>) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(v) => Some(v),
        Err(e) => {
            let path = e.path().to_string();
            let at = if path == "." {
                key.to_string()
            } else if path.starts_with('[') {
                format!("{key}{path}")
            } else {
                format!("{key}.{path}")
            };
            problems.push(format!("{at}: {}", e.inner()));
            None
        }
    }
}

/// A list whose items are read one by one, so that each bad item is reported.
fn read_list<T: DeserializeOwned>(key: &str, value: Value, problems: &mut Vec<String>) -> Vec<T> {
    match value {
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .filter_map(|(i, item)| read(&format!("{key}[{i}]"), item, problems))
            .collect(),
        other => {
            problems.push(format!("{key}: expected a list, found {other}"));
            Vec::new()
        }
    }
}
