//! Retention in the SQLite journal, under the file's write lock.

use anyhow::Result;
use rusqlite::{params, Connection, TransactionBehavior};

use super::statements::prepare as cached;
use crate::journal::backend::PRUNE_BATCH;
use crate::journal::records::Pruned;
use crate::journal::sql::{events, prune};

/// [`crate::journal::Journal::prune`].
pub fn prune(conn: &mut Connection, before: i64) -> Result<Pruned> {
    // Immediate: the write lock from the first read, so that what is chosen is what is deleted,
    // whatever another process on the data_dir records meanwhile.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let deliveries: Vec<i64> = cached(&tx, prune::OLD_DELIVERIES)?
        .query_map(params![before, PRUNE_BATCH], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    {
        let mut alerts = cached(&tx, prune::DELETE_ALERTS_OF_DELIVERY)?;
        let mut delivery = cached(&tx, prune::DELETE_DELIVERY)?;
        for id in &deliveries {
            alerts.execute([id])?;
            delivery.execute([id])?;
        }
    }
    let jobs = cached(&tx, prune::DELETE_JOBS)?.execute(params![before, PRUNE_BATCH])?;
    cached(&tx, events::PRUNE)?.execute([before])?;
    tx.commit()?;
    Ok(Pruned {
        deliveries: deliveries.len() as u64,
        jobs: jobs as u64,
    })
}
