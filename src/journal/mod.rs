//! The journal: every delivery as received, each alert in it with what was decided, and the
//! jobs they made, with their outcomes. It is also the work queue: workers claim jobs from it
//! with a lease, one job per repository at a time. What is old and done is deleted by
//! [`Journal::prune`] (the service's `retention`).
//!
//! One interface, two backends: SQLite in the data directory (the default, for one replica, or
//! several processes on one host) and PostgreSQL (for replicas on several hosts: one shared
//! journal, so that history, guards and the queue see every replica's work).
//!
//! The calls block: async code makes them through a [`Handle`], which runs each on the
//! blocking pool.

mod backend;
mod fate;
mod handle;
mod legacy;
mod open;
mod postgres;
mod records;
pub mod room;
mod sql;
mod sqlite;
mod summary;

pub use crate::config::SslMode;
pub use backend::{Journal, Location, PostgresSettings, PRUNE_BATCH, UNWRITABLE};
pub use fate::Fate;
pub use handle::Handle;
pub use open::{open, open_existing};
pub use postgres::PostgresJournal;
pub use records::{
    AlertRecord, Claimed, Decision, DeliveryRecord, Failure, Finished, JobDetail, JobKind,
    JobRecord, LastPull, LocalComment, LocalPull, LocalPullOutcome, NewAlert, NewDelivery, NewJob,
    NewLocalPull, NoteKey, OpenPull, Pruned, PullEvent, PullEventRecorded, Recorded,
};
pub use sqlite::{SqliteJournal, FILE_NAME};
pub use summary::{PullTimes, RollbackSummary, SUMMARY_PULLS};
