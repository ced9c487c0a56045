//! From the file's shape to a [`Config`]: defaults filled in, every value checked, every
//! problem reported with the key path to change.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::duration;
use super::file::{File, JournalFile, PullRequestFile, Scalar};
use super::model::Purpose;
use super::model::{
    Author, BasicAuth, Config, Forge, Git, GitHub, GitHubAuth, Guards, Hold, LogFormat,
    PostgresJournal, PullRequest, Repo, RevertOfRevert, Rule, Secret, SslMode, Tls, Webhook,
};
use super::postgres_url;
use crate::manifest::PathFilter;
use crate::matcher;

/// Environment variables that may hold secrets instead of a file.
pub const GITHUB_TOKEN_ENV: &str = "GITHUB_TOKEN";
pub const GIT_TOKEN_ENV: &str = "REVERTBOT_GIT_TOKEN";
pub const GIT_PASSWORD_ENV: &str = "REVERTBOT_GIT_PASSWORD";
pub const WEBHOOK_TOKEN_ENV: &str = "REVERTBOT_WEBHOOK_TOKEN";
pub const WEBHOOK_PASSWORD_ENV: &str = "REVERTBOT_WEBHOOK_PASSWORD";
pub const JOURNAL_PASSWORD_ENV: &str = "REVERTBOT_JOURNAL_PASSWORD";
/// Those of them that start with `REVERTBOT_`.
pub const SECRET_VARIABLES: &[&str] = &[
    GIT_TOKEN_ENV,
    GIT_PASSWORD_ENV,
    WEBHOOK_TOKEN_ENV,
    WEBHOOK_PASSWORD_ENV,
    JOURNAL_PASSWORD_ENV,
];

pub fn validate(
    file: File,
    env: &BTreeMap<String, String>,
    purpose: Purpose,
    problems: &mut Vec<String>,
) -> Option<Config> {
    let mut p = Problems(problems);
    let has_env = |name: &str| env.get(name).is_some_and(|v| !v.trim().is_empty());

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

    // The webhook: authentication is required, so that nobody who can reach the service can
    // make it open rollbacks.
    let w = file.webhook;
    let w_read_tokens = w.read_tokens_file.clone().map(Secret::File);
    let bearer_tokens = w
        .bearer_tokens_file
        .map(Secret::File)
        .or_else(|| has_env(WEBHOOK_TOKEN_ENV).then(|| Secret::Env(WEBHOOK_TOKEN_ENV.into())));
    let basic_auth = match w.basic_auth {
        None => None,
        Some(b) => {
            let password = b.password_file.map(Secret::File).or_else(|| {
                has_env(WEBHOOK_PASSWORD_ENV).then(|| Secret::Env(WEBHOOK_PASSWORD_ENV.into()))
            });
            match (b.username.filter(|u| !u.is_empty()), password) {
                (Some(username), Some(password)) => Some(BasicAuth { username, password }),
                (None, _) => {
                    p.push(
                        "webhook.basic_auth.username",
                        "give the user name Alertmanager sends".into(),
                    );
                    None
                }
                (Some(_), None) => {
                    p.push(
                        "webhook.basic_auth.password_file",
                        format!(
                            "give the file holding the password (or set {WEBHOOK_PASSWORD_ENV})"
                        ),
                    );
                    None
                }
            }
        }
    };
    if bearer_tokens.is_none() && basic_auth.is_none() {
        p.push(
            "webhook",
            format!(
                "set bearer_tokens_file (or {WEBHOOK_TOKEN_ENV}) or basic_auth: without them anyone who can reach the service could make it open rollbacks"
            ),
        );
    }
    let max_body_bytes = w.max_body_bytes.unwrap_or(1 << 20);
    if max_body_bytes < 1024 {
        p.push(
            "webhook.max_body_bytes",
            format!("{max_body_bytes}: give at least 1024 (Alertmanager's payloads are a few KiB)"),
        );
    }
    let header_read_timeout = p.timeout(
        "webhook.header_read_timeout",
        w.header_read_timeout.as_ref(),
        "10s",
    );
    let body_read_timeout = p.timeout(
        "webhook.body_read_timeout",
        w.body_read_timeout.as_ref(),
        "30s",
    );
    let idle_timeout = p.timeout("webhook.idle_timeout", w.idle_timeout.as_ref(), "60s");
    let max_connections = w.max_connections.unwrap_or(10_000);
    if max_connections < 16 {
        p.push(
            "webhook.max_connections",
            format!(
                "{max_connections}: give at least 16 (Alertmanager, probes and scrapes share them)"
            ),
        );
    }

    let tls = match file.tls {
        None => None,
        Some(t) => match (t.cert_file, t.key_file) {
            (Some(cert_file), Some(key_file)) => Some(Tls {
                cert_file,
                key_file,
            }),
            (None, _) => {
                p.push(
                    "tls.cert_file",
                    "give the certificate chain's PEM file".into(),
                );
                None
            }
            (_, None) => {
                p.push("tls.key_file", "give the private key's PEM file".into());
                None
            }
        },
    };

    let g = file.github;
    let api_url = g
        .api_url
        .unwrap_or_else(|| "https://api.github.com".into())
        .trim_end_matches('/')
        .to_string();
    if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
        p.push(
            "github.api_url",
            format!(
                "{api_url:?} is not an http(s) URL; GitHub Enterprise Server: https://HOST/api/v3"
            ),
        );
    }
    let auth = match (g.app, g.token_file) {
        (Some(_), Some(_)) => {
            p.push("github", "give token_file or app, not both".into());
            None
        }
        (Some(app), None) => match (app.id, app.key_file) {
            (Some(id), Some(key_file)) => Some(GitHubAuth::App {
                id,
                key_file,
                installation_id: app.installation_id,
            }),
            (None, _) => {
                p.push("github.app.id", "give the GitHub App's id".into());
                None
            }
            (_, None) => {
                p.push(
                    "github.app.key_file",
                    "give the GitHub App's private key file (PEM)".into(),
                );
                None
            }
        },
        (None, Some(file)) => Some(GitHubAuth::Token(Secret::File(file))),
        (None, None) if has_env(GITHUB_TOKEN_ENV) => {
            Some(GitHubAuth::Token(Secret::Env(GITHUB_TOKEN_ENV.into())))
        }
        (None, None) => None,
    };

    let git = file.git;
    let author = git.author.map_or(
        Author {
            name: "revertbot".into(),
            email: "revertbot@localhost".into(),
        },
        |a| Author {
            name: a.name.unwrap_or_else(|| "revertbot".into()),
            email: a.email.unwrap_or_else(|| "revertbot@localhost".into()),
        },
    );
    if author.name.trim().is_empty() || author.name.contains(['<', '>', '\n']) {
        p.push(
            "git.author.name",
            format!("{:?} cannot be a commit author's name", author.name),
        );
    }
    if !author.email.contains('@') || author.email.contains(['<', '>', '\n', ' ']) {
        p.push(
            "git.author.email",
            format!("{:?} is not an e-mail address", author.email),
        );
    }
    let password = match (git.token_file, git.password_file) {
        (Some(_), Some(_)) => {
            p.push("git", "give token_file or password_file, not both".into());
            None
        }
        (Some(f), None) | (None, Some(f)) => Some(Secret::File(f)),
        (None, None) if has_env(GIT_TOKEN_ENV) => Some(Secret::Env(GIT_TOKEN_ENV.into())),
        (None, None) if has_env(GIT_PASSWORD_ENV) => Some(Secret::Env(GIT_PASSWORD_ENV.into())),
        (None, None) => None,
    };
    let timeout_seconds = git.timeout_seconds.unwrap_or(60);
    if !(1..=3600).contains(&timeout_seconds) {
        p.push(
            "git.timeout_seconds",
            format!("{timeout_seconds}: give 1 to 3600"),
        );
    }

    let pull_request = p.pull_request(
        "pull_request",
        &file.pull_request,
        &PullRequest {
            labels: Vec::new(),
            reviewers: Vec::new(),
            team_reviewers: Vec::new(),
            assignees: Vec::new(),
            draft: false,
            comment_interval: Duration::from_secs(600),
        },
    );

    let gf = file.guards;
    let guards = Guards {
        dry_run: gf.dry_run.unwrap_or(false),
        max_rollbacks_per_repo_per_hour: gf.max_rollbacks_per_repo_per_hour.unwrap_or(3),
        max_alert_age: p.duration("guards.max_alert_age", gf.max_alert_age.as_ref(), "2h"),
        culprit_grace: p.duration("guards.culprit_grace", gf.culprit_grace.as_ref(), "10m"),
        revert_of_revert: match gf.revert_of_revert.as_deref().unwrap_or("refuse") {
            "refuse" => RevertOfRevert::Refuse,
            "allow" => RevertOfRevert::Allow,
            other => {
                p.push(
                    "guards.revert_of_revert",
                    format!("{other:?}: give refuse or allow"),
                );
                RevertOfRevert::Refuse
            }
        },
    };
    if guards.max_rollbacks_per_repo_per_hour == 0 {
        p.push(
            "guards.max_rollbacks_per_repo_per_hour",
            "0 would allow none; give at least 1 (or set guards.dry_run: true)".into(),
        );
    }
    if auth.is_none() && !guards.dry_run && forge == Forge::GitHub && purpose == Purpose::Serve {
        p.push(
            "github",
            format!(
                "no credentials to open pull requests: set token_file, app, or {GITHUB_TOKEN_ENV}; or set forge: local (pull requests kept in the journal) or guards.dry_run: true"
            ),
        );
    }

    let mut repos = Vec::new();
    let mut names = BTreeSet::new();
    if file.repos.is_empty() {
        p.push(
            "repos",
            "give at least one repository to roll back in".into(),
        );
    }
    for (i, r) in file.repos.into_iter().enumerate() {
        let at = |key: &str| format!("repos[{i}].{key}");
        let name = r.name.filter(|n| !n.trim().is_empty());
        let Some(name) = name else {
            p.push(
                &at("name"),
                "give the repository a name for rules to use".into(),
            );
            continue;
        };
        if !names.insert(name.clone()) {
            p.push(
                &at("name"),
                format!("{name:?} is the name of an earlier repository too"),
            );
        }
        let Some(url) = r.url.filter(|u| !u.trim().is_empty()) else {
            p.push(
                &at("url"),
                "give the repository's URL (or a local path)".into(),
            );
            continue;
        };
        if let Err(e) = PathFilter::new(&r.paths) {
            p.push(
                &at("paths"),
                e.render(&|_| String::new()).trim().to_string(),
            );
        }
        let github = match r.github {
            None => None,
            Some(g) => match g.split_once('/') {
                Some((o, n)) if !o.is_empty() && !n.is_empty() && !n.contains('/') => {
                    Some((o.to_string(), n.to_string()))
                }
                _ => {
                    p.push(&at("github"), format!("{g:?}: give OWNER/NAME"));
                    None
                }
            },
        };
        let pr = match &r.pull_request {
            Some(over) => p.pull_request(&at("pull_request"), over, &pull_request),
            None => pull_request.clone(),
        };
        let hold = match r.hold.as_deref() {
            None | Some("auto") => Hold::Auto,
            Some("none") => Hold::None,
            Some(other) => {
                p.push(&at("hold"), format!("{other:?}: give auto or none"));
                Hold::Auto
            }
        };
        repos.push(Repo {
            name,
            url,
            branch: r.branch.filter(|b| !b.is_empty()),
            paths: r.paths,
            github,
            pull_request: pr,
            hold,
        });
    }

    let mut rules = Vec::new();
    let mut rule_names = BTreeSet::new();
    if file.rules.is_empty() {
        p.push(
            "rules",
            "give at least one rule mapping alerts to a repository".into(),
        );
    }
    for (i, r) in file.rules.into_iter().enumerate() {
        let at = |key: &str| format!("rules[{i}].{key}");
        let name = r
            .name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| format!("rules[{i}]"));
        if !rule_names.insert(name.clone()) {
            p.push(
                &at("name"),
                format!("{name:?} is the name of an earlier rule too"),
            );
        }
        let mut matchers = Vec::new();
        for (j, m) in r.matchers.iter().enumerate() {
            match matcher::parse(m) {
                Ok(parsed) => matchers.extend(parsed),
                Err(e) => p.push(&format!("rules[{i}].matchers[{j}]"), e),
            }
        }
        let repo = match r.repo {
            Some(repo) if names.contains(&repo) => repo,
            Some(repo) => {
                p.push(
                    &at("repo"),
                    format!(
                        "{repo:?} is not a repository in repos (they are: {})",
                        list(&names)
                    ),
                );
                continue;
            }
            None => {
                p.push(&at("repo"), "give the name of a repository in repos".into());
                continue;
            }
        };
        let image_label = r.image_label.filter(|l| !l.is_empty());
        if let Some(label) = &image_label {
            if !is_label_name(label) {
                p.push(&at("image_label"), format!("{label:?} is not a label name"));
            }
        }
        let workload = r.workload.unwrap_or(false);
        if image_label.is_none() && !workload {
            p.push(
                &at("image_label"),
                "give image_label, or set workload: true, or both: the rule must say how to find the image".into(),
            );
        }
        rules.push(Rule {
            name,
            matchers,
            repo,
            image_label,
            workload,
        });
    }

    let journal = file
        .journal
        .and_then(|j| journal(j, |name| has_env(name), &mut p));

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
        webhook: Webhook {
            bearer_tokens,
            read_tokens: w_read_tokens,
            basic_auth,
            max_body_bytes,
            header_read_timeout,
            body_read_timeout,
            idle_timeout,
            max_connections,
        },
        tls,
        journal,
        github: GitHub { api_url, auth },
        git: Git {
            author,
            username: git.username,
            password,
            ssh_key_file: git.ssh_key_file,
            timeout: Duration::from_secs(timeout_seconds),
        },
        pull_request,
        guards,
        repos,
        rules,
    })
}

/// The PostgreSQL journal's settings; libpq's `sslmode` and `sslrootcert` may be written in
/// the URL, as libpq users do.
fn journal(
    j: JournalFile,
    has_env: impl Fn(&str) -> bool,
    p: &mut Problems<'_>,
) -> Option<PostgresJournal> {
    let Some(url) = j.url.filter(|u| !u.trim().is_empty()) else {
        p.push(
            "journal.url",
            "give the PostgreSQL database, like postgres://revertbot@db.example:5432/revertbot (without journal, the journal is SQLite in data_dir)".into(),
        );
        return None;
    };
    let parsed = match postgres_url::parse(&url) {
        Ok(parsed) => parsed,
        Err(what) => {
            p.push("journal.url", what);
            return None;
        }
    };
    let sslmode_text = j.sslmode.or(parsed.sslmode);
    let sslmode = match sslmode_text.as_deref() {
        None => SslMode::Prefer,
        Some(text) => match SslMode::parse(text) {
            Some(mode) => mode,
            None => {
                p.push(
                    "journal.sslmode",
                    format!("{text:?}: give disable, prefer, require, verify-ca or verify-full"),
                );
                return None;
            }
        },
    };
    let password = j.password_file.map(Secret::File).or_else(|| {
        has_env(JOURNAL_PASSWORD_ENV).then(|| Secret::Env(JOURNAL_PASSWORD_ENV.into()))
    });
    Some(PostgresJournal {
        url: parsed.url,
        password,
        sslmode,
        sslrootcert: j.sslrootcert.or(parsed.sslrootcert.map(PathBuf::from)),
    })
}

fn list(names: &BTreeSet<String>) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The problems found, each `key.path: what is wrong`.
struct Problems<'a>(&'a mut Vec<String>);

impl Problems<'_> {
    fn push(&mut self, key_path: &str, what: String) {
        self.0.push(format!("{key_path}: {what}"));
    }

    fn duration(&mut self, key_path: &str, value: Option<&Scalar>, default: &str) -> Duration {
        let text = value.map_or(default, |s| s.0.as_str());
        duration::parse(text).unwrap_or_else(|e| {
            self.push(key_path, e);
            duration::parse(default).expect("defaults are valid durations")
        })
    }

    /// A connection's time limit: a duration above zero.
    fn timeout(&mut self, key_path: &str, value: Option<&Scalar>, default: &str) -> Duration {
        let limit = self.duration(key_path, value, default);
        if limit.is_zero() {
            self.push(
                key_path,
                "0 would close every connection at once; give a duration like 10s".into(),
            );
            return duration::parse(default).expect("defaults are valid durations");
        }
        limit
    }

    /// Pull request settings: `over`'s values where given, else `base`'s.
    fn pull_request(
        &mut self,
        key_path: &str,
        over: &PullRequestFile,
        base: &PullRequest,
    ) -> PullRequest {
        let pick =
            |v: &Option<Vec<String>>, b: &Vec<String>| v.clone().unwrap_or_else(|| b.clone());
        let comment_interval = match &over.comment_interval {
            Some(s) => self.duration(&format!("{key_path}.comment_interval"), Some(s), "10m"),
            None => base.comment_interval,
        };
        PullRequest {
            labels: pick(&over.labels, &base.labels),
            reviewers: pick(&over.reviewers, &base.reviewers),
            team_reviewers: pick(&over.team_reviewers, &base.team_reviewers),
            assignees: pick(&over.assignees, &base.assignees),
            draft: over.draft.unwrap_or(base.draft),
            comment_interval,
        }
    }
}
