//! Revert through git: turn a culprit into a rollback commit on a deterministic branch,
//! without a work tree, and push it. Never force-pushes; reuses a branch that already reverts
//! the same commit; refuses a branch that holds something else.

mod branch;
mod diff;
mod failure;
pub mod hold;
pub mod message;
pub mod plan;
mod report;
mod request;
mod unhold;
mod workspace;

use anyhow::Result;
use git2::{Oid, Signature};

use crate::gitstore::signing;
use tracing::{info, warn};

use crate::error::{Error, Input, Kind};
use crate::gitstore::remote;
use crate::gitstore::CommitInfo;
use crate::image::ImageRef;
use crate::locate;
use crate::registry::{self, ImageCheck};
pub use failure::{
    BRANCH_CONFLICT, CANNOT_REVERT, CULPRIT_TOO_LATE, IMAGE_NOT_CHANGED, REVERT_OF_REVERT,
};
pub use hold::{HoldPolicy, HoldReport};
pub use plan::{LeftBumped, Strategy};
pub use report::{Outcome, RevertReport};
pub use request::{Author, CommitSigning, Effects, GitSettings, Target};
pub use unhold::{unhold, UnholdReport};
pub use workspace::Workspace;

/// The branch a rollback of `culprit` for `image` goes on: the one that already makes it, else
/// the name it gets (see [`message::branch_names`]).
pub fn rollback_branch(
    repo: &git2::Repository,
    culprit: Oid,
    image: Option<&str>,
) -> Result<String> {
    Ok(branch::for_rollback(repo, culprit, image, None)?
        .name()
        .to_string())
}

/// Opens the workspace and makes the rollback: the common case in one call.
pub fn rollback(git: &GitSettings, target: &Target, effects: Effects) -> Result<RevertReport> {
    let ws = Workspace::open(&git.cache_dir, target, effects)?;
    rollback_in(ws, git, target, effects)
}

/// Makes the rollback in an opened workspace (fetching first for a mirror).
pub fn rollback_in(
    ws: Workspace,
    git: &GitSettings,
    target: &Target,
    effects: Effects,
) -> Result<RevertReport> {
    rollback_checked(ws, git, target, effects, None)
}

/// Asks, once the rollback is made and before its branch is, whether the images it deploys
/// again exist: the answers go into the report, and a verdict that is an error stops the
/// rollback before anything is written (a dry run only records the answers).
pub type Gate<'a> = &'a dyn Fn(&[ImageRef]) -> Checked;

/// The registries' answers, and the verdict on them.
pub type Checked = (Vec<ImageCheck>, Result<()>);

/// [`rollback_in`], with the registries asked through `gate` before the branch is made.
pub fn rollback_checked(
    mut ws: Workspace,
    git: &GitSettings,
    target: &Target,
    effects: Effects,
    gate: Option<Gate>,
) -> Result<RevertReport> {
    ws.sync(target, &git.network)?;
    let repo = ws.repo();
    let (base_name, base) = ws.base(target)?;
    let Some(subject) = &target.subject else {
        return Err(Error::new(Kind::Usage)
            .text("give ")
            .input(Input::Commit)
            .text(" or ")
            .input(Input::Image)
            .into());
    };
    let found = locate::culprit(repo, subject, &base.to_string(), &target.paths)?;
    let culprit = found.commit;
    let image = found.image;
    if let Some(limit) = target.committed_by {
        let committed = repo.find_commit(culprit)?.committer().when().seconds();
        if committed > limit {
            let at = |t: i64| {
                chrono::DateTime::from_timestamp(t, 0)
                    .unwrap_or_default()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            };
            return Err(failure::culprit_too_late(
                &crate::gitstore::short(culprit),
                &at(committed),
                &at(limit),
            )
            .into());
        }
    }
    let image_name = image.as_ref().map(|i| i.name.as_str());
    let signer = git.commits.signer();
    let slot = branch::for_rollback(repo, culprit, image_name, signer)?;
    let on_branch = branch::Rollback {
        culprit,
        image: image_name,
        signer,
    };
    let branch = slot.name().to_string();
    let span = tracing::info_span!("revert", culprit = %culprit, image = image_name.unwrap_or(""), branch = %branch);
    let _entered = span.enter();

    let culprit_commit = repo.find_commit(culprit)?;
    let mut report = RevertReport {
        outcome: Outcome::DryRun,
        reverted: culprit.to_string(),
        culprit: CommitInfo::of(&culprit_commit),
        culprit_is_revert: message::is_a_revert(culprit_commit.message_raw().unwrap_or("")),
        image: image.as_ref().map(ToString::to_string),
        workload: found.workload,
        rendered_before: found.rendered_before,
        culprit_from: found.culprit_from,
        base: base_name.clone(),
        base_sha: base.to_string(),
        strategy: None,
        branch: None,
        commit: None,
        signed_by: None,
        files: Vec::new(),
        restored: Vec::new(),
        twins: Vec::new(),
        left_bumped: Vec::new(),
        diff: String::new(),
        pushed: false,
        remote: ws.push_url().filter(|_| effects.push).map(remote::redact),
        already_reverted_by: None,
        hold: HoldReport::default(),
        registry: Vec::new(),
    };

    // A branch from an earlier run (or another replica) that makes this rollback is reused.
    if let branch::Slot::Reuse { tip: existing, .. } = slot {
        report.outcome = Outcome::Reused;
        report.branch = Some(branch.clone());
        report.commit = Some(existing.to_string());
        report.signed_by = signer.map(|s| s.fingerprint().to_string());
        if effects.push && !effects.dry_run && !ws.is_mirror() {
            branch::push_or_reuse(
                &ws,
                &branch,
                existing,
                &on_branch,
                &git.network,
                &mut report,
            )?;
        } else {
            report.pushed = ws.is_mirror();
        }
        info!("branch {branch} already reverts {culprit}; reusing it");
        return Ok(report);
    }

    let spec = plan::RevertSpec {
        culprit,
        base,
        image: image.as_ref(),
        whole_commit: target.whole_commit,
        allow_revert_of_revert: target.allow_revert_of_revert,
        paths: &target.paths,
    };
    let rollback = match plan::prepare(repo, &spec)? {
        plan::Prepared::NothingToDo { by, .. } => {
            report.outcome = Outcome::NothingToDo;
            report.already_reverted_by = by;
            return Ok(report);
        }
        plan::Prepared::Ready(rollback) => rollback,
    };
    let sig = Signature::now(&git.author.name, &git.author.email).map_err(|e| {
        Error::usage(format!(
            "author {:?} <{}> is not valid: {}",
            git.author.name,
            git.author.email,
            e.message()
        ))
    })?;
    let base_commit = repo.find_commit(base)?;
    // A revert never reverts a hold: the files a culprit's hold wrote keep base's version.
    let culprit_message = repo
        .find_commit(culprit)?
        .message()
        .unwrap_or("")
        .to_string();
    let mut tree = repo.find_tree(hold::keep_holds(
        repo,
        rollback.tree,
        &base_commit.tree()?,
        &culprit_message,
    )?)?;
    let mut message = rollback.message.clone();
    // The hold goes in the same commit: merging the pull request rolls back and stops the
    // image automation from bumping straight back.
    if let (HoldPolicy::Auto, Some(image)) = (target.hold, &image) {
        let wanted = hold::Wanted::from_changes(&image.name, &rollback.restored);
        let (held_tree, held) =
            hold::hold(repo, &tree, &base_commit.tree()?, &wanted, &report.culprit)?;
        tree = repo.find_tree(held_tree)?;
        message = message::with_holds(&message, &held);
        report.hold = held;
    }
    if git.commits.signoff {
        message = message::with_signoff(&message, &git.author.name, &git.author.email);
    }
    let commit = signing::commit(repo, signer, &sig, &sig, &message, &tree, &[&base_commit])?;
    report.signed_by = signer.map(|s| s.fingerprint().to_string());
    report.strategy = Some(rollback.strategy);
    report.branch = Some(branch.clone());
    report.commit = Some(commit.to_string());
    report.restored = rollback.restored;
    report.twins = rollback.twins;
    report.left_bumped = rollback.left_bumped;
    (report.files, report.diff) = diff::between(repo, &base_commit.tree()?, &tree)?;
    if let Some(gate) = gate {
        let images = registry::images_to_check(
            report.image.as_deref(),
            &report.restored,
            report.rendered_before.as_deref(),
        );
        let (checks, verdict) = gate(&images);
        report.registry = checks;
        match verdict {
            Err(stop) if !effects.dry_run => return Err(stop),
            Err(stop) => warn!("{stop:#}"),
            Ok(()) => {}
        }
    }
    if effects.dry_run {
        return Ok(report);
    }

    // Create the branch; losing a race to another run on the same repository means reuse.
    // An unsigned rollback branch is moved to the signed commit, only from the tip that was
    // checked.
    let refname = format!("refs/heads/{branch}");
    let replaced = match &slot {
        branch::Slot::Replace { tip, .. } => Some(*tip),
        _ => None,
    };
    let written = match replaced {
        Some(old) => repo
            .reference_matching(&refname, commit, true, old, "revertbot: signed rollback")
            .map(drop),
        None => repo
            .reference(&refname, commit, false, "revertbot: rollback branch")
            .map(drop),
    };
    if let Err(e) = written {
        if e.code() != git2::ErrorCode::Exists || replaced.is_some() {
            return Err(e.into());
        }
        let existing = repo.refname_to_id(&refname)?;
        let fit = branch::check_reverts(repo, existing, culprit, image_name, signer, &branch, "")?;
        if fit == branch::Fit::Unsigned {
            repo.reference_matching(
                &refname,
                commit,
                true,
                existing,
                "revertbot: signed rollback",
            )?;
        } else {
            report.outcome = Outcome::Reused;
            report.commit = Some(existing.to_string());
            return Ok(report);
        }
    }
    if let Some(old) = replaced {
        info!("branch {branch} reverts {culprit} unsigned at {old}; replacing it with a signed commit");
    }
    report.outcome = Outcome::Created;
    if effects.push {
        let pushed =
            branch::push_or_reuse(&ws, &branch, commit, &on_branch, &git.network, &mut report);
        if pushed.is_err() && ws.is_mirror() {
            // The mirror must not keep a branch the remote does not have.
            match replaced {
                Some(old) => {
                    let _ = repo.reference(&refname, old, true, "revertbot: push failed");
                }
                None => {
                    if let Ok(mut r) = repo.find_reference(&refname) {
                        let _ = r.delete();
                    }
                }
            }
        }
        pushed?;
    }
    Ok(report)
}
