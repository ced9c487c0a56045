//! Writes small git histories from file snapshots, with fixed authors and clock: the demo
//! repository and the test suites are built with it.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use git2::{FileMode, Oid, Repository, Signature, Time};

/// Builds commits on `refs/heads/main` of a repository from an in-memory file state.
pub struct RepoWriter {
    pub repo: Repository,
    files: BTreeMap<String, (Vec<u8>, FileMode)>,
    head: Option<Oid>,
    clock: i64,
    author: (String, String),
}

impl RepoWriter {
    /// A new repository (with a work tree, left empty) at `dir`.
    pub fn init(dir: &Path) -> Result<RepoWriter> {
        let repo = Repository::init(dir)
            .with_context(|| format!("cannot create a repository at {}", dir.display()))?;
        repo.set_head("refs/heads/main")?;
        Ok(RepoWriter {
            repo,
            files: BTreeMap::new(),
            head: None,
            clock: 1_790_000_000,
            author: ("A Person".into(), "person@example.com".into()),
        })
    }

    /// Author (and committer) of the next commits.
    pub fn author(&mut self, name: &str, email: &str) -> &mut Self {
        self.author = (name.into(), email.into());
        self
    }

    pub fn write(&mut self, path: &str, content: &str) -> &mut Self {
        self.write_bytes(path, content.as_bytes())
    }

    pub fn write_bytes(&mut self, path: &str, content: &[u8]) -> &mut Self {
        self.files
            .insert(path.into(), (content.to_vec(), FileMode::Blob));
        self
    }

    pub fn symlink(&mut self, path: &str, target: &str) -> &mut Self {
        self.files
            .insert(path.into(), (target.as_bytes().to_vec(), FileMode::Link));
        self
    }

    pub fn remove(&mut self, path: &str) -> &mut Self {
        self.files.remove(path);
        self
    }

    pub fn rename(&mut self, from: &str, to: &str) -> &mut Self {
        if let Some(f) = self.files.remove(from) {
            self.files.insert(to.into(), f);
        }
        self
    }

    pub fn read(&self, path: &str) -> Option<&str> {
        self.files
            .get(path)
            .and_then(|(c, _)| std::str::from_utf8(c).ok())
    }

    /// Replaces the first occurrence of `from` in a file.
    pub fn edit(&mut self, path: &str, from: &str, to: &str) -> &mut Self {
        let text = self.read(path).unwrap_or_default().replacen(from, to, 1);
        self.write(path, &text)
    }

    pub fn head(&self) -> Option<Oid> {
        self.head
    }

    /// Commits the current file state on top of the head.
    pub fn commit(&mut self, message: &str) -> Result<Oid> {
        let parents: Vec<Oid> = self.head.into_iter().collect();
        self.commit_with_parents(message, &parents)
    }

    /// Commits the current file state as a merge of the head and `other` (first parent: head).
    pub fn merge(&mut self, other: Oid, message: &str) -> Result<Oid> {
        let parents: Vec<Oid> = self.head.into_iter().chain([other]).collect();
        self.commit_with_parents(message, &parents)
    }

    /// Moves the head to `commit` and loads its files (to build a side branch from there).
    pub fn checkout(&mut self, commit: Oid) -> Result<&mut Self> {
        let mut files = BTreeMap::new();
        let mut failed = None;
        let repo = &self.repo;
        let tree = repo.find_commit(commit)?.tree()?;
        tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            if entry.kind() == Some(git2::ObjectType::Blob) {
                match repo.find_blob(entry.id()) {
                    Ok(blob) => {
                        let mode = if entry.filemode() == 0o120000 {
                            FileMode::Link
                        } else {
                            FileMode::Blob
                        };
                        files.insert(
                            format!("{dir}{}", entry.name().unwrap_or_default()),
                            (blob.content().to_vec(), mode),
                        );
                    }
                    Err(e) => failed = Some(e),
                }
            }
            git2::TreeWalkResult::Ok
        })?;
        if let Some(e) = failed {
            return Err(e.into());
        }
        drop(tree);
        self.files = files;
        self.head = Some(commit);
        Ok(self)
    }

    fn commit_with_parents(&mut self, message: &str, parents: &[Oid]) -> Result<Oid> {
        self.clock += 60;
        let tree = self.write_tree("")?;
        let tree = self.repo.find_tree(tree)?;
        let sig = Signature::new(&self.author.0, &self.author.1, &Time::new(self.clock, 0))?;
        let parents = parents
            .iter()
            .map(|p| self.repo.find_commit(*p))
            .collect::<Result<Vec<_>, _>>()?;
        let parent_refs: Vec<&git2::Commit> = parents.iter().collect();
        let id = self
            .repo
            .commit(None, &sig, &sig, message, &tree, &parent_refs)?;
        self.repo
            .reference("refs/heads/main", id, true, "fixture commit")?;
        self.head = Some(id);
        Ok(id)
    }

    /// Writes the tree of every file under `prefix` (a directory path ending in `/`, or "").
    fn write_tree(&self, prefix: &str) -> Result<Oid> {
        let mut builder = self.repo.treebuilder(None)?;
        let mut subdirs = Vec::new();
        for (path, (content, mode)) in self.files.range(prefix.to_string()..) {
            let Some(rest) = path.strip_prefix(prefix) else {
                break;
            };
            match rest.split_once('/') {
                Some((dir, _)) => {
                    if subdirs.last() != Some(&dir) {
                        subdirs.push(dir);
                    }
                }
                None => {
                    let blob = self.repo.blob(content)?;
                    builder.insert(rest, blob, (*mode).into())?;
                }
            }
        }
        for dir in subdirs {
            let id = self.write_tree(&format!("{prefix}{dir}/"))?;
            builder.insert(dir, id, FileMode::Tree.into())?;
        }
        Ok(builder.write()?)
    }
}
