//! The PostgreSQL journal: one database shared by every replica. Claims take rows with
//! `FOR UPDATE SKIP LOCKED` and a per-repository advisory lock, so that replicas never take one
//! job twice nor run two jobs of one repository at once; partial unique indexes hold the same
//! rules as constraints.

mod events;
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

use self::pool::Pool;
use super::backend::{Journal, PostgresSettings, UNWRITABLE};
use super::records::{
    Claimed, Decision, DeliveryRecord, Failure, Finished, JobDetail, JobRecord, LastPull,
    LocalPull, LocalPullOutcome, NewDelivery, NewJob, NewLocalPull, NoteKey, Pruned, PullEvent,
    PullEventRecorded, Recorded,
};
use super::sql::{deliveries, jobs, summary};
use super::summary::{RollbackSummary, SUMMARY_PULLS};
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

/// The claim's lock on a repository: another replica claiming in it now holds it.
const LOCK_REPO: &str =
    "SELECT pg_try_advisory_xact_lock(hashtextextended('revertbot.repo:' || $1, 0))";
/// Whether the repository has a job running, once its lock is held: what another replica
/// claimed and committed before is seen.
const REPO_BUSY: &str = "SELECT 1 FROM jobs WHERE repo = $1 AND state = 'running' LIMIT 1";

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
            let [insert_delivery, insert_job, open_job, insert_alert] = c.prepare([
                deliveries::INSERT_DELIVERY,
                jobs::INSERT_JOB_UNLESS_OPEN,
                jobs::OPEN_JOB,
                deliveries::INSERT_ALERT,
            ])?;
            let mut tx = c.client.transaction()?;
            // key -> (job, made by this batch and not yet claimed by one of its alerts)
            let mut jobs: BTreeMap<JobKey<'_>, (i64, bool)> = BTreeMap::new();
            for (key, j) in &wanted {
                let made = loop {
                    if let Some(row) = tx.query_opt(
                        &insert_job,
                        &[
                            &key.0,
                            &j.repo,
                            &j.target,
                            &j.alert,
                            &j.alert_start,
                            &now,
                            &j.subject.to_json(),
                        ],
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
                    let c = a.columns(|j| {
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
                        Ok::<_, postgres::Error>((decision, entry.0))
                    })?;
                    let params: [&(dyn postgres::types::ToSql + Sync); 11] =
                        deliveries::alert_params!(delivery, a, c);
                    tx.execute(&insert_alert, &params)?;
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
        self.with_retry(|c| {
            let [expire, due, lock_repo, repo_busy, take] = c.prepare([
                jobs::EXPIRE_LEASES,
                jobs::DUE,
                LOCK_REPO,
                REPO_BUSY,
                jobs::TAKE,
            ])?;
            c.client.execute(&expire, &[&now])?;
            let mut tx = c.client.transaction()?;
            let candidates = tx.query(&due, &[&now, &CANDIDATES])?;
            let mut tried = std::collections::HashSet::new();
            for row in candidates {
                let job = jobs::claimed(&row)?;
                if !tried.insert(job.repo.clone()) {
                    continue;
                }
                // Another replica claiming in this repository right now holds the lock; once
                // it commits, its job is seen running below.
                let locked: bool = tx.query_one(&lock_repo, &[&job.repo])?.get(0);
                if !locked {
                    continue;
                }
                if tx.query_opt(&repo_busy, &[&job.repo])?.is_some() {
                    continue;
                }
                tx.execute(&take, &[&job.id, &worker, &lease_until, &now])?;
                tx.commit()?;
                return Ok(Some(job));
            }
            tx.commit()?;
            Ok(None)
        })
    }

    fn renew(&self, job: i64, worker: &str, lease_until: i64) -> Result<bool> {
        self.with(|c| {
            let [renew] = c.prepare([jobs::RENEW])?;
            c.client.execute(&renew, &[&job, &worker, &lease_until])
        })
        .map(|n| n == 1)
    }

    fn finish(&self, job: i64, worker: &str, now: i64, f: &Finished) -> Result<bool> {
        let pr_number = f.pr_number.map(|n| n as i64);
        self.with(|c| {
            let [finish] = c.prepare([jobs::FINISH])?;
            c.client.execute(
                &finish,
                &[
                    &job,
                    &f.outcome,
                    &f.culprit,
                    &f.branch,
                    &f.strategy,
                    &pr_number,
                    &f.pr_url,
                    &f.pr_state,
                    &f.diff,
                    &now,
                    &worker,
                    &f.hold,
                    &f.forge,
                    &f.registry,
                    &f.auto_merge,
                    &f.auto_merge_method,
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
            let [fail] = c.prepare([jobs::FAIL])?;
            c.client.execute(
                &fail,
                &[
                    &job,
                    &state,
                    &not_before,
                    &f.kind,
                    &f.code,
                    &f.message,
                    &now,
                    &worker,
                ],
            )
        })
        .map(|n| n == 1)
    }

    fn release(&self, job: i64, worker: &str, now: i64) -> Result<bool> {
        self.with(|c| {
            let [release] = c.prepare([jobs::RELEASE])?;
            c.client.execute(&release, &[&job, &now, &worker])
        })
        .map(|n| n == 1)
    }

    fn running(&self) -> Result<Vec<(i64, String)>> {
        let rows = self.with(|c| {
            let [running] = c.prepare([jobs::RUNNING])?;
            c.client.query(&running, &[])
        })?;
        Ok(rows.iter().map(jobs::running).collect::<Result<_, _>>()?)
    }

    fn rollbacks_since(&self, repo: &str, since: i64) -> Result<u32> {
        self.with(|c| {
            let [rollbacks] = c.prepare([jobs::ROLLBACKS_SINCE])?;
            c.client.query_one(&rollbacks, &[&repo, &since])
        })
        .map(|row| row.get::<_, i64>(0) as u32)
    }

    fn auto_merges_since(&self, repo: &str, since: i64) -> Result<u32> {
        self.with(|c| {
            let [auto_merges] = c.prepare([jobs::AUTO_MERGES_SINCE])?;
            c.client.query_one(&auto_merges, &[&repo, &since])
        })
        .map(|row| row.get::<_, i64>(0) as u32)
    }

    fn last_pull(&self, repo: &str, target: &str) -> Result<Option<LastPull>> {
        let row = self.with(|c| {
            let [last_pull] = c.prepare([jobs::LAST_PULL])?;
            c.client.query_opt(&last_pull, &[&repo, &target])
        })?;
        Ok(row.as_ref().map(jobs::last_pull).transpose()?)
    }

    fn pending(&self) -> Result<u32> {
        self.with(|c| {
            let [pending] = c.prepare([jobs::PENDING])?;
            c.client.query_one(&pending, &[])
        })
        .map(|row| row.get::<_, i64>(0) as u32)
    }

    fn jobs(&self, limit: u32) -> Result<Vec<JobRecord>> {
        let rows = self.with(|c| {
            let [jobs] = c.prepare([jobs::JOBS])?;
            c.client.query(&jobs, &[&i64::from(limit)])
        })?;
        Ok(rows
            .iter()
            .map(jobs::job_record)
            .collect::<Result<_, _>>()?)
    }

    fn job(&self, id: i64) -> Result<Option<JobDetail>> {
        let row = self.with(|c| {
            let [job] = c.prepare([jobs::JOB])?;
            c.client.query_opt(&job, &[&id])
        })?;
        Ok(row.as_ref().map(jobs::job_detail).transpose()?)
    }

    fn deliveries(&self, limit: u32) -> Result<Vec<DeliveryRecord>> {
        let (rows, alerts) = self.with(|c| {
            let [list, alerts] =
                c.prepare([deliveries::DELIVERIES, deliveries::ALERTS_OF_DELIVERIES])?;
            let rows = c.client.query(&list, &[&i64::from(limit)])?;
            let ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
            let alerts = c.client.query(&alerts, &[&ids])?;
            Ok((rows, alerts))
        })?;
        let mut out: Vec<DeliveryRecord> = rows
            .iter()
            .map(deliveries::delivery_record)
            .collect::<Result<_, _>>()?;
        let index: BTreeMap<i64, usize> = out.iter().enumerate().map(|(i, d)| (d.id, i)).collect();
        for row in &alerts {
            let (delivery, alert) = deliveries::alert_record(row)?;
            if let Some(&i) = index.get(&delivery) {
                out[i].alerts.push(alert);
            }
        }
        Ok(out)
    }

    fn delivery_count(&self) -> Result<u64> {
        self.with(|c| {
            let [count] = c.prepare([deliveries::DELIVERY_COUNT])?;
            c.client.query_one(&count, &[])
        })
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

    fn pull_event(&self, event: &PullEvent, now: i64) -> Result<PullEventRecorded> {
        self.with(|c| events::record(c, event, now))
    }

    fn rollback_summary(&self, since: i64) -> Result<RollbackSummary> {
        let rows = self.with(|c| {
            let [pulls] = c.prepare([summary::ROLLBACK_PULLS])?;
            c.client.query(&pulls, &[&since, &i64::from(SUMMARY_PULLS)])
        })?;
        let pulls = rows
            .iter()
            .map(summary::pull_times)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RollbackSummary::of(since, pulls))
    }

    fn open_pulls(&self) -> Result<Vec<crate::journal::records::OpenPull>> {
        use crate::journal::sql::events as sql;
        let rows = self.with(|c| {
            let [open] = c.prepare([sql::OPEN_PULLS])?;
            c.client.query(&open, &[])
        })?;
        Ok(rows.iter().map(sql::open_pull).collect::<Result<_, _>>()?)
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
