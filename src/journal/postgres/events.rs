//! What a forge told of a pull request, in the PostgreSQL journal: replicas given the same
//! delivery meet on its primary key, and only the one that recorded it goes on.

use super::pool::Conn;
use crate::journal::records::{PullEvent, PullEventRecorded};
use crate::journal::sql::events::{DELIVERY, UPDATE, WAS_MERGED};

/// [`crate::journal::Journal::pull_event`].
pub fn record(c: &mut Conn, e: &PullEvent, now: i64) -> Result<PullEventRecorded, postgres::Error> {
    let [delivery, was_merged, update] = c.prepare([DELIVERY, WAS_MERGED, UPDATE])?;
    let mut tx = c.client.transaction()?;
    let new = tx.execute(&delivery, &[&e.forge, &e.delivery, &e.event, &now])?;
    if new == 0 {
        return Ok(PullEventRecorded {
            replayed: true,
            ..PullEventRecorded::default()
        });
    }
    let merged_before: i64 = tx.query_one(&was_merged, &[&e.pull_url])?.get(0);
    let jobs = tx.execute(
        &update,
        &[
            &e.pull_url,
            &e.state,
            &e.merged_at,
            &e.closed_at,
            &e.closed_by,
        ],
    )?;
    tx.commit()?;
    Ok(PullEventRecorded {
        replayed: false,
        jobs,
        newly_merged: jobs > 0 && e.merged_at.is_some() && merged_before == 0,
    })
}
