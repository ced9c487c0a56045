//! Resolutions noted on pull requests, once each, in the PostgreSQL journal. Replicas taking
//! one note at once meet on its primary key: the insert of one waits for the other's to commit,
//! then does nothing; the take-over's update re-reads the row once its lock is free.

use super::pool::Conn;
use crate::journal::records::NoteKey;

const INSERT: &str = "INSERT INTO resolved_notes (repo, pull_url, fingerprint, starts_at, pull_number, job_id, state, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, 'taken', $7, $7)
     ON CONFLICT DO NOTHING";
const TAKE_OVER: &str = "UPDATE resolved_notes SET job_id = $5, updated_at = $6
     WHERE repo = $1 AND pull_url = $2 AND fingerprint = $3 AND starts_at = $4
       AND state = 'taken'
       AND (job_id = $5
            OR job_id NOT IN (SELECT id FROM jobs WHERE state IN ('queued', 'running')))";
const MADE: &str = "UPDATE resolved_notes SET state = 'made', updated_at = $6
     WHERE repo = $1 AND pull_url = $2 AND fingerprint = $3 AND starts_at = $4 AND job_id = $5";

/// [`crate::journal::Journal::claim_note`].
pub fn claim(c: &mut Conn, note: &NoteKey, job: i64, now: i64) -> Result<bool, postgres::Error> {
    let [insert, take_over] = c.prepare([INSERT, TAKE_OVER])?;
    let number = note.pull_number as i64;
    if c.client.execute(
        &insert,
        &[
            &note.repo,
            &note.pull_url,
            &note.fingerprint,
            &note.starts_at,
            &number,
            &job,
            &now,
        ],
    )? == 1
    {
        return Ok(true);
    }
    let taken = c.client.execute(
        &take_over,
        &[
            &note.repo,
            &note.pull_url,
            &note.fingerprint,
            &note.starts_at,
            &job,
            &now,
        ],
    )?;
    Ok(taken == 1)
}

/// [`crate::journal::Journal::noted`].
pub fn noted(c: &mut Conn, note: &NoteKey, job: i64, now: i64) -> Result<(), postgres::Error> {
    let [made] = c.prepare([MADE])?;
    c.client.execute(
        &made,
        &[
            &note.repo,
            &note.pull_url,
            &note.fingerprint,
            &note.starts_at,
            &job,
            &now,
        ],
    )?;
    Ok(())
}
