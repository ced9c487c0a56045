//! What a forge told of a rollback's pull request: each delivery once, then the jobs that
//! opened or found that pull request brought up to date.

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

/// Retention: deliveries older than `?1`.
pub const PRUNE: &str = "DELETE FROM forge_deliveries WHERE received_at < ?1";
