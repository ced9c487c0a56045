//! The local forge (`forge: local`): pull requests kept in the journal, one per rollback branch,
//! shown on the status page under [`LOCAL_PULLS`]. Everything else happens as on GitHub — the
//! branch is pushed to the repository's remote — so a trial run shows the whole path.

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::pulls::{PullOutcome, PullRequestSpec, PullState};
use crate::error::{Error, Kind};
use crate::journal::{Handle, NewLocalPull};

/// Where the status page shows the pull requests the local forge keeps: this, then the number.
pub const LOCAL_PULLS: &str = "/pulls/";

/// The status page's path of local pull request `number`.
pub fn pull_path(number: u64) -> String {
    format!("{LOCAL_PULLS}{number}")
}

/// Whether a pull request's address (as a job recorded it) is one the local forge keeps.
pub fn keeps(url: &str) -> bool {
    url.starts_with(LOCAL_PULLS)
}

/// The journal, seen as a forge.
#[derive(Clone)]
pub struct LocalForge {
    journal: Handle,
}

impl LocalForge {
    pub fn new(journal: Handle) -> LocalForge {
        LocalForge { journal }
    }

    /// Opens the pull request for `spec.head` in `repo` (a label: `OWNER/NAME` or the remote),
    /// or finds the one there is and says the alert fired again at most once per
    /// `spec.comment_interval`.
    pub async fn ensure_pull(
        &self,
        repo: &str,
        spec: &PullRequestSpec,
        now: DateTime<Utc>,
    ) -> Result<PullOutcome> {
        let new = NewLocalPull {
            repo: repo.to_string(),
            head: spec.head.clone(),
            base: spec.base.clone(),
            title: spec.title.clone(),
            body: spec.body.clone(),
            occurrence_comment: spec.occurrence_comment.clone(),
            comment_interval_ms: i64::try_from(spec.comment_interval.as_millis())
                .unwrap_or(i64::MAX),
        };
        let now = now.timestamp_millis();
        let kept = self.journal.ensure_local_pull(&new, now).await?;
        Ok(PullOutcome {
            number: kept.number,
            url: pull_path(kept.number),
            state: if kept.created {
                PullState::Created
            } else {
                PullState::Found
            },
            commented: kept.commented,
            warnings: Vec::new(),
        })
    }

    /// Adds a comment to local pull request `number`; an error when there is none.
    pub async fn comment(&self, number: u64, text: String, now: DateTime<Utc>) -> Result<()> {
        let now = now.timestamp_millis();
        let found = self.journal.comment_local_pull(number, &text, now).await?;
        if !found {
            return Err(Error::new(Kind::NotFound)
                .text(format!("no local pull request #{number} in the journal"))
                .into());
        }
        Ok(())
    }
}
