//! Which workload an alert's labels name, when they name no image: the candidates, most likely
//! first. Nothing is guessed silently: every plausible reading is returned, and the caller
//! records when there is more than one.
//!
//! The labels are kube-state-metrics' (`deployment`, `statefulset`, `daemonset`, `cronjob`,
//! `job_name`), Argo Rollouts' (`rollout`), and the `namespace`, `pod` and `container` that
//! most metrics carry. When Prometheus scraped a label that collides with a target label it
//! keeps the metric's own as `exported_<name>` (`honor_labels: false`), so an `exported_` label
//! is preferred: `namespace` is then the exporter's namespace, not the workload's.

use std::collections::BTreeMap;

use crate::manifest::kustomize::WorkloadKind;
use crate::subject::Named;

/// The labels that name a workload directly, in the order their candidates are offered.
const WORKLOAD_LABELS: [(&str, WorkloadKind); 6] = [
    ("deployment", WorkloadKind::Deployment),
    ("rollout", WorkloadKind::Rollout),
    ("canary", WorkloadKind::Canary),
    ("statefulset", WorkloadKind::StatefulSet),
    ("daemonset", WorkloadKind::DaemonSet),
    ("cronjob", WorkloadKind::CronJob),
];

/// The characters Kubernetes uses in generated names (`k8s.io/apimachinery` `rand.String`
/// and `SafeEncodeString`): no vowels, and no `0`, `1`, `3`, so no words and no lookalikes.
const SAFE: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// What an alert's labels say about the workload: candidates, most likely first.
///
/// A label naming the workload (`deployment`, `rollout`, `statefulset`, `daemonset`,
/// `cronjob`, `job_name`) is taken as it is; a `job_name` of the form `<cronjob>-<digits>`
/// also offers the CronJob. Without one, the `pod` label is reduced to the names of the
/// controllers that could own it.
pub fn from_labels(labels: &BTreeMap<String, String>) -> Vec<Named> {
    let namespace = label(labels, "namespace").map(str::to_string);
    let container = label(labels, "container").map(str::to_string);
    let mut found: Vec<(Option<WorkloadKind>, String)> = Vec::new();
    for (key, kind) in WORKLOAD_LABELS {
        if let Some(name) = label(labels, key) {
            found.push((Some(kind), name.to_string()));
        }
    }
    if let Some(job) = label(labels, "job_name") {
        found.extend(from_job_name(job).into_iter().map(|(k, n)| (Some(k), n)));
    }
    if found.is_empty() {
        if let Some(pod) = label(labels, "pod") {
            found = from_pod_name(pod);
        }
    }
    let mut out: Vec<Named> = Vec::new();
    for (kind, name) in found {
        let named = Named {
            namespace: namespace.clone(),
            kind,
            name,
            container: container.clone(),
        };
        if !out.contains(&named) {
            out.push(named);
        }
    }
    out
}

/// A label's value, the `exported_` one first; blank is absent.
fn label<'a>(labels: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
    [format!("exported_{key}"), key.to_string()]
        .iter()
        .filter_map(|k| labels.get(k))
        .map(|v| v.trim())
        .find(|v| !v.is_empty())
}

/// A Job, and the CronJob that may have created it: the CronJob controller names its Jobs
/// `<cronjob>-<scheduled time in minutes since the epoch>` (8 digits these days; older
/// controllers used a 10-digit hash), so a long number makes the CronJob the likelier owner.
fn from_job_name(job: &str) -> Vec<(WorkloadKind, String)> {
    let job_ = (WorkloadKind::Job, job.to_string());
    match job.rsplit_once('-') {
        Some((cronjob, n)) if !cronjob.is_empty() && is_digits(n) => {
            let cron = (WorkloadKind::CronJob, cronjob.to_string());
            if n.len() >= 8 {
                vec![cron, job_]
            } else {
                vec![job_, cron]
            }
        }
        _ => vec![job_],
    }
}

/// The owners a pod name fits, most likely first. Pods are named by their controller:
/// - Deployment (and Argo Rollout, which names ReplicaSets the same way):
///   `<name>-<pod-template-hash>-<5 random>`, the hash 6 to 10 safe characters;
/// - CronJob: `<name>-<minutes>-<5 random>` (its Job is `<name>-<minutes>`);
/// - DaemonSet and Job: `<name>-<5 random>`;
/// - StatefulSet: `<name>-<ordinal>`.
///
/// A hash made only of digits, or a random suffix made only of digits, is rare; the
/// ranks put the reading that does not need one first.
fn from_pod_name(pod: &str) -> Vec<(Option<WorkloadKind>, String)> {
    use WorkloadKind::*;
    let mut ranked: Vec<(u8, WorkloadKind, &str)> = Vec::new();
    if let Some((base1, last)) = pod.rsplit_once('-').filter(|(b, _)| !b.is_empty()) {
        let random = last.len() == 5 && is_safe(last);
        if random {
            if let Some((base2, mid)) = base1.rsplit_once('-').filter(|(b, _)| !b.is_empty()) {
                let hash = (6..=10).contains(&mid.len()) && is_safe(mid);
                match (hash, is_digits(mid)) {
                    (true, false) => ranked.extend([(0, Deployment, base2), (1, Rollout, base2)]),
                    (true, true) => ranked.extend([(4, Deployment, base2), (5, Rollout, base2)]),
                    _ => {}
                }
                if is_digits(mid) {
                    // Its Job's pods look like a DaemonSet's; the Job reading follows below.
                    let rank = if mid.len() >= 8 { 0 } else { 6 };
                    ranked.push((rank, CronJob, base2));
                    ranked.push((rank + 1, Job, base1));
                }
            }
            ranked.extend([(2, DaemonSet, base1), (3, Job, base1)]);
        }
        if is_digits(last) {
            // A five-digit ordinal needs tens of thousands of replicas.
            let rank = if last.len() <= 4 { 0 } else { 7 };
            ranked.push((rank, StatefulSet, base1));
        }
    }
    ranked.sort_by_key(|(rank, _, _)| *rank);
    let mut out: Vec<(Option<WorkloadKind>, String)> = Vec::new();
    for (_, kind, name) in ranked {
        let c = (Some(kind), name.to_string());
        if !out.contains(&c) {
            out.push(c);
        }
    }
    if out.is_empty() {
        out.push((None, pod.to_string()));
    }
    out
}

fn is_safe(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| SAFE.contains(&b))
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::labels;
    use WorkloadKind::*;

    /// The candidates as `(kind, name)`.
    fn kinds(pairs: &[(&str, &str)]) -> Vec<(Option<WorkloadKind>, String)> {
        from_labels(&labels(pairs))
            .into_iter()
            .map(|n| (n.kind, n.name))
            .collect()
    }

    fn c(kind: WorkloadKind, name: &str) -> (Option<WorkloadKind>, String) {
        (Some(kind), name.to_string())
    }

    #[test]
    fn workload_labels_name_the_workload_with_namespace_and_container() {
        let got = from_labels(&labels(&[
            ("namespace", "shop"),
            ("deployment", "web"),
            ("container", "app"),
        ]));
        assert_eq!(
            got,
            [Named {
                namespace: Some("shop".into()),
                kind: Some(Deployment),
                name: "web".into(),
                container: Some("app".into()),
            }]
        );
        for (key, kind) in [
            ("statefulset", StatefulSet),
            ("daemonset", DaemonSet),
            ("cronjob", CronJob),
            ("rollout", Rollout),
        ] {
            assert_eq!(kinds(&[(key, "x")]), [c(kind, "x")], "{key}");
        }
        assert!(from_labels(&labels(&[("namespace", "shop")])).is_empty());
        assert!(from_labels(&labels(&[("deployment", "  ")])).is_empty());
    }

    #[test]
    fn a_job_name_with_a_number_also_offers_its_cronjob() {
        assert_eq!(kinds(&[("job_name", "migrate")]), [c(Job, "migrate")]);
        assert_eq!(
            kinds(&[("job_name", "backup-28472310")]),
            [c(CronJob, "backup"), c(Job, "backup-28472310")]
        );
        assert_eq!(
            kinds(&[("job_name", "migrate-2")]),
            [c(Job, "migrate-2"), c(CronJob, "migrate")]
        );
    }

    #[test]
    fn labels_precedence() {
        // A workload label wins over the pod; several workload labels are all offered.
        assert_eq!(
            kinds(&[("deployment", "web"), ("pod", "db-0")]),
            [c(Deployment, "web")]
        );
        assert_eq!(
            kinds(&[("statefulset", "db"), ("deployment", "web")]),
            [c(Deployment, "web"), c(StatefulSet, "db")]
        );
        // The metric's own labels, kept as exported_* beside the exporter's, win.
        let got = from_labels(&labels(&[
            ("namespace", "monitoring"),
            ("exported_namespace", "shop"),
            ("pod", "kube-state-metrics-6c8d9f7b4d-x7k2p"),
            ("exported_pod", "db-1"),
            ("container", "kube-state-metrics"),
            ("exported_container", "postgres"),
        ]));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].namespace.as_deref(), Some("shop"));
        assert_eq!(got[0].container.as_deref(), Some("postgres"));
        assert_eq!(
            (got[0].kind, got[0].name.as_str()),
            (Some(StatefulSet), "db")
        );
    }

    #[test]
    fn pod_names_reduce_to_their_owner() {
        let pod = |name: &str| kinds(&[("pod", name)]);
        assert_eq!(
            pod("web-7d4b9c8f6-x7k2p")[..2],
            [c(Deployment, "web"), c(Rollout, "web")]
        );
        assert_eq!(pod("postgres-0"), [c(StatefulSet, "postgres")]);
        assert_eq!(pod("web-api-12"), [c(StatefulSet, "web-api")]);
        assert_eq!(
            pod("node-exporter-x7k2p"),
            [c(DaemonSet, "node-exporter"), c(Job, "node-exporter")]
        );
        assert_eq!(
            pod("backup-28472310-x7k2p"),
            [
                c(CronJob, "backup"),
                c(Job, "backup-28472310"),
                c(DaemonSet, "backup-28472310"),
            ]
        );
        // Fits no controller's naming: the name itself, of any kind.
        assert_eq!(pod("standalone"), [(None, "standalone".to_string())]);
        assert_eq!(
            pod("debug-shell-abcde"),
            [(None, "debug-shell-abcde".to_string())]
        );
    }

    #[test]
    fn ambiguous_pod_names_give_every_reading() {
        // A Deployment's pod, or a DaemonSet (or Job) named `web-7d4b9c8f6`.
        assert_eq!(
            kinds(&[("pod", "web-7d4b9c8f6-x7k2p")]),
            [
                c(Deployment, "web"),
                c(Rollout, "web"),
                c(DaemonSet, "web-7d4b9c8f6"),
                c(Job, "web-7d4b9c8f6"),
            ]
        );
        // An all-digit random suffix: a DaemonSet's pod, or (far less likely) an ordinal.
        assert_eq!(
            kinds(&[("pod", "agent-24567")]),
            [
                c(DaemonSet, "agent"),
                c(Job, "agent"),
                c(StatefulSet, "agent")
            ]
        );
        // A short number before the suffix: a Job `<name>-<n>`, a DaemonSet, or a CronJob.
        assert_eq!(
            kinds(&[("pod", "sync-42-x7k2p")]),
            [
                c(DaemonSet, "sync-42"),
                c(Job, "sync-42"),
                c(CronJob, "sync"),
            ]
        );
        // A hash of digits only fits a CronJob's Job first, then a Deployment.
        assert_eq!(
            kinds(&[("pod", "report-29245678-x7k2p")]),
            [
                c(CronJob, "report"),
                c(Job, "report-29245678"),
                c(DaemonSet, "report-29245678"),
                c(Deployment, "report"),
                c(Rollout, "report"),
            ]
        );
    }
}
