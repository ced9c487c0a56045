//! The journal as async code holds it. A [`Journal`]'s calls block (SQLite's on the file,
//! PostgreSQL's client on a small runtime of its own), so each call through a [`Handle`] runs
//! on tokio's blocking pool; that hop, and a call that stopped (panicked) on the way, are dealt
//! with here, once, and never again by a caller.

use std::sync::Arc;

use anyhow::{Context, Result};

use super::backend::{Journal, Location};
use super::open::open;
use super::records::{
    Claimed, DeliveryRecord, Failure, Finished, JobDetail, JobRecord, LastPull, LocalPull,
    LocalPullOutcome, NewLocalPull, NoteKey, OpenPull, Pruned, PullEvent, PullEventRecorded,
};
use super::summary::RollbackSummary;

/// One journal, shared: cheap to clone (an [`Arc`] inside). Each method is the
/// [`Journal`] method of the same name, made from the blocking pool.
#[derive(Clone)]
pub struct Handle {
    journal: Arc<dyn Journal>,
}

impl Handle {
    pub fn new(journal: Arc<dyn Journal>) -> Handle {
        Handle { journal }
    }

    /// Opens the journal where `location` says ([`open`]): opening blocks too.
    pub async fn open(location: Location) -> Result<Handle> {
        off_runtime(move || open(&location)).await.map(Handle::new)
    }

    /// The journal itself, for code that is already off the async runtime (the service's
    /// journal writer is a thread of its own) or that makes its own hop.
    pub fn blocking(&self) -> &Arc<dyn Journal> {
        &self.journal
    }

    /// `sqlite` or `postgresql` (this one does not block).
    pub fn backend(&self) -> &'static str {
        self.journal.backend()
    }

    /// Several calls in one hop: what reads things that belong together (a page's jobs and
    /// deliveries) or what waits on a call's answer to make the next.
    pub async fn call<T: Send + 'static>(
        &self,
        calls: impl FnOnce(&dyn Journal) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let journal = self.journal.clone();
        off_runtime(move || calls(journal.as_ref())).await
    }

    /// False also when the call could not be made.
    pub async fn writable(&self) -> bool {
        self.call(|j| Ok(j.writable())).await.unwrap_or(false)
    }

    pub async fn claim(&self, worker: &str, now: i64, lease_until: i64) -> Result<Option<Claimed>> {
        let worker = worker.to_string();
        self.call(move |j| j.claim(&worker, now, lease_until)).await
    }

    pub async fn renew(&self, job: i64, worker: &str, lease_until: i64) -> Result<bool> {
        let worker = worker.to_string();
        self.call(move |j| j.renew(job, &worker, lease_until)).await
    }

    pub async fn finish(&self, job: i64, worker: &str, now: i64, f: &Finished) -> Result<bool> {
        let (worker, f) = (worker.to_string(), f.clone());
        self.call(move |j| j.finish(job, &worker, now, &f)).await
    }

    pub async fn fail(&self, job: i64, worker: &str, now: i64, f: &Failure) -> Result<bool> {
        let (worker, f) = (worker.to_string(), f.clone());
        self.call(move |j| j.fail(job, &worker, now, &f)).await
    }

    pub async fn release(&self, job: i64, worker: &str, now: i64) -> Result<bool> {
        let worker = worker.to_string();
        self.call(move |j| j.release(job, &worker, now)).await
    }

    pub async fn running(&self) -> Result<Vec<(i64, String)>> {
        self.call(|j| j.running()).await
    }

    pub async fn auto_merges_since(&self, repo: &str, since: i64) -> Result<u32> {
        let repo = repo.to_string();
        self.call(move |j| j.auto_merges_since(&repo, since)).await
    }

    pub async fn rollbacks_since(&self, repo: &str, since: i64) -> Result<u32> {
        let repo = repo.to_string();
        self.call(move |j| j.rollbacks_since(&repo, since)).await
    }

    pub async fn last_pull(&self, repo: &str, target: &str) -> Result<Option<LastPull>> {
        let (repo, target) = (repo.to_string(), target.to_string());
        self.call(move |j| j.last_pull(&repo, &target)).await
    }

    pub async fn pending(&self) -> Result<u32> {
        self.call(|j| j.pending()).await
    }

    pub async fn jobs(&self, limit: u32) -> Result<Vec<JobRecord>> {
        self.call(move |j| j.jobs(limit)).await
    }

    pub async fn job(&self, id: i64) -> Result<Option<JobDetail>> {
        self.call(move |j| j.job(id)).await
    }

    pub async fn deliveries(&self, limit: u32) -> Result<Vec<DeliveryRecord>> {
        self.call(move |j| j.deliveries(limit)).await
    }

    pub async fn delivery_count(&self) -> Result<u64> {
        self.call(|j| j.delivery_count()).await
    }

    /// A batch is deleted whole even when the caller stops waiting for it: the call goes on
    /// on the blocking pool, its transaction with it.
    pub async fn prune(&self, before: i64) -> Result<Pruned> {
        self.call(move |j| j.prune(before)).await
    }

    pub async fn ensure_local_pull(
        &self,
        pull: &NewLocalPull,
        now: i64,
    ) -> Result<LocalPullOutcome> {
        let pull = pull.clone();
        self.call(move |j| j.ensure_local_pull(&pull, now)).await
    }

    pub async fn comment_local_pull(&self, number: u64, body: &str, now: i64) -> Result<bool> {
        let body = body.to_string();
        self.call(move |j| j.comment_local_pull(number, &body, now))
            .await
    }

    pub async fn local_pull(&self, number: u64) -> Result<Option<LocalPull>> {
        self.call(move |j| j.local_pull(number)).await
    }

    pub async fn claim_note(&self, note: &NoteKey, job: i64, now: i64) -> Result<bool> {
        let note = note.clone();
        self.call(move |j| j.claim_note(&note, job, now)).await
    }

    pub async fn noted(&self, note: &NoteKey, job: i64, now: i64) -> Result<()> {
        let note = note.clone();
        self.call(move |j| j.noted(&note, job, now)).await
    }

    pub async fn pull_event(&self, event: &PullEvent, now: i64) -> Result<PullEventRecorded> {
        let event = event.clone();
        self.call(move |j| j.pull_event(&event, now)).await
    }

    pub async fn rollback_summary(&self, since: i64) -> Result<RollbackSummary> {
        self.call(move |j| j.rollback_summary(since)).await
    }

    pub async fn open_pulls(&self) -> Result<Vec<OpenPull>> {
        self.call(|j| j.open_pulls()).await
    }
}

/// Runs `work` on the blocking pool. A call that panicked is an error like any other the
/// journal returns: the caller's own error handling (try again, answer 503) applies.
async fn off_runtime<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .context("the journal call stopped")?
}

#[cfg(test)]
mod tests {
    use super::{Handle, Location};

    #[tokio::test]
    async fn a_call_that_panics_is_an_error_for_the_caller_and_the_handle_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let handle = Handle::open(Location::Sqlite {
            data_dir: dir.path().to_path_buf(),
        })
        .await
        .unwrap();
        let err = handle
            .call(|_| -> anyhow::Result<()> { panic!("a bug in a journal call") })
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "the journal call stopped");
        assert_eq!(handle.pending().await.unwrap(), 0);
        assert!(handle.clone().writable().await);
    }
}
