//! The journal: every delivery as received, each alert in it with what was decided, and the
//! jobs they made, with their outcomes. Durable (SQLite in WAL mode, synchronous commits) and
//! shared safely by several processes on one host (each claim is one immediate transaction).
//!
//! The calls block: the service makes them from its blocking pool.

mod records;
mod schema;
mod store;

pub use records::{
    AlertRecord, Claimed, Decision, DeliveryRecord, Failure, Finished, JobKind, JobRecord,
    NewAlert, NewDelivery, NewJob, Recorded,
};
pub use store::{Journal, FILE_NAME};
