//! Runs one command: resolves the CLI's inputs, calls the engine, writes the answer.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use git2::Repository;

use crate::cli::{Command, DemoArgs, LocateArgs, Output};
use crate::error::{Exit, UsageError};
use crate::image::ImageRef;
use crate::locate::{self, report, PathFilter, Query};

pub fn run(command: &Command, out: &mut dyn Write) -> Result<Exit> {
    match command {
        Command::Locate(args) => run_locate(args, out),
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
