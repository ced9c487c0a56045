//! The question `locate` answers, and its answer.

use serde::Serialize;

use crate::gitstore::CommitInfo;
use crate::image::ImageRef;
use crate::manifest::{Change, PathFilter, Place};

/// What to look for.
#[derive(Debug, Clone)]
pub struct Query {
    /// The image as the user wrote it; with a tag or digest, only places holding that version
    /// are followed.
    pub image: ImageRef,
    pub rev: String,
    pub paths: PathFilter,
}

/// The answer of `locate`.
#[derive(Debug, Clone, Serialize)]
pub struct Located {
    /// The image as asked for.
    pub image: String,
    /// The revision asked for, resolved to a commit id.
    pub rev: String,
    pub commit: CommitInfo,
    /// Every place the culprit changed for the image.
    pub changes: Vec<Change>,
    /// Places at `rev`, in files the culprit did not change, that hold one of its new values.
    pub twins: Vec<Place>,
    pub commits_walked: usize,
}
