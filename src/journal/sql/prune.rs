//! Retention: the oldest deliveries with their alerts, then the jobs that ended and that no
//! alert names any longer, a batch at a time.

/// The oldest deliveries received before `?1`, at most `?2`, but for those with an alert that
/// joined a job still queued or running: that job's story stays whole until it ends.
pub const OLD_DELIVERIES: &str = "SELECT d.id FROM deliveries d
     WHERE d.received_at < ?1
       AND NOT EXISTS (SELECT 1 FROM alerts a JOIN jobs j ON j.id = a.job_id
                       WHERE a.delivery_id = d.id AND j.state IN ('queued', 'running'))
     ORDER BY d.received_at, d.id LIMIT ?2";

/// SQLite: one delivery's alerts, then the delivery, row by row (in-process, no round trip).
pub const DELETE_ALERTS_OF_DELIVERY: &str = "DELETE FROM alerts WHERE delivery_id = ?1";
pub const DELETE_DELIVERY: &str = "DELETE FROM deliveries WHERE id = ?1";

/// PostgreSQL: an array of deliveries' alerts, then the deliveries, a round trip each.
pub const DELETE_ALERTS_OF_DELIVERIES: &str = "DELETE FROM alerts WHERE delivery_id = ANY(?1)";
pub const DELETE_DELIVERIES: &str = "DELETE FROM deliveries WHERE id = ANY(?1)";

/// After the deliveries: the jobs whose last alert went with them go in the same call.
pub const DELETE_JOBS: &str = "DELETE FROM jobs WHERE id IN (
     SELECT j.id FROM jobs j
     WHERE j.state IN ('done', 'failed') AND j.updated_at < ?1
       AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.job_id = j.id)
     ORDER BY j.updated_at, j.id LIMIT ?2)";
