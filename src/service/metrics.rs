//! The service's metrics, in Prometheus' text format at `/metrics`.
//!
//! Callers say what happened (a delivery answered, a job finished or failed, a guard fired);
//! which counter that moves and under which labels is decided here, once, so that the names
//! and label values on `/metrics` cannot drift apart between call sites.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::journal::{Failure, Finished, JobKind};

/// How a webhook delivery was answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryResult {
    /// In the journal, answered 200.
    Recorded,
    /// A canary tool's event that asks for nothing: answered 200, not recorded.
    Ignored,
    /// Refused for its credentials.
    Unauthorized,
    /// A body that is not a delivery (or could not be read whole).
    Invalid,
    /// Over `webhook.max_body_bytes`.
    TooLarge,
    /// The journal could not take it: answered 503, to be sent again.
    Unavailable,
}

impl DeliveryResult {
    fn label(self) -> &'static str {
        match self {
            DeliveryResult::Recorded => "recorded",
            DeliveryResult::Ignored => "ignored",
            DeliveryResult::Unauthorized => "unauthorized",
            DeliveryResult::Invalid => "invalid",
            DeliveryResult::TooLarge => "too_large",
            DeliveryResult::Unavailable => "unavailable",
        }
    }
}

/// A guard that stopped an alert or a job (or, for `dry_run`, its effects).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guard {
    /// `guards.max_alert_age`: an alert too old to act on.
    MaxAlertAge,
    /// `guards.dry_run`: a rollback made but not pushed.
    DryRun,
    /// `guards.max_rollbacks_per_repo_per_hour`.
    MaxRollbacksPerRepoPerHour,
    /// `guards.max_auto_merges_per_repo_per_hour`: a rollback left for review.
    MaxAutoMergesPerRepoPerHour,
    /// The culprit is itself a revert (`guards.revert_of_revert`).
    RevertOfRevert,
    /// The culprit is older than the alert allows.
    CulpritTooLate,
    /// The image is not referenced in the repository.
    NotReferenced,
}

impl Guard {
    /// Its label on `/metrics`; for the guards that refuse a job, also the code of the error
    /// they raise (the engine's own constants, so that the two cannot differ).
    pub const fn label(self) -> &'static str {
        match self {
            Guard::MaxAlertAge => "max_alert_age",
            Guard::DryRun => "dry_run",
            Guard::MaxRollbacksPerRepoPerHour => "max_rollbacks_per_repo_per_hour",
            Guard::MaxAutoMergesPerRepoPerHour => "max_auto_merges_per_repo_per_hour",
            Guard::RevertOfRevert => crate::revert::REVERT_OF_REVERT,
            Guard::CulpritTooLate => crate::revert::CULPRIT_TOO_LATE,
            Guard::NotReferenced => crate::locate::NOT_REFERENCED,
        }
    }

    /// The guard that refused a job, by the code of its error.
    fn refusing(code: &str) -> Option<Guard> {
        [
            Guard::MaxRollbacksPerRepoPerHour,
            Guard::RevertOfRevert,
            Guard::CulpritTooLate,
            Guard::NotReferenced,
        ]
        .into_iter()
        .find(|guard| guard.label() == code)
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabel {
    decision: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    kind: String,
    outcome: String,
    forge: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ForgeLabel {
    forge: String,
}

/// A job's `forge` label: where its pull request went (`github`, `gitlab`, `gitea`, `local`),
/// or `none` when it opened or found none.
fn forge_label(forge: Option<&str>) -> String {
    forge.unwrap_or("none").to_string()
}

fn alert_to_pull_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.05, 2.0, 14))
}

/// Minutes to hours: from 1 min, doubling, to about 34 h.
fn recovery_histogram() -> Histogram {
    Histogram::new(exponential_buckets(60.0, 2.0, 12))
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabel {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GuardLabel {
    guard: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckLabel {
    result: String,
}

pub struct Metrics {
    registry: Registry,
    /// Webhook deliveries by result (`recorded`, `unauthorized`, `invalid`, `too_large`,
    /// `unavailable`, `ignored`).
    deliveries: Family<ResultLabel, Counter>,
    /// Alerts by decision (`queued`, `coalesced`, `unmatched`, `skipped`).
    alerts: Family<DecisionLabel, Counter>,
    /// Jobs finished, by kind, outcome (`created`, `reused`, `dry-run`, `commented`... or the
    /// error's kind) and the forge of their pull request (`none`: no pull request).
    jobs: Family<OutcomeLabel, Counter>,
    /// Failed job attempts by error kind (`transient`, `usage`, ...).
    errors: Family<ErrorLabel, Counter>,
    /// Guards that fired, by guard.
    guards: Family<GuardLabel, Counter>,
    /// From the delivery that made a job to its pull request, in seconds, by the forge.
    alert_to_pull: Family<ForgeLabel, Histogram, fn() -> Histogram>,
    /// Jobs queued or running.
    pending: Gauge,
    /// Registry checks of the images rollbacks deploy again, by result (`found`, `missing`,
    /// `error`).
    registry_checks: Family<CheckLabel, Counter>,
    /// From a rollback pull request's opening to its merge, as its forge told, each merge once.
    merge_time: Histogram,
    /// From the alert's `startsAt` to the rollback pull request opened for it, by the forge.
    rollback_pull: Family<ForgeLabel, Histogram, fn() -> Histogram>,
    /// From the alert's `startsAt` to its resolution, for rollbacks merged when it resolved,
    /// each resolution once, by the forge.
    recovery: Family<ForgeLabel, Histogram, fn() -> Histogram>,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("revertbot");
        let deliveries = Family::<ResultLabel, Counter>::default();
        let alerts = Family::<DecisionLabel, Counter>::default();
        let jobs = Family::<OutcomeLabel, Counter>::default();
        let errors = Family::<ErrorLabel, Counter>::default();
        let guards = Family::<GuardLabel, Counter>::default();
        let alert_to_pull =
            Family::<ForgeLabel, Histogram, fn() -> Histogram>::new_with_constructor(
                alert_to_pull_histogram,
            );
        let pending = Gauge::default();
        let registry_checks = Family::<CheckLabel, Counter>::default();
        let merge_time = Histogram::new(exponential_buckets(30.0, 2.0, 14));
        let rollback_pull =
            Family::<ForgeLabel, Histogram, fn() -> Histogram>::new_with_constructor(
                recovery_histogram,
            );
        let recovery = Family::<ForgeLabel, Histogram, fn() -> Histogram>::new_with_constructor(
            recovery_histogram,
        );
        // The alert's own start, not its delivery: what people felt, Alertmanager's group_wait
        // and revertbot's queue included (`alert_to_pull_request_seconds` times revertbot alone).
        registry.register(
            "rollback_pull_request_seconds",
            "From an alert's startsAt to the rollback pull request opened for it, by forge",
            rollback_pull.clone(),
        );
        registry.register(
            "recovery_seconds",
            "From an alert's startsAt to its resolution, for a rollback merged by then, by forge",
            recovery.clone(),
        );
        registry.register(
            "pull_request_merge_seconds",
            "From a rollback pull request opened to merged, as its forge told",
            merge_time.clone(),
        );
        registry.register(
            "registry_checks",
            "Registry checks of the images rollbacks deploy again, by result",
            registry_checks.clone(),
        );
        registry.register(
            "deliveries",
            "Webhook deliveries by result",
            deliveries.clone(),
        );
        registry.register(
            "alerts",
            "Alerts received, by what was decided",
            alerts.clone(),
        );
        registry.register(
            "jobs",
            "Jobs finished, by kind, outcome and forge",
            jobs.clone(),
        );
        registry.register(
            "job_errors",
            "Failed job attempts, by error kind",
            errors.clone(),
        );
        registry.register(
            "guard_hits",
            "Guards that stopped an alert or a job",
            guards.clone(),
        );
        registry.register(
            "alert_to_pull_request_seconds",
            "From receiving an alert to its pull request opened or found, by forge",
            alert_to_pull.clone(),
        );
        registry.register("jobs_pending", "Jobs queued or running", pending.clone());
        Metrics {
            registry,
            deliveries,
            alerts,
            jobs,
            errors,
            guards,
            alert_to_pull,
            pending,
            registry_checks,
            merge_time,
            rollback_pull,
            recovery,
        }
    }

    /// A webhook delivery answered.
    pub fn delivery(&self, result: DeliveryResult) {
        self.deliveries
            .get_or_create(&ResultLabel {
                result: result.label().into(),
            })
            .inc();
    }

    /// The alerts of a recorded delivery, by what the journal decided for each (`queued`,
    /// `coalesced`, `unmatched`, `skipped`).
    pub fn alerts_decided(&self, decisions: &[&str]) {
        for decision in decisions {
            self.alerts
                .get_or_create(&DecisionLabel {
                    decision: (*decision).into(),
                })
                .inc();
        }
    }

    /// What counts each registry check's answer, for the engine to call.
    pub fn registry_check_observer(&self) -> crate::pipeline::CheckObserver {
        let checks = self.registry_checks.clone();
        std::sync::Arc::new(move |check: &crate::registry::ImageCheck| {
            let result = match check.exists {
                Some(true) => "found",
                Some(false) => "missing",
                None => "error",
            };
            checks
                .get_or_create(&CheckLabel {
                    result: result.into(),
                })
                .inc();
        })
    }

    /// A rollback pull request merged `seconds` after it was opened (each merge once).
    pub fn pull_request_merged(&self, seconds: f64) {
        self.merge_time.observe(seconds);
    }

    /// A rollback pull request opened on `forge`, `seconds` after its alert started.
    pub fn rollback_pull_opened(&self, forge: &str, seconds: f64) {
        self.rollback_pull
            .get_or_create(&ForgeLabel {
                forge: forge_label(Some(forge)),
            })
            .observe(seconds);
    }

    /// An alert resolved `seconds` after it started, its rollback's pull request on `forge`
    /// merged by then (each resolution once).
    pub fn recovered(&self, forge: &str, seconds: f64) {
        self.recovery
            .get_or_create(&ForgeLabel {
                forge: forge_label(Some(forge)),
            })
            .observe(seconds);
    }

    /// A guard fired.
    pub fn guard(&self, guard: Guard) {
        self.guards
            .get_or_create(&GuardLabel {
                guard: guard.label().into(),
            })
            .inc();
    }

    /// A job of `kind` ended as `finished` says.
    pub fn job_finished(&self, kind: JobKind, finished: &Finished) {
        self.job_ended(kind, &finished.outcome, finished.forge.as_deref());
    }

    /// An attempt at a job of `kind` failed. Every attempt counts as an error of its kind; one
    /// that will not be tried again also ends the job, its outcome the error's kind; a guard's
    /// refusal counts as that guard's hit.
    pub fn job_failed(&self, kind: JobKind, failure: &Failure) {
        if failure.retry_at.is_none() {
            self.job_ended(kind, &failure.kind, None);
        }
        self.errors
            .get_or_create(&ErrorLabel {
                kind: failure.kind.clone(),
            })
            .inc();
        if let Some(guard) = failure.code.as_deref().and_then(Guard::refusing) {
            self.guard(guard);
        }
    }

    fn job_ended(&self, kind: JobKind, outcome: &str, forge: Option<&str>) {
        self.jobs
            .get_or_create(&OutcomeLabel {
                kind: kind.as_str().into(),
                outcome: outcome.into(),
                forge: forge_label(forge),
            })
            .inc();
    }

    /// A job's pull request opened or found on `forge`, `seconds` after the delivery that made
    /// the job.
    pub fn alert_to_pull(&self, forge: &str, seconds: f64) {
        self.alert_to_pull
            .get_or_create(&ForgeLabel {
                forge: forge_label(Some(forge)),
            })
            .observe(seconds);
    }

    /// Jobs queued or running, as the journal counts them.
    pub fn pending(&self, jobs: u32) {
        self.pending.set(i64::from(jobs));
    }

    /// The text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(kind: &str, code: Option<&str>, retry_at: Option<i64>) -> Failure {
        Failure {
            kind: kind.into(),
            code: code.map(str::to_string),
            message: String::new(),
            retry_at,
        }
    }

    #[test]
    fn the_exposition_keeps_its_names_and_labels() {
        let metrics = Metrics::new();
        metrics.delivery(DeliveryResult::TooLarge);
        metrics.delivery(DeliveryResult::Recorded);
        metrics.alerts_decided(&["queued", "queued", "skipped"]);
        metrics.guard(Guard::MaxAlertAge);
        metrics.job_finished(
            JobKind::Rollback,
            &Finished {
                outcome: "created".into(),
                forge: Some("gitlab".into()),
                ..Finished::default()
            },
        );
        metrics.job_finished(
            JobKind::Rollback,
            &Finished {
                outcome: "dry-run".into(),
                ..Finished::default()
            },
        );
        metrics.job_failed(JobKind::Rollback, &failure("transient", None, Some(1)));
        metrics.job_failed(
            JobKind::Rollback,
            &failure(
                "rate-limited",
                Some("max_rollbacks_per_repo_per_hour"),
                None,
            ),
        );
        metrics.alert_to_pull("gitlab", 0.2);
        metrics.rollback_pull_opened("gitea", 90.0);
        metrics.recovered("github", 1_500.0);
        metrics.pending(3);
        let text = metrics.encode();
        for line in [
            r#"revertbot_deliveries_total{result="too_large"} 1"#,
            r#"revertbot_deliveries_total{result="recorded"} 1"#,
            r#"revertbot_alerts_total{decision="queued"} 2"#,
            r#"revertbot_alerts_total{decision="skipped"} 1"#,
            r#"revertbot_guard_hits_total{guard="max_alert_age"} 1"#,
            r#"revertbot_guard_hits_total{guard="max_rollbacks_per_repo_per_hour"} 1"#,
            r#"revertbot_jobs_total{kind="rollback",outcome="created",forge="gitlab"} 1"#,
            r#"revertbot_jobs_total{kind="rollback",outcome="dry-run",forge="none"} 1"#,
            r#"revertbot_jobs_total{kind="rollback",outcome="rate-limited",forge="none"} 1"#,
            r#"revertbot_job_errors_total{kind="transient"} 1"#,
            r#"revertbot_job_errors_total{kind="rate-limited"} 1"#,
            r#"revertbot_alert_to_pull_request_seconds_count{forge="gitlab"} 1"#,
            r#"revertbot_alert_to_pull_request_seconds_bucket{le="0.4",forge="gitlab"} 1"#,
            r#"revertbot_rollback_pull_request_seconds_count{forge="gitea"} 1"#,
            r#"revertbot_rollback_pull_request_seconds_bucket{le="120.0",forge="gitea"} 1"#,
            r#"revertbot_rollback_pull_request_seconds_bucket{le="60.0",forge="gitea"} 0"#,
            r#"revertbot_recovery_seconds_count{forge="github"} 1"#,
            r#"revertbot_recovery_seconds_bucket{le="1920.0",forge="github"} 1"#,
            r#"revertbot_recovery_seconds_bucket{le="960.0",forge="github"} 0"#,
            "revertbot_jobs_pending 3",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
        // A retried attempt does not end the job.
        assert!(!text.contains(r#"outcome="transient""#), "{text}");
    }

    #[test]
    fn only_the_guards_that_refuse_jobs_are_named_by_error_codes() {
        assert_eq!(
            Guard::refusing("revert_of_revert"),
            Some(Guard::RevertOfRevert)
        );
        assert_eq!(
            Guard::refusing("not_referenced"),
            Some(Guard::NotReferenced)
        );
        assert_eq!(Guard::refusing("dry_run"), None);
        assert_eq!(Guard::refusing("journal_unwritable"), None);
    }
}
