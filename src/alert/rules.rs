//! Which rule an alert falls under, and what it asks to roll back (pure).

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::workload;
use super::{Alert, Status};
use crate::config::{Guards, Rule};
use crate::image::ImageRef;
use crate::subject::Subject;

/// What one alert asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Routed<'r> {
    /// No rule matched.
    Unmatched,
    /// A rule matched, but the alert is not acted on.
    Skipped { rule: &'r Rule, reason: String },
    /// Roll this back in the rule's repository.
    Rollback { rule: &'r Rule, subject: Subject },
    /// The alert resolved: say so on the rollback's pull request for this.
    Resolved { rule: &'r Rule, subject: Subject },
}

/// Routes an alert: the first rule whose matchers all match; the image from its label; the
/// alert's age checked against the guard.
pub fn route<'r>(
    alert: &Alert,
    rules: &'r [Rule],
    guards: &Guards,
    now: DateTime<Utc>,
) -> Routed<'r> {
    let Some(rule) = rule_for(alert, rules) else {
        return Routed::Unmatched;
    };
    let skip = |reason: String| Routed::Skipped { rule, reason };
    let subject = match rule.image_label.as_deref().map(|l| (l, alert.labels.get(l))) {
        Some((label, Some(value))) if !value.trim().is_empty() => match ImageRef::parse(value.trim()) {
            Ok(image) if image.tag.is_none() && image.digest.is_none() => {
                return skip(format!(
                    "label {label}: {image} names no tag or digest, so the version to roll back is unknown"
                ))
            }
            Ok(image) => Subject::Image(image),
            Err(e) => return skip(format!("label {label}: {e}")),
        },
        Some((label, _)) if !rule.workload => {
            return skip(format!("the alert has no {label} label naming the image"));
        }
        _ => {
            let candidates = workload::from_labels(&alert.labels);
            if candidates.is_empty() {
                return skip(
                    "the alert names no image and no workload (namespace with deployment, statefulset, daemonset, cronjob, job_name, rollout or pod)".into(),
                );
            }
            Subject::Workload(candidates)
        }
    };
    if alert.status == Status::Resolved {
        return Routed::Resolved { rule, subject };
    }
    if let Some(age) = age(alert, now) {
        if age > guards.max_alert_age {
            return skip(format!(
                "guard max_alert_age: the alert started {} ago, more than {}",
                crate::config::duration::format(Duration::from_secs(age.as_secs())),
                crate::config::duration::format(guards.max_alert_age)
            ));
        }
    }
    Routed::Rollback { rule, subject }
}

/// The rule an alert falls under: the first whose matchers all match.
pub fn rule_for<'r>(alert: &Alert, rules: &'r [Rule]) -> Option<&'r Rule> {
    rules
        .iter()
        .find(|r| r.matchers.iter().all(|m| m.matches(&alert.labels)))
}

/// How long ago the alert started, when it says.
pub fn age(alert: &Alert, now: DateTime<Utc>) -> Option<Duration> {
    let started = started_at(alert)?;
    (now - started).to_std().ok()
}

/// When the alert started, when it says.
pub fn started_at(alert: &Alert) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(&alert.starts_at)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// When a resolved alert ended; `None` while it fires (Alertmanager sends
/// `0001-01-01T00:00:00Z`), or when it says no time.
pub fn ended_at(alert: &Alert) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(&alert.ends_at)
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .filter(|t| t.timestamp() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RevertOfRevert;
    use crate::matcher;

    fn rule(name: &str, matchers: &[&str], image_label: Option<&str>) -> Rule {
        Rule {
            name: name.into(),
            matchers: matchers
                .iter()
                .flat_map(|m| matcher::parse(m).unwrap())
                .collect(),
            repo: "gitops".into(),
            image_label: image_label.map(str::to_string),
            workload: false,
            auto_merge: None,
        }
    }

    fn guards() -> Guards {
        Guards {
            dry_run: false,
            max_rollbacks_per_repo_per_hour: 3,
            max_auto_merges_per_repo_per_hour: 3,
            max_alert_age: Duration::from_secs(7_200),
            culprit_grace: Duration::from_secs(600),
            revert_of_revert: RevertOfRevert::Refuse,
        }
    }

    fn alert(status: Status, labels: &[(&str, &str)], starts_at: &str) -> Alert {
        Alert {
            status,
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            annotations: Default::default(),
            starts_at: starts_at.into(),
            ends_at: String::new(),
            generator_url: String::new(),
            fingerprint: "f".into(),
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-30T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn the_first_matching_rule_names_repo_and_image() {
        let rules = [
            rule("staging", &[r#"namespace="staging""#], Some("image")),
            rule(
                "prod",
                &[r#"severity="rollback""#, r#"namespace=~"prod|prod-.*""#],
                Some("image"),
            ),
        ];
        let a = alert(
            Status::Firing,
            &[
                ("severity", "rollback"),
                ("namespace", "prod-eu"),
                ("image", "ghcr.io/acme/api:1.2.3"),
            ],
            "2026-11-30T11:50:00Z",
        );
        match route(&a, &rules, &guards(), now()) {
            Routed::Rollback { rule, subject } => {
                assert_eq!(rule.name, "prod");
                assert_eq!(subject.key(), "ghcr.io/acme/api:1.2.3");
            }
            other => panic!("{other:?}"),
        }
        let unmatched = alert(
            Status::Firing,
            &[("namespace", "dev")],
            "2026-11-30T11:50:00Z",
        );
        assert_eq!(
            route(&unmatched, &rules, &guards(), now()),
            Routed::Unmatched
        );
    }

    #[test]
    fn what_is_not_acted_on_says_why() {
        let rules = [rule("prod", &[r#"severity="rollback""#], Some("image"))];
        let reason = |labels: &[(&str, &str)], starts: &str| match route(
            &alert(Status::Firing, labels, starts),
            &rules,
            &guards(),
            now(),
        ) {
            Routed::Skipped { reason, .. } => reason,
            other => panic!("{other:?}"),
        };
        let r = reason(&[("severity", "rollback")], "2026-11-30T11:50:00Z");
        assert!(r.contains("no image label"), "{r}");
        let r = reason(
            &[("severity", "rollback"), ("image", "../../etc/passwd")],
            "2026-11-30T11:50:00Z",
        );
        assert!(r.contains("label image"), "{r}");
        let r = reason(
            &[("severity", "rollback"), ("image", "ghcr.io/acme/api")],
            "2026-11-30T11:50:00Z",
        );
        assert!(r.contains("names no tag or digest"), "{r}");
        let r = reason(
            &[("severity", "rollback"), ("image", "ghcr.io/acme/api:1")],
            "2026-11-30T08:00:00Z",
        );
        assert_eq!(
            r,
            "guard max_alert_age: the alert started 4h ago, more than 2h"
        );
    }

    #[test]
    fn without_an_image_label_the_workload_labels_name_the_subject() {
        let mut r = rule("prod", &[], Some("image"));
        r.workload = true;
        let rules = [r];
        let a = alert(
            Status::Firing,
            &[
                ("namespace", "prod"),
                ("pod", "frontend-7d4b9c8f6d-x2k9p"),
                ("container", "web"),
            ],
            "2026-11-30T11:50:00Z",
        );
        match route(&a, &rules, &guards(), now()) {
            Routed::Rollback {
                subject: Subject::Workload(candidates),
                ..
            } => {
                assert_eq!(candidates[0].name, "frontend");
                assert_eq!(
                    Subject::Workload(candidates).key(),
                    "workload:prod/Deployment/frontend:web"
                );
            }
            other => panic!("{other:?}"),
        }
        let nothing = alert(
            Status::Firing,
            &[("namespace", "prod")],
            "2026-11-30T11:50:00Z",
        );
        assert!(matches!(
            route(&nothing, &rules, &guards(), now()),
            Routed::Skipped { reason, .. } if reason.contains("no image and no workload")
        ));
    }

    #[test]
    fn a_resolved_alert_asks_for_a_note_never_a_revert() {
        let rules = [rule("prod", &[], Some("image"))];
        let a = alert(
            Status::Resolved,
            &[("image", "ghcr.io/acme/api:1.2.3")],
            "2026-11-29T00:00:00Z",
        );
        assert!(matches!(
            route(&a, &rules, &guards(), now()),
            Routed::Resolved { .. }
        ));
    }
}
