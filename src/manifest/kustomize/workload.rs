//! What rendering produces: workloads with their containers as they would be applied, and
//! notes on what could not be rendered.

use std::fmt;

/// The kinds of object that run containers and that an alert can name.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
    DaemonSet,
    CronJob,
    Job,
    /// An Argo Rollouts `Rollout` (`argoproj.io`).
    Rollout,
    /// A Flagger `Canary` (`flagger.app`): no pod template of its own; it points at the
    /// workload it rolls out (`spec.targetRef`).
    Canary,
}

impl WorkloadKind {
    /// The kind of an object from its `apiVersion` and `kind`. The group is checked so that a
    /// custom resource that happens to be called `Job` is not taken for a batch Job.
    pub fn from_type(api_version: &str, kind: &str) -> Option<WorkloadKind> {
        let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
        match (group, kind) {
            ("apps" | "extensions", "Deployment") => Some(WorkloadKind::Deployment),
            ("apps", "StatefulSet") => Some(WorkloadKind::StatefulSet),
            ("apps" | "extensions", "DaemonSet") => Some(WorkloadKind::DaemonSet),
            ("batch", "CronJob") => Some(WorkloadKind::CronJob),
            ("batch", "Job") => Some(WorkloadKind::Job),
            ("argoproj.io", "Rollout") => Some(WorkloadKind::Rollout),
            ("flagger.app", "Canary") => Some(WorkloadKind::Canary),
            _ => None,
        }
    }

    /// The `kind:` this is written as.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::StatefulSet => "StatefulSet",
            WorkloadKind::DaemonSet => "DaemonSet",
            WorkloadKind::CronJob => "CronJob",
            WorkloadKind::Job => "Job",
            WorkloadKind::Rollout => "Rollout",
            WorkloadKind::Canary => "Canary",
        }
    }

    /// Where the pod spec (with `containers` and `initContainers`) is in an object of this kind.
    pub fn pod_spec_path(self) -> &'static [&'static str] {
        match self {
            WorkloadKind::CronJob => &["spec", "jobTemplate", "spec", "template", "spec"],
            _ => &["spec", "template", "spec"],
        }
    }
}

impl fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A workload named by another (`workloadRef`, `targetRef`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    pub kind: WorkloadKind,
    pub name: String,
}

/// One container of a rendered workload.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Container {
    pub name: String,
    /// As rendered, after `images:` overrides and patches; `""` when nothing sets it.
    pub image: String,
    /// An init container (`initContainers`).
    pub init: bool,
}

/// A workload as kustomize (or a plain directory apply) would send it to the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Workload {
    pub kind: WorkloadKind,
    /// After the `namePrefix`/`nameSuffix` of every kustomization on the way.
    pub name: String,
    /// The resource's own `metadata.namespace`, overridden by each kustomization's
    /// `namespace:` from the innermost out (the outermost wins); `None` if nothing sets it
    /// (the namespace the tool applies to decides).
    pub namespace: Option<String>,
    /// Containers in order, then init containers in order. Empty for a Rollout with a
    /// `workloadRef` and a Canary (the pod template is in the referenced object; the caller
    /// follows [`Workload::reference`]).
    pub containers: Vec<Container>,
    /// The workload whose pod template this one runs: a Rollout's `spec.workloadRef`, a
    /// Canary's `spec.targetRef`; in the same namespace.
    pub reference: Option<Reference>,
    /// The file the resource is written in (repo path) ...
    pub file: String,
    /// ... and the 0-based index of its YAML document there.
    pub document: usize,
    /// Every file that took part in rendering it: the kustomization files on the way, the
    /// patch files that matched it, the resource file. Sorted.
    pub closure: Vec<String>,
    /// The directory rendered as one unit that produced it: a root, or a kustomization
    /// directory found under a plain root, or the plain directory holding the file.
    pub root: String,
}

/// Something left out of a rendering, and why (kustomize would often fail the whole build;
/// revertbot renders what it can and says what it skipped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The file (or directory) the note is about.
    pub path: String,
    pub message: String,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Everything rendered under some roots, and what was left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendering {
    pub workloads: Vec<Workload>,
    pub notes: Vec<Note>,
}
