//! Resolutions noted on pull requests, once each. Replicas taking one note at once meet on its
//! primary key: the insert of one waits for the other's to commit, then does nothing; the
//! take-over's update re-reads the row once its lock is free.

/// Taken by job `?6`, unless it is taken already.
pub const INSERT: &str = "INSERT INTO resolved_notes (repo, pull_url, fingerprint, starts_at, pull_number, job_id, state, created_at, updated_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'taken', ?7, ?7)
     ON CONFLICT DO NOTHING";

/// Taken again by job `?5`: its own (tried again), or one whose job is no longer queued or
/// running (it failed before it could comment).
pub const TAKE_OVER: &str = "UPDATE resolved_notes SET job_id = ?5, updated_at = ?6
     WHERE repo = ?1 AND pull_url = ?2 AND fingerprint = ?3 AND starts_at = ?4
       AND state = 'taken'
       AND (job_id = ?5
            OR job_id NOT IN (SELECT id FROM jobs WHERE state IN ('queued', 'running')))";

pub const MADE: &str = "UPDATE resolved_notes SET state = 'made', updated_at = ?6
     WHERE repo = ?1 AND pull_url = ?2 AND fingerprint = ?3 AND starts_at = ?4 AND job_id = ?5";

/// The note's key, the job and the time — what [`TAKE_OVER`] and [`MADE`] are given — as an
/// array of the backend's parameter references (the element type is the one it is bound to).
macro_rules! keyed {
    ($note:expr, $job:expr, $now:expr) => {
        [
            &$note.repo as _,
            &$note.pull_url as _,
            &$note.fingerprint as _,
            &$note.starts_at as _,
            $job as _,
            $now as _,
        ]
    };
}
pub(crate) use keyed;
