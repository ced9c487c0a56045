//! A rollback that merges itself: whether one may, what its pull request says of it, and what
//! came of asking the forge.
//!
//! revertbot never merges. It turns on the forge's own auto-merge, which merges only once the
//! repository's required checks and reviews pass: GitHub's `enablePullRequestAutoMerge`,
//! GitLab's `auto_merge`, Gitea's and Forgejo's `merge_when_checks_succeed`. Only a rollback
//! that is the plain inverse of the last change is let through; anything a person should
//! look at first waits for review, and its pull request says why.

use std::fmt::Write;

use serde::Serialize;

use super::markdown::{code, inline, Dialect};
use crate::config::MergeMethod;
use crate::revert::{Outcome, RevertReport, Strategy};

/// Names, reasons: short enough for one line.
const SHORT: usize = 300;

/// Auto-merge asked for one rollback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoMergeAsk {
    pub method: MergeMethod,
    /// The rule that asks it; `None`: asked by hand.
    pub rule: Option<String>,
    /// A guard of the caller's (the hourly limit) said no: why.
    pub held: Option<String>,
}

/// What came of auto-merge for one rollback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AutoMerge {
    pub method: MergeMethod,
    pub rule: Option<String>,
    /// Turned on in the forge: it merges once the required checks pass.
    pub enabled: bool,
    /// Why it was not turned on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl AutoMerge {
    /// One line for the journal and people: `squash, rule critical` or `off: why`.
    pub fn summary(&self) -> String {
        let by = match &self.rule {
            Some(rule) => format!("rule {rule}"),
            None => "asked by hand".to_string(),
        };
        match (&self.reason, self.enabled) {
            (_, true) => format!("{} ({by})", self.method.as_str()),
            (Some(reason), false) => format!("off ({by}): {reason}"),
            (None, false) => format!("off ({by})"),
        }
    }
}

/// What `guards.max_auto_merges_per_repo_per_hour` says with `recent` rollbacks of `repo` set
/// to merge themselves in the last hour: why this one waits, or `None`.
pub fn hourly_guard(recent: u32, limit: u32, repo: &str) -> Option<String> {
    (recent >= limit).then(|| {
        format!(
            "guard max_auto_merges_per_repo_per_hour: {recent} rollbacks in {repo} were set to merge themselves in the last hour already"
        )
    })
}

/// Whether a rollback may merge itself, or why not: never past the caller's guard, never a
/// revert of a revert, never one that is not the plain inverse of the last change (a later
/// commit changed the same places, so the rollback was made value by value), never with an
/// image the registry did not confirm, and only for a branch this run made (a branch reused
/// from an earlier run is not re-planned here, so what it does is not known).
pub fn verdict(ask: &AutoMergeAsk, report: &RevertReport) -> Result<(), String> {
    if let Some(held) = &ask.held {
        return Err(held.clone());
    }
    if report.culprit_is_revert {
        return Err("the culprit is itself a revert; a revert of a revert waits for review".into());
    }
    match (report.outcome, report.strategy) {
        (Outcome::Created | Outcome::DryRun, Some(Strategy::Revert | Strategy::Partial)) => {}
        (Outcome::Created | Outcome::DryRun, Some(Strategy::Semantic)) => {
            return Err("a later commit changed the same places, so this rollback is not the plain inverse of the last change".into())
        }
        _ => {
            return Err(
                "the branch was made by an earlier attempt, so this run cannot vouch for it".into(),
            )
        }
    }
    if report.registry.iter().any(|c| c.exists != Some(true)) {
        return Err("the registry did not confirm every image it deploys again".into());
    }
    Ok(())
}

/// What the pull request says of auto-merge, after its first paragraph: that it will merge
/// itself, under which rule, and how to stop it; or why it waits for review.
pub fn section(ask: &AutoMergeAsk, verdict: &Result<(), String>, dialect: Dialect) -> String {
    let noun = dialect.pull_noun();
    let by = match &ask.rule {
        Some(rule) => format!("Rule {}", code(rule, SHORT)),
        None => "Whoever made this rollback".to_string(),
    };
    let mut s = String::new();
    match verdict {
        Ok(()) => {
            writeln!(
                s,
                "> **Merges itself.** {by} turned auto-merge on ({}): this {noun} is merged as soon as the repository's required checks and reviews pass. To stop it, turn auto-merge off on this {noun}, or close it.\n",
                ask.method.as_str()
            )
            .ok();
        }
        Err(reason) => {
            writeln!(
                s,
                "> **Waits for review.** {by} asks for auto-merge, but {}.\n",
                inline(reason, SHORT, dialect)
            )
            .ok();
        }
    }
    s
}

/// The note on a pull request whose forge would not turn auto-merge on.
pub fn refused_comment(reason: &str, dialect: Dialect) -> String {
    format!(
        "{}:auto-merge -->\nAuto-merge could not be turned on: {}. This {} waits for review.\n",
        super::body::MARKER,
        inline(reason, SHORT, dialect),
        dialect.pull_noun()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gitstore::CommitInfo;
    use crate::registry::ImageCheck;

    fn report(outcome: Outcome, strategy: Option<Strategy>) -> RevertReport {
        RevertReport {
            outcome,
            reverted: "c0ffee".into(),
            culprit: CommitInfo {
                sha: "c0ffee".into(),
                author: "fluxcdbot".into(),
                email: "fluxcdbot@users.noreply.github.com".into(),
                time: "2026-12-06T03:00:00Z".into(),
                subject: "Update from image update automation".into(),
            },
            culprit_is_revert: false,
            signed_by: None,
            image: Some("ghcr.io/acme/api:1.5.0".into()),
            workload: None,
            rendered_before: None,
            culprit_from: None,
            base: "main".into(),
            base_sha: "b45e".into(),
            strategy,
            branch: Some("revertbot/api-c0ffee".into()),
            commit: None,
            files: Vec::new(),
            restored: Vec::new(),
            twins: Vec::new(),
            left_bumped: Vec::new(),
            diff: String::new(),
            pushed: true,
            remote: None,
            already_reverted_by: None,
            hold: Default::default(),
            registry: Vec::new(),
        }
    }

    fn ask() -> AutoMergeAsk {
        AutoMergeAsk {
            method: MergeMethod::Rebase,
            rule: Some("critical".into()),
            held: None,
        }
    }

    #[test]
    fn only_the_plain_inverse_of_the_last_change_may_merge_itself() {
        let plain = report(Outcome::Created, Some(Strategy::Revert));
        assert_eq!(verdict(&ask(), &plain), Ok(()));
        let partial = report(Outcome::Created, Some(Strategy::Partial));
        assert_eq!(verdict(&ask(), &partial), Ok(()));
        let preview = report(Outcome::DryRun, Some(Strategy::Revert));
        assert_eq!(verdict(&ask(), &preview), Ok(()));

        let semantic = report(Outcome::Created, Some(Strategy::Semantic));
        assert!(verdict(&ask(), &semantic)
            .unwrap_err()
            .contains("not the plain inverse"));
        let reused = report(Outcome::Reused, None);
        assert!(verdict(&ask(), &reused)
            .unwrap_err()
            .contains("earlier attempt"));
        let revert_of_revert = RevertReport {
            culprit_is_revert: true,
            ..plain.clone()
        };
        assert!(verdict(&ask(), &revert_of_revert)
            .unwrap_err()
            .contains("revert of a revert"));
        let held = AutoMergeAsk {
            held: Some("guard max_auto_merges_per_repo_per_hour: 3".into()),
            ..ask()
        };
        assert_eq!(
            verdict(&held, &plain),
            Err("guard max_auto_merges_per_repo_per_hour: 3".into())
        );
    }

    #[test]
    fn an_image_the_registry_did_not_confirm_waits_for_review() {
        let check = |exists| ImageCheck {
            image: "ghcr.io/acme/api".into(),
            reference: "1.4.0".into(),
            exists,
            digest: None,
            error: None,
            registry: "ghcr.io".into(),
            checked_at: "2026-12-06T03:01:00Z".into(),
        };
        let mut r = report(Outcome::Created, Some(Strategy::Revert));
        r.registry = vec![check(Some(true))];
        assert_eq!(verdict(&ask(), &r), Ok(()));
        for unconfirmed in [None, Some(false)] {
            r.registry = vec![check(Some(true)), check(unconfirmed)];
            assert!(verdict(&ask(), &r).unwrap_err().contains("registry"));
        }
    }

    #[test]
    fn the_section_says_how_to_stop_it_or_why_it_waits() {
        let on = section(&ask(), &Ok(()), Dialect::GitLab);
        assert!(on.contains("Rule `critical` turned auto-merge on (rebase): this merge request is merged as soon as"), "{on}");
        assert!(
            on.contains("turn auto-merge off on this merge request, or close it"),
            "{on}"
        );
        let by_hand = AutoMergeAsk {
            rule: None,
            ..ask()
        };
        let off = section(&by_hand, &Err("a *later* commit".into()), Dialect::GitHub);
        assert!(off.starts_with("> **Waits for review.** Whoever made this rollback asks for auto-merge, but a \\*later\\* commit."), "{off}");
    }

    #[test]
    fn the_summary_says_the_method_and_the_rule_or_why_not() {
        let on = AutoMerge {
            method: MergeMethod::Squash,
            rule: Some("critical".into()),
            enabled: true,
            reason: None,
        };
        assert_eq!(on.summary(), "squash (rule critical)");
        let off = AutoMerge {
            enabled: false,
            rule: None,
            reason: Some("the repository does not allow auto-merge".into()),
            ..on
        };
        assert_eq!(
            off.summary(),
            "off (asked by hand): the repository does not allow auto-merge"
        );
    }
}
