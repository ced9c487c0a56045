//! Lifting a hold once a fixed version exists: a commit on a branch of its own that removes
//! what a rollback's hold added for one tag of one image, and nothing else. Idempotent like a
//! rollback: the same branch for every run, reused when it lifts the same hold.

use anyhow::{Context, Result};
use git2::Signature;

use crate::gitstore::signing;
use serde::Serialize;
use tracing::info;

use super::branch::{Fit, Slot};
use super::hold::{self, HoldReport, UNHOLD_TRAILER};
use super::report::Outcome;
use super::request::{Effects, GitSettings, Target};
use super::workspace::Workspace;
use super::{diff, failure, message};
use crate::error::Error;
use crate::gitstore::remote;

/// What lifting a hold did.
#[derive(Debug, Clone, Serialize)]
pub struct UnholdReport {
    /// `created`, `reused`, `nothing-to-do` (nothing holds the tag) or `dry-run`.
    pub outcome: Outcome,
    pub image: String,
    pub tag: String,
    pub base: String,
    pub base_sha: String,
    pub branch: Option<String>,
    pub commit: Option<String>,
    /// The fingerprint of the key the commit is signed with (`git.signing`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<String>,
    /// The holds removed (`held` lists them; `by_hand` is empty).
    pub lifted: HoldReport,
    pub files: Vec<String>,
    pub diff: String,
    pub pushed: bool,
    pub remote: Option<String>,
}

/// Lifts the holds of `tag` of `image` (a name without tag) in `target`'s repository.
pub fn unhold(
    git: &GitSettings,
    target: &Target,
    image: &str,
    tag: &str,
    effects: Effects,
) -> Result<UnholdReport> {
    let mut ws = Workspace::open(&git.cache_dir, target, effects)?;
    ws.sync(target, &git.network)?;
    let repo = ws.repo();
    let (base_name, base) = ws.base(target)?;
    let base_commit = repo.find_commit(base)?;
    let signer = git.commits.signer();
    let mut report = UnholdReport {
        outcome: Outcome::DryRun,
        image: image.to_string(),
        tag: tag.to_string(),
        base: base_name,
        base_sha: base.to_string(),
        branch: None,
        commit: None,
        signed_by: None,
        lifted: HoldReport::default(),
        files: Vec::new(),
        diff: String::new(),
        pushed: false,
        remote: ws.push_url().filter(|_| effects.push).map(remote::redact),
    };
    let trailer = format!("{UNHOLD_TRAILER}: {image} {tag}");
    let lifts_it = |id: git2::Oid| {
        repo.find_commit(id)
            .ok()
            .and_then(|c| {
                c.message()
                    .ok()
                    .map(|m| m.lines().any(|l| l.trim() == trailer))
            })
            .unwrap_or(false)
    };
    let slot = super::branch::pick(
        repo,
        &message::unhold_branch_names(image, tag),
        |tip| {
            if lifts_it(tip) {
                super::branch::signed_fit(repo, tip, signer)
            } else {
                Fit::Foreign
            }
        },
        |name| failure::unhold_branch_conflict(name, "", image, tag).into(),
    )?;
    let branch = slot.name().to_string();
    if let Slot::Reuse { tip: existing, .. } = slot {
        report.outcome = Outcome::Reused;
        report.branch = Some(branch.clone());
        report.commit = Some(existing.to_string());
        report.signed_by = signer.map(|s| s.fingerprint().to_string());
        if effects.push && !effects.dry_run {
            push(
                &ws,
                &branch,
                existing,
                &git.network,
                &mut report,
                &lifts_it,
                signer,
            )?;
        }
        return Ok(report);
    }

    let base_tree = base_commit.tree()?;
    let (tree, lifted) = hold::unhold(repo, &base_tree, image, tag)?;
    report.lifted = lifted;
    if tree == base_tree.id() {
        report.outcome = Outcome::NothingToDo;
        info!("nothing in {} holds {image}:{tag}", report.base);
        return Ok(report);
    }
    let sig = Signature::now(&git.author.name, &git.author.email)
        .map_err(|e| Error::usage(format!("author is not valid: {}", e.message())))?;
    let tree = repo.find_tree(tree)?;
    let mut msg = message::unhold_message(image, tag, &report.lifted);
    if git.commits.signoff {
        msg = message::with_signoff(&msg, &git.author.name, &git.author.email);
    }
    let commit = signing::commit(repo, signer, &sig, &sig, &msg, &tree, &[&base_commit])?;
    report.signed_by = signer.map(|s| s.fingerprint().to_string());
    (report.files, report.diff) = diff::between(repo, &base_tree, &tree)?;
    report.branch = Some(branch.clone());
    report.commit = Some(commit.to_string());
    if effects.dry_run {
        return Ok(report);
    }
    let refname = format!("refs/heads/{branch}");
    match slot {
        // An unsigned unhold branch is moved to the signed commit, from the tip checked only.
        Slot::Replace { tip, .. } => repo
            .reference_matching(&refname, commit, true, tip, "revertbot: signed unhold")
            .map(drop),
        _ => repo
            .reference(&refname, commit, false, "revertbot: unhold branch")
            .map(drop),
    }
    .context("cannot create the unhold branch")?;
    report.outcome = Outcome::Created;
    if effects.push {
        push(
            &ws,
            &branch,
            commit,
            &git.network,
            &mut report,
            &lifts_it,
            signer,
        )?;
    }
    Ok(report)
}

/// Pushes the branch; one already on the remote is reused when it lifts the same hold.
fn push(
    ws: &Workspace,
    branch: &str,
    commit: git2::Oid,
    net: &remote::Network,
    report: &mut UnholdReport,
    lifts_it: &dyn Fn(git2::Oid) -> bool,
    signer: Option<&signing::Signer>,
) -> Result<()> {
    let url = ws.push_url().context("no remote to push to")?;
    match remote::remote_branch(ws.repo(), url, branch, net)? {
        Some(tip) if tip == commit => {}
        Some(tip) => {
            if ws.repo().find_commit(tip).is_err() {
                let spec = format!("+refs/heads/{branch}:refs/revertbot/remote/{branch}");
                remote::fetch(ws.repo(), url, &[spec.as_str()], false, net)?;
            }
            if !lifts_it(tip) {
                return Err(failure::unhold_branch_conflict(
                    branch,
                    &format!(" on {}", remote::redact(url)),
                    &report.image,
                    &report.tag,
                )
                .into());
            }
            let unsigned = super::branch::signed_fit(ws.repo(), tip, signer) == Fit::Unsigned;
            if unsigned && super::branch::signed_fit(ws.repo(), commit, signer) == Fit::Same {
                // revertbot's own unsigned branch from before signing: the signed one replaces it.
                remote::push_replacing(ws.repo(), url, branch, net)?;
            } else {
                ws.repo().reference(
                    &format!("refs/heads/{branch}"),
                    tip,
                    true,
                    "revertbot: reuse the remote's unhold branch",
                )?;
                report.outcome = Outcome::Reused;
                report.commit = Some(tip.to_string());
            }
        }
        None => remote::push(ws.repo(), url, branch, net)?,
    }
    report.pushed = true;
    Ok(())
}
