//! What a rollback is asked: the settings a deployment gives every rollback, the target of one,
//! and what it may change.

use std::path::PathBuf;
use std::sync::Arc;

use super::hold::HoldPolicy;
use crate::gitstore::remote::{Network, Source};
use crate::gitstore::signing::Signer;
use crate::manifest::PathFilter;
use crate::subject::Subject;

/// What a deployment sets once for every rollback.
#[derive(Debug, Clone)]
pub struct GitSettings {
    /// Where URL repositories are mirrored.
    pub cache_dir: PathBuf,
    /// Author and committer of rollback commits.
    pub author: Author,
    pub network: Network,
    /// How rollback and unhold commits are signed and signed off.
    pub commits: CommitSigning,
}

/// What a deployment's commits carry besides the author: a signature and a sign-off.
#[derive(Debug, Clone, Default)]
pub struct CommitSigning {
    /// The key every commit is signed with (`git.signing`), loaded once; `None`: unsigned.
    pub signer: Option<Arc<Signer>>,
    /// Add `Signed-off-by:` the author to every commit message (`git.signoff`).
    pub signoff: bool,
}

impl CommitSigning {
    pub fn signer(&self) -> Option<&Signer> {
        self.signer.as_deref()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub name: String,
    pub email: String,
}

/// What one rollback reverts, and where.
#[derive(Debug, Clone)]
pub struct Target {
    pub source: Source,
    /// Base branch or revision; default: the remote's default branch (or a local repo's HEAD).
    pub base: Option<String>,
    /// What is rolled back; `None` only where the repository is opened without a rollback
    /// (a service's start-up, an unhold).
    pub subject: Option<Subject>,
    pub paths: PathFilter,
    pub whole_commit: bool,
    pub allow_revert_of_revert: bool,
    /// Refuse a culprit committed after this time (seconds since the epoch): a bump that
    /// landed after an alert began did not cause it.
    pub committed_by: Option<i64>,
    /// Whether the rollback commit also holds the bad version.
    pub hold: HoldPolicy,
}

impl Target {
    pub fn new(source: Source) -> Target {
        Target {
            source,
            base: None,
            subject: None,
            paths: PathFilter::default(),
            whole_commit: false,
            allow_revert_of_revert: false,
            committed_by: None,
            hold: HoldPolicy::Auto,
        }
    }
}

/// What a rollback may change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Effects {
    /// Push the branch to the remote.
    pub push: bool,
    /// Compute the rollback and its diff; write no ref, push nothing.
    pub dry_run: bool,
    /// Use the mirror as it is, without the network (previews).
    pub offline: bool,
}
