//! Jobs: recorded with their deliveries (see [`super::deliveries`]), claimed, renewed, ended,
//! and read back.

use super::row::Row;
use crate::journal::records::{Claimed, JobDetail, JobKind, JobRecord, LastPull};
use crate::subject::Subject;

/// The open job (queued or running) of a target.
pub const OPEN_JOB: &str = "SELECT id FROM jobs
     WHERE kind = ?1 AND repo = ?2 AND target = ?3 AND state IN ('queued', 'running')
     ORDER BY id LIMIT 1";

/// A new job, queued; its columns for both of [`INSERT_JOB`] and [`INSERT_JOB_UNLESS_OPEN`].
macro_rules! insert_job {
    () => {
        "INSERT INTO jobs (kind, repo, target, alert, alert_start, state, not_before, created_at, updated_at, subject)
         VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?6, ?6, ?6, ?7)"
    };
}

/// SQLite: made once [`OPEN_JOB`] found none, under the file's write lock.
pub const INSERT_JOB: &str = concat!(insert_job!(), " RETURNING id");

/// PostgreSQL: replicas recording alerts for one target at once meet on the partial unique
/// index of open jobs; none returned when one is open already.
pub const INSERT_JOB_UNLESS_OPEN: &str = concat!(
    insert_job!(),
    " ON CONFLICT (kind, repo, target) WHERE state IN ('queued', 'running') DO NOTHING
     RETURNING id"
);

/// Leases that ran out: their workers died, or lost the journal for too long.
pub const EXPIRE_LEASES: &str =
    "UPDATE jobs SET state = 'queued', claimed_by = NULL, lease_until = NULL, updated_at = ?1
     WHERE state = 'running' AND lease_until < ?1";

/// The oldest due jobs of repositories with no job running, at most `?2` ([`claimed`] maps
/// them); on PostgreSQL those another replica is claiming are passed over.
pub const DUE: &str =
    "SELECT id, kind, repo, target, alert, alert_start, attempts, created_at, subject FROM jobs
     WHERE state = 'queued' AND not_before <= ?1
       AND repo NOT IN (SELECT repo FROM jobs WHERE state = 'running')
     ORDER BY not_before, id LIMIT ?2
     FOR UPDATE SKIP LOCKED";

/// Job `?1` taken by worker `?2` until `?3`.
pub const TAKE: &str =
    "UPDATE jobs SET state = 'running', attempts = attempts + 1, claimed_by = ?2,
            ran_by = ?2, lease_until = ?3, updated_at = ?4
     WHERE id = ?1";

pub const RENEW: &str =
    "UPDATE jobs SET lease_until = ?3 WHERE id = ?1 AND claimed_by = ?2 AND state = 'running'";

pub const FINISH: &str =
    "UPDATE jobs SET state = 'done', outcome = ?2, culprit = ?3, branch = ?4, strategy = ?5,
            pr_number = ?6, pr_url = ?7, pr_state = ?8, diff = ?9, updated_at = ?10, hold = ?12,
            forge = ?13, registry = ?14, auto_merge = ?15, auto_merge_method = ?16, claimed_by = NULL, lease_until = NULL, error_kind = NULL,
            error_code = NULL, error = NULL
     WHERE id = ?1 AND claimed_by = ?11 AND state = 'running'";

pub const FAIL: &str =
    "UPDATE jobs SET state = ?2, not_before = ?3, outcome = ?4, error_kind = ?4, error_code = ?5,
            error = ?6, updated_at = ?7, claimed_by = NULL, lease_until = NULL
     WHERE id = ?1 AND claimed_by = ?8 AND state = 'running'";

/// Back in the queue at once, the try not counted.
pub const RELEASE: &str =
    "UPDATE jobs SET state = 'queued', claimed_by = NULL, lease_until = NULL, updated_at = ?2,
            attempts = GREATEST(attempts - 1, 0)
     WHERE id = ?1 AND claimed_by = ?3 AND state = 'running'";

pub const RUNNING: &str =
    "SELECT id, COALESCE(claimed_by, '') FROM jobs WHERE state = 'running' ORDER BY id";

pub const ROLLBACKS_SINCE: &str = "SELECT COUNT(DISTINCT COALESCE(branch, target)) FROM jobs
     WHERE repo = ?1 AND kind = 'rollback'
       AND outcome IN ('created', 'reused', 'dry-run') AND updated_at >= ?2";

/// Rollbacks of repository `?1` whose auto-merge was turned on since `?2`.
pub const AUTO_MERGES_SINCE: &str = "SELECT COUNT(*) FROM jobs
     WHERE repo = ?1 AND kind = 'rollback' AND auto_merge_method IS NOT NULL AND updated_at >= ?2";

/// [`last_pull`] maps it. Its merge from any job of it: a job that found it after its forge
/// told of the merge carries none.
pub const LAST_PULL: &str = "SELECT j.pr_number, j.branch, j.pr_url,
            (SELECT MAX(m.pr_merged_at) FROM jobs m WHERE m.pr_url = j.pr_url)
     FROM jobs j
     WHERE j.repo = ?1 AND j.target = ?2 AND j.kind = 'rollback' AND j.pr_number IS NOT NULL
     ORDER BY j.updated_at DESC, j.id DESC LIMIT 1";

pub const PENDING: &str = "SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')";

/// The columns of a job as [`job_record`] reads them (a macro: the statements that read them
/// are constants, prepared once by their text).
macro_rules! job_columns {
    () => {
        "j.id, j.kind, j.repo, j.target, j.state, j.attempts, j.created_at, j.updated_at,
         j.outcome, j.error_kind, j.error, j.culprit, j.branch, j.strategy, j.pr_number, j.pr_url,
         (SELECT COUNT(*) FROM alerts a WHERE a.job_id = j.id), j.ran_by, j.hold, j.forge,
         j.registry, j.pr_merged_at, j.pr_closed_at, j.pr_closed_by, j.pr_state, j.auto_merge"
    };
}

/// The newest jobs, newest first.
pub const JOBS: &str = concat!(
    "SELECT ",
    job_columns!(),
    " FROM jobs j ORDER BY j.id DESC LIMIT ?1"
);

/// One job, with what the list leaves out ([`job_detail`] maps it).
pub const JOB: &str = concat!(
    "SELECT ",
    job_columns!(),
    ", j.error_code, j.diff, j.alert,
        (SELECT MIN(d.received_at) FROM alerts a JOIN deliveries d ON d.id = a.delivery_id
         WHERE a.job_id = j.id)
     FROM jobs j WHERE j.id = ?1"
);

pub fn job_record<R: Row>(row: &R) -> Result<JobRecord, R::Error> {
    Ok(JobRecord {
        id: row.get(0)?,
        kind: JobKind::parse(&row.get::<String>(1)?),
        repo: row.get(2)?,
        target: row.get(3)?,
        state: row.get(4)?,
        attempts: row.get::<i64>(5)? as u32,
        created_at: row.get(6)?,
        updated_at: row.get(7)?,
        outcome: row.get(8)?,
        error_kind: row.get(9)?,
        error: row.get(10)?,
        culprit: row.get(11)?,
        branch: row.get(12)?,
        strategy: row.get(13)?,
        pr_number: row.get::<Option<i64>>(14)?.map(|n| n as u64),
        pr_url: row.get(15)?,
        alerts: row.get::<i64>(16)? as u32,
        ran_by: row.get(17)?,
        hold: row.get(18)?,
        forge: row.get(19)?,
        registry: row.get(20)?,
        pr_merged_at: row.get(21)?,
        pr_closed_at: row.get(22)?,
        pr_closed_by: row.get(23)?,
        pr_state: row.get(24)?,
        auto_merge: row.get(25)?,
    })
}

pub fn job_detail<R: Row>(row: &R) -> Result<JobDetail, R::Error> {
    Ok(JobDetail {
        job: job_record(row)?,
        error_code: row.get(26)?,
        diff: row.get(27)?,
        alert: row.get(28)?,
        received_at: row.get(29)?,
    })
}

/// A row of [`DUE`].
pub fn claimed<R: Row>(row: &R) -> Result<Claimed, R::Error> {
    Ok(Claimed {
        id: row.get(0)?,
        kind: JobKind::parse(&row.get::<String>(1)?),
        repo: row.get(2)?,
        target: row.get(3)?,
        alert: row.get(4)?,
        alert_start: row.get(5)?,
        attempt: row.get::<i64>(6)? as u32 + 1,
        created_at: row.get(7)?,
        subject: match row.get::<Option<String>>(8)? {
            Some(text) => Subject::from_json(&text),
            None => Err("the job was recorded with no subject".into()),
        },
    })
}

/// A row of [`RUNNING`].
pub fn running<R: Row>(row: &R) -> Result<(i64, String), R::Error> {
    Ok((row.get(0)?, row.get(1)?))
}

/// A row of [`LAST_PULL`].
pub fn last_pull<R: Row>(row: &R) -> Result<LastPull, R::Error> {
    Ok(LastPull {
        number: row.get::<i64>(0)? as u64,
        branch: row.get::<Option<String>>(1)?.unwrap_or_default(),
        url: row.get(2)?,
        merged_at: row.get(3)?,
    })
}
