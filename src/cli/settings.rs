//! Flags to the engine's typed settings and jobs, validated and with secrets read once. Every
//! message here names the flag to change.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use revertbot::alert::Payload;
use revertbot::error::Error;
use revertbot::forge::github::{GitHubAuth, GitHubSettings, RepoName, RetryPolicy};
use revertbot::forge::pulls::PullDress;
use revertbot::forge::{ForgeKind, ForgeSettings, RepoOnForge, ServerSettings};
use revertbot::gitstore::remote::{GitAuth, Network, Source};
use revertbot::gitstore::signing::{self, Format, KeySource};
use revertbot::image::ImageRef;
use revertbot::manifest::kustomize::WorkloadKind;
use revertbot::manifest::PathFilter;
use revertbot::pipeline::{PullOptions, RegistryCheck};
use revertbot::registry::{Credentials, Policy, RegistrySettings};
use revertbot::revert::{Author, CommitSigning, GitSettings, HoldPolicy, Target};
use revertbot::subject::{Named, Subject};

use super::args::{
    ForgeArg, ForgeArgs, ForgeTokenArgs, GitArgs, GitHubArgs, HoldArg, OnOff, PullArgs,
    RegistryArgs, SigningFormatArg, TargetArgs,
};

/// The time limit for talking to remotes when no command sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

pub fn target(args: &TargetArgs) -> Result<Target> {
    let image = match &args.image {
        Some(image) => Some(parse_image(image)?),
        None => None,
    };
    Ok(Target {
        source: Source::parse(&args.repo),
        base: args.base.clone(),
        subject: match (args.commit.clone(), image) {
            (Some(commit), image) => Some(Subject::Commit { commit, image }),
            (None, Some(image)) => Some(Subject::Image(image)),
            // The rollback says what to give.
            (None, None) => None,
        },
        paths: PathFilter::new(&args.paths)?,
        whole_commit: args.whole_commit,
        allow_revert_of_revert: args.allow_revert_of_revert,
        committed_by: None,
        hold: match args.hold {
            HoldArg::Auto => HoldPolicy::Auto,
            HoldArg::None => HoldPolicy::None,
        },
    })
}

/// `--workload NAMESPACE/KIND/NAME` (`*` for any namespace; kinds in any case).
pub fn parse_workload(spec: &str, container: Option<&str>) -> Result<Named> {
    let bad = || {
        Error::usage(format!(
            "--workload {spec:?}: give NAMESPACE/KIND/NAME, KIND one of deployment, statefulset, daemonset, cronjob, job, rollout (NAMESPACE * for any)"
        ))
    };
    let parts: Vec<&str> = spec.split('/').collect();
    let [namespace, kind, name] = parts.as_slice() else {
        return Err(bad().into());
    };
    let kind = match kind.to_ascii_lowercase().as_str() {
        "deployment" | "deploy" => WorkloadKind::Deployment,
        "statefulset" | "sts" => WorkloadKind::StatefulSet,
        "daemonset" | "ds" => WorkloadKind::DaemonSet,
        "cronjob" | "cj" => WorkloadKind::CronJob,
        "job" => WorkloadKind::Job,
        "rollout" | "ro" => WorkloadKind::Rollout,
        _ => return Err(bad().into()),
    };
    if name.is_empty() || namespace.is_empty() {
        return Err(bad().into());
    }
    Ok(Named {
        namespace: (*namespace != "*").then(|| namespace.to_string()),
        kind: Some(kind),
        name: name.to_string(),
        container: container.map(str::to_string),
    })
}

pub fn parse_image(image: &str) -> Result<ImageRef> {
    ImageRef::parse(image).map_err(|e| Error::usage(format!("--image: {e}")).into())
}

pub fn timeout(git: &GitArgs) -> Result<Duration> {
    if !(git.timeout.is_finite() && git.timeout > 0.0) {
        return Err(Error::usage(format!(
            "--timeout {}: give a number of seconds above 0",
            git.timeout
        ))
        .into());
    }
    Ok(Duration::from_secs_f64(git.timeout))
}

pub fn git_settings(cache_dir: PathBuf, git: &GitArgs) -> Result<GitSettings> {
    let timeout = timeout(git)?;
    if let Some(key) = &git.ssh_key {
        if !key.is_file() {
            return Err(Error::usage(format!("--ssh-key {}: no such file", key.display())).into());
        }
    }
    let (username, password) = match (&git.git_token, &git.git_password) {
        (Some(token), _) => (
            Some(
                git.git_username
                    .clone()
                    .unwrap_or_else(|| "x-access-token".into()),
            ),
            Some(token.clone()),
        ),
        (None, password) => (git.git_username.clone(), password.clone()),
    };
    Ok(GitSettings {
        cache_dir,
        author: Author {
            name: git.author_name.clone(),
            email: git.author_email.clone(),
        },
        network: Network {
            auth: GitAuth {
                username,
                password,
                ssh_key: git.ssh_key.clone(),
            },
            timeout,
            progress: super::progress::fetch(),
            cancel: Default::default(),
        },
        commits: commit_signing(git)?,
    })
}

/// `--signing-key` read and proven to sign before anything is fetched; `--signoff`.
fn commit_signing(git: &GitArgs) -> Result<CommitSigning> {
    let signer = match &git.signing_key {
        None => None,
        Some(key_file) => Some(std::sync::Arc::new(signing::load(&KeySource {
            format: git.signing_format.map(|f| match f {
                SigningFormatArg::Openpgp => Format::OpenPgp,
                SigningFormatArg::Ssh => Format::Ssh,
            }),
            key_file,
            key_name: "--signing-key",
            passphrase_file: git.signing_passphrase_file.as_deref(),
            passphrase_name: "--signing-passphrase-file",
        })?)),
    };
    Ok(CommitSigning {
        signer,
        signoff: git.signoff,
    })
}

/// Git settings for work that never reaches a remote (previews, the demo).
pub fn offline_git_settings(cache_dir: PathBuf) -> GitSettings {
    GitSettings {
        cache_dir,
        author: Author {
            name: "revertbot".into(),
            email: "revertbot@localhost".into(),
        },
        network: Network {
            auth: GitAuth::default(),
            timeout: DEFAULT_TIMEOUT,
            progress: None,
            cancel: Default::default(),
        },
        commits: CommitSigning::default(),
    }
}

pub fn cache_dir(given: Option<&PathBuf>) -> PathBuf {
    given.cloned().unwrap_or_else(default_cache_dir)
}

/// `$XDG_CACHE_HOME/revertbot`, else `~/.cache/revertbot`, else a directory under /tmp.
pub fn default_cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("revertbot")
}

pub fn read_alert(target: &TargetArgs) -> Result<Option<Payload>> {
    let Some(path) = &target.alert else {
        return Ok(None);
    };
    let bytes = std::fs::read(path)
        .map_err(|e| Error::usage(format!("--alert {}: {e}", path.display())))?;
    let payload = Payload::from_json(&bytes)
        .map_err(|e| Error::usage(format!("--alert {}: {e}", path.display())))?;
    Ok(Some(payload))
}

pub fn pull_options(pull: &PullArgs, (repo, forge): ForgeChoice) -> PullOptions {
    PullOptions {
        repo,
        forge,
        dress: PullDress {
            draft: pull.draft,
            labels: pull.labels.clone(),
            reviewers: pull.reviewers.clone(),
            team_reviewers: pull.team_reviewers.clone(),
            assignees: pull.assignees.clone(),
        },
        comment_interval: Duration::from_secs(pull.comment_interval),
        auto_merge: None,
    }
}

/// GitHub's address and credentials, the secrets read once.
pub fn github_settings(gh: &GitHubArgs, timeout: Duration) -> Result<GitHubSettings> {
    let read_secret = |path: &PathBuf, flag: &str| -> Result<Vec<u8>> {
        std::fs::read(path)
            .map_err(|e| Error::usage(format!("{flag} {}: {e}", path.display())).into())
    };
    let auth = match (&gh.github_app_id, &gh.github_app_key_file, &gh.github_token_file, &gh.github_token) {
        (Some(app_id), Some(key), _, _) => GitHubAuth::App {
            app_id: *app_id,
            private_key_pem: read_secret(key, "--github-app-key-file")?,
            installation_id: gh.github_installation_id,
        },
        (Some(_), None, _, _) => {
            return Err(Error::usage("--github-app-id needs --github-app-key-file").into());
        }
        (None, _, Some(file), _) => {
            let token = String::from_utf8(read_secret(file, "--github-token-file")?)
                .map_err(|_| Error::usage("--github-token-file does not hold text"))?;
            GitHubAuth::Token(token.trim().to_string())
        }
        (None, _, None, Some(token)) if !token.trim().is_empty() => GitHubAuth::Token(token.trim().to_string()),
        _ => {
            return Err(Error::usage(
                "--pr needs GitHub credentials: set GITHUB_TOKEN, or --github-token-file, or --github-app-id with --github-app-key-file",
            )
            .into())
        }
    };
    Ok(GitHubSettings {
        api_url: gh.github_api_url.clone(),
        auth,
        retry: RetryPolicy::default(),
        timeout,
    })
}

/// Pull request options with nothing set but the repository (previews).
pub fn pull_options_default((repo, forge): ForgeChoice) -> PullOptions {
    PullOptions {
        repo,
        forge,
        ..PullOptions::default()
    }
}

/// The repository on its forge as the flags give it (`--project`, `--github-repo`), and the
/// forge (`--forge`); what is not given the engine reads from the remote URL.
pub type ForgeChoice = (Option<RepoOnForge>, Option<ForgeKind>);

/// `--forge`, `--project` and `--github-repo` read.
pub fn forge_choice(forge: &ForgeArgs, github_repo: Option<&str>) -> Result<ForgeChoice> {
    let kind = forge.forge.map(|f| match f {
        ForgeArg::Github => ForgeKind::GitHub,
        ForgeArg::Gitlab => ForgeKind::GitLab,
        ForgeArg::Gitea => ForgeKind::Gitea,
    });
    if let Some(given) = github_repo {
        if kind.is_some_and(|k| k != ForgeKind::GitHub) {
            return Err(Error::usage(
                "--github-repo names a GitHub repository; with another --forge give --project",
            )
            .into());
        }
        let name = owner_name(given, "--github-repo")?;
        return Ok((Some(RepoOnForge::GitHub(name)), Some(ForgeKind::GitHub)));
    }
    let Some(project) = forge.project.as_deref() else {
        return Ok((None, kind));
    };
    // A project given with no forge is GitLab's when it cannot be OWNER/NAME.
    let kind = kind.unwrap_or_else(|| {
        if project.matches('/').count() == 1 {
            ForgeKind::GitHub
        } else {
            ForgeKind::GitLab
        }
    });
    let repo = match kind {
        ForgeKind::GitHub => RepoOnForge::GitHub(owner_name(project, "--project")?),
        ForgeKind::Gitea => RepoOnForge::Gitea(owner_name(project, "--project")?),
        ForgeKind::GitLab => {
            let path = project.trim_matches('/');
            if path.is_empty() || (path.parse::<u64>().is_err() && !path.contains('/')) {
                return Err(Error::usage(format!(
                    "--project {project:?}: give the GitLab project's full path (GROUP/PROJECT, any depth of groups) or its numeric id"
                ))
                .into());
            }
            RepoOnForge::GitLab(path.to_string())
        }
    };
    Ok((Some(repo), Some(kind)))
}

fn owner_name(given: &str, flag: &str) -> Result<RepoName> {
    match given.split_once('/') {
        Some((owner, name)) if !owner.is_empty() && !name.is_empty() && !name.contains('/') => {
            Ok(RepoName {
                owner: owner.to_string(),
                name: name.to_string(),
            })
        }
        _ => Err(Error::usage(format!("{flag} {given:?}: give OWNER/NAME")).into()),
    }
}

/// Every forge's address, no credentials: enough to tell a remote's forge and to link to it.
pub fn forge_addresses(
    github_api_url: &str,
    forge: &ForgeArgs,
    timeout: Duration,
) -> ForgeSettings {
    let server = |url: &str| ServerSettings {
        timeout,
        ..ServerSettings::address(url)
    };
    ForgeSettings {
        github_api_url: github_api_url.to_string(),
        github: None,
        gitlab: server(&forge.gitlab_url),
        gitea: forge.gitea_url.as_deref().map(server),
    }
}

/// `forges` with the credentials of the one a pull request is opened on (`opens`), the
/// secrets read once, only that forge's.
pub fn with_credentials(
    mut forges: ForgeSettings,
    opens: ForgeKind,
    github: &GitHubArgs,
    tokens: &ForgeTokenArgs,
    timeout: Duration,
) -> Result<ForgeSettings> {
    let token = |env_value: &Option<String>, env: &str, what: &str| -> Result<String> {
        if let Some(file) = &tokens.token_file {
            let text = std::fs::read_to_string(file)
                .map_err(|e| Error::usage(format!("--token-file {}: {e}", file.display())))?;
            let text = text.trim().to_string();
            if text.is_empty() {
                return Err(
                    Error::usage(format!("--token-file {} is empty", file.display())).into(),
                );
            }
            return Ok(text);
        }
        env_value
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                Error::usage(format!(
                    "--pr on {what} needs a token: set {env}, or --token-file"
                ))
                .into()
            })
    };
    match opens {
        ForgeKind::GitHub => forges.github = Some(github_settings(github, timeout)?),
        ForgeKind::GitLab => {
            forges.gitlab.token = Some(token(&tokens.gitlab_token, "GITLAB_TOKEN", "GitLab")?)
        }
        ForgeKind::Gitea => {
            let gitea_token = token(&tokens.gitea_token, "GITEA_TOKEN", "Gitea")?;
            let Some(gitea) = forges.gitea.as_mut() else {
                return Err(Error::usage(
                    "--pr on Gitea or Forgejo needs its address: give --gitea-url (e.g. https://codeberg.org)",
                )
                .into());
            };
            gitea.token = Some(gitea_token);
        }
    }
    Ok(forges)
}

/// The forge a pull request for `repo` (a URL or a local path) goes to: `chosen`, else the
/// one whose address the remote is on (a local repository's `origin`), else GitHub.
pub fn forge_of(chosen: &ForgeChoice, repo: &str, forges: &ForgeSettings) -> ForgeKind {
    if let Some(kind) = chosen.0.as_ref().map(RepoOnForge::kind).or(chosen.1) {
        return kind;
    }
    let remote = match revertbot::gitstore::remote::Source::parse(repo) {
        revertbot::gitstore::remote::Source::Url(url) => Some(url),
        revertbot::gitstore::remote::Source::Path(path) => git2::Repository::open(path)
            .ok()
            .and_then(|r| r.find_remote("origin").ok()?.url().ok().map(str::to_string)),
    };
    remote
        .and_then(|url| forges.kind_of_remote(&url))
        .unwrap_or(ForgeKind::GitHub)
}

/// The registry check as `--registry-check`, `--registry-auth-file` and
/// `--registry-plain-http` ask: on unless turned off; a missing image stops the rollback, an
/// unanswered check goes ahead with a warning (the service's defaults).
pub fn registry_check(args: &RegistryArgs, timeout: Duration) -> Result<Option<RegistryCheck>> {
    if args.registry_check == Some(OnOff::Off) {
        return Ok(None);
    }
    let credentials = match &args.registry_auth_file {
        Some(path) => Credentials::load(path, "--registry-auth-file")?,
        None => Credentials::default(),
    };
    Ok(Some(RegistryCheck {
        settings: RegistrySettings {
            credentials,
            plain_http: args.registry_plain_http.clone(),
            timeout: timeout.min(REGISTRY_TIMEOUT),
        },
        policy: Policy::default(),
    }))
}

/// The longest a registry check waits from the command line.
const REGISTRY_TIMEOUT: Duration = Duration::from_secs(10);
