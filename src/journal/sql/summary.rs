//! The rollbacks of the last days, for [`crate::journal::RollbackSummary`]: each pull request
//! a rollback opened or found, with its times over all of its jobs, when any of them is in
//! the window.

use super::row::Row;
use crate::journal::summary::PullTimes;

/// Every job of a pull request carries what its forge told (see [`super::events::UPDATE`]),
/// but one that found it after the forge's word does not: hence the largest. Opened: the first
/// job that recorded it ended then. Newest first, at most `?2`; the window starts at `?1`.
pub const ROLLBACK_PULLS: &str =
    "SELECT MIN(updated_at), MAX(pr_merged_at), MAX(pr_closed_at) FROM jobs
     WHERE kind = 'rollback' AND pr_url IS NOT NULL
     GROUP BY pr_url
     HAVING MIN(updated_at) >= ?1 OR MAX(pr_merged_at) >= ?1 OR MAX(pr_closed_at) >= ?1
     ORDER BY MIN(updated_at) DESC LIMIT ?2";

/// A row of [`ROLLBACK_PULLS`].
pub fn pull_times<R: Row>(row: &R) -> Result<PullTimes, R::Error> {
    Ok(PullTimes {
        opened_at: row.get(0)?,
        merged_at: row.get(1)?,
        closed_at: row.get(2)?,
    })
}
