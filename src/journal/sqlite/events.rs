//! What a forge told of a pull request, in the SQLite journal: the delivery and the jobs'
//! update in one transaction under the file's write lock.

use anyhow::Result;
use rusqlite::{params, Connection, TransactionBehavior};

use super::statements::prepare as cached;
use crate::journal::records::{PullEvent, PullEventRecorded};
use crate::journal::sql::events;

/// [`crate::journal::Journal::pull_event`].
pub fn record(conn: &mut Connection, e: &PullEvent, now: i64) -> Result<PullEventRecorded> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let new = cached(&tx, events::DELIVERY)?.execute(params![e.forge, e.delivery, e.event, now])?;
    if new == 0 {
        return Ok(PullEventRecorded {
            replayed: true,
            ..PullEventRecorded::default()
        });
    }
    let was_merged: i64 =
        cached(&tx, events::WAS_MERGED)?.query_row([&e.pull_url], |row| row.get(0))?;
    let jobs = cached(&tx, events::UPDATE)?.execute(params![
        e.pull_url,
        e.state,
        e.merged_at,
        e.closed_at,
        e.closed_by
    ])?;
    tx.commit()?;
    Ok(PullEventRecorded {
        replayed: false,
        jobs: jobs as u64,
        newly_merged: jobs > 0 && e.merged_at.is_some() && was_merged == 0,
    })
}
