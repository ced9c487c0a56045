//! The one place a configured repository and a subject become a rollback's [`Target`]: the
//! service's worker, `explain` and the service's start-up all ask here, so that what `explain`
//! says is what `serve` does.

use anyhow::Result;

use crate::config::{Guards, Hold, Repo, RevertOfRevert};
use crate::gitstore::remote::Source;
use crate::manifest::PathFilter;
use crate::revert::{HoldPolicy, Target};
use crate::subject::Subject;

/// A configured repository opened without a rollback: its remote, branch and paths.
pub fn repo_target(repo: &Repo) -> Result<Target> {
    Ok(Target {
        base: repo.branch.clone(),
        paths: PathFilter::new(&repo.paths)?,
        hold: match repo.hold {
            Hold::Auto => HoldPolicy::Auto,
            Hold::None => HoldPolicy::None,
        },
        ..Target::new(Source::parse(&repo.url))
    })
}

/// The rollback of `subject` in a configured repository, under the guards: a revert of a
/// revert only where allowed, and no culprit committed after the alert started
/// (`alert_start`, seconds since the epoch) plus `culprit_grace`.
pub fn rollback_target(
    repo: &Repo,
    guards: &Guards,
    subject: Subject,
    alert_start: Option<i64>,
) -> Result<Target> {
    Ok(Target {
        subject: Some(subject),
        allow_revert_of_revert: guards.revert_of_revert == RevertOfRevert::Allow,
        committed_by: alert_start.map(|start| start + guards.culprit_grace.as_secs() as i64),
        ..repo_target(repo)?
    })
}
