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
use git2::{Commit, Delta, DiffFindOptions, Odb, Oid, Repository, Tree};
use tracing::warn;

use super::objects::{EntryKind, FirstParents, RawTree};
use super::refs::{references, Reference};
use super::{
    holds_version, values_of, Change, CommitInfo, LocateError, Located, Place, Query, Values,
};
use crate::error::UsageError;
use crate::image::last_segment;

/// Blobs larger than this are not parsed: no real manifest is this big.
pub const MAX_YAML_BYTES: usize = 8 << 20;

/// Finds the commit that introduced the image's current value at `query.rev`.
pub fn locate(repo: &Repository, query: &Query) -> Result<Located> {
    let rev_commit = resolve_rev(repo, &query.rev)?;
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
        return Err(LocateError::NotReferenced {
            image: query.image.to_string(),
            rev: rev_label,
            files: files.len(),
        }
        .into());
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
        return Err(LocateError::Stale {
            image: query.image.to_string(),
            rev: rev_label,
            holds: describe_holdings(&at_rev),
        }
        .into());
    }
    let files_followed = followed.len();

    // Each commit and tree is read once: a commit's tree is the one read as its child's parent.
    let mut chain = FirstParents::new(repo, &odb, rev_commit.id());
    let mut commit = chain.next_commit()?.context("the walk starts at rev")?.id;
    let mut tree = rev_raw_tree;
    let mut walked = 0;
    while let Some(parent) = chain.next_commit()? {
        walked += 1;
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
    Err(LocateError::NeverBumped {
        image: query.image.to_string(),
        rev: rev_label,
        files: files_followed,
        commits: walked,
    }
    .into())
}

fn resolve_rev<'r>(repo: &'r Repository, rev: &str) -> Result<Commit<'r>> {
    let object = repo.revparse_single(rev).map_err(|_| {
        UsageError(format!(
            "revision {rev:?} is not in the repository; give a branch, tag or commit id that exists there"
        ))
    })?;
    object.peel_to_commit().map_err(|_| {
        UsageError(format!(
            "revision {rev:?} does not name a commit; give a branch, tag or commit id"
        ))
        .into()
    })
}

pub(crate) fn short(id: Oid) -> String {
    id.to_string()[..12].to_string()
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

/// Renames between two trees, new path → old path, as `git diff -M` finds them.
pub(crate) fn renames(
    repo: &Repository,
    old: &Tree,
    new: &Tree,
) -> Result<HashMap<String, String>> {
    let mut diff = repo.diff_tree_to_tree(Some(old), Some(new), None)?;
    let mut find = DiffFindOptions::new();
    find.renames(true);
    diff.find_similar(Some(&mut find))?;
    let mut out = HashMap::new();
    for delta in diff.deltas() {
        if delta.status() != Delta::Renamed {
            continue;
        }
        let (Some(old), Some(new)) = (delta.old_file().path(), delta.new_file().path()) else {
            continue;
        };
        if let (Some(old), Some(new)) = (old.to_str(), new.to_str()) {
            out.insert(new.to_string(), old.to_string());
        }
    }
    Ok(out)
}

/// On a registry move the reference to the new name is added in the same commit that removes
/// the old one, with the same versions (or, in a kustomize entry or an Argo CD `alias=` string,
/// the new name is added beside the old one, on the same scalar). Returns the old name when
/// exactly one such name exists, or, among several, exactly one with the followed image's last
/// path segment.
pub(crate) fn moved_from(
    image: &str,
    current: &[Reference],
    parent: &[Reference],
    values: &Values,
) -> Option<String> {
    let current_names: HashSet<&str> = current.iter().map(|r| r.image.as_str()).collect();
    let image_offsets: HashSet<usize> = current
        .iter()
        .filter(|r| r.image == image)
        .map(|r| r.offset)
        .collect();
    // Another name of the same places now (`name` beside a new `newName`).
    let alias_now = |name: &str| {
        current
            .iter()
            .any(|r| r.image == name && image_offsets.contains(&r.offset))
    };
    let mut candidates: Vec<&str> = parent
        .iter()
        .map(|r| r.image.as_str())
        .filter(|name| *name != image && (!current_names.contains(name) || alias_now(name)))
        .collect::<HashSet<_>>()
        .into_iter()
        .filter(|name| {
            let refs: Vec<Reference> = parent
                .iter()
                .filter(|r| r.image == *name)
                .cloned()
                .collect();
            &values_of(&refs) == values
        })
        .collect();
    candidates.sort_unstable();
    match candidates.as_slice() {
        [one] => Some(one.to_string()),
        [] => None,
        several => {
            let wanted = last_segment(image);
            let same: Vec<&&str> = several
                .iter()
                .filter(|n| last_segment(n) == wanted)
                .collect();
            match same.as_slice() {
                [one] => Some(one.to_string()),
                _ => None,
            }
        }
    }
}

enum Lookup {
    /// The entry is the same as the one known (some directory on the way, or the blob); the
    /// entry ids along the path in the parent.
    Same(Vec<Oid>),
    /// A blob with another id; the entry ids along the path.
    Changed(Vec<Oid>),
    /// No file there (or not a regular file).
    Missing,
}

impl Lookup {
    fn changed(self) -> Option<Vec<Oid>> {
        match self {
            Lookup::Changed(chain) => Some(chain),
            Lookup::Same(_) | Lookup::Missing => None,
        }
    }
}

/// Looks `path` up in `tree`, stopping where an entry's id equals the one `known` at that
/// depth; `subtree` reads a directory.
fn lookup<'t>(
    tree: &RawTree<'t>,
    path: &str,
    known: &[Oid],
    mut subtree: impl FnMut(Oid) -> Result<Rc<RawTree<'t>>>,
) -> Result<Lookup> {
    let mut chain = Vec::with_capacity(known.len());
    let mut current = None;
    let mut parts = path.split('/').peekable();
    while let Some(part) = parts.next() {
        let dir = current.as_deref().unwrap_or(tree);
        let Some((kind, id)) = dir.entry(part)? else {
            return Ok(Lookup::Missing);
        };
        chain.push(id);
        if known.get(chain.len() - 1) == Some(&id) {
            // The rest of the path is the same: only the ids above here moved.
            chain.extend_from_slice(&known[chain.len()..]);
            return Ok(Lookup::Same(chain));
        }
        if parts.peek().is_none() {
            return Ok(if kind == EntryKind::File {
                Lookup::Changed(chain)
            } else {
                Lookup::Missing
            });
        }
        if kind != EntryKind::Tree {
            return Ok(Lookup::Missing);
        }
        current = Some(subtree(id)?);
    }
    Ok(Lookup::Missing)
}

/// The entry ids along `path` in `tree`, when it names a regular file.
fn entry_chain<'t>(odb: &'t Odb, tree: &RawTree<'t>, path: &str) -> Result<Option<Vec<Oid>>> {
    Ok(lookup(tree, path, &[], |id| Ok(Rc::new(RawTree::read(odb, id)?)))?.changed())
}

pub(crate) fn is_yaml_name(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml") || name == "Kustomization"
}

/// Every YAML file in a tree (recursively), with its blob id. Submodules and symlinks are not
/// files of this repository and are skipped.
pub(crate) fn yaml_files(
    odb: &Odb,
    tree: Oid,
    filter: &super::PathFilter,
) -> Result<Vec<(String, Oid)>> {
    fn walk(
        odb: &Odb,
        tree: &RawTree,
        dir: &mut String,
        filter: &super::PathFilter,
        out: &mut Vec<(String, Oid)>,
    ) -> Result<()> {
        for entry in tree.entries() {
            let entry = entry?;
            let Ok(name) = std::str::from_utf8(entry.name) else {
                continue;
            };
            match entry.kind {
                EntryKind::File if is_yaml_name(name) => {
                    let path = format!("{dir}{name}");
                    if filter.matches(&path) {
                        out.push((path, entry.id()));
                    }
                }
                EntryKind::Tree => {
                    let len = dir.len();
                    dir.push_str(name);
                    dir.push('/');
                    walk(odb, &RawTree::read(odb, entry.id())?, dir, filter, out)?;
                    dir.truncate(len);
                }
                EntryKind::File | EntryKind::Other => {}
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(
        odb,
        &RawTree::read(odb, tree)?,
        &mut String::new(),
        filter,
        &mut out,
    )?;
    Ok(out)
}

/// Parsed references per blob id. A blob that is not UTF-8, not YAML, or too large holds no
/// references; it is reported once.
pub(crate) struct Blobs<'r> {
    odb: Odb<'r>,
    parsed: HashMap<Oid, Rc<[Reference]>>,
}

impl<'r> Blobs<'r> {
    pub(crate) fn new(repo: &'r Repository) -> Result<Self> {
        Ok(Blobs {
            odb: repo.odb()?,
            parsed: HashMap::new(),
        })
    }

    pub(crate) fn odb(&self) -> &Odb<'r> {
        &self.odb
    }

    /// The references to `image` in a blob. A blob that does not even contain the image's
    /// last name segment cannot reference it, and is not parsed.
    pub(crate) fn refs_for(
        &mut self,
        blob: Oid,
        image: &str,
        path: &str,
        commit: Option<Oid>,
    ) -> Result<Rc<[Reference]>> {
        let all = match self.parsed.get(&blob) {
            Some(all) => all.clone(),
            None => {
                let object = self.odb.read(blob)?;
                let needle = last_segment(image).as_bytes();
                if memchr::memmem::find(object.data(), needle).is_none() {
                    return Ok(Rc::from(Vec::new()));
                }
                let refs = parse_refs(object.data(), path, commit);
                self.parsed.insert(blob, refs.clone());
                refs
            }
        };
        if all.iter().all(|r| r.image == image) {
            return Ok(all);
        }
        Ok(all.iter().filter(|r| r.image == image).cloned().collect())
    }

    /// Every reference in a blob.
    pub(crate) fn all_refs(
        &mut self,
        blob: Oid,
        path: &str,
        commit: Option<Oid>,
    ) -> Result<Rc<[Reference]>> {
        if let Some(all) = self.parsed.get(&blob) {
            return Ok(all.clone());
        }
        let object = self.odb.read(blob)?;
        let refs = parse_refs(object.data(), path, commit);
        self.parsed.insert(blob, refs.clone());
        Ok(refs)
    }
}

fn parse_refs(content: &[u8], path: &str, commit: Option<Oid>) -> Rc<[Reference]> {
    let at = match commit {
        Some(c) => format!("{path} at {}", short(c)),
        None => path.to_string(),
    };
    let refs = if content.len() > MAX_YAML_BYTES {
        warn!(
            "skipping {at}: {} bytes is larger than the {MAX_YAML_BYTES}-byte limit for a manifest",
            content.len()
        );
        Vec::new()
    } else {
        match std::str::from_utf8(content) {
            Err(_) => {
                warn!("skipping {at}: not UTF-8 text");
                Vec::new()
            }
            Ok(text) => references(text).unwrap_or_else(|e| {
                warn!("skipping {at}: not valid YAML ({})", e.0);
                Vec::new()
            }),
        }
    };
    Rc::from(refs)
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
        changes.extend(changed_places(&c.followed.path, &c.refs, &c.parent_refs));
    }
    let new_values: HashSet<(super::Field, &str)> = changes
        .iter()
        .filter_map(|c| Some((c.field, c.to.as_deref()?)))
        .collect();
    let mut twins = Vec::new();
    for (path, _, refs) in at_rev {
        for r in refs.iter() {
            let Some(value) = r.value.as_deref() else {
                continue;
            };
            if new_values.contains(&(r.field, value)) && !changed_at_rev.contains(path.as_str()) {
                twins.push(Place::at(path, r));
            }
        }
    }
    Located {
        image: query.image.to_string(),
        rev: rev_sha.to_string(),
        commit: commit_info(commit),
        changes,
        twins,
        commits_walked: walked,
    }
}

/// A place whose value a commit changed: its version in the commit (`None` where the commit
/// removed it) and in the parent (`None` where the commit added it).
#[derive(Debug, Clone)]
pub struct PlacePair {
    pub new: Option<Reference>,
    pub old: Option<Reference>,
}

/// Pairs the places of a file in a commit with those in its parent (by YAML path, then in
/// order) and keeps those whose value differs.
pub fn changed_pairs(refs: &[Reference], parent: &[Reference]) -> Vec<PlacePair> {
    let mut parent_left: Vec<Option<&Reference>> = parent.iter().map(Some).collect();
    let mut pairs: Vec<(&Reference, Option<&Reference>)> = Vec::new();
    let mut unpaired = Vec::new();
    for r in refs {
        let same_place = parent_left.iter_mut().find(|p| {
            p.is_some_and(|p| {
                p.document == r.document && p.yaml_path == r.yaml_path && p.field == r.field
            })
        });
        match same_place {
            Some(slot) => pairs.push((r, slot.take())),
            None => unpaired.push(r),
        }
    }
    for r in unpaired {
        let slot = parent_left
            .iter_mut()
            .find(|p| p.is_some_and(|p| p.field == r.field));
        pairs.push((r, slot.and_then(Option::take)));
    }
    pairs.sort_by_key(|(r, _)| (r.document, r.offset, r.field));
    let mut out: Vec<PlacePair> = pairs
        .into_iter()
        .filter(|(r, p)| p.is_none_or(|p| p.value != r.value))
        .map(|(r, p)| PlacePair {
            new: Some(r.clone()),
            old: p.cloned(),
        })
        .collect();
    // Places that the commit removed.
    out.extend(parent_left.into_iter().flatten().map(|p| PlacePair {
        new: None,
        old: Some(p.clone()),
    }));
    out
}

fn changed_places(file: &str, refs: &[Reference], parent: &[Reference]) -> Vec<Change> {
    changed_pairs(refs, parent)
        .into_iter()
        .filter_map(|pair| {
            let at = pair.new.as_ref().or(pair.old.as_ref())?;
            Some(Change {
                file: file.to_string(),
                document: at.document,
                yaml_path: at.yaml_path.clone(),
                line: at.line,
                field: at.field,
                from: pair.old.as_ref().and_then(|p| p.value.clone()),
                to: pair.new.as_ref().and_then(|r| r.value.clone()),
            })
        })
        .collect()
}

pub(crate) fn commit_info(commit: &Commit) -> CommitInfo {
    let author = commit.author();
    CommitInfo {
        sha: commit.id().to_string(),
        author: String::from_utf8_lossy(author.name_bytes()).into_owned(),
        email: String::from_utf8_lossy(author.email_bytes()).into_owned(),
        time: rfc3339(author.when()),
        subject: commit
            .summary_bytes()
            .map(String::from_utf8_lossy)
            .unwrap_or_default()
            .into_owned(),
    }
}

/// Formats a git time as RFC 3339 in its own offset, e.g. `2026-11-20T10:11:12+01:00`.
pub fn rfc3339(t: git2::Time) -> String {
    let offset = i64::from(t.offset_minutes());
    let local = t.seconds() + offset * 60;
    let (days, secs) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let sign = if offset < 0 { '-' } else { '+' };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        offset.abs() / 60,
        offset.abs() % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_git_times_in_their_own_offset() {
        assert_eq!(rfc3339(git2::Time::new(0, 0)), "1970-01-01T00:00:00+00:00");
        assert_eq!(
            rfc3339(git2::Time::new(1_795_000_000, 60)),
            "2026-11-18T12:06:40+01:00"
        );
        assert_eq!(
            rfc3339(git2::Time::new(951_782_400, -300)),
            "2000-02-28T19:00:00-05:00"
        );
    }
}
