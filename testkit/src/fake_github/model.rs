//! What the fake stores: repositories and their pull requests, labels and comments; Apps and
//! their tokens; queued faults. Ids and SHAs are made up but stable, and look like GitHub's.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, SecondsFormat, Utc};

use super::Pull;

pub(super) type RepoKey = (String, String);

pub(super) fn key(owner: &str, name: &str) -> RepoKey {
    (owner.to_ascii_lowercase(), name.to_ascii_lowercase())
}

/// A stable, GitHub-looking numeric id for a login or slug.
pub(super) fn user_id(login: &str) -> u64 {
    // FNV-1a: stable across runs, unlike std's RandomState.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in login.to_ascii_lowercase().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    1_000_000 + h % 90_000_000
}

pub(super) fn node_id(prefix: &str, id: u64) -> String {
    // GitHub's node ids are base64 of a msgpack blob; this keeps the look (prefix + base64-ish).
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut s = format!("{prefix}_kwDO");
    let mut v = id.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ id;
    for _ in 0..8 {
        s.push(ALPHABET[(v % 64) as usize] as char);
        v /= 64;
    }
    s
}

pub(super) use crate::fake_server::fake_sha;

pub(super) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[derive(Clone, Debug)]
pub(super) struct Identity {
    pub(super) login: String,
    pub(super) id: u64,
    /// "User", "Organization" or "Bot".
    pub(super) kind: &'static str,
    /// For bots: the App's slug (html_url is https://github.com/apps/<slug>).
    pub(super) app_slug: Option<String>,
}

impl Identity {
    pub(super) fn user(login: &str) -> Identity {
        Identity {
            login: login.to_string(),
            id: user_id(login),
            kind: "User",
            app_slug: None,
        }
    }
    pub(super) fn org(login: &str) -> Identity {
        Identity {
            kind: "Organization",
            ..Identity::user(login)
        }
    }
    pub(super) fn bot(slug: &str) -> Identity {
        let login = format!("{slug}[bot]");
        Identity {
            id: user_id(&login),
            login,
            kind: "Bot",
            app_slug: Some(slug.to_string()),
        }
    }
}

pub(super) struct Repo {
    pub(super) id: u64,
    pub(super) owner: String,
    pub(super) owner_id: u64,
    pub(super) name: String,
    pub(super) default_branch: String,
    /// Its bare git repository: where pull requests' heads and bases are looked up.
    pub(super) git_dir: PathBuf,
    pub(super) created_at: DateTime<Utc>,
    pub(super) pulls: BTreeMap<u64, PullState>,
    pub(super) next_number: u64,
    pub(super) labels: BTreeMap<String, LabelState>,
    pub(super) comments: BTreeMap<u64, Vec<CommentState>>,
    /// The repository's "Allow auto-merge" setting (GitHub's default: off).
    pub(super) allow_auto_merge: bool,
}

impl Repo {
    pub(super) fn new(id: u64, owner: &str, owner_id: u64, name: &str, git_dir: PathBuf) -> Repo {
        Repo {
            id,
            owner: owner.to_string(),
            owner_id,
            name: name.to_string(),
            default_branch: "main".to_string(),
            git_dir,
            created_at: Utc::now() - chrono::Duration::days(400),
            pulls: BTreeMap::new(),
            next_number: 1,
            labels: BTreeMap::new(),
            comments: BTreeMap::new(),
            allow_auto_merge: false,
        }
    }
    pub(super) fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
}

pub(super) struct PullState {
    pub(super) id: u64,
    pub(super) issue_id: u64,
    pub(super) number: u64,
    pub(super) title: String,
    pub(super) body: Option<String>,
    pub(super) head_owner: String,
    pub(super) head: String,
    pub(super) base: String,
    pub(super) head_sha: String,
    pub(super) base_sha: String,
    pub(super) open: bool,
    pub(super) merged: bool,
    pub(super) draft: bool,
    pub(super) maintainer_can_modify: bool,
    pub(super) user: Identity,
    pub(super) labels: Vec<String>,
    pub(super) assignees: Vec<String>,
    pub(super) requested_reviewers: Vec<String>,
    pub(super) requested_teams: Vec<String>,
    pub(super) created_at: DateTime<Utc>,
    pub(super) updated_at: DateTime<Utc>,
    pub(super) closed_at: Option<DateTime<Utc>>,
    pub(super) merged_at: Option<DateTime<Utc>>,
    /// The method auto-merge was turned on with (`squash`...), lowercase.
    pub(super) auto_merge: Option<String>,
}

impl PullState {
    pub(super) fn close(&mut self, now: DateTime<Utc>, merged: bool) {
        self.open = false;
        self.closed_at = Some(now);
        self.updated_at = now;
        if merged {
            self.merged = true;
            self.merged_at = Some(now);
        }
    }

    pub(super) fn view(&self) -> Pull {
        Pull {
            number: self.number,
            title: self.title.clone(),
            body: self.body.clone().unwrap_or_default(),
            head: self.head.clone(),
            base: self.base.clone(),
            state: if self.open { "open" } else { "closed" }.to_string(),
            merged: self.merged,
            auto_merge: self.auto_merge.clone(),
            draft: self.draft,
            maintainer_can_modify: self.maintainer_can_modify,
            user: self.user.login.clone(),
            labels: self.labels.clone(),
            assignees: self.assignees.clone(),
            requested_reviewers: self.requested_reviewers.clone(),
            requested_teams: self.requested_teams.clone(),
        }
    }
}

pub(super) struct LabelState {
    pub(super) id: u64,
    pub(super) name: String,
    pub(super) color: String,
}

pub(super) struct CommentState {
    pub(super) id: u64,
    pub(super) body: String,
    pub(super) created_at: DateTime<Utc>,
    pub(super) updated_at: DateTime<Utc>,
    pub(super) user: Identity,
}

pub(super) struct App {
    pub(super) id: u64,
    pub(super) slug: String,
    pub(super) key: jsonwebtoken::DecodingKey,
    pub(super) installation_id: u64,
    pub(super) account: String,
    pub(super) repos: Vec<RepoKey>,
    pub(super) created_at: DateTime<Utc>,
}

pub(super) struct IssuedToken {
    pub(super) app_id: u64,
    pub(super) expires_at: DateTime<Utc>,
}

pub(super) struct Fault {
    pub(super) method: String,
    pub(super) path_contains: String,
    pub(super) status: u16,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Option<String>,
}
