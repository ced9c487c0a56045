//! Flags to the engine's typed settings and jobs, validated and with secrets read once. Every
//! message here names the flag to change.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use revertbot::alert::Payload;
use revertbot::error::Error;
use revertbot::forge::github::{GitHubAuth, GitHubSettings, RepoName, RetryPolicy};
use revertbot::forge::pulls::PullDress;
use revertbot::gitstore::remote::{GitAuth, Network, Source};
use revertbot::image::ImageRef;
use revertbot::manifest::kustomize::WorkloadKind;
use revertbot::manifest::PathFilter;
use revertbot::pipeline::PullOptions;
use revertbot::revert::{Author, GitSettings, HoldPolicy, Target};
use revertbot::subject::{Named, Subject};

use super::args::{GitArgs, GitHubArgs, HoldArg, PullArgs, TargetArgs};

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

/// `--github-repo OWNER/NAME`.
pub fn github_repo(given: Option<&str>) -> Result<Option<RepoName>> {
    let Some(given) = given else {
        return Ok(None);
    };
    match given.split_once('/') {
        Some((owner, name)) if !owner.is_empty() && !name.is_empty() && !name.contains('/') => {
            Ok(Some(RepoName {
                owner: owner.to_string(),
                name: name.to_string(),
            }))
        }
        _ => Err(Error::usage(format!("--github-repo {given:?}: give OWNER/NAME")).into()),
    }
}

pub fn pull_options(pull: &PullArgs, repo: Option<RepoName>) -> PullOptions {
    PullOptions {
        repo,
        dress: PullDress {
            draft: pull.draft,
            labels: pull.labels.clone(),
            reviewers: pull.reviewers.clone(),
            team_reviewers: pull.team_reviewers.clone(),
            assignees: pull.assignees.clone(),
        },
        comment_interval: Duration::from_secs(pull.comment_interval),
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
pub fn pull_options_default(repo: Option<RepoName>) -> PullOptions {
    PullOptions {
        repo,
        ..PullOptions::default()
    }
}
