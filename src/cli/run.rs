//! Runs one command: its flags to settings and a job, the engine, the answer written out.

use std::io::Write;
use std::sync::Arc;

use anyhow::{Context, Result};
use revertbot::clock::SystemClock;
use revertbot::gitstore::process::{self, ProcessOptions};
use revertbot::locate::{self, Query};
use revertbot::manifest::PathFilter;
use revertbot::pipeline::{Engine, EngineSettings, Job, Outcome};
use revertbot::revert::Effects;
use serde::Serialize;

use super::args::{Command, LocateArgs, Output, PrPreviewArgs, RevertArgs};
use super::{demo, render, settings};

pub fn run(command: &Command, out: &mut dyn Write) -> Result<()> {
    match command {
        Command::Locate(args) => run_locate(args, out),
        Command::Revert(args) => run_revert(args, out),
        Command::PrPreview(args) => run_pr_preview(args, out),
        Command::Demo(args) => demo::run(args, out),
    }
}

/// libgit2's process-wide options, once, before any git work.
pub fn configure_git(options: ProcessOptions) -> Result<()> {
    process::configure(options).context("cannot set up libgit2")?;
    Ok(())
}

fn offline_process() -> ProcessOptions {
    ProcessOptions {
        stall_timeout: settings::DEFAULT_TIMEOUT,
    }
}

fn run_locate(args: &LocateArgs, out: &mut dyn Write) -> Result<()> {
    configure_git(offline_process())?;
    let query = Query {
        image: settings::parse_image(&args.image)?,
        rev: args.rev.clone(),
        paths: PathFilter::new(&args.paths)?,
    };
    let repo = revertbot::gitstore::open(&args.repo)?;
    let located = locate::locate(&repo, &query)?;
    match args.output {
        Output::Text => out.write_all(render::located(&located).as_bytes())?,
        Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(&located)?)?,
    }
    Ok(())
}

/// `revert --output json`: the revert report with the pull request after its fields.
#[derive(Serialize)]
pub struct RevertJson<'a> {
    #[serde(flatten)]
    pub revert: &'a revertbot::revert::RevertReport,
    pub pull_request: Option<&'a revertbot::forge::pulls::PullOutcome>,
}

fn run_revert(args: &RevertArgs, out: &mut dyn Write) -> Result<()> {
    let target = settings::target(&args.target)?;
    let git = settings::git_settings(&args.target, &args.git)?;
    configure_git(ProcessOptions {
        stall_timeout: git.network.timeout,
    })?;
    let alert = settings::read_alert(&args.target)?;
    let (github, pull) = if args.pr {
        let repo = settings::github_repo(args.github.github_repo.as_deref())?;
        (
            Some(settings::github_settings(
                &args.github,
                git.network.timeout,
            )?),
            Some(settings::pull_options(&args.pull, repo)),
        )
    } else {
        (None, None)
    };
    let job = Job {
        target,
        effects: Effects {
            push: args.push,
            dry_run: args.dry_run,
            offline: false,
        },
        alert,
        pull,
    };
    let engine_settings = EngineSettings {
        git,
        github_api_url: args.github.github_api_url.clone(),
        github,
    };
    let outcome = block_on(engine_settings, job)?;
    match args.output {
        Output::Text => {
            out.write_all(render::reverted(&outcome.revert, outcome.pull.as_ref()).as_bytes())?
        }
        Output::Json => {
            let json = RevertJson {
                revert: &outcome.revert,
                pull_request: outcome.pull.as_ref(),
            };
            writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?
        }
    }
    Ok(())
}

fn run_pr_preview(args: &PrPreviewArgs, out: &mut dyn Write) -> Result<()> {
    configure_git(offline_process())?;
    let target = settings::target(&args.target)?;
    let alert = settings::read_alert(&args.target)?;
    // Links in a preview are only for reading: a malformed repository gives placeholders.
    let repo = settings::github_repo(args.github_repo.as_deref()).unwrap_or_else(|_| {
        Some(revertbot::forge::github::RepoName {
            owner: "OWNER".into(),
            name: "REPO".into(),
        })
    });
    let job = Job {
        target,
        effects: Effects {
            push: false,
            dry_run: true,
            offline: true,
        },
        alert,
        pull: Some(settings::pull_options_default(repo)),
    };
    let engine_settings = EngineSettings {
        git: settings::offline_git_settings(settings::cache_dir(&args.target)),
        github_api_url: args.github_api_url.clone(),
        github: None,
    };
    let outcome = block_on(engine_settings, job)?;
    let text = outcome
        .pull_text
        .context("a preview has the pull request's text")?;
    writeln!(out, "{}\n", text.title)?;
    out.write_all(text.body.as_bytes())?;
    Ok(())
}

/// Builds the engine and runs one job on a runtime of its own.
pub fn block_on(settings: EngineSettings, job: Job) -> Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let engine = Engine::new(settings, Arc::new(SystemClock))?;
        engine.run(job).await
    })
}
