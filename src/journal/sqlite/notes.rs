//! Resolutions noted on pull requests, once each, in the SQLite journal.

use anyhow::Result;
use rusqlite::{params, Connection, TransactionBehavior};

use crate::journal::records::NoteKey;

/// [`crate::journal::Journal::claim_note`].
pub fn claim(conn: &mut Connection, note: &NoteKey, job: i64, now: i64) -> Result<bool> {
    // Immediate: another process on the data_dir cannot take it in between.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let inserted = tx
        .prepare_cached(
            "INSERT INTO resolved_notes (repo, pull_url, fingerprint, starts_at, pull_number, job_id, state, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'taken', ?7, ?7)
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            note.repo,
            note.pull_url,
            note.fingerprint,
            note.starts_at,
            note.pull_number as i64,
            job,
            now
        ])?;
    let taken = inserted == 1
        || tx
            .prepare_cached(
                "UPDATE resolved_notes SET job_id = ?5, updated_at = ?6
                 WHERE repo = ?1 AND pull_url = ?2 AND fingerprint = ?3 AND starts_at = ?4
                   AND state = 'taken'
                   AND (job_id = ?5
                        OR job_id NOT IN (SELECT id FROM jobs WHERE state IN ('queued', 'running')))",
            )?
            .execute(params![
                note.repo,
                note.pull_url,
                note.fingerprint,
                note.starts_at,
                job,
                now
            ])?
            == 1;
    tx.commit()?;
    Ok(taken)
}

/// [`crate::journal::Journal::noted`].
pub fn noted(conn: &mut Connection, note: &NoteKey, job: i64, now: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE resolved_notes SET state = 'made', updated_at = ?6
         WHERE repo = ?1 AND pull_url = ?2 AND fingerprint = ?3 AND starts_at = ?4 AND job_id = ?5",
    )?
    .execute(params![
        note.repo,
        note.pull_url,
        note.fingerprint,
        note.starts_at,
        job,
        now
    ])?;
    Ok(())
}
