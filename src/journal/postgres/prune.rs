//! Retention in the PostgreSQL journal: the oldest deliveries with their alerts, then the jobs
//! that ended and that no alert names any longer, a batch at a time. Only rows that nothing
//! else writes any more are deleted — old deliveries whose jobs have ended, and ended jobs —
//! so pruning waits on no recording, claim or outcome, nor they on it. Replicas pruning at once
//! take turns: the one that finds the lock taken leaves the work to the one holding it.

use super::pool::Conn;
use crate::journal::backend::PRUNE_BATCH;
use crate::journal::records::Pruned;

const LOCK: &str = "SELECT pg_try_advisory_xact_lock(hashtextextended('revertbot.prune', 0))";
/// The oldest deliveries received before `$1`, but for those with an alert that joined a job
/// still queued or running: that job's story stays whole until it ends.
const OLD_DELIVERIES: &str = "SELECT d.id FROM deliveries d
     WHERE d.received_at < $1
       AND NOT EXISTS (SELECT 1 FROM alerts a JOIN jobs j ON j.id = a.job_id
                       WHERE a.delivery_id = d.id AND j.state IN ('queued', 'running'))
     ORDER BY d.received_at, d.id LIMIT $2";
const DELETE_ALERTS: &str = "DELETE FROM alerts WHERE delivery_id = ANY($1)";
const DELETE_DELIVERIES: &str = "DELETE FROM deliveries WHERE id = ANY($1)";
/// After the deliveries: the jobs whose last alert went with them go in the same call.
const DELETE_JOBS: &str = "DELETE FROM jobs WHERE id IN (
     SELECT j.id FROM jobs j
     WHERE j.state IN ('done', 'failed') AND j.updated_at < $1
       AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.job_id = j.id)
     ORDER BY j.updated_at, j.id LIMIT $2)";

/// [`crate::journal::Journal::prune`].
pub fn prune(c: &mut Conn, before: i64) -> Result<Pruned, postgres::Error> {
    let [lock, old_deliveries, delete_alerts, delete_deliveries, delete_jobs] = c.prepare([
        LOCK,
        OLD_DELIVERIES,
        DELETE_ALERTS,
        DELETE_DELIVERIES,
        DELETE_JOBS,
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
    tx.commit()?;
    Ok(Pruned {
        deliveries: deleted,
        jobs,
    })
}
