//! What the fake stores: users and tokens, repositories with their issues and pull requests (one
//! index sequence per repository, as Forgejo numbers both), labels, comments; queued faults and
//! the request log. Ids are small sequential integers per table, as in Forgejo's database.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, SecondsFormat, Utc};

pub(super) type RepoKey = (String, String);

pub(super) fn key(owner: &str, name: &str) -> RepoKey {
    (owner.to_ascii_lowercase(), name.to_ascii_lowercase())
}

pub(super) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(super) use crate::fake_server::fake_sha;

/// Forgejo's work-in-progress prefixes (`[repository.pull-request] WORK_IN_PROGRESS_PREFIXES`):
/// a pull request whose title starts with one is a draft, and cannot be merged.
pub(super) const WIP_PREFIXES: [&str; 2] = ["WIP:", "[WIP]"];

pub(super) fn is_wip(title: &str) -> bool {
    let t = title.trim_start().to_ascii_uppercase();
    WIP_PREFIXES.iter().any(|p| t.starts_with(p))
}

#[derive(Clone, Debug)]
pub(super) struct UserState {
    pub(super) id: u64,
    pub(super) login: String,
    pub(super) created: DateTime<Utc>,
}

pub(super) struct TokenState {
    pub(super) login: String,
    /// Forgejo's scopes: `all`, `read:repository`, `write:issue`...
    pub(super) scopes: Vec<String>,
}

pub(super) struct Repo {
    pub(super) id: u64,
    pub(super) owner: String,
    pub(super) name: String,
    pub(super) default_branch: String,
    pub(super) private: bool,
    /// Its bare git repository: where pull requests' heads and bases are looked up.
    pub(super) git_dir: PathBuf,
    pub(super) created_at: DateTime<Utc>,
    /// Issues and pull requests, by index.
    pub(super) issues: BTreeMap<u64, Issue>,
    pub(super) next_index: u64,
    /// By id.
    pub(super) labels: BTreeMap<u64, LabelState>,
}

impl Repo {
    pub(super) fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
    pub(super) fn open_pulls(&self) -> usize {
        self.issues
            .values()
            .filter(|i| i.pull.is_some() && !i.closed)
            .count()
    }
    pub(super) fn open_issues(&self) -> usize {
        self.issues
            .values()
            .filter(|i| i.pull.is_none() && !i.closed)
            .count()
    }
}

/// An issue, or the issue half of a pull request (`pull` set).
pub(super) struct Issue {
    pub(super) id: u64,
    pub(super) index: u64,
    pub(super) title: String,
    pub(super) body: String,
    pub(super) poster: String,
    /// Label ids, in the order added.
    pub(super) labels: Vec<u64>,
    pub(super) assignees: Vec<String>,
    pub(super) closed: bool,
    pub(super) created_at: DateTime<Utc>,
    pub(super) updated_at: DateTime<Utc>,
    pub(super) closed_at: Option<DateTime<Utc>>,
    pub(super) comments: Vec<CommentState>,
    pub(super) pull: Option<PullState>,
}

/// Commit status of a pull request's head, as Forgejo combines it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checks {
    /// No status, or every status succeeded: an auto-merge request merges at once.
    Success,
    /// Some status still pending: `merge_when_checks_succeed` schedules the merge.
    Pending,
    /// A status failed: a scheduled merge waits.
    Failure,
}

pub(super) struct PullState {
    pub(super) id: u64,
    pub(super) head: String,
    pub(super) base: String,
    pub(super) head_sha: String,
    pub(super) merge_base: String,
    pub(super) merged: bool,
    pub(super) merged_at: Option<DateTime<Utc>>,
    pub(super) merged_by: Option<String>,
    pub(super) merge_commit_sha: Option<String>,
    pub(super) allow_maintainer_edit: bool,
    pub(super) requested_reviewers: Vec<String>,
    pub(super) checks: Checks,
    /// The merge style of a scheduled auto-merge (`merge_when_checks_succeed`).
    pub(super) auto_merge: Option<String>,
}

#[derive(Clone)]
pub(super) struct LabelState {
    pub(super) id: u64,
    pub(super) name: String,
    /// Six hex digits, without `#` (as the API answers).
    pub(super) color: String,
    pub(super) description: String,
    pub(super) exclusive: bool,
}

pub(super) struct CommentState {
    pub(super) id: u64,
    pub(super) body: String,
    pub(super) poster: String,
    pub(super) created_at: DateTime<Utc>,
    pub(super) updated_at: DateTime<Utc>,
}

pub(super) struct Fault {
    pub(super) method: String,
    pub(super) path_contains: String,
    /// How many more requests it answers.
    pub(super) remaining: usize,
    pub(super) status: u16,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Option<String>,
}
