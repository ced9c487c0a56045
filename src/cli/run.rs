//! Runs one command: its flags to settings and a job, the engine, the answer written out.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{Context, Result};
use revertbot::forge::auto_merge::AutoMergeAsk;
use revertbot::gitstore::process::ProcessOptions;
use revertbot::locate::{self, Query, WorkloadQuery};
use revertbot::manifest::PathFilter;
use revertbot::pipeline::{EngineSettings, Job, PullOptions, UnholdJob};
use revertbot::revert::{Effects, Target};

use super::args::{Command, LocateArgs, Output, PrPreviewArgs, RevertArgs, UnholdArgs, WriteArgs};
use super::engine::{block_on, configure_git, RevertJson};
use super::{demo, render, service, settings};

pub fn run(command: &Command, env: &BTreeMap<String, String>, out: &mut dyn Write) -> Result<()> {
    match command {
        Command::Locate(args) => run_locate(args, out),
        Command::Revert(args) => run_revert(args, out),
        Command::PrPreview(args) => run_pr_preview(args, out),
        Command::Demo(args) => demo::run(args, out),
        Command::Serve(args) => service::serve(args, env),
        Command::CheckConfig(args) => service::check_config(args, env, out),
        Command::Explain(args) => service::explain(args, env, out),
        Command::History(args) => service::history(args, env, out),
        Command::Unhold(args) => run_unhold(args, out),
    }
}

fn offline_process() -> ProcessOptions {
    ProcessOptions {
        stall_timeout: settings::DEFAULT_TIMEOUT,
    }
}

fn run_locate(args: &LocateArgs, out: &mut dyn Write) -> Result<()> {
    configure_git(offline_process())?;
    if let Some(workload) = &args.workload {
        let query = WorkloadQuery {
            candidates: vec![settings::parse_workload(
                workload,
                args.container.as_deref(),
            )?],
            rev: args.rev.clone(),
            paths: PathFilter::new(&args.paths)?,
        };
        let repo = revertbot::gitstore::open(&args.repo)?;
        let found = locate::locate_workload(&repo, &query)?;
        match args.output {
            Output::Text => out.write_all(render::workload_located(&found).as_bytes())?,
            Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(&found)?)?,
        }
        return Ok(());
    }
    let image = args.image.as_deref().unwrap_or_default();
    let query = Query {
        image: settings::parse_image(image)?,
        rev: args.rev.clone(),
        paths: PathFilter::new(&args.paths)?,
    };
    let repo = revertbot::gitstore::open(&args.repo)?;
    let located = match super::progress::Walk::start() {
        Some(mut shown) => locate::locate_watched(&repo, &query, &mut |n| shown.walked(n))?,
        None => locate::locate(&repo, &query)?,
    };
    match args.output {
        Output::Text => out.write_all(render::located(&located).as_bytes())?,
        Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(&located)?)?,
    }
    Ok(())
}

fn run_revert(args: &RevertArgs, out: &mut dyn Write) -> Result<()> {
    let target = settings::target(&args.target)?;
    let git = settings::git_settings(
        settings::cache_dir(args.target.cache_dir.as_ref()),
        &args.write.git,
    )?;
    configure_git(ProcessOptions {
        stall_timeout: git.network.timeout,
    })?;
    let alert = settings::read_alert(&args.target)?;
    let choice =
        settings::forge_choice(&args.write.forge, args.write.github.github_repo.as_deref())?;
    let forges = write_forges(&args.write, &choice, &args.target.repo, git.network.timeout)?;
    let pull = args.write.pr.then(|| PullOptions {
        auto_merge: args.auto_merge.map(|method| AutoMergeAsk {
            method: method.into(),
            rule: None,
            held: None,
        }),
        ..settings::pull_options(&args.write.pull, choice)
    });
    let job = Job {
        target,
        effects: Effects {
            push: args.write.push,
            dry_run: args.write.dry_run,
            offline: false,
        },
        alert,
        pull,
    };
    let registry = settings::registry_check(&args.registry, git.network.timeout)?;
    let engine_settings = EngineSettings {
        git,
        forges,
        registry,
    };
    let outcome = block_on(engine_settings, job)?;
    match args.write.output {
        Output::Text => {
            let mut text = render::reverted(&outcome.revert, outcome.pull.as_ref());
            if let Some(auto_merge) = &outcome.auto_merge {
                text.push_str(&format!("auto-merge {}\n", auto_merge.summary()));
            }
            out.write_all(text.as_bytes())?
        }
        Output::Json => {
            let json = RevertJson {
                revert: &outcome.revert,
                pull_request: outcome.pull.as_ref(),
                auto_merge: outcome.auto_merge.as_ref(),
            };
            writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?
        }
    }
    Ok(())
}

/// The forges for `revert` and `unhold`: with `--pr`, the credentials of the forge the pull
/// request goes to (read now: a missing token is said before any work).
fn write_forges(
    write: &WriteArgs,
    choice: &settings::ForgeChoice,
    repo: &str,
    timeout: std::time::Duration,
) -> Result<revertbot::forge::ForgeSettings> {
    let addresses = settings::forge_addresses(&write.github.github_api_url, &write.forge, timeout);
    if !write.pr {
        return Ok(addresses);
    }
    let kind = settings::forge_of(choice, repo, &addresses);
    settings::with_credentials(addresses, kind, &write.github, &write.forge_token, timeout)
}

fn run_pr_preview(args: &PrPreviewArgs, out: &mut dyn Write) -> Result<()> {
    configure_git(offline_process())?;
    let target = settings::target(&args.target)?;
    let alert = settings::read_alert(&args.target)?;
    // Links in a preview are only for reading: a malformed repository gives placeholders.
    let choice =
        settings::forge_choice(&args.forge, args.github_repo.as_deref()).unwrap_or((None, None));
    let job = Job {
        target,
        effects: Effects {
            push: false,
            dry_run: true,
            offline: true,
        },
        alert,
        pull: Some(settings::pull_options_default(choice)),
    };
    let git = settings::offline_git_settings(settings::cache_dir(args.target.cache_dir.as_ref()));
    let forges = settings::forge_addresses(&args.github_api_url, &args.forge, git.network.timeout);
    let registry = settings::registry_check(&args.registry, git.network.timeout)?;
    let engine_settings = EngineSettings {
        git,
        forges,
        registry,
    };
    let outcome = block_on(engine_settings, job)?;
    let text = outcome
        .pull_text
        .context("a preview has the pull request's text")?;
    writeln!(out, "{}\n", text.title)?;
    out.write_all(text.body.as_bytes())?;
    Ok(())
}

fn run_unhold(args: &UnholdArgs, out: &mut dyn Write) -> Result<()> {
    let git = settings::git_settings(
        settings::cache_dir(args.cache_dir.as_ref()),
        &args.write.git,
    )?;
    configure_git(ProcessOptions {
        stall_timeout: git.network.timeout,
    })?;
    let image = settings::parse_image(&args.image)?;
    if image.tag.is_some() || image.digest.is_some() {
        return Err(revertbot::error::Error::usage(format!(
            "--image {}: give the image without its tag; the tag goes in --tag",
            args.image
        ))
        .into());
    }
    let choice =
        settings::forge_choice(&args.write.forge, args.write.github.github_repo.as_deref())?;
    let forges = write_forges(&args.write, &choice, &args.repo, git.network.timeout)?;
    let pull = args
        .write
        .pr
        .then(|| settings::pull_options(&args.write.pull, choice));
    let job = UnholdJob {
        target: Target {
            base: args.base.clone(),
            ..Target::new(revertbot::gitstore::remote::Source::parse(&args.repo))
        },
        image: image.name.clone(),
        tag: args.tag.clone(),
        effects: Effects {
            push: args.write.push,
            dry_run: args.write.dry_run,
            offline: false,
        },
        pull,
    };
    // Lifting a hold deploys nothing again: no registry is asked.
    let engine_settings = EngineSettings {
        git,
        forges,
        registry: None,
    };
    let outcome = super::engine::block_on_unhold(engine_settings, job)?;
    match args.write.output {
        Output::Text => {
            out.write_all(render::unheld(&outcome.unhold, outcome.pull.as_ref()).as_bytes())?
        }
        Output::Json => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "unhold": outcome.unhold,
                "pull_request": outcome.pull,
            }))?
        )?,
    }
    Ok(())
}
