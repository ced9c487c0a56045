//! The service's metrics, in Prometheus' text format at `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabel {
    pub decision: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub kind: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabel {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GuardLabel {
    pub guard: String,
}

pub struct Metrics {
    registry: Registry,
    /// Webhook deliveries by result (`recorded`, `unauthorized`, `invalid`, `too_large`,
    /// `unavailable`).
    pub deliveries: Family<ResultLabel, Counter>,
    /// Alerts by decision (`queued`, `coalesced`, `unmatched`, `skipped`).
    pub alerts: Family<DecisionLabel, Counter>,
    /// Jobs finished, by kind and outcome (`created`, `reused`, `dry-run`, `commented`... or
    /// the error's kind).
    pub jobs: Family<OutcomeLabel, Counter>,
    /// Failed job attempts by error kind (`transient`, `usage`, ...).
    pub errors: Family<ErrorLabel, Counter>,
    /// Guards that fired, by guard.
    pub guards: Family<GuardLabel, Counter>,
    /// From the delivery that made a job to its pull request, in seconds.
    pub alert_to_pull: Histogram,
    /// Jobs queued or running.
    pub pending: Gauge,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("revertbot");
        let deliveries = Family::<ResultLabel, Counter>::default();
        let alerts = Family::<DecisionLabel, Counter>::default();
        let jobs = Family::<OutcomeLabel, Counter>::default();
        let errors = Family::<ErrorLabel, Counter>::default();
        let guards = Family::<GuardLabel, Counter>::default();
        let alert_to_pull = Histogram::new(exponential_buckets(0.05, 2.0, 14));
        let pending = Gauge::default();
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
        registry.register("jobs", "Jobs finished, by kind and outcome", jobs.clone());
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
            "From receiving an alert to its pull request opened or found",
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
        }
    }

    pub fn delivery(&self, result: &str) {
        self.deliveries
            .get_or_create(&ResultLabel {
                result: result.into(),
            })
            .inc();
    }

    pub fn guard(&self, guard: &str) {
        self.guards
            .get_or_create(&GuardLabel {
                guard: guard.into(),
            })
            .inc();
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
