//! What the fake stores: users and their tokens, projects with their merge requests, notes and
//! labels, queued faults and the request log. Ids look like GitLab's: global ids for merge
//! requests, notes and labels, and an `iid` per project for merge requests.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, SecondsFormat, Utc};

/// GitLab's time format in API answers: `2024-05-14T09:12:03.123Z`.
pub(super) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[derive(Clone, Debug)]
pub(super) struct User {
    pub(super) id: u64,
    pub(super) username: String,
    pub(super) name: String,
}

pub(super) struct Token {
    pub(super) user_id: u64,
    /// `api`, `read_api`, `write_repository`, ...
    pub(super) scopes: Vec<String>,
}

impl Token {
    pub(super) fn can_read(&self) -> bool {
        self.scopes.iter().any(|s| s == "api" || s == "read_api")
    }
    pub(super) fn can_write(&self) -> bool {
        self.scopes.iter().any(|s| s == "api")
    }
}

pub(super) struct Project {
    pub(super) id: u64,
    /// `acme/platform/gitops`: the namespace path (any depth of groups) and the project path.
    pub(super) path_with_namespace: String,
    pub(super) default_branch: String,
    /// Its bare git repository, where merge requests' branches are looked up; `None` accepts any
    /// branch.
    pub(super) git_dir: Option<PathBuf>,
    pub(super) created_at: DateTime<Utc>,
    pub(super) namespace_id: u64,
    pub(super) merge_requests: BTreeMap<u64, MergeRequestState>,
    pub(super) next_iid: u64,
    /// By lowercase name.
    pub(super) labels: BTreeMap<String, LabelState>,
}

impl Project {
    pub(super) fn path(&self) -> &str {
        self.path_with_namespace
            .rsplit('/')
            .next()
            .unwrap_or(&self.path_with_namespace)
    }
    pub(super) fn namespace(&self) -> &str {
        self.path_with_namespace
            .rsplit_once('/')
            .map(|(ns, _)| ns)
            .unwrap_or("")
    }
}

pub(super) struct MergeRequestState {
    pub(super) id: u64,
    pub(super) iid: u64,
    pub(super) title: String,
    pub(super) description: Option<String>,
    /// `opened`, `closed`, `merged` or `locked`.
    pub(super) state: String,
    pub(super) source_branch: String,
    pub(super) target_branch: String,
    pub(super) sha: String,
    pub(super) author: u64,
    pub(super) assignees: Vec<u64>,
    pub(super) reviewers: Vec<u64>,
    /// Names, in the order added.
    pub(super) labels: Vec<String>,
    pub(super) draft: bool,
    pub(super) remove_source_branch: Option<bool>,
    pub(super) squash: bool,
    pub(super) merge_when_pipeline_succeeds: bool,
    pub(super) merged_by: Option<u64>,
    pub(super) closed_by: Option<u64>,
    pub(super) merge_commit_sha: Option<String>,
    pub(super) created_at: DateTime<Utc>,
    pub(super) updated_at: DateTime<Utc>,
    pub(super) merged_at: Option<DateTime<Utc>>,
    pub(super) closed_at: Option<DateTime<Utc>>,
    pub(super) notes: Vec<NoteState>,
}

pub(super) struct NoteState {
    pub(super) id: u64,
    pub(super) body: String,
    pub(super) author: u64,
    pub(super) system: bool,
    pub(super) internal: bool,
    pub(super) created_at: DateTime<Utc>,
}

pub(super) struct LabelState {
    pub(super) id: u64,
    pub(super) name: String,
    pub(super) color: String,
    pub(super) description: Option<String>,
    pub(super) priority: Option<i64>,
}

pub(super) struct Fault {
    pub(super) method: String,
    pub(super) path_contains: String,
    pub(super) status: u16,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Option<String>,
    /// How many more requests it answers.
    pub(super) remaining: usize,
}

pub(super) use crate::fake_server::fake_sha;
