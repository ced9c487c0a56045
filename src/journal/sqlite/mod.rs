//! The SQLite journal: a file in the data directory, in WAL mode with synchronous commits,
//! shared safely by several processes on one host (each claim is one immediate transaction).
//! Every call first checks that the file at the path is still the one opened, and says
//! SQLite's errors in terms of the file and what to do ([`file`]).

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

mod file;
mod notes;
mod prune;
mod pulls;
mod schema;

use super::backend::Journal;
use super::records::{
    AlertRecord, Claimed, Decision, DeliveryRecord, Failure, Finished, JobDetail, JobKind,
    JobRecord, LastPull, LocalPull, LocalPullOutcome, NewDelivery, NewLocalPull, NoteKey, Pruned,
    Recorded,
};
use crate::error::Error;
use file::JournalFile;

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
    // WAL: readers do not block the writer; FULL: a commit is on disk when it returns,
    // which is what the 200 to Alertmanager promises.
    set_wal(&conn)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    schema::migrate(&mut conn)?;
    Ok(conn)
}

/// The columns of a job as `jobs` and `job` read them (`job_record` maps them).
const JOB_COLUMNS: &str =
    "j.id, j.kind, j.repo, j.target, j.state, j.attempts, j.created_at, j.updated_at,
    j.outcome, j.error_kind, j.error, j.culprit, j.branch, j.strategy, j.pr_number, j.pr_url,
    (SELECT COUNT(*) FROM alerts a WHERE a.job_id = j.id), j.ran_by, j.hold";

fn job_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<JobRecord> {
    Ok(JobRecord {
        id: row.get(0)?,
        kind: JobKind::parse(&row.get::<_, String>(1)?),
        repo: row.get(2)?,
        target: row.get(3)?,
        state: row.get(4)?,
        attempts: row.get(5)?,
        created_at: row.get(6)?,
        updated_at: row.get(7)?,
        outcome: row.get(8)?,
        error_kind: row.get(9)?,
        error: row.get(10)?,
        culprit: row.get(11)?,
        branch: row.get(12)?,
        strategy: row.get(13)?,
        pr_number: row.get::<_, Option<i64>>(14)?.map(|n| n as u64),
        pr_url: row.get(15)?,
        alerts: row.get(16)?,
        ran_by: row.get(17)?,
        hold: row.get(18)?,
    })
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
            tx.prepare_cached(
                "INSERT INTO deliveries (received_at, receiver, group_key, status, alerts, payload)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                d.received_at,
                d.receiver,
                d.group_key,
                d.status,
                d.alerts.len() as i64,
                d.payload
            ])?;
            let delivery = tx.last_insert_rowid();
            let mut decisions = Vec::with_capacity(d.alerts.len());
            let mut new_jobs = 0;
            for a in &d.alerts {
                let (decision, repo, target, reason, job) = match &a.decision {
                    Decision::Unmatched => ("unmatched", None, None, None, None),
                    Decision::Skipped { repo, reason } => {
                        ("skipped", repo.clone(), None, Some(reason.clone()), None)
                    }
                    Decision::Job(j) => {
                        let existing: Option<i64> = tx
                            .prepare_cached(
                                "SELECT id FROM jobs
                                 WHERE kind = ?1 AND repo = ?2 AND target = ?3
                                   AND state IN ('queued', 'running')
                                 ORDER BY id LIMIT 1",
                            )?
                            .query_row(params![j.kind.as_str(), j.repo, j.target], |row| row.get(0))
                            .optional()?;
                        match existing {
                            Some(id) => (
                                "coalesced",
                                Some(j.repo.clone()),
                                Some(j.target.clone()),
                                None,
                                Some(id),
                            ),
                            None => {
                                tx.prepare_cached(
                                    "INSERT INTO jobs (kind, repo, target, alert, alert_start, state, not_before, created_at, updated_at)
                                     VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?6, ?6, ?6)",
                                )?
                                .execute(
                                    params![j.kind.as_str(), j.repo, j.target, j.alert, j.alert_start, now],
                                )?;
                                new_jobs += 1;
                                (
                                    "queued",
                                    Some(j.repo.clone()),
                                    Some(j.target.clone()),
                                    None,
                                    Some(tx.last_insert_rowid()),
                                )
                            }
                        }
                    }
                };
                tx.prepare_cached(
                    "INSERT INTO alerts (delivery_id, fingerprint, alertname, status, starts_at, rule, repo, target, decision, reason, job_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )?
                .execute(
                    params![delivery, a.fingerprint, a.alertname, a.status, a.starts_at, a.rule, repo, target, decision, reason, job],
                )?;
                decisions.push(decision);
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
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE jobs SET state = 'queued', claimed_by = NULL, lease_until = NULL, updated_at = ?1
             WHERE state = 'running' AND lease_until < ?1",
            [now],
        )?;
        let job = tx
            .query_row(
                "SELECT id, kind, repo, target, alert, alert_start, attempts, created_at FROM jobs
                 WHERE state = 'queued' AND not_before <= ?1
                   AND repo NOT IN (SELECT repo FROM jobs WHERE state = 'running')
                 ORDER BY not_before, id LIMIT 1",
                [now],
                |row| {
                    Ok(Claimed {
                        id: row.get(0)?,
                        kind: JobKind::parse(&row.get::<_, String>(1)?),
                        repo: row.get(2)?,
                        target: row.get(3)?,
                        alert: row.get(4)?,
                        alert_start: row.get(5)?,
                        attempt: row.get::<_, u32>(6)? + 1,
                        created_at: row.get(7)?,
                    })
                },
            )
            .optional()?;
        if let Some(job) = &job {
            tx.execute(
                "UPDATE jobs SET state = 'running', attempts = attempts + 1, claimed_by = ?2,
                        ran_by = ?2, lease_until = ?3, updated_at = ?4
                 WHERE id = ?1",
                params![job.id, worker, lease_until, now],
            )?;
        }
        tx.commit()?;
        Ok(job)
        })
    }

    fn renew(&self, job: i64, worker: &str, lease_until: i64) -> Result<bool> {
        self.guarded(|| {
        let n = self.conn().execute(
            "UPDATE jobs SET lease_until = ?3 WHERE id = ?1 AND claimed_by = ?2 AND state = 'running'",
            params![job, worker, lease_until],
        )?;
        Ok(n == 1)
        })
    }

    fn finish(&self, job: i64, worker: &str, now: i64, f: &Finished) -> Result<bool> {
        self.guarded(|| {
        let n = self.conn().execute(
            "UPDATE jobs SET state = 'done', outcome = ?2, culprit = ?3, branch = ?4, strategy = ?5,
                    pr_number = ?6, pr_url = ?7, pr_state = ?8, diff = ?9, updated_at = ?10, hold = ?12,
                    claimed_by = NULL, lease_until = NULL, error_kind = NULL, error_code = NULL, error = NULL
             WHERE id = ?1 AND claimed_by = ?11 AND state = 'running'",
            params![
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
                f.hold
            ],
        )?;
        Ok(n == 1)
        })
    }

    fn fail(&self, job: i64, worker: &str, now: i64, f: &Failure) -> Result<bool> {
        self.guarded(|| {
        let (state, not_before) = match f.retry_at {
            Some(at) => ("queued", at),
            None => ("failed", now),
        };
        let n = self.conn().execute(
            "UPDATE jobs SET state = ?2, not_before = ?3, outcome = ?4, error_kind = ?4, error_code = ?5,
                    error = ?6, updated_at = ?7, claimed_by = NULL, lease_until = NULL
             WHERE id = ?1 AND claimed_by = ?8 AND state = 'running'",
            params![job, state, not_before, f.kind, f.code, f.message, now, worker],
        )?;
        Ok(n == 1)
        })
    }

    fn release(&self, job: i64, worker: &str, now: i64) -> Result<bool> {
        self.guarded(|| {
        let n = self.conn().execute(
            "UPDATE jobs SET state = 'queued', claimed_by = NULL, lease_until = NULL, updated_at = ?2,
                    attempts = MAX(attempts - 1, 0)
             WHERE id = ?1 AND claimed_by = ?3 AND state = 'running'",
            params![job, now, worker],
        )?;
        Ok(n == 1)
        })
    }

    fn running(&self) -> Result<Vec<(i64, String)>> {
        self.guarded(|| {
            let conn = self.conn();
            let mut stmt = conn.prepare(
                "SELECT id, COALESCE(claimed_by, '') FROM jobs WHERE state = 'running' ORDER BY id",
            )?;
            let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn rollbacks_since(&self, repo: &str, since: i64) -> Result<u32> {
        self.guarded(|| {
            Ok(self.conn().query_row(
                "SELECT COUNT(DISTINCT COALESCE(branch, target)) FROM jobs
                 WHERE repo = ?1 AND kind = 'rollback'
                   AND outcome IN ('created', 'reused', 'dry-run') AND updated_at >= ?2",
                params![repo, since],
                |row| row.get(0),
            )?)
        })
    }

    fn last_pull(&self, repo: &str, target: &str) -> Result<Option<LastPull>> {
        self.guarded(|| {
            Ok(self
                .conn()
                .query_row(
                    "SELECT pr_number, branch, pr_url FROM jobs
                 WHERE repo = ?1 AND target = ?2 AND kind = 'rollback' AND pr_number IS NOT NULL
                 ORDER BY updated_at DESC, id DESC LIMIT 1",
                    params![repo, target],
                    |row| {
                        Ok(LastPull {
                            number: row.get::<_, i64>(0)? as u64,
                            branch: row.get::<_, Option<String>>(1)?.unwrap_or_default(),
                            url: row.get(2)?,
                        })
                    },
                )
                .optional()?)
        })
    }

    fn pending(&self) -> Result<u32> {
        self.guarded(|| {
            Ok(self.conn().query_row(
                "SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')",
                [],
                |row| row.get(0),
            )?)
        })
    }

    fn jobs(&self, limit: u32) -> Result<Vec<JobRecord>> {
        self.guarded(|| {
            let conn = self.conn();
            let mut stmt = conn.prepare(&format!(
                "SELECT {JOB_COLUMNS} FROM jobs j ORDER BY j.id DESC LIMIT ?1"
            ))?;
            let rows = stmt.query_map([limit], job_record)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn job(&self, id: i64) -> Result<Option<JobDetail>> {
        self.guarded(|| {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {JOB_COLUMNS}, j.error_code, j.pr_state, j.diff, j.alert,
                    (SELECT MIN(d.received_at) FROM alerts a JOIN deliveries d ON d.id = a.delivery_id
                     WHERE a.job_id = j.id)
             FROM jobs j WHERE j.id = ?1"
        ))?;
        Ok(stmt
            .query_row([id], |row| {
                Ok(JobDetail {
                    job: job_record(row)?,
                    error_code: row.get(19)?,
                    pr_state: row.get(20)?,
                    diff: row.get(21)?,
                    alert: row.get(22)?,
                    received_at: row.get(23)?,
                })
            })
            .optional()?)
        })
    }

    fn deliveries(&self, limit: u32) -> Result<Vec<DeliveryRecord>> {
        self.guarded(|| {
            let conn = self.conn();
            let mut stmt = conn.prepare(
            "SELECT id, received_at, receiver, status FROM deliveries ORDER BY id DESC LIMIT ?1",
        )?;
            let mut out: Vec<DeliveryRecord> = stmt
                .query_map([limit], |row| {
                    Ok(DeliveryRecord {
                        id: row.get(0)?,
                        received_at: row.get(1)?,
                        receiver: row.get(2)?,
                        status: row.get(3)?,
                        alerts: Vec::new(),
                    })
                })?
                .collect::<Result<_, _>>()?;
            let mut alerts = conn.prepare(
            "SELECT fingerprint, alertname, status, rule, repo, target, decision, reason, job_id
             FROM alerts WHERE delivery_id = ?1 ORDER BY id",
        )?;
            for d in &mut out {
                d.alerts = alerts
                    .query_map([d.id], |row| {
                        Ok(AlertRecord {
                            fingerprint: row.get(0)?,
                            alertname: row.get(1)?,
                            status: row.get(2)?,
                            rule: row.get(3)?,
                            repo: row.get(4)?,
                            target: row.get(5)?,
                            decision: row.get(6)?,
                            reason: row.get(7)?,
                            job: row.get(8)?,
                        })
                    })?
                    .collect::<Result<_, _>>()?;
            }
            Ok(out)
        })
    }

    fn delivery_count(&self) -> Result<u64> {
        self.guarded(|| {
            Ok(self
                .conn()
                .query_row("SELECT COUNT(*) FROM deliveries", [], |row| {
                    row.get::<_, i64>(0)
                })? as u64)
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
}
