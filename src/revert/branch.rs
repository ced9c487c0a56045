//! The rollback branch: is it there already, does it revert the same commit, and pushing it
//! without ever overwriting someone else's branch.

use anyhow::{Context, Result};
use git2::{Oid, Repository};

use super::failure;
use super::message;
use super::report::{Outcome, RevertReport};
use super::workspace::Workspace;
use crate::gitstore::remote::{self, Network, PushError};
use crate::gitstore::signing::Signer;

pub fn existing(repo: &Repository, branch: &str) -> Result<Option<Oid>> {
    match repo.refname_to_id(&format!("refs/heads/{branch}")) {
        Ok(id) => Ok(Some(id)),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// What a branch's tip is to the rollback being made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// It is this rollback: reuse it.
    Same,
    /// It is this rollback, but not signed as configured (made before signing was turned on,
    /// or with another key): replaced by a signed one, since a protected branch would refuse
    /// it.
    Unsigned,
    /// A rollback of the same commit for another image, whose name folds like this one's.
    OtherImage,
    /// Something else: a branch revertbot must not touch.
    Foreign,
}

/// Where the branch goes: one that already does this work, or a free name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    Reuse {
        name: String,
        tip: Oid,
    },
    /// revertbot's own branch for this work, whose commit `tip` is replaced (see
    /// [`Fit::Unsigned`]).
    Replace {
        name: String,
        tip: Oid,
    },
    Free(String),
}

impl Slot {
    pub fn name(&self) -> &str {
        match self {
            Slot::Reuse { name, .. } | Slot::Replace { name, .. } | Slot::Free(name) => name,
        }
    }
}

/// The slot of a rollback of `culprit` for `image` (`None`: the whole commit).
/// With a `signer`, a branch whose commit it did not sign is replaced, not reused.
pub fn for_rollback(
    repo: &Repository,
    culprit: Oid,
    image: Option<&str>,
    signer: Option<&Signer>,
) -> Result<Slot> {
    pick(
        repo,
        &message::branch_names(image, &culprit.to_string()),
        |tip| rollback_fit(repo, tip, culprit, image, signer),
        |name| failure::branch_conflict(name, "", &culprit.to_string()).into(),
    )
}

/// Picks the branch among `names`: any candidate (the legacy name included) that already does
/// this work is reused, so a rerun never opens a second pull request; else the first free
/// name. A candidate another image's rollback holds is passed over; one holding something
/// else is refused with `conflict(name)`, as a person's branch under revertbot's name is.
pub fn pick(
    repo: &Repository,
    names: &message::BranchNames,
    fit: impl Fn(Oid) -> Fit,
    conflict: impl Fn(&str) -> anyhow::Error,
) -> Result<Slot> {
    let mut found = Vec::new();
    for name in names.names.iter().chain(&names.legacy) {
        let tip = existing(repo, name)?;
        if let Some(tip) = tip {
            if fit(tip) == Fit::Same {
                return Ok(Slot::Reuse {
                    name: name.clone(),
                    tip,
                });
            }
        }
        found.push((name, tip));
    }
    for (name, tip) in found.into_iter().take(names.names.len()) {
        match tip.map(|tip| (tip, fit(tip))) {
            None => return Ok(Slot::Free(name.clone())),
            Some((_, Fit::Foreign)) => return Err(conflict(name)),
            Some((tip, Fit::Unsigned)) => {
                return Ok(Slot::Replace {
                    name: name.clone(),
                    tip,
                })
            }
            Some(_) => {}
        }
    }
    Err(conflict(names.names.last().map_or("", String::as_str)))
}

/// What the commit at `tip` is to a rollback of `culprit` for `image` (`None`: the whole
/// commit), with commits signed by `signer`.
pub fn rollback_fit(
    repo: &Repository,
    tip: Oid,
    culprit: Oid,
    image: Option<&str>,
    signer: Option<&Signer>,
) -> Fit {
    let Ok(commit) = repo.find_commit(tip) else {
        return Fit::Foreign;
    };
    let message = commit.message_raw().unwrap_or("");
    if message::reverted_sha(message) != Some(culprit.to_string().as_str()) {
        return Fit::Foreign;
    }
    match image {
        Some(image) if !message::names_image(message, image) => Fit::OtherImage,
        _ => signed_fit(repo, tip, signer),
    }
}

/// [`Fit::Same`] for a commit signed as configured, else [`Fit::Unsigned`].
pub fn signed_fit(repo: &Repository, tip: Oid, signer: Option<&Signer>) -> Fit {
    match signer {
        Some(signer) if !signer.signed(repo, tip) => Fit::Unsigned,
        _ => Fit::Same,
    }
}

/// Refuses a branch whose tip is not this rollback of `culprit` (for `image`); else says
/// whether it is signed as configured ([`Fit::Same`]) or is to be replaced ([`Fit::Unsigned`]).
pub fn check_reverts(
    repo: &Repository,
    tip: Oid,
    culprit: Oid,
    image: Option<&str>,
    signer: Option<&Signer>,
    branch: &str,
    on: &str,
) -> Result<Fit> {
    match rollback_fit(repo, tip, culprit, image, signer) {
        fit @ (Fit::Same | Fit::Unsigned) => Ok(fit),
        Fit::OtherImage | Fit::Foreign => {
            Err(failure::branch_conflict(branch, on, &culprit.to_string()).into())
        }
    }
}

/// What is rolled back, for checking a branch found on the remote.
pub struct Rollback<'a> {
    pub culprit: Oid,
    pub image: Option<&'a str>,
    pub signer: Option<&'a Signer>,
}

/// Pushes the branch; if the remote refuses because the branch appeared there meanwhile (a
/// concurrent run), reuses it when it reverts the same commit. A rollback branch on the remote
/// that is not signed as configured is replaced by `commit`.
pub fn push_or_reuse(
    ws: &Workspace,
    branch: &str,
    commit: Oid,
    rollback: &Rollback<'_>,
    net: &Network,
    report: &mut RevertReport,
) -> Result<()> {
    let url = ws.push_url().context("no remote to push to")?;
    // The branch is on the remote: this very commit (runs within the same second make the
    // same one), or another run's, adopted when it reverts the same commit and refused
    // otherwise.
    let found = |remote_tip: Oid, report: &mut RevertReport| -> Result<()> {
        if remote_tip != commit {
            ensure_local(ws.repo(), url, branch, remote_tip, net)?;
            let fit = check_reverts(
                ws.repo(),
                remote_tip,
                rollback.culprit,
                rollback.image,
                rollback.signer,
                branch,
                &format!(" on {}", remote::redact(url)),
            )?;
            let ours_signed =
                fit == Fit::Unsigned && signed_fit(ws.repo(), commit, rollback.signer) == Fit::Same;
            if ours_signed {
                remote::push_replacing(ws.repo(), url, branch, net)?;
            } else {
                adopt(ws, branch, remote_tip, report)?;
            }
        }
        report.pushed = true;
        Ok(())
    };
    if let Some(remote_tip) = remote::remote_branch(ws.repo(), url, branch, net)? {
        return found(remote_tip, report);
    }
    let Err(push_error) = remote::push(ws.repo(), url, branch, net) else {
        report.pushed = true;
        return Ok(());
    };
    // Lost a race with another run pushing the same branch? Then the branch is there now
    // (the server may still be finishing that other push).
    for wait_ms in [0, 100, 300, 600] {
        std::thread::sleep(std::time::Duration::from_millis(wait_ms));
        if let Some(remote_tip) = remote::remote_branch(ws.repo(), url, branch, net)? {
            return found(remote_tip, report);
        }
        if matches!(push_error, PushError::Other(_)) {
            break;
        }
    }
    Err(push_error.into())
}

/// Makes the local branch point at the remote's commit (which reverts the same culprit).
fn adopt(ws: &Workspace, branch: &str, tip: Oid, report: &mut RevertReport) -> Result<()> {
    ws.repo().reference(
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
