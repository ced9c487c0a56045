//! The repository a rollback is made in: a local repository used in place, or the bare mirror
//! of a URL in the cache, locked for the whole run.

use std::path::Path;

use anyhow::{Context, Result};
use git2::{Oid, Repository};
use tracing::{info, warn};

use super::request::{Effects, Target};
use crate::error::{Error, Input, Kind};
use crate::gitstore::commit_graph;
use crate::gitstore::remote::{self, MirrorLock, Network, Source};
use crate::gitstore::resolve_commit;

pub struct Workspace {
    repo: Repository,
    /// Where a push goes: the URL, or a local repository's `origin`.
    push_url: Option<String>,
    /// The branch a rollback goes on when none is named; found on sync for a mirror.
    default_base: String,
    /// Held for the whole run when working in a shared mirror.
    _lock: Option<MirrorLock>,
    /// A mirror in the cache: its branches are the remote's.
    mirror: bool,
    /// The URL the mirror is fetched from on sync (`None` for a local repository, or offline).
    fetch_from: Option<String>,
}

impl Workspace {
    /// Opens (or creates) the repository, without the network.
    pub fn open(cache_dir: &Path, target: &Target, effects: Effects) -> Result<Workspace> {
        match &target.source {
            Source::Path(path) => {
                let repo = crate::gitstore::open(path)?;
                let default_base = match repo.head() {
                    Ok(head) if head.is_branch() => head.shorthand().unwrap_or("HEAD").to_string(),
                    _ => "HEAD".to_string(),
                };
                let push_url = repo
                    .find_remote("origin")
                    .ok()
                    .and_then(|r| r.url().ok().map(str::to_string));
                if effects.push && push_url.is_none() {
                    return Err(Error::new(Kind::Usage)
                        .input(Input::Push)
                        .text(format!(
                            ": {} has no 'origin' remote to push to; add one, or give the remote's URL as ",
                            path.display()
                        ))
                        .input(Input::Repo)
                        .into());
                }
                Ok(Workspace {
                    repo,
                    push_url,
                    default_base,
                    _lock: None,
                    mirror: false,
                    fetch_from: None,
                })
            }
            Source::Url(url) => {
                let dir = remote::mirror_dir(cache_dir, url);
                if effects.offline {
                    let repo = Repository::open_bare(&dir).map_err(|_| {
                        Error::usage(format!(
                            "no mirror of {} in {}; run `revertbot revert` once, or give a local path",
                            remote::redact(url),
                            cache_dir.display()
                        ))
                    })?;
                    let default_base = repo
                        .head()
                        .ok()
                        .and_then(|h| h.shorthand().ok().map(str::to_string))
                        .unwrap_or_else(|| "HEAD".into());
                    return Ok(Workspace {
                        repo,
                        push_url: Some(url.clone()),
                        default_base,
                        _lock: None,
                        mirror: true,
                        fetch_from: None,
                    });
                }
                let lock = MirrorLock::acquire(&dir)?;
                let repo = match Repository::open_bare(&dir) {
                    Ok(repo) => repo,
                    Err(_) => Repository::init_bare(&dir)
                        .with_context(|| format!("cannot create the mirror {}", dir.display()))?,
                };
                Ok(Workspace {
                    repo,
                    push_url: Some(url.clone()),
                    default_base: "HEAD".into(),
                    _lock: Some(lock),
                    mirror: true,
                    fetch_from: Some(url.clone()),
                })
            }
        }
    }

    /// Brings a mirror up to date with its remote; nothing for a local repository or offline.
    pub fn sync(&mut self, target: &Target, net: &Network) -> Result<()> {
        let Some(url) = &self.fetch_from else {
            return Ok(());
        };
        self.default_base = match &target.base {
            Some(base) => base.clone(),
            None => remote::default_branch(&self.repo, url, net)?,
        };
        remote::fetch(&self.repo, url, &["+refs/heads/*:refs/heads/*"], true, net)?;
        // The mirror's HEAD names the remote's default branch, as `git clone --mirror` leaves
        // it: what an offline use of the mirror (previews, explain) takes as base.
        if target.base.is_none() {
            let head = format!("refs/heads/{}", self.default_base);
            if self.repo.find_reference(&head).is_ok() {
                let _ = self.repo.set_head(&head);
            }
        }
        let dir = self.repo.path().display().to_string();
        info!(mirror = %dir, "fetched {}", remote::redact(url));
        // Full history walks on the mirror read the commit-graph, not every commit. A graph
        // that cannot be written only makes them slower.
        if let Ok(tip) = self
            .repo
            .revparse_single(&self.default_base)
            .and_then(|o| o.peel_to_commit())
        {
            if let Err(e) = commit_graph::refresh(&self.repo, tip.id()) {
                warn!(mirror = %dir, "cannot write the commit-graph: {e:#}");
            }
        }
        Ok(())
    }

    pub fn repo(&self) -> &Repository {
        &self.repo
    }

    pub fn push_url(&self) -> Option<&str> {
        self.push_url.as_deref()
    }

    pub fn default_base(&self) -> &str {
        &self.default_base
    }

    /// The branch (or revision) a change goes on top of: the target's, else the default one;
    /// with its commit.
    pub fn base(&self, target: &Target) -> Result<(String, Oid)> {
        let name = target
            .base
            .clone()
            .unwrap_or_else(|| self.default_base.clone());
        let commit = resolve_commit(&self.repo, &name, Some(Input::Base))?;
        Ok((name, commit))
    }

    /// Whether this is a mirror in the cache (its branches are the remote's).
    pub fn is_mirror(&self) -> bool {
        self.mirror
    }
}
