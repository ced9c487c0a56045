//! `guards`: what keeps revertbot from rolling back too much, too late or in circles.

use super::problems::Problems;
use crate::config::file::GuardsFile;
use crate::config::model::{Guards, RevertOfRevert};

pub fn guards(gf: GuardsFile, p: &mut Problems<'_>) -> Guards {
    let guards = Guards {
        dry_run: gf.dry_run.unwrap_or(false),
        max_rollbacks_per_repo_per_hour: gf.max_rollbacks_per_repo_per_hour.unwrap_or(3),
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
