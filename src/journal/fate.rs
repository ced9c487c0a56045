//! What became of a rollback's pull request, read from its job: one reading for `history` and
//! the status page, so that the two never tell a rollback's end differently.

use super::records::{JobKind, JobRecord};

/// A rollback's pull request, as last known: from the job that opened or found it, then from
/// what its forge told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate<'a> {
    /// Not merged nor closed, as far as revertbot knows.
    Open,
    /// Merged; when and by whom when its forge told (a job that found it merged knows neither).
    Merged {
        at: Option<i64>,
        by: Option<&'a str>,
    },
    /// Closed unmerged; when and by whom as for a merge.
    Closed {
        at: Option<i64>,
        by: Option<&'a str>,
    },
}

impl Fate<'_> {
    /// `open`, `merged`, `closed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Fate::Open => "open",
            Fate::Merged { .. } => "merged",
            Fate::Closed { .. } => "closed",
        }
    }
}

impl JobRecord {
    /// The fate of the pull request a rollback opened or found; `None` for a job with none (a
    /// dry run, a failure, a resolution's note).
    pub fn fate(&self) -> Option<Fate<'_>> {
        if self.kind != JobKind::Rollback || self.pr_number.is_none() {
            return None;
        }
        let by = self.pr_closed_by.as_deref();
        // The forge's word (a merge time) first: the state a job left (`declined`, `merged`)
        // is older than anything the forge told since.
        Some(match (self.pr_merged_at, self.pr_state.as_deref()) {
            (Some(at), _) => Fate::Merged { at: Some(at), by },
            (None, Some("merged")) => Fate::Merged { at: None, by },
            (None, Some("closed" | "declined")) => Fate::Closed {
                at: self.pr_closed_at,
                by,
            },
            _ => Fate::Open,
        })
    }
}
