//! The journal: every delivery as received, each alert in it with what was decided, and the
//! jobs they made, with their outcomes. It is also the work queue: workers claim jobs from it
//! with a lease, one job per repository at a time. What is old and done is deleted by
//! [`Journal::prune`] (the service's `retention`).
//!
//! One interface, two backends: SQLite in the data directory (the default, for one replica, or
//! several processes on one host) and PostgreSQL (for replicas on several hosts: one shared
//! journal, so that history, guards and the queue see every replica's work).
//!
//! The calls block: the service makes them from its blocking pool.

mod backend;
mod postgres;
mod records;
pub mod room;
mod sqlite;

use std::sync::Arc;

use anyhow::Result;

pub use crate::config::SslMode;
pub use backend::{Journal, Location, PostgresSettings, PRUNE_BATCH, UNWRITABLE};
pub use postgres::PostgresJournal;
pub use records::{
    AlertRecord, Claimed, Decision, DeliveryRecord, Failure, Finished, JobDetail, JobKind,
    JobRecord, LastPull, LocalComment, LocalPull, LocalPullOutcome, NewAlert, NewDelivery, NewJob,
    NewLocalPull, NoteKey, Pruned, Recorded,
};
pub use sqlite::{SqliteJournal, FILE_NAME};

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
