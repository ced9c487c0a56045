//! Resolutions noted on pull requests, once each, in the PostgreSQL journal: each statement a
//! transaction of its own, replicas meeting on the note's primary key.

use postgres::types::ToSql;

use super::pool::Conn;
use crate::journal::records::NoteKey;
use crate::journal::sql::notes::{keyed, INSERT, MADE, TAKE_OVER};

type Params<'a> = [&'a (dyn ToSql + Sync); 6];

/// [`crate::journal::Journal::claim_note`].
pub fn claim(c: &mut Conn, note: &NoteKey, job: i64, now: i64) -> Result<bool, postgres::Error> {
    let [insert, take_over] = c.prepare([INSERT, TAKE_OVER])?;
    let number = note.pull_number as i64;
    let [repo, url, fingerprint, starts_at, job_id, at]: Params = keyed!(note, &job, &now);
    let inserted = c.client.execute(
        &insert,
        &[repo, url, fingerprint, starts_at, &number, job_id, at],
    )?;
    let keyed: Params = keyed!(note, &job, &now);
    Ok(inserted == 1 || c.client.execute(&take_over, &keyed)? == 1)
}

/// [`crate::journal::Journal::noted`].
pub fn noted(c: &mut Conn, note: &NoteKey, job: i64, now: i64) -> Result<(), postgres::Error> {
    let [made] = c.prepare([MADE])?;
    let keyed: Params = keyed!(note, &job, &now);
    c.client.execute(&made, &keyed)?;
    Ok(())
}
