//! The local forge's pull requests (`forge: local`) in the SQLite journal: found or opened for
//! a head, commented on, read back with their comments.

use anyhow::Result;
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::journal::records::{LocalComment, LocalPull, LocalPullOutcome, NewLocalPull};

/// [`crate::journal::Journal::ensure_local_pull`].
pub fn ensure(conn: &mut Connection, pull: &NewLocalPull, now: i64) -> Result<LocalPullOutcome> {
    // Immediate: the write lock from the first read, so that another process on the data_dir
    // cannot find the same head missing, or the same comment due, in between.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: Option<(i64, i64, Option<i64>)> = tx
        .prepare_cached(
            "SELECT p.number, p.created_at,
                    (SELECT MAX(c.created_at) FROM local_pull_comments c WHERE c.number = p.number)
             FROM local_pulls p WHERE p.repo = ?1 AND p.head = ?2",
        )?
        .query_row(params![pull.repo, pull.head], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .optional()?;
    let outcome = match found {
        Some((number, created_at, newest_comment)) => {
            let last = newest_comment.map_or(created_at, |c| c.max(created_at));
            let commented = pull.comment_due(last, now);
            if commented {
                add_comment(&tx, number, &pull.occurrence_comment, now)?;
            }
            LocalPullOutcome {
                number: number as u64,
                created: false,
                commented,
            }
        }
        None => {
            tx.prepare_cached(
                "INSERT INTO local_pulls (repo, head, base, title, body, state, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'open', ?6, ?6)",
            )?
            .execute(params![pull.repo, pull.head, pull.base, pull.title, pull.body, now])?;
            LocalPullOutcome {
                number: tx.last_insert_rowid() as u64,
                created: true,
                commented: false,
            }
        }
    };
    tx.commit()?;
    Ok(outcome)
}

/// [`crate::journal::Journal::comment_local_pull`].
pub fn comment(conn: &mut Connection, number: u64, body: &str, now: i64) -> Result<bool> {
    // A number past i64 names no pull request (SQLite's rowids are i64).
    let Ok(number) = i64::try_from(number) else {
        return Ok(false);
    };
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let exists = tx
        .prepare_cached("SELECT 1 FROM local_pulls WHERE number = ?1")?
        .exists([number])?;
    if exists {
        add_comment(&tx, number, body, now)?;
        tx.commit()?;
    }
    Ok(exists)
}

/// The comment, and the pull request's `updated_at` with it.
fn add_comment(tx: &Transaction<'_>, number: i64, body: &str, now: i64) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO local_pull_comments (number, body, created_at) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![number, body, now])?;
    tx.prepare_cached("UPDATE local_pulls SET updated_at = ?2 WHERE number = ?1")?
        .execute(params![number, now])?;
    Ok(())
}

/// [`crate::journal::Journal::local_pull`].
pub fn get(conn: &mut Connection, number: u64) -> Result<Option<LocalPull>> {
    let Ok(number) = i64::try_from(number) else {
        return Ok(None);
    };
    // One read transaction: the pull request and its comments as of one moment.
    let tx = conn.transaction()?;
    let pull = tx
        .prepare_cached(
            "SELECT number, repo, head, base, title, body, state, created_at
             FROM local_pulls WHERE number = ?1",
        )?
        .query_row([number], |row| {
            Ok(LocalPull {
                number: row.get::<_, i64>(0)? as u64,
                repo: row.get(1)?,
                head: row.get(2)?,
                base: row.get(3)?,
                title: row.get(4)?,
                body: row.get(5)?,
                state: row.get(6)?,
                created_at: row.get(7)?,
                comments: Vec::new(),
            })
        })
        .optional()?;
    let Some(mut pull) = pull else {
        return Ok(None);
    };
    // In the order they were added, oldest first.
    pull.comments = tx
        .prepare_cached(
            "SELECT body, created_at FROM local_pull_comments WHERE number = ?1 ORDER BY id",
        )?
        .query_map([number], |row| {
            Ok(LocalComment {
                body: row.get(0)?,
                created_at: row.get(1)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(Some(pull))
}
