//! A delivery as the journal records it: the payload, and for each alert the rule that
//! matched and what it asks for.

use chrono::{DateTime, Utc};

use crate::alert::rules::{self, Routed};
use crate::alert::{Alert, Payload, Status};
use crate::config::Config;
use crate::journal::{Decision, JobKind, NewAlert, NewDelivery, NewJob};

/// The journal's record of a delivery: `raw` is the body as received.
pub fn delivery(payload: &Payload, raw: &str, config: &Config, now: DateTime<Utc>) -> NewDelivery {
    let alerts = payload
        .alerts
        .iter()
        .map(|alert| {
            let routed = rules::route(alert, &config.rules, &config.guards, now);
            let rule = match &routed {
                Routed::Unmatched => None,
                Routed::Skipped { rule, .. }
                | Routed::Rollback { rule, .. }
                | Routed::Resolved { rule, .. } => Some(rule.name.clone()),
            };
            let decision = match routed {
                Routed::Unmatched => Decision::Unmatched,
                Routed::Skipped { rule, reason } => Decision::Skipped {
                    repo: Some(rule.repo.clone()),
                    reason,
                },
                Routed::Rollback { rule, subject } | Routed::Resolved { rule, subject } => {
                    let kind = if alert.status == Status::Resolved {
                        JobKind::Resolved
                    } else {
                        JobKind::Rollback
                    };
                    Decision::Job(NewJob::new(
                        kind,
                        rule.repo.clone(),
                        subject,
                        single(payload, alert),
                        rules::started_at(alert).map(|t| t.timestamp()),
                    ))
                }
            };
            NewAlert {
                fingerprint: alert.fingerprint.clone(),
                alertname: alert.name().to_string(),
                status: status(alert.status).into(),
                starts_at: alert.starts_at.clone(),
                rule,
                decision,
            }
        })
        .collect();
    NewDelivery {
        received_at: now.timestamp_millis(),
        receiver: payload.receiver.clone(),
        group_key: payload.group_key.clone(),
        status: status(payload.status).into(),
        payload: raw.to_string(),
        alerts,
    }
}

fn status(s: Status) -> &'static str {
    match s {
        Status::Firing => "firing",
        Status::Resolved => "resolved",
    }
}

/// The payload with only `alert` in it: the story of one job's pull request.
fn single(payload: &Payload, alert: &Alert) -> String {
    // Built field by field: cloning the payload would copy every alert once per alert,
    // quadratic in the size of a group.
    let one = Payload {
        version: payload.version.clone(),
        group_key: payload.group_key.clone(),
        truncated_alerts: payload.truncated_alerts,
        status: alert.status,
        receiver: payload.receiver.clone(),
        group_labels: payload.group_labels.clone(),
        common_labels: payload.common_labels.clone(),
        common_annotations: payload.common_annotations.clone(),
        external_url: payload.external_url.clone(),
        alerts: vec![alert.clone()],
    };
    serde_json::to_string(&one).unwrap_or_default()
}
