//! Why a rollback is refused, as engine errors with a stable code.

use crate::error::{Error, Input, Kind};

/// The culprit is itself a revert.
pub const REVERT_OF_REVERT: &str = "revert_of_revert";
/// The rollback cannot be made safely (conflict, place changed since, first commit).
pub const CANNOT_REVERT: &str = "cannot_revert";
/// The commit named does not change the image named.
pub const IMAGE_NOT_CHANGED: &str = "image_not_changed";
/// The culprit was committed after the time given: it did not cause the alert.
pub const CULPRIT_TOO_LATE: &str = "culprit_too_late";
/// The rollback branch exists and holds something else.
pub const BRANCH_CONFLICT: &str = "branch_conflict";

pub fn revert_of_revert(sha: &str, subject: &str) -> Error {
    Error::new(Kind::CannotRevert)
        .text(format!(
            "commit {sha} is itself a revert ({subject:?}); reverting it would flap the image back; pass "
        ))
        .input(Input::AllowRevertOfRevert)
        .text(" if that is what you want")
        .with_code(REVERT_OF_REVERT)
}

pub fn cannot_revert(sha: &str, why: &str) -> Error {
    Error::new(Kind::CannotRevert)
        .text(format!("cannot revert {sha}: {why}; nothing was pushed"))
        .with_code(CANNOT_REVERT)
}

pub fn image_not_changed(sha: &str, image: &str) -> Error {
    Error::new(Kind::NotFound)
        .text(format!("commit {sha} does not change {image}; check "))
        .input(Input::Commit)
        .text(" and ")
        .input(Input::Image)
        .with_code(IMAGE_NOT_CHANGED)
}

/// `on` names the remote where the branch is (empty: the local repository).
pub fn branch_conflict(branch: &str, on: &str, culprit: &str) -> Error {
    Error::new(Kind::BranchConflict)
        .text(format!(
            "branch {branch} already exists{on} and does not revert {culprit}; delete or rename it, then run again"
        ))
        .with_code(BRANCH_CONFLICT)
}

pub fn unhold_branch_conflict(branch: &str, on: &str, image: &str, tag: &str) -> Error {
    Error::new(Kind::BranchConflict)
        .text(format!(
            "branch {branch} already exists{on} and does not lift the hold on {image}:{tag}; delete or rename it, then run again"
        ))
        .with_code(BRANCH_CONFLICT)
}

pub fn culprit_too_late(sha: &str, committed: &str, limit: &str) -> Error {
    Error::new(Kind::CannotRevert)
        .text(format!(
            "the culprit {sha} was committed at {committed}, after {limit} (when the alert started, plus the grace): a bump that landed after the alert began did not cause it"
        ))
        .with_code(CULPRIT_TOO_LATE)
}
