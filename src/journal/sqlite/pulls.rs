//! The local forge's pull requests (`forge: local`) in the SQLite journal: found or opened for
//! a head, commented on, read back with their comments.

use anyhow::Result;
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use super::statements::prepare as cached;
use crate::journal::records::{LocalPull, LocalPullOutcome, NewLocalPull};
use crate::journal::sql::pulls;

/// [`crate::journal::Journal::ensure_local_pull`].
pub fn ensure(conn: &mut Connection, pull: &NewLocalPull, now: i64) -> Result<LocalPullOutcome> {
    // Immediate: the write lock from the first read, so that another process on the data_dir
    // cannot find the same head missing, or the same comment due, in between.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: Option<(i64, i64)> = cached(&tx, pulls::FIND)?
        .query_row(params![pull.repo, pull.head], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?;
    let outcome = match found {
        Some((number, created_at)) => {
            let newest: Option<i64> =
                cached(&tx, pulls::NEWEST_COMMENT)?.query_row([number], |row| row.get(0))?;
            let last = newest.map_or(created_at, |c| c.max(created_at));
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
        // Under the write lock the head is not opened by another process meanwhile: the
        // insert does not conflict, and returns the number.
        None => {
            let number: i64 = cached(&tx, pulls::INSERT)?.query_row(
                params![pull.repo, pull.head, pull.base, pull.title, pull.body, now],
                |row| row.get(0),
            )?;
            LocalPullOutcome {
                number: number as u64,
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
    // The update first: it finds the pull request, and nothing is written when there is none
    // (the transaction is rolled back when dropped).
    if cached(&tx, pulls::TOUCH)?.execute(params![number, now])? == 0 {
        return Ok(false);
    }
    cached(&tx, pulls::INSERT_COMMENT)?.execute(params![number, body, now])?;
    tx.commit()?;
    Ok(true)
}

/// The comment, and the pull request's `updated_at` with it.
fn add_comment(tx: &Transaction<'_>, number: i64, body: &str, now: i64) -> Result<()> {
    cached(tx, pulls::INSERT_COMMENT)?.execute(params![number, body, now])?;
    cached(tx, pulls::TOUCH)?.execute(params![number, now])?;
    Ok(())
}

/// [`crate::journal::Journal::local_pull`].
pub fn get(conn: &mut Connection, number: u64) -> Result<Option<LocalPull>> {
    let Ok(number) = i64::try_from(number) else {
        return Ok(None);
    };
    // One read transaction: the pull request and its comments as of one moment.
    let tx = conn.transaction()?;
    let pull = cached(&tx, pulls::GET)?
        .query_row([number], |row| pulls::local_pull(row))
        .optional()?;
    let Some(mut pull) = pull else {
        return Ok(None);
    };
    pull.comments = cached(&tx, pulls::COMMENTS)?
        .query_map([number], |row| pulls::local_comment(row))?
        .collect::<Result<_, _>>()?;
    Ok(Some(pull))
}
