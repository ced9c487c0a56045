//! `revertbot demo`: the whole job on the built-in demo repository and alert — the culprit,
//! the rollback (a dry run: the repository keeps only its history) and the pull request
//! revertbot would open — through the same engine as `revert`.

use std::io::Write;

use anyhow::Result;
use revertbot::alert::Payload;
use revertbot::demo::{DEMO_ALERT, DEMO_GITHUB_REPO, DEMO_IMAGE};
use revertbot::forge::github::RepoName;
use revertbot::gitstore::remote::Source;
use revertbot::locate::{self, Query};
use revertbot::manifest::PathFilter;
use revertbot::pipeline::{EngineSettings, Job};
use revertbot::revert::{Effects, Target};

use super::args::{DemoArgs, Output};
use super::engine::{block_on, configure_git, RevertJson};
use super::{render, settings};

pub fn run(args: &DemoArgs, out: &mut dyn Write) -> Result<()> {
    configure_git(revertbot::gitstore::process::ProcessOptions {
        stall_timeout: settings::DEFAULT_TIMEOUT,
    })?;
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
        return Err(revertbot::error::Error::usage(format!(
            "--dir {} is not empty; give a new or empty directory",
            dir.display()
        ))
        .into());
    }
    revertbot::demo::build(dir)?;
    let image = settings::parse_image(DEMO_IMAGE)?;
    let repo = revertbot::gitstore::open(dir)?;
    let located = locate::locate(
        &repo,
        &Query {
            image: image.clone(),
            rev: "HEAD".into(),
            paths: PathFilter::default(),
        },
    )?;

    // The rollback as `revert` makes it, without writing the branch: the demo repository is
    // left as built, for trying the commands on.
    let (owner, name) = DEMO_GITHUB_REPO
        .split_once('/')
        .expect("the demo repository is OWNER/NAME");
    let job = Job {
        target: Target {
            image: Some(image),
            ..Target::new(Source::Path(dir.to_path_buf()))
        },
        effects: Effects {
            push: false,
            dry_run: true,
            offline: true,
        },
        alert: Some(Payload::from_json(DEMO_ALERT.as_bytes())?),
        pull: Some(settings::pull_options_default(Some(RepoName {
            owner: owner.into(),
            name: name.into(),
        }))),
    };
    let engine_settings = EngineSettings {
        git: settings::offline_git_settings(settings::default_cache_dir()),
        github_api_url: revertbot::forge::GITHUB_API_URL.into(),
        github: None,
    };
    let outcome = block_on(engine_settings, job)?;
    let report = &outcome.revert;
    let text = outcome
        .pull_text
        .as_ref()
        .expect("the demo job asks for the pull request's text");

    match args.output {
        Output::Text => {
            let d = dir.display();
            writeln!(out, "Demo GitOps repository: {d}")?;
            writeln!(
                out,
                "Alert from Alertmanager: FrontendHighErrorRate, {DEMO_IMAGE} is failing in production.\n"
            )?;
            writeln!(out, "$ revertbot locate --repo {d} --image {DEMO_IMAGE}")?;
            out.write_all(render::located(&located).as_bytes())?;
            writeln!(
                out,
                "\n$ revertbot revert --repo {d} --image {DEMO_IMAGE} --dry-run"
            )?;
            out.write_all(render::reverted(report, None).as_bytes())?;
            writeln!(
                out,
                "\nThe pull request `revertbot revert ... --push --pr` opens on GitHub for it \
                 (`revertbot pr-preview` shows it too):\n"
            )?;
            writeln!(out, "{}\n", text.title)?;
            out.write_all(text.body.as_bytes())?;
        }
        Output::Json => {
            let json = serde_json::json!({
                "located": located,
                "revert": RevertJson {
                    revert: report,
                    pull_request: None,
                },
                "pull_request": text,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
        }
    }
    Ok(())
}
