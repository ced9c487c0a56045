//! Holds: the edits that keep image automation from bumping back to a bad tag, and that lift
//! them again. Flux's `ImageRepository.spec.exclusionList` (regexes), Argo CD Image Updater's
//! ignore lists (globs), Renovate's `packageRules[].allowedVersions` (a negated regex).
//!
//! Each edit inserts or removes bytes and keeps every other byte of the file (comments, setter
//! markers, order, indentation, JSON formatting); the result is parsed again to check it says
//! what was meant. Holding what is held already, or lifting what is not held, changes nothing.
//! Pure: text in, text out.

pub mod argo;
pub mod flux;
mod glob;
pub mod pattern;
pub mod renovate;

use crate::manifest::splice::NotYaml;

/// Why a file cannot take a hold (or give one up).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HoldError(pub String);

impl From<NotYaml> for HoldError {
    fn from(e: NotYaml) -> Self {
        HoldError(e.to_string())
    }
}

/// What an edit did to a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edited {
    /// The new text.
    Changed(String),
    /// Nothing to do: the hold is there already (or, lifting it, was not there).
    Unchanged,
}
