//! The journal: every delivery as received, each alert in it with what was decided, and the
//! jobs they made, with their outcomes. It is also the work queue: workers claim jobs from it
//! with a lease, one job per repository at a time.
//!
//! One interface, two backends: SQLite in the data directory (the default, for one replica, or
//! several processes on one host) and PostgreSQL (for replicas on several hosts: one shared
//! journal, so that history, guards and the queue see every replica's work).
//!
//! The calls block: the service makes them from its blocking pool.

mod postgres;
mod records;
mod sqlite;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;

pub use crate::config::SslMode;
pub use postgres::PostgresJournal;
pub use records::{
    AlertRecord, Claimed, Decision, DeliveryRecord, Failure, Finished, JobKind, JobRecord,
    NewAlert, NewDelivery, NewJob, Recorded,
};
pub use sqlite::{SqliteJournal, FILE_NAME};

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

/// Opens the journal where `location` says, creating it and bringing its schema up to date.
pub fn open(location: &Location) -> Result<Arc<dyn Journal>> {
    Ok(match location {
        Location::Sqlite { data_dir } => Arc::new(SqliteJournal::open(data_dir)?),
        Location::Postgres(settings) => Arc::new(PostgresJournal::open(settings)?),
    })
}

/// Opens the journal only if the service has made one: what `history` and `explain` read.
pub fn open_existing(location: &Location) -> Result<Option<Arc<dyn Journal>>> {
    match location {
        Location::Sqlite { data_dir } if !data_dir.join(FILE_NAME).exists() => Ok(None),
        _ => open(location).map(Some),
    }
}

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

    /// Rollback branches created in `repo` since `since`, by any replica: what the rate guard
    /// counts.
    fn rollbacks_since(&self, repo: &str, since: i64) -> Result<u32>;

    /// The latest rollback of `target` in `repo` that has a pull request: `(number, branch)`.
    fn last_pull(&self, repo: &str, target: &str) -> Result<Option<(u64, String)>>;

    /// Jobs queued or running.
    fn pending(&self) -> Result<u32>;

    /// The newest jobs, newest first.
    fn jobs(&self, limit: u32) -> Result<Vec<JobRecord>>;

    /// The newest deliveries with their alerts, newest first.
    fn deliveries(&self, limit: u32) -> Result<Vec<DeliveryRecord>>;

    /// How many deliveries are recorded.
    fn delivery_count(&self) -> Result<u64>;
}
