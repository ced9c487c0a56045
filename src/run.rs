//! Runs one command: resolves the CLI's inputs, calls the engine, writes the answer.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use git2::Repository;

use crate::alert::Payload;
use crate::cli::{
    Command, DemoArgs, GitArgs, LocateArgs, Output, PrPreviewArgs, RevertArgs, TargetArgs,
};
use crate::error::{Exit, UsageError};
use crate::forge::body::{self, AlertContext, Links};
use crate::forge::github::{GitHubAuth, GitHubSettings, RetryPolicy};
use crate::image::ImageRef;
use crate::locate::{self, report, PathFilter, Query};
use crate::pipeline::{self, PullSettings};
use crate::revert::remote::{GitAuth, Network, Source};
use crate::revert::RevertRequest;

pub fn run(command: &Command, out: &mut dyn Write) -> Result<Exit> {
    match command {
        Command::Locate(args) => run_locate(args, out),
        Command::Revert(args) => run_revert(args, out),
        Command::PrPreview(args) => run_pr_preview(args, out),
        Command::Demo(args) => run_demo(args, out),
    }
}

fn run_locate(args: &LocateArgs, out: &mut dyn Write) -> Result<Exit> {
    let query = Query {
        image: ImageRef::parse(&args.image).context("--image")?,
        rev: args.rev.clone(),
        paths: PathFilter::new(&args.paths)?,
    };
    let repo = open_repo(&args.repo)?;
    let located = locate::locate(&repo, &query)?;
    match args.output {
        Output::Text => out.write_all(report::render_text(&located).as_bytes())?,
        Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(&located)?)?,
    }
    Ok(Exit::Ok)
}

fn run_revert(args: &RevertArgs, out: &mut dyn Write) -> Result<Exit> {
    let mut request = revert_request(&args.target, &args.git)?;
    request.push = args.push;
    request.dry_run = args.dry_run;
    let alert = read_alert(&args.target)?;
    let pull = if args.pr {
        Some(pull_settings(
            args,
            &request.source,
            request.network.timeout,
        )?)
    } else {
        None
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = runtime.block_on(pipeline::rollback_with_pull(request, pull, alert))?;
    match args.output {
        Output::Text => out.write_all(crate::revert::report::render_text(&report).as_bytes())?,
        Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
    }
    Ok(Exit::Ok)
}

fn run_pr_preview(args: &PrPreviewArgs, out: &mut dyn Write) -> Result<Exit> {
    let git = GitArgs {
        author_name: "revertbot".into(),
        author_email: "revertbot@localhost".into(),
        git_username: None,
        git_password: None,
        git_token: None,
        ssh_key: None,
        timeout: 60.0,
    };
    let mut request = revert_request(&args.target, &git)?;
    request.dry_run = true;
    request.offline = true;
    let alert = read_alert(&args.target)?;
    let (owner, name) = pipeline::github_repo(args.github_repo.as_deref(), &request.source)
        .unwrap_or_else(|_| ("OWNER".into(), "REPO".into()));
    let report = crate::revert::rollback(&request)?;
    let ctx = alert.as_ref().and_then(AlertContext::of);
    let web = format!(
        "{}/{owner}/{name}",
        crate::forge::web_url(&args.github_api_url)
    );
    writeln!(out, "{}\n", body::title(&report, ctx))?;
    out.write_all(body::body(&report, &Links { repo_web_url: &web }, ctx).as_bytes())?;
    Ok(Exit::Ok)
}

fn read_alert(target: &TargetArgs) -> Result<Option<Payload>> {
    let Some(path) = &target.alert else {
        return Ok(None);
    };
    let bytes =
        std::fs::read(path).map_err(|e| UsageError(format!("--alert {}: {e}", path.display())))?;
    let payload = Payload::from_json(&bytes)
        .map_err(|e| UsageError(format!("--alert {}: {e}", path.display())))?;
    Ok(Some(payload))
}

fn revert_request(target: &TargetArgs, git: &GitArgs) -> Result<RevertRequest> {
    if !(git.timeout.is_finite() && git.timeout > 0.0) {
        return Err(UsageError(format!(
            "--timeout {}: give a number of seconds above 0",
            git.timeout
        ))
        .into());
    }
    let image = match &target.image {
        Some(image) => Some(ImageRef::parse(image).context("--image")?),
        None => None,
    };
    if let Some(key) = &git.ssh_key {
        if !key.is_file() {
            return Err(UsageError(format!("--ssh-key {}: no such file", key.display())).into());
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
    Ok(RevertRequest {
        source: Source::parse(&target.repo),
        cache_dir: target.cache_dir.clone().unwrap_or_else(default_cache_dir),
        base: target.base.clone(),
        commit: target.commit.clone(),
        image,
        paths: PathFilter::new(&target.paths)?,
        whole_commit: target.whole_commit,
        allow_revert_of_revert: target.allow_revert_of_revert,
        push: false,
        dry_run: false,
        offline: false,
        author: (git.author_name.clone(), git.author_email.clone()),
        network: Network {
            auth: GitAuth {
                username,
                password,
                ssh_key: git.ssh_key.clone(),
            },
            timeout: Duration::from_secs_f64(git.timeout),
        },
    })
}

/// GitHub repository, credentials and pull request options, read once.
fn pull_settings(args: &RevertArgs, source: &Source, timeout: Duration) -> Result<PullSettings> {
    let gh = &args.github;
    let (owner, repo) = pipeline::github_repo(gh.github_repo.as_deref(), source)?;
    let read_secret = |path: &PathBuf, flag: &str| -> Result<Vec<u8>> {
        std::fs::read(path)
            .map_err(|e| UsageError(format!("{flag} {}: {e}", path.display())).into())
    };
    let auth = match (&gh.github_app_id, &gh.github_app_key_file, &gh.github_token_file, &gh.github_token) {
        (Some(app_id), Some(key), _, _) => GitHubAuth::App {
            app_id: *app_id,
            private_key_pem: read_secret(key, "--github-app-key-file")?,
            installation_id: gh.github_installation_id,
        },
        (Some(_), None, _, _) => {
            return Err(UsageError("--github-app-id needs --github-app-key-file".into()).into());
        }
        (None, _, Some(file), _) => {
            let token = String::from_utf8(read_secret(file, "--github-token-file")?)
                .map_err(|_| UsageError("--github-token-file does not hold text".into()))?;
            GitHubAuth::Token(token.trim().to_string())
        }
        (None, _, None, Some(token)) if !token.trim().is_empty() => GitHubAuth::Token(token.trim().to_string()),
        _ => {
            return Err(UsageError(
                "--pr needs GitHub credentials: set GITHUB_TOKEN, or --github-token-file, or --github-app-id with --github-app-key-file".into(),
            )
            .into())
        }
    };
    Ok(PullSettings {
        github: GitHubSettings {
            api_url: gh.github_api_url.clone(),
            owner,
            repo,
            auth,
            retry: RetryPolicy::default(),
            timeout,
        },
        labels: args.pull.labels.clone(),
        reviewers: args.pull.reviewers.clone(),
        team_reviewers: args.pull.team_reviewers.clone(),
        assignees: args.pull.assignees.clone(),
        draft: args.pull.draft,
        comment_interval: Duration::from_secs(args.pull.comment_interval),
    })
}

/// `$XDG_CACHE_HOME/revertbot`, else `~/.cache/revertbot`, else a directory under /tmp.
fn default_cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("revertbot")
}

fn run_demo(args: &DemoArgs, out: &mut dyn Write) -> Result<Exit> {
    let temp;
    let dir = match &args.dir {
        Some(dir) => dir.as_path(),
        None => {
            temp = std::env::temp_dir().join(format!("revertbot-demo-{}", std::process::id()));
            temp.as_path()
        }
    };
    if dir.exists()
        && dir
            .read_dir()
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(UsageError(format!(
            "--dir {} is not empty; give a new or empty directory",
            dir.display()
        ))
        .into());
    }
    crate::demo::build(dir)?;
    let demo = crate::demo::DEMO_IMAGE;
    let repo = open_repo(dir)?;
    let query = Query {
        image: ImageRef::parse(demo)?,
        rev: "HEAD".into(),
        paths: PathFilter::default(),
    };
    let located = locate::locate(&repo, &query)?;

    // The rollback as `revert` makes it, without writing the branch: the demo repository is
    // left as built, for trying the commands on.
    let request = RevertRequest {
        source: Source::Path(dir.to_path_buf()),
        cache_dir: default_cache_dir(),
        base: None,
        commit: None,
        image: Some(ImageRef::parse(demo)?),
        paths: PathFilter::default(),
        whole_commit: false,
        allow_revert_of_revert: false,
        push: false,
        dry_run: true,
        author: ("revertbot".into(), "revertbot@localhost".into()),
        network: Network {
            auth: GitAuth::default(),
            timeout: Duration::from_secs(60),
        },
        offline: true,
    };
    let report = crate::revert::rollback(&request)?;

    let alert = Payload::from_json(crate::demo::DEMO_ALERT.as_bytes())?;
    let ctx = AlertContext::of(&alert);
    let web = format!("https://github.com/{}", crate::demo::DEMO_GITHUB_REPO);
    let title = body::title(&report, ctx);
    let pr_body = body::body(&report, &Links { repo_web_url: &web }, ctx);

    match args.output {
        Output::Text => {
            let d = dir.display();
            writeln!(out, "Demo GitOps repository: {d}")?;
            writeln!(
                out,
                "Alert from Alertmanager: FrontendHighErrorRate, {demo} is failing in production.\n"
            )?;
            writeln!(out, "$ revertbot locate --repo {d} --image {demo}")?;
            out.write_all(report::render_text(&located).as_bytes())?;
            writeln!(
                out,
                "\n$ revertbot revert --repo {d} --image {demo} --dry-run"
            )?;
            out.write_all(crate::revert::report::render_text(&report).as_bytes())?;
            writeln!(
                out,
                "\nThe pull request `revertbot revert ... --push --pr` opens on GitHub for it \
                 (`revertbot pr-preview` shows it too):\n"
            )?;
            writeln!(out, "{title}\n")?;
            out.write_all(pr_body.as_bytes())?;
        }
        Output::Json => {
            let json = serde_json::json!({
                "located": located,
                "revert": report,
                "pull_request": { "title": title, "body": pr_body },
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
        }
    }
    Ok(Exit::Ok)
}

/// Opens a local repository without touching its work tree or HEAD.
pub fn open_repo(path: &Path) -> Result<Repository> {
    if !path.exists() {
        return Err(UsageError(format!(
            "--repo {}: no such directory; give the path of a local git repository",
            path.display()
        ))
        .into());
    }
    Repository::open(path).map_err(|e| {
        UsageError(format!(
            "--repo {}: not a git repository ({}); give the path of a local clone or bare repository",
            path.display(),
            e.message()
        ))
        .into()
    })
}
