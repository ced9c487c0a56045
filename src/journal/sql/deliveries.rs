//! Deliveries and their alerts: recorded (with the jobs they make, see [`super::jobs`]) and
//! read back.

use super::row::Row;
use crate::journal::records::{AlertRecord, DeliveryRecord};

pub const INSERT_DELIVERY: &str =
    "INSERT INTO deliveries (received_at, receiver, group_key, status, alerts, payload)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id";

pub const INSERT_ALERT: &str =
    "INSERT INTO alerts (delivery_id, fingerprint, alertname, status, starts_at, rule, repo, target, decision, reason, job_id)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

/// [`INSERT_ALERT`]'s parameters — the delivery, the alert, and its decision's columns — as an
/// array of the backend's parameter references (the element type is the one it is bound to).
macro_rules! alert_params {
    ($delivery:expr, $alert:expr, $columns:expr) => {
        [
            &$delivery as _,
            &$alert.fingerprint as _,
            &$alert.alertname as _,
            &$alert.status as _,
            &$alert.starts_at as _,
            &$alert.rule as _,
            &$columns.repo as _,
            &$columns.target as _,
            &$columns.decision as _,
            &$columns.reason as _,
            &$columns.job as _,
        ]
    };
}
pub(crate) use alert_params;

/// The newest deliveries, newest first ([`delivery_record`] maps them).
pub const DELIVERIES: &str =
    "SELECT id, received_at, receiver, status FROM deliveries ORDER BY id DESC LIMIT ?1";

pub const DELIVERY_COUNT: &str = "SELECT COUNT(*) FROM deliveries";

/// The columns of an alert as [`alert_record`] reads them, its delivery first.
macro_rules! alert_columns {
    () => {
        "SELECT delivery_id, fingerprint, alertname, status, rule, repo, target, decision, reason, job_id
         FROM alerts "
    };
}

/// SQLite: one delivery's alerts, in order.
pub const ALERTS_OF_DELIVERY: &str =
    concat!(alert_columns!(), "WHERE delivery_id = ?1 ORDER BY id");

/// PostgreSQL: the alerts of an array of deliveries, in order, in one round trip.
pub const ALERTS_OF_DELIVERIES: &str =
    concat!(alert_columns!(), "WHERE delivery_id = ANY(?1) ORDER BY id");

/// A row of [`DELIVERIES`], its alerts not read yet.
pub fn delivery_record<R: Row>(row: &R) -> Result<DeliveryRecord, R::Error> {
    Ok(DeliveryRecord {
        id: row.get(0)?,
        received_at: row.get(1)?,
        receiver: row.get(2)?,
        status: row.get(3)?,
        alerts: Vec::new(),
    })
}

/// A row of [`ALERTS_OF_DELIVERY`] or [`ALERTS_OF_DELIVERIES`]: its delivery, and the alert.
pub fn alert_record<R: Row>(row: &R) -> Result<(i64, AlertRecord), R::Error> {
    Ok((
        row.get(0)?,
        AlertRecord {
            fingerprint: row.get(1)?,
            alertname: row.get(2)?,
            status: row.get(3)?,
            rule: row.get(4)?,
            repo: row.get(5)?,
            target: row.get(6)?,
            decision: row.get(7)?,
            reason: row.get(8)?,
            job: row.get(9)?,
        },
    ))
}
