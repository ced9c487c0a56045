//! The SQLite journal: a file in the data directory, in WAL mode with synchronous commits,
//! shared safely by several processes on one host (each claim is one immediate transaction).
//! Every call first checks that the file at the path is still the one opened, and says
//! SQLite's errors in terms of the file and what to do ([`file`]).

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

mod events;
mod file;
mod notes;
mod prune;
mod pulls;
mod schema;
mod statements;

use super::backend::Journal;
use super::records::{
    Claimed, DeliveryRecord, Failure, Finished, JobDetail, JobRecord, LastPull, LocalPull,
    LocalPullOutcome, NewDelivery, NewLocalPull, NoteKey, Pruned, PullEvent, PullEventRecorded,
    Recorded,
};
use super::sql::{deliveries, jobs, summary};
use super::summary::{RollbackSummary, SUMMARY_PULLS};
use crate::error::Error;
use file::JournalFile;
use statements::prepare as cached;

/// The journal file in the data directory.
pub const FILE_NAME: &str = "journal.sqlite";

pub struct SqliteJournal {
    conn: Mutex<Connection>,
    file: JournalFile,
}

impl SqliteJournal {
    /// Opens (or creates) the journal in `data_dir` and brings its schema up to date.
    pub fn open(data_dir: &Path) -> Result<SqliteJournal> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            Error::usage(format!(
                "data_dir {}: cannot create it: {e}",
                data_dir.display()
            ))
        })?;
        let path = data_dir.join(FILE_NAME);
        let conn = Connection::open(&path)
            .with_context(|| format!("cannot open the journal {}", path.display()))?;
        let file = JournalFile::new(&path)?;
        let conn = prepare(conn).map_err(|e| file.explain(e))?;
        Ok(SqliteJournal {
            conn: Mutex::new(conn),
            file,
        })
    }

    /// The journal's file.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a transaction open: rusqlite rolls back
        // an unfinished transaction when it is dropped.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A call, on the file opened (not one put in its place), its errors said in terms of the
    /// file and what to do.
    fn guarded<T>(&self, call: impl FnOnce() -> Result<T>) -> Result<T> {
        self.file.check()?;
        call().map_err(|e| self.file.explain(e))
    }
}

/// The connection's settings, and the schema brought up to date.
fn prepare(mut conn: Connection) -> Result<Connection> {
    // Another process on the same data_dir may hold the write lock for a moment — even
    // now, while both start and switch the file to WAL.
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.set_prepared_statement_cache_capacity(statements::CACHED);
    // WAL: readers do not block the writer; FULL: a commit is on disk when it returns,
    // which is what the 200 to Alertmanager promises.
    set_wal(&conn)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    schema::migrate(&mut conn)?;
    Ok(conn)
}

/// Switches the file to WAL. The switch takes the file's exclusive lock, and SQLite answers
/// "database is locked" at once, without waiting, when another process holds it (several
/// starting together on a new data_dir): wait and try again.
fn set_wal(conn: &Connection) -> Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return Ok(other?),
        }
    }
}

impl Journal for SqliteJournal {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn writable(&self) -> bool {
        // Taking the write lock says no other process holds it for long; a full disk or a
        // read-only one shows only when a write needs a new page, so the room is looked at.
        self.file.writable()
            && self
                .conn()
                .execute_batch("BEGIN IMMEDIATE; ROLLBACK;")
                .is_ok()
    }

    fn record(&self, deliveries: &[NewDelivery], now: i64) -> Result<Vec<Recorded>> {
        self.guarded(|| {
            let mut conn = self.conn();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut out = Vec::with_capacity(deliveries.len());
            for d in deliveries {
                let delivery: i64 = cached(&tx, deliveries::INSERT_DELIVERY)?.query_row(
                    params![
                        d.received_at,
                        d.receiver,
                        d.group_key,
                        d.status,
                        d.alerts.len() as i64,
                        d.payload
                    ],
                    |row| row.get(0),
                )?;
                let mut decisions = Vec::with_capacity(d.alerts.len());
                let mut new_jobs = 0;
                for a in &d.alerts {
                    let c = a.columns(|j| {
                        let open: Option<i64> = cached(&tx, jobs::OPEN_JOB)?
                            .query_row(params![j.kind.as_str(), j.repo, j.target], |row| row.get(0))
                            .optional()?;
                        if let Some(id) = open {
                            return Ok::<_, anyhow::Error>(("coalesced", id));
                        }
                        new_jobs += 1;
                        let id = cached(&tx, jobs::INSERT_JOB)?.query_row(
                            params![
                                j.kind.as_str(),
                                j.repo,
                                j.target,
                                j.alert,
                                j.alert_start,
                                now,
                                j.subject.to_json()
                            ],
                            |row| row.get(0),
                        )?;
                        Ok(("queued", id))
                    })?;
                    let params: [&dyn rusqlite::ToSql; 11] =
                        deliveries::alert_params!(delivery, a, c);
                    cached(&tx, deliveries::INSERT_ALERT)?.execute(params)?;
                    decisions.push(c.decision);
                }
                out.push(Recorded {
                    delivery,
                    decisions,
                    new_jobs,
                });
            }
            tx.commit()?;
            Ok(out)
        })
    }

    fn claim(&self, worker: &str, now: i64, lease_until: i64) -> Result<Option<Claimed>> {
        self.guarded(|| {
            let mut conn = self.conn();
            // One transaction with the write lock from the start: the file's lock is the
            // claim's, so no other process takes the job, nor one of its repository, meanwhile.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            cached(&tx, jobs::EXPIRE_LEASES)?.execute([now])?;
            let job = cached(&tx, jobs::DUE)?
                .query_row(params![now, 1], |row| jobs::claimed(row))
                .optional()?;
            if let Some(job) = &job {
                cached(&tx, jobs::TAKE)?.execute(params![job.id, worker, lease_until, now])?;
            }
            tx.commit()?;
            Ok(job)
        })
    }

    fn renew(&self, job: i64, worker: &str, lease_until: i64) -> Result<bool> {
        self.guarded(|| {
            let conn = self.conn();
            let n = cached(&conn, jobs::RENEW)?.execute(params![job, worker, lease_until])?;
            Ok(n == 1)
        })
    }

    fn finish(&self, job: i64, worker: &str, now: i64, f: &Finished) -> Result<bool> {
        self.guarded(|| {
            let conn = self.conn();
            let n = cached(&conn, jobs::FINISH)?.execute(params![
                job,
                f.outcome,
                f.culprit,
                f.branch,
                f.strategy,
                f.pr_number.map(|n| n as i64),
                f.pr_url,
                f.pr_state,
                f.diff,
                now,
                worker,
                f.hold,
                f.forge,
                f.registry,
                f.auto_merge,
                f.auto_merge_method
            ])?;
            Ok(n == 1)
        })
    }

    fn fail(&self, job: i64, worker: &str, now: i64, f: &Failure) -> Result<bool> {
        self.guarded(|| {
            let (state, not_before) = match f.retry_at {
                Some(at) => ("queued", at),
                None => ("failed", now),
            };
            let conn = self.conn();
            let n = cached(&conn, jobs::FAIL)?.execute(params![
                job, state, not_before, f.kind, f.code, f.message, now, worker
            ])?;
            Ok(n == 1)
        })
    }

    fn release(&self, job: i64, worker: &str, now: i64) -> Result<bool> {
        self.guarded(|| {
            let conn = self.conn();
            let n = cached(&conn, jobs::RELEASE)?.execute(params![job, now, worker])?;
            Ok(n == 1)
        })
    }

    fn running(&self) -> Result<Vec<(i64, String)>> {
        self.guarded(|| {
            let conn = self.conn();
            let mut stmt = cached(&conn, jobs::RUNNING)?;
            let rows = stmt.query_map([], |row| jobs::running(row))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn rollbacks_since(&self, repo: &str, since: i64) -> Result<u32> {
        self.guarded(|| {
            let conn = self.conn();
            let n: i64 = cached(&conn, jobs::ROLLBACKS_SINCE)?
                .query_row(params![repo, since], |row| row.get(0))?;
            Ok(n as u32)
        })
    }

    fn auto_merges_since(&self, repo: &str, since: i64) -> Result<u32> {
        self.guarded(|| {
            let conn = self.conn();
            let n: i64 = cached(&conn, jobs::AUTO_MERGES_SINCE)?
                .query_row(params![repo, since], |row| row.get(0))?;
            Ok(n as u32)
        })
    }

    fn last_pull(&self, repo: &str, target: &str) -> Result<Option<LastPull>> {
        self.guarded(|| {
            let conn = self.conn();
            let pull = cached(&conn, jobs::LAST_PULL)?
                .query_row(params![repo, target], |row| jobs::last_pull(row))
                .optional()?;
            Ok(pull)
        })
    }

    fn pending(&self) -> Result<u32> {
        self.guarded(|| {
            let conn = self.conn();
            let n: i64 = cached(&conn, jobs::PENDING)?.query_row([], |row| row.get(0))?;
            Ok(n as u32)
        })
    }

    fn jobs(&self, limit: u32) -> Result<Vec<JobRecord>> {
        self.guarded(|| {
            let conn = self.conn();
            let mut stmt = cached(&conn, jobs::JOBS)?;
            let rows = stmt.query_map([limit], |row| jobs::job_record(row))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn job(&self, id: i64) -> Result<Option<JobDetail>> {
        self.guarded(|| {
            let conn = self.conn();
            let job = cached(&conn, jobs::JOB)?
                .query_row([id], |row| jobs::job_detail(row))
                .optional()?;
            Ok(job)
        })
    }

    fn deliveries(&self, limit: u32) -> Result<Vec<DeliveryRecord>> {
        self.guarded(|| {
            let conn = self.conn();
            let mut out: Vec<DeliveryRecord> = cached(&conn, deliveries::DELIVERIES)?
                .query_map([limit], |row| deliveries::delivery_record(row))?
                .collect::<Result<_, _>>()?;
            let mut alerts = cached(&conn, deliveries::ALERTS_OF_DELIVERY)?;
            for d in &mut out {
                d.alerts = alerts
                    .query_map([d.id], |row| deliveries::alert_record(row))?
                    .map(|a| a.map(|(_, alert)| alert))
                    .collect::<Result<_, _>>()?;
            }
            Ok(out)
        })
    }

    fn delivery_count(&self) -> Result<u64> {
        self.guarded(|| {
            let conn = self.conn();
            let n: i64 =
                cached(&conn, deliveries::DELIVERY_COUNT)?.query_row([], |row| row.get(0))?;
            Ok(n as u64)
        })
    }

    fn prune(&self, before: i64) -> Result<Pruned> {
        self.guarded(|| prune::prune(&mut self.conn(), before))
    }

    fn ensure_local_pull(&self, pull: &NewLocalPull, now: i64) -> Result<LocalPullOutcome> {
        self.guarded(|| pulls::ensure(&mut self.conn(), pull, now))
    }

    fn comment_local_pull(&self, number: u64, body: &str, now: i64) -> Result<bool> {
        self.guarded(|| pulls::comment(&mut self.conn(), number, body, now))
    }

    fn local_pull(&self, number: u64) -> Result<Option<LocalPull>> {
        self.guarded(|| pulls::get(&mut self.conn(), number))
    }

    fn claim_note(&self, note: &NoteKey, job: i64, now: i64) -> Result<bool> {
        self.guarded(|| notes::claim(&mut self.conn(), note, job, now))
    }

    fn noted(&self, note: &NoteKey, job: i64, now: i64) -> Result<()> {
        self.guarded(|| notes::noted(&mut self.conn(), note, job, now))
    }

    fn pull_event(&self, event: &PullEvent, now: i64) -> Result<PullEventRecorded> {
        self.guarded(|| events::record(&mut self.conn(), event, now))
    }

    fn rollback_summary(&self, since: i64) -> Result<RollbackSummary> {
        self.guarded(|| {
            let conn = self.conn();
            let mut stmt = cached(&conn, summary::ROLLBACK_PULLS)?;
            let pulls = stmt
                .query_map(params![since, SUMMARY_PULLS], |row| {
                    summary::pull_times(row)
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(RollbackSummary::of(since, pulls))
        })
    }

    fn open_pulls(&self) -> Result<Vec<crate::journal::records::OpenPull>> {
        use crate::journal::sql::events as sql;
        self.guarded(|| {
            let conn = self.conn();
            let mut stmt = cached(&conn, sql::OPEN_PULLS)?;
            let rows = stmt.query_map([], |row| sql::open_pull(row))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }
}
