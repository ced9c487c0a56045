//! `guards`: what keeps revertbot from rolling back too much, too late or in circles; and
//! `registry`: that it never rolls back to an image its registry no longer has.

use super::problems::Problems;
use crate::config::file::{GuardsFile, RegistryFile};
use crate::config::model::{Guards, OnError, OnMissing, Registry, RevertOfRevert};

pub fn guards(gf: GuardsFile, p: &mut Problems<'_>) -> Guards {
    let guards = Guards {
        dry_run: gf.dry_run.unwrap_or(false),
        max_rollbacks_per_repo_per_hour: gf.max_rollbacks_per_repo_per_hour.unwrap_or(3),
        max_auto_merges_per_repo_per_hour: gf.max_auto_merges_per_repo_per_hour.unwrap_or(3),
        max_alert_age: p.duration("guards.max_alert_age", gf.max_alert_age.as_ref(), "2h"),
        culprit_grace: p.duration("guards.culprit_grace", gf.culprit_grace.as_ref(), "10m"),
        revert_of_revert: match gf.revert_of_revert.as_deref().unwrap_or("refuse") {
            "refuse" => RevertOfRevert::Refuse,
            "allow" => RevertOfRevert::Allow,
            other => {
                p.push(
                    "guards.revert_of_revert",
                    format!("{other:?}: give refuse or allow"),
                );
                RevertOfRevert::Refuse
            }
        },
    };
    if guards.max_rollbacks_per_repo_per_hour == 0 {
        p.push(
            "guards.max_rollbacks_per_repo_per_hour",
            "0 would allow none; give at least 1 (or set guards.dry_run: true)".into(),
        );
    }
    guards
}

pub fn registry(rf: RegistryFile, p: &mut Problems<'_>) -> Registry {
    let on_missing = match rf.on_missing.as_deref().unwrap_or("skip") {
        "skip" => OnMissing::Skip,
        "open" => OnMissing::Open,
        other => {
            p.push(
                "registry.on_missing",
                format!("{other:?}: give skip (no pull request) or open (a warning at its top)"),
            );
            OnMissing::Skip
        }
    };
    let on_error = match rf.on_error.as_deref().unwrap_or("open") {
        "open" => OnError::Open,
        "skip" => OnError::Skip,
        other => {
            p.push(
                "registry.on_error",
                format!("{other:?}: give open (a warning at its top) or skip (no pull request)"),
            );
            OnError::Open
        }
    };
    for (i, host) in rf.plain_http.iter().enumerate() {
        if host.is_empty() || host.contains('/') {
            p.push(
                &format!("registry.plain_http[{i}]"),
                format!("{host:?}: give a host, with its port if any (registry.internal:5000)"),
            );
        }
    }
    Registry {
        check: rf.check.unwrap_or(true),
        on_missing,
        on_error,
        auth_file: rf.auth_file,
        plain_http: rf.plain_http,
        timeout: p.duration("registry.timeout", rf.timeout.as_ref(), "10s"),
    }
}
