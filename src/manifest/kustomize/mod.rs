//! Workloads rendered the way kustomize renders them, pure: the caller hands over one
//! commit's files through [`Files`]; [`render`] returns each Deployment, StatefulSet,
//! DaemonSet, CronJob, Job and Argo Rollout with the name, namespace and container images it
//! would be applied with, and the files that took part in rendering it.
//!
//! Followed from kustomize's source (`sigs.k8s.io/kustomize/api`): resources and bases,
//! components, `namespace`, `namePrefix`/`nameSuffix`, labels and annotations (for patch
//! targets), `images`, strategic-merge and JSON 6902 patches, in kustomize's order. Left out:
//! generators, `replacements`, `vars`, `helmCharts`, `configurations` (custom image fields),
//! `replicas`, remote resources, and Flux post-build substitution.

mod files;
mod images;
mod json6902;
mod kustomization;
mod patches;
mod render;
mod resource;
mod selector;
mod strategic;
mod workload;

pub use files::{normalize as normalize_path, Files, KUSTOMIZATION_NAMES};
pub use render::{render, render_with_notes};
pub use workload::{Container, Note, Reference, Rendering, Workload, WorkloadKind};
