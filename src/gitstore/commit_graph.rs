//! Git's commit-graph file (`objects/info/commit-graph`, written by `git gc`, `git commit-graph
//! write`, and most Git servers): every commit's tree and parents in flat tables, so a walk
//! along first parents reads no commit object at all.
//!
//! Only the single-file form with SHA-1 ids is read; a split graph (`commit-graphs/`), a
//! shallow repository, grafts, `core.commitGraph=false` or a file that does not check out
//! means no graph, and the walk reads commits instead. See Git's
//! `Documentation/gitformat-commit-graph.txt` for the format.
//!
//! revertbot writes one into its own mirror cache (`refresh`), never into a user's repository.

use std::ffi::{c_char, c_int, c_void, CString};
use std::path::Path;

use anyhow::{Context, Result};
use git2::{Binding, Oid, Repository};
use tracing::{debug, info};

use super::objects::CommitLinks;

const GRAPH_FILE: &str = "objects/info/commit-graph";
/// More first-parent commits than this newer than the graph, and `refresh` rewrites it.
const STALE_AFTER: usize = 1000;

const HASH_LEN: usize = 20;
/// A commit-data record: tree id, first and second parent positions, generation and time.
const CDAT_LEN: usize = HASH_LEN + 16;
/// The parent position of a commit that has no (first) parent.
const NO_PARENT: u32 = 0x7000_0000;

pub struct CommitGraph {
    data: Vec<u8>,
    count: usize,
    fanout: usize,
    oids: usize,
    cdat: usize,
}

impl CommitGraph {
    /// The repository's commit-graph, when it has one revertbot can use.
    pub fn open(repo: &Repository) -> Option<CommitGraph> {
        if !usable(repo) {
            return None;
        }
        Self::read(&repo.path().join(GRAPH_FILE))
    }

    fn read(path: &Path) -> Option<CommitGraph> {
        let data = std::fs::read(path).ok()?;
        let graph = Self::parse(data);
        if graph.is_none() {
            debug!(
                "not using {}: not a commit-graph this version understands",
                path.display()
            );
        }
        graph
    }

    /// Checks the header, the chunk table and every first-parent position, so that lookups
    /// afterwards cannot go out of bounds.
    pub fn parse(data: Vec<u8>) -> Option<CommitGraph> {
        let header = data.get(..8)?;
        // Signature, version 1, SHA-1, no base graphs.
        if &header[..4] != b"CGPH" || header[4] != 1 || header[5] != 1 || header[7] != 0 {
            return None;
        }
        let chunks = usize::from(header[6]);
        let table = data.get(8..8 + (chunks + 1) * 12)?;
        let mut offsets = Vec::with_capacity(chunks + 1);
        for entry in table.chunks_exact(12) {
            let offset = u64::from_be_bytes(entry[4..].try_into().ok()?);
            offsets.push((&entry[..4], usize::try_from(offset).ok()?));
        }
        let chunk = |id: &[u8]| {
            let at = offsets[..chunks].iter().position(|(cid, _)| *cid == id)?;
            let (start, end) = (offsets[at].1, offsets[at + 1].1);
            (start <= end && end <= data.len()).then_some((start, end - start))
        };
        let (fanout, fanout_len) = chunk(b"OIDF")?;
        let (oids, oids_len) = chunk(b"OIDL")?;
        let (cdat, cdat_len) = chunk(b"CDAT")?;
        if fanout_len != 256 * 4 || oids_len % HASH_LEN != 0 {
            return None;
        }
        let count = oids_len / HASH_LEN;
        if cdat_len != count * CDAT_LEN || u32::try_from(count).is_err() {
            return None;
        }
        let graph = CommitGraph {
            data,
            count,
            fanout,
            oids,
            cdat,
        };
        if graph.fanout_at(255) as usize != count {
            return None;
        }
        for pos in 0..count {
            let parent = graph.parent_field(pos);
            if parent != NO_PARENT && parent as usize >= count {
                return None;
            }
        }
        Some(graph)
    }

    fn fanout_at(&self, byte: usize) -> u32 {
        be_u32(&self.data[self.fanout + byte * 4..])
    }

    fn oid_bytes(&self, pos: usize) -> &[u8] {
        let at = self.oids + pos * HASH_LEN;
        &self.data[at..at + HASH_LEN]
    }

    fn parent_field(&self, pos: usize) -> u32 {
        be_u32(&self.data[self.cdat + pos * CDAT_LEN + HASH_LEN..])
    }

    /// Where the graph holds `id`, if it does.
    pub fn position(&self, id: Oid) -> Option<usize> {
        let bytes = id.as_bytes();
        let first = usize::from(*bytes.first()?);
        let start = if first == 0 {
            0
        } else {
            self.fanout_at(first - 1) as usize
        };
        let end = (self.fanout_at(first) as usize).min(self.count);
        let (mut low, mut high) = (start.min(end), end);
        while low < high {
            let mid = (low + high) / 2;
            match self.oid_bytes(mid).cmp(bytes) {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    pub fn id(&self, pos: usize) -> Oid {
        Oid::from_bytes(self.oid_bytes(pos)).expect("a 20-byte id")
    }

    pub fn tree(&self, pos: usize) -> Oid {
        let at = self.cdat + pos * CDAT_LEN;
        Oid::from_bytes(&self.data[at..at + HASH_LEN]).expect("a 20-byte id")
    }

    /// The first parent's position (checked in `parse` to be in the graph).
    pub fn first_parent(&self, pos: usize) -> Option<usize> {
        match self.parent_field(pos) {
            NO_PARENT => None,
            parent => Some(parent as usize),
        }
    }
}

/// Whether a commit-graph can describe this repository's history: it records the full
/// parents, which shallow boundaries and grafts rewrite.
fn usable(repo: &Repository) -> bool {
    let enabled = repo
        .config()
        .ok()
        .and_then(|c| c.get_bool("core.commitGraph").ok())
        .unwrap_or(true);
    enabled && !repo.is_shallow() && !repo.path().join("info/grafts").exists()
}

/// Keeps a repository's commit-graph current enough to serve history walks: writes one when
/// there is none, or when more than `STALE_AFTER` first-parent commits from `tip` are newer
/// than it. For revertbot's mirror cache, which libgit2's fetch never gives a graph: without
/// one a full walk reads every commit object. Returns whether it wrote.
pub fn refresh(repo: &Repository, tip: Oid) -> Result<bool> {
    if !usable(repo) {
        return Ok(false);
    }
    if let Some(graph) = CommitGraph::read(&repo.path().join(GRAPH_FILE)) {
        let odb = repo.odb()?;
        let mut next = Some(tip);
        for _ in 0..STALE_AFTER {
            let Some(commit) = next else {
                return Ok(false);
            };
            if graph.position(commit).is_some() {
                return Ok(false);
            }
            next = CommitLinks::read(&odb, commit)?.first_parent;
        }
    }
    let started = std::time::Instant::now();
    write(repo)?;
    info!(
        "wrote {} in {:.1} s",
        repo.path().join(GRAPH_FILE).display(),
        started.elapsed().as_secs_f64()
    );
    Ok(true)
}

/// Opaque `git_commit_graph_writer`.
#[repr(C)]
struct Writer {
    _private: [u8; 0],
}

// libgit2's commit-graph writer (`git2/sys/commit_graph.h`), compiled into the libgit2 that
// git2 links, which git2 does not bind.
extern "C" {
    fn git_commit_graph_writer_new(
        out: *mut *mut Writer,
        objects_info_dir: *const c_char,
        options: *const c_void,
    ) -> c_int;
    fn git_commit_graph_writer_add_revwalk(writer: *mut Writer, walk: *mut c_void) -> c_int;
    fn git_commit_graph_writer_commit(writer: *mut Writer) -> c_int;
    fn git_commit_graph_writer_free(writer: *mut Writer);
}

/// Writes a commit-graph of every commit reachable from the repository's refs (atomically:
/// libgit2 writes a lock file and renames it).
fn write(repo: &Repository) -> Result<()> {
    let mut walk = repo.revwalk()?;
    for reference in repo.references()? {
        if let Ok(commit) = reference?.peel_to_commit() {
            walk.push(commit.id())?;
        }
    }
    let info = repo.path().join("objects/info");
    std::fs::create_dir_all(&info)?;
    let dir = CString::new(info.to_str().context("the repository path is not UTF-8")?)?;
    // SAFETY: the writer is created, used and freed here, once; `walk` outlives every call, and
    // the options may be null (libgit2 takes its defaults).
    unsafe {
        let mut writer = std::ptr::null_mut();
        check(git_commit_graph_writer_new(
            &mut writer,
            dir.as_ptr(),
            std::ptr::null(),
        ))?;
        let written = check(git_commit_graph_writer_add_revwalk(
            writer,
            walk.raw().cast(),
        ))
        .and_then(|()| check(git_commit_graph_writer_commit(writer)));
        git_commit_graph_writer_free(writer);
        written?;
    }
    Ok(())
}

fn check(code: c_int) -> Result<(), git2::Error> {
    if code < 0 {
        Err(git2::Error::last_error(code))
    } else {
        Ok(())
    }
}

fn be_u32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes(bytes[..4].try_into().expect("four bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A graph of `commits`: (id byte, tree byte, first parent position).
    fn graph_bytes(commits: &[(u8, u8, Option<u32>)]) -> Vec<u8> {
        let mut fanout = vec![0u32; 256];
        for (id, _, _) in commits {
            for slot in &mut fanout[usize::from(*id)..] {
                *slot += 1;
            }
        }
        let fanout: Vec<u8> = fanout.iter().flat_map(|v| v.to_be_bytes()).collect();
        let oids: Vec<u8> = commits.iter().flat_map(|(id, _, _)| [*id; 20]).collect();
        let cdat: Vec<u8> = commits
            .iter()
            .flat_map(|(_, tree, parent)| {
                let mut rec = vec![*tree; 20];
                rec.extend(parent.unwrap_or(NO_PARENT).to_be_bytes());
                rec.extend(NO_PARENT.to_be_bytes());
                rec.extend([0; 8]);
                rec
            })
            .collect();
        let mut out = b"CGPH\x01\x01\x03\x00".to_vec();
        let mut offset = 8 + 4 * 12;
        for (id, len) in [
            (b"OIDF", fanout.len()),
            (b"OIDL", oids.len()),
            (b"CDAT", cdat.len()),
        ] {
            out.extend(id);
            out.extend((offset as u64).to_be_bytes());
            offset += len;
        }
        out.extend([0; 4]);
        out.extend((offset as u64).to_be_bytes());
        out.extend(fanout);
        out.extend(oids);
        out.extend(cdat);
        out
    }

    #[test]
    fn reads_ids_trees_and_first_parents() {
        let graph = CommitGraph::parse(graph_bytes(&[
            (0x10, 0xa0, None),
            (0x20, 0xb0, Some(0)),
            (0xf0, 0xc0, Some(1)),
        ]))
        .expect("a valid graph");
        let tip = graph
            .position(Oid::from_bytes(&[0xf0; 20]).unwrap())
            .unwrap();
        assert_eq!(tip, 2);
        assert_eq!(graph.tree(tip), Oid::from_bytes(&[0xc0; 20]).unwrap());
        let parent = graph.first_parent(tip).unwrap();
        assert_eq!(graph.id(parent), Oid::from_bytes(&[0x20; 20]).unwrap());
        assert_eq!(
            graph.first_parent(graph.first_parent(parent).unwrap()),
            None
        );
        assert_eq!(graph.position(Oid::from_bytes(&[0x11; 20]).unwrap()), None);
        assert_eq!(graph.position(Oid::from_bytes(&[0x00; 20]).unwrap()), None);
        assert_eq!(graph.position(Oid::from_bytes(&[0xff; 20]).unwrap()), None);
    }

    #[test]
    fn refuses_files_it_cannot_trust() {
        let good = graph_bytes(&[(0x10, 0xa0, None), (0x20, 0xb0, Some(0))]);
        assert!(CommitGraph::parse(good.clone()).is_some());
        // A parent outside the graph.
        assert!(CommitGraph::parse(graph_bytes(&[(0x10, 0xa0, Some(5))])).is_none());
        // SHA-256, a base graph, another signature, any truncation.
        for (at, byte) in [(5, 2u8), (7, 1), (0, b'X')] {
            let mut bad = good.clone();
            bad[at] = byte;
            assert!(CommitGraph::parse(bad).is_none(), "byte {at} = {byte}");
        }
        for cut in 0..good.len() {
            assert!(
                CommitGraph::parse(good[..cut].to_vec()).is_none(),
                "cut at {cut}"
            );
        }
    }
}
