//! Runs one command: resolves the CLI's inputs, calls the engine, writes the answer.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use git2::Repository;

use crate::cli::{Command, DemoArgs, LocateArgs, Output, RevertArgs};
use crate::error::{Exit, UsageError};
use crate::image::ImageRef;
use crate::locate::{self, report, PathFilter, Query};
use crate::revert::remote::{GitAuth, Network, Source};
use crate::revert::RevertRequest;

pub fn run(command: &Command, out: &mut dyn Write) -> Result<Exit> {
    match command {
        Command::Locate(args) => run_locate(args, out),
        Command::Revert(args) => run_revert(args, out),
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
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        return Err(UsageError(format!(
            "--timeout {}: give a number of seconds above 0",
            args.timeout
        ))
        .into());
    }
    let image = match &args.image {
        Some(image) => Some(ImageRef::parse(image).context("--image")?),
        None => None,
    };
    if let Some(key) = &args.ssh_key {
        if !key.is_file() {
            return Err(UsageError(format!("--ssh-key {}: no such file", key.display())).into());
        }
    }
    let (username, password) = match (&args.git_token, &args.git_password) {
        (Some(token), _) => (
            Some(
                args.git_username
                    .clone()
                    .unwrap_or_else(|| "x-access-token".into()),
            ),
            Some(token.clone()),
        ),
        (None, password) => (args.git_username.clone(), password.clone()),
    };
    let request = RevertRequest {
        source: Source::parse(&args.repo),
        cache_dir: args.cache_dir.clone().unwrap_or_else(default_cache_dir),
        base: args.base.clone(),
        commit: args.commit.clone(),
        image,
        paths: PathFilter::new(&args.paths)?,
        whole_commit: args.whole_commit,
        allow_revert_of_revert: args.allow_revert_of_revert,
        push: args.push,
        dry_run: args.dry_run,
        author: (args.author_name.clone(), args.author_email.clone()),
        network: Network {
            auth: GitAuth {
                username,
                password,
                ssh_key: args.ssh_key.clone(),
            },
            timeout: Duration::from_secs_f64(args.timeout),
        },
    };
    let report = crate::revert::rollback(&request)?;
    match args.output {
        Output::Text => out.write_all(crate::revert::report::render_text(&report).as_bytes())?,
        Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
    }
    Ok(Exit::Ok)
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
    let repo = open_repo(dir)?;
    let query = Query {
        image: ImageRef::parse(crate::demo::DEMO_IMAGE)?,
        rev: "HEAD".into(),
        paths: PathFilter::default(),
    };
    let located = locate::locate(&repo, &query)?;
    match args.output {
        Output::Text => {
            writeln!(out, "Demo GitOps repository: {}", dir.display())?;
            writeln!(
                out,
                "Alert: {} is failing in production.\n",
                crate::demo::DEMO_IMAGE
            )?;
            writeln!(
                out,
                "$ revertbot locate --repo {} --image {}",
                dir.display(),
                crate::demo::DEMO_IMAGE
            )?;
            out.write_all(report::render_text(&located).as_bytes())?;
        }
        Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(&located)?)?,
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
