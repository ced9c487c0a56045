//! Workers: take a job from the journal, run it through the engine, record how it ended.
//! At most one job per repository runs at a time (the journal's claim sees to it, across
//! processes too); a job's lease is renewed while it runs, so that a job whose process died is
//! taken over once the lease runs out.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use tracing::{info, warn, Instrument};

use super::metrics::Guard;
use super::state::{config_key, Shared};
use crate::alert::Payload;
use crate::error::{kind_of, render_chain, Error, Kind};
use crate::forge::github::RepoName;
use crate::forge::pulls::{PullDress, PullState};
use crate::journal::{self, Claimed, Failure, Finished, JobKind, Journal, NoteKey};
use crate::pipeline::{rollback_target, Job, PullOptions};
use crate::revert::Effects;

/// How long a claim holds without renewal; renewed every third of it.
const LEASE: Duration = Duration::from_secs(60);
/// Tries of a job whose failures are transient.
const MAX_ATTEMPTS: u32 = 6;
/// The first wait before a retry; doubled each time, up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// One worker: takes jobs until the service stops.
pub async fn run(shared: Arc<Shared>, n: usize) {
    let me = format!("{}/{n}", shared.worker_id());
    // While the journal is away (the database restarts, the network drops) the worker pauses,
    // trying again every second; said once when it goes and once when it comes back.
    let mut journal_away = false;
    while !shared.stopping() {
        let now = shared.now_ms();
        let claimed = shared
            .journal()
            .claim(&me, now, now + LEASE.as_millis() as i64)
            .await;
        if journal_away && claimed.is_ok() {
            journal_away = false;
            info!("the journal is back; taking jobs again");
        }
        let job = match claimed {
            Ok(Some(job)) => job,
            Ok(None) => {
                // Idle until a job is queued, or a retry falls due.
                shared.wait_for_work(Duration::from_secs(1)).await;
                continue;
            }
            Err(e) => {
                if !journal_away {
                    warn!("cannot take a job from the journal; pausing until it answers: {e:#}");
                    journal_away = true;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        shared.job_started(job.id, &me);
        let span = tracing::info_span!(
            "job",
            id = job.id,
            kind = job.kind.as_str(),
            repo = %job.repo,
            target = %job.target,
            attempt = job.attempt
        );
        run_one(&shared, &me, job.clone()).instrument(span).await;
        shared.job_ended(job.id);
    }
}

async fn run_one(shared: &Arc<Shared>, me: &str, job: Claimed) {
    info!("job started");
    let renewer = {
        let (shared, me, id) = (shared.clone(), me.to_string(), job.id);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(LEASE / 3).await;
                let until = shared.now_ms() + LEASE.as_millis() as i64;
                let renewed = shared.journal().renew(id, &me, until).await;
                if !matches!(renewed, Ok(true)) {
                    warn!("could not renew the lease of job {id}");
                }
            }
        })
    };
    let result = loop {
        let result = match job.kind {
            JobKind::Rollback => rollback(shared, &job).await,
            JobKind::Resolved => resolved(shared, &job).await,
        };
        // A full (or read-only) disk is no reason to give the job up: what it did (a branch
        // pushed) is found again by the next run, which converges on it. It keeps its claim
        // and runs again once there is room; no try is counted.
        let Some(why) = result.as_ref().err().and_then(|e| no_room(shared, e)) else {
            break result;
        };
        warn!("job {} cannot finish while {why}; it keeps its claim and runs again once there is room", job.id);
        if !wait_for_room(shared).await {
            renewer.abort();
            let (me, now) = (me.to_string(), shared.now_ms());
            record_end(shared, job.id, move |j| j.release(job.id, &me, now)).await;
            return;
        }
        info!("there is room again; running job {} again", job.id);
    };
    renewer.abort();
    let now = shared.now_ms();
    match result {
        Ok(finished) => {
            info!(outcome = %finished.outcome, "job done");
            shared.metrics().job_finished(job.kind, &finished);
            let me = me.to_string();
            record_end(shared, job.id, move |j| {
                j.finish(job.id, &me, now, &finished)
            })
            .await;
        }
        // Stopped at shutdown_timeout, its claim already given back: not a failure of the job.
        Err(err) if shared.was_released(job.id) => {
            info!(
                "job stopped at shutdown: {}",
                render_chain(&err, &config_key)
            );
            let failure = failure(shared, &job, &err, now);
            let me = me.to_string();
            record_end(shared, job.id, move |j| j.fail(job.id, &me, now, &failure)).await;
        }
        Err(err) => {
            let failure = failure(shared, &job, &err, now);
            if failure.retry_at.is_some() {
                warn!(kind = %failure.kind, "job failed, will try again: {}", failure.message);
            } else {
                warn!(kind = %failure.kind, "job failed: {}", failure.message);
            }
            shared.metrics().job_failed(job.kind, &failure);
            let me = me.to_string();
            record_end(shared, job.id, move |j| j.fail(job.id, &me, now, &failure)).await;
        }
    }
}

/// Records how a job ended; while the journal is away, tries again until it is back (or the
/// service stops): the work is done, and a job left running would be run again once its
/// lease ran out.
async fn record_end<F>(shared: &Shared, id: i64, write: F)
where
    F: Fn(&dyn Journal) -> Result<bool> + Send + Sync + 'static,
{
    record(shared, id, "how it ended", write).await
}

/// Records `what` of job `id` as [`record_end`] does.
async fn record<F>(shared: &Shared, id: i64, what: &str, write: F)
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

/// Why a job's failure may say nothing about the job, only that nothing can be written now:
/// the journal cannot be written (its disk full or read-only, its file gone), or the job failed
/// while the data directory had no room — git's own writes in the mirror fail then, whatever
/// name their error is given. Such a job runs again once there is room: its outcome could not
/// be recorded before then anyway, and a failure of its own is met again.
fn no_room(shared: &Shared, err: &anyhow::Error) -> Option<String> {
    let engine = err.chain().find_map(|c| c.downcast_ref::<Error>());
    if engine.and_then(Error::code) == Some(journal::UNWRITABLE) {
        return Some(format!(
            "the journal cannot be written ({})",
            render_chain(err, &config_key)
        ));
    }
    journal::room::lacks_room(&shared.config().data_dir)
        .map(|room| format!("data_dir {room} ({})", render_chain(err, &config_key)))
}

/// Waits until the journal can be written and the data directory has room; false when the
/// service stops first.
async fn wait_for_room(shared: &Arc<Shared>) -> bool {
    loop {
        if shared.stopping() {
            return false;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        // Both look at the disk: one hop for the two.
        let dir = shared.config().data_dir.clone();
        let room = shared
            .journal()
            .call(move |j| Ok(j.writable() && journal::room::lacks_room(&dir).is_none()))
            .await
            .unwrap_or(false);
        if room {
            return true;
        }
    }
}

fn failure(shared: &Shared, job: &Claimed, err: &anyhow::Error, now: i64) -> Failure {
    let kind = kind_of(err);
    let code = err
        .chain()
        .find_map(|c| c.downcast_ref::<Error>())
        .and_then(Error::code)
        .map(str::to_string);
    let retry_at = (kind.is_retryable() && job.attempt < MAX_ATTEMPTS)
        .then(|| now + backoff(job.attempt, shared).as_millis() as i64);
    Failure {
        kind: failure_label(kind, code.as_deref()).to_string(),
        code,
        message: render_chain(err, &config_key),
        retry_at,
    }
}

/// The code of the rate guard's error: its name, as the other guards' codes are theirs.
const RATE_GUARD: &str = Guard::MaxRollbacksPerRepoPerHour.label();

/// How a failed job is labelled (its outcome, its error kind, the metrics): the engine's kind,
/// except a rate-guard hit, which says nothing against the rollback itself (`cannot_revert`
/// would): it was only one too many this hour.
fn failure_label(kind: Kind, code: Option<&str>) -> &'static str {
    match code {
        Some(RATE_GUARD) => "rate-limited",
        _ => kind.metric_label(),
    }
}

/// Exponential, with jitter (0.5 to 1.5 times), so that jobs failing together do not retry
/// together.
fn backoff(attempt: u32, shared: &Shared) -> Duration {
    let base = FIRST_BACKOFF
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
        .min(MAX_BACKOFF);
    let nanos = shared.engine().clock().now().timestamp_subsec_nanos();
    base.mul_f64(0.5 + f64::from(nanos % 1000) / 1000.0)
}

async fn rollback(shared: &Shared, job: &Claimed) -> Result<Finished> {
    let config = shared.config();
    let repo = config.repo(&job.repo).ok_or_else(|| {
        Error::usage(format!(
            "repository {:?} is no longer in the configuration",
            job.repo
        ))
    })?;
    let alert = Payload::from_json(job.alert.as_bytes()).ok();
    let subject = job.subject.clone().map_err(|e| {
        Error::usage(format!(
            "job {}: {e}; send the alert again to record it anew",
            job.id
        ))
    })?;
    let guards = &config.guards;
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
                repo: repo.github.as_ref().map(|(owner, name)| RepoName {
                    owner: owner.clone(),
                    name: name.clone(),
                }),
                dress: PullDress {
                    draft: pr.draft,
                    labels: pr.labels.clone(),
                    reviewers: pr.reviewers.clone(),
                    team_reviewers: pr.team_reviewers.clone(),
                    assignees: pr.assignees.clone(),
                },
                comment_interval: pr.comment_interval,
            }),
        })
        .await?;
    let r = &outcome.revert;
    let pull = outcome.pull.as_ref();
    if pull.is_some() {
        let waited = (shared.now_ms() - job.created_at).max(0) as f64 / 1000.0;
        shared.metrics().alert_to_pull(waited);
    }
    if guards.dry_run {
        shared.metrics().guard(Guard::DryRun);
    }
    let outcome_label = match pull.map(|p| p.state) {
        Some(PullState::Declined) => "declined".to_string(),
        Some(PullState::Merged) => "merged".to_string(),
        _ => serde_json::to_value(r.outcome)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
    };
    Ok(Finished {
        outcome: outcome_label,
        culprit: Some(r.reverted.clone()),
        branch: r.branch.clone(),
        strategy: r.strategy.map(|s| s.as_str().to_string()),
        pr_number: pull.map(|p| p.number),
        pr_url: pull.map(|p| p.url.clone()),
        pr_state: pull.map(|p| {
            serde_json::to_value(p.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        }),
        diff: Some(r.diff.clone()).filter(|d| !d.is_empty()),
        hold: r.hold.summary(),
    })
}

async fn resolved(shared: &Arc<Shared>, job: &Claimed) -> Result<Finished> {
    let repo = shared.config().repo(&job.repo).ok_or_else(|| {
        Error::usage(format!(
            "repository {:?} is no longer in the configuration",
            job.repo
        ))
    })?;
    let last = shared.journal().last_pull(&repo.name, &job.target).await?;
    let Some(last) = last else {
        return Ok(Finished {
            outcome: "no-pull-request".into(),
            ..Finished::default()
        });
    };
    let number = last.number;
    if shared.config().guards.dry_run || !shared.engine().opens_pulls() {
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
        .is_some_and(|u| shared.engine().keeps_pull(u))
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
    let given = repo.github.as_ref().map(|(owner, name)| RepoName {
        owner: owner.clone(),
        name: name.clone(),
    });
    shared
        .engine()
        .note_resolved(given.as_ref(), &repo.url, number, alert.as_ref())
        .await?;
    // The comment is made: recorded whatever it takes, or a later delivery would make it again.
    let now = shared.now_ms();
    record(shared, job.id, "the note it made", move |j| {
        j.noted(&note, id, now).map(|()| true)
    })
    .await;
    Ok(Finished {
        outcome: "commented".into(),
        pr_number: Some(number),
        ..Finished::default()
    })
}
