//! The journal's interface, and where a journal lives.

use std::path::PathBuf;

use anyhow::Result;

use super::records::{
    Claimed, DeliveryRecord, Failure, Finished, JobDetail, JobRecord, LastPull, LocalPull,
    LocalPullOutcome, NewDelivery, NewLocalPull, NoteKey, OpenPull, Pruned, PullEvent,
    PullEventRecorded, Recorded,
};
use super::summary::RollbackSummary;
use crate::config::SslMode;

/// Where the journal lives.
#[derive(Debug, Clone)]
pub enum Location {
    /// `journal.sqlite` in this directory.
    Sqlite {
        data_dir: PathBuf,
    },
    Postgres(PostgresSettings),
}

/// How to reach the PostgreSQL journal, secrets read.
#[derive(Clone)]
pub struct PostgresSettings {
    /// A `postgres://` URL without password or TLS options.
    pub url: String,
    pub password: Option<String>,
    pub ssl_mode: SslMode,
    /// PEM file of the certificate authorities to trust; `None`: the system's.
    pub root_cert: Option<PathBuf>,
    /// Connections kept open at most.
    pub pool_size: usize,
    /// Shown in `pg_stat_activity`: which replica holds a connection.
    pub application_name: String,
}

impl std::fmt::Debug for PostgresSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresSettings")
            .field("url", &self.url)
            .field("password", &self.password.as_ref().map(|_| "(set)"))
            .field("ssl_mode", &self.ssl_mode)
            .field("root_cert", &self.root_cert)
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

/// The code of the [`crate::error::Error`] (kind `Transient`) that says the journal cannot be
/// written now — its disk is full or read-only, or its file was deleted under the service: the
/// caller's work is not wrong, only not recorded yet; it is done again once the journal can be
/// written.
pub const UNWRITABLE: &str = "journal_unwritable";

/// Deliveries (and jobs) one [`Journal::prune`] deletes at most: a call holds the journal's
/// write lock briefly even on a journal never pruned before, so that recording goes on.
pub const PRUNE_BATCH: u32 = 1_000;

/// What every backend does. Times are milliseconds since the Unix epoch, given by the caller
/// (the service's clock), so that replicas agree on leases as far as their clocks do.
pub trait Journal: Send + Sync {
    /// `sqlite` or `postgresql`.
    fn backend(&self) -> &'static str;

    /// Whether the journal can be written now.
    fn writable(&self) -> bool;

    /// Records deliveries in one transaction, with their alerts and jobs. An alert whose
    /// target has a job queued or running (recorded by any replica) joins it.
    fn record(&self, deliveries: &[NewDelivery], now: i64) -> Result<Vec<Recorded>>;

    /// Takes the oldest job that is due, of a repository with no job running anywhere, for
    /// `worker` until `lease_until` (renewed while it runs). A job whose lease ran out (its
    /// worker died) is due again.
    fn claim(&self, worker: &str, now: i64, lease_until: i64) -> Result<Option<Claimed>>;

    /// Extends a running job's lease; false when the job is no longer `worker`'s.
    fn renew(&self, job: i64, worker: &str, lease_until: i64) -> Result<bool>;

    /// Records how `worker`'s job ended; false (nothing written) when the job is no longer
    /// its own — its lease ran out and another worker took it over.
    fn finish(&self, job: i64, worker: &str, now: i64, f: &Finished) -> Result<bool>;

    /// Records a failure: queued again for `retry_at`, or failed for good; false as for
    /// [`Journal::finish`].
    fn fail(&self, job: i64, worker: &str, now: i64, f: &Failure) -> Result<bool>;

    /// Puts `worker`'s running job back in the queue at once (its worker is stopping, or died),
    /// without counting the try.
    fn release(&self, job: i64, worker: &str, now: i64) -> Result<bool>;

    /// Jobs running, with who claimed them.
    fn running(&self) -> Result<Vec<(i64, String)>>;

    /// Rollbacks made or found in `repo` since `since`, by any replica, each branch once: what
    /// the rate guard counts. A rollback whose job died after opening the pull request is
    /// counted when its takeover finds it.
    fn rollbacks_since(&self, repo: &str, since: i64) -> Result<u32>;
    /// Rollbacks of `repo` whose auto-merge was turned on since `since` (ms), by any replica.
    fn auto_merges_since(&self, repo: &str, since: i64) -> Result<u32>;

    /// The latest rollback of `target` in `repo` that has a pull request.
    fn last_pull(&self, repo: &str, target: &str) -> Result<Option<LastPull>>;

    /// Jobs queued or running.
    fn pending(&self) -> Result<u32>;

    /// The newest jobs, newest first.
    fn jobs(&self, limit: u32) -> Result<Vec<JobRecord>>;

    /// One job, with what the list leaves out: its diff, its alert, when its first delivery came.
    fn job(&self, id: i64) -> Result<Option<JobDetail>>;

    /// The newest deliveries with their alerts, newest first.
    fn deliveries(&self, limit: u32) -> Result<Vec<DeliveryRecord>>;

    /// How many deliveries are recorded.
    fn delivery_count(&self) -> Result<u64>;

    /// Deletes, in one transaction, the oldest deliveries received before `before`, with their
    /// alerts, and the jobs that ended (`done` or `failed`) before it that no alert left names;
    /// at most [`PRUNE_BATCH`] of each: call again until it deletes nothing. A job queued or
    /// running is never deleted, nor the deliveries whose alerts joined it; the local forge's
    /// pull requests are kept. Idempotent: replicas may all prune (on PostgreSQL, one that
    /// finds another pruning deletes nothing, and leaves the work to it).
    fn prune(&self, before: i64) -> Result<Pruned>;

    /// The local forge (`forge: local`): finds the pull request for `pull.head` in
    /// `pull.repo` — adding its occurrence comment when the interval allows — or opens it, in
    /// one transaction. Never two for one head, whatever the number of replicas asking at
    /// once. Numbers count up from 1 across repositories.
    fn ensure_local_pull(&self, pull: &NewLocalPull, now: i64) -> Result<LocalPullOutcome>;

    /// Adds a comment to a local pull request; false when there is no such pull request.
    fn comment_local_pull(&self, number: u64, body: &str, now: i64) -> Result<bool>;

    /// One local pull request, with its comments.
    fn local_pull(&self, number: u64) -> Result<Option<LocalPull>>;

    /// Takes the note of an alert's resolution on a pull request for `job`, before the comment
    /// is made: true when `job` is to make it — no job took it yet, or the one that did is
    /// `job` itself (tried again) or no longer queued or running (it failed before it could
    /// comment). False when it was made, or another job is making it: one comment per
    /// resolution, whatever the number of deliveries, handles or replicas.
    fn claim_note(&self, note: &NoteKey, job: i64, now: i64) -> Result<bool>;

    /// Records that `job` made the note it took.
    fn noted(&self, note: &NoteKey, job: i64, now: i64) -> Result<()>;

    /// Records what a forge told of a pull request: the delivery once (a replay changes
    /// nothing), then every job of that pull request brought up to date.
    fn pull_event(&self, event: &PullEvent, now: i64) -> Result<PullEventRecorded>;

    /// The rollbacks' pull requests opened, merged and closed since `since`, and their median
    /// time to merge, over at most [`super::SUMMARY_PULLS`] of them, newest first.
    fn rollback_summary(&self, since: i64) -> Result<RollbackSummary>;
    /// The pull requests on a forge that jobs recorded open and no forge has told of since:
    /// what a poll asks the forges about.
    fn open_pulls(&self) -> Result<Vec<OpenPull>>;
}
