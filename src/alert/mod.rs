//! Alertmanager webhook payloads (version 4), as Alertmanager 0.25 sends them, and the Argo
//! Rollouts and Flagger webhooks made into such payloads (canary); label
//! matchers; the rules that map an alert to what to roll back; and the workload its labels
//! name when they name no image.

pub mod canary;
mod json;
pub mod rules;
pub mod workload;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One webhook notification: a group of alerts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payload {
    pub version: String,
    #[serde(default)]
    pub group_key: String,
    #[serde(default)]
    pub truncated_alerts: u64,
    pub status: Status,
    #[serde(default)]
    pub receiver: String,
    #[serde(default)]
    pub group_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub common_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub common_annotations: BTreeMap<String, String>,
    #[serde(rename = "externalURL", default)]
    pub external_url: String,
    pub alerts: Vec<Alert>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Firing,
    Resolved,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub status: Status,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// RFC 3339, as Alertmanager wrote it.
    #[serde(default)]
    pub starts_at: String,
    /// `0001-01-01T00:00:00Z` while firing.
    #[serde(default)]
    pub ends_at: String,
    #[serde(rename = "generatorURL", default)]
    pub generator_url: String,
    #[serde(default)]
    pub fingerprint: String,
}

impl Payload {
    /// Parses a payload, with a one-line error naming what is wrong.
    pub fn from_json(bytes: &[u8]) -> Result<Payload, PayloadError> {
        let payload: Payload = json::decode(bytes).map_err(|e| PayloadError {
            message: e.message(true),
            field: e.field,
        })?;
        if payload.version != "4" {
            return Err(PayloadError {
                message: format!(
                    "version {:?} is not supported (Alertmanager webhook payloads are version \"4\")",
                    payload.version
                ),
                field: Some("version".into()),
            });
        }
        for (i, alert) in payload.alerts.iter().enumerate() {
            // The age and causality guards read it: an alert without a time would pass both.
            if chrono::DateTime::parse_from_rfc3339(alert.starts_at.trim()).is_err() {
                let field = format!("alerts[{i}].startsAt");
                let message = if alert.starts_at.trim().is_empty() {
                    format!("{field} is missing; Alertmanager always sends when an alert started")
                } else {
                    format!(
                        "{field}: {:?} is not an RFC 3339 time (such as \"2026-12-06T04:44:01Z\")",
                        alert.starts_at
                    )
                };
                return Err(PayloadError {
                    message,
                    field: Some(field),
                });
            }
        }
        Ok(payload)
    }

    /// The alert a PR is about: the first firing one, else the first.
    pub fn primary(&self) -> Option<&Alert> {
        self.alerts
            .iter()
            .find(|a| a.status == Status::Firing)
            .or(self.alerts.first())
    }
}

impl Alert {
    pub fn name(&self) -> &str {
        self.labels.get("alertname").map_or("", String::as_str)
    }
}

/// Why a payload is not a valid v4 webhook, and which field, when one is at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an Alertmanager webhook payload: {message}")]
pub struct PayloadError {
    pub message: String,
    /// `alerts[0].status`, `version`...
    pub field: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_real_alertmanager_payloads() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/fixtures/alertmanager"
        );
        let firing = std::fs::read(format!("{dir}/alertmanager-0.25-webhook-firing.json")).unwrap();
        let p = Payload::from_json(&firing).unwrap();
        assert_eq!(p.status, Status::Firing);
        assert_eq!(p.external_url, "http://vm:9093");
        let a = p.primary().unwrap();
        assert_eq!(a.name(), "HighErrorRate");
        assert_eq!(a.ends_at, "0001-01-01T00:00:00Z");
        assert_eq!(a.generator_url, "http://prometheus:9090/graph?g0.expr=rate");
        let resolved =
            std::fs::read(format!("{dir}/alertmanager-0.25-webhook-resolved.json")).unwrap();
        assert_eq!(
            Payload::from_json(&resolved).unwrap().status,
            Status::Resolved
        );
    }

    #[test]
    fn rejects_what_is_not_a_v4_payload() {
        assert!(Payload::from_json(b"{}").is_err());
        let v3 = br#"{"version":"3","status":"firing","alerts":[]}"#;
        let e = Payload::from_json(v3).unwrap_err();
        assert!(e.message.contains("version"));
        assert_eq!(e.field.as_deref(), Some("version"));
        let bad_status = br#"{"version":"4","status":"firing","alerts":[{"status":"burning"}]}"#;
        let e = Payload::from_json(bad_status).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("alerts[0].status"));
        assert!(
            e.message.starts_with("alerts[0].status: unknown variant"),
            "{}",
            e.message
        );
        assert!(
            Payload::from_json(b"{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[]} x")
                .is_err()
        );
    }

    #[test]
    fn an_alert_must_say_when_it_started() {
        let with = |starts_at: &str| {
            format!(
                r#"{{"version":"4","status":"firing","alerts":[{{"status":"firing","startsAt":"2026-12-06T04:44:01Z"}},{{"status":"firing"{starts_at}}}]}}"#
            )
        };
        assert!(Payload::from_json(
            with(r#","startsAt":"2026-12-06T04:44:01.5+01:00""#).as_bytes()
        )
        .is_ok());
        for bad in [
            "",
            r#","startsAt":"""#,
            r#","startsAt":"yesterday""#,
            r#","startsAt":"0""#,
        ] {
            let e = Payload::from_json(with(bad).as_bytes()).unwrap_err();
            assert_eq!(e.field.as_deref(), Some("alerts[1].startsAt"), "{bad}");
            assert!(e.message.starts_with("alerts[1].startsAt"), "{}", e.message);
        }
    }
}
