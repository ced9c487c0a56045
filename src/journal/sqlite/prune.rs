//! Retention in the SQLite journal: the oldest deliveries with their alerts, then the jobs that
//! ended and that no alert names any longer, a batch at a time.

use anyhow::Result;
use rusqlite::{params, Connection, TransactionBehavior};

use crate::journal::backend::PRUNE_BATCH;
use crate::journal::records::Pruned;

/// The oldest deliveries received before `?1`, but for those with an alert that joined a job
/// still queued or running: that job's story stays whole until it ends.
const OLD_DELIVERIES: &str = "SELECT d.id FROM deliveries d
     WHERE d.received_at < ?1
       AND NOT EXISTS (SELECT 1 FROM alerts a JOIN jobs j ON j.id = a.job_id
                       WHERE a.delivery_id = d.id AND j.state IN ('queued', 'running'))
     ORDER BY d.received_at, d.id LIMIT ?2";
const DELETE_ALERTS: &str = "DELETE FROM alerts WHERE delivery_id = ?1";
const DELETE_DELIVERY: &str = "DELETE FROM deliveries WHERE id = ?1";
/// After the deliveries: the jobs whose last alert went with them go in the same call.
const DELETE_JOBS: &str = "DELETE FROM jobs WHERE id IN (
     SELECT j.id FROM jobs j
     WHERE j.state IN ('done', 'failed') AND j.updated_at < ?1
       AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.job_id = j.id)
     ORDER BY j.updated_at, j.id LIMIT ?2)";

/// [`crate::journal::Journal::prune`].
pub fn prune(conn: &mut Connection, before: i64) -> Result<Pruned> {
    // Immediate: the write lock from the first read, so that what is chosen is what is deleted,
    // whatever another process on the data_dir records meanwhile.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let deliveries: Vec<i64> = tx
        .prepare_cached(OLD_DELIVERIES)?
        .query_map(params![before, PRUNE_BATCH], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    {
        let mut alerts = tx.prepare_cached(DELETE_ALERTS)?;
        let mut delivery = tx.prepare_cached(DELETE_DELIVERY)?;
        for id in &deliveries {
            alerts.execute([id])?;
            delivery.execute([id])?;
        }
    }
    let jobs = tx
        .prepare_cached(DELETE_JOBS)?
        .execute(params![before, PRUNE_BATCH])?;
    tx.commit()?;
    Ok(Pruned {
        deliveries: deliveries.len() as u64,
        jobs: jobs as u64,
    })
}
