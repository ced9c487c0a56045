//! Retention in the PostgreSQL journal: the oldest deliveries with their alerts, then the jobs
//! that ended and that no alert names any longer, a batch at a time. Only rows that nothing
//! else writes any more are deleted — old deliveries whose jobs have ended, and ended jobs —
//! so pruning waits on no recording, claim or outcome, nor they on it. Replicas pruning at once
//! take turns: the one that finds the lock taken leaves the work to the one holding it.

use super::pool::Conn;
use crate::journal::backend::PRUNE_BATCH;
use crate::journal::records::Pruned;
use crate::journal::sql::prune::{
    DELETE_ALERTS_OF_DELIVERIES, DELETE_DELIVERIES, DELETE_JOBS, OLD_DELIVERIES,
};

/// Replicas pruning at once take turns: the one that finds it taken leaves the work to the
/// one holding it.
const LOCK: &str = "SELECT pg_try_advisory_xact_lock(hashtextextended('revertbot.prune', 0))";

/// [`crate::journal::Journal::prune`].
pub fn prune(c: &mut Conn, before: i64) -> Result<Pruned, postgres::Error> {
    let [lock, old_deliveries, delete_alerts, delete_deliveries, delete_jobs, old_events] = c
        .prepare([
            LOCK,
            OLD_DELIVERIES,
            DELETE_ALERTS_OF_DELIVERIES,
            DELETE_DELIVERIES,
            DELETE_JOBS,
            crate::journal::sql::events::PRUNE,
        ])?;
    let batch = i64::from(PRUNE_BATCH);
    let mut tx = c.client.transaction()?;
    if !tx.query_one(&lock, &[])?.get::<_, bool>(0) {
        return Ok(Pruned::default());
    }
    let deliveries: Vec<i64> = tx
        .query(&old_deliveries, &[&before, &batch])?
        .iter()
        .map(|row| row.get(0))
        .collect();
    tx.execute(&delete_alerts, &[&deliveries])?;
    let deleted = tx.execute(&delete_deliveries, &[&deliveries])?;
    let jobs = tx.execute(&delete_jobs, &[&before, &batch])?;
    tx.execute(&old_events, &[&before])?;
    tx.commit()?;
    Ok(Pruned {
        deliveries: deleted,
        jobs,
    })
}
