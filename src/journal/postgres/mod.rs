//! The PostgreSQL journal: one database shared by every replica. Claims take rows with
//! `FOR UPDATE SKIP LOCKED` and a per-repository advisory lock, so that replicas never take one
//! job twice nor run two jobs of one repository at once; partial unique indexes hold the same
//! rules as constraints.

mod notes;
mod pool;
mod prune;
mod pulls;
mod schema;
mod tls;

use std::collections::BTreeMap;
use std::str::FromStr;

use anyhow::{Context, Result};
use postgres::error::SqlState;
use postgres::Row;

use self::pool::Pool;
use super::backend::{Journal, PostgresSettings, UNWRITABLE};
use super::records::{
    AlertRecord, Claimed, Decision, DeliveryRecord, Failure, Finished, JobDetail, JobKind,
    JobRecord, LastPull, LocalPull, LocalPullOutcome, NewDelivery, NewJob, NewLocalPull, NoteKey,
    Pruned, Recorded,
};
use crate::config::SslMode;
use crate::error::Error;

/// Candidates looked at per claim: jobs of repositories another replica is claiming in are
/// passed over.
const CANDIDATES: i64 = 8;
/// Tries of a transaction that lost a deadlock or serialization race.
const TRIES: u32 = 3;

pub struct PostgresJournal {
    pool: Pool,
}

impl PostgresJournal {
    /// Connects, and brings the schema up to date under an advisory lock.
    pub fn open(settings: &PostgresSettings) -> Result<PostgresJournal> {
        let mut config = postgres::Config::from_str(&settings.url)
            .map_err(|e| Error::usage(format!("journal.url: {e}")))?;
        if let Some(password) = &settings.password {
            config.password(password);
        }
        config
            .application_name(&settings.application_name)
            .ssl_mode(match settings.ssl_mode {
                SslMode::Disable => postgres::config::SslMode::Disable,
                SslMode::Prefer => postgres::config::SslMode::Prefer,
                _ => postgres::config::SslMode::Require,
            });
        let tls = tls::connector(settings.ssl_mode, settings.root_cert.as_deref())?;
        let pool = Pool::new(config, tls, settings.pool_size, settings.url.clone());
        let mut client = pool.connect().map_err(|e| {
            Error::transient(format!(
                "journal.url: cannot connect to {}: {}",
                settings.url,
                describe(&e)
            ))
        })?;
        schema::migrate(&mut client)
            .with_context(|| format!("cannot prepare the journal in {}", settings.url))?;
        Ok(PostgresJournal { pool })
    }

    fn with<T>(&self, f: impl FnOnce(&mut pool::Conn) -> Result<T, postgres::Error>) -> Result<T> {
        self.pool.with(f).map_err(|e| self.error(&e))
    }

    /// The error as the service sees it: the database away (restarting, unreachable, out of
    /// connections) is transient, so a job that met it is tried again later; one that cannot
    /// be written (its disk full, read-only) is transient too, and says so, so that the work
    /// waiting on it is kept until it can.
    fn error(&self, e: &postgres::Error) -> anyhow::Error {
        let message = format!("journal {}: {}", self.pool.target, describe(e));
        let code = e.code().map(SqlState::code);
        if let Some(what) = code.and_then(unwritable) {
            return Error::transient(format!("{message}; {what}"))
                .with_code(UNWRITABLE)
                .into();
        }
        let away = match code {
            None => true,
            Some(code) => ["08", "40", "53", "57", "58"]
                .iter()
                .any(|class| code.starts_with(class)),
        };
        if away {
            Error::transient(message).into()
        } else {
            anyhow::anyhow!(message)
        }
    }

    /// `with`, again when the transaction lost a race that trying again wins.
    fn with_retry<T>(
        &self,
        mut f: impl FnMut(&mut pool::Conn) -> Result<T, postgres::Error>,
    ) -> Result<T> {
        let mut tries = 0;
        loop {
            tries += 1;
            match self.pool.with(&mut f) {
                Err(e) if tries < TRIES && is_race(&e) => continue,
                other => return other.map_err(|e| self.error(&e)),
            }
        }
    }
}

/// What to do about a server that cannot write, by its SQLSTATE; `None` for other errors.
fn unwritable(code: &str) -> Option<&'static str> {
    match code {
        // disk_full, and the other "insufficient resources" that a write meets
        "53100" => Some("the database server's disk is full: free space there"),
        "53200" | "53000" => Some("the database server is out of resources: see its log"),
        // read_only_sql_transaction: a standby, or default_transaction_read_only (which some
        // providers set when the storage fills up)
        "25006" => Some("the database is read-only: make it writable (a primary, with default_transaction_read_only off)"),
        // io_error and the other system errors
        c if c.starts_with("58") => Some("the database server cannot write to its disk: see its log"),
        _ => None,
    }
}

fn is_race(e: &postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(&SqlState::T_R_DEADLOCK_DETECTED)
            | Some(&SqlState::T_R_SERIALIZATION_FAILURE)
            | Some(&SqlState::UNIQUE_VIOLATION)
    )
}

/// The server's message when there is one (postgres' Display says only "db error").
fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            text
        }
    }
}

const INSERT_DELIVERY: &str =
    "INSERT INTO deliveries (received_at, receiver, group_key, status, alerts, payload)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
const INSERT_JOB: &str =
    "INSERT INTO jobs (kind, repo, target, alert, alert_start, state, not_before, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, 'queued', $6, $6, $6)
     ON CONFLICT (kind, repo, target) WHERE state IN ('queued', 'running') DO NOTHING
     RETURNING id";
const OPEN_JOB: &str = "SELECT id FROM jobs
     WHERE kind = $1 AND repo = $2 AND target = $3 AND state IN ('queued', 'running')
     ORDER BY id LIMIT 1";
const INSERT_ALERT: &str =
    "INSERT INTO alerts (delivery_id, fingerprint, alertname, status, starts_at, rule, repo, target, decision, reason, job_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

type JobKey<'a> = (&'static str, &'a str, &'a str);

impl Journal for PostgresJournal {
    fn backend(&self) -> &'static str {
        "postgresql"
    }

    fn writable(&self) -> bool {
        // A standby (during a failover) answers, but cannot be written; nor a primary made
        // read-only (some providers do so when its storage fills up).
        self.with(|c| {
            c.client.query_one(
                "SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off'",
                &[],
            )
        })
            .is_ok_and(|row| row.get::<_, bool>(0))
    }

    fn record(&self, deliveries: &[NewDelivery], now: i64) -> Result<Vec<Recorded>> {
        // The batch's jobs, each with the first alert that asks for it. They are made in one
        // order (sorted), whichever replica records them, so that two batches waiting on each
        // other's new jobs cannot deadlock.
        let mut wanted: BTreeMap<JobKey<'_>, &NewJob> = BTreeMap::new();
        for d in deliveries {
            for a in &d.alerts {
                if let Decision::Job(j) = &a.decision {
                    wanted
                        .entry((j.kind.as_str(), &j.repo, &j.target))
                        .or_insert(j);
                }
            }
        }
        self.with_retry(|c| {
            let [insert_delivery, insert_job, open_job, insert_alert] =
                c.prepare([INSERT_DELIVERY, INSERT_JOB, OPEN_JOB, INSERT_ALERT])?;
            let mut tx = c.client.transaction()?;
            // key -> (job, made by this batch and not yet claimed by one of its alerts)
            let mut jobs: BTreeMap<JobKey<'_>, (i64, bool)> = BTreeMap::new();
            for (key, j) in &wanted {
                let made = loop {
                    if let Some(row) = tx.query_opt(
                        &insert_job,
                        &[&key.0, &j.repo, &j.target, &j.alert, &j.alert_start, &now],
                    )? {
                        break (row.get::<_, i64>(0), true);
                    }
                    // Open already; or it closed between the two statements: make it again.
                    if let Some(row) = tx.query_opt(&open_job, &[&key.0, &j.repo, &j.target])? {
                        break (row.get::<_, i64>(0), false);
                    }
                };
                jobs.insert(*key, made);
            }
            let mut out = Vec::with_capacity(deliveries.len());
            for d in deliveries {
                let delivery: i64 = tx
                    .query_one(
                        &insert_delivery,
                        &[
                            &d.received_at,
                            &d.receiver,
                            &d.group_key,
                            &d.status,
                            &(d.alerts.len() as i64),
                            &d.payload,
                        ],
                    )?
                    .get(0);
                let mut decisions = Vec::with_capacity(d.alerts.len());
                let mut new_jobs = 0;
                for a in &d.alerts {
                    let (decision, repo, target, reason, job) = match &a.decision {
                        Decision::Unmatched => ("unmatched", None, None, None, None),
                        Decision::Skipped { repo, reason } => (
                            "skipped",
                            repo.as_deref(),
                            None,
                            Some(reason.as_str()),
                            None,
                        ),
                        Decision::Job(j) => {
                            let entry = jobs
                                .get_mut(&(j.kind.as_str(), j.repo.as_str(), j.target.as_str()))
                                .expect("every job of the batch was made or found");
                            let decision = if entry.1 {
                                entry.1 = false;
                                new_jobs += 1;
                                "queued"
                            } else {
                                "coalesced"
                            };
                            (
                                decision,
                                Some(j.repo.as_str()),
                                Some(j.target.as_str()),
                                None,
                                Some(entry.0),
                            )
                        }
                    };
                    tx.execute(
                        &insert_alert,
                        &[
                            &delivery,
                            &a.fingerprint,
                            &a.alertname,
                            &a.status,
                            &a.starts_at,
                            &a.rule,
                            &repo,
                            &target,
                            &decision,
                            &reason,
                            &job,
                        ],
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
        self.with_retry(|c| {
            // Leases that ran out: their workers died, or lost the database for too long.
            c.client.execute(
                "UPDATE jobs SET state = 'queued', claimed_by = NULL, lease_until = NULL, updated_at = $1
                 WHERE state = 'running' AND lease_until < $1",
                &[&now],
            )?;
            let mut tx = c.client.transaction()?;
            let candidates = tx.query(
                "SELECT id, kind, repo, target, alert, alert_start, attempts, created_at FROM jobs
                 WHERE state = 'queued' AND not_before <= $1
                   AND repo NOT IN (SELECT repo FROM jobs WHERE state = 'running')
                 ORDER BY not_before, id LIMIT $2
                 FOR UPDATE SKIP LOCKED",
                &[&now, &CANDIDATES],
            )?;
            let mut tried = std::collections::HashSet::new();
            for row in candidates {
                let job = claimed(&row);
                if !tried.insert(job.repo.clone()) {
                    continue;
                }
                // Another replica claiming in this repository right now holds the lock; once
                // it commits, its job is seen running below.
                let locked: bool = tx
                    .query_one(
                        "SELECT pg_try_advisory_xact_lock(hashtextextended('revertbot.repo:' || $1, 0))",
                        &[&job.repo],
                    )?
                    .get(0);
                if !locked {
                    continue;
                }
                let busy = tx
                    .query_opt(
                        "SELECT 1 FROM jobs WHERE repo = $1 AND state = 'running' LIMIT 1",
                        &[&job.repo],
                    )?
                    .is_some();
                if busy {
                    continue;
                }
                tx.execute(
                    "UPDATE jobs SET state = 'running', attempts = attempts + 1, claimed_by = $2,
                            ran_by = $2, lease_until = $3, updated_at = $4
                     WHERE id = $1",
                    &[&job.id, &worker, &lease_until, &now],
                )?;
                tx.commit()?;
                return Ok(Some(job));
            }
            tx.commit()?;
            Ok(None)
        })
    }

    fn renew(&self, job: i64, worker: &str, lease_until: i64) -> Result<bool> {
        self.with(|c| {
            c.client.execute(
                "UPDATE jobs SET lease_until = $3 WHERE id = $1 AND claimed_by = $2 AND state = 'running'",
                &[&job, &worker, &lease_until],
            )
        })
        .map(|n| n == 1)
    }

    fn finish(&self, job: i64, worker: &str, now: i64, f: &Finished) -> Result<bool> {
        let pr_number = f.pr_number.map(|n| n as i64);
        self.with(|c| {
            c.client.execute(
                "UPDATE jobs SET state = 'done', outcome = $2, culprit = $3, branch = $4, strategy = $5,
                        pr_number = $6, pr_url = $7, pr_state = $8, diff = $9, updated_at = $10, hold = $12,
                        claimed_by = NULL, lease_until = NULL, error_kind = NULL, error_code = NULL, error = NULL
                 WHERE id = $1 AND claimed_by = $11 AND state = 'running'",
                &[
                    &job, &f.outcome, &f.culprit, &f.branch, &f.strategy, &pr_number, &f.pr_url,
                    &f.pr_state, &f.diff, &now, &worker, &f.hold,
                ],
            )
        })
        .map(|n| n == 1)
    }

    fn fail(&self, job: i64, worker: &str, now: i64, f: &Failure) -> Result<bool> {
        let (state, not_before) = match f.retry_at {
            Some(at) => ("queued", at),
            None => ("failed", now),
        };
        self.with(|c| {
            c.client.execute(
                "UPDATE jobs SET state = $2, not_before = $3, outcome = $4, error_kind = $4, error_code = $5,
                        error = $6, updated_at = $7, claimed_by = NULL, lease_until = NULL
                 WHERE id = $1 AND claimed_by = $8 AND state = 'running'",
                &[&job, &state, &not_before, &f.kind, &f.code, &f.message, &now, &worker],
            )
        })
        .map(|n| n == 1)
    }

    fn release(&self, job: i64, worker: &str, now: i64) -> Result<bool> {
        self.with(|c| {
            c.client.execute(
                "UPDATE jobs SET state = 'queued', claimed_by = NULL, lease_until = NULL, updated_at = $2,
                        attempts = GREATEST(attempts - 1, 0)
                 WHERE id = $1 AND claimed_by = $3 AND state = 'running'",
                &[&job, &now, &worker],
            )
        })
        .map(|n| n == 1)
    }

    fn running(&self) -> Result<Vec<(i64, String)>> {
        self.with(|c| {
            c.client.query(
                "SELECT id, COALESCE(claimed_by, '') FROM jobs WHERE state = 'running' ORDER BY id",
                &[],
            )
        })
        .map(|rows| rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn rollbacks_since(&self, repo: &str, since: i64) -> Result<u32> {
        self.with(|c| {
            c.client.query_one(
                "SELECT COUNT(DISTINCT COALESCE(branch, target)) FROM jobs
                 WHERE repo = $1 AND kind = 'rollback'
                   AND outcome IN ('created', 'reused', 'dry-run') AND updated_at >= $2",
                &[&repo, &since],
            )
        })
        .map(|row| row.get::<_, i64>(0) as u32)
    }

    fn last_pull(&self, repo: &str, target: &str) -> Result<Option<LastPull>> {
        self.with(|c| {
            c.client.query_opt(
                "SELECT pr_number, branch, pr_url FROM jobs
                 WHERE repo = $1 AND target = $2 AND kind = 'rollback' AND pr_number IS NOT NULL
                 ORDER BY updated_at DESC, id DESC LIMIT 1",
                &[&repo, &target],
            )
        })
        .map(|row| {
            row.map(|r| LastPull {
                number: r.get::<_, i64>(0) as u64,
                branch: r.get::<_, Option<String>>(1).unwrap_or_default(),
                url: r.get(2),
            })
        })
    }

    fn pending(&self) -> Result<u32> {
        self.with(|c| {
            c.client.query_one(
                "SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')",
                &[],
            )
        })
        .map(|row| row.get::<_, i64>(0) as u32)
    }

    fn jobs(&self, limit: u32) -> Result<Vec<JobRecord>> {
        let rows = self.with(|c| {
            c.client.query(
                &format!("SELECT {JOB_COLUMNS} FROM jobs j ORDER BY j.id DESC LIMIT $1"),
                &[&i64::from(limit)],
            )
        })?;
        Ok(rows.iter().map(job_record).collect())
    }

    fn job(&self, id: i64) -> Result<Option<JobDetail>> {
        let row = self.with(|c| {
            c.client.query_opt(
                &format!(
                    "SELECT {JOB_COLUMNS}, j.error_code, j.pr_state, j.diff, j.alert,
                            (SELECT MIN(d.received_at) FROM alerts a JOIN deliveries d ON d.id = a.delivery_id
                             WHERE a.job_id = j.id)
                     FROM jobs j WHERE j.id = $1"
                ),
                &[&id],
            )
        })?;
        Ok(row.map(|row| JobDetail {
            job: job_record(&row),
            error_code: row.get(19),
            pr_state: row.get(20),
            diff: row.get(21),
            alert: row.get(22),
            received_at: row.get(23),
        }))
    }

    fn deliveries(&self, limit: u32) -> Result<Vec<DeliveryRecord>> {
        let (deliveries, alerts) = self.with(|c| {
            let deliveries = c.client.query(
                "SELECT id, received_at, receiver, status FROM deliveries ORDER BY id DESC LIMIT $1",
                &[&i64::from(limit)],
            )?;
            let ids: Vec<i64> = deliveries.iter().map(|r| r.get(0)).collect();
            let alerts = c.client.query(
                "SELECT delivery_id, fingerprint, alertname, status, rule, repo, target, decision, reason, job_id
                 FROM alerts WHERE delivery_id = ANY($1) ORDER BY id",
                &[&ids],
            )?;
            Ok((deliveries, alerts))
        })?;
        let mut out: Vec<DeliveryRecord> = deliveries
            .iter()
            .map(|row| DeliveryRecord {
                id: row.get(0),
                received_at: row.get(1),
                receiver: row.get(2),
                status: row.get(3),
                alerts: Vec::new(),
            })
            .collect();
        let index: BTreeMap<i64, usize> = out.iter().enumerate().map(|(i, d)| (d.id, i)).collect();
        for row in &alerts {
            let delivery: i64 = row.get(0);
            if let Some(&i) = index.get(&delivery) {
                out[i].alerts.push(AlertRecord {
                    fingerprint: row.get(1),
                    alertname: row.get(2),
                    status: row.get(3),
                    rule: row.get(4),
                    repo: row.get(5),
                    target: row.get(6),
                    decision: row.get(7),
                    reason: row.get(8),
                    job: row.get(9),
                });
            }
        }
        Ok(out)
    }

    fn delivery_count(&self) -> Result<u64> {
        self.with(|c| c.client.query_one("SELECT COUNT(*) FROM deliveries", &[]))
            .map(|row| row.get::<_, i64>(0) as u64)
    }

    fn prune(&self, before: i64) -> Result<Pruned> {
        self.with_retry(|c| prune::prune(c, before))
    }

    fn ensure_local_pull(&self, pull: &NewLocalPull, now: i64) -> Result<LocalPullOutcome> {
        self.with_retry(|c| pulls::ensure(c, pull, now))
    }

    fn comment_local_pull(&self, number: u64, body: &str, now: i64) -> Result<bool> {
        self.with(|c| pulls::comment(c, number, body, now))
    }

    fn local_pull(&self, number: u64) -> Result<Option<LocalPull>> {
        self.with(|c| pulls::get(c, number))
    }

    fn claim_note(&self, note: &NoteKey, job: i64, now: i64) -> Result<bool> {
        self.with(|c| notes::claim(c, note, job, now))
    }

    fn noted(&self, note: &NoteKey, job: i64, now: i64) -> Result<()> {
        self.with(|c| notes::noted(c, note, job, now))
    }
}

/// The columns of a job as `jobs` and `job` read them (`job_record` maps them).
const JOB_COLUMNS: &str =
    "j.id, j.kind, j.repo, j.target, j.state, j.attempts, j.created_at, j.updated_at,
    j.outcome, j.error_kind, j.error, j.culprit, j.branch, j.strategy, j.pr_number, j.pr_url,
    (SELECT COUNT(*) FROM alerts a WHERE a.job_id = j.id), j.ran_by, j.hold";

fn job_record(row: &Row) -> JobRecord {
    JobRecord {
        id: row.get(0),
        kind: JobKind::parse(row.get(1)),
        repo: row.get(2),
        target: row.get(3),
        state: row.get(4),
        attempts: row.get::<_, i64>(5) as u32,
        created_at: row.get(6),
        updated_at: row.get(7),
        outcome: row.get(8),
        error_kind: row.get(9),
        error: row.get(10),
        culprit: row.get(11),
        branch: row.get(12),
        strategy: row.get(13),
        pr_number: row.get::<_, Option<i64>>(14).map(|n| n as u64),
        pr_url: row.get(15),
        alerts: row.get::<_, i64>(16) as u32,
        ran_by: row.get(17),
        hold: row.get(18),
    }
}

fn claimed(row: &Row) -> Claimed {
    Claimed {
        id: row.get(0),
        kind: JobKind::parse(row.get(1)),
        repo: row.get(2),
        target: row.get(3),
        alert: row.get(4),
        alert_start: row.get(5),
        attempt: row.get::<_, i64>(6) as u32 + 1,
        created_at: row.get(7),
    }
}

#[cfg(test)]
mod tests {
    use super::unwritable;

    #[test]
    fn a_server_that_cannot_write_is_told_from_other_errors_by_its_sqlstate() {
        for code in ["53100", "53200", "25006", "58030"] {
            assert!(unwritable(code).is_some(), "{code}");
        }
        // unique_violation, serialization_failure, too_many_connections, admin_shutdown:
        // a race, or the server away — not a disk.
        for code in ["23505", "40001", "53300", "57P01", "08006"] {
            assert_eq!(unwritable(code), None, "{code}");
        }
        assert_eq!(
            unwritable("53100"),
            Some("the database server's disk is full: free space there")
        );
    }
}
