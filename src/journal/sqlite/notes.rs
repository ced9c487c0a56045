//! Resolutions noted on pull requests, once each, in the SQLite journal.

use anyhow::Result;
use rusqlite::{Connection, ToSql, TransactionBehavior};

use super::statements::prepare as cached;
use crate::journal::records::NoteKey;
use crate::journal::sql::notes;

type Params<'a> = [&'a dyn ToSql; 6];

/// [`crate::journal::Journal::claim_note`].
pub fn claim(conn: &mut Connection, note: &NoteKey, job: i64, now: i64) -> Result<bool> {
    // Immediate: another process on the data_dir cannot take it in between.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let number = note.pull_number as i64;
    let [repo, url, fingerprint, starts_at, job_id, at]: Params = notes::keyed!(note, &job, &now);
    let inserted = cached(&tx, notes::INSERT)?.execute([
        repo,
        url,
        fingerprint,
        starts_at,
        &number,
        job_id,
        at,
    ])?;
    let keyed: Params = notes::keyed!(note, &job, &now);
    let taken = inserted == 1 || cached(&tx, notes::TAKE_OVER)?.execute(keyed)? == 1;
    tx.commit()?;
    Ok(taken)
}

/// [`crate::journal::Journal::noted`].
pub fn noted(conn: &mut Connection, note: &NoteKey, job: i64, now: i64) -> Result<()> {
    let keyed: Params = notes::keyed!(note, &job, &now);
    cached(conn, notes::MADE)?.execute(keyed)?;
    Ok(())
}
