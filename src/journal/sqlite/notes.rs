//! Resolutions noted on pull requests, once each, in the SQLite journal.

use anyhow::Result;
use rusqlite::{params, Connection, TransactionBehavior};

use super::statements::prepare as cached;
use crate::journal::records::NoteKey;
use crate::journal::sql::notes;

/// [`crate::journal::Journal::claim_note`].
pub fn claim(conn: &mut Connection, note: &NoteKey, job: i64, now: i64) -> Result<bool> {
    // Immediate: another process on the data_dir cannot take it in between.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let inserted = cached(&tx, notes::INSERT)?.execute(params![
        note.repo,
        note.pull_url,
        note.fingerprint,
        note.starts_at,
        note.pull_number as i64,
        job,
        now
    ])?;
    let taken = inserted == 1
        || cached(&tx, notes::TAKE_OVER)?.execute(params![
            note.repo,
            note.pull_url,
            note.fingerprint,
            note.starts_at,
            job,
            now
        ])? == 1;
    tx.commit()?;
    Ok(taken)
}

/// [`crate::journal::Journal::noted`].
pub fn noted(conn: &mut Connection, note: &NoteKey, job: i64, now: i64) -> Result<()> {
    cached(conn, notes::MADE)?.execute(params![
        note.repo,
        note.pull_url,
        note.fingerprint,
        note.starts_at,
        job,
        now
    ])?;
    Ok(())
}
