//! The engine as the command line runs it: libgit2 set up once, one job on a runtime of its
//! own, and the JSON shape of a `revert` answer.

use std::future::Future;
use std::sync::Arc;

use anyhow::{Context, Result};
use revertbot::clock::SystemClock;
use revertbot::forge::pulls::PullOutcome;
use revertbot::gitstore::process::{self, ProcessOptions};
use revertbot::pipeline::{Engine, EngineSettings, Job, Outcome, UnholdJob, UnholdOutcome};
use revertbot::revert::RevertReport;
use serde::Serialize;

/// libgit2's process-wide options, once, before any git work.
pub fn configure_git(options: ProcessOptions) -> Result<()> {
    process::configure(options).context("cannot set up libgit2")?;
    Ok(())
}

/// `revert --output json`: the revert report with the pull request after its fields.
#[derive(Serialize)]
pub struct RevertJson<'a> {
    #[serde(flatten)]
    pub revert: &'a RevertReport,
    pub pull_request: Option<&'a PullOutcome>,
    /// What came of `--auto-merge`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_merge: Option<&'a revertbot::forge::auto_merge::AutoMerge>,
}

/// Builds the engine and runs one job on a runtime of its own.
pub fn block_on(settings: EngineSettings, job: Job) -> Result<Outcome> {
    with_engine(settings, |engine| async move { engine.run(job).await })
}

/// Builds the engine and lifts one hold on a runtime of its own.
pub fn block_on_unhold(settings: EngineSettings, job: UnholdJob) -> Result<UnholdOutcome> {
    with_engine(settings, |engine| async move { engine.unhold(job).await })
}

/// Builds the engine and runs `work` with it on a single-threaded runtime: a command does one
/// thing, and waits for it.
fn with_engine<T, F, Fut>(settings: EngineSettings, work: F) -> Result<T>
where
    F: FnOnce(Engine) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move { work(Engine::new(settings, Arc::new(SystemClock))?).await })
}
