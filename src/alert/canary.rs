//! The native webhooks of progressive delivery tools, as alerts: an Argo Rollouts abort (the
//! body of revertbot's notification template, `deploy/examples/argo-rollouts-notifications.yaml`)
//! and a Flagger event (as Flagger sends it). Each becomes a one-alert v4 payload with labels
//! the rules can match — `alertname`, `source`, `namespace`, `rollout` or `canary`, and
//! `image` when the event carries exactly one — so that one configuration serves Alertmanager
//! and both tools, through the same rules, journal, guards and coalescing.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;

use super::{Alert, Payload, Status};

/// Why a webhook body is not one revertbot takes, and which field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not {what}: {message}")]
pub struct EventError {
    pub what: &'static str,
    pub message: String,
    pub field: Option<String>,
}

/// An event a tool sent that asks for nothing (a Flagger phase other than `Failed`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Alert(Payload),
    Ignored(String),
}

pub const ARGO_ROLLOUTS: &str = "argo-rollouts";
pub const FLAGGER: &str = "flagger";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RolloutEvent {
    #[serde(default)]
    event: Option<String>,
    rollout: RolloutId,
    #[serde(default)]
    containers: Vec<ContainerImage>,
    #[serde(default)]
    workload_ref: Option<WorkloadRef>,
    #[serde(default)]
    aborted_at: Option<String>,
    #[serde(rename = "stableRS", default)]
    stable_rs: Option<String>,
    #[serde(default)]
    current_pod_hash: Option<String>,
    #[serde(default)]
    phase: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    time: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RolloutId {
    name: String,
    namespace: String,
}

#[derive(Debug, Deserialize)]
struct ContainerImage {
    name: String,
    /// `null` for a container the template gives no image (a patch sets it elsewhere).
    #[serde(default)]
    image: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WorkloadRef {
    kind: String,
    name: String,
}

/// An Argo Rollouts abort, from revertbot's notification template.
pub fn argo_rollouts(body: &[u8], now: DateTime<Utc>) -> Result<Event, EventError> {
    let e: RolloutEvent = parse(
        body,
        "an Argo Rollouts notification from revertbot's template",
    )?;
    if let Some(event) = e.event.as_deref().filter(|ev| *ev != "RolloutAborted") {
        return Ok(Event::Ignored(format!(
            "event {event:?}: only RolloutAborted rolls back"
        )));
    }
    let (ns, name) = (e.rollout.namespace.trim(), e.rollout.name.trim());
    required(ns, "rollout.namespace", "an Argo Rollouts notification")?;
    required(name, "rollout.name", "an Argo Rollouts notification")?;
    let mut labels = BTreeMap::from([
        ("alertname".to_string(), "ArgoRolloutAborted".to_string()),
        ("source".to_string(), ARGO_ROLLOUTS.to_string()),
        ("namespace".to_string(), ns.to_string()),
        ("rollout".to_string(), name.to_string()),
    ]);
    let images: Vec<(&str, &str)> = e
        .containers
        .iter()
        .filter_map(|c| Some((c.name.as_str(), c.image.as_deref()?.trim())))
        .filter(|(_, image)| !image.is_empty())
        .collect();
    // With one container the image rolled out is known; with several, the workload in the
    // repository decides (the container whose image changed last).
    if let [(container, image)] = images.as_slice() {
        labels.insert("image".into(), image.to_string());
        labels.insert("container".into(), container.to_string());
    }
    let message = e.message.clone().unwrap_or_default();
    let mut annotations = BTreeMap::from([(
        "summary".to_string(),
        format!("Argo Rollouts aborted the rollout of {ns}/{name}"),
    )]);
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.trim().is_empty()) {
            annotations.insert(k.to_string(), v);
        }
    };
    put("description", Some(message));
    put("phase", e.phase.clone());
    put("stable_replicaset", e.stable_rs.clone());
    put("canary_pod_hash", e.current_pod_hash.clone());
    put(
        "images",
        Some(
            images
                .iter()
                .map(|(name, image)| format!("{name}={image}"))
                .collect::<Vec<_>>()
                .join(", "),
        ),
    );
    put(
        "workload_ref",
        e.workload_ref
            .as_ref()
            .map(|r| format!("{} {}", r.kind, r.name)),
    );
    for (field, value) in [("abortedAt", &e.aborted_at), ("time", &e.time)] {
        if let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            if DateTime::parse_from_rfc3339(v).is_err() {
                return Err(EventError {
                    what: "an Argo Rollouts notification",
                    message: format!("{field}: {v:?} is not an RFC 3339 time"),
                    field: Some(field.into()),
                });
            }
        }
    }
    let at = e.aborted_at.as_deref().or(e.time.as_deref());
    Ok(Event::Alert(payload(
        ARGO_ROLLOUTS,
        labels,
        annotations,
        started(at, now),
        e.current_pod_hash.as_deref(),
    )))
}

#[derive(Debug, Deserialize)]
struct FlaggerEvent {
    name: String,
    namespace: String,
    phase: String,
    #[serde(default)]
    checksum: Option<String>,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
}

/// A Flagger event webhook; only `phase: Failed` asks for a rollback.
pub fn flagger(body: &[u8], now: DateTime<Utc>) -> Result<Event, EventError> {
    let e: FlaggerEvent = parse(body, "a Flagger event")?;
    let (ns, name) = (e.namespace.trim(), e.name.trim());
    required(ns, "namespace", "a Flagger event")?;
    required(name, "name", "a Flagger event")?;
    if e.phase != "Failed" {
        return Ok(Event::Ignored(format!(
            "phase {:?}: only Failed rolls back",
            e.phase
        )));
    }
    let labels = BTreeMap::from([
        ("alertname".to_string(), "FlaggerCanaryFailed".to_string()),
        ("source".to_string(), FLAGGER.to_string()),
        ("namespace".to_string(), ns.to_string()),
        ("canary".to_string(), name.to_string()),
    ]);
    let message = e.metadata.get("eventMessage").cloned().unwrap_or_default();
    let mut annotations = BTreeMap::from([(
        "summary".to_string(),
        format!("Flagger failed the canary analysis of {ns}/{name}"),
    )]);
    if !message.trim().is_empty() {
        annotations.insert("description".into(), message);
    }
    // Flagger writes the time as milliseconds since the epoch, in a string. A time that is not
    // one is refused: taken as now, it would pass the age and causality guards unchecked.
    let at = match e.metadata.get("timestamp").map(|t| t.trim()) {
        None | Some("") => None,
        Some(t) => Some(
            t.parse::<i64>()
                .ok()
                .and_then(DateTime::from_timestamp_millis)
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
                .ok_or_else(|| EventError {
                    what: "a Flagger event",
                    message: format!(
                        "metadata.timestamp: {t:?} is not a time in milliseconds since the epoch"
                    ),
                    field: Some("metadata.timestamp".into()),
                })?,
        ),
    };
    Ok(Event::Alert(payload(
        FLAGGER,
        labels,
        annotations,
        started(at.as_deref(), now),
        e.checksum.as_deref(),
    )))
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8], what: &'static str) -> Result<T, EventError> {
    super::json::decode(body).map_err(|e| EventError {
        what,
        // The field path says where better than serde_json's line and column.
        message: e.message(false),
        field: e.field,
    })
}

fn required(value: &str, field: &str, what: &'static str) -> Result<(), EventError> {
    if value.is_empty() {
        return Err(EventError {
            what,
            message: format!("{field} is empty"),
            field: Some(field.to_string()),
        });
    }
    Ok(())
}

/// The event's time as RFC 3339, else now.
fn started(at: Option<&str>, now: DateTime<Utc>) -> String {
    at.and_then(|t| DateTime::parse_from_rfc3339(t.trim()).ok())
        .map_or(now, |t| t.with_timezone(&Utc))
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The one-alert payload of an event about the workload its labels name (`namespace`, and
/// `rollout` or `canary`), grouped by that workload; `revision` tells one rollout of it from
/// the next (Argo Rollouts' pod hash, Flagger's checksum).
fn payload(
    receiver: &str,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    starts_at: String,
    revision: Option<&str>,
) -> Payload {
    let namespace = labels.get("namespace").map_or("", String::as_str);
    let name = labels
        .get("rollout")
        .or(labels.get("canary"))
        .map_or("", String::as_str);
    let group_key =
        format!("{{}}:{{source=\"{receiver}\", namespace=\"{namespace}\", name=\"{name}\"}}");
    let identity = format!("{receiver}/{namespace}/{name}/{}", revision.unwrap_or(""));
    Payload {
        version: "4".into(),
        group_key,
        truncated_alerts: 0,
        status: Status::Firing,
        receiver: receiver.into(),
        group_labels: BTreeMap::new(),
        common_labels: labels.clone(),
        common_annotations: annotations.clone(),
        external_url: String::new(),
        alerts: vec![Alert {
            status: Status::Firing,
            labels,
            annotations,
            starts_at,
            ends_at: "0001-01-01T00:00:00Z".into(),
            generator_url: String::new(),
            fingerprint: fingerprint(&identity),
        }],
    }
}

/// A stable 64-bit FNV-1a of the event's identity: the same abort sent again is the same alert.
fn fingerprint(identity: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in identity.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-30T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn an_abort_with_one_container_names_its_image() {
        let body = br#"{"event":"RolloutAborted","rollout":{"name":"web","namespace":"prod","uid":"u"},
            "containers":[{"name":"web","image":"ghcr.io/acme/web:1.5.0"}],"workloadRef":null,
            "abortedAt":"2026-11-30T11:58:00Z","stableRS":"web-7d4b9c8f6d","currentPodHash":"5f6c7b9d8",
            "phase":"Degraded","message":"RolloutAborted: Metric \"error-rate\" assessed Failed","time":"2026-11-30T11:58:01Z"}"#;
        let Event::Alert(p) = argo_rollouts(body, now()).unwrap() else {
            panic!("an alert")
        };
        let a = &p.alerts[0];
        assert_eq!(a.labels["alertname"], "ArgoRolloutAborted");
        assert_eq!(a.labels["source"], "argo-rollouts");
        assert_eq!(a.labels["rollout"], "web");
        assert_eq!(a.labels["image"], "ghcr.io/acme/web:1.5.0");
        assert_eq!(a.starts_at, "2026-11-30T11:58:00Z");
        assert!(a.annotations["description"].contains("error-rate"));
        // The same abort again is the same alert.
        let Event::Alert(again) = argo_rollouts(body, now()).unwrap() else {
            panic!()
        };
        assert_eq!(again.alerts[0].fingerprint, a.fingerprint);
        // Through JSON and back, as the journal keeps it.
        let json = serde_json::to_vec(&p).unwrap();
        assert_eq!(Payload::from_json(&json).unwrap(), p);
    }

    #[test]
    fn the_group_and_fingerprint_come_from_the_workload_and_its_revision() {
        // Fingerprints already in journals must stay what they were: pinned.
        let argo = br#"{"rollout":{"name":"web","namespace":"prod"},"currentPodHash":"5f6c7b9d8"}"#;
        let flagger_failed =
            br#"{"name":"web","namespace":"prod","phase":"Failed","checksum":"6d4c"}"#;
        for (event, receiver, fingerprint) in [
            (
                argo_rollouts(argo, now()),
                ARGO_ROLLOUTS,
                "87f2f8d93e07463d",
            ),
            (flagger(flagger_failed, now()), FLAGGER, "05383317066b23de"),
        ] {
            let Ok(Event::Alert(p)) = event else {
                panic!("an alert")
            };
            assert_eq!(
                p.group_key,
                format!("{{}}:{{source=\"{receiver}\", namespace=\"prod\", name=\"web\"}}")
            );
            assert_eq!(p.alerts[0].fingerprint, fingerprint, "{receiver}");
        }
    }

    #[test]
    fn several_containers_leave_the_image_to_the_workload() {
        let body = br#"{"rollout":{"name":"web","namespace":"prod"},
            "containers":[{"name":"web","image":"ghcr.io/acme/web:1.5.0"},{"name":"envoy","image":"envoyproxy/envoy:v1.29.1"}]}"#;
        let Event::Alert(p) = argo_rollouts(body, now()).unwrap() else {
            panic!()
        };
        assert!(!p.alerts[0].labels.contains_key("image"));
        assert_eq!(
            p.alerts[0].starts_at, "2026-11-30T12:00:00Z",
            "now, without a time"
        );
    }

    #[test]
    fn flagger_failed_is_an_alert_and_other_phases_are_not() {
        let failed = br#"{"name":"web","namespace":"prod","phase":"Failed","checksum":"6d4c",
            "metadata":{"eventMessage":"Canary failed! Scaling down web.prod","eventType":"Warning","timestamp":"1796039880000"}}"#;
        let Event::Alert(p) = flagger(failed, now()).unwrap() else {
            panic!()
        };
        let a = &p.alerts[0];
        assert_eq!(a.labels["canary"], "web");
        assert_eq!(a.labels["alertname"], "FlaggerCanaryFailed");
        assert_eq!(a.starts_at, "2026-11-30T11:58:00Z");
        let ok = br#"{"name":"web","namespace":"prod","phase":"Succeeded","metadata":{}}"#;
        assert!(matches!(flagger(ok, now()).unwrap(), Event::Ignored(_)));
    }

    #[test]
    fn hostile_or_broken_bodies_get_one_line_with_the_field() {
        let e = flagger(br#"{"name":"web","phase":"Failed"}"#, now()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("namespace"));
        assert_eq!(
            e.to_string(),
            "not a Flagger event: namespace: missing field `namespace`"
        );
        let e = argo_rollouts(br#"{"rollout":{"name":"","namespace":"prod"}}"#, now()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("rollout.name"));
        assert!(argo_rollouts(b"<html>", now()).is_err());
        assert!(flagger(br#"{"name":1}"#, now())
            .unwrap_err()
            .message
            .contains("name"));
    }

    #[test]
    fn a_time_that_is_no_time_is_refused() {
        for t in ["yesterday", "0x10", "1e12", "2026-11-30T11:58:00Z"] {
            let body = format!(
                r#"{{"name":"web","namespace":"prod","phase":"Failed","metadata":{{"timestamp":"{t}"}}}}"#
            );
            let e = flagger(body.as_bytes(), now()).unwrap_err();
            assert_eq!(e.field.as_deref(), Some("metadata.timestamp"), "{t}");
        }
        let e = argo_rollouts(
            br#"{"rollout":{"name":"web","namespace":"prod"},"abortedAt":"yesterday"}"#,
            now(),
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("abortedAt"));
        let e = argo_rollouts(
            br#"{"rollout":{"name":"web","namespace":"prod"},"time":"0"}"#,
            now(),
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("time"));
    }
}
