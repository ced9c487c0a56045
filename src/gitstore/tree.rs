//! Paths in raw trees: listing a tree's YAML files, and following one path from a tree down
//! to its blob, stopping early where an entry is the same as one already known.

use std::rc::Rc;

use anyhow::Result;
use git2::{Odb, Oid};

use super::objects::{EntryKind, RawTree};
use crate::manifest::{is_yaml_name, PathFilter};

pub enum Lookup {
    /// The entry is the same as the one known (some directory on the way, or the blob); the
    /// entry ids along the path in the parent.
    Same(Vec<Oid>),
    /// A blob with another id; the entry ids along the path.
    Changed(Vec<Oid>),
    /// No file there (or not a regular file).
    Missing,
}

impl Lookup {
    pub fn changed(self) -> Option<Vec<Oid>> {
        match self {
            Lookup::Changed(chain) => Some(chain),
            Lookup::Same(_) | Lookup::Missing => None,
        }
    }
}

/// Looks `path` up in `tree`, stopping where an entry's id equals the one `known` at that
/// depth; `subtree` reads a directory.
pub fn lookup<'t>(
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
pub fn entry_chain<'t>(odb: &'t Odb, tree: &RawTree<'t>, path: &str) -> Result<Option<Vec<Oid>>> {
    Ok(lookup(tree, path, &[], |id| Ok(Rc::new(RawTree::read(odb, id)?)))?.changed())
}

/// Every YAML file in a tree (recursively), with its blob id. Submodules and symlinks are not
/// files of this repository and are skipped.
pub fn yaml_files(odb: &Odb, tree: Oid, filter: &PathFilter) -> Result<Vec<(String, Oid)>> {
    fn walk(
        odb: &Odb,
        tree: &RawTree,
        dir: &mut String,
        filter: &PathFilter,
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
