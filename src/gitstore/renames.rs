//! Renames between two trees, as `git diff -M` finds them.

use std::collections::HashMap;

use anyhow::Result;
use git2::{Delta, Diff, DiffFindOptions, Repository, Tree};

/// The changes between two trees, renamed files paired with where they came from.
pub fn diff_with_renames<'r>(repo: &'r Repository, old: &Tree, new: &Tree) -> Result<Diff<'r>> {
    let mut diff = repo.diff_tree_to_tree(Some(old), Some(new), None)?;
    let mut find = DiffFindOptions::new();
    find.renames(true);
    diff.find_similar(Some(&mut find))?;
    Ok(diff)
}

/// New path → old path for every file renamed between `old` and `new`.
pub fn renames(repo: &Repository, old: &Tree, new: &Tree) -> Result<HashMap<String, String>> {
    let diff = diff_with_renames(repo, old, new)?;
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
