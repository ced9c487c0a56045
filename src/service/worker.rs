//! Workers: take a job from the journal, run it ([`job`]), record how it ended, and try it
//! again later when its failure is transient.
//! At most one job per repository runs at a time (the journal's claim sees to it, across
//! processes too); a job's lease is renewed while it runs, so that a job whose process died is
//! taken over once the lease runs out.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use tracing::{info, warn, Instrument};

use super::job;
use super::state::{config_key, Shared};
use crate::error::{kind_of, render_chain, Error};
use crate::journal::{self, Claimed, Failure, Journal};

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
        let result = job::run(shared, &job).await;
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

/// Records how a job ended, as [`job::record`] records anything a job did.
async fn record_end<F>(shared: &Shared, id: i64, write: F)
where
    F: Fn(&dyn Journal) -> Result<bool> + Send + Sync + 'static,
{
    job::record(shared, id, "how it ended", write).await
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
        kind: job::failure_label(kind, code.as_deref()).to_string(),
        code,
        message: render_chain(err, &config_key),
        retry_at,
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
