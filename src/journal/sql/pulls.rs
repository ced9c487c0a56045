//! The local forge's pull requests (`forge: local`): found or opened for a head, commented on,
//! read back with their comments.

use super::row::Row;
use crate::journal::records::{LocalComment, LocalPull};

/// The pull request of a head, its row locked on PostgreSQL: replicas asking for one head at
/// once take turns.
pub const FIND: &str = "SELECT number, created_at FROM local_pulls
     WHERE repo = ?1 AND head = ?2 FOR UPDATE";

/// A statement of its own, after [`FIND`] holds the row: on PostgreSQL it sees the comment of
/// a replica that held the lock before (a snapshot taken with the lock's wait would not), so
/// one occurrence is not commented on twice.
pub const NEWEST_COMMENT: &str =
    "SELECT MAX(created_at) FROM local_pull_comments WHERE number = ?1";

/// None returned when another replica opened it between [`FIND`] and this: it waited for that
/// one to commit, so [`FIND`] finds it now. Looked for before it is inserted: an insert that
/// conflicts uses up a number all the same (on PostgreSQL), and most calls find it open.
pub const INSERT: &str =
    "INSERT INTO local_pulls (repo, head, base, title, body, state, created_at, updated_at)
     VALUES (?1, ?2, ?3, ?4, ?5, 'open', ?6, ?6)
     ON CONFLICT (repo, head) DO NOTHING
     RETURNING number";

pub const INSERT_COMMENT: &str =
    "INSERT INTO local_pull_comments (number, body, created_at) VALUES (?1, ?2, ?3)";

/// The pull request's `updated_at`, with each comment; no row when there is no such pull
/// request.
pub const TOUCH: &str = "UPDATE local_pulls SET updated_at = ?2 WHERE number = ?1";

/// [`local_pull`] maps it.
pub const GET: &str = "SELECT number, repo, head, base, title, body, state, created_at
     FROM local_pulls WHERE number = ?1";

/// In the order they were added, oldest first: replicas' clocks may not agree on created_at.
pub const COMMENTS: &str =
    "SELECT body, created_at FROM local_pull_comments WHERE number = ?1 ORDER BY id";

/// A row of [`GET`], its comments not read yet.
pub fn local_pull<R: Row>(row: &R) -> Result<LocalPull, R::Error> {
    Ok(LocalPull {
        number: row.get::<i64>(0)? as u64,
        repo: row.get(1)?,
        head: row.get(2)?,
        base: row.get(3)?,
        title: row.get(4)?,
        body: row.get(5)?,
        state: row.get(6)?,
        created_at: row.get(7)?,
        comments: Vec::new(),
    })
}

/// A row of [`COMMENTS`].
pub fn local_comment<R: Row>(row: &R) -> Result<LocalComment, R::Error> {
    Ok(LocalComment {
        body: row.get(0)?,
        created_at: row.get(1)?,
    })
}
