//! Find the culprit: the commit that put an image's current tag (or digest) in a GitOps repo.
//!
//! [`walk`] follows the files that hold the image at `rev` back along the first-parent
//! history; what a file references comes from [`crate::manifest`], the objects from
//! [`crate::gitstore`].

mod culprit;
mod failure;
mod query;
mod walk;
mod workload;

pub use culprit::{culprit, Culprit};
pub use failure::{NEVER_BUMPED, NOT_REFERENCED, STALE};
pub use query::{Located, Query};
pub use walk::{locate, locate_watched};
pub use workload::{
    locate_workload, CulpritFrom, WorkloadLocated, WorkloadQuery, WORKLOAD_AMBIGUOUS,
    WORKLOAD_NOT_FOUND,
};
