//! What a forge told of a rollback's pull request: each delivery once, then the jobs that
//! opened or found that pull request brought up to date; and the pull requests a poll asks
//! the forges about.

use super::row::Row;
use crate::journal::records::OpenPull;

/// Taken once per forge and delivery id; a replayed delivery inserts nothing.
pub const DELIVERY: &str = "INSERT INTO forge_deliveries (forge, delivery, event, received_at)
     VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT DO NOTHING";

/// Whether a job of the pull request recorded it merged already (a merge counted once).
pub const WAS_MERGED: &str =
    "SELECT COUNT(*) FROM jobs WHERE pr_url = ?1 AND pr_merged_at IS NOT NULL";

/// The pull request's state on every job that opened or found it.
pub const UPDATE: &str = "UPDATE jobs SET pr_state = ?2, pr_merged_at = ?3, pr_closed_at = ?4,
            pr_closed_by = ?5
     WHERE pr_url = ?1";

/// The pull requests on a forge (not the local one) that jobs recorded open and no forge has
/// told of since: opened or found by the job (`created`, `found`), or reopened (`open`). One row
/// each, however many jobs opened or found it.
pub const OPEN_PULLS: &str = "SELECT pr_url, MAX(repo), MAX(forge), MAX(pr_number) FROM jobs
     WHERE pr_url IS NOT NULL AND pr_number IS NOT NULL
       AND pr_state IN ('created', 'found', 'open')
       AND forge IN ('github', 'gitlab', 'gitea')
     GROUP BY pr_url
     ORDER BY pr_url";

/// A row of [`OPEN_PULLS`].
pub fn open_pull<R: Row>(row: &R) -> Result<OpenPull, R::Error> {
    Ok(OpenPull {
        url: row.get(0)?,
        repo: row.get(1)?,
        forge: row.get(2)?,
        number: row.get::<i64>(3)? as u64,
    })
}

/// Retention: deliveries older than `?1`.
pub const PRUNE: &str = "DELETE FROM forge_deliveries WHERE received_at < ?1";
