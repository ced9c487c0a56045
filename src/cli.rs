//! Command-line interface (clap derive only).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "revertbot",
    version,
    about = "Roll a bad image back through GitOps: find the commit that bumped it and revert it in git."
)]
pub struct Cli {
    /// Log filter for diagnostics on stderr (e.g. `debug`, `revertbot=trace`); overrides RUST_LOG.
    #[arg(long, global = true, value_name = "FILTER")]
    pub log: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Find the commit that put an image's current tag (or digest) in a GitOps repository.
    Locate(LocateArgs),
    /// Show the built-in demo: build a small GitOps repository with a bad bump and locate it.
    Demo(DemoArgs),
}

#[derive(Debug, clap::Args)]
pub struct LocateArgs {
    /// Local repository (bare or with a work tree; neither is touched).
    #[arg(long, value_name = "PATH")]
    pub repo: PathBuf,
    /// Revision to start from.
    #[arg(long, default_value = "HEAD", value_name = "REV")]
    pub rev: String,
    /// Image to look for: a name (`ghcr.io/org/app`, `nginx`), optionally with `:tag` or
    /// `@digest`, the version known to be bad.
    #[arg(long, value_name = "IMAGE")]
    pub image: String,
    /// Only consider files matching this glob (repeatable). Without `/` it matches file names
    /// in any directory; with `/` the whole path (`*` stays within a directory, `**` crosses).
    #[arg(long = "path", value_name = "GLOB")]
    pub paths: Vec<String>,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Where to build the demo repository (default: a new temporary directory).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}
