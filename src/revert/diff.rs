//! The files a rollback changes, and its unified diff.

use anyhow::Result;
use git2::{DiffFormat, Repository};

/// Files changed and the unified diff between two trees.
pub fn between(
    repo: &Repository,
    old: &git2::Tree,
    new: &git2::Tree,
) -> Result<(Vec<String>, String)> {
    let diff = repo.diff_tree_to_tree(Some(old), Some(new), None)?;
    let files = diff
        .deltas()
        .filter_map(|d| {
            d.new_file()
                .path()
                .or(d.old_file().path())
                .map(|p| p.to_string_lossy().into_owned())
        })
        .collect();
    let mut patch = String::new();
    diff.print(DiffFormat::Patch, |_, _, line| {
        if matches!(line.origin(), '+' | '-' | ' ') {
            patch.push(line.origin());
        }
        patch.push_str(&String::from_utf8_lossy(line.content()));
        true
    })?;
    Ok((files, patch))
}
