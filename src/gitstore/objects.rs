//! Raw object reads for the history walk.
//!
//! A walk over 100,000 commits reads each commit and a few trees once and asks one question of
//! each: which tree and parent a commit has, which id one name has in a tree. libgit2's object
//! layer parses every entry, allocates, and caches objects that are never read again; reading
//! the raw bytes from the object database and answering in place costs a fraction of that.

use anyhow::{anyhow, bail, Result};
use git2::{ObjectType, Odb, OdbObject, Oid};

/// The links a history walk follows out of a commit.
#[derive(Debug, Clone, Copy)]
pub struct CommitLinks {
    pub tree: Oid,
    pub first_parent: Option<Oid>,
}

impl CommitLinks {
    /// Reads a commit's `tree` and first `parent` header lines.
    pub fn read(odb: &Odb, id: Oid) -> Result<CommitLinks> {
        let object = odb.read(id)?;
        if object.kind() != ObjectType::Commit {
            bail!("object {id} is a {}, not a commit", object.kind());
        }
        parse_commit_links(object.data()).ok_or_else(|| anyhow!("commit {id} is malformed"))
    }
}

fn parse_commit_links(data: &[u8]) -> Option<CommitLinks> {
    let mut lines = data.split(|&b| b == b'\n');
    let tree = hex_oid(lines.next()?.strip_prefix(b"tree ")?)?;
    let first_parent = match lines.next().and_then(|l| l.strip_prefix(b"parent ")) {
        Some(hex) => Some(hex_oid(hex)?),
        None => None,
    };
    Some(CommitLinks { tree, first_parent })
}

fn hex_oid(hex: &[u8]) -> Option<Oid> {
    // `Oid::from_str` would take a prefix and pad it.
    if hex.len() != 40 {
        return None;
    }
    Oid::from_str(std::str::from_utf8(hex).ok()?).ok()
}

/// What a tree entry is, from its mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Tree,
    /// A regular file (mode 100644 or 100755).
    File,
    /// A symlink or a submodule: not a file of this repository's.
    Other,
}

/// A tree object's raw bytes, searched in place.
pub struct RawTree<'o> {
    id: Oid,
    object: OdbObject<'o>,
}

impl<'o> RawTree<'o> {
    pub fn read(odb: &'o Odb, id: Oid) -> Result<RawTree<'o>> {
        let object = odb.read(id)?;
        if object.kind() != ObjectType::Tree {
            bail!("object {id} is a {}, not a tree", object.kind());
        }
        Ok(RawTree { id, object })
    }

    pub fn id(&self) -> Oid {
        self.id
    }

    /// The entry called `name`: its kind and id.
    pub fn entry(&self, name: &str) -> Result<Option<(EntryKind, Oid)>> {
        find(self.entries(), name.as_bytes())
    }

    pub fn entries(&self) -> Entries<'_> {
        Entries {
            data: self.object.data(),
            at: 0,
            tree: self.id,
        }
    }
}

/// One entry of a raw tree.
pub struct Entry<'t> {
    pub name: &'t [u8],
    pub kind: EntryKind,
    id: &'t [u8],
}

impl Entry<'_> {
    pub fn id(&self) -> Oid {
        Oid::from_bytes(self.id).expect("20 bytes")
    }
}

/// The entries of a raw tree (`<octal mode> <name>\0<20-byte id>`, repeated), in order.
pub struct Entries<'t> {
    data: &'t [u8],
    at: usize,
    tree: Oid,
}

impl<'t> Iterator for Entries<'t> {
    type Item = Result<Entry<'t>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.data.len() {
            return None;
        }
        match parse_entry(&self.data[self.at..]) {
            Some((entry, len)) => {
                self.at += len;
                Some(Ok(entry))
            }
            None => {
                self.at = self.data.len();
                Some(Err(anyhow!("tree {} is malformed", self.tree)))
            }
        }
    }
}

fn find(entries: Entries<'_>, name: &[u8]) -> Result<Option<(EntryKind, Oid)>> {
    for entry in entries {
        let entry = entry?;
        if entry.name == name {
            return Ok(Some((entry.kind, entry.id())));
        }
    }
    Ok(None)
}

/// The entry at the start of `data`, and its length.
fn parse_entry(data: &[u8]) -> Option<(Entry<'_>, usize)> {
    // Plain loops, not memchr: modes and names are a few bytes long, too short for a vector
    // search to pay for its set-up, and this runs for every entry of every tree walked.
    let space = data.iter().position(|&b| b == b' ')?;
    let nul = space + 1 + data[space + 1..].iter().position(|&b| b == 0)?;
    let id = data.get(nul + 1..nul + 21)?;
    let kind = match &data[..space] {
        b"40000" | b"040000" => EntryKind::Tree,
        b"100644" | b"100755" | b"100664" => EntryKind::File,
        _ => EntryKind::Other,
    };
    let entry = Entry {
        name: &data[space + 1..nul],
        kind,
        id,
    };
    Some((entry, nul + 21))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find_entry(data: &[u8], name: &[u8]) -> Result<Option<(EntryKind, Oid)>, ()> {
        let entries = Entries {
            data,
            at: 0,
            tree: Oid::ZERO_SHA1,
        };
        find(entries, name).map_err(|_| ())
    }

    fn entry(mode: &str, name: &str, id: u8) -> Vec<u8> {
        let mut out = format!("{mode} {name}\0").into_bytes();
        out.extend([id; 20]);
        out
    }

    #[test]
    fn finds_entries_by_exact_name_and_kind() {
        let tree = [
            entry("100644", "a.yaml", 1),
            entry("40000", "apps", 2),
            entry("120000", "link.yaml", 3),
            entry("160000", "vendor", 4),
            entry("100755", "run.yml", 5),
        ]
        .concat();
        let found = |name| find_entry(&tree, name).unwrap();
        assert_eq!(
            found(b"a.yaml"),
            Some((EntryKind::File, Oid::from_bytes(&[1; 20]).unwrap()))
        );
        assert_eq!(found(b"apps").unwrap().0, EntryKind::Tree);
        assert_eq!(found(b"link.yaml").unwrap().0, EntryKind::Other);
        assert_eq!(found(b"vendor").unwrap().0, EntryKind::Other);
        assert_eq!(
            found(b"run.yml"),
            Some((EntryKind::File, Oid::from_bytes(&[5; 20]).unwrap()))
        );
        assert_eq!(found(b"app"), None);
        assert_eq!(found(b"a.yam"), None);
        assert_eq!(find_entry(&[], b"a.yaml"), Ok(None));
    }

    #[test]
    fn a_truncated_tree_is_an_error_not_a_panic() {
        let tree = entry("100644", "a.yaml", 1);
        for cut in 1..tree.len() {
            assert_eq!(find_entry(&tree[..cut], b"zzz"), Err(()), "cut at {cut}");
        }
    }

    #[test]
    fn reads_tree_and_first_parent_from_a_commit() {
        let tree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
        let p1 = "1111111111111111111111111111111111111111";
        let p2 = "2222222222222222222222222222222222222222";
        let merge =
            format!("tree {tree}\nparent {p1}\nparent {p2}\nauthor a <a@b> 1 +0000\n\nmsg\n");
        let links = parse_commit_links(merge.as_bytes()).unwrap();
        assert_eq!(links.tree.to_string(), tree);
        assert_eq!(links.first_parent.unwrap().to_string(), p1);
        let root = format!("tree {tree}\nauthor a <a@b> 1 +0000\n\nmsg\n");
        assert!(parse_commit_links(root.as_bytes())
            .unwrap()
            .first_parent
            .is_none());
        assert!(parse_commit_links(b"garbage").is_none());
        assert!(parse_commit_links(b"tree 12\n").is_none());
    }
}
