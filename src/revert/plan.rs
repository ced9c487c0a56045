//! Computing the rollback in memory (no work tree): the three-way revert of the culprit onto
//! base, restricted to the target image's places when asked (partial), with the semantic edit
//! as the fallback when later commits touched the same lines without changing the value.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::{Context, Result};
use git2::build::TreeUpdateBuilder;
use git2::{Commit, Delta, FileMode, Oid, Repository, Tree};
use serde::Serialize;

use super::failure;
use super::message::{self, ImageRollback};
use crate::gitstore::renames::{diff_with_renames, renames};
use crate::gitstore::tree::yaml_files;
use crate::gitstore::{Blobs, CommitInfo};
use crate::image::ImageRef;
use crate::locate::{self, Query};
use crate::manifest::edit::{self, VersionEdit};
use crate::manifest::{
    changed_places, is_yaml_name, values_of, Change, Field, Location, Moved, PathFilter, Place,
    PlacePair, Reference,
};

/// What to revert, and onto what.
pub struct RevertSpec<'a> {
    pub culprit: Oid,
    /// The commit the rollback goes on top of (the tip of the base branch).
    pub base: Oid,
    /// The image whose places are rolled back; `None` with `whole_commit` only.
    pub image: Option<&'a ImageRef>,
    pub whole_commit: bool,
    pub allow_revert_of_revert: bool,
    /// Only these files' places are rolled back (partial revert).
    pub paths: &'a PathFilter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// The three-way revert of the whole culprit, like `git revert`.
    Revert,
    /// The three-way revert of only the target image's places.
    Partial,
    /// The target image's scalars set back in base's files, byte for byte.
    Semantic,
}

impl Strategy {
    /// The name used in JSON and text.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Revert => "revert",
            Strategy::Partial => "partial",
            Strategy::Semantic => "semantic",
        }
    }
}

/// Another image the culprit bumped, which a partial rollback leaves as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftBumped {
    pub image: String,
    /// Where the culprit changed it (in the culprit's version of the file).
    #[serde(flatten)]
    pub change: Change,
}

/// A rollback ready to be committed.
#[derive(Debug, Clone)]
pub struct Rollback {
    pub culprit: CommitInfo,
    pub strategy: Strategy,
    pub tree: Oid,
    pub message: String,
    pub restored: Vec<Change>,
    /// Places in base, not rolled back, that hold a bad version too (another file got the
    /// same bump from another commit).
    pub twins: Vec<Place>,
    pub left_bumped: Vec<LeftBumped>,
}

pub enum Prepared {
    Ready(Rollback),
    /// Base already holds the old version everywhere: nothing to commit.
    NothingToDo {
        culprit: CommitInfo,
        /// The commit that put the old version back, when it can be told.
        by: Option<CommitInfo>,
    },
}

/// One place the culprit changed, with the file's path in the culprit and in its parent.
#[derive(Debug, Clone)]
struct TargetChange {
    path: String,
    parent_path: Option<String>,
    image: String,
    pair: PlacePair,
}

/// What a target place holds in base now.
enum AtBase {
    /// Still the culprit's new version: to be set back (the place as it is in base).
    Bad(String, Reference),
    /// Already the old version.
    Restored,
    /// Something else (a newer bump, the file deleted...): the reason.
    Other(String),
}

pub fn prepare(repo: &Repository, spec: &RevertSpec) -> Result<Prepared> {
    let culprit = repo
        .find_commit(spec.culprit)
        .with_context(|| format!("commit {} is not in the repository", spec.culprit))?;
    let sha = culprit.id().to_string();
    let info = CommitInfo::of(&culprit);
    if !spec.allow_revert_of_revert && message::is_a_revert(culprit.message_raw().unwrap_or("")) {
        return Err(failure::revert_of_revert(&sha, &info.subject).into());
    }
    let Ok(parent) = culprit.parent(0) else {
        return Err(failure::cannot_revert(
            &sha,
            "it is the first commit of the history; there is no earlier version to go back to",
        )
        .into());
    };
    let base = repo.find_commit(spec.base)?;
    let (culprit_tree, parent_tree, base_tree) = (culprit.tree()?, parent.tree()?, base.tree()?);

    let image_name = spec.image.map(ImageRef::normalized_name);
    let mut blobs = Blobs::new(repo)?;
    let all_changes = target_changes(repo, &mut blobs, &parent_tree, &culprit_tree, spec.paths)?;
    let (changes, others): (Vec<TargetChange>, Vec<TargetChange>) = all_changes
        .into_iter()
        .partition(|c| image_name.as_deref().is_none_or(|i| i == c.image));
    if let (Some(image), true) = (spec.image, changes.is_empty()) {
        return Err(failure::image_not_changed(&sha, &image.name).into());
    }
    let at_base = places_at_base(repo, &mut blobs, &culprit_tree, &base_tree, &changes)?;
    let restored: Vec<Change> = changes
        .iter()
        .zip(&at_base)
        .filter_map(|(c, b)| match b {
            AtBase::Bad(file, place) => Some(Change {
                at: Location::of(file, place),
                from: place.value.clone(),
                to: c.pair.old.as_ref().and_then(|o| o.value.clone()),
                // A place the culprit moved to another name goes back to the old name.
                moved: c.pair.renamed.as_ref().map(|before| Moved {
                    from: place.full(),
                    to: before.full(),
                }),
            }),
            _ => None,
        })
        .collect();

    if spec.image.is_some() && at_base.iter().all(|b| matches!(b, AtBase::Restored)) {
        let by = who_restored(repo, spec, &changes, &at_base);
        return Ok(Prepared::NothingToDo { culprit: info, by });
    }

    let whole = spec.whole_commit || spec.image.is_none();
    let (index, strategy) = if whole {
        let mainline = if culprit.parent_count() > 1 { 1 } else { 0 };
        (
            repo.revert_commit(&culprit, &base, mainline, None)?,
            Strategy::Revert,
        )
    } else {
        let target_tree = only_target_changes(repo, &parent_tree, &culprit_tree, &changes)?;
        let strategy = if target_tree == culprit_tree.id() {
            Strategy::Revert
        } else {
            Strategy::Partial
        };
        let target_tree = repo.find_tree(target_tree)?;
        (
            repo.merge_trees(&target_tree, &base_tree, &parent_tree, None)?,
            strategy,
        )
    };
    let (tree, strategy) = if index.has_conflicts() {
        (
            semantic(repo, &base_tree, &changes, &at_base, &sha)?,
            Strategy::Semantic,
        )
    } else {
        let mut index = index;
        (index.write_tree_to(repo)?, strategy)
    };
    if tree == base_tree.id() {
        return Ok(Prepared::NothingToDo {
            culprit: info,
            by: None,
        });
    }
    let rollback = spec.image.map(|image| ImageRollback {
        image: &image.name,
        versions: restored
            .iter()
            .map(|r| (version(&r.from), version(&r.to)))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
    });
    let message = message::commit_message(&info.subject, &sha, rollback.as_ref());
    let twins = match &image_name {
        Some(image) => twins(&mut blobs, &base_tree, image, &restored)?,
        None => Vec::new(),
    };
    let left_bumped = if whole {
        Vec::new()
    } else {
        others
            .iter()
            .filter_map(|c| {
                Some(LeftBumped {
                    image: c.image.clone(),
                    change: c.pair.change(&c.path)?,
                })
            })
            .collect()
    };
    Ok(Prepared::Ready(Rollback {
        culprit: info,
        strategy,
        tree,
        message,
        restored,
        twins,
        left_bumped,
    }))
}

fn version(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "no version".into())
}

/// Places in base holding a bad version of the image that the rollback does not touch.
fn twins(
    blobs: &mut Blobs,
    base_tree: &Tree,
    image: &str,
    restored: &[Change],
) -> Result<Vec<Place>> {
    let bad: BTreeSet<(Field, &str)> = restored
        .iter()
        .filter_map(|r| Some((r.at.field, r.from.as_deref()?)))
        .collect();
    let mut out = Vec::new();
    for (path, blob) in yaml_files(blobs.odb(), base_tree.id(), &PathFilter::default())? {
        for r in blobs.refs_for(blob, image, &path, None)?.iter() {
            let is_bad = r
                .value
                .as_deref()
                .is_some_and(|v| bad.contains(&(r.field, v)));
            let rolled_back = restored.iter().any(|x| {
                x.at.file == path && x.at.yaml_path == r.yaml_path && x.at.field == r.field
            });
            if is_bad && !rolled_back {
                out.push(Place::of(&path, r));
            }
        }
    }
    Ok(out)
}

/// The image places the culprit changed, in every YAML file it touched (renames followed).
fn target_changes(
    repo: &Repository,
    blobs: &mut Blobs,
    parent_tree: &Tree,
    culprit_tree: &Tree,
    paths: &PathFilter,
) -> Result<Vec<TargetChange>> {
    let diff = diff_with_renames(repo, parent_tree, culprit_tree)?;
    let mut out = Vec::new();
    for delta in diff.deltas() {
        let path = |f: git2::DiffFile| f.path().and_then(|p| p.to_str()).map(str::to_string);
        let (new_path, old_path) = (path(delta.new_file()), path(delta.old_file()));
        if delta.status() == Delta::Deleted {
            continue;
        }
        let Some(new_path) = new_path else { continue };
        let name = new_path.rsplit('/').next().unwrap_or(&new_path);
        if !is_yaml_name(name)
            || !(paths.matches(&new_path) || old_path.as_deref().is_some_and(|p| paths.matches(p)))
        {
            continue;
        }
        let new_refs = blobs.all_refs(delta.new_file().id(), &new_path, None)?;
        let old_refs = if delta.status() == Delta::Added {
            Vec::new().into()
        } else {
            blobs.all_refs(
                delta.old_file().id(),
                old_path.as_deref().unwrap_or(&new_path),
                None,
            )?
        };
        let names: BTreeSet<&str> = new_refs
            .iter()
            .chain(old_refs.iter())
            .map(|r| r.image.as_str())
            .collect();
        for name in names {
            let of = |refs: &[Reference]| {
                refs.iter()
                    .filter(|r| r.image == name)
                    .cloned()
                    .collect::<Vec<_>>()
            };
            if values_of(&of(&new_refs)) == values_of(&of(&old_refs)) {
                continue;
            }
            for pair in changed_places(name, &new_refs, &old_refs) {
                out.push(TargetChange {
                    path: new_path.clone(),
                    parent_path: (delta.status() != Delta::Added)
                        .then(|| old_path.clone().unwrap_or(new_path.clone())),
                    image: name.to_string(),
                    pair,
                });
            }
        }
    }
    Ok(out)
}

/// Where each changed place is in base now, and what it holds.
fn places_at_base(
    repo: &Repository,
    blobs: &mut Blobs,
    culprit_tree: &Tree,
    base_tree: &Tree,
    changes: &[TargetChange],
) -> Result<Vec<AtBase>> {
    let mut moved: Option<HashMap<String, String>> = None;
    let mut claimed: BTreeSet<(String, usize, Field)> = BTreeSet::new();
    let mut out = Vec::new();
    for c in changes {
        let Some(new) = &c.pair.new else {
            out.push(AtBase::Other(format!(
                "{}: the culprit removed the place at {}; restore it by hand",
                c.path,
                c.pair.old.as_ref().map_or("", |o| o.yaml_path.as_str())
            )));
            continue;
        };
        let mut base_path = c.path.clone();
        if base_tree
            .get_path(std::path::Path::new(&base_path))
            .is_err()
        {
            if moved.is_none() {
                // old path → new path between the culprit and base.
                moved = Some(
                    renames(repo, culprit_tree, base_tree)?
                        .into_iter()
                        .map(|(n, o)| (o, n))
                        .collect(),
                );
            }
            match moved.as_ref().and_then(|m| m.get(&c.path)) {
                Some(p) => base_path = p.clone(),
                None => {
                    out.push(AtBase::Other(format!("{} no longer exists", c.path)));
                    continue;
                }
            }
        }
        let entry = base_tree.get_path(std::path::Path::new(&base_path))?;
        let refs = blobs.refs_for(entry.id(), &c.image, &base_path, None)?;
        let unclaimed = |r: &&Reference| !claimed.contains(&(base_path.clone(), r.offset, r.field));
        let place = refs
            .iter()
            .filter(unclaimed)
            .find(|r| {
                r.document == new.document && r.yaml_path == new.yaml_path && r.field == new.field
            })
            .or_else(|| {
                refs.iter()
                    .filter(unclaimed)
                    .find(|r| r.field == new.field && r.value == new.value)
            });
        let Some(place) = place else {
            out.push(AtBase::Other(format!(
                "{base_path} no longer has {} at {}",
                new.field.as_str(),
                new.yaml_path
            )));
            continue;
        };
        claimed.insert((base_path.clone(), place.offset, place.field));
        let old_value = c.pair.old.as_ref().and_then(|o| o.value.clone());
        out.push(if place.value == new.value {
            AtBase::Bad(base_path, place.clone())
        } else if place.value == old_value {
            AtBase::Restored
        } else {
            AtBase::Other(format!(
                "{base_path}:{} {} now holds {} (changed after the culprit)",
                place.line,
                place.yaml_path,
                place.value.as_deref().unwrap_or("no version")
            ))
        });
    }
    Ok(out)
}

/// The parent's tree with only the target places changed as the culprit changed them: the
/// "commit" whose revert is the partial revert. A file whose places cannot be edited exactly
/// is taken whole from the culprit.
fn only_target_changes(
    repo: &Repository,
    parent_tree: &Tree,
    culprit_tree: &Tree,
    changes: &[TargetChange],
) -> Result<Oid> {
    let mut by_file: BTreeMap<(&str, Option<&str>), Vec<&TargetChange>> = BTreeMap::new();
    for c in changes {
        by_file
            .entry((c.path.as_str(), c.parent_path.as_deref()))
            .or_default()
            .push(c);
    }
    let mut update = TreeUpdateBuilder::new();
    for ((path, parent_path), changes) in by_file {
        let culprit_blob = culprit_tree.get_path(std::path::Path::new(path))?.id();
        let edited = parent_path.and_then(|parent_path| {
            let edits: Option<Vec<VersionEdit>> = changes
                .iter()
                .map(|c| {
                    Some(VersionEdit {
                        place: c.pair.old.clone()?,
                        value: Some(c.pair.new.as_ref()?.value.clone()?),
                    })
                })
                .collect();
            let blob = parent_tree
                .get_path(std::path::Path::new(parent_path))
                .ok()?
                .id();
            let text = blob_text(repo, blob).ok()?;
            let new_text = edit::apply(&text, &edits?).ok()?;
            Some((parent_path, new_text))
        });
        match edited {
            Some((parent_path, text)) => {
                update.upsert(parent_path, repo.blob(text.as_bytes())?, FileMode::Blob);
            }
            None => {
                // Renamed: the old path goes. (A remove and an upsert of one path in one
                // update is refused by libgit2.)
                if let Some(parent_path) = parent_path.filter(|p| *p != path) {
                    update.remove(parent_path);
                }
                update.upsert(path, culprit_blob, FileMode::Blob);
            }
        }
    }
    Ok(update.create_updated(repo, parent_tree)?)
}

/// Sets each place that still holds the culprit's new version back to its old version, in
/// base's own files; refuses when any place now holds something else.
fn semantic(
    repo: &Repository,
    base_tree: &Tree,
    changes: &[TargetChange],
    at_base: &[AtBase],
    sha: &str,
) -> Result<Oid> {
    let others: Vec<&str> = at_base
        .iter()
        .filter_map(|b| match b {
            AtBase::Other(why) => Some(why.as_str()),
            _ => None,
        })
        .collect();
    if !others.is_empty() {
        return Err(failure::cannot_revert(sha, &others.join("; ")).into());
    }
    let mut by_file: BTreeMap<&str, Vec<VersionEdit>> = BTreeMap::new();
    for (c, b) in changes.iter().zip(at_base) {
        if let AtBase::Bad(path, place) = b {
            by_file.entry(path).or_default().push(VersionEdit {
                place: place.clone(),
                value: c.pair.old.as_ref().and_then(|o| o.value.clone()),
            });
        }
    }
    let mut update = TreeUpdateBuilder::new();
    for (path, edits) in by_file {
        let entry = base_tree.get_path(std::path::Path::new(path))?;
        let text = blob_text(repo, entry.id())?;
        let new_text = edit::apply(&text, &edits)
            .map_err(|e| failure::cannot_revert(sha, &format!("{path}: {e}")))?;
        update.upsert(path, repo.blob(new_text.as_bytes())?, FileMode::Blob);
    }
    Ok(update.create_updated(repo, base_tree)?)
}

fn blob_text(repo: &Repository, blob: Oid) -> Result<String> {
    let blob = repo.find_blob(blob)?;
    Ok(String::from_utf8(blob.content().to_vec())?)
}

/// The commit that put the old version back: `locate` of the image in the restored files.
fn who_restored(
    repo: &Repository,
    spec: &RevertSpec,
    changes: &[TargetChange],
    at_base: &[AtBase],
) -> Option<CommitInfo> {
    let image = spec.image?;
    let files: Vec<String> = changes
        .iter()
        .zip(at_base)
        .filter(|(_, b)| matches!(b, AtBase::Restored))
        .map(|(c, _)| globset::escape(&c.path))
        .collect();
    let query = Query {
        image: ImageRef::parse(&image.name).ok()?,
        rev: spec.base.to_string(),
        paths: PathFilter::new(&files).ok()?,
    };
    let located = locate::locate(repo, &query).ok()?;
    let commit: Commit = repo
        .find_commit(Oid::from_str(&located.commit.sha).ok()?)
        .ok()?;
    // Only a commit after the culprit can have undone it.
    (commit.id() != spec.culprit).then(|| CommitInfo::of(&commit))
}
