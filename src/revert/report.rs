//! What a rollback did.

use serde::Serialize;

use super::hold::HoldReport;
use super::plan::{LeftBumped, Strategy};
use crate::gitstore::CommitInfo;
use crate::manifest::{Change, Place};

/// What happened, for people (text) and programs (JSON).
#[derive(Debug, Clone, Serialize)]
pub struct RevertReport {
    /// `created`, `reused` (the branch already reverts this commit), `nothing-to-do` (base
    /// already holds the old version) or `dry-run`.
    pub outcome: Outcome,
    /// The culprit's commit id.
    pub reverted: String,
    pub culprit: CommitInfo,
    /// The culprit is itself a revert (a rollback of revertbot's, or a person's).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub culprit_is_revert: bool,
    pub image: Option<String>,
    /// When the image was found from a workload: `NAMESPACE/KIND/NAME (CONTAINER)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
    /// With a workload: the image it was deployed with before the culprit, as rendered (what the
    /// rollback deploys again).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rendered_before: Option<String>,
    /// With a workload: how its culprit was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub culprit_from: Option<crate::locate::CulpritFrom>,
    pub base: String,
    pub base_sha: String,
    pub strategy: Option<Strategy>,
    pub branch: Option<String>,
    /// The rollback commit.
    pub commit: Option<String>,
    /// The fingerprint of the key the rollback commit is signed with (`git.signing`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<String>,
    pub files: Vec<String>,
    /// The places set back, where they are in base: from the bad version to the old one.
    pub restored: Vec<Change>,
    /// Places in base that hold a bad version too but are not rolled back (other files that
    /// got the same version from other commits).
    pub twins: Vec<Place>,
    /// Other images the culprit bumped, left as they are by a partial rollback.
    pub left_bumped: Vec<LeftBumped>,
    pub diff: String,
    pub pushed: bool,
    /// Where it was pushed (credentials removed).
    pub remote: Option<String>,
    /// With `nothing-to-do`: the commit that already put the old version back, if known.
    pub already_reverted_by: Option<CommitInfo>,
    /// What the rollback commit holds, so that image automation does not bump back.
    pub hold: HoldReport,
    /// What the registries said of each image the rollback deploys again (checked before the
    /// branch is made); empty when not checked.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub registry: Vec<crate::registry::ImageCheck>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Created,
    Reused,
    NothingToDo,
    DryRun,
}
