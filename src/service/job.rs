//! One claimed job run: made into the engine's work from the configuration and what the
//! journal kept of its alert, and what came of it made into the journal's `Finished` record.
//! The worker around it decides when a job runs, keeps its lease and retries it; this module
//! knows what a rollback and a resolution are, how a failed one is labelled, and how what a
//! job did is written to the journal through its outages (the worker writes the job's end
//! the same way).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use tracing::warn;

use super::metrics::Guard;
use super::state::Shared;
use crate::alert::rules;
use crate::alert::Payload;
use crate::config::{Forge, Repo, RepoForge};
use crate::error::{Error, Kind};
use crate::forge::auto_merge::{self, AutoMerge, AutoMergeAsk};
use crate::forge::github::RepoName;
use crate::forge::pulls::{PullDress, PullState};
use crate::forge::{ForgeKind, RepoOnForge};
use crate::journal::{Claimed, Finished, JobKind, Journal, NoteKey};
use crate::pipeline::{rollback_target, Job, Outcome, PullOptions};
use crate::revert::Effects;

/// The code of the rate guard's error: its name, as the other guards' codes are theirs.
const RATE_GUARD: &str = Guard::MaxRollbacksPerRepoPerHour.label();

/// Runs one attempt at `job`.
pub async fn run(shared: &Shared, job: &Claimed) -> Result<Finished> {
    match job.kind {
        JobKind::Rollback => rollback(shared, job).await,
        JobKind::Resolved => resolved(shared, job).await,
    }
}

/// How a failed job is labelled (its outcome, its error kind, the metrics): the engine's kind,
/// except a rate-guard hit, which says nothing against the rollback itself (`cannot_revert`
/// would): it was only one too many this hour.
pub fn failure_label(kind: Kind, code: Option<&str>) -> &'static str {
    match code {
        Some(RATE_GUARD) => "rate-limited",
        Some(crate::registry::MISSING_CODE) => crate::registry::MISSING_CODE,
        _ => kind.metric_label(),
    }
}

/// Records `what` of job `id` in the journal; while the journal is away, tries again until it
/// is back (or the service stops): the work is done, and a job left running would be run again
/// once its lease ran out. A write that finds the claim gone (`Ok(false)`) is not tried again.
pub async fn record<F>(shared: &Shared, id: i64, what: &str, write: F)
where
    F: Fn(&dyn Journal) -> Result<bool> + Send + Sync + 'static,
{
    let write = Arc::new(write);
    let mut wait = Duration::from_millis(250);
    loop {
        let write = write.clone();
        match shared.journal().call(move |j| write(j)).await {
            Ok(true) => return,
            Ok(false) => {
                if shared.was_released(id) {
                    warn!("job {id} was put back in the queue at shutdown; this run's outcome is not recorded");
                } else {
                    warn!("job {id} was taken over by another worker after its lease ran out; this run's outcome is not recorded");
                }
                return;
            }
            Err(e) if !shared.stopping() => {
                warn!("cannot record {what} of job {id}; trying again: {e:#}");
            }
            Err(e) => {
                warn!("cannot record {what} of job {id}; stopping, so it will run again once its lease runs out: {e:#}");
                return;
            }
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(5));
    }
}

/// The job's repository, as configured now.
fn repo<'a>(shared: &'a Shared, job: &Claimed) -> Result<&'a Repo> {
    shared.config().repo(&job.repo).ok_or_else(|| {
        Error::usage(format!(
            "repository {:?} is no longer in the configuration",
            job.repo
        ))
        .into()
    })
}

/// The repository on its forge, when the configuration names it (a GitHub repository may be
/// read from its remote instead).
pub(super) fn on_forge(repo: &Repo) -> Option<RepoOnForge> {
    let name = |(owner, name): &(String, String)| RepoName {
        owner: owner.clone(),
        name: name.clone(),
    };
    match &repo.forge {
        RepoForge::GitHub(github) => github.as_ref().map(|g| RepoOnForge::GitHub(name(g))),
        RepoForge::GitLab(project) => Some(RepoOnForge::GitLab(project.clone())),
        RepoForge::Gitea(gitea) => Some(RepoOnForge::Gitea(name(gitea))),
    }
}

/// The forge the repository's pull requests go to.
pub fn forge_kind(repo: &Repo) -> ForgeKind {
    match repo.forge {
        RepoForge::GitHub(_) => ForgeKind::GitHub,
        RepoForge::GitLab(_) => ForgeKind::GitLab,
        RepoForge::Gitea(_) => ForgeKind::Gitea,
    }
}

async fn rollback(shared: &Shared, job: &Claimed) -> Result<Finished> {
    let repo = repo(shared, job)?;
    let alert = Payload::from_json(job.alert.as_bytes()).ok();
    let subject = job.subject.clone().map_err(|e| {
        Error::usage(format!(
            "job {}: {e}; send the alert again to record it anew",
            job.id
        ))
    })?;
    let guards = &shared.config().guards;
    let hour_ago = shared.now_ms() - 3_600_000;
    let recent = shared
        .journal()
        .rollbacks_since(&repo.name, hour_ago)
        .await?;
    if recent >= guards.max_rollbacks_per_repo_per_hour {
        return Err(Error::new(Kind::CannotRevert)
            .text(format!(
                "guard max_rollbacks_per_repo_per_hour: {recent} rollbacks in {} in the last hour already; roll this one back by hand (revertbot revert), or raise the guard",
                repo.name
            ))
            .with_code(RATE_GUARD)
            .into());
    }
    let target = rollback_target(repo, guards, subject, job.alert_start)?;
    let auto_merge = auto_merge_ask(shared, repo, alert.as_ref()).await?;
    let pr = &repo.pull_request;
    let outcome = shared
        .engine()
        .run(Job {
            target,
            effects: Effects {
                push: !guards.dry_run,
                dry_run: guards.dry_run,
                offline: false,
            },
            alert,
            pull: Some(PullOptions {
                repo: on_forge(repo),
                forge: Some(forge_kind(repo)),
                dress: PullDress {
                    draft: pr.draft,
                    labels: pr.labels.clone(),
                    reviewers: pr.reviewers.clone(),
                    team_reviewers: pr.team_reviewers.clone(),
                    assignees: pr.assignees.clone(),
                },
                comment_interval: pr.comment_interval,
                auto_merge,
            }),
        })
        .await?;
    let forge = pull_forge(shared, repo);
    if let Some(pull) = &outcome.pull {
        let waited = (shared.now_ms() - job.created_at).max(0) as f64 / 1000.0;
        shared.metrics().alert_to_pull(forge, waited);
        // Opened now, once: a pull request found again is not another rollback.
        if let (PullState::Created, Some(started)) = (pull.state, job.alert_start) {
            let since_start = seconds_between(started * 1000, shared.now_ms());
            shared.metrics().rollback_pull_opened(forge, since_start);
        }
    }
    if guards.dry_run {
        shared.metrics().guard(Guard::DryRun);
    }
    Ok(finished(&outcome, forge))
}

/// The auto-merge the alert's rule asks for (`rules[].auto_merge`), held back by
/// `guards.max_auto_merges_per_repo_per_hour`: counted in the journal, so across replicas
/// (a repository's jobs run one at a time, so the count cannot race).
async fn auto_merge_ask(
    shared: &Shared,
    repo: &Repo,
    alert: Option<&Payload>,
) -> Result<Option<AutoMergeAsk>> {
    let config = shared.config();
    let rule = alert
        .and_then(|p| p.alerts.first())
        .and_then(|a| rules::rule_for(a, &config.rules))
        .filter(|rule| rule.repo == repo.name);
    let Some((rule, method)) = rule.and_then(|r| r.auto_merge.map(|m| (r, m))) else {
        return Ok(None);
    };
    let limit = config.guards.max_auto_merges_per_repo_per_hour;
    let hour_ago = shared.now_ms() - 3_600_000;
    let recent = shared
        .journal()
        .auto_merges_since(&repo.name, hour_ago)
        .await?;
    let held = auto_merge::hourly_guard(recent, limit, &repo.name);
    if held.is_some() {
        shared.metrics().guard(Guard::MaxAutoMergesPerRepoPerHour);
    }
    Ok(Some(AutoMergeAsk {
        method,
        rule: Some(rule.name.clone()),
        held,
    }))
}

/// The forge a rollback's pull request goes to: `local` under `forge: local` (the journal
/// keeps it), else the repository's own (`github`, `gitlab`, `gitea`).
fn pull_forge(shared: &Shared, repo: &Repo) -> &'static str {
    if shared.config().forge == Forge::Local {
        "local"
    } else {
        repo.forge.name()
    }
}

/// The journal's record of a rollback the engine made. Its outcome is the pull request's fate
/// when that is settled (`declined`, `merged`: nothing more will come of it), else what the
/// revert did (`created`, `reused`, `dry-run`...), in the engine's own spelling. `forge` is
/// recorded only with a pull request.
fn finished(outcome: &Outcome, forge: &str) -> Finished {
    let r = &outcome.revert;
    let pull = outcome.pull.as_ref();
    let outcome_label = match pull.map(|p| p.state) {
        Some(PullState::Declined) => "declined".to_string(),
        Some(PullState::Merged) => "merged".to_string(),
        _ => serde_name(r.outcome),
    };
    Finished {
        outcome: outcome_label,
        culprit: Some(r.reverted.clone()),
        branch: r.branch.clone(),
        strategy: r.strategy.map(|s| s.as_str().to_string()),
        pr_number: pull.map(|p| p.number),
        pr_url: pull.map(|p| p.url.clone()),
        pr_state: pull.map(|p| serde_name(p.state)),
        diff: Some(r.diff.clone()).filter(|d| !d.is_empty()),
        hold: r.hold.summary(),
        forge: pull.map(|_| forge.to_string()),
        registry: Some(
            r.registry
                .iter()
                .map(|c| c.summary())
                .collect::<Vec<_>>()
                .join("\n"),
        )
        .filter(|s| !s.is_empty()),
        auto_merge: outcome.auto_merge.as_ref().map(AutoMerge::summary),
        auto_merge_method: outcome
            .auto_merge
            .as_ref()
            .filter(|a| a.enabled)
            .map(|a| a.method.as_str().to_string()),
    }
}

/// Seconds from `from` to `to` (milliseconds), never below nothing: the alert's clock is
/// Prometheus', not ours.
fn seconds_between(from: i64, to: i64) -> f64 {
    (to - from).max(0) as f64 / 1000.0
}

/// A unit enum's name as it is serialised: the journal keeps the names the JSON output uses.
fn serde_name(value: impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

async fn resolved(shared: &Shared, job: &Claimed) -> Result<Finished> {
    let repo = repo(shared, job)?;
    let last = shared.journal().last_pull(&repo.name, &job.target).await?;
    let Some(last) = last else {
        return Ok(Finished {
            outcome: "no-pull-request".into(),
            ..Finished::default()
        });
    };
    let number = last.number;
    if shared.config().guards.dry_run || !shared.engine().opens_pulls(forge_kind(repo)) {
        return Ok(Finished {
            outcome: "dry-run".into(),
            pr_number: Some(number),
            ..Finished::default()
        });
    }
    // A pull request opened on another forge (`forge` was changed since): its number means
    // another pull request here.
    if !last
        .url
        .as_deref()
        .is_some_and(|u| shared.engine().keeps_pull(forge_kind(repo), u))
    {
        return Ok(Finished {
            outcome: "other-forge".into(),
            pr_number: Some(number),
            pr_url: last.url,
            ..Finished::default()
        });
    }
    let alert = Payload::from_json(job.alert.as_bytes()).ok();
    // One note per resolution of the alert on the pull request: taken in the journal before
    // the comment, so that the same resolution delivered again (or fifty times at once, or to
    // several replicas) is not noted again.
    let first = alert.as_ref().and_then(|a| a.alerts.first());
    let note = NoteKey {
        repo: repo.name.clone(),
        pull_url: last.url.clone().unwrap_or_default(),
        pull_number: number,
        fingerprint: first.map(|a| a.fingerprint.clone()).unwrap_or_default(),
        starts_at: first.map(|a| a.starts_at.clone()).unwrap_or_default(),
    };
    let (id, now) = (job.id, shared.now_ms());
    let taken = shared.journal().claim_note(&note, id, now).await?;
    if !taken {
        return Ok(Finished {
            outcome: "noted-already".into(),
            pr_number: Some(number),
            pr_url: last.url,
            ..Finished::default()
        });
    }
    shared
        .engine()
        .note_resolved(
            on_forge(repo).as_ref(),
            Some(forge_kind(repo)),
            &repo.url,
            number,
            alert.as_ref(),
            last.merged_at,
        )
        .await?;
    // The comment is made: recorded whatever it takes, or a later delivery would make it again.
    let now = shared.now_ms();
    record(shared, job.id, "the note it made", move |j| {
        j.noted(&note, id, now).map(|()| true)
    })
    .await;
    // Recovery is timed where its note is made: once per resolution, as the note is, however
    // often Alertmanager sends it again. Only a rollback merged by then recovered anything.
    if let (Some(_), Some(started)) = (last.merged_at, job.alert_start) {
        let ended = first
            .and_then(crate::alert::rules::ended_at)
            .map_or(now, |t| t.timestamp_millis());
        let forge = pull_forge(shared, repo);
        shared
            .metrics()
            .recovered(forge, seconds_between(started * 1000, ended));
    }
    Ok(Finished {
        outcome: "commented".into(),
        pr_number: Some(number),
        forge: Some(pull_forge(shared, repo).to_string()),
        ..Finished::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_guard_hit_is_labelled_rate_limited_not_by_its_kind() {
        assert_eq!(
            failure_label(Kind::CannotRevert, Some("max_rollbacks_per_repo_per_hour")),
            "rate-limited"
        );
        assert_eq!(
            failure_label(Kind::CannotRevert, Some("revert_of_revert")),
            "cannot_revert"
        );
        assert_eq!(failure_label(Kind::Transient, None), "transient");
    }
}
