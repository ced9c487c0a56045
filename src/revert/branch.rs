//! The rollback branch: is it there already, does it revert the same commit, and pushing it
//! without ever overwriting someone else's branch.

use anyhow::{Context, Result};
use git2::{Oid, Repository};

use super::failure;
use super::message;
use super::report::{Outcome, RevertReport};
use super::workspace::Workspace;
use crate::gitstore::remote::{self, Network, PushError};

pub fn existing(repo: &Repository, branch: &str) -> Result<Option<Oid>> {
    match repo.refname_to_id(&format!("refs/heads/{branch}")) {
        Ok(id) => Ok(Some(id)),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Refuses a branch whose tip is not a rollback of `culprit`.
pub fn check_reverts(
    repo: &Repository,
    tip: Oid,
    culprit: Oid,
    branch: &str,
    on: &str,
) -> Result<()> {
    let reverts = repo
        .find_commit(tip)
        .ok()
        .and_then(|c| message::reverted_sha(c.message_raw().unwrap_or("")).map(str::to_string));
    if reverts.as_deref() == Some(culprit.to_string().as_str()) {
        Ok(())
    } else {
        Err(failure::branch_conflict(branch, on, &culprit.to_string()).into())
    }
}

/// Pushes the branch; if the remote refuses because the branch appeared there meanwhile (a
/// concurrent run), reuses it when it reverts the same commit.
pub fn push_or_reuse(
    ws: &Workspace,
    branch: &str,
    commit: Oid,
    culprit: Oid,
    net: &Network,
    report: &mut RevertReport,
) -> Result<()> {
    let url = ws.push_url().context("no remote to push to")?;
    if let Some(remote_tip) = remote::remote_branch(ws.repo(), url, branch, net)? {
        if remote_tip != commit {
            reuse_remote(ws, url, branch, remote_tip, culprit, net, report)?;
        }
        report.pushed = true;
        return Ok(());
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
    ensure_local(ws.repo(), url, branch, tip, net)?;
    check_reverts(
        ws.repo(),
        tip,
        culprit,
        branch,
        &format!(" on {}", remote::redact(url)),
    )?;
    adopt(ws, branch, tip, report)
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
