//! Find the culprit: the commit that put an image's current tag (or digest) in a GitOps repo.
//!
//! [`refs`] says which places of one YAML file reference which image (pure, on `&str`);
//! [`history`] follows the files that hold the image back along the first-parent history.

pub mod commit_graph;
pub mod history;
mod objects;
pub mod refs;
pub mod report;
pub mod yaml;

use std::collections::BTreeSet;

use globset::{GlobSet, GlobSetBuilder};
use serde::Serialize;

use crate::error::{Exit, HasExit, UsageError};
use crate::image::ImageRef;
pub use history::locate;
pub use refs::{Field, Reference};

/// What to look for.
#[derive(Debug, Clone)]
pub struct Query {
    /// The image as the user wrote it; with a tag or digest, only places holding that version
    /// are followed.
    pub image: ImageRef,
    pub rev: String,
    pub paths: PathFilter,
}

/// `--path` globs. A pattern without `/` matches a file name in any directory; otherwise it
/// matches the whole path, and `*` does not cross `/` (use `**` for that).
#[derive(Debug, Clone, Default)]
pub struct PathFilter {
    full: Option<GlobSet>,
    names: Option<GlobSet>,
}

impl PathFilter {
    pub fn new(patterns: &[String]) -> Result<PathFilter, UsageError> {
        if patterns.is_empty() {
            return Ok(PathFilter::default());
        }
        let mut full = GlobSetBuilder::new();
        let mut names = GlobSetBuilder::new();
        for p in patterns {
            let glob = globset::GlobBuilder::new(p.trim_start_matches('/'))
                .literal_separator(true)
                .build()
                .map_err(|e| {
                    UsageError(format!("--path {p:?} is not a valid glob: {}", e.kind()))
                })?;
            if p.contains('/') {
                full.add(glob);
            } else {
                names.add(glob);
            }
        }
        let build = |b: GlobSetBuilder| {
            b.build()
                .map_err(|e| UsageError(format!("--path globs cannot be compiled: {e}")))
        };
        Ok(PathFilter {
            full: Some(build(full)?),
            names: Some(build(names)?),
        })
    }

    pub fn matches(&self, path: &str) -> bool {
        let (Some(full), Some(names)) = (&self.full, &self.names) else {
            return true;
        };
        let name = path.rsplit('/').next().unwrap_or(path);
        full.is_match(path) || names.is_match(name)
    }
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

#[derive(Debug, Clone, Serialize)]
pub struct CommitInfo {
    pub sha: String,
    pub author: String,
    pub email: String,
    /// Author time, RFC 3339 with the author's offset.
    pub time: String,
    pub subject: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// File path in the culprit commit.
    pub file: String,
    pub document: usize,
    pub yaml_path: String,
    pub line: usize,
    pub field: Field,
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Place {
    pub file: String,
    pub document: usize,
    pub yaml_path: String,
    pub line: usize,
    pub field: Field,
    pub value: Option<String>,
}

impl Place {
    fn at(file: &str, r: &Reference) -> Place {
        Place {
            file: file.to_string(),
            document: r.document,
            yaml_path: r.yaml_path.clone(),
            line: r.line,
            field: r.field,
            value: r.value.clone(),
        }
    }
}

/// Why there is no culprit.
#[derive(Debug, thiserror::Error)]
pub enum LocateError {
    #[error("{image} is not referenced at {rev}: searched {files} YAML files; check the image name and --path")]
    NotReferenced {
        image: String,
        rev: String,
        files: usize,
    },
    #[error("{image} is referenced at {rev} but no commit changed its value: walked {commits} commits back to where each of its {files} file(s) first referenced it")]
    NeverBumped {
        image: String,
        rev: String,
        files: usize,
        commits: usize,
    },
    #[error("stale: no place holds {image} at {rev}; git holds {holds}; a different version is deployed now, so reverting would hit a version nobody complained about")]
    Stale {
        image: String,
        rev: String,
        holds: String,
    },
}

impl HasExit for LocateError {
    fn exit(&self) -> Exit {
        match self {
            LocateError::NotReferenced { .. } | LocateError::NeverBumped { .. } => Exit::NotFound,
            LocateError::Stale { .. } => Exit::Stale,
        }
    }
}

/// The set of versions a file holds for an image: what "its value changed" compares.
pub type Values = BTreeSet<(Field, Option<String>)>;

pub fn values_of(refs: &[Reference]) -> Values {
    refs.iter().map(|r| (r.field, r.value.clone())).collect()
}

/// Whether a reference holds the version the user named.
pub fn holds_version(r: &Reference, image: &ImageRef) -> bool {
    match r.field {
        Field::Tag => image.tag.is_some() && r.value == image.tag,
        Field::Digest => image.digest.is_some() && r.value == image.digest,
    }
}
