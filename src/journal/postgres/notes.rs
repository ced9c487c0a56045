//! Resolutions noted on pull requests, once each, in the PostgreSQL journal: each statement a
//! transaction of its own, replicas meeting on the note's primary key.

use super::pool::Conn;
use crate::journal::records::NoteKey;
use crate::journal::sql::notes::{INSERT, MADE, TAKE_OVER};

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
