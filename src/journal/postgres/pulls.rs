//! The local forge's pull requests (`forge: local`) in the PostgreSQL journal: found or opened
//! for a head, commented on, read back with their comments. Replicas asking for one head at
//! once meet on the unique index and on the pull request's row lock.

use super::pool::Conn;
use crate::journal::records::{LocalPull, LocalPullOutcome, NewLocalPull};
use crate::journal::sql::pulls::{
    self, COMMENTS, FIND, GET, INSERT, INSERT_COMMENT, NEWEST_COMMENT, TOUCH,
};

/// [`crate::journal::Journal::ensure_local_pull`].
pub fn ensure(
    c: &mut Conn,
    pull: &NewLocalPull,
    now: i64,
) -> Result<LocalPullOutcome, postgres::Error> {
    let [find, newest_comment, insert, insert_comment, touch] =
        c.prepare([FIND, NEWEST_COMMENT, INSERT, INSERT_COMMENT, TOUCH])?;
    let mut tx = c.client.transaction()?;
    let outcome = loop {
        if let Some(row) = tx.query_opt(&find, &[&pull.repo, &pull.head])? {
            let number: i64 = row.get(0);
            let created_at: i64 = row.get(1);
            let newest: Option<i64> = tx.query_one(&newest_comment, &[&number])?.get(0);
            let last = newest.map_or(created_at, |c| c.max(created_at));
            let commented = pull.comment_due(last, now);
            if commented {
                tx.execute(&insert_comment, &[&number, &pull.occurrence_comment, &now])?;
                tx.execute(&touch, &[&number, &now])?;
            }
            break LocalPullOutcome {
                number: number as u64,
                created: false,
                commented,
            };
        }
        if let Some(row) = tx.query_opt(
            &insert,
            &[
                &pull.repo,
                &pull.head,
                &pull.base,
                &pull.title,
                &pull.body,
                &now,
            ],
        )? {
            break LocalPullOutcome {
                number: row.get::<_, i64>(0) as u64,
                created: true,
                commented: false,
            };
        }
        // Another replica opened it between the two statements; the insert waited for it to
        // commit, so it is found now.
    };
    tx.commit()?;
    Ok(outcome)
}

/// [`crate::journal::Journal::comment_local_pull`].
pub fn comment(c: &mut Conn, number: u64, body: &str, now: i64) -> Result<bool, postgres::Error> {
    // A number past BIGINT names no pull request.
    let Ok(number) = i64::try_from(number) else {
        return Ok(false);
    };
    let [insert_comment, touch] = c.prepare([INSERT_COMMENT, TOUCH])?;
    let mut tx = c.client.transaction()?;
    // The update first: it finds the pull request, and nothing is written when there is none
    // (the transaction is rolled back when dropped).
    if tx.execute(&touch, &[&number, &now])? == 0 {
        return Ok(false);
    }
    tx.execute(&insert_comment, &[&number, &body, &now])?;
    tx.commit()?;
    Ok(true)
}

/// [`crate::journal::Journal::local_pull`].
pub fn get(c: &mut Conn, number: u64) -> Result<Option<LocalPull>, postgres::Error> {
    let Ok(number) = i64::try_from(number) else {
        return Ok(None);
    };
    let [get, comments] = c.prepare([GET, COMMENTS])?;
    let Some(row) = c.client.query_opt(&get, &[&number])? else {
        return Ok(None);
    };
    let mut pull = pulls::local_pull(&row)?;
    pull.comments = c
        .client
        .query(&comments, &[&number])?
        .iter()
        .map(pulls::local_comment)
        .collect::<Result<_, _>>()?;
    Ok(Some(pull))
}
