//! The culprit of any subject, found one way for every caller: a rollback, a preview and
//! `explain` ask this and nothing else.

use anyhow::Result;
use git2::{Oid, Repository};
use tracing::info;

use super::query::{Located, Query};
use super::walk::locate;
use super::workload::{locate_workload, CulpritFrom, WorkloadQuery};
use crate::error::{Error, Input, Kind};
use crate::gitstore::resolve_commit;
use crate::image::ImageRef;
use crate::manifest::PathFilter;
use crate::subject::Subject;

/// The culprit of a subject, and what was learnt finding it.
#[derive(Debug, Clone)]
pub struct Culprit {
    pub commit: Oid,
    /// The image rolled back: the one named, or the one the workload is rendered with.
    pub image: Option<ImageRef>,
    /// What the walk found; `None` for a commit given by hand.
    pub located: Option<Located>,
    /// With a workload: `NAMESPACE/KIND/NAME (CONTAINER)` as rendered.
    pub workload: Option<String>,
    /// With a workload: the image it was rendered with before the culprit.
    pub rendered_before: Option<String>,
    /// With a workload: how its culprit was found.
    pub culprit_from: Option<CulpritFrom>,
}

/// Finds the culprit of `subject` at `rev` (a commit id or a revision), looking under `paths`.
pub fn culprit(
    repo: &Repository,
    subject: &Subject,
    rev: &str,
    paths: &PathFilter,
) -> Result<Culprit> {
    match subject {
        Subject::Commit { commit, image } => Ok(Culprit {
            commit: resolve_commit(repo, commit, Some(Input::Commit))?,
            image: image.clone(),
            located: None,
            workload: None,
            rendered_before: None,
            culprit_from: None,
        }),
        Subject::Image(image) => {
            let located = locate(
                repo,
                &Query {
                    image: image.clone(),
                    rev: rev.to_string(),
                    paths: paths.clone(),
                },
            )?;
            Ok(Culprit {
                commit: Oid::from_str(&located.commit.sha)?,
                image: Some(image.clone()),
                located: Some(located),
                workload: None,
                rendered_before: None,
                culprit_from: None,
            })
        }
        Subject::Workload(candidates) => {
            let found = locate_workload(
                repo,
                &WorkloadQuery {
                    candidates: candidates.clone(),
                    rev: rev.to_string(),
                    paths: paths.clone(),
                },
            )?;
            let image = ImageRef::parse(&found.image)
                .map_err(|e| Error::new(Kind::NotFound).text(e.to_string()))?;
            if found.culprit_from == CulpritFrom::ImageHistory {
                info!(
                    workload = %found.workload,
                    "the workload's rendered history starts at {}: its culprit is where that image came into the repository",
                    found.image
                );
            }
            Ok(Culprit {
                commit: Oid::from_str(&found.located.commit.sha)?,
                image: Some(image),
                workload: Some(format!("{} ({})", found.workload, found.container)),
                rendered_before: found.image_before,
                culprit_from: Some(found.culprit_from),
                located: Some(found.located),
            })
        }
    }
}
