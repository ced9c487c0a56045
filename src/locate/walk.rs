//! The history walk: follow the files that hold an image at `rev` back along the first-parent
//! history until one of them changes the image's value.
//!
//! Speed comes from never diffing whole trees: each followed file is looked up in the parent by
//! its path, comparing tree-entry ids on the way down (an unchanged directory ends the lookup),
//! and only blobs whose ids changed are read and parsed, once each (cached by blob id).
//! Commits and trees are read raw (see `objects`), each once. Whole-tree diffs happen only to
//! find where a followed file was renamed from.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use anyhow::{Context, Result};
use git2::{Commit, Odb, Oid, Repository};

use super::failure;
use super::query::{Located, Query};
use crate::gitstore::objects::RawTree;
use crate::gitstore::renames::renames;
use crate::gitstore::tree::{entry_chain, lookup, yaml_files, Lookup};
use crate::gitstore::{resolve_commit, short, Blobs, CommitInfo, FirstParents};
use crate::manifest::{holds_version, moved_from, values_of, Field, Place, Reference, Values};

/// Finds the commit that introduced the image's current value at `query.rev`.
pub fn locate(repo: &Repository, query: &Query) -> Result<Located> {
    locate_watched(repo, query, &mut |_| {})
}

/// [`locate`], telling `walked_so_far` the number of commits walked after each one: a deep walk
/// can take seconds, and a person waiting should see it move.
pub fn locate_watched(
    repo: &Repository,
    query: &Query,
    walked_so_far: &mut dyn FnMut(usize),
) -> Result<Located> {
    let rev_commit = repo.find_commit(resolve_commit(repo, &query.rev, None)?)?;
    let rev_sha = rev_commit.id().to_string();
    let rev_label = if query.rev == rev_sha {
        short(rev_commit.id())
    } else {
        format!("{} ({})", query.rev, short(rev_commit.id()))
    };
    let image_name = query.image.normalized_name();
    let odb = repo.odb()?;
    let mut blobs = Blobs::new(repo)?;

    // Every YAML file at rev that references the image.
    let rev_tree = rev_commit.tree()?;
    let files = yaml_files(&odb, rev_tree.id(), &query.paths)?;
    let mut at_rev: Vec<(String, Oid, Rc<[Reference]>)> = Vec::new();
    for (path, blob) in &files {
        let refs = blobs.refs_for(*blob, &image_name, path, None)?;
        if !refs.is_empty() {
            at_rev.push((path.clone(), *blob, refs));
        }
    }
    if at_rev.is_empty() {
        return Err(
            failure::not_referenced(&query.image.to_string(), &rev_label, files.len()).into(),
        );
    }

    let versioned = query.image.tag.is_some() || query.image.digest.is_some();
    let rev_raw_tree = RawTree::read(&odb, rev_tree.id())?;
    let mut followed = Vec::new();
    for (path, blob, refs) in &at_rev {
        if versioned && !refs.iter().any(|r| holds_version(r, &query.image)) {
            continue;
        }
        followed.push(Followed {
            rev_path: path.clone(),
            path: path.clone(),
            image: image_name.clone(),
            chain: entry_chain(&odb, &rev_raw_tree, path)?
                .context("a file listed at rev vanished")?,
            blob: *blob,
            values: values_of(refs),
        });
    }
    if followed.is_empty() {
        let holds = describe_holdings(&at_rev);
        return Err(failure::stale(&query.image.to_string(), &rev_label, &holds).into());
    }
    let files_followed = followed.len();

    // Each commit and tree is read once: a commit's tree is the one read as its child's parent.
    let mut chain = FirstParents::new(repo, &odb, rev_commit.id());
    let mut commit = chain.next_commit()?.context("the walk starts at rev")?.id;
    let mut tree = rev_raw_tree;
    let mut walked = 0;
    while let Some(parent) = chain.next_commit()? {
        walked += 1;
        walked_so_far(walked);
        if parent.tree != tree.id() {
            let parent_tree = RawTree::read(&odb, parent.tree)?;
            let step = Step {
                repo,
                odb: &odb,
                commit,
                tree: &tree,
                parent_tree: &parent_tree,
                subtrees: Vec::new(),
                renames: None,
            };
            match step.compare(followed, &mut blobs)? {
                Compared::Culprit(changed) => {
                    let commit = repo.find_commit(commit)?;
                    return Ok(report(&commit, query, &rev_sha, changed, &at_rev, walked));
                }
                Compared::Continue(next) => followed = next,
            }
            if followed.is_empty() {
                break;
            }
            tree = parent_tree;
        }
        commit = parent.id;
    }
    Err(failure::never_bumped(&query.image.to_string(), &rev_label, files_followed, walked).into())
}

/// A file being followed back through history.
struct Followed {
    /// The file's path at rev: which file this is, whatever it was called before.
    rev_path: String,
    /// Its path at the commit being examined.
    path: String,
    /// The normalised image name followed (changes on a registry move).
    image: String,
    /// Ids of the tree entries along `path` at the commit being examined; the last is the blob.
    chain: Vec<Oid>,
    blob: Oid,
    values: Values,
}

/// A followed file whose value differs between the culprit and its parent.
struct Changed {
    followed: Followed,
    refs: Rc<[Reference]>,
    parent_refs: Rc<[Reference]>,
}

enum Compared {
    Culprit(Vec<Changed>),
    Continue(Vec<Followed>),
}

/// Comparing the followed files between one commit and its first parent.
struct Step<'a, 'r> {
    repo: &'r Repository,
    odb: &'a Odb<'r>,
    commit: Oid,
    tree: &'a RawTree<'a>,
    parent_tree: &'a RawTree<'a>,
    /// Directories of the parent's tree read in this step.
    subtrees: Vec<(Oid, Rc<RawTree<'a>>)>,
    /// new path → old path, computed on first need.
    renames: Option<HashMap<String, String>>,
}

impl<'a> Step<'a, '_> {
    fn compare(mut self, followed: Vec<Followed>, blobs: &mut Blobs) -> Result<Compared> {
        let mut next = Vec::with_capacity(followed.len());
        let mut changed = Vec::new();
        for f in followed {
            let (path, chain) = match self.lookup(&f.path, &f.chain)? {
                Lookup::Same(chain) => {
                    next.push(Followed { chain, ..f });
                    continue;
                }
                Lookup::Changed(chain) => (f.path.clone(), chain),
                Lookup::Missing => match self.renamed_from(&f.path)? {
                    Some(old) => match self.lookup(&old, &[])?.changed() {
                        Some(chain) => (old, chain),
                        None => continue,
                    },
                    // Created here: the reference starts here, so this file is done.
                    None => continue,
                },
            };
            let parent_blob = *chain.last().expect("chains are never empty");
            let commit_id = Some(self.commit);
            let parent_refs = blobs.refs_for(parent_blob, &f.image, &path, commit_id)?;
            if parent_refs.is_empty() {
                // Either the reference was added here (stop following) or the image moved
                // registry keeping its tag (follow the old name).
                let current = blobs.all_refs(f.blob, &f.path, commit_id)?;
                let parent_all = blobs.all_refs(parent_blob, &path, commit_id)?;
                if let Some(old_name) = moved_from(&f.image, &current, &parent_all, &f.values) {
                    next.push(Followed {
                        image: old_name,
                        path,
                        chain,
                        blob: parent_blob,
                        ..f
                    });
                }
                continue;
            }
            if values_of(&parent_refs) != f.values {
                let refs = blobs.refs_for(f.blob, &f.image, &f.path, commit_id)?;
                changed.push(Changed {
                    followed: f,
                    refs,
                    parent_refs,
                });
            } else {
                next.push(Followed {
                    path,
                    chain,
                    blob: parent_blob,
                    ..f
                });
            }
        }
        Ok(if changed.is_empty() {
            Compared::Continue(next)
        } else {
            Compared::Culprit(changed)
        })
    }

    /// Looks `path` up in the parent's tree, stopping where an entry's id equals the one known
    /// at the commit (`known`, the ids along the path there).
    fn lookup(&mut self, path: &str, known: &[Oid]) -> Result<Lookup> {
        let parent_tree = self.parent_tree;
        lookup(parent_tree, path, known, |id| self.subtree(id))
    }

    /// A directory of the parent's tree, read once per step however many followed files it
    /// holds.
    fn subtree(&mut self, id: Oid) -> Result<Rc<RawTree<'a>>> {
        if let Some((_, tree)) = self.subtrees.iter().find(|(known, _)| *known == id) {
            return Ok(tree.clone());
        }
        let tree = Rc::new(RawTree::read(self.odb, id)?);
        self.subtrees.push((id, tree.clone()));
        Ok(tree)
    }

    /// Where git's rename detection says `path` came from in the parent.
    fn renamed_from(&mut self, path: &str) -> Result<Option<String>> {
        if self.renames.is_none() {
            let old = self.repo.find_tree(self.parent_tree.id())?;
            let new = self.repo.find_tree(self.tree.id())?;
            self.renames = Some(renames(self.repo, &old, &new)?);
        }
        Ok(self.renames.as_ref().and_then(|r| r.get(path).cloned()))
    }
}

fn describe_holdings(at_rev: &[(String, Oid, Rc<[Reference]>)]) -> String {
    let mut parts: Vec<String> = Vec::new();
    for (path, _, refs) in at_rev {
        for r in refs.iter() {
            let value = r.value.as_deref().unwrap_or("(none)");
            let part = format!("{} {value} in {path}:{}", r.field.as_str(), r.line);
            if !parts.contains(&part) {
                parts.push(part);
            }
        }
    }
    let total = parts.len();
    if total > 5 {
        parts.truncate(5);
        parts.push(format!("and {} more", total - 5));
    }
    parts.join(", ")
}

fn report(
    commit: &Commit,
    query: &Query,
    rev_sha: &str,
    changed: Vec<Changed>,
    at_rev: &[(String, Oid, Rc<[Reference]>)],
    walked: usize,
) -> Located {
    let mut changes = Vec::new();
    // The files (as named at rev) the culprit changed: twins are in other files. (Matching
    // places by YAML path would not do: a later re-ordering moves the changed place itself.)
    let mut changed_at_rev = HashSet::new();
    for c in &changed {
        changed_at_rev.insert(c.followed.rev_path.as_str());
        changes.extend(
            crate::manifest::changed_pairs(&c.refs, &c.parent_refs)
                .iter()
                .filter_map(|pair| pair.change(&c.followed.path)),
        );
    }
    let new_values: HashSet<(Field, &str)> = changes
        .iter()
        .filter_map(|c| Some((c.at.field, c.to.as_deref()?)))
        .collect();
    let mut twins = Vec::new();
    for (path, _, refs) in at_rev {
        for r in refs.iter() {
            let Some(value) = r.value.as_deref() else {
                continue;
            };
            if new_values.contains(&(r.field, value)) && !changed_at_rev.contains(path.as_str()) {
                twins.push(Place::of(path, r));
            }
        }
    }
    Located {
        image: query.image.to_string(),
        rev: rev_sha.to_string(),
        commit: CommitInfo::of(commit),
        changes,
        twins,
        commits_walked: walked,
    }
}
