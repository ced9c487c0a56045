//! Revert through git: turn a culprit into a rollback commit on a deterministic branch,
//! without a work tree, and push it. Never force-pushes; reuses a branch that already reverts
//! the same commit; refuses (exit 6) a branch that holds something else.

pub mod edit;
pub mod message;
pub mod plan;
pub mod remote;
pub mod report;

use std::path::PathBuf;

use anyhow::{Context, Result};
use git2::{DiffFormat, Oid, Repository, Signature};
use serde::Serialize;
use tracing::{info, warn};

use crate::error::{Exit, HasExit, UsageError};
use crate::forge::github::PullOutcome;
use crate::image::ImageRef;
use crate::locate::{self, commit_graph, CommitInfo, PathFilter, Place, Query};
use plan::{LeftBumped, Prepared, Restored, RevertSpec, Strategy};
use remote::{MirrorLock, Network, PushError, Source};

/// Everything `revertbot revert` needs, resolved from flags and environment.
pub struct RevertRequest {
    pub source: Source,
    pub cache_dir: PathBuf,
    /// Base branch or revision; default: the remote's default branch (or a local repo's HEAD).
    pub base: Option<String>,
    pub commit: Option<String>,
    pub image: Option<ImageRef>,
    pub paths: PathFilter,
    pub whole_commit: bool,
    pub allow_revert_of_revert: bool,
    pub push: bool,
    pub dry_run: bool,
    pub author: (String, String),
    pub network: Network,
    /// Use the mirror as it is, without fetching (for previews).
    pub offline: bool,
}

/// What happened, for people (text) and programs (`--output json`).
#[derive(Debug, Clone, Serialize)]
pub struct RevertReport {
    /// `created`, `reused` (the branch already reverts this commit), `nothing-to-do` (base
    /// already holds the old version) or `dry-run`.
    pub outcome: Outcome,
    /// The culprit's commit id.
    pub reverted: String,
    pub culprit: CommitInfo,
    pub image: Option<String>,
    pub base: String,
    pub base_sha: String,
    pub strategy: Option<Strategy>,
    pub branch: Option<String>,
    /// The rollback commit.
    pub commit: Option<String>,
    pub files: Vec<String>,
    pub restored: Vec<Restored>,
    /// Places in base that hold a bad version too but are not rolled back (other files that
    /// got the same version from other commits).
    pub twins: Vec<Place>,
    /// Other images the culprit bumped, left as they are by a partial rollback.
    pub left_bumped: Vec<LeftBumped>,
    pub diff: String,
    pub pushed: bool,
    /// Where it was pushed (credentials removed).
    pub remote: Option<String>,
    /// With `nothing-to-do`: the commit that already put the old version back, if known.
    pub already_reverted_by: Option<CommitInfo>,
    /// With `--pr`: the pull request opened, found, or declined earlier.
    pub pull_request: Option<PullOutcome>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Created,
    Reused,
    NothingToDo,
    DryRun,
}

#[derive(Debug, thiserror::Error)]
#[error("branch {branch} already exists{on} and does not revert {culprit}; delete or rename it, then run again")]
pub struct BranchConflict {
    pub branch: String,
    pub on: String,
    pub culprit: String,
}

impl HasExit for BranchConflict {
    fn exit(&self) -> Exit {
        Exit::BranchConflict
    }
}

/// The repository to work in, and where to push.
struct Workspace {
    repo: Repository,
    /// Where `--push` goes: the URL, or a local repository's `origin`.
    push_url: Option<String>,
    default_base: String,
    /// Held for the whole run when working in a shared mirror.
    _lock: Option<MirrorLock>,
    mirror: bool,
}

pub fn rollback(req: &RevertRequest) -> Result<RevertReport> {
    let ws = open_workspace(req)?;
    let repo = &ws.repo;
    let base_name = req.base.clone().unwrap_or_else(|| ws.default_base.clone());
    let base = resolve(repo, &base_name, "--base")?;
    let culprit = match (&req.commit, &req.image) {
        (Some(commit), _) => resolve(repo, commit, "--commit")?,
        (None, Some(image)) => {
            let query = Query {
                image: image.clone(),
                rev: base.to_string(),
                paths: req.paths.clone(),
            };
            let located = locate::locate(repo, &query)?;
            Oid::from_str(&located.commit.sha)?
        }
        (None, None) => return Err(UsageError("give --commit SHA or --image IMAGE".into()).into()),
    };
    let image_name = req.image.as_ref().map(|i| i.name.as_str());
    let branch = message::branch_name(image_name, &culprit.to_string());
    let span = tracing::info_span!("revert", culprit = %culprit, image = image_name.unwrap_or(""), branch = %branch);
    let _entered = span.enter();

    let mut report = RevertReport {
        outcome: Outcome::DryRun,
        reverted: culprit.to_string(),
        culprit: locate::history::commit_info(&repo.find_commit(culprit)?),
        image: req.image.as_ref().map(ToString::to_string),
        base: base_name.clone(),
        base_sha: base.to_string(),
        strategy: None,
        branch: None,
        commit: None,
        files: Vec::new(),
        restored: Vec::new(),
        twins: Vec::new(),
        left_bumped: Vec::new(),
        diff: String::new(),
        pushed: false,
        remote: ws
            .push_url
            .as_deref()
            .filter(|_| req.push)
            .map(remote::redact),
        already_reverted_by: None,
        pull_request: None,
    };

    // A branch from an earlier run (or another replica) that reverts the same commit is reused.
    if let Some(existing) = existing_branch(repo, &branch)? {
        check_reverts(repo, existing, culprit, &branch, "")?;
        report.outcome = Outcome::Reused;
        report.branch = Some(branch.clone());
        report.commit = Some(existing.to_string());
        if req.push && !req.dry_run && !ws.mirror {
            push_or_reuse(&ws, &branch, existing, culprit, &req.network, &mut report)?;
        } else {
            report.pushed = ws.mirror;
        }
        info!("branch {branch} already reverts {culprit}; reusing it");
        return Ok(report);
    }

    let spec = RevertSpec {
        culprit,
        base,
        image: req.image.as_ref(),
        whole_commit: req.whole_commit,
        allow_revert_of_revert: req.allow_revert_of_revert,
        paths: &req.paths,
    };
    let rollback = match plan::prepare(repo, &spec)? {
        Prepared::NothingToDo { by, .. } => {
            report.outcome = Outcome::NothingToDo;
            report.already_reverted_by = by;
            return Ok(report);
        }
        Prepared::Ready(rollback) => rollback,
    };
    let sig = Signature::now(&req.author.0, &req.author.1).map_err(|e| {
        UsageError(format!(
            "author {:?} <{}> is not valid: {}",
            req.author.0,
            req.author.1,
            e.message()
        ))
    })?;
    let tree = repo.find_tree(rollback.tree)?;
    let base_commit = repo.find_commit(base)?;
    let commit = repo.commit(None, &sig, &sig, &rollback.message, &tree, &[&base_commit])?;
    report.strategy = Some(rollback.strategy);
    report.branch = Some(branch.clone());
    report.commit = Some(commit.to_string());
    report.restored = rollback.restored;
    report.twins = rollback.twins;
    report.left_bumped = rollback.left_bumped;
    (report.files, report.diff) = diff(repo, &base_commit.tree()?, &tree)?;
    if req.dry_run {
        return Ok(report);
    }

    // Create the branch; losing a race to another run on the same repository means reuse.
    let refname = format!("refs/heads/{branch}");
    if let Err(e) = repo.reference(&refname, commit, false, "revertbot: rollback branch") {
        if e.code() != git2::ErrorCode::Exists {
            return Err(e.into());
        }
        let existing = repo.refname_to_id(&refname)?;
        check_reverts(repo, existing, culprit, &branch, "")?;
        report.outcome = Outcome::Reused;
        report.commit = Some(existing.to_string());
        return Ok(report);
    }
    report.outcome = Outcome::Created;
    if req.push {
        let pushed = push_or_reuse(&ws, &branch, commit, culprit, &req.network, &mut report);
        if pushed.is_err() && ws.mirror {
            // The mirror must not keep a branch the remote does not have.
            if let Ok(mut r) = repo.find_reference(&refname) {
                let _ = r.delete();
            }
        }
        pushed?;
    }
    Ok(report)
}

fn open_workspace(req: &RevertRequest) -> Result<Workspace> {
    match &req.source {
        Source::Path(path) => {
            let repo = crate::run::open_repo(path)?;
            let default_base = match repo.head() {
                Ok(head) if head.is_branch() => head.shorthand().unwrap_or("HEAD").to_string(),
                _ => "HEAD".to_string(),
            };
            let push_url = repo
                .find_remote("origin")
                .ok()
                .and_then(|r| r.url().ok().map(str::to_string));
            if req.push && push_url.is_none() {
                return Err(UsageError(format!(
                    "--push: {} has no 'origin' remote to push to; add one, or give the remote's URL as --repo",
                    path.display()
                ))
                .into());
            }
            Ok(Workspace {
                repo,
                push_url,
                default_base,
                _lock: None,
                mirror: false,
            })
        }
        Source::Url(url) => {
            let dir = remote::mirror_dir(&req.cache_dir, url);
            if req.offline {
                let repo = Repository::open_bare(&dir).map_err(|_| {
                    UsageError(format!(
                        "no mirror of {} in {}; run `revertbot revert` once, or give a local path",
                        remote::redact(url),
                        req.cache_dir.display()
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
                });
            }
            let lock = MirrorLock::acquire(&dir)?;
            let repo = match Repository::open_bare(&dir) {
                Ok(repo) => repo,
                Err(_) => Repository::init_bare(&dir)
                    .with_context(|| format!("cannot create the mirror {}", dir.display()))?,
            };
            let default_base = match &req.base {
                Some(base) => base.clone(),
                None => remote::default_branch(&repo, url, &req.network)?,
            };
            remote::fetch(
                &repo,
                url,
                &["+refs/heads/*:refs/heads/*"],
                true,
                &req.network,
            )?;
            info!(mirror = %dir.display(), "fetched {}", remote::redact(url));
            // Full history walks on the mirror read the commit-graph, not every commit. A
            // graph that cannot be written only makes them slower.
            if let Ok(tip) = repo
                .revparse_single(&default_base)
                .and_then(|o| o.peel_to_commit())
            {
                if let Err(e) = commit_graph::refresh(&repo, tip.id()) {
                    warn!(mirror = %dir.display(), "cannot write the commit-graph: {e:#}");
                }
            }
            Ok(Workspace {
                repo,
                push_url: Some(url.clone()),
                default_base,
                _lock: Some(lock),
                mirror: true,
            })
        }
    }
}

fn resolve(repo: &Repository, rev: &str, flag: &str) -> Result<Oid> {
    let object = repo.revparse_single(rev).map_err(|_| {
        UsageError(format!(
            "{flag} {rev:?} is not in the repository; give a branch or commit id that exists there"
        ))
    })?;
    let commit = object
        .peel_to_commit()
        .map_err(|_| UsageError(format!("{flag} {rev:?} does not name a commit")))?;
    Ok(commit.id())
}

fn existing_branch(repo: &Repository, branch: &str) -> Result<Option<Oid>> {
    match repo.refname_to_id(&format!("refs/heads/{branch}")) {
        Ok(id) => Ok(Some(id)),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Refuses a branch whose tip is not a rollback of `culprit`.
fn check_reverts(repo: &Repository, tip: Oid, culprit: Oid, branch: &str, on: &str) -> Result<()> {
    let reverts = repo
        .find_commit(tip)
        .ok()
        .and_then(|c| message::reverted_sha(c.message_raw().unwrap_or("")).map(str::to_string));
    if reverts.as_deref() == Some(culprit.to_string().as_str()) {
        Ok(())
    } else {
        Err(BranchConflict {
            branch: branch.to_string(),
            on: on.to_string(),
            culprit: culprit.to_string(),
        }
        .into())
    }
}

/// Pushes the branch; if the remote refuses because the branch appeared there meanwhile (a
/// concurrent run), reuses it when it reverts the same commit.
fn push_or_reuse(
    ws: &Workspace,
    branch: &str,
    commit: Oid,
    culprit: Oid,
    net: &Network,
    report: &mut RevertReport,
) -> Result<()> {
    let url = ws.push_url.as_deref().context("no remote to push to")?;
    if let Some(remote_tip) = remote::remote_branch(&ws.repo, url, branch, net)? {
        if remote_tip != commit {
            reuse_remote(ws, url, branch, remote_tip, culprit, net, report)?;
        }
        report.pushed = true;
        return Ok(());
    }
    let Err(push_error) = remote::push(&ws.repo, url, branch, net) else {
        report.pushed = true;
        return Ok(());
    };
    // Lost a race with another run pushing the same branch? Then the branch is there now
    // (the server may still be finishing that other push).
    for wait_ms in [0, 100, 300, 600] {
        std::thread::sleep(std::time::Duration::from_millis(wait_ms));
        if let Some(remote_tip) = remote::remote_branch(&ws.repo, url, branch, net)? {
            // Runs within the same second make the very same commit.
            if remote_tip != commit {
                reuse_remote(ws, url, branch, remote_tip, culprit, net, report)?;
            }
            report.pushed = true;
            return Ok(());
        }
        if matches!(push_error, PushError::Other(_)) {
            break;
        }
    }
    Err(push_error.into())
}

/// Adopts the remote's branch when it reverts the same commit; refuses it otherwise.
fn reuse_remote(
    ws: &Workspace,
    url: &str,
    branch: &str,
    tip: Oid,
    culprit: Oid,
    net: &Network,
    report: &mut RevertReport,
) -> Result<()> {
    ensure_local(&ws.repo, url, branch, tip, net)?;
    check_reverts(
        &ws.repo,
        tip,
        culprit,
        branch,
        &format!(" on {}", remote::redact(url)),
    )?;
    adopt(ws, branch, tip, report)
}

/// Makes the local branch point at the remote's commit (which reverts the same culprit).
fn adopt(ws: &Workspace, branch: &str, tip: Oid, report: &mut RevertReport) -> Result<()> {
    ws.repo.reference(
        &format!("refs/heads/{branch}"),
        tip,
        true,
        "revertbot: reuse the remote's rollback branch",
    )?;
    report.outcome = Outcome::Reused;
    report.commit = Some(tip.to_string());
    Ok(())
}

fn ensure_local(repo: &Repository, url: &str, branch: &str, tip: Oid, net: &Network) -> Result<()> {
    if repo.find_commit(tip).is_err() {
        let spec = format!("+refs/heads/{branch}:refs/revertbot/remote/{branch}");
        remote::fetch(repo, url, &[spec.as_str()], false, net)?;
    }
    Ok(())
}

/// Files changed and the unified diff between two trees.
fn diff(repo: &Repository, old: &git2::Tree, new: &git2::Tree) -> Result<(Vec<String>, String)> {
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
