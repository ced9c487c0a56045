//! What the service would do with each alert of a payload, without writing anything but the
//! mirror cache: the rule, the repository, the image, the culprit, and the decision with the
//! guard or reason. Operators write rules with it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::alert::rules::{self, Routed};
use crate::alert::Payload;
use crate::config::{Config, RepoForge, RevertOfRevert};
use crate::error::render_chain;
use crate::forge::auto_merge::{self, AutoMerge, AutoMergeAsk};
use crate::journal;
use crate::locate::{CulpritFrom, Located};
use crate::pipeline::{self, Engine};
use crate::subject::Subject;

use super::state::config_key;

#[derive(Debug, Clone, Serialize)]
pub struct Explained {
    pub fingerprint: String,
    pub alertname: String,
    pub rule: Option<String>,
    pub repo: Option<String>,
    /// Where the rollback's pull request would go: `github OWNER/NAME`, `gitlab PROJECT`,
    /// `gitea OWNER/NAME`, or `local` (kept in the journal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forge: Option<String>,
    /// The workload the image was found from (`namespace/kind/name`), when it was.
    pub workload: Option<String>,
    pub image: Option<String>,
    /// Where the image came from: `label` (the rule's image label) or `workload` (rendered from
    /// the workload the labels name).
    pub image_source: Option<&'static str>,
    /// With a workload: how its culprit was found (`rendering` or `image_history`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub culprit_from: Option<CulpritFrom>,
    pub culprit: Option<Located>,
    /// With `would open`: how the rollback reverts (`revert`, `partial` or `semantic`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// With `would open`: what the rollback holds, and what must be held by hand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold: Option<String>,
    /// With `would open`: why the rollback could not be made here, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview_error: Option<String>,
    /// With `would open` and a rule's `auto_merge`: whether the rollback would merge itself
    /// (`squash (rule critical)`) or why it would wait for review (`off (rule critical): why`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_merge: Option<String>,
    /// What the registries said of the images the rollback would deploy again.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub registry: Vec<crate::registry::ImageCheck>,
    /// `would open`, `would comment` or `skipped`.
    pub decision: String,
    pub reason: String,
}

pub async fn explain(
    config: &Config,
    engine: &Engine,
    journal: Option<&journal::Handle>,
    payload: &Payload,
    fetch: bool,
    now: DateTime<Utc>,
) -> Vec<Explained> {
    let mut out = Vec::new();
    for alert in &payload.alerts {
        let mut e = Explained {
            fingerprint: alert.fingerprint.clone(),
            alertname: alert.name().to_string(),
            rule: None,
            repo: None,
            forge: None,
            workload: None,
            image: None,
            image_source: None,
            culprit_from: None,
            culprit: None,
            strategy: None,
            hold: None,
            preview_error: None,
            auto_merge: None,
            registry: Vec::new(),
            decision: "skipped".into(),
            reason: String::new(),
        };
        match rules::route(alert, &config.rules, &config.guards, now) {
            Routed::Unmatched => e.reason = "no rule matches the alert's labels".into(),
            Routed::Skipped { rule, reason } => {
                e.rule = Some(rule.name.clone());
                e.repo = Some(rule.repo.clone());
                e.reason = reason;
            }
            Routed::Resolved { rule, subject } => {
                e.rule = Some(rule.name.clone());
                e.repo = Some(rule.repo.clone());
                describe_subject(&mut e, &subject);
                let pull = last_pull(journal, &rule.repo, &subject.key()).await;
                match pull {
                    Some(pull) => {
                        let number = pull.number;
                        e.decision = "would comment".into();
                        e.reason = format!("the alert resolved: a note on pull request #{number}");
                    }
                    None => {
                        e.reason =
                            "the alert resolved, and no rollback pull request is recorded for it"
                                .into()
                    }
                }
            }
            Routed::Rollback { rule, subject } => {
                e.rule = Some(rule.name.clone());
                e.repo = Some(rule.repo.clone());
                describe_subject(&mut e, &subject);
                let Some(repo) = config.repo(&rule.repo) else {
                    e.reason = format!("rules.{}.repo: {:?} is not in repos", rule.name, rule.repo);
                    out.push(e);
                    continue;
                };
                e.forge = Some(forge_of(config, repo));
                let alert_start = rules::started_at(alert).map(|t| t.timestamp());
                let key = subject.key();
                let target =
                    match pipeline::rollback_target(repo, &config.guards, subject, alert_start) {
                        Ok(target) => target,
                        Err(err) => {
                            e.reason = render_chain(&err, &config_key);
                            out.push(e);
                            continue;
                        }
                    };
                match engine.find_culprit(&target, fetch).await {
                    Err(err) => e.reason = render_chain(&err, &config_key),
                    Ok(culprit) => {
                        let guards = &config.guards;
                        let limit = target.committed_by;
                        let recent = match journal {
                            Some(j) => j
                                .rollbacks_since(&repo.name, now.timestamp_millis() - 3_600_000)
                                .await
                                .unwrap_or(0),
                            None => 0,
                        };
                        if let Some(w) = &culprit.workload {
                            e.workload = Some(w.clone());
                            e.image = Some(culprit.located.image.clone());
                            e.image_source = Some("workload");
                            e.culprit_from = culprit.culprit_from;
                        }
                        let existing = last_pull(journal, &repo.name, &key)
                            .await
                            .filter(|pull| pull.branch == culprit.branch);
                        if culprit.is_revert && guards.revert_of_revert == RevertOfRevert::Refuse {
                            e.reason = format!(
                                "guard revert_of_revert: the culprit {} is itself a revert",
                                culprit.located.commit.short_sha()
                            );
                        } else if limit.is_some_and(|l| culprit.committed_at > l) {
                            e.reason = format!(
                                "guard culprit_grace: the culprit {} was committed after the alert started (plus {})",
                                culprit.located.commit.short_sha(),
                                crate::config::duration::format(guards.culprit_grace)
                            );
                        } else if let Some(number) = existing.map(|p| p.number) {
                            e.decision = "would comment".into();
                            e.reason =
                                format!("pull request #{number} already rolls this culprit back");
                        } else if recent >= guards.max_rollbacks_per_repo_per_hour {
                            e.reason = format!(
                                "guard max_rollbacks_per_repo_per_hour: {recent} rollbacks in {} in the last hour",
                                repo.name
                            );
                        } else {
                            e.decision = "would open".into();
                            // The rollback itself, made as the worker makes it and not written:
                            // its strategy and hold are what `serve` would push.
                            match engine.preview(&target, false).await {
                                Ok(preview) => {
                                    e.strategy = preview.strategy.map(|s| s.as_str().to_string());
                                    e.hold = preview.hold.summary();
                                    if let Some(method) = rule.auto_merge {
                                        let merges = match journal {
                                            Some(j) => j
                                                .auto_merges_since(
                                                    &repo.name,
                                                    now.timestamp_millis() - 3_600_000,
                                                )
                                                .await
                                                .unwrap_or(0),
                                            None => 0,
                                        };
                                        let ask = AutoMergeAsk {
                                            method,
                                            rule: Some(rule.name.clone()),
                                            held: auto_merge::hourly_guard(
                                                merges,
                                                guards.max_auto_merges_per_repo_per_hour,
                                                &repo.name,
                                            ),
                                        };
                                        let verdict = auto_merge::verdict(&ask, &preview);
                                        e.auto_merge = Some(
                                            AutoMerge {
                                                method,
                                                rule: ask.rule,
                                                enabled: verdict.is_ok(),
                                                reason: verdict.err(),
                                            }
                                            .summary(),
                                        );
                                    }
                                    e.registry = preview.registry;
                                }
                                Err(err) => e.preview_error = Some(render_chain(&err, &config_key)),
                            }
                            e.reason = if guards.dry_run {
                                format!(
                                    "branch {} (guards.dry_run: recorded, not pushed)",
                                    culprit.branch
                                )
                            } else {
                                format!("branch {}", culprit.branch)
                            };
                            let policy = super::secrets::policy(&config.registry);
                            if let Err(stop) = crate::registry::verdict(&e.registry, policy) {
                                e.decision = "would fail".into();
                                e.reason = stop.to_string();
                            }
                        }
                        e.culprit = Some(culprit.located);
                    }
                }
            }
        }
        out.push(e);
    }
    out
}

/// Where a repository's pull requests go, for people.
fn forge_of(config: &Config, repo: &crate::config::Repo) -> String {
    if config.forge == crate::config::Forge::Local {
        return "local (kept in the journal)".into();
    }
    match &repo.forge {
        RepoForge::GitHub(Some((owner, name))) => format!("github {owner}/{name}"),
        RepoForge::GitHub(None) => "github (the repository named by its remote)".into(),
        RepoForge::GitLab(project) => format!("gitlab {project}"),
        RepoForge::Gitea((owner, name)) => format!("gitea {owner}/{name}"),
    }
}

fn describe_subject(e: &mut Explained, subject: &Subject) {
    match subject {
        Subject::Image(image) => {
            e.image = Some(image.to_string());
            e.image_source = Some("label");
        }
        Subject::Workload(candidates) => {
            e.workload = candidates.first().map(|c| c.path());
            if candidates.len() > 1 {
                e.reason = format!("{} candidate workloads from the labels", candidates.len());
            }
        }
        // Alerts never name a commit.
        Subject::Commit { .. } => {}
    }
}

/// The latest rollback pull request of `target` the journal knows of; none without a journal,
/// or when it cannot be read (explain says what it can).
async fn last_pull(
    journal: Option<&journal::Handle>,
    repo: &str,
    target: &str,
) -> Option<journal::LastPull> {
    journal?.last_pull(repo, target).await.ok().flatten()
}
